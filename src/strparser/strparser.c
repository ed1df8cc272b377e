/* SPDX-License-Identifier: MIT */
/*
 * The stream parser state machine (see strparser.h for the rules and
 * SEMANTICS SKB-01..08). Invariants on the indices into the working bytes
 * (the parser's buffer, or the caller's data during an in-place run):
 * seg <= msg <= tail and seg <= fresh <= tail. [seg, msg) are bytes of the
 * current segment before the current message, kept only so the programs
 * see them (SKB-07); [msg, tail) are the current message's bytes and what
 * follows. fresh is where the next processing run's new data starts: the
 * segment of a message that completes in that run begins there. Nothing
 * pending (msg == tail) resets every index to 0.
 */
#include "strparser.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef ESTRPIPE
#define ESTRPIPE 86
#endif

/* An empty buffer larger than this is released (idle sockets after a
 * large message keep no large allocation). */
#define STRP_KEEP_CAP (256u * 1024u)
#define STRP_MIN_CAP 4096u

static uint64_t strp_clock(const struct usm_strp *strp)
{
	struct timespec ts;

	if (strp->cbs.now_ns)
		return strp->cbs.now_ns(strp->cbs.arg);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void strp_reset_idx(struct usm_strp *strp)
{
	strp->seg = 0;
	strp->msg = 0;
	strp->tail = 0;
	strp->fresh = 0;
	strp->full_len = 0;
	strp->seen = 0;
	strp->stats.buffered = 0;
}

static void strp_release(struct usm_strp *strp)
{
	free(strp->buf);
	strp->buf = NULL;
	strp->cap = 0;
	strp_reset_idx(strp);
}

int usm__strp_init(struct usm_strp *strp, const struct usm_strp_cbs *cbs,
		   uint64_t limit, uint64_t timeout_ns)
{
	if (!strp)
		return -EINVAL;
	memset(strp, 0, sizeof(*strp));
	if (!cbs || !cbs->parse || !cbs->rcv_msg)
		return -EINVAL;
	strp->cbs = *cbs;
	usm__strp_set_limit(strp, limit);
	strp->timeout_ns = timeout_ns;
	return 0;
}

void usm__strp_fini(struct usm_strp *strp)
{
	if (!strp)
		return;
	strp_release(strp);
	strp->stopped = true;
}

void usm__strp_set_limit(struct usm_strp *strp, uint64_t limit)
{
	strp->limit = limit ? limit : USM_STRP_DEFAULT_LIMIT;
}

void usm__strp_set_timeout(struct usm_strp *strp, uint64_t timeout_ns)
{
	strp->timeout_ns = timeout_ns;
}

/* Drop state for good; the buffer goes now unless a callback may still
 * be looking at it (then the run that called it frees it). */
static void strp_halt(struct usm_strp *strp)
{
	strp->stopped = true;
	strp->paused = false;
	strp->deadline = 0;
	if (!strp->in_cb)
		strp_release(strp);
}

void usm__strp_stop(struct usm_strp *strp)
{
	if (!strp || strp->stopped)
		return;
	strp_halt(strp);
}

void usm__strp_abort(struct usm_strp *strp, int err)
{
	bool was_in_cb;

	if (!strp || strp->stopped)
		return;
	if (err >= 0)
		err = -EINVAL;
	strp->err = err;
	if (err == -EMSGSIZE)
		strp->stats.msg_too_big++;
	else if (err == -ETIMEDOUT)
		strp->stats.timeouts++;
	strp_halt(strp);
	if (!strp->cbs.abort)
		return;
	was_in_cb = strp->in_cb;
	strp->in_cb = true;
	strp->cbs.abort(strp->cbs.arg, err);
	strp->in_cb = was_in_cb;
}

void usm__strp_pause(struct usm_strp *strp)
{
	if (strp && !strp->stopped)
		strp->paused = true;
}

/* Arm the message timer once per message (the kernel starts it when a
 * message is first left incomplete and never restarts it). SKB-04 */
static void strp_arm_timer(struct usm_strp *strp)
{
	if (strp->timeout_ns && !strp->deadline) {
		strp->deadline = strp_clock(strp) + strp->timeout_ns;
		if (!strp->deadline)
			strp->deadline = 1;
	}
}

/*
 * Ask the parser for the current message's length. Returns 1 when the
 * length is now known, 0 to wait after a parse call, 2 to wait without
 * one (no new bytes), -1 when the parser stopped (aborted, or stopped
 * from the callback).
 */
static int strp_parse(struct usm_strp *strp, const uint8_t *base)
{
	size_t avail = strp->tail - strp->msg;
	struct usm_strp_view v = { base + strp->seg, strp->tail - strp->seg,
				   strp->msg - strp->seg, 0 };
	int n;

	if (avail == 0 || avail == strp->seen)
		return 2; /* SKB-02: re-run only on new bytes */
	strp->in_cb = true;
	n = strp->cbs.parse(strp->cbs.arg, &v);
	strp->in_cb = false;
	strp->stats.parse_calls++;
	if (strp->stopped)
		return -1;
	if (n == 0) {
		strp->stats.need_more++;
		strp_arm_timer(strp);
		strp->seen = avail;
		/* Any length returned later would be refused (> limit, or
		 * <= what was seen): refuse now and bound the buffer. */
		if (avail > strp->limit) {
			usm__strp_abort(strp, -EMSGSIZE);
			return -1;
		}
		return 0;
	}
	if (n < 0) {
		if (n == -ESTRPIPE && strp->seen)
			n = -ENODATA;
		usm__strp_abort(strp, n); /* SKB-03 */
		return -1;
	}
	if ((uint64_t)n > strp->limit) {
		usm__strp_abort(strp, -EMSGSIZE); /* SKB-04 */
		return -1;
	}
	if ((size_t)n <= strp->seen) {
		usm__strp_abort(strp, -EPROTO);
		return -1;
	}
	strp->full_len = (size_t)n;
	return 1;
}

/* Hand the complete current message to rcv_msg and start the next one
 * right after it (SKB-05, SKB-06), in the segment of this run's data. */
static void strp_deliver(struct usm_strp *strp, const uint8_t *base,
			 size_t region)
{
	struct usm_strp_view v = { base + strp->seg, strp->tail - strp->seg,
				   strp->msg - strp->seg, strp->full_len };
	size_t end = strp->msg + strp->full_len;

	strp->deadline = 0;
	strp->stats.msgs++;
	strp->in_cb = true;
	strp->cbs.rcv_msg(strp->cbs.arg, &v);
	strp->in_cb = false;
	if (strp->stopped)
		return;
	strp->msg = end;
	strp->full_len = 0;
	strp->seen = 0;
	strp->seg = (end == strp->tail || end < region) ? end : region;
}

/*
 * One processing run over [fresh, tail) of @base: parse and deliver while
 * not paused or stopped. A run that only waited for the rest of a message
 * of known length leaves fresh alone, so the chunks it waited on form one
 * segment (SKB-08 note in strparser.h).
 */
static void strp_run(struct usm_strp *strp, const uint8_t *base)
{
	size_t region = strp->fresh;
	bool progressed = false;
	int r;

	while (!strp->paused && !strp->stopped) {
		if (!strp->full_len) {
			r = strp_parse(strp, base);
			if (r != 2)
				progressed = true;
			if (r != 1)
				break;
		}
		if (strp->tail - strp->msg < strp->full_len) {
			strp_arm_timer(strp); /* SKB-01: wait, no re-parse */
			break;
		}
		strp_deliver(strp, base, region);
		progressed = true;
	}
	if (strp->stopped)
		return;
	if (strp->paused && progressed)
		strp->fresh = region;
	else if (progressed)
		strp->fresh = strp->tail;
	if (strp->fresh < strp->seg)
		strp->fresh = strp->seg; /* paused right at a segment's end */
	strp->stats.buffered = strp->tail - strp->msg;
}

/* Make room for @len more bytes at tail: slide the kept bytes to the
 * front, then grow. -ENOMEM with nothing changed. */
static int strp_reserve(struct usm_strp *strp, size_t len)
{
	size_t keep = strp->tail - strp->seg, cap;
	uint8_t *nb;

	if (len > SIZE_MAX / 2 - keep)
		return -ENOMEM;
	if (strp->cap - strp->tail >= len)
		return 0;
	if (strp->seg) {
		memmove(strp->buf, strp->buf + strp->seg, keep);
		strp->msg -= strp->seg;
		strp->tail -= strp->seg;
		strp->fresh -= strp->seg;
		strp->seg = 0;
	}
	if (strp->cap - strp->tail >= len)
		return 0;
	cap = strp->cap ? strp->cap : STRP_MIN_CAP;
	while (cap < keep + len)
		cap *= 2;
	nb = realloc(strp->buf, cap);
	if (!nb)
		return -ENOMEM;
	strp->buf = nb;
	strp->cap = cap;
	return 0;
}

/* Nothing pending: forget the indices; release a large buffer. */
static void strp_settle(struct usm_strp *strp)
{
	if (strp->stopped) {
		strp_release(strp);
		return;
	}
	if (strp->msg != strp->tail)
		return;
	strp_reset_idx(strp);
	if (strp->cap > STRP_KEEP_CAP) {
		free(strp->buf);
		strp->buf = NULL;
		strp->cap = 0;
	}
}

/* Parse @data in place (nothing buffered), keep an incomplete tail. */
static int strp_feed_direct(struct usm_strp *strp, const uint8_t *data,
			    size_t len)
{
	size_t keep;

	strp->tail = len;
	strp_run(strp, data);
	if (strp->stopped || strp->msg == strp->tail) {
		strp_reset_idx(strp);
		strp_settle(strp);
		return 0;
	}
	/* Rebase [seg, len) of @data to the start of the (empty) buffer. */
	keep = len - strp->seg;
	strp->msg -= strp->seg;
	strp->fresh = strp->fresh > strp->seg ? strp->fresh - strp->seg : 0;
	strp->seg = 0;
	strp->tail = 0;
	if (strp_reserve(strp, keep) < 0) {
		usm__strp_abort(strp, -ENOMEM);
		strp_settle(strp);
		return -ENOMEM;
	}
	memcpy(strp->buf, data + len - keep, keep);
	strp->tail = keep;
	strp->stats.buffered = keep - strp->msg;
	return 0;
}

int usm__strp_feed(struct usm_strp *strp, const void *data, size_t len)
{
	if (!strp || (!data && len))
		return -EINVAL;
	if (strp->in_cb)
		return -EBUSY;
	if (strp->stopped)
		return strp->err ? strp->err : -ESHUTDOWN;
	if (!len)
		return 0;
	if (strp->msg == strp->tail)
		strp_reset_idx(strp); /* a new segment starts */
	if (strp->tail == 0 && !strp->paused) {
		strp->stats.bytes += len;
		return strp_feed_direct(strp, data, len);
	}
	if (strp_reserve(strp, len) < 0) {
		usm__strp_abort(strp, -ENOMEM);
		strp_settle(strp);
		return -ENOMEM;
	}
	strp->stats.bytes += len;
	memcpy(strp->buf + strp->tail, data, len);
	strp->tail += len;
	strp->stats.buffered = strp->tail - strp->msg;
	if (!strp->paused)
		strp_run(strp, strp->buf);
	strp_settle(strp);
	return 0;
}

int usm__strp_resume(struct usm_strp *strp)
{
	if (!strp)
		return -EINVAL;
	if (strp->in_cb)
		return -EBUSY;
	if (strp->stopped || !strp->paused)
		return 0;
	strp->paused = false;
	if (strp->tail > strp->msg)
		strp_run(strp, strp->buf);
	strp_settle(strp);
	return 0;
}

int usm__strp_check_timeout(struct usm_strp *strp, uint64_t now_ns)
{
	if (!strp || strp->stopped || !strp->deadline ||
	    now_ns < strp->deadline)
		return 0;
	usm__strp_abort(strp, -ETIMEDOUT); /* SKB-04 */
	return -ETIMEDOUT;
}

uint64_t usm__strp_deadline(const struct usm_strp *strp)
{
	return strp ? strp->deadline : 0;
}

size_t usm__strp_buffered(const struct usm_strp *strp)
{
	return strp ? strp->tail - strp->msg : 0;
}

size_t usm__strp_need(const struct usm_strp *strp)
{
	size_t have;

	if (!strp || !strp->full_len)
		return 0;
	have = strp->tail - strp->msg;
	return have < strp->full_len ? strp->full_len - have : 0;
}

int usm__strp_error(const struct usm_strp *strp)
{
	return strp ? strp->err : 0;
}

bool usm__strp_paused(const struct usm_strp *strp)
{
	return strp && strp->paused;
}

bool usm__strp_stopped(const struct usm_strp *strp)
{
	return strp && strp->stopped;
}

void usm__strp_get_stats(const struct usm_strp *strp,
			 struct usm_strp_stats *st)
{
	if (!st)
		return;
	memset(st, 0, sizeof(*st));
	if (!strp)
		return;
	*st = strp->stats;
	st->buffered = strp->tail - strp->msg;
}
