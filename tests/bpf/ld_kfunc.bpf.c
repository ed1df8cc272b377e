// SPDX-License-Identifier: MIT
/*
 * Loader test object: a kfunc call and a typed kernel symbol, which need
 * the kernel; usockmap refuses both at load.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern int bpf_some_kfunc(int x) __ksym;
extern const int some_kernel_var __ksym;

SEC("sk_skb")
int calls_kfunc(struct __sk_buff *skb)
{
	return bpf_some_kfunc(skb->len);
}

SEC("sk_skb")
int reads_ksym(struct __sk_buff *skb)
{
	return some_kernel_var;
}

char _license[] SEC("license") = "GPL";
