/* SPDX-License-Identifier: MIT */
/*
 * Fixture for the engine's receive-path e2e tests (tests/e2e/test_rx_*.c):
 * load tests/bpf/rx_progs into usockmap (and, for comparisons, into the
 * kernel with libbpf), attach programs to its socket maps, build loopback
 * socket pairs of every kind, wait for readiness with a bound.
 * Header-only: each test file is its own binary.
 */
#ifndef USM_TEST_E2E_RX_FIX_H
#define USM_TEST_E2E_RX_FIX_H

#include "usm_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <usockmap/bpf.h>
#include <usockmap/map.h>
#include <usockmap/object.h>
#include <usockmap/sock.h>

#include "../../src/loader/loader.h"
#include "../../src/sock/psock.h"
#include "kern.h"

/* Socket kinds of the redirect matrix (REDIR-01/02). */
enum rk { RK_TCP4, RK_TCP6, RK_UDP4, RK_UDP6, RK_USTR, RK_UDGR, RK_N };

static const char *const rk_name[RK_N] = { "tcp4", "tcp6", "udp4", "udp6",
					   "u_str", "u_dgr" };

struct rxf {
	struct usm_object *obj;
	struct usm_map *map, *hash, *cfg;
	/* kernel side (kern_*), -1 / NULL when unused */
	struct bpf_object *kobj;
	int kmap, khash, kcfg;
};

static inline void rxf_open(struct rxf *f)
{
	memset(f, 0, sizeof(*f));
	f->kmap = f->khash = f->kcfg = -1;
	assert_int_equal(usm_object_open(usm_test_bpf_path("tests/bpf/rx_progs"),
					 NULL, &f->obj), 0);
	assert_int_equal(usm_object_load(f->obj), 0);
	f->map = usm_object_find_map(f->obj, "sock_map");
	f->hash = usm_object_find_map(f->obj, "sock_hash");
	f->cfg = usm_object_find_map(f->obj, "cfg");
	assert_non_null(f->map);
	assert_non_null(f->hash);
	assert_non_null(f->cfg);
}

static inline void rxf_close(struct rxf *f)
{
	usm_object_close(f->obj);
	if (f->kobj)
		bpf_object__close(f->kobj);
}

static inline void rxf_attach(struct rxf *f, struct usm_map *m,
			      const char *name, uint32_t attach)
{
	struct usm_program *p = usm_object_find_program(f->obj, name);

	assert_non_null(p);
	assert_int_equal(usm__sockmap_prog_attach(m, usm__program_prog(p),
						  attach), 0);
}

static inline void rxf_cfg(struct rxf *f, uint32_t key, uint32_t flags)
{
	uint32_t k0 = 0, k1 = 1;

	assert_int_equal(usm_map_update_elem(f->cfg, &k0, &key, 0), 0);
	assert_int_equal(usm_map_update_elem(f->cfg, &k1, &flags, 0), 0);
}

static inline int rxf_put(struct usm_map *m, uint32_t key, int fd)
{
	uint64_t v = (uint64_t)fd;

	return usm_map_update_elem(m, &key, &v, BPF_ANY);
}

/* Kernel: load the same object; -1 when kernel BPF is unavailable. */
static inline int rxf_kopen(struct rxf *f)
{
	const char *why;

	if (!usm_test_have_kernel_bpf(&why))
		return -1;
	f->kobj = kern_load(usm_test_bpf_path("tests/bpf/rx_progs"));
	if (!f->kobj)
		return -1;
	f->kmap = bpf_object__find_map_fd_by_name(f->kobj, "sock_map");
	f->khash = bpf_object__find_map_fd_by_name(f->kobj, "sock_hash");
	f->kcfg = bpf_object__find_map_fd_by_name(f->kobj, "cfg");
	return 0;
}

static inline void rxf_kattach(struct rxf *f, int map_fd, const char *name,
			       uint32_t attach)
{
	struct bpf_program *p = bpf_object__find_program_by_name(f->kobj, name);

	assert_non_null(p);
	assert_int_equal(bpf_prog_attach(bpf_program__fd(p), map_fd,
					 (enum bpf_attach_type)attach, 0), 0);
}

static inline void rxf_kcfg(struct rxf *f, uint32_t key, uint32_t flags)
{
	uint32_t k0 = 0, k1 = 1;

	assert_int_equal(bpf_map_update_elem(f->kcfg, &k0, &key, 0), 0);
	assert_int_equal(bpf_map_update_elem(f->kcfg, &k1, &flags, 0), 0);
}

static inline int rxf_kput(int map_fd, uint32_t key, int fd)
{
	uint64_t v = (uint64_t)fd;

	return bpf_map_update_elem(map_fd, &key, &v, BPF_ANY);
}

/* A connected pair of kind @k: a sends to b. */
static inline void rk_pair(enum rk k, int *a, int *b)
{
	bool v6 = k == RK_TCP6 || k == RK_UDP6;
	struct sockaddr_storage sa = { 0 }, sb = { 0 };
	socklen_t la = v6 ? sizeof(struct sockaddr_in6)
			  : sizeof(struct sockaddr_in);
	socklen_t lb = la;
	int fam = v6 ? AF_INET6 : AF_INET, l, sv[2];

	if (k == RK_USTR || k == RK_UDGR) {
		assert_int_equal(socketpair(AF_UNIX, k == RK_USTR ? SOCK_STREAM
							      : SOCK_DGRAM,
					    0, sv), 0);
		*a = sv[0];
		*b = sv[1];
		return;
	}
	sa.ss_family = sb.ss_family = (sa_family_t)fam;
	if (v6) {
		((struct sockaddr_in6 *)&sa)->sin6_addr = in6addr_loopback;
		((struct sockaddr_in6 *)&sb)->sin6_addr = in6addr_loopback;
	} else {
		((struct sockaddr_in *)&sa)->sin_addr.s_addr =
			htonl(INADDR_LOOPBACK);
		((struct sockaddr_in *)&sb)->sin_addr.s_addr =
			htonl(INADDR_LOOPBACK);
	}
	if (k == RK_TCP4 || k == RK_TCP6) {
		l = socket(fam, SOCK_STREAM, 0);
		assert_true(l >= 0);
		assert_int_equal(bind(l, (void *)&sa, la), 0);
		assert_int_equal(listen(l, 1), 0);
		assert_int_equal(getsockname(l, (void *)&sa, &la), 0);
		*a = socket(fam, SOCK_STREAM, 0);
		assert_int_equal(connect(*a, (void *)&sa, la), 0);
		*b = accept(l, NULL, NULL);
		assert_true(*b >= 0);
		close(l);
		return;
	}
	*a = socket(fam, SOCK_DGRAM, 0);
	*b = socket(fam, SOCK_DGRAM, 0);
	assert_int_equal(bind(*a, (void *)&sa, la), 0);
	assert_int_equal(bind(*b, (void *)&sb, lb), 0);
	assert_int_equal(getsockname(*a, (void *)&sa, &la), 0);
	assert_int_equal(getsockname(*b, (void *)&sb, &lb), 0);
	assert_int_equal(connect(*a, (void *)&sb, lb), 0);
	assert_int_equal(connect(*b, (void *)&sa, la), 0);
}

static inline bool rk_stream(enum rk k)
{
	return k == RK_TCP4 || k == RK_TCP6 || k == RK_USTR;
}

/* Wait until @fd is readable, at most @ms. */
static inline bool rx_wait(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

/* usm_recv after waiting on the socket's poll fd (bounded). */
static inline ssize_t rx_recv(int fd, void *buf, size_t len, int ms)
{
	if (!rx_wait(usm_sock_poll_fd(fd), ms)) {
		errno = ETIMEDOUT;
		return -1;
	}
	return usm_recv(fd, buf, len, MSG_DONTWAIT);
}

/* Let the engine run what it has (no event to wait for: a drop). */
static inline void rx_settle(void)
{
	usleep(100 * 1000);
}

#endif /* USM_TEST_E2E_RX_FIX_H */
