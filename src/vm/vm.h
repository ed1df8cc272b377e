/* SPDX-License-Identifier: MIT */
/*
 * The VM module's internal interface: a loaded program, the verifier that
 * admits it, and the interpreter that runs it.
 *
 * Life of a program:
 *   1. A front end (object loader, bpf(2) core) fills insns/insn_cnt, type,
 *      expected_attach_type, name and the map table (maps[], each holding a
 *      reference). ld_imm64 map references arrive in the gen_loader form:
 *      src_reg BPF_PSEUDO_MAP_IDX (imm = index into maps[]) or
 *      BPF_PSEUDO_MAP_IDX_VALUE (imm = index, next imm = offset into the
 *      map's value; only for maps that have direct value access: ARRAY).
 *      The bpf(2) core converts the kernel's fd forms into these first.
 *   2. usm__prog_verify() walks every path (see verify*.c) and on success
 *      produces xinsns: the program as it runs, with ld_imm64 operands
 *      replaced by real addresses (struct usm_map * or value address) and
 *      context loads rewritten where the kernel rewrites them
 *      (__sk_buff.data/data_end/data_meta become 8-byte loads of real
 *      pointers, SEMANTICS SKB-20). A verified program is immutable.
 *   3. usm__prog_run() interprets xinsns against a context.
 *
 * Ownership: struct usm_prog owns insns, xinsns, and one reference on each
 * map in maps[]. It is refcounted (get/put); the last put releases the maps.
 */
#ifndef USM_VM_VM_H
#define USM_VM_VM_H

#include <linux/bpf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/log.h"
#include "insn.h"

struct usm_map;
struct usm_prog_type;

#define USM_PROG_NAME_LEN 64

/* Per-subprogram facts the verifier records (index 0 is the main program). */
struct usm_subprog {
	uint32_t start;       /* first instruction */
	uint32_t stack_depth; /* bytes of stack this frame uses, rounded to 8 */
};

struct usm_prog {
	int refcnt;
	uint32_t id;                   /* unique, for query/info */
	char name[USM_PROG_NAME_LEN];  /* function name from the object */
	char sec_name[128];            /* ELF section, "" if none */
	uint32_t type;                 /* enum bpf_prog_type */
	uint32_t expected_attach_type; /* enum bpf_attach_type */
	bool gpl_compatible;
	const struct usm_prog_type *pt; /* set by verify from type */

	struct bpf_insn *insns; /* as loaded (owned) */
	uint32_t insn_cnt;

	struct usm_map **maps; /* referenced maps, one ref each (owned array) */
	uint32_t map_cnt;

	/* Filled by usm__prog_verify(). */
	bool verified;
	struct bpf_insn *xinsns; /* executable form (owned), insn_cnt long */
	struct usm_subprog *subprogs;
	uint32_t subprog_cnt;
	uint32_t stack_depth;       /* deepest call chain, bytes */
	uint32_t verified_insns;    /* instructions the verifier processed */
	uint64_t helper_mask[4];    /* helpers called, by id bit (ids < 256) */

	/* Statistics, like the kernel's bpf_stats (run_time_ns/run_cnt). */
	uint64_t run_cnt;
	uint64_t run_time_ns;
};

/* Allocate an empty program with refcnt 1. Returns 0 or -ENOMEM. */
int usm__prog_new(struct usm_prog **out);

/* Reference counting; put(NULL) is a no-op. The last put frees everything. */
void usm__prog_get(struct usm_prog *prog);
void usm__prog_put(struct usm_prog *prog);

/* Copy @cnt instructions into @prog (replacing any). 0, -EINVAL, -E2BIG,
 * -ENOMEM. */
int usm__prog_set_insns(struct usm_prog *prog, const struct bpf_insn *insns,
			uint32_t cnt);

/* Append @map to the map table, taking a reference. Returns the index >= 0
 * or -ENOMEM. */
int usm__prog_add_map(struct usm_prog *prog, struct usm_map *map);

/*
 * Verify @prog for its type. On success (0) xinsns, subprogs and stack_depth
 * are set and the program may run. On failure returns -EINVAL (unsafe or
 * malformed: the log names the instruction index and the reason, like the
 * kernel's "R1 invalid mem access 'scalar'"), -EACCES for a disallowed
 * helper or context access, -E2BIG when the program or the state space is too
 * large, -ENOMEM; the program is unchanged.
 */
int usm__prog_verify(struct usm_prog *prog, struct usm_log *log);

/*
 * Per-run state handed to helpers. Set up by the caller of usm__prog_run;
 * the interpreter fills prog and counts.
 */
struct usm_run {
	const struct usm_prog *prog; /* program running (changes on tail call) */
	void *ctx;                   /* the context pointer passed as r1 */
	uint32_t cpu;                /* what bpf_get_smp_processor_id returns */
	uint32_t tail_calls;         /* taken so far in this run */
	uint64_t insn_budget;        /* 0 = default (USM_RUN_DEFAULT_BUDGET) */
	uint64_t insns_executed;
	int error;                   /* != 0: run aborted (e.g. -E2BIG budget) */
	/* bpf_printk sink: one formatted line without trailing newline. */
	void (*trace)(void *arg, const char *line);
	void *trace_arg;
};

#define USM_RUN_DEFAULT_BUDGET (16u * 1000u * 1000u)

/*
 * Run a verified program on @ctx. Returns r0 at exit. If the run is aborted
 * (instruction budget exhausted: only possible for a program the verifier
 * accepted with a loop it could bound but that is still long) run->error is
 * set to a negative errno and 0 is returned. Never touches memory the
 * verifier did not admit. Thread-safe for distinct runs.
 */
uint64_t usm__prog_run(const struct usm_prog *prog, void *ctx,
		       struct usm_run *run);

/*
 * Disassemble one instruction (two slots for ld_imm64) into @buf in the
 * kernel verifier's / bpftool's notation, e.g. "r1 = *(u32 *)(r6 +0)".
 * Returns the number of slots consumed (1 or 2).
 */
int usm__insn_disasm(const struct bpf_insn *insn, uint32_t remaining,
		     char *buf, size_t size);

#endif /* USM_VM_VM_H */
