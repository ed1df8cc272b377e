/* SPDX-License-Identifier: MIT */
/*
 * The kernel side of the e2e comparisons: load the same clang-compiled
 * object into the kernel with libbpf, attach one program to the object's
 * `sock_map`, push real bytes through a loopback TCP pair and report where
 * they arrived. The e2e tests run the same program with usm_prog_run() and
 * check that usockmap's verdict and data_out say the same.
 *
 * Header-only (static functions) because every tests/<dir>/test_*.c is its
 * own binary.
 */
#ifndef USM_TEST_E2E_KERN_H
#define USM_TEST_E2E_KERN_H

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Where the bytes a scenario sent ended up. */
enum kern_where {
	KERN_NOWHERE = 0, /* dropped */
	KERN_AT_RECEIVER, /* passed to the receiving socket (SKB-11) */
	KERN_AT_TARGET_PEER, /* egress redirect: out of the target (SKB-15) */
	KERN_AT_TARGET,   /* ingress redirect: the target's receive queue */
};

struct kern_result {
	enum kern_where where;
	uint8_t buf[4096];
	size_t len;
	int send_rc;    /* sk_msg: send()'s result */
	int send_errno;
};

static int kern_print_none(enum libbpf_print_level l, const char *f,
			   va_list ap)
{
	(void)l;
	(void)f;
	(void)ap;
	return 0;
}

/* Open and load @path into the kernel, quietly. NULL on failure. */
static inline struct bpf_object *kern_load(const char *path)
{
	libbpf_print_fn_t old = libbpf_set_print(kern_print_none);
	struct bpf_object *obj = bpf_object__open_file(path, NULL);

	if (obj && bpf_object__load(obj)) {
		bpf_object__close(obj);
		obj = NULL;
	}
	libbpf_set_print(old);
	return obj;
}

static inline int kern_tcp_pair(int *c, int *s)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int l;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM, 0);
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

/* Read what arrives on @fd within @ms milliseconds (0 bytes: nothing). */
static inline size_t kern_read(int fd, uint8_t *buf, size_t cap, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t len = 0;
	ssize_t n;

	while (len < cap && poll(&p, 1, len ? 50 : ms) == 1) {
		n = recv(fd, buf + len, cap - len, MSG_DONTWAIT);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	return len;
}

static inline int kern_map_put(int map_fd, uint32_t key, int fd)
{
	uint64_t v = (uint64_t)fd;

	return bpf_map_update_elem(map_fd, &key, &v, BPF_ANY);
}

struct kern_socks {
	int c, s;   /* sender, receiver (c -> s) */
	int t, tp;  /* redirect target and its peer */
};

static inline void kern_socks_close(struct kern_socks *k)
{
	close(k->c);
	close(k->s);
	close(k->t);
	close(k->tp);
}

/* Where the bytes went: receiver, target, target's peer, else nowhere. */
static inline void kern_collect(struct kern_socks *k, struct kern_result *r,
				int ms)
{
	r->len = kern_read(k->s, r->buf, sizeof(r->buf), ms);
	if (r->len) {
		r->where = KERN_AT_RECEIVER;
		return;
	}
	r->len = kern_read(k->tp, r->buf, sizeof(r->buf), 20);
	if (r->len) {
		r->where = KERN_AT_TARGET_PEER;
		return;
	}
	r->len = kern_read(k->t, r->buf, sizeof(r->buf), 20);
	r->where = r->len ? KERN_AT_TARGET : KERN_NOWHERE;
}

/*
 * sk_skb: attach @prog of @obj as stream verdict on its sock_map, put the
 * receiver at @recv_key and (if @target_key >= 0) a redirect target at
 * @target_key, send @data to the receiver and see where it lands.
 * 0 or -1 (setup failed).
 */
static inline int kern_skb_run(struct bpf_object *obj, const char *prog,
			       const void *data, size_t len, uint32_t recv_key,
			       int target_key, struct kern_result *r)
{
	struct bpf_program *p = bpf_object__find_program_by_name(obj, prog);
	int map = bpf_object__find_map_fd_by_name(obj, "sock_map");
	struct kern_socks k = { -1, -1, -1, -1 };
	int pfd = p ? bpf_program__fd(p) : -1, rc = -1;

	memset(r, 0, sizeof(*r));
	if (pfd < 0 || map < 0 ||
	    bpf_prog_attach(pfd, map, BPF_SK_SKB_STREAM_VERDICT, 0))
		return -1;
	if (kern_tcp_pair(&k.c, &k.s) || kern_tcp_pair(&k.t, &k.tp) ||
	    kern_map_put(map, recv_key, k.s) ||
	    (target_key >= 0 && kern_map_put(map, (uint32_t)target_key, k.t)))
		goto out;
	if (send(k.c, data, len, 0) != (ssize_t)len)
		goto out;
	kern_collect(&k, r, 300);
	rc = 0;
out:
	for (uint32_t key = 0; key < 4; key++)
		bpf_map_delete_elem(map, &key);
	bpf_prog_detach2(pfd, map, BPF_SK_SKB_STREAM_VERDICT);
	kern_socks_close(&k);
	return rc;
}

/*
 * Stream parser: attach @parser as stream parser and the object's
 * "verdict_pass" as stream verdict, send @data to the receiver (key 3) and
 * see what was delivered: exactly the messages the parser framed.
 */
static inline int kern_parser_run(struct bpf_object *obj, const char *parser,
				  const void *data, size_t len,
				  struct kern_result *r)
{
	struct bpf_program *p = bpf_object__find_program_by_name(obj, parser);
	struct bpf_program *v =
		bpf_object__find_program_by_name(obj, "verdict_pass");
	int map = bpf_object__find_map_fd_by_name(obj, "sock_map");
	struct kern_socks k = { -1, -1, -1, -1 };
	int pfd = p ? bpf_program__fd(p) : -1, vfd = v ? bpf_program__fd(v) : -1;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	if (pfd < 0 || vfd < 0 || map < 0 ||
	    bpf_prog_attach(pfd, map, BPF_SK_SKB_STREAM_PARSER, 0))
		return -1;
	if (bpf_prog_attach(vfd, map, BPF_SK_SKB_STREAM_VERDICT, 0))
		goto out;
	if (kern_tcp_pair(&k.c, &k.s) || kern_tcp_pair(&k.t, &k.tp) ||
	    kern_map_put(map, 3, k.s))
		goto out;
	if (send(k.c, data, len, 0) != (ssize_t)len)
		goto out;
	kern_collect(&k, r, 300);
	rc = 0;
out:
	for (uint32_t key = 0; key < 4; key++)
		bpf_map_delete_elem(map, &key);
	bpf_prog_detach2(vfd, map, BPF_SK_SKB_STREAM_VERDICT);
	bpf_prog_detach2(pfd, map, BPF_SK_SKB_STREAM_PARSER);
	kern_socks_close(&k);
	return rc;
}

/*
 * sk_msg: attach @prog as msg verdict on sock_map, put the sender at key 0
 * and (if @target_key >= 0) a target at @target_key, send @data and see
 * what send() said and where the bytes arrived.
 */
static inline int kern_msg_run(struct bpf_object *obj, const char *prog,
			       const void *data, size_t len, int target_key,
			       struct kern_result *r)
{
	struct bpf_program *p = bpf_object__find_program_by_name(obj, prog);
	int map = bpf_object__find_map_fd_by_name(obj, "sock_map");
	struct kern_socks k = { -1, -1, -1, -1 };
	int pfd = p ? bpf_program__fd(p) : -1, rc = -1;

	memset(r, 0, sizeof(*r));
	if (pfd < 0 || map < 0 ||
	    bpf_prog_attach(pfd, map, BPF_SK_MSG_VERDICT, 0))
		return -1;
	if (kern_tcp_pair(&k.c, &k.s) || kern_tcp_pair(&k.t, &k.tp) ||
	    kern_map_put(map, 0, k.c) ||
	    (target_key >= 0 && kern_map_put(map, (uint32_t)target_key, k.t)))
		goto out;
	r->send_rc = (int)send(k.c, data, len, MSG_DONTWAIT);
	r->send_errno = r->send_rc < 0 ? errno : 0;
	kern_collect(&k, r, 300);
	rc = 0;
out:
	for (uint32_t key = 0; key < 4; key++)
		bpf_map_delete_elem(map, &key);
	bpf_prog_detach2(pfd, map, BPF_SK_MSG_VERDICT);
	kern_socks_close(&k);
	return rc;
}

#endif /* USM_TEST_E2E_KERN_H */
