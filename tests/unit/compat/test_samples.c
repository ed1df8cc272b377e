/* SPDX-License-Identifier: MIT */
/*
 * The libbpf samples of examples/libbpf/ (the map_sockmap.rst
 * create_sample_sockmap() set-up and the sk_msg cover letter's
 * load/find/attach/update sequence), compiled UNCHANGED against an
 * installed usockmap: `make install DESTDIR=tmp`, then
 * `cc sample.c $(pkg-config --cflags --libs usockmap)` with pkg-config
 * pointed at that tree. Each must run and print exactly what the same
 * source prints against the kernel (-DUSM_SAMPLE_KERNEL, -lbpf; compared
 * when kernel BPF is usable), also as an unprivileged user.
 *
 * Behaviours the outputs pin down: MAP-UPD-04 (unconnected TCP refused),
 * MAP-UPD-19 (listener accepted), PRG-02 (a non-program fd), PRG-07 (sk_skb
 * programs serve either role), PRG-10 (query), PSK-03 (same slot again:
 * EBUSY), MAP-LKP-02 (4-byte lookup ENOSPC), MAP-UPD-10, MAP-DEL-01,
 * PRG-08 (detach twice).
 */
#include "usm_test.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char expect_sockmap[] =
	"load: 0\n"
	"program fds: ok\n"
	"established socket: 0\n"
	"accepted socket: 0\n"
	"listening socket: 0\n"
	"programs swapped: 0\n"
	"a socket as program: -22 (Invalid argument)\n"
	"unconnected socket: -95 (Operation not supported)\n";

static const char expect_msg[] =
	"load: 0\n"
	"load again: -22 (Invalid argument)\n"
	"missing program: none (No such file or directory)\n"
	"program msg_filter (sk_msg)\n"
	"map verdicts type 2 key 4 value 8 max 2\n"
	"map sock_map type 15 key 4 value 4 max 4\n"
	"attach: 0\n"
	"insert: 0\n"
	"insert listener: 0\n"
	"counter: 0\n"
	"counter value: 0\n"
	"query: 0 count 1 flags 0 id set\n"
	"query skb verdict: -22 (Invalid argument)\n"
	"lookup: -28 (No space left on device)\n"
	"attach as parser: -22 (Invalid argument)\n"
	"insert again: -16 (Device or resource busy)\n"
	"insert out of range: -7 (Argument list too long)\n"
	"delete empty: -22 (Invalid argument)\n"
	"detach: 0\n"
	"detach again: -2 (No such file or directory)\n";

struct sample {
	const char *src;    /* examples/libbpf/<name>.c */
	const char *obj;    /* its BPF object, examples/libbpf/<obj> */
	const char *expect;
};

static const struct sample samples[] = {
	{ "sockmap_sample", "skb_progs", expect_sockmap },
	{ "sk_msg_sample", "msg_prog", expect_msg },
};

static char tmp[64];   /* install tree and binaries */
static bool sanitized; /* the build under test uses ASan/UBSan */

/* Run @cmd; its stdout in *out (malloc'd), exit status returned. */
static int run(const char *cmd, char **out)
{
	int st = usm_test_run_cmd(cmd, out);

	if (st != 0)
		print_message("# command (status %d): %s\n", st, cmd);
	return st;
}

static int setup(void **state)
{
	const char *build = usm_test_build_dir();
	char cmd[1024], *out = NULL;
	int st;

	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/usm-compat-XXXXXX");
	if (!mkdtemp(tmp))
		return -1;
	sanitized = strstr(build, "asan") != NULL;
	/* A nested make must not inherit the outer one's jobserver. */
	snprintf(cmd, sizeof(cmd),
		 "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s install "
		 "BUILD=%s %s DESTDIR=%s PREFIX=/usr >/dev/null 2>&1 && "
		 "chmod -R a+rX %s && cp %s/bpf/examples/libbpf/*.bpf.o %s/ && "
		 "chmod a+r %s/*.bpf.o",
		 build, sanitized ? "SAN=1" : "", tmp, tmp, build, tmp, tmp);
	st = run(cmd, &out);
	free(out);
	return st == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128], *out = NULL;

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	usm_test_run_cmd(cmd, &out);
	free(out);
	return 0;
}

/* How a sample is built. */
enum build_mode {
	BUILD_USM,    /* #include <usockmap/libbpf.h>, pkg-config usockmap */
	BUILD_DROPIN, /* the kernel source unchanged (#include <bpf/...>),
			 pkg-config usockmap-libbpf: only flags differ */
	BUILD_KERNEL, /* the kernel source against real libbpf */
};

/* Compile @s against the installed tree (pkg-config) or the kernel. */
static void compile(const struct sample *s, enum build_mode mode)
{
	char cmd[2048], *out = NULL;
	bool kernel = mode == BUILD_KERNEL;

	if (kernel)
		snprintf(cmd, sizeof(cmd),
			 "cc -Wall -Wextra -Werror -DUSM_SAMPLE_KERNEL "
			 "examples/libbpf/%s.c -lbpf -o %s/%s.kernel 2>&1",
			 s->src, tmp, s->src);
	else
		snprintf(cmd, sizeof(cmd),
			 "export PKG_CONFIG_PATH=%s/usr/lib/pkgconfig "
			 "PKG_CONFIG_SYSROOT_DIR=%s; %s -Wall -Wextra -Werror "
			 "%s examples/libbpf/%s.c $(pkg-config --cflags --libs "
			 "%s) -o %s/%s 2>&1",
			 tmp, tmp,
			 sanitized ? "clang -fsanitize=address,undefined" : "cc",
			 mode == BUILD_DROPIN ? "-DUSM_SAMPLE_KERNEL" : "",
			 s->src,
			 mode == BUILD_DROPIN ? "usockmap-libbpf" : "usockmap",
			 tmp, s->src);
	if (run(cmd, &out) != 0)
		fail_msg("cannot build %s:\n%s", s->src, out ? out : "");
	free(out);
}

/* Run the binary (@suffix "" or ".kernel"), optionally as nobody. */
static char *run_sample(const struct sample *s, const char *suffix,
			bool nobody)
{
	char cmd[1024], *out = NULL;
	int st;

	snprintf(cmd, sizeof(cmd),
		 "%s env LD_LIBRARY_PATH=%s/usr/lib ASAN_OPTIONS=detect_leaks=1 "
		 "%s/%s%s %s/%s.bpf.o 2>/dev/null",
		 nobody ? "setpriv --reuid=65534 --regid=65534 --clear-groups"
			: "",
		 tmp, tmp, s->src, suffix, tmp, s->obj);
	st = run(cmd, &out);
	if (st != 0)
		fail_msg("%s%s exited with %d:\n%s", s->src, suffix, st,
			 out ? out : "");
	return out;
}

static void check_sample(const struct sample *s)
{
	const char *why;
	char *u, *k;

	compile(s, BUILD_USM);
	u = run_sample(s, "", false);
	assert_string_equal(u, s->expect);
	free(u);
	/* The kernel build's source, unchanged, on usockmap. */
	compile(s, BUILD_DROPIN);
	u = run_sample(s, "", false);
	assert_string_equal(u, s->expect);
	free(u);
	/* ... without privileges, so it cannot be reaching the kernel. */
	if (geteuid() == 0 && access("/usr/bin/setpriv", X_OK) == 0) {
		u = run_sample(s, "", true);
		assert_string_equal(u, s->expect);
		free(u);
	}
	/* No privileges needed. */
	if (geteuid() == 0 && access("/usr/bin/setpriv", X_OK) == 0) {
		u = run_sample(s, "", true);
		assert_string_equal(u, s->expect);
		free(u);
	}
	if (!usm_test_have_kernel_bpf(&why)) {
		USM_SKIP("kernel comparison not run: %s", why);
		return;
	}
	compile(s, BUILD_KERNEL);
	k = run_sample(s, ".kernel", false);
	assert_string_equal(k, s->expect);
	free(k);
}

/* map_sockmap.rst's create_sample_sockmap(): MAP-UPD-04/19, PRG-02/07. */
static void test_sockmap_sample(void **state)
{
	(void)state;
	check_sample(&samples[0]);
}

/* The sk_msg cover letter sequence: PRG-08/10, PSK-03, MAP-LKP-02,
 * MAP-UPD-10, MAP-DEL-01. */
static void test_sk_msg_sample(void **state)
{
	(void)state;
	check_sample(&samples[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sockmap_sample),
		cmocka_unit_test(test_sk_msg_sample),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
