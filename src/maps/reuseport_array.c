/* SPDX-License-Identifier: MIT */
/*
 * BPF_MAP_TYPE_REUSEPORT_SOCKARRAY (kernel/bpf/reuseport_array.c): an array
 * of sockets that are members of SO_REUSEPORT groups, for
 * bpf_sk_select_reuseport. User space inserts socket fds, reads back socket
 * cookies and deletes; BPF programs only select from it (MAP-BPF-06).
 *
 * Checks follow the kernel's order exactly (SEMANTICS RPA-01): flags, index,
 * value decoding, fd, occupancy (EEXIST/ENOENT), socket kind (ENOTSUPP 524),
 * group membership (EINVAL), then "owned by someone else" (EBUSY): a socket
 * is held by at most one slot of one array and never by an array and a
 * socket map at once. The kernel keeps both in sk_user_data; here a slot
 * claims the socket's user-data owner (usm__sock_claim_user_data, shared
 * with the psock layer, which then refuses the socket: MAP-UPD-16) and
 * releases it when the socket leaves the slot (RPA-04).
 *
 * Each occupied slot holds one reference on a struct usm_sock and one
 * struct usm_sock_link on it (slot = &sks[index]), so usm__sock_unlink_all
 * removes the socket from the array when it goes away (RPA-09, LIFE-08).
 * As for socket maps, a socket that was closed or left its group behind
 * our back is noticed lazily: user-space operations on a slot re-read its
 * facts and drop it first, so they report what the kernel would.
 *
 * Locking: one process-wide mutex (the kernel's reuseport_lock) serialises
 * every change of every array; a socket's link_lock and the psock mutex
 * (user-data claims) nest inside it. BPF-side lookup reads a slot with an
 * acquire load and takes no lock: the pointer stays valid while the slot
 * holds it (mutations happen on the engine's loop thread, as for sockmap).
 */
#include "map.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../sock/psock.h"
#include "../sock/sock.h"

#define RPA_CREATE_FLAG_MASK                                                   \
	(BPF_F_NUMA_NODE | BPF_F_MMAPABLE | BPF_F_RDONLY | BPF_F_WRONLY |      \
	 BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG | BPF_F_PRESERVE_ELEMS |        \
	 BPF_F_INNER_MAP)

struct usm_rpa {
	struct usm_map map;
	struct usm_sock *sks[]; /* max_entries slots, one reference each */
};

static pthread_mutex_t rpa_lock = PTHREAD_MUTEX_INITIALIZER;

static struct usm_rpa *to_rpa(const struct usm_map *map)
{
	return (struct usm_rpa *)map;
}

/* ---- creation (MAP-CRT-09/10) ---- */

/* reuseport_array_alloc_check: value size, then array_map_alloc_check. */
static int rpa_alloc_check(const struct usm_map_attr *attr)
{
	uint32_t prog = attr->map_flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG);

	if (attr->value_size != sizeof(uint32_t) &&
	    attr->value_size != sizeof(uint64_t))
		return -EINVAL;
	if (attr->max_entries == 0 || attr->key_size != sizeof(uint32_t) ||
	    attr->map_flags & ~RPA_CREATE_FLAG_MASK ||
	    prog == (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG))
		return -EINVAL;
	/* Only plain arrays may be mmapable or inner-map templates; only
	 * perf event arrays preserve elements. */
	if (attr->map_flags &
	    (BPF_F_MMAPABLE | BPF_F_INNER_MAP | BPF_F_PRESERVE_ELEMS))
		return -EINVAL;
	return 0;
}

static int rpa_alloc(const struct usm_map_attr *attr, struct usm_map **out)
{
	struct usm_rpa *a;

	/* Every slot starts empty (MAP-CRT-10). */
	a = calloc(1, sizeof(*a) + (size_t)attr->max_entries * sizeof(a->sks[0]));
	if (!a)
		return -ENOMEM;
	*out = &a->map;
	return 0;
}

/* Freeing the array releases every socket's association (RPA-10). */
static void rpa_free(struct usm_map *map)
{
	struct usm_rpa *a = to_rpa(map);
	uint32_t i;

	for (i = 0; i < map->max_entries; i++) {
		struct usm_sock *sk;

		pthread_mutex_lock(&rpa_lock);
		sk = a->sks[i];
		a->sks[i] = NULL;
		if (sk) {
			usm__sock_del_link(sk, map, &a->sks[i]);
			usm__sock_release_user_data(sk, &a->sks[i]);
		}
		pthread_mutex_unlock(&rpa_lock);
		usm__sock_put(sk);
	}
	free(a);
}

/* ---- socket rules ---- */

static bool sk_is_tcp(const struct usm_sock *sk)
{
	return sk->type == SOCK_STREAM && sk->protocol == IPPROTO_TCP;
}

/* Hashed in the kernel's sense: a TCP listener, a bound UDP socket. */
static bool sk_hashed(const struct usm_sock *sk)
{
	if (sk_is_tcp(sk))
		return sk->tcp_state == TCP_LISTEN;
	return sk->bound;
}

/*
 * Whether @sk has a reuseport group (sk_reuseport_cb). The kernel creates
 * it when the socket is hashed with SO_REUSEPORT set (TCP listen, UDP
 * bind); we see the option as it is now, which differs only if it was
 * changed after listen/bind.
 */
static bool sk_in_group(const struct usm_sock *sk)
{
	return sk->reuseport && sk_hashed(sk);
}

/* RPA-02: TCP or UDP by protocol, inet family, stream or dgram type. */
static int kind_check(const struct usm_sock *sk)
{
	if (sk->protocol != IPPROTO_UDP && sk->protocol != IPPROTO_TCP)
		return -USM_ENOTSUPP;
	if (sk->domain != AF_INET && sk->domain != AF_INET6)
		return -USM_ENOTSUPP;
	if (sk->type != SOCK_STREAM && sk->type != SOCK_DGRAM)
		return -USM_ENOTSUPP;
	return 0;
}

/* reuseport_array_update_check, in its order; caller holds rpa_lock. The
 * last check (EBUSY) is the user-data claim made by install(). */
static int update_check(const struct usm_sock *nsk, const struct usm_sock *osk,
			uint64_t flags)
{
	int err;

	if (osk && flags == BPF_NOEXIST)
		return -EEXIST;
	if (!osk && flags == BPF_EXIST)
		return -ENOENT;
	err = kind_check(nsk);
	if (err)
		return err;
	if (!sk_in_group(nsk)) /* RPA-03 */
		return -EINVAL;
	return 0;
}

int usm__sock_reuseport_group_key(const struct usm_sock *sk,
				  struct usm_reuseport_key *key)
{
	const struct sockaddr_in *a4 = (const void *)&sk->local;
	const struct sockaddr_in6 *a6 = (const void *)&sk->local;

	memset(key, 0, sizeof(*key));
	if (kind_check(sk) || !sk_in_group(sk))
		return -EINVAL;
	key->protocol = sk->protocol;
	key->family = sk->domain;
	if (sk->local.ss_family == AF_INET) {
		memcpy(key->addr, &a4->sin_addr, sizeof(a4->sin_addr));
		key->port = ntohs(a4->sin_port);
	} else if (sk->local.ss_family == AF_INET6) {
		memcpy(key->addr, &a6->sin6_addr, sizeof(a6->sin6_addr));
		key->port = ntohs(a6->sin6_port);
	}
	key->bound_dev_if = sk->bsk.bound_dev_if;
	return 0;
}

/* ---- slots ---- */

/* Clear slot @idx if it still holds @sk; caller holds rpa_lock. Returns
 * whether it did (the caller then puts the slot's reference). */
static bool slot_clear_locked(struct usm_rpa *a, uint32_t idx,
			      struct usm_sock *sk)
{
	if (!sk || a->sks[idx] != sk)
		return false;
	__atomic_store_n(&a->sks[idx], NULL, __ATOMIC_RELEASE);
	usm__sock_del_link(sk, &a->map, &a->sks[idx]);
	usm__sock_release_user_data(sk, &a->sks[idx]);
	return true;
}

/*
 * Before a user-space operation on slot @idx: a socket that was closed
 * leaves every map (RPA-09); one that is no longer hashed (a listener shut
 * down, LIFE-08) leaves this array. Takes rpa_lock itself.
 */
static void reap_slot(struct usm_rpa *a, uint32_t idx)
{
	struct usm_sock *sk;
	bool cleared = false;

	pthread_mutex_lock(&rpa_lock);
	sk = a->sks[idx];
	usm__sock_get(sk);
	pthread_mutex_unlock(&rpa_lock);
	if (!sk)
		return;
	if (usm__sock_reap_if_dead(sk)) {
		usm__sock_put(sk);
		return;
	}
	if (usm__sock_refresh(sk) < 0 || !sk_hashed(sk)) {
		pthread_mutex_lock(&rpa_lock);
		cleared = slot_clear_locked(a, idx, sk);
		pthread_mutex_unlock(&rpa_lock);
	}
	if (cleared)
		usm__sock_put(sk);
	usm__sock_put(sk);
}

/* The socket fd in a user value: 8-byte values above INT32_MAX are EINVAL;
 * 4-byte values are an int, so a negative one is a bad fd (RPA-01). */
static int decode_fd(const struct usm_map *map, const void *value, int *fd)
{
	uint64_t fd64;
	int32_t fd32;

	if (map->value_size == sizeof(uint64_t)) {
		memcpy(&fd64, value, sizeof(fd64));
		if (fd64 > INT32_MAX)
			return -EINVAL;
		*fd = (int)fd64;
	} else {
		memcpy(&fd32, value, sizeof(fd32));
		*fd = fd32;
	}
	return 0;
}

/* Install @nsk at @idx under rpa_lock; *osk_out gets the replaced socket
 * (its reference to put) or NULL. @link is consumed on success. */
static int install(struct usm_rpa *a, uint32_t idx, struct usm_sock *nsk,
		   struct usm_sock_link *link, uint64_t flags,
		   struct usm_sock **osk_out)
{
	struct usm_sock *osk;
	int err;

	*osk_out = NULL;
	pthread_mutex_lock(&rpa_lock);
	osk = a->sks[idx];
	err = update_check(nsk, osk, flags);
	if (!err) /* RPA-04: a psock or another slot owns it: EBUSY */
		err = usm__sock_claim_user_data(nsk, &a->sks[idx]);
	if (!err) {
		/* RPA-05: the old socket leaves; it may be added elsewhere. */
		if (osk) {
			usm__sock_del_link(osk, &a->map, &a->sks[idx]);
			usm__sock_release_user_data(osk, &a->sks[idx]);
		}
		usm__sock_get(nsk);
		usm__sock_add_link(nsk, link, &a->map, &a->sks[idx]);
		__atomic_store_n(&a->sks[idx], nsk, __ATOMIC_RELEASE);
		*osk_out = osk;
	}
	pthread_mutex_unlock(&rpa_lock);
	return err;
}

static int rpa_update_user(struct usm_map *map, const void *key,
			   const void *value, uint64_t flags)
{
	struct usm_rpa *a = to_rpa(map);
	uint32_t idx = usm__load_u32(key);
	struct usm_sock_link *link;
	struct usm_sock *nsk, *osk;
	int fd, err;

	/* RPA-01: flags, index (even with a garbage fd), value, fd. */
	if (flags > BPF_EXIST)
		return -EINVAL;
	if (idx >= map->max_entries)
		return -E2BIG;
	err = decode_fd(map, value, &fd);
	if (err)
		return err;
	err = usm__sock_from_fd(fd, 0, &nsk); /* EBADF / ENOTSOCK */
	if (err)
		return err;
	link = calloc(1, sizeof(*link)); /* before any change */
	if (!link) {
		usm__sock_put(nsk);
		return -ENOMEM;
	}
	reap_slot(a, idx);
	err = install(a, idx, nsk, link, flags, &osk);
	if (err)
		free(link);
	usm__sock_put(osk);
	usm__sock_put(nsk);
	return err;
}

/* ---- lookup, delete, iteration ---- */

/* BPF side (bpf_sk_select_reuseport): the socket, no reference taken. */
static void *rpa_lookup(struct usm_map *map, const void *key)
{
	uint32_t idx = usm__load_u32(key);

	if (idx >= map->max_entries)
		return NULL;
	return __atomic_load_n(&to_rpa(map)->sks[idx], __ATOMIC_ACQUIRE);
}

/* User side: the socket cookie; 4-byte maps cannot hold it (RPA-06/07). */
static int rpa_lookup_user(struct usm_map *map, const void *key, void *value,
			   uint64_t flags)
{
	struct usm_rpa *a = to_rpa(map);
	uint32_t idx = usm__load_u32(key);
	struct usm_sock *sk;
	int err = -ENOENT;

	if (map->value_size != sizeof(uint64_t))
		return -ENOSPC;
	if (idx >= map->max_entries)
		return -ENOENT;
	reap_slot(a, idx);
	pthread_mutex_lock(&rpa_lock);
	sk = a->sks[idx];
	if (sk) {
		memcpy(value, &sk->cookie, sizeof(sk->cookie));
		err = 0;
	}
	pthread_mutex_unlock(&rpa_lock);
	return err;
}

/* RPA-08: out of range is E2BIG (SOCKMAP says EINVAL), empty ENOENT. */
static int rpa_delete(struct usm_map *map, const void *key)
{
	struct usm_rpa *a = to_rpa(map);
	uint32_t idx = usm__load_u32(key);
	struct usm_sock *sk;
	bool cleared;

	if (idx >= map->max_entries)
		return -E2BIG;
	reap_slot(a, idx);
	pthread_mutex_lock(&rpa_lock);
	sk = a->sks[idx];
	cleared = slot_clear_locked(a, idx, sk);
	pthread_mutex_unlock(&rpa_lock);
	if (!cleared)
		return -ENOENT;
	usm__sock_put(sk);
	return 0;
}

/* The socket goes away (usm__sock_unlink_all): leave @slot if still ours. */
static void rpa_unlink_sock(struct usm_map *map, struct usm_sock *sk,
			    void *slot)
{
	struct usm_rpa *a = to_rpa(map);
	uint32_t idx = (uint32_t)((struct usm_sock **)slot - a->sks);
	bool cleared;

	pthread_mutex_lock(&rpa_lock);
	cleared = slot_clear_locked(a, idx, sk);
	if (!cleared)
		usm__sock_del_link(sk, map, slot); /* stale link, if any */
	pthread_mutex_unlock(&rpa_lock);
	if (cleared)
		usm__sock_put(sk);
}

const struct usm_map_ops usm__reuseport_array_ops = {
	.alloc_check = rpa_alloc_check,
	.alloc = rpa_alloc,
	.free = rpa_free,
	.lookup_elem = rpa_lookup,
	.lookup_elem_user = rpa_lookup_user,
	.update_elem_user = rpa_update_user,
	.delete_elem = rpa_delete,
	.get_next_key = usm__map_index_get_next_key,
	.unlink_sock = rpa_unlink_sock,
};
