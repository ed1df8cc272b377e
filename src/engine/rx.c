/* SPDX-License-Identifier: MIT */
/*
 * The receive path: reading an engine socket in large batches and handing
 * the bytes to the programs its psock has (PSK-05): stream parser framing
 * then one stream verdict per message (RX_STRP), or one verdict per read
 * buffer, per datagram on datagram sockets (RX_VERDICT, SKB-09).
 *
 * Framing follows the kernel's strparser as sockmap uses it: the parser
 * runs on everything buffered and not yet framed; 0 = need more data (run
 * again when more arrives); N > 0 = the message is N bytes: if fewer are
 * buffered, wait without running the parser again; a negative result
 * aborts the stream for good with that error on the socket; N larger than
 * the socket's SO_RCVBUF aborts with EMSGSIZE. Exactly N bytes are
 * delivered to the verdict.
 *
 * Loop thread only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/bpf.h>

#include "../sock/psock.h"
#include "../sock/sock.h"
#include "../vm/vm.h"
#include "engine_int.h"

/* How many reads one readable event may do before yielding. */
#define RX_BATCH 16

void usm__rx_refresh(struct usm_esock *es)
{
	enum usm_psock_rx rx = usm__psock_rx(es->sk);
	socklen_t sl = sizeof(int);
	int rb = 0;

	if (es->psock_gone && !(es->flags & USM_ENGINE_OWNED) &&
	    rx == USM_PSOCK_RX_NONE) {
		usm__engine_close_sock(es->eng, es); /* PSK-07 */
		return;
	}
	if (es->listener)
		rx = USM_PSOCK_RX_NONE;
	if ((int)rx != es->rxmode && es->strp_on) {
		usm__strp_fini(&es->strp); /* PSK-06: a stopped parser forgets */
		es->strp_on = false;
	}
	es->rxmode = (int)rx;
	es->reading = rx != USM_PSOCK_RX_NONE && !es->rd_eof &&
		      !(es->strp_on && usm__strp_error(&es->strp));
	if (!getsockopt(es->fd, SOL_SOCKET, SO_RCVBUF, &rb, &sl) && rb > 0)
		es->rcvbuf = (uint32_t)rb;
	if (es->strp_on)
		usm__strp_set_limit(&es->strp, es->rcvbuf);
	pthread_mutex_lock(&es->lock);
	es->verdict = rx != USM_PSOCK_RX_NONE;
	usm__esock_update_ready(es);
	pthread_cond_broadcast(&es->cond); /* the mode may have changed */
	pthread_mutex_unlock(&es->lock);
	usm__engine_set_events(es->eng, es);
}

/* The stream ended (@err 0: EOF, RECV-07) or failed (@err errno). */
static void rx_end(struct usm_esock *es, int err)
{
	es->rd_eof = true;
	es->reading = false;
	es->st.eof = true;
	if (err)
		es->st.error = true;
	pthread_mutex_lock(&es->lock);
	es->eof = true;
	if (err && !es->err)
		es->err = err;
	usm__esock_update_ready(es);
	pthread_mutex_unlock(&es->lock);
	usm__engine_set_events(es->eng, es);
	usm__egress_eof(es);
	if (err && (es->flags & USM_ENGINE_OWNED))
		usm__engine_close_sock(es->eng, es);
}

/*
 * Permanent strparser abort (SKB-03/04): no more reading. The kernel sets
 * the socket error (SO_ERROR) and leaves the unparsed bytes in the
 * receive queue, so recv keeps answering EAGAIN and poll says readable.
 * We cannot set a real socket's SO_ERROR: the error is reported by the
 * first usm_recv instead, EAGAIN after that (stuck).
 */
static void strp_abort_cb(void *arg, int err)
{
	struct usm_esock *es = arg;

	es->reading = false;
	es->st.error = true;
	pthread_mutex_lock(&es->lock);
	es->stuck = true;
	es->sock_err = -err;
	es->err = -err;
	usm__esock_update_ready(es);
	pthread_mutex_unlock(&es->lock);
	usm__engine_set_events(es->eng, es);
}

static int strp_parse_cb(void *arg, const struct usm_strp_view *v)
{
	struct usm_esock *es = arg;

	return (int)usm__verdict_parse(es, es->cur_parser, v->data,
				       (uint32_t)v->len);
}

/* One framed message: exactly its bytes go to the verdict. */
static void strp_msg_cb(void *arg, const struct usm_strp_view *v)
{
	struct usm_esock *es = arg;

	/* SKB-07: the verdict sees the whole view, the message is delivered */
	usm__verdict_run_view(es, es->cur_verdict, BPF_SK_SKB_STREAM_VERDICT,
			      v->data, (uint32_t)v->len, (uint32_t)v->off,
			      (uint32_t)v->msg_len);
	if (es->paused || es->closed)
		usm__strp_pause(&es->strp);
}

static int strp_start(struct usm_esock *es)
{
	struct usm_strp_cbs cbs = {
		.parse = strp_parse_cb,
		.rcv_msg = strp_msg_cb,
		.abort = strp_abort_cb,
		.arg = es,
	};
	int err = usm__strp_init(&es->strp, &cbs, es->rcvbuf, 0);

	es->strp_on = !err;
	return err;
}

/* Take the programs for one feed / resume; false if they are gone. */
static bool strp_progs(struct usm_esock *es)
{
	es->cur_parser = usm__psock_prog(es->sk, USM_PSOCK_STREAM_PARSER);
	es->cur_verdict = usm__psock_prog(es->sk, USM_PSOCK_STREAM_VERDICT);
	return es->cur_parser && es->cur_verdict;
}

static void strp_progs_put(struct usm_esock *es)
{
	usm__prog_put(es->cur_parser);
	usm__prog_put(es->cur_verdict);
	es->cur_parser = es->cur_verdict = NULL;
}

void usm__rx_feed_stream(struct usm_esock *es, const uint8_t *data,
			 uint32_t len)
{
	if (!es->strp_on && strp_start(es))
		return;
	if (strp_progs(es))
		usm__strp_feed(&es->strp, data, len);
	/* else detached between read and run: nothing runs (PSK-06) */
	strp_progs_put(es);
}

void usm__rx_resume(struct usm_esock *es)
{
	if (!es->strp_on || !usm__strp_paused(&es->strp))
		return;
	if (strp_progs(es))
		usm__strp_resume(&es->strp);
	strp_progs_put(es);
}

/* SKB-09: one verdict per read buffer / datagram. */
static void rx_verdict(struct usm_esock *es, const uint8_t *data,
		       uint32_t len)
{
	uint32_t at = BPF_SK_SKB_STREAM_VERDICT;
	struct usm_prog *p;

	p = usm__psock_prog(es->sk, USM_PSOCK_STREAM_VERDICT);
	if (!p) {
		p = usm__psock_prog(es->sk, USM_PSOCK_SKB_VERDICT);
		at = BPF_SK_SKB_VERDICT;
	}
	if (p)
		usm__verdict_run(es, p, at, data, len);
	usm__prog_put(p);
}

/*
 * recv under es->lock: usm_close() sets fd_gone under it before closing
 * the fd, so no read can hit the number once it names another socket.
 */
static ssize_t locked_recv(struct usm_esock *es, uint8_t *buf)
{
	ssize_t n;

	pthread_mutex_lock(&es->lock);
	if (es->fd_gone) {
		pthread_mutex_unlock(&es->lock);
		errno = EAGAIN;
		return -1;
	}
	n = recv(es->fd, buf, USM_ENGINE_RBUF, MSG_DONTWAIT);
	if (n < 0) {
		int e = errno;

		pthread_mutex_unlock(&es->lock);
		errno = e;
		return n;
	}
	pthread_mutex_unlock(&es->lock);
	return n;
}

void usm__rx_readable(struct usm_esock *es)
{
	uint8_t *buf = es->eng->rbuf;
	ssize_t n;
	int i;

	for (i = 0; i < RX_BATCH && es->reading && !es->paused &&
		    !es->closed; i++) {
		n = locked_recv(es, buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				rx_end(es, errno);
			return;
		}
		if (n == 0 && es->stream) {
			rx_end(es, 0);
			return;
		}
		es->st.bytes_in += (uint64_t)n;
		if (es->rxmode == (int)USM_PSOCK_RX_STRP)
			usm__rx_feed_stream(es, buf, (uint32_t)n);
		else
			rx_verdict(es, buf, (uint32_t)n);
	}
}
