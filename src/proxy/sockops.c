/* SPDX-License-Identifier: MIT */
/*
 * Socket placement for the proxy and what it prints about sockets: the
 * object's sockops programs run on connection events with the kernel's op
 * numbers (PASSIVE_ESTABLISHED for accepted clients, ACTIVE_ESTABLISHED
 * for backend connections, TCP_LISTEN for listeners; their
 * bpf_sock_map_update / bpf_sock_hash_update calls place the socket,
 * SEMANTICS MAP-BPF-01); flag-based placement (--map NAME:KEY=ROLE); and
 * the --trace lines (text or JSON) for verdicts and bpf_printk output.
 * Loop thread only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <linux/bpf.h>
#include <usockmap/run.h>

#include "../engine/engine.h"
#include "../maps/map.h"
#include "../progtype/progtype.h"
#include "../sock/sock.h"
#include "../vm/vm.h"

#include "proxy_int.h"

/* bpf_printk from a sockops run: the socket is the context's. */
struct ops_print {
	struct usm_proxy *p;
	struct usm_sock *sk;
};

static void ops_printk(void *arg, const char *line)
{
	struct ops_print *op = arg;

	usm__px_printk(op->p, op->sk, line);
}

/*
 * Run every sockops program of the object on @sk with callback @op, as the
 * kernel runs a cgroup's sock_ops programs. The return value is ignored
 * for these callbacks, as in the kernel.
 */
void usm__px_run_sockops(struct usm_proxy *p, struct usm_sock *sk,
			 uint32_t op)
{
	struct ops_print pr = { .p = p, .sk = sk };
	struct usm_sock_ops_ctx ctx;
	struct usm_run run;
	uint32_t i;

	usm__sock_refresh(sk);
	for (i = 0; i < p->n_sockops; i++) {
		memset(&ctx, 0, sizeof(ctx));
		memset(&run, 0, sizeof(run));
		usm__sock_ops_ctx_set_sock(&ctx, sk);
		ctx.md.op = op;
		run.trace = ops_printk;
		run.trace_arg = &pr;
		usm__prog_run(p->sockops[i], &ctx, &run);
		if (run.error && p->out)
			fprintf(p->out, "usockmap: sockops program aborted: "
				"%s\n", strerror(-run.error));
	}
}

/* Flag-based placement of @sk in every --map entry for @role. */
void usm__px_place(struct usm_proxy *p, struct usm_sock *sk,
		   enum usm_proxy_role role)
{
	uint32_t i;
	int rc;

	for (i = 0; i < p->n_place; i++) {
		if (p->place[i].role != role)
			continue;
		rc = usm__sockmap_update_sock(p->place[i].map, p->place[i].key,
					      sk, BPF_ANY);
		if (rc && p->out)
			fprintf(p->out, "usockmap: --map %s: insert failed: "
				"%s\n", p->place[i].map->name, strerror(-rc));
	}
}

/*
 * A key from text: a decimal integer (host order, @size <= 8) or 0x and
 * exactly 2 * @size hex digits (bytes in memory order). 0 or -EINVAL.
 */
int usm__px_parse_key(const char *text, uint32_t size, uint8_t *out)
{
	char *end;
	uint32_t i;

	if (!text || !*text)
		return -EINVAL;
	if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
		if (strlen(text + 2) != 2u * size)
			return -EINVAL;
		for (i = 0; i < size; i++) {
			char b[3] = { text[2 + 2 * i], text[3 + 2 * i], 0 };
			unsigned long v = strtoul(b, &end, 16);

			if (*end)
				return -EINVAL;
			out[i] = (uint8_t)v;
		}
		return 0;
	}
	{
		unsigned long long v;

		if (size > 8 || text[0] == '-')
			return -EINVAL;
		errno = 0;
		v = strtoull(text, &end, 10);
		if (errno || *end || (size < 8 && v >> (8 * size)))
			return -EINVAL;
		memset(out, 0, size);
		memcpy(out, &v, size); /* little-endian host */
	}
	return 0;
}

/* "ADDR:PORT" ("[ADDR6]:PORT") of @ss, "-" for other families. */
void usm__px_fmt_addr(const struct sockaddr_storage *ss, char *buf, size_t n)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)ss;

		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
		snprintf(buf, n, "%s:%u", ip, ntohs(a->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)ss;

		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
		snprintf(buf, n, "[%s]:%u", ip, ntohs(a->sin6_port));
	} else {
		snprintf(buf, n, "-");
	}
}

/* "ADDR:PORT" of @sk's local and remote ends. 0, or -EINVAL for NULL. */
int usm__px_sock_addrs(const struct usm_sock *sk, char *loc, char *rem,
		       size_t n)
{
	if (!sk)
		return -EINVAL;
	usm__px_fmt_addr(&sk->local, loc, n);
	if (sk->connected)
		usm__px_fmt_addr(&sk->peer, rem, n);
	else
		snprintf(rem, n, "-");
	return 0;
}

/* The verdict's name for the trace; "none" for a parser result. */
static const char *action_name(int a)
{
	const char *n = usm_verdict_str(a);

	return n ? n : "none";
}

static const char *attach_name(uint32_t at)
{
	switch (at) {
	case BPF_SK_SKB_STREAM_PARSER:
		return "stream_parser";
	case BPF_SK_SKB_STREAM_VERDICT:
		return "stream_verdict";
	case BPF_SK_SKB_VERDICT:
		return "skb_verdict";
	case BPF_SK_MSG_VERDICT:
		return "msg_verdict";
	default:
		return "sockops";
	}
}

static void hex_of(const void *key, uint32_t size, char *buf, size_t n)
{
	const uint8_t *k = key;
	uint32_t i;

	buf[0] = '\0';
	if (!key || n < 3 || size > (n - 3) / 2)
		return;
	strcpy(buf, "0x");
	for (i = 0; i < size; i++)
		sprintf(buf + 2 + 2 * i, "%02x", k[i]);
}

static void trace_json(struct usm_proxy *p, const struct usm_engine_event *ev,
		       const char *loc, const char *rem, const char *key)
{
	json_t *o = json_pack("{s:s,s:I,s:s,s:s,s:s,s:s,s:i,s:i,s:s}",
			      "event", "verdict",
			      "cookie", (json_int_t)(ev->sk ? ev->sk->cookie : 0),
			      "local", loc, "remote", rem,
			      "prog", ev->prog ? ev->prog : "",
			      "attach", attach_name(ev->attach_type),
			      "len", (int)ev->len, "retval", ev->retval,
			      "action", action_name(ev->action));
	char *s;

	if (!o)
		return;
	if (ev->map) {
		json_object_set_new(o, "map", json_string(ev->map->name));
		json_object_set_new(o, "key", json_string(key));
		json_object_set_new(o, "flags", json_integer((json_int_t)ev->flags));
	}
	if (ev->target)
		json_object_set_new(o, "target",
				    json_integer((json_int_t)ev->target->cookie));
	s = json_dumps(o, JSON_COMPACT);
	if (s)
		fprintf(p->out, "%s\n", s);
	free(s);
	json_decref(o);
}

/* Engine trace callback: one line (or JSON object) per verdict. */
void usm__px_trace_ev(void *arg, const struct usm_engine_event *ev)
{
	struct usm_proxy *p = arg;
	char loc[64] = "-", rem[64] = "-", key[2 * 64 + 3] = "";

	if (!p->trace || !p->out)
		return;
	usm__px_sock_addrs(ev->sk, loc, rem, sizeof(loc));
	if (ev->map)
		hex_of(ev->key, ev->map->key_size, key, sizeof(key));
	if (p->json) {
		trace_json(p, ev, loc, rem, key);
	} else {
		fprintf(p->out, "verdict cookie=%" PRIu64 " %s->%s prog=%s "
			"attach=%s len=%u ret=%d action=%s",
			ev->sk ? ev->sk->cookie : 0, rem, loc,
			ev->prog ? ev->prog : "-", attach_name(ev->attach_type),
			ev->len, ev->retval, action_name(ev->action));
		if (ev->map)
			fprintf(p->out, " map=%s key=%s flags=0x%" PRIx64,
				ev->map->name, key, ev->flags);
		if (ev->target)
			fprintf(p->out, " target=%" PRIu64, ev->target->cookie);
		fputc('\n', p->out);
	}
	fflush(p->out);
}

/* bpf_printk output, on the trace stream (with --trace). */
void usm__px_printk(void *arg, struct usm_sock *sk, const char *line)
{
	struct usm_proxy *p = arg;

	if (!p->trace || !p->out)
		return;
	if (p->json) {
		json_t *o = json_pack("{s:s,s:I,s:s}", "event", "printk",
				      "cookie",
				      (json_int_t)(sk ? sk->cookie : 0),
				      "line", line);
		char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

		if (s)
			fprintf(p->out, "%s\n", s);
		free(s);
		json_decref(o);
	} else {
		fprintf(p->out, "printk cookie=%" PRIu64 " %s\n",
			sk ? sk->cookie : 0, line);
	}
	fflush(p->out);
}
