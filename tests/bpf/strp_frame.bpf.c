// SPDX-License-Identifier: MIT
/*
 * Stream parser and verdict programs for the strparser e2e tests
 * (tests/e2e/test_strp_*.c), written after the behaviours the kernel's
 * sockmap_strp selftest checks: a 4-byte-header parser with a 10-byte
 * message (0 while the header is incomplete), fixed-length parsers, a
 * parser that returns skb->len, a pass verdict and a verdict that
 * dispatches by message length. Loaded unchanged into usockmap and into
 * the kernel.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} sock_map SEC(".maps");

/* verdict_record: [0] = number of runs, [1 + i] = skb->len of run i. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u32);
} lens SEC(".maps");

/* SKB-02 then SKB-01: need more until 4 header bytes, then 10. */
SEC("sk_skb/stream_parser")
int parse_partial(struct __sk_buff *skb)
{
	if (skb->len < 4)
		return 0;
	return 10;
}

/* SKB-06: always 3. */
SEC("sk_skb/stream_parser")
int parse_3(struct __sk_buff *skb)
{
	return 3;
}

/* SKB-07: always 20. */
SEC("sk_skb/stream_parser")
int parse_20(struct __sk_buff *skb)
{
	return 20;
}

/* SKB-08: each received buffer is one message. */
SEC("sk_skb/stream_parser")
int parse_len(struct __sk_buff *skb)
{
	return skb->len;
}

/* SKB-03: abort the stream with -1 (EPERM on the socket). */
SEC("sk_skb/stream_parser")
int parse_neg(struct __sk_buff *skb)
{
	return -1;
}

/* SKB-04: a length beyond any SO_RCVBUF: EMSGSIZE. */
SEC("sk_skb/stream_parser")
int parse_big(struct __sk_buff *skb)
{
	return 1 << 28;
}

SEC("sk_skb/stream_verdict")
int verdict_pass(struct __sk_buff *skb)
{
	return SK_PASS;
}

/* Messages longer than 5 bytes pass; others go out of slot 1's socket. */
SEC("sk_skb/stream_verdict")
int verdict_dispatch(struct __sk_buff *skb)
{
	if (skb->len > 5)
		return SK_PASS;
	return bpf_sk_redirect_map(skb, &sock_map, 1, 0);
}

/* SKB-07: record what skb->len the verdict sees, then pass. */
SEC("sk_skb/stream_verdict")
int verdict_record(struct __sk_buff *skb)
{
	__u32 zero = 0, idx, *cnt, *slot;

	cnt = bpf_map_lookup_elem(&lens, &zero);
	if (!cnt)
		return SK_DROP;
	idx = *cnt + 1;
	if (idx < 16) {
		slot = bpf_map_lookup_elem(&lens, &idx);
		if (slot)
			*slot = skb->len;
		*cnt = idx;
	}
	return SK_PASS;
}

char _license[] SEC("license") = "GPL";
