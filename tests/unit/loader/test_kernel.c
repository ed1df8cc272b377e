/* SPDX-License-Identifier: MIT */
/*
 * The loader against the kernel: each test object is loaded into the
 * kernel with real libbpf and into usockmap; map names (as the kernel
 * stores them), types, key/value sizes, max_entries and flags must agree,
 * and so must the programs (count, names, types) and the initial
 * PROG_ARRAY / map-in-map slots. The legacy object, which libbpf 1.x
 * refuses, is compared through the image usockmap rewrites it into:
 * libbpf and the kernel must accept that image and create the same maps.
 * Skipped without kernel BPF.
 */
#include "ld_util.h"

#include <bpf/bpf.h>

static bool kernel_or_skip(void)
{
	const char *why;

	if (usm_test_have_kernel_bpf(&why))
		return true;
	USM_SKIP("%s", why);
	return false;
}

static int kernel_load(struct bpf_object *ko)
{
	libbpf_print_fn_t old = libbpf_set_print(ld_discard_print);
	int err = bpf_object__load(ko);

	libbpf_set_print(old);
	return err;
}

static void compare_map(struct usm_object *obj, struct bpf_map *km)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	struct usm_map *m = usm_object_find_map(obj, bpf_map__name(km));

	memset(&info, 0, sizeof(info));
	assert_int_equal(bpf_obj_get_info_by_fd(bpf_map__fd(km), &info, &len),
			 0);
	if (!m)
		print_message("usockmap lacks map %s\n", bpf_map__name(km));
	assert_non_null(m);
	assert_string_equal(usm_map_name(m), info.name);
	assert_int_equal(usm_map_type(m), info.type);
	assert_int_equal(usm_map_key_size(m), info.key_size);
	assert_int_equal(usm_map_value_size(m), info.value_size);
	assert_int_equal(usm_map_max_entries(m), info.max_entries);
	assert_int_equal(usm_map_flags(m), info.map_flags);
}

/* Slot occupancy of PROG_ARRAY / ARRAY_OF_MAPS maps: the kernel's user
 * lookup returns the id of what is stored, or ENOENT. */
static void compare_slots(struct usm_object *obj, struct bpf_map *km)
{
	struct usm_map *m = usm_object_find_map(obj, bpf_map__name(km));
	uint32_t type = bpf_map__type(km), i;

	if (type != BPF_MAP_TYPE_PROG_ARRAY && type != BPF_MAP_TYPE_ARRAY_OF_MAPS)
		return;
	for (i = 0; i < bpf_map__max_entries(km); i++) {
		uint32_t id = 0;
		bool k = bpf_map_lookup_elem(bpf_map__fd(km), &i, &id) == 0;
		bool u = type == BPF_MAP_TYPE_PROG_ARRAY
				 ? usm__prog_array_get(m, i) != NULL
				 : usm__map_bpf_lookup_elem(m, &i) != NULL;

		assert_int_equal(u, k);
	}
}

static void compare_progs(struct usm_object *obj, struct bpf_object *ko)
{
	struct bpf_program *kp;
	uint32_t listed = 0, loaded = 0, n = 0;
	struct usm_program *p;

	for (p = usm_object_next_program(obj, NULL); p;
	     p = usm_object_next_program(obj, p))
		n++;
	bpf_object__for_each_program(kp, ko) {
		p = usm_object_find_program(obj, bpf_program__name(kp));
		assert_non_null(p);
		listed++;
		if (!usm__program_prog(p))
			continue; /* a type usockmap does not run */
		loaded++;
		assert_true(bpf_program__fd(kp) >= 0);
		assert_int_equal(usm_program_type(p), bpf_program__type(kp));
		assert_int_equal(usm_program_expected_attach_type(p),
				 bpf_program__expected_attach_type(kp));
	}
	assert_int_equal(listed, n);
	assert_true(loaded > 0);
}

/* Sections libbpf 1.1 does not know but newer libbpf and usockmap do
 * ("sk_skb/verdict"): give libbpf the type a newer one would. */
static void set_newer_libbpf_types(struct usm_object *obj,
				   struct bpf_object *ko)
{
	struct bpf_program *kp;

	bpf_object__for_each_program(kp, ko) {
		struct usm_program *p = usm_object_find_program(
			obj, bpf_program__name(kp));

		if (bpf_program__type(kp) != BPF_PROG_TYPE_UNSPEC || !p ||
		    !usm__program_prog(p))
			continue;
		bpf_program__set_type(kp, usm_program_type(p));
		bpf_program__set_expected_attach_type(
			kp, usm_program_expected_attach_type(p));
	}
}

/* Load @ko into the kernel (@obj is loaded), then compare. */
static void compare(struct usm_object *obj, struct bpf_object *ko)
{
	struct bpf_map *km;
	struct usm_map *m;
	uint32_t kn = 0, un = 0;

	set_newer_libbpf_types(obj, ko);
	assert_int_equal(kernel_load(ko), 0);
	bpf_object__for_each_map(km, ko) {
		compare_map(obj, km);
		compare_slots(obj, km);
		kn++;
	}
	for (m = usm_object_next_map(obj, NULL); m;
	     m = usm_object_next_map(obj, m))
		un++;
	assert_int_equal(un, kn);
	compare_progs(obj, ko);
}

static void compare_object(const char *name)
{
	struct usm_object *obj;
	struct bpf_object *ko;

	if (!kernel_or_skip())
		return;
	obj = ld_open(name);
	if (usm_object_load(obj)) {
		print_message("%s\n", ld_log);
		fail_msg("usockmap cannot load %s", name);
	}
	ko = ld_libbpf_open(name);
	compare(obj, ko);
	bpf_object__close(ko);
	usm_object_close(obj);
}

static void test_maps_object_matches_kernel(void **state)
{
	(void)state;
	compare_object("ld_maps");
}

static void test_global_data_matches_kernel(void **state)
{
	(void)state;
	compare_object("ld_globals");
}

static void test_prog_array_slots_match_kernel(void **state)
{
	(void)state;
	compare_object("ld_tail");
}

static void test_sections_match_kernel(void **state)
{
	(void)state;
	compare_object("ld_sections");
}

static void test_core_uapi_object_matches_kernel(void **state)
{
	(void)state;
	compare_object("ld_core_ok");
}

static void test_kconfig_object_matches_kernel(void **state)
{
	(void)state;
	compare_object("ld_kconfig");
}

/* Objects whose map types the maps module may not have yet. */
static void compare_or_skip(const char *name, const char *type)
{
	struct usm_object *obj;
	char what[64];
	int err;

	if (!kernel_or_skip())
		return;
	obj = ld_open(name);
	err = usm_object_load(obj);
	snprintf(what, sizeof(what), "cannot create %s map", type);
	if (err == -EINVAL && strstr(ld_log, what)) {
		usm_object_close(obj);
		USM_SKIP("maps module has no %s yet", type);
		return;
	}
	assert_int_equal(err, 0);
	usm_object_close(obj);
	compare_object(name);
}

static void test_map_in_map_slots_match_kernel(void **state)
{
	(void)state;
	compare_or_skip("ld_inmap", "array_of_maps");
}

static void test_reuseport_object_matches_kernel(void **state)
{
	(void)state;
	compare_or_skip("ld_reuseport", "reuseport_sockarray");
}

/* libbpf 1.x refuses SEC("maps"); the image usockmap builds from it is
 * accepted by libbpf and the kernel, with the maps usockmap creates. */
static void test_legacy_rewrite_is_accepted_by_kernel(void **state)
{
	LIBBPF_OPTS(bpf_object_open_opts, bo, .object_name = "ld_legacy");
	struct usm_elf_info info;
	struct bpf_object *ko;
	struct usm_object *obj;
	size_t size, img_size;
	uint8_t *buf;
	void *img;

	(void)state;
	if (!kernel_or_skip())
		return;
	buf = ld_read("ld_legacy", &size);
	assert_int_equal(usm__image_prepare(buf, size, NULL, &info, &img,
					    &img_size), 0);
	assert_non_null(img);
	ko = bpf_object__open_mem(img, img_size, &bo);
	assert_non_null(ko);
	obj = ld_load("ld_legacy");
	compare(obj, ko);
	bpf_object__close(ko);
	usm_object_close(obj);
	usm__elf_info_fini(&info);
	free(img);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_maps_object_matches_kernel),
		cmocka_unit_test(test_global_data_matches_kernel),
		cmocka_unit_test(test_prog_array_slots_match_kernel),
		cmocka_unit_test(test_sections_match_kernel),
		cmocka_unit_test(test_core_uapi_object_matches_kernel),
		cmocka_unit_test(test_kconfig_object_matches_kernel),
		cmocka_unit_test(test_map_in_map_slots_match_kernel),
		cmocka_unit_test(test_reuseport_object_matches_kernel),
		cmocka_unit_test(test_legacy_rewrite_is_accepted_by_kernel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
