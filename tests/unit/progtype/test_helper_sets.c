/* SPDX-License-Identifier: MIT */
/*
 * Which helper prototype each program type gets (SEMANTICS SKB-23, MSG-23,
 * RPP-03, sock_ops/MAP-BPF-01): the per-type choice between prototypes of
 * the same id, helpers a type must not see, and, against the running
 * kernel, that for every helper usockmap implements a type offers it
 * exactly when the kernel does.
 */
#include "usm_test.h"

#include <bpf/bpf.h>
#include <string.h>
#include <unistd.h>

#include "../../../src/helpers/helpers.h"
#include "../../../src/progtype/progtype.h"

static const struct usm_helper *get(uint32_t type, uint32_t id)
{
	return usm__prog_type_get(type)->get_helper(id);
}

/* SKB-23 */
static void test_skb_23_sk_skb_helpers(void **state)
{
	uint32_t t = BPF_PROG_TYPE_SK_SKB;

	assert_ptr_equal(get(t, BPF_FUNC_skb_load_bytes),
			 &usm__h_skb_load_bytes);
	assert_ptr_equal(get(t, BPF_FUNC_skb_store_bytes),
			 &usm__h_skb_store_bytes);
	assert_ptr_equal(get(t, BPF_FUNC_skb_pull_data), &usm__h_skb_pull_data);
	assert_ptr_equal(get(t, BPF_FUNC_skb_change_tail),
			 &usm__h_skb_change_tail);
	assert_ptr_equal(get(t, BPF_FUNC_skb_change_head),
			 &usm__h_skb_change_head);
	assert_ptr_equal(get(t, BPF_FUNC_skb_adjust_room),
			 &usm__h_skb_adjust_room);
	assert_ptr_equal(get(t, BPF_FUNC_get_socket_cookie),
			 &usm__h_get_socket_cookie_skb);
	assert_ptr_equal(get(t, BPF_FUNC_get_socket_uid),
			 &usm__h_get_socket_uid);
	assert_ptr_equal(get(t, BPF_FUNC_sk_redirect_map),
			 &usm__h_sk_redirect_map);
	assert_ptr_equal(get(t, BPF_FUNC_sk_redirect_hash),
			 &usm__h_sk_redirect_hash);
	assert_ptr_equal(get(t, BPF_FUNC_sk_release), &usm__h_sk_release);
	assert_ptr_equal(get(t, BPF_FUNC_map_lookup_elem),
			 &usm__h_map_lookup_elem);
	assert_ptr_equal(get(t, BPF_FUNC_ktime_get_coarse_ns),
			 &usm__h_ktime_get_coarse_ns);
	assert_ptr_equal(get(t, BPF_FUNC_trace_printk), &usm__h_trace_printk);
	assert_null(get(t, BPF_FUNC_msg_redirect_map));
	assert_null(get(t, BPF_FUNC_sock_map_update));
	assert_null(get(t, BPF_FUNC_sk_select_reuseport));
	assert_null(get(t, BPF_FUNC_skb_load_bytes_relative));
	assert_null(get(t, 0));
	assert_null(get(t, 100000));
}

/* MSG-23 */
static void test_msg_23_sk_msg_helpers(void **state)
{
	uint32_t t = BPF_PROG_TYPE_SK_MSG;

	assert_ptr_equal(get(t, BPF_FUNC_msg_redirect_map),
			 &usm__h_msg_redirect_map);
	assert_ptr_equal(get(t, BPF_FUNC_msg_redirect_hash),
			 &usm__h_msg_redirect_hash);
	assert_ptr_equal(get(t, BPF_FUNC_msg_apply_bytes),
			 &usm__h_msg_apply_bytes);
	assert_ptr_equal(get(t, BPF_FUNC_msg_cork_bytes),
			 &usm__h_msg_cork_bytes);
	assert_ptr_equal(get(t, BPF_FUNC_msg_pull_data),
			 &usm__h_msg_pull_data);
	assert_ptr_equal(get(t, BPF_FUNC_msg_push_data),
			 &usm__h_msg_push_data);
	assert_ptr_equal(get(t, BPF_FUNC_msg_pop_data), &usm__h_msg_pop_data);
	assert_ptr_equal(get(t, BPF_FUNC_map_update_elem),
			 &usm__h_map_update_elem);
	assert_ptr_equal(get(t, BPF_FUNC_ktime_get_coarse_ns),
			 &usm__h_ktime_get_coarse_ns);
	assert_null(get(t, BPF_FUNC_skb_load_bytes));
	assert_null(get(t, BPF_FUNC_sk_redirect_map));
	assert_null(get(t, BPF_FUNC_sk_release));
	assert_null(get(t, BPF_FUNC_get_socket_cookie));
}

/* RPP-03: the reuseport variants of shared ids. */
static void test_rpp_03_sk_reuseport_helpers(void **state)
{
	uint32_t t = BPF_PROG_TYPE_SK_REUSEPORT;

	assert_ptr_equal(get(t, BPF_FUNC_sk_select_reuseport),
			 &usm__h_sk_select_reuseport);
	assert_ptr_equal(get(t, BPF_FUNC_skb_load_bytes),
			 &usm__h_skb_load_bytes_reuseport);
	assert_ptr_equal(get(t, BPF_FUNC_skb_load_bytes_relative),
			 &usm__h_skb_load_bytes_relative_reuseport);
	assert_ptr_equal(get(t, BPF_FUNC_get_socket_cookie),
			 &usm__h_get_socket_cookie_sock);
	assert_ptr_equal(get(t, BPF_FUNC_ktime_get_coarse_ns),
			 &usm__h_ktime_get_coarse_ns);
	assert_ptr_equal(get(t, BPF_FUNC_map_lookup_elem),
			 &usm__h_map_lookup_elem);
	assert_null(get(t, BPF_FUNC_skb_store_bytes));
	assert_null(get(t, BPF_FUNC_sk_redirect_map));
	assert_null(get(t, BPF_FUNC_sk_release));
	/* the socket-pointer variant takes a maybe-NULL sock_common */
	assert_int_equal(usm__h_get_socket_cookie_sock.args[0],
			 USM_ARG_PTR_TO_SOCK_COMMON_OR_NULL);
	assert_int_equal(usm__h_sk_select_reuseport.args[2],
			 USM_ARG_PTR_TO_MAP_KEY);
	assert_int_equal(usm__h_skb_load_bytes_relative_reuseport.args[4],
			 USM_ARG_ANYTHING);
}

/* MAP-BPF-01's helpers are sock_ops only. */
static void test_sock_ops_helpers(void **state)
{
	uint32_t t = BPF_PROG_TYPE_SOCK_OPS;

	assert_ptr_equal(get(t, BPF_FUNC_sock_map_update),
			 &usm__h_sock_map_update);
	assert_ptr_equal(get(t, BPF_FUNC_sock_hash_update),
			 &usm__h_sock_hash_update);
	assert_ptr_equal(get(t, BPF_FUNC_get_socket_cookie),
			 &usm__h_get_socket_cookie_sock_ops);
	assert_ptr_equal(get(t, BPF_FUNC_map_delete_elem),
			 &usm__h_map_delete_elem);
	assert_null(get(t, BPF_FUNC_skb_load_bytes));
	assert_null(get(t, BPF_FUNC_sk_release));
	assert_int_equal(usm__h_sock_map_update.args[2],
			 USM_ARG_PTR_TO_MAP_KEY);
}

/* Every prototype a type hands out carries the id it was asked for and a
 * function (tail_call's is a fallback: the interpreter runs it). */
static void test_prototypes_are_consistent(void **state)
{
	static const uint32_t types[] = {
		BPF_PROG_TYPE_SK_SKB, BPF_PROG_TYPE_SK_MSG,
		BPF_PROG_TYPE_SK_REUSEPORT, BPF_PROG_TYPE_SOCK_OPS,
	};
	uint32_t i, id, n = 0;

	for (i = 0; i < 4; i++) {
		for (id = 0; id < 256; id++) {
			const struct usm_helper *h = get(types[i], id);

			if (!h)
				continue;
			n++;
			assert_int_equal(h->id, id);
			assert_non_null(h->fn);
			assert_string_equal(h->name, usm__helper_name(id));
		}
	}
	assert_int_equal(n, 22 + 18 + 15 + 14);
}

static uint32_t our_ids[256];

/* The ids usockmap implements for at least one type. */
static void collect_ours(void)
{
	static const uint32_t types[] = {
		BPF_PROG_TYPE_SK_SKB, BPF_PROG_TYPE_SK_MSG,
		BPF_PROG_TYPE_SK_REUSEPORT, BPF_PROG_TYPE_SOCK_OPS,
	};
	uint32_t i, id;

	for (i = 0; i < 4; i++)
		for (id = 1; id < 256; id++)
			if (get(types[i], id))
				our_ids[id] = 1;
}

/*
 * Does the kernel let @type call helper @id? Load "call id; exit" and read
 * the verifier's answer, as libbpf's helper probe does: "invalid func",
 * "unknown func" and "cannot use helper" mean no; any other outcome (an
 * argument complaint, success) means the type has the helper. 1, 0, or
 * -errno when the load could not be attempted.
 */
static int kernel_has_helper(uint32_t type, uint32_t id)
{
	static char log[8192];
	struct bpf_insn p[2];
	LIBBPF_OPTS(bpf_prog_load_opts, o, .log_buf = log,
		    .log_size = sizeof(log), .log_level = 1);
	int fd;

	memset(p, 0, sizeof(p));
	p[0].code = BPF_JMP | BPF_CALL;
	p[0].imm = (int32_t)id;
	p[1].code = BPF_JMP | BPF_EXIT;
	log[0] = '\0';
	fd = bpf_prog_load(type, NULL, "GPL", p, 2, &o);
	if (fd >= 0) {
		close(fd);
		return 1;
	}
	if (!log[0])
		return fd;
	return !(strstr(log, "invalid func ") || strstr(log, "unknown func ") ||
		 strstr(log, "program of this type cannot use helper "));
}

/* Against the kernel: for each implemented helper and each type, offered
 * here iff the kernel's verifier offers it. */
static void test_helper_sets_match_kernel(void **state)
{
	static const uint32_t types[] = {
		BPF_PROG_TYPE_SK_SKB, BPF_PROG_TYPE_SK_MSG,
		BPF_PROG_TYPE_SK_REUSEPORT, BPF_PROG_TYPE_SOCK_OPS,
	};
	const char *why;
	uint32_t i, id;
	int bad = 0;

	if (!usm_test_have_kernel_bpf(&why)) {
		USM_SKIP("%s", why);
		return;
	}
	collect_ours();
	for (i = 0; i < 4; i++) {
		for (id = 1; id < 256; id++) {
			int k, ours;

			if (!our_ids[id])
				continue;
			k = kernel_has_helper(types[i], id);
			if (k < 0) {
				USM_SKIP("helper probe failed: %d", k);
				return;
			}
			ours = get(types[i], id) != NULL;
			if (k == ours)
				continue;
			print_error("type %u helper %s: kernel %d usockmap %d\n",
				    types[i], usm__helper_name(id), k, ours);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_skb_23_sk_skb_helpers),
		cmocka_unit_test(test_msg_23_sk_msg_helpers),
		cmocka_unit_test(test_rpp_03_sk_reuseport_helpers),
		cmocka_unit_test(test_sock_ops_helpers),
		cmocka_unit_test(test_prototypes_are_consistent),
		cmocka_unit_test(test_helper_sets_match_kernel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
