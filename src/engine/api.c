/* SPDX-License-Identifier: MIT */
/*
 * Application side (include/usockmap/sock.h): usm_recv, usm_recvmsg,
 * FIONREAD and the poll fd over an esock's ingress queue, with the
 * kernel's results (SEMANTICS RECV-01..09, PSK-08). Any thread; the queue
 * is read under the esock's lock, the loop fills it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "../sock/sock.h"
#include "engine_int.h"
#include "usockmap/sock.h"

static size_t iov_total(const struct msghdr *m)
{
	size_t i, n = 0;

	for (i = 0; i < m->msg_iovlen; i++)
		n += m->msg_iov[i].iov_len;
	return n;
}

/* Copy @len bytes at @src into the iovecs from byte @at on. */
static void iov_put(struct msghdr *m, size_t at, const uint8_t *src,
		    size_t len)
{
	size_t i, k;

	for (i = 0; i < m->msg_iovlen && len; i++) {
		if (at >= m->msg_iov[i].iov_len) {
			at -= m->msg_iov[i].iov_len;
			continue;
		}
		k = m->msg_iov[i].iov_len - at;
		k = k < len ? k : len;
		memcpy((uint8_t *)m->msg_iov[i].iov_base + at, src, k);
		src += k;
		len -= k;
		at = 0;
	}
}

/* RECV-01/02: read across chunks. es->lock held. */
static size_t take_stream(struct usm_esock *es, struct msghdr *m,
			  size_t want, bool peek)
{
	struct usm_chunk *c = es->inq.head;
	size_t done = 0, k;

	while (c && done < want) {
		k = c->len < want - done ? c->len : want - done;
		iov_put(m, done, c->buf + c->off, k);
		done += k;
		if (peek) {
			c = c->next;
		} else if (k == c->len) {
			usm__chunk_free(usm__cq_pop(&es->inq));
			c = es->inq.head;
		} else {
			c->off += (uint32_t)k;
			c->len -= (uint32_t)k;
			es->inq.bytes -= k;
		}
	}
	return done;
}

static void drained(struct usm_esock *es)
{
	if (!es->waiters)
		return;
	pthread_mutex_lock(&es->eng->pend_lock);
	es->eng->resume = true;
	pthread_mutex_unlock(&es->eng->pend_lock);
	usm__engine_wake(es->eng);
}

/* Native receive when no verdict runs (PSK-08): wait on the socket and
 * on the queue's eventfd. es->lock held on entry, released on return
 * when *done. */
static ssize_t native(struct usm_esock *es, struct msghdr *m, int flags,
		      bool nonblock, bool *done)
{
	struct pollfd p[2] = { { .fd = es->fd, .events = POLLIN },
			       { .fd = es->evfd, .events = POLLIN } };
	ssize_t n;

	pthread_mutex_unlock(&es->lock);
	n = recvmsg(es->fd, m, flags | MSG_DONTWAIT);

	*done = n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK) ||
		nonblock;
	if (!*done) {
		poll(p, 2, -1);
		pthread_mutex_lock(&es->lock);
	}
	return n;
}

static ssize_t recv_es(struct usm_esock *es, struct msghdr *m, int flags,
		       bool nonblock)
{
	size_t want = iov_total(m);
	bool done;
	ssize_t n;
	int e;

	pthread_mutex_lock(&es->lock);
	for (;;) {
		if (es->inq.count) {
			m->msg_namelen = 0;
			m->msg_controllen = 0;
			/* Datagram sockets too: the kernel's psock queue
			 * is read across messages (__sk_msg_recvmsg). */
			n = (ssize_t)take_stream(es, m, want,
						 flags & MSG_PEEK);
			usm__esock_update_ready(es);
			pthread_mutex_unlock(&es->lock);
			if (!(flags & MSG_PEEK))
				drained(es);
			return n;
		}
		if (es->err) {
			e = es->err;
			es->err = 0;
			usm__esock_update_ready(es);
			pthread_mutex_unlock(&es->lock);
			errno = e;
			return -1;
		}
		if (es->eof || (es->detached && es->verdict)) {
			pthread_mutex_unlock(&es->lock);
			return 0; /* RECV-07 */
		}
		if (!es->verdict || es->detached) {
			n = native(es, m, flags, nonblock, &done);
			if (done)
				return n;
			continue;
		}
		if (nonblock || es->stuck) {
			pthread_mutex_unlock(&es->lock);
			errno = EAGAIN; /* RECV-09 */
			return -1;
		}
		pthread_cond_wait(&es->cond, &es->lock);
	}
}

static void put_keep_errno(struct usm_esock *es)
{
	int e = errno;

	usm__esock_put(es);
	errno = e;
}

ssize_t usm_recvmsg(int fd, struct msghdr *msg, int flags)
{
	struct usm_esock *es;
	bool nonblock;
	ssize_t n;
	int fl;

	if (!msg) {
		errno = EFAULT;
		return -1;
	}
	es = usm__esock_for_app_fd(fd);
	if (!es || (flags & MSG_ERRQUEUE))
		goto native;
	if ((flags & MSG_OOB) && es->stream && es->sk->domain == AF_UNIX) {
		usm__esock_put(es);
		errno = EOPNOTSUPP; /* RECV-08 */
		return -1;
	}
	if (!iov_total(msg) && es->verdict) {
		usm__esock_put(es);
		return 0; /* RECV-09 */
	}
	fl = fcntl(fd, F_GETFL);
	nonblock = (flags & MSG_DONTWAIT) || (fl >= 0 && (fl & O_NONBLOCK));
	msg->msg_flags = 0;
	n = recv_es(es, msg, flags & ~MSG_DONTWAIT, nonblock);
	put_keep_errno(es);
	return n;
native:
	n = recvmsg(fd, msg, flags);
	put_keep_errno(es);
	return n;
}

ssize_t usm_recv(int fd, void *buf, size_t len, int flags)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

	return usm_recvmsg(fd, &m, flags);
}

int usm_ioctl_fionread(int fd, int *n)
{
	struct usm_esock *es = usm__esock_find_fd(fd);
	int native = 0, q;

	if (!es)
		return ioctl(fd, FIONREAD, n);
	if (es->listener) {
		usm__esock_put(es);
		errno = EINVAL; /* RECV-03 */
		return -1;
	}
	pthread_mutex_lock(&es->lock);
	q = (int)(es->stream ? es->inq.bytes
			     : es->inq.head ? es->inq.head->len : 0);
	if (!es->verdict && ioctl(fd, FIONREAD, &native) == 0)
		q = es->stream ? q + native : q ? q : native; /* PSK-08 */
	pthread_mutex_unlock(&es->lock);
	usm__esock_put(es);
	*n = q;
	return 0;
}

int usm_ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (req == FIONREAD)
		return usm_ioctl_fionread(fd, arg);
	return ioctl(fd, req, arg);
}

int usm_sock_poll_fd(int fd)
{
	struct usm_esock *es = usm__esock_for_app_fd(fd);
	int pfd;

	if (!es)
		return fd; /* native socket: its own readiness is exact */
	pfd = es->evfd;
	usm__esock_put(es);
	return pfd;
}
