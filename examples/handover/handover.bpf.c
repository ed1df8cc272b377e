// SPDX-License-Identifier: MIT
/*
 * Zero-loss hand-over of a port between server generations: every new
 * connection goes to slot 0 of the REUSEPORT_SOCKARRAY that gen_outer[0]
 * points at. A new generation fills the other inner array and takes the
 * port over with one update of gen_outer[0] (see README.md).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct gen_arr {
	__uint(type, BPF_MAP_TYPE_REUSEPORT_SOCKARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
};

struct gen_arr gen_a SEC(".maps");
struct gen_arr gen_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct gen_arr);
} gen_outer SEC(".maps") = {
	.values = { [0] = &gen_a },
};

SEC("sk_reuseport")
int pick_gen(struct sk_reuseport_md *md)
{
	__u32 zero = 0;
	void *inner = bpf_map_lookup_elem(&gen_outer, &zero);

	if (!inner) /* RPA-11: no generation installed */
		return SK_DROP;
	/* On failure (no server yet) the group falls back to hash selection. */
	bpf_sk_select_reuseport(md, inner, &zero, 0);
	return SK_PASS;
}

char _license[] SEC("license") = "GPL";
