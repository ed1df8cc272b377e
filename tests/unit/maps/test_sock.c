/* SPDX-License-Identifier: MIT */
/*
 * struct usm_sock: facts read from real sockets (family, type, protocol,
 * state in the kernel's BPF_TCP_* numbering, addresses and ports in the
 * byte orders struct bpf_sock uses, SO_COOKIE), the one-object-per-socket
 * registry, reference counting and fd ownership.
 */
#include "maps_test.h"

#include <netinet/tcp.h>

static struct usm_sock *sock_of(int fd)
{
	struct usm_sock *sk;

	assert_int_equal(usm__sock_from_fd(fd, 0, &sk), 0);
	return sk;
}

/* MAP-UPD-02: the errors sockfd_lookup gives. */
static void test_from_fd_errors(void **state)
{
	struct usm_sock *sk = (void *)1;
	int p[2];

	assert_int_equal(usm__sock_from_fd(0x7ffffff0, 0, &sk), -EBADF);
	assert_null(sk);
	assert_int_equal(usm__sock_from_fd(-1, 0, &sk), -EBADF);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(usm__sock_from_fd(p[0], 0, &sk), -ENOTSOCK);
	close(p[0]);
	close(p[1]);
	assert_int_equal(usm__sock_count(), 0);
}

/* TCP established over IPv4: every struct bpf_sock field we fill. */
static void test_tcp4_facts(void **state)
{
	struct sockaddr_in l, r;
	socklen_t len = sizeof(l);
	struct usm_sock *sk;
	struct tsock t;

	assert_int_equal(tsock_make(K_TCP4_EST, &t), 0);
	assert_int_equal(getsockname(t.fd, (struct sockaddr *)&l, &len), 0);
	len = sizeof(r);
	assert_int_equal(getpeername(t.fd, (struct sockaddr *)&r, &len), 0);
	sk = sock_of(t.fd);
	assert_int_equal(sk->cookie, so_cookie(t.fd)); /* MAP-LKP-01 */
	assert_int_equal(sk->domain, AF_INET);
	assert_int_equal(sk->type, SOCK_STREAM);
	assert_int_equal(sk->protocol, IPPROTO_TCP);
	assert_int_equal(sk->tcp_state, TCP_ESTABLISHED);
	assert_true(sk->connected);
	assert_true(sk->bound);
	assert_false(sk->listening);
	assert_int_equal(sk->bsk.family, AF_INET);
	assert_int_equal(sk->bsk.type, SOCK_STREAM);
	assert_int_equal(sk->bsk.protocol, IPPROTO_TCP);
	assert_int_equal(sk->bsk.state, BPF_TCP_ESTABLISHED);
	assert_int_equal(sk->bsk.src_ip4, htonl(INADDR_LOOPBACK));
	assert_int_equal(sk->bsk.dst_ip4, htonl(INADDR_LOOPBACK));
	assert_int_equal(sk->bsk.src_port, ntohs(l.sin_port)); /* host order */
	assert_int_equal(sk->bsk.dst_port, r.sin_port);        /* network */
	assert_int_equal(sk->bsk.rx_queue_mapping, -1);
	assert_int_equal(sk->bsk.src_ip6[0], 0);
	usm__sock_put(sk);
	tsock_free(&t);
}

static void test_tcp6_listen_facts(void **state)
{
	struct sockaddr_in6 l;
	socklen_t len = sizeof(l);
	struct usm_sock *sk;
	struct tsock t;

	assert_int_equal(tsock_make(K_TCP6_LISTEN, &t), 0);
	assert_int_equal(getsockname(t.fd, (struct sockaddr *)&l, &len), 0);
	sk = sock_of(t.fd);
	assert_true(sk->listening);
	assert_int_equal(sk->tcp_state, TCP_LISTEN);
	assert_int_equal(sk->bsk.state, BPF_TCP_LISTEN);
	assert_int_equal(sk->bsk.family, AF_INET6);
	assert_memory_equal(sk->bsk.src_ip6, &in6addr_loopback, 16);
	assert_int_equal(sk->bsk.src_port, ntohs(l.sin6_port));
	assert_int_equal(sk->bsk.dst_port, 0);
	assert_false(sk->connected);
	usm__sock_put(sk);
	tsock_free(&t);
}

/* States of the non-TCP kinds, as the kernel's sk_state holds them. */
static void test_other_states(void **state)
{
	struct {
		enum skind k;
		int state;
		bool bound;
	} c[] = {
		{ K_TCP4_FRESH, TCP_CLOSE, false },
		{ K_TCP4_BOUND, TCP_CLOSE, true },
		{ K_UDP4_UNBOUND, TCP_CLOSE, false },
		{ K_UDP4_BOUND, TCP_CLOSE, true },
		{ K_UDP4_CONNECTED, TCP_ESTABLISHED, true },
		{ K_UNIX_STREAM_CONN, TCP_ESTABLISHED, false },
		{ K_UNIX_STREAM_UNCONN, TCP_CLOSE, false },
		{ K_UNIX_STREAM_LISTEN, TCP_LISTEN, true },
		{ K_UNIX_DGRAM, TCP_CLOSE, false },
		{ K_UNIX_DGRAM_CONN, TCP_ESTABLISHED, false },
	};
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct usm_sock *sk;
		struct tsock t;

		assert_int_equal(tsock_make(c[i].k, &t), 0);
		sk = sock_of(t.fd);
		if (sk->tcp_state != c[i].state || sk->bound != c[i].bound)
			fail_msg("%s: state %d bound %d", skinds[c[i].k].name,
				 sk->tcp_state, sk->bound);
		assert_int_equal(sk->bsk.state, (uint32_t)c[i].state);
		usm__sock_put(sk);
		tsock_free(&t);
	}
}

/* usm__sock_refresh follows state changes (a listen after bind). */
static void test_refresh(void **state)
{
	struct usm_sock *sk;
	struct tsock t;

	assert_int_equal(tsock_make(K_TCP4_BOUND, &t), 0);
	sk = sock_of(t.fd);
	assert_int_equal(sk->tcp_state, TCP_CLOSE);
	assert_int_equal(listen(t.fd, 1), 0);
	assert_int_equal(sk->tcp_state, TCP_CLOSE); /* not refreshed yet */
	assert_int_equal(usm__sock_refresh(sk), 0);
	assert_int_equal(sk->tcp_state, TCP_LISTEN);
	assert_true(sk->listening);
	usm__sock_put(sk);
	tsock_free(&t);
}

/* One object per socket: same fd, dup'ed fd, refcounts, liveness. */
static void test_registry(void **state)
{
	struct usm_sock *a, *b, *c;
	struct tsock t;
	int dupfd;

	assert_int_equal(tsock_make(K_UNIX_STREAM_CONN, &t), 0);
	a = sock_of(t.fd);
	b = sock_of(t.fd);
	assert_ptr_equal(a, b);
	assert_int_equal(a->refcnt, 2);
	dupfd = dup(t.fd);
	c = sock_of(dupfd);
	assert_ptr_equal(a, c);
	assert_int_equal(usm__sock_count(), 1);
	assert_true(usm__sock_is_alive(a));
	/* The fd it knows closes; another fd of the socket rebinds it. */
	close(t.fd);
	assert_false(usm__sock_is_alive(a));
	t.fd = -1;
	usm__sock_put(c);
	c = sock_of(dupfd);
	assert_ptr_equal(a, c);
	assert_int_equal(a->fd, dupfd);
	assert_true(usm__sock_is_alive(a));
	usm__sock_put(a);
	usm__sock_put(b);
	usm__sock_put(c);
	assert_int_equal(usm__sock_count(), 0);
	close(dupfd);
	tsock_free(&t);
}

/* A reused fd number names another socket: the old object is dead. */
static void test_reused_fd_number(void **state)
{
	struct usm_sock *a, *b;
	int fd = socket(AF_INET, SOCK_DGRAM, 0), fd2;

	assert_true(fd >= 0);
	a = sock_of(fd);
	close(fd);
	fd2 = socket(AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(fd2, fd); /* lowest free number */
	assert_false(usm__sock_is_alive(a));
	b = sock_of(fd2);
	assert_ptr_not_equal(a, b);
	assert_int_equal(usm__sock_count(), 2);
	usm__sock_put(a);
	usm__sock_put(b);
	close(fd2);
}

/* USM_SOCK_OWNS_FD: the last put closes the fd. */
static void test_owns_fd(void **state)
{
	struct usm_sock *sk;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(usm__sock_from_fd(fd, USM_SOCK_OWNS_FD, &sk), 0);
	assert_true(sk->flags & USM_SOCK_OWNS_FD);
	usm__sock_get(sk);
	usm__sock_put(sk);
	assert_true(fcntl(fd, F_GETFD) >= 0);
	usm__sock_put(sk);
	assert_true(fcntl(fd, F_GETFD) < 0 && errno == EBADF);
	usm__sock_put(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_from_fd_errors),
		cmocka_unit_test(test_tcp4_facts),
		cmocka_unit_test(test_tcp6_listen_facts),
		cmocka_unit_test(test_other_states),
		cmocka_unit_test(test_refresh),
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_reused_fd_number),
		cmocka_unit_test(test_owns_fd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
