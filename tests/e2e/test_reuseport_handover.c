/* SPDX-License-Identifier: MIT */
/*
 * examples/handover end to end: a dispatcher process owns the port, a
 * client makes a bounded stream of short connections, and the server is
 * replaced twice (ARRAY_OF_MAPS whose inner map is a REUSEPORT_SOCKARRAY,
 * one update per take-over, SEMANTICS RPA-11 in the program; LIFE-08 as
 * the old generation's member leaves). Zero connections may fail or go
 * unanswered, and the servers' own counts must add up to the client's per
 * generation: each connection was served by exactly one generation.
 */
#define HANDOVER_NO_MAIN
#include "../../examples/handover/handover.c"

#include "usm_test.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

struct child {
	pid_t pid;
	int out, err; /* read ends of its stdout / stderr */
};

static struct child spawn(char **argv, int argc)
{
	struct child c;
	int o[2], e[2];

	assert_int_equal(pipe(o), 0);
	assert_int_equal(pipe(e), 0);
	fflush(stdout);
	c.pid = fork();
	assert_true(c.pid >= 0);
	if (!c.pid) {
		dup2(o[1], 1);
		dup2(e[1], 2);
		close(o[0]);
		close(e[0]);
		int rc = handover_main(argc, argv);

		fflush(NULL);
		_exit(rc);
	}
	close(o[1]);
	close(e[1]);
	c.out = o[0];
	c.err = e[0];
	return c;
}

/* Read @fd to the end into @buf (NUL-terminated). */
static void slurp(int fd, char *buf, size_t size)
{
	size_t n = 0;
	ssize_t r;

	while (n + 1 < size && (r = read(fd, buf + n, size - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = 0;
	close(fd);
}

static int wait_exit(pid_t pid)
{
	int st;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static struct child server(const char *ctl, const char *gen)
{
	char *argv[] = { "handover", "server", (char *)ctl, (char *)gen, NULL };
	struct child c = spawn(argv, 4);
	char line[8] = { 0 };

	assert_int_equal(read(c.out, line, 6), 6); /* "ready\n" */
	assert_string_equal(line, "ready\n");
	return c;
}

static long served(struct child *c)
{
	char buf[256];
	long n = -1;
	char *p;

	assert_int_equal(wait_exit(c->pid), 0);
	slurp(c->err, buf, sizeof(buf));
	close(c->out);
	p = strstr(buf, "served ");
	if (p)
		n = atol(p + 7);
	return n;
}

static long gen_count(const char *out, const char *tag)
{
	const char *p = strstr(out, tag);

	return p ? atol(p + strlen(tag)) : 0;
}

static void test_handover_twice_under_load(void **s)
{
	char dir[] = "/tmp/usm_hoXXXXXX", ctl[64], pf[64], port[16] = { 0 };
	char out[512];
	struct child d, g[3], cl;
	long n1, n2, n3;
	int i, fd;

	assert_non_null(mkdtemp(dir));
	snprintf(ctl, sizeof(ctl), "%s/ctl", dir);
	snprintf(pf, sizeof(pf), "%s/port", dir);
	{
		char *argv[] = { "handover", "dispatcher",
			(char *)usm_test_bpf_path("examples/handover/handover"),
			ctl, pf, NULL };
		d = spawn(argv, 5);
	}
	for (i = 0; i < 500 && (fd = open(pf, O_RDONLY)) < 0; i++)
		usleep(10000);
	assert_true(fd >= 0);
	usleep(20000);
	assert_true(read(fd, port, sizeof(port) - 1) > 0);
	close(fd);
	port[strcspn(port, "\n")] = 0;
	g[0] = server(ctl, "1");
	{
		char *argv[] = { "handover", "client", port, "6000", "6000",
				 NULL };
		cl = spawn(argv, 5);
	}
	sleep(2);
	g[1] = server(ctl, "2");
	n1 = served(&g[0]); /* gen 1 drained and exited */
	sleep(2);
	g[2] = server(ctl, "3");
	n2 = served(&g[1]);
	slurp(cl.out, out, sizeof(out));
	close(cl.err);
	assert_int_equal(wait_exit(cl.pid), 0);
	kill(d.pid, SIGTERM);
	assert_int_equal(wait_exit(d.pid), 0);
	close(d.out);
	close(d.err);
	n3 = served(&g[2]); /* drained when the group closed */
	printf("# %s", out);
	assert_non_null(strstr(out, "total 6000 failed 0 unanswered 0"));
	assert_true(n1 > 0 && n2 > 0 && n3 > 0);
	assert_int_equal(gen_count(out, "gen1 "), n1);
	assert_int_equal(gen_count(out, "gen2 "), n2);
	assert_int_equal(gen_count(out, "gen3 "), n3);
	assert_int_equal(n1 + n2 + n3, 6000);
	unlink(pf);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handover_twice_under_load),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
