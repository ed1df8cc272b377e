/* SPDX-License-Identifier: MIT */
/*
 * The usockmap CLI end to end: `prog run` text and --json output on
 * sk_skb, sk_msg, sk_reuseport and sock_ops programs (the JSON parsed with
 * jansson and every key checked), --ctx-in JSON byte orders (SKB-20),
 * --sock/--self with real sockets (SKB-14, SKB-17, MSG-16, RPP-05), `prog
 * load` and `prog dump`, and every bad input exiting non-zero with a clear
 * message.
 */
#include "usm_test.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[64];

static int group_setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/usm-cli-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	char cmd[128];
	char *out;

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	usm_test_run_cmd(cmd, &out);
	free(out);
	return 0;
}

/* Write @len bytes to $tmpdir/@name; returns the path (static). */
static const char *tmpfile_with(const char *name, const void *data,
				size_t len)
{
	static char path[8][256];
	static int next;
	char *p = path[next++ % 8];
	FILE *f;

	snprintf(p, 256, "%s/%s", tmpdir, name);
	f = fopen(p, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
	return p;
}

static const char *obj(const char *rel)
{
	static char path[4][512];
	static int next;
	char *p = path[next++ % 4];

	snprintf(p, 512, "%s", usm_test_bpf_path(rel));
	return p;
}

/* Run the CLI with @fmt arguments; *out gets stdout+stderr (or stdout
 * only with @json). Returns the exit status. */
static int cli(char **out, bool stdout_only, const char *fmt, ...)
{
	char args[2048], cmd[2600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "%s %s %s", usm_test_cli_path(), args,
		 stdout_only ? "2>/dev/null" : "2>&1");
	return usm_test_run_cmd(cmd, out);
}

/* Run with --json, parse, check the shape; returns the object. */
static json_t *cli_json(const char *fmt, ...)
{
	char args[2048];
	json_error_t err;
	va_list ap;
	json_t *j;
	char *out;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	assert_int_equal(cli(&out, true, "prog run --json %s", args), 0);
	j = json_loads(out, 0, &err);
	if (!j)
		fail_msg("not JSON (%s): %s", err.text, out);
	free(out);
	return j;
}

static bool is_int_or_null(json_t *v)
{
	return json_is_integer(v) || json_is_null(v);
}

/* Every key of the documented shape, with its JSON kind. */
static void check_shape(json_t *j)
{
	json_t *v;

	assert_true(json_is_object(j));
	assert_int_equal(json_object_size(j), 19);
	assert_true(json_is_string(json_object_get(j, "program")));
	assert_true(json_is_string(json_object_get(j, "section")));
	assert_true(json_is_string(json_object_get(j, "type")));
	assert_true(json_is_string(json_object_get(j, "attach_type")));
	assert_true(json_is_integer(json_object_get(j, "retval")));
	v = json_object_get(j, "verdict");
	assert_true(json_is_string(v) || json_is_null(v));
	v = json_object_get(j, "parser");
	assert_true(json_is_integer(v) || json_is_string(v) ||
		    json_is_null(v));
	v = json_object_get(j, "redirect");
	assert_true(json_is_object(v) || json_is_null(v));
	v = json_object_get(j, "selected");
	assert_true(json_is_object(v) || json_is_null(v));
	v = json_object_get(j, "data_out");
	assert_true(json_is_string(v) || json_is_null(v));
	assert_true(is_int_or_null(json_object_get(j, "data_size_out")));
	assert_true(is_int_or_null(json_object_get(j, "apply_bytes")));
	assert_true(is_int_or_null(json_object_get(j, "cork_bytes")));
	v = json_object_get(j, "ctx_out");
	assert_true(json_is_object(v) || json_is_null(v));
	assert_true(json_is_array(json_object_get(j, "trace")));
	assert_true(json_is_integer(json_object_get(j, "repeat")));
	assert_true(json_is_integer(json_object_get(j, "ns_per_run")));
	assert_true(json_is_integer(json_object_get(j, "insns")));
	v = json_object_get(j, "run_error");
	assert_true(json_is_string(v) || json_is_null(v));
}

static const char *jstr(json_t *j, const char *k)
{
	json_t *v = json_object_get(j, k);

	assert_true(json_is_string(v));
	return json_string_value(v);
}

static long long jint(json_t *j, const char *k)
{
	json_t *v = json_object_get(j, k);

	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

/* SKB-11 through the CLI, JSON. */
static void test_json_skb_pass_SKB11(void **state)
{
	const char *d = tmpfile_with("hello.bin", "hello", 5);
	json_t *j;

	(void)state;
	j = cli_json("%s --prog verdict_pass --data-in %s",
		     obj("tests/bpf/run_skb"), d);
	check_shape(j);
	assert_string_equal(jstr(j, "program"), "verdict_pass");
	assert_string_equal(jstr(j, "section"), "sk_skb/stream_verdict");
	assert_string_equal(jstr(j, "type"), "sk_skb");
	assert_string_equal(jstr(j, "attach_type"), "stream_verdict");
	assert_int_equal(jint(j, "retval"), 1);
	assert_string_equal(jstr(j, "verdict"), "pass");
	assert_true(json_is_null(json_object_get(j, "redirect")));
	assert_true(json_is_null(json_object_get(j, "parser")));
	assert_true(json_is_null(json_object_get(j, "selected")));
	assert_true(json_is_null(json_object_get(j, "apply_bytes")));
	assert_string_equal(jstr(j, "data_out"), "68656c6c6f");
	assert_int_equal(jint(j, "data_size_out"), 5);
	assert_int_equal(jint(j, "repeat"), 1);
	json_decref(j);
}

/* SKB-17: redirect to a present key (integer key) and an absent one. */
static void test_json_skb_redirect_SKB17(void **state)
{
	const char *d = tmpfile_with("to1.bin", "1abc", 4);
	json_t *j, *r;

	(void)state;
	j = cli_json("%s --prog verdict_redirect --data-in %s --sock "
		     "sock_map:1",
		     obj("tests/bpf/run_skb"), d);
	check_shape(j);
	assert_string_equal(jstr(j, "verdict"), "redirect");
	r = json_object_get(j, "redirect");
	assert_true(json_is_object(r));
	assert_string_equal(jstr(r, "map"), "sock_map");
	assert_int_equal(jint(r, "key"), 1);
	assert_int_equal(jint(r, "flags"), 0);
	assert_true(json_is_false(json_object_get(r, "ingress")));
	json_decref(j);
	j = cli_json("%s --prog verdict_redirect --data-in %s",
		     obj("tests/bpf/run_skb"), d);
	assert_string_equal(jstr(j, "verdict"), "drop");
	assert_int_equal(jint(j, "retval"), 0);
	assert_true(json_is_null(json_object_get(j, "redirect")));
	json_decref(j);
}

/* SOCKHASH keys are given and reported as 0x + bytes. */
static void test_json_skb_redirect_hash_key(void **state)
{
	json_t *j, *r;

	(void)state;
	j = cli_json("%s --prog verdict_redirect_hash --data-hex 41 --sock "
		     "sock_hash:0x0807060504030201",
		     obj("tests/bpf/run_skb"));
	assert_string_equal(jstr(j, "verdict"), "redirect");
	r = json_object_get(j, "redirect");
	assert_string_equal(jstr(r, "map"), "sock_hash");
	assert_string_equal(jstr(r, "key"), "0x0807060504030201");
	json_decref(j);
	/* Decimal for the same key: 0x0102030405060708 in host order. */
	j = cli_json("%s --prog verdict_redirect_hash --data-hex 41 --sock "
		     "sock_hash:72623859790382856",
		     obj("tests/bpf/run_skb"));
	assert_string_equal(jstr(j, "verdict"), "redirect");
	json_decref(j);
}

/* SKB-13 and SKB-14 through the CLI. */
static void test_json_skb_SKB13_SKB14(void **state)
{
	json_t *j, *r;

	(void)state;
	j = cli_json("%s --prog verdict_redirect_drop --data-hex 00 --sock "
		     "sock_map:0",
		     obj("tests/bpf/run_skb"));
	assert_string_equal(jstr(j, "verdict"), "drop");
	json_decref(j);
	j = cli_json("%s --prog verdict_redirect_ingress --data-hex 00 "
		     "--self sock_map:0",
		     obj("tests/bpf/run_skb"));
	assert_string_equal(jstr(j, "verdict"), "pass");
	json_decref(j);
	j = cli_json("%s --prog verdict_redirect_ingress --data-hex 00 "
		     "--sock sock_map:0",
		     obj("tests/bpf/run_skb"));
	assert_string_equal(jstr(j, "verdict"), "redirect");
	r = json_object_get(j, "redirect");
	assert_int_equal(jint(r, "flags"), 1);
	assert_true(json_is_true(json_object_get(r, "ingress")));
	json_decref(j);
}

/* data_out after helpers; trace lines (SKB-26, SKB-28). */
static void test_json_skb_data_and_trace_SKB26(void **state)
{
	json_t *j, *t;

	(void)state;
	j = cli_json("%s --prog verdict_change_tail --data-hex 616263",
		     obj("tests/bpf/run_skb"));
	assert_string_equal(jstr(j, "data_out"), "616263000000");
	t = json_object_get(j, "trace");
	assert_int_equal(json_array_size(t), 1);
	assert_string_equal(json_string_value(json_array_get(t, 0)),
			    "change_tail 0");
	json_decref(j);
	j = cli_json("%s --prog verdict_adjust_room --data-hex 616263646566",
		     obj("tests/bpf/run_skb"));
	assert_string_equal(jstr(j, "data_out"), "63646566");
	json_decref(j);
}

/* SKB-20: --ctx-in values in host order, read back by the program. */
static void test_ctx_json_SKB20(void **state)
{
	const char *ctx = "{\"local_port\": 8080, \"remote_port\": 80, "
			  "\"remote_ip4\": \"10.0.0.1\", \"family\": "
			  "\"AF_INET\", \"cb\": [5, 1], \"priority\": 0}";
	const char *c = tmpfile_with("ctx.json", ctx, strlen(ctx));
	json_t *j, *t;

	(void)state;
	j = cli_json("%s --prog verdict_printk --data-hex 61626364 --ctx-in %s",
		     obj("tests/bpf/run_skb"), c);
	t = json_object_get(j, "trace");
	assert_int_equal(json_array_size(t), 3);
	assert_string_equal(json_string_value(json_array_get(t, 1)),
			    "local_port 8080 remote_port 80");
	assert_string_equal(json_string_value(json_array_get(t, 2)),
			    "remote_ip4 a000001 family 2");
	json_decref(j);
	j = cli_json("%s --prog verdict_port80 --data-hex 61 --ctx-in %s",
		     obj("tests/bpf/run_skb"), c);
	assert_string_equal(jstr(j, "verdict"), "pass");
	json_decref(j);
	j = cli_json("%s --prog verdict_cb --data-hex 61 --ctx-in %s",
		     obj("tests/bpf/run_skb"), c);
	assert_int_equal(jint(j, "retval"), 1);
	assert_int_equal(jint(json_object_get(j, "ctx_out"), "priority"), 5);
	json_decref(j);
}

/* SKB-20: IPv6 text, stored in network order word by word. */
static void test_ctx_json_ip6_SKB20(void **state)
{
	const char *ctx = "{\"remote_ip6\": \"2001:db8::1\", \"local_ip6\": "
			  "\"fe80::2\", \"family\": \"AF_INET6\"}";
	const char *c = tmpfile_with("ip6.json", ctx, strlen(ctx));
	json_t *j, *t;

	(void)state;
	j = cli_json("%s --prog verdict_ip6 --data-hex 61 --ctx-in %s",
		     obj("tests/bpf/run_skb"), c);
	t = json_object_get(j, "trace");
	assert_int_equal(json_array_size(t), 2);
	assert_string_equal(json_string_value(json_array_get(t, 0)),
			    "remote_ip6 20010db8:1");
	assert_string_equal(json_string_value(json_array_get(t, 1)),
			    "local_ip6 fe800000 family 10");
	json_decref(j);
}

/* Stream parser: "parser" is N, "need more" or "error". */
static void test_json_parser_SKB01(void **state)
{
	json_t *j;

	(void)state;
	j = cli_json("%s --prog parse_hdr --data-hex 000568656c6c6f",
		     obj("tests/bpf/run_skb"));
	check_shape(j);
	assert_int_equal(jint(j, "parser"), 7);
	assert_true(json_is_null(json_object_get(j, "verdict")));
	json_decref(j);
	j = cli_json("%s --prog parse_hdr --data-hex 00",
		     obj("tests/bpf/run_skb"));
	assert_string_equal(jstr(j, "parser"), "need more");
	json_decref(j);
	j = cli_json("%s --prog parse_err --data-hex 00",
		     obj("tests/bpf/run_skb"));
	assert_string_equal(jstr(j, "parser"), "error");
	assert_int_equal((int32_t)jint(j, "retval"), -22);
	json_decref(j);
	j = cli_json("%s --prog verdict_pass --as parser --data-hex 00",
		     obj("tests/bpf/run_skb"));
	assert_int_equal(jint(j, "parser"), 1);
	json_decref(j);
}

/* sk_msg: MSG-12 push, MSG-07/08 apply/cork, MSG-16 redirect. */
static void test_json_msg_MSG12_MSG16(void **state)
{
	json_t *j;

	(void)state;
	j = cli_json("%s --prog msg_push --data-hex 68656c6c6f",
		     obj("tests/bpf/run_msg"));
	check_shape(j);
	assert_string_equal(jstr(j, "type"), "sk_msg");
	assert_string_equal(jstr(j, "verdict"), "pass");
	assert_string_equal(jstr(j, "data_out"), "4844523a68656c6c6f");
	assert_int_equal(jint(j, "apply_bytes"), 0);
	assert_int_equal(jint(j, "cork_bytes"), 0);
	json_decref(j);
	j = cli_json("%s --prog msg_apply_cork --data-hex 00",
		     obj("tests/bpf/run_msg"));
	assert_int_equal(jint(j, "apply_bytes"), 10);
	assert_int_equal(jint(j, "cork_bytes"), 20);
	json_decref(j);
	j = cli_json("%s --prog msg_redirect --data-hex 00 --sock sock_map:1",
		     obj("tests/bpf/run_msg"));
	assert_string_equal(jstr(j, "verdict"), "redirect");
	json_decref(j);
	j = cli_json("%s --prog msg_redirect --data-hex 00 --sock sock_map:2",
		     obj("tests/bpf/run_msg"));
	assert_string_equal(jstr(j, "verdict"), "drop");
	json_decref(j);
	j = cli_json("%s --prog msg_pop --data-hex 616263646566 --repeat 50",
		     obj("tests/bpf/run_msg"));
	assert_string_equal(jstr(j, "data_out"), "61646566");
	assert_int_equal(jint(j, "repeat"), 50);
	json_decref(j);
}

/* sk_reuseport: RPP-04/05 select vs fallback; "selected". */
static void test_json_reuseport_RPP04(void **state)
{
	const char *ctx = "{\"hash\": 4, \"ip_protocol\": \"IPPROTO_TCP\", "
			  "\"eth_protocol\": \"ETH_P_IP\"}";
	const char *c = tmpfile_with("rp.json", ctx, strlen(ctx));
	json_t *j, *s;

	(void)state;
	j = cli_json("%s --prog sel_hash --data-hex 00501f90 --ctx-in %s "
		     "--sock sock_map:0",
		     obj("tests/bpf/run_reuseport"), c);
	check_shape(j);
	assert_string_equal(jstr(j, "verdict"), "select");
	s = json_object_get(j, "selected");
	assert_string_equal(jstr(s, "map"), "sock_map");
	assert_int_equal(jint(s, "key"), 0);
	assert_true(json_is_null(json_object_get(j, "data_out")));
	json_decref(j);
	j = cli_json("%s --prog sel_hash --data-hex 00501f90 --ctx-in %s",
		     obj("tests/bpf/run_reuseport"), c);
	assert_string_equal(jstr(j, "verdict"), "pass");
	assert_true(json_is_null(json_object_get(j, "selected")));
	json_decref(j);
	j = cli_json("%s --prog sel_drop --data-hex 00501f90",
		     obj("tests/bpf/run_reuseport"));
	assert_string_equal(jstr(j, "verdict"), "drop");
	json_decref(j);
}

/* sock_ops: op by name; MAP-BPF-01 update succeeds. */
static void test_json_sockops_MAPBPF01(void **state)
{
	const char *ctx = "{\"op\": \"BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB\"}";
	const char *c = tmpfile_with("ops.json", ctx, strlen(ctx));
	json_t *j, *t;

	(void)state;
	j = cli_json("%s --ctx-in %s", obj("tests/bpf/run_sockops"), c);
	check_shape(j);
	assert_string_equal(jstr(j, "type"), "sock_ops");
	assert_true(json_is_null(json_object_get(j, "verdict")));
	assert_int_equal(jint(j, "retval"), 1);
	t = json_object_get(j, "trace");
	assert_int_equal(json_array_size(t), 1);
	assert_non_null(strstr(json_string_value(json_array_get(t, 0)),
			       "update 0"));
	assert_non_null(strstr(json_string_value(json_array_get(t, 0)),
			       "op 4 "));
	json_decref(j);
}

/* Readable text output. */
static void test_text_output(void **state)
{
	char *out;

	(void)state;
	assert_int_equal(cli(&out, false,
			     "prog run %s --prog verdict_redirect --data-hex "
			     "3161 --sock sock_map:1",
			     obj("tests/bpf/run_skb")),
			 0);
	assert_non_null(strstr(out, "verdict    redirect to sock_map[1] "
				    "(egress)"));
	assert_non_null(strstr(out, "retval     1 (SK_PASS)"));
	assert_non_null(strstr(out, "data_out   2 bytes: 3161  \"1a\""));
	free(out);
	assert_int_equal(cli(&out, false, "prog run %s --prog parse_hdr "
					  "--data-hex 00",
			     obj("tests/bpf/run_skb")),
			 0);
	assert_non_null(strstr(out, "parser     need more data"));
	free(out);
}

/* Every bad input: non-zero exit and a message that names the problem. */
static void expect_fail(int want_rc, const char *want_msg, const char *fmt,
			...)
{
	char args[2048];
	va_list ap;
	char *out;
	int rc;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	rc = cli(&out, false, "%s", args);
	if (rc != want_rc || !strstr(out, want_msg))
		fail_msg("'%s': exit %d (want %d), output:\n%s\n(want '%s')",
			 args, rc, want_rc, out, want_msg);
	free(out);
}

static void test_bad_inputs(void **state)
{
	const char *bad = "{\"local_port\": 80,";
	const char *badj = tmpfile_with("bad.json", bad, strlen(bad));
	const char *unk = "{\"bogus\": 1}";
	const char *unkj = tmpfile_with("unk.json", unk, strlen(unk));
	const char *ro = "{\"data\": 1}";
	const char *roj = tmpfile_with("ro.json", ro, strlen(ro));
	const char *typ = "{\"remote_ip4\": 5}";
	const char *typj = tmpfile_with("typ.json", typ, strlen(typ));
	const char *garbage = tmpfile_with("garbage.o", "not an ELF", 10);
	const char *skb = obj("tests/bpf/run_skb");

	(void)state;
	expect_fail(2, "No such file", "prog run %s --prog verdict_pass "
		    "--data-in /nonexistent/x", skb);
	expect_fail(2, "--ctx-in", "prog run %s --prog verdict_pass "
		    "--data-hex 00 --ctx-in %s", skb, badj);
	expect_fail(2, "no program 'nope'", "prog run %s --prog nope "
		    "--data-hex 00", skb);
	{
		/* Without --prog the first program runs (the rule). */
		char *o = NULL;
		int rc = cli(&o, false, "prog run %s --data-hex 00", skb);

		assert_int_equal(rc, 0);
		assert_non_null(strstr(o, "first program, 'parse_len'"));
		free(o);
	}
	expect_fail(2, "unknown field 'bogus'", "prog run %s --prog "
		    "verdict_pass --data-hex 00 --ctx-in %s", skb, unkj);
	expect_fail(2, "field 'data' cannot be set", "prog run %s --prog "
		    "verdict_pass --data-hex 00 --ctx-in %s", skb, roj);
	expect_fail(2, "remote_ip4", "prog run %s --prog verdict_pass "
		    "--data-hex 00 --ctx-in %s", skb, typj);
	expect_fail(2, "no map 'nomap'", "prog run %s --prog verdict_pass "
		    "--data-hex 00 --sock nomap:1", skb);
	expect_fail(2, "exactly 16 hex digits", "prog run %s --prog "
		    "verdict_pass --data-hex 00 --sock sock_hash:0x01", skb);
	expect_fail(2, "MAP:KEY", "prog run %s --prog verdict_pass "
		    "--data-hex 00 --sock sock_map", skb);
	expect_fail(2, "at least one byte", "prog run %s --prog verdict_pass",
		    skb);
	expect_fail(2, "--data-hex", "prog run %s --prog verdict_pass "
		    "--data-hex 0", skb);
	expect_fail(2, "cannot open", "prog run %s --data-hex 00", garbage);
	expect_fail(2, "cannot open", "prog run /nonexistent.o");
	expect_fail(2, "--as", "prog run %s --prog verdict_pass --as x", skb);
	expect_fail(2, "--repeat", "prog run %s --prog verdict_pass --repeat "
		    "-1", skb);
	expect_fail(2, "unknown command", "frobnicate");
	expect_fail(2, "expected exactly one OBJ", "prog run");
	/* A rejected program: exit 1 and the verifier log. */
	expect_fail(1, "unchecked_read", "prog run %s --data-hex 00",
		    obj("tests/bpf/run_bad"));
	expect_fail(1, "rejected", "prog run %s --data-hex 00",
		    obj("tests/bpf/run_bad"));
}

static void test_prog_load(void **state)
{
	char *out, *p;
	int lines = 0;

	(void)state;
	assert_int_equal(cli(&out, false, "prog load %s",
			     obj("tests/bpf/run_skb")),
			 0);
	for (p = out; (p = strstr(p, "sk_skb/stream_")); p++)
		lines++;
	assert_int_equal(lines, 22); /* every program of run_skb.bpf.c */
	assert_non_null(strstr(out, "parse_len"));
	assert_non_null(strstr(out, "22 programs verified"));
	free(out);
	assert_int_equal(cli(&out, false, "prog load %s",
			     obj("tests/bpf/run_bad")),
			 1);
	assert_non_null(strstr(out, "REJECTED by the verifier"));
	assert_non_null(strstr(out, "verifier log:"));
	assert_non_null(strstr(out, "1 of 1 program not loaded"));
	free(out);
	assert_int_equal(cli(&out, false, "prog load /nonexistent.o"), 2);
	free(out);
}

static void test_prog_dump(void **state)
{
	char *out;

	(void)state;
	assert_int_equal(cli(&out, false, "prog dump %s --prog parse_len",
			     obj("tests/bpf/run_skb")),
			 0);
	assert_non_null(strstr(out, "parse_len (sk_skb/stream_parser)"));
	assert_non_null(strstr(out, "exit"));
	free(out);
	assert_int_equal(cli(&out, false, "prog dump %s --prog nope",
			     obj("tests/bpf/run_skb")),
			 2);
	free(out);
}

static void test_help(void **state)
{
	char *out;

	(void)state;
	assert_int_equal(cli(&out, false, "--help"), 0);
	assert_non_null(strstr(out, "Usage: usockmap"));
	assert_non_null(strstr(out, "prog run OBJ"));
	free(out);
	assert_int_equal(cli(&out, false, ""), 2);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_skb_pass_SKB11),
		cmocka_unit_test(test_json_skb_redirect_SKB17),
		cmocka_unit_test(test_json_skb_redirect_hash_key),
		cmocka_unit_test(test_json_skb_SKB13_SKB14),
		cmocka_unit_test(test_json_skb_data_and_trace_SKB26),
		cmocka_unit_test(test_ctx_json_SKB20),
		cmocka_unit_test(test_ctx_json_ip6_SKB20),
		cmocka_unit_test(test_json_parser_SKB01),
		cmocka_unit_test(test_json_msg_MSG12_MSG16),
		cmocka_unit_test(test_json_reuseport_RPP04),
		cmocka_unit_test(test_json_sockops_MAPBPF01),
		cmocka_unit_test(test_text_output),
		cmocka_unit_test(test_bad_inputs),
		cmocka_unit_test(test_prog_load),
		cmocka_unit_test(test_prog_dump),
		cmocka_unit_test(test_help),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
