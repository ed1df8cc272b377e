/* SPDX-License-Identifier: MIT */
/*
 * usockmap-side properties of the bpf(2) core the kernel comparison cannot
 * show: BPF_PROG_TEST_RUN for the socket program types (the kernel answers
 * -ENOTSUPP, checked too), the log buffer's rotating and fixed modes byte
 * for byte, handle lifetime (plain close, dup, fork, usm_close, objects
 * kept alive by references), and concurrent use from several threads.
 */
#include "core_test.h"

#include <pthread.h>
#include <sys/wait.h>

/* PROG_TEST_RUN attributes; returns the command's result. */
struct trun {
	const void *in;
	uint32_t in_size;
	void *out;
	uint32_t out_size; /* in: buffer size; out: data size */
	uint32_t retval, duration, repeat, flags;
};

static int b_test_run(const struct backend *b, int pfd, struct trun *t)
{
	union bpf_attr a;
	int err;

	memset(&a, 0, sizeof(a));
	a.test.prog_fd = (uint32_t)pfd;
	a.test.data_in = (uint64_t)(uintptr_t)t->in;
	a.test.data_size_in = t->in_size;
	a.test.data_out = (uint64_t)(uintptr_t)t->out;
	a.test.data_size_out = t->out_size;
	a.test.repeat = t->repeat;
	a.test.flags = t->flags;
	err = b->bpf(BPF_PROG_TEST_RUN, &a, sizeof(a));
	t->out_size = a.test.data_size_out;
	t->retval = a.test.retval;
	t->duration = a.test.duration;
	return err;
}

static void t_test_run(void **state)
{
	const struct backend *b = &B_USM;
	char out[16];
	struct trun t = { .in = "hello", .in_size = 5, .out = out,
			  .out_size = sizeof(out) };
	int v, par, msg, ops;

	usm_leak_base();
	v = b_prog(b, P_VERDICT);
	par = b_prog(b, P_PARSER);
	msg = b_prog(b, P_MSG);
	ops = b_prog(b, P_SOCKOPS);
	assert_true(v >= 0 && par >= 0 && msg >= 0 && ops >= 0);
	assert_int_equal(b_test_run(b, v, &t), 0);
	assert_int_equal(t.retval, SK_PASS);
	assert_int_equal(t.out_size, 5);
	assert_memory_equal(out, "hello", 5);
	t.out_size = 2;
	memset(out, 0, sizeof(out));
	assert_int_equal(b_test_run(b, v, &t), -ENOSPC);
	assert_int_equal(t.out_size, 5);
	assert_memory_equal(out, "he\0", 3);
	t.out_size = sizeof(out);
	t.repeat = 50;
	assert_int_equal(b_test_run(b, par, &t), 0);
	assert_int_equal(t.retval, 5); /* the parser returns skb->len */
	t.repeat = 0;
	assert_int_equal(b_test_run(b, msg, &t), 0);
	assert_int_equal(t.retval, SK_PASS);
	assert_int_equal(b_test_run(b, ops, &t), 0);
	assert_int_equal(t.retval, 1);
	t.flags = 1;
	assert_int_equal(b_test_run(b, v, &t), -EINVAL);
	t.flags = 0;
	assert_int_equal(b_test_run(b, -1, &t), -EBADF);
	t.in = NULL;
	assert_int_equal(b_test_run(b, v, &t), -EFAULT);
	usm_close(v);
	usm_close(par);
	usm_close(msg);
	usm_close(ops);
	usm_leak_check();
	if (!kern_ok()) {
		USM_SKIP("kernel check not run: %s", kern_why);
		return;
	}
	/* The documented difference: the kernel has no test run for these. */
	v = b_prog(&B_KERN, P_VERDICT);
	t.in = "hello";
	assert_int_equal(b_test_run(&B_KERN, v, &t), -USM_ENOTSUPP);
	close(v);
}

/* The log buffer modes on exact bytes (kernel/bpf/log.c semantics). */
static void t_vlog(void **state)
{
	struct usm_vlog v;
	char buf[16];
	uint32_t ts;

	assert_int_equal(usm__vlog_init(&v, 1, buf, sizeof(buf)), 0);
	usm__vlog_cb(&v, "0123456789");
	usm__vlog_cb(&v, "abcdefghij");
	assert_int_equal(usm__vlog_finalize(&v, &ts), -ENOSPC);
	assert_int_equal(ts, 21);
	assert_string_equal(buf, "56789abcdefghij"); /* rotating: the tail */
	assert_int_equal(usm__vlog_init(&v, 1 | USM_LOG_FIXED, buf,
					sizeof(buf)), 0);
	usm__vlog_cb(&v, "0123456789");
	usm__vlog_cb(&v, "abcdefghij");
	assert_int_equal(usm__vlog_finalize(&v, &ts), -ENOSPC);
	assert_int_equal(ts, 21);
	assert_string_equal(buf, "0123456789abcde"); /* fixed: the head */
	assert_int_equal(usm__vlog_init(&v, 2, buf, sizeof(buf)), 0);
	usm__vlog_cb(&v, "0123456789abcde"); /* exactly fits with the NUL */
	assert_int_equal(usm__vlog_finalize(&v, &ts), 0);
	assert_int_equal(ts, 16);
	assert_string_equal(buf, "0123456789abcde");
	assert_int_equal(usm__vlog_init(&v, 1, NULL, 0), 0);
	usm__vlog_cb(&v, "abc");
	assert_int_equal(usm__vlog_finalize(&v, &ts), 0);
	assert_int_equal(ts, 4);
	assert_int_equal(usm__vlog_init(&v, 0, buf, 4), -EINVAL);
	assert_int_equal(usm__vlog_init(&v, 1, NULL, 4), -EINVAL);
	assert_int_equal(usm__vlog_level(&(struct usm_vlog){ .level = 4 }), 1);
	assert_int_equal(usm__vlog_level(&(struct usm_vlog){ .level = 3 }), 2);
}

/* Handle lifetime: plain close is collected, dup()s and references keep
 * an object, usm_close releases at once. */
static void t_handles(void **state)
{
	uint32_t base, cnt = 0;
	int m, d, v, p;

	usm_leak_base();
	base = usm__fd_count();
	m = b_smap(&B_USM, BPF_MAP_TYPE_SOCKMAP);
	assert_true(m >= 0);
	assert_true(usm_is_bpf_fd(m));
	assert_int_equal(usm__fd_count(), base + 1);
	d = dup(m);
	close(m);
	usm__fd_gc();
	assert_int_equal(usm__fd_count(), base + 1); /* the dup keeps it */
	assert_true(usm_is_bpf_fd(d));
	close(d);
	usm__fd_gc();
	assert_int_equal(usm__fd_count(), base);
	assert_false(usm_is_bpf_fd(d));
	/* A program attached to a map lives on after its fd. */
	m = b_smap(&B_USM, BPF_MAP_TYPE_SOCKHASH);
	v = b_prog(&B_USM, P_VERDICT);
	assert_int_equal(b_attach(&B_USM, v, m, BPF_SK_SKB_STREAM_VERDICT), 0);
	assert_int_equal(usm_close(v), 0);
	assert_int_equal(usm__fd_count(), base + 1);
	assert_int_equal(b_query(&B_USM, m, BPF_SK_SKB_STREAM_VERDICT, &cnt,
				 NULL), 0);
	assert_int_equal(cnt, 1);
	assert_int_equal(usm_close(m), 0);
	assert_int_equal(usm__fd_count(), base);
	assert_int_equal(usm_close(-1), -EBADF);
	p = open("/dev/null", O_RDONLY);
	assert_int_equal(usm_close(p), 0); /* any fd */
	usm_leak_check();
}

/* fork(): the child's copy names the same object; the child closing its
 * copy does not release the parent's. */
static void t_fork(void **state)
{
	struct tsk s;
	uint64_t c = 0;
	pid_t pid;
	int m, st;

	usm_leak_base();
	tsk_make(S_UDP, &s);
	m = b_smap(&B_USM, BPF_MAP_TYPE_SOCKMAP);
	assert_int_equal(b_upd(&B_USM, m, 0, s.fd, BPF_ANY), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int ok = b_lkp(&B_USM, m, 0, &c) == 0 && c == so_cookie(s.fd);
		int m2 = b_smap(&B_USM, BPF_MAP_TYPE_SOCKMAP);

		ok = ok && m2 >= 0 && usm_close(m2) == 0 && usm_close(m) == 0;
		_exit(ok ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	usm__fd_gc();
	assert_int_equal(b_lkp(&B_USM, m, 0, &c), 0);
	assert_true(c == so_cookie(s.fd));
	usm_close(m);
	tsk_free(&B_USM, &s);
	usm_leak_check();
}

/* usm_close of a socket fd removes it from every map (LIFE-01) unless
 * another fd of it is open (LIFE-02). */
static void t_close_socket(void **state)
{
	struct tsk s;
	int m, d;

	usm_leak_base();
	tsk_make(S_UNIX_STREAM, &s);
	m = b_smap(&B_USM, BPF_MAP_TYPE_SOCKHASH);
	assert_int_equal(b_upd(&B_USM, m, 0, s.fd, BPF_ANY), 0);
	d = dup(s.fd);
	assert_int_equal(usm_close(s.fd), 0);
	/* still in the map: the dup names the socket */
	assert_int_equal(usm__sock_count(), leak_base[2] + 1);
	assert_int_equal(b_lkp(&B_USM, m, 0, NULL), 0);
	assert_int_equal(usm_close(d), 0);
	assert_int_equal(usm__sock_count(), leak_base[2]); /* removed now */
	s.fd = -1;
	tsk_free(&B_USM, &s);
	usm_close(m);
	usm_leak_check();
}

struct worker {
	int m;
	int socks[4];
	int errors;
	int last_err;
};

static void *worker(void *arg)
{
	struct worker *w = arg;
	int i;

	for (i = 0; i < 400; i++) {
		int r = b_upd(&B_USM, w->m, (uint32_t)(i % 8),
			      w->socks[i % 4], BPF_ANY);
		int x = b_smap(&B_USM, BPF_MAP_TYPE_SOCKHASH);

		if (r && r != -EBADF && r != -EINVAL) {
			w->errors++;
			w->last_err = r;
		}
		b_del(&B_USM, w->m, (uint32_t)((i + 3) % 8));
		if (x >= 0) {
			b_upd(&B_USM, x, 0, w->socks[(i + 1) % 4], BPF_ANY);
			if (i % 2)
				usm_close(x);
			else
				close(x); /* collected by another call */
		}
	}
	return NULL;
}

/* Several threads creating, closing and using maps and sockets. */
static void t_threads(void **state)
{
	struct worker w[4];
	pthread_t th[4];
	struct tsk s[4];
	int m, i, j;

	usm_leak_base();
	for (i = 0; i < 4; i++)
		tsk_make((enum skind)i, &s[i]);
	m = b_smap(&B_USM, BPF_MAP_TYPE_SOCKMAP);
	for (i = 0; i < 4; i++) {
		w[i].m = m;
		w[i].errors = 0;
		w[i].last_err = 0;
		for (j = 0; j < 4; j++)
			w[i].socks[j] = s[j].fd;
		assert_int_equal(pthread_create(&th[i], NULL, worker, &w[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		if (w[i].errors)
			fail_msg("worker %d: %d unexpected update errors, last %d",
				 i, w[i].errors, w[i].last_err);
	}
	usm_close(m);
	for (i = 0; i < 4; i++)
		tsk_free(&B_USM, &s[i]);
	usm_leak_check();
}

static int group_setup(void **state)
{
	progs_init();
	return 0;
}

static int group_teardown(void **state)
{
	progs_fini();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_test_run),
		cmocka_unit_test(t_vlog),
		cmocka_unit_test(t_handles),
		cmocka_unit_test(t_fork),
		cmocka_unit_test(t_close_socket),
		cmocka_unit_test(t_threads),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
