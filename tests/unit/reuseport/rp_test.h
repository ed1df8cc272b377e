/* SPDX-License-Identifier: MIT */
/*
 * Support for the reuseport group tests: one "world" is a group of four
 * sockets on one port with tests/bpf/rp_select attached, either usockmap's
 * (usm_reuseport_group + members) or the kernel's (four real SO_REUSEPORT
 * sockets with the same object loaded by libbpf and attached with
 * SO_ATTACH_REUSEPORT_EBPF). A client connection / datagram is sent to a
 * world and the index of the member that got it is observed, so the same
 * input can be compared on both. Each test binary includes this once.
 */
#ifndef USM_RP_TEST_H
#define USM_RP_TEST_H

#include "usm_test.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <usockmap/map.h>
#include <usockmap/object.h>
#include <usockmap/reuseport.h>

#ifndef SO_ATTACH_REUSEPORT_EBPF
#define SO_ATTACH_REUSEPORT_EBPF 52
#endif
#ifndef SO_DETACH_REUSEPORT_BPF
#define SO_DETACH_REUSEPORT_BPF 68
#endif

#define NM 4
#define R_REFUSED (-1) /* TCP refused/reset, UDP dropped */
#define R_NONE    (-2) /* nobody got it in time */

struct world {
	bool kern;
	int sotype, family;
	struct sockaddr_storage addr;
	socklen_t alen;
	int fds[NM];                   /* kernel: sockets; usm: member fds */
	/* usockmap */
	struct usm_object *obj;
	struct usm_reuseport_group *g;
	struct usm_reuseport_member *m[NM];
	/* kernel */
	struct bpf_object *kobj;
	unsigned int nconn;            /* TCP connections made */
};

static const char *rp_why;

static inline int rp_kern(void)
{
	static int state = -1;

	if (state < 0)
		state = usm_test_have_kernel_bpf(&rp_why);
	return state;
}

static inline void loop_addr(int family, struct sockaddr_storage *ss,
			     socklen_t *len, bool any)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *s = (void *)ss;

		s->sin_family = AF_INET;
		s->sin_addr.s_addr = htonl(any ? INADDR_ANY : INADDR_LOOPBACK);
		*len = sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (void *)ss;

		s->sin6_family = AF_INET6;
		s->sin6_addr = any ? in6addr_any : in6addr_loopback;
		*len = sizeof(*s);
	}
}

/* Where a client connects: the world's port on loopback. */
static inline void dest_addr(const struct world *w,
			     struct sockaddr_storage *ss, socklen_t *len)
{
	loop_addr(w->family, ss, len, false);
	if (w->family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port =
			((const struct sockaddr_in *)&w->addr)->sin_port;
	else
		((struct sockaddr_in6 *)ss)->sin6_port =
			((const struct sockaddr_in6 *)&w->addr)->sin6_port;
}

/* ---- usockmap world ---- */

static inline struct usm_map *umap(struct world *w, const char *name)
{
	struct usm_map *m = usm_object_find_map(w->obj, name);

	assert_non_null(m);
	return m;
}

static inline void usm_world(struct world *w, int family, int sotype,
			     bool any)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int i;

	memset(w, 0, sizeof(*w));
	w->family = family;
	w->sotype = sotype;
	assert_int_equal(usm_object_open(usm_test_bpf_path("tests/bpf/rp_select"),
					 NULL, &w->obj), 0);
	assert_int_equal(usm_object_load(w->obj), 0);
	loop_addr(family, &ss, &len, any);
	assert_int_equal(usm_reuseport_group_create((struct sockaddr *)&ss, len,
						    sotype, NULL, &w->g), 0);
	assert_int_equal(usm_reuseport_group_addr(w->g, &w->addr, &w->alen), 0);
	for (i = 0; i < NM; i++) {
		assert_int_equal(usm_reuseport_member_add(w->g, &w->m[i]), 0);
		w->fds[i] = usm_reuseport_member_fd(w->m[i]);
	}
}

/* Put member @i's socket at @key of @map (u32 key, u64 fd value). */
static inline int usm_put(struct world *w, const char *map, uint32_t key,
			  int i)
{
	uint64_t v = (uint64_t)usm_reuseport_member_sock_fd(w->m[i]);

	return usm_map_update_elem(umap(w, map), &key, &v, BPF_ANY);
}

static inline void usm_attach(struct world *w, const char *prog)
{
	struct usm_program *p = usm_object_find_program(w->obj, prog);

	assert_non_null(p);
	assert_int_equal(usm_reuseport_group_attach(w->g, p), 0);
}

static inline uint32_t usm_res(struct world *w, uint32_t k)
{
	uint32_t v = 0xdeadbeef;

	assert_int_equal(usm_map_lookup_elem(umap(w, "rp_res"), &k, &v), 0);
	return v;
}

/* ---- kernel world ---- */

static inline int kfd_map(struct world *w, const char *name)
{
	int fd = bpf_object__find_map_fd_by_name(w->kobj, name);

	assert_true(fd >= 0);
	return fd;
}

static inline int kfd_prog(struct world *w, const char *name)
{
	struct bpf_program *p = bpf_object__find_program_by_name(w->kobj, name);

	assert_non_null(p);
	return bpf_program__fd(p);
}

static inline void kern_world(struct world *w, int family, int sotype,
			      bool any)
{
	int i, one = 1;

	memset(w, 0, sizeof(*w));
	w->kern = true;
	w->family = family;
	w->sotype = sotype;
	w->kobj = bpf_object__open_file(usm_test_bpf_path("tests/bpf/rp_select"),
					NULL);
	assert_non_null(w->kobj);
	assert_int_equal(bpf_object__load(w->kobj), 0);
	loop_addr(family, &w->addr, &w->alen, any);
	for (i = 0; i < NM; i++) {
		w->fds[i] = socket(family, sotype | SOCK_CLOEXEC, 0);
		assert_true(w->fds[i] >= 0);
		assert_int_equal(setsockopt(w->fds[i], SOL_SOCKET, SO_REUSEPORT,
					    &one, sizeof(one)), 0);
		assert_int_equal(bind(w->fds[i], (struct sockaddr *)&w->addr,
				      w->alen), 0);
		if (!i)
			assert_int_equal(getsockname(w->fds[0],
				(struct sockaddr *)&w->addr, &w->alen), 0);
		if (sotype == SOCK_STREAM)
			assert_int_equal(listen(w->fds[i], 64), 0);
		fcntl(w->fds[i], F_SETFL, O_NONBLOCK);
	}
}

static inline int kern_put(struct world *w, const char *map, uint32_t key,
			   int i)
{
	uint64_t v = (uint64_t)w->fds[i];

	return bpf_map_update_elem(kfd_map(w, map), &key, &v, BPF_ANY) ? -errno
									: 0;
}

static inline void kern_attach(struct world *w, const char *prog)
{
	int pfd = kfd_prog(w, prog);

	assert_int_equal(setsockopt(w->fds[1], SOL_SOCKET,
				    SO_ATTACH_REUSEPORT_EBPF, &pfd,
				    sizeof(pfd)), 0);
}

static inline uint32_t kern_res(struct world *w, uint32_t k)
{
	uint32_t v = 0xdeadbeef;

	assert_int_equal(bpf_map_lookup_elem(kfd_map(w, "rp_res"), &k, &v), 0);
	return v;
}

/* ---- both ---- */

static inline int w_put(struct world *w, const char *map, uint32_t key, int i)
{
	return w->kern ? kern_put(w, map, key, i) : usm_put(w, map, key, i);
}

static inline void w_attach(struct world *w, const char *prog)
{
	if (w->kern)
		kern_attach(w, prog);
	else
		usm_attach(w, prog);
	if (!w->kern)
		assert_int_equal(usm_reuseport_group_start(w->g), 0);
}

static inline uint32_t w_res(struct world *w, uint32_t k)
{
	return w->kern ? kern_res(w, k) : usm_res(w, k);
}

static inline void w_fini(struct world *w)
{
	int i;

	if (w->kern) {
		for (i = 0; i < NM; i++)
			close(w->fds[i]);
		bpf_object__close(w->kobj);
		return;
	}
	usm_reuseport_group_close(w->g);
	usm_object_close(w->obj);
}

/* The index of the socket/member that became readable within @ms, or
 * R_NONE. */
static inline int w_wait(struct world *w, int ms)
{
	struct pollfd p[NM];
	int i;

	for (i = 0; i < NM; i++) {
		p[i].fd = w->fds[i];
		p[i].events = POLLIN;
	}
	if (poll(p, NM, ms) <= 0)
		return R_NONE;
	for (i = 0; i < NM; i++)
		if (p[i].revents & POLLIN)
			return i;
	return R_NONE;
}

/* Like w_wait, also watching @extra (returned as NM). */
static inline int w_wait_or(struct world *w, int extra, int ms)
{
	struct pollfd p[NM + 1];
	int i;

	for (i = 0; i < NM; i++) {
		p[i].fd = w->fds[i];
		p[i].events = POLLIN;
	}
	p[NM].fd = extra;
	p[NM].events = POLLIN;
	if (poll(p, NM + 1, ms) <= 0)
		return R_NONE;
	for (i = 0; i < NM; i++)
		if (p[i].revents & POLLIN)
			return i;
	return NM;
}

/* Accept on member/socket @i: the connection fd. */
static inline int w_accept(struct world *w, int i)
{
	return w->kern ? accept4(w->fds[i], NULL, NULL, SOCK_CLOEXEC)
		       : usm_reuseport_accept(w->fds[i], NULL, NULL);
}

/*
 * One TCP connection: *key = client port % 8; returns who accepted it, or
 * R_REFUSED (kernel: connect ECONNREFUSED; usockmap: reset after connect,
 * the documented nearest equivalent), or R_NONE.
 */
static inline int w_tcp(struct world *w, int *key)
{
	struct sockaddr_storage d, me;
	socklen_t dl, ml = sizeof(me);
	int c, who, a;
	char b;

	dest_addr(w, &d, &dl);
	c = socket(w->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c >= 0);
	/* connect() picks even ports, bind(0) odd ones: alternate so that
	 * every key of port % 8 comes up */
	if (++w->nconn & 1) {
		struct sockaddr_storage ba;
		socklen_t bl;

		loop_addr(w->family, &ba, &bl, false);
		assert_int_equal(bind(c, (struct sockaddr *)&ba, bl), 0);
	}
	if (connect(c, (struct sockaddr *)&d, dl)) {
		assert_int_equal(errno, ECONNREFUSED);
		close(c);
		return R_REFUSED;
	}
	assert_int_equal(getsockname(c, (struct sockaddr *)&me, &ml), 0);
	*key = ntohs(w->family == AF_INET
			     ? ((struct sockaddr_in *)&me)->sin_port
			     : ((struct sockaddr_in6 *)&me)->sin6_port) % 8;
	who = w_wait_or(w, c, 2000);
	if (who == NM) { /* the client side became readable: a reset? */
		who = recv(c, &b, 1, 0) < 0 && errno == ECONNRESET ? R_REFUSED
								   : R_NONE;
		close(c);
		return who;
	}
	if (who < 0) {
		close(c);
		return who;
	}
	a = w_accept(w, who);
	assert_true(a >= 0);
	close(a);
	close(c);
	return who;
}

/* One datagram whose first byte is @b (@n bytes): who got it, R_NONE. */
static inline int w_udp(struct world *w, uint8_t b, size_t n)
{
	struct sockaddr_storage d, me, from;
	socklen_t dl, ml = sizeof(me), fl = sizeof(from);
	uint8_t buf[64] = { b }, got[64];
	int c, who;
	ssize_t r;

	dest_addr(w, &d, &dl);
	c = socket(w->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(c >= 0);
	assert_int_equal(connect(c, (struct sockaddr *)&d, dl), 0);
	assert_int_equal(send(c, buf, n, 0), (ssize_t)n);
	assert_int_equal(getsockname(c, (struct sockaddr *)&me, &ml), 0);
	who = w_wait(w, b == 7 || b >= 0x10 ? 300 : 2000);
	if (who >= 0) {
		r = w->kern ? recvfrom(w->fds[who], got, sizeof(got), 0,
				       (struct sockaddr *)&from, &fl)
			    : usm_reuseport_recvfrom(w->fds[who], got,
						     sizeof(got), 0,
						     (struct sockaddr *)&from,
						     &fl);
		assert_int_equal(r, (ssize_t)n);
		assert_int_equal(got[0], b);
		/* the client's address is preserved */
		assert_int_equal(fl, ml);
		assert_memory_equal(&from, &me, ml);
	}
	close(c);
	return who == R_NONE && b == 7 ? R_REFUSED : who;
}

#endif /* USM_RP_TEST_H */
