/* SPDX-License-Identifier: MIT */
/*
 * Reuseport benchmark: TCP connections per second and UDP datagrams per
 * second through a 4-member group whose sk_reuseport program selects a
 * member (tests/bpf/rp_select sel_bench: UDP by the first payload byte,
 * TCP by the client port, through a REUSEPORT_SOCKARRAY), measured on
 *   usockmap   a usm_reuseport group (dispatch thread, members' fds)
 *   kernel     four real SO_REUSEPORT sockets with the same object
 *              attached by SO_ATTACH_REUSEPORT_EBPF (root + kernel BPF)
 *   plain      one plain listener / bound socket, no program
 * in the same run, loopback, one client thread. TCP: connect, accept on
 * whichever member got it, close both. UDP: bursts of BURST datagrams,
 * then the members are drained; lost datagrams are reported.
 *
 * Usage: reuseport_bench [--obj FILE] [--json FILE] [--conns N]
 *                        [--dgrams N]
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <usockmap/map.h>
#include <usockmap/object.h>
#include <usockmap/reuseport.h>

#ifndef SO_ATTACH_REUSEPORT_EBPF
#define SO_ATTACH_REUSEPORT_EBPF 52
#endif
#define NM 4
#define BURST 16

enum kind { K_USM, K_KERN, K_PLAIN, K_COUNT };
static const char *const kind_names[K_COUNT] = { "usockmap", "kernel",
						 "plain" };

struct target {
	enum kind kind;
	int n;                        /* sockets / members polled */
	int fds[NM];
	struct sockaddr_in addr;
	struct usm_object *obj;
	struct usm_reuseport_group *g;
	struct bpf_object *kobj;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void lo_addr(struct sockaddr_in *a)
{
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

static int usm_setup(struct target *t, const char *obj, int type)
{
	struct usm_reuseport_member *m;
	struct sockaddr_storage ss;
	socklen_t len;
	uint64_t v;
	uint32_t i;

	lo_addr(&t->addr);
	if (usm_object_open(obj, NULL, &t->obj) || usm_object_load(t->obj) ||
	    usm_reuseport_group_create((struct sockaddr *)&t->addr,
				       sizeof(t->addr), type, NULL, &t->g))
		return -1;
	for (i = 0; i < NM; i++) {
		if (usm_reuseport_member_add(t->g, &m))
			return -1;
		v = (uint64_t)usm_reuseport_member_sock_fd(m);
		if (usm_map_update_elem(usm_object_find_map(t->obj, "rp_arr"),
					&i, &v, BPF_ANY))
			return -1;
		t->fds[i] = usm_reuseport_member_fd(m);
	}
	t->n = NM;
	if (usm_reuseport_group_addr(t->g, &ss, &len))
		return -1;
	memcpy(&t->addr, &ss, sizeof(t->addr));
	if (usm_reuseport_group_attach(t->g, usm_object_find_program(
						     t->obj, "sel_bench")))
		return -1;
	return usm_reuseport_group_start(t->g);
}

static int kern_socks(struct target *t, int type, int n)
{
	socklen_t len = sizeof(t->addr);
	int i, one = 1;

	lo_addr(&t->addr);
	for (i = 0; i < n; i++) {
		t->fds[i] = socket(AF_INET, type | SOCK_CLOEXEC, 0);
		if (t->fds[i] < 0 ||
		    (n > 1 && setsockopt(t->fds[i], SOL_SOCKET, SO_REUSEPORT,
					 &one, sizeof(one))) ||
		    bind(t->fds[i], (struct sockaddr *)&t->addr, len) ||
		    (type == SOCK_STREAM && listen(t->fds[i], 1024)))
			return -1;
		if (!i && getsockname(t->fds[0], (struct sockaddr *)&t->addr,
				      &len))
			return -1;
		fcntl(t->fds[i], F_SETFL, O_NONBLOCK);
	}
	t->n = n;
	return 0;
}

static int kern_setup(struct target *t, const char *obj, int type)
{
	int pfd, mfd, i;
	uint64_t v;

	if (kern_socks(t, type, NM))
		return -1;
	t->kobj = bpf_object__open_file(obj, NULL);
	if (!t->kobj || bpf_object__load(t->kobj))
		return -1;
	mfd = bpf_object__find_map_fd_by_name(t->kobj, "rp_arr");
	pfd = bpf_program__fd(bpf_object__find_program_by_name(t->kobj,
							       "sel_bench"));
	for (i = 0; i < NM; i++) {
		v = (uint64_t)t->fds[i];
		if (bpf_map_update_elem(mfd, &i, &v, BPF_ANY))
			return -1;
	}
	return setsockopt(t->fds[0], SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF,
			  &pfd, sizeof(pfd));
}

static void teardown(struct target *t)
{
	int i;

	if (t->kind == K_USM) {
		usm_reuseport_group_close(t->g);
		usm_object_close(t->obj);
	} else {
		for (i = 0; i < t->n; i++)
			close(t->fds[i]);
		if (t->kobj)
			bpf_object__close(t->kobj);
	}
	memset(t, 0, sizeof(*t));
}

/* Index of a readable fd of @t within @ms, or -1. */
static int ready(struct target *t, int ms)
{
	struct pollfd p[NM];
	int i;

	for (i = 0; i < t->n; i++) {
		p[i].fd = t->fds[i];
		p[i].events = POLLIN;
	}
	if (poll(p, (nfds_t)t->n, ms) <= 0)
		return -1;
	for (i = 0; i < t->n; i++)
		if (p[i].revents & POLLIN)
			return i;
	return -1;
}

/* Connections per second (0 on error). */
static double tcp_rate(struct target *t, long n)
{
	double t0 = now_s();
	int c, a, w;
	long i;

	for (i = 0; i < n; i++) {
		c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c < 0 || connect(c, (struct sockaddr *)&t->addr,
				     sizeof(t->addr)))
			return 0;
		w = ready(t, 2000);
		if (w < 0)
			return 0;
		a = t->kind == K_USM ? usm_reuseport_accept(t->fds[w], NULL, NULL)
				     : accept(t->fds[w], NULL, NULL);
		if (a >= 0)
			close(a);
		close(c);
	}
	return n / (now_s() - t0);
}

/* Datagrams per second; *lost gets the datagrams that never arrived. */
static double udp_rate(struct target *t, long n, long *lost)
{
	uint8_t buf[64] = { 0 };
	long sent = 0, got = 0, j, burst;
	double t0 = now_s();
	int c = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), w;

	if (c < 0 || connect(c, (struct sockaddr *)&t->addr, sizeof(t->addr)))
		return 0;
	while (sent < n) {
		burst = n - sent < BURST ? n - sent : BURST;
		for (j = 0; j < burst; j++, sent++) {
			buf[0] = (uint8_t)sent;
			if (send(c, buf, 32, 0) != 32)
				break;
		}
		while (got < sent && (w = ready(t, 200)) >= 0) {
			if ((t->kind == K_USM
				     ? usm_reuseport_recvfrom(t->fds[w], buf,
							      sizeof(buf),
							      MSG_DONTWAIT,
							      NULL, NULL)
				     : recv(t->fds[w], buf, sizeof(buf),
					    MSG_DONTWAIT)) > 0)
				got++;
		}
		if (got < sent)
			break;
	}
	close(c);
	*lost = n - got;
	return got / (now_s() - t0);
}

static int setup(struct target *t, enum kind k, const char *obj, int type)
{
	memset(t, 0, sizeof(*t));
	t->kind = k;
	if (k == K_USM)
		return usm_setup(t, obj, type);
	if (k == K_KERN)
		return kern_setup(t, obj, type);
	return kern_socks(t, type, 1);
}

int main(int argc, char **argv)
{
	const char *obj = "build/bpf/tests/bpf/rp_select.bpf.o", *jpath = NULL;
	long conns = 5000, dgrams = 100000, lost[K_COUNT] = { 0 };
	double cps[K_COUNT] = { 0 }, dps[K_COUNT] = { 0 };
	json_t *root = json_object();
	struct target t;
	int i, k;

	for (i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--obj"))
			obj = argv[i + 1];
		else if (!strcmp(argv[i], "--json"))
			jpath = argv[i + 1];
		else if (!strcmp(argv[i], "--conns"))
			conns = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--dgrams"))
			dgrams = atol(argv[i + 1]);
	}
	libbpf_set_print(NULL);
	printf("%-10s %14s %14s %8s\n", "path", "conns/s", "dgrams/s", "lost");
	for (k = 0; k < K_COUNT; k++) {
		if (!setup(&t, (enum kind)k, obj, SOCK_STREAM))
			cps[k] = tcp_rate(&t, conns);
		teardown(&t);
		if (!setup(&t, (enum kind)k, obj, SOCK_DGRAM))
			dps[k] = udp_rate(&t, dgrams, &lost[k]);
		teardown(&t);
		printf("%-10s %14.0f %14.0f %8ld%s\n", kind_names[k], cps[k],
		       dps[k], lost[k],
		       cps[k] == 0 && k == K_KERN ? "  (kernel BPF unavailable)"
						   : "");
		json_object_set_new(root, kind_names[k],
				    json_pack("{s:f, s:f, s:I}", "conns_per_s",
					      cps[k], "dgrams_per_s", dps[k],
					      "dgrams_lost", (json_int_t)lost[k]));
	}
	if (cps[K_KERN] > 0 && dps[K_KERN] > 0)
		printf("usockmap/kernel: conns %.2f, dgrams %.2f\n",
		       cps[K_USM] / cps[K_KERN], dps[K_USM] / dps[K_KERN]);
	if (jpath && json_dump_file(root, jpath, JSON_INDENT(2)))
		fprintf(stderr, "reuseport_bench: cannot write %s\n", jpath);
	json_decref(root);
	return cps[K_USM] > 0 && dps[K_USM] > 0 ? 0 : 1;
}
