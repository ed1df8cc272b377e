/* SPDX-License-Identifier: MIT */
/*
 * The sk_msg ring basics: index arithmetic and wrap-around, a full ring of
 * 17 chunks, copy-in geometry from the sender's page frag (MSG-03/06: the
 * chunk sizes the kernel's tcp_bpf_sendmsg produces, measured on the
 * kernel and compared live in test_msg_kernel.c), corked appends that
 * extend the last chunk (MSG-08), copy-in from a file (MSG-22), copy-out,
 * trim, consume from the front (MSG-07 remainder), clone, and allocation
 * failures.
 */
#include "msgt.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "../../../src/progtype/progtype.h"

static uint8_t *pattern(uint32_t len, uint8_t seed)
{
	uint8_t *p = malloc(len ? len : 1);
	uint32_t i;

	assert_non_null(p);
	for (i = 0; i < len; i++)
		p[i] = msgt_pat(i, seed);
	return p;
}

static void first_chunk(struct usm_sk_msg *m, uint32_t *size, uint32_t *span)
{
	struct usm_msg_ctx ctx;

	memset(&ctx, 0, sizeof(ctx));
	ctx.msg = m;
	usm__msg_compute_data_pointers(&ctx);
	*size = ctx.md.size;
	*span = (uint32_t)((uint8_t *)ctx.md.data_end - (uint8_t *)ctx.md.data);
}

static void test_ring_index_helpers(void **state)
{
	struct usm_sk_msg m;

	assert_int_equal(USM_MSG_NR_IDS, 18);
	assert_int_equal(usm__msg_next(0), 1);
	assert_int_equal(usm__msg_next(17), 0);
	assert_int_equal(usm__msg_prev(0), 17);
	assert_int_equal(usm__msg_prev(5), 4);
	assert_int_equal(usm__msg_add(16, 3), 1);
	assert_int_equal(usm__msg_dist(3, 3), 0);
	assert_int_equal(usm__msg_dist(3, 10), 7);
	assert_int_equal(usm__msg_dist(10, 3), 11); /* wrapped */
	assert_int_equal(usm__msg_dist(1, 0), 17);
	usm__msg_init(&m);
	m.start = 12;
	m.end = 11; /* 17 used, wrapped */
	assert_true(usm__msg_full(&m));
	m.end = 10;
	assert_false(usm__msg_full(&m));
	assert_int_equal(usm__msg_elem_used(&m), 16);
}

/* A full ring of 17 chunks starting at every slot: invariants, content,
 * and no room for an 18th (MSG-06: at most MAX_SKB_FRAGS chunks). */
static void test_full_ring_every_start(void **state)
{
	uint32_t lens[17], slot, i, size = 0;

	for (i = 0; i < 17; i++) {
		lens[i] = i + 1;
		size += i + 1;
	}
	for (slot = 0; slot < USM_MSG_NR_IDS; slot++) {
		struct usm_msg_frag frag;
		struct usm_sk_msg m;
		struct msgt_layout lay;
		struct msgt_ref r;

		msgt_build(&m, slot, lens, 17, 7, &lay);
		msgt_ref_init(&r, size, 7);
		assert_true(usm__msg_full(&m));
		msgt_check_all(&m, &r, &lay);
		usm__msg_frag_init(&frag);
		/* The last chunk is not the frag's: nothing can be added. */
		assert_int_equal(usm__msg_append_buf(&m, &frag, "x", 1),
				 -ENOSPC);
		msgt_check_all(&m, &r, &lay);
		usm__msg_frag_fini(&frag);
		assert_int_equal(usm__msg_fini(&m), size);
		msgt_check_ring(&m);
		assert_int_equal(m.size, 0);
		msgt_ref_fini(&r);
	}
}

/* MSG-03/06: a send is cut into 32 KiB frag chunks, at most 17 per
 * message (557056 bytes); data/data_end span the first chunk. */
static void test_append_geometry_msg03_msg06(void **state)
{
	static const struct { uint32_t len, size, span, nchunks; } cases[] = {
		{ 100, 100, 100, 1 },
		{ 4096, 4096, 4096, 1 },
		{ 32768, 32768, 32768, 1 },
		{ 32769, 32769, 32768, 2 },
		{ 100000, 100000, 32768, 4 },
		{ 557056, 557056, 32768, 17 },
		{ 600000, 557056, 32768, 17 },
	};
	size_t k;

	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		uint8_t *p = pattern(cases[k].len, 1);
		struct usm_msg_frag frag;
		struct usm_sk_msg m;
		struct msgt_ref r;
		uint32_t size, span;

		usm__msg_init(&m);
		usm__msg_frag_init(&frag);
		assert_int_equal(usm__msg_append_buf(&m, &frag, p, cases[k].len),
				 cases[k].size);
		first_chunk(&m, &size, &span);
		assert_int_equal(size, cases[k].size);
		assert_int_equal(span, cases[k].span);
		assert_int_equal(usm__msg_elem_used(&m), cases[k].nchunks);
		msgt_ref_init(&r, cases[k].size, 1);
		msgt_check_all(&m, &r, NULL);
		if (cases[k].size < cases[k].len) /* full: the rest waits */
			assert_int_equal(usm__msg_append_buf(&m, &frag, p, 1),
					 -ENOSPC);
		msgt_ref_fini(&r);
		usm__msg_fini(&m);
		usm__msg_frag_fini(&frag);
		free(p);
	}
}

/* MSG-08: corked sends append to the held message; a chunk that ends
 * where the frag continues grows instead of taking a new slot, so the
 * program later sees the accumulated bytes as one chunk. */
static void test_append_coalesces_cork_msg08(void **state)
{
	uint8_t *p = pattern(40000, 2);
	struct usm_msg_frag frag;
	struct usm_sk_msg m;
	struct msgt_ref r;
	uint32_t size, span, i;

	usm__msg_init(&m);
	usm__msg_frag_init(&frag);
	for (i = 0; i < 10; i++)
		assert_int_equal(usm__msg_append_buf(&m, &frag, p + 100 * i, 100),
				 100);
	assert_int_equal(usm__msg_elem_used(&m), 1);
	first_chunk(&m, &size, &span);
	assert_int_equal(size, 1000);
	assert_int_equal(span, 1000);
	/* Fill past the frag: the rest of this frag, then a new one. */
	assert_int_equal(usm__msg_append_buf(&m, &frag, p + 1000, 39000),
			 39000);
	assert_int_equal(usm__msg_elem_used(&m), 2);
	assert_int_equal(m.sg[m.start].len, 32768);
	msgt_ref_init(&r, 40000, 2);
	msgt_check_all(&m, &r, NULL);
	msgt_ref_fini(&r);
	usm__msg_fini(&m);
	usm__msg_frag_fini(&frag);
	free(p);
}

/* The frag is the sender's, not the message's: a new message continues
 * where the frag's last holder stopped while that holder lives (the first
 * chunk is then shorter), and restarts at 0 once nobody holds it. */
static void test_frag_shared_between_messages(void **state)
{
	uint8_t *p = pattern(40000, 3);
	struct usm_msg_frag frag;
	struct usm_sk_msg a, b;
	uint32_t size, span;

	usm__msg_init(&a);
	usm__msg_init(&b);
	usm__msg_frag_init(&frag);
	assert_int_equal(usm__msg_append_buf(&a, &frag, p, 100), 100);
	assert_int_equal(usm__msg_append_buf(&b, &frag, p, 40000), 40000);
	first_chunk(&b, &size, &span);
	assert_int_equal(span, 32768 - 100);
	assert_ptr_equal(a.sg[a.start].buf, b.sg[b.start].buf);
	assert_int_equal(b.sg[b.start].off, 100);
	usm__msg_fini(&a);
	usm__msg_fini(&b);
	assert_int_equal(frag.buf->refcnt, 1);
	assert_int_equal(usm__msg_append_buf(&b, &frag, p, 40000), 40000);
	first_chunk(&b, &size, &span);
	assert_int_equal(span, 32768);
	usm__msg_fini(&b);
	/* Fewer than 32 bytes left in a held frag: a new frag. */
	assert_int_equal(usm__msg_append_buf(&a, &frag, p, 32768 - 20),
			 32768 - 20);
	assert_int_equal(usm__msg_append_buf(&b, &frag, p, 50), 50);
	assert_true(a.sg[a.start].buf != b.sg[b.start].buf);
	assert_int_equal(b.sg[b.start].off, 0);
	usm__msg_fini(&a);
	usm__msg_fini(&b);
	usm__msg_frag_fini(&frag);
	free(p);
}

static void test_append_iov_skip(void **state)
{
	uint8_t *p = pattern(300, 4);
	struct iovec iov[3] = {
		{ .iov_base = p, .iov_len = 10 },
		{ .iov_base = p + 10, .iov_len = 0 },
		{ .iov_base = p + 10, .iov_len = 290 },
	};
	struct usm_msg_frag frag;
	struct usm_sk_msg m;
	uint8_t out[300];

	usm__msg_init(&m);
	usm__msg_frag_init(&frag);
	assert_int_equal(usm__msg_append_iov(&m, &frag, iov, 3, 4, 200), 200);
	assert_int_equal(usm__msg_read(&m, 0, out, sizeof(out)), 200);
	assert_memory_equal(out, p + 4, 200);
	/* The iovec holds fewer bytes than asked for: what it has. */
	assert_int_equal(usm__msg_append_iov(&m, &frag, iov, 3, 250, 200), 50);
	assert_int_equal(m.size, 250);
	assert_int_equal(usm__msg_read(&m, 200, out, 100), 50);
	assert_memory_equal(out, p + 250, 50);
	assert_int_equal(usm__msg_append_iov(&m, &frag, iov, 3, 0, 0), 0);
	msgt_check_ring(&m);
	usm__msg_fini(&m);
	usm__msg_frag_fini(&frag);
	free(p);
}

/* MSG-22: sendfile copies file bytes in as sendmsg does. */
static void test_append_fd_msg22(void **state)
{
	uint8_t *p = pattern(70000, 5), *out = malloc(70000);
	char path[] = "/tmp/usm_msg_fd_XXXXXX";
	struct usm_msg_frag frag;
	struct usm_sk_msg m;
	uint32_t size, span;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_non_null(out);
	unlink(path);
	assert_int_equal(write(fd, p, 70000), 70000);
	usm__msg_init(&m);
	usm__msg_frag_init(&frag);
	assert_int_equal(usm__msg_append_fd(&m, &frag, fd, 5, USM_MSG_SPLICE_MAX),
			 USM_MSG_SPLICE_MAX);
	first_chunk(&m, &size, &span);
	assert_int_equal(size, 65536);
	assert_int_equal(span, 32768);
	assert_int_equal(usm__msg_read(&m, 0, out, 70000), 65536);
	assert_memory_equal(out, p + 5, 65536);
	/* A short file appends what it has; at EOF nothing. */
	assert_int_equal(usm__msg_append_fd(&m, &frag, fd, 65541, 60000), 4459);
	assert_int_equal(usm__msg_append_fd(&m, &frag, fd, 70000, 10), 0);
	assert_int_equal(m.size, 69995);
	assert_int_equal(usm__msg_read(&m, 0, out, 70000), 69995);
	assert_memory_equal(out, p + 5, 69995);
	msgt_check_ring(&m);
	close(fd);
	/* A read error changes nothing. */
	assert_int_equal(usm__msg_append_fd(&m, &frag, fd, 0, 10), -EBADF);
	assert_int_equal(m.size, 69995);
	msgt_check_ring(&m);
	usm__msg_fini(&m);
	usm__msg_frag_fini(&frag);
	free(p);
	free(out);
}

static void test_read_iov_and_to_iov(void **state)
{
	static const uint32_t lens[] = { 3, 5, 2 };
	struct usm_sk_msg m;
	uint8_t a[4], b[10];
	struct iovec in[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
	struct iovec out[4];
	uint32_t i;

	msgt_build(&m, 16, lens, 3, 6, NULL);
	assert_int_equal(usm__msg_read_iov(&m, 1, in, 2), 9);
	for (i = 0; i < 4; i++)
		assert_int_equal(a[i], msgt_pat(1 + i, 6));
	for (i = 0; i < 5; i++)
		assert_int_equal(b[i], msgt_pat(5 + i, 6));
	assert_int_equal(usm__msg_read(&m, 10, a, 4), 0);
	assert_int_equal(usm__msg_read(&m, 99, a, 4), 0);
	assert_int_equal(usm__msg_to_iov(&m, 7, out, 4), 2);
	assert_int_equal(out[0].iov_len, 3);
	assert_int_equal(out[1].iov_len, 4);
	assert_ptr_equal(out[1].iov_base, usm__msg_chunk_ptr(&m.sg[17]));
	assert_int_equal(usm__msg_to_iov(&m, 100, out, 2), 2);
	assert_int_equal(usm__msg_to_iov(&m, 100, out, 4), 3);
	assert_int_equal(out[2].iov_len, 2);
	usm__msg_fini(&m);
}

static void test_trim(void **state)
{
	static const uint32_t lens[] = { 3, 5, 2 };
	struct usm_sk_msg m;
	struct msgt_layout lay;
	struct msgt_ref r;

	msgt_build(&m, 15, lens, 3, 8, &lay);
	msgt_ref_init(&r, 10, 8);
	usm__msg_trim(&m, 10);
	usm__msg_trim(&m, 99);
	msgt_check_all(&m, &r, &lay);
	usm__msg_trim(&m, 8); /* exactly a chunk boundary */
	r.len = 8;
	lay.n = 2;
	msgt_check_all(&m, &r, &lay);
	usm__msg_trim(&m, 4); /* inside a chunk */
	r.len = 4;
	lay.len[1] = 1;
	msgt_check_all(&m, &r, &lay);
	usm__msg_trim(&m, 0);
	r.len = 0;
	lay.n = 0;
	msgt_check_all(&m, &r, &lay);
	msgt_ref_fini(&r);
	usm__msg_fini(&m);
}

/* MSG-07: after the first n bytes got their verdict the program runs on
 * the rest, its data starting at byte n. */
static void test_consume_front_msg07(void **state)
{
	static const uint32_t lens[] = { 3, 5, 2 };
	struct usm_sk_msg m;
	struct msgt_ref r;
	uint32_t size, span;
	const uint8_t *d;
	struct usm_msg_ctx ctx;

	msgt_build(&m, 17, lens, 3, 9, NULL);
	msgt_ref_init(&r, 10, 9);
	usm__msg_consume(&m, 4); /* whole first chunk and 1 byte */
	msgt_ref_pop(&r, 0, 4);
	msgt_check_all(&m, &r, NULL);
	first_chunk(&m, &size, &span);
	assert_int_equal(size, 6);
	assert_int_equal(span, 4);
	memset(&ctx, 0, sizeof(ctx));
	ctx.msg = &m;
	usm__msg_compute_data_pointers(&ctx);
	d = ctx.md.data;
	assert_int_equal(d[0], msgt_pat(4, 9));
	usm__msg_consume(&m, 4); /* exactly to a boundary */
	msgt_ref_pop(&r, 0, 4);
	msgt_check_all(&m, &r, NULL);
	assert_int_equal(m.start, 1);
	usm__msg_consume(&m, 100);
	msgt_ref_pop(&r, 0, 2);
	msgt_check_all(&m, &r, NULL);
	assert_int_equal(m.start, m.end);
	msgt_ref_fini(&r);
	usm__msg_fini(&m);
}

/* sk_msg_clone: shares buffers (no copy), marks the chunks shared so a
 * program gets no data pointer into them (MSG-03) and pull copies first. */
static void test_clone_shares_and_marks(void **state)
{
	static const uint32_t lens[] = { 3, 5, 2 };
	struct usm_sk_msg src, dst;
	struct usm_msg_ctx ctx;
	struct msgt_ref r;
	uint8_t *d;

	msgt_build(&src, 12, lens, 3, 10, NULL);
	usm__msg_init(&dst);
	dst.start = dst.end = 17;
	assert_int_equal(usm__msg_clone(&dst, &src, 1, 8), 0);
	assert_int_equal(usm__msg_elem_used(&dst), 3);
	assert_ptr_equal(dst.sg[17].buf, src.sg[12].buf);
	assert_int_equal(src.sg[12].buf->refcnt, 2);
	assert_true(dst.sg[17].shared && dst.sg[0].shared);
	msgt_ref_init(&r, 10, 10);
	msgt_ref_pop(&r, 9, 1);
	msgt_ref_pop(&r, 0, 1);
	msgt_check_all(&dst, &r, NULL);
	memset(&ctx, 0, sizeof(ctx));
	ctx.msg = &dst;
	usm__msg_compute_data_pointers(&ctx);
	assert_null(ctx.md.data);
	assert_null(ctx.md.data_end);
	assert_int_equal(ctx.md.size, 8);
	/* pull on a shared chunk copies it even inside one chunk. */
	assert_int_equal(usm__msg_pull(&dst, 0, 1, 0, &d), 0);
	assert_false(dst.sg[17].shared);
	assert_true(dst.sg[17].buf != src.sg[12].buf);
	assert_int_equal(d[0], msgt_pat(1, 10));
	msgt_check_all(&dst, &r, NULL);
	/* Contiguous pieces of one buffer merge: clone a chunk in halves. */
	usm__msg_fini(&dst);
	assert_int_equal(usm__msg_clone(&dst, &src, 3, 2), 0);
	assert_int_equal(usm__msg_clone(&dst, &src, 5, 3), 0);
	assert_int_equal(usm__msg_elem_used(&dst), 1);
	assert_int_equal(dst.size, 5);
	assert_int_equal(usm__msg_clone(&dst, &src, 8, 3), -EINVAL);
	assert_int_equal(usm__msg_clone(&dst, &src, 0xffffffffu, 2), -EINVAL);
	usm__msg_fini(&dst);
	/* The source is intact and keeps working after the clone is gone. */
	assert_int_equal(src.sg[12].buf->refcnt, 1);
	msgt_ref_fini(&r);
	msgt_ref_init(&r, 10, 10);
	msgt_check_all(&src, &r, NULL);
	msgt_ref_fini(&r);
	usm__msg_fini(&src);
}

static void test_clone_into_full_enospc(void **state)
{
	static const uint32_t lens[] = { 1, 1, 1 };
	uint32_t l17[17], i;
	struct usm_sk_msg src, dst;

	for (i = 0; i < 17; i++)
		l17[i] = 2;
	msgt_build(&src, 0, lens, 3, 0, NULL);
	msgt_build(&dst, 4, l17, 16, 0, NULL);
	/* One slot left: the first piece fits, the second does not; what
	 * was added stays (as the kernel's sk_msg_clone). */
	assert_int_equal(usm__msg_clone(&dst, &src, 0, 3), -ENOSPC);
	assert_int_equal(dst.size, 33);
	msgt_check_ring(&dst);
	usm__msg_fini(&dst);
	usm__msg_fini(&src);
}

/* -ENOMEM from copy-in leaves the message as it was, including a last
 * chunk that had already been extended. */
static void test_append_alloc_failure(void **state)
{
	uint8_t *p = pattern(100000, 11);
	struct usm_msg_frag frag;
	struct usm_sk_msg m, *hm;
	struct msgt_ref r;

	usm__msg_init(&m);
	usm__msg_frag_init(&frag);
	usm__msg_fail_alloc_after(0);
	assert_int_equal(usm__msg_append_buf(&m, &frag, p, 10), -ENOMEM);
	assert_int_equal(m.size, 0);
	msgt_check_ring(&m);
	assert_int_equal(usm__msg_append_buf(&m, &frag, p, 1000), 1000);
	/* Extends the 1000-byte chunk, then needs a second frag: fails. */
	usm__msg_fail_alloc_after(0);
	assert_int_equal(usm__msg_append_buf(&m, &frag, p + 1000, 99000),
			 -ENOMEM);
	assert_int_equal(usm__msg_elem_used(&m), 1);
	assert_int_equal(m.sg[m.start].len, 1000);
	msgt_ref_init(&r, 1000, 11);
	msgt_check_all(&m, &r, NULL);
	msgt_ref_fini(&r);
	/* The failure was one-shot: the same append now works. */
	assert_int_equal(usm__msg_append_buf(&m, &frag, p + 1000, 99000),
			 99000);
	msgt_ref_init(&r, 100000, 11);
	msgt_check_all(&m, &r, NULL);
	msgt_ref_fini(&r);
	usm__msg_fini(&m);
	usm__msg_frag_fini(&frag);

	usm__msg_fail_alloc_after(0);
	assert_int_equal(usm__msg_new(&hm), -ENOMEM);
	assert_null(hm);
	assert_int_equal(usm__msg_new(&hm), 0);
	assert_int_equal(usm__msg_append_buf(hm, &frag, p, 5), 5);
	usm__msg_free(hm);
	usm__msg_free(NULL);
	usm__msg_frag_fini(&frag);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring_index_helpers),
		cmocka_unit_test(test_full_ring_every_start),
		cmocka_unit_test(test_append_geometry_msg03_msg06),
		cmocka_unit_test(test_append_coalesces_cork_msg08),
		cmocka_unit_test(test_frag_shared_between_messages),
		cmocka_unit_test(test_append_iov_skip),
		cmocka_unit_test(test_append_fd_msg22),
		cmocka_unit_test(test_read_iov_and_to_iov),
		cmocka_unit_test(test_trim),
		cmocka_unit_test(test_consume_front_msg07),
		cmocka_unit_test(test_clone_shares_and_marks),
		cmocka_unit_test(test_clone_into_full_enospc),
		cmocka_unit_test(test_append_alloc_failure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
