/* SPDX-License-Identifier: MIT */
/*
 * BPF_MAP_TYPE_HASH and PERCPU_HASH with the rules of the kernel's
 * kernel/bpf/hashtab.c: creation limits and errno, BPF_NOEXIST/BPF_EXIST
 * (EEXIST/ENOENT), a full map refuses new keys with E2BIG but still
 * replaces existing ones, delete of a missing key is ENOENT, get_next_key
 * with a NULL or unknown key starts over at the first element.
 *
 * Table: chained buckets (a power of two, grown when the load passes 1)
 * over a seeded 64-bit multiply/xor-shift hash; O(1) expected per op.
 * Elements come from a pool of chunks that only grows (never more than
 * max_entries elements) and is returned to malloc only when the map is
 * freed: a value pointer a program got from lookup stays valid memory for
 * the map's life even if the element is deleted meanwhile (the element
 * may be reused, as the kernel's preallocated hash reuses elements).
 * One mutex per map serialises every operation, BPF-side ones included.
 *
 * Element layout: [next, hash][key, round_up(key_size, 8)][value]; the
 * value is round_up(value_size, 8) bytes, or one such copy per CPU.
 */
#include "map.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define HTAB_CREATE_FLAG_MASK                                                  \
	(BPF_F_NO_PREALLOC | BPF_F_NO_COMMON_LRU | BPF_F_NUMA_NODE |           \
	 BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG | \
	 BPF_F_ZERO_SEED)
#define PCPU_MIN_UNIT_SIZE (32u << 10)
#define KMALLOC_MAX_SIZE (4u << 20)  /* x86-64: 2^(MAX_PAGE_ORDER + 12) */
#define KERNEL_HTAB_ELEM_SIZE 48u    /* sizeof(struct htab_elem) */
#define KERNEL_HTAB_BUCKET_SIZE 16u  /* sizeof(struct bucket) */
#define NUMA_NO_NODE 0xffffffffu
#define MIN_BUCKETS 16u

struct hnode {
	struct hnode *next;
	uint32_t hash;
	uint32_t pad;
	uint8_t data[]; /* key, then value(s) */
};

struct hchunk {
	struct hchunk *next;
	uint8_t mem[];
};

struct usm_hash {
	struct usm_map map;
	pthread_mutex_t lock;
	struct hnode **buckets;
	uint32_t nbuckets;   /* power of two */
	uint32_t count;      /* elements in the table */
	uint32_t allocated;  /* elements carved from chunks so far */
	uint32_t key_space;  /* round_up(key_size, 8) */
	uint32_t elem_size;  /* round_up(value_size, 8) */
	uint32_t ncpus;      /* value copies per element */
	size_t node_size;
	uint64_t seed;
	struct hnode *free_list;
	struct hchunk *chunks;
};

static struct usm_hash *to_hash(const struct usm_map *map)
{
	return (struct usm_hash *)map;
}

static uint32_t round8(uint32_t v)
{
	return (v + 7u) & ~7u;
}

static bool is_percpu(const struct usm_map *map)
{
	return map->map_type == BPF_MAP_TYPE_PERCPU_HASH;
}

/* ---- hashing ---- */

static uint64_t mix64(uint64_t h)
{
	h ^= h >> 32;
	h *= 0xd6e8feb86659fd93ull;
	h ^= h >> 32;
	h *= 0xd6e8feb86659fd93ull;
	h ^= h >> 32;
	return h;
}

static uint32_t hash_key(const uint8_t *k, uint32_t n, uint64_t seed)
{
	uint64_t h = seed ^ ((uint64_t)n * 0x9e3779b97f4a7c15ull);
	uint64_t w;

	for (; n >= 8; n -= 8, k += 8) {
		memcpy(&w, k, 8);
		h = (h ^ mix64(w)) * 0x9e3779b97f4a7c15ull;
		h = (h << 29) | (h >> 35);
	}
	if (n) {
		w = 0;
		memcpy(&w, k, n);
		h = (h ^ mix64(w ^ n)) * 0x9e3779b97f4a7c15ull;
	}
	return (uint32_t)(mix64(h) >> 16);
}

static uint64_t new_seed(void)
{
	uint64_t s;

	if (getrandom(&s, sizeof(s), GRND_NONBLOCK) == (ssize_t)sizeof(s))
		return s;
	return mix64((uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)&s);
}

/* ---- creation ---- */

static int hash_alloc_check(const struct usm_map_attr *attr)
{
	bool percpu = attr->map_type == BPF_MAP_TYPE_PERCPU_HASH;
	uint32_t node = (attr->map_flags & BPF_F_NUMA_NODE) ? attr->numa_node
							    : NUMA_NO_NODE;

	if (attr->map_flags & ~HTAB_CREATE_FLAG_MASK ||
	    (attr->map_flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) ==
		    (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG))
		return -EINVAL;
	if (attr->map_flags & BPF_F_NO_COMMON_LRU) /* not an LRU map */
		return -EINVAL;
	if (node != NUMA_NO_NODE && percpu)
		return -EINVAL;
	if (attr->max_entries == 0 || attr->key_size == 0 ||
	    attr->value_size == 0)
		return -EINVAL;
	if ((uint64_t)attr->key_size + attr->value_size >=
	    KMALLOC_MAX_SIZE - KERNEL_HTAB_ELEM_SIZE)
		return -E2BIG;
	if (percpu && round8(attr->value_size) > PCPU_MIN_UNIT_SIZE)
		return -E2BIG;
	return 0;
}

static void hash_free(struct usm_map *map)
{
	struct usm_hash *h = to_hash(map);
	struct hchunk *c, *n;

	for (c = h->chunks; c; c = n) {
		n = c->next;
		free(c);
	}
	free(h->buckets);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

static uint32_t roundup_pow2(uint32_t v)
{
	uint32_t p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

static int hash_alloc(const struct usm_map_attr *attr, struct usm_map **out)
{
	struct usm_hash *h;
	uint32_t want;

	/* htab_map_alloc's limits, in its order (E2BIG for both). */
	if (attr->max_entries > (1u << 31) ||
	    roundup_pow2(attr->max_entries) > UINT32_MAX / KERNEL_HTAB_BUCKET_SIZE)
		return -E2BIG;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->key_space = round8(attr->key_size);
	h->elem_size = round8(attr->value_size);
	h->ncpus = attr->map_type == BPF_MAP_TYPE_PERCPU_HASH ? usm__map_ncpus()
							      : 1;
	h->node_size = sizeof(struct hnode) + h->key_space +
		       (size_t)h->elem_size * h->ncpus;
	want = roundup_pow2(attr->max_entries);
	h->nbuckets = want < MIN_BUCKETS ? want : MIN_BUCKETS;
	h->buckets = calloc(h->nbuckets, sizeof(*h->buckets));
	h->seed = (attr->map_flags & BPF_F_ZERO_SEED) ? 0 : new_seed();
	if (!h->buckets || pthread_mutex_init(&h->lock, NULL) != 0) {
		free(h->buckets);
		free(h);
		return -ENOMEM;
	}
	*out = &h->map;
	return 0;
}

/* ---- table internals (caller holds h->lock) ---- */

static uint8_t *node_key(struct hnode *n)
{
	return n->data;
}

static uint8_t *node_value(struct usm_hash *h, struct hnode *n, uint32_t cpu)
{
	return n->data + h->key_space + (size_t)cpu * h->elem_size;
}

static struct hnode *find(struct usm_hash *h, const void *key, uint32_t hash)
{
	struct hnode *n = h->buckets[hash & (h->nbuckets - 1)];

	for (; n; n = n->next)
		if (n->hash == hash && !memcmp(n->data, key, h->map.key_size))
			return n;
	return NULL;
}

/* Grow the pool by one chunk: sizes double, never past max_entries. */
static int pool_grow(struct usm_hash *h)
{
	uint32_t left = h->map.max_entries - h->allocated;
	uint32_t n = h->allocated ? h->allocated : 8;
	struct hchunk *c;
	uint32_t i;

	if (n > left)
		n = left;
	if (n > 4096)
		n = 4096;
	if (n == 0) /* callers check count < max_entries: cannot happen */
		return -ENOMEM;
	c = malloc(sizeof(*c) + (size_t)n * h->node_size);
	if (!c)
		return -ENOMEM;
	c->next = h->chunks;
	h->chunks = c;
	for (i = 0; i < n; i++) {
		struct hnode *e = (struct hnode *)(c->mem + (size_t)i * h->node_size);

		e->next = h->free_list;
		h->free_list = e;
	}
	h->allocated += n;
	return 0;
}

static struct hnode *node_get(struct usm_hash *h)
{
	struct hnode *n;

	if (!h->free_list && pool_grow(h))
		return NULL;
	n = h->free_list;
	h->free_list = n->next;
	return n;
}

static void rehash(struct usm_hash *h)
{
	uint32_t nb = h->nbuckets * 2, i;
	struct hnode **b = calloc(nb, sizeof(*b));

	if (!b)
		return; /* keep the old table: only slower */
	for (i = 0; i < h->nbuckets; i++) {
		struct hnode *n = h->buckets[i], *next;

		for (; n; n = next) {
			next = n->next;
			n->next = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	}
	free(h->buckets);
	h->buckets = b;
	h->nbuckets = nb;
}

static void link_node(struct usm_hash *h, struct hnode *n)
{
	struct hnode **head;

	if (h->count + 1 > h->nbuckets &&
	    h->nbuckets < roundup_pow2(h->map.max_entries))
		rehash(h);
	head = &h->buckets[n->hash & (h->nbuckets - 1)];
	n->next = *head;
	*head = n;
	h->count++;
}

/* Store a value into an element: all CPUs from a user buffer, one CPU
 * (others untouched) from BPF, or a new element from BPF (others zero). */
enum vmode { V_ALL, V_ONE, V_NEW_ONE };

static void store(struct usm_hash *h, struct hnode *n, const void *value,
		  enum vmode mode)
{
	uint32_t cpu = is_percpu(&h->map) ? usm__map_cpu() : 0;

	if (mode == V_ALL) {
		memcpy(node_value(h, n, 0), value,
		       is_percpu(&h->map) ? (size_t)h->ncpus * h->elem_size
					  : h->map.value_size);
		return;
	}
	if (mode == V_NEW_ONE)
		memset(node_value(h, n, 0), 0, (size_t)h->ncpus * h->elem_size);
	memcpy(node_value(h, n, cpu), value, h->map.value_size);
}

/* htab update: check_flags, then E2BIG only for a new key when full. */
static int update_locked(struct usm_hash *h, const void *key,
			 const void *value, uint64_t flags, bool all)
{
	uint32_t hash = hash_key(key, h->map.key_size, h->seed);
	struct hnode *n = find(h, key, hash);

	if (n && flags == BPF_NOEXIST)
		return -EEXIST;
	if (!n && flags == BPF_EXIST)
		return -ENOENT;
	if (n) {
		store(h, n, value, all ? V_ALL : V_ONE);
		return 0;
	}
	if (h->count >= h->map.max_entries)
		return -E2BIG;
	n = node_get(h);
	if (!n)
		return -ENOMEM;
	memset(n->data, 0, h->key_space);
	memcpy(node_key(n), key, h->map.key_size);
	n->hash = hash;
	store(h, n, value, all ? V_ALL : V_NEW_ONE);
	link_node(h, n);
	return 0;
}

static int do_update(struct usm_map *map, const void *key, const void *value,
		     uint64_t flags, bool all)
{
	struct usm_hash *h = to_hash(map);
	int err;

	if (is_percpu(map)) {
		if (flags > BPF_EXIST)
			return -EINVAL;
	} else {
		if ((flags & ~(uint64_t)BPF_F_LOCK) > BPF_EXIST)
			return -EINVAL;
		if (flags & BPF_F_LOCK) /* no bpf_spin_lock in our values */
			return -EINVAL;
	}
	pthread_mutex_lock(&h->lock);
	err = update_locked(h, key, value, flags, all);
	pthread_mutex_unlock(&h->lock);
	return err;
}

/* ---- ops ---- */

static void *hash_lookup(struct usm_map *map, const void *key)
{
	struct usm_hash *h = to_hash(map);
	uint32_t hash = hash_key(key, map->key_size, h->seed);
	struct hnode *n;
	void *v = NULL;

	pthread_mutex_lock(&h->lock);
	n = find(h, key, hash);
	if (n)
		v = node_value(h, n, is_percpu(map) ? usm__map_cpu() : 0);
	pthread_mutex_unlock(&h->lock);
	return v;
}

static void *hash_lookup_cpu(struct usm_map *map, const void *key,
			     uint32_t cpu)
{
	struct usm_hash *h = to_hash(map);
	uint32_t hash = hash_key(key, map->key_size, h->seed);
	struct hnode *n;
	void *v = NULL;

	if (cpu >= h->ncpus)
		return NULL;
	pthread_mutex_lock(&h->lock);
	n = find(h, key, hash);
	if (n)
		v = node_value(h, n, cpu);
	pthread_mutex_unlock(&h->lock);
	return v;
}

static int hash_lookup_user(struct usm_map *map, const void *key, void *value,
			    uint64_t flags)
{
	struct usm_hash *h = to_hash(map);
	uint32_t hash = hash_key(key, map->key_size, h->seed);
	struct hnode *n;
	int err = -ENOENT;

	pthread_mutex_lock(&h->lock);
	n = find(h, key, hash);
	if (n) {
		memcpy(value, node_value(h, n, 0),
		       is_percpu(map) ? (size_t)h->ncpus * h->elem_size
				      : map->value_size);
		err = 0;
	}
	pthread_mutex_unlock(&h->lock);
	return err;
}

static int hash_update_user(struct usm_map *map, const void *key,
			    const void *value, uint64_t flags)
{
	return do_update(map, key, value, flags, true);
}

static int hash_update_bpf(struct usm_map *map, const void *key,
			   const void *value, uint64_t flags)
{
	return do_update(map, key, value, flags, !is_percpu(map));
}

static int hash_delete(struct usm_map *map, const void *key)
{
	struct usm_hash *h = to_hash(map);
	uint32_t hash = hash_key(key, map->key_size, h->seed);
	struct hnode **pp, *n;
	int err = -ENOENT;

	pthread_mutex_lock(&h->lock);
	pp = &h->buckets[hash & (h->nbuckets - 1)];
	for (; (n = *pp); pp = &n->next) {
		if (n->hash == hash && !memcmp(n->data, key, map->key_size)) {
			*pp = n->next;
			n->next = h->free_list; /* memory stays with the map */
			h->free_list = n;
			h->count--;
			err = 0;
			break;
		}
	}
	pthread_mutex_unlock(&h->lock);
	return err;
}

/* Next key in bucket order; a NULL or unknown key restarts (hashtab.c). */
static int hash_get_next_key(struct usm_map *map, const void *key,
			     void *next_key)
{
	struct usm_hash *h = to_hash(map);
	struct hnode *n = NULL;
	uint32_t i = 0, hash;
	int err = -ENOENT;

	pthread_mutex_lock(&h->lock);
	if (key) {
		hash = hash_key(key, map->key_size, h->seed);
		n = find(h, key, hash);
		if (n && n->next) {
			n = n->next;
			goto found;
		}
		if (n)
			i = (hash & (h->nbuckets - 1)) + 1;
	}
	for (n = NULL; i < h->nbuckets && !n; i++)
		n = h->buckets[i];
	if (!n)
		goto out;
found:
	memcpy(next_key, node_key(n), map->key_size);
	err = 0;
out:
	pthread_mutex_unlock(&h->lock);
	return err;
}

const struct usm_map_ops usm__hash_ops = {
	.alloc_check = hash_alloc_check,
	.alloc = hash_alloc,
	.free = hash_free,
	.lookup_elem = hash_lookup,
	.lookup_elem_user = hash_lookup_user,
	.update_elem_user = hash_update_user,
	.update_elem = hash_update_bpf,
	.delete_elem = hash_delete,
	.get_next_key = hash_get_next_key,
};

const struct usm_map_ops usm__percpu_hash_ops = {
	.alloc_check = hash_alloc_check,
	.alloc = hash_alloc,
	.free = hash_free,
	.lookup_elem = hash_lookup,
	.lookup_elem_user = hash_lookup_user,
	.update_elem_user = hash_update_user,
	.update_elem = hash_update_bpf,
	.delete_elem = hash_delete,
	.get_next_key = hash_get_next_key,
	.lookup_percpu_elem = hash_lookup_cpu,
};
