/* SPDX-License-Identifier: MIT */
/*
 * Sockmap links (net/core/sock_map.c sock_map_link_*) and the link commands
 * of bpf(2): BPF_LINK_CREATE, BPF_LINK_UPDATE, BPF_LINK_DETACH
 * (SEMANTICS PRG-12..17).
 *
 * A link owns one attach slot of a SOCKMAP/SOCKHASH: while it is attached
 * it holds a user reference on the map (PRG-12) and a reference on its
 * program; detaching (BPF_LINK_DETACH, or the last reference going, e.g.
 * its fd closed) removes the program from the slot and drops the map
 * (PRG-16). A detached link stays valid: update then says -ENOLINK and its
 * info reports map id 0 (PRG-15, PRG-17).
 */
#include "core.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../maps/map.h"
#include "../sock/psock.h"
#include "../vm/vm.h"

#ifndef BPF_STRUCT_OPS_ATTACH
#define BPF_STRUCT_OPS_ATTACH 44u /* BPF_STRUCT_OPS in enum bpf_attach_type */
#endif

static uint32_t next_link_id;

void usm__link_get(struct usm_link *link)
{
	if (link)
		__atomic_add_fetch(&link->refcnt, 1, __ATOMIC_RELAXED);
}

/* sock_map_link_release: give the slot back and drop the map. */
static void link_release(struct usm_link *link)
{
	struct usm_map *map;

	pthread_mutex_lock(&link->lock);
	map = link->map;
	if (map)
		usm__sockmap_link_detach(map, link->prog, link,
					 link->attach_type);
	link->map = NULL;
	pthread_mutex_unlock(&link->lock);
	usm__map_put_with_uref(map); /* may free the map: no lock held */
}

void usm__link_put(struct usm_link *link)
{
	if (!link || __atomic_sub_fetch(&link->refcnt, 1, __ATOMIC_ACQ_REL))
		return;
	link_release(link);
	usm__prog_put(link->prog);
	pthread_mutex_destroy(&link->lock);
	free(link);
}

static int link_new(struct usm_prog *prog, struct usm_map *map,
		    uint32_t attach_type, struct usm_link **out)
{
	struct usm_link *link = calloc(1, sizeof(*link));

	if (!link)
		return -ENOMEM;
	if (pthread_mutex_init(&link->lock, NULL)) {
		free(link);
		return -ENOMEM;
	}
	link->refcnt = 1;
	link->id = __atomic_add_fetch(&next_link_id, 1, __ATOMIC_RELAXED);
	link->type = USM_BPF_LINK_TYPE_SOCKMAP;
	link->attach_type = attach_type; /* from the request (PRG-12) */
	usm__prog_get(prog);
	link->prog = prog;
	link->map = map;
	*out = link;
	return 0;
}

/* sock_map_link_create. */
static int sockmap_link_create(const struct usm_attr *a, struct usm_prog *prog)
{
	const union bpf_attr *u = &a->a;
	struct usm_link *link;
	struct usm_map *map;
	int err, fd;

	if (u->link_create.flags) /* PRG-12 */
		return -EINVAL;
	err = usm__fd_get_map((int)u->link_create.target_fd, &map, NULL);
	if (err)
		return err;
	usm__map_get_with_uref(map); /* the link's user reference */
	usm__map_put(map);
	if (map->map_type != BPF_MAP_TYPE_SOCKMAP &&
	    map->map_type != BPF_MAP_TYPE_SOCKHASH) {
		usm__map_put_with_uref(map);
		return -EINVAL;
	}
	err = link_new(prog, map, u->link_create.attach_type, &link);
	if (err) {
		usm__map_put_with_uref(map);
		return err;
	}
	err = usm__sockmap_link_attach(map, prog, link,
				       u->link_create.attach_type);
	if (err) {
		link->map = NULL; /* never attached */
		usm__link_put(link);
		usm__map_put_with_uref(map);
		return err;
	}
	fd = usm__fd_install(USM_FD_LINK, link, 0);
	if (fd < 0)
		usm__link_put(link);
	return fd;
}

int usm__bpf_link_create(struct usm_attr *a)
{
	const union bpf_attr *u = &a->a;
	struct usm_prog *prog;
	uint32_t ptype;
	int err;

	if (usm__attr_tail_set(a, USM_ATTR_END_LINK_CREATE))
		return -EINVAL;
	if (u->link_create.attach_type == BPF_STRUCT_OPS_ATTACH)
		return -EINVAL; /* no struct_ops maps here */
	err = usm__fd_get_prog((int)u->link_create.prog_fd, &prog);
	if (err)
		return err;
	/* bpf_prog_attach_check_attach_type */
	ptype = usm__attach_prog_type(u->link_create.attach_type);
	if (ptype != prog->type)
		err = -EINVAL;
	else if (ptype == BPF_PROG_TYPE_SK_SKB || ptype == BPF_PROG_TYPE_SK_MSG)
		err = sockmap_link_create(a, prog);
	else
		err = -EOPNOTSUPP; /* cgroup links: not here */
	usm__prog_put(prog);
	return err;
}

static int link_from_fd(int fd, struct usm_link **link)
{
	return usm__fd_get(fd, USM_FD_LINK, (void **)link, NULL);
}

/* sock_map_link_update_prog (PRG-15). */
static int link_update_prog(struct usm_link *link, struct usm_prog *prog,
			    struct usm_prog *old)
{
	struct usm_prog *prev = NULL;
	int err = 0;

	pthread_mutex_lock(&link->lock);
	if (old && link->prog != old)
		err = -EPERM;
	else if (link->prog->type != prog->type ||
		 link->prog->expected_attach_type != prog->expected_attach_type)
		err = -EINVAL;
	else if (!link->map)
		err = -ENOLINK;
	else
		err = usm__sockmap_link_update(link->map, prog, old, link,
					       link->attach_type);
	if (!err) {
		usm__prog_get(prog);
		prev = link->prog;
		link->prog = prog;
	}
	pthread_mutex_unlock(&link->lock);
	usm__prog_put(prev); /* no lock held: it may free maps */
	return err;
}

int usm__bpf_link_update(struct usm_attr *a)
{
	const union bpf_attr *u = &a->a;
	struct usm_prog *prog, *old = NULL;
	struct usm_link *link;
	int err;

	if (usm__attr_tail_set(a, USM_ATTR_END_LINK_UPDATE))
		return -EINVAL;
	if (u->link_update.flags & ~(uint32_t)BPF_F_REPLACE)
		return -EINVAL;
	err = link_from_fd((int)u->link_update.link_fd, &link);
	if (err)
		return err;
	err = usm__fd_get_prog((int)u->link_update.new_prog_fd, &prog);
	if (err)
		goto out_link;
	if (u->link_update.flags & BPF_F_REPLACE)
		err = usm__fd_get_prog((int)u->link_update.old_prog_fd, &old);
	else if (u->link_update.old_prog_fd)
		err = -EINVAL;
	if (!err)
		err = link_update_prog(link, prog, old);
	usm__prog_put(old);
	usm__prog_put(prog);
out_link:
	usm__link_put(link);
	return err;
}

int usm__bpf_link_detach(struct usm_attr *a)
{
	struct usm_link *link;
	int err;

	if (usm__attr_tail_set(a, USM_ATTR_END_LINK_DETACH))
		return -EINVAL;
	err = link_from_fd((int)a->a.link_detach.link_fd, &link);
	if (err)
		return err;
	link_release(link); /* PRG-16; a second detach is a no-op */
	usm__link_put(link);
	return 0;
}

/* bpf_link_info layout (6.12): type, id, prog_id, then at 16 the
 * sockmap member: map_id, attach_type. */
#define LINK_INFO_SIZE 64u

int usm__link_fill_info(struct usm_link *link, void *info, uint32_t len)
{
	uint8_t b[LINK_INFO_SIZE];
	uint32_t v[3], s[2];

	memset(b, 0, sizeof(b));
	memcpy(b, info, len < sizeof(b) ? len : sizeof(b));
	pthread_mutex_lock(&link->lock);
	v[0] = link->type;
	v[1] = link->id;
	v[2] = link->prog ? link->prog->id : 0;
	s[0] = link->map ? link->map->id : 0; /* PRG-17 */
	s[1] = link->attach_type;
	pthread_mutex_unlock(&link->lock);
	memcpy(b, v, sizeof(v));
	memcpy(b + 16, s, sizeof(s));
	memcpy(info, b, len < sizeof(b) ? len : sizeof(b));
	return 0;
}
