/* Writing addresses and address counts as text. Hot in batch mode (a million
 * lines a second), so no printf: each writer fills the caller's buffer
 * directly. */
#include <sockit/ip.h>

#include <string.h>

static const char hex_digits[] = "0123456789abcdef";

/* "00" to "99": two decimal digits per table read instead of one division
 * per digit (batch mode writes ~30 octets and two counts per line). */
static const char digit_pairs[201] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

/* Writes 0-255 in decimal, returns the digits written. */
static size_t put_octet(char *out, unsigned v)
{
	if (v >= 100) {
		out[0] = (char)('0' + v / 100);
		memcpy(out + 1, digit_pairs + 2 * (v % 100), 2);
		return 3;
	}
	if (v >= 10) {
		memcpy(out, digit_pairs + 2 * v, 2);
		return 2;
	}
	out[0] = (char)('0' + v);
	return 1;
}

/* v in decimal, two digits at a time; returns the length. */
static size_t put_u64(char *out, uint64_t v)
{
	char tmp[20];
	size_t n = sizeof tmp;
	while (v >= 100) {
		n -= 2;
		memcpy(tmp + n, digit_pairs + 2 * (v % 100), 2);
		v /= 100;
	}
	if (v >= 10) {
		n -= 2;
		memcpy(tmp + n, digit_pairs + 2 * v, 2);
	} else {
		tmp[--n] = (char)('0' + v);
	}
	memcpy(out, tmp + n, sizeof tmp - n);
	return sizeof tmp - n;
}

static size_t put_quad(char *out, uint32_t v)
{
	size_t n = put_octet(out, v >> 24);
	out[n++] = '.';
	n += put_octet(out + n, v >> 16 & 0xff);
	out[n++] = '.';
	n += put_octet(out + n, v >> 8 & 0xff);
	out[n++] = '.';
	n += put_octet(out + n, v & 0xff);
	return n;
}

/* A group in hex without leading zeros (RFC 5952 §4.1). */
static size_t put_group(char *out, unsigned g)
{
	size_t n = 0;
	int shift = 12;
	while (shift > 0 && (g >> shift & 0xf) == 0)
		shift -= 4;
	for (; shift >= 0; shift -= 4)
		out[n++] = hex_digits[g >> shift & 0xf];
	return n;
}

static void split_groups(const struct sk_ip *ip, unsigned groups[8])
{
	for (int i = 0; i < 4; i++) {
		groups[i] = (unsigned)(ip->hi >> (48 - 16 * i) & 0xffff);
		groups[4 + i] = (unsigned)(ip->lo >> (48 - 16 * i) & 0xffff);
	}
}

/* RFC 5952 §4.2: the longest run of two or more zero groups becomes "::";
 * on a tie the first run wins. n_groups is 8, or 6 ahead of an IPv4 tail. */
static size_t put_compressed(char *out, const unsigned *groups, int n_groups)
{
	int best = -1, best_len = 1;
	for (int i = 0; i < n_groups;) {
		if (groups[i] != 0) {
			i++;
			continue;
		}
		int j = i;
		while (j < n_groups && groups[j] == 0)
			j++;
		if (j - i > best_len) {
			best = i;
			best_len = j - i;
		}
		i = j;
	}

	size_t n = 0;
	for (int i = 0; i < n_groups; i++) {
		if (i == best) {
			out[n++] = ':';
			if (i == 0)
				out[n++] = ':';
			i += best_len - 1;
			continue;
		}
		n += put_group(out + n, groups[i]);
		if (i + 1 < n_groups)
			out[n++] = ':';
	}
	return n;
}

size_t sk_ip_format(const struct sk_ip *ip, enum sk_ip_style style, char *buf)
{
	size_t n;
	if (ip->version == SK_IP_V4) {
		n = put_quad(buf, (uint32_t)ip->lo);
		buf[n] = '\0';
		return n;
	}

	unsigned groups[8];
	split_groups(ip, groups);
	if (style == SK_IP_EXPLODED) {
		n = 0;
		for (int i = 0; i < 8; i++) {
			for (int shift = 12; shift >= 0; shift -= 4)
				buf[n++] = hex_digits[groups[i] >> shift & 0xf];
			if (i < 7)
				buf[n++] = ':';
		}
	} else if (style == SK_IP_CANONICAL && ip->hi == 0 && ip->lo >> 32 == 0xffff) {
		/* RFC 5952 §5: IPv4-mapped addresses keep their dotted tail. */
		memcpy(buf, "::ffff:", 7);
		n = 7 + put_quad(buf + 7, (uint32_t)ip->lo);
	} else {
		n = put_compressed(buf, groups, 8);
	}
	buf[n] = '\0';
	return n;
}

/* Fits 2^128 in 32-bit limbs, least significant first. */
#define COUNT_LIMBS 5

size_t sk_ip_format_count(unsigned log2, unsigned minus, char *buf)
{
	if (log2 < 64) {
		size_t n = put_u64(buf, (UINT64_C(1) << log2) - minus);
		buf[n] = '\0';
		return n;
	}

	/* 2^log2 - minus as limbs: subtracting minus from a power of two of 64
	 * or more bits borrows through every lower limb. */
	uint32_t limb[COUNT_LIMBS] = { 0 };
	limb[log2 / 32] = UINT32_C(1) << (log2 % 32);
	if (minus) {
		uint64_t borrow = minus;
		for (int i = 0; i < COUNT_LIMBS && borrow; i++) {
			uint64_t v = (uint64_t)limb[i] + (UINT64_C(1) << 32) - borrow;
			limb[i] = (uint32_t)v;
			borrow = v >> 32 ? 0 : 1;
		}
	}

	/* Repeated division by 10^9 yields nine decimal digits at a time. */
	char tmp[SK_IP_COUNT_STRLEN + 9];
	size_t n = 0;
	for (;;) {
		bool is_zero = true;
		uint64_t rem = 0;
		for (int i = COUNT_LIMBS - 1; i >= 0; i--) {
			uint64_t cur = rem << 32 | limb[i];
			limb[i] = (uint32_t)(cur / 1000000000u);
			rem = cur % 1000000000u;
			if (limb[i])
				is_zero = false;
		}
		for (int d = 0; d < 9; d++) {
			tmp[n++] = (char)('0' + rem % 10);
			rem /= 10;
		}
		if (is_zero)
			break;
	}
	while (n > 1 && tmp[n - 1] == '0')
		n--;
	for (size_t i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	buf[n] = '\0';
	return n;
}
