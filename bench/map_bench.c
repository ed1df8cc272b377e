/* SPDX-License-Identifier: MIT */
/*
 * Map benchmark: user-space map operations per second, usockmap against the
 * kernel in the same run, and the memory one socket costs while it sits in
 * a socket map.
 *
 * Operations (K keys, one bound loopback UDP socket per key, 8-byte values):
 *   sockhash update   insert every key into an empty SOCKHASH (NOEXIST)
 *   sockhash lookup   look every key up (the socket cookie)
 *   sockhash delete   delete every key again
 *   array lookup      look up every key of an ARRAY (u64 values)
 * Each is measured through three paths: usockmap's native API (usm_map_*,
 * pointer handles), usockmap's bpf(2) core (usm_bpf with map fds, what the
 * libbpf-compatible header uses), and the kernel's bpf(2) through libbpf
 * (root with kernel BPF only). One warm-up batch, then the median of
 * BATCHES batches of K * ROUNDS operations; the ratio is usockmap time over
 * kernel time per operation (below 1: usockmap is faster), as in vm_bench.
 *
 * Memory: N sockets (default 10,000, RLIMIT_NOFILE raised as far as the
 * hard limit allows, fewer if it does not) are created first; the resident
 * set size is read, all N are inserted into one SOCKHASH through the
 * native API, and RSS is read again: (after - before) / N is what a socket
 * costs in the map (its struct usm_sock, psock, slot and link). The
 * kernel's figure for comparison is the map's own accounting (memlock in
 * fdinfo) over N; kernel sockets' psocks are not visible from user space.
 *
 * Usage: map_bench [--json FILE] [--keys K] [--rounds R] [--socks N]
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <usockmap/bpf.h>
#include <usockmap/map.h>

#define BATCHES 5
#define MAX_SOCKS 100000

enum op { OP_UPDATE, OP_LOOKUP, OP_DELETE, OP_ARRAY, OP_COUNT };
enum path { P_NATIVE, P_CORE, P_KERNEL, P_COUNT };

static const char *const op_names[OP_COUNT] = {
	"sockhash update", "sockhash lookup", "sockhash delete", "array lookup",
};
static const char *const path_names[P_COUNT] = { "native", "usm_bpf",
						 "kernel" };

/* ns per operation, 0 = not measured. */
static double result[OP_COUNT][P_COUNT];
static const char *kern_why;

/* ---- one map behind one of the three paths ---- */

struct bmap {
	enum path path;
	struct usm_map *u; /* P_NATIVE */
	int fd;            /* P_CORE, P_KERNEL */
};

static int bmap_create(struct bmap *m, enum path p, uint32_t type,
		       uint32_t max)
{
	union bpf_attr a;

	memset(m, 0, sizeof(*m));
	m->path = p;
	m->fd = -1;
	if (p == P_NATIVE)
		return usm_map_create(type, "bench", 4, 8, max, NULL, &m->u);
	if (p == P_KERNEL) {
		m->fd = bpf_map_create(type, "bench", 4, 8, max, NULL);
		return m->fd < 0 ? m->fd : 0;
	}
	memset(&a, 0, sizeof(a));
	a.map_type = type;
	a.key_size = 4;
	a.value_size = 8;
	a.max_entries = max;
	m->fd = usm_bpf(BPF_MAP_CREATE, &a, sizeof(a));
	return m->fd < 0 ? m->fd : 0;
}

static void bmap_free(struct bmap *m)
{
	if (m->path == P_NATIVE)
		usm_map_close(m->u);
	else if (m->path == P_CORE)
		usm_close(m->fd);
	else if (m->fd >= 0)
		close(m->fd);
}

static int core_elem(int cmd, int fd, const void *k, void *v, uint64_t fl)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)fd;
	a.key = (uint64_t)(uintptr_t)k;
	a.value = (uint64_t)(uintptr_t)v;
	a.flags = fl;
	return usm_bpf(cmd, &a, sizeof(a));
}

static int do_op(const struct bmap *m, enum op op, uint32_t key, uint64_t val)
{
	uint64_t out;

	switch (m->path) {
	case P_NATIVE:
		if (op == OP_UPDATE)
			return usm_map_update_elem(m->u, &key, &val, BPF_NOEXIST);
		if (op == OP_DELETE)
			return usm_map_delete_elem(m->u, &key);
		return usm_map_lookup_elem(m->u, &key, &out);
	case P_CORE:
		if (op == OP_UPDATE)
			return core_elem(BPF_MAP_UPDATE_ELEM, m->fd, &key, &val,
					 BPF_NOEXIST);
		if (op == OP_DELETE)
			return core_elem(BPF_MAP_DELETE_ELEM, m->fd, &key, NULL,
					 0);
		return core_elem(BPF_MAP_LOOKUP_ELEM, m->fd, &key, &out, 0);
	default:
		if (op == OP_UPDATE)
			return bpf_map_update_elem(m->fd, &key, &val, BPF_NOEXIST);
		if (op == OP_DELETE)
			return bpf_map_delete_elem(m->fd, &key);
		return bpf_map_lookup_elem(m->fd, &key, &out);
	}
}

/* ---- timing ---- */

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One pass of @op over keys [0, k): ns per operation, < 0 on error. */
static double pass(const struct bmap *m, enum op op, const int *fds,
		   uint32_t k)
{
	double t0 = now_ns();
	uint32_t i;

	for (i = 0; i < k; i++) {
		int err = do_op(m, op, i, fds ? (uint64_t)fds[i] : 0);

		if (err) {
			fprintf(stderr, "map_bench: %s %s key %u: %s\n",
				path_names[m->path], op_names[op], i,
				strerror(-err));
			return -1;
		}
	}
	return (now_ns() - t0) / k;
}

/* SOCKHASH: rounds of (update all, lookup all, delete all) per batch. */
static int bench_sockhash(enum path p, const int *fds, uint32_t k,
			  uint32_t rounds)
{
	double s[OP_DELETE + 1][BATCHES] = { { 0 } };
	struct bmap m;
	uint32_t b, r;
	int op, err;

	err = bmap_create(&m, p, BPF_MAP_TYPE_SOCKHASH, k);
	if (err)
		return err;
	for (b = 0; b <= BATCHES; b++) {
		for (r = 0; r < rounds; r++) {
			for (op = OP_UPDATE; op <= OP_DELETE; op++) {
				double ns = pass(&m, op, fds, k);

				if (ns < 0) {
					bmap_free(&m);
					return -EIO;
				}
				if (b > 0) /* batch 0 warms up */
					s[op][b - 1] += ns / rounds;
			}
		}
	}
	for (op = OP_UPDATE; op <= OP_DELETE; op++) {
		qsort(s[op], BATCHES, sizeof(double), cmp_double);
		result[op][p] = s[op][BATCHES / 2];
	}
	bmap_free(&m);
	return 0;
}

static int bench_array(enum path p, uint32_t k, uint32_t rounds)
{
	double s[BATCHES] = { 0 };
	struct bmap m;
	uint32_t b, r;
	int err;

	err = bmap_create(&m, p, BPF_MAP_TYPE_ARRAY, k);
	if (err)
		return err;
	for (b = 0; b <= BATCHES; b++) {
		for (r = 0; r < rounds; r++) {
			double ns = pass(&m, OP_ARRAY, NULL, k);

			if (ns < 0) {
				bmap_free(&m);
				return -EIO;
			}
			if (b > 0)
				s[b - 1] += ns / rounds;
		}
	}
	qsort(s, BATCHES, sizeof(double), cmp_double);
	result[OP_ARRAY][p] = s[BATCHES / 2];
	bmap_free(&m);
	return 0;
}

/* ---- sockets ---- */

static int udp_bound(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* @n bound loopback UDP sockets; returns how many were made. */
static uint32_t make_socks(int *fds, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		fds[i] = udp_bound();
		if (fds[i] < 0)
			break;
	}
	return i;
}

static void close_socks(int *fds, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		close(fds[i]);
}

/* Allow @want more descriptors than now; returns how many we may use. */
static uint32_t raise_nofile(uint32_t want)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)want + 256;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 0;
	if (rl.rlim_cur < need) {
		rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur > 256 + 64 ? (uint32_t)(rl.rlim_cur - 256 - 64) : 0;
}

/* ---- memory ---- */

static long rss_bytes(void)
{
	long size, res;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld", &size, &res) != 2)
		res = -1;
	fclose(f);
	return res < 0 ? -1 : res * sysconf(_SC_PAGESIZE);
}

/* The kernel map's memlock (its own accounting) from fdinfo, or -1. */
static long kern_memlock(int fd)
{
	char path[64], line[128];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

struct mem_result {
	uint32_t socks, wanted;
	double usm_bytes;  /* per socket */
	double kern_bytes; /* map memlock per socket, 0 if not measured */
};

static int bench_memory(uint32_t want, struct mem_result *mr)
{
	uint32_t n, i, avail = raise_nofile(want);
	struct usm_map *m;
	long before, after;
	int *fds, err = 0, kfd;

	memset(mr, 0, sizeof(*mr));
	mr->wanted = want;
	n = want < avail ? want : avail;
	fds = calloc(n ? n : 1, sizeof(*fds));
	if (!fds)
		return -ENOMEM;
	n = make_socks(fds, n);
	mr->socks = n;
	err = n ? usm_map_create(BPF_MAP_TYPE_SOCKHASH, "mem", 4, 8, n, NULL,
				 &m)
		: -EMFILE;
	if (err)
		goto out;
	before = rss_bytes();
	for (i = 0; i < n && !err; i++) {
		uint64_t v = (uint64_t)fds[i];

		err = usm_map_update_elem(m, &i, &v, BPF_NOEXIST);
	}
	after = rss_bytes();
	usm_map_close(m);
	if (!err && before > 0 && after > 0)
		mr->usm_bytes = (double)(after - before) / n;
	if (!err && !kern_why) {
		kfd = bpf_map_create(BPF_MAP_TYPE_SOCKHASH, "mem", 4, 8, n,
				     NULL);
		for (i = 0; kfd >= 0 && i < n; i++) {
			uint64_t v = (uint64_t)fds[i];

			if (bpf_map_update_elem(kfd, &i, &v, BPF_NOEXIST))
				break;
		}
		if (kfd >= 0 && i == n && kern_memlock(kfd) > 0)
			mr->kern_bytes = (double)kern_memlock(kfd) / n;
		if (kfd >= 0)
			close(kfd);
	}
out:
	close_socks(fds, n);
	free(fds);
	return err;
}

/* ---- output ---- */

static void print_table(uint32_t k, uint32_t rounds, const struct mem_result *mr)
{
	int op;

	printf("map operations, %u keys x %u rounds, median of %d batches "
	       "(ns/op; ratio = usockmap / kernel, below 1: usockmap is faster)\n", k, rounds, BATCHES);
	printf("%-16s %10s %10s %10s %12s %12s\n", "operation", "native",
	       "usm_bpf", "kernel", "ratio native", "ratio bpf()");
	for (op = 0; op < OP_COUNT; op++) {
		const double *r = result[op];

		printf("%-16s %10.1f %10.1f ", op_names[op], r[P_NATIVE],
		       r[P_CORE]);
		if (r[P_KERNEL] > 0)
			printf("%10.1f %12.2f %12.2f\n", r[P_KERNEL],
			       r[P_NATIVE] / r[P_KERNEL],
			       r[P_CORE] / r[P_KERNEL]);
		else
			printf("%10s %12s %12s\n", "-", "-", "-");
	}
	if (kern_why)
		printf("kernel not measured: %s\n", kern_why);
	printf("memory per socket in a SOCKHASH (%u sockets%s): %.0f bytes "
	       "(RSS delta)", mr->socks,
	       mr->socks < mr->wanted ? ", RLIMIT_NOFILE-bounded" : "",
	       mr->usm_bytes);
	if (mr->kern_bytes > 0)
		printf("; kernel map memlock %.0f bytes/socket (psock not "
		       "included)", mr->kern_bytes);
	printf("\n");
}

static json_t *op_json(int op)
{
	const double *r = result[op];

	return json_pack("{s:s, s:f, s:f, s:o, s:o, s:o}", "op", op_names[op],
			 "native_ns", r[P_NATIVE], "usm_bpf_ns", r[P_CORE],
			 "kernel_ns",
			 r[P_KERNEL] > 0 ? json_real(r[P_KERNEL]) : json_null(),
			 "ratio_native",
			 r[P_KERNEL] > 0 ? json_real(r[P_NATIVE] / r[P_KERNEL])
					 : json_null(),
			 "ratio_usm_bpf",
			 r[P_KERNEL] > 0 ? json_real(r[P_CORE] / r[P_KERNEL])
					 : json_null());
}

static int write_json(const char *path, uint32_t k, uint32_t rounds,
		      const struct mem_result *mr)
{
	json_t *ops = json_array(), *root;
	int op, err;

	for (op = 0; op < OP_COUNT; op++)
		json_array_append_new(ops, op_json(op));
	root = json_pack("{s:s, s:i, s:i, s:i, s:o, s:o, s:{s:i, s:i, s:f, "
			 "s:o}}",
			 "bench", "maps", "keys", (int)k, "rounds", (int)rounds,
			 "batches", BATCHES, "ops", ops, "kernel_why",
			 kern_why ? json_string(kern_why) : json_null(),
			 "memory", "sockets", (int)mr->socks, "wanted",
			 (int)mr->wanted, "usm_bytes_per_socket", mr->usm_bytes,
			 "kernel_map_memlock_per_socket",
			 mr->kern_bytes > 0 ? json_real(mr->kern_bytes)
					    : json_null());
	if (!root)
		return -1;
	err = json_dump_file(root, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	return err;
}

/* ---- main ---- */

static int kernel_usable(void)
{
	int fd;

	if (geteuid() != 0) {
		kern_why = "not root";
		return 0;
	}
	fd = bpf_map_create(BPF_MAP_TYPE_SOCKHASH, "probe", 4, 8, 1, NULL);
	if (fd < 0) {
		kern_why = "kernel refuses BPF_MAP_CREATE(SOCKHASH)";
		return 0;
	}
	close(fd);
	return 1;
}

static int run_ops(uint32_t k, uint32_t rounds)
{
	uint32_t n;
	int *fds, p, err = 0, kern = kernel_usable();

	raise_nofile(k);
	fds = calloc(k, sizeof(*fds));
	if (!fds)
		return -ENOMEM;
	n = make_socks(fds, k);
	if (n < k) {
		fprintf(stderr, "map_bench: only %u of %u sockets\n", n, k);
		err = -EMFILE;
	}
	for (p = 0; p < P_COUNT && !err; p++) {
		if (p == P_KERNEL && !kern)
			break;
		err = bench_sockhash(p, fds, k, rounds);
		if (!err)
			err = bench_array(p, k, rounds);
		if (err)
			fprintf(stderr, "map_bench: %s path: %s\n",
				path_names[p], strerror(-err));
	}
	close_socks(fds, n);
	free(fds);
	return err;
}

int main(int argc, char **argv)
{
	uint32_t k = 1000, rounds = 10, socks = 10000;
	const char *json = NULL;
	struct mem_result mr;
	int i, err;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json") && i + 1 < argc)
			json = argv[++i];
		else if (!strcmp(argv[i], "--keys") && i + 1 < argc)
			k = (uint32_t)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = (uint32_t)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--socks") && i + 1 < argc)
			socks = (uint32_t)strtoul(argv[++i], NULL, 0);
		else
			break;
	}
	if (i < argc || !k || k > MAX_SOCKS || !rounds || !socks ||
	    socks > MAX_SOCKS) {
		fprintf(stderr, "usage: map_bench [--json FILE] [--keys K] "
				"[--rounds R] [--socks N] (K, N <= %d)\n",
			MAX_SOCKS);
		return 2;
	}
	err = run_ops(k, rounds);
	if (!err)
		err = bench_memory(socks, &mr);
	if (err) {
		fprintf(stderr, "map_bench: %s\n", strerror(-err));
		return 1;
	}
	print_table(k, rounds, &mr);
	if (json && write_json(json, k, rounds, &mr)) {
		fprintf(stderr, "map_bench: cannot write %s\n", json);
		return 1;
	}
	return 0;
}
