/* SPDX-License-Identifier: MIT */
/*
 * Running sk_skb programs on received data and carrying out the verdict
 * (SEMANTICS SKB-11..18, REDIR-01/02): only SK_PASS with no redirect
 * passes (to the socket's own ingress queue); SK_PASS after a successful
 * redirect helper redirects (ingress to self is a pass, SKB-14); anything
 * else drops, and dropped TCP bytes count as consumed (SKB-12: they were
 * read from the socket already). The context is built as the test-run
 * core builds it: a private copy of the message with head- and tailroom;
 * TCP payload is non-linear (data == data_end until bpf_skb_pull_data),
 * datagrams are linear. Whatever the program leaves in the buffer is what
 * is delivered (SKB-22): the buffer itself becomes the queued chunk.
 *
 * Backpressure: when a delivery leaves the target holding at least
 * max_queued_bytes, the source stops reading (EPOLLIN off) until the
 * target drains (egress.c). Nothing is dropped for lack of room.
 *
 * Loop thread only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/bpf.h>

#include "../progtype/progtype.h"
#include "../sock/psock.h"
#include "../sock/sock.h"
#include "../vm/vm.h"
#include "engine_int.h"
#include "usockmap/run.h"

static void printk_line(void *arg, const char *line)
{
	struct usm_esock *es = arg;

	if (es->eng->opts.printk)
		es->eng->opts.printk(es->eng->opts.printk_arg, es->sk, line);
}

/* Build the context over a private copy of @data and run @prog. */
static int run_skb(struct usm_esock *es, struct usm_prog *prog,
		   const uint8_t *data, uint32_t len, struct usm_skb_ctx *ctx,
		   uint64_t *ret)
{
	uint32_t cap = USM_ENGINE_HEADROOM + len + USM_ENGINE_TAILROOM;
	struct usm_run run;
	uint8_t *buf = malloc(cap);

	ctx->buf = NULL;
	if (!buf)
		return -ENOMEM;
	if (len)
		memcpy(buf + USM_ENGINE_HEADROOM, data, len);
	usm__skb_ctx_init(ctx, buf, cap, USM_ENGINE_HEADROOM, len, true);
	if (es->tcp) {
		ctx->linear_len = 0;
		usm__skb_ctx_sync(ctx);
	}
	usm__skb_ctx_set_sock(ctx, es->sk);
	memset(&run, 0, sizeof(run));
	run.prog = prog;
	run.ctx = ctx;
	run.trace = printk_line;
	run.trace_arg = es;
	run.stats = true;
	*ret = usm__prog_run(prog, ctx, &run);
	return run.error ? run.error : 0;
}

static void trace(struct usm_esock *es, struct usm_prog *prog, uint32_t at,
		  uint32_t len, uint64_t ret, int action,
		  const struct usm_redirect *r)
{
	struct usm_engine_event ev = { 0 };

	if (!es->eng->opts.trace)
		return;
	ev.sk = es->sk;
	ev.prog = prog->name;
	ev.attach_type = at;
	ev.len = len;
	ev.retval = (int)ret;
	ev.action = action;
	if (r && action == USM_VERDICT_REDIRECT) {
		ev.map = r->map;
		ev.key = r->key;
		ev.flags = r->flags;
		ev.target = r->sk;
	}
	es->eng->opts.trace(es->eng->opts.trace_arg, &ev);
}

int64_t usm__verdict_parse(struct usm_esock *es, struct usm_prog *prog,
			   const uint8_t *data, uint32_t len)
{
	struct usm_skb_ctx ctx;
	uint64_t ret = 0;
	int err = run_skb(es, prog, data, len, &ctx, &ret);

	free(ctx.buf);
	if (err == -ENOMEM)
		return -ENOMEM;
	trace(es, prog, BPF_SK_SKB_STREAM_PARSER, len, ret, USM_VERDICT_NONE,
	      NULL);
	return err ? err : (int64_t)(int32_t)ret;
}

void usm__verdict_ingress(struct usm_esock *es, struct usm_chunk *c)
{
	pthread_mutex_lock(&es->lock);
	if (es->detached) {
		pthread_mutex_unlock(&es->lock);
		usm__chunk_free(c);
		return;
	}
	usm__cq_push(&es->inq, c);
	usm__esock_update_ready(es);
	pthread_mutex_unlock(&es->lock);
}

static void add_feed(struct usm_esock *src, struct usm_esock *t)
{
	struct usm_esock **nf;
	uint32_t i;

	for (i = 0; i < src->nfeeds; i++)
		if (src->feeds[i] == t)
			return;
	if (src->nfeeds == src->feeds_cap) {
		nf = realloc(src->feeds, (src->feeds_cap + 4) * sizeof(*nf));
		if (!nf)
			return; /* only EOF propagation is lost */
		src->feeds = nf;
		src->feeds_cap += 4;
	}
	usm__esock_get(t);
	t->nfed_by++;
	src->feeds[src->nfeeds++] = t;
}

/* Stop reading @src until @t drains below the limit. */
static void backpressure(struct usm_esock *src, struct usm_esock *t)
{
	if (usm__esock_queued(t) < usm__engine_max(src->eng))
		return;
	pthread_mutex_lock(&t->lock);
	t->waiters = true;
	pthread_mutex_unlock(&t->lock);
	src->paused = true;
	usm__esock_put(src->blocked_on);
	usm__esock_get(t);
	src->blocked_on = t;
	usm__engine_set_events(src->eng, src);
}

static bool target_ok(struct usm_esock *t, bool ingress)
{
	bool ok;

	if (t->closed || t->detached || (!ingress && t->tx_disabled))
		return false;
	usm__psock_lock();
	ok = t->sk->psock != NULL;
	usm__psock_unlock();
	return ok;
}

/* SKB-15/16/18: deliver @c to @tsk's ingress or egress. */
static void redirect(struct usm_esock *src, struct usm_sock *tsk,
		     uint64_t flags, struct usm_chunk *c)
{
	bool ingress = flags & BPF_F_INGRESS;
	struct usm_esock *t = usm__esock_target(src->eng, tsk);

	if (!t || !target_ok(t, ingress) ||
	    (!ingress && t->eng != src->eng)) {
		usm__chunk_free(c); /* SKB-18: silently */
		usm__esock_put(t);
		return;
	}
	if (ingress) {
		usm__verdict_ingress(t, c);
	} else {
		usm__cq_push(&t->outq, c);
		usm__engine_mark_dirty(t->eng, t);
		add_feed(src, t);
	}
	backpressure(src, t);
	usm__esock_put(t);
}

static int decide(const struct usm_esock *es, int err, uint64_t ret,
		  const struct usm_redirect *r)
{
	if (err || ret != SK_PASS)
		return USM_VERDICT_DROP; /* SKB-12, SKB-13 */
	if (!r->set || !r->sk)
		return USM_VERDICT_PASS; /* SKB-11 */
	if ((r->flags & BPF_F_INGRESS) && r->sk == es->sk)
		return USM_VERDICT_PASS; /* SKB-14 */
	return USM_VERDICT_REDIRECT;
}

/* What is delivered of a run over a strparser view: the message range
 * [off, off + msg_len) of the skb as the program left it (the kernel's
 * strp_msg offset/full_len), clipped to its data. SKB-07. */
static void deliver_range(struct usm_skb_ctx *ctx, uint32_t off,
			  uint32_t msg_len)
{
	uint32_t n = off < ctx->len ? ctx->len - off : 0;

	ctx->data_off += off < ctx->len ? off : ctx->len;
	ctx->len = msg_len < n ? msg_len : n;
}

void usm__verdict_run(struct usm_esock *es, struct usm_prog *prog,
		      uint32_t attach_type, const uint8_t *data,
		      uint32_t len)
{
	usm__verdict_run_view(es, prog, attach_type, data, len, 0, len);
}

void usm__verdict_run_view(struct usm_esock *es, struct usm_prog *prog,
			   uint32_t attach_type, const uint8_t *data,
			   uint32_t len, uint32_t off, uint32_t msg_len)
{
	struct usm_skb_ctx ctx;
	struct usm_chunk *c;
	uint64_t ret = 0;
	int err, action;

	err = run_skb(es, prog, data, len, &ctx, &ret);
	action = decide(es, err, ret, &ctx.redir);
	trace(es, prog, attach_type, msg_len, ret, action, &ctx.redir);
	deliver_range(&ctx, off, msg_len);
	if (action == USM_VERDICT_DROP ||
	    (action == USM_VERDICT_PASS && (es->flags & USM_ENGINE_OWNED))) {
		es->st.drop += action == USM_VERDICT_DROP;
		es->st.pass += action == USM_VERDICT_PASS;
		free(ctx.buf);
		return;
	}
	c = usm__chunk_new(ctx.buf, ctx.data_off, ctx.len);
	if (!c) {
		free(ctx.buf);
		es->st.drop++;
		return;
	}
	if (action == USM_VERDICT_PASS) {
		es->st.pass++;
		usm__verdict_ingress(es, c);
		backpressure(es, es);
		return;
	}
	es->st.redirect++;
	redirect(es, ctx.redir.sk, ctx.redir.flags, c);
}
