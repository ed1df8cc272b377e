/* SPDX-License-Identifier: MIT */
/*
 * The bpf(2) system call, served by usockmap: the same commands, the same
 * union bpf_attr (Linux 6.12 layout; older <linux/bpf.h> copies are a
 * prefix of it) and the same errno for every request, but without a
 * kernel, without privileges, in this process.
 *
 *   fd = usm_bpf(BPF_MAP_CREATE, &attr, sizeof(attr));
 *
 * Convention: usm_bpf() returns what the kernel's bpf(2) returns on
 * success (a new fd, or 0) and, on failure, the NEGATIVE errno (-EINVAL)
 * instead of -1 with errno set, as the rest of usockmap and libbpf 1.x do.
 * errno is not touched. A libbpf-compatible layer turns this into libbpf's
 * conventions.
 *
 * Commands: BPF_MAP_CREATE, BPF_MAP_LOOKUP_ELEM, BPF_MAP_UPDATE_ELEM,
 * BPF_MAP_DELETE_ELEM, BPF_MAP_GET_NEXT_KEY, BPF_MAP_FREEZE,
 * BPF_MAP_GET_FD_BY_ID, BPF_MAP_GET_NEXT_ID, BPF_PROG_LOAD,
 * BPF_PROG_ATTACH, BPF_PROG_DETACH, BPF_PROG_QUERY, BPF_PROG_TEST_RUN,
 * BPF_OBJ_GET_INFO_BY_FD, BPF_BTF_LOAD, BPF_LINK_CREATE, BPF_LINK_UPDATE,
 * BPF_LINK_DETACH. Any other command is -EINVAL. Attribute rules as the
 * kernel: bytes past the command's last field must be zero (-EINVAL);
 * @size above sizeof(6.12 union bpf_attr) needs a zero tail (-E2BIG), above
 * 4096 is -E2BIG; @attr NULL with a non-zero size is -EFAULT. Output
 * fields (log_true_size, prog_cnt, info_len, retval...) are written only
 * where the caller's @size covers them.
 *
 * Handles: maps, programs, links and BTF objects are real file
 * descriptors, so they never collide with the application's own fds.
 * They may be dup()ed and passed to fork()ed children; an object lives
 * until every copy of its fd and every other reference (a map slot, a
 * link, a program that uses a map, an attachment) is gone. Release an fd
 * with usm_close() (immediate) or close() (noticed at the next usm_bpf()
 * call). Pointers inside attributes (keys, values, buffers) must be valid
 * for the sizes given: NULL is reported as -EFAULT, other bad pointers
 * cannot be detected in user space.
 *
 * Differences from the kernel (see docs): no capability checks (MAP-CRT-07);
 * BPF_PROG_TEST_RUN also runs sk_skb, sk_msg, sk_reuseport and sock_ops
 * programs (the kernel answers -ENOTSUPP for them); program types are those
 * usockmap runs (BPF_PROG_TYPE_SK_SKB, SK_MSG, SK_REUSEPORT, SOCK_OPS),
 * others are -EINVAL as on a kernel built without them. Thread-safe.
 */
#ifndef USOCKMAP_BPF_H
#define USOCKMAP_BPF_H

#include <linux/bpf.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* bpf(2): see above. Returns an fd or 0, or a negative errno. */
int usm_bpf(int cmd, union bpf_attr *attr, unsigned int size);

/*
 * close(2) for any fd, aware of usockmap: an object handle whose last copy
 * this was is released now; a socket that sits in socket maps leaves them
 * all when this was its last fd in the process (SEMANTICS LIFE-01/02).
 * Returns 0 or the negative errno of close().
 */
int usm_close(int fd);

/* Whether @fd is a usockmap object handle (map, program, link, BTF). */
int usm_is_bpf_fd(int fd);

/*
 * The native fd API, shaped like libbpf's bpf.h and built on usm_bpf(): the
 * same checks, the same errno (negative returns; errno is not touched).
 */
struct bpf_insn;
struct usm_map;
struct usm_program;

struct usm_prog_load_opts {
	size_t sz; /* sizeof(struct usm_prog_load_opts) */
	uint32_t expected_attach_type;
	char *log_buf;      /* verifier log, like the kernel's log_buf */
	uint32_t log_size;
	uint32_t log_level;
	const int *fd_array; /* for BPF_PSEUDO_MAP_IDX[_VALUE] operands */
};

/* BPF_PROG_LOAD: map operands in ld_imm64 are map fds (BPF_PSEUDO_MAP_FD /
 * BPF_PSEUDO_MAP_VALUE) or fd_array indexes, as the kernel takes them.
 * Returns the program fd or -errno (-EACCES/-EINVAL: rejected, see the
 * log). @opts may be NULL. */
int usm_prog_load(uint32_t prog_type, const char *name, const char *license,
		  const struct bpf_insn *insns, uint32_t insn_cnt,
		  const struct usm_prog_load_opts *opts);

/* BPF_PROG_ATTACH / BPF_PROG_DETACH of @prog_fd on the SOCKMAP/SOCKHASH
 * @map_fd (SEMANTICS PRG-01..08). 0 or -errno. */
int usm_prog_attach(int prog_fd, int map_fd, uint32_t attach_type,
		    uint32_t flags);
int usm_prog_detach(int prog_fd, int map_fd, uint32_t attach_type);

/* BPF_PROG_QUERY (PRG-10/11): on entry *prog_cnt is the room in @prog_ids
 * (may be 0 with prog_ids NULL); on return the number attached (0 or 1).
 * @attach_flags may be NULL. 0 or -errno. */
int usm_prog_query(int map_fd, uint32_t attach_type, uint32_t *attach_flags,
		   uint32_t *prog_ids, uint32_t *prog_cnt);

/* Fds out: a NEW handle on a map or a loaded object program, for use with
 * the fd API and usm_bpf(); release it with usm_close(). The object keeps
 * its own references. -ENOENT for a program that was not loaded. */
int usm_map_fd(struct usm_map *map);
int usm_program_fd(const struct usm_program *prog);

#ifdef __cplusplus
}
#endif

#endif /* USOCKMAP_BPF_H */
