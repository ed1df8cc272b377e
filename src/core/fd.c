/* SPDX-License-Identifier: MIT */
/*
 * Object handles as real file descriptors (see core.h usm__fd_install).
 *
 * Each handle is a pipe: the application gets the write end, usockmap keeps
 * the read end. Both ends share one inode, which identifies the handle: a
 * lookup fstat()s the fd it is given and finds the handle by (st_dev,
 * st_ino), so dup()ed copies work and a closed-and-reused fd number never
 * finds a stale object. The kernel counts the copies of the write end for
 * us: when the last one is closed, anywhere, the kept read end reports
 * POLLHUP. Every kept end is in one epoll set; usm__fd_gc() collects the
 * handles that hung up and drops their object references.
 *
 * The write end is non-blocking, so an application that writes to it by
 * mistake gets EAGAIN once the pipe is full instead of hanging.
 *
 * Invariants: a handle is in the table iff its kept end is open and in the
 * epoll set; the table lock is never held while an object reference is
 * dropped (that may free maps and programs, which take other locks). After
 * fork() the child rebuilds its own epoll set (the inherited one is shared
 * with the parent).
 */
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <usockmap/bpf.h>

#include "../maps/map.h"
#include "../sock/sock.h"
#include "../vm/vm.h"

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

#define NBUCKETS 256u
#define GC_BATCH 32

struct handle {
	struct handle *next;
	enum usm_fd_kind kind;
	void *obj;            /* one reference (maps: a user reference) */
	uint32_t file_flags;
	uint64_t dev, ino;
	int keep;             /* the read end */
};

static pthread_mutex_t tab_lock = PTHREAD_MUTEX_INITIALIZER;
static struct handle *tab[NBUCKETS];
static uint32_t tab_count;
static int epfd = -1;
static bool epoll_stale;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static uint32_t bucket(uint64_t dev, uint64_t ino)
{
	uint64_t h = (ino ^ (dev << 17)) * 0x9e3779b97f4a7c15ull;

	return (uint32_t)(h >> 56) & (NBUCKETS - 1);
}

static void atfork_prepare(void)
{
	pthread_mutex_lock(&tab_lock);
}

static void atfork_parent(void)
{
	pthread_mutex_unlock(&tab_lock);
}

static void atfork_child(void)
{
	epoll_stale = true;
	pthread_mutex_unlock(&tab_lock);
}

/* PROG_ARRAY and map-in-map user updates name programs and maps by fd:
 * the maps module resolves them through this table. */
static int prog_fd_resolver(int fd, struct usm_prog **out)
{
	return usm__fd_get_prog(fd, out);
}

static int map_fd_resolver(int fd, struct usm_map **out)
{
	return usm__fd_get_map(fd, out, NULL);
}

/* Once, before the first handle exists. */
static void atfork_init(void)
{
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
	usm__map_set_prog_fd_resolver(prog_fd_resolver);
	usm__map_set_map_fd_resolver(map_fd_resolver);
}

static int ep_add(struct handle *h)
{
	struct epoll_event ev = { .events = 0, .data.ptr = h };

	/* EPOLLHUP is always reported, nothing else is wanted. */
	return epoll_ctl(epfd, EPOLL_CTL_ADD, h->keep, &ev) < 0 ? -errno : 0;
}

/* A usable epoll set for this process. Caller holds tab_lock. */
static int ep_ready(void)
{
	uint32_t i;

	if (epfd >= 0 && !epoll_stale)
		return 0;
	if (epfd >= 0)
		close(epfd); /* the parent's set: leave its entries alone */
	epoll_stale = false;
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		return -errno;
	for (i = 0; i < NBUCKETS; i++) {
		struct handle *h;

		for (h = tab[i]; h; h = h->next)
			ep_add(h); /* best effort: a failure only delays gc */
	}
	return 0;
}

static void obj_get(enum usm_fd_kind kind, void *obj)
{
	switch (kind) {
	case USM_FD_MAP:
		usm__map_get(obj);
		break;
	case USM_FD_PROG:
		usm__prog_get(obj);
		break;
	case USM_FD_LINK:
		usm__link_get(obj);
		break;
	case USM_FD_BTF:
		usm__btf_get(obj);
		break;
	default:
		break;
	}
}

void usm__fd_obj_put(enum usm_fd_kind kind, void *obj)
{
	switch (kind) {
	case USM_FD_MAP:
		usm__map_put(obj);
		break;
	case USM_FD_PROG:
		usm__prog_put(obj);
		break;
	case USM_FD_LINK:
		usm__link_put(obj);
		break;
	case USM_FD_BTF:
		usm__btf_put(obj);
		break;
	default:
		break;
	}
}

/* Drop the reference a handle held. */
static void handle_free(struct handle *h)
{
	if (h->kind == USM_FD_MAP)
		usm__map_put_with_uref(h->obj);
	else
		usm__fd_obj_put(h->kind, h->obj);
	free(h);
}

int usm__fd_install(enum usm_fd_kind kind, void *obj, uint32_t file_flags)
{
	struct handle *h;
	struct stat st;
	int p[2], err;

	pthread_once(&atfork_once, atfork_init);
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
		err = -errno;
		free(h);
		return err;
	}
	if (fstat(p[1], &st) < 0) {
		err = -errno;
		goto out_close;
	}
	h->kind = kind;
	h->obj = obj;
	h->file_flags = file_flags;
	h->dev = (uint64_t)st.st_dev;
	h->ino = (uint64_t)st.st_ino;
	h->keep = p[0];
	pthread_mutex_lock(&tab_lock);
	err = ep_ready();
	if (!err)
		err = ep_add(h);
	if (!err) {
		uint32_t b = bucket(h->dev, h->ino);

		h->next = tab[b];
		tab[b] = h;
		tab_count++;
	}
	pthread_mutex_unlock(&tab_lock);
	if (!err)
		return p[1];
out_close:
	close(p[0]);
	close(p[1]);
	free(h);
	return err;
}

/* The handle for an inode, or NULL. Caller holds tab_lock. */
static struct handle *find(uint64_t dev, uint64_t ino)
{
	struct handle *h;

	for (h = tab[bucket(dev, ino)]; h; h = h->next)
		if (h->ino == ino && h->dev == dev)
			return h;
	return NULL;
}

static int lookup(int fd, enum usm_fd_kind want, enum usm_fd_kind *kind,
		  void **obj, uint32_t *file_flags)
{
	struct handle *h;
	struct stat st;
	int err = -EINVAL;

	if (fd < 0 || fstat(fd, &st) < 0)
		return -EBADF;
	pthread_mutex_lock(&tab_lock);
	h = S_ISFIFO(st.st_mode) ? find((uint64_t)st.st_dev,
				       (uint64_t)st.st_ino)
				 : NULL;
	if (h && (want == USM_FD_NONE || h->kind == want)) {
		obj_get(h->kind, h->obj);
		*obj = h->obj;
		if (kind)
			*kind = h->kind;
		if (file_flags)
			*file_flags = h->file_flags;
		err = 0;
	}
	pthread_mutex_unlock(&tab_lock);
	return err;
}

int usm__fd_get(int fd, enum usm_fd_kind kind, void **obj,
		uint32_t *file_flags)
{
	return lookup(fd, kind, NULL, obj, file_flags);
}

int usm__fd_get_any(int fd, enum usm_fd_kind *kind, void **obj)
{
	return lookup(fd, USM_FD_NONE, kind, obj, NULL);
}

int usm__fd_get_map(int fd, struct usm_map **map, uint32_t *file_flags)
{
	return lookup(fd, USM_FD_MAP, NULL, (void **)map, file_flags);
}

int usm__fd_get_prog(int fd, struct usm_prog **prog)
{
	return lookup(fd, USM_FD_PROG, NULL, (void **)prog, NULL);
}

/* Unchain @h (caller holds tab_lock). */
static void unchain(struct handle *h)
{
	struct handle **pp = &tab[bucket(h->dev, h->ino)];

	for (; *pp; pp = &(*pp)->next) {
		if (*pp == h) {
			*pp = h->next;
			tab_count--;
			return;
		}
	}
}

/* Collect hung-up handles onto *dead. Caller holds tab_lock. Returns the
 * number of events seen. */
static int gc_batch(struct handle **dead)
{
	struct epoll_event ev[GC_BATCH];
	int n, i;

	n = epoll_wait(epfd, ev, GC_BATCH, 0);
	for (i = 0; i < n; i++) {
		struct handle *h = ev[i].data.ptr;

		if (!(ev[i].events & (EPOLLHUP | EPOLLERR)))
			continue;
		epoll_ctl(epfd, EPOLL_CTL_DEL, h->keep, NULL);
		close(h->keep);
		unchain(h);
		h->next = *dead;
		*dead = h;
	}
	return n;
}

void usm__fd_gc(void)
{
	struct handle *dead = NULL, *h;

	pthread_mutex_lock(&tab_lock);
	if (epfd >= 0 && ep_ready() == 0)
		while (gc_batch(&dead) == GC_BATCH)
			;
	pthread_mutex_unlock(&tab_lock);
	while ((h = dead) != NULL) {
		dead = h->next;
		handle_free(h);
	}
}

uint32_t usm__fd_count(void)
{
	uint32_t n;

	pthread_mutex_lock(&tab_lock);
	n = tab_count;
	pthread_mutex_unlock(&tab_lock);
	return n;
}

int usm_is_bpf_fd(int fd)
{
	enum usm_fd_kind kind;
	void *obj;

	if (usm__fd_get_any(fd, &kind, &obj))
		return 0;
	usm__fd_obj_put(kind, obj);
	return 1;
}

/* The engine (src/engine), when linked in, stops owning the socket before
 * its fd goes; a weak reference so that using usm_close alone does not
 * pull the engine in. */
void usm__engine_fd_closing(int fd) __attribute__((weak));

int usm_close(int fd)
{
	struct stat st;
	uint64_t cookie = 0;
	socklen_t len = sizeof(cookie);
	bool sock;

	if (fd < 0 || fstat(fd, &st) < 0)
		return -EBADF;
	sock = S_ISSOCK(st.st_mode) &&
	       getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &len) == 0;
	if (sock && usm__engine_fd_closing)
		usm__engine_fd_closing(fd);
	if (close(fd) < 0)
		return -errno;
	if (sock)
		usm__sock_fd_closed(cookie); /* LIFE-01/02 */
	else if (S_ISFIFO(st.st_mode))
		usm__fd_gc();
	return 0;
}
