/* SPDX-License-Identifier: MIT */
/*
 * The proxy object: construction (object, programs, engine, listeners,
 * control socket, signalfd, tick timer), the run loop and teardown.
 *
 * The loop is the engine's (usm__engine_run); the proxy's own work happens
 * in fd callbacks: accept (conn.c), the control socket (control.c), the
 * signalfd and a 10 ms tick that retries backlogs toward engine sockets,
 * frees dead connections, ends the run at --duration and ends the drain.
 * Stopping (signal or duration): listeners close, no more bytes are read
 * by the proxy, and the loop keeps flushing until nothing is queued (the
 * proxy's backlogs and the engine's per-socket queues) or 2 s passed.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <usockmap/object.h>

#include "../engine/engine.h"
#include "../vm/vm.h"

#include "proxy_int.h"

#define PX_TICK_MS 10u
#define PX_DRAIN_MS 2000u

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void begin_stop(struct usm_proxy *p)
{
	if (p->stopping)
		return;
	p->stopping = true;
	p->drain_until_ms = now_ms() + PX_DRAIN_MS;
	usm__px_close_listeners(p);
	usm__px_rp_stop(p);
}

static void sum_queued(void *arg, struct usm_sock *sk)
{
	struct usm_proxy *p = arg;
	struct usm_engine_sock_stats st;

	if (!usm__engine_sock_stats(p->eng, sk, &st))
		p->drain_queued += st.queued;
}

static void on_tick(void *arg, int fd, uint32_t events)
{
	struct usm_proxy *p = arg;
	uint64_t exp;

	if (read(fd, &exp, sizeof(exp)) < 0 && errno != EAGAIN)
		return;
	p->ticks++;
	if (p->deadline_ms && now_ms() >= p->deadline_ms)
		begin_stop(p);
	usm__px_retry_pending(p);
	usm__px_reap(p);
	usm__px_rp_reap(p);
	if (!p->stopping)
		return;
	p->drain_queued = usm__px_pending(p);
	usm__engine_for_each_sock(p->eng, sum_queued, p);
	if (!p->drain_queued || now_ms() >= p->drain_until_ms)
		usm__engine_stop(p->eng);
}

static void on_signal(void *arg, int fd, uint32_t events)
{
	struct usm_proxy *p = arg;
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		begin_stop(p);
}

static int open_signals(struct usm_proxy *p)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return -EINVAL;
	p->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (p->sig_fd < 0)
		return -errno;
	return usm__engine_add_fd(p->eng, p->sig_fd, EPOLLIN, on_signal, p);
}

static int open_tick(struct usm_proxy *p)
{
	struct itimerspec it = { 0 };

	it.it_interval.tv_nsec = PX_TICK_MS * 1000000L;
	it.it_value = it.it_interval;
	p->tick_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (p->tick_fd < 0)
		return -errno;
	if (timerfd_settime(p->tick_fd, 0, &it, NULL) < 0)
		return -errno;
	return usm__engine_add_fd(p->eng, p->tick_fd, EPOLLIN, on_tick, p);
}

static int make_engine(struct usm_proxy *p, const struct usm_proxy_opts *o)
{
	struct usm_engine_opts eo = { .sz = sizeof(eo) };
	int rc;

	eo.max_queued_bytes = o->max_queued_bytes;
	eo.trace = usm__px_trace_ev;
	eo.trace_arg = p;
	eo.printk = usm__px_printk;
	eo.printk_arg = p;
	rc = usm__engine_new(&eo, &p->eng);
	/* Sockets that get receive programs go to this engine, not to the
	 * process-wide default one. */
	return rc ? rc : usm__engine_adopt_psocks(p->eng);
}

static int proxy_setup(struct usm_proxy *p, const struct usm_proxy_opts *o,
		       char *err, size_t n)
{
	int rc;

	rc = usm__px_attach_progs(p, o, err, n);
	if (rc)
		return rc;
	rc = make_engine(p, o);
	if (rc) {
		snprintf(err, n, "engine: %s", strerror(-rc));
		return rc;
	}
	rc = open_signals(p);
	if (!rc)
		rc = open_tick(p);
	if (rc) {
		snprintf(err, n, "signalfd/timerfd: %s", strerror(-rc));
		return rc;
	}
	rc = usm__px_listen_all(p, o, err, n);
	if (!rc)
		rc = usm__px_rp_open(p, o, err, n);
	if (!rc)
		rc = usm__px_control_open(p, o->control_path, err, n);
	return rc;
}

int usm__proxy_new(const struct usm_proxy_opts *o, struct usm_proxy **out,
		   char *err, size_t n)
{
	struct usm_proxy *p;
	int rc;

	*out = NULL;
	if (!o || o->sz < sizeof(*o) || !o->obj_path ||
	    (!o->n_listen && !o->reuseport)) {
		snprintf(err, n, "need an object and a --listen or --reuseport");
		return -EINVAL;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, n, "out of memory");
		return -ENOMEM;
	}
	p->sig_fd = p->tick_fd = p->ctl_fd = -1;
	p->trace = o->trace;
	p->json = o->trace_json;
	p->out = o->trace_out ? o->trace_out : stdout;
	p->max_conns = o->max_conns;
	if (o->duration_ms)
		p->deadline_ms = now_ms() + o->duration_ms;
	rc = proxy_setup(p, o, err, n);
	if (rc) {
		if (rc == -ENOMEM)
			snprintf(err, n, "out of memory");
		usm__proxy_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

int usm__proxy_run(struct usm_proxy *p)
{
	int rc = 0;

	while (!rc) {
		rc = usm__engine_run(p->eng, -1);
		if (p->stopping)
			break;
	}
	return rc;
}

const char *usm__proxy_control_path(const struct usm_proxy *p)
{
	return p ? p->ctl_path : NULL;
}

void usm__proxy_free(struct usm_proxy *p)
{
	uint32_t i;

	if (!p)
		return;
	usm__px_control_close(p);
	usm__px_close_listeners(p);
	usm__px_rp_close(p);
	usm__px_conn_free_all(p);
	if (p->eng) {
		usm__engine_del_fd(p->eng, p->sig_fd);
		usm__engine_del_fd(p->eng, p->tick_fd);
	}
	usm__engine_free(p->eng);
	if (p->sig_fd >= 0)
		close(p->sig_fd);
	if (p->tick_fd >= 0)
		close(p->tick_fd);
	for (i = 0; i < p->n_sockops; i++)
		usm__prog_put(p->sockops[i]);
	free(p->sockops);
	usm_object_close(p->obj);
	free(p->ls);
	free(p->be);
	free(p->be_len);
	free(p->place);
	free(p);
}
