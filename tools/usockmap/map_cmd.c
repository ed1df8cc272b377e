/* SPDX-License-Identifier: MIT */
/*
 * `usockmap map dump|lookup|update|delete NAME [KEY] [VALUE] [FLAGS]
 * [--json] [--control PATH | --pid PID]`: map commands on a running
 * `usockmap run`, over its control socket (stats.c has the client).
 * Keys and values are decimal integers or 0x and hex bytes; socket maps
 * show (and take, for update) socket cookies. FLAGS: any, noexist, exist.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int want_words(const char *verb, int n)
{
	if (strcmp(verb, "dump") == 0)
		return n == 1;
	if (strcmp(verb, "lookup") == 0 || strcmp(verb, "delete") == 0)
		return n == 2;
	if (strcmp(verb, "update") == 0)
		return n == 3 || n == 4;
	return -1;
}

static int build_line(char *line, size_t size, int argc, char **argv,
		      int first, bool json)
{
	size_t len = 0;
	int i, w;

	w = snprintf(line, size, "map");
	len = (size_t)w;
	for (i = first; i < argc; i++) {
		if (strpbrk(argv[i], " \t\r\n") || !argv[i][0]) {
			cli_err("map: bad word '%s'", argv[i]);
			return CLI_USAGE;
		}
		w = snprintf(line + len, size - len, " %s", argv[i]);
		if (w < 0 || (size_t)w >= size - len) {
			cli_err("map: arguments too long");
			return CLI_USAGE;
		}
		len += (size_t)w;
	}
	if (json && len + 6 < size)
		strcat(line, " json");
	return CLI_OK;
}

int cli_map(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "control", required_argument, NULL, 'c' },
		{ "pid", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL, *pid = NULL;
	char buf[256], line[1024];
	bool json = false;
	int c, rc, ok;

	optind = 0; /* glibc: 0 re-initialises getopt for a new argv */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'j')
			json = true;
		else if (c == 'c')
			path = optarg;
		else if (c == 'p')
			pid = optarg;
		else
			return CLI_USAGE;
	}
	if (optind >= argc) {
		cli_err("map: expected dump, lookup, update or delete");
		return CLI_USAGE;
	}
	ok = want_words(argv[optind], argc - optind - 1);
	if (ok <= 0) {
		cli_err(ok < 0 ? "map: unknown command '%s'" :
			"map %s: wrong number of arguments (see --help)",
			argv[optind]);
		return CLI_USAGE;
	}
	rc = build_line(line, sizeof(line), argc, argv, optind, json);
	if (!rc)
		rc = cli_control_path(path, pid, buf, sizeof(buf));
	if (!rc)
		rc = cli_control_request(buf, line);
	return rc;
}
