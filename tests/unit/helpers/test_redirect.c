/* SPDX-License-Identifier: MIT */
/*
 * bpf_sk_redirect_map / bpf_sk_redirect_hash with real sockets in a
 * usockmap SOCKMAP/SOCKHASH (SEMANTICS SKB-13, SKB-17): which targets and
 * flags give SK_PASS, what is recorded, and that a failed call records
 * nothing. The same sockets sit in a kernel map with a verdict program that
 * makes the same calls, and every answer must match the kernel's.
 */
#include "usm_test.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../../src/helpers/helpers.h"
#include "../../../src/maps/map.h"
#include "../../../src/progtype/progtype.h"
#include "../../../src/sock/sock.h"
#include "../../../src/vm/vm.h"
#include "kharness.h"

#define NSLOT 8 /* slot 7 stays empty */

/* Sockets of every kind a sockmap accepts, one per slot. */
struct socks {
	int c, p;       /* slot 0: established TCP (p is the kernel trigger) */
	int lis;        /* slot 1: listening TCP */
	int udp_b;      /* slot 2: bound, unconnected UDP */
	int udp_c, udp_peer; /* slot 3: connected UDP */
	int us[2];      /* slot 4: connected unix stream */
	int ud;         /* slot 5: unbound unix dgram */
	int udc[2];     /* slot 6: connected unix dgram pair */
	int fd[NSLOT];  /* by slot, -1 for empty */
};

static int udp_bound(struct sockaddr_in *a)
{
	socklen_t len = sizeof(*a);
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0 || bind(s, (void *)a, sizeof(*a)) ||
	    getsockname(s, (void *)a, &len))
		return -1;
	return s;
}

static void socks_open(struct socks *s)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct sockaddr_in pa;

	assert_int_equal(tcp_pair(&s->c, &s->p), 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->lis = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->lis >= 0);
	assert_int_equal(bind(s->lis, (void *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->lis, 4), 0);
	s->udp_b = udp_bound(&pa);
	s->udp_peer = udp_bound(&pa);
	s->udp_c = udp_bound(&a);
	assert_true(s->udp_b >= 0 && s->udp_peer >= 0 && s->udp_c >= 0);
	assert_int_equal(connect(s->udp_c, (void *)&pa, sizeof(pa)), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, s->us), 0);
	s->ud = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_true(s->ud >= 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, s->udc), 0);
	s->fd[0] = s->p;
	s->fd[1] = s->lis;
	s->fd[2] = s->udp_b;
	s->fd[3] = s->udp_c;
	s->fd[4] = s->us[0];
	s->fd[5] = s->ud;
	s->fd[6] = s->udc[0];
	s->fd[7] = -1;
}

static void socks_close(struct socks *s)
{
	int all[] = { s->c, s->p, s->lis, s->udp_b, s->udp_c, s->udp_peer,
		      s->us[0], s->us[1], s->ud, s->udc[0], s->udc[1] };
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		close(all[i]);
}

static uint32_t slot_key(bool hash, uint32_t slot)
{
	return hash ? 100 + slot : slot;
}

/* A usockmap map holding the sockets by slot. */
static struct usm_map *our_map(const struct socks *s, bool hash)
{
	struct usm_map_attr attr = {
		.map_type = hash ? BPF_MAP_TYPE_SOCKHASH : BPF_MAP_TYPE_SOCKMAP,
		.key_size = 4, .value_size = 8, .max_entries = NSLOT,
	};
	struct usm_map *m;
	uint32_t i, k;
	uint64_t v;

	assert_int_equal(usm__map_create(&attr, &m), 0);
	for (i = 0; i < NSLOT; i++) {
		if (s->fd[i] < 0)
			continue;
		k = slot_key(hash, i);
		v = (uint64_t)s->fd[i];
		assert_int_equal(usm__map_update_elem(m, &k, &v, BPF_ANY), 0);
	}
	return m;
}

static uint64_t our_redirect(struct usm_skb_ctx *c, struct usm_map *m,
			     bool hash, uint32_t key, uint64_t flags)
{
	struct usm_run run = { .ctx = c };

	if (hash)
		return usm__h_sk_redirect_hash.fn(&run, (uintptr_t)c,
						  (uintptr_t)m, (uintptr_t)&key,
						  flags, 0);
	return usm__h_sk_redirect_map.fn(&run, (uintptr_t)c, (uintptr_t)m, key,
					 flags, 0);
}

/* SKB-17: the answer per target kind; what a success records. */
static void check_targets(bool hash)
{
	/* slot -> SK_PASS for flags 0 */
	static const int pass[NSLOT] = { 1, 0, 0, 1, 1, 0, 1, 0 };
	struct socks s;
	struct usm_skb_ctx c;
	struct usm_map *m;
	uint32_t i, key;

	socks_open(&s);
	m = our_map(&s, hash);
	for (i = 0; i < NSLOT; i++) {
		memset(&c, 0, sizeof(c));
		key = slot_key(hash, i);
		assert_int_equal(our_redirect(&c, m, hash, key, 0),
				 pass[i] ? SK_PASS : SK_DROP);
		assert_int_equal(c.redir.set, pass[i]);
		if (!pass[i])
			continue;
		assert_ptr_equal(c.redir.map, m);
		assert_ptr_equal(c.redir.sk, usm__sockmap_lookup(m, &key));
		assert_int_equal(c.redir.sk->fd, s.fd[i]);
		assert_int_equal(c.redir.flags, 0);
		assert_int_equal(c.redir.key_size, 4);
		assert_memory_equal(c.redir.key, &key, 4);
		/* BPF_F_INGRESS is recorded */
		memset(&c, 0, sizeof(c));
		assert_int_equal(our_redirect(&c, m, hash, key, BPF_F_INGRESS),
				 SK_PASS);
		assert_int_equal(c.redir.flags, BPF_F_INGRESS);
		/* any other flag bit: drop, nothing recorded */
		memset(&c, 0, sizeof(c));
		assert_int_equal(our_redirect(&c, m, hash, key, 2), SK_DROP);
		assert_int_equal(our_redirect(&c, m, hash, key,
					      (1ull << 32) | BPF_F_INGRESS),
				 SK_DROP);
		assert_false(c.redir.set);
	}
	memset(&c, 0, sizeof(c));
	assert_int_equal(our_redirect(&c, m, hash, hash ? 999 : NSLOT, 0),
			 SK_DROP); /* absent / out of range */
	assert_int_equal(our_redirect(&c, m, hash, hash ? 999 : 0xffffffffu,
				      0), SK_DROP);
	assert_false(c.redir.set);
	usm__map_put(m);
	socks_close(&s);
}

static void test_skb_17_redirect_map_targets(void **state)
{
	check_targets(false);
}

static void test_skb_17_redirect_hash_targets(void **state)
{
	check_targets(true);
}

/* SKB-13: a failed call records nothing, a later success overwrites. */
static void test_skb_13_failed_redirect_records_nothing(void **state)
{
	struct socks s;
	struct usm_skb_ctx c;
	struct usm_map *m;

	socks_open(&s);
	m = our_map(&s, false);
	memset(&c, 0, sizeof(c));
	assert_int_equal(our_redirect(&c, m, false, 3, BPF_F_INGRESS),
			 SK_PASS);
	assert_int_equal(our_redirect(&c, m, false, 1, 0), SK_DROP);
	assert_int_equal(our_redirect(&c, m, false, 7, 0), SK_DROP);
	assert_int_equal(our_redirect(&c, m, false, 3, 8), SK_DROP);
	assert_true(c.redir.set);
	assert_int_equal(*(uint32_t *)c.redir.key, 3);
	assert_int_equal(c.redir.flags, BPF_F_INGRESS);
	assert_int_equal(our_redirect(&c, m, false, 4, 0), SK_PASS);
	assert_int_equal(*(uint32_t *)c.redir.key, 4);
	assert_int_equal(c.redir.flags, 0);
	assert_int_equal(c.redir.sk->fd, s.us[0]);
	/* the map type must match the helper */
	memset(&c, 0, sizeof(c));
	assert_int_equal(our_redirect(&c, m, true, 4, 0), SK_DROP);
	assert_false(c.redir.set);
	usm__map_put(m);
	socks_close(&s);
}

/* ---- against the kernel -------------------------------------------- */

struct rparams {
	uint32_t key, pad;
	uint64_t flags;
	int64_t ret;
};

#define RP(f) ((int16_t)offsetof(struct rparams, f))

static int redirect_prog(int params, int map, bool hash)
{
	struct kasm as, *a = &as;

	memset(a, 0, sizeof(*a));
	MOVR(6, 1);
	emit(a, BPF_ST | BPF_MEM | BPF_W, 10, 0, -4, 0);
	LDMAP(1, params);
	MOVR(2, 10);
	ADDI(2, -4);
	CALL(BPF_FUNC_map_lookup_elem);
	jmp_to(a, BPF_JEQ, 0, 0, 0);
	MOVR(7, 0);
	MOVR(1, 6);
	LDMAP(2, map);
	if (hash) {
		MOVR(3, 7);
		ADDI(3, RP(key));
	} else {
		LDX(BPF_W, 3, 7, RP(key));
	}
	LDX(BPF_DW, 4, 7, RP(flags));
	CALL(hash ? BPF_FUNC_sk_redirect_hash : BPF_FUNC_sk_redirect_map);
	STX(BPF_DW, 7, 0, RP(ret));
	here(a, 0);
	MOVI(0, SK_DROP); /* never actually redirect */
	EXIT();
	return kasm_load(a, BPF_PROG_TYPE_SK_SKB, 0);
}

struct kside {
	int params, map, prog;
};

static int kside_open(struct kside *k, const struct socks *s, bool hash)
{
	uint32_t i, key;

	k->params = bpf_map_create(BPF_MAP_TYPE_ARRAY, "usm_rp", 4,
				   sizeof(struct rparams), 1, NULL);
	k->map = bpf_map_create(hash ? BPF_MAP_TYPE_SOCKHASH
				     : BPF_MAP_TYPE_SOCKMAP, "usm_rm", 4, 4,
				NSLOT, NULL);
	k->prog = -1;
	if (k->params < 0 || k->map < 0)
		return -1;
	k->prog = redirect_prog(k->params, k->map, hash);
	if (k->prog < 0 ||
	    bpf_prog_attach(k->prog, k->map, BPF_SK_SKB_VERDICT, 0))
		return -1;
	for (i = 0; i < NSLOT; i++) {
		if (s->fd[i] < 0)
			continue;
		key = slot_key(hash, i);
		if (bpf_map_update_elem(k->map, &key, &s->fd[i], BPF_ANY))
			return -1;
	}
	return 0;
}

static void kside_close(struct kside *k)
{
	if (k->prog >= 0)
		close(k->prog);
	if (k->map >= 0)
		close(k->map);
	if (k->params >= 0)
		close(k->params);
}

/* One kernel call: set the parameters, send a byte into slot 0's socket
 * and wait for the verdict program to store its answer. */
static int64_t kernel_redirect(struct kside *k, const struct socks *s,
			       uint32_t key, uint64_t flags)
{
	struct rparams rp = { .key = key, .flags = flags, .ret = 0x5a5a };
	uint32_t zero = 0;
	int tries;

	if (bpf_map_update_elem(k->params, &zero, &rp, BPF_ANY) ||
	    send(s->c, "x", 1, 0) != 1)
		return -1000;
	for (tries = 0; tries < 200; tries++) {
		if (bpf_map_lookup_elem(k->params, &zero, &rp))
			return -1000;
		if (rp.ret != 0x5a5a)
			return rp.ret;
		usleep(5000);
	}
	return -1001;
}

static void against_kernel(bool hash)
{
	static const uint64_t flags[] = { 0, BPF_F_INGRESS, 2, 1ull << 32 };
	struct socks s;
	struct kside k;
	struct usm_skb_ctx c;
	struct usm_map *m;
	const char *why;
	uint32_t slot, f, key;
	int bad = 0;

	if (!usm_test_have_kernel_bpf(&why)) {
		USM_SKIP("%s", why);
		return;
	}
	socks_open(&s);
	m = our_map(&s, hash);
	if (kside_open(&k, &s, hash)) {
		kside_close(&k);
		usm__map_put(m);
		socks_close(&s);
		USM_SKIP("kernel redirect harness failed");
		return;
	}
	for (slot = 0; slot <= NSLOT; slot++) {
		for (f = 0; f < 4; f++) {
			int64_t kr, ur;

			key = slot_key(hash, slot);
			kr = kernel_redirect(&k, &s, key, flags[f]);
			memset(&c, 0, sizeof(c));
			ur = (int64_t)our_redirect(&c, m, hash, key, flags[f]);
			if (kr == ur)
				continue;
			print_error("%s key %u flags %#llx: kernel %lld, "
				    "usockmap %lld\n", hash ? "hash" : "map",
				    key, (unsigned long long)flags[f],
				    (long long)kr, (long long)ur);
			bad++;
		}
	}
	kside_close(&k);
	usm__map_put(m);
	socks_close(&s);
	assert_int_equal(bad, 0);
}

static void test_skb_17_redirect_map_against_kernel(void **state)
{
	against_kernel(false);
}

static void test_skb_17_redirect_hash_against_kernel(void **state)
{
	against_kernel(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_skb_17_redirect_map_targets),
		cmocka_unit_test(test_skb_17_redirect_hash_targets),
		cmocka_unit_test(test_skb_13_failed_redirect_records_nothing),
		cmocka_unit_test(test_skb_17_redirect_map_against_kernel),
		cmocka_unit_test(test_skb_17_redirect_hash_against_kernel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
