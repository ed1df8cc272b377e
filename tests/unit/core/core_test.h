/* SPDX-License-Identifier: MIT */
/*
 * Support for the bpf(2) core tests: every scenario is written once as a
 * function of a "backend" (usm_bpf() or the kernel's bpf(2) through
 * syscall()) and run on both; each step's result is recorded and the two
 * traces must agree step by step (same return value / errno), besides the
 * expected values each step checks. Without kernel BPF the usockmap half
 * runs and the test then skips with the reason.
 *
 * Also: the program catalogue (tests/bpf/core_progs.bpf.c, instructions
 * taken from the object with libbpf, no kernel needed), socket factories,
 * thin wrappers for each command, and leak checks after every usockmap run
 * (no handle, psock or usm_sock may survive a scenario). Everything is
 * static: each test binary includes this once.
 */
#ifndef USM_CORE_TEST_H
#define USM_CORE_TEST_H

#include "usm_test.h"

#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <usockmap/bpf.h>

#include "../../../src/core/core.h"
#include "../../../src/maps/map.h"
#include "../../../src/sock/psock.h"
#include "../../../src/sock/sock.h"
#include "../../../src/vm/vm.h"

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

/* ---- backends ---- */

struct backend {
	const char *name;
	bool kernel;
	int (*bpf)(int cmd, union bpf_attr *attr, unsigned int size);
	int (*close)(int fd);
};

static int kern_bpf(int cmd, union bpf_attr *attr, unsigned int size)
{
	long r = syscall(__NR_bpf, cmd, attr, size);

	return r < 0 ? -errno : (int)r;
}

static int kern_close(int fd)
{
	return close(fd) < 0 ? -errno : 0;
}

static const struct backend B_USM = { "usockmap", false, usm_bpf, usm_close };
static const struct backend B_KERN = { "kernel", true, kern_bpf, kern_close };

static const char *kern_why __attribute__((unused));

static inline int kern_ok(void)
{
	static int state = -1;

	if (state < 0)
		state = usm_test_have_kernel_bpf(&kern_why);
	return state;
}

/* ---- traces ---- */

#define MAX_STEPS 512

struct step {
	char what[96];
	int v;
};

struct trace {
	struct step s[MAX_STEPS];
	int n;
};

static struct trace traces[2];
static struct trace *cur_trace;
static const struct backend *cur_b;

/* Record one step; fd results (>= 0) are recorded as 0. */
static inline int rec(const char *what, int v)
{
	struct step *s;

	if (cur_trace && cur_trace->n < MAX_STEPS) {
		s = &cur_trace->s[cur_trace->n++];
		snprintf(s->what, sizeof(s->what), "%s", what);
		s->v = v > 0 ? 0 : v;
	}
	return v;
}

static inline int expect_(const char *what, int v, int exp, int line)
{
	rec(what, v);
	if (v != exp)
		fail_msg("line %d [%s] %s: got %d (%s), expected %d", line,
			 cur_b ? cur_b->name : "?", what, v,
			 v < 0 ? strerror(-v) : "ok", exp);
	return v;
}

static inline int expect_fd_(const char *what, int v, int line)
{
	rec(what, v);
	if (v < 0)
		fail_msg("line %d [%s] %s: got %d (%s), expected an fd", line,
			 cur_b ? cur_b->name : "?", what, v, strerror(-v));
	return v;
}

static inline void expect_true_(const char *what, bool ok, int line)
{
	rec(what, ok ? 1 : -1000);
	if (!ok)
		fail_msg("line %d [%s] %s: false", line,
			 cur_b ? cur_b->name : "?", what);
}

#define EXPECT(what, expr, exp) expect_((what), (expr), (exp), __LINE__)
#define EXPECT_FD(what, expr) expect_fd_((what), (expr), __LINE__)
#define EXPECT_TRUE(what, cond) expect_true_((what), (cond), __LINE__)

/* After a usockmap run nothing may be left behind (counted from before
 * the run, so that one failed test does not fail the next ones). */
static uint32_t leak_base[3];

static inline void usm_leak_base(void)
{
	usm__fd_gc();
	leak_base[0] = usm__fd_count();
	leak_base[1] = usm__psock_count();
	leak_base[2] = usm__sock_count();
}

static inline void usm_leak_check(void)
{
	usm__fd_gc();
	if (usm__fd_count() != leak_base[0] ||
	    usm__psock_count() != leak_base[1] ||
	    usm__sock_count() != leak_base[2])
		fail_msg("usockmap left %d handles, %d psocks, %d sockets",
			 (int)(usm__fd_count() - leak_base[0]),
			 (int)(usm__psock_count() - leak_base[1]),
			 (int)(usm__sock_count() - leak_base[2]));
}

typedef void (*scenario_fn)(const struct backend *b, const void *arg);

/* Run @fn on usockmap, then on the kernel, and compare the traces. */
static inline void run_both(scenario_fn fn, const void *arg)
{
	int i;

	traces[0].n = traces[1].n = 0;
	cur_trace = &traces[0];
	cur_b = &B_USM;
	usm_leak_base();
	fn(&B_USM, arg);
	usm_leak_check();
	if (!kern_ok()) {
		cur_trace = NULL;
		USM_SKIP("kernel comparison not run: %s", kern_why);
		return;
	}
	cur_trace = &traces[1];
	cur_b = &B_KERN;
	fn(&B_KERN, arg);
	cur_trace = NULL;
	for (i = 0; i < traces[0].n && i < traces[1].n; i++) {
		const struct step *u = &traces[0].s[i], *k = &traces[1].s[i];

		if (strcmp(u->what, k->what) || u->v != k->v)
			fail_msg("step %d differs: usockmap '%s' = %d, kernel "
				 "'%s' = %d", i, u->what, u->v, k->what, k->v);
	}
	if (traces[0].n != traces[1].n || traces[0].n == 0)
		fail_msg("usockmap made %d steps, kernel %d", traces[0].n,
			 traces[1].n);
}

/* ---- programs ---- */

enum core_prog {
	P_PARSER,
	P_PARSER2,
	P_VERDICT,
	P_VERDICT2,
	P_SKB_VERDICT,
	P_MSG,
	P_MSG2,
	P_SOCKOPS,
	P_NPROGS
};

static const char *const core_prog_names[P_NPROGS] = {
	"core_parser", "core_parser2", "core_verdict", "core_verdict2",
	"core_skb_verdict", "core_msg", "core_msg2", "core_sockops",
};

/* Program and expected attach type of each (libbpf 1.1 does not know the
 * "sk_skb/verdict" section, so they are not taken from libbpf). */
static const uint32_t core_prog_types[P_NPROGS][2] = {
	{ BPF_PROG_TYPE_SK_SKB, BPF_SK_SKB_STREAM_PARSER },
	{ BPF_PROG_TYPE_SK_SKB, BPF_SK_SKB_STREAM_PARSER },
	{ BPF_PROG_TYPE_SK_SKB, BPF_SK_SKB_STREAM_VERDICT },
	{ BPF_PROG_TYPE_SK_SKB, BPF_SK_SKB_STREAM_VERDICT },
	{ BPF_PROG_TYPE_SK_SKB, BPF_SK_SKB_VERDICT },
	{ BPF_PROG_TYPE_SK_MSG, BPF_SK_MSG_VERDICT },
	{ BPF_PROG_TYPE_SK_MSG, BPF_SK_MSG_VERDICT },
	{ BPF_PROG_TYPE_SOCK_OPS, BPF_CGROUP_SOCK_OPS },
};

struct prog_src {
	struct bpf_insn *insns;
	uint32_t cnt, type, eat;
};

static struct prog_src prog_srcs[P_NPROGS];

static inline void progs_init(void)
{
	struct bpf_object *obj;
	int i;

	if (prog_srcs[0].insns)
		return;
	obj = bpf_object__open_file(usm_test_bpf_path("tests/bpf/core_progs"),
				    NULL);
	if (!obj)
		fail_msg("open core_progs: %s", strerror(errno));
	for (i = 0; i < P_NPROGS; i++) {
		struct bpf_program *p =
			bpf_object__find_program_by_name(obj, core_prog_names[i]);
		size_t n;

		if (!p)
			fail_msg("no program %s", core_prog_names[i]);
		n = bpf_program__insn_cnt(p);
		prog_srcs[i].insns = malloc(n * sizeof(struct bpf_insn));
		memcpy(prog_srcs[i].insns, bpf_program__insns(p),
		       n * sizeof(struct bpf_insn));
		prog_srcs[i].cnt = (uint32_t)n;
		prog_srcs[i].type = core_prog_types[i][0];
		prog_srcs[i].eat = core_prog_types[i][1];
	}
	bpf_object__close(obj);
}

static inline void progs_fini(void)
{
	int i;

	for (i = 0; i < P_NPROGS; i++) {
		free(prog_srcs[i].insns);
		prog_srcs[i].insns = NULL;
	}
}

static inline int b_load_insns(const struct backend *b, uint32_t type,
			       uint32_t eat, const struct bpf_insn *insns,
			       uint32_t cnt)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.prog_type = type;
	a.expected_attach_type = eat;
	a.insns = (uint64_t)(uintptr_t)insns;
	a.insn_cnt = cnt;
	a.license = (uint64_t)(uintptr_t)"GPL";
	return b->bpf(BPF_PROG_LOAD, &a, sizeof(a));
}

static inline int b_prog(const struct backend *b, enum core_prog p)
{
	const struct prog_src *s = &prog_srcs[p];

	return b_load_insns(b, s->type, s->eat, s->insns, s->cnt);
}

/* ---- command wrappers ---- */

static inline int b_map(const struct backend *b, uint32_t type, uint32_t ks,
			uint32_t vs, uint32_t max)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_type = type;
	a.key_size = ks;
	a.value_size = vs;
	a.max_entries = max;
	return b->bpf(BPF_MAP_CREATE, &a, sizeof(a));
}

/* A socket map with 4-byte keys and 8-byte values. */
static inline int b_smap(const struct backend *b, uint32_t type)
{
	return b_map(b, type, 4, 8, 8);
}

static inline int b_elem(const struct backend *b, int cmd, int mfd,
			 const void *key, void *val, uint64_t flags)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)mfd;
	a.key = (uint64_t)(uintptr_t)key;
	a.value = (uint64_t)(uintptr_t)val;
	a.flags = flags;
	return b->bpf(cmd, &a, sizeof(a));
}

static inline int b_upd(const struct backend *b, int mfd, uint32_t key,
			int sfd, uint64_t flags)
{
	uint64_t v = (uint64_t)sfd;

	return b_elem(b, BPF_MAP_UPDATE_ELEM, mfd, &key, &v, flags);
}

static inline int b_del(const struct backend *b, int mfd, uint32_t key)
{
	return b_elem(b, BPF_MAP_DELETE_ELEM, mfd, &key, NULL, 0);
}

static inline int b_lkp(const struct backend *b, int mfd, uint32_t key,
			uint64_t *cookie)
{
	uint64_t c = 0;

	return b_elem(b, BPF_MAP_LOOKUP_ELEM, mfd, &key, cookie ? cookie : &c,
		      0);
}

static inline int b_attach_full(const struct backend *b, int pfd, int mfd,
				uint32_t type, uint32_t flags, uint32_t repl)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.target_fd = (uint32_t)mfd;
	a.attach_bpf_fd = (uint32_t)pfd;
	a.attach_type = type;
	a.attach_flags = flags;
	a.replace_bpf_fd = repl;
	return b->bpf(BPF_PROG_ATTACH, &a, sizeof(a));
}

static inline int b_attach(const struct backend *b, int pfd, int mfd,
			   uint32_t type)
{
	return b_attach_full(b, pfd, mfd, type, 0, 0);
}

static inline int b_detach_full(const struct backend *b, int pfd, int mfd,
				uint32_t type, uint32_t flags, uint32_t repl)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.target_fd = (uint32_t)mfd;
	a.attach_bpf_fd = (uint32_t)pfd;
	a.attach_type = type;
	a.attach_flags = flags;
	a.replace_bpf_fd = repl;
	return b->bpf(BPF_PROG_DETACH, &a, sizeof(a));
}

static inline int b_detach(const struct backend *b, int pfd, int mfd,
			   uint32_t type)
{
	return b_detach_full(b, pfd, mfd, type, 0, 0);
}

/* PROG_QUERY; cnt, id and aflags get what came back (id 0 if unset). */
static inline int b_query_full(const struct backend *b, int mfd, uint32_t type,
			       uint32_t qflags, uint32_t want_cnt, bool ids,
			       uint32_t *cnt, uint32_t *id, uint32_t *aflags)
{
	union bpf_attr a;
	uint32_t idbuf[2] = { 0, 0 };
	int err;

	memset(&a, 0, sizeof(a));
	a.query.target_fd = (uint32_t)mfd;
	a.query.attach_type = type;
	a.query.query_flags = qflags;
	a.query.attach_flags = 0xdeadu;
	a.query.prog_ids = ids ? (uint64_t)(uintptr_t)idbuf : 0;
	a.query.prog_cnt = want_cnt;
	err = b->bpf(BPF_PROG_QUERY, &a, sizeof(a));
	if (cnt)
		*cnt = a.query.prog_cnt;
	if (id)
		*id = idbuf[0];
	if (aflags)
		*aflags = a.query.attach_flags;
	return err;
}

static inline int b_query(const struct backend *b, int mfd, uint32_t type,
			  uint32_t *cnt, uint32_t *id)
{
	return b_query_full(b, mfd, type, 0, 1, true, cnt, id, NULL);
}

static inline int b_link(const struct backend *b, int pfd, int mfd,
			 uint32_t type, uint32_t flags)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.link_create.prog_fd = (uint32_t)pfd;
	a.link_create.target_fd = (uint32_t)mfd;
	a.link_create.attach_type = type;
	a.link_create.flags = flags;
	return b->bpf(BPF_LINK_CREATE, &a, sizeof(a));
}

static inline int b_link_update(const struct backend *b, int lfd, int newfd,
				int oldfd, uint32_t flags)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.link_update.link_fd = (uint32_t)lfd;
	a.link_update.new_prog_fd = (uint32_t)newfd;
	a.link_update.old_prog_fd = (uint32_t)oldfd;
	a.link_update.flags = flags;
	return b->bpf(BPF_LINK_UPDATE, &a, sizeof(a));
}

static inline int b_link_detach(const struct backend *b, int lfd)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.link_detach.link_fd = (uint32_t)lfd;
	return b->bpf(BPF_LINK_DETACH, &a, sizeof(a));
}

static inline int b_info(const struct backend *b, int fd, void *info,
			 uint32_t *len)
{
	union bpf_attr a;
	int err;

	memset(&a, 0, sizeof(a));
	a.info.bpf_fd = (uint32_t)fd;
	a.info.info_len = *len;
	a.info.info = (uint64_t)(uintptr_t)info;
	err = b->bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a));
	*len = a.info.info_len;
	return err;
}

/* Id of a program or map (info), 0 on error. */
static inline uint32_t b_id(const struct backend *b, int fd)
{
	struct bpf_prog_info pi;
	uint32_t len = sizeof(pi);

	memset(&pi, 0, sizeof(pi));
	if (b_info(b, fd, &pi, &len))
		return 0;
	return pi.id; /* id is the second u32 in map and prog info alike */
}

/* The sockmap part of a link's info (6.12 layout, offset 16). */
struct link_info_612 {
	uint32_t type, id, prog_id, pad;
	uint32_t map_id, attach_type;
	uint8_t rest[40];
};

static inline int b_link_info(const struct backend *b, int lfd,
			      struct link_info_612 *li)
{
	uint32_t len = sizeof(*li);

	memset(li, 0, sizeof(*li));
	return b_info(b, lfd, li, &len);
}

static inline void b_close(const struct backend *b, int fd)
{
	if (fd >= 0)
		b->close(fd);
}

/* ---- sockets ---- */

enum skind { S_TCP, S_UDP, S_UNIX_STREAM, S_UNIX_DGRAM, S_NKINDS };

static const char *const skind_names[S_NKINDS] = { "tcp", "udp",
						   "unix-stream", "unix-dgram" };

/* A socket under test and what keeps it company (peer, listener). */
struct tsk {
	int fd, peer, ln;
};

static inline int tcp_listen4(struct sockaddr_in *sa)
{
	socklen_t len = sizeof(*sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)sa, sizeof(*sa)) ||
	    listen(fd, 8) || getsockname(fd, (struct sockaddr *)sa, &len))
		fail_msg("tcp listener: %s", strerror(errno));
	return fd;
}

static inline void tsk_make(enum skind k, struct tsk *t)
{
	struct sockaddr_in sa;
	int sv[2];

	t->fd = t->peer = t->ln = -1;
	switch (k) {
	case S_TCP:
		t->ln = tcp_listen4(&sa);
		t->fd = socket(AF_INET, SOCK_STREAM, 0);
		if (t->fd < 0 ||
		    connect(t->fd, (struct sockaddr *)&sa, sizeof(sa)))
			fail_msg("connect: %s", strerror(errno));
		t->peer = accept(t->ln, NULL, NULL);
		break;
	case S_UDP:
		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		t->fd = socket(AF_INET, SOCK_DGRAM, 0);
		if (t->fd < 0 || bind(t->fd, (struct sockaddr *)&sa, sizeof(sa)))
			fail_msg("udp: %s", strerror(errno));
		break;
	case S_UNIX_STREAM:
	case S_UNIX_DGRAM:
		if (socketpair(AF_UNIX,
			       k == S_UNIX_STREAM ? SOCK_STREAM : SOCK_DGRAM, 0,
			       sv))
			fail_msg("socketpair: %s", strerror(errno));
		t->fd = sv[0];
		t->peer = sv[1];
		break;
	default:
		fail_msg("bad socket kind");
	}
}

/* Close the socket through the backend (LIFE-01) and its company. */
static inline void tsk_free(const struct backend *b, struct tsk *t)
{
	b_close(b, t->fd);
	if (t->peer >= 0)
		close(t->peer);
	if (t->ln >= 0)
		close(t->ln);
	t->fd = t->peer = t->ln = -1;
}

static inline uint64_t so_cookie(int fd)
{
	uint64_t c = 0;
	socklen_t len = sizeof(c);

	if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, &c, &len))
		fail_msg("SO_COOKIE: %s", strerror(errno));
	return c;
}

/* ---- instructions (hand-assembled programs) ---- */

#define I_MOV64_IMM(dst, v)                                                    \
	((struct bpf_insn){ .code = BPF_ALU64 | BPF_MOV | BPF_K,               \
			    .dst_reg = (dst), .imm = (v) })
#define I_EXIT() ((struct bpf_insn){ .code = BPF_JMP | BPF_EXIT })
#define I_LD_IMM64(dst, src, lo, hi)                                           \
	((struct bpf_insn){ .code = BPF_LD | BPF_DW | BPF_IMM,                 \
			    .dst_reg = (dst), .src_reg = (src), .imm = (lo) }), \
		((struct bpf_insn){ .imm = (hi) })

/* Wait (for the kernel's deferred map free) until @fn(@arg) != EBUSY. */
static inline int retry_busy(int (*fn)(const struct backend *, const void *),
			     const struct backend *b, const void *arg)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int i, r = -EBUSY;

	for (i = 0; i < 200 && r == -EBUSY; i++) {
		r = fn(b, arg);
		if (r == -EBUSY)
			nanosleep(&ts, NULL);
	}
	return r;
}

#endif /* USM_CORE_TEST_H */
