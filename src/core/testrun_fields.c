/* SPDX-License-Identifier: MIT */
/*
 * The UAPI context structs as tables: every named field of struct
 * __sk_buff, sk_msg_md, sk_reuseport_md and bpf_sock_ops with its offset,
 * size, how it is written in --ctx-in JSON and stored (byte order), and
 * whether a test run lets the caller set it.
 *
 * Settable fields are the ones a program could observe from a real socket
 * or packet (the kernel's own BPF_PROG_TEST_RUN for skb types lets a test
 * set only a few: priority, cb, ...; since the kernel has no test run for
 * these types at all we also accept the socket fields family, addresses
 * and ports, SEMANTICS SKB-20/21, MSG-02, RPP-02). Pointer fields and
 * fields the kernel derives from state we do not model are never
 * settable. Byte orders follow the kernel's context rewrites: addresses
 * network order, local_port host order, remote_port network order in the
 * upper 16 bits of the u32 (so it equals htonl(port)).
 */
#include <stddef.h>
#include <string.h>

#include <linux/bpf.h>

#include "testrun.h"

#define F(T, m, fmt, set, sock)                                                \
	{ #m, offsetof(T, m), sizeof(((T *)0)->m), fmt, set, sock }
#define FX(name, off, size, fmt, set, sock) { name, off, size, fmt, set, sock }

typedef struct __sk_buff SKB;
typedef struct sk_msg_md MSG;
typedef struct sk_reuseport_md RP;
typedef struct bpf_sock_ops OPS;

static const struct usm_trf skb_fields[] = {
	F(SKB, len, USM_TRF_LEN, true, false),
	F(SKB, pkt_type, USM_TRF_U32, false, false),
	F(SKB, mark, USM_TRF_U32, false, false),
	F(SKB, queue_mapping, USM_TRF_U32, false, false),
	F(SKB, protocol, USM_TRF_BE16, true, false),
	F(SKB, vlan_present, USM_TRF_U32, false, false),
	F(SKB, vlan_tci, USM_TRF_U32, false, false),
	F(SKB, vlan_proto, USM_TRF_U32, false, false),
	F(SKB, priority, USM_TRF_U32, true, false),
	F(SKB, ingress_ifindex, USM_TRF_U32, false, false),
	F(SKB, ifindex, USM_TRF_U32, false, false),
	F(SKB, tc_index, USM_TRF_U32, true, false),
	F(SKB, cb, USM_TRF_ARRAY, true, false),
	F(SKB, hash, USM_TRF_U32, true, false),
	F(SKB, tc_classid, USM_TRF_U32, false, false),
	F(SKB, data, USM_TRF_PTR, false, false),
	F(SKB, data_end, USM_TRF_PTR, false, false),
	F(SKB, napi_id, USM_TRF_U32, false, false),
	F(SKB, family, USM_TRF_FAMILY, true, true),
	F(SKB, remote_ip4, USM_TRF_IP4, true, true),
	F(SKB, local_ip4, USM_TRF_IP4, true, true),
	F(SKB, remote_ip6, USM_TRF_IP6, true, true),
	F(SKB, local_ip6, USM_TRF_IP6, true, true),
	F(SKB, remote_port, USM_TRF_PORT_NET, true, true),
	F(SKB, local_port, USM_TRF_PORT_HOST, true, true),
	F(SKB, data_meta, USM_TRF_PTR, false, false),
	FX("flow_keys", offsetof(SKB, flow_keys), 8, USM_TRF_PTR, false, false),
	F(SKB, tstamp, USM_TRF_U64, false, false),
	F(SKB, wire_len, USM_TRF_U32, false, false),
	F(SKB, gso_segs, USM_TRF_U32, false, false),
	FX("sk", offsetof(SKB, sk), 8, USM_TRF_PTR, false, false),
	F(SKB, gso_size, USM_TRF_U32, false, false),
	F(SKB, tstamp_type, USM_TRF_U32, false, false),
	F(SKB, hwtstamp, USM_TRF_U64, false, false),
};

static const struct usm_trf msg_fields[] = {
	FX("data", offsetof(MSG, data), 8, USM_TRF_PTR, false, false),
	FX("data_end", offsetof(MSG, data_end), 8, USM_TRF_PTR, false, false),
	F(MSG, family, USM_TRF_FAMILY, true, true),
	F(MSG, remote_ip4, USM_TRF_IP4, true, true),
	F(MSG, local_ip4, USM_TRF_IP4, true, true),
	F(MSG, remote_ip6, USM_TRF_IP6, true, true),
	F(MSG, local_ip6, USM_TRF_IP6, true, true),
	F(MSG, remote_port, USM_TRF_PORT_NET, true, true),
	F(MSG, local_port, USM_TRF_PORT_HOST, true, true),
	F(MSG, size, USM_TRF_LEN, true, false),
	FX("sk", offsetof(MSG, sk), 8, USM_TRF_PTR, false, false),
};

static const struct usm_trf rp_fields[] = {
	FX("data", offsetof(RP, data), 8, USM_TRF_PTR, false, false),
	FX("data_end", offsetof(RP, data_end), 8, USM_TRF_PTR, false, false),
	F(RP, len, USM_TRF_LEN, true, false),
	F(RP, eth_protocol, USM_TRF_BE16, true, false),
	F(RP, ip_protocol, USM_TRF_IPPROTO, true, false),
	F(RP, bind_inany, USM_TRF_U32, true, false),
	F(RP, hash, USM_TRF_U32, true, false),
	FX("sk", offsetof(RP, sk), 8, USM_TRF_PTR, false, false),
	FX("migrating_sk", offsetof(RP, migrating_sk), 8, USM_TRF_PTR, false,
	   false),
};

/* args[] and reply share a union; args comes first so byte lookups find
 * it, reply is accepted as a name for args[0]. */
static const struct usm_trf ops_fields[] = {
	F(OPS, op, USM_TRF_SOCKOPS_OP, true, false),
	F(OPS, args, USM_TRF_ARRAY, true, false),
	F(OPS, reply, USM_TRF_U32, true, false),
	F(OPS, family, USM_TRF_FAMILY, true, true),
	F(OPS, remote_ip4, USM_TRF_IP4, true, true),
	F(OPS, local_ip4, USM_TRF_IP4, true, true),
	F(OPS, remote_ip6, USM_TRF_IP6, true, true),
	F(OPS, local_ip6, USM_TRF_IP6, true, true),
	F(OPS, remote_port, USM_TRF_PORT_NET, true, true),
	F(OPS, local_port, USM_TRF_PORT_HOST, true, true),
	F(OPS, is_fullsock, USM_TRF_U32, true, true),
	F(OPS, snd_cwnd, USM_TRF_U32, true, false),
	F(OPS, srtt_us, USM_TRF_U32, true, false),
	F(OPS, bpf_sock_ops_cb_flags, USM_TRF_U32, true, false),
	F(OPS, state, USM_TRF_U32, true, true),
	F(OPS, rtt_min, USM_TRF_U32, true, false),
	F(OPS, snd_ssthresh, USM_TRF_U32, true, false),
	F(OPS, rcv_nxt, USM_TRF_U32, true, false),
	F(OPS, snd_nxt, USM_TRF_U32, true, false),
	F(OPS, snd_una, USM_TRF_U32, true, false),
	F(OPS, mss_cache, USM_TRF_U32, true, false),
	F(OPS, ecn_flags, USM_TRF_U32, true, false),
	F(OPS, rate_delivered, USM_TRF_U32, true, false),
	F(OPS, rate_interval_us, USM_TRF_U32, true, false),
	F(OPS, packets_out, USM_TRF_U32, true, false),
	F(OPS, retrans_out, USM_TRF_U32, true, false),
	F(OPS, total_retrans, USM_TRF_U32, true, false),
	F(OPS, segs_in, USM_TRF_U32, true, false),
	F(OPS, data_segs_in, USM_TRF_U32, true, false),
	F(OPS, segs_out, USM_TRF_U32, true, false),
	F(OPS, data_segs_out, USM_TRF_U32, true, false),
	F(OPS, lost_out, USM_TRF_U32, true, false),
	F(OPS, sacked_out, USM_TRF_U32, true, false),
	F(OPS, sk_txhash, USM_TRF_U32, true, false),
	F(OPS, bytes_received, USM_TRF_U64, true, false),
	F(OPS, bytes_acked, USM_TRF_U64, true, false),
	FX("sk", offsetof(OPS, sk), 8, USM_TRF_PTR, false, false),
	FX("skb_data", offsetof(OPS, skb_data), 8, USM_TRF_PTR, false, false),
	FX("skb_data_end", offsetof(OPS, skb_data_end), 8, USM_TRF_PTR, false,
	   false),
	F(OPS, skb_len, USM_TRF_U32, true, false),
	F(OPS, skb_tcp_flags, USM_TRF_U32, true, false),
	/* 6.4+ field our <linux/bpf.h> copy may lack (progtype.h). */
	FX("skb_hwtstamp", USM_SOCK_OPS_HWTSTAMP_OFF, 8, USM_TRF_U64, true,
	   false),
};

#define N(a) ((uint32_t)(sizeof(a) / sizeof((a)[0])))

const struct usm_trf *usm__trf_table(uint32_t prog_type, uint32_t *cnt,
				     uint32_t *ctx_size)
{
	switch (prog_type) {
	case BPF_PROG_TYPE_SK_SKB:
		*cnt = N(skb_fields);
		*ctx_size = sizeof(SKB);
		return skb_fields;
	case BPF_PROG_TYPE_SK_MSG:
		*cnt = N(msg_fields);
		*ctx_size = sizeof(MSG);
		return msg_fields;
	case BPF_PROG_TYPE_SK_REUSEPORT:
		*cnt = N(rp_fields);
		*ctx_size = sizeof(RP);
		return rp_fields;
	case BPF_PROG_TYPE_SOCK_OPS:
		*cnt = N(ops_fields);
		*ctx_size = USM_SOCK_OPS_CTX_SIZE;
		return ops_fields;
	default:
		*cnt = 0;
		*ctx_size = 0;
		return NULL;
	}
}

const struct usm_trf *usm__trf_find(uint32_t prog_type, const char *name)
{
	uint32_t cnt, size, i;
	const struct usm_trf *t = usm__trf_table(prog_type, &cnt, &size);

	for (i = 0; i < cnt; i++)
		if (strcmp(t[i].name, name) == 0)
			return &t[i];
	return NULL;
}

const struct usm_trf *usm__trf_at(uint32_t prog_type, uint32_t off)
{
	uint32_t cnt, size, i;
	const struct usm_trf *t = usm__trf_table(prog_type, &cnt, &size);

	for (i = 0; i < cnt; i++)
		if (off >= t[i].off && off < (uint32_t)t[i].off + t[i].size)
			return &t[i];
	return NULL;
}

const char *usm__trf_type_name(uint32_t prog_type)
{
	switch (prog_type) {
	case BPF_PROG_TYPE_SK_SKB:
		return "sk_skb";
	case BPF_PROG_TYPE_SK_MSG:
		return "sk_msg";
	case BPF_PROG_TYPE_SK_REUSEPORT:
		return "sk_reuseport";
	case BPF_PROG_TYPE_SOCK_OPS:
		return "sock_ops";
	default:
		return "unsupported";
	}
}
