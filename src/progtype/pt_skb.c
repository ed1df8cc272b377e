/* SPDX-License-Identifier: MIT */
/*
 * BPF_PROG_TYPE_SK_SKB: which struct __sk_buff accesses the verifier admits
 * (the kernel's sk_skb_is_valid_access layered over bpf_skb_is_valid_access,
 * SEMANTICS SKB-20) and which helpers the type may call (sk_skb_func_proto,
 * SKB-23).
 *
 * Rules, in the kernel's order:
 *   1. tc_classid, data_meta, tstamp, wire_len, hwtstamp: never.
 *   2. Writes: only tc_index and priority (exactly 4 bytes). cb[] is
 *      read-only here, unlike tc.
 *   3. mark: never.
 *   4. The generic __sk_buff rules: inside the struct, off % size == 0;
 *      cb[0..4] any aligned size that stays inside cb (so 8-byte loads of
 *      cb[0..1] and cb[2..3]); data/data_end exactly 4 bytes, not
 *      sign-extending; IPv4/IPv6 addresses exactly 4 bytes; flow_keys,
 *      tstamp_type and the padding before hwtstamp never; sk an 8-byte read
 *      giving PTR_TO_SOCK_COMMON_OR_NULL; every other field 1, 2 or 4 bytes.
 * data/data_end are 32-bit in the UAPI but yield pointers: their loads are
 * rewritten into 8-byte loads of usm_skb_ctx.data/data_end.
 */
#include "pt_priv.h"

#include <string.h>

typedef struct __sk_buff SKB;

/* Step 1-3: the sk_skb-specific layer. 1 = go on to the generic rules. */
static int skb_specific(int off, bool write, const char **why)
{
	switch (off) {
	case PT_RANGE(SKB, tc_classid):
	case PT_RANGE(SKB, data_meta):
	case PT_RANGE(SKB, tstamp):
	case PT_RANGE(SKB, wire_len):
	case PT_RANGE(SKB, hwtstamp):
		return pt_refuse(why, "field not accessible in sk_skb");
	}
	if (write) {
		switch (off) {
		case PT_RANGE(SKB, tc_index):
		case PT_RANGE(SKB, priority):
			break;
		default:
			return pt_refuse(why, "field is read-only in sk_skb");
		}
	}
	switch (off) {
	case PT_RANGE(SKB, mark):
		return pt_refuse(why, "field not accessible in sk_skb");
	}
	return 1;
}

/* Step 4 for the fields with their own rule; 1 = default rule applies. */
static int skb_special_field(int off, int size, bool write,
			     struct usm_ctx_access *acc, const char **why)
{
	switch (off) {
	case PT_RANGE(SKB, cb):
		if (off + size > (int)(offsetof(SKB, cb) + PT_FSIZE(SKB, cb)))
			return pt_refuse(why, "access past cb[4]");
		return 0;
	case PT_RANGE(SKB, data):
	case PT_RANGE(SKB, data_end):
		if (acc->ldsx || size != 4)
			return pt_refuse(why, "packet pointer loads must be "
					      "4-byte, not sign-extending");
		return 0;
	case PT_RANGE(SKB, remote_ip6):
	case PT_RANGE(SKB, local_ip6):
	case PT_RANGE(SKB, remote_ip4):
	case PT_RANGE(SKB, local_ip4):
		if (size != 4)
			return pt_refuse(why, "address loads must be 4-byte");
		return 0;
	case PT_RANGE(SKB, flow_keys):
	case offsetof(SKB, tstamp_type):
		return pt_refuse(why, "field not accessible in sk_skb");
	case (offsetof(SKB, tstamp_type) + PT_FSIZE(SKB, tstamp_type)) ...
		(offsetof(SKB, hwtstamp) - 1):
		return pt_refuse(why, "padding in __sk_buff");
	case PT_RANGE(SKB, sk):
		if (write || size != 8)
			return pt_refuse(why, "sk is an 8-byte read-only pointer");
		acc->reg_type = USM_PTR_TO_SOCK_COMMON_OR_NULL;
		acc->mem_size = sizeof(struct bpf_sock);
		return 0;
	}
	return 1;
}

static int skb_is_valid_access(int off, int size, bool write,
			       struct usm_ctx_access *acc, const char **why)
{
	int r;

	pt_acc_scalar(acc);
	r = skb_specific(off, write, why);
	if (r <= 0)
		return r;
	if (off < 0 || off >= (int)sizeof(SKB) || size <= 0)
		return pt_refuse(why, "offset outside __sk_buff");
	if (off % size != 0)
		return pt_refuse(why, "misaligned access");
	r = skb_special_field(off, size, write, acc, why);
	if (r < 0)
		return r;
	if (r == 1) {
		/* Everything else: narrow reads, 4-byte writes. */
		if (write ? size != 4 : !pt_narrow_ok(size, 4))
			return pt_refuse(why, write ? "write size must be 4"
						    : "size must be 1, 2 or 4");
		return 0;
	}
	if (off == offsetof(SKB, data)) {
		acc->reg_type = USM_PTR_TO_PACKET;
		acc->xoff = offsetof(struct usm_skb_ctx, data);
		acc->xsize = 8;
	} else if (off == offsetof(SKB, data_end)) {
		acc->reg_type = USM_PTR_TO_PACKET_END;
		acc->xoff = offsetof(struct usm_skb_ctx, data_end);
		acc->xsize = 8;
	}
	return 0;
}

/* sk_skb_func_proto: the sk_skb helpers, then the base set. */
static const struct usm_helper *skb_get_helper(uint32_t id)
{
	switch (id) {
	case BPF_FUNC_skb_store_bytes:
		return &usm__h_skb_store_bytes;
	case BPF_FUNC_skb_load_bytes:
		return &usm__h_skb_load_bytes;
	case BPF_FUNC_skb_pull_data:
		return &usm__h_skb_pull_data;
	case BPF_FUNC_skb_change_tail:
		return &usm__h_skb_change_tail;
	case BPF_FUNC_skb_change_head:
		return &usm__h_skb_change_head;
	case BPF_FUNC_skb_adjust_room:
		return &usm__h_skb_adjust_room;
	case BPF_FUNC_get_socket_cookie:
		return &usm__h_get_socket_cookie_skb;
	case BPF_FUNC_get_socket_uid:
		return &usm__h_get_socket_uid;
	case BPF_FUNC_sk_redirect_map:
		return &usm__h_sk_redirect_map;
	case BPF_FUNC_sk_redirect_hash:
		return &usm__h_sk_redirect_hash;
	case BPF_FUNC_sk_release:
		return &usm__h_sk_release;
	default:
		return usm__prog_type_base_helper(id);
	}
}

const struct usm_prog_type usm__pt_sk_skb = {
	.type = BPF_PROG_TYPE_SK_SKB,
	.name = "sk_skb",
	.ctx_size = sizeof(struct __sk_buff),
	.kctx_size = sizeof(struct usm_skb_ctx),
	.is_valid_access = skb_is_valid_access,
	.get_helper = skb_get_helper,
};

void usm__skb_ctx_init(struct usm_skb_ctx *ctx, uint8_t *buf, uint32_t cap,
		       uint32_t data_off, uint32_t len, bool owned)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->buf = buf;
	ctx->cap = cap;
	ctx->data_off = data_off;
	ctx->len = len;
	ctx->linear_len = len;
	ctx->buf_owned = owned;
	usm__skb_ctx_sync(ctx);
}

void usm__skb_ctx_sync(struct usm_skb_ctx *ctx)
{
	ctx->data = ctx->buf ? ctx->buf + ctx->data_off : NULL;
	if (ctx->linear_len > ctx->len)
		ctx->linear_len = ctx->len;
	ctx->data_end = ctx->data ? (uint8_t *)ctx->data + ctx->linear_len
				  : NULL;
	ctx->data_meta = ctx->data;
	/* The UAPI u32 copies are never read (loads are rewritten). */
	ctx->md.data = 0;
	ctx->md.data_end = 0;
	ctx->md.data_meta = 0;
	ctx->md.len = ctx->len;
}
