/* SPDX-License-Identifier: MIT */
/*
 * sk_reuseport helpers (SEMANTICS RPP-03, RPP-05): bpf_sk_select_reuseport
 * errors with real reuseport groups in a SOCKMAP/SOCKHASH, compared with
 * the kernel running the same selection from an sk_reuseport program on
 * the same sockets; the REUSEPORT_SOCKARRAY branch; loads relative to the
 * L4 and network headers; the socket-pointer cookie.
 */
#include "usm_test.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../../src/helpers/helpers.h"
#include "../../../src/maps/map.h"
#include "../../../src/progtype/progtype.h"
#include "../../../src/sock/sock.h"
#include "../../../src/vm/vm.h"
#include "kharness.h"

#define E(x) ((uint64_t)(int64_t)(x))
#define NSLOT 8

enum { A, B, C, U, V6, EST, NORP, EMPTY };

struct group {
	int fd[NSLOT];
	int est_client;
	uint16_t port; /* network order: the group's port */
};

static int rp_socket(int family, int type, bool reuseport, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *a4 = (void *)&ss;
	struct sockaddr_in6 *a6 = (void *)&ss;
	socklen_t len;
	int one = 1, s = socket(family, type, 0);

	if (s < 0)
		return -1;
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		a4->sin_family = AF_INET;
		a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a4->sin_port = port;
		len = sizeof(*a4);
	} else {
		a6->sin6_family = AF_INET6;
		a6->sin6_addr = in6addr_loopback;
		a6->sin6_port = port;
		len = sizeof(*a6);
	}
	if ((reuseport &&
	     setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one))) ||
	    bind(s, (void *)&ss, len) ||
	    (type == SOCK_STREAM && listen(s, 16))) {
		close(s);
		return -1;
	}
	return s;
}

static uint16_t port_of(int s)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	getsockname(s, (void *)&a, &len);
	return a.sin_port;
}

/* A: group member; B: same group; C: another TCP group; U: UDP on the
 * group's port; V6: IPv6 TCP on that port; EST: an established child;
 * NORP: a listener without SO_REUSEPORT. */
static int group_open(struct group *g)
{
	struct sockaddr_in a = { .sin_family = AF_INET };

	memset(g, 0xff, sizeof(*g));
	g->fd[A] = rp_socket(AF_INET, SOCK_STREAM, true, 0);
	if (g->fd[A] < 0)
		return -1;
	g->port = port_of(g->fd[A]);
	g->fd[B] = rp_socket(AF_INET, SOCK_STREAM, true, g->port);
	g->fd[C] = rp_socket(AF_INET, SOCK_STREAM, true, 0);
	g->fd[U] = rp_socket(AF_INET, SOCK_DGRAM, true, g->port);
	g->fd[V6] = rp_socket(AF_INET6, SOCK_STREAM, true, g->port);
	g->fd[NORP] = rp_socket(AF_INET, SOCK_STREAM, false, 0);
	if (g->fd[B] < 0 || g->fd[C] < 0 || g->fd[U] < 0 || g->fd[NORP] < 0)
		return -1;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = port_of(g->fd[C]);
	g->est_client = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(g->est_client, (void *)&a, sizeof(a)))
		return -1;
	g->fd[EST] = accept(g->fd[C], NULL, NULL);
	return g->fd[EST] < 0 ? -1 : 0;
}

static void group_close(struct group *g)
{
	int i;

	for (i = 0; i < NSLOT; i++)
		if (g->fd[i] >= 0)
			close(g->fd[i]);
	if (g->est_client >= 0)
		close(g->est_client);
}

/* A REUSEPORT_SOCKARRAY only takes grouped sockets (RPA-03). */
static bool slot_fits(uint32_t type, uint32_t slot)
{
	return type != BPF_MAP_TYPE_REUSEPORT_SOCKARRAY ||
	       (slot != EST && slot != NORP);
}

static struct usm_map *our_map_type(const struct group *g, uint32_t type)
{
	struct usm_map_attr attr = {
		.map_type = type, .key_size = 4, .value_size = 8,
		.max_entries = NSLOT,
	};
	struct usm_map *m;
	uint32_t i;
	uint64_t v;

	assert_int_equal(usm__map_create(&attr, &m), 0);
	for (i = 0; i < NSLOT; i++) {
		if (g->fd[i] < 0 || !slot_fits(type, i))
			continue;
		v = (uint64_t)g->fd[i];
		assert_int_equal(usm__map_update_elem(m, &i, &v, BPF_ANY), 0);
	}
	return m;
}

static struct usm_map *our_map(const struct group *g, bool hash)
{
	return our_map_type(g, hash ? BPF_MAP_TYPE_SOCKHASH
				    : BPF_MAP_TYPE_SOCKMAP);
}

static int64_t our_select(struct usm_reuseport_ctx *c, struct usm_map *m,
			  uint32_t key)
{
	struct usm_run run = { .ctx = c };

	return (int64_t)usm__h_sk_select_reuseport.fn(
		&run, (uintptr_t)c, (uintptr_t)m, (uintptr_t)&key, 0, 0);
}

/* RPP-05, our side: the expected errno per slot. */
static void check_select(bool hash)
{
	static const int want[NSLOT + 1] = {
		[A] = 0, [B] = 0, [C] = -EBADFD, [U] = -EPROTOTYPE,
		[V6] = -EAFNOSUPPORT, [EST] = -EINVAL, [NORP] = -EINVAL,
		[EMPTY] = -ENOENT, [NSLOT] = -ENOENT,
	};
	struct usm_reuseport_ctx c;
	struct usm_map *m;
	struct group g;
	uint32_t key;

	if (group_open(&g)) {
		group_close(&g);
		USM_SKIP("cannot build reuseport sockets");
		return;
	}
	m = our_map(&g, hash);
	for (key = 0; key <= NSLOT; key++) {
		if (key == V6 && g.fd[V6] < 0)
			continue; /* no IPv6 loopback */
		memset(&c, 0, sizeof(c));
		c.sk = usm__sockmap_lookup(m, &(uint32_t){ A });
		assert_int_equal(our_select(&c, m, key), want[key]);
		assert_int_equal(c.selected.set, want[key] == 0);
		if (want[key])
			continue;
		assert_ptr_equal(c.selected.map, m);
		assert_int_equal(c.selected.sk->fd, g.fd[key]);
		assert_int_equal(*(uint32_t *)c.selected.key, key);
		assert_int_equal(c.selected.key_size, 4);
	}
	/* flags are not validated */
	memset(&c, 0, sizeof(c));
	c.sk = usm__sockmap_lookup(m, &(uint32_t){ A });
	key = B;
	assert_int_equal(usm__h_sk_select_reuseport.fn(NULL, (uintptr_t)&c,
						       (uintptr_t)m,
						       (uintptr_t)&key,
						       0xffffffffu, 0), 0);
	/* without a group socket (bare prog run): membership only */
	memset(&c, 0, sizeof(c));
	assert_int_equal(our_select(&c, m, C), 0);
	assert_int_equal(our_select(&c, m, EST), -EINVAL);
	usm__map_put(m);
	group_close(&g);
}

static void test_rpp_05_select_sockmap(void **state)
{
	check_select(false);
}

static void test_rpp_05_select_sockhash(void **state)
{
	check_select(true);
}

/* A REUSEPORT_SOCKARRAY slot whose socket left its group is -ENOENT, not
 * -EINVAL (the array's own lookup: a stand-in map type here, since the
 * array lives in another module). */
static struct usm_sock *fake_slot;

static void *fake_lookup(struct usm_map *map, const void *key)
{
	(void)map;
	return *(const uint32_t *)key == 0 ? fake_slot : NULL;
}

static void test_rpp_05_sockarray_branch(void **state)
{
	static const struct usm_map_ops ops = { .lookup_elem = fake_lookup };
	struct usm_map m = { .ops = &ops, .key_size = 4,
			     .map_type = BPF_MAP_TYPE_REUSEPORT_SOCKARRAY };
	struct usm_reuseport_ctx c;
	struct usm_sock *sk;
	uint32_t key = 0;
	int s = rp_socket(AF_INET, SOCK_STREAM, false, 0);

	assert_true(s >= 0);
	assert_int_equal(usm__sock_from_fd(s, 0, &sk), 0);
	fake_slot = sk;
	memset(&c, 0, sizeof(c));
	assert_int_equal(usm__h_sk_select_reuseport.fn(NULL, (uintptr_t)&c,
						       (uintptr_t)&m,
						       (uintptr_t)&key, 0, 0),
			 E(-ENOENT));
	key = 1;
	assert_int_equal(usm__h_sk_select_reuseport.fn(NULL, (uintptr_t)&c,
						       (uintptr_t)&m,
						       (uintptr_t)&key, 0, 0),
			 E(-ENOENT));
	assert_false(c.selected.set);
	usm__sock_put(sk);
	close(s);
}

/* ---- RPP-05 against the kernel -------------------------------------- */

struct sparams {
	uint32_t key, pad;
	int64_t ret;
};

static int select_prog(int params, int map)
{
	struct kasm as, *a = &as;

	memset(a, 0, sizeof(*a));
	MOVR(6, 1);
	emit(a, BPF_ST | BPF_MEM | BPF_W, 10, 0, -4, 0);
	LDMAP(1, params);
	MOVR(2, 10);
	ADDI(2, -4);
	CALL(BPF_FUNC_map_lookup_elem);
	jmp_to(a, BPF_JEQ, 0, 0, 0);
	MOVR(7, 0);
	MOVR(1, 6);
	LDMAP(2, map);
	MOVR(3, 7); /* &params.key */
	MOVI(4, 0);
	CALL(BPF_FUNC_sk_select_reuseport);
	STX(BPF_DW, 7, 0, offsetof(struct sparams, ret));
	here(a, 0);
	MOVI(0, SK_PASS);
	EXIT();
	return kasm_load(a, BPF_PROG_TYPE_SK_REUSEPORT,
			 BPF_SK_REUSEPORT_SELECT);
}

/* Connect to the group and read what the program's call returned. */
static int64_t kernel_select(const struct group *g, int params, uint32_t key)
{
	struct sparams sp = { .key = key, .ret = 0x5a5a };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = g->port };
	uint32_t zero = 0;
	int c, x;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bpf_map_update_elem(params, &zero, &sp, BPF_ANY))
		return -1000;
	c = socket(AF_INET, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (void *)&a, sizeof(a))) {
		if (c >= 0)
			close(c);
		return -1001;
	}
	close(c);
	/* drain whichever member got it (the listeners are non-blocking) */
	while ((x = accept(g->fd[A], NULL, NULL)) >= 0)
		close(x);
	while ((x = accept(g->fd[B], NULL, NULL)) >= 0)
		close(x);
	if (bpf_map_lookup_elem(params, &zero, &sp))
		return -1000;
	return sp.ret;
}

static void select_against_kernel(uint32_t type)
{
	struct usm_reuseport_ctx c;
	struct usm_sock *gsk;
	struct usm_map *m;
	struct group g;
	const char *why;
	int params = -1, kmap = -1, prog = -1, bad = 0;
	uint32_t key;

	if (!usm_test_have_kernel_bpf(&why)) {
		USM_SKIP("%s", why);
		return;
	}
	if (group_open(&g)) {
		group_close(&g);
		USM_SKIP("cannot build reuseport sockets");
		return;
	}
	if (fcntl(g.fd[A], F_SETFL, O_NONBLOCK) ||
	    fcntl(g.fd[B], F_SETFL, O_NONBLOCK)) {
		group_close(&g);
		USM_SKIP("fcntl: %s", strerror(errno));
		return;
	}
	params = bpf_map_create(BPF_MAP_TYPE_ARRAY, "usm_sp", 4,
				sizeof(struct sparams), 1, NULL);
	kmap = bpf_map_create(type, "usm_sm", 4, 8, NSLOT, NULL);
	if (params >= 0 && kmap >= 0)
		prog = select_prog(params, kmap);
	for (key = 0; prog >= 0 && key < NSLOT; key++)
		if (g.fd[key] >= 0 && slot_fits(type, key) &&
		    bpf_map_update_elem(kmap, &key, &(uint64_t){ (uint64_t)
				g.fd[key] }, BPF_ANY))
			prog = -1;
	if (prog < 0 || setsockopt(g.fd[A], SOL_SOCKET,
				   SO_ATTACH_REUSEPORT_EBPF, &prog,
				   sizeof(prog))) {
		USM_SKIP("kernel reuseport harness failed");
		goto out;
	}
	m = our_map_type(&g, type);
	assert_int_equal(usm__sock_from_fd(g.fd[A], 0, &gsk), 0);
	for (key = 0; key <= NSLOT; key++) {
		int64_t kr = kernel_select(&g, params, key), ur;

		memset(&c, 0, sizeof(c));
		c.sk = gsk;
		ur = our_select(&c, m, key);
		if (kr == ur)
			continue;
		print_error("%s key %u: kernel %lld, usockmap %lld\n",
			    usm__map_type_name(type), key, (long long)kr,
			    (long long)ur);
		bad++;
	}
	usm__sock_put(gsk);
	usm__map_put(m);
out:
	if (prog >= 0)
		close(prog);
	if (kmap >= 0)
		close(kmap);
	if (params >= 0)
		close(params);
	group_close(&g);
	assert_int_equal(bad, 0);
}

static void test_rpp_05_select_sockmap_against_kernel(void **state)
{
	select_against_kernel(BPF_MAP_TYPE_SOCKMAP);
}

static void test_rpp_05_select_sockhash_against_kernel(void **state)
{
	select_against_kernel(BPF_MAP_TYPE_SOCKHASH);
}

static void test_rpp_05_select_sockarray_against_kernel(void **state)
{
	select_against_kernel(BPF_MAP_TYPE_REUSEPORT_SOCKARRAY);
}

/* ---- loads and cookie (RPP-03) -------------------------------------- */

static void test_rpp_03_load_bytes(void **state)
{
	/* IPv4 header (20 bytes) then a UDP header and payload */
	uint8_t pkt[36] = { 0x45, [12] = 10, 0, 0, 1, 127, 0, 0, 1,
			    [20] = 0x12, 0x34, 0x56, 0x78, 0, 16, 0, 0,
			    'p', 'a', 'y', 'l', 'o', 'a', 'd', '!' };
	struct usm_reuseport_ctx c;
	uint8_t out[8];

	usm__reuseport_ctx_init(&c, pkt + 20, sizeof(pkt) - 20, pkt,
				sizeof(pkt), NULL);
	/* RPP-02: data = L4 header, data_end = its end, len = L4 bytes */
	assert_ptr_equal(c.md.data, pkt + 20);
	assert_ptr_equal(c.md.data_end, pkt + sizeof(pkt));
	assert_int_equal(c.md.len, 16);
	assert_null(c.md.sk);
	assert_null(c.md.migrating_sk);
	/* skb_load_bytes is relative to the L4 header */
	assert_int_equal(usm__h_skb_load_bytes_reuseport.fn(
				 NULL, (uintptr_t)&c, 0, (uintptr_t)out, 4, 0),
			 0);
	assert_memory_equal(out, "\x12\x34\x56\x78", 4);
	assert_int_equal(usm__h_skb_load_bytes_reuseport.fn(
				 NULL, (uintptr_t)&c, 8, (uintptr_t)out, 8, 0),
			 0);
	assert_memory_equal(out, "payload!", 8);
	memset(out, 0x77, sizeof(out));
	assert_int_equal(usm__h_skb_load_bytes_reuseport.fn(
				 NULL, (uintptr_t)&c, 9, (uintptr_t)out, 8, 0),
			 E(-EFAULT));
	assert_memory_equal(out, "\0\0\0\0\0\0\0\0", 8);
	assert_int_equal(usm__h_skb_load_bytes_reuseport.fn(
				 NULL, (uintptr_t)&c, 0x80000000u,
				 (uintptr_t)out, 1, 0), E(-EFAULT));
	/* relative to the network header: addresses at their offsets */
	assert_int_equal(usm__h_skb_load_bytes_relative_reuseport.fn(
				 NULL, (uintptr_t)&c, 12, (uintptr_t)out, 8,
				 BPF_HDR_START_NET), 0);
	assert_memory_equal(out, "\x0a\0\0\x01\x7f\0\0\x01", 8);
	/* may run from the IP header into the L4 header */
	assert_int_equal(usm__h_skb_load_bytes_relative_reuseport.fn(
				 NULL, (uintptr_t)&c, 18, (uintptr_t)out, 4,
				 BPF_HDR_START_NET), 0);
	assert_memory_equal(out, "\0\x01\x12\x34", 4);
	memset(out, 0x77, sizeof(out));
	assert_int_equal(usm__h_skb_load_bytes_relative_reuseport.fn(
				 NULL, (uintptr_t)&c, 0, (uintptr_t)out, 4,
				 BPF_HDR_START_MAC), E(-EFAULT)); /* no MAC */
	assert_memory_equal(out, "\0\0\0\0", 4);
	assert_int_equal(usm__h_skb_load_bytes_relative_reuseport.fn(
				 NULL, (uintptr_t)&c, 0, (uintptr_t)out, 4, 7),
			 E(-EFAULT)); /* unknown start */
	assert_int_equal(usm__h_skb_load_bytes_relative_reuseport.fn(
				 NULL, (uintptr_t)&c, 0x10000, (uintptr_t)out,
				 1, BPF_HDR_START_NET), E(-EFAULT));
	assert_int_equal(usm__h_skb_load_bytes_relative_reuseport.fn(
				 NULL, (uintptr_t)&c, 30, (uintptr_t)out, 8,
				 BPF_HDR_START_NET), E(-EFAULT));
	c.net = NULL;
	assert_int_equal(usm__h_skb_load_bytes_relative_reuseport.fn(
				 NULL, (uintptr_t)&c, 0, (uintptr_t)out, 1,
				 BPF_HDR_START_NET), E(-EFAULT));
}

static void test_rpp_03_socket_cookie(void **state)
{
	struct usm_sock *sk;
	int s = rp_socket(AF_INET, SOCK_STREAM, false, 0);
	uint64_t want;
	socklen_t len = sizeof(want);

	assert_true(s >= 0);
	assert_int_equal(getsockopt(s, SOL_SOCKET, SO_COOKIE, &want, &len), 0);
	assert_int_equal(usm__sock_from_fd(s, 0, &sk), 0);
	assert_int_equal(usm__h_get_socket_cookie_sock.fn(NULL, (uintptr_t)sk,
							  0, 0, 0, 0), want);
	assert_int_equal(usm__h_get_socket_cookie_sock.fn(NULL, 0, 0, 0, 0, 0),
			 0);
	usm__sock_put(sk);
	close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rpp_05_select_sockmap),
		cmocka_unit_test(test_rpp_05_select_sockhash),
		cmocka_unit_test(test_rpp_05_sockarray_branch),
		cmocka_unit_test(test_rpp_05_select_sockmap_against_kernel),
		cmocka_unit_test(test_rpp_05_select_sockhash_against_kernel),
		cmocka_unit_test(test_rpp_05_select_sockarray_against_kernel),
		cmocka_unit_test(test_rpp_03_load_bytes),
		cmocka_unit_test(test_rpp_03_socket_cookie),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
