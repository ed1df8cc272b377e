// SPDX-License-Identifier: MIT
/*
 * Loader test object: a program the verifier rejects (packet access
 * without the data_end check) next to one it accepts.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("sk_skb/stream_verdict")
int unchecked_read(struct __sk_buff *skb)
{
	unsigned char *data = (void *)(long)skb->data;

	return data[0] == 'x' ? SK_DROP : SK_PASS;
}

SEC("sk_skb/stream_verdict")
int fine(struct __sk_buff *skb)
{
	return SK_PASS;
}

char _license[] SEC("license") = "GPL";
