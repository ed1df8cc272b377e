// SPDX-License-Identifier: MIT
/*
 * Putting connections into a SOCKHASH as they are established (sock_ops,
 * attached to a cgroup in the kernel). The key is the connection's 4-tuple
 * as seen from this socket, so a verdict program can later redirect to
 * "the socket of connection X". bpf_sock_hash_update only works in the
 * ESTABLISHED and LISTEN callbacks (SEMANTICS MAP-BPF-01).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct conn_key {
	__u32 local_ip4;
	__u32 remote_ip4;
	__u32 local_port;  /* host order */
	__u32 remote_port; /* as the context gives it: network order, << 16 */
};

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 1024);
	__type(key, struct conn_key);
	__type(value, __u64);
} conns SEC(".maps");

SEC("sockops")
int track(struct bpf_sock_ops *ops)
{
	struct conn_key key = {};
	long err;

	if (ops->family != 2 /* AF_INET */)
		return 1;
	switch (ops->op) {
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		key.local_ip4 = ops->local_ip4;
		key.remote_ip4 = ops->remote_ip4;
		key.local_port = ops->local_port;
		key.remote_port = ops->remote_port;
		err = bpf_sock_hash_update(ops, &conns, &key, BPF_NOEXIST);
		bpf_printk("op %u: port %u -> conns: %ld", ops->op,
			   key.local_port, err);
		break;
	default:
		break;
	}
	return 1;
}

char _license[] SEC("license") = "GPL";
