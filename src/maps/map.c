/* SPDX-License-Identifier: MIT */
/*
 * Generic map code: creation with the checks of the kernel's map_create()
 * (kernel/bpf/syscall.c) in its order, reference counting (normal and user
 * references), map ids, the user-space entry points with the checks
 * bpf(2) makes before calling a type (flags, fd permissions, frozen maps),
 * and the BPF-side dispatch helpers use.
 *
 * Invariants: a map in the id table has refcnt > 0; the last put removes it
 * from the table under the table lock before freeing, so usm__map_get_by_id
 * never returns a map being freed. Per-type state lives behind the ops.
 */
#include "map.h"

#include <bpf/libbpf.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NUMA_NO_NODE 0xffffffffu

static const struct usm_map_ops *const type_ops[] = {
	[BPF_MAP_TYPE_HASH] = &usm__hash_ops,
	[BPF_MAP_TYPE_ARRAY] = &usm__array_ops,
	[BPF_MAP_TYPE_PROG_ARRAY] = &usm__prog_array_ops,
	[BPF_MAP_TYPE_PERCPU_HASH] = &usm__percpu_hash_ops,
	[BPF_MAP_TYPE_PERCPU_ARRAY] = &usm__percpu_array_ops,
	[BPF_MAP_TYPE_SOCKMAP] = &usm__sockmap_ops,
	[BPF_MAP_TYPE_SOCKHASH] = &usm__sockhash_ops,
	[BPF_MAP_TYPE_REUSEPORT_SOCKARRAY] = &usm__reuseport_array_ops,
	[BPF_MAP_TYPE_ARRAY_OF_MAPS] = &usm__array_of_maps_ops,
	[BPF_MAP_TYPE_HASH_OF_MAPS] = &usm__hash_of_maps_ops,
};

#define N_TYPE_OPS (sizeof(type_ops) / sizeof(type_ops[0]))

/* Names as bpftool/libbpf print them, by enum bpf_map_type value. */
static const char *const type_names[] = {
	"unspec", "hash", "array", "prog_array", "perf_event_array",
	"percpu_hash", "percpu_array", "stack_trace", "cgroup_array",
	"lru_hash", "lru_percpu_hash", "lpm_trie", "array_of_maps",
	"hash_of_maps", "devmap", "sockmap", "cpumap", "xskmap", "sockhash",
	"cgroup_storage", "reuseport_sockarray", "percpu_cgroup_storage",
	"queue", "stack", "sk_storage", "devmap_hash", "struct_ops",
	"ringbuf", "inode_storage", "task_storage", "bloom_filter",
	"user_ringbuf", "cgrp_storage", "arena",
};

/* ---- CPUs ---- */

static uint32_t ncpus_cached;
static __thread uint32_t cur_cpu;

uint32_t usm__map_ncpus(void)
{
	uint32_t n = __atomic_load_n(&ncpus_cached, __ATOMIC_RELAXED);
	int r;

	if (n)
		return n;
	r = libbpf_num_possible_cpus();
	if (r <= 0) {
		long c = sysconf(_SC_NPROCESSORS_CONF);

		r = c > 0 ? (int)c : 1;
	}
	n = (uint32_t)r;
	__atomic_store_n(&ncpus_cached, n, __ATOMIC_RELAXED);
	return n;
}

uint32_t usm__map_set_cpu(uint32_t cpu)
{
	uint32_t prev = cur_cpu;

	cur_cpu = cpu;
	return prev;
}

uint32_t usm__map_cpu(void)
{
	return cur_cpu % usm__map_ncpus();
}

size_t usm__map_user_value_size(const struct usm_map *map)
{
	switch (map->map_type) {
	case BPF_MAP_TYPE_PERCPU_HASH:
	case BPF_MAP_TYPE_LRU_PERCPU_HASH:
	case BPF_MAP_TYPE_PERCPU_ARRAY:
	case BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE:
		return (((size_t)map->value_size + 7) & ~(size_t)7) *
		       usm__map_ncpus();
	case BPF_MAP_TYPE_PROG_ARRAY:
	case BPF_MAP_TYPE_PERF_EVENT_ARRAY:
	case BPF_MAP_TYPE_CGROUP_ARRAY:
	case BPF_MAP_TYPE_ARRAY_OF_MAPS:
	case BPF_MAP_TYPE_HASH_OF_MAPS:
		return sizeof(uint32_t); /* fd in, id out */
	default:
		return map->value_size;
	}
}

const char *usm__map_type_name(uint32_t map_type)
{
	if (map_type < sizeof(type_names) / sizeof(type_names[0]))
		return type_names[map_type];
	return "unknown";
}

/* ---- id table ---- */

static pthread_mutex_t id_lock = PTHREAD_MUTEX_INITIALIZER;
static struct usm_map **id_maps; /* sorted by id */
static uint32_t id_cnt, id_cap, id_last;

static int id_alloc(struct usm_map *map)
{
	int err = 0;

	pthread_mutex_lock(&id_lock);
	if (id_cnt == id_cap) {
		uint32_t cap = id_cap ? id_cap * 2 : 64;
		struct usm_map **n = realloc(id_maps, cap * sizeof(*n));

		if (!n) {
			err = -ENOMEM;
			goto out;
		}
		id_maps = n;
		id_cap = cap;
	}
	/* Ids grow (like the kernel's cyclic idr; 0 is never used). */
	if (++id_last == 0)
		id_last = 1;
	map->id = id_last;
	id_maps[id_cnt++] = map;
out:
	pthread_mutex_unlock(&id_lock);
	return err;
}

/* Index of @id in id_maps, or id_cnt; caller holds id_lock. */
static uint32_t id_find(uint32_t id)
{
	uint32_t lo = 0, hi = id_cnt;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (id_maps[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void id_remove(struct usm_map *map)
{
	uint32_t i = id_find(map->id);

	if (i < id_cnt && id_maps[i] == map) {
		memmove(&id_maps[i], &id_maps[i + 1],
			(id_cnt - i - 1) * sizeof(*id_maps));
		id_cnt--;
	}
}

int usm__map_get_by_id(uint32_t id, struct usm_map **out)
{
	uint32_t i;
	int err = -ENOENT;

	pthread_mutex_lock(&id_lock);
	i = id_find(id);
	if (i < id_cnt && id_maps[i]->id == id) {
		__atomic_add_fetch(&id_maps[i]->refcnt, 1, __ATOMIC_RELAXED);
		*out = id_maps[i];
		err = 0;
	}
	pthread_mutex_unlock(&id_lock);
	return err;
}

int usm__map_get_next_id(uint32_t start, uint32_t *next_id)
{
	uint32_t i;
	int err = -ENOENT;

	pthread_mutex_lock(&id_lock);
	i = start == UINT32_MAX ? id_cnt : id_find(start + 1);
	if (i < id_cnt) {
		*next_id = id_maps[i]->id;
		err = 0;
	}
	pthread_mutex_unlock(&id_lock);
	return err;
}

/* ---- references ---- */

void usm__map_get(struct usm_map *map)
{
	__atomic_add_fetch(&map->refcnt, 1, __ATOMIC_RELAXED);
}

bool usm__map_tryget(struct usm_map *map)
{
	int old = __atomic_load_n(&map->refcnt, __ATOMIC_RELAXED);

	while (old > 0) {
		if (__atomic_compare_exchange_n(&map->refcnt, &old, old + 1,
						false, __ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED))
			return true;
	}
	return false;
}

void usm__map_put(struct usm_map *map)
{
	int old, left;

	if (!map)
		return;
	old = __atomic_load_n(&map->refcnt, __ATOMIC_RELAXED);
	while (old > 1) {
		if (__atomic_compare_exchange_n(&map->refcnt, &old, old - 1,
						false, __ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED))
			return;
	}
	pthread_mutex_lock(&id_lock);
	left = __atomic_sub_fetch(&map->refcnt, 1, __ATOMIC_ACQ_REL);
	if (left == 0)
		id_remove(map);
	pthread_mutex_unlock(&id_lock);
	if (left == 0) {
		usm__map_put(map->inner_meta);
		map->ops->free(map);
	}
}

void usm__map_get_with_uref(struct usm_map *map)
{
	usm__map_get(map);
	__atomic_add_fetch(&map->usercnt, 1, __ATOMIC_RELAXED);
}

void usm__map_put_with_uref(struct usm_map *map)
{
	if (!map)
		return;
	if (__atomic_sub_fetch(&map->usercnt, 1, __ATOMIC_ACQ_REL) == 0 &&
	    map->ops->release_uref)
		map->ops->release_uref(map);
	usm__map_put(map);
}

/* ---- creation ---- */

static bool numa_node_ok(uint32_t node)
{
	char path[64];

	if (node == NUMA_NO_NODE)
		return true;
	if (access("/sys/devices/system/node", F_OK) != 0)
		return node == 0;
	snprintf(path, sizeof(path), "/sys/devices/system/node/node%u", node);
	return access(path, F_OK) == 0;
}

/* The kernel's bpf_obj_name_cpy: [A-Za-z0-9_.]*, NUL within the buffer. */
static int name_check(const char *name)
{
	size_t i;

	for (i = 0; i < BPF_OBJ_NAME_LEN; i++) {
		if (name[i] == '\0')
			return 0;
		if (!isalnum((unsigned char)name[i]) && name[i] != '_' &&
		    name[i] != '.')
			return -EINVAL;
	}
	return -EINVAL;
}

/* Checks map_create makes before looking at the type. */
static int generic_check(const struct usm_map_attr *attr)
{
	if (attr->btf_key_type_id && !attr->btf_value_type_id)
		return -EINVAL;
	if ((attr->map_flags & BPF_F_RDONLY) && (attr->map_flags & BPF_F_WRONLY))
		return -EINVAL;
	if ((attr->map_flags & BPF_F_NUMA_NODE) && !numa_node_ok(attr->numa_node))
		return -EINVAL;
	return 0;
}

static int btf_check(const struct usm_map *map, const struct usm_map_attr *attr)
{
	if (!attr->btf_value_type_id)
		return 0;
	if (map->ops->check_btf)
		return map->ops->check_btf(map, attr);
	/* A keyless BTF needs the type's own hook (syscall.c map_check_btf). */
	return attr->btf_key_type_id ? 0 : -EINVAL;
}

static void init_from_attr(struct usm_map *map, const struct usm_map_ops *ops,
			   const struct usm_map_attr *attr)
{
	map->ops = ops;
	map->refcnt = 1;
	map->usercnt = 1;
	map->map_type = attr->map_type;
	map->key_size = attr->key_size;
	map->value_size = attr->value_size;
	map->max_entries = attr->max_entries;
	map->map_flags = attr->map_flags & ~(uint32_t)(BPF_F_RDONLY | BPF_F_WRONLY);
	map->file_flags = attr->map_flags & (BPF_F_RDONLY | BPF_F_WRONLY);
	map->numa_node = (attr->map_flags & BPF_F_NUMA_NODE) ? attr->numa_node
							     : NUMA_NO_NODE;
	memcpy(map->name, attr->name, sizeof(map->name));
	map->name[sizeof(map->name) - 1] = '\0';
}

/* Generic and type checks, then the type's alloc: the part every map goes
 * through, registered or hidden. On error nothing is allocated. */
static int map_alloc(const struct usm_map_attr *attr, struct usm_map **out)
{
	const struct usm_map_ops *ops;
	int err;

	if (!attr || !out)
		return -EINVAL;
	*out = NULL;
	err = generic_check(attr);
	if (err)
		return err;
	if (attr->map_type >= N_TYPE_OPS || !type_ops[attr->map_type])
		return -EINVAL;
	ops = type_ops[attr->map_type];
	if (ops->alloc_check) {
		err = ops->alloc_check(attr);
		if (err)
			return err;
	}
	err = ops->alloc(attr, out);
	if (err)
		return err;
	init_from_attr(*out, ops, attr);
	return 0;
}

int usm__map_create(const struct usm_map_attr *attr, struct usm_map **out)
{
	struct usm_map *map;
	int err;

	err = map_alloc(attr, &map);
	if (err)
		return err;
	err = name_check(attr->name);
	if (!err)
		err = btf_check(map, attr);
	if (!err)
		err = id_alloc(map);
	if (err) {
		usm__map_put(map->inner_meta); /* *_OF_MAPS template */
		map->ops->free(map);
		return err;
	}
	*out = map;
	return 0;
}

int usm__map_create_hidden(const struct usm_map_attr *attr,
			   struct usm_map **out)
{
	return map_alloc(attr, out);
}

/* ---- map fds in values (map-in-map) ---- */

static int default_map_resolver(int fd, struct usm_map **out)
{
	*out = NULL;
	return fcntl(fd, F_GETFD) < 0 ? -EBADF : -EINVAL;
}

static usm_map_fd_resolver_fn map_resolver = default_map_resolver;

void usm__map_set_map_fd_resolver(usm_map_fd_resolver_fn fn)
{
	__atomic_store_n(&map_resolver, fn ? fn : default_map_resolver,
			 __ATOMIC_RELEASE);
}

int usm__map_resolve_fd(int fd, struct usm_map **out)
{
	usm_map_fd_resolver_fn fn = __atomic_load_n(&map_resolver,
						    __ATOMIC_ACQUIRE);

	*out = NULL;
	if (fd < 0)
		return -EBADF;
	return fn(fd, out);
}

/* ---- user-space entry points ---- */

static bool can_read(const struct usm_map *map)
{
	return !(map->file_flags & BPF_F_WRONLY);
}

static bool can_write(const struct usm_map *map)
{
	return !(map->file_flags & BPF_F_RDONLY) &&
	       !__atomic_load_n(&map->frozen, __ATOMIC_ACQUIRE);
}

/* User keys: key_size bytes must be readable (EFAULT for NULL). */
static int key_ok(const struct usm_map *map, const void *key)
{
	if (map->key_size == 0)
		return key ? -EINVAL : 0;
	return key ? 0 : -EFAULT;
}

int usm__map_lookup_elem(struct usm_map *map, const void *key, void *value,
			 uint64_t flags)
{
	int err;

	if (!map)
		return -EBADF;
	if (flags & ~(uint64_t)BPF_F_LOCK)
		return -EINVAL;
	if (!can_read(map))
		return -EPERM;
	if (flags & BPF_F_LOCK) /* no map of ours has a bpf_spin_lock */
		return -EINVAL;
	err = key_ok(map, key);
	if (err)
		return err;
	if (!value)
		return -EFAULT;
	if (!map->ops->lookup_elem_user)
		return -EOPNOTSUPP;
	return map->ops->lookup_elem_user(map, key, value, flags);
}

int usm__map_update_elem(struct usm_map *map, const void *key,
			 const void *value, uint64_t flags)
{
	int err;

	if (!map)
		return -EBADF;
	if (!can_write(map))
		return -EPERM;
	if (flags & BPF_F_LOCK)
		return -EINVAL;
	err = key_ok(map, key);
	if (err)
		return err;
	if (!value)
		return -EFAULT;
	if (!map->ops->update_elem_user)
		return -EOPNOTSUPP;
	return map->ops->update_elem_user(map, key, value, flags);
}

int usm__map_delete_elem(struct usm_map *map, const void *key)
{
	int err;

	if (!map)
		return -EBADF;
	if (!can_write(map))
		return -EPERM;
	err = key_ok(map, key);
	if (err)
		return err;
	if (!map->ops->delete_elem)
		return -EOPNOTSUPP;
	return map->ops->delete_elem(map, key);
}

int usm__map_get_next_key(struct usm_map *map, const void *key,
			  void *next_key)
{
	if (!map)
		return -EBADF;
	if (!can_read(map))
		return -EPERM;
	if (key && map->key_size == 0)
		return -EINVAL;
	if (!next_key && map->key_size)
		return -EFAULT;
	if (!map->ops->get_next_key)
		return -EOPNOTSUPP;
	return map->ops->get_next_key(map, key, next_key);
}

int usm__map_freeze(struct usm_map *map)
{
	bool expected = false;

	if (!map)
		return -EBADF;
	if (!can_write(map))
		return -EPERM;
	if (!__atomic_compare_exchange_n(&map->frozen, &expected, true, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return -EBUSY;
	return 0;
}

/* ---- BPF-side dispatch ---- */

void *usm__map_bpf_lookup_elem(struct usm_map *map, const void *key)
{
	return map->ops->lookup_elem ? map->ops->lookup_elem(map, key) : NULL;
}

int usm__map_bpf_update_elem(struct usm_map *map, const void *key,
			     const void *value, uint64_t flags)
{
	if (!map->ops->update_elem)
		return -EOPNOTSUPP;
	return map->ops->update_elem(map, key, value, flags);
}

int usm__map_bpf_delete_elem(struct usm_map *map, const void *key)
{
	if (!map->ops->delete_elem)
		return -EOPNOTSUPP;
	return map->ops->delete_elem(map, key);
}

void *usm__map_lookup_percpu_elem(struct usm_map *map, const void *key,
				  uint32_t cpu)
{
	if (!map->ops->lookup_percpu_elem)
		return NULL;
	return map->ops->lookup_percpu_elem(map, key, cpu);
}

int usm__map_direct_value_addr(const struct usm_map *map, uint64_t *addr,
			       uint32_t off)
{
	if (!map->ops->direct_value_addr)
		return -EINVAL;
	return map->ops->direct_value_addr(map, addr, off);
}

/* get_next_key of every array-indexed map (ARRAY, PROG_ARRAY, SOCKMAP,
 * REUSEPORT_SOCKARRAY, ARRAY_OF_MAPS): occupancy is ignored; a missing or
 * out-of-range key restarts at 0; the last index ends the walk (SEMANTICS
 * MAP-NXT-01, MAP-NXT-03; arraymap.c array_map_get_next_key). */
int usm__map_index_get_next_key(struct usm_map *map, const void *key,
				void *next_key)
{
	uint32_t i = key ? usm__load_u32(key) : UINT32_MAX;

	if (i >= map->max_entries) {
		usm__store_u32(next_key, 0);
		return 0;
	}
	if (i == map->max_entries - 1)
		return -ENOENT;
	usm__store_u32(next_key, i + 1);
	return 0;
}
