/* SPDX-License-Identifier: MIT */
/*
 * Drop-in <bpf/libbpf.h>: with -I<includedir>/usockmap/compat ahead of the
 * system include path (pkg-config --cflags usockmap-libbpf), a source
 * written for libbpf keeps its own #include lines and gets libbpf's types
 * with usockmap's implementations of the functions <usockmap/libbpf.h>
 * maps. No include guard of its own: libbpf's header and
 * <usockmap/libbpf.h> guard themselves.
 */
#include_next <bpf/libbpf.h>
#include <usockmap/libbpf.h>
