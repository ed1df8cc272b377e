/* SPDX-License-Identifier: MIT */
/* Shared test support: see usm_test.h. */
#include "usm_test.h"

#include <errno.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

const char *usm_test_build_dir(void)
{
	const char *b = getenv("USM_BUILD");

	return b && *b ? b : "build";
}

const char *usm_test_bpf_path(const char *rel)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/bpf/%s.bpf.o", usm_test_build_dir(),
		 rel);
	return path;
}

const char *usm_test_cli_path(void)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/usockmap", usm_test_build_dir());
	return path;
}

int usm_test_have_kernel_bpf(const char **why)
{
	union bpf_attr attr;
	int fd;

	if (geteuid() != 0) {
		*why = "not root: kernel comparison needs CAP_BPF/CAP_NET_ADMIN";
		return 0;
	}
	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_SOCKMAP;
	attr.key_size = 4;
	attr.value_size = 4;
	attr.max_entries = 1;
	fd = (int)syscall(__NR_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
	if (fd < 0) {
		*why = errno == ENOSYS ? "kernel has no bpf(2)"
				       : "kernel refuses BPF_MAP_CREATE(SOCKMAP)";
		return 0;
	}
	close(fd);
	*why = NULL;
	return 1;
}

int usm_test_run_cmd(const char *cmd, char **out)
{
	FILE *p = popen(cmd, "r");
	size_t cap = 4096, len = 0, n;
	char *buf;
	int st;

	*out = NULL;
	if (!p)
		return -1;
	buf = malloc(cap);
	if (!buf) {
		pclose(p);
		return -1;
	}
	while ((n = fread(buf + len, 1, cap - len - 1, p)) > 0) {
		len += n;
		if (cap - len < 2) {
			char *nb = realloc(buf, cap * 2);

			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
	}
	buf[len] = '\0';
	st = pclose(p);
	*out = buf;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
