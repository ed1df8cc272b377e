/* SPDX-License-Identifier: MIT */
/*
 * sk_msg program for the scatter-gather comparisons (SEMANTICS MSG-03,
 * MSG-07, MSG-11..14): runs the pull/push/pop calls listed in cfg (.data)
 * in order and records, per run, size and data/data_end at entry and
 * after each call, plus each call's return value (.bss). Always SK_PASS.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "msg_ops.h"

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} msg_ops_map SEC(".maps");

struct msg_cfg cfg SEC(".data") = { .nops = 0 };
struct msg_res res;

static __always_inline void view(struct sk_msg_md *msg, struct msg_view *v)
{
	__u8 *data = msg->data, *end = msg->data_end;
	int i;

	v->size = msg->size;
	v->span = (__u32)(end - data);
	if (data + MSG_HEAD > end)
		return;
#pragma clang loop unroll(full)
	for (i = 0; i < MSG_HEAD; i++)
		v->head[i] = data[i];
}

static __always_inline long run_op(struct sk_msg_md *msg,
				   const struct msg_op *op)
{
	switch (op->kind) {
	case MSG_OP_PULL:
		return bpf_msg_pull_data(msg, op->a, op->b, op->flags);
	case MSG_OP_PUSH:
		return bpf_msg_push_data(msg, op->a, op->b, op->flags);
	case MSG_OP_POP:
		return bpf_msg_pop_data(msg, op->a, op->b, op->flags);
	default:
		return 0;
	}
}

/* Call @i of cfg, if configured (written out per call: no loop). */
static __always_inline void step(struct sk_msg_md *msg, struct msg_run *r,
				 int i)
{
	if (i >= cfg.nops)
		return;
	r->ret[i] = (__s32)run_op(msg, &cfg.ops[i]);
	view(msg, &r->after[i]);
}

SEC("sk_msg")
int msg_ops_prog(struct sk_msg_md *msg)
{
	__u32 n = res.runs;
	struct msg_run *r;

	if (n >= MSG_RUNS_MAX)
		return SK_PASS;
	r = &res.run[n];
	res.runs = n + 1;
	view(msg, &r->entry);
	if (cfg.apply_bytes)
		bpf_msg_apply_bytes(msg, cfg.apply_bytes);
	step(msg, r, 0);
	step(msg, r, 1);
	step(msg, r, 2);
	step(msg, r, 3);
	return SK_PASS;
}

char _license[] SEC("license") = "GPL";
