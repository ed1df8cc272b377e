// SPDX-License-Identifier: MIT
/*
 * `usockmap run --reuseport`: a reuseport group of --workers members in
 * the proxy, the object's sk_reuseport program selecting the member
 * (tests/bpf/proxy_rp.bpf.c: TCP by client port % 8, UDP by the first
 * payload byte, 7 = SK_DROP), members serving as echo servers (or
 * forwarding to --backend), and `usockmap stats --json` counting exactly
 * per member (SEMANTICS RPP-04, RPP-06).
 */
#include <jansson.h>

#include "proxy_fix.h"

static const char *rp_obj(void)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s", usm_test_bpf_path("tests/bpf/proxy_rp"));
	if (access(path, R_OK))
		fail_msg("missing %s (make tests)", path);
	return path;
}

static json_t *get_stats(struct proxy *p)
{
	char *out = NULL;
	json_t *root;

	assert_int_equal(proxy_cli(p, "stats --json", &out), 0);
	root = json_loads(out, 0, NULL);
	if (!root)
		fail_msg("bad stats json: %s", out);
	free(out);
	return root;
}

static uint64_t rp_num(json_t *root, const char *key)
{
	json_t *rp = json_object_get(root, "reuseport");

	assert_non_null(rp);
	return (uint64_t)json_integer_value(json_object_get(rp, key));
}

static uint64_t member_recv(json_t *root, size_t i)
{
	json_t *m = json_object_get(json_object_get(root, "reuseport"),
				    "members");

	assert_true(i < json_array_size(m));
	assert_int_equal(json_integer_value(json_object_get(
		json_array_get(m, i), "index")), i);
	assert_true(json_integer_value(json_object_get(json_array_get(m, i),
						       "cookie")) > 0);
	return (uint64_t)json_integer_value(json_object_get(
		json_array_get(m, i), "received"));
}

/* The group's port from the stats. */
static uint16_t rp_port(struct proxy *p)
{
	json_t *root = get_stats(p), *rp;
	const char *a, *c;
	uint16_t port;

	rp = json_object_get(root, "reuseport");
	assert_non_null(rp);
	a = json_string_value(json_object_get(rp, "addr"));
	assert_non_null(a);
	c = strrchr(a, ':');
	assert_non_null(c);
	port = (uint16_t)atoi(c + 1);
	assert_true(port > 0);
	json_decref(root);
	return port;
}

/* A socket of @type bound to a free 127.0.0.1 port with port % 8 == @mod. */
static int bound_sock(int type, unsigned mod)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	static unsigned next = 0;
	int fd, one = 1, i;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (i = 0; i < 2000; i++) {
		unsigned port = 20000 + ((getpid() * 8u + next++ * 8u) % 20000u);

		port = port - port % 8 + mod;
		fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
		assert_true(fd >= 0);
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		a.sin_port = htons((uint16_t)port);
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
			return fd;
		close(fd);
	}
	fail_msg("no free port with port %% 8 == %u", mod);
	return -1;
}

static void dst(struct sockaddr_in *a, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a->sin_port = htons(port);
}

/* Connect from a port with port % 8 == @mod; true if "ping" came back. */
static bool tcp_echo(uint16_t port, unsigned mod)
{
	struct sockaddr_in a;
	uint8_t out[4] = { 'p', 'i', 'n', 'g' }, in[4] = { 0 };
	int fd = bound_sock(SOCK_STREAM, mod);
	size_t got;

	dst(&a, port);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	got = client_xfer(fd, out, in, sizeof(out), false, 2000);
	close(fd);
	return got == sizeof(out) && memcmp(in, out, sizeof(out)) == 0;
}

/* Wait until the proxy counted @n connections/datagrams in total. */
static json_t *stats_settled(struct proxy *p, uint64_t n)
{
	uint64_t end = now_ms() + 3000;
	json_t *root;

	for (;;) {
		root = get_stats(p);
		if (rp_num(root, "selected") + rp_num(root, "hashed") +
		    rp_num(root, "dropped") >= n || now_ms() > end)
			return root;
		json_decref(root);
		usleep(20000);
	}
}

/* RPP-04: TCP, REUSEPORT_SOCKARRAY: SK_PASS + selection gives the
 * connection to that member (echoed), SK_DROP resets it, a failed
 * selection falls back to hash selection. */
static void test_tcp_select_drop_hash_RPP04(void **state)
{
	static const unsigned mods[] = { 0, 1, 2, 3, 3 };
	struct proxy p;
	json_t *root;
	uint16_t port;
	size_t i;

	(void)state;
	assert_int_equal(proxy_start(&p, rp_obj(), "--reuseport 127.0.0.1:0 "
				     "--reuseport-prog rp_pick"), 0);
	assert_non_null(strstr(p.err, "reuseport group on 127.0.0.1:"));
	port = rp_port(&p);
	for (i = 0; i < 5; i++)
		assert_true(tcp_echo(port, mods[i]));
	assert_false(tcp_echo(port, 7)); /* SK_DROP: reset, no echo */
	root = stats_settled(&p, 6);
	assert_int_equal(rp_num(root, "selected"), 5);
	assert_int_equal(rp_num(root, "dropped"), 1);
	assert_int_equal(rp_num(root, "hashed"), 0);
	assert_int_equal(member_recv(root, 0), 1);
	assert_int_equal(member_recv(root, 1), 1);
	assert_int_equal(member_recv(root, 2), 1);
	assert_int_equal(member_recv(root, 3), 2);
	assert_string_equal(json_string_value(json_object_get(
		json_object_get(root, "reuseport"), "map")), "rp_members");
	assert_int_equal(json_integer_value(json_object_get(root, "accepted")),
			 5);
	json_decref(root);
	assert_true(tcp_echo(port, 5)); /* key 5: no member -> hashed */
	root = stats_settled(&p, 7);
	assert_int_equal(rp_num(root, "hashed"), 1);
	assert_int_equal(member_recv(root, 0) + member_recv(root, 1) +
			 member_recv(root, 2) + member_recv(root, 3), 6);
	json_decref(root);
	assert_int_equal(proxy_stop(&p), 0);
	free(proxy_trace(&p));
}

/* Send one datagram with first byte @b; true if it was echoed. */
static bool udp_echo(int fd, uint16_t port, uint8_t b)
{
	struct sockaddr_in a;
	uint8_t out[3] = { b, 'x', 'y' }, in[8];
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	ssize_t n;

	dst(&a, port);
	assert_int_equal(sendto(fd, out, sizeof(out), 0, (struct sockaddr *)&a,
				sizeof(a)), (ssize_t)sizeof(out));
	if (poll(&pf, 1, b == 7 ? 300 : 2000) <= 0)
		return false;
	n = recv(fd, in, sizeof(in), 0);
	return n == (ssize_t)sizeof(out) && memcmp(in, out, sizeof(out)) == 0;
}

/* RPP-04 for UDP: each datagram reaches the member its first byte names
 * and is echoed from the group's address; SK_DROP drops it. */
static void test_udp_select_drop_RPP04(void **state)
{
	static const uint8_t bytes[] = { 0, 1, 1, 2, 3, 3, 3 };
	struct proxy p;
	json_t *root;
	uint16_t port;
	size_t i;
	int fd;

	(void)state;
	assert_int_equal(proxy_start(&p, rp_obj(), "--reuseport 127.0.0.1:0 "
				     "--proto udp --workers 4 "
				     "--reuseport-prog rp_pick"), 0);
	port = rp_port(&p);
	fd = bound_sock(SOCK_DGRAM, 0);
	for (i = 0; i < sizeof(bytes); i++)
		assert_true(udp_echo(fd, port, bytes[i]));
	assert_false(udp_echo(fd, port, 7));
	assert_false(udp_echo(fd, port, 7));
	close(fd);
	root = stats_settled(&p, 9);
	assert_int_equal(rp_num(root, "selected"), 7);
	assert_int_equal(rp_num(root, "dropped"), 2);
	assert_int_equal(rp_num(root, "hashed"), 0);
	assert_int_equal(member_recv(root, 0), 1);
	assert_int_equal(member_recv(root, 1), 2);
	assert_int_equal(member_recv(root, 2), 1);
	assert_int_equal(member_recv(root, 3), 3);
	assert_string_equal(json_string_value(json_object_get(
		json_object_get(root, "reuseport"), "proto")), "udp");
	json_decref(root);
	assert_int_equal(proxy_stop(&p), 0);
	free(proxy_trace(&p));
}

/* RPP-06: the members in a SOCKHASH select like the array; with
 * --backend a member's connection is proxied to the backend. Two
 * members: key 2 and 3 have none and hash. */
static void test_tcp_sockhash_backend_RPP06(void **state)
{
	struct echo_srv be;
	struct proxy p;
	char args[256], *out = NULL;
	json_t *root;
	uint16_t port;

	(void)state;
	echo_start(&be);
	snprintf(args, sizeof(args), "--reuseport 127.0.0.1:0 --workers 2 "
		 "--reuseport-prog rp_pick_hash --backend 127.0.0.1:%u",
		 be.port);
	assert_int_equal(proxy_start(&p, rp_obj(), args), 0);
	port = rp_port(&p);
	assert_true(tcp_echo(port, 1));
	assert_true(tcp_echo(port, 1));
	assert_true(tcp_echo(port, 0));
	root = stats_settled(&p, 3);
	assert_int_equal(rp_num(root, "selected"), 3);
	assert_int_equal(member_recv(root, 0), 1);
	assert_int_equal(member_recv(root, 1), 2);
	assert_string_equal(json_string_value(json_object_get(
		json_object_get(root, "reuseport"), "map")), "rp_hash");
	json_decref(root);
	assert_int_equal(proxy_cli(&p, "stats", &out), 0);
	assert_non_null(strstr(out, "program=rp_pick_hash map=rp_hash "
			       "selected=3 hashed=0 dropped=0"));
	assert_non_null(strstr(out, "member 1 cookie="));
	assert_non_null(strstr(out, "received=2"));
	free(out);
	assert_int_equal(proxy_stop(&p), 0);
	free(proxy_trace(&p));
	echo_stop(&be);
}

static void expect_run(const char *args, int status, const char *msg)
{
	char cmd[1024], *out = NULL;

	snprintf(cmd, sizeof(cmd), "%s run %s --control '' 2>&1",
		 usm_test_cli_path(), args);
	assert_int_equal(usm_test_run_cmd(cmd, &out), status);
	if (!strstr(out, msg))
		fail_msg("'%s': expected '%s' in: %s", args, msg, out);
	free(out);
}

/* Bad flags: exit 2 for usage, 1 for what fails at start. */
static void test_bad_flags(void **state)
{
	const char *o = rp_obj();
	char a[1024];

	(void)state;
#define RUN(st, msg, fmt) \
	do { \
		snprintf(a, sizeof(a), "%s " fmt, o); \
		expect_run(a, st, msg); \
	} while (0)
	RUN(2, "--reuseport 'x': expected ADDR:PORT", "--reuseport x");
	RUN(2, "--workers '0': expected 1..64",
	    "--reuseport 127.0.0.1:0 --workers 0");
	RUN(2, "--workers '65': expected 1..64",
	    "--reuseport 127.0.0.1:0 --workers 65");
	RUN(2, "--proto 'sctp': expected tcp or udp",
	    "--reuseport 127.0.0.1:0 --proto sctp");
	RUN(2, "need --reuseport ADDR:PORT", "--listen 127.0.0.1:0 --workers 2");
	RUN(1, "more than one sk_reuseport program; use --reuseport-prog",
	    "--reuseport 127.0.0.1:0");
	RUN(1, "no sk_reuseport program named 'nope'",
	    "--reuseport 127.0.0.1:0 --reuseport-prog nope");
	RUN(1, "--workers 5: map 'rp_members' has only 4 entries",
	    "--reuseport 127.0.0.1:0 --reuseport-prog rp_pick --workers 5");
	RUN(1, "--reuseport-map nope: no REUSEPORT_SOCKARRAY",
	    "--reuseport 127.0.0.1:0 --reuseport-prog rp_pick "
	    "--reuseport-map nope");
	RUN(1, "--proto udp: --backend is not supported",
	    "--reuseport 127.0.0.1:0 --reuseport-prog rp_pick --proto udp "
	    "--backend 127.0.0.1:9");
#undef RUN
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp_select_drop_hash_RPP04),
		cmocka_unit_test(test_udp_select_drop_RPP04),
		cmocka_unit_test(test_tcp_sockhash_backend_RPP06),
		cmocka_unit_test(test_bad_flags),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, proxy_reap_all);
}
