// SPDX-License-Identifier: MIT
/* Loader test object: a valid program but no license section. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("sk_skb")
int no_license(struct __sk_buff *skb)
{
	return SK_PASS;
}
