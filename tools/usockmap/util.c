/* SPDX-License-Identifier: MIT */
/*
 * Small helpers shared by the CLI verbs: messages, files, hex, numbers,
 * map keys, opening and loading an object with useful error output,
 * program lookup, names of program and attach types, trace collection.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/bpf.h>

#include "cli.h"

#define CLI_LOG_SIZE (1u << 20)
#define CLI_MAX_FILE (64u << 20)

void cli_err(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout); /* messages after what was printed so far */
	fputs("usockmap: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_read_file(const char *path, uint8_t **buf, size_t *size)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	size_t cap = 4096, len = 0, n;
	uint8_t *b, *nb;
	int err = 0;

	*buf = NULL;
	*size = 0;
	if (!f)
		return -errno;
	b = malloc(cap);
	if (!b)
		err = -ENOMEM;
	while (!err) {
		if (len == cap) {
			nb = cap < CLI_MAX_FILE ? realloc(b, cap * 2) : NULL;
			if (!nb) {
				err = cap < CLI_MAX_FILE ? -ENOMEM : -E2BIG;
				break;
			}
			b = nb;
			cap *= 2;
		}
		n = fread(b + len, 1, cap - len, f);
		if (n == 0) {
			if (ferror(f))
				err = -EIO;
			break;
		}
		len += n;
	}
	if (f != stdin)
		fclose(f);
	if (err) {
		free(b);
		return err;
	}
	*buf = b;
	*size = len;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int cli_parse_hex(const char *s, uint8_t *out, size_t size)
{
	size_t i;
	int hi, lo;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	if (strlen(s) != size * 2)
		return -EINVAL;
	for (i = 0; i < size; i++) {
		hi = hexval(s[2 * i]);
		lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

char *cli_hex(const uint8_t *p, size_t size)
{
	static const char d[] = "0123456789abcdef";
	char *s = malloc(size * 2 + 1);
	size_t i;

	if (!s)
		return NULL;
	for (i = 0; i < size; i++) {
		s[2 * i] = d[p[i] >> 4];
		s[2 * i + 1] = d[p[i] & 15];
	}
	s[size * 2] = '\0';
	return s;
}

int cli_parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	*v = strtoull(s, &end, 0);
	if (errno || *end)
		return -EINVAL;
	return 0;
}

int cli_parse_key(const char *text, uint32_t key_size, uint8_t *key)
{
	uint64_t v;

	memset(key, 0, key_size);
	if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
		if (cli_parse_hex(text, key, key_size) == 0)
			return 0;
		cli_err("key '%s': a hex key is 0x and exactly %u hex digits "
			"(the key's %u bytes)", text, key_size * 2, key_size);
		return CLI_USAGE;
	}
	if (cli_parse_u64(text, &v) || key_size > 8 ||
	    (key_size < 8 && v >> (key_size * 8))) {
		cli_err("key '%s': not an integer that fits the map's %u-byte "
			"key (give 0x + %u hex digits)", text, key_size,
			key_size * 2);
		return CLI_USAGE;
	}
	memcpy(key, &v, key_size); /* little-endian host: low bytes first */
	return 0;
}

void cli_list_programs(const struct usm_object *obj)
{
	const struct usm_program *p = NULL;

	fprintf(stderr, "programs in the object:\n");
	while ((p = usm_object_next_program(obj, p)))
		fprintf(stderr, "  %s (%s)\n", usm_program_name(p),
			usm_program_section(p));
}

struct usm_program *cli_pick_program(const struct usm_object *obj,
				     const char *name)
{
	struct usm_program *p, *first;

	if (name) {
		p = usm_object_find_program(obj, name);
		if (!p) {
			cli_err("no program '%s' in the object", name);
			cli_list_programs(obj);
		}
		return p;
	}
	first = usm_object_next_program(obj, NULL);
	if (first && !usm_object_next_program(obj, first))
		return first;
	if (!first) {
		cli_err("the object has no programs");
		return NULL;
	}
	/* As the issue and bpftool do: without --prog, the first program. */
	fprintf(stderr,
		"usockmap: running the first program, '%s' (%s); choose "
		"another with --prog\n",
		usm_program_name(first), usm_program_section(first));
	return first;
}

static void print_rejected(const struct usm_object *obj)
{
	const struct usm_program *p = NULL;
	const char *log;

	while ((p = usm_object_next_program(obj, p))) {
		log = usm_program_log(p);
		if (!usm_program_autoload(p) || !log || !*log)
			continue;
		fprintf(stderr, "program %s (%s) rejected; verifier log:\n%s",
			usm_program_name(p), usm_program_section(p), log);
		if (log[strlen(log) - 1] != '\n')
			fputc('\n', stderr);
	}
}

static int only_autoload(struct usm_object *obj, const char *only)
{
	struct usm_program *p = NULL, *want;

	want = cli_pick_program(obj, only);
	if (!want)
		return CLI_USAGE;
	while ((p = usm_object_next_program(obj, p)))
		usm_program_set_autoload(p, p == want);
	return 0;
}

int cli_open_load(const char *path, bool pick, const char *only, bool quiet,
		  struct usm_object **out)
{
	struct usm_object_open_opts oo = { .sz = sizeof(oo) };
	struct usm_object *obj = NULL;
	char *log = calloc(1, CLI_LOG_SIZE);
	int err, rc = CLI_OK;

	*out = NULL;
	if (!log) {
		cli_err("out of memory");
		return CLI_FAIL;
	}
	oo.log_buf = log;
	oo.log_size = CLI_LOG_SIZE;
	err = usm_object_open(path, &oo, &obj);
	if (err) {
		cli_err("%s: cannot open BPF object: %s", path, strerror(-err));
		if (*log)
			fprintf(stderr, "%s", log);
		rc = CLI_USAGE;
		goto out;
	}
	rc = pick ? only_autoload(obj, only) : CLI_OK;
	if (rc)
		goto out;
	err = usm_object_load(obj);
	if (err) {
		if (!quiet) {
			cli_err("%s: load failed: %s", path, strerror(-err));
			if (*log)
				fprintf(stderr, "%s", log);
			print_rejected(obj);
		}
		rc = CLI_FAIL;
		goto out;
	}
	*out = obj;
	obj = NULL;
out:
	usm_object_close(obj);
	free(log);
	return rc;
}

const char *cli_type_name(uint32_t type)
{
	switch (type) {
	case BPF_PROG_TYPE_SK_SKB:
		return "sk_skb";
	case BPF_PROG_TYPE_SK_MSG:
		return "sk_msg";
	case BPF_PROG_TYPE_SK_REUSEPORT:
		return "sk_reuseport";
	case BPF_PROG_TYPE_SOCK_OPS:
		return "sock_ops";
	case BPF_PROG_TYPE_SOCKET_FILTER:
		return "socket_filter";
	case BPF_PROG_TYPE_SCHED_CLS:
		return "sched_cls";
	case BPF_PROG_TYPE_XDP:
		return "xdp";
	default:
		return "other";
	}
}

const char *cli_attach_name(uint32_t attach)
{
	switch (attach) {
	case BPF_SK_SKB_STREAM_PARSER:
		return "stream_parser";
	case BPF_SK_SKB_STREAM_VERDICT:
		return "stream_verdict";
	case BPF_SK_SKB_VERDICT:
		return "skb_verdict";
	case BPF_SK_MSG_VERDICT:
		return "msg_verdict";
	case BPF_SK_REUSEPORT_SELECT:
		return "reuseport_select";
	case BPF_SK_REUSEPORT_SELECT_OR_MIGRATE:
		return "reuseport_select_or_migrate";
	case BPF_CGROUP_SOCK_OPS:
		return "sock_ops";
	default:
		return "none";
	}
}

void cli_trace_cb(void *arg, const char *line)
{
	struct cli_trace *t = arg;
	char **nl;
	size_t cap;

	if (t->cnt == t->cap) {
		cap = t->cap ? t->cap * 2 : 16;
		nl = realloc(t->lines, cap * sizeof(*nl));
		if (!nl) {
			t->oom = true;
			return;
		}
		t->lines = nl;
		t->cap = cap;
	}
	t->lines[t->cnt] = strdup(line);
	if (!t->lines[t->cnt]) {
		t->oom = true;
		return;
	}
	t->cnt++;
}

void cli_trace_fini(struct cli_trace *t)
{
	size_t i;

	for (i = 0; i < t->cnt; i++)
		free(t->lines[i]);
	free(t->lines);
	memset(t, 0, sizeof(*t));
}
