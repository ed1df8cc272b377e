/* SPDX-License-Identifier: MIT */
/*
 * Backpressure and memory bounds with an engine of our own (a small
 * max_queued_bytes, adopted for psocks, run on a test thread): a target
 * whose peer does not read makes the engine stop reading the source
 * (stats: paused, bounded queue; the sender eventually sees EAGAIN), and
 * once the slow reader drains, every byte arrives, in order (SKB-15/16:
 * the kernel defers, it does not drop). The same for a slow application
 * reading an ingress-redirected socket.
 */
#include "rx_fix.h"

#include <fcntl.h>
#include <pthread.h>

#include "../../src/engine/engine.h"
#include "../../src/sock/sock.h"

#define SV BPF_SK_SKB_STREAM_VERDICT
#define MAXQ (64u * 1024u)
/* A read event may queue up to 16 x 64 KiB before the pause takes. */
#define SLACK (16u * 64u * 1024u)

struct bp {
	struct usm_engine *eng;
	pthread_t th;
	struct rxf f;
	int c, s, t, tp;
};

static void *loop_thread(void *arg)
{
	usm__engine_run(arg, -1);
	return NULL;
}

static void bp_start(struct bp *b, uint32_t flags)
{
	struct usm_engine_opts o = { .sz = sizeof(o),
				     .max_queued_bytes = MAXQ };
	int small = 65536;

	assert_int_equal(usm__engine_new(&o, &b->eng), 0);
	usm__engine_adopt_psocks(b->eng);
	assert_int_equal(pthread_create(&b->th, NULL, loop_thread, b->eng),
			 0);
	rxf_open(&b->f);
	rxf_attach(&b->f, b->f.map, "rx_redir_map", SV);
	rk_pair(RK_TCP4, &b->c, &b->s);
	rk_pair(RK_TCP4, &b->tp, &b->t);
	setsockopt(b->tp, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	setsockopt(b->t, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	assert_int_equal(rxf_put(b->f.map, 0, b->s), 0);
	assert_int_equal(rxf_put(b->f.map, 1, b->t), 0);
	rxf_cfg(&b->f, 1, flags);
	fcntl(b->c, F_SETFL, O_NONBLOCK);
}

static void bp_stop(struct bp *b)
{
	usm__engine_stop(b->eng);
	pthread_join(b->th, NULL);
	usm_close(b->s);
	usm_close(b->t);
	close(b->c);
	close(b->tp);
	usm__engine_adopt_psocks(NULL);
	usm__engine_free(b->eng);
	rxf_close(&b->f);
}

/* Send a pattern until the sender is blocked for 300 ms (bounded). */
static size_t fill(int c)
{
	uint8_t buf[16384];
	size_t sent = 0, i;
	int idle = 0;
	ssize_t n;

	while (idle < 30 && sent < (64u << 20)) {
		for (i = 0; i < sizeof(buf); i++)
			buf[i] = (uint8_t)((sent + i) % 251);
		n = send(c, buf, sizeof(buf), 0);
		if (n > 0) {
			sent += (size_t)n;
			idle = 0;
		} else {
			idle++;
			usleep(10000);
		}
	}
	return sent;
}

static void stats_of(int fd, struct usm_engine *eng,
		     struct usm_engine_sock_stats *st)
{
	struct usm_sock *sk;

	assert_int_equal(usm__sock_from_fd(fd, 0, &sk), 0);
	assert_int_equal(usm__engine_sock_stats(eng, sk, st), 0);
	usm__sock_put(sk);
}

/* Read @want bytes of the pattern from @fd (usm_recv when @usm). */
static void drain(int fd, bool usm, size_t want)
{
	uint8_t buf[65536];
	size_t got = 0, i;
	ssize_t n;

	while (got < want) {
		if (!rx_wait(usm ? usm_sock_poll_fd(fd) : fd, 3000))
			fail_msg("stalled at %zu of %zu", got, want);
		n = usm ? usm_recv(fd, buf, sizeof(buf), MSG_DONTWAIT)
			: recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && errno == EAGAIN)
			continue;
		assert_true(n > 0);
		for (i = 0; i < (size_t)n; i++)
			if (buf[i] != (uint8_t)((got + i) % 251))
				fail_msg("byte %zu wrong", got + i);
		got += (size_t)n;
	}
	assert_int_equal(got, want);
}

static void slow_reader(uint32_t flags)
{
	struct usm_engine_sock_stats ss, ts;
	struct bp b;
	size_t sent;

	bp_start(&b, flags);
	sent = fill(b.c);
	stats_of(b.s, b.eng, &ss);
	stats_of(b.t, b.eng, &ts);
	assert_true(ss.paused);                 /* source paused */
	assert_true(ts.queued >= MAXQ);         /* target full ... */
	assert_true(ts.queued <= MAXQ + SLACK); /* ... and bounded */
	assert_true(sent > ts.queued);          /* the rest waits upstream */
	if (flags & BPF_F_INGRESS)
		drain(b.t, true, sent);
	else
		drain(b.tp, false, sent);
	stats_of(b.s, b.eng, &ss);
	assert_false(ss.paused);
	assert_int_equal(ss.bytes_in, sent);
	assert_int_equal(ss.drop, 0);
	bp_stop(&b);
}

static void test_slow_egress_peer_SKB15(void **state)
{
	(void)state;
	slow_reader(0);
}

static void test_slow_ingress_app_SKB16(void **state)
{
	(void)state;
	slow_reader(BPF_F_INGRESS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slow_egress_peer_SKB15),
		cmocka_unit_test(test_slow_ingress_app_SKB16),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
