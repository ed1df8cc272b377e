/* SPDX-License-Identifier: MIT */
/*
 * usockmap maps from user space, shaped like libbpf's low-level map API
 * (bpf_map_create, bpf_map_update_elem, ...): the same arguments, the same
 * value layouts and the kernel's errno, returned as a negative number.
 *
 * Types: BPF_MAP_TYPE_ARRAY, PERCPU_ARRAY, PROG_ARRAY, HASH, PERCPU_HASH,
 * SOCKMAP, SOCKHASH (constants and flags from <linux/bpf.h>). A type the
 * library does not implement is refused with -EINVAL, as a kernel built
 * without it would.
 *
 * Value layouts, as for bpf(2):
 *   - per-CPU maps: round_up(value_size, 8) bytes per possible CPU
 *     (usm_num_possible_cpus(), the same count libbpf reports);
 *   - SOCKMAP/SOCKHASH update: the socket's fd as a u32 (value_size 4) or
 *     u64 (value_size 8); lookup returns the socket cookie (u64, equal to
 *     getsockopt(SO_COOKIE)) and needs value_size 8 (else -ENOSPC);
 *   - PROG_ARRAY lookup returns the program id (u32).
 *
 * Handles are pointers for now and play the role of the kernel's map fd
 * (BPF_F_RDONLY / BPF_F_WRONLY at creation restrict what the handle may do,
 * -EPERM otherwise). Closing the handle drops the caller's reference; maps
 * still referenced by loaded programs stay alive until those go.
 *
 * Sockets in socket maps are referenced, not owned: the application keeps
 * its fd; closing it removes the socket from every map, as in the kernel
 * (noticed at the next map operation on that slot). Thread-safe.
 */
#ifndef USOCKMAP_MAP_H
#define USOCKMAP_MAP_H

#include <linux/bpf.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct usm_map;

/* The kernel-internal ENOTSUPP that bpf(2) returns for some map requests
 * (e.g. BTF ids for a socket map); <errno.h> has no name for it. */
#ifndef USM_ENOTSUPP
#define USM_ENOTSUPP 524
#endif

/* Options for usm_map_create (libbpf's bpf_map_create_opts, the subset
 * that applies). Set sz = sizeof(struct usm_map_create_opts); a larger sz
 * with non-zero bytes beyond what this library knows is -EINVAL. */
struct usm_map_create_opts {
	size_t sz;
	uint32_t map_flags;    /* BPF_F_* */
	uint32_t numa_node;    /* used with BPF_F_NUMA_NODE */
	struct usm_map *inner_map; /* template for *_OF_MAPS (borrowed) */
	uint32_t btf_key_type_id;  /* non-zero: BTF given (no BTF is read) */
	uint32_t btf_value_type_id;
};

/*
 * Create a map. @name may be NULL (""), at most 15 characters of
 * [A-Za-z0-9_.]. Returns 0 and *out, or the kernel's errno for the same
 * request: -EINVAL (unknown type, bad sizes or flags, bad name), -E2BIG
 * (sizes beyond the type's limits), -USM_ENOTSUPP (BTF ids for a type that
 * takes none), -ENOMEM.
 */
int usm_map_create(uint32_t map_type, const char *name, uint32_t key_size,
		   uint32_t value_size, uint32_t max_entries,
		   const struct usm_map_create_opts *opts,
		   struct usm_map **out);

/* Element operations, each with bpf(2)'s errno (see the header comment). */
int usm_map_update_elem(struct usm_map *map, const void *key,
			const void *value, uint64_t flags);
int usm_map_lookup_elem(struct usm_map *map, const void *key, void *value);
int usm_map_lookup_elem_flags(struct usm_map *map, const void *key,
			      void *value, uint64_t flags);
int usm_map_delete_elem(struct usm_map *map, const void *key);
/* @key NULL: the first key. -ENOENT after the last one. */
int usm_map_get_next_key(struct usm_map *map, const void *key,
			 void *next_key);
/* BPF_MAP_FREEZE: no more writes from user space (programs still may). */
int usm_map_freeze(struct usm_map *map);

/*
 * What BPF_OBJ_GET_INFO_BY_FD reports for a map: type, id, key_size,
 * value_size, max_entries, map_flags, name (other fields zero). Copies at
 * most @*info_len bytes (as the kernel) and sets *info_len to the amount.
 */
int usm_map_get_info(const struct usm_map *map, struct bpf_map_info *info,
		     uint32_t *info_len);

/* Release the handle; NULL is ignored. */
void usm_map_close(struct usm_map *map);

/* CPUs per-CPU maps keep values for (libbpf_num_possible_cpus()). */
int usm_num_possible_cpus(void);

#ifdef __cplusplus
}
#endif

#endif /* USOCKMAP_MAP_H */
