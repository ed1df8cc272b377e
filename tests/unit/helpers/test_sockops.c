/* SPDX-License-Identifier: MIT */
/*
 * sock_ops helpers: bpf_sock_map_update / bpf_sock_hash_update only from
 * the ACTIVE_ESTABLISHED, PASSIVE_ESTABLISHED and TCP_LISTEN callbacks
 * (SEMANTICS MAP-BPF-01), without the user-space state check but with the
 * map's flag/index/occupancy rules; bpf_get_socket_cookie on the context.
 * Not compared with the kernel: a sock_ops program only runs attached to a
 * cgroup, which would hook every socket on the machine.
 */
#include "usm_test.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../../src/helpers/helpers.h"
#include "../../../src/maps/map.h"
#include "../../../src/progtype/progtype.h"
#include "../../../src/sock/sock.h"
#include "kharness.h"

#define E(x) ((uint64_t)(int64_t)(x))

static uint64_t update(const struct usm_helper *h, struct usm_sock_ops_ctx *c,
		       struct usm_map *m, uint32_t key, uint64_t flags)
{
	return h->fn(NULL, (uintptr_t)c, (uintptr_t)m, (uintptr_t)&key, flags,
		     0);
}

static struct usm_map *new_map(uint32_t type, uint32_t max)
{
	struct usm_map_attr attr = { .map_type = type, .key_size = 4,
				     .value_size = 8, .max_entries = max };
	struct usm_map *m;

	assert_int_equal(usm__map_create(&attr, &m), 0);
	return m;
}

static void check_ops(uint32_t type, const struct usm_helper *h)
{
	struct usm_sock_ops_ctx c;
	struct usm_map *m = new_map(type, 2);
	struct usm_sock *sk;
	uint32_t op, key;
	int cl = -1, p = -1;

	assert_int_equal(tcp_pair(&cl, &p), 0);
	assert_int_equal(usm__sock_from_fd(p, 0, &sk), 0);
	memset(&c, 0, sizeof(c));
	c.sk = sk;
	for (op = 0; op <= BPF_SOCK_OPS_WRITE_HDR_OPT_CB + 2; op++) {
		int ok = op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB ||
			 op == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB ||
			 op == BPF_SOCK_OPS_TCP_LISTEN_CB;

		c.md.op = op;
		key = 0;
		assert_int_equal(update(h, &c, m, key, BPF_ANY),
				 ok ? 0 : E(-EOPNOTSUPP));
		if (!ok)
			continue;
		assert_ptr_equal(usm__sockmap_lookup(m, &key), sk);
		assert_int_equal(usm__map_delete_elem(m, &key), 0);
	}
	c.md.op = BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB;
	assert_int_equal(update(h, &c, m, 1, BPF_NOEXIST), 0);
	assert_int_equal(update(h, &c, m, 1, BPF_NOEXIST), E(-EEXIST));
	assert_int_equal(update(h, &c, m, 0, BPF_EXIST), E(-ENOENT));
	assert_int_equal(update(h, &c, m, 0, 3), E(-EINVAL)); /* flags */
	if (type == BPF_MAP_TYPE_SOCKMAP)
		assert_int_equal(update(h, &c, m, 2, BPF_ANY), E(-E2BIG));
	/* the wrong map type for the helper */
	{
		struct usm_map *other = new_map(type == BPF_MAP_TYPE_SOCKMAP
						? BPF_MAP_TYPE_SOCKHASH
						: BPF_MAP_TYPE_SOCKMAP, 2);

		assert_int_equal(update(h, &c, other, 0, BPF_ANY), E(-EINVAL));
		usm__map_put(other);
	}
	/* no socket: nothing to insert */
	c.sk = NULL;
	assert_int_equal(update(h, &c, m, 0, BPF_ANY), E(-EOPNOTSUPP));
	usm__map_put(m);
	usm__sock_put(sk);
	close(cl);
	close(p);
}

static void test_map_bpf_01_sock_map_update(void **state)
{
	check_ops(BPF_MAP_TYPE_SOCKMAP, &usm__h_sock_map_update);
}

static void test_map_bpf_01_sock_hash_update(void **state)
{
	check_ops(BPF_MAP_TYPE_SOCKHASH, &usm__h_sock_hash_update);
}

/* MAP-BPF-01: the state check of user-space updates is skipped: a TCP
 * socket that is neither listening nor established (a user update says
 * EOPNOTSUPP, MAP-UPD-04) is inserted from a sock_ops callback. */
static void test_map_bpf_01_no_state_check(void **state)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct usm_sock_ops_ctx c;
	struct usm_map *m = new_map(BPF_MAP_TYPE_SOCKMAP, 1);
	struct usm_sock *sk;
	uint32_t key = 0;
	uint64_t v;
	int s = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (void *)&a, sizeof(a)), 0);
	v = (uint64_t)s;
	assert_int_equal(usm__map_update_elem(m, &key, &v, BPF_ANY),
			 -EOPNOTSUPP);
	assert_int_equal(usm__sock_from_fd(s, 0, &sk), 0);
	memset(&c, 0, sizeof(c));
	c.sk = sk;
	c.md.op = BPF_SOCK_OPS_TCP_LISTEN_CB;
	assert_int_equal(update(&usm__h_sock_map_update, &c, m, 0, BPF_ANY),
			 0);
	assert_ptr_equal(usm__sockmap_lookup(m, &key), sk);
	usm__map_put(m);
	usm__sock_put(sk);
	close(s);
}

static void test_sock_ops_cookie_and_prototypes(void **state)
{
	struct usm_sock_ops_ctx c;
	struct usm_sock *sk;
	uint64_t want;
	socklen_t len = sizeof(want);
	int cl = -1, p = -1;

	assert_int_equal(tcp_pair(&cl, &p), 0);
	assert_int_equal(getsockopt(p, SOL_SOCKET, SO_COOKIE, &want, &len), 0);
	assert_int_equal(usm__sock_from_fd(p, 0, &sk), 0);
	memset(&c, 0, sizeof(c));
	assert_int_equal(usm__h_get_socket_cookie_sock_ops.fn(
				 NULL, (uintptr_t)&c, 0, 0, 0, 0), 0);
	c.sk = sk;
	assert_int_equal(usm__h_get_socket_cookie_sock_ops.fn(
				 NULL, (uintptr_t)&c, 0, 0, 0, 0), want);
	assert_memory_equal(usm__h_sock_map_update.args,
			    ((uint8_t[5]){ USM_ARG_PTR_TO_CTX,
					   USM_ARG_CONST_MAP_PTR,
					   USM_ARG_PTR_TO_MAP_KEY,
					   USM_ARG_ANYTHING }), 5);
	assert_memory_equal(usm__h_sock_hash_update.args,
			    usm__h_sock_map_update.args, 5);
	assert_int_equal(usm__h_get_socket_cookie_sock_ops.args[0],
			 USM_ARG_PTR_TO_CTX);
	usm__sock_put(sk);
	close(cl);
	close(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_bpf_01_sock_map_update),
		cmocka_unit_test(test_map_bpf_01_sock_hash_update),
		cmocka_unit_test(test_map_bpf_01_no_state_check),
		cmocka_unit_test(test_sock_ops_cookie_and_prototypes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
