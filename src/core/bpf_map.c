/* SPDX-License-Identifier: MIT */
/*
 * Map commands of bpf(2): MAP_CREATE, MAP_LOOKUP_ELEM, MAP_UPDATE_ELEM,
 * MAP_DELETE_ELEM, MAP_GET_NEXT_KEY, MAP_FREEZE, MAP_GET_FD_BY_ID and
 * MAP_GET_NEXT_ID, with the checks kernel/bpf/syscall.c makes before a map
 * type sees the request, in its order. The per-type rules live in
 * src/maps (usm__map_*).
 *
 * Order details kept: a lookup with a NULL value buffer (or get_next_key
 * with a NULL next_key) reports the map's own error first and -EFAULT only
 * when there was something to copy out; BTF ids are resolved through
 * btf_fd after the type accepted the sizes and before its BTF check.
 */
#include "core.h"

#include <bpf/btf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../maps/map.h"

#define OBJ_FLAG_MASK (BPF_F_RDONLY | BPF_F_WRONLY)

#ifndef BPF_F_TOKEN_FD
#define BPF_F_TOKEN_FD (1U << 16)
#endif

/* A BPF token fd: usockmap has none, so an open fd is not one. */
static int token_fd_error(int fd)
{
	struct stat st;

	return fd < 0 || fstat(fd, &st) < 0 ? -EBADF : -EINVAL;
}

/* The map behind a command's map fd, with the handle's permissions
 * (the kernel's map_get_sys_perms: BPF_F_RDONLY / WRONLY on the fd). */
static int map_from_fd(int fd, struct usm_map **map, bool read, bool write)
{
	uint32_t ff = 0;
	int err = usm__fd_get_map(fd, map, &ff);

	if (err)
		return err;
	if ((read && (ff & BPF_F_WRONLY)) || (write && (ff & BPF_F_RDONLY))) {
		usm__map_put(*map);
		*map = NULL;
		return -EPERM;
	}
	return 0;
}

static int create_checks(const struct usm_attr *a)
{
	const union bpf_attr *u = &a->a;

	if (usm__attr_tail_set(a, USM_ATTR_END_MAP_CREATE))
		return -EINVAL;
	if (u->btf_vmlinux_value_type_id) {
		if (u->map_type != BPF_MAP_TYPE_STRUCT_OPS ||
		    u->btf_key_type_id || u->btf_value_type_id)
			return -EINVAL;
	} else if (u->btf_key_type_id && !u->btf_value_type_id) {
		return -EINVAL;
	}
	if (u->map_type != BPF_MAP_TYPE_BLOOM_FILTER &&
	    u->map_type != 33 /* BPF_MAP_TYPE_ARENA */ && u->map_extra)
		return -EINVAL;
	if (u->map_ifindex) /* no offload devices here */
		return -EINVAL;
	return 0;
}

/* Whether type @id of @blob has @size bytes (btf_type_id_size). */
static bool btf_id_size_is(const struct usm_btf *blob, uint32_t id,
			   uint32_t size)
{
	struct btf *btf = btf__new(blob->data, blob->size);
	long long n;

	if (!btf)
		return false;
	n = btf__resolve_size(btf, id);
	btf__free(btf);
	return n >= 0 && (unsigned long long)n == size;
}

/* map_check_btf: key and value types must have the map's sizes, then the
 * type's own hook decides (socket maps: -ENOTSUPP, MAP-CRT-08). */
static int check_btf_types(struct usm_map *map, const union bpf_attr *u,
			   const struct usm_btf *blob)
{
	struct usm_map_attr ma = { .btf_key_type_id = u->btf_key_type_id,
				   .btf_value_type_id = u->btf_value_type_id };

	if (u->btf_key_type_id) {
		if (!btf_id_size_is(blob, u->btf_key_type_id, map->key_size))
			return -EINVAL;
	} else if (!map->ops->check_btf) {
		return -EINVAL;
	}
	if (!btf_id_size_is(blob, u->btf_value_type_id, map->value_size))
		return -EINVAL;
	return map->ops->check_btf ? map->ops->check_btf(map, &ma) : 0;
}

/* BTF ids given: resolve btf_fd, then check the types. */
static int btf_checks(struct usm_map *map, const union bpf_attr *u)
{
	void *btf;
	int err;

	err = usm__fd_get((int)u->btf_fd, USM_FD_BTF, &btf, NULL);
	if (err)
		return err;
	if (u->btf_value_type_id)
		err = check_btf_types(map, u, btf);
	usm__fd_obj_put(USM_FD_BTF, btf);
	return err;
}

static void attr_to_map_attr(const union bpf_attr *u, uint32_t map_flags,
			     struct usm_map_attr *ma)
{
	memset(ma, 0, sizeof(*ma));
	ma->map_type = u->map_type;
	ma->key_size = u->key_size;
	ma->value_size = u->value_size;
	ma->max_entries = u->max_entries;
	ma->map_flags = map_flags;
	ma->numa_node = u->numa_node;
	memcpy(ma->name, u->map_name, sizeof(ma->name));
}

int usm__bpf_map_create(struct usm_attr *a)
{
	const union bpf_attr *u = &a->a;
	struct usm_map *map, *inner = NULL;
	struct usm_map_attr ma;
	uint32_t flags = u->map_flags;
	int err, fd;

	err = create_checks(a);
	if (err)
		return err;
	if (flags & BPF_F_TOKEN_FD) {
		return token_fd_error(
			(int)usm__attr_u32(a, USM_ATTR_MAP_TOKEN_FD_OFF));
	}
	attr_to_map_attr(u, flags, &ma);
	/* The name must be NUL-terminated within the field (map.c checks
	 * the characters). */
	if (memchr(u->map_name, 0, sizeof(u->map_name)) == NULL)
		return -EINVAL;
	/* The template fd is judged by the type's alloc, after its size
	 * checks (bpf_map_meta_alloc): hand over the map or the error. */
	if (u->map_type == BPF_MAP_TYPE_ARRAY_OF_MAPS ||
	    u->map_type == BPF_MAP_TYPE_HASH_OF_MAPS) {
		ma.inner_map_err = usm__fd_get_map((int)u->inner_map_fd, &inner,
						   NULL);
		ma.inner_map = inner;
	}
	err = usm__map_create(&ma, &map);
	usm__map_put(inner); /* the map took its own reference */
	if (err)
		return err;
	if (u->btf_key_type_id || u->btf_value_type_id) {
		err = btf_checks(map, u);
		if (err) {
			usm__map_put_with_uref(map);
			return err;
		}
	}
	/* The creator's reference is a user reference: the fd's. */
	fd = usm__fd_install(USM_FD_MAP, map, flags & OBJ_FLAG_MASK);
	if (fd < 0)
		usm__map_put_with_uref(map);
	return fd;
}

int usm__bpf_map_lookup(struct usm_attr *a)
{
	const union bpf_attr *u = &a->a;
	struct usm_map *map;
	void *value = usm__u64_ptr(u->value), *tmp = NULL;
	int err;

	if (usm__attr_tail_set(a, USM_ATTR_END_MAP_ELEM))
		return -EINVAL;
	if (u->flags & ~(uint64_t)BPF_F_LOCK)
		return -EINVAL;
	err = map_from_fd((int)u->map_fd, &map, true, false);
	if (err)
		return err;
	if (!value) {
		tmp = calloc(1, usm__map_user_value_size(map) + 8);
		if (!tmp) {
			usm__map_put(map);
			return -ENOMEM;
		}
	}
	err = usm__map_lookup_elem(map, usm__u64_ptr(u->key),
				   value ? value : tmp, u->flags);
	if (!err && !value)
		err = -EFAULT; /* copy_to_user of the result */
	free(tmp);
	usm__map_put(map);
	return err;
}

int usm__bpf_map_update(struct usm_attr *a)
{
	const union bpf_attr *u = &a->a;
	struct usm_map *map;
	int err;

	if (usm__attr_tail_set(a, USM_ATTR_END_MAP_ELEM))
		return -EINVAL;
	err = map_from_fd((int)u->map_fd, &map, false, true);
	if (err)
		return err;
	err = usm__map_update_elem(map, usm__u64_ptr(u->key),
				   usm__u64_ptr(u->value), u->flags);
	usm__map_put(map);
	return err;
}

int usm__bpf_map_delete(struct usm_attr *a)
{
	const union bpf_attr *u = &a->a;
	struct usm_map *map;
	int err;

	if (usm__attr_tail_set(a, USM_ATTR_END_MAP_DELETE))
		return -EINVAL;
	err = map_from_fd((int)u->map_fd, &map, false, true);
	if (err)
		return err;
	err = usm__map_delete_elem(map, usm__u64_ptr(u->key));
	usm__map_put(map);
	return err;
}

int usm__bpf_map_get_next_key(struct usm_attr *a)
{
	const union bpf_attr *u = &a->a;
	void *next = usm__u64_ptr(u->next_key), *tmp = NULL;
	struct usm_map *map;
	int err;

	if (usm__attr_tail_set(a, USM_ATTR_END_MAP_NEXT_KEY))
		return -EINVAL;
	err = map_from_fd((int)u->map_fd, &map, true, false);
	if (err)
		return err;
	if (!next && map->key_size) {
		tmp = calloc(1, map->key_size);
		if (!tmp) {
			usm__map_put(map);
			return -ENOMEM;
		}
	}
	err = usm__map_get_next_key(map, usm__u64_ptr(u->key),
				    next ? next : tmp);
	if (!err && tmp)
		err = -EFAULT;
	free(tmp);
	usm__map_put(map);
	return err;
}

int usm__bpf_map_freeze(struct usm_attr *a)
{
	struct usm_map *map;
	int err;

	if (usm__attr_tail_set(a, USM_ATTR_END_MAP_FREEZE))
		return -EINVAL;
	/* Write permission of the fd, then of the map (frozen: -EPERM). */
	err = map_from_fd((int)a->a.map_fd, &map, false, true);
	if (err)
		return err;
	err = usm__map_freeze(map);
	usm__map_put(map);
	return err;
}

int usm__bpf_map_get_fd_by_id(struct usm_attr *a)
{
	uint32_t flags = a->a.open_flags;
	struct usm_map *map;
	int err, fd;

	if (usm__attr_tail_set(a, USM_ATTR_END_MAP_GET_FD) ||
	    flags & ~OBJ_FLAG_MASK)
		return -EINVAL;
	if ((flags & BPF_F_RDONLY) && (flags & BPF_F_WRONLY))
		return -EINVAL;
	err = usm__map_get_by_id(a->a.map_id, &map);
	if (err)
		return err;
	usm__map_get_with_uref(map);
	usm__map_put(map);
	fd = usm__fd_install(USM_FD_MAP, map, flags);
	if (fd < 0)
		usm__map_put_with_uref(map);
	return fd;
}

int usm__bpf_map_get_next_id(struct usm_attr *a)
{
	uint32_t next = 0;
	int err;

	if (usm__attr_tail_set(a, USM_ATTR_END_GET_NEXT_ID) ||
	    a->a.start_id >= INT32_MAX)
		return -EINVAL;
	err = usm__map_get_next_id(a->a.start_id, &next);
	if (!err)
		USM_ATTR_OUT(a, next_id, next);
	return err;
}
