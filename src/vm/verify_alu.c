/* SPDX-License-Identifier: MIT */
/*
 * ALU instructions: field checks, moves, scalar range arithmetic and
 * pointer arithmetic, as the kernel's check_alu_op /
 * adjust_reg_min_max_vals / adjust_ptr_min_max_vals.
 *
 * Pointer arithmetic keeps the pointer's type and splits the offset into a
 * fixed part (off) and a variable part (the scalar fields of the register).
 * Only the kernel's allowed combinations are accepted: pointer +/- scalar
 * for ctx, stack, map values, packet and mem pointers, map_ptr + 0; never
 * on maybe-NULL pointers, pkt_end or sockets; 32-bit and bitwise ops on
 * pointers are refused. For a loader without CAP_PERFMON (env->priv false)
 * the kernel also refuses arithmetic it could not mask against Spectre v1;
 * we apply the same refusals (without simulating the speculative paths).
 */
#include "verify.h"

#include <string.h>

#include "../maps/map.h"

#define ALU_SAN_SRC 1u
#define ALU_SAN_DST 2u
#define ALU_NEG     4u
#define ALU_NONPTR  8u
#define ALU_IMM     16u

static const char *const alu_names[16] = {
	"+=", "-=", "*=", "/=", "|=", "&=", "<<=", ">>=",
	"neg", "%=", "^=", "=", "s>>=", "endian", "?", "?",
};

bool usm__verify_is_leak(const struct venv *env, const struct vreg *r)
{
	return !env->priv && usm__reg_is_pointer(r);
}

static int alu_fields(struct venv *env, const struct bpf_insn *i)
{
	uint8_t op = BPF_OP(i->code);
	bool x = usm_insn_src_is_reg(i->code);

	if (op == BPF_NEG) {
		if (x || i->src_reg || i->off || i->imm)
			return usm__verify_err(env, -EINVAL,
					       "BPF_NEG uses reserved fields");
		return 0;
	}
	if (op == BPF_END) {
		if (i->src_reg || i->off ||
		    (i->imm != 16 && i->imm != 32 && i->imm != 64))
			return usm__verify_err(env, -EINVAL,
					       "BPF_END uses reserved fields");
		return 0;
	}
	if (op == BPF_MOV) {
		bool ok;

		if (!x)
			ok = !i->src_reg && !i->off;
		else if (usm_insn_is_alu64(i->code))
			ok = !i->imm && (i->off == 0 || i->off == 8 ||
					 i->off == 16 || i->off == 32);
		else
			ok = !i->imm &&
			     (i->off == 0 || i->off == 8 || i->off == 16);
		return ok ? 0 : usm__verify_err(env, -EINVAL,
						"BPF_MOV uses reserved fields");
	}
	if ((x && i->imm) || (!x && i->src_reg) ||
	    (i->off != 0 && i->off != 1) ||
	    (i->off == 1 && op != BPF_DIV && op != BPF_MOD))
		return usm__verify_err(env, -EINVAL,
				       "BPF_ALU uses reserved fields");
	return 0;
}

/* Give a scalar an identity before it is copied, so that bounds learnt
 * on one copy reach the others (the kernel's linked registers). */
static void link_scalar(struct venv *env, struct vreg *r)
{
	if (r->type == USM_SCALAR && !r->id &&
	    !usm__tnum_is_const(r->var_off))
		r->id = ++env->id_gen;
}

static int do_mov64_x(struct venv *env, const struct bpf_insn *i)
{
	struct vreg *regs = vcur_regs(env);
	struct vreg *src = &regs[i->src_reg], *dst = &regs[i->dst_reg];
	bool no_sext;

	if (i->off == 0) {
		link_scalar(env, src);
		*dst = *src;
		return 0;
	}
	if (usm__verify_is_leak(env, src))
		return usm__verify_err(env, -EACCES,
				       "R%d sign-extension part of pointer",
				       i->src_reg);
	if (src->type != USM_SCALAR) {
		usm__reg_mark_unknown(dst);
		return 0;
	}
	no_sext = src->umax < (1ull << (i->off - 1));
	if (no_sext)
		link_scalar(env, src);
	*dst = *src;
	if (!no_sext)
		dst->id = 0;
	usm__reg_coerce_size_sx(dst, i->off >> 3);
	return 0;
}

static int do_mov32_x(struct venv *env, const struct bpf_insn *i)
{
	struct vreg *regs = vcur_regs(env);
	struct vreg *src = &regs[i->src_reg], *dst = &regs[i->dst_reg];

	if (usm__verify_is_leak(env, src))
		return usm__verify_err(env, -EACCES,
				       "R%d partial copy of pointer",
				       i->src_reg);
	if (src->type != USM_SCALAR) {
		usm__reg_mark_unknown(dst);
	} else if (i->off == 0) {
		bool fits = usm__reg_width(src) <= 32;

		if (fits)
			link_scalar(env, src);
		*dst = *src;
		if (!fits)
			dst->id = 0;
	} else {
		bool no_sext = src->umax < (1ull << (i->off - 1));

		if (no_sext)
			link_scalar(env, src);
		*dst = *src;
		if (!no_sext)
			dst->id = 0;
		usm__reg_coerce_subreg_sx(dst, i->off >> 3);
		return 0;
	}
	usm__reg_zext_32_to_64(dst);
	usm__reg_bounds_sync(dst);
	return 0;
}

static int do_mov(struct venv *env, const struct bpf_insn *i)
{
	struct vreg *dst = &vcur_regs(env)[i->dst_reg];
	int err;

	if (usm_insn_src_is_reg(i->code)) {
		err = usm__verify_check_reg(env, i->src_reg, false);
		if (err)
			return err;
	}
	err = usm__verify_check_reg(env, i->dst_reg, true);
	if (err)
		return err;
	if (usm_insn_src_is_reg(i->code))
		return usm_insn_is_alu64(i->code) ? do_mov64_x(env, i)
						  : do_mov32_x(env, i);
	if (usm_insn_is_alu64(i->code))
		usm__reg_mark_known(dst, (uint64_t)(int64_t)i->imm);
	else
		usm__reg_mark_known(dst, (uint32_t)i->imm);
	return 0;
}

/* NEG and END: the result is an unknown scalar (Linux 6.12 tracks no
 * bounds through them). */
static int do_neg_end(struct venv *env, const struct bpf_insn *i)
{
	int err = usm__verify_check_reg(env, i->dst_reg, false);

	if (err)
		return err;
	if (usm__verify_is_leak(env, &vcur_regs(env)[i->dst_reg]))
		return usm__verify_err(env, -EACCES,
				       "R%d pointer arithmetic prohibited",
				       i->dst_reg);
	err = usm__verify_check_reg(env, i->dst_reg, true);
	if (err)
		return err;
	usm__reg_mark_unknown(&vcur_regs(env)[i->dst_reg]);
	return 0;
}

/* ---- pointer arithmetic ---- */

static int sane_offset(struct venv *env, const struct vreg *r, uint8_t type)
{
	const char *t = usm__verify_type_name(type);
	bool known = usm__tnum_is_const(r->var_off);
	int64_t val = (int64_t)r->var_off.value;

	if (known && (val >= VMAX_VAR_OFF || val <= -VMAX_VAR_OFF))
		return usm__verify_err(env, -EINVAL,
				       "math between %s pointer and %lld is not allowed",
				       t, (long long)val);
	if (r->off >= VMAX_VAR_OFF || r->off <= -VMAX_VAR_OFF)
		return usm__verify_err(env, -EINVAL,
				       "%s pointer offset %d is not allowed", t,
				       r->off);
	if (r->smin == INT64_MIN)
		return usm__verify_err(env, -EINVAL,
				       "math between %s pointer and register with unbounded min value is not allowed",
				       t);
	if (r->smin >= VMAX_VAR_OFF || r->smin <= -VMAX_VAR_OFF)
		return usm__verify_err(env, -EINVAL,
				       "value %lld makes %s pointer be out of bounds",
				       (long long)r->smin, t);
	return 0;
}

static bool ptr_math_ok(const struct vreg *ptr, const struct vreg *off,
			uint8_t op)
{
	switch (ptr->type) {
	case USM_PTR_TO_CTX:
	case USM_PTR_TO_MAP_VALUE:
	case USM_PTR_TO_MAP_KEY:
	case USM_PTR_TO_STACK:
	case USM_PTR_TO_PACKET_META:
	case USM_PTR_TO_PACKET:
	case USM_PTR_TO_MEM:
		return true;
	case USM_CONST_PTR_TO_MAP:
		return op == BPF_ADD && usm__tnum_equals_const(off->var_off, 0);
	default:
		return false;
	}
}

/* How far a stack or map value pointer may move (retrieve_ptr_limit);
 * negative reason on failure. */
static int ptr_limit(const struct vreg *p, bool left, uint32_t *limit)
{
	uint32_t max, lim;

	if (p->type == USM_PTR_TO_STACK) {
		max = USM_STACK_SIZE + left;
		lim = (uint32_t)-(int64_t)(p->var_off.value + (uint64_t)p->off);
	} else if (p->type == USM_PTR_TO_MAP_VALUE) {
		max = p->map->value_size;
		lim = (uint32_t)((left ? (uint64_t)p->smin : p->umax) +
				 (uint64_t)p->off);
	} else {
		return -2;
	}
	if (lim >= max)
		return -4;
	*limit = lim;
	return 0;
}

static int san_err(struct venv *env, const struct bpf_insn *i, int reason,
		   bool off_is_dst)
{
	static const char *tail = "pointer arithmetic with it prohibited for !root";
	const char *op = BPF_OP(i->code) == BPF_ADD ? "add" : "sub";

	switch (reason) {
	case -1:
		return usm__verify_err(env, -EACCES,
				       "R%d has unknown scalar with mixed signed bounds, %s",
				       off_is_dst ? i->dst_reg : i->src_reg, tail);
	case -2:
		return usm__verify_err(env, -EACCES,
				       "R%d has pointer with unsupported alu operation, %s",
				       off_is_dst ? i->src_reg : i->dst_reg, tail);
	case -3:
		return usm__verify_err(env, -EACCES,
				       "R%d tried to %s from different maps, paths or scalars, %s",
				       i->dst_reg, op, tail);
	default:
		return usm__verify_err(env, -EACCES,
				       "R%d tried to %s beyond pointer bounds, %s",
				       i->dst_reg, op, tail);
	}
}

static int san_update(struct vaux *aux, uint8_t state, uint32_t limit)
{
	if (aux->alu_state && (aux->alu_state != state ||
			       aux->alu_limit != limit))
		return -3;
	aux->alu_state = state;
	aux->alu_limit = limit;
	return 0;
}

/* Spectre v1 bounds a !root loader's result must stay in
 * (sanitize_check_bounds). */
static int san_check_bounds(struct venv *env, uint32_t dst,
			    const struct vreg *d)
{
	if (env->priv)
		return 0;
	if (d->type == USM_PTR_TO_STACK) {
		int off = d->off + (int)d->var_off.value;
		char tn[48];

		if (!usm__tnum_is_const(d->var_off)) {
			usm__tnum_sbin(tn, sizeof(tn), d->var_off);
			return usm__verify_err(env, -EACCES,
					       "R%d variable stack access prohibited for !root, var_off=%s off=%d",
					       dst, tn, off);
		}
		if (off >= 0 || off < -(int)USM_STACK_SIZE)
			return usm__verify_err(env, -EACCES,
					       "R%d stack pointer arithmetic goes out of range, prohibited for !root; off=%d",
					       dst, off);
	} else if (d->type == USM_PTR_TO_MAP_VALUE) {
		if (d->smin < 0 || d->off + d->smin < 0 ||
		    d->umax >= (uint64_t)VMAX_VAR_OFF ||
		    (uint64_t)d->off + d->umax + 1 > d->map->value_size)
			return usm__verify_err(env, -EACCES,
					       "R%d pointer arithmetic of map value goes out of range, prohibited for !root",
					       dst);
	}
	return 0;
}

static void ptr_add(struct venv *env, struct vreg *d, const struct vreg *p,
		    const struct vreg *o)
{
	bool known = usm__tnum_is_const(o->var_off);

	if (known && (int64_t)p->off + o->smin == (int32_t)(p->off + o->smin)) {
		d->off = (int32_t)(p->off + o->smin);
		return;
	}
	if (__builtin_add_overflow(p->smin, o->smin, &d->smin) ||
	    __builtin_add_overflow(p->smax, o->smax, &d->smax)) {
		d->smin = INT64_MIN;
		d->smax = INT64_MAX;
	}
	if (__builtin_add_overflow(p->umin, o->umin, &d->umin) ||
	    __builtin_add_overflow(p->umax, o->umax, &d->umax)) {
		d->umin = 0;
		d->umax = UINT64_MAX;
	}
	d->var_off = usm__tnum_add(p->var_off, o->var_off);
	if (usm__reg_is_pkt(p)) {
		d->id = ++env->id_gen;
		d->range = 0;
	}
}

static void ptr_sub(struct venv *env, struct vreg *d, const struct vreg *p,
		    const struct vreg *o)
{
	bool known = usm__tnum_is_const(o->var_off);

	if (known && (int64_t)p->off - o->smin == (int32_t)(p->off - o->smin)) {
		d->off = (int32_t)(p->off - o->smin);
		return;
	}
	if (__builtin_sub_overflow(p->smin, o->smax, &d->smin) ||
	    __builtin_sub_overflow(p->smax, o->smin, &d->smax)) {
		d->smin = INT64_MIN;
		d->smax = INT64_MAX;
	}
	if (p->umin < o->umax) {
		d->umin = 0;
		d->umax = UINT64_MAX;
	} else {
		d->umin = p->umin - o->umax;
		d->umax = p->umax - o->umin;
	}
	d->var_off = usm__tnum_sub(p->var_off, o->var_off);
	if (usm__reg_is_pkt(p)) {
		d->id = ++env->id_gen;
		if (o->smin < 0)
			d->range = 0;
	}
}

static int ptr_type_refused(struct venv *env, const struct bpf_insn *i,
			    const struct vreg *p)
{
	if (usm__reg_may_be_null(p->type))
		return usm__verify_err(env, -EACCES,
				       "R%d pointer arithmetic on %s prohibited, null-check it first",
				       i->dst_reg, usm__verify_type_name(p->type));
	return usm__verify_err(env, -EACCES,
			       "R%d pointer arithmetic on %s prohibited",
			       i->dst_reg, usm__verify_type_name(p->type));
}

static int ptr_op_refused(struct venv *env, const struct bpf_insn *i,
			  uint8_t op)
{
	if (op == BPF_AND || op == BPF_OR || op == BPF_XOR)
		return usm__verify_err(env, -EACCES,
				       "R%d bitwise operator %s on pointer prohibited",
				       i->dst_reg, alu_names[op >> 4]);
	return usm__verify_err(env, -EACCES,
			       "R%d pointer arithmetic with %s operator prohibited",
			       i->dst_reg, alu_names[op >> 4]);
}

/* Spectre v1 checks before the op; fills *lim_before. */
static int san_before(struct venv *env, const struct bpf_insn *i,
		      const struct vreg *p, const struct vreg *o, bool left,
		      uint32_t *lim_before, bool off_is_dst)
{
	int r;

	if (!usm__tnum_is_const(o->var_off) && (o->smin < 0) != (o->smax < 0))
		return san_err(env, i, -1, off_is_dst);
	r = ptr_limit(p, left, lim_before);
	return r ? san_err(env, i, r, off_is_dst) : 0;
}

static int san_after(struct venv *env, const struct bpf_insn *i,
		     const struct vreg *d, const struct vreg *o, bool left,
		     uint32_t before, bool ptr_is_dst)
{
	uint32_t after;
	uint8_t state;
	int r = ptr_limit(d, left, &after);

	if (r)
		return san_err(env, i, r, !ptr_is_dst);
	state = (o->smin < 0 ? ALU_NEG : 0) |
		(usm__tnum_is_const(o->var_off) ? ALU_IMM : 0) |
		(ptr_is_dst ? ALU_SAN_SRC : ALU_SAN_DST);
	r = san_update(&env->aux[env->insn_idx], state,
		       before > after ? before - after : after - before);
	return r ? san_err(env, i, r, !ptr_is_dst) : 0;
}

/* pointer +/- scalar (either operand order for +). */
static int ptr_do_op(struct venv *env, const struct bpf_insn *i,
		     struct vreg *d, const struct vreg *p, const struct vreg *o,
		     bool ptr_is_dst)
{
	uint8_t op = BPF_OP(i->code);

	if (op == BPF_ADD) {
		ptr_add(env, d, p, o);
		return 0;
	}
	if (op != BPF_SUB)
		return ptr_op_refused(env, i, op);
	if (!ptr_is_dst)
		return usm__verify_err(env, -EACCES,
				       "R%d tried to subtract pointer from scalar",
				       i->dst_reg);
	if (p->type == USM_PTR_TO_STACK)
		return usm__verify_err(env, -EACCES,
				       "R%d subtraction from stack pointer prohibited",
				       i->dst_reg);
	ptr_sub(env, d, p, o);
	return 0;
}

static int ptr_math(struct venv *env, const struct bpf_insn *i,
		    const struct vreg *ptr_in, const struct vreg *off_in)
{
	struct vreg p = *ptr_in, o = *off_in;
	struct vreg *d = &vcur_regs(env)[i->dst_reg];
	uint8_t op = BPF_OP(i->code);
	bool ptr_is_dst = ptr_in == d, san, left;
	uint32_t before = 0;
	int err;

	if ((usm__tnum_is_const(o.var_off) &&
	     (o.smin != o.smax || o.umin != o.umax)) ||
	    o.smin > o.smax || o.umin > o.umax) {
		usm__reg_mark_unknown(d);
		return 0;
	}
	if (!usm_insn_is_alu64(i->code)) {
		if (op == BPF_SUB && env->priv) {
			usm__reg_mark_unknown(d);
			return 0;
		}
		return usm__verify_err(env, -EACCES,
				       "R%d 32-bit pointer arithmetic prohibited",
				       i->dst_reg);
	}
	if (usm__reg_may_be_null(p.type) || !ptr_math_ok(&p, &o, op))
		return ptr_type_refused(env, i, &p);
	*d = p;
	if ((err = sane_offset(env, &o, p.type)) ||
	    (err = sane_offset(env, &p, p.type)))
		return err;
	san = !env->priv && usm_insn_src_is_reg(i->code) &&
	      (op == BPF_ADD || op == BPF_SUB);
	if (san && !usm__tnum_is_const(o.var_off))
		env->explore_alu_limits = true;
	left = (op == BPF_ADD && o.smin < 0) || (op == BPF_SUB && o.smin >= 0);
	if (san && (err = san_before(env, i, &p, &o, left, &before,
				     !ptr_is_dst)))
		return err;
	usm__reg_mark32_unbounded(d);
	if ((err = ptr_do_op(env, i, d, &p, &o, ptr_is_dst)))
		return err;
	if ((err = sane_offset(env, d, p.type)))
		return err;
	usm__reg_bounds_sync(d);
	if ((err = san_check_bounds(env, i->dst_reg, d)))
		return err;
	return san ? san_after(env, i, d, &o, left, before, ptr_is_dst) : 0;
}

static int do_arith(struct venv *env, const struct bpf_insn *i)
{
	struct vreg *regs = vcur_regs(env);
	struct vreg *dst = &regs[i->dst_reg], *src, k;
	uint8_t op = BPF_OP(i->code);
	bool alu32 = !usm_insn_is_alu64(i->code);
	int err;

	if (usm_insn_src_is_reg(i->code)) {
		src = &regs[i->src_reg];
	} else {
		usm__reg_mark_known(&k, (uint64_t)(int64_t)i->imm);
		src = &k;
	}
	if (dst->type != USM_SCALAR && src->type != USM_SCALAR) {
		if (op == BPF_SUB && env->priv) {
			usm__reg_mark_unknown(dst);
			return 0;
		}
		return usm__verify_err(env, -EACCES,
				       "R%d pointer %s pointer prohibited",
				       i->dst_reg, alu_names[op >> 4]);
	}
	if (dst->type != USM_SCALAR) {
		if (usm_insn_src_is_reg(i->code) &&
		    (err = usm__verify_mark_precise(env, i->src_reg)))
			return err;
		return ptr_math(env, i, dst, src);
	}
	dst->id = 0;
	if (src->type != USM_SCALAR) {
		if ((err = usm__verify_mark_precise(env, i->dst_reg)))
			return err;
		return ptr_math(env, i, src, dst);
	}
	if (!env->priv && usm_insn_src_is_reg(i->code) &&
	    (op == BPF_ADD || op == BPF_SUB) &&
	    san_update(&env->aux[env->insn_idx], ALU_NONPTR, 0))
		return san_err(env, i, -3, false);
	k = *src;
	usm__verify_scalar_op(dst, &k, op, alu32);
	return 0;
}

int usm__verify_alu(struct venv *env, const struct bpf_insn *i)
{
	uint8_t op = BPF_OP(i->code);
	int err = alu_fields(env, i);

	if (err)
		return err;
	if (op == BPF_NEG || op == BPF_END)
		return do_neg_end(env, i);
	if (op == BPF_MOV)
		return do_mov(env, i);
	if (usm_insn_src_is_reg(i->code) &&
	    (err = usm__verify_check_reg(env, i->src_reg, false)))
		return err;
	if ((err = usm__verify_check_reg(env, i->dst_reg, false)))
		return err;
	if ((op == BPF_DIV || op == BPF_MOD) && !usm_insn_src_is_reg(i->code) &&
	    i->imm == 0)
		return usm__verify_err(env, -EINVAL, "div by zero");
	if ((op == BPF_LSH || op == BPF_RSH || op == BPF_ARSH) &&
	    !usm_insn_src_is_reg(i->code) &&
	    (i->imm < 0 || i->imm >= (usm_insn_is_alu64(i->code) ? 64 : 32)))
		return usm__verify_err(env, -EINVAL, "invalid shift %d", i->imm);
	if ((err = usm__verify_check_reg(env, i->dst_reg, true)))
		return err;
	return do_arith(env, i);
}
