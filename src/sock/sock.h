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
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct usm_map;
struct usm_psock;

/*
 * One map slot holding the socket (the kernel's sk_psock_link): the socket
 * keeps a list of them so that closing it can remove it from every SOCKMAP
 * slot and SOCKHASH element (SEMANTICS LIFE-01). The map is borrowed: a map
 * removes all its links before it is freed. @slot identifies the slot inside
 * the map (a SOCKMAP array cell or a SOCKHASH element) and is only compared,
 * never dereferenced, by this module.
 */
struct usm_sock_link {
	struct usm_sock_link *next;
	struct usm_map *map;
	void *slot;
};

#define USM_SOCK_OWNS_FD 0x1u

struct usm_sock {
	struct bpf_sock bsk;   /* must stay first: BPF reads it directly */
	int refcnt;
	int fd;
	uint32_t flags;        /* USM_SOCK_* */
	uint64_t cookie;       /* SO_COOKIE */
	int domain, type, protocol;
	int tcp_state;         /* the kernel's sk_state: TCP_* numbers for
				  every kind (UDP/unix: TCP_ESTABLISHED when
				  connected, else TCP_CLOSE; TCP_LISTEN) */
	bool listening;        /* SO_ACCEPTCONN */
	bool reuseport;        /* SO_REUSEPORT */
	bool bound, connected; /* getsockname non-wildcard port / getpeername */
	struct sockaddr_storage local, peer;
	struct usm_psock *psock; /* NULL until first inserted in a sock map;
				    guarded by the psock mutex (psock.h) */
	bool has_ulp;          /* TCP_ULP set (e.g. kTLS): SEMANTICS MAP-UPD-15 */
	/* Additions (core): */
	void *user_data_owner; /* REUSEPORT_SOCKARRAY holding it (psock.h
				  usm__sock_claim_user_data), or NULL */
	uint64_t ino, dev;     /* the socket inode (fstat), to find another
				  fd of the same socket (LIFE-02) */

	/* Map slots holding this socket (each holds one reference). */
	pthread_mutex_t link_lock;
	struct usm_sock_link *links;
	uint32_t nlinks;
	struct usm_sock *reg_next; /* registry chain (sock.c only) */
};

/*
 * Build a usm_sock for @fd from the real socket's facts. Returns 0, -EBADF
 * (not an open fd), -ENOTSOCK, -ENOMEM. The fd is borrowed unless @flags has
 * USM_SOCK_OWNS_FD. Refreshes nothing later: call usm__sock_refresh() when
 * the state may have changed.
 *
 * One socket has one usm_sock, as the kernel has one struct sock: a process-
 * wide registry keyed by SO_COOKIE makes a second call for the same socket
 * (same fd, a dup, or another fd of it) return the existing object with a
 * new reference, its facts refreshed and its fd rebound to @fd if the old fd
 * no longer names the socket. With USM_SOCK_OWNS_FD and an existing object
 * that already owns an fd, @fd is closed (ownership was handed over).
 * On error nothing is allocated; an owned @fd is left open unless it was
 * already handed to an existing object.
 *
 * Liveness of a borrowed fd is judged through that one fd (see
 * usm__sock_is_alive): if the application dup()s the fd, inserts one copy
 * and closes it, the socket counts as closed although the kernel would keep
 * it (LIFE-02) until another of its fds is seen here again. The shim and the
 * engine, which see every close(), call usm__sock_unlink_all instead.
 */
int usm__sock_from_fd(int fd, uint32_t flags, struct usm_sock **out);

/*
 * Addition (send path): the existing usm_sock of the socket behind @fd,
 * with a new reference, without creating one and without refreshing its
 * facts. Returns 0, -ENOENT (no object for that socket), -EBADF,
 * -ENOTSOCK.
 */
int usm__sock_lookup_fd(int fd, struct usm_sock **out);

/* Re-read state-dependent facts (tcp_state, listening, addresses, bsk). */
int usm__sock_refresh(struct usm_sock *sk);

void usm__sock_get(struct usm_sock *sk);
void usm__sock_put(struct usm_sock *sk); /* NULL ok; closes owned fd */

/*
 * Whether @sk still names a live socket: an owned fd always does; a
 * borrowed fd must still be open and carry the same SO_COOKIE (the
 * application may have closed it, and the number may have been reused).
 */
bool usm__sock_is_alive(const struct usm_sock *sk);

/*
 * The socket is going away (the application closed its last fd, the engine
 * saw it die, or usm__sock_is_alive() said no): remove it from every map
 * slot that holds it, synchronously, as the kernel's sock_map_close does
 * (SEMANTICS LIFE-01). The caller holds a reference. Safe to call twice.
 */
void usm__sock_unlink_all(struct usm_sock *sk);

/*
 * If @sk's fd no longer names the socket, look for another fd of this
 * process that does (a dup, SEMANTICS LIFE-02) and rebind to it; if there
 * is none the socket counts as closed: unlink it from every map and
 * return true.
 */
bool usm__sock_reap_if_dead(struct usm_sock *sk);

/*
 * The application is closing @fd (usm_close): if it is the fd a known
 * socket is bound to, the socket leaves every map unless another fd of
 * this process still names it (then it is rebound, LIFE-02). Call after
 * the close. @cookie is the socket's SO_COOKIE read before the close.
 */
void usm__sock_fd_closed(uint64_t cookie);

/*
 * Link list maintenance for the socket maps (maps/sock*.c): add @link
 * (allocated by the caller so that no allocation fails after the map slot
 * was written, SEMANTICS MAP-UPD-18); remove and free the first link for
 * (@map, @slot), returning true if there was one; test for one.
 *
 * For SOCKMAP/SOCKHASH links the psock reference the insert took
 * (usm__psock_link) belongs to the link: usm__sock_del_link hands the
 * removal to usm__psock_unlink, which applies PSK-06 and drops it.
 */
void usm__sock_add_link(struct usm_sock *sk, struct usm_sock_link *link,
			struct usm_map *map, void *slot);
bool usm__sock_del_link(struct usm_sock *sk, struct usm_map *map, void *slot);
bool usm__sock_has_link(struct usm_sock *sk, struct usm_map *map, void *slot);
uint32_t usm__sock_nlinks(struct usm_sock *sk);

/* Number of usm_sock objects alive in this process (tests, leak checks). */
uint32_t usm__sock_count(void);

#endif /* USM_SOCK_SOCK_H */
