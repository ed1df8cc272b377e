/* SPDX-License-Identifier: MIT */
/*
 * Test support for tests/unit/progtype: build tiny programs and ask the
 * running kernel whether it accepts them (bpf(2) BPF_PROG_LOAD), so access
 * rules can be compared against the kernel case by case.
 */
#ifndef USM_TEST_KERN_LOAD_H
#define USM_TEST_KERN_LOAD_H

#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static inline struct bpf_insn kl_insn(uint8_t code, uint8_t dst, uint8_t src,
				      int16_t off, int32_t imm)
{
	struct bpf_insn i;

	memset(&i, 0, sizeof(i));
	i.code = code;
	i.dst_reg = dst & 0xf;
	i.src_reg = src & 0xf;
	i.off = off;
	i.imm = imm;
	return i;
}

/* BPF size code for 1/2/4/8 bytes. */
static inline uint8_t kl_size(int size)
{
	switch (size) {
	case 1: return BPF_B;
	case 2: return BPF_H;
	case 4: return BPF_W;
	default: return BPF_DW;
	}
}

#define KL_LDX(sz, dst, src, off)                                              \
	kl_insn(BPF_LDX | BPF_MEM | kl_size(sz), dst, src, off, 0)
#define KL_LDXSX(sz, dst, src, off)                                            \
	kl_insn(BPF_LDX | 0x80 /* BPF_MEMSX */ | kl_size(sz), dst, src, off, 0)
#define KL_STX(sz, dst, src, off)                                              \
	kl_insn(BPF_STX | BPF_MEM | kl_size(sz), dst, src, off, 0)
#define KL_MOV_IMM(dst, imm) kl_insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm)
#define KL_JEQ_IMM(dst, imm, off)                                              \
	kl_insn(BPF_JMP | BPF_JEQ | BPF_K, dst, 0, off, imm)
#define KL_EXIT() kl_insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

/*
 * Load @insns as @type / @attach into the kernel. Returns 1 if accepted, 0
 * if refused with EACCES or EINVAL (the verifier's answers), -errno for
 * anything else (no permission, no kernel support).
 */
static inline int kl_accepts(uint32_t type, uint32_t attach,
			     const struct bpf_insn *insns, uint32_t cnt)
{
	union bpf_attr attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = type;
	attr.expected_attach_type = attach;
	attr.insns = (uint64_t)(uintptr_t)insns;
	attr.insn_cnt = cnt;
	attr.license = (uint64_t)(uintptr_t)"GPL";
	fd = (int)syscall(__NR_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	if (fd >= 0) {
		close(fd);
		return 1;
	}
	if (errno == EACCES || errno == EINVAL)
		return 0;
	return -errno;
}

#endif /* USM_TEST_KERN_LOAD_H */
