/* SPDX-License-Identifier: MIT */
/*
 * Every context access the verifier can ask about, compared against the
 * running kernel: for each program type, each byte offset from just before
 * the context to just past it, each size (1/2/4/8), as a read, a
 * sign-extending read and a write, our is_valid_access must agree with
 * whether the kernel loads a program doing exactly that access (SEMANTICS
 * SKB-20, MSG-02, RPP-02, sock_ops). The same for struct bpf_sock through a
 * full socket pointer (sk_msg_md.sk) and a sock_common pointer
 * (__sk_buff.sk). Skipped without kernel BPF.
 */
#include "usm_test.h"

#include <stdbool.h>
#include <string.h>

#include "../../../src/progtype/progtype.h"
#include "kern_load.h"

enum { RD, RDSX, WR };

static int kernel_ctx(uint32_t type, uint32_t attach, int off, int size,
		      int mode)
{
	struct bpf_insn p[4];
	uint32_t n = 0;

	if (mode == WR) {
		p[n++] = KL_MOV_IMM(2, 0);
		p[n++] = KL_STX(size, 1, 2, (int16_t)off);
	} else if (mode == RDSX) {
		p[n++] = KL_LDXSX(size, 0, 1, (int16_t)off);
	} else {
		p[n++] = KL_LDX(size, 0, 1, (int16_t)off);
	}
	p[n++] = KL_MOV_IMM(0, 0);
	p[n++] = KL_EXIT();
	return kl_accepts(type, attach, p, n);
}

static bool skip_without_kernel(void)
{
	const char *why;

	if (usm_test_have_kernel_bpf(&why))
		return false;
	USM_SKIP("%s", why);
	return true;
}

/* Compare one program type over every (offset, size, mode). */
static void compare_type(uint32_t type, uint32_t attach)
{
	const struct usm_prog_type *pt = usm__prog_type_get(type);
	static const int sizes[] = { 1, 2, 4, 8 };
	int off, si, mode, mismatches = 0, checked = 0;

	assert_non_null(pt);
	for (off = -8; off < (int)pt->ctx_size + 8; off++) {
		for (si = 0; si < 4; si++) {
			for (mode = RD; mode <= WR; mode++) {
				struct usm_ctx_access acc;
				const char *why = NULL;
				int size = sizes[si], k, ours;

				if (mode == RDSX && size == 8)
					continue; /* no 8-byte MEMSX */
				memset(&acc, 0, sizeof(acc));
				acc.ldsx = mode == RDSX;
				ours = pt->is_valid_access(off, size, mode == WR,
							   &acc, &why) == 0;
				k = kernel_ctx(type, attach, off, size, mode);
				if (k < 0) {
					USM_SKIP("kernel load failed: %d", k);
					return;
				}
				checked++;
				if (k == ours)
					continue;
				mismatches++;
				print_error("%s off=%d size=%d mode=%d: "
					    "kernel %s, usockmap %s (%s)\n",
					    pt->name, off, size, mode,
					    k ? "accepts" : "refuses",
					    ours ? "accepts" : "refuses",
					    why ? why : "-");
			}
		}
	}
	assert_true(checked > 500);
	assert_int_equal(mismatches, 0);
}

static void test_skb_20_kernel_sk_skb(void **state)
{
	if (!skip_without_kernel())
		compare_type(BPF_PROG_TYPE_SK_SKB, 0);
}

static void test_msg_02_kernel_sk_msg(void **state)
{
	if (!skip_without_kernel())
		compare_type(BPF_PROG_TYPE_SK_MSG, BPF_SK_MSG_VERDICT);
}

static void test_rpp_02_kernel_sk_reuseport(void **state)
{
	if (!skip_without_kernel())
		compare_type(BPF_PROG_TYPE_SK_REUSEPORT,
			     BPF_SK_REUSEPORT_SELECT);
}

static void test_kernel_sock_ops(void **state)
{
	if (!skip_without_kernel())
		compare_type(BPF_PROG_TYPE_SOCK_OPS, 0);
}

/*
 * bpf_sock loads through a socket pointer taken from the context at
 * @sk_off (NULL-checked): sk_msg's sk is PTR_TO_SOCKET, __sk_buff.sk is
 * PTR_TO_SOCK_COMMON_OR_NULL.
 */
static int kernel_sock(uint32_t type, uint32_t attach, int sk_off, int off,
		       int size)
{
	struct bpf_insn p[5];

	p[0] = KL_LDX(8, 2, 1, (int16_t)sk_off);
	p[1] = KL_JEQ_IMM(2, 0, 1);
	p[2] = KL_LDX(size, 0, 2, (int16_t)off);
	p[3] = KL_MOV_IMM(0, 0);
	p[4] = KL_EXIT();
	return kl_accepts(type, attach, p, 5);
}

static void compare_sock(bool common)
{
	static const int sizes[] = { 1, 2, 4, 8 };
	int off, si, mismatches = 0;

	for (off = -4; off < (int)sizeof(struct bpf_sock) + 8; off++) {
		for (si = 0; si < 4; si++) {
			const char *why = NULL;
			int size = sizes[si], k, ours;

			ours = (common ? usm__bpf_sock_common_is_valid_access(
					       off, size, false, &why)
				       : usm__bpf_sock_is_valid_access(
					       off, size, false, &why)) == 0;
			k = common ? kernel_sock(BPF_PROG_TYPE_SK_SKB, 0,
						 offsetof(struct __sk_buff, sk),
						 off, size)
				   : kernel_sock(BPF_PROG_TYPE_SK_MSG,
						 BPF_SK_MSG_VERDICT,
						 offsetof(struct sk_msg_md, sk),
						 off, size);
			if (k < 0) {
				USM_SKIP("kernel load failed: %d", k);
				return;
			}
			if (k == ours)
				continue;
			mismatches++;
			print_error("bpf_sock%s off=%d size=%d: kernel %d, "
				    "usockmap %d (%s)\n",
				    common ? " (common)" : "", off, size, k,
				    ours, why ? why : "-");
		}
	}
	assert_int_equal(mismatches, 0);
}

static void test_kernel_bpf_sock(void **state)
{
	if (!skip_without_kernel())
		compare_sock(false);
}

static void test_kernel_bpf_sock_common(void **state)
{
	if (!skip_without_kernel())
		compare_sock(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_skb_20_kernel_sk_skb),
		cmocka_unit_test(test_msg_02_kernel_sk_msg),
		cmocka_unit_test(test_rpp_02_kernel_sk_reuseport),
		cmocka_unit_test(test_kernel_sock_ops),
		cmocka_unit_test(test_kernel_bpf_sock),
		cmocka_unit_test(test_kernel_bpf_sock_common),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
