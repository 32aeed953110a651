/* `sockit ip same A B` (one subnet or two?) and `sockit ip range A B` (the
 * fewest CIDR blocks covering a range of addresses). */
#include "ip_cli.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int parse_operand(const char *command, const char *text, struct sk_ip_cidr *c)
{
	struct sk_slice bad = { 0 };
	int err = sk_ip_parse_cidr(text, strlen(text), c, &bad);
	if (err < 0) {
		char reason[256], ctx[QUOTE_MAX + 16], q[QUOTE_MAX];
		describe_parse_error(err, text, strlen(text), bad, reason, sizeof reason);
		snprintf(ctx, sizeof ctx, "%s: %s", command, quote(text, strlen(text), q));
		report(ctx, "%s", reason);
		return EXIT_USAGE;
	}
	return 0;
}

/* The prefix to compare with: --mask, else the one prefix the operands give. */
static int choose_prefix(const char *mask, const struct sk_ip_cidr *a, const struct sk_ip_cidr *b,
                         unsigned *prefix)
{
	if (mask) {
		struct sk_slice bad = { 0 };
		const char *text = mask[0] == '/' ? mask + 1 : mask; /* "/24" as --split takes it */
		int err = sk_ip_parse_prefix(text, strlen(text), a->addr.version, prefix, &bad);
		if (err < 0) {
			char reason[256];
			describe_parse_error(err, text, strlen(text), bad, reason, sizeof reason);
			char q[QUOTE_MAX];
			return usage_error("ip same", "--mask %s: %s", quote(mask, strlen(mask), q), reason);
		}
		return 0;
	}
	if (a->has_prefix && b->has_prefix && a->prefix != b->prefix)
		return usage_error("ip same", "the two prefixes differ (/%u, /%u): choose one with --mask",
		                   a->prefix, b->prefix);
	if (!a->has_prefix && !b->has_prefix)
		return usage_error("ip same", "no mask: write a prefix on an address (a.b.c.d/24) or give --mask");
	*prefix = a->has_prefix ? a->prefix : b->prefix;
	return 0;
}

struct same_opts {
	const char *mask;
	bool json;
};

static const struct opt same_opts[] = {
	OPT_STRING_('m', "mask", "MASK", struct same_opts, mask,
	            "the netmask or prefix to compare with (255.255.255.0, /24)"),
	OPT_FLAG_('j', "json", struct same_opts, json,
	          "one JSON object: a, b, prefix, netmask, network_a, network_b, same"),
	OPT_END_,
};

const struct opt_cmd ip_same_cmd = { "ip same", "ip", same_opts, NULL };

int cmd_ip_same(int argc, char **argv)
{
	struct same_opts c = { 0 };
	struct parse ps;
	int st = parse_options(&ps, &ip_same_cmd, argc, argv, &c);
	if (st)
		return st == PARSE_HELP ? EXIT_OK : st;
	const char *mask = c.mask;
	bool json = c.json;
	if (ps.n_operands != 2)
		return usage_error("ip same", "expected two addresses, got %d", ps.n_operands);

	struct sk_ip_cidr a, b;
	unsigned prefix = 0;
	char qa[QUOTE_MAX], qb[QUOTE_MAX];
	if ((st = parse_operand("ip same", ps.operands[0], &a)) ||
	    (st = parse_operand("ip same", ps.operands[1], &b)))
		return st;
	if (a.addr.version != b.addr.version)
		return usage_error("ip same", "%s and %s: %s", quote(ps.operands[0], strlen(ps.operands[0]), qa),
		                   quote(ps.operands[1], strlen(ps.operands[1]), qb),
		                   sk_strerror(SK_EADDR_FAMILY));
	if ((st = choose_prefix(mask, &a, &b, &prefix)))
		return st;

	struct sk_ip net_a = sk_ip_network(&a.addr, prefix), net_b = sk_ip_network(&b.addr, prefix);
	struct sk_ip netmask = sk_ip_netmask(a.addr.version, prefix);
	bool same = sk_ip_cmp(&net_a, &net_b) == 0;
	char sa[SK_IP_STRLEN], sb[SK_IP_STRLEN], sm[SK_IP_STRLEN], na[SK_IP_STRLEN], nb[SK_IP_STRLEN];
	sk_ip_format(&a.addr, SK_IP_CANONICAL, sa);
	sk_ip_format(&b.addr, SK_IP_CANONICAL, sb);
	sk_ip_format(&netmask, SK_IP_CANONICAL, sm);
	sk_ip_format(&net_a, SK_IP_CANONICAL, na);
	sk_ip_format(&net_b, SK_IP_CANONICAL, nb);

	struct out *o = out_stdout("ip same");
	if (json) {
		out_printf(o,
		           "{\"a\": \"%s\", \"b\": \"%s\", \"prefix\": %u, \"netmask\": \"%s\", "
		           "\"network_a\": \"%s\", \"network_b\": \"%s\", \"same\": %s}\n",
		           sa, sb, prefix, sm, na, nb, same ? "true" : "false");
	} else {
		explain_and(o, &a.addr, prefix);
		out_char(o, '\n');
		explain_and(o, &b.addr, prefix);
		out_char(o, '\n');
		if (same)
			out_printf(o, "same subnet: both AND to %s/%u\n", na, prefix);
		else
			out_printf(o, "different subnets: %s/%u and %s/%u\n", na, prefix, nb, prefix);
	}
	return same ? EXIT_OK : EXIT_FAIL;
}

struct range_opts {
	bool json;
};

static const struct opt range_opts[] = {
	OPT_FLAG_('j', "json", struct range_opts, json, "one JSON object per block"),
	OPT_END_,
};

const struct opt_cmd ip_range_cmd = { "ip range", "ip", range_opts, NULL };

int cmd_ip_range(int argc, char **argv)
{
	struct range_opts c = { 0 };
	struct parse ps;
	int st = parse_options(&ps, &ip_range_cmd, argc, argv, &c);
	if (st)
		return st == PARSE_HELP ? EXIT_OK : st;
	bool json = c.json;
	if (ps.n_operands != 2)
		return usage_error("ip range", "expected two addresses (the first and the last), got %d",
		                   ps.n_operands);

	struct sk_ip first, last;
	char qa[QUOTE_MAX], qb[QUOTE_MAX];
	for (int i = 0; i < 2; i++) {
		const char *text = ps.operands[i];
		struct sk_slice bad = { 0 };
		int err = sk_ip_parse(text, strlen(text), i ? &last : &first, &bad);
		if (err < 0) {
			char reason[256], ctx[QUOTE_MAX + 16], q[QUOTE_MAX];
			describe_parse_error(err, text, strlen(text), bad, reason, sizeof reason);
			snprintf(ctx, sizeof ctx, "ip range: %s", quote(text, strlen(text), q));
			report(ctx, "%s", reason);
			return EXIT_USAGE;
		}
	}
	if (first.version != last.version || sk_ip_cmp(&first, &last) > 0)
		return usage_error("ip range", "%s - %s: %s", quote(ps.operands[0], strlen(ps.operands[0]), qa),
		                   quote(ps.operands[1], strlen(ps.operands[1]), qb),
		                   sk_strerror(first.version != last.version ? SK_EADDR_FAMILY
		                                                             : SK_ERANGE_ORDER));

	struct out *o = out_stdout("ip range");
	bool done = false;
	struct sk_ip net;
	unsigned prefix;
	while (!o->err && sk_ip_range_next(&first, &last, &done, &net, &prefix) > 0) {
		if (json)
			print_block_json(o, &net, prefix);
		else
			print_block_text(o, &net, prefix);
	}
	return EXIT_OK;
}
