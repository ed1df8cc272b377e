/* SPDX-License-Identifier: MIT */
/*
 * usm_bpf(): the bpf(2) entry point (include/usockmap/bpf.h). Copies the
 * caller's attributes with the kernel's size rules (__sys_bpf and
 * bpf_check_uarg_tail_zero, kernel/bpf/syscall.c), collects handles whose
 * fds were closed, and dispatches to the command files. Also the small
 * attribute helpers every command uses.
 *
 * The element commands (lookup/update/delete/get_next_key) skip the handle
 * collection: they are the hot path and a closed handle cannot be named by
 * them anyway (the lookup is by inode).
 */
#include "core.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

#include <usockmap/bpf.h>

#include "../maps/map.h"
#include "../vm/vm.h"

#define PAGE_SIZE_BYTES 4096u

bool usm__attr_tail_set(const struct usm_attr *a, uint32_t end)
{
	uint32_t i;

	for (i = end; i < USM_ATTR_SIZE_612; i++)
		if (a->raw[i])
			return true;
	return false;
}

uint32_t usm__attr_u32(const struct usm_attr *a, uint32_t off)
{
	uint32_t v;

	memcpy(&v, a->raw + off, sizeof(v));
	return v;
}

uint64_t usm__attr_u64(const struct usm_attr *a, uint32_t off)
{
	uint64_t v;

	memcpy(&v, a->raw + off, sizeof(v));
	return v;
}

void usm__attr_out(struct usm_attr *a, uint32_t off, const void *val,
		   uint32_t len)
{
	if (a->uattr && off + len <= a->size)
		memcpy((uint8_t *)a->uattr + off, val, len);
}

int usm__check_tail_zero(const void *p, size_t expected, size_t actual)
{
	const uint8_t *b = p;
	size_t i;

	if (actual > PAGE_SIZE_BYTES)
		return -E2BIG;
	if (actual <= expected)
		return 0;
	if (!p)
		return -EFAULT;
	for (i = expected; i < actual; i++)
		if (b[i])
			return -E2BIG;
	return 0;
}

int usm__obj_name_cpy(char *dst, const char *src, size_t size)
{
	size_t i;

	memset(dst, 0, size);
	for (i = 0; i < size; i++) {
		if (src[i] == '\0')
			return 0;
		if (!isalnum((unsigned char)src[i]) && src[i] != '_' &&
		    src[i] != '.')
			return -EINVAL;
		dst[i] = src[i];
	}
	return -EINVAL; /* no NUL within the buffer */
}

/* __sys_bpf's copy-in. */
static int attr_copy(struct usm_attr *a, union bpf_attr *uattr,
		     unsigned int size)
{
	int err;

	memset(a, 0, sizeof(*a));
	if (size && !uattr)
		return -EFAULT;
	err = usm__check_tail_zero(uattr, USM_ATTR_SIZE, size);
	if (err)
		return err;
	a->size = size < USM_ATTR_SIZE ? size : (uint32_t)USM_ATTR_SIZE;
	if (a->size)
		memcpy(a->raw, uattr, a->size);
	a->uattr = uattr;
	return 0;
}

static bool is_elem_cmd(int cmd)
{
	return cmd == BPF_MAP_LOOKUP_ELEM || cmd == BPF_MAP_UPDATE_ELEM ||
	       cmd == BPF_MAP_DELETE_ELEM || cmd == BPF_MAP_GET_NEXT_KEY;
}

static int dispatch(int cmd, struct usm_attr *a)
{
	switch (cmd) {
	case BPF_MAP_CREATE:
		return usm__bpf_map_create(a);
	case BPF_MAP_LOOKUP_ELEM:
		return usm__bpf_map_lookup(a);
	case BPF_MAP_UPDATE_ELEM:
		return usm__bpf_map_update(a);
	case BPF_MAP_DELETE_ELEM:
		return usm__bpf_map_delete(a);
	case BPF_MAP_GET_NEXT_KEY:
		return usm__bpf_map_get_next_key(a);
	case BPF_MAP_FREEZE:
		return usm__bpf_map_freeze(a);
	case BPF_MAP_GET_FD_BY_ID:
		return usm__bpf_map_get_fd_by_id(a);
	case BPF_MAP_GET_NEXT_ID:
		return usm__bpf_map_get_next_id(a);
	case BPF_PROG_GET_FD_BY_ID:
		return usm__bpf_prog_get_fd_by_id(a);
	case BPF_PROG_GET_NEXT_ID:
		return usm__bpf_prog_get_next_id(a);
	case BPF_PROG_LOAD:
		return usm__bpf_prog_load(a);
	case BPF_PROG_ATTACH:
		return usm__bpf_prog_attach(a);
	case BPF_PROG_DETACH:
		return usm__bpf_prog_detach(a);
	case BPF_PROG_QUERY:
		return usm__bpf_prog_query(a);
	case BPF_PROG_TEST_RUN:
		return usm__bpf_prog_test_run(a);
	case BPF_OBJ_GET_INFO_BY_FD:
		return usm__bpf_obj_get_info(a);
	case BPF_BTF_LOAD:
		return usm__bpf_btf_load(a);
	case BPF_LINK_CREATE:
		return usm__bpf_link_create(a);
	case BPF_LINK_UPDATE:
		return usm__bpf_link_update(a);
	case BPF_LINK_DETACH:
		return usm__bpf_link_detach(a);
	default:
		return -EINVAL;
	}
}

int usm_bpf(int cmd, union bpf_attr *attr, unsigned int size)
{
	struct usm_attr a;
	int err;

	err = attr_copy(&a, attr, size);
	if (err)
		return err;
	if (!is_elem_cmd(cmd))
		usm__fd_gc();
	return dispatch(cmd, &a);
}
