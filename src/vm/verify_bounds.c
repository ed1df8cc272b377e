/* SPDX-License-Identifier: MIT */
/*
 * Scalar range bookkeeping for struct vreg: marking registers known,
 * unknown or uninitialised, keeping the five views of a value (known bits,
 * unsigned and signed 64-bit range, unsigned and signed 32-bit range of the
 * low half) consistent with each other, and truncating or sign-extending a
 * value to a load/move width. Every deduction only ever narrows a range to
 * values the others still allow, so it is sound whatever order it runs in;
 * the order follows the kernel's reg_bounds_sync().
 */
#include "verify.h"

#include <string.h>

#define S64MIN INT64_MIN
#define S64MAX INT64_MAX
#define S32MIN INT32_MIN
#define S32MAX INT32_MAX

#define VMAX(a, b) ((a) > (b) ? (a) : (b))
#define VMIN(a, b) ((a) < (b) ? (a) : (b))

void usm__reg_mark64_unbounded(struct vreg *r)
{
	r->smin = S64MIN;
	r->smax = S64MAX;
	r->umin = 0;
	r->umax = UINT64_MAX;
}

void usm__reg_mark32_unbounded(struct vreg *r)
{
	r->s32_min = S32MIN;
	r->s32_max = S32MAX;
	r->u32_min = 0;
	r->u32_max = UINT32_MAX;
}

void usm__reg_mark_unbounded(struct vreg *r)
{
	usm__reg_mark64_unbounded(r);
	usm__reg_mark32_unbounded(r);
}

void usm__reg_mark_not_init(struct vreg *r)
{
	memset(r, 0, sizeof(*r));
	usm__reg_mark_unbounded(r);
	r->var_off = usm__tnum_unknown();
	r->type = USM_NOT_INIT;
}

void usm__reg_mark_unknown(struct vreg *r)
{
	memset(r, 0, sizeof(*r));
	r->type = USM_SCALAR;
	r->var_off = usm__tnum_unknown();
	usm__reg_mark_unbounded(r);
}

/* Scalar or pointer bounds: exactly @v (the type is left to the caller). */
static void set_known(struct vreg *r, uint64_t v)
{
	r->var_off = usm__tnum_const(v);
	r->smin = r->smax = (int64_t)v;
	r->umin = r->umax = v;
	r->s32_min = r->s32_max = (int32_t)(uint32_t)v;
	r->u32_min = r->u32_max = (uint32_t)v;
}

void usm__reg_mark_known(struct vreg *r, uint64_t v)
{
	memset(r, 0, sizeof(*r));
	r->type = USM_SCALAR;
	set_known(r, v);
}

/* Pointer registers start with a zero variable offset. */
void usm__reg_mark_known_zero(struct vreg *r)
{
	uint8_t type = r->type;

	memset(r, 0, sizeof(*r));
	r->type = type;
	set_known(r, 0);
}

static void update_bounds32(struct vreg *r)
{
	struct vtnum t = usm__tnum_subreg(r->var_off);
	int32_t smin = (int32_t)(uint32_t)(t.value | (t.mask & 0x80000000u));
	int32_t smax = (int32_t)(uint32_t)(t.value | (t.mask & 0x7fffffffu));

	r->s32_min = VMAX(r->s32_min, smin);
	r->s32_max = VMIN(r->s32_max, smax);
	r->u32_min = VMAX(r->u32_min, (uint32_t)t.value);
	r->u32_max = VMIN(r->u32_max, (uint32_t)(t.value | t.mask));
}

static void update_bounds64(struct vreg *r)
{
	struct vtnum t = r->var_off;
	int64_t smin = (int64_t)(t.value | (t.mask & (1ull << 63)));
	int64_t smax = (int64_t)(t.value | (t.mask & ~(1ull << 63)));

	r->smin = VMAX(r->smin, smin);
	r->smax = VMIN(r->smax, smax);
	r->umin = VMAX(r->umin, t.value);
	r->umax = VMIN(r->umax, t.value | t.mask);
}

void usm__reg_update_bounds(struct vreg *r)
{
	update_bounds32(r);
	update_bounds64(r);
}

static void clamp_u32(struct vreg *r, uint32_t lo, uint32_t hi)
{
	r->u32_min = VMAX(r->u32_min, lo);
	r->u32_max = VMIN(r->u32_max, hi);
}

static void clamp_s32(struct vreg *r, int32_t lo, int32_t hi)
{
	r->s32_min = VMAX(r->s32_min, lo);
	r->s32_max = VMIN(r->s32_max, hi);
}

/* What the 64-bit ranges and each 32-bit range say about the 32-bit ones. */
static void deduce32(struct vreg *r)
{
	if ((r->umin >> 32) == (r->umax >> 32)) {
		clamp_u32(r, (uint32_t)r->umin, (uint32_t)r->umax);
		if ((int32_t)r->umin <= (int32_t)r->umax)
			clamp_s32(r, (int32_t)r->umin, (int32_t)r->umax);
	} else if ((uint32_t)(r->umin >> 32) + 1 == (uint32_t)(r->umax >> 32) &&
		   (int32_t)r->umin < 0 && (int32_t)r->umax >= 0) {
		/* The low half runs from a negative s32 up through 0. */
		clamp_s32(r, (int32_t)r->umin, (int32_t)r->umax);
	}
	if ((r->smin >> 32) == (r->smax >> 32)) {
		if ((uint32_t)r->smin <= (uint32_t)r->smax)
			clamp_u32(r, (uint32_t)r->smin, (uint32_t)r->smax);
		if ((int32_t)r->smin <= (int32_t)r->smax)
			clamp_s32(r, (int32_t)r->smin, (int32_t)r->smax);
	}
	if ((int32_t)r->u32_min <= (int32_t)r->u32_max)
		clamp_s32(r, (int32_t)r->u32_min, (int32_t)r->u32_max);
	if ((uint32_t)r->s32_min <= (uint32_t)r->s32_max)
		clamp_u32(r, (uint32_t)r->s32_min, (uint32_t)r->s32_max);
}

/* Signed and unsigned 64-bit ranges inform each other. */
static void deduce64(struct vreg *r)
{
	if ((int64_t)r->umin <= (int64_t)r->umax) {
		r->smin = VMAX(r->smin, (int64_t)r->umin);
		r->smax = VMIN(r->smax, (int64_t)r->umax);
	}
	if ((uint64_t)r->smin <= (uint64_t)r->smax) {
		r->umin = VMAX(r->umin, (uint64_t)r->smin);
		r->umax = VMIN(r->umax, (uint64_t)r->smax);
	} else if (r->umax < (uint64_t)r->smin) {
		/* Signed range crosses 0 but the values are all below the
		 * negative part: they are in [0, smax]. */
		r->smin = (int64_t)r->umin;
		r->smax = VMIN(r->smax, (int64_t)r->umax);
		r->umax = VMIN(r->umax, (uint64_t)r->smax);
	} else if ((uint64_t)r->smax < r->umin) {
		/* ... or all in the negative part. */
		r->smin = VMAX(r->smin, (int64_t)r->umin);
		r->smax = (int64_t)r->umax;
		r->umin = VMAX(r->umin, (uint64_t)r->smin);
	}
}

/* The 32-bit ranges tighten the low half of the 64-bit ones. */
static void deduce_mixed(struct vreg *r)
{
	uint64_t nu_min = (r->umin & ~0xffffffffull) | r->u32_min;
	uint64_t nu_max = (r->umax & ~0xffffffffull) | r->u32_max;
	int64_t ns_min = (int64_t)(((uint64_t)r->smin & ~0xffffffffull) |
				   r->u32_min);
	int64_t ns_max = (int64_t)(((uint64_t)r->smax & ~0xffffffffull) |
				   r->u32_max);

	r->umin = VMAX(r->umin, nu_min);
	r->umax = VMIN(r->umax, nu_max);
	r->smin = VMAX(r->smin, ns_min);
	r->smax = VMIN(r->smax, ns_max);
}

static void bound_offset(struct vreg *r)
{
	struct vtnum t64 = usm__tnum_intersect(
		r->var_off, usm__tnum_range(r->umin, r->umax));
	struct vtnum t32 = usm__tnum_intersect(
		usm__tnum_subreg(t64), usm__tnum_range(r->u32_min, r->u32_max));

	r->var_off = usm__tnum_or(usm__tnum_clear_subreg(t64), t32);
}

bool usm__reg_bounds_sane(const struct vreg *r)
{
	if (r->umin > r->umax || r->smin > r->smax ||
	    r->u32_min > r->u32_max || r->s32_min > r->s32_max)
		return false;
	if (r->var_off.value & r->var_off.mask)
		return false;
	return true;
}

/*
 * Make every view consistent with the others (the kernel's
 * reg_bounds_sync). Contradictory bounds can only come from a dead path;
 * as the kernel does, such a register is reset to unknown.
 */
void usm__reg_bounds_sync(struct vreg *r)
{
	usm__reg_update_bounds(r);
	deduce32(r);
	deduce64(r);
	deduce_mixed(r);
	deduce32(r);
	deduce64(r);
	bound_offset(r);
	usm__reg_update_bounds(r);
	if (!usm__reg_bounds_sane(r)) {
		r->var_off = usm__tnum_unknown();
		usm__reg_mark_unbounded(r);
	}
}

void usm__reg_assign_32_into_64(struct vreg *r)
{
	r->umin = r->u32_min;
	r->umax = r->u32_max;
	if (r->s32_min >= 0 && r->s32_max >= 0) {
		r->smin = r->s32_min;
		r->smax = r->s32_max;
	} else {
		r->smin = 0;
		r->smax = UINT32_MAX;
	}
}

/* A 32-bit result: the upper half becomes zero. */
void usm__reg_zext_32_to_64(struct vreg *r)
{
	r->var_off = usm__tnum_subreg(r->var_off);
	usm__reg_assign_32_into_64(r);
}

/* Truncate to @size bytes (< 8), zero-extending, as a narrow load does. */
void usm__reg_coerce_size(struct vreg *r, int size)
{
	uint64_t mask = (1ull << (size * 8)) - 1;

	r->var_off = usm__tnum_cast(r->var_off, (uint8_t)size);
	if ((r->umin & ~mask) == (r->umax & ~mask)) {
		r->umin &= mask;
		r->umax &= mask;
	} else {
		r->umin = 0;
		r->umax = mask;
	}
	r->smin = (int64_t)r->umin;
	r->smax = (int64_t)r->umax;
	if (size < 4)
		usm__reg_mark32_unbounded(r);
	usm__reg_bounds_sync(r);
}

/* Sign-extend the low @size bytes to 64 bits (movsx, ldsx). */
void usm__reg_coerce_size_sx(struct vreg *r, int size)
{
	int bits = size * 8;
	int64_t lo = -(1ll << (bits - 1)), hi = (1ll << (bits - 1)) - 1;
	uint64_t low = (1ull << bits) - 1, sign = 1ull << (bits - 1);
	struct vtnum t = usm__tnum_cast(r->var_off, (uint8_t)size);

	if (r->smin >= lo && r->smax <= hi)
		return; /* the value already is its own sign extension */
	if (!(t.mask & sign)) {
		if (t.value & sign)
			t.value |= ~low;
	} else {
		t.mask |= ~low;
	}
	r->var_off = t;
	r->smin = lo;
	r->smax = hi;
	r->umin = 0;
	r->umax = UINT64_MAX;
	usm__reg_mark32_unbounded(r);
	usm__reg_bounds_sync(r);
}

/* w = (s8/s16) w: sign-extend into the low half, zero the upper half. */
void usm__reg_coerce_subreg_sx(struct vreg *r, int size)
{
	usm__reg_coerce_size_sx(r, size);
	r->var_off = usm__tnum_subreg(r->var_off);
	/* The 64-bit signed range of a short value fits an s32. */
	r->s32_min = (int32_t)r->smin;
	r->s32_max = (int32_t)r->smax;
	r->u32_min = 0;
	r->u32_max = UINT32_MAX;
	if ((uint32_t)r->s32_min <= (uint32_t)r->s32_max) {
		r->u32_min = (uint32_t)r->s32_min;
		r->u32_max = (uint32_t)r->s32_max;
	}
	usm__reg_mark64_unbounded(r);
	usm__reg_zext_32_to_64(r);
	usm__reg_bounds_sync(r);
}

bool usm__reg_is_null(const struct vreg *r)
{
	return r->type == USM_SCALAR && usm__tnum_equals_const(r->var_off, 0);
}

bool usm__reg_is_pointer(const struct vreg *r)
{
	return r->type != USM_SCALAR && r->type != USM_NOT_INIT;
}

bool usm__reg_is_pkt(const struct vreg *r)
{
	return r->type == USM_PTR_TO_PACKET || r->type == USM_PTR_TO_PACKET_META;
}

bool usm__reg_may_be_null(uint8_t type)
{
	switch (type) {
	case USM_PTR_TO_MAP_VALUE_OR_NULL:
	case USM_PTR_TO_SOCKET_OR_NULL:
	case USM_PTR_TO_SOCK_COMMON_OR_NULL:
	case USM_PTR_TO_MEM_OR_NULL:
		return true;
	default:
		return false;
	}
}

int usm__reg_width(const struct vreg *r)
{
	uint64_t v = r->var_off.value | r->var_off.mask;

	return v ? 64 - __builtin_clzll(v) : 0;
}
