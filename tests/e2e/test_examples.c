/* SPDX-License-Identifier: MIT */
/*
 * examples/README.md is executable documentation: every "$ usockmap ..."
 * line inside a ``` block is run (with $O = <build>/bpf/examples) and its
 * output must be exactly the lines that follow it in the block, except
 * that the run-time line ("time ...") and "ns_per_run" vary and are
 * compared as "...". Run from the repository root (tests/run.sh,
 * scripts/check.sh do).
 */
#include "usm_test.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define README "examples/README.md"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Replace what varies between runs, in place, line by line. */
static void normalise(char *text, char *out, size_t size)
{
	char *line, *save = NULL, *p;
	size_t len = 0;

	out[0] = '\0';
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "time ", 5) == 0)
			line = "time       ...";
		p = strstr(line, "\"ns_per_run\": ");
		if (p)
			strcpy(p, "\"ns_per_run\": ...,");
		len += (size_t)snprintf(out + len, size - len, "%s\n", line);
		if (len >= size)
			break;
	}
}

/* "$O/x" -> "<build>/bpf/examples/x" */
static void expand(const char *cmd, char *out, size_t size)
{
	size_t len = (size_t)snprintf(out, size, "%s ", usm_test_cli_path());
	const char *p;

	for (p = cmd; *p && len + 64 < size; p++) {
		if (p[0] == '$' && p[1] == 'O') {
			len += (size_t)snprintf(out + len, size - len,
						"%s/bpf/examples",
						usm_test_build_dir());
			p++;
		} else {
			out[len++] = *p;
		}
	}
	snprintf(out + len, size - len, " 2>/dev/null");
}

/* Check one command; @want is its expected output (may be modified). */
static void check_cmd(const char *cmd, char *want, int *ran)
{
	static char a[65536], b[65536];
	char full[2048];
	char *out;

	expand(cmd, full, sizeof(full));
	usm_test_run_cmd(full, &out);
	assert_non_null(out);
	normalise(want, a, sizeof(a));
	normalise(out, b, sizeof(b));
	if (strcmp(a, b) != 0)
		fail_msg("README command differs: usockmap %s\n--- want\n%s"
			 "--- got\n%s", cmd, a, b);
	free(out);
	(*ran)++;
}

/* Walk one ``` block: "$ usockmap " lines and the output after each. */
static void check_block(char *block, int *ran)
{
	char *cmd = NULL, *want = NULL, *p = block, *nl;

	while (p && *p) {
		nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		if (strncmp(p, "$ usockmap ", 11) == 0) {
			if (cmd) {
				p[-1] = '\0'; /* end of the previous output */
				check_cmd(cmd, want, ran);
			}
			cmd = p + 11;
			want = nl ? nl + 1 : p + strlen(p);
		} else if (nl && cmd) {
			*nl = '\n'; /* part of the expected output */
		}
		p = nl ? nl + 1 : NULL;
	}
	if (cmd)
		check_cmd(cmd, want, ran);
}

static void test_readme_examples(void **state)
{
	char *text = slurp(README), *p, *end;
	int ran = 0;

	(void)state;
	if (!text)
		USM_SKIP("%s not found: run from the repository root", README);
	for (p = text; (p = strstr(p, "```\n")); p = end + 4) {
		p += 4;
		end = strstr(p, "```\n");
		if (!end)
			break;
		*end = '\0';
		check_block(p, &ran);
	}
	free(text);
	assert_true(ran >= 12); /* every example has its command checked */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_readme_examples),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
