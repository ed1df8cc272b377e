/* SPDX-License-Identifier: MIT */
/*
 * libbpf-compatible front end: a C program written for libbpf's API
 * (<bpf/bpf.h>, <bpf/libbpf.h>) that creates socket maps, loads an object,
 * attaches programs and inserts sockets runs on usockmap instead of the
 * kernel when it includes this header and links with
 * `pkg-config --cflags --libs usockmap`. No root and no kernel BPF needed.
 *
 * How: libbpf's own headers supply the types (struct bpf_map_create_opts,
 * LIBBPF_OPTS, struct bpf_object_open_opts, ...), so layouts are exactly
 * libbpf's; the functions below are renamed by macros to usm_compat_*
 * implementations, so nothing clashes with libbpf's own symbols (libusockmap
 * itself uses libbpf to parse objects). The header may be included before or
 * after <bpf/libbpf.h> and <bpf/bpf.h>. A call to a libbpf function this
 * header does not list still goes to libbpf and does not know usockmap's
 * objects: with the pkg-config flags alone such a program fails to link
 * (libbpf is not on its link line), which is the intended warning.
 *
 * Conventions, as libbpf 1.x: int-returning calls return >= 0 on success
 * and a negative errno on failure, and also set errno; pointer-returning
 * calls return NULL and set errno. Errno values are the kernel's for the
 * same request (usm_bpf(), <usockmap/bpf.h>). File descriptors are real
 * descriptors owned by usockmap's handle table: close() releases them.
 *
 * Objects: maps and programs are listed from open on, as in libbpf, with
 * libbpf's names (bpf_object__find_map_by_name() also takes ".rodata"
 * style section names); descriptors exist after bpf_object__load():
 * bpf_map__fd() is -1 and bpf_program__fd() -ENOENT before, as in libbpf.
 * bpf_object__open_file() honours object_name and kernel_log_buf/size/level
 * (loader and verifier messages); the other open options have no effect.
 */
#ifndef USOCKMAP_LIBBPF_H
#define USOCKMAP_LIBBPF_H

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- low-level calls (<bpf/bpf.h>), one bpf(2) command each ---- */

int usm_compat_bpf_map_create(enum bpf_map_type map_type,
			      const char *map_name, __u32 key_size,
			      __u32 value_size, __u32 max_entries,
			      const struct bpf_map_create_opts *opts);
int usm_compat_bpf_map_update_elem(int fd, const void *key, const void *value,
				   __u64 flags);
int usm_compat_bpf_map_lookup_elem(int fd, const void *key, void *value);
int usm_compat_bpf_map_lookup_elem_flags(int fd, const void *key, void *value,
					 __u64 flags);
int usm_compat_bpf_map_delete_elem(int fd, const void *key);
int usm_compat_bpf_map_get_next_key(int fd, const void *key, void *next_key);
int usm_compat_bpf_map_freeze(int fd);
int usm_compat_bpf_map_get_fd_by_id(__u32 id);
int usm_compat_bpf_prog_get_fd_by_id(__u32 id);
int usm_compat_bpf_obj_get_info_by_fd(int bpf_fd, void *info, __u32 *info_len);

int usm_compat_bpf_prog_attach(int prog_fd, int attachable_fd,
			       enum bpf_attach_type type, unsigned int flags);
int usm_compat_bpf_prog_attach_opts(int prog_fd, int attachable_fd,
				    enum bpf_attach_type type,
				    const struct bpf_prog_attach_opts *opts);
int usm_compat_bpf_prog_detach(int attachable_fd, enum bpf_attach_type type);
int usm_compat_bpf_prog_detach2(int prog_fd, int attachable_fd,
				enum bpf_attach_type type);
int usm_compat_bpf_prog_query(int target_fd, enum bpf_attach_type type,
			      __u32 query_flags, __u32 *attach_flags,
			      __u32 *prog_ids, __u32 *prog_cnt);
int usm_compat_bpf_prog_query_opts(int target_fd, enum bpf_attach_type type,
				   struct bpf_prog_query_opts *opts);

int usm_compat_bpf_link_create(int prog_fd, int target_fd,
			       enum bpf_attach_type attach_type,
			       const struct bpf_link_create_opts *opts);
int usm_compat_bpf_link_update(int link_fd, int new_prog_fd,
			       const struct bpf_link_update_opts *opts);
int usm_compat_bpf_link_detach(int link_fd);

/* ---- objects (<bpf/libbpf.h>) ---- */

struct bpf_object *usm_compat_bpf_object__open(const char *path);
struct bpf_object *
usm_compat_bpf_object__open_file(const char *path,
				 const struct bpf_object_open_opts *opts);
int usm_compat_bpf_object__load(struct bpf_object *obj);
void usm_compat_bpf_object__close(struct bpf_object *obj);
const char *usm_compat_bpf_object__name(const struct bpf_object *obj);

struct bpf_program *
usm_compat_bpf_object__find_program_by_name(const struct bpf_object *obj,
					    const char *name);
struct bpf_program *
usm_compat_bpf_object__next_program(const struct bpf_object *obj,
				    struct bpf_program *prog);
int usm_compat_bpf_program__fd(const struct bpf_program *prog);
const char *usm_compat_bpf_program__name(const struct bpf_program *prog);
const char *usm_compat_bpf_program__section_name(const struct bpf_program *prog);
enum bpf_prog_type usm_compat_bpf_program__type(const struct bpf_program *prog);
enum bpf_attach_type
usm_compat_bpf_program__expected_attach_type(const struct bpf_program *prog);
bool usm_compat_bpf_program__autoload(const struct bpf_program *prog);
int usm_compat_bpf_program__set_autoload(struct bpf_program *prog,
					 bool autoload);

struct bpf_map *
usm_compat_bpf_object__find_map_by_name(const struct bpf_object *obj,
					const char *name);
struct bpf_map *usm_compat_bpf_object__next_map(const struct bpf_object *obj,
						const struct bpf_map *map);
int usm_compat_bpf_map__fd(const struct bpf_map *map);
const char *usm_compat_bpf_map__name(const struct bpf_map *map);
enum bpf_map_type usm_compat_bpf_map__type(const struct bpf_map *map);
__u32 usm_compat_bpf_map__key_size(const struct bpf_map *map);
__u32 usm_compat_bpf_map__value_size(const struct bpf_map *map);
__u32 usm_compat_bpf_map__max_entries(const struct bpf_map *map);
__u32 usm_compat_bpf_map__map_flags(const struct bpf_map *map);
int usm_compat_bpf_map__set_inner_map_fd(struct bpf_map *map, int fd);

long usm_compat_libbpf_get_error(const void *ptr);

#ifdef __cplusplus
}
#endif

/*
 * The renames. libbpf's bpf_object__for_each_program/for_each_map macros
 * expand to bpf_object__next_program/next_map and so use these too. Define
 * USM_COMPAT_NO_RENAME to get the usm_compat_* declarations only.
 */
#ifndef USM_COMPAT_NO_RENAME
#define bpf_map_create usm_compat_bpf_map_create
#define bpf_map_update_elem usm_compat_bpf_map_update_elem
#define bpf_map_lookup_elem usm_compat_bpf_map_lookup_elem
#define bpf_map_lookup_elem_flags usm_compat_bpf_map_lookup_elem_flags
#define bpf_map_delete_elem usm_compat_bpf_map_delete_elem
#define bpf_map_get_next_key usm_compat_bpf_map_get_next_key
#define bpf_map_freeze usm_compat_bpf_map_freeze
#define bpf_map_get_fd_by_id usm_compat_bpf_map_get_fd_by_id
#define bpf_prog_get_fd_by_id usm_compat_bpf_prog_get_fd_by_id
#define bpf_obj_get_info_by_fd usm_compat_bpf_obj_get_info_by_fd
#define bpf_prog_attach usm_compat_bpf_prog_attach
#define bpf_prog_attach_opts usm_compat_bpf_prog_attach_opts
#define bpf_prog_detach usm_compat_bpf_prog_detach
#define bpf_prog_detach2 usm_compat_bpf_prog_detach2
#define bpf_prog_query usm_compat_bpf_prog_query
#define bpf_prog_query_opts usm_compat_bpf_prog_query_opts
#define bpf_link_create usm_compat_bpf_link_create
#define bpf_link_update usm_compat_bpf_link_update
#define bpf_link_detach usm_compat_bpf_link_detach
#define bpf_object__open usm_compat_bpf_object__open
#define bpf_object__open_file usm_compat_bpf_object__open_file
#define bpf_object__load usm_compat_bpf_object__load
#define bpf_object__close usm_compat_bpf_object__close
#define bpf_object__name usm_compat_bpf_object__name
#define bpf_object__find_program_by_name \
	usm_compat_bpf_object__find_program_by_name
#define bpf_object__next_program usm_compat_bpf_object__next_program
#define bpf_program__fd usm_compat_bpf_program__fd
#define bpf_program__name usm_compat_bpf_program__name
#define bpf_program__section_name usm_compat_bpf_program__section_name
#define bpf_program__type usm_compat_bpf_program__type
#define bpf_program__expected_attach_type \
	usm_compat_bpf_program__expected_attach_type
#define bpf_program__autoload usm_compat_bpf_program__autoload
#define bpf_program__set_autoload usm_compat_bpf_program__set_autoload
#define bpf_object__find_map_by_name usm_compat_bpf_object__find_map_by_name
#define bpf_object__next_map usm_compat_bpf_object__next_map
#define bpf_map__fd usm_compat_bpf_map__fd
#define bpf_map__name usm_compat_bpf_map__name
#define bpf_map__type usm_compat_bpf_map__type
#define bpf_map__key_size usm_compat_bpf_map__key_size
#define bpf_map__value_size usm_compat_bpf_map__value_size
#define bpf_map__max_entries usm_compat_bpf_map__max_entries
#define bpf_map__map_flags usm_compat_bpf_map__map_flags
#define bpf_map__set_inner_map_fd usm_compat_bpf_map__set_inner_map_fd
#define libbpf_get_error usm_compat_libbpf_get_error
#endif

#endif /* USOCKMAP_LIBBPF_H */
