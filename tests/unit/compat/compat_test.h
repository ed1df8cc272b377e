/* SPDX-License-Identifier: MIT */
/*
 * Support for the libbpf-compatibility tests: every scenario calls the
 * usm_compat_* function and, with kernel BPF, libbpf's own function on the
 * kernel, and requires the same return value and the same errno (libbpf's
 * convention: a negative errno returned and stored in errno). The test
 * files define USM_COMPAT_NO_RENAME so both names are reachable.
 */
#ifndef USM_COMPAT_TEST_H
#define USM_COMPAT_TEST_H

#define USM_COMPAT_NO_RENAME
#include <usockmap/libbpf.h>

#include "usm_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <usockmap/bpf.h>

static const char *ct_why;

static inline int ct_kern(void)
{
	static int state = -1;

	if (state < 0)
		state = usm_test_have_kernel_bpf(&ct_why);
	return state;
}

static inline void ct_kern_done(void)
{
	if (!ct_kern())
		USM_SKIP("kernel comparison not run: %s", ct_why);
}

/* The result of one call: return value and errno right after it. */
struct res {
	long ret;
	int err;
};

#define RUN(expr)                                                              \
	({                                                                     \
		struct res r_;                                                 \
		errno = 0;                                                     \
		r_.ret = (long)(expr);                                         \
		r_.err = errno;                                                \
		r_;                                                            \
	})

/* usockmap's result must be @exp (with errno == -exp when negative) and,
 * when @k is given (kernel ran), equal the kernel's. Success values are
 * compared only as "non-negative" when @fd_like. */
static inline void same_res(const char *what, struct res u, const struct res *k,
			    long exp, bool fd_like)
{
	bool ok = fd_like && exp >= 0 ? u.ret >= 0 : u.ret == exp;

	if (!ok)
		fail_msg("%s: usockmap returned %ld, expected %ld", what, u.ret,
			 exp);
	if (u.ret < 0 && u.err != -u.ret)
		fail_msg("%s: usockmap errno %d for return %ld", what, u.err,
			 u.ret);
	if (!k)
		return;
	ok = fd_like && exp >= 0 ? k->ret >= 0 : k->ret == exp;
	if (!ok)
		fail_msg("%s: kernel returned %ld, expected %ld", what, k->ret,
			 exp);
	if (k->ret < 0 && k->err != u.err)
		fail_msg("%s: errno usockmap %d, kernel %d", what, u.err,
			 k->err);
}

/* Compare a usockmap call with the kernel's (run only with kernel BPF). */
#define SAME(what, exp, uexpr, kexpr)                                          \
	do {                                                                   \
		struct res u_ = RUN(uexpr), k_ = { 0, 0 };                     \
		if (ct_kern())                                                 \
			k_ = RUN(kexpr);                                       \
		same_res((what), u_, ct_kern() ? &k_ : NULL, (exp), false);    \
	} while (0)

/* Both sides' fds of one map or program. */
struct dfd {
	int u, k; /* k is -1 without kernel BPF */
};

static inline void dfd_close(struct dfd *d)
{
	if (d->u >= 0)
		usm_close(d->u);
	if (d->k >= 0)
		close(d->k);
	d->u = d->k = -1;
}

/* A connected loopback TCP pair. */
static inline void tcp_pair(int *cl, int *sv, int *ln)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	*ln = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(*ln >= 0);
	assert_int_equal(bind(*ln, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(*ln, 4), 0);
	assert_int_equal(getsockname(*ln, (struct sockaddr *)&a, &len), 0);
	*cl = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(*cl >= 0);
	assert_int_equal(connect(*cl, (struct sockaddr *)&a, sizeof(a)), 0);
	*sv = accept(*ln, NULL, NULL);
	assert_true(*sv >= 0);
}

/* Both sides' objects of one BPF object file. */
struct dobj {
	struct bpf_object *u, *k;
};

static inline void dobj_open_load(struct dobj *o, const char *rel)
{
	const char *path = usm_test_bpf_path(rel);

	o->u = usm_compat_bpf_object__open_file(path, NULL);
	if (!o->u)
		fail_msg("usockmap open %s: %s", path, strerror(errno));
	assert_int_equal(usm_compat_bpf_object__load(o->u), 0);
	o->k = NULL;
	if (ct_kern()) {
		o->k = bpf_object__open_file(path, NULL);
		assert_non_null(o->k);
		assert_int_equal(bpf_object__load(o->k), 0);
	}
}

static inline void dobj_close(struct dobj *o)
{
	usm_compat_bpf_object__close(o->u);
	if (o->k)
		bpf_object__close(o->k);
}

/* The program @name's fds (owned by the objects). */
static inline struct dfd dobj_prog(const struct dobj *o, const char *name)
{
	struct dfd d = { -1, -1 };
	struct bpf_program *p;

	p = usm_compat_bpf_object__find_program_by_name(o->u, name);
	assert_non_null(p);
	d.u = usm_compat_bpf_program__fd(p);
	assert_true(d.u >= 0);
	if (o->k) {
		p = bpf_object__find_program_by_name(o->k, name);
		assert_non_null(p);
		d.k = bpf_program__fd(p);
		assert_true(d.k >= 0);
	}
	return d;
}

#endif /* USM_COMPAT_TEST_H */
