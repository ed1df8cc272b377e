// SPDX-License-Identifier: MIT
/*
 * Loader test object: an ARRAY_OF_MAPS with initial inner maps
 * (`.values = { [i] = &inner }`), read from the ELF by usockmap.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} in_a SEC(".maps"), in_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 3);
	__type(key, __u32);
	__array(values, struct inner);
} outer SEC(".maps") = {
	.values = { [0] = &in_b, [2] = &in_a },
};

SEC("sk_skb/stream_verdict")
int outer_lookup(struct __sk_buff *skb)
{
	__u32 k = 0, *v;
	void *inner = bpf_map_lookup_elem(&outer, &k);

	if (!inner)
		return SK_DROP;
	v = bpf_map_lookup_elem(inner, &k);
	return v && *v ? SK_DROP : SK_PASS;
}

char _license[] SEC("license") = "GPL";
