/* SPDX-License-Identifier: MIT */
/*
 * The program-visible message operations behind bpf_msg_pull_data,
 * bpf_msg_push_data and bpf_msg_pop_data (SEMANTICS MSG-11..14): their
 * bounds, error codes and the chunk layout they leave, which programs see
 * through data/data_end (the first chunk). Each operation validates and
 * allocates before it changes anything, so on error the message is
 * unchanged. The ring invariants of msg.c hold on return.
 */
#include "msg.h"

#include <errno.h>
#include <string.h>

/* Open @count zeroed slots at @at by moving [at, end) right. The caller
 * made sure they fit. */
static void ring_insert(struct usm_sk_msg *msg, uint32_t at, uint32_t count)
{
	uint32_t n = usm__msg_dist(at, msg->end), k;

	for (k = n; k-- > 0;)
		msg->sg[usm__msg_add(at, k + count)] =
			msg->sg[usm__msg_add(at, k)];
	for (k = 0; k < count; k++)
		memset(&msg->sg[usm__msg_add(at, k)], 0, sizeof(msg->sg[0]));
	msg->end = usm__msg_add(msg->end, count);
}

/* Close @count already-cleared slots at @at by moving the rest left. */
static void ring_remove(struct usm_sk_msg *msg, uint32_t at, uint32_t count)
{
	uint32_t from = usm__msg_add(at, count);
	uint32_t n = usm__msg_dist(from, msg->end), k;

	for (k = 0; k < n; k++)
		msg->sg[usm__msg_add(at, k)] = msg->sg[usm__msg_add(from, k)];
	for (k = 0; k < count; k++)
		memset(&msg->sg[usm__msg_add(at, n + k)], 0,
		       sizeof(msg->sg[0]));
	msg->end = usm__msg_add(at, n);
}

/* Replace slot @i's chunk by @buf (whole buffer, unshared). */
static void chunk_replace(struct usm_sk_msg *msg, uint32_t i,
			  struct usm_msg_buf *buf)
{
	usm__msg_chunk_clear(&msg->sg[i]);
	msg->sg[i].buf = buf;
	msg->sg[i].len = buf->cap;
}

static struct usm_msg_buf *buf_alloc(uint64_t size)
{
	if (size > USM_MSG_MAX_ALLOC)
		return NULL; /* beyond the kernel's alloc_pages() order limit */
	return usm__msg_buf_new((uint32_t)size);
}

int usm__msg_pull(struct usm_sk_msg *msg, uint32_t start, uint32_t end,
		  uint64_t flags, uint8_t **data)
{
	uint32_t off, i, j, n = 0, copy = 0, pos = 0;
	struct usm_msg_buf *buf;

	if (flags || end <= start)
		return -EINVAL;
	i = usm__msg_find(msg, start, &off);
	if (i == msg->end)
		return -EINVAL; /* start >= size */
	if (!msg->sg[i].shared && end - off <= msg->sg[i].len) {
		*data = usm__msg_chunk_ptr(&msg->sg[i]) + (start - off);
		return 0;
	}
	if (end > msg->size)
		return -EINVAL;
	/* Whole chunks from i until the range is covered (as the kernel:
	 * partial chunks are never split off). */
	for (j = i; copy < end - off; j = usm__msg_next(j), n++)
		copy += msg->sg[j].len;
	buf = buf_alloc(copy);
	if (!buf)
		return -ENOMEM;
	for (j = i; pos < copy; j = usm__msg_next(j)) {
		memcpy(buf->data + pos, usm__msg_chunk_ptr(&msg->sg[j]),
		       msg->sg[j].len);
		pos += msg->sg[j].len;
		if (j != i)
			usm__msg_chunk_clear(&msg->sg[j]);
	}
	chunk_replace(msg, i, buf);
	ring_remove(msg, usm__msg_next(i), n - 1);
	*data = buf->data + (start - off);
	return 0;
}

/* Fill @buf with [front][len zero bytes][back] from the chunk at slot @i
 * and put it in the slot. */
static void merge_into(struct usm_sk_msg *msg, uint32_t i, uint32_t front,
		       uint32_t len, struct usm_msg_buf *buf)
{
	struct usm_msg_chunk *c = &msg->sg[i];
	uint32_t back = c->len - front;

	memcpy(buf->data, usm__msg_chunk_ptr(c), front);
	memset(buf->data + front, 0, len);
	memcpy(buf->data + front + len, usm__msg_chunk_ptr(c) + front, back);
	chunk_replace(msg, i, buf);
	msg->size += len;
}

/* Push when the ring has no room for a new chunk (the kernel's copy
 * case): rebuild the chunk at slot @i with the new bytes after @front. */
static int push_merge(struct usm_sk_msg *msg, uint32_t i, uint32_t front,
		      uint32_t len)
{
	uint32_t clen = msg->sg[i].len;
	struct usm_msg_buf *buf;

	if (clen + len < clen)
		return -EINVAL; /* size arithmetic overflow (MSG-12) */
	buf = buf_alloc((uint64_t)clen + len);
	if (!buf)
		return -ENOMEM;
	merge_into(msg, i, front, len, buf);
	return 0;
}

/*
 * Append to a full ring. The kernel allocates only the new bytes here
 * (-ENOMEM past the order limit), then writes them into the ring's spare
 * slot, after which its ring reads as empty (end == start). If the push is
 * the program's last change, it still sends the right bytes: those of the
 * new bytes merged into the last chunk, which is what we do. Anything the
 * kernel does with that message afterwards goes wrong (measured on 6.18:
 * later pushes fail with -EINVAL, the receiver gets a truncated stream or
 * garbage, send() may return 0); we deliberately keep a consistent ring.
 */
static int push_append_full(struct usm_sk_msg *msg, uint32_t len)
{
	uint32_t last = usm__msg_prev(msg->end);
	struct usm_msg_buf *buf;

	if (len > USM_MSG_MAX_ALLOC)
		return -ENOMEM;
	buf = usm__msg_buf_new(msg->sg[last].len + len);
	if (!buf)
		return -ENOMEM;
	merge_into(msg, last, msg->sg[last].len, len, buf);
	return 0;
}

/* Push with room: a new chunk of @len zero bytes at slot @at; when
 * @front > 0 the chunk at @at is first cut after @front bytes and its
 * rest follows the new chunk (needs two free slots). */
static int push_insert(struct usm_sk_msg *msg, uint32_t at, uint32_t front,
		       uint32_t len)
{
	struct usm_msg_buf *buf = buf_alloc(len);
	uint32_t at_new = at;

	if (!buf)
		return -ENOMEM;
	memset(buf->data, 0, len);
	if (front) {
		struct usm_msg_chunk rest = msg->sg[at];

		ring_insert(msg, usm__msg_next(at), 2);
		msg->sg[at].len = front;
		rest.off += front;
		rest.len -= front;
		usm__msg_buf_get(rest.buf);
		at_new = usm__msg_next(at);
		msg->sg[usm__msg_next(at_new)] = rest;
	} else {
		ring_insert(msg, at, 1);
	}
	msg->sg[at_new].buf = buf;
	msg->sg[at_new].len = len;
	msg->size += len;
	return 0;
}

int usm__msg_push(struct usm_sk_msg *msg, uint32_t start, uint32_t len,
		  uint64_t flags)
{
	uint32_t off, i, space;

	if (flags)
		return -EINVAL;
	if (!len)
		return 0;
	if (start > msg->size)
		return -EINVAL;
	/* The kernel's u32 size would wrap (a message near 4 GiB, built by
	 * pushing); refuse instead. Larger lengths fail below as in the
	 * kernel (-ENOMEM, or -EINVAL for the copy overflow). */
	if (len <= USM_MSG_MAX_ALLOC && msg->size + len < msg->size)
		return -EINVAL;
	i = usm__msg_find(msg, start, &off);
	space = USM_MSG_MAX_FRAGS - usm__msg_elem_used(msg);
	if (i == msg->end) /* append: one new chunk */
		return space ? push_insert(msg, i, 0, len)
			     : push_append_full(msg, len);
	if (start == off)
		return space ? push_insert(msg, i, 0, len)
			     : push_merge(msg, i, 0, len);
	return space >= 2 ? push_insert(msg, i, start - off, len)
			  : push_merge(msg, i, start - off, len);
}

/* Pop strictly inside one chunk ([a, a + len) with bytes after it): cut
 * the chunk in two around the hole, or, with the ring full, copy the two
 * kept parts into one new buffer. */
static int pop_inside(struct usm_sk_msg *msg, uint32_t i, uint32_t a,
		      uint32_t len)
{
	struct usm_msg_chunk *c = &msg->sg[i];
	uint32_t b = c->len - a - len;

	if (usm__msg_full(msg)) {
		struct usm_msg_buf *buf = buf_alloc((uint64_t)a + b);

		if (!buf)
			return -ENOMEM;
		memcpy(buf->data, usm__msg_chunk_ptr(c), a);
		memcpy(buf->data + a, usm__msg_chunk_ptr(c) + a + len, b);
		chunk_replace(msg, i, buf);
	} else {
		struct usm_msg_chunk tail = *c;
		uint32_t t = usm__msg_next(i);

		ring_insert(msg, t, 1);
		c->len = a;
		tail.off += a + len;
		tail.len = b;
		usm__msg_buf_get(tail.buf);
		msg->sg[t] = tail;
	}
	msg->size -= len;
	return 0;
}

int usm__msg_pop(struct usm_sk_msg *msg, uint32_t start, uint32_t len,
		 uint64_t flags)
{
	uint32_t off, i, a, left = len;

	if (flags)
		return -EINVAL;
	if (!len)
		return 0;
	i = usm__msg_find(msg, start, &off);
	if (i == msg->end || (uint64_t)start + len > msg->size)
		return -EINVAL; /* MSG-13: bounds without 32-bit wrap */
	a = start - off;
	if (a && (uint64_t)a + len < msg->sg[i].len)
		return pop_inside(msg, i, a, len);
	if (a) {
		/* Keep the front of this chunk, pop on from the next. */
		left -= msg->sg[i].len - a;
		msg->sg[i].len = a;
		i = usm__msg_next(i);
	}
	while (left) {
		struct usm_msg_chunk *c = &msg->sg[i];

		if (left < c->len) {
			c->off += left;
			c->len -= left;
			break;
		}
		left -= c->len;
		usm__msg_chunk_clear(c);
		ring_remove(msg, i, 1);
	}
	msg->size -= len;
	return 0;
}
