/* SPDX-License-Identifier: MIT */
/*
 * BPF_MAP_TYPE_SOCKMAP (net/core/sock_map.c): an array of socket slots,
 * plus the rules both socket maps share (which sockets may enter, in which
 * order errors are reported) and the helpers' entry points.
 *
 * Each occupied slot holds one reference on a struct usm_sock and one
 * struct usm_sock_link on that socket (slot = &sks[index]), so a socket can
 * be removed from every map it is in when it goes away (SEMANTICS LIFE-01).
 * A socket whose application fd was closed is noticed lazily: user-space
 * operations on a slot check that its socket is still alive (same
 * SO_COOKIE behind the fd) and unlink a dead one everywhere first, so
 * close() behaves as in the kernel (MAP-UPD-23) without hooks.
 *
 * Programs attached to the map live in `progs` (sock/psock.h); an insert
 * first runs the psock half of the kernel's sock_map_link
 * (usm__psock_link: program inheritance and the conflict rule, PSK-*),
 * then writes the slot, and undoes the psock step if the slot write fails
 * (MAP-UPD-18). Removing a link drops its psock reference (sock.c).
 *
 * Locking: one mutex per map guards the slots; the psock mutex and a
 * socket's link_lock are taken inside it (map -> psock -> socket order);
 * no lock is held while calling into another map.
 */
#include "map.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../sock/psock.h"
#include "../sock/sock.h"

#define SOCK_CREATE_FLAG_MASK (BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY)
#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

struct usm_stab {
	struct usm_map map;
	pthread_mutex_t lock;
	struct usm_sock **sks; /* max_entries slots, one reference each */
	struct usm_sockmap_progs progs; /* attached programs (psock.c) */
};

static struct usm_stab *to_stab(const struct usm_map *map)
{
	return (struct usm_stab *)map;
}

/* ---- rules shared with sockhash.c ---- */

static bool sk_is_inet(const struct usm_sock *sk)
{
	return sk->domain == AF_INET || sk->domain == AF_INET6;
}

static bool sk_is_tcp(const struct usm_sock *sk)
{
	return sk_is_inet(sk) && sk->type == SOCK_STREAM &&
	       sk->protocol == IPPROTO_TCP;
}

static bool sk_is_udp(const struct usm_sock *sk)
{
	return sk_is_inet(sk) && sk->type == SOCK_DGRAM &&
	       sk->protocol == IPPROTO_UDP;
}

/* Protocols with a psock_update_sk_prot hook: TCP, UDP, AF_UNIX (stream
 * proto, and the dgram proto that SOCK_SEQPACKET shares), vsock. */
bool usm__sockmap_sk_suitable(const struct usm_sock *sk)
{
	if (sk_is_tcp(sk) || sk_is_udp(sk))
		return true;
	if (sk->domain == AF_UNIX)
		return sk->type == SOCK_STREAM || sk->type == SOCK_DGRAM ||
		       sk->type == SOCK_SEQPACKET;
	return sk->domain == AF_VSOCK;
}

bool usm__sockmap_sk_state_allowed(const struct usm_sock *sk)
{
	if (sk_is_tcp(sk)) /* MAP-UPD-04 */
		return sk->tcp_state == TCP_ESTABLISHED ||
		       sk->tcp_state == TCP_LISTEN;
	if (sk_is_udp(sk)) /* MAP-UPD-05: hashed = bound */
		return sk->bound;
	if (sk->domain == AF_UNIX && sk->type == SOCK_STREAM) /* MAP-UPD-06 */
		return sk->tcp_state == TCP_ESTABLISHED;
	if (sk->domain == AF_VSOCK &&
	    (sk->type == SOCK_STREAM || sk->type == SOCK_SEQPACKET))
		return sk->tcp_state == TCP_ESTABLISHED; /* MAP-UPD-08 */
	return true;
}

int usm__sockmap_link_check(struct usm_sock *sk)
{
	/* The side-effect-free part of sock_map_link; inserts use
	 * usm__psock_link (sock/psock.h), which makes these checks in the
	 * kernel's order together with the program rules. sk_psock_init
	 * runs only for a socket not yet in any map: a ULP (kTLS) refuses
	 * it (MAP-UPD-15). */
	if (usm__sock_nlinks(sk) == 0 && sk_is_tcp(sk) && sk->has_ulp)
		return -EINVAL;
	/* unix_dgram_bpf_update_proto takes SOCK_DGRAM only (MAP-UPD-07). */
	if (sk->domain == AF_UNIX && sk->type == SOCK_SEQPACKET)
		return -EOPNOTSUPP;
	return 0;
}

int usm__sockmap_sock_from_user(const struct usm_map *map, const void *value,
				struct usm_sock **out)
{
	struct usm_sock *sk;
	uint64_t ufd;
	int err;

	*out = NULL;
	if (map->value_size == sizeof(uint64_t))
		memcpy(&ufd, value, sizeof(ufd));
	else
		ufd = usm__load_u32(value);
	if (ufd > INT32_MAX) /* MAP-UPD-01 */
		return -EINVAL;
	err = usm__sock_from_fd((int)ufd, 0, &sk); /* MAP-UPD-02 */
	if (err)
		return err;
	if (!usm__sockmap_sk_suitable(sk) || /* MAP-UPD-03 */
	    !usm__sockmap_sk_state_allowed(sk)) {
		usm__sock_put(sk);
		return -EOPNOTSUPP;
	}
	*out = sk;
	return 0;
}

int usm__sockmap_sock_from_bpf(const void *value, struct usm_sock **out)
{
	struct usm_sock *sk = (struct usm_sock *)value;

	*out = NULL;
	if (!sk)
		return -EINVAL;
	/* A program's socket pointer names a live socket; its state may have
	 * moved on since the usm_sock was built. */
	if (usm__sock_refresh(sk) < 0)
		return -EINVAL;
	if (!usm__sockmap_sk_suitable(sk) || !usm__sockmap_sk_state_allowed(sk))
		return -EOPNOTSUPP; /* MAP-BPF-04 */
	usm__sock_get(sk);
	*out = sk;
	return 0;
}

struct usm_sockmap_progs *usm__sockmap_progs(struct usm_map *map)
{
	if (!map)
		return NULL;
	if (map->map_type == BPF_MAP_TYPE_SOCKHASH)
		return usm__sockhash_progs(map);
	if (map->map_type != BPF_MAP_TYPE_SOCKMAP)
		return NULL;
	return &to_stab(map)->progs;
}

struct usm_sock *usm__sockmap_lookup(struct usm_map *map, const void *key)
{
	uint32_t idx;

	if (map->map_type == BPF_MAP_TYPE_SOCKHASH)
		return usm__sockhash_lookup_raw(map, key);
	if (map->map_type != BPF_MAP_TYPE_SOCKMAP)
		return NULL;
	idx = usm__load_u32(key);
	if (idx >= map->max_entries)
		return NULL;
	return __atomic_load_n(&to_stab(map)->sks[idx], __ATOMIC_ACQUIRE);
}

int usm__sockmap_update_sock(struct usm_map *map, const void *key,
			     struct usm_sock *sk, uint64_t flags)
{
	if (!sk)
		return -EINVAL;
	if (map->map_type != BPF_MAP_TYPE_SOCKMAP &&
	    map->map_type != BPF_MAP_TYPE_SOCKHASH)
		return -EINVAL;
	if (!usm__sockmap_sk_suitable(sk)) /* bpf_sock_map_update */
		return -EOPNOTSUPP;
	if (map->map_type == BPF_MAP_TYPE_SOCKMAP)
		return usm__sockarray_update_common(map, usm__load_u32(key),
						    sk, flags);
	return usm__sockhash_update_common(map, key, sk, flags);
}

/* ---- SOCKMAP ---- */

static int sockmap_alloc(const struct usm_map_attr *attr, struct usm_map **out)
{
	struct usm_stab *st;

	/* sock_map_alloc: one EINVAL group (MAP-CRT-01/02/03/06). */
	if (attr->max_entries == 0 || attr->max_entries > INT32_MAX ||
	    attr->key_size != 4 ||
	    (attr->value_size != 4 && attr->value_size != 8) ||
	    attr->map_flags & ~SOCK_CREATE_FLAG_MASK)
		return -EINVAL;
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->sks = calloc(attr->max_entries, sizeof(*st->sks)); /* MAP-CRT-10 */
	if (!st->sks || pthread_mutex_init(&st->lock, NULL) != 0) {
		free(st->sks);
		free(st);
		return -ENOMEM;
	}
	*out = &st->map;
	return 0;
}

/* Destroy unlinks every socket without closing it (MAP-CRT-12). */
static void sockmap_free(struct usm_map *map)
{
	struct usm_stab *st = to_stab(map);
	uint32_t i;

	/* As after map_release_uref: no programs while the slots go. */
	usm__sockmap_progs_release(&st->progs);
	for (i = 0; i < map->max_entries; i++) {
		struct usm_sock *sk;

		pthread_mutex_lock(&st->lock);
		sk = st->sks[i];
		st->sks[i] = NULL;
		if (sk)
			usm__sock_del_link(sk, map, &st->sks[i]);
		pthread_mutex_unlock(&st->lock);
		usm__psock_flush(); /* program puts queued under the lock */
		usm__sock_put(sk);
	}
	pthread_mutex_destroy(&st->lock);
	free(st->sks);
	free(st);
}

/* If the socket in slot @idx died behind our back, unlink it everywhere. */
static void reap_slot(struct usm_stab *st, uint32_t idx)
{
	struct usm_sock *sk;

	pthread_mutex_lock(&st->lock);
	sk = st->sks[idx];
	usm__sock_get(sk);
	pthread_mutex_unlock(&st->lock);
	if (sk) {
		usm__sock_reap_if_dead(sk);
		usm__sock_put(sk);
	}
}

int usm__sockarray_update_common(struct usm_map *map, uint32_t idx,
				 struct usm_sock *sk, uint64_t flags)
{
	struct usm_stab *st = to_stab(map);
	struct usm_sock_link *link;
	struct usm_psock *psock;
	struct usm_sock *osk;
	int err;

	if (flags > BPF_EXIST) /* MAP-UPD-09 */
		return -EINVAL;
	if (idx >= map->max_entries) /* MAP-UPD-10 */
		return -E2BIG;
	link = calloc(1, sizeof(*link)); /* before any change: MAP-UPD-18 */
	if (!link)
		return -ENOMEM;
	/* sock_map_link runs before the occupancy checks: a conflicting
	 * program is EBUSY even for an occupied slot with NOEXIST. */
	err = usm__psock_link(map, sk, &psock);
	if (err)
		goto out_free;
	reap_slot(st, idx);
	pthread_mutex_lock(&st->lock);
	osk = st->sks[idx];
	if (osk && flags == BPF_NOEXIST) { /* MAP-UPD-11 */
		err = -EEXIST;
	} else if (!osk && flags == BPF_EXIST) {
		err = -ENOENT;
	} else {
		/* MAP-UPD-12: the new socket in, the old one out of this slot
		 * only (the same socket again: one link stays). */
		usm__sock_get(sk);
		usm__sock_add_link(sk, link, map, &st->sks[idx]);
		__atomic_store_n(&st->sks[idx], sk, __ATOMIC_RELEASE);
		if (osk)
			usm__sock_del_link(osk, map, &st->sks[idx]);
		link = NULL;
	}
	pthread_mutex_unlock(&st->lock);
	usm__psock_flush(); /* program puts queued under the lock */
	if (!err)
		usm__sock_put(osk);
	else
		usm__psock_put(psock); /* MAP-UPD-18 */
out_free:
	free(link);
	return err;
}

static int sockmap_update_user(struct usm_map *map, const void *key,
			       const void *value, uint64_t flags)
{
	struct usm_sock *sk;
	int err;

	/* fd -> socket kind -> state, then flags and index (MAP-UPD-09). */
	err = usm__sockmap_sock_from_user(map, value, &sk);
	if (err)
		return err;
	err = usm__sockarray_update_common(map, usm__load_u32(key), sk,
					   flags);
	usm__sock_put(sk);
	return err;
}

static int sockmap_update_bpf(struct usm_map *map, const void *key,
			      const void *value, uint64_t flags)
{
	struct usm_sock *sk;
	int err;

	err = usm__sockmap_sock_from_bpf(value, &sk);
	if (err)
		return err;
	err = usm__sockarray_update_common(map, usm__load_u32(key), sk,
					   flags);
	usm__sock_put(sk);
	return err;
}

/* BPF lookup: the socket with a reference (bpf_sk_release), MAP-LKP-05. */
static void *sockmap_lookup(struct usm_map *map, const void *key)
{
	struct usm_stab *st = to_stab(map);
	uint32_t idx = usm__load_u32(key);
	struct usm_sock *sk;

	if (idx >= map->max_entries)
		return NULL;
	pthread_mutex_lock(&st->lock);
	sk = st->sks[idx];
	usm__sock_get(sk);
	pthread_mutex_unlock(&st->lock);
	return sk;
}

/* User lookup: the socket cookie, never an fd (MAP-LKP-01..04). */
static int sockmap_lookup_user(struct usm_map *map, const void *key,
			       void *value, uint64_t flags)
{
	struct usm_stab *st = to_stab(map);
	uint32_t idx = usm__load_u32(key);
	struct usm_sock *sk;
	int err = -ENOENT;

	if (map->value_size != sizeof(uint64_t)) /* MAP-LKP-02 */
		return -ENOSPC;
	if (idx >= map->max_entries) /* MAP-LKP-03 */
		return -ENOENT;
	reap_slot(st, idx);
	pthread_mutex_lock(&st->lock);
	sk = st->sks[idx];
	if (sk) {
		memcpy(value, &sk->cookie, sizeof(sk->cookie));
		err = 0;
	}
	pthread_mutex_unlock(&st->lock);
	return err;
}

/* Out of range and empty are both EINVAL here (MAP-DEL-01). */
static int sockmap_delete(struct usm_map *map, const void *key)
{
	struct usm_stab *st = to_stab(map);
	uint32_t idx = usm__load_u32(key);
	struct usm_sock *sk;

	if (idx >= map->max_entries)
		return -EINVAL;
	reap_slot(st, idx);
	pthread_mutex_lock(&st->lock);
	sk = st->sks[idx];
	if (sk) {
		__atomic_store_n(&st->sks[idx], NULL, __ATOMIC_RELEASE);
		usm__sock_del_link(sk, map, &st->sks[idx]);
	}
	pthread_mutex_unlock(&st->lock);
	usm__psock_flush(); /* program puts queued under the lock */
	if (!sk)
		return -EINVAL;
	usm__sock_put(sk); /* MAP-DEL-03: other slots keep theirs */
	return 0;
}

static void sockmap_unlink_sock(struct usm_map *map, struct usm_sock *sk,
				void *slot)
{
	struct usm_stab *st = to_stab(map);
	struct usm_sock **psk = slot;
	bool removed = false;

	pthread_mutex_lock(&st->lock);
	if (*psk == sk && usm__sock_has_link(sk, map, slot)) {
		__atomic_store_n(psk, NULL, __ATOMIC_RELEASE);
		usm__sock_del_link(sk, map, slot);
		removed = true;
	}
	pthread_mutex_unlock(&st->lock);
	usm__psock_flush(); /* program puts queued under the lock */
	if (removed)
		usm__sock_put(sk);
	else
		usm__sock_del_link(sk, map, slot); /* stale link, if any */
	usm__psock_flush();
}

/* map_release_uref: attached programs go with the last user reference,
 * even while programs still reference the map (MAP-CRT-13). */
static void sockmap_release_uref(struct usm_map *map)
{
	usm__sockmap_progs_release(&to_stab(map)->progs);
}

/* map_check_no_btf: socket maps take no BTF (MAP-CRT-08). */
static int sockmap_check_btf(const struct usm_map *map,
			     const struct usm_map_attr *attr)
{
	return -USM_ENOTSUPP;
}

const struct usm_map_ops usm__sockmap_ops = {
	.alloc = sockmap_alloc,
	.free = sockmap_free,
	.lookup_elem = sockmap_lookup,
	.lookup_elem_user = sockmap_lookup_user,
	.update_elem_user = sockmap_update_user,
	.update_elem = sockmap_update_bpf,
	.delete_elem = sockmap_delete,
	.get_next_key = usm__map_index_get_next_key,
	.check_btf = sockmap_check_btf,
	.release_uref = sockmap_release_uref,
	.unlink_sock = sockmap_unlink_sock,
};
