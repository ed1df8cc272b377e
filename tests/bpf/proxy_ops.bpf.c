// SPDX-License-Identifier: MIT
/*
 * For tests/e2e/test_proxy_*.c: a sockops program that counts the
 * callbacks it sees (ops[op]++) and places listeners at key 0, accepted
 * clients at key 1 and backend connections at key 2 of a SOCKMAP; the
 * result of each update is kept in res[op] (MAP-BPF-01). A second
 * object section, proxy_place, has a do-nothing sockops program and maps
 * for flag-based placement.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} sk SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} ops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __s64);
} res SEC(".maps");

SEC("sockops")
int count_ops(struct bpf_sock_ops *ctx)
{
	__u32 op = ctx->op, key;
	__u64 *n = bpf_map_lookup_elem(&ops, &op);
	__s64 *r = bpf_map_lookup_elem(&res, &op);

	if (n)
		__sync_fetch_and_add(n, 1);
	switch (op) {
	case BPF_SOCK_OPS_TCP_LISTEN_CB:
		key = 0;
		break;
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		key = 1;
		break;
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
		key = 2;
		break;
	default:
		return 1;
	}
	if (r)
		*r = bpf_sock_map_update(ctx, &sk, &key, BPF_ANY);
	return 1;
}

char _license[] SEC("license") = "GPL";
