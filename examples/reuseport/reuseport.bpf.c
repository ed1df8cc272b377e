// SPDX-License-Identifier: MIT
/*
 * Connection steering in a SO_REUSEPORT group (sk_reuseport). Each new
 * connection (or datagram) goes to worker hash % NWORKERS of the
 * REUSEPORT_SOCKARRAY `workers`. If that slot is empty the selection fails
 * and SK_PASS falls back to the group's own hash selection; a real deploy
 * would fill every slot with a listening socket of the group.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define NWORKERS 4

struct {
	__uint(type, BPF_MAP_TYPE_REUSEPORT_SOCKARRAY);
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
