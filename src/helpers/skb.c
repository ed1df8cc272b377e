/* SPDX-License-Identifier: MIT */
/*
 * sk_skb helpers (SEMANTICS SKB-13/14/17, SKB-23..29): packet bytes
 * (load/store), the packet-shaping helpers (pull_data, change_tail,
 * change_head, adjust_room), socket identity (cookie, uid) and
 * bpf_sk_redirect_map/hash. Prototypes and errno follow net/core/filter.c
 * (sk_skb_func_proto's variants) and net/core/sock_map.c.
 *
 * Context invariants every helper keeps (struct usm_skb_ctx): the packet is
 * buf[data_off, data_off + len), linear_len <= len, and after any change
 * usm__skb_ctx_sync() recomputes data/data_end/md.len. Helpers that may
 * move data are flagged USM_HF_PKT_CHANGE (SKB-29). A buffer is only
 * reallocated when ctx->buf_owned; otherwise growth past cap is -ENOMEM,
 * as a failed allocation is in the kernel.
 */
#include <errno.h>
#include <limits.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "../maps/map.h"
#include "../progtype/progtype.h"
#include "../sock/sock.h"
#include "helpers.h"

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

#define ERR(e) ((uint64_t)(int64_t)(e))

/*
 * The kernel's BPF_SKB_MAX_LEN = SKB_MAX_ALLOC = SKB_MAX_ORDER(0, 2): one
 * order-2 allocation (4 pages = 16384 bytes on x86-64) minus
 * SKB_DATA_ALIGN(sizeof(struct skb_shared_info)). In 6.12 on x86-64 that
 * struct is 48 bytes of header fields plus MAX_SKB_FRAGS (17) fragments of
 * 16 bytes = 320 bytes, already a multiple of the 64-byte cache line, so
 * the cap is 16384 - 320 = 16064 bytes (SKB-26/27).
 */
#define USM_SKB_MAX_LEN 16064u

/* bpf_get_socket_uid's answer without a full socket: overflowuid. */
#define USM_OVERFLOW_UID 65534u

static struct usm_skb_ctx *skb_of(uint64_t r1)
{
	return (struct usm_skb_ctx *)(uintptr_t)r1;
}

/*
 * Make sure there are @head bytes of headroom before the data and room for
 * @len bytes of data from data_off. Reallocates a buf_owned buffer
 * (geometric growth, bounded by USM_SKB_MAX_CAP). 0 or -ENOMEM; on error
 * nothing changed.
 */
static int skb_make_room(struct usm_skb_ctx *c, uint32_t head, uint32_t len)
{
	uint64_t nhead, ncap, need;
	uint8_t *nb;

	if (c->buf && c->data_off >= head &&
	    (uint64_t)c->data_off + len <= c->cap)
		return 0;
	if (!c->buf_owned)
		return -ENOMEM;
	nhead = c->data_off >= head ? c->data_off : (uint64_t)head + 64;
	if (len < c->len)
		len = c->len;
	need = nhead + len;
	ncap = (uint64_t)c->cap * 2;
	if (ncap < need + 256)
		ncap = need + 256;
	if (ncap > USM_SKB_MAX_CAP)
		ncap = need;
	if (ncap > USM_SKB_MAX_CAP)
		return -ENOMEM;
	nb = malloc(ncap);
	if (!nb)
		return -ENOMEM;
	if (c->len)
		memcpy(nb + nhead, c->buf + c->data_off, c->len);
	free(c->buf);
	c->buf = nb;
	c->cap = (uint32_t)ncap;
	c->data_off = (uint32_t)nhead;
	return 0;
}

/* ---- bytes ----------------------------------------------------------- */

/* SKB-25: out of range (or offset > INT_MAX) -> -EFAULT, buffer zeroed.
 * Reads the whole packet, not only the linear part. */
static uint64_t skb_load_bytes(struct usm_run *run, uint64_t r1, uint64_t r2,
			       uint64_t r3, uint64_t r4, uint64_t r5)
{
	struct usm_skb_ctx *c = skb_of(r1);
	uint32_t off = (uint32_t)r2, len = (uint32_t)r4;
	void *to = (void *)(uintptr_t)r3;

	if (off > INT_MAX || (uint64_t)off + len > c->len) {
		memset(to, 0, len);
		return ERR(-EFAULT);
	}
	if (len)
		memcpy(to, c->buf + c->data_off + off, len);
	return 0;
}

/* Unknown flags -> -EINVAL; offset > INT_MAX or past the end -> -EFAULT.
 * The written range becomes linear (the kernel pulls it in). There is no
 * checksum state in sk_skb, so BPF_F_RECOMPUTE_CSUM changes nothing;
 * BPF_F_INVALIDATE_HASH clears the hash. */
static uint64_t skb_store_bytes(struct usm_run *run, uint64_t r1, uint64_t r2,
				uint64_t r3, uint64_t r4, uint64_t r5)
{
	struct usm_skb_ctx *c = skb_of(r1);
	uint32_t off = (uint32_t)r2, len = (uint32_t)r4;

	if (r5 & ~(uint64_t)(BPF_F_RECOMPUTE_CSUM | BPF_F_INVALIDATE_HASH))
		return ERR(-EINVAL);
	if (off > INT_MAX || (uint64_t)off + len > c->len)
		return ERR(-EFAULT);
	if (len)
		memcpy(c->buf + c->data_off + off, (const void *)(uintptr_t)r3,
		       len);
	if (c->linear_len < off + len)
		c->linear_len = off + len;
	if (r5 & BPF_F_INVALIDATE_HASH)
		c->md.hash = 0;
	usm__skb_ctx_sync(c);
	return 0;
}

const struct usm_helper usm__h_skb_load_bytes = {
	.id = BPF_FUNC_skb_load_bytes,
	.name = "bpf_skb_load_bytes",
	.fn = skb_load_bytes,
	.ret = USM_RET_INTEGER,
	.args = { USM_ARG_PTR_TO_CTX, USM_ARG_ANYTHING,
		  USM_ARG_PTR_TO_UNINIT_MEM, USM_ARG_CONST_SIZE },
};

const struct usm_helper usm__h_skb_store_bytes = {
	.id = BPF_FUNC_skb_store_bytes,
	.name = "bpf_skb_store_bytes",
	.fn = skb_store_bytes,
	.ret = USM_RET_INTEGER,
	.args = { USM_ARG_PTR_TO_CTX, USM_ARG_ANYTHING, USM_ARG_PTR_TO_MEM,
		  USM_ARG_CONST_SIZE, USM_ARG_ANYTHING },
	.flags = USM_HF_PKT_CHANGE,
};

/* ---- shaping ------------------------------------------------------- */

/* SKB-24: 0 = the current linear part; > len -> -ENOMEM; else the first
 * len bytes become linear (data_end moves up to data + len). */
static uint64_t skb_pull_data(struct usm_run *run, uint64_t r1, uint64_t r2,
			      uint64_t r3, uint64_t r4, uint64_t r5)
{
	struct usm_skb_ctx *c = skb_of(r1);
	uint32_t len = (uint32_t)r2;

	if (!len)
		len = c->linear_len;
	if (len > c->len)
		return ERR(-ENOMEM);
	if (c->linear_len < len)
		c->linear_len = len;
	usm__skb_ctx_sync(c);
	return 0;
}

/* SKB-26: flags or new_len > 16064 -> -EINVAL; grows with zero bytes or
 * trims at the end; the whole packet is linear afterwards. */
static uint64_t skb_change_tail(struct usm_run *run, uint64_t r1, uint64_t r2,
				uint64_t r3, uint64_t r4, uint64_t r5)
{
	struct usm_skb_ctx *c = skb_of(r1);
	uint32_t new_len = (uint32_t)r2;
	int err;

	if (r3 || new_len > USM_SKB_MAX_LEN)
		return ERR(-EINVAL);
	if (new_len > c->len) {
		err = skb_make_room(c, 0, new_len);
		if (err)
			return ERR(err);
		memset(c->buf + c->data_off + c->len, 0, new_len - c->len);
	}
	c->len = new_len;
	c->linear_len = new_len;
	usm__skb_ctx_sync(c);
	return 0;
}

/* SKB-27: flags, u32 overflow of len + room, or a result above 16064 ->
 * -EINVAL; prepends room zero bytes. */
static uint64_t skb_change_head(struct usm_run *run, uint64_t r1, uint64_t r2,
				uint64_t r3, uint64_t r4, uint64_t r5)
{
	struct usm_skb_ctx *c = skb_of(r1);
	uint32_t room = (uint32_t)r2, new_len = c->len + room;
	int err;

	if (r3 || new_len > USM_SKB_MAX_LEN || new_len < c->len)
		return ERR(-EINVAL);
	if (!room)
		return 0;
	err = skb_make_room(c, room, c->len);
	if (err)
		return ERR(err);
	c->data_off -= room;
	memset(c->buf + c->data_off, 0, room);
	c->len = new_len;
	c->linear_len += room;
	usm__skb_ctx_sync(c);
	return 0;
}

/* SKB-28: mode or flags -> -EINVAL; |diff| > 0xfff -> -EFAULT; diff > 0
 * prepends zero bytes, diff < 0 removes bytes from the front (-ENOMEM if
 * the packet is shorter). The arguments are the kernel's s32/u32/u64. */
static uint64_t skb_adjust_room(struct usm_run *run, uint64_t r1, uint64_t r2,
				uint64_t r3, uint64_t r4, uint64_t r5)
{
	struct usm_skb_ctx *c = skb_of(r1);
	int32_t diff = (int32_t)(uint32_t)r2;
	uint32_t abs_diff = diff < 0 ? 0u - (uint32_t)diff : (uint32_t)diff;
	int err;

	if (r4 || (uint32_t)r3)
		return ERR(-EINVAL);
	if (abs_diff > 0xfffu)
		return ERR(-EFAULT);
	if (!diff)
		return 0;
	if (diff > 0) {
		err = skb_make_room(c, abs_diff, c->len);
		if (err)
			return ERR(err);
		c->data_off -= abs_diff;
		memset(c->buf + c->data_off, 0, abs_diff);
		c->len += abs_diff;
		c->linear_len += abs_diff;
	} else {
		if (abs_diff > c->len)
			return ERR(-ENOMEM);
		if (c->linear_len < abs_diff)
			c->linear_len = abs_diff;
		c->data_off += abs_diff;
		c->len -= abs_diff;
		c->linear_len -= abs_diff;
	}
	usm__skb_ctx_sync(c);
	return 0;
}

const struct usm_helper usm__h_skb_pull_data = {
	.id = BPF_FUNC_skb_pull_data,
	.name = "bpf_skb_pull_data",
	.fn = skb_pull_data,
	.ret = USM_RET_INTEGER,
	.args = { USM_ARG_PTR_TO_CTX, USM_ARG_ANYTHING },
	.flags = USM_HF_PKT_CHANGE,
};

const struct usm_helper usm__h_skb_change_tail = {
	.id = BPF_FUNC_skb_change_tail,
	.name = "bpf_skb_change_tail",
	.fn = skb_change_tail,
	.ret = USM_RET_INTEGER,
	.args = { USM_ARG_PTR_TO_CTX, USM_ARG_ANYTHING, USM_ARG_ANYTHING },
	.flags = USM_HF_PKT_CHANGE,
};

const struct usm_helper usm__h_skb_change_head = {
	.id = BPF_FUNC_skb_change_head,
	.name = "bpf_skb_change_head",
	.fn = skb_change_head,
	.ret = USM_RET_INTEGER,
	.args = { USM_ARG_PTR_TO_CTX, USM_ARG_ANYTHING, USM_ARG_ANYTHING },
	.flags = USM_HF_PKT_CHANGE,
};

const struct usm_helper usm__h_skb_adjust_room = {
	.id = BPF_FUNC_skb_adjust_room,
	.name = "bpf_skb_adjust_room",
	.fn = skb_adjust_room,
	.ret = USM_RET_INTEGER,
	.args = { USM_ARG_PTR_TO_CTX, USM_ARG_ANYTHING, USM_ARG_ANYTHING,
		  USM_ARG_ANYTHING },
	.flags = USM_HF_PKT_CHANGE,
};

/* ---- socket identity ----------------------------------------------- */

static uint64_t get_socket_cookie_skb(struct usm_run *run, uint64_t r1,
				      uint64_t r2, uint64_t r3, uint64_t r4,
				      uint64_t r5)
{
	const struct usm_skb_ctx *c = skb_of(r1);

	return c->sk ? c->sk->cookie : 0;
}

/*
 * The socket's owner uid (the kernel's sk_uid: the creator's fsuid, changed
 * by fchown on the socket), which is the owner of the socket's inode:
 * fstat() on its fd. No socket -> overflowuid.
 */
static uint64_t get_socket_uid(struct usm_run *run, uint64_t r1, uint64_t r2,
			       uint64_t r3, uint64_t r4, uint64_t r5)
{
	const struct usm_skb_ctx *c = skb_of(r1);
	struct stat st;

	if (!c->sk || c->sk->fd < 0 || fstat(c->sk->fd, &st) != 0)
		return USM_OVERFLOW_UID;
	return (uint32_t)st.st_uid;
}

const struct usm_helper usm__h_get_socket_cookie_skb = {
	.id = BPF_FUNC_get_socket_cookie,
	.name = "bpf_get_socket_cookie",
	.fn = get_socket_cookie_skb,
	.ret = USM_RET_INTEGER,
	.args = { USM_ARG_PTR_TO_CTX },
};

const struct usm_helper usm__h_get_socket_uid = {
	.id = BPF_FUNC_get_socket_uid,
	.name = "bpf_get_socket_uid",
	.fn = get_socket_uid,
	.ret = USM_RET_INTEGER,
	.args = { USM_ARG_PTR_TO_CTX },
};

/* ---- redirect ------------------------------------------------------ */

static bool sk_is_tcp(const struct usm_sock *sk)
{
	return (sk->domain == AF_INET || sk->domain == AF_INET6) &&
	       sk->type == SOCK_STREAM && sk->protocol == IPPROTO_TCP;
}

/* sock_map_redirect_allowed: TCP unless listening; anything else only
 * when ESTABLISHED (connected). SKB-17. */
static bool redirect_allowed(const struct usm_sock *sk)
{
	if (sk_is_tcp(sk))
		return sk->tcp_state != TCP_LISTEN && !sk->listening;
	return sk->tcp_state == TCP_ESTABLISHED;
}

/* Shared tail of both redirect helpers: validate, then record. */
static uint64_t skb_redirect(struct usm_skb_ctx *c, struct usm_map *map,
			     const void *key, uint64_t flags)
{
	struct usm_sock *sk;
	uint32_t ksz;

	if (flags & ~(uint64_t)BPF_F_INGRESS)
		return SK_DROP;
	sk = usm__sockmap_lookup(map, key);
	if (!sk || !redirect_allowed(sk))
		return SK_DROP;
	if ((flags & BPF_F_INGRESS) && sk->domain == AF_VSOCK)
		return SK_DROP;
	ksz = map->key_size < USM_MAX_KEY_SIZE ? map->key_size
					       : USM_MAX_KEY_SIZE;
	c->redir.set = true;
	c->redir.map = map;
	c->redir.sk = sk;
	c->redir.flags = flags & BPF_F_INGRESS;
	c->redir.key_size = ksz;
	memcpy(c->redir.key, key, ksz);
	return SK_PASS;
}

static uint64_t sk_redirect_map(struct usm_run *run, uint64_t r1, uint64_t r2,
				uint64_t r3, uint64_t r4, uint64_t r5)
{
	struct usm_map *map = (struct usm_map *)(uintptr_t)r2;
	uint32_t key = (uint32_t)r3; /* the kernel's u32 key argument */

	if (!map || map->map_type != BPF_MAP_TYPE_SOCKMAP)
		return SK_DROP;
	return skb_redirect(skb_of(r1), map, &key, r4);
}

static uint64_t sk_redirect_hash(struct usm_run *run, uint64_t r1, uint64_t r2,
				 uint64_t r3, uint64_t r4, uint64_t r5)
{
	struct usm_map *map = (struct usm_map *)(uintptr_t)r2;

	if (!map || map->map_type != BPF_MAP_TYPE_SOCKHASH)
		return SK_DROP;
	return skb_redirect(skb_of(r1), map, (const void *)(uintptr_t)r3, r4);
}

const struct usm_helper usm__h_sk_redirect_map = {
	.id = BPF_FUNC_sk_redirect_map,
	.name = "bpf_sk_redirect_map",
	.fn = sk_redirect_map,
	.ret = USM_RET_INTEGER,
	.args = { USM_ARG_PTR_TO_CTX, USM_ARG_CONST_MAP_PTR, USM_ARG_ANYTHING,
		  USM_ARG_ANYTHING },
};

const struct usm_helper usm__h_sk_redirect_hash = {
	.id = BPF_FUNC_sk_redirect_hash,
	.name = "bpf_sk_redirect_hash",
	.fn = sk_redirect_hash,
	.ret = USM_RET_INTEGER,
	.args = { USM_ARG_PTR_TO_CTX, USM_ARG_CONST_MAP_PTR,
		  USM_ARG_PTR_TO_MAP_KEY, USM_ARG_ANYTHING },
};
