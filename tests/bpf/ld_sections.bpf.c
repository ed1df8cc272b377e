// SPDX-License-Identifier: MIT
/*
 * Loader test object: the section names that select program and attach
 * types, usockmap's own types first, then types it does not run (kept,
 * not loaded) and one program libbpf would not load by default ("?").
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("sk_skb/stream_parser")
int s_parser(struct __sk_buff *skb) { return skb->len; }

SEC("sk_skb/stream_verdict")
int s_stream_verdict(struct __sk_buff *skb) { return SK_PASS; }

SEC("sk_skb/verdict")
int s_skb_verdict(struct __sk_buff *skb) { return SK_PASS; }

SEC("sk_skb")
int s_plain_skb(struct __sk_buff *skb) { return SK_PASS; }

SEC("sk_msg")
int s_msg(struct sk_msg_md *msg) { return SK_PASS; }

SEC("sk_reuseport")
int s_reuseport(struct sk_reuseport_md *md) { return SK_PASS; }

SEC("sk_reuseport/migrate")
int s_reuseport_migrate(struct sk_reuseport_md *md) { return SK_PASS; }

SEC("sockops")
int s_sockops(struct bpf_sock_ops *ops) { return 1; }

SEC("xdp")
int s_xdp(struct xdp_md *ctx) { return XDP_PASS; }

SEC("tc")
int s_tc(struct __sk_buff *skb) { return 0; }

SEC("socket")
int s_socket(struct __sk_buff *skb) { return 0; }

SEC("?sk_skb/stream_verdict")
int s_optional(struct __sk_buff *skb) { return SK_DROP; }

char _license[] SEC("license") = "GPL";
