// SPDX-License-Identifier: MIT
/*
 * The same steering as reuseport.bpf.c with the workers in a SOCKMAP:
 * bpf_sk_select_reuseport accepts a SOCKMAP or SOCKHASH of listening
 * sockets of the group exactly like a REUSEPORT_SOCKARRAY (SEMANTICS
 * RPP-06), which lets one map serve both steering and redirects.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define NWORKERS 4

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, NWORKERS);
	__type(key, __u32);
	__type(value, __u64);
} workers SEC(".maps");

SEC("sk_reuseport")
int steer(struct sk_reuseport_md *md)
{
	__u32 key = md->hash % NWORKERS;
	long err;

	err = bpf_sk_select_reuseport(md, &workers, &key, 0);
	if (err)
		bpf_printk("worker %u unavailable (%ld): hash fallback", key,
			   err);
	return SK_PASS;
}

char _license[] SEC("license") = "GPL";
