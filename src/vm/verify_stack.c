/* SPDX-License-Identifier: MIT */
/*
 * The BPF stack as the verifier sees it: per frame, slots of 8 bytes, each
 * byte uninitialised, data, zero, or part of a spilled register (whose
 * full state, pointer type included, is kept with the slot). Loads fill a
 * register back from a spill, stores spill registers or mark data; helper
 * arguments must point at initialised bytes (the kernel's
 * check_stack_read/write_fixed_off, *_var_off and
 * check_stack_range_initialized, Linux 6.12).
 *
 * A root loader (env->priv) may read uninitialised stack (the value is an
 * unknown scalar) and use variable offsets; a CAP_BPF-only loader may not.
 * Every access is aligned to its size, so a fixed-offset access never
 * spans two slots.
 */
#include "verify.h"

#include <stdlib.h>
#include <string.h>

static inline int spi_of(int off)
{
	return (-off - 1) / 8;
}

static inline struct vslot *slot_of(struct vframe *f, int off)
{
	return &f->stack[spi_of(off)];
}

static inline uint8_t *stype_of(struct vframe *f, int off)
{
	return &slot_of(f, off)->type[off & 7];
}

struct vframe *usm__verify_frame_of(struct venv *env, const struct vreg *r)
{
	return env->cur->frame[r->frameno];
}

int usm__verify_grow_stack(struct venv *env, struct vframe *f, int off)
{
	uint32_t need = (uint32_t)spi_of(off) + 1;
	struct vslot *n;

	if (off >= 0 || need <= f->nslots)
		return 0;
	n = realloc(f->stack, need * sizeof(*n));
	if (!n)
		return -ENOMEM;
	memset(n + f->nslots, 0, (need - f->nslots) * sizeof(*n));
	f->stack = n;
	f->nslots = need;
	return 0;
}

void usm__verify_update_depth(struct venv *env, struct vframe *f, int off)
{
	struct vsubprog *s = &env->sub[f->subprog];

	if (off < 0 && (uint32_t)-off > s->stack_depth)
		s->stack_depth = (uint32_t)-off;
}

/* A spill slot written over by data: the register is gone, its bytes are
 * data now (scrub_spilled_slot). */
static void scrub_slot(struct vslot *s)
{
	int j;

	if (s->type[0] != VS_SPILL)
		return;
	for (j = 0; j < 8; j++)
		if (s->type[j] != VS_INVALID)
			s->type[j] = VS_MISC;
	memset(&s->spilled, 0, sizeof(s->spilled));
}

/* Record a register spill/fill for precision backtracking. */
static void note_stack(struct venv *env, const struct vframe *f, int off)
{
	env->pend.flags |= VH_STACK;
	env->pend.sframe = (uint8_t)f->frameno;
	env->pend.spi = (uint8_t)spi_of(off);
}

static void save_spill(struct vslot *s, const struct vreg *r, int size)
{
	int j;

	s->spilled = *r;
	for (j = 0; j < 8; j++) {
		if (j < size)
			s->type[j] = VS_SPILL;
		else if (s->type[j] == VS_SPILL)
			s->type[j] = VS_MISC;
	}
}

static int bounds_err(struct venv *env, const struct vreg *r, uint32_t regno,
		      int off, int size, const char *extra, int err)
{
	char tn[48];

	if (usm__tnum_is_const(r->var_off))
		return usm__verify_err(env, err,
				       "invalid%s stack R%u off=%d size=%d",
				       extra, regno, off, size);
	usm__tnum_sbin(tn, sizeof(tn), r->var_off);
	return usm__verify_err(env, err,
			       "invalid variable-offset%s stack R%u var_off=%s off=%d size=%d",
			       extra, regno, tn, off, size);
}

/* check_stack_access_within_bounds; grows the frame and its depth. */
static int stack_bounds(struct venv *env, const struct vreg *r,
			uint32_t regno, int off, int size, int kind)
{
	static const char *const extra[] = { " read from", " write to",
					      " indirect access to" };
	struct vframe *f = usm__verify_frame_of(env, r);
	int64_t min_off, max_off, min_ok;
	int err;

	if (usm__tnum_is_const(r->var_off)) {
		min_off = (int64_t)r->var_off.value + off;
		max_off = min_off + size;
	} else {
		if (r->smax >= VMAX_VAR_OFF || r->smin <= -VMAX_VAR_OFF)
			return usm__verify_err(env, -EACCES,
					       "invalid unbounded variable-offset%s stack R%u",
					       extra[kind], regno);
		min_off = r->smin + off;
		max_off = r->smax + off + size;
	}
	min_ok = (kind != 0 || env->priv) ? -(int64_t)USM_STACK_SIZE
					  : -(int64_t)f->nslots * 8;
	if (min_off < min_ok || min_off > -1)
		return bounds_err(env, r, regno, off, size, extra[kind], -EACCES);
	if (max_off > 0)
		return bounds_err(env, r, regno, off, size, extra[kind], -EINVAL);
	if ((err = usm__verify_grow_stack(env, f, (int)min_off)))
		return err;
	usm__verify_update_depth(env, f, (int)min_off);
	return 0;
}

/* ---- fixed offset ---- */

static int narrow_fill(struct venv *env, struct vframe *f, int off, int size,
		       int dst, int spill)
{
	struct vreg *regs = vcur_regs(env);
	struct vslot *s = slot_of(f, off);
	int i, spill_cnt = 0, zero_cnt = 0, b = off & 7;

	if (size <= spill && b == 0) {
		note_stack(env, f, off);
		regs[dst] = s->spilled;
		if (usm__reg_width(&s->spilled) > size * 8)
			regs[dst].id = 0;
		return 0;
	}
	for (i = 0; i < size; i++) {
		uint8_t t = s->type[b + i];

		if (t == VS_SPILL)
			spill_cnt++;
		else if (t == VS_ZERO)
			zero_cnt++;
		else if (t != VS_MISC && !(t == VS_INVALID && env->priv))
			return usm__verify_err(env, -EACCES,
					       "invalid read from stack off %d+%d size %d",
					       off, i, size);
	}
	if (spill_cnt == size &&
	    usm__tnum_equals_const(s->spilled.var_off, 0)) {
		note_stack(env, f, off); /* the zero comes from the spill */
		usm__reg_mark_known(&regs[dst], 0);
	} else if (zero_cnt == size) {
		usm__reg_mark_known(&regs[dst], 0);
	} else {
		usm__reg_mark_unknown(&regs[dst]);
	}
	return 0;
}

static int read_spill(struct venv *env, struct vframe *f, int off, int size,
		      int dst)
{
	struct vslot *s = slot_of(f, off);
	int spill = 1;

	while (spill < 8 && s->type[spill] == VS_SPILL)
		spill++;
	if (size != 8 || spill != 8) {
		if (s->spilled.type != USM_SCALAR)
			return usm__verify_err(env, -EACCES,
					       "invalid size of register fill");
		return dst < 0 ? 0 : narrow_fill(env, f, off, size, dst, spill);
	}
	if (dst >= 0) {
		note_stack(env, f, off);
		vcur_regs(env)[dst] = s->spilled;
		return 0;
	}
	if (usm__verify_is_leak(env, &s->spilled))
		return usm__verify_err(env, -EACCES,
				       "leaking pointer from stack off %d", off);
	return 0;
}

static int read_fixed(struct venv *env, struct vframe *f, int off, int size,
		      int dst)
{
	struct vslot *s = slot_of(f, off);
	int i, zeros = 0, b = off & 7;

	if (s->type[0] == VS_SPILL)
		return read_spill(env, f, off, size, dst);
	for (i = 0; i < size; i++) {
		uint8_t t = s->type[b + i];

		if (t == VS_ZERO)
			zeros++;
		else if (t != VS_MISC && !(t == VS_INVALID && env->priv))
			return usm__verify_err(env, -EACCES,
					       "invalid read from stack off %d+%d size %d",
					       off, i, size);
	}
	if (dst < 0)
		return 0;
	if (zeros == size)
		usm__reg_mark_known(&vcur_regs(env)[dst], 0);
	else
		usm__reg_mark_unknown(&vcur_regs(env)[dst]);
	return 0;
}

static void link_before_spill(struct venv *env, struct vreg *r)
{
	if (r->type == USM_SCALAR && !r->id &&
	    !usm__tnum_is_const(r->var_off))
		r->id = ++env->id_gen;
}

/* Register spills (the kernel's save_register_state cases): 1 if the
 * store was one, 0 if it writes plain data, negative on error. */
static int try_spill(struct venv *env, struct vframe *f, int off, int size,
		     struct vreg *val, const struct bpf_insn *insn)
{
	struct vslot *s = slot_of(f, off);
	bool st = insn && BPF_CLASS(insn->code) == BPF_ST;
	struct vreg k;

	if (val && !(off & 7) && val->type == USM_SCALAR) {
		bool fits = usm__reg_width(val) <= size * 8;

		if (fits)
			link_before_spill(env, val);
		note_stack(env, f, off);
		save_spill(s, val, size);
		if (!fits)
			s->spilled.id = 0;
		return 1;
	}
	if (!val && !(off & 7) && st) {
		usm__reg_mark_known(&k, (uint64_t)(int64_t)insn->imm);
		note_stack(env, f, off);
		save_spill(s, &k, size);
		return 1;
	}
	if (!val || !usm__reg_is_pointer(val))
		return 0;
	if (size != 8)
		return usm__verify_err(env, -EACCES,
				       "invalid size of register spill");
	if (f != vcur_frame(env) && val->type == USM_PTR_TO_STACK)
		return usm__verify_err(env, -EINVAL,
				       "cannot spill pointers to stack into stack frame of the caller");
	note_stack(env, f, off);
	save_spill(s, val, 8);
	return 1;
}

static int write_fixed(struct venv *env, struct vframe *f, int off, int size,
		       int value_regno, const struct bpf_insn *insn)
{
	struct vslot *s = slot_of(f, off);
	struct vreg *val = value_regno >= 0 ? &vcur_regs(env)[value_regno]
					    : NULL;
	bool st = insn && BPF_CLASS(insn->code) == BPF_ST;
	int b = off & 7, j, err;
	uint8_t t = VS_MISC;

	if (!env->priv && s->type[0] == VS_SPILL &&
	    s->spilled.type != USM_SCALAR && size != 8)
		return usm__verify_err(env, -EACCES,
				       "attempt to corrupt spilled pointer on stack");
	err = try_spill(env, f, off, size, val, insn);
	if (err)
		return err < 0 ? err : 0;
	scrub_slot(s);
	if ((val && usm__reg_is_null(val)) || (!val && st && insn->imm == 0))
		t = VS_ZERO;
	if (t == VS_ZERO && val &&
	    (err = usm__verify_mark_precise(env, (uint32_t)value_regno)))
		return err;
	for (j = 0; j < size; j++)
		s->type[b + j] = t;
	return 0;
}

/* ---- variable offset (root only) and helper ranges ---- */

/* Every byte of [min, max + size) initialised (or, for a root loader,
 * at least not a pointer it may not see); helpers may write any of them. */
static int range_init(struct venv *env, struct vframe *f, uint32_t regno,
		      int64_t min_off, int64_t max_off, int size,
		      bool helper)
{
	const struct vreg *r = &vcur_regs(env)[regno];
	const char *extra = helper ? " indirect" : "";
	int64_t i;
	char tn[48];

	for (i = min_off; i < max_off + size; i++) {
		uint8_t *t = stype_of(f, (int)i);
		struct vslot *s = slot_of(f, (int)i);

		if (*t == VS_MISC)
			continue;
		if (*t == VS_ZERO || (*t == VS_INVALID && env->priv)) {
			if (helper)
				*t = VS_MISC;
			continue;
		}
		if (s->type[0] == VS_SPILL &&
		    (s->spilled.type == USM_SCALAR || env->priv)) {
			if (helper) {
				scrub_slot(s);
				usm__reg_mark_unknown(&s->spilled);
			}
			continue;
		}
		if (usm__tnum_is_const(r->var_off))
			return usm__verify_err(env, -EACCES,
					       "invalid%s read from stack R%u off %d+%d size %d",
					       extra, regno, (int)min_off,
					       (int)(i - min_off), size);
		usm__tnum_sbin(tn, sizeof(tn), r->var_off);
		return usm__verify_err(env, -EACCES,
				       "invalid%s read from stack R%u var_off %s+%d size %d",
				       extra, regno, tn, (int)(i - min_off), size);
	}
	return 0;
}

static int read_var(struct venv *env, struct vframe *f, uint32_t regno,
		    const struct vreg *r, int off, int size, int dst)
{
	int64_t min_off = r->smin + off, max_off = r->smax + off, i;
	int zeros = 0, err = range_init(env, f, regno, min_off, max_off, size,
					false);

	if (err || dst < 0)
		return err;
	for (i = min_off; i < max_off + size; i++)
		zeros += *stype_of(f, (int)i) == VS_ZERO;
	if (zeros == max_off + size - min_off)
		usm__reg_mark_known(&vcur_regs(env)[dst], 0);
	else
		usm__reg_mark_unknown(&vcur_regs(env)[dst]);
	return 0;
}

static int write_var(struct venv *env, struct vframe *f, const struct vreg *r,
		     int off, int size, int value_regno,
		     const struct bpf_insn *insn)
{
	const struct vreg *val = value_regno >= 0 ? &vcur_regs(env)[value_regno]
						  : NULL;
	bool zero = (val && usm__reg_is_null(val)) ||
		    (!val && insn && BPF_CLASS(insn->code) == BPF_ST &&
		     insn->imm == 0);
	int64_t i;
	int err;

	if (zero && val &&
	    (err = usm__verify_mark_precise(env, (uint32_t)value_regno)))
		return err;
	for (i = r->smin + off; i < r->smax + off + size; i++) {
		struct vslot *s = slot_of(f, (int)i);
		uint8_t *t = stype_of(f, (int)i);

		if (!env->priv && *t != VS_MISC && *t != VS_ZERO)
			return usm__verify_err(env, -EINVAL,
					       "spilled ptr in range of var-offset stack write; insn %u, ptr off: %d",
					       env->insn_idx, (int)i);
		if (zero && s->type[0] == VS_SPILL &&
		    s->spilled.type == USM_SCALAR &&
		    usm__tnum_equals_const(s->spilled.var_off, 0))
			continue;
		scrub_slot(s);
		if (!(zero && *t == VS_ZERO))
			*t = VS_MISC;
	}
	return 0;
}

int usm__verify_stack_access(struct venv *env, const struct vreg *r,
			     uint32_t regno, int off, int size, bool write,
			     int value_regno, const struct bpf_insn *insn)
{
	struct vframe *f = usm__verify_frame_of(env, r);
	int err = stack_bounds(env, r, regno, off, size, write ? 1 : 0);

	if (err)
		return err;
	if (usm__tnum_is_const(r->var_off)) {
		off += (int)r->var_off.value;
		return write ? write_fixed(env, f, off, size, value_regno, insn)
			     : read_fixed(env, f, off, size, value_regno);
	}
	return write ? write_var(env, f, r, off, size, value_regno, insn)
		     : read_var(env, f, regno, r, off, size, value_regno);
}

/* Stack memory passed to a helper (pointer in @regno, @size bytes). With
 * @raw the helper only writes it, so it need not be initialised; the
 * caller then marks the bytes written. */
int usm__verify_helper_stack(struct venv *env, uint32_t regno, int off,
			     int size, bool zero_ok, bool raw)
{
	const struct vreg *r = &vcur_regs(env)[regno];
	struct vframe *f = usm__verify_frame_of(env, r);
	int64_t min_off, max_off;
	char tn[48];
	int err;

	if (size == 0 && !zero_ok)
		return usm__verify_err(env, -EACCES, "invalid zero-sized read");
	if ((err = stack_bounds(env, r, regno, off, size, 2)))
		return err;
	if (usm__tnum_is_const(r->var_off)) {
		min_off = max_off = (int64_t)r->var_off.value + off;
	} else {
		if (!env->priv) {
			usm__tnum_sbin(tn, sizeof(tn), r->var_off);
			return usm__verify_err(env, -EACCES,
					       "R%u indirect variable offset stack access prohibited for !root, var_off=%s",
					       regno, tn);
		}
		raw = false;
		min_off = r->smin + off;
		max_off = r->smax + off;
	}
	if (raw)
		return 0;
	return range_init(env, f, regno, min_off, max_off, size, true);
}
