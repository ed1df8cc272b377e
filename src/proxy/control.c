/* SPDX-License-Identifier: MIT */
/*
 * The proxy's control socket: a unix stream socket (mode 0600) served in
 * the loop. One request per connection: a single text line of words,
 *   stats [json]
 *   map dump NAME [json] | map lookup NAME KEY | map delete NAME KEY
 *   map update NAME KEY VALUE [any|noexist|exist]
 * answered with "ok\n" and the body, or "error: <reason>\n", after which
 * the server closes the connection. Keys and values are decimal integers
 * (host order, up to 8 bytes) or 0x and the bytes in hex; socket maps
 * show socket cookies, and their update VALUE is the cookie of a socket
 * the proxy holds. Requests are read with a 1 s timeout (loop thread).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <usockmap/object.h>

#include "../engine/engine.h"
#include "../maps/map.h"
#include "../sock/sock.h"

#include "proxy_int.h"

#define CTL_MAX_WORDS 8
#define CTL_MAX_LINE 1024

struct ctl_req {
	char *w[CTL_MAX_WORDS];
	int n;
	bool json;
	FILE *out;
};

/* ---- formatting ---- */

static void put_bytes(FILE *f, const uint8_t *b, uint32_t size)
{
	uint32_t i;

	if (size == 0 || size > 8) {
		fputs("0x", f);
		for (i = 0; i < size; i++)
			fprintf(f, "%02x", b[i]);
		return;
	}
	{
		uint64_t v = 0;

		memcpy(&v, b, size);
		fprintf(f, "%" PRIu64, v);
	}
}

static bool is_sock_map(const struct usm_map *m)
{
	return m->map_type == BPF_MAP_TYPE_SOCKMAP ||
	       m->map_type == BPF_MAP_TYPE_SOCKHASH;
}

static uint32_t map_entries(struct usm_map *m)
{
	uint8_t k[2][512];
	uint32_t n = 0, cur = 0;
	int rc;

	if (m->key_size > sizeof(k[0]))
		return 0;
	rc = usm__map_get_next_key(m, NULL, k[cur]);
	while (!rc && n < 10000000u) {
		n++;
		rc = usm__map_get_next_key(m, k[cur], k[cur ^ 1]);
		cur ^= 1;
	}
	return n;
}

/* ---- stats ---- */

struct sock_row {
	struct usm_sock *sk;
	const char *role;
	uint64_t conn;
	bool engine;
	uint64_t in, out, pass, drop, redir, queued;
};

static void row_print(struct ctl_req *r, const struct sock_row *s, bool first)
{
	char loc[64], rem[64];

	usm__px_sock_addrs(s->sk, loc, rem, sizeof(loc));
	if (r->json) {
		fprintf(r->out, "%s{\"cookie\":%" PRIu64 ",\"conn\":%" PRIu64
			",\"role\":\"%s\",\"local\":\"%s\",\"remote\":\"%s\","
			"\"engine\":%s,\"bytes_in\":%" PRIu64 ",\"bytes_out\":%"
			PRIu64 ",\"pass\":%" PRIu64 ",\"drop\":%" PRIu64
			",\"redirect\":%" PRIu64 ",\"queued\":%" PRIu64 "}",
			first ? "" : ",", s->sk->cookie, s->conn, s->role, loc,
			rem, s->engine ? "true" : "false", s->in, s->out,
			s->pass, s->drop, s->redir, s->queued);
		return;
	}
	fprintf(r->out, "  %-8" PRIu64 " %-8s conn=%-4" PRIu64 " %s %s -> %s "
		"in=%" PRIu64 " out=%" PRIu64 " pass=%" PRIu64 " drop=%" PRIu64
		" redirect=%" PRIu64 " queued=%" PRIu64 "\n", s->sk->cookie,
		s->role, s->conn, s->engine ? "engine" : "plain ", loc, rem,
		s->in, s->out, s->pass, s->drop, s->redir, s->queued);
}

static void ep_row(struct usm_proxy *p, struct ctl_req *r, struct px_ep *e,
		   const char *role, bool *first)
{
	struct sock_row s = { .sk = e->sk, .role = role, .conn = e->conn->id };
	struct usm_engine_sock_stats st;

	if (!e->sk)
		return;
	s.engine = e->in_engine;
	s.in = e->bytes_in;
	s.out = e->bytes_out;
	s.queued = e->pend_len;
	if (e->in_engine && !usm__engine_sock_stats(p->eng, e->sk, &st)) {
		s.in += st.bytes_in;
		s.out += st.bytes_out;
		s.pass = st.pass;
		s.drop = st.drop;
		s.redir = st.redirect;
		s.queued += st.queued;
	}
	row_print(r, &s, *first);
	*first = false;
}

static void stats_maps(struct usm_proxy *p, struct ctl_req *r)
{
	struct usm_map *m;
	bool first = true;

	fputs(r->json ? "],\"maps\":[" : "maps:\n", r->out);
	for (m = usm_object_next_map(p->obj, NULL); m;
	     m = usm_object_next_map(p->obj, m)) {
		const char *t = usm__map_type_name(m->map_type);

		if (r->json)
			fprintf(r->out, "%s{\"name\":\"%s\",\"type\":\"%s\","
				"\"entries\":%u,\"max_entries\":%u}",
				first ? "" : ",", m->name, t ? t : "?",
				map_entries(m), m->max_entries);
		else
			fprintf(r->out, "  %-16s %-14s entries=%u max=%u\n",
				m->name, t ? t : "?", map_entries(m),
				m->max_entries);
		first = false;
	}
}

static int cmd_stats(struct usm_proxy *p, struct ctl_req *r)
{
	struct px_conn *c;
	bool first = true;
	uint32_t i;

	if (r->json)
		fprintf(r->out, "{\"accepted\":%" PRIu64 ",\"active\":%u,"
			"\"refused\":%" PRIu64 ",\"sockets\":[", p->accepted,
			p->n_conns, p->refused);
	else
		fprintf(r->out, "connections: accepted=%" PRIu64 " active=%u "
			"refused=%" PRIu64 "\nsockets:\n", p->accepted,
			p->n_conns, p->refused);
	for (i = 0; i < p->n_ls; i++) {
		struct sock_row s = { .sk = p->ls[i].sk, .role = "listener" };

		if (s.sk) {
			row_print(r, &s, first);
			first = false;
		}
	}
	for (c = p->conns; c; c = c->next) {
		if (c->dead)
			continue;
		ep_row(p, r, &c->client, "client", &first);
		if (c->backend.sk)
			ep_row(p, r, &c->backend, "backend", &first);
	}
	stats_maps(p, r);
	fputs(r->json ? "]" : "", r->out);
	usm__px_rp_stats(p, r->out, r->json);
	fputs(r->json ? "}\n" : "", r->out);
	return 0;
}

/* ---- map commands ---- */

static int find_map(struct usm_proxy *p, struct ctl_req *r,
		    struct usm_map **m)
{
	if (r->n < 3)
		return -EINVAL;
	*m = usm_object_find_map(p->obj, r->w[2]);
	if (!*m) {
		fprintf(r->out, "no map named '%s'", r->w[2]);
		return -ENOENT;
	}
	return 0;
}

/* Value of @key in @m into @val (a cookie for socket maps). */
static int map_get(struct usm_map *m, const uint8_t *key, uint8_t *val,
		   uint32_t *vsize)
{
	if (is_sock_map(m)) {
		struct usm_sock *sk = usm__sockmap_lookup(m, key);

		if (!sk)
			return -ENOENT;
		memcpy(val, &sk->cookie, 8);
		*vsize = 8;
		return 0;
	}
	*vsize = (uint32_t)usm__map_user_value_size(m);
	if (*vsize > 4096)
		return -E2BIG;
	return usm__map_lookup_elem(m, key, val, 0);
}

static void kv_print(struct ctl_req *r, struct usm_map *m, const uint8_t *k,
		     const uint8_t *v, uint32_t vsize, bool first)
{
	if (r->json)
		fputs(first ? "{\"key\":\"" : ",{\"key\":\"", r->out);
	put_bytes(r->out, k, m->key_size);
	fputs(r->json ? "\",\"value\":\"" : " ", r->out);
	put_bytes(r->out, v, vsize);
	fputs(r->json ? "\"}" : "\n", r->out);
}

static int cmd_dump(struct usm_proxy *p, struct ctl_req *r, struct usm_map *m)
{
	static uint8_t k[2][512], v[4096];
	uint32_t cur = 0, vsize, n = 0;
	int rc;

	if (m->key_size > sizeof(k[0]))
		return -E2BIG;
	if (r->json)
		fputs("[", r->out);
	rc = usm__map_get_next_key(m, NULL, k[cur]);
	while (!rc) {
		if (!map_get(m, k[cur], v, &vsize))
			kv_print(r, m, k[cur], v, vsize, n++ == 0);
		rc = usm__map_get_next_key(m, k[cur], k[cur ^ 1]);
		cur ^= 1;
	}
	if (r->json)
		fputs("]\n", r->out);
	return rc == -ENOENT ? 0 : rc;
}

static struct usm_sock *sock_by_cookie(struct usm_proxy *p, uint64_t cookie)
{
	struct px_conn *c;
	uint32_t i;

	for (i = 0; i < p->n_ls; i++)
		if (p->ls[i].sk && p->ls[i].sk->cookie == cookie)
			return p->ls[i].sk;
	for (c = p->conns; c; c = c->next) {
		if (c->dead)
			continue;
		if (c->client.sk && c->client.sk->cookie == cookie)
			return c->client.sk;
		if (c->backend.sk && c->backend.sk->cookie == cookie)
			return c->backend.sk;
	}
	return NULL;
}

static int parse_flags(const char *s, uint64_t *flags)
{
	*flags = BPF_ANY;
	if (!s || strcmp(s, "any") == 0)
		return 0;
	if (strcmp(s, "noexist") == 0)
		*flags = BPF_NOEXIST;
	else if (strcmp(s, "exist") == 0)
		*flags = BPF_EXIST;
	else
		return -EINVAL;
	return 0;
}

static int cmd_update(struct usm_proxy *p, struct ctl_req *r,
		      struct usm_map *m, const uint8_t *key)
{
	static uint8_t v[4096];
	uint64_t flags, cookie;
	struct usm_sock *sk;

	if (r->n < 5 || parse_flags(r->n > 5 ? r->w[5] : NULL, &flags))
		return -EINVAL;
	if (is_sock_map(m)) {
		if (usm__px_parse_key(r->w[4], 8, (uint8_t *)&cookie))
			return -EINVAL;
		sk = sock_by_cookie(p, cookie);
		if (!sk) {
			fprintf(r->out, "no socket with cookie %" PRIu64, cookie);
			return -ENOENT;
		}
		return usm__sockmap_update_sock(m, key, sk, flags);
	}
	if (m->value_size > sizeof(v) ||
	    usm__px_parse_key(r->w[4], m->value_size, v))
		return -EINVAL;
	return usm__map_update_elem(m, key, v, flags);
}

static int cmd_map(struct usm_proxy *p, struct ctl_req *r)
{
	static uint8_t key[512], v[4096];
	struct usm_map *m;
	uint32_t vsize;
	int rc;

	rc = find_map(p, r, &m);
	if (rc)
		return rc;
	if (strcmp(r->w[1], "dump") == 0)
		return cmd_dump(p, r, m);
	if (r->n < 4 || m->key_size > sizeof(key) ||
	    usm__px_parse_key(r->w[3], m->key_size, key))
		return -EINVAL;
	if (strcmp(r->w[1], "delete") == 0)
		return usm__map_delete_elem(m, key);
	if (strcmp(r->w[1], "update") == 0)
		return cmd_update(p, r, m, key);
	if (strcmp(r->w[1], "lookup") != 0)
		return -EINVAL;
	rc = map_get(m, key, v, &vsize);
	if (!rc)
		kv_print(r, m, key, v, vsize, true);
	if (!rc && r->json)
		fputc('\n', r->out);
	return rc;
}

/* ---- serving ---- */

static int dispatch(struct usm_proxy *p, struct ctl_req *r)
{
	if (r->n >= 1 && r->w[r->n - 1] && strcmp(r->w[r->n - 1], "json") == 0) {
		r->json = true;
		r->n--;
	}
	if (r->n == 1 && strcmp(r->w[0], "stats") == 0)
		return cmd_stats(p, r);
	if (r->n >= 2 && strcmp(r->w[0], "map") == 0)
		return cmd_map(p, r);
	return -EINVAL;
}

static void split(char *line, struct ctl_req *r)
{
	char *save = NULL, *w;

	r->n = 0;
	for (w = strtok_r(line, " \t\r\n", &save); w && r->n < CTL_MAX_WORDS;
	     w = strtok_r(NULL, " \t\r\n", &save))
		r->w[r->n++] = w;
}

static void reply(int fd, int rc, const char *body, size_t len)
{
	char head[512];
	int n;

	if (rc)
		n = snprintf(head, sizeof(head), "error: %s%s%.*s\n",
			     strerror(-rc), len ? ": " : "",
			     (int)(len < 400 ? len : 400), body);
	else
		n = snprintf(head, sizeof(head), "ok\n");
	if (send(fd, head, (size_t)n, MSG_NOSIGNAL) < 0)
		return;
	while (!rc && len) {
		ssize_t w = send(fd, body, len, MSG_NOSIGNAL);

		if (w <= 0)
			return;
		body += w;
		len -= (size_t)w;
	}
}

static void serve_one(struct usm_proxy *p, int fd)
{
	struct timeval tv = { .tv_sec = 1 };
	char line[CTL_MAX_LINE];
	struct ctl_req r = { 0 };
	char *body = NULL;
	size_t len = 0, got = 0;
	ssize_t n;
	int rc;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (got < sizeof(line) - 1 && !memchr(line, '\n', got)) {
		n = recv(fd, line + got, sizeof(line) - 1 - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	line[got] = '\0';
	split(line, &r);
	r.out = open_memstream(&body, &len);
	if (!r.out)
		return;
	rc = dispatch(p, &r);
	fclose(r.out);
	reply(fd, rc, body, len);
	free(body);
}

static void on_control(void *arg, int lfd, uint32_t events)
{
	struct usm_proxy *p = arg;
	int fd;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		serve_one(p, fd);
		close(fd);
	}
}

static char *default_path(void)
{
	const char *dir = getenv("XDG_RUNTIME_DIR");
	char *s = NULL;

	if (!dir || !*dir)
		dir = "/tmp";
	if (asprintf(&s, "%s/usockmap-%d.sock", dir, (int)getpid()) < 0)
		return NULL;
	return s;
}

/*
 * Open the control socket at @path (NULL: the default path, "": none),
 * mode 0600, replacing a stale socket file. 0 or -errno with @err.
 */
int usm__px_control_open(struct usm_proxy *p, const char *path, char *err,
			 size_t n)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t old;
	int rc;

	if (path && !*path)
		return 0;
	p->ctl_path = path ? strdup(path) : default_path();
	if (!p->ctl_path)
		return -ENOMEM;
	if (strlen(p->ctl_path) >= sizeof(sa.sun_path)) {
		snprintf(err, n, "--control %s: path too long", p->ctl_path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, p->ctl_path);
	p->ctl_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			   0);
	if (p->ctl_fd < 0)
		goto fail;
	unlink(p->ctl_path);
	old = umask(0177); /* mode 0600 from the start, no chmod race */
	rc = bind(p->ctl_fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0 || listen(p->ctl_fd, 16) < 0)
		goto fail;
	rc = usm__engine_add_fd(p->eng, p->ctl_fd, EPOLLIN, on_control, p);
	if (rc) {
		snprintf(err, n, "control socket: %s", strerror(-rc));
		return rc;
	}
	return 0;
fail:
	rc = -errno;
	snprintf(err, n, "control socket %s: %s", p->ctl_path, strerror(errno));
	free(p->ctl_path);
	p->ctl_path = NULL;
	return rc;
}

void usm__px_control_close(struct usm_proxy *p)
{
	if (p->ctl_fd >= 0) {
		if (p->eng)
			usm__engine_del_fd(p->eng, p->ctl_fd);
		close(p->ctl_fd);
		p->ctl_fd = -1;
	}
	if (p->ctl_path) {
		unlink(p->ctl_path);
		free(p->ctl_path);
		p->ctl_path = NULL;
	}
}
