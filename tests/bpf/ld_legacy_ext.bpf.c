// SPDX-License-Identifier: MIT
/*
 * Loader test object: legacy map definitions with fields past map_flags
 * (the samples/bpf layout: inner_map_idx, numa_node), all zero here, so
 * they translate; the test sets one to see the clear refusal.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
	unsigned int inner_map_idx;
	unsigned int numa_node;
};

struct bpf_map_def SEC("maps") ext_array = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 3,
};

SEC("sk_skb")
int ext_prog(struct __sk_buff *skb)
{
	__u32 k = 2;
	__u64 *v = bpf_map_lookup_elem(&ext_array, &k);

	return v ? (int)*v : SK_PASS;
}

char _license[] SEC("license") = "GPL";
