/* SPDX-License-Identifier: MIT */
/*
 * Object loader: opening, listing, loading well-formed objects. Map
 * definitions of every type, global data contents, subprogram linking,
 * section names -> program/attach types (checked against real libbpf),
 * PROG_ARRAY and map-in-map initial slots, autoload rules, legacy
 * SEC("maps"), log capture. The behaviours come from libbpf (what it makes
 * of an object) and the kernel (map creation, frozen .rodata).
 */
#include "ld_util.h"

#include <sys/utsname.h>

#include "../../../src/progtype/progtype.h"

/* ---- maps ---- */

struct map_expect {
	const char *name;
	uint32_t type, key, value, max, flags;
};

static void expect_map(struct usm_object *obj, const struct map_expect *x)
{
	struct usm_map *m = usm_object_find_map(obj, x->name);

	if (!m)
		print_message("map %s missing\n", x->name);
	assert_non_null(m);
	assert_int_equal(usm_map_type(m), x->type);
	assert_int_equal(usm_map_key_size(m), x->key);
	assert_int_equal(usm_map_value_size(m), x->value);
	assert_int_equal(usm_map_max_entries(m), x->max);
	assert_int_equal(usm_map_flags(m), x->flags);
}

static void test_open_lists_programs_before_load(void **state)
{
	struct usm_object *obj = ld_open("ld_maps");
	struct usm_program *v = usm_object_find_program(obj, "verdict");
	struct usm_program *m = usm_object_find_program(obj, "msg_verdict");

	(void)state;
	assert_string_equal(usm_object_name(obj), "ld_maps");
	assert_non_null(v);
	assert_non_null(m);
	assert_ptr_equal(usm_object_next_program(obj, NULL), v);
	assert_ptr_equal(usm_object_next_program(obj, v), m);
	assert_null(usm_object_next_program(obj, m));
	assert_string_equal(usm_program_section(v), "sk_skb/stream_verdict");
	assert_int_equal(usm_program_type(v), BPF_PROG_TYPE_SK_SKB);
	assert_int_equal(usm_program_expected_attach_type(v),
			 BPF_SK_SKB_STREAM_VERDICT);
	assert_int_equal(usm_program_type(m), BPF_PROG_TYPE_SK_MSG);
	assert_int_equal(usm_program_expected_attach_type(m),
			 BPF_SK_MSG_VERDICT);
	assert_true(usm_program_autoload(v));
	/* maps exist only once loaded */
	assert_null(usm_object_find_map(obj, "arr"));
	assert_null(usm_object_next_map(obj, NULL));
	assert_null(usm__program_prog(v));
	assert_null(usm_object_find_program(obj, "nope"));
	usm_object_close(obj);
}

static void test_btf_maps_of_each_plain_and_socket_type(void **state)
{
	static const struct map_expect want[] = {
		{ "arr", BPF_MAP_TYPE_ARRAY, 4, 8, 8, 0 },
		{ "hsh", BPF_MAP_TYPE_HASH, 4, 4, 32, BPF_F_NO_PREALLOC },
		{ "pcpu_arr", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 2, 0 },
		{ "pcpu_hsh", BPF_MAP_TYPE_PERCPU_HASH, 8, 4, 4, 0 },
		{ "sock_map", BPF_MAP_TYPE_SOCKMAP, 4, 8, 4, 0 },
		{ "sock_hash", BPF_MAP_TYPE_SOCKHASH, 4, 8, 16, 0 },
		{ "a_map_with_a_long_name", BPF_MAP_TYPE_ARRAY, 4, 4, 1, 0 },
	};
	struct usm_object *obj = ld_load("ld_maps");
	struct usm_map *m;
	size_t i, n = 0;

	(void)state;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		expect_map(obj, &want[i]);
	for (m = usm_object_next_map(obj, NULL); m;
	     m = usm_object_next_map(obj, m))
		n++;
	assert_int_equal(n, 7);
	/* the kernel keeps 15 characters of a name, libbpf the whole one */
	assert_string_equal(usm_map_name(usm_object_find_map(
				    obj, "a_map_with_a_long_name")),
			    "a_map_with_a_lo");
	usm_object_close(obj);
}

/* BPF_PSEUDO_MAP_IDX imm indexes the program's map table, which holds every
 * map of the object in libbpf order: the map argument of each helper call
 * is the map the source names. */
static void test_map_references_are_linked_by_index(void **state)
{
	struct usm_object *obj = ld_load("ld_maps");
	struct usm_prog *v = ld_prog(obj, "verdict");
	struct usm_prog *m = ld_prog(obj, "msg_verdict");
	uint32_t i;
	int pc;

	(void)state;
	assert_non_null(v);
	assert_non_null(m);
	assert_int_equal(v->map_cnt, 7);
	assert_int_equal(m->map_cnt, 7);
	for (i = 0; i < v->map_cnt; i++)
		assert_ptr_equal(v->maps[i], m->maps[i]);
	pc = ld_map_arg_before_call(v, BPF_FUNC_sk_redirect_map, 2);
	assert_true(pc >= 0);
	assert_ptr_equal(ld_insn_map(v, (uint32_t)pc),
			 usm_object_find_map(obj, "sock_map"));
	pc = ld_map_arg_before_call(m, BPF_FUNC_msg_redirect_hash, 2);
	assert_true(pc >= 0);
	assert_ptr_equal(ld_insn_map(m, (uint32_t)pc),
			 usm_object_find_map(obj, "sock_hash"));
	pc = ld_map_arg_before_call(m, BPF_FUNC_map_lookup_elem, 1);
	assert_true(pc >= 0);
	assert_ptr_equal(ld_insn_map(m, (uint32_t)pc),
			 usm_object_find_map(obj, "pcpu_hsh"));
	assert_string_equal(v->name, "verdict");
	assert_string_equal(v->sec_name, "sk_skb/stream_verdict");
	assert_int_equal(v->type, BPF_PROG_TYPE_SK_SKB);
	assert_int_equal(v->expected_attach_type, BPF_SK_SKB_STREAM_VERDICT);
	assert_true(v->gpl_compatible);
	assert_true(v->verified);
	usm_object_close(obj);
}

/* ---- global data and subprograms ---- */

static void lookup0(struct usm_map *m, void *out, size_t size)
{
	uint32_t zero = 0;

	assert_int_equal(usm_map_value_size(m), size);
	assert_int_equal(usm__map_lookup_elem(m, &zero, out, 0), 0);
}

static void test_global_data_maps_hold_initial_values(void **state)
{
	struct usm_object *obj = ld_load("ld_globals");
	struct usm_map *data = usm_object_find_map(obj, ".data");
	struct usm_map *ro = usm_object_find_map(obj, ".rodata");
	struct usm_map *bss = usm_object_find_map(obj, ".bss");
	uint32_t d[5], want_d[5] = { 5, 10, 20, 30, 40 }, zero = 0;
	uint8_t r[12], b[8], want_b[8] = { 0 };

	(void)state;
	assert_non_null(data);
	assert_non_null(ro);
	assert_non_null(bss);
	/* libbpf's names: object name prefix + section */
	assert_ptr_equal(usm_object_find_map(obj, "ld_globa.data"), data);
	assert_ptr_equal(usm_object_find_map(obj, "ld_globa.rodata"), ro);
	assert_string_equal(usm_map_name(bss), "ld_globa.bss");
	assert_int_equal(usm_map_type(data), BPF_MAP_TYPE_ARRAY);
	assert_int_equal(usm_map_max_entries(ro), 1);
	assert_int_equal(usm_map_flags(data), BPF_F_MMAPABLE);
	assert_int_equal(usm_map_flags(ro), BPF_F_MMAPABLE | BPF_F_RDONLY_PROG);
	lookup0(data, d, sizeof(d));
	assert_memory_equal(d, want_d, sizeof(d));
	lookup0(ro, r, sizeof(r));
	assert_int_equal(r[0], 3); /* factor */
	assert_memory_equal(r + 4, "hello\0\0", 8);
	lookup0(bss, b, sizeof(b));
	assert_memory_equal(b, want_b, sizeof(b));
	/* .rodata is frozen after filling, as libbpf does; .data is not */
	assert_true(ro->frozen);
	assert_false(data->frozen);
	assert_int_equal(usm__map_update_elem(ro, &zero, r, 0), -EPERM);
	assert_int_equal(usm__map_update_elem(data, &zero, d, 0), 0);
	usm_object_close(obj);
}

/* Each pseudo call lands inside its own program: the subprograms were
 * appended to every program that calls them. */
static uint32_t count_calls(const struct usm_prog *p)
{
	uint32_t i, n = 0;

	for (i = 0; i < p->insn_cnt; i++) {
		const struct bpf_insn *in = &p->insns[i];
		int64_t t = (int64_t)i + in->imm + 1;

		if (in->code != (BPF_JMP | BPF_CALL) ||
		    in->src_reg != BPF_PSEUDO_CALL)
			continue;
		assert_true(t > 0 && t < (int64_t)p->insn_cnt);
		n++;
	}
	return n;
}

/* The MAP_IDX_VALUE references name a global-data map and an offset in it. */
static uint32_t count_value_refs(const struct usm_prog *p)
{
	uint32_t i, n = 0;

	for (i = 0; i + 1 < p->insn_cnt; i++) {
		const struct bpf_insn *in = &p->insns[i];

		if (in->code != (BPF_LD | BPF_IMM | BPF_DW) ||
		    in->src_reg != BPF_PSEUDO_MAP_IDX_VALUE)
			continue;
		assert_true((uint32_t)in[1].imm <
			    usm_map_value_size(ld_insn_map(p, i)));
		n++;
	}
	return n;
}

static void test_subprograms_are_appended_and_globals_linked(void **state)
{
	struct usm_object *obj = ld_load("ld_globals");
	struct usm_prog *parser = ld_prog(obj, "parser");
	struct usm_prog *verdict = ld_prog(obj, "verdict");

	(void)state;
	assert_non_null(parser);
	assert_non_null(verdict);
	/* parser -> combine -> scale; verdict -> scale */
	assert_int_equal(count_calls(parser), 2);
	assert_int_equal(count_calls(verdict), 1);
	/* parser: hits, counter, table (combine), factor (scale); clang
	 * folds the const greeting[1]. verdict: counter, table, factor. */
	assert_int_equal(count_value_refs(parser), 4);
	assert_int_equal(count_value_refs(verdict), 3);
	assert_int_equal(parser->map_cnt, 3);
	assert_true(parser->gpl_compatible); /* "Dual MIT/GPL" */
	usm_object_close(obj);
}

/* Run the linked parser: 2 * factor + table[2] + greeting[1] + counter. */
static void test_linked_program_runs_with_its_globals(void **state)
{
	struct usm_object *obj = ld_load("ld_globals");
	struct usm_prog *parser = ld_prog(obj, "parser");
	struct usm_skb_ctx ctx;
	struct usm_run run;
	uint8_t pkt[16] = { 0 };
	uint64_t hits = 0;
	uint32_t zero = 0;

	(void)state;
	memset(&ctx, 0, sizeof(ctx));
	memset(&run, 0, sizeof(run));
	ctx.buf = pkt;
	ctx.cap = ctx.len = ctx.linear_len = sizeof(pkt);
	ctx.data = ctx.data_meta = pkt;
	ctx.data_end = pkt + sizeof(pkt);
	ctx.md.len = sizeof(pkt);
	assert_int_equal(usm__prog_run(parser, &ctx, &run), 142);
	assert_int_equal(run.error, 0);
	assert_int_equal(usm__map_lookup_elem(usm_object_find_map(obj, ".bss"),
					      &zero, &hits, 0), 0);
	assert_int_equal(hits, 1);
	usm_object_close(obj);
}

/* __kconfig externs: libbpf computes them (LINUX_KERNEL_VERSION from
 * uname's release, a missing weak CONFIG_ is 0); the map is frozen. */
static void test_kconfig_externs_fill_a_frozen_map(void **state)
{
	struct usm_object *obj = ld_load("ld_kconfig");
	struct usm_map *kc = usm_object_find_map(obj, ".kconfig");
	unsigned int major = 0, minor = 0, patch = 0;
	struct utsname u;
	uint32_t v[2], want;

	(void)state;
	assert_non_null(kc);
	assert_int_equal(uname(&u), 0);
	assert_true(sscanf(u.release, "%u.%u.%u", &major, &minor, &patch) >= 2);
	want = (major << 16) + (minor << 8) + (patch > 255 ? 255 : patch);
	lookup0(kc, v, sizeof(v));
	assert_true((v[0] == want && v[1] == 0) || (v[1] == want && v[0] == 0));
	assert_true(kc->frozen);
	assert_int_equal(usm_map_flags(kc), BPF_F_MMAPABLE | BPF_F_RDONLY_PROG);
	usm_object_close(obj);
}

/* ---- initial slots ---- */

static void test_prog_array_initial_slots(void **state)
{
	struct usm_object *obj = ld_load("ld_tail");
	struct usm_map *jmp = usm_object_find_map(obj, "jmp");

	(void)state;
	assert_non_null(jmp);
	assert_int_equal(usm_map_type(jmp), BPF_MAP_TYPE_PROG_ARRAY);
	assert_null(usm__prog_array_get(jmp, 0));
	assert_ptr_equal(usm__prog_array_get(jmp, 1), ld_prog(obj, "tail_pass"));
	assert_null(usm__prog_array_get(jmp, 2));
	assert_ptr_equal(usm__prog_array_get(jmp, 3), ld_prog(obj, "tail_drop"));
	usm_object_close(obj); /* leak-checked: the array's refs are dropped */
}

/* A load that fails because the maps module lacks a type is skipped. */
static struct usm_object *load_or_skip_type(const char *name, const char *type)
{
	struct usm_object *obj = ld_open(name);
	char what[64];
	int err = usm_object_load(obj);

	snprintf(what, sizeof(what), "cannot create %s map", type);
	if (err == -EINVAL && strstr(ld_log, what)) {
		usm_object_close(obj);
		return NULL;
	}
	if (err)
		print_message("%s\n", ld_log);
	assert_int_equal(err, 0);
	return obj;
}

static void test_array_of_maps_initial_slots(void **state)
{
	struct usm_object *obj = load_or_skip_type("ld_inmap", "array_of_maps");
	struct usm_map *outer;
	uint32_t k;

	(void)state;
	if (!obj) {
		USM_SKIP("maps module has no ARRAY_OF_MAPS yet");
		return;
	}
	outer = usm_object_find_map(obj, "outer");
	assert_non_null(outer);
	assert_int_equal(usm_map_type(outer), BPF_MAP_TYPE_ARRAY_OF_MAPS);
	assert_non_null(outer->inner_meta);
	assert_int_equal(outer->inner_meta->map_type, BPF_MAP_TYPE_ARRAY);
	assert_int_equal(outer->inner_meta->max_entries, 2);
	k = 0;
	assert_ptr_equal(usm__map_bpf_lookup_elem(outer, &k),
			 usm_object_find_map(obj, "in_b"));
	k = 1;
	assert_null(usm__map_bpf_lookup_elem(outer, &k));
	k = 2;
	assert_ptr_equal(usm__map_bpf_lookup_elem(outer, &k),
			 usm_object_find_map(obj, "in_a"));
	usm_object_close(obj);
}

/* MAP-CRT-11: a REUSEPORT_SOCKARRAY as the inner map of ARRAY_OF_MAPS. */
static void test_reuseport_sockarray_and_outer(void **state)
{
	struct usm_object *obj = load_or_skip_type("ld_reuseport",
						   "reuseport_sockarray");
	struct map_expect rp = { "rp_arr", BPF_MAP_TYPE_REUSEPORT_SOCKARRAY,
				 4, 8, 4, 0 };
	uint32_t k = 0;

	(void)state;
	if (!obj) {
		USM_SKIP("maps module has no REUSEPORT_SOCKARRAY yet");
		return;
	}
	expect_map(obj, &rp);
	assert_ptr_equal(usm__map_bpf_lookup_elem(
				 usm_object_find_map(obj, "rp_outer"), &k),
			 usm_object_find_map(obj, "rp_arr"));
	usm_object_close(obj);
}

/* ---- sections and autoload ---- */

struct sec_expect {
	const char *prog;
	uint32_t type, attach;
	bool autoload;
};

static const struct sec_expect sections[] = {
	{ "s_parser", BPF_PROG_TYPE_SK_SKB, BPF_SK_SKB_STREAM_PARSER, true },
	{ "s_stream_verdict", BPF_PROG_TYPE_SK_SKB, BPF_SK_SKB_STREAM_VERDICT,
	  true },
	{ "s_skb_verdict", BPF_PROG_TYPE_SK_SKB, BPF_SK_SKB_VERDICT, true },
	{ "s_plain_skb", BPF_PROG_TYPE_SK_SKB, 0, true },
	{ "s_msg", BPF_PROG_TYPE_SK_MSG, BPF_SK_MSG_VERDICT, true },
	{ "s_reuseport", BPF_PROG_TYPE_SK_REUSEPORT, BPF_SK_REUSEPORT_SELECT,
	  true },
	{ "s_reuseport_migrate", BPF_PROG_TYPE_SK_REUSEPORT,
	  BPF_SK_REUSEPORT_SELECT_OR_MIGRATE, true },
	{ "s_sockops", BPF_PROG_TYPE_SOCK_OPS, BPF_CGROUP_SOCK_OPS, true },
	{ "s_xdp", BPF_PROG_TYPE_XDP, BPF_XDP, false },
	{ "s_tc", BPF_PROG_TYPE_SCHED_CLS, 0, false },
	{ "s_socket", BPF_PROG_TYPE_SOCKET_FILTER, 0, false },
	{ "s_optional", BPF_PROG_TYPE_SK_SKB, BPF_SK_SKB_STREAM_VERDICT, false },
};

#define N_SECTIONS (sizeof(sections) / sizeof(sections[0]))

/* PRG-07: the section only sets the default attach type. Same answers as
 * real libbpf gives for the same object. */
static void test_section_names_select_types_like_libbpf(void **state)
{
	struct usm_object *obj = ld_open("ld_sections");
	struct bpf_object *bo = ld_libbpf_open("ld_sections");
	size_t i;

	(void)state;
	for (i = 0; i < N_SECTIONS; i++) {
		const struct sec_expect *x = &sections[i];
		struct usm_program *p = usm_object_find_program(obj, x->prog);
		struct bpf_program *bp =
			bpf_object__find_program_by_name(bo, x->prog);

		assert_non_null(p);
		assert_non_null(bp);
		assert_int_equal(usm_program_type(p), x->type);
		assert_int_equal(usm_program_expected_attach_type(p), x->attach);
		assert_int_equal(usm_program_autoload(p), x->autoload);
		/* libbpf 1.1 predates "sk_skb/verdict" (newer ones map it
		 * to SK_SKB + BPF_SK_SKB_VERDICT as usockmap does) */
		if (bpf_program__type(bp) == BPF_PROG_TYPE_UNSPEC &&
		    !strcmp(x->prog, "s_skb_verdict"))
			continue;
		assert_int_equal(usm_program_type(p), bpf_program__type(bp));
		assert_int_equal(usm_program_expected_attach_type(p),
				 bpf_program__expected_attach_type(bp));
	}
	bpf_object__close(bo);
	usm_object_close(obj);
}

static void test_unsupported_types_are_kept_not_loaded(void **state)
{
	struct usm_object *obj = ld_load("ld_sections");
	size_t i;

	(void)state;
	for (i = 0; i < N_SECTIONS; i++) {
		struct usm_program *p = usm_object_find_program(obj,
							sections[i].prog);

		assert_int_equal(usm__program_prog(p) != NULL,
				 sections[i].autoload);
		if (!sections[i].autoload && strcmp(sections[i].prog,
						    "s_optional"))
			assert_non_null(strstr(usm_program_log(p),
					       "usockmap does not run"));
	}
	/* autoload can only change before load */
	assert_int_equal(usm_program_set_autoload(
				 usm_object_find_program(obj, "s_xdp"), true),
			 -EINVAL);
	assert_int_equal(usm_program_verify(usm_object_find_program(obj,
								   "s_xdp"),
					    NULL, 0, 0),
			 -EOPNOTSUPP);
	usm_object_close(obj);
}

static void test_requesting_an_unsupported_program_fails_load(void **state)
{
	struct usm_object *obj = ld_open("ld_sections");

	(void)state;
	assert_int_equal(usm_program_set_autoload(
				 usm_object_find_program(obj, "s_xdp"), true),
			 0);
	assert_int_equal(usm_object_load(obj), -EOPNOTSUPP);
	assert_non_null(strstr(ld_log, "'s_xdp'"));
	assert_null(usm__program_prog(usm_object_find_program(obj, "s_msg")));
	usm_object_close(obj);
}

static void test_autoload_selects_programs(void **state)
{
	struct usm_object *obj = ld_open("ld_sections");
	struct usm_program *opt = usm_object_find_program(obj, "s_optional");
	struct usm_program *par = usm_object_find_program(obj, "s_parser");

	(void)state;
	assert_int_equal(usm_program_set_autoload(opt, true), 0);
	assert_int_equal(usm_program_set_autoload(par, false), 0);
	assert_int_equal(usm_object_load(obj), 0);
	assert_non_null(usm__program_prog(opt));
	assert_null(usm__program_prog(par));
	assert_int_equal(usm_program_verify(par, NULL, 0, 0), -EINVAL);
	usm_object_close(obj);
}

/* ---- legacy maps ---- */

static void check_legacy_maps(struct usm_object *obj)
{
	static const struct map_expect want[] = {
		{ "legacy_hash", BPF_MAP_TYPE_HASH, 4, 8, 64,
		  BPF_F_NO_PREALLOC },
		{ "legacy_sockmap", BPF_MAP_TYPE_SOCKMAP, 4, 4, 8, 0 },
		{ "legacy_array", BPF_MAP_TYPE_ARRAY, 4, 4, 2, 0 },
	};
	struct usm_prog *p = ld_prog(obj, "legacy_verdict");
	size_t i;
	int pc;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		expect_map(obj, &want[i]);
	assert_non_null(usm_object_find_map(obj, ".data"));
	assert_non_null(p);
	pc = ld_map_arg_before_call(p, BPF_FUNC_sk_redirect_map, 2);
	assert_true(pc >= 0);
	assert_ptr_equal(ld_insn_map(p, (uint32_t)pc),
			 usm_object_find_map(obj, "legacy_sockmap"));
	pc = ld_map_arg_before_call(p, BPF_FUNC_map_lookup_elem, 1);
	assert_true(pc >= 0);
	assert_ptr_equal(ld_insn_map(p, (uint32_t)pc),
			 usm_object_find_map(obj, "legacy_hash"));
}

static void test_legacy_maps_section_with_btf(void **state)
{
	struct usm_object *obj = ld_load("ld_legacy");

	(void)state;
	check_legacy_maps(obj);
	usm_object_close(obj);
}

/* Rename .BTF/.BTF.ext away: the legacy path must then create the BTF. */
static void *without_btf(const uint8_t *buf, size_t size, size_t *out_size)
{
	struct usm_elf e;
	struct usm_elf_edits ed;
	void *img = NULL;
	uint32_t i;

	assert_int_equal(usm__elf_parse(buf, size, NULL, &e), 0);
	assert_int_equal(usm__elf_edits_init(&ed, &e), 0);
	for (i = 1; i < e.shnum; i++) {
		const char *n = usm__elf_sec_name(&e, i);

		if (!strcmp(n, ".BTF") || !strcmp(n, ".BTF.ext"))
			ed.sec[i].name = strdup(!strcmp(n, ".BTF") ? "x.BTF"
								   : "x.BTF.ext");
	}
	assert_int_equal(usm__elf_write(&e, &ed, &img, out_size), 0);
	usm__elf_edits_fini(&ed, &e);
	usm__elf_fini(&e);
	return img;
}

static void test_legacy_maps_section_without_btf(void **state)
{
	struct usm_object_open_opts o = ld_opts(1);
	struct usm_object *obj = NULL;
	size_t size, size2;
	uint8_t *buf = ld_read("ld_legacy", &size);
	void *img = without_btf(buf, size, &size2);

	(void)state;
	o.object_name = "ld_legacy";
	assert_int_equal(usm_object_open_mem(img, size2, &o, &obj), 0);
	assert_int_equal(usm_object_load(obj), 0);
	check_legacy_maps(obj);
	usm_object_close(obj);
	free(img);
	free(buf);
}

static void test_legacy_zero_extra_fields_translate(void **state)
{
	struct map_expect want = { "ext_array", BPF_MAP_TYPE_ARRAY, 4, 8, 3, 0 };
	struct usm_object *obj = ld_load("ld_legacy_ext");

	(void)state;
	expect_map(obj, &want);
	assert_non_null(ld_prog(obj, "ext_prog"));
	usm_object_close(obj);
}

/* ---- API rules ---- */

static void test_load_only_once(void **state)
{
	struct usm_object *obj = ld_load("ld_tail");

	(void)state;
	assert_int_equal(usm_object_load(obj), -EINVAL);
	assert_non_null(strstr(ld_log, "only once"));
	/* the first load's result stays */
	assert_non_null(usm_object_find_map(obj, "jmp"));
	usm_object_close(obj);
	usm_object_close(NULL);
}

static void test_program_verify_after_load(void **state)
{
	struct usm_object *obj = ld_open("ld_maps");
	struct usm_program *p = usm_object_find_program(obj, "verdict");
	struct usm_prog *loaded;
	char buf[4096];

	(void)state;
	assert_int_equal(usm_program_verify(p, buf, sizeof(buf), 1), -EINVAL);
	assert_non_null(strstr(buf, "not loaded"));
	assert_int_equal(usm_object_load(obj), 0);
	loaded = usm__program_prog(p);
	assert_int_equal(usm_program_verify(p, buf, sizeof(buf), 1), 0);
	assert_string_equal(usm_program_log(p), buf);
	assert_ptr_equal(usm__program_prog(p), loaded); /* not replaced */
	assert_int_equal(usm_program_verify(NULL, buf, sizeof(buf), 1), -EINVAL);
	usm_object_close(obj);
}

static int count_print(enum libbpf_print_level level, const char *fmt,
		       va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

/* libbpf's messages go to the object's log, not stderr, and the caller's
 * print function is back in place afterwards. */
static void test_libbpf_messages_are_captured_and_print_restored(void **state)
{
	struct usm_object_open_opts o = ld_opts(2);
	struct usm_object *obj = NULL;
	libbpf_print_fn_t prev;

	(void)state;
	prev = libbpf_set_print(count_print);
	assert_int_equal(usm_object_open(ld_path("ld_globals"), &o, &obj), 0);
	assert_int_equal(usm_object_load(obj), 0);
	assert_non_null(strstr(ld_log, "libbpf: "));
	assert_non_null(strstr(ld_log, "gen: "));
	assert_ptr_equal(libbpf_set_print(prev), count_print);
	usm_object_close(obj);
}

static void test_open_mem_and_options(void **state)
{
	struct usm_object_open_opts o = ld_opts(0);
	struct { struct usm_object_open_opts o; uint64_t extra; } big;
	struct usm_object *obj = NULL;
	size_t size;
	uint8_t *buf = ld_read("ld_globals", &size);

	(void)state;
	o.object_name = "named";
	assert_int_equal(usm_object_open_mem(buf, size, &o, &obj), 0);
	assert_string_equal(usm_object_name(obj), "named");
	assert_int_equal(usm_object_load(obj), 0);
	assert_non_null(usm_object_find_map(obj, "named.rodata"));
	usm_object_close(obj);
	assert_int_equal(usm_object_open_mem(buf, size, NULL, &obj), 0);
	usm_object_close(obj);
	/* a newer caller's struct: unknown trailing fields must be zero */
	memset(&big, 0, sizeof(big));
	big.o.sz = sizeof(big);
	assert_int_equal(usm_object_open_mem(buf, size, &big.o, &obj), 0);
	usm_object_close(obj);
	big.extra = 1;
	assert_int_equal(usm_object_open_mem(buf, size, &big.o, &obj), -EINVAL);
	assert_null(obj);
	o.sz = 1;
	assert_int_equal(usm_object_open_mem(buf, size, &o, &obj), -EINVAL);
	assert_int_equal(usm_object_open_mem(NULL, size, NULL, &obj), -EINVAL);
	assert_int_equal(usm_object_open_mem(buf, 0, NULL, &obj), -EINVAL);
	assert_int_equal(usm_object_open_mem(buf, size, NULL, NULL), -EINVAL);
	assert_int_equal(usm_object_open("/nonexistent/x.o", NULL, &obj),
			 -ENOENT);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_lists_programs_before_load),
		cmocka_unit_test(test_btf_maps_of_each_plain_and_socket_type),
		cmocka_unit_test(test_map_references_are_linked_by_index),
		cmocka_unit_test(test_global_data_maps_hold_initial_values),
		cmocka_unit_test(test_subprograms_are_appended_and_globals_linked),
		cmocka_unit_test(test_linked_program_runs_with_its_globals),
		cmocka_unit_test(test_kconfig_externs_fill_a_frozen_map),
		cmocka_unit_test(test_prog_array_initial_slots),
		cmocka_unit_test(test_array_of_maps_initial_slots),
		cmocka_unit_test(test_reuseport_sockarray_and_outer),
		cmocka_unit_test(test_section_names_select_types_like_libbpf),
		cmocka_unit_test(test_unsupported_types_are_kept_not_loaded),
		cmocka_unit_test(test_requesting_an_unsupported_program_fails_load),
		cmocka_unit_test(test_autoload_selects_programs),
		cmocka_unit_test(test_legacy_maps_section_with_btf),
		cmocka_unit_test(test_legacy_maps_section_without_btf),
		cmocka_unit_test(test_legacy_zero_extra_fields_translate),
		cmocka_unit_test(test_load_only_once),
		cmocka_unit_test(test_program_verify_after_load),
		cmocka_unit_test(test_libbpf_messages_are_captured_and_print_restored),
		cmocka_unit_test(test_open_mem_and_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
