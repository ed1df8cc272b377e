// SPDX-License-Identifier: MIT
/*
 * Small programs for the bpf(2) core tests (tests/unit/core): one of each
 * socket-map attach kind, plus second programs of the same kinds so that
 * replace/detach/link-update cases have two distinct programs. No maps, no
 * relocations: the tests load the raw instructions with BPF_PROG_LOAD into
 * usockmap and into the kernel alike.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("sk_skb/stream_parser")
int core_parser(struct __sk_buff *skb)
{
	return skb->len;
}

SEC("sk_skb/stream_parser")
int core_parser2(struct __sk_buff *skb)
{
	return skb->len > 4 ? 4 : skb->len;
}

SEC("sk_skb/stream_verdict")
int core_verdict(struct __sk_buff *skb)
{
	return SK_PASS;
}

SEC("sk_skb/stream_verdict")
int core_verdict2(struct __sk_buff *skb)
{
	return skb->len > 100 ? SK_DROP : SK_PASS;
}

SEC("sk_skb/verdict")
int core_skb_verdict(struct __sk_buff *skb)
{
	return SK_PASS;
}

SEC("sk_msg")
int core_msg(struct sk_msg_md *msg)
{
	return SK_PASS;
}

SEC("sk_msg")
int core_msg2(struct sk_msg_md *msg)
{
	return msg->size > 100 ? SK_DROP : SK_PASS;
}

SEC("sockops")
int core_sockops(struct bpf_sock_ops *ops)
{
	return 1;
}

char _license[] SEC("license") = "GPL";
