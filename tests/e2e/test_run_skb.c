/* SPDX-License-Identifier: MIT */
/*
 * usm_prog_run() end to end on clang-compiled sk_skb programs
 * (tests/bpf/run_skb.bpf.c): verdict mapping (SKB-11..14), redirects with
 * real sockets at present and absent keys (SKB-17), data after the packet
 * helpers (SKB-22..28), context fields (SKB-20/21), parsers (SKB-01..03),
 * trace lines, repeat/budget, and bad input. With kernel BPF the same
 * object is attached to a kernel sockmap and real bytes are sent: where
 * the kernel delivered them and what they were must match usockmap's
 * verdict and data_out.
 */
#include "run_fix.h"

/* ---- sk_skb verdicts ---- */

/* SKB-11: SK_PASS without redirect passes; data unchanged. */
static void test_skb_pass_SKB11(void **state)
{
	struct run r;

	(void)state;
	run_init(&r, "hello", 5);
	assert_int_equal(run_go(&r, F.skb, "verdict_pass"), 0);
	assert_int_equal(r.res.retval, SK_PASS);
	assert_int_equal(r.res.verdict, USM_VERDICT_PASS);
	assert_false(r.res.redirected);
	assert_data(&r, "hello", 5);
	assert_string_equal(usm_verdict_str(r.res.verdict), "pass");
	run_fini(&r);
	kern_skb_expect("verdict_pass", "hello", 3, -1, KERN_AT_RECEIVER,
			"hello", 5);
}

/* SKB-12: SK_DROP and any other value drop. */
static void test_skb_drop_SKB12(void **state)
{
	struct run r;

	(void)state;
	run_init(&r, "hello", 5);
	assert_int_equal(run_go(&r, F.skb, "verdict_drop"), 0);
	assert_int_equal(r.res.retval, SK_DROP);
	assert_int_equal(r.res.verdict, USM_VERDICT_DROP);
	run_fini(&r);
	run_init(&r, "hello", 5);
	assert_int_equal(run_go(&r, F.skb, "verdict_other"), 0);
	assert_int_equal(r.res.retval, 7);
	assert_int_equal(r.res.verdict, USM_VERDICT_DROP);
	run_fini(&r);
	kern_skb_expect("verdict_drop", "hello", 3, -1, KERN_NOWHERE, NULL, 0);
	kern_skb_expect("verdict_other", "hello", 3, -1, KERN_NOWHERE, NULL,
			0);
}

/* SKB-17: redirect to a present key records it (verdict redirect). */
static void test_skb_redirect_present_SKB17(void **state)
{
	struct run r;
	uint32_t key;

	(void)state;
	run_init(&r, "1abc", 4);
	run_sock(&r, F.skb, "sock_map", 1);
	assert_int_equal(run_go(&r, F.skb, "verdict_redirect"), 0);
	assert_int_equal(r.res.retval, SK_PASS);
	assert_int_equal(r.res.verdict, USM_VERDICT_REDIRECT);
	assert_true(r.res.redirected);
	assert_string_equal(r.res.redirect_map, "sock_map");
	assert_int_equal(r.res.redirect_key_size, 4);
	memcpy(&key, r.res.redirect_key, 4);
	assert_int_equal(key, 1);
	assert_int_equal(r.res.redirect_flags, 0);
	run_fini(&r);
	kern_skb_expect("verdict_redirect", "1abc", 3, 1, KERN_AT_TARGET_PEER,
			"1abc", 4);
}

/* SKB-17: redirect to an absent key: the helper returns SK_DROP. */
static void test_skb_redirect_absent_SKB17(void **state)
{
	struct run r;

	(void)state;
	run_init(&r, "2abc", 4);
	run_sock(&r, F.skb, "sock_map", 1);
	assert_int_equal(run_go(&r, F.skb, "verdict_redirect"), 0);
	assert_int_equal(r.res.retval, SK_DROP);
	assert_int_equal(r.res.verdict, USM_VERDICT_DROP);
	assert_false(r.res.redirected);
	run_fini(&r);
	kern_skb_expect("verdict_redirect", "2abc", 3, 1, KERN_NOWHERE, NULL,
			0);
}

/* SKB-13: a successful redirect followed by SK_DROP drops. */
static void test_skb_redirect_then_drop_SKB13(void **state)
{
	struct run r;

	(void)state;
	run_init(&r, "xyz", 3);
	run_sock(&r, F.skb, "sock_map", 0);
	assert_int_equal(run_go(&r, F.skb, "verdict_redirect_drop"), 0);
	assert_int_equal(r.res.retval, SK_DROP);
	assert_int_equal(r.res.verdict, USM_VERDICT_DROP);
	assert_false(r.res.redirected);
	run_fini(&r);
	kern_skb_expect("verdict_redirect_drop", "xyz", 3, 0, KERN_NOWHERE,
			NULL, 0);
}

/* SKB-13/17: a failed redirect (bad flags) records nothing: SK_PASS then
 * passes to self. */
static void test_skb_failed_redirect_pass_SKB13(void **state)
{
	struct run r;

	(void)state;
	run_init(&r, "xyz", 3);
	run_sock(&r, F.skb, "sock_map", 0);
	assert_int_equal(run_go(&r, F.skb, "verdict_redirect_badflag"), 0);
	assert_int_equal(r.res.retval, SK_PASS);
	assert_int_equal(r.res.verdict, USM_VERDICT_PASS);
	assert_int_equal(r.trace.n, 1);
	assert_string_equal(r.trace.l[0], "redirect returned 0");
	run_fini(&r);
	kern_skb_expect("verdict_redirect_badflag", "xyz", 3, 0,
			KERN_AT_RECEIVER, "xyz", 3);
}

/* SKB-14: ingress redirect to the receiving socket itself passes. */
static void test_skb_ingress_self_SKB14(void **state)
{
	struct run r;

	(void)state;
	run_init(&r, "self", 4);
	run_sock(&r, F.skb, "sock_map", 0);
	r.o.sk_sock = 1; /* the receiver is sock_map[0] */
	assert_int_equal(run_go(&r, F.skb, "verdict_redirect_ingress"), 0);
	assert_int_equal(r.res.retval, SK_PASS);
	assert_int_equal(r.res.verdict, USM_VERDICT_PASS);
	assert_false(r.res.redirected);
	run_fini(&r);
	/* Another socket at key 0: a real ingress redirect. */
	run_init(&r, "self", 4);
	run_sock(&r, F.skb, "sock_map", 0);
	assert_int_equal(run_go(&r, F.skb, "verdict_redirect_ingress"), 0);
	assert_int_equal(r.res.verdict, USM_VERDICT_REDIRECT);
	assert_int_equal(r.res.redirect_flags, BPF_F_INGRESS);
	run_fini(&r);
	kern_skb_expect("verdict_redirect_ingress", "self", 0, -1,
			KERN_AT_RECEIVER, "self", 4);
	kern_skb_expect("verdict_redirect_ingress", "self", 3, 0,
			KERN_AT_TARGET, "self", 4);
}

/* SKB-17 for SOCKHASH: 8-byte key, reported as bytes. */
static void test_skb_redirect_hash_SKB17(void **state)
{
	struct usm_prog_run_sock s;
	uint64_t key = 0x0102030405060708ULL;
	struct run r;

	(void)state;
	run_init(&r, "h", 1);
	s.map = usm_object_find_map(F.skb, "sock_hash");
	assert_non_null(s.map);
	s.key = &key;
	s.key_size = 8;
	r.o.socks = &s;
	r.o.sock_cnt = 1;
	assert_int_equal(run_go(&r, F.skb, "verdict_redirect_hash"), 0);
	assert_int_equal(r.res.verdict, USM_VERDICT_REDIRECT);
	assert_string_equal(r.res.redirect_map, "sock_hash");
	assert_int_equal(r.res.redirect_key_size, 8);
	assert_memory_equal(r.res.redirect_key, &key, 8);
	run_fini(&r);
	/* Absent: no socket at that key. */
	run_init(&r, "h", 1);
	assert_int_equal(run_go(&r, F.skb, "verdict_redirect_hash"), 0);
	assert_int_equal(r.res.verdict, USM_VERDICT_DROP);
	run_fini(&r);
}

/* ---- sk_skb data changes (SKB-22..28) ---- */

static void test_skb_store_bytes_SKB22(void **state)
{
	struct run r;

	(void)state;
	run_init(&r, "hello world", 11);
	assert_int_equal(run_go(&r, F.skb, "verdict_store"), 0);
	assert_int_equal(r.res.verdict, USM_VERDICT_PASS);
	assert_data(&r, "HELLO world", 11);
	run_fini(&r);
	kern_skb_expect("verdict_store", "hello world", 3, -1,
			KERN_AT_RECEIVER, "HELLO world", 11);
}

static void test_skb_direct_write_SKB22(void **state)
{
	struct run r;

	(void)state;
	run_init(&r, "abcd", 4);
	assert_int_equal(run_go(&r, F.skb, "verdict_direct_write"), 0);
	assert_data(&r, "XYcd", 4);
	run_fini(&r);
	kern_skb_expect("verdict_direct_write", "abcd", 3, -1,
			KERN_AT_RECEIVER, "XYcd", 4);
}

/* SKB-20/24: by default the payload is not linear, as on the kernel's TCP
 * receive path (data == data_end, len = the bytes); skb_linear_size makes
 * it linear. */
static void test_skb_linear_SKB20(void **state)
{
	struct run r;

	(void)state;
	run_init(&r, "abcdef", 6);
	assert_int_equal(run_go(&r, F.skb, "verdict_nonlinear"), 0);
	assert_int_equal(r.res.verdict, USM_VERDICT_PASS);
	assert_string_equal(r.trace.l[0], "linear 0 len 6");
	run_fini(&r);
	run_init(&r, "abcdef", 6);
	r.o.skb_linear_size = 4;
	assert_int_equal(run_go(&r, F.skb, "verdict_nonlinear"), 0);
	assert_int_equal(r.res.verdict, USM_VERDICT_DROP);
	assert_string_equal(r.trace.l[0], "linear 4 len 6");
	run_fini(&r);
	run_init(&r, "abcdef", 6);
	r.o.skb_linear_size = UINT32_MAX;
	assert_int_equal(run_go(&r, F.skb, "verdict_nonlinear"), 0);
	assert_string_equal(r.trace.l[0], "linear 6 len 6");
	run_fini(&r);
	kern_skb_expect("verdict_nonlinear", "abcdef", 3, -1, KERN_AT_RECEIVER,
			"abcdef", 6);
}

/* SKB-26: grow by 3 zero bytes; shrink "Tr" to 1 byte. */
static void test_skb_change_tail_SKB26(void **state)
{
	struct run r;

	(void)state;
	run_init(&r, "abc", 3);
	assert_int_equal(run_go(&r, F.skb, "verdict_change_tail"), 0);
	assert_data(&r, "abc\0\0\0", 6);
	assert_string_equal(r.trace.l[0], "change_tail 0");
	run_fini(&r);
	run_init(&r, "Tr", 2);
	assert_int_equal(run_go(&r, F.skb, "verdict_change_tail_shrink"), 0);
	assert_data(&r, "T", 1);
	run_fini(&r);
	kern_skb_expect("verdict_change_tail", "abc", 3, -1, KERN_AT_RECEIVER,
			"abc\0\0\0", 6);
	kern_skb_expect("verdict_change_tail_shrink", "Tr", 3, -1,
			KERN_AT_RECEIVER, "T", 1);
}

/* SKB-28: adjust_room(-2) removes two bytes from the front. */
static void test_skb_adjust_room_SKB28(void **state)
{
	struct run r;

	(void)state;
	run_init(&r, "abcdef", 6);
	assert_int_equal(run_go(&r, F.skb, "verdict_adjust_room"), 0);
	assert_data(&r, "cdef", 4);
	assert_string_equal(r.trace.l[0], "adjust_room 0");
	run_fini(&r);
	kern_skb_expect("verdict_adjust_room", "abcdef", 3, -1,
			KERN_AT_RECEIVER, "cdef", 4);
}

/* ---- sk_skb context (SKB-20/21) ---- */

/* SKB-20: byte orders of the socket fields as the program reads them. */
static void test_skb_ctx_fields_SKB20(void **state)
{
	struct __sk_buff md;
	struct run r;

	(void)state;
	memset(&md, 0, sizeof(md));
	md.local_port = 8080;
	md.remote_port = htonl(80); /* network order, upper 16 bits */
	md.remote_ip4 = htonl(0x0a000001);
	md.family = AF_INET;
	run_init(&r, "abcd", 4);
	r.o.ctx_in = &md;
	r.o.ctx_size_in = sizeof(md);
	assert_int_equal(run_go(&r, F.skb, "verdict_printk"), 0);
	assert_int_equal(r.trace.n, 3);
	assert_string_equal(r.trace.l[0], "len 4");
	assert_string_equal(r.trace.l[1], "local_port 8080 remote_port 80");
	assert_string_equal(r.trace.l[2], "remote_ip4 a000001 family 2");
	run_fini(&r);

	run_init(&r, "abcd", 4);
	r.o.ctx_in = &md;
	r.o.ctx_size_in = sizeof(md);
	assert_int_equal(run_go(&r, F.skb, "verdict_port80"), 0);
	assert_int_equal(r.res.verdict, USM_VERDICT_PASS);
	run_fini(&r);
	md.remote_port = htonl(81);
	run_init(&r, "abcd", 4);
	r.o.ctx_in = &md;
	r.o.ctx_size_in = sizeof(md);
	assert_int_equal(run_go(&r, F.skb, "verdict_port80"), 0);
	assert_int_equal(r.res.verdict, USM_VERDICT_DROP);
	run_fini(&r);
}

/* SKB-21: with a real receiving socket the fields describe it. */
static void test_skb_ctx_from_sock_SKB21(void **state)
{
	struct run r;
	unsigned lp, rp;

	(void)state;
	run_init(&r, "abcd", 4);
	run_sock(&r, F.skb, "sock_map", 0);
	r.o.sk_sock = 1;
	assert_int_equal(run_go(&r, F.skb, "verdict_printk"), 0);
	assert_int_equal(r.trace.n, 3);
	assert_int_equal(sscanf(r.trace.l[1], "local_port %u remote_port %u",
				&lp, &rp),
			 2);
	assert_true(lp > 0 && lp < 65536 && rp > 0 && rp < 65536);
	assert_string_equal(r.trace.l[2], "remote_ip4 7f000001 family 2");
	run_fini(&r);
}

/* SKB-20: priority is writable, cb[] readable. */
static void test_skb_cb_priority_SKB20(void **state)
{
	struct __sk_buff md, out;
	struct run r;

	(void)state;
	memset(&md, 0, sizeof(md));
	md.cb[0] = 5;
	md.cb[1] = SK_PASS;
	run_init(&r, "x", 1);
	r.o.ctx_in = &md;
	r.o.ctx_size_in = sizeof(md);
	assert_int_equal(run_go(&r, F.skb, "verdict_cb"), 0);
	assert_int_equal(r.res.retval, SK_PASS);
	assert_int_equal(r.res.ctx_size_out, sizeof(out));
	memcpy(&out, r.res.ctx_out, sizeof(out));
	assert_int_equal(out.priority, 5);
	assert_int_equal(out.cb[0], 5);
	run_fini(&r);
}

/* ---- stream parser (SKB-01..03) ---- */

/* The kernel's strparser with @parser must deliver @want to the
 * receiver (or nothing). */
static void kern_parser_expect(const char *parser, const char *data,
			       size_t len, enum kern_where where,
			       const void *want, size_t wlen)
{
	struct kern_result kr;

	if (!F.kskb) {
		printf("# kernel comparison skipped: %s\n", F.why);
		return;
	}
	assert_int_equal(kern_parser_run(F.kskb, parser, data, len, &kr), 0);
	assert_int_equal(kr.where, where);
	if (want) {
		assert_int_equal(kr.len, wlen);
		assert_memory_equal(kr.buf, want, wlen);
	}
}

static void test_parser_SKB01(void **state)
{
	struct run r;

	(void)state;
	run_init(&r, "abcdefgh", 8);
	assert_int_equal(run_go(&r, F.skb, "parse_len"), 0);
	assert_int_equal(r.res.retval, 8);
	assert_int_equal(r.res.verdict, USM_VERDICT_NONE);
	assert_int_equal(r.res.attach_type, BPF_SK_SKB_STREAM_PARSER);
	assert_null(usm_verdict_str(r.res.verdict));
	run_fini(&r);
	/* SKB-01: a length header: 2 + 5 */
	run_init(&r, "\x00\x05helloextra", 12);
	assert_int_equal(run_go(&r, F.skb, "parse_hdr"), 0);
	assert_int_equal(r.res.retval, 7);
	run_fini(&r);
	/* SKB-02: need more */
	run_init(&r, "\x00", 1);
	assert_int_equal(run_go(&r, F.skb, "parse_hdr"), 0);
	assert_int_equal(r.res.retval, 0);
	run_fini(&r);
	/* SKB-03: error */
	run_init(&r, "x", 1);
	assert_int_equal(run_go(&r, F.skb, "parse_err"), 0);
	assert_int_equal((int32_t)r.res.retval, -22);
	assert_int_equal(r.res.verdict, USM_VERDICT_NONE);
	run_fini(&r);
	kern_parser_expect("parse_len", "abcdefgh", 8, KERN_AT_RECEIVER,
			   "abcdefgh", 8);
	/* SKB-06: the kernel delivers exactly the 7 framed bytes */
	kern_parser_expect("parse_hdr", "\x00\x05helloextra", 12,
			   KERN_AT_RECEIVER, "\x00\x05hello", 7);
	kern_parser_expect("parse_hdr", "\x00", 1, KERN_NOWHERE, NULL, 0);
	kern_parser_expect("parse_err", "x", 1, KERN_NOWHERE, NULL, 0);
}

/* PRG-07: an sk_skb program may run as parser or verdict. */
static void test_skb_as_PRG07(void **state)
{
	struct run r;

	(void)state;
	run_init(&r, "abc", 3);
	r.o.attach_type = BPF_SK_SKB_STREAM_VERDICT;
	assert_int_equal(run_go(&r, F.skb, "parse_len"), 0);
	assert_int_equal(r.res.retval, 3);
	assert_int_equal(r.res.verdict, USM_VERDICT_DROP); /* 3 != SK_PASS */
	run_fini(&r);
	run_init(&r, "abc", 3);
	r.o.attach_type = BPF_SK_SKB_STREAM_PARSER;
	assert_int_equal(run_go(&r, F.skb, "verdict_pass"), 0);
	assert_int_equal(r.res.verdict, USM_VERDICT_NONE);
	assert_int_equal(r.res.retval, 1);
	run_fini(&r);
}

/* ---- runs, budget, timing ---- */

static void test_repeat_and_budget(void **state)
{
	struct run r;

	(void)state;
	run_init(&r, "abcdef", 6);
	r.o.repeat = 200;
	assert_int_equal(run_go(&r, F.skb, "verdict_store"), 0);
	assert_int_equal(r.res.runs, 200);
	assert_data(&r, "HELLOf", 6); /* the first run's outcome */
	assert_true(r.res.insns_executed > 0);
	run_fini(&r);
	run_init(&r, "abc", 3);
	r.o.insn_budget = 1000;
	assert_int_equal(run_go(&r, F.skb, "verdict_loop"), 0);
	assert_int_equal(r.res.run_error, -E2BIG);
	run_fini(&r);
	run_init(&r, "abc", 3);
	assert_int_equal(run_go(&r, F.skb, "verdict_loop"), 0);
	assert_int_equal(r.res.run_error, 0);
	assert_true(r.res.insns_executed > 20000);
	run_fini(&r);
}

/* ---- bad input ---- */

static void test_bad_ctx_in(void **state)
{
	struct __sk_buff md;
	struct run r;

	(void)state;
	memset(&md, 0, sizeof(md));
	md.mark = 1; /* SKB-20: not accessible, not settable */
	run_init(&r, "abc", 3);
	r.o.ctx_in = &md;
	r.o.ctx_size_in = sizeof(md);
	assert_int_equal(run_go(&r, F.skb, "verdict_pass"), -EINVAL);
	assert_non_null(strstr(r.log, "mark"));
	run_fini(&r);
	memset(&md, 0, sizeof(md));
	md.len = 7; /* != data size */
	run_init(&r, "abc", 3);
	r.o.ctx_in = &md;
	r.o.ctx_size_in = sizeof(md);
	assert_int_equal(run_go(&r, F.skb, "verdict_pass"), -EINVAL);
	assert_non_null(strstr(r.log, "len"));
	run_fini(&r);
	md.len = 3; /* == data size: fine */
	run_init(&r, "abc", 3);
	r.o.ctx_in = &md;
	r.o.ctx_size_in = sizeof(md);
	assert_int_equal(run_go(&r, F.skb, "verdict_pass"), 0);
	run_fini(&r);
	run_init(&r, "abc", 3);
	r.o.ctx_in = &md;
	r.o.ctx_size_in = sizeof(md) + 4;
	assert_int_equal(run_go(&r, F.skb, "verdict_pass"), -EINVAL);
	run_fini(&r);
}

static void test_bad_opts(void **state)
{
	struct {
		struct usm_prog_run_opts o;
		uint64_t future;
	} big;
	struct usm_program *p = usm_object_find_program(F.skb, "verdict_pass");
	struct usm_prog_run_result res;
	struct run r;

	(void)state;
	run_init(&r, "abc", 3);
	r.o.sz = 0;
	assert_int_equal(usm_prog_run(p, &r.o, &r.res), -EINVAL);
	run_fini(&r);
	/* A newer caller's unknown non-zero field. */
	memset(&big, 0, sizeof(big));
	big.o.sz = sizeof(big);
	big.o.data_in = "abc";
	big.o.data_size_in = 3;
	big.future = 1;
	assert_int_equal(usm_prog_run(p, &big.o, &res), -EINVAL);
	usm_prog_run_result_fini(&res);
	big.future = 0;
	assert_int_equal(usm_prog_run(p, &big.o, &res), 0);
	usm_prog_run_result_fini(&res);
	/* sk_skb needs data; a size without a buffer. */
	run_init(&r, NULL, 0);
	assert_int_equal(run_go(&r, F.skb, "verdict_pass"), -EINVAL);
	run_fini(&r);
	run_init(&r, NULL, 3);
	assert_int_equal(run_go(&r, F.skb, "verdict_pass"), -EINVAL);
	run_fini(&r);
	/* A key of the wrong size. */
	run_init(&r, "abc", 3);
	run_sock(&r, F.skb, "sock_map", 0);
	r.socks[0].key_size = 8;
	assert_int_equal(run_go(&r, F.skb, "verdict_pass"), -EINVAL);
	run_fini(&r);
	assert_int_equal(usm_prog_run(NULL, NULL, &res), -EACCES);
	usm_prog_run_result_fini(&res);
}

/* A program the verifier rejects never runs. */
static void test_rejected_program(void **state)
{
	struct usm_object *obj = NULL;
	struct usm_program *p;
	struct usm_prog_run_result res;

	(void)state;
	assert_int_equal(usm_object_open(usm_test_bpf_path("tests/bpf/run_bad"),
					 NULL, &obj),
			 0);
	assert_true(usm_object_load(obj) < 0);
	p = usm_object_find_program(obj, "unchecked_read");
	assert_non_null(p);
	assert_true(strlen(usm_program_log(p)) > 0);
	assert_int_equal(usm_prog_run(p, NULL, &res), -EACCES);
	usm_prog_run_result_fini(&res);
	usm_object_close(obj);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_skb_pass_SKB11),
		cmocka_unit_test(test_skb_drop_SKB12),
		cmocka_unit_test(test_skb_redirect_present_SKB17),
		cmocka_unit_test(test_skb_redirect_absent_SKB17),
		cmocka_unit_test(test_skb_redirect_then_drop_SKB13),
		cmocka_unit_test(test_skb_failed_redirect_pass_SKB13),
		cmocka_unit_test(test_skb_ingress_self_SKB14),
		cmocka_unit_test(test_skb_redirect_hash_SKB17),
		cmocka_unit_test(test_skb_store_bytes_SKB22),
		cmocka_unit_test(test_skb_direct_write_SKB22),
		cmocka_unit_test(test_skb_linear_SKB20),
		cmocka_unit_test(test_skb_change_tail_SKB26),
		cmocka_unit_test(test_skb_adjust_room_SKB28),
		cmocka_unit_test(test_skb_ctx_fields_SKB20),
		cmocka_unit_test(test_skb_ctx_from_sock_SKB21),
		cmocka_unit_test(test_skb_cb_priority_SKB20),
		cmocka_unit_test(test_parser_SKB01),
		cmocka_unit_test(test_skb_as_PRG07),
		cmocka_unit_test(test_repeat_and_budget),
		cmocka_unit_test(test_bad_ctx_in),
		cmocka_unit_test(test_bad_opts),
		cmocka_unit_test(test_rejected_program),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
