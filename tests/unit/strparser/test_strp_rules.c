/* SPDX-License-Identifier: MIT */
/*
 * The stream parser's framing rules (SEMANTICS SKB-01..08, SKB-04's
 * EMSGSIZE, the kernel's EPROTO and ESTRPIPE cases): exact message bounds
 * and bytes, the views parse() and rcv_msg() get (segment, offset, length
 * as the kernel's strparser head skb), and how often parse() runs.
 */
#include "strpt.h"

/* SKB-01: N beyond buffered waits without re-running the parser. */
static void test_skb01_wait_without_reparse(void **state)
{
	struct strpt *t = strpt_new(STRPT_FIXED, 10, 0, 0);

	strpt_feed_str(t, "abc");
	assert_int_equal(t->nparse, 1);
	assert_int_equal(usm__strp_need(&t->strp), 7);
	assert_int_equal(usm__strp_buffered(&t->strp), 3);
	strpt_feed_str(t, "def");
	assert_int_equal(usm__strp_need(&t->strp), 4);
	strpt_feed_str(t, "ghi");
	assert_int_equal(t->nparse, 1);
	assert_int_equal(t->nmsg, 0);
	strpt_feed_str(t, "jXY");
	assert_int_equal(t->nmsg, 1);
	strpt_assert_msg(t, 0, "abcdefghij");
	/* the next message starts with the 2 bytes left over (SKB-06) */
	assert_int_equal(t->nparse, 2);
	assert_int_equal(usm__strp_buffered(&t->strp), 2);
	assert_int_equal(usm__strp_need(&t->strp), 8);
	strpt_free(t);
}

/* SKB-02: 0 = need more; parse() re-runs on the accumulated bytes. */
static void test_skb02_need_more_reparses(void **state)
{
	struct strpt *t = strpt_new(STRPT_PREFIX, 0, 0, 0);

	/* first byte 0 means "no length yet" to this parser */
	strpt_feed_ok(t, "\0", 1);
	assert_int_equal(t->nparse, 1);
	assert_int_equal(t->parses[0].len, 1);
	strpt_feed_ok(t, "ab", 2);
	assert_int_equal(t->nparse, 2);
	assert_int_equal(t->parses[1].len, 3); /* whole accumulation */
	assert_int_equal(t->parses[1].off, 0);
	assert_memory_equal(t->parses[1].bytes, "\0ab", 3);
	assert_int_equal(t->nmsg, 0);
	assert_int_equal(usm__strp_need(&t->strp), 0);
	strpt_free(t);
}

/* SKB-02: with no new bytes (resume) parse() is not called again. */
static void test_skb02_no_reparse_without_new_bytes(void **state)
{
	struct strpt *t = strpt_new(STRPT_FIXED, 0, 0, 0);

	strpt_feed_str(t, "abcd");
	usm__strp_pause(&t->strp);
	assert_int_equal(usm__strp_resume(&t->strp), 0);
	assert_int_equal(t->nparse, 1);
	t->fixed = 6;
	strpt_feed_str(t, "ef");
	assert_int_equal(t->nparse, 2);
	assert_int_equal(t->nmsg, 1);
	strpt_assert_msg(t, 0, "abcdef");
	strpt_free(t);
}

/* SKB-03: a negative return aborts for good with that value. */
static void test_skb03_negative_aborts(void **state)
{
	static const int script[] = { 5, -1 };
	struct strpt *t = strpt_new(STRPT_SCRIPT, 0, 0, 0);

	t->script = script;
	t->nscript = 2;
	strpt_feed_str(t, "hello world");
	assert_int_equal(t->nmsg, 1);
	strpt_assert_msg(t, 0, "hello");
	assert_int_equal(t->aborts, 1);
	assert_int_equal(t->abort_err, -1);
	assert_int_equal(usm__strp_error(&t->strp), -1);
	assert_true(usm__strp_stopped(&t->strp));
	assert_int_equal(usm__strp_buffered(&t->strp), 0);
	/* later data is refused with the stored error, no callbacks */
	assert_int_equal(usm__strp_feed(&t->strp, "more", 4), -1);
	assert_int_equal(t->nparse, 2);
	assert_int_equal(t->aborts, 1);
	strpt_free(t);
}

/* SKB-03: any negative value is the error (e.g. -EBADMSG). */
static void test_skb03_error_value_kept(void **state)
{
	struct strpt *t = strpt_new(STRPT_FIXED, -EBADMSG, 0, 0);

	strpt_feed_str(t, "x");
	assert_int_equal(t->abort_err, -EBADMSG);
	assert_int_equal(usm__strp_error(&t->strp), -EBADMSG);
	assert_int_equal(usm__strp_feed(&t->strp, "y", 1), -EBADMSG);
	strpt_free(t);
}

/* strparser.c: -ESTRPIPE after bytes accumulated becomes -ENODATA; on the
 * first call it stays. */
static void test_skb03_estrpipe(void **state)
{
	static const int script[] = { 0, -86 };
	struct strpt *t = strpt_new(STRPT_SCRIPT, 0, 0, 0);
	struct strpt *u = strpt_new(STRPT_FIXED, -86, 0, 0);

	t->script = script;
	t->nscript = 2;
	strpt_feed_str(t, "a");
	strpt_feed_str(t, "b");
	assert_int_equal(t->abort_err, -ENODATA);
	strpt_feed_str(u, "a");
	assert_int_equal(u->abort_err, -86);
	strpt_free(t);
	strpt_free(u);
}

/* SKB-04: length > limit (SO_RCVBUF) aborts with EMSGSIZE; = limit is
 * fine. */
static void test_skb04_emsgsize(void **state)
{
	struct strpt *t = strpt_new(STRPT_FIXED, 101, 100, 0);
	struct strpt *u = strpt_new(STRPT_FIXED, 100, 100, 0);
	struct usm_strp_stats st;
	uint8_t buf[100];

	memset(buf, 'z', sizeof(buf));
	strpt_feed_ok(t, buf, 10);
	assert_int_equal(t->aborts, 1);
	assert_int_equal(t->abort_err, -EMSGSIZE);
	usm__strp_get_stats(&t->strp, &st);
	assert_int_equal(st.msg_too_big, 1);
	strpt_feed_ok(u, buf, 60);
	strpt_feed_ok(u, buf, 40);
	assert_int_equal(u->aborts, 0);
	assert_int_equal(u->nmsg, 1);
	assert_int_equal(u->msgs[0].msg_len, 100);
	strpt_free(t);
	strpt_free(u);
}

/* SKB-04: a parser that never decides is refused once it holds more than
 * the limit (any later length would be refused anyway). */
static void test_skb04_need_more_beyond_limit(void **state)
{
	struct strpt *t = strpt_new(STRPT_FIXED, 0, 8, 0);

	strpt_feed_str(t, "12345678");
	assert_int_equal(t->aborts, 0);
	strpt_feed_str(t, "9");
	assert_int_equal(t->abort_err, -EMSGSIZE);
	strpt_free(t);
}

/* SKB-04: the limit can change (SO_RCVBUF set later). */
static void test_skb04_set_limit(void **state)
{
	struct strpt *t = strpt_new(STRPT_FIXED, 50, 40, 0);

	usm__strp_set_limit(&t->strp, 50);
	strpt_feed_str(t, "a");
	assert_int_equal(t->aborts, 0);
	assert_int_equal(usm__strp_need(&t->strp), 49);
	strpt_free(t);
}

/* strparser.c: a length not beyond what an earlier call saw -> EPROTO. */
static void test_eproto_length_within_seen(void **state)
{
	static const int script[] = { 0, 4 };
	static const int script2[] = { 0, 5, 0 };
	struct strpt *t = strpt_new(STRPT_SCRIPT, 0, 0, 0);
	struct strpt *u = strpt_new(STRPT_SCRIPT, 0, 0, 0);

	t->script = script;
	t->nscript = 2;
	strpt_feed_str(t, "abcd");
	strpt_feed_str(t, "ef");
	assert_int_equal(t->abort_err, -EPROTO);
	assert_int_equal(t->nmsg, 0);
	u->script = script2;
	u->nscript = 3;
	strpt_feed_str(u, "abcd");
	strpt_feed_str(u, "ef");
	assert_int_equal(u->aborts, 0);
	strpt_assert_msg(u, 0, "abcde");
	strpt_free(t);
	strpt_free(u);
}

/* SKB-05: 100 x 10-byte messages in one feed: 100 messages in order. */
static void test_skb05_many_in_one_feed(void **state)
{
	struct strpt *t = strpt_new(STRPT_FIXED, 10, 0, 0);
	uint8_t buf[1000];
	size_t i;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i / 10);
	strpt_feed_ok(t, buf, sizeof(buf));
	assert_int_equal(t->nmsg, 100);
	assert_int_equal(t->nparse, 100);
	for (i = 0; i < 100; i++) {
		uint8_t want[10];

		memset(want, (int)i, sizeof(want));
		assert_int_equal(t->msgs[i].msg_len, 10);
		assert_memory_equal(strpt_msg(t, i), want, 10);
		/* SKB-07: the program sees the whole segment */
		assert_int_equal(t->msgs[i].len, 1000);
		assert_int_equal(t->msgs[i].off, 10 * i);
		assert_int_equal(t->parses[i].off, 10 * i);
	}
	assert_int_equal(usm__strp_buffered(&t->strp), 0);
	strpt_free(t);
}

/* SKB-06: parser fixed at 3 on a 4-byte write: 3 delivered, 1 waits and
 * starts the next message. */
static void test_skb06_remainder_starts_next(void **state)
{
	struct strpt *t = strpt_new(STRPT_FIXED, 3, 0, 0);

	strpt_feed_str(t, "abcd");
	assert_int_equal(t->nmsg, 1);
	strpt_assert_msg(t, 0, "abc");
	assert_int_equal(usm__strp_buffered(&t->strp), 1);
	assert_int_equal(t->nparse, 2);
	assert_int_equal(t->parses[1].off, 3);
	assert_int_equal(t->parses[1].len, 4);
	assert_memory_equal(t->parses[1].bytes, "abcd", 4);
	strpt_feed_str(t, "ef");
	assert_int_equal(t->nmsg, 2);
	strpt_assert_msg(t, 1, "def");
	/* kernel head: first skb (from its start) + the appended one */
	assert_int_equal(t->msgs[1].len, 6);
	assert_int_equal(t->msgs[1].off, 3);
	assert_memory_equal(t->msgs[1].bytes, "abcdef", 6);
	strpt_free(t);
}

/* SKB-07: views extend past the message; exactly the message is given as
 * the message (fixed 20 on a 30-byte write). */
static void test_skb07_view_beyond_message(void **state)
{
	struct strpt *t = strpt_new(STRPT_FIXED, 20, 0, 0);
	const char *a = "0123456789abcdefghijKLMNOPQRST";

	strpt_feed_str(t, a);
	assert_int_equal(t->nmsg, 1);
	assert_int_equal(t->msgs[0].len, 30);
	assert_int_equal(t->msgs[0].off, 0);
	assert_int_equal(t->msgs[0].msg_len, 20);
	assert_memory_equal(t->msgs[0].bytes, a, 30);
	strpt_feed_str(t, "UVWXYZuvwx");
	assert_int_equal(t->nmsg, 2);
	strpt_assert_msg(t, 1, "KLMNOPQRSTUVWXYZuvwx");
	assert_int_equal(t->msgs[1].len, 40);
	assert_int_equal(t->msgs[1].off, 20);
	assert_memory_equal(t->msgs[1].bytes, a, 30);
	strpt_free(t);
}

/* SKB-07: a message that starts inside a later segment sees that segment
 * from its start, not the earlier one. */
static void test_skb07_segment_of_next_message(void **state)
{
	struct strpt *t = strpt_new(STRPT_FIXED, 20, 0, 0);

	strpt_feed_str(t, "AAAAAAAAAAAAAAA");       /* 15 */
	strpt_feed_str(t, "BBBBBCCCCCCCCCC");       /* 15: msg 1 ends at 20 */
	assert_int_equal(t->nmsg, 1);
	assert_int_equal(t->msgs[0].len, 30);
	assert_int_equal(t->nparse, 2);
	assert_int_equal(t->parses[1].len, 15);
	assert_int_equal(t->parses[1].off, 5);
	assert_memory_equal(t->parses[1].bytes, "BBBBBCCCCCCCCCC", 15);
	strpt_feed_str(t, "CCCCCCCCCC");
	assert_int_equal(t->nmsg, 2);
	strpt_assert_msg(t, 1, "CCCCCCCCCCCCCCCCCCCC");
	assert_int_equal(t->msgs[1].off, 5);
	assert_int_equal(t->msgs[1].len, 25);
	assert_int_equal(usm__strp_buffered(&t->strp), 0);
	strpt_free(t);
}

/* SKB-08: returning skb->len frames along the fed segments. */
static void test_skb08_skblen_frames_segments(void **state)
{
	struct strpt *t = strpt_new(STRPT_SKBLEN, 0, 0, 0);

	strpt_feed_str(t, "abc");
	strpt_feed_str(t, "defgh");
	strpt_feed_str(t, "i");
	assert_int_equal(t->nmsg, 3);
	strpt_assert_msg(t, 0, "abc");
	strpt_assert_msg(t, 1, "defgh");
	strpt_assert_msg(t, 2, "i");
	assert_int_equal(t->nparse, 3);
	strpt_free(t);
}

/* SKB-08: chunks fed while the parser cannot run coalesce into one
 * segment, as unread data does in TCP's receive queue. */
static void test_skb08_paused_chunks_coalesce(void **state)
{
	struct strpt *t = strpt_new(STRPT_SKBLEN, 0, 0, 0);

	usm__strp_pause(&t->strp);
	strpt_feed_str(t, "abc");
	strpt_feed_str(t, "de");
	assert_int_equal(t->nparse, 0);
	assert_int_equal(usm__strp_buffered(&t->strp), 5);
	assert_int_equal(usm__strp_resume(&t->strp), 0);
	assert_int_equal(t->nmsg, 1);
	strpt_assert_msg(t, 0, "abcde");
	strpt_free(t);
}

/* SKB-08 note: chunks that arrive while a known-length message waits
 * form one segment with the chunk that completes it. */
static void test_skb08_waiting_chunks_coalesce(void **state)
{
	struct strpt *t = strpt_new(STRPT_FIXED, 6, 0, 0);

	strpt_feed_str(t, "ab");   /* parsed: 6, wait */
	strpt_feed_str(t, "cd");   /* no parse */
	strpt_feed_str(t, "efGH"); /* completes; GH starts in "cdefGH" */
	assert_int_equal(t->nmsg, 1);
	strpt_assert_msg(t, 0, "abcdef");
	assert_int_equal(t->nparse, 2);
	assert_int_equal(t->parses[1].len, 6);
	assert_int_equal(t->parses[1].off, 4);
	assert_memory_equal(t->parses[1].bytes, "cdefGH", 6);
	strpt_free(t);
}

static void test_init_errors(void **state)
{
	struct usm_strp s;
	struct usm_strp_cbs cbs = { strpt_parse, strpt_rcv, NULL, NULL, NULL };

	assert_int_equal(usm__strp_init(NULL, &cbs, 0, 0), -EINVAL);
	assert_int_equal(usm__strp_init(&s, NULL, 0, 0), -EINVAL);
	usm__strp_fini(&s);
	cbs.parse = NULL;
	assert_int_equal(usm__strp_init(&s, &cbs, 0, 0), -EINVAL);
	cbs.parse = strpt_parse;
	cbs.rcv_msg = NULL;
	assert_int_equal(usm__strp_init(&s, &cbs, 0, 0), -EINVAL);
	usm__strp_fini(&s);
	usm__strp_fini(NULL);
	cbs.rcv_msg = strpt_rcv;
	assert_int_equal(usm__strp_init(&s, &cbs, 0, 0), 0);
	assert_int_equal(s.limit, USM_STRP_DEFAULT_LIMIT);
	assert_int_equal(usm__strp_feed(&s, NULL, 1), -EINVAL);
	assert_int_equal(usm__strp_feed(&s, NULL, 0), 0);
	usm__strp_fini(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_skb01_wait_without_reparse),
		cmocka_unit_test(test_skb02_need_more_reparses),
		cmocka_unit_test(test_skb02_no_reparse_without_new_bytes),
		cmocka_unit_test(test_skb03_negative_aborts),
		cmocka_unit_test(test_skb03_error_value_kept),
		cmocka_unit_test(test_skb03_estrpipe),
		cmocka_unit_test(test_skb04_emsgsize),
		cmocka_unit_test(test_skb04_need_more_beyond_limit),
		cmocka_unit_test(test_skb04_set_limit),
		cmocka_unit_test(test_eproto_length_within_seen),
		cmocka_unit_test(test_skb05_many_in_one_feed),
		cmocka_unit_test(test_skb06_remainder_starts_next),
		cmocka_unit_test(test_skb07_view_beyond_message),
		cmocka_unit_test(test_skb07_segment_of_next_message),
		cmocka_unit_test(test_skb08_skblen_frames_segments),
		cmocka_unit_test(test_skb08_paused_chunks_coalesce),
		cmocka_unit_test(test_skb08_waiting_chunks_coalesce),
		cmocka_unit_test(test_init_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
