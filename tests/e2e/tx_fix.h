/* SPDX-License-Identifier: MIT */
/*
 * Fixture for the send-path e2e tests: one scenario (program config, map
 * kind, send calls) run on a backend, either usockmap (usm_compat_* calls
 * and usm_send/usm_sendmsg/usm_sendfile) or the kernel (libbpf and libc),
 * over real loopback TCP pairs: the sender c1 with its peer s1, and a
 * redirect target c2 with its peer s2. The outcome (every call's result
 * and errno, the bytes each peer received, the program's statistics) is
 * compared with an explicit expectation and between the two backends.
 * Header-only: each tests/<dir>/test_*.c is its own binary.
 */
#ifndef USM_TEST_E2E_TX_FIX_H
#define USM_TEST_E2E_TX_FIX_H

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <usockmap/libbpf.h>
#include <usockmap/bpf.h>
#include <usockmap/send.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include "usm_test.h"
#include "../../src/sock/psock.h"
#include "../../src/sock/sock.h"

/* The kernel's own names again (usockmap/libbpf.h renamed them). */
#undef bpf_object__open_file
#undef bpf_object__load
#undef bpf_object__close
#undef bpf_object__find_program_by_name
#undef bpf_program__fd
#undef bpf_object__find_map_by_name
#undef bpf_map__fd
#undef bpf_map_update_elem
#undef bpf_map_lookup_elem
#undef bpf_prog_attach
#undef bpf_map_delete_elem

enum { V_PASS, V_DROP, V_REDIR_MAP, V_REDIR_HASH, V_DROP_AFTER };

/* Mirrors of tests/bpf/tx_prog.bpf.c. */
struct tx_cfg {
	uint32_t verdict;
	uint32_t apply, cork;
	uint32_t pull_start, pull_end;
	uint32_t push_start, push_len;
	uint32_t pop_start, pop_len;
	uint32_t key, flags;
	uint32_t n;
};

struct tx_stats {
	uint32_t runs;
	uint32_t size[8];
	uint32_t first[8];
	uint32_t reach;
	int32_t pull_ret, push_ret, pop_ret;
	uint32_t family, local_port, remote_port;
	uint32_t sk_port;
};

struct be {
	const char *name;
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
	int (*lookup)(int, const void *, void *);
	int (*attach)(int, int, enum bpf_attach_type, unsigned int);
	ssize_t (*send)(int, const void *, size_t, int);
	ssize_t (*sendmsg)(int, const struct msghdr *, int);
	ssize_t (*sendfile)(int, int, off_t *, size_t);
	int (*sclose)(int);
	int (*del)(int, const void *);
};

static const struct be BE_USM = {
	"usockmap", usm_compat_bpf_object__open_file,
	usm_compat_bpf_object__load, usm_compat_bpf_object__close,
	usm_compat_bpf_object__find_program_by_name,
	usm_compat_bpf_program__fd, usm_compat_bpf_object__find_map_by_name,
	usm_compat_bpf_map__fd, usm_compat_bpf_map_update_elem,
	usm_compat_bpf_map_lookup_elem, usm_compat_bpf_prog_attach,
	usm_send, usm_sendmsg, usm_sendfile, usm_close,
	usm_compat_bpf_map_delete_elem,
};

static const struct be BE_KERN = {
	"kernel", bpf_object__open_file, bpf_object__load, bpf_object__close,
	bpf_object__find_program_by_name, bpf_program__fd,
	bpf_object__find_map_by_name, bpf_map__fd, bpf_map_update_elem,
	bpf_map_lookup_elem, bpf_prog_attach, send, sendmsg, sendfile, close,
	bpf_map_delete_elem,
};

enum tx_mode { M_SEND, M_IOV3, M_SENDFILE };
enum tx_target { T_NONE, T_TCP, T_LISTEN };

#define TX_MAX_SENDS 8

struct scen {
	struct tx_cfg cfg;
	bool hash;              /* sender (and target) in sock_hash */
	enum tx_mode mode;
	enum tx_target target;  /* what sits at key 1 */
	bool udp;               /* the sender is a connected UDP socket */
	size_t sends[TX_MAX_SENDS];
	int nsends;
	int target_sndbuf;      /* > 0: tiny target buffers (MSG-21) */
	int target_timeo_ms;    /* target SO_SNDTIMEO */
	int flags;              /* extra MSG_* flags for send/sendmsg */
	int sender_buf;         /* > 0: tiny c1 SO_SNDBUF and s1 SO_RCVBUF */
	const char *obj;        /* NULL: tests/bpf/tx_prog (cfg, stats) */
	const char *prog;       /* NULL: "tx_prog" */
	const uint8_t *data;    /* NULL: tx_byte(k) at stream offset k */
	int del_target_after;   /* > 0: delete key 1 after this many sends */
};

struct outcome {
	ssize_t rc[TX_MAX_SENDS];
	int err[TX_MAX_SENDS];
	uint8_t *rx, *rx2;      /* at s1 (the sender's peer), s2 */
	size_t rxlen, rx2len;
	struct tx_stats st;
	uint32_t lport, rport;  /* c1's ports (host order) */
};

/* A receiver-visible segment: bytes [off, off + len) of the sent stream,
 * or (off < 0) len bytes pushed by the program (content unspecified). */
struct seg {
	int64_t off;
	size_t len;
};

static inline uint8_t tx_byte(size_t k)
{
	return (uint8_t)(k % 251u + 1u);
}

static inline int tx_tcp_pair(int *c, int *s, int *lfd)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int l;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (void *)&sa, sizeof(sa)) || listen(l, 1) ||
	    getsockname(l, (void *)&sa, &len))
		return -1;
	*c = socket(AF_INET, SOCK_STREAM, 0);
	if (*c < 0 || connect(*c, (void *)&sa, sizeof(sa)))
		return -1;
	*s = accept(l, NULL, NULL);
	if (lfd)
		*lfd = l;
	else
		close(l);
	return *s < 0 ? -1 : 0;
}

static inline int tx_udp_pair(int *c, int *s)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct sockaddr_in sb = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sb = sa;
	*c = socket(AF_INET, SOCK_DGRAM, 0);
	*s = socket(AF_INET, SOCK_DGRAM, 0);
	if (*c < 0 || *s < 0 || bind(*s, (void *)&sa, sizeof(sa)) ||
	    getsockname(*s, (void *)&sa, &len) ||
	    bind(*c, (void *)&sb, sizeof(sb)))
		return -1;
	len = sizeof(sb);
	if (connect(*c, (void *)&sa, sizeof(sa)) ||
	    getsockname(*c, (void *)&sb, &len) ||
	    connect(*s, (void *)&sb, sizeof(sb)))
		return -1;
	return 0;
}

/* Everything readable on @fd until EOF or @ms of silence (a TCP peer
 * shut down after the sends, so EOF comes after the last byte even when
 * zero-window probes back off). */
static inline uint8_t *tx_drain(int fd, size_t *len, int ms)
{
	size_t cap = 1 << 16, n = 0;
	uint8_t *buf = malloc(cap);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t r;

	while (buf && poll(&p, 1, ms) > 0) {
		if (n == cap) {
			uint8_t *nb = realloc(buf, cap * 2);

			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		r = recv(fd, buf + n, cap - n, MSG_DONTWAIT);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	*len = n;
	return buf;
}

static inline ssize_t tx_do_send(const struct be *be, const struct scen *sc,
				 int fd, const uint8_t *data, size_t len)
{
	struct iovec iov[3];
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 3 };
	char path[] = "/tmp/usm_tx_XXXXXX";
	ssize_t r;
	int f;

	if (sc->mode == M_SEND)
		return be->send(fd, data, len, MSG_NOSIGNAL | sc->flags);
	if (sc->mode == M_IOV3) {
		iov[0].iov_base = (void *)data;
		iov[0].iov_len = len / 3;
		iov[1].iov_base = (void *)(data + len / 3);
		iov[1].iov_len = len / 3;
		iov[2].iov_base = (void *)(data + 2 * (len / 3));
		iov[2].iov_len = len - 2 * (len / 3);
		return be->sendmsg(fd, &mh, MSG_NOSIGNAL | sc->flags);
	}
	f = mkstemp(path);
	if (f < 0)
		return -2;
	unlink(path);
	if (write(f, data, len) != (ssize_t)len) {
		close(f);
		return -2;
	}
	lseek(f, 0, SEEK_SET);
	r = be->sendfile(fd, f, NULL, len);
	{
		int e = errno;

		close(f);
		errno = e;
	}
	return r;
}

static inline int tx_insert(const struct be *be, int mfd, uint32_t key,
			    int sock)
{
	uint32_t v = (uint32_t)sock;

	return be->update(mfd, &key, &v, BPF_ANY);
}

/* The sockets of a run: sender c1 and its peer s1; target c2, its peer s2
 * and the listener l2 it came from. */
struct tx_socks {
	int c1, s1, c2, s2, l2;
};

static inline void tx_bufs(const struct scen *sc, const struct tx_socks *k)
{
	int v = sc->sender_buf;
	struct timeval tv = { 0, sc->target_timeo_ms * 1000 };

	if (v > 0) {
		setsockopt(k->c1, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
		setsockopt(k->s1, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	}
	v = sc->target_sndbuf;
	if (v > 0) {
		setsockopt(k->c2, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
		setsockopt(k->s2, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
		setsockopt(k->c2, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
}

/* Create the sockets and put c1 at key 0, the target at key 1. */
static inline int tx_socks_open(const struct be *be, const struct scen *sc,
				int mfd, struct tx_socks *k)
{
	if (sc->udp ? tx_udp_pair(&k->c1, &k->s1)
		    : tx_tcp_pair(&k->c1, &k->s1, NULL))
		return -1;
	if (sc->target != T_NONE && tx_tcp_pair(&k->c2, &k->s2, &k->l2))
		return -1;
	tx_bufs(sc, k);
	if (tx_insert(be, mfd, 0, k->c1))
		return -1;
	if (sc->target != T_NONE &&
	    tx_insert(be, mfd, 1, sc->target == T_LISTEN ? k->l2 : k->c2))
		return -1;
	return 0;
}

/* Sockets first: a psock holds its programs, which hold the maps (the
 * kernel breaks that cycle when the socket closes). */
static inline void tx_socks_close(const struct be *be, struct tx_socks *k)
{
	if (k->c1 >= 0)
		be->sclose(k->c1);
	if (k->s1 >= 0)
		close(k->s1);
	if (k->c2 >= 0)
		be->sclose(k->c2);
	if (k->s2 >= 0)
		close(k->s2);
	if (k->l2 >= 0)
		be->sclose(k->l2);
}

static inline void tx_ports(int fd, struct outcome *o)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	if (!getsockname(fd, (void *)&a, &len))
		o->lport = ntohs(a.sin_port);
	len = sizeof(a);
	if (!getpeername(fd, (void *)&a, &len))
		o->rport = ntohs(a.sin_port);
}

/* The sends, then what arrived where. */
static inline void tx_sends(const struct be *be, const struct scen *sc,
			    const uint8_t *data, int mfd,
			    const struct tx_socks *k, struct outcome *o)
{
	size_t off;
	int i;

	for (i = 0, off = 0; i < sc->nsends; off += sc->sends[i], i++) {
		errno = 0;
		o->rc[i] = tx_do_send(be, sc, k->c1, data + off, sc->sends[i]);
		o->err[i] = o->rc[i] < 0 ? errno : 0;
		if (i + 1 == sc->del_target_after)
			be->del(mfd, &(uint32_t){ 1 });
	}
}

static inline void tx_collect(const struct tx_socks *k, bool udp,
			      struct outcome *o)
{
	shutdown(k->c1, SHUT_WR);
	o->rx = tx_drain(k->s1, &o->rxlen, udp ? 300 : 5000);
	if (k->c2 >= 0) {
		shutdown(k->c2, SHUT_WR);
		o->rx2 = tx_drain(k->s2, &o->rx2len, 5000);
	}
}

/* Run @sc on @be; 0 or -1 (setup failed: *why says where). */
static inline int tx_run(const struct be *be, const struct scen *sc,
			 struct outcome *o, const char **why)
{
	struct tx_socks k = { -1, -1, -1, -1, -1 };
	struct bpf_object *obj;
	size_t total = 0, off;
	int i, ret = -1, mfd, cfd, sfd;
	uint32_t k0 = 0;
	uint8_t *data;

	memset(o, 0, sizeof(*o));
	for (i = 0; i < sc->nsends; i++)
		total += sc->sends[i];
	data = malloc(total + 1);
	assert_non_null(data);
	for (off = 0; off < total; off++)
		data[off] = sc->data ? sc->data[off] : tx_byte(off);
	obj = be->open(usm_test_bpf_path(sc->obj ? sc->obj
						 : "tests/bpf/tx_prog"), NULL);
	*why = "load";
	if (!obj || be->load(obj))
		goto out;
	mfd = be->map_fd(be->find_map(obj, sc->hash ? "sock_hash"
						    : "sock_map"));
	cfd = sc->obj ? -1 : be->map_fd(be->find_map(obj, "cfg"));
	sfd = sc->obj ? -1 : be->map_fd(be->find_map(obj, "stats"));
	*why = "setup";
	if ((cfd >= 0 && be->update(cfd, &k0, &sc->cfg, BPF_ANY)) ||
	    be->attach(be->prog_fd(be->find_prog(obj, sc->prog ? sc->prog
							      : "tx_prog")),
		       mfd, BPF_SK_MSG_VERDICT, 0) ||
	    tx_socks_open(be, sc, mfd, &k))
		goto out;
	tx_ports(k.c1, o);
	tx_sends(be, sc, data, mfd, &k, o);
	if (sfd >= 0)
		be->lookup(sfd, &k0, &o->st);
	tx_collect(&k, sc->udp, o);
	ret = 0;
out:
	tx_socks_close(be, &k);
	be->close(obj);
	free(data);
	return ret;
}

static inline void tx_outcome_free(struct outcome *o)
{
	free(o->rx);
	free(o->rx2);
	o->rx = o->rx2 = NULL;
}

/* Check @got (@len bytes) against @segs exactly, skipping pushed holes. */
static inline void tx_assert_segs(const uint8_t *got, size_t len,
				  const struct seg *segs, int nsegs)
{
	size_t pos = 0, j;
	int i;

	for (i = 0; i < nsegs; i++) {
		if (segs[i].off >= 0) {
			for (j = 0; j < segs[i].len; j++) {
				assert_true(pos + j < len);
				assert_int_equal(got[pos + j],
					tx_byte((size_t)segs[i].off + j));
			}
		}
		pos += segs[i].len;
	}
	assert_int_equal(len, pos);
}

/* What a test expects of both backends. */
struct expect {
	ssize_t rc[TX_MAX_SENDS];
	int err[TX_MAX_SENDS];
	struct seg rx[16];
	int nrx;
	struct seg rx2[8];
	int nrx2;
	int32_t runs;           /* -1: not checked */
};

static inline void tx_check(const struct scen *sc, const struct outcome *o,
			    const struct expect *e)
{
	int i;

	for (i = 0; i < sc->nsends; i++) {
		if (o->rc[i] != e->rc[i] || o->err[i] != e->err[i])
			print_message("send %d: rc %zd errno %d, want %zd %d\n",
				      i, o->rc[i], o->err[i], e->rc[i],
				      e->err[i]);
		assert_int_equal(o->rc[i], e->rc[i]);
		assert_int_equal(o->err[i], e->err[i]);
	}
	tx_assert_segs(o->rx, o->rxlen, e->rx, e->nrx);
	if (sc->target != T_NONE)
		tx_assert_segs(o->rx2, o->rx2len, e->rx2, e->nrx2);
	if (e->runs >= 0)
		assert_int_equal(o->st.runs, e->runs);
	if (o->st.runs && !sc->obj) { /* MSG-02 port encodings */
		assert_int_equal(o->st.family, AF_INET);
		assert_int_equal(o->st.local_port, o->lport);
		assert_int_equal(o->st.sk_port, o->lport); /* MSG-24 */
		assert_int_equal(o->st.remote_port,
				 (uint32_t)htons((uint16_t)o->rport) << 16);
	}
}

/* Run @sc on usockmap and, with kernel BPF, on the kernel; both must meet
 * @e and agree on the program's statistics. @kern_out (may be NULL) gets
 * the kernel's outcome (st.runs == UINT32_MAX when it did not run). */
static inline void tx_both(const struct scen *sc, const struct expect *e,
			   struct outcome *usm_out)
{
	struct outcome u, k;
	const char *why = "";
	bool kern = usm_test_have_kernel_bpf(&why);
	int i;

	assert_int_equal(tx_run(&BE_USM, sc, &u, &why), 0);
	if (kern) {
		assert_int_equal(tx_run(&BE_KERN, sc, &k, &why), 0);
		for (i = 0; i < sc->nsends; i++)
			if (u.rc[i] != k.rc[i] || u.err[i] != k.err[i])
				print_message("send %d: usm %zd/%d kernel "
					      "%zd/%d\n", i, u.rc[i],
					      u.err[i], k.rc[i], k.err[i]);
		if (u.st.runs != k.st.runs || u.rxlen != k.rxlen ||
		    u.rx2len != k.rx2len)
			print_message("runs %u/%u rx %zu/%zu rx2 %zu/%zu\n",
				      u.st.runs, k.st.runs, u.rxlen, k.rxlen,
				      u.rx2len, k.rx2len);
		tx_check(sc, &k, e);
	}
	tx_check(sc, &u, e);
	assert_int_equal(usm__psock_count(), 0);
	if (kern) {
		assert_int_equal(u.st.runs, k.st.runs);
		assert_memory_equal(u.st.size, k.st.size, sizeof(u.st.size));
		assert_memory_equal(u.st.first, k.st.first,
				    sizeof(u.st.first));
		assert_int_equal(u.st.reach, k.st.reach);
		assert_int_equal(u.st.pull_ret, k.st.pull_ret);
		assert_int_equal(u.st.push_ret, k.st.push_ret);
		assert_int_equal(u.st.pop_ret, k.st.pop_ret);
		assert_int_equal(u.st.family, k.st.family);
		tx_outcome_free(&k);
	}
	if (usm_out)
		*usm_out = u;
	else
		tx_outcome_free(&u);
}

#endif /* USM_TEST_E2E_TX_FIX_H */
