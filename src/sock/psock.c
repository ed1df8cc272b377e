/* SPDX-License-Identifier: MIT */
/*
 * psock objects and map program slots (see psock.h), following
 * net/core/sock_map.c and net/core/skmsg.c.
 *
 * Invariants, all under psock_mutex:
 *   - sk->psock is non-NULL iff the socket has a live psock; its refcnt is
 *     the number of map links of the socket plus temporary references;
 *   - every non-NULL program pointer in a usm_psock_progs holds one
 *     reference; a map slot owned by a link (link[i] != NULL) is changed
 *     only through that link;
 *   - psock->rx != NONE only while the psock has the verdict program the
 *     mode needs (cleared together, PSK-06).
 *
 * Program references are never dropped with a lock held: dropping the last
 * one frees the program, which drops its maps, which may free a socket map,
 * which takes its own lock and this mutex. They are queued per thread and
 * dropped by usm__psock_flush(), which every entry point that runs without
 * locks calls (and the map code after releasing its lock).
 */
#include "psock.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/bpf.h>

#include "../maps/map.h"
#include "../vm/vm.h"
#include "sock.h"

static pthread_mutex_t psock_mutex = PTHREAD_MUTEX_INITIALIZER;
static const struct usm_psock_hooks *hooks;
static uint32_t psock_cnt;

void usm__psock_lock(void)
{
	pthread_mutex_lock(&psock_mutex);
}

void usm__psock_unlock(void)
{
	pthread_mutex_unlock(&psock_mutex);
}

void usm__psock_set_hooks(const struct usm_psock_hooks *h)
{
	pthread_mutex_lock(&psock_mutex);
	hooks = h;
	pthread_mutex_unlock(&psock_mutex);
}

uint32_t usm__psock_count(void)
{
	return __atomic_load_n(&psock_cnt, __ATOMIC_RELAXED);
}

int usm__psock_slot_of(uint32_t attach_type)
{
	switch (attach_type) {
	case BPF_SK_MSG_VERDICT:
		return USM_PSOCK_MSG_VERDICT;
	case BPF_SK_SKB_STREAM_PARSER:
		return USM_PSOCK_STREAM_PARSER;
	case BPF_SK_SKB_STREAM_VERDICT:
		return USM_PSOCK_STREAM_VERDICT;
	case BPF_SK_SKB_VERDICT:
		return USM_PSOCK_SKB_VERDICT;
	default:
		return -1;
	}
}

#define DEFER_MAX 64

static __thread struct usm_prog *defer_q[DEFER_MAX];
static __thread unsigned int defer_n;

/* Drop a program reference once no lock is held. */
static void put_later(struct usm_prog *prog)
{
	if (!prog)
		return;
	if (defer_n < DEFER_MAX)
		defer_q[defer_n++] = prog;
	else
		usm__prog_put(prog); /* cannot happen with <= 8 per section */
}

void usm__psock_flush(void)
{
	while (defer_n) /* a put may queue more: loop until empty */
		usm__prog_put(defer_q[--defer_n]);
}

/* Install @prog (a new reference) in @pp, putting what was there. */
static void set_prog(struct usm_prog **pp, struct usm_prog *prog)
{
	struct usm_prog *old = *pp;

	*pp = prog;
	put_later(old);
}

/* psock_replace_prog: only if @old is what is there (-ENOENT). @prog is a
 * new reference on success. */
static int replace_prog(struct usm_prog **pp, struct usm_prog *prog,
			struct usm_prog *old)
{
	if (*pp != old)
		return -ENOENT;
	*pp = prog;
	put_later(old);
	return 0;
}

static struct usm_sockmap_progs *map_progs(struct usm_map *map)
{
	return usm__sockmap_progs(map);
}

/*
 * sock_map_prog_link_lookup: the slot for @attach_type. The verdict kinds
 * exclude each other (PRG-06, PRG-11). Caller holds psock_mutex.
 */
static int slot_lookup(struct usm_map *map, uint32_t attach_type,
		       struct usm_sockmap_progs **mpp, int *slotp)
{
	struct usm_sockmap_progs *mp = map_progs(map);
	int slot = usm__psock_slot_of(attach_type);

	if (!mp || slot < 0)
		return -EOPNOTSUPP;
	if (slot == USM_PSOCK_STREAM_VERDICT &&
	    mp->progs.prog[USM_PSOCK_SKB_VERDICT])
		return -EBUSY;
	if (slot == USM_PSOCK_SKB_VERDICT &&
	    mp->progs.prog[USM_PSOCK_STREAM_VERDICT])
		return -EBUSY;
	*mpp = mp;
	*slotp = slot;
	return 0;
}

/*
 * sock_map_prog_update: the four cases (attach, detach, link attach, link
 * detach) with its checks in order. @prog and @old are borrowed; a stored
 * program gets its own reference.
 */
static int prog_update(struct usm_map *map, struct usm_prog *prog,
		       struct usm_prog *old, struct usm_link *link,
		       uint32_t attach_type)
{
	struct usm_sockmap_progs *mp;
	int slot, err;

	err = slot_lookup(map, attach_type, &mp, &slot);
	if (err)
		return err;
	/* A link owns the slot: only that link may detach it (PRG-13). */
	if ((!link || prog) && mp->link[slot])
		return -EBUSY;
	if (old) {
		usm__prog_get(prog);
		err = replace_prog(&mp->progs.prog[slot], prog, old);
		if (err) {
			put_later(prog);
			return err;
		}
		mp->link[slot] = NULL;
		return 0;
	}
	usm__prog_get(prog);
	set_prog(&mp->progs.prog[slot], prog); /* PRG-05: silent replace */
	if (link)
		mp->link[slot] = link;
	return 0;
}

int usm__sockmap_prog_attach(struct usm_map *map, struct usm_prog *prog,
			     uint32_t attach_type)
{
	int err;

	pthread_mutex_lock(&psock_mutex);
	err = prog_update(map, prog, NULL, NULL, attach_type);
	pthread_mutex_unlock(&psock_mutex);
	usm__psock_flush();
	return err;
}

int usm__sockmap_prog_detach(struct usm_map *map, struct usm_prog *prog,
			     uint32_t attach_type)
{
	int err;

	pthread_mutex_lock(&psock_mutex);
	err = prog_update(map, NULL, prog, NULL, attach_type); /* PRG-08 */
	pthread_mutex_unlock(&psock_mutex);
	usm__psock_flush();
	return err;
}

int usm__sockmap_prog_query(struct usm_map *map, uint32_t attach_type,
			    uint32_t *prog_id)
{
	struct usm_sockmap_progs *mp;
	int slot, err;

	*prog_id = 0;
	pthread_mutex_lock(&psock_mutex);
	err = slot_lookup(map, attach_type, &mp, &slot);
	if (!err && mp->progs.prog[slot])
		*prog_id = mp->progs.prog[slot]->id;
	pthread_mutex_unlock(&psock_mutex);
	return err;
}

int usm__sockmap_link_attach(struct usm_map *map, struct usm_prog *prog,
			     struct usm_link *link, uint32_t attach_type)
{
	int err;

	pthread_mutex_lock(&psock_mutex);
	err = prog_update(map, prog, NULL, link, attach_type);
	pthread_mutex_unlock(&psock_mutex);
	usm__psock_flush();
	return err;
}

int usm__sockmap_link_detach(struct usm_map *map, struct usm_prog *prog,
			     struct usm_link *link, uint32_t attach_type)
{
	int err;

	pthread_mutex_lock(&psock_mutex);
	err = prog_update(map, NULL, prog, link, attach_type);
	pthread_mutex_unlock(&psock_mutex);
	usm__psock_flush();
	return err;
}

int usm__sockmap_link_update(struct usm_map *map, struct usm_prog *prog,
			     struct usm_prog *old, struct usm_link *link,
			     uint32_t attach_type)
{
	struct usm_sockmap_progs *mp;
	int slot, err;

	pthread_mutex_lock(&psock_mutex);
	err = slot_lookup(map, attach_type, &mp, &slot);
	if (!err && mp->link[slot] != link)
		err = -EBUSY;
	if (!err) {
		usm__prog_get(prog);
		if (old) {
			err = replace_prog(&mp->progs.prog[slot], prog, old);
			if (err)
				put_later(prog);
		} else {
			set_prog(&mp->progs.prog[slot], prog);
		}
	}
	pthread_mutex_unlock(&psock_mutex);
	usm__psock_flush();
	return err;
}

void usm__sockmap_progs_release(struct usm_sockmap_progs *mp)
{
	int i;

	if (!mp)
		return;
	pthread_mutex_lock(&psock_mutex);
	for (i = 0; i < USM_PSOCK_NSLOTS; i++)
		set_prog(&mp->progs.prog[i], NULL);
	pthread_mutex_unlock(&psock_mutex);
	usm__psock_flush();
}

/* ---- psock ---- */

static bool sk_is_tcp(const struct usm_sock *sk)
{
	return (sk->domain == AF_INET || sk->domain == AF_INET6) &&
	       sk->type == SOCK_STREAM && sk->protocol == IPPROTO_TCP;
}

void usm__psock_get(struct usm_psock *psock)
{
	if (psock)
		__atomic_add_fetch(&psock->refcnt, 1, __ATOMIC_RELAXED);
}

/* Change the receive mode, telling the engine. Caller holds psock_mutex. */
static void set_rx(struct usm_psock *psock, enum usm_psock_rx rx)
{
	enum usm_psock_rx old = psock->rx;

	psock->rx = rx;
	if (old != rx && hooks && hooks->rx_changed)
		hooks->rx_changed(psock, old);
}

static void progs_changed(struct usm_psock *psock)
{
	if (hooks && hooks->progs_changed)
		hooks->progs_changed(psock);
}

/* sk_psock_drop + sk_psock_destroy. Caller holds psock_mutex and saw the
 * count reach zero. */
static void psock_destroy(struct usm_psock *psock)
{
	struct usm_sock *sk = psock->sk;
	int i;

	sk->psock = NULL;
	set_rx(psock, USM_PSOCK_RX_NONE);
	if (hooks && hooks->drop)
		hooks->drop(psock); /* PSK-07: queued data is discarded */
	if (psock->tx_free)
		psock->tx_free(psock->tx); /* MSG-10 */
	for (i = 0; i < USM_PSOCK_NSLOTS; i++)
		set_prog(&psock->progs.prog[i], NULL);
	__atomic_sub_fetch(&psock_cnt, 1, __ATOMIC_RELAXED);
	free(psock);
	usm__sock_put(sk);
}

/* Caller holds psock_mutex. */
static void psock_put_locked(struct usm_psock *psock)
{
	if (psock && __atomic_sub_fetch(&psock->refcnt, 1, __ATOMIC_ACQ_REL) == 0)
		psock_destroy(psock);
}

void usm__psock_put(struct usm_psock *psock)
{
	if (!psock)
		return;
	pthread_mutex_lock(&psock_mutex);
	psock_put_locked(psock);
	pthread_mutex_unlock(&psock_mutex);
	usm__psock_flush();
}

/* sk_psock_init. Caller holds psock_mutex; sk has no psock. */
static int psock_init(struct usm_sock *sk, struct usm_psock **out)
{
	struct usm_psock *psock;

	if (sk_is_tcp(sk) && sk->has_ulp) /* MAP-UPD-15 */
		return -EINVAL;
	if (sk->user_data_owner) /* MAP-UPD-16 */
		return -EBUSY;
	psock = calloc(1, sizeof(*psock));
	if (!psock)
		return -ENOMEM;
	psock->refcnt = 1;
	psock->sk = sk;
	usm__sock_get(sk);
	sk->psock = psock;
	__atomic_add_fetch(&psock_cnt, 1, __ATOMIC_RELAXED);
	*out = psock;
	return 0;
}

/* The conflict rule of sock_map_link (PSK-03). */
static bool conflicts(const struct usm_psock_progs *have,
		      const struct usm_psock_progs *want)
{
	struct usm_prog *const *h = have->prog, *const *w = want->prog;
	bool h_verdict = h[USM_PSOCK_STREAM_VERDICT] || h[USM_PSOCK_SKB_VERDICT];
	bool w_verdict = w[USM_PSOCK_STREAM_VERDICT] || w[USM_PSOCK_SKB_VERDICT];

	return (w[USM_PSOCK_MSG_VERDICT] && h[USM_PSOCK_MSG_VERDICT]) ||
	       (w[USM_PSOCK_STREAM_PARSER] && h[USM_PSOCK_STREAM_PARSER]) ||
	       (w_verdict && h_verdict);
}

/* psock_update_sk_prot's refusals (unix_dgram_bpf_update_proto). */
static int init_proto(const struct usm_sock *sk)
{
	if (sk->domain == AF_UNIX && sk->type == SOCK_SEQPACKET)
		return -EOPNOTSUPP; /* MAP-UPD-07 */
	return 0;
}

/* The receive-path start rules of sock_map_link (PSK-05). */
static int start_rx(struct usm_psock *psock, const struct usm_psock_progs *m)
{
	struct usm_prog *parser = m->prog[USM_PSOCK_STREAM_PARSER];
	struct usm_prog *sverdict = m->prog[USM_PSOCK_STREAM_VERDICT];
	struct usm_prog *kverdict = m->prog[USM_PSOCK_SKB_VERDICT];

	if (psock->rx != USM_PSOCK_RX_NONE)
		return 0; /* already running: not restarted */
	if (parser && sverdict) {
		if (!sk_is_tcp(psock->sk))
			return -EOPNOTSUPP;
		set_rx(psock, USM_PSOCK_RX_STRP);
	} else if (!parser && sverdict) {
		set_rx(psock, USM_PSOCK_RX_VERDICT);
	} else if (!sverdict && kverdict) {
		set_rx(psock, USM_PSOCK_RX_VERDICT);
	}
	return 0;
}

/* Get or create @sk's psock for an insert under @want. Caller holds
 * psock_mutex. */
static int psock_get_for_insert(struct usm_sock *sk,
				const struct usm_psock_progs *want,
				struct usm_psock **out)
{
	struct usm_psock *psock = sk->psock;

	if (!psock)
		return psock_init(sk, out);
	/* sock_map_psock_get_checked: ops replaced by a ULP (MAP-UPD-17). */
	if (sk_is_tcp(sk) && sk->has_ulp)
		return -EBUSY;
	if (conflicts(&psock->progs, want))
		return -EBUSY;
	usm__psock_get(psock);
	*out = psock;
	return 0;
}

int usm__psock_link(struct usm_map *map, struct usm_sock *sk,
		    struct usm_psock **out)
{
	struct usm_sockmap_progs *mp = map_progs(map);
	struct usm_psock_progs want = { { NULL } };
	struct usm_psock *psock;
	bool changed = false;
	int i, err;

	*out = NULL;
	pthread_mutex_lock(&psock_mutex);
	if (mp)
		want = mp->progs;
	err = psock_get_for_insert(sk, &want, &psock);
	if (err)
		goto out;
	/* PRG-09/PSK-02: the programs are copied now; PSK-04: union. */
	for (i = 0; i < USM_PSOCK_NSLOTS; i++) {
		if (!want.prog[i])
			continue;
		usm__prog_get(want.prog[i]);
		set_prog(&psock->progs.prog[i], want.prog[i]);
		changed = true;
	}
	if (changed)
		progs_changed(psock);
	err = init_proto(sk);
	if (!err)
		err = start_rx(psock, &want);
	if (err)
		psock_put_locked(psock); /* MAP-UPD-18 for a new psock */
	else
		*out = psock;
out:
	pthread_mutex_unlock(&psock_mutex);
	usm__psock_flush();
	return err;
}

void usm__psock_unlink(struct usm_sock *sk, struct usm_map *map)
{
	struct usm_sockmap_progs *mp = map_progs(map);
	bool strp_stop = false, verdict_stop = false;
	struct usm_psock *psock;

	if (!mp)
		return; /* not a socket map: its links carry no psock ref */
	pthread_mutex_lock(&psock_mutex);
	psock = sk->psock;
	if (!psock) {
		pthread_mutex_unlock(&psock_mutex);
		return;
	}
	/* sock_map_del_link: judged on the map's programs of now (PSK-06). */
	if (psock->rx != USM_PSOCK_RX_NONE) {
		strp_stop = mp->progs.prog[USM_PSOCK_STREAM_PARSER] != NULL;
		verdict_stop = mp->progs.prog[USM_PSOCK_STREAM_VERDICT] ||
			       mp->progs.prog[USM_PSOCK_SKB_VERDICT];
	}
	if (strp_stop)
		set_prog(&psock->progs.prog[USM_PSOCK_STREAM_PARSER], NULL);
	if (verdict_stop) {
		set_prog(&psock->progs.prog[USM_PSOCK_STREAM_VERDICT], NULL);
		set_prog(&psock->progs.prog[USM_PSOCK_SKB_VERDICT], NULL);
	}
	if (strp_stop || verdict_stop) {
		set_rx(psock, USM_PSOCK_RX_NONE);
		progs_changed(psock);
	}
	psock_put_locked(psock);
	pthread_mutex_unlock(&psock_mutex);
}

struct usm_prog *usm__psock_prog(struct usm_sock *sk, enum usm_psock_slot slot)
{
	struct usm_prog *prog = NULL;

	if ((unsigned)slot >= USM_PSOCK_NSLOTS)
		return NULL;
	pthread_mutex_lock(&psock_mutex);
	if (sk->psock) {
		prog = sk->psock->progs.prog[slot];
		usm__prog_get(prog);
	}
	pthread_mutex_unlock(&psock_mutex);
	return prog;
}

enum usm_psock_rx usm__psock_rx(struct usm_sock *sk)
{
	enum usm_psock_rx rx;

	pthread_mutex_lock(&psock_mutex);
	rx = sk->psock ? sk->psock->rx : USM_PSOCK_RX_NONE;
	pthread_mutex_unlock(&psock_mutex);
	return rx;
}

int usm__sock_claim_user_data(struct usm_sock *sk, void *owner)
{
	int err = 0;

	pthread_mutex_lock(&psock_mutex);
	if (sk->psock || sk->user_data_owner) /* RPA-04, MAP-UPD-16 */
		err = -EBUSY;
	else
		sk->user_data_owner = owner;
	pthread_mutex_unlock(&psock_mutex);
	return err;
}

void usm__sock_release_user_data(struct usm_sock *sk, void *owner)
{
	pthread_mutex_lock(&psock_mutex);
	if (sk->user_data_owner == owner)
		sk->user_data_owner = NULL;
	pthread_mutex_unlock(&psock_mutex);
}
