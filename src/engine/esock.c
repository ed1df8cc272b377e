/* SPDX-License-Identifier: MIT */
/*
 * Per-socket engine state (struct usm_esock): creation and references, the
 * process-wide registry (fd -> esock, socket -> esock) the application
 * side and the redirect path use, the psock hooks that hand sockets with a
 * receive mode to an engine, and the lazily started default engine.
 *
 * Default engine: the embedded API has no loop of its own. The first time
 * a socket gets a receive mode (PSK-05) while no engine adopts psocks
 * (usm__engine_adopt_psocks), a process-wide engine is created and run on
 * its own thread until the process exits. The hooks are installed when
 * this file is linked in (a constructor): programs that use the engine's
 * public API (usm_recv & co.) get the receive path; others keep the
 * plain behaviour of the data structures.
 *
 * Hooks run under the psock mutex: they only allocate, register and queue
 * the socket for its loop (usm__engine_pend); the loop does the rest.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../sock/psock.h"
#include "../sock/sock.h"
#include "engine_int.h"

#define REG_BUCKETS 256u

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct usm_esock *reg_fd[REG_BUCKETS];
static struct usm_esock *reg_sk[REG_BUCKETS];
static struct usm_engine *hook_eng;     /* reg_lock */
static struct usm_engine *default_eng;  /* reg_lock */

static uint32_t hash_fd(int fd)
{
	return (uint32_t)fd % REG_BUCKETS;
}

static uint32_t hash_sk(const struct usm_sock *sk)
{
	uintptr_t v = (uintptr_t)sk;

	return (uint32_t)((v >> 6) ^ (v >> 14)) % REG_BUCKETS;
}

int usm__esock_new(struct usm_engine *eng, struct usm_sock *sk,
		   uint32_t flags, struct usm_esock **out)
{
	struct usm_esock *es = calloc(1, sizeof(*es));

	if (!es)
		return -ENOMEM;
	es->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (es->evfd < 0) {
		free(es);
		return -errno;
	}
	pthread_mutex_init(&es->lock, NULL);
	pthread_cond_init(&es->cond, NULL);
	es->refcnt = 1;
	es->eng = eng;
	es->sk = sk;
	usm__sock_get(sk);
	es->fd = sk->fd;
	es->flags = flags;
	es->stream = sk->type == SOCK_STREAM;
	es->tcp = es->stream && sk->domain != AF_UNIX;
	es->listener = sk->listening;
	*out = es;
	return 0;
}

void usm__esock_get(struct usm_esock *es)
{
	__atomic_add_fetch(&es->refcnt, 1, __ATOMIC_RELAXED);
}

void usm__esock_put(struct usm_esock *es)
{
	if (!es || __atomic_sub_fetch(&es->refcnt, 1, __ATOMIC_ACQ_REL))
		return;
	usm__cq_clear(&es->inq);
	usm__cq_clear(&es->outq);
	usm__strp_fini(&es->strp);
	free(es->feeds);
	close(es->evfd);
	pthread_cond_destroy(&es->cond);
	pthread_mutex_destroy(&es->lock);
	usm__sock_put(es->sk);
	free(es);
}

static struct usm_esock *find_sk_locked(const struct usm_sock *sk)
{
	struct usm_esock *es;

	for (es = reg_sk[hash_sk(sk)]; es; es = es->regsk_next)
		if (es->sk == sk)
			return es;
	return NULL;
}

struct usm_esock *usm__esock_find_fd(int fd)
{
	struct usm_esock *es;

	pthread_mutex_lock(&reg_lock);
	for (es = reg_fd[hash_fd(fd)]; es; es = es->reg_next)
		if (es->fd == fd)
			break;
	if (es)
		usm__esock_get(es);
	pthread_mutex_unlock(&reg_lock);
	return es;
}

struct usm_esock *usm__esock_find_sk(const struct usm_sock *sk)
{
	struct usm_esock *es;

	pthread_mutex_lock(&reg_lock);
	es = find_sk_locked(sk);
	if (es)
		usm__esock_get(es);
	pthread_mutex_unlock(&reg_lock);
	return es;
}

/* Registry takes one reference. reg_lock held. */
static void register_locked(struct usm_esock *es)
{
	uint32_t h = hash_fd(es->fd), k = hash_sk(es->sk);

	usm__esock_get(es);
	es->reg_next = reg_fd[h];
	reg_fd[h] = es;
	es->regsk_next = reg_sk[k];
	reg_sk[k] = es;
}

static bool unlink_chain(struct usm_esock **pp, struct usm_esock *es,
			 bool by_fd)
{
	for (; *pp; pp = by_fd ? &(*pp)->reg_next : &(*pp)->regsk_next) {
		if (*pp == es) {
			*pp = by_fd ? es->reg_next : es->regsk_next;
			return true;
		}
	}
	return false;
}

void usm__esock_unregister(struct usm_esock *es)
{
	bool was;

	pthread_mutex_lock(&reg_lock);
	was = unlink_chain(&reg_fd[hash_fd(es->fd)], es, true);
	unlink_chain(&reg_sk[hash_sk(es->sk)], es, false);
	pthread_mutex_unlock(&reg_lock);
	usm__psock_lock();
	if (es->sk->psock && es->sk->psock->engine == es)
		es->sk->psock->engine = NULL;
	usm__psock_unlock();
	if (was)
		usm__esock_put(es);
}

/*
 * Whether es->fd still names es's socket. An application may close the
 * fd without usm_close() while the loop still holds the esock, and the
 * number may already name a new socket: never register or write to it.
 */
bool usm__esock_fd_ok(const struct usm_esock *es)
{
	uint64_t cookie = 0;
	socklen_t len = sizeof(cookie);

	return getsockopt(es->fd, SOL_SOCKET, SO_COOKIE, &cookie, &len) == 0 &&
	       cookie == es->sk->cookie;
}

/* Make the eventfd readable iff usm_recv would return now. es->lock held. */
void usm__esock_update_ready(struct usm_esock *es)
{
	bool ready = es->inq.count || es->eof || es->err || es->detached ||
		     es->stuck;
	uint64_t v = 1;

	if (ready && !es->evset) {
		if (write(es->evfd, &v, sizeof(v)) == sizeof(v))
			es->evset = true;
	} else if (!ready && es->evset) {
		if (read(es->evfd, &v, sizeof(v)) == sizeof(v))
			es->evset = false;
	}
	if (ready)
		pthread_cond_broadcast(&es->cond);
}

uint64_t usm__esock_queued(struct usm_esock *es)
{
	uint64_t n;

	pthread_mutex_lock(&es->lock);
	n = es->inq.bytes;
	pthread_mutex_unlock(&es->lock);
	return n + es->outq.bytes;
}

void usm__engine_pend(struct usm_engine *eng, struct usm_esock *es)
{
	bool wake = false;

	pthread_mutex_lock(&eng->pend_lock);
	if (!es->in_pending) {
		es->in_pending = true;
		usm__esock_get(es);
		es->pend_next = eng->pend;
		eng->pend = es;
		wake = true;
	}
	pthread_mutex_unlock(&eng->pend_lock);
	if (wake)
		usm__engine_wake(eng);
}

static void *default_thread(void *arg)
{
	usm__engine_run(arg, -1);
	return NULL;
}

/* The engine the hooks give new sockets to. reg_lock held. */
static struct usm_engine *hook_engine_locked(void)
{
	pthread_attr_t attr;
	pthread_t th;

	if (hook_eng)
		return hook_eng;
	if (!default_eng) {
		if (usm__engine_new(NULL, &default_eng))
			return NULL;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&th, &attr, default_thread, default_eng)) {
			usm__engine_free(default_eng);
			default_eng = NULL;
		}
		pthread_attr_destroy(&attr);
	}
	return default_eng;
}

int usm__engine_adopt_psocks(struct usm_engine *eng)
{
	pthread_mutex_lock(&reg_lock);
	hook_eng = eng;
	pthread_mutex_unlock(&reg_lock);
	return 0;
}

void usm__engine_forget(struct usm_engine *eng)
{
	pthread_mutex_lock(&reg_lock);
	if (hook_eng == eng)
		hook_eng = NULL;
	if (default_eng == eng)
		default_eng = NULL;
	pthread_mutex_unlock(&reg_lock);
}

/* PSK-05/06: a receive mode started or stopped. psock mutex held. */
static void hook_rx_changed(struct usm_psock *psock, enum usm_psock_rx old)
{
	struct usm_esock *es;
	struct usm_engine *eng;

	(void)old;
	pthread_mutex_lock(&reg_lock);
	es = find_sk_locked(psock->sk);
	if (!es && psock->rx != USM_PSOCK_RX_NONE && !psock->sk->listening) {
		eng = hook_engine_locked();
		if (eng && !usm__esock_new(eng, psock->sk, 0, &es)) {
			register_locked(es);
			usm__esock_put(es); /* the registry's reference remains */
		}
	}
	if (es)
		usm__esock_get(es);
	pthread_mutex_unlock(&reg_lock);
	if (!es)
		return;
	psock->engine = es;
	pthread_mutex_lock(&es->lock);
	es->verdict = psock->rx != USM_PSOCK_RX_NONE && !es->listener;
	pthread_mutex_unlock(&es->lock);
	usm__engine_pend(es->eng, es);
	usm__esock_put(es);
}

/* PSK-07: the psock goes; unread redirected data goes with it. */
static void hook_drop(struct usm_psock *psock)
{
	struct usm_esock *es = psock->engine;

	if (!es)
		return;
	psock->engine = NULL;
	pthread_mutex_lock(&es->lock);
	usm__cq_clear(&es->inq);
	es->verdict = false;
	usm__esock_update_ready(es);
	pthread_cond_broadcast(&es->cond); /* blocked readers go native */
	pthread_mutex_unlock(&es->lock);
	es->psock_gone = true;
	usm__engine_pend(es->eng, es);
}

static const struct usm_psock_hooks engine_hooks = {
	.rx_changed = hook_rx_changed,
	.drop = hook_drop,
};

__attribute__((constructor)) static void install_hooks(void)
{
	usm__psock_set_hooks(&engine_hooks);
}

/* usm_close() calls this (weak reference) before closing @fd. */
void usm__engine_fd_closing(int fd)
{
	struct usm_esock *es = usm__esock_find_fd(fd);

	if (!es)
		return;
	pthread_mutex_lock(&es->lock);
	es->detached = true;
	es->fd_gone = true;
	epoll_ctl(es->eng->epfd, EPOLL_CTL_DEL, fd, NULL);
	usm__esock_update_ready(es);
	pthread_mutex_unlock(&es->lock);
	usm__esock_unregister(es);
	usm__engine_pend(es->eng, es);
	usm__esock_put(es);
}

int usm__engine_add_sock(struct usm_engine *eng, struct usm_sock *sk,
			 uint32_t flags)
{
	struct usm_esock *es;
	int err, fl;

	pthread_mutex_lock(&reg_lock);
	es = find_sk_locked(sk);
	if (es) {
		err = es->eng == eng ? -EEXIST : -EBUSY;
		pthread_mutex_unlock(&reg_lock);
		return err;
	}
	err = usm__esock_new(eng, sk, flags, &es);
	if (!err)
		register_locked(es);
	pthread_mutex_unlock(&reg_lock);
	if (err)
		return err;
	fl = fcntl(sk->fd, F_GETFL);
	if (fl >= 0 && (flags & USM_ENGINE_OWNED))
		fcntl(sk->fd, F_SETFL, fl | O_NONBLOCK);
	usm__psock_lock();
	if (sk->psock && !sk->psock->engine)
		sk->psock->engine = es;
	usm__psock_unlock();
	pthread_mutex_lock(&es->lock);
	es->verdict = usm__psock_rx(sk) != USM_PSOCK_RX_NONE && !es->listener;
	pthread_mutex_unlock(&es->lock);
	usm__engine_pend(eng, es);
	usm__esock_put(es);
	return 0;
}

void usm__engine_del_sock(struct usm_engine *eng, struct usm_sock *sk)
{
	struct usm_esock *es = usm__esock_find_sk(sk);

	if (!es)
		return;
	if (es->eng == eng) {
		pthread_mutex_lock(&es->lock);
		es->detached = true;
		usm__esock_update_ready(es);
		pthread_mutex_unlock(&es->lock);
		usm__esock_unregister(es);
		usm__engine_pend(eng, es);
	}
	usm__esock_put(es);
}

/*
 * The esock of redirect target @sk, created in @eng (not reading: its own
 * receive mode decides that) if the socket has none yet. New reference or
 * NULL. Loop thread of @eng.
 */
struct usm_esock *usm__esock_target(struct usm_engine *eng,
				    struct usm_sock *sk)
{
	struct usm_esock *es;

	pthread_mutex_lock(&reg_lock);
	es = find_sk_locked(sk);
	if (!es && !usm__esock_new(eng, sk, 0, &es)) {
		register_locked(es);
		usm__engine_pend(eng, es); /* linked at the next phase 0 */
		usm__esock_put(es);
	}
	if (es)
		usm__esock_get(es);
	pthread_mutex_unlock(&reg_lock);
	return es;
}

/*
 * sk_msg ingress redirect (SEMANTICS MSG-18): append @len bytes to @sk's
 * ingress queue, where usm_recv() on it reads them. A target the engine
 * does not know yet gets a non-reading esock in the engine the hooks use
 * (its own receive mode decides whether the engine also reads its wire).
 * Any thread. 0, -ENOMEM.
 */
int usm__engine_ingress(struct usm_sock *sk, const void *data, uint32_t len)
{
	struct usm_esock *es = usm__esock_find_sk(sk);
	struct usm_engine *eng;
	struct usm_chunk *c;

	if (!es) {
		pthread_mutex_lock(&reg_lock);
		eng = hook_engine_locked();
		pthread_mutex_unlock(&reg_lock);
		es = eng ? usm__esock_target(eng, sk) : NULL;
		if (!es)
			return -ENOMEM;
	}
	c = usm__chunk_copy(data, len);
	if (!c) {
		usm__esock_put(es);
		return -ENOMEM;
	}
	usm__verdict_ingress(es, c);
	usm__esock_put(es);
	return 0;
}

/*
 * The esock an application call on @fd should wait on: the one the engine
 * has, or — for a socket in a map that the engine does not read (no
 * receive program) — a non-reading one made now, so that bytes another
 * socket redirects into it (sk_msg or sk_skb BPF_F_INGRESS) wake a blocked
 * usm_recv and its poll fd (RECV-09, PSK-08). NULL for a socket in no map.
 * New reference. Any thread.
 */
struct usm_esock *usm__esock_for_app_fd(int fd)
{
	struct usm_esock *es = usm__esock_find_fd(fd);
	struct usm_engine *eng;
	struct usm_sock *sk;
	bool in_map;

	if (es || usm__sock_lookup_fd(fd, &sk))
		return es;
	usm__psock_lock();
	in_map = sk->psock != NULL;
	usm__psock_unlock();
	if (in_map) {
		pthread_mutex_lock(&reg_lock);
		eng = hook_engine_locked();
		pthread_mutex_unlock(&reg_lock);
		es = eng ? usm__esock_target(eng, sk) : NULL;
	}
	usm__sock_put(sk);
	return es;
}
