// SPDX-License-Identifier: MIT
/*
 * Loader test object: a PROG_ARRAY with initial slots (`.values`), which
 * libbpf's gen_loader mode refuses and usockmap fills itself.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

int tail_pass(struct __sk_buff *skb);
int tail_drop(struct __sk_buff *skb);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, int (void *));
} jmp SEC(".maps") = {
	.values = {
		[1] = (void *)&tail_pass,
		[3] = (void *)&tail_drop,
	},
};

SEC("sk_skb/stream_verdict")
int entry(struct __sk_buff *skb)
{
	bpf_tail_call(skb, &jmp, skb->len & 3);
	return SK_DROP;
}

SEC("sk_skb/stream_verdict")
int tail_pass(struct __sk_buff *skb)
{
	return SK_PASS;
}

SEC("sk_skb/stream_verdict")
int tail_drop(struct __sk_buff *skb)
{
	return SK_DROP;
}

char _license[] SEC("license") = "GPL";
