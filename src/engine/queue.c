/* SPDX-License-Identifier: MIT */
/*
 * Chunk queues: singly linked FIFO lists of owned buffers with a byte
 * count, used for a socket's ingress queue (the kernel's psock
 * ingress_skb/ingress_msg) and its egress backlog. Callers lock.
 */
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

struct usm_chunk *usm__chunk_new(uint8_t *buf, uint32_t off, uint32_t len)
{
	struct usm_chunk *c = malloc(sizeof(*c));

	if (!c)
		return NULL;
	c->next = NULL;
	c->buf = buf;
	c->off = off;
	c->len = len;
	return c;
}

struct usm_chunk *usm__chunk_copy(const void *data, uint32_t len)
{
	uint8_t *buf = malloc(len ? len : 1);
	struct usm_chunk *c;

	if (!buf)
		return NULL;
	if (len)
		memcpy(buf, data, len);
	c = usm__chunk_new(buf, 0, len);
	if (!c)
		free(buf);
	return c;
}

void usm__chunk_free(struct usm_chunk *c)
{
	if (!c)
		return;
	free(c->buf);
	free(c);
}

void usm__cq_push(struct usm_cqueue *q, struct usm_chunk *c)
{
	c->next = NULL;
	if (q->tail)
		q->tail->next = c;
	else
		q->head = c;
	q->tail = c;
	q->bytes += c->len;
	q->count++;
}

struct usm_chunk *usm__cq_pop(struct usm_cqueue *q)
{
	struct usm_chunk *c = q->head;

	if (!c)
		return NULL;
	q->head = c->next;
	if (!q->head)
		q->tail = NULL;
	q->bytes -= c->len;
	q->count--;
	c->next = NULL;
	return c;
}

void usm__cq_clear(struct usm_cqueue *q)
{
	struct usm_chunk *c;

	while ((c = usm__cq_pop(q)))
		usm__chunk_free(c);
}
