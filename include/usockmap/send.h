/* SPDX-License-Identifier: MIT */
/*
 * The send path of a socket in a SOCKMAP/SOCKHASH: send(2), sendmsg(2) and
 * sendfile(2) with the libc signatures, on the socket's own fd. On a TCP
 * socket whose psock has an sk_msg program (BPF_SK_MSG_VERDICT inherited
 * from a map) the program runs synchronously in the calling thread on the
 * data being sent, with the kernel's apply_bytes, cork_bytes, pull, push,
 * pop and redirect behaviour (SEMANTICS MSG-01..24). Any other socket
 * (no map, no sk_msg program, UDP, AF_UNIX, vsock) goes straight to the
 * libc call (MSG-01).
 *
 * Results as libc: the byte count, or -1 with errno (EACCES when the
 * program dropped everything in the call, MSG-05; EPIPE when a redirect
 * target lost its psock, MSG-20; EAGAIN with MSG_DONTWAIT or O_NONBLOCK
 * or after SO_SNDTIMEO). An ingress redirect (BPF_F_INGRESS, MSG-18)
 * queues the bytes on the target's receive side, read with usm_recv.
 * SIGPIPE is raised
 * on EPIPE unless MSG_NOSIGNAL, as the kernel does. Thread-safe: calls on
 * one socket are serialised.
 */
#ifndef USOCKMAP_SEND_H
#define USOCKMAP_SEND_H

#include <sys/socket.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

ssize_t usm_send(int fd, const void *buf, size_t len, int flags);
ssize_t usm_sendmsg(int fd, const struct msghdr *msg, int flags);
ssize_t usm_sendfile(int out_fd, int in_fd, off_t *offset, size_t count);

#ifdef __cplusplus
}
#endif

#endif /* USOCKMAP_SEND_H */
