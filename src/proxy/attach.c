/* SPDX-License-Identifier: MIT */
/*
 * Loading the user's object for the proxy and attaching its programs the
 * way a libbpf user would: sk_skb (stream_parser, stream_verdict, verdict)
 * and sk_msg programs go to the SOCKMAP/SOCKHASH they reference (or the
 * object's only socket map, or the one --attach PROG:MAP names); sockops
 * programs are kept to run on connection events (MAP-BPF-01). Programs are
 * attached before any socket enters a map, so every psock inherits them
 * at insert (PSK-01). Flag-based placements (--map NAME:KEY=ROLE) are
 * resolved here too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/bpf.h>
#include <usockmap/object.h>

#include "../loader/loader.h"
#include "../maps/map.h"
#include "../sock/psock.h"
#include "../vm/vm.h"

#include "proxy_int.h"

static bool is_sock_map(const struct usm_map *m)
{
	return m && (m->map_type == BPF_MAP_TYPE_SOCKMAP ||
		     m->map_type == BPF_MAP_TYPE_SOCKHASH);
}

/* The attach type the kernel would use for @p, or 0 if not a sockmap one. */
static uint32_t attach_type_of(const struct usm_program *p)
{
	uint32_t at = usm_program_expected_attach_type(p);

	if (usm_program_type(p) == BPF_PROG_TYPE_SK_MSG)
		return BPF_SK_MSG_VERDICT;
	if (usm_program_type(p) != BPF_PROG_TYPE_SK_SKB)
		return 0;
	if (at == BPF_SK_SKB_STREAM_PARSER || at == BPF_SK_SKB_VERDICT)
		return at;
	return BPF_SK_SKB_STREAM_VERDICT; /* "sk_skb", "sk_skb/stream_verdict" */
}

static const char *explicit_map(const struct usm_proxy_opts *o,
				const char *prog)
{
	uint32_t i;

	for (i = 0; i < o->n_attach; i++)
		if (strcmp(o->attach[i].prog, prog) == 0)
			return o->attach[i].map;
	return NULL;
}

/* The socket map @prog attaches to, or NULL with @err set. */
static struct usm_map *pick_map(struct usm_proxy *p,
				const struct usm_proxy_opts *o,
				const struct usm_program *up,
				const struct usm_prog *prog, char *err,
				size_t n)
{
	const char *name = explicit_map(o, usm_program_name(up));
	struct usm_map *found = NULL, *m;
	uint32_t i, cnt = 0;

	if (name) {
		m = usm_object_find_map(p->obj, name);
		if (!is_sock_map(m))
			snprintf(err, n, "--attach %s:%s: no SOCKMAP/SOCKHASH "
				 "named '%s'", usm_program_name(up), name, name);
		return is_sock_map(m) ? m : NULL;
	}
	for (i = 0; i < prog->map_cnt; i++) {
		if (is_sock_map(prog->maps[i]) && prog->maps[i] != found) {
			found = prog->maps[i];
			cnt++;
		}
	}
	if (cnt == 0) {
		for (m = usm_object_next_map(p->obj, NULL); m;
		     m = usm_object_next_map(p->obj, m)) {
			if (is_sock_map(m)) {
				found = m;
				cnt++;
			}
		}
	}
	if (cnt == 1)
		return found;
	snprintf(err, n, "program '%s': %s socket map to attach to; use "
		 "--attach %s:MAP", usm_program_name(up),
		 cnt ? "more than one" : "no", usm_program_name(up));
	return NULL;
}

static int keep_sockops(struct usm_proxy *p, struct usm_prog *prog)
{
	struct usm_prog **v;

	v = realloc(p->sockops, (p->n_sockops + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	p->sockops = v;
	usm__prog_get(prog);
	v[p->n_sockops++] = prog;
	return 0;
}

static int attach_one(struct usm_proxy *p, const struct usm_proxy_opts *o,
		      const struct usm_program *up, char *err, size_t n)
{
	struct usm_prog *prog = usm__program_prog(up);
	uint32_t at = attach_type_of(up);
	struct usm_map *map;
	int rc;

	if (!prog)
		return 0;
	if (usm_program_type(up) == BPF_PROG_TYPE_SOCK_OPS)
		return keep_sockops(p, prog);
	if (!at)
		return 0; /* sk_reuseport etc.: not used by the proxy */
	map = pick_map(p, o, up, prog, err, n);
	if (!map)
		return -EINVAL;
	rc = usm__sockmap_prog_attach(map, prog, at);
	if (rc)
		snprintf(err, n, "attach '%s' to map '%s': %s",
			 usm_program_name(up), map->name, strerror(-rc));
	return rc;
}

static int check_attach_names(struct usm_proxy *p,
			      const struct usm_proxy_opts *o, char *err,
			      size_t n)
{
	uint32_t i;

	for (i = 0; i < o->n_attach; i++) {
		if (!usm_object_find_program(p->obj, o->attach[i].prog)) {
			snprintf(err, n, "--attach: no program named '%s'",
				 o->attach[i].prog);
			return -ENOENT;
		}
	}
	return 0;
}

static int resolve_places(struct usm_proxy *p, const struct usm_proxy_opts *o,
			  char *err, size_t n)
{
	uint32_t i;

	p->place = calloc(o->n_place ? o->n_place : 1, sizeof(*p->place));
	if (!p->place)
		return -ENOMEM;
	for (i = 0; i < o->n_place; i++) {
		struct px_place *pl = &p->place[i];

		pl->map = usm_object_find_map(p->obj, o->place[i].map);
		pl->role = o->place[i].role;
		if (!is_sock_map(pl->map)) {
			snprintf(err, n, "--map %s: no SOCKMAP/SOCKHASH named "
				 "'%s'", o->place[i].map, o->place[i].map);
			return -ENOENT;
		}
		if (pl->map->key_size > sizeof(pl->key) ||
		    usm__px_parse_key(o->place[i].key, pl->map->key_size,
				      pl->key)) {
			snprintf(err, n, "--map %s: bad key '%s' (decimal, or "
				 "0x and %u hex bytes)", o->place[i].map,
				 o->place[i].key, pl->map->key_size);
			return -EINVAL;
		}
	}
	p->n_place = o->n_place;
	return 0;
}

static int load_object(struct usm_proxy *p, const char *path, char *err,
		       size_t n)
{
	struct usm_object_open_opts oo = { .sz = sizeof(oo) };
	char log[4096] = "";
	int rc;

	oo.log_buf = log;
	oo.log_size = sizeof(log);
	rc = usm_object_open(path, &oo, &p->obj);
	if (!rc)
		rc = usm_object_load(p->obj);
	if (rc) {
		char *nl = strrchr(log, '\n');

		if (nl && nl[1] == '\0')
			*nl = '\0';
		snprintf(err, n, "%s: cannot load: %s%s%s", path,
			 strerror(-rc), log[0] ? ": " : "", log);
	}
	return rc;
}

/*
 * Load o->obj_path into p->obj, attach every sk_skb/sk_msg program, keep
 * the sockops programs and resolve the placements. 0 or -errno with @err.
 */
int usm__px_attach_progs(struct usm_proxy *p, const struct usm_proxy_opts *o,
			 char *err, size_t n)
{
	const struct usm_program *up;
	int rc;

	rc = load_object(p, o->obj_path, err, n);
	if (!rc)
		rc = check_attach_names(p, o, err, n);
	for (up = rc ? NULL : usm_object_next_program(p->obj, NULL); up;
	     up = usm_object_next_program(p->obj, up)) {
		rc = attach_one(p, o, up, err, n);
		if (rc)
			break;
	}
	if (!rc)
		rc = resolve_places(p, o, err, n);
	if (rc == -ENOMEM)
		snprintf(err, n, "out of memory");
	return rc;
}
