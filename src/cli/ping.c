/* `sockit ping`: ICMP echo to one or many targets (names, addresses, CIDRs),
 * iputils' lines and summaries, JSON, and exit statuses that say who answered. */
#include "probe_cli.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sockit/ping.h>

/* A /16 or a few hundred names: beyond, a sweep wants a scanner. */
#define MAX_TARGETS 65536

struct target_name {
	const char *typed;  /* the name as typed, or NULL: the address says it */
	struct sk_ip ip;
};

struct ping_run {
	bool json, quiet, verbose;
	int family;
	struct sk_addr *addrs;
	struct target_name *names;
	size_t n, cap;
	struct sk_ping *ping;
	struct sk_loop *loop;
};

/* How a target is named in lines and summaries: as typed, else its address. */
static const char *target_label(const struct ping_run *run, size_t i, char *buf)
{
	if (run->names[i].typed)
		return run->names[i].typed;
	sk_ip_format(&run->names[i].ip, SK_IP_CANONICAL, buf);
	return buf;
}

static int add_target(struct ping_run *run, const struct sk_addr *a, const char *typed)
{
	if (run->n == MAX_TARGETS)
		return usage_error("ping", "more than %d targets", MAX_TARGETS);
	if (run->n == run->cap) {
		size_t cap = run->cap ? run->cap * 2 : 16;
		struct sk_addr *na = realloc(run->addrs, cap * sizeof *na);
		if (na)
			run->addrs = na;
		struct target_name *nn = realloc(run->names, cap * sizeof *nn);
		if (nn)
			run->names = nn;
		if (!na || !nn)
			return report_err("ping", SK_ENOMEM);
		run->cap = cap;
	}
	run->addrs[run->n] = *a;
	run->names[run->n].typed = typed;
	sk_addr_to_ip(a, &run->names[run->n].ip, NULL);
	run->n++;
	return EXIT_OK;
}

/* Every host of a network, as Python's hosts() counts them. */
static int add_cidr(struct ping_run *run, const char *text)
{
	struct sk_ip_cidr c;
	struct sk_slice bad;
	char q[QUOTE_MAX], why[256];
	int err = sk_ip_parse_cidr(text, strlen(text), &c, &bad);
	if (err < 0) {
		describe_parse_error(err, text, strlen(text), bad, why, sizeof why);
		return usage_error("ping", "%s: %s", quote(text, strlen(text), q), why);
	}
	struct sk_ip_info info;
	sk_ip_describe(&c, &info);
	if (info.count_log2 > 16)
		return usage_error("ping", "%s: more than %d addresses", quote(text, strlen(text), q),
		                   MAX_TARGETS);
	for (struct sk_ip ip = info.first_host;;) {
		struct sk_addr a;
		sk_addr_from_ip(&ip, 0, &a);
		int st = add_target(run, &a, NULL);
		if (st)
			return st;
		if (sk_ip_cmp(&ip, &info.last_host) == 0 || sk_ip_add(&ip, 1, &ip) < 0)
			break;
	}
	return EXIT_OK;
}

static int add_arg(struct ping_run *run, const char *arg)
{
	if (strchr(arg, '/'))
		return add_cidr(run, arg);
	struct sk_addr a;
	size_t n;
	int st = resolve_or_report("ping", arg, "0", run->family, SOCK_DGRAM, false, &a, 1, &n);
	if (st)
		return st;
	struct sk_ip ip;
	sk_addr_to_ip(&a, &ip, NULL);
	char text[SK_IP_STRLEN];
	sk_ip_format(&ip, SK_IP_CANONICAL, text);
	/* A numeric target is named by its canonical form ("::1"), a name as typed. */
	return add_target(run, &a, strcmp(text, arg) == 0 ? NULL : arg);
}

static int cmp_ip_then_index(const void *a, const void *b, void *ud)
{
	const struct target_name *names = ud;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = sk_ip_cmp(&names[i].ip, &names[j].ip);
	return c ? c : (i < j ? -1 : i > j);
}

/* The same address twice (a name and its address) is pinged once. */
static int dedupe(struct ping_run *run)
{
	size_t *order = malloc(run->n * sizeof *order);
	bool *drop = calloc(run->n, sizeof *drop);
	if (!order || !drop) {
		free(order);
		free(drop);
		return report_err("ping", SK_ENOMEM);
	}
	for (size_t i = 0; i < run->n; i++)
		order[i] = i;
	qsort_r(order, run->n, sizeof *order, cmp_ip_then_index, run->names);
	for (size_t k = 1; k < run->n; k++)
		if (sk_ip_cmp(&run->names[order[k]].ip, &run->names[order[k - 1]].ip) == 0)
			drop[order[k]] = true;
	size_t w = 0;
	for (size_t i = 0; i < run->n; i++)
		if (!drop[i]) {
			run->addrs[w] = run->addrs[i];
			run->names[w++] = run->names[i];
		}
	run->n = w;
	free(order);
	free(drop);
	return EXIT_OK;
}

static void print_reply(struct ping_run *run, const struct sk_ping_result *r)
{
	struct out *o = out_stdout(NULL);
	char from[SK_IP_STRLEN], label[SK_IP_STRLEN];
	sk_ip_format(&r->from, SK_IP_CANONICAL, from);
	if (run->json) {
		out_printf(o, "{\"type\": \"reply\", \"target\": ");
		json_string(o, target_label(run, r->target, label));
		out_printf(o, ", \"from\": \"%s\", \"bytes\": %zu, \"seq\": %u, \"ttl\": ", from, r->bytes,
		           r->seq);
		out_printf(o, r->ttl >= 0 ? "%d" : "null", r->ttl);
		out_printf(o, r->rtt_ms >= 0 ? ", \"time_ms\": %.3f" : ", \"time_ms\": null", r->rtt_ms);
		out_printf(o, ", \"dup\": %s, \"late\": %s}\n", r->is_dup ? "true" : "false",
		           r->is_late ? "true" : "false");
		return;
	}
	out_printf(o, "%zu bytes from %s: icmp_seq=%u", r->bytes, from, r->seq);
	if (r->ttl >= 0)
		out_printf(o, " ttl=%d", r->ttl);
	if (r->rtt_ms >= 0)
		probe_print_time(o, r->rtt_ms);
	out_str(o, r->is_dup ? " (DUP!)" : "");
	out_str(o, r->is_late ? " (late)\n" : "\n");
}

static void print_error(struct ping_run *run, const struct sk_ping_result *r)
{
	struct out *o = out_stdout(NULL);
	char from[SK_IP_STRLEN], label[SK_IP_STRLEN];
	sk_ip_format(&r->from, SK_IP_CANONICAL, from);
	const char *text = sk_ping_error_text(r);
	if (run->json) {
		out_str(o, "{\"type\": \"error\", \"target\": ");
		json_string(o, target_label(run, r->target, label));
		out_printf(o, ", \"from\": \"%s\", \"seq\": %u, \"error\": ", from, r->seq);
		json_string(o, text);
		out_str(o, "}\n");
		return;
	}
	/* iputils' "From ROUTER icmp_seq=N ..."; our own stack's errors
	 * (no ARP answer) are about the target, hence "To". */
	out_printf(o, "%s %s icmp_seq=%u %s\n", r->icmp_type ? "From" : "To", from, r->seq, text);
}

static void on_result(void *ud, const struct sk_ping_result *r)
{
	struct ping_run *run = ud;
	if (r->event == SK_PING_SEND_ERROR) {
		char label[SK_IP_STRLEN], ctx[SK_IP_STRLEN + 64], reason[128];
		snprintf(ctx, sizeof ctx, "ping: %s: icmp_seq=%u", target_label(run, r->target, label),
		         r->seq);
		report(ctx, "%s", reason_of(r->err, reason, sizeof reason));
		return;
	}
	if (run->quiet)
		return;
	if (r->event == SK_PING_REPLY)
		print_reply(run, r);
	else
		print_error(run, r);
	out_flush(out_stdout(NULL));
}

static void on_done(void *ud)
{
	struct ping_run *run = ud;
	sk_loop_stop(run->loop);
}

static void on_interrupt(struct sk_loop *loop, int signo, void *ud)
{
	(void)loop;
	(void)signo;
	struct ping_run *run = ud;
	sk_ping_stop(run->ping);
}

static void print_header(const struct ping_run *run, const struct sk_ping_opts *po)
{
	if (run->json)
		return;
	struct out *o = out_stdout(NULL);
	char label[SK_IP_STRLEN], text[SK_IP_STRLEN];
	if (run->n > 1) {
		out_printf(o, "PING %zu targets: %zu data bytes\n", run->n, po->size);
	} else if (run->names[0].ip.version == SK_IP_V4) {
		sk_ip_format(&run->names[0].ip, SK_IP_CANONICAL, text);
		out_printf(o, "PING %s (%s) %zu(%zu) bytes of data.\n", target_label(run, 0, label), text,
		           po->size, po->size + 28);
	} else {
		sk_ip_format(&run->names[0].ip, SK_IP_CANONICAL, text);
		out_printf(o, "PING %s(%s) %zu data bytes\n", target_label(run, 0, label), text, po->size);
	}
	out_flush(o);
}

/* One summary per target; returns the exit status: did every one answer? */
static int print_summaries(const struct ping_run *run)
{
	struct out *o = out_stdout(NULL);
	uint64_t elapsed = sk_ping_elapsed_us(run->ping);
	int status = EXIT_OK;
	char label[SK_IP_STRLEN];
	if (!run->json && run->n > 1)
		out_str(o, "\n--- ping statistics ---\n");
	for (size_t i = 0; i < run->n; i++) {
		struct sk_probe_stats st;
		sk_ping_stats(run->ping, i, &st);
		if (st.received == 0)
			status = EXIT_FAIL;
		const char *name = target_label(run, i, label);
		if (run->json)
			probe_print_summary_json(o, name, &st, elapsed);
		else if (run->n == 1)
			probe_print_summary(o, name, "ping", &st, elapsed);
		else
			probe_print_summary_line(o, name, &st);
	}
	return status;
}

static int report_no_socket(void)
{
	report("ping", "no permission for an ICMP socket: add your group to "
	       "'net.ipv4.ping_group_range' (sysctl -w net.ipv4.ping_group_range='0 2147483647'), "
	       "or run as root or with 'CAP_NET_RAW' (setcap cap_net_raw+ep sockit)");
	return EXIT_LOCAL;
}

static int run_ping(struct ping_run *run, const struct sk_ping_opts *po)
{
	int err = sk_loop_new(&run->loop);
	if (err < 0)
		return report_err("ping", err);
	struct sk_ping_opts o = *po;
	o.on_result = on_result;
	o.on_done = on_done;
	o.ud = run;
	err = sk_ping_new(run->loop, &o, run->addrs, run->n, &run->ping);
	if (err < 0) {
		sk_loop_free(run->loop);
		return err == -EPERM ? report_no_socket() : report_err("ping: ICMP socket", err);
	}
	if (run->verbose)
		for (int k = 0; k < 2; k++) {
			const char *kind = sk_ping_socket_kind(run->ping, k ? AF_INET6 : AF_INET);
			if (kind)
				report("ping", "%s: %s ICMP socket (%s)", k ? "IPv6" : "IPv4", kind,
				       strcmp(kind, "raw") == 0 ? "CAP_NET_RAW" : "net.ipv4.ping_group_range");
		}
	sk_loop_add_signal(run->loop, SIGINT, on_interrupt, run);
	print_header(run, po);
	sk_ping_start(run->ping);
	err = sk_loop_run(run->loop);
	int status = err < 0 ? report_err("ping", err) : print_summaries(run);
	sk_ping_free(run->ping);
	sk_loop_free(run->loop);
	return status;
}

struct ping_args {
	struct sk_ping_opts po;
	unsigned long size, ttl; /* -s, -t: moved into po once checked */
	int family;
	bool json, quiet, verbose;
};

/* -i and --gap (n 1): microseconds, for -i 0.0015. */
static int set_interval(struct parse *ps, const char *arg)
{
	struct ping_args *a = ps->base;
	bool is_gap = ps->opt->n;
	unsigned ms;
	int st = parse_seconds("ping", ps->typed, arg, &ms);
	if (st)
		return st;
	double secs = strtod(arg, NULL);
	if (!is_gap && secs < 0.002 && geteuid() != 0)
		return usage_error("ping", "%s %s: below 0.002 s needs root (as iputils)", ps->typed, arg);
	if (!is_gap && secs <= 0)
		return usage_error("ping", "%s %s: the interval must be above 0", ps->typed, arg);
	*(is_gap ? &a->po.gap_us : &a->po.interval_us) = (uint64_t)(secs * 1e6 + 0.5);
	return 0;
}

static const struct opt ping_opts[] = {
	OPT_COUNT_('c', "count", "N", 1000000000, struct ping_args, po.count,
	           "stop after N probes per target (default: until Ctrl-C; 0 is refused)"),
	OPT_CALL_('i', "interval", "SECS", set_interval, 0,
	          "between probes to one target (default 1; below 0.002 only for root, as "
	          "iputils)"),
	OPT_CALL_(0, "gap", "SECS", set_interval, 1,
	          "at least SECS between any two probes (default: the interval spread over the "
	          "targets, at most 0.01)"),
	OPT_SECONDS_('W', "timeout", struct ping_args, po.timeout_ms,
	             "a reply later than SECS is marked (late); after the last probe, wait this "
	             "long for a silent target (default 10; 0: every reply is late and nothing "
	             "waits)"),
	OPT_SECONDS_('w', "deadline", struct ping_args, po.deadline_ms,
	             "stop after SECS whatever was sent; with -c, wait until then for every "
	             "reply (default and 0: no deadline)"),
	OPT_COUNT_('s', "size", "BYTES", SK_PING_MAX_SIZE, struct ping_args, size,
	           "data bytes per probe (default 56, at most 65507; replies are timed from 16, so "
	           "0 gives no times)"),
	OPT_COUNT_('t', "ttl", "N", 255, struct ping_args, ttl,
	           "IP time to live / IPv6 hop limit (1-255; default: the system's; 0 is refused)"),
	OPT_FLAG_('q', "quiet", struct ping_args, quiet, "only the summaries"),
	OPT_FLAG_('j', "json", struct ping_args, json,
	          "one JSON object per reply or error, and one summary object per target"),
	OPT_FAMILY_('4', struct ping_args, family, AF_INET, "resolve names to IPv4 only"),
	OPT_FAMILY_('6', struct ping_args, family, AF_INET6, "resolve names to IPv6 only"),
	OPT_FLAG_('v', "verbose", struct ping_args, verbose, "say which socket was used"),
	OPT_END_,
};

static const struct opt_cmd ping_cmd = { "ping", "ping", ping_opts, NULL };

const struct help_part ping_help[] = {
	{ "usage: sockit ping [options] TARGET...\n"
	  "\n"
	  "Sends ICMP echo requests (IPv4 and IPv6) and prints each reply as iputils ping\n"
	  "does, then a summary per target: packets transmitted and received, duplicates,\n"
	  "errors, loss, and rtt min/avg/max/mdev (mdev: the standard deviation).\n"
	  "A TARGET is a name, an address or a CIDR (10.0.0.0/24, fd00::/120: every host\n"
	  "of the network, at most 65536 targets in all); several targets are pinged\n"
	  "concurrently, their probes paced, with one summary line each.\n"
	  "\n"
	  "Needs no privileges where net.ipv4.ping_group_range includes your group (an\n"
	  "ICMP datagram socket); otherwise a raw socket, which needs root or CAP_NET_RAW.\n"
	  "\n", &ping_cmd },
	{ "\n"
	  "Replies are marked (DUP!) when repeated and (late) after -W; a late reply\n"
	  "still counts as received.\n"
	  "\n"
	  "exit status: 0 every target replied, 1 some target did not (or stdout failed),\n"
	  "2 usage, 3 unknown host, 7 no permission for an ICMP socket\n", NULL },
	{ 0 },
};

/* The options into a (and a->po), then the checks the table cannot make.
 * Returns 0, PARSE_HELP or EXIT_USAGE. */
static int parse_ping_options(int argc, char **argv, struct ping_args *a, struct parse *ps)
{
	int st = parse_options(ps, &ping_cmd, argc, argv, a);
	if (st)
		return st;
	const char *typed;
	if ((typed = opt_seen(ps, "count")) && a->po.count == 0)
		return usage_error("ping", "%s 0: at least one probe", typed);
	if (opt_seen(ps, "size"))
		a->po.size = a->size;
	if ((typed = opt_seen(ps, "ttl"))) {
		if (a->ttl == 0)
			return usage_error("ping", "%s 0: a TTL is 1-255", typed);
		a->po.ttl = (int)a->ttl;
	}
	return 0;
}

int cmd_ping(int argc, char **argv)
{
	struct ping_args a = { .family = AF_UNSPEC };
	sk_ping_opts_init(&a.po);
	struct parse ps;
	int st = parse_ping_options(argc, argv, &a, &ps);
	if (st)
		return st == PARSE_HELP ? EXIT_OK : st;
	if (ps.n_operands == 0)
		return usage_error("ping", "expected at least one target");
	struct ping_run run = { .json = a.json, .quiet = a.quiet, .verbose = a.verbose,
		                .family = a.family };
	struct sk_ping_opts po = a.po;
	for (int i = 0; i < ps.n_operands && st == EXIT_OK; i++)
		st = add_arg(&run, ps.operands[i]);
	if (st == EXIT_OK)
		st = dedupe(&run);
	if (st == EXIT_OK) {
		/* Spread a round over the interval, as fping's 10 ms at most. */
		if (!opt_seen(&ps, "gap") && run.n > 1) {
			po.gap_us = po.interval_us / run.n;
			if (po.gap_us > 10000)
				po.gap_us = 10000;
		}
		st = run_ping(&run, &po);
	}
	free(run.addrs);
	free(run.names);
	return st;
}
