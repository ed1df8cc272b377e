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
struct usm_helper;

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
	/* The loader's privilege the verifier models (the kernel's checks
	 * depend on it). false (default): root, i.e. CAP_SYS_ADMIN or
	 * CAP_PERFMON, as sockmap programs are usually loaded: pointer
	 * leaks, uninitialised stack reads and unmasked pointer arithmetic
	 * are allowed. true: CAP_BPF + CAP_NET_ADMIN only; the kernel then
	 * refuses those (allow_ptr_leaks, allow_uninit_stack and
	 * bypass_spec_v1 all false). Set before usm__prog_verify(). */
	bool no_perfmon;
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
	/* Per instruction index: the helper prototype a helper CALL at that
	 * index resolves to (NULL elsewhere), built once by
	 * usm__prog_resolve_helpers() so the interpreter never looks helpers
	 * up while running (owned array, insn_cnt long; NULL = not built, the
	 * interpreter then asks pt->get_helper per call). */
	const struct usm_helper **call_helpers;

	/* Statistics, like the kernel's bpf_stats (run_time_ns/run_cnt). */
	uint64_t run_cnt;
	uint64_t run_time_ns;

	/* Additions (bpf(2) core): what BPF_OBJ_GET_INFO_BY_FD reports. */
	uint64_t load_time_ns;   /* CLOCK_BOOTTIME at load, 0 if unknown */
	uint32_t created_by_uid;
};

/* Allocate an empty program with refcnt 1. Returns 0 or -ENOMEM. */
int usm__prog_new(struct usm_prog **out);

/* A reference on the loaded (verified) program with @id: 0, or -ENOENT
 * when no such program is alive (BPF_PROG_GET_FD_BY_ID). Thread-safe. */
int usm__prog_get_by_id(uint32_t id, struct usm_prog **out);
/* The smallest loaded program id > @start: 0, or -ENOENT. */
int usm__prog_get_next_id(uint32_t start, uint32_t *next_id);

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
 * Resolve the ld_imm64 map forms in @x, a copy of prog->insns (insn_cnt
 * long), into what the interpreter loads: BPF_PSEUDO_MAP_IDX (imm = index
 * into prog->maps, next imm 0) becomes the struct usm_map * address,
 * BPF_PSEUDO_MAP_IDX_VALUE (imm = index, next imm = offset) the address of
 * that byte of the map's value (map->ops->direct_value_addr); src_reg is
 * cleared, the low 32 bits go to x[i].imm and the high ones to x[i + 1].imm.
 * Plain ld_imm64 (src 0) is left alone. Malformed pairs, other pseudo
 * sources, a bad index or offset -> -EINVAL (or the map's error) with a log
 * line naming the instruction; @x may then be partly rewritten. Called by
 * the verifier when it builds xinsns.
 */
int usm__prog_fixup_ld_imm64(struct usm_prog *prog, struct bpf_insn *x,
			     struct usm_log *log);

/*
 * Fill prog->call_helpers from prog->pt and prog->xinsns: one prototype per
 * helper CALL (src_reg 0). bpf_tail_call (BPF_FUNC_tail_call) is run by the
 * interpreter itself and needs no prototype. Returns 0, -EINVAL (no program
 * type, or a helper the type does not offer; logged) or -ENOMEM; on error
 * call_helpers is unchanged. Called by the verifier once xinsns and pt are
 * final, and by usm__prog_trust_for_test().
 */
int usm__prog_resolve_helpers(struct usm_prog *prog, struct usm_log *log);

/*
 * TEST ONLY: make @prog runnable without the verifier. Builds xinsns from
 * insns with usm__prog_fixup_ld_imm64() only (no safety checks, no context
 * rewrites), resolves helpers when prog->pt is set (the caller may install
 * its own program type first), one subprog and a 512-byte stack, and marks
 * the program verified. Lets ISA tests run before and without the verifier;
 * nothing outside tests may call it. 0, -EINVAL, -ENOMEM; on error the
 * program is unchanged.
 */
int usm__prog_trust_for_test(struct usm_prog *prog);

/* A memory range [lo, hi) the checked interpreter admits. */
struct usm_region {
	uintptr_t lo, hi;
	bool writable;
};

#define USM_RUN_MAX_REGIONS 8u

/*
 * Per-run state handed to helpers. Set up by the caller of usm__prog_run;
 * the interpreter fills prog and counts.
 */
struct usm_run {
	const struct usm_prog *prog; /* program running (changes on tail call) */
	void *ctx;                   /* the context pointer passed as r1 */
	uint32_t cpu;                /* what bpf_get_smp_processor_id returns */
	uint32_t tail_calls;         /* bpf_tail_call attempts counted so far:
					as the kernel, each one with an index
					in range while under the limit of 33,
					even on an empty slot */
	uint64_t insn_budget;        /* 0 = default (USM_RUN_DEFAULT_BUDGET) */
	uint64_t insns_executed;
	int error;                   /* != 0: run aborted (e.g. -E2BIG budget) */
	/* bpf_printk sink: one formatted line without trailing newline. */
	void (*trace)(void *arg, const char *line);
	void *trace_arg;
	/* true: add this run to prog->run_cnt / run_time_ns (bpf_stats). */
	bool stats;

	/* Checked interpreter only (usm__prog_run_checked, for fuzzing and
	 * tests; ignored by usm__prog_run). Besides the active stack frames,
	 * a load or store must fall inside one of regions[0..nregions) (a
	 * store: a writable one) or be admitted by mem_ok (map values and
	 * anything the caller knows about); otherwise the run stops with
	 * error -EFAULT and fault_pc names the instruction. */
	struct usm_region regions[USM_RUN_MAX_REGIONS];
	uint32_t nregions;
	bool (*mem_ok)(void *arg, uintptr_t addr, uint32_t size, bool write);
	void *mem_ok_arg;
	uint32_t fault_pc;           /* instruction index of a checked fault */
};

#define USM_RUN_DEFAULT_BUDGET (16u * 1000u * 1000u)

/*
 * Run a verified program on @ctx (r1 = ctx, r10 = the frame's stack, other
 * registers 0). Returns r0 at exit. The run's prog, ctx, tail_calls,
 * insns_executed, error and fault_pc are reset and then filled; @run may be
 * NULL. The maps module's per-CPU view (usm__map_set_cpu) is run->cpu for
 * the duration. If the run is aborted run->error is set to a negative errno
 * and 0 is returned: -E2BIG when the instruction budget is exhausted (only
 * possible for a program the verifier accepted with a loop it could bound
 * but that is still long) or a ninth call frame is needed, -EINVAL for an
 * unverified program, an unknown opcode or a helper without prototype, or
 * any error a helper stores in run->error (a helper's way to abort). Never
 * touches memory the verifier did not admit. Thread-safe for distinct runs.
 */
uint64_t usm__prog_run(const struct usm_prog *prog, void *ctx,
		       struct usm_run *run);

/*
 * The same interpreter with every memory access, jump target, register
 * number and tail-call map checked (see struct usm_run's regions): a
 * violation sets run->error = -EFAULT (-EINVAL for a malformed instruction)
 * and returns 0 instead of touching memory. For the fuzzer and tests, to
 * catch a verifier that admitted something unsafe; slower than
 * usm__prog_run, never used on the data path.
 */
uint64_t usm__prog_run_checked(const struct usm_prog *prog, void *ctx,
			       struct usm_run *run);

/*
 * Disassemble one instruction (two slots for ld_imm64) into @buf in the
 * kernel verifier's / bpftool's notation, e.g. "r1 = *(u32 *)(r6 +0)".
 * Returns the number of slots consumed (1 or 2).
 */
int usm__insn_disasm(const struct bpf_insn *insn, uint32_t remaining,
		     char *buf, size_t size);

/*
 * Disassemble instruction @idx of @prog as it runs (xinsns once verified,
 * insns before), printing a map reference as "map[id:N]" and a direct value
 * reference as "map[id:N][0]+OFF" instead of the address. Returns the
 * slots consumed (1 or 2), or -EINVAL if @idx is out of range.
 */
int usm__prog_disasm_insn(const struct usm_prog *prog, uint32_t idx,
			  char *buf, size_t size);

#endif /* USM_VM_VM_H */
