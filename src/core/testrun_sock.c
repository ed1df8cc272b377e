/* SPDX-License-Identifier: MIT */
/*
 * Real sockets for test runs (`usockmap prog run --sock MAP:KEY`): a
 * redirect or selection in a test run should succeed exactly when it would
 * on the kernel, so the map slots a test names hold real sockets whose
 * state the helpers check (SEMANTICS SKB-17, MSG-16, RPP-05).
 *
 *   sk_skb, sk_msg, sock_ops: one end of a connected loopback TCP pair
 *       (ESTABLISHED, the state a redirect target has on the kernel)
 *   sk_reuseport: members of one SO_REUSEPORT group on 127.0.0.1 (TCP
 *       listeners, or bound UDP sockets when ip_protocol is UDP), so that
 *       bpf_sk_select_reuseport finds them in the group of the run's socket
 *
 * Each usm_sock owns its fd (USM_SOCK_OWNS_FD); the peer fds of the pairs
 * are kept here. Slots are written with BPF_ANY before the first run and
 * deleted after the last one, so a run leaves its maps as it found them
 * except that slots it named end up empty.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "../maps/map.h"
#include "../sock/sock.h"
#include "testrun.h"

static int fail_errno(int fd)
{
	int err = -errno;

	if (fd >= 0)
		close(fd);
	return err;
}

/* A loopback TCP pair: *a connected to *b (the accepted end). */
static int tcp_pair(int *a, int *b)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int l, c, s;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0)
		return -errno;
	if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(l, 1) || getsockname(l, (struct sockaddr *)&sa, &len))
		return fail_errno(l);
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0)
		return fail_errno(l);
	if (connect(c, (struct sockaddr *)&sa, sizeof(sa))) {
		close(c);
		return fail_errno(l);
	}
	s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	if (s < 0) {
		close(c);
		return fail_errno(l);
	}
	close(l);
	*a = c;
	*b = s;
	return 0;
}

/* A member of the run's reuseport group (the first one picks the port). */
static int reuseport_member(struct usm_tr_socks *s, bool udp, int *out)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int one = 1, fd;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons(s->group_port);
	fd = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    (!udp && listen(fd, 8)))
		return fail_errno(fd);
	if (!s->group_port) {
		if (getsockname(fd, (struct sockaddr *)&sa, &len))
			return fail_errno(fd);
		s->group_port = ntohs(sa.sin_port);
	}
	*out = fd;
	return 0;
}

static int tcp_listener(int *out)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 8))
		return fail_errno(fd);
	*out = fd;
	return 0;
}

/* Kind of socket a program type gets. */
enum sock_kind { SK_PAIR, SK_GROUP_TCP, SK_GROUP_UDP, SK_LISTENER };

/* Make one socket of @kind; *sk owns its fd, *peer is the pair's other
 * end or -1. */
static int make_sock(struct usm_tr_socks *s, enum sock_kind kind,
		     struct usm_sock **sk, int *peer)
{
	int fd = -1, err;

	*peer = -1;
	switch (kind) {
	case SK_PAIR:
		err = tcp_pair(&fd, peer);
		break;
	case SK_GROUP_TCP:
	case SK_GROUP_UDP:
		err = reuseport_member(s, kind == SK_GROUP_UDP, &fd);
		break;
	default:
		err = tcp_listener(&fd);
		break;
	}
	if (err)
		return err;
	err = usm__sock_from_fd(fd, USM_SOCK_OWNS_FD, sk);
	if (err) {
		close(fd);
		if (*peer >= 0)
			close(*peer);
		*peer = -1;
	}
	return err;
}

/* Put @sk at @key: the socket maps' own entry point, or for other types
 * (REUSEPORT_SOCKARRAY) the user-space update with the fd. */
static int insert(struct usm_map *map, const void *key, struct usm_sock *sk)
{
	uint64_t fd64 = (uint64_t)sk->fd;
	uint32_t fd32 = (uint32_t)sk->fd;

	if (map->map_type == BPF_MAP_TYPE_SOCKMAP ||
	    map->map_type == BPF_MAP_TYPE_SOCKHASH)
		return usm__sockmap_update_sock(map, key, sk, BPF_ANY);
	return usm__map_update_elem(map, key,
				    map->value_size == 8 ? (void *)&fd64
							 : (void *)&fd32,
				    BPF_ANY);
}

static int check_spec(const struct usm_prog_run_sock *sp, uint32_t i,
		      struct usm_log *log)
{
	if (!sp->map || !sp->key) {
		usm__log(log, "socks[%u]: map and key are required\n", i);
		return -EINVAL;
	}
	if (sp->key_size != sp->map->key_size) {
		usm__log(log, "socks[%u]: key is %u bytes, map %s has %u-byte "
			 "keys\n", i, sp->key_size, sp->map->name,
			 sp->map->key_size);
		return -EINVAL;
	}
	return 0;
}

static int alloc_arrays(struct usm_tr_socks *s, uint32_t n)
{
	uint32_t i;

	s->sk = calloc(n ? n : 1, sizeof(*s->sk));
	s->peer = calloc(n ? n : 1, sizeof(*s->peer));
	s->inserted = calloc(n ? n : 1, sizeof(*s->inserted));
	if (!s->sk || !s->peer || !s->inserted)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		s->peer[i] = -1;
	return 0;
}

static enum sock_kind kind_for(uint32_t prog_type, uint32_t ip_protocol,
			       uint32_t op, bool own)
{
	if (prog_type == BPF_PROG_TYPE_SK_REUSEPORT)
		return ip_protocol == IPPROTO_UDP ? SK_GROUP_UDP : SK_GROUP_TCP;
	if (own && prog_type == BPF_PROG_TYPE_SOCK_OPS &&
	    op == BPF_SOCK_OPS_TCP_LISTEN_CB)
		return SK_LISTENER;
	return SK_PAIR;
}

static int setup_specs(struct usm_tr_socks *s,
		       const struct usm_prog_run_opts *opts, enum sock_kind k,
		       struct usm_log *log)
{
	const struct usm_prog_run_sock *sp;
	uint32_t i;
	int err;

	for (i = 0; i < opts->sock_cnt; i++) {
		sp = &opts->socks[i];
		err = check_spec(sp, i, log);
		if (err)
			return err;
		err = make_sock(s, k, &s->sk[i], &s->peer[i]);
		if (err) {
			usm__log(log, "socks[%u]: cannot create a socket: %s\n",
				 i, strerror(-err));
			return err;
		}
		s->cnt = i + 1;
		err = insert(sp->map, sp->key, s->sk[i]);
		if (err) {
			usm__log(log, "socks[%u]: cannot insert into map %s: "
				 "%s\n", i, sp->map->name, strerror(-err));
			return err;
		}
		s->inserted[i] = true;
	}
	return 0;
}

int usm__tr_socks_setup(struct usm_tr_socks *s,
			const struct usm_prog_run_opts *opts,
			uint32_t prog_type, struct usm_sock **run_sk,
			struct usm_log *log)
{
	/* The socket kinds follow ctx_in: sk_reuseport's ip_protocol (TCP
	 * listener or UDP), sock_ops' op (a listener for TCP_LISTEN_CB). */
	uint32_t ctx_ip_protocol = usm__tr_ctx_in_u32(opts, prog_type,
						      "ip_protocol");
	uint32_t sock_ops_op = usm__tr_ctx_in_u32(opts, prog_type, "op");
	enum sock_kind k = kind_for(prog_type, ctx_ip_protocol, 0, false);
	int err;

	memset(s, 0, sizeof(*s));
	s->own_peer = -1;
	s->specs = opts->socks;
	*run_sk = NULL;
	if (opts->sk_sock > opts->sock_cnt) {
		usm__log(log, "sk_sock %u: only %u sockets given\n",
			 opts->sk_sock, opts->sock_cnt);
		return -EINVAL;
	}
	err = alloc_arrays(s, opts->sock_cnt);
	if (!err)
		err = setup_specs(s, opts, k, log);
	if (err)
		goto undo;
	if (opts->sk_sock) {
		*run_sk = s->sk[opts->sk_sock - 1];
		return 0;
	}
	/* sk_msg, sk_reuseport and sock_ops programs always run on a socket
	 * (msg->sk and reuse->sk are never NULL in the kernel). */
	if (prog_type == BPF_PROG_TYPE_SK_SKB)
		return 0;
	k = kind_for(prog_type, ctx_ip_protocol, sock_ops_op, true);
	err = make_sock(s, k, &s->own, &s->own_peer);
	if (err) {
		usm__log(log, "cannot create the run's socket: %s\n",
			 strerror(-err));
		goto undo;
	}
	*run_sk = s->own;
	return 0;
undo:
	usm__tr_socks_fini(s);
	return err;
}

void usm__tr_socks_fini(struct usm_tr_socks *s)
{
	uint32_t i;

	for (i = 0; i < s->cnt; i++) {
		if (s->inserted && s->inserted[i])
			usm__map_delete_elem(s->specs[i].map, s->specs[i].key);
		usm__sock_put(s->sk[i]);
		if (s->peer[i] >= 0)
			close(s->peer[i]);
	}
	usm__sock_put(s->own);
	if (s->own_peer >= 0)
		close(s->own_peer);
	free(s->sk);
	free(s->peer);
	free(s->inserted);
	memset(s, 0, sizeof(*s));
	s->own_peer = -1;
}
