/* SPDX-License-Identifier: MIT */
/*
 * Internal header of the engine module: the per-socket state (struct
 * usm_esock), the engine object, the chunk queues and the functions the
 * engine's files share. Not installed, not for other modules.
 *
 * Threads: the loop thread owns everything of an esock except its ingress
 * queue and the fields marked "lock", which application threads read under
 * esock->lock (usm_recv, FIONREAD, poll fd). The process-wide registry maps
 * fds and sockets to esocks (registry lock). Lock order: psock mutex, then
 * registry lock, then an esock's lock, then the engine's pending lock.
 */
#ifndef USM_ENGINE_ENGINE_INT_H
#define USM_ENGINE_ENGINE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../strparser/strparser.h"
#include "engine.h"

struct usm_prog;

/* One piece of queued data: buf[off, off + len) (buf owned, malloc). For
 * datagram sockets one chunk is one datagram (boundaries kept). */
struct usm_chunk {
	struct usm_chunk *next;
	uint8_t *buf;
	uint32_t off, len;
};

struct usm_cqueue {
	struct usm_chunk *head, *tail;
	uint64_t bytes;
	uint32_t count;
};

/*
 * The engine's state for one socket. Holds a reference on @sk. Refcounted:
 * the engine's list holds one, the registry one, psock->engine one (taken
 * and dropped by the hooks), and callers of usm__esock_find one each.
 */
struct usm_esock {
	int refcnt;
	struct usm_engine *eng;
	struct usm_sock *sk;
	int fd;
	uint32_t flags;            /* USM_ENGINE_OWNED */
	bool stream, tcp, listener;

	/* Application side (lock). */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct usm_cqueue inq;     /* passed and ingress-redirected data */
	bool eof;                  /* peer EOF seen, reported after inq */
	int err;                   /* socket error to report once (errno) */
	bool stuck;                /* strparser aborted: the kernel leaves the
				      bytes in the receive queue, recv says
				      EAGAIN (SKB-03) */
	int sock_err;              /* that abort's error (SO_ERROR) */
	bool detached;             /* usm_close / del_sock / psock gone */
	bool verdict;              /* a verdict runs: recv reads inq only */
	bool fd_gone;              /* the application closes the fd: never
				      touch it again (epoll_ctl under lock) */
	int evfd;                  /* readable iff inq, eof or err */
	bool evset;
	bool waiters;              /* a source waits for this queue to drain */

	/* Loop thread only. */
	struct usm_cqueue outq;    /* egress backlog to the peer (SKB-15) */
	uint32_t ev_reg;           /* events registered in epoll (0: none) */
	bool reading;              /* the engine reads this socket */
	bool paused;               /* reading stopped by backpressure */
	struct usm_esock *blocked_on; /* full target (reference) */
	bool rd_eof, tx_disabled, shut_wr_pending, shut_wr_done;
	int rxmode;                /* enum usm_psock_rx as last refreshed */
	uint32_t rcvbuf;           /* SO_RCVBUF: strparser message limit */
	bool in_dirty, in_pending, closed, linked, psock_gone;
	struct usm_strp strp;      /* RX_STRP framing (strp_on) */
	bool strp_on;
	struct usm_prog *cur_parser, *cur_verdict; /* during a feed */
	struct usm_esock **feeds;  /* egress targets fed (references) */
	uint32_t nfeeds, feeds_cap;
	uint32_t nfed_by;
	struct usm_engine_sock_stats st;

	struct usm_esock *next;       /* engine list */
	struct usm_esock *dirty_next; /* engine dirty list */
	struct usm_esock *pend_next;  /* engine pending list */
	struct usm_esock *reg_next;   /* registry chain by fd */
	struct usm_esock *regsk_next; /* registry chain by socket */
};

struct usm_engine_fdw {
	struct usm_engine_fdw *next;
	int fd;
	bool dead;
	usm_engine_fd_cb cb;
	void *arg;
};

struct usm_engine {
	int epfd, wakefd;
	int stop;
	struct usm_engine_opts opts;
	struct usm_esock *socks;     /* every esock of this engine */
	struct usm_esock *dirty;     /* egress to flush, rx to refresh */
	struct usm_engine_fdw *fdws;
	pthread_mutex_t pend_lock;   /* guards pend and resume */
	struct usm_esock *pend;      /* added or changed by other threads */
	bool resume;                 /* a queue drained: re-check pauses */
	uint8_t *rbuf;               /* read buffer (USM_ENGINE_RBUF) */
	bool in_loop;
};

#define USM_ENGINE_RBUF (64u * 1024u)
#define USM_ENGINE_DEFAULT_MAX (4ull << 20)
#define USM_ENGINE_HEADROOM 256u
#define USM_ENGINE_TAILROOM 256u

/* Tag of the epoll data for the wake fd and fd watchers (low bit set;
 * esock pointers are aligned). */
#define USM_EV_TAG_WAKE 1u

/* queue.c */
void usm__cq_push(struct usm_cqueue *q, struct usm_chunk *c);
struct usm_chunk *usm__cq_pop(struct usm_cqueue *q);
void usm__cq_clear(struct usm_cqueue *q);
struct usm_chunk *usm__chunk_new(uint8_t *buf, uint32_t off, uint32_t len);
struct usm_chunk *usm__chunk_copy(const void *data, uint32_t len);
void usm__chunk_free(struct usm_chunk *c);

/* esock.c */
int usm__esock_new(struct usm_engine *eng, struct usm_sock *sk,
		   uint32_t flags, struct usm_esock **out);
void usm__esock_get(struct usm_esock *es);
void usm__esock_put(struct usm_esock *es);
struct usm_esock *usm__esock_find_fd(int fd);
struct usm_esock *usm__esock_find_sk(const struct usm_sock *sk);
/* The esock an application call on @fd waits on; see esock.c. */
struct usm_esock *usm__esock_for_app_fd(int fd);
void usm__esock_unregister(struct usm_esock *es);
void usm__esock_update_ready(struct usm_esock *es); /* es->lock held */
bool usm__esock_fd_ok(const struct usm_esock *es);
uint64_t usm__esock_queued(struct usm_esock *es);
void usm__engine_wake(struct usm_engine *eng);
void usm__engine_pend(struct usm_engine *eng, struct usm_esock *es);
struct usm_esock *usm__esock_target(struct usm_engine *eng,
				    struct usm_sock *sk);
void usm__engine_forget(struct usm_engine *eng);

/* loop.c */
void usm__engine_set_events(struct usm_engine *eng, struct usm_esock *es);
void usm__engine_mark_dirty(struct usm_engine *eng, struct usm_esock *es);
void usm__engine_close_sock(struct usm_engine *eng, struct usm_esock *es);
uint64_t usm__engine_max(const struct usm_engine *eng);

/* rx.c */
void usm__rx_refresh(struct usm_esock *es);
void usm__rx_readable(struct usm_esock *es);
void usm__rx_feed_stream(struct usm_esock *es, const uint8_t *data,
			 uint32_t len);
void usm__rx_resume(struct usm_esock *es);

/* verdict.c */
void usm__verdict_run(struct usm_esock *es, struct usm_prog *prog,
		      uint32_t attach_type, const uint8_t *data,
		      uint32_t len);
/* The same over a strparser view: the program sees data[0, len) (SKB-07);
 * data[off, off + msg_len) of the result is what is delivered. */
void usm__verdict_run_view(struct usm_esock *es, struct usm_prog *prog,
			   uint32_t attach_type, const uint8_t *data,
			   uint32_t len, uint32_t off, uint32_t msg_len);
void usm__verdict_ingress(struct usm_esock *es, struct usm_chunk *c);

/* Run the stream parser on @len bytes: its return value, or a negative
 * errno when the run failed. */
int64_t usm__verdict_parse(struct usm_esock *es, struct usm_prog *prog,
			   const uint8_t *data, uint32_t len);

/* egress.c */
void usm__egress_flush(struct usm_esock *es);
void usm__egress_resume(struct usm_engine *eng);
void usm__egress_eof(struct usm_esock *es);
void usm__egress_fail(struct usm_esock *es, int err);

#endif /* USM_ENGINE_ENGINE_INT_H */
