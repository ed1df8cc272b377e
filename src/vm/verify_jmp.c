/* SPDX-License-Identifier: MIT */
/*
 * Conditional jumps (the kernel's check_cond_jmp_op): a comparison whose
 * outcome the known values decide follows one edge only (dead branches are
 * never walked); otherwise the taken edge is queued as a pending branch and
 * both sides learn from the comparison: scalar ranges on each side,
 * NULL-ness of maybe-NULL pointers compared with 0 (all copies sharing the
 * id), and the proven packet range when a packet pointer is compared with
 * pkt_end (64-bit comparisons only, as in the kernel).
 */
#include "verify.h"

#include <string.h>

#include "../maps/map.h"

#define JSET_NOT (BPF_JSET | BPF_X) /* the false side of JSET */

#define VMAX(a, b) ((a) > (b) ? (a) : (b))
#define VMIN(a, b) ((a) < (b) ? (a) : (b))

static uint8_t flip_op(uint8_t op)
{
	switch (op) {
	case BPF_JGT: return BPF_JLT;
	case BPF_JLT: return BPF_JGT;
	case BPF_JGE: return BPF_JLE;
	case BPF_JLE: return BPF_JGE;
	case BPF_JSGT: return BPF_JSLT;
	case BPF_JSLT: return BPF_JSGT;
	case BPF_JSGE: return BPF_JSLE;
	case BPF_JSLE: return BPF_JSGE;
	default: return op;
	}
}

static uint8_t rev_op(uint8_t op)
{
	switch (op) {
	case BPF_JEQ: return BPF_JNE;
	case BPF_JNE: return BPF_JEQ;
	case BPF_JSET: return JSET_NOT;
	case JSET_NOT: return BPF_JSET;
	case BPF_JGT: return BPF_JLE;
	case BPF_JLE: return BPF_JGT;
	case BPF_JGE: return BPF_JLT;
	case BPF_JLT: return BPF_JGE;
	case BPF_JSGT: return BPF_JSLE;
	case BPF_JSLE: return BPF_JSGT;
	case BPF_JSGE: return BPF_JSLT;
	default: return BPF_JSGE; /* BPF_JSLT */
	}
}

static bool is_const(const struct vreg *r, bool is32)
{
	if (r->type != USM_SCALAR)
		return false;
	return is32 ? usm__tnum_is_const(usm__tnum_subreg(r->var_off))
		    : usm__tnum_is_const(r->var_off);
}

static uint64_t const_val(const struct vreg *r, bool is32)
{
	return is32 ? (uint32_t)r->var_off.value : r->var_off.value;
}

static bool not_null(const struct vreg *r)
{
	switch (r->type) {
	case USM_PTR_TO_SOCKET:
	case USM_PTR_TO_MAP_VALUE:
	case USM_PTR_TO_MAP_KEY:
	case USM_PTR_TO_SOCK_COMMON:
	case USM_PTR_TO_MEM:
		return true;
	default:
		return false;
	}
}

/* A view of one register at the comparison width. */
struct vview {
	struct vtnum t;
	uint64_t umin, umax;
	int64_t smin, smax;
};

static struct vview view(const struct vreg *r, bool is32)
{
	struct vview v;

	if (is32) {
		v.t = usm__tnum_subreg(r->var_off);
		v.umin = r->u32_min;
		v.umax = r->u32_max;
		v.smin = r->s32_min;
		v.smax = r->s32_max;
	} else {
		v.t = r->var_off;
		v.umin = r->umin;
		v.umax = r->umax;
		v.smin = r->smin;
		v.smax = r->smax;
	}
	return v;
}

static int eq_taken(const struct vreg *r1, const struct vreg *r2, bool is32,
		    const struct vview *a, const struct vview *b)
{
	if (usm__tnum_is_const(a->t) && usm__tnum_is_const(b->t))
		return a->t.value == b->t.value;
	if (a->umin > b->umax || a->umax < b->umin ||
	    a->smin > b->smax || a->smax < b->smin)
		return 0;
	if (!is32 && (r1->u32_min > r2->u32_max || r1->u32_max < r2->u32_min ||
		      r1->s32_min > r2->s32_max || r1->s32_max < r2->s32_min))
		return 0;
	return -1;
}

static int scalar_taken(const struct vreg *r1, const struct vreg *r2,
			uint8_t op, bool is32)
{
	struct vview a = view(r1, is32), b = view(r2, is32), tmp;
	int eq;

	switch (op) {
	case BPF_JEQ:
		return eq_taken(r1, r2, is32, &a, &b);
	case BPF_JNE:
		eq = eq_taken(r1, r2, is32, &a, &b);
		return eq < 0 ? -1 : !eq;
	case BPF_JSET:
		if (!is_const(r2, is32)) {
			tmp = a;
			a = b;
			b = tmp;
			if (!is_const(r1, is32))
				return -1;
		}
		if ((~a.t.mask & a.t.value) & b.t.value)
			return 1;
		if (!((a.t.mask | a.t.value) & b.t.value))
			return 0;
		return -1;
	case BPF_JGT:
		return a.umin > b.umax ? 1 : a.umax <= b.umin ? 0 : -1;
	case BPF_JSGT:
		return a.smin > b.smax ? 1 : a.smax <= b.smin ? 0 : -1;
	case BPF_JLT:
		return a.umax < b.umin ? 1 : a.umin >= b.umax ? 0 : -1;
	case BPF_JSLT:
		return a.smax < b.smin ? 1 : a.smin >= b.smax ? 0 : -1;
	case BPF_JGE:
		return a.umin >= b.umax ? 1 : a.umax < b.umin ? 0 : -1;
	case BPF_JSGE:
		return a.smin >= b.smax ? 1 : a.smax < b.smin ? 0 : -1;
	case BPF_JLE:
		return a.umax <= b.umin ? 1 : a.umin > b.umax ? 0 : -1;
	case BPF_JSLE:
		return a.smax <= b.smin ? 1 : a.smin > b.smax ? 0 : -1;
	default:
		return -1;
	}
}

/* pkt vs pkt_end after an earlier comparison marked pkt beyond/at end. */
static int pkt_taken(const struct vreg *d, const struct vreg *s, uint8_t op)
{
	const struct vreg *pkt;

	if (s->type == USM_PTR_TO_PACKET_END) {
		pkt = d;
	} else if (d->type == USM_PTR_TO_PACKET_END) {
		pkt = s;
		op = flip_op(op);
	} else {
		return -1;
	}
	if (pkt->range >= 0)
		return -1;
	if ((op == BPF_JLE || op == BPF_JGT) && pkt->range == VRANGE_BEYOND_END)
		return op == BPF_JGT;
	if ((op == BPF_JLT || op == BPF_JGE))
		return op == BPF_JGE;
	return -1;
}

int usm__verify_branch_taken(struct vreg *r1, struct vreg *r2, uint8_t op,
			     bool is32)
{
	if (usm__reg_is_pkt(r1) || r1->type == USM_PTR_TO_PACKET_END) {
		if ((usm__reg_is_pkt(r2) || r2->type == USM_PTR_TO_PACKET_END) &&
		    !is32)
			return pkt_taken(r1, r2, op);
	}
	if (usm__reg_is_pointer(r1) || usm__reg_is_pointer(r2)) {
		struct vreg *t;

		if (!is_const(r2, is32)) {
			op = flip_op(op);
			t = r1;
			r1 = r2;
			r2 = t;
		}
		if (!is_const(r2, is32) || r2->type != USM_SCALAR ||
		    !not_null(r1) || const_val(r2, is32) != 0)
			return -1;
		return op == BPF_JEQ ? 0 : op == BPF_JNE ? 1 : -1;
	}
	return scalar_taken(r1, r2, op, is32);
}

/* ---- refinement ---- */

static void swap_regs(struct vreg **a, struct vreg **b)
{
	struct vreg *t = *a;

	*a = *b;
	*b = t;
}

static void refine_eq(struct vreg *a, struct vreg *b, bool is32)
{
	struct vtnum t;

	if (is32) {
		a->u32_min = VMAX(a->u32_min, b->u32_min);
		a->u32_max = VMIN(a->u32_max, b->u32_max);
		a->s32_min = VMAX(a->s32_min, b->s32_min);
		a->s32_max = VMIN(a->s32_max, b->s32_max);
		b->u32_min = a->u32_min;
		b->u32_max = a->u32_max;
		b->s32_min = a->s32_min;
		b->s32_max = a->s32_max;
		t = usm__tnum_intersect(usm__tnum_subreg(a->var_off),
					usm__tnum_subreg(b->var_off));
		a->var_off = usm__tnum_with_subreg(a->var_off, t);
		b->var_off = usm__tnum_with_subreg(b->var_off, t);
		return;
	}
	a->umin = VMAX(a->umin, b->umin);
	a->umax = VMIN(a->umax, b->umax);
	a->smin = VMAX(a->smin, b->smin);
	a->smax = VMIN(a->smax, b->smax);
	b->umin = a->umin;
	b->umax = a->umax;
	b->smin = a->smin;
	b->smax = a->smax;
	a->var_off = usm__tnum_intersect(a->var_off, b->var_off);
	b->var_off = a->var_off;
}

static void refine_ne(struct vreg *a, struct vreg *b, bool is32)
{
	uint64_t v;

	if (!is_const(b, is32))
		swap_regs(&a, &b);
	if (!is_const(b, is32))
		return;
	v = const_val(b, is32);
	if (is32) {
		if (a->u32_min == (uint32_t)v) a->u32_min++;
		if (a->u32_max == (uint32_t)v) a->u32_max--;
		if (a->s32_min == (int32_t)v) a->s32_min++;
		if (a->s32_max == (int32_t)v) a->s32_max--;
		return;
	}
	if (a->umin == v) a->umin++;
	if (a->umax == v) a->umax--;
	if (a->smin == (int64_t)v) a->smin++;
	if (a->smax == (int64_t)v) a->smax--;
}

static void refine_jset(struct vreg *a, struct vreg *b, bool is32, bool taken)
{
	struct vtnum t;
	uint64_t v;

	if (!is_const(b, is32))
		swap_regs(&a, &b);
	if (!is_const(b, is32))
		return;
	v = const_val(b, is32);
	if (taken) {
		/* Only a single bit says which bit is set. */
		if (!v || (v & (v - 1)))
			return;
		t = usm__tnum_or(is32 ? usm__tnum_subreg(a->var_off) : a->var_off,
				 usm__tnum_const(v));
	} else {
		t = usm__tnum_and(is32 ? usm__tnum_subreg(a->var_off)
				       : a->var_off,
				  usm__tnum_const(~v));
	}
	a->var_off = is32 ? usm__tnum_with_subreg(a->var_off, t) : t;
}

/* a <= b (strict: a < b) */
static void refine_le(struct vreg *a, struct vreg *b, bool is32, bool sgn,
		      bool strict)
{
	int d = strict ? 1 : 0;

	if (is32 && !sgn) {
		a->u32_max = VMIN(a->u32_max, b->u32_max - d);
		b->u32_min = VMAX(a->u32_min + d, b->u32_min);
	} else if (is32) {
		a->s32_max = VMIN(a->s32_max, b->s32_max - d);
		b->s32_min = VMAX(a->s32_min + d, b->s32_min);
	} else if (!sgn) {
		a->umax = VMIN(a->umax, b->umax - d);
		b->umin = VMAX(a->umin + d, b->umin);
	} else {
		a->smax = VMIN(a->smax, b->smax - d);
		b->smin = VMAX(a->smin + d, b->smin);
	}
}

static void refine(struct vreg *a, struct vreg *b, uint8_t op, bool is32)
{
	switch (op) {
	case BPF_JGE:
	case BPF_JGT:
	case BPF_JSGE:
	case BPF_JSGT:
		op = flip_op(op);
		swap_regs(&a, &b);
		break;
	}
	switch (op) {
	case BPF_JEQ: refine_eq(a, b, is32); break;
	case BPF_JNE: refine_ne(a, b, is32); break;
	case BPF_JSET: refine_jset(a, b, is32, true); break;
	case JSET_NOT: refine_jset(a, b, is32, false); break;
	case BPF_JLE: refine_le(a, b, is32, false, false); break;
	case BPF_JLT: refine_le(a, b, is32, false, true); break;
	case BPF_JSLE: refine_le(a, b, is32, true, false); break;
	case BPF_JSLT: refine_le(a, b, is32, true, true); break;
	}
	usm__reg_bounds_sync(a);
	usm__reg_bounds_sync(b);
}

/* ---- whole-state updates ---- */

struct vsync {
	const struct vreg *known;
	uint32_t id;
	uint8_t type;
	int32_t range;
	bool is_null;
};

static void sync_linked(struct venv *env, struct vreg *r, void *arg)
{
	const struct vsync *s = arg;

	if (r->type == USM_SCALAR && r->id == s->id)
		*r = *s->known;
}

static void sync_scalar(struct venv *env, struct vstate *st,
			const struct vreg *known)
{
	struct vsync s = { .known = known, .id = known->id };

	if (known->type == USM_SCALAR && known->id)
		usm__verify_for_each_reg(env, st, sync_linked, &s);
}

static void good_pkt(struct venv *env, struct vreg *r, void *arg)
{
	const struct vsync *s = arg;

	if (r->type == s->type && r->id == s->id && r->range < s->range)
		r->range = s->range;
}

static void find_good_pkt(struct venv *env, struct vstate *st,
			  const struct vreg *d, bool right_open)
{
	struct vsync s = { .id = d->id, .type = d->type };

	if (d->off < 0 || (d->off == 0 && right_open))
		return;
	if (d->umax > VMAX_PACKET_OFF || d->umax + (uint64_t)d->off > VMAX_PACKET_OFF)
		return;
	s.range = d->off + (right_open ? 1 : 0);
	usm__verify_for_each_reg(env, st, good_pkt, &s);
}

static void mark_pkt_end(struct vstate *st, uint32_t regno, bool open)
{
	struct vreg *r = &st->frame[st->curframe]->regs[regno];

	if (r->type == USM_PTR_TO_PACKET)
		r->range = open ? VRANGE_BEYOND_END : VRANGE_AT_END;
}

static bool is_init_pkt(const struct vreg *r)
{
	return r->type == USM_PTR_TO_PACKET && r->off == 0 &&
	       usm__tnum_equals_const(r->var_off, 0);
}

/* The four kernel cases per op: which side gets the range. */
static bool match_pkt(struct venv *env, const struct bpf_insn *i,
		      struct vstate *this_st, struct vstate *other)
{
	struct vreg *regs = vcur_regs(env);
	struct vreg *d = &regs[i->dst_reg], *s = &regs[i->src_reg];
	uint8_t op = BPF_OP(i->code);
	bool dfirst, gt_like, open;

	if (!usm_insn_src_is_reg(i->code) || BPF_CLASS(i->code) == BPF_JMP32)
		return false;
	if ((d->type == USM_PTR_TO_PACKET && s->type == USM_PTR_TO_PACKET_END) ||
	    (d->type == USM_PTR_TO_PACKET_META && is_init_pkt(s)))
		dfirst = true;
	else if ((d->type == USM_PTR_TO_PACKET_END &&
		  s->type == USM_PTR_TO_PACKET) ||
		 (is_init_pkt(d) && s->type == USM_PTR_TO_PACKET_META))
		dfirst = false;
	else
		return false;
	if (op != BPF_JGT && op != BPF_JLT && op != BPF_JGE && op != BPF_JLE)
		return false;
	if (!dfirst)
		op = flip_op(op);
	/* Now "pkt' op end": GT/GE jump when out of range. */
	gt_like = op == BPF_JGT || op == BPF_JGE;
	open = op == BPF_JGE || op == BPF_JLT;
	find_good_pkt(env, gt_like ? this_st : other, dfirst ? d : s, open);
	mark_pkt_end(gt_like ? other : this_st, dfirst ? i->dst_reg : i->src_reg,
		     op == BPF_JGT || op == BPF_JLE);
	return true;
}

static void null_mark(struct venv *env, struct vreg *r, void *arg)
{
	const struct vsync *s = arg;

	if (!usm__reg_may_be_null(r->type) || r->id != s->id)
		return;
	if (s->is_null) {
		usm__reg_mark_known(r, 0);
		return;
	}
	switch (r->type) {
	case USM_PTR_TO_MAP_VALUE_OR_NULL:
		if (r->map->inner_meta) {
			r->type = USM_CONST_PTR_TO_MAP;
			r->map = r->map->inner_meta;
		} else if (r->map->map_type == BPF_MAP_TYPE_SOCKMAP ||
			   r->map->map_type == BPF_MAP_TYPE_SOCKHASH) {
			r->type = USM_PTR_TO_SOCKET;
		} else {
			r->type = USM_PTR_TO_MAP_VALUE;
		}
		break;
	case USM_PTR_TO_SOCKET_OR_NULL:
		r->type = USM_PTR_TO_SOCKET;
		break;
	case USM_PTR_TO_SOCK_COMMON_OR_NULL:
		r->type = USM_PTR_TO_SOCK_COMMON;
		break;
	default:
		r->type = USM_PTR_TO_MEM;
		break;
	}
	r->id = 0;
}

/* mark_ptr_or_null_regs: every copy (same id) in @st. */
static void mark_null(struct venv *env, struct vstate *st, uint32_t regno,
		      bool is_null)
{
	struct vreg *r = &st->frame[st->curframe]->regs[regno];
	struct vsync s = { .id = r->id, .is_null = is_null };
	struct vstate *saved = env->cur;

	if (r->ref_obj_id && r->ref_obj_id == r->id && is_null) {
		env->cur = st;
		usm__vstate_release_ref(env, r->id);
		env->cur = saved;
	}
	usm__verify_for_each_reg(env, st, null_mark, &s);
}


/* ---- the instruction ---- */

static int jmp_operands(struct venv *env, const struct bpf_insn *i,
			struct vreg *k, struct vreg **src)
{
	struct vreg *regs = vcur_regs(env);
	int err;

	if ((err = usm__verify_check_reg(env, i->dst_reg, false)))
		return err;
	if (!usm_insn_src_is_reg(i->code)) {
		if (i->src_reg)
			return usm__verify_err(env, -EINVAL,
					       "BPF_JMP/JMP32 uses reserved fields");
		usm__reg_mark_known(k, (uint64_t)(int64_t)i->imm);
		*src = k;
		return 0;
	}
	if (i->imm)
		return usm__verify_err(env, -EINVAL,
				       "BPF_JMP/JMP32 uses reserved fields");
	if ((err = usm__verify_check_reg(env, i->src_reg, false)))
		return err;
	*src = &regs[i->src_reg];
	if (!((usm__reg_is_pkt(&regs[i->dst_reg]) ||
	       regs[i->dst_reg].type == USM_PTR_TO_PACKET_END) &&
	      (usm__reg_is_pkt(*src) || (*src)->type == USM_PTR_TO_PACKET_END)) &&
	    usm__verify_is_leak(env, *src))
		return usm__verify_err(env, -EACCES,
				       "R%d pointer comparison prohibited",
				       i->src_reg);
	return 0;
}

/* Refine both sides and their linked copies. */
static void learn(struct venv *env, const struct bpf_insn *i,
		  struct vstate *other, struct vreg *k)
{
	struct vreg *regs = vcur_regs(env);
	struct vreg *oregs = other->frame[other->curframe]->regs;
	bool is32 = BPF_CLASS(i->code) == BPF_JMP32;
	uint8_t op = BPF_OP(i->code);
	struct vreg k2 = *k, *fs, *ts;

	fs = usm_insn_src_is_reg(i->code) ? &regs[i->src_reg] : k;
	ts = usm_insn_src_is_reg(i->code) ? &oregs[i->src_reg] : &k2;
	if (regs[i->dst_reg].type != USM_SCALAR || fs->type != USM_SCALAR)
		return;
	refine(&regs[i->dst_reg], fs, rev_op(op), is32);
	refine(&oregs[i->dst_reg], ts, op, is32);
	if (usm_insn_src_is_reg(i->code)) {
		sync_scalar(env, env->cur, &regs[i->src_reg]);
		sync_scalar(env, other, &oregs[i->src_reg]);
	}
	sync_scalar(env, env->cur, &regs[i->dst_reg]);
	sync_scalar(env, other, &oregs[i->dst_reg]);
}

int usm__verify_cond_jmp(struct venv *env, const struct bpf_insn *i,
			 uint32_t *next)
{
	struct vreg k, *src = NULL, *dst;
	struct vstate *other;
	uint8_t op = BPF_OP(i->code);
	bool is32 = BPF_CLASS(i->code) == BPF_JMP32;
	uint32_t target = env->insn_idx + 1 + (uint32_t)(int32_t)i->off;
	int pred, err;

	if ((err = jmp_operands(env, i, &k, &src)))
		return err;
	dst = &vcur_regs(env)[i->dst_reg];
	pred = usm__verify_branch_taken(dst, src, op, is32);
	if (pred >= 0 &&
	    ((err = usm__verify_mark_precise(env, i->dst_reg)) ||
	     (usm_insn_src_is_reg(i->code) &&
	      (err = usm__verify_mark_precise(env, i->src_reg)))))
		return err;
	if (pred == 1) {
		*next = target;
		return 0;
	}
	if (pred == 0)
		return 0;
	if ((dst->type == USM_SCALAR && dst->id) ||
	    (src->type == USM_SCALAR && src->id && usm_insn_src_is_reg(i->code)))
		env->pend.flags |= VH_LINKED;
	other = usm__verify_push(env, target, env->insn_idx, &err);
	if (!other)
		return err;
	learn(env, i, other, &k);
	dst = &vcur_regs(env)[i->dst_reg];
	if (!is32 && !usm_insn_src_is_reg(i->code) && i->imm == 0 &&
	    (op == BPF_JEQ || op == BPF_JNE) && usm__reg_may_be_null(dst->type)) {
		mark_null(env, env->cur, i->dst_reg, op == BPF_JNE);
		mark_null(env, other, i->dst_reg, op == BPF_JEQ);
	} else if (!match_pkt(env, i, env->cur, other) &&
		   usm__verify_is_leak(env, dst)) {
		return usm__verify_err(env, -EACCES,
				       "R%d pointer comparison prohibited",
				       i->dst_reg);
	}
	return 0;
}
