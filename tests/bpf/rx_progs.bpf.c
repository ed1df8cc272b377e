// SPDX-License-Identifier: MIT
/*
 * sk_skb programs for the engine's receive-path e2e tests
 * (tests/e2e/test_rx_*.c): pass, drop, redirect to a configured key and
 * flags on a SOCKMAP or SOCKHASH, a program that rewrites data, and
 * parsers. The same object is loaded into the kernel for comparison.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} sock_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} sock_hash SEC(".maps");

/* cfg[0] = redirect key, cfg[1] = redirect flags. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} cfg SEC(".maps");

static __always_inline __u32 cfg_get(__u32 i)
{
	__u32 *v = bpf_map_lookup_elem(&cfg, &i);

	return v ? *v : 0;
}

SEC("sk_skb/stream_verdict")
int rx_pass(struct __sk_buff *skb)
{
	return SK_PASS;
}

SEC("sk_skb/stream_verdict")
int rx_drop(struct __sk_buff *skb)
{
	return SK_DROP;
}

/* Any value other than SK_PASS drops (SKB-12). */
SEC("sk_skb/stream_verdict")
int rx_seven(struct __sk_buff *skb)
{
	return 7;
}

SEC("sk_skb/stream_verdict")
int rx_redir_map(struct __sk_buff *skb)
{
	return bpf_sk_redirect_map(skb, &sock_map, cfg_get(0), cfg_get(1));
}

SEC("sk_skb/stream_verdict")
int rx_redir_hash(struct __sk_buff *skb)
{
	__u32 key = cfg_get(0);

	return bpf_sk_redirect_hash(skb, &sock_hash, &key, cfg_get(1));
}

/* A successful redirect followed by SK_DROP drops (SKB-13). */
SEC("sk_skb/stream_verdict")
int rx_redir_then_drop(struct __sk_buff *skb)
{
	bpf_sk_redirect_map(skb, &sock_map, cfg_get(0), cfg_get(1));
	return SK_DROP;
}

/* A failed redirect (bad flags) followed by SK_PASS passes (SKB-13). */
SEC("sk_skb/stream_verdict")
int rx_redir_fail_pass(struct __sk_buff *skb)
{
	bpf_sk_redirect_map(skb, &sock_map, cfg_get(0), 0x100);
	return SK_PASS;
}

/* SKB-22: the first byte becomes 'X', then redirect per cfg. */
SEC("sk_skb/stream_verdict")
int rx_write_redir(struct __sk_buff *skb)
{
	char x = 'X';

	bpf_skb_store_bytes(skb, 0, &x, 1, 0);
	return bpf_sk_redirect_map(skb, &sock_map, cfg_get(0), cfg_get(1));
}

/* SKB-22 with a direct write after pull_data. */
SEC("sk_skb/stream_verdict")
int rx_direct_write(struct __sk_buff *skb)
{
	__u8 *d, *e;

	bpf_skb_pull_data(skb, 1);
	d = (void *)(long)skb->data;
	e = (void *)(long)skb->data_end;
	if (d + 1 > e)
		return SK_DROP;
	d[0] = 'Y';
	return SK_PASS;
}

SEC("sk_skb/stream_parser")
int rx_parse_len(struct __sk_buff *skb)
{
	return skb->len;
}

/* 1-byte length header + payload; 0 = need more. */
SEC("sk_skb/stream_parser")
int rx_parse_hdr(struct __sk_buff *skb)
{
	__u8 h;

	if (bpf_skb_load_bytes(skb, 0, &h, 1) < 0)
		return 0;
	return 1 + h;
}



/* A parser error aborts the stream with that error (SKB-03). */
SEC("sk_skb/stream_parser")
int rx_parse_err(struct __sk_buff *skb)
{
	return -71; /* -EPROTO */
}
char _license[] SEC("license") = "GPL";
