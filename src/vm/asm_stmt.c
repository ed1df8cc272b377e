/* SPDX-License-Identifier: MIT */
/*
 * The assembler's statement parsers: one function per form of asm.h's
 * syntax (jumps, calls, loads, stores, atomics, ALU, ld_imm64, raw), each
 * reading tokens through asm_int.h and emitting the instruction(s).
 */
#include <errno.h>
#include <stdlib.h>

#include "asm_int.h"
#include "insn.h"

/* "(SZ *)(REG OFF)": size code, signedness, base register and offset. */
static int parse_ptr(struct usm_asm *a, uint8_t *sz, bool *sx, uint8_t *reg,
		     int16_t *off)
{
	static const struct {
		const char *n;
		uint8_t sz;
		bool sx;
	} szs[] = {
	    {"u8", BPF_B, false},  {"u16", BPF_H, false},
	    {"u32", BPF_W, false}, {"u64", BPF_DW, false},
	    {"s8", BPF_B, true},   {"s16", BPF_H, true},
	    {"s32", BPF_W, true},
	};
	size_t k;
	bool w;

	if (usm__asm_expect(a, "("))
		return a->rc;
	for (k = 0; k < sizeof(szs) / sizeof(szs[0]); k++)
		if (accept_word(a, szs[k].n))
			break;
	if (k == sizeof(szs) / sizeof(szs[0]))
		return usm__asm_fail(
		    a, "expected a size (u8/u16/u32/u64/s8/s16/s32)");
	*sz = szs[k].sz;
	*sx = szs[k].sx;
	if (usm__asm_expect(a, "*") || usm__asm_expect(a, ")") ||
	    usm__asm_expect(a, "(") || usm__asm_parse_reg(a, reg, &w))
		return a->rc;
	if (w)
		return usm__asm_fail(a, "memory base must be an r register");
	*off = 0;
	if (!tok_is(peek(a), USM_TOK_PUNCT, ")") &&
	    usm__asm_parse_off16(a, off))
		return a->rc;
	return usm__asm_expect(a, ")");
}

static int parse_call(struct usm_asm *a)
{
	struct bpf_insn *in = usm__asm_emit(a, BPF_JMP | BPF_CALL, 0, 0, 0, 0);
	struct usm_asm_tok *t = peek(a);

	if (!in)
		return a->rc;
	if (tok_is(t, USM_TOK_IDENT, "pc")) {
		a->i++;
		in->src_reg = BPF_PSEUDO_CALL;
		return usm__asm_parse_imm32(a, &in->imm);
	}
	if (t->kind == USM_TOK_NUM)
		return usm__asm_parse_imm32(a, &in->imm);
	if (t->kind != USM_TOK_IDENT)
		return usm__asm_fail(
		    a, "expected a helper, label or pc+N after call");
	a->i++;
	if (accept(a, "#"))
		return usm__asm_parse_imm32(a, &in->imm);
	return usm__asm_add_fixup(a, t, true, true);
}

static int jmp_op(struct usm_asm *a, uint8_t *op)
{
	static const struct {
		const char *s;
		uint8_t op;
	} ops[] = {
	    {"==", BPF_JEQ},  {"!=", BPF_JNE},	 {">", BPF_JGT},
	    {">=", BPF_JGE},  {"<", BPF_JLT},	 {"<=", BPF_JLE},
	    {"&", BPF_JSET},  {"s>", BPF_JSGT},	 {"s>=", BPF_JSGE},
	    {"s<", BPF_JSLT}, {"s<=", BPF_JSLE},
	};
	size_t k;

	for (k = 0; k < sizeof(ops) / sizeof(ops[0]); k++)
		if (accept(a, ops[k].s)) {
			*op = ops[k].op;
			return 0;
		}
	return usm__asm_fail(a, "expected a comparison");
}

static int parse_if(struct usm_asm *a)
{
	struct bpf_insn *in;
	uint8_t dst, src = 0, op = 0;
	int32_t imm = 0;
	bool w, x;

	if (usm__asm_parse_reg(a, &dst, &w) || jmp_op(a, &op))
		return a->rc;
	x = tok_reg(peek(a), &src, &(bool){false});
	if (x ? usm__asm_parse_reg_w(a, &src, w)
	      : usm__asm_parse_imm32(a, &imm))
		return a->rc;
	if (usm__asm_expect_word(a, "goto"))
		return a->rc;
	in = usm__asm_emit(a,
			   (w ? BPF_JMP32 : BPF_JMP) | op | (x ? BPF_X : BPF_K),
			   dst, src, 0, imm);
	return in ? usm__asm_parse_target(a, false) : a->rc;
}

/* "+=" etc. of an atomic without fetch, as an imm; -1 if none. */
static int32_t atomic_alu_op(struct usm_asm *a)
{
	if (accept(a, "+="))
		return BPF_ADD;
	if (accept(a, "|="))
		return BPF_OR;
	if (accept(a, "&="))
		return BPF_AND;
	if (accept(a, "^="))
		return BPF_XOR;
	return -1;
}

static int parse_lock(struct usm_asm *a)
{
	uint8_t sz, base, src;
	int16_t off;
	int32_t op;
	bool sx;

	if (usm__asm_expect(a, "*") || parse_ptr(a, &sz, &sx, &base, &off))
		return a->rc;
	if (sx || (sz != BPF_W && sz != BPF_DW))
		return usm__asm_fail(a, "atomics are u32 or u64");
	op = atomic_alu_op(a);
	if (op < 0)
		return usm__asm_fail(a, "expected +=, |=, &= or ^=");
	if (usm__asm_parse_reg_w(a, &src, false))
		return a->rc;
	return usm__asm_emit(a, BPF_STX | BPF_ATOMIC | sz, base, src, off, op)
		   ? 0
		   : a->rc;
}

static int parse_store(struct usm_asm *a)
{
	uint8_t sz, base, src;
	int16_t off;
	int32_t imm;
	bool sx, w;

	if (usm__asm_expect(a, "*") || parse_ptr(a, &sz, &sx, &base, &off) ||
	    usm__asm_expect(a, "="))
		return a->rc;
	if (sx)
		return usm__asm_fail(a, "stores take unsigned sizes");
	if (tok_reg(peek(a), &src, &w)) {
		if (usm__asm_parse_reg_w(a, &src, false))
			return a->rc;
		return usm__asm_emit(a, BPF_STX | BPF_MEM | sz, base, src, off,
				     0)
			   ? 0
			   : a->rc;
	}
	if (usm__asm_parse_imm32(a, &imm))
		return a->rc;
	return usm__asm_emit(a, BPF_ST | BPF_MEM | sz, base, 0, off, imm)
		   ? 0
		   : a->rc;
}

static int parse_raw(struct usm_asm *a)
{
	static const char *const keys[] = {"code", "dst", "src", "off", "imm"};
	static const int64_t lo[] = {0, 0, 0, INT16_MIN, INT32_MIN};
	static const int64_t hi[] = {255, 15, 15, INT16_MAX, UINT32_MAX};
	int64_t v[5] = {0};
	size_t k;
	bool neg;

	while (peek(a)->kind == USM_TOK_IDENT) {
		for (k = 0; k < 5; k++)
			if (accept_word(a, keys[k]))
				break;
		if (k == 5)
			return usm__asm_fail(a, "unknown .insn field '%.*s'",
					     (int)peek(a)->len, peek(a)->s);
		if (usm__asm_expect(a, "=") ||
		    usm__asm_parse_num(a, &v[k], &neg))
			return a->rc;
		if (v[k] < lo[k] || v[k] > hi[k] || (neg && v[k] > 0))
			return usm__asm_fail(a, ".insn %s out of range",
					     keys[k]);
	}
	return usm__asm_emit(a, (uint8_t)v[0], (uint8_t)v[1], (uint8_t)v[2],
			     (int16_t)v[3], (int32_t)(uint32_t)(uint64_t)v[4])
		   ? 0
		   : a->rc;
}

/* "map[idx:N]" / "map[idx:N][0]+OFF" (and the fd forms) after "r = ". */
static int parse_map(struct usm_asm *a, uint8_t dst)
{
	struct bpf_insn *in;
	int32_t idx, off = 0;
	bool fd, value = false;

	if (usm__asm_expect(a, "["))
		return a->rc;
	fd = accept_word(a, "fd");
	if ((!fd && usm__asm_expect_word(a, "idx")) ||
	    usm__asm_expect(a, ":") || usm__asm_parse_imm32(a, &idx) ||
	    usm__asm_expect(a, "]"))
		return a->rc;
	if (accept(a, "[")) {
		if (!tok_is(peek(a), USM_TOK_NUM, "0"))
			return usm__asm_fail(
			    a, "only element [0] can be addressed");
		a->i++;
		if (usm__asm_expect(a, "]") || usm__asm_expect(a, "+") ||
		    usm__asm_parse_imm32(a, &off))
			return a->rc;
		value = true;
	}
	in = usm__asm_emit(
	    a, BPF_LD | BPF_IMM | BPF_DW, dst,
	    fd ? (value ? BPF_PSEUDO_MAP_VALUE : BPF_PSEUDO_MAP_FD)
	       : (value ? BPF_PSEUDO_MAP_IDX_VALUE : BPF_PSEUDO_MAP_IDX),
	    0, idx);
	if (!in || !usm__asm_emit(a, 0, 0, 0, 0, off))
		return a->rc;
	return 0;
}

/* "atomic[64]_OP((SZ *)(REG OFF), [r0, ]REG)" with OP from @name. */
static int parse_atomic_fetch(struct usm_asm *a, uint8_t dst,
			      const struct usm_asm_tok *t)
{
	static const struct {
		const char *n;
		int32_t op;
	} ops[] = {
	    {"fetch_add", BPF_ADD | BPF_FETCH},
	    {"fetch_and", BPF_AND | BPF_FETCH},
	    {"fetch_or", BPF_OR | BPF_FETCH},
	    {"fetch_xor", BPF_XOR | BPF_FETCH},
	    {"xchg", BPF_XCHG},
	    {"cmpxchg", BPF_CMPXCHG},
	};
	const char *p = t->s + 6;
	size_t k, n = t->len - 6;
	bool dw = n > 2 && !strncmp(p, "64", 2), sx;
	uint8_t sz, base, src, r0;
	int16_t off;

	p += dw ? 3 : 1;
	n -= dw ? 3 : 1;
	for (k = 0; k < sizeof(ops) / sizeof(ops[0]); k++)
		if (strlen(ops[k].n) == n && !strncmp(p, ops[k].n, n))
			break;
	if (k == sizeof(ops) / sizeof(ops[0]) || t->s[dw ? 8 : 6] != '_')
		return usm__asm_fail(a, "unknown atomic '%.*s'", (int)t->len,
				     t->s);
	if (usm__asm_expect(a, "(") || parse_ptr(a, &sz, &sx, &base, &off) ||
	    usm__asm_expect(a, ","))
		return a->rc;
	if (sx || sz != (dw ? BPF_DW : BPF_W))
		return usm__asm_fail(a, "atomic%s needs a %s pointer",
				     dw ? "64" : "", dw ? "u64" : "u32");
	if (ops[k].op == BPF_CMPXCHG &&
	    (usm__asm_parse_reg_w(a, &r0, false) || usm__asm_expect(a, ",")))
		return a->rc;
	if (usm__asm_parse_reg_w(a, &src, false) || usm__asm_expect(a, ")"))
		return a->rc;
	if (ops[k].op == BPF_CMPXCHG ? dst != 0 || r0 != 0 : dst != src)
		return usm__asm_fail(
		    a, ops[k].op == BPF_CMPXCHG
			   ? "cmpxchg works on r0"
			   : "fetch result goes to the source register");
	return usm__asm_emit(a, BPF_STX | BPF_ATOMIC | sz, base, src, off,
			     ops[k].op)
		   ? 0
		   : a->rc;
}

/* "be16 rN" / "le32 rN" / "bswap64 rN" after "rN = "; 0 if not one. */
static int parse_end(struct usm_asm *a, uint8_t dst, bool w,
		     const struct usm_asm_tok *t, bool *matched)
{
	static const char *const kinds[] = {"be", "le", "bswap"};
	static const uint8_t codes[] = {USM_OP_BE, USM_OP_LE, USM_OP_BSWAP};
	size_t k, n;
	uint8_t src;
	int bits;

	*matched = false;
	for (k = 0; k < 3; k++) {
		n = strlen(kinds[k]);
		if (t->len == n + 2 && !strncmp(t->s, kinds[k], n))
			break;
	}
	if (k == 3)
		return 0;
	bits = atoi(t->s + n);
	if (bits != 16 && bits != 32 && bits != 64)
		return 0;
	*matched = true;
	a->i++;
	if (w || usm__asm_parse_reg_w(a, &src, false) || src != dst)
		return usm__asm_fail(a, "byte swap is written rN = %.*s rN",
				     (int)t->len, t->s);
	return usm__asm_emit(a, codes[k], dst, 0, 0, bits) ? 0 : a->rc;
}

/* "(s8)rS" etc. after "rD = ". */
static int parse_movsx(struct usm_asm *a, uint8_t dst, bool w)
{
	int16_t off;
	uint8_t src;

	if (accept_word(a, "s8"))
		off = 8;
	else if (accept_word(a, "s16"))
		off = 16;
	else if (!w && accept_word(a, "s32"))
		off = 32;
	else
		return usm__asm_fail(a, "expected (s8), (s16)%s",
				     w ? "" : " or (s32)");
	if (usm__asm_expect(a, ")") || usm__asm_parse_reg_w(a, &src, w))
		return a->rc;
	return usm__asm_emit(a, (w ? BPF_ALU : BPF_ALU64) | BPF_MOV | BPF_X,
			     dst, src, off, 0)
		   ? 0
		   : a->rc;
}

/* "rD = NUMBER" (mov) or "rD = NUMBER ll" (ld_imm64). */
static int parse_mov_imm(struct usm_asm *a, uint8_t dst, bool w)
{
	int start = a->i;
	int32_t imm;
	int64_t v;
	bool neg;

	if (usm__asm_parse_num(a, &v, &neg))
		return a->rc;
	if (accept_word(a, "ll")) {
		if (w)
			return usm__asm_fail(a, "ld_imm64 needs an r register");
		if (!usm__asm_emit(a, BPF_LD | BPF_IMM | BPF_DW, dst, 0, 0,
				   (int32_t)(uint32_t)(uint64_t)v) ||
		    !usm__asm_emit(a, 0, 0, 0, 0,
				   (int32_t)(uint32_t)((uint64_t)v >> 32)))
			return a->rc;
		return 0;
	}
	a->i = start;
	if (usm__asm_parse_imm32(a, &imm))
		return a->rc;
	return usm__asm_emit(a, (w ? BPF_ALU : BPF_ALU64) | BPF_MOV | BPF_K,
			     dst, 0, 0, imm)
		   ? 0
		   : a->rc;
}

static int parse_assign(struct usm_asm *a, uint8_t dst, bool w)
{
	struct usm_asm_tok *t = peek(a);
	uint8_t sz, base, src;
	int16_t off;
	bool sx, matched, w2;

	if (accept(a, "*")) {
		if (parse_ptr(a, &sz, &sx, &base, &off))
			return a->rc;
		if (w)
			return usm__asm_fail(a, "loads go to r registers");
		return usm__asm_emit(
			   a, BPF_LDX | (sx ? USM_BPF_MEMSX : BPF_MEM) | sz,
			   dst, base, off, 0)
			   ? 0
			   : a->rc;
	}
	if (tok_is(t, USM_TOK_PUNCT, "-") &&
	    tok_reg(&a->t[a->i + 1], &src, &w2)) {
		a->i++;
		if (usm__asm_parse_reg_w(a, &src, w) || src != dst)
			return usm__asm_fail(a, "neg is written rN = -rN");
		return usm__asm_emit(a, (w ? BPF_ALU : BPF_ALU64) | BPF_NEG,
				     dst, 0, 0, 0)
			   ? 0
			   : a->rc;
	}
	if (accept(a, "("))
		return parse_movsx(a, dst, w);
	if (t->kind != USM_TOK_IDENT)
		return parse_mov_imm(a, dst, w);
	if (accept_word(a, "map"))
		return w ? usm__asm_fail(a, "ld_imm64 needs an r register")
			 : parse_map(a, dst);
	if (t->len > 6 && !strncmp(t->s, "atomic", 6)) {
		a->i++;
		return w ? usm__asm_fail(a, "atomics use r registers")
			 : parse_atomic_fetch(a, dst, t);
	}
	if (parse_end(a, dst, w, t, &matched) || matched)
		return a->rc;
	if (usm__asm_parse_reg_w(a, &src, w))
		return a->rc;
	return usm__asm_emit(a, (w ? BPF_ALU : BPF_ALU64) | BPF_MOV | BPF_X,
			     dst, src, 0, 0)
		   ? 0
		   : a->rc;
}

static int parse_alu(struct usm_asm *a, uint8_t dst, bool w)
{
	static const struct {
		const char *s;
		uint8_t op;
		int16_t off;
	} ops[] = {
	    {"+=", BPF_ADD, 0},	 {"-=", BPF_SUB, 0},	{"*=", BPF_MUL, 0},
	    {"/=", BPF_DIV, 0},	 {"|=", BPF_OR, 0},	{"&=", BPF_AND, 0},
	    {"<<=", BPF_LSH, 0}, {">>=", BPF_RSH, 0},	{"%=", BPF_MOD, 0},
	    {"^=", BPF_XOR, 0},	 {"s>>=", BPF_ARSH, 0}, {"s/=", BPF_DIV, 1},
	    {"s%=", BPF_MOD, 1},
	};
	uint8_t cls = w ? BPF_ALU : BPF_ALU64, src;
	int32_t imm;
	size_t k;
	bool w2;

	for (k = 0; k < sizeof(ops) / sizeof(ops[0]); k++)
		if (accept(a, ops[k].s))
			break;
	if (k == sizeof(ops) / sizeof(ops[0]))
		return usm__asm_fail(a,
				     "expected an operator after the register");
	if (tok_reg(peek(a), &src, &w2)) {
		if (usm__asm_parse_reg_w(a, &src, w))
			return a->rc;
		return usm__asm_emit(a, cls | ops[k].op | BPF_X, dst, src,
				     ops[k].off, 0)
			   ? 0
			   : a->rc;
	}
	if (usm__asm_parse_imm32(a, &imm))
		return a->rc;
	return usm__asm_emit(a, cls | ops[k].op | BPF_K, dst, 0, ops[k].off,
			     imm)
		   ? 0
		   : a->rc;
}

int usm__asm_parse_stmt(struct usm_asm *a)
{
	uint8_t r;
	bool w;

	if (accept_word(a, "exit"))
		return usm__asm_emit(a, BPF_JMP | BPF_EXIT, 0, 0, 0, 0) ? 0
									: a->rc;
	if (accept_word(a, "goto"))
		return usm__asm_emit(a, BPF_JMP | BPF_JA, 0, 0, 0, 0)
			   ? usm__asm_parse_target(a, false)
			   : a->rc;
	if (accept_word(a, "gotol"))
		return usm__asm_emit(a, BPF_JMP32 | BPF_JA, 0, 0, 0, 0)
			   ? usm__asm_parse_target(a, true)
			   : a->rc;
	if (accept_word(a, "call"))
		return parse_call(a);
	if (accept_word(a, "if"))
		return parse_if(a);
	if (accept_word(a, "lock"))
		return parse_lock(a);
	if (accept_word(a, ".insn"))
		return parse_raw(a);
	if (tok_is(peek(a), USM_TOK_PUNCT, "*"))
		return parse_store(a);
	if (usm__asm_parse_reg(a, &r, &w))
		return a->rc;
	if (accept(a, "="))
		return parse_assign(a, r, w);
	return parse_alu(a, r, w);
}
