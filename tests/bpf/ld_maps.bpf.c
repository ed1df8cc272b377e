// SPDX-License-Identifier: MIT
/*
 * Loader test object: one BTF-defined map of each plain and socket map type
 * usockmap creates, used by an sk_skb verdict and an sk_msg program, plus a
 * map whose name is longer than the kernel's 15 characters.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} arr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, __u32);
} hsh SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} pcpu_arr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4);
	__type(key, __u64);
	__type(value, __u32);
} pcpu_hsh SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} sock_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} sock_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} a_map_with_a_long_name SEC(".maps");

SEC("sk_skb/stream_verdict")
int verdict(struct __sk_buff *skb)
{
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&arr, &k);
	__u32 *h = bpf_map_lookup_elem(&hsh, &k);
	__u64 *c = bpf_map_lookup_elem(&pcpu_arr, &k);
	__u32 *l = bpf_map_lookup_elem(&a_map_with_a_long_name, &k);

	if (v)
		*v += 1;
	if (c)
		*c += skb->len;
	if (h && l && *h == *l)
		return SK_DROP;
	return bpf_sk_redirect_map(skb, &sock_map, 0, 0);
}

SEC("sk_msg")
int msg_verdict(struct sk_msg_md *msg)
{
	__u32 k = 1;
	__u64 pk = 7;
	__u32 *p = bpf_map_lookup_elem(&pcpu_hsh, &pk);

	if (p && *p)
		return SK_DROP;
	return bpf_msg_redirect_hash(msg, &sock_hash, &k, BPF_F_INGRESS);
}

char _license[] SEC("license") = "GPL";
