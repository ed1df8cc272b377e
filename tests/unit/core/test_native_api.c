/* SPDX-License-Identifier: MIT */
/*
 * The native fd API of <usockmap/bpf.h> (usm_prog_load/attach/detach/query,
 * usm_map_fd, usm_program_fd): one attach/query/detach sequence run through
 * it and, with the same instructions, through libbpf on the kernel; every
 * step's result must be the same (SEMANTICS PRG-03/04/08/10).
 */
#include "usm_test.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <usockmap/bpf.h>
#include <usockmap/map.h>
#include <usockmap/object.h>

#define NSTEPS 10

/* r0 = SK_PASS; exit */
static const struct bpf_insn pass_insns[] = {
	{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 1 },
	{ .code = BPF_JMP | BPF_EXIT },
};

/* The step results of one run. */
struct steps {
	int r[NSTEPS];
};

/* The fd calls a backend provides. */
struct fdapi {
	int (*attach)(int, int, uint32_t, uint32_t);
	int (*detach)(int, int, uint32_t);
	int (*query)(int, uint32_t, uint32_t *, uint32_t *, uint32_t *);
};

static void sequence(const struct fdapi *api, int pfd, int smap, int arr,
		     uint32_t prog_id, struct steps *st)
{
	uint32_t ids[2] = { 0, 0 }, cnt = 2, flags = 7;

	st->r[0] = api->attach(pfd, smap, BPF_SK_SKB_STREAM_VERDICT, 0);
	st->r[1] = api->query(smap, BPF_SK_SKB_STREAM_VERDICT, &flags, ids,
			      &cnt);
	/* PRG-10: one program, its id, attach_flags 0. */
	st->r[2] = (int)cnt * 100 + (ids[0] == prog_id) * 10 + (int)flags;
	st->r[3] = api->attach(pfd, smap, BPF_SK_SKB_STREAM_VERDICT,
			       BPF_F_ALLOW_MULTI);                  /* PRG-04 */
	st->r[4] = api->detach(pfd, smap, BPF_SK_SKB_STREAM_PARSER); /* PRG-08 */
	st->r[5] = api->detach(pfd, smap, BPF_SK_SKB_STREAM_VERDICT);
	cnt = 2;
	st->r[6] = api->query(smap, BPF_SK_SKB_STREAM_VERDICT, NULL, ids, &cnt);
	st->r[7] = (int)cnt;
	st->r[8] = api->attach(pfd, arr, BPF_SK_SKB_STREAM_VERDICT, 0); /* PRG-03 */
	st->r[9] = api->attach(-1, smap, BPF_SK_SKB_STREAM_VERDICT, 0); /* PRG-02 */
}

static int kern_attach(int p, int m, uint32_t t, uint32_t f)
{
	return bpf_prog_attach(p, m, t, f) < 0 ? -errno : 0;
}

static int kern_detach(int p, int m, uint32_t t)
{
	return bpf_prog_detach2(p, m, t) < 0 ? -errno : 0;
}

static int kern_query(int m, uint32_t t, uint32_t *flags, uint32_t *ids,
		      uint32_t *cnt)
{
	__u32 f = 0;
	int r = bpf_prog_query(m, t, 0, &f, ids, cnt) < 0 ? -errno : 0;

	if (!r && flags)
		*flags = f;
	return r;
}

static uint32_t prog_id_of(int fd, int kernel)
{
	struct bpf_prog_info info;
	union bpf_attr a;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (kernel)
		return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
	memset(&a, 0, sizeof(a));
	a.info.bpf_fd = (uint32_t)fd;
	a.info.info_len = len;
	a.info.info = (uint64_t)(uintptr_t)&info;
	return usm_bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)) ? 0 : info.id;
}

static void test_fd_api_vs_kernel_PRG(void **state)
{
	static const struct fdapi usm = { usm_prog_attach, usm_prog_detach,
					  usm_prog_query };
	static const struct fdapi kern = { kern_attach, kern_detach,
					   kern_query };
	struct usm_map *sm, *arr;
	struct steps u, k;
	const char *why;
	int pfd, smfd, arrfd, i;

	(void)state;
	pfd = usm_prog_load(BPF_PROG_TYPE_SK_SKB, "pass", "GPL", pass_insns, 2,
			    NULL);
	assert_true(pfd >= 0);
	assert_int_equal(usm_map_create(BPF_MAP_TYPE_SOCKMAP, "sm", 4, 8, 2,
					NULL, &sm), 0);
	assert_int_equal(usm_map_create(BPF_MAP_TYPE_ARRAY, "arr", 4, 8, 2,
					NULL, &arr), 0);
	smfd = usm_map_fd(sm);
	arrfd = usm_map_fd(arr);
	assert_true(smfd >= 0 && arrfd >= 0);
	sequence(&usm, pfd, smfd, arrfd, prog_id_of(pfd, 0), &u);
	assert_int_equal(u.r[0], 0);
	assert_int_equal(u.r[2], 110);
	assert_int_equal(u.r[3], -EINVAL);
	assert_int_equal(u.r[4], -ENOENT);
	assert_int_equal(u.r[5], 0);
	assert_int_equal(u.r[7], 0);
	assert_int_equal(u.r[8], -EOPNOTSUPP);
	assert_int_equal(u.r[9], -EBADF);
	usm_close(pfd);
	usm_close(smfd);
	usm_close(arrfd);
	usm_map_close(sm);
	usm_map_close(arr);
	if (!usm_test_have_kernel_bpf(&why)) {
		USM_SKIP("kernel comparison: %s", why);
		return;
	}
	pfd = bpf_prog_load(BPF_PROG_TYPE_SK_SKB, "pass", "GPL", pass_insns, 2,
			    NULL);
	smfd = bpf_map_create(BPF_MAP_TYPE_SOCKMAP, "sm", 4, 8, 2, NULL);
	arrfd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "arr", 4, 8, 2, NULL);
	assert_true(pfd >= 0 && smfd >= 0 && arrfd >= 0);
	sequence(&kern, pfd, smfd, arrfd, prog_id_of(pfd, 1), &k);
	close(pfd);
	close(smfd);
	close(arrfd);
	for (i = 0; i < NSTEPS; i++)
		if (u.r[i] != k.r[i])
			fail_msg("step %d: usockmap %d, kernel %d", i, u.r[i],
				 k.r[i]);
}

/* usm_prog_load rejects an unsafe program with the verifier's log. */
static void test_prog_load_log(void **state)
{
	static const struct bpf_insn no_exit[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 1 },
	};
	char log[512] = "";
	struct usm_prog_load_opts o = { .sz = sizeof(o), .log_buf = log,
					.log_size = sizeof(log),
					.log_level = 1 };

	(void)state;
	assert_true(usm_prog_load(BPF_PROG_TYPE_SK_SKB, "bad", "GPL", no_exit,
				  1, &o) < 0);
	assert_true(strlen(log) > 0);
	o.sz = 4; /* too small to hold the options we read */
	assert_int_equal(usm_prog_load(BPF_PROG_TYPE_SK_SKB, "p", "GPL",
				       pass_insns, 2, &o), -EINVAL);
}

/* Fds out of a loaded object; -ENOENT for a program left unloaded. */
static void test_object_fds(void **state)
{
	struct usm_object *obj;
	struct usm_program *v, *m;
	uint32_t ids[1], cnt = 1;
	struct usm_map *sm;
	int pfd, smfd;

	(void)state;
	assert_int_equal(usm_object_open(usm_test_bpf_path("tests/bpf/core_progs"),
					 NULL, &obj), 0);
	v = usm_object_find_program(obj, "core_verdict");
	m = usm_object_find_program(obj, "core_msg");
	assert_non_null(v);
	assert_non_null(m);
	usm_program_set_autoload(m, false);
	assert_int_equal(usm_program_fd(v), -ENOENT); /* not loaded yet */
	assert_int_equal(usm_object_load(obj), 0);
	assert_int_equal(usm_program_fd(m), -ENOENT);
	pfd = usm_program_fd(v);
	assert_true(pfd >= 0);
	assert_int_equal(usm_map_create(BPF_MAP_TYPE_SOCKHASH, "sh", 4, 8, 4,
					NULL, &sm), 0);
	smfd = usm_map_fd(sm);
	assert_int_equal(usm_prog_attach(pfd, smfd, BPF_SK_SKB_STREAM_VERDICT,
					 0), 0);
	assert_int_equal(usm_prog_query(smfd, BPF_SK_SKB_STREAM_VERDICT, NULL,
					ids, &cnt), 0);
	assert_int_equal(cnt, 1);
	assert_int_equal(ids[0], prog_id_of(pfd, 0));
	/* The program outlives the object while the map holds it. */
	usm_object_close(obj);
	usm_close(pfd);
	cnt = 1;
	assert_int_equal(usm_prog_query(smfd, BPF_SK_SKB_STREAM_VERDICT, NULL,
					ids, &cnt), 0);
	assert_int_equal(cnt, 1);
	usm_close(smfd);
	usm_map_close(sm);
	assert_int_equal(usm_map_fd(NULL), -EINVAL);
	assert_int_equal(usm_program_fd(NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fd_api_vs_kernel_PRG),
		cmocka_unit_test(test_prog_load_log),
		cmocka_unit_test(test_object_fds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
