/* SPDX-License-Identifier: MIT */
/*
 * Opening BPF objects and the public accessors of objects, programs and
 * maps. Opening reads the image into a private buffer, validates it
 * (elf.c), reads what libbpf hides (elf_scan.c), rewrites it where libbpf
 * 1.x would refuse something usockmap supports (legacy SEC("maps"), initial
 * PROG_ARRAY slots), then hands it to bpf_object__open_mem() with libbpf's
 * messages routed into the object's log. Program and map records mirror
 * libbpf's lists, in libbpf's order. Loading is in load.c.
 */
#include "loader.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../progtype/progtype.h"
#include "../vm/vm.h"

/* Largest object file we read. */
#define USM_OBJECT_MAX_SIZE (256u << 20)

/* Read option field @f of @o if the caller's struct is large enough. */
#define OPT(o, f, def)                                                         \
	((o) && (o)->sz >= offsetof(struct usm_object_open_opts, f) +          \
				   sizeof((o)->f) ? (o)->f : (def))

/* ---- libbpf's print hook ---- */

static pthread_mutex_t lb_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned int lb_users;
static libbpf_print_fn_t lb_prev;
static __thread struct usm_log *lb_log;

static int lb_print(enum libbpf_print_level level, const char *fmt,
		    va_list ap)
{
	struct usm_log *log = lb_log;
	libbpf_print_fn_t prev;

	if (!log) {
		pthread_mutex_lock(&lb_lock);
		prev = lb_prev;
		pthread_mutex_unlock(&lb_lock);
		return prev ? prev(level, fmt, ap) : 0;
	}
	if ((level == LIBBPF_INFO && log->level < 1) ||
	    (level == LIBBPF_DEBUG && log->level < 2))
		return 0;
	usm__vlog(log, fmt, ap);
	return 0;
}

struct usm_log *usm__libbpf_log_begin(struct usm_log *log)
{
	struct usm_log *prev = lb_log;

	pthread_mutex_lock(&lb_lock);
	if (lb_users++ == 0)
		lb_prev = libbpf_set_print(lb_print);
	pthread_mutex_unlock(&lb_lock);
	lb_log = log;
	return prev;
}

void usm__libbpf_log_end(struct usm_log *prev)
{
	lb_log = prev;
	pthread_mutex_lock(&lb_lock);
	if (--lb_users == 0)
		libbpf_set_print(lb_prev);
	pthread_mutex_unlock(&lb_lock);
}

/* ---- licenses ---- */

bool usm__license_is_gpl(const char *license)
{
	/* The kernel's license_is_gpl_compatible() list. */
	static const char *const gpl[] = {
		"GPL", "GPL v2", "GPL and additional rights", "Dual BSD/GPL",
		"Dual MIT/GPL", "Dual MPL/GPL",
	};
	size_t i;

	for (i = 0; license && i < sizeof(gpl) / sizeof(gpl[0]); i++)
		if (strcmp(license, gpl[i]) == 0)
			return true;
	return false;
}

/* ---- records ---- */

static void program_init(struct usm_object *obj, struct usm_program *p,
			 struct bpf_program *bp)
{
	const char *sec;
	char note[256];

	p->obj = obj;
	p->bprog = bp;
	p->name = bpf_program__name(bp);
	p->sec = bpf_program__section_name(bp);
	sec = p->sec[0] == '?' ? p->sec + 1 : p->sec;
	if (usm__prog_type_from_section(sec, &p->type,
					&p->expected_attach_type) == 0) {
		p->known = p->supported = true;
		p->autoload = bpf_program__autoload(bp);
		return;
	}
	p->type = bpf_program__type(bp);
	p->expected_attach_type = bpf_program__expected_attach_type(bp);
	p->known = p->type != BPF_PROG_TYPE_UNSPEC;
	p->autoload = !p->known && bpf_program__autoload(bp);
	if (p->known)
		snprintf(note, sizeof(note),
			 "program '%s': section '%s' is a %s program, which "
			 "usockmap does not run; not loaded\n", p->name, p->sec,
			 libbpf_bpf_prog_type_str(p->type) ?: "unknown");
	else
		snprintf(note, sizeof(note),
			 "program '%s': unknown section name '%s': not a "
			 "program type libbpf or usockmap knows\n", p->name,
			 p->sec);
	p->log = strdup(note);
	if (p->known && obj->log.level >= 1)
		usm__log(&obj->log, "%s", note);
}

static void capture_inner(struct usm_object_map *m)
{
	struct bpf_map *in = bpf_map__inner_map(m->bmap);

	if (!in)
		return;
	m->has_inner = true;
	m->inner.map_type = bpf_map__type(in);
	m->inner.key_size = bpf_map__key_size(in);
	m->inner.value_size = bpf_map__value_size(in);
	m->inner.max_entries = bpf_map__max_entries(in);
	m->inner.map_flags = bpf_map__map_flags(in);
	snprintf(m->inner.name, sizeof(m->inner.name), "%s",
		 bpf_map__name(in) ?: "");
}

static int build_records(struct usm_object *obj)
{
	struct bpf_program *bp;
	struct bpf_map *bm;
	uint32_t n = 0;

	bpf_object__for_each_program(bp, obj->bobj)
		n++;
	if (!n) {
		usm__log(&obj->log, "object '%s' contains no BPF programs\n",
			 bpf_object__name(obj->bobj));
		return -EINVAL;
	}
	obj->progs = calloc(n, sizeof(*obj->progs));
	if (!obj->progs)
		return -ENOMEM;
	bpf_object__for_each_program(bp, obj->bobj)
		program_init(obj, &obj->progs[obj->prog_cnt++], bp);
	n = 0;
	bpf_object__for_each_map(bm, obj->bobj)
		n++;
	obj->maps = calloc(n ? n : 1, sizeof(*obj->maps));
	if (!obj->maps)
		return -ENOMEM;
	bpf_object__for_each_map(bm, obj->bobj) {
		struct usm_object_map *m = &obj->maps[obj->map_cnt++];

		m->bmap = bm;
		m->name = bpf_map__name(bm);
		m->internal = bpf_map__is_internal(bm);
		capture_inner(m);
	}
	return 0;
}

/* ---- opening ---- */

/* Rewrite the image where libbpf 1.x would refuse it; *img NULL: no need. */
static int rewrite(const struct usm_elf *e, const struct usm_elf_info *info,
		   struct usm_log *log, void **img, size_t *img_size)
{
	struct usm_elf_edits ed;
	int err;

	if (!info->legacy_maps_sec && !info->prog_slot_relocs)
		return 0;
	err = usm__elf_edits_init(&ed, e);
	if (!err && info->legacy_maps_sec)
		err = usm__legacy_maps_edit(e, info->legacy_maps_sec, &ed, log);
	if (!err && info->prog_slot_relocs)
		err = usm__elf_strip_prog_slots(e, &ed);
	if (!err)
		err = usm__elf_write(e, &ed, img, img_size);
	usm__elf_edits_fini(&ed, e);
	return err;
}

int usm__image_prepare(const void *buf, size_t size, struct usm_log *log,
		       struct usm_elf_info *info, void **img, size_t *img_size)
{
	struct usm_elf e, e2;
	int err;

	*img = NULL;
	*img_size = 0;
	err = usm__elf_parse(buf, size, log, &e);
	if (err)
		return err;
	err = usm__btf_check(&e, log);
	err = err ? err : usm__elf_scan(&e, log, info);
	if (!err && !info->has_license) {
		usm__log(log, "object has no license section: add "
			      "char _license[] SEC(\"license\") = \"GPL\";\n");
		err = -EINVAL;
	}
	err = err ? err : rewrite(&e, info, log, img, img_size);
	usm__elf_fini(&e);
	if (!err && *img) { /* our own output must pass the same checks */
		err = usm__elf_parse(*img, *img_size, log, &e2);
		usm__elf_fini(&e2);
	}
	if (err) {
		usm__elf_info_fini(info);
		free(*img);
		*img = NULL;
	}
	return err;
}

/* Prepare @buf, then let libbpf open it. */
static int open_checked(struct usm_object *obj, const uint8_t *buf,
			size_t size, const char *name)
{
	LIBBPF_OPTS(bpf_object_open_opts, bo, .object_name = name);
	struct usm_log *prev;
	size_t img_size;
	void *img;
	int err;

	/* btf__new() in the checks prints through libbpf too */
	prev = usm__libbpf_log_begin(&obj->log);
	err = usm__image_prepare(buf, size, &obj->log, &obj->elf, &img,
				 &img_size);
	if (err) {
		usm__libbpf_log_end(prev);
		return err;
	}
	obj->bobj = bpf_object__open_mem(img ? img : buf, img ? img_size : size,
					 &bo);
	err = obj->bobj ? 0 : (errno ? -errno : -EINVAL);
	usm__libbpf_log_end(prev);
	free(img);
	if (err <= -4000 || err > 0) /* libbpf's LIBBPF_ERRNO__ codes (4000+) */
		err = -EINVAL;
	if (err)
		usm__log(&obj->log, "libbpf could not open the object (%d)\n",
			 err);
	return err;
}

static int open_image(const void *buf, size_t size, const char *name,
		      const struct usm_object_open_opts *opts,
		      struct usm_object **out)
{
	struct usm_object *obj;
	uint8_t *copy;
	int err;

	*out = NULL;
	obj = calloc(1, sizeof(*obj));
	copy = malloc(size ? size : 1);
	if (!obj || !copy) {
		free(obj);
		free(copy);
		return -ENOMEM;
	}
	usm__log_init(&obj->log, OPT(opts, log_buf, NULL),
		      OPT(opts, log_size, 0), OPT(opts, log_level, 0));
	memcpy(copy, buf, size);
	err = open_checked(obj, copy, size, name);
	free(copy);
	obj->gpl_compatible = usm__license_is_gpl(obj->elf.license);
	err = err ? err : build_records(obj);
	if (err) {
		usm_object_close(obj);
		return err;
	}
	*out = obj;
	return 0;
}

static int opts_check(const struct usm_object_open_opts *opts,
		      struct usm_object **out)
{
	const uint8_t *p = (const uint8_t *)opts;
	size_t i;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!opts)
		return 0;
	if (opts->sz < sizeof(opts->sz))
		return -EINVAL;
	for (i = sizeof(*opts); i < opts->sz; i++) /* newer fields: unset */
		if (p[i])
			return -EINVAL;
	return 0;
}

int usm_object_open_mem(const void *buf, size_t size,
			const struct usm_object_open_opts *opts,
			struct usm_object **out)
{
	int err = opts_check(opts, out);

	if (err)
		return err;
	if (!buf || !size)
		return -EINVAL;
	return open_image(buf, size, OPT(opts, object_name, NULL), opts, out);
}

static int read_file(const char *path, uint8_t **buf, size_t *size)
{
	struct stat st;
	ssize_t n;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	if ((uint64_t)st.st_size > USM_OBJECT_MAX_SIZE) {
		close(fd);
		return -E2BIG;
	}
	*buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!*buf) {
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, *buf + got, (size_t)st.st_size - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	*size = got;
	return 0;
}

int usm_object_open(const char *path, const struct usm_object_open_opts *opts,
		    struct usm_object **out)
{
	const char *base, *name = NULL;
	char defname[64];
	uint8_t *buf = NULL;
	size_t size = 0;
	int err = opts_check(opts, out);

	if (err)
		return err;
	if (!path)
		return -EINVAL;
	err = read_file(path, &buf, &size);
	if (err) {
		if (OPT(opts, log_buf, NULL) && OPT(opts, log_size, 0))
			snprintf(opts->log_buf, opts->log_size,
				 "cannot read '%s': %s\n", path, strerror(-err));
		return err;
	}
	name = OPT(opts, object_name, NULL);
	if (!name) { /* libbpf's rule: the file name up to its first '.' */
		base = strrchr(path, '/');
		snprintf(defname, sizeof(defname), "%s", base ? base + 1 : path);
		defname[strcspn(defname, ".")] = '\0';
		name = defname;
	}
	err = size ? open_image(buf, size, name, opts, out) : -EINVAL;
	if (!size && OPT(opts, log_buf, NULL) && OPT(opts, log_size, 0))
		snprintf(opts->log_buf, opts->log_size, "'%s' is empty\n", path);
	free(buf);
	return err;
}

void usm_object_close(struct usm_object *obj)
{
	uint32_t i;

	if (!obj)
		return;
	usm__object_unload(obj);
	for (i = 0; i < obj->prog_cnt; i++)
		free(obj->progs[i].log);
	for (i = 0; i < obj->map_cnt; i++)
		usm__map_put(obj->maps[i].inner_tmpl);
	free(obj->progs);
	free(obj->maps);
	bpf_object__close(obj->bobj);
	usm__elf_info_fini(&obj->elf);
	free(obj);
}

/* ---- accessors ---- */

const char *usm_object_name(const struct usm_object *obj)
{
	return obj && obj->bobj ? bpf_object__name(obj->bobj) : NULL;
}

struct usm_program *usm_object_find_program(const struct usm_object *obj,
					    const char *name)
{
	uint32_t i;

	for (i = 0; obj && name && i < obj->prog_cnt; i++)
		if (strcmp(obj->progs[i].name, name) == 0)
			return &obj->progs[i];
	return NULL;
}

struct usm_program *usm_object_next_program(const struct usm_object *obj,
					    const struct usm_program *prev)
{
	size_t i;

	if (!obj || !obj->prog_cnt)
		return NULL;
	if (!prev)
		return &obj->progs[0];
	if (prev < obj->progs || prev >= obj->progs + obj->prog_cnt)
		return NULL;
	i = (size_t)(prev - obj->progs) + 1;
	return i < obj->prog_cnt ? &obj->progs[i] : NULL;
}

static bool has_suffix(const char *s, const char *sfx)
{
	size_t n = strlen(s), m = strlen(sfx);

	return n >= m && strcmp(s + n - m, sfx) == 0;
}

struct usm_map *usm_object_find_map(const struct usm_object *obj,
				    const char *name)
{
	uint32_t i;

	for (i = 0; obj && name && i < obj->map_cnt; i++)
		if (obj->maps[i].map && strcmp(obj->maps[i].name, name) == 0)
			return obj->maps[i].map;
	for (i = 0; obj && name && name[0] == '.' && i < obj->map_cnt; i++)
		if (obj->maps[i].map && obj->maps[i].internal &&
		    has_suffix(obj->maps[i].name, name))
			return obj->maps[i].map;
	return NULL;
}

struct usm_map *usm_object_next_map(const struct usm_object *obj,
				    const struct usm_map *prev)
{
	uint32_t i = 0;

	if (!obj || obj->state != USM_OBJ_LOADED)
		return NULL;
	if (prev) {
		while (i < obj->map_cnt && obj->maps[i].map != prev)
			i++;
		i++;
	}
	return i < obj->map_cnt ? obj->maps[i].map : NULL;
}

struct bpf_object *usm__object_bpf(const struct usm_object *obj)
{
	return obj ? obj->bobj : NULL;
}

const struct usm_object_map *usm__object_map(const struct usm_object *obj,
					     uint32_t idx)
{
	return obj && idx < obj->map_cnt ? &obj->maps[idx] : NULL;
}

uint32_t usm__object_map_cnt(const struct usm_object *obj)
{
	return obj ? obj->map_cnt : 0;
}

const char *usm_program_name(const struct usm_program *p)
{
	return p ? p->name : NULL;
}

const char *usm_program_section(const struct usm_program *p)
{
	return p ? p->sec : NULL;
}

uint32_t usm_program_type(const struct usm_program *p)
{
	return p ? p->type : BPF_PROG_TYPE_UNSPEC;
}

uint32_t usm_program_expected_attach_type(const struct usm_program *p)
{
	return p ? p->expected_attach_type : 0;
}

bool usm_program_autoload(const struct usm_program *p)
{
	return p && p->autoload;
}

int usm_program_set_autoload(struct usm_program *p, bool autoload)
{
	if (!p || p->obj->state != USM_OBJ_OPEN)
		return -EINVAL;
	p->autoload = autoload;
	return 0;
}

int usm_program_set_type(struct usm_program *p, uint32_t type)
{
	if (!p || p->obj->state != USM_OBJ_OPEN)
		return -EINVAL;
	p->type = type;
	p->known = type != BPF_PROG_TYPE_UNSPEC;
	p->supported = usm__prog_type_get(type) != NULL;
	p->autoload = p->supported;
	free(p->log);
	p->log = NULL;
	if (!p->supported &&
	    asprintf(&p->log, "program '%s': type %s is not one usockmap "
		     "runs; not loaded\n", p->name,
		     libbpf_bpf_prog_type_str(type) ?: "unknown") < 0)
		p->log = NULL;
	return 0;
}

int usm_program_set_expected_attach_type(struct usm_program *p,
					 uint32_t attach_type)
{
	if (!p || p->obj->state != USM_OBJ_OPEN)
		return -EINVAL;
	p->expected_attach_type = attach_type;
	return 0;
}

const char *usm_program_log(const struct usm_program *p)
{
	return p && p->log ? p->log : "";
}

struct usm_prog *usm__program_prog(const struct usm_program *p)
{
	return p ? p->prog : NULL;
}

const char *usm_map_name(const struct usm_map *m)
{
	return m ? m->name : NULL;
}

uint32_t usm_map_type(const struct usm_map *m)
{
	return m ? m->map_type : 0;
}

uint32_t usm_map_key_size(const struct usm_map *m)
{
	return m ? m->key_size : 0;
}

uint32_t usm_map_value_size(const struct usm_map *m)
{
	return m ? m->value_size : 0;
}

uint32_t usm_map_max_entries(const struct usm_map *m)
{
	return m ? m->max_entries : 0;
}

uint32_t usm_map_flags(const struct usm_map *m)
{
	return m ? m->map_flags : 0;
}

int usm_object_set_inner_map(struct usm_object *obj, const char *outer,
			     struct usm_map *inner)
{
	struct usm_object_map *m = NULL;
	uint32_t i, type;

	if (!obj || !outer || !inner)
		return -EINVAL;
	if (obj->state != USM_OBJ_OPEN)
		return -EBUSY;
	for (i = 0; i < obj->map_cnt && !m; i++)
		if (strcmp(obj->maps[i].name, outer) == 0)
			m = &obj->maps[i];
	if (!m)
		return -ENOENT;
	type = bpf_map__type(m->bmap);
	if (type != BPF_MAP_TYPE_ARRAY_OF_MAPS &&
	    type != BPF_MAP_TYPE_HASH_OF_MAPS)
		return -EINVAL;
	usm__map_get(inner);
	usm__map_put(m->inner_tmpl);
	m->inner_tmpl = inner;
	return 0;
}
