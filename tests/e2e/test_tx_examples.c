/* SPDX-License-Identifier: MIT */
/*
 * The send-path examples (examples/send/) run as their README describes,
 * on usockmap and on the kernel with the same object and the same sends:
 * header injection (push_data, MSG-12), the policy filter (cork_bytes +
 * pull_data, MSG-08/11, drop -> EACCES MSG-05), and that the local
 * acceleration object loads (its ingress redirect, MSG-18, is run by
 * test_tx_send; its sockops half needs sock_ops callbacks for
 * application sockets, which usockmap does not run yet).
 */
#include "tx_fix.h"

static void run_both(const struct scen *sc, const uint8_t *want,
		     size_t want_len, const ssize_t *rc, const int *err)
{
	const struct be *bes[2] = { &BE_USM, &BE_KERN };
	struct outcome o;
	const char *why = "";
	int b, i;

	for (b = 0; b < 2; b++) {
		if (b == 1 && !usm_test_have_kernel_bpf(&why))
			break;
		assert_int_equal(tx_run(bes[b], sc, &o, &why), 0);
		for (i = 0; i < sc->nsends; i++) {
			assert_int_equal(o.rc[i], rc[i]);
			assert_int_equal(o.err[i], err[i]);
		}
		assert_int_equal(o.rxlen, want_len);
		assert_memory_equal(o.rx, want, want_len);
		tx_outcome_free(&o);
		assert_int_equal(usm__psock_count(), 0);
	}
}

/* examples/send/header.bpf.c: "TRC1" + length in front of each send. */
static void test_header_injection(void **state)
{
	static const uint8_t data[] = "helloabc";
	static const uint8_t want[] = "TRC1\0\0\0\5hello"
				      "TRC1\0\0\0\3abc";
	struct scen sc = { .obj = "examples/send/header",
			   .prog = "add_header", .data = data,
			   .sends = { 5, 3 }, .nsends = 2 };
	const ssize_t rc[] = { 5, 3 };
	const int err[] = { 0, 0 };
	int h;

	(void)state;
	for (h = 0; h < 2; h++) {
		sc.hash = h;
		sc.mode = M_SEND;
		run_both(&sc, want, sizeof(want) - 1, rc, err);
		sc.mode = M_SENDFILE;
		run_both(&sc, want, sizeof(want) - 1, rc, err);
	}
}

/* examples/send/policy.bpf.c: the header arrives in two sends (corked
 * until complete), READ passes, WIPE is refused. */
static void test_policy_filter(void **state)
{
	static const uint8_t data[] = "CMD:READ xyzCMD:WIPE all";
	static const uint8_t want[] = "CMD:READ xyz";
	struct scen sc = { .obj = "examples/send/policy", .prog = "filter",
			   .data = data, .sends = { 4, 8, 12 }, .nsends = 3 };
	const ssize_t rc[] = { 4, 8, -1 };
	const int err[] = { 0, 0, EACCES };
	int h;

	(void)state;
	for (h = 0; h < 2; h++) {
		sc.hash = h;
		sc.mode = M_SEND;
		run_both(&sc, want, sizeof(want) - 1, rc, err);
		sc.mode = M_IOV3;
		run_both(&sc, want, sizeof(want) - 1, rc, err);
	}
}

/* examples/send/accel.bpf.c loads on both (the sockops + sk_msg pair). */
static void test_accel_loads(void **state)
{
	struct bpf_object *obj;
	const char *why = "";

	(void)state;
	obj = usm_compat_bpf_object__open_file(
		usm_test_bpf_path("examples/send/accel"), NULL);
	assert_non_null(obj);
	assert_int_equal(usm_compat_bpf_object__load(obj), 0);
	assert_non_null(usm_compat_bpf_object__find_program_by_name(obj,
								    "insert"));
	usm_compat_bpf_object__close(obj);
	if (!usm_test_have_kernel_bpf(&why))
		return;
	obj = bpf_object__open_file(usm_test_bpf_path("examples/send/accel"),
				    NULL);
	assert_non_null(obj);
	assert_int_equal(bpf_object__load(obj), 0);
	bpf_object__close(obj);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_injection),
		cmocka_unit_test(test_policy_filter),
		cmocka_unit_test(test_accel_loads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
