/* Reading IPv4 and IPv6 addresses, prefixes and netmasks from text.
 *
 * The accepted language is Python 3.11 ipaddress's, rule for rule, so a user
 * never finds an input one tool takes and the other refuses without a reason
 * written down here. */
#include <sockit/err.h>
#include <sockit/ip.h>

#include <string.h>

#include "base/base_internal.h"

/* Python splits on ':' and accepts at most 8 colons: 9 parts. */
#define V6_MAX_PARTS 9
#define V6_GROUPS 8

static int fail(int err, const char *p, size_t len, struct sk_slice *bad)
{
	if (bad) {
		bad->p = p;
		bad->len = len;
	}
	return err;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Reads a dotted quad into a 32-bit value without touching any sk_ip. One
 * pass over the text: this runs a million times a second in batch mode. */
static int parse_quad(const char *text, size_t len, uint32_t *out, struct sk_slice *bad)
{
	if (len == 0)
		return fail(SK_EADDR_EMPTY, text, 0, bad);

	uint32_t value = 0;
	unsigned n_octets = 0, octet = 0;
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		char c = i < len ? text[i] : '.';
		if (is_digit(c)) {
			octet = octet * 10 + (unsigned)(c - '0');
			if (octet > 999)
				octet = 1000; /* saturate: long digit runs are out of range anyway */
			continue;
		}
		if (c != '.')
			return fail(SK_EADDR_CHAR, text + i, 1, bad);
		size_t n_digits = i - start;
		if (n_digits == 0)
			return fail(SK_EADDR_OCTET_EMPTY, text + start, 0, bad);
		if (n_octets == 4)
			return fail(SK_EADDR_OCTETS, text, len, bad);
		/* glibc's inet_pton refuses "010", inet_aton reads it as octal 8:
		 * an address that means two things is refused (CVE-2021-29921). */
		if (n_digits > 1 && text[start] == '0' && n_digits <= 3)
			return fail(SK_EADDR_LEADING_ZERO, text + start, n_digits, bad);
		if (octet > 255 || n_digits > 3) {
			/* "167772161" is an integer, not one huge octet. */
			if (n_octets == 0 && i == len)
				return fail(SK_EADDR_OCTETS, text, len, bad);
			return fail(SK_EADDR_OCTET_RANGE, text + start, n_digits, bad);
		}
		value = value << 8 | octet;
		n_octets++;
		octet = 0;
		start = i + 1;
	}
	if (n_octets != 4)
		return fail(SK_EADDR_OCTETS, text, len, bad);
	*out = value;
	return 0;
}

int sk_ip_parse_v4(const char *text, size_t len, struct sk_ip *out, struct sk_slice *bad)
{
	uint32_t value;
	int err = parse_quad(text, len, &value, bad);
	if (err < 0)
		return err;
	out->hi = 0;
	out->lo = value;
	out->version = SK_IP_V4;
	return 0;
}

static int parse_hextet(const char *s, size_t len, unsigned *out, struct sk_slice *bad)
{
	unsigned v = 0;
	for (size_t i = 0; i < len; i++) {
		int h = sk__hex_value((unsigned char)s[i]);
		if (h < 0)
			return fail(SK_EADDR_CHAR, s + i, 1, bad);
		v = v << 4 | (unsigned)h;
		if (i == 4)
			return fail(SK_EADDR_HEXTET_LEN, s, len, bad);
	}
	*out = v & 0xffff;
	return 0;
}

struct part {
	const char *p;
	size_t len;
};

/* Splits text at ':' like Python's str.split(), refusing more than
 * V6_MAX_PARTS parts. Returns the number of parts or an error. */
static int split_colons(const char *text, size_t len, struct part *parts, struct sk_slice *bad)
{
	int n = 0;
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && text[i] != ':')
			continue;
		if (n == V6_MAX_PARTS + 1)
			return fail(SK_EADDR_GROUPS, text, len, bad);
		parts[n].p = text + start;
		parts[n].len = i - start;
		n++;
		start = i + 1;
	}
	return n;
}

static bool has_dot(const struct part *pt)
{
	return memchr(pt->p, '.', pt->len) != NULL;
}

int sk_ip_parse_v6(const char *text, size_t len, struct sk_ip *out, struct sk_slice *bad)
{
	if (len == 0)
		return fail(SK_EADDR_EMPTY, text, 0, bad);

	/* One spare slot: an IPv4 tail becomes two groups. */
	struct part parts[V6_MAX_PARTS + 2];
	int n = split_colons(text, len, parts, bad);
	if (n < 0)
		return n;
	if (n < 3) {
		/* Fewer than two colons: a lone IPv4 address or a name. */
		for (size_t i = 0; i < len; i++)
			if (text[i] != ':' && text[i] != '.' && sk__hex_value((unsigned char)text[i]) < 0)
				return fail(SK_EADDR_CHAR, text + i, 1, bad);
		return fail(SK_EADDR_GROUPS, text, len, bad);
	}

	/* RFC 4291 §2.2 form 3: a dotted quad stands for the last two groups. */
	uint32_t tail = 0;
	bool has_tail = has_dot(&parts[n - 1]);
	if (has_tail) {
		int err = parse_quad(parts[n - 1].p, parts[n - 1].len, &tail, bad);
		if (err < 0)
			return err;
		n++; /* the tail counts as two groups from here on */
	}
	if (n > V6_MAX_PARTS)
		return fail(SK_EADDR_GROUPS, text, len, bad);

	/* The index of the one empty inner part, which is where "::" stands. */
	int skip = -1;
	int last_text = has_tail ? n - 2 : n - 1; /* the last part that is a group of text */
	for (int i = 1; i < n - 1; i++) {
		if (i > last_text || parts[i].len != 0)
			continue;
		if (skip >= 0)
			return fail(SK_EADDR_DOUBLE_COLON, parts[i].p - 1, 2, bad);
		skip = i;
	}

	int n_hi, n_lo; /* groups written before and after the "::" */
	if (skip >= 0) {
		n_hi = skip;
		n_lo = n - skip - 1;
		if (parts[0].len == 0 && --n_hi != 0)
			return fail(SK_EADDR_LONE_COLON, text, 1, bad);
		if (!has_tail && parts[n - 1].len == 0 && --n_lo != 0)
			return fail(SK_EADDR_LONE_COLON, text + len - 1, 1, bad);
		if (n_hi + n_lo > V6_GROUPS - 1)
			return fail(SK_EADDR_GROUPS, text, len, bad);
	} else {
		if (n != V6_GROUPS)
			return fail(SK_EADDR_GROUPS, text, len, bad);
		if (parts[0].len == 0)
			return fail(SK_EADDR_LONE_COLON, text, 1, bad);
		if (!has_tail && parts[n - 1].len == 0)
			return fail(SK_EADDR_LONE_COLON, text + len - 1, 1, bad);
		n_hi = n;
		n_lo = 0;
	}

	/* Groups as 16-bit values in order, the "::" filled with zeroes. */
	unsigned groups[V6_GROUPS] = { 0 };
	int first_lo = n - n_lo;
	for (int i = 0; i < n; i++) {
		if (i >= n_hi && i < first_lo)
			continue;
		int g = i < n_hi ? i : V6_GROUPS - (n - i);
		if (has_tail && i >= n - 2) {
			groups[g] = i == n - 2 ? tail >> 16 : tail & 0xffff;
			continue;
		}
		if (parts[i].len == 0)
			return fail(SK_EADDR_GROUPS, text, len, bad);
		int err = parse_hextet(parts[i].p, parts[i].len, &groups[g], bad);
		if (err < 0)
			return err;
	}

	out->hi = (uint64_t)groups[0] << 48 | (uint64_t)groups[1] << 32 |
	          (uint64_t)groups[2] << 16 | groups[3];
	out->lo = (uint64_t)groups[4] << 48 | (uint64_t)groups[5] << 32 |
	          (uint64_t)groups[6] << 16 | groups[7];
	out->version = SK_IP_V6;
	return 0;
}

int sk_ip_parse(const char *text, size_t len, struct sk_ip *out, struct sk_slice *bad)
{
	if (memchr(text, ':', len))
		return sk_ip_parse_v6(text, len, out, bad);
	return sk_ip_parse_v4(text, len, out, bad);
}

/* A mask in dotted form: the ones must be contiguous, from the left for a
 * netmask or from the right for a hostmask. */
static int prefix_from_mask(uint32_t mask, unsigned *prefix_out)
{
	uint32_t inverted = ~mask;
	/* A netmask plus one below its lowest one bit is a power of two (or 0). */
	if ((inverted & (inverted + 1)) == 0) {
		*prefix_out = 32 - (unsigned)__builtin_popcount(inverted);
		return 0;
	}
	if ((mask & (mask + 1)) == 0) {
		*prefix_out = 32 - (unsigned)__builtin_popcount(mask);
		return 0;
	}
	return SK_EMASK_NONCONTIGUOUS;
}

int sk_ip_parse_prefix(const char *text, size_t len, unsigned version, unsigned *prefix_out,
                       struct sk_slice *bad)
{
	unsigned max = sk_ip_bits(version);
	size_t n_digits = 0;
	while (n_digits < len && is_digit(text[n_digits]))
		n_digits++;

	if (len > 0 && n_digits == len) {
		/* Leading zeros are fine ("/024"); only the value is bounded. */
		unsigned value = 0;
		for (size_t i = 0; i < len; i++) {
			value = value * 10 + (unsigned)(text[i] - '0');
			if (value > max)
				return fail(SK_EPREFIX_RANGE, text, len, bad);
		}
		*prefix_out = value;
		return 0;
	}
	if (version != SK_IP_V4 || len == 0 || memchr(text, '.', len) == NULL)
		return fail(SK_EPREFIX_SYNTAX, text, len, bad);

	uint32_t mask;
	int err = parse_quad(text, len, &mask, NULL);
	if (err < 0)
		return fail(SK_EPREFIX_SYNTAX, text, len, bad);
	if (prefix_from_mask(mask, prefix_out) < 0)
		return fail(SK_EMASK_NONCONTIGUOUS, text, len, bad);
	return 0;
}

/* RFC 4007 §11: ADDRESS%ZONE. The zone is an interface name or number: we
 * take printable ASCII (space included, as Python does) and nothing else, so
 * a zone can never corrupt a log line or a JSON record (Python takes any
 * character, control bytes too). */
static int check_zone(const char *z, size_t len, struct sk_slice *bad)
{
	if (len == 0 || len > SK_IP_ZONE_MAX)
		return fail(SK_EADDR_ZONE, z, len, bad);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)z[i];
		if (c < ' ' || c >= 0x7f || c == '%')
			return fail(SK_EADDR_ZONE, z + i, 1, bad);
	}
	return 0;
}

int sk_ip_parse_cidr(const char *text, size_t len, struct sk_ip_cidr *out, struct sk_slice *bad)
{
	const char *slash = memchr(text, '/', len);
	size_t addr_len = slash ? (size_t)(slash - text) : len;
	if (slash && memchr(slash + 1, '/', len - addr_len - 1))
		return fail(SK_EPREFIX_SLASH, text, len, bad);

	struct sk_ip_cidr c;
	memset(&c, 0, sizeof c);
	const char *percent = memchr(text, '%', addr_len);
	size_t ip_len = percent ? (size_t)(percent - text) : addr_len;
	int err;
	if (percent) {
		/* Only IPv6 has zones (RFC 4007); "10.0.0.1%eth0" is malformed. */
		if (!memchr(text, ':', ip_len))
			return fail(SK_EADDR_ZONE, percent, addr_len - ip_len, bad);
		err = sk_ip_parse_v6(text, ip_len, &c.addr, bad);
		if (err < 0)
			return err;
		err = check_zone(percent + 1, addr_len - ip_len - 1, bad);
		if (err < 0)
			return err;
		c.zone.p = percent + 1;
		c.zone.len = addr_len - ip_len - 1;
	} else {
		err = sk_ip_parse(text, ip_len, &c.addr, bad);
		if (err < 0)
			return err;
	}

	c.prefix = sk_ip_bits(c.addr.version);
	if (slash) {
		err = sk_ip_parse_prefix(slash + 1, len - addr_len - 1, c.addr.version, &c.prefix, bad);
		if (err < 0)
			return err;
		c.has_prefix = true;
	}
	*out = c;
	return 0;
}
