/* SPDX-License-Identifier: MIT */
/*
 * Contexts for test runs: the one place that turns data_in + ctx_in (UAPI
 * bytes) into the struct a program of each type sees (progtype.h), resets
 * it between timed runs, and reads the outcome back.
 *
 * Invariant: c->uapi holds the UAPI context every run starts from
 * (validated ctx_in over socket-derived defaults); a reset restores the
 * context from it and from c->data, so every run of a repeat loop sees the
 * same input. Packet buffers are owned by the context (buf_owned: helpers
 * may reallocate them) and freed by usm__tr_ctx_fini.
 *
 *   sk_skb      a copy of data_in with USM_TR_HEADROOM bytes before and
 *               USM_TR_TAILROOM after it (change_head/adjust_room/
 *               change_tail grow in place up to the kernel's ~16 KiB cap,
 *               SKB-26..28); the first skb_linear_size bytes linear (0 by
 *               default: on the kernel's TCP receive path data == data_end
 *               until the program pulls, measured); skb->sk = the run's
 *               socket or NULL
 *   sk_msg      a struct usm_sk_msg filled as tcp_bpf_sendmsg fills it
 *               (one 32 KiB page frag, MSG-03) or in msg_chunk-byte chunks
 *   sk_reuseport data = data_in (L4 header + payload), RPP-02 fields
 *   sock_ops    the UAPI fields; skb_data covers data_in when given
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "../maps/map.h"
#include "../sock/sock.h"
#include "testrun.h"

#define USM_TR_HEADROOM 16384u
#define USM_TR_TAILROOM 16384u

typedef struct sk_reuseport_md RP;

static int ctx_alloc(struct usm_tr_ctx *c, struct usm_log *log);

/* The u32 at @off of @n bytes (missing bytes read as zero). */
static uint32_t rd32(const uint8_t *p, uint32_t off, uint32_t n)
{
	uint32_t v = 0;

	if (off < n)
		memcpy(&v, p + off, n - off < 4 ? n - off : 4);
	return v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static bool all_zero(const uint8_t *p, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* Every non-zero byte of @in must belong to a settable field; len/size
 * must be 0 or the data size. */
static int ctx_in_check(uint32_t type, const uint8_t *in, uint32_t n,
			uint32_t data_size, struct usm_log *log)
{
	const char *tn = usm__trf_type_name(type);
	const struct usm_trf *f;
	uint32_t off = 0;

	while (off < n) {
		if (!in[off]) {
			off++;
			continue;
		}
		f = usm__trf_at(type, off);
		if (!f) {
			usm__log(log, "ctx_in: byte %u is padding in the %s "
				 "context and must be zero\n", off, tn);
			return -EINVAL;
		}
		if (!f->settable) {
			usm__log(log, "ctx_in: field %s cannot be set for %s "
				 "programs\n", f->name, tn);
			return -EINVAL;
		}
		if (f->fmt == USM_TRF_LEN &&
		    rd32(in, f->off, n) != data_size) {
			usm__log(log, "ctx_in: %s is %u but data_in has %u "
				 "bytes\n", f->name, rd32(in, f->off, n),
				 data_size);
			return -EINVAL;
		}
		off = f->off + f->size;
	}
	return 0;
}

static void put_field(uint8_t *uapi, uint32_t type, const char *name,
		      const void *val, uint32_t size)
{
	const struct usm_trf *f = usm__trf_find(type, name);

	if (f && f->size >= size)
		memcpy(uapi + f->off, val, size);
}

/* The socket fields the kernel reads from the socket a program runs on
 * (SKB-21: the receiving socket's view; MSG-02; sock_ops). */
static void fill_from_sock(uint8_t *uapi, uint32_t type,
			   const struct usm_sock *sk)
{
	uint32_t fam = (uint32_t)sk->domain, v;

	put_field(uapi, type, "family", &fam, 4);
	if (sk->domain == AF_INET) {
		const struct sockaddr_in *l = (const void *)&sk->local;
		const struct sockaddr_in *p = (const void *)&sk->peer;

		put_field(uapi, type, "local_ip4", &l->sin_addr.s_addr, 4);
		put_field(uapi, type, "remote_ip4", &p->sin_addr.s_addr, 4);
		v = ntohs(l->sin_port);
		put_field(uapi, type, "local_port", &v, 4);
		v = htonl(ntohs(p->sin_port)); /* SKB-20 */
		put_field(uapi, type, "remote_port", &v, 4);
	} else if (sk->domain == AF_INET6) {
		const struct sockaddr_in6 *l = (const void *)&sk->local;
		const struct sockaddr_in6 *p = (const void *)&sk->peer;

		put_field(uapi, type, "local_ip6", &l->sin6_addr, 16);
		put_field(uapi, type, "remote_ip6", &p->sin6_addr, 16);
		v = ntohs(l->sin6_port);
		put_field(uapi, type, "local_port", &v, 4);
		v = htonl(ntohs(p->sin6_port));
		put_field(uapi, type, "remote_port", &v, 4);
	}
	if (type == BPF_PROG_TYPE_SOCK_OPS) {
		v = 1;
		put_field(uapi, type, "is_fullsock", &v, 4);
		v = (uint32_t)sk->tcp_state; /* BPF_TCP_* == TCP_* numbers */
		put_field(uapi, type, "state", &v, 4);
	}
}

/* Copy every settable field ctx_in gives (non-zero) over @uapi. */
static void overlay_ctx_in(uint8_t *uapi, uint32_t type, const uint8_t *in,
			   uint32_t n)
{
	uint32_t cnt, size, i, len;
	const struct usm_trf *t = usm__trf_table(type, &cnt, &size);

	for (i = 0; i < cnt; i++) {
		if (!t[i].settable || t[i].off >= n)
			continue;
		len = t[i].size;
		if (t[i].off + len > n)
			len = n - t[i].off;
		if (!all_zero(in + t[i].off, len))
			memcpy(uapi + t[i].off, in + t[i].off, len);
	}
}

/* A non-zero default flow hash when the test gives none (RPP-02): FNV-1a
 * over the L4 ports, the part of the 4-tuple the packet carries. */
static uint32_t default_hash(const uint8_t *p, uint32_t n)
{
	uint32_t h = 2166136261u, i;

	for (i = 0; i < n && i < 4; i++)
		h = (h ^ p[i]) * 16777619u;
	return h ? h : 1;
}

/* skb->protocol as the kernel's receive path sets it (eth_type_trans):
 * from the family when the test does not give it. */
static void skb_defaults(struct __sk_buff *md)
{
	if (md->protocol)
		return;
	if (md->family == AF_INET)
		md->protocol = htons(ETH_P_IP);
	else if (md->family == AF_INET6)
		md->protocol = htons(ETH_P_IPV6);
}

static void defaults(struct usm_tr_ctx *c)
{
	RP *rp = (RP *)c->uapi;
	uint32_t v;

	if (c->type == BPF_PROG_TYPE_SK_SKB)
		skb_defaults((struct __sk_buff *)c->uapi);
	if (c->type != BPF_PROG_TYPE_SK_REUSEPORT)
		return;
	if (!rp->eth_protocol)
		rp->eth_protocol = htons(ETH_P_IP);
	if (!rp->ip_protocol)
		rp->ip_protocol = IPPROTO_TCP;
	if (!rp->hash) {
		v = default_hash(c->data, c->size);
		wr32((uint8_t *)&rp->hash, v);
	}
}

int usm__tr_ctx_init(struct usm_tr_ctx *c, uint32_t prog_type,
		     const struct usm_prog_run_opts *opts, struct usm_sock *sk,
		     struct usm_log *log)
{
	uint32_t cnt, size;
	int err;

	memset(c, 0, sizeof(*c));
	c->type = prog_type;
	c->data = opts->data_in;
	c->size = opts->data_size_in;
	c->msg_chunk = opts->msg_chunk_size;
	c->skb_linear = opts->skb_linear_size < c->size ? opts->skb_linear_size
							: c->size;
	c->sk = sk;
	usm__msg_frag_init(&c->frag);
	if (!usm__trf_table(prog_type, &cnt, &size) || size > sizeof(c->uapi))
		return -EOPNOTSUPP;
	c->uapi_size = size;
	if (opts->ctx_size_in > size) {
		usm__log(log, "ctx_in: %u bytes, the %s context has %u\n",
			 opts->ctx_size_in, usm__trf_type_name(prog_type),
			 size);
		return -EINVAL;
	}
	err = ctx_in_check(prog_type, opts->ctx_in, opts->ctx_size_in,
			   c->size, log);
	if (err)
		return err;
	if (sk)
		fill_from_sock(c->uapi, prog_type, sk);
	overlay_ctx_in(c->uapi, prog_type, opts->ctx_in, opts->ctx_size_in);
	defaults(c);
	return ctx_alloc(c, log);
}

/* sk_msg: fill c->msg from the input, as a send call would. Returns 0,
 * -E2BIG (more than one message holds), -ENOMEM. */
static int msg_fill(struct usm_tr_ctx *c)
{
	uint32_t done = 0, piece;
	int n;

	usm__msg_fini(c->msg);
	/* A fresh frag per run keeps the chunk layout the same every run. */
	usm__msg_frag_fini(&c->frag);
	usm__msg_frag_init(&c->frag);
	while (done < c->size) {
		piece = c->size - done;
		if (c->msg_chunk && piece > c->msg_chunk)
			piece = c->msg_chunk;
		n = usm__msg_append_buf(c->msg, &c->frag, c->data + done,
					piece);
		if (n < 0)
			return n == -ENOSPC ? -E2BIG : n;
		done += (uint32_t)n;
		if ((uint32_t)n < piece)
			return -E2BIG;
		if (c->msg_chunk) {
			/* Next piece in a buffer of its own: its own chunk. */
			usm__msg_frag_fini(&c->frag);
			usm__msg_frag_init(&c->frag);
		}
	}
	return 0;
}

static int ctx_alloc(struct usm_tr_ctx *c, struct usm_log *log)
{
	int err;

	switch (c->type) {
	case BPF_PROG_TYPE_SK_SKB:
		c->u.skb.cap = USM_TR_HEADROOM + c->size + USM_TR_TAILROOM;
		c->u.skb.buf = malloc(c->u.skb.cap);
		if (!c->u.skb.buf)
			return -ENOMEM;
		c->u.skb.buf_owned = true;
		return 0;
	case BPF_PROG_TYPE_SK_MSG:
		err = usm__msg_new(&c->msg);
		if (err)
			return err;
		err = msg_fill(c);
		if (err == -E2BIG)
			usm__log(log, "data_in: %u bytes do not fit one sk_msg "
				 "(%u chunks)\n", c->size, USM_MSG_MAX_FRAGS);
		return err;
	case BPF_PROG_TYPE_SK_REUSEPORT:
		c->rp_pkt = malloc(c->size ? c->size : 1);
		if (!c->rp_pkt)
			return -ENOMEM;
		if (c->size)
			memcpy(c->rp_pkt, c->data, c->size);
		return 0;
	case BPF_PROG_TYPE_SOCK_OPS:
		if (!c->size)
			return 0;
		c->rp_pkt = malloc(c->size);
		if (!c->rp_pkt)
			return -ENOMEM;
		memcpy(c->rp_pkt, c->data, c->size);
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

static int skb_reset(struct usm_tr_ctx *c)
{
	struct usm_skb_ctx *x = &c->u.skb;
	uint32_t need = USM_TR_HEADROOM + c->size + USM_TR_TAILROOM;

	if (x->cap < need) { /* a helper shrank the buffer it owned */
		uint8_t *nb = realloc(x->buf, need);

		if (!nb)
			return -ENOMEM;
		x->buf = nb;
		x->cap = need;
	}
	memcpy(&x->md, c->uapi, sizeof(x->md));
	x->md.len = c->size;
	x->md.sk = (struct bpf_sock *)c->sk;
	x->data_off = USM_TR_HEADROOM;
	x->len = c->size;
	x->linear_len = c->skb_linear;
	if (c->size)
		memcpy(x->buf + x->data_off, c->data, c->size);
	x->data = x->buf + x->data_off;
	x->data_end = (uint8_t *)x->data + c->skb_linear;
	x->data_meta = x->data;
	x->sk = c->sk;
	x->redir.set = false;
	x->redir.map = NULL;
	x->redir.sk = NULL;
	return 0;
}

static int msg_reset(struct usm_tr_ctx *c)
{
	struct usm_msg_ctx *x = &c->u.msg;
	int err = 0;

	/* The first run uses the message built at init; later runs rebuild
	 * what the previous one pulled, pushed and popped. */
	if (x->msg)
		err = msg_fill(c);
	if (err)
		return err;
	memcpy(&x->md, c->uapi, sizeof(x->md));
	x->md.sk = (struct bpf_sock *)c->sk;
	x->msg = c->msg;
	x->sk = c->sk;
	x->redir.set = false;
	x->redir.map = NULL;
	x->redir.sk = NULL;
	x->apply_bytes = 0;
	x->cork_bytes = 0;
	usm__msg_compute_data_pointers(x);
	return 0;
}

static void rp_reset(struct usm_tr_ctx *c)
{
	struct usm_reuseport_ctx *x = &c->u.rp;

	memcpy(&x->md, c->uapi, sizeof(x->md));
	x->md.len = c->size;
	x->md.data = c->rp_pkt;
	x->md.data_end = c->rp_pkt + c->size;
	x->md.sk = (struct bpf_sock *)c->sk;
	x->md.migrating_sk = NULL;
	x->pkt = c->rp_pkt;
	x->pkt_len = c->size;
	x->net = NULL;
	x->net_len = 0;
	x->sk = c->sk;
	x->selected.set = false;
	x->selected.map = NULL;
	x->selected.sk = NULL;
}

static void ops_reset(struct usm_tr_ctx *c)
{
	struct usm_sock_ops_ctx *x = &c->u.ops;

	memcpy(x->md_raw, c->uapi, USM_SOCK_OPS_CTX_SIZE);
	x->md.sk = (struct bpf_sock *)c->sk;
	x->md.skb_data = c->rp_pkt;
	x->md.skb_data_end = c->rp_pkt ? c->rp_pkt + c->size : NULL;
	if (c->rp_pkt && !x->md.skb_len)
		x->md.skb_len = c->size;
	x->sk = c->sk;
}

int usm__tr_ctx_reset(struct usm_tr_ctx *c)
{
	switch (c->type) {
	case BPF_PROG_TYPE_SK_SKB:
		return skb_reset(c);
	case BPF_PROG_TYPE_SK_MSG:
		return msg_reset(c);
	case BPF_PROG_TYPE_SK_REUSEPORT:
		rp_reset(c);
		return 0;
	case BPF_PROG_TYPE_SOCK_OPS:
		ops_reset(c);
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

void *usm__tr_ctx_ptr(struct usm_tr_ctx *c)
{
	return &c->u;
}

static int copy_out(void **dst, uint32_t *dst_size, const void *src,
		    uint32_t size)
{
	*dst = malloc(size ? size : 1);
	if (!*dst)
		return -ENOMEM;
	if (size)
		memcpy(*dst, src, size);
	*dst_size = size;
	return 0;
}

static void copy_decision(const struct usm_redirect *r, char *map,
			  uint8_t *key, uint32_t *key_size)
{
	snprintf(map, USM_RUN_MAP_NAME_LEN, "%s", r->map ? r->map->name : "");
	*key_size = r->key_size < USM_RUN_MAX_KEY ? r->key_size
						  : USM_RUN_MAX_KEY;
	memcpy(key, r->key, *key_size);
}

/* The UAPI ctx after the run, with the pointer fields zeroed: they are
 * addresses of this process, meaningless to the caller. */
static int ctx_out(struct usm_tr_ctx *c, struct usm_prog_run_result *res)
{
	uint32_t cnt, size, i;
	const struct usm_trf *t = usm__trf_table(c->type, &cnt, &size);
	uint8_t *out;
	int err;

	err = copy_out(&res->ctx_out, &res->ctx_size_out, &c->u, size);
	if (err)
		return err;
	out = res->ctx_out;
	for (i = 0; i < cnt; i++)
		if (t[i].fmt == USM_TRF_PTR)
			memset(out + t[i].off, 0, t[i].size);
	return 0;
}

static int collect_skb(struct usm_tr_ctx *c, struct usm_prog_run_result *res)
{
	struct usm_skb_ctx *x = &c->u.skb;

	if (x->redir.set) {
		res->redirected = true;
		res->redirect_flags = x->redir.flags;
		copy_decision(&x->redir, res->redirect_map, res->redirect_key,
			      &res->redirect_key_size);
	}
	return copy_out(&res->data_out, &res->data_size_out,
			x->buf + x->data_off, x->len);
}

static int collect_msg(struct usm_tr_ctx *c, struct usm_prog_run_result *res)
{
	struct usm_msg_ctx *x = &c->u.msg;
	uint32_t size = c->msg->size;

	if (x->redir.set) {
		res->redirected = true;
		res->redirect_flags = x->redir.flags;
		copy_decision(&x->redir, res->redirect_map, res->redirect_key,
			      &res->redirect_key_size);
	}
	res->apply_bytes = x->apply_bytes;
	res->cork_bytes = x->cork_bytes;
	res->data_out = malloc(size ? size : 1);
	if (!res->data_out)
		return -ENOMEM;
	res->data_size_out = usm__msg_read(c->msg, 0, res->data_out, size);
	return 0;
}

int usm__tr_ctx_collect(struct usm_tr_ctx *c, struct usm_prog_run_result *res)
{
	int err;

	switch (c->type) {
	case BPF_PROG_TYPE_SK_SKB:
		err = collect_skb(c, res);
		break;
	case BPF_PROG_TYPE_SK_MSG:
		err = collect_msg(c, res);
		break;
	case BPF_PROG_TYPE_SK_REUSEPORT:
		if (c->u.rp.selected.set) {
			res->selected = true;
			copy_decision(&c->u.rp.selected, res->selected_map,
				      res->selected_key,
				      &res->selected_key_size);
		}
		err = 0;
		break;
	default:
		err = 0;
		break;
	}
	return err ? err : ctx_out(c, res);
}

void usm__tr_ctx_fini(struct usm_tr_ctx *c)
{
	if (c->type == BPF_PROG_TYPE_SK_SKB) {
		free(c->u.skb.buf);
		c->u.skb.buf = NULL;
	}
	usm__msg_free(c->msg);
	c->msg = NULL;
	usm__msg_frag_fini(&c->frag);
	free(c->rp_pkt);
	c->rp_pkt = NULL;
}
