/* SPDX-License-Identifier: MIT */
/*
 * usm_send, usm_sendmsg, usm_sendfile: the application side of the sk_msg
 * send path. A TCP socket whose psock has an sk_msg program gets the
 * kernel's tcp_bpf_sendmsg loop (net/ipv4/tcp_bpf.c): copy the caller's
 * bytes into a message of at most 17 chunks (MSG-06), or onto the corked
 * message (MSG-08), and hand each full or final message to the verdict
 * step (verdict.c). Everything else goes to libc untouched (MSG-01).
 * sendfile runs the same loop on at most 64 KiB per step, as the kernel's
 * splice pipe feeds it (MSG-22). Thread-safe: tx->lock serialises the
 * calls on one socket.
 */
#include <usockmap/send.h>

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include "../sock/psock.h"
#include "../sock/sock.h"
#include "../vm/vm.h"
#include "send.h"

/* MAX_RW_COUNT: the most one call moves (INT_MAX rounded to pages). */
#define TX_MAX_CALL (INT_MAX & ~4095)
#define TX_IOV_MAX 1024

/* What a send is about to run through: the socket's psock (one
 * reference), its tx state and the sk_msg program (one reference). */
struct tx_ref {
	struct usm_sock *sk;
	struct usm_psock *psock;
	struct usm_tx *tx;
	struct usm_prog *prog;
};

static bool sk_is_tcp(const struct usm_sock *sk)
{
	return (sk->domain == AF_INET || sk->domain == AF_INET6) &&
	       sk->type == SOCK_STREAM && sk->protocol == IPPROTO_TCP;
}

static struct usm_tx *tx_new(void)
{
	struct usm_tx *tx = calloc(1, sizeof(*tx));

	if (!tx)
		return NULL;
	if (pthread_mutex_init(&tx->lock, NULL) != 0) {
		free(tx);
		return NULL;
	}
	usm__msg_frag_init(&tx->frag);
	return tx;
}

/* Under the psock mutex: the program and tx state of @sk, or -ENOENT
 * when the plain send applies (MSG-01). */
static int tx_ref_locked(struct tx_ref *r)
{
	struct usm_psock *psock = r->sk->psock;

	if (!psock || !sk_is_tcp(r->sk) ||
	    !psock->progs.prog[USM_PSOCK_MSG_VERDICT])
		return -ENOENT;
	if (!psock->tx) {
		psock->tx = tx_new();
		if (!psock->tx)
			return -ENOMEM;
		psock->tx_free = usm__tx_free;
	}
	r->psock = psock;
	r->tx = psock->tx;
	r->prog = psock->progs.prog[USM_PSOCK_MSG_VERDICT];
	usm__psock_get(psock);
	usm__prog_get(r->prog);
	return 0;
}

/* 0 with *r filled (tx locked), -ENOENT for a plain send, -ENOMEM. */
static int tx_ref_get(int fd, struct tx_ref *r)
{
	int err;

	memset(r, 0, sizeof(*r));
	if (usm__sock_lookup_fd(fd, &r->sk))
		return -ENOENT;
	usm__psock_lock();
	err = tx_ref_locked(r);
	usm__psock_unlock();
	if (err) {
		usm__sock_put(r->sk);
		return err;
	}
	pthread_mutex_lock(&r->tx->lock);
	return 0;
}

static void tx_ref_put(struct tx_ref *r)
{
	pthread_mutex_unlock(&r->tx->lock);
	usm__prog_put(r->prog);
	usm__psock_put(r->psock);
	usm__sock_put(r->sk);
}

/* The cork_bytes accounting of tcp_bpf_sendmsg (the whole call's @size
 * counts, as in the kernel). true: keep holding, stop here. */
static bool still_corked(struct usm_tx *tx, size_t size, bool enospc)
{
	if (!tx->cork_bytes)
		return false;
	tx->cork_bytes = size > tx->cork_bytes
				 ? 0 : tx->cork_bytes - (uint32_t)size;
	if (tx->cork_bytes && !enospc)
		return true;
	tx->eval = USM_TX_NONE; /* MSG-08: re-run once on the whole buffer */
	tx->cork_bytes = 0;
	return false;
}

/* One copy-in step: append what fits of the call's remaining bytes to the
 * cork or to @tmp, then judge it. *done gets the bytes taken. */
static int tx_step(struct usm_tx_call *call, struct usm_tx_msg *tmp,
		   const struct msghdr *mh, size_t skip, size_t size,
		   size_t *done, bool *stop)
{
	struct usm_tx *tx = call->tx;
	struct usm_tx_msg *tm = tx->cork ? tx->cork : tmp;
	uint32_t left = (uint32_t)(size - skip);
	int n;

	if (tm == tmp) { /* sk_msg_init: a fresh message */
		usm__tx_msg_fini(tmp);
		usm__tx_msg_init(tmp);
	}
	n = usm__msg_append_iov(&tm->m, &tx->frag, mh->msg_iov,
				(int)mh->msg_iovlen, skip, left);
	if (n == -ENOSPC)
		n = 0;
	if (n < 0)
		return n;
	*done = (size_t)n;
	call->copied += n;
	if (still_corked(tx, size, (uint32_t)n < left)) {
		*stop = true;
		return 0;
	}
	return usm__tx_verdict(call, tm);
}

/* tcp_bpf_sendmsg over the caller's iovec. Returns the bytes accepted or
 * -errno (SIGPIPE raised for EPIPE unless MSG_NOSIGNAL). */
static ssize_t tx_sendmsg(struct tx_ref *r, const struct msghdr *mh,
			  size_t size, int flags)
{
	struct usm_tx_call call = {
		.sk = r->sk, .tx = r->tx, .prog = r->prog, .flags = flags,
	};
	struct usm_tx_msg tmp;
	size_t skip = 0, done;
	bool stop = false;
	int err = 0;

	usm__tx_msg_init(&tmp);
	while (skip < size && !stop) {
		err = tx_step(&call, &tmp, mh, skip, size, &done, &stop);
		if (err)
			break;
		skip += done;
	}
	usm__tx_msg_fini(&tmp);
	if (err == -EPIPE && !(flags & MSG_NOSIGNAL))
		raise(SIGPIPE);
	return call.copied > 0 ? (ssize_t)call.copied : err;
}

static ssize_t ret_errno(ssize_t r)
{
	if (r >= 0)
		return r;
	errno = (int)-r;
	return -1;
}

/* Total of the iovec, capped as the kernel caps it; -EINVAL/-EMSGSIZE. */
static ssize_t iov_total(const struct msghdr *mh)
{
	size_t total = 0, i;

	if (mh->msg_iovlen > TX_IOV_MAX)
		return -EMSGSIZE;
	if (mh->msg_iovlen && !mh->msg_iov)
		return -EFAULT;
	for (i = 0; i < mh->msg_iovlen; i++) {
		if ((ssize_t)mh->msg_iov[i].iov_len < 0)
			return -EINVAL;
		total += mh->msg_iov[i].iov_len;
		if (total > TX_MAX_CALL)
			total = TX_MAX_CALL;
	}
	return (ssize_t)total;
}

ssize_t usm_sendmsg(int fd, const struct msghdr *msg, int flags)
{
	struct tx_ref r;
	ssize_t total, ret;
	int err;

	if (!msg)
		return ret_errno(-EFAULT);
	err = tx_ref_get(fd, &r);
	if (err == -ENOENT)
		return sendmsg(fd, msg, flags); /* MSG-01 */
	if (err)
		return ret_errno(err);
	total = iov_total(msg);
	ret = total <= 0 ? total : tx_sendmsg(&r, msg, (size_t)total, flags);
	tx_ref_put(&r);
	return ret_errno(ret);
}

ssize_t usm_send(int fd, const void *buf, size_t len, int flags)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	return usm_sendmsg(fd, &mh, flags);
}

/* One splice step: read up to USM_MSG_SPLICE_MAX bytes of @in_fd at @pos
 * and send them as one call. Returns bytes accepted, 0 at end of file,
 * or -errno. */
static ssize_t sendfile_step(struct tx_ref *r, int in_fd, off_t pos,
			     size_t want, uint8_t *buf)
{
	struct iovec iov = { .iov_base = buf };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (want > USM_MSG_SPLICE_MAX)
		want = USM_MSG_SPLICE_MAX;
	do {
		n = pread(in_fd, buf, want, pos);
	} while (n < 0 && errno == EINTR);
	if (n <= 0)
		return n < 0 ? -errno : 0;
	iov.iov_len = (size_t)n;
	return tx_sendmsg(r, &mh, (size_t)n, 0);
}

/* sendfile through the sk_msg path (MSG-22): steps until @count, end of
 * file, a short step or an error. Returns the total or -errno. */
static ssize_t tx_sendfile(struct tx_ref *r, int in_fd, off_t *pos,
			   size_t count)
{
	uint8_t *buf = malloc(USM_MSG_SPLICE_MAX);
	size_t total = 0, want;
	ssize_t n = 0;

	if (!buf)
		return -ENOMEM;
	if (count > TX_MAX_CALL)
		count = TX_MAX_CALL;
	while (total < count) {
		want = count - total;
		n = sendfile_step(r, in_fd, *pos, want, buf);
		if (n <= 0)
			break;
		total += (size_t)n;
		*pos += n;
		if ((size_t)n < (want < USM_MSG_SPLICE_MAX ? want
						: USM_MSG_SPLICE_MAX))
			break;
	}
	free(buf);
	return total ? (ssize_t)total : n;
}

ssize_t usm_sendfile(int out_fd, int in_fd, off_t *offset, size_t count)
{
	struct tx_ref r;
	off_t pos;
	ssize_t ret;
	int err;

	err = tx_ref_get(out_fd, &r);
	if (err == -ENOENT)
		return sendfile(out_fd, in_fd, offset, count); /* MSG-01 */
	if (err)
		return ret_errno(err);
	pos = offset ? *offset : lseek(in_fd, 0, SEEK_CUR);
	if (pos < 0) {
		ret = -errno;
		tx_ref_put(&r);
		return ret_errno(ret);
	}
	ret = tx_sendfile(&r, in_fd, &pos, count);
	if (offset)
		*offset = pos;
	else if (ret > 0 && lseek(in_fd, pos, SEEK_SET) < 0)
		ret = -errno;
	tx_ref_put(&r);
	return ret_errno(ret);
}
