/* SPDX-License-Identifier: MIT */
/*
 * Verifier states: allocation and deep copies, the stack of pending
 * branches of the depth-first walk, acquired references, and pruning (the
 * kernel's is_state_visited): at a prune point the current state is
 * compared with the states already explored there. A completed state that
 * covers the current one (every live register and stack byte at least as
 * permissive) proves the current path safe; a state still being explored
 * (a loop iteration on the current path) that equals the current one
 * exactly means the loop makes no progress: "infinite loop detected".
 *
 * Register liveness is static (verify_cfg.c); every stack byte counts as
 * live. Scalars compare by range inclusion (the kernel's treatment of
 * precise scalars), so pruning is sound but can be less aggressive than
 * the kernel's.
 */
#include "verify.h"

#include <stdlib.h>
#include <string.h>

/* Explored states may hold this much memory; beyond it the walk goes on
 * without new checkpoints (correct, just slower). */
#define VMAX_STATE_BYTES (256u << 20)
/* Instructions a state walks before it must checkpoint (the kernel forces
 * one after 40 jumps of history). */
#define VMAX_HIST 256u

struct vframe *usm__vframe_new(void)
{
	return calloc(1, sizeof(struct vframe));
}

void usm__vframe_free(struct vframe *f)
{
	if (!f)
		return;
	free(f->stack);
	free(f);
}

struct vstate *usm__vstate_new(void)
{
	return calloc(1, sizeof(struct vstate));
}

void usm__vstate_fini(struct vstate *st)
{
	uint32_t i;

	for (i = 0; i < USM_MAX_CALL_FRAMES; i++) {
		usm__vframe_free(st->frame[i]);
		st->frame[i] = NULL;
	}
	free(st->refs);
	st->refs = NULL;
	st->nrefs = st->refcap = 0;
	free(st->hist);
	st->hist = NULL;
	st->nhist = st->histcap = 0;
}

void usm__vstate_free(struct vstate *st)
{
	if (!st)
		return;
	usm__vstate_fini(st);
	free(st);
}

static struct vframe *frame_dup(const struct vframe *src)
{
	struct vframe *f = malloc(sizeof(*f));

	if (!f)
		return NULL;
	*f = *src;
	f->stack = NULL;
	if (src->nslots) {
		f->stack = malloc(src->nslots * sizeof(*f->stack));
		if (!f->stack) {
			free(f);
			return NULL;
		}
		memcpy(f->stack, src->stack, src->nslots * sizeof(*f->stack));
	}
	return f;
}

/* @dst must hold no frames. On failure @dst is left empty. */
int usm__vstate_copy(struct vstate *dst, const struct vstate *src)
{
	uint32_t i;

	*dst = *src;
	memset(dst->frame, 0, sizeof(dst->frame));
	dst->refs = NULL;
	if (src->nrefs) {
		dst->refs = malloc(src->nrefs * sizeof(*dst->refs));
		if (!dst->refs)
			goto fail;
		memcpy(dst->refs, src->refs, src->nrefs * sizeof(*dst->refs));
	}
	dst->refcap = src->nrefs;
	dst->hist = NULL;
	dst->histcap = src->nhist;
	if (src->nhist) {
		dst->hist = malloc(src->nhist * sizeof(*dst->hist));
		if (!dst->hist)
			goto fail;
		memcpy(dst->hist, src->hist, src->nhist * sizeof(*dst->hist));
	}
	for (i = 0; i <= src->curframe; i++) {
		dst->frame[i] = frame_dup(src->frame[i]);
		if (!dst->frame[i])
			goto fail;
	}
	return 0;
fail:
	usm__vstate_fini(dst);
	return -ENOMEM;
}

/* ---- references ---- */

int usm__vstate_acquire_ref(struct venv *env, uint32_t insn)
{
	struct vstate *st = env->cur;

	if (st->nrefs == st->refcap) {
		uint32_t cap = st->refcap ? st->refcap * 2 : 4;
		struct vref *n = realloc(st->refs, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		st->refs = n;
		st->refcap = cap;
	}
	st->refs[st->nrefs].id = ++env->id_gen;
	st->refs[st->nrefs].insn = insn;
	return (int)st->refs[st->nrefs++].id;
}

int usm__vstate_release_ref(struct venv *env, uint32_t id)
{
	struct vstate *st = env->cur;
	uint32_t i;

	for (i = 0; i < st->nrefs; i++) {
		if (st->refs[i].id != id)
			continue;
		memmove(&st->refs[i], &st->refs[i + 1],
			(st->nrefs - i - 1) * sizeof(*st->refs));
		st->nrefs--;
		return 0;
	}
	return -EINVAL;
}

void usm__verify_for_each_reg(struct venv *env, struct vstate *st,
			      vreg_fn fn, void *arg)
{
	uint32_t f, r, s;

	for (f = 0; f <= st->curframe; f++) {
		struct vframe *fr = st->frame[f];

		for (r = 0; r < USM_NR_REGS; r++)
			fn(env, &fr->regs[r], arg);
		for (s = 0; s < fr->nslots; s++)
			if (fr->stack[s].type[0] == VS_SPILL)
				fn(env, &fr->stack[s].spilled, arg);
	}
}

/* ---- pending branches ---- */

struct vstate *usm__verify_push(struct venv *env, uint32_t insn,
				uint32_t prev_insn, int *err)
{
	struct velem *e = malloc(sizeof(*e));

	if (!e || usm__vstate_copy(&e->st, env->cur)) {
		free(e);
		*err = -ENOMEM;
		return NULL;
	}
	e->insn = insn;
	e->prev_insn = prev_insn;
	e->next = env->head;
	env->head = e;
	if (usm__verify_hist_add(&e->st, &env->pend)) {
		*err = -ENOMEM;
		return NULL;
	}
	if (++env->stack_size > VMAX_JMP_SEQ) {
		*err = usm__verify_err(env, -E2BIG,
				       "The sequence of %u jumps is too complex.",
				       env->stack_size);
		return NULL;
	}
	if (e->st.parent)
		e->st.parent->branches++;
	return &e->st;
}

int usm__verify_pop(struct venv *env)
{
	struct velem *e = env->head;

	if (!e)
		return -ENOENT;
	env->head = e->next;
	env->stack_size--;
	usm__vstate_fini(env->cur);
	*env->cur = e->st;
	env->insn_idx = e->insn;
	env->prev_insn_idx = e->prev_insn;
	free(e);
	return 0;
}

static size_t state_size(const struct vstate *st)
{
	size_t n = sizeof(struct vsl) + st->histcap * sizeof(struct vhist) +
		   st->refcap * sizeof(struct vref);
	uint32_t f;

	for (f = 0; f <= st->curframe; f++)
		n += sizeof(struct vframe) +
		     st->frame[f]->nslots * sizeof(struct vslot);
	return n;
}

static void chain_free(struct venv *env, struct vsl *sl)
{
	if (sl->prev)
		sl->prev->next = sl->next;
	else
		env->chain = sl->next;
	if (sl->next)
		sl->next->prev = sl->prev;
	env->state_bytes -= state_size(&sl->st);
	usm__vstate_fini(&sl->st);
	free(sl);
}

/* A path ended. Checkpoints whose every path ended are finished; the
 * chain-only ones are no longer needed (nothing on a live path points
 * to a finished state). */
void usm__verify_branch_done(struct venv *env, struct vstate *st)
{
	while (st) {
		struct vstate *parent = st->parent;

		if (st->branches)
			st->branches--;
		if (st->branches)
			break;
		if (st->chain_only)
			chain_free(env, (struct vsl *)((char *)st -
						       offsetof(struct vsl, st)));
		st = parent;
	}
}

/* ---- equivalence ---- */

static void idmap_reset(struct venv *env)
{
	env->idmap_cnt = 0;
	env->tmp_id_gen = env->id_gen;
}

/* Old and current ids must correspond one to one (check_ids). */
static bool check_ids(struct venv *env, uint32_t old, uint32_t cur)
{
	uint32_t i;

	if (!old != !cur)
		return false;
	if (!old)
		return true;
	for (i = 0; i < env->idmap_cnt; i++) {
		if (env->idmap[i].old == old)
			return env->idmap[i].cur == cur;
		if (env->idmap[i].cur == cur)
			return false;
	}
	if (env->idmap_cnt == VIDMAP_SIZE)
		return false;
	env->idmap[env->idmap_cnt].old = old;
	env->idmap[env->idmap_cnt++].cur = cur;
	return true;
}

static bool check_scalar_ids(struct venv *env, uint32_t old, uint32_t cur)
{
	if (!old)
		old = ++env->tmp_id_gen;
	if (!cur)
		cur = ++env->tmp_id_gen;
	return check_ids(env, old, cur);
}

static bool fields_equal(const struct vreg *a, const struct vreg *b)
{
	return a->type == b->type && a->frameno == b->frameno &&
	       a->off == b->off && a->range == b->range &&
	       a->mem_size == b->mem_size && a->map == b->map &&
	       a->var_off.value == b->var_off.value &&
	       a->var_off.mask == b->var_off.mask && a->smin == b->smin &&
	       a->smax == b->smax && a->umin == b->umin && a->umax == b->umax &&
	       a->s32_min == b->s32_min && a->s32_max == b->s32_max &&
	       a->u32_min == b->u32_min && a->u32_max == b->u32_max;
}

static bool regs_exact(struct venv *env, const struct vreg *o,
		       const struct vreg *c)
{
	return fields_equal(o, c) && check_ids(env, o->id, c->id) &&
	       check_ids(env, o->ref_obj_id, c->ref_obj_id);
}

static bool range_within(const struct vreg *o, const struct vreg *c)
{
	return o->umin <= c->umin && o->umax >= c->umax &&
	       o->smin <= c->smin && o->smax >= c->smax &&
	       o->u32_min <= c->u32_min && o->u32_max >= c->u32_max &&
	       o->s32_min <= c->s32_min && o->s32_max >= c->s32_max;
}

static bool var_within(const struct vreg *o, const struct vreg *c)
{
	return range_within(o, c) && usm__tnum_in(o->var_off, c->var_off);
}

static bool regsafe(struct venv *env, const struct vreg *o,
		    const struct vreg *c, bool live, bool exact)
{
	if (!exact && !live)
		return true;
	if (o->type == USM_NOT_INIT && (!exact || c->type == USM_NOT_INIT))
		return true;
	if (exact)
		return regs_exact(env, o, c);
	if (o->type != c->type)
		return false;
	switch (o->type) {
	case USM_SCALAR:
		if (env->explore_alu_limits)
			return fields_equal(o, c) &&
			       check_scalar_ids(env, o->id, c->id);
		if (!o->precise)
			return true;
		return var_within(o, c) && check_scalar_ids(env, o->id, c->id);
	case USM_PTR_TO_MAP_VALUE:
	case USM_PTR_TO_MAP_VALUE_OR_NULL:
		return o->map == c->map && o->off == c->off &&
		       var_within(o, c) && check_ids(env, o->id, c->id) &&
		       check_ids(env, o->ref_obj_id, c->ref_obj_id);
	case USM_PTR_TO_PACKET:
	case USM_PTR_TO_PACKET_META:
		if (o->range < 0 ? c->range != o->range
				 : (c->range < 0 || o->range > c->range))
			return false;
		return o->off == c->off && check_ids(env, o->id, c->id) &&
		       var_within(o, c);
	default:
		return regs_exact(env, o, c);
	}
}

static int spill_size(const struct vslot *s)
{
	int n = 0;

	while (n < 8 && s->type[n] == VS_SPILL)
		n++;
	return n;
}

/* Old byte @ot covers current byte @ct of slot @cs. */
static bool byte_safe(const struct venv *env, uint8_t ot, uint8_t ct,
		      const struct vslot *cs)
{
	bool cur_ptr = ct == VS_SPILL && cs->spilled.type != USM_SCALAR;

	switch (ot) {
	case VS_INVALID:
		return !env->priv || !cur_ptr;
	case VS_MISC:
		return ct == VS_MISC || ct == VS_ZERO ||
		       (ct == VS_SPILL && !cur_ptr) ||
		       (ct == VS_INVALID && env->priv);
	case VS_ZERO:
		return ct == VS_ZERO;
	default:
		return false;
	}
}

/* A data-only slot read as a whole register. */
static bool slot_as_scalar(const struct venv *env, const struct vslot *s,
			   struct vreg *r)
{
	int j, zeros = 0;

	for (j = 0; j < 8; j++) {
		if (s->type[j] == VS_ZERO)
			zeros++;
		else if (s->type[j] != VS_MISC &&
			 !(s->type[j] == VS_INVALID && env->priv))
			return false;
	}
	if (zeros == 8)
		usm__reg_mark_known(r, 0);
	else
		usm__reg_mark_unknown(r);
	return true;
}

static bool slot_safe(struct venv *env, const struct vslot *os,
		      const struct vslot *cs, bool exact)
{
	int j, on = spill_size(os), cn = spill_size(cs);
	struct vreg tmp;

	if (exact)
		return !memcmp(os->type, cs->type, 8) &&
		       (!on || regs_exact(env, &os->spilled, &cs->spilled));
	if (on == 8 && cn == 8)
		return regsafe(env, &os->spilled, &cs->spilled, true, false);
	if (on == 8 && os->spilled.type == USM_SCALAR && !cn &&
	    slot_as_scalar(env, cs, &tmp))
		return regsafe(env, &os->spilled, &tmp, true, false);
	if (on)
		return on == cn && !memcmp(os->type, cs->type, 8) &&
		       regsafe(env, &os->spilled, &cs->spilled, true, false);
	for (j = 0; j < 8; j++)
		if (!byte_safe(env, os->type[j], cs->type[j], cs))
			return false;
	return true;
}

static bool stack_safe(struct venv *env, const struct vframe *o,
		       const struct vframe *c, bool exact)
{
	static const struct vslot empty;
	uint32_t s, n = o->nslots > c->nslots ? o->nslots : c->nslots;

	for (s = 0; s < n; s++) {
		const struct vslot *os = s < o->nslots ? &o->stack[s] : &empty;
		const struct vslot *cs = s < c->nslots ? &c->stack[s] : &empty;

		if (s >= o->nslots && !exact && !env->priv)
			break; /* old never touched it: anything goes */
		if (!slot_safe(env, os, cs, exact))
			return false;
	}
	return true;
}

static uint16_t frame_live(const struct venv *env, const struct vstate *st,
			   uint32_t f, uint32_t insn)
{
	if (f == st->curframe)
		return env->aux[insn].live_in;
	/* A caller's r6-r10 survive the call; r0-r5 are rewritten. */
	return env->aux[st->frame[f + 1]->callsite + 1].live_in & 0x7c0;
}

static bool states_equal(struct venv *env, const struct vstate *o,
			 const struct vstate *c, uint32_t insn, bool exact)
{
	uint32_t f, r;

	if (o->curframe != c->curframe || o->nrefs != c->nrefs)
		return false;
	idmap_reset(env);
	for (r = 0; r < o->nrefs; r++)
		if (!check_ids(env, o->refs[r].id, c->refs[r].id))
			return false;
	for (f = 0; f <= o->curframe; f++) {
		const struct vframe *of = o->frame[f], *cf = c->frame[f];
		uint16_t live = frame_live(env, c, f, insn);

		if (of->callsite != cf->callsite)
			return false;
		for (r = 0; r < USM_NR_REGS; r++)
			if (!regsafe(env, &of->regs[r], &cf->regs[r],
				     live & (1u << r), exact))
				return false;
		if (!stack_safe(env, of, cf, exact))
			return false;
	}
	return true;
}

/* ---- explored states ---- */

/* The current path was pruned by @old: what @old needed precise, the
 * current path's checkpoints need too (propagate_precision). */
static int propagate_precision(struct venv *env, const struct vstate *old,
			       uint32_t insn)
{
	struct vbt bt;
	uint32_t f, r, s;

	memset(&bt, 0, sizeof(bt));
	bt.frame = old->curframe;
	for (f = 0; f <= old->curframe; f++) {
		const struct vframe *fr = old->frame[f];
		uint16_t live = frame_live(env, env->cur, f, insn);

		for (r = 0; r < 10; r++)
			if (fr->regs[r].type == USM_SCALAR && fr->regs[r].precise &&
			    (live & (1u << r)))
				bt.regs[f] |= (uint16_t)(1u << r);
		for (s = 0; s < fr->nslots; s++)
			if (fr->stack[s].type[0] == VS_SPILL &&
			    fr->stack[s].spilled.type == USM_SCALAR &&
			    fr->stack[s].spilled.precise)
				bt.slots[f] |= 1ull << s;
	}
	return usm__verify_backtrack(env, &bt);
}

static void evict(struct venv *env, uint32_t insn)
{
	struct vsl **pp = &env->explored[insn], *sl;

	while ((sl = *pp)) {
		if (!sl->st.branches && sl->miss > sl->hit * 3 + 3) {
			*pp = sl->next;
			env->state_bytes -= state_size(&sl->st);
			usm__vstate_fini(&sl->st);
			free(sl);
			env->cur_states--;
			continue;
		}
		pp = &sl->next;
	}
}

/* Checkpoint the current state at @insn: listed for pruning while the
 * insn has room, else only as a backtracking checkpoint. */
static int add_state(struct venv *env, uint32_t insn, uint32_t len)
{
	struct vsl *sl;

	if (env->state_bytes >= VMAX_STATE_BYTES)
		return 0;
	sl = calloc(1, sizeof(*sl));
	usm__verify_mark_imprecise(env->cur);
	if (!sl || usm__vstate_copy(&sl->st, env->cur)) {
		free(sl);
		return -ENOMEM;
	}
	sl->st.insn_idx = insn;
	sl->st.branches = 1;
	env->state_bytes += state_size(&sl->st);
	env->cur->parent = &sl->st;
	env->cur->nhist = 0;
	if (len >= VMAX_STATES_INSN) {
		sl->st.chain_only = true;
		sl->next = env->chain;
		if (env->chain)
			env->chain->prev = sl;
		env->chain = sl;
		return 0;
	}
	sl->next = env->explored[insn];
	env->explored[insn] = sl;
	env->prev_jmps = env->jmps_processed;
	env->prev_insns = env->insn_processed;
	env->total_states++;
	if (++env->cur_states > env->peak_states)
		env->peak_states = env->cur_states;
	if (len + 1 > env->max_states_insn)
		env->max_states_insn = len + 1;
	return 0;
}

int usm__verify_visited(struct venv *env, uint32_t insn)
{
	/* A long history makes precision backtracking slow: checkpoint. */
	bool force = env->cur->nhist > VMAX_HIST;
	bool add = force || (env->jmps_processed - env->prev_jmps >= 2 &&
			     env->insn_processed - env->prev_insns >= 8);
	uint32_t len = 0;
	struct vsl *sl;

	for (sl = env->explored[insn]; sl; sl = sl->next, len++) {
		if (sl->st.branches) {
			if (states_equal(env, &sl->st, env->cur, insn, true))
				return usm__verify_err_plain(
					env, -EINVAL,
					"infinite loop detected at insn %u",
					insn);
			if (!force && env->jmps_processed - env->prev_jmps < 20 &&
			    env->insn_processed - env->prev_insns < 100)
				add = false;
			continue;
		}
		if (states_equal(env, &sl->st, env->cur, insn, false)) {
			int err = propagate_precision(env, &sl->st, insn);

			if (err)
				return err;
			sl->hit++;
			if (env->log && env->log->level >= 2)
				usm__log(env->log, "%u: safe\n", insn);
			return 1;
		}
		sl->miss++;
	}
	if (!add)
		return 0;
	if (len >= VMAX_STATES_INSN) {
		evict(env, insn);
		for (len = 0, sl = env->explored[insn]; sl; sl = sl->next)
			len++;
	}
	return add_state(env, insn, len);
}

void usm__verify_free_all(struct venv *env)
{
	uint32_t i;

	while (env->head) {
		struct velem *e = env->head;

		env->head = e->next;
		usm__vstate_fini(&e->st);
		free(e);
	}
	while (env->chain)
		chain_free(env, env->chain);
	for (i = 0; env->explored && i < env->len; i++) {
		while (env->explored[i]) {
			struct vsl *sl = env->explored[i];

			env->explored[i] = sl->next;
			usm__vstate_fini(&sl->st);
			free(sl);
		}
	}
	usm__vstate_free(env->cur);
	env->cur = NULL;
}
