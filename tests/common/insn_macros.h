/* SPDX-License-Identifier: MIT */
/*
 * Instruction construction macros for tests: each expands to one brace
 * initialiser of a struct bpf_insn (ld_imm64 forms to two), usable in
 * static arrays, so a test program is a plain array:
 *
 *   struct bpf_insn prog[] = {
 *       USM_MOV64_IMM(BPF_REG_0, 1),
 *       USM_EXIT_INSN(),
 *   };
 *
 * Field values come from <linux/bpf.h>. USM_RAW_INSN builds anything else
 * (malformed instructions for negative tests).
 */
#ifndef USM_TEST_INSN_MACROS_H
#define USM_TEST_INSN_MACROS_H

#include <linux/bpf.h>

#define USM_RAW_INSN(CODE, DST, SRC, OFF, IMM)                                 \
	{ .code = (CODE), .dst_reg = (DST), .src_reg = (SRC), .off = (OFF),    \
	  .imm = (IMM) }

/* ALU */
#define USM_ALU64_IMM(OP, DST, IMM)                                            \
	USM_RAW_INSN(BPF_ALU64 | BPF_OP(OP) | BPF_K, DST, 0, 0, IMM)
#define USM_ALU64_REG(OP, DST, SRC)                                            \
	USM_RAW_INSN(BPF_ALU64 | BPF_OP(OP) | BPF_X, DST, SRC, 0, 0)
#define USM_ALU32_IMM(OP, DST, IMM)                                            \
	USM_RAW_INSN(BPF_ALU | BPF_OP(OP) | BPF_K, DST, 0, 0, IMM)
#define USM_ALU32_REG(OP, DST, SRC)                                            \
	USM_RAW_INSN(BPF_ALU | BPF_OP(OP) | BPF_X, DST, SRC, 0, 0)
#define USM_MOV64_IMM(DST, IMM) USM_ALU64_IMM(BPF_MOV, DST, IMM)
#define USM_MOV32_IMM(DST, IMM) USM_ALU32_IMM(BPF_MOV, DST, IMM)
#define USM_MOV64_REG(DST, SRC) USM_ALU64_REG(BPF_MOV, DST, SRC)
#define USM_MOV32_REG(DST, SRC) USM_ALU32_REG(BPF_MOV, DST, SRC)
/* dst = (sBITS)src, BITS 8/16/32 (v4) */
#define USM_MOVSX64_REG(DST, SRC, BITS)                                        \
	USM_RAW_INSN(BPF_ALU64 | BPF_MOV | BPF_X, DST, SRC, BITS, 0)
#define USM_NEG64(DST) USM_RAW_INSN(BPF_ALU64 | BPF_NEG, DST, 0, 0, 0)
#define USM_ENDIAN(TYPE, DST, LEN)                                             \
	USM_RAW_INSN(BPF_ALU | BPF_END | (TYPE), DST, 0, 0, LEN)

/* Memory: SIZE is BPF_B/H/W/DW */
#define USM_LDX_MEM(SIZE, DST, SRC, OFF)                                       \
	USM_RAW_INSN(BPF_LDX | BPF_MEM | (SIZE), DST, SRC, OFF, 0)
#define USM_LDX_MEMSX(SIZE, DST, SRC, OFF)                                     \
	USM_RAW_INSN(BPF_LDX | 0x80 | (SIZE), DST, SRC, OFF, 0)
#define USM_STX_MEM(SIZE, DST, SRC, OFF)                                       \
	USM_RAW_INSN(BPF_STX | BPF_MEM | (SIZE), DST, SRC, OFF, 0)
#define USM_ST_MEM(SIZE, DST, OFF, IMM)                                        \
	USM_RAW_INSN(BPF_ST | BPF_MEM | (SIZE), DST, 0, OFF, IMM)
/* OP: BPF_ADD, BPF_ADD | BPF_FETCH, BPF_XCHG, BPF_CMPXCHG, ... */
#define USM_ATOMIC(SIZE, OP, DST, SRC, OFF)                                    \
	USM_RAW_INSN(BPF_STX | BPF_ATOMIC | (SIZE), DST, SRC, OFF, OP)

/* Jumps: OFF is relative to the next instruction */
#define USM_JMP_IMM(OP, DST, IMM, OFF)                                         \
	USM_RAW_INSN(BPF_JMP | BPF_OP(OP) | BPF_K, DST, 0, OFF, IMM)
#define USM_JMP_REG(OP, DST, SRC, OFF)                                         \
	USM_RAW_INSN(BPF_JMP | BPF_OP(OP) | BPF_X, DST, SRC, OFF, 0)
#define USM_JMP32_IMM(OP, DST, IMM, OFF)                                       \
	USM_RAW_INSN(BPF_JMP32 | BPF_OP(OP) | BPF_K, DST, 0, OFF, IMM)
#define USM_JMP32_REG(OP, DST, SRC, OFF)                                       \
	USM_RAW_INSN(BPF_JMP32 | BPF_OP(OP) | BPF_X, DST, SRC, OFF, 0)
#define USM_JA(OFF) USM_RAW_INSN(BPF_JMP | BPF_JA, 0, 0, OFF, 0)

/* Calls */
#define USM_CALL_HELPER(ID) USM_RAW_INSN(BPF_JMP | BPF_CALL, 0, 0, 0, ID)
/* bpf-to-bpf call; OFF relative to the next instruction */
#define USM_CALL_REL(OFF)                                                      \
	USM_RAW_INSN(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, OFF)
#define USM_EXIT_INSN() USM_RAW_INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

/* ld_imm64 (two slots) */
#define USM_LD_IMM64_RAW(DST, SRC, LO, HI)                                     \
	USM_RAW_INSN(BPF_LD | BPF_DW | BPF_IMM, DST, SRC, 0, LO),              \
		USM_RAW_INSN(0, 0, 0, 0, HI)
#define USM_LD_IMM64(DST, IMM)                                                 \
	USM_LD_IMM64_RAW(DST, 0, (int32_t)(uint32_t)(uint64_t)(IMM),           \
			 (int32_t)(uint32_t)((uint64_t)(IMM) >> 32))
/* Map number IDX of the program's map table (gen_loader form). */
#define USM_LD_MAP_IDX(DST, IDX) USM_LD_IMM64_RAW(DST, BPF_PSEUDO_MAP_IDX, IDX, 0)
/* Address of byte OFF of the value of map IDX (array maps). */
#define USM_LD_MAP_VALUE(DST, IDX, OFF)                                        \
	USM_LD_IMM64_RAW(DST, BPF_PSEUDO_MAP_IDX_VALUE, IDX, OFF)

#endif /* USM_TEST_INSN_MACROS_H */
