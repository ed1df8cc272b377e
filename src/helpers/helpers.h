/* SPDX-License-Identifier: MIT */
/*
 * BPF helpers: one struct usm_helper per helper *prototype*, identified by
 * the kernel's helper number (enum bpf_func_id in <linux/bpf.h>).
 *
 * As in the kernel, the same id may have different prototypes per program
 * type (bpf_get_socket_cookie takes the ctx in sk_skb but a socket pointer
 * in sk_reuseport); each program type's get_helper() (progtype.h) picks the
 * prototype it allows, or NULL. The verifier checks every call against the
 * prototype's argument types; the interpreter calls fn.
 *
 * Helper functions receive the run state first, then r1..r5 as the program
 * passed them. Pointers in r1..r5 are real addresses the verifier checked
 * against the prototype (memory + size pairs are within bounds), so helpers
 * need not re-validate them; values (flags, offsets, lengths that are not a
 * checked size) are program-controlled and must be validated like the kernel
 * does, returning the kernel's negative errno as a u64.
 */
#ifndef USM_HELPERS_HELPERS_H
#define USM_HELPERS_HELPERS_H

#include <linux/bpf.h>
#include <stdint.h>

#include "../vm/regtype.h"

struct usm_run;

/* Argument kinds (the kernel's enum bpf_arg_type, the subset we use). */
enum usm_arg_type {
	USM_ARG_NONE = 0,          /* argument unused */
	USM_ARG_ANYTHING,          /* any initialised value */
	USM_ARG_CONST_MAP_PTR,     /* ld_imm64 map */
	USM_ARG_PTR_TO_MAP_KEY,    /* key_size readable bytes (stack/map value) */
	USM_ARG_PTR_TO_MAP_VALUE,  /* value_size readable bytes */
	USM_ARG_PTR_TO_MEM,        /* readable initialised bytes, size next */
	USM_ARG_PTR_TO_MEM_OR_NULL,/* as above, or NULL (size then 0) */
	USM_ARG_PTR_TO_UNINIT_MEM, /* writable bytes, size next; helper fills */
	USM_ARG_CONST_SIZE,        /* size of the previous mem arg, > 0 */
	USM_ARG_CONST_SIZE_OR_ZERO,/* size of the previous mem arg, >= 0 */
	USM_ARG_PTR_TO_CTX,        /* the program's context pointer */
	USM_ARG_PTR_TO_SOCKET,     /* PTR_TO_SOCKET (non-NULL) */
	USM_ARG_PTR_TO_SOCK_COMMON,/* PTR_TO_SOCKET or PTR_TO_SOCK_COMMON */
	USM_ARG_PTR_TO_SOCKET_OR_NULL,
	USM_ARG_PTR_TO_STACK_OR_NULL,
	USM_ARG_PTR_TO_LONG,       /* 8 writable bytes (strtol results) */
	USM_ARG_PTR_TO_SOCK_COMMON_OR_NULL, /* as PTR_TO_SOCK_COMMON, or NULL
				      (the kernel's ARG_PTR_TO_BTF_ID_SOCK_COMMON
				      | PTR_MAYBE_NULL: get_socket_cookie on a
				      socket pointer) */
};

/* Return kinds. */
enum usm_ret_type {
	USM_RET_INTEGER = 0,
	USM_RET_VOID,
	USM_RET_PTR_TO_MAP_VALUE_OR_NULL, /* value_size bytes of arg1's map */
	USM_RET_PTR_TO_SOCKET_OR_NULL,    /* acquired: must be released */
	USM_RET_PTR_TO_SOCK_COMMON_OR_NULL,
	USM_RET_PTR_TO_MEM_OR_NULL,
};

/* Helper flags. */
#define USM_HF_PKT_CHANGE 0x1u /* may move packet data: invalidates pkt ptrs
				  (SEMANTICS SKB-29) */
#define USM_HF_GPL_ONLY   0x2u /* needs a GPL-compatible license */
#define USM_HF_ACQUIRE    0x4u /* returns a reference the program must release */
#define USM_HF_RELEASE    0x8u /* releases the reference passed in arg1 */

typedef uint64_t (*usm_helper_fn)(struct usm_run *run, uint64_t r1,
				  uint64_t r2, uint64_t r3, uint64_t r4,
				  uint64_t r5);

struct usm_helper {
	uint32_t id;      /* BPF_FUNC_* */
	const char *name; /* "bpf_map_lookup_elem" */
	usm_helper_fn fn;
	uint8_t ret;      /* enum usm_ret_type */
	uint8_t args[5];  /* enum usm_arg_type */
	uint32_t flags;   /* USM_HF_* */
};

/* The name of helper @id ("bpf_msg_push_data"), or NULL if unknown to us. */
const char *usm__helper_name(uint32_t id);

/*
 * Prototypes, grouped by family. Each family file defines its structs;
 * progtype.c decides which program type sees which.
 */
/* base: maps, time, random, cpu, printk, tail call (helpers/base.c) */
extern const struct usm_helper usm__h_map_lookup_elem;
extern const struct usm_helper usm__h_map_update_elem;
extern const struct usm_helper usm__h_map_delete_elem;
extern const struct usm_helper usm__h_ktime_get_ns;
extern const struct usm_helper usm__h_ktime_get_boot_ns;
extern const struct usm_helper usm__h_ktime_get_coarse_ns;
extern const struct usm_helper usm__h_get_prandom_u32;
extern const struct usm_helper usm__h_get_smp_processor_id;
extern const struct usm_helper usm__h_get_numa_node_id;
extern const struct usm_helper usm__h_trace_printk;
extern const struct usm_helper usm__h_tail_call;
extern const struct usm_helper usm__h_sk_release;
/* sk_skb (helpers/skb.c) */
extern const struct usm_helper usm__h_skb_load_bytes;
extern const struct usm_helper usm__h_skb_store_bytes;
extern const struct usm_helper usm__h_skb_pull_data;
extern const struct usm_helper usm__h_skb_change_tail;
extern const struct usm_helper usm__h_skb_change_head;
extern const struct usm_helper usm__h_skb_adjust_room;
extern const struct usm_helper usm__h_get_socket_cookie_skb;
extern const struct usm_helper usm__h_get_socket_uid;
extern const struct usm_helper usm__h_sk_redirect_map;
extern const struct usm_helper usm__h_sk_redirect_hash;
/* sk_msg (helpers/msg.c) */
extern const struct usm_helper usm__h_msg_redirect_map;
extern const struct usm_helper usm__h_msg_redirect_hash;
extern const struct usm_helper usm__h_msg_apply_bytes;
extern const struct usm_helper usm__h_msg_cork_bytes;
extern const struct usm_helper usm__h_msg_pull_data;
extern const struct usm_helper usm__h_msg_push_data;
extern const struct usm_helper usm__h_msg_pop_data;
/* sk_reuseport (helpers/reuseport.c) */
extern const struct usm_helper usm__h_sk_select_reuseport;
extern const struct usm_helper usm__h_skb_load_bytes_reuseport;
extern const struct usm_helper usm__h_skb_load_bytes_relative_reuseport;
extern const struct usm_helper usm__h_get_socket_cookie_sock;
/* sock_ops (helpers/sockops.c) */
extern const struct usm_helper usm__h_sock_map_update;
extern const struct usm_helper usm__h_sock_hash_update;
extern const struct usm_helper usm__h_get_socket_cookie_sock_ops;

#endif /* USM_HELPERS_HELPERS_H */
