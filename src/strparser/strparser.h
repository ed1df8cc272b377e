/* SPDX-License-Identifier: MIT */
/*
 * The stream parser: splits a byte stream into messages using a parse
 * callback (the sk_skb stream parser program), the way the kernel's
 * net/strparser/strparser.c does for a psock (SEMANTICS SKB-01..08).
 * A pure state machine: no I/O, no threads, no timers of its own. The
 * engine reads the socket and feeds what it read; the parser calls back
 * parse() to learn message lengths and rcv_msg() once per complete message.
 *
 * Rules (kernel behaviour, SEMANTICS ids):
 *   parse() > 0  N = length of the message counted from its start. If fewer
 *                than N bytes are buffered, wait for the rest without
 *                calling parse() again (SKB-01).
 *   parse() == 0 need more: parse() runs again on the accumulated bytes at
 *                the next feed (SKB-02).
 *   parse() < 0  permanent abort; the value is the error (SKB-03). The
 *                kernel's -ESTRPIPE with bytes already accumulated becomes
 *                -ENODATA, as there.
 *   N > limit    abort with -EMSGSIZE (SKB-04; limit = SO_RCVBUF).
 *   N <= bytes of the message that an earlier parse() call had already
 *                seen: abort with -EPROTO (the kernel's "length must be
 *                into the new skb").
 *   timeout      a message still incomplete timeout_ns after its first
 *                bytes were processed aborts with -ETIMEDOUT (SKB-04;
 *                timeout = SO_RCVTIMEO, 0 = none), checked by
 *                usm__strp_check_timeout().
 *   One feed may complete many messages: one rcv_msg() each, in stream
 *   order (SKB-05); bytes after a message start the next one (SKB-06).
 *
 * Segments (SKB-07, SKB-08). The programs see the kernel's skb, which is
 * the received buffer the message started in (from that buffer's first
 * byte, possibly before the message) plus everything appended since. Here
 * a segment is one usm__strp_feed() call's data; chunks fed while the
 * parser could not run (paused, or waiting for the rest of a message of
 * known length) coalesce into one segment, as TCP's receive queue
 * coalesces unread data. So a parser that returns the view's length
 * (skb->len) frames messages on the engine's read boundaries: the engine's
 * read granularity plays the role of the kernel's skb granularity (SKB-08).
 *
 * Buffering: one growable buffer per parser. When nothing is buffered, a
 * feed is parsed in place from the caller's data and only an incomplete
 * tail is copied. The buffer grows (doubling) as large messages need, and
 * is bounded by the limit for messages of known length. A parser that
 * keeps returning 0 past the limit is aborted with -EMSGSIZE: any length
 * it could still return would be refused (too big, or -EPROTO) anyway.
 *
 * Calling context: one thread at a time per parser (the engine's loop
 * thread). Callbacks run inside usm__strp_feed(), usm__strp_resume(),
 * usm__strp_check_timeout() and usm__strp_abort(); from a callback one may
 * call usm__strp_pause/stop/abort and the read-only getters, but not feed,
 * resume or fini (feed/resume return -EBUSY there).
 */
#ifndef USM_STRPARSER_STRPARSER_H
#define USM_STRPARSER_STRPARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * What the programs see (the kernel's strparser head skb). Borrowed: valid
 * only during the callback it is passed to.
 *   data     first byte of the segment the message started in
 *   len      bytes from data that are buffered (the skb's len); may extend
 *            past the message end, and starts off bytes before the message
 *   off      message start within data (the kernel's strp_msg offset)
 *   msg_len  rcv_msg: the message length (message = data[off, off+msg_len));
 *            parse: 0
 */
struct usm_strp_view {
	const uint8_t *data;
	size_t len;
	size_t off;
	size_t msg_len;
};

/*
 * Callbacks; @arg is usm_strp_cbs.arg.
 *   parse    required. Return as in the rules above (the BPF program's r0
 *            as the kernel's int). The message bytes buffered so far are
 *            data[off, len).
 *   rcv_msg  required. Exactly one message: data[off, off + msg_len). The
 *            stream verdict's skb is the whole view, data[0, len), as in
 *            the kernel (SKB-07: skb->len, loads and helpers see bytes
 *            around the message); what is passed or redirected is the
 *            message range of that skb after the program ran. The bytes
 *            are borrowed for the call (the engine writes them out
 *            directly or copies what it must queue; no allocation per
 *            message). The engine may pause here (backpressure): no
 *            further rcv_msg until resume, remaining bytes are kept.
 *   abort    optional. The parser stopped for good with @err (negative
 *            errno or the parser's negative value); buffered data is gone.
 *            The kernel stores -err as the socket error (SKB-03). Called
 *            once.
 *   now_ns   optional clock for the timeout (default CLOCK_MONOTONIC).
 */
struct usm_strp_cbs {
	int (*parse)(void *arg, const struct usm_strp_view *v);
	void (*rcv_msg)(void *arg, const struct usm_strp_view *v);
	void (*abort)(void *arg, int err);
	uint64_t (*now_ns)(void *arg);
	void *arg;
};

/* Counters (the kernel's strp_stats, plus what is buffered). */
struct usm_strp_stats {
	uint64_t msgs;          /* rcv_msg calls */
	uint64_t bytes;         /* bytes fed and accepted */
	uint64_t parse_calls;   /* parse calls */
	uint64_t need_more;     /* parse returned 0 */
	uint64_t msg_too_big;   /* EMSGSIZE aborts */
	uint64_t timeouts;      /* ETIMEDOUT aborts */
	uint64_t buffered;      /* bytes held now (not yet delivered) */
};

/*
 * The parser. Embed it in the per-socket state; all fields are private to
 * strparser.c. Owns buf (malloc'd, may be NULL). Borrows cbs.arg.
 */
struct usm_strp {
	struct usm_strp_cbs cbs;
	uint64_t limit;       /* max message length (SO_RCVBUF) */
	uint64_t timeout_ns;  /* 0: no message timeout */
	uint8_t *buf;
	size_t cap;           /* bytes allocated at buf */
	size_t seg;           /* segment start in buf */
	size_t msg;           /* message start in buf (>= seg) */
	size_t tail;          /* end of buffered data in buf */
	size_t fresh;         /* where the next processing run's new data
				 starts (its segment start) */
	size_t full_len;      /* known length of the current message, or 0 */
	size_t seen;          /* message bytes an earlier parse() saw */
	uint64_t deadline;    /* timeout deadline (ns) or 0 */
	int err;              /* abort error, 0 while running */
	bool paused;
	bool stopped;
	bool in_cb;           /* inside a callback (reentrancy guard) */
	struct usm_strp_stats stats;
};

/* Default limit when the caller passes 0 (the kernel's default rmem). */
#define USM_STRP_DEFAULT_LIMIT (128u * 1024u)

/*
 * Set up @strp with @cbs (copied), message limit @limit (0: default) and
 * message timeout @timeout_ns (0: none). -EINVAL if @strp, @cbs, parse or
 * rcv_msg is missing; on error @strp is zeroed (fini is safe).
 */
int usm__strp_init(struct usm_strp *strp, const struct usm_strp_cbs *cbs,
		   uint64_t limit, uint64_t timeout_ns);
/* Free the buffer. NULL ok; not from a callback. */
void usm__strp_fini(struct usm_strp *strp);

/* The kernel re-reads SO_RCVBUF / SO_RCVTIMEO for every skb: apply new
 * values to the next processing. limit 0 = default; timeout 0 = none (a
 * running deadline is kept until its message completes). */
void usm__strp_set_limit(struct usm_strp *strp, uint64_t limit);
void usm__strp_set_timeout(struct usm_strp *strp, uint64_t timeout_ns);

/*
 * Append @len received bytes and, unless paused, deliver every message
 * they complete (SKB-01..08). Returns 0: all bytes were accepted (the
 * parser may have aborted on them: abort callback, usm__strp_error);
 * -ENOMEM: the buffer could not grow, the parser aborted with -ENOMEM
 * (abort callback called; messages completed before that point were
 * delivered); -EBUSY: called from a callback, nothing changed; the abort
 * error (< 0) or -ESHUTDOWN if the parser was aborted or stopped before
 * the call (bytes not accepted). @len 0 is a no-op.
 */
int usm__strp_feed(struct usm_strp *strp, const void *data, size_t len);

/*
 * Stop delivering (backpressure; safe from rcv_msg: the current message
 * was delivered, nothing after it is). Fed bytes are kept. Idempotent.
 */
void usm__strp_pause(struct usm_strp *strp);
/*
 * Resume and deliver what the kept bytes complete. Returns 0, -EBUSY from
 * a callback; a no-op on a stopped parser.
 */
int usm__strp_resume(struct usm_strp *strp);
/*
 * Stop for good without an error (psock teardown): no callbacks any more.
 * Buffered bytes are dropped (freed at once, or when the running callback
 * returns). Idempotent.
 */
void usm__strp_stop(struct usm_strp *strp);
/*
 * Abort with @err (< 0): as a parser error (abort callback, bytes
 * dropped). For the engine (e.g. -ENOMEM on its side). No-op if stopped.
 */
void usm__strp_abort(struct usm_strp *strp, int err);

/*
 * If the current message's deadline passed at @now_ns, abort with
 * -ETIMEDOUT (SKB-04) and return -ETIMEDOUT; otherwise 0.
 */
int usm__strp_check_timeout(struct usm_strp *strp, uint64_t now_ns);
/* Deadline of the current message in ns (clock of cbs.now_ns), 0: none. */
uint64_t usm__strp_deadline(const struct usm_strp *strp);

/* Bytes held (the next message's prefix, or everything while paused). */
size_t usm__strp_buffered(const struct usm_strp *strp);
/* Bytes still needed to complete the current message when its length is
 * known (the kernel's need_bytes), else 0. */
size_t usm__strp_need(const struct usm_strp *strp);
/* Abort error (< 0), or 0 (running, or stopped without error). */
int usm__strp_error(const struct usm_strp *strp);
bool usm__strp_paused(const struct usm_strp *strp);
bool usm__strp_stopped(const struct usm_strp *strp);
void usm__strp_get_stats(const struct usm_strp *strp,
			 struct usm_strp_stats *st);

#endif /* USM_STRPARSER_STRPARSER_H */
