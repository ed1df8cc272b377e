/* SPDX-License-Identifier: MIT */
/*
 * struct usm_sock: the facts of one real socket, read with getsockopt,
 * getsockname and getpeername (never taken from a caller), its BPF view
 * (struct bpf_sock), its reference count and the list of map slots that
 * hold it.
 *
 * Invariants:
 *   - one usm_sock per socket: a registry keyed by SO_COOKIE (the kernel's
 *     socket cookie, unique for the life of the system) hands out the
 *     existing object for a socket seen before;
 *   - the registry holds no reference; the last usm__sock_put() removes the
 *     object from it under the registry lock, so a lookup never sees an
 *     object whose count reached zero;
 *   - every map slot holding the socket holds one reference and one
 *     struct usm_sock_link; a socket with links is therefore alive;
 *   - lock order: a map's lock, then a socket's link_lock, then the
 *     registry lock (only taken alone or after none of the others).
 */
#include "sock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <dirent.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../maps/map.h"
#include "psock.h"

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif
#ifndef SO_BINDTOIFINDEX
#define SO_BINDTOIFINDEX 62
#endif
#ifndef TCP_ULP
#define TCP_ULP 31
#endif

/* The kernel stores this in sk_rcv_saddr/sk_daddr of IPv6 sockets whose
 * addresses are not v4-mapped (include/net/ipv6.h LOOPBACK4_IPV6). */
#define USM_LOOPBACK4_IPV6 0x7f000006u

#define REG_BUCKETS 1024u

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct usm_sock *reg_table[REG_BUCKETS];
static uint32_t reg_count;

static uint32_t reg_hash(uint64_t cookie)
{
	cookie ^= cookie >> 33;
	cookie *= 0xff51afd7ed558ccdull;
	cookie ^= cookie >> 33;
	return (uint32_t)cookie & (REG_BUCKETS - 1);
}

static int get_int_opt(int fd, int level, int name, int *val)
{
	socklen_t len = sizeof(*val);

	*val = 0;
	if (getsockopt(fd, level, name, val, &len) < 0)
		return -errno;
	return 0;
}

static int get_cookie(int fd, uint64_t *cookie)
{
	socklen_t len = sizeof(*cookie);

	if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, cookie, &len) < 0)
		return -errno;
	return 0;
}

static uint16_t addr_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return 0;
}

/* The IPv4 view the kernel keeps for an address (sk_rcv_saddr/sk_daddr). */
static uint32_t addr_ip4(const struct sockaddr_storage *ss)
{
	const struct in6_addr *a6;

	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr;
	if (ss->ss_family != AF_INET6)
		return 0;
	a6 = &((const struct sockaddr_in6 *)ss)->sin6_addr;
	if (IN6_IS_ADDR_V4MAPPED(a6))
		return a6->s6_addr32[3];
	if (IN6_IS_ADDR_UNSPECIFIED(a6))
		return 0;
	return htonl(USM_LOOPBACK4_IPV6);
}

static void addr_ip6(const struct sockaddr_storage *ss, uint32_t ip6[4])
{
	if (ss->ss_family == AF_INET6)
		memcpy(ip6, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
	else
		memset(ip6, 0, 16);
}

/* Whether a local address counts as bound (an inet port, a unix name). */
static bool addr_bound(const struct sockaddr_storage *ss, socklen_t len)
{
	if (ss->ss_family == AF_UNIX)
		return len > sizeof(sa_family_t);
	return addr_port(ss) != 0;
}

static void fill_bsk(struct usm_sock *sk)
{
	struct bpf_sock *b = &sk->bsk;
	int v;

	memset(b, 0, sizeof(*b));
	b->family = (uint32_t)sk->domain;
	b->type = (uint32_t)sk->type;
	b->protocol = (uint32_t)sk->protocol;
	if (get_int_opt(sk->fd, SOL_SOCKET, SO_BINDTOIFINDEX, &v) == 0)
		b->bound_dev_if = (uint32_t)v;
	if (get_int_opt(sk->fd, SOL_SOCKET, SO_MARK, &v) == 0)
		b->mark = (uint32_t)v;
	if (get_int_opt(sk->fd, SOL_SOCKET, SO_PRIORITY, &v) == 0)
		b->priority = (uint32_t)v;
	b->src_ip4 = addr_ip4(&sk->local);
	addr_ip6(&sk->local, b->src_ip6);
	b->src_port = addr_port(&sk->local);
	if (sk->connected) {
		b->dst_ip4 = addr_ip4(&sk->peer);
		addr_ip6(&sk->peer, b->dst_ip6);
		b->dst_port = htons(addr_port(&sk->peer));
	}
	b->state = (uint32_t)sk->tcp_state;
	b->rx_queue_mapping = -1; /* no queue recorded */
}

static bool is_inet(const struct usm_sock *sk)
{
	return sk->domain == AF_INET || sk->domain == AF_INET6;
}

static int read_tcp_state(struct usm_sock *sk)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	char ulp[16];

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(sk->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return -errno;
	sk->tcp_state = ti.tcpi_state;
	len = sizeof(ulp);
	sk->has_ulp = getsockopt(sk->fd, IPPROTO_TCP, TCP_ULP, ulp, &len) == 0 &&
		      len > 0 && ulp[0] != '\0';
	return 0;
}

/* Read the state-dependent facts of @sk->fd into @sk (a private copy). */
static int read_facts(struct usm_sock *sk)
{
	socklen_t llen = sizeof(sk->local), plen = sizeof(sk->peer);
	int v, err;

	err = get_int_opt(sk->fd, SOL_SOCKET, SO_ACCEPTCONN, &v);
	if (err)
		return err;
	sk->listening = v != 0;
	sk->reuseport = get_int_opt(sk->fd, SOL_SOCKET, SO_REUSEPORT, &v) == 0 &&
			v != 0;
	memset(&sk->local, 0, sizeof(sk->local));
	memset(&sk->peer, 0, sizeof(sk->peer));
	if (getsockname(sk->fd, (struct sockaddr *)&sk->local, &llen) < 0)
		llen = 0;
	sk->bound = llen > 0 && addr_bound(&sk->local, llen);
	sk->connected = getpeername(sk->fd, (struct sockaddr *)&sk->peer,
				    &plen) == 0;
	if (!sk->connected)
		memset(&sk->peer, 0, sizeof(sk->peer));
	if (is_inet(sk) && sk->type == SOCK_STREAM &&
	    sk->protocol == IPPROTO_TCP) {
		err = read_tcp_state(sk);
		if (err)
			return err;
	} else {
		/* UDP, unix, ...: the kernel's sk_state for these kinds. */
		sk->tcp_state = sk->listening   ? TCP_LISTEN
				: sk->connected ? TCP_ESTABLISHED
						: TCP_CLOSE;
	}
	fill_bsk(sk);
	return 0;
}

/*
 * Facts are read into a copy and then published field by field, so a
 * reader racing with a refresh (another thread inserting the same socket)
 * sees each field either before or after, never a cleared one in between
 * (getsockname/getpeername fill their buffers in place). Refreshes of one
 * process are serialised so two of them cannot interleave their writes.
 */
int usm__sock_refresh(struct usm_sock *sk)
{
	static pthread_mutex_t publish_lock = PTHREAD_MUTEX_INITIALIZER;
	struct usm_sock t;
	int err;

	memcpy(&t, sk, sizeof(t));
	err = read_facts(&t);
	if (err)
		return err;
	pthread_mutex_lock(&publish_lock);
	sk->listening = t.listening;
	sk->reuseport = t.reuseport;
	sk->local = t.local;
	sk->peer = t.peer;
	sk->bound = t.bound;
	sk->connected = t.connected;
	sk->tcp_state = t.tcp_state;
	sk->has_ulp = t.has_ulp;
	sk->bsk = t.bsk;
	pthread_mutex_unlock(&publish_lock);
	return 0;
}

static int sock_inode(int fd, uint64_t *dev, uint64_t *ino)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	*dev = (uint64_t)st.st_dev;
	*ino = (uint64_t)st.st_ino;
	return 0;
}

/* Registry lookup with a new reference; caller holds reg_lock. */
static struct usm_sock *reg_find(uint64_t cookie)
{
	struct usm_sock *s;

	for (s = reg_table[reg_hash(cookie)]; s; s = s->reg_next) {
		if (s->cookie == cookie) {
			__atomic_add_fetch(&s->refcnt, 1, __ATOMIC_RELAXED);
			return s;
		}
	}
	return NULL;
}

static void reg_remove(struct usm_sock *sk)
{
	struct usm_sock **pp = &reg_table[reg_hash(sk->cookie)];

	for (; *pp; pp = &(*pp)->reg_next) {
		if (*pp == sk) {
			*pp = sk->reg_next;
			reg_count--;
			return;
		}
	}
}

/* An existing object for the socket behind @fd: rebind, adopt, refresh. */
static int reuse_existing(struct usm_sock *sk, int fd, uint32_t flags)
{
	if (flags & USM_SOCK_OWNS_FD) {
		if (sk->flags & USM_SOCK_OWNS_FD) {
			close(fd);
		} else {
			sk->fd = fd;
			sk->flags |= USM_SOCK_OWNS_FD;
		}
	} else if (!usm__sock_is_alive(sk)) {
		sk->fd = fd;
	}
	return usm__sock_refresh(sk);
}

static int sock_new(int fd, uint32_t flags, uint64_t cookie,
		    struct usm_sock **out)
{
	struct usm_sock *sk = calloc(1, sizeof(*sk));
	int err;

	if (!sk)
		return -ENOMEM;
	sk->refcnt = 1;
	sk->fd = fd;
	sk->flags = flags & USM_SOCK_OWNS_FD;
	sk->cookie = cookie;
	err = get_int_opt(fd, SOL_SOCKET, SO_DOMAIN, &sk->domain);
	if (!err)
		err = get_int_opt(fd, SOL_SOCKET, SO_TYPE, &sk->type);
	if (!err)
		err = get_int_opt(fd, SOL_SOCKET, SO_PROTOCOL, &sk->protocol);
	if (!err)
		err = usm__sock_refresh(sk);
	if (!err)
		err = sock_inode(fd, &sk->dev, &sk->ino);
	if (err || pthread_mutex_init(&sk->link_lock, NULL) != 0) {
		free(sk);
		return err ? err : -ENOMEM;
	}
	*out = sk;
	return 0;
}

int usm__sock_from_fd(int fd, uint32_t flags, struct usm_sock **out)
{
	struct usm_sock *sk, *old;
	uint64_t cookie;
	int type, err;

	*out = NULL;
	/* EBADF for a closed fd, ENOTSOCK for a pipe, as sockfd_lookup. */
	err = get_int_opt(fd, SOL_SOCKET, SO_TYPE, &type);
	if (err)
		return err;
	err = get_cookie(fd, &cookie);
	if (err)
		return err;
	pthread_mutex_lock(&reg_lock);
	old = reg_find(cookie);
	pthread_mutex_unlock(&reg_lock);
	if (old) {
		err = reuse_existing(old, fd, flags);
		if (err) {
			usm__sock_put(old);
			return err;
		}
		*out = old;
		return 0;
	}
	err = sock_new(fd, flags, cookie, &sk);
	if (err)
		return err;
	pthread_mutex_lock(&reg_lock);
	old = reg_find(cookie); /* lost a race with another thread? */
	if (!old) {
		sk->reg_next = reg_table[reg_hash(cookie)];
		reg_table[reg_hash(cookie)] = sk;
		reg_count++;
	}
	pthread_mutex_unlock(&reg_lock);
	if (old) {
		sk->flags &= ~USM_SOCK_OWNS_FD; /* let reuse_existing decide */
		pthread_mutex_destroy(&sk->link_lock);
		free(sk);
		err = reuse_existing(old, fd, flags);
		if (err) {
			usm__sock_put(old);
			return err;
		}
		sk = old;
	}
	*out = sk;
	return 0;
}

int usm__sock_lookup_fd(int fd, struct usm_sock **out)
{
	uint64_t cookie;
	int err;

	*out = NULL;
	err = get_cookie(fd, &cookie);
	if (err)
		return err;
	pthread_mutex_lock(&reg_lock);
	*out = reg_find(cookie);
	pthread_mutex_unlock(&reg_lock);
	return *out ? 0 : -ENOENT;
}

void usm__sock_get(struct usm_sock *sk)
{
	if (sk)
		__atomic_add_fetch(&sk->refcnt, 1, __ATOMIC_RELAXED);
}

static void sock_free(struct usm_sock *sk)
{
	struct usm_sock_link *l, *n;

	for (l = sk->links; l; l = n) { /* none expected: slots hold refs */
		n = l->next;
		free(l);
	}
	if (sk->flags & USM_SOCK_OWNS_FD)
		close(sk->fd);
	pthread_mutex_destroy(&sk->link_lock);
	free(sk);
}

void usm__sock_put(struct usm_sock *sk)
{
	int old, left;

	if (!sk)
		return;
	old = __atomic_load_n(&sk->refcnt, __ATOMIC_RELAXED);
	while (old > 1) {
		if (__atomic_compare_exchange_n(&sk->refcnt, &old, old - 1,
						false, __ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED))
			return;
	}
	/* Possibly the last reference: decide under the registry lock so a
	 * concurrent reg_find() cannot resurrect it. */
	pthread_mutex_lock(&reg_lock);
	left = __atomic_sub_fetch(&sk->refcnt, 1, __ATOMIC_ACQ_REL);
	if (left == 0)
		reg_remove(sk);
	pthread_mutex_unlock(&reg_lock);
	if (left == 0)
		sock_free(sk);
}

bool usm__sock_is_alive(const struct usm_sock *sk)
{
	uint64_t cookie;

	if (sk->flags & USM_SOCK_OWNS_FD)
		return true;
	return get_cookie(sk->fd, &cookie) == 0 && cookie == sk->cookie;
}

void usm__sock_add_link(struct usm_sock *sk, struct usm_sock_link *link,
			struct usm_map *map, void *slot)
{
	link->map = map;
	link->slot = slot;
	pthread_mutex_lock(&sk->link_lock);
	link->next = sk->links;
	sk->links = link;
	sk->nlinks++;
	pthread_mutex_unlock(&sk->link_lock);
}

bool usm__sock_del_link(struct usm_sock *sk, struct usm_map *map, void *slot)
{
	struct usm_sock_link **pp, *l = NULL;

	pthread_mutex_lock(&sk->link_lock);
	for (pp = &sk->links; *pp; pp = &(*pp)->next) {
		if ((*pp)->map == map && (*pp)->slot == slot) {
			l = *pp;
			*pp = l->next;
			sk->nlinks--;
			break;
		}
	}
	pthread_mutex_unlock(&sk->link_lock);
	if (!l)
		return false;
	free(l);
	usm__psock_unlink(sk, map); /* the link's psock reference */
	return true;
}

bool usm__sock_has_link(struct usm_sock *sk, struct usm_map *map, void *slot)
{
	struct usm_sock_link *l;
	bool found = false;

	pthread_mutex_lock(&sk->link_lock);
	for (l = sk->links; l && !found; l = l->next)
		found = l->map == map && l->slot == slot;
	pthread_mutex_unlock(&sk->link_lock);
	return found;
}

uint32_t usm__sock_nlinks(struct usm_sock *sk)
{
	uint32_t n;

	pthread_mutex_lock(&sk->link_lock);
	n = sk->nlinks;
	pthread_mutex_unlock(&sk->link_lock);
	return n;
}

/* Pick a link whose map is not being freed, with a map reference. Returns
 * 1 (found), 0 (no links left), -EAGAIN (only dying maps: they unlink us). */
static int pick_link(struct usm_sock *sk, struct usm_map **map, void **slot)
{
	struct usm_sock_link *l;
	int ret = 0;

	pthread_mutex_lock(&sk->link_lock);
	for (l = sk->links; l; l = l->next) {
		if (usm__map_tryget(l->map)) {
			*map = l->map;
			*slot = l->slot;
			ret = 1;
			break;
		}
	}
	if (!l && sk->links)
		ret = -EAGAIN;
	pthread_mutex_unlock(&sk->link_lock);
	return ret;
}

void usm__sock_unlink_all(struct usm_sock *sk)
{
	struct usm_map *map;
	void *slot;
	int r;

	while ((r = pick_link(sk, &map, &slot)) != 0) {
		if (r < 0) {
			sched_yield();
			continue;
		}
		if (map->ops->unlink_sock)
			map->ops->unlink_sock(map, sk, slot);
		else
			usm__sock_del_link(sk, map, slot);
		usm__psock_flush();
		usm__map_put(map);
	}
}

/* Another fd of this process naming @sk (same inode and cookie), or -1. */
static int find_other_fd(const struct usm_sock *sk)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int found = -1;

	if (!d)
		return -1;
	while (found < 0 && (de = readdir(d)) != NULL) {
		uint64_t dev = 0, ino = 0, cookie = 0;
		char *end;
		long fd = strtol(de->d_name, &end, 10);

		if (*end || end == de->d_name || fd == dirfd(d) || fd > INT32_MAX)
			continue;
		if (sock_inode((int)fd, &dev, &ino) || dev != sk->dev ||
		    ino != sk->ino)
			continue;
		if (get_cookie((int)fd, &cookie) == 0 && cookie == sk->cookie)
			found = (int)fd;
	}
	closedir(d);
	return found;
}

bool usm__sock_reap_if_dead(struct usm_sock *sk)
{
	int fd;

	if (usm__sock_is_alive(sk))
		return false;
	fd = find_other_fd(sk); /* LIFE-02: removal at the last close */
	if (fd >= 0) {
		__atomic_store_n(&sk->fd, fd, __ATOMIC_RELEASE);
		return false;
	}
	usm__sock_unlink_all(sk);
	return true;
}

void usm__sock_fd_closed(uint64_t cookie)
{
	struct usm_sock *sk;

	pthread_mutex_lock(&reg_lock);
	sk = reg_find(cookie);
	pthread_mutex_unlock(&reg_lock);
	if (sk) {
		usm__sock_reap_if_dead(sk);
		usm__sock_put(sk);
	}
}

uint32_t usm__sock_count(void)
{
	uint32_t n;

	pthread_mutex_lock(&reg_lock);
	n = reg_count;
	pthread_mutex_unlock(&reg_lock);
	return n;
}
