/* SPDX-License-Identifier: MIT */
/*
 * Internal interface of the reuseport module (src/reuseport):
 *   group.c     groups, members, the group registry, program attach/detach
 *   dispatch.c  one connection/datagram: context, program run, decision,
 *               hand-over to the member; the dispatch loop and thread
 *   member.c    the member-side wire format (accept / recvfrom over the
 *               member's SOCK_SEQPACKET fd)
 *
 * Locking: g->lock guards the member table, the program and the counters.
 * The dispatcher holds it while it runs the program and hands the
 * connection over, so a member that closes (usm_reuseport_member_close)
 * never disappears under a run. Map slots may change concurrently from
 * other threads as on the kernel's RCU path: a member's socket stays alive
 * while the member holds its reference.
 */
#ifndef USM_REUSEPORT_INT_H
#define USM_REUSEPORT_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <usockmap/reuseport.h>

struct usm_prog;
struct usm_sock;

/*
 * One message on a member fd: this header, then for TCP an SCM_RIGHTS
 * control message with the connection, for UDP the datagram's bytes.
 */
#define USM_RP_MSG_MAGIC 0x75726d31u /* "urm1" */
#define USM_RP_MSG_CONN  1u
#define USM_RP_MSG_DGRAM 2u
struct usm_rp_msg {
	uint32_t magic;
	uint32_t kind;           /* USM_RP_MSG_* */
	uint32_t addrlen;        /* bytes of addr used */
	uint32_t pad;
	struct sockaddr_storage addr; /* the client */
};

/* Owns: sock_fd, its usm_sock reference, both socketpair ends. */
struct usm_reuseport_member {
	struct usm_reuseport_group *g; /* borrowed, outlives the member */
	int sock_fd;             /* real SO_REUSEPORT member socket */
	struct usm_sock *sk;     /* one reference */
	int fd;                  /* member side, -1 once exported */
	int disp_fd;             /* dispatcher side (non-blocking) */
	uint64_t count;
	bool gone;               /* left the group behind the owner's back */
	struct usm_reuseport_member *zombie_next;
};

/* Owns: the dispatch socket fd, its usm_sock reference, the members, one
 * reference on the attached program. */
struct usm_reuseport_group {
	pthread_mutex_t lock;
	int fd;                  /* dispatch socket (non-blocking) */
	int sotype, family;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	bool inany;              /* bound to the wildcard address */
	struct usm_sock *sk;     /* the dispatch socket: md.sk */
	struct usm_prog *prog;   /* attached program or NULL */
	struct usm_reuseport_member **members;
	uint32_t nmembers, cap;
	struct usm_reuseport_stats st;
	pthread_t thr;
	bool running;
	int stop_efd;            /* eventfd: stop the thread */
	uint8_t *buf;            /* UDP receive buffer (dispatcher only) */
	/* Members that left on their own (their other end was closed): their
	 * resources are released, the struct stays until the owner's
	 * usm_reuseport_member_close or the group's close frees it. */
	struct usm_reuseport_member *zombies;
	struct usm_reuseport_group *next; /* registry (group.c) */
};

/* Remove @m from @g and free it (LIFE-08). Caller holds g->lock. */
void usm__rp_member_remove_locked(struct usm_reuseport_group *g,
				  struct usm_reuseport_member *m);

/* @m's other end is gone: it leaves the group and every map (LIFE-08,
 * RPA-09) and its fds are closed, but the struct stays valid for its
 * owner (see zombies). Caller holds g->lock. */
void usm__rp_member_leave_locked(struct usm_reuseport_group *g,
				 struct usm_reuseport_member *m);

/* Remove the members whose pollable fd was closed by every holder.
 * Caller holds g->lock. */
void usm__rp_reap_locked(struct usm_reuseport_group *g);

/* Handle what waits on the dispatch socket, at most @max. Caller holds
 * g->lock. Returns the count handled or -errno. */
int usm__rp_drain_locked(struct usm_reuseport_group *g, int max);

/* Member-side message framing (member.c): send @hdr (+ @fd via
 * SCM_RIGHTS if >= 0, + @data/@len) on @sock without blocking or SIGPIPE.
 * 0 or -errno (-EAGAIN, -EPIPE, ...). */
int usm__rp_msg_send(int sock, const struct usm_rp_msg *hdr, int fd,
		     const void *data, size_t len);

#endif /* USM_REUSEPORT_INT_H */
