// SPDX-License-Identifier: MIT
/* An ARRAY_OF_MAPS declared without __array(values, ...), as
 * selftests/progs/test_select_reuseport_kern.c declares its outer map: the
 * inner-map template must come from user space before load
 * (bpf_map__set_inner_map_fd / usm_object_set_inner_map). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} outer SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} plain SEC(".maps");

SEC("sk_reuseport")
int select_inner(struct sk_reuseport_md *md)
{
	__u32 zero = 0;
	void *inner = bpf_map_lookup_elem(&outer, &zero);

	if (!inner)
		return SK_DROP; /* RPA-11: empty outer slot */
	return bpf_sk_select_reuseport(md, inner, &zero, 0) ? SK_DROP
							     : SK_PASS;
}

char _license[] SEC("license") = "GPL";
