/* SPDX-License-Identifier: MIT */
/*
 * Shared support for the maps unit tests: a "dual" map that exists both in
 * usockmap and in the running kernel (bpf(2) through libbpf), checks that
 * run one operation on both and require the same return value and errno
 * (and the expected one), and factories for every kind of socket the
 * socket-map rules distinguish. Everything is static: each test binary
 * includes this once.
 */
#ifndef USM_MAPS_TEST_H
#define USM_MAPS_TEST_H

#include "usm_test.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <usockmap/map.h>

#include "../../../src/maps/map.h"
#include "../../../src/sock/sock.h"

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

/* ---- kernel availability ---- */

static const char *kern_why __attribute__((unused));

static inline int kern_ok(void)
{
	static int state = -1;

	if (state < 0)
		state = usm_test_have_kernel_bpf(&kern_why);
	return state;
}

/* Call at the end of a test that compared with the kernel: without kernel
 * BPF the usockmap half ran, the comparison did not, and we say so. */
static inline void kern_done(void)
{
	if (!kern_ok())
		USM_SKIP("kernel comparison not run: %s", kern_why);
}

/* ---- dual maps ---- */

struct dmap {
	struct usm_map *u;
	int k; /* kernel map fd, -1 without kernel BPF */
	uint32_t type, key_size, value_size, max_entries;
};

static inline int dmap_try(struct dmap *d, uint32_t type, uint32_t ks, uint32_t vs,
		    uint32_t max, uint32_t flags)
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
	u = usm_map_create(type, "t", ks, vs, max, &o, &d->u);
	if (kern_ok()) {
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

static inline void dmap_new(struct dmap *d, uint32_t type, uint32_t ks, uint32_t vs,
		     uint32_t max, uint32_t flags)
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

/* Creation must give @exp in both (the map is closed again). */
static inline void check_create(const char *what, int exp, uint32_t type, uint32_t ks,
			 uint32_t vs, uint32_t max, uint32_t flags)
{
	struct dmap d;
	int err = dmap_try(&d, type, ks, vs, max, flags);

	if (err != exp)
		fail_msg("%s: expected %d, usockmap %d", what, exp, err);
	dmap_free(&d);
}

static inline void check_update(struct dmap *d, const void *key, const void *val,
			 uint64_t flags, int exp, const char *what)
{
	int u = usm_map_update_elem(d->u, key, val, flags);
	int k = d->k >= 0 ? bpf_map_update_elem(d->k, key, val, flags) : u;

	if (u != exp || k != exp)
		fail_msg("%s: update expected %d, usockmap %d, kernel %d", what,
			 exp, u, k);
}

/* Lookup; on success both values must be equal and, if @want, equal it. */
static inline void check_lookup(struct dmap *d, const void *key, uint64_t flags,
			 int exp, const void *want, size_t len,
			 const char *what)
{
	uint8_t ub[4096], kb[4096];
	int u, k;

	memset(ub, 0xa5, sizeof(ub));
	memset(kb, 0xa5, sizeof(kb));
	u = usm_map_lookup_elem_flags(d->u, key, ub, flags);
	k = d->k >= 0 ? bpf_map_lookup_elem_flags(d->k, key, kb, flags) : u;
	if (u != exp || k != exp)
		fail_msg("%s: lookup expected %d, usockmap %d, kernel %d", what,
			 exp, u, k);
	if (u == 0 && want && memcmp(ub, want, len))
		fail_msg("%s: usockmap lookup value differs", what);
	if (u == 0 && d->k >= 0 && memcmp(ub, kb, len))
		fail_msg("%s: usockmap and kernel values differ", what);
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

/* get_next_key; with @want the usockmap next key must equal it (and the
 * kernel's too: only for types with a defined order). */
static inline void check_next(struct dmap *d, const void *key, int exp,
		       const void *want, const char *what)
{
	uint8_t un[512], kn[512];
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

enum skind {
	K_TCP4_LISTEN,
	K_TCP6_LISTEN,
	K_TCP4_EST,     /* client side of a loopback connection */
	K_TCP6_EST,
	K_TCP4_ACCEPTED,
	K_TCP4_FRESH,
	K_TCP4_BOUND,
	K_TCP6_BOUND,
	K_UDP4_BOUND,
	K_UDP6_BOUND,
	K_UDP4_UNBOUND,
	K_UDP4_CONNECTED, /* bound implicitly by connect */
	K_UNIX_STREAM_CONN,
	K_UNIX_STREAM_UNCONN,
	K_UNIX_STREAM_LISTEN,
	K_UNIX_DGRAM,
	K_UNIX_DGRAM_CONN,
	K_UNIX_SEQPACKET,
	K_RAW4,
	K_RAW6_UDP,     /* AF_INET6 SOCK_RAW with protocol UDP */
	K_NETLINK,
	K_PACKET,
	K_UDPLITE4,     /* SOCK_DGRAM, IPPROTO_UDPLITE, bound */
	K_MPTCP4_LISTEN,
	K_VSOCK_STREAM, /* unconnected */
	K_PIPE,
	K_CLOSED,
	K_NKINDS
};

struct skind_info {
	const char *name;
	int update;  /* expected user-space update result */
	bool is_sock;
};

static const struct skind_info skinds[K_NKINDS] __attribute__((unused)) = {
	[K_TCP4_LISTEN] = { "tcp4 listening", 0, true },        /* UPD-19 */
	[K_TCP6_LISTEN] = { "tcp6 listening", 0, true },
	[K_TCP4_EST] = { "tcp4 established", 0, true },         /* UPD-04 */
	[K_TCP6_EST] = { "tcp6 established", 0, true },
	[K_TCP4_ACCEPTED] = { "tcp4 accepted", 0, true },
	[K_TCP4_FRESH] = { "tcp4 fresh", -EOPNOTSUPP, true },   /* UPD-04 */
	[K_TCP4_BOUND] = { "tcp4 bound", -EOPNOTSUPP, true },
	[K_TCP6_BOUND] = { "tcp6 bound", -EOPNOTSUPP, true },
	[K_UDP4_BOUND] = { "udp4 bound", 0, true },             /* UPD-05 */
	[K_UDP6_BOUND] = { "udp6 bound", 0, true },
	[K_UDP4_UNBOUND] = { "udp4 unbound", -EOPNOTSUPP, true },
	[K_UDP4_CONNECTED] = { "udp4 connected", 0, true },
	[K_UNIX_STREAM_CONN] = { "unix stream connected", 0, true }, /* UPD-06 */
	[K_UNIX_STREAM_UNCONN] = { "unix stream unconnected", -EOPNOTSUPP,
				   true },
	[K_UNIX_STREAM_LISTEN] = { "unix stream listening", -EOPNOTSUPP,
				   true },
	[K_UNIX_DGRAM] = { "unix dgram unbound", 0, true },
	[K_UNIX_DGRAM_CONN] = { "unix dgram connected", 0, true },
	[K_UNIX_SEQPACKET] = { "unix seqpacket", -EOPNOTSUPP, true }, /* UPD-07 */
	[K_RAW4] = { "raw ipv4", -EOPNOTSUPP, true },           /* UPD-03 */
	[K_RAW6_UDP] = { "raw ipv6 proto udp", -EOPNOTSUPP, true },
	[K_NETLINK] = { "netlink", -EOPNOTSUPP, true },
	[K_PACKET] = { "packet", -EOPNOTSUPP, true },
	[K_UDPLITE4] = { "udplite bound", -EOPNOTSUPP, true },
	[K_MPTCP4_LISTEN] = { "mptcp listening", -EOPNOTSUPP, true },
	[K_VSOCK_STREAM] = { "vsock stream unconnected", -EOPNOTSUPP, true },
	[K_PIPE] = { "pipe", -ENOTSOCK, false },                /* UPD-02 */
	[K_CLOSED] = { "closed fd", -EBADF, false },
};

struct tsock {
	int fd;       /* the socket under test */
	int other[3]; /* peers, listeners: closed by tsock_free */
};

static inline int tcp_listener(int family, struct sockaddr_storage *ss,
			socklen_t *len)
{
	int fd = socket(family, SOCK_STREAM, 0);

	memset(ss, 0, sizeof(*ss));
	ss->ss_family = (sa_family_t)family;
	if (family == AF_INET)
		((struct sockaddr_in *)ss)->sin_addr.s_addr =
			htonl(INADDR_LOOPBACK);
	else
		((struct sockaddr_in6 *)ss)->sin6_addr = in6addr_loopback;
	*len = family == AF_INET ? sizeof(struct sockaddr_in)
				 : sizeof(struct sockaddr_in6);
	if (fd < 0 || bind(fd, (struct sockaddr *)ss, *len) ||
	    listen(fd, 16) || getsockname(fd, (struct sockaddr *)ss, len)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* A connected pair: *cl the client, *sv the accepted side, *ln listener. */
static inline int tcp_pair(int family, int *cl, int *sv, int *ln)
{
	struct sockaddr_storage ss;
	socklen_t len;

	*ln = tcp_listener(family, &ss, &len);
	if (*ln < 0)
		return -1;
	*cl = socket(family, SOCK_STREAM, 0);
	if (*cl < 0 || connect(*cl, (struct sockaddr *)&ss, len))
		return -1;
	*sv = accept(*ln, NULL, NULL);
	return *sv < 0 ? -1 : 0;
}

static inline int bound_sock(int family, int type)
{
	struct sockaddr_storage ss;
	socklen_t len = family == AF_INET ? sizeof(struct sockaddr_in)
					  : sizeof(struct sockaddr_in6);
	int fd = socket(family, type, 0);

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)family;
	if (family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_addr.s_addr =
			htonl(INADDR_LOOPBACK);
	else
		((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
	if (fd >= 0 && bind(fd, (struct sockaddr *)&ss, len)) {
		close(fd);
		return -1;
	}
	return fd;
}

static inline int bind_loopback4(int fd)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	return bind(fd, (struct sockaddr *)&a, sizeof(a));
}

static inline int udp_connected(struct tsock *t)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	t->other[0] = bound_sock(AF_INET, SOCK_DGRAM);
	if (t->other[0] < 0 ||
	    getsockname(t->other[0], (struct sockaddr *)&ss, &len))
		return -1;
	t->fd = socket(AF_INET, SOCK_DGRAM, 0);
	return t->fd < 0 || connect(t->fd, (struct sockaddr *)&ss, len) ? -1 : 0;
}

static inline int unix_listener(struct tsock *t)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	/* abstract name, unique per process and call */
	static int seq;

	snprintf(sun.sun_path + 1, sizeof(sun.sun_path) - 1, "usm-maps-%d-%d",
		 (int)getpid(), seq++);
	t->fd = socket(AF_UNIX, SOCK_STREAM, 0);
	return t->fd < 0 ||
			       bind(t->fd, (struct sockaddr *)&sun,
				    sizeof(sun)) ||
			       listen(t->fd, 4)
		       ? -1
		       : 0;
}

static inline int pair_of(int type, struct tsock *t)
{
	int sv[2];

	if (socketpair(AF_UNIX, type, 0, sv))
		return -1;
	t->fd = sv[0];
	t->other[0] = sv[1];
	return 0;
}

/* Make a socket of kind @k; -1 if this machine cannot (the case skips). */
static inline int tsock_make(enum skind k, struct tsock *t)
{
	int p[2];

	t->fd = -1;
	t->other[0] = t->other[1] = t->other[2] = -1;
	switch (k) {
	case K_TCP4_LISTEN:
	case K_TCP6_LISTEN: {
		struct sockaddr_storage ss;
		socklen_t len;

		t->fd = tcp_listener(k == K_TCP4_LISTEN ? AF_INET : AF_INET6,
				     &ss, &len);
		return t->fd < 0 ? -1 : 0;
	}
	case K_TCP4_EST:
		return tcp_pair(AF_INET, &t->fd, &t->other[0], &t->other[1]);
	case K_TCP6_EST:
		return tcp_pair(AF_INET6, &t->fd, &t->other[0], &t->other[1]);
	case K_TCP4_ACCEPTED:
		return tcp_pair(AF_INET, &t->other[0], &t->fd, &t->other[1]);
	case K_TCP4_FRESH:
		t->fd = socket(AF_INET, SOCK_STREAM, 0);
		break;
	case K_TCP4_BOUND:
		t->fd = bound_sock(AF_INET, SOCK_STREAM);
		break;
	case K_TCP6_BOUND:
		t->fd = bound_sock(AF_INET6, SOCK_STREAM);
		break;
	case K_UDP4_BOUND:
		t->fd = bound_sock(AF_INET, SOCK_DGRAM);
		break;
	case K_UDP6_BOUND:
		t->fd = bound_sock(AF_INET6, SOCK_DGRAM);
		break;
	case K_UDP4_UNBOUND:
		t->fd = socket(AF_INET, SOCK_DGRAM, 0);
		break;
	case K_UDP4_CONNECTED:
		return udp_connected(t);
	case K_UNIX_STREAM_CONN:
		return pair_of(SOCK_STREAM, t);
	case K_UNIX_STREAM_UNCONN:
		t->fd = socket(AF_UNIX, SOCK_STREAM, 0);
		break;
	case K_UNIX_STREAM_LISTEN:
		return unix_listener(t);
	case K_UNIX_DGRAM:
		t->fd = socket(AF_UNIX, SOCK_DGRAM, 0);
		break;
	case K_UNIX_DGRAM_CONN:
		return pair_of(SOCK_DGRAM, t);
	case K_UNIX_SEQPACKET:
		return pair_of(SOCK_SEQPACKET, t);
	case K_RAW4:
		t->fd = socket(AF_INET, SOCK_RAW, IPPROTO_UDP);
		break;
	case K_RAW6_UDP:
		t->fd = socket(AF_INET6, SOCK_RAW, IPPROTO_UDP);
		break;
	case K_NETLINK:
		t->fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
		break;
	case K_PACKET:
		t->fd = socket(AF_PACKET, SOCK_RAW, 0);
		break;
	case K_UDPLITE4:
		t->fd = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE);
		if (t->fd >= 0 && bind_loopback4(t->fd))
			return -1;
		break;
	case K_MPTCP4_LISTEN:
		t->fd = socket(AF_INET, SOCK_STREAM, 262 /* IPPROTO_MPTCP */);
		if (t->fd >= 0 && (bind_loopback4(t->fd) || listen(t->fd, 1)))
			return -1;
		break;
	case K_VSOCK_STREAM:
		t->fd = socket(40 /* AF_VSOCK */, SOCK_STREAM, 0);
		break;
	case K_PIPE:
		if (pipe(p))
			return -1;
		t->fd = p[0];
		t->other[0] = p[1];
		break;
	case K_CLOSED:
		t->fd = 0x7ffffff0; /* never open */
		return 0;
	default:
		return -1;
	}
	return t->fd < 0 ? -1 : 0;
}

static inline void tsock_free(struct tsock *t)
{
	int i;

	if (t->fd >= 0 && t->fd != 0x7ffffff0)
		close(t->fd);
	for (i = 0; i < 3; i++)
		if (t->other[i] >= 0)
			close(t->other[i]);
	t->fd = -1;
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
	uint64_t v64 = (uint64_t)fd;
	uint32_t v32 = (uint32_t)fd;

	memset(val, 0, 8);
	if (vs == 8)
		memcpy(val, &v64, 8);
	else
		memcpy(val, &v32, 4);
}

#endif /* USM_MAPS_TEST_H */
