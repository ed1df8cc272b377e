/* SPDX-License-Identifier: MIT */
/*
 * The assembler's internal interface, shared by asm.c (lexer, operands,
 * labels, driver) and asm_stmt.c (one parser per statement form). A line is
 * lexed into struct usm_asm's token array; parsers consume tokens with the
 * inline helpers below and append instructions with usm__asm_emit(). Every
 * usm__asm_* function returns 0 or the assembly's error code (a->rc, set
 * once: the first error wins and is described in a->err).
 */
#ifndef USM_VM_ASM_INT_H
#define USM_VM_ASM_INT_H

#include <ctype.h>
#include <linux/bpf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define USM_ASM_MAX_TOKS 48
#define USM_ASM_MAX_NAME 64

enum { USM_TOK_END, USM_TOK_IDENT, USM_TOK_NUM, USM_TOK_PUNCT };

struct usm_asm_tok {
	int kind;
	const char *s;
	size_t len;
	uint64_t num;
};

struct usm_asm_label {
	char name[USM_ASM_MAX_NAME];
	uint32_t pc;
};

/* A jump or call whose target is a label. */
struct usm_asm_fixup {
	char name[USM_ASM_MAX_NAME];
	uint32_t pc;
	unsigned line;
	bool imm;  /* target goes into imm (gotol, call), else off */
	bool call; /* "call NAME": label, or else a helper name */
};

/* One assembly: output, labels, fix-ups, the current line's tokens. */
struct usm_asm {
	struct bpf_insn *ins;
	uint32_t cnt, cap;
	struct usm_asm_label *labels;
	uint32_t nlabels, caplabels;
	struct usm_asm_fixup *fix;
	uint32_t nfix, capfix;
	struct usm_asm_tok t[USM_ASM_MAX_TOKS];
	int nt, i;
	unsigned line;
	char *err;
	size_t errsz;
	int rc;
};

static inline struct usm_asm_tok *peek(struct usm_asm *a)
{
	return &a->t[a->i];
}

static inline bool tok_is(const struct usm_asm_tok *t, int kind, const char *s)
{
	return t->kind == kind && t->len == strlen(s) &&
	       !strncmp(t->s, s, t->len);
}

static inline bool accept(struct usm_asm *a, const char *punct)
{
	if (!tok_is(peek(a), USM_TOK_PUNCT, punct))
		return false;
	a->i++;
	return true;
}

static inline bool accept_word(struct usm_asm *a, const char *word)
{
	if (!tok_is(peek(a), USM_TOK_IDENT, word))
		return false;
	a->i++;
	return true;
}

/* A register r0..r10 (@w set false) or w0..w10 (@w true) at @t. */
static inline bool tok_reg(const struct usm_asm_tok *t, uint8_t *reg, bool *w)
{
	unsigned v = 0;
	size_t k;

	if (t->kind != USM_TOK_IDENT || t->len < 2 || t->len > 3 ||
	    (t->s[0] != 'r' && t->s[0] != 'w'))
		return false;
	for (k = 1; k < t->len; k++) {
		if (!isdigit((unsigned char)t->s[k]))
			return false;
		v = v * 10 + (unsigned)(t->s[k] - '0');
	}
	if (v > 10 || (t->len == 3 && t->s[1] == '0'))
		return false;
	*reg = (uint8_t)v;
	*w = t->s[0] == 'w';
	return true;
}

/* Record the first error ("line N: ..." in a->err); returns a->rc. */
int usm__asm_fail(struct usm_asm *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Consume the operator @punct / the word @word, or fail. */
int usm__asm_expect(struct usm_asm *a, const char *punct);
int usm__asm_expect_word(struct usm_asm *a, const char *word);
/* A register (r or w, *w says which); one of the statement's width. */
int usm__asm_parse_reg(struct usm_asm *a, uint8_t *reg, bool *w);
int usm__asm_parse_reg_w(struct usm_asm *a, uint8_t *reg, bool w);
/* [+|-]NUMBER; a 32-bit immediate (-2^31..2^32-1); a 16-bit offset. */
int usm__asm_parse_num(struct usm_asm *a, int64_t *v, bool *neg);
int usm__asm_parse_imm32(struct usm_asm *a, int32_t *imm);
int usm__asm_parse_off16(struct usm_asm *a, int16_t *off);
/* Append one instruction; NULL (a->rc set) on -E2BIG/-ENOMEM. */
struct bpf_insn *usm__asm_emit(struct usm_asm *a, uint8_t code, uint8_t dst,
			       uint8_t src, int16_t off, int32_t imm);
/* Target @name for the instruction just emitted, resolved at the end. */
int usm__asm_add_fixup(struct usm_asm *a, const struct usm_asm_tok *name,
		       bool imm, bool call);
/* "pc+N" or a label into off (or imm) of the instruction just emitted. */
int usm__asm_parse_target(struct usm_asm *a, bool imm);
/* One statement from the current token (asm_stmt.c). */
int usm__asm_parse_stmt(struct usm_asm *a);

#endif /* USM_VM_ASM_INT_H */
