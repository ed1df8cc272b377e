/* SPDX-License-Identifier: MIT */
/*
 * Rich error messages, the kernel's log_buf way: a caller-supplied buffer that
 * is filled as far as it goes (always NUL-terminated, truncation noted), and
 * an optional callback that sees every line. Loader and verifier write here;
 * failures still return -errno, the log only explains them.
 */
#ifndef USM_COMMON_LOG_H
#define USM_COMMON_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct usm_log {
	char *buf;       /* borrowed; may be NULL */
	size_t size;     /* bytes in buf */
	size_t len;      /* bytes written so far, excluding the NUL */
	uint32_t level;  /* 0: errors only, 1: + summary, 2: + per-insn trace */
	int truncated;   /* set once buf overflowed */
	void (*cb)(void *arg, const char *line); /* optional, per formatted chunk */
	void *cb_arg;
};

/* Initialise @log over @buf/@size (both may be 0/NULL for "discard"). */
void usm__log_init(struct usm_log *log, char *buf, size_t size, uint32_t level);

/* Append printf-style text. @log may be NULL. Never fails. */
void usm__log(struct usm_log *log, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void usm__vlog(struct usm_log *log, const char *fmt, va_list ap);

#endif /* USM_COMMON_LOG_H */
