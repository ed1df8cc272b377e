/* SPDX-License-Identifier: MIT */
/*
 * The verifier corpus: every case of corpus_unsafe.inc and corpus_safe.inc
 * is one test. Each runs through usm__prog_verify() and must give exactly
 * the expected errno and log substring; then, when kernel BPF is usable,
 * the same instructions go through BPF_PROG_LOAD (same maps, same privilege
 * model) and the kernel must agree on accept/reject, unless the case is a
 * documented difference (VF_DIFF, with its reason). SEMANTICS ids are in
 * each case's .why. A few extra tests check the verifier's outputs.
 */
#include "usm_test.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../../../src/maps/map.h"
#include "../../../src/progtype/progtype.h"
#include "../../../src/vm/vm.h"
#include "kern_load.h"
#include "vcase.h"

#include "corpus_safe.inc"
#include "corpus_unsafe.inc"

#define LOG_SIZE (256u * 1024u)

static const char *const kind_names[VM_KIND_MAX] = {
	[VM_ARRAY8] = "array", [VM_ARRAY16] = "array(16)",
	[VM_HASH] = "hash", [VM_SOCKMAP] = "sockmap",
	[VM_SOCKHASH] = "sockhash", [VM_REUSEPORT] = "reuseport_sockarray",
	[VM_PROGARRAY] = "prog_array", [VM_RDONLY] = "array(rdonly_prog)",
};

static int our_map(enum vmap_kind k, struct usm_map **out)
{
	struct usm_map_attr a;

	memset(&a, 0, sizeof(a));
	a.key_size = 4;
	a.value_size = 4;
	a.max_entries = 4;
	switch (k) {
	case VM_ARRAY8: a.map_type = BPF_MAP_TYPE_ARRAY; a.value_size = 8; break;
	case VM_ARRAY16:
		a.map_type = BPF_MAP_TYPE_ARRAY;
		a.value_size = 16;
		a.max_entries = 1;
		break;
	case VM_HASH: a.map_type = BPF_MAP_TYPE_HASH; a.value_size = 8; break;
	case VM_SOCKMAP: a.map_type = BPF_MAP_TYPE_SOCKMAP; break;
	case VM_SOCKHASH: a.map_type = BPF_MAP_TYPE_SOCKHASH; break;
	case VM_REUSEPORT: a.map_type = BPF_MAP_TYPE_REUSEPORT_SOCKARRAY; break;
	case VM_PROGARRAY: a.map_type = BPF_MAP_TYPE_PROG_ARRAY; break;
	case VM_RDONLY:
		a.map_type = BPF_MAP_TYPE_ARRAY;
		a.value_size = 8;
		a.map_flags = BPF_F_RDONLY_PROG;
		break;
	default: return -EINVAL;
	}
	return usm__map_create(&a, out);
}

/* Build the program of @c; on a missing map type *skip names it. */
static int build_prog(const struct vcase *c, struct usm_prog **out,
		      const char **skip)
{
	struct usm_prog *p;
	int i, err;

	*skip = NULL;
	assert_int_equal(usm__prog_new(&p), 0);
	if (!(c->flags & VF_EMPTY))
		assert_int_equal(usm__prog_set_insns(p, c->insns, c->len), 0);
	p->type = c->type;
	p->expected_attach_type = kattach_type(c->type);
	p->gpl_compatible = !(c->flags & VF_NOGPL);
	p->no_perfmon = (c->flags & VF_STRICT) != 0;
	for (i = 0; i < 3 && c->maps[i]; i++) {
		struct usm_map *m;

		err = our_map((enum vmap_kind)c->maps[i], &m);
		if (err) {
			*skip = kind_names[c->maps[i]];
			usm__prog_put(p);
			return err;
		}
		err = usm__prog_add_map(p, m);
		usm__map_put(m);
		assert_true(err >= 0);
	}
	*out = p;
	return 0;
}

/* SKB-20: data/data_end loads become 8-byte loads of the internal
 * pointers. */
static void check_rewrite(const struct usm_prog *p)
{
	uint32_t i, n = 0;

	for (i = 0; i < p->insn_cnt; i++) {
		const struct bpf_insn *o = &p->insns[i], *x = &p->xinsns[i];

		if (o->code != (BPF_LDX | BPF_MEM | BPF_W) || o->src_reg != 1 ||
		    (o->off != SKB_OFF(data) && o->off != SKB_OFF(data_end)))
			continue;
		assert_int_equal(x->code, BPF_LDX | BPF_MEM | BPF_DW);
		assert_int_equal(x->off, o->off == SKB_OFF(data)
						 ? offsetof(struct usm_skb_ctx, data)
						 : offsetof(struct usm_skb_ctx,
							    data_end));
		n++;
	}
	assert_int_equal(n, 2);
}

static void compare_kernel(const struct vcase *c)
{
	static struct kresult kr;
	int fds[3] = { -1, -1, -1 }, i;
	bool want = c->err == 0;
	const char *why;

	if ((c->flags & VF_NOKERN) || !usm_test_have_kernel_bpf(&why))
		return;
	for (i = 0; i < 3 && c->maps[i]; i++) {
		fds[i] = kmap_create((enum vmap_kind)c->maps[i]);
		if (fds[i] < 0) {
			printf("# note: kernel cannot create %s; no comparison\n",
			       kind_names[c->maps[i]]);
			goto out;
		}
	}
	if (kernel_verdict(c, fds, &kr)) {
		printf("# note: kernel load could not run\n");
		goto out;
	}
	if (kr.accepted != want) {
		printf("# kernel %s (errno %d), we %s; kernel log tail:\n%s\n",
		       kr.accepted ? "accepts" : "rejects", kr.err,
		       want ? "accept" : "reject",
		       strlen(kr.log) > 600 ? kr.log + strlen(kr.log) - 600
					    : kr.log);
		if (!(c->flags & VF_DIFF))
			fail_msg("kernel disagrees on %s", c->name);
		printf("# documented difference: %s\n", c->why);
	} else if (!kr.accepted && kr.err != c->err) {
		printf("# note: kernel errno %d, ours %d\n", kr.err, c->err);
	} else if (c->flags & VF_DIFF) {
		printf("# note: documented difference not seen on this kernel\n");
	}
out:
	for (i = 0; i < 3; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static void run_case(void **state)
{
	const struct vcase *c = *state;
	static char buf[LOG_SIZE];
	struct usm_prog *p;
	struct usm_log log;
	const char *skip;
	int rc;

	if (build_prog(c, &p, &skip)) {
		compare_kernel(c);
		USM_SKIP("our maps module cannot create a %s map yet", skip);
		return;
	}
	usm__log_init(&log, buf, sizeof(buf), 1);
	rc = usm__prog_verify(p, &log);
	if (rc != -c->err || (c->msg && !strstr(buf, c->msg)))
		printf("# %s: rc %d, log:\n%s\n", c->name, rc, buf);
	assert_int_equal(rc, -c->err);
	assert_int_equal(p->verified, c->err == 0);
	if (c->msg)
		assert_non_null(strstr(buf, c->msg));
	if (c->err) {
		assert_null(p->xinsns);
	} else {
		assert_non_null(p->xinsns);
		assert_non_null(strstr(buf, "processed "));
	}
	if (c->flags & VF_REWRITE)
		check_rewrite(p);
	usm__prog_put(p);
	compare_kernel(c);
}

/* ---- outputs ---- */

static struct usm_prog *verify_insns(const struct bpf_insn *in, uint32_t n,
				     uint32_t type, char *buf, size_t sz,
				     int *rc)
{
	struct usm_prog *p;
	struct usm_log log;

	assert_int_equal(usm__prog_new(&p), 0);
	assert_int_equal(usm__prog_set_insns(p, in, n), 0);
	p->type = type;
	p->gpl_compatible = true;
	usm__log_init(&log, buf, sz, 0);
	*rc = usm__prog_verify(p, &log);
	return p;
}

/* The failing instruction is named with its index, opcode and text. */
static void test_log_names_instruction(void **state)
{
	static const struct bpf_insn in[] = {
		USM_MOV64_IMM(R0, 0),
		USM_LDX_MEM(BPF_DW, R0, R10, -520),
		USM_EXIT_INSN(),
	};
	char buf[4096];
	struct usm_prog *p;
	int rc;

	(void)state;
	p = verify_insns(in, 3, SKB, buf, sizeof(buf), &rc);
	assert_int_equal(rc, -EACCES);
	assert_non_null(strstr(buf, "1: (79) "));
	assert_non_null(strstr(buf, "\ninvalid read from stack R10 off=-520"));
	/* On failure the program is unchanged. */
	assert_false(p->verified);
	assert_null(p->xinsns);
	assert_null(p->subprogs);
	assert_null(p->pt);
	usm__prog_put(p);
}

/* Subprograms, stack depth (rounded per frame) and helper mask. */
static void test_outputs(void **state)
{
	static const struct bpf_insn in[] = {
		USM_ST_MEM(BPF_DW, R10, -24, 0),
		USM_CALL_REL(2),
		USM_CALL_HELPER(BPF_FUNC_get_prandom_u32),
		USM_EXIT_INSN(),
		/* 4 */ USM_ST_MEM(BPF_DW, R10, -8, 0),
		USM_MOV64_IMM(R0, 0),
		USM_EXIT_INSN(),
	};
	char buf[4096];
	struct usm_prog *p;
	int rc;

	(void)state;
	p = verify_insns(in, 7, SKB, buf, sizeof(buf), &rc);
	assert_int_equal(rc, 0);
	assert_true(p->verified);
	assert_int_equal(p->subprog_cnt, 2);
	assert_int_equal(p->subprogs[0].start, 0);
	assert_int_equal(p->subprogs[0].stack_depth, 24);
	assert_int_equal(p->subprogs[1].start, 4);
	assert_int_equal(p->subprogs[1].stack_depth, 8);
	assert_int_equal(p->stack_depth, 32 + 16); /* 16-byte rounding */
	assert_true(p->helper_mask[0] & (1ull << BPF_FUNC_get_prandom_u32));
	assert_true(p->verified_insns >= 7);
	assert_ptr_equal(p->pt, usm__prog_type_get(SKB));
	/* A verified program is immutable. */
	assert_int_equal(usm__prog_verify(p, NULL), -EINVAL);
	usm__prog_put(p);
}

/* Unknown program types and absurd sizes fail cleanly. */
static void test_bad_inputs(void **state)
{
	static const struct bpf_insn in[] = {
		USM_MOV64_IMM(R0, 0),
		USM_EXIT_INSN(),
	};
	char buf[256];
	struct usm_prog *p;
	int rc;

	(void)state;
	assert_int_equal(usm__prog_verify(NULL, NULL), -EINVAL);
	p = verify_insns(in, 2, BPF_PROG_TYPE_KPROBE, buf, sizeof(buf), &rc);
	assert_int_equal(rc, -EINVAL);
	assert_non_null(strstr(buf, "not supported"));
	usm__prog_put(p);
}

/* An accepted program runs in the checked interpreter without a fault
 * over a real sk_skb context (SKB-20 rewrite end to end). */
static void test_checked_run(void **state)
{
	static const struct bpf_insn in[] = {
		VSKB_PKT(), USM_MOV64_IMM(R0, 0), USM_MOV64_REG(R4, R2),
		USM_ALU64_IMM(BPF_ADD, R4, 2), USM_JMP_REG(BPF_JGT, R4, R3, 1),
		USM_LDX_MEM(BPF_H, R0, R2, 0), USM_EXIT_INSN(),
	};
	static uint8_t pkt[4] = { 0x34, 0x12, 0, 0 };
	struct usm_skb_ctx ctx;
	struct usm_run run;
	struct usm_prog *p;
	char buf[1024];
	uint64_t r0;
	int rc;

	(void)state;
	p = verify_insns(in, 8, SKB, buf, sizeof(buf), &rc);
	assert_int_equal(rc, 0);
	memset(&ctx, 0, sizeof(ctx));
	ctx.buf = pkt;
	ctx.cap = ctx.len = ctx.linear_len = sizeof(pkt);
	ctx.md.len = sizeof(pkt);
	ctx.data = pkt;
	ctx.data_end = pkt + sizeof(pkt);
	memset(&run, 0, sizeof(run));
	run.regions[0] = (struct usm_region){ (uintptr_t)&ctx,
					      (uintptr_t)(&ctx + 1), false };
	run.regions[1] = (struct usm_region){ (uintptr_t)pkt,
					      (uintptr_t)(pkt + sizeof(pkt)),
					      true };
	run.nregions = 2;
	r0 = usm__prog_run_checked(p, &ctx, &run);
	assert_int_equal(run.error, 0);
	assert_int_equal(r0, 0x1234);
	ctx.data_end = pkt + 1; /* too short: the check fails, r0 stays 0 */
	r0 = usm__prog_run_checked(p, &ctx, &run);
	assert_int_equal(run.error, 0);
	assert_int_equal(r0, 0);
	usm__prog_put(p);
}

static const struct vcase *find_case(const struct vcase *cases, size_t n,
				     const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(cases[i].name, name))
			return &cases[i];
	fail_msg("no case %s", name);
	return NULL;
}

/* State pruning with precision tracking keeps a data-dependent loop (32
 * iterations, a branch on an unknown bit each time) near linear: without
 * it every combination of the counter would be a distinct state. */
static void test_pruning_effective(void **state)
{
	const struct vcase *c = find_case(
		safe_cases, sizeof(safe_cases) / sizeof(safe_cases[0]),
		"bounded_loop_data_dependent");
	struct usm_prog *p;
	char buf[1024];
	int rc;

	(void)state;
	p = verify_insns(c->insns, c->len, c->type, buf, sizeof(buf), &rc);
	assert_int_equal(rc, 0);
	assert_true(p->verified_insns < 5000);
	usm__prog_put(p);
}

static struct CMUnitTest *add_cases(struct CMUnitTest *t,
				    const struct vcase *cases, size_t n,
				    const char *prefix)
{
	size_t i;

	for (i = 0; i < n; i++, t++) {
		char *name = malloc(strlen(prefix) + strlen(cases[i].name) + 1);

		if (!name)
			abort();
		strcpy(name, prefix);
		strcat(name, cases[i].name);
		t->name = name;
		t->test_func = run_case;
		t->initial_state = (void *)&cases[i];
	}
	return t;
}

int main(void)
{
	size_t nu = sizeof(unsafe_cases) / sizeof(unsafe_cases[0]);
	size_t ns = sizeof(safe_cases) / sizeof(safe_cases[0]);
	const struct CMUnitTest extra[] = {
		cmocka_unit_test(test_log_names_instruction),
		cmocka_unit_test(test_outputs),
		cmocka_unit_test(test_bad_inputs),
		cmocka_unit_test(test_checked_run),
		cmocka_unit_test(test_pruning_effective),
	};
	size_t ne = sizeof(extra) / sizeof(extra[0]), i;
	struct CMUnitTest *t = calloc(nu + ns + ne, sizeof(*t)), *end;
	int rc;

	if (!t)
		return 1;
	end = add_cases(t, unsafe_cases, nu, "unsafe/");
	end = add_cases(end, safe_cases, ns, "safe/");
	memcpy(end, extra, sizeof(extra));
	rc = _cmocka_run_group_tests("verifier", t, nu + ns + ne, NULL, NULL);
	for (i = 0; i < nu + ns; i++)
		free((char *)t[i].name);
	free(t);
	return rc;
}
