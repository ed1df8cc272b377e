// SPDX-License-Identifier: MIT
/*
 * sk_skb programs for the test-run e2e tests (tests/e2e): one program per
 * verdict case, parser cases and the packet-changing helpers. The same
 * object is also loaded into the kernel to compare delivered bytes.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} sock_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 4);
	__type(key, __u64);
	__type(value, __u64);
} sock_hash SEC(".maps");

/* Parser: every received buffer is one message (SKB-08). */
SEC("sk_skb/stream_parser")
int parse_len(struct __sk_buff *skb)
{
	return skb->len;
}

/* Parser: 2-byte big-endian length header + payload; 0 = need more. */
SEC("sk_skb/stream_parser")
int parse_hdr(struct __sk_buff *skb)
{
	__u8 hdr[2];

	if (bpf_skb_load_bytes(skb, 0, hdr, 2) < 0)
		return 0;
	return 2 + ((hdr[0] << 8) | hdr[1]);
}

/* Parser that fails: a negative return aborts the stream (SKB-03). */
SEC("sk_skb/stream_parser")
int parse_err(struct __sk_buff *skb)
{
	return -22;
}

SEC("sk_skb/stream_verdict")
int verdict_pass(struct __sk_buff *skb)
{
	return SK_PASS;
}

SEC("sk_skb/stream_verdict")
int verdict_drop(struct __sk_buff *skb)
{
	return SK_DROP;
}

/* A value other than SK_PASS/SK_DROP drops too (SKB-12). */
SEC("sk_skb/stream_verdict")
int verdict_other(struct __sk_buff *skb)
{
	return 7;
}

/* Egress redirect to sock_map[first byte - '0']. On TCP the payload is
 * not linear until pulled (SKB-20/24). */
SEC("sk_skb/stream_verdict")
int verdict_redirect(struct __sk_buff *skb)
{
	__u8 *data, *end;
	__u32 key = 0;

	bpf_skb_pull_data(skb, 1);
	data = (void *)(long)skb->data;
	end = (void *)(long)skb->data_end;
	if (data + 1 <= end)
		key = data[0] - '0';
	return bpf_sk_redirect_map(skb, &sock_map, key, 0);
}

/* SK_PASS iff the linear part is empty (data == data_end), as on the
 * kernel's TCP receive path before any pull. */
SEC("sk_skb/stream_verdict")
int verdict_nonlinear(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;

	bpf_printk("linear %u len %u", (__u32)(end - data), skb->len);
	return data == end ? SK_PASS : SK_DROP;
}

/* Redirect then SK_DROP: drop (SKB-13). */
SEC("sk_skb/stream_verdict")
int verdict_redirect_drop(struct __sk_buff *skb)
{
	bpf_sk_redirect_map(skb, &sock_map, 0, 0);
	return SK_DROP;
}

/* Redirect with an invalid flag: the helper drops (SKB-17); returning
 * SK_PASS anyway passes to self (SKB-13). */
SEC("sk_skb/stream_verdict")
int verdict_redirect_badflag(struct __sk_buff *skb)
{
	long r = bpf_sk_redirect_map(skb, &sock_map, 0, 2);

	bpf_printk("redirect returned %ld", r);
	return SK_PASS;
}

/* Ingress redirect to sock_map[0] (SKB-14 when that is the receiver). */
SEC("sk_skb/stream_verdict")
int verdict_redirect_ingress(struct __sk_buff *skb)
{
	return bpf_sk_redirect_map(skb, &sock_map, 0, BPF_F_INGRESS);
}

/* Sockhash redirect keyed by the 8-byte value 0x0102030405060708. */
SEC("sk_skb/stream_verdict")
int verdict_redirect_hash(struct __sk_buff *skb)
{
	__u64 key = 0x0102030405060708ULL;

	return bpf_sk_redirect_hash(skb, &sock_hash, &key, 0);
}

/* Overwrite the first 5 bytes (SKB-22/23). */
SEC("sk_skb/stream_verdict")
int verdict_store(struct __sk_buff *skb)
{
	char msg[5] = { 'H', 'E', 'L', 'L', 'O' };

	bpf_skb_store_bytes(skb, 0, msg, sizeof(msg), 0);
	return SK_PASS;
}

/* Direct packet write after a pull and a bounds check (SKB-22/24). */
SEC("sk_skb/stream_verdict")
int verdict_direct_write(struct __sk_buff *skb)
{
	__u8 *data, *end;

	if (bpf_skb_pull_data(skb, 2))
		return SK_DROP;
	data = (void *)(long)skb->data;
	end = (void *)(long)skb->data_end;
	if (data + 2 > end)
		return SK_DROP;
	data[0] = 'X';
	data[1] = 'Y';
	return SK_PASS;
}

/* Grow by 3 zero bytes (SKB-26). */
SEC("sk_skb/stream_verdict")
int verdict_change_tail(struct __sk_buff *skb)
{
	long r = bpf_skb_change_tail(skb, skb->len + 3, 0);

	bpf_printk("change_tail %ld", r);
	return SK_PASS;
}

/* Shrink to 1 byte (SKB-26 "Tr" -> 1 byte). */
SEC("sk_skb/stream_verdict")
int verdict_change_tail_shrink(struct __sk_buff *skb)
{
	bpf_skb_change_tail(skb, 1, 0);
	return SK_PASS;
}

/* Remove 2 bytes from the front (SKB-28). */
SEC("sk_skb/stream_verdict")
int verdict_adjust_room(struct __sk_buff *skb)
{
	long r = bpf_skb_adjust_room(skb, -2, 0, 0);

	bpf_printk("adjust_room %ld", r);
	return SK_PASS;
}

/* Trace lines with context fields (SKB-20 byte orders). */
SEC("sk_skb/stream_verdict")
int verdict_printk(struct __sk_buff *skb)
{
	bpf_printk("len %u", skb->len);
	bpf_printk("local_port %u remote_port %u", skb->local_port,
		   bpf_ntohl(skb->remote_port));
	bpf_printk("remote_ip4 %x family %u", bpf_ntohl(skb->remote_ip4),
		   skb->family);
	return SK_PASS;
}

/* IPv6 addresses are in network order, word by word (SKB-20). */
SEC("sk_skb/stream_verdict")
int verdict_ip6(struct __sk_buff *skb)
{
	bpf_printk("remote_ip6 %x:%x", bpf_ntohl(skb->remote_ip6[0]),
		   bpf_ntohl(skb->remote_ip6[3]));
	bpf_printk("local_ip6 %x family %u", bpf_ntohl(skb->local_ip6[0]),
		   skb->family);
	return SK_PASS;
}

/* Pass only traffic whose peer port is 80 (SKB-20: remote_port is in
 * network order in the upper 16 bits). */
SEC("sk_skb/stream_verdict")
int verdict_port80(struct __sk_buff *skb)
{
	return bpf_ntohl(skb->remote_port) == 80 ? SK_PASS : SK_DROP;
}

/* Copy cb[0] to priority (a writable field) and return cb[1]. */
SEC("sk_skb/stream_verdict")
int verdict_cb(struct __sk_buff *skb)
{
	skb->priority = skb->cb[0];
	return skb->cb[1];
}

/* A bounded loop of 20000 iterations (~100k instructions), for
 * instruction-budget tests. */
SEC("sk_skb/stream_verdict")
int verdict_loop(struct __sk_buff *skb)
{
	__u32 i, acc = 0;

	for (i = 0; i < 20000; i++)
		acc += i ^ skb->len;
	return acc & 1;
}

char _license[] SEC("license") = "GPL";
