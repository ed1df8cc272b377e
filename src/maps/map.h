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
#include <string.h>

struct usm_map;
struct usm_prog;
struct usm_run;
struct usm_sock;

/* Keys and values come from BPF stacks and user buffers at any alignment
 * (a program may pass fp-3 as a key): read and write them bytewise. */
static inline uint32_t usm__load_u32(const void *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint64_t usm__load_u64(const void *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline void usm__store_u32(void *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

/* The kernel-internal ENOTSUPP (include/linux/errno.h) that bpf(2) leaks to
 * user space for some map errors (SEMANTICS MAP-CRT-08). */
#ifndef USM_ENOTSUPP
#define USM_ENOTSUPP 524
#endif

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
	/* Addition (map-in-map): when inner_map is NULL, the -errno that
	 * resolving the caller's inner_map_fd gave (the bpf(2) core sets it:
	 * -EBADF for a closed fd, -EINVAL for an fd that is not a map). The
	 * kernel reports it from the type's alloc, i.e. after alloc_check,
	 * so *_OF_MAPS report it there too. 0 with no inner map: -EINVAL. */
	int inner_map_err;
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

	/* Additions (maps module). All optional. */
	/* BPF-side lookup of CPU @cpu's copy (per-CPU maps; the kernel's
	 * map_lookup_percpu_elem). NULL if cpu >= ncpus or key absent. */
	void *(*lookup_percpu_elem)(struct usm_map *map, const void *key,
				    uint32_t cpu);
	/* Creation with BTF ids (the kernel's map_check_btf hook): 0 to
	 * accept, -ENOTSUPP (USM_ENOTSUPP) for types that take no BTF. NULL:
	 * the type has no hook (BTF with key id 0 is then -EINVAL). */
	int (*check_btf)(const struct usm_map *map,
			 const struct usm_map_attr *attr);
	/* The last user reference went away (map_release_uref): PROG_ARRAY
	 * drops its programs, socket maps their attached programs. */
	void (*release_uref)(struct usm_map *map);
	/* Socket maps: remove @sk from @slot if it is still there (close of
	 * the socket, SEMANTICS LIFE-01). Called with no lock held. */
	void (*unlink_sock)(struct usm_map *map, struct usm_sock *sk,
			    void *slot);
	/* *_OF_MAPS: store @inner at @key, taking a reference (what the
	 * kernel does for a user update with an inner map fd; the object
	 * loader fills `.values = { [i] = &inner }` initial slots with it).
	 * @inner must be compatible with inner_meta (-EINVAL). Added for the
	 * loader; NULL while a type has no map-in-map support. */
	int (*update_elem_map)(struct usm_map *map, const void *key,
			       struct usm_map *inner, uint64_t flags);
};

struct usm_map {
	const struct usm_map_ops *ops;
	int refcnt;
	uint32_t id;
	uint32_t map_type;
	uint32_t key_size;
	uint32_t value_size;
	uint32_t max_entries;
	uint32_t map_flags;         /* without BPF_F_RDONLY/WRONLY (below) */
	char name[BPF_OBJ_NAME_LEN];
	/* User-space writes refused (BPF_MAP_FREEZE; the loader freezes
	 * .rodata after filling it). BPF-side write protection is
	 * map_flags & BPF_F_RDONLY_PROG, which the verifier enforces. */
	bool frozen;
	struct usm_map *inner_meta; /* *_OF_MAPS: template (owned ref) */
	/* Additions (maps module). */
	int usercnt;          /* user references (handles, pins, links) */
	uint32_t file_flags;  /* BPF_F_RDONLY / BPF_F_WRONLY given at create:
				 the kernel keeps them on the fd, and the
				 handle plays the fd's role until bpf(2) */
	uint32_t numa_node;   /* as given with BPF_F_NUMA_NODE, else -1 */
};

/* Number of CPUs per-CPU maps keep values for (libbpf's possible CPUs). */
uint32_t usm__map_ncpus(void);

/* Create a map: generic checks (unknown type -> EINVAL, ...), then the
 * type's alloc_check and alloc. On error nothing is allocated. */
int usm__map_create(const struct usm_map_attr *attr, struct usm_map **out);

void usm__map_get(struct usm_map *map);
void usm__map_put(struct usm_map *map); /* NULL ok */
/* Take a reference unless the map is already being freed (refcnt 0). */
bool usm__map_tryget(struct usm_map *map);
/* A user reference (the kernel's bpf_map_inc_with_uref): also a normal
 * reference. The creator's reference from usm__map_create is one. The last
 * user put runs ops->release_uref (PROG_ARRAY empties, SEMANTICS MAP-CRT-13
 * for socket maps). */
void usm__map_get_with_uref(struct usm_map *map);
void usm__map_put_with_uref(struct usm_map *map); /* NULL ok */

/*
 * BPF_MAP_FREEZE: refuse user-space writes from now on. -EPERM if the
 * handle cannot write (BPF_F_RDONLY, or already frozen: the kernel checks
 * write permission first, so a second freeze is -EPERM, not -EBUSY).
 */
int usm__map_freeze(struct usm_map *map);

/* Map ids, as BPF_MAP_GET_FD_BY_ID / GET_NEXT_ID need them: a new
 * reference on the map with @id (-ENOENT), the next id above @start
 * (-ENOENT at the end). */
int usm__map_get_by_id(uint32_t id, struct usm_map **out);
int usm__map_get_next_id(uint32_t start, uint32_t *next_id);

/* User-space entry points: flag checks common to all types, then ops. */
int usm__map_lookup_elem(struct usm_map *map, const void *key, void *value,
			 uint64_t flags);
int usm__map_update_elem(struct usm_map *map, const void *key,
			 const void *value, uint64_t flags);
int usm__map_delete_elem(struct usm_map *map, const void *key);
int usm__map_get_next_key(struct usm_map *map, const void *key,
			  void *next_key);

/* get_next_key shared by the array-indexed types (MAP-NXT-01/03). */
int usm__map_index_get_next_key(struct usm_map *map, const void *key,
				void *next_key);

/* Size of the user-space value buffer for @map (per-CPU aware). */
size_t usm__map_user_value_size(const struct usm_map *map);

/*
 * BPF-side entry points for helpers (bpf_map_lookup_elem & co.): the type's
 * ops, or NULL / -EOPNOTSUPP when the type has none. No generic checks: as
 * in the kernel the verifier admitted the call. For socket maps the value
 * of update is a struct usm_sock * (the kernel's PTR_TO_SOCKET), and lookup
 * returns a struct usm_sock * holding a reference the program releases with
 * bpf_sk_release (usm__sock_put), SEMANTICS MAP-LKP-05.
 */
void *usm__map_bpf_lookup_elem(struct usm_map *map, const void *key);
int usm__map_bpf_update_elem(struct usm_map *map, const void *key,
			     const void *value, uint64_t flags);
int usm__map_bpf_delete_elem(struct usm_map *map, const void *key);
/* bpf_map_lookup_percpu_elem: NULL for non-per-CPU maps or cpu >= ncpus. */
void *usm__map_lookup_percpu_elem(struct usm_map *map, const void *key,
				  uint32_t cpu);
/* ld_imm64 BPF_PSEUDO_MAP_VALUE: ops->direct_value_addr, -EINVAL without. */
int usm__map_direct_value_addr(const struct usm_map *map, uint64_t *addr,
			       uint32_t off);

/*
 * Per-CPU maps from BPF: which CPU's copy lookup_elem/update_elem use.
 * Decision: a thread-local "current CPU", because map ops get no run. The
 * interpreter entry (usm__prog_run) sets it from run->cpu and restores the
 * previous value on return; default 0. A cpu >= ncpus is taken modulo
 * ncpus. Returns the previous value.
 */
uint32_t usm__map_set_cpu(uint32_t cpu);
uint32_t usm__map_cpu(void);

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
extern const struct usm_map_ops usm__reuseport_array_ops;
extern const struct usm_map_ops usm__array_of_maps_ops;
extern const struct usm_map_ops usm__hash_of_maps_ops;

/*
 * A map of @attr's type that is not published (no id, no name check, no
 * BTF): storage a map type builds on (HASH_OF_MAPS keeps its slots in a
 * hidden HASH). Same checks and errno as usm__map_create otherwise.
 */
int usm__map_create_hidden(const struct usm_map_attr *attr,
			   struct usm_map **out);

/* PROG_ARRAY: the program in slot @index or NULL (for bpf_tail_call). */
struct usm_prog *usm__prog_array_get(struct usm_map *map, uint32_t index);

/* PROG_ARRAY: install @prog (taking a reference; NULL clears) at @index.
 * The program's type must match the array's first program (-EINVAL);
 * index >= max_entries -> -E2BIG. Used by the object loader for initial
 * slots and by the bpf(2) core after resolving a program fd. */
int usm__prog_array_set(struct usm_map *map, uint32_t index,
			struct usm_prog *prog);

/*
 * PROG_ARRAY owner rule (the kernel's bpf_prog_map_compatible): the first
 * program stored in, or loaded against, the array fixes its program type
 * and expected attach type for the life of the map; later ones must match.
 * Returns 0 (and records the owner if there was none) or -EINVAL. The
 * verifier/loader calls it for every PROG_ARRAY a program references
 * (kernel bpf_check_tail_call).
 */
int usm__prog_array_check_owner(struct usm_map *map,
				const struct usm_prog *prog);

/*
 * PROG_ARRAY user update resolves a program fd. The bpf(2) core installs
 * its fd table here (returning a new reference or -EBADF / -EINVAL). Until
 * then a closed fd is -EBADF and any open fd -EINVAL (not a BPF program),
 * as the kernel's bpf_prog_get says for such fds.
 */
typedef int (*usm_prog_fd_resolver_fn)(int fd, struct usm_prog **out);
void usm__map_set_prog_fd_resolver(usm_prog_fd_resolver_fn fn);

/*
 * Map fds in map values (ARRAY_OF_MAPS / HASH_OF_MAPS user updates take an
 * inner map fd, as the kernel's bpf_map_fd_get_ptr). The bpf(2) core
 * installs its fd table here (a new reference, or -EBADF for an fd that is
 * not open, -EINVAL for an open fd that is not a map). Until then a closed
 * fd is -EBADF and any open fd -EINVAL.
 */
typedef int (*usm_map_fd_resolver_fn)(int fd, struct usm_map **out);
void usm__map_set_map_fd_resolver(usm_map_fd_resolver_fn fn);
int usm__map_resolve_fd(int fd, struct usm_map **out);

/* ---- Map in map (map_in_map.c) ---- */

/*
 * Whether @inner may be stored in a map whose template is @meta (the
 * kernel's map_meta_equal): same type, key size, value size and flags; for
 * ARRAY templates also the same max_entries unless the template has
 * BPF_F_INNER_MAP.
 */
bool usm__map_meta_equal(const struct usm_map *meta,
			 const struct usm_map *inner);

/* ---- REUSEPORT_SOCKARRAY (reuseport_array.c) ---- */

/*
 * The identity of @sk's reuseport group as usockmap models it: protocol,
 * family, bound address and port of a socket with SO_REUSEPORT that is
 * hashed (TCP listening, UDP bound). Two sockets are in the same group
 * iff their keys compare equal with memcmp. Returns 0 and fills @key, or
 * -EINVAL if @sk is in no group. Reads the cached facts (no syscalls).
 */
struct usm_reuseport_key {
	int32_t protocol;
	int32_t family;
	uint8_t addr[16];  /* IPv4: the first four bytes, the rest zero */
	uint16_t port;     /* host order */
	uint16_t pad;      /* zero */
	uint32_t bound_dev_if;
};
int usm__sock_reuseport_group_key(const struct usm_sock *sk,
				  struct usm_reuseport_key *key);

/* ---- Socket maps (sockmap.c, sockhash.c) ---- */

/*
 * Helpers' view of a SOCKMAP/SOCKHASH slot (bpf_sk_redirect_map/hash,
 * bpf_msg_redirect_*, bpf_sk_select_reuseport): the socket or NULL, no
 * reference taken. The pointer stays valid until the socket leaves the
 * map; map mutations happen on the engine's loop thread, so within one run
 * on that thread it is stable. @key is a u32 index for SOCKMAP, key_size
 * bytes for SOCKHASH. NULL for other map types.
 */
struct usm_sock *usm__sockmap_lookup(struct usm_map *map, const void *key);

/*
 * Insert @sk at @key of a SOCKMAP or SOCKHASH without the user-space state
 * check (SEMANTICS MAP-BPF-01: bpf_sock_map_update / bpf_sock_hash_update
 * from sock_ops, and `usockmap prog run --sock MAP:KEY`). Applies the
 * suitability (-EOPNOTSUPP), flag (-EINVAL), index (-E2BIG), occupancy
 * (-EEXIST/-ENOENT) and capacity (-E2BIG) rules. Takes its own reference
 * on @sk. -EINVAL for other map types. On error nothing changed.
 */
int usm__sockmap_update_sock(struct usm_map *map, const void *key,
			     struct usm_sock *sk, uint64_t flags);

/* Shared by sockmap.c and sockhash.c. */
/* Whether the kernel has sockmap support for this kind of socket
 * (sock_map_sk_is_suitable). */
bool usm__sockmap_sk_suitable(const struct usm_sock *sk);
/* Whether its state may be inserted from user space / generic BPF update
 * (sock_map_sk_state_allowed, SEMANTICS MAP-UPD-04..08). */
bool usm__sockmap_sk_state_allowed(const struct usm_sock *sk);
/* Checks of the kernel's sock_map_link/sk_psock_init that can fail for a
 * suitable socket: -EINVAL (ULP, MAP-UPD-15), -EOPNOTSUPP (unix seqpacket,
 * MAP-UPD-07). */
int usm__sockmap_link_check(struct usm_sock *sk);
/* User update: decode the fd in @value (u32 or u64 by value_size) and get
 * its usm_sock with fresh facts, in the kernel's order (MAP-UPD-01/02/03/
 * 04): -EINVAL, -EBADF, -ENOTSOCK, -EOPNOTSUPP. */
int usm__sockmap_sock_from_user(const struct usm_map *map, const void *value,
				struct usm_sock **out);
/* BPF update value check (sock_map_update_elem): -EINVAL, -EOPNOTSUPP. */
int usm__sockmap_sock_from_bpf(const void *value, struct usm_sock **out);
/* The type-specific halves of usm__sockmap_update_sock/_lookup. */
int usm__sockarray_update_common(struct usm_map *map, uint32_t idx,
				 struct usm_sock *sk, uint64_t flags);
int usm__sockhash_update_common(struct usm_map *map, const void *key,
				struct usm_sock *sk, uint64_t flags);
struct usm_sock *usm__sockhash_lookup_raw(struct usm_map *map,
					  const void *key);

#endif /* USM_MAPS_MAP_H */
