/* SPDX-License-Identifier: MIT */
/*
 * Helper names by id, for verifier messages and the disassembler
 * ("call bpf_map_lookup_elem#1"). The table is generated from the UAPI
 * header's own helper list (__BPF_FUNC_MAPPER in <linux/bpf.h>), so it
 * always matches the numbers we build with; ids newer than that header but
 * present in the 6.12 baseline are named by hand below it.
 */
#include <linux/bpf.h>
#include <stddef.h>

#include "helpers.h"

/* __BPF_FUNC_MAPPER(FN) expands to "FN(name), FN(name), ..." in every
 * header version. */
#define USM_HELPER_NAME(x) [BPF_FUNC_##x] = "bpf_" #x

static const char *const names[__BPF_FUNC_MAX_ID] = {
	__BPF_FUNC_MAPPER(USM_HELPER_NAME)
};

const char *usm__helper_name(uint32_t id)
{
	if (id == 0)
		return NULL; /* BPF_FUNC_unspec is not a helper */
	if (id < __BPF_FUNC_MAX_ID)
		return names[id];
	/* 6.12 ids an older header may not list. */
	switch (id) {
	case 210:
		return "bpf_cgrp_storage_get";
	case 211:
		return "bpf_cgrp_storage_delete";
	default:
		return NULL;
	}
}
