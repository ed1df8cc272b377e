/* SPDX-License-Identifier: MIT */
/*
 * The psock: per-socket state of a socket that sits in at least one SOCKMAP
 * or SOCKHASH (the kernel's struct sk_psock, net/core/skmsg.c), and the
 * programs attached to socket maps (struct sk_psock_progs on the map,
 * net/core/sock_map.c).
 *
 * What lives here:
 *   - the four program slots a map and a psock have (msg verdict, stream
 *     parser, stream verdict, skb verdict), each holding a reference;
 *   - attach/detach/link/query on a map's slots with the kernel's rules and
 *     error order (SEMANTICS PRG-01..17);
 *   - psock creation on first insert, program inheritance at insert time,
 *     the conflict rule, the receive-mode decision and teardown
 *     (PSK-01..08, MAP-UPD-15..18).
 *
 * What does not: moving data. The receive/send engine (a later module)
 * reads the psock's programs and receive mode and is told about changes
 * through struct usm_psock_hooks.
 *
 * Lifetime: a psock is created by usm__psock_link() for a socket that has
 * none and holds one reference per map link of its socket plus temporary
 * references (usm__psock_get/put). The last put detaches it from the socket
 * (sk->psock = NULL), calls hooks->drop and frees it (PSK-07). The psock
 * holds a reference on its socket.
 *
 * Locking: one process-wide mutex (the kernel's sockmap_mutex plus the
 * socket locks it takes) guards every map's program slots and every
 * psock's programs and receive mode. Lock order: a map's lock, then this
 * mutex, then a socket's link_lock. Hooks are called with it held (and
 * sometimes a map lock): they must not call back into maps or psocks, only
 * record or schedule work.
 */
#ifndef USM_SOCK_PSOCK_H
#define USM_SOCK_PSOCK_H

#include <stdbool.h>
#include <stdint.h>

struct usm_map;
struct usm_prog;
struct usm_sock;
struct usm_link;

/* Program slots, in the kernel's sk_psock_progs order. */
enum usm_psock_slot {
	USM_PSOCK_MSG_VERDICT = 0, /* BPF_SK_MSG_VERDICT (msg_parser) */
	USM_PSOCK_STREAM_PARSER,   /* BPF_SK_SKB_STREAM_PARSER */
	USM_PSOCK_STREAM_VERDICT,  /* BPF_SK_SKB_STREAM_VERDICT */
	USM_PSOCK_SKB_VERDICT,     /* BPF_SK_SKB_VERDICT */
	USM_PSOCK_NSLOTS,
};

/* One program per slot; each non-NULL entry holds a reference. */
struct usm_psock_progs {
	struct usm_prog *prog[USM_PSOCK_NSLOTS];
};

/* A socket map's attachments: programs, and the link (if any) that owns
 * each slot (borrowed: a link clears its slot before it goes away). */
struct usm_sockmap_progs {
	struct usm_psock_progs progs;
	struct usm_link *link[USM_PSOCK_NSLOTS];
};

/* Receive path of a psock (the kernel's saved_data_ready and strparser). */
enum usm_psock_rx {
	USM_PSOCK_RX_NONE = 0, /* native receive (no verdict runs) */
	USM_PSOCK_RX_STRP,     /* stream parser + stream verdict (TCP) */
	USM_PSOCK_RX_VERDICT,  /* per-buffer verdict (stream or skb verdict) */
};

struct usm_psock {
	int refcnt;              /* map links + temporary references */
	struct usm_sock *sk;     /* one reference */
	struct usm_psock_progs progs;
	enum usm_psock_rx rx;    /* set at insert (PSK-05), cleared (PSK-06) */
	void *engine;            /* the engine's per-socket state, its own */
	/* Addition (send path, src/send/): the sk_msg send state (cork,
	 * apply window, redirect target) and its destructor, called when
	 * the psock is destroyed with the psock mutex held (MSG-10: corked
	 * bytes are freed, never sent). Set under the psock mutex. */
	void *tx;
	void (*tx_free)(void *tx);
};

/*
 * What the engine is told (all optional). Called with the psock mutex held
 * and possibly a map lock: record the change, never call back.
 *   rx_changed  rx went from one mode to another (start or stop)
 *   progs_changed a program slot of the psock changed
 *   drop        the psock is being destroyed: free what engine holds, the
 *               queued data is discarded (PSK-07)
 */
struct usm_psock_hooks {
	void (*rx_changed)(struct usm_psock *psock, enum usm_psock_rx old_rx);
	void (*progs_changed)(struct usm_psock *psock);
	void (*drop)(struct usm_psock *psock);
};

/* Install the engine's hooks (NULL: none). Process-wide. */
void usm__psock_set_hooks(const struct usm_psock_hooks *hooks);

/* Slot for a sockmap attach type, or -1 for any other attach type. */
int usm__psock_slot_of(uint32_t attach_type);

/* ---- map programs (sock_map_prog_update and friends) ---- */

/* The attachments of a SOCKMAP/SOCKHASH (usm__sockmap_progs dispatches
 * on the type; NULL for other maps, or NULL map). Defined by the map types
 * (maps/sockmap.c, maps/sockhash.c). */
struct usm_sockmap_progs *usm__sockmap_progs(struct usm_map *map);
struct usm_sockmap_progs *usm__sockhash_progs(struct usm_map *map);

/*
 * BPF_PROG_ATTACH on a socket map: install @prog (caller's reference is
 * not consumed) in the slot of @attach_type. Errors in the kernel's order:
 * -EOPNOTSUPP (not a socket map, or unknown type), -EBUSY (stream/skb
 * verdict exclusivity PRG-06, or a link owns the slot PRG-13). Replaces a
 * plain attachment silently (PRG-05). On error nothing changed.
 */
int usm__sockmap_prog_attach(struct usm_map *map, struct usm_prog *prog,
			     uint32_t attach_type);

/*
 * BPF_PROG_DETACH: remove @prog from the slot. -EOPNOTSUPP, -EBUSY (as
 * attach), -ENOENT when @prog is not the program attached there (PRG-08).
 */
int usm__sockmap_prog_detach(struct usm_map *map, struct usm_prog *prog,
			     uint32_t attach_type);

/*
 * BPF_PROG_QUERY for one slot: *prog_id = id of the attached program or 0.
 * -EOPNOTSUPP (not a socket map), -EBUSY (verdict exclusivity, PRG-11).
 */
int usm__sockmap_prog_query(struct usm_map *map, uint32_t attach_type,
			    uint32_t *prog_id);

/*
 * Link attach/detach/update on a slot (the kernel's sock_map_prog_update
 * with a link, and sock_map_link_update_prog). @link is an opaque owner
 * token. Attach: -EOPNOTSUPP, -EBUSY (exclusivity, or a link owns the
 * slot); a plain program in the slot is replaced (PRG-14). Detach: removes
 * @prog if it is still there and releases the slot (PRG-16). Update:
 * -EBUSY if @link does not own the slot, -ENOENT if @old is given and not
 * the current program; on success installs @prog.
 */
int usm__sockmap_link_attach(struct usm_map *map, struct usm_prog *prog,
			     struct usm_link *link, uint32_t attach_type);
int usm__sockmap_link_detach(struct usm_map *map, struct usm_prog *prog,
			     struct usm_link *link, uint32_t attach_type);
int usm__sockmap_link_update(struct usm_map *map, struct usm_prog *prog,
			     struct usm_prog *old, struct usm_link *link,
			     uint32_t attach_type);

/* Drop every program of a map's slots (map_release_uref, MAP-CRT-13; and
 * map free). Links keep their slot ownership until they go. */
void usm__sockmap_progs_release(struct usm_sockmap_progs *mp);

/*
 * Drop the program references this thread queued while holding locks
 * (psock.c never frees a program under a lock). Call with no lock held;
 * the entry points here do it themselves except usm__psock_unlink, which
 * runs under a map lock: the map code calls this after unlocking.
 */
void usm__psock_flush(void);

/* The mutex above, for code that reads program slots (the engine, tests):
 * lock, read, take references, unlock. */
void usm__psock_lock(void);
void usm__psock_unlock(void);

/* ---- psock ---- */

/*
 * The insert half of the kernel's sock_map_link(), run before a map slot
 * is written: copy @map's programs into @sk's psock (creating it), in the
 * kernel's order of checks:
 *   -EBUSY   the socket's protocol ops were replaced by a ULP after it
 *            entered a map (MAP-UPD-17), or the psock already has a
 *            program of a kind @map has (PSK-03; stream and skb verdict
 *            count as one kind)
 *   -EINVAL  a first insertion of a TCP socket with a ULP (MAP-UPD-15)
 *   -EBUSY   the socket's user-data slot is owned elsewhere (MAP-UPD-16:
 *            a REUSEPORT_SOCKARRAY)
 *   -ENOMEM
 *   -EOPNOTSUPP unix seqpacket (MAP-UPD-07); parser + stream verdict on a
 *            non-TCP socket (PSK-05)
 * On success *out is the psock and the caller owns one reference on it
 * that becomes the map link's (usm__sock_add_link) or is dropped with
 * usm__psock_put() if the slot write then fails (MAP-UPD-18). As in the kernel, a psock
 * that existed before keeps the programs it was given even when a later
 * step fails; a psock created by the call is destroyed by that put.
 */
int usm__psock_link(struct usm_map *map, struct usm_sock *sk,
		    struct usm_psock **out);

/*
 * A map link of @sk to @map was removed (sock_map_del_link +
 * sock_map_unref): if @map's current programs include a parser or verdict
 * and the receive path runs, stop it and clear those programs (PSK-06);
 * then drop the link's psock reference. Called by usm__sock_del_link for
 * every link it removes; links of maps that are not SOCKMAP/SOCKHASH (a
 * REUSEPORT_SOCKARRAY may link sockets too) carry no psock reference and
 * are ignored.
 */
void usm__psock_unlink(struct usm_sock *sk, struct usm_map *map);

void usm__psock_get(struct usm_psock *psock);
/* NULL ok. Call with no map lock held (it flushes, see below). */
void usm__psock_put(struct usm_psock *psock);

/*
 * Reference on the program in @slot of @sk's psock, or NULL (no psock or
 * empty slot). For the engine and tests.
 */
struct usm_prog *usm__psock_prog(struct usm_sock *sk, enum usm_psock_slot slot);

/* @sk's receive mode (USM_PSOCK_RX_NONE without psock). */
enum usm_psock_rx usm__psock_rx(struct usm_sock *sk);

/*
 * The socket's user-data slot (the kernel's sk_user_data), shared by the
 * psock and REUSEPORT_SOCKARRAY: a reuseport array claims it for a socket
 * it stores (-EBUSY if the socket has a psock or the slot is already
 * claimed by anyone, SEMANTICS RPA-04) and releases it when the socket
 * leaves the array; while claimed, a sockmap insert fails with -EBUSY
 * (MAP-UPD-16). Release with another owner is a no-op.
 */
int usm__sock_claim_user_data(struct usm_sock *sk, void *owner);
void usm__sock_release_user_data(struct usm_sock *sk, void *owner);

/* Number of psocks alive (tests, leak checks). */
uint32_t usm__psock_count(void);

#endif /* USM_SOCK_PSOCK_H */
