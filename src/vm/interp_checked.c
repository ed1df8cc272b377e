/* SPDX-License-Identifier: MIT */
/*
 * The checked interpreter, usm__prog_run_checked(): interp.c compiled once
 * more with USM_INTERP_CHECKED, which turns on its per-instruction field,
 * jump-target, memory and tail-call-map checks (see vm.h). Used by the
 * fuzzer and the ISA tests to catch programs the verifier should not have
 * admitted; the data path uses the unchecked build.
 */
#define USM_INTERP_CHECKED 1
#include "interp.c"
