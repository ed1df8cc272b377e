/* SPDX-License-Identifier: MIT */
/*
 * Memory accesses: loads, stores and atomics through a pointer register,
 * per pointer type, as the kernel's check_mem_access:
 *   ctx      fixed offset only, judged by the program type's
 *            is_valid_access (which may ask for a rewrite of the load);
 *   stack    within [-512, 0) of the frame the pointer points into,
 *            tracked per byte (stack_ops in verify_stack.c);
 *   map value, mem   [0, size) for every value the variable offset can take;
 *   packet   within the range proven by comparisons against pkt_end;
 *   socket   struct bpf_sock fields, read-only.
 * Plus the same checks for memory handed to helpers (pointer + size).
 */
#include "verify.h"

#include <string.h>

#include "../maps/map.h"

/* ---- generic region checks ---- */

static int mem_range_err(struct venv *env, uint32_t regno, int off, int size,
			 uint32_t mem_size)
{
	const struct vreg *r = &vcur_regs(env)[regno];

	switch (r->type) {
	case USM_PTR_TO_MAP_VALUE:
		return usm__verify_err(env, -EACCES,
				       "invalid access to map value, value_size=%u off=%d size=%d",
				       mem_size, off, size);
	case USM_PTR_TO_PACKET:
	case USM_PTR_TO_PACKET_META:
	case USM_PTR_TO_PACKET_END:
		return usm__verify_err(env, -EACCES,
				       "invalid access to packet, off=%d size=%d, R%u(id=%u,off=%d,r=%d)",
				       off, size, regno, r->id, off, (int)mem_size);
	default:
		return usm__verify_err(env, -EACCES,
				       "invalid access to memory, mem_size=%u off=%d size=%d",
				       mem_size, off, size);
	}
}

/* [off, off + size) inside [0, mem_size) (the kernel's __check_mem_access);
 * logs nothing on success. */
static bool in_region(int64_t off, int size, uint32_t mem_size, bool zero_ok)
{
	bool size_ok = size > 0 || (size == 0 && zero_ok);

	return size_ok && off >= 0 && (uint64_t)off + (uint64_t)size <= mem_size;
}

/* Every offset the variable part allows (check_mem_region_access). */
int usm__verify_map_region(struct venv *env, uint32_t regno, int off,
			   int size, bool zero_ok, uint32_t mem_size)
{
	const struct vreg *r = &vcur_regs(env)[regno];
	int64_t lo = r->smin + off;

	if (r->smin < 0 && (r->smin == INT64_MIN || lo != (int32_t)lo || lo < 0))
		return usm__verify_err(env, -EACCES,
				       "R%u min value is negative, either use unsigned index or do a if (index >=0) check.",
				       regno);
	if (!in_region(lo, size, mem_size, zero_ok)) {
		mem_range_err(env, regno, (int)lo, size, mem_size);
		return usm__verify_err(env, -EACCES,
				       "R%u min value is outside of the allowed memory range",
				       regno);
	}
	if (r->umax >= (uint64_t)VMAX_VAR_OFF)
		return usm__verify_err(env, -EACCES,
				       "R%u unbounded memory access, make sure to bounds check any such access",
				       regno);
	if (!in_region((int64_t)r->umax + off, size, mem_size, zero_ok)) {
		mem_range_err(env, regno, (int)((int64_t)r->umax + off), size,
			      mem_size);
		return usm__verify_err(env, -EACCES,
				       "R%u max value is outside of the allowed memory range",
				       regno);
	}
	return 0;
}

int usm__verify_pkt_access(struct venv *env, uint32_t regno, int off,
			   int size, bool zero_ok)
{
	const struct vreg *r = &vcur_regs(env)[regno];

	if (r->smin < 0)
		return usm__verify_err(env, -EACCES,
				       "R%u min value is negative, either use unsigned index or do a if (index >=0) check.",
				       regno);
	if (r->range < 0 || !in_region(off, size, (uint32_t)r->range, zero_ok)) {
		mem_range_err(env, regno, off, size,
			      r->range < 0 ? 0 : (uint32_t)r->range);
		return usm__verify_err(env, -EACCES,
				       "R%u offset is outside of the packet", regno);
	}
	return 0;
}

/* ---- per-type accesses ---- */

struct vacc {
	uint32_t regno;   /* pointer register */
	int off;          /* insn offset + the pointer's fixed offset */
	int size;
	bool write;
	int value_regno;  /* register loaded/stored, -1 for none */
	bool ldsx;
	const struct bpf_insn *insn; /* NULL for helper-simulated writes */
};

static int map_access_type(struct venv *env, const struct vreg *r,
			   const struct vacc *a)
{
	uint32_t fl = r->map->map_flags;

	if (a->write && (fl & BPF_F_RDONLY_PROG))
		return usm__verify_err(env, -EACCES,
				       "write into map forbidden, value_size=%u off=%d size=%d",
				       r->map->value_size, a->off, a->size);
	if (!a->write && (fl & BPF_F_WRONLY_PROG))
		return usm__verify_err(env, -EACCES,
				       "read from map forbidden, value_size=%u off=%d size=%d",
				       r->map->value_size, a->off, a->size);
	return 0;
}

/* A load from a frozen read-only map value at a known offset reads the
 * constant (the kernel's bpf_map_direct_read). */
static bool rdonly_const(const struct vreg *r, int off, int size, bool sx,
			 uint64_t *val)
{
	const struct usm_map *m = r->map;
	uint64_t addr, raw = 0;
	int64_t v = 0;

	if (!usm__tnum_is_const(r->var_off) || !m->frozen ||
	    !(m->map_flags & BPF_F_RDONLY_PROG) || !m->ops ||
	    !m->ops->direct_value_addr)
		return false;
	off += (int)r->var_off.value;
	if (off < 0 || m->ops->direct_value_addr(m, &addr, (uint32_t)off))
		return false;
	memcpy(&raw, (const void *)(uintptr_t)addr, (size_t)size);
	switch (size) {
	case 1:
		v = sx ? (int8_t)raw : (int64_t)(uint8_t)raw;
		break;
	case 2:
		v = sx ? (int16_t)raw : (int64_t)(uint16_t)raw;
		break;
	case 4:
		v = sx ? (int32_t)raw : (int64_t)(uint32_t)raw;
		break;
	default:
		v = (int64_t)raw;
		break;
	}
	*val = (uint64_t)v;
	return true;
}

static int access_map_value(struct venv *env, const struct vreg *r,
			    const struct vacc *a)
{
	struct vreg *regs = vcur_regs(env);
	uint64_t val;
	int err;

	if (a->write && a->value_regno >= 0 &&
	    usm__verify_is_leak(env, &regs[a->value_regno]))
		return usm__verify_err(env, -EACCES, "R%d leaks addr into map",
				       a->value_regno);
	if ((err = map_access_type(env, r, a)) ||
	    (err = usm__verify_map_region(env, a->regno, a->off, a->size,
					  false, r->map->value_size)))
		return err;
	if (a->write || a->value_regno < 0)
		return 0;
	if (rdonly_const(r, a->off, a->size, a->ldsx, &val))
		usm__reg_mark_known(&regs[a->value_regno], val);
	else
		usm__reg_mark_unknown(&regs[a->value_regno]);
	return 0;
}

static int access_mem(struct venv *env, const struct vreg *r,
		      const struct vacc *a)
{
	struct vreg *regs = vcur_regs(env);
	int err;

	if (a->write && a->value_regno >= 0 &&
	    usm__verify_is_leak(env, &regs[a->value_regno]))
		return usm__verify_err(env, -EACCES, "R%d leaks addr into mem",
				       a->value_regno);
	err = usm__verify_map_region(env, a->regno, a->off, a->size, false,
				     r->mem_size);
	if (!err && !a->write && a->value_regno >= 0)
		usm__reg_mark_unknown(&regs[a->value_regno]);
	return err;
}

/* The unmodified ctx pointer only (check_ptr_off_reg). */
int usm__verify_ptr_off_zero(struct venv *env, uint32_t regno,
			     bool fixed_ok)
{
	const struct vreg *r = &vcur_regs(env)[regno];
	const char *t = usm__verify_type_name(r->type);
	char tn[48];

	if (r->off < 0)
		return usm__verify_err(env, -EACCES,
				       "negative offset %s ptr R%u off=%d disallowed",
				       t, regno, r->off);
	if (!fixed_ok && r->off)
		return usm__verify_err(env, -EACCES,
				       "dereference of modified %s ptr R%u off=%d disallowed",
				       t, regno, r->off);
	if (!usm__tnum_is_const(r->var_off) || r->var_off.value) {
		usm__tnum_sbin(tn, sizeof(tn), r->var_off);
		return usm__verify_err(env, -EACCES,
				       "variable %s access var_off=%s disallowed",
				       t, tn);
	}
	return 0;
}

static void ctx_record(struct venv *env, const struct vacc *a,
		       const struct usm_ctx_access *acc)
{
	struct vaux *aux;

	if (!a->insn)
		return;
	aux = &env->aux[env->insn_idx];
	aux->ctx_xoff = acc->xoff;
	aux->ctx_xsize = acc->xsize;
}

static int access_ctx(struct venv *env, const struct vacc *a)
{
	struct vreg *regs = vcur_regs(env);
	struct usm_ctx_access acc;
	const char *why = NULL;
	int err;

	if (a->write && a->value_regno >= 0 &&
	    usm__verify_is_leak(env, &regs[a->value_regno]))
		return usm__verify_err(env, -EACCES, "R%d leaks addr into ctx",
				       a->value_regno);
	if ((err = usm__verify_ptr_off_zero(env, a->regno, false)))
		return err;
	memset(&acc, 0, sizeof(acc));
	acc.ldsx = a->ldsx;
	acc.xoff = -1;
	if (env->pt->is_valid_access(a->off, a->size, a->write, &acc, &why))
		return usm__verify_err(env, -EACCES,
				       "invalid bpf_context access off=%d size=%d",
				       a->off, a->size);
	ctx_record(env, a, &acc);
	if (a->write || a->value_regno < 0)
		return 0;
	if (acc.reg_type == USM_SCALAR) {
		usm__reg_mark_unknown(&regs[a->value_regno]);
		return 0;
	}
	regs[a->value_regno].type = (uint8_t)acc.reg_type;
	usm__reg_mark_known_zero(&regs[a->value_regno]);
	regs[a->value_regno].mem_size = acc.mem_size;
	if (usm__reg_may_be_null((uint8_t)acc.reg_type))
		regs[a->value_regno].id = ++env->id_gen;
	return 0;
}

/* Direct packet writes: sk_skb and sk_msg only (may_access_direct_pkt_data). */
static bool pkt_writable(const struct venv *env)
{
	return env->pt->type == BPF_PROG_TYPE_SK_SKB ||
	       env->pt->type == BPF_PROG_TYPE_SK_MSG;
}

static int access_pkt(struct venv *env, const struct vacc *a)
{
	struct vreg *regs = vcur_regs(env);
	int err;

	if (a->write && !pkt_writable(env))
		return usm__verify_err(env, -EACCES, "cannot write into packet");
	if (a->write && a->value_regno >= 0 &&
	    usm__verify_is_leak(env, &regs[a->value_regno]))
		return usm__verify_err(env, -EACCES,
				       "R%d leaks addr into packet",
				       a->value_regno);
	err = usm__verify_pkt_access(env, a->regno, a->off, a->size, false);
	if (!err && !a->write && a->value_regno >= 0)
		usm__reg_mark_unknown(&regs[a->value_regno]);
	return err;
}

static int access_sock(struct venv *env, const struct vreg *r,
		       const struct vacc *a)
{
	struct vreg *regs = vcur_regs(env);
	const char *why = NULL;
	int bad;

	if (a->write)
		return usm__verify_err(env, -EACCES, "R%u cannot write into %s",
				       a->regno, usm__verify_type_name(r->type));
	if (r->smin < 0)
		return usm__verify_err(env, -EACCES,
				       "R%u min value is negative, either use unsigned index or do a if (index >=0) check.",
				       a->regno);
	if (r->type == USM_PTR_TO_SOCKET)
		bad = usm__bpf_sock_is_valid_access(a->off, a->size, false, &why);
	else
		bad = usm__bpf_sock_common_is_valid_access(a->off, a->size,
							   false, &why);
	if (bad)
		return usm__verify_err(env, -EACCES,
				       "R%u invalid %s access off=%d size=%d",
				       a->regno, usm__verify_type_name(r->type),
				       a->off, a->size);
	if (a->value_regno >= 0)
		usm__reg_mark_unknown(&regs[a->value_regno]);
	return 0;
}

/* ---- alignment ---- */

static const char *align_desc(uint8_t type)
{
	switch (type) {
	case USM_PTR_TO_MAP_VALUE: return "value ";
	case USM_PTR_TO_MAP_KEY: return "key ";
	case USM_PTR_TO_CTX: return "context ";
	case USM_PTR_TO_STACK: return "stack ";
	case USM_PTR_TO_SOCKET: return "sock ";
	case USM_PTR_TO_SOCK_COMMON: return "sock_common ";
	default: return "";
	}
}

/* Only stack accesses (always) and atomics (@strict) must be aligned on
 * this architecture (check_ptr_alignment without F_STRICT_ALIGNMENT). */
static int check_align(struct venv *env, const struct vreg *r, int off,
		       int size, bool strict)
{
	struct vtnum t;
	char tn[48];

	if (r->type == USM_PTR_TO_STACK)
		strict = true;
	if (!strict || size == 1)
		return 0;
	t = usm__tnum_add(r->var_off,
			  usm__tnum_const((uint64_t)(int64_t)(r->off + off)));
	if (usm__tnum_is_aligned(t, (uint64_t)size))
		return 0;
	usm__tnum_sbin(tn, sizeof(tn), r->var_off);
	if (usm__reg_is_pkt(r))
		return usm__verify_err(env, -EACCES,
				       "misaligned packet access off %d+%s+%d+%d size %d",
				       0, tn, r->off, off, size);
	return usm__verify_err(env, -EACCES,
			       "misaligned %saccess off %s+%d+%d size %d",
			       align_desc(r->type), tn, r->off, off, size);
}

/* ---- dispatcher ---- */

static int mem_access(struct venv *env, const struct vacc *in, bool strict)
{
	struct vreg *regs = vcur_regs(env);
	struct vreg r = regs[in->regno];
	struct vacc a = *in;
	int err = check_align(env, &r, a.off, a.size, strict);

	if (err)
		return err;
	a.off += r.off;
	switch (r.type) {
	case USM_PTR_TO_MAP_VALUE:
		err = access_map_value(env, &r, &a);
		break;
	case USM_PTR_TO_MEM:
		err = access_mem(env, &r, &a);
		break;
	case USM_PTR_TO_CTX:
		err = access_ctx(env, &a);
		break;
	case USM_PTR_TO_STACK:
		err = usm__verify_stack_access(env, &r, a.regno, a.off, a.size,
					       a.write, a.value_regno, a.insn);
		break;
	case USM_PTR_TO_PACKET:
	case USM_PTR_TO_PACKET_META:
		err = access_pkt(env, &a);
		break;
	case USM_PTR_TO_SOCKET:
	case USM_PTR_TO_SOCK_COMMON:
		err = access_sock(env, &r, &a);
		break;
	default:
		return usm__verify_err(env, -EACCES,
				       "R%u invalid mem access '%s'", a.regno,
				       usm__verify_type_name(r.type));
	}
	if (err || a.write || a.value_regno < 0 || a.size >= 8 ||
	    regs[a.value_regno].type != USM_SCALAR)
		return err;
	if (a.ldsx)
		usm__reg_coerce_size_sx(&regs[a.value_regno], a.size);
	else
		usm__reg_coerce_size(&regs[a.value_regno], a.size);
	return 0;
}

/* ctx and socket pointers may not meet other pointer types at the same
 * instruction (save_aux_ptr_type). */
static bool mismatch_ok(uint8_t t)
{
	return t != USM_PTR_TO_CTX && t != USM_PTR_TO_SOCKET &&
	       t != USM_PTR_TO_SOCK_COMMON;
}

static int save_ptr_type(struct venv *env, uint8_t type)
{
	struct vaux *aux = &env->aux[env->insn_idx];

	if (!aux->ptr_kind) {
		aux->ptr_kind = type == USM_PTR_TO_CTX ? 1 : 2;
		aux->ptr_type = type;
		return 0;
	}
	if (aux->ptr_type != type &&
	    (!mismatch_ok(type) || !mismatch_ok(aux->ptr_type)))
		return usm__verify_err(env, -EINVAL,
				       "same insn cannot be used with different pointers");
	return 0;
}

static int do_ldx(struct venv *env, const struct bpf_insn *i)
{
	struct vacc a = {
		.regno = i->src_reg, .off = i->off,
		.size = (int)usm_insn_size_bytes(i->code), .write = false,
		.value_regno = i->dst_reg,
		.ldsx = BPF_MODE(i->code) == USM_BPF_MEMSX, .insn = i,
	};
	uint8_t t;
	int err;

	if ((err = usm__verify_check_reg(env, i->src_reg, false)) ||
	    (err = usm__verify_check_reg(env, i->dst_reg, true)))
		return err;
	t = vcur_regs(env)[i->src_reg].type;
	if ((err = mem_access(env, &a, false)))
		return err;
	return save_ptr_type(env, t);
}

static int do_st(struct venv *env, const struct bpf_insn *i, bool stx)
{
	struct vacc a = {
		.regno = i->dst_reg, .off = i->off,
		.size = (int)usm_insn_size_bytes(i->code), .write = true,
		.value_regno = stx ? i->src_reg : -1, .insn = i,
	};
	uint8_t t;
	int err;

	if (stx ? i->imm != 0 : i->src_reg != 0)
		return usm__verify_err(env, -EINVAL, "BPF_%s uses reserved fields",
				       stx ? "STX" : "ST");
	if ((stx && (err = usm__verify_check_reg(env, i->src_reg, false))) ||
	    (err = usm__verify_check_reg(env, i->dst_reg, false)))
		return err;
	t = vcur_regs(env)[i->dst_reg].type;
	if ((err = mem_access(env, &a, false)))
		return err;
	return save_ptr_type(env, t);
}

int usm__verify_ldst(struct venv *env, const struct bpf_insn *i)
{
	switch (BPF_CLASS(i->code)) {
	case BPF_LDX:
		return do_ldx(env, i);
	case BPF_ST:
		return do_st(env, i, false);
	default:
		return do_st(env, i, true);
	}
}

/* Atomics: read and write the same aligned location; no ctx, packet or
 * socket memory; neither operand may leak a pointer (check_atomic). */
static int atomic_regs(struct venv *env, const struct bpf_insn *i)
{
	struct vreg *regs = vcur_regs(env);
	uint8_t dt;
	int err;

	if ((err = usm__verify_check_reg(env, i->src_reg, false)) ||
	    (err = usm__verify_check_reg(env, i->dst_reg, false)))
		return err;
	if (i->imm == BPF_CMPXCHG) {
		if ((err = usm__verify_check_reg(env, 0, false)))
			return err;
		if (usm__verify_is_leak(env, &regs[0]))
			return usm__verify_err(env, -EACCES,
					       "R0 leaks addr into mem");
	}
	if (usm__verify_is_leak(env, &regs[i->src_reg]))
		return usm__verify_err(env, -EACCES, "R%d leaks addr into mem",
				       i->src_reg);
	dt = regs[i->dst_reg].type;
	if (dt == USM_PTR_TO_CTX || usm__reg_is_pkt(&regs[i->dst_reg]) ||
	    dt == USM_PTR_TO_SOCKET || dt == USM_PTR_TO_SOCK_COMMON)
		return usm__verify_err(env, -EACCES,
				       "BPF_ATOMIC stores into R%d %s is not allowed",
				       i->dst_reg, usm__verify_type_name(dt));
	return 0;
}

int usm__verify_atomic(struct venv *env, const struct bpf_insn *i)
{
	struct vacc a = {
		.regno = i->dst_reg, .off = i->off,
		.size = (int)usm_insn_size_bytes(i->code), .write = false,
		.value_regno = -1, .insn = i,
	};
	int load_reg = -1, err;

	if (!usm__atomic_name(i->imm))
		return usm__verify_err(env, -EINVAL,
				       "BPF_ATOMIC uses invalid atomic opcode %02x",
				       i->imm);
	if ((err = atomic_regs(env, i)))
		return err;
	if (i->imm & BPF_FETCH) {
		load_reg = i->imm == BPF_CMPXCHG ? 0 : i->src_reg;
		if ((err = usm__verify_check_reg(env, (uint32_t)load_reg, true)))
			return err;
		usm__reg_mark_unknown(&vcur_regs(env)[load_reg]);
	}
	if ((err = mem_access(env, &a, true)))
		return err;
	if (load_reg >= 0) {
		a.value_regno = load_reg;
		if ((err = mem_access(env, &a, true)))
			return err;
	}
	a.write = true;
	a.value_regno = -1;
	return mem_access(env, &a, true);
}

/* ---- helper memory arguments ---- */

static int stack_expected(struct venv *env, uint32_t regno, const struct vreg *r)
{
	return usm__verify_err(env, -EACCES, "R%u type=%s expected=%s", regno,
			       usm__verify_type_name(r->type),
			       usm__verify_type_name(USM_PTR_TO_STACK));
}

int usm__verify_helper_mem(struct venv *env, uint32_t regno, uint64_t size,
			   bool write, bool zero_ok, bool raw)
{
	const struct vreg *r = &vcur_regs(env)[regno];
	struct vacc a = { .regno = regno, .off = r->off, .size = (int)size,
			  .write = write, .value_regno = -1 };

	switch (r->type) {
	case USM_PTR_TO_PACKET:
	case USM_PTR_TO_PACKET_META:
		return usm__verify_pkt_access(env, regno, r->off, (int)size,
					      zero_ok);
	case USM_PTR_TO_MAP_VALUE: {
		int err = map_access_type(env, r, &a);

		return err ? err : usm__verify_map_region(env, regno, r->off,
							  (int)size, zero_ok,
							  r->map->value_size);
	}
	case USM_PTR_TO_MEM:
		return usm__verify_map_region(env, regno, r->off, (int)size,
					      zero_ok, r->mem_size);
	case USM_PTR_TO_STACK:
		return usm__verify_helper_stack(env, regno, r->off, (int)size,
						zero_ok, raw);
	default:
		if (zero_ok && size == 0 && usm__reg_is_null(r))
			return 0;
		return stack_expected(env, regno, r);
	}
}

/* The helper wrote @size bytes at register @regno (raw/uninit mode): as
 * the kernel, simulate byte stores. */
int usm__verify_helper_wrote(struct venv *env, uint32_t regno, int size)
{
	int i, err;

	for (i = 0; i < size; i++) {
		struct vacc a = { .regno = regno, .off = i, .size = 1,
				  .write = true, .value_regno = -1 };

		if ((err = mem_access(env, &a, false)))
			return err;
	}
	return 0;
}

int usm__verify_mem_size(struct venv *env, uint32_t regno, bool zero_ok,
			 bool write, bool raw)
{
	const struct vreg *r = &vcur_regs(env)[regno];

	if (!usm__tnum_is_const(r->var_off))
		raw = false;
	if (r->smin < 0)
		return usm__verify_err(env, -EACCES,
				       "R%u min value is negative, either use unsigned or 'var &= const'",
				       regno);
	if (r->umin == 0 && !zero_ok)
		return usm__verify_err(env, -EACCES,
				       "R%u invalid zero-sized read: u64=[%lld,%lld]",
				       regno, (long long)r->umin,
				       (long long)r->umax);
	if (r->umax >= VMAX_VAR_SIZ)
		return usm__verify_err(env, -EACCES,
				       "R%u unbounded memory access, use 'var &= const' or 'if (var < const)'",
				       regno);
	return usm__verify_helper_mem(env, regno - 1, r->umax, write, zero_ok,
				      raw);
}
