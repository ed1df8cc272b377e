/* SPDX-License-Identifier: MIT */
/*
 * A small text assembler for tests and tools. The syntax is the
 * disassembler's output (vm.h usm__insn_disasm), one instruction per line,
 * so disasm(asm(text)) == text for text the disassembler printed:
 *
 *   r0 = *(u32 *)(r1 +4)        w2 s%= -3          r1 = (s16)r2
 *   if r1 > 0x10 goto pc+3      if w1 s< w2 goto out
 *   call bpf_map_lookup_elem#1  call 1   call bpf_map_lookup_elem   call sub
 *   r1 = 0x1234 ll              r1 = map[idx:0]   r1 = map[idx:0][0]+8
 *   lock *(u64 *)(r10 -8) += r1 r2 = atomic64_fetch_add((u64 *)(r1 +0), r2)
 *   .insn code=0x07 dst=1 src=0 off=0 imm=1      (any raw instruction)
 *
 * Labels: "name:" at the start of a line (alone or before an instruction);
 * jumps take "pc+N"/"pc-N" or a label; "call NAME" is a bpf-to-bpf call when
 * NAME is a label, otherwise a helper looked up by name. Comments start with
 * ';' anywhere, or '#' at the start of a line or after whitespace ('#'
 * inside "name#N" is part of the call).
 */
#ifndef USM_VM_ASM_H
#define USM_VM_ASM_H

#include <linux/bpf.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Assemble @text into a malloc'd array *@out of *@cnt instructions (the
 * caller frees it). Returns 0; -EINVAL for a syntax error, an unknown label
 * or helper, or an out-of-range number, with "line N: why" in @err (if
 * @errsz > 0); -E2BIG for more than USM_MAX_INSNS instructions; -ENOMEM. On
 * error *@out is NULL and *@cnt 0. Empty input assembles to 0 instructions.
 */
int usm__asm(const char *text, struct bpf_insn **out, uint32_t *cnt, char *err,
	     size_t errsz);

#endif /* USM_VM_ASM_H */
