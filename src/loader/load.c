/* SPDX-License-Identifier: MIT */
/*
 * Loading an opened object, in the order libbpf's bpf_object__load works:
 *   1. refuse what cannot be loaded: requested programs of types usockmap
 *      does not run or libbpf does not know, CO-RE records that need kernel
 *      BTF (core.c), for the programs that will load;
 *   2. link with libbpf in gen_loader mode (no bpf(2) call): the relocated
 *      instructions reference maps as BPF_PSEUDO_MAP_IDX /
 *      BPF_PSEUDO_MAP_IDX_VALUE with imm = index in libbpf's map order,
 *      subprograms are appended; kfunc calls and kernel symbol references
 *      are refused here;
 *   3. create every map in that order (so the index is the same in our
 *      program map tables), copy .data/.rodata/.bss/.kconfig contents in
 *      and freeze read-only ones, fill map-in-map initial slots;
 *   4. build one struct usm_prog per loaded program holding every map of
 *      the object, verify each (a rejection fails the load with its errno;
 *      its log stays on the program), then fill PROG_ARRAY initial slots.
 * Failure atomicity: on any error every created map and built program is
 * released again (usm__object_unload) and the object stays inspectable.
 */
#include "loader.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../vm/vm.h"

/* Verifier log buffer per program: errors and summary / full trace. */
#define VLOG_SIZE       (64u << 10)
#define VLOG_SIZE_TRACE (4u << 20)

/* Append a long text to @log in pieces (usm__log formats lines < 1 KiB). */
static void log_text(struct usm_log *log, const char *text)
{
	size_t n = strlen(text), off;

	for (off = 0; off < n; off += 512)
		usm__log(log, "%.*s", (int)(n - off < 512 ? n - off : 512),
			 text + off);
}

static struct usm_program *program_by_name(struct usm_object *obj,
					   const char *name)
{
	return usm_object_find_program(obj, name);
}

static struct usm_object_map *map_rec_by_name(struct usm_object *obj,
					      const char *name)
{
	uint32_t i;

	for (i = 0; i < obj->map_cnt; i++)
		if (strcmp(obj->maps[i].name, name) == 0)
			return &obj->maps[i];
	return NULL;
}

/* @msg becomes @p's log (usm_program_log) and goes to the object log. */
static void program_note(struct usm_object *obj, struct usm_program *p,
			 const char *msg)
{
	usm__log(&obj->log, "%s", msg);
	if (!p)
		return;
	free(p->log);
	p->log = strdup(msg);
}

/* ---- 1. what cannot load ---- */

static int check_requested(struct usm_object *obj)
{
	uint32_t i, n = 0;

	for (i = 0; i < obj->prog_cnt; i++) {
		struct usm_program *p = &obj->progs[i];

		if (!p->autoload)
			continue;
		n++;
		if (p->supported)
			continue;
		usm__log(&obj->log, "%s", usm_program_log(p));
		return p->known ? -EOPNOTSUPP : -EINVAL;
	}
	if (!n && obj->log.level >= 1)
		usm__log(&obj->log, "object '%s': no program to load\n",
			 usm_object_name(obj));
	for (i = 0; i < obj->map_cnt; i++) {
		/* libbpf 1.1 dereferences struct_ops state a .maps entry of
		 * this type does not have; usockmap has no struct_ops */
		if (bpf_map__type(obj->maps[i].bmap) != BPF_MAP_TYPE_STRUCT_OPS)
			continue;
		usm__log(&obj->log, "map '%s': struct_ops maps are not "
				    "supported\n", obj->maps[i].name);
		return -EOPNOTSUPP;
	}
	return 0;
}

/* The function whose instructions hold CO-RE record @rec, or NULL. */
static const struct usm_elf_func *core_func(struct usm_object *obj,
					    const struct btf *btf,
					    const struct usm_core_rec *rec)
{
	const char *sec = btf__name_by_offset(btf, rec->sec_name_off);
	uint32_t i;

	for (i = 0; sec && i < obj->elf.func_cnt; i++) {
		const struct usm_elf_func *f = &obj->elf.funcs[i];

		if (strcmp(f->sec, sec) == 0 && rec->insn_off >= f->off &&
		    rec->insn_off - f->off < f->size)
			return f;
	}
	return NULL;
}

static int check_core(struct usm_object *obj)
{
	const struct btf *btf = bpf_object__btf(obj->bobj);
	struct usm_log note;
	char msg[512];
	uint32_t i;
	int err;

	for (i = 0; i < obj->elf.core_cnt; i++) {
		struct usm_core_rec rec = obj->elf.core[i];
		const struct usm_elf_func *f = btf ? core_func(obj, btf, &rec)
						   : NULL;
		struct usm_program *p;

		/* libbpf 1.1 fails (and leaks) on records that point nowhere */
		if (!f || rec.insn_off % 8 || rec.kind > BPF_CORE_TYPE_MATCHES) {
			usm__log(&obj->log, "malformed ELF: CO-RE record #%u "
					    "points at no instruction\n", i);
			return -EINVAL;
		}
		p = program_by_name(obj, f->name);
		if (p && !p->autoload)
			continue; /* records of subprograms always count */
		rec.insn_off -= (uint32_t)f->off;
		usm__log_init(&note, msg, sizeof(msg), 0);
		err = usm__core_check(btf, &rec, f->name, &note);
		if (err) {
			program_note(obj, p, msg);
			return err;
		}
	}
	return 0;
}

/* ---- 2. link ---- */

static int libbpf_prepare(struct usm_object *obj)
{
	uint32_t i;
	int err = 0;

	for (i = 0; !err && i < obj->prog_cnt; i++) {
		struct usm_program *p = &obj->progs[i];

		err = bpf_program__set_autoload(p->bprog, p->autoload);
		if (err || !p->autoload)
			continue;
		/* A section libbpf 1.1 maps differently (or not at all). */
		if (bpf_program__type(p->bprog) != p->type)
			err = bpf_program__set_type(p->bprog, p->type);
		if (!err && bpf_program__expected_attach_type(p->bprog) !=
				    p->expected_attach_type)
			err = bpf_program__set_expected_attach_type(
				p->bprog, p->expected_attach_type);
	}
	return err;
}

static int libbpf_link(struct usm_object *obj)
{
	LIBBPF_OPTS(gen_loader_opts, gen);
	struct usm_log *prev = usm__libbpf_log_begin(&obj->log);
	int err = libbpf_prepare(obj);

	err = err ? err : bpf_object__gen_loader(obj->bobj, &gen);
	err = err ? err : bpf_object__load(obj->bobj);
	usm__libbpf_log_end(prev);
	if (!err)
		return 0;
	if (err <= -4000 || err > 0) /* libbpf's LIBBPF_ERRNO__ codes (4000+) */
		err = -EINVAL;
	usm__log(&obj->log, "libbpf could not link object '%s' (%d)\n",
		 usm_object_name(obj), err);
	return err;
}

static int check_insns(struct usm_object *obj, struct usm_program *p)
{
	const struct bpf_insn *in = bpf_program__insns(p->bprog);
	size_t i, n = bpf_program__insn_cnt(p->bprog);
	const char *what = NULL;
	char msg[256];

	for (i = 0; in && i < n && !what; i++) {
		if (in[i].code == (BPF_JMP | BPF_CALL) &&
		    in[i].src_reg == BPF_PSEUDO_KFUNC_CALL)
			what = "calls a kernel function (kfunc)";
		else if (in[i].code == (BPF_LD | BPF_IMM | BPF_DW) &&
			 in[i].src_reg == BPF_PSEUDO_BTF_ID)
			what = "references a kernel symbol (__ksym)";
	}
	if (!in || !n) {
		snprintf(msg, sizeof(msg), "program '%s': no instructions\n",
			 p->name);
		program_note(obj, p, msg);
		return -EINVAL;
	}
	if (!what)
		return 0;
	snprintf(msg, sizeof(msg), "program '%s': insn %zu %s; usockmap has "
		 "none\n", p->name, i - 1, what);
	program_note(obj, p, msg);
	return -EOPNOTSUPP;
}

/* ---- 3. maps ---- */

static void attr_from_libbpf(const struct usm_object_map *m,
			     struct usm_map_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->map_type = bpf_map__type(m->bmap);
	a->key_size = bpf_map__key_size(m->bmap);
	a->value_size = bpf_map__value_size(m->bmap);
	a->max_entries = bpf_map__max_entries(m->bmap);
	a->map_flags = bpf_map__map_flags(m->bmap);
	a->numa_node = bpf_map__numa_node(m->bmap);
	a->btf_key_type_id = bpf_map__btf_key_type_id(m->bmap);
	a->btf_value_type_id = bpf_map__btf_value_type_id(m->bmap);
	/* The kernel keeps 15 characters, as libbpf passes them. */
	snprintf(a->name, sizeof(a->name), "%s", m->name);
}

static int create_one(struct usm_object *obj, struct usm_object_map *m)
{
	struct usm_map *inner = NULL;
	struct usm_map_attr a;
	int err;

	attr_from_libbpf(m, &a);
	if (m->inner_tmpl) {
		inner = m->inner_tmpl;
		usm__map_get(inner);
		a.inner_map = inner;
	} else if (a.map_type == BPF_MAP_TYPE_ARRAY_OF_MAPS ||
		   a.map_type == BPF_MAP_TYPE_HASH_OF_MAPS) {
		if (!m->has_inner) {
			usm__log(&obj->log, "map '%s': no inner map definition "
					    "(declare it with __array(values, "
					    "...) or set one with "
					    "usm_object_set_inner_map)\n",
				 m->name);
			return -EINVAL;
		}
		err = usm__map_create(&m->inner, &inner);
		if (err) {
			usm__log(&obj->log, "map '%s': cannot create its inner "
					    "map template (%d)\n", m->name, err);
			return err;
		}
		a.inner_map = inner;
	}
	err = usm__map_create(&a, &m->map);
	if (err && (a.btf_key_type_id || a.btf_value_type_id)) {
		/* libbpf retries without BTF when creation with it fails */
		a.btf_key_type_id = a.btf_value_type_id = 0;
		err = usm__map_create(&a, &m->map);
	}
	usm__map_put(inner);
	if (err)
		usm__log(&obj->log, "map '%s': cannot create %s map (%d)\n",
			 m->name, usm__map_type_name(a.map_type), err);
	return err;
}

/* .data/.rodata/.bss/.kconfig: contents in, read-only ones frozen. */
static int fill_internal(struct usm_object *obj, struct usm_object_map *m)
{
	size_t size = 0;
	const void *init = bpf_map__initial_value(m->bmap, &size);
	uint32_t zero = 0;
	int err = 0;

	if (!init)
		return 0;
	if (size != m->map->value_size) {
		usm__log(&obj->log, "map '%s': initial value of %zu bytes for a "
				    "%u-byte value\n", m->name, size,
			 m->map->value_size);
		return -EINVAL;
	}
	err = usm__map_update_elem(m->map, &zero, init, BPF_ANY);
	if (!err && (bpf_map__map_flags(m->bmap) & BPF_F_RDONLY_PROG))
		err = usm__map_freeze(m->map);
	if (err)
		usm__log(&obj->log, "map '%s': cannot set its initial value "
				    "(%d)\n", m->name, err);
	return err;
}

static int create_maps(struct usm_object *obj)
{
	uint32_t i;
	int err;

	for (i = 0; i < obj->map_cnt; i++) {
		err = create_one(obj, &obj->maps[i]);
		if (!err && obj->maps[i].internal)
			err = fill_internal(obj, &obj->maps[i]);
		if (err)
			return err;
	}
	return 0;
}

/* Slot number of @sl: pointer offset past the "values" member, / 8. */
static int slot_index(struct usm_object *obj, const struct usm_elf_slot *sl,
		      uint32_t *idx)
{
	const struct btf *btf = bpf_object__btf(obj->bobj);
	const struct btf_type *t;
	const struct btf_member *mb;
	uint32_t off;
	int id;

	id = btf ? btf__find_by_name_kind(btf, sl->map, BTF_KIND_VAR) : -1;
	t = id > 0 ? btf__type_by_id(btf, (uint32_t)id) : NULL;
	id = t ? btf__resolve_type(btf, t->type) : -1;
	t = id > 0 ? btf__type_by_id(btf, (uint32_t)id) : NULL;
	if (!t || !btf_is_struct(t) || !btf_vlen(t))
		return -EINVAL;
	mb = btf_members(t) + btf_vlen(t) - 1;
	if (strcmp(btf__name_by_offset(btf, mb->name_off) ?: "", "values"))
		return -EINVAL;
	off = btf_member_bit_offset(t, btf_vlen(t) - 1) / 8;
	if (sl->def_off < off || (sl->def_off - off) % 8)
		return -EINVAL;
	*idx = (sl->def_off - off) / 8;
	return 0;
}

static int fill_map_slot(struct usm_object *obj, const struct usm_elf_slot *sl)
{
	struct usm_object_map *outer = map_rec_by_name(obj, sl->map);
	struct usm_object_map *inner = map_rec_by_name(obj, sl->target);
	uint32_t idx;
	int err = -EINVAL;

	if (outer && inner && slot_index(obj, sl, &idx) == 0) {
		err = outer->map->ops->update_elem_map
			      ? outer->map->ops->update_elem_map(
					outer->map, &idx, inner->map, BPF_ANY)
			      : -EOPNOTSUPP;
	}
	if (err)
		usm__log(&obj->log, "map '%s': cannot set initial slot to map "
				    "'%s' (%d)\n", sl->map, sl->target, err);
	return err;
}

/* ---- 4. programs ---- */

/* A new program with @insns and every map in @maps, in order. */
static int prog_make(const char *name, const char *sec, uint32_t type,
		     uint32_t eat, bool gpl, const struct bpf_insn *insns,
		     uint32_t cnt, struct usm_map *const *maps,
		     uint32_t map_cnt, struct usm_prog **out)
{
	struct usm_prog *prog;
	uint32_t i;
	int err = usm__prog_new(&prog);

	if (err)
		return err;
	snprintf(prog->name, sizeof(prog->name), "%s", name);
	snprintf(prog->sec_name, sizeof(prog->sec_name), "%s", sec);
	prog->type = type;
	prog->expected_attach_type = eat;
	prog->gpl_compatible = gpl;
	err = usm__prog_set_insns(prog, insns, cnt);
	for (i = 0; !err && i < map_cnt; i++) {
		int idx = usm__prog_add_map(prog, maps[i]);

		/* BPF_PSEUDO_MAP_IDX imm indexes the table directly */
		err = idx < 0 ? idx : ((uint32_t)idx == i ? 0 : -EINVAL);
	}
	if (err) {
		usm__prog_put(prog);
		return err;
	}
	*out = prog;
	return 0;
}

static int build_prog(struct usm_object *obj, struct usm_program *p)
{
	struct usm_map **maps = calloc(obj->map_cnt ? obj->map_cnt : 1,
				       sizeof(*maps));
	uint32_t i;
	int err;

	if (!maps)
		return -ENOMEM;
	for (i = 0; i < obj->map_cnt; i++)
		maps[i] = obj->maps[i].map;
	err = prog_make(p->name, p->sec, p->type, p->expected_attach_type,
			obj->gpl_compatible, bpf_program__insns(p->bprog),
			(uint32_t)bpf_program__insn_cnt(p->bprog), maps,
			obj->map_cnt, &p->prog);
	free(maps);
	if (err)
		usm__log(&obj->log, "program '%s': cannot build it (%d)\n",
			 p->name, err);
	return err;
}

/* Verify @prog, keeping its log on @p (and copying it to @ubuf). */
static int verify_logged(struct usm_program *p, struct usm_prog *prog,
			 uint32_t level, char *ubuf, size_t usize)
{
	size_t cap = level >= 2 ? VLOG_SIZE_TRACE : VLOG_SIZE;
	char *buf = malloc(cap);
	struct usm_log vlog;
	int err;

	if (!buf)
		return -ENOMEM;
	usm__log_init(&vlog, buf, cap, level);
	err = usm__prog_verify(prog, &vlog);
	if (vlog.truncated && level >= 1)
		usm__log(&vlog, "\n(log truncated)\n");
	free(p->log);
	p->log = strdup(buf);
	if (ubuf && usize)
		snprintf(ubuf, usize, "%s", buf);
	free(buf);
	return err;
}

static int build_and_verify(struct usm_object *obj)
{
	uint32_t i;
	int err;

	for (i = 0; i < obj->prog_cnt; i++) {
		struct usm_program *p = &obj->progs[i];

		if (!p->autoload)
			continue;
		err = check_insns(obj, p);
		err = err ? err : build_prog(obj, p);
		if (err)
			return err;
		err = verify_logged(p, p->prog, obj->log.level, NULL, 0);
		if (err) {
			usm__log(&obj->log, "program '%s': rejected by the "
					    "verifier (%d):\n", p->name, err);
			log_text(&obj->log, usm_program_log(p));
			return err;
		}
	}
	return 0;
}

static int fill_prog_slot(struct usm_object *obj, const struct usm_elf_slot *sl)
{
	struct usm_object_map *m = map_rec_by_name(obj, sl->map);
	struct usm_program *p = program_by_name(obj, sl->target);
	uint32_t idx;
	int err;

	if (!m || bpf_map__type(m->bmap) != BPF_MAP_TYPE_PROG_ARRAY ||
	    slot_index(obj, sl, &idx)) {
		usm__log(&obj->log, "map '%s': initial value '%s' needs a "
				    "PROG_ARRAY with __array(values, ...)\n",
			 sl->map, sl->target);
		return -EINVAL;
	}
	if (!p || !p->prog) {
		usm__log(&obj->log, "map '%s': slot %u: '%s' is not a loaded "
				    "entry-point program\n", sl->map, idx,
			 sl->target);
		return -EINVAL;
	}
	err = usm__prog_array_set(m->map, idx, p->prog);
	if (err)
		usm__log(&obj->log, "map '%s': cannot put program '%s' in "
				    "slot %u (%d)\n", sl->map, sl->target, idx,
			 err);
	return err;
}

static int fill_slots(struct usm_object *obj, bool progs)
{
	uint32_t i;
	int err;

	for (i = 0; i < obj->elf.slot_cnt; i++) {
		const struct usm_elf_slot *sl = &obj->elf.slots[i];

		if (sl->to_prog != progs)
			continue;
		err = progs ? fill_prog_slot(obj, sl) : fill_map_slot(obj, sl);
		if (err)
			return err;
	}
	return 0;
}

int usm__object_do_load(struct usm_object *obj)
{
	int err = check_requested(obj);

	err = err ? err : check_core(obj);
	err = err ? err : libbpf_link(obj);
	err = err ? err : create_maps(obj);
	err = err ? err : fill_slots(obj, false);
	err = err ? err : build_and_verify(obj);
	err = err ? err : fill_slots(obj, true);
	return err;
}

void usm__object_unload(struct usm_object *obj)
{
	uint32_t i;

	for (i = 0; i < obj->prog_cnt; i++) {
		usm__prog_put(obj->progs[i].prog);
		obj->progs[i].prog = NULL;
	}
	/* The object's reference is a user reference: dropping the last one
	 * empties PROG_ARRAYs (the kernel's map_release_uref), which breaks
	 * the program -> array -> program cycle. */
	for (i = 0; i < obj->map_cnt; i++) {
		usm__map_put_with_uref(obj->maps[i].map);
		obj->maps[i].map = NULL;
	}
}

int usm_object_load(struct usm_object *obj)
{
	int err;

	if (!obj)
		return -EINVAL;
	if (obj->state != USM_OBJ_OPEN) {
		usm__log(&obj->log, "object '%s': load can be attempted only "
				    "once\n", usm_object_name(obj));
		return -EINVAL;
	}
	err = usm__object_do_load(obj);
	obj->state = err ? USM_OBJ_FAILED : USM_OBJ_LOADED;
	if (err)
		usm__object_unload(obj);
	else if (obj->log.level >= 1)
		usm__log(&obj->log, "object '%s': loaded, %u maps\n",
			 usm_object_name(obj), obj->map_cnt);
	return err;
}

int usm_program_verify(struct usm_program *p, char *log_buf, size_t log_size,
		       uint32_t log_level)
{
	const struct usm_prog *lp;
	struct usm_prog *copy;
	int err;

	if (log_buf && log_size)
		log_buf[0] = '\0';
	if (!p)
		return -EINVAL;
	if (!p->supported) {
		if (log_buf && log_size)
			snprintf(log_buf, log_size, "%s", usm_program_log(p));
		return p->known ? -EOPNOTSUPP : -EINVAL;
	}
	if (p->obj->state != USM_OBJ_LOADED || !p->prog) {
		if (log_buf && log_size)
			snprintf(log_buf, log_size, "program '%s' is not loaded "
				 "(load the object with it first)\n", p->name);
		return -EINVAL;
	}
	/* A fresh copy: the loaded program is immutable once verified. */
	lp = p->prog;
	err = prog_make(lp->name, lp->sec_name, lp->type,
			lp->expected_attach_type, lp->gpl_compatible, lp->insns,
			lp->insn_cnt, lp->maps, lp->map_cnt, &copy);
	if (err)
		return err;
	err = verify_logged(p, copy, log_level, log_buf, log_size);
	usm__prog_put(copy);
	return err;
}
