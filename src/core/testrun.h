/* SPDX-License-Identifier: MIT */
/*
 * Internal interface of the test-run core (usm_prog_run, include/usockmap/
 * run.h), split in three files:
 *   testrun.c        options, the run loop, timing, verdict mapping
 *   testrun_ctx.c    per-program-type contexts built from data_in/ctx_in,
 *                    reset between runs, results read back
 *   testrun_sock.c   the real sockets a run uses (--sock MAP:KEY)
 *   testrun_fields.c the UAPI context field table (names, offsets, byte
 *                    orders, which fields a test may set), shared with the
 *                    CLI's --ctx-in JSON parser
 */
#ifndef USM_CORE_TESTRUN_H
#define USM_CORE_TESTRUN_H

#include <stdbool.h>
#include <stdint.h>

#include <usockmap/run.h>

#include "../common/log.h"
#include "../progtype/progtype.h"
#include "../skmsg/msg.h"

struct usm_prog;
struct usm_sock;

/* How a context field is written in JSON and stored in the UAPI struct. */
enum usm_trf_fmt {
	USM_TRF_U32,       /* integer, host order */
	USM_TRF_U64,       /* integer, host order, 8 bytes */
	USM_TRF_LEN,       /* len/size: 0 or the data size */
	USM_TRF_FAMILY,    /* "AF_INET"/"AF_INET6"/"AF_UNIX" or integer */
	USM_TRF_IP4,       /* dotted quad; stored in network order */
	USM_TRF_IP6,       /* IPv6 text; 16 bytes in network order */
	/* Port in host order in JSON; stored as the kernel's rewritten load
	 * yields it: the network-order u16 in the upper 16 bits of the u32
	 * on little-endian, i.e. the u32 equals htonl(port) (SKB-20). */
	USM_TRF_PORT_NET,
	USM_TRF_PORT_HOST, /* port, host order u32 */
	USM_TRF_BE16,      /* e.g. eth_protocol 0x0800 given in host order,
			      stored htons() in a u32 (network order) */
	USM_TRF_IPPROTO,   /* "IPPROTO_TCP"/"IPPROTO_UDP" or integer */
	USM_TRF_SOCKOPS_OP,/* "BPF_SOCK_OPS_*" name or integer */
	USM_TRF_ARRAY,     /* JSON array of u32 (cb[], args[]) */
	USM_TRF_PTR,       /* pointer: never set by a test */
};

struct usm_trf {
	const char *name;
	uint16_t off;
	uint16_t size;    /* bytes; ARRAY: size / 4 elements */
	uint8_t fmt;      /* enum usm_trf_fmt */
	bool settable;    /* a test may give it in ctx_in */
	bool from_sock;   /* filled from the run's socket unless set */
};

/* The field table of @prog_type's UAPI context, *cnt entries, and the
 * context size in *ctx_size. NULL for a type we do not run. */
const struct usm_trf *usm__trf_table(uint32_t prog_type, uint32_t *cnt,
				     uint32_t *ctx_size);

/* The field named @name, or NULL. */
const struct usm_trf *usm__trf_find(uint32_t prog_type, const char *name);

/* The field covering byte @off, or NULL (padding/unnamed). */
const struct usm_trf *usm__trf_at(uint32_t prog_type, uint32_t off);

/* "sk_skb", "sk_msg", ... for messages. */
const char *usm__trf_type_name(uint32_t prog_type);

/* A u32 field of @o's ctx_in by UAPI name, 0 if absent (testrun.c). */
uint32_t usm__tr_ctx_in_u32(const struct usm_prog_run_opts *o,
			    uint32_t type, const char *name);
/* CLOCK_MONOTONIC in ns, for run timing. */
uint64_t usm__tr_now_ns(void);

/* Sockets of one run (testrun_sock.c). */
struct usm_tr_socks {
	uint32_t cnt;              /* entries in sk/fds */
	struct usm_sock **sk;      /* one per opts->socks entry (ref each) */
	int *peer;                 /* the other end of each pair, or -1 */
	bool *inserted;
	struct usm_sock *own;      /* the run's own socket, or NULL */
	int own_peer;
	uint16_t group_port;       /* sk_reuseport group port */
	const struct usm_prog_run_sock *specs;
};

/* Create and insert the sockets @opts asks for; the socket the program
 * runs on comes back in *run_sk (borrowed from @s, may be NULL). On error
 * everything created is undone. */
int usm__tr_socks_setup(struct usm_tr_socks *s,
			const struct usm_prog_run_opts *opts,
			uint32_t prog_type, struct usm_sock **run_sk,
			struct usm_log *log);

/* Delete the inserted slots and close every socket. NULL-safe fields. */
void usm__tr_socks_fini(struct usm_tr_socks *s);

/* One run's context, whichever the type (testrun_ctx.c). */
struct usm_tr_ctx {
	uint32_t type;
	const uint8_t *data;   /* input (borrowed from opts) */
	uint32_t size;
	/* the UAPI ctx every run starts from */
	uint8_t uapi[256] __attribute__((aligned(8)));
	uint32_t uapi_size;
	uint32_t msg_chunk;
	uint32_t skb_linear;   /* linear bytes of the sk_skb packet */
	struct usm_sock *sk;   /* borrowed */
	union {
		struct usm_skb_ctx skb;
		struct usm_msg_ctx msg;
		struct usm_reuseport_ctx rp;
		struct usm_sock_ops_ctx ops;
	} u;
	uint8_t *rp_pkt;        /* sk_reuseport packet copy */
	struct usm_sk_msg *msg; /* sk_msg message */
	struct usm_msg_frag frag;
};

/* Validate ctx_in against the field table and build the starting context
 * (socket fields from @sk unless ctx_in sets them). 0, -EINVAL (logged),
 * -ENOMEM. */
int usm__tr_ctx_init(struct usm_tr_ctx *c, uint32_t prog_type,
		     const struct usm_prog_run_opts *opts, struct usm_sock *sk,
		     struct usm_log *log);

/* Restore the starting context before a run. 0 or -ENOMEM. */
int usm__tr_ctx_reset(struct usm_tr_ctx *c);

/* The pointer a program gets in r1. */
void *usm__tr_ctx_ptr(struct usm_tr_ctx *c);

/* Copy the packet/message and the UAPI ctx after a run into @res, and the
 * recorded redirect/selection. 0 or -ENOMEM. */
int usm__tr_ctx_collect(struct usm_tr_ctx *c, struct usm_prog_run_result *res);

void usm__tr_ctx_fini(struct usm_tr_ctx *c);

#endif /* USM_CORE_TESTRUN_H */
