/* `sockit serve`: the course notes' whole system — their UDP and TCP
 * servers, and any other stream or datagram service — in one process on one
 * event loop. */
#include "cli.h"
#include "logq.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sockit/dgram.h>
#include <sockit/http_server.h>
#include <sockit/stream.h>

#define MAX_SERVICES 32

struct service {
	char proto[5];                 /* "tcp", "udp" or "http" */
	const char *spec;
	enum sk_stream_mode tcp_mode;
	enum sk_dgram_mode udp_mode;
	struct sk_stream_server *tcp;
	struct sk_dgram_server *udp;
	struct sk_http_server *http;
	struct sk_loop *loop;          /* print mode stops it when stdout fails */
	bool verbose;
	char ctx[SK_ADDR_STRLEN + 16]; /* "serve: udp 127.0.0.1:7852" */
};

struct serve_run {
	struct service svc[MAX_SERVICES];
	int n;
	bool verbose;
	bool stopping;
	struct logq log;               /* HTTP's lines on stderr, never blocking the loop */
	struct close_notes closes;     /* why TCP clients are closed, until they are */
	struct sk_timer stop_timer;    /* a stop waits STOP_TIMEOUT_MS for HTTP responses */
	uint64_t stop_started_ms, stop_deadline_ms;
	bool said_waiting;
	const char *root;
	bool trace;
	const struct sk_tracer *tracer;
};

/* "127.0.0.1:8998:reply", "[::1]:0:echo", ":8998:echo" (every address) →
 * host ("" for every address), port and mode texts; --http's have no mode. */
static int split_spec(const char *opt, const char *spec, bool has_mode, char *host, char *port,
                      char *mode)
{
	const char *host_start = spec, *host_end, *colon;
	if (spec[0] == '[') { /* the brackets say where an IPv6 address ends */
		host_start = spec + 1;
		host_end = strchr(spec, ']');
		colon = host_end ? host_end + 1 : NULL;
	} else {
		host_end = strchr(spec, ':');
		colon = host_end;
	}
	const char *port_start = colon && *colon == ':' ? colon + 1 : NULL;
	const char *port_end = !port_start ? NULL
	                       : has_mode ? strchr(port_start, ':')
	                                  : port_start + strlen(port_start);
	const char *mode_start = has_mode && port_end ? port_end + 1 : "";
	size_t host_len = port_end ? (size_t)(host_end - host_start) : 0;
	size_t port_len = port_end ? (size_t)(port_end - port_start) : 0;
	if (!port_end || port_len == 0 || memchr(port_start, ':', port_len) ||
	    (has_mode && (!*mode_start || strchr(mode_start, ':'))) || host_len >= 256 ||
	    port_len >= 32 || strlen(mode_start) >= 16) {
		char q[QUOTE_MAX];
		const char *form = has_mode ? "ADDR:PORT:MODE" : "ADDR:PORT";
		unsigned n;
		/* "8000" or "8998:echo": the address was left out. */
		size_t first = strcspn(spec, ":");
		if (first > 0 && first < 6 && sk_port_parse(spec, first, &n) == 0 &&
		    (has_mode ? spec[first] == ':' : !spec[first]) && strlen(spec) < 64)
			return usage_error("serve", "%s %s: expected %s, such as ':%s' (every address) "
			                   "or '127.0.0.1:%s'", opt, quote(spec, strlen(spec), q), form,
			                   spec, spec);
		return usage_error("serve", "%s %s: expected %s (an empty ADDR is every address; "
		                   "IPv6 in brackets: [::1]:%s)", opt, quote(spec, strlen(spec), q),
		                   form, has_mode ? "PORT:MODE" : "PORT");
	}
	memcpy(host, host_start, host_len);
	host[host_len] = '\0';
	memcpy(port, port_start, port_len);
	port[port_len] = '\0';
	strcpy(mode, mode_start);
	return 0;
}

static int add_service(struct serve_run *run, const char *proto, const char *spec)
{
	if (run->n == MAX_SERVICES)
		return usage_error("serve", "at most %d services", MAX_SERVICES);
	struct service *s = &run->svc[run->n];
	memset(s, 0, sizeof *s);
	strcpy(s->proto, proto);
	s->spec = spec;
	run->n++;
	return 0;
}

static void on_tcp_event(void *ud, enum sk_stream_event ev, const struct sk_addr *peer, int err)
{
	struct serve_run *run = ud;
	char text[SK_ADDR_STRLEN] = "", reason[128];
	if (peer)
		sk_addr_format(peer, text);
	if (ev == SK_STREAM_ACCEPT_FAILED)
		fprintf(stderr, "sockit: serve: tcp accept: %s (retrying)\n",
		        reason_of(err, reason, sizeof reason));
	else if (run->verbose && ev == SK_STREAM_ACCEPTED)
		fprintf(stderr, "sockit: serve: tcp connection from %s\n", text);
	else if (run->verbose && !close_note_event(&run->closes, ev, peer, err) &&
	         ev == SK_STREAM_CLOSED)
		fprintf(stderr, "sockit: serve: tcp %s %s\n", text,
		        close_reason(&run->closes, peer, err, false, reason, sizeof reason));
}

static void on_http_access(void *ud, const char *line)
{
	struct serve_run *run = ud;
	if (run->verbose)
		logq_line(&run->log, line);
}

static void on_http_error(void *ud, const char *line)
{
	struct serve_run *run = ud;
	char text[1024];
	snprintf(text, sizeof text, "sockit: serve: http: %s", line);
	logq_line(&run->log, text);
}

static void on_datagram(void *ud, const char *data, size_t len, const struct sk_addr *from,
                        bool truncated)
{
	struct service *s = ud;
	char text[SK_ADDR_STRLEN];
	if (s->udp_mode != SK_DGRAM_DELIVER) {
		/* -v: each datagram served, as udp listen -v shows them. */
		if (s->verbose) {
			sk_addr_format(from, text);
			fprintf(stderr, "sockit: %s: %s: %zu byte%s%s\n", s->ctx, text, len,
			        len == 1 ? "" : "s", truncated ? " (truncated)" : "");
		}
		return;
	}
	struct out *o = out_stdout("serve");
	sk_addr_format(from, text);
	out_str(o, text);
	out_str(o, truncated ? ": (truncated) " : ": ");
	out_escaped(o, data, len);
	out_char(o, '\n');
	/* Datagrams it cannot print are not served silently: the whole process
	 * stops (main() reports why, or nothing for a reader that has gone). */
	if (out_flush(o) < 0)
		sk_loop_stop(s->loop);
}

static void on_drop(void *ud, enum sk_dgram_drop why, const struct sk_addr *from, size_t len)
{
	struct service *s = ud;
	if (s->verbose)
		report_drop(s->ctx, why, from, len);
}

/* Says what the UDP service did not answer, then frees it. */
static void free_udp(struct service *s)
{
	report_drop_counts(s->ctx, s->udp);
	sk_dgram_server_free(s->udp);
	s->udp = NULL;
}

static void on_dgram_error(void *ud, int err, const struct sk_addr *peer)
{
	(void)ud;
	char text[SK_ADDR_STRLEN] = "?", reason[128];
	if (peer)
		sk_addr_format(peer, text);
	fprintf(stderr, "sockit: serve: udp %s: %s (still serving)\n", text,
	        reason_of(err, reason, sizeof reason));
}

/* Opens one service's socket and server; prints its line. */
static int start_service(struct serve_run *run, struct sk_loop *loop, struct service *s)
{
	char host[256], port[32], mode[16], q[QUOTE_MAX];
	bool http = s->proto[0] == 'h';
	const char *opt = http ? "--http" : s->proto[0] == 't' ? "--tcp" : "--udp";
	int st = split_spec(opt, s->spec, !http, host, port, mode);
	if (st)
		return st;
	bool tcp = s->proto[0] == 't' || http;
	s->loop = loop;
	if (!http &&
	    (tcp ? sk_stream_mode_parse(mode, &s->tcp_mode) < 0 : sk_dgram_mode_parse(mode, &s->udp_mode) < 0))
		return usage_error("serve", "%s %s: unknown mode (expected %s)", opt,
		                   quote(s->spec, strlen(s->spec), q),
		                   tcp ? "echo, discard, chargen, daytime, reply, chat"
		                       : "print, echo, reply, discard");
	struct sk_addr addr;
	size_t n;
	struct sk_addr addrs[8];
	if ((st = resolve_or_report("serve", host[0] ? host : NULL, port, AF_UNSPEC,
	                            tcp ? SOCK_STREAM : SOCK_DGRAM, true, addrs, 8, &n)))
		return st;
	/* An empty ADDR is every address: the dual-stack IPv6 wildcard. */
	addr = addrs[pick_listen_addr(addrs, n, host[0] ? host : NULL, AF_UNSPEC)];
	struct sk_sock_opts so;
	sk_sock_opts_init(&so);
	so.tracer = run->tracer;
	int fd = tcp ? sk_tcp_listen(&addr, &so) : sk_udp_open(&addr, 0, &so);
	char text[SK_ADDR_STRLEN], ctx[SK_ADDR_STRLEN + 32];
	sk_addr_format(&addr, text);
	if (fd < 0) {
		snprintf(ctx, sizeof ctx, "serve: %s", s->proto);
		return report_bind_err(ctx, &addr, fd);
	}
	struct sk_addr local;
	sk_sock_local_addr(fd, &local);
	sk_addr_format(&local, text);
	int err;
	if (http) {
		struct sk_http_server_opts o;
		sk_http_server_opts_init(&o);
		o.root = run->root;
		o.on_access = on_http_access;
		o.on_error = on_http_error;
		o.ud = run;
		o.tracer = run->tracer;
		err = sk_http_server_new(loop, fd, &o, &s->http);
		if (err < 0) {
			snprintf(ctx, sizeof ctx, "serve: --root %s", quote(run->root, strlen(run->root), q));
			return report_err(ctx, err);
		}
		fprintf(stderr, "listening on %s (http files %s)\n", text, run->root);
		return 0;
	}
	if (tcp) {
		struct sk_stream_opts o;
		sk_stream_opts_init(&o);
		o.mode = s->tcp_mode;
		o.on_event = on_tcp_event;
		o.ud = run;
		o.tracer = run->tracer;
		err = sk_stream_server_new(loop, fd, &o, &s->tcp);
	} else {
		struct sk_dgram_opts o;
		sk_dgram_opts_init(&o);
		o.mode = s->udp_mode;
		o.on_datagram = on_datagram;
		o.on_error = on_dgram_error;
		o.on_drop = on_drop;
		o.ud = s;
		s->verbose = run->verbose;
		snprintf(s->ctx, sizeof s->ctx, "serve: udp %s", text);
		o.tracer = run->tracer;
		err = sk_dgram_server_new(loop, fd, &o, &s->udp);
	}
	if (err < 0)
		return report_err("serve", err);
	fprintf(stderr, "listening on %s (%s %s)\n", text, s->proto, mode);
	return 0;
}

/* A stop waits this long for HTTP responses in flight (as http serve's
 * default --stop-timeout), checking every STOP_CHECK_MS. */
#define STOP_TIMEOUT_MS 10000
#define STOP_CHECK_MS 100
#define STOP_QUIET_MS 500

static size_t http_conns(const struct serve_run *run)
{
	size_t n = 0;
	for (int i = 0; i < run->n; i++)
		if (run->svc[i].http)
			n += sk_http_server_n_conns(run->svc[i].http);
	return n;
}

static void on_stop_check(struct sk_loop *loop, struct sk_timer *t, void *ud)
{
	struct serve_run *run = ud;
	size_t n = http_conns(run);
	if (n && sk_loop_now(loop) >= run->stop_deadline_ms) {
		report("serve", "stop timeout (%d s) reached: closing %zu connection%s",
		       STOP_TIMEOUT_MS / 1000, n, n == 1 ? "" : "s");
		n = 0;
	}
	if (n == 0) {
		sk_loop_stop(loop);
		return;
	}
	/* Quiet at first: most responses in flight end within a moment. */
	if (!run->said_waiting && sk_loop_now(loop) - run->stop_started_ms >= STOP_QUIET_MS) {
		run->said_waiting = true;
		report("serve", "stopping: waiting up to %d s for %zu HTTP connection%s to finish "
		       "(signal again to stop now)", STOP_TIMEOUT_MS / 1000, n, n == 1 ? "" : "s");
	}
	sk_loop_timer_start(loop, t, STOP_CHECK_MS);
}

static void on_stop(struct sk_loop *loop, int signo, void *ud)
{
	(void)signo;
	struct serve_run *run = ud;
	/* HTTP responses in flight may finish, for a while: stop the others
	 * now; a second signal stops everything at once. */
	if (run->stopping) {
		report("serve", "second signal: stopping now");
		sk_loop_stop(loop);
		return;
	}
	run->stopping = true;
	for (int i = 0; i < run->n; i++) {
		sk_stream_server_free(run->svc[i].tcp);
		run->svc[i].tcp = NULL;
		free_udp(&run->svc[i]);
		if (run->svc[i].http)
			sk_http_server_stop(run->svc[i].http);
	}
	size_t n = http_conns(run);
	run->stop_started_ms = sk_loop_now(loop);
	run->stop_deadline_ms = run->stop_started_ms + STOP_TIMEOUT_MS;
	sk_timer_init(&run->stop_timer, on_stop_check, run);
	sk_loop_timer_start(loop, &run->stop_timer, n ? STOP_CHECK_MS : 0);
}

static int opt_service(struct parse *ps, const char *arg)
{
	static const char *const protos[] = { "tcp", "udp", "http" };
	return add_service(ps->base, protos[ps->opt->n], arg);
}

static const struct opt serve_opts[] = {
	OPT_CALL_(0, "tcp", "ADDR:PORT:MODE", opt_service, 0,
	          "a TCP service; MODE is echo, discard, chargen, daytime, reply or chat "
	          "(line framing)"),
	OPT_CALL_(0, "udp", "ADDR:PORT:MODE", opt_service, 1,
	          "a UDP service; MODE is print, echo, reply or discard"),
	OPT_CALL_(0, "http", "ADDR:PORT", opt_service, 2,
	          "the HTTP file server (read-only) over --root"),
	OPT_STRING_(0, "root", "DIR", struct serve_run, root,
	            "what --http serves (default: the current directory)"),
	OPT_FLAG_('v', "verbose", struct serve_run, verbose, "log clients and datagrams on stderr"),
	OPT_FLAG_(0, "trace", struct serve_run, trace, "print each socket call on stderr"),
	OPT_END_,
};

static const struct opt_cmd serve_cmd = { "serve", "serve", serve_opts, NULL };

int cmd_serve(int argc, char **argv)
{
	struct serve_run *run = calloc(1, sizeof *run);
	if (!run)
		return report_err("serve", SK_ENOMEM);
	struct parse ps;
	int st = parse_options(&ps, &serve_cmd, argc, argv, run);
	if (st == 0 && ps.n_operands) {
		char q[QUOTE_MAX];
		const char *arg = ps.operands[0];
		st = usage_error("serve", "unexpected argument %s", quote(arg, strlen(arg), q));
	}
	if (st) {
		free(run);
		return st == PARSE_HELP ? EXIT_OK : st;
	}
	run->tracer = run->trace ? &stderr_tracer : NULL;
	if (!run->root)
		run->root = ".";
	if (run->n == 0) {
		/* The notes' system: a UDP server on 7852, a TCP one on 8998, and
		 * the browser's side (B/S) on 8000. */
		add_service(run, "udp", "127.0.0.1:7852:reply");
		add_service(run, "tcp", "127.0.0.1:8998:reply");
		add_service(run, "http", "127.0.0.1:8000");
	}

	struct sk_loop *loop;
	int err = sk_loop_new(&loop);
	if (err < 0) {
		free(run);
		return report_err("serve", err);
	}
	loop_prefer_io_uring(loop);
	logq_init(&run->log, "serve", "log", "stderr");
	if ((err = logq_open(&run->log, loop, STDERR_FILENO)) < 0) {
		sk_loop_free(loop);
		free(run);
		return report_err("serve: stderr", err);
	}
	sk_loop_add_signal(loop, SIGINT, on_stop, run);
	sk_loop_add_signal(loop, SIGTERM, on_stop, run);
	for (int i = 0; i < run->n && st == 0; i++)
		st = start_service(run, loop, &run->svc[i]);
	if (st == 0) {
		err = sk_loop_run(loop);
		if (err < 0)
			st = report_err("serve", err);
		else if (!out_stdout(NULL)->err)
			fprintf(stderr, "sockit: serve: stopped\n");
	}
	for (int i = 0; i < run->n; i++) {
		sk_stream_server_free(run->svc[i].tcp);
		free_udp(&run->svc[i]);
		sk_http_server_free(run->svc[i].http);
	}
	if (logq_close(&run->log, 1000) && st == 0)
		st = EXIT_FAIL;
	sk_loop_free(loop);
	free(run);
	return st;
}

const struct help_part serve_help[] = {
	{ "usage: sockit serve [--tcp ADDR:PORT:MODE]... [--udp ADDR:PORT:MODE]...\n"
	  "                    [--http ADDR:PORT]... [--root DIR] [-v] [--trace]\n"
	  "\n"
	  "Runs every service in one process on one event loop. Without --tcp, --udp or\n"
	  "--http it runs the course notes' whole system: UDP reply on 127.0.0.1:7852, TCP\n"
	  "reply on 127.0.0.1:8998 and the HTTP file server on 127.0.0.1:8000 over the\n"
	  "current directory. Stop it with Ctrl-C (SIGINT) or SIGTERM.\n"
	  "\n", &serve_cmd },
	{ "\n"
	  "ADDR is an address or name, empty for every address (:8998:echo); write IPv6\n"
	  "in brackets: [::1]:8998:echo. PORT 0 picks a free port. Each service prints\n"
	  "'listening on ADDR:PORT (PROTO MODE)'; -v logs clients and datagrams.\n"
	  "UDP services answer no datagram from their own port, port 0, a multicast or\n"
	  "broadcast address, or a service's port (7 echo, 53 dns ...): see 'sockit help\n"
	  "udp'. -v shows each one, and the counts are shown when they stop.\n"
	  "\n"
	  "exit status: 0 after SIGINT or SIGTERM, 1 stdout could not be written (print),\n"
	  "2 usage, 3 unknown address, 4 address in use, 7 --root not found or a port\n"
	  "below 1024 without root\n", NULL },
	{ 0 },
};
