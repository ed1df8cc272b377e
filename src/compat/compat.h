/* SPDX-License-Identifier: MIT */
/*
 * The libbpf-compatible front end's internal interface (<usockmap/libbpf.h>
 * is the public one). The low-level calls (bpf_calls.c) build a union
 * bpf_attr exactly as libbpf 1.x does and hand it to usm_bpf(); the object
 * calls (object.c) wrap the loader's struct usm_object and give its maps and
 * programs file descriptors from the bpf(2) core's handle table.
 *
 * Error convention at this boundary: libbpf's, i.e. a negative errno
 * returned AND stored in errno (usm__compat_err), NULL + errno for
 * pointers.
 */
#ifndef USM_COMPAT_COMPAT_H
#define USM_COMPAT_COMPAT_H

#define USM_COMPAT_NO_RENAME
#include <usockmap/libbpf.h>

#include <errno.h>
#include <linux/bpf.h>
#include <stddef.h>
#include <stdint.h>

#include <usockmap/bpf.h>

/* offsetofend of a union bpf_attr member: the attr size libbpf passes. */
#define USM_ATTR_END(field)                                                    \
	(offsetof(union bpf_attr, field) + sizeof(((union bpf_attr *)0)->field))

/* libbpf's return convention: set errno for a negative @ret, return it. */
static inline int usm__compat_err(int ret)
{
	if (ret < 0)
		errno = -ret;
	return ret;
}

/* NULL with errno = -@err (err < 0). */
static inline void *usm__compat_err_ptr(int err)
{
	errno = -err;
	return NULL;
}

/*
 * libbpf's OPTS_VALID: @opts NULL, or its sz covers at least the size field
 * and every byte past the @known bytes this library knows is zero.
 */
int usm__compat_opts_ok(const void *opts, size_t known);
/* Whether bytes [@from, sz) of @opts are zero (libbpf's OPTS_ZEROED). */
int usm__compat_opts_zero_from(const void *opts, size_t from);
/* The value of an opts field if sz covers it, else 0 (OPTS_GET(o, f, 0)). */
#define USM_OPT(o, f)                                                          \
	((o) && (o)->sz >= offsetof(__typeof__(*(o)), f) + sizeof((o)->f)      \
		 ? (o)->f                                                      \
		 : 0)

/* Release a handle the compat layer obtained from usm_bpf. */
void usm__compat_close_fd(int fd);

#endif /* USM_COMPAT_COMPAT_H */
