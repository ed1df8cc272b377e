/* SPDX-License-Identifier: MIT */
/*
 * ISA conformance: every case in tests/vm/<name>.data, run on every execution
 * engine (the interpreter and the checked interpreter), one cmocka test per
 * case; cases marked "kernel" also run in the real kernel
 * (BPF_PROG_TEST_RUN on a BPF_PROG_TYPE_SOCKET_FILTER program of the same
 * instructions), whose 32-bit return value must match.
 *
 * Case file format (ours, uBPF-like). '#' lines outside programs are
 * comments. A case starts with "== NAME"; then sections, each introduced by
 * a line "-- KIND [ARG]" and followed by its text lines:
 *   -- asm            the program (src/vm/asm.h syntax). Required.
 *   -- mem            hex bytes; r1 points at a private copy of exactly that
 *                     many bytes and r2 = their count (the runner prepends
 *                     "r2 = LEN" to the program). Without it r1 = r2 = 0.
 *   -- mem-after      hex bytes the memory must hold after the run.
 *   -- value          hex bytes to start map 1 (below) with.
 *   -- slot N         a program for slot N (0..3) of map 0.
 *   -- result V       expected r0 (decimal, 0x hex, or negative), 64 bits.
 *   -- error NAME     expected run->error (E2BIG, EFAULT, EINVAL, ...);
 *                     r0 must then be 0.
 *   -- budget N       run->insn_budget.
 *   -- kernel         also run in the kernel (no mem, slots or test helpers).
 *   -- checked-only   only the checked engine (the case does something the
 *                     verifier would refuse and the plain interpreter trusts).
 * Every program references two maps: index 0 a PROG_ARRAY of 4 slots holding
 * the slot programs, index 1 an ARRAY with one 64-byte value ("map[idx:1]").
 * Test helpers: "call 1000" returns r1 + 2*r2 + 3*r3 + 4*r4 + 5*r5;
 * "call 1001" aborts the run with -ECANCELED.
 */
#include "usm_test.h"

#include <bpf/bpf.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../../src/helpers/helpers.h"
#include "../../../src/maps/map.h"
#include "../../../src/progtype/progtype.h"
#include "../../../src/vm/asm.h"
#include "../../../src/vm/vm.h"

#define NSLOTS    4
#define VALUE_SZ  64
#define MAX_CASES 1024

struct isa_case {
	char *name;
	char *asm_text;
	char *slot_text[NSLOTS];
	uint8_t *mem, *mem_after, *value;
	size_t mem_len, mem_after_len, value_len;
	bool has_mem, has_mem_after, has_result, kernel, checked_only;
	uint64_t result, budget;
	int error;
};

static struct isa_case cases[MAX_CASES];
static size_t ncases;

/* ---- test helpers and program type ------------------------------------ */

static uint64_t h_sum5_fn(struct usm_run *run, uint64_t r1, uint64_t r2,
			  uint64_t r3, uint64_t r4, uint64_t r5)
{
	return r1 + 2 * r2 + 3 * r3 + 4 * r4 + 5 * r5;
}

static uint64_t h_abort_fn(struct usm_run *run, uint64_t r1, uint64_t r2,
			   uint64_t r3, uint64_t r4, uint64_t r5)
{
	run->error = -ECANCELED;
	return 77;
}

static const struct usm_helper h_sum5 = {
	.id = 1000, .name = "test_sum5", .fn = h_sum5_fn,
};
static const struct usm_helper h_abort = {
	.id = 1001, .name = "test_abort", .fn = h_abort_fn,
};

static const struct usm_helper *test_get_helper(uint32_t id)
{
	return id == 1000 ? &h_sum5 : id == 1001 ? &h_abort : NULL;
}

static const struct usm_prog_type test_pt = {
	.type = BPF_PROG_TYPE_SOCKET_FILTER,
	.name = "isa_test",
	.get_helper = test_get_helper,
};

/* ---- case files ---------------------------------------------------------- */

static int hex_val(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Parse hex bytes (whitespace ignored) into a malloc'd buffer. */
static uint8_t *parse_hex(const char *text, size_t *len)
{
	uint8_t *out = malloc(strlen(text) / 2 + 1);
	size_t n = 0;
	int hi = -1, v;

	assert_non_null(out);
	for (; *text; text++) {
		if (*text == ' ' || *text == '\t' || *text == '\n')
			continue;
		v = hex_val((unsigned char)*text);
		if (v < 0)
			fail_msg("bad hex byte text '%s'", text);
		if (hi < 0) {
			hi = v;
		} else {
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	if (hi >= 0)
		fail_msg("odd number of hex digits");
	*len = n;
	return out;
}

static int errno_by_name(const char *s)
{
	static const struct { const char *n; int e; } t[] = {
		{"E2BIG", E2BIG},   {"EFAULT", EFAULT}, {"EINVAL", EINVAL},
		{"ECANCELED", ECANCELED}, {"ENOENT", ENOENT},
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (!strcmp(s, t[i].n))
			return -t[i].e;
	fail_msg("unknown errno name '%s'", s);
	return 0;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	assert_non_null(d);
	return d;
}

/* Attach the collected text of section @kind (argument @arg) to @c. */
static void finish_section(struct isa_case *c, const char *kind,
			   const char *arg, const char *text)
{
	char *end;

	if (!strcmp(kind, "asm")) {
		c->asm_text = xstrdup(text);
	} else if (!strcmp(kind, "slot")) {
		long n = strtol(arg, &end, 10);

		if (n < 0 || n >= NSLOTS || end == arg)
			fail_msg("%s: bad slot '%s'", c->name, arg);
		c->slot_text[n] = xstrdup(text);
	} else if (!strcmp(kind, "mem")) {
		c->mem = parse_hex(text, &c->mem_len);
		c->has_mem = true;
	} else if (!strcmp(kind, "mem-after")) {
		c->mem_after = parse_hex(text, &c->mem_after_len);
		c->has_mem_after = true;
	} else if (!strcmp(kind, "value")) {
		c->value = parse_hex(text, &c->value_len);
		if (c->value_len > VALUE_SZ)
			fail_msg("%s: value longer than %d", c->name, VALUE_SZ);
	} else if (!strcmp(kind, "result")) {
		c->has_result = true;
		c->result = *arg == '-' ? (uint64_t)strtoll(arg, NULL, 0)
					: strtoull(arg, NULL, 0);
	} else if (!strcmp(kind, "error")) {
		c->error = errno_by_name(arg);
	} else if (!strcmp(kind, "budget")) {
		c->budget = strtoull(arg, NULL, 0);
	} else if (!strcmp(kind, "kernel")) {
		c->kernel = true;
	} else if (!strcmp(kind, "checked-only")) {
		c->checked_only = true;
	} else {
		fail_msg("%s: unknown section '-- %s'", c->name, kind);
	}
}

struct reader {
	struct isa_case *c;
	char kind[32], arg[64];
	char text[16384];
	size_t len;
};

static void reader_flush(struct reader *r)
{
	if (r->c && r->kind[0])
		finish_section(r->c, r->kind, r->arg, r->text);
	r->kind[0] = '\0';
	r->text[0] = '\0';
	r->len = 0;
}

static void reader_line(struct reader *r, const char *file, char *line)
{
	size_t n = strlen(line);

	if (!strncmp(line, "== ", 3)) {
		reader_flush(r);
		if (ncases == MAX_CASES)
			fail_msg("too many ISA cases");
		r->c = &cases[ncases++];
		line[strcspn(line, "\n")] = '\0';
		r->c->name = malloc(strlen(file) + strlen(line) + 4);
		assert_non_null(r->c->name);
		sprintf(r->c->name, "%s: %s", file, line + 3);
	} else if (!strncmp(line, "-- ", 3)) {
		reader_flush(r);
		r->arg[0] = '\0';
		if (sscanf(line + 3, "%31s %63s", r->kind, r->arg) < 1)
			fail_msg("%s: bad section line '%s'", file, line);
	} else if (r->c && r->kind[0] &&
		   (line[0] != '#' || !strcmp(r->kind, "asm") ||
		    !strcmp(r->kind, "slot"))) {
		if (r->len + n + 1 > sizeof(r->text))
			fail_msg("%s: section too long", r->c->name);
		memcpy(r->text + r->len, line, n + 1);
		r->len += n;
	}
}

static void load_file(const char *dir, const char *file)
{
	static struct reader r;
	char path[PATH_MAX], line[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "r");
	if (!f)
		fail_msg("cannot open %s", path);
	memset(&r, 0, sizeof(r));
	while (fgets(line, sizeof(line), f))
		reader_line(&r, file, line);
	reader_flush(&r);
	fclose(f);
}

/* tests/vm from the source tree: $USM_VM_DATA, ./tests/vm, or relative to
 * the binary (<root>/<build>/tests/unit/vm/test_isa). */
static const char *data_dir(void)
{
	static char dir[PATH_MAX];
	const char *env = getenv("USM_VM_DATA");
	ssize_t n;
	int up;

	if (env && *env)
		return env;
	if (!access("tests/vm", R_OK))
		return "tests/vm";
	n = readlink("/proc/self/exe", dir, sizeof(dir) - 16);
	if (n <= 0)
		return "tests/vm";
	dir[n] = '\0';
	for (up = 0; up < 5; up++) {
		char *slash = strrchr(dir, '/');

		if (!slash)
			return "tests/vm";
		*slash = '\0';
	}
	strcat(dir, "/tests/vm");
	return dir;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void load_cases(void)
{
	const char *dir = data_dir();
	char *names[64];
	size_t n = 0, i;
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		fail_msg("no ISA case directory %s", dir);
	while ((de = readdir(d)) && n < 64) {
		size_t l = strlen(de->d_name);

		if (l > 5 && !strcmp(de->d_name + l - 5, ".data"))
			names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_names);
	for (i = 0; i < n; i++) {
		load_file(dir, names[i]);
		free(names[i]);
	}
}

/* ---- building and running ---------------------------------------------- */

struct built {
	struct usm_map *parr, *arr;
	struct usm_prog *main, *slot[NSLOTS];
};

static struct bpf_insn *assemble(const struct isa_case *c, const char *text,
				 uint32_t *cnt)
{
	struct bpf_insn *insns;
	char err[256];
	int rc = usm__asm(text, &insns, cnt, err, sizeof(err));

	if (rc)
		fail_msg("%s: asm: %s (%d)", c->name, err, rc);
	return insns;
}

static struct usm_prog *build_prog(const struct isa_case *c, struct built *b,
				   const char *text, bool prologue)
{
	struct usm_prog *p;
	struct bpf_insn *insns;
	uint32_t cnt;

	insns = assemble(c, text, &cnt);
	if (prologue) {
		/* "r2 = LEN" in front: relative jumps and calls are unaffected. */
		insns = realloc(insns, (cnt + 1) * sizeof(*insns));
		assert_non_null(insns);
		memmove(insns + 1, insns, cnt * sizeof(*insns));
		insns[0] = (struct bpf_insn){
			.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 2,
			.imm = (int32_t)c->mem_len};
		cnt++;
	}
	assert_int_equal(usm__prog_new(&p), 0);
	p->type = BPF_PROG_TYPE_SOCKET_FILTER;
	p->pt = &test_pt;
	assert_int_equal(usm__prog_set_insns(p, insns, cnt), 0);
	free(insns);
	assert_int_equal(usm__prog_add_map(p, b->parr), 0);
	assert_int_equal(usm__prog_add_map(p, b->arr), 1);
	if (usm__prog_trust_for_test(p))
		fail_msg("%s: usm__prog_trust_for_test failed", c->name);
	return p;
}

/* Map 1's value as the case starts it (before each engine's run). */
static void reset_value(const struct isa_case *c, struct built *b)
{
	uint8_t value[VALUE_SZ] = {0};
	uint32_t key = 0;

	if (c->value)
		memcpy(value, c->value, c->value_len);
	assert_int_equal(usm__map_update_elem(b->arr, &key, value, BPF_ANY), 0);
}

static void build(const struct isa_case *c, struct built *b)
{
	struct usm_map_attr pa = {.map_type = BPF_MAP_TYPE_PROG_ARRAY,
				  .key_size = 4, .value_size = 4,
				  .max_entries = NSLOTS};
	struct usm_map_attr aa = {.map_type = BPF_MAP_TYPE_ARRAY, .key_size = 4,
				  .value_size = VALUE_SZ, .max_entries = 1};
	uint32_t i;

	memset(b, 0, sizeof(*b));
	assert_int_equal(usm__map_create(&pa, &b->parr), 0);
	assert_int_equal(usm__map_create(&aa, &b->arr), 0);
	b->main = build_prog(c, b, c->asm_text, c->has_mem);
	for (i = 0; i < NSLOTS; i++) {
		if (!c->slot_text[i])
			continue;
		b->slot[i] = build_prog(c, b, c->slot_text[i], false);
		assert_int_equal(usm__prog_array_set(b->parr, i, b->slot[i]), 0);
	}
}

static void unbuild(struct built *b)
{
	uint32_t i;

	usm__prog_put(b->main);
	for (i = 0; i < NSLOTS; i++)
		usm__prog_put(b->slot[i]);
	/* The creator's user reference: the PROG_ARRAY lets go of its
	 * programs, breaking the prog <-> map reference cycle. */
	usm__map_put_with_uref(b->parr);
	usm__map_put_with_uref(b->arr);
}

/* Checked engine: map 1's value is the one memory besides ctx and stack. */
static bool value_ok(void *arg, uintptr_t addr, uint32_t size, bool write)
{
	uint64_t base;

	if (usm__map_direct_value_addr(arg, &base, 0))
		return false;
	return addr >= base && addr + size <= base + VALUE_SZ;
}

static void dump_prog(const struct usm_prog *p)
{
	char line[128];
	uint32_t i;
	int n;

	for (i = 0; i < p->insn_cnt; i += (uint32_t)n) {
		n = usm__insn_disasm(&p->insns[i], p->insn_cnt - i, line,
				     sizeof(line));
		print_message("#   %3u: %s\n", i, line);
	}
}

static void run_engine(const struct isa_case *c, struct built *b, bool checked)
{
	const char *eng = checked ? "checked" : "interp";
	uint8_t *mem = c->mem_len ? malloc(c->mem_len) : NULL;
	struct usm_run run;
	uint64_t r0;

	reset_value(c, b);
	memset(&run, 0, sizeof(run));
	run.insn_budget = c->budget;
	if (c->mem_len) {
		assert_non_null(mem);
		memcpy(mem, c->mem, c->mem_len);
		run.regions[0] = (struct usm_region){
			(uintptr_t)mem, (uintptr_t)mem + c->mem_len, true};
		run.nregions = 1;
	}
	run.mem_ok = value_ok;
	run.mem_ok_arg = b->arr;
	r0 = checked ? usm__prog_run_checked(b->main, mem, &run)
		     : usm__prog_run(b->main, mem, &run);
	if (run.error != c->error || (c->has_result && r0 != c->result) ||
	    (c->error && r0 != 0)) {
		dump_prog(b->main);
		fail_msg("%s [%s]: r0 = %#llx error = %d (pc %u), expected r0 = %#llx error = %d",
			 c->name, eng, (unsigned long long)r0, run.error,
			 run.fault_pc, (unsigned long long)c->result, c->error);
	}
	if (c->has_mem_after &&
	    (c->mem_after_len != c->mem_len ||
	     memcmp(mem, c->mem_after, c->mem_len)))
		fail_msg("%s [%s]: memory after the run differs", c->name, eng);
	free(mem);
}

/* Run @c's main program in the kernel; its u32 return must be r0's low
 * half. */
static void run_kernel(const struct isa_case *c, const struct usm_prog *p)
{
	static char log[65536];
	uint8_t pkt[64] = {0};
	const char *why;
	int fd, err;

	if (!usm_test_have_kernel_bpf(&why)) {
		printf("# kernel comparison skipped: %s\n", why);
		return;
	}
	LIBBPF_OPTS(bpf_prog_load_opts, lo, .log_buf = log,
		    .log_size = sizeof(log), .log_level = 1);
	LIBBPF_OPTS(bpf_test_run_opts, to, .data_in = pkt,
		    .data_size_in = sizeof(pkt), .repeat = 1);
	log[0] = '\0';
	fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "usm_isa", "GPL",
			   p->insns, p->insn_cnt, &lo);
	if (fd < 0)
		fail_msg("%s: kernel refused the program (%d):\n%s", c->name, fd,
			 log);
	err = bpf_prog_test_run_opts(fd, &to);
	close(fd);
	assert_int_equal(err, 0);
	if (to.retval != (uint32_t)c->result)
		fail_msg("%s: kernel returned %#x, case expects %#x", c->name,
			 to.retval, (uint32_t)c->result);
}

static void test_case(void **state)
{
	const struct isa_case *c = *state;
	struct built b;

	if (!c->has_result && !c->error)
		fail_msg("%s: case expects neither a result nor an error", c->name);
	build(c, &b);
	if (!c->checked_only)
		run_engine(c, &b, false);
	run_engine(c, &b, true);
	if (c->kernel) {
		if (c->has_mem || c->error)
			fail_msg("%s: kernel cases take no mem and no error", c->name);
		run_kernel(c, b.main);
	}
	unbuild(&b);
}

/* Every opcode of USM_OPCODES, every atomic op and every ALU variant
 * selected by off appears in some case. */
static void test_cases_cover_isa(void **state)
{
	static const uint8_t codes[] = {
#define USM_X_CODE(name, code, kind, mnem) (code),
		USM_OPCODES(USM_X_CODE)
#undef USM_X_CODE
	};
	bool seen[256] = {false}, atom[256] = {false}, sdiv = false,
	     smod = false, sx[33] = {false};
	size_t i, k, s;

	assert_true(ncases >= 120);
	for (i = 0; i < ncases; i++) {
		for (s = 0; s <= NSLOTS; s++) {
			const char *t = s ? cases[i].slot_text[s - 1]
					  : cases[i].asm_text;
			struct bpf_insn *in;
			uint32_t cnt;

			if (!t)
				continue;
			in = assemble(&cases[i], t, &cnt);
			for (k = 0; k < cnt; k++) {
				uint8_t op = BPF_OP(in[k].code);

				seen[in[k].code] = true;
				if (usm__opinfo[in[k].code].kind == USM_K_ATOMIC)
					atom[(uint8_t)in[k].imm] = true;
				if (usm__opinfo[in[k].code].kind == USM_K_ALU &&
				    in[k].off == 1) {
					sdiv |= op == BPF_DIV;
					smod |= op == BPF_MOD;
				}
				if (op == BPF_MOV && in[k].off > 0 && in[k].off <= 32 &&
				    usm__opinfo[in[k].code].kind == USM_K_ALU)
					sx[in[k].off] = true;
				if (usm__opinfo[in[k].code].kind == USM_K_LDDW)
					k++;
			}
			free(in);
		}
	}
	for (k = 0; k < sizeof(codes); k++)
		if (!seen[codes[k]])
			fail_msg("no ISA case uses opcode 0x%02x (%s)", codes[k],
				 usm__opinfo[codes[k]].mnem);
	for (k = 0; k < 256; k++)
		if (usm__atomic_name((int32_t)k) && !atom[k])
			fail_msg("no ISA case uses atomic %s", usm__atomic_name((int32_t)k));
	assert_true(sdiv && smod && sx[8] && sx[16] && sx[32]);
}

int main(void)
{
	static struct CMUnitTest tests[MAX_CASES + 1];
	size_t i;
	int rc;

	load_cases();
	for (i = 0; i < ncases; i++)
		tests[i] = (struct CMUnitTest){cases[i].name, test_case, NULL,
					       NULL, &cases[i]};
	tests[ncases] = (struct CMUnitTest)cmocka_unit_test(test_cases_cover_isa);
	rc = _cmocka_run_group_tests("isa", tests, ncases + 1, NULL, NULL);
	for (i = 0; i < ncases; i++) {
		free(cases[i].name);
		free(cases[i].asm_text);
		for (int s = 0; s < NSLOTS; s++)
			free(cases[i].slot_text[s]);
		free(cases[i].mem);
		free(cases[i].mem_after);
		free(cases[i].value);
	}
	return rc;
}
