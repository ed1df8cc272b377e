/* SPDX-License-Identifier: MIT */
/*
 * sk_msg helpers (SEMANTICS MSG-07/08, MSG-11..16): apply/cork bytes,
 * pull/push/pop on the scatter-gather message, and the redirect helpers.
 * Prototypes match the kernel's (net/core/filter.c, net/core/sock_map.c)
 * because the verifier checks calls against them.
 *
 * Every helper gets the program's context (struct usm_msg_ctx) in r1. The
 * data-changing helpers keep md.data, md.data_end and md.size consistent
 * with the message and are flagged USM_HF_PKT_CHANGE so the verifier
 * invalidates packet pointers across the call. Calling context: the loop
 * thread running the program.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>

#include "../maps/map.h"
#include "../progtype/progtype.h"
#include "../skmsg/msg.h"
#include "../sock/sock.h"
#include "../vm/vm.h"
#include "helpers.h"

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

static struct usm_msg_ctx *msg_ctx(uint64_t r1)
{
	return (struct usm_msg_ctx *)(uintptr_t)r1;
}

static uint64_t errno_ret(int err)
{
	return (uint64_t)(int64_t)err;
}

/* MSG-07: the verdict covers this many bytes; always 0. */
static uint64_t msg_apply_bytes(struct usm_run *run, uint64_t r1, uint64_t r2,
				uint64_t r3, uint64_t r4, uint64_t r5)
{
	msg_ctx(r1)->apply_bytes = (uint32_t)r2;
	return 0;
}

/* MSG-08: hold data back until this many bytes are buffered; always 0. */
static uint64_t msg_cork_bytes(struct usm_run *run, uint64_t r1, uint64_t r2,
			       uint64_t r3, uint64_t r4, uint64_t r5)
{
	msg_ctx(r1)->cork_bytes = (uint32_t)r2;
	return 0;
}

/* MSG-11: on success data/data_end cover exactly [start, end). */
static uint64_t msg_pull_data(struct usm_run *run, uint64_t r1, uint64_t r2,
			      uint64_t r3, uint64_t r4, uint64_t r5)
{
	struct usm_msg_ctx *ctx = msg_ctx(r1);
	uint32_t start = (uint32_t)r2, end = (uint32_t)r3;
	uint8_t *data;
	int err;

	if (!ctx->msg)
		return errno_ret(-EINVAL);
	err = usm__msg_pull(ctx->msg, start, end, r4, &data);
	if (err)
		return errno_ret(err);
	ctx->md.data = data;
	ctx->md.data_end = data + (end - start);
	ctx->md.size = ctx->msg->size;
	return 0;
}

/* MSG-12/13: a change resets data/data_end to the first chunk; len 0
 * changes nothing, not even the pointers. */
static uint64_t msg_change(struct usm_msg_ctx *ctx, uint64_t r2, uint64_t r3,
			   uint64_t flags, bool push)
{
	uint32_t start = (uint32_t)r2, len = (uint32_t)r3;
	int err;

	if (!ctx->msg)
		return errno_ret(-EINVAL);
	err = push ? usm__msg_push(ctx->msg, start, len, flags)
		   : usm__msg_pop(ctx->msg, start, len, flags);
	if (err)
		return errno_ret(err);
	if (len)
		usm__msg_compute_data_pointers(ctx);
	return 0;
}

static uint64_t msg_push_data(struct usm_run *run, uint64_t r1, uint64_t r2,
			      uint64_t r3, uint64_t r4, uint64_t r5)
{
	return msg_change(msg_ctx(r1), r2, r3, r4, true);
}

static uint64_t msg_pop_data(struct usm_run *run, uint64_t r1, uint64_t r2,
			     uint64_t r3, uint64_t r4, uint64_t r5)
{
	return msg_change(msg_ctx(r1), r2, r3, r4, false);
}

static bool sk_is_tcp(const struct usm_sock *sk)
{
	return (sk->domain == AF_INET || sk->domain == AF_INET6) &&
	       sk->type == SOCK_STREAM && sk->protocol == IPPROTO_TCP;
}

/* MSG-16 (sock_map.c): which targets an sk_msg redirect may name. */
static bool msg_redirect_allowed(const struct usm_sock *sk, uint64_t flags)
{
	bool tcp = sk_is_tcp(sk);

	if (tcp ? sk->tcp_state == TCP_LISTEN
		: sk->tcp_state != TCP_ESTABLISHED)
		return false;
	if (!(flags & BPF_F_INGRESS) && !tcp)
		return false; /* egress only out of a TCP socket */
	return sk->domain != AF_VSOCK;
}

/* Look the target up and record it; SK_PASS or SK_DROP (nothing recorded). */
static uint64_t msg_redirect(struct usm_msg_ctx *ctx, struct usm_map *map,
			     uint32_t map_type, const void *key,
			     uint32_t key_size, uint64_t flags)
{
	struct usm_sock *sk;

	if (flags & ~(uint64_t)BPF_F_INGRESS)
		return SK_DROP;
	if (!map || map->map_type != map_type || key_size > USM_MAX_KEY_SIZE)
		return SK_DROP; /* the verifier admits neither */
	sk = usm__sockmap_lookup(map, key);
	if (!sk || !msg_redirect_allowed(sk, flags))
		return SK_DROP;
	ctx->redir.set = true;
	ctx->redir.map = map;
	ctx->redir.sk = sk;
	ctx->redir.flags = flags;
	ctx->redir.key_size = key_size;
	memcpy(ctx->redir.key, key, key_size);
	return SK_PASS;
}

static uint64_t msg_redirect_map(struct usm_run *run, uint64_t r1, uint64_t r2,
				 uint64_t r3, uint64_t r4, uint64_t r5)
{
	uint32_t key = (uint32_t)r3;

	return msg_redirect(msg_ctx(r1), (struct usm_map *)(uintptr_t)r2,
			    BPF_MAP_TYPE_SOCKMAP, &key, sizeof(key), r4);
}

static uint64_t msg_redirect_hash(struct usm_run *run, uint64_t r1,
				  uint64_t r2, uint64_t r3, uint64_t r4,
				  uint64_t r5)
{
	struct usm_map *map = (struct usm_map *)(uintptr_t)r2;

	return msg_redirect(msg_ctx(r1), map, BPF_MAP_TYPE_SOCKHASH,
			    (const void *)(uintptr_t)r3, map ? map->key_size : 0,
			    r4);
}

const struct usm_helper usm__h_msg_apply_bytes = {
	.id = BPF_FUNC_msg_apply_bytes,
	.name = "bpf_msg_apply_bytes",
	.fn = msg_apply_bytes,
	.ret = USM_RET_INTEGER,
	.args = { USM_ARG_PTR_TO_CTX, USM_ARG_ANYTHING },
};

const struct usm_helper usm__h_msg_cork_bytes = {
	.id = BPF_FUNC_msg_cork_bytes,
	.name = "bpf_msg_cork_bytes",
	.fn = msg_cork_bytes,
	.ret = USM_RET_INTEGER,
	.args = { USM_ARG_PTR_TO_CTX, USM_ARG_ANYTHING },
};

const struct usm_helper usm__h_msg_pull_data = {
	.id = BPF_FUNC_msg_pull_data,
	.name = "bpf_msg_pull_data",
	.fn = msg_pull_data,
	.ret = USM_RET_INTEGER,
	.args = { USM_ARG_PTR_TO_CTX, USM_ARG_ANYTHING, USM_ARG_ANYTHING,
		  USM_ARG_ANYTHING },
	.flags = USM_HF_PKT_CHANGE,
};

const struct usm_helper usm__h_msg_push_data = {
	.id = BPF_FUNC_msg_push_data,
	.name = "bpf_msg_push_data",
	.fn = msg_push_data,
	.ret = USM_RET_INTEGER,
	.args = { USM_ARG_PTR_TO_CTX, USM_ARG_ANYTHING, USM_ARG_ANYTHING,
		  USM_ARG_ANYTHING },
	.flags = USM_HF_PKT_CHANGE,
};

const struct usm_helper usm__h_msg_pop_data = {
	.id = BPF_FUNC_msg_pop_data,
	.name = "bpf_msg_pop_data",
	.fn = msg_pop_data,
	.ret = USM_RET_INTEGER,
	.args = { USM_ARG_PTR_TO_CTX, USM_ARG_ANYTHING, USM_ARG_ANYTHING,
		  USM_ARG_ANYTHING },
	.flags = USM_HF_PKT_CHANGE,
};

const struct usm_helper usm__h_msg_redirect_map = {
	.id = BPF_FUNC_msg_redirect_map,
	.name = "bpf_msg_redirect_map",
	.fn = msg_redirect_map,
	.ret = USM_RET_INTEGER,
	.args = { USM_ARG_PTR_TO_CTX, USM_ARG_CONST_MAP_PTR, USM_ARG_ANYTHING,
		  USM_ARG_ANYTHING },
};

const struct usm_helper usm__h_msg_redirect_hash = {
	.id = BPF_FUNC_msg_redirect_hash,
	.name = "bpf_msg_redirect_hash",
	.fn = msg_redirect_hash,
	.ret = USM_RET_INTEGER,
	.args = { USM_ARG_PTR_TO_CTX, USM_ARG_CONST_MAP_PTR,
		  USM_ARG_PTR_TO_MAP_KEY, USM_ARG_ANYTHING },
};
