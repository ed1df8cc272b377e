// SPDX-License-Identifier: MIT
/*
 * sk_msg programs for bench/send_bench (the same object runs on usockmap
 * and the kernel): bench_pass passes every message; bench_redir is the
 * "local acceleration" pattern, redirecting each message with
 * BPF_F_INGRESS into the receive queue of the socket stored in peers at
 * the sender's local port (host order), i.e. the sender's own peer.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u32);
} peers SEC(".maps");

SEC("sk_msg")
int bench_pass(struct sk_msg_md *msg)
{
	return SK_PASS;
}

SEC("sk_msg")
int bench_redir(struct sk_msg_md *msg)
{
	__u32 key = msg->local_port;

	return bpf_msg_redirect_hash(msg, &peers, &key, BPF_F_INGRESS);
}

char _license[] SEC("license") = "GPL";
