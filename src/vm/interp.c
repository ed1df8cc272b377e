/* SPDX-License-Identifier: MIT */
/*
 * The interpreter: runs a verified program's xinsns with the kernel's
 * instruction semantics (kernel/bpf/core.c plus the verifier's division
 * fix-ups), one computed-goto handler per opcode of USM_OPCODES().
 *
 * Run state lives on the C stack: 16 registers (instruction fields can name
 * r0..r15, so an unverified register number still stays inside the array),
 * eight 512-byte BPF stack frames (frame i is bytes [i*512, (i+1)*512), r10
 * points at its end) and a frame record per bpf-to-bpf call holding the
 * caller's r6..r9 and return address. Nothing is allocated per run.
 *
 * Semantics worth knowing (kernel behaviour):
 *   - x / 0 = 0 and x % 0 = x (32-bit: x's low half, zero-extended); signed
 *     INT_MIN / -1 = INT_MIN and INT_MIN % -1 = 0, for both widths;
 *   - shift amounts are masked to 63 (31 for 32-bit ops);
 *   - every 32-bit ALU result, load narrower than 8 bytes and 32-bit atomic
 *     fetch is zero-extended into the 64-bit register;
 *   - a tail call counts once its index is in range, even if the slot is
 *     empty; after USM_MAX_TAIL_CALLS, or on an empty slot or bad index, the
 *     program simply continues after the call; a taken tail call replaces
 *     the current frame's program and reuses its stack (the count is per
 *     run, across frames, as in the kernel's JITs).
 *
 * The normal build trusts the verifier for memory safety. Compiled with
 * USM_INTERP_CHECKED (interp_checked.c) the same source becomes
 * usm__prog_run_checked(): every instruction's fields, jump target, memory
 * access and tail-call map are checked first; since CHECKED is a constant,
 * the checks vanish from the normal build.
 */
#include "vm.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "../helpers/helpers.h"
#include "../maps/map.h"
#include "../progtype/progtype.h"

#ifdef USM_INTERP_CHECKED
#define CHECKED   1
#define RUN_ENTRY usm__prog_run_checked
#else
#define CHECKED   0
#define RUN_ENTRY usm__prog_run
#endif

#define NREGS       16u
#define FP          10u
#define STACK_WORDS (USM_MAX_CALL_FRAMES * USM_STACK_SIZE / 8u)

/* One bpf-to-bpf call frame. */
struct frame {
	const struct usm_prog *prog;  /* program this frame runs */
	const struct bpf_insn *ret;   /* where the caller continues */
	uint64_t saved[4];            /* caller's r6..r9 */
};

/* The program a frame currently executes, cached for the handlers. */
struct cur {
	const struct usm_prog *prog;
	const struct bpf_insn *xi;     /* prog->xinsns */
	const struct usm_helper **hl;  /* prog->call_helpers, may be NULL */
	uint32_t cnt;
};

static inline void cur_set(struct cur *c, const struct usm_prog *prog)
{
	c->prog = prog;
	c->xi = prog->xinsns;
	c->hl = prog->call_helpers;
	c->cnt = prog->insn_cnt;
}

/* Checked build: is [addr, addr + size) inside the active stack frames
 * [slo, shi), a registered region, or admitted by the caller's callback? */
static inline bool chk_mem(const struct usm_run *run, uintptr_t slo,
			   uintptr_t shi, uint64_t addr, uint32_t size,
			   bool write)
{
	uint64_t end = addr + size;
	uint32_t i, n = run->nregions;

	if (end < addr)
		return false;
	if (addr >= slo && end <= shi)
		return true;
	if (n > USM_RUN_MAX_REGIONS)
		n = USM_RUN_MAX_REGIONS;
	for (i = 0; i < n; i++) {
		const struct usm_region *r = &run->regions[i];

		if (addr >= r->lo && end <= r->hi && (!write || r->writable))
			return true;
	}
	return run->mem_ok && run->mem_ok(run->mem_ok_arg, (uintptr_t)addr,
					  size, write);
}

/* Checked build: may the ALU instruction's off field be what it is? */
static inline bool chk_alu_off(const struct bpf_insn *insn)
{
	switch (BPF_OP(insn->code)) {
	case BPF_DIV:
	case BPF_MOD:
		return insn->off == 0 || insn->off == 1;
	case BPF_MOV:
		if (BPF_SRC(insn->code) == BPF_K)
			return insn->off == 0;
		return insn->off == 0 || insn->off == 8 || insn->off == 16 ||
		       (insn->off == 32 && usm_insn_is_alu64(insn->code));
	default:
		return insn->off == 0;
	}
}

/* Checked build: 0 if @insn at @pc is well-formed enough to execute. */
static inline int chk_insn(const struct bpf_insn *insn, const struct cur *c)
{
	uint64_t pc = (uint64_t)(insn - c->xi);
	uint8_t kind;

	if (pc >= c->cnt)
		return -EFAULT;
	if (insn->dst_reg > FP || insn->src_reg > FP)
		return -EINVAL;
	kind = usm__opinfo[insn->code].kind;
	switch (kind) {
	case USM_K_ALU:
		if (insn->dst_reg == FP || !chk_alu_off(insn))
			return -EINVAL;
		return 0;
	case USM_K_END:
		if (insn->dst_reg == FP)
			return -EINVAL;
		return insn->imm == 16 || insn->imm == 32 || insn->imm == 64
			       ? 0 : -EINVAL;
	case USM_K_LDX:
	case USM_K_LDXSX:
		return insn->dst_reg == FP ? -EINVAL : 0;
	case USM_K_LDDW:
		return insn->dst_reg == FP || pc + 1 >= c->cnt ? -EINVAL : 0;
	case USM_K_ATOMIC:
		if (!usm__atomic_name(insn->imm))
			return -EINVAL;
		return (insn->imm & BPF_FETCH) && insn->src_reg == FP ? -EINVAL
								     : 0;
	case USM_K_CALL:
		return insn->src_reg <= BPF_PSEUDO_CALL ? 0 : -EINVAL;
	default:
		return 0;
	}
}

/* Checked build: is @m a PROG_ARRAY the running program references? */
static inline bool chk_prog_array(const struct usm_prog *prog, uint64_t m)
{
	uint32_t i;

	for (i = 0; i < prog->map_cnt; i++)
		if ((uintptr_t)prog->maps[i] == m)
			return prog->maps[i]->map_type ==
			       BPF_MAP_TYPE_PROG_ARRAY;
	return false;
}

/* Helper prototype for the CALL at @insn, or NULL. */
static inline const struct usm_helper *call_helper(const struct cur *c,
						   const struct bpf_insn *insn)
{
	if (c->hl)
		return c->hl[insn - c->xi];
	if (c->prog->pt && c->prog->pt->get_helper)
		return c->prog->pt->get_helper((uint32_t)insn->imm);
	return NULL;
}

static inline uint64_t bswap16(uint64_t v)
{
	return __builtin_bswap16((uint16_t)v);
}

static inline uint64_t bswap32(uint64_t v)
{
	return __builtin_bswap32((uint32_t)v);
}

static inline uint64_t bswap64(uint64_t v)
{
	return __builtin_bswap64(v);
}

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define TO_LE16(v) ((uint16_t)(v))
#define TO_LE32(v) ((uint32_t)(v))
#define TO_LE64(v) ((uint64_t)(v))
#define TO_BE16(v) bswap16(v)
#define TO_BE32(v) bswap32(v)
#define TO_BE64(v) bswap64(v)
#else
#define TO_LE16(v) bswap16(v)
#define TO_LE32(v) bswap32(v)
#define TO_LE64(v) bswap64(v)
#define TO_BE16(v) ((uint16_t)(v))
#define TO_BE32(v) ((uint32_t)(v))
#define TO_BE64(v) ((uint64_t)(v))
#endif

/* 64-bit signed division and remainder with the kernel's fix-ups. */
static inline uint64_t sdiv64(uint64_t a, uint64_t b)
{
	if (b == 0)
		return 0;
	if ((int64_t)b == -1)
		return -a; /* LLONG_MIN / -1 = LLONG_MIN */
	return (uint64_t)((int64_t)a / (int64_t)b);
}

static inline uint64_t smod64(uint64_t a, uint64_t b)
{
	if (b == 0)
		return a;
	if ((int64_t)b == -1)
		return 0;
	return (uint64_t)((int64_t)a % (int64_t)b);
}

static inline uint32_t sdiv32(uint32_t a, uint32_t b)
{
	if (b == 0)
		return 0;
	if ((int32_t)b == -1)
		return -a;
	return (uint32_t)((int32_t)a / (int32_t)b);
}

static inline uint32_t smod32(uint32_t a, uint32_t b)
{
	if (b == 0)
		return a;
	if ((int32_t)b == -1)
		return 0;
	return (uint32_t)((int32_t)a % (int32_t)b);
}

static inline uint64_t movsx64(uint64_t v, int16_t off)
{
	switch (off) {
	case 8:
		return (uint64_t)(int64_t)(int8_t)v;
	case 16:
		return (uint64_t)(int64_t)(int16_t)v;
	case 32:
		return (uint64_t)(int64_t)(int32_t)v;
	default:
		return v;
	}
}

static inline uint32_t movsx32(uint64_t v, int16_t off)
{
	switch (off) {
	case 8:
		return (uint32_t)(int32_t)(int8_t)v;
	case 16:
		return (uint32_t)(int32_t)(int16_t)v;
	default:
		return (uint32_t)v;
	}
}

/* Atomic read-modify-write at @p (size 4 or 8); returns the old value. */
static inline uint64_t atomic_rmw(void *p, bool dw, int32_t op, uint64_t v)
{
	uint32_t *p32 = p;
	uint64_t *p64 = p;

	switch (op & ~BPF_FETCH) {
	case BPF_ADD:
		return dw ? __atomic_fetch_add(p64, v, __ATOMIC_SEQ_CST)
			  : __atomic_fetch_add(p32, (uint32_t)v, __ATOMIC_SEQ_CST);
	case BPF_OR:
		return dw ? __atomic_fetch_or(p64, v, __ATOMIC_SEQ_CST)
			  : __atomic_fetch_or(p32, (uint32_t)v, __ATOMIC_SEQ_CST);
	case BPF_AND:
		return dw ? __atomic_fetch_and(p64, v, __ATOMIC_SEQ_CST)
			  : __atomic_fetch_and(p32, (uint32_t)v, __ATOMIC_SEQ_CST);
	case BPF_XOR:
		return dw ? __atomic_fetch_xor(p64, v, __ATOMIC_SEQ_CST)
			  : __atomic_fetch_xor(p32, (uint32_t)v, __ATOMIC_SEQ_CST);
	default: /* BPF_XCHG (BPF_FETCH is part of its value) */
		return dw ? __atomic_exchange_n(p64, v, __ATOMIC_SEQ_CST)
			  : __atomic_exchange_n(p32, (uint32_t)v, __ATOMIC_SEQ_CST);
	}
}

/* Atomic compare-and-exchange: returns the old value (kernel: into r0). */
static inline uint64_t atomic_cmpxchg(void *p, bool dw, uint64_t expect,
				      uint64_t v)
{
	if (dw) {
		uint64_t e = expect;

		__atomic_compare_exchange_n((uint64_t *)p, &e, v, false,
					    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
		return e;
	} else {
		uint32_t e = (uint32_t)expect;

		__atomic_compare_exchange_n((uint32_t *)p, &e, (uint32_t)v,
					    false, __ATOMIC_SEQ_CST,
					    __ATOMIC_SEQ_CST);
		return e;
	}
}

/* The interpreter loop. Handlers are generated per family below. */
static uint64_t interp(const struct usm_prog *prog, struct usm_run *run)
{
	uint64_t stack[STACK_WORDS] __attribute__((aligned(16)));
	uint64_t reg[NREGS] = {0};
	struct frame fr[USM_MAX_CALL_FRAMES];
	const struct bpf_insn *insn;
	const struct usm_helper *h;
	struct cur c;
	uint64_t budget, n = 0, s, a;
	uint32_t depth = 0;
	int err;

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"
	static const void *const labels[256] = {
		[0 ... 255] = &&L_invalid,
#define USM_X_LABEL(name, code, kind, mnem) [(code)] = &&L_##name,
		USM_OPCODES(USM_X_LABEL)
#undef USM_X_LABEL
	};
#pragma GCC diagnostic pop

	budget = run->insn_budget ? run->insn_budget : USM_RUN_DEFAULT_BUDGET;
	cur_set(&c, prog);
	fr[0].prog = prog;
	insn = c.xi;
	reg[1] = (uintptr_t)run->ctx;
	reg[FP] = (uintptr_t)stack + USM_STACK_SIZE;
	if (CHECKED)
		memset(stack, 0, sizeof(stack));
	goto dispatch;

next:
	insn++;
dispatch:
	if (CHECKED && (err = chk_insn(insn, &c)) != 0)
		goto fault;
	if (__builtin_expect(++n > budget, 0))
		goto out_budget;
	goto *labels[insn->code];

#define DST   reg[insn->dst_reg]
#define SRC   reg[insn->src_reg]
#define IMM64 ((uint64_t)(int64_t)insn->imm)
#define IMM32 ((uint32_t)insn->imm)

	/* A binary op in both source forms: X reads the register, K the
	 * sign-extended (64) or plain (32) immediate; then one body. */
#define BIN64(OP, BODY)                                                        \
	L_##OP##64_X : s = SRC;                                                \
	goto B_##OP##64;                                                       \
	L_##OP##64_K : s = IMM64;                                              \
	B_##OP##64 : BODY;                                                     \
	goto next;
#define BIN32(OP, BODY)                                                        \
	L_##OP##32_X : s = (uint32_t)SRC;                                      \
	goto B_##OP##32;                                                       \
	L_##OP##32_K : s = IMM32;                                              \
	B_##OP##32 : BODY;                                                     \
	goto next;

	BIN64(ADD, DST += s)
	BIN64(SUB, DST -= s)
	BIN64(MUL, DST *= s)
	BIN64(OR, DST |= s)
	BIN64(AND, DST &= s)
	BIN64(XOR, DST ^= s)
	BIN64(LSH, DST <<= (s & 63))
	BIN64(RSH, DST >>= (s & 63))
	BIN64(ARSH, DST = (uint64_t)((int64_t)DST >> (s & 63)))
	BIN64(DIV, DST = insn->off == 1 ? sdiv64(DST, s) : s ? DST / s : 0)
	BIN64(MOD, DST = insn->off == 1 ? smod64(DST, s) : s ? DST % s : DST)

	BIN32(ADD, DST = (uint32_t)((uint32_t)DST + s))
	BIN32(SUB, DST = (uint32_t)((uint32_t)DST - s))
	BIN32(MUL, DST = (uint32_t)((uint32_t)DST * s))
	BIN32(OR, DST = (uint32_t)DST | s)
	BIN32(AND, DST = (uint32_t)DST & s)
	BIN32(XOR, DST = (uint32_t)DST ^ s)
	BIN32(LSH, DST = (uint32_t)((uint32_t)DST << (s & 31)))
	BIN32(RSH, DST = (uint32_t)DST >> (s & 31))
	BIN32(ARSH, DST = (uint32_t)((int32_t)DST >> (s & 31)))
	BIN32(DIV, DST = insn->off == 1 ? sdiv32((uint32_t)DST, (uint32_t)s)
			 : s ? (uint32_t)DST / (uint32_t)s : 0)
	BIN32(MOD, DST = insn->off == 1 ? smod32((uint32_t)DST, (uint32_t)s)
			 : s ? (uint32_t)DST % (uint32_t)s : (uint32_t)DST)
#undef BIN64
#undef BIN32

	/* mov: the X form sign-extends when off is 8/16/32 (movsx). */
L_MOV64_X:
	DST = movsx64(SRC, insn->off);
	goto next;
L_MOV64_K:
	DST = IMM64;
	goto next;
L_MOV32_X:
	DST = movsx32(SRC, insn->off);
	goto next;
L_MOV32_K:
	DST = IMM32;
	goto next;

L_NEG64:
	DST = -DST;
	goto next;
L_NEG32:
	DST = (uint32_t)-(uint32_t)DST;
	goto next;

L_LE:
	DST = insn->imm == 16 ? TO_LE16(DST)
	      : insn->imm == 32 ? TO_LE32(DST) : TO_LE64(DST);
	goto next;
L_BE:
	DST = insn->imm == 16 ? TO_BE16(DST)
	      : insn->imm == 32 ? TO_BE32(DST) : TO_BE64(DST);
	goto next;
L_BSWAP:
	DST = insn->imm == 16 ? bswap16(DST)
	      : insn->imm == 32 ? bswap32(DST) : bswap64(DST);
	goto next;

	/* Conditional jumps: 64-bit against the register or the
	 * sign-extended immediate; 32-bit on the low halves. */
#define JMP64(OP, COND)                                                        \
	L_##OP##64_X : s = SRC;                                                \
	goto J_##OP##64;                                                       \
	L_##OP##64_K : s = IMM64;                                              \
	J_##OP##64 : if (COND) insn += insn->off;                              \
	goto next;
#define JMP32(OP, COND)                                                        \
	L_##OP##32_X : s = (uint32_t)SRC;                                      \
	goto J_##OP##32;                                                       \
	L_##OP##32_K : s = IMM32;                                              \
	J_##OP##32 : if (COND) insn += insn->off;                              \
	goto next;

	JMP64(JEQ, DST == s)
	JMP64(JNE, DST != s)
	JMP64(JGT, DST > s)
	JMP64(JGE, DST >= s)
	JMP64(JLT, DST < s)
	JMP64(JLE, DST <= s)
	JMP64(JSET, DST & s)
	JMP64(JSGT, (int64_t)DST > (int64_t)s)
	JMP64(JSGE, (int64_t)DST >= (int64_t)s)
	JMP64(JSLT, (int64_t)DST < (int64_t)s)
	JMP64(JSLE, (int64_t)DST <= (int64_t)s)

	JMP32(JEQ, (uint32_t)DST == (uint32_t)s)
	JMP32(JNE, (uint32_t)DST != (uint32_t)s)
	JMP32(JGT, (uint32_t)DST > (uint32_t)s)
	JMP32(JGE, (uint32_t)DST >= (uint32_t)s)
	JMP32(JLT, (uint32_t)DST < (uint32_t)s)
	JMP32(JLE, (uint32_t)DST <= (uint32_t)s)
	JMP32(JSET, (uint32_t)DST & (uint32_t)s)
	JMP32(JSGT, (int32_t)DST > (int32_t)s)
	JMP32(JSGE, (int32_t)DST >= (int32_t)s)
	JMP32(JSLT, (int32_t)DST < (int32_t)s)
	JMP32(JSLE, (int32_t)DST <= (int32_t)s)
#undef JMP64
#undef JMP32

L_JA:
	insn += insn->off;
	goto next;
L_JA32:
	insn += insn->imm;
	goto next;

	/* Loads and stores of one size; the checked build first proves the
	 * bytes are the program's to touch. */
#define STACK_LO ((uintptr_t)stack)
#define STACK_HI ((uintptr_t)stack + (depth + 1) * USM_STACK_SIZE)
#define MEM(SZN, T, ST)                                                        \
	L_LDX_##SZN : a = SRC + (uint64_t)(int64_t)insn->off;                  \
	if (CHECKED && !chk_mem(run, STACK_LO, STACK_HI, a, sizeof(T), false)) \
		goto mem_fault;                                                \
	{                                                                      \
		T v_;                                                          \
		memcpy(&v_, (const void *)(uintptr_t)a, sizeof(v_));           \
		DST = v_;                                                      \
	}                                                                      \
	goto next;                                                             \
	L_ST_##SZN : s = IMM64;                                                \
	goto ST;                                                               \
	L_STX_##SZN : s = SRC;                                                 \
	ST : a = DST + (uint64_t)(int64_t)insn->off;                           \
	if (CHECKED && !chk_mem(run, STACK_LO, STACK_HI, a, sizeof(T), true))  \
		goto mem_fault;                                                \
	{                                                                      \
		T v_ = (T)s;                                                   \
		memcpy((void *)(uintptr_t)a, &v_, sizeof(v_));                 \
	}                                                                      \
	goto next;
#define MEMSX(SZN, T)                                                          \
	L_LDXSX_##SZN : a = SRC + (uint64_t)(int64_t)insn->off;                \
	if (CHECKED && !chk_mem(run, STACK_LO, STACK_HI, a, sizeof(T), false)) \
		goto mem_fault;                                                \
	{                                                                      \
		T v_;                                                          \
		memcpy(&v_, (const void *)(uintptr_t)a, sizeof(v_));           \
		DST = (uint64_t)(int64_t)v_;                                   \
	}                                                                      \
	goto next;

	MEM(B, uint8_t, S_B)
	MEM(H, uint16_t, S_H)
	MEM(W, uint32_t, S_W)
	MEM(DW, uint64_t, S_DW)
	MEMSX(B, int8_t)
	MEMSX(H, int16_t)
	MEMSX(W, int32_t)
#undef MEM
#undef MEMSX

L_ATOMIC_W:
L_ATOMIC_DW: {
	bool dw = insn->code == USM_OP_ATOMIC_DW;
	void *p;

	a = DST + (uint64_t)(int64_t)insn->off;
	if (CHECKED && (!chk_mem(run, STACK_LO, STACK_HI, a, dw ? 8 : 4, true) ||
			(a & (dw ? 7 : 3))))
		goto mem_fault;
	p = (void *)(uintptr_t)a;
	if (insn->imm == BPF_CMPXCHG) {
		reg[0] = atomic_cmpxchg(p, dw, reg[0], SRC);
	} else {
		s = atomic_rmw(p, dw, insn->imm, SRC);
		if (insn->imm & BPF_FETCH)
			SRC = dw ? s : (uint32_t)s;
	}
	goto next;
}
#undef STACK_LO

L_LDDW:
	DST = (uint64_t)(uint32_t)insn[0].imm |
	      ((uint64_t)(uint32_t)insn[1].imm << 32);
	insn++;
	goto next;

L_CALL:
	if (insn->src_reg == BPF_PSEUDO_CALL)
		goto pseudo_call;
	if (insn->src_reg != 0)
		goto bad_insn;
	if (insn->imm == BPF_FUNC_tail_call)
		goto tail_call;
	h = call_helper(&c, insn);
	if (!h || !h->fn)
		goto bad_insn;
	reg[0] = h->fn(run, reg[1], reg[2], reg[3], reg[4], reg[5]);
	/* A helper may abort the run (run->error). */
	if (__builtin_expect(run->error != 0, 0))
		goto out;
	goto next;

pseudo_call:
	if (depth + 1 >= USM_MAX_CALL_FRAMES) {
		run->error = -E2BIG; /* the kernel's "call stack too deep" */
		goto out;
	}
	depth++;
	fr[depth].prog = c.prog;
	fr[depth].ret = insn + 1;
	memcpy(fr[depth].saved, &reg[6], sizeof(fr[depth].saved));
	reg[FP] = (uintptr_t)stack + (depth + 1) * USM_STACK_SIZE;
	insn += insn->imm + 1;
	goto dispatch;

tail_call: {
	struct usm_map *m = (struct usm_map *)(uintptr_t)reg[2];
	uint32_t idx = (uint32_t)reg[3];
	struct usm_prog *t;

	if (CHECKED && !chk_prog_array(c.prog, reg[2]))
		goto mem_fault;
	if (idx >= m->max_entries || run->tail_calls >= USM_MAX_TAIL_CALLS)
		goto next;
	run->tail_calls++;
	t = usm__prog_array_get(m, idx);
	if (!t || !t->verified || !t->xinsns)
		goto next;
	fr[depth].prog = t;
	cur_set(&c, t);
	run->prog = t;
	insn = c.xi;
	goto dispatch;
}

L_EXIT:
	if (depth == 0)
		goto out;
	memcpy(&reg[6], fr[depth].saved, sizeof(fr[depth].saved));
	insn = fr[depth].ret;
	depth--;
	if (fr[depth].prog != c.prog) {
		cur_set(&c, fr[depth].prog);
		run->prog = c.prog;
	}
	reg[FP] = (uintptr_t)stack + (depth + 1) * USM_STACK_SIZE;
	goto dispatch;
#undef STACK_HI
#undef DST
#undef SRC
#undef IMM64
#undef IMM32

L_invalid:
bad_insn:
	err = -EINVAL;
	goto fault;
mem_fault:
	err = -EFAULT;
fault:
	run->error = err;
	run->fault_pc = (uint32_t)(insn - c.xi);
	reg[0] = 0;
	run->insns_executed = n;
	return 0;
out_budget:
	run->error = -E2BIG;
	run->insns_executed = budget;
	return 0;
out:
	run->insns_executed = n;
	return run->error ? 0 : reg[0];
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t RUN_ENTRY(const struct usm_prog *prog, void *ctx,
		   struct usm_run *run)
{
	struct usm_run local;
	struct usm_prog *p = (struct usm_prog *)prog;
	uint64_t t0 = 0, r0;
	uint32_t cpu;

	if (!run) {
		memset(&local, 0, sizeof(local));
		run = &local;
	}
	run->prog = prog;
	run->ctx = ctx;
	run->tail_calls = 0;
	run->insns_executed = 0;
	run->error = 0;
	run->fault_pc = 0;
	if (!prog || !prog->verified || !prog->xinsns || !prog->insn_cnt) {
		run->error = -EINVAL;
		return 0;
	}
	if (run->stats)
		t0 = now_ns();
	/* Per-CPU maps read the run's CPU through the maps module. */
	cpu = usm__map_set_cpu(run->cpu);
	r0 = interp(prog, run);
	usm__map_set_cpu(cpu);
	if (run->stats) {
		/* bpf_stats: counted on the entry program, as the kernel
		 * does; the object is ours to update (const is the run's
		 * promise not to change the program's code). */
		__atomic_add_fetch(&p->run_cnt, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&p->run_time_ns, now_ns() - t0,
				   __ATOMIC_RELAXED);
	}
	return r0;
}
