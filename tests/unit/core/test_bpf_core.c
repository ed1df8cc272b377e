/* SPDX-License-Identifier: MIT */
/*
 * The bpf(2) entry point itself: attribute size and tail rules, fd
 * handles, map commands, PROG_LOAD (checks, log buffer rules, ld_imm64
 * map operands), OBJ_GET_INFO_BY_FD and BTF_LOAD. Every scenario runs on
 * usm_bpf() and on the kernel's bpf(2); the two must agree step by step.
 * Where Linux 6.18 (the machine's kernel) differs from our 6.12 baseline
 * the step is checked on usockmap only, with a comment.
 */
#include "core_test.h"

#include <bpf/btf.h>
#include <linux/btf.h>

#define SM BPF_MAP_TYPE_SOCKMAP

static int raw_cmd(const struct backend *b, int cmd, uint32_t off,
		   uint32_t size)
{
	uint8_t buf[600];

	memset(buf, 0, sizeof(buf));
	if (off < sizeof(buf))
		buf[off] = 1;
	return b->bpf(cmd, (union bpf_attr *)buf, size);
}

/* __sys_bpf size rules and CHECK_ATTR for every command we serve. */
static void sc_attr(const struct backend *b, const void *arg)
{
	union { union bpf_attr a; uint8_t raw[600]; } u;
	int fd;

	memset(&u, 0, sizeof(u));
	EXPECT("unknown command", b->bpf(1000, &u.a, 64), -EINVAL);
	EXPECT("size > 4096", b->bpf(BPF_MAP_CREATE, &u.a, 4097), -E2BIG);
	EXPECT("non-zero tail", raw_cmd(b, BPF_MAP_CREATE, 400, 512), -E2BIG);
	EXPECT("NULL attr", b->bpf(BPF_MAP_CREATE, NULL, 8), -EFAULT);
	EXPECT("zero attr", b->bpf(BPF_MAP_CREATE, &u.a, 0), -EINVAL);
	u.a.map_type = SM;
	u.a.key_size = 4;
	u.a.value_size = 8;
	u.a.max_entries = 2;
	fd = EXPECT_FD("zero tail, big size", b->bpf(BPF_MAP_CREATE, &u.a, 512));
	b_close(b, fd);
	EXPECT("map_create tail", raw_cmd(b, BPF_MAP_CREATE, 100, 152), -EINVAL);
	EXPECT("lookup tail", raw_cmd(b, BPF_MAP_LOOKUP_ELEM, 40, 152), -EINVAL);
	EXPECT("update tail", raw_cmd(b, BPF_MAP_UPDATE_ELEM, 32, 152), -EINVAL);
	EXPECT("delete tail", raw_cmd(b, BPF_MAP_DELETE_ELEM, 16, 152), -EINVAL);
	EXPECT("next_key tail", raw_cmd(b, BPF_MAP_GET_NEXT_KEY, 24, 152),
	       -EINVAL);
	EXPECT("freeze tail", raw_cmd(b, BPF_MAP_FREEZE, 8, 152), -EINVAL);
	EXPECT("attach tail", raw_cmd(b, BPF_PROG_ATTACH, 40, 152), -EINVAL);
	EXPECT("detach tail", raw_cmd(b, BPF_PROG_DETACH, 40, 152), -EINVAL);
	EXPECT("query tail", raw_cmd(b, BPF_PROG_QUERY, 64, 152), -EINVAL);
	EXPECT("test_run tail", raw_cmd(b, BPF_PROG_TEST_RUN, 80, 152), -EINVAL);
	EXPECT("info tail", raw_cmd(b, BPF_OBJ_GET_INFO_BY_FD, 16, 152),
	       -EINVAL);
	EXPECT("btf tail", raw_cmd(b, BPF_BTF_LOAD, 40, 152), -EINVAL);
	EXPECT("link_update tail", raw_cmd(b, BPF_LINK_UPDATE, 16, 152),
	       -EINVAL);
	EXPECT("link_detach tail", raw_cmd(b, BPF_LINK_DETACH, 4, 152), -EINVAL);
	EXPECT("get_fd_by_id tail", raw_cmd(b, BPF_MAP_GET_FD_BY_ID, 12, 152),
	       -EINVAL);
	/* 6.18 added fields after PROG_LOAD's and LINK_CREATE's 6.12 ends
	 * (fd_array_cnt, ...): checked on usockmap only. */
	if (!b->kernel) {
		assert_int_equal(raw_cmd(b, BPF_PROG_LOAD, 148, 152), -EINVAL);
		assert_int_equal(raw_cmd(b, BPF_LINK_CREATE, 60, 152), -EINVAL);
	}
}

/* Handles are real fds: EBADF for a closed one, EINVAL for a foreign one,
 * dup()s name the same object, close-on-exec like the kernel's. */
static void sc_fds(const struct backend *b, const void *arg)
{
	int m = EXPECT_FD("map", b_smap(b, SM));
	int v = EXPECT_FD("prog", b_prog(b, P_VERDICT));
	int gone = EXPECT_FD("map 2", b_smap(b, SM));
	struct tsk s;
	uint64_t c = 0;
	int p[2], d;

	tsk_make(S_TCP, &s);
	b_close(b, gone);
	EXPECT("closed map fd", b_upd(b, gone, 0, s.fd, BPF_ANY), -EBADF);
	if (pipe(p))
		fail_msg("pipe");
	if (p[0] == gone || p[1] == gone) /* the number was reused */
		assert_int_equal(b_upd(b, gone, 0, s.fd, BPF_ANY), -EINVAL);
	EXPECT("pipe as map", b_upd(b, p[0], 0, s.fd, BPF_ANY), -EINVAL);
	EXPECT("prog as map", b_upd(b, v, 0, s.fd, BPF_ANY), -EINVAL);
	EXPECT("socket as map", b_upd(b, s.fd, 0, s.fd, BPF_ANY), -EINVAL);
	EXPECT_TRUE("close-on-exec", fcntl(m, F_GETFD) & FD_CLOEXEC);
	d = dup(m);
	EXPECT("update through a dup", b_upd(b, d, 0, s.fd, BPF_ANY), 0);
	b_close(b, m);
	EXPECT("lookup through the dup", b_lkp(b, d, 0, &c), 0);
	EXPECT_TRUE("cookie", c == so_cookie(s.fd));
	b_close(b, d);
	close(p[0]);
	close(p[1]);
	tsk_free(b, &s);
	b_close(b, v);
}

/* Element commands through bpf(2), including the NULL-buffer order. */
static void sc_map_elems(const struct backend *b, const void *arg)
{
	int m = EXPECT_FD("sockmap", b_smap(b, SM));
	uint32_t k = 5, nk = 0, last = 7, one = 1;
	struct tsk s;
	uint64_t c = 0;

	tsk_make(S_UDP, &s);
	EXPECT("update", b_upd(b, m, 1, s.fd, BPF_ANY), 0);
	EXPECT("lookup", b_lkp(b, m, 1, &c), 0);
	EXPECT_TRUE("cookie (MAP-LKP-01)", c == so_cookie(s.fd));
	EXPECT("lookup NULL value, present",
	       b_elem(b, BPF_MAP_LOOKUP_ELEM, m, &one, NULL, 0), -EFAULT);
	EXPECT("lookup NULL value, empty",
	       b_elem(b, BPF_MAP_LOOKUP_ELEM, m, &k, NULL, 0), -ENOENT);
	EXPECT("lookup NULL key", b_elem(b, BPF_MAP_LOOKUP_ELEM, m, NULL, &c, 0),
	       -EFAULT);
	EXPECT("lookup bad flags", b_elem(b, BPF_MAP_LOOKUP_ELEM, m, &k, &c, 2),
	       -EINVAL);
	EXPECT("next of NULL", b_elem(b, BPF_MAP_GET_NEXT_KEY, m, NULL, &nk, 0),
	       0);
	EXPECT("first key", (int)nk, 0);
	EXPECT("next NULL buffer", b_elem(b, BPF_MAP_GET_NEXT_KEY, m, &k, NULL,
					  0), -EFAULT);
	EXPECT("next at end, NULL buffer",
	       b_elem(b, BPF_MAP_GET_NEXT_KEY, m, &last, NULL, 0), -ENOENT);
	EXPECT("update NULL value",
	       b_elem(b, BPF_MAP_UPDATE_ELEM, m, &k, NULL, 0), -EFAULT);
	EXPECT("delete", b_del(b, m, 1), 0);
	EXPECT("delete empty (MAP-DEL-01)", b_del(b, m, 1), -EINVAL);
	tsk_free(b, &s);
	b_close(b, m);
}

static int b_map_flags(const struct backend *b, uint32_t type, uint32_t flags)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_type = type;
	a.key_size = 4;
	a.value_size = 8;
	a.max_entries = 4;
	a.map_flags = flags;
	return b->bpf(BPF_MAP_CREATE, &a, sizeof(a));
}

/* FREEZE, fd permissions, GET_FD_BY_ID, token and BTF attributes. */
static void sc_map_perms(const struct backend *b, const void *arg)
{
	int arr = EXPECT_FD("array", b_map(b, BPF_MAP_TYPE_ARRAY, 4, 8, 4));
	int ro = EXPECT_FD("rdonly", b_map_flags(b, BPF_MAP_TYPE_ARRAY,
						 BPF_F_RDONLY));
	int wo = EXPECT_FD("wronly", b_map_flags(b, BPF_MAP_TYPE_ARRAY,
						 BPF_F_WRONLY));
	uint64_t v = 42, got = 0;
	uint32_t k = 0;
	union bpf_attr a;
	union { union bpf_attr a; uint8_t raw[152]; } tok;
	int byid, p[2];

	EXPECT("update", b_elem(b, BPF_MAP_UPDATE_ELEM, arr, &k, &v, 0), 0);
	EXPECT("freeze", b_elem(b, BPF_MAP_FREEZE, arr, NULL, NULL, 0), 0);
	EXPECT("update frozen", b_elem(b, BPF_MAP_UPDATE_ELEM, arr, &k, &v, 0),
	       -EPERM);
	EXPECT("freeze again", b_elem(b, BPF_MAP_FREEZE, arr, NULL, NULL, 0),
	       -EPERM);
	EXPECT("lookup frozen", b_elem(b, BPF_MAP_LOOKUP_ELEM, arr, &k, &got, 0),
	       0);
	EXPECT("value", (int)got, 42);
	EXPECT("update rdonly", b_elem(b, BPF_MAP_UPDATE_ELEM, ro, &k, &v, 0),
	       -EPERM);
	EXPECT("lookup wronly", b_elem(b, BPF_MAP_LOOKUP_ELEM, wo, &k, &got, 0),
	       -EPERM);
	EXPECT("rdonly|wronly", b_map_flags(b, BPF_MAP_TYPE_ARRAY,
					    BPF_F_RDONLY | BPF_F_WRONLY),
	       -EINVAL);
	memset(&a, 0, sizeof(a));
	a.map_id = b_id(b, arr);
	a.open_flags = 4;
	EXPECT("get_fd_by_id bad flags",
	       b->bpf(BPF_MAP_GET_FD_BY_ID, &a, sizeof(a)), -EINVAL);
	a.open_flags = BPF_F_RDONLY;
	byid = EXPECT_FD("get_fd_by_id rdonly",
			 b->bpf(BPF_MAP_GET_FD_BY_ID, &a, sizeof(a)));
	EXPECT("lookup by id", b_elem(b, BPF_MAP_LOOKUP_ELEM, byid, &k, &got, 0),
	       0);
	EXPECT("delete through rdonly fd",
	       b_elem(b, BPF_MAP_DELETE_ELEM, byid, &k, NULL, 0), -EPERM);
	a.map_id = 0x7ffffff0;
	a.open_flags = 0;
	EXPECT("unknown id", b->bpf(BPF_MAP_GET_FD_BY_ID, &a, sizeof(a)),
	       -ENOENT);
	if (pipe(p))
		fail_msg("pipe");
	memset(&tok, 0, sizeof(tok));
	tok.a.map_type = SM;
	tok.a.key_size = 4;
	tok.a.value_size = 8;
	tok.a.max_entries = 4;
	tok.a.map_flags = 1u << 16; /* BPF_F_TOKEN_FD */
	memcpy(tok.raw + USM_ATTR_MAP_TOKEN_FD_OFF, &p[0], 4);
	EXPECT("token fd not a token", b->bpf(BPF_MAP_CREATE, &tok.a, 152),
	       -EINVAL);
	memset(&a, 0, sizeof(a));
	a.map_type = SM;
	a.key_size = 4;
	a.value_size = 8;
	a.max_entries = 4;
	a.btf_key_type_id = 1;
	a.btf_value_type_id = 2;
	a.btf_fd = (uint32_t)p[0];
	EXPECT("btf_fd not BTF", b->bpf(BPF_MAP_CREATE, &a, sizeof(a)), -EINVAL);
	a.btf_value_type_id = 0;
	EXPECT("key id without value id", b->bpf(BPF_MAP_CREATE, &a, sizeof(a)),
	       -EINVAL);
	close(p[0]);
	close(p[1]);
	b_close(b, byid);
	b_close(b, arr);
	b_close(b, ro);
	b_close(b, wo);
}

/* ---- BTF ---- */

struct btf_blob {
	uint8_t *data;
	uint32_t size;
};

static void btf_blob_make(struct btf_blob *bb)
{
	struct btf *btf = btf__new_empty();
	const void *raw;
	uint32_t n;

	if (!btf || btf__add_int(btf, "int", 4, BTF_INT_SIGNED) != 1 ||
	    btf__add_int(btf, "long", 8, BTF_INT_SIGNED) != 2)
		fail_msg("btf");
	raw = btf__raw_data(btf, &n);
	bb->data = malloc(n + 64);
	memset(bb->data, 0, n + 64);
	memcpy(bb->data, raw, n);
	bb->size = n;
	btf__free(btf);
}

static int b_btf(const struct backend *b, const void *data, uint32_t size,
		 uint32_t flags)
{
	uint8_t raw[152];
	union bpf_attr *a = (union bpf_attr *)raw;

	memset(raw, 0, sizeof(raw));
	a->btf = (uint64_t)(uintptr_t)data;
	a->btf_size = size;
	memcpy(raw + USM_ATTR_BTF_FLAGS_OFF, &flags, 4);
	return b->bpf(BPF_BTF_LOAD, a, sizeof(raw));
}

/* BTF_LOAD header checks; a loaded BTF serves btf_fd (MAP-CRT-08). */
static void sc_btf(const struct backend *b, const void *arg)
{
	struct btf_blob bb;
	struct btf_header h;
	struct bpf_btf_info bi;
	uint8_t copy[512];
	uint32_t len = sizeof(bi);
	union bpf_attr a;
	int fd, fd2;

	btf_blob_make(&bb);
	memcpy(&h, bb.data, sizeof(h));
	fd = EXPECT_FD("load", b_btf(b, bb.data, bb.size, 0));
	EXPECT("flags", b_btf(b, bb.data, bb.size, 2), -EINVAL);
	EXPECT("too big", b_btf(b, bb.data, 17u << 20, 0), -E2BIG);
	EXPECT("short", b_btf(b, bb.data, 4, 0), -EINVAL);
	EXPECT("header only", b_btf(b, bb.data, h.hdr_len, 0), -EINVAL);
	bb.data[0] ^= 0xff;
	EXPECT("magic", b_btf(b, bb.data, bb.size, 0), -EINVAL);
	bb.data[0] ^= 0xff;
	bb.data[2] = 2;
	EXPECT("version", b_btf(b, bb.data, bb.size, 0), -USM_ENOTSUPP);
	bb.data[2] = 1;
	bb.data[3] = 1;
	EXPECT("hdr flags", b_btf(b, bb.data, bb.size, 0), -USM_ENOTSUPP);
	bb.data[3] = 0;
	memset(&bi, 0, sizeof(bi));
	bi.btf = (uint64_t)(uintptr_t)copy;
	bi.btf_size = sizeof(copy);
	EXPECT("info", b_info(b, fd, &bi, &len), 0);
	EXPECT_TRUE("info size and data", bi.btf_size == bb.size &&
					      !memcmp(copy, bb.data, bb.size));
	memset(&a, 0, sizeof(a));
	a.map_type = SM;
	a.key_size = 4;
	a.value_size = 8;
	a.max_entries = 4;
	a.btf_fd = (uint32_t)fd;
	a.btf_key_type_id = 1;
	a.btf_value_type_id = 1;
	EXPECT("value type of the wrong size",
	       b->bpf(BPF_MAP_CREATE, &a, sizeof(a)), -EINVAL);
	a.btf_value_type_id = 2;
	EXPECT("sockmap with BTF (MAP-CRT-08)",
	       b->bpf(BPF_MAP_CREATE, &a, sizeof(a)), -USM_ENOTSUPP);
	a.map_type = BPF_MAP_TYPE_ARRAY;
	fd2 = EXPECT_FD("array with BTF", b->bpf(BPF_MAP_CREATE, &a, sizeof(a)));
	b_close(b, fd2);
	a.map_type = SM;
	a.btf_fd = 0x7ffff000;
	EXPECT("closed btf_fd", b->bpf(BPF_MAP_CREATE, &a, sizeof(a)), -EBADF);
	b_close(b, fd);
	free(bb.data);
}

/* ---- OBJ_GET_INFO_BY_FD ---- */

static void sc_info(const struct backend *b, const void *arg)
{
	int m = EXPECT_FD("map", b_smap(b, BPF_MAP_TYPE_SOCKHASH));
	int v = EXPECT_FD("prog", b_prog(b, P_VERDICT));
	struct bpf_map_info mi;
	struct bpf_prog_info pi;
	struct bpf_insn x[4];
	uint8_t big[200];
	uint32_t len;
	int p[2];

	memset(&mi, 0, sizeof(mi));
	len = sizeof(mi);
	EXPECT("map info", b_info(b, m, &mi, &len), 0);
	EXPECT_TRUE("map fields", mi.type == BPF_MAP_TYPE_SOCKHASH &&
				     mi.key_size == 4 && mi.value_size == 8 &&
				     mi.max_entries == 8 && mi.id != 0 &&
				     len == sizeof(mi));
	len = 8;
	memset(&mi, 0xa5, sizeof(mi));
	EXPECT("short info", b_info(b, m, &mi, &len), 0);
	EXPECT_TRUE("8 bytes", len == 8 && mi.key_size == 0xa5a5a5a5u);
	memset(big, 0, sizeof(big));
	big[150] = 1;
	len = sizeof(big);
	EXPECT("non-zero tail", b_info(b, m, big, &len), -E2BIG);
	if (pipe(p))
		fail_msg("pipe");
	len = sizeof(mi);
	EXPECT("pipe", b_info(b, p[0], &mi, &len), -EINVAL);
	close(p[0]);
	close(p[1]);
	len = sizeof(mi);
	EXPECT("closed fd (EBADFD)", b_info(b, p[0], &mi, &len), -EBADFD);
	memset(&pi, 0, sizeof(pi));
	pi.xlated_prog_insns = (uint64_t)(uintptr_t)x;
	pi.xlated_prog_len = sizeof(x);
	len = sizeof(pi);
	EXPECT("prog info", b_info(b, v, &pi, &len), 0);
	EXPECT_TRUE("prog fields", pi.type == BPF_PROG_TYPE_SK_SKB &&
				      pi.gpl_compatible && pi.nr_map_ids == 0 &&
				      pi.xlated_prog_len == 16 &&
				      x[0].code == (BPF_ALU64 | BPF_MOV | BPF_K) &&
				      x[0].imm == SK_PASS);
	memset(&pi, 0, sizeof(pi));
	pi.func_info_rec_size = 3;
	len = sizeof(pi);
	EXPECT("bad func_info_rec_size", b_info(b, v, &pi, &len), -EINVAL);
	b_close(b, m);
	b_close(b, v);
}

/* BPF_PROG_GET_FD_BY_ID / PROG_GET_NEXT_ID: a second handle on a loaded
 * program reports the same info; the program outlives its first fd while
 * the second is open; unknown ids, open_flags and a closed program. */
static void sc_prog_by_id(const struct backend *b, const void *arg)
{
	int v = EXPECT_FD("verdict", b_prog(b, P_VERDICT));
	struct bpf_prog_info i1, i2;
	uint32_t id = b_id(b, v), len;
	union bpf_attr a;
	int byid, found = 0;

	memset(&a, 0, sizeof(a));
	a.prog_id = id;
	a.open_flags = BPF_F_RDONLY;
	EXPECT("get_fd_by_id open_flags",
	       b->bpf(BPF_PROG_GET_FD_BY_ID, &a, sizeof(a)), -EINVAL);
	a.open_flags = 0;
	byid = EXPECT_FD("get_fd_by_id", b->bpf(BPF_PROG_GET_FD_BY_ID, &a,
						 sizeof(a)));
	memset(&i1, 0, sizeof(i1));
	memset(&i2, 0, sizeof(i2));
	len = sizeof(i1);
	EXPECT("info first", b_info(b, v, &i1, &len), 0);
	len = sizeof(i2);
	EXPECT("info by id", b_info(b, byid, &i2, &len), 0);
	EXPECT_TRUE("same program", i1.id == i2.id && i1.type == i2.type &&
				    !strcmp(i1.name, i2.name));
	/* The id walk finds it. */
	memset(&a, 0, sizeof(a));
	while (!found && b->bpf(BPF_PROG_GET_NEXT_ID, &a, sizeof(a)) == 0) {
		found = a.next_id == id;
		a.start_id = a.next_id;
	}
	EXPECT_TRUE("next_id walk finds it", found);
	memset(&a, 0, sizeof(a));
	a.start_id = INT32_MAX;
	EXPECT("next_id start INT_MAX",
	       b->bpf(BPF_PROG_GET_NEXT_ID, &a, sizeof(a)), -EINVAL);
	/* The program lives while any handle does. */
	b_close(b, v);
	memset(&i2, 0, sizeof(i2));
	len = sizeof(i2);
	EXPECT("info after first close", b_info(b, byid, &i2, &len), 0);
	EXPECT("id kept", (int)i2.id, (int)id);
	b_close(b, byid);
	memset(&a, 0, sizeof(a));
	a.prog_id = 0x7ffffff0;
	EXPECT("unknown id", b->bpf(BPF_PROG_GET_FD_BY_ID, &a, sizeof(a)),
	       -ENOENT);
}

#define T_BOTH(fn)                                                             \
	static void t_##fn(void **state)                                       \
	{                                                                      \
		run_both(fn, *state);                                          \
	}
T_BOTH(sc_attr)
T_BOTH(sc_fds)
T_BOTH(sc_map_elems)
T_BOTH(sc_map_perms)
T_BOTH(sc_btf)
T_BOTH(sc_info)
T_BOTH(sc_prog_by_id)

static int group_setup(void **state)
{
	progs_init();
	return 0;
}

static int group_teardown(void **state)
{
	progs_fini();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_sc_attr),
		cmocka_unit_test(t_sc_fds),
		cmocka_unit_test(t_sc_map_elems),
		cmocka_unit_test(t_sc_map_perms),
		cmocka_unit_test(t_sc_btf),
		cmocka_unit_test(t_sc_info),
		cmocka_unit_test(t_sc_prog_by_id),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
