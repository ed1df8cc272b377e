/* SPDX-License-Identifier: MIT */
/*
 * The programmable proxy behind `usockmap run`: load a user's BPF object,
 * attach its sk_skb/sk_msg programs to the socket maps they use, listen,
 * accept clients, open one backend connection per client (round-robin),
 * place the sockets in maps the kernel way (the object's sockops programs
 * with PASSIVE_ESTABLISHED / ACTIVE_ESTABLISHED / TCP_LISTEN, SEMANTICS
 * MAP-BPF-01, or flag-based placement), and hand sockets that have receive
 * programs to the engine (src/engine/engine.h). A pair of sockets without
 * receive programs is forwarded by the proxy itself, so an object with only
 * a sockops program still behaves like a proxy. A unix control socket
 * serves stats and map commands (docs/proxy.md has the protocol).
 *
 * One thread: everything runs in the engine's loop (the proxy watches its
 * listeners, signalfd, timerfd and control socket through
 * usm__engine_add_fd). Not thread-safe.
 */
#ifndef USM_PROXY_PROXY_H
#define USM_PROXY_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct usm_proxy;

/* Role of a socket for flag-based placement (--map NAME:KEY=ROLE). */
enum usm_proxy_role {
	USM_PROXY_CLIENT = 0,
	USM_PROXY_BACKEND,
	USM_PROXY_LISTENER,
};

struct usm_proxy_place {
	const char *map;  /* map name */
	const char *key;  /* key text: decimal or 0x + 2*key_size hex */
	enum usm_proxy_role role;
};

struct usm_proxy_attach {
	const char *prog; /* program name */
	const char *map;  /* socket map name */
};

struct usm_proxy_opts {
	size_t sz;                   /* sizeof(struct usm_proxy_opts) */
	const char *obj_path;
	const char *const *listen;   /* "ADDR:PORT" ("[v6]:PORT" for IPv6) */
	uint32_t n_listen;
	const char *const *backend;
	uint32_t n_backend;
	const struct usm_proxy_place *place;
	uint32_t n_place;
	const struct usm_proxy_attach *attach;
	uint32_t n_attach;
	bool trace, trace_json;      /* verdict trace and bpf_printk lines */
	FILE *trace_out;             /* default stdout */
	const char *control_path;    /* NULL: $XDG_RUNTIME_DIR or /tmp,
					usockmap-<pid>.sock; "" = none */
	uint32_t max_conns;          /* 0 = unlimited */
	uint32_t duration_ms;        /* 0 = until SIGINT/SIGTERM */
	uint64_t max_queued_bytes;   /* engine's per-socket bound, 0 default */
	/* --reuseport: a group on this ADDR:PORT (NULL: none) */
	const char *reuseport;
	uint32_t rp_workers;         /* members, 0 = 4 */
	int rp_proto;                /* SOCK_STREAM (0 = that) or SOCK_DGRAM */
	const char *rp_prog;         /* sk_reuseport program; NULL: the only one */
	const char *rp_map;          /* selection map; NULL: the one it uses */
};

/*
 * Load the object, attach its programs, create the engine, listen and
 * open the control socket. On failure returns -errno with a one-line
 * reason in @err (nothing is left open). Blocks SIGINT and SIGTERM in the
 * calling thread (they are read from a signalfd by usm__proxy_run).
 */
int usm__proxy_new(const struct usm_proxy_opts *opts, struct usm_proxy **out,
		   char *err, size_t err_size);

/*
 * Serve until SIGINT/SIGTERM or the duration passes, then stop accepting,
 * drain queued data (bounded, 2 s) and return 0, or -errno if the loop
 * failed.
 */
int usm__proxy_run(struct usm_proxy *p);

/* Close everything (NULL ok); removes the control socket file. */
void usm__proxy_free(struct usm_proxy *p);

/* Path of the control socket, or NULL when there is none. */
const char *usm__proxy_control_path(const struct usm_proxy *p);

/* The bound address of listener @i ("127.0.0.1:PORT"), for --listen
 * 127.0.0.1:0. 0 or -ENOENT. */
int usm__proxy_listen_addr(const struct usm_proxy *p, uint32_t i, char *buf,
			   size_t size);

/* The bound address of the --reuseport group. 0 or -ENOENT. */
int usm__proxy_rp_addr(const struct usm_proxy *p, char *buf, size_t size);

/* Parse "ADDR:PORT" / "[ADDR6]:PORT" into @ss. 0 or -EINVAL. */
int usm__proxy_parse_addr(const char *text, void *ss, uint32_t *len);

#endif /* USM_PROXY_PROXY_H */
