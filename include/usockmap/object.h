/* SPDX-License-Identifier: MIT */
/*
 * BPF objects: open a clang-compiled BPF ELF object (the same .o a user
 * would hand to libbpf), list its programs, load it (create its maps, link
 * and verify its programs) and find what it defines. Shaped like libbpf's
 * bpf_object__* API: negative errno returns, objects through out-params,
 * options structs that start with their size.
 *
 * Life of an object:
 *   usm_object_open*()   parse the ELF; programs can be listed and their
 *                        autoload changed; maps are not created yet
 *                        (usm_object_find_map() returns NULL).
 *   usm_object_load()    create every map of the object (BTF `.maps`,
 *                        legacy SEC("maps"), .data/.rodata/.bss/.kconfig)
 *                        with initial contents, build and verify every
 *                        autoloaded program, fill initial PROG_ARRAY and
 *                        map-in-map slots. Once only, like libbpf: a second
 *                        call (also after a failed one) returns -EINVAL.
 *   usm_object_close()   release everything; programs and maps obtained
 *                        from the object must not be used afterwards unless
 *                        the caller took its own references (internal API).
 *
 * Programs whose section names a program type usockmap does not run (a
 * kprobe, an XDP program) are listed but not loaded (autoload off, a
 * message in usm_program_log()); asking for them with
 * usm_program_set_autoload(p, true) makes usm_object_load() fail with
 * -EOPNOTSUPP. A program in a section neither libbpf nor usockmap knows
 * makes the load fail with -EINVAL unless its autoload is turned off.
 *
 * Messages (what was wrong, libbpf's own messages, verifier output of a
 * rejected program) go to the log buffer given in the open options, which
 * must stay valid until usm_object_load() returns. Not thread-safe for one
 * object; distinct objects may be used from distinct threads.
 */
#ifndef USOCKMAP_OBJECT_H
#define USOCKMAP_OBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct usm_object;
struct usm_program;
struct usm_map;

struct usm_object_open_opts {
	size_t sz;           /* sizeof(struct usm_object_open_opts) */
	char *log_buf;       /* messages for open and load; may be NULL */
	size_t log_size;
	uint32_t log_level;  /* 0 errors, 1 + summary/libbpf info, 2 + debug
				and per-instruction verifier trace */
	const char *object_name; /* default: file name up to the first '.' */
};

/*
 * Open the BPF object at @path. Returns 0 and *out, or -ENOENT/-EACCES
 * (cannot read), -EINVAL (not a well-formed BPF ELF object, no license, no
 * programs; the log says what), -EOPNOTSUPP (a big-endian object, or a
 * legacy map definition with options usockmap cannot translate), -E2BIG
 * (file too large), -ENOMEM. On error *out is NULL and nothing is left
 * allocated.
 */
int usm_object_open(const char *path, const struct usm_object_open_opts *opts,
		    struct usm_object **out);

/* The same from @size bytes at @buf (copied; the caller keeps @buf).
 * Without opts->object_name the name is libbpf's default for memory
 * objects (derived from the buffer's address); internal map names
 * ("<name>.data") follow from it, so pass a name when they matter. */
int usm_object_open_mem(const void *buf, size_t size,
			const struct usm_object_open_opts *opts,
			struct usm_object **out);

/*
 * Create maps, build and verify programs, fill initial slots (see above).
 * Returns 0 or the first error: the errno of the map creation, link step
 * or verifier rejection that failed, -EOPNOTSUPP for what usockmap cannot
 * run (CO-RE relocations that need kernel BTF, kfunc calls, kernel symbol
 * references, a requested program of a type it does not run), -EINVAL for a
 * second load. The rejected program's verifier log
 * stays available through usm_program_log()). On error no map or program
 * of the object stays alive; the object can only be inspected and closed.
 */
int usm_object_load(struct usm_object *obj);

/*
 * Before usm_object_load(): use @inner (borrowed; a reference is taken) as
 * the inner-map template of the ARRAY_OF_MAPS / HASH_OF_MAPS named @outer,
 * like libbpf's bpf_map__set_inner_map_fd(). Needed for an outer map
 * declared without __array(values, ...); overrides such a declaration.
 * Returns 0, -ENOENT (no map @outer), -EINVAL (@outer is not a map-in-map,
 * or @inner is NULL), -EBUSY (the object was already loaded).
 */
int usm_object_set_inner_map(struct usm_object *obj, const char *outer,
			     struct usm_map *inner);

/* Release the object and everything it owns. NULL is a no-op. */
void usm_object_close(struct usm_object *obj);

const char *usm_object_name(const struct usm_object *obj);

/* Program by function name, or NULL. */
struct usm_program *usm_object_find_program(const struct usm_object *obj,
					    const char *name);
/* Programs in object order: prev NULL gives the first; NULL at the end. */
struct usm_program *usm_object_next_program(const struct usm_object *obj,
					    const struct usm_program *prev);

/*
 * Map by name, after a successful load (NULL before): the name libbpf
 * gives it (the BTF/legacy variable name; "<obj>.data" style names for
 * global data) or, for global data, the section name (".rodata").
 */
struct usm_map *usm_object_find_map(const struct usm_object *obj,
				    const char *name);
/* Maps in libbpf order (the order BPF_PSEUDO_MAP_IDX indexes), after load. */
struct usm_map *usm_object_next_map(const struct usm_object *obj,
				    const struct usm_map *prev);

const char *usm_program_name(const struct usm_program *p);
const char *usm_program_section(const struct usm_program *p);
uint32_t usm_program_type(const struct usm_program *p);  /* BPF_PROG_TYPE_* */
uint32_t usm_program_expected_attach_type(const struct usm_program *p);
/* Whether usm_object_load() builds this program (default: its type is one
 * usockmap runs and the section has no leading '?'). */
bool usm_program_autoload(const struct usm_program *p);
/* Before load only: 0, or -EINVAL (NULL, or the object is loaded). */
int usm_program_set_autoload(struct usm_program *p, bool autoload);
/*
 * Before load only, as libbpf's bpf_program__set_type /
 * set_expected_attach_type (for section names neither libbpf nor usockmap
 * know, e.g. the selftests' "sk_skb1"): a type usockmap runs makes the
 * program supported and autoloaded, any other leaves it unsupported and
 * not loaded. 0, or -EINVAL (NULL, or the object is loaded).
 */
int usm_program_set_type(struct usm_program *p, uint32_t type);
int usm_program_set_expected_attach_type(struct usm_program *p,
					 uint32_t attach_type);
/* Log of the last verification of @p (or why it is not loaded); "" if
 * none. Valid until the next verification of @p or close. */
const char *usm_program_log(const struct usm_program *p);

/*
 * Verify @p again, on its own, after the object was loaded (the prog load
 * CLI verb): the verifier's output at @log_level goes to @log_buf (may be
 * NULL) and is also kept for usm_program_log(). The loaded program is not
 * changed. Returns the verifier's result (0, -EINVAL, -EACCES, -E2BIG,
 * -ENOMEM), -EINVAL if the object is not loaded or @p was not loaded, or
 * -EOPNOTSUPP for a program type usockmap does not run.
 */
int usm_program_verify(struct usm_program *p, char *log_buf, size_t log_size,
		       uint32_t log_level);

/* Definition of a created map. */
const char *usm_map_name(const struct usm_map *m); /* as created: <= 15 chars */
uint32_t usm_map_type(const struct usm_map *m);    /* BPF_MAP_TYPE_* */
uint32_t usm_map_key_size(const struct usm_map *m);
uint32_t usm_map_value_size(const struct usm_map *m);
uint32_t usm_map_max_entries(const struct usm_map *m);
uint32_t usm_map_flags(const struct usm_map *m);

#ifdef __cplusplus
}
#endif

#endif /* USOCKMAP_OBJECT_H */
