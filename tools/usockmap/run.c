/* SPDX-License-Identifier: MIT */
/*
 * `usockmap run`: the programmable proxy (src/proxy/). Parses the options,
 * builds a struct usm_proxy, prints where it listens and runs it until
 * SIGINT/SIGTERM or --duration. Exit 0 after a clean stop, 1 if the proxy
 * could not start or the loop failed, 2 for bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../../src/proxy/proxy.h"
#include "cli.h"

#define RUN_MAX_ARGS 64

struct run_args {
	struct usm_proxy_opts o;
	const char *listen[RUN_MAX_ARGS], *backend[RUN_MAX_ARGS];
	struct usm_proxy_place place[RUN_MAX_ARGS];
	struct usm_proxy_attach attach[RUN_MAX_ARGS];
	char *owned[3 * RUN_MAX_ARGS];
	uint32_t n_owned;
};

static const char run_usage[] =
	"Usage: usockmap run OBJ --listen ADDR:PORT [--listen ...]\n"
	"         [--backend ADDR:PORT ...] [--map NAME:KEY=client|backend|listener ...]\n"
	"         [--attach PROG:MAP ...] [--trace [--json]] [--control PATH]\n"
	"         [--max-conns N] [--duration SEC]\n"
	"       usockmap run OBJ --reuseport ADDR:PORT [--workers N] [--proto tcp|udp]\n"
	"         [--reuseport-prog PROG] [--reuseport-map MAP] [--backend ...] [...]\n"
	"See docs/proxy.md.\n";

static int add_str(const char **v, uint32_t *n, const char *s, const char *opt)
{
	struct sockaddr_storage ss;
	uint32_t len;

	if (*n >= RUN_MAX_ARGS) {
		cli_err("run: too many %s", opt);
		return CLI_USAGE;
	}
	if (usm__proxy_parse_addr(s, &ss, &len)) {
		cli_err("run: %s '%s': expected ADDR:PORT (IPv6: [ADDR]:PORT)",
			opt, s);
		return CLI_USAGE;
	}
	v[(*n)++] = s;
	return CLI_OK;
}

static int parse_role(const char *s, enum usm_proxy_role *r)
{
	if (strcmp(s, "client") == 0)
		*r = USM_PROXY_CLIENT;
	else if (strcmp(s, "backend") == 0)
		*r = USM_PROXY_BACKEND;
	else if (strcmp(s, "listener") == 0)
		*r = USM_PROXY_LISTENER;
	else
		return -EINVAL;
	return 0;
}

/* NAME:KEY=ROLE */
static int add_place(struct run_args *a, const char *s)
{
	struct usm_proxy_place *pl = &a->place[a->o.n_place];
	char *d = strdup(s), *colon, *eq;

	if (!d || a->o.n_place >= RUN_MAX_ARGS) {
		free(d);
		cli_err("run: --map: out of memory or too many");
		return CLI_USAGE;
	}
	a->owned[a->n_owned++] = d;
	colon = strchr(d, ':');
	eq = colon ? strchr(colon, '=') : NULL;
	if (!colon || !eq || colon == d || eq == colon + 1 ||
	    parse_role(eq + 1, &pl->role)) {
		cli_err("run: --map '%s': expected NAME:KEY=client|backend|"
			"listener", s);
		return CLI_USAGE;
	}
	*colon = *eq = '\0';
	pl->map = d;
	pl->key = colon + 1;
	a->o.n_place++;
	return CLI_OK;
}

/* PROG:MAP */
static int add_attach(struct run_args *a, const char *s)
{
	struct usm_proxy_attach *at = &a->attach[a->o.n_attach];
	char *d = strdup(s), *colon;

	if (!d || a->o.n_attach >= RUN_MAX_ARGS) {
		free(d);
		cli_err("run: --attach: out of memory or too many");
		return CLI_USAGE;
	}
	a->owned[a->n_owned++] = d;
	colon = strchr(d, ':');
	if (!colon || colon == d || !colon[1]) {
		cli_err("run: --attach '%s': expected PROG:MAP", s);
		return CLI_USAGE;
	}
	*colon = '\0';
	at->prog = d;
	at->map = colon + 1;
	a->o.n_attach++;
	return CLI_OK;
}

static int parse_secs(const char *s, uint32_t *ms)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v <= 0 || v > 4000000) {
		cli_err("run: --duration '%s': expected seconds > 0", s);
		return CLI_USAGE;
	}
	*ms = (uint32_t)(v * 1000.0 + 0.5);
	if (!*ms)
		*ms = 1;
	return CLI_OK;
}

/* --reuseport ADDR:PORT, --workers N, --proto tcp|udp, --reuseport-prog,
 * --reuseport-map */
static int parse_rp(struct run_args *a, int c, const char *arg)
{
	struct sockaddr_storage ss;
	uint32_t len;
	uint64_t v;

	if (c == 'R' && usm__proxy_parse_addr(arg, &ss, &len)) {
		cli_err("run: --reuseport '%s': expected ADDR:PORT (IPv6: "
			"[ADDR]:PORT)", arg);
		return CLI_USAGE;
	}
	if (c == 'W' && (cli_parse_u64(arg, &v) || v < 1 || v > 64)) {
		cli_err("run: --workers '%s': expected 1..64", arg);
		return CLI_USAGE;
	}
	if (c == 'P' && strcmp(arg, "tcp") && strcmp(arg, "udp")) {
		cli_err("run: --proto '%s': expected tcp or udp", arg);
		return CLI_USAGE;
	}
	if (c == 'R')
		a->o.reuseport = arg;
	else if (c == 'W')
		a->o.rp_workers = (uint32_t)v;
	else if (c == 'P')
		a->o.rp_proto = strcmp(arg, "udp") ? SOCK_STREAM : SOCK_DGRAM;
	else if (c == 'G')
		a->o.rp_prog = arg;
	else
		a->o.rp_map = arg;
	return CLI_OK;
}

static int parse_one(struct run_args *a, int c, const char *arg)
{
	uint64_t v;

	switch (c) {
	case 'l':
		return add_str(a->listen, &a->o.n_listen, arg, "--listen");
	case 'b':
		return add_str(a->backend, &a->o.n_backend, arg, "--backend");
	case 'm':
		return add_place(a, arg);
	case 'a':
		return add_attach(a, arg);
	case 't':
		a->o.trace = true;
		return CLI_OK;
	case 'j':
		a->o.trace_json = true;
		return CLI_OK;
	case 'c':
		a->o.control_path = arg;
		return CLI_OK;
	case 'n':
		if (cli_parse_u64(arg, &v) || v > UINT32_MAX) {
			cli_err("run: --max-conns '%s': expected a number", arg);
			return CLI_USAGE;
		}
		a->o.max_conns = (uint32_t)v;
		return CLI_OK;
	case 'd':
		return parse_secs(arg, &a->o.duration_ms);
	case 'R': case 'W': case 'P': case 'G': case 'M':
		return parse_rp(a, c, arg);
	default:
		fputs(run_usage, stderr);
		return CLI_USAGE;
	}
}

/* Combinations getopt cannot check. */
static int check_args(const struct run_args *a)
{
	if (a->o.trace_json && !a->o.trace) {
		cli_err("run: --json needs --trace");
		return CLI_USAGE;
	}
	if (!a->o.n_listen && !a->o.reuseport) {
		cli_err("run: at least one --listen ADDR:PORT (or --reuseport "
			"ADDR:PORT) is needed");
		return CLI_USAGE;
	}
	if (!a->o.reuseport && (a->o.rp_workers || a->o.rp_proto ||
				a->o.rp_prog || a->o.rp_map)) {
		cli_err("run: --workers, --proto, --reuseport-prog and "
			"--reuseport-map need --reuseport ADDR:PORT");
		return CLI_USAGE;
	}
	return CLI_OK;
}

static int parse_args(struct run_args *a, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "backend", required_argument, NULL, 'b' },
		{ "map", required_argument, NULL, 'm' },
		{ "attach", required_argument, NULL, 'a' },
		{ "trace", no_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "control", required_argument, NULL, 'c' },
		{ "max-conns", required_argument, NULL, 'n' },
		{ "duration", required_argument, NULL, 'd' },
		{ "reuseport", required_argument, NULL, 'R' },
		{ "workers", required_argument, NULL, 'W' },
		{ "proto", required_argument, NULL, 'P' },
		{ "reuseport-prog", required_argument, NULL, 'G' },
		{ "reuseport-map", required_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, rc;

	optind = 0; /* glibc: 0 re-initialises getopt for a new argv */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(run_usage, stdout);
			return -1;
		}
		rc = parse_one(a, c, optarg);
		if (rc)
			return rc;
	}
	if (optind != argc - 1) {
		cli_err("run: expected exactly one object file (see --help)");
		return CLI_USAGE;
	}
	rc = check_args(a);
	if (rc)
		return rc;
	a->o.obj_path = argv[optind];
	return CLI_OK;
}

static void announce(struct usm_proxy *p, uint32_t n_listen)
{
	char buf[80];
	uint32_t i;

	if (!usm__proxy_rp_addr(p, buf, sizeof(buf)))
		fprintf(stderr, "usockmap: reuseport group on %s\n", buf);
	for (i = 0; i < n_listen; i++)
		if (!usm__proxy_listen_addr(p, i, buf, sizeof(buf)))
			fprintf(stderr, "usockmap: listening on %s\n", buf);
	if (usm__proxy_control_path(p))
		fprintf(stderr, "usockmap: control socket %s\n",
			usm__proxy_control_path(p));
	fflush(stderr);
}

int cli_run(int argc, char **argv)
{
	struct run_args *a = calloc(1, sizeof(*a));
	struct usm_proxy *p = NULL;
	char err[1024] = "";
	int rc;
	uint32_t i;

	if (!a) {
		cli_err("run: out of memory");
		return CLI_FAIL;
	}
	a->o.sz = sizeof(a->o);
	a->o.listen = a->listen;
	a->o.backend = a->backend;
	a->o.place = a->place;
	a->o.attach = a->attach;
	rc = parse_args(a, argc, argv);
	if (rc == -1)
		rc = CLI_OK;
	else if (rc == CLI_OK && usm__proxy_new(&a->o, &p, err, sizeof(err))) {
		cli_err("run: %s", err);
		rc = CLI_FAIL;
	} else if (rc == CLI_OK) {
		announce(p, a->o.n_listen);
		rc = usm__proxy_run(p) ? CLI_FAIL : CLI_OK;
	}
	usm__proxy_free(p);
	for (i = 0; i < a->n_owned; i++)
		free(a->owned[i]);
	free(a);
	return rc;
}
