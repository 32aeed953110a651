/* `sockit scan`: a TCP connect scan of one host's ports. */
#include "cli.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <sockit/scan.h>

/* fds the program keeps besides the scan's: stdio, the loop's epoll,
 * eventfd and signalfd, and some slack for libc (getaddrinfo, services). */
#define RESERVED_FDS 16

struct port_result {
	unsigned char done, state, reason;
	float rtt_ms;
};

struct scan_run {
	bool json, verbose;
	struct sk_loop *loop;
	struct sk_scan *scan;
	struct port_result *results; /* by port */
	size_t counts[3];
	char host[SK_IP_STRLEN];
};

static void on_result(void *ud, const struct sk_scan_result *r)
{
	struct scan_run *run = ud;
	struct port_result *pr = &run->results[r->port];
	pr->done = 1;
	pr->state = (unsigned char)r->state;
	pr->reason = (unsigned char)r->reason;
	pr->rtt_ms = (float)r->rtt_ms;
	run->counts[r->state]++;
}

static void on_done(void *ud)
{
	struct scan_run *run = ud;
	sk_loop_stop(run->loop);
}

static void on_interrupt(struct sk_loop *loop, int signo, void *ud)
{
	(void)loop;
	(void)signo;
	struct scan_run *run = ud;
	sk_scan_stop(run->scan);
}

static void print_port(const struct scan_run *run, struct out *o, unsigned port,
                       const struct port_result *pr)
{
	char service[SK_PORT_NAME_MAX] = "";
	/* Only open ports are looked up: /etc/services is read per call. */
	if (pr->state == SK_SCAN_OPEN && sk_port_service_name(port, "tcp", service, sizeof service) < 0)
		service[0] = '\0';
	const char *state = sk_scan_state_name((enum sk_scan_state)pr->state);
	const char *reason = sk_scan_reason_name((enum sk_scan_reason)pr->reason);
	if (run->json) {
		out_printf(o, "{\"host\": \"%s\", \"port\": %u, \"state\": \"%s\", \"reason\": \"%s\", "
		           "\"service\": ", run->host, port, state, reason);
		if (service[0]) {
			out_char(o, '"');
			out_json_str(o, service, strlen(service));
			out_char(o, '"');
		} else {
			out_str(o, "null");
		}
		out_printf(o, ", \"time_ms\": %.3f}\n", (double)pr->rtt_ms);
		return;
	}
	char p[16];
	snprintf(p, sizeof p, "%u/tcp", port);
	out_printf(o, "%-11s %-9s %-12s %s\n", p, state, reason, service);
}

static void print_results(const struct scan_run *run)
{
	struct out *o = out_stdout(NULL);
	if (!run->json && (run->counts[SK_SCAN_OPEN] || run->verbose))
		out_printf(o, "%-11s %-9s %-12s %s\n", "PORT", "STATE", "REASON", "SERVICE");
	for (unsigned port = 1; port <= 65535; port++) {
		const struct port_result *pr = &run->results[port];
		if (pr->done && (pr->state == SK_SCAN_OPEN || run->verbose))
			print_port(run, o, port, pr);
	}
}

/* The kernel's queue of received packets per CPU: loopback SYNs past it are
 * dropped and come back only as timeouts (measured: 11,536 of 65,535 ports
 * "filtered" with 19,984 in flight), so no more than this are in flight. */
static size_t backlog_limit(void)
{
	unsigned long v = 1000; /* the default */
	FILE *f = fopen("/proc/sys/net/core/netdev_max_backlog", "r");
	if (f) {
		if (fscanf(f, "%lu", &v) != 1 || v == 0)
			v = 1000;
		fclose(f);
	}
	return v;
}

/* The open-file limit, raised to the hard limit: each connection in flight
 * is an fd. Returns how many connections may be in flight. */
static size_t in_flight_from_limit(rlim_t *limit_out)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 0;
	if (rl.rlim_cur < rl.rlim_max) {
		struct rlimit up = { rl.rlim_max, rl.rlim_max };
		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			rl.rlim_cur = rl.rlim_max;
	}
	*limit_out = rl.rlim_cur;
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 65535 + RESERVED_FDS)
		return 65535;
	return rl.rlim_cur > RESERVED_FDS ? (size_t)(rl.rlim_cur - RESERVED_FDS) : 0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int run_scan(struct scan_run *run, struct sk_scan_opts *so, const struct sk_addr *host,
                    const unsigned char *set, int n_ports)
{
	rlim_t limit = 0;
	size_t room = in_flight_from_limit(&limit);
	if (room == 0) {
		report("scan", "the open-file limit (%llu) leaves no fd for a connection (ulimit -n)",
		       (unsigned long long)limit);
		return EXIT_LOCAL;
	}
	size_t backlog = backlog_limit();
	so->max_in_flight = room < (size_t)n_ports ? room : (size_t)n_ports;
	if (so->max_in_flight > backlog)
		so->max_in_flight = backlog;
	if (run->verbose)
		report("scan", "%zu connection%s in flight at most (open-file limit %llu, "
		       "netdev_max_backlog %zu)", so->max_in_flight, so->max_in_flight == 1 ? "" : "s",
		       (unsigned long long)limit, backlog);
	int err = sk_loop_new(&run->loop);
	if (err < 0)
		return report_err("scan", err);
	so->on_result = on_result;
	so->on_done = on_done;
	so->ud = run;
	err = sk_scan_new(run->loop, so, host, set, &run->scan);
	if (err < 0) {
		sk_loop_free(run->loop);
		return report_err("scan", err);
	}
	sk_loop_add_signal(run->loop, SIGINT, on_interrupt, run);
	double t0 = now_s();
	sk_scan_start(run->scan);
	err = sk_loop_run(run->loop);
	double secs = now_s() - t0;
	size_t peak = sk_scan_peak_in_flight(run->scan);
	sk_scan_free(run->scan);
	sk_loop_free(run->loop);
	if (err < 0)
		return report_err("scan", err);
	print_results(run);
	if (run->verbose)
		report("scan", "%d ports in %.2f s (%zu in flight at the peak): %zu open, %zu closed, "
		       "%zu filtered", n_ports, secs, peak, run->counts[SK_SCAN_OPEN],
		       run->counts[SK_SCAN_CLOSED], run->counts[SK_SCAN_FILTERED]);
	return run->counts[SK_SCAN_OPEN] ? EXIT_OK : EXIT_FAIL;
}

struct scan_args {
	struct sk_scan_opts so;
	unsigned long rate; /* --rate, moved into so once checked */
	int family;
	bool json, verbose;
};

static const struct opt scan_opts[] = {
	OPT_SECONDS_('W', "timeout", struct scan_args, so.timeout_ms,
	             "a port silent this long is filtered (default 1; 0 is refused)"),
	OPT_COUNT_(0, "rate", "N", 10000000, struct scan_args, rate,
	           "start at most N connections a second (default: no limit; 0 is refused)"),
	OPT_FLAG_('j', "json", struct scan_args, json,
	          "one JSON object per port: port, state, reason, time_ms"),
	OPT_FAMILY_('4', struct scan_args, family, AF_INET, "resolve HOST to IPv4 only"),
	OPT_FAMILY_('6', struct scan_args, family, AF_INET6, "resolve HOST to IPv6 only"),
	OPT_FLAG_('v', "verbose", struct scan_args, verbose,
	          "every port, not only the open ones; and on stderr the number in flight and the "
	          "totals"),
	OPT_END_,
};

static const struct opt_cmd scan_cmd = { "scan", "scan", scan_opts, NULL };

const struct help_part scan_help[] = {
	{ "usage: sockit scan [options] HOST PORTS\n"
	  "\n"
	  "Connects to each of PORTS on HOST (IPv4 or IPv6) and says which are open\n"
	  "(connected), closed (refused) or filtered (timed out, unreachable). PORTS is a\n"
	  "list such as 22,80,8000-8100, or - for every port 1-65535. Prints the open ports\n"
	  "in order; needs no privileges (nmap -sT's method).\n"
	  "\n"
	  "As many connections are in flight as the open-file limit allows (raised to the\n"
	  "hard limit first), at most net.core.netdev_max_backlog (past it the kernel\n"
	  "drops loopback SYNs). A loopback connection that meets itself (simultaneous\n"
	  "open of an ephemeral port) is closed, not open.\n"
	  "\n", &scan_cmd },
	{ "\n"
	  "exit status: 0 some port is open, 1 none is (or stdout failed), 2 usage,\n"
	  "3 unknown host, 7 the open-file limit leaves no room\n", NULL },
	{ 0 },
};

int cmd_scan(int argc, char **argv)
{
	struct scan_args a = { .family = AF_UNSPEC };
	sk_scan_opts_init(&a.so);
	struct parse ps;
	int st = parse_options(&ps, &scan_cmd, argc, argv, &a);
	if (st)
		return st == PARSE_HELP ? EXIT_OK : st;
	const char *typed;
	if ((typed = opt_seen(&ps, "timeout")) && a.so.timeout_ms == 0)
		return usage_error("scan", "%s 0: the timeout must be above 0", typed);
	if ((typed = opt_seen(&ps, "rate"))) {
		if (a.rate == 0)
			return usage_error("scan", "%s 0: at least 1 a second", typed);
		a.so.rate = (unsigned)a.rate;
	}
	if (ps.n_operands != 2)
		return usage_error("scan", "expected HOST and PORTS, got %d argument%s", ps.n_operands,
		                   ps.n_operands == 1 ? "" : "s");
	const char *ports = ps.operands[1];
	unsigned char set[SK_SCAN_PORTSET_BYTES];
	struct sk_slice bad = { NULL, 0 };
	int n_ports = sk_scan_parse_ports(ports, strlen(ports), set, &bad);
	if (n_ports < 0) {
		char why[256], q[QUOTE_MAX];
		describe_parse_error(n_ports, ports, strlen(ports), bad, why, sizeof why);
		return usage_error("scan", "ports %s: %s", quote(ports, strlen(ports), q), why);
	}
	struct sk_addr host;
	size_t n;
	if ((st = resolve_or_report("scan", ps.operands[0], "0", a.family, SOCK_STREAM, false, &host,
	                            1, &n)))
		return st;
	struct scan_run run = { .json = a.json, .verbose = a.verbose };
	struct sk_ip ip;
	sk_addr_to_ip(&host, &ip, NULL);
	sk_ip_format(&ip, SK_IP_CANONICAL, run.host);
	run.results = calloc(65536, sizeof *run.results);
	if (!run.results)
		return report_err("scan", SK_ENOMEM);
	st = run_scan(&run, &a.so, &host, set, n_ports);
	free(run.results);
	return st;
}
