/* SPDX-License-Identifier: MIT */
/*
 * Test support for the sk_msg ring: build messages with an exact chunk
 * layout at any ring position, check the ring invariants, and two
 * independent reference models the results are compared with:
 *   - a flat byte model (what the receiver reads): each byte is its
 *     original value, or -1 for a pushed byte (the kernel leaves those
 *     uninitialised; usockmap zeroes them);
 *   - a layout model (the chunk lengths the kernel's helpers leave, which
 *     programs observe through data/data_end = the first chunk).
 * Static functions: each test binary includes this once.
 */
#ifndef USM_TEST_MSGT_H
#define USM_TEST_MSGT_H

#include "usm_test.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../../src/skmsg/msg.h"

#define MSGT_MAX 17u

/* Byte @pos of a test message. */
static inline uint8_t msgt_pat(uint32_t pos, uint8_t seed)
{
	return (uint8_t)(pos * 13u + seed + (pos >> 8));
}

struct msgt_ref {
	int16_t *v;
	uint32_t len;
};

struct msgt_layout {
	uint32_t n;
	uint32_t len[MSGT_MAX + 1];
};

static inline void msgt_ref_init(struct msgt_ref *r, uint32_t len,
				 uint8_t seed)
{
	uint32_t i;

	r->v = malloc(sizeof(int16_t) * (len ? len : 1));
	assert_non_null(r->v);
	r->len = len;
	for (i = 0; i < len; i++)
		r->v[i] = msgt_pat(i, seed);
}

static inline void msgt_ref_fini(struct msgt_ref *r)
{
	free(r->v);
	r->v = NULL;
}

static inline void msgt_ref_push(struct msgt_ref *r, uint32_t start,
				 uint32_t len)
{
	uint32_t i;

	r->v = realloc(r->v, sizeof(int16_t) * (r->len + len + 1));
	assert_non_null(r->v);
	memmove(r->v + start + len, r->v + start,
		sizeof(int16_t) * (r->len - start));
	for (i = 0; i < len; i++)
		r->v[start + i] = -1;
	r->len += len;
}

static inline void msgt_ref_pop(struct msgt_ref *r, uint32_t start,
				uint32_t len)
{
	memmove(r->v + start, r->v + start + len,
		sizeof(int16_t) * (r->len - start - len));
	r->len -= len;
}

/* Append one chunk of @len pattern bytes (from message offset @pos). */
static inline void msgt_add_chunk(struct usm_sk_msg *m, uint32_t len,
				  uint32_t pos, uint8_t seed)
{
	struct usm_msg_buf *b = usm__msg_buf_new(len + 8);
	struct usm_msg_chunk *c = &m->sg[m->end];
	uint32_t i;

	assert_non_null(b);
	assert_false(usm__msg_full(m));
	/* Chunks start 4 bytes into their buffer, as frag pieces do. */
	for (i = 0; i < len; i++)
		b->data[4 + i] = msgt_pat(pos + i, seed);
	c->buf = b;
	c->off = 4;
	c->len = len;
	c->shared = false;
	m->size += len;
	m->end = usm__msg_next(m->end);
}

/* A message whose ring starts at @slot with chunks @lens[0..n). */
static inline void msgt_build(struct usm_sk_msg *m, uint32_t slot,
			      const uint32_t *lens, uint32_t n, uint8_t seed,
			      struct msgt_layout *lay)
{
	uint32_t i, pos = 0;

	usm__msg_init(m);
	m->start = m->end = slot;
	for (i = 0; i < n; i++) {
		msgt_add_chunk(m, lens[i], pos, seed);
		pos += lens[i];
	}
	if (lay) {
		lay->n = n;
		memcpy(lay->len, lens, sizeof(*lens) * n);
	}
}

/* The ring invariants of msg.c. */
static inline void msgt_check_ring(const struct usm_sk_msg *m)
{
	uint32_t i, sum = 0, used = 0;
	bool in;

	assert_true(m->start < USM_MSG_NR_IDS && m->end < USM_MSG_NR_IDS);
	assert_true(usm__msg_elem_used(m) <= USM_MSG_MAX_FRAGS);
	for (i = 0; i < USM_MSG_NR_IDS; i++) {
		const struct usm_msg_chunk *c = &m->sg[i];

		in = usm__msg_dist(m->start, i) < usm__msg_elem_used(m);
		if (in) {
			assert_non_null(c->buf);
			assert_true(c->len > 0);
			assert_true((uint64_t)c->off + c->len <= c->buf->cap);
			assert_true(c->buf->refcnt >= 1);
			sum += c->len;
			used++;
		} else {
			assert_null(c->buf);
			assert_int_equal(c->len, 0);
			assert_int_equal(c->off, 0);
			assert_false(c->shared);
		}
	}
	assert_int_equal(used, usm__msg_elem_used(m));
	assert_int_equal(sum, m->size);
}

static inline void msgt_layout_of(const struct usm_sk_msg *m,
				  struct msgt_layout *lay)
{
	uint32_t i;

	lay->n = 0;
	for (i = m->start; i != m->end; i = usm__msg_next(i))
		lay->len[lay->n++] = m->sg[i].len;
}

static inline void msgt_check_layout(const struct usm_sk_msg *m,
				     const struct msgt_layout *want)
{
	struct msgt_layout got;
	uint32_t i;

	msgt_layout_of(m, &got);
	assert_int_equal(got.n, want->n);
	for (i = 0; i < got.n; i++)
		assert_int_equal(got.len[i], want->len[i]);
}

/* Receiver-visible bytes equal the flat model; pushed bytes are zero. */
static inline void msgt_check_bytes(const struct usm_sk_msg *m,
				    const struct msgt_ref *r)
{
	uint8_t *flat = malloc(r->len + 1);
	uint32_t i;

	assert_non_null(flat);
	assert_int_equal(m->size, r->len);
	assert_int_equal(usm__msg_read(m, 0, flat, r->len + 1), r->len);
	for (i = 0; i < r->len; i++) {
		int want = r->v[i] < 0 ? 0 : r->v[i];

		if (flat[i] != want)
			fail_msg("byte %u: got 0x%02x want 0x%02x", i, flat[i],
				 want);
	}
	free(flat);
}

static inline void msgt_check_all(const struct usm_sk_msg *m,
				  const struct msgt_ref *r,
				  const struct msgt_layout *lay)
{
	msgt_check_ring(m);
	msgt_check_bytes(m, r);
	if (lay)
		msgt_check_layout(m, lay);
}

/* ---- The layout model: what the kernel's helpers leave. ---- */

/* Index of the chunk holding byte @pos, *off its first byte; n if none. */
static inline uint32_t lay_find(const struct msgt_layout *l, uint32_t pos,
				uint32_t *off)
{
	uint32_t k, o = 0;

	for (k = 0; k < l->n && pos >= o + l->len[k]; k++)
		o += l->len[k];
	*off = o;
	return k;
}

static inline void lay_insert(struct msgt_layout *l, uint32_t at,
			      uint32_t len)
{
	memmove(&l->len[at + 1], &l->len[at], sizeof(uint32_t) * (l->n - at));
	l->len[at] = len;
	l->n++;
}

static inline void lay_remove(struct msgt_layout *l, uint32_t at)
{
	memmove(&l->len[at], &l->len[at + 1],
		sizeof(uint32_t) * (l->n - at - 1));
	l->n--;
}

/* bpf_msg_push_data(start, len), valid arguments, len > 0. */
static inline void lay_push(struct msgt_layout *l, uint32_t start,
			    uint32_t len)
{
	uint32_t off, k = lay_find(l, start, &off), space = MSGT_MAX - l->n;

	if (k == l->n) { /* append */
		if (space)
			lay_insert(l, k, len);
		else
			l->len[k - 1] += len;
	} else if (start == off) {
		if (space)
			lay_insert(l, k, len);
		else
			l->len[k] += len;
	} else if (space >= 2) {
		uint32_t rest = l->len[k] - (start - off);

		l->len[k] = start - off;
		lay_insert(l, k + 1, len);
		lay_insert(l, k + 2, rest);
	} else {
		l->len[k] += len;
	}
}

/* bpf_msg_pop_data(start, len), valid arguments, len > 0. */
static inline void lay_pop(struct msgt_layout *l, uint32_t start,
			   uint32_t len)
{
	uint32_t off, k = lay_find(l, start, &off), a = start - off;

	if (a && a + len < l->len[k]) {
		uint32_t b = l->len[k] - a - len;

		if (l->n < MSGT_MAX) {
			l->len[k] = a;
			lay_insert(l, k + 1, b);
		} else {
			l->len[k] = a + b;
		}
		return;
	}
	if (a) {
		len -= l->len[k] - a;
		l->len[k] = a;
		k++;
	}
	while (len) {
		if (len < l->len[k]) {
			l->len[k] -= len;
			return;
		}
		len -= l->len[k];
		lay_remove(l, k);
	}
}

/* bpf_msg_pull_data(start, end), valid arguments, no shared chunks. */
static inline void lay_pull(struct msgt_layout *l, uint32_t start,
			    uint32_t end)
{
	uint32_t off, k = lay_find(l, start, &off), sum = l->len[k];

	while (off + sum < end) {
		sum += l->len[k + 1];
		lay_remove(l, k + 1);
	}
	l->len[k] = sum;
}

#endif /* USM_TEST_MSGT_H */
