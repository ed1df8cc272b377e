// SPDX-License-Identifier: MIT
/*
 * Programs for sockmap_sample.c: an sk_skb stream parser that takes each
 * buffer as one message and a stream verdict that passes everything. The
 * sample attaches them to a SOCKMAP the way Documentation/bpf/map_sockmap.rst
 * shows.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("sk_skb/stream_parser")
int whole_buffer(struct __sk_buff *skb)
{
	return skb->len;
}

SEC("sk_skb/stream_verdict")
int pass_all(struct __sk_buff *skb)
{
	return SK_PASS;
}

char _license[] SEC("license") = "GPL";
