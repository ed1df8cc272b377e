/* SPDX-License-Identifier: MIT */
/*
 * Register (value) types the verifier tracks, shared with the helper
 * prototypes and the per-program-type context descriptions, which say what
 * type a helper returns or a context load yields. Names follow the kernel's
 * enum bpf_reg_type so verifier messages read the same.
 */
#ifndef USM_VM_REGTYPE_H
#define USM_VM_REGTYPE_H

enum usm_reg_type {
	USM_NOT_INIT = 0,
	USM_SCALAR,
	USM_PTR_TO_CTX,
	USM_CONST_PTR_TO_MAP,
	USM_PTR_TO_MAP_VALUE,
	USM_PTR_TO_MAP_VALUE_OR_NULL,
	USM_PTR_TO_MAP_KEY,
	USM_PTR_TO_STACK,
	USM_PTR_TO_PACKET_META,
	USM_PTR_TO_PACKET,
	USM_PTR_TO_PACKET_END,
	USM_PTR_TO_SOCKET,          /* full socket (struct bpf_sock view) */
	USM_PTR_TO_SOCKET_OR_NULL,
	USM_PTR_TO_SOCK_COMMON,
	USM_PTR_TO_SOCK_COMMON_OR_NULL,
	USM_PTR_TO_MEM,             /* helper-returned memory of known size */
	USM_PTR_TO_MEM_OR_NULL,
	USM_REG_TYPE_MAX,
};

/* Kernel-style names for logs: "scalar", "ctx", "map_ptr", "map_value",
 * "map_value_or_null", "fp", "pkt", "pkt_end", "sock", ... */
const char *usm__reg_type_name(enum usm_reg_type t);

#endif /* USM_VM_REGTYPE_H */
