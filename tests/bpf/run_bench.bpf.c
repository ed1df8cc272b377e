// SPDX-License-Identifier: MIT
/*
 * Programs for bench/vm_bench.c: the three shapes the VM benchmark times,
 * in usockmap's interpreter and (with bpf_stats) in the kernel on real
 * loopback traffic.
 *   bench_parser    a stream parser: return skb->len
 *   bench_verdict   a verdict: array lookup of the target slot, then
 *                   bpf_sk_redirect_map to it
 *   bench_msg       an sk_msg program: apply_bytes + pull_data
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} sock_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cfg SEC(".maps");

SEC("sk_skb/stream_parser")
int bench_parser(struct __sk_buff *skb)
{
	return skb->len;
}

SEC("sk_skb/stream_verdict")
int bench_verdict(struct __sk_buff *skb)
{
	__u32 zero = 0, *target;

	target = bpf_map_lookup_elem(&cfg, &zero);
	if (!target)
		return SK_DROP;
	return bpf_sk_redirect_map(skb, &sock_map, *target, 0);
}

/* A plain verdict to pair with the parser in the kernel run. */
SEC("sk_skb/stream_verdict")
int bench_pass(struct __sk_buff *skb)
{
	return SK_PASS;
}

SEC("sk_msg")
int bench_msg(struct sk_msg_md *msg)
{
	bpf_msg_apply_bytes(msg, msg->size);
	if (bpf_msg_pull_data(msg, 0, 4, 0))
		return SK_DROP;
	return SK_PASS;
}

char _license[] SEC("license") = "GPL";
