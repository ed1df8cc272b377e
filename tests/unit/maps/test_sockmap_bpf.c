/* SPDX-License-Identifier: MIT */
/*
 * SOCKMAP/SOCKHASH as helpers and programs see them (usockmap only: the
 * kernel offers no user-space view of these paths): BPF-side lookup with a
 * reference (SEMANTICS MAP-LKP-05), generic BPF update with a socket
 * pointer (MAP-BPF-04), the sock_ops insert that skips the state check
 * (MAP-BPF-01), removal of a closing socket from every map (LIFE-01) and
 * concurrent update/delete (MAP-UPD-22).
 */
#include "maps_test.h"

#include <pthread.h>

struct param {
	uint32_t type;
	uint32_t vs;
};

static const struct param P_MAP8 = { BPF_MAP_TYPE_SOCKMAP, 8 };
static const struct param P_HASH8 = { BPF_MAP_TYPE_SOCKHASH, 8 };

static bool is_hash(const struct param *p)
{
	return p->type == BPF_MAP_TYPE_SOCKHASH;
}

static struct usm_sock *our_sock(int fd)
{
	struct usm_sock *sk;

	assert_int_equal(usm__sock_from_fd(fd, 0, &sk), 0);
	return sk;
}

static void check_lookups(const struct param *p, struct usm_map *m,
			  struct usm_sock *s_est);

/* MAP-LKP-05, MAP-BPF-01/04 and the helper entry points. */
static void test_bpf_side(void **state)
{
	const struct param *p = *state;
	struct tsock est, bound, raw;
	struct usm_sock *s_est, *s_bound, *s_raw;
	struct usm_map *m;
	uint32_t key = 1, k2 = 2;

	assert_int_equal(tsock_make(K_TCP4_EST, &est), 0);
	assert_int_equal(tsock_make(K_TCP4_BOUND, &bound), 0);
	assert_int_equal(tsock_make(K_NETLINK, &raw), 0);
	s_est = our_sock(est.fd);
	s_bound = our_sock(bound.fd);
	s_raw = our_sock(raw.fd);
	assert_int_equal(usm_map_create(p->type, "b", 4, p->vs, 4, NULL, &m), 0);
	/* Generic BPF update: value is the socket; state checked (BPF-04). */
	assert_int_equal(usm__map_bpf_update_elem(m, &key, s_est, BPF_ANY), 0);
	assert_int_equal(usm__map_bpf_update_elem(m, &k2, s_bound, BPF_ANY),
			 -EOPNOTSUPP);
	assert_int_equal(usm__map_bpf_update_elem(m, &k2, s_raw, BPF_ANY),
			 -EOPNOTSUPP);
	assert_int_equal(usm__map_bpf_update_elem(m, &k2, NULL, BPF_ANY),
			 -EINVAL);
	/* sock_ops path skips the state check (BPF-01), not suitability. */
	assert_int_equal(usm__sockmap_update_sock(m, &k2, s_bound, BPF_ANY), 0);
	assert_int_equal(usm__sockmap_update_sock(m, &k2, s_raw, BPF_ANY),
			 -EOPNOTSUPP);
	assert_int_equal(usm__sockmap_update_sock(m, &k2, s_est, BPF_NOEXIST),
			 -EEXIST);
	assert_int_equal(usm__sockmap_update_sock(m, &k2, s_est, 4), -EINVAL);
	check_lookups(p, m, s_est);
	usm_map_close(m);
	assert_int_equal(s_bound->refcnt, 1);
	usm__sock_put(s_est);
	usm__sock_put(s_bound);
	usm__sock_put(s_raw);
	assert_int_equal(usm__sock_count(), 0);
	tsock_free(&est);
	tsock_free(&bound);
	tsock_free(&raw);
}

/* Lookup with a reference (LKP-05), the helpers' raw lookup, delete. */
static void check_lookups(const struct param *p, struct usm_map *m,
			  struct usm_sock *s_est)
{
	uint32_t key = 1, k9 = 9;
	struct usm_sock *got;

	got = usm__map_bpf_lookup_elem(m, &key);
	assert_ptr_equal(got, s_est);
	/* ours, the slot, the psock (it holds its socket), the lookup */
	assert_int_equal(s_est->refcnt, 4);
	usm__sock_put(got);                 /* bpf_sk_release */
	assert_ptr_equal(usm__sockmap_lookup(m, &key), s_est);
	assert_int_equal(s_est->refcnt, 3);
	assert_null(usm__map_bpf_lookup_elem(m, &k9));
	assert_null(usm__sockmap_lookup(m, &k9));
	assert_int_equal(usm__map_bpf_delete_elem(m, &key), 0);
	assert_null(usm__sockmap_lookup(m, &key));
	assert_int_equal(usm__map_bpf_delete_elem(m, &key),
			 is_hash(p) ? -ENOENT : -EINVAL);
}

/* LIFE-01 through the explicit close path the engine/shim calls. */
static void test_life_01_unlink_all(void **state)
{
	struct usm_map *sm, *sh;
	struct usm_sock *sk;
	struct tsock t;
	uint8_t v[8];
	uint64_t c;

	assert_int_equal(tsock_make(K_UNIX_STREAM_CONN, &t), 0);
	assert_int_equal(usm_map_create(BPF_MAP_TYPE_SOCKMAP, "a", 4, 8, 8, NULL,
					&sm), 0);
	assert_int_equal(usm_map_create(BPF_MAP_TYPE_SOCKHASH, "b", 4, 8, 8,
					NULL, &sh), 0);
	fd_value(8, t.fd, v);
	for (uint32_t k = 0; k < 3; k++) {
		assert_int_equal(usm_map_update_elem(sm, &k, v, BPF_ANY), 0);
		assert_int_equal(usm_map_update_elem(sh, &k, v, BPF_ANY), 0);
	}
	sk = our_sock(t.fd);
	assert_int_equal(usm__sock_nlinks(sk), 6);
	usm__sock_unlink_all(sk);
	assert_int_equal(usm__sock_nlinks(sk), 0);
	assert_int_equal(sk->refcnt, 1);
	for (uint32_t k = 0; k < 3; k++) {
		assert_int_equal(usm_map_lookup_elem(sm, &k, &c), -ENOENT);
		assert_int_equal(usm_map_lookup_elem(sh, &k, &c), -ENOENT);
	}
	usm__sock_unlink_all(sk); /* twice is fine */
	usm__sock_put(sk);
	usm_map_close(sm);
	usm_map_close(sh);
	tsock_free(&t);
}

/* MAP-UPD-22: concurrent update/delete on shared maps is safe. */
struct stress {
	struct usm_map *m[2];
	int fds[3];
	unsigned seed;
};

static void *stress_thread(void *arg)
{
	struct stress *s = arg;
	unsigned seed = s->seed;
	uint8_t v[8];
	int i;

	for (i = 0; i < 3000; i++) {
		struct usm_map *m = s->m[rand_r(&seed) % 2];
		uint32_t k = (uint32_t)rand_r(&seed) % 8;
		uint64_t c;

		switch (rand_r(&seed) % 3) {
		case 0:
			fd_value(8, s->fds[rand_r(&seed) % 3], v);
			usm_map_update_elem(m, &k, v, BPF_ANY);
			break;
		case 1:
			usm_map_delete_elem(m, &k);
			break;
		default:
			usm_map_lookup_elem(m, &k, &c);
			break;
		}
	}
	return NULL;
}

static void test_upd_22_concurrent(void **state)
{
	struct stress st[4];
	pthread_t th[4];
	struct tsock t[3];
	struct usm_map *m[2];
	int i;

	for (i = 0; i < 3; i++)
		assert_int_equal(tsock_make(K_TCP4_EST, &t[i]), 0);
	assert_int_equal(usm_map_create(BPF_MAP_TYPE_SOCKMAP, "s", 4, 8, 8, NULL,
					&m[0]), 0);
	assert_int_equal(usm_map_create(BPF_MAP_TYPE_SOCKHASH, "h", 4, 8, 8,
					NULL, &m[1]), 0);
	for (i = 0; i < 4; i++) {
		st[i].m[0] = m[0];
		st[i].m[1] = m[1];
		st[i].fds[0] = t[0].fd;
		st[i].fds[1] = t[1].fd;
		st[i].fds[2] = t[2].fd;
		st[i].seed = (unsigned)i * 7919u + 1;
		assert_int_equal(pthread_create(&th[i], NULL, stress_thread,
						&st[i]), 0);
	}
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	usm_map_close(m[0]);
	usm_map_close(m[1]);
	assert_int_equal(usm__sock_count(), 0);
	for (i = 0; i < 3; i++)
		tsock_free(&t[i]);
}

#define BOTH8(fn)                                                              \
	{ #fn " sockmap", fn, NULL, NULL, (void *)&P_MAP8 },                   \
	{ #fn " sockhash", fn, NULL, NULL, (void *)&P_HASH8 }

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH8(test_bpf_side),
		cmocka_unit_test(test_life_01_unlink_all),
		cmocka_unit_test(test_upd_22_concurrent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
