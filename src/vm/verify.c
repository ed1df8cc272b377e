/* SPDX-License-Identifier: MIT */
/*
 * The verifier's driver: usm__prog_verify() runs the structural checks and
 * the CFG walk (verify_cfg.c), then walks every path of the program from
 * the main entry with the state of r1 = ctx, r10 = frame pointer (the
 * kernel's do_check), dispatching each instruction to the ALU, memory,
 * branch and call checks, and finally builds the executable form: ld_imm64
 * operands resolved (usm__prog_fixup_ld_imm64), context loads rewritten
 * where the program type asks for it, helpers resolved per call site.
 *
 * On failure nothing in the program changes; the log holds the failing
 * instruction as "<idx>: (<code>) <disassembly>" and the reason in the
 * kernel's words. Log level 1 adds the kernel's "processed N insns" summary
 * on success; level 2 traces every instruction walked.
 */
#include "verify.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../maps/map.h"

const char *usm__verify_type_name(uint8_t type)
{
	return usm__reg_type_name((enum usm_reg_type)type);
}

const char *usm__verify_helper_name(uint32_t id)
{
	const char *n = usm__helper_name(id);

	return n ? n : "unknown";
}

uint32_t usm__verify_insn_limit = USM_MAX_INSNS;

/* Nothing more can reach the log (a full buffer and no callback). */
static bool log_full(const struct usm_log *l)
{
	return !l || (!l->cb && (!l->size || l->len + 1 >= l->size));
}

static void log_insn(struct venv *env, uint32_t idx)
{
	char buf[160];

	if (idx >= env->len || log_full(env->log))
		return;
	if (usm__insn_disasm(&env->insns[idx], env->len - idx, buf,
			     sizeof(buf)) < 0)
		snprintf(buf, sizeof(buf), "?");
	usm__log(env->log, "%u: (%02x) %s\n", idx, env->insns[idx].code, buf);
}

static void vreason(struct venv *env, const char *fmt, va_list ap)
{
	char line[512];

	vsnprintf(line, sizeof(line), fmt, ap);
	usm__log(env->log, "%s\n", line);
}

int usm__verify_err(struct venv *env, int err, const char *fmt, ...)
{
	va_list ap;

	if (!env->insn_logged) {
		log_insn(env, env->insn_idx);
		env->insn_logged = true;
	}
	va_start(ap, fmt);
	vreason(env, fmt, ap);
	va_end(ap);
	return err;
}

int usm__verify_err_plain(struct venv *env, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreason(env, fmt, ap);
	va_end(ap);
	return err;
}

/* The kernel's check_reg_arg: a source must be initialised, r10 is never
 * a destination. */
int usm__verify_check_reg(struct venv *env, uint32_t regno, bool write)
{
	if (regno >= USM_NR_REGS)
		return usm__verify_err(env, -EINVAL, "R%u is invalid", regno);
	if (!write) {
		if (vcur_regs(env)[regno].type == USM_NOT_INIT)
			return usm__verify_err(env, -EACCES, "R%u !read_ok",
					       regno);
		return 0;
	}
	if (regno == 10)
		return usm__verify_err(env, -EACCES,
				       "frame pointer is read only");
	return 0;
}

static int do_ld_imm64(struct venv *env, const struct bpf_insn *i)
{
	struct vreg *dst;
	struct usm_map *map;
	int err;

	if (i->off)
		return usm__verify_err(env, -EINVAL,
				       "BPF_LD_IMM64 uses reserved fields");
	if ((err = usm__verify_check_reg(env, i->dst_reg, true)))
		return err;
	dst = &vcur_regs(env)[i->dst_reg];
	if (i->src_reg == 0) {
		usm__reg_mark_known(dst, ((uint64_t)(uint32_t)i[1].imm << 32) |
						 (uint32_t)i->imm);
		return 0;
	}
	/* The structural pass admitted only the two map forms. */
	map = env->prog->maps[i->imm];
	usm__reg_mark_known(dst, 0);
	dst->map = map;
	if (i->src_reg == BPF_PSEUDO_MAP_IDX_VALUE) {
		dst->type = USM_PTR_TO_MAP_VALUE;
		dst->off = i[1].imm;
	} else {
		dst->type = USM_CONST_PTR_TO_MAP;
	}
	return 0;
}

static int do_ja(struct venv *env, const struct bpf_insn *i, uint32_t *next)
{
	bool j32 = BPF_CLASS(i->code) == BPF_JMP32;

	if (i->src_reg || i->dst_reg || (!j32 && i->imm) || (j32 && i->off))
		return usm__verify_err(env, -EINVAL,
				       "BPF_JA uses reserved fields");
	*next = env->insn_idx + 1 + (uint32_t)(j32 ? i->imm : i->off);
	return 0;
}

/* One instruction. *next is where the path continues; returns 1 when the
 * path ended at the main program's exit. */
static int do_insn(struct venv *env, const struct bpf_insn *i,
		   uint32_t *next)
{
	*next = env->insn_idx + 1;
	switch (usm__opinfo[i->code].kind) {
	case USM_K_ALU:
	case USM_K_END:
		return usm__verify_alu(env, i);
	case USM_K_LDX:
	case USM_K_LDXSX:
	case USM_K_ST:
	case USM_K_STX:
		return usm__verify_ldst(env, i);
	case USM_K_ATOMIC:
		return usm__verify_atomic(env, i);
	case USM_K_LDDW:
		*next = env->insn_idx + 2;
		return do_ld_imm64(env, i);
	case USM_K_JA:
		env->jmps_processed++;
		return do_ja(env, i, next);
	case USM_K_JMP:
		env->jmps_processed++;
		return usm__verify_cond_jmp(env, i, next);
	case USM_K_CALL:
		return usm__verify_call(env, i, next);
	case USM_K_EXIT:
		return usm__verify_exit(env, next);
	default:
		return usm__verify_err(env, -EINVAL, "unknown opcode %02x",
				       i->code);
	}
}

static int init_main_state(struct venv *env)
{
	struct vframe *f;
	uint32_t r;

	env->cur = usm__vstate_new();
	if (!env->cur)
		return -ENOMEM;
	f = usm__vframe_new();
	if (!f)
		return -ENOMEM;
	env->cur->frame[0] = f;
	env->cur->branches = 1;
	for (r = 0; r < USM_NR_REGS; r++)
		usm__reg_mark_not_init(&f->regs[r]);
	f->regs[1].type = USM_PTR_TO_CTX;
	usm__reg_mark_known_zero(&f->regs[1]);
	f->regs[10].type = USM_PTR_TO_STACK;
	usm__reg_mark_known_zero(&f->regs[10]);
	f->callsite = UINT32_MAX;
	return 0;
}

static int do_check(struct venv *env)
{
	uint32_t next;
	int err;

	if ((err = init_main_state(env)))
		return err;
	for (;;) {
		uint32_t idx = env->insn_idx;

		env->insn_logged = false;
		if (++env->insn_processed > usm__verify_insn_limit)
			return usm__verify_err_plain(
				env, -E2BIG,
				"BPF program is too large. Processed %u insn",
				env->insn_processed);
		if (env->aux[idx].prune_point) {
			err = usm__verify_visited(env, idx);
			if (err < 0)
				return err;
			if (err == 1)
				goto path_done;
		}
		if (env->log && env->log->level >= 2 && !log_full(env->log)) {
			log_insn(env, idx);
			env->insn_logged = true;
		}
		env->aux[idx].seen = true;
		env->pend = (struct vhist){ .idx = idx,
					    .frame = (uint8_t)env->cur->curframe };
		err = do_insn(env, &env->insns[idx], &next);
		if (err < 0)
			return err;
		if (err == 0) {
			if (usm__verify_hist_add(env->cur, &env->pend))
				return -ENOMEM;
			env->prev_insn_idx = idx;
			env->insn_idx = next;
			continue;
		}
path_done:
		usm__verify_branch_done(env, env->cur);
		err = usm__verify_pop(env);
		if (err == -ENOENT)
			return 0;
		if (err)
			return err;
	}
}

/* ---- output ---- */

static void rewrite_ctx_loads(const struct venv *env, struct bpf_insn *x)
{
	static const uint8_t size_code[9] = {
		[1] = BPF_B, [2] = BPF_H, [4] = BPF_W, [8] = BPF_DW,
	};
	uint32_t i;

	for (i = 0; i < env->len; i++) {
		const struct vaux *a = &env->aux[i];

		if (a->ptr_kind != 1 || a->ctx_xoff < 0 ||
		    BPF_CLASS(x[i].code) != BPF_LDX)
			continue;
		x[i].code = BPF_LDX | BPF_MEM | size_code[a->ctx_xsize];
		x[i].off = (int16_t)a->ctx_xoff;
	}
}

struct vout {
	struct bpf_insn *x;
	struct usm_subprog *subs;
	uint64_t mask[4];
	uint32_t depth;
};

static int build_output(struct venv *env, struct vout *o)
{
	uint32_t i;
	int err;

	o->x = malloc(sizeof(*o->x) * env->len);
	o->subs = calloc(env->nsub, sizeof(*o->subs));
	if (!o->x || !o->subs)
		return -ENOMEM;
	memcpy(o->x, env->insns, sizeof(*o->x) * env->len);
	err = usm__prog_fixup_ld_imm64(env->prog, o->x, env->log);
	if (err)
		return err;
	rewrite_ctx_loads(env, o->x);
	for (i = 0; i < env->nsub; i++) {
		o->subs[i].start = env->sub[i].start;
		o->subs[i].stack_depth = (env->sub[i].stack_depth + 7) & ~7u;
	}
	for (i = 0; i < env->len; i++) {
		const struct bpf_insn *in = &env->insns[i];

		if (in->code == (BPF_JMP | BPF_CALL) && in->src_reg == 0 &&
		    (uint32_t)in->imm < 256)
			o->mask[(uint32_t)in->imm / 64] |=
				1ull << ((uint32_t)in->imm % 64);
	}
	return 0;
}

/* Install the result; on failure of the last step undo it all. */
static int commit(struct venv *env, struct vout *o)
{
	struct usm_prog *p = env->prog;
	const struct usm_prog_type *old_pt = p->pt;
	int err;

	p->pt = env->pt;
	p->xinsns = o->x;
	p->subprogs = o->subs;
	p->subprog_cnt = env->nsub;
	err = usm__prog_resolve_helpers(p, env->log);
	if (err) {
		p->pt = old_pt;
		p->xinsns = NULL;
		p->subprogs = NULL;
		p->subprog_cnt = 0;
		return err;
	}
	o->x = NULL;
	o->subs = NULL;
	p->stack_depth = o->depth;
	p->verified_insns = env->insn_processed;
	memcpy(p->helper_mask, o->mask, sizeof(o->mask));
	p->verified = true;
	return 0;
}

static int env_init(struct venv *env, struct usm_prog *prog,
		    struct usm_log *log)
{
	uint32_t i;

	env->prog = prog;
	env->log = log;
	env->insns = prog->insns;
	env->len = prog->insn_cnt;
	env->priv = !prog->no_perfmon;
	env->aux = calloc(env->len, sizeof(*env->aux));
	env->explored = calloc(env->len, sizeof(*env->explored));
	if (!env->aux || !env->explored)
		return -ENOMEM;
	for (i = 0; i < env->len; i++)
		env->aux[i].ctx_xoff = -1;
	return 0;
}

static void env_fini(struct venv *env)
{
	usm__verify_free_all(env);
	free(env->aux);
	free(env->explored);
	free(env->sub);
}

static int verify_env(struct venv *env, struct vout *o)
{
	int err;

	if ((err = usm__verify_structure(env)) || (err = usm__verify_cfg(env)))
		return err;
	usm__verify_liveness(env);
	if ((err = do_check(env)))
		return err == -ENOMEM ? usm__verify_err_plain(
						env, err, "out of memory")
				      : err;
	if ((err = usm__verify_stack_depth(env, &o->depth)))
		return err;
	return build_output(env, o);
}

static int check_prog(struct usm_prog *prog, struct usm_log *log,
		      const struct usm_prog_type **pt)
{
	if (!prog)
		return -EINVAL;
	if (prog->verified || prog->xinsns || prog->subprogs) {
		usm__log(log, "program is already verified\n");
		return -EINVAL;
	}
	*pt = usm__prog_type_get(prog->type);
	if (!*pt) {
		usm__log(log, "program type %u is not supported\n", prog->type);
		return -EINVAL;
	}
	if (!prog->insns || prog->insn_cnt == 0 ||
	    prog->insn_cnt > USM_MAX_INSNS) {
		usm__log(log, "program has %u instructions (1..%u allowed)\n",
			 prog->insns ? prog->insn_cnt : 0, USM_MAX_INSNS);
		return -E2BIG;
	}
	return 0;
}

int usm__prog_verify(struct usm_prog *prog, struct usm_log *log)
{
	const struct usm_prog_type *pt;
	struct vout out;
	struct venv *env;
	int err = check_prog(prog, log, &pt);

	if (err)
		return err;
	env = calloc(1, sizeof(*env));
	if (!env)
		return -ENOMEM;
	memset(&out, 0, sizeof(out));
	env->pt = pt;
	err = env_init(env, prog, log);
	if (!err)
		err = verify_env(env, &out);
	if (!err)
		err = commit(env, &out);
	if (!err && log && log->level >= 1)
		usm__log(log,
			 "processed %u insns (limit %u) max_states_per_insn %u total_states %u peak_states %u mark_read 0\n",
			 env->insn_processed, USM_MAX_INSNS, env->max_states_insn,
			 env->total_states, env->peak_states);
	free(out.x);
	free(out.subs);
	env_fini(env);
	free(env);
	return err;
}
