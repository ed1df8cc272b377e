/* SPDX-License-Identifier: MIT */
/*
 * The kernel side of the verifier comparison: create the same maps with
 * bpf(2) and BPF_PROG_LOAD the same instructions (map references stay in
 * the BPF_PSEUDO_MAP_IDX form, resolved through fd_array), as root or, for
 * VF_STRICT cases, in a child that dropped CAP_SYS_ADMIN and CAP_PERFMON
 * and kept CAP_BPF + CAP_NET_ADMIN. Static functions: included once by
 * test_verifier.c.
 */
#ifndef USM_TEST_KERN_LOAD_H
#define USM_TEST_KERN_LOAD_H

#include <errno.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vcase.h"

#ifndef CAP_BPF
#define CAP_BPF 39
#endif

#define KLOG_SIZE (1u << 20)

struct kresult {
	int accepted;
	int err;     /* errno when rejected */
	char log[KLOG_SIZE];
};

static int kbpf(int cmd, union bpf_attr *attr)
{
	return (int)syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static int kmap_create(enum vmap_kind k)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.key_size = 4;
	a.value_size = 4;
	a.max_entries = 4;
	switch (k) {
	case VM_ARRAY8:
		a.map_type = BPF_MAP_TYPE_ARRAY;
		a.value_size = 8;
		break;
	case VM_ARRAY16:
		a.map_type = BPF_MAP_TYPE_ARRAY;
		a.value_size = 16;
		a.max_entries = 1;
		break;
	case VM_HASH:
		a.map_type = BPF_MAP_TYPE_HASH;
		a.value_size = 8;
		break;
	case VM_SOCKMAP:
		a.map_type = BPF_MAP_TYPE_SOCKMAP;
		break;
	case VM_SOCKHASH:
		a.map_type = BPF_MAP_TYPE_SOCKHASH;
		break;
	case VM_REUSEPORT:
		a.map_type = BPF_MAP_TYPE_REUSEPORT_SOCKARRAY;
		break;
	case VM_PROGARRAY:
		a.map_type = BPF_MAP_TYPE_PROG_ARRAY;
		break;
	case VM_RDONLY:
		a.map_type = BPF_MAP_TYPE_ARRAY;
		a.value_size = 8;
		a.map_flags = BPF_F_RDONLY_PROG;
		break;
	default:
		return -EINVAL;
	}
	return kbpf(BPF_MAP_CREATE, &a);
}

static uint32_t kattach_type(uint32_t type)
{
	switch (type) {
	case BPF_PROG_TYPE_SK_SKB:
		return BPF_SK_SKB_STREAM_VERDICT;
	case BPF_PROG_TYPE_SK_MSG:
		return BPF_SK_MSG_VERDICT;
	case BPF_PROG_TYPE_SK_REUSEPORT:
		return BPF_SK_REUSEPORT_SELECT;
	default:
		return BPF_CGROUP_SOCK_OPS;
	}
}

/* Keep only CAP_BPF and CAP_NET_ADMIN (the kernel's !perfmon_capable). */
static int kdrop_perfmon(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	d[0].effective = d[0].permitted = 1u << CAP_NET_ADMIN;
	d[1].effective = d[1].permitted = 1u << (CAP_BPF - 32);
	return (int)syscall(__NR_capset, &h, d);
}

static void kload_once(const struct vcase *c, const int *fds,
		       struct kresult *r, bool with_log)
{
	union bpf_attr a;
	int fd;

	memset(&a, 0, sizeof(a));
	a.prog_type = c->type;
	a.expected_attach_type = kattach_type(c->type);
	a.insns = (uint64_t)(uintptr_t)c->insns;
	a.insn_cnt = c->flags & VF_EMPTY ? 0 : c->len;
	a.license = (uint64_t)(uintptr_t)(c->flags & VF_NOGPL ? "Proprietary"
							     : "GPL");
	a.fd_array = (uint64_t)(uintptr_t)fds;
	if (with_log) {
		a.log_buf = (uint64_t)(uintptr_t)r->log;
		a.log_size = sizeof(r->log);
		a.log_level = 1;
	}
	fd = kbpf(BPF_PROG_LOAD, &a);
	if (fd >= 0) {
		r->accepted = 1;
		close(fd);
		return;
	}
	r->accepted = 0;
	r->err = errno;
}

static void kload(const struct vcase *c, const int *fds, struct kresult *r)
{
	r->log[0] = '\0';
	kload_once(c, fds, r, false);
	if (!r->accepted) {
		int err = r->err;

		kload_once(c, fds, r, true);
		r->accepted = 0;
		r->err = err;
	}
}

/* Load @c into the kernel; 0 with *out filled, or -1 (could not run). */
static int kernel_verdict(const struct vcase *c, const int *fds,
			  struct kresult *out)
{
	struct kresult *shared;
	pid_t pid;
	int st;

	if (!(c->flags & VF_STRICT)) {
		kload(c, fds, out);
		return 0;
	}
	shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		return -1;
	pid = fork();
	if (pid == 0) {
		if (kdrop_perfmon())
			_exit(2);
		kload(c, fds, shared);
		_exit(0);
	}
	st = -1;
	if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) ||
	    WEXITSTATUS(st)) {
		munmap(shared, sizeof(*shared));
		return -1;
	}
	memcpy(out, shared, sizeof(*out));
	munmap(shared, sizeof(*shared));
	return 0;
}

#endif /* USM_TEST_KERN_LOAD_H */
