/* SPDX-License-Identifier: MIT */
/*
 * BPF_MAP_TYPE_REUSEPORT_SOCKARRAY from user space (SEMANTICS MAP-CRT-09/10,
 * RPA-01..10, MAP-NXT-03, LIFE-08). Every scenario runs the same calls on a
 * usockmap map and, with kernel BPF, on a kernel map holding the same
 * sockets; return values and errno must agree.
 */
#include "rpa_test.h"

#include <fcntl.h>
#include <sys/un.h>
#include <time.h>

#define RPA BPF_MAP_TYPE_REUSEPORT_SOCKARRAY

static const int families[] = { AF_INET, AF_INET6 };
static const int types[] = { SOCK_STREAM, SOCK_DGRAM };

/* MAP-CRT-09: sizes and flags. */
static void test_create_rules(void **state)
{
	(void)state;
	check_create("vs 4", 0, RPA, 4, 4, 4, 0);
	check_create("vs 8", 0, RPA, 4, 8, 4, 0);
	check_create("vs 2", -EINVAL, RPA, 4, 2, 4, 0);
	check_create("vs 16", -EINVAL, RPA, 4, 16, 4, 0);
	check_create("vs 0", -EINVAL, RPA, 4, 0, 4, 0);
	check_create("ks 8", -EINVAL, RPA, 8, 8, 4, 0);
	check_create("ks 2", -EINVAL, RPA, 2, 8, 4, 0);
	check_create("max 0", -EINVAL, RPA, 4, 8, 0, 0);
	check_create("mmapable", -EINVAL, RPA, 4, 8, 4, BPF_F_MMAPABLE);
	check_create("inner map", -EINVAL, RPA, 4, 8, 4, BPF_F_INNER_MAP);
	check_create("preserve elems", -EINVAL, RPA, 4, 8, 4,
		     BPF_F_PRESERVE_ELEMS);
	check_create("no prealloc", -EINVAL, RPA, 4, 8, 4, BPF_F_NO_PREALLOC);
	check_create("rdonly+wronly prog", -EINVAL, RPA, 4, 8, 4,
		     BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG);
	check_create("rdonly prog", 0, RPA, 4, 8, 4, BPF_F_RDONLY_PROG);
	check_create("wronly", 0, RPA, 4, 8, 4, BPF_F_WRONLY);
	rt_kern_done();
}

/* MAP-CRT-10 and RPA-07: a new array is empty; out of range is ENOENT. */
static void test_new_is_empty(void **state)
{
	struct dmap d;
	uint32_t k;

	(void)state;
	dmap_new(&d, RPA, 4, 8, 3, 0);
	for (k = 0; k < 5; k++)
		check_lookup(&d, &k, -ENOENT, NULL, 8, "empty / out of range");
	dmap_free(&d);
	rt_kern_done();
}

/* RPA-01: flags, then index, then value, then fd. */
static void test_update_check_order(void **state)
{
	struct dmap d8, d4;
	uint64_t v64;
	uint32_t k, v32;
	int p[2];

	(void)state;
	dmap_new(&d8, RPA, 4, 8, 2, 0);
	dmap_new(&d4, RPA, 4, 4, 2, 0);
	k = 7;
	v64 = UINT64_MAX;
	check_update(&d8, &k, &v64, BPF_EXIST + 1, -EINVAL, "flags first");
	check_update(&d8, &k, &v64, BPF_ANY, -E2BIG, "index before value");
	k = 2;
	v64 = NOFD;
	check_update(&d8, &k, &v64, BPF_ANY, -E2BIG, "index with bad fd");
	k = 0;
	v64 = (uint64_t)INT32_MAX + 1;
	check_update(&d8, &k, &v64, BPF_ANY, -EINVAL, "u64 above INT32_MAX");
	v64 = UINT64_MAX;
	check_update(&d8, &k, &v64, BPF_ANY, -EINVAL, "u64 -1");
	v64 = NOFD;
	check_update(&d8, &k, &v64, BPF_ANY, -EBADF, "closed fd");
	v32 = UINT32_MAX; /* an int: -1 is a bad fd, not a range error */
	check_update(&d4, &k, &v32, BPF_ANY, -EBADF, "u32 -1");
	v32 = NOFD;
	check_update(&d4, &k, &v32, BPF_ANY, -EBADF, "u32 closed fd");
	assert_int_equal(pipe(p), 0);
	v64 = (uint64_t)p[0];
	check_update(&d8, &k, &v64, BPF_ANY, -ENOTSOCK, "pipe");
	close(p[0]);
	close(p[1]);
	dmap_free(&d8);
	dmap_free(&d4);
	rt_kern_done();
}

/* RPA-01: EEXIST / ENOENT come before any check of the socket itself. */
static void test_occupancy_before_kind(void **state)
{
	int g[1], sv[2];
	uint8_t val[8];
	struct dmap d;
	uint32_t k = 0;

	(void)state;
	dmap_new(&d, RPA, 4, 8, 2, 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fd_value(8, sv[0], val);
	check_update(&d, &k, val, BPF_EXIST, -ENOENT, "unix, EXIST, empty");
	rp_group(AF_INET, SOCK_STREAM, 1, g);
	fd_value(8, g[0], val);
	check_update(&d, &k, val, BPF_NOEXIST, 0, "member");
	fd_value(8, sv[0], val);
	check_update(&d, &k, val, BPF_NOEXIST, -EEXIST, "unix, NOEXIST, full");
	check_update(&d, &k, val, BPF_ANY, -USM_ENOTSUPP, "unix, ANY");
	close_all(g, 1);
	close_all(sv, 2);
	dmap_free(&d);
	rt_kern_done();
}

/* RPA-02: only TCP/UDP by protocol, inet, stream/dgram: else ENOTSUPP. */
static void test_socket_kinds_refused(void **state)
{
	static const struct {
		const char *name;
		int family, type, proto;
	} kinds[] = {
		{ "unix stream", AF_UNIX, SOCK_STREAM, 0 },
		{ "unix dgram", AF_UNIX, SOCK_DGRAM, 0 },
		{ "raw6 proto udp", AF_INET6, SOCK_RAW, IPPROTO_UDP },
		{ "raw4 proto tcp", AF_INET, SOCK_RAW, IPPROTO_TCP },
		{ "raw4 icmp", AF_INET, SOCK_RAW, IPPROTO_ICMP },
		{ "udplite", AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE },
		{ "mptcp", AF_INET, SOCK_STREAM, 262 },
	};
	uint8_t val[8];
	struct dmap d;
	uint32_t k = 0;
	size_t i;

	(void)state;
	dmap_new(&d, RPA, 4, 8, 1, 0);
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		int fd = socket(kinds[i].family, kinds[i].type, kinds[i].proto);

		if (fd < 0)
			continue; /* not built into this kernel */
		fd_value(8, fd, val);
		check_update(&d, &k, val, BPF_ANY, -USM_ENOTSUPP, kinds[i].name);
		close(fd);
	}
	dmap_free(&d);
	rt_kern_done();
}

/* RPA-03: hashed + SO_REUSEPORT group members only, else EINVAL. */
static void test_group_members_only(void **state)
{
	uint8_t val[8];
	struct dmap d;
	uint32_t k = 0;
	size_t f;

	(void)state;
	dmap_new(&d, RPA, 4, 8, 1, 0);
	for (f = 0; f < 2; f++) {
		int fam = families[f];
		struct {
			const char *name;
			int fd;
		} c[] = {
			{ "tcp fresh+reuse", rp_sock(fam, SOCK_STREAM, true, 0,
						     RP_FRESH) },
			{ "tcp bound+reuse", rp_sock(fam, SOCK_STREAM, true, 0,
						     RP_BOUND) },
			{ "tcp listen, no reuse",
			  rp_sock(fam, SOCK_STREAM, false, 0, RP_LISTEN) },
			{ "udp unbound+reuse", rp_sock(fam, SOCK_DGRAM, true, 0,
						       RP_FRESH) },
			{ "udp bound, no reuse",
			  rp_sock(fam, SOCK_DGRAM, false, 0, RP_BOUND) },
		};
		size_t i;

		for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
			assert_true(c[i].fd >= 0);
			fd_value(8, c[i].fd, val);
			check_update(&d, &k, val, BPF_ANY, -EINVAL, c[i].name);
			close(c[i].fd);
		}
	}
	dmap_free(&d);
	rt_kern_done();
}

/* RPA-03: an established TCP socket (client of a reuseport listener). */
static void test_established_refused(void **state)
{
	struct sockaddr_storage ss;
	int g[1], cl, sv;
	uint8_t val[8];
	struct dmap d;
	uint32_t k = 0;
	int one = 1;

	(void)state;
	dmap_new(&d, RPA, 4, 8, 1, 0);
	rp_group(AF_INET, SOCK_STREAM, 1, g);
	loopback(AF_INET, bound_port(g[0]), &ss);
	cl = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(setsockopt(cl, SOL_SOCKET, SO_REUSEPORT, &one,
				    sizeof(one)), 0);
	assert_int_equal(connect(cl, (struct sockaddr *)&ss, sa_len(AF_INET)),
			 0);
	sv = accept(g[0], NULL, NULL);
	assert_true(sv >= 0);
	fd_value(8, cl, val);
	check_update(&d, &k, val, BPF_ANY, -EINVAL, "client");
	fd_value(8, sv, val);
	check_update(&d, &k, val, BPF_ANY, -EINVAL, "accepted child");
	close(cl);
	close(sv);
	close_all(g, 1);
	dmap_free(&d);
	rt_kern_done();
}

/* RPA-03/06: TCP and UDP, v4 and v6, 4- and 8-byte values are accepted;
 * 8-byte lookups return SO_COOKIE, 4-byte lookups ENOSPC even if empty. */
static void test_members_and_cookie(void **state)
{
	size_t f, t;
	uint32_t vs;

	(void)state;
	for (vs = 4; vs <= 8; vs += 4)
		for (f = 0; f < 2; f++)
			for (t = 0; t < 2; t++) {
				uint8_t val[8];
				uint64_t cookie;
				struct dmap d;
				uint32_t k;
				int g[2];

				dmap_new(&d, RPA, 4, vs, 3, 0);
				rp_group(families[f], types[t], 2, g);
				for (k = 0; k < 2; k++) {
					fd_value(vs, g[k], val);
					check_update(&d, &k, val, BPF_NOEXIST,
						     0, "member");
				}
				for (k = 0; k < 3; k++) {
					cookie = k < 2 ? so_cookie(g[k]) : 0;
					check_lookup(&d, &k,
						     vs == 4 ? -ENOSPC
						     : k < 2 ? 0
							     : -ENOENT,
						     &cookie, 8, "cookie");
				}
				close_all(g, 2);
				dmap_free(&d);
			}
	rt_kern_done();
}

/* RPA-04: one slot of one array at a time; a socket in a sockmap too. */
static void test_one_array_only(void **state)
{
	struct dmap d, d2, sm;
	uint8_t val[8];
	uint32_t k;
	int g[2];

	(void)state;
	dmap_new(&d, RPA, 4, 8, 3, 0);
	dmap_new(&d2, RPA, 4, 8, 3, 0);
	dmap_new(&sm, BPF_MAP_TYPE_SOCKMAP, 4, 8, 2, 0);
	rp_group(AF_INET, SOCK_STREAM, 2, g);
	fd_value(8, g[0], val);
	k = 0;
	check_update(&d, &k, val, BPF_ANY, 0, "first slot");
	check_update(&d, &k, val, BPF_ANY, -EBUSY, "same slot again");
	check_update(&d, &k, val, BPF_EXIST, -EBUSY, "same slot, EXIST");
	k = 1;
	check_update(&d, &k, val, BPF_ANY, -EBUSY, "another slot");
	check_update(&d2, &k, val, BPF_ANY, -EBUSY, "another array");
	/* A socket held by a sockmap has a psock: EBUSY as well. */
	fd_value(8, g[1], val);
	k = 0;
	check_update(&sm, &k, val, BPF_ANY, 0, "listener into sockmap");
	k = 1;
	check_update(&d, &k, val, BPF_ANY, -EBUSY, "socket in a sockmap");
	check_delete(&sm, &k, -EINVAL, "sockmap empty slot");
	k = 0;
	check_delete(&sm, &k, 0, "out of the sockmap");
	/* The kernel frees the psock after an RCU grace period. */
	k = 1;
	{
		int u = usm_map_update_elem(d.u, &k, val, BPF_ANY), r = -EBUSY;
		int tries;

		for (tries = 0; d.k >= 0 && r == -EBUSY && tries < 200;
		     tries++) {
			r = bpf_map_update_elem(d.k, &k, val, BPF_ANY);
			if (r == -EBUSY)
				usleep(5000);
		}
		assert_int_equal(u, 0);
		if (d.k >= 0)
			assert_int_equal(r, 0);
	}
	close_all(g, 2);
	dmap_free(&sm);
	dmap_free(&d2);
	dmap_free(&d);
	rt_kern_done();
}

/* MAP-UPD-16: a socket held by a reuseport array cannot enter a SOCKMAP
 * or SOCKHASH (EBUSY); once deleted from the array it can. */
static void test_array_socket_refused_by_sockmaps(void **state)
{
	uint32_t types_[] = { BPF_MAP_TYPE_SOCKMAP, BPF_MAP_TYPE_SOCKHASH };
	struct dmap d, sm;
	uint8_t val[8];
	uint32_t k = 0;
	size_t i;
	int g[1];

	(void)state;
	for (i = 0; i < 2; i++) {
		dmap_new(&d, RPA, 4, 8, 1, 0);
		dmap_new(&sm, types_[i], 4, 8, 1, 0);
		rp_group(AF_INET, SOCK_STREAM, 1, g);
		fd_value(8, g[0], val);
		check_update(&d, &k, val, BPF_ANY, 0, "into the array");
		check_update(&sm, &k, val, BPF_ANY, -EBUSY, "into a sock map");
		check_delete(&d, &k, 0, "out of the array");
		check_update(&sm, &k, val, BPF_ANY, 0, "now accepted");
		close_all(g, 1);
		dmap_free(&sm);
		dmap_free(&d);
	}
	rt_kern_done();
}

/* RPA-05: BPF_ANY replaces; the replaced socket may go elsewhere. */
static void test_replace_releases(void **state)
{
	uint8_t v0[8], v1[8];
	uint64_t cookie;
	struct dmap d, d2;
	uint32_t k = 0;
	int g[2];

	(void)state;
	dmap_new(&d, RPA, 4, 8, 2, 0);
	dmap_new(&d2, RPA, 4, 8, 2, 0);
	rp_group(AF_INET6, SOCK_DGRAM, 2, g);
	fd_value(8, g[0], v0);
	fd_value(8, g[1], v1);
	check_update(&d, &k, v0, BPF_ANY, 0, "first");
	check_update(&d, &k, v1, BPF_EXIST, 0, "replace (EXIST)");
	cookie = so_cookie(g[1]);
	check_lookup(&d, &k, 0, &cookie, 8, "the new socket");
	check_update(&d2, &k, v0, BPF_NOEXIST, 0, "old one elsewhere");
	check_update(&d, &k, v0, BPF_ANY, -EBUSY, "now busy there");
	check_update(&d2, &k, v1, BPF_ANY, -EBUSY, "new one busy too");
	close_all(g, 2);
	dmap_free(&d2);
	dmap_free(&d);
	rt_kern_done();
}

/* RPA-08: delete out of range E2BIG, empty ENOENT; then re-add works. */
static void test_delete(void **state)
{
	uint8_t val[8];
	struct dmap d;
	uint32_t k;
	int g[1];

	(void)state;
	dmap_new(&d, RPA, 4, 8, 2, 0);
	rp_group(AF_INET, SOCK_STREAM, 1, g);
	k = 2;
	check_delete(&d, &k, -E2BIG, "out of range");
	k = UINT32_MAX;
	check_delete(&d, &k, -E2BIG, "far out of range");
	k = 1;
	check_delete(&d, &k, -ENOENT, "empty");
	fd_value(8, g[0], val);
	check_update(&d, &k, val, BPF_NOEXIST, 0, "add");
	check_delete(&d, &k, 0, "delete");
	check_delete(&d, &k, -ENOENT, "deleted");
	check_lookup(&d, &k, -ENOENT, NULL, 8, "gone");
	k = 0;
	check_update(&d, &k, val, BPF_NOEXIST, 0, "re-add elsewhere");
	close_all(g, 1);
	dmap_free(&d);
	rt_kern_done();
}

/* RPA-09: closing the socket removes the element. */
static void test_close_removes(void **state)
{
	size_t t;

	(void)state;
	for (t = 0; t < 2; t++) {
		uint8_t val[8];
		struct dmap d;
		uint32_t k = 0;
		int g[2];

		dmap_new(&d, RPA, 4, 8, 2, 0);
		rp_group(AF_INET, types[t], 2, g);
		fd_value(8, g[0], val);
		check_update(&d, &k, val, BPF_ANY, 0, "add");
		close(g[0]);
		check_lookup(&d, &k, -ENOENT, NULL, 8, "lookup after close");
		check_delete(&d, &k, -ENOENT, "delete after close");
		fd_value(8, g[1], val);
		check_update(&d, &k, val, BPF_NOEXIST, 0, "slot free again");
		close(g[1]);
		check_lookup(&d, &k, -ENOENT, NULL, 8, "second close");
		dmap_free(&d);
	}
	rt_kern_done();
}

/* LIFE-08: a listener that shuts down leaves its group and the array. */
static void test_unhash_removes(void **state)
{
	uint8_t val[8];
	struct dmap d;
	uint32_t k = 0;
	int g[2];

	(void)state;
	dmap_new(&d, RPA, 4, 8, 1, 0);
	rp_group(AF_INET, SOCK_STREAM, 2, g);
	fd_value(8, g[0], val);
	check_update(&d, &k, val, BPF_ANY, 0, "add");
	assert_int_equal(shutdown(g[0], SHUT_RDWR), 0);
	check_lookup(&d, &k, -ENOENT, NULL, 8, "after shutdown");
	check_update(&d, &k, val, BPF_ANY, -EINVAL, "no longer hashed");
	fd_value(8, g[1], val);
	check_update(&d, &k, val, BPF_NOEXIST, 0, "slot free");
	close_all(g, 2);
	dmap_free(&d);
	rt_kern_done();
}

/* RPA-10: freeing the array releases its sockets for other arrays. */
static void test_free_releases(void **state)
{
	struct dmap d, d2;
	uint8_t val[8];
	uint32_t k = 0;
	int g[1], u, r = -EBUSY, tries;

	(void)state;
	dmap_new(&d, RPA, 4, 8, 1, 0);
	dmap_new(&d2, RPA, 4, 8, 1, 0);
	rp_group(AF_INET, SOCK_DGRAM, 1, g);
	fd_value(8, g[0], val);
	check_update(&d, &k, val, BPF_ANY, 0, "add");
	check_update(&d2, &k, val, BPF_ANY, -EBUSY, "held by the first");
	dmap_free(&d);
	u = usm_map_update_elem(d2.u, &k, val, BPF_ANY);
	assert_int_equal(u, 0);
	/* The kernel frees a map from a work queue: allow it some time. */
	for (tries = 0; d2.k >= 0 && r == -EBUSY && tries < 400; tries++) {
		r = bpf_map_update_elem(d2.k, &k, val, BPF_ANY);
		if (r == -EBUSY)
			usleep(5000);
	}
	if (d2.k >= 0)
		assert_int_equal(r, 0);
	close_all(g, 1);
	dmap_free(&d2);
	assert_int_equal(usm__sock_count(), 0);
	rt_kern_done();
}

/* MAP-NXT-03: get_next_key as SOCKMAP's, occupancy ignored. */
static void test_get_next_key(void **state)
{
	uint32_t k, want;
	uint8_t val[8];
	struct dmap d;
	int g[1];

	(void)state;
	dmap_new(&d, RPA, 4, 8, 3, 0);
	want = 0;
	check_next(&d, NULL, 0, &want, "NULL key");
	k = 3;
	check_next(&d, &k, 0, &want, "out of range");
	k = UINT32_MAX;
	check_next(&d, &k, 0, &want, "UINT32_MAX");
	k = 0;
	want = 1;
	check_next(&d, &k, 0, &want, "empty 0 -> 1");
	rp_group(AF_INET, SOCK_STREAM, 1, g);
	fd_value(8, g[0], val);
	k = 1;
	check_update(&d, &k, val, BPF_ANY, 0, "occupy 1");
	want = 2;
	check_next(&d, &k, 0, &want, "occupied 1 -> 2");
	k = 2;
	check_next(&d, &k, -ENOENT, NULL, "last");
	close_all(g, 1);
	dmap_free(&d);
	rt_kern_done();
}

/* The BPF-side view bpf_sk_select_reuseport uses: the slot's socket. */
static void test_bpf_lookup(void **state)
{
	struct usm_map *m;
	struct usm_sock *sk;
	uint8_t val[8];
	uint32_t k;
	int g[1];

	(void)state;
	assert_int_equal(usm_map_create(RPA, "r", 4, 8, 2, NULL, &m), 0);
	rp_group(AF_INET, SOCK_STREAM, 1, g);
	fd_value(8, g[0], val);
	k = 1;
	assert_int_equal(usm_map_update_elem(m, &k, val, BPF_ANY), 0);
	sk = usm__map_bpf_lookup_elem(m, &k);
	assert_non_null(sk);
	assert_int_equal(sk->cookie, so_cookie(g[0]));
	assert_non_null(sk->user_data_owner); /* the slot claimed it */
	k = 0;
	assert_null(usm__map_bpf_lookup_elem(m, &k));
	k = 2;
	assert_null(usm__map_bpf_lookup_elem(m, &k));
	/* No BPF-side update (MAP-BPF-06). */
	assert_int_equal(usm__map_bpf_update_elem(m, &k, sk, BPF_ANY),
			 -EOPNOTSUPP);
	usm_map_close(m);
	close_all(g, 1);
}

/* The group identity bpf_sk_select_reuseport can compare. */
static void test_group_key(void **state)
{
	struct usm_reuseport_key a, b, c;
	struct usm_sock *s0, *s1, *s2, *s3;
	int g[2], other[1], plain;

	(void)state;
	rp_group(AF_INET, SOCK_STREAM, 2, g);
	rp_group(AF_INET, SOCK_STREAM, 1, other);
	plain = rp_sock(AF_INET, SOCK_STREAM, false, 0, RP_LISTEN);
	assert_int_equal(usm__sock_from_fd(g[0], 0, &s0), 0);
	assert_int_equal(usm__sock_from_fd(g[1], 0, &s1), 0);
	assert_int_equal(usm__sock_from_fd(other[0], 0, &s2), 0);
	assert_int_equal(usm__sock_from_fd(plain, 0, &s3), 0);
	assert_int_equal(usm__sock_reuseport_group_key(s0, &a), 0);
	assert_int_equal(usm__sock_reuseport_group_key(s1, &b), 0);
	assert_int_equal(usm__sock_reuseport_group_key(s2, &c), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_memory_not_equal(&a, &c, sizeof(a));
	assert_int_equal(a.protocol, IPPROTO_TCP);
	assert_int_equal(a.family, AF_INET);
	assert_int_equal(a.port, ntohs(bound_port(g[0])));
	assert_int_equal(usm__sock_reuseport_group_key(s3, &c), -EINVAL);
	usm__sock_put(s0);
	usm__sock_put(s1);
	usm__sock_put(s2);
	usm__sock_put(s3);
	close_all(g, 2);
	close_all(other, 1);
	close(plain);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_rules),
		cmocka_unit_test(test_new_is_empty),
		cmocka_unit_test(test_update_check_order),
		cmocka_unit_test(test_occupancy_before_kind),
		cmocka_unit_test(test_socket_kinds_refused),
		cmocka_unit_test(test_group_members_only),
		cmocka_unit_test(test_established_refused),
		cmocka_unit_test(test_members_and_cookie),
		cmocka_unit_test(test_one_array_only),
		cmocka_unit_test(test_array_socket_refused_by_sockmaps),
		cmocka_unit_test(test_replace_releases),
		cmocka_unit_test(test_delete),
		cmocka_unit_test(test_close_removes),
		cmocka_unit_test(test_unhash_removes),
		cmocka_unit_test(test_free_releases),
		cmocka_unit_test(test_get_next_key),
		cmocka_unit_test(test_bpf_lookup),
		cmocka_unit_test(test_group_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
