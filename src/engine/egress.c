/* SPDX-License-Identifier: MIT */
/*
 * Egress backlog (the kernel's psock ingress_skb work for egress
 * redirects, SKB-15): data redirected to a socket's egress is written to
 * that socket's fd, i.e. sent to its peer, in queue order, with writev
 * for streams and one send per datagram. EAGAIN waits for EPOLLOUT; any
 * other error disables the socket's redirect transmit path and reports
 * the error on it (SKB-19). Resuming paused sources when a target drains
 * below its limit lives here too.
 *
 * End of stream (policy): when an engine-owned socket reads EOF or fails,
 * each socket it fed through egress redirects gets its write side shut
 * down (shutdown(SHUT_WR)) once its backlog is written; an engine-owned
 * socket is closed when it has read EOF, its backlog is written, and
 * either its own write side was shut that way (or failed) or it has no
 * relation left: nothing feeds it and every socket it fed is closed (a
 * reply could still come through those). Sockets with an application
 * keep their write side: their application decides.
 *
 * Loop thread only.
 */
#include <errno.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "engine_int.h"

#define EG_IOV 64

void usm__egress_fail(struct usm_esock *es, int err)
{
	es->tx_disabled = true;
	es->st.error = true;
	usm__cq_clear(&es->outq);
	pthread_mutex_lock(&es->lock);
	if (!es->err)
		es->err = err ? err : EPIPE;
	usm__esock_update_ready(es);
	pthread_mutex_unlock(&es->lock);
	pthread_mutex_lock(&es->eng->pend_lock);
	es->eng->resume = true;
	pthread_mutex_unlock(&es->eng->pend_lock);
}

/* Advance the queue past @n written bytes. */
static void consume(struct usm_esock *es, size_t n)
{
	struct usm_chunk *c;

	es->st.bytes_out += n;
	while (n && (c = es->outq.head)) {
		if (n < c->len) {
			c->off += (uint32_t)n;
			c->len -= (uint32_t)n;
			es->outq.bytes -= n;
			return;
		}
		n -= c->len;
		usm__chunk_free(usm__cq_pop(&es->outq));
	}
}

/* One write: 1 written something, 0 would block, -errno failed. */
static int write_once(struct usm_esock *es)
{
	struct iovec iov[EG_IOV];
	struct msghdr mh = { .msg_iov = iov };
	struct usm_chunk *c = es->outq.head;
	ssize_t n;
	int e;

	for (mh.msg_iovlen = 0; c && mh.msg_iovlen < EG_IOV; c = c->next) {
		iov[mh.msg_iovlen].iov_base = c->buf + c->off;
		iov[mh.msg_iovlen++].iov_len = c->len;
		if (!es->stream)
			break; /* one datagram per send */
	}
	/* under es->lock: see locked_recv in rx.c */
	pthread_mutex_lock(&es->lock);
	if (es->fd_gone) {
		pthread_mutex_unlock(&es->lock);
		return -EBADF;
	}
	n = sendmsg(es->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	e = errno;
	pthread_mutex_unlock(&es->lock);
	errno = e;
	if (n < 0 && errno == EINTR)
		return 1;
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	if (es->stream)
		consume(es, (size_t)n);
	else
		consume(es, es->outq.head->len);
	return 1;
}

static bool feeds_live(const struct usm_esock *es)
{
	uint32_t i;

	for (i = 0; i < es->nfeeds; i++)
		if (!es->feeds[i]->closed)
			return true;
	return false;
}

static void maybe_close(struct usm_esock *es)
{
	if (!(es->flags & USM_ENGINE_OWNED) || !es->rd_eof || es->outq.count)
		return;
	if (es->shut_wr_done || es->tx_disabled ||
	    (!es->nfed_by && !feeds_live(es)))
		usm__engine_close_sock(es->eng, es);
}

void usm__egress_flush(struct usm_esock *es)
{
	uint64_t before = es->outq.bytes;
	int r = 1;

	while (es->outq.count && !es->tx_disabled && r > 0)
		r = write_once(es);
	if (r < 0)
		usm__egress_fail(es, -r); /* SKB-19 */
	if (!es->outq.count && es->shut_wr_pending && !es->shut_wr_done) {
		shutdown(es->fd, SHUT_WR);
		es->shut_wr_done = true;
	}
	if (es->outq.bytes < before && es->waiters) {
		pthread_mutex_lock(&es->eng->pend_lock);
		es->eng->resume = true;
		pthread_mutex_unlock(&es->eng->pend_lock);
	}
	usm__engine_set_events(es->eng, es);
	maybe_close(es);
}

void usm__egress_resume(struct usm_engine *eng)
{
	uint64_t max = usm__engine_max(eng);
	struct usm_esock *es, *t;

	for (es = eng->socks; es; es = es->next) {
		t = es->blocked_on;
		if (!es->paused || !t)
			continue;
		if (!t->closed && !t->detached && !t->tx_disabled &&
		    usm__esock_queued(t) >= max)
			continue;
		es->paused = false;
		es->blocked_on = NULL;
		usm__esock_put(t);
		usm__rx_resume(es);
		usm__engine_set_events(eng, es);
		/* data may have arrived while paused: level-triggered epoll
		 * reports it at the next wait */
	}
}

void usm__egress_eof(struct usm_esock *es)
{
	uint32_t i;

	if (!(es->flags & USM_ENGINE_OWNED))
		return;
	for (i = 0; i < es->nfeeds; i++) {
		es->feeds[i]->shut_wr_pending = true;
		usm__engine_mark_dirty(es->eng, es->feeds[i]);
	}
	usm__engine_mark_dirty(es->eng, es);
}
