/* SPDX-License-Identifier: MIT */
/*
 * The sk_skb packet helpers, usockmap against the running kernel
 * (SEMANTICS SKB-24..28). The kernel side is a verdict program attached to
 * a kernel SOCKMAP: for each case it reads which helper to call and its
 * arguments from an array map, calls it on the received skb, stores the
 * return value and the new skb->len in the map and passes the data to the
 * receiving socket. The same call is made on a usockmap context holding the
 * same bytes; return value, length and delivered bytes must be equal.
 * Skipped without kernel BPF.
 */
#include "usm_test.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../../src/helpers/helpers.h"
#include "../../../src/progtype/progtype.h"
#include "../../../src/vm/vm.h"
#include "kharness.h"

/* The parameter block in the kernel's array map (one entry). */
struct kparams {
	uint32_t sel, pad;
	uint64_t a1, a2, a3;
	int64_t ret;
	uint32_t len_after, pad2;
	uint8_t out[8];
	uint8_t in[8];
};

enum { H_TAIL = 1, H_HEAD, H_ROOM, H_PULL, H_LOAD, H_STORE };

#define P(f) ((int16_t)offsetof(struct kparams, f))

enum { L_PASS, L_STORE, L_T1 };

/* r1 = ctx, r2.. = the case's arguments, call, then store. */
static void case_block(struct kasm *a, int sel, int helper)
{
	here(a, L_T1 + sel - 1);
	MOVR(1, 6);
	LDX(BPF_DW, 2, 7, P(a1));
	if (sel == H_LOAD || sel == H_STORE) {
		LDX(BPF_DW, 4, 7, P(a2));
		jmp_to(a, BPF_JGT, 4, 8, L_PASS);
		jmp_to(a, BPF_JEQ, 4, 0, L_PASS);
		MOVR(3, 7);
		ADDI(3, sel == H_LOAD ? P(out) : P(in));
		if (sel == H_STORE)
			LDX(BPF_DW, 5, 7, P(a3));
	} else if (sel != H_PULL) {
		LDX(BPF_DW, 3, 7, P(a2));
		if (sel == H_ROOM)
			LDX(BPF_DW, 4, 7, P(a3));
	}
	CALL(helper);
	jmp_to(a, BPF_JA, 0, 0, L_STORE);
}

static int load_verdict(int params_fd)
{
	static const int helpers[] = {
		BPF_FUNC_skb_change_tail, BPF_FUNC_skb_change_head,
		BPF_FUNC_skb_adjust_room, BPF_FUNC_skb_pull_data,
		BPF_FUNC_skb_load_bytes, BPF_FUNC_skb_store_bytes,
	};
	struct kasm as, *a = &as;
	int sel;

	memset(a, 0, sizeof(*a));
	MOVR(6, 1);
	emit(a, BPF_ST | BPF_MEM | BPF_W, 10, 0, -4, 0);
	emit(a, BPF_LD | BPF_IMM | BPF_DW, 1, BPF_PSEUDO_MAP_FD, 0, params_fd);
	emit(a, 0, 0, 0, 0, 0);
	MOVR(2, 10);
	ADDI(2, -4);
	CALL(BPF_FUNC_map_lookup_elem);
	jmp_to(a, BPF_JEQ, 0, 0, L_PASS);
	MOVR(7, 0);
	LDX(BPF_W, 1, 7, P(sel));
	for (sel = H_TAIL; sel <= H_STORE; sel++)
		jmp_to(a, BPF_JEQ, 1, sel, L_T1 + sel - 1);
	jmp_to(a, BPF_JA, 0, 0, L_PASS);
	for (sel = H_TAIL; sel <= H_STORE; sel++)
		case_block(a, sel, helpers[sel - 1]);
	here(a, L_STORE);
	STX(BPF_DW, 7, 0, P(ret));
	LDX(BPF_W, 1, 6, offsetof(struct __sk_buff, len));
	STX(BPF_W, 7, 1, P(len_after));
	here(a, L_PASS);
	MOVI(0, SK_PASS);
	emit(a, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	return kasm_load(a, BPF_PROG_TYPE_SK_SKB, 0);
}

/* ---- the kernel harness ---------------------------------------------- */

struct kern {
	int params, sockmap, prog;
	int c, p; /* client, accepted peer (in the sockmap) */
};

static int kern_setup(struct kern *k)
{
	memset(k, 0xff, sizeof(*k));
	k->params = bpf_map_create(BPF_MAP_TYPE_ARRAY, "usm_params", 4,
				   sizeof(struct kparams), 1, NULL);
	k->sockmap = bpf_map_create(BPF_MAP_TYPE_SOCKMAP, "usm_sm", 4, 4, 1,
				    NULL);
	if (k->params < 0 || k->sockmap < 0)
		return -1;
	k->prog = load_verdict(k->params);
	if (k->prog < 0)
		return -1;
	return bpf_prog_attach(k->prog, k->sockmap, BPF_SK_SKB_VERDICT, 0);
}

/* A fresh connection per case: a changed skb can leave the kernel's TCP
 * receive accounting of that socket behind (later data stalls). */
static int kern_conn(struct kern *k)
{
	uint32_t key = 0;

	if (k->c >= 0)
		close(k->c);
	if (k->p >= 0)
		close(k->p);
	k->c = k->p = -1;
	if (tcp_pair(&k->c, &k->p))
		return -1;
	return bpf_map_update_elem(k->sockmap, &key, &k->p, BPF_ANY);
}

static void kern_teardown(struct kern *k)
{
	int *fds[] = { &k->c, &k->p, &k->prog, &k->sockmap, &k->params };
	size_t i;

	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
}

/* Run one case in the kernel: *kp in, *kp (ret, len_after, out) and the
 * delivered bytes out. Returns the number of delivered bytes or -1. */
static int kern_run(struct kern *k, struct kparams *kp, const void *in,
		    size_t len, uint8_t *got, size_t cap)
{
	struct pollfd pf = { .fd = k->p, .events = POLLIN };
	uint32_t key = 0;
	ssize_t n;
	size_t have = 0;

	kp->ret = 0x5a5a;
	if (bpf_map_update_elem(k->params, &key, kp, BPF_ANY) ||
	    send(k->c, in, len, 0) != (ssize_t)len)
		return -1;
	while (poll(&pf, 1, have ? 50 : 2000) == 1) {
		n = recv(k->p, got + have, cap - have, MSG_DONTWAIT);
		if (n <= 0)
			break;
		have += (size_t)n;
	}
	if (bpf_map_lookup_elem(k->params, &key, kp))
		return -1;
	return (int)have;
}

/* ---- the cases ------------------------------------------------------- */

struct dcase {
	int sel;
	const char *in;
	uint64_t a1, a2, a3;
	const char *what;
};

#define NEG(x) ((uint64_t)(uint32_t)-(x))

static const struct dcase cases[] = {
	{ H_TAIL, "Tr", 1, 0, 0, "SKB-26 Tr -> T" },
	{ H_TAIL, "G", 2, 0, 0, "SKB-26 G -> G\\0" },
	{ H_TAIL, "E", 65535, 0, 0, "SKB-26 65535 -> EINVAL" },
	{ H_TAIL, "abc", 3, 1, 0, "SKB-26 flags" },
	{ H_TAIL, "abc", (1ull << 32) + 5, 0, 0, "SKB-26 u32 new_len" },
	{ H_TAIL, "abc", 16064, 0, 0, "SKB-26 at the cap" },
	{ H_TAIL, "abc", 16065, 0, 0, "SKB-26 above the cap" },
	{ H_HEAD, "xyz", 2, 0, 0, "SKB-27 prepend" },
	{ H_HEAD, "xyz", 2, 1, 0, "SKB-27 flags" },
	{ H_HEAD, "xyz", 16061, 0, 0, "SKB-27 to the cap" },
	{ H_HEAD, "xyz", 16062, 0, 0, "SKB-27 above the cap" },
	{ H_HEAD, "xyz", 0xffffffffu, 0, 0, "SKB-27 overflow" },
	{ H_ROOM, "hello", 3, 0, 0, "SKB-28 grow" },
	{ H_ROOM, "hello", NEG(4), 0, 0, "SKB-28 shrink" },
	{ H_ROOM, "hello", NEG(6), 0, 0, "SKB-28 shrink too much" },
	{ H_ROOM, "hello", 0x1000, 0, 0, "SKB-28 too big" },
	{ H_ROOM, "hello", NEG(0x1000), 0, 0, "SKB-28 too big negative" },
	{ H_ROOM, "hello", 1, 1, 0, "SKB-28 mode" },
	{ H_ROOM, "hello", 1, 0, 1, "SKB-28 flags" },
	{ H_ROOM, "hello", 1, 1ull << 32, 0, "SKB-28 u32 mode" },
	{ H_ROOM, "a", 0xfff, 0, 0, "SKB-28 max grow" },
	{ H_PULL, "abcdef", 0, 0, 0, "SKB-24 pull 0" },
	{ H_PULL, "abcdef", 4, 0, 0, "SKB-24 pull 4" },
	{ H_PULL, "abcdef", 6, 0, 0, "SKB-24 pull all" },
	{ H_PULL, "abcdef", 7, 0, 0, "SKB-24 pull past len" },
	{ H_LOAD, "abcdefgh", 2, 6, 0, "SKB-25 load" },
	{ H_LOAD, "abcdefgh", 3, 6, 0, "SKB-25 load past end" },
	{ H_LOAD, "abcdefgh", 0x80000000u, 1, 0, "SKB-25 offset > INT_MAX" },
	{ H_STORE, "abcdefgh", 2, 2, 0, "store" },
	{ H_STORE, "abcdefgh", 7, 2, 0, "store past end" },
	{ H_STORE, "abcdefgh", 0, 1, 4, "store bad flag" },
	{ H_STORE, "abcdefgh", 5, 3,
	  BPF_F_RECOMPUTE_CSUM | BPF_F_INVALIDATE_HASH, "store flags" },
};

static const struct usm_helper *ours_helper(int sel)
{
	switch (sel) {
	case H_TAIL: return &usm__h_skb_change_tail;
	case H_HEAD: return &usm__h_skb_change_head;
	case H_ROOM: return &usm__h_skb_adjust_room;
	case H_PULL: return &usm__h_skb_pull_data;
	case H_LOAD: return &usm__h_skb_load_bytes;
	default: return &usm__h_skb_store_bytes;
	}
}

/* The same call on a usockmap context. */
static int64_t ours_run(const struct dcase *dc, struct kparams *kp,
			uint8_t **bytes, uint32_t *len)
{
	uint32_t n = (uint32_t)strlen(dc->in);
	uint8_t *buf = malloc(n + 64);
	struct usm_skb_ctx c;
	struct usm_run run = { .ctx = &c };
	uint64_t r3 = dc->a2, r4 = dc->a3, r5 = 0;
	int64_t ret;

	assert_non_null(buf);
	memcpy(buf + 32, dc->in, n);
	usm__skb_ctx_init(&c, buf, n + 64, 32, n, true);
	if (dc->sel == H_LOAD || dc->sel == H_STORE) {
		r3 = (uintptr_t)(dc->sel == H_LOAD ? kp->out : kp->in);
		r4 = dc->a2;
		r5 = dc->a3;
	}
	ret = (int64_t)ours_helper(dc->sel)->fn(&run, (uintptr_t)&c, dc->a1,
						 r3, r4, r5);
	*len = c.len;
	*bytes = malloc(c.len + 1);
	assert_non_null(*bytes);
	memcpy(*bytes, c.data, c.len);
	free(c.buf);
	return ret;
}

static void test_skb_24_28_against_kernel(void **state)
{
	static uint8_t got[70000];
	const char *why;
	struct kern k;
	size_t i;
	int bad = 0;

	if (!usm_test_have_kernel_bpf(&why)) {
		USM_SKIP("%s", why);
		return;
	}
	if (kern_setup(&k)) {
		kern_teardown(&k);
		USM_SKIP("kernel sockmap harness failed: %s", strerror(errno));
		return;
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct dcase *dc = &cases[i];
		struct kparams kp, up;
		uint8_t *bytes;
		uint32_t ulen;
		int64_t uret;
		int kn;

		memset(&kp, 0, sizeof(kp));
		kp.sel = (uint32_t)dc->sel;
		kp.a1 = dc->a1;
		kp.a2 = dc->a2;
		kp.a3 = dc->a3;
		memcpy(kp.in, "XYZ", 3);
		memset(kp.out, 0x77, sizeof(kp.out));
		up = kp;
		assert_int_equal(kern_conn(&k), 0);
		kn = kern_run(&k, &kp, dc->in, strlen(dc->in), got,
			      sizeof(got));
		assert_true(kn >= 0);
		uret = ours_run(dc, &up, &bytes, &ulen);
		if (uret != kp.ret || ulen != kp.len_after ||
		    (uint32_t)kn != ulen || memcmp(bytes, got, ulen) ||
		    memcmp(up.out, kp.out, sizeof(kp.out))) {
			print_error("%s: kernel ret %lld len %u delivered %d; "
				    "usockmap ret %lld len %u\n", dc->what,
				    (long long)kp.ret, kp.len_after, kn,
				    (long long)uret, ulen);
			bad++;
		}
		free(bytes);
	}
	kern_teardown(&k);
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_skb_24_28_against_kernel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
