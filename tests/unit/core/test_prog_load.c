/* SPDX-License-Identifier: MIT */
/*
 * BPF_PROG_LOAD through bpf(2): the checks before the verifier, the log
 * buffer rules (level/buffer consistency, truncation -> ENOSPC with
 * log_true_size) and ld_imm64 map operands in every form the kernel takes
 * (BPF_PSEUDO_MAP_FD, _MAP_VALUE, _MAP_IDX/_IDX_VALUE with fd_array).
 * Every scenario runs on usm_bpf() and on the kernel's bpf(2).
 */
#include "core_test.h"

/* A PROG_LOAD attribute block of the 6.12 size (log_true_size lives at
 * 140 whatever the installed header says). */
struct load {
	union {
		union bpf_attr a;
		uint8_t raw[152];
	};
};

static const struct bpf_insn RET1[] = { I_MOV64_IMM(0, 1), I_EXIT() };

static void load_init(struct load *l, uint32_t type, const struct bpf_insn *x,
		      uint32_t cnt)
{
	memset(l, 0, sizeof(*l));
	l->a.prog_type = type;
	l->a.insns = (uint64_t)(uintptr_t)x;
	l->a.insn_cnt = cnt;
	l->a.license = (uint64_t)(uintptr_t)"GPL";
}

static int load_do(const struct backend *b, struct load *l)
{
	return b->bpf(BPF_PROG_LOAD, &l->a, sizeof(l->raw));
}

static uint32_t true_size(const struct load *l)
{
	uint32_t v;

	memcpy(&v, l->raw + USM_ATTR_LOG_TRUE_SIZE_OFF, 4);
	return v;
}

/* Load, expect @exp (fd results as 0), close a result fd. */
static void load_expect(const struct backend *b, const char *what,
			struct load *l, int exp)
{
	int r = load_do(b, l);

	if (exp == 0) {
		EXPECT_FD(what, r);
		b_close(b, r);
	} else {
		EXPECT(what, r, exp);
	}
}

/* bpf_prog_load's checks, in order. */
static void sc_load_checks(const struct backend *b, const void *arg)
{
	struct load l;

	load_init(&l, BPF_PROG_TYPE_SK_SKB, RET1, 2);
	load_expect(b, "plain", &l, 0);
	l.a.insn_cnt = 0;
	load_expect(b, "no instructions", &l, -E2BIG);
	l.a.insn_cnt = 2;
	l.a.prog_flags = 1u << 20;
	load_expect(b, "unknown prog flag", &l, -EINVAL);
	l.a.prog_flags = 0;
	l.a.license = 0;
	load_expect(b, "NULL license", &l, -EFAULT);
	l.a.license = (uint64_t)(uintptr_t)"Proprietary";
	load_expect(b, "non-GPL license", &l, 0);
	l.a.insns = 0;
	load_expect(b, "NULL insns", &l, -EFAULT);
	l.a.insns = (uint64_t)(uintptr_t)RET1;
	l.a.prog_type = 1000;
	load_expect(b, "unknown program type", &l, -EINVAL);
	l.a.prog_type = BPF_PROG_TYPE_SK_SKB;
	strcpy(l.a.prog_name, "bad-name");
	load_expect(b, "bad name", &l, -EINVAL);
	strcpy(l.a.prog_name, "good_name.1");
	load_expect(b, "good name", &l, 0);
	l.a.attach_btf_id = 5;
	load_expect(b, "attach_btf_id", &l, -EINVAL);
	l.a.attach_btf_id = 0;
	l.a.prog_ifindex = 1;
	load_expect(b, "prog_ifindex", &l, -EINVAL);
	l.a.prog_ifindex = 0;
	load_init(&l, BPF_PROG_TYPE_SK_REUSEPORT, RET1, 2);
	load_expect(b, "reuseport, default attach type", &l, 0);
	l.a.expected_attach_type = BPF_SK_SKB_STREAM_VERDICT;
	load_expect(b, "reuseport, wrong attach type", &l, -EINVAL);
	load_init(&l, BPF_PROG_TYPE_SK_MSG, RET1, 2);
	l.a.expected_attach_type = BPF_SK_SKB_STREAM_VERDICT;
	load_expect(b, "sk_msg takes any attach type", &l, 0);
}

/* Verifier log rules (kernel/bpf/log.c). */
static void sc_load_log(const struct backend *b, const void *arg)
{
	static char big[65536];
	char small[8];
	struct load l;

	load_init(&l, BPF_PROG_TYPE_SK_SKB, RET1, 2);
	l.a.log_buf = (uint64_t)(uintptr_t)big;
	load_expect(b, "buffer without size", &l, -EINVAL);
	l.a.log_size = sizeof(big);
	load_expect(b, "buffer without level", &l, -EINVAL);
	l.a.log_level = 16;
	load_expect(b, "unknown level bit", &l, -EINVAL);
	l.a.log_buf = 0;
	l.a.log_size = 0;
	l.a.log_level = 1;
	load_expect(b, "level without buffer", &l, 0);
	l.a.log_buf = (uint64_t)(uintptr_t)big;
	l.a.log_size = sizeof(big);
	load_expect(b, "level 1, big buffer", &l, 0);
	EXPECT_TRUE("true size fits", true_size(&l) > 1 &&
					      true_size(&l) <= sizeof(big) &&
					      strlen(big) + 1 == true_size(&l));
	memset(small, 'x', sizeof(small));
	l.a.log_buf = (uint64_t)(uintptr_t)small;
	l.a.log_size = sizeof(small);
	load_expect(b, "level 1, 8 bytes", &l, -ENOSPC);
	EXPECT_TRUE("truncated, NUL-terminated, true size reported",
		    small[7] == '\0' && strlen(small) == 7 &&
			    true_size(&l) > sizeof(small));
	l.a.log_level = 1 | 8; /* BPF_LOG_FIXED */
	memset(small, 'x', sizeof(small));
	load_expect(b, "fixed, 8 bytes", &l, -ENOSPC);
	EXPECT_TRUE("fixed keeps the head", small[7] == '\0' &&
						    strlen(small) == 7);
	l.a.log_size = 0x40000000u; /* > UINT_MAX >> 2 */
	load_expect(b, "log_size too large", &l, -EINVAL);
}

/* One map operand program: r1 = <ld_imm64 src imm next>; r0 = 1; exit. */
static int load_ldimm(const struct backend *b, uint8_t src, int32_t imm,
		      int32_t next, const int *fd_array)
{
	struct bpf_insn x[] = { I_LD_IMM64(1, src, imm, next),
				I_MOV64_IMM(0, 1), I_EXIT() };
	struct load l;

	load_init(&l, BPF_PROG_TYPE_SK_SKB, x, 4);
	l.a.fd_array = (uint64_t)(uintptr_t)fd_array;
	return load_do(b, &l);
}

static void ldimm_expect(const struct backend *b, const char *what, int r,
			 int exp)
{
	if (exp == 0) {
		EXPECT_FD(what, r);
		b_close(b, r);
	} else {
		EXPECT(what, r, exp);
	}
}

#ifndef BPF_PSEUDO_MAP_IDX
#define BPF_PSEUDO_MAP_IDX 5
#endif
#ifndef BPF_PSEUDO_MAP_IDX_VALUE
#define BPF_PSEUDO_MAP_IDX_VALUE 6
#endif

/* resolve_pseudo_ldimm64. */
static void sc_load_ldimm(const struct backend *b, const void *arg)
{
	int sm = EXPECT_FD("sockmap", b_smap(b, BPF_MAP_TYPE_SOCKMAP));
	/* direct value access needs a one-element array */
	int arr = EXPECT_FD("array", b_map(b, BPF_MAP_TYPE_ARRAY, 4, 8, 1));
	int arr4 = EXPECT_FD("array of 4", b_map(b, BPF_MAP_TYPE_ARRAY, 4, 8, 4));
	int gone = EXPECT_FD("map to close", b_smap(b, BPF_MAP_TYPE_SOCKMAP));
	int fds[2] = { arr, sm }, p[2], r;
	struct bpf_insn last[] = { I_MOV64_IMM(0, 1), I_EXIT(),
				   I_LD_IMM64(1, 0, 0, 0) };
	struct bpf_insn twice[] = { I_LD_IMM64(1, BPF_PSEUDO_MAP_FD, sm, 0),
				    I_LD_IMM64(2, BPF_PSEUDO_MAP_FD, sm, 0),
				    I_MOV64_IMM(0, 1), I_EXIT() };
	struct bpf_prog_info pi;
	uint32_t len = sizeof(pi), mid;
	struct load l;

	if (pipe(p))
		fail_msg("pipe");
	b_close(b, gone); /* after the pipe, so that it keeps its number free */
	ldimm_expect(b, "map fd", load_ldimm(b, BPF_PSEUDO_MAP_FD, sm, 0, NULL),
		     0);
	ldimm_expect(b, "closed map fd",
		     load_ldimm(b, BPF_PSEUDO_MAP_FD, gone, 0, NULL), -EBADF);
	ldimm_expect(b, "pipe as map",
		     load_ldimm(b, BPF_PSEUDO_MAP_FD, p[0], 0, NULL), -EINVAL);
	ldimm_expect(b, "map fd with next imm",
		     load_ldimm(b, BPF_PSEUDO_MAP_FD, sm, 4, NULL), -EINVAL);
	ldimm_expect(b, "unknown pseudo src",
		     load_ldimm(b, 9, sm, 0, NULL), -EINVAL);
	ldimm_expect(b, "idx without fd_array",
		     load_ldimm(b, BPF_PSEUDO_MAP_IDX, 0, 0, NULL), -EPROTO);
	ldimm_expect(b, "idx with fd_array",
		     load_ldimm(b, BPF_PSEUDO_MAP_IDX, 1, 0, fds), 0);
	ldimm_expect(b, "map value of an array",
		     load_ldimm(b, BPF_PSEUDO_MAP_VALUE, arr, 0, NULL), 0);
	ldimm_expect(b, "idx value with fd_array",
		     load_ldimm(b, BPF_PSEUDO_MAP_IDX_VALUE, 0, 4, fds), 0);
	ldimm_expect(b, "value offset past the value",
		     load_ldimm(b, BPF_PSEUDO_MAP_VALUE, arr, 8, NULL), -EINVAL);
	ldimm_expect(b, "map value of a 4-element array",
		     load_ldimm(b, BPF_PSEUDO_MAP_VALUE, arr4, 0, NULL),
		     -USM_ENOTSUPP);
	ldimm_expect(b, "map value of a sockmap",
		     load_ldimm(b, BPF_PSEUDO_MAP_VALUE, sm, 0, NULL), -EINVAL);
	ldimm_expect(b, "value offset too far",
		     load_ldimm(b, BPF_PSEUDO_MAP_VALUE, arr, 1 << 29, NULL),
		     -EINVAL);
	load_init(&l, BPF_PROG_TYPE_SK_SKB, last, 4);
	ldimm_expect(b, "ld_imm64 cut in half", b->bpf(BPF_PROG_LOAD, &l.a, 152),
		     -EINVAL);
	load_init(&l, BPF_PROG_TYPE_SK_SKB, twice, 6);
	r = EXPECT_FD("same map twice", load_do(b, &l));
	memset(&pi, 0, sizeof(pi));
	pi.nr_map_ids = 1;
	pi.map_ids = (uint64_t)(uintptr_t)&mid;
	EXPECT("info", b_info(b, r, &pi, &len), 0);
	EXPECT_TRUE("one used map", pi.nr_map_ids == 1 && mid == b_id(b, sm));
	b_close(b, r);
	close(p[0]);
	close(p[1]);
	b_close(b, sm);
	b_close(b, arr);
	b_close(b, arr4);
}

#define T_BOTH(fn)                                                             \
	static void t_##fn(void **state)                                       \
	{                                                                      \
		run_both(fn, *state);                                          \
	}
T_BOTH(sc_load_checks)
T_BOTH(sc_load_log)
T_BOTH(sc_load_ldimm)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_sc_load_checks),
		cmocka_unit_test(t_sc_load_log),
		cmocka_unit_test(t_sc_load_ldimm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
