/* SPDX-License-Identifier: MIT */
/*
 * libbpf's low-level API (<bpf/bpf.h>) over usockmap's bpf(2) core: each
 * call fills a union bpf_attr as libbpf 1.x does (same fields, same attr
 * size, same opts validation) and passes it to usm_bpf(), so a program sees
 * the errno the kernel would give it. Results follow libbpf's convention:
 * negative errno returned and stored in errno.
 */
#include "compat.h"

#include <string.h>

#define U64(p) ((__u64)(uintptr_t)(p))

int usm__compat_opts_ok(const void *opts, size_t known)
{
	const uint8_t *p = opts;
	size_t sz, i;

	if (!opts)
		return 1;
	memcpy(&sz, opts, sizeof(sz));
	if (sz < sizeof(size_t))
		return 0;
	for (i = known; i < sz; i++)
		if (p[i])
			return 0;
	return 1;
}

int usm__compat_opts_zero_from(const void *opts, size_t from)
{
	const uint8_t *p = opts;
	size_t sz, i;

	if (!opts)
		return 1;
	memcpy(&sz, opts, sizeof(sz));
	for (i = from; i < sz; i++)
		if (p[i])
			return 0;
	return 1;
}

void usm__compat_close_fd(int fd)
{
	if (fd >= 0)
		usm_close(fd);
}

/* A command on a zeroed attr of @size bytes; errno convention applied. */
static int call(int cmd, union bpf_attr *attr, size_t size)
{
	return usm__compat_err(usm_bpf(cmd, attr, (unsigned int)size));
}

/* ---- maps ---- */

#define MAP_CREATE_KNOWN                                                       \
	(offsetof(struct bpf_map_create_opts, map_ifindex) + sizeof(__u32))

int usm_compat_bpf_map_create(enum bpf_map_type map_type,
			      const char *map_name, __u32 key_size,
			      __u32 value_size, __u32 max_entries,
			      const struct bpf_map_create_opts *opts)
{
	const size_t sz = USM_ATTR_END(map_extra);
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	if (!usm__compat_opts_ok(opts, MAP_CREATE_KNOWN))
		return usm__compat_err(-EINVAL);
	attr.map_type = map_type;
	/* libbpf truncates the name to what the kernel keeps. */
	if (map_name)
		memcpy(attr.map_name, map_name,
		       strnlen(map_name, sizeof(attr.map_name) - 1));
	attr.key_size = key_size;
	attr.value_size = value_size;
	attr.max_entries = max_entries;
	attr.btf_fd = USM_OPT(opts, btf_fd);
	attr.btf_key_type_id = USM_OPT(opts, btf_key_type_id);
	attr.btf_value_type_id = USM_OPT(opts, btf_value_type_id);
	attr.btf_vmlinux_value_type_id = USM_OPT(opts, btf_vmlinux_value_type_id);
	attr.inner_map_fd = USM_OPT(opts, inner_map_fd);
	attr.map_flags = USM_OPT(opts, map_flags);
	attr.map_extra = USM_OPT(opts, map_extra);
	attr.numa_node = USM_OPT(opts, numa_node);
	attr.map_ifindex = USM_OPT(opts, map_ifindex);
	return call(BPF_MAP_CREATE, &attr, sz);
}

/* MAP_LOOKUP/UPDATE/DELETE_ELEM share one attr shape. */
static int elem_cmd(int cmd, int fd, const void *key, const void *value,
		    __u64 flags)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_fd = (__u32)fd;
	attr.key = U64(key);
	attr.value = U64(value);
	attr.flags = flags;
	return call(cmd, &attr, USM_ATTR_END(flags));
}

int usm_compat_bpf_map_update_elem(int fd, const void *key, const void *value,
				   __u64 flags)
{
	return elem_cmd(BPF_MAP_UPDATE_ELEM, fd, key, value, flags);
}

int usm_compat_bpf_map_lookup_elem(int fd, const void *key, void *value)
{
	return elem_cmd(BPF_MAP_LOOKUP_ELEM, fd, key, value, 0);
}

int usm_compat_bpf_map_lookup_elem_flags(int fd, const void *key, void *value,
					 __u64 flags)
{
	return elem_cmd(BPF_MAP_LOOKUP_ELEM, fd, key, value, flags);
}

int usm_compat_bpf_map_delete_elem(int fd, const void *key)
{
	return elem_cmd(BPF_MAP_DELETE_ELEM, fd, key, NULL, 0);
}

int usm_compat_bpf_map_get_next_key(int fd, const void *key, void *next_key)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_fd = (__u32)fd;
	attr.key = U64(key);
	attr.next_key = U64(next_key);
	return call(BPF_MAP_GET_NEXT_KEY, &attr, USM_ATTR_END(next_key));
}

int usm_compat_bpf_map_freeze(int fd)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_fd = (__u32)fd;
	return call(BPF_MAP_FREEZE, &attr, USM_ATTR_END(map_fd));
}

int usm_compat_bpf_map_get_fd_by_id(__u32 id)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_id = id;
	return call(BPF_MAP_GET_FD_BY_ID, &attr, USM_ATTR_END(open_flags));
}

int usm_compat_bpf_prog_get_fd_by_id(__u32 id)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.prog_id = id;
	return call(BPF_PROG_GET_FD_BY_ID, &attr, USM_ATTR_END(open_flags));
}

int usm_compat_bpf_obj_get_info_by_fd(int bpf_fd, void *info, __u32 *info_len)
{
	union bpf_attr attr;
	int err;

	memset(&attr, 0, sizeof(attr));
	attr.info.bpf_fd = (__u32)bpf_fd;
	attr.info.info_len = info_len ? *info_len : 0;
	attr.info.info = U64(info);
	err = call(BPF_OBJ_GET_INFO_BY_FD, &attr, USM_ATTR_END(info));
	if (!err && info_len)
		*info_len = attr.info.info_len;
	return err;
}

/* ---- programs on maps ---- */

#define ATTACH_KNOWN                                                           \
	(offsetof(struct bpf_prog_attach_opts, replace_prog_fd) + sizeof(int))

int usm_compat_bpf_prog_attach_opts(int prog_fd, int attachable_fd,
				    enum bpf_attach_type type,
				    const struct bpf_prog_attach_opts *opts)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	if (!usm__compat_opts_ok(opts, ATTACH_KNOWN))
		return usm__compat_err(-EINVAL);
	attr.target_fd = (__u32)attachable_fd;
	attr.attach_bpf_fd = (__u32)prog_fd;
	attr.attach_type = type;
	attr.attach_flags = USM_OPT(opts, flags);
	attr.replace_bpf_fd = (__u32)USM_OPT(opts, replace_prog_fd);
	return call(BPF_PROG_ATTACH, &attr, USM_ATTR_END(replace_bpf_fd));
}

int usm_compat_bpf_prog_attach(int prog_fd, int attachable_fd,
			       enum bpf_attach_type type, unsigned int flags)
{
	LIBBPF_OPTS(bpf_prog_attach_opts, opts, .flags = flags);

	return usm_compat_bpf_prog_attach_opts(prog_fd, attachable_fd, type,
					       &opts);
}

static int detach(int prog_fd, int target_fd, enum bpf_attach_type type)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.target_fd = (__u32)target_fd;
	attr.attach_bpf_fd = (__u32)prog_fd;
	attr.attach_type = type;
	return call(BPF_PROG_DETACH, &attr, USM_ATTR_END(replace_bpf_fd));
}

int usm_compat_bpf_prog_detach(int attachable_fd, enum bpf_attach_type type)
{
	return detach(0, attachable_fd, type);
}

int usm_compat_bpf_prog_detach2(int prog_fd, int attachable_fd,
				enum bpf_attach_type type)
{
	return detach(prog_fd, attachable_fd, type);
}

#define QUERY_KNOWN                                                            \
	(offsetof(struct bpf_prog_query_opts, prog_attach_flags) +             \
	 sizeof(__u32 *))

int usm_compat_bpf_prog_query_opts(int target_fd, enum bpf_attach_type type,
				   struct bpf_prog_query_opts *opts)
{
	union bpf_attr attr;
	int err;

	memset(&attr, 0, sizeof(attr));
	if (!usm__compat_opts_ok(opts, QUERY_KNOWN))
		return usm__compat_err(-EINVAL);
	attr.query.target_fd = (__u32)target_fd;
	attr.query.attach_type = type;
	attr.query.query_flags = USM_OPT(opts, query_flags);
	attr.query.prog_cnt = USM_OPT(opts, prog_cnt);
	attr.query.prog_ids = U64(USM_OPT(opts, prog_ids));
	attr.query.prog_attach_flags = U64(USM_OPT(opts, prog_attach_flags));
	err = call(BPF_PROG_QUERY, &attr, USM_ATTR_END(query));
	/* libbpf writes the counts back whatever the result. */
	if (opts && opts->sz >= offsetof(struct bpf_prog_query_opts,
					 attach_flags) + sizeof(__u32))
		opts->attach_flags = attr.query.attach_flags;
	if (opts && opts->sz >= offsetof(struct bpf_prog_query_opts,
					 prog_cnt) + sizeof(__u32))
		opts->prog_cnt = attr.query.prog_cnt;
	return usm__compat_err(err);
}

int usm_compat_bpf_prog_query(int target_fd, enum bpf_attach_type type,
			      __u32 query_flags, __u32 *attach_flags,
			      __u32 *prog_ids, __u32 *prog_cnt)
{
	LIBBPF_OPTS(bpf_prog_query_opts, opts);
	int err;

	opts.query_flags = query_flags;
	opts.prog_ids = prog_ids;
	opts.prog_cnt = *prog_cnt;
	err = usm_compat_bpf_prog_query_opts(target_fd, type, &opts);
	if (attach_flags)
		*attach_flags = opts.attach_flags;
	*prog_cnt = opts.prog_cnt;
	return usm__compat_err(err);
}

/* ---- links ---- */

#define LINK_CREATE_KNOWN sizeof(struct bpf_link_create_opts)
#define LINK_UPDATE_KNOWN                                                      \
	(offsetof(struct bpf_link_update_opts, old_prog_fd) + sizeof(__u32))

int usm_compat_bpf_link_create(int prog_fd, int target_fd,
			       enum bpf_attach_type attach_type,
			       const struct bpf_link_create_opts *opts)
{
	const size_t after_flags =
		offsetof(struct bpf_link_create_opts, flags) + sizeof(__u32);
	const size_t after_btf_id =
		offsetof(struct bpf_link_create_opts, target_btf_id) +
		sizeof(__u32);
	__u32 iter_len = USM_OPT(opts, iter_info_len);
	__u32 btf_id = USM_OPT(opts, target_btf_id);
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	if (!usm__compat_opts_ok(opts, LINK_CREATE_KNOWN))
		return usm__compat_err(-EINVAL);
	/* libbpf's combination rules for the iterator / BTF-id fields. */
	if ((iter_len || btf_id) &&
	    ((iter_len && btf_id) ||
	     !usm__compat_opts_zero_from(opts, after_btf_id)))
		return usm__compat_err(-EINVAL);
	attr.link_create.prog_fd = (__u32)prog_fd;
	attr.link_create.target_fd = (__u32)target_fd;
	attr.link_create.attach_type = attach_type;
	attr.link_create.flags = USM_OPT(opts, flags);
	if (btf_id) {
		attr.link_create.target_btf_id = btf_id; /* passed as is */
	} else if (!usm__compat_opts_zero_from(opts, after_flags)) {
		/* Iterator, perf and kprobe options belong to other attach
		 * types; libbpf refuses them for the rest. */
		return usm__compat_err(-EINVAL);
	}
	return call(BPF_LINK_CREATE, &attr, USM_ATTR_END(link_create));
}

int usm_compat_bpf_link_update(int link_fd, int new_prog_fd,
			       const struct bpf_link_update_opts *opts)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	if (!usm__compat_opts_ok(opts, LINK_UPDATE_KNOWN))
		return usm__compat_err(-EINVAL);
	attr.link_update.link_fd = (__u32)link_fd;
	attr.link_update.new_prog_fd = (__u32)new_prog_fd;
	attr.link_update.flags = USM_OPT(opts, flags);
	attr.link_update.old_prog_fd = USM_OPT(opts, old_prog_fd);
	return call(BPF_LINK_UPDATE, &attr, USM_ATTR_END(link_update));
}

int usm_compat_bpf_link_detach(int link_fd)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.link_detach.link_fd = (__u32)link_fd;
	return call(BPF_LINK_DETACH, &attr, USM_ATTR_END(link_detach));
}
