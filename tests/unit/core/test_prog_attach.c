/* SPDX-License-Identifier: MIT */
/*
 * Programs on socket maps through bpf(2): PROG_ATTACH / PROG_DETACH /
 * PROG_QUERY and sockmap links (SEMANTICS PRG-01..17). Every scenario runs
 * on usm_bpf() and on the kernel's bpf(2) and the two must agree step by
 * step; parameterised over SOCKMAP and SOCKHASH, and over socket kinds
 * where sockets are involved.
 */
#include "core_test.h"

struct param {
	uint32_t map_type;
	enum skind kind;
};

#define SM BPF_MAP_TYPE_SOCKMAP
#define SH BPF_MAP_TYPE_SOCKHASH

static const struct param P_SM = { SM, S_TCP }, P_SH = { SH, S_TCP };
static const struct param P_SM_UDP = { SM, S_UDP }, P_SH_UDP = { SH, S_UDP };
static const struct param P_SM_UNIX = { SM, S_UNIX_STREAM };
static const struct param P_SH_DGRAM = { SH, S_UNIX_DGRAM };

static const struct param *PARAM(const void *arg)
{
	return arg;
}

static bool has_id(const struct backend *b, int mfd, uint32_t type, int pfd)
{
	uint32_t cnt = 0, id = 0;

	if (b_query(b, mfd, type, &cnt, &id))
		return false;
	return cnt == 1 && id == b_id(b, pfd);
}

static uint32_t query_cnt(const struct backend *b, int mfd, uint32_t type)
{
	uint32_t cnt = 99, id = 0;

	b_query(b, mfd, type, &cnt, &id);
	return cnt;
}

/* PRG-01: the four attach types, each with its program type. */
static void sc_prg_01(const struct backend *b, const void *arg)
{
	int m = EXPECT_FD("map", b_smap(b, PARAM(arg)->map_type));
	int msg = EXPECT_FD("msg", b_prog(b, P_MSG));
	int par = EXPECT_FD("parser", b_prog(b, P_PARSER));
	int ver = EXPECT_FD("verdict", b_prog(b, P_VERDICT));
	int skv = EXPECT_FD("skb verdict", b_prog(b, P_SKB_VERDICT));

	EXPECT("attach msg", b_attach(b, msg, m, BPF_SK_MSG_VERDICT), 0);
	EXPECT("attach parser", b_attach(b, par, m, BPF_SK_SKB_STREAM_PARSER), 0);
	EXPECT("attach verdict",
	       b_attach(b, ver, m, BPF_SK_SKB_STREAM_VERDICT), 0);
	EXPECT_TRUE("query msg", has_id(b, m, BPF_SK_MSG_VERDICT, msg));
	EXPECT_TRUE("query parser", has_id(b, m, BPF_SK_SKB_STREAM_PARSER, par));
	EXPECT_TRUE("query verdict",
		    has_id(b, m, BPF_SK_SKB_STREAM_VERDICT, ver));
	EXPECT("detach verdict",
	       b_detach(b, ver, m, BPF_SK_SKB_STREAM_VERDICT), 0);
	EXPECT("attach skb verdict", b_attach(b, skv, m, BPF_SK_SKB_VERDICT), 0);
	EXPECT_TRUE("query skb verdict", has_id(b, m, BPF_SK_SKB_VERDICT, skv));
	b_close(b, msg);
	b_close(b, par);
	b_close(b, ver);
	b_close(b, skv);
	b_close(b, m);
}

/* PRG-02 (and PRG-08's bad-fd/type cases): program fd and type checks. */
static void sc_prg_02(const struct backend *b, const void *arg)
{
	int m = EXPECT_FD("map", b_smap(b, PARAM(arg)->map_type));
	int msg = EXPECT_FD("msg", b_prog(b, P_MSG));
	int ver = EXPECT_FD("verdict", b_prog(b, P_VERDICT));
	int ops = EXPECT_FD("sockops", b_prog(b, P_SOCKOPS));
	int p[2];

	if (pipe(p))
		fail_msg("pipe");
	EXPECT("prog fd -1", b_attach(b, -1, m, BPF_SK_SKB_STREAM_VERDICT),
	       -EBADF);
	EXPECT("prog fd is a pipe",
	       b_attach(b, p[0], m, BPF_SK_SKB_STREAM_VERDICT), -EINVAL);
	EXPECT("prog fd is a map", b_attach(b, m, m, BPF_SK_SKB_STREAM_VERDICT),
	       -EINVAL);
	EXPECT("sk_msg as stream verdict",
	       b_attach(b, msg, m, BPF_SK_SKB_STREAM_VERDICT), -EINVAL);
	EXPECT("sk_skb as msg verdict", b_attach(b, ver, m, BPF_SK_MSG_VERDICT),
	       -EINVAL);
	EXPECT("sock_ops as parser",
	       b_attach(b, ops, m, BPF_SK_SKB_STREAM_PARSER), -EINVAL);
	EXPECT("unknown attach type", b_attach(b, ver, m, 1000), -EINVAL);
	EXPECT("reuseport attach type",
	       b_attach(b, ver, m, BPF_SK_REUSEPORT_SELECT), -EINVAL);
	EXPECT("detach bad prog fd",
	       b_detach(b, -1, m, BPF_SK_SKB_STREAM_VERDICT), -EBADF);
	EXPECT("detach wrong prog type",
	       b_detach(b, msg, m, BPF_SK_SKB_STREAM_VERDICT), -EINVAL);
	EXPECT("detach unknown attach type", b_detach(b, ver, m, 1000), -EINVAL);
	close(p[0]);
	close(p[1]);
	b_close(b, msg);
	b_close(b, ver);
	b_close(b, ops);
	b_close(b, m);
}

/* PRG-03 / PRG-11: a target that is not a socket map. */
static void sc_prg_03(const struct backend *b, const void *arg)
{
	int arr = EXPECT_FD("array", b_map(b, BPF_MAP_TYPE_ARRAY, 4, 8, 4));
	int ver = EXPECT_FD("verdict", b_prog(b, P_VERDICT));
	uint32_t cnt;

	EXPECT("attach to array",
	       b_attach(b, ver, arr, BPF_SK_SKB_STREAM_VERDICT), -EOPNOTSUPP);
	EXPECT("detach from array",
	       b_detach(b, ver, arr, BPF_SK_SKB_STREAM_VERDICT), -EOPNOTSUPP);
	EXPECT("query array",
	       b_query(b, arr, BPF_SK_SKB_STREAM_VERDICT, &cnt, NULL),
	       -EOPNOTSUPP);
	EXPECT("target fd -1", b_attach(b, ver, -1, BPF_SK_SKB_STREAM_VERDICT),
	       -EBADF);
	EXPECT("target is a prog",
	       b_attach(b, ver, ver, BPF_SK_SKB_STREAM_VERDICT), -EINVAL);
	b_close(b, ver);
	b_close(b, arr);
}

/* PRG-04: attach flags and replace_bpf_fd are refused. */
static void sc_prg_04(const struct backend *b, const void *arg)
{
	int m = EXPECT_FD("map", b_smap(b, PARAM(arg)->map_type));
	int ver = EXPECT_FD("verdict", b_prog(b, P_VERDICT));
	const uint32_t T = BPF_SK_SKB_STREAM_VERDICT;

	EXPECT("ALLOW_MULTI", b_attach_full(b, ver, m, T, BPF_F_ALLOW_MULTI, 0),
	       -EINVAL);
	EXPECT("REPLACE", b_attach_full(b, ver, m, T, BPF_F_REPLACE, 0),
	       -EINVAL);
	EXPECT("unknown flag", b_attach_full(b, ver, m, T, 1u << 10, 0),
	       -EINVAL);
	EXPECT("replace_bpf_fd", b_attach_full(b, ver, m, T, 0, (uint32_t)ver),
	       -EINVAL);
	EXPECT("attach", b_attach(b, ver, m, T), 0);
	EXPECT("detach flags", b_detach_full(b, ver, m, T, BPF_F_REPLACE, 0),
	       -EINVAL);
	EXPECT("detach replace fd", b_detach_full(b, ver, m, T, 0, 1), -EINVAL);
	EXPECT("still attached", (int)query_cnt(b, m, T), 1);
	b_close(b, ver);
	b_close(b, m);
}

/* PRG-05 and PRG-08: replace silently; detach needs the attached one. */
static void sc_prg_05_08(const struct backend *b, const void *arg)
{
	int m = EXPECT_FD("map", b_smap(b, PARAM(arg)->map_type));
	int v1 = EXPECT_FD("v1", b_prog(b, P_VERDICT));
	int v2 = EXPECT_FD("v2", b_prog(b, P_VERDICT2));
	const uint32_t T = BPF_SK_SKB_STREAM_VERDICT;

	EXPECT("detach with nothing attached", b_detach(b, v1, m, T), -ENOENT);
	EXPECT("attach v1", b_attach(b, v1, m, T), 0);
	EXPECT("attach v2 replaces", b_attach(b, v2, m, T), 0);
	EXPECT_TRUE("v2 attached", has_id(b, m, T, v2));
	EXPECT("detach v1 (not attached)", b_detach(b, v1, m, T), -ENOENT);
	EXPECT("detach v2", b_detach(b, v2, m, T), 0);
	EXPECT("detach v2 again", b_detach(b, v2, m, T), -ENOENT);
	EXPECT("nothing attached", (int)query_cnt(b, m, T), 0);
	b_close(b, v1);
	b_close(b, v2);
	b_close(b, m);
}

/* PRG-06 and PRG-11: stream verdict and skb verdict exclude each other. */
static void sc_prg_06(const struct backend *b, const void *arg)
{
	int m = EXPECT_FD("map", b_smap(b, PARAM(arg)->map_type));
	int sv = EXPECT_FD("stream verdict", b_prog(b, P_VERDICT));
	int kv = EXPECT_FD("skb verdict", b_prog(b, P_SKB_VERDICT));
	uint32_t cnt = 7;

	EXPECT("attach sv", b_attach(b, sv, m, BPF_SK_SKB_STREAM_VERDICT), 0);
	EXPECT("attach kv while sv", b_attach(b, kv, m, BPF_SK_SKB_VERDICT),
	       -EBUSY);
	EXPECT("query kv while sv",
	       b_query(b, m, BPF_SK_SKB_VERDICT, &cnt, NULL), -EBUSY);
	EXPECT("prog_cnt written 0", (int)cnt, 0);
	EXPECT("detach kv while sv", b_detach(b, kv, m, BPF_SK_SKB_VERDICT),
	       -EBUSY);
	EXPECT("detach sv", b_detach(b, sv, m, BPF_SK_SKB_STREAM_VERDICT), 0);
	EXPECT("attach kv", b_attach(b, kv, m, BPF_SK_SKB_VERDICT), 0);
	EXPECT("attach sv while kv",
	       b_attach(b, sv, m, BPF_SK_SKB_STREAM_VERDICT), -EBUSY);
	EXPECT("query sv while kv",
	       b_query(b, m, BPF_SK_SKB_STREAM_VERDICT, &cnt, NULL), -EBUSY);
	EXPECT("detach kv", b_detach(b, kv, m, BPF_SK_SKB_VERDICT), 0);
	EXPECT("attach sv again", b_attach(b, sv, m, BPF_SK_SKB_STREAM_VERDICT),
	       0);
	b_close(b, sv);
	b_close(b, kv);
	b_close(b, m);
}

/* PRG-07: an sk_skb program may go into any sk_skb slot. */
static void sc_prg_07(const struct backend *b, const void *arg)
{
	int m = EXPECT_FD("map", b_smap(b, PARAM(arg)->map_type));
	int ver = EXPECT_FD("verdict", b_prog(b, P_VERDICT));
	int par = EXPECT_FD("parser", b_prog(b, P_PARSER));
	int kv = EXPECT_FD("skb verdict", b_prog(b, P_SKB_VERDICT));

	EXPECT("verdict as parser", b_attach(b, ver, m, BPF_SK_SKB_STREAM_PARSER),
	       0);
	EXPECT("parser as stream verdict",
	       b_attach(b, par, m, BPF_SK_SKB_STREAM_VERDICT), 0);
	EXPECT("detach", b_detach(b, par, m, BPF_SK_SKB_STREAM_VERDICT), 0);
	EXPECT("skb verdict as stream verdict",
	       b_attach(b, kv, m, BPF_SK_SKB_STREAM_VERDICT), 0);
	b_close(b, ver);
	b_close(b, par);
	b_close(b, kv);
	b_close(b, m);
}

/* PRG-09: programs are copied at insert; later changes do not reach
 * sockets already in the map (seen through the conflict rule PSK-03). */
static void sc_prg_09(const struct backend *b, const void *arg)
{
	const struct param *p = PARAM(arg);
	int a = EXPECT_FD("map a", b_smap(b, p->map_type));
	int c = EXPECT_FD("map c", b_smap(b, p->map_type));
	int v = EXPECT_FD("verdict", b_prog(b, P_VERDICT));
	struct tsk s1, s2;

	tsk_make(p->kind, &s1);
	tsk_make(p->kind, &s2);
	EXPECT("attach to a", b_attach(b, v, a, BPF_SK_SKB_STREAM_VERDICT), 0);
	EXPECT("insert s1 into a", b_upd(b, a, 0, s1.fd, BPF_ANY), 0);
	EXPECT("detach from a", b_detach(b, v, a, BPF_SK_SKB_STREAM_VERDICT), 0);
	EXPECT("insert s2 into a", b_upd(b, a, 1, s2.fd, BPF_ANY), 0);
	EXPECT("attach to c", b_attach(b, v, c, BPF_SK_SKB_STREAM_VERDICT), 0);
	EXPECT("s1 kept its verdict", b_upd(b, c, 0, s1.fd, BPF_ANY), -EBUSY);
	EXPECT("s2 has none", b_upd(b, c, 1, s2.fd, BPF_ANY), 0);
	tsk_free(b, &s1);
	tsk_free(b, &s2);
	b_close(b, v);
	b_close(b, a);
	b_close(b, c);
}

/* PRG-10: the query contract. */
static void sc_prg_10(const struct backend *b, const void *arg)
{
	int m = EXPECT_FD("map", b_smap(b, PARAM(arg)->map_type));
	int msg = EXPECT_FD("msg", b_prog(b, P_MSG));
	const uint32_t T = BPF_SK_MSG_VERDICT;
	uint32_t cnt, id, af;

	EXPECT("QUERY_EFFECTIVE",
	       b_query_full(b, m, T, BPF_F_QUERY_EFFECTIVE, 1, true, &cnt, &id,
			    &af), -EINVAL);
	EXPECT("unknown query flag",
	       b_query_full(b, m, T, 2, 1, true, &cnt, &id, &af), -EINVAL);
	EXPECT("empty", b_query_full(b, m, T, 0, 1, true, &cnt, &id, &af), 0);
	EXPECT("empty cnt", (int)cnt, 0);
	EXPECT("attach_flags 0", (int)af, 0);
	EXPECT("attach", b_attach(b, msg, m, T), 0);
	EXPECT("cnt 0 given", b_query_full(b, m, T, 0, 0, true, &cnt, &id, &af),
	       0);
	EXPECT("cnt 1 back", (int)cnt, 1);
	EXPECT("no id written", (int)id, 0);
	EXPECT("no id buffer", b_query_full(b, m, T, 0, 1, false, &cnt, &id,
					    &af), 0);
	EXPECT("cnt 1 back again", (int)cnt, 1);
	EXPECT("with ids", b_query_full(b, m, T, 0, 1, true, &cnt, &id, &af), 0);
	EXPECT_TRUE("the id", cnt == 1 && id == b_id(b, msg) && af == 0);
	EXPECT("unknown attach type query",
	       b_query_full(b, m, 1000, 0, 1, true, &cnt, &id, &af), -EINVAL);
	b_close(b, msg);
	b_close(b, m);
}

/* PRG-12: link creation rules; the link holds a user reference. */
static void sc_prg_12(const struct backend *b, const void *arg)
{
	int m = EXPECT_FD("map", b_smap(b, PARAM(arg)->map_type));
	int arr = EXPECT_FD("array", b_map(b, BPF_MAP_TYPE_ARRAY, 4, 8, 4));
	int v = EXPECT_FD("verdict", b_prog(b, P_VERDICT));
	int par = EXPECT_FD("parser", b_prog(b, P_PARSER));
	int msg = EXPECT_FD("msg", b_prog(b, P_MSG));
	uint32_t mid = b_id(b, m), cnt = 0, id = 0;
	struct link_info_612 li;
	int l, m2;

	EXPECT("link flags", b_link(b, v, m, BPF_SK_SKB_STREAM_VERDICT, 1),
	       -EINVAL);
	EXPECT("link to array", b_link(b, v, arr, BPF_SK_SKB_STREAM_VERDICT, 0),
	       -EINVAL);
	EXPECT("link to fd -1", b_link(b, v, -1, BPF_SK_SKB_STREAM_VERDICT, 0),
	       -EBADF);
	EXPECT("link with bad prog", b_link(b, -1, m, BPF_SK_SKB_STREAM_VERDICT,
					    0), -EBADF);
	EXPECT("link sk_msg as verdict",
	       b_link(b, msg, m, BPF_SK_SKB_STREAM_VERDICT, 0), -EINVAL);
	EXPECT("plain parser", b_attach(b, par, m, BPF_SK_SKB_STREAM_PARSER), 0);
	/* The attach type comes from the request: a parser-section program
	 * linked as stream verdict. */
	l = EXPECT_FD("link", b_link(b, v, m, BPF_SK_SKB_STREAM_VERDICT, 0));
	EXPECT("link info", b_link_info(b, l, &li), 0);
	EXPECT_TRUE("info attach type",
		    li.attach_type == BPF_SK_SKB_STREAM_VERDICT &&
			    li.map_id == mid);
	b_close(b, m);
	/* The link's user reference keeps the map and its programs. */
	EXPECT("map alive", b_link_info(b, l, &li), 0);
	EXPECT_TRUE("map id kept", li.map_id == mid);
	{
		union bpf_attr a;

		memset(&a, 0, sizeof(a));
		a.map_id = mid;
		m2 = EXPECT_FD("map by id", b->bpf(BPF_MAP_GET_FD_BY_ID, &a,
						   sizeof(a)));
	}
	EXPECT("query parser", b_query(b, m2, BPF_SK_SKB_STREAM_PARSER, &cnt,
				       &id), 0);
	EXPECT_TRUE("parser still attached", cnt == 1 && id == b_id(b, par));
	b_close(b, l);
	b_close(b, m2);
	b_close(b, arr);
	b_close(b, v);
	b_close(b, par);
	b_close(b, msg);
}

/* PRG-13: a link owns its slot. */
static void sc_prg_13(const struct backend *b, const void *arg)
{
	int m = EXPECT_FD("map", b_smap(b, PARAM(arg)->map_type));
	int v = EXPECT_FD("v1", b_prog(b, P_VERDICT));
	int v2 = EXPECT_FD("v2", b_prog(b, P_VERDICT2));
	const uint32_t T = BPF_SK_SKB_STREAM_VERDICT;
	int l, l2;

	l = EXPECT_FD("link", b_link(b, v, m, T, 0));
	EXPECT("attach same prog", b_attach(b, v, m, T), -EBUSY);
	EXPECT("attach other prog", b_attach(b, v2, m, T), -EBUSY);
	l2 = b_link(b, v2, m, T, 0);
	EXPECT("second link", l2, -EBUSY);
	EXPECT("detach", b_detach(b, v, m, T), -EBUSY);
	EXPECT_TRUE("still v", has_id(b, m, T, v));
	EXPECT("other slot free", b_attach(b, v2, m, BPF_SK_SKB_STREAM_PARSER),
	       0);
	b_close(b, l);
	b_close(b, v);
	b_close(b, v2);
	b_close(b, m);
}

/* PRG-14: a link replaces a plain program; exclusivity still applies. */
static void sc_prg_14(const struct backend *b, const void *arg)
{
	int m = EXPECT_FD("map", b_smap(b, PARAM(arg)->map_type));
	int m2 = EXPECT_FD("map2", b_smap(b, PARAM(arg)->map_type));
	int v = EXPECT_FD("v1", b_prog(b, P_VERDICT));
	int v2 = EXPECT_FD("v2", b_prog(b, P_VERDICT2));
	int kv = EXPECT_FD("skb verdict", b_prog(b, P_SKB_VERDICT));
	const uint32_t T = BPF_SK_SKB_STREAM_VERDICT;
	int l, l2;

	EXPECT("plain v1", b_attach(b, v, m, T), 0);
	l = EXPECT_FD("link v2 over it", b_link(b, v2, m, T, 0));
	EXPECT_TRUE("v2 serves", has_id(b, m, T, v2));
	EXPECT("plain skb verdict", b_attach(b, kv, m2, BPF_SK_SKB_VERDICT), 0);
	l2 = b_link(b, v, m2, T, 0);
	EXPECT("link stream verdict vs skb verdict", l2, -EBUSY);
	b_close(b, l);
	b_close(b, v);
	b_close(b, v2);
	b_close(b, kv);
	b_close(b, m);
	b_close(b, m2);
}

/* PRG-15: link update. */
static void sc_prg_15(const struct backend *b, const void *arg)
{
	int m = EXPECT_FD("map", b_smap(b, PARAM(arg)->map_type));
	int v = EXPECT_FD("v1", b_prog(b, P_VERDICT));
	int v2 = EXPECT_FD("v2", b_prog(b, P_VERDICT2));
	int par = EXPECT_FD("parser", b_prog(b, P_PARSER));
	int msg = EXPECT_FD("msg", b_prog(b, P_MSG));
	const uint32_t T = BPF_SK_SKB_STREAM_VERDICT;
	int l = EXPECT_FD("link", b_link(b, v, m, T, 0));

	EXPECT("update to sk_msg", b_link_update(b, l, msg, 0, 0), -EINVAL);
	EXPECT("update to parser section",
	       b_link_update(b, l, par, 0, 0), -EINVAL);
	EXPECT("bad flags", b_link_update(b, l, v2, 0, 2), -EINVAL);
	EXPECT("old fd without REPLACE", b_link_update(b, l, v2, v, 0), -EINVAL);
	EXPECT("bad link fd", b_link_update(b, -1, v2, 0, 0), -EBADF);
	EXPECT("map as link", b_link_update(b, m, v2, 0, 0), -EINVAL);
	EXPECT("bad new prog", b_link_update(b, l, -1, 0, 0), -EBADF);
	EXPECT("update to v2", b_link_update(b, l, v2, 0, 0), 0);
	EXPECT_TRUE("v2 serves", has_id(b, m, T, v2));
	EXPECT("REPLACE wrong old",
	       b_link_update(b, l, v, v, BPF_F_REPLACE), -EPERM);
	EXPECT("REPLACE right old",
	       b_link_update(b, l, v, v2, BPF_F_REPLACE), 0);
	EXPECT_TRUE("v serves", has_id(b, m, T, v));
	EXPECT("detach link", b_link_detach(b, l), 0);
	EXPECT("update after detach", b_link_update(b, l, v2, 0, 0), -ENOLINK);
	b_close(b, l);
	b_close(b, v);
	b_close(b, v2);
	b_close(b, par);
	b_close(b, msg);
	b_close(b, m);
}

/* PRG-16 and PRG-17: detaching or closing a link frees the slot; the
 * link's info follows. */
static void sc_prg_16_17(const struct backend *b, const void *arg)
{
	int m = EXPECT_FD("map", b_smap(b, PARAM(arg)->map_type));
	int v = EXPECT_FD("verdict", b_prog(b, P_VERDICT));
	int msg = EXPECT_FD("msg", b_prog(b, P_MSG));
	uint32_t mid = b_id(b, m);
	struct link_info_612 li;
	int l, l2;

	l = EXPECT_FD("link", b_link(b, v, m, BPF_SK_SKB_STREAM_VERDICT, 0));
	EXPECT("info", b_link_info(b, l, &li), 0);
	EXPECT_TRUE("info fields", li.type == USM_BPF_LINK_TYPE_SOCKMAP &&
				   li.prog_id == b_id(b, v) &&
				   li.map_id == mid &&
				   li.attach_type == BPF_SK_SKB_STREAM_VERDICT);
	EXPECT("detach", b_link_detach(b, l), 0);
	EXPECT("slot empty", (int)query_cnt(b, m, BPF_SK_SKB_STREAM_VERDICT), 0);
	EXPECT("info after detach", b_link_info(b, l, &li), 0);
	EXPECT_TRUE("map id 0", li.map_id == 0 && li.prog_id == b_id(b, v));
	EXPECT("detach again", b_link_detach(b, l), 0);
	EXPECT("plain attach works",
	       b_attach(b, v, m, BPF_SK_SKB_STREAM_VERDICT), 0);
	l2 = EXPECT_FD("msg link", b_link(b, msg, m, BPF_SK_MSG_VERDICT, 0));
	b_close(b, l2); /* closing the last fd detaches too */
	EXPECT("msg slot free after close",
	       b_attach(b, msg, m, BPF_SK_MSG_VERDICT), 0);
	EXPECT("detach fd -1", b_link_detach(b, -1), -EBADF);
	EXPECT("detach a map fd", b_link_detach(b, m), -EINVAL);
	b_close(b, l);
	b_close(b, v);
	b_close(b, msg);
	b_close(b, m);
}

/* An attached program outlives its fd; so does a map its program uses. */
static void sc_attach_refs(const struct backend *b, const void *arg)
{
	int m = EXPECT_FD("map", b_smap(b, PARAM(arg)->map_type));
	int v = EXPECT_FD("verdict", b_prog(b, P_VERDICT));
	uint32_t vid = b_id(b, v), cnt = 0, id = 0;

	EXPECT("attach", b_attach(b, v, m, BPF_SK_SKB_STREAM_VERDICT), 0);
	b_close(b, v);
	EXPECT("query", b_query(b, m, BPF_SK_SKB_STREAM_VERDICT, &cnt, &id), 0);
	EXPECT_TRUE("program kept", cnt == 1 && id == vid);
	b_close(b, m);
}

#define T_BOTH(fn)                                                             \
	static void t_##fn(void **state)                                       \
	{                                                                      \
		run_both(fn, *state);                                          \
	}
T_BOTH(sc_prg_01)
T_BOTH(sc_prg_02)
T_BOTH(sc_prg_03)
T_BOTH(sc_prg_04)
T_BOTH(sc_prg_05_08)
T_BOTH(sc_prg_06)
T_BOTH(sc_prg_07)
T_BOTH(sc_prg_09)
T_BOTH(sc_prg_10)
T_BOTH(sc_prg_12)
T_BOTH(sc_prg_13)
T_BOTH(sc_prg_14)
T_BOTH(sc_prg_15)
T_BOTH(sc_prg_16_17)
T_BOTH(sc_attach_refs)

#define MAPS(fn)                                                               \
	cmocka_unit_test_prestate_setup_teardown(fn, NULL, NULL, (void *)&P_SM), \
		cmocka_unit_test_prestate_setup_teardown(fn, NULL, NULL,       \
							 (void *)&P_SH)

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
		MAPS(t_sc_prg_01),
		MAPS(t_sc_prg_02),
		cmocka_unit_test_prestate(t_sc_prg_03, (void *)&P_SM),
		MAPS(t_sc_prg_04),
		MAPS(t_sc_prg_05_08),
		MAPS(t_sc_prg_06),
		MAPS(t_sc_prg_07),
		MAPS(t_sc_prg_09),
		cmocka_unit_test_prestate(t_sc_prg_09, (void *)&P_SM_UDP),
		cmocka_unit_test_prestate(t_sc_prg_09, (void *)&P_SH_UDP),
		cmocka_unit_test_prestate(t_sc_prg_09, (void *)&P_SM_UNIX),
		cmocka_unit_test_prestate(t_sc_prg_09, (void *)&P_SH_DGRAM),
		MAPS(t_sc_prg_10),
		MAPS(t_sc_prg_12),
		MAPS(t_sc_prg_13),
		MAPS(t_sc_prg_14),
		MAPS(t_sc_prg_15),
		MAPS(t_sc_prg_16_17),
		MAPS(t_sc_attach_refs),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
