/* SPDX-License-Identifier: MIT */
/*
 * Private to src/progtype: small shared pieces of the per-type context
 * access checks. Offsets are the UAPI ones from <linux/bpf.h>; the case
 * ranges cover every byte of a field, as the kernel's bpf_ctx_range() does,
 * so an access that starts inside a field is judged by that field's rule.
 */
#ifndef USM_PROGTYPE_PT_PRIV_H
#define USM_PROGTYPE_PT_PRIV_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#include "progtype.h"

#define PT_FSIZE(T, m) (sizeof(((T *)0)->m))
/* case PT_RANGE(T, m): every byte offset of field m of T. */
#define PT_RANGE(T, m) offsetof(T, m) ... (offsetof(T, m) + PT_FSIZE(T, m) - 1)
/* case PT_RANGE_TILL(T, a, b): from the start of a to the end of b. */
#define PT_RANGE_TILL(T, a, b)                                                 \
	offsetof(T, a) ... (offsetof(T, b) + PT_FSIZE(T, b) - 1)

/* The kernel's bpf_ctx_narrow_access_ok(): 1, 2 or 4 bytes of a 4-byte
 * field (or up to @field bytes, a power of two). Alignment (off % size) is
 * checked by the caller first, as the kernel does. */
static inline bool pt_narrow_ok(int size, int field)
{
	return size <= field && (size & (size - 1)) == 0;
}

/* Reset @acc to "scalar, no rewrite", keeping the caller's input (ldsx). */
static inline void pt_acc_scalar(struct usm_ctx_access *acc)
{
	acc->reg_type = USM_SCALAR;
	acc->xoff = -1;
	acc->xsize = 0;
	acc->mem_size = 0;
}

/* Refuse with @reason; always -EACCES. */
static inline int pt_refuse(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return -EACCES;
}

#endif /* USM_PROGTYPE_PT_PRIV_H */
