/* SPDX-License-Identifier: MIT */
/*
 * Listeners and connections of the proxy. Each accepted client gets one
 * backend connection (round-robin over --backend), the sockops programs
 * run (PASSIVE_ESTABLISHED on the client, ACTIVE_ESTABLISHED on the
 * backend, TCP_LISTEN on listeners, MAP-BPF-01), --map placements apply,
 * and then every socket whose psock has receive programs is handed to the
 * engine (USM_ENGINE_OWNED). A socket without receive programs is read by
 * the proxy and its bytes written to its pair's socket (plain forwarding),
 * edge-triggered with one chunk of backlog per direction: a full target
 * stops reading from its source until it drains.
 *
 * Invariants: an endpoint with in_engine set is never read or closed here
 * (the engine owns its wire side); a dead connection is unwatched at once
 * and freed two ticks later, so no event of the current iteration can
 * reach freed memory. Loop thread only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/bpf.h>

#include "../engine/engine.h"
#include "../sock/psock.h"
#include "../sock/sock.h"

#include "proxy_int.h"

#define PX_ET_EVENTS (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)

/* Parse "ADDR:PORT" or "[ADDR6]:PORT". 0 or -EINVAL. */
int usm__proxy_parse_addr(const char *text, void *ssp, uint32_t *len)
{
	struct sockaddr_storage *ss = ssp;
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = text ? strrchr(text, ':') : NULL;
	unsigned long port;
	char *end;
	size_t hl;

	if (!colon || colon == text)
		return -EINVAL;
	hl = (size_t)(colon - text);
	if (hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, text, hl);
	host[hl] = '\0';
	port = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || port > 65535)
		return -EINVAL;
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[' && host[hl - 1] == ']') {
		struct sockaddr_in6 *a = (void *)ss;

		host[hl - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1)
			return -EINVAL;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a);
		return 0;
	}
	{
		struct sockaddr_in *a = (void *)ss;

		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return -EINVAL;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		*len = sizeof(*a);
	}
	return 0;
}

/* ---- plain forwarding ---- */

static void conn_kill(struct usm_proxy *p, struct px_conn *c);

static struct usm_proxy *proxy_of(struct px_ep *e);

/* The fd to write @e's bytes to: the proxy's dup, or (for a socket the
 * engine reads) the socket's own fd, as an application would send. */
static int ep_wfd(const struct px_ep *e)
{
	return e->fd >= 0 ? e->fd : e->sk->fd;
}

/* Write @dst's backlog; false if the connection failed. */
static bool ep_flush(struct px_ep *dst)
{
	ssize_t n;

	if (dst->closed)
		return dst->pend_len == 0;
	while (dst->pend_len) {
		n = send(ep_wfd(dst), dst->pend + dst->pend_off, dst->pend_len,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			dst->writable = false;
			return true;
		}
		if (n <= 0)
			return false;
		dst->pend_off += (uint32_t)n;
		dst->pend_len -= (uint32_t)n;
		dst->bytes_out += (uint64_t)n;
	}
	dst->pend_off = 0;
	if (dst->peer && dst->peer->rd_eof && !dst->wr_shut) {
		shutdown(ep_wfd(dst), SHUT_WR); /* peer EOF propagates */
		dst->wr_shut = true;
	}
	return true;
}

/* Move bytes from @src to its pair until @src is empty or the pair is
 * full; false if the connection failed. */
static bool ep_pump(struct usm_proxy *p, struct px_ep *src)
{
	struct px_ep *dst = src->peer;
	uint8_t sink[4096];
	ssize_t n;

	while (src->readable && !src->rd_eof && !p->stopping) {
		if (dst && !ep_flush(dst))
			return false;
		if (dst && dst->pend_len)
			return true; /* backpressure: resume when it drains */
		if (dst && !dst->pend) {
			dst->pend = malloc(PX_CHUNK);
			if (!dst->pend)
				return false;
		}
		n = dst ? recv(src->fd, dst->pend, PX_CHUNK, MSG_DONTWAIT)
			: recv(src->fd, sink, sizeof(sink), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			src->readable = false;
			return true;
		}
		if (n < 0)
			return false;
		if (n == 0) {
			src->rd_eof = true;
			return dst ? ep_flush(dst) : true;
		}
		src->bytes_in += (uint64_t)n;
		if (dst)
			dst->pend_len = (uint32_t)n;
	}
	return true;
}

/* A plain endpoint is finished when it saw EOF and its bytes went out. */
static bool ep_done(const struct px_ep *e)
{
	if (e->closed)
		return true;
	if (e->in_engine || e->fd < 0) {
		struct usm_engine_sock_stats st;

		/* The engine closed it (EOF both ways, or an error). */
		return usm__engine_sock_stats(e->conn->proxy->eng, e->sk, &st) ||
		       !usm__sock_is_alive(e->sk);
	}
	return e->rd_eof && (!e->peer || e->peer->in_engine ||
			     !e->peer->pend_len);
}

static void conn_check(struct usm_proxy *p, struct px_conn *c)
{
	struct px_ep *b = c->backend.sk ? &c->backend : NULL;

	if (c->dead)
		return;
	if (ep_done(&c->client) && (!b || ep_done(b)))
		conn_kill(p, c);
}

static void ep_event(void *arg, int fd, uint32_t events)
{
	struct px_ep *e = arg;
	struct usm_proxy *p = proxy_of(e);
	bool ok = true;

	if (e->conn->dead)
		return;
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		e->readable = true;
	if (events & EPOLLOUT)
		e->writable = true;
	ok = ep_flush(e) && ep_pump(p, e);
	if (ok && e->peer && !e->peer->in_engine)
		ok = ep_pump(p, e->peer);
	if (!ok)
		conn_kill(p, e->conn);
	else
		conn_check(p, e->conn);
}

/* Tick: retry backlogs toward engine-owned sockets (no OUT events reach
 * the proxy for them) and check connections whose engine side ended. */
void usm__px_retry_pending(struct usm_proxy *p)
{
	struct px_conn *c;

	for (c = p->conns; c; c = c->next) {
		struct px_ep *e[2] = { &c->client, &c->backend };
		bool ok = true;
		int i;

		for (i = 0; i < 2 && !c->dead && ok; i++) {
			if (e[i]->fd < 0 || e[i]->in_engine || e[i]->closed)
				continue;
			if (e[i]->peer && e[i]->peer->in_engine)
				ok = ep_flush(e[i]->peer);
			if (ok && e[i]->readable)
				ok = ep_pump(p, e[i]);
		}
		if (!ok)
			conn_kill(p, c);
		else
			conn_check(p, c);
	}
}

/* Bytes the proxy itself holds for plain forwarding. */
uint64_t usm__px_pending(struct usm_proxy *p)
{
	struct px_conn *c;
	uint64_t n = 0;

	for (c = p->conns; c; c = c->next)
		if (!c->dead)
			n += c->client.pend_len + c->backend.pend_len;
	return n;
}

static struct usm_proxy *proxy_of(struct px_ep *e)
{
	return e->conn->proxy;
}

/* ---- connection setup and teardown ---- */

static void ep_close(struct usm_proxy *p, struct px_ep *e)
{
	if (e->closed)
		return;
	e->closed = true;
	if (e->watched)
		usm__engine_del_fd(p->eng, e->fd);
	e->watched = false;
	if (e->fd >= 0)
		close(e->fd);
	e->fd = -1;
	if (e->registered)
		usm__engine_del_sock(p->eng, e->sk); /* closes the socket's fd
							and unlinks it, LIFE-01 */
	else if (e->sk)
		usm__sock_unlink_all(e->sk);
	e->registered = false;
}

static void conn_kill(struct usm_proxy *p, struct px_conn *c)
{
	if (c->dead)
		return;
	ep_close(p, &c->client);
	ep_close(p, &c->backend);
	c->dead = true;
	c->dead_tick = p->ticks;
	p->n_conns--;
}

static void conn_free(struct px_conn *c)
{
	usm__sock_put(c->client.sk);
	usm__sock_put(c->backend.sk);
	free(c->client.pend);
	free(c->backend.pend);
	free(c);
}

/* Free connections that died at least two ticks ago. */
void usm__px_reap(struct usm_proxy *p)
{
	struct px_conn **pp = &p->conns, *c;

	while ((c = *pp)) {
		if (c->dead && p->ticks > c->dead_tick + 1) {
			*pp = c->next;
			conn_free(c);
		} else {
			pp = &c->next;
		}
	}
}

void usm__px_conn_free_all(struct usm_proxy *p)
{
	struct px_conn *c;

	while ((c = p->conns)) {
		p->conns = c->next;
		conn_kill(p, c);
		conn_free(c);
	}
}

/*
 * Take @fd into @e: build its usm_sock and hand the fd to the engine
 * (owned, not read until a receive program appears) before any map sees
 * it, so the psock hooks find it already there. On error @fd is still the
 * caller's to close unless e->registered is set.
 */
static int ep_init(struct usm_proxy *p, struct px_ep *e, struct px_conn *c,
		   int fd)
{
	int rc = usm__sock_from_fd(fd, 0, &e->sk);

	e->conn = c;
	e->closed = false;
	if (rc)
		return rc;
	rc = usm__engine_add_sock(p->eng, e->sk, USM_ENGINE_OWNED);
	if (rc)
		return rc;
	e->registered = true; /* from now on the engine closes @fd */
	return 0;
}

/* After placement: the engine reads @e if its psock has receive
 * programs; otherwise the proxy forwards its bytes (on a dup of the fd,
 * which epoll watches separately from the engine's registration). */
static int ep_start(struct usm_proxy *p, struct px_ep *e)
{
	int rc;

	if (!e->registered)
		return 0;
	if (usm__psock_rx(e->sk) != USM_PSOCK_RX_NONE) {
		e->in_engine = true;
		return 0;
	}
	e->fd = fcntl(e->sk->fd, F_DUPFD_CLOEXEC, 0);
	if (e->fd < 0)
		return -errno;
	fcntl(e->fd, F_SETFL, fcntl(e->fd, F_GETFL) | O_NONBLOCK);
	rc = usm__engine_add_fd(p->eng, e->fd, PX_ET_EVENTS, ep_event, e);
	if (!rc)
		e->watched = true;
	return rc;
}

static int connect_backend(struct usm_proxy *p)
{
	uint32_t i = p->rr++ % p->n_be;
	int fd, one = 1;

	fd = socket(p->be[i].ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* Blocking connect: backends are local or near; the loop waits. */
	if (connect(fd, (struct sockaddr *)&p->be[i], p->be_len[i]) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static int conn_setup(struct usm_proxy *p, struct px_conn *c, int cfd)
{
	int bfd, rc;

	rc = ep_init(p, &c->client, c, cfd);
	if (rc)
		return rc;
	usm__px_run_sockops(p, c->client.sk,
			    BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB);
	usm__px_place(p, c->client.sk, USM_PROXY_CLIENT);
	if (p->n_be) {
		bfd = connect_backend(p);
		if (bfd < 0)
			return bfd;
		c->backend.closed = false;
		rc = ep_init(p, &c->backend, c, bfd);
		if (rc) {
			if (!c->backend.registered)
				close(bfd);
			return rc;
		}
		c->client.peer = &c->backend;
		c->backend.peer = &c->client;
		usm__px_run_sockops(p, c->backend.sk,
				    BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB);
		usm__px_place(p, c->backend.sk, USM_PROXY_BACKEND);
	}
	rc = ep_start(p, &c->client);
	if (!rc)
		rc = ep_start(p, &c->backend);
	return rc;
}

void usm__px_conn_new(struct usm_proxy *p, int cfd)
{
	struct px_conn *c = calloc(1, sizeof(*c));
	int rc, one = 1;

	if (!c) {
		close(cfd);
		return;
	}
	setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->proxy = p;
	c->id = ++p->next_id;
	c->client.fd = c->backend.fd = -1;
	c->backend.closed = true; /* until there is a backend */
	c->next = p->conns;
	p->conns = c;
	p->n_conns++;
	p->accepted++;
	rc = conn_setup(p, c, cfd);
	if (!c->client.registered)
		close(cfd); /* not handed over: the fd is still ours */
	if (rc) {
		if (p->out && p->trace)
			fprintf(p->out, "usockmap: connection %llu: %s\n",
				(unsigned long long)c->id, strerror(-rc));
		conn_kill(p, c);
	}
}

static void on_accept(void *arg, int fd, uint32_t events)
{
	struct usm_proxy *p = arg;
	int cfd;

	for (;;) {
		cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		if (cfd < 0)
			return; /* EAGAIN, or a transient error */
		if (p->stopping ||
		    (p->max_conns && p->n_conns >= p->max_conns)) {
			p->refused++;
			close(cfd);
			continue;
		}
		usm__px_conn_new(p, cfd);
	}
}

static int listen_one(struct usm_proxy *p, const char *text,
		      struct px_listener *l, char *err, size_t n)
{
	uint32_t len;
	socklen_t sl = sizeof(l->addr);
	int one = 1, rc;

	if (usm__proxy_parse_addr(text, &l->addr, &len)) {
		snprintf(err, n, "--listen '%s': expected ADDR:PORT", text);
		return -EINVAL;
	}
	l->fd = socket(l->addr.ss_family,
		       SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0)
		goto fail;
	setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l->fd, (struct sockaddr *)&l->addr, len) < 0 ||
	    listen(l->fd, 1024) < 0)
		goto fail;
	getsockname(l->fd, (struct sockaddr *)&l->addr, &sl);
	rc = usm__sock_from_fd(l->fd, 0, &l->sk);
	if (!rc)
		rc = usm__engine_add_fd(p->eng, l->fd, EPOLLIN, on_accept, p);
	if (rc) {
		snprintf(err, n, "--listen %s: %s", text, strerror(-rc));
		return rc;
	}
	usm__px_run_sockops(p, l->sk, BPF_SOCK_OPS_TCP_LISTEN_CB);
	usm__px_place(p, l->sk, USM_PROXY_LISTENER);
	return 0;
fail:
	rc = -errno;
	snprintf(err, n, "--listen %s: %s", text, strerror(errno));
	return rc;
}

/* Open every --listen address and parse every --backend. 0 or -errno. */
int usm__px_listen_all(struct usm_proxy *p, const struct usm_proxy_opts *o,
		       char *err, size_t n)
{
	uint32_t i;
	int rc;

	p->be = calloc(o->n_backend + 1, sizeof(*p->be));
	p->be_len = calloc(o->n_backend + 1, sizeof(*p->be_len));
	p->ls = calloc(o->n_listen + 1, sizeof(*p->ls));
	if (!p->be || !p->be_len || !p->ls)
		return -ENOMEM;
	for (i = 0; i < o->n_backend; i++) {
		if (usm__proxy_parse_addr(o->backend[i], &p->be[i],
					  &p->be_len[i])) {
			snprintf(err, n, "--backend '%s': expected ADDR:PORT",
				 o->backend[i]);
			return -EINVAL;
		}
	}
	p->n_be = o->n_backend;
	for (i = 0; i < o->n_listen; i++) {
		p->ls[i].fd = -1;
		rc = listen_one(p, o->listen[i], &p->ls[i], err, n);
		p->n_ls = i + 1;
		if (rc)
			return rc;
	}
	return 0;
}

/* Stop accepting: close every listener (it leaves its maps, LIFE-01). */
void usm__px_close_listeners(struct usm_proxy *p)
{
	uint32_t i;

	for (i = 0; i < p->n_ls; i++) {
		if (p->ls[i].fd < 0)
			continue;
		usm__engine_del_fd(p->eng, p->ls[i].fd);
		if (p->ls[i].sk)
			usm__sock_unlink_all(p->ls[i].sk);
		close(p->ls[i].fd);
		p->ls[i].fd = -1;
		usm__sock_put(p->ls[i].sk);
		p->ls[i].sk = NULL;
	}
}

int usm__proxy_listen_addr(const struct usm_proxy *p, uint32_t i, char *buf,
			   size_t size)
{
	if (!p || i >= p->n_ls || p->ls[i].fd < 0)
		return -ENOENT;
	usm__px_fmt_addr(&p->ls[i].addr, buf, size);
	return 0;
}
