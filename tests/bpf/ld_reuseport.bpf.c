// SPDX-License-Identifier: MIT
/*
 * Loader test object: REUSEPORT_SOCKARRAY and an ARRAY_OF_MAPS of them
 * (the select_reuseport selftest's shape), used by an sk_reuseport program.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct rp_inner {
	__uint(type, BPF_MAP_TYPE_REUSEPORT_SOCKARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} rp_arr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct rp_inner);
} rp_outer SEC(".maps") = {
	.values = { [0] = &rp_arr },
};

SEC("sk_reuseport")
int select_sock(struct sk_reuseport_md *md)
{
	__u32 k = 0;
	void *inner = bpf_map_lookup_elem(&rp_outer, &k);

	if (!inner)
		return SK_DROP;
	if (bpf_sk_select_reuseport(md, inner, &k, 0))
		return SK_DROP;
	return SK_PASS;
}

char _license[] SEC("license") = "GPL";
