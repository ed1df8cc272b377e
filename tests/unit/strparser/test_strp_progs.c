/* SPDX-License-Identifier: MIT */
/*
 * The stream parser driving real clang-compiled sk_skb programs
 * (tests/bpf/strp_frame.bpf.o) through the VM, the way the engine is meant
 * to: each parse() and rcv_msg() view becomes an skb context over the
 * whole view (data[0, len): the kernel's strparser head skb), the message
 * being data[off, off + msg_len). The skb->len values expected here are
 * the ones the kernel's verdict saw for the same sends
 * (tests/e2e/test_strp_kernel.c, SKB-07), and the framing is the
 * kernel's for SKB-01/02/06/08.
 */
#include "strpt.h"

#include <linux/bpf.h>

#include <usockmap/map.h>
#include <usockmap/object.h>

#include "../../../src/loader/loader.h"
#include "../../../src/progtype/progtype.h"
#include "../../../src/vm/vm.h"

#define HEADROOM 64u

struct pt {
	struct usm_strp strp;
	struct usm_object *obj;
	struct usm_prog *parser, *verdict;
	char out[256];     /* delivered messages, '|' after each */
	size_t outlen;
	int verdicts[8];   /* verdict program results */
	size_t nverdict;
};

/* Run @p on an skb context over all of @v (as the kernel's head skb). */
static uint64_t pt_run(struct usm_prog *p, const struct usm_strp_view *v)
{
	uint32_t cap = HEADROOM + (uint32_t)v->len + HEADROOM;
	uint8_t *buf = malloc(cap);
	struct usm_skb_ctx ctx;
	struct usm_run run;
	uint64_t r;

	assert_non_null(buf);
	memcpy(buf + HEADROOM, v->data, v->len);
	usm__skb_ctx_init(&ctx, buf, cap, HEADROOM, (uint32_t)v->len, true);
	memset(&run, 0, sizeof(run));
	r = usm__prog_run(p, &ctx, &run);
	assert_int_equal(run.error, 0);
	free(ctx.buf);
	return r;
}

static int pt_parse(void *arg, const struct usm_strp_view *v)
{
	struct pt *t = arg;

	return (int)(uint32_t)pt_run(t->parser, v);
}

static void pt_rcv(void *arg, const struct usm_strp_view *v)
{
	struct pt *t = arg;
	int r = (int)pt_run(t->verdict, v);

	if (t->nverdict < 8)
		t->verdicts[t->nverdict++] = r;
	if (t->outlen + v->msg_len + 1 >= sizeof(t->out))
		return; /* long runs: only counted */
	memcpy(t->out + t->outlen, v->data + v->off, v->msg_len);
	t->outlen += v->msg_len;
	t->out[t->outlen++] = '|';
}

static struct usm_prog *pt_prog(struct pt *t, const char *name)
{
	struct usm_program *p = usm_object_find_program(t->obj, name);

	assert_non_null(p);
	assert_non_null(p->prog);
	return p->prog;
}

static struct pt *pt_new(const char *parser, const char *verdict)
{
	struct usm_strp_cbs cbs = { pt_parse, pt_rcv, NULL, NULL, NULL };
	struct pt *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	assert_int_equal(usm_object_open(usm_test_bpf_path(
						 "tests/bpf/strp_frame"),
					 NULL, &t->obj),
			 0);
	assert_int_equal(usm_object_load(t->obj), 0);
	t->parser = pt_prog(t, parser);
	t->verdict = pt_prog(t, verdict);
	cbs.arg = t;
	assert_int_equal(usm__strp_init(&t->strp, &cbs, 0, 0), 0);
	return t;
}

static void pt_free(struct pt *t)
{
	usm__strp_fini(&t->strp);
	usm_object_close(t->obj);
	free(t);
}

static void pt_feed(struct pt *t, const char *s, size_t n)
{
	assert_int_equal(usm__strp_feed(&t->strp, s, n), 0);
}

/* The verdict_record map: [0] = runs, then one skb->len per run. */
static void pt_lens(struct pt *t, uint32_t n, const uint32_t *want)
{
	struct usm_map *m = usm_object_find_map(t->obj, "lens");
	uint32_t k, v;

	assert_non_null(m);
	k = 0;
	assert_int_equal(usm_map_lookup_elem(m, &k, &v), 0);
	assert_int_equal(v, n);
	for (k = 1; k <= n; k++) {
		assert_int_equal(usm_map_lookup_elem(m, &k, &v), 0);
		assert_int_equal(v, want[k - 1]);
	}
}

/* SKB-07 (+SKB-06): the verdict sees 4 then 6, as in the kernel. */
static void test_skb07_verdict_lens_match_kernel(void **state)
{
	static const uint32_t want[] = { 4, 6 };
	struct pt *t = pt_new("parse_3", "verdict_record");

	pt_feed(t, "abcd", 4);
	pt_feed(t, "ef", 2);
	assert_int_equal(t->outlen, 8);
	assert_memory_equal(t->out, "abc|def|", 8);
	assert_int_equal(t->verdicts[0], SK_PASS);
	assert_int_equal(t->verdicts[1], SK_PASS);
	pt_lens(t, 2, want);
	pt_free(t);
}

/* SKB-02 then SKB-01 with the 4-byte-header parser (selftest "partial
 * read" sends). */
static void test_skb01_skb02_partial(void **state)
{
	struct pt *t = pt_new("parse_partial", "verdict_pass");

	pt_feed(t, "hea", 3);
	assert_int_equal(t->outlen, 0);
	pt_feed(t, "d+body\0", 7);
	pt_feed(t, "hea", 3);
	pt_feed(t, "d+body", 6);
	assert_int_equal(usm__strp_need(&t->strp), 1);
	pt_feed(t, "", 1);
	assert_int_equal(t->outlen, 22);
	assert_memory_equal(t->out, "head+body\0|head+body\0|", 22);
	assert_int_equal(t->strp.stats.parse_calls, 4);
	pt_free(t);
}

/* SKB-08: parse_len frames per fed buffer; SKB-05: 100 messages of one
 * write with the header parser. */
static void test_skb08_skb05(void **state)
{
	struct pt *t = pt_new("parse_len", "verdict_pass");
	struct pt *u = pt_new("parse_partial", "verdict_pass");
	char buf[1000];
	int i;

	pt_feed(t, "llllll", 6);
	pt_feed(t, "rrrrr", 5);
	assert_int_equal(t->outlen, 13);
	assert_memory_equal(t->out, "llllll|rrrrr|", 13);
	for (i = 0; i < 100; i++)
		memcpy(buf + 10 * i, "head+body\0", 10);
	pt_feed(u, buf, sizeof(buf));
	assert_int_equal(u->nverdict, 8); /* only the first 8 recorded */
	assert_int_equal(u->strp.stats.msgs, 100);
	assert_int_equal(usm__strp_buffered(&u->strp), 0);
	pt_free(t);
	pt_free(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_skb07_verdict_lens_match_kernel),
		cmocka_unit_test(test_skb01_skb02_partial),
		cmocka_unit_test(test_skb08_skb05),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
