/* SPDX-License-Identifier: MIT */
/*
 * Verifier test cases as data: a program, the maps it needs, and what the
 * verifier must say (errno and a substring of the log). The same case runs
 * through usm__prog_verify() and, where possible, through the kernel's
 * BPF_PROG_LOAD with the same privilege model, and the two must agree on
 * accept/reject unless the case is a documented difference (VF_DIFF).
 */
#ifndef USM_TEST_VCASE_H
#define USM_TEST_VCASE_H

#include <linux/bpf.h>
#include <stddef.h>
#include <stdint.h>

#include "insn_macros.h"

#define R0 BPF_REG_0
#define R1 BPF_REG_1
#define R2 BPF_REG_2
#define R3 BPF_REG_3
#define R4 BPF_REG_4
#define R5 BPF_REG_5
#define R6 BPF_REG_6
#define R7 BPF_REG_7
#define R8 BPF_REG_8
#define R9 BPF_REG_9
#define R10 BPF_REG_10

/* Maps a case can ask for (index in the case's map table = position). */
enum vmap_kind {
	VM_NONE = 0,
	VM_ARRAY8,    /* array, key 4, value 8, 4 entries */
	VM_ARRAY16,   /* array, key 4, value 16, 1 entry (direct value ok) */
	VM_HASH,      /* hash, key 4, value 8 */
	VM_SOCKMAP,   /* key 4, value 4 */
	VM_SOCKHASH,  /* key 4, value 4 */
	VM_REUSEPORT, /* REUSEPORT_SOCKARRAY, key 4, value 4 */
	VM_PROGARRAY, /* PROG_ARRAY, key 4, value 4 */
	VM_RDONLY,    /* array, value 8, BPF_F_RDONLY_PROG */
	VM_KIND_MAX,
};

/* Case flags. */
#define VF_STRICT   0x01u /* loader without CAP_PERFMON (prog->no_perfmon) */
#define VF_NOKERN   0x02u /* the kernel cannot express this case */
#define VF_DIFF     0x04u /* documented difference from the kernel (why) */
#define VF_NOGPL    0x08u /* license is not GPL-compatible */
#define VF_EMPTY    0x10u /* zero instructions */
#define VF_REWRITE  0x20u /* also check the ctx load rewrite of data/end */

struct vcase {
	const char *name;
	uint32_t type;              /* BPF_PROG_TYPE_* */
	const struct bpf_insn *insns;
	uint32_t len;
	uint8_t maps[3];            /* enum vmap_kind, VM_NONE-terminated */
	int err;                    /* expected errno, 0 = accepted */
	const char *msg;            /* expected log substring, or NULL */
	uint32_t flags;
	const char *why;            /* SEMANTICS id / difference rationale */
};

#define VPROG(...)                                                             \
	.insns = (const struct bpf_insn[]){ __VA_ARGS__ },                     \
	.len = sizeof((const struct bpf_insn[]){ __VA_ARGS__ }) /              \
	       sizeof(struct bpf_insn)

#define SKB BPF_PROG_TYPE_SK_SKB
#define MSG BPF_PROG_TYPE_SK_MSG
#define RPT BPF_PROG_TYPE_SK_REUSEPORT
#define OPS BPF_PROG_TYPE_SOCK_OPS

#define SKB_OFF(f) ((int16_t)offsetof(struct __sk_buff, f))
#define MSG_OFF(f) ((int16_t)offsetof(struct sk_msg_md, f))
#define RPT_OFF(f) ((int16_t)offsetof(struct sk_reuseport_md, f))
#define OPS_OFF(f) ((int16_t)offsetof(struct bpf_sock_ops, f))
#define SK_OFF(f) ((int16_t)offsetof(struct bpf_sock, f))

/* r0 = bpf_map_lookup_elem(map IDX, &(u32)0 at fp-4): 6 slots. */
#define VLOOKUP(IDX)                                                           \
	USM_ST_MEM(BPF_W, R10, -4, 0), USM_MOV64_REG(R2, R10),                 \
		USM_ALU64_IMM(BPF_ADD, R2, -4), USM_LD_MAP_IDX(R1, IDX),       \
		USM_CALL_HELPER(BPF_FUNC_map_lookup_elem)

/* r2 = skb->data, r3 = skb->data_end (r1 = ctx): 2 slots. */
#define VSKB_PKT()                                                             \
	USM_LDX_MEM(BPF_W, R2, R1, SKB_OFF(data)),                             \
		USM_LDX_MEM(BPF_W, R3, R1, SKB_OFF(data_end))

#endif /* USM_TEST_VCASE_H */
