// SPDX-License-Identifier: MIT
/*
 * Program and map for sk_msg_sample.c: an sk_msg verdict on the sockets of
 * `sock_map` that drops messages starting with the byte 'X' and passes the
 * rest, counting both in `verdicts`.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} sock_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} verdicts SEC(".maps");

SEC("sk_msg")
int msg_filter(struct sk_msg_md *msg)
{
	__u8 *data = msg->data, *end = msg->data_end;
	__u32 k = SK_PASS;
	__u64 *n;

	if (data + 1 <= end && data[0] == 'X')
		k = SK_DROP;
	n = bpf_map_lookup_elem(&verdicts, &k);
	if (n)
		__sync_fetch_and_add(n, 1);
	return k;
}

char _license[] SEC("license") = "GPL";
