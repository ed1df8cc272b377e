/* SPDX-License-Identifier: MIT */
/*
 * BPF_PROG_ATTACH, BPF_PROG_DETACH and BPF_PROG_QUERY: the generic checks
 * of kernel/bpf/syscall.c (attach type -> program type, flag masks, the
 * program fd) in its order, then the socket-map half of net/core/
 * sock_map.c (sock_map_get_from_fd, sock_map_prog_detach,
 * sock_map_bpf_prog_query), whose slot rules are in sock/psock.c
 * (SEMANTICS PRG-01..11).
 *
 * Attach types of other subsystems (cgroups, tc, netkit, ...) pass the
 * same generic checks; since usockmap loads no programs of their types
 * they then fail as a program of the wrong type would (-EINVAL), except
 * sock_ops programs on BPF_CGROUP_SOCK_OPS, which are -EOPNOTSUPP here
 * (no cgroups; the exec shim handles them).
 */
#include "core.h"

#include <errno.h>
#include <string.h>

#include "../maps/map.h"
#include "../sock/psock.h"
#include "../vm/vm.h"

#define ATTACH_MASK_BASE 0x47u  /* ALLOW_OVERRIDE|ALLOW_MULTI|REPLACE|PREORDER */
#define ATTACH_MASK_MPROG 0x203cu /* REPLACE|BEFORE|AFTER|ID|LINK */
#define QUERY_EFFECTIVE 1u

/* A program type usockmap does not load (kernel types of other hooks). */
#define PTYPE_FOREIGN 0xfffffffeu

enum attach_class { AC_UNSPEC, AC_SOCKMAP, AC_CGROUP, AC_MPROG, AC_OTHER };

/* Linux 6.12 enum bpf_attach_type, by value: the class of each. */
static enum attach_class attach_class(uint32_t t)
{
	switch (t) {
	case 4: case 5: case 7: case 38: /* sk_skb, sk_msg */
		return AC_SOCKMAP;
	case 0: case 1: case 2: case 3: case 6: case 8: case 9: case 10:
	case 11: case 12: case 13: case 14: case 15: case 18: case 19:
	case 20: case 21: case 22: case 29: case 30: case 31: case 32:
	case 34: case 43: case 49: case 50: case 51: case 52: case 53:
		return AC_CGROUP;
	case 46: case 47: case 54: case 55: /* tcx, netkit */
		return AC_MPROG;
	case 16: case 17: case 23: case 24: case 25: case 26: case 27:
	case 28: case 36: case 37:
		return AC_OTHER;
	default: /* devmap/cpumap, reuseport, perf, multi-probes, ... */
		return AC_UNSPEC;
	}
}

uint32_t usm__attach_prog_type(uint32_t attach_type)
{
	switch (attach_class(attach_type)) {
	case AC_UNSPEC:
		return BPF_PROG_TYPE_UNSPEC;
	case AC_SOCKMAP:
		return attach_type == BPF_SK_MSG_VERDICT ? BPF_PROG_TYPE_SK_MSG
							 : BPF_PROG_TYPE_SK_SKB;
	default:
		return attach_type == BPF_CGROUP_SOCK_OPS ? BPF_PROG_TYPE_SOCK_OPS
							  : PTYPE_FOREIGN;
	}
}

/* The flag checks of bpf_prog_attach for @attach_type's class. */
static int attach_flag_checks(const struct usm_attr *a, enum attach_class c)
{
	uint32_t flags = a->a.attach_flags;

	if (c == AC_MPROG)
		return flags & ~ATTACH_MASK_MPROG ? -EINVAL : 0;
	if (c == AC_CGROUP)
		return flags & ~(ATTACH_MASK_BASE | ATTACH_MASK_MPROG) ? -EINVAL
								       : 0;
	if (flags & ~ATTACH_MASK_BASE)
		return -EINVAL;
	if (usm__attr_u32(a, USM_ATTR_RELATIVE_FD_OFF) ||
	    usm__attr_u64(a, USM_ATTR_EXPECTED_REVISION_OFF))
		return -EINVAL;
	return 0;
}

/* bpf_prog_get_type: the program of @fd if it has @ptype. */
static int prog_get_type(int fd, uint32_t ptype, struct usm_prog **out)
{
	int err = usm__fd_get_prog(fd, out);

	if (err)
		return err;
	if ((*out)->type != ptype) {
		usm__prog_put(*out);
		*out = NULL;
		return -EINVAL;
	}
	return 0;
}

/* sock_map_get_from_fd. */
static int sockmap_attach(const struct usm_attr *a, struct usm_prog *prog)
{
	struct usm_map *map;
	int err;

	if (a->a.attach_flags || a->a.replace_bpf_fd) /* PRG-04 */
		return -EINVAL;
	err = usm__fd_get_map((int)a->a.target_fd, &map, NULL);
	if (err)
		return err;
	err = usm__sockmap_prog_attach(map, prog, a->a.attach_type);
	usm__map_put(map);
	return err;
}

int usm__bpf_prog_attach(struct usm_attr *a)
{
	uint32_t type = a->a.attach_type, ptype;
	enum attach_class c = attach_class(type);
	struct usm_prog *prog;
	int err;

	if (usm__attr_tail_set(a, USM_ATTR_END_PROG_ATTACH))
		return -EINVAL;
	ptype = usm__attach_prog_type(type);
	if (ptype == BPF_PROG_TYPE_UNSPEC) /* PRG-02 */
		return -EINVAL;
	err = attach_flag_checks(a, c);
	if (err)
		return err;
	err = prog_get_type((int)a->a.attach_bpf_fd, ptype, &prog); /* PRG-02 */
	if (err)
		return err;
	/* PRG-07: no expected-attach-type check for sk_skb/sk_msg. */
	if (c == AC_SOCKMAP)
		err = sockmap_attach(a, prog);
	else
		err = -EOPNOTSUPP;
	usm__prog_put(prog);
	return err;
}

/* sock_map_prog_detach: map, then program, then its type (PRG-08). */
static int sockmap_detach(const struct usm_attr *a, uint32_t ptype)
{
	struct usm_prog *prog;
	struct usm_map *map;
	int err;

	if (a->a.attach_flags || a->a.replace_bpf_fd) /* PRG-04 */
		return -EINVAL;
	err = usm__fd_get_map((int)a->a.target_fd, &map, NULL);
	if (err)
		return err;
	err = usm__fd_get_prog((int)a->a.attach_bpf_fd, &prog);
	if (!err) {
		if (prog->type != ptype)
			err = -EINVAL;
		else
			err = usm__sockmap_prog_detach(map, prog,
						       a->a.attach_type);
		usm__prog_put(prog);
	}
	usm__map_put(map);
	return err;
}

int usm__bpf_prog_detach(struct usm_attr *a)
{
	uint32_t type = a->a.attach_type, ptype;
	enum attach_class c = attach_class(type);

	if (usm__attr_tail_set(a, USM_ATTR_END_PROG_ATTACH))
		return -EINVAL;
	ptype = usm__attach_prog_type(type);
	if (c == AC_MPROG) {
		if (a->a.attach_flags & ~ATTACH_MASK_MPROG)
			return -EINVAL;
		return -EOPNOTSUPP;
	}
	if (c == AC_CGROUP) {
		if (a->a.attach_flags || usm__attr_u32(a, USM_ATTR_RELATIVE_FD_OFF))
			return -EINVAL;
		return -EOPNOTSUPP;
	}
	if (a->a.attach_flags || usm__attr_u32(a, USM_ATTR_RELATIVE_FD_OFF) ||
	    usm__attr_u64(a, USM_ATTR_EXPECTED_REVISION_OFF))
		return -EINVAL;
	if (c != AC_SOCKMAP) /* unknown attach type: PRG-02/08 */
		return -EINVAL;
	return sockmap_detach(a, ptype);
}

/* sock_map_bpf_prog_query (PRG-10/11). */
static int sockmap_query(struct usm_attr *a)
{
	uint32_t *ids = usm__u64_ptr(a->a.query.prog_ids);
	uint32_t id = 0, cnt = 0, zero = 0;
	struct usm_map *map;
	int err;

	if (a->a.query.query_flags)
		return -EINVAL;
	err = usm__fd_get_map((int)a->a.query.target_fd, &map, NULL);
	if (err)
		return err;
	err = usm__sockmap_prog_query(map, a->a.query.attach_type, &id);
	usm__map_put(map);
	cnt = id ? 1 : 0;
	/* The id goes out only when asked for and there is room. */
	if (!a->a.query.prog_cnt || !ids)
		id = 0;
	USM_ATTR_OUT(a, query.attach_flags, zero);
	if (id)
		ids[0] = id;
	USM_ATTR_OUT(a, query.prog_cnt, cnt);
	return err;
}

int usm__bpf_prog_query(struct usm_attr *a)
{
	if (usm__attr_tail_set(a, USM_ATTR_END_PROG_QUERY))
		return -EINVAL;
	if (a->a.query.query_flags & ~QUERY_EFFECTIVE)
		return -EINVAL;
	switch (attach_class(a->a.query.attach_type)) {
	case AC_SOCKMAP:
		return sockmap_query(a);
	case AC_CGROUP:
	case AC_MPROG:
		return -EOPNOTSUPP; /* no cgroups/tc here */
	default:
		if (a->a.query.attach_type == BPF_FLOW_DISSECTOR ||
		    a->a.query.attach_type == BPF_SK_LOOKUP ||
		    a->a.query.attach_type == BPF_LIRC_MODE2)
			return -EOPNOTSUPP;
		return -EINVAL;
	}
}
