// SPDX-License-Identifier: MIT
/*
 * Loader test object: legacy SEC("maps") definitions (libbpf 1.x refuses
 * them; usockmap translates them to BTF .maps). The struct is declared
 * here as old samples and iproute2-era code did.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct bpf_map_def SEC("maps") legacy_hash = {
	.type = BPF_MAP_TYPE_HASH,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 64,
	.map_flags = BPF_F_NO_PREALLOC,
};

struct bpf_map_def SEC("maps") legacy_sockmap = {
	.type = BPF_MAP_TYPE_SOCKMAP,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u32),
	.max_entries = 8,
};

struct bpf_map_def SEC("maps") legacy_array = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u32),
	.max_entries = 2,
};

int seen = 1; /* .data next to the legacy maps */

SEC("sk_skb/stream_verdict")
int legacy_verdict(struct __sk_buff *skb)
{
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&legacy_hash, &k);
	__u32 *a = bpf_map_lookup_elem(&legacy_array, &k);

	if (v && a && *v == *a + seen)
		return SK_DROP;
	return bpf_sk_redirect_map(skb, &legacy_sockmap, 1, 0);
}

char _license[] SEC("license") = "GPL";
