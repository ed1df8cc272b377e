/* SPDX-License-Identifier: MIT */
/*
 * Generic map creation (kernel/bpf/syscall.c map_create), ARRAY,
 * PERCPU_ARRAY, PROG_ARRAY (arraymap.c) and HASH, PERCPU_HASH (hashtab.c):
 * creation limits, element operations and errno, each scenario run on
 * usockmap and on the kernel with the same arguments; per-CPU value layout
 * compared byte for byte with the kernel's.
 */
#include "maps_test.h"

#include <limits.h>

#include "../../../src/vm/vm.h"

static const uint32_t A = BPF_MAP_TYPE_ARRAY, PA = BPF_MAP_TYPE_PERCPU_ARRAY,
		      PR = BPF_MAP_TYPE_PROG_ARRAY, H = BPF_MAP_TYPE_HASH,
		      PH = BPF_MAP_TYPE_PERCPU_HASH;

/* ---- generic creation ---- */

static void test_create_generic(void **state)
{
	struct usm_map_create_opts o = { .sz = sizeof(o) };
	struct usm_map *m;

	check_create("unknown type", -EINVAL, 200, 4, 4, 1, 0);
	check_create("type UNSPEC", -EINVAL, BPF_MAP_TYPE_UNSPEC, 4, 4, 1, 0);
	check_create("RDONLY|WRONLY", -EINVAL, A, 4, 4, 1,
		     BPF_F_RDONLY | BPF_F_WRONLY);
	check_create("NUMA node 0", 0, A, 4, 4, 1, BPF_F_NUMA_NODE);
	/* numa_node outside the machine's nodes (not via dmap: opts). */
	o.map_flags = BPF_F_NUMA_NODE;
	o.numa_node = 4000;
	assert_int_equal(usm_map_create(A, "n", 4, 4, 1, &o, &m), -EINVAL);
	if (kern_ok()) {
		LIBBPF_OPTS(bpf_map_create_opts, ko, .map_flags = BPF_F_NUMA_NODE,
			    .numa_node = 4000);

		assert_int_equal(bpf_map_create(A, "n", 4, 4, 1, &ko), -EINVAL);
	}
	/* BTF key id without a value id. */
	o = (struct usm_map_create_opts){ .sz = sizeof(o), .btf_key_type_id = 1 };
	assert_int_equal(usm_map_create(A, "b", 4, 4, 1, &o, &m), -EINVAL);
	/* Opts: unknown non-zero tail bytes are refused (libbpf OPTS_VALID). */
	{
		struct {
			struct usm_map_create_opts o;
			uint64_t extra;
		} big = { { .sz = sizeof(big) }, 1 };

		assert_int_equal(usm_map_create(A, "x", 4, 4, 1, &big.o, &m),
				 -EINVAL);
		big.extra = 0;
		assert_int_equal(usm_map_create(A, "x", 4, 4, 1, &big.o, &m), 0);
		usm_map_close(m);
	}
	kern_done();
}

/* Names: [A-Za-z0-9_.] only (bpf_obj_name_cpy), checked after the type. */
static void test_create_name(void **state)
{
	const char *names[] = { "ok.name_1", "bad-name", "", "sp ace" };
	const int exp[] = { 0, -EINVAL, 0, -EINVAL };
	struct usm_map *m;
	size_t i;

	for (i = 0; i < 4; i++) {
		int u = usm_map_create(H, names[i], 4, 4, 1, NULL, &m);

		assert_int_equal(u, exp[i]);
		usm_map_close(m);
		if (kern_ok()) {
			int k = bpf_map_create(H, names[i], 4, 4, 1, NULL);

			assert_int_equal(k < 0 ? k : 0, exp[i]);
			if (k >= 0)
				close(k);
		}
	}
	/* Type errors come before name errors. */
	assert_int_equal(usm_map_create(H, "bad-name", 0, 4, 1, NULL, &m),
			 -EINVAL);
	assert_int_equal(usm_map_create(H, "bad-name", 4, 4194300, 1, NULL, &m),
			 -E2BIG);
	/* libbpf truncates long names to 15 characters; so do we. */
	assert_int_equal(usm_map_create(H, "abcdefghijklmnopqrst", 4, 4, 1, NULL,
					&m), 0);
	assert_string_equal(m->name, "abcdefghijklmno");
	usm_map_close(m);
	kern_done();
}

static void test_array_create(void **state)
{
	check_create("key 8", -EINVAL, A, 8, 4, 1, 0);
	check_create("key 0", -EINVAL, A, 0, 4, 1, 0);
	check_create("value 0", -EINVAL, A, 4, 0, 1, 0);
	check_create("max 0", -EINVAL, A, 4, 4, 0, 0);
	check_create("unknown flag", -EINVAL, A, 4, 4, 1, 1u << 20);
	check_create("NO_PREALLOC", -EINVAL, A, 4, 4, 1, BPF_F_NO_PREALLOC);
	check_create("RDONLY_PROG|WRONLY_PROG", -EINVAL, A, 4, 4, 1,
		     BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG);
	check_create("RDONLY_PROG", 0, A, 4, 4, 1, BPF_F_RDONLY_PROG);
	check_create("MMAPABLE", 0, A, 4, 4, 3, BPF_F_MMAPABLE);
	check_create("INNER_MAP", 0, A, 4, 4, 3, BPF_F_INNER_MAP);
	check_create("PRESERVE_ELEMS", -EINVAL, A, 4, 4, 1,
		     BPF_F_PRESERVE_ELEMS);
	check_create("value > INT_MAX", -E2BIG, A, 4, 0x80000000u, 1, 0);
	check_create("percpu MMAPABLE", -EINVAL, PA, 4, 4, 1, BPF_F_MMAPABLE);
	check_create("percpu INNER_MAP", -EINVAL, PA, 4, 4, 1, BPF_F_INNER_MAP);
	check_create("percpu NUMA node", -EINVAL, PA, 4, 4, 1, BPF_F_NUMA_NODE);
	check_create("percpu value 32768", 0, PA, 4, 32768, 1, 0);
	check_create("percpu value 32769", -E2BIG, PA, 4, 32769, 1, 0);
	check_create("prog array value 8", -EINVAL, PR, 4, 8, 1, 0);
	check_create("prog array RDONLY_PROG", -EINVAL, PR, 4, 4, 1,
		     BPF_F_RDONLY_PROG);
	check_create("prog array MMAPABLE", -EINVAL, PR, 4, 4, 1,
		     BPF_F_MMAPABLE);
	check_create("prog array PRESERVE_ELEMS", -EINVAL, PR, 4, 4, 1,
		     BPF_F_PRESERVE_ELEMS);
	check_create("prog array key 8", -EINVAL, PR, 8, 4, 1, 0);
	kern_done();
}

static void test_array_ops(void **state)
{
	uint8_t zero[12] = { 0 }, v1[12], v2[12];
	struct dmap d;
	uint32_t k;

	memset(v1, 0x11, sizeof(v1));
	memset(v2, 0x22, sizeof(v2));
	dmap_new(&d, A, 4, 12, 3, 0);
	for (k = 0; k < 3; k++)
		check_lookup(&d, &k, 0, 0, zero, 12, "zero-initialised");
	check_lookup(&d, &(uint32_t){ 3 }, 0, -ENOENT, NULL, 0, "out of range");
	check_update(&d, &(uint32_t){ 1 }, v1, BPF_ANY, 0, "ANY");
	check_lookup(&d, &(uint32_t){ 1 }, 0, 0, v1, 12, "read back");
	check_update(&d, &(uint32_t){ 1 }, v2, BPF_EXIST, 0, "EXIST");
	check_lookup(&d, &(uint32_t){ 1 }, 0, 0, v2, 12, "read back 2");
	check_update(&d, &(uint32_t){ 1 }, v1, BPF_NOEXIST, -EEXIST, "NOEXIST");
	check_update(&d, &(uint32_t){ 3 }, v1, BPF_ANY, -E2BIG, "index >= max");
	check_update(&d, &(uint32_t){ 3 }, v1, 3, -EINVAL, "flags before index");
	check_update(&d, &(uint32_t){ 0 }, v1, BPF_F_LOCK, -EINVAL, "F_LOCK");
	check_lookup(&d, &(uint32_t){ 0 }, BPF_F_LOCK, -EINVAL, NULL, 0,
		     "lookup F_LOCK");
	check_lookup(&d, &(uint32_t){ 0 }, 1, -EINVAL, NULL, 0,
		     "lookup flags");
	check_delete(&d, &(uint32_t){ 0 }, -EINVAL, "delete");
	check_delete(&d, &(uint32_t){ 7 }, -EINVAL, "delete out of range");
	check_next(&d, NULL, 0, &(uint32_t){ 0 }, "next NULL");
	check_next(&d, &(uint32_t){ 0 }, 0, &(uint32_t){ 1 }, "next 0");
	check_next(&d, &(uint32_t){ 1 }, 0, &(uint32_t){ 2 }, "next 1");
	check_next(&d, &(uint32_t){ 2 }, -ENOENT, NULL, "next last");
	check_next(&d, &(uint32_t){ 9 }, 0, &(uint32_t){ 0 }, "next beyond");
	dmap_free(&d);
	kern_done();
}

/* Direct value access and BPF-side pointers (usockmap only). */
static void test_array_bpf_side(void **state)
{
	struct usm_map *m, *m3;
	uint64_t addr;
	uint32_t k = 0;
	uint64_t val = 0x1234567890ull;
	uint64_t *p;

	assert_int_equal(usm_map_create(A, ".data", 4, 8, 1, NULL, &m), 0);
	assert_int_equal(usm__map_direct_value_addr(m, &addr, 0), 0);
	assert_int_equal(usm__map_direct_value_addr(m, &addr, 7), 0);
	assert_int_equal(usm__map_direct_value_addr(m, &addr, 8), -EINVAL);
	p = usm__map_bpf_lookup_elem(m, &k);
	assert_ptr_equal(p, (void *)(uintptr_t)addr);
	assert_int_equal(usm__map_bpf_update_elem(m, &k, &val, BPF_ANY), 0);
	assert_int_equal(*p, val);
	assert_int_equal(usm__map_bpf_update_elem(m, &k, &val, BPF_NOEXIST),
			 -EEXIST);
	/* BPF_F_LOCK is legal in the flag range on the BPF side, EEXIST wins
	 * for NOEXIST (array_map_update_elem order). */
	assert_int_equal(usm__map_bpf_update_elem(m, &k, &val,
						  BPF_F_LOCK | BPF_NOEXIST),
			 -EEXIST);
	assert_int_equal(usm__map_bpf_update_elem(m, &k, &val, BPF_F_LOCK),
			 -EINVAL);
	assert_int_equal(usm__map_bpf_delete_elem(m, &k), -EINVAL);
	assert_int_equal(usm_map_create(A, "three", 4, 8, 3, NULL, &m3), 0);
	assert_int_equal(usm__map_direct_value_addr(m3, &addr, 0), -USM_ENOTSUPP);
	assert_null(usm__map_bpf_lookup_elem(m3, &(uint32_t){ 3 }));
	/* Freeze: user writes refused, BPF writes still work. */
	assert_int_equal(usm_map_freeze(m), 0);
	assert_true(m->frozen);
	assert_int_equal(usm_map_update_elem(m, &k, &val, BPF_ANY), -EPERM);
	assert_int_equal(usm__map_bpf_update_elem(m, &k, &val, BPF_ANY), 0);
	usm_map_close(m);
	usm_map_close(m3);
}

/* BPF_MAP_FREEZE as bpf(2) reports it. */
static void test_freeze(void **state)
{
	uint32_t v = 7;
	struct dmap d;

	dmap_new(&d, A, 4, 4, 2, 0);
	check_update(&d, &(uint32_t){ 0 }, &v, BPF_ANY, 0, "before freeze");
	assert_int_equal(usm_map_freeze(d.u), 0);
	if (d.k >= 0)
		assert_int_equal(bpf_map_freeze(d.k), 0);
	check_update(&d, &(uint32_t){ 0 }, &v, BPF_ANY, -EPERM, "frozen update");
	check_delete(&d, &(uint32_t){ 0 }, -EPERM, "frozen delete");
	check_lookup(&d, &(uint32_t){ 0 }, 0, 0, &v, 4, "frozen lookup");
	check_next(&d, NULL, 0, &(uint32_t){ 0 }, "frozen next");
	/* Frozen maps lose write permission first: a second freeze is EPERM. */
	assert_int_equal(usm_map_freeze(d.u), -EPERM);
	if (d.k >= 0)
		assert_int_equal(bpf_map_freeze(d.k), -EPERM);
	dmap_free(&d);
	dmap_new(&d, H, 4, 4, 2, BPF_F_RDONLY);
	assert_int_equal(usm_map_freeze(d.u), -EPERM);
	if (d.k >= 0)
		assert_int_equal(bpf_map_freeze(d.k), -EPERM);
	dmap_free(&d);
	kern_done();
}

/* Map info as BPF_OBJ_GET_INFO_BY_FD reports it (RDONLY is the fd's). */
static void test_info(void **state)
{
	struct bpf_map_info ui, ki;
	uint32_t ulen = sizeof(ui), klen = sizeof(ki);
	struct dmap d;

	dmap_new(&d, H, 8, 16, 5, BPF_F_NO_PREALLOC | BPF_F_RDONLY);
	memset(&ui, 0, sizeof(ui));
	memset(&ki, 0, sizeof(ki));
	assert_int_equal(usm_map_get_info(d.u, &ui, &ulen), 0);
	assert_int_equal(ui.type, H);
	assert_int_equal(ui.key_size, 8);
	assert_int_equal(ui.value_size, 16);
	assert_int_equal(ui.max_entries, 5);
	assert_int_equal(ui.map_flags, BPF_F_NO_PREALLOC);
	assert_string_equal(ui.name, "t");
	assert_string_equal(usm__map_type_name(ui.type), "hash");
	assert_string_equal(usm__map_type_name(BPF_MAP_TYPE_SOCKHASH),
			    "sockhash");
	assert_string_equal(usm__map_type_name(BPF_MAP_TYPE_PERCPU_ARRAY),
			    "percpu_array");
	assert_string_equal(usm__map_type_name(9999), "unknown");
	assert_true(ui.id > 0);
	if (d.k >= 0) {
		assert_int_equal(bpf_obj_get_info_by_fd(d.k, &ki, &klen), 0);
		assert_int_equal(ki.map_flags, ui.map_flags);
		assert_int_equal(ki.type, ui.type);
	}
	{
		struct usm_map *byid;
		uint32_t next;

		assert_int_equal(usm__map_get_by_id(ui.id, &byid), 0);
		assert_ptr_equal(byid, d.u);
		usm__map_put(byid);
		assert_int_equal(usm__map_get_by_id(ui.id + 1000, &byid),
				 -ENOENT);
		assert_int_equal(usm__map_get_next_id(0, &next), 0);
		assert_true(next <= ui.id);
		assert_int_equal(usm__map_get_next_id(ui.id, &next), -ENOENT);
	}
	dmap_free(&d);
	kern_done();
}

/* Per-CPU value layout: round_up(value_size, 8) per possible CPU. */
static void test_percpu_layout(void **state)
{
	uint32_t types[2] = { PA, PH };
	int ncpu = usm_num_possible_cpus();
	size_t sz = 16 * (size_t)ncpu;
	int t;

	assert_int_equal(ncpu, libbpf_num_possible_cpus());
	for (t = 0; t < 2; t++) {
		uint8_t *val = calloc(1, sz), *zero = calloc(1, sz);
		struct usm_map *m;
		struct dmap d;
		uint32_t k = 1, cpu;
		size_t i;

		assert_non_null(val);
		assert_non_null(zero);
		for (i = 0; i < sz; i++)
			val[i] = (uint8_t)(i * 7 + 1); /* padding bytes too */
		dmap_new(&d, types[t], 4, 12, 4, 0);
		assert_int_equal(usm__map_user_value_size(d.u), sz);
		if (types[t] == PA)
			check_lookup(&d, &k, 0, 0, zero, sz, "percpu zeroed");
		else
			check_lookup(&d, &k, 0, -ENOENT, NULL, 0, "no key");
		check_update(&d, &k, val, BPF_ANY, 0, "percpu update");
		check_lookup(&d, &k, 0, 0, val, sz, "percpu layout");
		check_update(&d, &k, val, BPF_NOEXIST, -EEXIST, "NOEXIST");
		check_update(&d, &k, val, 3, -EINVAL, "flags");
		check_update(&d, &k, val, BPF_F_LOCK, -EINVAL, "F_LOCK");
		/* BPF side: each CPU sees its own copy. */
		m = d.u;
		for (cpu = 0; cpu < (uint32_t)ncpu; cpu++) {
			uint32_t prev = usm__map_set_cpu(cpu);
			uint8_t *p = usm__map_bpf_lookup_elem(m, &k);

			assert_ptr_equal(p, usm__map_lookup_percpu_elem(m, &k, cpu));
			assert_memory_equal(p, val + 16 * cpu, 12);
			usm__map_set_cpu(prev);
		}
		assert_null(usm__map_lookup_percpu_elem(m, &k, (uint32_t)ncpu));
		dmap_free(&d);
		free(val);
		free(zero);
	}
	kern_done();
}

/* BPF-side update of a per-CPU element touches one CPU's copy; a new
 * per-CPU hash element gets zeros on the other CPUs (hashtab.c). */
static void test_percpu_bpf_update(void **state)
{
	int ncpu = usm_num_possible_cpus();
	size_t sz = 8 * (size_t)ncpu;
	uint64_t *all = calloc(1, sz), v = 0xabcdef;
	struct usm_map *m;
	uint32_t k = 0, prev, t;
	uint32_t types[2] = { PA, PH };

	assert_non_null(all);
	for (t = 0; t < 2; t++) {
		assert_int_equal(usm_map_create(types[t], "p", 4, 8, 2, NULL, &m),
				 0);
		prev = usm__map_set_cpu((uint32_t)ncpu - 1);
		assert_int_equal(usm__map_bpf_update_elem(m, &k, &v, BPF_ANY), 0);
		usm__map_set_cpu(prev);
		memset(all, 0xff, sz);
		assert_int_equal(usm_map_lookup_elem(m, &k, all), 0);
		assert_int_equal(all[ncpu - 1], v);
		if (ncpu > 1)
			assert_int_equal(all[0], 0);
		usm_map_close(m);
	}
	free(all);
}

/* ---- PROG_ARRAY ---- */

struct fdprog {
	int kfd;
	struct usm_prog *p;
};

static struct fdprog fdprogs[4];

/* What the bpf(2) core will do: a kernel prog fd names one of ours. */
static int test_resolver(int fd, struct usm_prog **out)
{
	int i;

	for (i = 0; i < 4; i++) {
		if (fdprogs[i].p && fdprogs[i].kfd == fd) {
			usm__prog_get(fdprogs[i].p);
			*out = fdprogs[i].p;
			return 0;
		}
	}
	*out = NULL;
	return fcntl(fd, F_GETFD) < 0 ? -EBADF : -EINVAL;
}

static int kprog(uint32_t type, uint32_t eat)
{
	struct bpf_insn insns[2];
	LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = eat);
	int fd;

	memset(insns, 0, sizeof(insns));
	insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K; /* r0 = 1 */
	insns[0].imm = 1;
	insns[1].code = BPF_JMP | BPF_EXIT;
	if (!kern_ok())
		return open("/dev/null", O_RDONLY); /* a placeholder fd */
	fd = bpf_prog_load(type, "p", "GPL", insns, 2, &o);
	if (fd < 0)
		fail_msg("bpf_prog_load type %u: %d", type, fd);
	return fd;
}

static void add_prog(int i, uint32_t type, uint32_t eat)
{
	fdprogs[i].kfd = kprog(type, eat);
	assert_int_equal(usm__prog_new(&fdprogs[i].p), 0);
	fdprogs[i].p->type = type;
	fdprogs[i].p->expected_attach_type = eat;
}

static void drop_progs(void)
{
	int i;

	for (i = 0; i < 4; i++) {
		if (fdprogs[i].p) {
			close(fdprogs[i].kfd);
			usm__prog_put(fdprogs[i].p);
			fdprogs[i].p = NULL;
		}
	}
}

static uint32_t kprog_id(int fd)
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	return info.id;
}

static void prog_array_slots(struct dmap *dp);

static void test_prog_array(void **state)
{
	struct tsock pipe_;
	struct dmap d;
	uint32_t v;

	usm__map_set_prog_fd_resolver(test_resolver);
	add_prog(0, BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_INGRESS);
	add_prog(1, BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_EGRESS);
	add_prog(2, BPF_PROG_TYPE_SOCKET_FILTER, 0);
	add_prog(3, BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_INGRESS);
	assert_int_equal(tsock_make(K_PIPE, &pipe_), 0);
	dmap_new(&d, PR, 4, 4, 4, 0);
	check_lookup(&d, &(uint32_t){ 0 }, 0, -ENOENT, NULL, 0, "empty slot");
	check_lookup(&d, &(uint32_t){ 9 }, 0, -ENOENT, NULL, 0, "out of range");
	check_delete(&d, &(uint32_t){ 0 }, -ENOENT, "delete empty");
	check_delete(&d, &(uint32_t){ 9 }, -E2BIG, "delete out of range");
	v = (uint32_t)fdprogs[0].kfd;
	check_update(&d, &(uint32_t){ 0 }, &v, BPF_NOEXIST, -EINVAL,
		     "only BPF_ANY");
	check_update(&d, &(uint32_t){ 9 }, &v, BPF_ANY, -E2BIG, "index");
	v = (uint32_t)pipe_.fd;
	check_update(&d, &(uint32_t){ 0 }, &v, BPF_ANY, -EINVAL, "not a prog");
	v = 0x7ffffff0;
	check_update(&d, &(uint32_t){ 0 }, &v, BPF_ANY, -EBADF, "closed fd");
	v = (uint32_t)fdprogs[0].kfd;
	check_update(&d, &(uint32_t){ 1 }, &v, BPF_ANY, 0, "install");
	/* The owner is now CGROUP_SKB/INGRESS: others are refused. */
	v = (uint32_t)fdprogs[1].kfd;
	check_update(&d, &(uint32_t){ 2 }, &v, BPF_ANY, -EINVAL,
		     "other expected attach type");
	v = (uint32_t)fdprogs[2].kfd;
	check_update(&d, &(uint32_t){ 2 }, &v, BPF_ANY, -EINVAL, "other type");
	v = (uint32_t)fdprogs[3].kfd;
	check_update(&d, &(uint32_t){ 2 }, &v, BPF_ANY, 0, "same owner");
	prog_array_slots(&d);
	dmap_free(&d);
	assert_int_equal(fdprogs[3].p->refcnt, 1);
	tsock_free(&pipe_);
	drop_progs();
	usm__map_set_prog_fd_resolver(NULL);
	kern_done();
}

/* Lookup gives ids, delete drops references, the owner outlives slots,
 * closing the handle empties the array. Slot 1: prog 0, slot 2: prog 3. */
static void prog_array_slots(struct dmap *dp)
{
	struct dmap d = *dp;
	uint32_t v, id;

	assert_int_equal(usm_map_lookup_elem(d.u, &(uint32_t){ 1 }, &id), 0);
	assert_int_equal(id, fdprogs[0].p->id); /* lookup returns the id */
	if (d.k >= 0) {
		assert_int_equal(bpf_map_lookup_elem(d.k, &(uint32_t){ 1 }, &id),
				 0);
		assert_int_equal(id, kprog_id(fdprogs[0].kfd));
	}
	assert_ptr_equal(usm__prog_array_get(d.u, 1), fdprogs[0].p);
	assert_null(usm__prog_array_get(d.u, 0));
	assert_null(usm__prog_array_get(d.u, 4));
	assert_int_equal(fdprogs[0].p->refcnt, 2);
	check_delete(&d, &(uint32_t){ 1 }, 0, "delete");
	assert_int_equal(fdprogs[0].p->refcnt, 1);
	check_next(&d, &(uint32_t){ 3 }, -ENOENT, NULL, "next last");
	/* Owner stays after the slots empty. */
	check_delete(&d, &(uint32_t){ 2 }, 0, "delete 2");
	v = (uint32_t)fdprogs[2].kfd;
	check_update(&d, &(uint32_t){ 2 }, &v, BPF_ANY, -EINVAL,
		     "owner persists");
	assert_int_equal(usm__prog_array_check_owner(d.u, fdprogs[2].p),
			 -EINVAL);
	assert_int_equal(usm__prog_array_check_owner(d.u, fdprogs[3].p), 0);
	/* Internal setter: E2BIG past the end, NULL clears. */
	assert_int_equal(usm__prog_array_set(d.u, 4, fdprogs[0].p), -E2BIG);
	assert_int_equal(usm__prog_array_set(d.u, 3, fdprogs[0].p), 0);
	assert_int_equal(usm__prog_array_set(d.u, 3, NULL), 0);
	/* Closing the last user reference empties the array. */
	assert_int_equal(usm__prog_array_set(d.u, 0, fdprogs[3].p), 0);
	assert_int_equal(fdprogs[3].p->refcnt, 2);
}

/* A program holding the array does not keep its slots alive past the
 * last user reference (the prog <-> map cycle is broken). */
static void test_prog_array_uref(void **state)
{
	struct usm_prog *p;
	struct usm_map *m;

	assert_int_equal(usm_map_create(PR, "jmp", 4, 4, 2, NULL, &m), 0);
	assert_int_equal(usm__prog_new(&p), 0);
	p->type = BPF_PROG_TYPE_SK_SKB;
	assert_int_equal(usm__prog_add_map(p, m), 0); /* prog -> map */
	assert_int_equal(usm__prog_array_set(m, 0, p), 0); /* map -> prog */
	assert_int_equal(p->refcnt, 2);
	usm_map_close(m); /* last user ref: the array empties */
	assert_int_equal(p->refcnt, 1);
	assert_int_equal(m->refcnt, 1); /* still held by the program */
	usm__prog_put(p);                /* frees the program, then the map */
}

/* ---- HASH / PERCPU_HASH ---- */

static void test_hash_create(void **state)
{
	check_create("key 0", -EINVAL, H, 0, 4, 1, 0);
	check_create("value 0", -EINVAL, H, 4, 0, 1, 0);
	check_create("max 0", -EINVAL, H, 4, 4, 0, 0);
	check_create("NO_PREALLOC", 0, H, 4, 4, 1, BPF_F_NO_PREALLOC);
	check_create("ZERO_SEED", 0, H, 4, 4, 1, BPF_F_ZERO_SEED);
	check_create("NO_COMMON_LRU", -EINVAL, H, 4, 4, 1, BPF_F_NO_COMMON_LRU);
	check_create("MMAPABLE", -EINVAL, H, 4, 4, 1, BPF_F_MMAPABLE);
	check_create("INNER_MAP", -EINVAL, H, 4, 4, 1, BPF_F_INNER_MAP);
	check_create("RDONLY_PROG|WRONLY_PROG", -EINVAL, H, 4, 4, 1,
		     BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG);
	check_create("percpu NUMA", -EINVAL, PH, 4, 4, 1, BPF_F_NUMA_NODE);
	check_create("NUMA", 0, H, 4, 4, 1, BPF_F_NUMA_NODE);
	check_create("key+value too big", -E2BIG, H, 4, 4194300, 1, 0);
	check_create("key+value limit", -E2BIG, H, 24, 4194248, 1, 0);
	check_create("key+value just fits", 0, H, 24, 4194231, 1,
		     BPF_F_NO_PREALLOC);
	check_create("percpu value 32769", -E2BIG, PH, 4, 32769, 1, 0);
	check_create("max > 2^31", -E2BIG, H, 4, 4, (1u << 31) + 1, 0);
	check_create("buckets > u32 bytes", -E2BIG, H, 4, 4, (1u << 28) + 1, 0);
	check_create("order: EINVAL before E2BIG", -EINVAL, H, 0, 4194300, 1, 0);
	kern_done();
}

static void test_hash_ops(void **state)
{
	uint64_t v1 = 1, v2 = 2;
	struct dmap d;

	dmap_new(&d, H, 6, 8, 3, 0);
	check_lookup(&d, "aaaaaa", 0, -ENOENT, NULL, 0, "missing");
	check_update(&d, "aaaaaa", &v1, BPF_EXIST, -ENOENT, "EXIST missing");
	check_update(&d, "aaaaaa", &v1, BPF_NOEXIST, 0, "NOEXIST new");
	check_update(&d, "aaaaaa", &v2, BPF_NOEXIST, -EEXIST, "NOEXIST dup");
	check_lookup(&d, "aaaaaa", 0, 0, &v1, 8, "value kept");
	check_update(&d, "aaaaaa", &v2, BPF_EXIST, 0, "EXIST present");
	check_lookup(&d, "aaaaaa", 0, 0, &v2, 8, "value replaced");
	check_update(&d, "bbbbbb", &v1, BPF_ANY, 0, "ANY new");
	check_update(&d, "cccccc", &v1, BPF_ANY, 0, "ANY new 3");
	check_update(&d, "dddddd", &v1, BPF_ANY, -E2BIG, "full: new key");
	check_update(&d, "dddddd", &v1, BPF_NOEXIST, -E2BIG, "full: NOEXIST");
	check_update(&d, "cccccc", &v2, BPF_ANY, 0, "full: replace");
	check_update(&d, "cccccc", &v2, 3, -EINVAL, "flags");
	check_update(&d, "cccccc", &v2, BPF_F_LOCK, -EINVAL, "F_LOCK");
	check_delete(&d, "zzzzzz", -ENOENT, "delete missing");
	check_delete(&d, "bbbbbb", 0, "delete");
	check_delete(&d, "bbbbbb", -ENOENT, "delete again");
	check_update(&d, "dddddd", &v1, BPF_NOEXIST, 0, "room again");
	dmap_free(&d);
	kern_done();
}

/* get_next_key: NULL or unknown -> first, every key once, ENOENT at end. */
static void test_hash_next(void **state)
{
	uint32_t got[64], kgot[64], first, k, n, i;
	uint64_t v = 0;
	struct dmap d;

	dmap_new(&d, H, 4, 8, 64, BPF_F_NO_PREALLOC);
	check_next(&d, NULL, -ENOENT, NULL, "empty");
	for (k = 0; k < 50; k++)
		check_update(&d, &(uint32_t){ k * 2654435761u }, &v, BPF_ANY, 0,
			     "fill");
	for (n = 0; n < 64; n++) {
		if (usm_map_get_next_key(d.u, n ? &got[n - 1] : NULL, &got[n]))
			break;
	}
	assert_int_equal(n, 50);
	assert_int_equal(usm_map_get_next_key(d.u, &got[n - 1], &k), -ENOENT);
	for (i = 0; i < n; i++)
		assert_int_equal(usm_map_lookup_elem(d.u, &got[i], &v), 0);
	for (i = 0; i < n; i++) /* distinct */
		for (k = i + 1; k < n; k++)
			assert_int_not_equal(got[i], got[k]);
	assert_int_equal(usm_map_get_next_key(d.u, NULL, &first), 0);
	check_next(&d, &(uint32_t){ 7 }, 0, NULL, "unknown key");
	assert_int_equal(usm_map_get_next_key(d.u, &(uint32_t){ 7 }, &k), 0);
	assert_int_equal(k, first);
	if (d.k >= 0) {
		for (n = 0; n < 64; n++)
			if (bpf_map_get_next_key(d.k, n ? &kgot[n - 1] : NULL,
						 &kgot[n]))
				break;
		assert_int_equal(n, 50);
	}
	dmap_free(&d);
	kern_done();
}

/* Values a program holds stay valid memory after delete (the pool). */
static void test_hash_value_stability(void **state)
{
	struct usm_map *m;
	uint64_t *p, v = 42;
	uint32_t k;

	assert_int_equal(usm_map_create(H, "s", 4, 8, 1000, NULL, &m), 0);
	k = 5;
	assert_int_equal(usm_map_update_elem(m, &k, &v, BPF_ANY), 0);
	p = usm__map_bpf_lookup_elem(m, &k);
	assert_non_null(p);
	assert_int_equal(*p, 42);
	assert_int_equal(usm__map_bpf_delete_elem(m, &k), 0);
	assert_null(usm__map_bpf_lookup_elem(m, &k));
	for (k = 100; k < 1000; k++) /* grow, rehash, reuse */
		assert_int_equal(usm__map_bpf_update_elem(m, &k, &v, BPF_ANY), 0);
	*p = 7; /* still map memory: no ASan report */
	for (k = 100; k < 1000; k++) {
		uint64_t *q = usm__map_bpf_lookup_elem(m, &k);

		assert_non_null(q);
	}
	usm_map_close(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_generic),
		cmocka_unit_test(test_create_name),
		cmocka_unit_test(test_array_create),
		cmocka_unit_test(test_array_ops),
		cmocka_unit_test(test_array_bpf_side),
		cmocka_unit_test(test_freeze),
		cmocka_unit_test(test_info),
		cmocka_unit_test(test_percpu_layout),
		cmocka_unit_test(test_percpu_bpf_update),
		cmocka_unit_test(test_prog_array),
		cmocka_unit_test(test_prog_array_uref),
		cmocka_unit_test(test_hash_create),
		cmocka_unit_test(test_hash_ops),
		cmocka_unit_test(test_hash_next),
		cmocka_unit_test(test_hash_value_stability),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
