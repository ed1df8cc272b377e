/* SPDX-License-Identifier: MIT */
/*
 * `usockmap prog load OBJ [--verbose]`: verify every program of an object,
 * like loading it into the kernel would. On success one line per program:
 * name, section, type, instructions, instructions the verifier processed,
 * stack bytes. If the object does not load, each program is loaded on its
 * own to find every rejected one; their verifier logs are printed and the
 * exit status is 1.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include "../../src/loader/loader.h"
#include "../../src/vm/vm.h"
#include "cli.h"

#define LOAD_LOG_SIZE (1u << 20)

static void header(void)
{
	printf("%-26s %-24s %-13s %6s %9s %6s\n", "PROGRAM", "SECTION", "TYPE",
	       "INSNS", "VERIFIED", "STACK");
}

static void line(const struct usm_program *p)
{
	const struct usm_prog *pr = usm__program_prog(p);

	if (!pr) {
		printf("%-26s %-24s %-13s not loaded: %s\n",
		       usm_program_name(p), usm_program_section(p),
		       cli_type_name(usm_program_type(p)), usm_program_log(p));
		return;
	}
	printf("%-26s %-24s %-13s %6u %9u %6u\n", usm_program_name(p),
	       usm_program_section(p), cli_type_name(pr->type), pr->insn_cnt,
	       pr->verified_insns, pr->stack_depth);
}

/* The verifier's summary for a loaded program (--verbose). */
static void verbose_log(struct usm_program *p)
{
	char *log = calloc(1, LOAD_LOG_SIZE);

	if (!log)
		return;
	if (usm_program_verify(p, log, LOAD_LOG_SIZE, 1) == 0 && *log)
		printf("--- %s verifier log:\n%s", usm_program_name(p), log);
	free(log);
}

static int all_ok(struct usm_object *obj, bool verbose)
{
	struct usm_program *p = NULL;
	uint32_t n = 0;

	header();
	while ((p = usm_object_next_program(obj, p))) {
		line(p);
		n += usm__program_prog(p) != NULL;
	}
	if (verbose) {
		p = NULL;
		while ((p = usm_object_next_program(obj, p)))
			if (usm__program_prog(p))
				verbose_log(p);
	}
	printf("%u program%s verified\n", n, n == 1 ? "" : "s");
	return CLI_OK;
}

/* Print @text indented, ending with a newline. */
static void indented(const char *text)
{
	const char *p = text, *nl;

	while (*p) {
		nl = strchr(p, '\n');
		fprintf(stderr, "    %.*s\n", nl ? (int)(nl - p) : (int)strlen(p),
			p);
		if (!nl)
			break;
		p = nl + 1;
	}
}

/* Load @name alone from @path and print its line; when it fails, whether
 * the verifier rejected it (its log) or the object failed around it (the
 * loader's messages). Returns 1 if it did not load. */
static int one(const char *path, const char *name)
{
	struct usm_object_open_opts oo = { .sz = sizeof(oo) };
	struct usm_object *obj = NULL;
	struct usm_program *p, *q = NULL;
	const char *vlog;
	int err, bad = 1;

	oo.log_buf = calloc(1, LOAD_LOG_SIZE);
	oo.log_size = LOAD_LOG_SIZE;
	if (!oo.log_buf || usm_object_open(path, &oo, &obj))
		goto out;
	p = usm_object_find_program(obj, name);
	while ((q = usm_object_next_program(obj, q)))
		usm_program_set_autoload(q, q == p);
	err = usm_object_load(obj);
	if (!err) {
		line(p);
		bad = 0;
		goto out;
	}
	vlog = usm_program_log(p);
	if (vlog && *vlog) {
		printf("%-26s %-24s REJECTED by the verifier (%s)\n", name,
		       usm_program_section(p), strerror(-err));
		fflush(stdout); /* keep the table and the logs in order */
		fprintf(stderr, "program %s: verifier log:\n", name);
		indented(vlog);
	} else {
		printf("%-26s %-24s NOT LOADED (%s)\n", name,
		       usm_program_section(p), strerror(-err));
		fflush(stdout);
		fprintf(stderr, "program %s: the object does not load:\n", name);
		indented(oo.log_buf);
	}
out:
	usm_object_close(obj);
	free(oo.log_buf);
	return bad;
}

/* The object as a whole did not load: find every rejected program. */
static int diagnose(const char *path)
{
	struct usm_object_open_opts oo = { .sz = sizeof(oo) };
	struct usm_object *obj;
	const struct usm_program *p = NULL;
	uint32_t bad = 0, n = 0;
	int err;

	err = usm_object_open(path, &oo, &obj);
	if (err)
		return CLI_FAIL;
	header();
	while ((p = usm_object_next_program(obj, p))) {
		n++;
		if (!usm_program_autoload(p)) {
			line(p);
			continue;
		}
		bad += one(path, usm_program_name(p));
	}
	usm_object_close(obj);
	if (bad)
		printf("%u of %u program%s not loaded\n", bad, n,
		       n == 1 ? "" : "s");
	else
		printf("every program verifies on its own; the object as a "
		       "whole does not load (see above)\n");
	return CLI_FAIL;
}

int cli_prog_load(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	struct usm_object *obj;
	bool verbose = false;
	int c, rc;

	optind = 0; /* glibc: 0 re-initialises getopt for a new argv */
	while ((c = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
		if (c != 'v') {
			cli_err("prog load: bad option (see usockmap --help)");
			return CLI_USAGE;
		}
		verbose = true;
	}
	if (optind != argc - 1) {
		cli_err("prog load: expected exactly one OBJ (see --help)");
		return CLI_USAGE;
	}
	rc = cli_open_load(argv[optind], false, NULL, true, &obj);
	if (rc == CLI_OK) {
		rc = all_ok(obj, verbose);
		usm_object_close(obj);
		return rc;
	}
	if (rc == CLI_USAGE) /* cannot open: say why */
		return cli_open_load(argv[optind], false, NULL, false, &obj);
	return diagnose(argv[optind]);
}
