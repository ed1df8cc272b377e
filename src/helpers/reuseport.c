/* SPDX-License-Identifier: MIT */
/*
 * sk_reuseport helpers (SEMANTICS RPP-03, RPP-05): bpf_sk_select_reuseport,
 * bpf_skb_load_bytes relative to the L4 header, bpf_skb_load_bytes_relative
 * from the network header, and bpf_get_socket_cookie on a socket pointer.
 * Prototypes and errno follow net/core/filter.c (sk_reuseport_func_proto).
 *
 * Reuseport groups are modelled from the sockets' facts (struct usm_sock)
 * by the maps module (usm__sock_reuseport_group_key): a socket is in a
 * group when SO_REUSEPORT is set and it is hashed (TCP listening, UDP
 * bound), and two grouped sockets share a group when protocol, family,
 * bound address/port and device are equal.
 *
 * For REUSEPORT_SOCKARRAY the map's ops->lookup_elem returns the slot's
 * struct usm_sock * without a reference (the kernel's
 * reuseport_array_lookup_elem); SOCKMAP/SOCKHASH go through
 * usm__sockmap_lookup().
 */
#include <errno.h>
#include <limits.h>
#include <linux/bpf.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include "../maps/map.h"
#include "../progtype/progtype.h"
#include "../sock/sock.h"
#include "helpers.h"

#define ERR(e) ((uint64_t)(int64_t)(e))

static struct usm_reuseport_ctx *rp_of(uint64_t r1)
{
	return (struct usm_reuseport_ctx *)(uintptr_t)r1;
}

/* 0 if @target may be selected for @c, else the kernel's errno (RPP-05).
 * Group membership and identity are the maps module's model
 * (usm__sock_reuseport_group_key), shared with REUSEPORT_SOCKARRAY. */
static int select_check(const struct usm_reuseport_ctx *c,
			const struct usm_sock *target, bool is_sockarray)
{
	struct usm_reuseport_key tk, gk;
	const struct usm_sock *sk = c->sk;

	if (usm__sock_reuseport_group_key(target, &tk))
		return is_sockarray ? -ENOENT : -EINVAL;
	if (!sk || sk == target)
		return 0;
	if (!usm__sock_reuseport_group_key(sk, &gk) &&
	    !memcmp(&gk, &tk, sizeof(tk)))
		return 0;
	if (sk->protocol != target->protocol)
		return -EPROTOTYPE;
	if (sk->domain != target->domain)
		return -EAFNOSUPPORT;
	return -EBADFD; /* likely bound to another address */
}

static uint64_t sk_select_reuseport(struct usm_run *run, uint64_t r1,
				    uint64_t r2, uint64_t r3, uint64_t r4,
				    uint64_t r5)
{
	struct usm_reuseport_ctx *c = rp_of(r1);
	struct usm_map *map = (struct usm_map *)(uintptr_t)r2;
	const void *key = (const void *)(uintptr_t)r3;
	bool is_sockarray;
	struct usm_sock *target;
	uint32_t ksz;
	int err;

	/* flags (r4) are not validated, as in the kernel (RPP-05). */
	if (!map)
		return ERR(-ENOENT);
	is_sockarray = map->map_type == BPF_MAP_TYPE_REUSEPORT_SOCKARRAY;
	if (is_sockarray)
		target = map->ops->lookup_elem ? map->ops->lookup_elem(map, key)
					       : NULL;
	else
		target = usm__sockmap_lookup(map, key);
	if (!target)
		return ERR(-ENOENT);
	err = select_check(c, target, is_sockarray);
	if (err)
		return ERR(err);
	ksz = map->key_size < USM_MAX_KEY_SIZE ? map->key_size
					       : USM_MAX_KEY_SIZE;
	c->selected.set = true;
	c->selected.map = map;
	c->selected.sk = target;
	c->selected.flags = 0;
	c->selected.key_size = ksz;
	memcpy(c->selected.key, key, ksz);
	return 0;
}

const struct usm_helper usm__h_sk_select_reuseport = {
	.id = BPF_FUNC_sk_select_reuseport,
	.name = "bpf_sk_select_reuseport",
	.fn = sk_select_reuseport,
	.ret = USM_RET_INTEGER,
	.args = { USM_ARG_PTR_TO_CTX, USM_ARG_CONST_MAP_PTR,
		  USM_ARG_PTR_TO_MAP_KEY, USM_ARG_ANYTHING },
};

/* bpf_skb_load_bytes on the reuseport skb, whose data starts at the L4
 * header: offset > INT_MAX or past the end -> -EFAULT, buffer zeroed. */
static uint64_t rp_load_bytes(struct usm_run *run, uint64_t r1, uint64_t r2,
			      uint64_t r3, uint64_t r4, uint64_t r5)
{
	const struct usm_reuseport_ctx *c = rp_of(r1);
	uint32_t off = (uint32_t)r2, len = (uint32_t)r4;
	void *to = (void *)(uintptr_t)r3;

	if (off > INT_MAX || !c->pkt || (uint64_t)off + len > c->pkt_len) {
		memset(to, 0, len);
		return ERR(-EFAULT);
	}
	memcpy(to, c->pkt + off, len);
	return 0;
}

/* bpf_skb_load_bytes_relative: offset > 0xffff, an unknown start, no MAC
 * header (we have none), or a range past the end -> -EFAULT, zeroed. */
static uint64_t rp_load_bytes_relative(struct usm_run *run, uint64_t r1,
				       uint64_t r2, uint64_t r3, uint64_t r4,
				       uint64_t r5)
{
	const struct usm_reuseport_ctx *c = rp_of(r1);
	uint32_t off = (uint32_t)r2, len = (uint32_t)r4;
	void *to = (void *)(uintptr_t)r3;

	if (off > 0xffffu || (uint32_t)r5 != BPF_HDR_START_NET || !c->net ||
	    (uint64_t)off + len > c->net_len) {
		memset(to, 0, len);
		return ERR(-EFAULT);
	}
	memcpy(to, c->net + off, len);
	return 0;
}

const struct usm_helper usm__h_skb_load_bytes_reuseport = {
	.id = BPF_FUNC_skb_load_bytes,
	.name = "bpf_skb_load_bytes",
	.fn = rp_load_bytes,
	.ret = USM_RET_INTEGER,
	.args = { USM_ARG_PTR_TO_CTX, USM_ARG_ANYTHING,
		  USM_ARG_PTR_TO_UNINIT_MEM, USM_ARG_CONST_SIZE },
};

const struct usm_helper usm__h_skb_load_bytes_relative_reuseport = {
	.id = BPF_FUNC_skb_load_bytes_relative,
	.name = "bpf_skb_load_bytes_relative",
	.fn = rp_load_bytes_relative,
	.ret = USM_RET_INTEGER,
	.args = { USM_ARG_PTR_TO_CTX, USM_ARG_ANYTHING,
		  USM_ARG_PTR_TO_UNINIT_MEM, USM_ARG_CONST_SIZE,
		  USM_ARG_ANYTHING },
};

/* bpf_get_socket_cookie(sk): 0 for NULL. Every socket pointer a program
 * holds points at the struct bpf_sock that starts a struct usm_sock. */
static uint64_t get_socket_cookie_sock(struct usm_run *run, uint64_t r1,
				       uint64_t r2, uint64_t r3, uint64_t r4,
				       uint64_t r5)
{
	const struct usm_sock *sk = (const struct usm_sock *)(uintptr_t)r1;

	return sk ? sk->cookie : 0;
}

const struct usm_helper usm__h_get_socket_cookie_sock = {
	.id = BPF_FUNC_get_socket_cookie,
	.name = "bpf_get_socket_cookie",
	.fn = get_socket_cookie_sock,
	.ret = USM_RET_INTEGER,
	.args = { USM_ARG_PTR_TO_SOCK_COMMON_OR_NULL },
};
