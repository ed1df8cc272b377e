/* SPDX-License-Identifier: MIT */
/*
 * `usockmap run` end to end over loopback: the splice example
 * (examples/proxy/splice.bpf.c: sockops pairs client and backend, an
 * sk_skb verdict redirects to the peer's egress, SKB-15) with several
 * concurrent 1 MiB clients; sockops callbacks with the kernel's op numbers
 * placing listener, client and backend (MAP-BPF-01), checked through
 * `usockmap map dump`; flag-based placement; plain forwarding without
 * receive programs; --trace text and JSON; exact stats; SIGTERM and
 * --duration exits; --max-conns; bad arguments.
 */
#include <jansson.h>
#include <sys/stat.h>

#include "proxy_fix.h"

#define MIB (1u << 20)

static const char *splice_obj(void)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s",
		 usm_test_bpf_path("examples/proxy/splice"));
	return path;
}

struct cl_arg {
	uint16_t port;
	uint32_t seed;
	size_t len, got;
	bool same;
};

static void *client_thread(void *arg)
{
	struct cl_arg *a = arg;
	uint8_t *out = malloc(a->len), *in = malloc(a->len);
	int fd;

	if (out && in) {
		fill_pattern(out, a->len, a->seed);
		fd = client_connect(a->port);
		a->got = client_xfer(fd, out, in, a->len, false, 20000);
		a->same = a->got == a->len && memcmp(out, in, a->len) == 0;
		close(fd);
	}
	free(out);
	free(in);
	return NULL;
}

/* SKB-15: bytes redirected to the peer's egress reach the peer's remote
 * end exactly, in order, for several concurrent clients. */
static void test_splice_concurrent_1mib_SKB15(void **state)
{
	struct cl_arg a[4];
	pthread_t th[4];
	struct echo_srv e;
	struct proxy p;
	char args[128];
	int i;

	(void)state;
	echo_start(&e);
	snprintf(args, sizeof(args), "--backend 127.0.0.1:%u", e.port);
	assert_int_equal(proxy_start(&p, splice_obj(), args), 0);
	for (i = 0; i < 4; i++) {
		a[i] = (struct cl_arg){ .port = p.port, .seed = 7u + (uint32_t)i,
					.len = MIB };
		assert_int_equal(pthread_create(&th[i], NULL, client_thread,
						&a[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(a[i].got, MIB);
		assert_true(a[i].same);
	}
	assert_int_equal(proxy_stop(&p), 0);
	free(proxy_trace(&p));
	echo_stop(&e);
}

/* Plain forwarding: an object with only a sockops program still proxies
 * (no receive program on either socket). */
static void test_plain_forwarding(void **state)
{
	struct cl_arg a = { .seed = 3, .len = MIB };
	struct echo_srv e;
	struct proxy p;
	pthread_t th;
	char args[128];

	(void)state;
	echo_start(&e);
	snprintf(args, sizeof(args), "--backend 127.0.0.1:%u", e.port);
	assert_int_equal(proxy_start(&p, usm_test_bpf_path("tests/bpf/proxy_place"),
				     args), 0);
	a.port = p.port;
	assert_int_equal(pthread_create(&th, NULL, client_thread, &a), 0);
	pthread_join(th, NULL);
	assert_int_equal(a.got, MIB);
	assert_true(a.same);
	assert_int_equal(proxy_stop(&p), 0);
	free(proxy_trace(&p));
	echo_stop(&e);
}

/* The value (a cookie) at decimal @key in `map dump` text output, or 0. */
static uint64_t dump_value(const char *dump, const char *key)
{
	char pat[32];
	const char *l;

	snprintf(pat, sizeof(pat), "%s ", key);
	for (l = dump; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strncmp(l, pat, strlen(pat)) == 0)
			return strtoull(l + strlen(pat), NULL, 10);
	return 0;
}

struct stat_sock {
	uint64_t cookie, in, out, pass, drop, redir, queued;
};

/* The stats --json row of role @role (first one). */
static bool stats_row(json_t *root, const char *role, struct stat_sock *s)
{
	json_t *socks = json_object_get(root, "sockets"), *o;
	size_t i;

	json_array_foreach(socks, i, o) {
		if (strcmp(json_string_value(json_object_get(o, "role")), role))
			continue;
		s->cookie = (uint64_t)json_integer_value(json_object_get(o, "cookie"));
		s->in = (uint64_t)json_integer_value(json_object_get(o, "bytes_in"));
		s->out = (uint64_t)json_integer_value(json_object_get(o, "bytes_out"));
		s->pass = (uint64_t)json_integer_value(json_object_get(o, "pass"));
		s->drop = (uint64_t)json_integer_value(json_object_get(o, "drop"));
		s->redir = (uint64_t)json_integer_value(json_object_get(o, "redirect"));
		s->queued = (uint64_t)json_integer_value(json_object_get(o, "queued"));
		return true;
	}
	return false;
}

static json_t *get_stats(struct proxy *p)
{
	char *out = NULL;
	json_t *root;

	assert_int_equal(proxy_cli(p, "stats --json", &out), 0);
	root = json_loads(out, 0, NULL);
	assert_non_null(root);
	free(out);
	return root;
}

/* MAP-BPF-01: the sockops program ran with TCP_LISTEN (11) for the
 * listener, PASSIVE_ESTABLISHED (5) for the client and ACTIVE_ESTABLISHED
 * (4) for the backend connection, and each bpf_sock_map_update placed its
 * socket (returned 0). */
static void test_sockops_callbacks_MAPBPF01(void **state)
{
	struct stat_sock cl, be, li;
	struct echo_srv e;
	struct proxy p;
	char args[128], *out = NULL;
	uint8_t buf[4];
	json_t *st;
	int fd;

	(void)state;
	echo_start(&e);
	snprintf(args, sizeof(args), "--backend 127.0.0.1:%u", e.port);
	assert_int_equal(proxy_start(&p, usm_test_bpf_path("tests/bpf/proxy_ops"),
				     args), 0);
	fd = client_connect(p.port);
	assert_int_equal(client_xfer(fd, (const uint8_t *)"ping", buf, 4,
				     false, 5000), 4);
	assert_memory_equal(buf, "ping", 4);
	assert_int_equal(proxy_cli(&p, "map dump ops", &out), 0);
	assert_int_equal(dump_value(out, "11"), 1);
	assert_int_equal(dump_value(out, "5"), 1);
	assert_int_equal(dump_value(out, "4"), 1);
	assert_int_equal(dump_value(out, "1"), 0); /* no other callback ran */
	free(out);
	assert_int_equal(proxy_cli(&p, "map dump res", &out), 0);
	assert_non_null(strstr(out, "\n11 0\n"));
	free(out);
	st = get_stats(&p);
	assert_true(stats_row(st, "listener", &li));
	assert_true(stats_row(st, "client", &cl));
	assert_true(stats_row(st, "backend", &be));
	json_decref(st);
	assert_int_equal(proxy_cli(&p, "map dump sk", &out), 0);
	assert_int_equal(dump_value(out, "0"), li.cookie);
	assert_int_equal(dump_value(out, "1"), cl.cookie);
	assert_int_equal(dump_value(out, "2"), be.cookie);
	free(out);
	assert_int_equal(proxy_cli(&p, "map lookup sk 1", &out), 0);
	assert_int_equal(strtoull(strchr(out, ' ') + 1, NULL, 10), cl.cookie);
	free(out);
	close(fd);
	assert_int_equal(proxy_stop(&p), 0);
	free(proxy_trace(&p));
	echo_stop(&e);
}

/* --map NAME:KEY=ROLE places sockets without a sockops decision, and the
 * map commands on the running engine work (delete, update by cookie). */
static void test_flag_placement(void **state)
{
	struct stat_sock cl, be, li;
	struct echo_srv e;
	struct proxy p;
	char args[256], cmd[128], *out = NULL;
	uint8_t buf[4];
	json_t *st;
	int fd;

	(void)state;
	echo_start(&e);
	snprintf(args, sizeof(args), "--backend 127.0.0.1:%u --map sk:0=listener "
		 "--map sk:1=client --map sh:0x07000000=backend", e.port);
	assert_int_equal(proxy_start(&p, usm_test_bpf_path("tests/bpf/proxy_place"),
				     args), 0);
	fd = client_connect(p.port);
	assert_int_equal(client_xfer(fd, (const uint8_t *)"abcd", buf, 4,
				     false, 5000), 4);
	st = get_stats(&p);
	assert_true(stats_row(st, "listener", &li));
	assert_true(stats_row(st, "client", &cl));
	assert_true(stats_row(st, "backend", &be));
	json_decref(st);
	assert_int_equal(proxy_cli(&p, "map dump sk", &out), 0);
	assert_int_equal(dump_value(out, "0"), li.cookie);
	assert_int_equal(dump_value(out, "1"), cl.cookie);
	free(out);
	assert_int_equal(proxy_cli(&p, "map dump sh", &out), 0);
	assert_int_equal(dump_value(out, "7"), be.cookie);
	free(out);
	assert_int_equal(proxy_cli(&p, "map delete sk 1", &out), 0);
	free(out);
	assert_int_equal(proxy_cli(&p, "map lookup sk 1 2>&1", &out), 1);
	assert_non_null(strstr(out, "No such file or directory"));
	free(out);
	snprintf(cmd, sizeof(cmd), "map update sk 3 %llu",
		 (unsigned long long)be.cookie);
	assert_int_equal(proxy_cli(&p, cmd, &out), 0);
	free(out);
	assert_int_equal(proxy_cli(&p, "map dump sk --json", &out), 0);
	st = json_loads(out, 0, NULL);
	assert_non_null(st);
	assert_int_equal(json_array_size(st), 2); /* keys 0 and 3 */
	json_decref(st);
	free(out);
	close(fd);
	assert_int_equal(proxy_stop(&p), 0);
	free(proxy_trace(&p));
	echo_stop(&e);
}

/* Stats after a known transfer: each side read and wrote exactly the
 * bytes sent, every chunk was redirected (SKB-15), nothing dropped or
 * left queued. */
static void test_stats_exact(void **state)
{
	struct stat_sock cl, be;
	struct echo_srv e;
	struct proxy p;
	uint8_t out[10000], in[10000];
	char args[128], *txt = NULL;
	json_t *st;
	int fd;

	(void)state;
	echo_start(&e);
	snprintf(args, sizeof(args), "--backend 127.0.0.1:%u", e.port);
	assert_int_equal(proxy_start(&p, splice_obj(), args), 0);
	fill_pattern(out, sizeof(out), 99);
	fd = client_connect(p.port);
	assert_int_equal(client_xfer(fd, out, in, sizeof(out), false, 5000),
			 sizeof(out));
	assert_memory_equal(out, in, sizeof(out));
	usleep(50000);
	st = get_stats(&p);
	assert_true(stats_row(st, "client", &cl));
	assert_true(stats_row(st, "backend", &be));
	json_decref(st);
	assert_int_equal(cl.in, 10000);
	assert_int_equal(cl.out, 10000);
	assert_int_equal(be.in, 10000);
	assert_int_equal(be.out, 10000);
	assert_true(cl.redir >= 1);
	assert_true(be.redir >= 1);
	assert_int_equal(cl.drop + be.drop + cl.pass + be.pass, 0);
	assert_int_equal(cl.queued + be.queued, 0);
	assert_int_equal(proxy_cli(&p, "stats", &txt), 0);
	assert_non_null(strstr(txt, "in=10000 out=10000"));
	assert_non_null(strstr(txt, "socks"));
	assert_non_null(strstr(txt, "entries=2"));
	free(txt);
	close(fd);
	assert_int_equal(proxy_stop(&p), 0);
	free(proxy_trace(&p));
	echo_stop(&e);
}

/* --trace: one line per verdict; --trace --json: the same as JSON lines
 * that parse, with the redirect target (SKB-13/15). */
static void test_trace_text_and_json_SKB13(void **state)
{
	struct echo_srv e;
	struct proxy p;
	char args[128], *tr, *l, *save = NULL;
	uint8_t buf[5];
	int fd, nverdict = 0, i;
	uint64_t bytes = 0;

	(void)state;
	echo_start(&e);
	for (i = 0; i < 2; i++) {
		snprintf(args, sizeof(args), "--backend 127.0.0.1:%u --trace%s",
			 e.port, i ? " --json" : "");
		assert_int_equal(proxy_start(&p, splice_obj(), args), 0);
		fd = client_connect(p.port);
		assert_int_equal(client_xfer(fd, (const uint8_t *)"hello", buf, 5,
					     false, 5000), 5);
		close(fd);
		usleep(50000);
		assert_int_equal(proxy_stop(&p), 0);
		tr = proxy_trace(&p);
		if (!i) {
			assert_non_null(strstr(tr, "verdict cookie="));
			assert_non_null(strstr(tr, "prog=splice attach=stream_verdict len=5 ret=1 action=redirect map=socks"));
			free(tr);
			continue;
		}
		for (l = strtok_r(tr, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			json_t *o = json_loads(l, 0, NULL);

			assert_non_null(o);
			if (strcmp(json_string_value(json_object_get(o, "event")), "verdict") == 0) {
				nverdict++;
				bytes += (uint64_t)json_integer_value(json_object_get(o, "len"));
				assert_string_equal(json_string_value(json_object_get(o, "action")), "redirect");
				assert_string_equal(json_string_value(json_object_get(o, "map")), "socks");
				assert_string_equal(json_string_value(json_object_get(o, "prog")), "splice");
				assert_true(json_integer_value(json_object_get(o, "target")) > 0);
			}
			json_decref(o);
		}
		assert_true(nverdict >= 2);
		assert_int_equal(bytes, 10); /* 5 each way */
		free(tr);
	}
	echo_stop(&e);
}

/* SIGTERM: exit 0 and the control socket is gone; --duration ends the run
 * by itself with 0; client EOF propagates to the backend and back. */
static void test_sigterm_duration_eof(void **state)
{
	struct echo_srv e;
	struct proxy p;
	char args[128];
	uint8_t buf[3];
	int fd, st;

	(void)state;
	echo_start(&e);
	snprintf(args, sizeof(args), "--backend 127.0.0.1:%u", e.port);
	assert_int_equal(proxy_start(&p, splice_obj(), args), 0);
	fd = client_connect(p.port);
	assert_int_equal(client_xfer(fd, (const uint8_t *)"abc", buf, 3, false,
				     5000), 3);
	shutdown(fd, SHUT_WR);
	assert_true(client_wait_eof(fd, 3000)); /* RECV-07 through the pair */
	close(fd);
	assert_int_equal(access(p.ctl, F_OK), 0);
	assert_int_equal(proxy_stop(&p), 0);
	assert_int_equal(access(p.ctl, F_OK), -1);
	free(proxy_trace(&p));

	snprintf(args, sizeof(args), "--backend 127.0.0.1:%u --duration 0.3",
		 e.port);
	assert_int_equal(proxy_start(&p, splice_obj(), args), 0);
	waitpid(p.pid, &st, 0);
	close(p.errfd);
	proxy_track(0, p.pid);
	p.pid = 0;
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	free(proxy_trace(&p));
	echo_stop(&e);
}

static int count_fds(pid_t pid)
{
	char path[64], cmd[128], *out = NULL;
	int n;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	snprintf(cmd, sizeof(cmd), "ls %s | wc -l", path);
	assert_int_equal(usm_test_run_cmd(cmd, &out), 0);
	n = atoi(out);
	free(out);
	return n;
}

/* LIFE-01: closed connections leave every map and the proxy keeps no fd
 * of them (20 connections, each closed by the client after its echo). */
static void test_closed_conns_leave_maps_LIFE01(void **state)
{
	struct echo_srv e;
	struct proxy p;
	char args[128], *out = NULL;
	uint8_t buf[100], msg[100];
	uint64_t end;
	int fd, i, before, after = -1;

	(void)state;
	echo_start(&e);
	snprintf(args, sizeof(args), "--backend 127.0.0.1:%u", e.port);
	assert_int_equal(proxy_start(&p, splice_obj(), args), 0);
	before = count_fds(p.pid);
	fill_pattern(msg, sizeof(msg), 5);
	for (i = 0; i < 20; i++) {
		fd = client_connect(p.port);
		assert_int_equal(client_xfer(fd, msg, buf, sizeof(msg), false,
					     5000), sizeof(msg));
		shutdown(fd, SHUT_WR);
		assert_true(client_wait_eof(fd, 3000));
		close(fd);
	}
	end = now_ms() + 3000;
	while (now_ms() < end && (after = count_fds(p.pid)) != before)
		usleep(20000);
	assert_int_equal(after, before);
	end = now_ms() + 3000; /* the proxy notices at its next 10 ms tick */
	for (;;) {
		assert_int_equal(proxy_cli(&p, "stats", &out), 0);
		if (strstr(out, "accepted=20 active=0") || now_ms() > end)
			break;
		free(out);
		usleep(20000);
	}
	assert_non_null(strstr(out, "accepted=20 active=0"));
	assert_non_null(strstr(out, "socks            sockhash       entries=0"));
	free(out);
	assert_int_equal(proxy_stop(&p), 0);
	free(proxy_trace(&p));
	echo_stop(&e);
}

/* --max-conns: a client beyond the limit is closed at once and counted. */
static void test_max_conns(void **state)
{
	struct echo_srv e;
	struct proxy p;
	char args[128], *out = NULL;
	uint8_t buf[2];
	int fd1, fd2;

	(void)state;
	echo_start(&e);
	snprintf(args, sizeof(args), "--backend 127.0.0.1:%u --max-conns 1",
		 e.port);
	assert_int_equal(proxy_start(&p, splice_obj(), args), 0);
	fd1 = client_connect(p.port);
	assert_int_equal(client_xfer(fd1, (const uint8_t *)"ab", buf, 2, false,
				     5000), 2);
	fd2 = client_connect(p.port);
	assert_true(client_wait_eof(fd2, 3000));
	assert_int_equal(proxy_cli(&p, "stats", &out), 0);
	assert_non_null(strstr(out, "accepted=1 active=1 refused=1"));
	free(out);
	close(fd1);
	close(fd2);
	assert_int_equal(proxy_stop(&p), 0);
	free(proxy_trace(&p));
	echo_stop(&e);
}

/* Without --control the socket is $XDG_RUNTIME_DIR/usockmap-<pid>.sock,
 * mode 0600; `stats` finds it alone, or by --pid. */
static void test_default_control_socket(void **state)
{
	char dir[] = "/tmp/usm-test-xdg-XXXXXX", want[128], cmd[512];
	struct proxy p;
	struct stat st;
	char *out = NULL;

	(void)state;
	assert_non_null(mkdtemp(dir));
	setenv("XDG_RUNTIME_DIR", dir, 1);
	proxy_default_control = true;
	assert_int_equal(proxy_start(&p, splice_obj(), ""), 0);
	proxy_default_control = false;
	snprintf(want, sizeof(want), "%s/usockmap-%d.sock", dir, (int)p.pid);
	assert_string_equal(p.ctl, want);
	assert_int_equal(stat(want, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(cmd, sizeof(cmd), "%s stats", usm_test_cli_path());
	assert_int_equal(usm_test_run_cmd(cmd, &out), 0);
	assert_non_null(strstr(out, "connections: accepted=0 active=0"));
	free(out);
	snprintf(cmd, sizeof(cmd), "%s stats --json --pid %d",
		 usm_test_cli_path(), (int)p.pid);
	assert_int_equal(usm_test_run_cmd(cmd, &out), 0);
	assert_non_null(strstr(out, "\"accepted\":0"));
	free(out);
	snprintf(cmd, sizeof(cmd), "%s stats --pid 1 2>&1", usm_test_cli_path());
	assert_int_equal(usm_test_run_cmd(cmd, &out), 1);
	assert_non_null(strstr(out, "usockmap-1.sock"));
	free(out);
	assert_int_equal(proxy_stop(&p), 0);
	free(proxy_trace(&p));
	unsetenv("XDG_RUNTIME_DIR");
	assert_int_equal(rmdir(dir), 0); /* the socket file was removed */
}

static void expect_run(const char *args, int status, const char *msg)
{
	char cmd[1024], *out = NULL;

	snprintf(cmd, sizeof(cmd), "%s run %s 2>&1", usm_test_cli_path(), args);
	assert_int_equal(usm_test_run_cmd(cmd, &out), status);
	if (!strstr(out, msg))
		fail_msg("'%s': expected '%s' in: %s", args, msg, out);
	free(out);
}

/* Bad arguments: clear errors, exit 2 for usage and 1 for what fails at
 * start; bad control requests answer with an error. */
static void test_bad_arguments(void **state)
{
	char a[1024];
	struct proxy p;
	char *out = NULL;
	const char *obj = splice_obj();

	(void)state;
	snprintf(a, sizeof(a), "%s", obj);
	expect_run(a, 2, "at least one --listen");
	snprintf(a, sizeof(a), "%s --listen 127.0.0.1", obj);
	expect_run(a, 2, "--listen '127.0.0.1': expected ADDR:PORT");
	snprintf(a, sizeof(a), "%s --listen 127.0.0.1:0 --backend x:1", obj);
	expect_run(a, 2, "--backend 'x:1': expected ADDR:PORT");
	snprintf(a, sizeof(a), "%s --listen 127.0.0.1:0 --map socks=client", obj);
	expect_run(a, 2, "expected NAME:KEY=client|backend|listener");
	snprintf(a, sizeof(a), "%s --listen 127.0.0.1:0 --json", obj);
	expect_run(a, 2, "--json needs --trace");
	snprintf(a, sizeof(a), "%s --listen 127.0.0.1:0 --duration -1", obj);
	expect_run(a, 2, "--duration '-1'");
	expect_run("/nonexistent.o --listen 127.0.0.1:0", 1, "cannot load");
	snprintf(a, sizeof(a), "%s --listen 127.0.0.1:0 --map nope:1=client "
		 "--control ''", obj);
	expect_run(a, 1, "no SOCKMAP/SOCKHASH named 'nope'");
	snprintf(a, sizeof(a), "%s --listen 127.0.0.1:0 --map socks:zz=client "
		 "--control ''", obj);
	expect_run(a, 1, "bad key 'zz'");
	snprintf(a, sizeof(a), "%s --listen 127.0.0.1:0 --attach nope:socks "
		 "--control ''", obj);
	expect_run(a, 1, "no program named 'nope'");

	assert_int_equal(proxy_start(&p, obj, ""), 0);
	assert_int_equal(proxy_cli(&p, "map dump nope 2>&1", &out), 1);
	assert_non_null(strstr(out, "no map named 'nope'"));
	free(out);
	assert_int_equal(proxy_cli(&p, "map lookup socks 0x01 2>&1", &out), 1);
	assert_non_null(strstr(out, "Invalid argument"));
	free(out);
	assert_int_equal(proxy_cli(&p, "map frob socks 2>&1", &out), 2);
	free(out);
	assert_int_equal(proxy_stop(&p), 0);
	free(proxy_trace(&p));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_splice_concurrent_1mib_SKB15),
		cmocka_unit_test(test_plain_forwarding),
		cmocka_unit_test(test_sockops_callbacks_MAPBPF01),
		cmocka_unit_test(test_flag_placement),
		cmocka_unit_test(test_stats_exact),
		cmocka_unit_test(test_trace_text_and_json_SKB13),
		cmocka_unit_test(test_sigterm_duration_eof),
		cmocka_unit_test(test_closed_conns_leave_maps_LIFE01),
		cmocka_unit_test(test_max_conns),
		cmocka_unit_test(test_default_control_socket),
		cmocka_unit_test(test_bad_arguments),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, proxy_reap_all);
}
