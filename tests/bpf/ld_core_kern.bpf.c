// SPDX-License-Identifier: MIT
/*
 * Loader test object: a CO-RE relocation against a kernel-internal type,
 * which only the kernel's BTF can resolve, and a program without any that
 * loads once the first is not requested.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct sock_common {
	unsigned short skc_family;
} __attribute__((preserve_access_index));

struct sock {
	struct sock_common __sk_common;
	unsigned int sk_mark;
} __attribute__((preserve_access_index));

SEC("sk_skb")
int needs_kernel_btf(struct __sk_buff *skb)
{
	struct sock *sk = (void *)(long)skb->data;

	return bpf_core_field_offset(sk->sk_mark) > 4 ? SK_PASS : SK_DROP;
}

SEC("sk_skb")
int plain(struct __sk_buff *skb)
{
	return SK_PASS;
}

char _license[] SEC("license") = "GPL";
