/* SPDX-License-Identifier: MIT */
/*
 * Reuseport groups: attach/detach (SEMANTICS RPP-01), members leaving the
 * group and the array on close (RPA-09, LIFE-08), members served from
 * another process over their exported fd, the API's errors and counters.
 */
#include "rp_test.h"

#include <signal.h>
#include <usockmap/bpf.h>
#include <sys/wait.h>

/* RPP-01: attach through a member's socket applies to the whole group;
 * detach from another member; a second detach -> ENOENT; afterwards
 * traffic still flows by hash and the program no longer runs. */
static void test_attach_detach(void **s)
{
	struct usm_program *p;
	struct usm_reuseport_stats st;
	struct world w;
	int i, one = 1, pfd, who;

	usm_world(&w, AF_INET, SOCK_DGRAM, false);
	for (i = 0; i < NM; i++)
		assert_int_equal(w_put(&w, "rp_arr", i, i), 0);
	p = usm_object_find_program(w.obj, "sel_arr");
	assert_int_equal(usm_reuseport_group_attach(w.g, p), 0);
	assert_int_equal(usm_reuseport_group_start(w.g), 0);
	assert_int_equal(usm_reuseport_group_start(w.g), -EALREADY);
	assert_int_equal(w_udp(&w, 3, 2), 3);
	assert_int_equal(usm_res(&w, 6), 1);
	/* detach from any fd of the group */
	assert_int_equal(usm_reuseport_detach_prog(
				 usm_reuseport_member_sock_fd(w.m[2])), 0);
	assert_int_equal(usm_reuseport_detach_prog(
				 usm_reuseport_member_fd(w.m[1])), -ENOENT);
	assert_int_equal(usm_reuseport_group_detach(w.g), -ENOENT);
	who = w_udp(&w, 3, 2); /* hash selection: someone gets it */
	assert_true(who >= 0 && who < NM);
	assert_int_equal(usm_res(&w, 6), 1); /* the program did not run */
	usm_reuseport_group_stats(w.g, &st);
	assert_int_equal(st.selected, 1);
	assert_int_equal(st.hashed, 1);
	assert_int_equal(usm_reuseport_member_count(w.m[0]) +
				 usm_reuseport_member_count(w.m[1]) +
				 usm_reuseport_member_count(w.m[2]) +
				 usm_reuseport_member_count(w.m[3]),
			 2);
	assert_int_equal(usm_reuseport_member_count(w.m[who]),
			 who == 3 ? 2 : 1);
	w_fini(&w);
	if (!rp_kern()) {
		USM_SKIP("kernel comparison not run: %s", rp_why);
		return;
	}
	kern_world(&w, AF_INET, SOCK_DGRAM, false);
	for (i = 0; i < NM; i++)
		assert_int_equal(w_put(&w, "rp_arr", i, i), 0);
	pfd = kfd_prog(&w, "sel_arr");
	assert_int_equal(setsockopt(w.fds[0], SOL_SOCKET,
				    SO_ATTACH_REUSEPORT_EBPF, &pfd,
				    sizeof(pfd)), 0);
	assert_int_equal(w_udp(&w, 3, 2), 3);
	assert_int_equal(kern_res(&w, 6), 1);
	assert_int_equal(setsockopt(w.fds[2], SOL_SOCKET,
				    SO_DETACH_REUSEPORT_BPF, &one,
				    sizeof(one)), 0);
	assert_int_equal(setsockopt(w.fds[1], SOL_SOCKET,
				    SO_DETACH_REUSEPORT_BPF, &one,
				    sizeof(one)), -1);
	assert_int_equal(errno, ENOENT);
	who = w_udp(&w, 3, 2);
	assert_true(who >= 0 && who < NM);
	assert_int_equal(kern_res(&w, 6), 1);
	w_fini(&w);
}

/* A usm_bpf handle of the loaded program named @name, or -1. */
static int prog_fd_by_name(const char *name)
{
	struct bpf_prog_info info;
	union bpf_attr a;
	uint32_t id = 0;
	int fd;

	for (;;) {
		memset(&a, 0, sizeof(a));
		a.start_id = id;
		if (usm_bpf(BPF_PROG_GET_NEXT_ID, &a, sizeof(a)))
			return -1;
		id = a.next_id;
		memset(&a, 0, sizeof(a));
		a.prog_id = id;
		fd = usm_bpf(BPF_PROG_GET_FD_BY_ID, &a, sizeof(a));
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		memset(&a, 0, sizeof(a));
		a.info.bpf_fd = (uint32_t)fd;
		a.info.info_len = sizeof(info);
		a.info.info = (uint64_t)(uintptr_t)&info;
		if (!usm_bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)) &&
		    !strcmp(info.name, name))
			return fd;
		usm_close(fd);
	}
}

/* RPP-01 through program handles, as SO_ATTACH_REUSEPORT_EBPF takes them:
 * attach on a member socket, replace on the group fd, detach twice. */
static void test_attach_prog_fd(void **s)
{
	struct usm_reuseport_stats st;
	struct world w;
	int pfd, nfd, i;

	usm_world(&w, AF_INET, SOCK_DGRAM, false);
	for (i = 0; i < NM; i++)
		assert_int_equal(w_put(&w, "rp_arr", i, i), 0);
	pfd = prog_fd_by_name("sel_arr");
	nfd = prog_fd_by_name("sel_none");
	assert_true(pfd >= 0 && nfd >= 0);
	assert_int_equal(usm_reuseport_attach_prog(
				 usm_reuseport_member_sock_fd(w.m[0]), nfd), 0);
	assert_int_equal(usm_reuseport_attach_prog(
				 usm_reuseport_group_fd(w.g), pfd), 0);
	usm_close(pfd); /* the group holds its own reference */
	usm_close(nfd);
	assert_int_equal(usm_reuseport_group_start(w.g), 0);
	assert_int_equal(w_udp(&w, 2, 3), 2); /* sel_arr, not sel_none */
	usm_reuseport_group_stats(w.g, &st);
	assert_int_equal(st.selected, 1);
	assert_int_equal(usm_reuseport_detach_prog(w.fds[3]), 0);
	assert_int_equal(usm_reuseport_detach_prog(w.fds[3]), -ENOENT);
	/* a map handle is no program */
	{
		struct bpf_map_info info;
		uint32_t len = sizeof(info);
		union bpf_attr a;
		int mfd;

		assert_int_equal(usm_map_get_info(umap(&w, "rp_arr"), &info,
						  &len), 0);
		memset(&a, 0, sizeof(a));
		a.map_id = info.id;
		mfd = usm_bpf(BPF_MAP_GET_FD_BY_ID, &a, sizeof(a));
		assert_true(mfd >= 0);
		assert_int_equal(usm_reuseport_attach_prog(w.fds[0], mfd),
				 -EINVAL);
		usm_close(mfd);
	}
	w_fini(&w);
}

/* Attach errors: fds that name no group, bad program handles. */
static void test_attach_errors(void **s)
{
	struct world w;
	int sv[2];

	usm_world(&w, AF_INET, SOCK_STREAM, false);
	assert_int_equal(usm_reuseport_attach_prog(-1, 0), -EBADF);
	assert_int_equal(usm_reuseport_detach_prog(0x7ffffff0), -EBADF);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(usm_reuseport_detach_prog(sv[0]), -ENOTSOCK);
	/* a group fd with a descriptor that is no program */
	assert_int_equal(usm_reuseport_attach_prog(
				 usm_reuseport_group_fd(w.g), sv[1]), -EINVAL);
	assert_int_equal(usm_reuseport_detach_prog(
				 usm_reuseport_group_fd(w.g)), -ENOENT);
	assert_int_equal(usm_reuseport_group_attach(w.g, NULL), -EINVAL);
	close(sv[0]);
	close(sv[1]);
	w_fini(&w);
}

static void test_create_errors(void **s)
{
	struct sockaddr_storage ss;
	struct usm_reuseport_group *g = NULL, *g2 = NULL;
	struct sockaddr_storage a;
	socklen_t len, al;
	int u;

	loop_addr(AF_INET, &ss, &len, false);
	assert_int_equal(usm_reuseport_group_create((struct sockaddr *)&ss,
						    len, SOCK_RAW, NULL, &g),
			 -EINVAL);
	assert_int_equal(usm_reuseport_group_create((struct sockaddr *)&ss,
						    4, SOCK_STREAM, NULL, &g),
			 -EINVAL);
	assert_int_equal(usm_reuseport_group_create(NULL, len, SOCK_STREAM,
						    NULL, &g),
			 -EINVAL);
	/* a port held by a socket without SO_REUSEPORT */
	u = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(u, (struct sockaddr *)&ss, len), 0);
	al = sizeof(a);
	assert_int_equal(getsockname(u, (struct sockaddr *)&a, &al), 0);
	assert_int_equal(listen(u, 1), 0);
	assert_int_equal(usm_reuseport_group_create((struct sockaddr *)&a, al,
						    SOCK_STREAM, NULL, &g2),
			 -EADDRINUSE);
	close(u);
	usm_reuseport_group_close(NULL);
	usm_reuseport_member_close(NULL);
}

/* RPA-09, LIFE-08: a member that closes leaves the array (lookup ENOENT)
 * and the group: selecting its key fails (-ENOENT) and the rest of the
 * group still serves by hash. */
static void test_member_close_leaves(void **s)
{
	uint64_t cookie;
	uint32_t key = 1;
	struct world w;
	int i, who;

	usm_world(&w, AF_INET6, SOCK_DGRAM, false);
	for (i = 0; i < NM; i++)
		assert_int_equal(w_put(&w, "rp_arr", i, i), 0);
	assert_int_equal(usm_map_lookup_elem(umap(&w, "rp_arr"), &key,
					     &cookie), 0);
	usm_attach(&w, "sel_arr");
	usm_reuseport_member_close(w.m[1]);
	w.m[1] = NULL;
	w.fds[1] = w.fds[0]; /* keep w_wait's poll set valid */
	assert_int_equal(usm_map_lookup_elem(umap(&w, "rp_arr"), &key,
					     &cookie), -ENOENT);
	assert_int_equal(usm_reuseport_group_start(w.g), 0);
	who = w_udp(&w, 1, 4);
	assert_true(who == 0 || who == 2 || who == 3);
	assert_int_equal((int32_t)usm_res(&w, 0), -ENOENT);
	w_fini(&w);
}

/* Serve member @fd in a child: accept one connection, answer "child",
 * exit 0. */
static void child_serve(int fd)
{
	int c = usm_reuseport_accept(fd, NULL, NULL);

	if (c < 0 || write(c, "child", 5) != 5)
		_exit(1);
	close(c);
	close(fd);
	_exit(0);
}

/* A member served from another process over its exported fd receives its
 * connections there; when that process exits the member leaves its group
 * and the array (LIFE-08). */
static void test_cross_process_member(void **s)
{
	struct sockaddr_storage d;
	char buf[8] = { 0 };
	uint64_t cookie;
	uint32_t key;
	struct world w;
	socklen_t dl;
	int i, efd, c, st, n;
	pid_t pid;

	usm_world(&w, AF_INET, SOCK_STREAM, false);
	for (i = 0; i < NM; i++)
		assert_int_equal(w_put(&w, "rp_arr", i, i), 0);
	usm_attach(&w, "sel_none"); /* hash: make member 2 the only one */
	usm_reuseport_member_close(w.m[0]);
	usm_reuseport_member_close(w.m[1]);
	usm_reuseport_member_close(w.m[3]);
	efd = usm_reuseport_member_export(w.m[2]);
	assert_true(efd >= 0);
	assert_int_equal(usm_reuseport_member_export(w.m[2]), -EBADF);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid)
		child_serve(efd);
	close(efd);
	dest_addr(&w, &d, &dl);
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(c, (struct sockaddr *)&d, dl), 0);
	assert_int_equal(usm_reuseport_dispatch(w.g, 2000), 1);
	n = (int)read(c, buf, sizeof(buf));
	assert_int_equal(n, 5);
	assert_string_equal(buf, "child");
	close(c);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(usm_reuseport_member_count(w.m[2]), 1);
	key = 2;
	assert_int_equal(usm_map_lookup_elem(umap(&w, "rp_arr"), &key,
					     &cookie), 0);
	/* the child closed the last copy: the member leaves on the next
	 * dispatch round (LIFE-08) */
	assert_int_equal(usm_reuseport_dispatch(w.g, 0), 0);
	assert_int_equal(usm_map_lookup_elem(umap(&w, "rp_arr"), &key,
					     &cookie), -ENOENT);
	assert_int_equal(usm_reuseport_member_sock_fd(w.m[2]), -1);
	assert_int_equal(usm_reuseport_member_count(w.m[2]), 1);
	usm_reuseport_member_close(w.m[2]); /* frees the member that left */
	/* no member left: a new connection is reset */
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(c, (struct sockaddr *)&d, dl), 0);
	assert_int_equal(usm_reuseport_dispatch(w.g, 2000), 1);
	assert_int_equal(read(c, buf, sizeof(buf)), -1);
	assert_int_equal(errno, ECONNRESET);
	close(c);
	usm_object_close(w.obj);
	usm_reuseport_group_close(w.g);
}

/* A UDP member served from another process gets each datagram with the
 * client's address (the child reports what it saw over a pipe). */
static void test_cross_process_udp(void **s)
{
	struct sockaddr_storage d, me, seen;
	socklen_t dl, ml = sizeof(me), sl;
	uint8_t buf[16] = { 2, 'x' };
	struct world w;
	int i, efd, c, pp[2], st;
	pid_t pid;

	usm_world(&w, AF_INET6, SOCK_DGRAM, false);
	for (i = 0; i < NM; i++)
		assert_int_equal(w_put(&w, "rp_arr", i, i), 0);
	usm_attach(&w, "sel_arr");
	efd = usm_reuseport_member_export(w.m[2]);
	assert_true(efd >= 0);
	assert_int_equal(pipe(pp), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		sl = sizeof(seen);
		if (usm_reuseport_recvfrom(efd, buf, sizeof(buf), 0,
					   (struct sockaddr *)&seen, &sl) != 2 ||
		    write(pp[1], &sl, sizeof(sl)) != sizeof(sl) ||
		    write(pp[1], &seen, sl) != (ssize_t)sl)
			_exit(1);
		_exit(0);
	}
	close(efd);
	close(pp[1]);
	dest_addr(&w, &d, &dl);
	c = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(c, (struct sockaddr *)&d, dl), 0);
	assert_int_equal(getsockname(c, (struct sockaddr *)&me, &ml), 0);
	assert_int_equal(send(c, buf, 2, 0), 2);
	assert_int_equal(usm_reuseport_dispatch(w.g, 2000), 1);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(read(pp[0], &sl, sizeof(sl)), sizeof(sl));
	assert_int_equal(sl, ml);
	assert_int_equal(read(pp[0], &seen, sl), (ssize_t)sl);
	assert_memory_equal(&seen, &me, ml);
	close(pp[0]);
	close(c);
	/* LIFE-08: the child's exit took the member out of the group */
	assert_int_equal(usm_reuseport_dispatch(w.g, 0), 0);
	{
		uint32_t key = 2;
		uint64_t cookie;

		assert_int_equal(usm_map_lookup_elem(umap(&w, "rp_arr"), &key,
						     &cookie), -ENOENT);
	}
	w_fini(&w);
}

/* The member side's errors: a peer that is gone, malformed messages. */
static void test_member_side_errors(void **s)
{
	char buf[4];
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	assert_int_equal(write(sv[1], "junk", 4), 4);
	assert_int_equal(usm_reuseport_accept(sv[0], NULL, NULL), -EPROTO);
	assert_int_equal(write(sv[1], "junk", 4), 4);
	assert_int_equal(usm_reuseport_recvfrom(sv[0], buf, 4, 0, NULL, NULL),
			 -EPROTO);
	assert_int_equal(usm_reuseport_recvfrom(sv[0], buf, 4, MSG_PEEK, NULL,
						NULL),
			 -EINVAL);
	assert_int_equal(usm_reuseport_recvfrom(sv[0], buf, 4, MSG_DONTWAIT,
						NULL, NULL),
			 -EAGAIN);
	close(sv[1]);
	assert_int_equal(usm_reuseport_accept(sv[0], NULL, NULL), -ENOTCONN);
	close(sv[0]);
}

/* RPP-04: SK_DROP on TCP resets the connection (the kernel's RST on the
 * SYN, seen by the client as ECONNREFUSED; here after connect, as
 * ECONNRESET) and counts it. */
static void test_tcp_drop_counts(void **s)
{
	struct usm_reuseport_stats st;
	struct world w;
	int i, key, who, drops = 0;

	usm_world(&w, AF_INET, SOCK_STREAM, false);
	for (i = 0; i < NM; i++)
		assert_int_equal(w_put(&w, "rp_arr", i, i), 0);
	w_attach(&w, "sel_arr");
	for (i = 0; i < 24; i++) {
		who = w_tcp(&w, &key);
		if (who == R_REFUSED)
			drops++;
	}
	usm_reuseport_group_stats(w.g, &st);
	assert_int_equal(st.dropped, (uint64_t)drops);
	assert_int_equal(st.selected + st.hashed + st.dropped, 24);
	assert_int_equal(st.prog_errors, 0);
	w_fini(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_attach_detach),
		cmocka_unit_test(test_attach_prog_fd),
		cmocka_unit_test(test_attach_errors),
		cmocka_unit_test(test_create_errors),
		cmocka_unit_test(test_member_close_leaves),
		cmocka_unit_test(test_cross_process_member),
		cmocka_unit_test(test_cross_process_udp),
		cmocka_unit_test(test_member_side_errors),
		cmocka_unit_test(test_tcp_drop_counts),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
