// SPDX-License-Identifier: MIT
/*
 * Hand a TCP port over between server processes without losing a
 * connection (see README.md):
 *
 *   handover dispatcher OBJ CTL PORTFILE   own the port (a usockmap reuseport
 *                                         group) and the maps; serve CTL
 *   handover server CTL GEN                join as the next generation, serve
 *                                         until drained, exit
 *   handover client PORT N MS              N short connections over MS ms;
 *                                         prints the outcome
 *
 * Build: cc handover.c $(pkg-config --cflags --libs usockmap) -o handover
 * (the e2e test compiles it in with HANDOVER_NO_MAIN).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <usockmap/bpf.h>
#include <usockmap/map.h>
#include <usockmap/object.h>
#include <usockmap/reuseport.h>

static volatile sig_atomic_t ho_stop;

static void ho_on_term(int sig)
{
	(void)sig;
	ho_stop = 1;
}

/* ---- fd passing on the control socket ---- */

static int ho_send_fd(int sock, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { .iov_base = "ok", .iov_len = 2 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cm.buf,
			     .msg_controllen = sizeof(cm.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	memset(cm.buf, 0, sizeof(cm.buf));
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

static int ho_recv_fd(int sock)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cm;
	char b[2];
	struct iovec iov = { .iov_base = b, .iov_len = sizeof(b) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cm.buf,
			     .msg_controllen = sizeof(cm.buf) };
	struct cmsghdr *c;
	int fd;

	if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) <= 0)
		return -EPROTO;
	c = CMSG_FIRSTHDR(&mh);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -EPROTO;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

static int ho_unix(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
}

/* ---- dispatcher ---- */

struct ho_disp {
	struct usm_object *obj;
	struct usm_reuseport_group *g;
	struct usm_map *outer, *inner[2];
	int inner_fd[2];                 /* bpf(2)-style handles for outer */
	struct usm_reuseport_member *cur; /* serving generation */
	int next;                        /* inner map for the next one */
};

/* A usm_bpf handle for @m, to store it in the outer map. */
static int ho_map_fd(struct usm_map *m)
{
	struct bpf_map_info info;
	union bpf_attr a;
	uint32_t len = sizeof(info);
	int err = usm_map_get_info(m, &info, &len);

	if (err)
		return err;
	memset(&a, 0, sizeof(a));
	a.map_id = info.id;
	return usm_bpf(BPF_MAP_GET_FD_BY_ID, &a, sizeof(a));
}

/*
 * A server joins: a new member in the unused inner array, its fd to the
 * server, then the take-over (one update of gen_outer[0]), then the old
 * generation's member leaves: its fd keeps what was queued to it and then
 * reports the end, so the old server drains and exits.
 */
static int ho_join(struct ho_disp *d, int ctl)
{
	struct usm_reuseport_member *m;
	uint32_t zero = 0;
	uint64_t sfd;
	int fd, err, ifd = d->inner_fd[d->next];

	err = usm_reuseport_member_add(d->g, &m);
	if (err)
		return err;
	sfd = (uint64_t)usm_reuseport_member_sock_fd(m);
	err = usm_map_update_elem(d->inner[d->next], &zero, &sfd, BPF_ANY);
	fd = err ? err : usm_reuseport_member_export(m);
	if (fd < 0 || (err = ho_send_fd(ctl, fd))) {
		usm_reuseport_member_close(m);
		if (fd >= 0)
			close(fd);
		return fd < 0 ? fd : err;
	}
	close(fd);
	err = usm_map_update_elem(d->outer, &zero, &ifd, BPF_ANY);
	if (err)
		return err;
	usm_reuseport_member_close(d->cur);
	d->cur = m;
	d->next ^= 1;
	return 0;
}

static int ho_disp_open(struct ho_disp *d, const char *obj)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int err = usm_object_open(obj, NULL, &d->obj);

	if (!err)
		err = usm_object_load(d->obj);
	if (err)
		return err;
	d->outer = usm_object_find_map(d->obj, "gen_outer");
	d->inner[0] = usm_object_find_map(d->obj, "gen_a");
	d->inner[1] = usm_object_find_map(d->obj, "gen_b");
	if (!d->outer || !d->inner[0] || !d->inner[1])
		return -ENOENT;
	d->inner_fd[0] = ho_map_fd(d->inner[0]);
	d->inner_fd[1] = ho_map_fd(d->inner[1]);
	if (d->inner_fd[0] < 0 || d->inner_fd[1] < 0)
		return -ENOENT;
	err = usm_reuseport_group_create((struct sockaddr *)&sa, sizeof(sa),
					 SOCK_STREAM, NULL, &d->g);
	if (err)
		return err;
	return usm_reuseport_group_attach(
		d->g, usm_object_find_program(d->obj, "pick_gen"));
}

static int ho_write_port(struct ho_disp *d, const char *file)
{
	struct sockaddr_storage ss;
	socklen_t len;
	FILE *f;

	usm_reuseport_group_addr(d->g, &ss, &len);
	f = fopen(file, "w");
	if (!f)
		return -errno;
	fprintf(f, "%u\n", ntohs(((struct sockaddr_in *)&ss)->sin_port));
	return fclose(f) ? -errno : 0;
}

static void ho_disp_loop(struct ho_disp *d, int lfd)
{
	struct pollfd p[2] = {
		{ .fd = usm_reuseport_group_fd(d->g), .events = POLLIN },
		{ .fd = lfd, .events = POLLIN },
	};
	int c;

	while (!ho_stop) {
		if (poll(p, 2, 100) < 0 && errno != EINTR)
			break;
		/* connections first: none waits while a generation changes */
		usm_reuseport_dispatch(d->g, 0);
		if (!(p[1].revents & POLLIN))
			continue;
		c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		if (ho_join(d, c))
			fprintf(stderr, "dispatcher: join failed\n");
		close(c);
	}
}

static int ho_dispatcher(const char *obj, const char *ctl, const char *pf)
{
	struct ho_disp d = { .inner_fd = { -1, -1 } };
	struct sockaddr_un sa;
	int lfd, err;

	err = ho_disp_open(&d, obj);
	lfd = err ? -1 : ho_unix(ctl, &sa);
	if (!err && (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
		     listen(lfd, 16)))
		err = -errno;
	if (!err)
		err = ho_write_port(&d, pf);
	if (!err)
		ho_disp_loop(&d, lfd);
	else
		fprintf(stderr, "dispatcher: %s\n", strerror(-err));
	if (lfd >= 0) {
		close(lfd);
		unlink(ctl);
	}
	usm_reuseport_group_close(d.g);
	if (d.inner_fd[0] >= 0)
		usm_close(d.inner_fd[0]);
	if (d.inner_fd[1] >= 0)
		usm_close(d.inner_fd[1]);
	usm_object_close(d.obj);
	return err ? 1 : 0;
}

/* ---- server ---- */

static int ho_server(const char *ctl, const char *gen)
{
	struct sockaddr_un sa;
	char req[16], rep[32];
	int s = ho_unix(ctl, &sa), mfd, c, n;
	long served = 0;

	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)))
		return 1;
	mfd = ho_recv_fd(s);
	close(s);
	if (mfd < 0)
		return 1;
	printf("ready\n");
	fflush(stdout);
	n = snprintf(rep, sizeof(rep), "gen %s\n", gen);
	/* until the dispatcher closes its side and the queue is empty */
	while ((c = usm_reuseport_accept(mfd, NULL, NULL)) != -ENOTCONN) {
		if (c < 0)
			continue;
		if (read(c, req, sizeof(req)) > 0 && write(c, rep, n) == n)
			served++;
		close(c);
	}
	close(mfd);
	fprintf(stderr, "server gen %s: served %ld, drained\n", gen, served);
	return 0;
}

/* ---- client ---- */

/* One connection: the generation that answered, 0 unanswered, -1 failed. */
static int ho_one(const struct sockaddr_in *sa)
{
	struct timeval tv = { .tv_sec = 3 };
	char buf[32] = { 0 };
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), g = 0;
	ssize_t n;

	if (c < 0)
		return -1;
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(c, (const struct sockaddr *)sa, sizeof(*sa)) ||
	    write(c, "hi", 2) != 2) {
		close(c);
		return -1;
	}
	n = read(c, buf, sizeof(buf) - 1);
	close(c);
	if (n < 0)
		return errno == EAGAIN ? 0 : -1;
	if (n == 0 || sscanf(buf, "gen %d", &g) != 1)
		return n == 0 ? -1 : 0;
	return g > 0 && g < 16 ? g : 0;
}

static int ho_client(const char *port, const char *count, const char *ms)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				  .sin_port = htons((uint16_t)atoi(port)) };
	long n = atol(count), i, failed = 0, unanswered = 0, per[16] = { 0 };
	long gap_us = n > 0 ? atol(ms) * 1000 / n : 0;
	struct timespec ts = { .tv_nsec = gap_us * 1000 };
	int r;

	for (i = 0; i < n; i++) {
		r = ho_one(&sa);
		if (r < 0)
			failed++;
		else if (!r)
			unanswered++;
		else
			per[r]++;
		if (gap_us)
			nanosleep(&ts, NULL);
	}
	printf("total %ld failed %ld unanswered %ld", n, failed, unanswered);
	for (i = 1; i < 16; i++)
		if (per[i])
			printf(" gen%ld %ld", i, per[i]);
	printf("\n");
	return failed || unanswered;
}

int handover_main(int argc, char **argv);
int handover_main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = ho_on_term };

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (argc == 5 && !strcmp(argv[1], "dispatcher"))
		return ho_dispatcher(argv[2], argv[3], argv[4]);
	if (argc == 4 && !strcmp(argv[1], "server"))
		return ho_server(argv[2], argv[3]);
	if (argc == 5 && !strcmp(argv[1], "client"))
		return ho_client(argv[2], argv[3], argv[4]);
	fprintf(stderr, "usage: handover dispatcher OBJ CTL PORTFILE | "
			"server CTL GEN | client PORT N MS\n");
	return 2;
}

#ifndef HANDOVER_NO_MAIN
int main(int argc, char **argv)
{
	return handover_main(argc, argv);
}
#endif
