/* SPDX-License-Identifier: MIT */
/*
 * Precision tracking (the kernel's mark_chain_precision): scalars start
 * "imprecise", and an explored state compares imprecise scalars as equal
 * whatever their range, which is what lets loops with data-dependent
 * counters prune. When a scalar's exact value starts to matter (pointer
 * arithmetic, a helper size, a branch decided by it, a checked return
 * value, a zero written to the stack), the walk backtracks over the
 * instructions of the current path (each state keeps those since its
 * parent checkpoint) to find which registers and stack slots the value
 * came from, and marks them precise in every explored state on the way.
 * Anything the backtracking cannot follow makes every scalar of the path
 * precise instead (always sound, only less pruning).
 */
#include "verify.h"

#include <stdlib.h>
#include <string.h>

#define ARGS_MASK 0x3eu /* r1-r5 */
#define BT_UNSUPPORTED 1
#define VMAX_BT_STEPS (200ull * 1000 * 1000)

int usm__verify_hist_add(struct vstate *st, const struct vhist *h)
{
	if (st->nhist == st->histcap) {
		uint32_t cap = st->histcap ? st->histcap * 2 : 32;
		struct vhist *n = realloc(st->hist, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		st->hist = n;
		st->histcap = cap;
	}
	st->hist[st->nhist++] = *h;
	return 0;
}

static bool bt_empty(const struct vbt *bt)
{
	uint32_t f;

	for (f = 0; f < USM_MAX_CALL_FRAMES; f++)
		if (bt->regs[f] || bt->slots[f])
			return false;
	return true;
}

static void imprecise(struct venv *env, struct vreg *r, void *arg)
{
	(void)env;
	(void)arg;
	r->precise = 0;
}

static void all_precise(struct venv *env, struct vreg *r, void *arg)
{
	(void)env;
	(void)arg;
	if (r->type == USM_SCALAR)
		r->precise = 1;
}

/* Inherited marks are forgotten before a checkpoint: descendants mark
 * again what they need. */
void usm__verify_mark_imprecise(struct vstate *st)
{
	usm__verify_for_each_reg(NULL, st, imprecise, NULL);
}

/* Fallback: every scalar of every state of the path is precise. */
static void mark_all_precise(struct venv *env)
{
	struct vstate *st;

	for (st = env->cur; st; st = st->parent)
		usm__verify_for_each_reg(env, st, all_precise, NULL);
}

/* @f: the frame the call ran in. */
static int bt_call(const struct bpf_insn *in, uint32_t f, struct vbt *bt)
{
	if (in->src_reg != BPF_PSEUDO_CALL) {
		bt->regs[f] &= (uint16_t)~1u;
		return bt->regs[f] & ARGS_MASK ? BT_UNSUPPORTED : 0;
	}
	/* Back from the callee's first instruction into the caller: only
	 * its arguments can matter there. */
	if (f + 1 >= USM_MAX_CALL_FRAMES)
		return BT_UNSUPPORTED;
	if ((bt->regs[f + 1] & ~ARGS_MASK) || bt->slots[f + 1])
		return BT_UNSUPPORTED;
	bt->regs[f] |= bt->regs[f + 1];
	bt->regs[f + 1] = 0;
	return 0;
}

/* @c: the callee frame that exited; the caller's r0 is its r0. */
static int bt_exit(uint32_t c, struct vbt *bt)
{
	if (!c || (bt->regs[c - 1] & ARGS_MASK))
		return BT_UNSUPPORTED;
	if (bt->regs[c - 1] & 1u) {
		bt->regs[c - 1] &= (uint16_t)~1u;
		bt->regs[c] |= 1u;
	}
	return 0;
}

static int bt_alu(const struct bpf_insn *in, struct vbt *bt)
{
	uint16_t *m = &bt->regs[bt->frame];
	uint8_t op = BPF_OP(in->code);
	bool x = usm_insn_src_is_reg(in->code);

	if (!(*m & (1u << in->dst_reg)) || op == BPF_END || op == BPF_NEG)
		return 0;
	if (op == BPF_MOV)
		*m &= (uint16_t)~(1u << in->dst_reg);
	if (x && in->src_reg != 10)
		*m |= (uint16_t)(1u << in->src_reg);
	return 0;
}

static int bt_mem(const struct bpf_insn *in, const struct vhist *h,
		  struct vbt *bt)
{
	uint16_t *m = &bt->regs[bt->frame];
	uint8_t cls = BPF_CLASS(in->code);
	uint64_t slot = 1ull << h->spi;

	if (cls == BPF_LDX) {
		if (!(*m & (1u << in->dst_reg)))
			return 0;
		*m &= (uint16_t)~(1u << in->dst_reg);
		if (h->flags & VH_STACK)
			bt->slots[h->sframe] |= slot;
		return 0;
	}
	if (*m & (1u << in->dst_reg))
		return BT_UNSUPPORTED; /* a scalar used as a pointer */
	if (!(h->flags & VH_STACK) || !(bt->slots[h->sframe] & slot))
		return 0;
	bt->slots[h->sframe] &= ~slot;
	if (cls == BPF_STX)
		*m |= (uint16_t)(1u << in->src_reg);
	return 0;
}

static int bt_jmp(const struct bpf_insn *in, const struct vhist *h,
		  struct vbt *bt)
{
	uint16_t *m = &bt->regs[bt->frame];
	uint16_t d = (uint16_t)(1u << in->dst_reg);
	uint16_t s = (uint16_t)(1u << in->src_reg);
	bool x = usm_insn_src_is_reg(in->code);

	if ((h->flags & VH_LINKED) && !bt_empty(bt)) {
		*m |= d;
		if (x)
			*m |= s;
		return 0;
	}
	if (x && (*m & (d | s)))
		*m |= d | s;
	return 0;
}

static int bt_insn(struct venv *env, const struct vhist *h, struct vbt *bt)
{
	const struct bpf_insn *in = &env->insns[h->idx];
	uint16_t *m;

	bt->frame = h->frame;
	m = &bt->regs[bt->frame];
	switch (usm__opinfo[in->code].kind) {
	case USM_K_ALU:
	case USM_K_END:
		return bt_alu(in, bt);
	case USM_K_LDX:
	case USM_K_LDXSX:
	case USM_K_ST:
	case USM_K_STX:
		return bt_mem(in, h, bt);
	case USM_K_ATOMIC:
		return (*m & ((1u << in->dst_reg) | (1u << in->src_reg) | 1u))
			       ? BT_UNSUPPORTED
			       : 0;
	case USM_K_LDDW:
		*m &= (uint16_t)~(1u << in->dst_reg);
		return 0;
	case USM_K_JMP:
		return bt_jmp(in, h, bt);
	case USM_K_CALL:
		return bt_call(in, h->frame, bt);
	case USM_K_EXIT:
		return bt_exit(h->frame, bt);
	default:
		return 0;
	}
}

static void mark_regs(struct vframe *fr, uint16_t *m)
{
	uint16_t bits = *m;

	while (bits) {
		uint32_t r = (uint32_t)__builtin_ctz(bits);
		struct vreg *reg = &fr->regs[r];

		bits &= (uint16_t)(bits - 1);
		if (r >= USM_NR_REGS || reg->type != USM_SCALAR || reg->precise)
			*m &= (uint16_t)~(1u << r);
		if (r < USM_NR_REGS && reg->type == USM_SCALAR)
			reg->precise = 1;
	}
}

static void mark_slots(struct vframe *fr, uint64_t *m)
{
	uint64_t bits = *m;

	while (bits) {
		uint32_t s = (uint32_t)__builtin_ctzll(bits);
		struct vreg *reg;

		bits &= bits - 1;
		if (s >= fr->nslots || fr->stack[s].type[0] != VS_SPILL ||
		    fr->stack[s].spilled.type != USM_SCALAR) {
			*m &= ~(1ull << s);
			continue;
		}
		reg = &fr->stack[s].spilled;
		if (reg->precise)
			*m &= ~(1ull << s);
		reg->precise = 1;
	}
}

/* Apply the masks to explored state @st: mark its scalars precise; drop
 * what it already had precise (already propagated) or is not a scalar. */
static void mark_state(struct vstate *st, struct vbt *bt)
{
	uint32_t f;

	for (f = 0; f < USM_MAX_CALL_FRAMES; f++) {
		if (!bt->regs[f] && !bt->slots[f])
			continue;
		if (f > st->curframe) {
			bt->regs[f] = 0;
			bt->slots[f] = 0;
			continue;
		}
		mark_regs(st->frame[f], &bt->regs[f]);
		mark_slots(st->frame[f], &bt->slots[f]);
	}
}

int usm__verify_backtrack(struct venv *env, struct vbt *bt)
{
	struct vstate *st = env->cur;
	uint32_t k;

	while (!bt_empty(bt)) {
		env->bt_steps += st->nhist + 1;
		if (env->bt_steps > VMAX_BT_STEPS)
			return usm__verify_err_plain(
				env, -E2BIG,
				"BPF program is too complex: precision tracking gave up after %llu steps",
				(unsigned long long)env->bt_steps);
		for (k = st->nhist; k-- > 0;) {
			if (bt_insn(env, &st->hist[k], bt)) {
				mark_all_precise(env);
				return 0;
			}
			if (bt_empty(bt))
				return 0;
		}
		st = st->parent;
		if (!st)
			break;
		mark_state(st, bt);
	}
	return 0;
}

int usm__verify_mark_precise(struct venv *env, uint32_t regno)
{
	struct vbt bt;

	if (regno >= USM_NR_REGS || vcur_regs(env)[regno].type != USM_SCALAR)
		return 0;
	memset(&bt, 0, sizeof(bt));
	bt.frame = env->cur->curframe;
	bt.regs[bt.frame] = (uint16_t)(1u << regno);
	return usm__verify_backtrack(env, &bt);
}
