/* SPDX-License-Identifier: MIT */
/*
 * Send-path benchmark: throughput (MB/s of bulk 64 KiB sends) and latency
 * (64-byte request/response round trips per second, p50/p99) over one
 * loopback TCP pair (client c, server s), for
 *   plain      send()/recv() on the pair, no program (the baseline)
 *   usm-pass   usm_send/usm_recv, both ends in a SOCKHASH whose sk_msg
 *              program passes (tests/bpf/bench_tx bench_pass)
 *   usm-redir  usm_send/usm_recv, the program redirects every message
 *              with BPF_F_INGRESS into the peer's receive queue
 *              (bench_redir: the "local acceleration" pattern)
 *   kern-pass  the kernel's sk_msg with the same object (libbpf, real
 *   kern-redir SOCKHASH), send()/recv(); root and kernel BPF only
 * in the same run. Throughput: a receiver thread drains s while the main
 * thread sends. Latency: an echo thread answers each 64-byte request.
 * Each case runs REPS times; the medians are reported. Every phase is
 * bounded (sizes, a wall-clock limit, SO_SNDTIMEO and
 * SO_RCVTIMEO, poll timeouts); a phase cut short is reported as such.
 *
 * Receivers busy-poll (recv MSG_DONTWAIT, sched_yield) in every case by
 * default, so that all cases wait the same way (see rx() for why
 * usm-redir cannot sleep); --sleep makes the others sleep in poll().
 *
 * Usage: send_bench [--obj FILE] [--json FILE] [--mib N] [--rtts N]
 *                   [--sleep]
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <usockmap/libbpf.h>
#include <usockmap/bpf.h>
#include <usockmap/send.h>
#include <usockmap/sock.h>

#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The kernel's own names again (usockmap/libbpf.h renamed them). */
#undef bpf_object__open_file
#undef bpf_object__load
#undef bpf_object__close
#undef bpf_object__find_program_by_name
#undef bpf_program__fd
#undef bpf_object__find_map_by_name
#undef bpf_map__fd
#undef bpf_map_update_elem
#undef bpf_prog_attach

#define CHUNK (64 * 1024)
#define REQ 64
#define PHASE_LIMIT_S 20.0
#define IO_TIMEOUT_MS 5000
#define REPS 3

enum kind { K_PLAIN, K_USM_PASS, K_USM_REDIR, K_KERN_PASS, K_KERN_REDIR,
	    K_COUNT };
static const char *const kind_names[K_COUNT] = {
	"plain", "usm-pass", "usm-redir", "kern-pass", "kern-redir"
};

/* One backend's calls: usockmap's or libbpf/libc's. */
struct be {
	struct bpf_object *(*open)(const char *,
				   const struct bpf_object_open_opts *);
	int (*load)(struct bpf_object *);
	void (*close)(struct bpf_object *);
	struct bpf_program *(*find_prog)(const struct bpf_object *,
					 const char *);
	int (*prog_fd)(const struct bpf_program *);
	struct bpf_map *(*find_map)(const struct bpf_object *, const char *);
	int (*map_fd)(const struct bpf_map *);
	int (*update)(int, const void *, const void *, __u64);
	int (*attach)(int, int, enum bpf_attach_type, unsigned int);
	ssize_t (*send)(int, const void *, size_t, int);
	ssize_t (*recv)(int, void *, size_t, int);
	int (*sclose)(int);
	bool usm;
};

static const struct be BE_USM = {
	usm_compat_bpf_object__open_file, usm_compat_bpf_object__load,
	usm_compat_bpf_object__close,
	usm_compat_bpf_object__find_program_by_name,
	usm_compat_bpf_program__fd, usm_compat_bpf_object__find_map_by_name,
	usm_compat_bpf_map__fd, usm_compat_bpf_map_update_elem,
	usm_compat_bpf_prog_attach, usm_send, usm_recv, usm_close, true,
};

static const struct be BE_KERN = {
	bpf_object__open_file, bpf_object__load, bpf_object__close,
	bpf_object__find_program_by_name, bpf_program__fd,
	bpf_object__find_map_by_name, bpf_map__fd, bpf_map_update_elem,
	bpf_prog_attach, send, recv, close, false,
};

/* One case's pair of sockets and what serves them. */
struct pair {
	const struct be *be;
	struct bpf_object *obj;
	int c, s;
	int poll_c, poll_s;     /* usm_sock_poll_fd, or the socket */
	bool spin;              /* receivers busy-poll (see rx()) */
	double deadline;
};

struct result {
	bool ran;
	const char *why;        /* not run: why */
	double mbps, rtps, p50_us, p99_us;
	uint64_t bytes;         /* bytes received in the throughput phase */
	long rtts;              /* round trips completed */
	bool cut;               /* a phase hit its limit or an error */
};

/* --sleep: receivers sleep in poll() (except usm-redir, see rx()). */
static bool sleep_rx;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int tcp_pair(int *c, int *s)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int l, ret = -1;

	*c = *s = -1;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0)
		return -1;
	if (bind(l, (void *)&sa, sizeof(sa)) || listen(l, 1) ||
	    getsockname(l, (void *)&sa, &len))
		goto out;
	*c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*c < 0 || connect(*c, (void *)&sa, sizeof(sa)))
		goto out;
	*s = accept(l, NULL, NULL);
	ret = *s < 0 ? -1 : 0;
out:
	close(l);
	return ret;
}

static uint32_t local_port(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	if (getsockname(fd, (void *)&a, &len))
		return 0;
	return ntohs(a.sin_port);
}

static void set_timeouts(int fd)
{
	struct timeval tv = { IO_TIMEOUT_MS / 1000, 0 };

	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/* Load @obj on the pair's backend, attach @prog to peers and put each
 * socket in peers at its own local port -> its peer. */
static const char *attach_obj(struct pair *p, const char *path,
			      const char *prog)
{
	const struct be *be = p->be;
	uint32_t kc = local_port(p->c), ks = local_port(p->s);
	uint32_t vc = (uint32_t)p->c, vs = (uint32_t)p->s;
	struct bpf_program *pg;
	struct bpf_map *m;
	int mfd;

	p->obj = be->open(path, NULL);
	if (!p->obj || be->load(p->obj))
		return be->usm ? "object does not load"
			       : "kernel BPF unavailable (load failed)";
	pg = be->find_prog(p->obj, prog);
	m = be->find_map(p->obj, "peers");
	if (!pg || !m)
		return "program or map missing in the object";
	mfd = be->map_fd(m);
	if (be->attach(be->prog_fd(pg), mfd, BPF_SK_MSG_VERDICT, 0))
		return "attach failed";
	if (be->update(mfd, &kc, &vs, BPF_ANY) ||
	    be->update(mfd, &ks, &vc, BPF_ANY))
		return "map update failed";
	return NULL;
}

static void pair_close(struct pair *p)
{
	if (p->c >= 0)
		p->be->sclose(p->c);
	if (p->s >= 0)
		p->be->sclose(p->s);
	if (p->obj)
		p->be->close(p->obj);
	memset(p, 0, sizeof(*p));
	p->c = p->s = -1;
}

/* Set up case @k; NULL or why it cannot run. */
static const char *pair_open(struct pair *p, enum kind k, const char *obj)
{
	static const struct be BE_PLAIN = {
		.send = send, .recv = recv, .sclose = close,
	};
	const char *why = NULL;

	memset(p, 0, sizeof(*p));
	p->be = k == K_PLAIN ? &BE_PLAIN
		: (k == K_USM_PASS || k == K_USM_REDIR) ? &BE_USM : &BE_KERN;
	p->spin = k == K_USM_REDIR || !sleep_rx;
	if (tcp_pair(&p->c, &p->s))
		return "loopback TCP pair failed";
	set_timeouts(p->c);
	set_timeouts(p->s);
	if (k != K_PLAIN)
		why = attach_obj(p, obj, (k == K_USM_PASS || k == K_KERN_PASS)
					 ? "bench_pass" : "bench_redir");
	p->poll_c = p->be->usm ? usm_sock_poll_fd(p->c) : p->c;
	p->poll_s = p->be->usm ? usm_sock_poll_fd(p->s) : p->s;
	if (!why && (p->poll_c < 0 || p->poll_s < 0))
		why = "usm_sock_poll_fd failed";
	return why;
}

/* Receive up to @len bytes on @fd (0: timeout or past the deadline).
 * With p->spin the receiver busy-polls: bytes redirected with
 * BPF_F_INGRESS into a socket that has no receive program do not make
 * usm_sock_poll_fd() (the socket's own fd then) readable, and a blocking
 * usm_recv() waits in the native recv() without seeing them, so the
 * usm-redir case cannot sleep until data arrives. */
static ssize_t rx(struct pair *p, int fd, int pfd, void *buf, size_t len)
{
	struct pollfd pf[2] = { { .fd = pfd, .events = POLLIN },
				{ .fd = fd, .events = POLLIN } };
	ssize_t r;

	for (;;) {
		r = p->be->recv(fd, buf, len, MSG_DONTWAIT);
		if (r >= 0 || (errno != EAGAIN && errno != EINTR))
			return r;
		if (now_s() > p->deadline)
			return 0;
		if (p->spin)
			sched_yield();
		else if (poll(pf, pfd == fd ? 1 : 2, IO_TIMEOUT_MS) <= 0)
			return 0;
	}
}

static ssize_t tx_all(struct pair *p, int fd, const uint8_t *buf,
		      size_t len)
{
	size_t off = 0;
	ssize_t r;

	while (off < len) {
		r = p->be->send(fd, buf + off, len - off, MSG_NOSIGNAL);
		if (r <= 0 || now_s() > p->deadline)
			return -1;
		off += (size_t)r;
	}
	return (ssize_t)off;
}

static ssize_t rx_all(struct pair *p, int fd, int pfd, uint8_t *buf,
		      size_t len)
{
	size_t off = 0;
	ssize_t r;

	while (off < len) {
		r = rx(p, fd, pfd, buf + off, len - off);
		if (r <= 0)
			return -1;
		off += (size_t)r;
	}
	return (ssize_t)off;
}

/* ---- throughput ---- */

struct drain {
	struct pair *p;
	uint64_t want, got;
};

static void *drain_main(void *arg)
{
	struct drain *d = arg;
	uint8_t *buf = malloc(CHUNK);
	ssize_t r;

	while (buf && d->got < d->want) {
		r = rx(d->p, d->p->s, d->p->poll_s, buf, CHUNK);
		if (r <= 0)
			break;
		d->got += (uint64_t)r;
	}
	free(buf);
	return NULL;
}

static void throughput(struct pair *p, uint64_t total, struct result *res)
{
	struct drain d = { p, total, 0 };
	uint8_t *buf = malloc(CHUNK);
	uint64_t sent = 0;
	pthread_t th;
	double t0;

	if (!buf) {
		res->cut = true;
		return;
	}
	memset(buf, 0x5a, CHUNK);
	p->deadline = now_s() + PHASE_LIMIT_S;
	t0 = now_s();
	if (pthread_create(&th, NULL, drain_main, &d)) {
		free(buf);
		res->cut = true;
		return;
	}
	while (sent < total && tx_all(p, p->c, buf, CHUNK) == CHUNK)
		sent += CHUNK;
	pthread_join(th, NULL);
	res->bytes = d.got;
	res->mbps = d.got / (1024.0 * 1024.0) / (now_s() - t0);
	res->cut |= d.got < total;
	free(buf);
}

/* ---- latency ---- */

struct echo {
	struct pair *p;
	long n;
};

static void *echo_main(void *arg)
{
	struct echo *e = arg;
	uint8_t buf[REQ];
	long i;

	for (i = 0; i < e->n; i++)
		if (rx_all(e->p, e->p->s, e->p->poll_s, buf, REQ) != REQ ||
		    tx_all(e->p, e->p->s, buf, REQ) != REQ)
			break;
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void latency(struct pair *p, long n, struct result *res)
{
	double *lat = calloc((size_t)n, sizeof(*lat)), t0, t;
	struct echo e = { p, n };
	uint8_t buf[REQ];
	pthread_t th;
	long i;

	p->deadline = now_s() + PHASE_LIMIT_S;
	if (!lat || pthread_create(&th, NULL, echo_main, &e)) {
		free(lat);
		res->cut = true;
		return;
	}
	memset(buf, 0xa5, sizeof(buf));
	t0 = now_s();
	for (i = 0; i < n; i++) {
		t = now_s();
		if (tx_all(p, p->c, buf, REQ) != REQ ||
		    rx_all(p, p->c, p->poll_c, buf, REQ) != REQ)
			break;
		lat[i] = now_s() - t;
	}
	res->rtps = i / (now_s() - t0);
	res->rtts = i;
	res->cut |= i < n;
	if (i < n) /* unblock the echo thread */
		shutdown(p->c, SHUT_RDWR);
	pthread_join(th, NULL);
	if (i > 0) {
		qsort(lat, (size_t)i, sizeof(*lat), cmp_double);
		res->p50_us = lat[i / 2] * 1e6;
		res->p99_us = lat[(i * 99) / 100] * 1e6;
	}
	free(lat);
}

/* ---- report ---- */

static double ratio(double a, double b)
{
	return b > 0 ? a / b : 0;
}

/* The kernel's same case for @k (or -1). */
static int kern_twin(enum kind k)
{
	return k == K_USM_PASS ? K_KERN_PASS
	       : k == K_USM_REDIR ? K_KERN_REDIR : -1;
}

static void print_row(const struct result *r, int k)
{
	const struct result *a = &r[K_PLAIN];
	int t = kern_twin((enum kind)k);
	char kt[16] = "-", kr[16] = "-";

	if (!r[k].ran) {
		printf("%-10s  not run: %s\n", kind_names[k], r[k].why);
		return;
	}

	if (t >= 0 && r[t].ran) {
		snprintf(kt, sizeof(kt), "%.2f", ratio(r[k].mbps, r[t].mbps));
		snprintf(kr, sizeof(kr), "%.2f", ratio(r[k].rtps, r[t].rtps));
	}
	printf("%-10s %9.0f %7.2f %7s %9.0f %7.2f %7s %8.1f %8.1f%s\n",
	       kind_names[k], r[k].mbps, ratio(r[k].mbps, a->mbps), kt,
	       r[k].rtps, ratio(r[k].rtps, a->rtps), kr, r[k].p50_us,
	       r[k].p99_us, r[k].cut ? "  (cut short)" : "");
}

static json_t *result_json(const struct result *r, int k)
{
	int t = kern_twin((enum kind)k);
	json_t *o;

	if (!r[k].ran)
		return json_pack("{s:b, s:s}", "ran", 0, "why", r[k].why);
	o = json_pack("{s:b, s:f, s:I, s:f, s:I, s:f, s:f, s:b, s:f, s:f}",
		      "ran", 1, "mb_per_s", r[k].mbps, "bytes",
		      (json_int_t)r[k].bytes, "round_trips_per_s", r[k].rtps,
		      "round_trips", (json_int_t)r[k].rtts, "p50_us",
		      r[k].p50_us, "p99_us", r[k].p99_us, "cut_short",
		      r[k].cut, "mb_ratio_plain",
		      ratio(r[k].mbps, r[K_PLAIN].mbps), "rt_ratio_plain",
		      ratio(r[k].rtps, r[K_PLAIN].rtps));
	if (o)
		json_object_set_new(o, "receiver",
				    json_string(k == K_USM_REDIR || !sleep_rx
						? "busy-poll" : "poll"));
	if (o && t >= 0 && r[t].ran) {
		json_object_set_new(o, "mb_ratio_kernel",
				    json_real(ratio(r[k].mbps, r[t].mbps)));
		json_object_set_new(o, "rt_ratio_kernel",
				    json_real(ratio(r[k].rtps, r[t].rtps)));
	}
	return o;
}

static void report(const struct result *r, uint64_t total, long rtts,
		   const char *jpath)
{
	json_t *root = json_object();
	int k;

	printf("send path: %llu MiB in %d KiB sends; %ld round trips of %d "
	       "bytes (loopback TCP); median of %d runs\n",
	       (unsigned long long)(total >> 20), CHUNK / 1024, rtts, REQ,
	       REPS);
	printf("%-10s %9s %7s %7s %9s %7s %7s %8s %8s\n", "path", "MB/s",
	       "xplain", "xkern", "rt/s", "xplain", "xkern", "p50 us",
	       "p99 us");
	for (k = 0; k < K_COUNT; k++) {
		print_row(r, k);
		if (root)
			json_object_set_new(root, kind_names[k],
					    result_json(r, k));
	}
	printf("xplain = case / plain send; xkern = usockmap / the kernel's "
	       "same case (above 1: usockmap is faster)\n");
	printf("receivers: %s\n", sleep_rx
	       ? "sleep in poll(), usm-redir busy-polls (ingress-redirected "
		 "bytes do not wake poll or a blocking usm_recv)"
	       : "busy-poll in every case (recv MSG_DONTWAIT + sched_yield)");
	if (root && jpath && json_dump_file(root, jpath, JSON_INDENT(2)))
		fprintf(stderr, "send_bench: cannot write %s\n", jpath);
	json_decref(root);
}

static void run_case(enum kind k, const char *obj, uint64_t total,
		     long rtts, struct result *res)
{
	struct pair p;

	res->why = pair_open(&p, k, obj);
	if (!res->why) {
		res->ran = true;
		throughput(&p, total, res);
	}
	pair_close(&p);
	if (!res->ran)
		return;
	/* A fresh pair: nothing left in flight from the bulk phase. */
	res->why = pair_open(&p, k, obj);
	if (!res->why)
		latency(&p, rtts, res);
	else
		res->cut = true;
	pair_close(&p);
}



/* run_case REPS times: the median throughput and the latency figures of
 * the run with the median round-trip rate (the machine may be shared). */
static void run_median(enum kind k, const char *obj, uint64_t total,
		       long rtts, struct result *res)
{
	struct result r[REPS] = { 0 }, tmp;
	int i, j, n = 0;

	for (i = 0; i < REPS; i++) {
		run_case(k, obj, total, rtts, &r[n]);
		if (!r[n].ran) {
			*res = r[n];
			return;
		}
		n++;
	}
	for (i = 1; i < n; i++) /* by round trips/s */
		for (j = i; j > 0 && r[j].rtps < r[j - 1].rtps; j--) {
			tmp = r[j];
			r[j] = r[j - 1];
			r[j - 1] = tmp;
		}
	*res = r[n / 2];
	for (i = 1; i < n; i++) /* by MB/s */
		for (j = i; j > 0 && r[j].mbps < r[j - 1].mbps; j--) {
			tmp = r[j];
			r[j] = r[j - 1];
			r[j - 1] = tmp;
		}
	res->mbps = r[n / 2].mbps;
	res->bytes = r[n / 2].bytes;
	for (i = 0; i < n; i++)
		res->cut |= r[i].cut;
}

int main(int argc, char **argv)
{
	const char *obj = "build/bpf/tests/bpf/bench_tx.bpf.o", *jpath = NULL;
	struct result res[K_COUNT] = { 0 };
	uint64_t total = 256ull << 20;
	long rtts = 20000;
	int i;

	for (i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--sleep")) {
			i--;
			continue;
		}
		if (!strcmp(argv[i], "--obj"))
			obj = argv[i + 1];
		else if (!strcmp(argv[i], "--json"))
			jpath = argv[i + 1];
		else if (!strcmp(argv[i], "--mib"))
			total = (uint64_t)atol(argv[i + 1]) << 20;
		else if (!strcmp(argv[i], "--rtts"))
			rtts = atol(argv[i + 1]);
	}
	for (i = 1; i < argc; i++)
		sleep_rx |= !strcmp(argv[i], "--sleep");
	if (total < CHUNK || rtts < 1) {
		fprintf(stderr, "send_bench: --mib and --rtts must be > 0\n");
		return 2;
	}
	libbpf_set_print(NULL);
	for (i = 0; i < K_COUNT; i++) {
		if ((i == K_KERN_PASS || i == K_KERN_REDIR) && geteuid()) {
			res[i].why = "not root (kernel BPF unavailable)";
			continue;
		}
		run_median((enum kind)i, obj, total, rtts, &res[i]);
	}
	report(res, total, rtts, jpath);
	return res[K_PLAIN].ran && res[K_USM_PASS].ran && res[K_USM_REDIR].ran
		       ? 0 : 1;
}
