/* SPDX-License-Identifier: MIT */
/*
 * The application side of a socket in a map: receive with the kernel's
 * results while sk_skb programs own the socket's receive path.
 *
 * Once a socket the application owns gets a receive mode (it enters a
 * SOCKMAP/SOCKHASH with a stream verdict or skb verdict program, SEMANTICS
 * PSK-05), usockmap's engine reads the real socket on its own thread
 * (started on first use) and runs the programs; what they pass, and what
 * other sockets redirect into this one with BPF_F_INGRESS, waits in the
 * socket's queue. Read it with these calls on the socket's own fd; they
 * have the libc signatures and results (-1 and errno on failure):
 *
 *   usm_recv / usm_recvmsg   the queue is read in stream fashion (partial
 *                            reads leave the rest, RECV-01), datagram
 *                            sockets too: the kernel's psock queue merges
 *                            queued datagrams on read (__sk_msg_recvmsg);
 *                            native datagrams stay separate (RECV-06);
 *                            MSG_PEEK (RECV-02), MSG_DONTWAIT or
 *                            O_NONBLOCK -> EAGAIN (RECV-09), len 0 -> 0,
 *                            peer EOF -> 0 (RECV-07), a socket error
 *                            (transmit error) once. A stream parser
 *                            abort (SKB-03/04): the kernel sets SO_ERROR
 *                            and recv answers EAGAIN from then on; here
 *                            the first usm_recv returns the error (we
 *                            cannot set the real SO_ERROR), then EAGAIN.
 *   usm_ioctl_fionread       FIONREAD: queued bytes (stream), the first
 *                            datagram's length (datagram, RECV-04); plus
 *                            native bytes when no verdict runs (RECV-03);
 *                            listening socket -> EINVAL.
 *   usm_sock_poll_fd         an fd for poll/epoll/select, readable exactly
 *                            when usm_recv would return data, EOF or an
 *                            error without blocking. For a socket with no
 *                            receive mode it is the socket's own fd; for
 *                            one in a map without verdict that has
 *                            redirected data, poll the socket fd too
 *                            (native bytes are not counted there).
 *
 * A socket with no receive mode (not in a map, or in one without verdict
 * programs) is served by the native calls, after anything redirected into
 * it (PSK-08). usm_close() (<usockmap/bpf.h>) also detaches the socket from
 * the engine. Do not read such a socket with plain recv(): the engine
 * reads it.
 *
 * Thread safety: all of these may be called from any thread.
 */
#ifndef USOCKMAP_SOCK_H
#define USOCKMAP_SOCK_H

#include <sys/socket.h>
#include <sys/types.h>

ssize_t usm_recv(int fd, void *buf, size_t len, int flags);
ssize_t usm_recvmsg(int fd, struct msghdr *msg, int flags);
int usm_ioctl_fionread(int fd, int *n);
/* ioctl(2) with FIONREAD served as usm_ioctl_fionread, others passed on. */
int usm_ioctl(int fd, unsigned long req, ...);
/* Pollable fd (owned by usockmap, valid until usm_close), or -1/errno. */
int usm_sock_poll_fd(int fd);

#endif /* USOCKMAP_SOCK_H */
