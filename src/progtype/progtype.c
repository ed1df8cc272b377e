/* SPDX-License-Identifier: MIT */
/*
 * Program-type registry: the description of each type usockmap runs
 * (sk_skb, sk_msg, sk_reuseport, sock_ops), libbpf's section-name table for
 * them, the base helper set they all fall back to, and the struct bpf_sock
 * access rules used through socket pointers.
 *
 * Everything here is constant data or pure functions; safe from any thread.
 * The per-type context rules live in pt_skb.c, pt_msg.c, pt_reuseport.c and
 * pt_sockops.c.
 */
#include "pt_priv.h"

#include <string.h>

const struct usm_prog_type *usm__prog_type_get(uint32_t type)
{
	switch (type) {
	case BPF_PROG_TYPE_SK_SKB:
		return &usm__pt_sk_skb;
	case BPF_PROG_TYPE_SK_MSG:
		return &usm__pt_sk_msg;
	case BPF_PROG_TYPE_SK_REUSEPORT:
		return &usm__pt_sk_reuseport;
	case BPF_PROG_TYPE_SOCK_OPS:
		return &usm__pt_sock_ops;
	default:
		return NULL;
	}
}

/*
 * libbpf's section_defs entries for our types. All of them match exactly
 * (no "type/extras" or "type+" forms), so "sk_skb/foo" is not a program we
 * run, as libbpf would not recognise it either.
 */
static const struct {
	const char *sec;
	uint32_t type;
	uint32_t attach;
} sections[] = {
	{ "sk_reuseport/migrate", BPF_PROG_TYPE_SK_REUSEPORT,
	  BPF_SK_REUSEPORT_SELECT_OR_MIGRATE },
	{ "sk_reuseport", BPF_PROG_TYPE_SK_REUSEPORT, BPF_SK_REUSEPORT_SELECT },
	{ "sockops", BPF_PROG_TYPE_SOCK_OPS, BPF_CGROUP_SOCK_OPS },
	{ "sk_skb/stream_parser", BPF_PROG_TYPE_SK_SKB,
	  BPF_SK_SKB_STREAM_PARSER },
	{ "sk_skb/stream_verdict", BPF_PROG_TYPE_SK_SKB,
	  BPF_SK_SKB_STREAM_VERDICT },
	{ "sk_skb/verdict", BPF_PROG_TYPE_SK_SKB, BPF_SK_SKB_VERDICT },
	/* libbpf gives plain "sk_skb" expected attach type 0 (which happens
	 * to be BPF_CGROUP_INET_INGRESS numerically). */
	{ "sk_skb", BPF_PROG_TYPE_SK_SKB, 0 },
	{ "sk_msg", BPF_PROG_TYPE_SK_MSG, BPF_SK_MSG_VERDICT },
};

int usm__prog_type_from_section(const char *sec, uint32_t *type,
				uint32_t *attach_type)
{
	size_t i;

	if (!sec)
		return -ENOENT;
	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		if (strcmp(sec, sections[i].sec) != 0)
			continue;
		if (type)
			*type = sections[i].type;
		if (attach_type)
			*attach_type = sections[i].attach;
		return 0;
	}
	return -ENOENT;
}

/*
 * The kernel's bpf_base_func_proto entries we implement, plus
 * ktime_get_coarse_ns, which sk_skb, sk_msg and sock_ops get from
 * bpf_sk_base_func_proto and sk_reuseport lists itself. Helpers the kernel
 * reserves for CAP_BPF/CAP_PERFMON (trace_printk) are given unconditionally:
 * loading programs into usockmap is not privilege-checked.
 */
const struct usm_helper *usm__prog_type_base_helper(uint32_t id)
{
	switch (id) {
	case BPF_FUNC_map_lookup_elem:
		return &usm__h_map_lookup_elem;
	case BPF_FUNC_map_update_elem:
		return &usm__h_map_update_elem;
	case BPF_FUNC_map_delete_elem:
		return &usm__h_map_delete_elem;
	case BPF_FUNC_get_prandom_u32:
		return &usm__h_get_prandom_u32;
	case BPF_FUNC_get_smp_processor_id:
		return &usm__h_get_smp_processor_id;
	case BPF_FUNC_get_numa_node_id:
		return &usm__h_get_numa_node_id;
	case BPF_FUNC_tail_call:
		return &usm__h_tail_call;
	case BPF_FUNC_ktime_get_ns:
		return &usm__h_ktime_get_ns;
	case BPF_FUNC_ktime_get_boot_ns:
		return &usm__h_ktime_get_boot_ns;
	case BPF_FUNC_ktime_get_coarse_ns:
		return &usm__h_ktime_get_coarse_ns;
	case BPF_FUNC_trace_printk:
		return &usm__h_trace_printk;
	default:
		return NULL;
	}
}

/*
 * struct bpf_sock through PTR_TO_SOCKET (bpf_sock_is_valid_access):
 * state, family, type, protocol, src_port, rx_queue_mapping allow 1/2/4-byte
 * loads at the field's first byte only; the address fields allow narrow
 * loads anywhere inside them; dst_port (a 16-bit field followed by 16 bits
 * of zero padding) takes a 4-byte load or 1/2-byte loads of its two bytes,
 * its padding alone is refused; bound_dev_if, mark, priority need exactly 4
 * bytes.
 */
int usm__bpf_sock_is_valid_access(int off, int size, bool write,
				  const char **why)
{
	typedef struct bpf_sock S;
	int field;

	if (write)
		return pt_refuse(why, "cannot write into sock");
	if (off < 0 || off >= (int)sizeof(S) || size <= 0)
		return pt_refuse(why, "offset outside struct bpf_sock");
	if (off % size != 0)
		return pt_refuse(why, "misaligned access");
	switch (off) {
	case offsetof(S, state):
	case offsetof(S, family):
	case offsetof(S, type):
	case offsetof(S, protocol):
	case offsetof(S, src_port):
	case offsetof(S, rx_queue_mapping):
	case PT_RANGE(S, src_ip4):
	case PT_RANGE(S, src_ip6):
	case PT_RANGE(S, dst_ip4):
	case PT_RANGE(S, dst_ip6):
		if (!pt_narrow_ok(size, 4))
			return pt_refuse(why, "size must be 1, 2 or 4");
		return 0;
	case PT_RANGE(S, dst_port):
		field = size == 4 ? 4 : (int)PT_FSIZE(S, dst_port);
		if (!pt_narrow_ok(size, field))
			return pt_refuse(why, "size must be 1, 2 or 4");
		return 0;
	case (offsetof(S, dst_port) + PT_FSIZE(S, dst_port)) ...
		(offsetof(S, dst_ip4) - 1):
		return pt_refuse(why, "padding after dst_port");
	}
	if (size != 4)
		return pt_refuse(why, "size must be 4");
	return 0;
}

int usm__bpf_sock_common_is_valid_access(int off, int size, bool write,
					 const char **why)
{
	typedef struct bpf_sock S;

	switch (off) {
	case PT_RANGE_TILL(S, type, priority):
		return pt_refuse(why, "field not available through sock_common");
	default:
		return usm__bpf_sock_is_valid_access(off, size, write, why);
	}
}
