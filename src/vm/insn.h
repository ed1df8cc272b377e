/* SPDX-License-Identifier: MIT */
/*
 * The eBPF instruction set as one list.
 *
 * USM_OPCODES() names every opcode byte the kernel accepts for the program
 * types usockmap runs (clang -mcpu=v1..v4 output). The decoder, verifier,
 * interpreter and disassembler all expand this one list, so an opcode added
 * here is known everywhere and an opcode missing here is rejected everywhere.
 *
 * Each entry is X(name, code, kind, mnemonic) where kind says how the rest of
 * the instruction is read:
 *   ALU    dst op= src/imm          (off selects sdiv/smod and movsx widths)
 *   END    byte swap                (imm = 16/32/64)
 *   JMP    conditional jump         (off = target - pc - 1)
 *   JA     unconditional jump       (JMP: off; JMP32 "gotol": imm)
 *   CALL   helper (src 0) or bpf-to-bpf call (src BPF_PSEUDO_CALL)
 *   EXIT   return r0
 *   LDX    dst = *(size *)(src + off)
 *   LDXSX  sign-extending load (v4)
 *   ST     *(size *)(dst + off) = imm
 *   STX    *(size *)(dst + off) = src
 *   ATOMIC atomic op selected by imm (USM_ATOMIC_OPS)
 *   LDDW   ld_imm64, two slots (src selects the pseudo form)
 *
 * Values come from <linux/bpf.h> and <linux/bpf_common.h>; nothing is
 * renumbered. Legacy LD_ABS/LD_IND are not listed: the kernel refuses them for
 * sk_skb, sk_msg, sk_reuseport and sock_ops (may_access_skb).
 */
#ifndef USM_VM_INSN_H
#define USM_VM_INSN_H

#include <linux/bpf.h>
#include <stdint.h>

/* The kernel's helper-call pseudo sources and instruction limits. */
#define USM_MAX_INSNS        1000000u /* BPF_COMPLEXITY_LIMIT_INSNS */
#define USM_STACK_SIZE       512u     /* MAX_BPF_STACK */
#define USM_MAX_CALL_FRAMES  8u       /* MAX_CALL_FRAMES */
#define USM_MAX_TAIL_CALLS   33u      /* MAX_TAIL_CALL_CNT */
#define USM_NR_REGS          11u      /* r0..r10 */

/* ALU and ALU64 share op codes; 32-bit forms zero-extend their result. */
#define USM_ALU_OPS(X, CLS, SFX, W)                                            \
	X(ADD##SFX##_K, CLS | BPF_ADD | BPF_K, ALU, "add" W)                   \
	X(ADD##SFX##_X, CLS | BPF_ADD | BPF_X, ALU, "add" W)                   \
	X(SUB##SFX##_K, CLS | BPF_SUB | BPF_K, ALU, "sub" W)                   \
	X(SUB##SFX##_X, CLS | BPF_SUB | BPF_X, ALU, "sub" W)                   \
	X(MUL##SFX##_K, CLS | BPF_MUL | BPF_K, ALU, "mul" W)                   \
	X(MUL##SFX##_X, CLS | BPF_MUL | BPF_X, ALU, "mul" W)                   \
	X(DIV##SFX##_K, CLS | BPF_DIV | BPF_K, ALU, "div" W)                   \
	X(DIV##SFX##_X, CLS | BPF_DIV | BPF_X, ALU, "div" W)                   \
	X(OR##SFX##_K, CLS | BPF_OR | BPF_K, ALU, "or" W)                      \
	X(OR##SFX##_X, CLS | BPF_OR | BPF_X, ALU, "or" W)                      \
	X(AND##SFX##_K, CLS | BPF_AND | BPF_K, ALU, "and" W)                   \
	X(AND##SFX##_X, CLS | BPF_AND | BPF_X, ALU, "and" W)                   \
	X(LSH##SFX##_K, CLS | BPF_LSH | BPF_K, ALU, "lsh" W)                   \
	X(LSH##SFX##_X, CLS | BPF_LSH | BPF_X, ALU, "lsh" W)                   \
	X(RSH##SFX##_K, CLS | BPF_RSH | BPF_K, ALU, "rsh" W)                   \
	X(RSH##SFX##_X, CLS | BPF_RSH | BPF_X, ALU, "rsh" W)                   \
	X(NEG##SFX, CLS | BPF_NEG | BPF_K, ALU, "neg" W)                       \
	X(MOD##SFX##_K, CLS | BPF_MOD | BPF_K, ALU, "mod" W)                   \
	X(MOD##SFX##_X, CLS | BPF_MOD | BPF_X, ALU, "mod" W)                   \
	X(XOR##SFX##_K, CLS | BPF_XOR | BPF_K, ALU, "xor" W)                   \
	X(XOR##SFX##_X, CLS | BPF_XOR | BPF_X, ALU, "xor" W)                   \
	X(MOV##SFX##_K, CLS | BPF_MOV | BPF_K, ALU, "mov" W)                   \
	X(MOV##SFX##_X, CLS | BPF_MOV | BPF_X, ALU, "mov" W)                   \
	X(ARSH##SFX##_K, CLS | BPF_ARSH | BPF_K, ALU, "arsh" W)                \
	X(ARSH##SFX##_X, CLS | BPF_ARSH | BPF_X, ALU, "arsh" W)

/* JMP and JMP32 share condition codes; JMP32 compares the low 32 bits. */
#define USM_JMP_OPS(X, CLS, SFX, W)                                            \
	X(JEQ##SFX##_K, CLS | BPF_JEQ | BPF_K, JMP, "jeq" W)                   \
	X(JEQ##SFX##_X, CLS | BPF_JEQ | BPF_X, JMP, "jeq" W)                   \
	X(JGT##SFX##_K, CLS | BPF_JGT | BPF_K, JMP, "jgt" W)                   \
	X(JGT##SFX##_X, CLS | BPF_JGT | BPF_X, JMP, "jgt" W)                   \
	X(JGE##SFX##_K, CLS | BPF_JGE | BPF_K, JMP, "jge" W)                   \
	X(JGE##SFX##_X, CLS | BPF_JGE | BPF_X, JMP, "jge" W)                   \
	X(JSET##SFX##_K, CLS | BPF_JSET | BPF_K, JMP, "jset" W)                \
	X(JSET##SFX##_X, CLS | BPF_JSET | BPF_X, JMP, "jset" W)                \
	X(JNE##SFX##_K, CLS | BPF_JNE | BPF_K, JMP, "jne" W)                   \
	X(JNE##SFX##_X, CLS | BPF_JNE | BPF_X, JMP, "jne" W)                   \
	X(JSGT##SFX##_K, CLS | BPF_JSGT | BPF_K, JMP, "jsgt" W)                \
	X(JSGT##SFX##_X, CLS | BPF_JSGT | BPF_X, JMP, "jsgt" W)                \
	X(JSGE##SFX##_K, CLS | BPF_JSGE | BPF_K, JMP, "jsge" W)                \
	X(JSGE##SFX##_X, CLS | BPF_JSGE | BPF_X, JMP, "jsge" W)                \
	X(JLT##SFX##_K, CLS | BPF_JLT | BPF_K, JMP, "jlt" W)                   \
	X(JLT##SFX##_X, CLS | BPF_JLT | BPF_X, JMP, "jlt" W)                   \
	X(JLE##SFX##_K, CLS | BPF_JLE | BPF_K, JMP, "jle" W)                   \
	X(JLE##SFX##_X, CLS | BPF_JLE | BPF_X, JMP, "jle" W)                   \
	X(JSLT##SFX##_K, CLS | BPF_JSLT | BPF_K, JMP, "jslt" W)                \
	X(JSLT##SFX##_X, CLS | BPF_JSLT | BPF_X, JMP, "jslt" W)                \
	X(JSLE##SFX##_K, CLS | BPF_JSLE | BPF_K, JMP, "jsle" W)                \
	X(JSLE##SFX##_X, CLS | BPF_JSLE | BPF_X, JMP, "jsle" W)

#define USM_MEM_OPS(X, SZ, SZN)                                                \
	X(LDX_##SZN, BPF_LDX | BPF_MEM | SZ, LDX, "ldx" #SZN)                  \
	X(ST_##SZN, BPF_ST | BPF_MEM | SZ, ST, "st" #SZN)                      \
	X(STX_##SZN, BPF_STX | BPF_MEM | SZ, STX, "stx" #SZN)

/* BPF_MEMSX (0x80) is v4; not every uapi header names it. */
#define USM_BPF_MEMSX 0x80

#define USM_OPCODES(X)                                                         \
	USM_ALU_OPS(X, BPF_ALU64, 64, "64")                                    \
	USM_ALU_OPS(X, BPF_ALU, 32, "32")                                      \
	X(LE, BPF_ALU | BPF_END | BPF_TO_LE, END, "le")                        \
	X(BE, BPF_ALU | BPF_END | BPF_TO_BE, END, "be")                        \
	X(BSWAP, BPF_ALU64 | BPF_END | BPF_TO_LE, END, "bswap")                \
	USM_JMP_OPS(X, BPF_JMP, 64, "")                                        \
	USM_JMP_OPS(X, BPF_JMP32, 32, "32")                                    \
	X(JA, BPF_JMP | BPF_JA, JA, "ja")                                      \
	X(JA32, BPF_JMP32 | BPF_JA, JA, "gotol")                               \
	X(CALL, BPF_JMP | BPF_CALL, CALL, "call")                              \
	X(EXIT, BPF_JMP | BPF_EXIT, EXIT, "exit")                              \
	USM_MEM_OPS(X, BPF_B, B)                                               \
	USM_MEM_OPS(X, BPF_H, H)                                               \
	USM_MEM_OPS(X, BPF_W, W)                                               \
	USM_MEM_OPS(X, BPF_DW, DW)                                             \
	X(LDXSX_B, BPF_LDX | USM_BPF_MEMSX | BPF_B, LDXSX, "ldxsb")            \
	X(LDXSX_H, BPF_LDX | USM_BPF_MEMSX | BPF_H, LDXSX, "ldxsh")            \
	X(LDXSX_W, BPF_LDX | USM_BPF_MEMSX | BPF_W, LDXSX, "ldxsw")            \
	X(ATOMIC_W, BPF_STX | BPF_ATOMIC | BPF_W, ATOMIC, "atomic32")          \
	X(ATOMIC_DW, BPF_STX | BPF_ATOMIC | BPF_DW, ATOMIC, "atomic64")        \
	X(LDDW, BPF_LD | BPF_IMM | BPF_DW, LDDW, "lddw")

/* Atomic operations, selected by imm of an ATOMIC instruction. */
#define USM_ATOMIC_OPS(X)                                                      \
	X(ADD, BPF_ADD, "add")                                                 \
	X(OR, BPF_OR, "or")                                                    \
	X(AND, BPF_AND, "and")                                                 \
	X(XOR, BPF_XOR, "xor")                                                 \
	X(FETCH_ADD, BPF_ADD | BPF_FETCH, "fetch_add")                         \
	X(FETCH_OR, BPF_OR | BPF_FETCH, "fetch_or")                            \
	X(FETCH_AND, BPF_AND | BPF_FETCH, "fetch_and")                         \
	X(FETCH_XOR, BPF_XOR | BPF_FETCH, "fetch_xor")                         \
	X(XCHG, BPF_XCHG, "xchg")                                              \
	X(CMPXCHG, BPF_CMPXCHG, "cmpxchg")

enum usm_insn_kind {
	USM_K_INVALID = 0,
	USM_K_ALU,
	USM_K_END,
	USM_K_JMP,
	USM_K_JA,
	USM_K_CALL,
	USM_K_EXIT,
	USM_K_LDX,
	USM_K_LDXSX,
	USM_K_ST,
	USM_K_STX,
	USM_K_ATOMIC,
	USM_K_LDDW,
};

enum usm_opcode {
#define USM_X_ENUM(name, code, kind, mnem) USM_OP_##name = (code),
	USM_OPCODES(USM_X_ENUM)
#undef USM_X_ENUM
};

/* One row per opcode byte: kind (USM_K_INVALID if unknown) and mnemonic. */
struct usm_opinfo {
	uint8_t kind;
	const char *mnem;
};

/* Indexed by opcode byte; defined in insn.c from USM_OPCODES. */
extern const struct usm_opinfo usm__opinfo[256];

/* Size in bytes of a BPF_B/H/W/DW size field. */
static inline unsigned usm_insn_size_bytes(uint8_t code)
{
	static const unsigned char sz[4] = {4, 2, 1, 8};
	return sz[(code >> 3) & 3];
}

static inline int usm_insn_is_alu64(uint8_t code)
{
	return BPF_CLASS(code) == BPF_ALU64;
}

static inline int usm_insn_src_is_reg(uint8_t code)
{
	return BPF_SRC(code) == BPF_X;
}

/* Name of an atomic op imm, or NULL when the imm is not an atomic op. */
const char *usm__atomic_name(int32_t imm);

#endif /* USM_VM_INSN_H */
