/* SPDX-License-Identifier: MIT */
/*
 * Reuseport groups: selection by an unmodified sk_reuseport object
 * (tests/bpf/rp_select) through REUSEPORT_SOCKARRAY, SOCKMAP, SOCKHASH and
 * an ARRAY_OF_MAPS, TCP and UDP, IPv4 and IPv6, compared with the kernel
 * running the same object on four real SO_REUSEPORT sockets
 * (SEMANTICS RPP-02, RPP-04, RPP-05, RPP-06, RPA-11).
 */
#include "rp_test.h"

#include <linux/if_ether.h>

/* RPP-04: for TCP, key = client port % 8: 0..3 that member, 7 refused,
 * other keys hash selection (any member). Checks the rule on @w. */
static void tcp_rule(struct world *w, int conns)
{
	int i, who, key = -1, seen_sel = 0, seen_drop = 0;

	/* The key comes from the client's ephemeral port, so @conns
	 * connections may by chance never hit key 7 ((7/8)^32 = 1.4%): go on,
	 * bounded, until both outcomes were seen. */
	for (i = 0; i < conns || ((!seen_sel || !seen_drop) && i < 8 * conns);
	     i++) {
		who = w_tcp(w, &key);
		if (who == R_REFUSED) {
			/* the kernel refuses before connect() returns; key
			 * unknown there: the rule allows only key 7 */
			if (!w->kern)
				assert_int_equal(key, 7);
			seen_drop++;
			continue;
		}
		assert_true(who >= 0 && who < NM);
		if (key < 4) {
			assert_int_equal(who, key);
			seen_sel++;
		} else {
			assert_int_not_equal(key, 7);
		}
	}
	assert_true(seen_sel > 0);
	assert_true(seen_drop > 0);
}

static void tcp_case(int family, const char *map, const char *prog)
{
	struct world w;
	int i;

	usm_world(&w, family, SOCK_STREAM, false);
	for (i = 0; i < NM; i++)
		assert_int_equal(w_put(&w, map, i, i), 0);
	w_attach(&w, prog);
	tcp_rule(&w, 32);
	/* RPP-02: the TCP header the program saw (20 bytes, no options) */
	assert_int_equal(w_res(&w, 1), 20);
	assert_int_equal(w_res(&w, 9), 20);
	assert_int_equal(w_res(&w, 3), IPPROTO_TCP);
	assert_int_equal(w_res(&w, 2), htons(family == AF_INET ? ETH_P_IP
								 : ETH_P_IPV6));
	assert_int_equal(w_res(&w, 5), 1);
	assert_int_equal(w_res(&w, 8), 1);
	/* the members' real sockets never get a connection themselves */
	for (i = 0; i < NM; i++) {
		int sfd = usm_reuseport_member_sock_fd(w.m[i]);

		fcntl(sfd, F_SETFL, O_NONBLOCK);
		assert_int_equal(accept4(sfd, NULL, NULL, 0), -1);
		assert_int_equal(errno, EAGAIN);
	}
	w_fini(&w);
	if (!rp_kern()) {
		USM_SKIP("kernel comparison not run: %s", rp_why);
		return;
	}
	kern_world(&w, family, SOCK_STREAM, false);
	for (i = 0; i < NM; i++)
		assert_int_equal(w_put(&w, map, i, i), 0);
	w_attach(&w, prog);
	tcp_rule(&w, 32);
	assert_true(w_res(&w, 1) >= 20); /* the real SYN: options too */
	assert_int_equal(w_res(&w, 3), IPPROTO_TCP);
	assert_int_equal(w_res(&w, 2), htons(family == AF_INET ? ETH_P_IP
								 : ETH_P_IPV6));
	w_fini(&w);
}

/* RPP-02/04/06 TCP v4 over REUSEPORT_SOCKARRAY */
static void test_tcp_v4_sockarray(void **s)
{
	tcp_case(AF_INET, "rp_arr", "sel_arr");
}

/* RPP-06: listening sockets in a SOCKMAP, IPv6 */
static void test_tcp_v6_sockmap(void **s)
{
	tcp_case(AF_INET6, "rp_smap", "sel_smap");
}

/* RPP-06: SOCKHASH, IPv4 */
static void test_tcp_v4_sockhash(void **s)
{
	tcp_case(AF_INET, "rp_shash", "sel_shash");
}

static const uint8_t ubytes[] = { 0, 1, 2, 3, 7, 5, 3, 2, 1, 0, 6, 7 };
#define NUB (sizeof(ubytes))

/* Who got each datagram of ubytes (hash-selected ones as -3). */
static void udp_run(struct world *w, int out[NUB])
{
	size_t i;

	for (i = 0; i < NUB; i++) {
		out[i] = w_udp(w, ubytes[i], 5);
		if (ubytes[i] >= 4 && ubytes[i] != 7) {
			assert_true(out[i] >= 0 && out[i] < NM);
			out[i] = -3;
		}
	}
}

static void udp_case(int family, const char *map, const char *prog)
{
	int ures[NUB], kres[NUB], i;
	uint32_t ufields[13], kfields[13];
	struct world w;

	usm_world(&w, family, SOCK_DGRAM, false);
	for (i = 0; i < NM; i++)
		assert_int_equal(w_put(&w, map, i, i), 0);
	w_attach(&w, prog);
	udp_run(&w, ures);
	for (i = 0; i < (int)NUB; i++) /* RPP-04 */
		assert_int_equal(ures[i], ubytes[i] < 4 ? ubytes[i]
				 : ubytes[i] == 7 ? R_REFUSED : -3);
	for (i = 0; i < 13; i++)
		ufields[i] = w_res(&w, i);
	/* RPP-02: UDP len = 8 + payload exactly; data covers it */
	assert_int_equal(ufields[1], 13);
	assert_int_equal(ufields[9], 13);
	assert_int_equal(ufields[3], IPPROTO_UDP);
	assert_int_equal(ufields[4], 0);
	assert_int_equal(ufields[6], NUB);
	/* RPP-03: the IP header: source 127.0.0.1 / ::1, protocol UDP */
	assert_int_equal(ufields[10], family == AF_INET
					      ? htonl(INADDR_LOOPBACK) : htonl(1));
	assert_int_equal(ufields[11], IPPROTO_UDP);
	/* RPP-05: the last selection (key 6) failed with -ENOENT */
	assert_int_equal((int32_t)ufields[0], -ENOENT);
	w_fini(&w);
	if (!rp_kern()) {
		USM_SKIP("kernel comparison not run: %s", rp_why);
		return;
	}
	kern_world(&w, family, SOCK_DGRAM, false);
	for (i = 0; i < NM; i++)
		assert_int_equal(w_put(&w, map, i, i), 0);
	w_attach(&w, prog);
	udp_run(&w, kres);
	for (i = 0; i < 13; i++)
		kfields[i] = w_res(&w, i);
	w_fini(&w);
	assert_memory_equal(ures, kres, sizeof(ures));
	assert_memory_equal(ufields, kfields, sizeof(ufields));
}

static void test_udp_v4_sockarray(void **s)
{
	udp_case(AF_INET, "rp_arr", "sel_arr");
}

static void test_udp_v6_sockarray(void **s)
{
	udp_case(AF_INET6, "rp_arr", "sel_arr");
}

/* RPP-06: bound UDP sockets in SOCKMAP / SOCKHASH */
static void test_udp_v4_sockmap(void **s)
{
	udp_case(AF_INET, "rp_smap", "sel_smap");
}

static void test_udp_v6_sockhash(void **s)
{
	udp_case(AF_INET6, "rp_shash", "sel_shash");
}

/* RPA-11: an empty outer slot gives NULL (the program drops and counts);
 * the filled slot selects from its inner REUSEPORT_SOCKARRAY. */
static void outer_case(struct world *w, int out[4], uint32_t *nulls)
{
	static const uint8_t b[4] = { 0x11, 0x02, 0x13, 0x01 };
	int i;

	for (i = 0; i < NM; i++)
		assert_int_equal(w_put(w, "rp_inner", i, i), 0);
	w_attach(w, "sel_outer");
	for (i = 0; i < 4; i++)
		out[i] = w_udp(w, b[i], 3);
	*nulls = w_res(w, 7);
}

static void test_udp_outer_empty_slot(void **s)
{
	int u[4], k[4];
	uint32_t un, kn;
	struct world w;

	usm_world(&w, AF_INET, SOCK_DGRAM, false);
	outer_case(&w, u, &un);
	w_fini(&w);
	assert_int_equal(u[0], R_NONE);
	assert_int_equal(u[1], 2);
	assert_int_equal(u[2], R_NONE);
	assert_int_equal(u[3], 1);
	assert_int_equal(un, 2);
	if (!rp_kern()) {
		USM_SKIP("kernel comparison not run: %s", rp_why);
		return;
	}
	kern_world(&w, AF_INET, SOCK_DGRAM, false);
	outer_case(&w, k, &kn);
	w_fini(&w);
	assert_memory_equal(u, k, sizeof(u));
	assert_int_equal(un, kn);
}

/* RPP-02: bind_inany = 1 for a wildcard-bound group, both sides. */
static void test_bind_inany(void **s)
{
	struct world w;
	int i;

	usm_world(&w, AF_INET, SOCK_DGRAM, true);
	for (i = 0; i < NM; i++)
		assert_int_equal(w_put(&w, "rp_arr", i, i), 0);
	w_attach(&w, "sel_arr");
	assert_int_equal(w_udp(&w, 2, 4), 2);
	assert_int_equal(w_res(&w, 4), 1);
	assert_int_equal(w_res(&w, 2), htons(ETH_P_IP));
	/* the datagram's real destination, not the wildcard */
	assert_int_equal(w_res(&w, 12), htonl(INADDR_LOOPBACK));
	w_fini(&w);
	if (!rp_kern()) {
		USM_SKIP("kernel comparison not run: %s", rp_why);
		return;
	}
	kern_world(&w, AF_INET, SOCK_DGRAM, true);
	for (i = 0; i < NM; i++)
		assert_int_equal(w_put(&w, "rp_arr", i, i), 0);
	w_attach(&w, "sel_arr");
	assert_int_equal(w_udp(&w, 2, 4), 2);
	assert_int_equal(w_res(&w, 4), 1);
	assert_int_equal(w_res(&w, 12), htonl(INADDR_LOOPBACK));
	w_fini(&w);
}

/* Send one datagram (first byte @b) from an IPv4 client to @w's port on
 * 127.0.0.1; who got it. */
static int v4_to(struct world *w, uint8_t b)
{
	struct sockaddr_in d = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	uint8_t buf[4] = { b };
	int c = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), who;

	d.sin_port = ((struct sockaddr_in6 *)&w->addr)->sin6_port;
	assert_int_equal(sendto(c, buf, 4, 0, (struct sockaddr *)&d,
				sizeof(d)), 4);
	who = w_wait(w, 2000);
	if (who >= 0 && !w->kern)
		assert_int_equal(usm_reuseport_recvfrom(w->fds[who], buf, 4, 0,
							NULL, NULL), 4);
	else if (who >= 0)
		assert_int_equal(recv(w->fds[who], buf, 4, 0), 4);
	close(c);
	return who;
}

/* RPP-02: an IPv4 client of a dual-stack [::] group: eth_protocol is
 * ETH_P_IP, the IP header is IPv4, bind_inany 1; same as the kernel. */
static void test_dual_stack_v4_client(void **s)
{
	uint32_t u[13], k[13];
	struct world w;
	int i;

	usm_world(&w, AF_INET6, SOCK_DGRAM, true);
	for (i = 0; i < NM; i++)
		assert_int_equal(w_put(&w, "rp_arr", i, i), 0);
	w_attach(&w, "sel_arr");
	assert_int_equal(v4_to(&w, 3), 3);
	for (i = 0; i < 13; i++)
		u[i] = w_res(&w, i);
	w_fini(&w);
	assert_int_equal(u[2], htons(ETH_P_IP));
	assert_int_equal(u[4], 1);
	assert_int_equal(u[10], htonl(INADDR_LOOPBACK));
	assert_int_equal(u[12], htonl(INADDR_LOOPBACK));
	if (!rp_kern()) {
		USM_SKIP("kernel comparison not run: %s", rp_why);
		return;
	}
	kern_world(&w, AF_INET6, SOCK_DGRAM, true);
	for (i = 0; i < NM; i++)
		assert_int_equal(w_put(&w, "rp_arr", i, i), 0);
	w_attach(&w, "sel_arr");
	assert_int_equal(v4_to(&w, 3), 3);
	for (i = 0; i < 13; i++)
		k[i] = w_res(&w, i);
	w_fini(&w);
	assert_memory_equal(u, k, sizeof(u));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp_v4_sockarray),
		cmocka_unit_test(test_tcp_v6_sockmap),
		cmocka_unit_test(test_tcp_v4_sockhash),
		cmocka_unit_test(test_udp_v4_sockarray),
		cmocka_unit_test(test_udp_v6_sockarray),
		cmocka_unit_test(test_udp_v4_sockmap),
		cmocka_unit_test(test_udp_v6_sockhash),
		cmocka_unit_test(test_udp_outer_empty_slot),
		cmocka_unit_test(test_bind_inany),
		cmocka_unit_test(test_dual_stack_v4_client),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
