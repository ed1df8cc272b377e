/* SPDX-License-Identifier: MIT */
/*
 * Shared fixture of the usm_prog_run() e2e tests (test_run_skb.c,
 * test_run_msg.c): the test objects (tests/bpf/run_*.bpf.c) opened in
 * usockmap and, with kernel BPF, in the kernel; a run builder; and the
 * kernel-comparison expectations. Header-only: each test_*.c is its own
 * binary.
 */
#ifndef USM_TEST_E2E_RUN_FIX_H
#define USM_TEST_E2E_RUN_FIX_H

#include "usm_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <usockmap/object.h>
#include <usockmap/run.h>

#include "kern.h"

struct fix {
	struct usm_object *skb, *msg, *rp, *ops;
	struct bpf_object *kskb, *kmsg; /* kernel copies, NULL without */
	const char *why;                /* why there is no kernel */
};

static struct fix F; /* one per test binary */

static inline struct usm_object *open_obj(const char *rel)
{
	struct usm_object *obj = NULL;

	if (usm_object_open(usm_test_bpf_path(rel), NULL, &obj))
		return NULL;
	if (usm_object_load(obj)) {
		usm_object_close(obj);
		return NULL;
	}
	return obj;
}

static inline int group_setup(void **state)
{
	(void)state;
	F.skb = open_obj("tests/bpf/run_skb");
	F.msg = open_obj("tests/bpf/run_msg");
	F.rp = open_obj("tests/bpf/run_reuseport");
	F.ops = open_obj("tests/bpf/run_sockops");
	if (usm_test_have_kernel_bpf(&F.why)) {
		F.kskb = kern_load(usm_test_bpf_path("tests/bpf/run_skb"));
		F.kmsg = kern_load(usm_test_bpf_path("tests/bpf/run_msg"));
		if (!F.kskb || !F.kmsg)
			F.why = "the kernel refused the test objects";
	}
	return F.skb && F.msg && F.rp && F.ops ? 0 : -1;
}

static inline int group_teardown(void **state)
{
	(void)state;
	usm_object_close(F.skb);
	usm_object_close(F.msg);
	usm_object_close(F.rp);
	usm_object_close(F.ops);
	bpf_object__close(F.kskb);
	bpf_object__close(F.kmsg);
	return 0;
}

/* bpf_printk lines of a run. */
struct lines {
	char l[16][256];
	int n;
};

static inline void on_line(void *arg, const char *line)
{
	struct lines *t = arg;

	if (t->n < 16)
		snprintf(t->l[t->n++], sizeof(t->l[0]), "%s", line);
}

/* A run of @name in @obj on @data with the sockets @keys of map @map
 * (count @nk, 4-byte keys), the receiving/sending socket being socket
 * @self (1-based, 0 none). */
struct run {
	struct usm_prog_run_opts o;
	struct usm_prog_run_result res;
	struct usm_prog_run_sock socks[4];
	uint32_t keys[4];
	struct lines trace;
	char log[1024];
};

static inline void run_init(struct run *r, const void *data,
			    uint32_t len)
{
	memset(r, 0, sizeof(*r));
	r->o.sz = sizeof(r->o);
	r->o.data_in = data;
	r->o.data_size_in = len;
	r->o.trace = on_line;
	r->o.trace_arg = &r->trace;
	r->o.log_buf = r->log;
	r->o.log_size = sizeof(r->log);
}

static inline void run_sock(struct run *r, struct usm_object *obj,
			    const char *map, uint32_t key)
{
	uint32_t i = r->o.sock_cnt;

	r->keys[i] = key;
	r->socks[i].map = usm_object_find_map(obj, map);
	assert_non_null(r->socks[i].map);
	r->socks[i].key = &r->keys[i];
	r->socks[i].key_size = 4;
	r->o.socks = r->socks;
	r->o.sock_cnt = i + 1;
}

static inline int run_go(struct run *r, struct usm_object *obj,
			 const char *name)
{
	struct usm_program *p = usm_object_find_program(obj, name);

	assert_non_null(p);
	return usm_prog_run(p, &r->o, &r->res);
}

static inline void run_fini(struct run *r)
{
	usm_prog_run_result_fini(&r->res);
}

static inline void assert_data(const struct run *r, const void *want,
			       uint32_t len)
{
	assert_int_equal(r->res.data_size_out, len);
	assert_memory_equal(r->res.data_out, want, len);
}

/* The kernel verdict for @name on @data must be @where with bytes
 * @want/@wlen (when @want is given). */
static inline void kern_skb_expect(const char *name, const char *data,
			    uint32_t recv_key, int target_key,
			    enum kern_where where, const void *want,
			    size_t wlen)
{
	struct kern_result kr;

	if (!F.kskb) {
		printf("# kernel comparison skipped: %s\n", F.why);
		return;
	}
	assert_int_equal(kern_skb_run(F.kskb, name, data, strlen(data),
				      recv_key, target_key, &kr),
			 0);
	assert_int_equal(kr.where, where);
	if (want) {
		assert_int_equal(kr.len, wlen);
		assert_memory_equal(kr.buf, want, wlen);
	}
}

static inline void kern_msg_expect(const char *name, const char *data,
			    int target_key, enum kern_where where,
			    const void *want, size_t wlen, int send_errno)
{
	struct kern_result kr;

	if (!F.kmsg) {
		printf("# kernel comparison skipped: %s\n", F.why);
		return;
	}
	assert_int_equal(kern_msg_run(F.kmsg, name, data, strlen(data),
				      target_key, &kr),
			 0);
	assert_int_equal(kr.where, where);
	assert_int_equal(kr.send_errno, send_errno);
	if (want) {
		assert_int_equal(kr.len, wlen);
		assert_memory_equal(kr.buf, want, wlen);
	}
}

#endif /* USM_TEST_E2E_RUN_FIX_H */
