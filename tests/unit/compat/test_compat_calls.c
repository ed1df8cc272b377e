/* SPDX-License-Identifier: MIT */
/*
 * <usockmap/libbpf.h> low-level calls (bpf_map_*, bpf_prog_attach/
 * detach2/query, bpf_link_*, bpf_obj_get_info_by_fd, libbpf_get_error):
 * the same arguments as libbpf, the same results and errno as libbpf on
 * the kernel. The SEMANTICS ids are those of the behaviour each call
 * exercises; the rules themselves are tested in the maps/core suites, here
 * we check that the compatibility layer passes them through unchanged and
 * applies libbpf's own checks (opts validation, name truncation, output
 * write-back).
 */
#include "compat_test.h"

#include <fcntl.h>

#define SOCKMAP BPF_MAP_TYPE_SOCKMAP

/* Create on both sides; returns the fds (kernel -1 without kernel BPF). */
static struct dfd both_create(enum bpf_map_type t, const char *name,
			      __u32 ks, __u32 vs, __u32 max,
			      const struct bpf_map_create_opts *o)
{
	struct dfd d = { -1, -1 };
	struct res u = RUN(usm_compat_bpf_map_create(t, name, ks, vs, max, o));
	struct res k = { 0, 0 };

	if (ct_kern())
		k = RUN(bpf_map_create(t, name, ks, vs, max, o));
	same_res("create", u, ct_kern() ? &k : NULL, 0, true);
	d.u = (int)u.ret;
	d.k = ct_kern() ? (int)k.ret : -1;
	assert_true(usm_is_bpf_fd(d.u));
	return d;
}

/* libbpf 1.x convention: -errno returned and errno set (MAP-CRT-01). */
static void test_errno_convention(void **state)
{
	(void)state;
	SAME("sockmap key 8", -EINVAL,
	     usm_compat_bpf_map_create(SOCKMAP, NULL, 8, 4, 1, NULL),
	     bpf_map_create(SOCKMAP, NULL, 8, 4, 1, NULL));
	SAME("unknown type", -EINVAL,
	     usm_compat_bpf_map_create(0x7fff, NULL, 4, 4, 1, NULL),
	     bpf_map_create(0x7fff, NULL, 4, 4, 1, NULL));
	SAME("closed map fd", -EBADF,
	     usm_compat_bpf_map_delete_elem(0x7ffffff0, &(int){ 0 }),
	     bpf_map_delete_elem(0x7ffffff0, &(int){ 0 }));
	ct_kern_done();
}

/* libbpf's opts rules and name handling before bpf(2). */
static void test_create_opts_and_names(void **state)
{
	struct {
		struct bpf_map_create_opts o;
		char tail[8];
	} big;
	LIBBPF_OPTS(bpf_map_create_opts, small);
	struct dfd d;

	(void)state;
	small.sz = 4; /* smaller than the size field */
	SAME("opts sz too small", -EINVAL,
	     usm_compat_bpf_map_create(SOCKMAP, NULL, 4, 4, 1, &small),
	     bpf_map_create(SOCKMAP, NULL, 4, 4, 1, &small));
	memset(&big, 0, sizeof(big));
	big.o.sz = sizeof(big);
	big.tail[3] = 1;
	SAME("unknown opts tail", -EINVAL,
	     usm_compat_bpf_map_create(SOCKMAP, NULL, 4, 4, 1, &big.o),
	     bpf_map_create(SOCKMAP, NULL, 4, 4, 1, &big.o));
	big.tail[3] = 0;
	d = both_create(SOCKMAP, NULL, 4, 4, 1, &big.o); /* zero tail: fine */
	dfd_close(&d);
	/* libbpf keeps the first 15 characters of a long name. */
	d = both_create(SOCKMAP, "a_rather_long_map_name", 4, 8, 1, NULL);
	{
		struct bpf_map_info ui, ki;
		__u32 ul = sizeof(ui), kl = sizeof(ki);

		memset(&ui, 0, sizeof(ui));
		memset(&ki, 0, sizeof(ki));
		assert_int_equal(usm_compat_bpf_obj_get_info_by_fd(d.u, &ui,
								   &ul), 0);
		assert_string_equal(ui.name, "a_rather_long_m");
		if (d.k >= 0) {
			assert_int_equal(bpf_obj_get_info_by_fd(d.k, &ki, &kl),
					 0);
			assert_string_equal(ki.name, ui.name);
			assert_int_equal(ul, kl);
		}
	}
	dfd_close(&d);
	SAME("bad name", -EINVAL,
	     usm_compat_bpf_map_create(SOCKMAP, "no-dash", 4, 4, 1, NULL),
	     bpf_map_create(SOCKMAP, "no-dash", 4, 4, 1, NULL));
	ct_kern_done();
}

/* Element calls on a SOCKMAP: MAP-UPD-01/10, MAP-LKP-02, MAP-DEL-01,
 * MAP-NXT-01, and BPF_MAP_FREEZE. */
static void test_elem_calls(void **state)
{
	struct dfd d;
	int cl, sv, ln, k0 = 0, k5 = 5, next = -1, knext = -1;
	__u64 cookie;
	__u32 bad = UINT32_MAX;

	(void)state;
	tcp_pair(&cl, &sv, &ln);
	d = both_create(SOCKMAP, "elems", 4, 4, 2, NULL);
	SAME("update", 0, usm_compat_bpf_map_update_elem(d.u, &k0, &cl, 0),
	     bpf_map_update_elem(d.k, &k0, &cl, 0));
	SAME("update bad value", -EINVAL,
	     usm_compat_bpf_map_update_elem(d.u, &k0, &bad, 0),
	     bpf_map_update_elem(d.k, &k0, &bad, 0));
	SAME("update out of range", -E2BIG,
	     usm_compat_bpf_map_update_elem(d.u, &k5, &sv, 0),
	     bpf_map_update_elem(d.k, &k5, &sv, 0));
	SAME("lookup 4-byte", -ENOSPC,
	     usm_compat_bpf_map_lookup_elem(d.u, &k0, &cookie),
	     bpf_map_lookup_elem(d.k, &k0, &cookie));
	SAME("lookup F_LOCK", -EINVAL,
	     usm_compat_bpf_map_lookup_elem_flags(d.u, &k0, &cookie,
						  BPF_F_LOCK),
	     bpf_map_lookup_elem_flags(d.k, &k0, &cookie, BPF_F_LOCK));
	SAME("next of NULL", 0, usm_compat_bpf_map_get_next_key(d.u, NULL,
								&next),
	     bpf_map_get_next_key(d.k, NULL, &knext));
	assert_int_equal(next, 0);
	SAME("next of last", -ENOENT,
	     usm_compat_bpf_map_get_next_key(d.u, &(int){ 1 }, &next),
	     bpf_map_get_next_key(d.k, &(int){ 1 }, &knext));
	SAME("delete", 0, usm_compat_bpf_map_delete_elem(d.u, &k0),
	     bpf_map_delete_elem(d.k, &k0));
	SAME("delete empty", -EINVAL, usm_compat_bpf_map_delete_elem(d.u, &k0),
	     bpf_map_delete_elem(d.k, &k0));
	SAME("freeze", 0, usm_compat_bpf_map_freeze(d.u),
	     bpf_map_freeze(d.k));
	SAME("update frozen", -EPERM,
	     usm_compat_bpf_map_update_elem(d.u, &k0, &cl, 0),
	     bpf_map_update_elem(d.k, &k0, &cl, 0));
	dfd_close(&d);
	close(cl);
	close(sv);
	close(ln);
	ct_kern_done();
}

/* BPF_OBJ_GET_INFO_BY_FD and BPF_MAP_GET_FD_BY_ID through the layer. */
static void test_info_and_fd_by_id(void **state)
{
	struct bpf_map_info info, again;
	__u32 len = sizeof(info), len2 = sizeof(again);
	int fd, fd2;

	(void)state;
	fd = usm_compat_bpf_map_create(BPF_MAP_TYPE_SOCKHASH, "hinfo", 16, 8,
				       7, NULL);
	assert_true(fd >= 0);
	memset(&info, 0, sizeof(info));
	assert_int_equal(usm_compat_bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	assert_int_equal(info.type, BPF_MAP_TYPE_SOCKHASH);
	assert_int_equal(info.key_size, 16);
	assert_int_equal(info.value_size, 8);
	assert_int_equal(info.max_entries, 7);
	assert_string_equal(info.name, "hinfo");
	assert_true(info.id > 0);
	assert_true(len > 0 && len <= sizeof(info));
	fd2 = usm_compat_bpf_map_get_fd_by_id(info.id);
	assert_true(fd2 >= 0 && fd2 != fd);
	memset(&again, 0, sizeof(again));
	assert_int_equal(usm_compat_bpf_obj_get_info_by_fd(fd2, &again, &len2),
			 0);
	assert_int_equal(again.id, info.id);
	usm_close(fd);
	usm_close(fd2);
	errno = 0;
	assert_int_equal(usm_compat_bpf_map_get_fd_by_id(0x7ffffff0), -ENOENT);
	assert_int_equal(errno, ENOENT);
}

/* A SOCKMAP and the example programs, on both sides. */
struct progs {
	struct dobj skb, msg;
	struct dfd map, parser, verdict, msgp;
};

static void progs_new(struct progs *p)
{
	dobj_open_load(&p->skb, "examples/libbpf/skb_progs");
	dobj_open_load(&p->msg, "examples/libbpf/msg_prog");
	p->parser = dobj_prog(&p->skb, "whole_buffer");
	p->verdict = dobj_prog(&p->skb, "pass_all");
	p->msgp = dobj_prog(&p->msg, "msg_filter");
	p->map = both_create(SOCKMAP, "att", 4, 4, 1, NULL);
}

static void progs_free(struct progs *p)
{
	dfd_close(&p->map);
	dobj_close(&p->skb);
	dobj_close(&p->msg);
}

/* Attach and detach: PRG-02, PRG-04, PRG-08. */
static void test_attach_detach(void **state)
{
	LIBBPF_OPTS(bpf_prog_attach_opts, multi, .flags = BPF_F_ALLOW_MULTI);
	LIBBPF_OPTS(bpf_prog_attach_opts, repl, .replace_prog_fd = 1);
	struct progs p;

	(void)state;
	progs_new(&p);
	SAME("attach", 0,
	     usm_compat_bpf_prog_attach(p.parser.u, p.map.u,
					BPF_SK_SKB_STREAM_PARSER, 0),
	     bpf_prog_attach(p.parser.k, p.map.k, BPF_SK_SKB_STREAM_PARSER, 0));
	SAME("attach bad prog fd", -EBADF,
	     usm_compat_bpf_prog_attach(-1, p.map.u, BPF_SK_SKB_STREAM_PARSER,
					0),
	     bpf_prog_attach(-1, p.map.k, BPF_SK_SKB_STREAM_PARSER, 0));
	SAME("attach ALLOW_MULTI", -EINVAL,
	     usm_compat_bpf_prog_attach_opts(p.parser.u, p.map.u,
					     BPF_SK_SKB_STREAM_PARSER, &multi),
	     bpf_prog_attach_opts(p.parser.k, p.map.k,
				  BPF_SK_SKB_STREAM_PARSER, &multi));
	SAME("attach replace fd", -EINVAL,
	     usm_compat_bpf_prog_attach_opts(p.parser.u, p.map.u,
					     BPF_SK_SKB_STREAM_PARSER, &repl),
	     bpf_prog_attach_opts(p.parser.k, p.map.k,
				  BPF_SK_SKB_STREAM_PARSER, &repl));
	SAME("detach", 0,
	     usm_compat_bpf_prog_detach2(p.parser.u, p.map.u,
					 BPF_SK_SKB_STREAM_PARSER),
	     bpf_prog_detach2(p.parser.k, p.map.k, BPF_SK_SKB_STREAM_PARSER));
	SAME("detach again", -ENOENT,
	     usm_compat_bpf_prog_detach2(p.parser.u, p.map.u,
					 BPF_SK_SKB_STREAM_PARSER),
	     bpf_prog_detach2(p.parser.k, p.map.k, BPF_SK_SKB_STREAM_PARSER));
	progs_free(&p);
	ct_kern_done();
}

/* Query, with libbpf's write-back of count and flags: PRG-10. */
static void test_query(void **state)
{
	LIBBPF_OPTS(bpf_prog_query_opts, q, .query_flags = 1);
	__u32 ids[2] = { 0 }, kids[2] = { 0 }, cnt = 2, kcnt = 2, fl = 7,
	      kfl = 7;
	struct progs p;

	(void)state;
	progs_new(&p);
	assert_int_equal(usm_compat_bpf_prog_attach(p.parser.u, p.map.u,
						    BPF_SK_SKB_STREAM_PARSER,
						    0), 0);
	if (p.map.k >= 0)
		assert_int_equal(bpf_prog_attach(p.parser.k, p.map.k,
						 BPF_SK_SKB_STREAM_PARSER, 0),
				 0);
	SAME("query", 0,
	     usm_compat_bpf_prog_query(p.map.u, BPF_SK_SKB_STREAM_PARSER, 0,
				       &fl, ids, &cnt),
	     bpf_prog_query(p.map.k, BPF_SK_SKB_STREAM_PARSER, 0, &kfl, kids,
			    &kcnt));
	assert_int_equal(cnt, 1);
	assert_int_equal(fl, 0);
	assert_true(ids[0] != 0);
	if (p.map.k >= 0) {
		assert_int_equal(kcnt, cnt);
		assert_int_equal(kfl, fl);
	}
	SAME("query flags", -EINVAL,
	     usm_compat_bpf_prog_query_opts(p.map.u, BPF_SK_SKB_STREAM_PARSER,
					    &q),
	     bpf_prog_query_opts(p.map.k, BPF_SK_SKB_STREAM_PARSER, &q));
	progs_free(&p);
	ct_kern_done();
}

/* Link creation through bpf_link_create: PRG-12, PRG-13, and libbpf's own
 * rules for options these links do not take. */
static void test_link_create(void **state)
{
	LIBBPF_OPTS(bpf_link_create_opts, lflags, .flags = 1);
	LIBBPF_OPTS(bpf_link_create_opts, iter, .iter_info_len = 4);
	LIBBPF_OPTS(bpf_link_create_opts, both, .target_btf_id = 5,
		    .iter_info_len = 4);
	struct res u, k = { 0, 0 };
	struct dfd l;
	struct progs p;

	(void)state;
	progs_new(&p);
	SAME("link flags", -EINVAL,
	     usm_compat_bpf_link_create(p.verdict.u, p.map.u,
					BPF_SK_SKB_STREAM_VERDICT, &lflags),
	     bpf_link_create(p.verdict.k, p.map.k, BPF_SK_SKB_STREAM_VERDICT,
			     &lflags));
	SAME("link iter_info_len", -EINVAL,
	     usm_compat_bpf_link_create(p.verdict.u, p.map.u,
					BPF_SK_SKB_STREAM_VERDICT, &iter),
	     bpf_link_create(p.verdict.k, p.map.k, BPF_SK_SKB_STREAM_VERDICT,
			     &iter));
	SAME("link btf id + iter", -EINVAL,
	     usm_compat_bpf_link_create(p.verdict.u, p.map.u,
					BPF_SK_SKB_STREAM_VERDICT, &both),
	     bpf_link_create(p.verdict.k, p.map.k, BPF_SK_SKB_STREAM_VERDICT,
			     &both));
	u = RUN(usm_compat_bpf_link_create(p.verdict.u, p.map.u,
					   BPF_SK_SKB_STREAM_VERDICT, NULL));
	if (ct_kern())
		k = RUN(bpf_link_create(p.verdict.k, p.map.k,
					BPF_SK_SKB_STREAM_VERDICT, NULL));
	same_res("link", u, ct_kern() ? &k : NULL, 0, true);
	l.u = (int)u.ret;
	l.k = ct_kern() ? (int)k.ret : -1;
	SAME("second link", -EBUSY,
	     usm_compat_bpf_link_create(p.verdict.u, p.map.u,
					BPF_SK_SKB_STREAM_VERDICT, NULL),
	     bpf_link_create(p.verdict.k, p.map.k, BPF_SK_SKB_STREAM_VERDICT,
			     NULL));
	SAME("attach over link", -EBUSY,
	     usm_compat_bpf_prog_attach(p.verdict.u, p.map.u,
					BPF_SK_SKB_STREAM_VERDICT, 0),
	     bpf_prog_attach(p.verdict.k, p.map.k, BPF_SK_SKB_STREAM_VERDICT,
			     0));
	dfd_close(&l);
	progs_free(&p);
	ct_kern_done();
}

/* bpf_link_update / bpf_link_detach: PRG-15, PRG-16. */
static void test_link_update_detach(void **state)
{
	LIBBPF_OPTS(bpf_link_update_opts, repl, .flags = BPF_F_REPLACE);
	struct dfd l = { -1, -1 };
	struct res u, k = { 0, 0 };
	struct progs p;

	(void)state;
	progs_new(&p);
	l.u = usm_compat_bpf_link_create(p.verdict.u, p.map.u,
					 BPF_SK_SKB_STREAM_VERDICT, NULL);
	assert_true(l.u >= 0);
	if (ct_kern()) {
		l.k = bpf_link_create(p.verdict.k, p.map.k,
				      BPF_SK_SKB_STREAM_VERDICT, NULL);
		assert_true(l.k >= 0);
	}
	SAME("update to sk_msg", -EINVAL,
	     usm_compat_bpf_link_update(l.u, p.msgp.u, NULL),
	     bpf_link_update(l.k, p.msgp.k, NULL));
	repl.old_prog_fd = (__u32)p.parser.u;
	u = RUN(usm_compat_bpf_link_update(l.u, p.verdict.u, &repl));
	repl.old_prog_fd = (__u32)p.parser.k;
	if (ct_kern())
		k = RUN(bpf_link_update(l.k, p.verdict.k, &repl));
	same_res("update, wrong old prog", u, ct_kern() ? &k : NULL, -EPERM,
		 false);
	SAME("update same prog", 0,
	     usm_compat_bpf_link_update(l.u, p.verdict.u, NULL),
	     bpf_link_update(l.k, p.verdict.k, NULL));
	SAME("detach link", 0, usm_compat_bpf_link_detach(l.u),
	     bpf_link_detach(l.k));
	SAME("update detached", -ENOLINK,
	     usm_compat_bpf_link_update(l.u, p.verdict.u, NULL),
	     bpf_link_update(l.k, p.verdict.k, NULL));
	SAME("attach after detach", 0,
	     usm_compat_bpf_prog_attach(p.verdict.u, p.map.u,
					BPF_SK_SKB_STREAM_VERDICT, 0),
	     bpf_prog_attach(p.verdict.k, p.map.k, BPF_SK_SKB_STREAM_VERDICT,
			     0));
	dfd_close(&l);
	progs_free(&p);
	ct_kern_done();
}

/* Map in map through bpf_map_create(inner_map_fd) and an inner map fd as
 * the update value: MAP-CRT-11 (a SOCKMAP template), the id on lookup, and
 * the kernel's order for a bad inner fd (EBADF after the size checks). */
static void test_map_in_map_fds(void **state)
{
	LIBBPF_OPTS(bpf_map_create_opts, o);
	LIBBPF_OPTS(bpf_map_create_opts, bad, .inner_map_fd = 0x7ffffff0);
	struct dfd in, in2, outer;
	__u32 k = 0, uid = 0, kid = 0, ufd, kfd;
	struct bpf_map_info info;
	__u32 len = sizeof(info);

	(void)state;
	in = both_create(SOCKMAP, "in", 4, 8, 2, NULL);
	in2 = both_create(SOCKMAP, "in2", 4, 8, 2, NULL);
	SAME("bad inner fd", -EBADF,
	     usm_compat_bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, NULL, 4, 4,
				       1, &bad),
	     bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, NULL, 4, 4, 1, &bad));
	SAME("bad size before bad fd", -EINVAL,
	     usm_compat_bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, NULL, 4, 8,
				       1, &bad),
	     bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, NULL, 4, 8, 1, &bad));
	o.inner_map_fd = (__u32)in.u;
	outer.u = usm_compat_bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "o", 4,
					    4, 2, &o);
	assert_true(outer.u >= 0);
	outer.k = -1;
	if (ct_kern()) {
		o.inner_map_fd = (__u32)in.k;
		outer.k = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "o", 4, 4,
					 2, &o);
		assert_true(outer.k >= 0);
	}
	ufd = (__u32)in2.u;
	kfd = (__u32)in2.k;
	SAME("store inner", 0,
	     usm_compat_bpf_map_update_elem(outer.u, &k, &ufd, BPF_ANY),
	     bpf_map_update_elem(outer.k, &k, &kfd, BPF_ANY));
	SAME("store a non-map fd", -EINVAL,
	     usm_compat_bpf_map_update_elem(outer.u, &k, &(__u32){ 1 },
					    BPF_ANY),
	     bpf_map_update_elem(outer.k, &k, &(__u32){ 1 }, BPF_ANY));
	SAME("lookup", 0, usm_compat_bpf_map_lookup_elem(outer.u, &k, &uid),
	     bpf_map_lookup_elem(outer.k, &k, &kid));
	memset(&info, 0, sizeof(info));
	assert_int_equal(usm_compat_bpf_obj_get_info_by_fd(in2.u, &info, &len),
			 0);
	assert_int_equal(uid, info.id);
	dfd_close(&outer);
	dfd_close(&in2);
	dfd_close(&in);
	ct_kern_done();
}

/* libbpf_get_error: 0 for an object, -errno for NULL, the error of an
 * error pointer (also stored in errno), exactly as libbpf's own. */
static void test_get_error(void **state)
{
	int x = 0;

	(void)state;
	assert_int_equal(usm_compat_libbpf_get_error(&x),
			 libbpf_get_error(&x));
	errno = ENOENT;
	assert_int_equal(usm_compat_libbpf_get_error(NULL), -ENOENT);
	errno = ENOENT;
	assert_int_equal(libbpf_get_error(NULL), -ENOENT);
	errno = 0;
	assert_int_equal(usm_compat_libbpf_get_error((void *)(intptr_t)-EBADF),
			 -EBADF);
	assert_int_equal(errno, EBADF);
	errno = 0;
	assert_int_equal(libbpf_get_error((void *)(intptr_t)-EBADF), -EBADF);
	assert_int_equal(errno, EBADF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errno_convention),
		cmocka_unit_test(test_create_opts_and_names),
		cmocka_unit_test(test_elem_calls),
		cmocka_unit_test(test_info_and_fd_by_id),
		cmocka_unit_test(test_attach_detach),
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_link_create),
		cmocka_unit_test(test_link_update_detach),
		cmocka_unit_test(test_map_in_map_fds),
		cmocka_unit_test(test_get_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
