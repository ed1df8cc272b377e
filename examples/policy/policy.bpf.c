// SPDX-License-Identifier: MIT
/*
 * A send-side policy filter (sk_msg). The protocol starts every request
 * with a 4-byte command ("GET ", "PUT ", "DEL "). Until 4 bytes are there
 * the program corks: bpf_msg_cork_bytes(4) makes the kernel hold the bytes
 * (the send call still succeeds) and run the program again once 4 bytes
 * have accumulated. Then it reads the command and drops DEL requests: the
 * sender's send() fails with EACCES, nothing reaches the peer.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("sk_msg")
int filter(struct sk_msg_md *msg)
{
	__u8 *data, *end;

	if (msg->size < 4) {
		bpf_msg_cork_bytes(msg, 4);
		return SK_PASS;
	}
	if (bpf_msg_pull_data(msg, 0, 4, 0))
		return SK_DROP;
	data = msg->data;
	end = msg->data_end;
	if (data + 4 > end)
		return SK_DROP;
	if (data[0] == 'D' && data[1] == 'E' && data[2] == 'L' &&
	    data[3] == ' ') {
		bpf_printk("policy: DEL refused");
		return SK_DROP;
	}
	return SK_PASS;
}

char _license[] SEC("license") = "GPL";
