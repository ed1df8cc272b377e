/* SPDX-License-Identifier: MIT */
/*
 * usm_prog_run() end to end on clang-compiled sk_msg, sk_reuseport and
 * sock_ops programs (tests/bpf/run_{msg,reuseport,sockops}.bpf.c): verdicts
 * and redirects (MSG-04/16), apply/cork (MSG-07/08), push/pop/pull data
 * (MSG-11..13), first-chunk data pointers (MSG-03), reuseport selection and
 * its fallback (RPP-02/04/05), sock_ops map updates (MAP-BPF-01). With
 * kernel BPF the sk_msg cases also run on a kernel sockmap with real
 * sends: send()'s result and the bytes the peer or target received must
 * match usockmap's verdict and data_out.
 */
#include "run_fix.h"

/* ---- sk_msg (MSG-03/04/07/08/11..16) ---- */

static void test_msg_pass_drop_MSG04(void **state)
{
	struct run r;

	(void)state;
	run_init(&r, "hello", 5);
	assert_int_equal(run_go(&r, F.msg, "msg_pass"), 0);
	assert_int_equal(r.res.verdict, USM_VERDICT_PASS);
	assert_data(&r, "hello", 5);
	run_fini(&r);
	run_init(&r, "hello", 5);
	assert_int_equal(run_go(&r, F.msg, "msg_drop"), 0);
	assert_int_equal(r.res.verdict, USM_VERDICT_DROP);
	run_fini(&r);
	kern_msg_expect("msg_pass", "hello", -1, KERN_AT_RECEIVER, "hello", 5,
			0);
	/* MSG-05: nothing accepted -> EACCES */
	kern_msg_expect("msg_drop", "hello", -1, KERN_NOWHERE, NULL, 0,
			EACCES);
}

/* MSG-16: redirect to a present key vs an absent one. */
static void test_msg_redirect_MSG16(void **state)
{
	struct run r;
	uint32_t key;

	(void)state;
	run_init(&r, "hello", 5);
	run_sock(&r, F.msg, "sock_map", 1);
	assert_int_equal(run_go(&r, F.msg, "msg_redirect"), 0);
	assert_int_equal(r.res.retval, SK_PASS);
	assert_int_equal(r.res.verdict, USM_VERDICT_REDIRECT);
	assert_string_equal(r.res.redirect_map, "sock_map");
	memcpy(&key, r.res.redirect_key, 4);
	assert_int_equal(key, 1);
	run_fini(&r);
	run_init(&r, "hello", 5);
	assert_int_equal(run_go(&r, F.msg, "msg_redirect"), 0);
	assert_int_equal(r.res.retval, SK_DROP);
	assert_int_equal(r.res.verdict, USM_VERDICT_DROP);
	run_fini(&r);
	kern_msg_expect("msg_redirect", "hello", 1, KERN_AT_TARGET_PEER,
			"hello", 5, 0);
	kern_msg_expect("msg_redirect", "hello", -1, KERN_NOWHERE, NULL, 0,
			EACCES);
}

/* MSG-16 on a SOCKHASH with BPF_F_INGRESS; MSG-04 redirect then drop. */
static void test_msg_redirect_hash_and_drop_MSG04(void **state)
{
	struct run r;

	(void)state;
	run_init(&r, "hi", 2);
	run_sock(&r, F.msg, "sock_hash", 7);
	assert_int_equal(run_go(&r, F.msg, "msg_redirect_hash"), 0);
	assert_int_equal(r.res.verdict, USM_VERDICT_REDIRECT);
	assert_string_equal(r.res.redirect_map, "sock_hash");
	assert_int_equal(r.res.redirect_flags, BPF_F_INGRESS);
	run_fini(&r);
	run_init(&r, "hi", 2);
	run_sock(&r, F.msg, "sock_map", 1);
	assert_int_equal(run_go(&r, F.msg, "msg_redirect_drop"), 0);
	assert_int_equal(r.res.verdict, USM_VERDICT_DROP);
	assert_false(r.res.redirected);
	run_fini(&r);
	kern_msg_expect("msg_redirect_drop", "hi", 1, KERN_NOWHERE, NULL, 0,
			EACCES);
}

/* MSG-07/08: apply and cork bytes are reported. */
static void test_msg_apply_cork_MSG07(void **state)
{
	struct run r;

	(void)state;
	run_init(&r, "hello", 5);
	assert_int_equal(run_go(&r, F.msg, "msg_apply_cork"), 0);
	assert_int_equal(r.res.apply_bytes, 10);
	assert_int_equal(r.res.cork_bytes, 20);
	assert_int_equal(r.res.verdict, USM_VERDICT_PASS);
	run_fini(&r);
}

/* MSG-12 + MSG-11: push 4 bytes at the front and write them. */
static void test_msg_push_MSG12(void **state)
{
	struct run r;

	(void)state;
	run_init(&r, "hello", 5);
	assert_int_equal(run_go(&r, F.msg, "msg_push"), 0);
	assert_int_equal(r.res.verdict, USM_VERDICT_PASS);
	assert_data(&r, "HDR:hello", 9);
	run_fini(&r);
	/* With a 2-byte chunking the pull must linearise across chunks. */
	run_init(&r, "hello", 5);
	r.o.msg_chunk_size = 2;
	assert_int_equal(run_go(&r, F.msg, "msg_push"), 0);
	assert_data(&r, "HDR:hello", 9);
	run_fini(&r);
	kern_msg_expect("msg_push", "hello", -1, KERN_AT_RECEIVER, "HDR:hello",
			9, 0);
}

/* MSG-13: pop bytes 1..2. */
static void test_msg_pop_MSG13(void **state)
{
	struct run r;

	(void)state;
	run_init(&r, "abcdef", 6);
	assert_int_equal(run_go(&r, F.msg, "msg_pop"), 0);
	assert_data(&r, "adef", 4);
	assert_string_equal(r.trace.l[0], "pop 0 size 4");
	run_fini(&r);
	kern_msg_expect("msg_pop", "abcdef", -1, KERN_AT_RECEIVER, "adef", 4, 0);
}

/* MSG-03: data/data_end span only the first chunk. */
static void test_msg_first_chunk_MSG03(void **state)
{
	uint8_t *big = calloc(1, 100000);
	struct run r;

	(void)state;
	assert_non_null(big);
	run_init(&r, big, 100000);
	assert_int_equal(run_go(&r, F.msg, "msg_printk"), 0);
	assert_string_equal(r.trace.l[0], "size 100000 span 32768");
	run_fini(&r);
	run_init(&r, big, 100);
	r.o.msg_chunk_size = 10;
	assert_int_equal(run_go(&r, F.msg, "msg_printk"), 0);
	assert_string_equal(r.trace.l[0], "size 100 span 10");
	/* msg->sk is the run's own socket: a loopback TCP socket */
	assert_non_null(strstr(r.trace.l[1], "family 2"));
	run_fini(&r);
	/* More than 17 chunks: not one message. */
	run_init(&r, big, 100);
	r.o.msg_chunk_size = 5;
	assert_int_equal(run_go(&r, F.msg, "msg_pass"), -E2BIG);
	run_fini(&r);
	free(big);
}

/* ---- sk_reuseport (RPP-02/04/05) ---- */

static void test_reuseport_pass_drop_RPP04(void **state)
{
	struct run r;

	(void)state;
	run_init(&r, "\x00\x50\x1f\x90", 4);
	assert_int_equal(run_go(&r, F.rp, "sel_pass"), 0);
	assert_int_equal(r.res.verdict, USM_VERDICT_PASS);
	assert_false(r.res.selected);
	run_fini(&r);
	run_init(&r, "\x00\x50\x1f\x90", 4);
	assert_int_equal(run_go(&r, F.rp, "sel_drop"), 0);
	assert_int_equal(r.res.verdict, USM_VERDICT_DROP);
	run_fini(&r);
}

static void test_reuseport_select_RPP05(void **state)
{
	struct sk_reuseport_md md;
	struct run r;
	uint32_t key;

	(void)state;
	memset(&md, 0, sizeof(md));
	md.hash = 5; /* key 5 % 2 = 1 */
	run_init(&r, "\x00\x50\x1f\x90", 4);
	r.o.ctx_in = &md;
	r.o.ctx_size_in = sizeof(md);
	run_sock(&r, F.rp, "sock_map", 0);
	run_sock(&r, F.rp, "sock_map", 1);
	assert_int_equal(run_go(&r, F.rp, "sel_hash"), 0);
	assert_int_equal(r.res.verdict, USM_VERDICT_SELECT);
	assert_true(r.res.selected);
	assert_string_equal(r.res.selected_map, "sock_map");
	memcpy(&key, r.res.selected_key, 4);
	assert_int_equal(key, 1);
	assert_string_equal(r.trace.l[0], "select key 1: 0");
	assert_string_equal(usm_verdict_str(r.res.verdict), "select");
	run_fini(&r);
	/* RPP-05: absent key -> -ENOENT, SK_PASS falls back to the hash. */
	run_init(&r, "\x00\x50\x1f\x90", 4);
	r.o.ctx_in = &md;
	r.o.ctx_size_in = sizeof(md);
	run_sock(&r, F.rp, "sock_map", 0);
	assert_int_equal(run_go(&r, F.rp, "sel_hash"), 0);
	assert_int_equal(r.res.verdict, USM_VERDICT_PASS);
	assert_string_equal(r.trace.l[0], "select key 1: -2");
	run_fini(&r);
}

/* RPP-02: context fields and their defaults. */
static void test_reuseport_ctx_RPP02(void **state)
{
	struct sk_reuseport_md md;
	struct run r;

	(void)state;
	memset(&md, 0, sizeof(md));
	md.ip_protocol = IPPROTO_UDP;
	md.hash = 77;
	md.bind_inany = 1;
	md.eth_protocol = htons(0x86DD);
	run_init(&r, "12345678abc", 11);
	r.o.ctx_in = &md;
	r.o.ctx_size_in = sizeof(md);
	assert_int_equal(run_go(&r, F.rp, "sel_printk"), 0);
	assert_string_equal(r.trace.l[0],
			    "len 11 ip_protocol 17 eth_protocol dd86");
	assert_string_equal(r.trace.l[1], "bind_inany 1 hash 77");
	run_fini(&r);
	run_init(&r, "12345678", 8);
	assert_int_equal(run_go(&r, F.rp, "sel_printk"), 0);
	/* defaults: TCP over IPv4 (eth_protocol in network order) */
	assert_string_equal(r.trace.l[0],
			    "len 8 ip_protocol 6 eth_protocol 8");
	run_fini(&r);
}

/* ---- sock_ops (MAP-BPF-01) ---- */

static void test_sockops_insert_MAPBPF01(void **state)
{
	struct bpf_sock_ops md;
	struct run r;
	unsigned op, key;
	int upd;

	(void)state;
	memset(&md, 0, sizeof(md));
	md.op = BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB;
	run_init(&r, NULL, 0);
	r.o.ctx_in = &md;
	r.o.ctx_size_in = sizeof(md);
	assert_int_equal(run_go(&r, F.ops, "ops_insert"), 0);
	assert_int_equal(r.res.retval, 1);
	assert_int_equal(r.res.verdict, USM_VERDICT_NONE);
	assert_int_equal(r.trace.n, 1);
	assert_int_equal(sscanf(r.trace.l[0], "op %u key %u update %d", &op,
				&key, &upd),
			 3);
	assert_int_equal(op, BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB);
	assert_true(key > 0);
	assert_int_equal(upd, 0);
	run_fini(&r);
	/* Another callback: nothing inserted. */
	md.op = BPF_SOCK_OPS_RTT_CB;
	run_init(&r, NULL, 0);
	r.o.ctx_in = &md;
	r.o.ctx_size_in = sizeof(md);
	assert_int_equal(run_go(&r, F.ops, "ops_insert"), 0);
	assert_int_equal(r.trace.n, 0);
	run_fini(&r);
	/* TCP_LISTEN_CB: the run's socket is a listener, update works. */
	md.op = BPF_SOCK_OPS_TCP_LISTEN_CB;
	run_init(&r, NULL, 0);
	r.o.ctx_in = &md;
	r.o.ctx_size_in = sizeof(md);
	assert_int_equal(run_go(&r, F.ops, "ops_insert"), 0);
	assert_int_equal(sscanf(r.trace.l[0], "op %u key %u update %d", &op,
				&key, &upd),
			 3);
	assert_int_equal(upd, 0);
	run_fini(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_msg_pass_drop_MSG04),
		cmocka_unit_test(test_msg_redirect_MSG16),
		cmocka_unit_test(test_msg_redirect_hash_and_drop_MSG04),
		cmocka_unit_test(test_msg_apply_cork_MSG07),
		cmocka_unit_test(test_msg_push_MSG12),
		cmocka_unit_test(test_msg_pop_MSG13),
		cmocka_unit_test(test_msg_first_chunk_MSG03),
		cmocka_unit_test(test_reuseport_pass_drop_RPP04),
		cmocka_unit_test(test_reuseport_select_RPP05),
		cmocka_unit_test(test_reuseport_ctx_RPP02),
		cmocka_unit_test(test_sockops_insert_MAPBPF01),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
