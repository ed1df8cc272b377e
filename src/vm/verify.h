/* SPDX-License-Identifier: MIT */
/*
 * The verifier's internal interface, shared by src/vm/verify*.c only.
 *
 * The verifier follows the kernel's (kernel/bpf/verifier.c, Linux 6.12):
 * structural checks and a CFG walk first (verify_cfg.c), then a depth-first
 * walk of every path (verify.c) that tracks, per register and per 8-byte
 * stack slot, what the value is (struct vreg: type, fixed offset, known bits
 * and signed/unsigned 64/32-bit ranges), checks each memory access
 * (verify_mem.c), ALU op (verify_alu.c, verify_bounds.c, verify_tnum.c),
 * branch (verify_jmp.c) and call (verify_call.c), and prunes paths whose
 * state is covered by one already proven safe (verify_state.c).
 *
 * Privilege model: the kernel's checks depend on the loader's capabilities.
 * env->priv (the default, prog->no_perfmon false) is a root loader
 * (CAP_SYS_ADMIN or CAP_PERFMON: pointer leaks, uninitialised stack reads
 * and unmasked pointer arithmetic allowed); !env->priv is CAP_BPF +
 * CAP_NET_ADMIN only, the least privilege that loads these program types.
 *
 * Ownership: struct venv owns every state it allocates; all of them are
 * freed by usm__verify_free_all(). Nothing here is thread-shared.
 */
#ifndef USM_VM_VERIFY_H
#define USM_VM_VERIFY_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/log.h"
#include "../helpers/helpers.h"
#include "../progtype/progtype.h"
#include "regtype.h"
#include "vm.h"

#define VMAX_PACKET_OFF   0xffff       /* MAX_PACKET_OFF */
#define VMAX_VAR_OFF      (1ll << 29)  /* BPF_MAX_VAR_OFF */
#define VMAX_VAR_SIZ      (1ull << 29) /* BPF_MAX_VAR_SIZ */
#define VMAX_JMP_SEQ      8192u        /* BPF_COMPLEXITY_LIMIT_JMP_SEQ */
#define VMAX_STATES_INSN  64u          /* explored states kept per insn */
#define VSLOTS            (USM_STACK_SIZE / 8u)
#define VIDMAP_SIZE       ((USM_NR_REGS + VSLOTS) * USM_MAX_CALL_FRAMES)

/* Packet pointer ranges proven beyond/at pkt_end (mark_pkt_end). */
#define VRANGE_AT_END     (-1)
#define VRANGE_BEYOND_END (-2)

/* Known bits: a bit is known iff its mask bit is 0, then value holds it. */
struct vtnum {
	uint64_t value;
	uint64_t mask;
};

/*
 * One register (or spilled register) as the verifier knows it. Scalars use
 * var_off and the ranges for their value; pointers for their variable
 * offset (off is the fixed part). Always fully initialised (memset) so
 * states compare with memcmp where the kernel does.
 */
struct vreg {
	struct vtnum var_off;
	int64_t smin, smax;
	uint64_t umin, umax;
	int32_t s32_min, s32_max;
	uint32_t u32_min, u32_max;
	struct usm_map *map;  /* map_ptr, map_value(_or_null) */
	int32_t off;          /* pointers: fixed offset */
	int32_t range;        /* pkt: bytes proven from the base (or VRANGE_*) */
	uint32_t mem_size;    /* mem(_or_null) */
	uint32_t id;          /* null-check / pkt / linked-scalar identity */
	uint32_t ref_obj_id;  /* acquired reference (socket) */
	uint8_t type;         /* enum usm_reg_type */
	uint8_t frameno;      /* stack pointers: frame they point into */
	uint8_t precise;      /* scalars: the exact range matters later */
	uint8_t pad;
};

/* Stack byte kinds (the kernel's STACK_INVALID/MISC/ZERO/SPILL). */
enum {
	VS_INVALID = 0,
	VS_MISC,
	VS_ZERO,
	VS_SPILL,
};

/* 8 bytes of stack; type[b] is byte (address & 7) == b. A spill of n bytes
 * at an 8-aligned address marks type[0..n-1] VS_SPILL and keeps the
 * register in spilled. */
struct vslot {
	struct vreg spilled;
	uint8_t type[8];
};

struct vframe {
	struct vreg regs[USM_NR_REGS];
	uint32_t callsite; /* index of the call that made this frame */
	uint32_t subprog;
	uint32_t frameno;
	uint32_t nslots;   /* allocated stack, 8-byte slots */
	struct vslot *stack;
};

struct vref {
	uint32_t id;
	uint32_t insn;
};

/* One instruction walked, for precision backtracking. */
#define VH_STACK  0x1u /* a register was spilled to / filled from the stack */
#define VH_LINKED 0x2u /* conditional jump on a linked scalar */
struct vhist {
	uint32_t idx;
	uint8_t flags;
	uint8_t sframe;  /* VH_STACK: frame of the stack slot */
	uint8_t spi;     /* VH_STACK: slot index */
	uint8_t frame;   /* frame the instruction ran in */
};

/* A verifier state: the frames of the current call chain, acquired
 * references, and (for explored states) bookkeeping of the DFS. */
struct vstate {
	struct vframe *frame[USM_MAX_CALL_FRAMES];
	uint32_t curframe;
	uint32_t nrefs, refcap;
	struct vref *refs;
	struct vhist *hist;    /* instructions walked since parent */
	uint32_t nhist, histcap;
	struct vstate *parent; /* last explored state on this path */
	uint32_t branches;     /* paths still being explored below this */
	uint32_t insn_idx;
	bool chain_only;       /* checkpoint for backtracking, never compared */
};

/* Per-instruction facts. */
struct vaux {
	uint32_t subprog;     /* subprogram containing the insn */
	uint16_t live_in;     /* registers live before the insn (bit n = rn) */
	bool prune_point;
	bool seen;            /* reached by the walk */
	uint8_t ptr_kind;     /* memory insns: 0 unseen, 1 ctx, 2 other */
	uint8_t ptr_type;     /* pointer type first seen there */
	uint8_t ctx_xsize;    /* ctx load rewrite */
	int32_t ctx_xoff;     /* -1: no rewrite */
	uint8_t alu_state;    /* Spectre v1 masking state (!priv) */
	uint32_t alu_limit;
	const struct usm_helper *helper;
};

struct vsubprog {
	uint32_t start;
	uint32_t end;         /* one past the last insn */
	uint32_t stack_depth; /* bytes, deepest access */
	bool has_tail_call;
};

/* Explored state list node (one list per prune point). */
struct vsl {
	struct vsl *next;
	struct vsl *prev;      /* chain-only states: env->chain list */
	struct vstate st;
	uint32_t hit, miss;
};

/* Pending branch of the DFS. */
struct velem {
	struct velem *next;
	struct vstate st;
	uint32_t insn, prev_insn;
};

struct vidpair {
	uint32_t old, cur;
};

struct venv {
	struct usm_prog *prog;
	const struct usm_prog_type *pt;
	struct usm_log *log;
	const struct bpf_insn *insns;
	uint32_t len;
	struct vaux *aux;
	struct vsubprog *sub;
	uint32_t nsub;

	struct vstate *cur;
	struct velem *head;
	uint32_t stack_size;
	struct vsl **explored; /* len entries */
	struct vsl *chain;     /* chain-only checkpoints */
	size_t state_bytes;    /* memory held by explored states */
	uint64_t bt_steps;     /* precision backtracking work so far */

	uint32_t insn_idx, prev_insn_idx;
	uint32_t insn_processed;
	uint32_t jmps_processed, prev_jmps, prev_insns;
	uint32_t id_gen;
	uint32_t total_states, peak_states, cur_states, max_states_insn;

	bool priv;              /* root loader (see file comment) */
	bool insn_logged;       /* failing insn already printed */
	bool explore_alu_limits; /* !priv masked pointer arithmetic: scalars
				    must match exactly for pruning */
	struct vhist pend;      /* the instruction being walked */

	struct vidpair idmap[VIDMAP_SIZE];
	uint32_t idmap_cnt;
	uint32_t tmp_id_gen;
};

/* ---- verify.c: driver, logging ---- */
/* The complexity limit (instructions walked). USM_MAX_INSNS, as the
 * kernel's BPF_COMPLEXITY_LIMIT_INSNS; only the fuzzer lowers it, to keep
 * each input fast under the sanitizers. */
extern uint32_t usm__verify_insn_limit;
/* Log the current instruction (once) and a reason; returns @err. */
int usm__verify_err(struct venv *env, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Log a line that names no instruction (structural checks). */
int usm__verify_err_plain(struct venv *env, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Names for messages: "map_value_or_null", "bpf_map_lookup_elem". */
const char *usm__verify_type_name(uint8_t type);
const char *usm__verify_helper_name(uint32_t id);
/* A source register must be initialised; r10 is never a destination
 * ("R%d !read_ok", "frame pointer is read only"). */
int usm__verify_check_reg(struct venv *env, uint32_t regno, bool write);

/* ---- verify_tnum.c ---- */
struct vtnum usm__tnum_const(uint64_t v);
struct vtnum usm__tnum_unknown(void);
struct vtnum usm__tnum_range(uint64_t min, uint64_t max);
struct vtnum usm__tnum_add(struct vtnum a, struct vtnum b);
struct vtnum usm__tnum_sub(struct vtnum a, struct vtnum b);
struct vtnum usm__tnum_and(struct vtnum a, struct vtnum b);
struct vtnum usm__tnum_or(struct vtnum a, struct vtnum b);
struct vtnum usm__tnum_xor(struct vtnum a, struct vtnum b);
struct vtnum usm__tnum_mul(struct vtnum a, struct vtnum b);
struct vtnum usm__tnum_lshift(struct vtnum a, uint8_t s);
struct vtnum usm__tnum_rshift(struct vtnum a, uint8_t s);
struct vtnum usm__tnum_arshift(struct vtnum a, uint8_t s, uint8_t bits);
struct vtnum usm__tnum_intersect(struct vtnum a, struct vtnum b);
struct vtnum usm__tnum_cast(struct vtnum a, uint8_t size);
struct vtnum usm__tnum_subreg(struct vtnum a);
struct vtnum usm__tnum_clear_subreg(struct vtnum a);
struct vtnum usm__tnum_with_subreg(struct vtnum reg, struct vtnum sub);
bool usm__tnum_is_const(struct vtnum a);
bool usm__tnum_equals_const(struct vtnum a, uint64_t v);
bool usm__tnum_is_aligned(struct vtnum a, uint64_t size);
bool usm__tnum_in(struct vtnum a, struct vtnum b);
int usm__tnum_sbin(char *buf, size_t n, struct vtnum a);

/* ---- verify_bounds.c: scalar range bookkeeping ----
 * mark_*: set a register to not-init / unknown scalar / a constant;
 * bounds_sync: make the five views consistent; coerce_*: truncate or
 * sign-extend to a width; zext_32_to_64: the result of a 32-bit op. */
void usm__reg_mark_not_init(struct vreg *r);
void usm__reg_mark_unknown(struct vreg *r);
void usm__reg_mark_known(struct vreg *r, uint64_t v);
void usm__reg_mark_known_zero(struct vreg *r);
void usm__reg_mark_unbounded(struct vreg *r);
void usm__reg_mark32_unbounded(struct vreg *r);
void usm__reg_mark64_unbounded(struct vreg *r);
void usm__reg_bounds_sync(struct vreg *r);
void usm__reg_update_bounds(struct vreg *r);
void usm__reg_coerce_size(struct vreg *r, int size);
void usm__reg_coerce_size_sx(struct vreg *r, int size);
void usm__reg_coerce_subreg_sx(struct vreg *r, int size);
void usm__reg_zext_32_to_64(struct vreg *r);
void usm__reg_assign_32_into_64(struct vreg *r);
bool usm__reg_is_null(const struct vreg *r);
bool usm__reg_bounds_sane(const struct vreg *r);
bool usm__reg_is_pointer(const struct vreg *r);
bool usm__reg_is_pkt(const struct vreg *r);
bool usm__reg_may_be_null(uint8_t type);
/* Value range width in bits as the kernel's get_reg_width. */
int usm__reg_width(const struct vreg *r);

/* ---- verify_scalar.c ---- */
/* d = d op s on scalars (BPF_ADD... BPF_ARSH), all five views. */
void usm__verify_scalar_op(struct vreg *d, const struct vreg *s, uint8_t op,
			   bool alu32);

/* ---- verify_alu.c ---- */
/* One ALU/ALU64 instruction, pointer arithmetic included. */
int usm__verify_alu(struct venv *env, const struct bpf_insn *insn);
/* The kernel's is_pointer_value: a pointer the loader may not see. */
bool usm__verify_is_leak(const struct venv *env, const struct vreg *r);

/* ---- verify_jmp.c ---- */
/* Conditional jump at insn_idx; sets *next for the path that continues. */
int usm__verify_cond_jmp(struct venv *env, const struct bpf_insn *insn,
			 uint32_t *next);
/* Known outcome of a comparison: 1 taken, 0 not taken, -1 unknown. */
int usm__verify_branch_taken(struct vreg *a, struct vreg *b, uint8_t op,
			     bool is32);

/* ---- verify_mem.c ---- */
/* LDX/LDXSX, ST and STX (BPF_MEM) instructions. */
int usm__verify_ldst(struct venv *env, const struct bpf_insn *insn);
/* STX BPF_ATOMIC instructions. */
int usm__verify_atomic(struct venv *env, const struct bpf_insn *insn);
/* Helper memory argument: @size bytes at register @regno (@raw: the helper
 * only writes them). */
int usm__verify_helper_mem(struct venv *env, uint32_t regno, uint64_t size,
			   bool write, bool zero_ok, bool raw);
/* The helper wrote @size bytes at register @regno (raw mode). */
int usm__verify_helper_wrote(struct venv *env, uint32_t regno, int size);
/* Size register of a mem/size pair (the memory is in regno - 1). */
int usm__verify_mem_size(struct venv *env, uint32_t regno, bool zero_ok,
			 bool write, bool raw);
/* Pointer must be unmodified (no fixed/variable offset; @fixed_ok allows a
 * fixed one). */
int usm__verify_ptr_off_zero(struct venv *env, uint32_t regno,
			     bool fixed_ok);
/* [off, off+size) inside [0, mem_size) for every value of the register's
 * variable offset (map values, mem). */
int usm__verify_map_region(struct venv *env, uint32_t regno, int off,
			   int size, bool zero_ok, uint32_t mem_size);
/* [off, off+size) inside the range proven for the packet pointer. */
int usm__verify_pkt_access(struct venv *env, uint32_t regno, int off,
			   int size, bool zero_ok);

/* ---- verify_stack.c ---- */
/* The frame a stack pointer points into. */
struct vframe *usm__verify_frame_of(struct venv *env, const struct vreg *r);
/* Allocate @f's slots down to byte offset @off (negative); -ENOMEM. */
int usm__verify_grow_stack(struct venv *env, struct vframe *f, int off);
/* Record that @f's subprogram uses the stack down to @off. */
void usm__verify_update_depth(struct venv *env, struct vframe *f, int off);
/* Load/store through stack pointer @r (a copy of register @regno); @off
 * includes r->off. */
int usm__verify_stack_access(struct venv *env, const struct vreg *r,
			     uint32_t regno, int off, int size, bool write,
			     int value_regno, const struct bpf_insn *insn);
/* Stack memory for a helper: in bounds and (unless @raw) initialised;
 * the helper may overwrite it. */
int usm__verify_helper_stack(struct venv *env, uint32_t regno, int off,
			     int size, bool zero_ok, bool raw);

/* ---- verify_call.c ---- */
/* Helper or bpf-to-bpf call; *next is where the walk continues. */
int usm__verify_call(struct venv *env, const struct bpf_insn *insn,
		     uint32_t *next);
/* BPF_EXIT: returns 1 when the path ended (main program exit). */
int usm__verify_exit(struct venv *env, uint32_t *next);

/* ---- verify_cfg.c ---- */
/* Subprograms, jumps inside them, opcodes, ld_imm64 forms. */
int usm__verify_structure(struct venv *env);
/* Reachability and prune points. */
int usm__verify_cfg(struct venv *env);
/* Registers live on entry to each instruction (aux->live_in). */
void usm__verify_liveness(struct venv *env);
/* Frames and combined stack along every call chain; deepest in bytes. */
int usm__verify_stack_depth(struct venv *env, uint32_t *deepest);
/* Index of the subprogram starting at @start. */
uint32_t usm__verify_find_subprog(const struct venv *env, uint32_t start);

/* ---- verify_prec.c: precision backtracking ---- */
/* Backtracking masks: registers and stack slots per frame whose exact
 * value matters. */
struct vbt {
	uint32_t frame;
	uint16_t regs[USM_MAX_CALL_FRAMES];
	uint64_t slots[USM_MAX_CALL_FRAMES];
};
/* The value of scalar @regno (current frame) matters: mark it and what it
 * came from precise in the explored states of this path. */
int usm__verify_mark_precise(struct venv *env, uint32_t regno);
/* The same for every register/slot set in @bt (frames of env->cur). */
int usm__verify_backtrack(struct venv *env, struct vbt *bt);
/* Forget inherited precise marks (before a checkpoint). */
void usm__verify_mark_imprecise(struct vstate *st);
/* Append a walked instruction to @st's history; -ENOMEM. */
int usm__verify_hist_add(struct vstate *st, const struct vhist *h);

/* ---- verify_state.c ---- */
struct vstate *usm__vstate_new(void);
void usm__vstate_free(struct vstate *st);
void usm__vstate_fini(struct vstate *st);
int usm__vstate_copy(struct vstate *dst, const struct vstate *src);
struct vframe *usm__vframe_new(void);
void usm__vframe_free(struct vframe *f);
/* Queue the current state as a pending branch continuing at @insn. */
struct vstate *usm__verify_push(struct venv *env, uint32_t insn,
				uint32_t prev_insn, int *err);
/* Continue with the next pending branch; -ENOENT when none is left. */
int usm__verify_pop(struct venv *env);
/* Path finished: decrement branch counts up the parent chain. */
void usm__verify_branch_done(struct venv *env, struct vstate *st);
/* At a prune point: 1 if the current path is covered, 0 to go on. */
int usm__verify_visited(struct venv *env, uint32_t insn);
/* Free every state the walk holds. */
void usm__verify_free_all(struct venv *env);
/* References (sockets) the current path holds: new id or -ENOMEM; remove
 * by id, -EINVAL if absent. */
int usm__vstate_acquire_ref(struct venv *env, uint32_t insn);
int usm__vstate_release_ref(struct venv *env, uint32_t id);

/* Iterate over every register and spilled register in every frame. */
typedef void (*vreg_fn)(struct venv *env, struct vreg *r, void *arg);
void usm__verify_for_each_reg(struct venv *env, struct vstate *st,
			      vreg_fn fn, void *arg);

static inline struct vframe *vcur_frame(const struct venv *env)
{
	return env->cur->frame[env->cur->curframe];
}

static inline struct vreg *vcur_regs(const struct venv *env)
{
	return vcur_frame(env)->regs;
}

#endif /* USM_VM_VERIFY_H */
