// SPDX-License-Identifier: MIT
/*
 * The SOCKMAP set-up of the kernel's Documentation/bpf/map_sockmap.rst
 * (create a SOCKMAP, attach a stream parser and a stream verdict, insert a
 * socket), written against libbpf's API. Built against usockmap:
 *
 *   cc sockmap_sample.c $(pkg-config --cflags --libs usockmap)
 *
 * and against the kernel (as root), with only the include switched:
 *
 *   cc -DUSM_SAMPLE_KERNEL sockmap_sample.c -lbpf
 *
 * Usage: sockmap_sample skb_progs.bpf.o. Both builds print the same lines.
 */
#ifdef USM_SAMPLE_KERNEL
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#else
#include <usockmap/libbpf.h>
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A SOCKMAP holding @sock, with both programs attached (map_sockmap.rst). */
int create_sample_sockmap(int sock, int parse_prog_fd, int verdict_prog_fd)
{
	int slot = 0;
	int map_fd, ret;

	map_fd = bpf_map_create(BPF_MAP_TYPE_SOCKMAP, NULL, sizeof(int),
				sizeof(int), 1, NULL);
	if (map_fd < 0) {
		fprintf(stderr, "cannot create the sockmap: %s\n",
			strerror(errno));
		return -1;
	}

	ret = bpf_prog_attach(parse_prog_fd, map_fd, BPF_SK_SKB_STREAM_PARSER,
			      0);
	if (ret) {
		fprintf(stderr, "cannot attach the parser: %s\n",
			strerror(errno));
		goto done;
	}

	ret = bpf_prog_attach(verdict_prog_fd, map_fd,
			      BPF_SK_SKB_STREAM_VERDICT, 0);
	if (ret) {
		fprintf(stderr, "cannot attach the verdict: %s\n",
			strerror(errno));
		goto done;
	}

	ret = bpf_map_update_elem(map_fd, &slot, &sock, BPF_NOEXIST);
	if (ret) {
		fprintf(stderr, "cannot insert the socket: %s\n",
			strerror(errno));
		goto done;
	}

done:
	close(map_fd);
	return ret;
}

/* A connected loopback TCP pair; the listener goes into *ln. */
static int tcp_pair(int *cl, int *sv, int *ln)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	*ln = socket(AF_INET, SOCK_STREAM, 0);
	if (*ln < 0 || bind(*ln, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(*ln, 4) || getsockname(*ln, (struct sockaddr *)&a, &len))
		return -1;
	*cl = socket(AF_INET, SOCK_STREAM, 0);
	if (*cl < 0 || connect(*cl, (struct sockaddr *)&a, sizeof(a)))
		return -1;
	*sv = accept(*ln, NULL, NULL);
	return *sv < 0 ? -1 : 0;
}

/* "what: ret" and, for a failure, what errno says. */
static void report(const char *what, int ret)
{
	if (ret < 0)
		printf("%s: %d (%s)\n", what, ret, strerror(errno));
	else
		printf("%s: %d\n", what, ret);
}

static int prog_fd(struct bpf_object *obj, const char *name)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, name);

	return prog ? bpf_program__fd(prog) : -errno;
}

#define SELF (-2) /* the socket itself as the parser program */

/* One create_sample_sockmap() call on a connection of its own. */
static void try_pair(const char *what, int which, int parse_fd,
		     int verdict_fd)
{
	int cl, sv, ln, fds[3];

	if (tcp_pair(&cl, &sv, &ln)) {
		printf("%s: no loopback connection\n", what);
		return;
	}
	fds[0] = cl;
	fds[1] = sv;
	fds[2] = ln;
	if (parse_fd == SELF)
		parse_fd = fds[which];
	report(what, create_sample_sockmap(fds[which], parse_fd, verdict_fd));
	close(cl);
	close(sv);
	close(ln);
}

int main(int argc, char **argv)
{
	int parse_fd, verdict_fd, fresh, err;
	struct bpf_object *obj;

	if (argc != 2) {
		fprintf(stderr, "usage: %s skb_progs.bpf.o\n", argv[0]);
		return 2;
	}
	obj = bpf_object__open_file(argv[1], NULL);
	if (libbpf_get_error(obj)) {
		fprintf(stderr, "open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	err = bpf_object__load(obj);
	printf("load: %d\n", err);
	parse_fd = prog_fd(obj, "whole_buffer");
	verdict_fd = prog_fd(obj, "pass_all");
	printf("program fds: %s\n", parse_fd >= 0 && verdict_fd >= 0 ? "ok"
								      : "missing");
	if (err || parse_fd < 0 || verdict_fd < 0)
		return 1;

	try_pair("established socket", 0, parse_fd, verdict_fd);
	try_pair("accepted socket", 1, parse_fd, verdict_fd);
	try_pair("listening socket", 2, parse_fd, verdict_fd);
	/* One sk_skb program may serve as parser or as verdict. */
	try_pair("programs swapped", 0, verdict_fd, parse_fd);
	try_pair("a socket as program", 0, SELF, verdict_fd);
	fresh = socket(AF_INET, SOCK_STREAM, 0);
	report("unconnected socket",
	       create_sample_sockmap(fresh, parse_fd, verdict_fd));
	close(fresh);

	bpf_object__close(obj);
	return 0;
}
