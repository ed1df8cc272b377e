/* SPDX-License-Identifier: MIT */
/*
 * The send path (tx) internals: the per-psock sk_msg send state and the
 * kernel's tcp_bpf_sendmsg / tcp_bpf_send_verdict model (net/ipv4/
 * tcp_bpf.c) split into the copy-in loop (send.c) and the verdict and
 * delivery step (verdict.c). SEMANTICS MSG-01..22.
 *
 * Ownership: struct usm_tx hangs off psock->tx (created by the first send
 * through an sk_msg program, freed with the psock: MSG-10). It owns the
 * corked message, the sender's page frag and a reference on the redirect
 * target of a verdict carried across calls (MSG-07). All fields are
 * guarded by tx->lock, held for a whole send call (the kernel's
 * lock_sock); the caller of a send holds a psock reference, so the psock
 * (and tx) cannot be destroyed during the call.
 */
#ifndef USM_SEND_SEND_H
#define USM_SEND_SEND_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../progtype/progtype.h"
#include "../skmsg/msg.h"

struct usm_prog;
struct usm_sock;

/* psock->eval: the verdict in force (skmsg.h __SK_*). */
enum usm_tx_eval {
	USM_TX_NONE = 0,
	USM_TX_PASS,
	USM_TX_DROP,
	USM_TX_REDIRECT,
};

/*
 * One message (the kernel's struct sk_msg): the ring and the context the
 * program runs on. The context's apply/cork/redirect records live as long
 * as the message, as the kernel's msg->apply_bytes, cork_bytes and
 * sk_redir do (a re-run that records nothing keeps them). redir_ref holds
 * a reference on ctx.redir.sk while that is set.
 */
struct usm_tx_msg {
	struct usm_sk_msg m;
	struct usm_msg_ctx ctx;
	struct usm_sock *redir_ref;
};

/* The psock's send state (struct sk_psock's cork, cork_bytes,
 * apply_bytes, eval, sk_redir, redir_ingress). */
struct usm_tx {
	pthread_mutex_t lock;
	struct usm_msg_frag frag;   /* the sender's page frag */
	struct usm_tx_msg *cork;    /* held message, or NULL (owned) */
	uint32_t cork_bytes;        /* bytes still missing (MSG-08) */
	uint32_t apply_bytes;       /* bytes left under the verdict (MSG-07) */
	enum usm_tx_eval eval;
	struct usm_sock *sk_redir;  /* one reference, or NULL */
	bool redir_ingress;
};

/* One send call on a TCP socket with an sk_msg program. */
struct usm_tx_call {
	struct usm_sock *sk;        /* the sender (borrowed) */
	struct usm_tx *tx;          /* its state, locked */
	struct usm_prog *prog;      /* the sk_msg program (borrowed) */
	int flags;                  /* the caller's MSG_* flags */
	int64_t copied;             /* bytes accepted so far */
};

/* Message lifetime: init empty (fields zero); fini frees the bytes and
 * the redirect reference (the struct stays usable). */
void usm__tx_msg_init(struct usm_tx_msg *tm);
void usm__tx_msg_fini(struct usm_tx_msg *tm);

/*
 * tcp_bpf_send_verdict: run the program on @tm if no verdict is in force,
 * then cork, pass, drop or redirect, repeating while bytes remain. @tm is
 * either the caller's temporary message or call->tx->cork; on return a
 * temporary one is empty unless it became the cork (then it was moved and
 * re-initialised). Returns 0, -EACCES (dropped; call->copied reduced by
 * what was dropped, MSG-05), or a delivery error (-EAGAIN, -EPIPE,
 * -EOPNOTSUPP, ...) with the undelivered bytes freed and uncounted.
 */
int usm__tx_verdict(struct usm_tx_call *call, struct usm_tx_msg *tm);

/*
 * Write the first @bytes of @msg to @sk's fd, consuming what was written.
 * Waits for room up to @sk's SO_SNDTIMEO unless MSG_DONTWAIT is in @flags
 * or the fd is non-blocking. @redir: @sk is a redirect target, so stop
 * with -EPIPE when it loses its psock while we wait (MSG-20/21).
 * Returns 0 or -errno (bytes written before an error stay consumed).
 */
int usm__tx_push(struct usm_sock *sk, struct usm_sk_msg *msg, uint32_t bytes,
		 int flags, bool redir);

/* The psock's tx destructor (psock->tx_free). */
void usm__tx_free(void *tx);

#endif /* USM_SEND_SEND_H */
