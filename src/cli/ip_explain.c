/* `sockit ip --explain`: the arithmetic the course notes teach, shown bit by
 * bit: the address and mask in binary, the AND that yields the network, the
 * class read from the leading bits, and the special range that matched. */
#include "ip_cli.h"

#include <stdio.h>
#include <string.h>

/* 32 bits as four dotted groups of eight: "10101100.00010000.00001010.00000001". */
static void binary_quad(uint32_t v, char buf[36])
{
	size_t n = 0;
	for (int bit = 31; bit >= 0; bit--) {
		buf[n++] = (char)('0' + (v >> bit & 1));
		if (bit % 8 == 0 && bit > 0)
			buf[n++] = '.';
	}
	buf[n] = '\0';
}

static void binary_group(unsigned g, char buf[20])
{
	size_t n = 0;
	for (int bit = 15; bit >= 0; bit--) {
		buf[n++] = (char)('0' + (g >> bit & 1));
		if (bit % 4 == 0 && bit > 0)
			buf[n++] = ' ';
	}
	buf[n] = '\0';
}

static unsigned group_of(const struct sk_ip *ip, int i)
{
	uint64_t half = i < 4 ? ip->hi : ip->lo;
	return (unsigned)(half >> (48 - 16 * (i % 4)) & 0xffff);
}

/* One row: label, the value as text, the value in binary or exploded hex. */
static void row(struct out *o, const char *label, const struct sk_ip *ip, const char *note)
{
	char text[SK_IP_STRLEN], bits[SK_IP_STRLEN];
	if (ip->version == SK_IP_V4) {
		sk_ip_format(ip, SK_IP_CANONICAL, text);
		binary_quad((uint32_t)ip->lo, bits);
		out_printf(o, "  %-9s %-16s %s%s%s\n", label, text, bits, note[0] ? "   " : "", note);
	} else {
		sk_ip_format(ip, SK_IP_EXPLODED, bits);
		out_printf(o, "  %-9s %s%s%s\n", label, bits, note[0] ? "   " : "", note);
	}
}

static void explain_class(struct out *o, const struct sk_ip *ip)
{
	static const struct {
		char cls;
		const char *bits, *first, *last, *use;
	} classes[] = {
		{ 'A', "0", "0.0.0.0", "127.255.255.255", "default mask /8 (255.0.0.0)" },
		{ 'B', "10", "128.0.0.0", "191.255.255.255", "default mask /16 (255.255.0.0)" },
		{ 'C', "110", "192.0.0.0", "223.255.255.255", "default mask /24 (255.255.255.0)" },
		{ 'D', "1110", "224.0.0.0", "239.255.255.255", "multicast, no network/host split" },
		{ 'E', "1111", "240.0.0.0", "255.255.255.255", "reserved, no network/host split" },
	};
	char cls = sk_ip_class(ip);
	for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++) {
		if (classes[i].cls != cls)
			continue;
		out_printf(o, "  class     %c: the leading bits are %s (A 0, B 10, C 110, D 1110, E 1111)\n",
		           cls, classes[i].bits);
		out_printf(o, "            class %c spans %s - %s, %s\n", cls, classes[i].first,
		           classes[i].last, classes[i].use);
	}
}

static void explain_boundary(struct out *o, const struct sk_ip *ip, unsigned prefix)
{
	if (prefix % 16 == 0 || prefix == 128)
		return;
	int g = (int)prefix / 16;
	struct sk_ip mask = sk_ip_netmask(SK_IP_V6, prefix);
	char a[20], m[20], r[20];
	binary_group(group_of(ip, g), a);
	binary_group(group_of(&mask, g), m);
	binary_group(group_of(ip, g) & group_of(&mask, g), r);
	out_printf(o, "  the prefix ends inside group %d (bits %d-%d):\n", g + 1, g * 16, g * 16 + 15);
	out_printf(o, "    address  %s\n    netmask  %s\n    AND      %s\n", a, m, r);
}

void explain_and(struct out *o, const struct sk_ip *ip, unsigned prefix)
{
	struct sk_ip mask = sk_ip_netmask(ip->version, prefix);
	struct sk_ip net = sk_ip_network(ip, prefix);
	char note[64];
	unsigned bits = sk_ip_bits(ip->version);
	snprintf(note, sizeof note, "/%u: %u one%s, then %u zero%s", prefix, prefix,
	         prefix == 1 ? "" : "s", bits - prefix, bits - prefix == 1 ? "" : "es");
	row(o, "address", ip, "");
	row(o, "netmask", &mask, note);
	row(o, "AND", &net, "network = address AND netmask");
}

void explain_ip(struct out *o, const char *input, size_t input_len, const struct sk_ip_cidr *c,
                const struct sk_ip_info *info)
{
	char a[SK_IP_STRLEN], b[SK_IP_STRLEN], n1[SK_IP_COUNT_STRLEN], n2[SK_IP_COUNT_STRLEN];
	bool v6 = c->addr.version == SK_IP_V6;
	unsigned host_bits = sk_ip_bits(c->addr.version) - c->prefix;

	out_printf(o, "%.*s\n", (int)input_len, input);
	if (!c->has_prefix && c->prefix == sk_ip_bits(c->addr.version))
		out_printf(o, "  (no prefix given: a single host, /%u)\n", c->prefix);
	else if (!c->has_prefix)
		out_printf(o, "  (no prefix given: --classful uses class %c's default, /%u)\n",
		           info->cls, c->prefix);
	explain_and(o, &c->addr, c->prefix);
	row(o, "hostmask", &info->hostmask, "NOT netmask");
	struct sk_ip last = sk_ip_last(&c->addr, c->prefix);
	row(o, "OR", &last,
	    info->has_broadcast ? "broadcast = network OR hostmask" :
	    v6                  ? "last address = network OR hostmask (IPv6 has no broadcast)" :
	                          "last address = network OR hostmask (a /31 or /32 has no broadcast)");
	if (v6)
		explain_boundary(o, &c->addr, c->prefix);

	if (!v6)
		explain_class(o, &c->addr);
	const struct sk_ip_special *sp = sk_ip_special_find(&c->addr);
	if (sp)
		out_printf(o, "  range     %s: %s (%s)\n", sp->cidr, sp->name, sp->rfc);
	else
		out_printf(o, "  range     no special-purpose block: global unicast\n");

	sk_ip_format_count(host_bits, 0, n1);
	sk_ip_format_count(host_bits, info->hosts_minus, n2);
	sk_ip_format(&info->first_host, SK_IP_CANONICAL, a);
	sk_ip_format(&info->last_host, SK_IP_CANONICAL, b);
	const char *why = host_bits == 0 ? "the one address is the host" :
	                  host_bits == 1 ? "a point-to-point link uses both (RFC 3021, RFC 6164)" :
	                  v6             ? "less the Subnet-Router anycast address (the network)" :
	                                   "less the network and broadcast addresses";
	out_printf(o, "  hosts     2^%u = %s addresses, %s usable: %s; %s - %s\n", host_bits, n1, n2,
	           why, a, b);
}
