// SPDX-License-Identifier: MIT
/*
 * Loader test object: global data in .data, .rodata and .bss, a static
 * noinline subprogram reached from two programs (libbpf appends it to
 * each), and a bpf-to-bpf call chain two deep.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

int counter = 5;                        /* .data */
const volatile __u32 factor = 3;       /* .rodata */
const char greeting[8] = "hello";       /* .rodata */
__u64 hits;                             /* .bss */
__u32 table[4] = { 10, 20, 30, 40 };    /* .data */

static __attribute__((noinline)) int scale(int x)
{
	return x * factor;
}

static __attribute__((noinline)) int combine(int x)
{
	return scale(x) + table[2] + greeting[1];
}

/* 2 * 3 + 30 + 'e' (101) + 5 = 142, and hits becomes 1. */
SEC("sk_skb/stream_parser")
int parser(struct __sk_buff *skb)
{
	hits++;
	return combine(2) + counter;
}

SEC("sk_skb/stream_verdict")
int verdict(struct __sk_buff *skb)
{
	counter += 1;
	return scale(table[0]) > 0 ? SK_PASS : SK_DROP;
}

char _license[] SEC("license") = "Dual MIT/GPL";
