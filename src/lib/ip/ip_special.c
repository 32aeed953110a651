/* Classification: classful network classes and the special-purpose address
 * registries (IANA iana-ipv4-special-registry and iana-ipv6-special-registry).
 *
 * The flag tables reproduce Python 3.11.2-6+deb12u6's ipaddress constants so
 * both tools agree; the registry table for explanations is fuller (it names
 * every row with its RFC) and is only read by sk_ip_special_find(). */
#include <sockit/ip.h>

#include <string.h>

#include "ip/ip_internal.h"

/* A network as numbers, with its text beside it so a reader (and
 * sk__ip_check_tables()) can check it. */
struct net {
	const char *text;
	uint64_t hi, lo;
	unsigned prefix;
};

#define V4(a, b, c, d) ((uint64_t)(a) << 24 | (uint64_t)(b) << 16 | (uint64_t)(c) << 8 | (d))

static const struct net v4_private[] = {
	{ "0.0.0.0/8", 0, V4(0, 0, 0, 0), 8 },
	{ "10.0.0.0/8", 0, V4(10, 0, 0, 0), 8 },
	{ "127.0.0.0/8", 0, V4(127, 0, 0, 0), 8 },
	{ "169.254.0.0/16", 0, V4(169, 254, 0, 0), 16 },
	{ "172.16.0.0/12", 0, V4(172, 16, 0, 0), 12 },
	{ "192.0.0.0/24", 0, V4(192, 0, 0, 0), 24 },
	{ "192.0.0.170/31", 0, V4(192, 0, 0, 170), 31 },
	{ "192.0.2.0/24", 0, V4(192, 0, 2, 0), 24 },
	{ "192.168.0.0/16", 0, V4(192, 168, 0, 0), 16 },
	{ "198.18.0.0/15", 0, V4(198, 18, 0, 0), 15 },
	{ "198.51.100.0/24", 0, V4(198, 51, 100, 0), 24 },
	{ "203.0.113.0/24", 0, V4(203, 0, 113, 0), 24 },
	{ "240.0.0.0/4", 0, V4(240, 0, 0, 0), 4 },
	{ "255.255.255.255/32", 0, V4(255, 255, 255, 255), 32 },
};

/* Rows inside the private blocks that IANA marks globally reachable. */
static const struct net v4_private_exceptions[] = {
	{ "192.0.0.9/32", 0, V4(192, 0, 0, 9), 32 },
	{ "192.0.0.10/32", 0, V4(192, 0, 0, 10), 32 },
};

/* RFC 6598 shared address space: neither private nor global in Python. */
static const struct net v4_shared = { "100.64.0.0/10", 0, V4(100, 64, 0, 0), 10 };
static const struct net v4_loopback = { "127.0.0.0/8", 0, V4(127, 0, 0, 0), 8 };
static const struct net v4_multicast = { "224.0.0.0/4", 0, V4(224, 0, 0, 0), 4 };
static const struct net v4_link_local = { "169.254.0.0/16", 0, V4(169, 254, 0, 0), 16 };
static const struct net v4_reserved = { "240.0.0.0/4", 0, V4(240, 0, 0, 0), 4 };

static const struct net v6_private[] = {
	{ "::1/128", 0, 1, 128 },
	{ "::/128", 0, 0, 128 },
	{ "::ffff:0:0/96", 0, UINT64_C(0x0000ffff00000000), 96 },
	{ "64:ff9b:1::/48", UINT64_C(0x0064ff9b00010000), 0, 48 },
	{ "100::/64", UINT64_C(0x0100000000000000), 0, 64 },
	{ "2001::/23", UINT64_C(0x2001000000000000), 0, 23 },
	{ "2001:db8::/32", UINT64_C(0x20010db800000000), 0, 32 },
	{ "2002::/16", UINT64_C(0x2002000000000000), 0, 16 },
	{ "fc00::/7", UINT64_C(0xfc00000000000000), 0, 7 },
	{ "fe80::/10", UINT64_C(0xfe80000000000000), 0, 10 },
};

static const struct net v6_private_exceptions[] = {
	{ "2001:1::1/128", UINT64_C(0x2001000100000000), 1, 128 },
	{ "2001:1::2/128", UINT64_C(0x2001000100000000), 2, 128 },
	{ "2001:3::/32", UINT64_C(0x2001000300000000), 0, 32 },
	{ "2001:4:112::/48", UINT64_C(0x2001000401120000), 0, 48 },
	{ "2001:20::/28", UINT64_C(0x2001002000000000), 0, 28 },
	{ "2001:30::/28", UINT64_C(0x2001003000000000), 0, 28 },
};

/* Everything outside 2000::/3 and fc00::/7 … ff00::/8 that RFC 4291 left
 * unassigned, as Python lists it. */
static const struct net v6_reserved[] = {
	{ "::/8", 0, 0, 8 },
	{ "100::/8", UINT64_C(0x0100000000000000), 0, 8 },
	{ "200::/7", UINT64_C(0x0200000000000000), 0, 7 },
	{ "400::/6", UINT64_C(0x0400000000000000), 0, 6 },
	{ "800::/5", UINT64_C(0x0800000000000000), 0, 5 },
	{ "1000::/4", UINT64_C(0x1000000000000000), 0, 4 },
	{ "4000::/3", UINT64_C(0x4000000000000000), 0, 3 },
	{ "6000::/3", UINT64_C(0x6000000000000000), 0, 3 },
	{ "8000::/3", UINT64_C(0x8000000000000000), 0, 3 },
	{ "a000::/3", UINT64_C(0xa000000000000000), 0, 3 },
	{ "c000::/3", UINT64_C(0xc000000000000000), 0, 3 },
	{ "e000::/4", UINT64_C(0xe000000000000000), 0, 4 },
	{ "f000::/5", UINT64_C(0xf000000000000000), 0, 5 },
	{ "f800::/6", UINT64_C(0xf800000000000000), 0, 6 },
	{ "fe00::/9", UINT64_C(0xfe00000000000000), 0, 9 },
};

static const struct net v6_multicast = { "ff00::/8", UINT64_C(0xff00000000000000), 0, 8 };
static const struct net v6_link_local = { "fe80::/10", UINT64_C(0xfe80000000000000), 0, 10 };

#define N_ROWS(a) (sizeof(a) / sizeof((a)[0]))

static bool in_net(const struct sk_ip *ip, const struct net *n)
{
	if (ip->version == SK_IP_V4) {
		/* The common case in batch mode, kept to a few instructions. */
		uint32_t mask = n->prefix ? UINT32_MAX << (32 - n->prefix) : 0;
		return (((uint32_t)ip->lo ^ (uint32_t)n->lo) & mask) == 0;
	}
	struct sk_ip net = { n->hi, n->lo, ip->version };
	return sk_ip_contains(&net, n->prefix, ip);
}

static bool in_any(const struct sk_ip *ip, const struct net *rows, size_t n_rows)
{
	for (size_t i = 0; i < n_rows; i++)
		if (in_net(ip, &rows[i]))
			return true;
	return false;
}

static bool v4_is_private(const struct sk_ip *ip)
{
	return in_any(ip, v4_private, N_ROWS(v4_private)) &&
	       !in_any(ip, v4_private_exceptions, N_ROWS(v4_private_exceptions));
}

static unsigned v4_flags(const struct sk_ip *ip)
{
	unsigned f = 0;
	if (v4_is_private(ip))
		f |= SK_IP_PRIVATE;
	else if (!in_net(ip, &v4_shared))
		f |= SK_IP_GLOBAL;
	if (in_net(ip, &v4_loopback))
		f |= SK_IP_LOOPBACK;
	if (in_net(ip, &v4_multicast))
		f |= SK_IP_MULTICAST;
	if (in_net(ip, &v4_link_local))
		f |= SK_IP_LINK_LOCAL;
	if (in_net(ip, &v4_reserved))
		f |= SK_IP_RESERVED;
	if (ip->lo == 0)
		f |= SK_IP_UNSPECIFIED;
	return f;
}

static unsigned v6_flags(const struct sk_ip *ip)
{
	unsigned f = 0;
	struct sk_ip v4;
	bool is_private;
	if (sk_ip_ipv4_mapped(ip, &v4))
		is_private = v4_is_private(&v4);
	else
		is_private = in_any(ip, v6_private, N_ROWS(v6_private)) &&
		             !in_any(ip, v6_private_exceptions, N_ROWS(v6_private_exceptions));
	/* Python's IPv6Address.is_global is plainly "not is_private", even for a
	 * mapped 100.64.0.0/10 address whose IPv4 form is neither. */
	f |= is_private ? SK_IP_PRIVATE : SK_IP_GLOBAL;
	if (ip->hi == 0 && ip->lo == 1)
		f |= SK_IP_LOOPBACK;
	if (in_net(ip, &v6_multicast))
		f |= SK_IP_MULTICAST;
	if (in_net(ip, &v6_link_local))
		f |= SK_IP_LINK_LOCAL;
	if (in_any(ip, v6_reserved, N_ROWS(v6_reserved)))
		f |= SK_IP_RESERVED;
	if (ip->hi == 0 && ip->lo == 0)
		f |= SK_IP_UNSPECIFIED;
	return f;
}

unsigned sk_ip_flags(const struct sk_ip *ip)
{
	return ip->version == SK_IP_V4 ? v4_flags(ip) : v6_flags(ip);
}

char sk_ip_class(const struct sk_ip *ip)
{
	if (ip->version != SK_IP_V4)
		return 0;
	unsigned top = (unsigned)(ip->lo >> 28) & 0xf; /* the four leading bits */
	if (top < 0x8)
		return 'A'; /* 0xxx */
	if (top < 0xc)
		return 'B'; /* 10xx */
	if (top < 0xe)
		return 'C'; /* 110x */
	if (top == 0xe)
		return 'D'; /* 1110 */
	return 'E';         /* 1111 */
}

unsigned sk_ip_class_prefix(char cls)
{
	switch (cls) {
	case 'A':
		return 8;
	case 'B':
		return 16;
	case 'C':
		return 24;
	default:
		return 32;
	}
}

/* The registries, row by row. Parsed on lookup: only --explain reads them,
 * and keeping text alone here means there is no second copy to drift. */
static const struct sk_ip_special registry[] = {
	{ "0.0.0.0/8", "\"this network\"", "RFC 791 §3.2" },
	{ "0.0.0.0/32", "unspecified (\"this host\")", "RFC 1122 §3.2.1.3" },
	{ "10.0.0.0/8", "private-use", "RFC 1918" },
	{ "100.64.0.0/10", "shared address space (carrier-grade NAT)", "RFC 6598" },
	{ "127.0.0.0/8", "loopback", "RFC 1122 §3.2.1.3" },
	{ "169.254.0.0/16", "link-local", "RFC 3927" },
	{ "172.16.0.0/12", "private-use", "RFC 1918" },
	{ "192.0.0.0/24", "IETF protocol assignments", "RFC 6890 §2.1" },
	{ "192.0.0.0/29", "IPv4 service continuity prefix", "RFC 7335" },
	{ "192.0.0.8/32", "IPv4 dummy address", "RFC 7600" },
	{ "192.0.0.9/32", "Port Control Protocol anycast", "RFC 7723" },
	{ "192.0.0.10/32", "TURN anycast", "RFC 8155" },
	{ "192.0.0.170/31", "NAT64/DNS64 discovery", "RFC 8880" },
	{ "192.0.2.0/24", "documentation (TEST-NET-1)", "RFC 5737" },
	{ "192.31.196.0/24", "AS112-v4", "RFC 7535" },
	{ "192.52.193.0/24", "automatic multicast tunneling", "RFC 7450" },
	{ "192.88.99.0/24", "deprecated 6to4 relay anycast", "RFC 7526" },
	{ "192.168.0.0/16", "private-use", "RFC 1918" },
	{ "192.175.48.0/24", "direct delegation AS112 service", "RFC 7534" },
	{ "198.18.0.0/15", "benchmarking", "RFC 2544" },
	{ "198.51.100.0/24", "documentation (TEST-NET-2)", "RFC 5737" },
	{ "203.0.113.0/24", "documentation (TEST-NET-3)", "RFC 5737" },
	{ "224.0.0.0/4", "multicast", "RFC 5771" },
	{ "224.0.0.0/24", "local network control block (multicast)", "RFC 5771" },
	{ "239.0.0.0/8", "administratively scoped multicast", "RFC 2365" },
	{ "240.0.0.0/4", "reserved (class E)", "RFC 1112 §4" },
	{ "255.255.255.255/32", "limited broadcast", "RFC 919 §7" },
	{ "::/128", "unspecified", "RFC 4291 §2.5.2" },
	{ "::1/128", "loopback", "RFC 4291 §2.5.3" },
	{ "::ffff:0:0/96", "IPv4-mapped", "RFC 4291 §2.5.5.2" },
	{ "64:ff9b::/96", "IPv4/IPv6 translation", "RFC 6052" },
	{ "64:ff9b:1::/48", "local-use IPv4/IPv6 translation", "RFC 8215" },
	{ "100::/64", "discard-only", "RFC 6666" },
	{ "2001::/23", "IETF protocol assignments", "RFC 2928" },
	{ "2001::/32", "Teredo", "RFC 4380" },
	{ "2001:1::1/128", "Port Control Protocol anycast", "RFC 7723" },
	{ "2001:1::2/128", "TURN anycast", "RFC 8155" },
	{ "2001:2::/48", "benchmarking", "RFC 5180" },
	{ "2001:3::/32", "automatic multicast tunneling", "RFC 7450" },
	{ "2001:4:112::/48", "AS112-v6", "RFC 7535" },
	{ "2001:10::/28", "deprecated ORCHID", "RFC 4843" },
	{ "2001:20::/28", "ORCHIDv2", "RFC 7343" },
	{ "2001:30::/28", "drone remote ID", "RFC 9374" },
	{ "2001:db8::/32", "documentation", "RFC 3849" },
	{ "2002::/16", "6to4", "RFC 3056" },
	{ "2620:4f:8000::/48", "direct delegation AS112 service", "RFC 7534" },
	{ "fc00::/7", "unique local", "RFC 4193" },
	{ "fe80::/10", "link-local unicast", "RFC 4291 §2.5.6" },
	{ "fec0::/10", "site-local (deprecated)", "RFC 3879" },
	{ "ff00::/8", "multicast", "RFC 4291 §2.7" },
	{ "ff02::/16", "link-scope multicast", "RFC 4291 §2.7" },
};

const struct sk_ip_special *sk_ip_special_find(const struct sk_ip *ip)
{
	const struct sk_ip_special *best = NULL;
	unsigned best_prefix = 0;
	for (size_t i = 0; i < N_ROWS(registry); i++) {
		struct sk_ip_cidr c;
		if (sk_ip_parse_cidr(registry[i].cidr, strlen(registry[i].cidr), &c, NULL) < 0)
			continue; /* unreachable: sk__ip_check_tables() proves every row parses */
		if (!sk_ip_contains(&c.addr, c.prefix, ip))
			continue;
		if (!best || c.prefix > best_prefix) {
			best = &registry[i];
			best_prefix = c.prefix;
		}
	}
	return best;
}

static const char *first_mismatch(const struct net *rows, size_t n_rows)
{
	for (size_t i = 0; i < n_rows; i++) {
		struct sk_ip_cidr c;
		if (sk_ip_parse_cidr(rows[i].text, strlen(rows[i].text), &c, NULL) < 0 ||
		    c.addr.hi != rows[i].hi || c.addr.lo != rows[i].lo || c.prefix != rows[i].prefix)
			return rows[i].text;
	}
	return NULL;
}

const char *sk__ip_check_tables(void)
{
	static const struct {
		const struct net *rows;
		size_t n_rows;
	} tables[] = {
		{ v4_private, N_ROWS(v4_private) },
		{ v4_private_exceptions, N_ROWS(v4_private_exceptions) },
		{ &v4_shared, 1 },
		{ &v4_loopback, 1 },
		{ &v4_multicast, 1 },
		{ &v4_link_local, 1 },
		{ &v4_reserved, 1 },
		{ v6_private, N_ROWS(v6_private) },
		{ v6_private_exceptions, N_ROWS(v6_private_exceptions) },
		{ v6_reserved, N_ROWS(v6_reserved) },
		{ &v6_multicast, 1 },
		{ &v6_link_local, 1 },
	};
	for (size_t i = 0; i < N_ROWS(tables); i++) {
		const char *bad = first_mismatch(tables[i].rows, tables[i].n_rows);
		if (bad)
			return bad;
	}
	for (size_t i = 0; i < N_ROWS(registry); i++) {
		struct sk_ip_cidr c;
		if (sk_ip_parse_cidr(registry[i].cidr, strlen(registry[i].cidr), &c, NULL) < 0 ||
		    sk_ip_network(&c.addr, c.prefix).lo != c.addr.lo ||
		    sk_ip_network(&c.addr, c.prefix).hi != c.addr.hi)
			return registry[i].cidr;
	}
	return NULL;
}
