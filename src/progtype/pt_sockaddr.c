/* SPDX-License-Identifier: MIT */
/*
 * The socket fields of the contexts (__sk_buff, sk_msg_md, bpf_sock_ops):
 * family, addresses and ports as the kernel's context rewrites read them
 * from struct sock_common (SEMANTICS SKB-20/21, MSG-02), computed here from
 * a struct usm_sock's addresses so whoever builds a context fills them the
 * same way. Pure functions of their arguments.
 */
#include "pt_priv.h"

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "../sock/sock.h"

/* The kernel keeps 127.0.0.6 (LOOPBACK4_IPV6) in the IPv4 source slot of
 * an IPv6 socket bound or connected from a non-mapped address. */
#define USM_LOOPBACK4_IPV6 htonl(0x7f000006u)

/* One side (local or peer) of @sk: its ip4 and ip6 words and port
 * (network order), zeros where the address is not of that family. */
static void side(const struct sockaddr_storage *ss, uint32_t *ip4,
		 uint32_t ip6[4], uint16_t *port)
{
	const struct sockaddr_in *a4 = (const void *)ss;
	const struct sockaddr_in6 *a6 = (const void *)ss;

	*ip4 = 0;
	memset(ip6, 0, 16);
	*port = 0;
	if (ss->ss_family == AF_INET) {
		*ip4 = a4->sin_addr.s_addr;
		*port = a4->sin_port;
	} else if (ss->ss_family == AF_INET6) {
		memcpy(ip6, &a6->sin6_addr, 16);
		*port = a6->sin6_port;
		if (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr))
			*ip4 = ip6[3];
	}
}

static void v4mapped(uint32_t ip6[4], uint32_t ip4)
{
	ip6[0] = 0;
	ip6[1] = 0;
	ip6[2] = htonl(0xffffu);
	ip6[3] = ip4;
}

static bool is_tcp(const struct usm_sock *sk)
{
	return sk->type == SOCK_STREAM && sk->protocol == IPPROTO_TCP &&
	       (sk->domain == AF_INET || sk->domain == AF_INET6);
}

/*
 * The kernel's copies between the IPv4 and IPv6 address slots, as observed
 * on loopback (test_ctx_fields.c): an established IPv4 TCP socket also
 * holds its addresses v4-mapped in the IPv6 slots (UDP does not); an IPv6
 * socket with a non-mapped, non-wildcard local address shows 127.0.0.6 as
 * local IPv4 and 0 as remote IPv4. (An IPv6 TCP socket that was accepted
 * rather than connected shows 127.0.0.6 as remote IPv4 too; its facts do
 * not tell us which it was, so we give the connected answer.)
 */
static void kernel_copies(const struct usm_sock *sk, struct usm_ctx_addrs *a)
{
	static const uint32_t any6[4];

	if (sk->domain == AF_INET && is_tcp(sk) && !sk->listening) {
		v4mapped(a->local_ip6, a->local_ip4);
		if (sk->connected)
			v4mapped(a->remote_ip6, a->remote_ip4);
	} else if (sk->domain == AF_INET6 && !a->local_ip4 &&
		   memcmp(a->local_ip6, any6, 16) != 0) {
		a->local_ip4 = USM_LOOPBACK4_IPV6;
	}
}

void usm__ctx_addrs_from_sock(const struct usm_sock *sk,
			      struct usm_ctx_addrs *a)
{
	uint16_t lport, rport = 0;

	memset(a, 0, sizeof(*a));
	if (!sk)
		return;
	a->family = (uint32_t)sk->domain;
	side(&sk->local, &a->local_ip4, a->local_ip6, &lport);
	if (sk->connected)
		side(&sk->peer, &a->remote_ip4, a->remote_ip6, &rport);
	kernel_copies(sk, a);
	a->local_port = ntohs(lport);
	a->remote_port = (uint32_t)rport << 16;
}

/* The same fields sit under the same names in all three UAPI structs. */
#define PT_SET_ADDRS(md, a)                                                    \
	do {                                                                   \
		(md).family = (a).family;                                      \
		(md).remote_ip4 = (a).remote_ip4;                              \
		(md).local_ip4 = (a).local_ip4;                                \
		memcpy((md).remote_ip6, (a).remote_ip6, 16);                   \
		memcpy((md).local_ip6, (a).local_ip6, 16);                     \
		(md).remote_port = (a).remote_port;                            \
		(md).local_port = (a).local_port;                              \
	} while (0)

void usm__skb_ctx_set_sock(struct usm_skb_ctx *ctx, struct usm_sock *sk)
{
	struct usm_ctx_addrs a;

	usm__ctx_addrs_from_sock(sk, &a);
	ctx->sk = sk;
	ctx->md.sk = sk ? &sk->bsk : NULL;
	PT_SET_ADDRS(ctx->md, a);
}

void usm__msg_ctx_set_sock(struct usm_msg_ctx *ctx, struct usm_sock *sk)
{
	struct usm_ctx_addrs a;

	usm__ctx_addrs_from_sock(sk, &a);
	ctx->sk = sk;
	ctx->md.sk = sk ? &sk->bsk : NULL;
	PT_SET_ADDRS(ctx->md, a);
}

void usm__sock_ops_ctx_set_sock(struct usm_sock_ops_ctx *ctx,
				struct usm_sock *sk)
{
	struct usm_ctx_addrs a;

	usm__ctx_addrs_from_sock(sk, &a);
	ctx->sk = sk;
	ctx->md.sk = sk ? &sk->bsk : NULL;
	ctx->md.is_fullsock = sk != NULL;
	ctx->md.state = sk ? (uint32_t)sk->tcp_state : 0;
	PT_SET_ADDRS(ctx->md, a);
}
