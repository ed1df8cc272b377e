/* SPDX-License-Identifier: MIT */
/*
 * Base helpers: bpf_trace_printk's format rules, output and return value
 * (compared with the kernel's answer for the same format and arguments,
 * through a socket-filter program run with BPF_PROG_TEST_RUN), map element
 * helpers on a real map, clocks, random numbers, CPU ids, tail-call and
 * sk_release prototypes, helper names.
 */
#include "usm_test.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../../src/helpers/helpers.h"
#include "../../../src/maps/map.h"
#include "../../../src/sock/sock.h"
#include "../../../src/vm/vm.h"

#define E(x) ((uint64_t)(int64_t)(x))

static char last_line[2048];
static int lines;

static void trace_cb(void *arg, const char *line)
{
	(void)arg;
	snprintf(last_line, sizeof(last_line), "%s", line);
	lines++;
}

static int64_t printk(const char *fmt, uint64_t a1, uint64_t a2, uint64_t a3)
{
	struct usm_run run = { .trace = trace_cb };

	last_line[0] = '\0';
	return (int64_t)usm__h_trace_printk.fn(&run, (uintptr_t)fmt,
					       strlen(fmt) + 1, a1, a2, a3);
}

static void expect(const char *fmt, uint64_t a1, uint64_t a2, uint64_t a3,
		   const char *want)
{
	int64_t r = printk(fmt, a1, a2, a3);

	if (r != (int64_t)strlen(want) || strcmp(last_line, want) != 0) {
		print_error("fmt \"%s\": got %lld \"%s\", want \"%s\"\n", fmt,
			    (long long)r, last_line, want);
		fail();
	}
}

static void expect_einval(const char *fmt)
{
	int before = lines;

	if (printk(fmt, 1, 2, 3) != -EINVAL) {
		print_error("fmt \"%s\" accepted\n", fmt);
		fail();
	}
	assert_int_equal(lines, before); /* nothing printed */
}

static void test_printk_formats(void **state)
{
	static const char s[] = "abc";
	static const uint8_t ip4[4] = { 127, 0, 0, 1 };
	static const uint8_t ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };

	expect("hello", 0, 0, 0, "hello");
	expect("%d %u %x", E(-5), 7, 255, "-5 7 ff");
	expect("%i|%X", 0x100000005ull, 0xabcdef, 0, "5|ABCDEF");
	expect("%ld %lu", E(-5), E(-1), 0, "-5 18446744073709551615");
	expect("%lld %llx %lli", E(-2), 0x1122334455667788ull, 9,
	       "-2 1122334455667788 9");
	expect("%5d|%-3u|%03x", 42, 7, 10, "   42|7  |00a");
	expect("%+d % d", 3, 4, 0, "+3  4");
	expect("%0000005d|%--3d|", 42, 1, 0, "00042|1  |");
	expect("100%%", 0, 0, 0, "100%");
	expect("%c%c", 'O', 'K', 0, "OK");
	expect("%s!", (uintptr_t)s, 0, 0, "abc!");
	expect("[%5s]", (uintptr_t)s, 0, 0, "[  abc]");
	expect("%pks %pus", (uintptr_t)s, (uintptr_t)s, 0, "abc abc");
	expect("%s.", 1, 0, 0, "."); /* unreadable: empty string */
	expect("%s", 0, 0, 0, "");
	expect("%pI4", (uintptr_t)ip4, 0, 0, "127.0.0.1");
	expect("%pi4", (uintptr_t)ip4, 0, 0, "127.000.000.001");
	expect("%pI6", (uintptr_t)ip6, 0, 0,
	       "2001:0db8:0000:0000:0000:0000:0000:0001");
	expect("%pi6", (uintptr_t)ip6, 0, 0, "20010db8000000000000000000000001");
	expect("%pI4", 8, 0, 0, "0.0.0.0"); /* unreadable: zeros */
	expect("%px", 0x1234, 0, 0, "0000000000001234");
	expect("%p %px", 0, 0, 0, "(null) 0000000000000000");
	expect("%p", 0xabc, 0, 0, "0000000000000abc");
	expect("%ps", 0x10, 0, 0, "0x10");
	expect("caf\xc3\xa9", 0, 0, 0, "caf\xc3\xa9"); /* UTF-8 passes */
	expect("tab\there", 0, 0, 0, "tab\there");
	/* the trailing newline is not part of the line, but is counted */
	assert_int_equal(printk("line\n", 0, 0, 0), 5);
	assert_string_equal(last_line, "line");
	/* no sink: still formatted and counted */
	{
		struct usm_run run = { 0 };

		assert_int_equal(usm__h_trace_printk.fn(&run, (uintptr_t)"%d",
							3, 12345, 0, 0), 5);
	}
}

static void test_printk_rejects(void **state)
{
	static const char nonul[4] = { 'a', 'b', 'c', 'd' };
	struct usm_run run = { .trace = trace_cb };

	expect_einval("%d %d %d %d");  /* 4 conversions, 3 arguments */
	expect_einval("%.2d");         /* no precision */
	expect_einval("%q");
	expect_einval("%lllu");
	expect_einval("%l");
	expect_einval("%");
	expect_einval("%hd");
	expect_einval("%sx");          /* %s must end at space/punct */
	expect_einval("%pZ");
	expect_einval("%pi5");
	expect_einval("%pI");
	expect_einval("a\x01");        /* control characters */
	expect_einval("\x7f");
	expect_einval("%\xc3");        /* non-ASCII conversion */
	expect_einval("%*d");
	assert_int_equal(usm__h_trace_printk.fn(&run, (uintptr_t)nonul, 4, 0,
						0, 0), E(-EINVAL));
	assert_int_equal(usm__h_trace_printk.fn(&run, (uintptr_t)"ab", 2, 0, 0,
						0), E(-EINVAL)); /* NUL past size */
	assert_int_equal(usm__h_trace_printk.fn(&run, (uintptr_t)"ab\0cd", 5,
						0, 0, 0), 2); /* stops at NUL */
}

/* ---- printk against the kernel -------------------------------------- */

struct pk_val {
	char fmt[64];
	uint64_t a1, a2, a3;
	uint32_t fmt_size;
	uint32_t str_arg; /* 1: a1 = address of str[] */
	char str[32];
};

static int pk_prog(int map_fd)
{
	struct bpf_insn p[32];
	int n = 0;

#define I(c, d, s, o, im)                                                      \
	p[n++] = (struct bpf_insn){ .code = (c), .dst_reg = (d),               \
				    .src_reg = (s), .off = (o), .imm = (im) }
	I(BPF_ST | BPF_MEM | BPF_W, 10, 0, -4, 0);
	I(BPF_LD | BPF_IMM | BPF_DW, 1, BPF_PSEUDO_MAP_FD, 0, map_fd);
	I(0, 0, 0, 0, 0);
	I(BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0);
	I(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -4);
	I(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem);
	I(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 14, 0);           /* -> out */
	I(BPF_ALU64 | BPF_MOV | BPF_X, 7, 0, 0, 0);
	I(BPF_LDX | BPF_MEM | BPF_W, 2, 7, 88, 0);           /* fmt_size */
	I(BPF_JMP | BPF_JGT | BPF_K, 2, 0, 11, 64);          /* -> out */
	I(BPF_JMP | BPF_JEQ | BPF_K, 2, 0, 10, 0);           /* -> out */
	I(BPF_LDX | BPF_MEM | BPF_DW, 3, 7, 64, 0);
	I(BPF_LDX | BPF_MEM | BPF_DW, 4, 7, 72, 0);
	I(BPF_LDX | BPF_MEM | BPF_DW, 5, 7, 80, 0);
	I(BPF_LDX | BPF_MEM | BPF_W, 8, 7, 92, 0);           /* str_arg */
	I(BPF_JMP | BPF_JEQ | BPF_K, 8, 0, 2, 0);            /* -> call */
	I(BPF_ALU64 | BPF_MOV | BPF_X, 3, 7, 0, 0);
	I(BPF_ALU64 | BPF_ADD | BPF_K, 3, 0, 0, 96);
	I(BPF_ALU64 | BPF_MOV | BPF_X, 1, 7, 0, 0);          /* call: */
	I(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_trace_printk);
	I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	I(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0x7777);     /* out: */
	I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
#undef I
	return bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "usm_printk", "GPL",
			     p, (size_t)n, NULL);
}

struct pkcase {
	const char *fmt;
	uint64_t a1, a2, a3;
	int str_arg;
	const char *str;
};

static const struct pkcase pk_cases[] = {
	{ "hello", 0, 0, 0, 0, NULL },
	{ "%d %u %x\n", (uint64_t)-5, 7, 255, 0, NULL },
	{ "%ld %lu %llx", (uint64_t)-5, (uint64_t)-1, 0xabcdefull, 0, NULL },
	{ "%5d|%-3u|%03x", 42, 7, 10, 0, NULL },
	{ "%+d % d %X", 3, 4, 0xbeef, 0, NULL },
	{ "100%% %c", 'x', 0, 0, 0, NULL },
	{ "<%s>", 0, 0, 0, 1, "usockmap" },
	{ "[%10s]", 0, 0, 0, 1, "abc" },
	{ "%pI4", 0, 0, 0, 1, "\x7f\x01\x02\x03" },
	{ "%pi4", 0, 0, 0, 1, "\x0a\x00\x00\x01" },
	{ "%pI6", 0, 0, 0, 1, "0123456789abcdef" },
	{ "%pi6", 0, 0, 0, 1, "0123456789abcdef" },
	{ "%px", 0x1234, 0, 0, 0, NULL },
	{ "%d %d %d %d", 1, 2, 3, 0, NULL },
	{ "%.2d", 1, 0, 0, 0, NULL },
	{ "%q", 1, 0, 0, 0, NULL },
	{ "%lllu", 1, 0, 0, 0, NULL },
	{ "%hd", 1, 0, 0, 0, NULL },
	{ "%sx", 0, 0, 0, 1, "a" },
	{ "%pZ", 1, 0, 0, 0, NULL },
	{ "%pi5", 1, 0, 0, 0, NULL },
	{ "a\x01", 0, 0, 0, 0, NULL },
	{ "%", 0, 0, 0, 0, NULL },
	{ "%*d", 1, 2, 0, 0, NULL },
	{ "caf\xc3\xa9 %d", 1, 0, 0, 0, NULL },
	{ "%1000d|%000005d|%-+ 0d", 7, 8, 9, 0, NULL },
	{ "%3000x", 1, 0, 0, 0, NULL },
};

static void test_printk_against_kernel(void **state)
{
	const char *why;
	uint32_t key = 0;
	int map, prog, bad = 0;
	size_t i;

	if (!usm_test_have_kernel_bpf(&why)) {
		USM_SKIP("%s", why);
		return;
	}
	map = bpf_map_create(BPF_MAP_TYPE_ARRAY, "usm_pk", 4, 128, 1, NULL);
	prog = map >= 0 ? pk_prog(map) : -1;
	if (prog < 0) {
		if (map >= 0)
			close(map);
		USM_SKIP("kernel printk program did not load");
		return;
	}
	for (i = 0; i < sizeof(pk_cases) / sizeof(pk_cases[0]); i++) {
		const struct pkcase *c = &pk_cases[i];
		struct pk_val v;
		uint8_t pkt[64] = { 0 };
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt,
			    .data_size_in = sizeof(pkt));
		int64_t ours;

		memset(&v, 0, sizeof(v));
		snprintf(v.fmt, sizeof(v.fmt), "%s", c->fmt);
		v.fmt_size = (uint32_t)strlen(c->fmt) + 1;
		v.a1 = c->a1;
		v.a2 = c->a2;
		v.a3 = c->a3;
		v.str_arg = (uint32_t)c->str_arg;
		if (c->str)
			memcpy(v.str, c->str, strlen(c->str));
		assert_int_equal(bpf_map_update_elem(map, &key, &v, 0), 0);
		assert_int_equal(bpf_prog_test_run_opts(prog, &o), 0);
		ours = printk(v.fmt, c->str_arg ? (uintptr_t)v.str : v.a1,
			      v.a2, v.a3);
		if (i == 0)
			assert_int_equal(o.retval, 5); /* "hello" */
		if (getenv("USM_DEBUG"))
			print_message("# %s -> %d\n", c->fmt, (int32_t)o.retval);
		if ((int32_t)o.retval == (int32_t)ours)
			continue;
		print_error("fmt \"%s\": kernel %d, usockmap %lld\n", c->fmt,
			    (int32_t)o.retval, (long long)ours);
		bad++;
	}
	close(prog);
	close(map);
	assert_int_equal(bad, 0);
}

/* ---- maps, clocks, ids -------------------------------------------- */

static void test_map_helpers(void **state)
{
	struct usm_map_attr attr = { .map_type = BPF_MAP_TYPE_HASH,
				     .key_size = 4, .value_size = 8,
				     .max_entries = 2 };
	struct usm_run run = { 0 };
	struct usm_map *m;
	uint32_t k1 = 1, k2 = 2, k3 = 3;
	uint64_t v = 42, *p;

	assert_int_equal(usm__map_create(&attr, &m), 0);
	assert_int_equal(usm__h_map_lookup_elem.fn(&run, (uintptr_t)m,
						   (uintptr_t)&k1, 0, 0, 0), 0);
	assert_int_equal(usm__h_map_update_elem.fn(&run, (uintptr_t)m,
						   (uintptr_t)&k1,
						   (uintptr_t)&v, BPF_ANY, 0), 0);
	assert_int_equal(usm__h_map_update_elem.fn(&run, (uintptr_t)m,
						   (uintptr_t)&k1,
						   (uintptr_t)&v, BPF_NOEXIST,
						   0), E(-EEXIST));
	assert_int_equal(usm__h_map_update_elem.fn(&run, (uintptr_t)m,
						   (uintptr_t)&k2,
						   (uintptr_t)&v, BPF_EXIST, 0),
			 E(-ENOENT));
	assert_int_equal(usm__h_map_update_elem.fn(&run, (uintptr_t)m,
						   (uintptr_t)&k2,
						   (uintptr_t)&v, 0, 0), 0);
	assert_int_equal(usm__h_map_update_elem.fn(&run, (uintptr_t)m,
						   (uintptr_t)&k3,
						   (uintptr_t)&v, 0, 0),
			 E(-E2BIG)); /* full */
	p = (uint64_t *)(uintptr_t)usm__h_map_lookup_elem.fn(
		&run, (uintptr_t)m, (uintptr_t)&k1, 0, 0, 0);
	assert_non_null(p);
	assert_int_equal(*p, 42);
	*p = 43; /* the pointer is the map's own storage */
	p = (uint64_t *)(uintptr_t)usm__h_map_lookup_elem.fn(
		&run, (uintptr_t)m, (uintptr_t)&k1, 0, 0, 0);
	assert_int_equal(*p, 43);
	assert_int_equal(usm__h_map_delete_elem.fn(&run, (uintptr_t)m,
						   (uintptr_t)&k1, 0, 0, 0), 0);
	assert_int_equal(usm__h_map_delete_elem.fn(&run, (uintptr_t)m,
						   (uintptr_t)&k1, 0, 0, 0),
			 E(-ENOENT));
	usm__map_put(m);
}

static uint64_t now_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void test_clocks(void **state)
{
	struct usm_run run = { 0 };
	uint64_t a, b, c;

	a = now_ns(CLOCK_MONOTONIC);
	b = usm__h_ktime_get_ns.fn(&run, 0, 0, 0, 0, 0);
	c = now_ns(CLOCK_MONOTONIC);
	assert_true(a <= b && b <= c);
	a = now_ns(CLOCK_BOOTTIME);
	b = usm__h_ktime_get_boot_ns.fn(&run, 0, 0, 0, 0, 0);
	c = now_ns(CLOCK_BOOTTIME);
	assert_true(a <= b && b <= c);
	a = now_ns(CLOCK_MONOTONIC_COARSE);
	b = usm__h_ktime_get_coarse_ns.fn(&run, 0, 0, 0, 0, 0);
	c = now_ns(CLOCK_MONOTONIC_COARSE);
	assert_true(a <= b && b <= c);
}

static void test_random_and_ids(void **state)
{
	struct usm_run run = { .cpu = 5 };
	uint64_t r, seen_hi = 0, prev = 0;
	int i, same = 0;

	for (i = 0; i < 1000; i++) {
		r = usm__h_get_prandom_u32.fn(&run, 0, 0, 0, 0, 0);
		assert_true(r <= 0xffffffffull);
		seen_hi |= r;
		same += r == prev;
		prev = r;
	}
	assert_true(seen_hi == 0xffffffffull); /* every bit set sometimes */
	assert_true(same < 3);
	assert_int_equal(usm__h_get_smp_processor_id.fn(&run, 0, 0, 0, 0, 0),
			 5);
	r = usm__h_get_numa_node_id.fn(&run, 0, 0, 0, 0, 0);
	assert_true(r < 1024);
}

/* sk_release drops the reference a sockmap lookup took (MAP-LKP-05). */
static void test_sk_release(void **state)
{
	struct usm_run run = { 0 };
	struct usm_sock *sk;
	int sv[2], before;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(usm__sock_from_fd(sv[0], 0, &sk), 0);
	before = sk->refcnt;
	usm__sock_get(sk);
	assert_int_equal(sk->refcnt, before + 1);
	assert_int_equal(usm__h_sk_release.fn(&run, (uintptr_t)sk, 0, 0, 0, 0),
			 0);
	assert_int_equal(sk->refcnt, before);
	usm__sock_put(sk);
	close(sv[0]);
	close(sv[1]);
}

static void test_base_prototypes(void **state)
{
	assert_int_equal(usm__h_map_lookup_elem.ret,
			 USM_RET_PTR_TO_MAP_VALUE_OR_NULL);
	assert_memory_equal(usm__h_map_lookup_elem.args,
			    ((uint8_t[5]){ USM_ARG_CONST_MAP_PTR,
					   USM_ARG_PTR_TO_MAP_KEY }), 5);
	assert_memory_equal(usm__h_map_update_elem.args,
			    ((uint8_t[5]){ USM_ARG_CONST_MAP_PTR,
					   USM_ARG_PTR_TO_MAP_KEY,
					   USM_ARG_PTR_TO_MAP_VALUE,
					   USM_ARG_ANYTHING }), 5);
	assert_memory_equal(usm__h_tail_call.args,
			    ((uint8_t[5]){ USM_ARG_PTR_TO_CTX,
					   USM_ARG_CONST_MAP_PTR,
					   USM_ARG_ANYTHING }), 5);
	assert_memory_equal(usm__h_trace_printk.args,
			    ((uint8_t[5]){ USM_ARG_PTR_TO_MEM,
					   USM_ARG_CONST_SIZE }), 5);
	assert_int_equal(usm__h_trace_printk.flags, USM_HF_GPL_ONLY);
	assert_int_equal(usm__h_sk_release.args[0], USM_ARG_PTR_TO_SOCK_COMMON);
	assert_int_equal(usm__h_sk_release.flags, USM_HF_RELEASE);
	assert_int_equal(usm__h_ktime_get_ns.args[0], USM_ARG_NONE);
	/* the interpreter runs tail calls; the fallback fails like a
	 * failed tail call */
	assert_int_equal(usm__h_tail_call.fn(NULL, 0, 0, 0, 0, 0), E(-EINVAL));
}

static void test_helper_names(void **state)
{
	assert_string_equal(usm__helper_name(1), "bpf_map_lookup_elem");
	assert_string_equal(usm__helper_name(BPF_FUNC_tail_call),
			    "bpf_tail_call");
	assert_string_equal(usm__helper_name(BPF_FUNC_sk_redirect_map),
			    "bpf_sk_redirect_map");
	assert_string_equal(usm__helper_name(BPF_FUNC_msg_pop_data),
			    "bpf_msg_pop_data");
	assert_string_equal(usm__helper_name(BPF_FUNC_sk_select_reuseport),
			    "bpf_sk_select_reuseport");
	assert_string_equal(usm__helper_name(209), "bpf_user_ringbuf_drain");
	assert_string_equal(usm__helper_name(211), "bpf_cgrp_storage_delete");
	assert_null(usm__helper_name(0));
	assert_null(usm__helper_name(212));
	assert_null(usm__helper_name(0xffffffffu));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_printk_formats),
		cmocka_unit_test(test_printk_rejects),
		cmocka_unit_test(test_printk_against_kernel),
		cmocka_unit_test(test_map_helpers),
		cmocka_unit_test(test_clocks),
		cmocka_unit_test(test_random_and_ids),
		cmocka_unit_test(test_sk_release),
		cmocka_unit_test(test_base_prototypes),
		cmocka_unit_test(test_helper_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
