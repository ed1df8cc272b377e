// SPDX-License-Identifier: MIT
/*
 * Header injection on the send path (sk_msg), as tracing agents do: every
 * message the application sends gets an 8-byte header in front of it,
 * "TRC1" followed by the original message length (big endian). The
 * program pushes 8 bytes at offset 0 (bpf_msg_push_data), which leaves
 * data/data_end on the new first chunk, and writes the header there.
 * The application's send() still returns its own byte count.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u32);
} sock_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u32);
} sock_hash SEC(".maps");

SEC("sk_msg")
int add_header(struct sk_msg_md *msg)
{
	__u32 len = msg->size;
	__u8 *d, *e;

	if (bpf_msg_push_data(msg, 0, 8, 0))
		return SK_PASS; /* could not grow: send it unchanged */
	if (bpf_msg_pull_data(msg, 0, 8, 0))
		return SK_PASS;
	d = msg->data;
	e = msg->data_end;
	if (d + 8 > e)
		return SK_PASS;
	d[0] = 'T';
	d[1] = 'R';
	d[2] = 'C';
	d[3] = '1';
	d[4] = len >> 24;
	d[5] = len >> 16;
	d[6] = len >> 8;
	d[7] = len;
	return SK_PASS;
}

char _license[] SEC("license") = "GPL";
