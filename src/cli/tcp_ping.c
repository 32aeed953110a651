/* `sockit tcp ping`: connect round trips to HOST PORT with ping's statistics. */
#include "probe_cli.h"
#include "tcp_cli.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sockit/ping.h>

struct tcp_ping_run {
	bool json, quiet;
	unsigned timeout_ms;
	char target[SK_ADDR_STRLEN];
	struct sk_loop *loop;
	struct sk_tcp_ping *ping;
};

static void print_result(struct tcp_ping_run *run, const struct sk_ping_result *r)
{
	struct out *o = out_stdout(NULL);
	char reason[128];
	if (run->json) {
		out_str(o, "{\"type\": ");
		if (r->event == SK_PING_REPLY)
			out_printf(o, "\"reply\", \"target\": \"%s\", \"seq\": %u, \"state\": \"%s\", "
			           "\"time_ms\": %.3f}\n", run->target, r->seq,
			           r->is_refused ? "closed" : "open", r->rtt_ms);
		else if (r->event == SK_PING_TIMEOUT)
			out_printf(o, "\"timeout\", \"target\": \"%s\", \"seq\": %u}\n", run->target, r->seq);
		else
			out_printf(o, "\"error\", \"target\": \"%s\", \"seq\": %u, \"error\": \"%s\"}\n",
			           run->target, r->seq, reason_of(r->err, reason, sizeof reason));
		return;
	}
	if (r->event == SK_PING_REPLY) {
		out_printf(o, "%s %s: tcp_seq=%u", r->is_refused ? "refused by" : "connected to",
		           run->target, r->seq);
		probe_print_time(o, r->rtt_ms);
		out_str(o, r->is_refused ? " (port closed)\n" : "\n");
	} else if (r->event == SK_PING_TIMEOUT) {
		out_printf(o, "no answer from %s: tcp_seq=%u (timed out after %u ms)\n", run->target,
		           r->seq, run->timeout_ms);
	} else {
		out_printf(o, "error from %s: tcp_seq=%u: %s\n", run->target, r->seq,
		           reason_of(r->err, reason, sizeof reason));
	}
}

static void on_result(void *ud, const struct sk_ping_result *r)
{
	struct tcp_ping_run *run = ud;
	if (run->quiet)
		return;
	print_result(run, r);
	out_flush(out_stdout(NULL));
}

static void on_done(void *ud)
{
	struct tcp_ping_run *run = ud;
	sk_loop_stop(run->loop);
}

static void on_interrupt(struct sk_loop *loop, int signo, void *ud)
{
	(void)loop;
	(void)signo;
	struct tcp_ping_run *run = ud;
	sk_tcp_ping_stop(run->ping);
}

static int run_tcp_ping(struct tcp_ping_run *run, struct sk_ping_opts *po, const struct sk_addr *to)
{
	int err = sk_loop_new(&run->loop);
	if (err < 0)
		return report_err("tcp ping", err);
	po->on_result = on_result;
	po->on_done = on_done;
	po->ud = run;
	err = sk_tcp_ping_new(run->loop, po, to, &run->ping);
	if (err < 0) {
		sk_loop_free(run->loop);
		return report_err("tcp ping", err);
	}
	sk_loop_add_signal(run->loop, SIGINT, on_interrupt, run);
	if (!run->json) {
		out_printf(out_stdout(NULL), "TCP PING %s\n", run->target);
		out_flush(out_stdout(NULL));
	}
	sk_tcp_ping_start(run->ping);
	err = sk_loop_run(run->loop);
	struct sk_probe_stats st;
	sk_tcp_ping_stats(run->ping, &st);
	uint64_t elapsed = sk_tcp_ping_elapsed_us(run->ping);
	sk_tcp_ping_free(run->ping);
	sk_loop_free(run->loop);
	if (err < 0)
		return report_err("tcp ping", err);
	struct out *o = out_stdout(NULL);
	if (run->json)
		probe_print_summary_json(o, run->target, &st, elapsed);
	else
		probe_print_summary(o, run->target, "tcp ping", &st, elapsed);
	return st.received ? EXIT_OK : EXIT_FAIL;
}

struct tcp_ping_args {
	struct sk_ping_opts po;
	int family;
	bool json, quiet, verbose;
};

/* -i: microseconds, for -i 0.0015. */
static int set_interval(struct parse *ps, const char *arg)
{
	struct tcp_ping_args *a = ps->base;
	unsigned ms;
	int st = parse_seconds("tcp ping", ps->typed, arg, &ms);
	if (st)
		return st;
	if (ms < 2 && geteuid() != 0)
		return usage_error("tcp ping", "%s %s: below 0.002 s needs root (as ping)", ps->typed,
		                   arg);
	a->po.interval_us = (uint64_t)(strtod(arg, NULL) * 1e6 + 0.5);
	if (a->po.interval_us == 0)
		return usage_error("tcp ping", "%s %s: the interval must be above 0", ps->typed, arg);
	return 0;
}

static const struct opt tcp_ping_opts[] = {
	OPT_COUNT_('c', "count", "N", 1000000000, struct tcp_ping_args, po.count,
	           "stop after N connects (default: until Ctrl-C; 0 is refused)"),
	OPT_CALL_('i', "interval", "SECS", set_interval, 0,
	          "between two connects (default 1; below 0.002 only for root)"),
	OPT_SECONDS_('W', "timeout", struct tcp_ping_args, po.timeout_ms,
	             "wait this long for each connect (default 2; 0 is refused)"),
	OPT_SECONDS_('w', "deadline", struct tcp_ping_args, po.deadline_ms,
	             "stop after SECS whatever was sent (default and 0: no deadline)"),
	OPT_FLAG_('q', "quiet", struct tcp_ping_args, quiet, "only the summary"),
	OPT_FLAG_('j', "json", struct tcp_ping_args, json,
	          "one JSON object per connect and one summary object"),
	OPT_FAMILY_('4', struct tcp_ping_args, family, AF_INET, "IPv4 only"),
	OPT_FAMILY_('6', struct tcp_ping_args, family, AF_INET6, "IPv6 only"),
	OPT_FLAG_('v', "verbose", struct tcp_ping_args, verbose,
	          "print the address, the interval and the timeout on stderr"),
	OPT_END_,
};

const struct opt_cmd tcp_ping_cmd = { "tcp ping", "tcp", tcp_ping_opts, NULL };

int cmd_tcp_ping(int argc, char **argv)
{
	struct tcp_ping_args a = { .family = AF_UNSPEC };
	sk_ping_opts_init(&a.po);
	a.po.timeout_ms = 2000;
	struct parse ps;
	int st = parse_options(&ps, &tcp_ping_cmd, argc, argv, &a);
	if (st)
		return st == PARSE_HELP ? EXIT_OK : st;
	const char *typed;
	if ((typed = opt_seen(&ps, "count")) && a.po.count == 0)
		return usage_error("tcp ping", "%s 0: at least one probe", typed);
	if ((typed = opt_seen(&ps, "timeout")) && a.po.timeout_ms == 0)
		return usage_error("tcp ping", "%s 0: the timeout must be above 0", typed);
	if (ps.n_operands != 2)
		return usage_error("tcp ping", "expected HOST and PORT, got %d argument%s", ps.n_operands,
		                   ps.n_operands == 1 ? "" : "s");
	struct tcp_ping_run run = { .json = a.json, .quiet = a.quiet, .timeout_ms = a.po.timeout_ms };
	struct sk_addr to;
	size_t n;
	if ((st = resolve_or_report("tcp ping", ps.operands[0], ps.operands[1], a.family, SOCK_STREAM,
	                            false, &to, 1, &n)))
		return st;
	sk_addr_format(&to, run.target);
	if (a.verbose)
		report("tcp ping", "connecting to %s every %.3f s, timeout %u ms", run.target,
		       (double)a.po.interval_us / 1e6, a.po.timeout_ms);
	return run_tcp_ping(&run, &a.po, &to);
}
