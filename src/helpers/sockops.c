/* SPDX-License-Identifier: MIT */
/*
 * sock_ops helpers: bpf_sock_map_update / bpf_sock_hash_update (SEMANTICS
 * MAP-BPF-01: only from the ACTIVE_ESTABLISHED, PASSIVE_ESTABLISHED and
 * TCP_LISTEN callbacks, else -EOPNOTSUPP; the user-space state check is
 * skipped) and bpf_get_socket_cookie on the sock_ops context. Prototypes
 * follow net/core/sock_map.c and filter.c.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <stdbool.h>

#include "../maps/map.h"
#include "../progtype/progtype.h"
#include "../sock/sock.h"
#include "helpers.h"

#define ERR(e) ((uint64_t)(int64_t)(e))

static struct usm_sock_ops_ctx *ops_of(uint64_t r1)
{
	return (struct usm_sock_ops_ctx *)(uintptr_t)r1;
}

/* sock_map_op_okay */
static bool op_okay(const struct usm_sock_ops_ctx *c)
{
	return c->md.op == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB ||
	       c->md.op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB ||
	       c->md.op == BPF_SOCK_OPS_TCP_LISTEN_CB;
}

/* Both updates: the socket must be of a kind sockmap supports and the
 * callback one of the three, then the map's own rules apply. */
static uint64_t ops_update(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4,
			   uint32_t map_type)
{
	struct usm_sock_ops_ctx *c = ops_of(r1);
	struct usm_map *map = (struct usm_map *)(uintptr_t)r2;

	if (!c->sk || !usm__sockmap_sk_suitable(c->sk) || !op_okay(c))
		return ERR(-EOPNOTSUPP);
	if (!map || map->map_type != map_type)
		return ERR(-EINVAL);
	return ERR(usm__sockmap_update_sock(map, (const void *)(uintptr_t)r3,
					    c->sk, r4));
}

static uint64_t sock_map_update(struct usm_run *run, uint64_t r1, uint64_t r2,
				uint64_t r3, uint64_t r4, uint64_t r5)
{
	return ops_update(r1, r2, r3, r4, BPF_MAP_TYPE_SOCKMAP);
}

static uint64_t sock_hash_update(struct usm_run *run, uint64_t r1, uint64_t r2,
				 uint64_t r3, uint64_t r4, uint64_t r5)
{
	return ops_update(r1, r2, r3, r4, BPF_MAP_TYPE_SOCKHASH);
}

static uint64_t get_socket_cookie_sock_ops(struct usm_run *run, uint64_t r1,
					   uint64_t r2, uint64_t r3,
					   uint64_t r4, uint64_t r5)
{
	const struct usm_sock_ops_ctx *c = ops_of(r1);

	return c->sk ? c->sk->cookie : 0;
}

const struct usm_helper usm__h_sock_map_update = {
	.id = BPF_FUNC_sock_map_update,
	.name = "bpf_sock_map_update",
	.fn = sock_map_update,
	.ret = USM_RET_INTEGER,
	.args = { USM_ARG_PTR_TO_CTX, USM_ARG_CONST_MAP_PTR,
		  USM_ARG_PTR_TO_MAP_KEY, USM_ARG_ANYTHING },
};

const struct usm_helper usm__h_sock_hash_update = {
	.id = BPF_FUNC_sock_hash_update,
	.name = "bpf_sock_hash_update",
	.fn = sock_hash_update,
	.ret = USM_RET_INTEGER,
	.args = { USM_ARG_PTR_TO_CTX, USM_ARG_CONST_MAP_PTR,
		  USM_ARG_PTR_TO_MAP_KEY, USM_ARG_ANYTHING },
};

const struct usm_helper usm__h_get_socket_cookie_sock_ops = {
	.id = BPF_FUNC_get_socket_cookie,
	.name = "bpf_get_socket_cookie",
	.fn = get_socket_cookie_sock_ops,
	.ret = USM_RET_INTEGER,
	.args = { USM_ARG_PTR_TO_CTX },
};
