/* SPDX-License-Identifier: MIT */
/*
 * BPF_PROG_TYPE_SOCK_OPS: struct bpf_sock_ops access rules (the kernel's
 * sock_ops_is_valid_access) and the helper set (sock_ops_func_proto; of it
 * we implement sock_map_update, sock_hash_update, get_socket_cookie and the
 * base set).
 *
 * Inside the 6.12 context (USM_SOCK_OPS_CTX_SIZE, which includes
 * skb_hwtstamp) with off % size == 0: writes only to reply and sk_txhash,
 * exactly 4 bytes; reads of bytes_received/bytes_acked/skb_hwtstamp exactly
 * 8 bytes; sk (PTR_TO_SOCKET_OR_NULL), skb_data (packet), skb_data_end
 * (packet end) exactly 8 bytes; skb_tcp_flags 1/2/4 bytes; every other
 * field exactly 4 bytes. All loads read the context directly.
 */
#include "pt_priv.h"

typedef struct bpf_sock_ops OPS;

static int ops_write(int off, int size, const char **why)
{
	switch (off) {
	case offsetof(OPS, reply):
	case offsetof(OPS, sk_txhash):
		if (size != 4)
			return pt_refuse(why, "write size must be 4");
		return 0;
	default:
		return pt_refuse(why, "only reply and sk_txhash are writable");
	}
}

static int ops_ptr(int size, enum usm_reg_type t, struct usm_ctx_access *acc,
		   const char **why)
{
	if (size != 8)
		return pt_refuse(why, "pointer loads must be 8-byte");
	acc->reg_type = t;
	if (t == USM_PTR_TO_SOCKET_OR_NULL)
		acc->mem_size = sizeof(struct bpf_sock);
	return 0;
}

static int ops_read(int off, int size, struct usm_ctx_access *acc,
		    const char **why)
{
	switch (off) {
	case PT_RANGE_TILL(OPS, bytes_received, bytes_acked):
	case USM_SOCK_OPS_HWTSTAMP_OFF ... (USM_SOCK_OPS_HWTSTAMP_OFF + 7):
		if (size != 8)
			return pt_refuse(why, "size must be 8");
		return 0;
	case PT_RANGE(OPS, sk):
		return ops_ptr(size, USM_PTR_TO_SOCKET_OR_NULL, acc, why);
	case PT_RANGE(OPS, skb_data):
		return ops_ptr(size, USM_PTR_TO_PACKET, acc, why);
	case PT_RANGE(OPS, skb_data_end):
		return ops_ptr(size, USM_PTR_TO_PACKET_END, acc, why);
	case offsetof(OPS, skb_tcp_flags):
		if (!pt_narrow_ok(size, 4))
			return pt_refuse(why, "size must be 1, 2 or 4");
		return 0;
	default:
		if (size != 4)
			return pt_refuse(why, "size must be 4");
		return 0;
	}
}

static int ops_is_valid_access(int off, int size, bool write,
			       struct usm_ctx_access *acc, const char **why)
{
	pt_acc_scalar(acc);
	if (off < 0 || off >= (int)USM_SOCK_OPS_CTX_SIZE)
		return pt_refuse(why, "offset outside bpf_sock_ops");
	if (size <= 0 || off % size != 0)
		return pt_refuse(why, "misaligned access");
	if (write)
		return ops_write(off, size, why);
	return ops_read(off, size, acc, why);
}

static const struct usm_helper *ops_get_helper(uint32_t id)
{
	switch (id) {
	case BPF_FUNC_sock_map_update:
		return &usm__h_sock_map_update;
	case BPF_FUNC_sock_hash_update:
		return &usm__h_sock_hash_update;
	case BPF_FUNC_get_socket_cookie:
		return &usm__h_get_socket_cookie_sock_ops;
	default:
		return usm__prog_type_base_helper(id);
	}
}

const struct usm_prog_type usm__pt_sock_ops = {
	.type = BPF_PROG_TYPE_SOCK_OPS,
	.name = "sock_ops",
	.ctx_size = USM_SOCK_OPS_CTX_SIZE,
	.kctx_size = sizeof(struct usm_sock_ops_ctx),
	.is_valid_access = ops_is_valid_access,
	.get_helper = ops_get_helper,
};
