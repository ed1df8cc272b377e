/* SPDX-License-Identifier: MIT */
/*
 * ARRAY_OF_MAPS / HASH_OF_MAPS (SEMANTICS MAP-CRT-11, RPA-11 and the
 * map-in-map rules of map_in_map.c/arraymap.c/hashtab.c): creation with an
 * inner-map template, updates by inner map fd, lookups returning the inner
 * map's id, BPF-side lookups returning the inner map. Compared with the
 * kernel where both can run the same calls.
 *
 * The bpf(2) core's fd table is not part of this module, so this file
 * installs a stand-in resolver: each usockmap map used as a value gets an
 * eventfd, and the resolver maps those fds back to the maps.
 */
#include "rpa_test.h"

#include <fcntl.h>
#include <sys/eventfd.h>

#define AOM BPF_MAP_TYPE_ARRAY_OF_MAPS
#define HOM BPF_MAP_TYPE_HASH_OF_MAPS

/* ---- stand-in fd table (test only) ---- */

#define NFAKE 64
static struct {
	int fd;
	struct usm_map *map;
} fake[NFAKE];

static int fake_resolve(int fd, struct usm_map **out)
{
	int i;

	*out = NULL;
	for (i = 0; i < NFAKE; i++) {
		if (fake[i].map && fake[i].fd == fd) {
			usm__map_get(fake[i].map);
			*out = fake[i].map;
			return 0;
		}
	}
	return fcntl(fd, F_GETFD) < 0 ? -EBADF : -EINVAL;
}

/* An fd standing for @m (closed by fake_drop). */
static int fake_fd(struct usm_map *m)
{
	int i;

	for (i = 0; i < NFAKE; i++) {
		if (!fake[i].map) {
			fake[i].fd = eventfd(0, EFD_CLOEXEC);
			assert_true(fake[i].fd >= 0);
			fake[i].map = m;
			return fake[i].fd;
		}
	}
	fail_msg("fake fd table full");
	return -1;
}

static void fake_drop(struct usm_map *m)
{
	int i;

	for (i = 0; i < NFAKE; i++) {
		if (fake[i].map == m) {
			close(fake[i].fd);
			fake[i].map = NULL;
		}
	}
}

static int setup(void **state)
{
	(void)state;
	usm__map_set_map_fd_resolver(fake_resolve);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	usm__map_set_map_fd_resolver(NULL);
	return 0;
}

/* Update slot @key of @outer with @inner's fd on each side. */
static void put_inner(struct dmap *outer, const void *key, struct dmap *inner,
		      uint64_t flags, int exp, const char *what)
{
	uint32_t ufd = (uint32_t)fake_fd(inner->u), kfd = (uint32_t)inner->k;

	check_update2(outer, key, &ufd, &kfd, flags, exp, what);
}

static void dmap_free_fake(struct dmap *d)
{
	fake_drop(d->u);
	dmap_free(d);
}

/* The kernel's id of the map behind @fd. */
static uint32_t kern_map_id(int fd)
{
	struct bpf_map_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		fail_msg("map info: %s", strerror(errno));
	return info.id;
}

/* Lookup @key: usockmap must give @inner's id, the kernel its own id. */
static void check_inner_id(struct dmap *outer, const void *key,
			   struct dmap *inner, const char *what)
{
	uint32_t uid = 0, kid = 0;

	assert_int_equal(usm_map_lookup_elem(outer->u, key, &uid), 0);
	assert_int_equal(uid, inner->u->id);
	if (outer->k >= 0) {
		if (bpf_map_lookup_elem(outer->k, key, &kid))
			fail_msg("%s: kernel lookup %d", what, -errno);
		assert_int_equal(kid, kern_map_id(inner->k));
	}
}

/* ---- creation ---- */

/* MAP-CRT-11: socket maps and REUSEPORT_SOCKARRAY as inner maps. */
static void test_socket_maps_as_inner(void **state)
{
	static const uint32_t inner_types[] = {
		BPF_MAP_TYPE_SOCKMAP, BPF_MAP_TYPE_SOCKHASH,
		BPF_MAP_TYPE_REUSEPORT_SOCKARRAY, BPF_MAP_TYPE_ARRAY,
		BPF_MAP_TYPE_HASH,
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(inner_types) / sizeof(inner_types[0]); i++) {
		struct dmap in, in2, aom, hom;
		uint32_t k = 0;

		dmap_new(&in, inner_types[i], 4, 8, 4, 0);
		dmap_new(&in2, inner_types[i], 4, 8, 4, 0);
		assert_int_equal(dmap_try_inner(&aom, AOM, 4, 4, 2, 0, &in), 0);
		assert_int_equal(dmap_try_inner(&hom, HOM, 4, 4, 2, 0, &in), 0);
		assert_int_equal(aom.u->inner_meta, in.u);
		put_inner(&aom, &k, &in2, BPF_ANY, 0, "array of maps");
		put_inner(&hom, &k, &in2, BPF_ANY, 0, "hash of maps");
		check_inner_id(&aom, &k, &in2, "array of maps");
		check_inner_id(&hom, &k, &in2, "hash of maps");
		dmap_free_fake(&aom);
		dmap_free_fake(&hom);
		dmap_free_fake(&in2);
		dmap_free_fake(&in);
	}
	rt_kern_done();
}

/* fd_array_map_alloc_check / fd_htab_map_alloc_check rules. */
static void test_create_rules(void **state)
{
	static const struct {
		const char *what;
		uint32_t type, ks, vs, max, flags;
		int exp;
	} c[] = {
		{ "aom ok", AOM, 4, 4, 4, 0, 0 },
		{ "aom vs 8", AOM, 4, 8, 4, 0, -EINVAL },
		{ "aom ks 8", AOM, 8, 4, 4, 0, -EINVAL },
		{ "aom max 0", AOM, 4, 4, 0, 0, -EINVAL },
		{ "aom rdonly prog", AOM, 4, 4, 4, BPF_F_RDONLY_PROG, -EINVAL },
		{ "aom inner map", AOM, 4, 4, 4, BPF_F_INNER_MAP, -EINVAL },
		{ "aom mmapable", AOM, 4, 4, 4, BPF_F_MMAPABLE, -EINVAL },
		{ "aom no prealloc", AOM, 4, 4, 4, BPF_F_NO_PREALLOC, -EINVAL },
		{ "aom rdonly", AOM, 4, 4, 4, BPF_F_RDONLY, 0 },
		{ "hom ok", HOM, 8, 4, 4, 0, 0 },
		{ "hom vs 8", HOM, 4, 8, 4, 0, -EINVAL },
		{ "hom ks 0", HOM, 0, 4, 4, 0, -EINVAL },
		{ "hom max 0", HOM, 4, 4, 0, 0, -EINVAL },
		{ "hom no prealloc", HOM, 4, 4, 4, BPF_F_NO_PREALLOC, 0 },
		{ "hom mmapable", HOM, 4, 4, 4, BPF_F_MMAPABLE, -EINVAL },
	};
	struct dmap in;
	size_t i;

	(void)state;
	dmap_new(&in, BPF_MAP_TYPE_ARRAY, 4, 4, 1, 0);
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct dmap d;
		int err = dmap_try_inner(&d, c[i].type, c[i].ks, c[i].vs,
					 c[i].max, c[i].flags, &in);

		if (err != c[i].exp)
			fail_msg("%s: expected %d, usockmap %d", c[i].what,
				 c[i].exp, err);
		dmap_free(&d);
	}
	dmap_free(&in);
	rt_kern_done();
}

/* bpf_map_meta_alloc: PROG_ARRAY has no meta_equal (ENOTSUPP), a map in
 * map cannot be a template (EINVAL). */
static void test_template_rules(void **state)
{
	struct dmap pa, in, aom, d;
	uint32_t t;

	(void)state;
	dmap_new(&pa, BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 2, 0);
	dmap_new(&in, BPF_MAP_TYPE_ARRAY, 4, 4, 2, 0);
	for (t = AOM; t <= HOM; t++) {
		assert_int_equal(dmap_try_inner(&d, t, 4, 4, 2, 0, &pa),
				 -USM_ENOTSUPP);
		dmap_free(&d);
	}
	assert_int_equal(dmap_try_inner(&aom, AOM, 4, 4, 2, 0, &in), 0);
	for (t = AOM; t <= HOM; t++) {
		assert_int_equal(dmap_try_inner(&d, t, 4, 4, 2, 0, &aom),
				 -EINVAL);
		dmap_free(&d);
	}
	dmap_free(&aom);
	dmap_free(&pa);
	dmap_free(&in);
	rt_kern_done();
}

/* The inner map fd is resolved in the type's alloc, after alloc_check:
 * a bad fd is EBADF, but bad sizes are EINVAL first. */
static void test_template_fd_order(void **state)
{
	struct usm_map_attr a;
	struct usm_map *m = NULL;
	int k;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.map_type = AOM;
	a.key_size = 4;
	a.value_size = 4;
	a.max_entries = 1;
	a.inner_map_err = -EBADF;
	assert_int_equal(usm__map_create(&a, &m), -EBADF);
	a.inner_map_err = 0;
	assert_int_equal(usm__map_create(&a, &m), -EINVAL);
	a.inner_map_err = -EBADF;
	a.value_size = 8;
	assert_int_equal(usm__map_create(&a, &m), -EINVAL);
	assert_null(m);
	if (rt_kern()) {
		LIBBPF_OPTS(bpf_map_create_opts, o, .inner_map_fd = NOFD);

		k = bpf_map_create(AOM, "t", 4, 4, 1, &o);
		assert_int_equal(k, -EBADF);
		k = bpf_map_create(AOM, "t", 4, 8, 1, &o);
		assert_int_equal(k, -EINVAL);
	}
	rt_kern_done();
}

/* map_check_no_btf: BTF ids make creation fail with ENOTSUPP. */
static void test_no_btf(void **state)
{
	struct usm_map_create_opts o = { .sz = sizeof(o) };
	struct usm_map *in, *m = NULL;

	(void)state;
	assert_int_equal(usm_map_create(BPF_MAP_TYPE_ARRAY, "i", 4, 4, 1, NULL,
					&in), 0);
	o.inner_map = in;
	o.btf_key_type_id = 1;
	o.btf_value_type_id = 2;
	assert_int_equal(usm_map_create(AOM, "o", 4, 4, 1, &o, &m),
			 -USM_ENOTSUPP);
	assert_int_equal(usm_map_create(HOM, "o", 4, 4, 1, &o, &m),
			 -USM_ENOTSUPP);
	assert_null(m);
	usm_map_close(in);
}

/* ---- ARRAY_OF_MAPS ---- */

/* bpf_fd_array_map_update_elem: flags != ANY, then index, then the fd. */
static void test_aom_update_order(void **state)
{
	struct dmap in, aom;
	uint32_t k, v;
	int p[2];

	(void)state;
	dmap_new(&in, BPF_MAP_TYPE_ARRAY, 4, 4, 2, 0);
	assert_int_equal(dmap_try_inner(&aom, AOM, 4, 4, 2, 0, &in), 0);
	k = 5;
	v = NOFD;
	check_update(&aom, &k, &v, BPF_NOEXIST, -EINVAL, "NOEXIST");
	check_update(&aom, &k, &v, BPF_EXIST, -EINVAL, "EXIST");
	check_update(&aom, &k, &v, BPF_ANY, -E2BIG, "index before fd");
	k = 0;
	check_update(&aom, &k, &v, BPF_ANY, -EBADF, "closed fd");
	assert_int_equal(pipe(p), 0);
	v = (uint32_t)p[0];
	check_update(&aom, &k, &v, BPF_ANY, -EINVAL, "not a map");
	close(p[0]);
	close(p[1]);
	check_lookup(&aom, &k, -ENOENT, NULL, 4, "still empty");
	dmap_free_fake(&aom);
	dmap_free_fake(&in);
	rt_kern_done();
}

/* bpf_map_meta_equal (+ array_map_meta_equal) on update. */
static void test_meta_equal(void **state)
{
	static const struct {
		const char *what;
		uint32_t type, ks, vs, max, flags;
		int exp;
	} c[] = {
		{ "same", BPF_MAP_TYPE_ARRAY, 4, 4, 2, 0, 0 },
		{ "other max_entries", BPF_MAP_TYPE_ARRAY, 4, 4, 3, 0, -EINVAL },
		{ "other value_size", BPF_MAP_TYPE_ARRAY, 4, 8, 2, 0, -EINVAL },
		{ "other flags", BPF_MAP_TYPE_ARRAY, 4, 4, 2,
		  BPF_F_RDONLY_PROG, -EINVAL },
		{ "other type", BPF_MAP_TYPE_HASH, 4, 4, 2, 0, -EINVAL },
		{ "rdonly fd flag ignored", BPF_MAP_TYPE_ARRAY, 4, 4, 2,
		  BPF_F_RDONLY, 0 },
	};
	struct dmap in, aom;
	uint32_t k = 0;
	size_t i;

	(void)state;
	dmap_new(&in, BPF_MAP_TYPE_ARRAY, 4, 4, 2, 0);
	assert_int_equal(dmap_try_inner(&aom, AOM, 4, 4, 1, 0, &in), 0);
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct dmap x;

		dmap_new(&x, c[i].type, c[i].ks, c[i].vs, c[i].max,
			 c[i].flags);
		put_inner(&aom, &k, &x, BPF_ANY, c[i].exp, c[i].what);
		dmap_free_fake(&x);
	}
	dmap_free_fake(&aom);
	dmap_free_fake(&in);
	rt_kern_done();
}

/* BPF_F_INNER_MAP on an ARRAY template: any max_entries fits. */
static void test_inner_map_flag(void **state)
{
	struct dmap in, aom, x;
	uint32_t k = 0;

	(void)state;
	dmap_new(&in, BPF_MAP_TYPE_ARRAY, 4, 4, 2, BPF_F_INNER_MAP);
	assert_int_equal(dmap_try_inner(&aom, AOM, 4, 4, 1, 0, &in), 0);
	dmap_new(&x, BPF_MAP_TYPE_ARRAY, 4, 4, 9, BPF_F_INNER_MAP);
	put_inner(&aom, &k, &x, BPF_ANY, 0, "bigger inner");
	dmap_free_fake(&x);
	dmap_new(&x, BPF_MAP_TYPE_ARRAY, 4, 4, 9, 0);
	put_inner(&aom, &k, &x, BPF_ANY, -EINVAL, "flag must match too");
	dmap_free_fake(&x);
	dmap_free_fake(&aom);
	dmap_free_fake(&in);
	rt_kern_done();
}

/* Lookup gives the id, delete E2BIG/ENOENT, iteration like ARRAY; the
 * outer map keeps a closed inner map alive. RPA-11 for the BPF side. */
static void test_aom_ops(void **state)
{
	struct dmap in, aom;
	struct usm_map *inner;
	uint32_t k, want, id;

	(void)state;
	dmap_new(&in, BPF_MAP_TYPE_REUSEPORT_SOCKARRAY, 4, 8, 2, 0);
	assert_int_equal(dmap_try_inner(&aom, AOM, 4, 4, 3, 0, &in), 0);
	k = 1;
	put_inner(&aom, &k, &in, BPF_ANY, 0, "store");
	check_inner_id(&aom, &k, &in, "id");
	k = 0;
	check_lookup(&aom, &k, -ENOENT, NULL, 4, "empty");
	k = 3;
	check_lookup(&aom, &k, -ENOENT, NULL, 4, "out of range");
	check_delete(&aom, &k, -E2BIG, "delete out of range");
	k = 0;
	check_delete(&aom, &k, -ENOENT, "delete empty");
	want = 0;
	check_next(&aom, NULL, 0, &want, "first key");
	want = 1;
	check_next(&aom, &k, 0, &want, "0 -> 1");
	k = 2;
	check_next(&aom, &k, -ENOENT, NULL, "last");
	/* RPA-11: an empty outer slot gives NULL to programs. */
	k = 0;
	assert_null(usm__map_bpf_lookup_elem(aom.u, &k));
	k = 1;
	inner = usm__map_bpf_lookup_elem(aom.u, &k);
	assert_ptr_equal(inner, in.u);
	/* The creator's handle goes; the slot keeps the map. */
	id = in.u->id;
	dmap_free_fake(&in);
	inner = usm__map_bpf_lookup_elem(aom.u, &k);
	assert_non_null(inner);
	assert_int_equal(inner->id, id);
	assert_int_equal(inner->map_type, BPF_MAP_TYPE_REUSEPORT_SOCKARRAY);
	check_lookup_v(&aom, &k, 0, &id, 4, true, "after inner close");
	check_delete(&aom, &k, 0, "delete");
	check_lookup(&aom, &k, -ENOENT, NULL, 4, "deleted");
	dmap_free_fake(&aom);
	rt_kern_done();
}

/* The loader's path: ops->update_elem_map stores a map directly. */
static void test_update_elem_map(void **state)
{
	struct usm_map_create_opts o = { .sz = sizeof(o) };
	struct usm_map *in, *bad, *aom, *hom;
	uint32_t k = 0, id;

	(void)state;
	assert_int_equal(usm_map_create(BPF_MAP_TYPE_SOCKHASH, "i", 4, 8, 2,
					NULL, &in), 0);
	assert_int_equal(usm_map_create(BPF_MAP_TYPE_SOCKMAP, "b", 4, 8, 2,
					NULL, &bad), 0);
	o.inner_map = in;
	assert_int_equal(usm_map_create(AOM, "a", 4, 4, 1, &o, &aom), 0);
	assert_int_equal(usm_map_create(HOM, "h", 4, 4, 1, &o, &hom), 0);
	assert_int_equal(aom->ops->update_elem_map(aom, &k, bad, BPF_ANY),
			 -EINVAL);
	assert_int_equal(aom->ops->update_elem_map(aom, &k, in, BPF_NOEXIST),
			 -EINVAL);
	assert_int_equal(aom->ops->update_elem_map(aom, &k, in, BPF_ANY), 0);
	assert_int_equal(hom->ops->update_elem_map(hom, &k, bad, BPF_ANY),
			 -EINVAL);
	assert_int_equal(hom->ops->update_elem_map(hom, &k, in, BPF_ANY), 0);
	assert_int_equal(hom->ops->update_elem_map(hom, &k, in, BPF_NOEXIST),
			 -EEXIST);
	k = 1;
	assert_int_equal(aom->ops->update_elem_map(aom, &k, in, BPF_ANY),
			 -E2BIG);
	assert_int_equal(hom->ops->update_elem_map(hom, &k, in, BPF_ANY),
			 -E2BIG); /* full */
	k = 0;
	assert_int_equal(usm_map_lookup_elem(hom, &k, &id), 0);
	assert_int_equal(id, in->id);
	usm_map_close(in);
	usm_map_close(bad);
	usm_map_close(aom);
	usm_map_close(hom);
}

/* ---- HASH_OF_MAPS ---- */

/* bpf_fd_htab_map_update_elem: the fd first, then the hash rules. */
static void test_hom_update_rules(void **state)
{
	struct dmap in, hom;
	uint32_t k, v;

	(void)state;
	dmap_new(&in, BPF_MAP_TYPE_SOCKMAP, 4, 8, 2, 0);
	assert_int_equal(dmap_try_inner(&hom, HOM, 4, 4, 2, 0, &in), 0);
	k = 10;
	v = NOFD;
	check_update(&hom, &k, &v, BPF_EXIST + 1, -EBADF, "fd before flags");
	put_inner(&hom, &k, &in, BPF_EXIST + 1, -EINVAL, "flags");
	put_inner(&hom, &k, &in, BPF_F_LOCK, -EINVAL, "BPF_F_LOCK");
	put_inner(&hom, &k, &in, BPF_EXIST, -ENOENT, "EXIST, missing");
	put_inner(&hom, &k, &in, BPF_NOEXIST, 0, "NOEXIST, new");
	put_inner(&hom, &k, &in, BPF_NOEXIST, -EEXIST, "NOEXIST, present");
	put_inner(&hom, &k, &in, BPF_EXIST, 0, "EXIST, present");
	k = 11;
	put_inner(&hom, &k, &in, BPF_ANY, 0, "second");
	k = 12;
	put_inner(&hom, &k, &in, BPF_ANY, -E2BIG, "full");
	k = 11;
	put_inner(&hom, &k, &in, BPF_ANY, 0, "replace when full");
	check_inner_id(&hom, &k, &in, "id");
	k = 12;
	check_lookup(&hom, &k, -ENOENT, NULL, 4, "missing");
	check_delete(&hom, &k, -ENOENT, "delete missing");
	k = 11;
	check_delete(&hom, &k, 0, "delete");
	check_lookup(&hom, &k, -ENOENT, NULL, 4, "deleted");
	k = 10;
	assert_ptr_equal(usm__map_bpf_lookup_elem(hom.u, &k), in.u);
	k = 11;
	assert_null(usm__map_bpf_lookup_elem(hom.u, &k));
	dmap_free_fake(&hom);
	dmap_free_fake(&in);
	rt_kern_done();
}

/* get_next_key walks every key once (order unspecified), NULL starts. */
static void test_hom_iteration(void **state)
{
	struct dmap in, hom;
	uint32_t k, next, seen = 0;
	int n = 0, err;

	(void)state;
	dmap_new(&in, BPF_MAP_TYPE_HASH, 4, 4, 2, 0);
	assert_int_equal(dmap_try_inner(&hom, HOM, 4, 4, 8, 0, &in), 0);
	for (k = 0; k < 5; k++)
		put_inner(&hom, &k, &in, BPF_ANY, 0, "fill");
	err = usm_map_get_next_key(hom.u, NULL, &next);
	while (err == 0 && n < 10) {
		assert_true(next < 5);
		assert_false(seen & (1u << next));
		seen |= 1u << next;
		n++;
		k = next;
		err = usm_map_get_next_key(hom.u, &k, &next);
	}
	assert_int_equal(err, -ENOENT);
	assert_int_equal(seen, 0x1f);
	k = 99; /* unknown key: start over */
	check_next(&hom, &k, 0, NULL, "unknown key");
	dmap_free_fake(&hom);
	dmap_free_fake(&in);
	rt_kern_done();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_socket_maps_as_inner),
		cmocka_unit_test(test_create_rules),
		cmocka_unit_test(test_template_rules),
		cmocka_unit_test(test_template_fd_order),
		cmocka_unit_test(test_no_btf),
		cmocka_unit_test(test_aom_update_order),
		cmocka_unit_test(test_meta_equal),
		cmocka_unit_test(test_inner_map_flag),
		cmocka_unit_test(test_aom_ops),
		cmocka_unit_test(test_update_elem_map),
		cmocka_unit_test(test_hom_update_rules),
		cmocka_unit_test(test_hom_iteration),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
