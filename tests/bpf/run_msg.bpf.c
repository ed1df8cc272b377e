// SPDX-License-Identifier: MIT
/*
 * sk_msg programs for the test-run e2e tests: verdicts, redirects, the
 * apply/cork/pull/push/pop helpers.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} sock_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} sock_hash SEC(".maps");

SEC("sk_msg")
int msg_pass(struct sk_msg_md *msg)
{
	return SK_PASS;
}

SEC("sk_msg")
int msg_drop(struct sk_msg_md *msg)
{
	return SK_DROP;
}

/* Egress redirect to sock_map[1] (MSG-16). */
SEC("sk_msg")
int msg_redirect(struct sk_msg_md *msg)
{
	return bpf_msg_redirect_map(msg, &sock_map, 1, 0);
}

/* Ingress redirect to sock_hash[7]. */
SEC("sk_msg")
int msg_redirect_hash(struct sk_msg_md *msg)
{
	__u32 key = 7;

	return bpf_msg_redirect_hash(msg, &sock_hash, &key, BPF_F_INGRESS);
}

/* Redirect then drop: drop (MSG-04). */
SEC("sk_msg")
int msg_redirect_drop(struct sk_msg_md *msg)
{
	bpf_msg_redirect_map(msg, &sock_map, 1, 0);
	return SK_DROP;
}

SEC("sk_msg")
int msg_apply_cork(struct sk_msg_md *msg)
{
	bpf_msg_apply_bytes(msg, 10);
	bpf_msg_cork_bytes(msg, 20);
	return SK_PASS;
}

/* Insert "HDR:" in front of the message (MSG-12, then MSG-11 to write). */
SEC("sk_msg")
int msg_push(struct sk_msg_md *msg)
{
	char *data, *end;

	if (bpf_msg_push_data(msg, 0, 4, 0))
		return SK_DROP;
	if (bpf_msg_pull_data(msg, 0, 4, 0))
		return SK_DROP;
	data = msg->data;
	end = msg->data_end;
	if (data + 4 > end)
		return SK_DROP;
	data[0] = 'H';
	data[1] = 'D';
	data[2] = 'R';
	data[3] = ':';
	return SK_PASS;
}

/* Remove bytes 1..2 (MSG-13). */
SEC("sk_msg")
int msg_pop(struct sk_msg_md *msg)
{
	long r = bpf_msg_pop_data(msg, 1, 2, 0);

	bpf_printk("pop %ld size %u", r, msg->size);
	return SK_PASS;
}

/* Trace the message size and first-chunk span (MSG-03). */
SEC("sk_msg")
int msg_printk(struct sk_msg_md *msg)
{
	bpf_printk("size %u span %u", msg->size,
		   (__u32)((long)msg->data_end - (long)msg->data));
	bpf_printk("local_port %u family %u", msg->local_port, msg->family);
	return SK_PASS;
}

char _license[] SEC("license") = "GPL";
