/* SPDX-License-Identifier: MIT */
/*
 * VM benchmark: nanoseconds per run of three typical programs
 * (tests/bpf/run_bench.bpf.c) in usockmap's interpreter, against the
 * kernel running the same object on real traffic, in the same process.
 *
 *   parser    sk_skb stream parser, return skb->len
 *   verdict   sk_skb verdict: array lookup + bpf_sk_redirect_map
 *   msg       sk_msg: apply_bytes + pull_data
 *
 * usockmap: usm_prog_run() with repeat = N on a 64-byte input (the context
 * is rebuilt before every run and the rebuild cost subtracted), one batch
 * of warm-up, then the median of 5 batches.
 *
 * Kernel (root with kernel BPF only): the object is loaded with libbpf,
 * the program attached to a kernel SOCKMAP, run-time statistics switched on
 * with BPF_ENABLE_STATS (the same counters kernel.bpf_stats_enabled=1
 * enables; they switch off again when the returned fd is closed, so the
 * sysctl is never left changed), and MSGS 64-byte messages are pushed
 * through a loopback TCP pair; run_time_ns / run_cnt comes from
 * bpf_obj_get_info_by_fd.
 *
 * Usage: vm_bench OBJ [--json FILE] [--runs N] [--msgs N]
 * Prints a table; with --json also writes the results as JSON.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <usockmap/object.h>
#include <usockmap/run.h>

#define BATCHES 5
#define MSG_LEN 64

enum bench_kind { B_PARSER, B_VERDICT, B_MSG, B_COUNT };

struct bench {
	const char *name;
	const char *prog;
	const char *what;
	double usm_ns;   /* median of the batches */
	double kern_ns;  /* 0: not measured */
	uint64_t kern_runs;
	const char *kern_why; /* why not measured */
};

static struct bench benches[B_COUNT] = {
	{ "parser", "bench_parser", "return skb->len", 0, 0, 0, NULL },
	{ "verdict", "bench_verdict", "map lookup + sk_redirect_map", 0, 0, 0,
	  NULL },
	{ "msg", "bench_msg", "msg_apply_bytes + msg_pull_data", 0, 0, 0,
	  NULL },
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* ---- usockmap ---- */

/* One batch of @runs; the mean ns per run or < 0 on error. */
static double usm_batch(struct usm_object *obj, enum bench_kind k,
			uint32_t runs)
{
	struct usm_prog_run_opts o = USM_PROG_RUN_OPTS_INIT;
	struct usm_prog_run_result res;
	struct usm_prog_run_sock s;
	struct usm_program *p;
	uint8_t data[MSG_LEN];
	uint32_t key = 0;
	double ns;
	int err;

	p = usm_object_find_program(obj, benches[k].prog);
	if (!p)
		return -1;
	memset(data, 'a', sizeof(data));
	o.data_in = data;
	o.data_size_in = sizeof(data);
	o.repeat = runs;
	if (k == B_VERDICT) { /* a real socket at the redirect target */
		s.map = usm_object_find_map(obj, "sock_map");
		s.key = &key;
		s.key_size = 4;
		o.socks = &s;
		o.sock_cnt = 1;
	}
	err = usm_prog_run(p, &o, &res);
	ns = err ? -1 : (double)res.run_time_ns / res.runs;
	if (!err && k == B_VERDICT && res.verdict != USM_VERDICT_REDIRECT)
		ns = -1; /* the benchmark must measure the redirect path */
	usm_prog_run_result_fini(&res);
	return ns;
}

static int usm_measure(const char *path, uint32_t runs)
{
	struct usm_object *obj = NULL;
	double v[BATCHES];
	int k, b, err;

	err = usm_object_open(path, NULL, &obj);
	if (!err)
		err = usm_object_load(obj);
	if (err) {
		fprintf(stderr, "vm_bench: %s: %s\n", path, strerror(-err));
		usm_object_close(obj);
		return err;
	}
	for (k = 0; k < B_COUNT; k++) {
		if (usm_batch(obj, k, runs) < 0) { /* warm-up */
			fprintf(stderr, "vm_bench: %s does not run\n",
				benches[k].prog);
			usm_object_close(obj);
			return -EINVAL;
		}
		for (b = 0; b < BATCHES; b++)
			v[b] = usm_batch(obj, k, runs);
		qsort(v, BATCHES, sizeof(v[0]), cmp_double);
		benches[k].usm_ns = v[BATCHES / 2];
	}
	usm_object_close(obj);
	return 0;
}

/* ---- kernel ---- */

struct kpair {
	int c, s;
};

static int tcp_pair(struct kpair *p)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int l, one = 1;

	p->c = p->s = -1;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0)
		return -errno;
	if (bind(l, (void *)&sa, sizeof(sa)) || listen(l, 1) ||
	    getsockname(l, (void *)&sa, &len))
		goto fail;
	p->c = socket(AF_INET, SOCK_STREAM, 0);
	if (p->c < 0 || connect(p->c, (void *)&sa, sizeof(sa)))
		goto fail;
	setsockopt(p->c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	p->s = accept(l, NULL, NULL);
	if (p->s < 0)
		goto fail;
	close(l);
	return 0;
fail:
	close(l);
	if (p->c >= 0)
		close(p->c);
	return -EIO;
}

static void pair_close(struct kpair *p)
{
	if (p->c >= 0)
		close(p->c);
	if (p->s >= 0)
		close(p->s);
}

static size_t drain(int fd, int ms)
{
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	char buf[65536];
	size_t got = 0;
	ssize_t n;

	while (poll(&pf, 1, ms) == 1) {
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n <= 0)
			break;
		got += (size_t)n;
		ms = 0;
	}
	return got;
}

/* Send @msgs messages from @from, reading at @to as we go. 0 if every
 * byte arrived. */
static int traffic(int from, int to, uint32_t msgs)
{
	char buf[MSG_LEN];
	size_t want = (size_t)msgs * MSG_LEN, got = 0;
	uint32_t i;
	int idle = 0;

	memset(buf, 'k', sizeof(buf));
	for (i = 0; i < msgs; i++) {
		if (send(from, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
			return -EIO;
		got += drain(to, 0);
	}
	while (got < want && idle < 40) {
		size_t n = drain(to, 50);

		got += n;
		idle = n ? 0 : idle + 1;
	}
	return got == want ? 0 : -EIO;
}

static int prog_stats(int fd, uint64_t *ns, uint64_t *cnt)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	*ns = info.run_time_ns;
	*cnt = info.run_cnt;
	return 0;
}

static int prog_fd(struct bpf_object *obj, const char *name)
{
	struct bpf_program *p = bpf_object__find_program_by_name(obj, name);

	return p ? bpf_program__fd(p) : -1;
}

static int map_put(int map, uint32_t key, int fd)
{
	uint64_t v = (uint64_t)fd;

	return bpf_map_update_elem(map, &key, &v, BPF_ANY);
}

/* Attach what case @k needs; sockets in the map; returns the fds to send
 * from and read at. */
static int kern_setup(struct bpf_object *obj, enum bench_kind k, int map,
		      struct kpair *a, struct kpair *b, int *from, int *to)
{
	int pf = prog_fd(obj, benches[k].prog);
	int err = 0;

	if (pf < 0 || tcp_pair(a) || tcp_pair(b))
		return -EIO;
	*from = a->c;
	*to = a->s;
	if (k == B_PARSER) {
		err = bpf_prog_attach(pf, map, BPF_SK_SKB_STREAM_PARSER, 0) ?:
		      bpf_prog_attach(prog_fd(obj, "bench_pass"), map,
				      BPF_SK_SKB_STREAM_VERDICT, 0) ?:
		      map_put(map, 0, a->s);
	} else if (k == B_VERDICT) {
		/* receiver at 1, redirect target at 0 (cfg[0] = 0) */
		err = bpf_prog_attach(pf, map, BPF_SK_SKB_STREAM_VERDICT, 0) ?:
		      map_put(map, 1, a->s) ?: map_put(map, 0, b->c);
		*to = b->s;
	} else {
		err = bpf_prog_attach(pf, map, BPF_SK_MSG_VERDICT, 0) ?:
		      map_put(map, 0, a->c);
	}
	return err ? -errno : 0;
}

static void kern_teardown(struct bpf_object *obj, enum bench_kind k, int map)
{
	uint32_t key;

	for (key = 0; key < 4; key++)
		bpf_map_delete_elem(map, &key);
	if (k == B_PARSER) {
		bpf_prog_detach2(prog_fd(obj, "bench_parser"), map,
				 BPF_SK_SKB_STREAM_PARSER);
		bpf_prog_detach2(prog_fd(obj, "bench_pass"), map,
				 BPF_SK_SKB_STREAM_VERDICT);
	} else if (k == B_VERDICT) {
		bpf_prog_detach2(prog_fd(obj, "bench_verdict"), map,
				 BPF_SK_SKB_STREAM_VERDICT);
	} else {
		bpf_prog_detach2(prog_fd(obj, "bench_msg"), map,
				 BPF_SK_MSG_VERDICT);
	}
}

static void kern_case(struct bpf_object *obj, enum bench_kind k,
		      uint32_t msgs)
{
	int map = bpf_object__find_map_fd_by_name(obj, "sock_map");
	struct kpair a = { -1, -1 }, b = { -1, -1 };
	uint64_t ns0 = 0, cnt0 = 0, ns1 = 0, cnt1 = 0;
	int from, to, pf = prog_fd(obj, benches[k].prog);

	if (kern_setup(obj, k, map, &a, &b, &from, &to) ||
	    prog_stats(pf, &ns0, &cnt0)) {
		benches[k].kern_why = "attach/socket setup failed";
	} else if (traffic(from, to, msgs)) {
		benches[k].kern_why = "not every byte arrived";
	} else if (prog_stats(pf, &ns1, &cnt1) || cnt1 == cnt0) {
		benches[k].kern_why = "no runs counted";
	} else {
		benches[k].kern_runs = cnt1 - cnt0;
		benches[k].kern_ns = (double)(ns1 - ns0) / (cnt1 - cnt0);
	}
	kern_teardown(obj, k, map);
	pair_close(&a);
	pair_close(&b);
}

static int quiet(enum libbpf_print_level l, const char *f, va_list ap)
{
	(void)l;
	(void)f;
	(void)ap;
	return 0;
}

static void kern_measure(const char *path, uint32_t msgs)
{
	struct bpf_object *obj;
	const char *why = NULL;
	int stats = -1, k;

	libbpf_set_print(quiet);
	obj = geteuid() == 0 ? bpf_object__open_file(path, NULL) : NULL;
	if (geteuid() != 0)
		why = "not root";
	else if (!obj || bpf_object__load(obj))
		why = "the kernel does not load the object";
	else if ((stats = bpf_enable_stats(BPF_STATS_RUN_TIME)) < 0)
		why = "BPF_ENABLE_STATS refused";
	for (k = 0; k < B_COUNT; k++) {
		if (why)
			benches[k].kern_why = why;
		else
			kern_case(obj, k, msgs);
	}
	if (stats >= 0)
		close(stats); /* run-time stats off again */
	bpf_object__close(obj);
}

/* ---- output ---- */

/* net.core.bpf_jit_enable: "on", "off" or "unknown". */
static const char *kernel_jit(void)
{
	FILE *f = fopen("/proc/sys/net/core/bpf_jit_enable", "r");
	int v = -1;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v > 0 ? "on" : v == 0 ? "off" : "unknown";
}

static void print_table(uint32_t runs, uint32_t msgs)
{
	int k;

	printf("VM: ns per program run (usockmap: median of %d batches of %u "
	       "runs; kernel: bpf_stats over %u messages)\n",
	       BATCHES, runs, msgs);
	printf("%-8s %-34s %12s %12s %8s\n", "case", "program", "usockmap",
	       "kernel", "ratio");
	for (k = 0; k < B_COUNT; k++) {
		printf("%-8s %-34s %12.1f ", benches[k].name, benches[k].what,
		       benches[k].usm_ns);
		if (benches[k].kern_ns > 0)
			printf("%12.1f %8.2f\n", benches[k].kern_ns,
			       benches[k].usm_ns / benches[k].kern_ns);
		else
			printf("%12s %8s  (%s)\n", "n/a", "-",
			       benches[k].kern_why);
	}
	printf("ratio = usockmap / kernel (below 1: usockmap is faster); "
	       "kernel JIT %s; the kernel's run_time_ns includes its own\n"
	       "clock reads around each run, which weighs most on the "
	       "smallest programs\n", kernel_jit());
}

static json_t *bench_json(const struct bench *b)
{
	return json_pack("{s:s, s:s, s:s, s:f, s:o, s:o, s:I, s:o}", "case",
			 b->name, "program", b->prog, "what", b->what,
			 "usm_ns_per_run", b->usm_ns, "kernel_ns_per_run",
			 b->kern_ns > 0 ? json_real(b->kern_ns) : json_null(),
			 "ratio",
			 b->kern_ns > 0 ? json_real(b->usm_ns / b->kern_ns)
					: json_null(),
			 "kernel_runs", (json_int_t)b->kern_runs,
			 "kernel_note",
			 b->kern_why ? json_string(b->kern_why) : json_null());
}

static int write_json(const char *path, uint32_t runs, uint32_t msgs)
{
	json_t *arr = json_array(), *root;
	int k, err;

	for (k = 0; arr && k < B_COUNT; k++)
		if (json_array_append_new(arr, bench_json(&benches[k])))
			break;
	root = json_pack("{s:s, s:i, s:i, s:i, s:s, s:o}", "bench", "vm",
			 "batches", BATCHES, "runs_per_batch", (int)runs,
			 "kernel_messages", (int)msgs, "kernel_jit", kernel_jit(),
			 "results", arr);
	if (!root)
		return -ENOMEM;
	err = json_dump_file(root, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	return err ? -EIO : 0;
}

int main(int argc, char **argv)
{
	const char *obj = NULL, *json = NULL;
	uint32_t runs = 200000, msgs = 20000;
	bool bad = false;
	int i;

	for (i = 1; i < argc && !bad; i++) {
		if (strcmp(argv[i], "--json") == 0 && i + 1 < argc)
			json = argv[++i];
		else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			runs = (uint32_t)strtoul(argv[++i], NULL, 0);
		else if (strcmp(argv[i], "--msgs") == 0 && i + 1 < argc)
			msgs = (uint32_t)strtoul(argv[++i], NULL, 0);
		else if (!obj && argv[i][0] != '-')
			obj = argv[i];
		else
			bad = true;
	}
	if (bad || !obj || !runs || !msgs) {
		fprintf(stderr, "usage: vm_bench OBJ [--json FILE] [--runs N] "
				"[--msgs N]\n");
		return 2;
	}
	if (usm_measure(obj, runs))
		return 1;
	kern_measure(obj, msgs);
	print_table(runs, msgs);
	if (json && write_json(json, runs, msgs)) {
		fprintf(stderr, "vm_bench: cannot write %s\n", json);
		return 1;
	}
	return 0;
}
