// SPDX-License-Identifier: MIT
/*
 * sk_reuseport programs for the reuseport group tests (RPP-01..06,
 * RPA-11). Deterministic selection so usockmap and the kernel can be
 * compared: UDP by the first payload byte, TCP by the client port % 8.
 * key 0..3: select that slot; key 7: SK_DROP; other keys: the selection
 * fails (-ENOENT) and the group falls back to hash selection.
 * For the outer map: keys >= 0x10 use outer slot 1, which is empty.
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <stdbool.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct inner_arr {
	__uint(type, BPF_MAP_TYPE_REUSEPORT_SOCKARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
};

struct inner_arr rp_arr SEC(".maps");
struct inner_arr rp_inner SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} rp_smap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} rp_shash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct inner_arr);
} rp_outer SEC(".maps") = {
	.values = { [0] = &rp_inner },
};

/* 0 last select result, 1 len, 2 eth_protocol, 3 ip_protocol,
 * 4 bind_inany, 5 hash != 0, 6 runs, 7 empty outer slot seen,
 * 8 sk != NULL, 9 data_end - data, 10 the IP header's source address
 * (IPv6: its last 4 bytes) and 11 its protocol byte, read with
 * skb_load_bytes_relative(BPF_HDR_START_NET), 12 the destination
 * address likewise */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 13);
	__type(key, __u32);
	__type(value, __u32);
} rp_res SEC(".maps");

static __always_inline void put(__u32 k, __u32 v)
{
	bpf_map_update_elem(&rp_res, &k, &v, BPF_ANY);
}

static __always_inline void bump(__u32 k)
{
	__u32 *v = bpf_map_lookup_elem(&rp_res, &k);

	if (v)
		__sync_fetch_and_add(v, 1);
}

static __always_inline void net_fields(struct sk_reuseport_md *md)
{
	bool v4 = md->eth_protocol == bpf_htons(0x0800);
	__u32 a = 0;
	__u8 p = 0;

	bpf_skb_load_bytes_relative(md, v4 ? 12 : 20, &a, 4,
				    BPF_HDR_START_NET);
	bpf_skb_load_bytes_relative(md, v4 ? 9 : 6, &p, 1,
				    BPF_HDR_START_NET);
	put(10, a);
	put(11, p);
	a = 0;
	bpf_skb_load_bytes_relative(md, v4 ? 16 : 36, &a, 4,
				    BPF_HDR_START_NET);
	put(12, a);
}

/* The selection key, or -1 when the input cannot be read. */
static __always_inline int pick(struct sk_reuseport_md *md)
{
	__u8 b[2];

	put(1, md->len);
	put(2, md->eth_protocol);
	put(3, md->ip_protocol);
	put(4, md->bind_inany);
	put(5, md->hash != 0);
	put(8, md->sk != 0);
	put(9, (__u32)((long)md->data_end - (long)md->data));
	bump(6);
	net_fields(md);
	if (md->ip_protocol == IPPROTO_UDP) {
		if (bpf_skb_load_bytes(md, 8, b, 1))
			return -1;
		return b[0];
	}
	if (bpf_skb_load_bytes(md, 0, b, 2))
		return -1;
	return ((b[0] << 8) | b[1]) % 8;
}

#define SELECT_PROG(name, map)                                                 \
	SEC("sk_reuseport") int name(struct sk_reuseport_md *md)               \
	{                                                                      \
		int k = pick(md);                                              \
		__u32 key = k;                                                 \
                                                                               \
		if (k == 7)                                                    \
			return SK_DROP;                                        \
		put(0, (__u32)bpf_sk_select_reuseport(md, &map, &key, 0));     \
		return SK_PASS;                                                \
	}

SELECT_PROG(sel_arr, rp_arr)
SELECT_PROG(sel_smap, rp_smap)
SELECT_PROG(sel_shash, rp_shash)

SEC("sk_reuseport")
int sel_outer(struct sk_reuseport_md *md)
{
	int k = pick(md);
	__u32 slot = k >= 0x10, key = k & 0xf;
	void *inner;

	if (k == 7)
		return SK_DROP;
	inner = bpf_map_lookup_elem(&rp_outer, &slot);
	if (!inner) { /* RPA-11 */
		bump(7);
		return SK_DROP;
	}
	put(0, (__u32)bpf_sk_select_reuseport(md, inner, &key, 0));
	return SK_PASS;
}

SEC("sk_reuseport")
int sel_none(struct sk_reuseport_md *md)
{
	bump(6);
	return SK_PASS;
}


/* For the benchmark: every input selects one of the four slots (UDP: the
 * first payload byte & 3, TCP: the client port & 3). */
SEC("sk_reuseport")
int sel_bench(struct sk_reuseport_md *md)
{
	__u8 b[2];
	__u32 key;

	if (md->ip_protocol == IPPROTO_UDP) {
		if (bpf_skb_load_bytes(md, 8, b, 1))
			return SK_PASS;
		key = b[0] & 3;
	} else {
		if (bpf_skb_load_bytes(md, 1, b, 1))
			return SK_PASS;
		key = b[0] & 3;
	}
	bpf_sk_select_reuseport(md, &rp_arr, &key, 0);
	return SK_PASS;
}

char _license[] SEC("license") = "GPL";
