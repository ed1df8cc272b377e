/* SPDX-License-Identifier: MIT */
/*
 * Shared test support: cmocka includes, skips with a reason, and where the
 * build put the BPF objects and the CLI. Tests name the SEMANTICS id they
 * check in the test function name or a comment next to the assertion.
 */
#ifndef USM_TEST_H
#define USM_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

/* Skip the current test, printing why (shown by tests/run.sh). */
#define USM_SKIP(...)                                                          \
	do {                                                                   \
		printf("# SKIP: " __VA_ARGS__);                                \
		printf("\n");                                                  \
		skip();                                                        \
	} while (0)

/* Build directory (USM_BUILD, default "build"). */
const char *usm_test_build_dir(void);

/* Path of a compiled BPF object: "<build>/bpf/<rel without .c>.o", e.g.
 * usm_test_bpf_path("tests/bpf/parser") -> build/bpf/tests/bpf/parser.bpf.o.
 * Returns a static buffer. */
const char *usm_test_bpf_path(const char *rel);

/* Path of the CLI binary. */
const char *usm_test_cli_path(void);

/* 1 if running as root with kernel BPF usable (for kernel comparisons);
 * otherwise 0 and *why says what is missing. */
int usm_test_have_kernel_bpf(const char **why);

/* Run a shell command, capture stdout into a malloc'd string (*out) and
 * return the exit status (-1 if it could not run). */
int usm_test_run_cmd(const char *cmd, char **out);

#endif /* USM_TEST_H */
