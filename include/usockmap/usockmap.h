/* SPDX-License-Identifier: MIT */
/*
 * usockmap: Linux's BPF socket-redirect system (SOCKMAP, SOCKHASH, sk_skb,
 * sk_msg, sk_reuseport) in user space. This umbrella header pulls in the
 * whole public API:
 *
 *   <usockmap/object.h>  open and load clang-compiled BPF objects, find
 *                        programs and maps (libbpf-shaped)
 *   <usockmap/map.h>     create maps and use them from user space
 *   <usockmap/run.h>     run a program on chosen input (what the kernel's
 *                        BPF_PROG_TEST_RUN cannot do for these types)
 *   <usockmap/bpf.h>     usm_bpf(): the kernel's bpf(2) ABI (union
 *                        bpf_attr) served by usockmap, with real-fd handles
 *
 * <usockmap/libbpf.h> is separate: it maps libbpf's names (bpf_map_create,
 * bpf_object__open_file, ...) onto usockmap for programs written for libbpf.
 *
 * Conventions (as libbpf 1.x): functions that can fail return int, >= 0 on
 * success and a negative errno with the kernel's meaning on failure;
 * objects come back through out-parameters; options structs start with
 * `size_t sz` and may be NULL; destructors accept NULL.
 */
#ifndef USOCKMAP_USOCKMAP_H
#define USOCKMAP_USOCKMAP_H

#include <usockmap/object.h>
#include <usockmap/map.h>
#include <usockmap/run.h>
#include <usockmap/bpf.h>
#include <usockmap/sock.h>
#include <usockmap/send.h>
#include <usockmap/reuseport.h>

#endif /* USOCKMAP_USOCKMAP_H */
