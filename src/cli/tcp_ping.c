/* `sockit tcp ping`: connect round trips to HOST PORT with ping's statistics. */
#include "probe_cli.h"
#include "tcp_cli.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sockit/ping.h>

static const struct option tcp_ping_options[] = {
	{ "count", required_argument, NULL, 'c' },
	{ "interval", required_argument, NULL, 'i' },
	{ "timeout", required_argument, NULL, 'W' },
	{ "deadline", required_argument, NULL, 'w' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "json", no_argument, NULL, 'j' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

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

int cmd_tcp_ping(int argc, char **argv)
{
	struct tcp_ping_run run = { .timeout_ms = 2000 };
	struct sk_ping_opts po;
	sk_ping_opts_init(&po);
	po.timeout_ms = run.timeout_ms;
	int family = AF_UNSPEC, ch, st;
	unsigned long v;
	unsigned ms;
	bool verbose = false;
	while ((ch = next_option("tcp ping", argc, argv, "46c:i:W:w:qjvh", tcp_ping_options)) != -1) {
		switch (ch) {
		case '4':
		case '6':
			family = ch == '4' ? AF_INET : AF_INET6;
			break;
		case 'c':
			if ((st = parse_count("tcp ping", "-c", optarg, 1000000000, &v)))
				return st;
			if (v == 0)
				return usage_error("tcp ping", "-c 0: at least one probe");
			po.count = v;
			break;
		case 'i':
			if ((st = parse_seconds("tcp ping", "-i", optarg, &ms)))
				return st;
			if (ms < 2 && geteuid() != 0)
				return usage_error("tcp ping", "-i %s: below 0.002 s needs root (as ping)", optarg);
			po.interval_us = (uint64_t)(strtod(optarg, NULL) * 1e6 + 0.5);
			if (po.interval_us == 0)
				return usage_error("tcp ping", "-i %s: the interval must be above 0", optarg);
			break;
		case 'W':
			if ((st = parse_seconds("tcp ping", "-W", optarg, &po.timeout_ms)))
				return st;
			if (po.timeout_ms == 0)
				return usage_error("tcp ping", "-W 0: the timeout must be above 0");
			break;
		case 'w':
			if ((st = parse_seconds("tcp ping", "-w", optarg, &po.deadline_ms)))
				return st;
			break;
		case 'q':
			run.quiet = true;
			break;
		case 'j':
			run.json = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			return print_usage(find_command("tcp"));
		default:
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 2)
		return usage_error("tcp ping", "expected HOST and PORT, got %d argument%s", argc - optind,
		                   argc - optind == 1 ? "" : "s");
	run.timeout_ms = po.timeout_ms;
	struct sk_addr to;
	size_t n;
	if ((st = resolve_or_report("tcp ping", argv[optind], argv[optind + 1], family, SOCK_STREAM,
	                            false, &to, 1, &n)))
		return st;
	sk_addr_format(&to, run.target);
	if (verbose)
		report("tcp ping", "connecting to %s every %.3f s, timeout %u ms", run.target,
		       (double)po.interval_us / 1e6, po.timeout_ms);
	return run_tcp_ping(&run, &po, &to);
}
