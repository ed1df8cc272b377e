/* SPDX-License-Identifier: MIT */
/*
 * Range arithmetic on scalars: given what is known about two operands,
 * what is known about the result of an ALU op, in all five views (known
 * bits, u64/s64/u32/s32 ranges), as the kernel's scalar*_min_max_* helpers.
 * Any op that could wrap a range makes that range unbounded; shifts are
 * tracked only by a constant in range and div/mod/neg/end results are
 * unknown (Linux 6.12 tracks none of those).
 */
#include "verify.h"


static void add32(struct vreg *d, const struct vreg *s)
{
	int32_t a, b;
	uint32_t c, e;

	if (__builtin_add_overflow(d->s32_min, s->s32_min, &a) ||
	    __builtin_add_overflow(d->s32_max, s->s32_max, &b)) {
		d->s32_min = INT32_MIN;
		d->s32_max = INT32_MAX;
	} else {
		d->s32_min = a;
		d->s32_max = b;
	}
	if (__builtin_add_overflow(d->u32_min, s->u32_min, &c) ||
	    __builtin_add_overflow(d->u32_max, s->u32_max, &e)) {
		d->u32_min = 0;
		d->u32_max = UINT32_MAX;
	} else {
		d->u32_min = c;
		d->u32_max = e;
	}
}

static void add64(struct vreg *d, const struct vreg *s)
{
	int64_t a, b;
	uint64_t c, e;

	if (__builtin_add_overflow(d->smin, s->smin, &a) ||
	    __builtin_add_overflow(d->smax, s->smax, &b)) {
		d->smin = INT64_MIN;
		d->smax = INT64_MAX;
	} else {
		d->smin = a;
		d->smax = b;
	}
	if (__builtin_add_overflow(d->umin, s->umin, &c) ||
	    __builtin_add_overflow(d->umax, s->umax, &e)) {
		d->umin = 0;
		d->umax = UINT64_MAX;
	} else {
		d->umin = c;
		d->umax = e;
	}
}

static void sub32(struct vreg *d, const struct vreg *s)
{
	int32_t a, b;

	if (__builtin_sub_overflow(d->s32_min, s->s32_max, &a) ||
	    __builtin_sub_overflow(d->s32_max, s->s32_min, &b)) {
		d->s32_min = INT32_MIN;
		d->s32_max = INT32_MAX;
	} else {
		d->s32_min = a;
		d->s32_max = b;
	}
	if (d->u32_min < s->u32_max) {
		d->u32_min = 0;
		d->u32_max = UINT32_MAX;
	} else {
		d->u32_min -= s->u32_max;
		d->u32_max -= s->u32_min;
	}
}

static void sub64(struct vreg *d, const struct vreg *s)
{
	int64_t a, b;

	if (__builtin_sub_overflow(d->smin, s->smax, &a) ||
	    __builtin_sub_overflow(d->smax, s->smin, &b)) {
		d->smin = INT64_MIN;
		d->smax = INT64_MAX;
	} else {
		d->smin = a;
		d->smax = b;
	}
	if (d->umin < s->umax) {
		d->umin = 0;
		d->umax = UINT64_MAX;
	} else {
		d->umin -= s->umax;
		d->umax -= s->umin;
	}
}

/* Multiplication keeps bounds only when nothing can overflow. */
static void mul32(struct vreg *d, const struct vreg *s)
{
	uint32_t lo, hi;

	if (d->s32_min < 0 || s->s32_min < 0 ||
	    __builtin_mul_overflow(d->u32_max, s->u32_max, &hi)) {
		usm__reg_mark32_unbounded(d);
		return;
	}
	lo = d->u32_min * s->u32_min;
	d->u32_min = lo;
	d->u32_max = hi;
	if (hi > (uint32_t)INT32_MAX) {
		d->s32_min = INT32_MIN;
		d->s32_max = INT32_MAX;
	} else {
		d->s32_min = (int32_t)lo;
		d->s32_max = (int32_t)hi;
	}
}

static void mul64(struct vreg *d, const struct vreg *s)
{
	uint64_t lo, hi;

	if (d->smin < 0 || s->smin < 0 ||
	    __builtin_mul_overflow(d->umax, s->umax, &hi)) {
		usm__reg_mark64_unbounded(d);
		return;
	}
	lo = d->umin * s->umin;
	d->umin = lo;
	d->umax = hi;
	if (hi > (uint64_t)INT64_MAX) {
		d->smin = INT64_MIN;
		d->smax = INT64_MAX;
	} else {
		d->smin = (int64_t)lo;
		d->smax = (int64_t)hi;
	}
}

/* Signed bounds from unsigned ones when they do not cross the sign. */
static void signed_from_unsigned(struct vreg *d)
{
	if ((int64_t)d->umin <= (int64_t)d->umax) {
		d->smin = (int64_t)d->umin;
		d->smax = (int64_t)d->umax;
	} else {
		d->smin = INT64_MIN;
		d->smax = INT64_MAX;
	}
	if ((int32_t)d->u32_min <= (int32_t)d->u32_max) {
		d->s32_min = (int32_t)d->u32_min;
		d->s32_max = (int32_t)d->u32_max;
	} else {
		d->s32_min = INT32_MIN;
		d->s32_max = INT32_MAX;
	}
}

/* AND/OR/XOR: var_off is already the op's result. */
static void bitwise(struct vreg *d, const struct vreg *s, uint8_t op)
{
	struct vtnum t = d->var_off, t32 = usm__tnum_subreg(t);

	if (usm__tnum_is_const(t)) {
		usm__reg_mark_known(d, t.value);
		return;
	}
	if (op == BPF_AND) {
		d->umin = t.value;
		d->umax = d->umax < s->umax ? d->umax : s->umax;
		d->u32_min = (uint32_t)t32.value;
		d->u32_max = d->u32_max < s->u32_max ? d->u32_max : s->u32_max;
	} else if (op == BPF_OR) {
		d->umin = d->umin > s->umin ? d->umin : s->umin;
		d->umax = t.value | t.mask;
		d->u32_min = d->u32_min > s->u32_min ? d->u32_min : s->u32_min;
		d->u32_max = (uint32_t)(t32.value | t32.mask);
	} else {
		d->umin = t.value;
		d->umax = t.value | t.mask;
		d->u32_min = (uint32_t)t32.value;
		d->u32_max = (uint32_t)(t32.value | t32.mask);
	}
	signed_from_unsigned(d);
	usm__reg_update_bounds(d);
}

static void lsh(struct vreg *d, uint8_t sh, bool alu32)
{
	if (alu32) {
		struct vtnum sub = usm__tnum_subreg(d->var_off);

		d->s32_min = INT32_MIN;
		d->s32_max = INT32_MAX;
		if (d->u32_max > (1ull << (31 - sh))) {
			d->u32_min = 0;
			d->u32_max = UINT32_MAX;
		} else {
			d->u32_min <<= sh;
			d->u32_max <<= sh;
		}
		d->var_off = usm__tnum_subreg(usm__tnum_lshift(sub, sh));
		usm__reg_mark64_unbounded(d);
		return;
	}
	d->smax = (sh == 32 && d->s32_max >= 0) ? (int64_t)d->s32_max << 32
						: INT64_MAX;
	d->smin = (sh == 32 && d->s32_min >= 0) ? (int64_t)d->s32_min << 32
						: INT64_MIN;
	if (d->umax > (1ull << (63 - sh))) {
		d->umin = 0;
		d->umax = UINT64_MAX;
	} else {
		d->umin <<= sh;
		d->umax <<= sh;
	}
	d->s32_min = INT32_MIN;
	d->s32_max = INT32_MAX;
	if (sh > 31 || d->u32_max > (1ull << (31 - sh))) {
		d->u32_min = 0;
		d->u32_max = UINT32_MAX;
	} else {
		d->u32_min <<= sh;
		d->u32_max <<= sh;
	}
	d->var_off = usm__tnum_lshift(d->var_off, sh);
	usm__reg_update_bounds(d);
}

static void rsh(struct vreg *d, uint8_t sh, bool alu32)
{
	if (alu32) {
		struct vtnum sub = usm__tnum_subreg(d->var_off);

		d->s32_min = INT32_MIN;
		d->s32_max = INT32_MAX;
		d->var_off = usm__tnum_rshift(sub, sh);
		d->u32_min >>= sh;
		d->u32_max >>= sh;
		usm__reg_mark64_unbounded(d);
		return;
	}
	d->smin = INT64_MIN;
	d->smax = INT64_MAX;
	d->var_off = usm__tnum_rshift(d->var_off, sh);
	d->umin >>= sh;
	d->umax >>= sh;
	usm__reg_mark32_unbounded(d);
	usm__reg_update_bounds(d);
}

static void arsh(struct vreg *d, uint8_t sh, bool alu32)
{
	if (alu32) {
		d->s32_min >>= sh;
		d->s32_max >>= sh;
		d->var_off = usm__tnum_arshift(usm__tnum_subreg(d->var_off),
					       sh, 32);
		d->u32_min = 0;
		d->u32_max = UINT32_MAX;
		usm__reg_mark64_unbounded(d);
		return;
	}
	d->smin >>= sh;
	d->smax >>= sh;
	d->var_off = usm__tnum_arshift(d->var_off, sh, 64);
	d->umin = 0;
	d->umax = UINT64_MAX;
	usm__reg_mark32_unbounded(d);
	usm__reg_update_bounds(d);
}

/* Shifts are tracked only by a constant in range (the kernel's
 * is_safe_to_compute_dst_reg_range); div/mod results are unknown. */
static bool computable(uint8_t op, const struct vreg *s, bool alu32)
{
	bool known = alu32 ? usm__tnum_is_const(usm__tnum_subreg(s->var_off))
			   : usm__tnum_is_const(s->var_off);

	switch (op) {
	case BPF_ADD:
	case BPF_SUB:
	case BPF_MUL:
	case BPF_AND:
	case BPF_OR:
	case BPF_XOR:
		return true;
	case BPF_LSH:
	case BPF_RSH:
	case BPF_ARSH:
		return known && s->umax < (alu32 ? 32u : 64u);
	default:
		return false;
	}
}

void usm__verify_scalar_op(struct vreg *d, const struct vreg *s, uint8_t op,
			   bool alu32)
{
	uint8_t sh = (uint8_t)s->umin;

	if (!computable(op, s, alu32)) {
		usm__reg_mark_unknown(d);
		return;
	}
	switch (op) {
	case BPF_ADD:
		add32(d, s);
		add64(d, s);
		d->var_off = usm__tnum_add(d->var_off, s->var_off);
		break;
	case BPF_SUB:
		sub32(d, s);
		sub64(d, s);
		d->var_off = usm__tnum_sub(d->var_off, s->var_off);
		break;
	case BPF_MUL:
		d->var_off = usm__tnum_mul(d->var_off, s->var_off);
		mul32(d, s);
		mul64(d, s);
		break;
	case BPF_AND:
		d->var_off = usm__tnum_and(d->var_off, s->var_off);
		bitwise(d, s, op);
		break;
	case BPF_OR:
		d->var_off = usm__tnum_or(d->var_off, s->var_off);
		bitwise(d, s, op);
		break;
	case BPF_XOR:
		d->var_off = usm__tnum_xor(d->var_off, s->var_off);
		bitwise(d, s, op);
		break;
	case BPF_LSH:
		lsh(d, sh, alu32);
		break;
	case BPF_RSH:
		rsh(d, sh, alu32);
		break;
	case BPF_ARSH:
		arsh(d, sh, alu32);
		break;
	}
	if (alu32)
		usm__reg_zext_32_to_64(d);
	usm__reg_bounds_sync(d);
}

