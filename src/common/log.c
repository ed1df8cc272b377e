/* SPDX-License-Identifier: MIT */
/* Log buffer writer: see log.h. */
#include "log.h"

#include <stdio.h>
#include <string.h>

void usm__log_init(struct usm_log *log, char *buf, size_t size, uint32_t level)
{
	memset(log, 0, sizeof(*log));
	log->buf = buf;
	log->size = buf ? size : 0;
	log->level = level;
	if (log->size)
		log->buf[0] = '\0';
}

void usm__vlog(struct usm_log *log, const char *fmt, va_list ap)
{
	char line[1024];
	size_t n, room;
	int r;

	if (!log)
		return;
	r = vsnprintf(line, sizeof(line), fmt, ap);
	if (r < 0)
		return;
	n = (size_t)r < sizeof(line) ? (size_t)r : sizeof(line) - 1;
	if (log->cb)
		log->cb(log->cb_arg, line);
	if (!log->size)
		return;
	room = log->size - 1 - log->len;
	if (n > room) {
		n = room;
		log->truncated = 1;
	}
	memcpy(log->buf + log->len, line, n);
	log->len += n;
	log->buf[log->len] = '\0';
}

void usm__log(struct usm_log *log, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	usm__vlog(log, fmt, ap);
	va_end(ap);
}
