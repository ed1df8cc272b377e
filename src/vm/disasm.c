/* SPDX-License-Identifier: MIT */
/*
 * The disassembler: one instruction in the kernel verifier log's notation
 * ("r0 = *(u32 *)(r1 +0)", "if w1 s> 0x10 goto pc+3", "call
 * bpf_map_lookup_elem#1", "lock *(u64 *)(r10 -8) += r1") without the
 * "(code)" prefix. Additions the kernel prints differently or not at all:
 *   - plain ld_imm64 ends in " ll" ("r1 = 0x10 ll") so it cannot be read
 *     as a mov; unresolved map references print as "map[idx:N]",
 *     "map[idx:N][0]+OFF" (gen_loader form) or "map[fd:N]" (fd form);
 *   - an instruction with a field the kernel would reject as reserved, an
 *     unknown opcode, or a register above r10 prints raw as
 *     ".insn code=0x07 dst=1 src=0 off=0 imm=1".
 * Everything printed is accepted by the assembler (asm.c) and assembles back
 * to the same bytes; tests rely on that round trip.
 */
#include "vm.h"

#include <errno.h>
#include <stdio.h>

#include "../helpers/helpers.h"
#include "../maps/map.h"

static const char *const alu_ops[16] = {
    [BPF_ADD >> 4] = "+=",  [BPF_SUB >> 4] = "-=",  [BPF_MUL >> 4] = "*=",
    [BPF_DIV >> 4] = "/=",  [BPF_OR >> 4] = "|=",   [BPF_AND >> 4] = "&=",
    [BPF_LSH >> 4] = "<<=", [BPF_RSH >> 4] = ">>=", [BPF_MOD >> 4] = "%=",
    [BPF_XOR >> 4] = "^=",  [BPF_MOV >> 4] = "=",   [BPF_ARSH >> 4] = "s>>=",
};

static const char *const jmp_ops[16] = {
    [BPF_JEQ >> 4] = "==",   [BPF_JGT >> 4] = ">",    [BPF_JGE >> 4] = ">=",
    [BPF_JSET >> 4] = "&",   [BPF_JNE >> 4] = "!=",   [BPF_JSGT >> 4] = "s>",
    [BPF_JSGE >> 4] = "s>=", [BPF_JLT >> 4] = "<",    [BPF_JLE >> 4] = "<=",
    [BPF_JSLT >> 4] = "s<",  [BPF_JSLE >> 4] = "s<=",
};

static const char *const sz_u[4] = {"u32", "u16", "u8", "u64"};
static const char *const sz_s[4] = {"s32", "s16", "s8", "s64"};

#define SZIDX(code) (((code) >> 3) & 3)

/* Are the fields the instruction's kind does not use zero (or, for the
 * fields it uses, one of the values the kernel accepts)? */
static bool alu_canonical(const struct bpf_insn *in)
{
	uint8_t op = BPF_OP(in->code);
	bool x = BPF_SRC(in->code) == BPF_X;

	if (op == BPF_NEG)
		return !in->src_reg && !in->off && !in->imm;
	if (x ? in->imm != 0 : in->src_reg != 0)
		return false;
	if (op == BPF_DIV || op == BPF_MOD)
		return in->off == 0 || in->off == 1;
	if (op == BPF_MOV && x)
		return in->off == 0 || in->off == 8 || in->off == 16 ||
		       (in->off == 32 && usm_insn_is_alu64(in->code));
	return in->off == 0;
}

static bool canonical(const struct bpf_insn *in, uint8_t kind)
{
	if (in->dst_reg > 10 || in->src_reg > 10)
		return false;
	switch (kind) {
	case USM_K_ALU:
		return alu_canonical(in);
	case USM_K_END:
		return !in->src_reg && !in->off &&
		       (in->imm == 16 || in->imm == 32 || in->imm == 64);
	case USM_K_JMP:
		return BPF_SRC(in->code) == BPF_X ? !in->imm : !in->src_reg;
	case USM_K_JA:
		return !in->dst_reg && !in->src_reg &&
		       (in->code == USM_OP_JA ? !in->imm : !in->off);
	case USM_K_CALL:
		return !in->dst_reg && !in->off &&
		       in->src_reg <= BPF_PSEUDO_CALL;
	case USM_K_EXIT:
		return !in->dst_reg && !in->src_reg && !in->off && !in->imm;
	case USM_K_LDX:
	case USM_K_LDXSX:
	case USM_K_STX:
		return !in->imm;
	case USM_K_ST:
		return !in->src_reg;
	case USM_K_ATOMIC:
		return usm__atomic_name(in->imm) != NULL;
	default:
		return false;
	}
}

static int print_raw(const struct bpf_insn *in, char *buf, size_t size)
{
	snprintf(buf, size, ".insn code=0x%02x dst=%u src=%u off=%d imm=%d",
		 in->code, in->dst_reg, in->src_reg, in->off, in->imm);
	return 1;
}

static void print_alu(const struct bpf_insn *in, char *buf, size_t size)
{
	char w = usm_insn_is_alu64(in->code) ? 'r' : 'w';
	uint8_t op = BPF_OP(in->code);
	const char *ops = alu_ops[op >> 4];
	const char *sx = "";

	if (op == BPF_NEG) {
		snprintf(buf, size, "%c%u = -%c%u", w, in->dst_reg, w,
			 in->dst_reg);
		return;
	}
	if (in->off == 1 && op == BPF_DIV)
		ops = "s/=";
	else if (in->off == 1 && op == BPF_MOD)
		ops = "s%=";
	else if (op == BPF_MOV && in->off)
		sx = sz_s[in->off == 8 ? 2 : in->off == 16 ? 1 : 0];
	if (BPF_SRC(in->code) == BPF_X && *sx)
		snprintf(buf, size, "%c%u = (%s)%c%u", w, in->dst_reg, sx, w,
			 in->src_reg);
	else if (BPF_SRC(in->code) == BPF_X)
		snprintf(buf, size, "%c%u %s %c%u", w, in->dst_reg, ops, w,
			 in->src_reg);
	else
		snprintf(buf, size, "%c%u %s %d", w, in->dst_reg, ops, in->imm);
}

static void print_end(const struct bpf_insn *in, char *buf, size_t size)
{
	const char *how = in->code == USM_OP_BSWAP ? "bswap"
			  : in->code == USM_OP_BE  ? "be"
						   : "le";

	snprintf(buf, size, "r%u = %s%d r%u", in->dst_reg, how, in->imm,
		 in->dst_reg);
}

static void print_jmp(const struct bpf_insn *in, char *buf, size_t size)
{
	char w = BPF_CLASS(in->code) == BPF_JMP32 ? 'w' : 'r';
	const char *ops = jmp_ops[BPF_OP(in->code) >> 4];

	if (BPF_SRC(in->code) == BPF_X)
		snprintf(buf, size, "if %c%u %s %c%u goto pc%+d", w,
			 in->dst_reg, ops, w, in->src_reg, in->off);
	else
		snprintf(buf, size, "if %c%u %s 0x%x goto pc%+d", w,
			 in->dst_reg, ops, (uint32_t)in->imm, in->off);
}

static void print_call(const struct bpf_insn *in, char *buf, size_t size)
{
	const char *name;

	if (in->src_reg == BPF_PSEUDO_CALL) {
		snprintf(buf, size, "call pc%+d", in->imm);
		return;
	}
	name = usm__helper_name((uint32_t)in->imm);
	snprintf(buf, size, "call %s#%d", name ? name : "unknown", in->imm);
}

static void print_atomic(const struct bpf_insn *in, char *buf, size_t size)
{
	const char *sz = sz_u[SZIDX(in->code)];
	const char *w64 = BPF_SIZE(in->code) == BPF_DW ? "64" : "";
	int32_t op = in->imm;

	if (op == BPF_CMPXCHG)
		snprintf(buf, size,
			 "r0 = atomic%s_cmpxchg((%s *)(r%u %+d), r0, r%u)", w64,
			 sz, in->dst_reg, in->off, in->src_reg);
	else if (op == BPF_XCHG)
		snprintf(buf, size, "r%u = atomic%s_xchg((%s *)(r%u %+d), r%u)",
			 in->src_reg, w64, sz, in->dst_reg, in->off,
			 in->src_reg);
	else if (op & BPF_FETCH)
		snprintf(buf, size, "r%u = atomic%s_%s((%s *)(r%u %+d), r%u)",
			 in->src_reg, w64, usm__atomic_name(op), sz,
			 in->dst_reg, in->off, in->src_reg);
	else
		snprintf(buf, size, "lock *(%s *)(r%u %+d) %s r%u", sz,
			 in->dst_reg, in->off, alu_ops[op >> 4], in->src_reg);
}

/* ld_imm64; @in[1] is known to exist. Returns slots consumed. */
static int print_lddw(const struct bpf_insn *in, char *buf, size_t size)
{
	uint64_t imm = (uint64_t)(uint32_t)in[0].imm |
		       ((uint64_t)(uint32_t)in[1].imm << 32);
	const struct bpf_insn *n = &in[1];

	if (n->code || n->dst_reg || n->src_reg || n->off || in->off ||
	    in->dst_reg > 10)
		return print_raw(in, buf, size);
	switch (in->src_reg) {
	case 0:
		snprintf(buf, size, "r%u = 0x%llx ll", in->dst_reg,
			 (unsigned long long)imm);
		return 2;
	case BPF_PSEUDO_MAP_FD:
	case BPF_PSEUDO_MAP_IDX:
		if (n->imm)
			return print_raw(in, buf, size);
		snprintf(buf, size, "r%u = map[%s:%d]", in->dst_reg,
			 in->src_reg == BPF_PSEUDO_MAP_FD ? "fd" : "idx",
			 in->imm);
		return 2;
	case BPF_PSEUDO_MAP_VALUE:
	case BPF_PSEUDO_MAP_IDX_VALUE:
		snprintf(buf, size, "r%u = map[%s:%d][0]+%u", in->dst_reg,
			 in->src_reg == BPF_PSEUDO_MAP_VALUE ? "fd" : "idx",
			 in->imm, (uint32_t)n->imm);
		return 2;
	default:
		return print_raw(in, buf, size);
	}
}

static void print_mem(const struct bpf_insn *in, uint8_t kind, char *buf,
		      size_t size)
{
	unsigned z = SZIDX(in->code);

	if (kind == USM_K_LDX || kind == USM_K_LDXSX)
		snprintf(buf, size, "r%u = *(%s *)(r%u %+d)", in->dst_reg,
			 kind == USM_K_LDX ? sz_u[z] : sz_s[z], in->src_reg,
			 in->off);
	else if (kind == USM_K_STX)
		snprintf(buf, size, "*(%s *)(r%u %+d) = r%u", sz_u[z],
			 in->dst_reg, in->off, in->src_reg);
	else
		snprintf(buf, size, "*(%s *)(r%u %+d) = %d", sz_u[z],
			 in->dst_reg, in->off, in->imm);
}

int usm__insn_disasm(const struct bpf_insn *insn, uint32_t remaining, char *buf,
		     size_t size)
{
	uint8_t kind = usm__opinfo[insn->code].kind;

	if (size)
		buf[0] = '\0';
	if (kind == USM_K_LDDW)
		return remaining >= 2 ? print_lddw(insn, buf, size)
				      : print_raw(insn, buf, size);
	if (!canonical(insn, kind))
		return print_raw(insn, buf, size);
	switch (kind) {
	case USM_K_ALU:
		print_alu(insn, buf, size);
		break;
	case USM_K_END:
		print_end(insn, buf, size);
		break;
	case USM_K_JMP:
		print_jmp(insn, buf, size);
		break;
	case USM_K_JA:
		snprintf(buf, size, "%s pc%+d",
			 insn->code == USM_OP_JA ? "goto" : "gotol",
			 insn->code == USM_OP_JA ? insn->off : insn->imm);
		break;
	case USM_K_CALL:
		print_call(insn, buf, size);
		break;
	case USM_K_EXIT:
		snprintf(buf, size, "exit");
		break;
	case USM_K_ATOMIC:
		print_atomic(insn, buf, size);
		break;
	default:
		print_mem(insn, kind, buf, size);
		break;
	}
	return 1;
}

int usm__prog_disasm_insn(const struct usm_prog *prog, uint32_t idx, char *buf,
			  size_t size)
{
	const struct bpf_insn *x =
	    prog->verified && prog->xinsns ? prog->xinsns : prog->insns;
	const struct bpf_insn *o = prog->insns;
	uint32_t mi;

	if (!x || idx >= prog->insn_cnt)
		return -EINVAL;
	if (o && x != o && o[idx].code == (BPF_LD | BPF_IMM | BPF_DW) &&
	    idx + 1 < prog->insn_cnt &&
	    (o[idx].src_reg == BPF_PSEUDO_MAP_IDX ||
	     o[idx].src_reg == BPF_PSEUDO_MAP_IDX_VALUE)) {
		mi = (uint32_t)o[idx].imm;
		if (mi < prog->map_cnt && prog->maps[mi]) {
			if (o[idx].src_reg == BPF_PSEUDO_MAP_IDX)
				snprintf(buf, size, "r%u = map[id:%u]",
					 o[idx].dst_reg, prog->maps[mi]->id);
			else
				snprintf(buf, size, "r%u = map[id:%u][0]+%u",
					 o[idx].dst_reg, prog->maps[mi]->id,
					 (uint32_t)o[idx + 1].imm);
			return 2;
		}
	}
	return usm__insn_disasm(&x[idx], prog->insn_cnt - idx, buf, size);
}
