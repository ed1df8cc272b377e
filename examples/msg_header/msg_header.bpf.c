// SPDX-License-Identifier: MIT
/*
 * Header injection on the send path (sk_msg). Every message an application
 * sends gets a 4-byte big-endian length header in front of it:
 *
 *   bpf_msg_apply_bytes(size)   this verdict covers exactly this message,
 *                               so the program runs again for the next one
 *   bpf_msg_push_data(0, 4)     insert 4 bytes at the front (the kernel
 *                               leaves them uninitialised)
 *   bpf_msg_pull_data(0, 4)     make them directly writable through
 *                               msg->data (push resets the data pointers)
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("sk_msg")
int add_header(struct sk_msg_md *msg)
{
	__u32 len = msg->size;
	__u8 *data, *end;

	bpf_msg_apply_bytes(msg, len);
	if (bpf_msg_push_data(msg, 0, 4, 0))
		return SK_DROP;
	if (bpf_msg_pull_data(msg, 0, 4, 0))
		return SK_DROP;
	data = msg->data;
	end = msg->data_end;
	if (data + 4 > end)
		return SK_DROP;
	data[0] = len >> 24;
	data[1] = len >> 16;
	data[2] = len >> 8;
	data[3] = len;
	return SK_PASS;
}

char _license[] SEC("license") = "GPL";
