/* SPDX-License-Identifier: MIT */
/*
 * Checks on the program as a whole, before and after the path walk, in the
 * kernel's order (add_subprog_and_kfunc, check_subprogs,
 * resolve_pseudo_ldimm64, check_cfg; check_max_stack_depth after):
 *   - subprograms are the targets of BPF_PSEUDO_CALL; kfunc calls and
 *     callback references are refused;
 *   - every jump stays inside its subprogram, whose last instruction is an
 *     exit or an unconditional jump;
 *   - opcodes are known, ld_imm64 is well formed and names a map by index;
 *   - every instruction is reachable and no jump lands inside an ld_imm64;
 *   - along any call chain at most 8 frames and 512 bytes of stack.
 * It also computes, per instruction, the prune points of the walk and the
 * registers live on entry (backward dataflow), which state pruning uses.
 */
#include "verify.h"

#include <stdlib.h>
#include <string.h>

#include "../maps/map.h"

#define VMAX_SUBPROGS 256u

static bool is_pseudo_call(const struct bpf_insn *i)
{
	return i->code == (BPF_JMP | BPF_CALL) && i->src_reg == BPF_PSEUDO_CALL;
}

static bool is_lddw(const struct bpf_insn *i)
{
	return i->code == (BPF_LD | BPF_IMM | BPF_DW);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int collect_subprogs(struct venv *env, uint32_t *starts, uint32_t *n)
{
	uint32_t i;

	starts[(*n)++] = 0;
	for (i = 0; i < env->len; i++) {
		const struct bpf_insn *in = &env->insns[i];
		int64_t t = (int64_t)i + in->imm + 1;

		if (in->code == (BPF_JMP | BPF_CALL) &&
		    in->src_reg == BPF_PSEUDO_KFUNC_CALL)
			return usm__verify_err_plain(
				env, -EINVAL,
				"insn %u: kernel function calls are not supported",
				i);
		if (is_lddw(in) && in->src_reg == BPF_PSEUDO_FUNC)
			return usm__verify_err_plain(
				env, -EINVAL,
				"insn %u: callback references (BPF_PSEUDO_FUNC) are not supported",
				i);
		if (!is_pseudo_call(in))
			continue;
		if (t < 0 || t >= env->len)
			return usm__verify_err_plain(env, -EINVAL,
						     "call to invalid destination");
		if (*n >= VMAX_SUBPROGS)
			return usm__verify_err_plain(env, -E2BIG,
						     "too many subprograms");
		starts[(*n)++] = (uint32_t)t;
	}
	return 0;
}

static int find_subprogs(struct venv *env)
{
	uint32_t *starts = malloc(sizeof(*starts) * VMAX_SUBPROGS), n = 0, k, j;
	int err;

	if (!starts)
		return -ENOMEM;
	err = collect_subprogs(env, starts, &n);
	if (!err) {
		qsort(starts, n, sizeof(*starts), cmp_u32);
		for (k = 1, j = 1; k < n; k++)
			if (starts[k] != starts[j - 1])
				starts[j++] = starts[k];
		n = j;
		env->sub = calloc(n + 1, sizeof(*env->sub));
		err = env->sub ? 0 : -ENOMEM;
	}
	if (!err) {
		for (k = 0; k < n; k++) {
			env->sub[k].start = starts[k];
			env->sub[k].end = k + 1 < n ? starts[k + 1] : env->len;
		}
		env->sub[n].start = env->len;
		env->nsub = n;
	}
	free(starts);
	return err;
}

uint32_t usm__verify_find_subprog(const struct venv *env, uint32_t start)
{
	uint32_t lo = 0, hi = env->nsub;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (env->sub[mid].start < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < env->nsub ? lo : 0;
}

/* Jumps stay inside their subprogram; each one ends in exit/ja. */
static int check_subprogs(struct venv *env)
{
	uint32_t s, i;

	for (s = 0; s < env->nsub; s++) {
		struct vsubprog *sp = &env->sub[s];

		for (i = sp->start; i < sp->end; i++) {
			const struct bpf_insn *in = &env->insns[i];
			uint8_t cls = BPF_CLASS(in->code), op = BPF_OP(in->code);
			int64_t t;

			env->aux[i].subprog = s;
			if (in->code == (BPF_JMP | BPF_CALL) && !in->src_reg &&
			    in->imm == BPF_FUNC_tail_call)
				sp->has_tail_call = true;
			if ((cls != BPF_JMP && cls != BPF_JMP32) ||
			    op == BPF_EXIT || op == BPF_CALL)
				continue;
			t = (int64_t)i + 1 +
			    (in->code == (BPF_JMP32 | BPF_JA) ? in->imm : in->off);
			if (t < sp->start || t >= sp->end)
				return usm__verify_err_plain(
					env, -EINVAL,
					"jump out of range from insn %u to %lld",
					i, (long long)t);
		}
		i = sp->end - 1;
		if (env->insns[i].code != (BPF_JMP | BPF_EXIT) &&
		    env->insns[i].code != (BPF_JMP | BPF_JA) &&
		    env->insns[i].code != (BPF_JMP32 | BPF_JA))
			return usm__verify_err_plain(env, -EINVAL,
						     "last insn is not an exit or jmp");
	}
	return 0;
}

static int check_map_ref(struct venv *env, uint32_t i)
{
	const struct bpf_insn *in = &env->insns[i];
	struct usm_map *map;
	uint32_t off = (uint32_t)in[1].imm;
	uint64_t addr;

	if ((uint32_t)in->imm >= env->prog->map_cnt || !env->prog->maps ||
	    !env->prog->maps[in->imm])
		return usm__verify_err_plain(
			env, -EINVAL,
			"insn %u: map index %d is not one of the program's %u maps",
			i, in->imm, env->prog->map_cnt);
	if (in->src_reg != BPF_PSEUDO_MAP_IDX_VALUE)
		return 0;
	map = env->prog->maps[in->imm];
	if (off >= (uint32_t)VMAX_VAR_OFF)
		return usm__verify_err_plain(
			env, -EINVAL, "direct value offset of %u is not allowed",
			off);
	if (!map->ops || !map->ops->direct_value_addr)
		return usm__verify_err_plain(
			env, -EINVAL,
			"no direct value access support for this map type");
	if (map->ops->direct_value_addr(map, &addr, off))
		return usm__verify_err_plain(
			env, -EACCES,
			"invalid access to map value pointer, value_size=%u off=%u",
			map->value_size, off);
	return 0;
}

static int check_lddw(struct venv *env, uint32_t i)
{
	const struct bpf_insn *in = &env->insns[i];

	if (i == env->len - 1 || in[1].code || in[1].dst_reg ||
	    in[1].src_reg || in[1].off)
		return usm__verify_err_plain(env, -EINVAL,
					     "invalid bpf_ld_imm64 insn");
	if (in->src_reg == 0)
		return 0;
	if (in->src_reg != BPF_PSEUDO_MAP_IDX_VALUE &&
	    !(in->src_reg == BPF_PSEUDO_MAP_IDX && in[1].imm == 0))
		return usm__verify_err_plain(env, -EINVAL,
					     "unrecognized bpf_ld_imm64 insn");
	return check_map_ref(env, i);
}

/* Opcodes and ld_imm64 (resolve_pseudo_ldimm64). */
static int check_insns(struct venv *env)
{
	uint32_t i;
	int err;

	for (i = 0; i < env->len; i++) {
		const struct bpf_insn *in = &env->insns[i];

		if (BPF_CLASS(in->code) == BPF_LDX &&
		    ((BPF_MODE(in->code) != BPF_MEM &&
		      BPF_MODE(in->code) != USM_BPF_MEMSX) || in->imm))
			return usm__verify_err_plain(env, -EINVAL,
						     "BPF_LDX uses reserved fields");
		if (is_lddw(in)) {
			if ((err = check_lddw(env, i)))
				return err;
			i++;
			continue;
		}
		if (usm__opinfo[in->code].kind == USM_K_INVALID)
			return usm__verify_err_plain(env, -EINVAL,
						     "unknown opcode %02x",
						     in->code);
	}
	return 0;
}

int usm__verify_structure(struct venv *env)
{
	int err;

	if ((err = find_subprogs(env)) || (err = check_subprogs(env)))
		return err;
	return check_insns(env);
}

/* ---- reachability and prune points (check_cfg) ---- */

struct vsucc {
	uint32_t n;
	int64_t to[2];
};

static struct vsucc successors(const struct venv *env, uint32_t t)
{
	const struct bpf_insn *in = &env->insns[t];
	struct vsucc s = { 0, { 0, 0 } };

	switch (usm__opinfo[in->code].kind) {
	case USM_K_EXIT:
		break;
	case USM_K_JA:
		s.to[s.n++] = (int64_t)t + 1 +
			      (BPF_CLASS(in->code) == BPF_JMP32 ? in->imm : in->off);
		break;
	case USM_K_JMP:
		s.to[s.n++] = t + 1;
		s.to[s.n++] = (int64_t)t + 1 + in->off;
		break;
	case USM_K_CALL:
		s.to[s.n++] = t + 1;
		if (in->src_reg == BPF_PSEUDO_CALL)
			s.to[s.n++] = (int64_t)t + 1 + in->imm;
		break;
	case USM_K_LDDW:
		s.to[s.n++] = t + 2;
		break;
	default:
		s.to[s.n++] = t + 1;
		break;
	}
	return s;
}

static void mark_prune(struct venv *env, uint32_t t)
{
	const struct bpf_insn *in = &env->insns[t];
	struct vsucc s = successors(env, t);
	uint8_t kind = usm__opinfo[in->code].kind;

	if (kind == USM_K_JMP) {
		env->aux[t].prune_point = true;
		if (s.to[1] >= 0 && s.to[1] < env->len)
			env->aux[s.to[1]].prune_point = true;
	} else if (kind == USM_K_JA && s.to[0] >= 0 && s.to[0] < env->len) {
		env->aux[s.to[0]].prune_point = true;
	} else if (kind == USM_K_CALL) {
		if (t + 1 < env->len)
			env->aux[t + 1].prune_point = true;
		if (in->src_reg == BPF_PSEUDO_CALL) {
			env->aux[t].prune_point = true;
			env->aux[s.to[1]].prune_point = true;
		}
	}
}

int usm__verify_cfg(struct venv *env)
{
	uint32_t *work = malloc(sizeof(*work) * env->len), top = 0, i, k;
	uint8_t *seen = calloc(env->len, 1);
	int err = 0;

	if (!work || !seen) {
		free(work);
		free(seen);
		return -ENOMEM;
	}
	seen[0] = 1;
	work[top++] = 0;
	while (top && !err) {
		uint32_t t = work[--top];
		struct vsucc s = successors(env, t);

		mark_prune(env, t);
		for (k = 0; k < s.n; k++) {
			if (s.to[k] < 0 || s.to[k] >= env->len) {
				err = usm__verify_err_plain(
					env, -EINVAL,
					"jump out of range from insn %u to %lld",
					t, (long long)s.to[k]);
				break;
			}
			if (!seen[s.to[k]]) {
				seen[s.to[k]] = 1;
				work[top++] = (uint32_t)s.to[k];
			}
		}
	}
	for (i = 0; !err && i < env->len; i++) {
		if (!seen[i])
			err = usm__verify_err_plain(env, -EINVAL,
						    "unreachable insn %u", i);
		else if (is_lddw(&env->insns[i]) && seen[++i])
			err = usm__verify_err_plain(
				env, -EINVAL,
				"jump into the middle of ldimm64 insn %u", i - 1);
	}
	free(work);
	free(seen);
	return err;
}

/* ---- register liveness ---- */

#define R(n) ((uint16_t)(1u << (n)))
#define RMASK(n) ((n) < USM_NR_REGS ? R(n) : 0)

static void use_def(const struct bpf_insn *in, uint16_t *use, uint16_t *def)
{
	uint16_t d = RMASK(in->dst_reg), s = RMASK(in->src_reg);
	bool x = usm_insn_src_is_reg(in->code);

	*use = *def = 0;
	switch (usm__opinfo[in->code].kind) {
	case USM_K_ALU:
		*def = d;
		if (BPF_OP(in->code) == BPF_MOV)
			*use = x ? s : 0;
		else
			*use = d | (x ? s : 0);
		break;
	case USM_K_END:
		*use = *def = d;
		break;
	case USM_K_LDX:
	case USM_K_LDXSX:
		*use = s;
		*def = d;
		break;
	case USM_K_ST:
		*use = d;
		break;
	case USM_K_STX:
		*use = d | s;
		break;
	case USM_K_ATOMIC:
		*use = d | s;
		if (in->imm == BPF_CMPXCHG) {
			*use |= R(0);
			*def = R(0);
		} else if (in->imm & BPF_FETCH) {
			*def = s;
		}
		break;
	case USM_K_LDDW:
		*def = d;
		break;
	case USM_K_JMP:
		*use = d | (x ? s : 0);
		break;
	case USM_K_CALL:
		*use = R(1) | R(2) | R(3) | R(4) | R(5);
		*def = R(0) | *use;
		break;
	case USM_K_EXIT:
		*use = R(0);
		break;
	}
}

void usm__verify_liveness(struct venv *env)
{
	bool changed = true;
	uint32_t i, k;

	while (changed) {
		changed = false;
		for (i = env->len; i-- > 0;) {
			const struct bpf_insn *in = &env->insns[i];
			struct vsucc s = successors(env, i);
			uint16_t use, def, out = 0, live;

			if (i && is_lddw(&env->insns[i - 1]))
				continue; /* second slot */
			use_def(in, &use, &def);
			for (k = 0; k < s.n; k++) {
				if (k == 1 && usm__opinfo[in->code].kind == USM_K_CALL)
					continue; /* the callee has its own frame */
				out |= env->aux[s.to[k]].live_in;
			}
			live = (uint16_t)(use | (out & ~def) | R(10));
			if (live != env->aux[i].live_in) {
				env->aux[i].live_in = live;
				changed = true;
			}
		}
	}
}

/* ---- stack depth along call chains (check_max_stack_depth) ---- */

struct vdepth {
	uint32_t *depth;  /* deepest stack from this subprog down */
	uint8_t *frames;  /* longest chain from this subprog down */
	uint8_t *state;   /* 0 new, 1 on the walk, 2 done */
};

static uint32_t round16(uint32_t v)
{
	return (v + 15) & ~15u;
}

static int depth_of(struct venv *env, struct vdepth *d, uint32_t s)
{
	uint32_t i, best = 0, frames = 0;
	int err;

	if (d->state[s] == 2)
		return 0;
	if (d->state[s] == 1) /* recursion: the chain never ends */
		return usm__verify_err_plain(env, -E2BIG,
					     "the call stack of %u frames is too deep !",
					     USM_MAX_CALL_FRAMES);
	d->state[s] = 1;
	for (i = env->sub[s].start; i < env->sub[s].end; i++) {
		uint32_t c;

		if (!is_pseudo_call(&env->insns[i]))
			continue;
		c = usm__verify_find_subprog(env, i + 1 + (uint32_t)env->insns[i].imm);
		if ((err = depth_of(env, d, c)))
			return err;
		if (d->depth[c] > best)
			best = d->depth[c];
		if (d->frames[c] > frames)
			frames = d->frames[c];
	}
	d->depth[s] = round16(env->sub[s].stack_depth) + best;
	d->frames[s] = (uint8_t)(frames + 1 > 255 ? 255 : frames + 1);
	d->state[s] = 2;
	return 0;
}

int usm__verify_stack_depth(struct venv *env, uint32_t *deepest)
{
	struct vdepth d;
	int err = -ENOMEM;

	d.depth = calloc(env->nsub, sizeof(*d.depth));
	d.frames = calloc(env->nsub, 1);
	d.state = calloc(env->nsub, 1);
	if (d.depth && d.frames && d.state)
		err = depth_of(env, &d, 0);
	if (!err && d.frames[0] > USM_MAX_CALL_FRAMES)
		err = usm__verify_err_plain(env, -E2BIG,
					    "the call stack of %u frames is too deep !",
					    USM_MAX_CALL_FRAMES);
	if (!err && d.depth[0] > USM_STACK_SIZE)
		err = usm__verify_err_plain(
			env, -EACCES,
			"combined stack size of %u calls is %u. Too large",
			d.frames[0], d.depth[0]);
	if (!err)
		*deepest = d.depth[0];
	free(d.depth);
	free(d.frames);
	free(d.state);
	return err;
}
