// SPDX-License-Identifier: MIT
/*
 * Loader test object: one program in a section name neither libbpf nor
 * usockmap knows, next to a normal one.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("no_such_type/foo")
int mystery(void *ctx)
{
	return 0;
}

SEC("sk_msg")
int known(struct sk_msg_md *msg)
{
	return SK_PASS;
}

char _license[] SEC("license") = "GPL";
