/* SPDX-License-Identifier: MIT */
/*
 * Printing a `prog run` outcome: one JSON object (--json) or the same facts
 * as readable text. The JSON keys are always all present; a key that does
 * not apply to the program type is null:
 *
 *   program, section, type, attach_type   strings
 *   retval        integer (r0, low 32 bits)
 *   verdict       "pass" | "drop" | "redirect" (sk_skb, sk_msg),
 *                 "pass" | "drop" | "select" (sk_reuseport), null (stream
 *                 parser, sock_ops)
 *   parser        stream parser only: the message length N, "need more"
 *                 (0) or "error" (negative; the errno is -retval as int)
 *   redirect      null or {"map": name, "key": integer (4-byte keys) or
 *                 "0x.." (the key's bytes), "flags": integer, "ingress":
 *                 bool}
 *   selected      sk_reuseport: null or {"map": name, "key": ...}
 *   data_out      hex of the packet/message after the run (null for
 *                 sk_reuseport and sock_ops); data_size_out its length
 *   apply_bytes, cork_bytes   sk_msg integers
 *   ctx_out       the writable context fields after the run: sk_skb
 *                 {"priority", "tc_index"}, sock_ops {"reply",
 *                 "sk_txhash"}; null otherwise
 *   trace         array of bpf_printk lines
 *   repeat, ns_per_run, insns   integers; run_error null or a message
 */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <linux/bpf.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static bool is_parser(const struct usm_prog_run_result *res)
{
	return res->prog_type == BPF_PROG_TYPE_SK_SKB &&
	       res->attach_type == BPF_SK_SKB_STREAM_PARSER;
}

static uint32_t ctx_u32(const struct usm_prog_run_result *res, size_t off)
{
	uint32_t v = 0;

	if (res->ctx_out && off + 4 <= res->ctx_size_out)
		memcpy(&v, (const uint8_t *)res->ctx_out + off, 4);
	return v;
}

/* 4-byte keys as the integer, others as 0x + bytes. */
static json_t *key_json(const uint8_t *key, uint32_t size)
{
	uint32_t v;
	char *hex, *s;
	json_t *j;

	if (size == 4) {
		memcpy(&v, key, 4);
		return json_integer(v);
	}
	hex = cli_hex(key, size);
	if (!hex)
		return NULL;
	s = malloc(strlen(hex) + 3);
	if (!s) {
		free(hex);
		return NULL;
	}
	sprintf(s, "0x%s", hex);
	j = json_string(s);
	free(hex);
	free(s);
	return j;
}

static json_t *redirect_json(const struct usm_prog_run_result *res)
{
	if (!res->redirected)
		return json_null();
	return json_pack("{s:s, s:o, s:I, s:b}", "map", res->redirect_map,
			 "key",
			 key_json(res->redirect_key, res->redirect_key_size),
			 "flags", (json_int_t)res->redirect_flags, "ingress",
			 (res->redirect_flags & BPF_F_INGRESS) != 0);
}

static json_t *selected_json(const struct usm_prog_run_result *res)
{
	if (!res->selected)
		return json_null();
	return json_pack("{s:s, s:o}", "map", res->selected_map, "key",
			 key_json(res->selected_key, res->selected_key_size));
}

static json_t *parser_json(const struct usm_prog_run_result *res)
{
	int32_t r = (int32_t)res->retval;

	if (!is_parser(res))
		return json_null();
	if (r > 0)
		return json_integer(r);
	return json_string(r == 0 ? "need more" : "error");
}

static json_t *data_json(const struct usm_prog_run_result *res)
{
	char *hex;
	json_t *j;

	if (!res->data_out)
		return json_null();
	hex = cli_hex(res->data_out, res->data_size_out);
	if (!hex)
		return NULL;
	j = json_string(hex);
	free(hex);
	return j;
}

static json_t *ctx_out_json(const struct usm_prog_run_result *res)
{
	if (res->prog_type == BPF_PROG_TYPE_SK_SKB)
		return json_pack(
			"{s:I, s:I}", "priority",
			(json_int_t)ctx_u32(res, offsetof(struct __sk_buff,
							  priority)),
			"tc_index",
			(json_int_t)ctx_u32(res, offsetof(struct __sk_buff,
							  tc_index)));
	if (res->prog_type == BPF_PROG_TYPE_SOCK_OPS)
		return json_pack(
			"{s:I, s:I}", "reply",
			(json_int_t)ctx_u32(res,
					    offsetof(struct bpf_sock_ops, reply)),
			"sk_txhash",
			(json_int_t)ctx_u32(res, offsetof(struct bpf_sock_ops,
							  sk_txhash)));
	return json_null();
}

static json_t *msg_int(const struct usm_prog_run_result *res, uint32_t v)
{
	return res->prog_type == BPF_PROG_TYPE_SK_MSG ? json_integer(v)
						      : json_null();
}

static json_t *trace_json(const struct cli_trace *t)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < t->cnt; i++)
		if (json_array_append_new(a, json_string(t->lines[i]))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *run_error_json(const struct usm_prog_run_result *res)
{
	char buf[128];

	if (!res->run_error)
		return json_null();
	snprintf(buf, sizeof(buf), "run aborted: %s%s", strerror(-res->run_error),
		 res->run_error == -E2BIG ? " (instruction budget exhausted)"
					  : "");
	return json_string(buf);
}

static json_t *report_json(const struct cli_run_report *r)
{
	const struct usm_prog_run_result *res = r->res;
	const char *v = usm_verdict_str(res->verdict);

	return json_pack(
		"{s:s, s:s, s:s, s:s, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o,"
		" s:o, s:o, s:o, s:I, s:I, s:I, s:o}",
		"program", usm_program_name(r->prog), "section",
		usm_program_section(r->prog), "type",
		cli_type_name(res->prog_type), "attach_type",
		cli_attach_name(res->attach_type), "retval",
		(json_int_t)res->retval, "verdict",
		v ? json_string(v) : json_null(), "parser", parser_json(res),
		"redirect", redirect_json(res), "selected", selected_json(res),
		"data_out", data_json(res), "data_size_out",
		res->data_out ? json_integer(res->data_size_out) : json_null(),
		"apply_bytes", msg_int(res, res->apply_bytes), "cork_bytes",
		msg_int(res, res->cork_bytes), "ctx_out", ctx_out_json(res),
		"trace", trace_json(r->trace), "repeat", (json_int_t)res->runs,
		"ns_per_run", (json_int_t)res->ns_per_run, "insns",
		(json_int_t)res->insns_executed, "run_error",
		run_error_json(res));
}

int cli_print_json(const struct cli_run_report *r)
{
	json_t *o = report_json(r);
	char *s;

	if (!o) {
		cli_err("out of memory building JSON");
		return CLI_FAIL;
	}
	s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!s) {
		cli_err("out of memory building JSON");
		return CLI_FAIL;
	}
	printf("%s\n", s);
	free(s);
	return CLI_OK;
}

/* ---- text ---- */

#define TEXT_MAX_BYTES 256u

static void text_key(const uint8_t *key, uint32_t size)
{
	uint32_t v, i;

	if (size == 4) {
		memcpy(&v, key, 4);
		printf("%u", v);
		return;
	}
	printf("0x");
	for (i = 0; i < size; i++)
		printf("%02x", key[i]);
}

static void text_data(const struct usm_prog_run_result *res)
{
	const uint8_t *d = res->data_out;
	uint32_t n = res->data_size_out, shown, i;
	bool printable = true;

	if (!d)
		return;
	shown = n < TEXT_MAX_BYTES ? n : TEXT_MAX_BYTES;
	printf("%-10s %u byte%s", "data_out", n, n == 1 ? "" : "s");
	if (n)
		printf(": ");
	for (i = 0; i < shown; i++) {
		printf("%02x", d[i]);
		if (!isprint(d[i]))
			printable = false;
	}
	if (shown < n)
		printf("...");
	if (n && printable)
		printf("  \"%.*s%s\"", (int)shown, (const char *)d,
		       shown < n ? "..." : "");
	printf("\n");
}

static void text_verdict(const struct usm_prog_run_result *res)
{
	int32_t r = (int32_t)res->retval;

	if (is_parser(res)) {
		if (r > 0)
			printf("%-10s message length %d%s\n", "parser", r,
			       (uint32_t)r > res->data_size_out
				       ? " (waits for more bytes)"
				       : "");
		else if (r == 0)
			printf("%-10s need more data\n", "parser");
		else
			printf("%-10s error %d (%s): the stream is aborted\n",
			       "parser", r, strerror(-r));
		return;
	}
	if (res->verdict == USM_VERDICT_NONE)
		return;
	printf("%-10s %s", "verdict", usm_verdict_str(res->verdict));
	if (res->verdict == USM_VERDICT_REDIRECT) {
		printf(" to %s[", res->redirect_map);
		text_key(res->redirect_key, res->redirect_key_size);
		printf("] %s", res->redirect_flags & BPF_F_INGRESS
				       ? "(ingress)"
				       : "(egress)");
	} else if (res->verdict == USM_VERDICT_SELECT) {
		printf(" %s[", res->selected_map);
		text_key(res->selected_key, res->selected_key_size);
		printf("]");
	} else if (res->verdict == USM_VERDICT_PASS &&
		   res->prog_type == BPF_PROG_TYPE_SK_REUSEPORT) {
		printf(" (no selection: the group's hash picks the socket)");
	}
	printf("\n");
}

static void text_extra(const struct usm_prog_run_result *res)
{
	if (res->prog_type == BPF_PROG_TYPE_SK_MSG) {
		printf("%-10s %u\n", "apply", res->apply_bytes);
		printf("%-10s %u\n", "cork", res->cork_bytes);
	} else if (res->prog_type == BPF_PROG_TYPE_SK_SKB) {
		printf("%-10s priority %u, tc_index %u\n", "ctx_out",
		       ctx_u32(res, offsetof(struct __sk_buff, priority)),
		       ctx_u32(res, offsetof(struct __sk_buff, tc_index)));
	} else if (res->prog_type == BPF_PROG_TYPE_SOCK_OPS) {
		printf("%-10s reply %u, sk_txhash %u\n", "ctx_out",
		       ctx_u32(res, offsetof(struct bpf_sock_ops, reply)),
		       ctx_u32(res, offsetof(struct bpf_sock_ops, sk_txhash)));
	}
}

void cli_print_text(const struct cli_run_report *r)
{
	const struct usm_prog_run_result *res = r->res;
	size_t i;

	printf("%-10s %s (%s: %s, %s)\n", "program", usm_program_name(r->prog),
	       usm_program_section(r->prog), cli_type_name(res->prog_type),
	       cli_attach_name(res->attach_type));
	printf("%-10s %u", "retval", res->retval);
	if (res->prog_type != BPF_PROG_TYPE_SOCK_OPS && !is_parser(res) &&
	    res->retval <= SK_PASS)
		printf(" (%s)", res->retval == SK_PASS ? "SK_PASS" : "SK_DROP");
	else if ((int32_t)res->retval < 0)
		printf(" (%d)", (int32_t)res->retval);
	printf("\n");
	text_verdict(res);
	text_data(res);
	text_extra(res);
	for (i = 0; i < r->trace->cnt; i++)
		printf("%-10s %s\n", i ? "" : "trace", r->trace->lines[i]);
	if (res->run_error)
		printf("%-10s run aborted: %s\n", "error",
		       strerror(-res->run_error));
	printf("%-10s %llu ns/run over %u run%s, %llu instructions\n", "time",
	       (unsigned long long)res->ns_per_run, res->runs,
	       res->runs == 1 ? "" : "s",
	       (unsigned long long)res->insns_executed);
}
