/* SPDX-License-Identifier: MIT */
/*
 * Context access rules per program type, as data: each row is an access
 * (offset, size, read/write, sign-extending) with the exact answer the
 * kernel's *_is_valid_access gives and, for pointer fields, the register
 * type and load rewrite. SEMANTICS SKB-20 (sk_skb), MSG-02 (sk_msg),
 * RPP-02 (sk_reuseport), sock_ops and struct bpf_sock. The same accesses
 * are compared against the running kernel, exhaustively, in
 * test_kernel_access.c.
 */
#include "usm_test.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "../../../src/progtype/progtype.h"

#define R 0
#define W 1
#define SX 2 /* read, sign-extending */
#define OK 1
#define NO 0

struct acase {
	int off, size, mode, ok;
	enum usm_reg_type reg; /* USM_SCALAR unless a pointer field */
	int xoff;              /* -1: no rewrite */
	const char *what;
};

#define SKB(f) ((int)offsetof(struct __sk_buff, f))
#define MSG(f) ((int)offsetof(struct sk_msg_md, f))
#define RP(f) ((int)offsetof(struct sk_reuseport_md, f))
#define OPS(f) ((int)offsetof(struct bpf_sock_ops, f))
#define SK(f) ((int)offsetof(struct bpf_sock, f))
#define S USM_SCALAR

static void run_cases(uint32_t type, const struct acase *c, size_t n)
{
	const struct usm_prog_type *pt = usm__prog_type_get(type);
	size_t i;

	assert_non_null(pt);
	for (i = 0; i < n; i++) {
		struct usm_ctx_access acc;
		const char *why = NULL;
		int r;

		memset(&acc, 0xa5, sizeof(acc));
		acc.ldsx = c[i].mode == SX;
		r = pt->is_valid_access(c[i].off, c[i].size, c[i].mode == W,
					&acc, &why);
		if ((r == 0) != (c[i].ok == OK)) {
			print_error("%s: %s off=%d size=%d mode=%d: got %d (%s)\n",
				    pt->name, c[i].what, c[i].off, c[i].size,
				    c[i].mode, r, why ? why : "-");
			fail();
		}
		if (r != 0) {
			assert_int_equal(r, -EACCES);
			assert_non_null(why);
			continue;
		}
		if (acc.reg_type != c[i].reg || acc.xoff != c[i].xoff) {
			print_error("%s: %s: reg %d xoff %d, want %d %d\n",
				    pt->name, c[i].what, acc.reg_type, acc.xoff,
				    c[i].reg, c[i].xoff);
			fail();
		}
		if (c[i].xoff >= 0)
			assert_int_equal(acc.xsize, 8);
		if (c[i].reg == USM_PTR_TO_SOCKET ||
		    c[i].reg == USM_PTR_TO_SOCKET_OR_NULL ||
		    c[i].reg == USM_PTR_TO_SOCK_COMMON_OR_NULL)
			assert_int_equal(acc.mem_size, sizeof(struct bpf_sock));
	}
}

#define XD ((int)offsetof(struct usm_skb_ctx, data))
#define XE ((int)offsetof(struct usm_skb_ctx, data_end))

/* SKB-20: readable fields, narrow loads, the refused fields, the two
 * writable fields, pointer rewrites. */
static const struct acase skb_cases[] = {
	{ SKB(len), 4, R, OK, S, -1, "len" },
	{ SKB(len), 1, R, OK, S, -1, "len narrow 1" },
	{ SKB(len) + 2, 2, R, OK, S, -1, "len narrow 2 upper half" },
	{ SKB(len) + 3, 1, SX, OK, S, -1, "len sign-extending byte" },
	{ SKB(len), 8, R, NO, S, -1, "len 8 bytes" },
	{ SKB(len), 4, W, NO, S, -1, "len write" },
	{ SKB(len) + 1, 2, R, NO, S, -1, "misaligned" },
	{ SKB(mark), 4, R, NO, S, -1, "mark" },
	{ SKB(mark), 4, W, NO, S, -1, "mark write" },
	{ SKB(priority), 4, R, OK, S, -1, "priority" },
	{ SKB(priority), 4, W, OK, S, -1, "priority write" },
	{ SKB(priority), 2, W, NO, S, -1, "priority narrow write" },
	{ SKB(tc_index), 4, W, OK, S, -1, "tc_index write" },
	{ SKB(tc_index), 1, R, OK, S, -1, "tc_index narrow read" },
	{ SKB(tc_index), 8, W, NO, S, -1, "tc_index 8-byte write" },
	{ SKB(queue_mapping), 4, W, NO, S, -1, "queue_mapping write" },
	{ SKB(cb[0]), 4, R, OK, S, -1, "cb[0]" },
	{ SKB(cb[0]), 8, R, OK, S, -1, "cb[0..1] 8 bytes" },
	{ SKB(cb[2]), 8, R, OK, S, -1, "cb[2..3] 8 bytes" },
	{ SKB(cb[1]), 8, R, NO, S, -1, "cb[1] 8 bytes misaligned" },
	{ SKB(cb[4]), 8, R, NO, S, -1, "cb[4] 8 bytes past cb" },
	{ SKB(cb[4]), 4, R, OK, S, -1, "cb[4]" },
	{ SKB(cb[3]) + 1, 1, R, OK, S, -1, "cb byte" },
	{ SKB(cb[0]), 4, W, NO, S, -1, "cb write (read-only in sk_skb)" },
	{ SKB(tc_classid), 4, R, NO, S, -1, "tc_classid" },
	{ SKB(data), 4, R, OK, USM_PTR_TO_PACKET, XD, "data" },
	{ SKB(data), 4, SX, NO, S, -1, "data sign-extending" },
	{ SKB(data), 2, R, NO, S, -1, "data narrow" },
	{ SKB(data) + 2, 2, R, NO, S, -1, "data upper half" },
	{ SKB(data), 4, W, NO, S, -1, "data write" },
	{ SKB(data_end), 4, R, OK, USM_PTR_TO_PACKET_END, XE, "data_end" },
	{ SKB(data_end), 1, R, NO, S, -1, "data_end narrow" },
	{ SKB(family), 4, R, OK, S, -1, "family" },
	{ SKB(family), 2, R, OK, S, -1, "family narrow" },
	{ SKB(remote_ip4), 4, R, OK, S, -1, "remote_ip4" },
	{ SKB(remote_ip4), 2, R, NO, S, -1, "remote_ip4 narrow" },
	{ SKB(local_ip4), 1, R, NO, S, -1, "local_ip4 narrow" },
	{ SKB(remote_ip6[3]), 4, R, OK, S, -1, "remote_ip6[3]" },
	{ SKB(local_ip6[1]), 4, R, OK, S, -1, "local_ip6[1]" },
	{ SKB(local_ip6[1]) + 2, 2, R, NO, S, -1, "local_ip6 narrow" },
	{ SKB(remote_ip6[0]), 8, R, NO, S, -1, "remote_ip6 8 bytes" },
	{ SKB(remote_port), 4, R, OK, S, -1, "remote_port" },
	{ SKB(remote_port) + 2, 2, R, OK, S, -1, "remote_port upper half" },
	{ SKB(local_port), 2, R, OK, S, -1, "local_port narrow" },
	{ SKB(data_meta), 4, R, NO, S, -1, "data_meta" },
	{ SKB(flow_keys), 8, R, NO, S, -1, "flow_keys" },
	{ SKB(tstamp), 8, R, NO, S, -1, "tstamp" },
	{ SKB(wire_len), 4, R, NO, S, -1, "wire_len" },
	{ SKB(gso_segs), 4, R, OK, S, -1, "gso_segs" },
	{ SKB(sk), 8, R, OK, USM_PTR_TO_SOCK_COMMON_OR_NULL, -1, "sk" },
	{ SKB(sk), 4, R, NO, S, -1, "sk 4 bytes" },
	{ SKB(sk), 8, W, NO, S, -1, "sk write" },
	{ SKB(gso_size), 4, R, OK, S, -1, "gso_size" },
	{ SKB(tstamp_type), 1, R, NO, S, -1, "tstamp_type" },
	{ SKB(tstamp_type) + 1, 1, R, NO, S, -1, "padding" },
	{ SKB(tstamp_type) + 2, 2, R, NO, S, -1, "padding 2" },
	{ SKB(hwtstamp), 8, R, NO, S, -1, "hwtstamp" },
	{ (int)sizeof(struct __sk_buff), 4, R, NO, S, -1, "past the end" },
	{ -4, 4, R, NO, S, -1, "negative" },
	{ SKB(napi_id), 4, R, OK, S, -1, "napi_id" },
	{ SKB(ifindex), 2, R, OK, S, -1, "ifindex narrow" },
};

static void test_skb_20_sk_skb_access(void **state)
{
	run_cases(BPF_PROG_TYPE_SK_SKB, skb_cases,
		  sizeof(skb_cases) / sizeof(skb_cases[0]));
}

/* MSG-02: read-only; pointers 8 bytes; the rest exactly 4. */
static const struct acase msg_cases[] = {
	{ MSG(data), 8, R, OK, USM_PTR_TO_PACKET, -1, "data" },
	{ MSG(data), 4, R, NO, S, -1, "data 4 bytes" },
	{ MSG(data) + 4, 4, R, NO, S, -1, "data upper half" },
	{ MSG(data_end), 8, R, OK, USM_PTR_TO_PACKET_END, -1, "data_end" },
	{ MSG(data), 8, W, NO, S, -1, "data write" },
	{ MSG(family), 4, R, OK, S, -1, "family" },
	{ MSG(family), 2, R, NO, S, -1, "family narrow" },
	{ MSG(family), 4, W, NO, S, -1, "family write" },
	{ MSG(remote_ip4), 4, R, OK, S, -1, "remote_ip4" },
	{ MSG(local_ip4), 4, R, OK, S, -1, "local_ip4" },
	{ MSG(remote_ip6[2]), 4, R, OK, S, -1, "remote_ip6[2]" },
	{ MSG(local_ip6[3]), 4, R, OK, S, -1, "local_ip6[3]" },
	{ MSG(remote_ip6[0]), 8, R, NO, S, -1, "remote_ip6 8 bytes" },
	{ MSG(remote_port), 4, R, OK, S, -1, "remote_port" },
	{ MSG(local_port), 4, R, OK, S, -1, "local_port" },
	{ MSG(local_port), 2, R, NO, S, -1, "local_port narrow" },
	{ MSG(size), 4, R, OK, S, -1, "size" },
	{ MSG(size), 8, R, NO, S, -1, "size 8 bytes" },
	{ MSG(size) + 1, 1, R, NO, S, -1, "size byte" },
	{ MSG(sk), 8, R, OK, USM_PTR_TO_SOCKET, -1, "sk" },
	{ MSG(sk), 4, R, NO, S, -1, "sk 4 bytes" },
	{ (int)sizeof(struct sk_msg_md), 4, R, NO, S, -1, "past the end" },
	{ MSG(family) + 2, 4, R, NO, S, -1, "misaligned" },
};

static void test_msg_02_sk_msg_access(void **state)
{
	run_cases(BPF_PROG_TYPE_SK_MSG, msg_cases,
		  sizeof(msg_cases) / sizeof(msg_cases[0]));
}

/* RPP-02: pointers 8 bytes, hash exactly 4, len/ip_protocol/bind_inany
 * narrow, eth_protocol at least 2 bytes. */
static const struct acase rp_cases[] = {
	{ RP(data), 8, R, OK, USM_PTR_TO_PACKET, -1, "data" },
	{ RP(data), 4, R, NO, S, -1, "data 4 bytes" },
	{ RP(data_end), 8, R, OK, USM_PTR_TO_PACKET_END, -1, "data_end" },
	{ RP(len), 4, R, OK, S, -1, "len" },
	{ RP(len) + 1, 1, R, OK, S, -1, "len byte" },
	{ RP(len) + 2, 2, R, OK, S, -1, "len half" },
	{ RP(len), 8, R, NO, S, -1, "len 8 bytes" },
	{ RP(len), 4, W, NO, S, -1, "len write" },
	{ RP(eth_protocol), 4, R, OK, S, -1, "eth_protocol" },
	{ RP(eth_protocol), 2, R, OK, S, -1, "eth_protocol half" },
	{ RP(eth_protocol) + 2, 2, R, OK, S, -1, "eth_protocol upper half" },
	{ RP(eth_protocol), 1, R, NO, S, -1, "eth_protocol byte" },
	{ RP(ip_protocol), 1, R, OK, S, -1, "ip_protocol byte" },
	{ RP(bind_inany), 1, R, OK, S, -1, "bind_inany byte" },
	{ RP(bind_inany) + 3, 1, R, OK, S, -1, "bind_inany last byte" },
	{ RP(hash), 4, R, OK, S, -1, "hash" },
	{ RP(hash), 2, R, NO, S, -1, "hash narrow" },
	{ RP(hash) + 2, 2, R, NO, S, -1, "hash upper half" },
	{ RP(hash) + 4, 4, R, NO, S, -1, "padding after hash" },
	{ RP(sk), 8, R, OK, USM_PTR_TO_SOCKET, -1, "sk" },
	{ RP(sk), 4, R, NO, S, -1, "sk 4 bytes" },
	{ RP(migrating_sk), 8, R, OK, USM_PTR_TO_SOCK_COMMON_OR_NULL, -1,
	  "migrating_sk" },
	{ RP(migrating_sk) + 4, 4, R, NO, S, -1, "migrating_sk upper half" },
	{ (int)sizeof(struct sk_reuseport_md), 8, R, NO, S, -1, "past end" },
	{ RP(sk), 8, W, NO, S, -1, "sk write" },
};

static void test_rpp_02_sk_reuseport_access(void **state)
{
	run_cases(BPF_PROG_TYPE_SK_REUSEPORT, rp_cases,
		  sizeof(rp_cases) / sizeof(rp_cases[0]));
}

/* sock_ops: writes to reply and sk_txhash only; u64 fields 8 bytes; the
 * rest exactly 4 except skb_tcp_flags. */
static const struct acase ops_cases[] = {
	{ OPS(op), 4, R, OK, S, -1, "op" },
	{ OPS(op), 2, R, NO, S, -1, "op narrow" },
	{ OPS(op), 4, W, NO, S, -1, "op write" },
	{ OPS(reply), 4, W, OK, S, -1, "reply write" },
	{ OPS(reply), 4, R, OK, S, -1, "reply read" },
	{ OPS(replylong[1]), 4, W, NO, S, -1, "replylong[1] write" },
	{ OPS(replylong[1]), 4, R, OK, S, -1, "replylong[1] read" },
	{ OPS(reply), 8, W, NO, S, -1, "reply 8-byte write" },
	{ OPS(sk_txhash), 4, W, OK, S, -1, "sk_txhash write" },
	{ OPS(sk_txhash), 2, W, NO, S, -1, "sk_txhash narrow write" },
	{ OPS(state), 4, R, OK, S, -1, "state" },
	{ OPS(bytes_received), 8, R, OK, S, -1, "bytes_received" },
	{ OPS(bytes_received), 4, R, NO, S, -1, "bytes_received 4" },
	{ OPS(bytes_acked), 8, R, OK, S, -1, "bytes_acked" },
	{ OPS(sk), 8, R, OK, USM_PTR_TO_SOCKET_OR_NULL, -1, "sk" },
	{ OPS(sk), 4, R, NO, S, -1, "sk 4 bytes" },
	{ OPS(skb_data), 8, R, OK, USM_PTR_TO_PACKET, -1, "skb_data" },
	{ OPS(skb_data_end), 8, R, OK, USM_PTR_TO_PACKET_END, -1,
	  "skb_data_end" },
	{ OPS(skb_len), 4, R, OK, S, -1, "skb_len" },
	{ OPS(skb_tcp_flags), 1, R, OK, S, -1, "skb_tcp_flags byte" },
	{ OPS(skb_tcp_flags), 2, R, OK, S, -1, "skb_tcp_flags half" },
	{ OPS(skb_tcp_flags) + 1, 1, R, NO, S, -1, "skb_tcp_flags byte 1" },
	{ USM_SOCK_OPS_HWTSTAMP_OFF, 8, R, OK, S, -1, "skb_hwtstamp" },
	{ USM_SOCK_OPS_HWTSTAMP_OFF, 4, R, NO, S, -1, "skb_hwtstamp 4" },
	{ USM_SOCK_OPS_CTX_SIZE, 4, R, NO, S, -1, "past the end" },
	{ OPS(op) + 2, 2, R, NO, S, -1, "misaligned-ish narrow" },
};

static void test_sock_ops_access(void **state)
{
	run_cases(BPF_PROG_TYPE_SOCK_OPS, ops_cases,
		  sizeof(ops_cases) / sizeof(ops_cases[0]));
}

struct scase {
	int off, size, write, ok_sock, ok_common;
};

/* struct bpf_sock through PTR_TO_SOCKET and PTR_TO_SOCK_COMMON. */
static const struct scase sock_cases[] = {
	{ SK(bound_dev_if), 4, 0, 1, 1 },
	{ SK(bound_dev_if), 2, 0, 0, 0 },
	{ SK(family), 4, 0, 1, 1 },
	{ SK(family), 2, 0, 1, 1 },
	{ SK(family), 1, 0, 1, 1 },
	{ SK(family) + 2, 2, 0, 0, 0 }, /* narrow only at the field start */
	{ SK(type), 4, 0, 1, 0 },
	{ SK(protocol), 1, 0, 1, 0 },
	{ SK(mark), 4, 0, 1, 0 },
	{ SK(priority), 4, 0, 1, 0 },
	{ SK(src_ip4), 4, 0, 1, 1 },
	{ SK(src_ip4) + 3, 1, 0, 1, 1 },
	{ SK(src_ip6[3]) + 2, 2, 0, 1, 1 },
	{ SK(src_ip6[0]), 8, 0, 0, 0 },
	{ SK(src_port), 4, 0, 1, 1 },
	{ SK(src_port), 2, 0, 1, 1 },
	{ SK(src_port) + 2, 2, 0, 0, 0 },
	{ SK(dst_port), 4, 0, 1, 1 },
	{ SK(dst_port), 2, 0, 1, 1 },
	{ SK(dst_port) + 1, 1, 0, 1, 1 },
	{ SK(dst_port) + 2, 2, 0, 0, 0 }, /* padding after dst_port */
	{ SK(dst_port) + 3, 1, 0, 0, 0 },
	{ SK(dst_ip4), 4, 0, 1, 1 },
	{ SK(dst_ip6[1]), 4, 0, 1, 1 },
	{ SK(state), 1, 0, 1, 1 },
	{ SK(state) + 1, 1, 0, 0, 0 },
	{ SK(rx_queue_mapping), 4, 0, 1, 1 },
	{ (int)sizeof(struct bpf_sock), 4, 0, 0, 0 },
	{ SK(family), 4, 1, 0, 0 }, /* writes never */
	{ SK(family), 8, 0, 0, 0 },
	{ -4, 4, 0, 0, 0 },
};

static void test_bpf_sock_access(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(sock_cases) / sizeof(sock_cases[0]); i++) {
		const struct scase *c = &sock_cases[i];
		const char *why = NULL;
		int a = usm__bpf_sock_is_valid_access(c->off, c->size,
						       c->write, &why);
		int b = usm__bpf_sock_common_is_valid_access(c->off, c->size,
							     c->write, &why);

		if ((a == 0) != c->ok_sock || (b == 0) != c->ok_common) {
			print_error("bpf_sock off=%d size=%d w=%d: %d %d\n",
				    c->off, c->size, c->write, a, b);
			fail();
		}
		if (a)
			assert_int_equal(a, -EACCES);
	}
}

/* The registry: our four types, nothing else. */
static void test_prog_type_get(void **state)
{
	const struct usm_prog_type *pt;

	pt = usm__prog_type_get(BPF_PROG_TYPE_SK_SKB);
	assert_non_null(pt);
	assert_string_equal(pt->name, "sk_skb");
	assert_int_equal(pt->ctx_size, sizeof(struct __sk_buff));
	assert_int_equal(pt->kctx_size, sizeof(struct usm_skb_ctx));
	pt = usm__prog_type_get(BPF_PROG_TYPE_SK_MSG);
	assert_non_null(pt);
	assert_int_equal(pt->ctx_size, sizeof(struct sk_msg_md));
	pt = usm__prog_type_get(BPF_PROG_TYPE_SK_REUSEPORT);
	assert_non_null(pt);
	assert_int_equal(pt->ctx_size, sizeof(struct sk_reuseport_md));
	pt = usm__prog_type_get(BPF_PROG_TYPE_SOCK_OPS);
	assert_non_null(pt);
	assert_int_equal(pt->ctx_size, 224); /* 6.12 incl. skb_hwtstamp */
	assert_true(sizeof(struct usm_sock_ops_ctx) >= 224 + sizeof(void *));
	assert_null(usm__prog_type_get(BPF_PROG_TYPE_XDP));
	assert_null(usm__prog_type_get(BPF_PROG_TYPE_UNSPEC));
	assert_null(usm__prog_type_get(0xffffu));
}

/* libbpf's section table for our types: exact names only. */
static void test_sections(void **state)
{
	static const struct {
		const char *sec;
		int ret;
		uint32_t type, attach;
	} t[] = {
		{ "sk_skb", 0, BPF_PROG_TYPE_SK_SKB, 0 },
		{ "sk_skb/stream_parser", 0, BPF_PROG_TYPE_SK_SKB,
		  BPF_SK_SKB_STREAM_PARSER },
		{ "sk_skb/stream_verdict", 0, BPF_PROG_TYPE_SK_SKB,
		  BPF_SK_SKB_STREAM_VERDICT },
		{ "sk_skb/verdict", 0, BPF_PROG_TYPE_SK_SKB,
		  BPF_SK_SKB_VERDICT },
		{ "sk_msg", 0, BPF_PROG_TYPE_SK_MSG, BPF_SK_MSG_VERDICT },
		{ "sk_reuseport", 0, BPF_PROG_TYPE_SK_REUSEPORT,
		  BPF_SK_REUSEPORT_SELECT },
		{ "sk_reuseport/migrate", 0, BPF_PROG_TYPE_SK_REUSEPORT,
		  BPF_SK_REUSEPORT_SELECT_OR_MIGRATE },
		{ "sockops", 0, BPF_PROG_TYPE_SOCK_OPS, BPF_CGROUP_SOCK_OPS },
		{ "sk_skb/other", -ENOENT, 0, 0 },
		{ "sk_msg/x", -ENOENT, 0, 0 },
		{ "sk_skb/", -ENOENT, 0, 0 },
		{ "xdp", -ENOENT, 0, 0 },
		{ "socket", -ENOENT, 0, 0 },
		{ "", -ENOENT, 0, 0 },
		{ "SK_SKB", -ENOENT, 0, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint32_t type = 77, attach = 77;
		int r = usm__prog_type_from_section(t[i].sec, &type, &attach);

		assert_int_equal(r, t[i].ret);
		if (r == 0) {
			assert_int_equal(type, t[i].type);
			assert_int_equal(attach, t[i].attach);
		} else {
			assert_int_equal(type, 77);
		}
	}
	assert_int_equal(usm__prog_type_from_section(NULL, NULL, NULL),
			 -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prog_type_get),
		cmocka_unit_test(test_sections),
		cmocka_unit_test(test_skb_20_sk_skb_access),
		cmocka_unit_test(test_msg_02_sk_msg_access),
		cmocka_unit_test(test_rpp_02_sk_reuseport_access),
		cmocka_unit_test(test_sock_ops_access),
		cmocka_unit_test(test_bpf_sock_access),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
