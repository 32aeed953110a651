/* Internals of the base layer (src/lib/base/), for the layers above: never
 * installed, never in include/.
 *
 * 128-bit unsigned arithmetic on struct sk_ip's (hi, lo) pair, and the
 * value of a hex digit, which every parser above needs.
 * Portable C instead of unsigned __int128, which -std=c11 compilers need not
 * have; every helper is a few instructions and inlines away. */
#ifndef SOCKIT_BASE_INTERNAL_H
#define SOCKIT_BASE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

struct u128 {
	uint64_t hi, lo;
};

static inline struct u128 u128_make(uint64_t hi, uint64_t lo)
{
	struct u128 r = { hi, lo };
	return r;
}

/* The low n bits set, 0 <= n <= 128. */
static inline struct u128 u128_low_ones(unsigned n)
{
	if (n == 0)
		return u128_make(0, 0);
	if (n < 64)
		return u128_make(0, (UINT64_C(1) << n) - 1);
	if (n == 64)
		return u128_make(0, UINT64_MAX);
	if (n < 128)
		return u128_make((UINT64_C(1) << (n - 64)) - 1, UINT64_MAX);
	return u128_make(UINT64_MAX, UINT64_MAX);
}

/* The top prefix bits of a bits-wide value set: a netmask. Branch-light
 * because classification tests ~25 networks per address (bench/ip.sh). */
static inline struct u128 u128_prefix_mask(unsigned bits, unsigned prefix)
{
	if (bits == 32)
		return u128_make(0, prefix ? (UINT64_C(0xffffffff) << (32 - prefix)) & 0xffffffffu : 0);
	if (prefix == 0)
		return u128_make(0, 0);
	if (prefix <= 64)
		return u128_make(UINT64_MAX << (64 - prefix), 0);
	return u128_make(UINT64_MAX, UINT64_MAX << (128 - prefix));
}

/* 2^n, 0 <= n < 128. */
static inline struct u128 u128_pow2(unsigned n)
{
	return n < 64 ? u128_make(0, UINT64_C(1) << n) : u128_make(UINT64_C(1) << (n - 64), 0);
}

static inline struct u128 u128_not(struct u128 a)
{
	return u128_make(~a.hi, ~a.lo);
}

static inline struct u128 u128_and(struct u128 a, struct u128 b)
{
	return u128_make(a.hi & b.hi, a.lo & b.lo);
}

static inline struct u128 u128_or(struct u128 a, struct u128 b)
{
	return u128_make(a.hi | b.hi, a.lo | b.lo);
}

static inline bool u128_eq(struct u128 a, struct u128 b)
{
	return a.hi == b.hi && a.lo == b.lo;
}

static inline bool u128_is_zero(struct u128 a)
{
	return (a.hi | a.lo) == 0;
}

static inline int u128_cmp(struct u128 a, struct u128 b)
{
	if (a.hi != b.hi)
		return a.hi < b.hi ? -1 : 1;
	if (a.lo != b.lo)
		return a.lo < b.lo ? -1 : 1;
	return 0;
}

/* a + b modulo 2^128; *carry is set when the sum wrapped. */
static inline struct u128 u128_add(struct u128 a, struct u128 b, bool *carry)
{
	struct u128 r;
	r.lo = a.lo + b.lo;
	uint64_t c = r.lo < a.lo;
	r.hi = a.hi + b.hi + c;
	*carry = r.hi < a.hi || (r.hi == a.hi && (b.hi | c) != 0);
	return r;
}

/* a - b modulo 2^128; *borrow is set when b > a. */
static inline struct u128 u128_sub(struct u128 a, struct u128 b, bool *borrow)
{
	struct u128 r;
	r.lo = a.lo - b.lo;
	uint64_t c = a.lo < b.lo;
	r.hi = a.hi - b.hi - c;
	*borrow = u128_cmp(a, b) < 0;
	return r;
}

/* Trailing zero bits; 128 for zero. */
static inline unsigned u128_ctz(struct u128 a)
{
	if (a.lo)
		return (unsigned)__builtin_ctzll(a.lo);
	if (a.hi)
		return 64 + (unsigned)__builtin_ctzll(a.hi);
	return 128;
}

/* Index of the highest set bit plus one (Python's int.bit_length); 0 for zero. */
static inline unsigned u128_bit_length(struct u128 a)
{
	if (a.hi)
		return 128 - (unsigned)__builtin_clzll(a.hi);
	if (a.lo)
		return 64 - (unsigned)__builtin_clzll(a.lo);
	return 0;
}

/* The value of the hex digit c (either case), or -1 if it is not one. */
static inline int sk__hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

#endif
