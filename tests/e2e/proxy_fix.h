/* SPDX-License-Identifier: MIT */
/*
 * Fixture for the `usockmap run` e2e tests (test_proxy_*.c): an echo
 * backend on loopback (threads in the test process), the proxy started as
 * a child process of the CLI (its stderr tells the listen port and the
 * control socket; its stdout, the trace, goes to a file), clients that
 * push bytes through it, and control-socket commands through the CLI.
 */
#ifndef USM_TEST_PROXY_FIX_H
#define USM_TEST_PROXY_FIX_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "usm_test.h"

/* ---- echo backend ---- */

struct echo_srv {
	int lfd;
	uint16_t port;
	pthread_t th;
	volatile bool stop;
};

static inline void *echo_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[65536];
	ssize_t n, w, off;

	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
		for (off = 0; off < n; off += w) {
			w = send(fd, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
			if (w <= 0)
				goto out;
		}
	}
out:
	close(fd);
	return NULL;
}

static inline void *echo_accept(void *arg)
{
	struct echo_srv *e = arg;
	pthread_t th;
	int fd;

	while (!e->stop) {
		fd = accept(e->lfd, NULL, NULL);
		if (fd < 0)
			break;
		if (pthread_create(&th, NULL, echo_conn, (void *)(intptr_t)fd))
			close(fd);
		else
			pthread_detach(th);
	}
	return NULL;
}

static inline void echo_start(struct echo_srv *e)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t l = sizeof(a);

	memset(e, 0, sizeof(*e));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	e->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(e->lfd >= 0);
	assert_int_equal(bind(e->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(e->lfd, 128), 0);
	assert_int_equal(getsockname(e->lfd, (struct sockaddr *)&a, &l), 0);
	e->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&e->th, NULL, echo_accept, e), 0);
}

static inline void echo_stop(struct echo_srv *e)
{
	e->stop = true;
	shutdown(e->lfd, SHUT_RDWR);
	pthread_join(e->th, NULL);
	close(e->lfd);
}

/* ---- the proxy process ---- */

struct proxy {
	pid_t pid;
	uint16_t port;
	char ctl[128];
	char out[64];   /* trace (stdout) file */
	char err[4096]; /* what it wrote to stderr before it was ready */
	int errfd;      /* read end of its stderr, kept open (no SIGPIPE) */
};

/* Proxies started and not yet stopped: a failed assertion leaves the test
 * early, so the group teardown (proxy_reap_all) ends them. */
#define PROXY_MAX_LIVE 8
static pid_t proxy_live[PROXY_MAX_LIVE];

static inline void proxy_track(pid_t pid, pid_t old)
{
	int i;

	for (i = 0; i < PROXY_MAX_LIVE; i++) {
		if (proxy_live[i] == old) {
			proxy_live[i] = pid;
			return;
		}
	}
}

/* cmocka group teardown: kill and reap proxies a failed test left. */
static inline int proxy_reap_all(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < PROXY_MAX_LIVE; i++) {
		if (proxy_live[i] > 0) {
			kill(proxy_live[i], SIGKILL);
			waitpid(proxy_live[i], NULL, 0);
			proxy_live[i] = 0;
		}
	}
	return 0;
}

/* true: start without --control (the default path; p->ctl is read from
 * the proxy's stderr). */
static bool proxy_default_control;

/* Start `usockmap run OBJ ARGS --listen 127.0.0.1:0 --control ...`; wait
 * for its "listening on" line. Returns 0 or the exit status if it ended
 * before (its stderr in p->err). */
static inline int proxy_start(struct proxy *p, const char *obj, const char *args)
{
	static int seq;
	char cmd[2048];
	int pfd[2], n = 0, st;
	ssize_t r;
	char *l;

	memset(p, 0, sizeof(*p));
	snprintf(p->ctl, sizeof(p->ctl), "/tmp/usm-test-proxy-%d-%d.sock",
		 (int)getpid(), ++seq);
	snprintf(p->out, sizeof(p->out), "/tmp/usm-test-proxy-%d-%d.out",
		 (int)getpid(), seq);
	snprintf(cmd, sizeof(cmd), "exec %s run %s --listen 127.0.0.1:0 "
		 "%s%s %s >%s", usm_test_cli_path(), obj,
		 proxy_default_control ? "" : "--control ",
		 proxy_default_control ? "" : p->ctl, args, p->out);
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	p->pid = fork();
	assert_true(p->pid >= 0);
	if (p->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
		dup2(pfd[1], 2);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	proxy_track(p->pid, 0);
	while (n < (int)sizeof(p->err) - 1) {
		r = read(pfd[0], p->err + n, sizeof(p->err) - 1 - (size_t)n);
		if (r <= 0)
			break;
		n += (int)r;
		p->err[n] = '\0';
		if (strstr(p->err, "control socket "))
			break;
	}
	p->errfd = pfd[0];
	l = strstr(p->err, "listening on 127.0.0.1:");
	if (!l || !strstr(p->err, "control socket ")) {
		close(p->errfd);
		waitpid(p->pid, &st, 0);
		proxy_track(0, p->pid);
		p->pid = 0;
		return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
	}
	p->port = (uint16_t)atoi(l + strlen("listening on 127.0.0.1:"));
	l = strstr(p->err, "control socket ") + strlen("control socket ");
	snprintf(p->ctl, sizeof(p->ctl), "%.*s", (int)strcspn(l, "\n"), l);
	return 0;
}

/* SIGTERM and wait: the exit status (128+sig if killed). */
static inline int proxy_stop(struct proxy *p)
{
	int st = 0;

	if (p->pid <= 0)
		return -1;
	kill(p->pid, SIGTERM);
	waitpid(p->pid, &st, 0);
	close(p->errfd);
	proxy_track(0, p->pid);
	p->pid = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The trace file's contents (malloc'd) and remove it. */
static inline char *proxy_trace(struct proxy *p)
{
	FILE *f = fopen(p->out, "r");
	char *buf = calloc(1, 1 << 20);
	size_t n = 0;

	assert_non_null(buf);
	if (f) {
		n = fread(buf, 1, (1 << 20) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	unlink(p->out);
	return buf;
}

/* Run the CLI with ARGS and --control of @p; exit status, output in *out. */
static inline int proxy_cli(struct proxy *p, const char *args, char **out)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "%s %s --control %s", usm_test_cli_path(),
		 args, p->ctl);
	return usm_test_run_cmd(cmd, out);
}

/* ---- clients ---- */

static inline int client_connect(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons(port);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static inline uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/*
 * Send @len bytes of @out on @fd while reading up to @len bytes into @in
 * (both non-blocking, poll), within @timeout_ms. Returns bytes received.
 * With @shut, the write side is shut after the last byte.
 */
static inline size_t client_xfer(int fd, const uint8_t *out, uint8_t *in, size_t len,
			  bool shut, int timeout_ms)
{
	size_t sent = 0, got = 0;
	uint64_t end = now_ms() + (uint64_t)timeout_ms;
	struct pollfd pf = { .fd = fd };
	ssize_t n;

	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	while (got < len && now_ms() < end) {
		pf.events = POLLIN | (sent < len ? POLLOUT : 0);
		if (poll(&pf, 1, 100) <= 0)
			continue;
		if (sent < len && (pf.revents & POLLOUT)) {
			n = send(fd, out + sent, len - sent > 65536 ? 65536 :
				 len - sent, MSG_NOSIGNAL);
			if (n > 0)
				sent += (size_t)n;
			if (sent == len && shut)
				shutdown(fd, SHUT_WR);
		}
		if (pf.revents & (POLLIN | POLLHUP | POLLERR)) {
			n = recv(fd, in + got, len - got, 0);
			if (n == 0)
				break;
			if (n > 0)
				got += (size_t)n;
		}
	}
	return got;
}

/* Wait up to @ms for EOF on @fd (true: EOF seen). */
static inline bool client_wait_eof(int fd, int ms)
{
	uint64_t end = now_ms() + (uint64_t)ms;
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	char c;

	while (now_ms() < end) {
		if (poll(&pf, 1, 50) > 0) {
			ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);

			if (n == 0 || (n < 0 && errno != EAGAIN))
				return true;
		}
	}
	return false;
}

static inline void fill_pattern(uint8_t *b, size_t len, uint32_t seed)
{
	size_t i;

	for (i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		b[i] = (uint8_t)(seed >> 16);
	}
}

#endif /* USM_TEST_PROXY_FIX_H */
