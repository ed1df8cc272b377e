/* SPDX-License-Identifier: MIT */
/*
 * Calls and exits: helper calls checked against the program type's
 * prototype (the kernel's check_helper_call / check_func_arg), the
 * helper/map pairing rules (check_map_func_compatibility, SEMANTICS
 * MAP-BPF-02/03/05/06), acquired socket references (MAP-LKP-05), packet
 * pointer invalidation (SKB-29); bpf-to-bpf calls (a new frame sharing the
 * caller's r1-r5) and returns; the main program's exit (no unreleased
 * reference, R0 initialised, the return range of the type).
 */
#include "verify.h"

#include <stdio.h>
#include <string.h>

#include "../maps/map.h"

struct vmeta {
	const struct usm_helper *fn;
	struct usm_map *map;
	uint32_t ref_obj_id;
	int release_regno;
	int raw_regno;     /* uninit memory the helper fills, -1 if none */
	int raw_size;
	uint32_t id;
};

/* Helpers whose memory arguments may point into the packet (the kernel's
 * .pkt_access prototypes). */
static bool helper_pkt_access(uint32_t id)
{
	switch (id) {
	case BPF_FUNC_map_lookup_elem:
	case BPF_FUNC_map_update_elem:
	case BPF_FUNC_map_delete_elem:
	case BPF_FUNC_map_push_elem:
	case BPF_FUNC_map_lookup_percpu_elem:
	case BPF_FUNC_csum_diff:
	case BPF_FUNC_sk_lookup_tcp:
	case BPF_FUNC_sk_lookup_udp:
	case BPF_FUNC_skc_lookup_tcp:
	case BPF_FUNC_tcp_check_syncookie:
	case BPF_FUNC_tcp_gen_syncookie:
		return true;
	default:
		return false;
	}
}

static bool pkt_access_ok(const struct venv *env, uint32_t id)
{
	switch (env->pt->type) {
	case BPF_PROG_TYPE_SK_SKB:
	case BPF_PROG_TYPE_SK_MSG:
	case BPF_PROG_TYPE_SK_REUSEPORT:
		return helper_pkt_access(id);
	default:
		return false;
	}
}

static bool is_sock_map(const struct usm_map *m)
{
	return m && (m->map_type == BPF_MAP_TYPE_SOCKMAP ||
		     m->map_type == BPF_MAP_TYPE_SOCKHASH);
}

/* ---- argument types ---- */

/* Register types an argument kind accepts, in the kernel's order (for the
 * "expected=" list). */
static const uint8_t *arg_types(uint8_t arg, struct usm_map *map)
{
	static const uint8_t mem[] = { USM_PTR_TO_STACK, USM_PTR_TO_PACKET,
				       USM_PTR_TO_PACKET_META,
				       USM_PTR_TO_MAP_KEY,
				       USM_PTR_TO_MAP_VALUE, USM_PTR_TO_MEM,
				       0 };
	static const uint8_t sock_common[] = { USM_PTR_TO_SOCK_COMMON,
					       USM_PTR_TO_SOCKET, 0 };
	static const uint8_t sock[] = { USM_PTR_TO_SOCKET, 0 };
	static const uint8_t scalar[] = { USM_SCALAR, 0 };
	static const uint8_t ctx[] = { USM_PTR_TO_CTX, 0 };
	static const uint8_t map_ptr[] = { USM_CONST_PTR_TO_MAP, 0 };
	static const uint8_t stack[] = { USM_PTR_TO_STACK, 0 };

	switch (arg) {
	case USM_ARG_PTR_TO_MAP_VALUE:
		return is_sock_map(map) ? sock_common : mem;
	case USM_ARG_PTR_TO_MAP_KEY:
	case USM_ARG_PTR_TO_MEM:
	case USM_ARG_PTR_TO_MEM_OR_NULL:
	case USM_ARG_PTR_TO_UNINIT_MEM:
	case USM_ARG_PTR_TO_LONG:
		return mem;
	case USM_ARG_CONST_SIZE:
	case USM_ARG_CONST_SIZE_OR_ZERO:
		return scalar;
	case USM_ARG_CONST_MAP_PTR:
		return map_ptr;
	case USM_ARG_PTR_TO_CTX:
		return ctx;
	case USM_ARG_PTR_TO_SOCKET:
	case USM_ARG_PTR_TO_SOCKET_OR_NULL:
		return sock;
	case USM_ARG_PTR_TO_SOCK_COMMON:
	case USM_ARG_PTR_TO_SOCK_COMMON_OR_NULL:
		return sock_common;
	case USM_ARG_PTR_TO_STACK_OR_NULL:
		return stack;
	default:
		return NULL;
	}
}

static bool arg_may_be_null(uint8_t arg)
{
	return arg == USM_ARG_PTR_TO_MEM_OR_NULL ||
	       arg == USM_ARG_PTR_TO_SOCKET_OR_NULL ||
	       arg == USM_ARG_PTR_TO_SOCK_COMMON_OR_NULL ||
	       arg == USM_ARG_PTR_TO_STACK_OR_NULL;
}

static int type_mismatch(struct venv *env, uint32_t regno, const uint8_t *t)
{
	char list[256];
	size_t n = 0;
	int i;

	list[0] = '\0';
	for (i = 0; t[i]; i++)
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s",
				      i ? ", " : "",
				      usm__verify_type_name(t[i]));
	return usm__verify_err(env, -EACCES, "R%u type=%s expected=%s", regno,
			       usm__verify_type_name(vcur_regs(env)[regno].type),
			       list);
}

static int check_type(struct venv *env, uint32_t regno, uint8_t arg,
		      struct usm_map *map)
{
	const struct vreg *r = &vcur_regs(env)[regno];
	const uint8_t *t = arg_types(arg, map);
	int i;

	if (!t)
		return usm__verify_err(env, -EFAULT,
				       "verifier internal error: unsupported arg type %u",
				       arg);
	for (i = 0; t[i]; i++)
		if (t[i] == r->type)
			break;
	if (!t[i])
		return type_mismatch(env, regno, t);
	switch (r->type) {
	case USM_PTR_TO_STACK:
	case USM_PTR_TO_PACKET:
	case USM_PTR_TO_PACKET_META:
	case USM_PTR_TO_MAP_KEY:
	case USM_PTR_TO_MAP_VALUE:
	case USM_PTR_TO_MEM:
	case USM_SCALAR:
		return 0;
	default:
		return usm__verify_ptr_off_zero(env, regno, false);
	}
}

static int arg_mem(struct venv *env, uint32_t regno, uint8_t arg,
		   struct vmeta *m)
{
	const struct vreg *r = &vcur_regs(env)[regno];

	switch (arg) {
	case USM_ARG_CONST_MAP_PTR:
		m->map = r->map;
		return 0;
	case USM_ARG_PTR_TO_MAP_KEY:
		if (!m->map)
			return usm__verify_err(env, -EACCES,
					       "invalid map_ptr to access map->key");
		return usm__verify_helper_mem(env, regno, m->map->key_size,
					      false, false, false);
	case USM_ARG_PTR_TO_MAP_VALUE:
		if (!m->map)
			return usm__verify_err(env, -EACCES,
					       "invalid map_ptr to access map->value");
		if (is_sock_map(m->map))
			return 0;
		return usm__verify_helper_mem(env, regno, m->map->value_size,
					      false, false, false);
	case USM_ARG_PTR_TO_UNINIT_MEM:
		m->raw_regno = (int)regno;
		return 0;
	case USM_ARG_PTR_TO_LONG:
		m->raw_regno = (int)regno;
		m->raw_size = 8;
		return usm__verify_helper_mem(env, regno, 8, true, false, true);
	case USM_ARG_CONST_SIZE:
	case USM_ARG_CONST_SIZE_OR_ZERO: {
		bool raw = m->raw_regno == (int)regno - 1;
		int err = usm__verify_mem_size(env, regno,
					       arg == USM_ARG_CONST_SIZE_OR_ZERO,
					       raw, raw);

		if (raw && !err && usm__tnum_is_const(r->var_off))
			m->raw_size = (int)r->var_off.value;
		else if (raw)
			m->raw_regno = -1;
		return err ? err : usm__verify_mark_precise(env, regno);
	}
	default:
		return 0;
	}
}

static int check_arg(struct venv *env, uint32_t a, struct vmeta *m)
{
	uint32_t regno = a + 1;
	uint8_t arg = m->fn->args[a];
	struct vreg *r = &vcur_regs(env)[regno];
	int err;

	if (arg == USM_ARG_NONE)
		return 0;
	if ((err = usm__verify_check_reg(env, regno, false)))
		return err;
	if (arg == USM_ARG_ANYTHING) {
		if (usm__verify_is_leak(env, r))
			return usm__verify_err(env, -EACCES,
					       "R%u leaks addr into helper function",
					       regno);
		return 0;
	}
	if (usm__reg_is_pkt(r) && !pkt_access_ok(env, m->fn->id))
		return usm__verify_err(env, -EACCES,
				       "helper access to the packet is not allowed");
	if (usm__reg_is_null(r) && arg_may_be_null(arg))
		err = usm__verify_mark_precise(env, regno);
	else
		err = check_type(env, regno, arg, m->map);
	if (err)
		return err;
	if (a == 0 && (m->fn->flags & USM_HF_RELEASE)) {
		if (!r->ref_obj_id && !usm__reg_is_null(r))
			return usm__verify_err(env, -EINVAL,
					       "R%u must be referenced when passed to release function",
					       regno);
		m->release_regno = (int)regno;
	}
	if (r->ref_obj_id)
		m->ref_obj_id = r->ref_obj_id;
	return arg_mem(env, regno, arg, m);
}

/* ---- map/helper pairing ---- */

/* bpf_map_update_elem/delete_elem on a socket map (may_update_sockmap). */
static bool may_update_sockmap(struct venv *env, uint32_t id)
{
	if (id != BPF_FUNC_map_update_elem && id != BPF_FUNC_map_delete_elem)
		return false;
	if (env->pt->type == BPF_PROG_TYPE_SK_REUSEPORT)
		return true;
	if (env->pt->type == BPF_PROG_TYPE_SOCK_OPS &&
	    id == BPF_FUNC_map_delete_elem)
		return true;
	usm__verify_err(env, -EINVAL, "cannot update sockmap in this context");
	return false;
}

/* What a map type allows (the first half of the kernel's check). */
static bool map_allows(struct venv *env, const struct usm_map *map,
		       uint32_t id)
{
	switch (map->map_type) {
	case BPF_MAP_TYPE_PROG_ARRAY:
		return id == BPF_FUNC_tail_call;
	case BPF_MAP_TYPE_ARRAY_OF_MAPS:
	case BPF_MAP_TYPE_HASH_OF_MAPS:
		return id == BPF_FUNC_map_lookup_elem;
	case BPF_MAP_TYPE_SOCKMAP:
		return id == BPF_FUNC_sk_redirect_map ||
		       id == BPF_FUNC_sock_map_update ||
		       id == BPF_FUNC_msg_redirect_map ||
		       id == BPF_FUNC_sk_select_reuseport ||
		       id == BPF_FUNC_map_lookup_elem ||
		       may_update_sockmap(env, id);
	case BPF_MAP_TYPE_SOCKHASH:
		return id == BPF_FUNC_sk_redirect_hash ||
		       id == BPF_FUNC_sock_hash_update ||
		       id == BPF_FUNC_msg_redirect_hash ||
		       id == BPF_FUNC_sk_select_reuseport ||
		       id == BPF_FUNC_map_lookup_elem ||
		       may_update_sockmap(env, id);
	case BPF_MAP_TYPE_REUSEPORT_SOCKARRAY:
		return id == BPF_FUNC_sk_select_reuseport;
	default:
		return true;
	}
}

/* What a helper requires of its map (the second half). */
static bool helper_allows(const struct usm_map *map, uint32_t id)
{
	uint32_t t = map->map_type;

	switch (id) {
	case BPF_FUNC_tail_call:
		return t == BPF_MAP_TYPE_PROG_ARRAY;
	case BPF_FUNC_sk_redirect_map:
	case BPF_FUNC_msg_redirect_map:
	case BPF_FUNC_sock_map_update:
		return t == BPF_MAP_TYPE_SOCKMAP;
	case BPF_FUNC_sk_redirect_hash:
	case BPF_FUNC_msg_redirect_hash:
	case BPF_FUNC_sock_hash_update:
		return t == BPF_MAP_TYPE_SOCKHASH;
	case BPF_FUNC_sk_select_reuseport:
		return t == BPF_MAP_TYPE_REUSEPORT_SOCKARRAY ||
		       t == BPF_MAP_TYPE_SOCKMAP || t == BPF_MAP_TYPE_SOCKHASH;
	case BPF_FUNC_map_lookup_percpu_elem:
		return t == BPF_MAP_TYPE_PERCPU_ARRAY ||
		       t == BPF_MAP_TYPE_PERCPU_HASH ||
		       t == BPF_MAP_TYPE_LRU_PERCPU_HASH;
	default:
		return true;
	}
}

static int map_compat(struct venv *env, const struct usm_map *map,
		      uint32_t id)
{
	if (!map)
		return 0;
	if (!map_allows(env, map, id) || !helper_allows(map, id))
		return usm__verify_err(env, -EINVAL,
				       "cannot pass map_type %u into func %s#%u",
				       map->map_type, usm__verify_helper_name(id),
				       id);
	if (id == BPF_FUNC_tail_call && env->nsub > 1)
		return usm__verify_err(env, -EINVAL,
				       "tail_calls are not allowed in non-JITed programs with bpf-to-bpf calls");
	return 0;
}

/* ---- effects ---- */

static void invalidate(struct venv *env, struct vreg *r)
{
	if (env->priv)
		usm__reg_mark_unknown(r);
	else
		usm__reg_mark_not_init(r);
}

static void pkt_invalidate(struct venv *env, struct vreg *r, void *arg)
{
	(void)arg;
	if (usm__reg_is_pkt(r) || r->type == USM_PTR_TO_PACKET_END)
		invalidate(env, r);
}

static void ref_invalidate(struct venv *env, struct vreg *r, void *arg)
{
	if (r->ref_obj_id && r->ref_obj_id == *(uint32_t *)arg)
		invalidate(env, r);
}

static int release(struct venv *env, struct vmeta *m)
{
	uint32_t id = m->ref_obj_id;

	if (!id)
		return 0; /* NULL passed: nothing to release */
	if (usm__vstate_release_ref(env, id))
		return usm__verify_err(env, -EINVAL,
				       "func %s#%u reference has not been acquired before",
				       usm__verify_helper_name(m->fn->id),
				       m->fn->id);
	usm__verify_for_each_reg(env, env->cur, ref_invalidate, &id);
	return 0;
}

static int set_r0(struct venv *env, struct vmeta *m)
{
	struct vreg *r0 = &vcur_regs(env)[0];
	bool acquire = (m->fn->flags & USM_HF_ACQUIRE) ||
		       (m->fn->id == BPF_FUNC_map_lookup_elem &&
			is_sock_map(m->map));
	int id;

	switch (m->fn->ret) {
	case USM_RET_VOID:
		usm__reg_mark_not_init(r0);
		return 0;
	case USM_RET_PTR_TO_MAP_VALUE_OR_NULL:
		if (!m->map)
			return usm__verify_err(env, -EINVAL,
					       "kernel subsystem misconfigured verifier");
		r0->type = USM_PTR_TO_MAP_VALUE_OR_NULL;
		usm__reg_mark_known_zero(r0);
		r0->map = m->map;
		break;
	case USM_RET_PTR_TO_SOCKET_OR_NULL:
	case USM_RET_PTR_TO_SOCK_COMMON_OR_NULL:
	case USM_RET_PTR_TO_MEM_OR_NULL:
		r0->type = m->fn->ret == USM_RET_PTR_TO_SOCKET_OR_NULL
				   ? USM_PTR_TO_SOCKET_OR_NULL
			   : m->fn->ret == USM_RET_PTR_TO_SOCK_COMMON_OR_NULL
				   ? USM_PTR_TO_SOCK_COMMON_OR_NULL
				   : USM_PTR_TO_MEM_OR_NULL;
		usm__reg_mark_known_zero(r0);
		break;
	default:
		usm__reg_mark_unknown(r0);
		return 0;
	}
	r0->id = ++env->id_gen;
	if (!acquire)
		return 0;
	id = usm__vstate_acquire_ref(env, env->insn_idx);
	if (id < 0)
		return id;
	r0->id = (uint32_t)id;
	r0->ref_obj_id = (uint32_t)id;
	return 0;
}

static int rdonly_map_write(struct venv *env, const struct vmeta *m)
{
	uint32_t id = m->fn->id;

	if (m->map && (m->map->map_flags & BPF_F_RDONLY_PROG) &&
	    (id == BPF_FUNC_map_delete_elem || id == BPF_FUNC_map_update_elem ||
	     id == BPF_FUNC_map_push_elem || id == BPF_FUNC_map_pop_elem))
		return usm__verify_err(env, -EACCES, "write into map forbidden");
	return 0;
}

static int helper_proto(struct venv *env, int32_t id,
			const struct usm_helper **fn)
{
	if (id < 0 || id >= __BPF_FUNC_MAX_ID)
		return usm__verify_err(env, -EINVAL, "invalid func %s#%d",
				       "unknown", id);
	*fn = env->pt->get_helper((uint32_t)id);
	if (!*fn)
		return usm__verify_err(env, -EINVAL,
				       "program of this type cannot use helper %s#%d",
				       usm__verify_helper_name((uint32_t)id), id);
	if (((*fn)->flags & USM_HF_GPL_ONLY) && !env->prog->gpl_compatible)
		return usm__verify_err(env, -EINVAL,
				       "cannot call GPL-restricted function from non-GPL compatible program");
	return 0;
}

static int helper_call(struct venv *env, const struct bpf_insn *i)
{
	struct vmeta m = { .raw_regno = -1 };
	struct vreg *regs;
	uint32_t a;
	int err;

	if ((err = helper_proto(env, i->imm, &m.fn)))
		return err;
	env->aux[env->insn_idx].helper = m.fn;
	for (a = 0; a < 5; a++)
		if ((err = check_arg(env, a, &m)))
			return err;
	if ((err = rdonly_map_write(env, &m)))
		return err;
	if (m.raw_regno >= 0 && m.raw_size > 0 &&
	    (err = usm__verify_helper_wrote(env, (uint32_t)m.raw_regno,
					    m.raw_size)))
		return err;
	if (m.release_regno && (err = release(env, &m)))
		return err;
	if (m.fn->id == BPF_FUNC_tail_call && env->cur->nrefs)
		return usm__verify_err(env, -EINVAL,
				       "tail_call would lead to reference leak");
	regs = vcur_regs(env);
	for (a = 0; a <= 5; a++)
		usm__reg_mark_not_init(&regs[a]);
	if ((err = set_r0(env, &m)) || (err = map_compat(env, m.map, m.fn->id)))
		return err;
	if (m.fn->flags & USM_HF_PKT_CHANGE)
		usm__verify_for_each_reg(env, env->cur, pkt_invalidate, NULL);
	return 0;
}

/* ---- bpf-to-bpf ---- */

static int subprog_call(struct venv *env, const struct bpf_insn *i,
			uint32_t *next)
{
	struct vstate *st = env->cur;
	struct vframe *caller = vcur_frame(env), *callee;
	uint32_t target = env->insn_idx + 1 + (uint32_t)i->imm, r;

	if (st->curframe + 1 >= USM_MAX_CALL_FRAMES)
		return usm__verify_err(env, -E2BIG,
				       "the call stack of %u frames is too deep",
				       st->curframe + 2);
	callee = usm__vframe_new();
	if (!callee)
		return -ENOMEM;
	for (r = 0; r < USM_NR_REGS; r++)
		usm__reg_mark_not_init(&callee->regs[r]);
	for (r = 1; r <= 5; r++)
		callee->regs[r] = caller->regs[r];
	callee->regs[10].type = USM_PTR_TO_STACK;
	usm__reg_mark_known_zero(&callee->regs[10]);
	callee->frameno = st->curframe + 1;
	callee->regs[10].frameno = (uint8_t)callee->frameno;
	callee->callsite = env->insn_idx;
	callee->subprog = usm__verify_find_subprog(env, target);
	for (r = 0; r <= 5; r++)
		usm__reg_mark_not_init(&caller->regs[r]);
	st->frame[++st->curframe] = callee;
	*next = target;
	return 0;
}

int usm__verify_call(struct venv *env, const struct bpf_insn *i,
		     uint32_t *next)
{
	if (i->off || i->dst_reg ||
	    (i->src_reg != 0 && i->src_reg != BPF_PSEUDO_CALL))
		return usm__verify_err(env, -EINVAL,
				       "BPF_CALL uses reserved fields");
	if (i->src_reg == BPF_PSEUDO_CALL)
		return subprog_call(env, i, next);
	return helper_call(env, i);
}

/* ---- exit ---- */

static int return_range(struct venv *env)
{
	const struct vreg *r0 = &vcur_regs(env)[0];
	int err;

	if (env->pt->type != BPF_PROG_TYPE_SOCK_OPS)
		return 0;
	if (r0->type == USM_SCALAR && (err = usm__verify_mark_precise(env, 0)))
		return err;
	if (r0->type != USM_SCALAR)
		return usm__verify_err(env, -EINVAL,
				       "At program exit the register R0 is not a known value (%s)",
				       usm__verify_type_name(r0->type));
	if (r0->smin >= 0 && r0->smax <= 1)
		return 0;
	if (r0->smin > INT64_MIN && r0->smax < INT64_MAX)
		return usm__verify_err(env, -EINVAL,
				       "At program exit the register R0 has smin=%lld smax=%lld should have been in [0, 1]",
				       (long long)r0->smin, (long long)r0->smax);
	if (r0->smin > INT64_MIN)
		return usm__verify_err(env, -EINVAL,
				       "At program exit the register R0 has smin=%lld should have been in [0, 1]",
				       (long long)r0->smin);
	if (r0->smax < INT64_MAX)
		return usm__verify_err(env, -EINVAL,
				       "At program exit the register R0 has smax=%lld should have been in [0, 1]",
				       (long long)r0->smax);
	return usm__verify_err(env, -EINVAL,
			       "At program exit the register R0 has unknown scalar value should have been in [0, 1]");
}

static int main_exit(struct venv *env)
{
	struct vstate *st = env->cur;
	uint32_t k;
	int err;

	for (k = 0; k < st->nrefs; k++)
		usm__verify_err(env, -EINVAL,
				"Unreleased reference id=%u alloc_insn=%u",
				st->refs[k].id, st->refs[k].insn);
	if (st->nrefs)
		return -EINVAL;
	if ((err = usm__verify_check_reg(env, 0, false)))
		return err;
	if (usm__verify_is_leak(env, &vcur_regs(env)[0]))
		return usm__verify_err(env, -EACCES,
				       "R0 leaks addr as return value");
	if ((err = return_range(env)))
		return err;
	return 1;
}

int usm__verify_exit(struct venv *env, uint32_t *next)
{
	const struct bpf_insn *i = &env->insns[env->insn_idx];
	struct vstate *st = env->cur;
	struct vframe *callee;

	if (i->imm || i->src_reg || i->dst_reg)
		return usm__verify_err(env, -EINVAL,
				       "BPF_EXIT uses reserved fields");
	if (!st->curframe)
		return main_exit(env);
	callee = st->frame[st->curframe];
	if (callee->regs[0].type == USM_PTR_TO_STACK)
		return usm__verify_err(env, -EINVAL,
				       "cannot return stack pointer to the caller");
	st->frame[st->curframe - 1]->regs[0] = callee->regs[0];
	*next = callee->callsite + 1;
	st->frame[st->curframe--] = NULL;
	usm__vframe_free(callee);
	return 0;
}
