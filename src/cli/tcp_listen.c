/* `sockit tcp listen`: option parsing, the listening socket, and the relay
 * mode (nc -l); every other mode is libsockit's stream server. */
#include "tcp_cli.h"
#include "tlscli.h"

#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sockit/stream.h>

struct listen_run {
	struct sk_loop *loop;
	struct sk_stream_server *server;
	struct sk_relay *relay;      /* the relay-mode session, while one runs */
	struct sk_addr peer;         /* its client */
	struct sk_stream_opts so;
	struct sk_acl acl;
	bool verbose, keep_open, relay_busy, stdin_done, no_stdin;
	bool max_msg_set, exec_timeout_set; /* for the usage check of the mode */
	const struct sk_tracer *tracer;
	struct tlscli tls;
	int status;
};

static const struct {
	const char *flag;
	enum sk_stream_mode mode;
} mode_flags[] = {
	{ "echo", SK_STREAM_ECHO },       { "discard", SK_STREAM_DISCARD },
	{ "chargen", SK_STREAM_CHARGEN }, { "daytime", SK_STREAM_DAYTIME },
	{ "reply", SK_STREAM_REPLY },     { "chat", SK_STREAM_CHAT },
};

enum {
	OPT_TRACE = 1000, OPT_FRAME, OPT_MAX_CONNS, OPT_MAX_PER_CLIENT, OPT_MAX_MSG, OPT_IDLE,
	OPT_ALLOW, OPT_DENY, OPT_EXEC, OPT_EXEC_TIMEOUT, OPT_MODE /* + index into mode_flags */
};

static const struct option listen_options[] = {
	{ "bind", required_argument, NULL, 'b' },
	{ "keep-open", no_argument, NULL, 'k' },
	{ "no-stdin", no_argument, NULL, 'd' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "trace", no_argument, NULL, OPT_TRACE },
	{ "frame", required_argument, NULL, OPT_FRAME },
	{ "max-conns", required_argument, NULL, OPT_MAX_CONNS },
	{ "max-per-client", required_argument, NULL, OPT_MAX_PER_CLIENT },
	{ "max-msg", required_argument, NULL, OPT_MAX_MSG },
	{ "idle-timeout", required_argument, NULL, OPT_IDLE },
	{ "allow", required_argument, NULL, OPT_ALLOW },
	{ "deny", required_argument, NULL, OPT_DENY },
	{ "exec", required_argument, NULL, OPT_EXEC },
	{ "exec-timeout", required_argument, NULL, OPT_EXEC_TIMEOUT },
	{ "echo", no_argument, NULL, OPT_MODE + 0 },
	{ "discard", no_argument, NULL, OPT_MODE + 1 },
	{ "chargen", no_argument, NULL, OPT_MODE + 2 },
	{ "daytime", no_argument, NULL, OPT_MODE + 3 },
	{ "reply", no_argument, NULL, OPT_MODE + 4 },
	{ "chat", no_argument, NULL, OPT_MODE + 5 },
	{ "help", no_argument, NULL, 'h' },
	TLSCLI_SERVER_OPTIONS,
	{ NULL, 0, NULL, 0 },
};

/* "sockit: tcp listen: <before><peer><after>" on stderr. */
static void log_peer(const char *before, const struct sk_addr *peer, const char *after)
{
	char text[SK_ADDR_STRLEN] = "";
	if (peer)
		sk_addr_format(peer, text);
	fprintf(stderr, "sockit: tcp listen: %s%s%s\n", before, text, after);
}

static void on_event(void *ud, enum sk_stream_event ev, const struct sk_addr *peer, int err)
{
	struct listen_run *run = ud;
	char reason[128];
	switch (ev) {
	case SK_STREAM_ACCEPT_FAILED:
		/* Always shown: the server is degraded, not just chatty. */
		fprintf(stderr, "sockit: tcp listen: accept: %s (retrying)\n",
		        reason_of(err, reason, sizeof reason));
		return;
	default:
		break;
	}
	if (!run->verbose)
		return;
	switch (ev) {
	case SK_STREAM_ACCEPTED:
		log_peer("connection from ", peer, "");
		break;
	case SK_STREAM_DENIED:
		log_peer("", peer, " refused: denied by --allow/--deny");
		break;
	case SK_STREAM_OVER_LIMIT:
		log_peer("", peer,
		         err == SK_STREAM_LIMIT_TOTAL ? " refused: --max-conns reached"
		                                      : " refused: --max-per-client reached");
		break;
	case SK_STREAM_DROPPED_SLOW:
		log_peer("", peer, " dropped: too slow to keep up");
		break;
	case SK_STREAM_BAD_DATA:
		log_peer("", peer, " closed: message over the size limit");
		break;
	case SK_STREAM_CLOSED:
		if (err == -ETIMEDOUT && run->so.mode == SK_STREAM_EXEC)
			log_peer("", peer, " closed: command killed after --exec-timeout");
		else if (tlscli_is_tls_error(err))
			log_peer("", peer, " closed: TLS");
		else
			log_peer("", peer, err == -ETIMEDOUT ? " closed: idle timeout"
			                   : err ? " closed: error" : " closed");
		break;
	default:
		break;
	}
}

/* --- relay mode: one client at a time over stdin/stdout --- */

static void on_relay_done(void *ud, int err, char side, const struct sk_relay_stats *stats)
{
	struct listen_run *run = ud;
	run->relay_busy = false;
	run->relay = NULL;
	/* -k: the next client gets the rest of stdin, unless stdin has ended. */
	if (stats->a_eof)
		run->stdin_done = true;
	if (err && side == 'a') {
		run->status = report_stdio_err("tcp listen", err, stats);
		sk_loop_stop(run->loop);
		return;
	}
	if (err) {
		char peer[SK_ADDR_STRLEN], ctx[SK_ADDR_STRLEN + 16];
		sk_addr_format(&run->peer, peer);
		snprintf(ctx, sizeof ctx, "tcp listen: %s", peer);
		/* With -k one client's failure does not stop the server, but the
		 * exit status still says that a session failed: what stdin sent it
		 * may not have arrived. */
		if (err == -ETIMEDOUT && run->so.idle_ms) {
			report(ctx, "no data either way for %u ms (--idle-timeout): closed",
			       run->so.idle_ms);
			run->status = EXIT_TIMEOUT;
		} else if (tlscli_is_tls_error(err)) {
			/* -v printed a failed handshake already (tlscli.c). */
			if (run->verbose && run->tls.has_info && run->tls.info_err == err)
				run->status = exit_status_of(err);
			else
				run->status = tlscli_report(&run->tls, ctx, err);
		} else {
			run->status = report_relay_net_err(ctx, err, stats);
		}
	}
	if (!run->keep_open) {
		sk_loop_stop(run->loop);
		return;
	}
	sk_stream_server_resume_accepting(run->server);
}

static void on_handoff(void *ud, int fd, const struct sk_addr *peer)
{
	struct listen_run *run = ud;
	if (run->keep_open)
		sk_stream_server_pause_accepting(run->server);
	else
		sk_stream_server_stop_accepting(run->server);
	run->relay_busy = true;
	run->peer = *peer;
	struct sk_relay_opts ro;
	sk_relay_opts_init(&ro);
	/* -k hands the rest of stdin to the next client, so a client's EOF ends
	 * its session (nc -lk); alone, a client's FIN ends only what it sends,
	 * and stdin goes on to it until stdin ends. */
	ro.finish_on_b_eof = run->keep_open;
	ro.a_silent = run->no_stdin;
	ro.b.idle_ms = run->so.idle_ms;
	ro.b.tracer = run->tracer;
	ro.b.tls = tlscli_conn_opts(&run->tls);
	ro.on_done = on_relay_done;
	ro.ud = run;
	int in = run->stdin_done || run->no_stdin ? -1 : dup(STDIN_FILENO);
	int out = dup(STDOUT_FILENO);
	int err = sk_relay_start(run->loop, in, out, fd, fd, &ro, &run->relay);
	if (err < 0) {
		run->status = report_err("tcp listen", err);
		sk_loop_stop(run->loop);
	}
}

static void on_stop_signal(struct sk_loop *loop, int signo, void *ud)
{
	(void)signo;
	(void)ud;
	sk_loop_stop(loop);
}

static int add_rule(struct listen_run *run, const char *opt, const char *text, bool allow)
{
	struct sk_slice bad = { 0 };
	int err = sk_acl_add(&run->acl, text, strlen(text), allow, &bad);
	if (err == 0)
		return 0;
	char reason[256], q[QUOTE_MAX];
	describe_parse_error(err, text, strlen(text), bad, reason, sizeof reason);
	return usage_error("tcp listen", "%s %s: %s", opt, quote(text, strlen(text), q), reason);
}

static int parse_listen_options(int argc, char **argv, struct listen_run *run,
                                const char **bind_addr, int *family)
{
	int ch, st;
	unsigned long n;
	bool mode_set = false;
	while ((ch = next_option("tcp listen", argc, argv, "46b:kdvh", listen_options)) != -1) {
		if (tlscli_is_option(ch)) {
			if ((st = tlscli_option(&run->tls, ch, optarg)))
				return st;
			continue;
		}
		if (ch >= OPT_MODE) {
			if (mode_set)
				return usage_error("tcp listen", "choose one mode");
			run->so.mode = mode_flags[ch - OPT_MODE].mode;
			mode_set = true;
			continue;
		}
		switch (ch) {
		case '4':
			*family = AF_INET;
			break;
		case '6':
			*family = AF_INET6;
			break;
		case 'b':
			*bind_addr = optarg;
			break;
		case 'k':
			run->keep_open = true;
			break;
		case 'd':
			run->no_stdin = true;
			break;
		case 'v':
			run->verbose = run->tls.verbose = true;
			break;
		case OPT_TRACE:
			run->tracer = &stderr_tracer;
			break;
		case OPT_FRAME:
			if (sk_frame_mode_parse(optarg, &run->so.frame) < 0) {
				char q[QUOTE_MAX];
				return usage_error("tcp listen", "--frame %s: expected line, len32 or raw",
				                   quote(optarg, strlen(optarg), q));
			}
			break;
		case OPT_MAX_CONNS:
			if ((st = parse_count("tcp listen", "--max-conns", optarg, 1000000, &n)))
				return st;
			run->so.max_conns = n ? n : SIZE_MAX; /* 0: no limit */
			break;
		case OPT_MAX_PER_CLIENT:
			if ((st = parse_count("tcp listen", "--max-per-client", optarg, 1000000, &n)))
				return st;
			run->so.max_per_client = n;
			break;
		case OPT_MAX_MSG:
			if ((st = parse_count("tcp listen", "--max-msg", optarg, SK_FRAME_MAX, &n)))
				return st;
			if (n == 0) {
				char q[QUOTE_MAX];
				return usage_error("tcp listen", "--max-msg %s: a message needs at least 1 byte",
				                   quote(optarg, strlen(optarg), q));
			}
			run->so.max_msg = n;
			run->max_msg_set = true;
			break;
		case OPT_EXEC_TIMEOUT:
			if ((st = parse_seconds("tcp listen", "--exec-timeout", optarg,
			                        &run->so.exec_timeout_ms)))
				return st;
			run->exec_timeout_set = true;
			break;
		case OPT_IDLE:
			if ((st = parse_seconds("tcp listen", "--idle-timeout", optarg, &run->so.idle_ms)))
				return st;
			break;
		case OPT_ALLOW:
		case OPT_DENY:
			if ((st = add_rule(run, ch == OPT_ALLOW ? "--allow" : "--deny", optarg,
			                   ch == OPT_ALLOW)))
				return st;
			break;
		case OPT_EXEC:
			if (mode_set)
				return usage_error("tcp listen", "choose one mode");
			run->so.mode = SK_STREAM_EXEC;
			run->so.exec_cmd = optarg;
			mode_set = true;
			break;
		case 'h':
			print_usage(find_command("tcp"));
			return -1;
		default:
			return EXIT_USAGE;
		}
	}
	if (!mode_set)
		run->so.mode = SK_STREAM_HANDOFF;
	if ((run->keep_open || run->no_stdin) && mode_set)
		return usage_error("tcp listen", "%s is for the relay mode; the other modes keep serving",
		                   run->keep_open ? "-k" : "-d");
	bool framed = run->so.mode == SK_STREAM_REPLY || run->so.mode == SK_STREAM_CHAT;
	if (run->max_msg_set && !framed)
		return usage_error("tcp listen", "--max-msg is for --reply and --chat");
	if (run->exec_timeout_set && run->so.mode != SK_STREAM_EXEC)
		return usage_error("tcp listen", "--exec-timeout is for --exec");
	if (argc - optind != 1)
		return usage_error("tcp listen", "expected PORT, got %d argument%s", argc - optind,
		                   argc - optind == 1 ? "" : "s");
	return 0;
}

/* Binds the listening socket: ADDR if given, else [::] dual-stack (or
 * 0.0.0.0 with -4, or where IPv6 is off). */
static int open_listener(struct listen_run *run, const char *bind_addr, const char *port,
                         int family, int *fd_out)
{
	struct sk_addr addrs[8];
	size_t n;
	int st = resolve_or_report("tcp listen", bind_addr, port, family, SOCK_STREAM, true,
	                           addrs, 8, &n);
	if (st)
		return st;
	struct sk_sock_opts so;
	sk_sock_opts_init(&so);
	so.tracer = run->tracer;
	size_t first = pick_listen_addr(addrs, n, bind_addr, family);
	int fd = sk_tcp_listen(&addrs[first], &so);
	if (fd == -EAFNOSUPPORT && first != 0)
		fd = sk_tcp_listen(&addrs[0], &so);
	if (fd < 0) {
		char text[SK_ADDR_STRLEN], ctx[SK_ADDR_STRLEN + 32];
		sk_addr_format(&addrs[first], text);
		snprintf(ctx, sizeof ctx, "tcp listen: %s", text);
		return report_err(ctx, fd);
	}
	*fd_out = fd;
	return 0;
}

int cmd_tcp_listen(int argc, char **argv)
{
	struct listen_run run;
	memset(&run, 0, sizeof run);
	sk_stream_opts_init(&run.so);
	sk_acl_init(&run.acl);
	tlscli_init(&run.tls, "tcp listen", true);
	const char *bind_addr = NULL;
	int family = AF_UNSPEC;
	int st = parse_listen_options(argc, argv, &run, &bind_addr, &family);
	if (!st)
		st = tlscli_setup(&run.tls, NULL);
	if (st) {
		sk_acl_fini(&run.acl);
		return st < 0 ? EXIT_OK : st;
	}

	int fd = -1;
	if ((st = open_listener(&run, bind_addr, argv[optind], family, &fd))) {
		sk_acl_fini(&run.acl);
		tlscli_fini(&run.tls);
		return st;
	}
	/* Signals first: a script that reads "listening on" and signals at once
	 * must find them handled. */
	int err = sk_loop_new(&run.loop);
	if (err < 0) {
		close(fd);
		sk_acl_fini(&run.acl);
		tlscli_fini(&run.tls);
		return report_err("tcp listen", err);
	}
	loop_prefer_io_uring(run.loop);
	sk_loop_add_signal(run.loop, SIGINT, on_stop_signal, NULL);
	sk_loop_add_signal(run.loop, SIGTERM, on_stop_signal, NULL);
	if (run.verbose) {
		struct sk_addr local;
		char text[SK_ADDR_STRLEN];
		sk_sock_local_addr(fd, &local);
		sk_addr_format(&local, text);
		fprintf(stderr, "listening on %s\n", text);
	}
	run.so.acl = run.acl.n_rules ? &run.acl : NULL;
	run.so.on_event = on_event;
	run.so.on_handoff = on_handoff;
	run.so.ud = &run;
	run.so.tracer = run.tracer;
	run.so.tls = tlscli_conn_opts(&run.tls);
	err = sk_stream_server_new(run.loop, fd, &run.so, &run.server);
	if (err < 0) {
		sk_loop_free(run.loop);
		sk_acl_fini(&run.acl);
		tlscli_fini(&run.tls);
		return report_err("tcp listen", err);
	}
	err = sk_loop_run(run.loop);
	if (err < 0)
		run.status = report_err("tcp listen", err);
	if (run.relay)
		sk_relay_stop(run.relay);
	sk_stream_server_free(run.server);
	sk_loop_free(run.loop);
	sk_acl_fini(&run.acl);
	tlscli_fini(&run.tls);
	return run.status;
}
