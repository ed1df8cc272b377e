/* SPDX-License-Identifier: MIT */
/*
 * The engine object and its epoll loop (see engine.h for the phases).
 *
 * epoll is level-triggered. An esock is in the epoll set only while it
 * wants events: EPOLLIN while the engine reads it and it is not paused by
 * backpressure, EPOLLOUT while its egress backlog waits for room. The wake
 * eventfd (tag USM_EV_TAG_WAKE) tells the loop that another thread queued
 * work: new sockets, receive-mode changes, closes, drained queues.
 * Sockets are freed only in phase 4, after every event of the iteration
 * was handled (deferred close).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "../sock/psock.h"
#include "../sock/sock.h"
#include "engine_int.h"

int usm__engine_new(const struct usm_engine_opts *opts,
		    struct usm_engine **out)
{
	struct usm_engine *eng = calloc(1, sizeof(*eng));
	struct epoll_event ev = { .events = EPOLLIN };

	if (!eng)
		return -ENOMEM;
	if (opts)
		memcpy(&eng->opts, opts, opts->sz && opts->sz < sizeof(*opts)
						? opts->sz : sizeof(*opts));
	eng->rbuf = malloc(USM_ENGINE_RBUF);
	eng->epfd = epoll_create1(EPOLL_CLOEXEC);
	eng->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	pthread_mutex_init(&eng->pend_lock, NULL);
	ev.data.u64 = USM_EV_TAG_WAKE;
	if (!eng->rbuf || eng->epfd < 0 || eng->wakefd < 0 ||
	    epoll_ctl(eng->epfd, EPOLL_CTL_ADD, eng->wakefd, &ev)) {
		int err = eng->rbuf ? -errno : -ENOMEM;

		usm__engine_free(eng);
		return err ? err : -ENOMEM;
	}
	*out = eng;
	return 0;
}

uint64_t usm__engine_max(const struct usm_engine *eng)
{
	return eng->opts.max_queued_bytes ? eng->opts.max_queued_bytes
					  : USM_ENGINE_DEFAULT_MAX;
}

void usm__engine_wake(struct usm_engine *eng)
{
	uint64_t v = 1;

	if (write(eng->wakefd, &v, sizeof(v)) < 0) {
		/* counter full: the loop is already woken */
	}
}

void usm__engine_stop(struct usm_engine *eng)
{
	__atomic_store_n(&eng->stop, 1, __ATOMIC_RELAXED);
	usm__engine_wake(eng);
}

void usm__engine_set_events(struct usm_engine *eng, struct usm_esock *es)
{
	struct epoll_event ev = { 0 };
	uint32_t want = 0;
	int op;

	if (!es->closed && es->reading && !es->paused && !es->rd_eof)
		want |= EPOLLIN;
	if (!es->closed && es->outq.count && !es->tx_disabled)
		want |= EPOLLOUT;
	if (want == es->ev_reg)
		return;
	op = !want ? EPOLL_CTL_DEL : es->ev_reg ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	ev.events = want;
	ev.data.ptr = es;
	/* Under the lock: usm_close may be closing the fd (fd_gone), after
	 * which its number may name another socket. */
	pthread_mutex_lock(&es->lock);
	if (!es->fd_gone && want && !usm__esock_fd_ok(es))
		es->fd_gone = true;
	if (es->fd_gone)
		want = 0;
	else if (epoll_ctl(eng->epfd, op, es->fd, &ev) == 0 || !want)
		es->ev_reg = want;


	pthread_mutex_unlock(&es->lock);
	if (!want)
		es->ev_reg = 0;
}

void usm__engine_mark_dirty(struct usm_engine *eng, struct usm_esock *es)
{
	if (es->in_dirty)
		return;
	es->in_dirty = true;
	usm__esock_get(es);
	es->dirty_next = eng->dirty;
	eng->dirty = es;
}

static void drop_feeds(struct usm_esock *es)
{
	uint32_t i;

	for (i = 0; i < es->nfeeds; i++) {
		es->feeds[i]->nfed_by--;
		usm__esock_put(es->feeds[i]);
	}
	es->nfeeds = 0;
	usm__esock_put(es->blocked_on);
	es->blocked_on = NULL;
}

/* Ended engine-owned sockets may wait for the one just closed (egress.c
 * end-of-stream policy): look at them again in phase 3. */
static void recheck_ended(struct usm_engine *eng)
{
	struct usm_esock *o;

	for (o = eng->socks; o; o = o->next)
		if (!o->closed && o->rd_eof && (o->flags & USM_ENGINE_OWNED))
			usm__engine_mark_dirty(eng, o);
}

/*
 * Stop handling @es: out of epoll, the registry and the maps (engine-owned
 * sockets: unlinked from every map, LIFE-01, and the fd closed). Freed in
 * phase 4. Loop thread only.
 */
void usm__engine_close_sock(struct usm_engine *eng, struct usm_esock *es)
{
	if (es->closed)
		return;
	es->reading = false;
	usm__engine_set_events(eng, es);
	es->closed = true;
	usm__esock_unregister(es);
	pthread_mutex_lock(&es->lock);
	es->detached = true;
	usm__esock_update_ready(es);
	pthread_mutex_unlock(&es->lock);
	usm__cq_clear(&es->outq);
	drop_feeds(es);
	if (es->flags & USM_ENGINE_OWNED) {
		usm__sock_unlink_all(es->sk);
		if (!(es->sk->flags & USM_SOCK_OWNS_FD))
			close(es->fd);
	}
	recheck_ended(eng);
	pthread_mutex_lock(&eng->pend_lock);
	eng->resume = true;
	pthread_mutex_unlock(&eng->pend_lock);
}

/* Phase 0: sockets other threads added or changed. */
static void take_pending(struct usm_engine *eng)
{
	struct usm_esock *es, *next;

	pthread_mutex_lock(&eng->pend_lock);
	es = eng->pend;
	eng->pend = NULL;
	for (next = es; next; next = next->pend_next)
		next->in_pending = false;
	pthread_mutex_unlock(&eng->pend_lock);
	for (; es; es = next) {
		next = es->pend_next;
		if (!es->linked && !es->closed) {
			es->linked = true;
			usm__esock_get(es);
			es->next = eng->socks;
			eng->socks = es;
		}
		if (es->linked && !es->closed) {
			if (es->detached)
				usm__engine_close_sock(eng, es);
			else
				usm__rx_refresh(es);
		}
		usm__esock_put(es);
	}
}

static void handle_event(struct usm_engine *eng, struct epoll_event *ev)
{
	struct usm_engine_fdw *w;
	struct usm_esock *es;
	uint64_t v;

	if (ev->data.u64 == USM_EV_TAG_WAKE) {
		if (read(eng->wakefd, &v, sizeof(v)) < 0) {
			/* spurious: nothing to clear */
		}
		return;
	}
	if (ev->data.u64 & USM_EV_TAG_WAKE) {
		w = (void *)(uintptr_t)(ev->data.u64 & ~(uint64_t)USM_EV_TAG_WAKE);
		if (!w->dead)
			w->cb(w->arg, w->fd, ev->events);
		return;
	}
	es = ev->data.ptr;
	if (es->closed)
		return;
	if (ev->events & EPOLLOUT)
		usm__engine_mark_dirty(eng, es);
	if (ev->events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		usm__rx_readable(es);
}

/* Phase 3: flush egress backlogs, refresh receive modes, resume. */
static void flush_dirty(struct usm_engine *eng)
{
	struct usm_esock *es;
	bool resume;

	while ((es = eng->dirty)) {
		eng->dirty = es->dirty_next;
		es->in_dirty = false;
		if (!es->closed)
			usm__egress_flush(es);
		usm__esock_put(es);
	}
	pthread_mutex_lock(&eng->pend_lock);
	resume = eng->resume;
	eng->resume = false;
	pthread_mutex_unlock(&eng->pend_lock);
	if (resume)
		usm__egress_resume(eng);
}

/* Phase 4: free what was closed and watchers that were removed. */
static void reap(struct usm_engine *eng)
{
	struct usm_esock **pp = &eng->socks, *es;
	struct usm_engine_fdw **wp = &eng->fdws, *w;

	while ((es = *pp)) {
		if (es->closed) {
			*pp = es->next;
			es->linked = false;
			usm__esock_put(es);
		} else {
			pp = &es->next;
		}
	}
	while ((w = *wp)) {
		if (w->dead) {
			*wp = w->next;
			free(w);
		} else {
			wp = &w->next;
		}
	}
}

int usm__engine_run_once(struct usm_engine *eng, int timeout_ms)
{
	struct epoll_event evs[64];
	int n, i;

	eng->in_loop = true;
	take_pending(eng);
	flush_dirty(eng);
	if (eng->pend || eng->dirty)
		timeout_ms = 0;
	n = epoll_wait(eng->epfd, evs, 64, timeout_ms);
	if (n < 0 && errno != EINTR) {
		eng->in_loop = false;
		return -errno;
	}
	for (i = 0; i < n; i++)
		handle_event(eng, &evs[i]);
	take_pending(eng);
	flush_dirty(eng);
	reap(eng);
	eng->in_loop = false;
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int usm__engine_run(struct usm_engine *eng, int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms, left;
	int err;

	__atomic_store_n(&eng->stop, 0, __ATOMIC_RELAXED);
	while (!__atomic_load_n(&eng->stop, __ATOMIC_RELAXED)) {
		left = timeout_ms < 0 ? -1 : end - now_ms();
		if (timeout_ms >= 0 && left <= 0)
			break;
		err = usm__engine_run_once(eng, left > 1000 || left < 0 ? 1000
								 : (int)left);
		if (err)
			return err;
	}
	return 0;
}

void usm__engine_free(struct usm_engine *eng)
{
	struct usm_esock *es;

	if (!eng)
		return;
	usm__engine_forget(eng);
	take_pending(eng);
	for (es = eng->socks; es; es = es->next)
		usm__engine_close_sock(eng, es);
	while (eng->dirty) {
		es = eng->dirty;
		eng->dirty = es->dirty_next;
		es->in_dirty = false;
		usm__esock_put(es);
	}
	reap(eng);
	while (eng->fdws) {
		struct usm_engine_fdw *w = eng->fdws;

		eng->fdws = w->next;
		free(w);
	}
	if (eng->epfd >= 0)
		close(eng->epfd);
	if (eng->wakefd >= 0)
		close(eng->wakefd);
	pthread_mutex_destroy(&eng->pend_lock);
	free(eng->rbuf);
	free(eng);
}

int usm__engine_add_fd(struct usm_engine *eng, int fd, uint32_t events,
		       usm_engine_fd_cb cb, void *arg)
{
	struct usm_engine_fdw *w = calloc(1, sizeof(*w));
	struct epoll_event ev = { .events = events };

	if (!w)
		return -ENOMEM;
	w->fd = fd;
	w->cb = cb;
	w->arg = arg;
	ev.data.u64 = (uint64_t)(uintptr_t)w | USM_EV_TAG_WAKE;
	if (epoll_ctl(eng->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		int err = -errno;

		free(w);
		return err;
	}
	w->next = eng->fdws;
	eng->fdws = w;
	return 0;
}

int usm__engine_del_fd(struct usm_engine *eng, int fd)
{
	struct usm_engine_fdw *w;

	for (w = eng->fdws; w; w = w->next) {
		if (w->fd == fd && !w->dead) {
			w->dead = true;
			epoll_ctl(eng->epfd, EPOLL_CTL_DEL, fd, NULL);
			if (!eng->in_loop)
				reap(eng);
			return 0;
		}
	}
	return -ENOENT;
}

int usm__engine_sock_stats(struct usm_engine *eng, struct usm_sock *sk,
			   struct usm_engine_sock_stats *st)
{
	struct usm_esock *es = usm__esock_find_sk(sk);

	if (!es || (eng && es->eng != eng)) {
		usm__esock_put(es);
		return -ENOENT;
	}
	*st = es->st;
	st->queued = usm__esock_queued(es);
	st->paused = es->paused;
	usm__esock_put(es);
	return 0;
}

void usm__engine_for_each_sock(struct usm_engine *eng,
			       void (*cb)(void *arg, struct usm_sock *sk),
			       void *arg)
{
	struct usm_esock *es;

	for (es = eng->socks; es; es = es->next)
		if (!es->closed)
			cb(arg, es->sk);
}
