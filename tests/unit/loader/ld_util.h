/* SPDX-License-Identifier: MIT */
/*
 * Shared helpers of the loader tests: open a test object with a log, read
 * an object file into memory, walk instructions, compare with what real
 * libbpf says about the same object.
 */
#ifndef USM_TEST_LD_UTIL_H
#define USM_TEST_LD_UTIL_H

#include "usm_test.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <usockmap/object.h>

#include "../../../src/loader/loader.h"
#include "../../../src/maps/map.h"
#include "../../../src/vm/vm.h"

#define LD_LOG_SIZE (1u << 20)

/* One log buffer per test binary; tests run one at a time. */
static char ld_log[LD_LOG_SIZE];

static inline struct usm_object_open_opts ld_opts(uint32_t level)
{
	struct usm_object_open_opts o = {
		.sz = sizeof(o),
		.log_buf = ld_log,
		.log_size = sizeof(ld_log),
		.log_level = level,
	};

	return o;
}

/* Open build/bpf/tests/bpf/<name>.bpf.o; fails the test on error. */
static inline struct usm_object *ld_open(const char *name)
{
	struct usm_object_open_opts o = ld_opts(1);
	struct usm_object *obj = NULL;
	char rel[128];
	int err;

	snprintf(rel, sizeof(rel), "tests/bpf/%s", name);
	err = usm_object_open(usm_test_bpf_path(rel), &o, &obj);
	if (err)
		print_message("open %s: %d\n%s\n", name, err, ld_log);
	assert_int_equal(err, 0);
	assert_non_null(obj);
	return obj;
}

/* Open and load; fails the test on error. */
static inline struct usm_object *ld_load(const char *name)
{
	struct usm_object *obj = ld_open(name);
	int err = usm_object_load(obj);

	if (err)
		print_message("load %s: %d\n%s\n", name, err, ld_log);
	assert_int_equal(err, 0);
	return obj;
}

static inline const char *ld_path(const char *name)
{
	char rel[128];

	snprintf(rel, sizeof(rel), "tests/bpf/%s", name);
	return usm_test_bpf_path(rel);
}

/* The whole file; *size set. Fails the test if unreadable. */
static inline uint8_t *ld_read(const char *name, size_t *size)
{
	FILE *f = fopen(ld_path(name), "rb");
	uint8_t *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	buf = malloc((size_t)n);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*size = (size_t)n;
	return buf;
}

static inline struct usm_prog *ld_prog(struct usm_object *obj,
				       const char *name)
{
	struct usm_program *p = usm_object_find_program(obj, name);

	assert_non_null(p);
	return usm__program_prog(p);
}

/* The map a ld_imm64 at @pc of @prog references (MAP_IDX forms). */
static inline struct usm_map *ld_insn_map(const struct usm_prog *prog,
					  uint32_t pc)
{
	const struct bpf_insn *in = &prog->insns[pc];

	assert_int_equal(in->code, BPF_LD | BPF_IMM | BPF_DW);
	assert_true(in->src_reg == BPF_PSEUDO_MAP_IDX ||
		    in->src_reg == BPF_PSEUDO_MAP_IDX_VALUE);
	assert_true((uint32_t)in->imm < prog->map_cnt);
	return prog->maps[in->imm];
}

/* Index of the ld_imm64 loading into @reg last before helper call @id. */
static inline int ld_map_arg_before_call(const struct usm_prog *prog,
					 int32_t id, uint8_t reg)
{
	int last = -1;
	uint32_t i;

	for (i = 0; i < prog->insn_cnt; i++) {
		const struct bpf_insn *in = &prog->insns[i];

		if (in->code == (BPF_LD | BPF_IMM | BPF_DW) &&
		    in->dst_reg == reg && in->src_reg == BPF_PSEUDO_MAP_IDX)
			last = (int)i;
		if (in->code == (BPF_JMP | BPF_CALL) && in->src_reg == 0 &&
		    in->imm == id)
			return last;
	}
	return -1;
}

static inline int ld_discard_print(enum libbpf_print_level level,
				   const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

/*
 * Whether every map of an opened object is small enough to create in a
 * test that loads mutated objects (a flipped max_entries can ask for
 * gigabytes, which the kernel would also try to allocate).
 */
static inline bool ld_maps_small(const struct usm_object *obj)
{
	uint32_t i;

	for (i = 0; i < usm__object_map_cnt(obj); i++) {
		const struct bpf_map *m = usm__object_map(obj, i)->bmap;
		uint64_t per = (uint64_t)bpf_map__key_size(m) +
			       bpf_map__value_size(m) + 64;

		if (per * bpf_map__max_entries(m) > (16u << 20))
			return false;
	}
	return true;
}

/* Real libbpf's view (no load): the program's type and attach type. */
static inline struct bpf_object *ld_libbpf_open(const char *name)
{
	libbpf_print_fn_t old = libbpf_set_print(ld_discard_print);
	struct bpf_object *bo = bpf_object__open_file(ld_path(name), NULL);

	libbpf_set_print(old);
	assert_non_null(bo);
	return bo;
}

#endif /* USM_TEST_LD_UTIL_H */
