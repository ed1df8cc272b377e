// SPDX-License-Identifier: MIT
/*
 * sock_ops program for the test-run e2e tests: insert established sockets
 * into a SOCKHASH keyed by the local port (MAP-BPF-01).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} sock_hash SEC(".maps");

SEC("sockops")
int ops_insert(struct bpf_sock_ops *ops)
{
	__u32 key = ops->local_port;
	long r;

	switch (ops->op) {
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_TCP_LISTEN_CB:
		break;
	default:
		return 1;
	}
	r = bpf_sock_hash_update(ops, &sock_hash, &key, BPF_NOEXIST);
	bpf_printk("op %u key %u update %ld", ops->op, key, r);
	return 1;
}

char _license[] SEC("license") = "GPL";
