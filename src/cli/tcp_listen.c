/* `sockit tcp listen`: option parsing, the listening socket, and the relay
 * mode (nc -l); every other mode is libsockit's stream server. */
#include "tcp_cli.h"
#include "tlscli.h"

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
	struct close_notes closes;   /* why clients are closed, until they are */
	bool verbose, keep_open, relay_busy, stdin_done, no_stdin, trace, mode_set;
	const struct sk_tracer *tracer;
	struct tlscli tls;
	int status;
	/* Options as given, before they become so's fields. */
	int family;
	const char *bind_addr;
	unsigned long max_conns, max_per_client;
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
	if (close_note_event(&run->closes, ev, peer, err))
		return;
	char why[128];
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
	case SK_STREAM_CLOSED:
		why[0] = ' ';
		close_reason(&run->closes, peer, err, run->so.mode == SK_STREAM_EXEC, why + 1,
		             sizeof why - 1);
		log_peer("", peer, why);
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

static int set_mode(struct parse *ps, const char *arg)
{
	struct listen_run *run = ps->base;
	if (run->mode_set)
		return usage_error("tcp listen", "choose one mode");
	run->so.mode = (enum sk_stream_mode)ps->opt->n;
	run->so.exec_cmd = arg; /* --exec's command; NULL for the others */
	run->mode_set = true;
	return 0;
}

static int add_rule(struct parse *ps, const char *text)
{
	struct listen_run *run = ps->base;
	struct sk_slice bad = { 0 };
	int err = sk_acl_add(&run->acl, text, strlen(text), ps->opt->n, &bad);
	if (err == 0)
		return 0;
	char reason[256], q[QUOTE_MAX];
	describe_parse_error(err, text, strlen(text), bad, reason, sizeof reason);
	return usage_error("tcp listen", "%s %s: %s", ps->typed, quote(text, strlen(text), q), reason);
}

static int set_frame(struct parse *ps, const char *arg)
{
	struct listen_run *run = ps->base;
	if (sk_frame_mode_parse(arg, &run->so.frame) == 0)
		return 0;
	char q[QUOTE_MAX];
	return usage_error("tcp listen", "%s %s: expected line, len32 or raw", ps->typed,
	                   quote(arg, strlen(arg), q));
}

static int set_max_msg(struct parse *ps, const char *arg)
{
	struct listen_run *run = ps->base;
	unsigned long n;
	int st = parse_count("tcp listen", ps->typed, arg, SK_FRAME_MAX, &n);
	if (st)
		return st;
	if (n == 0) {
		char q[QUOTE_MAX];
		return usage_error("tcp listen", "%s %s: a message needs at least 1 byte", ps->typed,
		                   quote(arg, strlen(arg), q));
	}
	run->so.max_msg = n;
	return 0;
}

#define MODE_BIT(m) (1u << (m))
#define FRAMED (MODE_BIT(SK_STREAM_REPLY) | MODE_BIT(SK_STREAM_CHAT))
#define RELAY MODE_BIT(SK_STREAM_HANDOFF)
#define MODE_OPT(name, mode, h) OPT_CALL_(0, name, NULL, set_mode, mode, h)

static const struct opt listen_opts[] = {
	OPT_FAMILY_('4', struct listen_run, family, AF_INET, "IPv4 only"),
	OPT_FAMILY_('6', struct listen_run, family, AF_INET6,
	            "IPv6 only (IPV6_V6ONLY: IPv4 clients are refused)"),
	OPT_STRING_('b', "bind", "ADDR", struct listen_run, bind_addr,
	            "address to listen on (default: all, IPv4 and IPv6)"),
	OPT_FLAG_('k', "keep-open", struct listen_run, keep_open,
	  "relay mode: a client's EOF ends its session, and the next client gets the rest of "
	  "stdin (the other modes serve every client anyway: there it changes nothing, as nc -k)"),
	{ OPT_FLAG, 'd', "no-stdin", NULL, "relay mode: do not read stdin, only print what clients send",
	  OPT_OFF(struct listen_run, no_stdin, bool), 0, NULL, RELAY,
	  "the relay mode; the other modes do not read stdin" },
	MODE_OPT("echo", SK_STREAM_ECHO, "send every byte back (RFC 862)"),
	MODE_OPT("discard", SK_STREAM_DISCARD, "read and drop everything (RFC 863)"),
	MODE_OPT("chargen", SK_STREAM_CHARGEN,
	         "send the RFC 864 character pattern until the client closes"),
	MODE_OPT("daytime", SK_STREAM_DAYTIME, "send the date and time, then close (RFC 867)"),
	MODE_OPT("reply", SK_STREAM_REPLY,
	         "answer each message with \"Received msg: MSG from ('IP', PORT)\""),
	MODE_OPT("chat", SK_STREAM_CHAT, "send each message to every other client, prefixed with "
	         "the sender"),
	OPT_CALL_(0, "exec", "CMD", set_mode, SK_STREAM_EXEC,
	          "run /bin/sh -c CMD per connection, the socket as its stdin/stdout, "
	          "SOCKIT_PEER_ADDR, SOCKIT_PEER_PORT, SOCKIT_LOCAL_ADDR, SOCKIT_LOCAL_PORT in its "
	          "environment (-v logs its exit status)"),
	{ OPT_CALL, 0, "frame", "MODE", "messages for --reply and --chat: line (default), len32, raw",
	  0, 0, set_frame, FRAMED, "--reply and --chat" },
	{ OPT_CALL, 0, "max-msg", "BYTES", "longest message of --reply and --chat (default 16384, "
	  "at most 1048576); a longer one closes its client", 0, 0, set_max_msg, FRAMED,
	  "--reply and --chat" },
	OPT_COUNT_(0, "max-conns", "N", 1000000, struct listen_run, max_conns,
	           "at most N clients at once (default 1024, --exec 64; 0: no limit)"),
	OPT_COUNT_(0, "max-per-client", "N", 1000000, struct listen_run, max_per_client,
	           "at most N connections from one address (default and 0: no limit)"),
	OPT_SECONDS_(0, "idle-timeout", struct listen_run, so.idle_ms,
	             "close a client idle for SECS (default and 0: never)"),
	{ OPT_SECONDS, 0, "exec-timeout", "SECS", "kill an --exec command (its process group) "
	  "after SECS (default 600; 0: never)", OPT_OFF(struct listen_run, so.exec_timeout_ms,
	  unsigned), 0, NULL, MODE_BIT(SK_STREAM_EXEC), "--exec" },
	OPT_CALL_(0, "allow", "CIDR", add_rule, 1, "serve only these networks (repeatable)"),
	OPT_CALL_(0, "deny", "CIDR", add_rule, 0, "never serve these networks (repeatable; deny "
	          "wins; IPv4-mapped ::ffff:a.b.c.d rules are IPv4 rules)"),
	OPT_FLAG_('v', "verbose", struct listen_run, verbose,
	          "print the listening address and each client on stderr"),
	OPT_FLAG_(0, "trace", struct listen_run, trace, "print each socket call on stderr"),
	TLSCLI_SERVER_ROWS(struct listen_run, tls),
	OPT_END_,
};

/* What nc and ncat users type: the same behaviour spelled sockit's way. */
static const struct opt_hint listen_hints[] = {
	{ "-l", "'tcp listen' already listens; nc -lvnp PORT is 'sockit tcp listen -v PORT'" },
	{ "-p", "the port is an argument: 'sockit tcp listen PORT'" },
	{ "-e", "to run a command per connection use --exec CMD" },
	{ "-c", "to run a command per connection use --exec CMD" },
	{ "-u", "for UDP use 'sockit udp listen'" },
	{ "-w", "a server's timeout is --idle-timeout SECS" },
	HINT_N,
	HINT_Z,
	{ NULL, NULL },
};

const struct opt_cmd tcp_listen_cmd = { "tcp listen", "tcp", listen_opts, listen_hints };

static int parse_listen_options(int argc, char **argv, struct listen_run *run, const char **port)
{
	struct parse ps;
	int st = parse_options(&ps, &tcp_listen_cmd, argc, argv, run);
	if (st)
		return st;
	if (!run->mode_set)
		run->so.mode = SK_STREAM_HANDOFF;
	if ((st = check_modes(&ps, MODE_BIT(run->so.mode))))
		return st;
	if (ps.n_operands != 1)
		return usage_error("tcp listen", "expected PORT, got %d argument%s", ps.n_operands,
		                   ps.n_operands == 1 ? "" : "s");
	if (opt_seen(&ps, "max-conns"))
		run->so.max_conns = run->max_conns ? run->max_conns : SIZE_MAX; /* 0: no limit */
	run->so.max_per_client = run->max_per_client;
	run->tracer = run->trace ? &stderr_tracer : NULL;
	*port = ps.operands[0];
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
	so.v6_only = family == AF_INET6; /* -6: IPv6 only (IPV6_V6ONLY), as ncat -6 */
	size_t first = pick_listen_addr(addrs, n, bind_addr, family);
	int fd = sk_tcp_listen(&addrs[first], &so);
	if (fd == -EAFNOSUPPORT && first != 0)
		fd = sk_tcp_listen(&addrs[0], &so);
	if (fd < 0)
		return report_bind_err("tcp listen", &addrs[first], fd);
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
	run.family = AF_UNSPEC;
	const char *port = NULL;
	int st = parse_listen_options(argc, argv, &run, &port);
	if (!st) {
		run.tls.verbose = run.verbose;
		st = tlscli_setup(&run.tls, NULL);
	}
	if (st) {
		sk_acl_fini(&run.acl);
		return st == PARSE_HELP ? EXIT_OK : st;
	}

	int fd = -1;
	if ((st = open_listener(&run, run.bind_addr, port, run.family, &fd))) {
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
