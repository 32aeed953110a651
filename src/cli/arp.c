/* `sockit arp`: the neighbour table, one address resolved without
 * privileges, and (as root) ARP requests of our own, like arping. */
#include "cli.h"

#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sockit/ifaces.h>
#include <sockit/neigh.h>

struct arp_run {
	bool json, probe;
	int family;
	unsigned long count;
	unsigned timeout_ms;
	const char *arg;        /* ADDRESS as typed, for messages */
	struct sk_ip ip;
	unsigned zone_index;    /* from ADDRESS%ZONE, 0 without */
};

static const struct opt arp_opts[] = {
	OPT_FAMILY_('4', struct arp_run, family, AF_INET, "the IPv4 table (ARP) only"),
	OPT_FAMILY_('6', struct arp_run, family, AF_INET6, "the IPv6 table (NDP) only"),
	OPT_SECONDS_('W', "timeout", struct arp_run, timeout_ms,
	             "how long to wait for an answer (default 3; 0: only what the table holds now)"),
	OPT_FLAG_(0, "probe", struct arp_run, probe,
	          "as root: send ARP requests over a packet socket, one a second, and print who "
	          "answered and when, like arping (IPv4 only)"),
	OPT_COUNT_('c', "count", "N", 1000000, struct arp_run, count,
	           "--probe: requests to send (default 3; 0 is refused)"),
	OPT_FLAG_('j', "json", struct arp_run, json, "one JSON object per entry, reply or summary"),
	OPT_END_,
};

static const struct opt_cmd arp_cmd = { "arp", "arp", arp_opts, NULL };

const struct help_part arp_help[] = {
	{ "usage: sockit arp [--json] [-4|-6] [ADDRESS]\n"
	  "       sockit arp --probe [-c COUNT] [-W SECS] [--json] ADDRESS\n"
	  "\n"
	  "Without ADDRESS: the neighbour table, IPv4 (ARP) and IPv6 (NDP): address, MAC,\n"
	  "interface, state (REACHABLE, STALE, DELAY, PROBE, FAILED, PERMANENT ...) and\n"
	  "whether the neighbour is a router.\n"
	  "\n"
	  "With ADDRESS (an on-link IPv4 or IPv6 address; fe80::1%eth0 for link-local):\n"
	  "prints its MAC address. Needs no privileges: a datagram to its discard port\n"
	  "(9) makes the kernel ask, and sockit reads the kernel's answer from the table.\n"
	  "\n", &arp_cmd },
	{ "\n"
	  "exit status: 0 the address answered (or the table was listed), 1 it did not\n"
	  "(or is not on a local network), 2 usage, 3 unknown interface in a zone,\n"
	  "7 --probe without root (CAP_NET_RAW)\n", NULL },
	{ 0 },
};

static void json_str(struct out *o, const char *s)
{
	out_char(o, '"');
	out_json_str(o, s, strlen(s));
	out_char(o, '"');
}

static void print_entry(struct out *o, const struct sk_neigh *n, const char *state, bool json)
{
	char ip[SK_IP_STRLEN], mac[SK_MAC_STRLEN] = "", ifname[IF_NAMESIZE] = "";
	sk_ip_format(&n->ip, SK_IP_CANONICAL, ip);
	sk_mac_format(n->mac, n->mac_len, mac);
	if (!if_indextoname(n->ifindex, ifname))
		snprintf(ifname, sizeof ifname, "%u", n->ifindex);
	if (!state)
		state = sk_neigh_state_name(n->state);
	if (!json) {
		out_printf(o, "%-39s %-17s %-15s %s%s\n", ip, n->mac_len ? mac : "-", ifname, state,
		           n->is_router ? " router" : "");
		return;
	}
	out_printf(o, "{\"address\": \"%s\", \"mac\": ", ip);
	if (n->mac_len)
		json_str(o, mac);
	else
		out_str(o, "null");
	out_str(o, ", \"iface\": ");
	json_str(o, ifname);
	out_printf(o, ", \"ifindex\": %u, \"state\": \"%s\", \"router\": %s}\n", n->ifindex, state,
	           n->is_router ? "true" : "false");
}

static int list_table(const struct arp_run *run)
{
	struct sk_neigh *items;
	size_t n;
	int err = sk_neigh_list(run->family, &items, &n);
	if (err < 0)
		return report_err("arp: netlink", err);
	struct out *o = out_stdout(NULL);
	for (size_t i = 0; i < n; i++)
		print_entry(o, &items[i], NULL, run->json);
	free(items);
	return EXIT_OK;
}

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* A datagram to the discard port makes the kernel resolve the address (and
 * costs the neighbour nothing: RFC 863 throws it away). */
static void nudge(const struct arp_run *run)
{
	struct sk_addr to;
	sk_addr_from_ip(&run->ip, 9, &to);
	if (run->ip.version == SK_IP_V6)
		to.u.in6.sin6_scope_id = run->zone_index;
	struct sk_sock_opts so;
	sk_sock_opts_init(&so);
	int fd = sk_udp_open(NULL, to.u.sa.sa_family, &so);
	if (fd < 0)
		return;
	(void)sendto(fd, "", 0, 0, &to.u.sa, to.len);
	close(fd);
}

static int not_answered(const struct arp_run *run, const char *why)
{
	char q[QUOTE_MAX], ctx[QUOTE_MAX + 8];
	snprintf(ctx, sizeof ctx, "arp %s", quote(run->arg, strlen(run->arg), q));
	report(ctx, "%s", why);
	return EXIT_FAIL;
}

/* The address is this host's: its interface's MAC, state LOCAL. */
static int print_local(const struct arp_run *run, const struct sk_route *rt)
{
	struct sk_iface_list *list;
	int err = sk_ifaces_list(&list);
	if (err < 0)
		return report_err("arp: netlink", err);
	struct sk_neigh n = { .ip = run->ip, .ifindex = rt->ifindex };
	/* The route to our own address goes through lo; the address lives on
	 * the interface that carries it. */
	for (size_t i = 0; i < list->n; i++)
		for (size_t k = 0; k < list->ifaces[i].n_addrs; k++)
			if (sk_ip_cmp(&list->ifaces[i].addrs[k].ip, &run->ip) == 0) {
				n.ifindex = list->ifaces[i].index;
				n.mac_len = list->ifaces[i].mac_len;
				memcpy(n.mac, list->ifaces[i].mac, n.mac_len);
			}
	sk_ifaces_free(list);
	print_entry(out_stdout(NULL), &n, "LOCAL", run->json);
	return EXIT_OK;
}

static int route_or_report(const struct arp_run *run, struct sk_route *rt)
{
	int err = sk_route_get(&run->ip, run->zone_index, rt);
	if (err < 0) {
		char q[QUOTE_MAX], ctx[QUOTE_MAX + 8];
		snprintf(ctx, sizeof ctx, "arp %s", quote(run->arg, strlen(run->arg), q));
		report_err(ctx, err);
		return EXIT_FAIL;
	}
	if (rt->has_gateway) {
		char gw[SK_IP_STRLEN], why[128], ifname[IF_NAMESIZE] = "?";
		sk_ip_format(&rt->gateway, SK_IP_CANONICAL, gw);
		if_indextoname(rt->ifindex, ifname);
		snprintf(why, sizeof why, "not on a local network: reached through %s on %s", gw, ifname);
		return not_answered(run, why);
	}
	return EXIT_OK;
}

static int resolve(const struct arp_run *run)
{
	struct sk_route rt;
	int st = route_or_report(run, &rt);
	if (st)
		return st;
	if (rt.is_local)
		return print_local(run, &rt);
	struct sk_neigh n;
	uint64_t deadline = now_us() + (uint64_t)run->timeout_ms * 1000u, next_nudge = 0;
	for (;;) {
		int found = sk_neigh_find(&run->ip, rt.ifindex, &n);
		if (found < 0)
			return report_err("arp: netlink", found);
		if (found && (n.state & (SK_NUD_REACHABLE | SK_NUD_PERMANENT | SK_NUD_NOARP)))
			break;
		uint64_t now = now_us();
		if (now >= deadline) {
			if (found && sk_neigh_is_resolved(n.state))
				break; /* STALE, DELAY or PROBE: the last MAC the kernel saw */
			char why[64];
			snprintf(why, sizeof why, "no answer within %u ms", run->timeout_ms);
			return not_answered(run, why);
		}
		if (now >= next_nudge) {
			nudge(run);
			next_nudge = now + 1000000u;
		}
		/* The table has no change notification we could wait on without
		 * joining a multicast group; 20 ms polls cost nothing here. */
		poll(NULL, 0, 20);
	}
	print_entry(out_stdout(NULL), &n, NULL, run->json);
	return EXIT_OK;
}

/* --- --probe ---------------------------------------------------------------- */

struct probe_src {
	unsigned ifindex;
	char ifname[IF_NAMESIZE];
	unsigned char mac[SK_MAC_MAX];
	struct sk_ip ip;
};

static int probe_source(const struct arp_run *run, struct probe_src *src)
{
	struct sk_route rt;
	int st = route_or_report(run, &rt);
	if (st)
		return st;
	if (rt.is_local)
		return not_answered(run, "is this host's own address");
	struct sk_iface_list *list;
	int err = sk_ifaces_list(&list);
	if (err < 0)
		return report_err("arp: netlink", err);
	const struct sk_iface *ifc = sk_ifaces_find_index(list, rt.ifindex);
	bool ok = ifc && ifc->mac_len == 6 && rt.has_src;
	if (ok) {
		src->ifindex = ifc->index;
		snprintf(src->ifname, sizeof src->ifname, "%s", ifc->name);
		memcpy(src->mac, ifc->mac, 6);
		src->ip = rt.src;
	}
	sk_ifaces_free(list);
	if (!ok)
		return not_answered(run, "its interface has no Ethernet address or no IPv4 source");
	return EXIT_OK;
}

static void print_reply(const struct arp_run *run, unsigned seq, const unsigned char *mac,
                        uint64_t rtt_us)
{
	struct out *o = out_stdout(NULL);
	char ip[SK_IP_STRLEN], m[SK_MAC_STRLEN];
	sk_ip_format(&run->ip, SK_IP_CANONICAL, ip);
	sk_mac_format(mac, 6, m);
	if (run->json)
		out_printf(o, "{\"type\": \"reply\", \"address\": \"%s\", \"mac\": \"%s\", \"seq\": %u, "
		           "\"time_ms\": %.3f}\n", ip, m, seq, (double)rtt_us / 1000.0);
	else
		out_printf(o, "reply from %s [%s]: arp_seq=%u time=%.3f ms\n", ip, m, seq,
		           (double)rtt_us / 1000.0);
	out_flush(o);
}

/* Waits until `until` for replies from the target to the request sent at
 * sent_us; returns how many arrived. */
static unsigned gather(const struct arp_run *run, int fd, unsigned seq, uint64_t sent_us,
                       uint64_t until)
{
	unsigned got = 0;
	for (uint64_t now = now_us(); now < until; now = now_us()) {
		struct pollfd p = { fd, POLLIN, 0 };
		int wait_ms = (int)((until - now + 999) / 1000);
		if (poll(&p, 1, wait_ms) <= 0)
			continue;
		unsigned char buf[128], mac[6];
		ssize_t len;
		while ((len = recv(fd, buf, sizeof buf, 0)) > 0) {
			struct sk_ip sender;
			if (sk_arp_parse(buf, (size_t)len, &sender, mac) == 2 &&
			    sk_ip_cmp(&sender, &run->ip) == 0) {
				print_reply(run, seq, mac, now_us() - sent_us);
				got++;
			}
		}
	}
	return got;
}

static int probe(const struct arp_run *run)
{
	if (run->ip.version != SK_IP_V4)
		return usage_error("arp", "--probe: ARP is IPv4 only (IPv6 neighbours: sockit arp ADDRESS)");
	struct probe_src src;
	int st = probe_source(run, &src);
	if (st)
		return st;
	int fd = sk_arp_open(src.ifindex);
	if (fd < 0) {
		if (fd == -EPERM || fd == -EACCES) {
			report("arp: --probe", "a packet socket needs root (CAP_NET_RAW); without it, "
			       "'sockit arp ADDRESS' asks the kernel instead");
			return EXIT_LOCAL;
		}
		return report_err("arp: --probe: packet socket", fd);
	}
	char ip[SK_IP_STRLEN], from[SK_IP_STRLEN];
	sk_ip_format(&run->ip, SK_IP_CANONICAL, ip);
	sk_ip_format(&src.ip, SK_IP_CANONICAL, from);
	struct out *o = out_stdout(NULL);
	if (!run->json) {
		out_printf(o, "ARPING %s from %s %s\n", ip, from, src.ifname);
		out_flush(o);
	}
	unsigned sent = 0, received = 0;
	for (unsigned long seq = 1; seq <= run->count; seq++) {
		uint64_t t = now_us();
		int err = sk_arp_send_request(fd, src.ifindex, src.mac, &src.ip, &run->ip);
		if (err < 0) {
			close(fd);
			return report_err("arp: --probe: send", err);
		}
		sent++;
		/* One a second, as arping; after the last, -W for late answers. */
		uint64_t wait = seq < run->count ? 1000000u : (uint64_t)run->timeout_ms * 1000u;
		received += gather(run, fd, (unsigned)seq, t, t + wait);
	}
	close(fd);
	if (run->json)
		out_printf(o, "{\"type\": \"summary\", \"address\": \"%s\", \"sent\": %u, "
		           "\"received\": %u}\n", ip, sent, received);
	else
		out_printf(o, "%u request%s sent, %u repl%s received\n", sent, sent == 1 ? "" : "s",
		           received, received == 1 ? "y" : "ies");
	return received ? EXIT_OK : EXIT_FAIL;
}

static int parse_target(struct arp_run *run, const char *text)
{
	const char *pct = strchr(text, '%');
	size_t len = pct ? (size_t)(pct - text) : strlen(text);
	char q[QUOTE_MAX];
	if (sk_ip_parse(text, len, &run->ip, NULL) < 0)
		return usage_error("arp", "%s is not an IPv4 or IPv6 address", quote(text, strlen(text), q));
	if (pct) {
		run->zone_index = if_nametoindex(pct + 1);
		if (!run->zone_index) {
			char ctx[QUOTE_MAX + 8];
			snprintf(ctx, sizeof ctx, "arp: %s", quote(pct + 1, strlen(pct + 1), q));
			report(ctx, "no such interface");
			return EXIT_RESOLVE;
		}
	}
	return EXIT_OK;
}

int cmd_arp(int argc, char **argv)
{
	struct arp_run run = { .family = AF_UNSPEC, .count = 3, .timeout_ms = 3000 };
	struct parse ps;
	int st = parse_options(&ps, &arp_cmd, argc, argv, &run);
	if (st)
		return st == PARSE_HELP ? EXIT_OK : st;
	const char *count_typed = opt_seen(&ps, "count");
	if (ps.n_operands > 1)
		return usage_error("arp", "expected at most one ADDRESS, got %d arguments", ps.n_operands);
	if (ps.n_operands == 0) {
		if (run.probe || count_typed)
			return usage_error("arp", "%s needs an ADDRESS",
			                   run.probe ? opt_seen(&ps, "probe") : count_typed);
		return list_table(&run);
	}
	if (count_typed && !run.probe)
		return usage_error("arp", "%s counts --probe requests: add --probe", count_typed);
	if (run.count == 0)
		return usage_error("arp", "%s 0: at least one request", count_typed);
	run.arg = ps.operands[0];
	if ((st = parse_target(&run, run.arg)))
		return st;
	return run.probe ? probe(&run) : resolve(&run);
}
