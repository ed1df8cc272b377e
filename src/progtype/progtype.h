/* SPDX-License-Identifier: MIT */
/*
 * Program types: for each BPF program type usockmap runs, the layout of the
 * context the program sees, which context accesses the verifier admits
 * (SEMANTICS SKB-20, MSG-02, RPP-02, sock_ops), which of them are rewritten,
 * and which helper prototypes the type may call (SKB-23, MSG-23, RPP-03).
 *
 * A program's r1 points at one of the usm_*_ctx structs below. Each starts
 * with the UAPI struct (struct __sk_buff, sk_msg_md, sk_reuseport_md,
 * bpf_sock_ops), so admitted loads read UAPI offsets directly; fields the
 * kernel computes at access time are rewritten by the verifier into loads of
 * the internal fields after it (acc.xoff/xsize). Helpers cast r1 back to the
 * internal struct.
 *
 * Whoever builds a context (prog run, the engine) must keep the UAPI view
 * and the internal fields consistent; the helpers that change data keep them
 * consistent themselves.
 */
#ifndef USM_PROGTYPE_PROGTYPE_H
#define USM_PROGTYPE_PROGTYPE_H

#include <linux/bpf.h>
#include <stdbool.h>
#include <stdint.h>

#include "../helpers/helpers.h"
#include "../vm/regtype.h"

struct usm_map;
struct usm_sock;
struct usm_sk_msg;

/* Maximum socket-hash key we copy into a decision (the BPF stack size). */
#define USM_MAX_KEY_SIZE 512u

/* A redirect or selection recorded by a helper during one run. */
struct usm_redirect {
	bool set;
	struct usm_map *map;      /* borrowed for the run */
	struct usm_sock *sk;      /* target; borrowed for the run */
	uint64_t flags;           /* BPF_F_INGRESS or 0 */
	uint32_t key_size;
	uint8_t key[USM_MAX_KEY_SIZE];
};

/*
 * sk_skb context. The packet is bytes [data_off, data_off + len) of buf
 * (cap bytes, headroom before data_off for change_head/adjust_room);
 * linear_len <= len is what data_end covers (SKB-20: "end of the linear
 * part"), normally len.
 */
struct usm_skb_ctx {
	struct __sk_buff md;   /* must stay first */
	void *data;            /* rewritten loads of md.data read this */
	void *data_end;        /* ... md.data_end */
	void *data_meta;       /* ... md.data_meta (== data: no metadata) */
	uint8_t *buf;          /* owned by whoever built the ctx */
	uint32_t cap;
	uint32_t data_off;
	uint32_t len;
	uint32_t linear_len;
	bool buf_owned;        /* helpers may realloc buf when true */
	struct usm_sock *sk;   /* receiving socket, may be NULL in prog run */
	struct usm_redirect redir;
};

/*
 * Largest buffer the sk_skb helpers grow a buf_owned context to (bytes of
 * cap). bpf_skb_change_tail/change_head stop far below (SKB-26/27), but
 * repeated bpf_skb_adjust_room calls have no length cap in the kernel
 * either; past this we answer -ENOMEM as a failed allocation would.
 */
#define USM_SKB_MAX_CAP (16u << 20)

/*
 * Set up @ctx over @len bytes of packet at buf[data_off] (@cap bytes in
 * all), linear_len = len, no socket, no redirect, md zeroed except len.
 * @owned: buf came from malloc() and helpers may replace it (free() + new
 * malloc) to grow it; whoever built the ctx frees ctx->buf afterwards
 * either way. Callers then fill the md socket fields they know.
 */
void usm__skb_ctx_init(struct usm_skb_ctx *ctx, uint8_t *buf, uint32_t cap,
		       uint32_t data_off, uint32_t len, bool owned);

/* Recompute the pointer view (data, data_end = data + linear_len,
 * data_meta = data) and md.len from buf/data_off/len/linear_len. Helpers
 * call it after every change; so must anyone who edits those fields. */
void usm__skb_ctx_sync(struct usm_skb_ctx *ctx);

/* sk_msg context: md.data/data_end point into the message (MSG-03). */
struct usm_msg_ctx {
	struct sk_msg_md md;   /* must stay first */
	struct usm_sk_msg *msg;
	struct usm_sock *sk;   /* sending socket (MSG-24) */
	struct usm_redirect redir;
	uint32_t apply_bytes;  /* last bpf_msg_apply_bytes (MSG-07) */
	uint32_t cork_bytes;   /* last bpf_msg_cork_bytes (MSG-08) */
};

/* sk_reuseport context (RPP-02). pkt is the L4 header + payload; net is the
 * IP header for skb_load_bytes_relative(BPF_HDR_START_NET), net_len the
 * bytes from there to the end of the packet (the kernel reads up to the
 * tail, so a relative load may run from the IP header into the L4 header);
 * net may be NULL. No MAC header: BPF_HDR_START_MAC loads fail (-EFAULT).
 * ctx->sk is the socket the group lookup is for (NULL in a bare prog run:
 * bpf_sk_select_reuseport then only checks that the target is in some
 * group). */
struct usm_reuseport_ctx {
	struct sk_reuseport_md md; /* must stay first */
	const uint8_t *pkt;
	uint32_t pkt_len;
	const uint8_t *net;
	uint32_t net_len;
	struct usm_sock *sk;
	struct usm_redirect selected; /* bpf_sk_select_reuseport's choice */
	void *group;                  /* reuseport group (reuseport module) */
};

/*
 * Size of the sock_ops context in the 6.12 UAPI: struct bpf_sock_ops gained
 * skb_hwtstamp (u64 at offset 216) in 6.4; older <linux/bpf.h> copies end at
 * 216. The union keeps room for it whichever header we build with, so loads
 * of skb_hwtstamp read md_raw[216..223] (zero unless the builder sets it).
 */
#define USM_SOCK_OPS_CTX_SIZE      224u
#define USM_SOCK_OPS_HWTSTAMP_OFF  216u

/*
 * Set up @ctx for a packet whose L4 header starts at @pkt (@len bytes to
 * the end; RPP-02: md.data = pkt, md.data_end = pkt + len, md.len = len),
 * with the network header at @net (@net_len bytes to the end, may be NULL)
 * and the group socket @sk (md.sk; may be NULL in a bare run). Everything
 * else is zero: the caller sets eth_protocol, ip_protocol, bind_inany,
 * hash (and migrating_sk) as it knows them.
 */
void usm__reuseport_ctx_init(struct usm_reuseport_ctx *ctx,
			     const uint8_t *pkt, uint32_t len,
			     const uint8_t *net, uint32_t net_len,
			     struct usm_sock *sk);

/* sock_ops context. */
struct usm_sock_ops_ctx {
	union {
		struct bpf_sock_ops md; /* must stay first */
		uint8_t md_raw[USM_SOCK_OPS_CTX_SIZE];
	};
	struct usm_sock *sk;
};

/*
 * The socket fields every context type shows (SEMANTICS SKB-20/21,
 * MSG-02), as the kernel computes them from the socket: addresses in
 * network order; remote_port is the network-order port loaded as a 16-bit
 * value and shifted into the upper half (so bpf_ntohl(remote_port) is the
 * host-order port, and remote_port >> 16 the network-order one);
 * local_port in host order. The kernel's copies between the address
 * families show too (pt_sockaddr.c): an established IPv4 TCP socket has
 * its addresses v4-mapped in the ip6 fields, an IPv6 socket shows
 * 127.0.0.6 as local_ip4 for a non-mapped local address.
 */
struct usm_ctx_addrs {
	uint32_t family;
	uint32_t remote_ip4, local_ip4;
	uint32_t remote_ip6[4], local_ip6[4];
	uint32_t remote_port, local_port;
};

/* Fill @a from @sk's facts (local/peer address); zeros for NULL. */
void usm__ctx_addrs_from_sock(const struct usm_sock *sk,
			      struct usm_ctx_addrs *a);

/* Point a context at @sk (borrowed for the run; NULL clears): the
 * internal sk, the UAPI sk pointer where the type has one, and the
 * address fields above. sock_ops also gets is_fullsock and state. */
void usm__skb_ctx_set_sock(struct usm_skb_ctx *ctx, struct usm_sock *sk);
void usm__msg_ctx_set_sock(struct usm_msg_ctx *ctx, struct usm_sock *sk);
void usm__sock_ops_ctx_set_sock(struct usm_sock_ops_ctx *ctx,
				struct usm_sock *sk);

/* What a context access yields, filled by is_valid_access on success. */
struct usm_ctx_access {
	/* In: set by the caller (zero it otherwise) for a sign-extending
	 * load (BPF_MEMSX); the kernel refuses those on pointer fields. */
	bool ldsx;
	/* Out (on success): */
	enum usm_reg_type reg_type; /* USM_SCALAR unless a pointer field */
	int32_t xoff;   /* >= 0: rewrite the load to this offset ... */
	uint8_t xsize;  /* ... with this size (1/2/4/8) */
	uint32_t mem_size; /* pointer fields to memory of fixed size (sk) */
};

struct usm_prog_type {
	uint32_t type;           /* BPF_PROG_TYPE_* */
	const char *name;        /* "sk_skb" */
	uint32_t ctx_size;       /* UAPI context size */
	uint32_t kctx_size;      /* internal context struct size */
	/* 0 if the access of @size bytes at @off is allowed (write or read);
	 * -EACCES with *why set otherwise. Narrow loads (1/2 bytes of a u32
	 * field) follow the kernel's per-field rules. */
	int (*is_valid_access)(int off, int size, bool write,
			       struct usm_ctx_access *acc, const char **why);
	/* Prototype of helper @id for this type, or NULL (not allowed). */
	const struct usm_helper *(*get_helper)(uint32_t id);
	/* Socket-pointer field access (struct bpf_sock via skb->sk etc.):
	 * shared by all types, see progtype.c. */
};

/* The description of @type, or NULL if usockmap does not run it. */
const struct usm_prog_type *usm__prog_type_get(uint32_t type);

/* Access check for struct bpf_sock fields through a socket pointer
 * (PTR_TO_SOCKET: the kernel's bpf_sock_is_valid_access). 0 or -EACCES with
 * *why set. Writes are always refused. */
int usm__bpf_sock_is_valid_access(int off, int size, bool write,
				  const char **why);

/* The same through a PTR_TO_SOCK_COMMON pointer (__sk_buff.sk,
 * sk_reuseport_md.migrating_sk): type, protocol, mark and priority are not
 * available (the kernel's bpf_sock_common_is_valid_access). */
int usm__bpf_sock_common_is_valid_access(int off, int size, bool write,
					 const char **why);

/* The base helper set every type above falls back to (the parts of the
 * kernel's bpf_base_func_proto/bpf_sk_base_func_proto we implement), or
 * NULL. */
const struct usm_helper *usm__prog_type_base_helper(uint32_t id);

/* The descriptions, one per type (progtype/pt_*.c). */
extern const struct usm_prog_type usm__pt_sk_skb;
extern const struct usm_prog_type usm__pt_sk_msg;
extern const struct usm_prog_type usm__pt_sk_reuseport;
extern const struct usm_prog_type usm__pt_sock_ops;

/* Program type and expected attach type from a libbpf section name
 * ("sk_skb/stream_parser", "sk_msg", "sk_reuseport", "sockops", ...).
 * Returns 0 or -ENOENT for a section that is not a program we run. */
int usm__prog_type_from_section(const char *sec, uint32_t *type,
				uint32_t *attach_type);

#endif /* USM_PROGTYPE_PROGTYPE_H */
