// SPDX-License-Identifier: MIT
/*
 * Stream parsers (attach type BPF_SK_SKB_STREAM_PARSER). A parser tells the
 * kernel's strparser how long the next message is; the verdict program then
 * runs once per message.
 *
 *   parse_len   every received buffer is one message: return skb->len
 *   parse_hdr   messages are a 2-byte big-endian length header followed by
 *               that many payload bytes; return 0 ("need more data") until
 *               the header is there
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("sk_skb/stream_parser")
int parse_len(struct __sk_buff *skb)
{
	return skb->len;
}

SEC("sk_skb/stream_parser")
int parse_hdr(struct __sk_buff *skb)
{
	__u8 hdr[2];

	/* Fewer than 2 bytes buffered: wait for more. */
	if (bpf_skb_load_bytes(skb, 0, hdr, sizeof(hdr)) < 0)
		return 0;
	return sizeof(hdr) + ((hdr[0] << 8) | hdr[1]);
}

char _license[] SEC("license") = "GPL";
