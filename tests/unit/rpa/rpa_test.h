/* SPDX-License-Identifier: MIT */
/*
 * Support for the REUSEPORT_SOCKARRAY and map-in-map tests: a "dual" map
 * that exists in usockmap and, when kernel BPF is usable, in the running
 * kernel (bpf(2) through libbpf), operations that run on both and demand
 * the same return value and errno, and factories for reuseport group
 * members and the sockets the kernel refuses. Each test binary includes
 * this once.
 */
#ifndef USM_RPA_TEST_H
#define USM_RPA_TEST_H

#include "usm_test.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <usockmap/map.h>

#include "../../../src/maps/map.h"
#include "../../../src/sock/sock.h"

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif
#define NOFD 0x7ffffff0 /* a descriptor number that is never open */

/* ---- kernel availability ---- */

static const char *rt_why;

static inline int rt_kern(void)
{
	static int state = -1;

	if (state < 0)
		state = usm_test_have_kernel_bpf(&rt_why);
	return state;
}

/* End of a test that compared with the kernel: say if it could not. */
static inline void rt_kern_done(void)
{
	if (!rt_kern())
		USM_SKIP("kernel comparison not run: %s", rt_why);
}

/* ---- dual maps ---- */

struct dmap {
	struct usm_map *u;
	int k; /* kernel map fd, -1 without kernel BPF */
	uint32_t type, key_size, value_size, max_entries;
};

/* Create on both sides with an optional inner template (both sides'). */
static inline int dmap_try_inner(struct dmap *d, uint32_t type, uint32_t ks,
				 uint32_t vs, uint32_t max, uint32_t flags,
				 const struct dmap *inner)
{
	struct usm_map_create_opts o = { .sz = sizeof(o), .map_flags = flags };
	LIBBPF_OPTS(bpf_map_create_opts, ko, .map_flags = flags);
	int u, k = 0;

	memset(d, 0, sizeof(*d));
	d->k = -1;
	d->type = type;
	d->key_size = ks;
	d->value_size = vs;
	d->max_entries = max;
	if (inner) {
		o.inner_map = inner->u;
		ko.inner_map_fd = (uint32_t)inner->k;
	}
	u = usm_map_create(type, "t", ks, vs, max, &o, &d->u);
	if (rt_kern()) {
		k = bpf_map_create(type, "t", ks, vs, max, &ko);
		if (k >= 0) {
			d->k = k;
			k = 0;
		}
		if (k != u)
			fail_msg("create type %u ks %u vs %u max %u flags %#x: "
				 "usockmap %d, kernel %d", type, ks, vs, max,
				 flags, u, k);
	}
	return u;
}

static inline int dmap_try(struct dmap *d, uint32_t type, uint32_t ks,
			   uint32_t vs, uint32_t max, uint32_t flags)
{
	return dmap_try_inner(d, type, ks, vs, max, flags, NULL);
}

static inline void dmap_new(struct dmap *d, uint32_t type, uint32_t ks,
			    uint32_t vs, uint32_t max, uint32_t flags)
{
	int err = dmap_try(d, type, ks, vs, max, flags);

	if (err)
		fail_msg("create type %u: %d", type, err);
}

static inline void dmap_free(struct dmap *d)
{
	usm_map_close(d->u);
	if (d->k >= 0)
		close(d->k);
	d->u = NULL;
	d->k = -1;
}

static inline void check_create(const char *what, int exp, uint32_t type,
				uint32_t ks, uint32_t vs, uint32_t max,
				uint32_t flags)
{
	struct dmap d;
	int err = dmap_try(&d, type, ks, vs, max, flags);

	if (err != exp)
		fail_msg("%s: expected %d, usockmap %d", what, exp, err);
	dmap_free(&d);
}

/* Update with separate values for the two sides (map fds differ). */
static inline void check_update2(struct dmap *d, const void *key,
				 const void *uval, const void *kval,
				 uint64_t flags, int exp, const char *what)
{
	int u = usm_map_update_elem(d->u, key, uval, flags);
	int k = d->k >= 0 ? bpf_map_update_elem(d->k, key, kval, flags) : u;

	if (u != exp || k != exp)
		fail_msg("%s: update expected %d, usockmap %d, kernel %d", what,
			 exp, u, k);
}

static inline void check_update(struct dmap *d, const void *key,
				const void *val, uint64_t flags, int exp,
				const char *what)
{
	check_update2(d, key, val, val, flags, exp, what);
}

/* Lookup on both; with @want the usockmap value must equal it, and both
 * values must agree unless @own_values (ids differ between the sides). */
static inline void check_lookup_v(struct dmap *d, const void *key, int exp,
				  const void *want, size_t len,
				  bool own_values, const char *what)
{
	uint8_t ub[64], kb[64];
	int u, k;

	memset(ub, 0xa5, sizeof(ub));
	memset(kb, 0xa5, sizeof(kb));
	u = usm_map_lookup_elem(d->u, key, ub);
	k = d->k >= 0 ? bpf_map_lookup_elem(d->k, key, kb) : u;
	if (u != exp || k != exp)
		fail_msg("%s: lookup expected %d, usockmap %d, kernel %d", what,
			 exp, u, k);
	if (u == 0 && want && memcmp(ub, want, len))
		fail_msg("%s: usockmap lookup value differs", what);
	if (u == 0 && !own_values && d->k >= 0 && memcmp(ub, kb, len))
		fail_msg("%s: usockmap and kernel values differ", what);
}

static inline void check_lookup(struct dmap *d, const void *key, int exp,
				const void *want, size_t len, const char *what)
{
	check_lookup_v(d, key, exp, want, len, false, what);
}

static inline void check_delete(struct dmap *d, const void *key, int exp,
				const char *what)
{
	int u = usm_map_delete_elem(d->u, key);
	int k = d->k >= 0 ? bpf_map_delete_elem(d->k, key) : u;

	if (u != exp || k != exp)
		fail_msg("%s: delete expected %d, usockmap %d, kernel %d", what,
			 exp, u, k);
}

/* get_next_key on both; with @want both next keys must equal it. */
static inline void check_next(struct dmap *d, const void *key, int exp,
			      const void *want, const char *what)
{
	uint8_t un[64], kn[64];
	int u, k;

	memset(un, 0, sizeof(un));
	memset(kn, 0, sizeof(kn));
	u = usm_map_get_next_key(d->u, key, un);
	k = d->k >= 0 ? bpf_map_get_next_key(d->k, key, kn) : u;
	if (u != exp || k != exp)
		fail_msg("%s: next_key expected %d, usockmap %d, kernel %d",
			 what, exp, u, k);
	if (u == 0 && want && memcmp(un, want, d->key_size))
		fail_msg("%s: usockmap next key differs", what);
	if (u == 0 && want && d->k >= 0 && memcmp(kn, want, d->key_size))
		fail_msg("%s: kernel next key differs", what);
}

/* ---- sockets ---- */

static inline socklen_t sa_len(int family)
{
	return family == AF_INET ? sizeof(struct sockaddr_in)
				 : sizeof(struct sockaddr_in6);
}

/* Loopback address of @family with @port (network order). */
static inline void loopback(int family, uint16_t port,
			    struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	ss->ss_family = (sa_family_t)family;
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a->sin_port = port;
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_addr = in6addr_loopback;
		a->sin6_port = port;
	}
}

/* Port (network order) a socket is bound to, 0 on error. */
static inline uint16_t bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		return 0;
	if (ss.ss_family == AF_INET)
		return ((struct sockaddr_in *)&ss)->sin_port;
	return ((struct sockaddr_in6 *)&ss)->sin6_port;
}

/* What to do with a new inet socket. */
enum rp_step {
	RP_FRESH,   /* nothing */
	RP_BOUND,   /* bind */
	RP_LISTEN,  /* bind + listen (stream only) */
};

/*
 * An inet socket of @family/@type on loopback: SO_REUSEPORT set before
 * bind when @reuse, bound to @port (network order, 0: any), then listening
 * for RP_LISTEN. Returns the fd or -1.
 */
static inline int rp_sock(int family, int type, bool reuse, uint16_t port,
			  enum rp_step step)
{
	struct sockaddr_storage ss;
	int one = 1, fd = socket(family, type, 0);

	if (fd < 0)
		return -1;
	if (reuse &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)))
		goto fail;
	if (step == RP_FRESH)
		return fd;
	loopback(family, port, &ss);
	if (bind(fd, (struct sockaddr *)&ss, sa_len(family)))
		goto fail;
	if (step == RP_LISTEN && listen(fd, 16))
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

/* @n members of one reuseport group (same port), fds in @fds. */
static inline void rp_group(int family, int type, int n, int *fds)
{
	enum rp_step step = type == SOCK_STREAM ? RP_LISTEN : RP_BOUND;
	uint16_t port = 0;
	int i;

	for (i = 0; i < n; i++) {
		fds[i] = rp_sock(family, type, true, port, step);
		if (fds[i] < 0)
			fail_msg("reuseport member %d: %s", i, strerror(errno));
		if (!port)
			port = bound_port(fds[i]);
	}
}

static inline void close_all(int *fds, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static inline uint64_t so_cookie(int fd)
{
	uint64_t c = 0;
	socklen_t len = sizeof(c);

	if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, &c, &len))
		fail_msg("SO_COOKIE: %s", strerror(errno));
	return c;
}

/* The update value holding @fd for a map of value_size @vs. */
static inline void fd_value(uint32_t vs, int fd, uint8_t val[8])
{
	uint64_t v64 = (uint64_t)(int64_t)fd;
	uint32_t v32 = (uint32_t)fd;

	memset(val, 0, 8);
	if (vs == 8)
		memcpy(val, &v64, 8);
	else
		memcpy(val, &v32, 4);
}

#endif /* USM_RPA_TEST_H */
