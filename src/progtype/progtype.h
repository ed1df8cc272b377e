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
 * IP header for skb_load_bytes_relative(BPF_HDR_START_NET). */
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

/* sock_ops context. */
struct usm_sock_ops_ctx {
	struct bpf_sock_ops md; /* must stay first */
	struct usm_sock *sk;
};

/* What a context access yields, filled by is_valid_access on success. */
struct usm_ctx_access {
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

/* Access check for struct bpf_sock fields through a socket pointer. */
int usm__bpf_sock_is_valid_access(int off, int size, bool write,
				  const char **why);

/* Program type and expected attach type from a libbpf section name
 * ("sk_skb/stream_parser", "sk_msg", "sk_reuseport", "sockops", ...).
 * Returns 0 or -ENOENT for a section that is not a program we run. */
int usm__prog_type_from_section(const char *sec, uint32_t *type,
				uint32_t *attach_type);

#endif /* USM_PROGTYPE_PROGTYPE_H */
