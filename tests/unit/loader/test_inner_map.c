/* SPDX-License-Identifier: MIT */
/*
 * Inner-map templates from user space (usm_object_set_inner_map, and
 * bpf_map__set_inner_map_fd through the libbpf front end) for an outer map
 * declared without __array(values, ...). The same object with libbpf's
 * bpf_map__set_inner_map_fd loads into the kernel (MAP-CRT-11: a
 * REUSEPORT_SOCKARRAY as the inner map).
 */
#include "usm_test.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <usockmap/map.h>
#include <usockmap/object.h>

static const char *obj_path(void)
{
	return usm_test_bpf_path("tests/bpf/ld_outer_noinner");
}

static void test_without_template_fails(void **state)
{
	char log[2048] = "";
	struct usm_object_open_opts o = { .sz = sizeof(o), .log_buf = log,
					  .log_size = sizeof(log) };
	struct usm_object *obj;

	(void)state;
	assert_int_equal(usm_object_open(obj_path(), &o, &obj), 0);
	assert_int_equal(usm_object_load(obj), -EINVAL);
	assert_non_null(strstr(log, "usm_object_set_inner_map"));
	usm_object_close(obj);
}

static void test_template_MAPCRT11(void **state)
{
	struct usm_object *obj;
	struct usm_map *inner, *outer;
	const char *why;

	(void)state;
	assert_int_equal(usm_map_create(BPF_MAP_TYPE_REUSEPORT_SOCKARRAY,
					"inner", 4, 8, 4, NULL, &inner), 0);
	assert_int_equal(usm_object_open(obj_path(), NULL, &obj), 0);
	assert_int_equal(usm_object_set_inner_map(obj, "nope", inner),
			 -ENOENT);
	assert_int_equal(usm_object_set_inner_map(obj, "plain", inner),
			 -EINVAL);
	assert_int_equal(usm_object_set_inner_map(obj, "outer", NULL),
			 -EINVAL);
	assert_int_equal(usm_object_set_inner_map(obj, "outer", inner), 0);
	assert_int_equal(usm_object_load(obj), 0);
	assert_int_equal(usm_object_set_inner_map(obj, "outer", inner),
			 -EBUSY);
	outer = usm_object_find_map(obj, "outer");
	assert_non_null(outer);
	assert_int_equal(usm_map_type(outer), BPF_MAP_TYPE_ARRAY_OF_MAPS);
	usm_object_close(obj);
	usm_map_close(inner); /* the object's reference is gone: no leak */

	if (!usm_test_have_kernel_bpf(&why)) {
		USM_SKIP("kernel comparison: %s", why);
		return;
	}
	{
		struct bpf_object *k = bpf_object__open_file(obj_path(), NULL);
		int ifd = bpf_map_create(BPF_MAP_TYPE_REUSEPORT_SOCKARRAY,
					 "inner", 4, 8, 4, NULL);

		assert_non_null(k);
		assert_true(ifd >= 0);
		assert_int_equal(bpf_map__set_inner_map_fd(
				 bpf_object__find_map_by_name(k, "outer"), ifd),
				 0);
		assert_int_equal(bpf_object__load(k), 0);
		bpf_object__close(k);
		close(ifd);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_without_template_fails),
		cmocka_unit_test(test_template_MAPCRT11),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
