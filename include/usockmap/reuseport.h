/* SPDX-License-Identifier: MIT */
/*
 * Reuseport groups with sk_reuseport programs, run by usockmap
 * (SEMANTICS RPP-01..06, RPA-09/11, LIFE-08; docs/reuseport.md).
 *
 * From user space nobody can steer which of several real SO_REUSEPORT
 * sockets the kernel picks, so a group owns ONE dispatch socket: a real
 * SO_REUSEPORT socket (TCP listener or bound UDP socket) on ADDR:PORT that
 * joins the kernel's group first and steers every connection/datagram to
 * itself (a one-instruction classic BPF reuseport filter, "return 0").
 * Each member is:
 *   - a real SO_REUSEPORT socket on the same ADDR:PORT (listening / bound),
 *     so it can be put into REUSEPORT_SOCKARRAY, SOCKMAP or SOCKHASH and
 *     has its own SO_COOKIE, exactly like a kernel group member; the kernel
 *     never hands it traffic (the filter picks the dispatch socket);
 *   - a pollable fd (one end of a SOCK_SEQPACKET unix socketpair) from
 *     which usm_reuseport_accept() reads its connections (SCM_RIGHTS) and
 *     usm_reuseport_recvfrom() its datagrams (source address preserved).
 *     That fd may be handed to another process (SCM_RIGHTS); the member
 *     then serves from there.
 * For every connection/datagram the dispatcher (usm_reuseport_dispatch,
 * or the group's own thread) runs the attached program on an
 * sk_reuseport_md and hands the connection to the selected member
 * (SK_PASS + bpf_sk_select_reuseport), to a member picked by flow hash
 * (SK_PASS without selection, or no program), or refuses it (SK_DROP:
 * TCP reset, UDP dropped).
 *
 * Errors are -errno. Functions are thread-safe unless noted.
 */
#ifndef USOCKMAP_REUSEPORT_H
#define USOCKMAP_REUSEPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct usm_reuseport_group;
struct usm_reuseport_member;
struct usm_program;

struct usm_reuseport_group_opts {
	size_t sz;       /* sizeof(struct usm_reuseport_group_opts) */
	int backlog;     /* TCP listen backlog of the dispatch socket; 0: 1024 */
};

/*
 * Create a group of @sotype (SOCK_STREAM: TCP listener, SOCK_DGRAM: bound
 * UDP socket) on @addr (AF_INET/AF_INET6; port 0 picks one: read it back
 * with usm_reuseport_group_addr). 0 and *out, or -EINVAL (bad type,
 * family, opts), -EADDRINUSE and other bind/listen errors, -ENOMEM.
 */
int usm_reuseport_group_create(const struct sockaddr *addr, socklen_t len,
			       int sotype,
			       const struct usm_reuseport_group_opts *opts,
			       struct usm_reuseport_group **out);

/* Stop the group's thread, close every member and the dispatch socket.
 * Connections queued to a member and not yet accepted stay valid in the
 * member's fd until that is closed. NULL ok. */
void usm_reuseport_group_close(struct usm_reuseport_group *g);

/* The dispatch socket (borrowed; do not read from it). */
int usm_reuseport_group_fd(const struct usm_reuseport_group *g);
/* Bound address of the group. 0 or -EINVAL. */
int usm_reuseport_group_addr(const struct usm_reuseport_group *g,
			     struct sockaddr_storage *ss, socklen_t *len);

/*
 * Add a member. 0 and *out, or -errno (socket/bind errors, -ENOMEM). The
 * member belongs to the group: usm_reuseport_member_close or closing the
 * group frees it.
 */
int usm_reuseport_member_add(struct usm_reuseport_group *g,
			     struct usm_reuseport_member **out);

/* The member's pollable fd (readable when a connection/datagram waits;
 * pass it to usm_reuseport_accept / usm_reuseport_recvfrom). Borrowed. */
int usm_reuseport_member_fd(const struct usm_reuseport_member *m);
/* The member's real SO_REUSEPORT socket: the fd to put into
 * REUSEPORT_SOCKARRAY / SOCKMAP / SOCKHASH (usm_map_update_elem). */
int usm_reuseport_member_sock_fd(const struct usm_reuseport_member *m);
/* Connections/datagrams handed to this member so far. */
uint64_t usm_reuseport_member_count(const struct usm_reuseport_member *m);

/*
 * The member leaves its group and every map holding its socket (LIFE-08,
 * RPA-09); its fds are closed and it is freed. Connections already handed
 * to it and not accepted stay readable by whoever holds its exported fd
 * (then the end is reported: -ENOTCONN), else they are closed. A member
 * whose exported fd was closed by every holder leaves the group and its
 * maps by itself, at the dispatcher's next round; its struct stays valid
 * (fds -1) until this call or the group's close frees it. NULL ok.
 */
void usm_reuseport_member_close(struct usm_reuseport_member *m);

/*
 * Give away the member's pollable fd (e.g. to send it to another process):
 * returns a dup of it (close-on-exec) and closes the group's copy of the
 * member side, so when the last holder closes it the dispatcher notices and
 * the member leaves the group and its maps (LIFE-08). -errno on failure.
 */
int usm_reuseport_member_export(struct usm_reuseport_member *m);

/*
 * Member side, usable in any process holding a member fd:
 * usm_reuseport_accept: the next connection handed to @member_fd, a
 * connected TCP socket fd (close-on-exec), peer address in @addr/@len
 * (may be NULL). -EAGAIN when none waits and @member_fd is non-blocking
 * (otherwise it blocks), -ENOTCONN when the group went away, -EPROTO on a
 * malformed message.
 * usm_reuseport_recvfrom: the next datagram: its length (truncated to
 * @len, as recvfrom(2) without MSG_TRUNC), the client address in @addr.
 * @flags: MSG_DONTWAIT only.
 */
int usm_reuseport_accept(int member_fd, struct sockaddr *addr,
			 socklen_t *addrlen);
ssize_t usm_reuseport_recvfrom(int member_fd, void *buf, size_t len,
			       int flags, struct sockaddr *addr,
			       socklen_t *addrlen);

/*
 * SO_ATTACH_REUSEPORT_EBPF / SO_DETACH_REUSEPORT_BPF (RPP-01): @fd is the
 * group's dispatch socket, a member's socket or a member's pollable fd;
 * the program applies to the whole group and replaces the previous one.
 * @prog_fd is a usockmap program handle (usm_bpf / bpf_program__fd) of
 * type BPF_PROG_TYPE_SK_REUSEPORT. Errors: -EBADF/-ENOTSOCK for an @fd
 * that names no group, -EINVAL for a bad program, -EOPNOTSUPP for a
 * socket-filter program (the kernel accepts those; we do not run them);
 * detach without a program -> -ENOENT.
 */
int usm_reuseport_attach_prog(int fd, int prog_fd);
int usm_reuseport_detach_prog(int fd);
/* The same with a loaded program of an object (usm_object_*). */
int usm_reuseport_group_attach(struct usm_reuseport_group *g,
			       struct usm_program *prog);
int usm_reuseport_group_detach(struct usm_reuseport_group *g);

/*
 * Dispatch what waits on the dispatch socket, waiting up to @timeout_ms
 * (-1 forever, 0 not at all) for the first one: returns how many
 * connections/datagrams were handled (selected, hashed or dropped), or
 * -errno. Do not call while the group's thread runs.
 */
int usm_reuseport_dispatch(struct usm_reuseport_group *g, int timeout_ms);

/* Run dispatch in a thread of the group until usm_reuseport_group_stop or
 * close. 0, -EALREADY, -errno from pthread_create. */
int usm_reuseport_group_start(struct usm_reuseport_group *g);
void usm_reuseport_group_stop(struct usm_reuseport_group *g);

/* Group counters. */
struct usm_reuseport_stats {
	uint64_t selected;  /* SK_PASS + successful selection */
	uint64_t hashed;    /* SK_PASS without selection, or no program */
	uint64_t dropped;   /* SK_DROP (TCP reset, datagram dropped) */
	uint64_t no_member; /* nothing to hand it to: reset/dropped */
	uint64_t prog_errors; /* run aborted: treated as SK_DROP */
};
void usm_reuseport_group_stats(const struct usm_reuseport_group *g,
			       struct usm_reuseport_stats *st);

#ifdef __cplusplus
}
#endif

#endif /* USOCKMAP_REUSEPORT_H */
