/* SPDX-License-Identifier: MIT */
/*
 * The sk_skb rows of the redirect matrix (REDIR-01/02/07) on real
 * sockets: every source kind (TCP v4/v6, UDP v4/v6, unix stream/dgram)
 * redirecting one byte to every target kind, to the target's egress (the
 * byte comes out of the target's peer) and to its ingress (usm_recv on the
 * target), on a SOCKMAP and a SOCKHASH. Each case: the byte arrives intact
 * at the expected receiver, one redirect verdict, no drop. With kernel
 * BPF the same cases run on a kernel sockmap and must deliver the same.
 */
#include "rx_fix.h"

#include "../../src/engine/engine.h"
#include "../../src/sock/sock.h"

#define SV BPF_SK_SKB_STREAM_VERDICT

struct mcase {
	enum rk src, tgt;
	bool ingress;
};

static void stats_of(int fd, struct usm_engine_sock_stats *st)
{
	struct usm_sock *sk;

	assert_int_equal(usm__sock_from_fd(fd, 0, &sk), 0);
	assert_int_equal(usm__engine_sock_stats(NULL, sk, st), 0);
	usm__sock_put(sk);
}

/* One case on usockmap; @hash: SOCKHASH instead of SOCKMAP. */
static void usm_case(struct rxf *f, const struct mcase *m, bool hash,
		     char byte)
{
	struct usm_map *map = hash ? f->hash : f->map;
	struct usm_engine_sock_stats st;
	int a, s, tp, t;
	char got = 0;
	ssize_t n;

	rk_pair(m->src, &a, &s);
	rk_pair(m->tgt, &tp, &t);
	assert_int_equal(rxf_put(map, 0, s), 0);
	assert_int_equal(rxf_put(map, 1, t), 0);
	rxf_cfg(f, 1, m->ingress ? BPF_F_INGRESS : 0);
	assert_int_equal(send(a, &byte, 1, 0), 1);
	if (m->ingress) {
		n = rx_recv(t, &got, 1, 2000);
	} else {
		n = rx_wait(tp, 2000) ? recv(tp, &got, 1, MSG_DONTWAIT) : -1;
	}
	if (n != 1 || got != byte) {
		struct usm_engine_sock_stats ts = { 0 };

		stats_of(s, &st);
		stats_of(t, &ts);
		fail_msg("%s %s -> %s %s: n=%zd (src in %lu redir %lu drop %lu"
			 " pass %lu; tgt out %lu queued %lu err %d)",
			 hash ? "hash" : "map", rk_name[m->src],
			 rk_name[m->tgt], m->ingress ? "ingress" : "egress", n,
			 (unsigned long)st.bytes_in,
			 (unsigned long)st.redirect, (unsigned long)st.drop,
			 (unsigned long)st.pass, (unsigned long)ts.bytes_out,
			 (unsigned long)ts.queued, ts.error);
	}
	stats_of(s, &st); /* REDIR-07 */
	assert_int_equal(st.redirect, 1);
	assert_int_equal(st.drop, 0);
	assert_int_equal(st.pass, 0);
	usm_close(s);
	usm_close(t);
	close(a);
	close(tp);
}

static void kern_case(struct rxf *f, const struct mcase *m, char byte)
{
	int a, s, tp, t;
	char got = 0;
	ssize_t n;

	rk_pair(m->src, &a, &s);
	rk_pair(m->tgt, &tp, &t);
	assert_int_equal(rxf_kput(f->kmap, 0, s), 0);
	assert_int_equal(rxf_kput(f->kmap, 1, t), 0);
	rxf_kcfg(f, 1, m->ingress ? BPF_F_INGRESS : 0);
	assert_int_equal(send(a, &byte, 1, 0), 1);
	n = rx_wait(m->ingress ? t : tp, 2000)
		    ? recv(m->ingress ? t : tp, &got, 1, MSG_DONTWAIT) : -1;
	if (n != 1 || got != byte)
		fail_msg("kernel %s -> %s %s: n=%zd", rk_name[m->src],
			 rk_name[m->tgt], m->ingress ? "ingress" : "egress",
			 n);
	close(s);
	close(t);
	close(a);
	close(tp);
}

static void matrix(bool hash)
{
	struct mcase m;
	struct rxf f;
	int i = 0, src, tgt, ing;
	bool kern;

	rxf_open(&f);
	rxf_attach(&f, hash ? f.hash : f.map,
		   hash ? "rx_redir_hash" : "rx_redir_map", SV);
	kern = !hash && !rxf_kopen(&f);
	if (kern)
		rxf_kattach(&f, f.kmap, "rx_redir_map", SV);
	for (src = 0; src < RK_N; src++) {
		for (tgt = 0; tgt < RK_N; tgt++) {
			for (ing = 0; ing < 2; ing++) {
				m.src = (enum rk)src;
				m.tgt = (enum rk)tgt;
				m.ingress = ing;
				usm_case(&f, &m, hash, (char)('A' + i % 26));
				if (kern)
					kern_case(&f, &m, (char)('a' + i % 26));
				i++;
			}
		}
	}
	rxf_close(&f);
}

static void test_matrix_sockmap_REDIR01_02_07(void **state)
{
	(void)state;
	matrix(false);
}

static void test_matrix_sockhash_REDIR01_02_07(void **state)
{
	(void)state;
	matrix(true);
}

/* SKB-17: a listening TCP target and an unconnected UDP target refuse
 * the redirect: drop, nothing delivered. */
static void test_bad_targets_SKB17(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct usm_engine_sock_stats st;
	struct rxf f;
	int a, s, l, u;

	(void)state;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	rxf_open(&f);
	rxf_attach(&f, f.map, "rx_redir_map", SV);
	rk_pair(RK_TCP4, &a, &s);
	l = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(l, (void *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(l, 1), 0);
	u = socket(AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(bind(u, (void *)&sa, sizeof(sa)), 0);
	assert_int_equal(rxf_put(f.map, 0, s), 0);
	assert_int_equal(rxf_put(f.map, 1, l), 0);
	assert_int_equal(rxf_put(f.map, 2, u), 0);
	rxf_cfg(&f, 1, 0);
	assert_int_equal(send(a, "x", 1, 0), 1);
	rx_settle();
	rxf_cfg(&f, 2, BPF_F_INGRESS);
	assert_int_equal(send(a, "y", 1, 0), 1);
	rx_settle();
	stats_of(s, &st);
	assert_int_equal(st.drop, 2);
	assert_int_equal(st.redirect, 0);
	usm_close(s);
	usm_close(l);
	usm_close(u);
	close(a);
	rxf_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matrix_sockmap_REDIR01_02_07),
		cmocka_unit_test(test_matrix_sockhash_REDIR01_02_07),
		cmocka_unit_test(test_bad_targets_SKB17),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
