// SPDX-License-Identifier: MIT
/*
 * A program every verifier must reject: a packet read without a bounds
 * check against data_end. Used to test that `usockmap prog load/run`
 * prints the verifier log and fails.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("sk_skb/stream_verdict")
int unchecked_read(struct __sk_buff *skb)
{
	__u8 *data = (void *)(long)skb->data;

	return data[0] == 'x' ? SK_DROP : SK_PASS;
}

char _license[] SEC("license") = "GPL";
