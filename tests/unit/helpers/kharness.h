/* SPDX-License-Identifier: MIT */
/*
 * Test support for tests/unit/helpers: a tiny BPF assembler with labels
 * for the kernel-side programs of the differential tests, loading them with
 * the verifier log shown on failure, and loopback socket pairs.
 */
#ifndef USM_TEST_KHARNESS_H
#define USM_TEST_KHARNESS_H

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "usm_test.h"

struct kasm {
	struct bpf_insn i[96];
	int n;
	int label[8];
	struct { int at, label; } fix[32];
	int nfix;
};

static inline void emit(struct kasm *a, uint8_t code, uint8_t dst, uint8_t src,
		 int16_t off, int32_t imm)
{
	struct bpf_insn *x = &a->i[a->n++];

	memset(x, 0, sizeof(*x));
	x->code = code;
	x->dst_reg = dst;
	x->src_reg = src;
	x->off = off;
	x->imm = imm;
}

static inline void jmp_to(struct kasm *a, uint8_t op, uint8_t dst, int32_t imm,
		   int label)
{
	a->fix[a->nfix].at = a->n;
	a->fix[a->nfix++].label = label;
	emit(a, BPF_JMP | op | BPF_K, dst, 0, 0, imm);
}

static inline void here(struct kasm *a, int label)
{
	a->label[label] = a->n;
}

static inline void resolve(struct kasm *a)
{
	int k;

	for (k = 0; k < a->nfix; k++)
		a->i[a->fix[k].at].off =
			(int16_t)(a->label[a->fix[k].label] - a->fix[k].at - 1);
}

#define MOVR(d, s) emit(a, BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define MOVI(d, v) emit(a, BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, v)
#define ADDI(d, v) emit(a, BPF_ALU64 | BPF_ADD | BPF_K, d, 0, 0, v)
#define LDX(sz, d, s, o) emit(a, BPF_LDX | BPF_MEM | (sz), d, s, o, 0)
#define STX(sz, d, s, o) emit(a, BPF_STX | BPF_MEM | (sz), d, s, o, 0)
#define CALL(id) emit(a, BPF_JMP | BPF_CALL, 0, 0, 0, id)
#define JA(label) jmp_to(a, BPF_JA, 0, 0, label)
#define EXIT() emit(a, BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
#define LDMAP(d, fd)                                                           \
	do {                                                                   \
		emit(a, BPF_LD | BPF_IMM | BPF_DW, d, BPF_PSEUDO_MAP_FD, 0,    \
		     fd);                                                      \
		emit(a, 0, 0, 0, 0, 0);                                        \
	} while (0)

/* Resolve labels and load; on failure show the end of the verifier log. */
static inline int kasm_load(struct kasm *a, uint32_t type, uint32_t attach)
{
	static char log[65536];
	LIBBPF_OPTS(bpf_prog_load_opts, o, .log_buf = log,
		    .log_size = sizeof(log), .log_level = 1,
		    .expected_attach_type = attach);
	int fd;

	resolve(a);
	log[0] = '\0';
	fd = bpf_prog_load(type, "usm_diff", "GPL", a->i, (size_t)a->n, &o);
	if (fd < 0) {
		size_t n = strlen(log);

		print_message("# kernel verifier: %s\n",
			      n > 600 ? log + n - 600 : log);
	}
	return fd;
}

/* Connected loopback TCP pair: *c connects, *p is the accepted end. */
static inline int tcp_pair(int *c, int *p)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int l;

	*c = *p = -1;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0)
		return -1;
	if (bind(l, (void *)&a, sizeof(a)) || listen(l, 1) ||
	    getsockname(l, (void *)&a, &len)) {
		close(l);
		return -1;
	}
	*c = socket(AF_INET, SOCK_STREAM, 0);
	if (*c < 0 || connect(*c, (void *)&a, sizeof(a))) {
		close(l);
		return -1;
	}
	*p = accept(l, NULL, NULL);
	close(l);
	return *p < 0 ? -1 : 0;
}

#endif /* USM_TEST_KHARNESS_H */
