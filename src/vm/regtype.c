/* SPDX-License-Identifier: MIT */
/*
 * Register type names for verifier messages, spelled as the kernel's
 * reg_type_str() spells them so logs read the same ("scalar", "ctx", "fp",
 * "map_value_or_null", ...).
 */
#include "regtype.h"

#include <stddef.h>

static const char *const names[USM_REG_TYPE_MAX] = {
    [USM_NOT_INIT] = "?",
    [USM_SCALAR] = "scalar",
    [USM_PTR_TO_CTX] = "ctx",
    [USM_CONST_PTR_TO_MAP] = "map_ptr",
    [USM_PTR_TO_MAP_VALUE] = "map_value",
    [USM_PTR_TO_MAP_VALUE_OR_NULL] = "map_value_or_null",
    [USM_PTR_TO_MAP_KEY] = "map_key",
    [USM_PTR_TO_STACK] = "fp",
    [USM_PTR_TO_PACKET_META] = "pkt_meta",
    [USM_PTR_TO_PACKET] = "pkt",
    [USM_PTR_TO_PACKET_END] = "pkt_end",
    [USM_PTR_TO_SOCKET] = "sock",
    [USM_PTR_TO_SOCKET_OR_NULL] = "sock_or_null",
    [USM_PTR_TO_SOCK_COMMON] = "sock_common",
    [USM_PTR_TO_SOCK_COMMON_OR_NULL] = "sock_common_or_null",
    [USM_PTR_TO_MEM] = "mem",
    [USM_PTR_TO_MEM_OR_NULL] = "mem_or_null",
};

const char *usm__reg_type_name(enum usm_reg_type t)
{
	if ((unsigned)t >= USM_REG_TYPE_MAX || !names[t])
		return "unknown";
	return names[t];
}
