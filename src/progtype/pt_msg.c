/* SPDX-License-Identifier: MIT */
/*
 * BPF_PROG_TYPE_SK_MSG: struct sk_msg_md access rules (the kernel's
 * sk_msg_is_valid_access, SEMANTICS MSG-02) and the helper set
 * (sk_msg_func_proto, MSG-23).
 *
 * The context is read-only. data, data_end and sk are 8-byte pointer loads
 * (packet, packet end, PTR_TO_SOCKET); family, the addresses, the ports and
 * size are exactly 4-byte aligned loads; everything else (including bytes
 * past size's end up to sk, and anything past the struct) is refused. All
 * fields are read from the UAPI struct directly: sk_msg_md's pointers are
 * already 64-bit.
 */
#include "pt_priv.h"

typedef struct sk_msg_md MD;

static int msg_ptr_field(int off, struct usm_ctx_access *acc)
{
	switch (off) {
	case offsetof(MD, data):
		acc->reg_type = USM_PTR_TO_PACKET;
		break;
	case offsetof(MD, data_end):
		acc->reg_type = USM_PTR_TO_PACKET_END;
		break;
	default:
		acc->reg_type = USM_PTR_TO_SOCKET;
		acc->mem_size = sizeof(struct bpf_sock);
		break;
	}
	return 0;
}

static int msg_is_valid_access(int off, int size, bool write,
			       struct usm_ctx_access *acc, const char **why)
{
	pt_acc_scalar(acc);
	if (write)
		return pt_refuse(why, "sk_msg context is read-only");
	if (size <= 0 || off % size != 0)
		return pt_refuse(why, "misaligned access");
	switch (off) {
	case PT_RANGE(MD, data):
	case PT_RANGE(MD, data_end):
	case PT_RANGE(MD, sk):
		if (size != 8)
			return pt_refuse(why, "pointer loads must be 8-byte");
		return msg_ptr_field(off, acc);
	case PT_RANGE(MD, family):
	case PT_RANGE(MD, remote_ip4):
	case PT_RANGE(MD, local_ip4):
	case PT_RANGE(MD, remote_ip6):
	case PT_RANGE(MD, local_ip6):
	case PT_RANGE(MD, remote_port):
	case PT_RANGE(MD, local_port):
	case PT_RANGE(MD, size):
		if (size != 4)
			return pt_refuse(why, "size must be 4");
		return 0;
	default:
		return pt_refuse(why, "offset outside sk_msg_md fields");
	}
}

/* sk_msg_func_proto: the msg helpers (helpers/msg.c), then the base set. */
static const struct usm_helper *msg_get_helper(uint32_t id)
{
	switch (id) {
	case BPF_FUNC_msg_redirect_map:
		return &usm__h_msg_redirect_map;
	case BPF_FUNC_msg_redirect_hash:
		return &usm__h_msg_redirect_hash;
	case BPF_FUNC_msg_apply_bytes:
		return &usm__h_msg_apply_bytes;
	case BPF_FUNC_msg_cork_bytes:
		return &usm__h_msg_cork_bytes;
	case BPF_FUNC_msg_pull_data:
		return &usm__h_msg_pull_data;
	case BPF_FUNC_msg_push_data:
		return &usm__h_msg_push_data;
	case BPF_FUNC_msg_pop_data:
		return &usm__h_msg_pop_data;
	default:
		return usm__prog_type_base_helper(id);
	}
}

const struct usm_prog_type usm__pt_sk_msg = {
	.type = BPF_PROG_TYPE_SK_MSG,
	.name = "sk_msg",
	.ctx_size = sizeof(struct sk_msg_md),
	.kctx_size = sizeof(struct usm_msg_ctx),
	.is_valid_access = msg_is_valid_access,
	.get_helper = msg_get_helper,
};
