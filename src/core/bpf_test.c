/* SPDX-License-Identifier: MIT */
/*
 * BPF_PROG_TEST_RUN: the kernel's attribute contract (data_in/out,
 * ctx_in/out, repeat, retval, duration; -ENOSPC when an output buffer is
 * too small, net/bpf/test_run.c bpf_test_finish/bpf_ctx_finish) on top of
 * the test-run core (testrun*.c), which builds the contexts of the program
 * types usockmap runs. The kernel has no test run for sk_skb, sk_msg,
 * sk_reuseport and sock_ops programs (it answers -ENOTSUPP); this is the
 * deliberate difference that makes them testable.
 *
 * The program runs as its expected attach type; the contexts are those of
 * usm_prog_run() without sockets in maps (an sk_msg/sock_ops program gets
 * a socket of its own). duration is the mean ns per run.
 */
#include "core.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <usockmap/run.h>

#include "../vm/vm.h"
#include "testrun.h"

/* Run @repeat times on a fresh context each; the first run's outcome is
 * collected into @res. */
static int run_loop(const struct usm_prog *p, struct usm_tr_ctx *c,
		    uint32_t repeat, struct usm_prog_run_result *res)
{
	uint64_t t0, total = 0;
	struct usm_run run;
	uint32_t i;
	int err;

	for (i = 0; i < repeat; i++) {
		err = usm__tr_ctx_reset(c);
		if (err)
			return err;
		memset(&run, 0, sizeof(run));
		t0 = usm__tr_now_ns();
		res->retval = (uint32_t)usm__prog_run(p, usm__tr_ctx_ptr(c),
						      &run);
		total += usm__tr_now_ns() - t0;
		if (i == 0) {
			res->run_error = run.error;
			err = usm__tr_ctx_collect(c, res);
			if (err)
				return err;
		}
	}
	res->runs = repeat;
	res->ns_per_run = total / repeat;
	return 0;
}

static int run_prog(const struct usm_prog *p, const struct usm_prog_run_opts *o,
		    uint32_t repeat, struct usm_prog_run_result *res)
{
	struct usm_tr_socks socks;
	struct usm_tr_ctx c;
	struct usm_sock *sk;
	int err;

	err = usm__tr_socks_setup(&socks, o, p->type, &sk, NULL);
	if (err)
		return err;
	err = usm__tr_ctx_init(&c, p->type, o, sk, NULL);
	if (!err)
		err = run_loop(p, &c, repeat, res);
	usm__tr_ctx_fini(&c);
	usm__tr_socks_fini(&socks);
	return err;
}

/* bpf_test_finish / bpf_ctx_finish: copy out what fits. */
static int copy_out(struct usm_attr *a, const struct usm_prog_run_result *res)
{
	const union bpf_attr *u = &a->a;
	void *dout = usm__u64_ptr(u->test.data_out);
	void *cout = usm__u64_ptr(u->test.ctx_out);
	uint32_t n = res->data_size_out, dur;
	int err = 0;

	if (dout && u->test.data_size_out && n > u->test.data_size_out) {
		n = u->test.data_size_out;
		err = -ENOSPC;
	}
	if (dout && res->data_out)
		memcpy(dout, res->data_out, n);
	USM_ATTR_OUT(a, test.data_size_out, res->data_size_out);
	USM_ATTR_OUT(a, test.retval, res->retval);
	dur = res->ns_per_run > UINT32_MAX ? UINT32_MAX
					   : (uint32_t)res->ns_per_run;
	USM_ATTR_OUT(a, test.duration, dur);
	if (cout && res->ctx_out) {
		n = res->ctx_size_out;
		if (n > u->test.ctx_size_out) {
			n = u->test.ctx_size_out;
			err = -ENOSPC;
		}
		memcpy(cout, res->ctx_out, n);
		USM_ATTR_OUT(a, test.ctx_size_out, res->ctx_size_out);
	}
	return err;
}

static int test_checks(const struct usm_attr *a)
{
	const union bpf_attr *u = &a->a;

	if (usm__attr_tail_set(a, USM_ATTR_END_TEST_RUN))
		return -EINVAL;
	if (!u->test.ctx_size_in != !u->test.ctx_in ||
	    !u->test.ctx_size_out != !u->test.ctx_out)
		return -EINVAL;
	return 0;
}

int usm__bpf_prog_test_run(struct usm_attr *a)
{
	const union bpf_attr *u = &a->a;
	struct usm_prog_run_opts o = USM_PROG_RUN_OPTS_INIT;
	struct usm_prog_run_result res;
	struct usm_prog *p;
	uint32_t cnt, csize;
	int err;

	err = test_checks(a);
	if (err)
		return err;
	err = usm__fd_get_prog((int)u->test.prog_fd, &p);
	if (err)
		return err;
	memset(&res, 0, sizeof(res));
	if (!usm__trf_table(p->type, &cnt, &csize))
		err = -USM_ENOTSUPP;
	else if (u->test.flags || u->test.cpu || u->test.batch_size)
		err = -EINVAL;
	else if (u->test.data_size_in && !u->test.data_in)
		err = -EFAULT;
	if (!err) {
		o.data_in = usm__u64_ptr(u->test.data_in);
		o.data_size_in = u->test.data_size_in;
		o.ctx_in = usm__u64_ptr(u->test.ctx_in);
		o.ctx_size_in = u->test.ctx_size_in;
		err = run_prog(p, &o, u->test.repeat ? u->test.repeat : 1, &res);
	}
	if (!err)
		err = copy_out(a, &res);
	usm_prog_run_result_fini(&res);
	usm__prog_put(p);
	return err;
}
