/* SPDX-License-Identifier: MIT */
/*
 * The sk_msg ring against the real kernel (SEMANTICS MSG-03, MSG-06,
 * MSG-07, MSG-11..15, MSG-22). For each case, tests/bpf/msg_ops.bpf.o
 * runs in the kernel as the sk_msg program of a loopback TCP sender; it
 * performs the case's pull/push/pop calls and records what it saw (size,
 * data_end - data, first bytes, return values) per run, and the receiver
 * reads what was sent. The same send goes through usockmap's model: copy
 * into a message from a fresh page frag, the same calls through the
 * bpf_msg_* helper functions, apply_bytes splitting as tcp_bpf does. Both
 * must agree on every recorded value and on every received byte except
 * pushed ones (the kernel leaves those uninitialised).
 *
 * The send happens in a new thread per case: the kernel carves messages
 * from the sending task's page frag, and a fresh thread starts with none.
 */
#include "msgt.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "../../../src/helpers/helpers.h"
#include "../../../src/progtype/progtype.h"
#include "../../../src/vm/vm.h"
#include "../../bpf/msg_ops.h"

struct kcase {
	const char *name;
	uint32_t send;     /* bytes in one send call */
	bool sendfile;     /* sendfile() instead of send() (MSG-22) */
	struct msg_cfg cfg;
};

#define OP(k, x, y) { .kind = MSG_OP_##k, .a = (x), .b = (y) }
#define OPF(k, x, y, f) { .kind = MSG_OP_##k, .a = (x), .b = (y), .flags = (f) }
#define OPS(...)                                                             \
	.nops = sizeof((struct msg_op[]){ __VA_ARGS__ }) /                    \
		sizeof(struct msg_op),                                        \
	.ops = { __VA_ARGS__ }

static const struct kcase kcases[] = {
	/* MSG-03/06: geometry only. */
	{ "geom 100", 100, false, { 0 } },
	{ "geom 40000", 40000, false, { 0 } },
	{ "geom 557056 (17 chunks)", 557056, false, { 0 } },
	{ "geom 600000 (two messages)", 600000, false, { 0 } },
	{ "geom sendfile 100000", 100000, true, { 0 } },
	/* MSG-12 */
	{ "push front", 100, false, { OPS(OP(PUSH, 0, 4)) } },
	{ "push inside", 100, false, { OPS(OP(PUSH, 50, 10)) } },
	{ "push append", 100, false, { OPS(OP(PUSH, 100, 5)) } },
	{ "push boundary then pop first chunk", 40000, false,
	  { OPS(OP(PUSH, 32768, 8), OP(POP, 0, 32768)) } },
	{ "push errors, len 0 keeps pointers", 40000, false,
	  { OPS(OP(PULL, 10, 20), OP(PUSH, 0, 0), OPF(PUSH, 0, 1, 1),
		OP(PUSH, 40001, 1)) } },
	{ "push full ring inside", 557056, false,
	  { OPS(OP(PUSH, 100, 10), OP(POP, 0, 32778)) } },
	{ "push full ring boundary", 557056, false,
	  { OPS(OP(PUSH, 32768, 10), OP(POP, 0, 32768)) } },
	{ "push full ring append", 557056, false,
	  { OPS(OP(PUSH, 557056, 10)) } },
	{ "push 16 chunks inside and boundary", 524288, false,
	  { OPS(OP(PUSH, 100, 10), OP(PUSH, 65546, 10), OP(POP, 0, 65546)) } },
	/* MSG-13 */
	{ "pop front", 100, false, { OPS(OP(POP, 0, 10)) } },
	{ "pop inside, room", 100000, false, { OPS(OP(POP, 100, 10)) } },
	{ "pop inside, full ring", 557056, false, { OPS(OP(POP, 100, 10)) } },
	{ "pop across chunks", 40000, false, { OPS(OP(POP, 32760, 16)) } },
	{ "pop overflow example", 32768, false,
	  { OPS(OP(POP, 0x48a3, 0xfffffffd), OPF(POP, 0, 1, 1),
		OP(POP, 32768, 1), OP(POP, 1, 32768)) } },
	{ "pop everything then push", 5000, false,
	  { OPS(OP(POP, 0, 5000), OP(PUSH, 0, 7)) } },
	/* MSG-11 */
	{ "pull inside one chunk", 100000, false,
	  { OPS(OP(PULL, 100, 200), OP(PUSH, 100000, 1)) } },
	{ "pull across two chunks", 100000, false,
	  { OPS(OP(PULL, 30000, 40000), OP(PUSH, 100000, 1)) } },
	{ "pull across three chunks", 100000, false,
	  { OPS(OP(PULL, 32000, 70000), OP(POP, 99999, 1)) } },
	{ "pull errors", 100000, false,
	  { OPS(OP(PULL, 0, 0), OP(PULL, 5, 5), OP(PULL, 100000, 100001),
		OP(PULL, 0, 100001)) } },
	/* MSG-14 */
	{ "push then overlapping pop", 10000, false,
	  { OPS(OP(PUSH, 1, 10), OP(POP, 5, 4)) } },
	{ "pop then push", 10000, false,
	  { OPS(OP(POP, 4096, 100), OP(PUSH, 4090, 20), OP(PULL, 4000, 4200)) } },
	/* MSG-07/15: apply_bytes windows re-run the program on the rest. */
	{ "apply 10000", 100000, false, { .apply_bytes = 10000 } },
	{ "apply 5000 with push", 20000, false,
	  { .apply_bytes = 5000, OPS(OP(PUSH, 0, 3)) } },
	{ "apply 7000 with pop", 30000, false,
	  { .apply_bytes = 7000, OPS(OP(POP, 2, 5)) } },
	{ "sendfile with pop", 150000, true, { OPS(OP(POP, 1000, 1)) } },
};

/* ---- usockmap's side ---- */

struct model_out {
	struct msg_res res;
	/* Whether the first MSG_HEAD bytes at data were original bytes (the
	 * kernel's pushed bytes are uninitialised): [run][0] at entry,
	 * [run][1 + op] after each op. */
	bool head_ok[MSG_RUNS_MAX][MSG_OPS_MAX + 1];
	/* A push appended to a full ring. The kernel then writes the new
	 * chunk into its spare slot and its ring reads as empty (end ==
	 * start): later calls and runs on that message go wrong (measured
	 * on 6.18: truncated and garbage bytes reach the receiver, send()
	 * may return 0). usockmap keeps a consistent ring instead, so only
	 * such a push as the message's last call is comparable. */
	bool full_append;
	struct msgt_ref rx; /* bytes the receiver should read; -1 = pushed */
};

static bool ref_defined(const struct msgt_ref *ref, uint32_t off)
{
	uint32_t i;

	for (i = off; i < off + MSG_HEAD && i < ref->len; i++)
		if (ref->v[i] < 0)
			return false;
	return true;
}

static void model_view(struct usm_msg_ctx *ctx, struct msg_view *v)
{
	const uint8_t *d = ctx->md.data, *e = ctx->md.data_end;

	memset(v, 0, sizeof(*v));
	v->size = ctx->md.size;
	v->span = (uint32_t)(e - d);
	if (d && e - d >= MSG_HEAD)
		memcpy(v->head, d, MSG_HEAD);
}

static const struct usm_helper *op_helper(uint32_t kind)
{
	return kind == MSG_OP_PULL ? &usm__h_msg_pull_data
	       : kind == MSG_OP_PUSH ? &usm__h_msg_push_data
				     : &usm__h_msg_pop_data;
}

/* One program run: the ops through the helpers, mirrored in @ref. The
 * ctx (like the kernel's sk_msg) keeps apply_bytes across runs on the
 * same message. */
static void model_run(struct usm_msg_ctx *ctx, const struct msg_cfg *cfg,
		      struct msg_run *r, bool *head_ok, bool *full_append,
		      struct msgt_ref *ref)
{
	struct usm_run run;
	uint32_t i, data_off = 0;

	memset(&run, 0, sizeof(run));
	run.ctx = ctx;
	usm__msg_compute_data_pointers(ctx);
	model_view(ctx, &r->entry);
	head_ok[0] = ref_defined(ref, 0);
	if (cfg->apply_bytes)
		usm__h_msg_apply_bytes.fn(&run, (uintptr_t)ctx,
					  cfg->apply_bytes, 0, 0, 0);
	for (i = 0; i < cfg->nops; i++) {
		const struct msg_op *op = &cfg->ops[i];
		int64_t ret;

		if (op->kind == MSG_OP_PUSH && op->b && !op->flags &&
		    op->a == ctx->msg->size && usm__msg_full(ctx->msg))
			*full_append = true;
		ret = (int64_t)op_helper(op->kind)->fn(&run, (uintptr_t)ctx,
						       op->a, op->b, op->flags,
						       0);

		r->ret[i] = (int32_t)ret;
		if (!ret && op->kind == MSG_OP_PULL)
			data_off = op->a;
		if (!ret && op->kind == MSG_OP_PUSH && op->b) {
			msgt_ref_push(ref, op->a, op->b);
			data_off = 0;
		}
		if (!ret && op->kind == MSG_OP_POP && op->b) {
			msgt_ref_pop(ref, op->a, op->b);
			data_off = 0;
		}
		model_view(ctx, &r->after[i]);
		head_ok[1 + i] = ref_defined(ref, data_off);
	}
}

/* Move the first @n bytes of the message (per @ref) to the output. */
static void model_emit(struct model_out *o, struct usm_sk_msg *m,
		       struct msgt_ref *ref, uint32_t n)
{
	msgt_check_bytes(m, ref);
	o->rx.v = realloc(o->rx.v, sizeof(int16_t) * (o->rx.len + n + 1));
	assert_non_null(o->rx.v);
	memcpy(o->rx.v + o->rx.len, ref->v, sizeof(int16_t) * n);
	o->rx.len += n;
	usm__msg_consume(m, n);
	msgt_ref_pop(ref, 0, n);
}

/* One message of a send (tcp_bpf_send_verdict for an always-SK_PASS
 * program): run the program, pass apply_bytes windows, re-run on the
 * rest. *apply_left carries a verdict window into the next message. */
static void model_message(const struct kcase *kc, struct usm_sk_msg *m,
			  struct msgt_ref *ref, uint32_t *apply_left,
			  struct model_out *o)
{
	struct usm_msg_ctx ctx;

	memset(&ctx, 0, sizeof(ctx));
	ctx.msg = m;
	while (m->size) {
		uint32_t tosend;

		/* Past MSG_RUNS_MAX the program returns at once, as
		 * msg_ops.bpf.c does (apply_bytes stays as last set). */
		if (!*apply_left && o->res.runs < MSG_RUNS_MAX) {
			model_run(&ctx, &kc->cfg, &o->res.run[o->res.runs],
				  o->head_ok[o->res.runs], &o->full_append,
				  ref);
			o->res.runs++;
		}
		if (!*apply_left)
			*apply_left = ctx.apply_bytes;
		tosend = *apply_left && *apply_left < m->size ? *apply_left
							       : m->size;
		*apply_left = *apply_left > tosend ? *apply_left - tosend : 0;
		model_emit(o, m, ref, tosend);
	}
}

/* tcp_bpf_sendmsg: the send cut into messages from one page frag. */
static void model_send(const struct kcase *kc, const uint8_t *data,
		       struct model_out *o)
{
	uint32_t sent = 0, apply_left = 0;
	struct usm_msg_frag frag;

	memset(o, 0, sizeof(*o));
	usm__msg_frag_init(&frag);
	while (sent < kc->send) {
		uint32_t want = kc->send - sent;
		struct usm_sk_msg m;
		struct msgt_ref ref;
		int got;

		if (kc->sendfile && want > USM_MSG_SPLICE_MAX)
			want = USM_MSG_SPLICE_MAX;
		usm__msg_init(&m);
		got = usm__msg_append_buf(&m, &frag, data + sent, want);
		assert_true(got > 0);
		ref.v = malloc(sizeof(int16_t) * (uint32_t)got);
		assert_non_null(ref.v);
		for (ref.len = 0; ref.len < (uint32_t)got; ref.len++)
			ref.v[ref.len] = data[sent + ref.len];
		model_message(kc, &m, &ref, &apply_left, o);
		msgt_ref_fini(&ref);
		usm__msg_fini(&m);
		sent += (uint32_t)got;
	}
	usm__msg_frag_fini(&frag);
}

/* ---- the kernel's side ---- */

struct ksender {
	int fd;
	const uint8_t *data;
	uint32_t len;
	bool sendfile;
	ssize_t ret;
	int err;
};

static void *ksender_main(void *arg)
{
	struct ksender *s = arg;

	if (!s->sendfile) {
		s->ret = send(s->fd, s->data, s->len, 0);
	} else {
		char path[] = "/tmp/usm_msg_kernel_XXXXXX";
		int f = mkstemp(path);
		off_t off = 0;

		if (f < 0) {
			s->ret = -1;
		} else {
			unlink(path);
			s->ret = write(f, s->data, s->len) == (ssize_t)s->len
					 ? sendfile(s->fd, f, &off, s->len)
					 : -1;
			close(f);
		}
	}
	s->err = errno;
	shutdown(s->fd, SHUT_WR);
	return NULL;
}

static int tcp_pair(int *c, int *s)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	struct timeval tv = { .tv_sec = 10 };
	int l = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (l < 0 || bind(l, (void *)&a, sizeof(a)) || listen(l, 1) ||
	    getsockname(l, (void *)&a, &al))
		return -1;
	*c = socket(AF_INET, SOCK_STREAM, 0);
	if (*c < 0 || connect(*c, (void *)&a, sizeof(a)))
		return -1;
	*s = accept(l, NULL, NULL);
	close(l);
	if (*s < 0)
		return -1;
	setsockopt(*s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(*c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return 0;
}

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

/* Run @kc in the kernel: the records and the received bytes. */
static void kernel_send(const struct kcase *kc, const uint8_t *data,
			struct msg_res *res, uint8_t **rx, uint32_t *rxlen)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct ksender snd = { .data = data, .len = kc->send,
			       .sendfile = kc->sendfile };
	uint32_t key = 0, cap = kc->send + 65536, got = 0;
	int map_fd, c = -1, s = -1, val;
	pthread_t th;

	obj = bpf_object__open_file(usm_test_bpf_path("tests/bpf/msg_ops"),
				    NULL);
	assert_non_null(obj);
	assert_int_equal(bpf_map__set_initial_value(find_map(obj, ".data"),
						    &kc->cfg, sizeof(kc->cfg)),
			 0);
	assert_int_equal(bpf_object__load(obj), 0);
	prog = bpf_object__find_program_by_name(obj, "msg_ops_prog");
	map_fd = bpf_map__fd(find_map(obj, "msg_ops_map"));
	assert_int_equal(bpf_prog_attach(bpf_program__fd(prog), map_fd,
					 BPF_SK_MSG_VERDICT, 0),
			 0);
	assert_int_equal(tcp_pair(&c, &s), 0);
	val = c;
	assert_int_equal(bpf_map_update_elem(map_fd, &key, &val, BPF_ANY), 0);
	snd.fd = c;
	assert_int_equal(pthread_create(&th, NULL, ksender_main, &snd), 0);
	*rx = malloc(cap);
	assert_non_null(*rx);
	for (;;) {
		ssize_t n = read(s, *rx + got, cap - got);

		if (n <= 0)
			break;
		got += (uint32_t)n;
		if (got == cap)
			break;
	}
	pthread_join(th, NULL);
	if (snd.ret != (ssize_t)kc->send)
		fail_msg("%s: kernel send returned %zd (errno %d)", kc->name,
			 snd.ret, snd.err);
	*rxlen = got;
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(find_map(obj, ".bss")),
					     &key, res),
			 0);
	close(c);
	close(s);
	bpf_object__close(obj);
}

static void compare_view(const char *name, uint32_t run, int op,
			 const struct msg_view *k, const struct msg_view *u,
			 bool head)
{
	if (k->size != u->size || k->span != u->span)
		fail_msg("%s: run %u op %d: kernel size %u span %u, usockmap "
			 "size %u span %u", name, run, op, k->size, k->span,
			 u->size, u->span);
	if (head && k->span >= MSG_HEAD &&
	    memcmp(k->head, u->head, MSG_HEAD))
		fail_msg("%s: run %u op %d: first bytes differ", name, run, op);
}

static void compare_case(const struct kcase *kc, const struct msg_res *kr,
			 const uint8_t *rx, uint32_t rxlen,
			 const struct model_out *o)
{
	uint32_t r, i;
	int k;

	if (kr->runs != o->res.runs)
		fail_msg("%s: kernel ran the program %u times, usockmap %u",
			 kc->name, kr->runs, o->res.runs);
	for (r = 0; r < kr->runs; r++) {
		compare_view(kc->name, r, -1, &kr->run[r].entry,
			     &o->res.run[r].entry, o->head_ok[r][0]);
		for (k = 0; k < (int)kc->cfg.nops; k++) {
			if (kr->run[r].ret[k] != o->res.run[r].ret[k])
				fail_msg("%s: run %u op %d: kernel ret %d, "
					 "usockmap %d", kc->name, r, k,
					 kr->run[r].ret[k],
					 o->res.run[r].ret[k]);
			compare_view(kc->name, r, k, &kr->run[r].after[k],
				     &o->res.run[r].after[k],
				     o->head_ok[r][1 + k]);
		}
	}
	if (rxlen != o->rx.len)
		fail_msg("%s: receiver got %u bytes from the kernel, usockmap "
			 "sends %u", kc->name, rxlen, o->rx.len);
	for (i = 0; i < rxlen; i++)
		if (o->rx.v[i] >= 0 && rx[i] != o->rx.v[i])
			fail_msg("%s: received byte %u: kernel 0x%02x, usockmap "
				 "0x%02x", kc->name, i, rx[i], o->rx.v[i]);
}

/* Returns false (nothing compared) if @skip_full_append and the case
 * appends to a full ring (see model_out). */
static bool run_kcase(const struct kcase *kc, uint8_t seed,
		      bool skip_full_append)
{
	uint8_t *data = malloc(kc->send), *rx = NULL;
	struct msg_res kr;
	struct model_out o;
	uint32_t i, rxlen = 0;

	assert_non_null(data);
	for (i = 0; i < kc->send; i++)
		data[i] = msgt_pat(i, seed);
	memset(&kr, 0, sizeof(kr));
	model_send(kc, data, &o);
	if (skip_full_append && o.full_append) {
		free(o.rx.v);
		free(data);
		return false;
	}
	kernel_send(kc, data, &kr, &rx, &rxlen);
	if (getenv("USM_TEST_VERBOSE"))
		printf("# %s: %u runs, %u bytes received\n", kc->name, kr.runs,
		       rxlen);
	compare_case(kc, &kr, rx, rxlen, &o);
	free(o.rx.v);
	free(rx);
	free(data);
	return true;
}

static void test_kernel_compare_msg03_msg06_msg11_15(void **state)
{
	const char *why;
	size_t k;

	if (!usm_test_have_kernel_bpf(&why)) {
		USM_SKIP("%s", why);
		return;
	}
	for (k = 0; k < sizeof(kcases) / sizeof(kcases[0]); k++)
		run_kcase(&kcases[k], (uint8_t)k, false);
}

/* A random op valid or not for a message of about @cur bytes; @cur
 * follows the valid ones. */
static struct msg_op random_op(unsigned *seed, uint32_t *cur)
{
	struct msg_op op = { .kind = 1 + (uint32_t)rand_r(seed) % 3 };
	uint32_t r = (uint32_t)rand_r(seed);

	op.a = *cur ? (uint32_t)rand_r(seed) % (*cur + 2) : 0;
	if (r % 4 == 0 && *cur > 40000) /* near a chunk boundary */
		op.a = 32768 * (1 + r % (*cur / 32768)) - 2 + r % 5;
	if (op.kind == MSG_OP_PUSH) {
		op.b = r % 16 == 0 ? 0 : 1 + r % 64;
		if (op.a <= *cur)
			*cur += op.b;
	} else if (op.kind == MSG_OP_POP) {
		op.b = 1 + r % (r % 3 ? 100 : 70000);
		if (op.a < *cur && (uint64_t)op.a + op.b <= *cur)
			*cur -= op.b;
	} else {
		op.b = op.a + 1 + r % (r % 2 ? 64 : 70000);
	}
	return op;
}

/* MSG-03/07/11..14: random sizes, call sequences and apply windows. */
static void test_kernel_random_msg11_14(void **state)
{
	static const uint32_t sizes[][2] = {
		{ 1, 200 }, { 4000, 40000 }, { 60000, 140000 },
		{ 500000, 557056 },
	};
	unsigned seed = 4242;
	const char *why;
	int c, compared = 0;

	if (!usm_test_have_kernel_bpf(&why)) {
		USM_SKIP("%s", why);
		return;
	}
	for (c = 0; c < 60; c++) {
		const uint32_t *sz = sizes[(uint32_t)rand_r(&seed) % 4];
		struct kcase kc = { .name = "random" };
		uint32_t cur, i;
		char name[32];

		kc.send = sz[0] + (uint32_t)rand_r(&seed) % (sz[1] - sz[0] + 1);
		if (c % 9 == 8)
			kc.send = 557056; /* exactly a full ring */
		if (rand_r(&seed) % 4 == 0)
			kc.cfg.apply_bytes = kc.send / 12 + 1 +
					     (uint32_t)rand_r(&seed) % kc.send;
		kc.cfg.nops = 1 + (uint32_t)rand_r(&seed) % MSG_OPS_MAX;
		cur = kc.send;
		for (i = 0; i < kc.cfg.nops; i++)
			kc.cfg.ops[i] = random_op(&seed, &cur);
		snprintf(name, sizeof(name), "random %d", c);
		kc.name = name;
		compared += run_kcase(&kc, (uint8_t)c, true);
	}
	assert_true(compared >= 50);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kernel_compare_msg03_msg06_msg11_15),
		cmocka_unit_test(test_kernel_random_msg11_14),
	};

	libbpf_set_print(NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
