/* SPDX-License-Identifier: MIT */
/*
 * BPF_MAP_TYPE_ARRAY_OF_MAPS and HASH_OF_MAPS (kernel/bpf/map_in_map.c,
 * arraymap.c, hashtab.c): maps whose values are other maps.
 *
 * Creation takes an inner-map template (struct usm_map_attr.inner_map) and
 * keeps a reference on it as map->inner_meta; the verifier types the result
 * of a BPF-side lookup as CONST_PTR_TO_MAP of that template. Every map
 * stored later must match it (usm__map_meta_equal, else EINVAL). From user
 * space a value is an inner map fd on update (resolved through the bpf(2)
 * core's fd table, usm__map_resolve_fd) and the inner map's id on lookup;
 * the object loader stores maps directly (ops->update_elem_map). A BPF-side
 * lookup returns the struct usm_map * itself, or NULL for an empty slot or
 * missing key (SEMANTICS RPA-11); programs cannot update or delete.
 *
 * Each stored inner map holds one reference. ARRAY_OF_MAPS keeps a slot
 * array; HASH_OF_MAPS keeps its elements in a hidden HASH map
 * (usm__map_create_hidden) whose 8-byte values are the map pointers, so
 * the hash rules (EEXIST/ENOENT, E2BIG when full, get_next_key order) are
 * the hash map's own. A BPF-side lookup takes no reference: the pointer is
 * valid while the slot holds it (user-space changes happen between program
 * runs on the engine's loop thread, as for the socket maps).
 */
#include "map.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_CREATE_FLAG_MASK                                                 \
	(BPF_F_NUMA_NODE | BPF_F_MMAPABLE | BPF_F_RDONLY | BPF_F_WRONLY |      \
	 BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG | BPF_F_PRESERVE_ELEMS |        \
	 BPF_F_INNER_MAP)
#define PROG_FLAGS (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)

struct usm_mim {
	struct usm_map map;
	pthread_mutex_t lock;    /* serialises user-space changes */
	struct usm_map *store;   /* HASH_OF_MAPS: hidden hash of pointers */
	struct usm_map *slots[]; /* ARRAY_OF_MAPS: max_entries slots */
};

static struct usm_mim *to_mim(const struct usm_map *map)
{
	return (struct usm_mim *)map;
}

/* ---- the template ---- */

bool usm__map_meta_equal(const struct usm_map *meta,
			 const struct usm_map *inner)
{
	if (meta->map_type != inner->map_type ||
	    meta->key_size != inner->key_size ||
	    meta->value_size != inner->value_size ||
	    meta->map_flags != inner->map_flags)
		return false;
	/* array_map_meta_equal: plain arrays also compare their size unless
	 * the template says BPF_F_INNER_MAP. */
	if (meta->map_type == BPF_MAP_TYPE_ARRAY &&
	    !(meta->map_flags & BPF_F_INNER_MAP))
		return meta->max_entries == inner->max_entries;
	return true;
}

/* Types the kernel can use as inner maps (their ops have map_meta_equal).
 * Socket maps and REUSEPORT_SOCKARRAY are among them (MAP-CRT-11). */
static bool type_has_meta_equal(uint32_t type)
{
	switch (type) {
	case BPF_MAP_TYPE_PROG_ARRAY:
	case BPF_MAP_TYPE_ARRAY_OF_MAPS:
	case BPF_MAP_TYPE_HASH_OF_MAPS:
	case BPF_MAP_TYPE_CGROUP_STORAGE:
	case BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE:
	case BPF_MAP_TYPE_STRUCT_OPS:
		return false;
	default:
		return true;
	}
}

/* bpf_map_meta_alloc's checks on the template, in its order. */
static int template_check(const struct usm_map_attr *attr)
{
	const struct usm_map *t = attr->inner_map;

	if (!t)
		return attr->inner_map_err ? attr->inner_map_err : -EINVAL;
	if (t->inner_meta) /* one level of nesting only */
		return -EINVAL;
	if (!type_has_meta_equal(t->map_type))
		return -USM_ENOTSUPP;
	return 0;
}

/* Resolve a user value (an inner map fd) into a map fitting @map's
 * template: a new reference, or -EBADF / -EINVAL (bpf_map_fd_get_ptr). */
static int inner_from_fd(struct usm_map *map, const void *value,
			 struct usm_map **out)
{
	uint32_t ufd;
	int err;

	memcpy(&ufd, value, sizeof(ufd));
	err = usm__map_resolve_fd((int)ufd, out);
	if (err)
		return err;
	if (!usm__map_meta_equal(map->inner_meta, *out)) {
		usm__map_put(*out);
		*out = NULL;
		return -EINVAL;
	}
	return 0;
}

/* map_check_no_btf: neither type takes BTF. */
static int mim_check_btf(const struct usm_map *map,
			 const struct usm_map_attr *attr)
{
	return -USM_ENOTSUPP;
}

/* ---- ARRAY_OF_MAPS ---- */

/* fd_array_map_alloc_check + array_map_alloc_check for a non-plain array. */
static int aom_alloc_check(const struct usm_map_attr *attr)
{
	if (attr->value_size != sizeof(uint32_t))
		return -EINVAL;
	if (attr->map_flags & PROG_FLAGS)
		return -EINVAL;
	if (attr->max_entries == 0 || attr->key_size != sizeof(uint32_t) ||
	    attr->map_flags & ~ARRAY_CREATE_FLAG_MASK)
		return -EINVAL;
	if (attr->map_flags &
	    (BPF_F_MMAPABLE | BPF_F_INNER_MAP | BPF_F_PRESERVE_ELEMS))
		return -EINVAL;
	return 0;
}

static int mim_new(const struct usm_map_attr *attr, size_t nslots,
		   struct usm_mim **out)
{
	struct usm_mim *m;

	m = calloc(1, sizeof(*m) + nslots * sizeof(m->slots[0]));
	if (!m)
		return -ENOMEM;
	if (pthread_mutex_init(&m->lock, NULL) != 0) {
		free(m);
		return -ENOMEM;
	}
	usm__map_get(attr->inner_map);
	m->map.inner_meta = attr->inner_map;
	*out = m;
	return 0;
}

static int aom_alloc(const struct usm_map_attr *attr, struct usm_map **out)
{
	struct usm_mim *m;
	int err;

	err = template_check(attr);
	if (err)
		return err;
	err = mim_new(attr, attr->max_entries, &m);
	if (err)
		return err;
	*out = &m->map;
	return 0;
}

/* The generic put releases inner_meta after ops->free; free the rest. */
static void aom_free(struct usm_map *map)
{
	struct usm_mim *m = to_mim(map);
	uint32_t i;

	for (i = 0; i < map->max_entries; i++)
		usm__map_put(m->slots[i]);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* Store @inner (a reference handed over) at @idx; the old one is put. */
static void aom_store(struct usm_mim *m, uint32_t idx, struct usm_map *inner)
{
	struct usm_map *old;

	pthread_mutex_lock(&m->lock);
	old = m->slots[idx];
	__atomic_store_n(&m->slots[idx], inner, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&m->lock);
	usm__map_put(old);
}

/* bpf_fd_array_map_update_elem: flags must be BPF_ANY, then the index,
 * then the fd. */
static int aom_update_user(struct usm_map *map, const void *key,
			   const void *value, uint64_t flags)
{
	uint32_t idx = usm__load_u32(key);
	struct usm_map *inner;
	int err;

	if (flags != BPF_ANY)
		return -EINVAL;
	if (idx >= map->max_entries)
		return -E2BIG;
	err = inner_from_fd(map, value, &inner);
	if (err)
		return err;
	aom_store(to_mim(map), idx, inner);
	return 0;
}

static int aom_update_map(struct usm_map *map, const void *key,
			  struct usm_map *inner, uint64_t flags)
{
	uint32_t idx = usm__load_u32(key);

	if (flags != BPF_ANY || !inner)
		return -EINVAL;
	if (idx >= map->max_entries)
		return -E2BIG;
	if (!usm__map_meta_equal(map->inner_meta, inner))
		return -EINVAL;
	usm__map_get(inner);
	aom_store(to_mim(map), idx, inner);
	return 0;
}

/* BPF side: the inner map or NULL (RPA-11). */
static void *aom_lookup(struct usm_map *map, const void *key)
{
	uint32_t idx = usm__load_u32(key);

	if (idx >= map->max_entries)
		return NULL;
	return __atomic_load_n(&to_mim(map)->slots[idx], __ATOMIC_ACQUIRE);
}

/* User side: the inner map's id; out of range or empty is ENOENT. */
static int aom_lookup_user(struct usm_map *map, const void *key, void *value,
			   uint64_t flags)
{
	struct usm_mim *m = to_mim(map);
	uint32_t idx = usm__load_u32(key);
	int err = -ENOENT;

	if (idx >= map->max_entries)
		return -ENOENT;
	pthread_mutex_lock(&m->lock);
	if (m->slots[idx]) {
		memcpy(value, &m->slots[idx]->id, sizeof(uint32_t));
		err = 0;
	}
	pthread_mutex_unlock(&m->lock);
	return err;
}

/* fd_array_map_delete_elem: out of range E2BIG, empty ENOENT. */
static int aom_delete(struct usm_map *map, const void *key)
{
	struct usm_mim *m = to_mim(map);
	uint32_t idx = usm__load_u32(key);
	struct usm_map *old;

	if (idx >= map->max_entries)
		return -E2BIG;
	pthread_mutex_lock(&m->lock);
	old = m->slots[idx];
	__atomic_store_n(&m->slots[idx], NULL, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&m->lock);
	if (!old)
		return -ENOENT;
	usm__map_put(old);
	return 0;
}

const struct usm_map_ops usm__array_of_maps_ops = {
	.alloc_check = aom_alloc_check,
	.alloc = aom_alloc,
	.free = aom_free,
	.lookup_elem = aom_lookup,
	.lookup_elem_user = aom_lookup_user,
	.update_elem_user = aom_update_user,
	.delete_elem = aom_delete,
	.get_next_key = usm__map_index_get_next_key,
	.check_btf = mim_check_btf,
	.update_elem_map = aom_update_map,
};

/* ---- HASH_OF_MAPS ---- */

/* The hidden store's attributes: a HASH with pointer-sized values. */
static void store_attr(const struct usm_map_attr *attr,
		       struct usm_map_attr *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->map_type = BPF_MAP_TYPE_HASH;
	sa->key_size = attr->key_size;
	sa->value_size = sizeof(struct usm_map *);
	sa->max_entries = attr->max_entries;
	sa->map_flags = attr->map_flags & ~(uint32_t)(BPF_F_RDONLY | BPF_F_WRONLY);
	sa->numa_node = attr->numa_node;
}

/* fd_htab_map_alloc_check: value size, then the hash rules. */
static int hom_alloc_check(const struct usm_map_attr *attr)
{
	if (attr->value_size != sizeof(uint32_t))
		return -EINVAL;
	return usm__hash_ops.alloc_check ? usm__hash_ops.alloc_check(attr) : 0;
}

static int hom_alloc(const struct usm_map_attr *attr, struct usm_map **out)
{
	struct usm_map_attr sa;
	struct usm_mim *m;
	int err;

	err = template_check(attr);
	if (err)
		return err;
	err = mim_new(attr, 0, &m);
	if (err)
		return err;
	store_attr(attr, &sa);
	err = usm__map_create_hidden(&sa, &m->store);
	if (err) {
		usm__map_put(m->map.inner_meta);
		pthread_mutex_destroy(&m->lock);
		free(m);
		return err;
	}
	*out = &m->map;
	return 0;
}

/* The inner map stored under @key, or NULL; caller holds m->lock. */
static struct usm_map *hom_get_locked(struct usm_mim *m, const void *key)
{
	void *v = usm__map_bpf_lookup_elem(m->store, key);
	struct usm_map *inner = NULL;

	if (v)
		memcpy(&inner, v, sizeof(inner));
	return inner;
}

static void hom_free(struct usm_map *map)
{
	struct usm_mim *m = to_mim(map);
	uint8_t *key = malloc(map->key_size ? map->key_size : 1);
	uint8_t *next = malloc(map->key_size ? map->key_size : 1);
	void *prev = NULL;

	/* Without memory for the walk the inner maps stay referenced; there
	 * is nothing better to do in a destructor. */
	while (key && next &&
	       usm__map_get_next_key(m->store, prev, next) == 0) {
		usm__map_put(hom_get_locked(m, next));
		memcpy(key, next, map->key_size);
		prev = key;
	}
	free(key);
	free(next);
	usm__map_put(m->store);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* htab_map_update_elem on the store with @inner (a reference handed
 * over): flags, EEXIST/ENOENT, E2BIG when full. On error @inner is put. */
static int hom_store(struct usm_mim *m, const void *key,
		     struct usm_map *inner, uint64_t flags)
{
	struct usm_map *old;
	int err;

	pthread_mutex_lock(&m->lock);
	old = hom_get_locked(m, key);
	err = usm__map_bpf_update_elem(m->store, key, &inner, flags);
	pthread_mutex_unlock(&m->lock);
	if (err) {
		usm__map_put(inner);
		return err;
	}
	usm__map_put(old);
	return 0;
}

/* bpf_fd_htab_map_update_elem: the fd first, then the hash rules. */
static int hom_update_user(struct usm_map *map, const void *key,
			   const void *value, uint64_t flags)
{
	struct usm_map *inner;
	int err;

	err = inner_from_fd(map, value, &inner);
	if (err)
		return err;
	return hom_store(to_mim(map), key, inner, flags);
}

static int hom_update_map(struct usm_map *map, const void *key,
			  struct usm_map *inner, uint64_t flags)
{
	if (!inner || !usm__map_meta_equal(map->inner_meta, inner))
		return -EINVAL;
	usm__map_get(inner);
	return hom_store(to_mim(map), key, inner, flags);
}

static void *hom_lookup(struct usm_map *map, const void *key)
{
	struct usm_mim *m = to_mim(map);
	void *v = usm__map_bpf_lookup_elem(m->store, key);
	struct usm_map *inner = NULL;

	if (v)
		memcpy(&inner, v, sizeof(inner));
	return inner;
}

static int hom_lookup_user(struct usm_map *map, const void *key, void *value,
			   uint64_t flags)
{
	struct usm_mim *m = to_mim(map);
	struct usm_map *inner;
	int err = -ENOENT;

	pthread_mutex_lock(&m->lock);
	inner = hom_get_locked(m, key);
	if (inner) {
		memcpy(value, &inner->id, sizeof(uint32_t));
		err = 0;
	}
	pthread_mutex_unlock(&m->lock);
	return err;
}

static int hom_delete(struct usm_map *map, const void *key)
{
	struct usm_mim *m = to_mim(map);
	struct usm_map *old;
	int err;

	pthread_mutex_lock(&m->lock);
	old = hom_get_locked(m, key);
	err = usm__map_bpf_delete_elem(m->store, key);
	pthread_mutex_unlock(&m->lock);
	if (!err)
		usm__map_put(old);
	return err;
}

static int hom_get_next_key(struct usm_map *map, const void *key,
			    void *next_key)
{
	return usm__map_get_next_key(to_mim(map)->store, key, next_key);
}

const struct usm_map_ops usm__hash_of_maps_ops = {
	.alloc_check = hom_alloc_check,
	.alloc = hom_alloc,
	.free = hom_free,
	.lookup_elem = hom_lookup,
	.lookup_elem_user = hom_lookup_user,
	.update_elem_user = hom_update_user,
	.delete_elem = hom_delete,
	.get_next_key = hom_get_next_key,
	.check_btf = mim_check_btf,
	.update_elem_map = hom_update_map,
};
