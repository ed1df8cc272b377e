/* SPDX-License-Identifier: MIT */
/*
 * The socket fields of the contexts (SEMANTICS SKB-20, SKB-21, MSG-02):
 * family, addresses and ports as usockmap fills them from a socket, against
 * what the kernel's sk_skb verdict (on the receiving socket) and sk_msg
 * verdict (on the sending socket) programs read for the same sockets, over
 * IPv4 and IPv6 loopback TCP. Plus the byte-order conventions spelled out.
 */
#include "usm_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../../src/progtype/progtype.h"
#include "../../../src/sock/sock.h"
#include "../helpers/kharness.h"

/* The fields in the order the kernel programs store them. */
#define NF 14

static int tcp_pair_fam(int fam, int *c, int *p);

/* Two bound UDP sockets connected to each other. */
static int udp_pair_fam(int fam, int *c, int *p)
{
	struct sockaddr_storage sa, sb;
	socklen_t len = fam == AF_INET ? sizeof(struct sockaddr_in)
				       : sizeof(struct sockaddr_in6);
	int i, *s[2] = { c, p };
	struct sockaddr_storage *ss[2] = { &sa, &sb };

	for (i = 0; i < 2; i++) {
		struct sockaddr_in *a4 = (void *)ss[i];
		struct sockaddr_in6 *a6 = (void *)ss[i];
		socklen_t l = len;

		memset(ss[i], 0, sizeof(*ss[i]));
		if (fam == AF_INET) {
			a4->sin_family = AF_INET;
			a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		} else {
			a6->sin6_family = AF_INET6;
			a6->sin6_addr = in6addr_loopback;
		}
		*s[i] = socket(fam, SOCK_DGRAM, 0);
		if (*s[i] < 0 || bind(*s[i], (void *)ss[i], len) ||
		    getsockname(*s[i], (void *)ss[i], &l))
			return -1;
	}
	if (connect(*c, (void *)&sb, len) || connect(*p, (void *)&sa, len))
		return -1;
	return 0;
}

static int tcp_pair_fam(int fam, int *c, int *p)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *a4 = (void *)&ss;
	struct sockaddr_in6 *a6 = (void *)&ss;
	socklen_t len = fam == AF_INET ? sizeof(*a4) : sizeof(*a6);
	int l = socket(fam, SOCK_STREAM, 0);

	*c = *p = -1;
	memset(&ss, 0, sizeof(ss));
	if (fam == AF_INET) {
		a4->sin_family = AF_INET;
		a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	} else {
		a6->sin6_family = AF_INET6;
		a6->sin6_addr = in6addr_loopback;
	}
	if (l < 0)
		return -1;
	if (bind(l, (void *)&ss, len) || listen(l, 1) ||
	    getsockname(l, (void *)&ss, &len) ||
	    (*c = socket(fam, SOCK_STREAM, 0)) < 0 ||
	    connect(*c, (void *)&ss, len)) {
		close(l);
		return -1;
	}
	*p = accept(l, NULL, NULL);
	close(l);
	return *p < 0 ? -1 : 0;
}

static void fields_of(const struct usm_ctx_addrs *a, uint32_t f[NF])
{
	f[0] = a->family;
	f[1] = a->remote_ip4;
	f[2] = a->local_ip4;
	memcpy(&f[3], a->remote_ip6, 16);
	memcpy(&f[7], a->local_ip6, 16);
	f[11] = a->remote_port;
	f[12] = a->local_port;
	f[13] = 0x600d; /* marker: the program ran */
}

/* A program copying the fields at @offs (struct-specific) to the map. */
static int fields_prog(uint32_t type, uint32_t attach, int out,
		       const int16_t offs[NF - 1], int verdict)
{
	struct kasm as, *a = &as;
	int i;

	memset(a, 0, sizeof(*a));
	MOVR(6, 1);
	emit(a, BPF_ST | BPF_MEM | BPF_W, 10, 0, -4, 0);
	LDMAP(1, out);
	MOVR(2, 10);
	ADDI(2, -4);
	CALL(BPF_FUNC_map_lookup_elem);
	jmp_to(a, BPF_JEQ, 0, 0, 0);
	for (i = 0; i < NF - 1; i++) {
		LDX(BPF_W, 1, 6, offs[i]);
		STX(BPF_W, 0, 1, (int16_t)(4 * i));
	}
	emit(a, BPF_ST | BPF_MEM | BPF_W, 0, 0, 4 * (NF - 1), 0x600d);
	here(a, 0);
	MOVI(0, verdict);
	EXIT();
	return kasm_load(a, type, attach);
}

#define SKBO(f) ((int16_t)offsetof(struct __sk_buff, f))
#define MSGO(f) ((int16_t)offsetof(struct sk_msg_md, f))

static const int16_t skb_offs[NF - 1] = {
	SKBO(family), SKBO(remote_ip4), SKBO(local_ip4),
	SKBO(remote_ip6[0]), SKBO(remote_ip6[1]), SKBO(remote_ip6[2]),
	SKBO(remote_ip6[3]), SKBO(local_ip6[0]), SKBO(local_ip6[1]),
	SKBO(local_ip6[2]), SKBO(local_ip6[3]), SKBO(remote_port),
	SKBO(local_port),
};

static const int16_t msg_offs[NF - 1] = {
	MSGO(family), MSGO(remote_ip4), MSGO(local_ip4),
	MSGO(remote_ip6[0]), MSGO(remote_ip6[1]), MSGO(remote_ip6[2]),
	MSGO(remote_ip6[3]), MSGO(local_ip6[0]), MSGO(local_ip6[1]),
	MSGO(local_ip6[2]), MSGO(local_ip6[3]), MSGO(remote_port),
	MSGO(local_port),
};

static void print_fields(const char *who, const uint32_t f[NF])
{
	int i;

	print_message("# %s:", who);
	for (i = 0; i < NF; i++)
		print_message(" %08x", f[i]);
	print_message("\n");
}

/* Run one kernel comparison: sk_skb on the receiving socket (@msg false)
 * or sk_msg on the sending one. */
static int compare(int fam, int type, bool msg)
{
	uint32_t kf[NF] = { 0 }, uf[NF], zero = 0;
	struct usm_ctx_addrs a;
	struct usm_sock *sk;
	int out, map, prog = -1, c, p, in_map, ok = -1;
	char b;

	out = bpf_map_create(BPF_MAP_TYPE_ARRAY, "usm_cf", 4, 4 * NF, 1, NULL);
	map = bpf_map_create(BPF_MAP_TYPE_SOCKMAP, "usm_cm", 4, 4, 1, NULL);
	if (out < 0 || map < 0 ||
	    (type == SOCK_STREAM ? tcp_pair_fam(fam, &c, &p)
				 : udp_pair_fam(fam, &c, &p)))
		goto out;
	prog = fields_prog(msg ? BPF_PROG_TYPE_SK_MSG : BPF_PROG_TYPE_SK_SKB,
			   msg ? BPF_SK_MSG_VERDICT : 0, out,
			   msg ? msg_offs : skb_offs, msg ? SK_PASS : SK_DROP);
	in_map = msg ? c : p;
	if (prog < 0 ||
	    bpf_prog_attach(prog, map, msg ? BPF_SK_MSG_VERDICT
					   : BPF_SK_SKB_VERDICT, 0) ||
	    bpf_map_update_elem(map, &zero, &in_map, BPF_ANY) ||
	    send(c, "x", 1, 0) != 1)
		goto out;
	if (msg)
		recv(p, &b, 1, 0);
	for (int t = 0; t < 200 && kf[NF - 1] != 0x600d; t++) {
		usleep(5000);
		bpf_map_lookup_elem(out, &zero, kf);
	}
	assert_int_equal(usm__sock_from_fd(in_map, 0, &sk), 0);
	usm__ctx_addrs_from_sock(sk, &a);
	usm__sock_put(sk);
	fields_of(&a, uf);
	if (fam == AF_INET6 && type == SOCK_STREAM && !msg) {
		/* Known difference (pt_sockaddr.c): an accepted IPv6 TCP
		 * socket carries the 127.0.0.6 placeholder as remote IPv4
		 * too; we cannot tell accepted from connected and give the
		 * connected answer, 0. */
		assert_int_equal(kf[1], htonl(0x7f000006));
		assert_int_equal(uf[1], 0);
		kf[1] = 0;
	}
	ok = memcmp(kf, uf, sizeof(kf)) == 0;
	if (!ok) {
		print_fields("kernel  ", kf);
		print_fields("usockmap", uf);
	}
	close(c);
	close(p);
out:
	if (prog >= 0)
		close(prog);
	if (map >= 0)
		close(map);
	if (out >= 0)
		close(out);
	return ok;
}

static void run_compare(int fam, int type, bool msg)
{
	const char *why;
	int r;

	if (!usm_test_have_kernel_bpf(&why)) {
		USM_SKIP("%s", why);
		return;
	}
	r = compare(fam, type, msg);
	if (r < 0) {
		USM_SKIP("kernel harness failed (%s)", strerror(errno));
		return;
	}
	assert_int_equal(r, 1);
}

static void test_skb_21_fields_ipv4_against_kernel(void **state)
{
	run_compare(AF_INET, SOCK_STREAM, false);
}

static void test_skb_21_fields_ipv6_against_kernel(void **state)
{
	run_compare(AF_INET6, SOCK_STREAM, false);
}

static void test_skb_21_fields_udp4_against_kernel(void **state)
{
	run_compare(AF_INET, SOCK_DGRAM, false);
}

static void test_skb_21_fields_udp6_against_kernel(void **state)
{
	run_compare(AF_INET6, SOCK_DGRAM, false);
}

static void test_msg_02_fields_ipv4_against_kernel(void **state)
{
	run_compare(AF_INET, SOCK_STREAM, true);
}

static void test_msg_02_fields_ipv6_against_kernel(void **state)
{
	run_compare(AF_INET6, SOCK_STREAM, true);
}

/* SKB-20/21 conventions, spelled out on an accepted IPv4 socket: local
 * port in host order, remote port in network order in the upper half. */
static void test_skb_21_conventions(void **state)
{
	struct sockaddr_in la, pa;
	socklen_t len = sizeof(la);
	struct usm_skb_ctx c;
	struct usm_sock *sk;
	int cl, p;

	assert_int_equal(tcp_pair_fam(AF_INET, &cl, &p), 0);
	getsockname(p, (void *)&la, &len);
	len = sizeof(pa);
	getpeername(p, (void *)&pa, &len);
	assert_int_equal(usm__sock_from_fd(p, 0, &sk), 0);
	memset(&c, 0, sizeof(c));
	usm__skb_ctx_set_sock(&c, sk);
	assert_ptr_equal(c.sk, sk);
	assert_ptr_equal(c.md.sk, &sk->bsk);
	assert_int_equal(c.md.family, AF_INET);
	assert_int_equal(c.md.local_port, ntohs(la.sin_port));
	assert_int_equal(ntohl(c.md.remote_port), ntohs(pa.sin_port));
	assert_int_equal(c.md.remote_port >> 16, pa.sin_port);
	assert_int_equal(c.md.local_ip4, htonl(INADDR_LOOPBACK));
	assert_int_equal(c.md.remote_ip4, htonl(INADDR_LOOPBACK));
	/* established IPv4 TCP: the IPv6 slots hold the v4-mapped form */
	assert_int_equal(c.md.local_ip6[2], htonl(0xffff));
	assert_int_equal(c.md.remote_ip6[3], htonl(INADDR_LOOPBACK));
	assert_int_equal(c.md.local_ip6[0] | c.md.remote_ip6[1], 0);
	usm__skb_ctx_set_sock(&c, NULL);
	assert_null(c.sk);
	assert_null(c.md.sk);
	assert_int_equal(c.md.family, 0);
	assert_int_equal(c.md.local_port, 0);
	usm__sock_put(sk);
	close(cl);
	close(p);
}

static void test_sock_ops_set_sock(void **state)
{
	struct usm_sock_ops_ctx c;
	struct usm_sock *sk;
	int cl, p;

	assert_int_equal(tcp_pair_fam(AF_INET6, &cl, &p), 0);
	assert_int_equal(usm__sock_from_fd(cl, 0, &sk), 0);
	memset(&c, 0, sizeof(c));
	usm__sock_ops_ctx_set_sock(&c, sk);
	assert_int_equal(c.md.is_fullsock, 1);
	assert_int_equal(c.md.state, BPF_TCP_ESTABLISHED);
	assert_int_equal(c.md.family, AF_INET6);
	assert_int_equal(c.md.remote_ip6[3], htonl(1)); /* ::1 */
	assert_int_equal(c.md.local_ip4, htonl(0x7f000006)); /* placeholder */
	assert_ptr_equal(c.md.sk, &sk->bsk);
	usm__sock_put(sk);
	close(cl);
	close(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_skb_21_conventions),
		cmocka_unit_test(test_sock_ops_set_sock),
		cmocka_unit_test(test_skb_21_fields_ipv4_against_kernel),
		cmocka_unit_test(test_skb_21_fields_ipv6_against_kernel),
		cmocka_unit_test(test_skb_21_fields_udp4_against_kernel),
		cmocka_unit_test(test_skb_21_fields_udp6_against_kernel),
		cmocka_unit_test(test_msg_02_fields_ipv4_against_kernel),
		cmocka_unit_test(test_msg_02_fields_ipv6_against_kernel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
