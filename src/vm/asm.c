/* SPDX-License-Identifier: MIT */
/*
 * The assembler (syntax in asm.h). Each line is cut into tokens (registers
 * and names, numbers, operators), one statement is parsed from them and
 * emitted; jumps and calls to labels are recorded as fix-ups and resolved
 * once every label is known. Nothing here trusts its input: every number is
 * range-checked against the field it goes into.
 */
#include "asm.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../helpers/helpers.h"
#include "asm_int.h"
#include "insn.h"

#define MAX_HELPER 1024u /* helper ids probed when a call names a helper */

int usm__asm_fail(struct usm_asm *a, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (a->rc)
		return a->rc;
	a->rc = -EINVAL;
	if (a->errsz) {
		n = snprintf(a->err, a->errsz, "line %u: ", a->line);
		if (n < 0 || (size_t)n >= a->errsz)
			return a->rc;
		va_start(ap, fmt);
		vsnprintf(a->err + n, a->errsz - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return a->rc;
}

/* ---- lexer ---------------------------------------------------------- */

static const char *const puncts[] = {
    "s>>=", "<<=", ">>=", "s<=", "s>=", "s/=", "s%=", "s>", "s<",
    "+=",   "-=",  "*=",  "/=",	 "|=",	"&=",  "%=",  "^=", "==",
    "!=",   ">=",  "<=",  "=",	 ">",	"<",   "&",   "(",  ")",
    "*",    "+",   "-",	  ",",	 "[",	"]",   ":",   "#",
};

static bool ident_start(int c)
{
	return isalpha(c) || c == '_' || c == '.';
}

static bool ident_char(int c)
{
	return isalnum(c) || c == '_' || c == '.';
}

static int lex_punct(const char *p, size_t *len)
{
	size_t k, n;

	for (k = 0; k < sizeof(puncts) / sizeof(puncts[0]); k++) {
		n = strlen(puncts[k]);
		if (!strncmp(p, puncts[k], n)) {
			*len = n;
			return 0;
		}
	}
	return -1;
}

static int lex_num(struct usm_asm *a, const char *p, struct usm_asm_tok *t)
{
	char *end;

	errno = 0;
	t->num = strtoull(p, &end, 0);
	if (errno || ident_char((unsigned char)*end))
		return usm__asm_fail(a, "bad number '%.*s'",
				     (int)strcspn(p, " \t,)]"), p);
	t->kind = USM_TOK_NUM;
	t->len = (size_t)(end - p);
	return 0;
}

/* Cut @p (one line, comments removed) into a->t. */
static int lex_line(struct usm_asm *a, const char *p)
{
	struct usm_asm_tok *t;

	a->nt = a->i = 0;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (!*p)
			break;
		if (a->nt == USM_ASM_MAX_TOKS - 1)
			return usm__asm_fail(a, "line too long");
		t = &a->t[a->nt++];
		t->s = p;
		if (*p == 's' && strchr("<>/%", p[1]) && p[1] &&
		    !lex_punct(p, &t->len)) {
			t->kind = USM_TOK_PUNCT;
		} else if (ident_start((unsigned char)*p)) {
			t->kind = USM_TOK_IDENT;
			for (t->len = 1; ident_char((unsigned char)p[t->len]);)
				t->len++;
		} else if (isdigit((unsigned char)*p)) {
			if (lex_num(a, p, t))
				return a->rc;
		} else if (!lex_punct(p, &t->len)) {
			t->kind = USM_TOK_PUNCT;
		} else {
			return usm__asm_fail(a, "unexpected character '%c'",
					     *p);
		}
		p += t->len;
	}
	a->t[a->nt].kind = USM_TOK_END;
	a->t[a->nt].s = p;
	a->t[a->nt].len = 0;
	return 0;
}

/* ---- token helpers ---------------------------------------------------- */

int usm__asm_expect(struct usm_asm *a, const char *punct)
{
	const struct usm_asm_tok *t = peek(a);

	if (accept(a, punct))
		return 0;
	return usm__asm_fail(a, "expected '%s' before '%.*s'", punct,
			     t->kind == USM_TOK_END ? 5 : (int)t->len,
			     t->kind == USM_TOK_END ? "(end)" : t->s);
}

int usm__asm_expect_word(struct usm_asm *a, const char *word)
{
	if (accept_word(a, word))
		return 0;
	return usm__asm_fail(a, "expected '%s'", word);
}

int usm__asm_parse_reg(struct usm_asm *a, uint8_t *reg, bool *w)
{
	if (!tok_reg(peek(a), reg, w))
		return usm__asm_fail(a, "expected a register");
	a->i++;
	return 0;
}

/* A register of width @w (the statement's). */
int usm__asm_parse_reg_w(struct usm_asm *a, uint8_t *reg, bool w)
{
	bool w2;

	if (usm__asm_parse_reg(a, reg, &w2))
		return a->rc;
	if (w2 != w)
		return usm__asm_fail(a, "mixed r and w registers");
	return 0;
}

/* [+|-]NUMBER as a signed value in [-2^63, 2^64). */
int usm__asm_parse_num(struct usm_asm *a, int64_t *v, bool *neg)
{
	struct usm_asm_tok *t;

	*neg = accept(a, "-");
	if (!*neg)
		accept(a, "+");
	t = peek(a);
	if (t->kind != USM_TOK_NUM)
		return usm__asm_fail(a, "expected a number");
	a->i++;
	if (*neg && t->num > (uint64_t)INT64_MAX + 1)
		return usm__asm_fail(a, "number out of range");
	*v = *neg ? (int64_t)(0 - t->num) : (int64_t)t->num;
	return 0;
}

/* A 32-bit immediate: -2^31..2^32-1 (hex 0xffffffff is -1). */
int usm__asm_parse_imm32(struct usm_asm *a, int32_t *imm)
{
	int64_t v;
	bool neg;

	if (usm__asm_parse_num(a, &v, &neg))
		return a->rc;
	if (neg ? v < INT32_MIN : (uint64_t)v > UINT32_MAX)
		return usm__asm_fail(a, "immediate out of 32-bit range");
	*imm = (int32_t)(uint32_t)(uint64_t)v;
	return 0;
}

int usm__asm_parse_off16(struct usm_asm *a, int16_t *off)
{
	int64_t v;
	bool neg;

	if (usm__asm_parse_num(a, &v, &neg))
		return a->rc;
	if ((neg && v < INT16_MIN) || (!neg && (uint64_t)v > INT16_MAX))
		return usm__asm_fail(a, "offset out of 16-bit range");
	*off = (int16_t)v;
	return 0;
}

/* ---- emitting --------------------------------------------------------- */

struct bpf_insn *usm__asm_emit(struct usm_asm *a, uint8_t code, uint8_t dst,
			       uint8_t src, int16_t off, int32_t imm)
{
	struct bpf_insn *n;

	if (a->cnt == a->cap) {
		uint32_t cap = a->cap ? a->cap * 2 : 64;

		if (a->cnt >= USM_MAX_INSNS) {
			a->rc = -E2BIG;
			snprintf(a->err, a->errsz,
				 "line %u: more than %u instructions", a->line,
				 USM_MAX_INSNS);
			return NULL;
		}
		n = realloc(a->ins, cap * sizeof(*n));
		if (!n) {
			a->rc = -ENOMEM;
			return NULL;
		}
		a->ins = n;
		a->cap = cap;
	}
	n = &a->ins[a->cnt++];
	n->code = code;
	n->dst_reg = dst;
	n->src_reg = src;
	n->off = off;
	n->imm = imm;
	return n;
}

int usm__asm_add_fixup(struct usm_asm *a, const struct usm_asm_tok *name,
		       bool imm, bool call)
{
	struct usm_asm_fixup *f;

	if (name->len >= USM_ASM_MAX_NAME)
		return usm__asm_fail(a, "name too long");
	if (a->nfix == a->capfix) {
		uint32_t cap = a->capfix ? a->capfix * 2 : 16;

		f = realloc(a->fix, cap * sizeof(*f));
		if (!f)
			return a->rc = -ENOMEM;
		a->fix = f;
		a->capfix = cap;
	}
	f = &a->fix[a->nfix++];
	memcpy(f->name, name->s, name->len);
	f->name[name->len] = '\0';
	f->pc = a->cnt - 1;
	f->line = a->line;
	f->imm = imm;
	f->call = call;
	return 0;
}

/* A jump target: "pc+N"/"pc-N" into off or imm of the instruction just
 * emitted, or a label (fixed up later). */
int usm__asm_parse_target(struct usm_asm *a, bool imm)
{
	struct bpf_insn *in = &a->ins[a->cnt - 1];
	struct usm_asm_tok *t = peek(a);
	int32_t v;

	if (t->kind != USM_TOK_IDENT)
		return usm__asm_fail(a, "expected a jump target");
	a->i++;
	if (!tok_is(t, USM_TOK_IDENT, "pc"))
		return usm__asm_add_fixup(a, t, imm, false);
	if (imm)
		return usm__asm_parse_imm32(a, &in->imm);
	if (usm__asm_parse_imm32(a, &v))
		return a->rc;
	if (v < INT16_MIN || v > INT16_MAX)
		return usm__asm_fail(a, "jump offset out of 16-bit range");
	in->off = (int16_t)v;
	return 0;
}

/* ---- driver ------------------------------------------------------------ */

/* Length of the line at @p without its comment. */
static size_t strip_comment(const char *p, size_t len)
{
	size_t k;

	for (k = 0; k < len; k++) {
		if (p[k] == ';')
			return k;
		if (p[k] == '#' &&
		    (k == 0 || p[k - 1] == ' ' || p[k - 1] == '\t'))
			return k;
	}
	return len;
}

static int add_label(struct usm_asm *a, const struct usm_asm_tok *t)
{
	struct usm_asm_label *l;
	uint8_t r;
	bool w;
	uint32_t k;

	if (t->len >= USM_ASM_MAX_NAME || tok_reg(t, &r, &w) ||
	    tok_is(t, USM_TOK_IDENT, "pc"))
		return usm__asm_fail(a, "bad label name '%.*s'", (int)t->len,
				     t->s);
	for (k = 0; k < a->nlabels; k++)
		if (strlen(a->labels[k].name) == t->len &&
		    !strncmp(a->labels[k].name, t->s, t->len))
			return usm__asm_fail(a, "label '%.*s' defined twice",
					     (int)t->len, t->s);
	if (a->nlabels == a->caplabels) {
		uint32_t cap = a->caplabels ? a->caplabels * 2 : 16;

		l = realloc(a->labels, cap * sizeof(*l));
		if (!l)
			return a->rc = -ENOMEM;
		a->labels = l;
		a->caplabels = cap;
	}
	l = &a->labels[a->nlabels++];
	memcpy(l->name, t->s, t->len);
	l->name[t->len] = '\0';
	l->pc = a->cnt;
	return 0;
}

static int do_line(struct usm_asm *a, const char *p, size_t len)
{
	char buf[512];

	len = strip_comment(p, len);
	if (len >= sizeof(buf))
		return usm__asm_fail(a, "line too long");
	memcpy(buf, p, len);
	buf[len] = '\0';
	if (lex_line(a, buf))
		return a->rc;
	while (a->nt - a->i >= 2 && a->t[a->i].kind == USM_TOK_IDENT &&
	       tok_is(&a->t[a->i + 1], USM_TOK_PUNCT, ":")) {
		if (add_label(a, &a->t[a->i]))
			return a->rc;
		a->i += 2;
	}
	if (peek(a)->kind == USM_TOK_END)
		return 0;
	if (usm__asm_parse_stmt(a))
		return a->rc;
	if (peek(a)->kind != USM_TOK_END)
		return usm__asm_fail(a,
				     "unexpected '%.*s' after the instruction",
				     (int)peek(a)->len, peek(a)->s);
	return 0;
}

static int helper_by_name(const char *name, int32_t *id)
{
	uint32_t k;
	const char *n;

	for (k = 0; k < MAX_HELPER; k++) {
		n = usm__helper_name(k);
		if (n && (!strcmp(n, name) ||
			  (!strncmp(n, "bpf_", 4) && !strcmp(n + 4, name)))) {
			*id = (int32_t)k;
			return 0;
		}
	}
	return -ENOENT;
}

static int resolve(struct usm_asm *a, struct usm_asm_fixup *f)
{
	struct bpf_insn *in = &a->ins[f->pc];
	uint32_t k;
	int64_t d;

	a->line = f->line;
	for (k = 0; k < a->nlabels; k++)
		if (!strcmp(a->labels[k].name, f->name))
			break;
	if (k == a->nlabels) {
		if (f->call && !helper_by_name(f->name, &in->imm))
			return 0;
		return usm__asm_fail(a, "unknown %s '%s'",
				     f->call ? "label or helper" : "label",
				     f->name);
	}
	d = (int64_t)a->labels[k].pc - (int64_t)f->pc - 1;
	if (f->call)
		in->src_reg = BPF_PSEUDO_CALL;
	if (f->imm || f->call) {
		in->imm = (int32_t)d;
		return 0;
	}
	if (d < INT16_MIN || d > INT16_MAX)
		return usm__asm_fail(a, "jump to '%s' out of 16-bit range",
				     f->name);
	in->off = (int16_t)d;
	return 0;
}

int usm__asm(const char *text, struct bpf_insn **out, uint32_t *cnt, char *err,
	     size_t errsz)
{
	struct usm_asm a;
	const char *p = text, *e;
	uint32_t k;

	*out = NULL;
	*cnt = 0;
	memset(&a, 0, sizeof(a));
	a.err = err;
	a.errsz = err ? errsz : 0;
	if (a.errsz)
		err[0] = '\0';
	while (p && *p && !a.rc) {
		e = strchr(p, '\n');
		a.line++;
		do_line(&a, p, e ? (size_t)(e - p) : strlen(p));
		p = e ? e + 1 : NULL;
	}
	for (k = 0; k < a.nfix && !a.rc; k++)
		resolve(&a, &a.fix[k]);
	free(a.labels);
	free(a.fix);
	if (a.rc) {
		free(a.ins);
		return a.rc;
	}
	*out = a.ins;
	*cnt = a.cnt;
	return 0;
}
