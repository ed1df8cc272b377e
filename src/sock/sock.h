/* SPDX-License-Identifier: MIT */
/*
 * struct usm_sock: usockmap's view of one real socket (the kernel's struct
 * sock as BPF sees it). Facts are read from the real socket with
 * getsockopt/getsockname/getpeername, never taken from a caller
 * (SO_DOMAIN, SO_TYPE, SO_PROTOCOL, SO_ACCEPTCONN, SO_REUSEPORT, TCP_INFO
 * state, SO_COOKIE).
 *
 * The first member is the UAPI struct bpf_sock filled from those facts, so a
 * BPF program holding a socket pointer (skb->sk, msg->sk, a sockmap lookup)
 * reads its fields with plain loads; the verifier limits which offsets.
 *
 * Ownership: refcounted; maps that hold the socket take a reference. The
 * socket does not own the fd unless USM_SOCK_OWNS_FD is set (sockets the
 * CLI creates for `prog run --sock`). The psock (per-socket map state) is
 * added by the socket-map layer and hangs off `psock`.
 */
#ifndef USM_SOCK_SOCK_H
#define USM_SOCK_SOCK_H

#include <linux/bpf.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct usm_psock;

#define USM_SOCK_OWNS_FD 0x1u

struct usm_sock {
	struct bpf_sock bsk;   /* must stay first: BPF reads it directly */
	int refcnt;
	int fd;
	uint32_t flags;        /* USM_SOCK_* */
	uint64_t cookie;       /* SO_COOKIE */
	int domain, type, protocol;
	int tcp_state;         /* TCP_ESTABLISHED, TCP_LISTEN, ... or 0 */
	bool listening;        /* SO_ACCEPTCONN */
	bool reuseport;        /* SO_REUSEPORT */
	bool bound, connected; /* getsockname non-wildcard port / getpeername */
	struct sockaddr_storage local, peer;
	struct usm_psock *psock; /* NULL until first inserted in a sock map */
};

/*
 * Build a usm_sock for @fd from the real socket's facts. Returns 0, -EBADF
 * (not an open fd), -ENOTSOCK, -ENOMEM. The fd is borrowed unless @flags has
 * USM_SOCK_OWNS_FD. Refreshes nothing later: call usm__sock_refresh() when
 * the state may have changed.
 */
int usm__sock_from_fd(int fd, uint32_t flags, struct usm_sock **out);

/* Re-read state-dependent facts (tcp_state, listening, addresses, bsk). */
int usm__sock_refresh(struct usm_sock *sk);

void usm__sock_get(struct usm_sock *sk);
void usm__sock_put(struct usm_sock *sk); /* NULL ok; closes owned fd */

#endif /* USM_SOCK_SOCK_H */
