/* SPDX-License-Identifier: MIT */
/*
 * Legacy SEC("maps") map definitions (struct bpf_map_def: type, key_size,
 * value_size, max_entries, map_flags as consecutive u32, possibly followed
 * by more fields) that libbpf 1.x refuses. Chosen approach: rewrite the
 * object in memory into the form libbpf 1.x accepts and let libbpf do all
 * the relocation work as for any other object, instead of keeping a second
 * relocation path of our own:
 *   - the section is renamed ".maps" and its contents become one zeroed
 *     BTF map definition per map (five 8-byte members, 40 bytes), so the
 *     map symbols move to offset i * 40 (relocations refer to symbols, so
 *     instructions need no change);
 *   - .BTF (parsed with libbpf's btf API, or created if the object has
 *     none) gains, per map, a struct whose members encode the values the
 *     way __uint() does (`int (*type)[BPF_MAP_TYPE_HASH]`); the map's VAR
 *     and the "maps" DATASEC clang emitted are retargeted and renamed in
 *     place, so every existing type id and string offset (which .BTF.ext
 *     refers to) stays valid; without clang's DATASEC new VARs and a new
 *     ".maps" DATASEC are added.
 * As libbpf 0.x did, the definition size is the section size divided by
 * the number of map symbols; bytes past map_flags must be zero (libbpf
 * 0.x's strict mode), otherwise -EOPNOTSUPP names the map. Maps referenced
 * through the section symbol (static definitions) are refused.
 */
#include "loader.h"

#include <bpf/btf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LEGACY_NFIELDS 5u
#define BTF_DEF_SIZE   (LEGACY_NFIELDS * 8u)

static const char *const field_names[LEGACY_NFIELDS] = {
	"type", "key_size", "value_size", "max_entries", "map_flags",
};

struct legacy_map {
	uint32_t sym;                     /* symbol index */
	const char *name;                 /* in the image */
	uint32_t val[LEGACY_NFIELDS];
	int struct_id;                    /* synthesized definition */
};

struct legacy {
	const struct usm_elf *e;
	uint32_t sec;
	struct legacy_map *maps;
	uint32_t n;
	struct usm_log *log;
};

static int collect_maps(struct legacy *lg)
{
	const struct usm_elf *e = lg->e;
	uint32_t i;
	Elf64_Sym s;

	lg->maps = calloc(e->nsyms ? e->nsyms : 1, sizeof(*lg->maps));
	if (!lg->maps)
		return -ENOMEM;
	for (i = 1; i < e->nsyms; i++) {
		usm__elf_sym(e, i, &s);
		if (s.st_shndx != lg->sec || ELF64_ST_TYPE(s.st_info) == STT_SECTION)
			continue;
		lg->maps[lg->n].sym = i;
		lg->maps[lg->n].name = usm__elf_sym_name(e, &s);
		if (!lg->maps[lg->n].name[0]) {
			usm__log(lg->log, "legacy maps: unnamed map symbol\n");
			return -EINVAL;
		}
		lg->n++;
	}
	return 0;
}

static int read_defs(struct legacy *lg)
{
	const Elf64_Shdr *sh = &lg->e->sh[lg->sec];
	const uint8_t *d = usm__elf_sec_data(lg->e, lg->sec);
	uint64_t def_sz, k;
	uint32_t i, f;

	if (!d || !sh->sh_size || !lg->n || sh->sh_size % lg->n) {
		usm__log(lg->log, "legacy maps: cannot tell the definition size "
				  "(%u maps in %llu bytes)\n", lg->n,
			 (unsigned long long)sh->sh_size);
		return -EINVAL;
	}
	def_sz = sh->sh_size / lg->n;
	for (i = 0; i < lg->n; i++) {
		struct legacy_map *m = &lg->maps[i];
		Elf64_Sym s;

		usm__elf_sym(lg->e, m->sym, &s);
		if (s.st_value > sh->sh_size || sh->sh_size - s.st_value < def_sz) {
			usm__log(lg->log, "legacy maps: '%s' runs past the "
					  "section\n", m->name);
			return -EINVAL;
		}
		for (f = 0; f < LEGACY_NFIELDS && (f + 1) * 4 <= def_sz; f++)
			memcpy(&m->val[f], d + s.st_value + f * 4, 4);
		for (k = LEGACY_NFIELDS * 4; k < def_sz; k++) {
			if (d[s.st_value + k] == 0)
				continue;
			usm__log(lg->log, "legacy maps: '%s' sets a field past "
					  "map_flags (byte %llu of its "
					  "definition); not supported\n",
				 m->name, (unsigned long long)k);
			return -EOPNOTSUPP;
		}
	}
	return 0;
}

/* Instructions that reach a legacy map through the section symbol. */
static int check_static_refs(struct legacy *lg)
{
	const struct usm_elf *e = lg->e;
	uint32_t i;

	for (i = 1; i < e->shnum; i++) {
		const Elf64_Shdr *s = &e->sh[i];
		uint64_t k, n = s->sh_size / sizeof(Elf64_Rel);

		if (s->sh_type != SHT_REL || !usm__elf_sec_is_exec(e, s->sh_info))
			continue;
		for (k = 0; k < n; k++) {
			Elf64_Rel r;
			Elf64_Sym sym;

			memcpy(&r, e->buf + s->sh_offset + k * sizeof(r),
			       sizeof(r));
			usm__elf_sym(e, (uint32_t)ELF64_R_SYM(r.r_info), &sym);
			if (sym.st_shndx == lg->sec &&
			    ELF64_ST_TYPE(sym.st_info) == STT_SECTION) {
				usm__log(lg->log, "legacy maps: a static map is "
						  "referenced through its "
						  "section; make it global\n");
				return -EOPNOTSUPP;
			}
		}
	}
	return 0;
}

/* `int (*name)[val]` member types, then the struct holding them. */
static int add_def_struct(struct btf *btf, int int_id, struct legacy_map *m)
{
	int ptr[LEGACY_NFIELDS], id, err;
	uint32_t f;

	for (f = 0; f < LEGACY_NFIELDS; f++) {
		id = btf__add_array(btf, int_id, int_id, m->val[f]);
		if (id < 0)
			return id;
		ptr[f] = btf__add_ptr(btf, id);
		if (ptr[f] < 0)
			return ptr[f];
	}
	m->struct_id = btf__add_struct(btf, NULL, BTF_DEF_SIZE);
	if (m->struct_id < 0)
		return m->struct_id;
	for (f = 0; f < LEGACY_NFIELDS; f++) {
		err = btf__add_field(btf, field_names[f], ptr[f], f * 64, 0);
		if (err)
			return err;
	}
	return 0;
}

static struct legacy_map *map_by_name(struct legacy *lg, const char *name)
{
	uint32_t i;

	for (i = 0; name && i < lg->n; i++)
		if (strcmp(lg->maps[i].name, name) == 0)
			return &lg->maps[i];
	return NULL;
}

/*
 * Retarget clang's "maps" DATASEC in place: libbpf's btf API has no setter
 * for existing types, but once a BTF object has been modified its types
 * live in a private writable buffer, so the const from btf__type_by_id()
 * can be dropped (no additions follow, so the pointer stays valid).
 */
static int retarget_datasec(struct legacy *lg, struct btf *btf, int ds_id,
			    int name_off)
{
	struct btf_type *ds = (struct btf_type *)btf__type_by_id(btf, ds_id);
	struct btf_var_secinfo *vsi = btf_var_secinfos(ds);
	uint32_t i, vlen = btf_vlen(ds);

	ds->name_off = (uint32_t)name_off;
	ds->size = lg->n * BTF_DEF_SIZE;
	for (i = 0; i < vlen; i++) {
		struct btf_type *v = (struct btf_type *)btf__type_by_id(btf,
								vsi[i].type);
		struct legacy_map *m;

		m = v && btf_is_var(v) ? map_by_name(lg, btf__name_by_offset(
							btf, v->name_off))
				       : NULL;
		if (!m) {
			usm__log(lg->log, "legacy maps: BTF variable #%u of "
					  "\"maps\" is not a map symbol\n", i);
			return -EINVAL;
		}
		v->type = (uint32_t)m->struct_id;
		vsi[i].offset = (uint32_t)(m - lg->maps) * BTF_DEF_SIZE;
		vsi[i].size = BTF_DEF_SIZE;
	}
	return 0;
}

static int add_datasec(struct legacy *lg, struct btf *btf)
{
	uint32_t i;
	int id, err;

	for (i = 0; i < lg->n; i++) {
		id = btf__add_var(btf, lg->maps[i].name, BTF_VAR_GLOBAL_ALLOCATED,
				  lg->maps[i].struct_id);
		if (id < 0)
			return id;
		lg->maps[i].struct_id = id; /* now the VAR, for the next loop */
	}
	id = btf__add_datasec(btf, ".maps", lg->n * BTF_DEF_SIZE);
	if (id < 0)
		return id;
	for (i = 0; i < lg->n; i++) {
		err = btf__add_datasec_var_info(btf, lg->maps[i].struct_id,
						i * BTF_DEF_SIZE, BTF_DEF_SIZE);
		if (err)
			return err;
	}
	return 0;
}

static struct btf *open_btf(struct legacy *lg)
{
	uint32_t idx = usm__elf_find_sec(lg->e, ".BTF");
	const uint8_t *d = usm__elf_sec_data(lg->e, idx);

	if (!d)
		return btf__new_empty();
	return btf__new(d, (uint32_t)lg->e->sh[idx].sh_size);
}

static int build_btf(struct legacy *lg, void **raw, uint32_t *raw_size)
{
	struct btf *btf = open_btf(lg);
	int err, int_id, ds_id, name_off;
	const void *data;
	uint32_t i;

	if (!btf) {
		usm__log(lg->log, "legacy maps: the object's .BTF is invalid\n");
		return -EINVAL;
	}
	int_id = btf__add_int(btf, "int", 4, BTF_INT_SIGNED);
	err = int_id < 0 ? int_id : 0;
	for (i = 0; !err && i < lg->n; i++)
		err = add_def_struct(btf, int_id, &lg->maps[i]);
	name_off = err ? err : btf__add_str(btf, ".maps");
	err = name_off < 0 ? name_off : 0;
	ds_id = btf__find_by_name_kind(btf, "maps", BTF_KIND_DATASEC);
	if (!err)
		err = ds_id > 0 ? retarget_datasec(lg, btf, ds_id, name_off)
				: add_datasec(lg, btf);
	data = err ? NULL : btf__raw_data(btf, raw_size);
	if (!err && !data)
		err = -ENOMEM;
	if (!err) {
		*raw = malloc(*raw_size);
		if (*raw)
			memcpy(*raw, data, *raw_size);
		else
			err = -ENOMEM;
	}
	btf__free(btf);
	return err;
}

/* New section contents: zeroed definitions; symbols moved onto them. */
static int edit_sections(struct legacy *lg, struct usm_elf_edits *ed)
{
	const struct usm_elf *e = lg->e;
	const Elf64_Shdr *st = &e->sh[e->symtab];
	uint8_t *syms;
	uint32_t i;

	ed->sec[lg->sec].name = strdup(".maps");
	ed->sec[lg->sec].data = calloc(lg->n, BTF_DEF_SIZE);
	ed->sec[lg->sec].size = (uint64_t)lg->n * BTF_DEF_SIZE;
	ed->sec[lg->sec].set_data = true;
	ed->sec[lg->sec].align = 8;
	syms = malloc(st->sh_size);
	if (!ed->sec[lg->sec].name || !ed->sec[lg->sec].data || !syms) {
		free(syms);
		return -ENOMEM;
	}
	memcpy(syms, e->buf + st->sh_offset, st->sh_size);
	for (i = 0; i < lg->n; i++) {
		Elf64_Sym s;
		uint8_t *p = syms + (uint64_t)lg->maps[i].sym * sizeof(s);

		memcpy(&s, p, sizeof(s));
		s.st_value = (uint64_t)i * BTF_DEF_SIZE;
		s.st_size = BTF_DEF_SIZE;
		memcpy(p, &s, sizeof(s));
	}
	free(ed->sec[e->symtab].data);
	ed->sec[e->symtab].data = syms;
	ed->sec[e->symtab].size = st->sh_size;
	ed->sec[e->symtab].set_data = true;
	return 0;
}

static int edit_btf(struct legacy *lg, struct usm_elf_edits *ed)
{
	uint32_t idx = usm__elf_find_sec(lg->e, ".BTF");
	uint32_t raw_size = 0;
	void *raw = NULL;
	int err = build_btf(lg, &raw, &raw_size);

	if (err)
		return err;
	if (idx) {
		free(ed->sec[idx].data);
		ed->sec[idx].data = raw;
		ed->sec[idx].size = raw_size;
		ed->sec[idx].set_data = true;
		return 0;
	}
	ed->add[ed->add_cnt].name = strdup(".BTF");
	ed->add[ed->add_cnt].type = SHT_PROGBITS;
	ed->add[ed->add_cnt].data = raw;
	ed->add[ed->add_cnt].size = raw_size;
	ed->add[ed->add_cnt].align = 4;
	ed->add_cnt++;
	return ed->add[ed->add_cnt - 1].name ? 0 : -ENOMEM;
}

int usm__legacy_maps_edit(const struct usm_elf *e, uint32_t sec,
			  struct usm_elf_edits *ed, struct usm_log *log)
{
	struct legacy lg = { .e = e, .sec = sec, .log = log };
	int err;

	if (usm__elf_find_sec(e, ".maps")) {
		usm__log(log, "legacy maps: object has both SEC(\"maps\") and "
			      "SEC(\".maps\") definitions; not supported\n");
		return -EOPNOTSUPP;
	}
	err = collect_maps(&lg);
	err = err ? err : read_defs(&lg);
	err = err ? err : check_static_refs(&lg);
	err = err ? err : edit_btf(&lg, ed);
	err = err ? err : edit_sections(&lg, ed);
	if (!err && log && log->level >= 1)
		usm__log(log, "legacy maps: %u definitions in SEC(\"maps\") "
			      "translated to BTF .maps\n", lg.n);
	free(lg.maps);
	return err;
}
