/* SPDX-License-Identifier: MIT */
/*
 * `usockmap prog dump OBJ [--prog NAME]`: disassemble programs as they run
 * (after loading: relocated, map references resolved, context loads
 * rewritten), one instruction per line in the kernel verifier's notation.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "../../src/loader/loader.h"
#include "../../src/vm/vm.h"
#include "cli.h"

static void dump(const struct usm_program *p)
{
	const struct usm_prog *pr = usm__program_prog(p);
	char buf[256];
	uint32_t i = 0;
	int n;

	printf("%s (%s): %s, %u instructions\n", usm_program_name(p),
	       usm_program_section(p), cli_type_name(usm_program_type(p)),
	       pr ? pr->insn_cnt : 0);
	if (!pr) {
		printf("  not loaded: %s\n", usm_program_log(p));
		return;
	}
	while (i < pr->insn_cnt) {
		n = usm__prog_disasm_insn(pr, i, buf, sizeof(buf));
		if (n <= 0)
			break;
		printf("%5u: %s\n", i, buf);
		i += (uint32_t)n;
	}
}

int cli_prog_dump(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "prog", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	const struct usm_program *p = NULL;
	struct usm_object *obj;
	const char *name = NULL;
	int c, rc;

	optind = 0; /* glibc: 0 re-initialises getopt for a new argv */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'p') {
			cli_err("prog dump: bad option (see usockmap --help)");
			return CLI_USAGE;
		}
		name = optarg;
	}
	if (optind != argc - 1) {
		cli_err("prog dump: expected exactly one OBJ (see --help)");
		return CLI_USAGE;
	}
	rc = cli_open_load(argv[optind], name != NULL, name, false, &obj);
	if (rc)
		return rc;
	if (name) {
		dump(usm_object_find_program(obj, name));
	} else {
		while ((p = usm_object_next_program(obj, p))) {
			dump(p);
			if (usm_object_next_program(obj, p))
				printf("\n");
		}
	}
	usm_object_close(obj);
	return CLI_OK;
}
