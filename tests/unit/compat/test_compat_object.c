/* SPDX-License-Identifier: MIT */
/*
 * <usockmap/libbpf.h> object API (bpf_object__*, bpf_program__*,
 * bpf_map__*, the for_each macros) against libbpf's own on the same object
 * files: the same programs and maps in the same order with the same names
 * and definitions, the same results and errno for the calls libbpf
 * defines (before load, second load, missing names), and descriptors that
 * name the object's maps and programs after load.
 */
#include "compat_test.h"

#include <stdio.h>

static const char *const objects[] = {
	"examples/libbpf/skb_progs",
	"examples/libbpf/msg_prog",
	"tests/bpf/ld_globals",
	"tests/bpf/ld_maps",
};

#define NOBJ (sizeof(objects) / sizeof(objects[0]))

/* Program and map listing, usockmap vs libbpf (no kernel needed: libbpf
 * lists without loading). */
static void compare_listing(struct bpf_object *u, struct bpf_object *k)
{
	struct bpf_program *up, *kp = bpf_object__next_program(k, NULL);
	struct bpf_map *um, *km = bpf_object__next_map(k, NULL);

	for (up = usm_compat_bpf_object__next_program(u, NULL); up;
	     up = usm_compat_bpf_object__next_program(u, up)) {
		assert_non_null(kp);
		assert_string_equal(usm_compat_bpf_program__name(up),
				    bpf_program__name(kp));
		assert_string_equal(usm_compat_bpf_program__section_name(up),
				    bpf_program__section_name(kp));
		assert_int_equal(usm_compat_bpf_program__type(up),
				 bpf_program__type(kp));
		assert_int_equal(usm_compat_bpf_program__expected_attach_type(up),
				 bpf_program__expected_attach_type(kp));
		assert_int_equal(usm_compat_bpf_program__autoload(up),
				 bpf_program__autoload(kp));
		kp = bpf_object__next_program(k, kp);
	}
	assert_null(kp);
	for (um = usm_compat_bpf_object__next_map(u, NULL); um;
	     um = usm_compat_bpf_object__next_map(u, um)) {
		assert_non_null(km);
		assert_string_equal(usm_compat_bpf_map__name(um),
				    bpf_map__name(km));
		assert_int_equal(usm_compat_bpf_map__type(um),
				 bpf_map__type(km));
		assert_int_equal(usm_compat_bpf_map__key_size(um),
				 bpf_map__key_size(km));
		assert_int_equal(usm_compat_bpf_map__value_size(um),
				 bpf_map__value_size(km));
		assert_int_equal(usm_compat_bpf_map__max_entries(um),
				 bpf_map__max_entries(km));
		assert_int_equal(usm_compat_bpf_map__map_flags(um),
				 bpf_map__map_flags(km));
		km = bpf_object__next_map(k, km);
	}
	assert_null(km);
}

/* The same definitions as libbpf, before and after load. */
static void test_listing_matches_libbpf(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NOBJ; i++) {
		const char *path = usm_test_bpf_path(objects[i]);
		struct bpf_object *u = usm_compat_bpf_object__open_file(path,
									NULL);
		struct bpf_object *k = bpf_object__open_file(path, NULL);

		assert_non_null(u);
		assert_non_null(k);
		assert_string_equal(usm_compat_bpf_object__name(u),
				    bpf_object__name(k));
		compare_listing(u, k);
		assert_int_equal(usm_compat_bpf_object__load(u), 0);
		compare_listing(u, k);
		usm_compat_bpf_object__close(u);
		bpf_object__close(k);
	}
}

/* Descriptors: none before load (libbpf: program -ENOENT, map -1), real
 * handles after, naming the object's own maps and programs. */
static void test_fds(void **state)
{
	const char *path = usm_test_bpf_path("examples/libbpf/msg_prog");
	struct bpf_object *u = usm_compat_bpf_object__open_file(path, NULL);
	struct bpf_object *k = bpf_object__open_file(path, NULL);
	struct bpf_program *up, *kp;
	struct bpf_map *um, *km;
	struct bpf_prog_info pi;
	struct bpf_map_info mi;
	struct res ur, kr;
	__u32 len;

	(void)state;
	assert_non_null(u);
	assert_non_null(k);
	up = usm_compat_bpf_object__find_program_by_name(u, "msg_filter");
	kp = bpf_object__find_program_by_name(k, "msg_filter");
	um = usm_compat_bpf_object__find_map_by_name(u, "sock_map");
	km = bpf_object__find_map_by_name(k, "sock_map");
	assert_non_null(up);
	assert_non_null(um);
	ur = RUN(usm_compat_bpf_program__fd(up));
	kr = RUN(bpf_program__fd(kp));
	same_res("prog fd before load", ur, &kr, -ENOENT, false);
	assert_int_equal(usm_compat_bpf_map__fd(um), bpf_map__fd(km));
	assert_int_equal(usm_compat_bpf_map__fd(um), -1);
	assert_int_equal(usm_compat_bpf_object__load(u), 0);
	assert_true(usm_is_bpf_fd(usm_compat_bpf_program__fd(up)));
	assert_true(usm_is_bpf_fd(usm_compat_bpf_map__fd(um)));
	len = sizeof(mi);
	memset(&mi, 0, sizeof(mi));
	assert_int_equal(usm_compat_bpf_obj_get_info_by_fd(
				 usm_compat_bpf_map__fd(um), &mi, &len), 0);
	assert_int_equal(mi.type, BPF_MAP_TYPE_SOCKMAP);
	assert_string_equal(mi.name, "sock_map");
	len = sizeof(pi);
	memset(&pi, 0, sizeof(pi));
	assert_int_equal(usm_compat_bpf_obj_get_info_by_fd(
				 usm_compat_bpf_program__fd(up), &pi, &len), 0);
	assert_int_equal(pi.type, BPF_PROG_TYPE_SK_MSG);
	assert_int_equal(usm_compat_bpf_map__fd(NULL), -EINVAL);
	assert_int_equal(usm_compat_bpf_program__fd(NULL), -EINVAL);
	/* NULL records: no crash (libbpf would dereference them). */
	assert_null(usm_compat_bpf_program__name(NULL));
	assert_null(usm_compat_bpf_map__name(NULL));
	assert_int_equal(usm_compat_bpf_map__type(NULL), 0);
	assert_int_equal(usm_compat_bpf_map__key_size(NULL), 0);
	assert_false(usm_compat_bpf_program__autoload(NULL));
	usm_compat_bpf_object__close(u);
	bpf_object__close(k);
}

/* bpf_map__set_inner_map_fd before load: the outer map declared without
 * __array(values) loads only with it, on usockmap as with libbpf on the
 * kernel (MAP-CRT-11). */
static void test_set_inner_map_fd(void **state)
{
	const char *path = usm_test_bpf_path("tests/bpf/ld_outer_noinner");
	struct bpf_object *u = usm_compat_bpf_object__open_file(path, NULL);
	struct bpf_object *bare = usm_compat_bpf_object__open_file(path, NULL);
	struct bpf_map *outer;
	int ifd;

	(void)state;
	assert_non_null(u);
	assert_non_null(bare);
	ifd = usm_compat_bpf_map_create(BPF_MAP_TYPE_REUSEPORT_SOCKARRAY,
					"inner", 4, 8, 4, NULL);
	assert_true(ifd >= 0);
	outer = usm_compat_bpf_object__find_map_by_name(u, "outer");
	assert_non_null(outer);
	assert_int_equal(usm_compat_bpf_map__set_inner_map_fd(outer, -1),
			 -EBADF);
	assert_int_equal(usm_compat_bpf_map__set_inner_map_fd(outer, ifd), 0);
	assert_int_equal(usm_compat_bpf_object__load(u), 0);
	assert_true(usm_compat_bpf_object__load(bare) < 0);
	usm_compat_bpf_object__close(u);
	usm_compat_bpf_object__close(bare);
	usm_close(ifd);
}

/* libbpf's errors for missing names, a second load, autoload after load,
 * and a file that is not there. */
static void test_errors_match_libbpf(void **state)
{
	const char *path = usm_test_bpf_path("tests/bpf/ld_globals");
	struct bpf_object *u = usm_compat_bpf_object__open_file(path, NULL);
	struct bpf_object *k = bpf_object__open_file(path, NULL);
	struct res ur, kr;

	(void)state;
	assert_non_null(u);
	assert_non_null(k);
	ur = RUN(usm_compat_bpf_object__find_program_by_name(u, "nope") ? 1 : 0);
	kr = RUN(bpf_object__find_program_by_name(k, "nope") ? 1 : 0);
	assert_int_equal(ur.ret, 0);
	assert_int_equal(kr.ret, 0);
	assert_int_equal(ur.err, kr.err);
	ur = RUN(usm_compat_bpf_object__find_map_by_name(u, "nope") ? 1 : 0);
	kr = RUN(bpf_object__find_map_by_name(k, "nope") ? 1 : 0);
	assert_int_equal(ur.ret, 0);
	assert_int_equal(ur.err, kr.err);
	/* Internal maps by their section name, as libbpf resolves them. */
	assert_non_null(usm_compat_bpf_object__find_map_by_name(u, ".rodata"));
	assert_non_null(bpf_object__find_map_by_name(k, ".rodata"));
	assert_int_equal(usm_compat_bpf_object__load(u), 0);
	if (ct_kern()) {
		assert_int_equal(bpf_object__load(k), 0);
		ur = RUN(usm_compat_bpf_object__load(u));
		kr = RUN(bpf_object__load(k));
		same_res("second load", ur, &kr, -EINVAL, false);
		ur = RUN(usm_compat_bpf_program__set_autoload(
			usm_compat_bpf_object__find_program_by_name(u, "parser"),
			false));
		kr = RUN(bpf_program__set_autoload(
			bpf_object__find_program_by_name(k, "parser"), false));
		same_res("autoload after load", ur, &kr, -EINVAL, false);
	}
	usm_compat_bpf_object__close(u);
	bpf_object__close(k);
	ur = RUN(usm_compat_bpf_object__open_file("/nonexistent/x.o", NULL)
			 ? 1
			 : 0);
	kr = RUN(bpf_object__open_file("/nonexistent/x.o", NULL) ? 1 : 0);
	assert_int_equal(ur.ret, 0);
	assert_int_equal(ur.err, ENOENT);
	assert_int_equal(kr.err, ENOENT);
	usm_compat_bpf_object__close(NULL);
	ct_kern_done();
}

/* Open options: object_name, a log buffer, and libbpf's sz rules. */
static void test_open_opts(void **state)
{
	const char *path = usm_test_bpf_path("examples/libbpf/skb_progs");
	char log[4096] = "";
	LIBBPF_OPTS(bpf_object_open_opts, o, .object_name = "renamed",
		    .kernel_log_buf = log, .kernel_log_size = sizeof(log),
		    .kernel_log_level = 1);
	LIBBPF_OPTS(bpf_object_open_opts, bad);
	struct bpf_object *u;

	(void)state;
	u = usm_compat_bpf_object__open_file(path, &o);
	assert_non_null(u);
	assert_string_equal(usm_compat_bpf_object__name(u), "renamed");
	assert_int_equal(usm_compat_bpf_object__load(u), 0);
	usm_compat_bpf_object__close(u);
	bad.sz = 2;
	errno = 0;
	assert_null(usm_compat_bpf_object__open_file(path, &bad));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(bpf_object__open_file(path, &bad));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(usm_compat_bpf_object__open_file(NULL, NULL));
	assert_int_equal(errno, EINVAL);
}

/* Iteration covers every program and map; another object's record is
 * refused (the for_each macros use these calls, see test_samples). */
static void test_next_iteration(void **state)
{
	struct bpf_object *u = usm_compat_bpf_object__open_file(
		usm_test_bpf_path("tests/bpf/ld_globals"), NULL);
	struct bpf_program *p;
	struct bpf_map *m;
	int np = 0, nm = 0;

	(void)state;
	assert_non_null(u);
	for (p = usm_compat_bpf_object__next_program(u, NULL); p;
	     p = usm_compat_bpf_object__next_program(u, p))
		np++;
	for (m = usm_compat_bpf_object__next_map(u, NULL); m;
	     m = usm_compat_bpf_object__next_map(u, m))
		nm++;
	assert_true(np >= 2);
	assert_true(nm >= 3); /* .data, .rodata, .bss */
	/* A record of another object is refused. */
	{
		struct bpf_object *v = usm_compat_bpf_object__open_file(
			usm_test_bpf_path("tests/bpf/ld_globals"), NULL);

		errno = 0;
		assert_null(usm_compat_bpf_object__next_program(
			v, usm_compat_bpf_object__next_program(u, NULL)));
		assert_int_equal(errno, EINVAL);
		usm_compat_bpf_object__close(v);
	}
	usm_compat_bpf_object__close(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listing_matches_libbpf),
		cmocka_unit_test(test_fds),
		cmocka_unit_test(test_set_inner_map_fd),
		cmocka_unit_test(test_errors_match_libbpf),
		cmocka_unit_test(test_open_opts),
		cmocka_unit_test(test_next_iteration),
	};

	libbpf_set_print(NULL); /* libbpf's warnings are expected here */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
