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
#include <stdlib.h>
#include <string.h>

#include "../helpers/helpers.h"
#include "../maps/map.h"
#include "../progtype/progtype.h"

static uint32_t next_prog_id;

int usm__prog_new(struct usm_prog **out)
{
	struct usm_prog *prog;

	*out = NULL;
	prog = calloc(1, sizeof(*prog));
	if (!prog)
		return -ENOMEM;
	prog->refcnt = 1;
	prog->id = __atomic_add_fetch(&next_prog_id, 1, __ATOMIC_RELAXED);
	*out = prog;
	return 0;
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
