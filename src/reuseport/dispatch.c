/* SPDX-License-Identifier: MIT */
/*
 * Dispatch of one group's connections and datagrams (SEMANTICS RPP-02,
 * RPP-04): for each connection accepted / datagram received on the
 * dispatch socket, build the sk_reuseport context the kernel would give the
 * program, run it, and hand the connection or datagram to a member.
 *
 * Context (RPP-02): data..data_end cover the L4 header and payload. UDP:
 * the real datagram behind a UDP header (len = 8 + payload). TCP: the SYN
 * itself is consumed by the kernel, so the nearest honest equivalent is a
 * 20-byte TCP header with the real ports, the SYN flag and no options or
 * payload (len = 20; sequence number and window are not the client's).
 * skb_load_bytes_relative(BPF_HDR_START_NET) sees a synthesized IPv4/IPv6
 * header with the real addresses (UDP: the destination from
 * IP_PKTINFO / IPV6_PKTINFO). eth_protocol follows the packet's
 * family (a v4-mapped client of an IPv6 group is ETH_P_IP, as in the
 * kernel), bind_inany says whether the group is bound to the wildcard,
 * hash is a non-zero hash of the 4-tuple (not the kernel's seeded one),
 * sk is the group's dispatch socket.
 *
 * Outcome (RPP-04): SK_PASS and a selection naming a member -> that
 * member; SK_PASS otherwise (no selection, or a selected socket of the
 * group that is not a member) -> the member at reciprocal_scale(hash, n),
 * as the kernel's hash fallback; SK_DROP or an aborted run -> TCP: reset
 * (the client's connect() already succeeded and it then sees ECONNRESET;
 * the kernel answers the SYN with RST, ECONNREFUSED), UDP: dropped (no
 * ICMP port unreachable: a connected client is not told).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../progtype/progtype.h"
#include "../sock/sock.h"
#include "../vm/vm.h"
#include "reuseport_int.h"

#define RP_MAX_DGRAM 65536u
#define RP_HDR_ROOM  (40u + 20u) /* IPv6 header + TCP header */

/* One packet being dispatched: the synthesized headers and payload. */
struct rp_pkt {
	uint8_t *buf;            /* net header at buf, L4 at buf + nh_len */
	uint32_t nh_len, l4_len;
	bool v4;
	uint8_t saddr[16], daddr[16];
	uint16_t sport, dport;   /* host order */
	struct sockaddr_storage peer;
	socklen_t peerlen;
};

/* Addresses and port of @ss; IPv4-mapped IPv6 counts as IPv4. */
static void addr_of(const struct sockaddr_storage *ss, bool *v4,
		    uint8_t a[16], uint16_t *port)
{
	const struct sockaddr_in *s4 = (const void *)ss;
	const struct sockaddr_in6 *s6 = (const void *)ss;

	memset(a, 0, 16);
	if (ss->ss_family == AF_INET) {
		*v4 = true;
		memcpy(a, &s4->sin_addr, 4);
		*port = ntohs(s4->sin_port);
		return;
	}
	*port = ntohs(s6->sin6_port);
	*v4 = IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr);
	if (*v4)
		memcpy(a, &s6->sin6_addr.s6_addr[12], 4);
	else
		memcpy(a, &s6->sin6_addr, 16);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static uint16_t ip_csum(const uint8_t *p, uint32_t n)
{
	uint32_t s = 0, i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* The IPv4/IPv6 header in front of @l4_len bytes of L4 data. */
static void net_header(struct rp_pkt *k, uint8_t proto)
{
	uint8_t *h = k->buf;

	if (k->v4) {
		memset(h, 0, 20);
		h[0] = 0x45;
		put16(h + 2, (uint16_t)(20 + k->l4_len));
		h[6] = 0x40; /* DF */
		h[8] = 64;
		h[9] = proto;
		memcpy(h + 12, k->saddr, 4);
		memcpy(h + 16, k->daddr, 4);
		put16(h + 10, ip_csum(h, 20));
		return;
	}
	memset(h, 0, 40);
	h[0] = 0x60;
	put16(h + 4, (uint16_t)k->l4_len);
	h[6] = proto;
	h[7] = 64;
	memcpy(h + 8, k->saddr, 16);
	memcpy(h + 24, k->daddr, 16);
}

/* Non-zero hash of the 4-tuple (FNV-1a, then a final mix). */
static uint32_t flow_hash(const struct rp_pkt *k)
{
	uint32_t h = 2166136261u, i;
	uint16_t ports[2] = { k->sport, k->dport };
	const uint8_t *pp = (const uint8_t *)ports;

	for (i = 0; i < 16; i++)
		h = (h ^ k->saddr[i] ^ ((uint32_t)k->daddr[i] << 8)) *
		    16777619u;
	for (i = 0; i < sizeof(ports); i++)
		h = (h ^ pp[i]) * 16777619u;
	h ^= h >> 16;
	h *= 0x7feb352du;
	h ^= h >> 15;
	return h ? h : 1;
}

static void tcp_header(struct rp_pkt *k)
{
	uint8_t *t = k->buf + k->nh_len;

	memset(t, 0, 20);
	put16(t, k->sport);
	put16(t + 2, k->dport);
	t[12] = 5 << 4;  /* data offset: 20 bytes, no options */
	t[13] = 0x02;    /* SYN */
	put16(t + 14, 65535);
	k->l4_len = 20;
}

static void udp_header(struct rp_pkt *k, uint32_t payload)
{
	uint8_t *u = k->buf + k->nh_len;

	put16(u, k->sport);
	put16(u + 2, k->dport);
	put16(u + 4, (uint16_t)(8 + payload));
	put16(u + 6, 0);
	k->l4_len = 8 + payload;
}

/* Member index the program (or the hash) picks, -1 for drop. */
static int decide(struct usm_reuseport_group *g, struct rp_pkt *k,
		  uint8_t proto)
{
	struct usm_reuseport_ctx c;
	struct usm_run run;
	uint64_t r0;
	uint32_t i, hash = flow_hash(k);

	if (!g->nmembers) {
		g->st.no_member++;
		return -1;
	}
	if (!g->prog)
		goto by_hash;
	net_header(k, proto);
	usm__reuseport_ctx_init(&c, k->buf + k->nh_len, k->l4_len, k->buf,
				k->nh_len + k->l4_len, g->sk);
	c.md.eth_protocol = htons(k->v4 ? ETH_P_IP : ETH_P_IPV6);
	c.md.ip_protocol = proto;
	c.md.bind_inany = g->inany;
	c.md.hash = hash;
	c.group = g;
	memset(&run, 0, sizeof(run));
	run.prog = g->prog;
	run.ctx = &c;
	r0 = usm__prog_run(g->prog, &c, &run);
	if (run.error) {
		g->st.prog_errors++;
		return -1;
	}
	if (r0 != SK_PASS) {
		g->st.dropped++;
		return -1;
	}
	for (i = 0; c.selected.set && i < g->nmembers; i++) {
		if (g->members[i]->sk == c.selected.sk) {
			g->st.selected++;
			return (int)i;
		}
	}
by_hash:
	g->st.hashed++;
	return (int)(((uint64_t)hash * g->nmembers) >> 32);
}

/* Wait up to 1 s for room on @fd. */
static bool wait_room(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };

	return poll(&p, 1, 1000) == 1 && (p.revents & POLLOUT);
}

/*
 * Hand @hdr (+ @fd or @data) to member @idx; a member whose other end is
 * gone leaves the group and the next one by hash is tried. true when some
 * member took it.
 */
static bool deliver(struct usm_reuseport_group *g, int idx, uint32_t hash,
		    const struct usm_rp_msg *hdr, int fd, const void *data,
		    size_t len)
{
	struct usm_reuseport_member *m;
	int err;

	while (idx >= 0 && (uint32_t)idx < g->nmembers) {
		m = g->members[idx];
		err = usm__rp_msg_send(m->disp_fd, hdr, fd, data, len);
		if (err == -EAGAIN && wait_room(m->disp_fd))
			err = usm__rp_msg_send(m->disp_fd, hdr, fd, data, len);
		if (!err) {
			m->count++;
			return true;
		}
		if (err == -EAGAIN)
			break;
		usm__rp_member_leave_locked(g, m); /* LIFE-08 */
		if (!g->nmembers)
			break;
		idx = (int)(((uint64_t)hash * g->nmembers) >> 32);
	}
	g->st.no_member++;
	return false;
}

static void reset_conn(int fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

static int one_conn(struct usm_reuseport_group *g)
{
	uint8_t buf[RP_HDR_ROOM];
	struct rp_pkt k = { .buf = buf };
	struct sockaddr_storage local;
	socklen_t ll = sizeof(local);
	struct usm_rp_msg hdr;
	int fd, idx;
	bool v4l;

	k.peerlen = sizeof(k.peer);
	fd = accept4(g->fd, (struct sockaddr *)&k.peer, &k.peerlen,
		     SOCK_CLOEXEC);
	if (fd < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	if (getsockname(fd, (struct sockaddr *)&local, &ll))
		memcpy(&local, &g->addr, sizeof(local));
	addr_of(&k.peer, &k.v4, k.saddr, &k.sport);
	addr_of(&local, &v4l, k.daddr, &k.dport);
	k.nh_len = k.v4 ? 20 : 40;
	tcp_header(&k);
	idx = decide(g, &k, IPPROTO_TCP);
	memset(&hdr, 0, sizeof(hdr));
	hdr.magic = USM_RP_MSG_MAGIC;
	hdr.kind = USM_RP_MSG_CONN;
	hdr.addrlen = k.peerlen;
	memcpy(&hdr.addr, &k.peer, sizeof(k.peer));
	if (idx < 0 || !deliver(g, idx, flow_hash(&k), &hdr, fd, NULL, 0)) {
		reset_conn(fd);
		return 1;
	}
	close(fd);
	return 1;
}

/* The datagram's destination from IP_PKTINFO / IPV6_PKTINFO, into
 * k->daddr; false if the kernel gave none. */
static bool pktinfo_dst(struct msghdr *mh, struct rp_pkt *k)
{
	struct in6_pktinfo i6;
	struct in_pktinfo i4;
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			memcpy(&i4, CMSG_DATA(c), sizeof(i4));
			memset(k->daddr, 0, 16);
			memcpy(k->daddr, &i4.ipi_addr, 4);
			return true;
		}
		if (c->cmsg_level == IPPROTO_IPV6 &&
		    c->cmsg_type == IPV6_PKTINFO) {
			memcpy(&i6, CMSG_DATA(c), sizeof(i6));
			memset(k->daddr, 0, 16);
			if (IN6_IS_ADDR_V4MAPPED(&i6.ipi6_addr))
				memcpy(k->daddr, &i6.ipi6_addr.s6_addr[12], 4);
			else
				memcpy(k->daddr, &i6.ipi6_addr, 16);
			return true;
		}
	}
	return false;
}

/* Receive one datagram into @payload with its source and destination. */
static ssize_t dgram_recv(struct usm_reuseport_group *g, struct rp_pkt *k,
			  uint8_t *payload)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) +
			 CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { .iov_base = payload, .iov_len = RP_MAX_DGRAM };
	struct msghdr mh = { .msg_name = &k->peer,
			     .msg_namelen = sizeof(k->peer),
			     .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cm.buf,
			     .msg_controllen = sizeof(cm.buf) };
	ssize_t n = recvmsg(g->fd, &mh, MSG_DONTWAIT);
	bool v4l;

	if (n < 0)
		return -errno;
	k->peerlen = mh.msg_namelen;
	addr_of(&k->peer, &k->v4, k->saddr, &k->sport);
	addr_of(&g->addr, &v4l, k->daddr, &k->dport);
	pktinfo_dst(&mh, k); /* else: the bound address */
	return n;
}

static int one_dgram(struct usm_reuseport_group *g)
{
	struct rp_pkt k;
	struct usm_rp_msg hdr;
	uint8_t *payload;
	ssize_t n;
	int idx;

	if (!g->buf) {
		g->buf = malloc(RP_HDR_ROOM + RP_MAX_DGRAM);
		if (!g->buf)
			return -ENOMEM;
	}
	memset(&k, 0, sizeof(k));
	payload = g->buf + RP_HDR_ROOM;
	n = dgram_recv(g, &k, payload);
	if (n < 0)
		return n == -EAGAIN || n == -EWOULDBLOCK ? 0 : (int)n;
	k.nh_len = k.v4 ? 20 : 40;
	/* net header + UDP header directly in front of the payload */
	k.buf = payload - 8 - k.nh_len;
	udp_header(&k, (uint32_t)n);
	idx = decide(g, &k, IPPROTO_UDP);
	if (idx < 0)
		return 1;
	memset(&hdr, 0, sizeof(hdr));
	hdr.magic = USM_RP_MSG_MAGIC;
	hdr.kind = USM_RP_MSG_DGRAM;
	hdr.addrlen = k.peerlen;
	memcpy(&hdr.addr, &k.peer, sizeof(k.peer));
	deliver(g, idx, flow_hash(&k), &hdr, -1, payload, (size_t)n);
	return 1;
}

void usm__rp_reap_locked(struct usm_reuseport_group *g)
{
	struct pollfd p;
	uint32_t i = 0;

	while (i < g->nmembers) {
		p.fd = g->members[i]->disp_fd;
		p.events = 0;
		p.revents = 0;
		if (g->members[i]->fd < 0 && poll(&p, 1, 0) == 1 &&
		    (p.revents & (POLLHUP | POLLERR))) {
			usm__rp_member_leave_locked(g, g->members[i]);
			continue;
		}
		i++;
	}
}

int usm__rp_drain_locked(struct usm_reuseport_group *g, int max)
{
	int n = 0, r;

	while (n < max) {
		r = g->sotype == SOCK_STREAM ? one_conn(g) : one_dgram(g);
		if (r < 0)
			return n ? n : r;
		if (!r)
			break;
		n++;
	}
	return n;
}

int usm_reuseport_dispatch(struct usm_reuseport_group *g, int timeout_ms)
{
	struct pollfd p;
	int n;

	if (!g)
		return -EINVAL;
	p.fd = g->fd;
	p.events = POLLIN;
	if (poll(&p, 1, timeout_ms) < 0 && errno != EINTR)
		return -errno;
	pthread_mutex_lock(&g->lock);
	usm__rp_reap_locked(g);
	n = usm__rp_drain_locked(g, 1024);
	pthread_mutex_unlock(&g->lock);
	return n;
}

static void *loop(void *arg)
{
	struct usm_reuseport_group *g = arg;
	struct pollfd p[2];

	for (;;) {
		p[0].fd = g->fd;
		p[0].events = POLLIN;
		p[1].fd = g->stop_efd;
		p[1].events = POLLIN;
		if (poll(p, 2, 100) < 0 && errno != EINTR)
			break;
		if (p[1].revents & POLLIN)
			break;
		pthread_mutex_lock(&g->lock);
		usm__rp_reap_locked(g);
		usm__rp_drain_locked(g, 64);
		pthread_mutex_unlock(&g->lock);
	}
	return NULL;
}

int usm_reuseport_group_start(struct usm_reuseport_group *g)
{
	int err;

	if (!g)
		return -EINVAL;
	if (g->running)
		return -EALREADY;
	err = pthread_create(&g->thr, NULL, loop, g);
	if (err)
		return -err;
	g->running = true;
	return 0;
}

void usm_reuseport_group_stop(struct usm_reuseport_group *g)
{
	uint64_t v = 1;

	if (!g || !g->running)
		return;
	if (write(g->stop_efd, &v, sizeof(v)) != sizeof(v))
		return;
	pthread_join(g->thr, NULL);
	g->running = false;
	if (read(g->stop_efd, &v, sizeof(v)) < 0)
		v = 0;
}
