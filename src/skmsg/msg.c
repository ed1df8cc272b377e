/* SPDX-License-Identifier: MIT */
/*
 * The sk_msg ring (see msg.h): buffers, lifetime, copy-in from the sender
 * (iovec or file), copy-out, trim, consume from the front and clone. The
 * program-visible pull/push/pop live in msg_ops.c.
 *
 * Invariants kept by every function here: used slots [start, end) hold
 * chunks with len > 0 and a buffer reference; unused slots are all-zero;
 * size is the sum of the used lengths; at most USM_MSG_MAX_FRAGS used.
 */
#include "msg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../progtype/progtype.h"

/* Allocation failure injection (usm__msg_fail_alloc_after). */
static _Thread_local int fail_countdown = -1;

void usm__msg_fail_alloc_after(int n)
{
	fail_countdown = n;
}

static bool alloc_should_fail(void)
{
	if (fail_countdown < 0)
		return false;
	if (fail_countdown == 0) {
		fail_countdown = -1;
		return true;
	}
	fail_countdown--;
	return false;
}

struct usm_msg_buf *usm__msg_buf_new(uint32_t cap)
{
	struct usm_msg_buf *buf;

	if (alloc_should_fail())
		return NULL;
	buf = malloc(sizeof(*buf) + cap);
	if (!buf)
		return NULL;
	buf->refcnt = 1;
	buf->cap = cap;
	return buf;
}

void usm__msg_buf_get(struct usm_msg_buf *buf)
{
	buf->refcnt++;
}

void usm__msg_buf_put(struct usm_msg_buf *buf)
{
	if (buf && --buf->refcnt == 0)
		free(buf);
}

void usm__msg_chunk_clear(struct usm_msg_chunk *c)
{
	usm__msg_buf_put(c->buf);
	memset(c, 0, sizeof(*c));
}

uint32_t usm__msg_find(const struct usm_sk_msg *msg, uint32_t pos,
		       uint32_t *off)
{
	uint32_t i, o = 0;

	for (i = msg->start; i != msg->end; i = usm__msg_next(i)) {
		if (pos - o < msg->sg[i].len)
			break;
		o += msg->sg[i].len;
	}
	*off = o;
	return i;
}

void usm__msg_init(struct usm_sk_msg *msg)
{
	memset(msg, 0, sizeof(*msg));
}

uint32_t usm__msg_fini(struct usm_sk_msg *msg)
{
	uint32_t i, freed = msg->size;

	for (i = msg->start; i != msg->end; i = usm__msg_next(i))
		usm__msg_chunk_clear(&msg->sg[i]);
	usm__msg_init(msg);
	return freed;
}

int usm__msg_new(struct usm_sk_msg **out)
{
	struct usm_sk_msg *msg;

	*out = NULL;
	if (alloc_should_fail())
		return -ENOMEM;
	msg = malloc(sizeof(*msg));
	if (!msg)
		return -ENOMEM;
	usm__msg_init(msg);
	*out = msg;
	return 0;
}

void usm__msg_free(struct usm_sk_msg *msg)
{
	if (!msg)
		return;
	usm__msg_fini(msg);
	free(msg);
}

void usm__msg_frag_init(struct usm_msg_frag *frag)
{
	frag->buf = NULL;
	frag->off = 0;
}

void usm__msg_frag_fini(struct usm_msg_frag *frag)
{
	usm__msg_buf_put(frag->buf);
	usm__msg_frag_init(frag);
}

/*
 * Make sure the frag has room (the kernel's skb_page_frag_refill with its
 * 32-byte threshold): a frag nobody else references restarts at offset 0;
 * one with fewer than USM_MSG_FRAG_MIN bytes left is replaced.
 */
static int frag_refill(struct usm_msg_frag *frag)
{
	if (frag->buf) {
		if (frag->buf->refcnt == 1) {
			frag->off = 0;
			return 0;
		}
		if (frag->off + USM_MSG_FRAG_MIN <= frag->buf->cap)
			return 0;
		usm__msg_buf_put(frag->buf);
		frag->buf = NULL;
	}
	frag->buf = usm__msg_buf_new(USM_MSG_FRAG_SIZE);
	if (!frag->buf)
		return -ENOMEM;
	frag->off = 0;
	return 0;
}

/* Take @use bytes at the frag's offset onto the tail of @msg: extend the
 * last chunk if it ends exactly there, else add a chunk. false if the ring
 * is full. */
static bool take_from_frag(struct usm_sk_msg *msg, struct usm_msg_frag *frag,
			   uint32_t use)
{
	struct usm_msg_chunk *last = &msg->sg[usm__msg_prev(msg->end)];

	if (msg->size && last->buf == frag->buf &&
	    last->off + last->len == frag->off) {
		last->len += use;
	} else {
		struct usm_msg_chunk *c = &msg->sg[msg->end];

		if (usm__msg_full(msg))
			return false;
		usm__msg_buf_get(frag->buf);
		c->buf = frag->buf;
		c->off = frag->off;
		c->len = use;
		c->shared = false;
		msg->end = usm__msg_next(msg->end);
	}
	msg->size += use;
	frag->off += use;
	return true;
}

/* Grow @msg by up to @len uninitialised bytes (sk_msg_alloc). Returns the
 * bytes added, or -ENOMEM with @msg unchanged. */
static int reserve(struct usm_sk_msg *msg, struct usm_msg_frag *frag,
		   uint32_t len)
{
	uint32_t osize = msg->size, left = len;

	while (left) {
		uint32_t use;

		if (frag_refill(frag)) {
			usm__msg_trim(msg, osize);
			return -ENOMEM;
		}
		use = frag->buf->cap - frag->off;
		if (use > left)
			use = left;
		if (!take_from_frag(msg, frag, use))
			break;
		left -= use;
	}
	return (int)(len - left);
}

/* Copy @len bytes from @src into the message at byte @pos (in range). */
static void write_at(struct usm_sk_msg *msg, uint32_t pos, const uint8_t *src,
		     uint32_t len)
{
	uint32_t off, i = usm__msg_find(msg, pos, &off);

	pos -= off;
	while (len) {
		struct usm_msg_chunk *c = &msg->sg[i];
		uint32_t n = c->len - pos;

		if (n > len)
			n = len;
		memcpy(usm__msg_chunk_ptr(c) + pos, src, n);
		src += n;
		len -= n;
		pos = 0;
		i = usm__msg_next(i);
	}
}

int usm__msg_append_iov(struct usm_sk_msg *msg, struct usm_msg_frag *frag,
			const struct iovec *iov, int iovcnt, size_t skip,
			uint32_t len)
{
	uint32_t pos = msg->size, done = 0;
	int got, k;

	if (!len)
		return 0;
	got = reserve(msg, frag, len);
	if (got <= 0)
		return got < 0 ? got : -ENOSPC;
	for (k = 0; k < iovcnt && done < (uint32_t)got; k++) {
		size_t n = iov[k].iov_len;

		if (skip >= n) {
			skip -= n;
			continue;
		}
		n -= skip;
		if (n > (uint32_t)got - done)
			n = (uint32_t)got - done;
		write_at(msg, pos + done, (const uint8_t *)iov[k].iov_base + skip,
			 (uint32_t)n);
		done += (uint32_t)n;
		skip = 0;
	}
	/* The iovec held fewer bytes than asked for: keep what it had. */
	usm__msg_trim(msg, pos + done);
	return (int)done;
}

int usm__msg_append_buf(struct usm_sk_msg *msg, struct usm_msg_frag *frag,
			const void *buf, uint32_t len)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

	return usm__msg_append_iov(msg, frag, &iov, 1, 0, len);
}

/* pread exactly into one chunk region; returns bytes read (short at EOF)
 * or -errno. */
static ssize_t pread_full(int fd, uint8_t *dst, uint32_t len, off_t off)
{
	uint32_t got = 0;

	while (got < len) {
		ssize_t r = pread(fd, dst + got, len - got, off + got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		got += (uint32_t)r;
	}
	return got;
}

int usm__msg_append_fd(struct usm_sk_msg *msg, struct usm_msg_frag *frag,
		       int fd, off_t off, uint32_t len)
{
	uint32_t pos = msg->size, done = 0, coff;
	uint32_t i;
	int got;

	if (!len)
		return 0;
	got = reserve(msg, frag, len);
	if (got <= 0)
		return got < 0 ? got : -ENOSPC;
	i = usm__msg_find(msg, pos, &coff);
	coff = pos - coff;
	while (done < (uint32_t)got) {
		struct usm_msg_chunk *c = &msg->sg[i];
		uint32_t n = c->len - coff;
		ssize_t r;

		if (n > (uint32_t)got - done)
			n = (uint32_t)got - done;
		r = pread_full(fd, usm__msg_chunk_ptr(c) + coff, n, off + done);
		if (r < 0) {
			usm__msg_trim(msg, pos);
			return (int)r;
		}
		done += (uint32_t)r;
		if ((uint32_t)r < n)
			break; /* end of file */
		coff = 0;
		i = usm__msg_next(i);
	}
	usm__msg_trim(msg, pos + done);
	return (int)done;
}

uint32_t usm__msg_read(const struct usm_sk_msg *msg, uint32_t off, void *dst,
		       uint32_t len)
{
	uint32_t coff, i = usm__msg_find(msg, off, &coff), done = 0;
	uint8_t *d = dst;

	off -= coff;
	for (; i != msg->end && done < len; i = usm__msg_next(i)) {
		const struct usm_msg_chunk *c = &msg->sg[i];
		uint32_t n = c->len - off;

		if (n > len - done)
			n = len - done;
		memcpy(d + done, usm__msg_chunk_ptr(c) + off, n);
		done += n;
		off = 0;
	}
	return done;
}

uint32_t usm__msg_read_iov(const struct usm_sk_msg *msg, uint32_t off,
			   const struct iovec *iov, int iovcnt)
{
	uint32_t done = 0;
	int k;

	for (k = 0; k < iovcnt; k++) {
		uint32_t want = iov[k].iov_len > UINT32_MAX - done
				       ? UINT32_MAX - done
				       : (uint32_t)iov[k].iov_len;
		uint32_t n = usm__msg_read(msg, off + done, iov[k].iov_base,
					   want);

		done += n;
		if (n < want)
			break;
	}
	return done;
}

int usm__msg_to_iov(const struct usm_sk_msg *msg, uint32_t max,
		    struct iovec *iov, int iovcnt)
{
	uint32_t i;
	int k = 0;

	for (i = msg->start; i != msg->end && k < iovcnt && max;
	     i = usm__msg_next(i)) {
		const struct usm_msg_chunk *c = &msg->sg[i];
		uint32_t n = c->len < max ? c->len : max;

		iov[k].iov_base = usm__msg_chunk_ptr(c);
		iov[k].iov_len = n;
		max -= n;
		k++;
	}
	return k;
}

void usm__msg_trim(struct usm_sk_msg *msg, uint32_t len)
{
	uint32_t cut;

	if (len >= msg->size)
		return;
	cut = msg->size - len;
	msg->size = len;
	while (cut) {
		uint32_t last = usm__msg_prev(msg->end);
		struct usm_msg_chunk *c = &msg->sg[last];

		if (cut < c->len) {
			c->len -= cut;
			break;
		}
		cut -= c->len;
		usm__msg_chunk_clear(c);
		msg->end = last;
	}
}

void usm__msg_consume(struct usm_sk_msg *msg, uint32_t bytes)
{
	while (bytes && msg->start != msg->end) {
		struct usm_msg_chunk *c = &msg->sg[msg->start];

		if (bytes < c->len) {
			c->off += bytes;
			c->len -= bytes;
			msg->size -= bytes;
			return;
		}
		bytes -= c->len;
		msg->size -= c->len;
		usm__msg_chunk_clear(c);
		msg->start = usm__msg_next(msg->start);
	}
}

/* Add one shared piece to the tail of @dst, merging with a contiguous
 * last chunk of the same buffer. false if @dst is full. */
static bool clone_piece(struct usm_sk_msg *dst, struct usm_msg_buf *buf,
			uint32_t off, uint32_t len)
{
	struct usm_msg_chunk *last = &dst->sg[usm__msg_prev(dst->end)];
	struct usm_msg_chunk *c;

	if (dst->size && last->buf == buf && last->off + last->len == off) {
		last->len += len;
		dst->size += len;
		return true;
	}
	if (usm__msg_full(dst))
		return false;
	c = &dst->sg[dst->end];
	usm__msg_buf_get(buf);
	c->buf = buf;
	c->off = off;
	c->len = len;
	c->shared = true;
	dst->size += len;
	dst->end = usm__msg_next(dst->end);
	return true;
}

int usm__msg_clone(struct usm_sk_msg *dst, const struct usm_sk_msg *src,
		   uint32_t off, uint32_t len)
{
	uint32_t coff, i;

	if ((uint64_t)off + len > src->size)
		return -EINVAL;
	i = usm__msg_find(src, off, &coff);
	off -= coff;
	while (len) {
		const struct usm_msg_chunk *c = &src->sg[i];
		uint32_t n = c->len - off;

		if (n > len)
			n = len;
		if (!clone_piece(dst, c->buf, c->off + off, n))
			return -ENOSPC;
		len -= n;
		off = 0;
		i = usm__msg_next(i);
	}
	return 0;
}

void usm__msg_compute_data_pointers(struct usm_msg_ctx *ctx)
{
	struct usm_sk_msg *msg = ctx->msg;
	const struct usm_msg_chunk *c;

	ctx->md.data = NULL;
	ctx->md.data_end = NULL;
	ctx->md.size = msg ? msg->size : 0;
	if (!msg || !msg->size)
		return;
	c = &msg->sg[msg->start];
	if (c->shared)
		return; /* MSG-03: no direct access to shared bytes */
	ctx->md.data = usm__msg_chunk_ptr(c);
	ctx->md.data_end = (uint8_t *)ctx->md.data + c->len;
}
