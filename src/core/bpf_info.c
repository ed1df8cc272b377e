/* SPDX-License-Identifier: MIT */
/*
 * BPF_OBJ_GET_INFO_BY_FD for maps, programs, links and BTF objects
 * (kernel/bpf/syscall.c bpf_*_get_info_by_fd), and BPF_BTF_LOAD with the
 * header checks of btf_parse_hdr (kernel/bpf/btf.c): the blob is kept, its
 * body is validated by libbpf's parser (usockmap uses program BTF for
 * nothing the kernel would check it for).
 *
 * Info structs follow the kernel's extensible-struct rules: info_len
 * larger than the struct we know needs a zero tail (-E2BIG), at most
 * sizeof is written and info_len is set to what was written. For programs
 * and links the caller's struct is read first, so the fields that are
 * inputs (array pointers and their lengths) are honoured.
 */
#include "core.h"

#include <bpf/btf.h>
#include <errno.h>
#include <linux/btf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../maps/map.h"
#include "../vm/vm.h"

#ifndef BPF_F_TOKEN_FD
#define BPF_F_TOKEN_FD (1U << 16)
#endif
#ifndef EBADFD
#define EBADFD 77
#endif
#define BTF_MAX_SIZE (16u * 1024 * 1024)
#define LINK_INFO_SIZE_612 64u
#define PROG_INFO_CHECKED offsetof(struct bpf_prog_info, attach_btf_id) + 4u

#ifndef BPF_PSEUDO_MAP_IDX
#define BPF_PSEUDO_MAP_IDX 5
#endif
#ifndef BPF_PSEUDO_MAP_IDX_VALUE
#define BPF_PSEUDO_MAP_IDX_VALUE 6
#endif

static uint32_t next_btf_id;

void usm__btf_get(struct usm_btf *btf)
{
	if (btf)
		__atomic_add_fetch(&btf->refcnt, 1, __ATOMIC_RELAXED);
}

void usm__btf_put(struct usm_btf *btf)
{
	if (!btf || __atomic_sub_fetch(&btf->refcnt, 1, __ATOMIC_ACQ_REL))
		return;
	free(btf->data);
	free(btf);
}

/* ---- info ---- */

static uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

static int map_info(struct usm_attr *a, struct usm_map *map)
{
	struct bpf_map_info info;
	void *uinfo = usm__u64_ptr(a->a.info.info);
	uint32_t len = a->a.info.info_len;
	int err;

	err = usm__check_tail_zero(uinfo, sizeof(info), len);
	if (err)
		return err;
	len = min_u32(len, sizeof(info));
	memset(&info, 0, sizeof(info));
	info.type = map->map_type;
	info.id = map->id;
	info.key_size = map->key_size;
	info.value_size = map->value_size;
	info.max_entries = map->max_entries;
	info.map_flags = map->map_flags;
	memcpy(info.name, map->name, sizeof(info.name));
	if (len && !uinfo)
		return -EFAULT;
	memcpy(uinfo, &info, len);
	USM_ATTR_OUT(a, info.info_len, len);
	return 0;
}

/* set_info_rec_size: record sizes must be the kernel's or both zero. */
static int rec_sizes(struct bpf_prog_info *i)
{
	if ((i->nr_func_info || i->func_info_rec_size) &&
	    i->func_info_rec_size != sizeof(struct bpf_func_info))
		return -EINVAL;
	if ((i->nr_line_info || i->line_info_rec_size) &&
	    i->line_info_rec_size != sizeof(struct bpf_line_info))
		return -EINVAL;
	if ((i->nr_jited_line_info || i->jited_line_info_rec_size) &&
	    i->jited_line_info_rec_size != sizeof(uint64_t))
		return -EINVAL;
	i->func_info_rec_size = sizeof(struct bpf_func_info);
	i->line_info_rec_size = sizeof(struct bpf_line_info);
	i->jited_line_info_rec_size = sizeof(uint64_t);
	return 0;
}

/* The program as bpf_insn_prepare_dump shows it: map operands as
 * BPF_PSEUDO_MAP_FD / _VALUE carrying the map id. */
static void dump_insns(const struct usm_prog *p, struct bpf_insn *out,
		       uint32_t bytes)
{
	uint32_t i, n = bytes / sizeof(*out);

	for (i = 0; i < n && i < p->insn_cnt; i++) {
		struct bpf_insn x = p->insns[i];

		if (x.code == (BPF_LD | BPF_IMM | BPF_DW) &&
		    (x.src_reg == BPF_PSEUDO_MAP_IDX ||
		     x.src_reg == BPF_PSEUDO_MAP_IDX_VALUE) &&
		    (uint32_t)x.imm < p->map_cnt) {
			x.src_reg = x.src_reg == BPF_PSEUDO_MAP_IDX
					    ? BPF_PSEUDO_MAP_FD
					    : BPF_PSEUDO_MAP_VALUE;
			x.imm = (int32_t)p->maps[(uint32_t)x.imm]->id;
		}
		out[i] = x;
	}
	if (bytes % sizeof(*out) && i < p->insn_cnt)
		memcpy(&out[i], &p->insns[i], bytes % sizeof(*out));
}

static void prog_fill(struct bpf_prog_info *info, const struct usm_prog *p)
{
	uint32_t ulen, i;

	info->type = p->type;
	info->id = p->id;
	info->load_time = p->load_time_ns;
	info->created_by_uid = p->created_by_uid;
	info->gpl_compatible = p->gpl_compatible;
	memset(info->tag, 0, sizeof(info->tag));
	memcpy(info->name, p->name, sizeof(info->name));
	info->name[sizeof(info->name) - 1] = '\0';
	ulen = min_u32(info->nr_map_ids, p->map_cnt);
	info->nr_map_ids = p->map_cnt;
	for (i = 0; i < ulen; i++)
		((uint32_t *)usm__u64_ptr(info->map_ids))[i] = p->maps[i]->id;
	info->run_time_ns = p->run_time_ns;
	info->run_cnt = p->run_cnt;
	info->verified_insns = p->verified_insns;
	ulen = info->xlated_prog_len;
	info->xlated_prog_len = p->insn_cnt * (uint32_t)sizeof(struct bpf_insn);
	if (ulen && info->xlated_prog_insns)
		dump_insns(p, usm__u64_ptr(info->xlated_prog_insns),
			   min_u32(ulen, info->xlated_prog_len));
	/* Interpreted only: nothing jited, no func/line info kept. */
	info->jited_prog_len = 0;
	info->nr_jited_ksyms = 0;
	info->nr_jited_func_lens = 0;
	info->nr_func_info = 0;
	info->nr_line_info = 0;
	info->nr_jited_line_info = 0;
	info->nr_prog_tags = 0;
}

static int prog_info(struct usm_attr *a, struct usm_prog *p)
{
	struct bpf_prog_info info;
	void *uinfo = usm__u64_ptr(a->a.info.info);
	uint32_t len = a->a.info.info_len;
	int err;

	err = usm__check_tail_zero(uinfo, PROG_INFO_CHECKED, len);
	if (err)
		return err;
	len = min_u32(len, sizeof(info));
	if (len && !uinfo)
		return -EFAULT;
	memset(&info, 0, sizeof(info));
	memcpy(&info, uinfo, len);
	if (info.nr_map_ids && !info.map_ids && p->map_cnt)
		return -EFAULT;
	err = rec_sizes(&info);
	if (err)
		return err;
	prog_fill(&info, p);
	memcpy(uinfo, &info, len);
	USM_ATTR_OUT(a, info.info_len, len);
	return 0;
}

static int link_info(struct usm_attr *a, struct usm_link *link)
{
	void *uinfo = usm__u64_ptr(a->a.info.info);
	uint32_t len = a->a.info.info_len;
	int err;

	err = usm__check_tail_zero(uinfo, LINK_INFO_SIZE_612, len);
	if (err)
		return err;
	len = min_u32(len, LINK_INFO_SIZE_612);
	if (len && !uinfo)
		return -EFAULT;
	usm__link_fill_info(link, uinfo, len);
	USM_ATTR_OUT(a, info.info_len, len);
	return 0;
}

static int btf_info(struct usm_attr *a, struct usm_btf *btf)
{
	struct bpf_btf_info info;
	void *uinfo = usm__u64_ptr(a->a.info.info);
	uint32_t len = a->a.info.info_len, n;
	int err;

	err = usm__check_tail_zero(uinfo, sizeof(info), len);
	if (err)
		return err;
	len = min_u32(len, sizeof(info));
	if (len && !uinfo)
		return -EFAULT;
	memset(&info, 0, sizeof(info));
	memcpy(&info, uinfo, len);
	info.id = btf->id;
	n = min_u32(btf->size, info.btf_size);
	if (n && !info.btf)
		return -EFAULT;
	memcpy(usm__u64_ptr(info.btf), btf->data, n);
	info.btf_size = btf->size;
	info.kernel_btf = 0;
	if (!info.name != !info.name_len)
		return -EINVAL;
	if (info.name)
		*(char *)usm__u64_ptr(info.name) = '\0'; /* unnamed */
	info.name_len = 0;
	memcpy(uinfo, &info, len);
	USM_ATTR_OUT(a, info.info_len, len);
	return 0;
}

int usm__bpf_obj_get_info(struct usm_attr *a)
{
	enum usm_fd_kind kind;
	void *obj;
	int err;

	if (usm__attr_tail_set(a, USM_ATTR_END_GET_INFO))
		return -EINVAL;
	err = usm__fd_get_any((int)a->a.info.bpf_fd, &kind, &obj);
	if (err == -EBADF)
		return -EBADFD; /* sic: the kernel says EBADFD here */
	if (err)
		return err;
	switch (kind) {
	case USM_FD_MAP:
		err = map_info(a, obj);
		break;
	case USM_FD_PROG:
		err = prog_info(a, obj);
		break;
	case USM_FD_LINK:
		err = link_info(a, obj);
		break;
	case USM_FD_BTF:
		err = btf_info(a, obj);
		break;
	default:
		err = -EINVAL;
		break;
	}
	usm__fd_obj_put(kind, obj);
	return err;
}

/* ---- BTF_LOAD ---- */

/* btf_parse_hdr's checks, in order. */
static int btf_hdr_check(const uint8_t *data, uint32_t size, struct usm_vlog *v)
{
	struct btf_header hdr;
	uint32_t hdr_len, i;

	if (size < offsetof(struct btf_header, hdr_len) + sizeof(hdr.hdr_len)) {
		usm__vlog_cb(v, "hdr_len not found\n");
		return -EINVAL;
	}
	memcpy(&hdr_len, data + offsetof(struct btf_header, hdr_len), 4);
	if (size < hdr_len) {
		usm__vlog_cb(v, "btf_header not found\n");
		return -EINVAL;
	}
	for (i = sizeof(hdr); i < hdr_len; i++) {
		if (data[i]) {
			usm__vlog_cb(v, "Unsupported btf_header\n");
			return -E2BIG;
		}
	}
	memset(&hdr, 0, sizeof(hdr));
	memcpy(&hdr, data, hdr_len < sizeof(hdr) ? hdr_len : sizeof(hdr));
	if (hdr.magic != BTF_MAGIC) {
		usm__vlog_cb(v, "Invalid magic\n");
		return -EINVAL;
	}
	if (hdr.version != BTF_VERSION || hdr.flags) {
		usm__vlog_cb(v, hdr.flags ? "Unsupported flags\n"
					  : "Unsupported version\n");
		return -USM_ENOTSUPP;
	}
	if (size == hdr.hdr_len) {
		usm__vlog_cb(v, "No data\n");
		return -EINVAL;
	}
	return 0;
}

/* The body: libbpf's user-space BTF parser. */
static int btf_body_check(const void *data, uint32_t size, struct usm_vlog *v)
{
	struct btf *b = btf__new(data, size);

	if (!b) {
		usm__vlog_cb(v, "Invalid BTF data\n");
		return -EINVAL;
	}
	btf__free(b);
	return 0;
}

static int btf_make(const void *src, uint32_t size, struct usm_btf **out)
{
	struct usm_btf *btf = calloc(1, sizeof(*btf));

	if (!btf)
		return -ENOMEM;
	btf->data = malloc(size);
	if (!btf->data) {
		free(btf);
		return -ENOMEM;
	}
	memcpy(btf->data, src, size);
	btf->size = size;
	btf->refcnt = 1;
	btf->id = __atomic_add_fetch(&next_btf_id, 1, __ATOMIC_RELAXED);
	*out = btf;
	return 0;
}

static int btf_token_error(int fd)
{
	struct stat st;

	return fd < 0 || fstat(fd, &st) < 0 ? -EBADF : -EINVAL;
}

int usm__bpf_btf_load(struct usm_attr *a)
{
	const union bpf_attr *u = &a->a;
	uint32_t flags = usm__attr_u32(a, USM_ATTR_BTF_FLAGS_OFF), true_size;
	const void *data = usm__u64_ptr(u->btf);
	struct usm_btf *btf = NULL;
	struct usm_vlog v;
	int err, lerr, fd;

	if (usm__attr_tail_set(a, USM_ATTR_END_BTF_LOAD) ||
	    flags & ~BPF_F_TOKEN_FD)
		return -EINVAL;
	if (flags & BPF_F_TOKEN_FD)
		return btf_token_error((int)usm__attr_u32(a, 36));
	if (u->btf_size > BTF_MAX_SIZE)
		return -E2BIG;
	err = usm__vlog_init(&v, u->btf_log_level,
			     usm__u64_ptr(u->btf_log_buf), u->btf_log_size);
	if (err)
		return err;
	if (u->btf_size && !data)
		err = -EFAULT;
	if (!err)
		err = btf_hdr_check(data, u->btf_size, &v);
	if (!err)
		err = btf_body_check(data, u->btf_size, &v);
	if (!err)
		err = btf_make(data, u->btf_size, &btf);
	lerr = usm__vlog_finalize(&v, &true_size);
	if (lerr)
		err = lerr;
	usm__attr_out(a, USM_ATTR_BTF_LOG_TRUE_SIZE_OFF, &true_size,
		      sizeof(true_size));
	if (err) {
		usm__btf_put(btf);
		return err;
	}
	fd = usm__fd_install(USM_FD_BTF, btf, 0);
	if (fd < 0)
		usm__btf_put(btf);
	return fd;
}
