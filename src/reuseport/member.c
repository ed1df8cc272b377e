/* SPDX-License-Identifier: MIT */
/*
 * The member side of a reuseport group: the wire format on a member's
 * SOCK_SEQPACKET fd (reuseport_int.h struct usm_rp_msg) and the calls that
 * read it, usm_reuseport_accept and usm_reuseport_recvfrom. They need
 * nothing but the fd, so they work the same in the dispatcher's process
 * and in another process the fd was passed to (SEMANTICS RPA-09/LIFE-08
 * for the other direction: when every holder closes the fd the dispatcher
 * sees the hang-up and the member leaves its group).
 *
 * One message per connection (header + SCM_RIGHTS with the connected
 * socket) or per datagram (header + the datagram's bytes); SEQPACKET keeps
 * the boundaries, so a datagram longer than the caller's buffer is
 * truncated and the rest discarded, as recvfrom(2) does.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "reuseport_int.h"

int usm__rp_msg_send(int sock, const struct usm_rp_msg *hdr, int fd,
		     const void *data, size_t len)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct iovec iov[2] = {
		{ .iov_base = (void *)hdr, .iov_len = sizeof(*hdr) },
		{ .iov_base = (void *)data, .iov_len = len },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = data ? 2 : 1 };
	struct cmsghdr *c;

	if (fd >= 0) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	if (sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		return -errno;
	return 0;
}

/* The fd of an SCM_RIGHTS message, -1 if none; extra fds are closed. */
static int take_fd(struct msghdr *mh)
{
	struct cmsghdr *c;
	int fd = -1, x;
	size_t i, n;

	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(&x, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (fd < 0)
				fd = x;
			else
				close(x);
		}
	}
	return fd;
}

static void copy_addr(const struct usm_rp_msg *h, struct sockaddr *addr,
		      socklen_t *addrlen)
{
	socklen_t n;

	if (!addr || !addrlen)
		return;
	n = h->addrlen < sizeof(h->addr) ? h->addrlen : sizeof(h->addr);
	memcpy(addr, &h->addr, n < *addrlen ? n : *addrlen);
	*addrlen = n;
}

/* recvmsg that maps the end of the stream to -ENOTCONN. */
static ssize_t recv_one(int fd, struct msghdr *mh, int flags)
{
	ssize_t n = recvmsg(fd, mh, flags | MSG_CMSG_CLOEXEC);

	if (n < 0)
		return -errno;
	return n ? n : -ENOTCONN;
}

int usm_reuseport_accept(int member_fd, struct sockaddr *addr,
			 socklen_t *addrlen)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct usm_rp_msg h;
	struct iovec iov = { .iov_base = &h, .iov_len = sizeof(h) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cm.buf,
			     .msg_controllen = sizeof(cm.buf) };
	ssize_t n = recv_one(member_fd, &mh, 0);
	int fd;

	if (n < 0)
		return (int)n;
	fd = take_fd(&mh);
	if ((size_t)n != sizeof(h) || h.magic != USM_RP_MSG_MAGIC ||
	    h.kind != USM_RP_MSG_CONN || fd < 0) {
		if (fd >= 0)
			close(fd);
		return -EPROTO;
	}
	copy_addr(&h, addr, addrlen);
	return fd;
}

ssize_t usm_reuseport_recvfrom(int member_fd, void *buf, size_t len,
			       int flags, struct sockaddr *addr,
			       socklen_t *addrlen)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct usm_rp_msg h;
	struct iovec iov[2] = {
		{ .iov_base = &h, .iov_len = sizeof(h) },
		{ .iov_base = buf, .iov_len = len },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2,
			     .msg_control = cm.buf,
			     .msg_controllen = sizeof(cm.buf) };
	ssize_t n;
	int fd;

	if (flags & ~MSG_DONTWAIT)
		return -EINVAL;
	if (!buf && len)
		return -EFAULT;
	n = recv_one(member_fd, &mh, flags);
	if (n < 0)
		return n;
	fd = take_fd(&mh);
	if (fd >= 0)
		close(fd);
	if ((size_t)n < sizeof(h) || h.magic != USM_RP_MSG_MAGIC ||
	    h.kind != USM_RP_MSG_DGRAM || fd >= 0)
		return -EPROTO;
	copy_addr(&h, addr, addrlen);
	return n - (ssize_t)sizeof(h);
}
