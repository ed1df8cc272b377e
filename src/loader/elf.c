/* SPDX-License-Identifier: MIT */
/*
 * A validated, read-only view of a BPF ELF image. libbpf trusts much of the
 * ELF it is given (and 1.1 has known crashes on malformed input), so every
 * image passes these checks before libbpf parses it: header fields, the
 * section table and every section's extent inside the file, NUL-terminated
 * string tables, one symbol table whose names and section indices are in
 * range, relocation sections with the right entry size whose symbol indices
 * and offsets are in range, instruction sections a whole number of
 * instructions long. The image may sit at any address, so structures are
 * copied out with memcpy, never read through cast pointers.
 */
#include "loader.h"

#include <errno.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>

/* Section sizes above this are refused (no BPF object is near it). */
#define ELF_MAX_SHNUM 65280u

static int bad(struct usm_log *log, const char *what)
{
	usm__log(log, "malformed ELF: %s\n", what);
	return -EINVAL;
}

static bool in_file(const struct usm_elf *e, uint64_t off, uint64_t len)
{
	return off <= e->size && len <= e->size - off;
}

static bool is_pow2_or_zero(uint64_t v)
{
	return (v & (v - 1)) == 0;
}

static int check_header(struct usm_elf *e, struct usm_log *log)
{
	const Elf64_Ehdr *h = &e->eh;

	if (e->size < SELFMAG || memcmp(e->buf, ELFMAG, SELFMAG) != 0)
		return bad(log, "not an ELF file (bad magic)");
	if (e->size < sizeof(Elf64_Ehdr))
		return bad(log, "file shorter than the ELF header");
	if (e->buf[EI_CLASS] != ELFCLASS64)
		return bad(log, "not a 64-bit ELF (BPF objects are ELFCLASS64)");
	memcpy(&e->eh, e->buf, sizeof(e->eh));
	if (e->buf[EI_DATA] == ELFDATA2MSB) {
		usm__log(log, "big-endian BPF objects (bpfeb) are not supported "
			      "on this host\n");
		return -EOPNOTSUPP;
	}
	if (e->buf[EI_DATA] != ELFDATA2LSB || e->buf[EI_VERSION] != EV_CURRENT)
		return bad(log, "unknown ELF data encoding or version");
	if (h->e_machine != EM_BPF) {
		usm__log(log, "not a BPF object: e_machine is %u, not EM_BPF "
			      "(%u); compile with clang -target bpf\n",
			 h->e_machine, EM_BPF);
		return -EINVAL;
	}
	if (h->e_type != ET_REL)
		return bad(log, "not a relocatable object (e_type != ET_REL)");
	if (h->e_shentsize != sizeof(Elf64_Shdr))
		return bad(log, "section header entry size is wrong");
	if (h->e_shnum == 0 || h->e_shnum >= ELF_MAX_SHNUM)
		return bad(log, "no section table (or an extended one)");
	if (!in_file(e, h->e_shoff, (uint64_t)h->e_shnum * sizeof(Elf64_Shdr)))
		return bad(log, "section table runs past the end of the file");
	if (h->e_shstrndx == 0 || h->e_shstrndx >= h->e_shnum)
		return bad(log, "section name table index out of range");
	return 0;
}

static int check_strtab(const struct usm_elf *e, uint32_t idx,
			struct usm_log *log)
{
	const Elf64_Shdr *s = &e->sh[idx];

	if (s->sh_type != SHT_STRTAB)
		return bad(log, "string table section is not SHT_STRTAB");
	if (!in_file(e, s->sh_offset, s->sh_size))
		return bad(log, "section contents run past the end of the file");
	if (s->sh_size == 0 || e->buf[s->sh_offset + s->sh_size - 1] != '\0')
		return bad(log, "string table is empty or not NUL-terminated");
	return 0;
}

/* Standard section types, and the OS-specific ones compilers emit
 * (GNU, LLVM: .llvm_addrsig and friends). */
static bool known_type(uint32_t t)
{
	return t < SHT_NUM || (t >= SHT_LOOS && t <= SHT_HIOS);
}

static int check_section(const struct usm_elf *e, uint32_t i,
			 struct usm_log *log)
{
	const Elf64_Shdr *s = &e->sh[i];
	const Elf64_Shdr *names = &e->sh[e->eh.e_shstrndx];

	if (s->sh_name >= names->sh_size)
		return bad(log, "section name offset out of range");
	if (!is_pow2_or_zero(s->sh_addralign))
		return bad(log, "section alignment is not a power of two");
	if (!known_type(s->sh_type))
		return bad(log, "unknown section type");
	if (s->sh_type == SHT_NOBITS || s->sh_type == SHT_NULL)
		return 0;
	if (!in_file(e, s->sh_offset, s->sh_size))
		return bad(log, "section contents run past the end of the file");
	if (s->sh_addralign > 1 && s->sh_offset % s->sh_addralign)
		return bad(log, "section contents are not aligned");
	if ((s->sh_flags & SHF_EXECINSTR) && s->sh_size % sizeof(uint64_t))
		return bad(log, "instruction section is not a whole number of "
				"instructions");
	if ((s->sh_type == SHT_SYMTAB || s->sh_type == SHT_REL) &&
	    s->sh_offset % 8)
		return bad(log, "symbol or relocation table is not aligned");
	return 0;
}

static int check_symtab(struct usm_elf *e, struct usm_log *log)
{
	uint32_t i, found = 0;
	int err;

	for (i = 1; i < e->shnum; i++) {
		if (e->sh[i].sh_type != SHT_SYMTAB)
			continue;
		if (found++)
			return bad(log, "more than one symbol table");
		e->symtab = i;
	}
	if (!found)
		return bad(log, "no symbol table");
	if (e->sh[e->symtab].sh_entsize != sizeof(Elf64_Sym) ||
	    e->sh[e->symtab].sh_size % sizeof(Elf64_Sym))
		return bad(log, "symbol table entry size is wrong");
	e->strtab = e->sh[e->symtab].sh_link;
	if (e->strtab == 0 || e->strtab >= e->shnum)
		return bad(log, "symbol table has no string table");
	err = check_strtab(e, e->strtab, log);
	if (err)
		return err;
	e->nsyms = (uint32_t)(e->sh[e->symtab].sh_size / sizeof(Elf64_Sym));
	for (i = 0; i < e->nsyms; i++) {
		Elf64_Sym sym;

		usm__elf_sym(e, i, &sym);
		if (sym.st_name >= e->sh[e->strtab].sh_size)
			return bad(log, "symbol name offset out of range");
		if (sym.st_shndx >= e->shnum && sym.st_shndx != SHN_ABS &&
		    sym.st_shndx != SHN_COMMON)
			return bad(log, "symbol section index out of range");
		if (sym.st_shndx != SHN_UNDEF && sym.st_shndx < e->shnum &&
		    ELF64_ST_TYPE(sym.st_info) != STT_SECTION &&
		    (sym.st_value > e->sh[sym.st_shndx].sh_size ||
		     sym.st_size > e->sh[sym.st_shndx].sh_size - sym.st_value))
			return bad(log, "symbol lies outside its section");
	}
	return 0;
}

/* A function symbol of instruction section @sec covering byte @off. */
static bool covered_by_func(const struct usm_elf *e, uint32_t sec,
			    uint64_t off)
{
	uint32_t i;

	for (i = 1; i < e->nsyms; i++) {
		Elf64_Sym s;

		usm__elf_sym(e, i, &s);
		if (s.st_shndx == sec && ELF64_ST_TYPE(s.st_info) == STT_FUNC &&
		    off >= s.st_value && off - s.st_value < s.st_size)
			return true;
	}
	return false;
}

static int check_rel(const struct usm_elf *e, uint32_t i, struct usm_log *log)
{
	const Elf64_Shdr *s = &e->sh[i];
	uint64_t n, k, tsize;
	uint32_t target = s->sh_info;
	bool exec;

	if (s->sh_entsize != sizeof(Elf64_Rel) || s->sh_size % sizeof(Elf64_Rel))
		return bad(log, "relocation entry size is wrong");
	if (target == 0 || target >= e->shnum)
		return bad(log, "relocation section names no target section");
	if (s->sh_link != e->symtab)
		return bad(log, "relocation section does not use the symbol table");
	exec = usm__elf_sec_is_exec(e, target);
	if (!exec && strcmp(usm__elf_sec_name(e, target), ".maps") != 0)
		return 0; /* debug info and the like: libbpf skips them */
	tsize = e->sh[target].sh_type == SHT_NOBITS ? 0 : e->sh[target].sh_size;
	n = s->sh_size / sizeof(Elf64_Rel);
	for (k = 0; k < n; k++) {
		Elf64_Rel r;

		memcpy(&r, e->buf + s->sh_offset + k * sizeof(r), sizeof(r));
		if (ELF64_R_SYM(r.r_info) == 0 ||
		    ELF64_R_SYM(r.r_info) >= e->nsyms)
			return bad(log, "relocation symbol index out of range");
		if (r.r_offset > tsize || tsize - r.r_offset < sizeof(uint64_t))
			return bad(log, "relocation offset outside its section");
		if (exec && (r.r_offset % sizeof(uint64_t) ||
			     !covered_by_func(e, target, r.r_offset)))
			return bad(log, "relocation does not point at an "
					"instruction of a function");
	}
	return 0;
}

/* Whether some relocation of section @sec applies at byte @off. */
static bool has_reloc(const struct usm_elf *e, uint32_t sec, uint64_t off)
{
	uint32_t i;
	uint64_t k;

	for (i = 1; i < e->shnum; i++) {
		const Elf64_Shdr *s = &e->sh[i];

		if (s->sh_type != SHT_REL || s->sh_info != sec)
			continue;
		for (k = 0; k < s->sh_size / sizeof(Elf64_Rel); k++) {
			Elf64_Rel r;

			memcpy(&r, e->buf + s->sh_offset + k * sizeof(r),
			       sizeof(r));
			if (r.r_offset == off)
				return true;
		}
	}
	return false;
}

static bool func_starts_at(const struct usm_elf *e, uint32_t sec,
			   uint64_t off)
{
	uint32_t i;

	for (i = 1; i < e->nsyms; i++) {
		Elf64_Sym s;

		usm__elf_sym(e, i, &s);
		if (s.st_shndx == sec && ELF64_ST_TYPE(s.st_info) == STT_FUNC &&
		    s.st_value == off)
			return true;
	}
	return false;
}

/*
 * bpf-to-bpf calls (and callback addresses) that carry no relocation are
 * resolved by libbpf from the instruction's imm; libbpf 1.1 corrupts its
 * heap when that lands anywhere but the start of a function.
 */
static int check_calls(const struct usm_elf *e, uint32_t sec,
		       struct usm_log *log)
{
	uint64_t i, n = e->sh[sec].sh_size / sizeof(struct bpf_insn);
	struct bpf_insn in;
	int64_t t;

	for (i = 0; i < n; i++) {
		memcpy(&in, e->buf + e->sh[sec].sh_offset + i * sizeof(in),
		       sizeof(in));
		if (!((in.code == (BPF_JMP | BPF_CALL) &&
		       in.src_reg == BPF_PSEUDO_CALL) ||
		      (in.code == (BPF_LD | BPF_IMM | BPF_DW) &&
		       in.src_reg == BPF_PSEUDO_FUNC)))
			continue;
		if (has_reloc(e, sec, i * sizeof(in)))
			continue;
		t = (int64_t)i + in.imm + 1;
		if (t < 0 || (uint64_t)t >= n ||
		    !func_starts_at(e, sec, (uint64_t)t * sizeof(in)))
			return bad(log, "bpf-to-bpf call without relocation "
					"does not land on a function");
	}
	return 0;
}

static int check_special(const struct usm_elf *e, struct usm_log *log)
{
	uint32_t btf = usm__elf_find_sec(e, ".BTF");
	uint32_t ext = usm__elf_find_sec(e, ".BTF.ext");
	uint32_t ver = usm__elf_find_sec(e, "version");

	/* 24 bytes: struct btf_header; 32: struct btf_ext_header with CO-RE */
	if (btf && (e->sh[btf].sh_type != SHT_PROGBITS || e->sh[btf].sh_size < 24))
		return bad(log, ".BTF section is too short");
	if (ext && (e->sh[ext].sh_type != SHT_PROGBITS || e->sh[ext].sh_size < 24))
		return bad(log, ".BTF.ext section is too short");
	if (ext && !btf)
		return bad(log, ".BTF.ext without .BTF");
	if (ver && e->sh[ver].sh_size != sizeof(uint32_t))
		return bad(log, "version section is not 4 bytes");
	return 0;
}

int usm__elf_parse(const void *buf, size_t size, struct usm_log *log,
		   struct usm_elf *e)
{
	uint32_t i;
	int err;

	memset(e, 0, sizeof(*e));
	e->buf = buf;
	e->size = size;
	if (!buf)
		return bad(log, "no data");
	err = check_header(e, log);
	if (err)
		return err;
	e->shnum = e->eh.e_shnum;
	e->sh = calloc(e->shnum, sizeof(*e->sh));
	if (!e->sh)
		return -ENOMEM;
	memcpy(e->sh, e->buf + e->eh.e_shoff, e->shnum * sizeof(*e->sh));
	err = check_strtab(e, e->eh.e_shstrndx, log);
	for (i = 1; !err && i < e->shnum; i++)
		err = check_section(e, i, log);
	err = err ? err : check_symtab(e, log);
	for (i = 1; !err && i < e->shnum; i++) {
		if (e->sh[i].sh_type == SHT_REL)
			err = check_rel(e, i, log);
		else if (e->sh[i].sh_type == SHT_STRTAB)
			err = check_strtab(e, i, log);
	}
	for (i = 1; !err && i < e->shnum; i++)
		if (usm__elf_sec_is_exec(e, i))
			err = check_calls(e, i, log);
	err = err ? err : check_special(e, log);
	if (err)
		usm__elf_fini(e);
	return err;
}

void usm__elf_fini(struct usm_elf *e)
{
	if (!e)
		return;
	free(e->sh);
	e->sh = NULL;
	e->shnum = 0;
}

const char *usm__elf_sec_name(const struct usm_elf *e, uint32_t idx)
{
	const Elf64_Shdr *names;

	if (idx == 0 || idx >= e->shnum)
		return "";
	names = &e->sh[e->eh.e_shstrndx];
	return (const char *)e->buf + names->sh_offset + e->sh[idx].sh_name;
}

const uint8_t *usm__elf_sec_data(const struct usm_elf *e, uint32_t idx)
{
	if (idx == 0 || idx >= e->shnum || e->sh[idx].sh_type == SHT_NOBITS ||
	    e->sh[idx].sh_type == SHT_NULL)
		return NULL;
	return e->buf + e->sh[idx].sh_offset;
}

uint32_t usm__elf_find_sec(const struct usm_elf *e, const char *name)
{
	uint32_t i;

	for (i = 1; i < e->shnum; i++)
		if (strcmp(usm__elf_sec_name(e, i), name) == 0)
			return i;
	return 0;
}

int usm__elf_sym(const struct usm_elf *e, uint32_t idx, Elf64_Sym *sym)
{
	const Elf64_Shdr *s = &e->sh[e->symtab];

	if (!e->symtab || idx >= s->sh_size / sizeof(*sym)) {
		memset(sym, 0, sizeof(*sym));
		return -EINVAL;
	}
	memcpy(sym, e->buf + s->sh_offset + (uint64_t)idx * sizeof(*sym),
	       sizeof(*sym));
	return 0;
}

const char *usm__elf_sym_name(const struct usm_elf *e, const Elf64_Sym *sym)
{
	const Elf64_Shdr *s = &e->sh[e->strtab];

	if (sym->st_name >= s->sh_size)
		return "";
	return (const char *)e->buf + s->sh_offset + sym->st_name;
}

bool usm__elf_sec_is_exec(const struct usm_elf *e, uint32_t idx)
{
	return idx > 0 && idx < e->shnum && e->sh[idx].sh_type == SHT_PROGBITS &&
	       (e->sh[idx].sh_flags & SHF_EXECINSTR);
}
