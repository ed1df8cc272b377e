// SPDX-License-Identifier: MIT
/*
 * A send-side policy filter (sk_msg). Requests start with an 8-byte
 * command header "CMD:" + 4 letters ("CMD:READ", "CMD:WRIT", "CMD:WIPE").
 * An application may write the header in pieces: while fewer than 8 bytes
 * are there the program corks (bpf_msg_cork_bytes(8)): the bytes are held,
 * the send call reports them sent, and the program runs once more on the
 * whole buffer when 8 bytes have accumulated. The header may then span
 * chunks, so bpf_msg_pull_data(0, 8) makes it readable. "CMD:WIPE" is
 * forbidden: the request is dropped and the send fails with EACCES.
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
int filter(struct sk_msg_md *msg)
{
	__u8 *d, *e;

	if (msg->size < 8) {
		bpf_msg_cork_bytes(msg, 8);
		return SK_PASS;
	}
	if (bpf_msg_pull_data(msg, 0, 8, 0))
		return SK_DROP;
	d = msg->data;
	e = msg->data_end;
	if (d + 8 > e)
		return SK_DROP;
	if (d[0] != 'C' || d[1] != 'M' || d[2] != 'D' || d[3] != ':')
		return SK_DROP; /* not our protocol */
	if (d[4] == 'W' && d[5] == 'I' && d[6] == 'P' && d[7] == 'E')
		return SK_DROP;
	return SK_PASS;
}

char _license[] SEC("license") = "GPL";
