/* SPDX-License-Identifier: MIT */
/*
 * BTF sanity checks libbpf 1.1 does not make. Its btf__new() checks sizes
 * and kinds, but later steps of bpf_object__open follow type ids and
 * string offsets without checking them, and crash on a corrupted .BTF
 * (newer libbpf validates these itself). Before libbpf opens an image we
 * check that every type's name, every member, parameter and enumerator
 * name is a string of the string section, every referenced type id
 * exists, FUNC points at a FUNC_PROTO and DATASEC entries at VARs lying
 * inside the section size; and that the func_info/line_info/CO-RE blocks
 * of .BTF.ext have sane record sizes, name valid sections and (func_info)
 * name FUNC types.
 */
#include "loader.h"

#include <bpf/btf.h>
#include <errno.h>
#include <string.h>

#define BTF_EXT_HDR_MIN 24u

static int bad_btf(struct usm_log *log, uint32_t id, const char *what)
{
	usm__log(log, "malformed ELF: .BTF type [%u]: %s\n", id, what);
	return -EINVAL;
}

static bool str_ok(const struct btf *btf, uint32_t off)
{
	return btf__str_by_offset(btf, off) != NULL;
}

static bool id_ok(const struct btf *btf, uint32_t id)
{
	return id < btf__type_cnt(btf);
}

static int check_members(const struct btf *btf, const struct btf_type *t,
			 uint32_t id, struct usm_log *log)
{
	uint32_t i, n = btf_vlen(t);

	for (i = 0; i < n; i++) {
		uint32_t name, type = 0;

		switch (btf_kind(t)) {
		case BTF_KIND_STRUCT:
		case BTF_KIND_UNION:
			name = btf_members(t)[i].name_off;
			type = btf_members(t)[i].type;
			break;
		case BTF_KIND_FUNC_PROTO:
			name = btf_params(t)[i].name_off;
			type = btf_params(t)[i].type;
			break;
		case BTF_KIND_ENUM:
			name = btf_enum(t)[i].name_off;
			break;
		default: /* ENUM64 */
			name = btf_enum64(t)[i].name_off;
			break;
		}
		if (!str_ok(btf, name))
			return bad_btf(log, id, "member name out of range");
		if (!id_ok(btf, type))
			return bad_btf(log, id, "member type out of range");
	}
	return 0;
}

static int check_datasec(const struct btf *btf, const struct btf_type *t,
			 uint32_t id, struct usm_log *log)
{
	const struct btf_var_secinfo *v = btf_var_secinfos(t);
	uint32_t i, n = btf_vlen(t);

	for (i = 0; i < n; i++) {
		const struct btf_type *var = id_ok(btf, v[i].type) ?
			btf__type_by_id(btf, v[i].type) : NULL;

		/* VARs; FUNCs in .ksyms (extern kfuncs) */
		if (!var || (!btf_is_var(var) && !btf_is_func(var)))
			return bad_btf(log, id, "DATASEC entry is not a VAR");
		if (t->size && (v[i].offset > t->size ||
				v[i].size > t->size - v[i].offset))
			return bad_btf(log, id, "DATASEC entry past its size");
	}
	return 0;
}

static int check_type(const struct btf *btf, uint32_t id,
		      struct usm_log *log)
{
	const struct btf_type *t = btf__type_by_id(btf, id);

	if (!t || !str_ok(btf, t->name_off))
		return bad_btf(log, id, "name out of range");
	switch (btf_kind(t)) {
	case BTF_KIND_PTR:
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_VAR:
	case BTF_KIND_DECL_TAG:
	case BTF_KIND_TYPE_TAG:
		return id_ok(btf, t->type) ? 0
			: bad_btf(log, id, "referenced type out of range");
	case BTF_KIND_FUNC:
		if (!id_ok(btf, t->type) ||
		    !btf_is_func_proto(btf__type_by_id(btf, t->type)))
			return bad_btf(log, id, "FUNC without FUNC_PROTO");
		return 0;
	case BTF_KIND_ARRAY:
		return id_ok(btf, btf_array(t)->type) &&
				       id_ok(btf, btf_array(t)->index_type)
			       ? 0
			       : bad_btf(log, id, "array type out of range");
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
	case BTF_KIND_FUNC_PROTO:
	case BTF_KIND_ENUM:
	case BTF_KIND_ENUM64:
		return check_members(btf, t, id, log);
	case BTF_KIND_DATASEC:
		return check_datasec(btf, t, id, log);
	default:
		return 0;
	}
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* One .BTF.ext part: rec_size, then blocks {sec_name_off, n, records}. */
static int check_ext_part(const struct btf *btf, const uint8_t *d,
			  uint32_t len, uint32_t min_rec, bool func,
			  struct usm_log *log)
{
	uint32_t rec, pos = 4, n, j;

	if (!len)
		return 0;
	if (len < 4 || (rec = rd32(d)) < min_rec || rec % 4)
		goto bad;
	while (pos < len) {
		if (len - pos < 8 || !str_ok(btf, rd32(d + pos)))
			goto bad;
		n = rd32(d + pos + 4);
		pos += 8;
		if (!n || n > (len - pos) / rec)
			goto bad;
		for (j = 0; func && j < n; j++) {
			uint32_t tid = rd32(d + pos + j * rec + 4);

			if (!id_ok(btf, tid) ||
			    !btf_is_func(btf__type_by_id(btf, tid)))
				goto bad;
		}
		pos += n * rec;
	}
	return 0;
bad:
	usm__log(log, "malformed ELF: bad .BTF.ext %s records\n",
		 func ? "func_info" : "line_info/CO-RE");
	return -EINVAL;
}

static int check_ext(const struct usm_elf *e, const struct btf *btf,
		     struct usm_log *log)
{
	uint32_t idx = usm__elf_find_sec(e, ".BTF.ext"), hdr, k;
	const uint8_t *d = usm__elf_sec_data(e, idx);
	static const uint32_t min_rec[3] = { 8, 16, 16 };
	uint64_t size;
	int err;

	if (!d)
		return 0;
	size = e->sh[idx].sh_size;
	hdr = rd32(d + 4);
	if (hdr < BTF_EXT_HDR_MIN || hdr > size)
		return bad_btf(log, 0, "bad .BTF.ext header");
	/* func_info, line_info and (if the header has it) core_relo */
	for (k = 0; k < 3 && 8 + k * 8 + 8 <= hdr; k++) {
		uint32_t off = rd32(d + 8 + k * 8), len = rd32(d + 12 + k * 8);

		if ((uint64_t)hdr + off > size || len > size - hdr - off) {
			usm__log(log, "malformed ELF: .BTF.ext part out of "
				      "range\n");
			return -EINVAL;
		}
		err = check_ext_part(btf, d + hdr + off, len, min_rec[k], k == 0,
				     log);
		if (err)
			return err;
	}
	return 0;
}

int usm__btf_check(const struct usm_elf *e, struct usm_log *log)
{
	uint32_t idx = usm__elf_find_sec(e, ".BTF");
	const uint8_t *d = usm__elf_sec_data(e, idx);
	struct btf *btf;
	uint32_t id;
	int err = 0;

	if (!d)
		return 0;
	btf = btf__new(d, (uint32_t)e->sh[idx].sh_size);
	if (!btf) {
		usm__log(log, "malformed ELF: .BTF cannot be parsed\n");
		return -EINVAL;
	}
	for (id = 1; !err && id < btf__type_cnt(btf); id++)
		err = check_type(btf, id, log);
	err = err ? err : check_ext(e, btf, log);
	btf__free(btf);
	return err;
}
