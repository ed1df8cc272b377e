// SPDX-License-Identifier: MIT
/*
 * Local socket-to-socket acceleration: when a TCP connection between two
 * local sockets is established, the sock_ops program puts both ends into
 * a SOCKHASH keyed by their 4-tuple; the sk_msg program then looks up the
 * peer of the sending socket (the 4-tuple reversed) and redirects each
 * message straight into the peer's receive queue (BPF_F_INGRESS), so the
 * bytes never cross the TCP stack. Messages of sockets whose peer is not
 * in the map go out normally.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct tuple {
	__u32 local_ip4;   /* network order */
	__u32 remote_ip4;  /* network order */
	__u32 local_port;  /* host order */
	__u32 remote_port; /* host order */
};

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 1024);
	__type(key, struct tuple);
	__type(value, __u32);
} sock_hash SEC(".maps");

SEC("sockops")
int insert(struct bpf_sock_ops *skops)
{
	struct tuple t = {};

	if (skops->family != 2 /* AF_INET */)
		return 1;
	switch (skops->op) {
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		t.local_ip4 = skops->local_ip4;
		t.remote_ip4 = skops->remote_ip4;
		t.local_port = skops->local_port;
		t.remote_port = bpf_ntohl(skops->remote_port);
		bpf_sock_hash_update(skops, &sock_hash, &t, BPF_NOEXIST);
		break;
	}
	return 1;
}

SEC("sk_msg")
int redirect(struct sk_msg_md *msg)
{
	struct tuple peer = {};

	if (msg->family != 2 /* AF_INET */)
		return SK_PASS;
	peer.local_ip4 = msg->remote_ip4;
	peer.remote_ip4 = msg->local_ip4;
	peer.local_port = bpf_ntohl(msg->remote_port);
	peer.remote_port = msg->local_port;
	bpf_msg_redirect_hash(msg, &sock_hash, &peer, BPF_F_INGRESS);
	return SK_PASS; /* no peer: the helper recorded nothing, plain send */
}

char _license[] SEC("license") = "GPL";
