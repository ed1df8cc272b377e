/* SPDX-License-Identifier: MIT */
/*
 * The assembler and disassembler: known encodings in the kernel verifier's
 * notation, the round trip disasm(asm(text)) == text and asm(disasm(x)) == x
 * over every opcode (canonical forms) and over random instruction bytes
 * (raw ".insn" forms), labels, comments, errors, and a comparison of our
 * disassembly with the kernel's own verifier log for the same program.
 */
#include "usm_test.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../../src/vm/asm.h"
#include "../../../src/vm/vm.h"

#define I(c, d, s, o, i) ((struct bpf_insn){(c), (d), (s), (o), (i)})

static bool insn_eq(const struct bpf_insn *a, const struct bpf_insn *b)
{
	return !memcmp(a, b, sizeof(*a));
}

/* Assemble @text, which must succeed. Caller frees. */
static struct bpf_insn *must_asm(const char *text, uint32_t *cnt)
{
	struct bpf_insn *out;
	char err[256];
	int rc = usm__asm(text, &out, cnt, err, sizeof(err));

	if (rc)
		fail_msg("asm(\"%s\") = %d: %s", text, rc, err);
	return out;
}

/* One line of kernel notation and the bytes it stands for. */
struct golden {
	const char *text;
	struct bpf_insn insn[2];
	int slots;
};

static const struct golden goldens[] = {
	{"r0 = *(u32 *)(r1 +0)", {I(0x61, 0, 1, 0, 0)}, 1},
	{"r2 = *(u8 *)(r10 -8)", {I(0x71, 2, 10, -8, 0)}, 1},
	{"r3 = *(s16 *)(r4 +2)", {I(0x89, 3, 4, 2, 0)}, 1},
	{"*(u64 *)(r10 -16) = r1", {I(0x7b, 10, 1, -16, 0)}, 1},
	{"*(u16 *)(r1 +4) = -3", {I(0x6a, 1, 0, 4, -3)}, 1},
	{"if r1 > 0x10 goto pc+3", {I(0x25, 1, 0, 3, 16)}, 1},
	{"if w1 s< w2 goto pc-4", {I(0xce, 1, 2, -4, 0)}, 1},
	{"if r0 == 0xffffffff goto pc+0", {I(0x15, 0, 0, 0, -1)}, 1},
	{"if r3 & r4 goto pc+1", {I(0x4d, 3, 4, 1, 0)}, 1},
	{"call bpf_map_lookup_elem#1", {I(0x85, 0, 0, 0, 1)}, 1},
	{"call bpf_tail_call#12", {I(0x85, 0, 0, 0, 12)}, 1},
	{"call pc+5", {I(0x85, 0, 1, 0, 5)}, 1},
	{"call unknown#100000", {I(0x85, 0, 0, 0, 100000)}, 1},
	{"goto pc-1", {I(0x05, 0, 0, -1, 0)}, 1},
	{"gotol pc+70000", {I(0x06, 0, 0, 0, 70000)}, 1},
	{"exit", {I(0x95, 0, 0, 0, 0)}, 1},
	{"r0 = 5", {I(0xb7, 0, 0, 0, 5)}, 1},
	{"w1 = -1", {I(0xb4, 1, 0, 0, -1)}, 1},
	{"r1 += r2", {I(0x0f, 1, 2, 0, 0)}, 1},
	{"w1 s/= w2", {I(0x3c, 1, 2, 1, 0)}, 1},
	{"r1 s%= -7", {I(0x97, 1, 0, 1, -7)}, 1},
	{"r1 s>>= 3", {I(0xc7, 1, 0, 0, 3)}, 1},
	{"r1 = -r1", {I(0x87, 1, 0, 0, 0)}, 1},
	{"w2 = -w2", {I(0x84, 2, 0, 0, 0)}, 1},
	{"r1 = (s8)r2", {I(0xbf, 1, 2, 8, 0)}, 1},
	{"r1 = (s32)r2", {I(0xbf, 1, 2, 32, 0)}, 1},
	{"w1 = (s16)w2", {I(0xbc, 1, 2, 16, 0)}, 1},
	{"r1 = be16 r1", {I(0xdc, 1, 0, 0, 16)}, 1},
	{"r1 = le64 r1", {I(0xd4, 1, 0, 0, 64)}, 1},
	{"r1 = bswap32 r1", {I(0xd7, 1, 0, 0, 32)}, 1},
	{"lock *(u32 *)(r1 +8) += r2", {I(0xc3, 1, 2, 8, BPF_ADD)}, 1},
	{"lock *(u64 *)(r1 +0) ^= r2", {I(0xdb, 1, 2, 0, BPF_XOR)}, 1},
	{"r2 = atomic_fetch_add((u32 *)(r1 +0), r2)",
	 {I(0xc3, 1, 2, 0, BPF_ADD | BPF_FETCH)}, 1},
	{"r3 = atomic64_fetch_or((u64 *)(r1 -8), r3)",
	 {I(0xdb, 1, 3, -8, BPF_OR | BPF_FETCH)}, 1},
	{"r4 = atomic64_xchg((u64 *)(r10 -8), r4)",
	 {I(0xdb, 10, 4, -8, BPF_XCHG)}, 1},
	{"r0 = atomic_cmpxchg((u32 *)(r1 +4), r0, r5)",
	 {I(0xc3, 1, 5, 4, BPF_CMPXCHG)}, 1},
	{"r1 = 0x123456789 ll", {I(0x18, 1, 0, 0, 0x23456789), I(0, 0, 0, 0, 1)}, 2},
	{"r2 = map[idx:3]", {I(0x18, 2, BPF_PSEUDO_MAP_IDX, 0, 3), I(0, 0, 0, 0, 0)}, 2},
	{"r2 = map[idx:1][0]+16",
	 {I(0x18, 2, BPF_PSEUDO_MAP_IDX_VALUE, 0, 1), I(0, 0, 0, 0, 16)}, 2},
	{"r2 = map[fd:7]", {I(0x18, 2, BPF_PSEUDO_MAP_FD, 0, 7), I(0, 0, 0, 0, 0)}, 2},
	{"r2 = map[fd:7][0]+4",
	 {I(0x18, 2, BPF_PSEUDO_MAP_VALUE, 0, 7), I(0, 0, 0, 0, 4)}, 2},
	{".insn code=0x00 dst=0 src=0 off=0 imm=0", {I(0, 0, 0, 0, 0)}, 1},
	{".insn code=0x07 dst=1 src=2 off=0 imm=1", {I(0x07, 1, 2, 0, 1)}, 1},
	{".insn code=0xb7 dst=11 src=0 off=0 imm=0", {I(0xb7, 11, 0, 0, 0)}, 1},
};

/* Each golden line assembles to its bytes and disassembles back to it. */
static void test_golden_encodings(void **state)
{
	char buf[160];
	size_t g;

	for (g = 0; g < sizeof(goldens) / sizeof(goldens[0]); g++) {
		const struct golden *e = &goldens[g];
		struct bpf_insn *x;
		uint32_t cnt;
		int n;

		x = must_asm(e->text, &cnt);
		assert_int_equal(cnt, e->slots);
		for (n = 0; n < e->slots; n++)
			if (!insn_eq(&x[n], &e->insn[n]))
				fail_msg("'%s' slot %d: got %02x %u %u %d %d", e->text,
					 n, x[n].code, x[n].dst_reg, x[n].src_reg,
					 x[n].off, x[n].imm);
		n = usm__insn_disasm(e->insn, (uint32_t)e->slots, buf, sizeof(buf));
		assert_int_equal(n, e->slots);
		assert_string_equal(buf, e->text);
		free(x);
	}
}

/* asm(disasm(@x)) == @x and disasm(asm(text)) == text. */
static void check_round_trip(const struct bpf_insn *x, uint32_t slots)
{
	char text[160], again[160];
	struct bpf_insn *y;
	uint32_t cnt, i;
	int n;

	n = usm__insn_disasm(x, slots, text, sizeof(text));
	assert_true(n == 1 || n == 2);
	y = must_asm(text, &cnt);
	assert_int_equal(cnt, (uint32_t)n);
	for (i = 0; i < cnt; i++)
		if (!insn_eq(&x[i], &y[i]))
			fail_msg("'%s' does not round-trip (slot %u: %02x %u %u %d %d)",
				 text, i, y[i].code, y[i].dst_reg, y[i].src_reg,
				 y[i].off, y[i].imm);
	usm__insn_disasm(y, cnt, again, sizeof(again));
	assert_string_equal(again, text);
	free(y);
}

static const int32_t imms[] = {0, 1, -1, 16, 32, 64, 0x7fffffff, INT32_MIN};
static const int16_t offs[] = {0, 1, -1, 8, 16, 32, 0x7fff, INT16_MIN};

/* Every canonical variant of the instruction with opcode @code. */
static unsigned round_trip_code(uint8_t code)
{
	uint8_t kind = usm__opinfo[code].kind;
	struct bpf_insn x[2];
	unsigned n = 0, a, b, r;

	for (a = 0; a < 8; a++) {
		for (b = 0; b < 8; b++) {
			r = (a + b) % 11;
			x[0] = I(code, (uint8_t)r, (uint8_t)((r + 3) % 11), 0, 0);
			x[1] = I(0, 0, 0, 0, imms[b]);
			switch (kind) {
			case USM_K_ALU:
				x[0].off = offs[a];
				if (BPF_SRC(code) == BPF_K || BPF_OP(code) == BPF_NEG)
					x[0].src_reg = 0;
				if (BPF_SRC(code) == BPF_K && BPF_OP(code) != BPF_NEG)
					x[0].imm = imms[b];
				break;
			case USM_K_END:
				x[0].src_reg = 0;
				x[0].imm = 16 << (b % 3);
				break;
			case USM_K_JMP:
				x[0].off = offs[a];
				if (BPF_SRC(code) == BPF_K) {
					x[0].src_reg = 0;
					x[0].imm = imms[b];
				}
				break;
			case USM_K_JA:
				x[0].dst_reg = x[0].src_reg = 0;
				if (code == USM_OP_JA)
					x[0].off = offs[a];
				else
					x[0].imm = imms[b];
				break;
			case USM_K_CALL:
				x[0].dst_reg = 0;
				x[0].src_reg = a & 1;
				x[0].imm = a & 1 ? imms[b] : (int32_t)(b * 7 + a);
				break;
			case USM_K_EXIT:
				x[0] = I(code, 0, 0, 0, 0);
				break;
			case USM_K_ST:
				x[0].src_reg = 0;
				x[0].imm = imms[b];
				/* fallthrough */
			case USM_K_LDX:
			case USM_K_LDXSX:
			case USM_K_STX:
				x[0].off = offs[a];
				break;
			case USM_K_ATOMIC: {
				static const int32_t ops[] = {
					BPF_ADD, BPF_OR, BPF_AND, BPF_XOR,
					BPF_ADD | BPF_FETCH, BPF_OR | BPF_FETCH,
					BPF_AND | BPF_FETCH, BPF_XOR | BPF_FETCH,
					BPF_XCHG, BPF_CMPXCHG};

				x[0].off = offs[a];
				x[0].imm = ops[(a * 8 + b) % 10];
				break;
			}
			case USM_K_LDDW:
				x[0].src_reg = (uint8_t)(a % 7 == 3 || a % 7 == 4 ? 0 : a % 7);
				x[0].imm = imms[a];
				if (x[0].src_reg == BPF_PSEUDO_MAP_FD ||
				    x[0].src_reg == BPF_PSEUDO_MAP_IDX)
					x[1].imm = 0;
				break;
			default:
				break;
			}
			check_round_trip(x, 2);
			n++;
		}
	}
	return n;
}

static void test_round_trip_every_opcode(void **state)
{
	static const uint8_t codes[] = {
#define USM_X_CODE(name, code, kind, mnem) (code),
		USM_OPCODES(USM_X_CODE)
#undef USM_X_CODE
	};
	unsigned total = 0;
	size_t k;

	for (k = 0; k < sizeof(codes); k++)
		total += round_trip_code(codes[k]);
	assert_int_equal(total, sizeof(codes) * 64);
}

/* Deterministic random instructions: whatever the bytes, the text the
 * disassembler prints assembles back to exactly those bytes. */
static void test_round_trip_random_bytes(void **state)
{
	uint64_t s = 0x9e3779b97f4a7c15ull;
	struct bpf_insn x[2];
	unsigned i;

	for (i = 0; i < 200000; i++) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		memcpy(&x[0], &s, sizeof(x[0]));
		x[1] = I(0, 0, 0, 0, (int32_t)(s >> 11));
		if (i & 1) /* half of them with a valid opcode */
			x[0].code = (uint8_t)(0x05 + (s >> 40) % 0xd8);
		check_round_trip(x, 2);
	}
}

static void test_labels_and_comments(void **state)
{
	const char *text =
		"# a comment line\n"
		"start:\n"
		"  r0 = 0        ; trailing comment\n"
		"loop: r0 += 1   # another\n"
		"  if r0 < 0x3 goto loop\n"
		"  call sub\n"
		"  gotol end\n"
		"sub:\n"
		"  call bpf_get_prandom_u32\n"
		"  call get_prandom_u32\n"
		"  exit\n"
		"end: exit\n";
	struct bpf_insn *x;
	uint32_t cnt;

	x = must_asm(text, &cnt);
	assert_int_equal(cnt, 9);
	assert_true(insn_eq(&x[2], &I(0xa5, 0, 0, -2, 3)));  /* to loop */
	assert_true(insn_eq(&x[3], &I(0x85, 0, 1, 0, 1)));   /* to sub */
	assert_true(insn_eq(&x[4], &I(0x06, 0, 0, 0, 3)));   /* to end */
	assert_true(insn_eq(&x[5], &I(0x85, 0, 0, 0, BPF_FUNC_get_prandom_u32)));
	assert_true(insn_eq(&x[6], &I(0x85, 0, 0, 0, BPF_FUNC_get_prandom_u32)));
	free(x);
	x = must_asm("", &cnt);
	assert_int_equal(cnt, 0);
	free(x);
	x = must_asm("\n  ; nothing\n# here\n", &cnt);
	assert_int_equal(cnt, 0);
	free(x);
}

/* Bad input: -EINVAL with the line and the reason, nothing returned. */
static void test_errors(void **state)
{
	static const struct { const char *text, *why; } bad[] = {
		{"r0 = 1\nr11 = 2\n", "line 2:"},
		{"r0 += w1", "mixed r and w"},
		{"goto nowhere", "unknown label 'nowhere'"},
		{"call no_such_thing", "unknown label or helper"},
		{"a: r0 = 0\na: exit", "defined twice"},
		{"r0 = 0x100000000", "32-bit range"},
		{"r0 = *(u32 *)(r1 +40000)", "16-bit range"},
		{"if r0 > 1 goto pc+40000", "16-bit range"},
		{"r0 = *(u24 *)(r1 +0)", "expected a size"},
		{"lock *(u16 *)(r1 +0) += r2", "u32 or u64"},
		{"r1 = atomic_fetch_add((u64 *)(r1 +0), r1)", "u32 pointer"},
		{"r1 = atomic_fetch_add((u32 *)(r1 +0), r2)", "source register"},
		{"r1 = be16 r2", "byte swap"},
		{"w1 = 1 ll", "needs an r register"},
		{"r0 = 5 6", "unexpected '6'"},
		{"r0 @ 1", "unexpected character"},
		{".insn code=0x100", "out of range"},
		{"r0 = 99999999999999999999999", "bad number"},
		{"exit\nr0 = 1\nfoo bar", "line 3:"},
	};
	struct bpf_insn *x = (void *)1;
	uint32_t cnt = 7;
	char err[256];
	size_t k;
	int rc;

	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		rc = usm__asm(bad[k].text, &x, &cnt, err, sizeof(err));
		if (rc != -EINVAL || x || cnt || !strstr(err, bad[k].why))
			fail_msg("'%s': rc %d, err '%s' (want '%s')", bad[k].text,
				 rc, err, bad[k].why);
	}
	/* No error buffer is fine too. */
	assert_int_equal(usm__asm("bogus", &x, &cnt, NULL, 0), -EINVAL);
}

/* A program the kernel accepts, using every instruction family. */
static const char *kernel_prog =
	"r6 = r1\n"
	"r0 = 5\n w1 = 7\n r2 = 0x123456789 ll\n"
	"r0 += 3\n r0 -= r1\n r0 *= 3\n r0 /= 3\n r0 %= r1\n r0 |= 1\n"
	"r0 &= r2\n r0 ^= -1\n r0 <<= 3\n r0 >>= r1\n r0 s>>= 2\n"
	"w0 += w1\n w0 -= 1\n w0 *= w1\n w0 /= w1\n w0 %= 5\n w0 |= w1\n"
	"w0 &= -1\n w0 ^= w1\n w0 <<= w1\n w0 >>= 1\n w0 s>>= w1\n"
	"r0 s/= r1\n r0 s%= 3\n w0 s/= -2\n w0 s%= w1\n r0 = -r0\n w0 = -w0\n"
	"r3 = (s8)r0\n r3 = (s16)r0\n r3 = (s32)r0\n w3 = (s8)w0\n w3 = (s16)w0\n"
	"r0 = le16 r0\n r0 = be32 r0\n r0 = be64 r0\n r0 = bswap16 r0\n"
	"r0 = bswap64 r0\n"
	"*(u64 *)(r10 -8) = r0\n *(u32 *)(r10 -12) = 7\n *(u16 *)(r10 -14) = r1\n"
	"*(u8 *)(r10 -15) = 1\n *(u8 *)(r10 -16) = 2\n"
	"r4 = *(u64 *)(r10 -8)\n r4 = *(u32 *)(r10 -12)\n r4 = *(u16 *)(r10 -14)\n"
	"r4 = *(u8 *)(r10 -15)\n r4 = *(s8 *)(r10 -16)\n r4 = *(s16 *)(r10 -14)\n"
	"r4 = *(s32 *)(r10 -12)\n"
	"lock *(u64 *)(r10 -8) += r1\n lock *(u64 *)(r10 -8) |= r1\n"
	"lock *(u32 *)(r10 -12) &= r1\n lock *(u32 *)(r10 -12) ^= r1\n"
	"r1 = atomic64_fetch_add((u64 *)(r10 -8), r1)\n"
	"r1 = atomic_fetch_xor((u32 *)(r10 -12), r1)\n"
	"r1 = atomic64_xchg((u64 *)(r10 -8), r1)\n"
	"r0 = atomic64_cmpxchg((u64 *)(r10 -8), r0, r1)\n"
	"if r0 == r1 goto pc+0\n if r0 != 0x5 goto pc+0\n if r0 > r1 goto pc+0\n"
	"if r0 >= 0xffffffff goto pc+0\n if r0 < r1 goto pc+0\n if r0 <= 0x3 goto pc+0\n"
	"if r0 & r1 goto pc+0\n if r0 s> r1 goto pc+0\n if r0 s>= 0x7 goto pc+0\n"
	"if r0 s< r1 goto pc+0\n if r0 s<= 0x0 goto pc+0\n"
	"if w0 == w1 goto pc+0\n if w0 s< 0x80000000 goto pc+0\n if w0 & 0x1 goto pc+0\n"
	"call bpf_get_prandom_u32#7\n call sub\n goto pc+0\n gotol pc+0\n"
	"exit\n"
	"sub:\n r0 = 1\n exit\n";

/* Parse "N: (cc) TEXT[   ; state]" lines of a kernel verifier log (and
 * the "N: LIVE (cc) TEXT" listing of newer kernels) into texts[N]. */
static void parse_kernel_log(char *log, char **texts, uint32_t cnt)
{
	char *line, *save = NULL, *p, *semi;
	unsigned long idx;

	for (line = strtok_r(log, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		p = line + strspn(line, " ");
		idx = strtoul(p, &p, 10);
		if (*p != ':' || idx >= cnt)
			continue;
		p = strstr(p, ") ");
		if (!p || p[-3] != '(' || texts[idx])
			continue;
		p += 2;
		semi = strstr(p, "  ");
		if (semi)
			*semi = '\0';
		texts[idx] = p;
	}
}

static void test_disasm_matches_kernel_log(void **state)
{
	static char log[1 << 20];
	struct bpf_insn *x;
	char *texts[512] = {NULL}, ours[160];
	const char *why;
	uint32_t cnt, i, compared = 0;
	int fd, n;

	if (!usm_test_have_kernel_bpf(&why))
		USM_SKIP("%s", why);
	x = must_asm(kernel_prog, &cnt);
	assert_true(cnt < 512);
	LIBBPF_OPTS(bpf_prog_load_opts, lo, .log_buf = log,
		    .log_size = sizeof(log), .log_level = 2);
	fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "usm_disasm", "GPL", x,
			   cnt, &lo);
	if (fd < 0)
		fail_msg("kernel refused the program (%d):\n%s", fd, log);
	close(fd);
	parse_kernel_log(log, texts, cnt);
	for (i = 0; i < cnt; i += (uint32_t)n) {
		n = usm__insn_disasm(&x[i], cnt - i, ours, sizeof(ours));
		if (!texts[i])
			continue;
		if (n == 2) /* we add " ll" to plain ld_imm64 */
			ours[strlen(ours) - 3] = '\0';
		if (strcmp(ours, texts[i]))
			fail_msg("insn %u: we print '%s', the kernel '%s'", i, ours,
				 texts[i]);
		compared++;
	}
	/* Every instruction is on a verified path, so the kernel printed all. */
	assert_int_equal(compared, cnt - 1);
	free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_encodings),
		cmocka_unit_test(test_round_trip_every_opcode),
		cmocka_unit_test(test_round_trip_random_bytes),
		cmocka_unit_test(test_labels_and_comments),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_disasm_matches_kernel_log),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
