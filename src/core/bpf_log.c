/* SPDX-License-Identifier: MIT */
/*
 * The verifier log buffer as bpf(2) fills it (kernel/bpf/log.c): the
 * caller's log_buf is written as the messages come.
 *   - BPF_LOG_FIXED: the buffer keeps the beginning; once full, the rest is
 *     only counted.
 *   - default (rotating, since Linux 6.4): the buffer is a ring that keeps
 *     the last log_size - 1 bytes; at the end it is rotated so that it
 *     reads from its start, NUL-terminated.
 * Either way the true size (bytes needed including the NUL) is reported
 * and a truncated log makes the command fail with -ENOSPC, even when the
 * program itself was accepted.
 */
#include "core.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int usm__vlog_init(struct usm_vlog *v, uint32_t level, char *ubuf,
		   uint32_t size)
{
	memset(v, 0, sizeof(*v));
	v->level = level;
	v->ubuf = ubuf;
	v->len_total = size;
	if (!!ubuf != !!size)
		return -EINVAL;
	if (ubuf && level == 0) /* a buffer without a level */
		return -EINVAL;
	if (level & ~USM_LOG_MASK)
		return -EINVAL;
	if (size > UINT32_MAX >> 2)
		return -EINVAL;
	return 0;
}

uint32_t usm__vlog_level(const struct usm_vlog *v)
{
	if (v->level & USM_LOG_LEVEL2)
		return 2;
	if (v->level & (USM_LOG_LEVEL1 | USM_LOG_STATS))
		return 1;
	return 0;
}

/* Positions are logical byte offsets into the whole log. */
static void put_ring(struct usm_vlog *v, const char *s, size_t n)
{
	uint64_t new_end = v->end_pos + n + 1, cur;
	size_t copy, i;

	if (new_end - v->start_pos >= v->len_total)
		v->start_pos = new_end - v->len_total;
	v->end_pos = new_end - 1;
	if (!v->ubuf)
		return;
	copy = n + 1 < v->len_total ? n + 1 : v->len_total;
	cur = new_end - copy;
	for (i = 0; i < copy; i++) {
		size_t src = n + 1 - copy + i;

		v->ubuf[(cur + i) % v->len_total] = src < n ? s[src] : '\0';
	}
}

static void put_fixed(struct usm_vlog *v, const char *s, size_t n)
{
	if (v->ubuf && v->end_pos < v->len_total) {
		size_t room = v->len_total - v->end_pos;
		size_t copy = n + 1 < room ? n + 1 : room;

		memcpy(v->ubuf + v->end_pos, s, copy - 1);
		v->ubuf[v->end_pos + copy - 1] = '\0';
	}
	v->end_pos += n;
}

void usm__vlog_cb(void *arg, const char *text)
{
	struct usm_vlog *v = arg;
	size_t n = strlen(text);
	uint64_t need = v->end_pos + n + 1;

	if (!v->level || !n)
		return;
	/* len_max: the largest size the log ever needed, incl. NUL */
	if (need > UINT32_MAX)
		need = UINT32_MAX;
	if (need > v->len_max)
		v->len_max = (uint32_t)need;
	if (v->level & USM_LOG_FIXED)
		put_fixed(v, text, n);
	else
		put_ring(v, text, n);
}

static void reverse(char *b, size_t lo, size_t hi)
{
	while (lo + 1 < hi) {
		char t = b[lo];

		b[lo++] = b[--hi];
		b[hi] = t;
	}
}

int usm__vlog_finalize(struct usm_vlog *v, uint32_t *true_size)
{
	*true_size = 0;
	if (!v->level)
		return 0;
	if (v->ubuf && !(v->level & USM_LOG_FIXED) && v->start_pos) {
		/* Rotate left by start % size so the text starts at 0. */
		size_t sub = v->len_total -
			     (size_t)(v->start_pos % v->len_total);

		reverse(v->ubuf, 0, v->len_total);
		reverse(v->ubuf, 0, sub);
		reverse(v->ubuf, sub, v->len_total);
	}
	*true_size = v->len_max;
	if (v->ubuf && v->len_max > v->len_total)
		return -ENOSPC;
	return 0;
}
