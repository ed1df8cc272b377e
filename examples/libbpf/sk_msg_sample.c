// SPDX-License-Identifier: MIT
/*
 * The load / find / attach / update sequence of the sk_msg patch series
 * cover letter, against libbpf's API: open and load an object, find its
 * sk_msg program and its SOCKMAP by name, attach the program to the map as
 * BPF_SK_MSG_VERDICT and insert a socket. Then a few more calls whose
 * results the kernel defines (query, lookup, detach, iteration).
 *
 *   cc sk_msg_sample.c $(pkg-config --cflags --libs usockmap)   # usockmap
 *   cc -DUSM_SAMPLE_KERNEL sk_msg_sample.c -lbpf               # kernel
 *
 * Usage: sk_msg_sample msg_prog.bpf.o. Both builds print the same lines.
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

/* "name: ret (errno text)" for a call returning libbpf's convention. */
static void show(const char *what, int ret)
{
	printf("%s: %d%s%s%s\n", what, ret, ret < 0 ? " (" : "",
	       ret < 0 ? strerror(-ret) : "", ret < 0 ? ")" : "");
}

static void listing(struct bpf_object *obj)
{
	struct bpf_program *prog;
	struct bpf_map *map;

	bpf_object__for_each_program(prog, obj)
		printf("program %s (%s)\n", bpf_program__name(prog),
		       bpf_program__section_name(prog));
	bpf_object__for_each_map(map, obj)
		printf("map %s type %d key %u value %u max %u\n",
		       bpf_map__name(map), bpf_map__type(map),
		       bpf_map__key_size(map), bpf_map__value_size(map),
		       bpf_map__max_entries(map));
}

static void more_calls(int prog_fd, int map_fd, int sock_fd)
{
	__u32 ids[2] = { 0 }, cnt = 2, flags = 1, key = 0;
	__u64 cookie;
	int err;

	err = bpf_prog_query(map_fd, BPF_SK_MSG_VERDICT, 0, &flags, ids, &cnt);
	printf("query: %d count %u flags %u id %s\n", err, cnt, flags,
	       ids[0] ? "set" : "zero");
	show("query skb verdict", bpf_prog_query(map_fd, BPF_SK_SKB_VERDICT, 1,
						 NULL, ids, &cnt));
	/* A 4-byte SOCKMAP cannot return the 8-byte cookie. */
	show("lookup", bpf_map_lookup_elem(map_fd, &key, &cookie));
	show("attach as parser", bpf_prog_attach(prog_fd, map_fd,
						 BPF_SK_SKB_STREAM_PARSER, 0));
	show("insert again", bpf_map_update_elem(map_fd, &key, &sock_fd,
						 BPF_NOEXIST));
	key = 9;
	show("insert out of range", bpf_map_update_elem(map_fd, &key, &sock_fd,
							BPF_ANY));
	show("delete empty", bpf_map_delete_elem(map_fd, &key));
	show("detach", bpf_prog_detach2(prog_fd, map_fd, BPF_SK_MSG_VERDICT));
	show("detach again", bpf_prog_detach2(prog_fd, map_fd,
					      BPF_SK_MSG_VERDICT));
}

int main(int argc, char **argv)
{
	struct bpf_program *prog;
	struct bpf_object *obj;
	struct bpf_map *map, *counts;
	int prog_fd, map_fd, cl, sv, ln, err;
	__u32 key = 0, one = 1;
	__u64 n = 7;

	if (argc != 2) {
		fprintf(stderr, "usage: %s msg_prog.bpf.o\n", argv[0]);
		return 2;
	}
	obj = bpf_object__open_file(argv[1], NULL);
	err = libbpf_get_error(obj);
	if (err) {
		fprintf(stderr, "open %s: %s\n", argv[1], strerror(-err));
		return 1;
	}
	err = bpf_object__load(obj);
	show("load", err);
	show("load again", bpf_object__load(obj));
	prog = bpf_object__find_program_by_name(obj, "msg_filter");
	map = bpf_object__find_map_by_name(obj, "sock_map");
	counts = bpf_object__find_map_by_name(obj, "verdicts");
	if (bpf_object__find_program_by_name(obj, "nope"))
		printf("missing program: found\n");
	else
		printf("missing program: none (%s)\n", strerror(errno));
	if (err || !prog || !map || !counts || tcp_pair(&cl, &sv, &ln))
		return 1;
	listing(obj);

	prog_fd = bpf_program__fd(prog);
	map_fd = bpf_map__fd(map);
	show("attach", bpf_prog_attach(prog_fd, map_fd, BPF_SK_MSG_VERDICT, 0));
	show("insert", bpf_map_update_elem(map_fd, &key, &cl, BPF_ANY));
	show("insert listener", bpf_map_update_elem(map_fd, &one, &ln,
						    BPF_ANY));
	show("counter", bpf_map_lookup_elem(bpf_map__fd(counts), &one, &n));
	printf("counter value: %llu\n", (unsigned long long)n);
	more_calls(prog_fd, map_fd, cl);

	close(cl);
	close(sv);
	close(ln);
	bpf_object__close(obj);
	return 0;
}
