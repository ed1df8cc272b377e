/* SPDX-License-Identifier: MIT */
/*
 * Tristate numbers: what the verifier knows about the bits of a value. A
 * bit is known when its mask bit is 0 (and then value holds it) and unknown
 * when its mask bit is 1 (value bit is then 0). Every operation returns a
 * tnum that contains every result the concrete operation can produce on
 * members of its inputs; the arithmetic follows the published algorithms
 * the kernel's tnum.c uses (Vishwanathan et al., "Sound, Precise, and Fast
 * Abstract Interpretation with Tristate Numbers").
 */
#include "verify.h"

#include <stdio.h>

struct vtnum usm__tnum_const(uint64_t v)
{
	return (struct vtnum){ .value = v, .mask = 0 };
}

struct vtnum usm__tnum_unknown(void)
{
	return (struct vtnum){ .value = 0, .mask = ~0ull };
}

/* Smallest tnum holding [min, max]: the common prefix is known. */
struct vtnum usm__tnum_range(uint64_t min, uint64_t max)
{
	uint64_t chi = min ^ max, delta;
	int bits = chi ? 64 - __builtin_clzll(chi) : 0;

	if (bits > 63)
		return usm__tnum_unknown();
	delta = (1ull << bits) - 1;
	return (struct vtnum){ .value = min & ~delta, .mask = delta };
}

struct vtnum usm__tnum_lshift(struct vtnum a, uint8_t s)
{
	return (struct vtnum){ .value = a.value << s, .mask = a.mask << s };
}

struct vtnum usm__tnum_rshift(struct vtnum a, uint8_t s)
{
	return (struct vtnum){ .value = a.value >> s, .mask = a.mask >> s };
}

/* Arithmetic shift of a @bits-wide value (32 or 64); the sign bit's
 * knowledge is replicated. */
struct vtnum usm__tnum_arshift(struct vtnum a, uint8_t s, uint8_t bits)
{
	if (bits == 32)
		return (struct vtnum){
			.value = (uint32_t)((int32_t)(uint32_t)a.value >> s),
			.mask = (uint32_t)((int32_t)(uint32_t)a.mask >> s),
		};
	return (struct vtnum){
		.value = (uint64_t)((int64_t)a.value >> s),
		.mask = (uint64_t)((int64_t)a.mask >> s),
	};
}

struct vtnum usm__tnum_add(struct vtnum a, struct vtnum b)
{
	uint64_t sm = a.mask + b.mask, sv = a.value + b.value;
	uint64_t sigma = sm + sv, chi = sigma ^ sv;
	uint64_t mu = chi | a.mask | b.mask;

	return (struct vtnum){ .value = sv & ~mu, .mask = mu };
}

struct vtnum usm__tnum_sub(struct vtnum a, struct vtnum b)
{
	uint64_t dv = a.value - b.value;
	uint64_t alpha = dv + a.mask, beta = dv - b.mask;
	uint64_t chi = alpha ^ beta, mu = chi | a.mask | b.mask;

	return (struct vtnum){ .value = dv & ~mu, .mask = mu };
}

struct vtnum usm__tnum_and(struct vtnum a, struct vtnum b)
{
	uint64_t alpha = a.value | a.mask, beta = b.value | b.mask;
	uint64_t v = a.value & b.value;

	return (struct vtnum){ .value = v, .mask = alpha & beta & ~v };
}

struct vtnum usm__tnum_or(struct vtnum a, struct vtnum b)
{
	uint64_t v = a.value | b.value, mu = a.mask | b.mask;

	return (struct vtnum){ .value = v, .mask = mu & ~v };
}

struct vtnum usm__tnum_xor(struct vtnum a, struct vtnum b)
{
	uint64_t v = a.value ^ b.value, mu = a.mask | b.mask;

	return (struct vtnum){ .value = v & ~mu, .mask = mu };
}

/* Shift-and-add multiplication over the bits of @a. */
struct vtnum usm__tnum_mul(struct vtnum a, struct vtnum b)
{
	struct vtnum acc_v = usm__tnum_const(a.value * b.value);
	struct vtnum acc_m = usm__tnum_const(0);

	while (a.value || a.mask) {
		if (a.value & 1)
			acc_m = usm__tnum_add(acc_m,
					      (struct vtnum){ 0, b.mask });
		else if (a.mask & 1)
			acc_m = usm__tnum_add(
				acc_m, (struct vtnum){ 0, b.value | b.mask });
		a = usm__tnum_rshift(a, 1);
		b = usm__tnum_lshift(b, 1);
	}
	return usm__tnum_add(acc_v, acc_m);
}

/* Values in both a and b (callers guarantee they overlap). */
struct vtnum usm__tnum_intersect(struct vtnum a, struct vtnum b)
{
	uint64_t v = a.value | b.value, mu = a.mask & b.mask;

	return (struct vtnum){ .value = v & ~mu, .mask = mu };
}

/* Truncate to @size bytes (zero extension). */
struct vtnum usm__tnum_cast(struct vtnum a, uint8_t size)
{
	uint64_t keep = size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;

	return (struct vtnum){ .value = a.value & keep, .mask = a.mask & keep };
}

struct vtnum usm__tnum_subreg(struct vtnum a)
{
	return usm__tnum_cast(a, 4);
}

struct vtnum usm__tnum_clear_subreg(struct vtnum a)
{
	return usm__tnum_lshift(usm__tnum_rshift(a, 32), 32);
}

struct vtnum usm__tnum_with_subreg(struct vtnum reg, struct vtnum sub)
{
	return usm__tnum_or(usm__tnum_clear_subreg(reg), usm__tnum_subreg(sub));
}

bool usm__tnum_is_const(struct vtnum a)
{
	return a.mask == 0;
}

bool usm__tnum_equals_const(struct vtnum a, uint64_t v)
{
	return a.mask == 0 && a.value == v;
}

bool usm__tnum_is_aligned(struct vtnum a, uint64_t size)
{
	if (!size)
		return true;
	return ((a.value | a.mask) & (size - 1)) == 0;
}

/* Is every member of b a member of a? */
bool usm__tnum_in(struct vtnum a, struct vtnum b)
{
	if (b.mask & ~a.mask)
		return false;
	b.value &= ~a.mask;
	return a.value == b.value;
}

/* "(0xvalue; 0xmask)" as the kernel's tnum_strn prints it. */
int usm__tnum_sbin(char *buf, size_t n, struct vtnum a)
{
	return snprintf(buf, n, "(0x%llx; 0x%llx)", (unsigned long long)a.value,
			(unsigned long long)a.mask);
}
