/* SPDX-License-Identifier: MIT */
/*
 * The program object: allocation, reference counting, the instruction copy,
 * the map table, and the two load-time transformations that are not safety
 * checks: ld_imm64 map operands become real addresses, and helper calls are
 * resolved once into a per-instruction prototype table.
 *
 * Invariants: prog->maps[0..map_cnt) each hold one reference; xinsns,
 * subprogs and call_helpers are either all absent (not verified) or built
 * from the current insns. Ids come from a process-wide atomic counter and are
 * never reused while the process runs.
 */
#include "vm.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../helpers/helpers.h"
#include "../maps/map.h"
#include "../progtype/progtype.h"

static uint32_t next_prog_id;

/*
 * Live programs by id (BPF_PROG_GET_FD_BY_ID, PROG_GET_NEXT_ID). Ids only
 * grow, so the table stays sorted by appending; a program leaves it under
 * the lock before it is freed, and lookups take a reference only while the
 * count is still positive, so a program being freed is never returned.
 */
static pthread_mutex_t id_lock = PTHREAD_MUTEX_INITIALIZER;
static struct usm_prog **id_progs;
static uint32_t id_cnt, id_cap;

/* Index of the first entry with id >= @id (id_lock held). */
static uint32_t id_find(uint32_t id)
{
	uint32_t lo = 0, hi = id_cnt;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (id_progs[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int id_add(struct usm_prog *prog)
{
	int err = 0;

	pthread_mutex_lock(&id_lock);
	prog->id = __atomic_add_fetch(&next_prog_id, 1, __ATOMIC_RELAXED);
	if (id_cnt == id_cap) {
		uint32_t cap = id_cap ? id_cap * 2 : 64;
		struct usm_prog **n = realloc(id_progs, cap * sizeof(*n));

		if (!n)
			err = -ENOMEM;
		else {
			id_progs = n;
			id_cap = cap;
		}
	}
	if (!err)
		id_progs[id_cnt++] = prog;
	pthread_mutex_unlock(&id_lock);
	return err;
}

static void id_del(struct usm_prog *prog)
{
	uint32_t i;

	pthread_mutex_lock(&id_lock);
	i = id_find(prog->id);
	if (i < id_cnt && id_progs[i] == prog) {
		memmove(&id_progs[i], &id_progs[i + 1],
			(id_cnt - i - 1) * sizeof(*id_progs));
		id_cnt--;
	}
	if (!id_cnt) {
		free(id_progs);
		id_progs = NULL;
		id_cap = 0;
	}
	pthread_mutex_unlock(&id_lock);
}

/* Take a reference unless the count already reached zero. */
static bool prog_tryget(struct usm_prog *prog)
{
	int c = __atomic_load_n(&prog->refcnt, __ATOMIC_RELAXED);

	while (c > 0)
		if (__atomic_compare_exchange_n(&prog->refcnt, &c, c + 1, false,
						__ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED))
			return true;
	return false;
}

int usm__prog_new(struct usm_prog **out)
{
	struct usm_prog *prog;

	*out = NULL;
	prog = calloc(1, sizeof(*prog));
	if (!prog)
		return -ENOMEM;
	prog->refcnt = 1;
	if (id_add(prog)) {
		free(prog);
		return -ENOMEM;
	}
	*out = prog;
	return 0;
}

int usm__prog_get_by_id(uint32_t id, struct usm_prog **out)
{
	uint32_t i;
	int err = -ENOENT;

	pthread_mutex_lock(&id_lock);
	i = id_find(id);
	/* Only loaded (verified) programs have an id in the kernel's sense. */
	if (i < id_cnt && id_progs[i]->id == id && id_progs[i]->verified &&
	    prog_tryget(id_progs[i])) {
		*out = id_progs[i];
		err = 0;
	}
	pthread_mutex_unlock(&id_lock);
	return err;
}

int usm__prog_get_next_id(uint32_t start, uint32_t *next_id)
{
	uint32_t i;
	int err = -ENOENT;

	pthread_mutex_lock(&id_lock);
	for (i = id_find(start + 1); i < id_cnt; i++) {
		if (id_progs[i]->verified) {
			*next_id = id_progs[i]->id;
			err = 0;
			break;
		}
	}
	pthread_mutex_unlock(&id_lock);
	return err;
}

void usm__prog_get(struct usm_prog *prog)
{
	if (prog)
		__atomic_add_fetch(&prog->refcnt, 1, __ATOMIC_RELAXED);
}

/* Drop everything the verifier (or trust_for_test) built. */
static void prog_clear_exec(struct usm_prog *prog)
{
	free(prog->xinsns);
	free(prog->subprogs);
	free(prog->call_helpers);
	prog->xinsns = NULL;
	prog->subprogs = NULL;
	prog->call_helpers = NULL;
	prog->subprog_cnt = 0;
	prog->verified = false;
}

void usm__prog_put(struct usm_prog *prog)
{
	uint32_t i;

	if (!prog || __atomic_sub_fetch(&prog->refcnt, 1, __ATOMIC_ACQ_REL))
		return;
	id_del(prog);
	prog_clear_exec(prog);
	for (i = 0; i < prog->map_cnt; i++)
		usm__map_put(prog->maps[i]);
	free(prog->maps);
	free(prog->insns);
	free(prog);
}

int usm__prog_set_insns(struct usm_prog *prog, const struct bpf_insn *insns,
			uint32_t cnt)
{
	struct bpf_insn *copy;

	/* A verified program is immutable (vm.h). */
	if (!insns || !cnt || prog->verified)
		return -EINVAL;
	if (cnt > USM_MAX_INSNS)
		return -E2BIG;
	copy = malloc((size_t)cnt * sizeof(*copy));
	if (!copy)
		return -ENOMEM;
	memcpy(copy, insns, (size_t)cnt * sizeof(*copy));
	free(prog->insns);
	prog->insns = copy;
	prog->insn_cnt = cnt;
	return 0;
}

int usm__prog_add_map(struct usm_prog *prog, struct usm_map *map)
{
	struct usm_map **maps;

	if (!map || prog->verified)
		return -EINVAL;
	maps = realloc(prog->maps, (prog->map_cnt + 1) * sizeof(*maps));
	if (!maps)
		return -ENOMEM;
	prog->maps = maps;
	usm__map_get(map);
	maps[prog->map_cnt] = map;
	return (int)prog->map_cnt++;
}

/* The map an ld_imm64 at @i names, or NULL after logging why not. */
static struct usm_map *ld_imm64_map(struct usm_prog *prog,
				    const struct bpf_insn *x, uint32_t i,
				    struct usm_log *log)
{
	uint32_t idx = (uint32_t)x[i].imm;

	if (idx >= prog->map_cnt || !prog->maps[idx]) {
		usm__log(
		    log,
		    "%u: map index %u out of range (program has %u maps)\n", i,
		    idx, prog->map_cnt);
		return NULL;
	}
	return prog->maps[idx];
}

/* Rewrite the ld_imm64 pair at @i (already checked well-formed). */
static int fixup_one(struct usm_prog *prog, struct bpf_insn *x, uint32_t i,
		     struct usm_log *log)
{
	struct usm_map *map;
	uint64_t addr;
	int err;

	if (x[i].src_reg == BPF_PSEUDO_MAP_IDX && x[i + 1].imm != 0) {
		usm__log(log, "%u: unrecognized bpf_ld_imm64 insn\n", i);
		return -EINVAL;
	}
	map = ld_imm64_map(prog, x, i, log);
	if (!map)
		return -EINVAL;
	if (x[i].src_reg == BPF_PSEUDO_MAP_IDX) {
		addr = (uint64_t)(uintptr_t)map;
	} else {
		uint32_t off = (uint32_t)x[i + 1].imm;

		if (!map->ops || !map->ops->direct_value_addr) {
			usm__log(log,
				 "%u: no direct value access support for this "
				 "map type\n",
				 i);
			return -EINVAL;
		}
		/* As the kernel's map_direct_value_addr: checks @off,
		 * returns the value's base; the offset is added here. */
		err = map->ops->direct_value_addr(map, &addr, off);
		if (err) {
			usm__log(log,
				 "%u: invalid access to map value pointer, "
				 "value_size=%u off=%u\n",
				 i, map->value_size, off);
			return err;
		}
		addr += off;
	}
	x[i].src_reg = 0;
	x[i].imm = (int32_t)(uint32_t)addr;
	x[i + 1].imm = (int32_t)(uint32_t)(addr >> 32);
	return 0;
}

int usm__prog_fixup_ld_imm64(struct usm_prog *prog, struct bpf_insn *x,
			     struct usm_log *log)
{
	uint32_t i;
	int err;

	for (i = 0; i < prog->insn_cnt; i++) {
		if (x[i].code != (BPF_LD | BPF_IMM | BPF_DW))
			continue;
		if (i + 1 >= prog->insn_cnt || x[i + 1].code ||
		    x[i + 1].dst_reg || x[i + 1].src_reg || x[i + 1].off) {
			usm__log(log, "%u: invalid bpf_ld_imm64 insn\n", i);
			return -EINVAL;
		}
		switch (x[i].src_reg) {
		case 0:
			break;
		case BPF_PSEUDO_MAP_IDX:
		case BPF_PSEUDO_MAP_IDX_VALUE:
			err = fixup_one(prog, x, i, log);
			if (err)
				return err;
			break;
		default:
			/* fd forms are converted by the bpf(2) core first;
			 * BTF ids and callbacks are not supported. */
			usm__log(
			    log,
			    "%u: unrecognized bpf_ld_imm64 insn (src_reg %u)\n",
			    i, x[i].src_reg);
			return -EINVAL;
		}
		i++;
	}
	return 0;
}

int usm__prog_resolve_helpers(struct usm_prog *prog, struct usm_log *log)
{
	const struct usm_helper **tab;
	const struct bpf_insn *x = prog->xinsns;
	uint32_t i;

	if (!x)
		return -EINVAL;
	tab = calloc(prog->insn_cnt, sizeof(*tab));
	if (!tab)
		return -ENOMEM;
	for (i = 0; i < prog->insn_cnt; i++) {
		if (x[i].code == (BPF_LD | BPF_IMM | BPF_DW)) {
			i++;
			continue;
		}
		if (x[i].code != (BPF_JMP | BPF_CALL) || x[i].src_reg != 0 ||
		    x[i].imm == BPF_FUNC_tail_call)
			continue;
		if (prog->pt && prog->pt->get_helper)
			tab[i] = prog->pt->get_helper((uint32_t)x[i].imm);
		if (!tab[i]) {
			usm__log(
			    log, "%u: unknown func #%d for program type %s\n",
			    i, x[i].imm, prog->pt ? prog->pt->name : "(none)");
			free(tab);
			return -EINVAL;
		}
	}
	free(prog->call_helpers);
	prog->call_helpers = tab;
	return 0;
}

int usm__prog_trust_for_test(struct usm_prog *prog)
{
	struct usm_subprog *sub;
	struct bpf_insn *x;
	int err;

	if (!prog->insns || !prog->insn_cnt || prog->verified)
		return -EINVAL;
	x = malloc((size_t)prog->insn_cnt * sizeof(*x));
	sub = calloc(1, sizeof(*sub));
	if (!x || !sub) {
		err = -ENOMEM;
		goto err_free;
	}
	memcpy(x, prog->insns, (size_t)prog->insn_cnt * sizeof(*x));
	err = usm__prog_fixup_ld_imm64(prog, x, NULL);
	if (err)
		goto err_free;
	prog->xinsns = x;
	if (prog->pt) {
		err = usm__prog_resolve_helpers(prog, NULL);
		if (err) {
			prog->xinsns = NULL;
			goto err_free;
		}
	}
	sub->stack_depth = USM_STACK_SIZE;
	prog->subprogs = sub;
	prog->subprog_cnt = 1;
	prog->stack_depth = USM_STACK_SIZE;
	prog->verified = true;
	return 0;

err_free:
	free(x);
	free(sub);
	return err;
}
