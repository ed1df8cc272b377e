/* SPDX-License-Identifier: MIT */
/*
 * The sk_msg helpers (src/helpers/msg.c) called as the interpreter calls
 * them: prototypes (the verifier checks calls against them), apply/cork
 * bytes (MSG-07/08), pull/push/pop keeping md.data/data_end/size in step
 * (MSG-11..13), and msg_redirect_map/hash target rules (MSG-16) on real
 * sockets in usockmap's SOCKMAP/SOCKHASH, compared with the kernel's
 * helpers on the same sockets when kernel BPF is available.
 */
#include "msgt.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../../src/helpers/helpers.h"
#include "../../../src/maps/map.h"
#include "../../../src/progtype/progtype.h"
#include "../../../src/sock/sock.h"
#include "../../../src/vm/vm.h"

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

static uint64_t call(const struct usm_helper *h, struct usm_msg_ctx *ctx,
		     uint64_t a, uint64_t b, uint64_t c)
{
	struct usm_run run;

	memset(&run, 0, sizeof(run));
	run.ctx = ctx;
	return h->fn(&run, (uintptr_t)ctx, a, b, c, 0);
}

static void test_prototypes_match_kernel(void **state)
{
	const struct usm_helper *pkt[] = { &usm__h_msg_pull_data,
					   &usm__h_msg_push_data,
					   &usm__h_msg_pop_data };
	size_t i;

	assert_int_equal(usm__h_msg_apply_bytes.id, BPF_FUNC_msg_apply_bytes);
	assert_int_equal(usm__h_msg_cork_bytes.id, BPF_FUNC_msg_cork_bytes);
	assert_int_equal(usm__h_msg_pull_data.id, BPF_FUNC_msg_pull_data);
	assert_int_equal(usm__h_msg_push_data.id, BPF_FUNC_msg_push_data);
	assert_int_equal(usm__h_msg_pop_data.id, BPF_FUNC_msg_pop_data);
	assert_int_equal(usm__h_msg_redirect_map.id, BPF_FUNC_msg_redirect_map);
	assert_int_equal(usm__h_msg_redirect_hash.id,
			 BPF_FUNC_msg_redirect_hash);
	assert_string_equal(usm__h_msg_push_data.name, "bpf_msg_push_data");
	assert_int_equal(usm__h_msg_apply_bytes.args[0], USM_ARG_PTR_TO_CTX);
	assert_int_equal(usm__h_msg_apply_bytes.args[1], USM_ARG_ANYTHING);
	assert_int_equal(usm__h_msg_apply_bytes.args[2], USM_ARG_NONE);
	assert_int_equal(usm__h_msg_apply_bytes.flags, 0);
	for (i = 0; i < 3; i++) { /* filter.c: ctx, u32, u32, u64 */
		assert_int_equal(pkt[i]->ret, USM_RET_INTEGER);
		assert_int_equal(pkt[i]->args[0], USM_ARG_PTR_TO_CTX);
		assert_int_equal(pkt[i]->args[1], USM_ARG_ANYTHING);
		assert_int_equal(pkt[i]->args[2], USM_ARG_ANYTHING);
		assert_int_equal(pkt[i]->args[3], USM_ARG_ANYTHING);
		assert_int_equal(pkt[i]->args[4], USM_ARG_NONE);
		assert_int_equal(pkt[i]->flags, USM_HF_PKT_CHANGE);
	}
	/* sock_map.c: the map variant takes the key by value, the hash
	 * variant by pointer. Neither changes packet data. */
	assert_int_equal(usm__h_msg_redirect_map.args[1], USM_ARG_CONST_MAP_PTR);
	assert_int_equal(usm__h_msg_redirect_map.args[2], USM_ARG_ANYTHING);
	assert_int_equal(usm__h_msg_redirect_map.args[3], USM_ARG_ANYTHING);
	assert_int_equal(usm__h_msg_redirect_hash.args[2],
			 USM_ARG_PTR_TO_MAP_KEY);
	assert_int_equal(usm__h_msg_redirect_hash.flags, 0);
	assert_int_equal(usm__h_msg_redirect_map.flags, 0);
}

/* MSG-07/08: record the value (as u32), always return 0. */
static void test_apply_cork_record_msg07_msg08(void **state)
{
	struct usm_msg_ctx ctx;

	memset(&ctx, 0, sizeof(ctx));
	assert_int_equal(call(&usm__h_msg_apply_bytes, &ctx, 1000, 0, 0), 0);
	assert_int_equal(ctx.apply_bytes, 1000);
	assert_int_equal(call(&usm__h_msg_apply_bytes, &ctx, 0x100000007ull, 0,
			      0),
			 0);
	assert_int_equal(ctx.apply_bytes, 7);
	assert_int_equal(call(&usm__h_msg_apply_bytes, &ctx, 0, 0, 0), 0);
	assert_int_equal(ctx.apply_bytes, 0);
	assert_int_equal(call(&usm__h_msg_cork_bytes, &ctx, 0xffffffffu, 0, 0),
			 0);
	assert_int_equal(ctx.cork_bytes, 0xffffffffu);
	assert_int_equal(ctx.apply_bytes, 0);
}

static void ctx_on(struct usm_msg_ctx *ctx, struct usm_sk_msg *m)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->msg = m;
	usm__msg_compute_data_pointers(ctx);
}

static uint32_t span(const struct usm_msg_ctx *ctx)
{
	return (uint32_t)((uint8_t *)ctx->md.data_end - (uint8_t *)ctx->md.data);
}

/* MSG-11: data/data_end = [start, end); errors as negative u64 with the
 * pointers untouched. */
static void test_pull_sets_pointers_msg11(void **state)
{
	static const uint32_t lens[] = { 4, 4, 4 };
	struct usm_sk_msg m;
	struct usm_msg_ctx ctx;
	const uint8_t *d;
	uint32_t i;

	msgt_build(&m, 16, lens, 3, 1, NULL);
	ctx_on(&ctx, &m);
	assert_int_equal(span(&ctx), 4);
	d = ctx.md.data;
	usm__msg_fail_alloc_after(0);
	assert_int_equal((int64_t)call(&usm__h_msg_pull_data, &ctx, 2, 10, 0),
			 -ENOMEM);
	usm__msg_fail_alloc_after(-1);
	assert_ptr_equal(ctx.md.data, d);
	assert_int_equal(span(&ctx), 4);
	assert_int_equal(call(&usm__h_msg_pull_data, &ctx, 2, 10, 0), 0);
	assert_int_equal(span(&ctx), 8);
	assert_int_equal(ctx.md.size, 12);
	d = ctx.md.data;
	for (i = 0; i < 8; i++)
		assert_int_equal(d[i], msgt_pat(2 + i, 1));
	/* Arguments are u32: high bits ignored, as the kernel's BPF_CALL. */
	assert_int_equal(call(&usm__h_msg_pull_data, &ctx, 0x100000000ull + 1,
			      0x100000000ull + 3, 0),
			 0);
	assert_int_equal(span(&ctx), 2);
	d = ctx.md.data;
	assert_int_equal(d[0], msgt_pat(1, 1));
	assert_int_equal((int64_t)call(&usm__h_msg_pull_data, &ctx, 0, 0, 0),
			 -EINVAL);
	assert_int_equal((int64_t)call(&usm__h_msg_pull_data, &ctx, 0, 4, 1),
			 -EINVAL);
	assert_int_equal((int64_t)call(&usm__h_msg_pull_data, &ctx, 0, 13, 0),
			 -EINVAL);
	assert_ptr_equal(ctx.md.data, d);
	assert_int_equal(span(&ctx), 2);
	usm__msg_fini(&m);
	/* No message (a context built without one): -EINVAL, no crash. */
	ctx_on(&ctx, NULL);
	assert_int_equal((int64_t)call(&usm__h_msg_pull_data, &ctx, 0, 1, 0),
			 -EINVAL);
	assert_int_equal((int64_t)call(&usm__h_msg_push_data, &ctx, 0, 1, 0),
			 -EINVAL);
	assert_int_equal((int64_t)call(&usm__h_msg_pop_data, &ctx, 0, 1, 0),
			 -EINVAL);
}

/* MSG-12/13: after a change data/data_end are the first chunk again and
 * size follows; len 0 and errors change nothing, pointers included. */
static void test_push_pop_reset_pointers_msg12_msg13(void **state)
{
	static const uint32_t lens[] = { 6, 6 };
	struct usm_sk_msg m;
	struct usm_msg_ctx ctx;
	void *d;

	msgt_build(&m, 0, lens, 2, 2, NULL);
	ctx_on(&ctx, &m);
	assert_int_equal(call(&usm__h_msg_pull_data, &ctx, 7, 9, 0), 0);
	d = ctx.md.data;
	assert_int_equal(call(&usm__h_msg_push_data, &ctx, 3, 0, 0), 0);
	assert_int_equal(call(&usm__h_msg_pop_data, &ctx, 3, 0, 0), 0);
	assert_int_equal((int64_t)call(&usm__h_msg_push_data, &ctx, 13, 1, 0),
			 -EINVAL);
	assert_int_equal((int64_t)call(&usm__h_msg_pop_data, &ctx, 0, 1, 8),
			 -EINVAL);
	assert_int_equal((int64_t)call(&usm__h_msg_pop_data, &ctx, 0x48a3,
				       0xfffffffdu, 0),
			 -EINVAL);
	assert_ptr_equal(ctx.md.data, d);
	assert_int_equal(span(&ctx), 2);
	/* push at 0: the first chunk is the pushed one. */
	assert_int_equal(call(&usm__h_msg_push_data, &ctx, 0, 5, 0), 0);
	assert_int_equal(ctx.md.size, 17);
	assert_int_equal(span(&ctx), 5);
	assert_ptr_equal(ctx.md.data, usm__msg_chunk_ptr(&m.sg[m.start]));
	/* pop it and 2 more: the first chunk is what is left of chunk 0. */
	assert_int_equal(call(&usm__h_msg_pop_data, &ctx, 0, 7, 0), 0);
	assert_int_equal(ctx.md.size, 10);
	assert_int_equal(span(&ctx), 4);
	assert_int_equal(*(uint8_t *)ctx.md.data, msgt_pat(2, 2));
	usm__msg_fini(&m);
}

/* ---- redirect (MSG-16) ---- */

enum target {
	T_TCP_EST,
	T_TCP_LISTEN,
	T_UDP_BOUND,
	T_UDP_CONN,
	T_UNIX_STREAM,
	T_UNIX_DGRAM,
	T_UNIX_DGRAM_CONN,
	T_NR
};

static const char *const target_names[T_NR] = {
	"tcp established", "tcp listening", "udp bound", "udp connected",
	"unix stream connected", "unix dgram", "unix dgram connected",
};

struct targets {
	int fd[T_NR];
	int extra[8]; /* peers kept open */
	int nextra;
	int sender, sender_peer;
};

static int tcp_listener(struct sockaddr_in *a)
{
	socklen_t al = sizeof(*a);
	int l = socket(AF_INET, SOCK_STREAM, 0);

	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(l >= 0);
	assert_int_equal(bind(l, (void *)a, sizeof(*a)), 0);
	assert_int_equal(listen(l, 4), 0);
	assert_int_equal(getsockname(l, (void *)a, &al), 0);
	return l;
}

static void tcp_pair(int *c, int *s)
{
	struct sockaddr_in a;
	int l = tcp_listener(&a);

	*c = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(*c, (void *)&a, sizeof(a)), 0);
	*s = accept(l, NULL, NULL);
	assert_true(*s >= 0);
	close(l);
}

static void targets_open(struct targets *t)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int sv[2];

	memset(t, 0, sizeof(*t));
	tcp_pair(&t->sender, &t->sender_peer);
	tcp_pair(&t->fd[T_TCP_EST], &t->extra[t->nextra++]);
	t->fd[T_TCP_LISTEN] = tcp_listener(&a);
	t->fd[T_UDP_BOUND] = socket(AF_INET, SOCK_DGRAM, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(t->fd[T_UDP_BOUND], (void *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(t->fd[T_UDP_BOUND], (void *)&a, &al), 0);
	t->fd[T_UDP_CONN] = socket(AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(connect(t->fd[T_UDP_CONN], (void *)&a, sizeof(a)), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	t->fd[T_UNIX_STREAM] = sv[0];
	t->extra[t->nextra++] = sv[1];
	t->fd[T_UNIX_DGRAM] = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	t->fd[T_UNIX_DGRAM_CONN] = sv[0];
	t->extra[t->nextra++] = sv[1];
}

static void targets_close(struct targets *t)
{
	int i;

	for (i = 0; i < T_NR; i++)
		close(t->fd[i]);
	for (i = 0; i < t->nextra; i++)
		close(t->extra[i]);
	close(t->sender);
	close(t->sender_peer);
}

/* Probes: every target through both helpers with flags 0, BPF_F_INGRESS
 * and an unknown flag, plus a missing key. */
struct probe {
	int hash;
	uint32_t key; /* target index; T_NR + 3 = missing */
	uint64_t flags;
};

static size_t make_probes(struct probe *p)
{
	static const uint64_t flags[] = { 0, BPF_F_INGRESS, 2,
					  BPF_F_INGRESS | 4 };
	size_t n = 0;
	int h, f;
	uint32_t k;

	for (h = 0; h < 2; h++) {
		for (k = 0; k < T_NR; k++)
			for (f = 0; f < 3; f++)
				p[n++] = (struct probe){ h, k, flags[f] };
		p[n++] = (struct probe){ h, 0, flags[3] };
		p[n++] = (struct probe){ h, T_NR + 3, 0 };
		p[n++] = (struct probe){ h, T_NR + 3, BPF_F_INGRESS };
	}
	return n;
}

/* What MSG-16 says each probe returns. */
static int expected(const struct probe *p)
{
	bool ingress = p->flags == BPF_F_INGRESS;

	if (p->flags & ~(uint64_t)BPF_F_INGRESS || p->key >= T_NR)
		return SK_DROP;
	switch (p->key) {
	case T_TCP_EST:
		return SK_PASS;
	case T_TCP_LISTEN:
		return SK_DROP;
	case T_UDP_BOUND:
	case T_UNIX_DGRAM:
		return SK_DROP; /* not established */
	default:
		return ingress ? SK_PASS : SK_DROP; /* egress needs TCP */
	}
}

struct umaps {
	struct usm_map *map, *hash;
	struct usm_sock *sk[T_NR];
};

static void umaps_open(struct umaps *u, const struct targets *t)
{
	struct usm_map_attr a;
	uint32_t k;

	memset(u, 0, sizeof(*u));
	memset(&a, 0, sizeof(a));
	a.map_type = BPF_MAP_TYPE_SOCKMAP;
	a.key_size = 4;
	a.value_size = 8;
	a.max_entries = 16;
	assert_int_equal(usm__map_create(&a, &u->map), 0);
	a.map_type = BPF_MAP_TYPE_SOCKHASH;
	assert_int_equal(usm__map_create(&a, &u->hash), 0);
	for (k = 0; k < T_NR; k++) {
		assert_int_equal(usm__sock_from_fd(t->fd[k], 0, &u->sk[k]), 0);
		assert_int_equal(usm__sockmap_update_sock(u->map, &k, u->sk[k],
							  BPF_ANY),
				 0);
		assert_int_equal(usm__sockmap_update_sock(u->hash, &k,
							  u->sk[k], BPF_ANY),
				 0);
	}
}

static void umaps_close(struct umaps *u)
{
	uint32_t k;

	usm__map_put(u->map);
	usm__map_put(u->hash);
	for (k = 0; k < T_NR; k++)
		usm__sock_put(u->sk[k]);
}

static uint64_t redirect(struct usm_msg_ctx *ctx, struct umaps *u,
			 const struct probe *p)
{
	uint32_t key = p->key;

	if (p->hash)
		return call(&usm__h_msg_redirect_hash, ctx, (uintptr_t)u->hash,
			    (uintptr_t)&key, p->flags);
	return call(&usm__h_msg_redirect_map, ctx, (uintptr_t)u->map, key,
		    p->flags);
}

/* MSG-16 on usockmap's maps: the return value, and what is recorded. */
static void test_redirect_rules_msg16(void **state)
{
	struct probe p[64];
	struct targets t;
	struct umaps u;
	size_t n = make_probes(p), i;

	targets_open(&t);
	umaps_open(&u, &t);
	for (i = 0; i < n; i++) {
		struct usm_msg_ctx ctx;
		uint64_t ret;

		memset(&ctx, 0, sizeof(ctx));
		ret = redirect(&ctx, &u, &p[i]);
		if ((int)ret != expected(&p[i]))
			fail_msg("%s key %u (%s) flags %#llx: got %d",
				 p[i].hash ? "hash" : "map", p[i].key,
				 p[i].key < T_NR ? target_names[p[i].key] : "-",
				 (unsigned long long)p[i].flags, (int)ret);
		if (ret != SK_PASS) {
			assert_false(ctx.redir.set);
			assert_null(ctx.redir.sk);
			continue;
		}
		assert_true(ctx.redir.set);
		assert_ptr_equal(ctx.redir.sk, u.sk[p[i].key]);
		assert_ptr_equal(ctx.redir.map, p[i].hash ? u.hash : u.map);
		assert_int_equal(ctx.redir.flags, p[i].flags);
		assert_int_equal(ctx.redir.key_size, 4);
		assert_memory_equal(ctx.redir.key, &p[i].key, 4);
	}
	umaps_close(&u);
	targets_close(&t);
}

/* A failed call after a successful one keeps the earlier record (the
 * kernel only writes on success); a later success replaces it. */
static void test_redirect_last_success_wins_msg16(void **state)
{
	struct probe ok1 = { 0, T_TCP_EST, 0 };
	struct probe bad = { 1, T_TCP_LISTEN, 0 };
	struct probe ok2 = { 1, T_UNIX_STREAM, BPF_F_INGRESS };
	struct usm_msg_ctx ctx;
	struct targets t;
	struct umaps u;

	targets_open(&t);
	umaps_open(&u, &t);
	memset(&ctx, 0, sizeof(ctx));
	assert_int_equal(redirect(&ctx, &u, &ok1), SK_PASS);
	assert_int_equal(redirect(&ctx, &u, &bad), SK_DROP);
	assert_ptr_equal(ctx.redir.sk, u.sk[T_TCP_EST]);
	assert_ptr_equal(ctx.redir.map, u.map);
	assert_int_equal(ctx.redir.flags, 0);
	assert_int_equal(redirect(&ctx, &u, &ok2), SK_PASS);
	assert_ptr_equal(ctx.redir.sk, u.sk[T_UNIX_STREAM]);
	assert_ptr_equal(ctx.redir.map, u.hash);
	assert_int_equal(ctx.redir.flags, BPF_F_INGRESS);
	/* A map of the wrong type (the verifier refuses it) drops. */
	assert_int_equal(call(&usm__h_msg_redirect_map, &ctx, (uintptr_t)u.hash,
			      T_TCP_EST, 0),
			 SK_DROP);
	assert_ptr_equal(ctx.redir.sk, u.sk[T_UNIX_STREAM]);
	umaps_close(&u);
	targets_close(&t);
}

/* MSG-16: a vsock target is refused even when established and asked for
 * ingress. No vsock loopback here, so the socket's facts are set to
 * established by hand: the helper must decide on the family alone. */
static void test_redirect_vsock_refused_msg16(void **state)
{
	struct usm_map_attr a;
	struct usm_map *map;
	struct usm_sock *sk;
	struct usm_msg_ctx ctx;
	uint32_t key = 0;
	int fd = socket(AF_VSOCK, SOCK_STREAM, 0);

	if (fd < 0) {
		USM_SKIP("no AF_VSOCK sockets on this machine");
		return;
	}
	memset(&a, 0, sizeof(a));
	a.map_type = BPF_MAP_TYPE_SOCKMAP;
	a.key_size = 4;
	a.value_size = 8;
	a.max_entries = 1;
	assert_int_equal(usm__map_create(&a, &map), 0);
	assert_int_equal(usm__sock_from_fd(fd, 0, &sk), 0);
	assert_int_equal(usm__sockmap_update_sock(map, &key, sk, BPF_ANY), 0);
	memset(&ctx, 0, sizeof(ctx));
	sk->tcp_state = 1; /* TCP_ESTABLISHED */
	assert_int_equal(call(&usm__h_msg_redirect_map, &ctx, (uintptr_t)map,
			      0, BPF_F_INGRESS),
			 SK_DROP);
	assert_int_equal(call(&usm__h_msg_redirect_map, &ctx, (uintptr_t)map,
			      0, 0),
			 SK_DROP);
	assert_false(ctx.redir.set);
	usm__map_put(map);
	usm__sock_put(sk);
	close(fd);
}

/* The same probes in the kernel, on the same sockets. */
struct kredir_probe {
	uint32_t hash, key;
	uint64_t flags;
};

struct kredir_cfg {
	uint32_t n, pad;
	struct kredir_probe p[32];
};

struct kredir_res {
	uint32_t runs;
	int32_t ret[32];
};

static struct bpf_map *find_map(struct bpf_object *obj, const char *suffix)
{
	struct bpf_map *m;
	size_t n = strlen(suffix);

	bpf_object__for_each_map(m, obj) {
		const char *name = bpf_map__name(m);
		size_t l = strlen(name);

		if (l >= n && !strcmp(name + l - n, suffix))
			return m;
	}
	return NULL;
}

static void kernel_probe(const struct targets *t, const struct probe *p,
			 size_t n, int32_t *ret)
{
	struct bpf_object *obj;
	struct kredir_cfg cfg;
	struct kredir_res res;
	uint32_t k, zero = 0;
	int map_fd, hash_fd, prog_fd, i;
	uint64_t val;

	assert_true(n <= 32);
	memset(&cfg, 0, sizeof(cfg));
	cfg.n = (uint32_t)n;
	for (i = 0; i < (int)n; i++)
		cfg.p[i] = (struct kredir_probe){ (uint32_t)p[i].hash, p[i].key,
						  p[i].flags };
	obj = bpf_object__open_file(usm_test_bpf_path("tests/bpf/msg_redir"),
				    NULL);
	assert_non_null(obj);
	assert_int_equal(bpf_map__set_initial_value(find_map(obj, ".data"),
						    &cfg, sizeof(cfg)),
			 0);
	assert_int_equal(bpf_object__load(obj), 0);
	map_fd = bpf_map__fd(find_map(obj, "redir_map"));
	hash_fd = bpf_map__fd(find_map(obj, "redir_hash"));
	prog_fd = bpf_program__fd(
		bpf_object__find_program_by_name(obj, "msg_redir_prog"));
	for (k = 0; k < T_NR; k++) {
		val = (uint64_t)t->fd[k];
		assert_int_equal(bpf_map_update_elem(map_fd, &k, &val, BPF_ANY),
				 0);
		assert_int_equal(bpf_map_update_elem(hash_fd, &k, &val, BPF_ANY),
				 0);
	}
	assert_int_equal(bpf_prog_attach(prog_fd, map_fd, BPF_SK_MSG_VERDICT,
					 0),
			 0);
	/* The sender joins after attach, so it runs the program. */
	k = 15;
	val = (uint64_t)t->sender;
	assert_int_equal(bpf_map_update_elem(map_fd, &k, &val, BPF_ANY), 0);
	assert_int_equal(send(t->sender, "x", 1, MSG_DONTWAIT), -1);
	assert_int_equal(errno, EACCES); /* SK_DROP (MSG-05) */
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(find_map(obj, ".bss")),
					     &zero, &res),
			 0);
	assert_int_equal(res.runs, 1);
	memcpy(ret, res.ret, sizeof(int32_t) * n);
	bpf_object__close(obj);
}

static void test_redirect_kernel_compare_msg16(void **state)
{
	struct probe p[64];
	size_t n = make_probes(p), i, done;
	const char *why;
	struct targets t;
	struct umaps u;
	int32_t kret[32];

	if (!usm_test_have_kernel_bpf(&why)) {
		USM_SKIP("%s", why);
		return;
	}
	for (done = 0; done < n; done += 32) {
		size_t batch = n - done < 32 ? n - done : 32;

		/* Fresh sockets per batch: a socket leaves a kernel sockmap's
		 * psock state behind only while it is in a map. */
		targets_open(&t);
		umaps_open(&u, &t);
		kernel_probe(&t, p + done, batch, kret);
		for (i = 0; i < batch; i++) {
			struct usm_msg_ctx ctx;
			int ours;

			memset(&ctx, 0, sizeof(ctx));
			ours = (int)redirect(&ctx, &u, &p[done + i]);
			if (ours != kret[i])
				fail_msg("%s key %u flags %#llx: kernel %d, "
					 "usockmap %d",
					 p[done + i].hash ? "hash" : "map",
					 p[done + i].key,
					 (unsigned long long)p[done + i].flags,
					 kret[i], ours);
		}
		umaps_close(&u);
		targets_close(&t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prototypes_match_kernel),
		cmocka_unit_test(test_apply_cork_record_msg07_msg08),
		cmocka_unit_test(test_pull_sets_pointers_msg11),
		cmocka_unit_test(test_push_pop_reset_pointers_msg12_msg13),
		cmocka_unit_test(test_redirect_rules_msg16),
		cmocka_unit_test(test_redirect_last_success_wins_msg16),
		cmocka_unit_test(test_redirect_vsock_refused_msg16),
		cmocka_unit_test(test_redirect_kernel_compare_msg16),
	};

	libbpf_set_print(NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
