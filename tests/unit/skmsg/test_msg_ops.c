/* SPDX-License-Identifier: MIT */
/*
 * pull/push/pop on the sk_msg ring (SEMANTICS MSG-11..14): every position
 * of multi-chunk messages, at several ring positions (including wrapped
 * rings where start > end) and fill levels (room, one free slot, full),
 * each result checked byte for byte against a flat model and chunk for
 * chunk against the kernel's layout rules (msgt.h); every error with its
 * errno; allocation failures.
 */
#include "msgt.h"

#include "../../../src/progtype/progtype.h"

/* Layouts: lots of room, two free slots, one free slot, full. */
static const uint32_t L4[] = { 5, 1, 7, 3 };
static const uint32_t L15[] = { 2, 1, 3, 1, 2, 4, 1, 1, 2, 3, 1, 2, 1, 1, 2 };
static const uint32_t L16[] = { 2, 1, 3, 1, 2, 4, 1, 1, 2, 3, 1, 2, 1, 1, 2, 3 };
static const uint32_t L17[] = { 2, 1, 3, 1, 2, 4, 1, 1, 2, 3, 1, 2, 1, 1, 2, 3, 2 };

struct layout_case {
	const uint32_t *lens;
	uint32_t n;
};

static const struct layout_case layouts[] = {
	{ L4, 4 }, { L15, 15 }, { L16, 16 }, { L17, 17 },
};

/* Ring start slots: 0, middle, and ones where the chunks wrap. */
static const uint32_t slots[] = { 0, 7, 15, 17 };

#define FOR_EACH_CASE(lc, slot)                                               \
	for (size_t li_ = 0; li_ < sizeof(layouts) / sizeof(layouts[0]); li_++) \
		for (size_t si_ = 0; si_ < sizeof(slots) / sizeof(slots[0]); \
		     si_++)                                                   \
			for (const struct layout_case *lc = &layouts[li_];    \
			     lc; lc = NULL)                                   \
				for (uint32_t slot = slots[si_], once_ = 1;   \
				     once_; once_ = 0)

static uint32_t lay_size(const struct layout_case *lc)
{
	uint32_t i, s = 0;

	for (i = 0; i < lc->n; i++)
		s += lc->lens[i];
	return s;
}

/* data/data_end after a push/pop: the first chunk (MSG-12/13 reset). */
static void check_first_chunk(struct usm_sk_msg *m, const struct msgt_ref *r,
			      const struct msgt_layout *lay)
{
	struct usm_msg_ctx ctx;
	const uint8_t *d;
	uint32_t i;

	memset(&ctx, 0, sizeof(ctx));
	ctx.msg = m;
	usm__msg_compute_data_pointers(&ctx);
	assert_int_equal(ctx.md.size, r->len);
	if (!r->len) {
		assert_null(ctx.md.data);
		return;
	}
	d = ctx.md.data;
	assert_int_equal((uint8_t *)ctx.md.data_end - d, lay->len[0]);
	for (i = 0; i < lay->len[0]; i++)
		assert_int_equal(d[i], r->v[i] < 0 ? 0 : r->v[i]);
}

/* MSG-12: insert at every offset incl. chunk boundaries, first byte,
 * append (start == size), at every fill level and ring position. */
static void test_push_every_position_msg12(void **state)
{
	static const uint32_t lens[] = { 1, 2, 5 };

	FOR_EACH_CASE(lc, slot) {
		uint32_t size = lay_size(lc), start, k;

		for (start = 0; start <= size; start++) {
			for (k = 0; k < 3; k++) {
				struct usm_sk_msg m;
				struct msgt_layout lay;
				struct msgt_ref r;

				msgt_build(&m, slot, lc->lens, lc->n, 9, &lay);
				msgt_ref_init(&r, size, 9);
				assert_int_equal(usm__msg_push(&m, start,
							       lens[k], 0), 0);
				msgt_ref_push(&r, start, lens[k]);
				lay_push(&lay, start, lens[k]);
				msgt_check_all(&m, &r, &lay);
				check_first_chunk(&m, &r, &lay);
				usm__msg_fini(&m);
				msgt_ref_fini(&r);
			}
		}
	}
}

/* MSG-13: remove every [start, start + len) incl. first/last byte, whole
 * chunks, ranges across chunks, the whole message. */
static void test_pop_every_range_msg13(void **state)
{
	FOR_EACH_CASE(lc, slot) {
		uint32_t size = lay_size(lc), start, len;

		for (start = 0; start < size; start++) {
			for (len = 1; start + len <= size; len++) {
				struct usm_sk_msg m;
				struct msgt_layout lay;
				struct msgt_ref r;

				msgt_build(&m, slot, lc->lens, lc->n, 3, &lay);
				msgt_ref_init(&r, size, 3);
				assert_int_equal(usm__msg_pop(&m, start, len, 0),
						 0);
				msgt_ref_pop(&r, start, len);
				lay_pop(&lay, start, len);
				msgt_check_all(&m, &r, &lay);
				check_first_chunk(&m, &r, &lay);
				usm__msg_fini(&m);
				msgt_ref_fini(&r);
			}
		}
	}
}

/* MSG-11: every [start, end): data covers exactly the range; a range in
 * one chunk moves nothing, a spanning one merges whole chunks. */
static void test_pull_every_range_msg11(void **state)
{
	FOR_EACH_CASE(lc, slot) {
		uint32_t size = lay_size(lc), start, end, i;

		for (start = 0; start < size; start++) {
			for (end = start + 1; end <= size; end++) {
				struct usm_sk_msg m;
				struct msgt_layout lay;
				struct msgt_ref r;
				uint8_t *d = NULL, *orig;
				uint32_t off, k;
				bool nocopy;

				msgt_build(&m, slot, lc->lens, lc->n, 5, &lay);
				msgt_ref_init(&r, size, 5);
				k = usm__msg_find(&m, start, &off);
				orig = usm__msg_chunk_ptr(&m.sg[k]);
				nocopy = end - off <= m.sg[k].len;
				assert_int_equal(
					usm__msg_pull(&m, start, end, 0, &d), 0);
				lay_pull(&lay, start, end);
				msgt_check_all(&m, &r, &lay);
				for (i = start; i < end; i++)
					assert_int_equal(d[i - start], r.v[i]);
				if (nocopy) /* in one chunk: same memory */
					assert_ptr_equal(d, orig + start - off);
				else
					assert_true(d != orig + start - off);
				usm__msg_fini(&m);
				msgt_ref_fini(&r);
			}
		}
	}
}

/* MSG-11 errors, in the kernel's order, message unchanged. */
static void test_pull_errors_msg11(void **state)
{
	struct usm_sk_msg m;
	struct msgt_layout lay;
	struct msgt_ref r;
	uint8_t *d = NULL;

	msgt_build(&m, 3, L4, 4, 1, &lay);
	msgt_ref_init(&r, 16, 1);
	assert_int_equal(usm__msg_pull(&m, 0, 1, 1, &d), -EINVAL);   /* flags */
	assert_int_equal(usm__msg_pull(&m, 0, 0, 0, &d), -EINVAL);   /* (0,0) */
	assert_int_equal(usm__msg_pull(&m, 5, 5, 0, &d), -EINVAL);   /* end == start */
	assert_int_equal(usm__msg_pull(&m, 6, 5, 0, &d), -EINVAL);   /* end < start */
	assert_int_equal(usm__msg_pull(&m, 16, 17, 0, &d), -EINVAL); /* start == size */
	assert_int_equal(usm__msg_pull(&m, 40, 41, 0, &d), -EINVAL); /* start > size */
	assert_int_equal(usm__msg_pull(&m, 0, 17, 0, &d), -EINVAL);  /* end > size */
	assert_int_equal(usm__msg_pull(&m, 15, 0xffffffffu, 0, &d), -EINVAL);
	assert_null(d);
	msgt_check_all(&m, &r, &lay);
	usm__msg_fini(&m);
	msgt_ref_fini(&r);
}

/* MSG-12 errors and no-ops. */
static void test_push_errors_msg12(void **state)
{
	struct usm_sk_msg m;
	struct msgt_layout lay;
	struct msgt_ref r;

	msgt_build(&m, 0, L4, 4, 1, &lay);
	msgt_ref_init(&r, 16, 1);
	assert_int_equal(usm__msg_push(&m, 0, 1, 1), -EINVAL);  /* flags */
	assert_int_equal(usm__msg_push(&m, 0, 0, 1), -EINVAL);  /* flags first */
	assert_int_equal(usm__msg_push(&m, 3, 0, 0), 0);        /* len 0 */
	assert_int_equal(usm__msg_push(&m, 99, 0, 0), 0);       /* len 0 first */
	assert_int_equal(usm__msg_push(&m, 17, 1, 0), -EINVAL); /* start > size */
	/* No single allocation beyond the kernel's 4 MiB page order limit. */
	assert_int_equal(usm__msg_push(&m, 0, USM_MSG_MAX_ALLOC + 1, 0),
			 -ENOMEM);
	assert_int_equal(usm__msg_push(&m, 16, 0xffffffffu, 0), -ENOMEM);
	msgt_check_all(&m, &r, &lay);
	usm__msg_fini(&m);
	msgt_ref_fini(&r);

	/* Full ring, start inside a chunk: the copy path's length overflows
	 * (chunk length + len wraps) -> -EINVAL; at a boundary too. */
	msgt_build(&m, 5, L17, 17, 1, &lay);
	msgt_ref_init(&r, 32, 1);
	assert_int_equal(usm__msg_push(&m, 1, 0xffffffffu, 0), -EINVAL);
	assert_int_equal(usm__msg_push(&m, 3, 0xfffffffeu, 0), -EINVAL);
	/* ... but appending to a full ring only allocates len (-ENOMEM). */
	assert_int_equal(usm__msg_push(&m, 32, 0xffffffffu, 0), -ENOMEM);
	msgt_check_all(&m, &r, &lay);
	usm__msg_fini(&m);
	msgt_ref_fini(&r);
}

/* A 4 MiB push is the largest that works (MSG-12 -ENOMEM boundary). */
static void test_push_4mib_limit_msg12(void **state)
{
	struct usm_sk_msg m;
	struct msgt_layout lay;
	struct msgt_ref r;

	msgt_build(&m, 0, L4, 4, 1, &lay);
	msgt_ref_init(&r, 16, 1);
	assert_int_equal(usm__msg_push(&m, 5, USM_MSG_MAX_ALLOC, 0), 0);
	msgt_ref_push(&r, 5, USM_MSG_MAX_ALLOC);
	lay_push(&lay, 5, USM_MSG_MAX_ALLOC);
	msgt_check_all(&m, &r, &lay);
	/* Pulling across the 4 MiB chunk would need more than 4 MiB. */
	{
		uint8_t *d;

		assert_int_equal(usm__msg_pull(&m, 0, 6 + USM_MSG_MAX_ALLOC, 0,
					       &d),
				 -ENOMEM);
	}
	msgt_check_all(&m, &r, &lay);
	usm__msg_fini(&m);
	msgt_ref_fini(&r);
}

/* MSG-13 errors; the example from the kernel's selftests: pop(0x48a3,
 * 0xfffffffd) on a 32 KiB message is -EINVAL (start + len wraps in 32
 * bits but not in 64). */
static void test_pop_errors_msg13(void **state)
{
	static uint8_t big[32768];
	struct usm_msg_frag frag;
	struct usm_sk_msg m;
	struct msgt_layout lay;
	struct msgt_ref r;
	uint32_t i;

	msgt_build(&m, 0, L4, 4, 1, &lay);
	msgt_ref_init(&r, 16, 1);
	assert_int_equal(usm__msg_pop(&m, 0, 1, 2), -EINVAL);   /* flags */
	assert_int_equal(usm__msg_pop(&m, 0, 0, 2), -EINVAL);   /* flags first */
	assert_int_equal(usm__msg_pop(&m, 3, 0, 0), 0);         /* len 0 */
	assert_int_equal(usm__msg_pop(&m, 99, 0, 0), 0);        /* len 0 first */
	assert_int_equal(usm__msg_pop(&m, 16, 1, 0), -EINVAL);  /* start == size */
	assert_int_equal(usm__msg_pop(&m, 20, 1, 0), -EINVAL);  /* start > size */
	assert_int_equal(usm__msg_pop(&m, 10, 7, 0), -EINVAL);  /* end > size */
	assert_int_equal(usm__msg_pop(&m, 1, 0xffffffffu, 0), -EINVAL);
	msgt_check_all(&m, &r, &lay);
	usm__msg_fini(&m);
	msgt_ref_fini(&r);

	for (i = 0; i < sizeof(big); i++)
		big[i] = msgt_pat(i, 0);
	usm__msg_init(&m);
	usm__msg_frag_init(&frag);
	assert_int_equal(usm__msg_append_buf(&m, &frag, big, sizeof(big)),
			 32768);
	assert_int_equal(usm__msg_pop(&m, 0x48a3, 0xfffffffdu, 0), -EINVAL);
	msgt_ref_init(&r, 32768, 0);
	lay.n = 1;
	lay.len[0] = 32768;
	msgt_check_all(&m, &r, &lay);
	usm__msg_fini(&m);
	usm__msg_frag_fini(&frag);
	msgt_ref_fini(&r);
}

/* Operations on an empty message (everything popped). */
static void test_empty_message_ops(void **state)
{
	struct usm_sk_msg m;
	struct msgt_layout lay;
	struct msgt_ref r;
	uint8_t *d;

	msgt_build(&m, 11, L4, 4, 1, &lay);
	msgt_ref_init(&r, 16, 1);
	assert_int_equal(usm__msg_pop(&m, 0, 16, 0), 0);
	msgt_ref_pop(&r, 0, 16);
	lay_pop(&lay, 0, 16);
	msgt_check_all(&m, &r, &lay);
	check_first_chunk(&m, &r, &lay);
	assert_int_equal(usm__msg_pull(&m, 0, 1, 0, &d), -EINVAL);
	assert_int_equal(usm__msg_pop(&m, 0, 1, 0), -EINVAL);
	assert_int_equal(usm__msg_push(&m, 1, 1, 0), -EINVAL);
	assert_int_equal(usm__msg_push(&m, 0, 3, 0), 0);
	msgt_ref_push(&r, 0, 3);
	lay_push(&lay, 0, 3);
	msgt_check_all(&m, &r, &lay);
	check_first_chunk(&m, &r, &lay);
	usm__msg_fini(&m);
	msgt_ref_fini(&r);
}

/* Appending to a full ring merges into the last chunk, and the ring stays
 * usable: later calls act on the right bytes. (The kernel's ring breaks
 * here; see push_append_full and test_msg_kernel.c.) */
static void test_full_ring_append_then_more(void **state)
{
	struct usm_sk_msg m;
	struct msgt_layout lay;
	struct msgt_ref r;
	uint8_t *d;

	msgt_build(&m, 6, L17, 17, 12, &lay);
	msgt_ref_init(&r, 32, 12);
	assert_int_equal(usm__msg_push(&m, 32, 3, 0), 0);
	msgt_ref_push(&r, 32, 3);
	lay_push(&lay, 32, 3);
	assert_int_equal(lay.len[16], 5);
	msgt_check_all(&m, &r, &lay);
	assert_int_equal(usm__msg_push(&m, 33, 2, 0), 0);
	msgt_ref_push(&r, 33, 2);
	lay_push(&lay, 33, 2);
	assert_int_equal(usm__msg_pop(&m, 0, 3, 0), 0);
	msgt_ref_pop(&r, 0, 3);
	lay_pop(&lay, 0, 3);
	assert_int_equal(usm__msg_pull(&m, 20, 34, 0, &d), 0);
	lay_pull(&lay, 20, 34);
	msgt_check_all(&m, &r, &lay);
	assert_int_equal(m.size, 34);
	usm__msg_fini(&m);
	msgt_ref_fini(&r);
}

/* MSG-14: helpers act in call order. test_sockmap's push_pop case:
 * push(1, 10) then pop(5, 4) removes 4 of the pushed bytes, so the
 * receiver sees byte 0, 6 pushed bytes, then bytes 1.. unchanged. */
static void test_push_then_pop_call_order_msg14(void **state)
{
	static const uint32_t lens[] = { 4096, 4096, 2000 };
	struct usm_sk_msg m;
	struct msgt_ref r;
	uint8_t *flat;
	uint32_t i, n = 4096 * 2 + 2000;

	msgt_build(&m, 0, lens, 3, 0, NULL);
	assert_int_equal(usm__msg_push(&m, 1, 10, 0), 0);
	assert_int_equal(usm__msg_pop(&m, 5, 4, 0), 0);
	assert_int_equal(m.size, n + 6);
	flat = malloc(n + 6);
	assert_non_null(flat);
	assert_int_equal(usm__msg_read(&m, 0, flat, n + 6), n + 6);
	assert_int_equal(flat[0], msgt_pat(0, 0));
	for (i = 1; i < 7; i++)
		assert_int_equal(flat[i], 0);
	for (i = 7; i < n + 6; i++)
		assert_int_equal(flat[i], msgt_pat(i - 6, 0));
	free(flat);
	/* The same through the model. */
	msgt_ref_init(&r, n, 0);
	msgt_ref_push(&r, 1, 10);
	msgt_ref_pop(&r, 5, 4);
	msgt_check_all(&m, &r, NULL);
	msgt_ref_fini(&r);
	usm__msg_fini(&m);
}

/* -ENOMEM paths leave the message unchanged; paths that need no memory
 * succeed even when the next allocation would fail. */
static void test_alloc_failure_ops(void **state)
{
	struct usm_sk_msg m;
	struct msgt_layout lay = { 0 }, lay17 = { 0 };
	struct msgt_ref r, r17;
	uint8_t *d;

	msgt_build(&m, 16, L4, 4, 2, &lay);
	msgt_ref_init(&r, 16, 2);
	usm__msg_fail_alloc_after(0);
	assert_int_equal(usm__msg_pull(&m, 3, 7, 0, &d), -ENOMEM);
	usm__msg_fail_alloc_after(0);
	assert_int_equal(usm__msg_push(&m, 3, 2, 0), -ENOMEM);
	usm__msg_fail_alloc_after(0);
	assert_int_equal(usm__msg_push(&m, 16, 2, 0), -ENOMEM);
	msgt_check_all(&m, &r, &lay);
	usm__msg_fail_alloc_after(0);
	assert_int_equal(usm__msg_pull(&m, 0, 5, 0, &d), 0); /* no copy */
	assert_int_equal(usm__msg_pop(&m, 1, 2, 0), 0); /* split: no copy */
	usm__msg_fail_alloc_after(-1);
	msgt_ref_pop(&r, 1, 2);
	lay_pop(&lay, 1, 2);
	msgt_check_all(&m, &r, &lay);
	usm__msg_fini(&m);
	msgt_ref_fini(&r);

	/* Full ring: push and an inner pop must copy. */
	msgt_build(&m, 9, L17, 17, 4, &lay17);
	msgt_ref_init(&r17, 32, 4);
	usm__msg_fail_alloc_after(0);
	assert_int_equal(usm__msg_pop(&m, 10, 1, 0), -ENOMEM); /* in a 4-chunk */
	usm__msg_fail_alloc_after(0);
	assert_int_equal(usm__msg_push(&m, 0, 1, 0), -ENOMEM);
	usm__msg_fail_alloc_after(0);
	assert_int_equal(usm__msg_push(&m, 32, 1, 0), -ENOMEM);
	msgt_check_all(&m, &r17, &lay17);
	usm__msg_fail_alloc_after(0);
	assert_int_equal(usm__msg_pop(&m, 5, 4, 0), 0); /* whole chunk */
	usm__msg_fail_alloc_after(-1);
	msgt_ref_pop(&r17, 5, 4);
	lay_pop(&lay17, 5, 4);
	msgt_check_all(&m, &r17, &lay17);
	usm__msg_fini(&m);
	msgt_ref_fini(&r17);
}

/* Random sequences of valid and invalid calls, each checked against the
 * argument rules and both models: shakes out ring index bugs. */
static int expect_push(const struct msgt_ref *r, uint32_t s, uint32_t l,
		       uint64_t f)
{
	return f ? -EINVAL : !l ? 0 : s > r->len ? -EINVAL : 1;
}

static int expect_pop(const struct msgt_ref *r, uint32_t s, uint32_t l,
		      uint64_t f)
{
	if (f)
		return -EINVAL;
	if (!l)
		return 0;
	return s >= r->len || (uint64_t)s + l > r->len ? -EINVAL : 1;
}

static int expect_pull(const struct msgt_ref *r, uint32_t s, uint32_t e,
		       uint64_t f)
{
	return f || e <= s || s >= r->len || e > r->len ? -EINVAL : 1;
}

static void random_step(struct usm_sk_msg *m, struct msgt_ref *r,
			struct msgt_layout *lay, unsigned *seed)
{
	uint32_t op = (uint32_t)rand_r(seed) % 3;
	uint32_t span = r->len + 3;
	uint32_t a = (uint32_t)rand_r(seed) % span;
	uint32_t b = (uint32_t)rand_r(seed) % 7;
	uint64_t f = rand_r(seed) % 40 == 0 ? 1 : 0;
	uint8_t *d;
	int want, got;

	if (op == 0) {
		want = expect_push(r, a, b, f);
		got = usm__msg_push(m, a, b, f);
		assert_int_equal(got, want > 0 ? 0 : want);
		if (want > 0) {
			msgt_ref_push(r, a, b);
			lay_push(lay, a, b);
		}
	} else if (op == 1) {
		want = expect_pop(r, a, b, f);
		assert_int_equal(usm__msg_pop(m, a, b, f), want > 0 ? 0 : want);
		if (want > 0) {
			msgt_ref_pop(r, a, b);
			lay_pop(lay, a, b);
		}
	} else {
		b = a + b;
		want = expect_pull(r, a, b, f);
		assert_int_equal(usm__msg_pull(m, a, b, f, &d),
				 want > 0 ? 0 : want);
		if (want > 0)
			lay_pull(lay, a, b);
	}
	msgt_check_all(m, r, lay);
}

static void test_random_sequences_msg11_14(void **state)
{
	unsigned seed = 12345;
	int round, step;

	for (round = 0; round < 300; round++) {
		uint32_t lens[MSGT_MAX], n = 1 + (uint32_t)rand_r(&seed) % 17;
		uint32_t slot = (uint32_t)rand_r(&seed) % USM_MSG_NR_IDS;
		uint32_t i, size = 0;
		struct usm_sk_msg m;
		struct msgt_layout lay;
		struct msgt_ref r;

		for (i = 0; i < n; i++) {
			lens[i] = 1 + (uint32_t)rand_r(&seed) % 9;
			size += lens[i];
		}
		msgt_build(&m, slot, lens, n, (uint8_t)round, &lay);
		msgt_ref_init(&r, size, (uint8_t)round);
		for (step = 0; step < 60 && r.len < 400; step++)
			random_step(&m, &r, &lay, &seed);
		usm__msg_fini(&m);
		msgt_ref_fini(&r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_push_every_position_msg12),
		cmocka_unit_test(test_pop_every_range_msg13),
		cmocka_unit_test(test_pull_every_range_msg11),
		cmocka_unit_test(test_pull_errors_msg11),
		cmocka_unit_test(test_push_errors_msg12),
		cmocka_unit_test(test_push_4mib_limit_msg12),
		cmocka_unit_test(test_pop_errors_msg13),
		cmocka_unit_test(test_empty_message_ops),
		cmocka_unit_test(test_full_ring_append_then_more),
		cmocka_unit_test(test_push_then_pop_call_order_msg14),
		cmocka_unit_test(test_alloc_failure_ops),
		cmocka_unit_test(test_random_sequences_msg11_14),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
