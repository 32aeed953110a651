/* `sockit http serve`: the HTTP/1.1 file server, with the defaults of
 * `python3 -m http.server` (this directory, port 8000, every interface). */
#include "cli.h"
#include "http_client_cli.h"
#include "logq.h"

#include <fcntl.h>

#include <errno.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sockit/http_server.h>

const char http_usage[] =
	"usage: sockit http serve [options] [DIR]\n"
	"       sockit http get|head|put|post|delete [options] URL... (see --help of each)\n"
	"\n"
	"Serves DIR (default: the current directory) over HTTP/1.1: files (ranges,\n"
	"conditional requests, sendfile), directory listings as HTML or JSON\n"
	"(?format=json), index.html. Prints every URL it can be reached at.\n"
	"\n"
	"  -p, --port PORT       port (default 8000; 0 picks a free one)\n"
	"  -b, --bind ADDR       address to listen on (default: all, IPv4 and IPv6)\n"
	"      --upload          accept PUT and the listing's upload form (POST)\n"
	"      --allow-delete    accept DELETE (and show delete buttons)\n"
	"      --hidden          serve and list names starting with '.'\n"
	"      --max-body SIZE   largest upload, e.g. 10M, 2G (default 100M)\n"
	"      --max-conns N     at most N connections (default 1024; more get a 503)\n"
	"      --max-per-client N  at most N connections from one address (default 256)\n"
	"      --max-parts N     parts in one upload form, fields included (default 1000)\n"
	"      --header-timeout SECS  a request head must arrive within SECS (default 10)\n"
	"      --idle-timeout SECS    keep-alive connections wait SECS for a request (default 15)\n"
	"      --body-timeout SECS    an upload may pause SECS between reads (default 30)\n"
	"      --send-timeout SECS    a client may take SECS to read more of a response\n"
	"                             (default 30)\n"
	"      --stop-timeout SECS    on Ctrl-C, wait SECS for responses in flight (default 10)\n"
	"      --access-log FILE  write the access log (Common Log Format) to FILE\n"
	"  -q, --quiet           no access log\n"
	"  -v, --verbose         the listening address on stderr\n"
	"      --trace           print each socket call on stderr\n"
	"\n"
	"Counts and timeouts of 0 mean no limit. Ctrl-C (SIGINT) or SIGTERM stops it\n"
	"gracefully: responses in flight finish, for at most --stop-timeout; a second\n"
	"signal stops it at once.\n"
	"\n"
	"exit status: 0 after a stop, 1 access log lines lost (a full disk), 2 usage,\n"
	"4 address in use, 7 DIR not found\n";

struct http_run {
	struct sk_http_server *server;
	/* Neither log ever blocks the server (logq.c): stderr carries the
	 * error lines, and the access log unless --access-log names a file. */
	struct logq err_log, file_log;
	struct logq *access;           /* NULL with -q */
	bool stopping;
	unsigned stop_ms;          /* --stop-timeout */
	uint64_t stop_deadline_ms;
	struct sk_timer stop_timer;
};

static void on_access(void *ud, const char *line)
{
	struct http_run *run = ud;
	logq_line(run->access, line);
}

static void on_error_line(void *ud, const char *line)
{
	struct http_run *run = ud;
	char text[1024];
	snprintf(text, sizeof text, "sockit: http serve: %s", line);
	logq_line(&run->err_log, text);
}

/* At exit, how long the logs may take to write what they still hold. */
#define LOG_DRAIN_MS 1000

/* How often a graceful stop looks whether the last connection is done. */
#define STOP_CHECK_MS 100

/* During a graceful stop: done when the last connection is, and at the
 * deadline whatever is left is closed. */
static void on_stop_check(struct sk_loop *loop, struct sk_timer *t, void *ud)
{
	struct http_run *run = ud;
	size_t n = sk_http_server_n_conns(run->server);
	if (n == 0) {
		sk_loop_stop(loop); /* explicitly: a log's watcher may still be waiting */
		return;
	}
	if (run->stop_ms && sk_loop_now(loop) >= run->stop_deadline_ms) {
		report("http serve", "--stop-timeout (%g s) reached: closing %zu connection%s", run->stop_ms / 1000.0,
		       n, n == 1 ? "" : "s");
		sk_loop_stop(loop);
		return;
	}
	sk_loop_timer_start(loop, t, STOP_CHECK_MS);
}

static void on_stop(struct sk_loop *loop, int signo, void *ud)
{
	(void)signo;
	struct http_run *run = ud;
	if (run->stopping) {
		report("http serve", "second signal: stopping now");
		sk_loop_stop(loop);
		return;
	}
	run->stopping = true;
	/* In-flight responses finish; then the loop runs out of work. */
	sk_http_server_stop(run->server);
	sk_timer_init(&run->stop_timer, on_stop_check, run);
	size_t n = sk_http_server_n_conns(run->server);
	if (n == 0) {
		sk_loop_stop(loop);
		return;
	}
	if (run->stop_ms) {
		report("http serve", "stopping: waiting up to %g s for %zu connection%s to finish "
		       "(signal again to stop now)", run->stop_ms / 1000.0, n, n == 1 ? "" : "s");
		run->stop_deadline_ms = sk_loop_now(loop) + run->stop_ms;
	} else {
		report("http serve", "stopping: waiting for %zu connection%s to finish (signal again to "
		       "stop now)", n, n == 1 ? "" : "s");
	}
	sk_loop_timer_start(loop, &run->stop_timer, STOP_CHECK_MS);
}

/* "100", "10K", "2M", "1G" (binary units) → bytes. */
static int parse_size(const char *text, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (end == text || errno || text[0] == '-')
		return -1;
	unsigned shift = 0;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default: return -1;
	}
	if (*end == 'i' || *end == 'B')
		end += *end == 'i' && end[1] == 'B' ? 2 : 1;
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

/* Every http:// URL the server answers at: the bound address, or for a
 * wildcard every address of every interface that is up. */
static void print_urls(int fd, const char *bind_addr)
{
	struct sk_addr local;
	struct sk_ip ip;
	unsigned port;
	sk_sock_local_addr(fd, &local);
	sk_addr_to_ip(&local, &ip, &port);
	bool wildcard = (ip.hi | ip.lo) == 0;
	char text[SK_ADDR_STRLEN];
	if (!wildcard || bind_addr) {
		sk_addr_format(&local, text);
		fprintf(stderr, "serving on http://%s/\n", text);
		return;
	}
	struct ifaddrs *list;
	if (getifaddrs(&list) < 0)
		return;
	for (struct ifaddrs *ifa = list; ifa; ifa = ifa->ifa_next) {
		if (!ifa->ifa_addr || !(ifa->ifa_flags & IFF_UP))
			continue;
		int fam = ifa->ifa_addr->sa_family;
		/* A dual-stack socket serves both families; an IPv4 one only IPv4. */
		if (fam != AF_INET && !(fam == AF_INET6 && local.u.sa.sa_family == AF_INET6))
			continue;
		struct sk_addr a;
		memset(&a, 0, sizeof a);
		memcpy(&a.u.storage, ifa->ifa_addr, fam == AF_INET ? sizeof a.u.in4 : sizeof a.u.in6);
		a.len = fam == AF_INET ? sizeof a.u.in4 : sizeof a.u.in6;
		if (fam == AF_INET)
			a.u.in4.sin_port = htons((uint16_t)port);
		else
			a.u.in6.sin6_port = htons((uint16_t)port);
		sk_addr_format(&a, text);
		fprintf(stderr, "serving on http://%s/\n", text);
	}
	freeifaddrs(list);
}

enum { OPT_UPLOAD = 1000, OPT_DELETE, OPT_HIDDEN, OPT_MAX_BODY, OPT_MAX_CONNS, OPT_HEADER_TIMEOUT,
       OPT_IDLE_TIMEOUT, OPT_ACCESS_LOG, OPT_TRACE, OPT_MAX_PER_CLIENT, OPT_MAX_PARTS,
       OPT_BODY_TIMEOUT, OPT_SEND_TIMEOUT, OPT_STOP_TIMEOUT };

static const struct option serve_options[] = {
	{ "port", required_argument, NULL, 'p' },
	{ "bind", required_argument, NULL, 'b' },
	{ "upload", no_argument, NULL, OPT_UPLOAD },
	{ "allow-delete", no_argument, NULL, OPT_DELETE },
	{ "hidden", no_argument, NULL, OPT_HIDDEN },
	{ "max-body", required_argument, NULL, OPT_MAX_BODY },
	{ "max-conns", required_argument, NULL, OPT_MAX_CONNS },
	{ "max-per-client", required_argument, NULL, OPT_MAX_PER_CLIENT },
	{ "max-parts", required_argument, NULL, OPT_MAX_PARTS },
	{ "body-timeout", required_argument, NULL, OPT_BODY_TIMEOUT },
	{ "send-timeout", required_argument, NULL, OPT_SEND_TIMEOUT },
	{ "stop-timeout", required_argument, NULL, OPT_STOP_TIMEOUT },
	{ "header-timeout", required_argument, NULL, OPT_HEADER_TIMEOUT },
	{ "idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT },
	{ "access-log", required_argument, NULL, OPT_ACCESS_LOG },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "trace", no_argument, NULL, OPT_TRACE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int cmd_http_serve(int argc, char **argv)
{
	struct sk_http_server_opts o;
	sk_http_server_opts_init(&o);
	const char *port = "8000", *bind_addr = NULL, *log_path = NULL;
	bool quiet = false;
	unsigned stop_ms = 10000;
	int ch, st;
	unsigned long n;
	char q[QUOTE_MAX];
	while ((ch = next_option("http serve", argc, argv, "p:b:qvh", serve_options)) != -1) {
		switch (ch) {
		case 'p': port = optarg; break;
		case 'b': bind_addr = optarg; break;
		case OPT_UPLOAD: o.upload = true; break;
		case OPT_DELETE: o.allow_delete = true; break;
		case OPT_HIDDEN: o.hidden = true; break;
		case OPT_MAX_BODY:
			if (parse_size(optarg, &o.max_body) < 0)
				return usage_error("http serve", "--max-body %s: expected a size such as 10M or 2G",
				                   quote(optarg, strlen(optarg), q));
			break;
		case OPT_MAX_CONNS:
			if ((st = parse_count("http serve", "--max-conns", optarg, 1000000, &n)))
				return st;
			o.max_conns = n;
			break;
		case OPT_MAX_PER_CLIENT:
			if ((st = parse_count("http serve", "--max-per-client", optarg, 1000000, &n)))
				return st;
			o.max_per_client = n;
			break;
		case OPT_MAX_PARTS:
			if ((st = parse_count("http serve", "--max-parts", optarg, 1000000, &n)))
				return st;
			o.max_parts = (unsigned)n;
			break;
		case OPT_BODY_TIMEOUT:
			if ((st = parse_seconds("http serve", "--body-timeout", optarg, &o.body_timeout_ms)))
				return st;
			break;
		case OPT_SEND_TIMEOUT:
			if ((st = parse_seconds("http serve", "--send-timeout", optarg, &o.send_timeout_ms)))
				return st;
			break;
		case OPT_STOP_TIMEOUT:
			if ((st = parse_seconds("http serve", "--stop-timeout", optarg, &stop_ms)))
				return st;
			break;
		case OPT_HEADER_TIMEOUT:
			if ((st = parse_seconds("http serve", "--header-timeout", optarg, &o.header_timeout_ms)))
				return st;
			break;
		case OPT_IDLE_TIMEOUT:
			if ((st = parse_seconds("http serve", "--idle-timeout", optarg, &o.idle_ms)))
				return st;
			break;
		case OPT_ACCESS_LOG: log_path = optarg; break;
		case 'q': quiet = true; break;
		case 'v': break; /* the URLs are always printed */
		case OPT_TRACE: o.tracer = &stderr_tracer; break;
		case 'h': return print_usage(find_command("http"));
		default: return EXIT_USAGE;
		}
	}
	if (argc - optind > 1)
		return usage_error("http serve", "expected at most one directory, got %d", argc - optind);
	o.root = argc - optind == 1 ? argv[optind] : ".";

	struct http_run run = { .stop_ms = stop_ms };
	logq_init(&run.err_log, "http serve", "access log", "stderr");
	logq_init(&run.file_log, "http serve", "access log", log_path);
	int log_fd = -1;
	if (log_path && !quiet) {
		log_fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (log_fd < 0) {
			snprintf(q, sizeof q, "http serve: %s", log_path);
			return report_err(q, -errno);
		}
	}
	struct sk_addr addrs[8];
	size_t n_addrs;
	if ((st = resolve_or_report("http serve", bind_addr, port, AF_UNSPEC, SOCK_STREAM, true, addrs,
	                            8, &n_addrs)))
		return st;
	size_t pick = pick_listen_addr(addrs, n_addrs, bind_addr, AF_UNSPEC);
	struct sk_sock_opts so;
	sk_sock_opts_init(&so);
	so.backlog = 1024; /* bursts of browser connections */
	so.tracer = o.tracer;
	int fd = sk_tcp_listen(&addrs[pick], &so);
	if (fd == -EAFNOSUPPORT && pick != 0)
		fd = sk_tcp_listen(&addrs[pick = 0], &so);
	if (fd < 0) {
		char text[SK_ADDR_STRLEN], ctx[SK_ADDR_STRLEN + 32];
		sk_addr_format(&addrs[pick], text);
		snprintf(ctx, sizeof ctx, "http serve: %s", text);
		if (log_fd >= 0)
			close(log_fd);
		return report_err(ctx, fd);
	}

	struct sk_loop *loop;
	int err = sk_loop_new(&loop);
	if (err < 0) {
		close(fd);
		if (log_fd >= 0)
			close(log_fd);
		return report_err("http serve", err);
	}
	loop_prefer_io_uring(loop);
	err = logq_open(&run.err_log, loop, STDERR_FILENO);
	if (err == 0 && log_fd >= 0)
		err = logq_open(&run.file_log, loop, log_fd);
	if (log_fd >= 0)
		close(log_fd);
	if (err < 0) {
		close(fd);
		sk_loop_free(loop);
		return report_err("http serve: access log", err);
	}
	run.access = quiet ? NULL : log_fd >= 0 ? &run.file_log : &run.err_log;
	/* -q: no access log at all, not lines formatted and thrown away. */
	o.on_access = run.access ? on_access : NULL;
	o.on_error = on_error_line;
	o.ud = &run;
	err = sk_http_server_new(loop, fd, &o, &run.server);
	if (err < 0) {
		sk_loop_free(loop);
		snprintf(q, sizeof q, "http serve: %s", o.root);
		return report_err(q, err);
	}
	sk_loop_add_signal(loop, SIGINT, on_stop, &run);
	sk_loop_add_signal(loop, SIGTERM, on_stop, &run);
	print_urls(fd, bind_addr);
	err = sk_loop_run(loop);
	sk_http_server_free(run.server);
	/* What the logs still hold gets a moment, not forever. */
	int lost = logq_close(&run.file_log, LOG_DRAIN_MS);
	lost |= logq_close(&run.err_log, LOG_DRAIN_MS);
	sk_loop_free(loop);
	if (err < 0)
		return report_err("http serve", err);
	return lost ? EXIT_FAIL : EXIT_OK;
}

int cmd_http(int argc, char **argv)
{
	if (argc < 2)
		return usage_error("http", "expected serve, get, head, put, post or delete");
	if (is_help(argv[1]))
		return print_usage(find_command("http"));
	if (strcmp(argv[1], "serve") == 0)
		return cmd_http_serve(argc - 1, argv + 1);
	if (hc_is_verb(argv[1]))
		return cmd_http_client(argc - 1, argv + 1);
	char q[QUOTE_MAX];
	return usage_error("http", "%s: expected serve, get, head, put, post or delete",
	                   quote(argv[1], strlen(argv[1]), q));
}
