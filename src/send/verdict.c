/* SPDX-License-Identifier: MIT */
/*
 * The verdict step of the sk_msg send path, modelled on the kernel's
 * tcp_bpf_send_verdict and sk_psock_msg_verdict (net/ipv4/tcp_bpf.c,
 * net/core/skmsg.c): run the program once per verdict window, then cork
 * the message (MSG-08), send it on the socket (MSG-04), drop it (MSG-05)
 * or redirect it (MSG-17..21), the first apply_bytes bytes at a time
 * (MSG-07), repeating on what is left. Byte accounting follows the kernel
 * exactly because send()'s return value shows it. Calling context: a
 * send call holding tx->lock and a psock reference.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <poll.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "../sock/psock.h"
#include "../sock/sock.h"
#include "../vm/vm.h"
#include "send.h"
#include "../engine/engine.h"

/* Longest single wait before re-checking that a target still exists. */
#define TX_WAIT_SLICE_MS 100

void usm__tx_msg_init(struct usm_tx_msg *tm)
{
	memset(tm, 0, sizeof(*tm));
	usm__msg_init(&tm->m);
	tm->ctx.msg = &tm->m;
}

void usm__tx_msg_fini(struct usm_tx_msg *tm)
{
	usm__msg_fini(&tm->m);
	usm__sock_put(tm->redir_ref);
	tm->redir_ref = NULL;
	tm->ctx.redir.set = false;
	tm->ctx.redir.sk = NULL;
}

/* sk_msg_apply_bytes: count @bytes against the verdict window. */
static void apply_consumed(struct usm_tx *tx, uint32_t bytes)
{
	if (!tx->apply_bytes)
		return;
	tx->apply_bytes = tx->apply_bytes < bytes ? 0 : tx->apply_bytes - bytes;
}

/* Keep a reference on the target the helper recorded (it is borrowed
 * for the run only; the message keeps naming it, as msg->sk_redir). */
static void hold_redir(struct usm_tx_msg *tm)
{
	struct usm_sock *t = tm->ctx.redir.set ? tm->ctx.redir.sk : NULL;

	if (t == tm->redir_ref)
		return;
	if (t)
		usm__sock_get(t);
	usm__sock_put(tm->redir_ref);
	tm->redir_ref = t;
}

/* sk_psock_msg_verdict: MSG-02/03/04/24. */
static enum usm_tx_eval run_prog(struct usm_tx_call *call,
				 struct usm_tx_msg *tm)
{
	struct usm_tx *tx = call->tx;
	struct usm_run run;
	uint64_t r0;

	memset(&run, 0, sizeof(run));
	tm->ctx.msg = &tm->m;
	usm__msg_ctx_set_sock(&tm->ctx, call->sk);
	usm__msg_compute_data_pointers(&tm->ctx);
	r0 = usm__prog_run(call->prog, &tm->ctx, &run);
	tm->ctx.md.sk = NULL; /* MSG-24: valid during the run only */
	hold_redir(tm);
	tx->apply_bytes = tm->ctx.apply_bytes;
	if (run.error || (uint32_t)r0 != SK_PASS)
		return USM_TX_DROP;
	usm__sock_put(tx->sk_redir);
	tx->sk_redir = NULL;
	if (!tm->redir_ref)
		return USM_TX_PASS;
	tx->sk_redir = tm->redir_ref;
	usm__sock_get(tx->sk_redir);
	tx->redir_ingress = tm->ctx.redir.flags & BPF_F_INGRESS;
	return USM_TX_REDIRECT;
}

static int sndtimeo_ms(int fd, int flags)
{
	struct timeval tv;
	socklen_t len = sizeof(tv);
	int fl = fcntl(fd, F_GETFL);

	if ((flags & MSG_DONTWAIT) || (fl >= 0 && (fl & O_NONBLOCK)))
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &len) < 0 ||
	    (tv.tv_sec == 0 && tv.tv_usec == 0))
		return -1;
	return (int)(tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000);
}

static bool lost_psock(struct usm_sock *sk)
{
	bool lost;

	usm__psock_lock();
	lost = sk->psock == NULL;
	usm__psock_unlock();
	return lost;
}

/* sk_stream_wait_memory: 0 when @sk may be writable, -EAGAIN when the
 * timeout passed, -EPIPE when a redirect target went away meanwhile. */
static int wait_room(struct usm_sock *sk, int *timeo, bool redir)
{
	struct pollfd p = { .fd = sk->fd, .events = POLLOUT };
	int slice, n;

	for (;;) {
		if (*timeo == 0)
			return -EAGAIN;
		if (redir && (lost_psock(sk) || !usm__sock_is_alive(sk)))
			return -EPIPE;
		slice = *timeo < 0 || *timeo > TX_WAIT_SLICE_MS
				? TX_WAIT_SLICE_MS : *timeo;
		n = poll(&p, 1, slice);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0)
			return (p.revents & POLLNVAL) ? -EPIPE : 0;
		if (*timeo > 0)
			*timeo -= slice;
	}
}

int usm__tx_push(struct usm_sock *sk, struct usm_sk_msg *msg, uint32_t bytes,
		 int flags, bool redir)
{
	struct iovec iov[USM_MSG_MAX_FRAGS];
	struct msghdr mh = { .msg_iov = iov };
	int timeo = sndtimeo_ms(sk->fd, flags), err;
	ssize_t n;

	if (bytes > msg->size)
		bytes = msg->size;
	while (bytes) {
		mh.msg_iovlen = (size_t)usm__msg_to_iov(msg, bytes, iov,
							USM_MSG_MAX_FRAGS);
		n = sendmsg(sk->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL |
					 (flags & MSG_MORE));
		if (n > 0) {
			usm__msg_consume(msg, (uint32_t)n);
			bytes -= (uint32_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			return n == 0 ? -EPIPE : -errno;
		err = wait_room(sk, &timeo, redir);
		if (err)
			return err;
	}
	return 0;
}

/* MSG-18 (bpf_tcp_ingress): the first @bytes of @msg go to the target's
 * receive queue, read there with usm_recv. */
static int ingress_send(struct usm_sock *target, struct usm_sk_msg *msg,
			uint32_t bytes)
{
	uint8_t *buf;
	int err;

	if (bytes > msg->size)
		bytes = msg->size;
	buf = malloc(bytes ? bytes : 1);
	if (!buf)
		return -ENOMEM;
	usm__msg_read(msg, 0, buf, bytes);
	err = usm__engine_ingress(target, buf, bytes);
	free(buf);
	if (!err)
		usm__msg_consume(msg, bytes);
	return err;
}

/* tcp_bpf_sendmsg_redir: MSG-17 egress, MSG-18 ingress, MSG-20. */
static int redir_send(struct usm_tx_call *call, struct usm_sock *target,
		      bool ingress, struct usm_sk_msg *msg, uint32_t bytes)
{
	if (lost_psock(target))
		return -EPIPE;
	if (ingress)
		return ingress_send(target, msg, bytes);
	/* MSG-17: the target's own sk_msg program does not run. */
	return usm__tx_push(target, msg, bytes, call->flags, true);
}

/* MSG-08: hold @tm as the cork; a temporary message is moved. */
static int cork_msg(struct usm_tx *tx, struct usm_tx_msg *tm)
{
	tx->cork_bytes = tm->ctx.cork_bytes - tm->m.size;
	if (tx->cork == tm)
		return 0;
	if (!tx->cork) {
		tx->cork = malloc(sizeof(*tx->cork));
		if (!tx->cork)
			return -ENOMEM;
	}
	memcpy(tx->cork, tm, sizeof(*tm));
	tx->cork->ctx.msg = &tx->cork->m;
	usm__tx_msg_init(tm);
	return 0;
}

/* The __SK_REDIRECT case. Sets *gone when @tm (the cork) was freed. */
static int do_redirect(struct usm_tx_call *call, struct usm_tx_msg *tm,
		       uint32_t tosend, bool *gone)
{
	struct usm_tx *tx = call->tx;
	struct usm_sock *target = tx->sk_redir, *drop_ref = NULL;
	bool ingress = tx->redir_ingress, cork = false;
	uint32_t freed;
	int ret;

	usm__sock_get(target);
	apply_consumed(tx, tosend);
	if (!tx->apply_bytes) {
		drop_ref = tx->sk_redir; /* the window is over */
		tx->eval = USM_TX_NONE;
		tx->sk_redir = NULL;
	}
	if (tx->cork) {
		cork = true;
		tx->cork = NULL;
	}
	ret = redir_send(call, target, ingress, &tm->m, tosend);
	usm__sock_put(drop_ref);
	usm__sock_put(target);
	if (ret < 0) {
		freed = usm__msg_fini(&tm->m);
		if (!cork)
			call->copied -= freed;
	}
	if (cork) {
		/* As the kernel: the rest of a corked message is freed. */
		usm__tx_msg_fini(tm);
		free(tm);
		*gone = true;
		ret = 0;
	}
	return ret;
}

/* One verdict window; *again when the message has bytes left to judge. */
static int verdict_once(struct usm_tx_call *call, struct usm_tx_msg *tm,
			bool enospc, bool *again)
{
	struct usm_tx *tx = call->tx;
	uint32_t tosend, before;
	int32_t delta = 0;
	bool gone = false;
	int ret = 0;

	*again = false;
	if (tx->eval == USM_TX_NONE) {
		before = tm->m.size; /* MSG-05: push/pop change the count */
		tx->eval = run_prog(call, tm);
		delta = (int32_t)(before - tm->m.size);
	}
	if (tm->ctx.cork_bytes && tm->ctx.cork_bytes > tm->m.size && !enospc)
		return cork_msg(tx, tm); /* MSG-08; MSG-09 when full */
	tosend = tm->m.size;
	if (tx->apply_bytes && tx->apply_bytes < tosend)
		tosend = tx->apply_bytes; /* MSG-07 */
	switch (tx->eval) {
	case USM_TX_PASS:
		ret = usm__tx_push(call->sk, &tm->m, tosend, call->flags,
				   false);
		if (ret)
			call->copied -= usm__msg_fini(&tm->m);
		else
			apply_consumed(tx, tosend);
		break;
	case USM_TX_REDIRECT:
		ret = do_redirect(call, tm, tosend, &gone);
		break;
	default:
		usm__msg_fini(&tm->m);
		apply_consumed(tx, tosend);
		call->copied -= (int64_t)tosend + delta;
		return -EACCES;
	}
	if (ret)
		return ret;
	if (!tx->apply_bytes) {
		tx->eval = USM_TX_NONE;
		usm__sock_put(tx->sk_redir);
		tx->sk_redir = NULL;
	}
	*again = !gone && tm->m.size > 0;
	return 0;
}

int usm__tx_verdict(struct usm_tx_call *call, struct usm_tx_msg *tm)
{
	bool enospc = usm__msg_full(&tm->m), again;
	int ret;

	do {
		ret = verdict_once(call, tm, enospc, &again);
	} while (!ret && again);
	return ret;
}

void usm__tx_free(void *p)
{
	struct usm_tx *tx = p;

	if (!tx)
		return;
	if (tx->cork) { /* MSG-10: never sent */
		usm__tx_msg_fini(tx->cork);
		free(tx->cork);
	}
	usm__msg_frag_fini(&tx->frag);
	usm__sock_put(tx->sk_redir);
	pthread_mutex_destroy(&tx->lock);
	free(tx);
}
