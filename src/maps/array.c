/* SPDX-License-Identifier: MIT */
/*
 * BPF_MAP_TYPE_ARRAY, PERCPU_ARRAY and PROG_ARRAY, with the rules of the
 * kernel's kernel/bpf/arraymap.c: key_size 4, every element exists from
 * creation (zero-filled), update with BPF_NOEXIST is EEXIST, delete is
 * EINVAL (PROG_ARRAY: a real delete), iteration visits every index.
 *
 * Storage: one zeroed allocation of max_entries elements of
 * round_up(value_size, 8) bytes, so values are contiguous and a value
 * pointer handed to a program stays valid for the map's life (direct value
 * access for global data points into it). BPF_F_MMAPABLE arrays are page
 * aligned (mmap'ed) so a future mmap API can hand them out. PERCPU_ARRAY
 * keeps ncpus copies per element: [index][cpu][elem_size]. PROG_ARRAY
 * keeps one struct usm_prog * per slot, each holding a reference.
 */
#include "map.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../vm/vm.h"

#define ARRAY_CREATE_FLAG_MASK                                                 \
	(BPF_F_NUMA_NODE | BPF_F_MMAPABLE | BPF_F_RDONLY | BPF_F_WRONLY |      \
	 BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG | BPF_F_PRESERVE_ELEMS |        \
	 BPF_F_INNER_MAP)
#define PCPU_MIN_UNIT_SIZE (32u << 10) /* kernel percpu allocator unit */
#define NUMA_NO_NODE 0xffffffffu

struct usm_array {
	struct usm_map map;
	uint32_t elem_size; /* round_up(value_size, 8) */
	uint32_t ncpus;     /* PERCPU_ARRAY copies per element, else 1 */
	size_t area_size;
	bool mmapped;
	uint8_t *values;
	/* PROG_ARRAY */
	struct usm_prog **progs;
	pthread_mutex_t lock; /* owner and slot changes */
	bool owner_set;
	uint32_t owner_type, owner_eat;
};

static struct usm_array *to_array(const struct usm_map *map)
{
	return (struct usm_array *)map;
}

static uint32_t round8(uint32_t v)
{
	return (v + 7u) & ~7u;
}

static bool flags_access_ok(uint32_t flags)
{
	return (flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) !=
	       (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG);
}

/* array_map_alloc_check: the same order, the same errno. */
static int array_alloc_check(const struct usm_map_attr *attr)
{
	bool percpu = attr->map_type == BPF_MAP_TYPE_PERCPU_ARRAY;
	uint32_t node = (attr->map_flags & BPF_F_NUMA_NODE) ? attr->numa_node
							    : NUMA_NO_NODE;

	if (attr->max_entries == 0 || attr->key_size != 4 ||
	    attr->value_size == 0 || attr->map_flags & ~ARRAY_CREATE_FLAG_MASK ||
	    !flags_access_ok(attr->map_flags) ||
	    (percpu && node != NUMA_NO_NODE))
		return -EINVAL;
	if (attr->map_type != BPF_MAP_TYPE_ARRAY &&
	    attr->map_flags & (BPF_F_MMAPABLE | BPF_F_INNER_MAP))
		return -EINVAL;
	/* Only PERF_EVENT_ARRAY takes PRESERVE_ELEMS (not PROG_ARRAY). */
	if (attr->map_flags & BPF_F_PRESERVE_ELEMS)
		return -EINVAL;
	if (attr->value_size > INT_MAX)
		return -E2BIG;
	if (percpu && round8(attr->value_size) > PCPU_MIN_UNIT_SIZE)
		return -E2BIG;
	return 0;
}

/* fd_array_map_alloc_check: prog fds are u32; no program-side flags. */
static int prog_array_alloc_check(const struct usm_map_attr *attr)
{
	if (attr->value_size != sizeof(uint32_t))
		return -EINVAL;
	if (attr->map_flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG))
		return -EINVAL;
	return array_alloc_check(attr);
}

static int alloc_area(struct usm_array *a, size_t size, bool mmapable)
{
	if (mmapable) {
		long pg = 4096;
		void *p;

		size = (size + (size_t)pg - 1) & ~((size_t)pg - 1);
		p = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return -ENOMEM;
		a->values = p;
		a->mmapped = true;
	} else {
		a->values = calloc(1, size ? size : 1);
		if (!a->values)
			return -ENOMEM;
	}
	a->area_size = size;
	return 0;
}

static void array_free(struct usm_map *map)
{
	struct usm_array *a = to_array(map);
	uint32_t i;

	if (a->progs) {
		for (i = 0; i < map->max_entries; i++)
			usm__prog_put(a->progs[i]);
		free(a->progs);
	}
	if (a->mmapped)
		munmap(a->values, a->area_size);
	else
		free(a->values);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

static int array_alloc(const struct usm_map_attr *attr, struct usm_map **out)
{
	bool percpu = attr->map_type == BPF_MAP_TYPE_PERCPU_ARRAY;
	bool progs = attr->map_type == BPF_MAP_TYPE_PROG_ARRAY;
	struct usm_array *a = calloc(1, sizeof(*a));
	uint64_t size;
	int err;

	if (!a)
		return -ENOMEM;
	if (pthread_mutex_init(&a->lock, NULL) != 0) {
		free(a);
		return -ENOMEM;
	}
	a->map.max_entries = attr->max_entries; /* for array_free */
	a->elem_size = round8(attr->value_size);
	a->ncpus = percpu ? usm__map_ncpus() : 1;
	size = progs ? 0
		     : (uint64_t)attr->max_entries * a->ncpus * a->elem_size;
	if (size > SIZE_MAX / 2) {
		err = -ENOMEM;
		goto fail;
	}
	err = alloc_area(a, (size_t)size, attr->map_flags & BPF_F_MMAPABLE);
	if (!err && progs) {
		a->progs = calloc(attr->max_entries, sizeof(*a->progs));
		if (!a->progs)
			err = -ENOMEM;
	}
	if (err)
		goto fail;
	*out = &a->map;
	return 0;
fail:
	array_free(&a->map);
	return err;
}

static uint8_t *elem(struct usm_array *a, uint32_t index, uint32_t cpu)
{
	return a->values +
	       ((size_t)index * a->ncpus + cpu) * (size_t)a->elem_size;
}

/* ---- ARRAY / PERCPU_ARRAY ---- */

static void *array_lookup(struct usm_map *map, const void *key)
{
	uint32_t index = usm__load_u32(key);

	if (index >= map->max_entries)
		return NULL;
	return elem(to_array(map), index, 0);
}

static void *percpu_array_lookup(struct usm_map *map, const void *key)
{
	uint32_t index = usm__load_u32(key);

	if (index >= map->max_entries)
		return NULL;
	return elem(to_array(map), index, usm__map_cpu());
}

static void *percpu_array_lookup_cpu(struct usm_map *map, const void *key,
				     uint32_t cpu)
{
	uint32_t index = usm__load_u32(key);

	if (cpu >= usm__map_ncpus() || index >= map->max_entries)
		return NULL;
	return elem(to_array(map), index, cpu);
}

static int array_lookup_user(struct usm_map *map, const void *key,
			     void *value, uint64_t flags)
{
	uint32_t index = usm__load_u32(key);

	if (index >= map->max_entries)
		return -ENOENT;
	memcpy(value, elem(to_array(map), index, 0), map->value_size);
	return 0;
}

static int percpu_array_lookup_user(struct usm_map *map, const void *key,
				    void *value, uint64_t flags)
{
	struct usm_array *a = to_array(map);
	uint32_t index = usm__load_u32(key);

	if (index >= map->max_entries)
		return -ENOENT;
	/* All CPUs' copies, each round_up(value_size, 8) bytes. */
	memcpy(value, elem(a, index, 0), (size_t)a->ncpus * a->elem_size);
	return 0;
}

/* array_map_update_elem (user space and BPF; PERCPU from BPF: this CPU). */
static int array_update(struct usm_map *map, const void *key,
			const void *value, uint64_t flags)
{
	struct usm_array *a = to_array(map);
	uint32_t index = usm__load_u32(key);
	uint32_t cpu = map->map_type == BPF_MAP_TYPE_PERCPU_ARRAY
			       ? usm__map_cpu() : 0;

	if ((flags & ~(uint64_t)BPF_F_LOCK) > BPF_EXIST)
		return -EINVAL;
	if (index >= map->max_entries)
		return -E2BIG; /* every element exists: nothing to insert */
	if (flags & BPF_NOEXIST)
		return -EEXIST;
	if (flags & BPF_F_LOCK) /* no bpf_spin_lock in our values */
		return -EINVAL;
	memcpy(elem(a, index, cpu), value, map->value_size);
	return 0;
}

/* bpf_percpu_array_update: the user buffer holds every CPU's copy. */
static int percpu_array_update_user(struct usm_map *map, const void *key,
				    const void *value, uint64_t flags)
{
	struct usm_array *a = to_array(map);
	uint32_t index = usm__load_u32(key);

	if (flags > BPF_EXIST)
		return -EINVAL;
	if (index >= map->max_entries)
		return -E2BIG;
	if (flags == BPF_NOEXIST)
		return -EEXIST;
	memcpy(elem(a, index, 0), value, (size_t)a->ncpus * a->elem_size);
	return 0;
}

static int array_delete(struct usm_map *map, const void *key)
{
	return -EINVAL; /* elements cannot be removed from an array */
}

/* Global data (.data/.bss/.rodata) lives in one-element arrays. */
static int array_direct_value_addr(const struct usm_map *map, uint64_t *addr,
				   uint32_t off)
{
	if (map->max_entries != 1)
		return -USM_ENOTSUPP;
	if (off >= map->value_size)
		return -EINVAL;
	*addr = (uint64_t)(uintptr_t)to_array(map)->values;
	return 0;
}

/* array_map_check_btf: only ARRAY with one element may be keyless (a
 * DATASEC value, which we cannot see: accepted). */
static int array_check_btf(const struct usm_map *map,
			   const struct usm_map_attr *attr)
{
	if (!attr->btf_key_type_id &&
	    (map->map_type != BPF_MAP_TYPE_ARRAY || map->max_entries != 1))
		return -EINVAL;
	return 0;
}

const struct usm_map_ops usm__array_ops = {
	.alloc_check = array_alloc_check,
	.alloc = array_alloc,
	.free = array_free,
	.lookup_elem = array_lookup,
	.lookup_elem_user = array_lookup_user,
	.update_elem_user = array_update,
	.update_elem = array_update,
	.delete_elem = array_delete,
	.get_next_key = usm__map_index_get_next_key,
	.direct_value_addr = array_direct_value_addr,
	.check_btf = array_check_btf,
};

const struct usm_map_ops usm__percpu_array_ops = {
	.alloc_check = array_alloc_check,
	.alloc = array_alloc,
	.free = array_free,
	.lookup_elem = percpu_array_lookup,
	.lookup_elem_user = percpu_array_lookup_user,
	.update_elem_user = percpu_array_update_user,
	.update_elem = array_update,
	.delete_elem = array_delete,
	.get_next_key = usm__map_index_get_next_key,
	.lookup_percpu_elem = percpu_array_lookup_cpu,
	.check_btf = array_check_btf,
};

/* ---- PROG_ARRAY ---- */

static int default_prog_resolver(int fd, struct usm_prog **out)
{
	*out = NULL;
	return fcntl(fd, F_GETFD) < 0 ? -EBADF : -EINVAL;
}

static usm_prog_fd_resolver_fn prog_resolver = default_prog_resolver;

void usm__map_set_prog_fd_resolver(usm_prog_fd_resolver_fn fn)
{
	prog_resolver = fn ? fn : default_prog_resolver;
}

/* Owner check; caller holds a->lock. */
static int owner_check_locked(struct usm_array *a, const struct usm_prog *prog)
{
	if (!a->owner_set) {
		a->owner_set = true;
		a->owner_type = prog->type;
		a->owner_eat = prog->expected_attach_type;
		return 0;
	}
	if (a->owner_type != prog->type ||
	    a->owner_eat != prog->expected_attach_type)
		return -EINVAL;
	return 0;
}

int usm__prog_array_check_owner(struct usm_map *map,
				const struct usm_prog *prog)
{
	struct usm_array *a = to_array(map);
	int err;

	if (map->map_type != BPF_MAP_TYPE_PROG_ARRAY || !prog)
		return -EINVAL;
	pthread_mutex_lock(&a->lock);
	err = owner_check_locked(a, prog);
	pthread_mutex_unlock(&a->lock);
	return err;
}

struct usm_prog *usm__prog_array_get(struct usm_map *map, uint32_t index)
{
	struct usm_array *a = to_array(map);

	if (map->map_type != BPF_MAP_TYPE_PROG_ARRAY ||
	    index >= map->max_entries)
		return NULL;
	return __atomic_load_n(&a->progs[index], __ATOMIC_ACQUIRE);
}

/* Install @prog (reference taken on success) or clear; returns the old
 * program through @old (caller puts it). */
static int slot_set(struct usm_array *a, uint32_t index, struct usm_prog *prog,
		    struct usm_prog **old)
{
	int err = 0;

	pthread_mutex_lock(&a->lock);
	if (prog) {
		/* EXT programs cannot be tail-call targets (arraymap.c). */
		err = prog->type == BPF_PROG_TYPE_EXT
			      ? -EINVAL
			      : owner_check_locked(a, prog);
		if (!err)
			usm__prog_get(prog);
	}
	if (!err)
		*old = __atomic_exchange_n(&a->progs[index], prog,
					   __ATOMIC_ACQ_REL);
	pthread_mutex_unlock(&a->lock);
	return err;
}

int usm__prog_array_set(struct usm_map *map, uint32_t index,
			struct usm_prog *prog)
{
	struct usm_prog *old = NULL;
	int err;

	if (map->map_type != BPF_MAP_TYPE_PROG_ARRAY)
		return -EINVAL;
	if (index >= map->max_entries)
		return -E2BIG;
	err = slot_set(to_array(map), index, prog, &old);
	usm__prog_put(old);
	return err;
}

/* bpf_fd_array_map_lookup_elem: user space reads the program's id. */
static int prog_array_lookup_user(struct usm_map *map, const void *key,
				  void *value, uint64_t flags)
{
	struct usm_prog *prog;
	uint32_t index = usm__load_u32(key);
	struct usm_array *a = to_array(map);
	int err = -ENOENT;

	if (index >= map->max_entries)
		return -ENOENT;
	pthread_mutex_lock(&a->lock);
	prog = a->progs[index];
	if (prog) {
		usm__store_u32(value, prog->id);
		err = 0;
	}
	pthread_mutex_unlock(&a->lock);
	return err;
}

/* bpf_fd_array_map_update_elem: BPF_ANY only, then index, then the fd. */
static int prog_array_update_user(struct usm_map *map, const void *key,
				  const void *value, uint64_t flags)
{
	uint32_t index = usm__load_u32(key);
	struct usm_prog *prog;
	int err;

	if (flags != BPF_ANY)
		return -EINVAL;
	if (index >= map->max_entries)
		return -E2BIG;
	err = prog_resolver((int)usm__load_u32(value), &prog);
	if (err)
		return err;
	err = usm__prog_array_set(map, index, prog);
	usm__prog_put(prog);
	return err;
}

static int prog_array_delete(struct usm_map *map, const void *key)
{
	uint32_t index = usm__load_u32(key);
	struct usm_prog *old = NULL;

	if (index >= map->max_entries)
		return -E2BIG;
	slot_set(to_array(map), index, NULL, &old);
	if (!old)
		return -ENOENT;
	usm__prog_put(old);
	return 0;
}

/* The last user reference empties the array (breaks prog <-> map cycles,
 * as the kernel's prog_array_map_clear). */
static void prog_array_release_uref(struct usm_map *map)
{
	uint32_t i;

	for (i = 0; i < map->max_entries; i++)
		usm__prog_array_set(map, i, NULL);
}

const struct usm_map_ops usm__prog_array_ops = {
	.alloc_check = prog_array_alloc_check,
	.alloc = array_alloc,
	.free = array_free,
	.lookup_elem_user = prog_array_lookup_user,
	.update_elem_user = prog_array_update_user,
	.delete_elem = prog_array_delete,
	.get_next_key = usm__map_index_get_next_key,
	.release_uref = prog_array_release_uref,
};
