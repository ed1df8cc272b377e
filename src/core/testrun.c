/* SPDX-License-Identifier: MIT */
/*
 * usm_prog_run(): run a loaded program on chosen input and say what the
 * kernel's data path would do with the result (include/usockmap/run.h).
 *
 * A call: check the options (libbpf-style sized opts), create the sockets
 * the run needs (testrun_sock.c), build the context (testrun_ctx.c), run
 * once with tracing and collect the outcome, then, for repeat > 1, time
 * repeat runs. Every timed run starts from a freshly reset context; the
 * cost of the resets is measured in a separate loop and subtracted, so
 * ns_per_run is the program's own time (plus the interpreter entry), as the
 * kernel's bpf_stats count it.
 *
 * Verdict mapping (SEMANTICS SKB-11..14, MSG-04, RPP-04) is done here and
 * only here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/bpf.h>

#include <usockmap/object.h>

#include "../loader/loader.h"
#include "../sock/sock.h"
#include "../vm/vm.h"
#include "testrun.h"

const char *usm_verdict_str(int verdict)
{
	switch (verdict) {
	case USM_VERDICT_PASS:
		return "pass";
	case USM_VERDICT_DROP:
		return "drop";
	case USM_VERDICT_REDIRECT:
		return "redirect";
	case USM_VERDICT_SELECT:
		return "select";
	default:
		return NULL;
	}
}

void usm_prog_run_result_fini(struct usm_prog_run_result *res)
{
	if (!res)
		return;
	free(res->data_out);
	free(res->ctx_out);
	memset(res, 0, sizeof(*res));
}

/* libbpf's OPTS_VALID: sz must be set; bytes past what we know must be
 * zero (a newer caller asking for something we do not have). */
static int copy_opts(struct usm_prog_run_opts *o,
		     const struct usm_prog_run_opts *in)
{
	const uint8_t *p = (const void *)in;
	size_t i;

	memset(o, 0, sizeof(*o));
	if (!in)
		return 0;
	if (in->sz < sizeof(in->sz))
		return -EINVAL;
	for (i = sizeof(*o); i < in->sz; i++)
		if (p[i])
			return -EINVAL;
	memcpy(o, in, in->sz < sizeof(*o) ? in->sz : sizeof(*o));
	o->sz = sizeof(*o);
	return 0;
}

static int check_opts(const struct usm_prog_run_opts *o, uint32_t type,
		      struct usm_log *log)
{
	if ((o->data_size_in && !o->data_in) ||
	    (o->ctx_size_in && !o->ctx_in) || (o->sock_cnt && !o->socks)) {
		usm__log(log, "opts: a size without its buffer\n");
		return -EINVAL;
	}
	if (o->data_size_in > USM_RUN_MAX_DATA) {
		usm__log(log, "data_in: %u bytes, at most %u\n",
			 o->data_size_in, USM_RUN_MAX_DATA);
		return -EINVAL;
	}
	if (o->repeat > USM_RUN_MAX_REPEAT) {
		usm__log(log, "repeat: at most %u\n", USM_RUN_MAX_REPEAT);
		return -EINVAL;
	}
	/* The kernel never runs these on an empty buffer or message. */
	if (!o->data_size_in && (type == BPF_PROG_TYPE_SK_SKB ||
				 type == BPF_PROG_TYPE_SK_MSG)) {
		usm__log(log, "data_in: %s programs need at least one byte\n",
			 usm__trf_type_name(type));
		return -EINVAL;
	}
	return 0;
}

uint32_t usm__tr_ctx_in_u32(const struct usm_prog_run_opts *o,
			    uint32_t type, const char *name)
{
	const struct usm_trf *f = usm__trf_find(type, name);
	uint32_t v = 0;

	if (f && f->off + 4u <= o->ctx_size_in)
		memcpy(&v, (const uint8_t *)o->ctx_in + f->off, 4);
	return v;
}

uint64_t usm__tr_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool is_parser(uint32_t type, uint32_t attach)
{
	return type == BPF_PROG_TYPE_SK_SKB &&
	       attach == BPF_SK_SKB_STREAM_PARSER;
}

/* What the data path does with @res->retval and the recorded decision. */
static void map_verdict(struct usm_prog_run_result *res,
			const struct usm_tr_ctx *c)
{
	bool pass = res->retval == SK_PASS;

	switch (res->prog_type) {
	case BPF_PROG_TYPE_SK_SKB:
		if (is_parser(res->prog_type, res->attach_type)) {
			res->verdict = USM_VERDICT_NONE; /* SKB-01..03 */
		} else if (!pass) {
			res->verdict = USM_VERDICT_DROP; /* SKB-12/13 */
		} else if (!res->redirected) {
			res->verdict = USM_VERDICT_PASS; /* SKB-11 */
		} else if ((res->redirect_flags & BPF_F_INGRESS) && c->sk &&
			   c->u.skb.redir.sk == c->sk) {
			res->verdict = USM_VERDICT_PASS; /* SKB-14 */
		} else {
			res->verdict = USM_VERDICT_REDIRECT; /* SKB-13 */
		}
		break;
	case BPF_PROG_TYPE_SK_MSG: /* MSG-04 */
		res->verdict = !pass ? USM_VERDICT_DROP
			       : res->redirected ? USM_VERDICT_REDIRECT
						 : USM_VERDICT_PASS;
		break;
	case BPF_PROG_TYPE_SK_REUSEPORT: /* RPP-04 */
		res->verdict = !pass ? USM_VERDICT_DROP
			       : res->selected ? USM_VERDICT_SELECT
					       : USM_VERDICT_PASS;
		break;
	default:
		res->verdict = USM_VERDICT_NONE;
		break;
	}
	/* A recorded redirect/selection the verdict did not act on is not
	 * reported (SKB-13 drop, SKB-14 self). */
	if (res->verdict != USM_VERDICT_REDIRECT)
		res->redirected = false;
	if (res->verdict != USM_VERDICT_SELECT)
		res->selected = false;
}

static void run_init(struct usm_run *run, const struct usm_prog *p,
		     const struct usm_prog_run_opts *o, void *ctx)
{
	memset(run, 0, sizeof(*run));
	run->prog = p;
	run->ctx = ctx;
	run->insn_budget = o->insn_budget;
}

/* The first run: traced, and the one whose outcome is reported. */
static int first_run(const struct usm_prog *p,
		     const struct usm_prog_run_opts *o, struct usm_tr_ctx *c,
		     struct usm_prog_run_result *res)
{
	struct usm_run run;
	uint64_t t0, r0;
	int err;

	err = usm__tr_ctx_reset(c);
	if (err)
		return err;
	run_init(&run, p, o, usm__tr_ctx_ptr(c));
	run.trace = o->trace;
	run.trace_arg = o->trace_arg;
	t0 = usm__tr_now_ns();
	r0 = usm__prog_run(p, usm__tr_ctx_ptr(c), &run);
	res->run_time_ns = usm__tr_now_ns() - t0;
	res->ns_per_run = res->run_time_ns;
	res->retval = (uint32_t)r0;
	res->run_error = run.error;
	res->insns_executed = run.insns_executed;
	res->runs = 1;
	err = usm__tr_ctx_collect(c, res);
	if (err)
		return err;
	map_verdict(res, c);
	return 0;
}

/* Mean ns of @n runs, each on a reset context, minus the resets' cost. */
static int timed_runs(const struct usm_prog *p,
		      const struct usm_prog_run_opts *o, struct usm_tr_ctx *c,
		      uint32_t n, struct usm_prog_run_result *res)
{
	struct usm_run run;
	uint64_t t0, t_runs, t_resets;
	uint32_t i;
	int err;

	t0 = usm__tr_now_ns();
	for (i = 0; i < n; i++) {
		err = usm__tr_ctx_reset(c);
		if (err)
			return err;
		run_init(&run, p, o, usm__tr_ctx_ptr(c));
		usm__prog_run(p, usm__tr_ctx_ptr(c), &run);
	}
	t_runs = usm__tr_now_ns() - t0;
	t0 = usm__tr_now_ns();
	for (i = 0; i < n; i++) {
		err = usm__tr_ctx_reset(c);
		if (err)
			return err;
		run_init(&run, p, o, usm__tr_ctx_ptr(c));
	}
	t_resets = usm__tr_now_ns() - t0;
	res->run_time_ns = t_runs > t_resets ? t_runs - t_resets : 0;
	res->ns_per_run = res->run_time_ns / n;
	res->runs = n;
	return 0;
}

static int resolve_prog(struct usm_program *prog,
			const struct usm_prog_run_opts *o, struct usm_prog **p,
			uint32_t *attach, struct usm_log *log)
{
	*p = prog ? usm__program_prog(prog) : NULL;
	if (!*p || !(*p)->verified) {
		usm__log(log, "program %s is not loaded and verified\n",
			 prog ? usm_program_name(prog) : "(null)");
		return -EACCES;
	}
	if (!usm__trf_table((*p)->type, &(uint32_t){ 0 }, &(uint32_t){ 0 })) {
		usm__log(log, "program %s: type %u has no test run\n",
			 usm_program_name(prog), (*p)->type);
		return -EOPNOTSUPP;
	}
	*attach = o->attach_type ? o->attach_type
				 : (*p)->expected_attach_type;
	return 0;
}

int usm_prog_run(struct usm_program *prog,
		 const struct usm_prog_run_opts *opts,
		 struct usm_prog_run_result *res)
{
	struct usm_prog_run_opts o;
	struct usm_tr_socks socks;
	struct usm_tr_ctx c;
	struct usm_sock *sk;
	struct usm_prog *p;
	struct usm_log log;
	uint32_t attach;
	int err;

	if (!res)
		return -EINVAL;
	memset(res, 0, sizeof(*res));
	err = copy_opts(&o, opts);
	if (err)
		return err;
	usm__log_init(&log, o.log_buf, o.log_size, 0);
	err = resolve_prog(prog, &o, &p, &attach, &log);
	if (!err)
		err = check_opts(&o, p->type, &log);
	if (err)
		return err;
	res->prog_type = p->type;
	res->attach_type = attach;
	err = usm__tr_socks_setup(&socks, &o, p->type, &sk, &log);
	if (err)
		return err;
	err = usm__tr_ctx_init(&c, p->type, &o, sk, &log);
	if (!err)
		err = first_run(p, &o, &c, res);
	if (!err && o.repeat > 1)
		err = timed_runs(p, &o, &c, o.repeat, res);
	usm__tr_ctx_fini(&c);
	usm__tr_socks_fini(&socks);
	return err;
}
