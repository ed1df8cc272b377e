/* SPDX-License-Identifier: MIT */
/*
 * Rebuild an ELF image with some sections renamed, given new contents, or
 * added at the end. The output keeps every section at its index (symbols
 * and relocations refer to sections by index), appends new names to the
 * section name table, lays the contents out again in index order honouring
 * each section's alignment and puts the section table last. Only what a
 * relocatable BPF object contains is handled: no program headers, no
 * extended section numbering (usm__elf_parse() refused both).
 */
#include "loader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int usm__elf_edits_init(struct usm_elf_edits *ed, const struct usm_elf *e)
{
	memset(ed, 0, sizeof(*ed));
	ed->sec = calloc(e->shnum, sizeof(*ed->sec));
	return ed->sec ? 0 : -ENOMEM;
}

void usm__elf_edits_fini(struct usm_elf_edits *ed, const struct usm_elf *e)
{
	uint32_t i;

	if (ed->sec) {
		for (i = 0; i < e->shnum; i++) {
			free(ed->sec[i].name);
			free(ed->sec[i].data);
		}
	}
	for (i = 0; i < ed->add_cnt; i++) {
		free(ed->add[i].name);
		free(ed->add[i].data);
	}
	free(ed->sec);
	memset(ed, 0, sizeof(*ed));
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return a > 1 ? (v + a - 1) & ~(a - 1) : v;
}

/* The new section name table: the old one plus every new name. */
static int build_names(const struct usm_elf *e, const struct usm_elf_edits *ed,
		       uint32_t *name_off, char **out, uint64_t *out_size)
{
	const Elf64_Shdr *ns = &e->sh[e->eh.e_shstrndx];
	uint64_t size = ns->sh_size;
	uint32_t i, n = e->shnum + ed->add_cnt;
	char *buf;

	for (i = 0; i < n; i++) {
		const char *nm = i < e->shnum ? ed->sec[i].name
					      : ed->add[i - e->shnum].name;

		if (nm)
			size += strlen(nm) + 1;
	}
	if (size > UINT32_MAX)
		return -E2BIG;
	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, e->buf + ns->sh_offset, ns->sh_size);
	size = ns->sh_size;
	for (i = 0; i < n; i++) {
		const char *nm = i < e->shnum ? ed->sec[i].name
					      : ed->add[i - e->shnum].name;

		name_off[i] = i < e->shnum ? e->sh[i].sh_name : 0;
		if (!nm)
			continue;
		name_off[i] = (uint32_t)size;
		memcpy(buf + size, nm, strlen(nm) + 1);
		size += strlen(nm) + 1;
	}
	*out = buf;
	*out_size = size;
	return 0;
}

struct sec_out {
	Elf64_Shdr sh;
	const void *data; /* NULL: no file contents */
};

static void plan_sections(const struct usm_elf *e,
			  const struct usm_elf_edits *ed, const char *names,
			  uint64_t names_size, const uint32_t *name_off,
			  struct sec_out *so)
{
	uint32_t i;

	for (i = 0; i < e->shnum; i++) {
		const struct usm_elf_edit *x = &ed->sec[i];

		so[i].sh = e->sh[i];
		so[i].sh.sh_name = name_off[i];
		so[i].data = usm__elf_sec_data(e, i);
		if (x->set_data) {
			so[i].data = x->data;
			so[i].sh.sh_size = x->size;
		}
		if (x->align)
			so[i].sh.sh_addralign = x->align;
		if (i == e->eh.e_shstrndx) {
			so[i].data = names;
			so[i].sh.sh_size = names_size;
		}
	}
	for (i = 0; i < ed->add_cnt; i++) {
		struct sec_out *o = &so[e->shnum + i];

		memset(o, 0, sizeof(*o));
		o->sh.sh_name = name_off[e->shnum + i];
		o->sh.sh_type = ed->add[i].type;
		o->sh.sh_size = ed->add[i].size;
		o->sh.sh_addralign = ed->add[i].align;
		o->data = ed->add[i].data;
	}
}

static int emit(const struct usm_elf *e, struct sec_out *so, uint32_t n,
		void **out, size_t *out_size)
{
	uint64_t off = sizeof(Elf64_Ehdr), shoff;
	Elf64_Ehdr eh = e->eh;
	uint8_t *img;
	uint32_t i;

	for (i = 1; i < n; i++) {
		if (so[i].sh.sh_type == SHT_NOBITS)
			so[i].sh.sh_offset = off; /* no contents, keep it in range */
		if (!so[i].data || so[i].sh.sh_type == SHT_NOBITS)
			continue;
		off = align_up(off, so[i].sh.sh_addralign);
		so[i].sh.sh_offset = off;
		off += so[i].sh.sh_size;
	}
	shoff = align_up(off, 8);
	if (shoff > SIZE_MAX - (uint64_t)n * sizeof(Elf64_Shdr))
		return -E2BIG;
	img = calloc(1, shoff + (uint64_t)n * sizeof(Elf64_Shdr));
	if (!img)
		return -ENOMEM;
	eh.e_phoff = 0;
	eh.e_phnum = 0;
	eh.e_shoff = shoff;
	eh.e_shnum = (uint16_t)n;
	memcpy(img, &eh, sizeof(eh));
	for (i = 1; i < n; i++) {
		if (so[i].data && so[i].sh.sh_type != SHT_NOBITS &&
		    so[i].sh.sh_size)
			memcpy(img + so[i].sh.sh_offset, so[i].data,
			       so[i].sh.sh_size);
		else if (so[i].sh.sh_type != SHT_NOBITS)
			so[i].sh.sh_offset = 0;
	}
	for (i = 0; i < n; i++)
		memcpy(img + shoff + (uint64_t)i * sizeof(Elf64_Shdr), &so[i].sh,
		       sizeof(Elf64_Shdr));
	*out = img;
	*out_size = shoff + (uint64_t)n * sizeof(Elf64_Shdr);
	return 0;
}

int usm__elf_write(const struct usm_elf *e, const struct usm_elf_edits *ed,
		   void **out, size_t *out_size)
{
	uint32_t n = e->shnum + ed->add_cnt;
	uint32_t *name_off = calloc(n, sizeof(*name_off));
	struct sec_out *so = calloc(n, sizeof(*so));
	uint64_t names_size = 0;
	char *names = NULL;
	int err = -ENOMEM;

	*out = NULL;
	*out_size = 0;
	if (!name_off || !so)
		goto out;
	err = build_names(e, ed, name_off, &names, &names_size);
	if (err)
		goto out;
	plan_sections(e, ed, names, names_size, name_off, so);
	err = emit(e, so, n, out, out_size);
out:
	free(names);
	free(so);
	free(name_off);
	return err;
}

int usm__elf_strip_prog_slots(const struct usm_elf *e,
			      struct usm_elf_edits *ed)
{
	uint32_t maps = usm__elf_find_sec(e, ".maps");
	uint32_t i;

	for (i = 1; maps && i < e->shnum; i++) {
		const Elf64_Shdr *s = &e->sh[i];
		uint64_t k, n = s->sh_size / sizeof(Elf64_Rel), kept = 0;
		Elf64_Rel *rels;

		if (s->sh_type != SHT_REL || s->sh_info != maps)
			continue;
		rels = malloc(s->sh_size ? s->sh_size : 1);
		if (!rels)
			return -ENOMEM;
		for (k = 0; k < n; k++) {
			Elf64_Rel r;
			Elf64_Sym sym;

			memcpy(&r, e->buf + s->sh_offset + k * sizeof(r),
			       sizeof(r));
			usm__elf_sym(e, (uint32_t)ELF64_R_SYM(r.r_info), &sym);
			if (!usm__elf_sec_is_exec(e, sym.st_shndx))
				rels[kept++] = r;
		}
		free(ed->sec[i].data);
		ed->sec[i].data = rels;
		ed->sec[i].size = kept * sizeof(Elf64_Rel);
		ed->sec[i].set_data = true;
	}
	return 0;
}
