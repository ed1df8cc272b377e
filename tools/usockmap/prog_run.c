/* SPDX-License-Identifier: MIT */
/*
 * `usockmap prog run OBJ ...`: load one program of an object, build its
 * input from files and flags, run it with usm_prog_run() and print the
 * outcome (run_out.c). See main.c's usage text for the flags.
 *
 * Exit status: 0 the program ran (whatever its verdict), 1 it could not be
 * loaded or run, 2 bad usage or input (unknown program or map, unreadable
 * file, bad JSON, unknown context field).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/bpf.h>

#include "cli.h"

#define RUN_MAX_SOCKS 64u
#define RUN_LOG_SIZE 4096u

struct run_args {
	const char *obj;
	const char *prog;
	const char *data_in;
	const char *data_hex;
	const char *ctx_in;
	const char *socks[RUN_MAX_SOCKS];
	uint32_t sock_cnt;
	const char *self;
	uint32_t attach;
	uint64_t chunk, repeat, budget, linear;
	bool json;
};

/* Resolved --sock entries. */
struct run_socks {
	struct usm_prog_run_sock s[RUN_MAX_SOCKS + 1];
	uint8_t keys[RUN_MAX_SOCKS + 1][USM_RUN_MAX_KEY];
	uint32_t cnt;
	uint32_t self; /* 1-based, 0 none */
};

static int parse_as(const char *s, uint32_t *attach)
{
	if (strcmp(s, "parser") == 0 || strcmp(s, "stream_parser") == 0)
		*attach = BPF_SK_SKB_STREAM_PARSER;
	else if (strcmp(s, "verdict") == 0 ||
		 strcmp(s, "stream_verdict") == 0)
		*attach = BPF_SK_SKB_STREAM_VERDICT;
	else if (strcmp(s, "skb_verdict") == 0)
		*attach = BPF_SK_SKB_VERDICT;
	else {
		cli_err("--as '%s': expected parser, verdict or skb_verdict",
			s);
		return CLI_USAGE;
	}
	return 0;
}

static int parse_num(const char *flag, const char *s, uint64_t max,
		     uint64_t *v)
{
	if (cli_parse_u64(s, v) == 0 && *v <= max)
		return 0;
	cli_err("%s '%s': expected a number up to %llu", flag, s,
		(unsigned long long)max);
	return CLI_USAGE;
}

static int parse_opt(int c, struct run_args *a)
{
	switch (c) {
	case 'p': a->prog = optarg; return 0;
	case 'd': a->data_in = optarg; return 0;
	case 'x': a->data_hex = optarg; return 0;
	case 'c': a->ctx_in = optarg; return 0;
	case 'j': a->json = true; return 0;
	case 'e': a->self = optarg; return 0;
	case 'a': return parse_as(optarg, &a->attach);
	case 'k': return parse_num("--chunk", optarg, UINT32_MAX, &a->chunk);
	case 'l':
		if (strcmp(optarg, "all") == 0) {
			a->linear = UINT32_MAX;
			return 0;
		}
		return parse_num("--linear", optarg, UINT32_MAX, &a->linear);
	case 'r':
		return parse_num("--repeat", optarg, USM_RUN_MAX_REPEAT,
				 &a->repeat);
	case 'b': return parse_num("--budget", optarg, UINT64_MAX, &a->budget);
	case 's':
		if (a->sock_cnt == RUN_MAX_SOCKS) {
			cli_err("--sock: at most %u", RUN_MAX_SOCKS);
			return CLI_USAGE;
		}
		a->socks[a->sock_cnt++] = optarg;
		return 0;
	default:
		cli_err("prog run: bad option (see usockmap --help)");
		return CLI_USAGE;
	}
}

static int parse_args(int argc, char **argv, struct run_args *a)
{
	static const struct option opts[] = {
		{ "prog", required_argument, NULL, 'p' },
		{ "data-in", required_argument, NULL, 'd' },
		{ "data-hex", required_argument, NULL, 'x' },
		{ "ctx-in", required_argument, NULL, 'c' },
		{ "sock", required_argument, NULL, 's' },
		{ "self", required_argument, NULL, 'e' },
		{ "as", required_argument, NULL, 'a' },
		{ "chunk", required_argument, NULL, 'k' },
		{ "linear", required_argument, NULL, 'l' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "budget", required_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	int c, rc;

	memset(a, 0, sizeof(*a));
	optind = 0; /* glibc: 0 re-initialises getopt for a new argv */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		rc = parse_opt(c, a);
		if (rc)
			return rc;
	}
	if (optind != argc - 1) {
		cli_err("prog run: expected exactly one OBJ (see --help)");
		return CLI_USAGE;
	}
	if (a->data_in && a->data_hex) {
		cli_err("prog run: --data-in and --data-hex exclude each other");
		return CLI_USAGE;
	}
	if (a->data_in && a->ctx_in && strcmp(a->data_in, "-") == 0 &&
	    strcmp(a->ctx_in, "-") == 0) {
		cli_err("prog run: --data-in and --ctx-in cannot both read "
			"stdin");
		return CLI_USAGE;
	}
	a->obj = argv[optind];
	return 0;
}

static int load_data(const struct run_args *a, uint8_t **data, size_t *size)
{
	int err;

	*data = NULL;
	*size = 0;
	if (a->data_hex) {
		*size = strlen(a->data_hex) / 2;
		*data = malloc(*size ? *size : 1);
		if (!*data)
			return CLI_FAIL;
		if (cli_parse_hex(a->data_hex, *data, *size) == 0)
			return 0;
		cli_err("--data-hex: expected an even number of hex digits");
		return CLI_USAGE;
	}
	if (!a->data_in)
		return 0;
	err = cli_read_file(a->data_in, data, size);
	if (err) {
		cli_err("--data-in %s: %s", a->data_in, strerror(-err));
		return CLI_USAGE;
	}
	return 0;
}

static void list_maps(const struct usm_object *obj)
{
	const struct usm_map *m = NULL;

	fprintf(stderr, "maps in the object:");
	while ((m = usm_object_next_map(obj, m)))
		fprintf(stderr, " %s", usm_map_name(m));
	fputc('\n', stderr);
}

/* "MAP:KEY" -> a socket entry; @into is s->cnt. */
static int add_sock(const struct usm_object *obj, const char *text,
		    struct run_socks *s)
{
	const char *colon = strchr(text, ':');
	char name[64];
	struct usm_map *m;
	uint32_t t;

	if (!colon || colon == text || !colon[1] ||
	    (size_t)(colon - text) >= sizeof(name)) {
		cli_err("--sock '%s': expected MAP:KEY", text);
		return CLI_USAGE;
	}
	memcpy(name, text, (size_t)(colon - text));
	name[colon - text] = '\0';
	m = usm_object_find_map(obj, name);
	if (!m) {
		cli_err("--sock '%s': no map '%s' in the object", text, name);
		list_maps(obj);
		return CLI_USAGE;
	}
	t = usm_map_type(m);
	if (t != BPF_MAP_TYPE_SOCKMAP && t != BPF_MAP_TYPE_SOCKHASH &&
	    t != BPF_MAP_TYPE_REUSEPORT_SOCKARRAY) {
		cli_err("--sock '%s': map '%s' is not a SOCKMAP, SOCKHASH or "
			"REUSEPORT_SOCKARRAY", text, name);
		return CLI_USAGE;
	}
	if (usm_map_key_size(m) > USM_RUN_MAX_KEY)
		return CLI_USAGE;
	if (cli_parse_key(colon + 1, usm_map_key_size(m), s->keys[s->cnt]))
		return CLI_USAGE;
	s->s[s->cnt].map = m;
	s->s[s->cnt].key = s->keys[s->cnt];
	s->s[s->cnt].key_size = usm_map_key_size(m);
	s->cnt++;
	return 0;
}

/* --self: the matching --sock entry, or a new one. */
static int resolve_socks(const struct usm_object *obj,
			 const struct run_args *a, struct run_socks *s)
{
	uint32_t i, n;
	int rc;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < a->sock_cnt; i++) {
		rc = add_sock(obj, a->socks[i], s);
		if (rc)
			return rc;
	}
	if (!a->self)
		return 0;
	rc = add_sock(obj, a->self, s);
	if (rc)
		return rc;
	n = s->cnt - 1;
	for (i = 0; i < n; i++) {
		if (s->s[i].map == s->s[n].map &&
		    memcmp(s->keys[i], s->keys[n], s->s[n].key_size) == 0) {
			s->cnt--; /* already given with --sock */
			s->self = i + 1;
			return 0;
		}
	}
	s->self = s->cnt;
	return 0;
}

struct run_input {
	uint8_t *data;
	size_t data_size;
	uint8_t *ctx;
	uint32_t ctx_size;
	struct run_socks socks;
};

static int prepare(const struct usm_object *obj, const struct run_args *a,
		   const struct usm_program *p, struct run_input *in)
{
	int rc;

	rc = load_data(a, &in->data, &in->data_size);
	if (!rc && a->ctx_in)
		rc = cli_ctx_from_json(a->ctx_in, usm_program_type(p), &in->ctx,
				       &in->ctx_size);
	if (!rc)
		rc = resolve_socks(obj, a, &in->socks);
	if (!rc && in->data_size > USM_RUN_MAX_DATA) {
		cli_err("data: %zu bytes, at most %u", in->data_size,
			USM_RUN_MAX_DATA);
		rc = CLI_USAGE;
	}
	return rc;
}

static int run(struct usm_program *p, const struct run_args *a,
	       struct run_input *in)
{
	struct usm_prog_run_opts o = USM_PROG_RUN_OPTS_INIT;
	struct usm_prog_run_result res;
	struct cli_trace trace = { 0 };
	struct cli_run_report rep;
	char log[RUN_LOG_SIZE] = "";
	int err, rc;

	o.data_in = in->data;
	o.data_size_in = (uint32_t)in->data_size;
	o.ctx_in = in->ctx;
	o.ctx_size_in = in->ctx_size;
	o.repeat = (uint32_t)a->repeat;
	o.trace = cli_trace_cb;
	o.trace_arg = &trace;
	o.msg_chunk_size = (uint32_t)a->chunk;
	o.skb_linear_size = (uint32_t)a->linear;
	o.attach_type = a->attach;
	o.socks = in->socks.s;
	o.sock_cnt = in->socks.cnt;
	o.sk_sock = in->socks.self;
	o.insn_budget = a->budget;
	o.log_buf = log;
	o.log_size = sizeof(log);
	err = usm_prog_run(p, &o, &res);
	if (err) {
		cli_err("prog run %s: %s", usm_program_name(p), strerror(-err));
		if (*log)
			fprintf(stderr, "%s", log);
		rc = err == -EINVAL ? CLI_USAGE : CLI_FAIL;
	} else {
		rep.prog = p;
		rep.res = &res;
		rep.trace = &trace;
		rep.repeat = o.repeat;
		rc = a->json ? cli_print_json(&rep) : CLI_OK;
		if (!a->json)
			cli_print_text(&rep);
	}
	usm_prog_run_result_fini(&res);
	cli_trace_fini(&trace);
	return rc;
}

int cli_prog_run(int argc, char **argv)
{
	struct run_input in = { 0 };
	struct usm_object *obj = NULL;
	struct usm_program *p;
	struct run_args a;
	int rc;

	rc = parse_args(argc, argv, &a);
	if (rc)
		return rc;
	rc = cli_open_load(a.obj, true, a.prog, false, &obj);
	if (rc)
		return rc;
	p = cli_pick_program(obj, a.prog);
	rc = p ? prepare(obj, &a, p, &in) : CLI_USAGE;
	if (!rc)
		rc = run(p, &a, &in);
	free(in.data);
	free(in.ctx);
	usm_object_close(obj);
	return rc;
}
