/* SPDX-License-Identifier: MIT */
/*
 * `usockmap run --reuseport ADDR:PORT`: a reuseport group (usockmap/
 * reuseport.h) in the proxy process. The group has --workers members
 * (loops of the proxy's engine), the object's sk_reuseport program is
 * attached to it and the selection map that program references
 * (REUSEPORT_SOCKARRAY, SOCKMAP or SOCKHASH with a u32 key) holds member i
 * at key i. The group's dispatch socket and each member's pollable fd are
 * watched in the engine's loop: dispatch runs the program and hands the
 * connection/datagram to a member; a member then serves it. TCP with
 * --backend: like a --listen listener's connection (conn.c); TCP without
 * --backend: echoed back; UDP: each datagram is echoed to its sender from
 * the member's socket. Echo connections are closed at EOF or error and
 * freed at the next tick.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <usockmap/object.h>
#include <usockmap/reuseport.h>

#include "../engine/engine.h"
#include "../loader/loader.h"
#include "../maps/map.h"
#include "../vm/vm.h"

#include "proxy_int.h"

#define RP_BUF 65536

struct px_echo {
	struct px_echo *next;
	struct usm_proxy *p;
	int fd;
	bool dead;
};

struct px_rp_member {
	struct usm_proxy *p;
	struct usm_reuseport_member *m;
	int fd;          /* pollable member fd (borrowed from the group) */
	uint64_t cookie; /* SO_COOKIE of the member's socket */
};

struct px_rp {
	struct usm_reuseport_group *g;
	int sotype;
	int dfd;                  /* dispatch fd, -1 once stopped */
	struct px_rp_member *mem;
	uint32_t n_mem;
	const char *prog_name;    /* borrowed from the object */
	struct usm_map *map;      /* borrowed from the object */
	struct px_echo *echo;
	char addr[80];
};

static bool is_sel_map(const struct usm_map *m)
{
	return m && (m->map_type == BPF_MAP_TYPE_REUSEPORT_SOCKARRAY ||
		     m->map_type == BPF_MAP_TYPE_SOCKMAP ||
		     m->map_type == BPF_MAP_TYPE_SOCKHASH);
}

/* The sk_reuseport program to attach (@name, or the only one). */
static struct usm_program *find_prog(struct usm_proxy *p, const char *name,
				     char *err, size_t n)
{
	struct usm_program *up, *found = NULL;
	uint32_t cnt = 0;

	for (up = usm_object_next_program(p->obj, NULL); up;
	     up = usm_object_next_program(p->obj, up)) {
		if (usm_program_type(up) != BPF_PROG_TYPE_SK_REUSEPORT)
			continue;
		if (name && strcmp(usm_program_name(up), name))
			continue;
		found = up;
		cnt++;
	}
	if (cnt == 1 && usm__program_prog(found))
		return found;
	if (name)
		snprintf(err, n, "--reuseport-prog %s: no sk_reuseport program "
			 "named '%s' in the object", name, name);
	else
		snprintf(err, n, "--reuseport: the object has %s sk_reuseport "
			 "program; use --reuseport-prog NAME",
			 cnt ? "more than one" : "no");
	return NULL;
}

/* Whether an instruction of @prog loads map @idx (BPF_PSEUDO_MAP_IDX:
 * the loader gives every program all of the object's maps). */
static bool uses_map(const struct usm_prog *prog, uint32_t idx)
{
	uint32_t i;

	for (i = 0; i < prog->insn_cnt; i++) {
		const struct bpf_insn *in = &prog->insns[i];

		if (in->code == (BPF_LD | BPF_IMM | BPF_DW) &&
		    (in->src_reg == BPF_PSEUDO_MAP_IDX ||
		     in->src_reg == BPF_PSEUDO_MAP_IDX_VALUE) &&
		    (uint32_t)in->imm == idx)
			return true;
	}
	return false;
}

/* The selection map: @name, or the only one the program references. */
static struct usm_map *find_map(struct usm_proxy *p, struct usm_program *up,
				const char *name, char *err, size_t n)
{
	struct usm_prog *prog = usm__program_prog(up);
	struct usm_map *found = NULL;
	uint32_t i, cnt = 0;

	if (name) {
		found = usm_object_find_map(p->obj, name);
		if (is_sel_map(found) && found->key_size == 4)
			return found;
		snprintf(err, n, "--reuseport-map %s: no REUSEPORT_SOCKARRAY/"
			 "SOCKMAP/SOCKHASH (u32 key) named '%s'", name, name);
		return NULL;
	}
	for (i = 0; i < prog->map_cnt; i++) {
		if (is_sel_map(prog->maps[i]) && uses_map(prog, i)) {
			found = prog->maps[i];
			cnt++;
		}
	}
	if (cnt == 1 && found->key_size == 4)
		return found;
	snprintf(err, n, "program '%s': %s; use --reuseport-map NAME",
		 usm_program_name(up), cnt == 1 ? "its selection map has no "
		 "u32 key" : cnt ? "references more than one selection map" :
		 "references no selection map");
	return NULL;
}

/* ---- serving ---- */

static void echo_kill(struct usm_proxy *p, struct px_echo *e)
{
	if (e->dead)
		return;
	usm__engine_del_fd(p->eng, e->fd);
	close(e->fd);
	e->fd = -1;
	e->dead = true;
	if (p->n_conns)
		p->n_conns--;
}

/* Write all of @buf (the socket is non-blocking: wait a little). */
static int send_all(int fd, const char *buf, size_t len)
{
	struct pollfd pf = { .fd = fd, .events = POLLOUT };
	ssize_t w;
	int tries = 0;

	while (len) {
		w = send(fd, buf, len, MSG_NOSIGNAL);
		if (w > 0) {
			buf += w;
			len -= (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN)
			return -errno;
		if (++tries > 50 || poll(&pf, 1, 100) < 0)
			return -ETIMEDOUT;
	}
	return 0;
}

static void on_echo(void *arg, int fd, uint32_t events)
{
	struct px_echo *e = arg;
	static char buf[RP_BUF];
	ssize_t n;

	(void)events;
	for (;;) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0 || send_all(fd, buf, (size_t)n)) {
			echo_kill(e->p, e);
			return;
		}
	}
}

static void echo_new(struct usm_proxy *p, int cfd)
{
	struct px_echo *e = calloc(1, sizeof(*e));

	if (!e) {
		close(cfd);
		return;
	}
	e->p = p;
	e->fd = cfd;
	fcntl(cfd, F_SETFL, fcntl(cfd, F_GETFL) | O_NONBLOCK);
	if (usm__engine_add_fd(p->eng, cfd, EPOLLIN, on_echo, e)) {
		close(cfd);
		free(e);
		return;
	}
	e->next = p->rp->echo;
	p->rp->echo = e;
	p->n_conns++;
	p->accepted++;
}

static void member_tcp(struct usm_proxy *p, int fd)
{
	int cfd;

	while ((cfd = usm_reuseport_accept(fd, NULL, NULL)) >= 0) {
		if (p->stopping ||
		    (p->max_conns && p->n_conns >= p->max_conns)) {
			p->refused++;
			close(cfd);
		} else if (p->n_be) {
			usm__px_conn_new(p, cfd);
		} else {
			echo_new(p, cfd);
		}
	}
}

static void member_udp(struct px_rp_member *mb, int fd)
{
	static char buf[RP_BUF];
	struct sockaddr_storage ss;
	socklen_t sl;
	ssize_t n;
	int sfd = usm_reuseport_member_sock_fd(mb->m);

	for (;;) {
		sl = sizeof(ss);
		n = usm_reuseport_recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT,
					   (struct sockaddr *)&ss, &sl);
		if (n < 0)
			return;
		if (sfd >= 0)
			sendto(sfd, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL,
			       (struct sockaddr *)&ss, sl);
	}
}

static void on_member(void *arg, int fd, uint32_t events)
{
	struct px_rp_member *mb = arg;

	(void)events;
	if (mb->p->rp->sotype == SOCK_STREAM)
		member_tcp(mb->p, fd);
	else
		member_udp(mb, fd);
}

static void on_dispatch(void *arg, int fd, uint32_t events)
{
	struct usm_proxy *p = arg;
	int i;

	(void)fd;
	(void)events;
	for (i = 0; i < 1024; i++)
		if (usm_reuseport_dispatch(p->rp->g, 0) <= 0)
			return;
}

/* ---- setup ---- */

static int add_member(struct usm_proxy *p, struct px_rp *rp, uint32_t i)
{
	struct px_rp_member *mb = &rp->mem[i];
	socklen_t cl = sizeof(mb->cookie);
	uint64_t v64;
	uint32_t v32;
	int rc, sfd;

	mb->p = p;
	rc = usm_reuseport_member_add(rp->g, &mb->m);
	if (rc)
		return rc;
	rp->n_mem = i + 1;
	mb->fd = usm_reuseport_member_fd(mb->m);
	sfd = usm_reuseport_member_sock_fd(mb->m);
	getsockopt(sfd, SOL_SOCKET, SO_COOKIE, &mb->cookie, &cl);
	fcntl(mb->fd, F_SETFL, fcntl(mb->fd, F_GETFL) | O_NONBLOCK);
	v32 = (uint32_t)sfd;
	v64 = (uint64_t)sfd;
	rc = usm__map_update_elem(rp->map, &i, rp->map->value_size == 8 ?
				  (void *)&v64 : (void *)&v32, BPF_ANY);
	if (rc)
		return rc;
	return usm__engine_add_fd(p->eng, mb->fd, EPOLLIN, on_member, mb);
}

static int make_group(struct px_rp *rp, const struct usm_proxy_opts *o,
		      char *err, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	uint32_t len;
	int rc;

	if (usm__proxy_parse_addr(o->reuseport, &ss, &len)) {
		snprintf(err, n, "--reuseport '%s': expected ADDR:PORT",
			 o->reuseport);
		return -EINVAL;
	}
	rc = usm_reuseport_group_create((struct sockaddr *)&ss, len,
					rp->sotype, NULL, &rp->g);
	if (rc) {
		snprintf(err, n, "--reuseport %s: %s", o->reuseport,
			 strerror(-rc));
		return rc;
	}
	if (!usm_reuseport_group_addr(rp->g, &ss, &sl))
		usm__px_fmt_addr(&ss, rp->addr, sizeof(rp->addr));
	return 0;
}

static int rp_setup(struct usm_proxy *p, struct px_rp *rp,
		    const struct usm_proxy_opts *o, char *err, size_t n)
{
	struct usm_program *up = find_prog(p, o->rp_prog, err, n);
	uint32_t i;
	int rc;

	if (!up)
		return -EINVAL;
	rp->prog_name = usm_program_name(up);
	rp->map = find_map(p, up, o->rp_map, err, n);
	if (!rp->map)
		return -EINVAL;
	if (o->rp_workers > rp->map->max_entries) {
		snprintf(err, n, "--workers %u: map '%s' has only %u entries",
			 o->rp_workers, rp->map->name, rp->map->max_entries);
		return -E2BIG;
	}
	rc = make_group(rp, o, err, n);
	if (rc)
		return rc;
	rc = usm_reuseport_group_attach(rp->g, up);
	if (rc) {
		snprintf(err, n, "attach '%s' to the group: %s", rp->prog_name,
			 strerror(-rc));
		return rc;
	}
	for (i = 0; i < o->rp_workers; i++) {
		rc = add_member(p, rp, i);
		if (rc) {
			snprintf(err, n, "reuseport member %u (map '%s'): %s",
				 i, rp->map->name, strerror(-rc));
			return rc;
		}
	}
	rp->dfd = usm_reuseport_group_fd(rp->g);
	return usm__engine_add_fd(p->eng, rp->dfd, EPOLLIN, on_dispatch, p);
}

/* Open the group of --reuseport (nothing without it). 0 or -errno, @err. */
int usm__px_rp_open(struct usm_proxy *p, const struct usm_proxy_opts *o,
		    char *err, size_t n)
{
	struct px_rp *rp;
	uint32_t w = o->rp_workers ? o->rp_workers : 4;

	if (!o->reuseport)
		return 0;
	if (o->rp_proto == SOCK_DGRAM && o->n_backend) {
		snprintf(err, n, "--proto udp: --backend is not supported "
			 "(UDP members echo datagrams)");
		return -EINVAL;
	}
	rp = calloc(1, sizeof(*rp));
	if (rp)
		rp->mem = calloc(w, sizeof(*rp->mem));
	if (!rp || !rp->mem) {
		free(rp);
		return -ENOMEM;
	}
	rp->dfd = -1;
	rp->sotype = o->rp_proto == SOCK_DGRAM ? SOCK_DGRAM : SOCK_STREAM;
	p->rp = rp;
	{
		struct usm_proxy_opts oo = *o;

		oo.rp_workers = w;
		return rp_setup(p, rp, &oo, err, n);
	}
}

/* Stop dispatching (the proxy is stopping). */
void usm__px_rp_stop(struct usm_proxy *p)
{
	if (!p->rp || p->rp->dfd < 0)
		return;
	usm__engine_del_fd(p->eng, p->rp->dfd);
	p->rp->dfd = -1;
}

/* Free echo connections that ended. */
void usm__px_rp_reap(struct usm_proxy *p)
{
	struct px_echo **pp, *e;

	if (!p->rp)
		return;
	for (pp = &p->rp->echo; (e = *pp);) {
		if (e->dead) {
			*pp = e->next;
			free(e);
		} else {
			pp = &e->next;
		}
	}
}

void usm__px_rp_close(struct usm_proxy *p)
{
	struct px_rp *rp = p->rp;
	struct px_echo *e;
	uint32_t i;

	if (!rp)
		return;
	usm__px_rp_stop(p);
	for (e = rp->echo; e; e = e->next)
		echo_kill(p, e);
	usm__px_rp_reap(p);
	for (i = 0; i < rp->n_mem; i++)
		if (p->eng && rp->mem[i].fd >= 0)
			usm__engine_del_fd(p->eng, rp->mem[i].fd);
	usm_reuseport_group_close(rp->g);
	free(rp->mem);
	free(rp);
	p->rp = NULL;
}

/* ---- stats ---- */

static void stats_members(const struct px_rp *rp, FILE *f, bool json)
{
	uint32_t i;

	for (i = 0; i < rp->n_mem; i++) {
		uint64_t c = usm_reuseport_member_count(rp->mem[i].m);

		if (json)
			fprintf(f, "%s{\"index\":%u,\"cookie\":%" PRIu64
				",\"received\":%" PRIu64 "}", i ? "," : "", i,
				rp->mem[i].cookie, c);
		else
			fprintf(f, "  member %u cookie=%" PRIu64 " received=%"
				PRIu64 "\n", i, rp->mem[i].cookie, c);
	}
}

/* The "reuseport" part of `stats` (JSON: a ,"reuseport":{...} member). */
void usm__px_rp_stats(const struct usm_proxy *p, FILE *f, bool json)
{
	const struct px_rp *rp = p->rp;
	struct usm_reuseport_stats st;
	const char *proto;

	if (!rp)
		return;
	usm_reuseport_group_stats(rp->g, &st);
	proto = rp->sotype == SOCK_DGRAM ? "udp" : "tcp";
	if (json)
		fprintf(f, ",\"reuseport\":{\"addr\":\"%s\",\"proto\":\"%s\","
			"\"program\":\"%s\",\"map\":\"%s\",\"selected\":%"
			PRIu64 ",\"hashed\":%" PRIu64 ",\"dropped\":%" PRIu64
			",\"no_member\":%" PRIu64 ",\"prog_errors\":%" PRIu64
			",\"members\":[", rp->addr, proto, rp->prog_name,
			rp->map->name, st.selected, st.hashed, st.dropped,
			st.no_member, st.prog_errors);
	else
		fprintf(f, "reuseport: %s %s program=%s map=%s selected=%"
			PRIu64 " hashed=%" PRIu64 " dropped=%" PRIu64
			" no_member=%" PRIu64 " prog_errors=%" PRIu64 "\n",
			rp->addr, proto, rp->prog_name, rp->map->name,
			st.selected, st.hashed, st.dropped, st.no_member,
			st.prog_errors);
	stats_members(rp, f, json);
	if (json)
		fputs("]}", f);
}

int usm__proxy_rp_addr(const struct usm_proxy *p, char *buf, size_t size)
{
	if (!p || !p->rp || !p->rp->addr[0])
		return -ENOENT;
	snprintf(buf, size, "%s", p->rp->addr);
	return 0;
}
