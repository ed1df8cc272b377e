/* SPDX-License-Identifier: MIT */
/*
 * BPF_PROG_TYPE_SK_REUSEPORT: struct sk_reuseport_md access rules (the
 * kernel's sk_reuseport_is_valid_access, SEMANTICS RPP-02) and the helper
 * set (sk_reuseport_func_proto, RPP-03).
 *
 * Read-only. data/data_end (packet, packet end), sk (PTR_TO_SOCKET) and
 * migrating_sk (PTR_TO_SOCK_COMMON_OR_NULL) are 8-byte loads at the field
 * start; hash is exactly 4 bytes; len, ip_protocol, bind_inany allow
 * 1/2/4-byte aligned loads anywhere inside; eth_protocol the same but at
 * least 2 bytes (the kernel's skb->protocol width). The padding after hash
 * and anything outside the struct are refused. All loads read the UAPI
 * struct directly.
 */
#include "pt_priv.h"

#include <string.h>

#include "../sock/sock.h"

typedef struct sk_reuseport_md MD;

static int rp_ptr(int size, enum usm_reg_type t, struct usm_ctx_access *acc,
		  const char **why)
{
	if (size != 8)
		return pt_refuse(why, "pointer loads must be 8-byte");
	acc->reg_type = t;
	if (t == USM_PTR_TO_SOCKET || t == USM_PTR_TO_SOCK_COMMON_OR_NULL)
		acc->mem_size = sizeof(struct bpf_sock);
	return 0;
}

static int rp_is_valid_access(int off, int size, bool write,
			      struct usm_ctx_access *acc, const char **why)
{
	pt_acc_scalar(acc);
	if (off < 0 || off >= (int)sizeof(MD))
		return pt_refuse(why, "offset outside sk_reuseport_md");
	if (size <= 0 || off % size != 0)
		return pt_refuse(why, "misaligned access");
	if (write)
		return pt_refuse(why, "sk_reuseport context is read-only");
	switch (off) {
	case offsetof(MD, data):
		return rp_ptr(size, USM_PTR_TO_PACKET, acc, why);
	case offsetof(MD, data_end):
		return rp_ptr(size, USM_PTR_TO_PACKET_END, acc, why);
	case offsetof(MD, sk):
		return rp_ptr(size, USM_PTR_TO_SOCKET, acc, why);
	case offsetof(MD, migrating_sk):
		return rp_ptr(size, USM_PTR_TO_SOCK_COMMON_OR_NULL, acc, why);
	case offsetof(MD, hash):
		if (size != 4)
			return pt_refuse(why, "hash loads must be 4-byte");
		return 0;
	case PT_RANGE(MD, eth_protocol):
		if (size < 2)
			return pt_refuse(why, "eth_protocol loads need >= 2 bytes");
		/* fallthrough */
	case PT_RANGE(MD, ip_protocol):
	case PT_RANGE(MD, bind_inany):
	case PT_RANGE(MD, len):
		if (!pt_narrow_ok(size, 4))
			return pt_refuse(why, "size must be 1, 2 or 4");
		return 0;
	default:
		return pt_refuse(why, "field not accessible in sk_reuseport");
	}
}

/* sk_reuseport_func_proto, then the base set (which also carries
 * ktime_get_coarse_ns). */
static const struct usm_helper *rp_get_helper(uint32_t id)
{
	switch (id) {
	case BPF_FUNC_sk_select_reuseport:
		return &usm__h_sk_select_reuseport;
	case BPF_FUNC_skb_load_bytes:
		return &usm__h_skb_load_bytes_reuseport;
	case BPF_FUNC_skb_load_bytes_relative:
		return &usm__h_skb_load_bytes_relative_reuseport;
	case BPF_FUNC_get_socket_cookie:
		return &usm__h_get_socket_cookie_sock;
	default:
		return usm__prog_type_base_helper(id);
	}
}

const struct usm_prog_type usm__pt_sk_reuseport = {
	.type = BPF_PROG_TYPE_SK_REUSEPORT,
	.name = "sk_reuseport",
	.ctx_size = sizeof(struct sk_reuseport_md),
	.kctx_size = sizeof(struct usm_reuseport_ctx),
	.is_valid_access = rp_is_valid_access,
	.get_helper = rp_get_helper,
};

void usm__reuseport_ctx_init(struct usm_reuseport_ctx *ctx,
			     const uint8_t *pkt, uint32_t len,
			     const uint8_t *net, uint32_t net_len,
			     struct usm_sock *sk)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->pkt = pkt;
	ctx->pkt_len = pkt ? len : 0;
	ctx->net = net;
	ctx->net_len = net ? net_len : 0;
	ctx->sk = sk;
	/* The program reads these UAPI pointers directly (no rewrite). */
	ctx->md.data = (void *)(uintptr_t)pkt;
	ctx->md.data_end = (void *)(uintptr_t)(pkt ? pkt + len : NULL);
	ctx->md.len = ctx->pkt_len;
	ctx->md.sk = sk ? &sk->bsk : NULL;
}
