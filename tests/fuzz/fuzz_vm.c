/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the verifier and the interpreter together: the input
 * is a program (type, privilege, packet size and instructions); if the
 * verifier accepts it, it runs in the checked interpreter over a real
 * context, packet and maps, and any memory access outside what the program
 * may touch (run.error -EFAULT) or any malformed instruction it let through
 * (-EINVAL) is a verifier bug and aborts. The sanitizers catch the rest
 * (crashes, leaks, undefined behaviour in the verifier itself).
 *
 * Input layout:
 *   byte 0   bits 0-1 program type (sk_skb, sk_msg, sk_reuseport,
 *            sock_ops), bit 2 CAP_BPF-only loader, bit 3 non-GPL licence,
 *            bit 4 log level 2 (trace every instruction)
 *   byte 1   packet/message length (0..255)
 *   rest     struct bpf_insn array (8 bytes each, at most 4096)
 * ld_imm64 map references are reduced modulo the map table below so that
 * more inputs reach the interesting checks.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../src/core/testrun.h"
#include "../../src/maps/map.h"
#include "../../src/progtype/progtype.h"
#include "../../src/sock/sock.h"
#include "../../src/vm/verify.h"
#include "../../src/vm/vm.h"

#define MAX_INSNS 4096u
#define NMAPS 6u
#define MAX_VALS 8u

static const uint32_t types[4] = {
	BPF_PROG_TYPE_SK_SKB, BPF_PROG_TYPE_SK_MSG,
	BPF_PROG_TYPE_SK_REUSEPORT, BPF_PROG_TYPE_SOCK_OPS,
};

static struct usm_map *maps[NMAPS];
static uint32_t nmaps;
static struct usm_sock *sock;
/* Array map values a program may reach through a lookup. */
static uintptr_t val_lo[MAX_VALS], val_hi[MAX_VALS];
static uint32_t nvals;

struct fz_run {
	uint32_t type;
	void *ctx;
};

static void add_map(uint32_t type, uint32_t value_size, uint32_t entries)
{
	struct usm_map_attr a;
	struct usm_map *m;
	uint32_t k;

	memset(&a, 0, sizeof(a));
	a.map_type = type;
	a.key_size = 4;
	a.value_size = value_size;
	a.max_entries = entries;
	if (usm__map_create(&a, &m))
		return;
	maps[nmaps++] = m;
	if (type != BPF_MAP_TYPE_ARRAY)
		return;
	for (k = 0; k < entries && nvals < MAX_VALS; k++) {
		void *v = m->ops->lookup_elem(m, &k);

		if (!v)
			continue;
		val_lo[nvals] = (uintptr_t)v;
		val_hi[nvals++] = (uintptr_t)v + value_size;
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int fd;

	(void)argc;
	(void)argv;
	/* Programs that walk to the kernel's 1M instructions take seconds
	 * under the sanitizers; 100k explores the same code paths. */
	usm__verify_insn_limit = 100000;
	add_map(BPF_MAP_TYPE_ARRAY, 8, 4);
	add_map(BPF_MAP_TYPE_ARRAY, 16, 1);
	add_map(BPF_MAP_TYPE_SOCKMAP, 4, 4);
	add_map(BPF_MAP_TYPE_SOCKHASH, 4, 4);
	add_map(BPF_MAP_TYPE_PROG_ARRAY, 4, 4);
	add_map(BPF_MAP_TYPE_REUSEPORT_SOCKARRAY, 4, 4);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd >= 0 && usm__sock_from_fd(fd, USM_SOCK_OWNS_FD, &sock))
		close(fd);
	return 0;
}

static bool in(uintptr_t a, uint32_t n, uintptr_t lo, uintptr_t hi)
{
	return a >= lo && a + n <= hi && a + n >= a;
}

/* Memory the run may touch beyond the fixed regions: the packet as the
 * context describes it now (helpers move it), map values, the socket. */
static bool mem_ok(void *arg, uintptr_t a, uint32_t n, bool write)
{
	const struct fz_run *f = arg;
	uint32_t i;

	switch (f->type) {
	case BPF_PROG_TYPE_SK_SKB: {
		const struct usm_skb_ctx *x = f->ctx;

		if (in(a, n, (uintptr_t)x->data, (uintptr_t)x->data_end))
			return true;
		break;
	}
	case BPF_PROG_TYPE_SK_MSG: {
		const struct usm_msg_ctx *x = f->ctx;

		if (in(a, n, (uintptr_t)x->md.data, (uintptr_t)x->md.data_end))
			return true;
		break;
	}
	case BPF_PROG_TYPE_SK_REUSEPORT: {
		const struct usm_reuseport_ctx *x = f->ctx;

		if (!write &&
		    in(a, n, (uintptr_t)x->md.data, (uintptr_t)x->md.data_end))
			return true;
		break;
	}
	default: {
		const struct usm_sock_ops_ctx *x = f->ctx;

		if (!write && in(a, n, (uintptr_t)x->md.skb_data,
				 (uintptr_t)x->md.skb_data_end))
			return true;
		break;
	}
	}
	for (i = 0; i < nvals; i++)
		if (in(a, n, val_lo[i], val_hi[i]))
			return true;
	return !write && sock &&
	       in(a, n, (uintptr_t)sock, (uintptr_t)sock + sizeof(struct bpf_sock));
}

static struct usm_prog *build(const uint8_t *data, size_t size)
{
	uint32_t cnt = (uint32_t)((size - 2) / sizeof(struct bpf_insn)), i;
	struct bpf_insn *insns;
	struct usm_prog *p;

	if (cnt > MAX_INSNS)
		cnt = MAX_INSNS;
	insns = calloc(cnt ? cnt : 1, sizeof(*insns));
	if (!insns)
		return NULL;
	memcpy(insns, data + 2, cnt * sizeof(*insns));
	for (i = 0; i < cnt; i++) {
		if (insns[i].code == (BPF_LD | BPF_IMM | BPF_DW) &&
		    (insns[i].src_reg == BPF_PSEUDO_MAP_IDX ||
		     insns[i].src_reg == BPF_PSEUDO_MAP_IDX_VALUE) && nmaps)
			insns[i].imm = (int32_t)((uint32_t)insns[i].imm % nmaps);
	}
	p = NULL;
	if (usm__prog_new(&p) == 0 && cnt &&
	    usm__prog_set_insns(p, insns, cnt) != 0) {
		usm__prog_put(p);
		p = NULL;
	}
	free(insns);
	for (i = 0; p && i < nmaps; i++)
		if (usm__prog_add_map(p, maps[i]) < 0) {
			usm__prog_put(p);
			p = NULL;
		}
	return p;
}

static void run_checked(struct usm_prog *p, uint32_t type, uint32_t len)
{
	static uint8_t payload[256];
	struct usm_prog_run_opts o = USM_PROG_RUN_OPTS_INIT;
	struct usm_tr_ctx c;
	struct fz_run f;
	struct usm_run run;
	const struct usm_prog_type *pt = usm__prog_type_get(type);

	memset(payload, 0x5a, sizeof(payload));
	o.data_in = payload;
	o.data_size_in = len;
	o.skb_linear_size = len;
	if (usm__tr_ctx_init(&c, type, &o, sock, NULL) ||
	    usm__tr_ctx_reset(&c)) {
		usm__tr_ctx_fini(&c);
		return;
	}
	f.type = type;
	f.ctx = usm__tr_ctx_ptr(&c);
	memset(&run, 0, sizeof(run));
	run.insn_budget = 200000;
	run.regions[0] = (struct usm_region){ (uintptr_t)f.ctx,
					      (uintptr_t)f.ctx + pt->kctx_size,
					      false };
	run.regions[1] = (struct usm_region){ (uintptr_t)f.ctx,
					      (uintptr_t)f.ctx + pt->ctx_size,
					      true };
	run.nregions = 2;
	run.mem_ok = mem_ok;
	run.mem_ok_arg = &f;
	usm__prog_run_checked(p, f.ctx, &run);
	if (run.error == -EFAULT || run.error == -EINVAL)
		__builtin_trap();
	usm__tr_ctx_fini(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char logbuf[64 * 1024];
	struct usm_log log;
	struct usm_prog *p;
	uint32_t type;

	if (size < 2)
		return 0;
	type = types[data[0] & 3];
	p = build(data, size);
	if (!p)
		return 0;
	p->type = type;
	p->no_perfmon = (data[0] & 4) != 0;
	p->gpl_compatible = !(data[0] & 8);
	usm__log_init(&log, logbuf, sizeof(logbuf), data[0] & 16 ? 2 : 1);
	if (usm__prog_verify(p, &log) == 0)
		run_checked(p, type, data[1]);
	usm__prog_put(p);
	return 0;
}
