/* SPDX-License-Identifier: MIT */
/*
 * psock rules and socket lifecycle through bpf(2) (SEMANTICS PSK-01..08,
 * LIFE-01/02/07, MAP-CRT-12/13, MAP-UPD-18): every scenario runs on
 * usm_bpf() and on the kernel, parameterised over SOCKMAP/SOCKHASH and
 * the socket kinds each rule applies to. What user space cannot see (the
 * psock itself, its receive mode) is checked on usockmap's internals in
 * the usockmap-only tests at the end.
 */
#include "core_test.h"

struct param {
	uint32_t map_type;
	enum skind kind;
};

#define SM BPF_MAP_TYPE_SOCKMAP
#define SH BPF_MAP_TYPE_SOCKHASH

static const struct param P[2][S_NKINDS] = {
	{ { SM, S_TCP }, { SM, S_UDP }, { SM, S_UNIX_STREAM },
	  { SM, S_UNIX_DGRAM } },
	{ { SH, S_TCP }, { SH, S_UDP }, { SH, S_UNIX_STREAM },
	  { SH, S_UNIX_DGRAM } },
};

static const struct param *PARAM(const void *arg)
{
	return arg;
}

/* A socket map with the given programs attached (-1: none). */
static int map_with(const struct backend *b, uint32_t type, int parser,
		    int sverdict, int kverdict, int msg)
{
	int m = EXPECT_FD("map", b_smap(b, type));

	if (parser >= 0)
		EXPECT("attach parser",
		       b_attach(b, parser, m, BPF_SK_SKB_STREAM_PARSER), 0);
	if (sverdict >= 0)
		EXPECT("attach stream verdict",
		       b_attach(b, sverdict, m, BPF_SK_SKB_STREAM_VERDICT), 0);
	if (kverdict >= 0)
		EXPECT("attach skb verdict",
		       b_attach(b, kverdict, m, BPF_SK_SKB_VERDICT), 0);
	if (msg >= 0)
		EXPECT("attach msg", b_attach(b, msg, m, BPF_SK_MSG_VERDICT), 0);
	return m;
}

struct progs {
	int par, par2, sv, sv2, kv, msg, msg2;
};

static void progs_load(const struct backend *b, struct progs *p)
{
	p->par = EXPECT_FD("parser", b_prog(b, P_PARSER));
	p->par2 = EXPECT_FD("parser2", b_prog(b, P_PARSER2));
	p->sv = EXPECT_FD("verdict", b_prog(b, P_VERDICT));
	p->sv2 = EXPECT_FD("verdict2", b_prog(b, P_VERDICT2));
	p->kv = EXPECT_FD("skb verdict", b_prog(b, P_SKB_VERDICT));
	p->msg = EXPECT_FD("msg", b_prog(b, P_MSG));
	p->msg2 = EXPECT_FD("msg2", b_prog(b, P_MSG2));
}

static void progs_close(const struct backend *b, struct progs *p)
{
	b_close(b, p->par);
	b_close(b, p->par2);
	b_close(b, p->sv);
	b_close(b, p->sv2);
	b_close(b, p->kv);
	b_close(b, p->msg);
	b_close(b, p->msg2);
}

/* PSK-03: a second program of a kind the psock has -> EBUSY, for every
 * flag and for a second slot of the same map. */
static void sc_psk_03(const struct backend *b, const void *arg)
{
	const struct param *p = PARAM(arg);
	struct progs g;
	struct tsk s, t;
	int a, c, k, x, msgm, msgm2;

	progs_load(b, &g);
	tsk_make(p->kind, &s);
	tsk_make(p->kind, &t);
	a = map_with(b, p->map_type, -1, g.sv, -1, -1);
	c = map_with(b, p->map_type, -1, g.sv2, -1, -1);
	k = map_with(b, p->map_type, -1, -1, g.kv, -1);
	EXPECT("insert into a", b_upd(b, a, 0, s.fd, BPF_ANY), 0);
	EXPECT("second slot of a", b_upd(b, a, 1, s.fd, BPF_ANY), -EBUSY);
	EXPECT("c ANY", b_upd(b, c, 0, s.fd, BPF_ANY), -EBUSY);
	EXPECT("c NOEXIST", b_upd(b, c, 0, s.fd, BPF_NOEXIST), -EBUSY);
	EXPECT("t into c", b_upd(b, c, 1, t.fd, BPF_ANY), 0);
	/* Checked before occupancy: EBUSY, not EEXIST/ENOENT. */
	EXPECT("c NOEXIST occupied", b_upd(b, c, 1, s.fd, BPF_NOEXIST), -EBUSY);
	EXPECT("c EXIST empty", b_upd(b, c, 2, s.fd, BPF_EXIST), -EBUSY);
	EXPECT("stream vs skb verdict", b_upd(b, k, 0, s.fd, BPF_ANY), -EBUSY);
	/* The msg kind (any socket kind may carry one). */
	msgm = map_with(b, p->map_type, -1, -1, -1, g.msg);
	msgm2 = map_with(b, p->map_type, -1, -1, -1, g.msg2);
	EXPECT("msg map", b_upd(b, msgm, 0, s.fd, BPF_ANY), 0);
	EXPECT("second msg", b_upd(b, msgm2, 0, s.fd, BPF_ANY), -EBUSY);
	/* Parser kind: a parser-only map on a socket that has one. */
	x = map_with(b, p->map_type, g.par, -1, -1, -1);
	EXPECT("parser map", b_upd(b, x, 0, t.fd, BPF_ANY), 0);
	EXPECT("second parser", b_upd(b, x, 1, t.fd, BPF_ANY), -EBUSY);
	tsk_free(b, &s);
	tsk_free(b, &t);
	b_close(b, a);
	b_close(b, c);
	b_close(b, k);
	b_close(b, x);
	b_close(b, msgm);
	b_close(b, msgm2);
	progs_close(b, &g);
}

/* PSK-04: kinds the psock lacks are added (union); no programs is fine. */
static void sc_psk_04(const struct backend *b, const void *arg)
{
	const struct param *p = PARAM(arg);
	bool tcp = p->kind == S_TCP;
	struct progs g;
	struct tsk s;
	int a, m, z;

	progs_load(b, &g);
	tsk_make(p->kind, &s);
	/* parser + stream verdict needs TCP (PSK-05); skb verdict elsewhere */
	a = tcp ? map_with(b, p->map_type, g.par, g.sv, -1, -1)
		: map_with(b, p->map_type, -1, -1, g.kv, -1);
	m = map_with(b, p->map_type, -1, -1, -1, g.msg);
	z = map_with(b, p->map_type, -1, -1, -1, -1);
	EXPECT("no programs", b_upd(b, z, 0, s.fd, BPF_ANY), 0);
	EXPECT("skb programs", b_upd(b, a, 0, s.fd, BPF_ANY), 0);
	EXPECT("msg program", b_upd(b, m, 0, s.fd, BPF_ANY), 0);
	EXPECT("no programs again", b_upd(b, z, 1, s.fd, BPF_ANY), 0);
	tsk_free(b, &s);
	b_close(b, a);
	b_close(b, m);
	b_close(b, z);
	progs_close(b, &g);
}

/* PSK-05 and MAP-UPD-18: parser + stream verdict on a non-TCP socket is
 * EOPNOTSUPP; a psock made for the attempt leaves no trace, a psock that
 * existed keeps the programs the attempt gave it (as the kernel). */
static void sc_psk_05(const struct backend *b, const void *arg)
{
	const struct param *p = PARAM(arg);
	bool tcp = p->kind == S_TCP;
	struct progs g;
	struct tsk s, t, u;
	int strp, sv, par, kvp, z;

	progs_load(b, &g);
	tsk_make(p->kind, &s);
	tsk_make(p->kind, &t);
	tsk_make(p->kind, &u);
	strp = map_with(b, p->map_type, g.par, g.sv, -1, -1);
	sv = map_with(b, p->map_type, -1, g.sv2, -1, -1);
	par = map_with(b, p->map_type, g.par2, -1, -1, -1);
	kvp = map_with(b, p->map_type, g.par, -1, g.kv, -1);
	z = map_with(b, p->map_type, -1, -1, -1, -1);
	EXPECT("parser+verdict", b_upd(b, strp, 0, s.fd, BPF_ANY),
	       tcp ? 0 : -EOPNOTSUPP);
	EXPECT("then a verdict map", b_upd(b, sv, 0, s.fd, BPF_ANY),
	       tcp ? -EBUSY : 0);
	EXPECT("parser only", b_upd(b, par, 0, u.fd, BPF_ANY), 0);
	/* skb verdict: per-buffer mode, the parser is ignored (any kind) */
	EXPECT("skb verdict + parser", b_upd(b, kvp, 0, t.fd, BPF_ANY), 0);
	/* A psock that existed before the failed attempt. */
	EXPECT("u has a psock (parser)", b_upd(b, z, 0, u.fd, BPF_ANY), 0);
	EXPECT("u: verdict map", b_upd(b, sv, 1, u.fd, BPF_ANY), 0);
	tsk_free(b, &s);
	tsk_free(b, &t);
	tsk_free(b, &u);
	b_close(b, strp);
	b_close(b, sv);
	b_close(b, par);
	b_close(b, kvp);
	b_close(b, z);
	progs_close(b, &g);
}

/* PSK-05 quirk: a failed parser+verdict insert of a socket that already
 * had a psock leaves the verdict in it. */
static void sc_psk_05_existing(const struct backend *b, const void *arg)
{
	const struct param *p = PARAM(arg);
	struct progs g;
	struct tsk s;
	int strp, sv, z;

	progs_load(b, &g);
	tsk_make(p->kind, &s);
	strp = map_with(b, p->map_type, g.par, g.sv, -1, -1);
	sv = map_with(b, p->map_type, -1, g.sv2, -1, -1);
	z = map_with(b, p->map_type, -1, -1, -1, -1);
	EXPECT("into z", b_upd(b, z, 0, s.fd, BPF_ANY), 0);
	EXPECT("parser+verdict", b_upd(b, strp, 0, s.fd, BPF_ANY), -EOPNOTSUPP);
	EXPECT("verdict kept", b_upd(b, sv, 0, s.fd, BPF_ANY), -EBUSY);
	tsk_free(b, &s);
	b_close(b, strp);
	b_close(b, sv);
	b_close(b, z);
	progs_close(b, &g);
}

/* MAP-UPD-18: a failed slot write after the psock step leaves no trace for
 * a new psock; an existing psock keeps what the attempt copied. */
static void sc_upd_18(const struct backend *b, const void *arg)
{
	const struct param *p = PARAM(arg);
	struct progs g;
	struct tsk s, t, u;
	int a, c, z;

	progs_load(b, &g);
	tsk_make(p->kind, &s);
	tsk_make(p->kind, &t);
	tsk_make(p->kind, &u);
	a = map_with(b, p->map_type, -1, g.sv, -1, -1);
	c = map_with(b, p->map_type, -1, g.sv2, -1, -1);
	z = map_with(b, p->map_type, -1, -1, -1, -1);
	EXPECT("t into a", b_upd(b, a, 0, t.fd, BPF_ANY), 0);
	EXPECT("s NOEXIST on t's slot", b_upd(b, a, 0, s.fd, BPF_NOEXIST),
	       -EEXIST);
	EXPECT("s EXIST on empty slot", b_upd(b, a, 1, s.fd, BPF_EXIST),
	       -ENOENT);
	EXPECT("s has no verdict", b_upd(b, c, 0, s.fd, BPF_ANY), 0);
	EXPECT("u into z", b_upd(b, z, 0, u.fd, BPF_ANY), 0);
	EXPECT("u NOEXIST on t's slot", b_upd(b, a, 0, u.fd, BPF_NOEXIST),
	       -EEXIST);
	EXPECT("u kept the verdict", b_upd(b, c, 1, u.fd, BPF_ANY), -EBUSY);
	tsk_free(b, &s);
	tsk_free(b, &t);
	tsk_free(b, &u);
	b_close(b, a);
	b_close(b, c);
	b_close(b, z);
	progs_close(b, &g);
}

/* PSK-06: leaving a map whose programs include a verdict stops the
 * receive path and clears the verdict; msg and a parser that never ran
 * stay. Judged on the map's programs at removal time. */
static void sc_psk_06(const struct backend *b, const void *arg)
{
	const struct param *p = PARAM(arg);
	struct progs g;
	struct tsk s, t, u, w;
	int z, a, c, mm, mm2, pm, pm2, late;

	progs_load(b, &g);
	tsk_make(p->kind, &s);
	tsk_make(p->kind, &t);
	tsk_make(p->kind, &u);
	tsk_make(p->kind, &w);
	z = map_with(b, p->map_type, -1, -1, -1, -1);
	a = map_with(b, p->map_type, -1, g.sv, -1, -1);
	c = map_with(b, p->map_type, -1, g.sv2, -1, -1);
	mm = map_with(b, p->map_type, -1, -1, -1, g.msg);
	mm2 = map_with(b, p->map_type, -1, -1, -1, g.msg2);
	pm = map_with(b, p->map_type, g.par, -1, -1, -1);
	pm2 = map_with(b, p->map_type, g.par2, -1, -1, -1);
	late = map_with(b, p->map_type, -1, -1, -1, -1);
	EXPECT("s into z", b_upd(b, z, 0, s.fd, BPF_ANY), 0);
	EXPECT("s into a", b_upd(b, a, 0, s.fd, BPF_ANY), 0);
	EXPECT("s out of a", b_del(b, a, 0), 0);
	EXPECT("s verdict cleared", b_upd(b, c, 0, s.fd, BPF_ANY), 0);
	EXPECT("t into z", b_upd(b, z, 1, t.fd, BPF_ANY), 0);
	EXPECT("t into msg map", b_upd(b, mm, 0, t.fd, BPF_ANY), 0);
	EXPECT("t out of msg map", b_del(b, mm, 0), 0);
	EXPECT("t msg stays", b_upd(b, mm2, 0, t.fd, BPF_ANY), -EBUSY);
	EXPECT("u into z", b_upd(b, z, 2, u.fd, BPF_ANY), 0);
	EXPECT("u into parser map", b_upd(b, pm, 0, u.fd, BPF_ANY), 0);
	EXPECT("u out of parser map", b_del(b, pm, 0), 0);
	EXPECT("u parser stays", b_upd(b, pm2, 0, u.fd, BPF_ANY), -EBUSY);
	/* w got its verdict from a; `late` gets a verdict after w entered
	 * it; leaving `late` still clears w's verdict. */
	EXPECT("w into a", b_upd(b, a, 1, w.fd, BPF_ANY), 0);
	EXPECT("w into late", b_upd(b, late, 0, w.fd, BPF_ANY), 0);
	EXPECT("late gets a verdict",
	       b_attach(b, g.sv2, late, BPF_SK_SKB_STREAM_VERDICT), 0);
	EXPECT("w out of late", b_del(b, late, 0), 0);
	EXPECT("w verdict cleared", b_upd(b, c, 1, w.fd, BPF_ANY), 0);
	tsk_free(b, &s);
	tsk_free(b, &t);
	tsk_free(b, &u);
	tsk_free(b, &w);
	b_close(b, z);
	b_close(b, a);
	b_close(b, c);
	b_close(b, mm);
	b_close(b, mm2);
	b_close(b, pm);
	b_close(b, pm2);
	b_close(b, late);
	progs_close(b, &g);
}

/* PSK-07: the last link gone, the psock and its programs are gone. */
static void sc_psk_07(const struct backend *b, const void *arg)
{
	const struct param *p = PARAM(arg);
	struct progs g;
	struct tsk s;
	int a, c, mm, mm2;

	progs_load(b, &g);
	tsk_make(p->kind, &s);
	a = map_with(b, p->map_type, -1, g.sv, -1, -1);
	c = map_with(b, p->map_type, -1, g.sv2, -1, -1);
	mm = map_with(b, p->map_type, -1, -1, -1, g.msg);
	mm2 = map_with(b, p->map_type, -1, -1, -1, g.msg2);
	EXPECT("into msg map", b_upd(b, mm, 0, s.fd, BPF_ANY), 0);
	EXPECT("out of msg map", b_del(b, mm, 0), 0);
	EXPECT("msg gone with the psock", b_upd(b, mm2, 0, s.fd, BPF_ANY), 0);
	EXPECT("out of msg map 2", b_del(b, mm2, 0), 0);
	EXPECT("into a", b_upd(b, a, 0, s.fd, BPF_ANY), 0);
	EXPECT("replaced in a by itself", b_upd(b, a, 0, s.fd, BPF_ANY),
	       -EBUSY);
	EXPECT("out of a", b_del(b, a, 0), 0);
	EXPECT("into c", b_upd(b, c, 0, s.fd, BPF_ANY), 0);
	tsk_free(b, &s);
	b_close(b, a);
	b_close(b, c);
	b_close(b, mm);
	b_close(b, mm2);
	progs_close(b, &g);
}

static int del_missing(uint32_t type)
{
	return type == SH ? -ENOENT : -EINVAL;
}

/* LIFE-01: closing a socket removes it from every map, with programs. */
static void sc_life_01(const struct backend *b, const void *arg)
{
	const struct param *p = PARAM(arg);
	struct progs g;
	struct tsk s, t;
	int a, z;

	progs_load(b, &g);
	tsk_make(p->kind, &s);
	tsk_make(p->kind, &t);
	a = map_with(b, p->map_type, -1, g.sv, -1, g.msg);
	z = map_with(b, p->map_type, -1, -1, -1, -1);
	EXPECT("into a", b_upd(b, a, 3, s.fd, BPF_ANY), 0);
	EXPECT("into z", b_upd(b, z, 0, s.fd, BPF_ANY), 0);
	EXPECT("into z again", b_upd(b, z, 1, s.fd, BPF_ANY), 0);
	b_close(b, s.fd);
	s.fd = -1;
	EXPECT("lookup a", b_lkp(b, a, 3, NULL), -ENOENT);
	EXPECT("delete z", b_del(b, z, 0), del_missing(p->map_type));
	EXPECT("lookup z", b_lkp(b, z, 1, NULL), -ENOENT);
	EXPECT("NOEXIST into the slot", b_upd(b, a, 3, t.fd, BPF_NOEXIST), 0);
	tsk_free(b, &s);
	tsk_free(b, &t);
	b_close(b, a);
	b_close(b, z);
	progs_close(b, &g);
}

/* LIFE-02: removal happens at the last close; a dup keeps the entry. */
static void sc_life_02(const struct backend *b, const void *arg)
{
	const struct param *p = PARAM(arg);
	struct tsk s;
	uint64_t c = 0;
	int m, d;

	tsk_make(p->kind, &s);
	m = EXPECT_FD("map", b_smap(b, p->map_type));
	d = dup(s.fd);
	EXPECT("insert", b_upd(b, m, 0, s.fd, BPF_ANY), 0);
	b_close(b, s.fd);
	s.fd = -1;
	EXPECT("still there", b_lkp(b, m, 0, &c), 0);
	EXPECT_TRUE("same cookie", c == so_cookie(d));
	b_close(b, d);
	EXPECT("gone after the last close", b_lkp(b, m, 0, NULL), -ENOENT);
	tsk_free(b, &s);
	b_close(b, m);
}

/* LIFE-07 / MAP-UPD-20: a listener in a map; its children have no psock. */
static void sc_life_07(const struct backend *b, const void *arg)
{
	const struct param *p = PARAM(arg);
	struct sockaddr_in sa;
	struct progs g;
	int a, c, ln, cl, child;

	progs_load(b, &g);
	ln = tcp_listen4(&sa);
	a = map_with(b, p->map_type, -1, g.sv, -1, g.msg);
	c = map_with(b, p->map_type, -1, g.sv2, -1, g.msg2);
	EXPECT("listener into a", b_upd(b, a, 0, ln, BPF_ANY), 0);
	cl = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(cl, (struct sockaddr *)&sa, sizeof(sa)))
		fail_msg("connect");
	child = accept(ln, NULL, NULL);
	EXPECT("child NOEXIST into c", b_upd(b, c, 0, child, BPF_NOEXIST), 0);
	EXPECT("listener into c", b_upd(b, c, 1, ln, BPF_ANY), -EBUSY);
	b_close(b, child);
	close(cl);
	b_close(b, ln);
	b_close(b, a);
	b_close(b, c);
	progs_close(b, &g);
}

static int insert_s_into(const struct backend *b, const void *arg)
{
	const int *v = arg; /* map fd, socket fd */

	return b_upd(b, v[0], 0, v[1], BPF_ANY);
}

/* MAP-CRT-12: freeing a map releases its sockets without closing them
 * (the kernel frees maps from a work queue: retried while EBUSY). */
static void sc_crt_12(const struct backend *b, const void *arg)
{
	const struct param *p = PARAM(arg);
	struct progs g;
	struct tsk s;
	int a, c, type = 0, v[2];
	socklen_t len = sizeof(type);

	progs_load(b, &g);
	tsk_make(p->kind, &s);
	a = map_with(b, p->map_type, -1, g.sv, -1, -1);
	c = map_with(b, p->map_type, -1, g.sv2, -1, -1);
	EXPECT("into a", b_upd(b, a, 0, s.fd, BPF_ANY), 0);
	b_close(b, a);
	EXPECT("socket still open",
	       getsockopt(s.fd, SOL_SOCKET, SO_TYPE, &type, &len), 0);
	v[0] = c;
	v[1] = s.fd;
	EXPECT("plain socket again", retry_busy(insert_s_into, b, v), 0);
	tsk_free(b, &s);
	b_close(b, c);
	progs_close(b, &g);
}

/* MAP-CRT-13: the last user reference drops attached programs although a
 * program still holds the map (seen through a new fd from the map id). */
static void sc_crt_13(const struct backend *b, const void *arg)
{
	const struct param *p = PARAM(arg);
	int m = EXPECT_FD("map", b_smap(b, p->map_type));
	int v = EXPECT_FD("verdict", b_prog(b, P_VERDICT));
	uint32_t mid = b_id(b, m), cnt = 9;
	struct bpf_insn insns[] = {
		I_LD_IMM64(1, BPF_PSEUDO_MAP_FD, m, 0),
		I_MOV64_IMM(0, 1),
		I_EXIT(),
	};
	union bpf_attr a;
	int user, m2;

	user = EXPECT_FD("prog using the map",
			 b_load_insns(b, BPF_PROG_TYPE_SK_SKB,
				      BPF_SK_SKB_STREAM_VERDICT, insns, 4));
	EXPECT("attach", b_attach(b, v, m, BPF_SK_SKB_STREAM_PARSER), 0);
	b_close(b, m);
	memset(&a, 0, sizeof(a));
	a.map_id = mid;
	m2 = EXPECT_FD("map by id", b->bpf(BPF_MAP_GET_FD_BY_ID, &a, sizeof(a)));
	EXPECT("query", b_query(b, m2, BPF_SK_SKB_STREAM_PARSER, &cnt, NULL), 0);
	EXPECT("programs dropped", (int)cnt, 0);
	b_close(b, m2);
	b_close(b, user);
	b_close(b, v);
}

/* A verdict that references other maps and itself's map: releasing it
 * (map gone, program dropped by a socket) frees maps from inside map and
 * psock operations; nothing may deadlock or leak. */
static void sc_nested_free(const struct backend *b, const void *arg)
{
	const struct param *p = PARAM(arg);
	int a = EXPECT_FD("map a", b_smap(b, p->map_type));
	int c = EXPECT_FD("map c", b_smap(b, p->map_type));
	int d = EXPECT_FD("map d", b_smap(b, p->map_type));
	struct bpf_insn insns[] = {
		I_LD_IMM64(1, BPF_PSEUDO_MAP_FD, c, 0),
		I_LD_IMM64(2, BPF_PSEUDO_MAP_FD, a, 0),
		I_MOV64_IMM(0, 1),
		I_EXIT(),
	};
	struct tsk s;
	int v, v2;

	tsk_make(p->kind, &s);
	v = EXPECT_FD("verdict using c and a",
		      b_load_insns(b, BPF_PROG_TYPE_SK_SKB,
				   BPF_SK_SKB_STREAM_VERDICT, insns, 6));
	insns[0].imm = d;
	v2 = EXPECT_FD("verdict using d and a",
		       b_load_insns(b, BPF_PROG_TYPE_SK_SKB,
				    BPF_SK_SKB_STREAM_VERDICT, insns, 6));
	EXPECT("attach v to a", b_attach(b, v, a, BPF_SK_SKB_STREAM_VERDICT), 0);
	EXPECT("s into a", b_upd(b, a, 0, s.fd, BPF_ANY), 0);
	EXPECT("attach v2 to a", b_attach(b, v2, a, BPF_SK_SKB_STREAM_VERDICT),
	       0);
	b_close(b, v);
	b_close(b, v2);
	b_close(b, c);
	b_close(b, d);
	/* Only the psock holds v now, only a's slot v2. */
	EXPECT("s out of a", b_del(b, a, 0), 0);
	b_close(b, a);
	tsk_free(b, &s);
}

#define T_BOTH(fn)                                                             \
	static void t_##fn(void **state)                                       \
	{                                                                      \
		run_both(fn, *state);                                          \
	}
T_BOTH(sc_psk_03)
T_BOTH(sc_psk_04)
T_BOTH(sc_psk_05)
T_BOTH(sc_psk_05_existing)
T_BOTH(sc_upd_18)
T_BOTH(sc_psk_06)
T_BOTH(sc_psk_07)
T_BOTH(sc_life_01)
T_BOTH(sc_life_02)
T_BOTH(sc_life_07)
T_BOTH(sc_crt_12)
T_BOTH(sc_crt_13)
T_BOTH(sc_nested_free)

/* ---- usockmap internals: what user space cannot see ---- */

static struct usm_sock *our_sock(int fd)
{
	struct usm_sock *sk;

	assert_int_equal(usm__sock_from_fd(fd, 0, &sk), 0);
	return sk;
}

/* PSK-01/02/05/08: psock created at first insert, programs copied, the
 * receive mode chosen; no programs -> a psock without a receive path. */
static void t_psk_internal(void **state)
{
	const struct backend *b = &B_USM;
	struct progs g;
	struct tsk s, t;
	struct usm_sock *sk, *tk;
	struct usm_prog *prog;
	int z, strp;

	cur_trace = NULL;
	usm_leak_base();
	progs_load(b, &g);
	tsk_make(S_TCP, &s);
	tsk_make(S_TCP, &t);
	sk = our_sock(s.fd);
	tk = our_sock(t.fd);
	z = map_with(b, SM, -1, -1, -1, -1);
	strp = map_with(b, SH, g.par, g.sv, -1, g.msg);
	assert_null(sk->psock);
	assert_int_equal(b_upd(b, z, 0, s.fd, BPF_ANY), 0);
	assert_non_null(sk->psock); /* PSK-01 */
	assert_int_equal(usm__psock_rx(sk), USM_PSOCK_RX_NONE); /* PSK-08 */
	assert_int_equal(b_upd(b, strp, 0, t.fd, BPF_ANY), 0);
	assert_int_equal(usm__psock_rx(tk), USM_PSOCK_RX_STRP); /* PSK-05 */
	prog = usm__psock_prog(tk, USM_PSOCK_MSG_VERDICT); /* PSK-02 */
	assert_non_null(prog);
	assert_int_equal(prog->type, BPF_PROG_TYPE_SK_MSG);
	usm__prog_put(prog);
	assert_int_equal(b_del(b, strp, 0), 0);
	assert_null(tk->psock); /* PSK-07 */
	usm__sock_put(sk);
	usm__sock_put(tk);
	tsk_free(b, &s);
	tsk_free(b, &t);
	b_close(b, z);
	b_close(b, strp);
	progs_close(b, &g);
	usm_leak_check();
}

/* MAP-BPF-01: the sock_ops update path applies the psock rules. */
static void t_bpf_01_sockops_path(void **state)
{
	const struct backend *b = &B_USM;
	struct progs g;
	struct tsk s;
	struct usm_sock *sk;
	struct usm_map *a, *c;
	uint32_t k = 0;
	int am, cm;

	cur_trace = NULL;
	usm_leak_base();
	progs_load(b, &g);
	tsk_make(S_TCP, &s);
	sk = our_sock(s.fd);
	am = map_with(b, SM, -1, g.sv, -1, -1);
	cm = map_with(b, SH, -1, g.sv2, -1, -1);
	assert_int_equal(usm__fd_get_map(am, &a, NULL), 0);
	assert_int_equal(usm__fd_get_map(cm, &c, NULL), 0);
	assert_int_equal(usm__sockmap_update_sock(a, &k, sk, BPF_ANY), 0);
	assert_int_equal(usm__psock_rx(sk), USM_PSOCK_RX_VERDICT);
	assert_int_equal(usm__sockmap_update_sock(c, &k, sk, BPF_ANY), -EBUSY);
	usm__map_put(a);
	usm__map_put(c);
	usm__sock_put(sk);
	tsk_free(b, &s);
	b_close(b, am);
	b_close(b, cm);
	progs_close(b, &g);
	usm_leak_check();
}

/* MAP-UPD-16 / RPA-04: the user-data slot is shared with reuseport. */
static void t_upd_16_user_data(void **state)
{
	struct tsk s;
	struct usm_sock *sk;
	int m, owner;

	usm_leak_base();
	tsk_make(S_TCP, &s);
	sk = our_sock(s.fd);
	m = b_smap(&B_USM, SM);
	assert_true(m >= 0);
	assert_int_equal(usm__sock_claim_user_data(sk, &owner), 0);
	assert_int_equal(usm__sock_claim_user_data(sk, &m), -EBUSY);
	assert_int_equal(b_upd(&B_USM, m, 0, s.fd, BPF_ANY), -EBUSY);
	usm__sock_release_user_data(sk, &owner);
	assert_int_equal(b_upd(&B_USM, m, 0, s.fd, BPF_ANY), 0);
	assert_int_equal(usm__sock_claim_user_data(sk, &owner), -EBUSY);
	usm__sock_put(sk);
	tsk_free(&B_USM, &s);
	usm_close(m);
	usm_leak_check();
}

#define KINDS(fn, mt)                                                          \
	cmocka_unit_test_prestate(fn, (void *)&P[mt][S_TCP]),                  \
		cmocka_unit_test_prestate(fn, (void *)&P[mt][S_UDP]),          \
		cmocka_unit_test_prestate(fn, (void *)&P[mt][S_UNIX_STREAM]),  \
		cmocka_unit_test_prestate(fn, (void *)&P[mt][S_UNIX_DGRAM])
#define ALL(fn) KINDS(fn, 0), KINDS(fn, 1)
#define NON_TCP(fn, mt)                                                        \
	cmocka_unit_test_prestate(fn, (void *)&P[mt][S_UDP]),                  \
		cmocka_unit_test_prestate(fn, (void *)&P[mt][S_UNIX_STREAM]),  \
		cmocka_unit_test_prestate(fn, (void *)&P[mt][S_UNIX_DGRAM])

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
		ALL(t_sc_psk_03),
		ALL(t_sc_psk_04),
		ALL(t_sc_psk_05),
		NON_TCP(t_sc_psk_05_existing, 0),
		NON_TCP(t_sc_psk_05_existing, 1),
		ALL(t_sc_upd_18),
		ALL(t_sc_psk_06),
		ALL(t_sc_psk_07),
		ALL(t_sc_life_01),
		ALL(t_sc_life_02),
		cmocka_unit_test_prestate(t_sc_life_07, (void *)&P[0][S_TCP]),
		cmocka_unit_test_prestate(t_sc_life_07, (void *)&P[1][S_TCP]),
		ALL(t_sc_crt_12),
		cmocka_unit_test_prestate(t_sc_crt_13, (void *)&P[0][S_TCP]),
		cmocka_unit_test_prestate(t_sc_crt_13, (void *)&P[1][S_TCP]),
		ALL(t_sc_nested_free),
		cmocka_unit_test(t_psk_internal),
		cmocka_unit_test(t_bpf_01_sockops_path),
		cmocka_unit_test(t_upd_16_user_data),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
