/* SPDX-License-Identifier: MIT */
/*
 * The maps module's internal interface: one struct usm_map per map, one ops
 * table per map type (as the kernel's bpf_map_ops), generic checks in map.c.
 *
 * Two audiences use a map:
 *   - user space (usm_map_* API, later the bpf(2) core): copy-in/copy-out
 *     calls with the kernel's errno for every bad input;
 *   - BPF programs (helpers): lookup returns a pointer into the map's own
 *     storage (value) that stays valid for the rest of the program run, or
 *     NULL; update/delete return 0 or -errno.
 *
 * Map memory layout rules the verifier relies on: a value pointer returned
 * by lookup_elem points at value_size readable/writable bytes (for per-CPU
 * maps: the current CPU's copy); array maps keep values contiguous so
 * direct value access (ld_imm64 BPF_PSEUDO_MAP_IDX_VALUE) is a fixed address.
 *
 * Refcounting: a map is created with refcnt 1 (the creator's reference);
 * programs that reference it and PROG_ARRAY/map-in-map slots hold more. The
 * last usm__map_put() frees it (ops->free).
 */
#ifndef USM_MAPS_MAP_H
#define USM_MAPS_MAP_H

#include <linux/bpf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct usm_map;
struct usm_run;

/* Creation parameters: the fields of union bpf_attr's MAP_CREATE part that
 * we honour. */
struct usm_map_attr {
	uint32_t map_type;
	uint32_t key_size;
	uint32_t value_size;
	uint32_t max_entries;
	uint32_t map_flags;
	uint32_t numa_node;
	char name[BPF_OBJ_NAME_LEN];
	struct usm_map *inner_map; /* template for *_OF_MAPS (borrowed) */
	uint32_t btf_key_type_id;  /* non-zero: caller passed BTF ids */
	uint32_t btf_value_type_id;
};

struct usm_map_ops {
	/* Validate attributes; return 0 or -errno (kernel order). */
	int (*alloc_check)(const struct usm_map_attr *attr);
	/* Allocate a map of this type; *out has refcnt 1. */
	int (*alloc)(const struct usm_map_attr *attr, struct usm_map **out);
	void (*free)(struct usm_map *map);

	/* BPF-side lookup: pointer to the value or NULL. For socket maps the
	 * returned pointer is a struct usm_sock *. May be NULL for types with
	 * no program lookup. */
	void *(*lookup_elem)(struct usm_map *map, const void *key);
	/* User-side lookup copying into @value (value_size bytes, or
	 * value_size * ncpus rounded to 8 for per-CPU maps). */
	int (*lookup_elem_user)(struct usm_map *map, const void *key,
				void *value, uint64_t flags);
	/* User-side update; value layout as for lookup_elem_user. */
	int (*update_elem_user)(struct usm_map *map, const void *key,
				const void *value, uint64_t flags);
	/* BPF-side update/delete (helpers); value is value_size bytes. */
	int (*update_elem)(struct usm_map *map, const void *key,
			   const void *value, uint64_t flags);
	int (*delete_elem)(struct usm_map *map, const void *key);
	/* key NULL: first key. Returns 0, -ENOENT at the end. */
	int (*get_next_key)(struct usm_map *map, const void *key,
			    void *next_key);
	/* Direct value access (ld_imm64 MAP_VALUE): address of the value at
	 * @off, or -EINVAL/-EACCES if the type has none. */
	int (*direct_value_addr)(const struct usm_map *map, uint64_t *addr,
				 uint32_t off);
};

struct usm_map {
	const struct usm_map_ops *ops;
	int refcnt;
	uint32_t id;
	uint32_t map_type;
	uint32_t key_size;
	uint32_t value_size;
	uint32_t max_entries;
	uint32_t map_flags;
	char name[BPF_OBJ_NAME_LEN];
	bool frozen;                /* BPF_F_RDONLY_PROG / .rodata */
	struct usm_map *inner_meta; /* *_OF_MAPS: template (owned ref) */
};

/* Number of CPUs per-CPU maps keep values for (libbpf's possible CPUs). */
uint32_t usm__map_ncpus(void);

/* Create a map: generic checks (unknown type -> EINVAL, ...), then the
 * type's alloc_check and alloc. On error nothing is allocated. */
int usm__map_create(const struct usm_map_attr *attr, struct usm_map **out);

void usm__map_get(struct usm_map *map);
void usm__map_put(struct usm_map *map); /* NULL ok */

/* User-space entry points: flag checks common to all types, then ops. */
int usm__map_lookup_elem(struct usm_map *map, const void *key, void *value,
			 uint64_t flags);
int usm__map_update_elem(struct usm_map *map, const void *key,
			 const void *value, uint64_t flags);
int usm__map_delete_elem(struct usm_map *map, const void *key);
int usm__map_get_next_key(struct usm_map *map, const void *key,
			  void *next_key);

/* Size of the user-space value buffer for @map (per-CPU aware). */
size_t usm__map_user_value_size(const struct usm_map *map);

/* Name of a map type for messages ("sockmap", "hash", ...). */
const char *usm__map_type_name(uint32_t map_type);

/* The ops table of each type (defined in the type's file). */
extern const struct usm_map_ops usm__array_ops;
extern const struct usm_map_ops usm__percpu_array_ops;
extern const struct usm_map_ops usm__prog_array_ops;
extern const struct usm_map_ops usm__hash_ops;
extern const struct usm_map_ops usm__percpu_hash_ops;
extern const struct usm_map_ops usm__sockmap_ops;
extern const struct usm_map_ops usm__sockhash_ops;

/* PROG_ARRAY: the program in slot @index or NULL (for bpf_tail_call). */
struct usm_prog *usm__prog_array_get(struct usm_map *map, uint32_t index);

/* PROG_ARRAY: install @prog (taking a reference; NULL clears) at @index.
 * The program's type must match the array's first program (-EINVAL);
 * index >= max_entries -> -E2BIG. Used by the object loader for initial
 * slots and by the bpf(2) core after resolving a program fd. */
int usm__prog_array_set(struct usm_map *map, uint32_t index,
			struct usm_prog *prog);

#endif /* USM_MAPS_MAP_H */
