/* SPDX-License-Identifier: MIT */
/*
 * Reuseport groups and members (include/usockmap/reuseport.h,
 * docs/reuseport.md), and attaching sk_reuseport programs to a group as
 * SO_ATTACH_REUSEPORT_EBPF / SO_DETACH_REUSEPORT_BPF do (SEMANTICS RPP-01).
 *
 * A group's dispatch socket joins the kernel's SO_REUSEPORT group first
 * and carries a classic BPF reuseport filter returning 0, so the kernel
 * hands every connection/datagram of the port to it (index 0 of the
 * kernel's group stays the dispatch socket while it lives: removing another
 * socket moves the last one into the freed slot). Members are real
 * SO_REUSEPORT sockets of the same group (hashed: TCP listening, UDP
 * bound), so REUSEPORT_SOCKARRAY, SOCKMAP and SOCKHASH accept them and the
 * group checks of bpf_sk_select_reuseport see the kernel's facts.
 *
 * A process-wide registry of groups lets attach/detach find a group from
 * any of its fds. Invariant: a member is in g->members until it is freed.
 */
#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <fcntl.h>

#include <usockmap/object.h>

#include "../core/core.h"
#include "../loader/loader.h"
#include "../sock/sock.h"
#include "../vm/vm.h"
#include "reuseport_int.h"

#ifndef SO_ATTACH_REUSEPORT_CBPF
#define SO_ATTACH_REUSEPORT_CBPF 51
#endif

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct usm_reuseport_group *reg_head;

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

static bool addr_is_any(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in *s4 = (const void *)ss;
	const struct sockaddr_in6 *s6 = (const void *)ss;

	if (ss->ss_family == AF_INET)
		return s4->sin_addr.s_addr == htonl(INADDR_ANY);
	return !memcmp(&s6->sin6_addr, &in6addr_any, sizeof(in6addr_any));
}

/* A socket of @g's kind with SO_REUSEPORT bound to @addr; TCP listens with
 * @backlog. Returns the fd or -errno. */
static int rp_socket(int family, int sotype, const struct sockaddr *addr,
		     socklen_t len, int backlog)
{
	int one = 1, fd, err;

	fd = socket(family, sotype | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) ||
	    (sotype == SOCK_STREAM &&
	     setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one))) ||
	    bind(fd, addr, len) ||
	    (sotype == SOCK_STREAM && listen(fd, backlog)))
		goto fail;
	return fd;
fail:
	err = -errno;
	close(fd);
	return err;
}

/* Steer the whole kernel group to the dispatch socket (index 0). */
static int steer_to_self(int fd)
{
	struct sock_filter code[] = { { BPF_RET | BPF_K, 0, 0, 0 } };
	struct sock_fprog fp = { .len = 1, .filter = code };

	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &fp,
		       sizeof(fp)))
		return -errno;
	return 0;
}

/* Datagrams come with their destination address (RPP-02 IP header). */
static int want_pktinfo(int fd, int family)
{
	int one = 1;

	if (family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)))
		return -errno;
	if (family == AF_INET &&
	    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)))
		return -errno;
	return 0;
}

static int group_check(const struct sockaddr *addr, socklen_t len,
		       int sotype, const struct usm_reuseport_group_opts *o)
{
	if (!addr || (sotype != SOCK_STREAM && sotype != SOCK_DGRAM))
		return -EINVAL;
	if (o && o->sz < sizeof(size_t))
		return -EINVAL;
	if (addr->sa_family == AF_INET && len >= sizeof(struct sockaddr_in))
		return 0;
	if (addr->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6))
		return 0;
	return -EINVAL;
}

static int group_open(struct usm_reuseport_group *g,
		      const struct sockaddr *addr, socklen_t len, int backlog)
{
	int err;

	g->fd = rp_socket(addr->sa_family, g->sotype, addr, len, backlog);
	if (g->fd < 0)
		return g->fd;
	err = steer_to_self(g->fd);
	if (!err && g->sotype == SOCK_DGRAM)
		err = want_pktinfo(g->fd, addr->sa_family);
	if (!err)
		err = set_nonblock(g->fd);
	g->addrlen = sizeof(g->addr);
	if (!err && getsockname(g->fd, (struct sockaddr *)&g->addr,
				&g->addrlen))
		err = -errno;
	if (!err)
		err = usm__sock_from_fd(g->fd, 0, &g->sk);
	if (!err) {
		g->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (g->stop_efd < 0)
			err = -errno;
	}
	return err;
}

int usm_reuseport_group_create(const struct sockaddr *addr, socklen_t len,
			       int sotype,
			       const struct usm_reuseport_group_opts *opts,
			       struct usm_reuseport_group **out)
{
	struct usm_reuseport_group *g;
	int backlog = opts && opts->sz >= sizeof(*opts) && opts->backlog > 0
			      ? opts->backlog : 1024;
	int err = group_check(addr, len, sotype, opts);

	if (err || !out)
		return err ? err : -EINVAL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	pthread_mutex_init(&g->lock, NULL);
	g->sotype = sotype;
	g->family = addr->sa_family;
	g->fd = g->stop_efd = -1;
	err = group_open(g, addr, len, backlog);
	if (err) {
		usm_reuseport_group_close(g);
		return err;
	}
	g->inany = addr_is_any(&g->addr);
	pthread_mutex_lock(&reg_lock);
	g->next = reg_head;
	reg_head = g;
	pthread_mutex_unlock(&reg_lock);
	*out = g;
	return 0;
}

static void reg_remove(struct usm_reuseport_group *g)
{
	struct usm_reuseport_group **pp;

	pthread_mutex_lock(&reg_lock);
	for (pp = &reg_head; *pp; pp = &(*pp)->next) {
		if (*pp == g) {
			*pp = g->next;
			break;
		}
	}
	pthread_mutex_unlock(&reg_lock);
}

void usm_reuseport_group_close(struct usm_reuseport_group *g)
{
	if (!g)
		return;
	usm_reuseport_group_stop(g);
	reg_remove(g);
	pthread_mutex_lock(&g->lock);
	while (g->nmembers)
		usm__rp_member_remove_locked(g, g->members[g->nmembers - 1]);
	while (g->zombies) {
		struct usm_reuseport_member *z = g->zombies;

		g->zombies = z->zombie_next;
		free(z);
	}
	pthread_mutex_unlock(&g->lock);
	usm__prog_put(g->prog);
	if (g->sk) {
		usm__sock_unlink_all(g->sk);
		usm__sock_put(g->sk);
	}
	if (g->fd >= 0)
		close(g->fd);
	if (g->stop_efd >= 0)
		close(g->stop_efd);
	free(g->members);
	free(g->buf);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

int usm_reuseport_group_fd(const struct usm_reuseport_group *g)
{
	return g ? g->fd : -EINVAL;
}

int usm_reuseport_group_addr(const struct usm_reuseport_group *g,
			     struct sockaddr_storage *ss, socklen_t *len)
{
	if (!g || !ss || !len)
		return -EINVAL;
	memcpy(ss, &g->addr, sizeof(*ss));
	*len = g->addrlen;
	return 0;
}

static int members_grow(struct usm_reuseport_group *g)
{
	struct usm_reuseport_member **n;
	uint32_t cap = g->cap ? g->cap * 2 : 8;

	if (g->nmembers < g->cap)
		return 0;
	n = realloc(g->members, cap * sizeof(*n));
	if (!n)
		return -ENOMEM;
	g->members = n;
	g->cap = cap;
	return 0;
}

static int member_open(struct usm_reuseport_group *g,
		       struct usm_reuseport_member *m)
{
	int sv[2], err;

	m->sock_fd = rp_socket(g->family, g->sotype,
			       (struct sockaddr *)&g->addr, g->addrlen, 1);
	if (m->sock_fd < 0)
		return m->sock_fd;
	err = usm__sock_from_fd(m->sock_fd, 0, &m->sk);
	if (err)
		return err;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -errno;
	m->fd = sv[0];
	m->disp_fd = sv[1];
	return set_nonblock(m->disp_fd);
}

/* Release what @m holds (its sockets and its place in every map). */
static void member_release(struct usm_reuseport_member *m)
{
	if (m->sk) {
		usm__sock_unlink_all(m->sk); /* LIFE-08, RPA-09 */
		usm__sock_put(m->sk);
		m->sk = NULL;
	}
	if (m->sock_fd >= 0)
		close(m->sock_fd);
	if (m->fd >= 0)
		close(m->fd);
	if (m->disp_fd >= 0)
		close(m->disp_fd);
	m->sock_fd = m->fd = m->disp_fd = -1;
}

static void member_free(struct usm_reuseport_member *m)
{
	member_release(m);
	free(m);
}

int usm_reuseport_member_add(struct usm_reuseport_group *g,
			     struct usm_reuseport_member **out)
{
	struct usm_reuseport_member *m;
	int err;

	if (!g || !out)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->g = g;
	m->sock_fd = m->fd = m->disp_fd = -1;
	pthread_mutex_lock(&g->lock);
	err = members_grow(g);
	if (!err)
		err = member_open(g, m);
	if (err) {
		pthread_mutex_unlock(&g->lock);
		member_free(m);
		return err;
	}
	g->members[g->nmembers++] = m;
	pthread_mutex_unlock(&g->lock);
	*out = m;
	return 0;
}

/* Take @m out of the member table (keeping the order: hash selection
 * indexes it). */
static void members_del(struct usm_reuseport_group *g,
			struct usm_reuseport_member *m)
{
	uint32_t i;

	for (i = 0; i < g->nmembers; i++) {
		if (g->members[i] == m) {
			memmove(&g->members[i], &g->members[i + 1],
				(g->nmembers - i - 1) * sizeof(m));
			g->nmembers--;
			return;
		}
	}
}

void usm__rp_member_remove_locked(struct usm_reuseport_group *g,
				  struct usm_reuseport_member *m)
{
	members_del(g, m);
	member_free(m);
}

void usm__rp_member_leave_locked(struct usm_reuseport_group *g,
				 struct usm_reuseport_member *m)
{
	members_del(g, m);
	member_release(m);
	m->gone = true;
	m->zombie_next = g->zombies;
	g->zombies = m;
}

void usm_reuseport_member_close(struct usm_reuseport_member *m)
{
	struct usm_reuseport_member **pp;
	struct usm_reuseport_group *g;

	if (!m)
		return;
	g = m->g;
	pthread_mutex_lock(&g->lock);
	if (m->gone) {
		for (pp = &g->zombies; *pp && *pp != m; pp = &(*pp)->zombie_next)
			;
		if (*pp)
			*pp = m->zombie_next;
		free(m);
	} else {
		usm__rp_member_remove_locked(g, m);
	}
	pthread_mutex_unlock(&g->lock);
}

int usm_reuseport_member_fd(const struct usm_reuseport_member *m)
{
	return m ? m->fd : -EINVAL;
}

int usm_reuseport_member_sock_fd(const struct usm_reuseport_member *m)
{
	return m ? m->sock_fd : -EINVAL;
}

uint64_t usm_reuseport_member_count(const struct usm_reuseport_member *m)
{
	uint64_t n;

	if (!m)
		return 0;
	pthread_mutex_lock(&m->g->lock);
	n = m->count;
	pthread_mutex_unlock(&m->g->lock);
	return n;
}

int usm_reuseport_member_export(struct usm_reuseport_member *m)
{
	int fd;

	if (!m)
		return -EINVAL;
	pthread_mutex_lock(&m->g->lock);
	if (m->fd < 0) {
		pthread_mutex_unlock(&m->g->lock);
		return -EBADF;
	}
	fd = fcntl(m->fd, F_DUPFD_CLOEXEC, 0);
	if (fd >= 0) {
		close(m->fd);
		m->fd = -1;
	} else {
		fd = -errno;
	}
	pthread_mutex_unlock(&m->g->lock);
	return fd;
}

/* ---- programs (RPP-01) ---- */

/* The group @fd belongs to (dispatch socket, member socket or member fd),
 * or NULL. */
static struct usm_reuseport_group *group_of_fd(int fd)
{
	struct usm_reuseport_group *g;
	uint32_t i;

	pthread_mutex_lock(&reg_lock);
	for (g = reg_head; g; g = g->next) {
		if (g->fd == fd)
			break;
		pthread_mutex_lock(&g->lock);
		for (i = 0; i < g->nmembers; i++)
			if (g->members[i]->sock_fd == fd ||
			    g->members[i]->fd == fd)
				break;
		pthread_mutex_unlock(&g->lock);
		if (i < g->nmembers)
			break;
	}
	pthread_mutex_unlock(&reg_lock);
	return g;
}

static int prog_check(const struct usm_prog *p)
{
	if (!p->verified)
		return -EINVAL;
	if (p->type == BPF_PROG_TYPE_SOCKET_FILTER)
		return -EOPNOTSUPP;
	return p->type == BPF_PROG_TYPE_SK_REUSEPORT ? 0 : -EINVAL;
}

/* Attach @p (a new reference the group takes over) or detach (NULL). */
static int group_set_prog(struct usm_reuseport_group *g, struct usm_prog *p)
{
	struct usm_prog *old;

	pthread_mutex_lock(&g->lock);
	old = g->prog;
	if (!p && !old) {
		pthread_mutex_unlock(&g->lock);
		return -ENOENT; /* RPP-01: second detach */
	}
	g->prog = p;
	pthread_mutex_unlock(&g->lock);
	usm__prog_put(old);
	return 0;
}

static int fd_group(int fd, struct usm_reuseport_group **g)
{
	if (fd < 0 || fcntl(fd, F_GETFD) < 0)
		return -EBADF;
	*g = group_of_fd(fd);
	return *g ? 0 : -ENOTSOCK;
}

int usm_reuseport_attach_prog(int fd, int prog_fd)
{
	struct usm_reuseport_group *g;
	struct usm_prog *p;
	int err = fd_group(fd, &g);

	if (err)
		return err;
	err = usm__fd_get_prog(prog_fd, &p);
	if (err)
		return err;
	err = prog_check(p);
	if (err) {
		usm__prog_put(p);
		return err;
	}
	return group_set_prog(g, p);
}

int usm_reuseport_detach_prog(int fd)
{
	struct usm_reuseport_group *g;
	int err = fd_group(fd, &g);

	return err ? err : group_set_prog(g, NULL);
}

int usm_reuseport_group_attach(struct usm_reuseport_group *g,
			       struct usm_program *prog)
{
	struct usm_prog *p = prog ? usm__program_prog(prog) : NULL;
	int err;

	if (!g || !p)
		return -EINVAL;
	err = prog_check(p);
	if (err)
		return err;
	usm__prog_get(p);
	return group_set_prog(g, p);
}

int usm_reuseport_group_detach(struct usm_reuseport_group *g)
{
	return g ? group_set_prog(g, NULL) : -EINVAL;
}

void usm_reuseport_group_stats(const struct usm_reuseport_group *g,
			       struct usm_reuseport_stats *st)
{
	struct usm_reuseport_group *w = (struct usm_reuseport_group *)g;

	if (!g || !st)
		return;
	pthread_mutex_lock(&w->lock);
	*st = g->st;
	pthread_mutex_unlock(&w->lock);
}
