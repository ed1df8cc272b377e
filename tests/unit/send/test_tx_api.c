/* SPDX-License-Identifier: MIT */
/*
 * usm_send/usm_sendmsg/usm_sendfile argument handling and failure paths on
 * a socket with an sk_msg program: allocation failure (-ENOMEM, nothing
 * sent, the next call works), EFAULT, EMSGSIZE, a zero-length send that
 * runs no program (as tcp_bpf_sendmsg's loop), sendfile offsets, and the
 * tx state freed with the psock (MSG-10).
 */
#include "../../e2e/tx_fix.h"

#include "../../../src/skmsg/msg.h"

struct fix {
	struct bpf_object *obj;
	int c, s, sfd;
};

static int setup(void **state)
{
	static struct fix f;
	struct tx_cfg cfg = { 0 };
	uint32_t k0 = 0, v;
	int mfd, cfd;

	memset(&f, 0, sizeof(f));
	f.obj = usm_compat_bpf_object__open_file(
		usm_test_bpf_path("tests/bpf/tx_prog"), NULL);
	if (!f.obj || usm_compat_bpf_object__load(f.obj))
		return -1;
	mfd = usm_compat_bpf_map__fd(
		usm_compat_bpf_object__find_map_by_name(f.obj, "sock_map"));
	cfd = usm_compat_bpf_map__fd(
		usm_compat_bpf_object__find_map_by_name(f.obj, "cfg"));
	f.sfd = usm_compat_bpf_map__fd(
		usm_compat_bpf_object__find_map_by_name(f.obj, "stats"));
	if (usm_compat_bpf_map_update_elem(cfd, &k0, &cfg, BPF_ANY) ||
	    usm_compat_bpf_prog_attach(usm_compat_bpf_program__fd(
		    usm_compat_bpf_object__find_program_by_name(f.obj,
								"tx_prog")),
		    mfd, BPF_SK_MSG_VERDICT, 0) ||
	    tx_tcp_pair(&f.c, &f.s, NULL))
		return -1;
	v = (uint32_t)f.c;
	if (usm_compat_bpf_map_update_elem(mfd, &k0, &v, BPF_ANY))
		return -1;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	usm_close(f->c);
	close(f->s);
	usm_compat_bpf_object__close(f->obj);
	return usm__psock_count() == 0 && usm__sock_count() == 0 ? 0 : -1;
}

static uint32_t runs(struct fix *f)
{
	struct tx_stats st;
	uint32_t k0 = 0;

	assert_int_equal(usm_compat_bpf_map_lookup_elem(f->sfd, &k0, &st), 0);
	return st.runs;
}

static void test_enomem(void **state)
{
	struct fix *f = *state;
	uint8_t buf[16];

	usm__msg_fail_alloc_after(0);
	assert_int_equal(usm_send(f->c, "abcdef", 6, 0), -1);
	assert_int_equal(errno, ENOMEM);
	usm__msg_fail_alloc_after(-1);
	assert_int_equal(runs(f), 0);
	assert_int_equal(usm_send(f->c, "xyz", 3, 0), 3);
	assert_int_equal(recv(f->s, buf, sizeof(buf), 0), 3);
	assert_memory_equal(buf, "xyz", 3);
	assert_int_equal(runs(f), 1);
}

static void test_bad_args(void **state)
{
	struct fix *f = *state;
	struct iovec iov[1025];
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 1025 };

	memset(iov, 0, sizeof(iov));
	assert_int_equal(usm_sendmsg(f->c, NULL, 0), -1);
	assert_int_equal(errno, EFAULT);
	assert_int_equal(usm_sendmsg(f->c, &mh, 0), -1);
	assert_int_equal(errno, EMSGSIZE);
	/* zero bytes: no message, no run (the kernel's loop never starts) */
	assert_int_equal(usm_send(f->c, "", 0, 0), 0);
	mh.msg_iovlen = 3;
	assert_int_equal(usm_sendmsg(f->c, &mh, 0), 0);
	assert_int_equal(runs(f), 0);
}

/* MSG-22: sendfile honours and advances the offset, or the file
 * position when the offset is NULL. */
static void test_sendfile_offsets(void **state)
{
	struct fix *f = *state;
	char path[] = "/tmp/usm_txu_XXXXXX";
	uint8_t buf[64];
	off_t off = 2;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, "0123456789", 10), 10);
	assert_int_equal(usm_sendfile(f->c, fd, &off, 3), 3);
	assert_int_equal(off, 5);
	assert_int_equal(lseek(fd, 4, SEEK_SET), 4);
	assert_int_equal(usm_sendfile(f->c, fd, NULL, 100), 6);
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 10);
	assert_int_equal(usm_sendfile(f->c, fd, NULL, 100), 0); /* EOF */
	assert_int_equal(usm_sendfile(f->c, -1, NULL, 10), -1);
	assert_int_equal(errno, EBADF);
	usleep(50 * 1000);
	assert_int_equal(recv(f->s, buf, sizeof(buf), MSG_DONTWAIT), 9);
	assert_memory_equal(buf, "234456789", 9);
	assert_int_equal(runs(f), 2);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_enomem, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_args, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sendfile_offsets, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
