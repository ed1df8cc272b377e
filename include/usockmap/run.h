/* SPDX-License-Identifier: MIT */
/*
 * Test-running a program: build the context a program type sees from input
 * bytes and a UAPI context, run the program once (or N times for timing)
 * and report what the kernel would have done with the result.
 *
 * The kernel's BPF_PROG_TEST_RUN has no test run for sk_skb, sk_msg,
 * sk_reuseport or sock_ops programs; this is that missing piece, with the
 * verdict mapping of the real data paths:
 *   sk_skb verdict   SK_PASS -> pass; SK_PASS after a successful redirect
 *                    helper -> redirect (ingress to the receiving socket
 *                    itself -> pass); anything else -> drop
 *                    (SEMANTICS SKB-11..14)
 *   sk_skb parser    no verdict: retval is the message length (> 0), 0 =
 *                    need more data, < 0 = error (SKB-01..03)
 *   sk_msg           like the verdict, without the self rule (MSG-04)
 *   sk_reuseport     SK_PASS with a selection -> select; SK_PASS without
 *                    -> pass (hash fallback); SK_DROP -> drop (RPP-04)
 *   sock_ops         no verdict: retval (and the ctx's reply field)
 *
 * Options and results follow libbpf's conventions: opts start with their
 * size (use USM_PROG_RUN_OPTS_INIT or LIBBPF-style designated
 * initialisers), functions return 0 or a negative errno.
 */
#ifndef USOCKMAP_RUN_H
#define USOCKMAP_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct usm_program;
struct usm_map;

/* What the data path does with the run's outcome. */
enum usm_verdict {
	USM_VERDICT_NONE = 0, /* parser, sock_ops: the retval is the result */
	USM_VERDICT_PASS,     /* skb/msg: delivered/sent on the same socket;
				 reuseport: normal hash selection */
	USM_VERDICT_DROP,
	USM_VERDICT_REDIRECT, /* skb/msg: to redirect_map[redirect_key] */
	USM_VERDICT_SELECT,   /* reuseport: selected_map[selected_key] */
};

#define USM_RUN_MAP_NAME_LEN 16u  /* BPF_OBJ_NAME_LEN */
#define USM_RUN_MAX_KEY      512u /* the BPF stack size bounds sockhash keys */
#define USM_RUN_MAX_DATA     (1u << 20) /* data_size_in limit */
#define USM_RUN_MAX_REPEAT   100000000u

/*
 * One real socket to create for the run and insert at @key of @map (a
 * SOCKMAP or SOCKHASH of the program's object; for sk_reuseport also a
 * REUSEPORT_SOCKARRAY), so redirects/selections to that key succeed and to
 * absent keys fail as on the kernel (SKB-17, MSG-16, RPP-05).
 *
 * For sk_skb, sk_msg and sock_ops programs the socket is one end of a
 * connected loopback TCP pair. For sk_reuseport it is a listening TCP
 * socket (a bound UDP socket when the ctx's ip_protocol is IPPROTO_UDP)
 * with SO_REUSEPORT on 127.0.0.1, one port per run, so all of a run's
 * sockets form one reuseport group. The slot is set with BPF_ANY before
 * the first run and deleted after the last; the sockets are closed when
 * usm_prog_run() returns.
 */
struct usm_prog_run_sock {
	struct usm_map *map;
	const void *key;
	uint32_t key_size; /* must equal the map's key size */
};

struct usm_prog_run_opts {
	size_t sz; /* sizeof(struct usm_prog_run_opts) */
	/* Packet / message bytes: sk_skb payload, sk_msg message, sk_reuseport
	 * L4 header + payload. Copied; the caller's buffer is not changed. */
	const void *data_in;
	uint32_t data_size_in;
	/* UAPI context bytes (struct __sk_buff, sk_msg_md, sk_reuseport_md,
	 * bpf_sock_ops), at most the UAPI size; missing bytes are zero. Only
	 * the fields a test may set are accepted (see usm_prog_run()); others
	 * must be zero or the run fails with -EINVAL naming the field. */
	const void *ctx_in;
	uint32_t ctx_size_in;
	uint32_t repeat; /* runs for timing; 0 means 1 */
	/* bpf_printk lines of the first run (no trailing newline). */
	void (*trace)(void *arg, const char *line);
	void *trace_arg;
	/* sk_msg: bytes per scatter-gather chunk; 0 = the kernel's sendmsg
	 * chunking (page-sized pieces). */
	uint32_t msg_chunk_size;
	/* sk_skb: bytes that data..data_end cover before the program pulls
	 * more with bpf_skb_pull_data (SEMANTICS SKB-20/24). The kernel's TCP
	 * receive path keeps the payload in page fragments, so a parser or
	 * verdict on TCP sees an empty linear part (data == data_end, len =
	 * the payload size): 0, the default, is that. A value >= data_size_in
	 * makes the whole payload linear. */
	uint32_t skb_linear_size;
	/* Run the program as this attach type (an sk_skb program may be
	 * attached as parser or verdict, SEMANTICS PRG-07); 0 = the
	 * program's expected attach type. */
	uint32_t attach_type;
	const struct usm_prog_run_sock *socks;
	uint32_t sock_cnt;
	/* 1-based index into socks of the socket the program runs on
	 * (skb->sk = the receiving socket, msg->sk = the sender, the
	 * reuseport group socket, the sock_ops socket); its addresses fill
	 * the ctx's socket fields unless ctx_in sets them. 0 = none: sk_skb
	 * runs with skb->sk NULL; sk_msg and sock_ops get a socket of their
	 * own (they always have one in the kernel); sk_reuseport gets an
	 * extra member of the group. */
	uint32_t sk_sock;
	uint64_t insn_budget; /* 0 = the VM's default */
	/* Error messages ("ctx_in: field mark cannot be set"). */
	char *log_buf;
	size_t log_size;
};
#define usm_prog_run_opts__last_field log_size

#define USM_PROG_RUN_OPTS_INIT {.sz = sizeof(struct usm_prog_run_opts)}

struct usm_prog_run_result {
	uint32_t retval; /* r0, low 32 bits, of the first run */
	int verdict;     /* enum usm_verdict */
	uint32_t prog_type;   /* BPF_PROG_TYPE_* the program ran as */
	uint32_t attach_type; /* attach type the result was mapped for */

	bool redirected;
	char redirect_map[USM_RUN_MAP_NAME_LEN];
	uint8_t redirect_key[USM_RUN_MAX_KEY];
	uint32_t redirect_key_size;
	uint64_t redirect_flags; /* BPF_F_INGRESS or 0 */

	bool selected;
	char selected_map[USM_RUN_MAP_NAME_LEN];
	uint8_t selected_key[USM_RUN_MAX_KEY];
	uint32_t selected_key_size;

	uint32_t apply_bytes, cork_bytes; /* sk_msg, MSG-07/08 */

	/* The packet/message after the run (sk_skb: after store/change_tail/
	 * adjust_room...; sk_msg: after pull/push/pop). malloc'd. */
	void *data_out;
	uint32_t data_size_out;
	/* The UAPI context after the run (writable fields changed), pointer
	 * fields zeroed. malloc'd. */
	void *ctx_out;
	uint32_t ctx_size_out;

	uint32_t runs;
	uint64_t ns_per_run;     /* mean over the timed runs */
	uint64_t run_time_ns;    /* their total (ns_per_run = this / runs) */
	uint64_t insns_executed; /* first run */
	int run_error; /* first run aborted by the VM (e.g. -E2BIG budget) */
};

/*
 * Run @prog (a loaded, verified program of @obj) as described above and
 * fill @res (which the caller releases with usm_prog_run_result_fini, also
 * after a failure). Returns 0 when the program ran (even if it was aborted:
 * see res->run_error), -EINVAL for bad opts/ctx_in/data, -EACCES for a
 * program that was not verified, -EOPNOTSUPP for a program type this does
 * not run, -ENOMEM, or a socket error from creating/inserting socks.
 * Thread-safe for distinct programs.
 */
int usm_prog_run(struct usm_program *prog,
		 const struct usm_prog_run_opts *opts,
		 struct usm_prog_run_result *res);

/* Free what @res holds and zero it. NULL ok. */
void usm_prog_run_result_fini(struct usm_prog_run_result *res);

/* "pass", "drop", "redirect", "select", or NULL for USM_VERDICT_NONE. */
const char *usm_verdict_str(int verdict);

#ifdef __cplusplus
}
#endif

#endif /* USOCKMAP_RUN_H */
