/* SPDX-License-Identifier: MIT */
/*
 * The splice example (examples/proxy/splice.bpf.c) as a proxy on the
 * kernel and on `usockmap run`, same object, same traffic: on the kernel
 * the test plays the proxy (accepts the client, connects the backend,
 * fills `socks` and `peer` as the object's sockops program would, and
 * attaches `splice` to `socks` as a stream verdict); the bytes the client
 * gets back must be the same on both (SKB-15: egress redirect to the
 * paired socket's peer).
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kern.h"
#include "proxy_fix.h"

#define XFER (256u * 1024u)

static uint64_t cookie_of(int fd)
{
	uint64_t c = 0;
	socklen_t l = sizeof(c);

	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_COOKIE, &c, &l), 0);
	return c;
}

/* Listener on 127.0.0.1:0; its port in *port. */
static int listen_any(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* The kernel run: what the client received. */
static size_t kernel_splice(const uint8_t *out, uint8_t *in, uint16_t be_port)
{
	struct bpf_object *obj = kern_load(usm_test_bpf_path("examples/proxy/splice"));
	int socks, peer, prog, lfd, cfd, sfd, bfd;
	uint64_t cs, cb, vs, vb;
	uint16_t port;
	size_t got;

	assert_non_null(obj);
	socks = bpf_object__find_map_fd_by_name(obj, "socks");
	peer = bpf_object__find_map_fd_by_name(obj, "peer");
	prog = bpf_program__fd(bpf_object__find_program_by_name(obj, "splice"));
	assert_int_equal(bpf_prog_attach(prog, socks, BPF_SK_SKB_STREAM_VERDICT,
					 0), 0);
	lfd = listen_any(&port);
	cfd = client_connect(port);
	sfd = accept(lfd, NULL, NULL);
	bfd = client_connect(be_port);
	cs = cookie_of(sfd);
	cb = cookie_of(bfd);
	vs = (uint64_t)sfd;
	vb = (uint64_t)bfd;
	assert_int_equal(bpf_map_update_elem(peer, &cs, &cb, BPF_ANY), 0);
	assert_int_equal(bpf_map_update_elem(peer, &cb, &cs, BPF_ANY), 0);
	assert_int_equal(bpf_map_update_elem(socks, &cs, &vs, BPF_ANY), 0);
	assert_int_equal(bpf_map_update_elem(socks, &cb, &vb, BPF_ANY), 0);
	got = client_xfer(cfd, out, in, XFER, false, 10000);
	close(cfd);
	close(sfd);
	close(bfd);
	close(lfd);
	bpf_object__close(obj);
	return got;
}

static void test_splice_kernel_vs_usockmap_SKB15(void **state)
{
	uint8_t *out = malloc(XFER), *kin = calloc(1, XFER), *uin = calloc(1, XFER);
	const char *why = NULL;
	struct echo_srv e;
	struct proxy p;
	char args[128];
	int fd;

	(void)state;
	assert_non_null(out);
	assert_non_null(kin);
	assert_non_null(uin);
	fill_pattern(out, XFER, 42);
	echo_start(&e);
	snprintf(args, sizeof(args), "--backend 127.0.0.1:%u", e.port);
	assert_int_equal(proxy_start(&p, usm_test_bpf_path("examples/proxy/splice"),
				     args), 0);
	fd = client_connect(p.port);
	assert_int_equal(client_xfer(fd, out, uin, XFER, false, 10000), XFER);
	close(fd);
	assert_int_equal(proxy_stop(&p), 0);
	free(proxy_trace(&p));
	assert_memory_equal(uin, out, XFER);
	if (!usm_test_have_kernel_bpf(&why)) {
		echo_stop(&e);
		free(out);
		free(kin);
		free(uin);
		USM_SKIP("kernel side: %s", why);
		return;
	}
	assert_int_equal(kernel_splice(out, kin, e.port), XFER);
	assert_memory_equal(kin, uin, XFER); /* the same bytes on both */
	echo_stop(&e);
	free(out);
	free(kin);
	free(uin);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_splice_kernel_vs_usockmap_SKB15),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, proxy_reap_all);
}
