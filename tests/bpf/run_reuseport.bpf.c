// SPDX-License-Identifier: MIT
/*
 * sk_reuseport programs for the test-run e2e tests (RPP-04/05): select from
 * a SOCKMAP of listeners, pass, drop.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} sock_map SEC(".maps");

SEC("sk_reuseport")
int sel_pass(struct sk_reuseport_md *md)
{
	return SK_PASS;
}

SEC("sk_reuseport")
int sel_drop(struct sk_reuseport_md *md)
{
	return SK_DROP;
}

/* Select sock_map[hash % 2]; on error fall back to hash selection. */
SEC("sk_reuseport")
int sel_hash(struct sk_reuseport_md *md)
{
	__u32 key = md->hash % 2;
	long r = bpf_sk_select_reuseport(md, &sock_map, &key, 0);

	bpf_printk("select key %u: %ld", key, r);
	return SK_PASS;
}

/* Print what the context says (RPP-02). */
SEC("sk_reuseport")
int sel_printk(struct sk_reuseport_md *md)
{
	bpf_printk("len %u ip_protocol %u eth_protocol %x", md->len,
		   md->ip_protocol, md->eth_protocol);
	bpf_printk("bind_inany %u hash %u", md->bind_inany, md->hash);
	return SK_PASS;
}

char _license[] SEC("license") = "GPL";
