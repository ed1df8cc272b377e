/* SPDX-License-Identifier: MIT */
/*
 * The public map API (include/usockmap/map.h): argument translation onto
 * the internal entry points of map.c. No behaviour of its own beyond the
 * opts-struct rules libbpf applies (sz known, unknown tail bytes zero).
 */
#include <usockmap/map.h>

#include <errno.h>
#include <string.h>

#include "map.h"

/* libbpf's OPTS_VALID: sz covers at least the size field; any bytes past
 * the struct we know must be zero. */
static int opts_valid(const struct usm_map_create_opts *opts)
{
	const uint8_t *p;
	size_t i;

	if (!opts)
		return 1;
	if (opts->sz < sizeof(opts->sz))
		return 0;
	p = (const uint8_t *)opts;
	for (i = sizeof(*opts); i < opts->sz; i++)
		if (p[i])
			return 0;
	return 1;
}

/* Field of @opts if @sz covers it, else 0. */
#define OPT(opts, field)                                                       \
	((opts) && (opts)->sz >= offsetof(struct usm_map_create_opts, field) + \
					 sizeof((opts)->field)                 \
		 ? (opts)->field                                               \
		 : 0)

int usm_map_create(uint32_t map_type, const char *name, uint32_t key_size,
		   uint32_t value_size, uint32_t max_entries,
		   const struct usm_map_create_opts *opts,
		   struct usm_map **out)
{
	struct usm_map_attr attr;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!opts_valid(opts))
		return -EINVAL;
	memset(&attr, 0, sizeof(attr));
	attr.map_type = map_type;
	attr.key_size = key_size;
	attr.value_size = value_size;
	attr.max_entries = max_entries;
	attr.map_flags = OPT(opts, map_flags);
	attr.numa_node = OPT(opts, numa_node);
	attr.inner_map = OPT(opts, inner_map);
	attr.btf_key_type_id = OPT(opts, btf_key_type_id);
	attr.btf_value_type_id = OPT(opts, btf_value_type_id);
	/* libbpf copies at most BPF_OBJ_NAME_LEN - 1 characters. */
	if (name)
		strncpy(attr.name, name, sizeof(attr.name) - 1);
	return usm__map_create(&attr, out);
}

int usm_map_update_elem(struct usm_map *map, const void *key,
			const void *value, uint64_t flags)
{
	return usm__map_update_elem(map, key, value, flags);
}

int usm_map_lookup_elem(struct usm_map *map, const void *key, void *value)
{
	return usm__map_lookup_elem(map, key, value, 0);
}

int usm_map_lookup_elem_flags(struct usm_map *map, const void *key,
			      void *value, uint64_t flags)
{
	return usm__map_lookup_elem(map, key, value, flags);
}

int usm_map_delete_elem(struct usm_map *map, const void *key)
{
	return usm__map_delete_elem(map, key);
}

int usm_map_get_next_key(struct usm_map *map, const void *key,
			 void *next_key)
{
	return usm__map_get_next_key(map, key, next_key);
}

int usm_map_freeze(struct usm_map *map)
{
	return usm__map_freeze(map);
}

int usm_map_get_info(const struct usm_map *map, struct bpf_map_info *info,
		     uint32_t *info_len)
{
	struct bpf_map_info full;
	uint32_t n;

	if (!map || !info || !info_len)
		return -EINVAL;
	memset(&full, 0, sizeof(full));
	full.type = map->map_type;
	full.id = map->id;
	full.key_size = map->key_size;
	full.value_size = map->value_size;
	full.max_entries = map->max_entries;
	full.map_flags = map->map_flags;
	memcpy(full.name, map->name, sizeof(full.name));
	n = *info_len < sizeof(full) ? *info_len : (uint32_t)sizeof(full);
	memcpy(info, &full, n);
	*info_len = n;
	return 0;
}

void usm_map_close(struct usm_map *map)
{
	usm__map_put_with_uref(map);
}

int usm_num_possible_cpus(void)
{
	return (int)usm__map_ncpus();
}
