/* SPDX-License-Identifier: MIT */
/*
 * sk_msg program probing bpf_msg_redirect_map / bpf_msg_redirect_hash
 * (SEMANTICS MSG-16): on its first run it makes each call listed in cfg
 * (.data) and records the return value (.bss), then drops the message so
 * no redirect takes effect.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define REDIR_PROBES 32

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} redir_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} redir_hash SEC(".maps");

struct redir_probe {
	__u32 hash; /* 0: redirect_map, 1: redirect_hash */
	__u32 key;
	__u64 flags;
};

struct redir_cfg {
	__u32 n;
	__u32 pad;
	struct redir_probe p[REDIR_PROBES];
} cfg SEC(".data") = { .n = 0 };

struct redir_res {
	__u32 runs;
	__s32 ret[REDIR_PROBES];
} res;

SEC("sk_msg")
int msg_redir_prog(struct sk_msg_md *msg)
{
	int i;

	if (res.runs++)
		return SK_DROP;
	for (i = 0; i < REDIR_PROBES; i++) {
		struct redir_probe *p = &cfg.p[i];
		__u32 key = p->key;

		if (i >= cfg.n)
			break;
		if (p->hash)
			res.ret[i] = bpf_msg_redirect_hash(msg, &redir_hash,
							   &key, p->flags);
		else
			res.ret[i] = bpf_msg_redirect_map(msg, &redir_map,
							  key, p->flags);
	}
	return SK_DROP;
}

char _license[] SEC("license") = "GPL";
