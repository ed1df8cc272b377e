/* SPDX-License-Identifier: MIT */
/*
 * Parser + stream verdict mode through the engine (PSK-05 RX_STRP): only
 * complete messages become readable (RECV-05), exactly the message is
 * delivered or redirected, a parser error aborts the stream with that
 * error (SKB-03). Compared with the kernel where it can run.
 */
#include "rx_fix.h"

#define SP BPF_SK_SKB_STREAM_PARSER
#define SV BPF_SK_SKB_STREAM_VERDICT

static void strp_fionread(int c, int s, bool usm)
{
	char buf[16];
	int n = -1;

	assert_int_equal(send(c, "\x03" "ab", 3, 0), 3);
	rx_settle();
	assert_int_equal(usm ? usm_ioctl_fionread(s, &n)
			     : ioctl(s, FIONREAD, &n), 0);
	assert_int_equal(n, 0); /* incomplete: nothing readable */
	assert_int_equal(send(c, "c", 1, 0), 1);
	rx_settle();
	/* A message starting inside a buffer is parsed from that buffer's
	 * first byte in the kernel (SKB-07/08): start it in its own send. */
	assert_int_equal(send(c, "\x02" "de", 3, 0), 3);
	rx_settle();
	assert_int_equal(usm ? usm_ioctl_fionread(s, &n)
			     : ioctl(s, FIONREAD, &n), 0);
	if (n != 7)
		fail_msg("%s: FIONREAD %d", usm ? "usm" : "kernel", n);
	assert_int_equal(usm ? usm_recv(s, buf, 16, 0) : recv(s, buf, 16, 0),
			 7);
	assert_memory_equal(buf, "\x03" "abc\x02" "de", 7);
}

static void test_strp_pass_RECV05(void **state)
{
	struct rxf f;
	int c, s;

	(void)state;
	rxf_open(&f);
	rxf_attach(&f, f.map, "rx_parse_hdr", SP);
	rxf_attach(&f, f.map, "rx_pass", SV);
	rk_pair(RK_TCP4, &c, &s);
	assert_int_equal(rxf_put(f.map, 0, s), 0);
	strp_fionread(c, s, true);
	usm_close(s);
	close(c);
	if (!rxf_kopen(&f)) {
		rxf_kattach(&f, f.kmap, "rx_parse_hdr", SP);
		rxf_kattach(&f, f.kmap, "rx_pass", SV);
		rk_pair(RK_TCP4, &c, &s);
		assert_int_equal(rxf_kput(f.kmap, 0, s), 0);
		strp_fionread(c, s, false);
		close(s);
		close(c);
	}
	rxf_close(&f);
}

/* Framed messages redirected to egress arrive whole and in order. */
static void test_strp_redirect_SKB15(void **state)
{
	struct rxf f;
	char buf[64];
	size_t got = 0;
	int c, s, t, tp;
	ssize_t n;

	(void)state;
	rxf_open(&f);
	rxf_attach(&f, f.map, "rx_parse_hdr", SP);
	rxf_attach(&f, f.map, "rx_redir_map", SV);
	rk_pair(RK_TCP4, &c, &s);
	rk_pair(RK_TCP4, &tp, &t);
	assert_int_equal(rxf_put(f.map, 0, s), 0);
	assert_int_equal(rxf_put(f.map, 1, t), 0);
	rxf_cfg(&f, 1, 0);
	assert_int_equal(send(c, "\x02" "ab\x01" "c\x03" "de", 8, 0), 8);
	assert_int_equal(send(c, "f", 1, 0), 1);
	while (got < 9 && rx_wait(tp, 2000)) {
		n = recv(tp, buf + got, sizeof(buf) - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	assert_int_equal(got, 9);
	assert_memory_equal(buf, "\x02" "ab\x01" "c\x03" "def", 9);
	usm_close(s);
	usm_close(t);
	close(c);
	close(tp);
	rxf_close(&f);
}

static void strp_err(int c, int s, bool usm)
{
	char buf[8];

	assert_int_equal(send(c, "zz", 2, 0), 2);
	assert_true(rx_wait(usm ? usm_sock_poll_fd(s) : s, 2000));
	int e = 0;
	socklen_t el = sizeof(e);

	errno = 0;
	if (usm) {
		/* the error once (no real SO_ERROR to set), then EAGAIN */
		assert_int_equal(usm_recv(s, buf, 8, MSG_DONTWAIT), -1);
		assert_int_equal(errno, EPROTO);
		assert_int_equal(usm_recv(s, buf, 8, 0), -1);
		assert_int_equal(errno, EAGAIN);
		return;
	}
	/* kernel: the unparsed bytes stay queued: EAGAIN; SO_ERROR holds
	 * the parser's error */
	assert_int_equal(recv(s, buf, 8, MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &el), 0);
	assert_int_equal(e, EPROTO);
}

/* SKB-03: a negative parser result aborts the stream for good with that
 * error on the socket; the socket stays readable, recv answers EAGAIN. */
static void test_strp_parser_error_SKB03(void **state)
{
	struct rxf f;
	int c, s;

	(void)state;
	rxf_open(&f);
	rxf_attach(&f, f.map, "rx_parse_err", SP);
	rxf_attach(&f, f.map, "rx_pass", SV);
	rk_pair(RK_TCP4, &c, &s);
	assert_int_equal(rxf_put(f.map, 0, s), 0);
	strp_err(c, s, true);
	usm_close(s);
	close(c);
	if (!rxf_kopen(&f)) {
		rxf_kattach(&f, f.kmap, "rx_parse_err", SP);
		rxf_kattach(&f, f.kmap, "rx_pass", SV);
		rk_pair(RK_TCP4, &c, &s);
		assert_int_equal(rxf_kput(f.kmap, 0, s), 0);
		strp_err(c, s, false);
		close(s);
		close(c);
	}
	rxf_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strp_pass_RECV05),
		cmocka_unit_test(test_strp_redirect_SKB15),
		cmocka_unit_test(test_strp_parser_error_SKB03),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
