/* SPDX-License-Identifier: MIT */
/*
 * Test support for the stream parser: a recorder that keeps a copy of
 * every view the parser hands to parse() and rcv_msg(), and scripted
 * parsers (fixed length, one-byte length prefix, "return skb->len", a
 * list of return values). Each test owns one struct strpt.
 */
#ifndef USM_TEST_STRPT_H
#define USM_TEST_STRPT_H

#include "usm_test.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../../src/strparser/strparser.h"

#define STRPT_MAX 4096

/* One recorded view: the fields, and the bytes it covered. */
struct strpt_rec {
	size_t len, off, msg_len;
	uint8_t *bytes; /* copy of data[0, len) */
};

enum strpt_mode {
	STRPT_FIXED,   /* return fixed */
	STRPT_PREFIX,  /* first message byte = total length (0: need more) */
	STRPT_SKBLEN,  /* return view len (skb->len) */
	STRPT_SCRIPT,  /* return script[i] for the i-th call */
};

struct strpt {
	struct usm_strp strp;
	enum strpt_mode mode;
	int fixed;
	const int *script;
	size_t nscript;
	struct strpt_rec parses[STRPT_MAX], msgs[STRPT_MAX];
	size_t nparse, nmsg;
	int aborts, abort_err;
	uint64_t now;
	/* rcv_msg actions after the message with this index (1-based),
	 * 0 = never */
	size_t pause_at, stop_at, abort_at, feed_at, resume_at;
	int inner_rc; /* what the nested feed/resume returned */
};

static inline void strpt_keep(struct strpt_rec *r,
			      const struct usm_strp_view *v)
{
	r->len = v->len;
	r->off = v->off;
	r->msg_len = v->msg_len;
	r->bytes = malloc(v->len ? v->len : 1);
	assert_non_null(r->bytes);
	memcpy(r->bytes, v->data, v->len);
}

static inline int strpt_parse(void *arg, const struct usm_strp_view *v)
{
	struct strpt *t = arg;
	size_t i = t->nparse;

	assert_true(i < STRPT_MAX);
	assert_int_equal(v->msg_len, 0);
	assert_true(v->off < v->len);
	strpt_keep(&t->parses[t->nparse++], v);
	switch (t->mode) {
	case STRPT_FIXED:
		return t->fixed;
	case STRPT_PREFIX:
		return v->data[v->off];
	case STRPT_SKBLEN:
		return (int)v->len;
	case STRPT_SCRIPT:
		assert_true(i < t->nscript);
		return t->script[i];
	}
	return -EINVAL;
}

static inline void strpt_rcv(void *arg, const struct usm_strp_view *v)
{
	struct strpt *t = arg;
	size_t n;

	assert_true(t->nmsg < STRPT_MAX);
	assert_true(v->msg_len > 0);
	assert_true(v->off + v->msg_len <= v->len);
	strpt_keep(&t->msgs[t->nmsg++], v);
	n = t->nmsg;
	if (n == t->feed_at)
		t->inner_rc = usm__strp_feed(&t->strp, "x", 1);
	if (n == t->resume_at)
		t->inner_rc = usm__strp_resume(&t->strp);
	if (n == t->pause_at)
		usm__strp_pause(&t->strp);
	if (n == t->abort_at)
		usm__strp_abort(&t->strp, -ENOMEM);
	if (n == t->stop_at)
		usm__strp_stop(&t->strp);
}

static inline void strpt_abort(void *arg, int err)
{
	struct strpt *t = arg;

	t->aborts++;
	t->abort_err = err;
}

static inline uint64_t strpt_now(void *arg)
{
	return ((struct strpt *)arg)->now;
}

static inline struct strpt *strpt_new(enum strpt_mode mode, int fixed,
				      uint64_t limit, uint64_t timeout)
{
	struct strpt *t = calloc(1, sizeof(*t));
	struct usm_strp_cbs cbs = { strpt_parse, strpt_rcv, strpt_abort,
				    strpt_now, NULL };

	assert_non_null(t);
	t->mode = mode;
	t->fixed = fixed;
	cbs.arg = t;
	assert_int_equal(usm__strp_init(&t->strp, &cbs, limit, timeout), 0);
	return t;
}

static inline void strpt_free(struct strpt *t)
{
	size_t i;

	usm__strp_fini(&t->strp);
	for (i = 0; i < t->nparse; i++)
		free(t->parses[i].bytes);
	for (i = 0; i < t->nmsg; i++)
		free(t->msgs[i].bytes);
	free(t);
}

/* The message bytes of recorded message @i. */
static inline const uint8_t *strpt_msg(const struct strpt *t, size_t i)
{
	return t->msgs[i].bytes + t->msgs[i].off;
}

static inline void strpt_feed_ok(struct strpt *t, const void *d, size_t n)
{
	assert_int_equal(usm__strp_feed(&t->strp, d, n), 0);
}

#define strpt_feed_str(t, s) strpt_feed_ok((t), (s), strlen(s))

/* Assert recorded message @i is exactly the string @s (with its view). */
#define strpt_assert_msg(t, i, s)                                              \
	do {                                                                   \
		assert_int_equal((t)->msgs[i].msg_len, strlen(s));             \
		assert_memory_equal(strpt_msg((t), (i)), (s), strlen(s));      \
	} while (0)

#endif /* USM_TEST_STRPT_H */
