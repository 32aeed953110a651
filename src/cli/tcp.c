/* `sockit tcp connect` and the option parsing of `sockit tcp listen`
 * (whose server lives in tcp_listen.c). */
#include "tcp_cli.h"
#include "tlscli.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Writes all of text to fd (a connected socket, non-blocking), waiting for
 * room when the socket is full. */
static int send_all(int fd, const char *text, size_t len, const struct sk_tracer *tracer)
{
	while (len) {
		ssize_t n = send(fd, text, len, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			fd_set w;
			FD_ZERO(&w);
			FD_SET(fd, &w);
			select(fd + 1, NULL, &w, NULL, NULL);
			continue;
		}
		if (n < 0)
			return -errno;
		sk_trace(tracer, "send(%d, %zd)", fd, n);
		text += n;
		len -= (size_t)n;
	}
	return 0;
}

struct connect_run {
	int status;
	bool verbose;
	size_t sent_text;  /* --send bytes, written before the relay started */
	unsigned idle_ms;
	const struct tlscli *tls;
	const char *peer;  /* the address connected to */
};

int report_relay_net_err(const char *ctx, int err, const struct sk_relay_stats *st)
{
	/* Linux reports a reset that arrives after the peer's FIN (CLOSE_WAIT)
	 * as EPIPE on the next send (tcp_reset()): to the user it is a reset. */
	if (err == -EPIPE)
		err = -ECONNRESET;
	char reason[128];
	reason_of(err, reason, sizeof reason);
	/* Nothing read from stdin yet (an empty stdin whose end the relay had
	 * not seen): no byte of it was lost, so there is nothing to count. */
	if ((st->a_eof || st->a_to_b == 0) && st->a_to_b_sent == st->a_to_b)
		report(ctx, "%s", reason);
	else
		report(ctx, "%s: only %llu byte%s of stdin %s sent", reason,
		       (unsigned long long)st->a_to_b_sent, st->a_to_b_sent == 1 ? "" : "s",
		       st->a_to_b_sent == 1 ? "was" : "were");
	return exit_status_of(err);
}

int report_stdio_err(const char *command, int err, const struct sk_relay_stats *st)
{
	if (err == -EPIPE && st->err_writing)
		return EXIT_OK;
	char ctx[64];
	snprintf(ctx, sizeof ctx, "%s: %s", command, st->err_writing ? "stdout" : "stdin");
	return report_err(ctx, err);
}

static void on_relay_done(void *ud, int err, char side, const struct sk_relay_stats *stats)
{
	struct connect_run *run = ud;
	if (run->verbose)
		fprintf(stderr, "sockit: tcp connect: sent %llu bytes, received %llu bytes\n",
		        (unsigned long long)(stats->a_to_b_sent + run->sent_text),
		        (unsigned long long)stats->b_to_a);
	if (!err)
		return;
	char ctx[SK_ADDR_STRLEN + 16];
	snprintf(ctx, sizeof ctx, "tcp connect: %s", run->peer);
	if (side == 'a') {
		run->status = report_stdio_err("tcp connect", err, stats);
	} else if (tlscli_is_tls_error(err)) {
		run->status = tlscli_report(run->tls, ctx, err);
	} else if (err == -ETIMEDOUT && run->idle_ms) {
		report("tcp connect", "no data either way for %u ms (-i): closed", run->idle_ms);
		run->status = EXIT_TIMEOUT;
	} else {
		run->status = report_relay_net_err("tcp connect", err, stats);
	}
}

struct connect_args {
	int family;
	unsigned wait_ms, idle_ms;
	const char *send_text, *source, *source_port;
	bool no_stdin, verbose, trace;
	struct tlscli tls;
};

static const struct opt connect_opts[] = {
	OPT_FAMILY_('4', struct connect_args, family, AF_INET, "IPv4 only"),
	OPT_FAMILY_('6', struct connect_args, family, AF_INET6, "IPv6 only"),
	OPT_SECONDS_('w', "wait", struct connect_args, wait_ms,
	             "connect timeout (default and 0: the kernel's, about 2 minutes)"),
	OPT_SECONDS_('i', "idle", struct connect_args, idle_ms,
	             "close after SECS with no data either way (default and 0: never)"),
	OPT_STRING_(0, "send", "TEXT", struct connect_args, send_text,
	            "send TEXT instead of reading stdin (no newline is added)"),
	OPT_STRING_('s', "source", "ADDR", struct connect_args, source,
	            "connect from this local address (as nc -s)"),
	OPT_STRING_('p', "source-port", "PORT", struct connect_args, source_port,
	            "connect from this local port (as nc -p; default and 0: the kernel's choice)"),
	OPT_FLAG_('d', "no-stdin", struct connect_args, no_stdin,
	          "do not read stdin (and do not shut down the sending side)"),
	OPT_FLAG_('v', "verbose", struct connect_args, verbose,
	          "print the local and peer addresses on stderr (with --tls: the version, "
	          "cipher, ALPN and the server's certificate)"),
	OPT_FLAG_(0, "trace", struct connect_args, trace, "print each socket call on stderr"),
	TLSCLI_CLIENT_ROWS(struct connect_args, tls),
	OPT_END_,
};

static const struct opt_hint connect_hints[] = {
	{ "-l", "to listen use 'sockit tcp listen'" },
	{ "-e", "to run a command per connection use 'sockit tcp listen --exec CMD'" },
	{ "-c", "to run a command per connection use 'sockit tcp listen --exec CMD'" },
	{ "-u", "for UDP use 'sockit udp send'" },
	{ "-k", "'tcp connect' makes one connection; to serve clients use 'sockit tcp listen -k'" },
	{ "-N", "not needed: the sending side is shut down at the end of stdin (as nc -N)" },
	HINT_N,
	HINT_Z,
	{ NULL, NULL },
};

static const struct opt_cmd connect_cmd = { "tcp connect", "tcp", connect_opts, connect_hints };

/* The local addresses -s and -p ask for: every address -s resolves to (or
 * each family's wildcard), with -p's port. *n_out is 0 without -s or -p. */
static int resolve_sources(const struct connect_args *a, struct sk_addr *out, size_t max,
                           size_t *n_out)
{
	*n_out = 0;
	if (!a->source && !a->source_port)
		return EXIT_OK;
	const char *port = a->source_port ? a->source_port : "0";
	return resolve_or_report("tcp connect", a->source, port, a->family, SOCK_STREAM,
	                         a->source == NULL, out, max, n_out);
}

/* The source address of to's family, or NULL (none asked for: the kernel
 * chooses). *missing is set when sources were asked for but none is of
 * to's family. */
static const struct sk_addr *source_for(const struct sk_addr *to, const struct sk_addr *sources,
                                        size_t n, bool *missing)
{
	*missing = false;
	for (size_t i = 0; i < n; i++)
		if (sources[i].u.sa.sa_family == to->u.sa.sa_family)
			return &sources[i];
	*missing = n > 0;
	return NULL;
}

/* Tries each resolved address in turn, as nc does; reports the last error. */
static int connect_any(const struct sk_addr *addrs, size_t n, const struct sk_addr *sources,
                       size_t n_sources, unsigned wait_ms, const struct sk_tracer *tracer,
                       int *fd_out)
{
	int err = 0;
	char text[SK_ADDR_STRLEN], ctx[SK_ADDR_STRLEN + 32];
	for (size_t i = 0; i < n; i++) {
		bool missing;
		const struct sk_addr *from = source_for(&addrs[i], sources, n_sources, &missing);
		int fd = missing ? -EAFNOSUPPORT
		                 : sk_tcp_connect_from(&addrs[i], from, wait_ms ? (int)wait_ms : -1,
		                                       tracer);
		if (fd >= 0) {
			*fd_out = fd;
			return EXIT_OK;
		}
		err = fd;
		sk_addr_format(&addrs[i], text);
		snprintf(ctx, sizeof ctx, "tcp connect: %s", text);
		if (i + 1 == n || err == -ETIMEDOUT) {
			if (err == -ETIMEDOUT) {
				report(ctx, "timed out after %u ms", wait_ms);
			} else if (missing) {
				report(ctx, "no source address (-s, -p) of this address's family");
				return EXIT_USAGE;
			} else if (from && (err == -EADDRINUSE || err == -EADDRNOTAVAIL)) {
				char src[SK_ADDR_STRLEN], reason[128];
				sk_addr_format(from, src);
				report(ctx, "from %s: %s", src, reason_of(err, reason, sizeof reason));
			} else {
				report_err(ctx, err);
			}
			return exit_status_of(err);
		}
	}
	return EXIT_FAIL;
}

/* --send over TLS: the text goes through the relay like stdin would, from
 * a file in memory (the relay reads files as well as pipes). */
static int text_fd(const char *text)
{
	int fd = memfd_create("sockit-send", MFD_CLOEXEC);
	size_t len = strlen(text);
	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len || lseek(fd, 0, SEEK_SET) != 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static int run_connect(struct connect_args *a, const char *host, const char *port);

static int cmd_tcp_connect(int argc, char **argv)
{
	struct connect_args a = { .family = AF_UNSPEC };
	tlscli_init(&a.tls, "tcp connect", false);
	struct parse ps;
	int st = parse_options(&ps, &connect_cmd, argc, argv, &a);
	if (st)
		return st == PARSE_HELP ? EXIT_OK : st;
	if (ps.n_operands != 2)
		return usage_error("tcp connect", "expected HOST and PORT, got %d argument%s",
		                   ps.n_operands, ps.n_operands == 1 ? "" : "s");
	a.tls.verbose = a.verbose;
	/* The TLS config first: a bad file is reported before any connection. */
	if ((st = tlscli_setup(&a.tls, ps.operands[0])))
		return st;
	st = run_connect(&a, ps.operands[0], ps.operands[1]);
	tlscli_fini(&a.tls);
	return st;
}

static int run_connect(struct connect_args *a, const char *host, const char *port)
{
	unsigned wait_ms = a->wait_ms, idle_ms = a->idle_ms;
	const char *send_text = a->send_text;
	bool verbose = a->verbose, no_stdin = a->no_stdin;
	const struct sk_tracer *tracer = a->trace ? &stderr_tracer : NULL;
	struct sk_addr addrs[16];
	size_t n_addrs;
	int st;
	if ((st = resolve_or_report("tcp connect", host, port, a->family, SOCK_STREAM, false, addrs,
	                            16, &n_addrs)))
		return st;
	struct sk_addr sources[8];
	size_t n_sources;
	if ((st = resolve_sources(a, sources, 8, &n_sources)))
		return st;
	int fd = -1;
	if ((st = connect_any(addrs, n_addrs, sources, n_sources, wait_ms, tracer, &fd)))
		return st;
	struct sk_addr local, peer;
	char l[SK_ADDR_STRLEN], p[SK_ADDR_STRLEN];
	sk_sock_local_addr(fd, &local);
	sk_sock_peer_addr(fd, &peer);
	sk_addr_format(&local, l);
	sk_addr_format(&peer, p);
	if (verbose)
		fprintf(stderr, "sockit: tcp connect: connected to %s from %s\n", p, l);
	int in = -1;
	if (send_text && a->tls.on) {
		in = text_fd(send_text);
		if (in < 0) {
			close(fd);
			return report_err("tcp connect: --send", in);
		}
	} else if (send_text) {
		int err = send_all(fd, send_text, strlen(send_text), tracer);
		if (err < 0) {
			close(fd);
			return report_err("tcp connect: send", err);
		}
	}

	struct sk_loop *loop;
	int err = sk_loop_new(&loop);
	if (err < 0) {
		close(fd);
		if (in >= 0)
			close(in);
		return report_err("tcp connect", err);
	}
	loop_prefer_io_uring(loop);
	struct connect_run run = { EXIT_OK, verbose, send_text && !a->tls.on ? strlen(send_text) : 0,
	                           idle_ms, &a->tls, p };
	struct sk_relay_opts ro;
	sk_relay_opts_init(&ro);
	ro.a_silent = no_stdin && !send_text;
	ro.b.idle_ms = idle_ms;
	ro.b.tracer = tracer;
	ro.b.tls = tlscli_conn_opts(&a->tls);
	ro.on_done = on_relay_done;
	ro.ud = &run;
	/* stdin and stdout are dup'ed: the relay owns and closes its fds, and
	 * closing stdout is how the reader downstream learns we are done. */
	if (!send_text && !no_stdin)
		in = dup(STDIN_FILENO);
	int out = dup(STDOUT_FILENO);
	err = sk_relay_start(loop, in, out, fd, fd, &ro, NULL);
	if (err < 0) {
		sk_loop_free(loop);
		return report_err("tcp connect", err);
	}
	close(STDOUT_FILENO); /* our dup is now the only writer */
	err = sk_loop_run(loop);
	sk_loop_free(loop);
	if (err < 0)
		return report_err("tcp connect", err);
	return run.status;
}

int cmd_tcp(int argc, char **argv)
{
	if (argc < 2)
		return usage_error("tcp", "expected 'connect', 'listen' or 'ping'");
	if (is_help(argv[1]))
		return print_usage(find_command("tcp"));
	if (strcmp(argv[1], "connect") == 0)
		return cmd_tcp_connect(argc - 1, argv + 1);
	if (strcmp(argv[1], "listen") == 0)
		return cmd_tcp_listen(argc - 1, argv + 1);
	if (strcmp(argv[1], "ping") == 0)
		return cmd_tcp_ping(argc - 1, argv + 1);
	char q[QUOTE_MAX];
	return usage_error("tcp", "%s: expected 'connect', 'listen' or 'ping'",
	                   quote(argv[1], strlen(argv[1]), q));
}

const struct help_part tcp_help[] = {
	{ "usage: sockit tcp connect [options] HOST PORT\n"
	  "       sockit tcp listen [options] [-b ADDR] PORT\n"
	  "       sockit tcp ping [options] HOST PORT\n"
	  "\n"
	  "connect: relays stdin to the socket and the socket to stdout. At the end of stdin\n"
	  "it shuts down its sending side and keeps reading until the peer closes; the\n"
	  "peer's FIN ends only what the peer sends: stdin is still sent to its end.\n",
	  &connect_cmd },
	{ "\n"
	  "listen: serves on PORT (0 picks a free port; -v prints it). Without a mode it\n"
	  "relays with the first client over stdin/stdout, like 'nc -l', until both the\n"
	  "client and stdin have ended.\n",
	  &tcp_listen_cmd },
	{ "\n"
	  "With the default limits no server grows past 256 MiB, whatever its clients send.\n"
	  "\n"
	  "ping: connects to HOST PORT every second and prints each round trip, then\n"
	  "ping's statistics. A refusal (RST: host up, port closed) counts as a reply, no\n"
	  "answer within -W as a loss; each connection is closed once made. It exits 0\n"
	  "when some connect was answered (connected or refused), 1 when none was.\n",
	  &tcp_ping_cmd },
	{ "\n"
	  "exit status: 0 ok, 1 stdout or stdin failed (\"stdout: no space left on device\"),\n"
	  "2 usage, 3 unknown host, 4 refused, unreachable, reset (stdin not all sent) or\n"
	  "address in use, 5 connect, idle or TLS handshake timeout, 6 TLS: certificate\n"
	  "refused (expired, not yet valid, self-signed, unknown issuer, name or pin\n"
	  "mismatch) or handshake failed, 7 stdin or a certificate file unreadable, or a\n"
	  "port below 1024 without root. A closed stdout pipe (| head) ends the run\n"
	  "silently with status 0.\n",
	  NULL },
	{ 0 },
};
