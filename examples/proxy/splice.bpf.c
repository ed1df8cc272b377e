// SPDX-License-Identifier: MIT
/*
 * A TCP splice proxy as a sockmap object: `usockmap run` (or a kernel
 * loader with a cgroup sock_ops attach) accepts a client, opens one
 * backend connection for it, and this object moves the bytes both ways.
 *
 * sockops: every established socket goes into `socks` keyed by its
 * cookie. A passive (accepted) socket is remembered in `pending`; the next
 * active (backend) socket is paired with it: `peer` maps each cookie to
 * the other one. (usockmap run opens the backend right after the client's
 * PASSIVE_ESTABLISHED callback, one connection at a time, so the pairing
 * by order is exact.)
 *
 * verdict: bytes read on one socket are redirected to the egress of its
 * peer, i.e. sent to the peer's remote end (SEMANTICS SKB-15).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 65536);
	__type(key, __u64);   /* socket cookie */
	__type(value, __u64);
} socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);   /* cookie */
	__type(value, __u64); /* the paired socket's cookie */
} peer SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64); /* cookie of the client waiting for a backend */
} pending SEC(".maps");

SEC("sockops")
int pair(struct bpf_sock_ops *ops)
{
	__u64 cookie = bpf_get_socket_cookie(ops), *client;
	__u32 zero = 0;

	switch (ops->op) {
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		bpf_sock_hash_update(ops, &socks, &cookie, BPF_ANY);
		bpf_map_update_elem(&pending, &zero, &cookie, BPF_ANY);
		break;
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
		client = bpf_map_lookup_elem(&pending, &zero);
		if (!client || !*client)
			break;
		bpf_map_update_elem(&peer, client, &cookie, BPF_ANY);
		bpf_map_update_elem(&peer, &cookie, client, BPF_ANY);
		bpf_sock_hash_update(ops, &socks, &cookie, BPF_ANY);
		*client = 0;
		break;
	default:
		break;
	}
	return 1;
}

SEC("sk_skb/stream_verdict")
int splice(struct __sk_buff *skb)
{
	__u64 cookie = bpf_get_socket_cookie(skb), *other;

	other = bpf_map_lookup_elem(&peer, &cookie);
	if (!other)
		return SK_DROP;
	return bpf_sk_redirect_hash(skb, &socks, other, 0);
}

char _license[] SEC("license") = "GPL";
