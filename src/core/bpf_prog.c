/* SPDX-License-Identifier: MIT */
/*
 * BPF_PROG_LOAD: the checks of bpf_prog_load() (kernel/bpf/syscall.c) in
 * its order, the ld_imm64 map operands of resolve_pseudo_ldimm64()
 * (kernel/bpf/verifier.c), then our verifier, with the kernel's log buffer
 * rules (bpf_log.c) and log_true_size.
 *
 * Map operands arrive as the kernel takes them: BPF_PSEUDO_MAP_FD (imm =
 * map fd), BPF_PSEUDO_MAP_VALUE (imm = map fd, next imm = offset), or
 * BPF_PSEUDO_MAP_IDX / _IDX_VALUE (imm = index into attr->fd_array). They
 * are rewritten into the forms the verifier takes: src_reg
 * BPF_PSEUDO_MAP_IDX / _IDX_VALUE with imm = index into prog->maps (each
 * distinct map once, one reference each).
 */
#include "core.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/log.h"
#include "../loader/loader.h"
#include "../maps/map.h"
#include "../progtype/progtype.h"
#include "../vm/vm.h"

#ifndef BPF_F_TOKEN_FD
#define BPF_F_TOKEN_FD (1U << 16)
#endif
#define PROG_FLAGS_OK (0xffu | BPF_F_TOKEN_FD) /* bits 0..7 + token */
#define COMPLEXITY_LIMIT_INSNS 1000000u
#define MAX_USED_MAPS 64u
#define MAX_VAR_OFF (1u << 29)
#define LICENSE_LEN 128u

#ifndef BPF_PSEUDO_MAP_IDX
#define BPF_PSEUDO_MAP_IDX 5
#endif
#ifndef BPF_PSEUDO_MAP_IDX_VALUE
#define BPF_PSEUDO_MAP_IDX_VALUE 6
#endif

/* bpf_prog_load_check_attach for the types we run, after the fixup that
 * gives an sk_reuseport program its default attach type. */
static int check_attach(union bpf_attr *u)
{
	if (u->prog_type == BPF_PROG_TYPE_SK_REUSEPORT) {
		if (!u->expected_attach_type)
			u->expected_attach_type = BPF_SK_REUSEPORT_SELECT;
		if (u->expected_attach_type != BPF_SK_REUSEPORT_SELECT &&
		    u->expected_attach_type != BPF_SK_REUSEPORT_SELECT_OR_MIGRATE)
			return -EINVAL;
	}
	/* attach_btf_id / attach_prog_fd only make sense for tracing,
	 * LSM, struct_ops and extension programs. */
	if (u->attach_btf_id || u->attach_prog_fd)
		return -EINVAL;
	return 0;
}

static int token_fd_error(int fd)
{
	struct stat st;

	return fd < 0 || fstat(fd, &st) < 0 ? -EBADF : -EINVAL;
}

/* Checks before the verifier runs. */
static int load_checks(struct usm_attr *a)
{
	union bpf_attr *u = &a->a;

	if (usm__attr_tail_set(a, USM_ATTR_END_PROG_LOAD))
		return -EINVAL;
	if (u->prog_flags & ~PROG_FLAGS_OK)
		return -EINVAL;
	if (u->prog_flags & BPF_F_TOKEN_FD)
		return token_fd_error(
			(int)usm__attr_u32(a, USM_ATTR_PROG_TOKEN_FD_OFF));
	if (u->insn_cnt == 0 || u->insn_cnt > COMPLEXITY_LIMIT_INSNS)
		return -E2BIG;
	if (check_attach(u))
		return -EINVAL;
	if (!u->insns || !u->license)
		return -EFAULT;
	if (u->prog_ifindex) /* no offload devices */
		return -EINVAL;
	if (!usm__prog_type_get(u->prog_type))
		return -EINVAL; /* a type usockmap does not run */
	return 0;
}

/* Index of @map in prog->maps, adding it (with its own reference). */
static int used_map_index(struct usm_prog *prog, struct usm_map *map,
			  struct usm_log *log)
{
	uint32_t i;

	for (i = 0; i < prog->map_cnt; i++)
		if (prog->maps[i] == map)
			return (int)i;
	if (prog->map_cnt >= MAX_USED_MAPS) {
		usm__log(log, "The total number of maps per program has reached "
			      "the limit of %u\n", MAX_USED_MAPS);
		return -E2BIG;
	}
	return usm__prog_add_map(prog, map);
}

/* The map fd an ld_imm64 names (from fd_array for the IDX forms). */
static int ldimm_fd(const union bpf_attr *u, const struct bpf_insn *x,
		    struct usm_log *log, int *fd)
{
	const int32_t *fd_array = usm__u64_ptr(u->fd_array);

	if (x->src_reg != BPF_PSEUDO_MAP_IDX &&
	    x->src_reg != BPF_PSEUDO_MAP_IDX_VALUE) {
		*fd = x->imm;
		return 0;
	}
	if (!fd_array) {
		usm__log(log, "fd_idx without fd_array is invalid\n");
		return -EPROTO;
	}
	*fd = fd_array[(uint32_t)x->imm];
	return 0;
}

/* One ld_imm64 with a map operand at @x (two slots). */
static int resolve_one(struct usm_prog *prog, const union bpf_attr *u,
		       struct bpf_insn *x, struct usm_log *log)
{
	bool value = x->src_reg == BPF_PSEUDO_MAP_VALUE ||
		     x->src_reg == BPF_PSEUDO_MAP_IDX_VALUE;
	struct usm_map *map;
	uint64_t addr;
	int fd, idx, err;

	err = ldimm_fd(u, x, log, &fd);
	if (err)
		return err;
	err = usm__fd_get_map(fd, &map, NULL);
	if (err) {
		usm__log(log, "fd %d is not pointing to valid bpf_map\n", fd);
		return err;
	}
	idx = used_map_index(prog, map, log);
	if (idx >= 0 && value) {
		uint32_t off = (uint32_t)x[1].imm;

		if (off >= MAX_VAR_OFF) {
			usm__log(log, "direct value offset of %u is not "
				      "allowed\n", off);
			idx = -EINVAL;
		} else if ((err = usm__map_direct_value_addr(map, &addr, off))) {
			usm__log(log, "no direct value access support for this "
				      "map type (or bad offset %u)\n", off);
			idx = err;
		}
	}
	usm__map_put(map);
	if (idx < 0)
		return idx;
	x->src_reg = value ? BPF_PSEUDO_MAP_IDX_VALUE : BPF_PSEUDO_MAP_IDX;
	x->imm = idx;
	return 0;
}

/* Whether src_reg of an ld_imm64 is a form resolve_pseudo accepts. */
static int ldimm_form_ok(const struct bpf_insn *x, struct usm_log *log,
			 uint32_t i)
{
	switch (x->src_reg) {
	case BPF_PSEUDO_MAP_VALUE:
	case BPF_PSEUDO_MAP_IDX_VALUE:
		return 0;
	case BPF_PSEUDO_MAP_FD:
	case BPF_PSEUDO_MAP_IDX:
		if (x[1].imm == 0)
			return 0;
		break;
	default:
		break;
	}
	usm__log(log, "%u: unrecognized bpf_ld_imm64 insn\n", i);
	return -EINVAL;
}

static int resolve_pseudo(struct usm_prog *prog, const union bpf_attr *u,
			  struct usm_log *log)
{
	struct bpf_insn *x = prog->insns;
	uint32_t i, n = prog->insn_cnt;
	int err;

	for (i = 0; i < n; i++) {
		if (x[i].code != (BPF_LD | BPF_IMM | BPF_DW))
			continue;
		if (i == n - 1 || x[i + 1].code || x[i + 1].dst_reg ||
		    x[i + 1].src_reg || x[i + 1].off) {
			usm__log(log, "%u: invalid bpf_ld_imm64 insn\n", i);
			return -EINVAL;
		}
		if (x[i].src_reg == 0 || x[i].src_reg == BPF_PSEUDO_BTF_ID ||
		    x[i].src_reg == BPF_PSEUDO_FUNC) {
			i++; /* plain value, or left to the verifier */
			continue;
		}
		err = ldimm_form_ok(&x[i], log, i);
		if (!err)
			err = resolve_one(prog, u, &x[i], log);
		if (err)
			return err;
		i++;
	}
	return 0;
}

/* check_btf_info_early: func/line info need the program's BTF. */
static int btf_info_check(const union bpf_attr *u)
{
	void *btf;
	int err;

	if (!u->func_info_cnt && !u->line_info_cnt)
		return 0;
	err = usm__fd_get(u->prog_btf_fd, USM_FD_BTF, &btf, NULL);
	if (err)
		return err;
	usm__fd_obj_put(USM_FD_BTF, btf);
	return 0;
}

static int prog_new(const union bpf_attr *u, struct usm_prog **out)
{
	char license[LICENSE_LEN];
	struct usm_prog *prog;
	struct timespec ts;
	int err;

	err = usm__prog_new(&prog);
	if (err)
		return err;
	err = usm__prog_set_insns(prog, usm__u64_ptr(u->insns), u->insn_cnt);
	if (!err)
		err = usm__obj_name_cpy(prog->name, u->prog_name,
					sizeof(u->prog_name));
	if (err) {
		usm__prog_put(prog);
		return err;
	}
	strncpy(license, usm__u64_ptr(u->license), sizeof(license) - 1);
	license[sizeof(license) - 1] = '\0';
	prog->gpl_compatible = usm__license_is_gpl(license);
	prog->type = u->prog_type;
	prog->expected_attach_type = u->expected_attach_type;
	if (clock_gettime(CLOCK_BOOTTIME, &ts) == 0)
		prog->load_time_ns = (uint64_t)ts.tv_sec * 1000000000ull +
				     (uint64_t)ts.tv_nsec;
	prog->created_by_uid = (uint32_t)getuid();
	*out = prog;
	return 0;
}

/* bpf_check: log, map operands, verifier, log finalisation. */
static int check(struct usm_attr *a, struct usm_prog *prog)
{
	const union bpf_attr *u = &a->a;
	struct usm_vlog vlog;
	struct usm_log log;
	uint32_t true_size;
	int err, lerr;

	err = usm__vlog_init(&vlog, u->log_level, usm__u64_ptr(u->log_buf),
			     u->log_size);
	if (err)
		return err;
	usm__log_init(&log, NULL, 0, usm__vlog_level(&vlog));
	if (vlog.level) {
		log.cb = usm__vlog_cb;
		log.cb_arg = &vlog;
	}
	err = btf_info_check(u);
	if (!err && u->core_relo_cnt) {
		usm__log(&log, "CO-RE relocations in BPF_PROG_LOAD are not "
			       "supported; relocate in the loader\n");
		err = -EINVAL;
	}
	if (!err)
		err = resolve_pseudo(prog, u, &log);
	if (!err)
		err = usm__prog_verify(prog, &log);
	lerr = usm__vlog_finalize(&vlog, &true_size);
	if (lerr)
		err = lerr; /* ENOSPC even for an accepted program */
	usm__attr_out(a, USM_ATTR_LOG_TRUE_SIZE_OFF, &true_size,
		      sizeof(true_size));
	return err;
}

int usm__bpf_prog_load(struct usm_attr *a)
{
	struct usm_prog *prog;
	int err, fd;

	err = load_checks(a);
	if (err)
		return err;
	err = prog_new(&a->a, &prog);
	if (err)
		return err;
	err = check(a, prog);
	if (err) {
		usm__prog_put(prog);
		return err;
	}
	fd = usm__fd_install(USM_FD_PROG, prog, 0);
	if (fd < 0)
		usm__prog_put(prog);
	return fd;
}

/* BPF_PROG_GET_FD_BY_ID: a new handle on a loaded program. The kernel's
 * last field for this command is prog_id, so next_id and open_flags must
 * be zero (syscall.c bpf_prog_get_fd_by_id). */
int usm__bpf_prog_get_fd_by_id(struct usm_attr *a)
{
	struct usm_prog *prog;
	int err, fd;

	if (usm__attr_tail_set(a, USM_ATTR_END_PROG_GET_FD))
		return -EINVAL;
	err = usm__prog_get_by_id(a->a.prog_id, &prog);
	if (err)
		return err;
	fd = usm__fd_install(USM_FD_PROG, prog, 0);
	if (fd < 0)
		usm__prog_put(prog);
	return fd;
}

/* BPF_PROG_GET_NEXT_ID: the next loaded program id after start_id. */
int usm__bpf_prog_get_next_id(struct usm_attr *a)
{
	uint32_t next = 0;
	int err;

	if (usm__attr_tail_set(a, USM_ATTR_END_GET_NEXT_ID) ||
	    a->a.start_id >= INT32_MAX)
		return -EINVAL;
	err = usm__prog_get_next_id(a->a.start_id, &next);
	if (!err)
		USM_ATTR_OUT(a, next_id, next);
	return err;
}
