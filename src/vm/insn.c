/* SPDX-License-Identifier: MIT */
/*
 * The opcode table expanded from USM_OPCODES(): one row per opcode byte, so
 * every layer decodes an instruction with one array load.
 */
#include "insn.h"

#include <stddef.h>

const struct usm_opinfo usm__opinfo[256] = {
#define USM_X_ROW(name, code, kind, mnem) [(code)] = {USM_K_##kind, mnem},
	USM_OPCODES(USM_X_ROW)
#undef USM_X_ROW
};

const char *usm__atomic_name(int32_t imm)
{
	switch (imm) {
#define USM_X_ATOMIC(name, val, mnem)                                          \
	case (val):                                                            \
		return mnem;
		USM_ATOMIC_OPS(USM_X_ATOMIC)
#undef USM_X_ATOMIC
	default:
		return NULL;
	}
}
