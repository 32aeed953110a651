/* `sockit ip` output: the readable block and the JSON Lines record of one
 * address, and the records of a network list. */
#include "ip_cli.h"

#include <stdio.h>
#include <string.h>

/* Appends a string literal without strlen at run time. */
#define PUT_LIT(p, lit) (memcpy((p), (lit), sizeof(lit) - 1), (p) + sizeof(lit) - 1)

/* The longest record apart from "input": 23 keys and values, the longest
 * being IPv6 text (45 bytes, plus a 64-byte zone) and 39-digit counts. */
#define JSON_RECORD_MAX 2048

static char *put_ip(char *p, const struct sk_ip *ip, enum sk_ip_style style)
{
	return p + sk_ip_format(ip, style, p);
}

static char *put_ip_json(char *p, const struct sk_ip *ip, enum sk_ip_style style)
{
	*p++ = '"';
	p = put_ip(p, ip, style);
	*p++ = '"';
	return p;
}

static char *put_bool(char *p, bool v)
{
	return v ? PUT_LIT(p, "true") : PUT_LIT(p, "false");
}

static char *put_small(char *p, unsigned v)
{
	if (v >= 100)
		*p++ = (char)('0' + v / 100);
	if (v >= 10)
		*p++ = (char)('0' + v / 10 % 10);
	*p++ = (char)('0' + v % 10);
	return p;
}

void print_ip_json(struct out *o, const char *input, size_t input_len, const struct sk_ip_cidr *c,
                   const struct sk_ip_info *info)
{
	out_write(o, "{\"input\": \"", 11);
	out_json_str(o, input, input_len);

	char *start = out_reserve(o, JSON_RECORD_MAX), *p = start;
	bool v6 = c->addr.version == SK_IP_V6;
	p = v6 ? PUT_LIT(p, "\", \"version\": 6, \"address\": \"")
	       : PUT_LIT(p, "\", \"version\": 4, \"address\": \"");
	p = put_ip(p, &c->addr, SK_IP_CANONICAL);
	if (c->zone.len) {
		/* Zones are printable ASCII (sk_ip_parse_cidr): of those, JSON
		 * escapes only '"' and '\\'. */
		*p++ = '%';
		for (size_t i = 0; i < c->zone.len; i++) {
			if (c->zone.p[i] == '"' || c->zone.p[i] == '\\')
				*p++ = '\\';
			*p++ = c->zone.p[i];
		}
	}
	p = PUT_LIT(p, "\", \"prefix\": ");
	p = put_small(p, c->prefix);
	p = PUT_LIT(p, ", \"netmask\": ");
	/* Masks are bit patterns, not addresses: a /80 hostmask is
	 * ::ffff:ffff:ffff, never the IPv4-mapped-looking ::ffff:255.255.255.255. */
	p = put_ip_json(p, &info->netmask, SK_IP_COMPRESSED);
	p = PUT_LIT(p, ", \"hostmask\": ");
	p = put_ip_json(p, &info->hostmask, SK_IP_COMPRESSED);
	p = PUT_LIT(p, ", \"network\": ");
	p = put_ip_json(p, &info->network, SK_IP_CANONICAL);
	p = PUT_LIT(p, ", \"broadcast\": ");
	p = info->has_broadcast ? put_ip_json(p, &info->broadcast, SK_IP_CANONICAL) : PUT_LIT(p, "null");
	p = PUT_LIT(p, ", \"first_host\": ");
	p = put_ip_json(p, &info->first_host, SK_IP_CANONICAL);
	p = PUT_LIT(p, ", \"last_host\": ");
	p = put_ip_json(p, &info->last_host, SK_IP_CANONICAL);
	p = PUT_LIT(p, ", \"num_addresses\": ");
	p += sk_ip_format_count(info->count_log2, 0, p);
	p = PUT_LIT(p, ", \"num_hosts\": ");
	p += sk_ip_format_count(info->count_log2, info->hosts_minus, p);
	p = PUT_LIT(p, ", \"class\": ");
	if (info->cls) {
		*p++ = '"';
		*p++ = info->cls;
		*p++ = '"';
	} else {
		p = PUT_LIT(p, "null");
	}
	p = PUT_LIT(p, ", \"private\": ");
	p = put_bool(p, info->flags & SK_IP_PRIVATE);
	p = PUT_LIT(p, ", \"global\": ");
	p = put_bool(p, info->flags & SK_IP_GLOBAL);
	p = PUT_LIT(p, ", \"loopback\": ");
	p = put_bool(p, info->flags & SK_IP_LOOPBACK);
	p = PUT_LIT(p, ", \"multicast\": ");
	p = put_bool(p, info->flags & SK_IP_MULTICAST);
	p = PUT_LIT(p, ", \"link_local\": ");
	p = put_bool(p, info->flags & SK_IP_LINK_LOCAL);
	p = PUT_LIT(p, ", \"reserved\": ");
	p = put_bool(p, info->flags & SK_IP_RESERVED);
	p = PUT_LIT(p, ", \"unspecified\": ");
	p = put_bool(p, info->flags & SK_IP_UNSPECIFIED);
	if (v6) {
		p = PUT_LIT(p, ", \"compressed\": \"");
		p = put_ip(p, &c->addr, SK_IP_COMPRESSED);
		p = PUT_LIT(p, "\", \"exploded\": \"");
		p = put_ip(p, &c->addr, SK_IP_EXPLODED);
		p = PUT_LIT(p, "\", \"ipv4_mapped\": ");
		p = info->is_ipv4_mapped ? put_ip_json(p, &info->ipv4_mapped, SK_IP_CANONICAL) : PUT_LIT(p, "null");
	}
	p = PUT_LIT(p, "}\n");
	out_commit(o, (size_t)(p - start));
}

void print_error_json(struct out *o, const char *input, size_t input_len, const char *reason)
{
	out_write(o, "{\"input\": \"", 11);
	out_json_str(o, input, input_len);
	out_write(o, "\", \"error\": \"", 13);
	out_json_str(o, reason, strlen(reason));
	out_write(o, "\"}\n", 3);
}

static void flag_words(unsigned flags, char *buf, size_t cap)
{
	static const struct {
		unsigned flag;
		const char *word;
	} words[] = {
		{ SK_IP_PRIVATE, "private" },     { SK_IP_GLOBAL, "global" },
		{ SK_IP_LOOPBACK, "loopback" },   { SK_IP_MULTICAST, "multicast" },
		{ SK_IP_LINK_LOCAL, "link-local" }, { SK_IP_RESERVED, "reserved" },
		{ SK_IP_UNSPECIFIED, "unspecified" },
	};
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
		if (!(flags & words[i].flag))
			continue;
		size_t w = strlen(words[i].word);
		if (n + w + 2 >= cap)
			break;
		if (n)
			buf[n++] = ' ';
		memcpy(buf + n, words[i].word, w + 1);
		n += w;
	}
	if (n == 0)
		snprintf(buf, cap, "(none: shared address space, neither private nor global)");
}

void print_ip_text(struct out *o, const struct sk_ip_cidr *c, const struct sk_ip_info *info)
{
	char a[SK_IP_STRLEN], b[SK_IP_STRLEN], n1[SK_IP_COUNT_STRLEN], n2[SK_IP_COUNT_STRLEN];
	bool v6 = c->addr.version == SK_IP_V6;

	sk_ip_format(&c->addr, SK_IP_CANONICAL, a);
	out_printf(o, "Address:     %s%s%.*s\n", a, c->zone.len ? "%" : "", (int)c->zone.len,
	           c->zone.p);
	sk_ip_format(&info->network, SK_IP_CANONICAL, a);
	out_printf(o, "Network:     %s/%u\n", a, c->prefix);
	sk_ip_format(&info->netmask, SK_IP_COMPRESSED, a);
	out_printf(o, "Netmask:     %s = %u\n", a, c->prefix);
	sk_ip_format(&info->hostmask, SK_IP_COMPRESSED, a);
	out_printf(o, "Hostmask:    %s\n", a);
	if (info->has_broadcast) {
		sk_ip_format(&info->broadcast, SK_IP_CANONICAL, a);
		out_printf(o, "Broadcast:   %s\n", a);
	} else {
		out_printf(o, "Broadcast:   none (%s)\n",
		           v6 ? "IPv6 has no broadcast" :
		           c->prefix == 31 ? "a /31 is a point-to-point link, RFC 3021" :
		                             "a /32 is a single host");
	}
	sk_ip_format(&info->first_host, SK_IP_CANONICAL, a);
	sk_ip_format(&info->last_host, SK_IP_CANONICAL, b);
	out_printf(o, "Hosts:       %s - %s\n", a, b);
	sk_ip_format_count(info->count_log2, 0, n1);
	sk_ip_format_count(info->count_log2, info->hosts_minus, n2);
	out_printf(o, "Addresses:   %s (%s usable)\n", n1, n2);
	if (info->cls)
		out_printf(o, "Class:       %c\n", info->cls);

	const struct sk_ip_special *sp = sk_ip_special_find(&c->addr);
	if (sp)
		out_printf(o, "Range:       %s %s (%s)\n", sp->cidr, sp->name, sp->rfc);
	else
		out_printf(o, "Range:       global unicast\n");
	char flags[160];
	flag_words(info->flags, flags, sizeof flags);
	out_printf(o, "Flags:       %s\n", flags);
	if (v6) {
		sk_ip_format(&c->addr, SK_IP_COMPRESSED, a);
		out_printf(o, "Compressed:  %s\n", a);
		sk_ip_format(&c->addr, SK_IP_EXPLODED, a);
		out_printf(o, "Exploded:    %s\n", a);
		if (info->is_ipv4_mapped) {
			sk_ip_format(&info->ipv4_mapped, SK_IP_CANONICAL, a);
			out_printf(o, "IPv4-mapped: %s\n", a);
		}
	}
}

void print_block_json(struct out *o, const struct sk_ip *net, unsigned prefix)
{
	char a[SK_IP_STRLEN], n[SK_IP_COUNT_STRLEN];
	sk_ip_format(net, SK_IP_CANONICAL, a);
	sk_ip_format_count(sk_ip_bits(net->version) - prefix, 0, n);
	out_printf(o, "{\"cidr\": \"%s/%u\", \"network\": \"%s\", \"prefix\": %u, \"num_addresses\": %s}\n",
	           a, prefix, a, prefix, n);
}

void print_block_text(struct out *o, const struct sk_ip *net, unsigned prefix)
{
	char a[SK_IP_STRLEN];
	sk_ip_format(net, SK_IP_CANONICAL, a);
	out_printf(o, "%s/%u\n", a, prefix);
}

/* The usable hosts of a block, as `sockit ip` counts them (Python's hosts()). */
static void hosts_of(const struct sk_ip *net, unsigned prefix, char *buf)
{
	struct sk_ip_cidr c = { .addr = *net, .prefix = prefix, .has_prefix = true };
	struct sk_ip_info info;
	sk_ip_describe(&c, &info);
	sk_ip_format_count(info.count_log2, info.hosts_minus, buf);
}

void print_hosts_json(struct out *o, const struct sk_ip *net, unsigned prefix,
                      unsigned long long requested)
{
	char a[SK_IP_STRLEN], n[SK_IP_COUNT_STRLEN], h[SK_IP_COUNT_STRLEN];
	sk_ip_format(net, SK_IP_CANONICAL, a);
	sk_ip_format_count(sk_ip_bits(net->version) - prefix, 0, n);
	hosts_of(net, prefix, h);
	out_printf(o, "{\"cidr\": \"%s/%u\", \"network\": \"%s\", \"prefix\": %u, "
	           "\"num_addresses\": %s, \"hosts_requested\": %llu, \"num_hosts\": %s}\n",
	           a, prefix, a, prefix, n, requested, h);
}

void print_hosts_text(struct out *o, const struct sk_ip *net, unsigned prefix,
                      unsigned long long requested)
{
	char a[SK_IP_STRLEN], h[SK_IP_COUNT_STRLEN];
	sk_ip_format(net, SK_IP_CANONICAL, a);
	hosts_of(net, prefix, h);
	out_printf(o, "%s/%u  %llu host%s requested, %s usable\n", a, prefix, requested,
	           requested == 1 ? "" : "s", h);
}
