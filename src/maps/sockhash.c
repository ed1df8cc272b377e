/* SPDX-License-Identifier: MIT */
/*
 * BPF_MAP_TYPE_SOCKHASH (net/core/sock_map.c): sockets under arbitrary
 * byte keys (1..512 bytes, compared bytewise). Each element holds one
 * reference on its socket and is the slot of one struct usm_sock_link, so
 * closing the socket removes the element (SEMANTICS LIFE-01).
 *
 * Table: chained buckets, a power of two grown with the element count
 * (never beyond max_entries rounded up); elements are malloc'ed per insert
 * and freed on removal, always after their link was dropped under the map
 * lock, so a link's slot pointer is never dereferenced unless the link is
 * still present (checked under the lock). Iteration follows bucket order,
 * which, as in the kernel, is unspecified (MAP-NXT-02).
 */
#include "map.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../sock/psock.h"
#include "../sock/sock.h"

#define SOCK_CREATE_FLAG_MASK (BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY)
#define MAX_BPF_STACK 512u
#define KERNEL_SHTAB_BUCKET_SIZE 16u /* sizeof(struct bpf_shtab_bucket) */
#define MIN_BUCKETS 16u

struct shelem {
	struct shelem *next;
	uint32_t hash;
	struct usm_sock *sk; /* one reference */
	uint8_t key[];
};

struct usm_shtab {
	struct usm_map map;
	pthread_mutex_t lock;
	struct shelem **buckets;
	uint32_t nbuckets; /* power of two */
	uint32_t max_buckets;
	uint32_t count;
	struct usm_sockmap_progs progs; /* attached programs (psock.c) */
};

static struct usm_shtab *to_shtab(const struct usm_map *map)
{
	return (struct usm_shtab *)map;
}

static uint32_t hash_bytes(const uint8_t *k, uint32_t n)
{
	uint64_t h = 0xcbf29ce484222325ull ^ n, w;

	for (; n >= 8; n -= 8, k += 8) {
		memcpy(&w, k, 8);
		h = (h ^ w) * 0x100000001b3ull;
		h ^= h >> 29;
	}
	if (n) {
		w = 0;
		memcpy(&w, k, n);
		h = (h ^ w) * 0x100000001b3ull;
	}
	h ^= h >> 32;
	h *= 0xd6e8feb86659fd93ull;
	h ^= h >> 32;
	return (uint32_t)h;
}

/* Upper bound of the kernel's bucket count (for its EINVAL check). */
static uint64_t kernel_buckets(uint32_t max_entries)
{
	uint64_t p = 1;

	while (p < max_entries)
		p <<= 1;
	return p;
}

static int sockhash_alloc(const struct usm_map_attr *attr,
			  struct usm_map **out)
{
	struct usm_shtab *h;
	uint64_t kb;

	/* sock_hash_alloc: EINVAL group, then E2BIG (MAP-CRT-04). */
	if (attr->max_entries == 0 || attr->key_size == 0 ||
	    (attr->value_size != 4 && attr->value_size != 8) ||
	    attr->map_flags & ~SOCK_CREATE_FLAG_MASK)
		return -EINVAL;
	if (attr->key_size > MAX_BPF_STACK)
		return -E2BIG;
	/* MAP-CRT-05: a bucket count the kernel cannot represent. */
	kb = kernel_buckets(attr->max_entries);
	if (kb > UINT32_MAX || kb > UINT32_MAX / KERNEL_SHTAB_BUCKET_SIZE)
		return -EINVAL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->max_buckets = (uint32_t)kb;
	h->nbuckets = h->max_buckets < MIN_BUCKETS ? h->max_buckets
						   : MIN_BUCKETS;
	h->buckets = calloc(h->nbuckets, sizeof(*h->buckets));
	if (!h->buckets || pthread_mutex_init(&h->lock, NULL) != 0) {
		free(h->buckets);
		free(h);
		return -ENOMEM;
	}
	*out = &h->map;
	return 0;
}

/* Caller holds h->lock. */
static struct shelem *find(struct usm_shtab *h, const void *key, uint32_t hash)
{
	struct shelem *e = h->buckets[hash & (h->nbuckets - 1)];

	for (; e; e = e->next)
		if (e->hash == hash && !memcmp(e->key, key, h->map.key_size))
			return e;
	return NULL;
}

/* Unchain @e (caller holds h->lock); returns whether it was there. */
static bool unchain(struct usm_shtab *h, struct shelem *e)
{
	struct shelem **pp = &h->buckets[e->hash & (h->nbuckets - 1)];

	for (; *pp; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			h->count--;
			return true;
		}
	}
	return false;
}

static void grow(struct usm_shtab *h)
{
	uint32_t nb = h->nbuckets * 2, i;
	struct shelem **b;

	if (h->nbuckets >= h->max_buckets)
		return;
	b = calloc(nb, sizeof(*b));
	if (!b)
		return; /* still correct, only slower */
	for (i = 0; i < h->nbuckets; i++) {
		struct shelem *e = h->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	}
	free(h->buckets);
	h->buckets = b;
	h->nbuckets = nb;
}

static void chain(struct usm_shtab *h, struct shelem *e)
{
	struct shelem **head;

	if (h->count + 1 > h->nbuckets)
		grow(h);
	head = &h->buckets[e->hash & (h->nbuckets - 1)];
	e->next = *head;
	*head = e;
	h->count++;
}

struct usm_sockmap_progs *usm__sockhash_progs(struct usm_map *map)
{
	return &to_shtab(map)->progs;
}

/* Unlink every socket without closing it (MAP-CRT-12). */
static void sockhash_free(struct usm_map *map)
{
	struct usm_shtab *h = to_shtab(map);
	uint32_t i;

	usm__sockmap_progs_release(&h->progs); /* as after release_uref */
	for (i = 0; i < h->nbuckets; i++) {
		struct shelem *e, *next;

		pthread_mutex_lock(&h->lock);
		e = h->buckets[i];
		h->buckets[i] = NULL;
		for (next = e; next; next = next->next)
			usm__sock_del_link(next->sk, map, next);
		pthread_mutex_unlock(&h->lock);
		usm__psock_flush(); /* program puts queued under the lock */
		for (; e; e = next) {
			next = e->next;
			usm__sock_put(e->sk);
			free(e);
		}
	}
	pthread_mutex_destroy(&h->lock);
	free(h->buckets);
	free(h);
}

struct usm_sock *usm__sockhash_lookup_raw(struct usm_map *map, const void *key)
{
	struct usm_shtab *h = to_shtab(map);
	uint32_t hash = hash_bytes(key, map->key_size);
	struct shelem *e;
	struct usm_sock *sk;

	pthread_mutex_lock(&h->lock);
	e = find(h, key, hash);
	sk = e ? e->sk : NULL;
	pthread_mutex_unlock(&h->lock);
	return sk;
}

/* The socket under @key with a reference, or NULL. */
static struct usm_sock *get_sock(struct usm_shtab *h, const void *key)
{
	uint32_t hash = hash_bytes(key, h->map.key_size);
	struct usm_sock *sk = NULL;
	struct shelem *e;

	pthread_mutex_lock(&h->lock);
	e = find(h, key, hash);
	if (e) {
		sk = e->sk;
		usm__sock_get(sk);
	}
	pthread_mutex_unlock(&h->lock);
	return sk;
}

static void reap_key(struct usm_shtab *h, const void *key)
{
	struct usm_sock *sk = get_sock(h, key);

	if (sk) {
		usm__sock_reap_if_dead(sk);
		usm__sock_put(sk);
	}
}

/* Insert or replace under the lock; *old gets the replaced element. */
static int insert_locked(struct usm_shtab *h, const void *key,
			 struct usm_sock *sk, uint64_t flags,
			 struct usm_sock_link *link, struct shelem **old)
{
	uint32_t hash = hash_bytes(key, h->map.key_size);
	struct shelem *e = find(h, key, hash), *n;

	if (e && flags == BPF_NOEXIST) /* MAP-UPD-11 */
		return -EEXIST;
	if (!e && flags == BPF_EXIST)
		return -ENOENT;
	if (!e && h->count >= h->map.max_entries) /* MAP-UPD-13 */
		return -E2BIG;
	n = malloc(sizeof(*n) + h->map.key_size);
	if (!n)
		return -ENOMEM;
	memcpy(n->key, key, h->map.key_size);
	n->hash = hash;
	n->sk = sk;
	usm__sock_get(sk);
	usm__sock_add_link(sk, link, &h->map, n);
	if (e) {
		unchain(h, e);
		usm__sock_del_link(e->sk, &h->map, e);
	}
	chain(h, n);
	*old = e;
	return 0;
}

int usm__sockhash_update_common(struct usm_map *map, const void *key,
				struct usm_sock *sk, uint64_t flags)
{
	struct usm_shtab *h = to_shtab(map);
	struct usm_sock_link *link;
	struct shelem *old = NULL;
	struct usm_psock *psock;
	int err;

	if (flags > BPF_EXIST) /* MAP-UPD-09 */
		return -EINVAL;
	link = calloc(1, sizeof(*link)); /* MAP-UPD-18: fail before changes */
	if (!link)
		return -ENOMEM;
	err = usm__psock_link(map, sk, &psock); /* before EEXIST/ENOENT */
	if (err)
		goto out_free;
	reap_key(h, key);
	pthread_mutex_lock(&h->lock);
	err = insert_locked(h, key, sk, flags, link, &old);
	pthread_mutex_unlock(&h->lock);
	usm__psock_flush(); /* program puts queued under the lock */
	if (!err) {
		link = NULL;
		if (old) {
			usm__sock_put(old->sk);
			free(old);
		}
	} else {
		usm__psock_put(psock); /* MAP-UPD-18 */
	}
out_free:
	free(link);
	return err;
}

static int sockhash_update_user(struct usm_map *map, const void *key,
				const void *value, uint64_t flags)
{
	struct usm_sock *sk;
	int err;

	err = usm__sockmap_sock_from_user(map, value, &sk);
	if (err)
		return err;
	err = usm__sockhash_update_common(map, key, sk, flags);
	usm__sock_put(sk);
	return err;
}

static int sockhash_update_bpf(struct usm_map *map, const void *key,
			       const void *value, uint64_t flags)
{
	struct usm_sock *sk;
	int err;

	err = usm__sockmap_sock_from_bpf(value, &sk);
	if (err)
		return err;
	err = usm__sockhash_update_common(map, key, sk, flags);
	usm__sock_put(sk);
	return err;
}

static void *sockhash_lookup(struct usm_map *map, const void *key)
{
	return get_sock(to_shtab(map), key); /* MAP-LKP-05: a reference */
}

static int sockhash_lookup_user(struct usm_map *map, const void *key,
				void *value, uint64_t flags)
{
	struct usm_shtab *h = to_shtab(map);
	struct usm_sock *sk;

	if (map->value_size != sizeof(uint64_t)) /* MAP-LKP-02 */
		return -ENOSPC;
	reap_key(h, key);
	sk = get_sock(h, key);
	if (!sk)
		return -ENOENT; /* MAP-LKP-03 */
	memcpy(value, &sk->cookie, sizeof(sk->cookie)); /* MAP-LKP-01 */
	usm__sock_put(sk);
	return 0;
}

static int sockhash_delete(struct usm_map *map, const void *key)
{
	struct usm_shtab *h = to_shtab(map);
	uint32_t hash = hash_bytes(key, map->key_size);
	struct shelem *e;

	reap_key(h, key);
	pthread_mutex_lock(&h->lock);
	e = find(h, key, hash);
	if (e) {
		unchain(h, e);
		usm__sock_del_link(e->sk, map, e);
	}
	pthread_mutex_unlock(&h->lock);
	usm__psock_flush(); /* program puts queued under the lock */
	if (!e)
		return -ENOENT; /* MAP-DEL-02 */
	usm__sock_put(e->sk);
	free(e);
	return 0;
}

/* The key after @key in bucket order, copying it out and returning its
 * socket with a reference; NULL at the end. */
static struct usm_sock *next_locked(struct usm_shtab *h, const void *key,
				    void *next_key)
{
	struct shelem *e = NULL;
	uint32_t i = 0, hash;

	if (key) {
		hash = hash_bytes(key, h->map.key_size);
		e = find(h, key, hash);
		if (e && e->next) {
			e = e->next;
			goto found;
		}
		if (e)
			i = (hash & (h->nbuckets - 1)) + 1;
	}
	for (e = NULL; i < h->nbuckets && !e; i++)
		e = h->buckets[i];
	if (!e)
		return NULL;
found:
	memcpy(next_key, e->key, h->map.key_size);
	usm__sock_get(e->sk);
	return e->sk;
}

/* MAP-NXT-02. Elements whose socket was closed are dropped on the way, as
 * the kernel would already have (LIFE-01). */
static int sockhash_get_next_key(struct usm_map *map, const void *key,
				 void *next_key)
{
	struct usm_shtab *h = to_shtab(map);
	struct usm_sock *sk;

	for (;;) {
		pthread_mutex_lock(&h->lock);
		sk = next_locked(h, key, next_key);
		pthread_mutex_unlock(&h->lock);
		if (!sk)
			return -ENOENT;
		if (!usm__sock_reap_if_dead(sk)) {
			usm__sock_put(sk);
			return 0;
		}
		usm__sock_put(sk); /* gone: look again from the same key */
	}
}

static void sockhash_unlink_sock(struct usm_map *map, struct usm_sock *sk,
				 void *slot)
{
	struct usm_shtab *h = to_shtab(map);
	struct shelem *e = slot;
	bool removed = false;

	pthread_mutex_lock(&h->lock);
	/* The link still being there proves the element still exists. */
	if (usm__sock_has_link(sk, map, slot) && e->sk == sk && unchain(h, e)) {
		usm__sock_del_link(sk, map, slot);
		removed = true;
	}
	pthread_mutex_unlock(&h->lock);
	usm__psock_flush(); /* program puts queued under the lock */
	if (removed) {
		usm__sock_put(sk);
		free(e);
	} else {
		usm__sock_del_link(sk, map, slot);
	}
	usm__psock_flush();
}

static void sockhash_release_uref(struct usm_map *map)
{
	usm__sockmap_progs_release(&to_shtab(map)->progs); /* MAP-CRT-13 */
}

static int sockhash_check_btf(const struct usm_map *map,
			      const struct usm_map_attr *attr)
{
	return -USM_ENOTSUPP; /* MAP-CRT-08 */
}

const struct usm_map_ops usm__sockhash_ops = {
	.alloc = sockhash_alloc,
	.free = sockhash_free,
	.lookup_elem = sockhash_lookup,
	.lookup_elem_user = sockhash_lookup_user,
	.update_elem_user = sockhash_update_user,
	.update_elem = sockhash_update_bpf,
	.delete_elem = sockhash_delete,
	.get_next_key = sockhash_get_next_key,
	.check_btf = sockhash_check_btf,
	.release_uref = sockhash_release_uref,
	.unlink_sock = sockhash_unlink_sock,
};
