/* `sockit http serve`: the HTTP/1.1 file server, with the defaults of
 * `python3 -m http.server` (this directory, port 8000, every interface). */
#include "cli.h"
#include "http_client_cli.h"
#include "logq.h"
#include "tlscli.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sockit/http_server.h>

struct http_run {
	struct sk_http_server *server;
	/* Neither log ever blocks the server (logq.c): stderr carries the
	 * error lines, and the access log unless --access-log names a file. */
	struct logq err_log, file_log;
	struct logq *access;           /* NULL with -q */
	bool stopping;
	unsigned stop_ms;          /* --stop-timeout */
	uint64_t stop_started_ms, stop_deadline_ms;
	bool said_waiting;
	struct sk_timer stop_timer;
};

static void on_access(void *ud, const char *line)
{
	struct http_run *run = ud;
	logq_line(run->access, line);
}

/* -v's handshake lines, whole: through the error log, never blocking. */
static void on_tls_line(void *ud, const char *line)
{
	struct http_run *run = ud;
	logq_line(&run->err_log, line);
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

/* How often a graceful stop looks whether the last connection is done, and
 * how long it stays quiet about what it waits for (most responses in
 * flight end well within it). */
#define STOP_CHECK_MS 100
#define STOP_QUIET_MS 500

/* During a graceful stop: done when the last connection is, and at the
 * deadline whatever is left is closed. */
static void say_waiting(struct http_run *run, size_t n)
{
	run->said_waiting = true;
	if (run->stop_ms)
		report("http serve", "stopping: waiting up to %g s for %zu connection%s to finish "
		       "(signal again to stop now)", run->stop_ms / 1000.0, n, n == 1 ? "" : "s");
	else
		report("http serve", "stopping: waiting for %zu connection%s to finish (signal again to "
		       "stop now)", n, n == 1 ? "" : "s");
}

static void on_stop_check(struct sk_loop *loop, struct sk_timer *t, void *ud)
{
	struct http_run *run = ud;
	size_t n = sk_http_server_n_conns(run->server);
	uint64_t now = sk_loop_now(loop);
	if (n == 0) {
		sk_loop_stop(loop); /* explicitly: a log's watcher may still be waiting */
		return;
	}
	if (run->stop_ms && now >= run->stop_deadline_ms) {
		report("http serve", "--stop-timeout (%g s) reached: closing %zu connection%s",
		       run->stop_ms / 1000.0, n, n == 1 ? "" : "s");
		sk_loop_stop(loop);
		return;
	}
	if (!run->said_waiting && now - run->stop_started_ms >= STOP_QUIET_MS)
		say_waiting(run, n);
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
	if (sk_http_server_n_conns(run->server) == 0) {
		sk_loop_stop(loop);
		return;
	}
	run->stop_started_ms = sk_loop_now(loop);
	run->stop_deadline_ms = run->stop_started_ms + run->stop_ms;
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

/* "serving on http://ADDR:PORT/" (https:// over TLS): a zone is written
 * %25eth0 (RFC 6874), the form a URL needs. */
static void print_url(const struct sk_addr *addr, const char *scheme)
{
	char text[SK_ADDR_STRLEN], url[SK_ADDR_STRLEN + 8];
	sk_addr_format(addr, text);
	size_t n = 0;
	for (const char *p = text; *p && n + 3 < sizeof url; p++) {
		url[n++] = *p;
		if (*p == '%') {
			url[n++] = '2';
			url[n++] = '5';
		}
	}
	url[n] = '\0';
	fprintf(stderr, "serving on %s://%s/\n", scheme, url);
}

/* Every URL the server answers at: the bound address, or for a wildcard
 * every address of every interface that is up, except IPv6 link-local
 * ones: they need a zone, which browsers do not take in a URL (and the
 * interface's other addresses reach the same server). */
static void print_urls(int fd, const char *bind_addr, bool v6_only, const char *scheme)
{
	struct sk_addr local;
	struct sk_ip ip;
	unsigned port;
	sk_sock_local_addr(fd, &local);
	sk_addr_to_ip(&local, &ip, &port);
	bool wildcard = (ip.hi | ip.lo) == 0;
	if (!wildcard || bind_addr) {
		print_url(&local, scheme);
		return;
	}
	struct ifaddrs *list;
	if (getifaddrs(&list) < 0)
		return;
	for (struct ifaddrs *ifa = list; ifa; ifa = ifa->ifa_next) {
		if (!ifa->ifa_addr || !(ifa->ifa_flags & IFF_UP))
			continue;
		int fam = ifa->ifa_addr->sa_family;
		/* A dual-stack socket serves both families; an IPv4 one or an
		 * IPv6-only one (-6) only its own. */
		bool v6 = local.u.sa.sa_family == AF_INET6;
		if (fam == AF_INET ? v6 && v6_only : !(fam == AF_INET6 && v6))
			continue;
		struct sk_addr a;
		memset(&a, 0, sizeof a);
		memcpy(&a.u.storage, ifa->ifa_addr, fam == AF_INET ? sizeof a.u.in4 : sizeof a.u.in6);
		a.len = fam == AF_INET ? sizeof a.u.in4 : sizeof a.u.in6;
		if (fam == AF_INET6 && a.u.in6.sin6_scope_id)
			continue;
		if (fam == AF_INET)
			a.u.in4.sin_port = htons((uint16_t)port);
		else
			a.u.in6.sin6_port = htons((uint16_t)port);
		print_url(&a, scheme);
	}
	freeifaddrs(list);
}

/* Options as given; run_serve turns them into the server's. */
struct serve_args {
	struct sk_http_server_opts o;
	int family;
	const char *port, *bind_addr, *log_path, *directory;
	bool quiet, verbose, trace;
	unsigned stop_ms;
	unsigned long max_conns, max_per_client, max_parts;
	struct tlscli tls;
};

static int set_max_body(struct parse *ps, const char *arg)
{
	struct serve_args *a = ps->base;
	if (parse_size(arg, &a->o.max_body) == 0)
		return 0;
	char q[QUOTE_MAX];
	return usage_error("http serve", "%s %s: expected a size such as 10M or 2G", ps->typed,
	                   quote(arg, strlen(arg), q));
}

#define SERVE_OFF(field, t) OPT_OFF(struct serve_args, field, t)

static const struct opt serve_opts[] = {
	OPT_STRING_('p', "port", "PORT", struct serve_args, port,
	            "port (default 8000; 0 picks a free one)"),
	OPT_STRING_('b', "bind", "ADDR", struct serve_args, bind_addr,
	            "address to listen on (default: all, IPv4 and IPv6)"),
	OPT_FAMILY_('4', struct serve_args, family, AF_INET, "IPv4 only"),
	OPT_FAMILY_('6', struct serve_args, family, AF_INET6,
	            "IPv6 only (IPV6_V6ONLY: IPv4 clients are refused)"),
	OPT_STRING_(0, "directory", "DIR", struct serve_args, directory,
	            "the directory to serve, as DIR (python's http.server spelling)"),
	OPT_FLAG_(0, "upload", struct serve_args, o.upload,
	          "accept PUT and the listing's upload form (POST)"),
	OPT_FLAG_(0, "allow-delete", struct serve_args, o.allow_delete,
	          "accept DELETE (and show delete buttons)"),
	OPT_FLAG_(0, "hidden", struct serve_args, o.hidden, "serve and list names starting with '.'"),
	OPT_CALL_(0, "max-body", "SIZE", set_max_body, 0,
	          "largest upload, e.g. 10M, 2G (default 100M; 0: empty bodies only)"),
	OPT_COUNT_(0, "max-conns", "N", 1000000, struct serve_args, max_conns,
	           "at most N connections (default 1024; more get a 503; 0: no limit)"),
	OPT_COUNT_(0, "max-per-client", "N", 1000000, struct serve_args, max_per_client,
	           "at most N connections from one address (default 256; 0: no limit)"),
	OPT_COUNT_(0, "max-parts", "N", 1000000, struct serve_args, max_parts,
	           "parts in one upload form, fields included (default 1000; 0: no limit)"),
	OPT_SECONDS_(0, "header-timeout", struct serve_args, o.header_timeout_ms,
	             "a request head must arrive within SECS (default 10; 0: no limit)"),
	OPT_SECONDS_(0, "idle-timeout", struct serve_args, o.idle_ms,
	             "keep-alive connections wait SECS for a request (default 15; 0: no limit)"),
	OPT_SECONDS_(0, "body-timeout", struct serve_args, o.body_timeout_ms,
	             "an upload may pause SECS between reads (default 30; 0: no limit)"),
	OPT_SECONDS_(0, "send-timeout", struct serve_args, o.send_timeout_ms,
	             "a client may take SECS to read more of a response (default 30; 0: no limit)"),
	OPT_SECONDS_(0, "stop-timeout", struct serve_args, stop_ms,
	             "on Ctrl-C, wait SECS for responses in flight (default 10; 0: no limit)"),
	OPT_STRING_(0, "access-log", "FILE", struct serve_args, log_path,
	            "write the access log (Common Log Format) to FILE"),
	OPT_FLAG_('q', "quiet", struct serve_args, quiet, "no access log"),
	OPT_FLAG_('v', "verbose", struct serve_args, verbose,
	          "with --tls, each handshake (version, cipher, ALPN, resumption, a client's "
	          "certificate) and each failed one, on stderr"),
	OPT_FLAG_(0, "trace", struct serve_args, trace, "print each socket call on stderr"),
	TLSCLI_HTTP_SERVER_ROWS(struct serve_args, tls,
	                        "serve HTTPS (TLS 1.2 and 1.3, ALPN http/1.1); without --cert, a "
	                        "P-256 certificate is made for the run and its fingerprint and "
	                        "--pin printed"),
	OPT_END_,
};

static const struct opt_hint serve_hints[] = {
	{ "-d", "python's -d DIR is --directory DIR (or DIR alone)" },
	{ NULL, NULL },
};

static const struct opt_cmd serve_cmd = { "http serve", "http", serve_opts, serve_hints };

/* python3 -m http.server takes its port as the argument: `http serve 8000`
 * is almost always that habit, unless a directory of that name exists. */
static bool looks_like_a_port(const char *arg)
{
	unsigned port;
	struct stat st;
	return sk_port_parse(arg, strlen(arg), &port) == 0 && stat(arg, &st) < 0;
}

static int run_serve(struct serve_args *a);

static int cmd_http_serve(int argc, char **argv)
{
	struct serve_args a = { .port = "8000", .stop_ms = 10000 };
	sk_http_server_opts_init(&a.o);
	tlscli_init(&a.tls, "http serve", true);
	struct parse ps;
	int st = parse_options(&ps, &serve_cmd, argc, argv, &a);
	if (st)
		return st == PARSE_HELP ? EXIT_OK : st;
	if (ps.n_operands > 1)
		return usage_error("http serve", "expected at most one directory, got %d",
		                   ps.n_operands);
	char q[QUOTE_MAX];
	if (ps.n_operands == 1 && a.directory)
		return usage_error("http serve", "%s and %s: two directories; give one",
		                   opt_seen(&ps, "directory"), quote(ps.operands[0],
		                   strlen(ps.operands[0]), q));
	if (ps.n_operands == 1 && looks_like_a_port(ps.operands[0]))
		return usage_error("http serve", "%s is not a directory; did you mean '-p %s'?",
		                   quote(ps.operands[0], strlen(ps.operands[0]), q), ps.operands[0]);
	if (a.quiet && a.log_path)
		return usage_error("http serve", "%s and %s: choose one (-q writes no access log)",
		                   opt_seen(&ps, "quiet"), opt_seen(&ps, "access-log"));
	a.o.root = ps.n_operands == 1 ? ps.operands[0] : a.directory ? a.directory : ".";
	if (opt_seen(&ps, "max-conns"))
		a.o.max_conns = a.max_conns;
	if (opt_seen(&ps, "max-per-client"))
		a.o.max_per_client = a.max_per_client;
	if (opt_seen(&ps, "max-parts"))
		a.o.max_parts = (unsigned)a.max_parts;
	a.o.tracer = a.trace ? &stderr_tracer : NULL;
	tlscli_for_http(&a.tls, a.verbose);
	if ((st = tlscli_setup(&a.tls, NULL)))
		return st;
	a.o.tls = tlscli_conn_opts(&a.tls);
	st = run_serve(&a);
	tlscli_fini(&a.tls);
	return st;
}

static int run_serve(struct serve_args *a)
{
	struct sk_http_server_opts o = a->o;
	const char *port = a->port, *bind_addr = a->bind_addr, *log_path = a->log_path;
	bool quiet = a->quiet;
	unsigned stop_ms = a->stop_ms;
	int st;
	char q[QUOTE_MAX];

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
	if ((st = resolve_or_report("http serve", bind_addr, port, a->family, SOCK_STREAM, true, addrs,
	                            8, &n_addrs)))
		return st;
	size_t pick = pick_listen_addr(addrs, n_addrs, bind_addr, a->family);
	struct sk_sock_opts so;
	sk_sock_opts_init(&so);
	so.backlog = 1024; /* bursts of browser connections */
	so.tracer = o.tracer;
	so.v6_only = a->family == AF_INET6;
	int fd = sk_tcp_listen(&addrs[pick], &so);
	if (fd == -EAFNOSUPPORT && pick != 0)
		fd = sk_tcp_listen(&addrs[pick = 0], &so);
	if (fd < 0) {
		if (log_fd >= 0)
			close(log_fd);
		return report_bind_err("http serve", &addrs[pick], fd);
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
		logq_close(&run.err_log, 0);
		sk_loop_free(loop);
		return report_err("http serve: access log", err);
	}
	run.access = quiet ? NULL : log_fd >= 0 ? &run.file_log : &run.err_log;
	/* -q: no access log at all, not lines formatted and thrown away. */
	o.on_access = run.access ? on_access : NULL;
	o.on_error = on_error_line;
	o.ud = &run;
	a->tls.log_line = on_tls_line;
	a->tls.log_ud = &run;
	err = sk_http_server_new(loop, fd, &o, &run.server);
	if (err < 0) {
		logq_close(&run.file_log, 0);
		logq_close(&run.err_log, 0);
		sk_loop_free(loop);
		snprintf(q, sizeof q, "http serve: %s", o.root);
		return report_err(q, err);
	}
	sk_loop_add_signal(loop, SIGINT, on_stop, &run);
	sk_loop_add_signal(loop, SIGTERM, on_stop, &run);
	print_urls(fd, bind_addr, a->family == AF_INET6, o.tls ? "https" : "http");
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

const struct help_part http_help[] = {
	{ "usage: sockit http serve [options] [DIR]\n"
	  "       sockit http get|head [options] URL...\n"
	  "       sockit http put [options] URL FILE\n"
	  "       sockit http post|delete [options] URL\n"
	  "\n"
	  "http serve serves DIR (default: the current directory) over HTTP/1.1, or\n"
	  "HTTPS with --tls: files (ranges, conditional requests; small ones cached,\n"
	  "from 64 KiB on sent by sendfile, over TLS in 64 KiB pieces), directory\n"
	  "listings as HTML or JSON (?format=json), index.html.\n"
	  "Prints every URL it can be reached at (the defaults are python3 -m\n"
	  "http.server's: this directory, port 8000, every address).\n"
	  "\n", &serve_cmd },
	{ "\n"
	  "Counts and timeouts of 0 mean no limit. Ctrl-C (SIGINT) or SIGTERM stops it\n"
	  "gracefully: responses in flight finish, for at most --stop-timeout; a second\n"
	  "signal stops it at once.\n"
	  "\n"
	  "--tls serves HTTPS: every connection speaks TLS 1.2 or 1.3 with ALPN\n"
	  "http/1.1, session tickets for resumption, file bodies encrypted by OpenSSL as\n"
	  "they are read (-v says whether the kernel offers kTLS; it is not used yet).\n"
	  "A failed handshake costs only its connection (-v says why); over a connection\n"
	  "limit a client is closed without a 503 (it would need a handshake).\n"
	  "\n"
	  "http get|head|put|post|delete is an HTTP/1.1 client. get writes the body to\n"
	  "stdout (or -o/-O); head prints the response head; put sends FILE ('-': stdin,\n"
	  "chunked); post sends -d, --json or -F. Several URLs are fetched in turn over\n"
	  "one kept-alive connection per origin. A body cut short is an error and never\n"
	  "leaves a file: -o writes a temporary file and renames it when the body is\n"
	  "complete (with -C -, FILE keeps what arrived).\n"
	  "\n", &hc_client_cmd },
	{ "\n"
	  "https:// is verified: the server's certificate must chain to the system's CAs\n"
	  "(or --cafile's) and name the URL's host; SNI and ALPN http/1.1 are sent.\n"
	  "http_proxy (for http://), https_proxy (for https://, through CONNECT) and\n"
	  "no_proxy are read; HTTP_PROXY never is (a CGI request can set it).\n"
	  "\n"
	  "exit status: 0 ok (serve: after a stop), 1 failure (serve: access log lines\n"
	  "lost), 2 usage, 3 name resolution, 4 network (serve: address in use; the\n"
	  "client: refused, reset, unreachable), 5 timeout, 6 a 4xx or 5xx status, a\n"
	  "malformed or cut-short response, too many redirects, or a refused TLS\n"
	  "certificate or handshake, 7 a local file (serve: DIR or a certificate file\n"
	  "not found, or a port below 1024 without root)\n", NULL },
	{ 0 },
};
