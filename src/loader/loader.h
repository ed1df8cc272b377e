/* SPDX-License-Identifier: MIT */
/*
 * The object loader's internal interface.
 *
 * A struct usm_object wraps one libbpf bpf_object opened from memory. libbpf
 * parses the ELF and, in gen_loader mode, links programs without a single
 * bpf(2) call; usockmap then creates its own maps and programs from what
 * libbpf produced. What libbpf does not expose, or refuses, is read from the
 * ELF here first (elf.c): the license, initial slots of PROG_ARRAY and
 * map-in-map definitions, CO-RE relocation records, legacy SEC("maps")
 * definitions (rewritten into BTF `.maps`, legacy.c, before libbpf sees the
 * object). Everything read from the ELF is bounds-checked before use, so
 * libbpf only ever parses images that passed usm__elf_parse().
 *
 * Ownership: the object owns the libbpf object, its program and map
 * records, one reference on every created map (struct usm_map) and every
 * built program (struct usm_prog). Program records borrow names from the
 * libbpf object, which lives until usm_object_close().
 */
#ifndef USM_LOADER_LOADER_H
#define USM_LOADER_LOADER_H

#include <elf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <usockmap/object.h>

#include "../common/log.h"
#include "../maps/map.h"

struct bpf_object;
struct bpf_program;
struct bpf_map;
struct btf;
struct usm_prog;

/* ---- elf.c: a validated view of an ELF image ---- */

struct usm_elf {
	const uint8_t *buf;  /* the image (borrowed) */
	size_t size;
	Elf64_Ehdr eh;
	Elf64_Shdr *sh;      /* copy of the section table (owned) */
	uint32_t shnum;
	uint32_t symtab;     /* section index of SHT_SYMTAB */
	uint32_t strtab;     /* its string table */
	uint32_t nsyms;
};

/*
 * Check that @size bytes at @buf are a little-endian 64-bit relocatable
 * EM_BPF object whose header, section table, string tables, symbol table
 * and relocation sections are internally consistent (every offset and
 * index in bounds, tables NUL-terminated, entry sizes right), and fill @e.
 * Returns 0, -EINVAL (malformed or not BPF; the log says why), -EOPNOTSUPP
 * (big-endian), -ENOMEM. On error @e holds nothing to free.
 */
int usm__elf_parse(const void *buf, size_t size, struct usm_log *log,
		   struct usm_elf *e);
void usm__elf_fini(struct usm_elf *e);

/* Name of section @idx ("" if out of range). */
const char *usm__elf_sec_name(const struct usm_elf *e, uint32_t idx);
/* Contents of section @idx, NULL for SHT_NOBITS/SHT_NULL or out of range. */
const uint8_t *usm__elf_sec_data(const struct usm_elf *e, uint32_t idx);
/* Index of the first section called @name, or 0. */
uint32_t usm__elf_find_sec(const struct usm_elf *e, const char *name);
/* Symbol @idx (copied: the image may be unaligned). 0 or -EINVAL. */
int usm__elf_sym(const struct usm_elf *e, uint32_t idx, Elf64_Sym *sym);
const char *usm__elf_sym_name(const struct usm_elf *e, const Elf64_Sym *sym);
bool usm__elf_sec_is_exec(const struct usm_elf *e, uint32_t idx);

/* ---- btf_check.c ---- */

/*
 * Check the .BTF and .BTF.ext sections of @e for what libbpf 1.1 trusts
 * (type ids, string offsets, record sizes). 0 (also without BTF), -EINVAL
 * with a log line.
 */
int usm__btf_check(const struct usm_elf *e, struct usm_log *log);

/* ---- elf_scan.c: facts libbpf hides ---- */

/* A function (program or subprogram): where its instructions are. */
struct usm_elf_func {
	char *name;
	char *sec;
	uint64_t off, size; /* bytes within the section */
};

/* An initial slot of a `.maps` definition: `.values = { [i] = &x }`. */
struct usm_elf_slot {
	char *map;        /* the PROG_ARRAY / *_OF_MAPS variable */
	uint32_t def_off; /* byte offset of the pointer inside its definition */
	char *target;     /* program or map symbol */
	bool to_prog;     /* target is a program (PROG_ARRAY) */
};

/* A CO-RE relocation record of .BTF.ext (struct bpf_core_relo). */
struct usm_core_rec {
	uint32_t sec_name_off; /* BTF string: the program section */
	uint32_t insn_off;     /* bytes within that section */
	uint32_t type_id;
	uint32_t access_str_off;
	uint32_t kind;         /* enum bpf_core_relo_kind */
};

struct usm_elf_info {
	char license[128];
	bool has_license;
	struct usm_elf_func *funcs;
	uint32_t func_cnt;
	struct usm_elf_slot *slots;
	uint32_t slot_cnt;
	struct usm_core_rec *core;
	uint32_t core_cnt;
	uint32_t legacy_maps_sec; /* index of SEC("maps"), 0 if none */
	uint32_t maps_sec;        /* index of ".maps", 0 if none */
	uint32_t prog_slot_relocs;/* .rel.maps entries naming programs */
};

/*
 * Read the license, functions, `.maps` initial slots and CO-RE records of
 * a parsed image. 0, -EINVAL (inconsistent contents; logged), -ENOMEM.
 * On error @info holds nothing to free.
 */
int usm__elf_scan(const struct usm_elf *e, struct usm_log *log,
		  struct usm_elf_info *info);
void usm__elf_info_fini(struct usm_elf_info *info);

/* ---- elf_write.c: rebuild an image with some sections changed ---- */

/* Replacement of one existing section (all fields optional). */
struct usm_elf_edit {
	char *name;     /* new name (owned) or NULL */
	void *data;     /* new contents (owned) or NULL to keep */
	uint64_t size;  /* size of data */
	bool set_data;  /* data/size replace the contents (data may be NULL
			   for size 0) */
	uint64_t align; /* new sh_addralign, 0 to keep */
};

/* A section appended after the existing ones. */
struct usm_elf_add {
	char *name;     /* owned */
	uint32_t type;  /* SHT_* */
	void *data;     /* owned */
	uint64_t size;
	uint64_t align;
};

struct usm_elf_edits {
	struct usm_elf_edit *sec; /* e->shnum entries */
	struct usm_elf_add add[2];
	uint32_t add_cnt;
};

int usm__elf_edits_init(struct usm_elf_edits *ed, const struct usm_elf *e);
void usm__elf_edits_fini(struct usm_elf_edits *ed, const struct usm_elf *e);

/*
 * Write @e with @ed applied into a new malloc'd image (*out, *out_size).
 * Section indices are unchanged; added sections come last. 0, -E2BIG,
 * -ENOMEM.
 */
int usm__elf_write(const struct usm_elf *e, const struct usm_elf_edits *ed,
		   void **out, size_t *out_size);

/* Drop the .rel.maps entries that name programs (libbpf's gen_loader mode
 * refuses PROG_ARRAY initial values; usockmap fills them itself). */
int usm__elf_strip_prog_slots(const struct usm_elf *e,
			      struct usm_elf_edits *ed);

/* ---- legacy.c ---- */

/*
 * Turn the legacy SEC("maps") section of @e (struct bpf_map_def records)
 * into BTF-defined `.maps` that libbpf 1.x accepts: edits that rename the
 * section, lay the definitions out again, move the map symbols and add
 * the map definitions to .BTF (creating it if absent). 0, -EINVAL
 * (inconsistent section; logged), -EOPNOTSUPP (non-zero fields past
 * map_flags), -ENOMEM.
 */
int usm__legacy_maps_edit(const struct usm_elf *e, uint32_t sec,
			  struct usm_elf_edits *ed, struct usm_log *log);

/* ---- core.c ---- */

/*
 * Check the CO-RE record @rec against the object's own BTF. Records whose
 * root type is a UAPI context struct usockmap lays out exactly as the
 * kernel does (__sk_buff, sk_msg_md, ...) resolve to the values clang
 * already put in the instruction: 0. Anything that needs the kernel's BTF:
 * -EOPNOTSUPP with a log line naming @prog_name.
 */
int usm__core_check(const struct btf *btf, const struct usm_core_rec *rec,
		    const char *prog_name, struct usm_log *log);

/* ---- object.c / load.c ---- */

/*
 * Validate @buf (usm__elf_parse), read what libbpf hides into @info
 * (usm__elf_scan; a missing license is refused here) and, where libbpf 1.x
 * would refuse what usockmap supports (legacy SEC("maps"), PROG_ARRAY
 * initial values), rewrite it: *img is then a new malloc'd image to hand to
 * libbpf instead of @buf, else NULL. 0 or -errno (logged); on error @info
 * and *img hold nothing.
 */
int usm__image_prepare(const void *buf, size_t size, struct usm_log *log,
		       struct usm_elf_info *info, void **img, size_t *img_size);

struct usm_program {
	struct usm_object *obj;      /* owner */
	struct bpf_program *bprog;   /* libbpf's record (owned by obj->bobj) */
	const char *name;            /* borrowed from libbpf */
	const char *sec;
	uint32_t type;               /* BPF_PROG_TYPE_* */
	uint32_t expected_attach_type;
	bool known;                  /* some program type (libbpf's or ours) */
	bool supported;              /* usockmap runs this type */
	bool autoload;
	char *log;                   /* last verifier log or note (owned) */
	struct usm_prog *prog;       /* after load: one reference */
};

struct usm_object_map {
	const char *name;            /* libbpf's full name (borrowed) */
	struct bpf_map *bmap;
	bool internal;               /* .data/.rodata/.bss/.kconfig */
	bool has_inner;              /* *_OF_MAPS: inner definition below */
	struct usm_map_attr inner;   /* captured at open (libbpf frees it) */
	struct usm_map *inner_tmpl;  /* usm_object_set_inner_map(): one ref;
					overrides `inner` */
	struct usm_map *map;         /* after load: one reference */
};

enum usm_object_state {
	USM_OBJ_OPEN = 0,
	USM_OBJ_LOADED,
	USM_OBJ_FAILED,
};

struct usm_object {
	struct bpf_object *bobj;
	struct usm_elf_info elf;     /* from the image libbpf opened */
	struct usm_program *progs;
	uint32_t prog_cnt;
	struct usm_object_map *maps;
	uint32_t map_cnt;
	enum usm_object_state state;
	bool gpl_compatible;
	struct usm_log log;          /* borrows the open options' buffer */
};

/*
 * Route libbpf's messages from this thread into @log (warnings always,
 * info at log level 1, debug at 2) until the matching end call, which gets
 * begin's return value. libbpf's print hook is process-wide: while any
 * thread is inside begin/end, messages from threads that are not are passed
 * to the print function that was installed before.
 */
struct usm_log *usm__libbpf_log_begin(struct usm_log *log);
void usm__libbpf_log_end(struct usm_log *prev);

/* The program usockmap built for @p (NULL before load, for programs not
 * loaded, and after a failed load). Borrowed: take a reference with
 * usm__prog_get() to keep it past usm_object_close(). */
struct usm_prog *usm__program_prog(const struct usm_program *p);

/* The libbpf object (for the bpf(2)-compat layer): map definitions before
 * load, BTF. Owned by @obj. */
struct bpf_object *usm__object_bpf(const struct usm_object *obj);

/* Map record @idx in libbpf order (the index BPF_PSEUDO_MAP_IDX uses), or
 * NULL. */
const struct usm_object_map *usm__object_map(const struct usm_object *obj,
					     uint32_t idx);
uint32_t usm__object_map_cnt(const struct usm_object *obj);

/* Whether @license is one the kernel treats as GPL-compatible. */
bool usm__license_is_gpl(const char *license);

/* load.c: the work of usm_object_load() after the state checks. */
int usm__object_do_load(struct usm_object *obj);
/* load.c: drop every created map and built program (failure atomicity). */
void usm__object_unload(struct usm_object *obj);

#endif /* USM_LOADER_LOADER_H */
