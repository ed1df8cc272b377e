// SPDX-License-Identifier: MIT
/*
 * For tests/e2e/test_proxy_*.c: maps for flag-based placement
 * (--map NAME:KEY=ROLE) and a sockops program that places nothing.
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
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} sh SEC(".maps");

SEC("sockops")
int noop(struct bpf_sock_ops *ctx)
{
	return 1;
}

char _license[] SEC("license") = "GPL";
