/* SPDX-License-Identifier: MIT */
/*
 * Object loader on bad input: truncated and bit-flipped copies of real
 * objects, garbage, non-BPF ELF, targeted corruptions of the ELF tables,
 * missing license, no programs, unknown sections, CO-RE relocations that
 * need kernel BTF, kfuncs, legacy definitions with options, a verifier
 * rejection. Every case must end in a clear message and -errno, never a
 * crash or a leak (this binary runs under ASan/UBSan in `make check`).
 */
#include "ld_util.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <elf.h>

/* Open @buf and, if that worked, load it: must never crash. */
static int open_load(const void *buf, size_t size, int *load_err)
{
	struct usm_object_open_opts o = ld_opts(0);
	struct usm_object *obj = NULL;
	int err = usm_object_open_mem(buf, size, &o, &obj);

	*load_err = 0;
	if (err) {
		assert_null(obj);
		return err;
	}
	*load_err = ld_maps_small(obj) ? usm_object_load(obj) : -E2BIG;
	usm_object_close(obj);
	return 0;
}

static void test_every_truncation_fails_cleanly(void **state)
{
	static const char *const objs[] = { "ld_maps", "ld_globals",
					    "ld_legacy", "ld_tail" };
	size_t i, len, size;
	int lerr;

	(void)state;
	for (i = 0; i < sizeof(objs) / sizeof(objs[0]); i++) {
		uint8_t *buf = ld_read(objs[i], &size);

		for (len = 1; len < size; len++) {
			uint8_t *copy = malloc(len);

			memcpy(copy, buf, len); /* exact-size heap copy */
			assert_int_equal(open_load(copy, len, &lerr), -EINVAL);
			free(copy);
		}
		assert_int_equal(open_load(buf, size, &lerr), 0);
		free(buf);
	}
}

/* xorshift: deterministic mutations */
static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void flip_run(const char *name, uint32_t n, uint32_t seed)
{
	size_t size;
	uint8_t *buf = ld_read(name, &size);
	uint8_t *copy = malloc(size);
	uint32_t i, failed = 0, loaded = 0;
	int lerr;

	for (i = 0; i < n; i++) {
		uint32_t flips = 1 + rnd(&seed) % 3, k;

		memcpy(copy, buf, size);
		for (k = 0; k < flips; k++)
			copy[rnd(&seed) % size] ^= (uint8_t)(1 + rnd(&seed) % 255);
		if (open_load(copy, size, &lerr))
			failed++;
		else if (!lerr)
			loaded++;
	}
	/* both outcomes occur: header damage fails, DWARF damage does not */
	assert_true(failed > 0);
	assert_true(loaded > 0);
	free(copy);
	free(buf);
}

static void test_flipped_bytes_never_crash(void **state)
{
	(void)state;
	flip_run("ld_globals", 1500, 0x1234567u);
	flip_run("ld_legacy", 1000, 0xdeadbeefu);
	flip_run("ld_tail", 1000, 0xc0ffee11u);
}

/* Every byte of the section table set to 0xff in turn. */
static void test_section_table_bytes_never_crash(void **state)
{
	size_t size, i;
	uint8_t *buf = ld_read("ld_maps", &size);
	uint8_t *copy = malloc(size);
	Elf64_Ehdr eh;
	int lerr;

	(void)state;
	memcpy(&eh, buf, sizeof(eh));
	for (i = eh.e_shoff; i < size; i++) {
		memcpy(copy, buf, size);
		copy[i] = 0xff;
		open_load(copy, size, &lerr);
	}
	free(copy);
	free(buf);
}

static void expect_open_fails(const void *buf, size_t size, int want,
			      const char *msg)
{
	struct usm_object_open_opts o = ld_opts(0);
	struct usm_object *obj = NULL;

	assert_int_equal(usm_object_open_mem(buf, size, &o, &obj), want);
	assert_null(obj);
	if (!strstr(ld_log, msg))
		print_message("log lacks '%s': %s\n", msg, ld_log);
	assert_non_null(strstr(ld_log, msg));
}

static void test_garbage_and_non_bpf_elf(void **state)
{
	uint8_t junk[4096];
	uint32_t seed = 42, i;
	char path[512];
	size_t size;
	uint8_t *buf;

	(void)state;
	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)rnd(&seed);
	expect_open_fails(junk, sizeof(junk), -EINVAL, "not an ELF file");
	expect_open_fails("\x7f" "ELF", 4, -EINVAL, "shorter than the ELF header");
	/* an x86-64 object of our own build */
	snprintf(path, sizeof(path), "%s/tests/common/usm_test.o",
		 usm_test_build_dir());
	{
		struct usm_object_open_opts o = ld_opts(0);
		struct usm_object *obj = NULL;

		assert_int_equal(usm_object_open(path, &o, &obj), -EINVAL);
		assert_non_null(strstr(ld_log, "not a BPF object"));
	}
	buf = ld_read("ld_maps", &size);
	buf[EI_DATA] = ELFDATA2MSB;
	expect_open_fails(buf, size, -EOPNOTSUPP, "big-endian");
	buf[EI_DATA] = ELFDATA2LSB;
	buf[EI_CLASS] = ELFCLASS32;
	expect_open_fails(buf, size, -EINVAL, "64-bit");
	buf[EI_CLASS] = ELFCLASS64;
	buf[offsetof(Elf64_Ehdr, e_type)] = ET_EXEC;
	expect_open_fails(buf, size, -EINVAL, "relocatable");
	free(buf);
}

/* ---- targeted table corruptions ---- */

static Elf64_Shdr *shdr(uint8_t *buf, uint32_t idx)
{
	Elf64_Ehdr eh;

	memcpy(&eh, buf, sizeof(eh));
	return (Elf64_Shdr *)(void *)(buf + eh.e_shoff + idx * sizeof(Elf64_Shdr));
}

/* First non-empty section of @type (exec: instructions, or for SHT_REL:
 * relocating instructions). */
static uint32_t find_sec(const uint8_t *buf, size_t size, uint32_t type,
			 bool exec)
{
	struct usm_elf e;
	uint32_t i, r = 0;

	assert_int_equal(usm__elf_parse(buf, size, NULL, &e), 0);
	for (i = 1; i < e.shnum && !r; i++) {
		uint32_t t = type == SHT_REL ? e.sh[i].sh_info : i;

		if (e.sh[i].sh_type == type && e.sh[i].sh_size &&
		    (!exec || usm__elf_sec_is_exec(&e, t)))
			r = i;
	}
	usm__elf_fini(&e);
	assert_true(r > 0);
	return r;
}

static void test_corrupt_tables_are_named(void **state)
{
	size_t size;
	uint8_t *orig = ld_read("ld_maps", &size);
	uint8_t *b = malloc(size);
	uint32_t sym = find_sec(orig, size, SHT_SYMTAB, false);
	uint32_t rel = find_sec(orig, size, SHT_REL, true);
	uint32_t text = find_sec(orig, size, SHT_PROGBITS, true);
	Elf64_Rel r;

	(void)state;
	memcpy(b, orig, size);
	shdr(b, sym)->sh_entsize = 16;
	expect_open_fails(b, size, -EINVAL, "symbol table entry size");
	memcpy(b, orig, size);
	shdr(b, text)->sh_offset = size - 4;
	expect_open_fails(b, size, -EINVAL, "past the end of the file");
	memcpy(b, orig, size);
	shdr(b, text)->sh_size -= 4;
	expect_open_fails(b, size, -EINVAL, "whole number of instructions");
	memcpy(b, orig, size);
	shdr(b, sym)->sh_link = 0;
	expect_open_fails(b, size, -EINVAL, "no string table");
	memcpy(b, orig, size);
	memcpy(&r, b + shdr(b, rel)->sh_offset, sizeof(r));
	r.r_info = ELF64_R_INFO(100000, ELF64_R_TYPE(r.r_info));
	memcpy(b + shdr(b, rel)->sh_offset, &r, sizeof(r));
	expect_open_fails(b, size, -EINVAL, "relocation symbol index");
	memcpy(b, orig, size);
	shdr(b, rel)->sh_info = 999;
	expect_open_fails(b, size, -EINVAL, "no target section");
	/* a map relocation on an instruction that is not ld_imm64: libbpf's
	 * own LIBBPF_ERRNO__RELOC (4000+) comes back as -EINVAL */
	memcpy(b, orig, size);
	memcpy(&r, b + shdr(b, rel)->sh_offset, sizeof(r));
	b[shdr(b, text)->sh_offset + r.r_offset] = BPF_ALU64 | BPF_MOV | BPF_K;
	expect_open_fails(b, size, -EINVAL, "libbpf could not open");
	assert_non_null(strstr(ld_log, "invalid relo"));
	free(b);
	free(orig);
}

/* ---- inputs that crashed libbpf 1.1 (found by tests/fuzz/fuzz_loader) ---- */

/* Byte offset in @buf of the ARRAY giving map @var's `type`. */
static size_t map_type_array_off(const uint8_t *buf, size_t size,
				 const char *var)
{
	struct usm_elf e;
	struct btf *btf;
	const struct btf_type *t;
	const struct btf_member *mb;
	uint32_t sec;
	size_t off;
	int id;

	assert_int_equal(usm__elf_parse(buf, size, NULL, &e), 0);
	sec = usm__elf_find_sec(&e, ".BTF");
	btf = btf__new(usm__elf_sec_data(&e, sec), (uint32_t)e.sh[sec].sh_size);
	assert_non_null(btf);
	id = btf__find_by_name_kind(btf, var, BTF_KIND_VAR);
	assert_true(id > 0);
	t = btf__type_by_id(btf, btf__type_by_id(btf, (uint32_t)id)->type);
	mb = btf_members(t); /* "type": int (*)[N] */
	t = btf__type_by_id(btf, btf__type_by_id(btf, mb->type)->type);
	assert_true(btf_is_array(t));
	/* an unmodified btf's types live in its raw data copy */
	off = e.sh[sec].sh_offset +
	      (size_t)((const uint8_t *)btf_array(t) -
		       (const uint8_t *)btf__raw_data(btf, &sec)) +
	      offsetof(struct btf_array, nelems);
	btf__free(btf);
	usm__elf_fini(&e);
	return off;
}

/* A `.maps` definition of type STRUCT_OPS made bpf_object__load crash. */
static void test_struct_ops_map_type_is_refused(void **state)
{
	struct usm_object *obj = NULL;
	struct usm_object_open_opts o = ld_opts(0);
	size_t size;
	uint8_t *buf = ld_read("ld_maps", &size);
	size_t off = map_type_array_off(buf, size, "sock_hash");
	uint32_t v;

	(void)state;
	memcpy(&v, buf + off, sizeof(v));
	assert_int_equal(v, BPF_MAP_TYPE_SOCKHASH);
	v = BPF_MAP_TYPE_STRUCT_OPS;
	memcpy(buf + off, &v, sizeof(v));
	assert_int_equal(usm_object_open_mem(buf, size, &o, &obj), 0);
	assert_int_equal(usm_object_load(obj), -EOPNOTSUPP);
	assert_non_null(strstr(ld_log, "map 'sock_hash': struct_ops"));
	usm_object_close(obj);
	free(buf);
}

/* Calls whose relocation is gone made libbpf 1.1 free memory twice. */
static void test_call_without_relocation_is_refused(void **state)
{
	size_t size;
	uint8_t *buf = ld_read("ld_globals", &size);
	uint32_t rel = 0, i;
	struct usm_elf e;

	(void)state;
	assert_int_equal(usm__elf_parse(buf, size, NULL, &e), 0);
	for (i = 1; i < e.shnum; i++)
		if (e.sh[i].sh_type == SHT_REL &&
		    !strcmp(usm__elf_sec_name(&e, e.sh[i].sh_info),
			    "sk_skb/stream_parser"))
			rel = i;
	usm__elf_fini(&e);
	assert_true(rel > 0);
	shdr(buf, rel)->sh_type = SHT_PROGBITS;
	expect_open_fails(buf, size, -EINVAL, "bpf-to-bpf call without "
					      "relocation");
	shdr(buf, rel)->sh_type = 0x2b0009; /* what the fuzzer wrote */
	expect_open_fails(buf, size, -EINVAL, "unknown section type");
	free(buf);
}

/* ---- well-formed ELF, unusable object ---- */

static void expect_file_fails(const char *name, int want, const char *msg)
{
	struct usm_object_open_opts o = ld_opts(0);
	struct usm_object *obj = NULL;

	assert_int_equal(usm_object_open(ld_path(name), &o, &obj), want);
	assert_null(obj);
	assert_non_null(strstr(ld_log, msg));
}

static void test_missing_license_and_no_programs(void **state)
{
	(void)state;
	/* libbpf would load both (license "", a maps-only object); the
	 * loader refuses them as almost certainly broken objects */
	expect_file_fails("ld_nolicense", -EINVAL, "no license section");
	expect_file_fails("ld_noprog", -EINVAL, "contains no BPF programs");
}

static void test_unknown_section_fails_load_unless_off(void **state)
{
	struct usm_object *obj = ld_open("ld_unknown_sec");
	struct usm_program *p = usm_object_find_program(obj, "mystery");

	(void)state;
	assert_int_equal(usm_program_type(p), BPF_PROG_TYPE_UNSPEC);
	assert_true(usm_program_autoload(p));
	assert_int_equal(usm_object_load(obj), -EINVAL);
	assert_non_null(strstr(ld_log, "unknown section name 'no_such_type/foo'"));
	usm_object_close(obj);
	obj = ld_open("ld_unknown_sec");
	assert_int_equal(usm_program_set_autoload(
				 usm_object_find_program(obj, "mystery"), false),
			 0);
	assert_int_equal(usm_object_load(obj), 0);
	assert_non_null(ld_prog(obj, "known"));
	usm_object_close(obj);
	/* or the caller names the type, as with bpf_program__set_type */
	obj = ld_open("ld_unknown_sec");
	p = usm_object_find_program(obj, "mystery");
	assert_int_equal(usm_program_set_type(p, BPF_PROG_TYPE_SK_MSG), 0);
	assert_int_equal(usm_program_set_expected_attach_type(
				 p, BPF_SK_MSG_VERDICT), 0);
	assert_true(usm_program_autoload(p));
	assert_int_equal(usm_object_load(obj), 0);
	assert_int_equal(ld_prog(obj, "mystery")->type, BPF_PROG_TYPE_SK_MSG);
	assert_int_equal(ld_prog(obj, "mystery")->expected_attach_type,
			 BPF_SK_MSG_VERDICT);
	assert_int_equal(usm_program_set_type(p, BPF_PROG_TYPE_SK_SKB),
			 -EINVAL);
	usm_object_close(obj);
}

static void test_core_against_kernel_types_is_refused(void **state)
{
	struct usm_object *obj = ld_open("ld_core_kern");

	(void)state;
	assert_true(obj->elf.core_cnt > 0);
	assert_int_equal(usm_object_load(obj), -EOPNOTSUPP);
	assert_non_null(strstr(ld_log, "'needs_kernel_btf': CO-RE relocation"));
	assert_non_null(strstr(ld_log, "struct sock"));
	assert_non_null(strstr(usm_program_log(usm_object_find_program(
				       obj, "needs_kernel_btf")), "CO-RE"));
	usm_object_close(obj);
	/* records of a program that is not loaded do not matter */
	obj = ld_open("ld_core_kern");
	usm_program_set_autoload(usm_object_find_program(obj,
							 "needs_kernel_btf"),
				 false);
	assert_int_equal(usm_object_load(obj), 0);
	assert_non_null(ld_prog(obj, "plain"));
	usm_object_close(obj);
}

static void test_core_against_uapi_contexts_resolves(void **state)
{
	struct usm_object *obj = ld_open("ld_core_ok");

	(void)state;
	assert_true(obj->elf.core_cnt >= 4); /* exists, len, remote_ip4, size */
	assert_int_equal(usm_object_load(obj), 0);
	assert_true(ld_prog(obj, "core_skb")->verified);
	assert_true(ld_prog(obj, "core_msg")->verified);
	usm_object_close(obj);
}

static void test_kfuncs_and_ksyms_are_refused(void **state)
{
	struct usm_object *obj = ld_open("ld_kfunc");

	(void)state;
	assert_int_equal(usm_object_load(obj), -EOPNOTSUPP);
	assert_non_null(strstr(ld_log, "'calls_kfunc': insn 1 calls a kernel "
				       "function (kfunc)"));
	assert_non_null(strstr(usm_program_log(usm_object_find_program(
				       obj, "calls_kfunc")), "kfunc"));
	usm_object_close(obj);
	obj = ld_open("ld_kfunc");
	usm_program_set_autoload(usm_object_find_program(obj, "calls_kfunc"),
				 false);
	assert_int_equal(usm_object_load(obj), -EOPNOTSUPP);
	assert_non_null(strstr(ld_log, "'reads_ksym'"));
	assert_non_null(strstr(ld_log, "__ksym"));
	usm_object_close(obj);
}

/* libbpf 0.x's strict rule: fields past map_flags must be zero. */
static void test_legacy_options_are_refused(void **state)
{
	size_t size;
	uint8_t *buf = ld_read("ld_legacy_ext", &size);
	struct usm_elf e;
	uint32_t sec;

	(void)state;
	assert_int_equal(usm__elf_parse(buf, size, NULL, &e), 0);
	sec = usm__elf_find_sec(&e, "maps");
	assert_true(sec > 0);
	assert_int_equal(e.sh[sec].sh_size, 28);
	buf[e.sh[sec].sh_offset + 24] = 1; /* numa_node */
	usm__elf_fini(&e);
	expect_open_fails(buf, size, -EOPNOTSUPP, "'ext_array' sets a field "
						  "past map_flags (byte 24");
	free(buf);
}

/* The kernel's errno for the same object, or 0 if it cannot tell. */
static int kernel_load_errno(const char *name)
{
	struct bpf_object *bo;
	const char *why;
	int err;

	if (!usm_test_have_kernel_bpf(&why))
		return 0;
	bo = ld_libbpf_open(name);
	{
		libbpf_print_fn_t old = libbpf_set_print(ld_discard_print);

		err = bpf_object__load(bo);
		libbpf_set_print(old);
	}
	bpf_object__close(bo);
	return err;
}

static void test_verifier_rejection_fails_load_and_keeps_log(void **state)
{
	struct usm_object *obj = ld_open("ld_reject");
	struct usm_program *bad = usm_object_find_program(obj, "unchecked_read");
	int kerr = kernel_load_errno("ld_reject");
	int err;

	(void)state;
	err = usm_object_load(obj);
	/* the kernel refuses a packet read before the data_end check with
	 * EACCES (check_packet_access) */
	assert_int_equal(err, kerr ? kerr : -EACCES);
	assert_true(strlen(usm_program_log(bad)) > 0);
	assert_non_null(strstr(ld_log, "'unchecked_read': rejected by the "
				       "verifier"));
	assert_null(usm__program_prog(bad));
	assert_null(usm__program_prog(usm_object_find_program(obj, "fine")));
	assert_null(usm_object_next_map(obj, NULL));
	assert_int_equal(usm_object_load(obj), -EINVAL); /* once only */
	usm_object_close(obj);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_truncation_fails_cleanly),
		cmocka_unit_test(test_flipped_bytes_never_crash),
		cmocka_unit_test(test_section_table_bytes_never_crash),
		cmocka_unit_test(test_garbage_and_non_bpf_elf),
		cmocka_unit_test(test_corrupt_tables_are_named),
		cmocka_unit_test(test_struct_ops_map_type_is_refused),
		cmocka_unit_test(test_call_without_relocation_is_refused),
		cmocka_unit_test(test_missing_license_and_no_programs),
		cmocka_unit_test(test_unknown_section_fails_load_unless_off),
		cmocka_unit_test(test_core_against_kernel_types_is_refused),
		cmocka_unit_test(test_core_against_uapi_contexts_resolves),
		cmocka_unit_test(test_kfuncs_and_ksyms_are_refused),
		cmocka_unit_test(test_legacy_options_are_refused),
		cmocka_unit_test(test_verifier_rejection_fails_load_and_keeps_log),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
