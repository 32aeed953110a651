/* Network arithmetic: masks, the AND that yields a network, host ranges,
 * the IPv4 address inside an IPv4-mapped one,
 * range summarisation and subnet stepping, the same code for both families. */
#include <sockit/err.h>
#include <sockit/ip.h>

#include "base/base_internal.h"

static struct u128 to_u128(const struct sk_ip *ip)
{
	return u128_make(ip->hi, ip->lo);
}

static struct sk_ip from_u128(unsigned version, struct u128 v)
{
	struct sk_ip ip = { v.hi, v.lo, (unsigned char)version };
	return ip;
}

unsigned sk_ip_bits(unsigned version)
{
	return version == SK_IP_V4 ? 32 : 128;
}

struct sk_ip sk_ip_zero(unsigned version)
{
	return from_u128(version, u128_make(0, 0));
}

struct sk_ip sk_ip_hostmask(unsigned version, unsigned prefix)
{
	return from_u128(version, u128_low_ones(sk_ip_bits(version) - prefix));
}

struct sk_ip sk_ip_netmask(unsigned version, unsigned prefix)
{
	return from_u128(version, u128_prefix_mask(sk_ip_bits(version), prefix));
}

struct sk_ip sk_ip_network(const struct sk_ip *ip, unsigned prefix)
{
	struct sk_ip mask = sk_ip_netmask(ip->version, prefix);
	return from_u128(ip->version, u128_and(to_u128(ip), to_u128(&mask)));
}

struct sk_ip sk_ip_last(const struct sk_ip *ip, unsigned prefix)
{
	struct u128 host = u128_low_ones(sk_ip_bits(ip->version) - prefix);
	return from_u128(ip->version, u128_or(to_u128(ip), host));
}

int sk_ip_cmp(const struct sk_ip *a, const struct sk_ip *b)
{
	if (a->version != b->version)
		return a->version < b->version ? -1 : 1;
	return u128_cmp(to_u128(a), to_u128(b));
}

bool sk_ip_contains(const struct sk_ip *net, unsigned prefix, const struct sk_ip *ip)
{
	if (net->version != ip->version)
		return false;
	/* Same network iff the two differ only in host bits. */
	struct u128 mask = u128_prefix_mask(sk_ip_bits(ip->version), prefix);
	return ((net->hi ^ ip->hi) & mask.hi) == 0 && ((net->lo ^ ip->lo) & mask.lo) == 0;
}

int sk_ip_add(const struct sk_ip *ip, int64_t delta, struct sk_ip *out)
{
	struct u128 v = to_u128(ip);
	bool wrapped;
	if (delta >= 0)
		v = u128_add(v, u128_make(0, (uint64_t)delta), &wrapped);
	else
		v = u128_sub(v, u128_make(0, (uint64_t)0 - (uint64_t)delta), &wrapped);
	struct u128 max = u128_low_ones(sk_ip_bits(ip->version));
	if (wrapped || u128_cmp(v, max) > 0)
		return SK_ERANGE;
	*out = from_u128(ip->version, v);
	return 0;
}

struct sk_ip sk_ip_from_bytes(unsigned version, const unsigned char *bytes)
{
	uint64_t hi = 0, lo = 0;
	if (version == SK_IP_V4) {
		lo = (uint64_t)bytes[0] << 24 | (uint64_t)bytes[1] << 16 | (uint64_t)bytes[2] << 8 |
		     bytes[3];
		return from_u128(version, u128_make(0, lo));
	}
	for (int i = 0; i < 8; i++) {
		hi = hi << 8 | bytes[i];
		lo = lo << 8 | bytes[8 + i];
	}
	return from_u128(version, u128_make(hi, lo));
}

void sk_ip_to_bytes(const struct sk_ip *ip, unsigned char *bytes_out)
{
	if (ip->version == SK_IP_V4) {
		for (int i = 0; i < 4; i++)
			bytes_out[i] = (unsigned char)(ip->lo >> (24 - 8 * i));
		return;
	}
	for (int i = 0; i < 8; i++) {
		bytes_out[i] = (unsigned char)(ip->hi >> (56 - 8 * i));
		bytes_out[8 + i] = (unsigned char)(ip->lo >> (56 - 8 * i));
	}
}

bool sk_ip_ipv4_mapped(const struct sk_ip *ip, struct sk_ip *v4_out)
{
	if (ip->version != SK_IP_V6 || ip->hi != 0 || ip->lo >> 32 != 0xffff)
		return false;
	v4_out->hi = 0;
	v4_out->lo = ip->lo & 0xffffffffu;
	v4_out->version = SK_IP_V4;
	return true;
}

int sk_ip_range_next(struct sk_ip *first, const struct sk_ip *last, bool *done,
                     struct sk_ip *net_out, unsigned *prefix_out)
{
	if (first->version != last->version)
		return SK_EADDR_FAMILY;
	if (*done)
		return 0;
	struct u128 lo = to_u128(first), hi = to_u128(last);
	if (u128_cmp(lo, hi) > 0)
		return SK_ERANGE_ORDER;

	/* The biggest aligned block starting at lo that does not pass hi: its
	 * size is limited by lo's alignment and by how many addresses remain
	 * (the algorithm of Python's summarize_address_range). */
	unsigned bits = sk_ip_bits(first->version);
	bool borrow, carry;
	struct u128 remaining = u128_sub(hi, lo, &borrow); /* count - 1 */
	struct u128 count = u128_add(remaining, u128_make(0, 1), &carry);
	unsigned size_log2 = carry ? 128 : u128_bit_length(count) - 1;
	unsigned align = u128_ctz(lo);
	if (align > bits)
		align = bits;
	if (align < size_log2)
		size_log2 = align;

	*net_out = *first;
	*prefix_out = bits - size_log2;
	struct u128 block_last = u128_or(lo, u128_low_ones(size_log2));
	if (u128_eq(block_last, hi)) {
		*done = true;
		return 1;
	}
	struct u128 next = u128_add(block_last, u128_make(0, 1), &carry);
	*first = from_u128(first->version, next);
	return 1;
}

int sk_ip_next_block(const struct sk_ip *net, unsigned prefix, struct sk_ip *out)
{
	unsigned bits = sk_ip_bits(net->version);
	if (prefix == 0)
		return SK_ERANGE;
	bool carry;
	struct u128 next = u128_add(to_u128(net), u128_pow2(bits - prefix), &carry);
	if (carry || u128_cmp(next, u128_low_ones(bits)) > 0)
		return SK_ERANGE;
	*out = from_u128(net->version, next);
	return 0;
}
