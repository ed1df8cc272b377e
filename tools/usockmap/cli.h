/* SPDX-License-Identifier: MIT */
/*
 * Shared pieces of the usockmap command-line tool: one file per verb
 * (prog_run.c, prog_load.c, prog_dump.c), the --ctx-in JSON reader
 * (ctx_json.c), result printing (run_out.c) and small helpers (util.c).
 *
 * Conventions: a verb returns the process exit status: 0 success, 1 the
 * program was rejected / the run failed, 2 bad usage or input. Errors are
 * printed to stderr as "usockmap: ..." by the verb that detects them.
 */
#ifndef USM_CLI_H
#define USM_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <usockmap/object.h>
#include <usockmap/run.h>

#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2

/* Print "usockmap: <msg>\n" to stderr. */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Read a whole file ("-" = stdin) into a malloc'd buffer. 0 or -errno. */
int cli_read_file(const char *path, uint8_t **buf, size_t *size);

/* Parse hex digits ("0a0b", optional 0x prefix) into exactly @size bytes
 * at @out. 0 or -EINVAL. */
int cli_parse_hex(const char *s, uint8_t *out, size_t size);
/* A malloc'd "0a0b..." of @size bytes (NULL on ENOMEM). */
char *cli_hex(const uint8_t *p, size_t size);

/* Parse an unsigned decimal (or 0x hex) number. 0 or -EINVAL. */
int cli_parse_u64(const char *s, uint64_t *v);

/*
 * Open @path and load it. With @pick, only one program is loaded: @only,
 * or the object's single program when @only is NULL (an error if it has
 * several); every other program's autoload is turned off first, so a
 * rejected program elsewhere in the object does not stop this one. On
 * failure prints why (unless @quiet: the loader's log and the verifier
 * log of a rejected program) and returns CLI_FAIL (load/verify failed) or
 * CLI_USAGE (unreadable or malformed object, unknown program).
 */
int cli_open_load(const char *path, bool pick, const char *only, bool quiet,
		  struct usm_object **out);

/* Print every program of @obj with its section to stderr. */
void cli_list_programs(const struct usm_object *obj);

/* The program to use: @name, or the object's only program. Prints an
 * error and returns NULL otherwise. */
struct usm_program *cli_pick_program(const struct usm_object *obj,
				     const char *name);

/* "sk_skb", "sk_msg", ... and attach type names. */
const char *cli_type_name(uint32_t type);
const char *cli_attach_name(uint32_t attach);

/*
 * Convert the JSON object in @path into @type's UAPI context (*ctx,
 * *ctx_size bytes, malloc'd). Unknown keys, fields that cannot be set,
 * and values of the wrong kind or range are errors naming the key. 0 or
 * CLI_USAGE (message printed).
 */
int cli_ctx_from_json(const char *path, uint32_t type, uint8_t **ctx,
		      uint32_t *ctx_size);

/* A map key from text: decimal integer (host order, key_size <= 8) or
 * 0x + exactly 2*key_size hex digits (bytes in memory order). 0 or
 * CLI_USAGE (message printed). */
int cli_parse_key(const char *text, uint32_t key_size, uint8_t *key);

/* Collected bpf_printk lines. */
struct cli_trace {
	char **lines;
	size_t cnt, cap;
	bool oom;
};
void cli_trace_cb(void *arg, const char *line);
void cli_trace_fini(struct cli_trace *t);

/* Print a run's outcome as one JSON object or as readable text. */
struct cli_run_report {
	const struct usm_program *prog;
	const struct usm_prog_run_result *res;
	const struct cli_trace *trace;
	uint32_t repeat;
};
int cli_print_json(const struct cli_run_report *r);
void cli_print_text(const struct cli_run_report *r);

/* Verbs. */
int cli_prog_run(int argc, char **argv);
int cli_prog_load(int argc, char **argv);
int cli_prog_dump(int argc, char **argv);
int cli_run(int argc, char **argv);   /* run.c */
int cli_stats(int argc, char **argv); /* stats.c */
int cli_map(int argc, char **argv);   /* map_cmd.c */

/* Control socket client (stats.c): the socket path from --control or
 * --pid or the only one running (CLI_OK, or a status with the error
 * printed), and one request whose reply body is printed (exit status). */
int cli_control_path(const char *path, const char *pid, char *buf, size_t n);
int cli_control_request(const char *path, const char *line);

#endif /* USM_CLI_H */
