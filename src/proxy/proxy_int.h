/* SPDX-License-Identifier: MIT */
/*
 * Internal state of the proxy (src/proxy/ only). A struct usm_proxy owns
 * the object, the engine, its listeners, connections, signalfd, timerfd
 * and control socket. A connection (px_conn) owns its two endpoints; an
 * endpoint (px_ep) holds one reference on its usm_sock; the socket's own
 * fd is always handed to the engine (USM_ENGINE_OWNED: the engine closes
 * it), and for plain forwarding the proxy reads and writes a dup of it.
 */
#ifndef USM_PROXY_PROXY_INT_H
#define USM_PROXY_PROXY_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "proxy.h"

struct usm_engine;
struct usm_object;
struct usm_map;
struct usm_prog;
struct usm_sock;

#define PX_CHUNK (64u * 1024u)

struct px_conn;
struct px_rp;

struct px_ep {
	struct px_conn *conn;
	struct px_ep *peer;
	struct usm_sock *sk;    /* one reference */
	int fd;                 /* the proxy's fd: a dup of the socket's
				   (plain forwarding), or -1 */
	bool registered;        /* the engine owns the socket's fd
				   (USM_ENGINE_OWNED: it closes it) */
	bool in_engine;         /* ... and reads it (receive programs) */
	bool watched;           /* fd is watched with usm__engine_add_fd */
	bool closed;
	bool readable, writable, rd_eof, wr_shut;
	uint8_t *pend;          /* bytes waiting to be written to fd */
	uint32_t pend_off, pend_len;
	uint64_t bytes_in, bytes_out;
};

struct px_conn {
	struct px_conn *next;
	uint64_t id;
	struct usm_proxy *proxy;      /* borrowed */
	struct px_ep client, backend; /* backend.fd < 0: no backend */
	bool dead;
	uint64_t dead_tick;           /* p->ticks when it died */
};

struct px_listener {
	int fd;
	struct usm_sock *sk;
	struct sockaddr_storage addr;
};

struct px_place {
	struct usm_map *map;
	uint8_t key[64];
	enum usm_proxy_role role;
};

struct usm_proxy {
	struct usm_object *obj;
	struct usm_engine *eng;
	struct usm_prog **sockops;  /* references */
	uint32_t n_sockops;
	struct px_listener *ls;
	uint32_t n_ls;
	struct sockaddr_storage *be;
	uint32_t *be_len;
	uint32_t n_be, rr;
	struct px_place *place;
	uint32_t n_place;
	struct px_conn *conns;
	uint32_t n_conns, max_conns;
	uint64_t next_id;
	int sig_fd, tick_fd, ctl_fd;
	char *ctl_path;
	uint64_t deadline_ms;       /* 0: none */
	bool stopping;
	uint64_t ticks, drain_until_ms, drain_queued;
	bool trace, json;
	FILE *out;
	uint64_t accepted, refused;
	struct px_rp *rp;           /* --reuseport group, or NULL */
};

/* conn.c */
int usm__px_listen_all(struct usm_proxy *p, const struct usm_proxy_opts *o,
		       char *err, size_t n);
void usm__px_close_listeners(struct usm_proxy *p);
void usm__px_conn_free_all(struct usm_proxy *p);
void usm__px_reap(struct usm_proxy *p);
void usm__px_retry_pending(struct usm_proxy *p);
uint64_t usm__px_pending(struct usm_proxy *p);
/* Serve an accepted client @cfd like a --listen connection (owns it). */
void usm__px_conn_new(struct usm_proxy *p, int cfd);

/* sockops.c */
void usm__px_run_sockops(struct usm_proxy *p, struct usm_sock *sk,
			 uint32_t op);
void usm__px_place(struct usm_proxy *p, struct usm_sock *sk,
		   enum usm_proxy_role role);
int usm__px_parse_key(const char *text, uint32_t size, uint8_t *out);
struct usm_engine_event;
void usm__px_trace_ev(void *arg, const struct usm_engine_event *ev);
void usm__px_printk(void *arg, struct usm_sock *sk, const char *line);
void usm__px_fmt_addr(const struct sockaddr_storage *ss, char *buf, size_t n);
int usm__px_sock_addrs(const struct usm_sock *sk, char *loc, char *rem,
		       size_t n);

/* control.c */
int usm__px_control_open(struct usm_proxy *p, const char *path, char *err,
			 size_t n);
void usm__px_control_close(struct usm_proxy *p);

/* attach.c */
int usm__px_attach_progs(struct usm_proxy *p, const struct usm_proxy_opts *o,
			 char *err, size_t n);

/* reuseport.c */
int usm__px_rp_open(struct usm_proxy *p, const struct usm_proxy_opts *o,
		    char *err, size_t n);
void usm__px_rp_stop(struct usm_proxy *p);
void usm__px_rp_reap(struct usm_proxy *p);
void usm__px_rp_close(struct usm_proxy *p);
void usm__px_rp_stats(const struct usm_proxy *p, FILE *f, bool json);

#endif /* USM_PROXY_PROXY_INT_H */
