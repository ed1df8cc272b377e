/* SPDX-License-Identifier: MIT */
/*
 * The stream parser's flow control and robustness: the same stream fed
 * in one piece, byte by byte and in pseudo-random chunks frames the same
 * messages (SKB-01/02/05/06); a message of many MiB; the message timeout
 * (SKB-04 ETIMEDOUT); pause/resume (backpressure); stop, abort, feed and
 * resume called from inside rcv_msg (must be safe: run under ASan).
 */
#include "strpt.h"

/* A stream of @n length-prefixed messages (first byte = total length,
 * 2..200), into @buf; returns its length. */
static size_t make_stream(uint8_t *buf, size_t n)
{
	size_t i, j, off = 0;

	for (i = 0; i < n; i++) {
		size_t len = 2 + (i * 37) % 199;

		buf[off] = (uint8_t)len;
		for (j = 1; j < len; j++)
			buf[off + j] = (uint8_t)(i + j);
		off += len;
	}
	return off;
}

static void check_stream(const struct strpt *t, const uint8_t *buf,
			 size_t n)
{
	size_t i, off = 0;

	assert_int_equal(t->nmsg, n);
	for (i = 0; i < n; i++) {
		assert_int_equal(t->msgs[i].msg_len, buf[off]);
		assert_memory_equal(strpt_msg(t, i), buf + off, buf[off]);
		off += buf[off];
	}
	assert_int_equal(usm__strp_buffered(&t->strp), 0);
}

/* SKB-01/02/05/06: framing does not depend on how the bytes arrive. */
static void test_chunking_invariance(void **state)
{
	static uint8_t buf[300 * 200];
	size_t len = make_stream(buf, 300), off, step;
	struct strpt *t;
	uint32_t seed = 12345;

	t = strpt_new(STRPT_PREFIX, 0, 0, 0);
	strpt_feed_ok(t, buf, len);
	check_stream(t, buf, 300);
	assert_int_equal(t->nparse, 300);
	strpt_free(t);

	t = strpt_new(STRPT_PREFIX, 0, 0, 0);
	for (off = 0; off < len; off++)
		strpt_feed_ok(t, buf + off, 1);
	check_stream(t, buf, 300);
	/* byte by byte: one parse per message (its first byte has the
	 * length, SKB-01 then waits without parsing) */
	assert_int_equal(t->nparse, 300);
	strpt_free(t);

	t = strpt_new(STRPT_PREFIX, 0, 0, 0);
	for (off = 0; off < len; off += step) {
		seed = seed * 1103515245u + 12345u;
		step = 1 + (seed >> 16) % 700;
		if (step > len - off)
			step = len - off;
		strpt_feed_ok(t, buf + off, step);
	}
	check_stream(t, buf, 300);
	strpt_free(t);
}

/* Byte-at-a-time with a parser that needs a 4-byte header (0 until
 * then): SKB-02 re-parse on each byte, then SKB-01 wait. */
static void test_byte_at_a_time_header(void **state)
{
	static const int script[] = { 0, 0, 0, 12 };
	struct strpt *t = strpt_new(STRPT_SCRIPT, 0, 0, 0);
	const char *m = "HDR:payload!";
	size_t i;

	t->script = script;
	t->nscript = 4;
	for (i = 0; i < 12; i++)
		strpt_feed_ok(t, m + i, 1);
	assert_int_equal(t->nparse, 4);
	for (i = 0; i < 4; i++)
		assert_int_equal(t->parses[i].len, i + 1);
	assert_int_equal(t->nmsg, 1);
	strpt_assert_msg(t, 0, m);
	strpt_free(t);
}

/* A 12 MiB message in 64 KiB chunks: parsed once, delivered whole; the
 * large buffer is released afterwards. */
static void test_huge_message(void **state)
{
	const size_t total = 12u << 20, chunk = 64u << 10;
	struct strpt *t = strpt_new(STRPT_FIXED, (int)total, 16u << 20, 0);
	uint8_t *buf = malloc(total);
	size_t i;

	assert_non_null(buf);
	for (i = 0; i < total; i++)
		buf[i] = (uint8_t)(i * 7 + (i >> 12));
	for (i = 0; i < total; i += chunk)
		strpt_feed_ok(t, buf + i, chunk);
	assert_int_equal(t->nparse, 1);
	assert_int_equal(t->nmsg, 1);
	assert_int_equal(t->msgs[0].msg_len, total);
	assert_memory_equal(strpt_msg(t, 0), buf, total);
	assert_int_equal(t->strp.cap, 0);
	assert_null(t->strp.buf);
	free(buf);
	strpt_free(t);
}

/* SKB-04: ETIMEDOUT when a message is not complete within the timeout;
 * the timer starts with the message's first bytes and is not restarted
 * by later ones. */
static void test_skb04_timeout(void **state)
{
	struct strpt *t = strpt_new(STRPT_FIXED, 10, 0, 1000);

	t->now = 5000;
	strpt_feed_str(t, "abc");
	assert_int_equal(usm__strp_deadline(&t->strp), 6000);
	t->now = 5900;
	strpt_feed_str(t, "def");
	assert_int_equal(usm__strp_deadline(&t->strp), 6000);
	assert_int_equal(usm__strp_check_timeout(&t->strp, 5999), 0);
	assert_int_equal(t->aborts, 0);
	assert_int_equal(usm__strp_check_timeout(&t->strp, 6000), -ETIMEDOUT);
	assert_int_equal(t->aborts, 1);
	assert_int_equal(t->abort_err, -ETIMEDOUT);
	assert_int_equal(usm__strp_error(&t->strp), -ETIMEDOUT);
	assert_int_equal(usm__strp_buffered(&t->strp), 0);
	assert_int_equal(usm__strp_deadline(&t->strp), 0);
	assert_int_equal(usm__strp_check_timeout(&t->strp, 9999), 0);
	assert_int_equal(t->aborts, 1);
	assert_int_equal(usm__strp_feed(&t->strp, "x", 1), -ETIMEDOUT);
	assert_int_equal(t->strp.stats.timeouts, 1);
	strpt_free(t);
}

/* SKB-04: a completed message cancels the timer; the next partial
 * message starts its own; no timeout configured = no deadline. */
static void test_skb04_timeout_rearm(void **state)
{
	struct strpt *t = strpt_new(STRPT_FIXED, 4, 0, 100);
	struct strpt *u = strpt_new(STRPT_FIXED, 4, 0, 0);

	t->now = 10;
	strpt_feed_str(t, "ab");
	assert_int_equal(usm__strp_deadline(&t->strp), 110);
	t->now = 50;
	strpt_feed_str(t, "cd");
	assert_int_equal(usm__strp_deadline(&t->strp), 0);
	t->now = 70;
	strpt_feed_str(t, "efghi"); /* one message, "i" waits */
	assert_int_equal(t->nmsg, 2);
	assert_int_equal(usm__strp_deadline(&t->strp), 170);
	assert_int_equal(usm__strp_check_timeout(&t->strp, 169), 0);
	strpt_feed_str(t, "jkl");
	assert_int_equal(usm__strp_deadline(&t->strp), 0);
	assert_int_equal(usm__strp_check_timeout(&t->strp, 1000), 0);
	assert_int_equal(t->aborts, 0);
	strpt_feed_str(u, "ab");
	assert_int_equal(usm__strp_deadline(&u->strp), 0);
	strpt_free(t);
	strpt_free(u);
}

/* Backpressure: pausing in rcv_msg stops delivery after that message;
 * bytes fed while paused are kept; resume delivers them in order. */
static void test_pause_resume(void **state)
{
	struct strpt *t = strpt_new(STRPT_FIXED, 2, 0, 0);
	struct usm_strp_stats st;

	t->pause_at = 2;
	strpt_feed_str(t, "aabbccdde");
	assert_int_equal(t->nmsg, 2);
	assert_true(usm__strp_paused(&t->strp));
	assert_int_equal(usm__strp_buffered(&t->strp), 5);
	strpt_feed_str(t, "eff");
	assert_int_equal(t->nmsg, 2);
	assert_int_equal(usm__strp_buffered(&t->strp), 8);
	assert_int_equal(usm__strp_resume(&t->strp), 0);
	assert_false(usm__strp_paused(&t->strp));
	assert_int_equal(t->nmsg, 6);
	strpt_assert_msg(t, 2, "cc");
	strpt_assert_msg(t, 3, "dd");
	strpt_assert_msg(t, 4, "ee");
	strpt_assert_msg(t, 5, "ff");
	usm__strp_get_stats(&t->strp, &st);
	assert_int_equal(st.msgs, 6);
	assert_int_equal(st.bytes, 12);
	assert_int_equal(st.buffered, 0);
	strpt_free(t);
}

/* Pause between feeds, then resume pauses again from rcv_msg. */
static void test_pause_outside_and_again(void **state)
{
	struct strpt *t = strpt_new(STRPT_FIXED, 1, 0, 0);

	usm__strp_pause(&t->strp);
	strpt_feed_str(t, "abcd");
	assert_int_equal(t->nparse, 0);
	t->pause_at = 3;
	assert_int_equal(usm__strp_resume(&t->strp), 0);
	assert_int_equal(t->nmsg, 3);
	assert_int_equal(usm__strp_buffered(&t->strp), 1);
	assert_int_equal(usm__strp_resume(&t->strp), 0);
	assert_int_equal(t->nmsg, 4);
	strpt_assert_msg(t, 3, "d");
	assert_int_equal(usm__strp_resume(&t->strp), 0); /* not paused */
	strpt_free(t);
}

/* Paused exactly at the end of the fed data: what comes while paused is a
 * new segment (SKB-07 view starts there). */
static void test_pause_at_segment_end(void **state)
{
	struct strpt *t = strpt_new(STRPT_FIXED, 2, 0, 0);

	t->pause_at = 1;
	strpt_feed_str(t, "aa");
	assert_true(usm__strp_paused(&t->strp));
	assert_int_equal(usm__strp_buffered(&t->strp), 0);
	strpt_feed_str(t, "bbc");
	assert_int_equal(t->nmsg, 1);
	assert_int_equal(usm__strp_resume(&t->strp), 0);
	assert_int_equal(t->nmsg, 2);
	strpt_assert_msg(t, 1, "bb");
	assert_int_equal(t->msgs[1].off, 0);
	assert_int_equal(t->msgs[1].len, 3);
	assert_int_equal(usm__strp_buffered(&t->strp), 1);
	assert_int_equal(t->parses[2].off, 2);
	assert_int_equal(t->parses[2].len, 3);
	strpt_free(t);
}

/* Feed and resume from a callback are refused; nothing changes. */
static void test_reentry_refused(void **state)
{
	struct strpt *t = strpt_new(STRPT_FIXED, 2, 0, 0);

	t->feed_at = 1;
	strpt_feed_str(t, "aabb");
	assert_int_equal(t->inner_rc, -EBUSY);
	assert_int_equal(t->nmsg, 2);
	t->resume_at = 3;
	t->inner_rc = 0;
	strpt_feed_str(t, "cc");
	assert_int_equal(t->inner_rc, -EBUSY);
	assert_int_equal(t->strp.stats.bytes, 6);
	strpt_free(t);
}

/* Stop from rcv_msg, in place (direct) and from the buffer: nothing more
 * is delivered, no abort callback, later feeds are refused. */
static void test_stop_inside_rcv(void **state)
{
	struct strpt *t = strpt_new(STRPT_FIXED, 2, 0, 0);
	struct strpt *u = strpt_new(STRPT_FIXED, 2, 0, 0);

	t->stop_at = 1;
	strpt_feed_str(t, "aabbccd");
	assert_int_equal(t->nmsg, 1);
	assert_true(usm__strp_stopped(&t->strp));
	assert_int_equal(t->aborts, 0);
	assert_int_equal(usm__strp_error(&t->strp), 0);
	assert_int_equal(usm__strp_feed(&t->strp, "x", 1), -ESHUTDOWN);
	assert_null(t->strp.buf);

	u->stop_at = 2;
	strpt_feed_str(u, "a");
	strpt_feed_str(u, "abbcc");
	assert_int_equal(u->nmsg, 2);
	strpt_assert_msg(u, 1, "bb");
	assert_int_equal(usm__strp_buffered(&u->strp), 0);
	assert_null(u->strp.buf);
	assert_int_equal(usm__strp_resume(&u->strp), 0);
	usm__strp_stop(&u->strp); /* idempotent */
	strpt_free(t);
	strpt_free(u);
}

/* Abort from rcv_msg: abort callback once with the error, bytes gone. */
static void test_abort_inside_rcv(void **state)
{
	struct strpt *t = strpt_new(STRPT_FIXED, 3, 0, 0);

	t->abort_at = 1;
	strpt_feed_str(t, "ab");
	strpt_feed_str(t, "cdefg");
	assert_int_equal(t->nmsg, 1);
	strpt_assert_msg(t, 0, "abc");
	assert_int_equal(t->aborts, 1);
	assert_int_equal(t->abort_err, -ENOMEM);
	assert_int_equal(usm__strp_error(&t->strp), -ENOMEM);
	assert_null(t->strp.buf);
	usm__strp_abort(&t->strp, -EIO); /* no-op once stopped */
	assert_int_equal(t->aborts, 1);
	strpt_free(t);
}

/* Stop from outside with a partial message buffered; a paused parser
 * stops too. */
static void test_stop_outside(void **state)
{
	struct strpt *t = strpt_new(STRPT_FIXED, 5, 0, 100);

	strpt_feed_str(t, "abc");
	assert_int_equal(usm__strp_buffered(&t->strp), 3);
	usm__strp_pause(&t->strp);
	usm__strp_stop(&t->strp);
	assert_false(usm__strp_paused(&t->strp));
	assert_int_equal(usm__strp_buffered(&t->strp), 0);
	assert_int_equal(usm__strp_deadline(&t->strp), 0);
	usm__strp_pause(&t->strp);
	assert_false(usm__strp_paused(&t->strp));
	assert_int_equal(t->aborts, 0);
	strpt_free(t);
}

/* A buffer that cannot grow aborts with -ENOMEM (abort callback, bytes
 * dropped); the caller's bytes are not read. */
static void test_enomem_aborts(void **state)
{
	struct strpt *t = strpt_new(STRPT_FIXED, 10, 0, 0);

	strpt_feed_str(t, "abc");
	assert_int_equal(usm__strp_feed(&t->strp, "x", SIZE_MAX / 2), -ENOMEM);
	assert_int_equal(t->aborts, 1);
	assert_int_equal(t->abort_err, -ENOMEM);
	assert_int_equal(usm__strp_error(&t->strp), -ENOMEM);
	assert_int_equal(usm__strp_buffered(&t->strp), 0);
	assert_null(t->strp.buf);
	assert_int_equal(usm__strp_feed(&t->strp, "x", 1), -ENOMEM);
	assert_int_equal(t->nmsg, 0);
	assert_int_equal(t->strp.stats.bytes, 3);
	strpt_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chunking_invariance),
		cmocka_unit_test(test_byte_at_a_time_header),
		cmocka_unit_test(test_huge_message),
		cmocka_unit_test(test_skb04_timeout),
		cmocka_unit_test(test_skb04_timeout_rearm),
		cmocka_unit_test(test_pause_resume),
		cmocka_unit_test(test_pause_outside_and_again),
		cmocka_unit_test(test_pause_at_segment_end),
		cmocka_unit_test(test_reentry_refused),
		cmocka_unit_test(test_stop_inside_rcv),
		cmocka_unit_test(test_abort_inside_rcv),
		cmocka_unit_test(test_stop_outside),
		cmocka_unit_test(test_enomem_aborts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
