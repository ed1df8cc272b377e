/* SPDX-License-Identifier: MIT */
/*
 * sk_skb packet helpers called directly on a struct usm_skb_ctx: exact
 * return values and the exact bytes, len, data/data_end afterwards
 * (SEMANTICS SKB-24..28), plus load/store bytes, cookie, uid, and the
 * prototypes the verifier checks against (SKB-23, SKB-29). The kernel's
 * answers for the same calls are compared in test_skb_kernel.c.
 */
#include "usm_test.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../../src/helpers/helpers.h"
#include "../../../src/progtype/progtype.h"
#include "../../../src/sock/sock.h"
#include "../../../src/vm/vm.h"

#define E(x) ((uint64_t)(int64_t)(x))

struct fix {
	struct usm_skb_ctx c;
	struct usm_run run;
};

/* A ctx over @len bytes of @data with @head headroom, owned buffer. */
static void fix_init(struct fix *f, const char *data, uint32_t len,
		     uint32_t head, uint32_t tail)
{
	uint32_t cap = head + len + tail;
	uint8_t *buf = malloc(cap ? cap : 1);

	assert_non_null(buf);
	memset(buf, 0xee, cap);
	memcpy(buf + head, data, len);
	usm__skb_ctx_init(&f->c, buf, cap, head, len, true);
	memset(&f->run, 0, sizeof(f->run));
	f->run.ctx = &f->c;
}

static void fix_fini(struct fix *f)
{
	free(f->c.buf);
}

static uint64_t call(struct fix *f, const struct usm_helper *h, uint64_t a2,
		     uint64_t a3, uint64_t a4, uint64_t a5)
{
	return h->fn(&f->run, (uint64_t)(uintptr_t)&f->c, a2, a3, a4, a5);
}

/* The pointer view and md.len agree with buf/data_off/len/linear_len. */
static void check_view(const struct fix *f)
{
	assert_ptr_equal(f->c.data, f->c.buf + f->c.data_off);
	assert_ptr_equal(f->c.data_end,
			 f->c.buf + f->c.data_off + f->c.linear_len);
	assert_ptr_equal(f->c.data_meta, f->c.data);
	assert_int_equal(f->c.md.len, f->c.len);
	assert_true(f->c.linear_len <= f->c.len);
	assert_true(f->c.data_off + f->c.len <= f->c.cap);
}

static void check_bytes(const struct fix *f, const void *want, uint32_t len)
{
	assert_int_equal(f->c.len, len);
	if (len)
		assert_memory_equal(f->c.data, want, len);
	check_view(f);
}

/* SKB-26: the kernel selftest's three cases, and the cap. */
static void test_skb_26_change_tail(void **state)
{
	struct fix f;

	fix_init(&f, "Tr", 2, 0, 0);
	assert_int_equal(call(&f, &usm__h_skb_change_tail, 1, 0, 0, 0), 0);
	check_bytes(&f, "T", 1); /* "Tr" -> 1 byte */
	fix_fini(&f);

	fix_init(&f, "G", 1, 0, 0); /* no tailroom: the buffer grows */
	assert_int_equal(call(&f, &usm__h_skb_change_tail, 2, 0, 0, 0), 0);
	check_bytes(&f, "G\0", 2); /* "G" -> 2 bytes, zero appended */
	fix_fini(&f);

	fix_init(&f, "E", 1, 0, 0);
	assert_int_equal(call(&f, &usm__h_skb_change_tail, 65535, 0, 0, 0),
			 E(-EINVAL));
	check_bytes(&f, "E", 1); /* unchanged */
	assert_int_equal(call(&f, &usm__h_skb_change_tail, 16065, 0, 0, 0),
			 E(-EINVAL)); /* one past 16384 - 320 */
	assert_int_equal(call(&f, &usm__h_skb_change_tail, 2, 1, 0, 0),
			 E(-EINVAL)); /* flags */
	assert_int_equal(call(&f, &usm__h_skb_change_tail, 2, 1ull << 32, 0,
			      0), E(-EINVAL)); /* flags are u64 */
	check_bytes(&f, "E", 1);
	/* new_len is u32: 2^32 + 3 means 3 */
	assert_int_equal(call(&f, &usm__h_skb_change_tail, (1ull << 32) + 3,
			      0, 0, 0), 0);
	check_bytes(&f, "E\0\0", 3);
	assert_int_equal(call(&f, &usm__h_skb_change_tail, 16064, 0, 0, 0), 0);
	assert_int_equal(f.c.len, 16064);
	assert_int_equal(f.c.linear_len, 16064);
	assert_int_equal(((uint8_t *)f.c.data)[16063], 0);
	check_view(&f);
	assert_int_equal(call(&f, &usm__h_skb_change_tail, 0, 0, 0, 0), 0);
	check_bytes(&f, "", 0);
	fix_fini(&f);
}

/* change_tail makes the whole packet linear (it linearises first). */
static void test_skb_26_change_tail_linearises(void **state)
{
	struct fix f;

	fix_init(&f, "abcdef", 6, 4, 4);
	f.c.linear_len = 2;
	usm__skb_ctx_sync(&f.c);
	assert_int_equal(call(&f, &usm__h_skb_change_tail, 5, 0, 0, 0), 0);
	check_bytes(&f, "abcde", 5);
	assert_int_equal(f.c.linear_len, 5);
	fix_fini(&f);
}

/* Growth needs a buffer we may replace; a borrowed one answers -ENOMEM
 * (a failed allocation) and nothing changes. */
static void test_skb_grow_borrowed_buffer(void **state)
{
	uint8_t buf[8] = "xxabcd";
	struct usm_skb_ctx c;
	struct usm_run run = { 0 };

	usm__skb_ctx_init(&c, buf, sizeof(buf), 2, 4, false);
	assert_int_equal(usm__h_skb_change_tail.fn(&run, (uintptr_t)&c, 6, 0,
						   0, 0), 0); /* fits */
	assert_int_equal(c.len, 6);
	assert_int_equal(usm__h_skb_change_tail.fn(&run, (uintptr_t)&c, 7, 0,
						   0, 0), E(-ENOMEM));
	assert_int_equal(c.len, 6);
	assert_int_equal(usm__h_skb_change_head.fn(&run, (uintptr_t)&c, 2, 0,
						   0, 0), 0);
	assert_int_equal(c.data_off, 0);
	assert_int_equal(usm__h_skb_change_head.fn(&run, (uintptr_t)&c, 1, 0,
						   0, 0), E(-ENOMEM));
	assert_int_equal(usm__h_skb_adjust_room.fn(&run, (uintptr_t)&c, 1, 0,
						   0, 0), E(-ENOMEM));
	assert_ptr_equal(c.buf, buf);
	assert_int_equal(c.len, 8);
	assert_memory_equal(c.data, "\0\0ab", 4);
}

/* SKB-27 */
static void test_skb_27_change_head(void **state)
{
	struct fix f;

	fix_init(&f, "xyz", 3, 2, 0);
	assert_int_equal(call(&f, &usm__h_skb_change_head, 2, 0, 0, 0), 0);
	check_bytes(&f, "\0\0xyz", 5);
	assert_int_equal(f.c.linear_len, 5);
	/* no headroom left: the buffer is regrown */
	assert_int_equal(call(&f, &usm__h_skb_change_head, 3, 0, 0, 0), 0);
	check_bytes(&f, "\0\0\0\0\0xyz", 8);
	assert_int_equal(call(&f, &usm__h_skb_change_head, 0, 0, 0, 0), 0);
	check_bytes(&f, "\0\0\0\0\0xyz", 8);
	assert_int_equal(call(&f, &usm__h_skb_change_head, 1, 2, 0, 0),
			 E(-EINVAL)); /* flags */
	assert_int_equal(call(&f, &usm__h_skb_change_head, 16064 - 8 + 1, 0,
			      0, 0), E(-EINVAL)); /* above the cap */
	assert_int_equal(call(&f, &usm__h_skb_change_head, 0xfffffffful, 0, 0,
			      0), E(-EINVAL)); /* u32 overflow */
	check_bytes(&f, "\0\0\0\0\0xyz", 8);
	assert_int_equal(call(&f, &usm__h_skb_change_head, 16064 - 8, 0, 0, 0),
			 0);
	assert_int_equal(f.c.len, 16064);
	assert_memory_equal((uint8_t *)f.c.data + 16064 - 3, "xyz", 3);
	check_view(&f);
	fix_fini(&f);
}

/* SKB-28 */
static void test_skb_28_adjust_room(void **state)
{
	struct fix f;

	fix_init(&f, "hello", 5, 0, 0);
	assert_int_equal(call(&f, &usm__h_skb_adjust_room, 3, 0, 0, 0), 0);
	check_bytes(&f, "\0\0\0hello", 8);
	assert_int_equal(call(&f, &usm__h_skb_adjust_room, (uint32_t)-4, 0, 0,
			      0), 0);
	check_bytes(&f, "ello", 4);
	assert_int_equal(call(&f, &usm__h_skb_adjust_room, (uint32_t)-5, 0, 0,
			      0), E(-ENOMEM)); /* more than there is */
	check_bytes(&f, "ello", 4);
	assert_int_equal(call(&f, &usm__h_skb_adjust_room, 1, 1, 0, 0),
			 E(-EINVAL)); /* mode */
	assert_int_equal(call(&f, &usm__h_skb_adjust_room, 1, 0, 1, 0),
			 E(-EINVAL)); /* flags */
	assert_int_equal(call(&f, &usm__h_skb_adjust_room, 1, 1ull << 32, 0,
			      0), 0); /* mode is u32: high bits ignored */
	check_bytes(&f, "\0ello", 5);
	assert_int_equal(call(&f, &usm__h_skb_adjust_room, 0x1000, 0, 0, 0),
			 E(-EFAULT)); /* |diff| > 4095 */
	assert_int_equal(call(&f, &usm__h_skb_adjust_room, (uint32_t)-0x1000,
			      0, 0, 0), E(-EFAULT));
	assert_int_equal(call(&f, &usm__h_skb_adjust_room, 0x80000000u, 0, 0,
			      0), E(-EFAULT)); /* INT_MIN: abs overflows */
	assert_int_equal(call(&f, &usm__h_skb_adjust_room, (uint32_t)-5, 0, 0,
			      0), 0); /* exactly everything */
	check_bytes(&f, "", 0);
	assert_int_equal(call(&f, &usm__h_skb_adjust_room, 0xfff, 0, 0, 0), 0);
	assert_int_equal(f.c.len, 0xfff);
	check_view(&f);
	assert_int_equal(call(&f, &usm__h_skb_adjust_room, 0, 0, 0, 0), 0);
	assert_int_equal(f.c.len, 0xfff);
	fix_fini(&f);
}

/* Shrinking from the front pulls the removed bytes into the linear part
 * first: what stays linear is linear_len - |diff| (or 0). */
static void test_skb_28_adjust_room_linear(void **state)
{
	struct fix f;

	fix_init(&f, "0123456789", 10, 0, 0);
	f.c.linear_len = 4;
	usm__skb_ctx_sync(&f.c);
	assert_int_equal(call(&f, &usm__h_skb_adjust_room, (uint32_t)-2, 0, 0,
			      0), 0);
	assert_int_equal(f.c.linear_len, 2);
	assert_int_equal(call(&f, &usm__h_skb_adjust_room, (uint32_t)-5, 0, 0,
			      0), 0);
	assert_int_equal(f.c.linear_len, 0);
	check_bytes(&f, "789", 3);
	fix_fini(&f);
}

/* SKB-24 */
static void test_skb_24_pull_data(void **state)
{
	struct fix f;

	fix_init(&f, "abcdefgh", 8, 0, 0);
	f.c.linear_len = 2;
	usm__skb_ctx_sync(&f.c);
	assert_int_equal(call(&f, &usm__h_skb_pull_data, 0, 0, 0, 0), 0);
	assert_int_equal(f.c.linear_len, 2); /* 0: the current linear part */
	assert_int_equal(call(&f, &usm__h_skb_pull_data, 5, 0, 0, 0), 0);
	assert_int_equal(f.c.linear_len, 5);
	check_view(&f);
	assert_int_equal(call(&f, &usm__h_skb_pull_data, 3, 0, 0, 0), 0);
	assert_int_equal(f.c.linear_len, 5); /* never shrinks */
	assert_int_equal(call(&f, &usm__h_skb_pull_data, 9, 0, 0, 0),
			 E(-ENOMEM));
	assert_int_equal(call(&f, &usm__h_skb_pull_data, (1ull << 32) + 8, 0,
			      0, 0), 0); /* u32 length */
	assert_int_equal(f.c.linear_len, 8);
	check_bytes(&f, "abcdefgh", 8);
	fix_fini(&f);
}

/* SKB-25 */
static void test_skb_25_load_bytes(void **state)
{
	struct fix f;
	uint8_t out[8];

	fix_init(&f, "abcdefgh", 8, 3, 3);
	f.c.linear_len = 2; /* load_bytes reads past the linear part */
	usm__skb_ctx_sync(&f.c);
	memset(out, 0x77, sizeof(out));
	assert_int_equal(call(&f, &usm__h_skb_load_bytes, 2, (uintptr_t)out, 6,
			      0), 0);
	assert_memory_equal(out, "cdefgh\x77\x77", 8);
	memset(out, 0x77, sizeof(out));
	assert_int_equal(call(&f, &usm__h_skb_load_bytes, 3, (uintptr_t)out, 6,
			      0), E(-EFAULT));
	assert_memory_equal(out, "\0\0\0\0\0\0\x77\x77", 8); /* zeroed */
	memset(out, 0x77, sizeof(out));
	assert_int_equal(call(&f, &usm__h_skb_load_bytes, 0x80000000u,
			      (uintptr_t)out, 1, 0), E(-EFAULT));
	assert_int_equal(out[0], 0);
	assert_int_equal(call(&f, &usm__h_skb_load_bytes, 0xffffffffu,
			      (uintptr_t)out, 2, 0), E(-EFAULT));
	assert_int_equal(call(&f, &usm__h_skb_load_bytes, 7, (uintptr_t)out, 1,
			      0), 0);
	assert_int_equal(out[0], 'h');
	fix_fini(&f);
}

static void test_skb_store_bytes(void **state)
{
	struct fix f;

	fix_init(&f, "abcdefgh", 8, 0, 0);
	f.c.linear_len = 1;
	f.c.md.hash = 0x1234;
	usm__skb_ctx_sync(&f.c);
	assert_int_equal(call(&f, &usm__h_skb_store_bytes, 2, (uintptr_t)"XY",
			      2, 0), 0);
	check_bytes(&f, "abXYefgh", 8);
	assert_int_equal(f.c.linear_len, 4); /* the written range is pulled */
	assert_int_equal(f.c.md.hash, 0x1234);
	assert_int_equal(call(&f, &usm__h_skb_store_bytes, 6, (uintptr_t)"QRS",
			      3, 0), E(-EFAULT)); /* past the end */
	assert_int_equal(call(&f, &usm__h_skb_store_bytes, 0x80000000u,
			      (uintptr_t)"Q", 1, 0), E(-EFAULT));
	assert_int_equal(call(&f, &usm__h_skb_store_bytes, 0, (uintptr_t)"Q",
			      1, 4), E(-EINVAL)); /* unknown flag */
	check_bytes(&f, "abXYefgh", 8);
	assert_int_equal(call(&f, &usm__h_skb_store_bytes, 7, (uintptr_t)"Z",
			      1, BPF_F_RECOMPUTE_CSUM | BPF_F_INVALIDATE_HASH),
			 0);
	check_bytes(&f, "abXYefgZ", 8);
	assert_int_equal(f.c.md.hash, 0);
	assert_int_equal(f.c.linear_len, 8);
	fix_fini(&f);
}

/* Cookie and uid of skb->sk; none without a socket. */
static void test_skb_socket_identity(void **state)
{
	struct fix f;
	struct usm_sock *sk;
	int sv[2];

	fix_init(&f, "a", 1, 0, 0);
	assert_int_equal(call(&f, &usm__h_get_socket_cookie_skb, 0, 0, 0, 0),
			 0);
	assert_int_equal(call(&f, &usm__h_get_socket_uid, 0, 0, 0, 0), 65534);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(usm__sock_from_fd(sv[0], 0, &sk), 0);
	f.c.sk = sk;
	assert_true(sk->cookie != 0);
	assert_int_equal(call(&f, &usm__h_get_socket_cookie_skb, 0, 0, 0, 0),
			 sk->cookie);
	assert_int_equal(call(&f, &usm__h_get_socket_uid, 0, 0, 0, 0),
			 geteuid());
	if (geteuid() == 0) {
		/* sk_uid follows fchown of the socket */
		assert_int_equal(fchown(sv[0], 4321, (gid_t)-1), 0);
		assert_int_equal(call(&f, &usm__h_get_socket_uid, 0, 0, 0, 0),
				 4321);
	}
	usm__sock_put(sk);
	close(sv[0]);
	close(sv[1]);
	fix_fini(&f);
}

/* SKB-23/29: prototypes as the kernel declares them; the data-moving
 * helpers invalidate packet pointers. */
static void test_skb_23_prototypes(void **state)
{
	static const struct {
		const struct usm_helper *h;
		uint32_t id;
		uint8_t args[5];
		uint32_t flags;
	} t[] = {
		{ &usm__h_skb_load_bytes, BPF_FUNC_skb_load_bytes,
		  { USM_ARG_PTR_TO_CTX, USM_ARG_ANYTHING,
		    USM_ARG_PTR_TO_UNINIT_MEM, USM_ARG_CONST_SIZE }, 0 },
		{ &usm__h_skb_store_bytes, BPF_FUNC_skb_store_bytes,
		  { USM_ARG_PTR_TO_CTX, USM_ARG_ANYTHING, USM_ARG_PTR_TO_MEM,
		    USM_ARG_CONST_SIZE, USM_ARG_ANYTHING }, USM_HF_PKT_CHANGE },
		{ &usm__h_skb_pull_data, BPF_FUNC_skb_pull_data,
		  { USM_ARG_PTR_TO_CTX, USM_ARG_ANYTHING }, USM_HF_PKT_CHANGE },
		{ &usm__h_skb_change_tail, BPF_FUNC_skb_change_tail,
		  { USM_ARG_PTR_TO_CTX, USM_ARG_ANYTHING, USM_ARG_ANYTHING },
		  USM_HF_PKT_CHANGE },
		{ &usm__h_skb_change_head, BPF_FUNC_skb_change_head,
		  { USM_ARG_PTR_TO_CTX, USM_ARG_ANYTHING, USM_ARG_ANYTHING },
		  USM_HF_PKT_CHANGE },
		{ &usm__h_skb_adjust_room, BPF_FUNC_skb_adjust_room,
		  { USM_ARG_PTR_TO_CTX, USM_ARG_ANYTHING, USM_ARG_ANYTHING,
		    USM_ARG_ANYTHING }, USM_HF_PKT_CHANGE },
		{ &usm__h_get_socket_cookie_skb, BPF_FUNC_get_socket_cookie,
		  { USM_ARG_PTR_TO_CTX }, 0 },
		{ &usm__h_get_socket_uid, BPF_FUNC_get_socket_uid,
		  { USM_ARG_PTR_TO_CTX }, 0 },
		{ &usm__h_sk_redirect_map, BPF_FUNC_sk_redirect_map,
		  { USM_ARG_PTR_TO_CTX, USM_ARG_CONST_MAP_PTR, USM_ARG_ANYTHING,
		    USM_ARG_ANYTHING }, 0 },
		{ &usm__h_sk_redirect_hash, BPF_FUNC_sk_redirect_hash,
		  { USM_ARG_PTR_TO_CTX, USM_ARG_CONST_MAP_PTR,
		    USM_ARG_PTR_TO_MAP_KEY, USM_ARG_ANYTHING }, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(t[i].h->id, t[i].id);
		assert_int_equal(t[i].h->ret, USM_RET_INTEGER);
		assert_memory_equal(t[i].h->args, t[i].args, 5);
		assert_int_equal(t[i].h->flags, t[i].flags);
		assert_non_null(t[i].h->fn);
		assert_string_equal(t[i].h->name, usm__helper_name(t[i].id));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_skb_26_change_tail),
		cmocka_unit_test(test_skb_26_change_tail_linearises),
		cmocka_unit_test(test_skb_grow_borrowed_buffer),
		cmocka_unit_test(test_skb_27_change_head),
		cmocka_unit_test(test_skb_28_adjust_room),
		cmocka_unit_test(test_skb_28_adjust_room_linear),
		cmocka_unit_test(test_skb_24_pull_data),
		cmocka_unit_test(test_skb_25_load_bytes),
		cmocka_unit_test(test_skb_store_bytes),
		cmocka_unit_test(test_skb_socket_identity),
		cmocka_unit_test(test_skb_23_prototypes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
