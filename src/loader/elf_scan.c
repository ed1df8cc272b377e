/* SPDX-License-Identifier: MIT */
/*
 * What the loader needs from the ELF that libbpf 1.1 does not expose: the
 * license string, every function's extent (to tell which program a CO-RE
 * record belongs to), the initial slots of `.maps` definitions
 * (`.values = { [i] = &prog_or_map }`, relocations in .rel.maps), and the
 * CO-RE relocation records of .BTF.ext (struct btf_ext_header: the
 * core_relo part follows func_info and line_info; each block is a section
 * name offset, a record count and that many records of rec_size bytes).
 * Works on an image usm__elf_parse() accepted; still checks every length
 * it reads from section contents.
 */
#include "loader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Layout of struct btf_ext_header (linux/btf.h has no UAPI copy). */
#define BTF_EXT_MAGIC        0xeB9Fu
#define BTF_EXT_CORE_HDR_LEN 32u
#define BTF_EXT_CORE_OFF     24u /* core_relo_off, then core_relo_len */
#define CORE_REC_MIN         16u /* insn_off, type_id, access_str_off, kind */

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void scan_license(const struct usm_elf *e, struct usm_elf_info *info)
{
	uint32_t idx = usm__elf_find_sec(e, "license");
	const uint8_t *d = usm__elf_sec_data(e, idx);
	size_t n;

	if (!d)
		return;
	n = e->sh[idx].sh_size;
	if (n > sizeof(info->license) - 1)
		n = sizeof(info->license) - 1;
	memcpy(info->license, d, n);
	info->license[n] = '\0';
	info->has_license = true;
}

static int scan_funcs(const struct usm_elf *e, struct usm_elf_info *info)
{
	uint32_t i, n = 0;
	Elf64_Sym s;

	info->funcs = calloc(e->nsyms ? e->nsyms : 1, sizeof(*info->funcs));
	if (!info->funcs)
		return -ENOMEM;
	for (i = 1; i < e->nsyms; i++) {
		struct usm_elf_func *f = &info->funcs[n];

		usm__elf_sym(e, i, &s);
		if (ELF64_ST_TYPE(s.st_info) != STT_FUNC ||
		    !usm__elf_sec_is_exec(e, s.st_shndx))
			continue;
		f->name = strdup(usm__elf_sym_name(e, &s));
		f->sec = strdup(usm__elf_sec_name(e, s.st_shndx));
		f->off = s.st_value;
		f->size = s.st_size;
		info->func_cnt = ++n;
		if (!f->name || !f->sec)
			return -ENOMEM;
	}
	return 0;
}

/* The `.maps` variable whose definition covers byte @off of the section. */
static int map_sym_at(const struct usm_elf *e, uint32_t sec, uint64_t off,
		      Elf64_Sym *out)
{
	uint32_t i;

	for (i = 1; i < e->nsyms; i++) {
		usm__elf_sym(e, i, out);
		if (out->st_shndx == sec &&
		    ELF64_ST_TYPE(out->st_info) == STT_OBJECT &&
		    off >= out->st_value && off - out->st_value < out->st_size)
			return 0;
	}
	return -ENOENT;
}

static int add_slot(const struct usm_elf *e, struct usm_elf_info *info,
		    const Elf64_Rel *r, uint32_t *cap)
{
	struct usm_elf_slot *sl;
	Elf64_Sym tgt, def;

	usm__elf_sym(e, (uint32_t)ELF64_R_SYM(r->r_info), &tgt);
	if (map_sym_at(e, info->maps_sec, r->r_offset, &def))
		return 0; /* libbpf reports it: "cannot find map" */
	if (info->slot_cnt == *cap) {
		uint32_t ncap = *cap ? *cap * 2 : 8;
		void *p = realloc(info->slots, ncap * sizeof(*info->slots));

		if (!p)
			return -ENOMEM;
		info->slots = p;
		*cap = ncap;
	}
	sl = &info->slots[info->slot_cnt];
	memset(sl, 0, sizeof(*sl));
	info->slot_cnt++;
	sl->def_off = (uint32_t)(r->r_offset - def.st_value);
	sl->to_prog = usm__elf_sec_is_exec(e, tgt.st_shndx);
	sl->map = strdup(usm__elf_sym_name(e, &def));
	sl->target = strdup(usm__elf_sym_name(e, &tgt));
	if (!sl->map || !sl->target)
		return -ENOMEM;
	if (sl->to_prog)
		info->prog_slot_relocs++;
	return 0;
}

static int scan_slots(const struct usm_elf *e, struct usm_elf_info *info)
{
	uint32_t i, cap = 0;
	uint64_t k, n;
	int err;

	if (!info->maps_sec)
		return 0;
	for (i = 1; i < e->shnum; i++) {
		const Elf64_Shdr *s = &e->sh[i];

		if (s->sh_type != SHT_REL || s->sh_info != info->maps_sec)
			continue;
		n = s->sh_size / sizeof(Elf64_Rel);
		for (k = 0; k < n; k++) {
			Elf64_Rel r;

			memcpy(&r, e->buf + s->sh_offset + k * sizeof(r),
			       sizeof(r));
			err = add_slot(e, info, &r, &cap);
			if (err)
				return err;
		}
	}
	return 0;
}

static int scan_core_blocks(const uint8_t *d, uint32_t len,
			    struct usm_elf_info *info)
{
	uint32_t rec_size, pos = 4, n_total = 0, cap = 0;

	if (len < 4)
		return len ? -EINVAL : 0;
	rec_size = rd32(d);
	if (rec_size < CORE_REC_MIN || rec_size % 4)
		return -EINVAL;
	while (pos < len) {
		uint32_t sec_off, num, j;

		if (len - pos < 8)
			return -EINVAL;
		sec_off = rd32(d + pos);
		num = rd32(d + pos + 4);
		pos += 8;
		if (num == 0 || num > (len - pos) / rec_size)
			return -EINVAL;
		if (n_total + num > cap) {
			uint32_t ncap = n_total + num;
			void *p = realloc(info->core, ncap * sizeof(*info->core));

			if (!p)
				return -ENOMEM;
			info->core = p;
			cap = ncap;
		}
		for (j = 0; j < num; j++, pos += rec_size) {
			struct usm_core_rec *c = &info->core[n_total++];

			c->sec_name_off = sec_off;
			c->insn_off = rd32(d + pos);
			c->type_id = rd32(d + pos + 4);
			c->access_str_off = rd32(d + pos + 8);
			c->kind = rd32(d + pos + 12);
		}
		info->core_cnt = n_total;
	}
	return 0;
}

static int scan_core(const struct usm_elf *e, struct usm_elf_info *info,
		     struct usm_log *log)
{
	uint32_t idx = usm__elf_find_sec(e, ".BTF.ext");
	const uint8_t *d = usm__elf_sec_data(e, idx);
	uint32_t hdr_len, off, len;
	uint64_t size;
	int err;

	if (!d)
		return 0;
	size = e->sh[idx].sh_size;
	hdr_len = rd32(d + 4);
	if ((rd32(d) & 0xffffu) != BTF_EXT_MAGIC || hdr_len < 24 ||
	    hdr_len > size) {
		usm__log(log, "malformed ELF: bad .BTF.ext header\n");
		return -EINVAL;
	}
	if (hdr_len < BTF_EXT_CORE_HDR_LEN)
		return 0; /* no CO-RE part */
	off = rd32(d + BTF_EXT_CORE_OFF);
	len = rd32(d + BTF_EXT_CORE_OFF + 4);
	if (len == 0)
		return 0;
	if ((uint64_t)hdr_len + off > size ||
	    len > size - ((uint64_t)hdr_len + off)) {
		usm__log(log, "malformed ELF: .BTF.ext CO-RE part out of range\n");
		return -EINVAL;
	}
	err = scan_core_blocks(d + hdr_len + off, len, info);
	if (err == -EINVAL)
		usm__log(log, "malformed ELF: bad .BTF.ext CO-RE records\n");
	return err;
}

int usm__elf_scan(const struct usm_elf *e, struct usm_log *log,
		  struct usm_elf_info *info)
{
	int err;

	memset(info, 0, sizeof(*info));
	scan_license(e, info);
	info->maps_sec = usm__elf_find_sec(e, ".maps");
	info->legacy_maps_sec = usm__elf_find_sec(e, "maps");
	err = scan_funcs(e, info);
	err = err ? err : scan_slots(e, info);
	err = err ? err : scan_core(e, info, log);
	if (err)
		usm__elf_info_fini(info);
	return err;
}

void usm__elf_info_fini(struct usm_elf_info *info)
{
	uint32_t i;

	if (!info)
		return;
	for (i = 0; i < info->func_cnt; i++) {
		free(info->funcs[i].name);
		free(info->funcs[i].sec);
	}
	for (i = 0; i < info->slot_cnt; i++) {
		free(info->slots[i].map);
		free(info->slots[i].target);
	}
	free(info->funcs);
	free(info->slots);
	free(info->core);
	memset(info, 0, sizeof(*info));
}
