/* SPDX-License-Identifier: MIT */
/*
 * `usockmap stats [--json] [--control PATH | --pid PID]`, and the control
 * socket client shared with `usockmap map` (map_cmd.c): send one request
 * line to a running `usockmap run`, print the body of an "ok" reply, or
 * the error. Without --control/--pid the only usockmap-*.sock in
 * $XDG_RUNTIME_DIR (or /tmp) is used. Exit 0 ok, 1 the proxy answered
 * with an error or cannot be reached, 2 bad usage.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"

static const char *runtime_dir(void)
{
	const char *d = getenv("XDG_RUNTIME_DIR");

	return d && *d ? d : "/tmp";
}

/* The single usockmap-*.sock in the runtime directory. */
static int find_socket(char *buf, size_t n)
{
	DIR *d = opendir(runtime_dir());
	struct dirent *e;
	int found = 0;

	if (!d)
		return -ENOENT;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);

		if (strncmp(e->d_name, "usockmap-", 9) || l < 14 ||
		    strcmp(e->d_name + l - 5, ".sock"))
			continue;
		snprintf(buf, n, "%s/%s", runtime_dir(), e->d_name);
		found++;
	}
	closedir(d);
	return found == 1 ? 0 : found ? -EEXIST : -ENOENT;
}

int cli_control_path(const char *path, const char *pid, char *buf, size_t n)
{
	uint64_t v;
	int rc;

	if (path) {
		snprintf(buf, n, "%s", path);
		return CLI_OK;
	}
	if (pid) {
		if (cli_parse_u64(pid, &v) || !v || v > 1u << 30) {
			cli_err("--pid '%s': expected a process id", pid);
			return CLI_USAGE;
		}
		snprintf(buf, n, "%s/usockmap-%llu.sock", runtime_dir(),
			 (unsigned long long)v);
		return CLI_OK;
	}
	rc = find_socket(buf, n);
	if (rc == -EEXIST)
		cli_err("several usockmap control sockets in %s: use --control "
			"PATH or --pid PID", runtime_dir());
	else if (rc)
		cli_err("no running usockmap found in %s (use --control PATH "
			"or --pid PID)", runtime_dir());
	return rc ? CLI_FAIL : CLI_OK;
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* Read the whole reply into a malloc'd string (NULL on ENOMEM). */
static char *read_all(int fd)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap), *nb;
	ssize_t n;

	while (buf) {
		if (cap - len < 2048) {
			nb = realloc(buf, cap * 2);
			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n <= 0) {
			buf[len] = '\0';
			return buf;
		}
		len += (size_t)n;
	}
	free(buf);
	return NULL;
}

int cli_control_request(const char *path, const char *line)
{
	char *reply, *nl;
	int fd = connect_to(path), rc = CLI_OK;

	if (fd < 0) {
		cli_err("control socket %s: %s", path, strerror(-fd));
		return CLI_FAIL;
	}
	if (send(fd, line, strlen(line), MSG_NOSIGNAL) < 0 ||
	    send(fd, "\n", 1, MSG_NOSIGNAL) < 0) {
		cli_err("control socket %s: %s", path, strerror(errno));
		close(fd);
		return CLI_FAIL;
	}
	reply = read_all(fd);
	close(fd);
	if (!reply) {
		cli_err("out of memory");
		return CLI_FAIL;
	}
	nl = strchr(reply, '\n');
	if (strncmp(reply, "ok\n", 3) == 0) {
		fputs(nl + 1, stdout);
	} else {
		if (nl)
			*nl = '\0';
		cli_err("%s", reply[0] ? reply : "no reply from the proxy");
		rc = CLI_FAIL;
	}
	free(reply);
	return rc;
}

int cli_stats(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "control", required_argument, NULL, 'c' },
		{ "pid", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL, *pid = NULL;
	char buf[256];
	bool json = false;
	int c, rc;

	optind = 0; /* glibc: 0 re-initialises getopt for a new argv */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'j')
			json = true;
		else if (c == 'c')
			path = optarg;
		else if (c == 'p')
			pid = optarg;
		else
			return CLI_USAGE;
	}
	if (optind != argc) {
		cli_err("stats: unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	rc = cli_control_path(path, pid, buf, sizeof(buf));
	if (rc)
		return rc;
	return cli_control_request(buf, json ? "stats json" : "stats");
}
