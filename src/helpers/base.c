/* SPDX-License-Identifier: MIT */
/*
 * Base helpers every program type may call: map element access, clocks,
 * random numbers, CPU/NUMA ids, bpf_trace_printk, tail call and
 * sk_release. Prototypes match the kernel's (kernel/bpf/helpers.c,
 * kernel/trace/bpf_trace.c, net/core/filter.c) because the verifier checks
 * calls against them.
 *
 * Helpers run on the thread that runs the program and keep no shared state
 * except the per-thread random generator. bpf_trace_printk reads %s and
 * %pI4/%pI6 arguments with a fault-tolerant copy (process_vm_readv on
 * ourselves), as the kernel uses a no-fault copy: a bad pointer prints an
 * empty string or zeros, never crashes.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "../maps/map.h"
#include "../sock/sock.h"
#include "../vm/vm.h"
#include "helpers.h"

#define ERR(e) ((uint64_t)(int64_t)(e))

/* ---- maps ---------------------------------------------------------- */

/*
 * The map pointer in r1 is the struct usm_map * the verifier put into the
 * ld_imm64. For SOCKMAP/SOCKHASH lookup returns a referenced struct
 * usm_sock * the program must give back with bpf_sk_release (MAP-LKP-05),
 * and update takes a struct usm_sock * as value. Per-CPU maps use the CPU
 * the interpreter entry set from run->cpu.
 */
static uint64_t map_lookup_elem(struct usm_run *run, uint64_t r1, uint64_t r2,
				uint64_t r3, uint64_t r4, uint64_t r5)
{
	return (uint64_t)(uintptr_t)usm__map_bpf_lookup_elem(
		(struct usm_map *)(uintptr_t)r1, (const void *)(uintptr_t)r2);
}

static uint64_t map_update_elem(struct usm_run *run, uint64_t r1, uint64_t r2,
				uint64_t r3, uint64_t r4, uint64_t r5)
{
	return ERR(usm__map_bpf_update_elem((struct usm_map *)(uintptr_t)r1,
					    (const void *)(uintptr_t)r2,
					    (const void *)(uintptr_t)r3, r4));
}

static uint64_t map_delete_elem(struct usm_run *run, uint64_t r1, uint64_t r2,
				uint64_t r3, uint64_t r4, uint64_t r5)
{
	return ERR(usm__map_bpf_delete_elem((struct usm_map *)(uintptr_t)r1,
					    (const void *)(uintptr_t)r2));
}

const struct usm_helper usm__h_map_lookup_elem = {
	.id = BPF_FUNC_map_lookup_elem,
	.name = "bpf_map_lookup_elem",
	.fn = map_lookup_elem,
	.ret = USM_RET_PTR_TO_MAP_VALUE_OR_NULL,
	.args = { USM_ARG_CONST_MAP_PTR, USM_ARG_PTR_TO_MAP_KEY },
};

const struct usm_helper usm__h_map_update_elem = {
	.id = BPF_FUNC_map_update_elem,
	.name = "bpf_map_update_elem",
	.fn = map_update_elem,
	.ret = USM_RET_INTEGER,
	.args = { USM_ARG_CONST_MAP_PTR, USM_ARG_PTR_TO_MAP_KEY,
		  USM_ARG_PTR_TO_MAP_VALUE, USM_ARG_ANYTHING },
};

const struct usm_helper usm__h_map_delete_elem = {
	.id = BPF_FUNC_map_delete_elem,
	.name = "bpf_map_delete_elem",
	.fn = map_delete_elem,
	.ret = USM_RET_INTEGER,
	.args = { USM_ARG_CONST_MAP_PTR, USM_ARG_PTR_TO_MAP_KEY },
};

/* ---- clocks, random, cpu ------------------------------------------- */

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	if (clock_gettime(id, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t ktime_get_ns(struct usm_run *run, uint64_t r1, uint64_t r2,
			     uint64_t r3, uint64_t r4, uint64_t r5)
{
	return clock_ns(CLOCK_MONOTONIC);
}

static uint64_t ktime_get_boot_ns(struct usm_run *run, uint64_t r1,
				  uint64_t r2, uint64_t r3, uint64_t r4,
				  uint64_t r5)
{
	return clock_ns(CLOCK_BOOTTIME);
}

static uint64_t ktime_get_coarse_ns(struct usm_run *run, uint64_t r1,
				    uint64_t r2, uint64_t r3, uint64_t r4,
				    uint64_t r5)
{
	return clock_ns(CLOCK_MONOTONIC_COARSE);
}

/* xorshift128+ per thread, seeded from getrandom() on first use. */
static __thread uint64_t rnd_s[2];

static uint64_t get_prandom_u32(struct usm_run *run, uint64_t r1, uint64_t r2,
				uint64_t r3, uint64_t r4, uint64_t r5)
{
	uint64_t x, y;

	if (!rnd_s[0] && !rnd_s[1]) {
		if (getrandom(rnd_s, sizeof(rnd_s), 0) != sizeof(rnd_s))
			rnd_s[0] = clock_ns(CLOCK_MONOTONIC) ^
				   ((uint64_t)getpid() << 32);
		rnd_s[0] |= 1;
	}
	x = rnd_s[0];
	y = rnd_s[1];
	rnd_s[0] = y;
	x ^= x << 23;
	rnd_s[1] = x ^ y ^ (x >> 17) ^ (y >> 26);
	return (uint32_t)((rnd_s[1] + y) >> 32);
}

static uint64_t get_smp_processor_id(struct usm_run *run, uint64_t r1,
				     uint64_t r2, uint64_t r3, uint64_t r4,
				     uint64_t r5)
{
	return run ? run->cpu : 0;
}

static uint64_t get_numa_node_id(struct usm_run *run, uint64_t r1,
				 uint64_t r2, uint64_t r3, uint64_t r4,
				 uint64_t r5)
{
	unsigned int cpu, node;

	/* The node of the CPU this thread runs on (the kernel's
	 * numa_node_id() for the CPU running the program). */
	if (getcpu(&cpu, &node) != 0)
		return 0;
	return node;
}

const struct usm_helper usm__h_ktime_get_ns = {
	.id = BPF_FUNC_ktime_get_ns,
	.name = "bpf_ktime_get_ns",
	.fn = ktime_get_ns,
	.ret = USM_RET_INTEGER,
};

const struct usm_helper usm__h_ktime_get_boot_ns = {
	.id = BPF_FUNC_ktime_get_boot_ns,
	.name = "bpf_ktime_get_boot_ns",
	.fn = ktime_get_boot_ns,
	.ret = USM_RET_INTEGER,
};

const struct usm_helper usm__h_ktime_get_coarse_ns = {
	.id = BPF_FUNC_ktime_get_coarse_ns,
	.name = "bpf_ktime_get_coarse_ns",
	.fn = ktime_get_coarse_ns,
	.ret = USM_RET_INTEGER,
};

const struct usm_helper usm__h_get_prandom_u32 = {
	.id = BPF_FUNC_get_prandom_u32,
	.name = "bpf_get_prandom_u32",
	.fn = get_prandom_u32,
	.ret = USM_RET_INTEGER,
};

const struct usm_helper usm__h_get_smp_processor_id = {
	.id = BPF_FUNC_get_smp_processor_id,
	.name = "bpf_get_smp_processor_id",
	.fn = get_smp_processor_id,
	.ret = USM_RET_INTEGER,
};

const struct usm_helper usm__h_get_numa_node_id = {
	.id = BPF_FUNC_get_numa_node_id,
	.name = "bpf_get_numa_node_id",
	.fn = get_numa_node_id,
	.ret = USM_RET_INTEGER,
};

/* ---- tail call, sk_release ----------------------------------------- */

/*
 * The interpreter intercepts BPF_FUNC_tail_call and never calls this; the
 * prototype exists for the verifier. Should it be reached anyway, the tail
 * call "fails" (the program continues), which is what a failed tail call
 * does in the kernel.
 */
static uint64_t tail_call(struct usm_run *run, uint64_t r1, uint64_t r2,
			  uint64_t r3, uint64_t r4, uint64_t r5)
{
	return ERR(-EINVAL);
}

const struct usm_helper usm__h_tail_call = {
	.id = BPF_FUNC_tail_call,
	.name = "bpf_tail_call",
	.fn = tail_call,
	.ret = USM_RET_VOID,
	.args = { USM_ARG_PTR_TO_CTX, USM_ARG_CONST_MAP_PTR,
		  USM_ARG_ANYTHING },
};

static uint64_t sk_release(struct usm_run *run, uint64_t r1, uint64_t r2,
			   uint64_t r3, uint64_t r4, uint64_t r5)
{
	/* Drops the reference a sockmap/sockhash lookup took. */
	usm__sock_put((struct usm_sock *)(uintptr_t)r1);
	return 0;
}

const struct usm_helper usm__h_sk_release = {
	.id = BPF_FUNC_sk_release,
	.name = "bpf_sk_release",
	.fn = sk_release,
	.ret = USM_RET_INTEGER,
	.args = { USM_ARG_PTR_TO_SOCK_COMMON },
	.flags = USM_HF_RELEASE,
};

/* ---- bpf_trace_printk ---------------------------------------------- */

#define PRINTK_MAX_ARGS 3     /* MAX_TRACE_PRINTK_VARARGS */
#define PRINTK_BUF      1024  /* MAX_BPRINTF_BUF */
#define PRINTK_STR_MAX  512   /* MAX_BPRINTF_BIN_ARGS bounds copied strings */
#define PRINTK_WIDTH_MAX 8388607ul /* vsnprintf's FIELD_WIDTH_MAX */

/*
 * Copy up to @len bytes at program-supplied address @addr into @dst without
 * faulting. Returns the number of bytes copied (stops at the first
 * unreadable page).
 */
static size_t safe_copy(void *dst, uint64_t addr, size_t len)
{
	size_t done = 0;

	while (done < len) {
		uint64_t a = addr + done;
		size_t chunk = 4096 - (size_t)(a & 4095);
		struct iovec l, r;
		ssize_t n;

		if (chunk > len - done)
			chunk = len - done;
		l.iov_base = (char *)dst + done;
		l.iov_len = chunk;
		r.iov_base = (void *)(uintptr_t)a;
		r.iov_len = chunk;
		n = process_vm_readv(getpid(), &l, 1, &r, 1, 0);
		if (n <= 0)
			break;
		done += (size_t)n;
		if ((size_t)n < chunk)
			break;
	}
	return done;
}

/* A NUL-terminated copy of the string at @addr (empty if unreadable). */
static void safe_str(char *dst, size_t size, uint64_t addr)
{
	size_t n = addr ? safe_copy(dst, addr, size - 1) : 0;

	dst[n] = '\0';
}

struct printk_out {
	char buf[PRINTK_BUF];
	size_t len;  /* bytes the full text has (may exceed buf) */
};

/* Append @shown bytes of @s, counting @total (>= shown) towards o->len. */
static void out_append(struct printk_out *o, const char *s, size_t shown,
		       size_t total)
{
	if (o->len < sizeof(o->buf) - 1) {
		size_t room = sizeof(o->buf) - 1 - o->len;

		memcpy(o->buf + o->len, s, shown < room ? shown : room);
	}
	o->len += total;
}

/* A conversion: flags/width text, the conversion and its length modifier. */
struct printk_spec {
	char flags[16]; /* the flags, each once, then the width */
	char conv;      /* d i u x X c s p */
	char ptype;     /* after %p: 0, 'K','x','s','S','B','i','I' */
	char ipver;     /* '4' or '6' for %pI/%pi */
	int lmod;       /* 0, 1 (l), 2 (ll) */
};

/* The kernel's ctype (Latin-1 aware) for "may follow %s / %p": NUL,
 * space or punctuation. */
static int is_punct_or_end(unsigned char c)
{
	if (c == 0)
		return 1;
	if (c < 0x80)
		return ispunct(c) || isspace(c);
	return c == 0xa0 || (c >= 0xa1 && c <= 0xbf) || c == 0xd7 ||
	       c == 0xf7;
}

/* Parse the %p family at fmt[*i] == 'p', the kernel's accepted forms. */
static int parse_p(const char *fmt, size_t *i, struct printk_spec *sp)
{
	const char *p = fmt + *i;

	sp->conv = 'p';
	if (is_punct_or_end((unsigned char)p[1]))
		return 0;
	if ((p[1] == 'k' || p[1] == 'u') && p[2] == 's') {
		*i += 2;
		sp->conv = 's';
		return is_punct_or_end((unsigned char)p[3]) ? 0 : -EINVAL;
	}
	if (p[1] == 'K' || p[1] == 'x' || p[1] == 's' || p[1] == 'S' ||
	    p[1] == 'B') {
		sp->ptype = p[1];
		*i += 1;
		return 0;
	}
	if ((p[1] != 'i' && p[1] != 'I') || (p[2] != '4' && p[2] != '6'))
		return -EINVAL;
	sp->ptype = p[1];
	sp->ipver = p[2];
	*i += 2;
	return 0;
}

/* Parse one conversion starting after '%' at fmt[*i]; leaves *i on its
 * last character. The kernel's bpf_bprintf_prepare() rules: optional
 * "[0 +-]" flags and a width (no precision), then %p forms, %s, %c or
 * [l[l]] d i u x X. */
static void parse_flags_width(const char *fmt, size_t *i,
			      struct printk_spec *sp)
{
	char seen[4] = { 0 };
	unsigned long w = 0;
	size_t n = 0;
	int k;

	while (fmt[*i] == '0' || fmt[*i] == '+' || fmt[*i] == '-' ||
	       fmt[*i] == ' ') {
		k = fmt[*i] == '0' ? 0 : fmt[*i] == '+' ? 1 : fmt[*i] == '-' ? 2
									    : 3;
		if (!seen[k]) /* repeats mean nothing */
			sp->flags[n++] = seen[k] = fmt[*i];
		(*i)++;
	}
	if (fmt[*i] < '1' || fmt[*i] > '9')
		return;
	while (fmt[*i] >= '0' && fmt[*i] <= '9') {
		if (w < PRINTK_WIDTH_MAX)
			w = w * 10 + (unsigned long)(fmt[*i] - '0');
		(*i)++;
	}
	if (w > PRINTK_WIDTH_MAX) /* the kernel's vsnprintf clamps too */
		w = PRINTK_WIDTH_MAX;
	snprintf(sp->flags + n, sizeof(sp->flags) - n, "%lu", w);
}

static int parse_spec(const char *fmt, size_t *i, struct printk_spec *sp)
{
	memset(sp, 0, sizeof(*sp));
	if ((unsigned char)fmt[*i] >= 0x80)
		return -EINVAL;
	parse_flags_width(fmt, i, sp);
	if (fmt[*i] == 'p')
		return parse_p(fmt, i, sp);
	if (fmt[*i] == 's') {
		sp->conv = 's';
		return is_punct_or_end((unsigned char)fmt[*i + 1]) ? 0
								    : -EINVAL;
	}
	if (fmt[*i] == 'c') {
		sp->conv = 'c';
		return 0;
	}
	while (fmt[*i] == 'l' && sp->lmod < 2) {
		sp->lmod++;
		(*i)++;
	}
	switch (fmt[*i]) {
	case 'i': case 'd': case 'u': case 'x': case 'X':
		sp->conv = fmt[*i];
		return 0;
	default:
		return -EINVAL;
	}
}

/* %pI4 1.2.3.4, %pi4 001.002.003.004, %pI6 2001:0db8:..., %pi6 without
 * colons; an unreadable address prints as zeros. */
static void fmt_ip(char *dst, size_t size, const struct printk_spec *sp,
		   uint64_t addr)
{
	uint8_t ip[16] = { 0 };
	size_t n = sp->ipver == '4' ? 4 : 16, k, off = 0;

	if (safe_copy(ip, addr, n) != n)
		memset(ip, 0, sizeof(ip));
	if (n == 4) {
		snprintf(dst, size, sp->ptype == 'I' ? "%u.%u.%u.%u"
						     : "%03u.%03u.%03u.%03u",
			 ip[0], ip[1], ip[2], ip[3]);
		return;
	}
	dst[0] = '\0';
	for (k = 0; k < 16 && off < size; k += 2)
		off += (size_t)snprintf(dst + off, size - off,
					sp->ptype == 'I' && k ? ":%02x%02x"
							      : "%02x%02x",
					ip[k], ip[k + 1]);
}

/*
 * The %p family. The kernel hashes plain %p and %pK (we print the value:
 * there is nothing to hide from our own process) but keeps their width of
 * 16 hex digits; NULL prints "(null)" except with %px; %ps/%pS/%pB name a
 * kernel symbol, which a user-space address never is, so the kernel's
 * fallback "0x<hex>" is what it prints.
 */
static void fmt_ptr(char *dst, size_t size, const struct printk_spec *sp,
		    uint64_t v)
{
	if (sp->ipver)
		fmt_ip(dst, size, sp, v);
	else if (sp->ptype == 's' || sp->ptype == 'S' || sp->ptype == 'B')
		snprintf(dst, size, "0x%llx", (unsigned long long)v);
	else if (!v && sp->ptype != 'x')
		snprintf(dst, size, "(null)");
	else
		snprintf(dst, size, "%016llx", (unsigned long long)v);
}

/* Format one conversion with argument @v into @o. */
static void emit_spec(struct printk_out *o, const struct printk_spec *sp,
		      uint64_t v)
{
	char f[48], s[PRINTK_STR_MAX], tmp[PRINTK_BUF];
	long long sv = sp->lmod ? (long long)v : (long long)(int32_t)v;
	unsigned long long uv = sp->lmod ? v : (uint32_t)v;
	int n;

	switch (sp->conv) {
	case 's':
		safe_str(s, sizeof(s), v);
		break;
	case 'p':
		fmt_ptr(s, sizeof(s), sp, v);
		break;
	case 'c':
		snprintf(f, sizeof(f), "%%%sc", sp->flags);
		n = snprintf(tmp, sizeof(tmp), f, (int)(unsigned char)v);
		goto out;
	case 'd':
	case 'i':
		snprintf(f, sizeof(f), "%%%slld", sp->flags);
		n = snprintf(tmp, sizeof(tmp), f, sv);
		goto out;
	default:
		snprintf(f, sizeof(f), "%%%sll%c", sp->flags, sp->conv);
		n = snprintf(tmp, sizeof(tmp), f, uv);
		goto out;
	}
	snprintf(f, sizeof(f), "%%%ss", sp->flags);
	n = snprintf(tmp, sizeof(tmp), f, s);
out:
	if (n > 0)
		out_append(o, tmp, strlen(tmp), (size_t)n);
}

/*
 * Validate @fmt (@fmt_size bytes that must contain a NUL) the kernel's way
 * and format it with @args into @o. Returns 0 or -EINVAL (no NUL, a control
 * character, more than three conversions, an unsupported conversion).
 */
static int printk_format(const char *fmt, uint32_t fmt_size,
			 const uint64_t *args, struct printk_out *o)
{
	struct printk_spec sp;
	size_t i, len, lit = 0;
	int nspec = 0;

	o->len = 0;
	o->buf[0] = '\0';
	if (!fmt || !memchr(fmt, '\0', fmt_size))
		return -EINVAL;
	len = strlen(fmt);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)fmt[i];

		if (c < 0x80 && !isprint(c) && !isspace(c))
			return -EINVAL;
		if (c != '%')
			continue;
		out_append(o, fmt + lit, i - lit, i - lit);
		if (fmt[i + 1] == '%') {
			out_append(o, "%", 1, 1);
			lit = i + 2;
			i++;
			continue;
		}
		if (nspec >= PRINTK_MAX_ARGS)
			return -EINVAL;
		i++;
		if (parse_spec(fmt, &i, &sp) < 0)
			return -EINVAL;
		emit_spec(o, &sp, args[nspec++]);
		lit = i + 1;
	}
	out_append(o, fmt + lit, len - lit, len - lit);
	o->buf[o->len < sizeof(o->buf) ? o->len : sizeof(o->buf) - 1] = '\0';
	return 0;
}

static uint64_t trace_printk(struct usm_run *run, uint64_t r1, uint64_t r2,
			     uint64_t r3, uint64_t r4, uint64_t r5)
{
	uint64_t args[PRINTK_MAX_ARGS] = { r3, r4, r5 };
	struct printk_out o;
	size_t n;
	int err;

	err = printk_format((const char *)(uintptr_t)r1, (uint32_t)r2,
				 args, &o);
	if (err < 0)
		return ERR(err);
	if (run && run->trace) {
		n = strlen(o.buf);
		if (n && o.buf[n - 1] == '\n')
			o.buf[n - 1] = '\0';
		run->trace(run->trace_arg, o.buf);
	}
	/* Like bstr_printf: the length of the full formatted text. */
	return o.len;
}

const struct usm_helper usm__h_trace_printk = {
	.id = BPF_FUNC_trace_printk,
	.name = "bpf_trace_printk",
	.fn = trace_printk,
	.ret = USM_RET_INTEGER,
	.args = { USM_ARG_PTR_TO_MEM, USM_ARG_CONST_SIZE },
	.flags = USM_HF_GPL_ONLY,
};
