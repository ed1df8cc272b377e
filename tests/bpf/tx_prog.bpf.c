// SPDX-License-Identifier: MIT
/*
 * One configurable sk_msg program for the send-path tests (the shape of
 * the kernel's test_sockmap_kern.h): cfg[0] says which helpers to call
 * with which arguments and what to return; stats[0] records what the
 * program saw on each run (size, first-chunk reach, first byte) and what
 * the helpers returned. The same object runs on usockmap and the kernel.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

enum { V_PASS, V_DROP, V_REDIR_MAP, V_REDIR_HASH, V_DROP_AFTER };

struct tx_cfg {
	__u32 verdict;
	__u32 apply, cork;
	__u32 pull_start, pull_end;
	__u32 push_start, push_len;
	__u32 pop_start, pop_len;
	__u32 key, flags;
	__u32 n;               /* V_DROP_AFTER: runs that pass */
};

struct tx_stats {
	__u32 runs;
	__u32 size[8];          /* msg->size of the first 8 runs */
	__u32 first[8];         /* first byte of the first 8 runs, or 0x100 */
	__u32 reach;            /* bit0: data spans 32768, bit1: 32769 */
	__s32 pull_ret, push_ret, pop_ret;
	__u32 family, local_port, remote_port;
	__u32 sk_port;          /* msg->sk->src_port: the sender (MSG-24) */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tx_cfg);
} cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tx_stats);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} sock_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} sock_hash SEC(".maps");

static __always_inline void record(struct sk_msg_md *msg, struct tx_stats *s)
{
	__u8 *d = msg->data, *e = msg->data_end;
	__u32 i = s->runs;

	if (i < 8) {
		s->size[i & 7] = msg->size;
		s->first[i & 7] = 0x100;
		if (d + 1 <= e)
			s->first[i & 7] = d[0];
	}
	if (d + 32768 <= e)
		s->reach |= 1;
	if (d + 32769 <= e)
		s->reach |= 2;
	s->family = msg->family;
	s->local_port = msg->local_port;
	s->remote_port = msg->remote_port;
	if (msg->sk)
		s->sk_port = msg->sk->src_port;
	s->runs = i + 1;
}

SEC("sk_msg")
int tx_prog(struct sk_msg_md *msg)
{
	struct tx_stats *s;
	struct tx_cfg *c;
	__u32 k = 0;

	c = bpf_map_lookup_elem(&cfg, &k);
	s = bpf_map_lookup_elem(&stats, &k);
	if (!c || !s)
		return SK_PASS;
	record(msg, s);
	if (c->apply)
		bpf_msg_apply_bytes(msg, c->apply);
	if (c->cork)
		bpf_msg_cork_bytes(msg, c->cork);
	if (c->pull_end)
		s->pull_ret = bpf_msg_pull_data(msg, c->pull_start,
						c->pull_end, 0);
	if (c->push_len)
		s->push_ret = bpf_msg_push_data(msg, c->push_start,
						c->push_len, 0);
	if (c->pop_len)
		s->pop_ret = bpf_msg_pop_data(msg, c->pop_start, c->pop_len,
					      0);
	switch (c->verdict) {
	case V_PASS:
		return SK_PASS;
	case V_REDIR_MAP:
		return bpf_msg_redirect_map(msg, &sock_map, c->key, c->flags);
	case V_REDIR_HASH:
		k = c->key;
		return bpf_msg_redirect_hash(msg, &sock_hash, &k, c->flags);
	case V_DROP_AFTER:
		return s->runs <= c->n ? SK_PASS : SK_DROP;
	default:
		return SK_DROP;
	}
}

char _license[] SEC("license") = "GPL";
