/* SPDX-License-Identifier: MIT */
/*
 * Runs one of the send-path examples on usockmap: loads the object with
 * the libbpf-compatible API, attaches its sk_msg program to the object's
 * socket map, puts the client end of a loopback TCP connection into the
 * map and sends through usm_send(), printing each send's result and what
 * the server end received.
 *
 *   send_demo header   "hello", "abc"      -> each arrives with a header
 *   send_demo policy   "CMD:", "READ xyz", "CMD:WIPE all"
 *                                          -> corked, passed, EACCES
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <usockmap/bpf.h>
#include <usockmap/libbpf.h>
#include <usockmap/send.h>

static int tcp_pair(int *c, int *s)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int l = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (l < 0 || bind(l, (void *)&sa, sizeof(sa)) || listen(l, 1) ||
	    getsockname(l, (void *)&sa, &len))
		return -1;
	*c = socket(AF_INET, SOCK_STREAM, 0);
	if (*c < 0 || connect(*c, (void *)&sa, sizeof(sa)))
		return -1;
	*s = accept(l, NULL, NULL);
	close(l);
	return *s < 0 ? -1 : 0;
}

static void print_bytes(const char *what, const unsigned char *b, size_t n)
{
	size_t i;

	printf("%s (%zu bytes): \"", what, n);
	for (i = 0; i < n; i++) {
		if (b[i] >= 0x20 && b[i] < 0x7f)
			putchar(b[i]);
		else
			printf("\\x%02x", b[i]);
	}
	printf("\"\n");
}

int main(int argc, char **argv)
{
	static const char *header[] = { "hello", "abc", NULL };
	static const char *policy[] = { "CMD:", "READ xyz", "CMD:WIPE all",
					NULL };
	const char *name = argc > 1 ? argv[1] : "";
	const char **sends = !strcmp(name, "policy") ? policy : header;
	const char *prog = sends == policy ? "filter" : "add_header";
	char path[256];
	struct bpf_object *obj;
	unsigned char buf[4096];
	struct pollfd p;
	int c, s, mfd, pfd, i;
	__u32 key = 0, val;
	ssize_t n;

	if (strcmp(name, "header") && strcmp(name, "policy")) {
		fprintf(stderr, "usage: %s header|policy [BUILD_DIR]\n",
			argv[0]);
		return 2;
	}
	snprintf(path, sizeof(path), "%s/bpf/examples/send/%s.bpf.o",
		 argc > 2 ? argv[2] : "build", name);
	obj = bpf_object__open_file(path, NULL);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "cannot load %s\n", path);
		return 1;
	}
	mfd = bpf_map__fd(bpf_object__find_map_by_name(obj, "sock_map"));
	pfd = bpf_program__fd(bpf_object__find_program_by_name(obj, prog));
	if (bpf_prog_attach(pfd, mfd, BPF_SK_MSG_VERDICT, 0) ||
	    tcp_pair(&c, &s)) {
		fprintf(stderr, "setup failed: %s\n", strerror(errno));
		return 1;
	}
	val = (__u32)c;
	if (bpf_map_update_elem(mfd, &key, &val, BPF_ANY)) {
		fprintf(stderr, "map update: %s\n", strerror(errno));
		return 1;
	}
	for (i = 0; sends[i]; i++) {
		n = usm_send(c, sends[i], strlen(sends[i]), MSG_NOSIGNAL);
		printf("send(\"%s\") = %zd%s%s\n", sends[i], n,
		       n < 0 ? " " : "", n < 0 ? strerror(errno) : "");
	}
	p.fd = s;
	p.events = POLLIN;
	n = 0;
	while (poll(&p, 1, 200) > 0 && n < (ssize_t)sizeof(buf)) {
		ssize_t r = recv(s, buf + n, sizeof(buf) - (size_t)n, 0);

		if (r <= 0)
			break;
		n += r;
	}
	print_bytes("peer received", buf, (size_t)n);
	usm_close(c);
	close(s);
	bpf_object__close(obj);
	return 0;
}
