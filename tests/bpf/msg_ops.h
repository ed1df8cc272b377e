/* SPDX-License-Identifier: MIT */
/*
 * Shared between tests/bpf/msg_ops.bpf.c and tests/unit/skmsg: the
 * parameters of one kernel-comparison run (in the object's .data) and
 * what the program records per run (in .bss).
 */
#ifndef USM_TEST_BPF_MSG_OPS_H
#define USM_TEST_BPF_MSG_OPS_H

#include <linux/types.h>

#define MSG_OPS_MAX 4
#define MSG_RUNS_MAX 24
#define MSG_HEAD 8

enum msg_op_kind {
	MSG_OP_NONE = 0,
	MSG_OP_PULL = 1, /* a = start, b = end */
	MSG_OP_PUSH = 2, /* a = start, b = len */
	MSG_OP_POP = 3,  /* a = start, b = len */
};

struct msg_op {
	__u32 kind;
	__u32 a;
	__u32 b;
	__u32 flags;
};

struct msg_cfg {
	__u32 apply_bytes; /* bpf_msg_apply_bytes() each run when non-zero */
	__u32 nops;
	struct msg_op ops[MSG_OPS_MAX];
};

/* data/data_end as the program saw them. */
struct msg_view {
	__u32 size;
	__u32 span;               /* data_end - data */
	__u8 head[MSG_HEAD];      /* first bytes at data if span >= MSG_HEAD */
};

struct msg_run {
	struct msg_view entry;
	__s32 ret[MSG_OPS_MAX];
	struct msg_view after[MSG_OPS_MAX];
};

struct msg_res {
	__u32 runs;
	__u32 pad;
	struct msg_run run[MSG_RUNS_MAX];
};

#endif /* USM_TEST_BPF_MSG_OPS_H */
