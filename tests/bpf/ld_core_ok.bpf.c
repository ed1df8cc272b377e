// SPDX-License-Identifier: MIT
/*
 * Loader test object: CO-RE relocations against the full UAPI context
 * structs (what a vmlinux.h-style program produces for plain ctx field
 * loads): resolvable without kernel BTF.
 */
#pragma clang attribute push(__attribute__((preserve_access_index)), \
			     apply_to = record)
#include <linux/bpf.h>
#pragma clang attribute pop
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

SEC("sk_skb/stream_verdict")
int core_skb(struct __sk_buff *skb)
{
	if (!bpf_core_field_exists(skb->mark))
		return SK_DROP;
	return skb->len > 10 && skb->remote_ip4 ? SK_PASS : SK_DROP;
}

SEC("sk_msg")
int core_msg(struct sk_msg_md *msg)
{
	return msg->size > bpf_core_type_size(struct sk_msg_md) ? SK_DROP
								  : SK_PASS;
}

char _license[] SEC("license") = "GPL";
