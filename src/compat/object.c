/* SPDX-License-Identifier: MIT */
/*
 * libbpf's object API (bpf_object__*, bpf_program__*, bpf_map__*) over the
 * usockmap loader. A compat object wraps one struct usm_object and keeps a
 * record per program and per map, whose addresses are what the caller sees
 * as struct bpf_program * / struct bpf_map * (never dereferenced as
 * libbpf's types). After a successful load every map and every loaded
 * program gets a file descriptor from the bpf(2) core: maps by
 * BPF_MAP_GET_FD_BY_ID on the map the loader created, programs by
 * BPF_PROG_GET_FD_BY_ID on the program the loader verified (no second
 * verification).
 *
 * Ownership: the compat object owns the usm_object, the records and the
 * descriptors; bpf_object__close() closes the descriptors (maps and
 * programs stay alive while something else holds them: a socket map
 * program attachment, a map-in-map slot, another fd) and frees the rest.
 * Names and definitions come from the loader and from libbpf's parse of the
 * object (kept by the loader), so they are libbpf's own.
 */
#include "compat.h"

#include <stdlib.h>
#include <string.h>

#include <usockmap/object.h>

#include "../core/core.h"
#include "../loader/loader.h"
#include "../maps/map.h"
#include "../vm/vm.h"

struct cobj;

struct cprog {
	struct cobj *owner;
	struct usm_program *p;
	int fd;                 /* -1 until loaded */
};

struct cmap {
	struct cobj *owner;
	uint32_t idx;           /* loader map record (libbpf order) */
	int fd;                 /* -1 until loaded */
};

struct cobj {
	struct usm_object *uo;
	struct cprog *progs;
	uint32_t nprogs;
	struct cmap *maps;
	uint32_t nmaps;
};

static struct cobj *to_cobj(const struct bpf_object *o)
{
	return (struct cobj *)o;
}

static struct cprog *to_cprog(const struct bpf_program *p)
{
	return (struct cprog *)p;
}

static struct cmap *to_cmap(const struct bpf_map *m)
{
	return (struct cmap *)m;
}

/* libbpf's bpf_map of a map record (type and sizes, before and after load),
 * NULL for a NULL record. */
static const struct bpf_map *cmap_bmap(const struct cmap *m)
{
	const struct usm_object_map *r;

	if (!m)
		return NULL;
	r = usm__object_map(m->owner->uo, m->idx);
	return r ? r->bmap : NULL;
}

/* ---- open / close ---- */

#define OPEN_KNOWN                                                             \
	(offsetof(struct bpf_object_open_opts, kernel_log_level) +             \
	 sizeof(__u32))

static int records_new(struct cobj *o)
{
	struct usm_program *p = NULL;
	uint32_t i, n = 0;

	while ((p = usm_object_next_program(o->uo, p)))
		n++;
	o->nmaps = usm__object_map_cnt(o->uo);
	o->progs = calloc(n ? n : 1, sizeof(*o->progs));
	o->maps = calloc(o->nmaps ? o->nmaps : 1, sizeof(*o->maps));
	if (!o->progs || !o->maps)
		return -ENOMEM;
	for (i = 0, p = NULL; (p = usm_object_next_program(o->uo, p)); i++) {
		o->progs[i].owner = o;
		o->progs[i].p = p;
		o->progs[i].fd = -1;
	}
	o->nprogs = n;
	for (i = 0; i < o->nmaps; i++) {
		o->maps[i].owner = o;
		o->maps[i].idx = i;
		o->maps[i].fd = -1;
	}
	return 0;
}

static void cobj_free(struct cobj *o)
{
	uint32_t i;

	if (!o)
		return;
	for (i = 0; i < o->nprogs; i++)
		usm__compat_close_fd(o->progs[i].fd);
	for (i = 0; i < o->nmaps; i++)
		usm__compat_close_fd(o->maps[i].fd);
	usm_object_close(o->uo);
	free(o->progs);
	free(o->maps);
	free(o);
}

struct bpf_object *
usm_compat_bpf_object__open_file(const char *path,
				 const struct bpf_object_open_opts *opts)
{
	struct usm_object_open_opts uo = { .sz = sizeof(uo) };
	struct cobj *o;
	int err;

	if (!path || !usm__compat_opts_ok(opts, OPEN_KNOWN))
		return usm__compat_err_ptr(-EINVAL);
	uo.object_name = USM_OPT(opts, object_name);
	uo.log_buf = USM_OPT(opts, kernel_log_buf);
	uo.log_size = USM_OPT(opts, kernel_log_size);
	uo.log_level = USM_OPT(opts, kernel_log_level);
	o = calloc(1, sizeof(*o));
	if (!o)
		return usm__compat_err_ptr(-ENOMEM);
	err = usm_object_open(path, &uo, &o->uo);
	if (!err)
		err = records_new(o);
	if (err) {
		cobj_free(o);
		return usm__compat_err_ptr(err);
	}
	return (struct bpf_object *)o;
}

struct bpf_object *usm_compat_bpf_object__open(const char *path)
{
	return usm_compat_bpf_object__open_file(path, NULL);
}

void usm_compat_bpf_object__close(struct bpf_object *obj)
{
	if (!obj || usm_compat_libbpf_get_error(obj))
		return;
	cobj_free(to_cobj(obj));
}

const char *usm_compat_bpf_object__name(const struct bpf_object *obj)
{
	return obj ? usm_object_name(to_cobj(obj)->uo)
		   : usm__compat_err_ptr(-EINVAL);
}

/* ---- load: descriptors for what the loader built ---- */

static int map_fds(struct cobj *o)
{
	uint32_t i;
	int fd;

	for (i = 0; i < o->nmaps; i++) {
		const struct usm_object_map *r = usm__object_map(o->uo, i);

		if (!r || !r->map)
			return -EINVAL;
		fd = usm_compat_bpf_map_get_fd_by_id(r->map->id);
		if (fd < 0)
			return fd;
		o->maps[i].fd = fd;
	}
	return 0;
}

static int prog_fds(struct cobj *o)
{
	uint32_t i;
	int fd;

	for (i = 0; i < o->nprogs; i++) {
		struct usm_prog *prog = usm__program_prog(o->progs[i].p);

		if (!prog)
			continue; /* not loaded (autoload off) */
		fd = usm_bpf(BPF_PROG_GET_FD_BY_ID,
			     &(union bpf_attr){ .prog_id = prog->id },
			     USM_ATTR_END(prog_id));
		if (fd < 0)
			return fd;
		o->progs[i].fd = fd;
	}
	return 0;
}

static void drop_fds(struct cobj *o)
{
	uint32_t i;

	for (i = 0; i < o->nprogs; i++) {
		usm__compat_close_fd(o->progs[i].fd);
		o->progs[i].fd = -1;
	}
	for (i = 0; i < o->nmaps; i++) {
		usm__compat_close_fd(o->maps[i].fd);
		o->maps[i].fd = -1;
	}
}

int usm_compat_bpf_object__load(struct bpf_object *obj)
{
	struct cobj *o = to_cobj(obj);
	int err;

	if (!obj)
		return usm__compat_err(-EINVAL);
	err = usm_object_load(o->uo); /* a second load is -EINVAL */
	if (err)
		return usm__compat_err(err);
	err = map_fds(o);
	if (!err)
		err = prog_fds(o);
	if (err)
		drop_fds(o);
	return usm__compat_err(err);
}

/* ---- programs ---- */

struct bpf_program *
usm_compat_bpf_object__find_program_by_name(const struct bpf_object *obj,
					    const char *name)
{
	const struct cobj *o = to_cobj(obj);
	uint32_t i;

	if (!obj || !name)
		return usm__compat_err_ptr(-EINVAL);
	for (i = 0; i < o->nprogs; i++)
		if (!strcmp(usm_program_name(o->progs[i].p), name))
			return (struct bpf_program *)&o->progs[i];
	return usm__compat_err_ptr(-ENOENT);
}

struct bpf_program *
usm_compat_bpf_object__next_program(const struct bpf_object *obj,
				    struct bpf_program *prog)
{
	const struct cobj *o = to_cobj(obj);
	const struct cprog *p = to_cprog(prog);
	size_t i;

	if (!obj)
		return NULL;
	if (!p)
		i = 0;
	else if (p->owner == o && p >= o->progs && p < o->progs + o->nprogs)
		i = (size_t)(p - o->progs) + 1;
	else
		return usm__compat_err_ptr(-EINVAL);
	return i < o->nprogs ? (struct bpf_program *)&o->progs[i] : NULL;
}

int usm_compat_bpf_program__fd(const struct bpf_program *prog)
{
	if (!prog)
		return usm__compat_err(-EINVAL);
	if (to_cprog(prog)->fd < 0)
		return usm__compat_err(-ENOENT);
	return to_cprog(prog)->fd;
}

const char *usm_compat_bpf_program__name(const struct bpf_program *prog)
{
	return prog ? usm_program_name(to_cprog(prog)->p) : NULL;
}

const char *usm_compat_bpf_program__section_name(const struct bpf_program *prog)
{
	return prog ? usm_program_section(to_cprog(prog)->p) : NULL;
}

enum bpf_prog_type usm_compat_bpf_program__type(const struct bpf_program *prog)
{
	return prog ? (enum bpf_prog_type)usm_program_type(to_cprog(prog)->p)
		    : BPF_PROG_TYPE_UNSPEC;
}

enum bpf_attach_type
usm_compat_bpf_program__expected_attach_type(const struct bpf_program *prog)
{
	if (!prog)
		return (enum bpf_attach_type)0;
	return (enum bpf_attach_type)usm_program_expected_attach_type(
		to_cprog(prog)->p);
}

bool usm_compat_bpf_program__autoload(const struct bpf_program *prog)
{
	return prog && usm_program_autoload(to_cprog(prog)->p);
}

int usm_compat_bpf_program__set_autoload(struct bpf_program *prog,
					 bool autoload)
{
	if (!prog)
		return usm__compat_err(-EINVAL);
	return usm__compat_err(usm_program_set_autoload(to_cprog(prog)->p,
							autoload));
}

/* ---- maps ---- */

/* libbpf's own name matching (".rodata" style names included). */
struct bpf_map *
usm_compat_bpf_object__find_map_by_name(const struct bpf_object *obj,
					const char *name)
{
	const struct cobj *o = to_cobj(obj);
	const struct bpf_map *want;
	uint32_t i;

	if (!obj || !name)
		return usm__compat_err_ptr(-EINVAL);
	want = bpf_object__find_map_by_name(usm__object_bpf(o->uo), name);
	for (i = 0; want && i < o->nmaps; i++)
		if (cmap_bmap(&o->maps[i]) == want)
			return (struct bpf_map *)&o->maps[i];
	return usm__compat_err_ptr(-ENOENT);
}

struct bpf_map *usm_compat_bpf_object__next_map(const struct bpf_object *obj,
						const struct bpf_map *map)
{
	const struct cobj *o = to_cobj(obj);
	const struct cmap *m = to_cmap(map);
	size_t i;

	if (!obj)
		return NULL;
	if (!m)
		i = 0;
	else if (m->owner == o && m >= o->maps && m < o->maps + o->nmaps)
		i = (size_t)(m - o->maps) + 1;
	else
		return usm__compat_err_ptr(-EINVAL);
	return i < o->nmaps ? (struct bpf_map *)&o->maps[i] : NULL;
}

/* As libbpf: the fd, -1 before load, -EINVAL for NULL. */
int usm_compat_bpf_map__fd(const struct bpf_map *map)
{
	return map ? to_cmap(map)->fd : usm__compat_err(-EINVAL);
}

const char *usm_compat_bpf_map__name(const struct bpf_map *map)
{
	const struct bpf_map *b = cmap_bmap(to_cmap(map));

	return b ? bpf_map__name(b) : NULL;
}

/* The definition getters answer 0 for a NULL map (libbpf would crash). */
#define BMAP_GET(map, getter, type)                                            \
	({                                                                     \
		const struct bpf_map *b_ = cmap_bmap(to_cmap(map));            \
		b_ ? getter(b_) : (type)0;                                     \
	})

enum bpf_map_type usm_compat_bpf_map__type(const struct bpf_map *map)
{
	return BMAP_GET(map, bpf_map__type, enum bpf_map_type);
}

__u32 usm_compat_bpf_map__key_size(const struct bpf_map *map)
{
	return BMAP_GET(map, bpf_map__key_size, __u32);
}

__u32 usm_compat_bpf_map__value_size(const struct bpf_map *map)
{
	return BMAP_GET(map, bpf_map__value_size, __u32);
}

__u32 usm_compat_bpf_map__max_entries(const struct bpf_map *map)
{
	return BMAP_GET(map, bpf_map__max_entries, __u32);
}

__u32 usm_compat_bpf_map__map_flags(const struct bpf_map *map)
{
	return BMAP_GET(map, bpf_map__map_flags, __u32);
}

/* Before load: the inner-map template of a map-in-map, from a map fd. */
int usm_compat_bpf_map__set_inner_map_fd(struct bpf_map *map, int fd)
{
	const struct usm_object_map *r;
	struct usm_map *inner;
	struct cmap *m = to_cmap(map);
	int err;

	if (!m)
		return usm__compat_err(-EINVAL);
	r = usm__object_map(m->owner->uo, m->idx);
	if (!r)
		return usm__compat_err(-EINVAL);
	err = usm__fd_get_map(fd, &inner, NULL);
	if (err)
		return usm__compat_err(err);
	err = usm_object_set_inner_map(m->owner->uo, r->name, inner);
	usm__map_put(inner);
	return usm__compat_err(err);
}

/* libbpf 1.x: 0 for a valid pointer, else -errno (error pointers too). */
long usm_compat_libbpf_get_error(const void *ptr)
{
	uintptr_t v = (uintptr_t)ptr;

	if (ptr && v < (uintptr_t)-4095)
		return 0;
	if (ptr)
		errno = (int)-(intptr_t)v;
	return -errno;
}
