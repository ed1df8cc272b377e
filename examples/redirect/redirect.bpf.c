// SPDX-License-Identifier: MIT
/*
 * A stream verdict that routes each message to another socket. The first
 * byte of a message names a tenant; the `routes` table (a global array, so
 * an ARRAY map behind the scenes) gives the SOCKMAP slot of that tenant's
 * backend, and bpf_sk_redirect_map sends the message out of the backend
 * socket (egress). Unknown tenants are dropped. A redirect to an empty slot
 * fails in the helper, which then returns SK_DROP: the message is dropped,
 * exactly as on the kernel (SEMANTICS SKB-17).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} backends SEC(".maps");

/* tenant id -> backend slot (tenant 3 shares tenant 1's backend) */
__u32 routes[4] = { 0, 1, 2, 1 };

SEC("sk_skb/stream_verdict")
int route(struct __sk_buff *skb)
{
	__u8 *data, *end;
	__u8 tenant;

	/* TCP delivers the payload in page fragments: data == data_end until
	 * the program pulls the bytes it wants to read directly. */
	if (bpf_skb_pull_data(skb, 1))
		return SK_DROP;
	data = (void *)(long)skb->data;
	end = (void *)(long)skb->data_end;
	if (data + 1 > end)
		return SK_DROP;
	tenant = data[0];
	if (tenant >= 4)
		return SK_DROP;
	bpf_printk("tenant %u -> backend %u", tenant, routes[tenant]);
	return bpf_sk_redirect_map(skb, &backends, routes[tenant], 0);
}

char _license[] SEC("license") = "GPL";
