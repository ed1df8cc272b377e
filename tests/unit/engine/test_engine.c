/* SPDX-License-Identifier: MIT */
/*
 * Engine internals: chunk queues, the loop object (new/free, fd watchers,
 * stop), add/del of sockets and their errors, and the end-of-stream policy
 * for engine-owned sockets (a proxy pair: EOF from the client shuts the
 * backend connection's write side once drained, and the pair closes when
 * both directions ended).
 */
#include "usm_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <usockmap/map.h>
#include <usockmap/object.h>

#include "../../../src/engine/engine_int.h"
#include "../../../src/loader/loader.h"
#include "../../../src/sock/psock.h"
#include "../../../src/sock/sock.h"

static void test_chunk_queue(void **state)
{
	struct usm_cqueue q = { 0 };
	struct usm_chunk *c;

	(void)state;
	usm__cq_push(&q, usm__chunk_copy("abc", 3));
	usm__cq_push(&q, usm__chunk_copy("de", 2));
	assert_int_equal(q.bytes, 5);
	assert_int_equal(q.count, 2);
	c = usm__cq_pop(&q);
	assert_int_equal(c->len, 3);
	assert_memory_equal(c->buf + c->off, "abc", 3);
	usm__chunk_free(c);
	assert_int_equal(q.bytes, 2);
	usm__cq_push(&q, usm__chunk_copy("", 0));
	assert_int_equal(q.count, 2);
	usm__cq_clear(&q);
	assert_null(q.head);
	assert_null(q.tail);
	assert_int_equal(q.bytes, 0);
	assert_null(usm__cq_pop(&q));
	usm__chunk_free(NULL);
}

static int fd_hits;

static void on_fd(void *arg, int fd, uint32_t events)
{
	uint64_t v;

	(void)arg;
	assert_true(events & EPOLLIN);
	assert_int_equal(read(fd, &v, sizeof(v)), sizeof(v));
	fd_hits++;
}

static void test_loop_fd_watch_and_stop(void **state)
{
	struct usm_engine *eng;
	uint64_t one = 1;
	int efd = eventfd(0, EFD_NONBLOCK);

	(void)state;
	assert_int_equal(usm__engine_new(NULL, &eng), 0);
	assert_int_equal(usm__engine_add_fd(eng, efd, EPOLLIN, on_fd, NULL),
			 0);
	assert_int_equal(usm__engine_add_fd(eng, efd, EPOLLIN, on_fd, NULL),
			 -EEXIST);
	assert_int_equal(usm__engine_run_once(eng, 0), 0);
	assert_int_equal(fd_hits, 0);
	assert_int_equal(write(efd, &one, sizeof(one)), sizeof(one));
	assert_int_equal(usm__engine_run_once(eng, 1000), 0);
	assert_int_equal(fd_hits, 1);
	assert_int_equal(usm__engine_del_fd(eng, efd), 0);
	assert_int_equal(usm__engine_del_fd(eng, efd), -ENOENT);
	usm__engine_stop(eng);
	/* run() clears a stop requested before it; a bounded run returns */
	assert_int_equal(usm__engine_run(eng, 50), 0);
	usm__engine_free(eng);
	usm__engine_free(NULL);
	close(efd);
}

static void tcp_pair(int *c, int *s)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int l = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(l, (void *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (void *)&sa, &len), 0);
	*c = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(*c, (void *)&sa, sizeof(sa)), 0);
	*s = accept(l, NULL, NULL);
	assert_true(*s >= 0);
	close(l);
}

static void test_add_del_sock(void **state)
{
	struct usm_engine *a, *b;
	struct usm_engine_sock_stats st;
	struct usm_sock *sk;
	int c, s;

	(void)state;
	tcp_pair(&c, &s);
	assert_int_equal(usm__sock_from_fd(s, 0, &sk), 0);
	assert_int_equal(usm__engine_new(NULL, &a), 0);
	assert_int_equal(usm__engine_new(NULL, &b), 0);
	assert_int_equal(usm__engine_sock_stats(a, sk, &st), -ENOENT);
	assert_int_equal(usm__engine_add_sock(a, sk, 0), 0);
	assert_int_equal(usm__engine_add_sock(a, sk, 0), -EEXIST);
	assert_int_equal(usm__engine_add_sock(b, sk, 0), -EBUSY);
	assert_int_equal(usm__engine_run_once(a, 0), 0);
	assert_int_equal(usm__engine_sock_stats(a, sk, &st), 0);
	assert_int_equal(st.bytes_in, 0);
	assert_int_equal(usm__engine_sock_stats(b, sk, &st), -ENOENT);
	usm__engine_del_sock(a, sk);
	assert_int_equal(usm__engine_run_once(a, 0), 0);
	assert_int_equal(usm__engine_sock_stats(a, sk, &st), -ENOENT);
	/* not engine-owned: the fd is still open */
	assert_true(fcntl(s, F_GETFD) >= 0);
	usm__engine_free(a);
	usm__engine_free(b);
	usm__sock_put(sk);
	close(c);
	close(s);
}

static bool readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

/* Run @eng until @fd is readable or 2 s passed. */
static bool run_until_readable(struct usm_engine *eng, int fd)
{
	int i;

	for (i = 0; i < 200; i++) {
		if (readable(fd, 0))
			return true;
		usm__engine_run_once(eng, 10);
	}
	return readable(fd, 0);
}

/* Engine-owned splice: client a <-> s (owned) -> t (owned) <-> backend. */
static void test_owned_eof_policy(void **state)
{
	struct usm_object *obj;
	struct usm_map *map, *cfg;
	struct usm_engine *eng;
	struct usm_sock *ss, *ts;
	uint32_t k0 = 0, k1 = 1, zero = 0;
	struct usm_engine_sock_stats st;
	uint64_t v;
	char buf[8];
	int a, s, t, be;

	(void)state;
	assert_int_equal(usm_object_open(usm_test_bpf_path("tests/bpf/rx_progs"),
					 NULL, &obj), 0);
	assert_int_equal(usm_object_load(obj), 0);
	map = usm_object_find_map(obj, "sock_map");
	cfg = usm_object_find_map(obj, "cfg");
	assert_int_equal(usm__sockmap_prog_attach(map,
		usm__program_prog(usm_object_find_program(obj, "rx_redir_map")),
		BPF_SK_SKB_STREAM_VERDICT), 0);
	assert_int_equal(usm_map_update_elem(cfg, &k0, &k1, 0), 0);
	assert_int_equal(usm_map_update_elem(cfg, &k1, &zero, 0), 0);
	assert_int_equal(usm__engine_new(NULL, &eng), 0);
	usm__engine_adopt_psocks(eng);
	tcp_pair(&a, &s);
	tcp_pair(&be, &t);
	assert_int_equal(usm__sock_from_fd(s, 0, &ss), 0);
	assert_int_equal(usm__sock_from_fd(t, 0, &ts), 0);
	assert_int_equal(usm__engine_add_sock(eng, ss, USM_ENGINE_OWNED), 0);
	assert_int_equal(usm__engine_add_sock(eng, ts, USM_ENGINE_OWNED), 0);
	v = (uint64_t)s;
	assert_int_equal(usm_map_update_elem(map, &k0, &v, 0), 0);
	v = (uint64_t)t;
	assert_int_equal(usm_map_update_elem(map, &k1, &v, 0), 0);
	assert_int_equal(send(a, "hi", 2, 0), 2);
	shutdown(a, SHUT_WR);
	assert_true(run_until_readable(eng, be));
	assert_int_equal(recv(be, buf, 8, 0), 2);
	assert_memory_equal(buf, "hi", 2);
	/* the client's EOF reached the backend once the data was written */
	assert_true(run_until_readable(eng, be));
	assert_int_equal(recv(be, buf, 8, 0), 0);
	/* s read EOF but fed t, whose peer may still answer: s stays */
	usm__engine_run_once(eng, 10);
	assert_int_equal(usm__engine_sock_stats(eng, ss, &st), 0);
	assert_true(st.eof);
	assert_int_equal(st.redirect, 1);
	assert_int_equal(usm__engine_sock_stats(eng, ts, &st), 0);
	assert_int_equal(st.bytes_out, 2);
	/* the backend closes: t goes (EOF, write side shut), then s (all it
	 * fed is closed); the client sees EOF; both left their maps */
	close(be);
	assert_true(run_until_readable(eng, a));
	assert_int_equal(recv(a, buf, 8, 0), 0);
	assert_int_equal(usm__engine_sock_stats(eng, ts, &st), -ENOENT);
	assert_int_equal(usm__engine_sock_stats(eng, ss, &st), -ENOENT);
	assert_int_equal(usm__sock_nlinks(ss), 0); /* LIFE-01 on close */
	assert_int_equal(usm__sock_nlinks(ts), 0);
	usm__sock_put(ss);
	usm__sock_put(ts);
	usm__engine_adopt_psocks(NULL);
	usm__engine_free(eng);
	close(a);
	usm_object_close(obj);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chunk_queue),
		cmocka_unit_test(test_loop_fd_watch_and_stop),
		cmocka_unit_test(test_add_del_sock),
		cmocka_unit_test(test_owned_eof_policy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
