/* SPDX-License-Identifier: MIT */
/*
 * Helpers called from programs running in the interpreter, through the
 * program type's get_helper: register passing, context updates seen by
 * later context loads, map pointers from ld_imm64, the reference a
 * sockmap lookup takes and bpf_sk_release drops (MAP-LKP-05), and
 * bpf_trace_printk's sink. Programs are made runnable with
 * usm__prog_trust_for_test(), so no load here relies on context rewrites.
 */
#include "usm_test.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../../src/helpers/helpers.h"
#include "../../../src/maps/map.h"
#include "../../../src/progtype/progtype.h"
#include "../../../src/sock/sock.h"
#include "../../../src/vm/vm.h"
#include "kharness.h"

static struct usm_prog *make(uint32_t type, const struct kasm *a,
			     struct usm_map *map)
{
	struct usm_prog *p;

	assert_int_equal(usm__prog_new(&p), 0);
	p->type = type;
	p->pt = usm__prog_type_get(type);
	assert_int_equal(usm__prog_set_insns(p, a->i, (uint32_t)a->n), 0);
	if (map)
		assert_int_equal(usm__prog_add_map(p, map), 0);
	assert_int_equal(usm__prog_trust_for_test(p), 0);
	return p;
}

static void ld_map0(struct kasm *a, uint8_t dst)
{
	emit(a, BPF_LD | BPF_IMM | BPF_DW, dst, BPF_PSEUDO_MAP_IDX, 0, 0);
	emit(a, 0, 0, 0, 0, 0);
}

/* SKB-26 from a program: the new length is what a later load of
 * __sk_buff.len sees. */
static void test_change_tail_from_program(void **state)
{
	struct kasm as, *a = &as;
	struct usm_skb_ctx c;
	struct usm_run run;
	struct usm_prog *p;
	uint8_t *buf = malloc(16);

	memset(a, 0, sizeof(*a));
	MOVR(6, 1);
	MOVI(2, 1);
	MOVI(3, 0);
	CALL(BPF_FUNC_skb_change_tail);
	MOVR(7, 0);
	LDX(BPF_W, 0, 6, offsetof(struct __sk_buff, len));
	emit(a, BPF_ALU64 | BPF_LSH | BPF_K, 0, 0, 0, 8);
	emit(a, BPF_ALU64 | BPF_OR | BPF_X, 0, 7, 0, 0);
	EXIT();
	p = make(BPF_PROG_TYPE_SK_SKB, a, NULL);
	assert_non_null(buf);
	memcpy(buf + 4, "Tr", 2);
	usm__skb_ctx_init(&c, buf, 16, 4, 2, true);
	memset(&run, 0, sizeof(run));
	/* len 1 after the call, helper returned 0 */
	assert_int_equal(usm__prog_run(p, &c, &run), 1 << 8);
	assert_int_equal(run.error, 0);
	assert_int_equal(c.len, 1);
	assert_memory_equal(c.data, "T", 1);
	free(c.buf);
	usm__prog_put(p);
}

static char line[256];

static void sink(void *arg, const char *l)
{
	(void)arg;
	snprintf(line, sizeof(line), "%s", l);
}

static void test_printk_from_program(void **state)
{
	struct kasm as, *a = &as;
	struct usm_sock_ops_ctx c;
	struct usm_run run;
	struct usm_prog *p;

	memset(a, 0, sizeof(*a));
	/* "n=%d\n" on the stack */
	emit(a, BPF_ST | BPF_MEM | BPF_W, 10, 0, -8, 0x64253d6e); /* n=%d */
	emit(a, BPF_ST | BPF_MEM | BPF_W, 10, 0, -4, 0x0a);       /* \n\0 */
	MOVR(1, 10);
	ADDI(1, -8);
	MOVI(2, 7);
	MOVI(3, -42);
	CALL(BPF_FUNC_trace_printk);
	EXIT();
	p = make(BPF_PROG_TYPE_SOCK_OPS, a, NULL);
	memset(&c, 0, sizeof(c));
	memset(&run, 0, sizeof(run));
	run.trace = sink;
	assert_int_equal(usm__prog_run(p, &c, &run), 6); /* "n=-42\n" */
	assert_string_equal(line, "n=-42");
	usm__prog_put(p);
}

/* A sockmap lookup from a program takes a reference; bpf_sk_release in
 * the same program gives it back (MAP-LKP-05). Then a redirect through
 * the map pointer of an ld_imm64 (SKB-17). */
static void test_sockmap_lookup_release_redirect(void **state)
{
	struct usm_map_attr attr = { .map_type = BPF_MAP_TYPE_SOCKMAP,
				     .key_size = 4, .value_size = 8,
				     .max_entries = 2 };
	struct kasm as, *a = &as;
	struct usm_skb_ctx c;
	struct usm_run run;
	struct usm_prog *p;
	struct usm_map *m;
	struct usm_sock *sk;
	uint32_t key = 1;
	uint64_t v;
	int cl, pe, before;

	assert_int_equal(usm__map_create(&attr, &m), 0);
	assert_int_equal(tcp_pair(&cl, &pe), 0);
	v = (uint64_t)pe;
	assert_int_equal(usm__map_update_elem(m, &key, &v, BPF_ANY), 0);
	sk = usm__sockmap_lookup(m, &key);
	assert_non_null(sk);
	before = sk->refcnt;

	memset(a, 0, sizeof(*a));
	MOVR(6, 1);
	emit(a, BPF_ST | BPF_MEM | BPF_W, 10, 0, -4, 1);
	ld_map0(a, 1);
	MOVR(2, 10);
	ADDI(2, -4);
	CALL(BPF_FUNC_map_lookup_elem);
	jmp_to(a, BPF_JEQ, 0, 0, 0);
	MOVR(1, 0);
	CALL(BPF_FUNC_sk_release);
	MOVR(1, 6);
	ld_map0(a, 2);
	MOVI(3, 1);
	MOVI(4, BPF_F_INGRESS);
	CALL(BPF_FUNC_sk_redirect_map);
	EXIT();
	here(a, 0);
	MOVI(0, 77);
	EXIT();
	resolve(a);
	p = make(BPF_PROG_TYPE_SK_SKB, a, m);
	memset(&c, 0, sizeof(c));
	memset(&run, 0, sizeof(run));
	assert_int_equal(usm__prog_run(p, &c, &run), SK_PASS);
	assert_int_equal(run.error, 0);
	assert_int_equal(sk->refcnt, before);
	assert_true(c.redir.set);
	assert_ptr_equal(c.redir.sk, sk);
	assert_ptr_equal(c.redir.map, m);
	assert_int_equal(c.redir.flags, BPF_F_INGRESS);
	usm__prog_put(p);
	usm__map_put(m);
	close(cl);
	close(pe);
}

/*
 * Through the real verifier: __sk_buff.data/data_end loads are rewritten
 * to the 8-byte pointers of struct usm_skb_ctx (SKB-20), a bounds-checked
 * direct read works, and after bpf_skb_change_tail the program must reload
 * them (SKB-29) to see the new end.
 */
static void test_verified_direct_access(void **state)
{
	struct kasm as, *a = &as;
	struct usm_skb_ctx c;
	struct usm_run run;
	struct usm_prog *p;
	struct usm_log log;
	char logbuf[4096];
	uint8_t *buf = malloc(32);
	int err;

	memset(a, 0, sizeof(*a));
	MOVR(6, 1);
	MOVI(2, 3);
	MOVI(3, 0);
	CALL(BPF_FUNC_skb_change_tail); /* "abcdef" -> "abc" */
	LDX(BPF_W, 2, 6, offsetof(struct __sk_buff, data));
	LDX(BPF_W, 3, 6, offsetof(struct __sk_buff, data_end));
	MOVR(4, 2);
	ADDI(4, 3);
	MOVI(0, 0);
	emit(a, BPF_JMP | BPF_JGT | BPF_X, 4, 3, 0, 0); /* if r4 > r3 */
	a->fix[a->nfix].at = a->n - 1;
	a->fix[a->nfix++].label = 0;
	LDX(BPF_B, 0, 2, 2); /* data[2] */
	MOVR(5, 3);
	emit(a, BPF_ALU64 | BPF_SUB | BPF_X, 5, 2, 0, 0); /* end - data */
	emit(a, BPF_ALU64 | BPF_LSH | BPF_K, 5, 0, 0, 8);
	emit(a, BPF_ALU64 | BPF_OR | BPF_X, 0, 5, 0, 0);
	here(a, 0);
	EXIT();
	resolve(a);
	assert_int_equal(usm__prog_new(&p), 0);
	p->type = BPF_PROG_TYPE_SK_SKB;
	p->gpl_compatible = true;
	assert_int_equal(usm__prog_set_insns(p, a->i, (uint32_t)a->n), 0);
	usm__log_init(&log, logbuf, sizeof(logbuf), 1);
	err = usm__prog_verify(p, &log);
	if (err)
		print_error("verifier refused (%d): %s\n", err, logbuf);
	assert_int_equal(err, 0);
	assert_non_null(buf);
	memcpy(buf + 8, "abcdef", 6);
	usm__skb_ctx_init(&c, buf, 32, 8, 6, true);
	memset(&run, 0, sizeof(run));
	assert_int_equal(usm__prog_run(p, &c, &run), (3 << 8) | 'c');
	assert_int_equal(run.error, 0);
	free(c.buf);
	usm__prog_put(p);
}

/* SKB-20 through the verifier: a write to cb[] is refused at load. */
static void test_verified_refuses_cb_write(void **state)
{
	struct kasm as, *a = &as;
	struct usm_prog *p;
	struct usm_log log;
	char logbuf[4096];

	memset(a, 0, sizeof(*a));
	MOVI(2, 1);
	STX(BPF_W, 1, 2, offsetof(struct __sk_buff, cb[0]));
	MOVI(0, SK_PASS);
	EXIT();
	assert_int_equal(usm__prog_new(&p), 0);
	p->type = BPF_PROG_TYPE_SK_SKB;
	assert_int_equal(usm__prog_set_insns(p, a->i, (uint32_t)a->n), 0);
	usm__log_init(&log, logbuf, sizeof(logbuf), 0);
	assert_int_equal(usm__prog_verify(p, &log), -EACCES);
	assert_non_null(strstr(logbuf, "invalid bpf_context access"));
	usm__prog_put(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_change_tail_from_program),
		cmocka_unit_test(test_printk_from_program),
		cmocka_unit_test(test_sockmap_lookup_release_redirect),
		cmocka_unit_test(test_verified_direct_access),
		cmocka_unit_test(test_verified_refuses_cb_write),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
