/* SPDX-License-Identifier: MIT */
/*
 * The engine: one event loop (epoll) that owns the wire side of every socket
 * whose psock has receive programs (or that the proxy hands it), runs the
 * receive path (strparser -> verdict -> pass / drop / redirect) and the
 * egress backlog with backpressure, per DESIGN.md and SEMANTICS SKB-*,
 * RECV-*.
 *
 * Loop phases (one iteration of usm__engine_run_once): (1) epoll_wait;
 * (2) readable sockets are read in large batches and their data run through
 * the programs; redirected data is queued on the target; (3) writable
 * targets flush their egress backlog; sources blocked on a full target are
 * resumed when it drains; (4) deferred closes and frees. Callbacks never run
 * from the call that registers them. Loop thread only, unless a function
 * says otherwise.
 *
 * Which engine owns a socket: sockets handed over by usm__engine_add_sock,
 * and sockets that get a receive mode (PSK-05) while the engine adopts
 * psocks (usm__engine_adopt_psocks). Without an adopting engine, the
 * first receive mode starts a process-wide default engine on its own
 * thread (the embedded API, <usockmap/sock.h>); it lives until exit.
 * A redirect target without an engine yet joins the source's engine.
 *
 * End of stream for USM_ENGINE_OWNED sockets (the proxy): when one reads
 * EOF or fails, every socket it fed through egress redirects gets
 * shutdown(SHUT_WR) once its backlog is written; an owned socket is
 * closed (unlinked from every map, LIFE-01, fd closed) when it read EOF,
 * its backlog is written and either its write side was shut that way or
 * nothing feeds it and everything it fed is closed. A read error (RST)
 * closes it at once. Sockets with an application keep their fd: EOF
 * becomes a readable EOF for usm_recv (RECV-07).
 *
 * This header is the contract between the engine (src/engine/) and its
 * users (the `usockmap run` proxy, the application-side API). The engine
 * owner may extend it; nothing here may be removed.
 */
#ifndef USM_ENGINE_ENGINE_H
#define USM_ENGINE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct usm_engine;
struct usm_sock;
struct usm_map;

/* One verdict, for --trace: what ran on which socket and what it decided. */
struct usm_engine_event {
	struct usm_sock *sk;     /* socket the program ran on */
	const char *prog;        /* program name */
	uint32_t attach_type;    /* BPF_SK_SKB_STREAM_PARSER / _VERDICT / ... */
	uint32_t len;            /* message length */
	int retval;              /* program's return value */
	int action;              /* enum usm_verdict from <usockmap/run.h> */
	struct usm_map *map;     /* redirect target map, or NULL */
	const void *key;         /* redirect key (key_size bytes of map) */
	uint64_t flags;          /* redirect flags */
	struct usm_sock *target; /* redirect target socket or NULL */
};

struct usm_engine_opts {
	size_t sz;
	/* Bytes a socket may hold queued (egress backlog to its peer, or
	 * ingress queue for its application) before the engine stops reading
	 * from the sockets that feed it. 0 = default (4 MiB). */
	uint64_t max_queued_bytes;
	/* Called once per verdict / parser result when set (loop thread). */
	void (*trace)(void *arg, const struct usm_engine_event *ev);
	void *trace_arg;
	/* bpf_printk lines from programs the engine runs. */
	void (*printk)(void *arg, struct usm_sock *sk, const char *line);
	void *printk_arg;
};

/* Per-socket counters (usockmap stats). */
struct usm_engine_sock_stats {
	uint64_t bytes_in;   /* read from the wire */
	uint64_t bytes_out;  /* written to the wire */
	uint64_t pass, drop, redirect; /* verdicts on data read here */
	uint64_t queued;     /* bytes waiting (egress backlog + ingress) */
	bool eof, error;
	bool paused;         /* reading stopped: a target it feeds is full */
};

int usm__engine_new(const struct usm_engine_opts *opts,
		    struct usm_engine **out);
/* Stops and frees; sockets are released (not closed unless engine-owned). */
void usm__engine_free(struct usm_engine *eng);

/* Run iterations until usm__engine_stop() or, if timeout_ms >= 0, until
 * that many ms passed. Returns 0 or -errno. */
int usm__engine_run(struct usm_engine *eng, int timeout_ms);
/* One iteration, waiting at most timeout_ms for events. */
int usm__engine_run_once(struct usm_engine *eng, int timeout_ms);
/* Ask the loop to return. Any thread; async-signal-safe. */
void usm__engine_stop(struct usm_engine *eng);

/* Flags for usm__engine_add_sock. */
#define USM_ENGINE_OWNED 0x1u /* no application side: the engine closes the
				 fd when the peer is gone (proxy sockets) */

/* Let the engine own the wire side of @sk (it must be non-blocking-safe:
 * the engine sets O_NONBLOCK). Takes a reference. -EEXIST if present. */
int usm__engine_add_sock(struct usm_engine *eng, struct usm_sock *sk,
			 uint32_t flags);
/* Forget @sk (deferred to the end of the iteration). */
void usm__engine_del_sock(struct usm_engine *eng, struct usm_sock *sk);

int usm__engine_sock_stats(struct usm_engine *eng, struct usm_sock *sk,
			   struct usm_engine_sock_stats *st);
/* Call @cb for every socket the engine knows (loop thread). */
void usm__engine_for_each_sock(struct usm_engine *eng,
			       void (*cb)(void *arg, struct usm_sock *sk),
			       void *arg);

/* Watch a non-socket fd (listener, control socket, signalfd): @cb runs in
 * the loop thread with the epoll events. */
typedef void (*usm_engine_fd_cb)(void *arg, int fd, uint32_t events);
int usm__engine_add_fd(struct usm_engine *eng, int fd, uint32_t events,
		       usm_engine_fd_cb cb, void *arg);
int usm__engine_del_fd(struct usm_engine *eng, int fd);

/*
 * Make @eng the engine that the psock hooks hand sockets to when they get
 * a receive mode (PSK-05), instead of the process-wide default engine that
 * is otherwise started lazily on its own thread. The proxy calls this for
 * its own engine before placing sockets in maps. NULL: back to the
 * default. usm__engine_free() of that engine undoes it.
 */
int usm__engine_adopt_psocks(struct usm_engine *eng);

/* usm_close() tells the engine that the application closes @fd (before
 * the close): the socket stops being the engine's. Any thread. */
void usm__engine_fd_closing(int fd);

/* Queue @len bytes on @sk's receive side for usm_recv (sk_msg ingress
 * redirect, MSG-18). Any thread. 0 or -ENOMEM. */
int usm__engine_ingress(struct usm_sock *sk, const void *data, uint32_t len);

#endif /* USM_ENGINE_ENGINE_H */
