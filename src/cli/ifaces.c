/* `sockit ifaces`: interfaces, their addresses and counters (ip addr, ip -s link). */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#include <sockit/ifaces.h>

struct ifaces_args {
	bool stats, json;
};

static const struct opt ifaces_opts[] = {
	OPT_FLAG_('s', "stats", struct ifaces_args, stats,
	          "add the counters: bytes, packets, errors, drops each way"),
	OPT_FLAG_('j', "json", struct ifaces_args, json, "one JSON object per interface"),
	OPT_END_,
};

static const struct opt_cmd ifaces_cmd = { "ifaces", "ifaces", ifaces_opts, NULL };

const struct help_part ifaces_help[] = {
	{ "usage: sockit ifaces [--json] [-s] [NAME]\n"
	  "\n"
	  "Lists the network interfaces (or NAME only), read from the kernel over\n"
	  "rtnetlink: index, name, flags (UP, BROADCAST, LOOPBACK, MULTICAST, RUNNING,\n"
	  "LOWER_UP ...), MTU, state, MAC address, and every address: IPv4 with prefix,\n"
	  "broadcast and network (the address AND its mask), secondaries included; IPv6\n"
	  "with prefix, scope and flags (tentative, deprecated, temporary ...).\n"
	  "\n", &ifaces_cmd },
	{ "\n"
	  "exit status: 0 ok, 1 stdout could not be written or netlink failed, 2 usage,\n"
	  "3 no interface NAME\n", NULL },
	{ 0 },
};

static void json_str(struct out *o, const char *s)
{
	out_char(o, '"');
	out_json_str(o, s, strlen(s));
	out_char(o, '"');
}

static void json_ip(struct out *o, const struct sk_ip *ip)
{
	char text[SK_IP_STRLEN];
	sk_ip_format(ip, SK_IP_CANONICAL, text);
	json_str(o, text);
}

static void print_link_flags(struct out *o, unsigned flags, bool json)
{
	bool first = true;
	for (unsigned bit = 1; bit; bit <<= 1) {
		const char *name = (flags & bit) ? sk_iface_flag_name(bit) : NULL;
		if (!name)
			continue;
		out_str(o, first ? "" : json ? ", " : ",");
		if (json)
			json_str(o, name);
		else
			out_str(o, name);
		first = false;
	}
}

static void print_addr_flags(struct out *o, const struct sk_iface_addr *a, bool json)
{
	bool first = true;
	for (unsigned bit = 1; bit; bit <<= 1) {
		const char *name = (a->flags & bit) ? sk_iface_addr_flag_name(bit, a->ip.version) : NULL;
		/* "permanent" is the usual case: ip says "dynamic" for its absence. */
		if (!name || (!json && bit == 0x80))
			continue;
		out_str(o, json ? (first ? "" : ", ") : " ");
		if (json)
			json_str(o, name);
		else
			out_str(o, name);
		first = false;
	}
}

static void print_addr_json(struct out *o, const struct sk_iface_addr *a)
{
	out_printf(o, "{\"family\": \"%s\", \"address\": ", a->ip.version == SK_IP_V4 ? "inet" : "inet6");
	json_ip(o, &a->ip);
	out_printf(o, ", \"prefix\": %u", a->prefix);
	if (a->has_peer) {
		out_str(o, ", \"peer\": ");
		json_ip(o, &a->peer);
	}
	if (a->has_broadcast) {
		out_str(o, ", \"broadcast\": ");
		json_ip(o, &a->broadcast);
	}
	struct sk_ip net = sk_ip_network(&a->ip, a->prefix);
	out_str(o, ", \"network\": ");
	json_ip(o, &net);
	const char *scope = sk_iface_scope_name(a->scope);
	if (scope) {
		out_str(o, ", \"scope\": ");
		json_str(o, scope);
	} else {
		out_printf(o, ", \"scope\": %u", a->scope);
	}
	if (a->label[0]) {
		out_str(o, ", \"label\": ");
		json_str(o, a->label);
	}
	out_str(o, ", \"flags\": [");
	print_addr_flags(o, a, true);
	out_printf(o, "], \"valid_lft\": %lu, \"preferred_lft\": %lu}", (unsigned long)a->valid_lft,
	           (unsigned long)a->preferred_lft);
}

static void print_stats_json(struct out *o, const struct sk_iface_stats *s)
{
	out_printf(o, ", \"stats\": {\"rx_bytes\": %llu, \"rx_packets\": %llu, \"rx_errors\": %llu, "
	           "\"rx_dropped\": %llu, \"tx_bytes\": %llu, \"tx_packets\": %llu, "
	           "\"tx_errors\": %llu, \"tx_dropped\": %llu}",
	           (unsigned long long)s->rx_bytes, (unsigned long long)s->rx_packets,
	           (unsigned long long)s->rx_errors, (unsigned long long)s->rx_dropped,
	           (unsigned long long)s->tx_bytes, (unsigned long long)s->tx_packets,
	           (unsigned long long)s->tx_errors, (unsigned long long)s->tx_dropped);
}

static void print_iface_json(struct out *o, const struct sk_iface *ifc, bool stats)
{
	out_printf(o, "{\"index\": %u, \"name\": ", ifc->index);
	json_str(o, ifc->name);
	out_str(o, ", \"flags\": [");
	print_link_flags(o, ifc->flags, true);
	out_printf(o, "], \"mtu\": %u, \"state\": \"%s\", \"type\": %u, \"mac\": ", ifc->mtu,
	           sk_iface_operstate_name(ifc->operstate), ifc->type);
	if (ifc->mac_len) {
		char mac[SK_MAC_STRLEN];
		sk_mac_format(ifc->mac, ifc->mac_len, mac);
		json_str(o, mac);
	} else {
		out_str(o, "null");
	}
	out_str(o, ", \"addrs\": [");
	for (size_t i = 0; i < ifc->n_addrs; i++) {
		out_str(o, i ? ", " : "");
		print_addr_json(o, &ifc->addrs[i]);
	}
	out_char(o, ']');
	if (stats && ifc->has_stats)
		print_stats_json(o, &ifc->stats);
	out_str(o, "}\n");
}

static void print_addr_text(struct out *o, const struct sk_iface_addr *a)
{
	char ip[SK_IP_STRLEN], other[SK_IP_STRLEN];
	sk_ip_format(&a->ip, SK_IP_CANONICAL, ip);
	out_printf(o, "    %s %s", a->ip.version == SK_IP_V4 ? "inet" : "inet6", ip);
	if (a->has_peer) {
		sk_ip_format(&a->peer, SK_IP_CANONICAL, other);
		out_printf(o, " peer %s", other);
	}
	out_printf(o, "/%u", a->prefix);
	if (a->has_broadcast) {
		sk_ip_format(&a->broadcast, SK_IP_CANONICAL, other);
		out_printf(o, " brd %s", other);
	}
	if (a->ip.version == SK_IP_V4) {
		struct sk_ip net = sk_ip_network(&a->ip, a->prefix);
		sk_ip_format(&net, SK_IP_CANONICAL, other);
		out_printf(o, " network %s", other);
	}
	const char *scope = sk_iface_scope_name(a->scope);
	if (scope)
		out_printf(o, " scope %s", scope);
	else
		out_printf(o, " scope %u", a->scope);
	print_addr_flags(o, a, false);
	if (a->label[0])
		out_printf(o, " %s", a->label);
	out_char(o, '\n');
}

static void print_iface_text(struct out *o, const struct sk_iface *ifc, bool stats)
{
	out_printf(o, "%u: %s: <", ifc->index, ifc->name);
	print_link_flags(o, ifc->flags, false);
	out_printf(o, "> mtu %u state %s\n", ifc->mtu, sk_iface_operstate_name(ifc->operstate));
	if (ifc->mac_len) {
		char mac[SK_MAC_STRLEN];
		sk_mac_format(ifc->mac, ifc->mac_len, mac);
		out_printf(o, "    link %s\n", mac);
	}
	for (size_t i = 0; i < ifc->n_addrs; i++)
		print_addr_text(o, &ifc->addrs[i]);
	if (stats && ifc->has_stats) {
		const struct sk_iface_stats *s = &ifc->stats;
		out_printf(o, "    RX: bytes %llu packets %llu errors %llu dropped %llu\n",
		           (unsigned long long)s->rx_bytes, (unsigned long long)s->rx_packets,
		           (unsigned long long)s->rx_errors, (unsigned long long)s->rx_dropped);
		out_printf(o, "    TX: bytes %llu packets %llu errors %llu dropped %llu\n",
		           (unsigned long long)s->tx_bytes, (unsigned long long)s->tx_packets,
		           (unsigned long long)s->tx_errors, (unsigned long long)s->tx_dropped);
	}
}

int cmd_ifaces(int argc, char **argv)
{
	struct ifaces_args a = { 0 };
	struct parse ps;
	int st = parse_options(&ps, &ifaces_cmd, argc, argv, &a);
	if (st)
		return st == PARSE_HELP ? EXIT_OK : st;
	if (ps.n_operands > 1)
		return usage_error("ifaces", "expected at most one interface name, got %d arguments",
		                   ps.n_operands);
	const char *name = ps.n_operands ? ps.operands[0] : NULL;
	struct sk_iface_list *list;
	int err = sk_ifaces_list(&list);
	if (err < 0)
		return report_err("ifaces: netlink", err);
	int status = EXIT_OK;
	const struct sk_iface *only = name ? sk_ifaces_find(list, name) : NULL;
	if (name && !only) {
		char q[QUOTE_MAX], ctx[QUOTE_MAX + 16];
		snprintf(ctx, sizeof ctx, "ifaces: %s", quote(name, strlen(name), q));
		report(ctx, "no such interface");
		status = EXIT_RESOLVE;
	}
	struct out *o = out_stdout(NULL);
	for (size_t i = 0; i < list->n && status == EXIT_OK; i++) {
		const struct sk_iface *ifc = &list->ifaces[i];
		if (only && ifc != only)
			continue;
		if (a.json)
			print_iface_json(o, ifc, a.stats);
		else
			print_iface_text(o, ifc, a.stats);
	}
	sk_ifaces_free(list);
	return status;
}
