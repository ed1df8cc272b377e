// SPDX-License-Identifier: MIT
/*
 * sk_reuseport programs for `usockmap run --reuseport`
 * (tests/e2e/test_proxy_reuseport.c). The key is deterministic: UDP the
 * first payload byte, TCP the client's source port % 8. Key 7: SK_DROP;
 * otherwise bpf_sk_select_reuseport(map, key) and SK_PASS, so a key with
 * no member (4..6 with 4 workers) falls back to hash selection.
 * rp_pick uses the REUSEPORT_SOCKARRAY rp_members, rp_pick_hash the
 * SOCKHASH rp_hash (two programs: the CLI needs --reuseport-prog).
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_REUSEPORT_SOCKARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} rp_members SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} rp_hash SEC(".maps");

static __always_inline int rp_key(struct sk_reuseport_md *md)
{
	__u8 b[2];

	if (md->ip_protocol == IPPROTO_UDP) {
		if (bpf_skb_load_bytes(md, 8, b, 1))
			return -1;
		return b[0];
	}
	if (bpf_skb_load_bytes(md, 0, b, 2))
		return -1;
	return ((b[0] << 8) | b[1]) % 8;
}

SEC("sk_reuseport")
int rp_pick(struct sk_reuseport_md *md)
{
	int k = rp_key(md);
	__u32 key = k;

	if (k == 7)
		return SK_DROP;
	if (k >= 0)
		bpf_sk_select_reuseport(md, &rp_members, &key, 0);
	return SK_PASS;
}

SEC("sk_reuseport")
int rp_pick_hash(struct sk_reuseport_md *md)
{
	int k = rp_key(md);
	__u32 key = k;

	if (k == 7)
		return SK_DROP;
	if (k >= 0)
		bpf_sk_select_reuseport(md, &rp_hash, &key, 0);
	return SK_PASS;
}

char _license[] SEC("license") = "MIT";
