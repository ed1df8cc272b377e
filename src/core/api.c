/* SPDX-License-Identifier: MIT */
/*
 * The native fd API of <usockmap/bpf.h>: libbpf-shaped calls that fill a
 * union bpf_attr and go through usm_bpf(), so they share its checks and
 * errno; and "fds out", new handles on the maps and programs the object
 * loader created. Nothing here keeps state.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <usockmap/bpf.h>
#include <usockmap/object.h>

#include "../loader/loader.h"
#include "../maps/map.h"
#include "../vm/vm.h"
#include "core.h"

/* Bytes of union bpf_attr up to and including @field. */
#define ATTR_END(field)                                                        \
	(unsigned int)(offsetof(union bpf_attr, field) +                       \
		       sizeof(((union bpf_attr *)0)->field))

int usm_prog_load(uint32_t prog_type, const char *name, const char *license,
		  const struct bpf_insn *insns, uint32_t insn_cnt,
		  const struct usm_prog_load_opts *opts)
{
	union bpf_attr attr;

	if (opts && opts->sz < offsetof(struct usm_prog_load_opts, fd_array) +
				       sizeof(opts->fd_array))
		return -EINVAL;
	memset(&attr, 0, sizeof(attr));
	attr.prog_type = prog_type;
	attr.insns = (uint64_t)(uintptr_t)insns;
	attr.insn_cnt = insn_cnt;
	attr.license = (uint64_t)(uintptr_t)license;
	if (name)
		strncpy(attr.prog_name, name, sizeof(attr.prog_name) - 1);
	if (opts) {
		attr.expected_attach_type = opts->expected_attach_type;
		attr.log_buf = (uint64_t)(uintptr_t)opts->log_buf;
		attr.log_size = opts->log_size;
		attr.log_level = opts->log_level;
		attr.fd_array = (uint64_t)(uintptr_t)opts->fd_array;
	}
	return usm_bpf(BPF_PROG_LOAD, &attr, ATTR_END(fd_array));
}

/* PROG_ATTACH and PROG_DETACH share their attribute layout. */
static int attach_cmd(int cmd, int prog_fd, int map_fd, uint32_t type,
		      uint32_t flags)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.target_fd = (uint32_t)map_fd;
	attr.attach_bpf_fd = (uint32_t)prog_fd;
	attr.attach_type = type;
	attr.attach_flags = flags;
	return usm_bpf(cmd, &attr, ATTR_END(replace_bpf_fd));
}

int usm_prog_attach(int prog_fd, int map_fd, uint32_t attach_type,
		    uint32_t flags)
{
	return attach_cmd(BPF_PROG_ATTACH, prog_fd, map_fd, attach_type,
			  flags);
}

int usm_prog_detach(int prog_fd, int map_fd, uint32_t attach_type)
{
	return attach_cmd(BPF_PROG_DETACH, prog_fd, map_fd, attach_type, 0);
}

int usm_prog_query(int map_fd, uint32_t attach_type, uint32_t *attach_flags,
		   uint32_t *prog_ids, uint32_t *prog_cnt)
{
	union bpf_attr attr;
	int err;

	if (!prog_cnt)
		return -EINVAL;
	memset(&attr, 0, sizeof(attr));
	attr.query.target_fd = (uint32_t)map_fd;
	attr.query.attach_type = attach_type;
	attr.query.prog_ids = (uint64_t)(uintptr_t)prog_ids;
	attr.query.prog_cnt = *prog_cnt;
	err = usm_bpf(BPF_PROG_QUERY, &attr, ATTR_END(query.prog_cnt));
	if (err)
		return err;
	if (attach_flags)
		*attach_flags = attr.query.attach_flags;
	*prog_cnt = attr.query.prog_cnt;
	return 0;
}

int usm_map_fd(struct usm_map *map)
{
	int fd;

	if (!map)
		return -EINVAL;
	usm__map_get_with_uref(map);
	fd = usm__fd_install(USM_FD_MAP, map, 0);
	if (fd < 0)
		usm__map_put_with_uref(map);
	return fd;
}

int usm_program_fd(const struct usm_program *p)
{
	struct usm_prog *prog = p ? usm__program_prog(p) : NULL;
	int fd;

	if (!p)
		return -EINVAL;
	if (!prog || !prog->verified)
		return -ENOENT;
	usm__prog_get(prog);
	fd = usm__fd_install(USM_FD_PROG, prog, 0);
	if (fd < 0)
		usm__prog_put(prog);
	return fd;
}
