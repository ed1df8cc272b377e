/* SPDX-License-Identifier: MIT */
/*
 * The program object (prog.c): ids, reference counting and map references,
 * instruction copies, the ld_imm64 map fix-up with the kernel's messages
 * and error codes (resolve_pseudo_ldimm64), helper resolution, the test-only
 * trust path, program-aware disassembly, and register type names.
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
#include "../../../src/vm/regtype.h"
#include "../../../src/vm/vm.h"

static struct usm_map *new_map(uint32_t type, uint32_t value_size,
			       uint32_t max_entries)
{
	struct usm_map_attr a = {.map_type = type, .key_size = 4,
				 .value_size = value_size,
				 .max_entries = max_entries};
	struct usm_map *m;

	assert_int_equal(usm__map_create(&a, &m), 0);
	return m;
}

/* A program from @text with maps @m0, @m1 (either may be NULL). */
static struct usm_prog *new_prog(const char *text, struct usm_map *m0,
				 struct usm_map *m1)
{
	struct usm_prog *p;
	struct bpf_insn *x;
	uint32_t cnt;
	char err[128];

	if (usm__asm(text, &x, &cnt, err, sizeof(err)))
		fail_msg("asm: %s", err);
	assert_int_equal(usm__prog_new(&p), 0);
	assert_int_equal(usm__prog_set_insns(p, x, cnt), 0);
	free(x);
	if (m0)
		assert_int_equal(usm__prog_add_map(p, m0), 0);
	if (m1)
		assert_int_equal(usm__prog_add_map(p, m1), 1);
	return p;
}

static void test_new_ids_and_refs(void **state)
{
	struct usm_prog *a, *b;

	assert_int_equal(usm__prog_new(&a), 0);
	assert_int_equal(usm__prog_new(&b), 0);
	assert_int_equal(a->refcnt, 1);
	assert_true(a->id != 0 && b->id > a->id);
	assert_false(a->verified);
	assert_null(a->insns);
	usm__prog_get(a);
	assert_int_equal(a->refcnt, 2);
	usm__prog_put(a);
	assert_int_equal(a->refcnt, 1);
	usm__prog_put(a);
	usm__prog_put(b);
	usm__prog_put(NULL);
	usm__prog_get(NULL);
}

static void *make_ids(void *arg)
{
	uint32_t *ids = arg;
	struct usm_prog *p;
	int i;

	for (i = 0; i < 500; i++) {
		if (usm__prog_new(&p))
			return (void *)1;
		ids[i] = p->id;
		usm__prog_put(p);
	}
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Ids stay unique when programs are created from several threads. */
static void test_ids_unique_across_threads(void **state)
{
	static uint32_t ids[4 * 500];
	pthread_t t[4];
	void *rv;
	int i;

	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, make_ids, &ids[i * 500]),
				 0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], &rv), 0);
		assert_null(rv);
	}
	qsort(ids, 4 * 500, sizeof(ids[0]), cmp_u32);
	for (i = 1; i < 4 * 500; i++)
		assert_true(ids[i] != ids[i - 1]);
}

static void test_set_insns(void **state)
{
	struct bpf_insn two[2] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .imm = 1},
		{.code = BPF_JMP | BPF_EXIT},
	};
	struct usm_prog *p;

	assert_int_equal(usm__prog_new(&p), 0);
	assert_int_equal(usm__prog_set_insns(p, NULL, 2), -EINVAL);
	assert_int_equal(usm__prog_set_insns(p, two, 0), -EINVAL);
	/* The size is checked before anything is read. */
	assert_int_equal(usm__prog_set_insns(p, two, USM_MAX_INSNS + 1), -E2BIG);
	assert_int_equal(usm__prog_set_insns(p, two, 2), 0);
	assert_int_equal(p->insn_cnt, 2);
	assert_memory_equal(p->insns, two, sizeof(two));
	assert_true(p->insns != two);
	assert_int_equal(usm__prog_set_insns(p, &two[1], 1), 0);
	assert_int_equal(p->insn_cnt, 1);
	assert_int_equal(p->insns[0].code, BPF_JMP | BPF_EXIT);
	/* A verified program is immutable. */
	assert_int_equal(usm__prog_trust_for_test(p), 0);
	assert_int_equal(usm__prog_set_insns(p, two, 2), -EINVAL);
	assert_int_equal(usm__prog_trust_for_test(p), -EINVAL);
	assert_int_equal(p->insn_cnt, 1);
	usm__prog_put(p);
}

/* Maps gain a reference per program and lose it with the last put. */
static void test_add_map_refs(void **state)
{
	struct usm_map *m = new_map(BPF_MAP_TYPE_ARRAY, 8, 1);
	struct usm_prog *p;

	assert_int_equal(usm__prog_new(&p), 0);
	assert_int_equal(m->refcnt, 1);
	assert_int_equal(usm__prog_add_map(p, m), 0);
	assert_int_equal(usm__prog_add_map(p, m), 1);
	assert_int_equal(m->refcnt, 3);
	assert_int_equal(usm__prog_add_map(p, NULL), -EINVAL);
	usm__prog_get(p);
	usm__prog_put(p);
	assert_int_equal(m->refcnt, 3);
	usm__prog_put(p);
	assert_int_equal(m->refcnt, 1);
	usm__map_put_with_uref(m);
}

/* Map ld_imm64 forms become addresses (verifier.c resolve_pseudo_ldimm64). */
static void test_fixup_resolves_maps(void **state)
{
	struct usm_map *pa = new_map(BPF_MAP_TYPE_PROG_ARRAY, 4, 2);
	struct usm_map *ar = new_map(BPF_MAP_TYPE_ARRAY, 32, 1);
	struct usm_prog *p = new_prog("r1 = map[idx:0]\n"
				      "r2 = map[idx:1][0]+24\n"
				      "r3 = 0x1122334455667788 ll\n"
				      "r0 = 0\nexit\n", pa, ar);
	struct bpf_insn x[8];
	uint64_t base, a1, a2;

	assert_int_equal(p->insn_cnt, 8);
	memcpy(x, p->insns, sizeof(x));
	assert_int_equal(usm__prog_fixup_ld_imm64(p, x, NULL), 0);
	assert_int_equal(usm__map_direct_value_addr(ar, &base, 0), 0);
	a1 = (uint32_t)x[0].imm | (uint64_t)(uint32_t)x[1].imm << 32;
	a2 = (uint32_t)x[2].imm | (uint64_t)(uint32_t)x[3].imm << 32;
	assert_int_equal(x[0].src_reg, 0);
	assert_int_equal(x[2].src_reg, 0);
	assert_ptr_equal((void *)(uintptr_t)a1, pa);
	assert_true(a2 == base + 24);
	/* Plain ld_imm64 and everything else untouched. */
	assert_memory_equal(&x[4], &p->insns[4], 4 * sizeof(x[0]));
	usm__prog_put(p);
	usm__map_put_with_uref(pa);
	usm__map_put_with_uref(ar);
}

/* Each bad ld_imm64 fails with the kernel's errno and a log line that
 * names the instruction. */
static void test_fixup_errors(void **state)
{
	static const struct {
		const char *text;
		int err;
		const char *log;
	} bad[] = {
		{"r0 = 0\nr1 = map[idx:2]\nexit", -EINVAL,
		 "1: map index 2 out of range (program has 2 maps)"},
		{"r1 = map[idx:1][0]+32\nexit", -EINVAL,
		 "0: invalid access to map value pointer, value_size=32 off=32"},
		{"r1 = map[idx:0][0]+0\nexit", -EINVAL,
		 "0: no direct value access support for this map type"},
		{"r1 = map[fd:3]\nexit", -EINVAL, "0: unrecognized bpf_ld_imm64 insn"},
		{".insn code=0x18 dst=1 src=5 off=0 imm=0\n"
		 ".insn code=0x00 dst=0 src=0 off=0 imm=1\nexit",
		 -EINVAL, "0: unrecognized bpf_ld_imm64 insn"},
		{"exit\n.insn code=0x18 dst=1 src=0 off=0 imm=0", -EINVAL,
		 "1: invalid bpf_ld_imm64 insn"},
		{".insn code=0x18 dst=1 src=0 off=0 imm=0\n"
		 ".insn code=0x07 dst=0 src=0 off=0 imm=0\nexit",
		 -EINVAL, "0: invalid bpf_ld_imm64 insn"},
	};
	struct usm_map *pa = new_map(BPF_MAP_TYPE_PROG_ARRAY, 4, 2);
	struct usm_map *ar = new_map(BPF_MAP_TYPE_ARRAY, 32, 1);
	struct usm_log log;
	char buf[256];
	size_t k;

	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		struct usm_prog *p = new_prog(bad[k].text, pa, ar);
		struct bpf_insn *x = malloc(p->insn_cnt * sizeof(*x));

		assert_non_null(x);
		memcpy(x, p->insns, p->insn_cnt * sizeof(*x));
		usm__log_init(&log, buf, sizeof(buf), 0);
		assert_int_equal(usm__prog_fixup_ld_imm64(p, x, &log), bad[k].err);
		if (!strstr(buf, bad[k].log))
			fail_msg("case %zu: log '%s', want '%s'", k, buf, bad[k].log);
		/* The trust path fails the same way and changes nothing. */
		assert_int_equal(usm__prog_trust_for_test(p), bad[k].err);
		assert_false(p->verified);
		assert_null(p->xinsns);
		assert_null(p->subprogs);
		free(x);
		usm__prog_put(p);
	}
	usm__map_put_with_uref(pa);
	usm__map_put_with_uref(ar);
}

/* The array's own refusal passes through: direct value access needs a
 * single-element array (arraymap.c, -ENOTSUPP). */
static void test_fixup_map_error_passes_through(void **state)
{
	struct usm_map *ar = new_map(BPF_MAP_TYPE_ARRAY, 8, 2);
	struct usm_prog *p = new_prog("r1 = map[idx:0][0]+0\nexit", ar, NULL);
	struct bpf_insn x[3];

	memcpy(x, p->insns, sizeof(x));
	assert_int_equal(usm__prog_fixup_ld_imm64(p, x, NULL), -USM_ENOTSUPP);
	usm__prog_put(p);
	usm__map_put_with_uref(ar);
}

static uint64_t h_one(struct usm_run *run, uint64_t r1, uint64_t r2,
		      uint64_t r3, uint64_t r4, uint64_t r5)
{
	return 1;
}

static const struct usm_helper h_test = {.id = 7, .name = "t", .fn = h_one};

static const struct usm_helper *only_7(uint32_t id)
{
	return id == 7 ? &h_test : NULL;
}

static const struct usm_prog_type pt7 = {
	.type = BPF_PROG_TYPE_SOCKET_FILTER, .name = "pt7", .get_helper = only_7,
};

static void test_resolve_helpers(void **state)
{
	struct usm_prog *p = new_prog("call 7\nr0 = 0x5 ll\ncall 12\n"
				      "call sub\nexit\nsub:\ncall 7\nexit", NULL,
				      NULL);
	struct usm_log log;
	char buf[128];

	/* Before xinsns exist there is nothing to resolve. */
	assert_int_equal(usm__prog_resolve_helpers(p, NULL), -EINVAL);
	p->pt = &pt7;
	assert_int_equal(usm__prog_trust_for_test(p), 0);
	assert_non_null(p->call_helpers);
	assert_ptr_equal(p->call_helpers[0], &h_test);
	assert_null(p->call_helpers[1]);
	assert_null(p->call_helpers[3]); /* tail call: the interpreter's */
	assert_null(p->call_helpers[4]); /* bpf-to-bpf call */
	assert_ptr_equal(p->call_helpers[6], &h_test);
	usm__prog_put(p);

	p = new_prog("call 8\nexit", NULL, NULL);
	p->pt = &pt7;
	usm__log_init(&log, buf, sizeof(buf), 0);
	assert_int_equal(usm__prog_trust_for_test(p), -EINVAL);
	assert_false(p->verified);
	assert_null(p->xinsns);
	p->xinsns = p->insns; /* resolve on its own, logging */
	assert_int_equal(usm__prog_resolve_helpers(p, &log), -EINVAL);
	p->xinsns = NULL;
	assert_string_equal(buf, "0: unknown func #8 for program type pt7\n");
	assert_null(p->call_helpers);
	usm__prog_put(p);
}

/* Program-aware disassembly names maps by id once resolved. */
static void test_prog_disasm(void **state)
{
	struct usm_map *ar = new_map(BPF_MAP_TYPE_ARRAY, 16, 1);
	struct usm_prog *p = new_prog("r1 = map[idx:0]\nr2 = map[idx:0][0]+8\n"
				      "r0 = *(u64 *)(r2 +0)\nexit", ar, NULL);
	char buf[64], want[64];

	assert_int_equal(usm__prog_disasm_insn(p, 0, buf, sizeof(buf)), 2);
	assert_string_equal(buf, "r1 = map[idx:0]");
	assert_int_equal(usm__prog_trust_for_test(p), 0);
	assert_int_equal(usm__prog_disasm_insn(p, 0, buf, sizeof(buf)), 2);
	snprintf(want, sizeof(want), "r1 = map[id:%u]", ar->id);
	assert_string_equal(buf, want);
	assert_int_equal(usm__prog_disasm_insn(p, 2, buf, sizeof(buf)), 2);
	snprintf(want, sizeof(want), "r2 = map[id:%u][0]+8", ar->id);
	assert_string_equal(buf, want);
	assert_int_equal(usm__prog_disasm_insn(p, 4, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "r0 = *(u64 *)(r2 +0)");
	assert_int_equal(usm__prog_disasm_insn(p, 6, buf, sizeof(buf)), -EINVAL);
	usm__prog_put(p);
	usm__map_put_with_uref(ar);
}

/* A short buffer truncates but stays a string; ld_imm64 without its second
 * slot prints raw. */
static void test_disasm_edges(void **state)
{
	struct bpf_insn ld = {.code = BPF_LD | BPF_IMM | BPF_DW, .dst_reg = 1,
			      .imm = 5};
	char buf[8];
	char big[80];

	assert_int_equal(usm__insn_disasm(&ld, 1, big, sizeof(big)), 1);
	assert_string_equal(big, ".insn code=0x18 dst=1 src=0 off=0 imm=5");
	assert_int_equal(usm__insn_disasm(&ld, 1, buf, sizeof(buf)), 1);
	assert_int_equal(strlen(buf), sizeof(buf) - 1);
}

static void test_reg_type_names(void **state)
{
	/* The kernel's reg_type_str() spellings. */
	assert_string_equal(usm__reg_type_name(USM_NOT_INIT), "?");
	assert_string_equal(usm__reg_type_name(USM_SCALAR), "scalar");
	assert_string_equal(usm__reg_type_name(USM_PTR_TO_CTX), "ctx");
	assert_string_equal(usm__reg_type_name(USM_CONST_PTR_TO_MAP), "map_ptr");
	assert_string_equal(usm__reg_type_name(USM_PTR_TO_MAP_VALUE), "map_value");
	assert_string_equal(usm__reg_type_name(USM_PTR_TO_MAP_VALUE_OR_NULL),
			    "map_value_or_null");
	assert_string_equal(usm__reg_type_name(USM_PTR_TO_MAP_KEY), "map_key");
	assert_string_equal(usm__reg_type_name(USM_PTR_TO_STACK), "fp");
	assert_string_equal(usm__reg_type_name(USM_PTR_TO_PACKET_META), "pkt_meta");
	assert_string_equal(usm__reg_type_name(USM_PTR_TO_PACKET), "pkt");
	assert_string_equal(usm__reg_type_name(USM_PTR_TO_PACKET_END), "pkt_end");
	assert_string_equal(usm__reg_type_name(USM_PTR_TO_SOCKET), "sock");
	assert_string_equal(usm__reg_type_name(USM_PTR_TO_SOCKET_OR_NULL),
			    "sock_or_null");
	assert_string_equal(usm__reg_type_name(USM_PTR_TO_SOCK_COMMON),
			    "sock_common");
	assert_string_equal(usm__reg_type_name(USM_PTR_TO_SOCK_COMMON_OR_NULL),
			    "sock_common_or_null");
	assert_string_equal(usm__reg_type_name(USM_PTR_TO_MEM), "mem");
	assert_string_equal(usm__reg_type_name(USM_PTR_TO_MEM_OR_NULL),
			    "mem_or_null");
	assert_string_equal(usm__reg_type_name(USM_REG_TYPE_MAX), "unknown");
	assert_string_equal(usm__reg_type_name((enum usm_reg_type)-1), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_ids_and_refs),
		cmocka_unit_test(test_ids_unique_across_threads),
		cmocka_unit_test(test_set_insns),
		cmocka_unit_test(test_add_map_refs),
		cmocka_unit_test(test_fixup_resolves_maps),
		cmocka_unit_test(test_fixup_errors),
		cmocka_unit_test(test_fixup_map_error_passes_through),
		cmocka_unit_test(test_resolve_helpers),
		cmocka_unit_test(test_prog_disasm),
		cmocka_unit_test(test_disasm_edges),
		cmocka_unit_test(test_reg_type_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
