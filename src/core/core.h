/* SPDX-License-Identifier: MIT */
/*
 * The bpf(2)-shaped core's internal interface (usm_bpf, include/usockmap/
 * bpf.h), split by concern:
 *   bpf.c         entry point: attribute copy and size rules, dispatch
 *   bpf_map.c     MAP_CREATE, element commands, FREEZE, GET_FD_BY_ID
 *   bpf_prog.c    PROG_LOAD (ld_imm64 map operands, license, log rules)
 *   bpf_log.c     the kernel's verifier-log buffer rules
 *   bpf_attach.c  PROG_ATTACH / PROG_DETACH / PROG_QUERY
 *   bpf_link.c    sockmap links: LINK_CREATE / UPDATE / DETACH
 *   bpf_info.c    OBJ_GET_INFO_BY_FD, BTF_LOAD and BTF objects
 *   bpf_test.c    PROG_TEST_RUN on top of the test-run core
 *   fd.c          object handles: real file descriptors
 *
 * The ABI is Linux 6.12's union bpf_attr (SEMANTICS baseline). The system
 * header may be older (Debian 12 ships 6.1's, 144 bytes, without e.g.
 * log_true_size); attributes are therefore copied into a buffer of the
 * 6.12 size, and the fields 6.1 lacks are read and written at their 6.12
 * offsets (USM_ATTR_*_OFF below).
 */
#ifndef USM_CORE_CORE_H
#define USM_CORE_CORE_H

#include <linux/bpf.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct usm_map;
struct usm_prog;

#ifndef USM_ENOTSUPP
#define USM_ENOTSUPP 524 /* the kernel-internal ENOTSUPP bpf(2) returns */
#endif

/* ---- attributes ---- */

/* sizeof(union bpf_attr) in Linux 6.12. */
#define USM_ATTR_SIZE_612 152u
#define USM_ATTR_SIZE                                                          \
	(sizeof(union bpf_attr) > USM_ATTR_SIZE_612 ? sizeof(union bpf_attr)   \
						    : USM_ATTR_SIZE_612)

/* The attributes of one call: the caller's bytes, zero-padded. */
struct usm_attr {
	union {
		union bpf_attr a;
		uint8_t raw[USM_ATTR_SIZE];
	};
	union bpf_attr *uattr; /* the caller's struct, for outputs */
	uint32_t size;         /* bytes the caller gave (<= USM_ATTR_SIZE) */
};

/* 6.12 offsets of fields a 6.1 header does not have. */
#define USM_ATTR_MAP_TOKEN_FD_OFF        76u  /* s32 */
#define USM_ATTR_LOG_TRUE_SIZE_OFF       140u /* u32, PROG_LOAD output */
#define USM_ATTR_PROG_TOKEN_FD_OFF       144u /* s32 */
#define USM_ATTR_RELATIVE_FD_OFF         20u  /* u32, PROG_ATTACH/DETACH */
#define USM_ATTR_EXPECTED_REVISION_OFF   24u  /* u64 */
#define USM_ATTR_QUERY_LINK_IDS_OFF      40u  /* u64 */
#define USM_ATTR_QUERY_REVISION_OFF      56u  /* u64 */
#define USM_ATTR_BTF_LOG_TRUE_SIZE_OFF   28u  /* u32, BTF_LOAD output */
#define USM_ATTR_BTF_FLAGS_OFF           32u  /* u32 */

/* End of each command's last field (CHECK_ATTR), 6.12. */
#define USM_ATTR_END_MAP_CREATE     80u
#define USM_ATTR_END_MAP_ELEM       32u  /* lookup, update: flags */
#define USM_ATTR_END_MAP_DELETE     16u
#define USM_ATTR_END_MAP_NEXT_KEY   24u
#define USM_ATTR_END_MAP_FREEZE     4u
#define USM_ATTR_END_PROG_LOAD      148u
#define USM_ATTR_END_PROG_ATTACH    32u  /* and detach */
#define USM_ATTR_END_PROG_QUERY     64u
#define USM_ATTR_END_TEST_RUN       76u
#define USM_ATTR_END_GET_INFO       16u
#define USM_ATTR_END_BTF_LOAD       40u
#define USM_ATTR_END_LINK_CREATE    60u
#define USM_ATTR_END_LINK_UPDATE    16u
#define USM_ATTR_END_LINK_DETACH    4u
#define USM_ATTR_END_MAP_GET_FD     12u  /* open_flags */
#define USM_ATTR_END_GET_NEXT_ID    8u
#define USM_ATTR_END_PROG_GET_FD    4u   /* prog_id */

/* CHECK_ATTR: true if any byte from @end to the 6.12 size is non-zero. */
bool usm__attr_tail_set(const struct usm_attr *a, uint32_t end);

uint32_t usm__attr_u32(const struct usm_attr *a, uint32_t off);
uint64_t usm__attr_u64(const struct usm_attr *a, uint32_t off);

/* Write an output field back to the caller's attributes, only if the
 * caller's struct covers it. */
void usm__attr_out(struct usm_attr *a, uint32_t off, const void *val,
		   uint32_t len);
#define USM_ATTR_OUT(a, field, val)                                            \
	do {                                                                   \
		__typeof__(((union bpf_attr *)0)->field) v_ = (val);           \
		usm__attr_out((a), offsetof(union bpf_attr, field), &v_,       \
			      sizeof(v_));                                     \
	} while (0)

/* A user pointer field as a pointer. */
static inline void *usm__u64_ptr(uint64_t v)
{
	return (void *)(uintptr_t)v;
}

/* bpf_check_uarg_tail_zero for an extensible struct at @p: @actual > 4096
 * or non-zero bytes past @expected -> -E2BIG. */
int usm__check_tail_zero(const void *p, size_t expected, size_t actual);

/* The kernel's bpf_obj_name_cpy: [A-Za-z0-9_.]*, NUL within @size. 0 or
 * -EINVAL; @dst (size bytes) gets the name. */
int usm__obj_name_cpy(char *dst, const char *src, size_t size);

/* ---- handles (fd.c) ---- */

enum usm_fd_kind {
	USM_FD_NONE = 0,
	USM_FD_MAP,
	USM_FD_PROG,
	USM_FD_LINK,
	USM_FD_BTF,
};

/*
 * Give the caller a new file descriptor for @obj, consuming one reference
 * the caller holds (map: a user reference, usm__map_get_with_uref; prog:
 * usm__prog_get; link: usm__link_get; btf: usm__btf_get). @file_flags
 * (BPF_F_RDONLY/WRONLY) restrict what this fd may do with a map. Returns
 * the fd, or -EMFILE/-ENFILE/-ENOMEM with the reference not consumed.
 *
 * The fd is the write end of a pipe whose read end usockmap keeps: the fd
 * is a real descriptor (never collides with the application's), dup()s
 * and fork()ed copies name the same object, and when every copy is closed
 * (by usm_close or plain close) the kept end reports POLLHUP and the
 * object's reference is released at the next collection (usm__fd_gc,
 * run by most commands and by usm_close).
 */
int usm__fd_install(enum usm_fd_kind kind, void *obj, uint32_t file_flags);

/*
 * The object behind @fd with a new reference (map: a normal reference).
 * -EBADF if @fd is not open; -EINVAL if it is open but not a usockmap
 * object of @kind (as the kernel says for an fd of another kind). The
 * object is judged by the inode behind @fd (fstat), so a closed-and-reused
 * fd number never yields a stale object. *file_flags (may be NULL) gets
 * the handle's BPF_F_RDONLY/WRONLY.
 */
int usm__fd_get(int fd, enum usm_fd_kind kind, void **obj,
		uint32_t *file_flags);
/* Whatever object @fd names: *kind and a reference; -EBADF / -EINVAL. */
int usm__fd_get_any(int fd, enum usm_fd_kind *kind, void **obj);

int usm__fd_get_map(int fd, struct usm_map **map, uint32_t *file_flags);
int usm__fd_get_prog(int fd, struct usm_prog **prog);

/* Drop a reference obtained from usm__fd_get*. */
void usm__fd_obj_put(enum usm_fd_kind kind, void *obj);

/* Release every object whose fds are all closed. Cheap (one epoll_wait). */
void usm__fd_gc(void);

/* Handles alive (tests). */
uint32_t usm__fd_count(void);

/* ---- links (bpf_link.c) ---- */

#ifndef USM_BPF_LINK_TYPE_SOCKMAP
#define USM_BPF_LINK_TYPE_SOCKMAP 14u /* BPF_LINK_TYPE_SOCKMAP (6.10+) */
#endif

/*
 * A sockmap link (the kernel's struct sockmap_link): owns one attach slot
 * of a SOCKMAP/SOCKHASH until detached or released. Holds a reference on
 * its program and a user reference on its map (PRG-12) while attached.
 * @lock guards prog and map (the kernel's sockmap_mutex); it is taken
 * before the psock mutex.
 */
struct usm_link {
	int refcnt;
	uint32_t id;
	uint32_t type;          /* USM_BPF_LINK_TYPE_SOCKMAP */
	uint32_t attach_type;
	pthread_mutex_t lock;
	struct usm_prog *prog;  /* one reference */
	struct usm_map *map;    /* user reference; NULL once detached */
};

void usm__link_get(struct usm_link *link);
/* The last put detaches the link (PRG-16) and frees it. NULL ok. */
void usm__link_put(struct usm_link *link);

/* bpf_link_info for @link (kernel layout, 6.12 size), see bpf_info.c. */
int usm__link_fill_info(struct usm_link *link, void *info, uint32_t len);

/* ---- BTF objects (bpf_info.c) ---- */

struct usm_btf {
	int refcnt;
	uint32_t id;
	void *data; /* the loaded blob (owned) */
	uint32_t size;
};

void usm__btf_get(struct usm_btf *btf);
void usm__btf_put(struct usm_btf *btf); /* NULL ok */

/* ---- verifier log (bpf_log.c) ---- */

/*
 * The kernel's log buffer rules (kernel/bpf/log.c), writing straight into
 * the caller's buffer: level/buffer/size validity, rotating mode (the
 * buffer keeps the tail) or BPF_LOG_FIXED (keeps the head), the true size,
 * ENOSPC on truncation.
 */
struct usm_vlog {
	uint32_t level;      /* as given (BPF_LOG_* bits) */
	char *ubuf;          /* the caller's buffer (borrowed) */
	uint32_t len_total;  /* its size */
	uint64_t start_pos;  /* logical offset of the oldest kept byte */
	uint64_t end_pos;    /* logical end of the text (excl. NUL) */
	uint32_t len_max;    /* bytes the whole log needs, incl. NUL */
};

#define USM_LOG_LEVEL1 1u
#define USM_LOG_LEVEL2 2u
#define USM_LOG_STATS  4u
#define USM_LOG_FIXED  8u
#define USM_LOG_MASK   15u

/* bpf_vlog_init: -EINVAL for inconsistent attributes. */
int usm__vlog_init(struct usm_vlog *v, uint32_t level, char *ubuf,
		   uint32_t size);
/* Collector for struct usm_log's callback (arg = the usm_vlog). */
void usm__vlog_cb(void *arg, const char *text);
/* Our verifier's level for the kernel's bits (0 when logging is off). */
uint32_t usm__vlog_level(const struct usm_vlog *v);
/* bpf_vlog_finalize: make the caller's buffer one string from its start,
 * *true_size = bytes needed incl. NUL; -ENOSPC if truncated, else 0. */
int usm__vlog_finalize(struct usm_vlog *v, uint32_t *true_size);

/* ---- commands ---- */

int usm__bpf_map_create(struct usm_attr *a);
int usm__bpf_map_lookup(struct usm_attr *a);
int usm__bpf_map_update(struct usm_attr *a);
int usm__bpf_map_delete(struct usm_attr *a);
int usm__bpf_map_get_next_key(struct usm_attr *a);
int usm__bpf_map_freeze(struct usm_attr *a);
int usm__bpf_map_get_fd_by_id(struct usm_attr *a);
int usm__bpf_map_get_next_id(struct usm_attr *a);
int usm__bpf_prog_get_fd_by_id(struct usm_attr *a);
int usm__bpf_prog_get_next_id(struct usm_attr *a);
int usm__bpf_prog_load(struct usm_attr *a);
int usm__bpf_prog_attach(struct usm_attr *a);
int usm__bpf_prog_detach(struct usm_attr *a);
int usm__bpf_prog_query(struct usm_attr *a);
int usm__bpf_prog_test_run(struct usm_attr *a);
int usm__bpf_obj_get_info(struct usm_attr *a);
int usm__bpf_btf_load(struct usm_attr *a);
int usm__bpf_link_create(struct usm_attr *a);
int usm__bpf_link_update(struct usm_attr *a);
int usm__bpf_link_detach(struct usm_attr *a);

/* Program type of a sockmap attach type (attach_type_to_prog_type for
 * the four PRG-01 types), BPF_PROG_TYPE_UNSPEC for the rest we know of. */
uint32_t usm__attach_prog_type(uint32_t attach_type);

#endif /* USM_CORE_CORE_H */
