/* SPDX-License-Identifier: MIT */
/*
 * The interpreter's run interface (usm__prog_run / usm__prog_run_checked):
 * refusal of unverified programs, the run state it fills (prog, ctx,
 * counts, errors, fault_pc), bpf_stats-style accounting only when asked,
 * the per-CPU map CPU around a run, what helpers see, and concurrent runs
 * of one program. Instruction semantics are in test_isa.c.
 */
#include "usm_test.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../../../src/helpers/helpers.h"
#include "../../../src/maps/map.h"
#include "../../../src/progtype/progtype.h"
#include "../../../src/vm/asm.h"
#include "../../../src/vm/vm.h"

typedef uint64_t (*run_fn)(const struct usm_prog *, void *, struct usm_run *);

static const run_fn engines[] = {usm__prog_run, usm__prog_run_checked};

/* What the probe helper saw. */
static struct {
	struct usm_run *run;
	const struct usm_prog *prog;
	void *ctx;
	uint32_t map_cpu;
	int calls;
} seen;

static uint64_t h_probe(struct usm_run *run, uint64_t r1, uint64_t r2,
			uint64_t r3, uint64_t r4, uint64_t r5)
{
	seen.run = run;
	seen.prog = run->prog;
	seen.ctx = run->ctx;
	seen.map_cpu = usm__map_cpu();
	seen.calls++;
	return r1 + 1;
}

static const struct usm_helper h_probe_proto = {
	.id = 2000, .name = "probe", .fn = h_probe,
};

static const struct usm_helper *get_helper(uint32_t id)
{
	return id == 2000 ? &h_probe_proto : NULL;
}

static const struct usm_prog_type test_pt = {
	.type = BPF_PROG_TYPE_SOCKET_FILTER, .name = "run_test",
	.get_helper = get_helper,
};

static struct usm_prog *trusted(const char *text, struct usm_map *map)
{
	struct usm_prog *p;
	struct bpf_insn *x;
	uint32_t cnt;
	char err[128];

	if (usm__asm(text, &x, &cnt, err, sizeof(err)))
		fail_msg("asm: %s", err);
	assert_int_equal(usm__prog_new(&p), 0);
	p->type = BPF_PROG_TYPE_SOCKET_FILTER;
	p->pt = &test_pt;
	assert_int_equal(usm__prog_set_insns(p, x, cnt), 0);
	free(x);
	if (map)
		assert_int_equal(usm__prog_add_map(p, map), 0);
	assert_int_equal(usm__prog_trust_for_test(p), 0);
	return p;
}

static void test_unverified_is_refused(void **state)
{
	struct bpf_insn x[2] = {{.code = BPF_ALU64 | BPF_MOV | BPF_K, .imm = 3},
				{.code = BPF_JMP | BPF_EXIT}};
	struct usm_prog *p;
	struct usm_run run;
	size_t e;

	assert_int_equal(usm__prog_new(&p), 0);
	for (e = 0; e < 2; e++) {
		memset(&run, 0, sizeof(run));
		assert_int_equal(engines[e](p, NULL, &run), 0);
		assert_int_equal(run.error, -EINVAL);
		assert_int_equal(engines[e](NULL, NULL, &run), 0);
		assert_int_equal(run.error, -EINVAL);
	}
	assert_int_equal(usm__prog_set_insns(p, x, 2), 0);
	memset(&run, 0, sizeof(run));
	assert_int_equal(usm__prog_run(p, NULL, &run), 0);
	assert_int_equal(run.error, -EINVAL);
	assert_int_equal(usm__prog_trust_for_test(p), 0);
	assert_int_equal(usm__prog_run(p, NULL, &run), 3);
	assert_int_equal(run.error, 0);
	usm__prog_put(p);
}

/* The run state is reset and filled by every run, whatever it held. */
static void test_run_state_is_filled(void **state)
{
	struct usm_prog *p = trusted("r1 = 41\ncall 2000\nexit", NULL);
	struct usm_run run;
	int ctx;
	size_t e;

	for (e = 0; e < 2; e++) {
		memset(&run, 0xa5, sizeof(run));
		run.insn_budget = 0;
		run.stats = false;
		run.nregions = 0;
		run.mem_ok = NULL;
		run.trace = NULL;
		run.cpu = 0;
		memset(&seen, 0, sizeof(seen));
		assert_int_equal(engines[e](p, &ctx, &run), 42);
		assert_int_equal(run.error, 0);
		assert_int_equal(run.tail_calls, 0);
		assert_int_equal(run.insns_executed, 3);
		assert_int_equal(run.fault_pc, 0);
		assert_ptr_equal(run.prog, p);
		assert_ptr_equal(run.ctx, &ctx);
		/* Helpers get the caller's run. */
		assert_ptr_equal(seen.run, &run);
		assert_ptr_equal(seen.prog, p);
		assert_ptr_equal(seen.ctx, &ctx);
	}
	/* Without a run struct the program still runs. */
	assert_int_equal(usm__prog_run(p, NULL, NULL), 42);
	assert_int_equal(usm__prog_run_checked(p, NULL, NULL), 42);
	usm__prog_put(p);
}

/* r1 is the context on entry. */
static void test_ctx_in_r1(void **state)
{
	struct usm_prog *p = trusted("r0 = *(u32 *)(r1 +4)\nexit", NULL);
	uint32_t ctx[2] = {1, 0xabcdef};
	struct usm_run run;

	memset(&run, 0, sizeof(run));
	assert_int_equal(usm__prog_run(p, ctx, &run), 0xabcdef);
	run.regions[0] = (struct usm_region){(uintptr_t)ctx,
					     (uintptr_t)(ctx + 2), false};
	run.nregions = 1;
	assert_int_equal(usm__prog_run_checked(p, ctx, &run), 0xabcdef);
	/* Read-only region: a store is a fault. */
	usm__prog_put(p);
	p = trusted("*(u32 *)(r1 +0) = 9\nr0 = 1\nexit", NULL);
	assert_int_equal(usm__prog_run_checked(p, ctx, &run), 0);
	assert_int_equal(run.error, -EFAULT);
	assert_int_equal(run.fault_pc, 0);
	assert_int_equal(ctx[0], 1);
	run.regions[0].writable = true;
	assert_int_equal(usm__prog_run_checked(p, ctx, &run), 1);
	assert_int_equal(ctx[0], 9);
	usm__prog_put(p);
}

static bool deny_all(void *arg, uintptr_t addr, uint32_t size, bool write)
{
	int *calls = arg;

	(*calls)++;
	return false;
}

/* The callback is asked about memory outside stack and regions; a fault
 * names its instruction. */
static void test_checked_fault_pc_and_callback(void **state)
{
	struct usm_prog *p = trusted("r0 = 0\nr0 += 1\nr2 = *(u8 *)(r1 +3)\n"
				     "exit", NULL);
	uint8_t buf[4] = {0};
	struct usm_run run;
	int calls = 0;

	memset(&run, 0, sizeof(run));
	run.mem_ok = deny_all;
	run.mem_ok_arg = &calls;
	assert_int_equal(usm__prog_run_checked(p, buf, &run), 0);
	assert_int_equal(run.error, -EFAULT);
	assert_int_equal(run.fault_pc, 2);
	assert_int_equal(calls, 1);
	assert_int_equal(run.insns_executed, 3);
	usm__prog_put(p);
}

/* bpf_stats: counted only when asked, on the entry program. */
static void test_stats_only_when_asked(void **state)
{
	struct usm_prog *p = trusted("r0 = 0\nloop:\nr0 += 1\n"
				     "if r0 < 0x4e20 goto loop\nexit", NULL);
	struct usm_run run;

	memset(&run, 0, sizeof(run));
	assert_int_equal(usm__prog_run(p, NULL, &run), 20000);
	assert_int_equal(p->run_cnt, 0);
	assert_int_equal(p->run_time_ns, 0);
	run.stats = true;
	assert_int_equal(usm__prog_run(p, NULL, &run), 20000);
	assert_int_equal(usm__prog_run_checked(p, NULL, &run), 20000);
	assert_int_equal(p->run_cnt, 2);
	assert_true(p->run_time_ns > 0);
	assert_int_equal(run.insns_executed, 1 + 2 * 20000 + 1);
	usm__prog_put(p);
}

/* The maps module's per-CPU view is the run's CPU during the run and what
 * it was before afterwards. */
static void test_map_cpu_around_run(void **state)
{
	struct usm_prog *p = trusted("call 2000\nexit", NULL);
	uint32_t ncpus = usm__map_ncpus();
	struct usm_run run;
	uint32_t before;

	if (ncpus < 2)
		USM_SKIP("needs 2 CPUs for per-CPU map views, have %u", ncpus);
	before = usm__map_set_cpu(0);
	memset(&run, 0, sizeof(run));
	run.cpu = 1;
	usm__prog_run(p, NULL, &run);
	assert_int_equal(seen.map_cpu, 1);
	assert_int_equal(usm__map_cpu(), 0);
	usm__map_set_cpu(before);
	usm__prog_put(p);
}

/* After a tail call the run names the program that is running. */
static void test_tail_call_updates_run(void **state)
{
	struct usm_map_attr a = {.map_type = BPF_MAP_TYPE_PROG_ARRAY,
				 .key_size = 4, .value_size = 4,
				 .max_entries = 2};
	struct usm_prog *main_p, *target;
	struct usm_map *pa;
	struct usm_run run;

	assert_int_equal(usm__map_create(&a, &pa), 0);
	main_p = trusted("r2 = map[idx:0]\nr3 = 1\ncall 12\nr0 = 9\nexit", pa);
	target = trusted("call 2000\nexit", NULL);
	assert_int_equal(usm__prog_array_set(pa, 1, target), 0);
	memset(&run, 0, sizeof(run));
	memset(&seen, 0, sizeof(seen));
	usm__prog_run(main_p, NULL, &run);
	assert_int_equal(run.error, 0);
	assert_int_equal(run.tail_calls, 1);
	assert_ptr_equal(seen.prog, target);
	assert_ptr_equal(run.prog, target);
	/* An unverified program in a slot is not entered. */
	usm__prog_put(target);
	assert_int_equal(usm__prog_new(&target), 0);
	target->type = BPF_PROG_TYPE_SOCKET_FILTER;
	assert_int_equal(usm__prog_array_set(pa, 1, target), 0);
	assert_int_equal(usm__prog_run(main_p, NULL, &run), 9);
	assert_int_equal(run.tail_calls, 1);
	usm__prog_put(target);
	usm__prog_put(main_p);
	usm__map_put_with_uref(pa);
}

struct thread_arg {
	struct usm_prog *p;
	int bad;
};

static void *runner(void *arg)
{
	struct thread_arg *t = arg;
	struct usm_run run;
	uint64_t mem[2];
	int i;

	for (i = 0; i < 2000; i++) {
		memset(&run, 0, sizeof(run));
		run.stats = true;
		mem[0] = (uint64_t)i;
		if (usm__prog_run(t->p, mem, &run) != (uint64_t)i * 3 + 1 ||
		    run.error)
			__atomic_add_fetch(&t->bad, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* Distinct runs of one program may proceed in parallel. */
static void test_concurrent_runs(void **state)
{
	struct thread_arg t = {
		.p = trusted("r1 = *(u64 *)(r1 +0)\n*(u64 *)(r10 -8) = r1\n"
			     "r0 = *(u64 *)(r10 -8)\nr0 *= 3\nr0 += 1\n"
			     "exit", NULL)};
	pthread_t th[4];
	int i;

	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, runner, &t), 0);
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(t.bad, 0);
	assert_int_equal(t.p->run_cnt, 4 * 2000);
	usm__prog_put(t.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unverified_is_refused),
		cmocka_unit_test(test_run_state_is_filled),
		cmocka_unit_test(test_ctx_in_r1),
		cmocka_unit_test(test_checked_fault_pc_and_callback),
		cmocka_unit_test(test_stats_only_when_asked),
		cmocka_unit_test(test_map_cpu_around_run),
		cmocka_unit_test(test_tail_call_updates_run),
		cmocka_unit_test(test_concurrent_runs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
