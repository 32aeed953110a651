/* `sockit tcp connect` and the option parsing of `sockit tcp listen`
 * (whose server lives in tcp_listen.c). */
#include "tcp_cli.h"
#include "tlscli.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

const char tcp_usage[] =
	"usage: sockit tcp connect [options] HOST PORT\n"
	"       sockit tcp listen [options] [-b ADDR] PORT\n"
	"       sockit tcp ping [options] HOST PORT\n"
	"\n"
	"connect: relays stdin to the socket and the socket to stdout. At the end of stdin\n"
	"it shuts down its sending side and keeps reading until the peer closes; the\n"
	"peer's FIN ends only what the peer sends: stdin is still sent to its end.\n"
	"  -4, -6             IPv4 or IPv6 only\n"
	"  -w, --wait SECS    connect timeout (default: the kernel's, about 2 minutes)\n"
	"  -i, --idle SECS    close after SECS with no data either way\n"
	"      --send TEXT    send TEXT instead of reading stdin (no newline is added)\n"
	"  -d, --no-stdin     do not read stdin (and do not shut down the sending side)\n"
	"  -v, --verbose      print the local and peer addresses on stderr (with --tls: the\n"
	"                     version, cipher, ALPN and the server's certificate)\n"
	"      --trace        print each socket call on stderr\n"
	"      --tls          speak TLS (1.2 or 1.3); the server's certificate must chain to\n"
	"                     the system's CAs and name HOST (a DNS name, or an IP address)\n"
	"      --cafile FILE, --capath DIR   trust these CAs instead of the system's\n"
	"      --pin sha256:BASE64  accept exactly the certificate whose public key hashes\n"
	"                     to this (no CA or name check; repeatable)\n"
	"      --insecure     accept any certificate (and say so)\n"
	"      --servername NAME  the name to check and send as SNI instead of HOST\n"
	"      --alpn LIST    offer these protocols, comma-separated (h2,http/1.1)\n"
	"      --cert FILE [--key FILE]  present this client certificate (key: FILE's)\n"
	"      --tls-min 1.2|1.3   lowest version (default 1.2)\n"
	"      --handshake-timeout SECS  give up a handshake after SECS (default 10)\n"
	"\n"
	"listen: serves on PORT (0 picks a free port; -v prints it). Without a mode it\n"
	"relays with the first client over stdin/stdout, like 'nc -l', until both the\n"
	"client and stdin have ended.\n"
	"  -b, --bind ADDR    address to listen on (default: all, IPv4 and IPv6)\n"
	"  -k, --keep-open    relay mode: a client's EOF ends its session, and the next\n"
	"                     client gets the rest of stdin\n"
	"  -d, --no-stdin     relay mode: do not read stdin, only print what clients send\n"
	"      --echo         send every byte back (RFC 862)\n"
	"      --discard      read and drop everything (RFC 863)\n"
	"      --chargen      send the RFC 864 character pattern until the client closes\n"
	"      --daytime      send the date and time, then close (RFC 867)\n"
	"      --reply        answer each message with \"Received msg: MSG from ('IP', PORT)\"\n"
	"      --chat         send each message to every other client, prefixed with the sender\n"
	"      --exec CMD     run /bin/sh -c CMD per connection, the socket as its stdin/stdout\n"
	"      --frame MODE   messages for --reply and --chat: line (default), len32, raw\n"
	"      --max-msg BYTES      longest message of --reply and --chat (default 16384,\n"
	"                           at most 1048576); a longer one closes its client\n"
	"      --max-conns N        at most N clients at once (default 1024, --exec 64;\n"
	"                           0: no limit)\n"
	"      --max-per-client N   at most N connections from one address\n"
	"      --idle-timeout SECS  close a client idle for SECS\n"
	"      --exec-timeout SECS  kill an --exec command (its process group) after SECS\n"
	"                           (default 600; 0: never)\n"
	"      --allow CIDR   serve only these networks (repeatable)\n"
	"      --deny CIDR    never serve these networks (repeatable; deny wins; IPv4-mapped\n"
	"                     ::ffff:a.b.c.d rules are IPv4 rules)\n"
	"      --tls          serve TLS in every mode (--exec: the command gets plaintext\n"
	"                     through a socketpair); without --cert, a P-256 certificate\n"
	"                     is made for the run and its fingerprint and --pin printed\n"
	"      --cert FILE [--key FILE]  the server's certificate chain and key (PEM)\n"
	"      --verify-client CAFILE   require client certificates from these CAs\n"
	"      --alpn LIST, --tls-min 1.2|1.3, --handshake-timeout SECS  as for connect\n"
	"  -4, -6, -v, --trace  as for connect\n"
	"\n"
	"With the default limits no server grows past 256 MiB, whatever its clients send.\n"
	"\n"
	"ping: connects to HOST PORT every second and prints each round trip, then\n"
	"ping's statistics. A refusal (RST: host up, port closed) counts as a reply, no\n"
	"answer within -W as a loss; each connection is closed once made.\n"
	"  -c, --count N      stop after N connects      -i, --interval SECS (default 1)\n"
	"  -W, --timeout SECS  wait for each connect (default 2)\n"
	"  -w, --deadline SECS  stop after SECS          -q, --quiet: the summary only\n"
	"  -j, --json         one JSON object per connect and one summary object\n"
	"  ping's exit status: 0 some connect was answered, 1 none was\n"
	"\n"
	"exit status: 0 ok, 1 stdout or stdin failed (\"stdout: no space left on device\"),\n"
	"2 usage, 3 unknown host, 4 refused, unreachable, reset (stdin not all sent) or\n"
	"address in use, 5 connect, idle or TLS handshake timeout, 6 TLS: certificate\n"
	"refused (expired, not yet valid, self-signed, unknown issuer, name or pin\n"
	"mismatch) or handshake failed, 7 stdin or a certificate file unreadable. A closed\n"
	"stdout pipe (| head) ends the run silently with status 0.\n";

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
	if (st->a_eof && st->a_to_b_sent == st->a_to_b)
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

static const struct option connect_options[] = {
	{ "wait", required_argument, NULL, 'w' },
	{ "idle", required_argument, NULL, 'i' },
	{ "send", required_argument, NULL, 'S' },
	{ "no-stdin", no_argument, NULL, 'd' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "trace", no_argument, NULL, 'T' },
	{ "help", no_argument, NULL, 'h' },
	TLSCLI_CLIENT_OPTIONS,
	{ NULL, 0, NULL, 0 },
};

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

static int tls_done(struct tlscli *tls, int status)
{
	tlscli_fini(tls);
	return status;
}

/* Tries each resolved address in turn, as nc does; reports the last error. */
static int connect_any(const struct sk_addr *addrs, size_t n, unsigned wait_ms,
                       const struct sk_tracer *tracer, int *fd_out)
{
	int err = 0;
	char text[SK_ADDR_STRLEN], ctx[SK_ADDR_STRLEN + 32];
	for (size_t i = 0; i < n; i++) {
		int fd = sk_tcp_connect(&addrs[i], wait_ms ? (int)wait_ms : -1, tracer);
		if (fd >= 0) {
			*fd_out = fd;
			return EXIT_OK;
		}
		err = fd;
		sk_addr_format(&addrs[i], text);
		snprintf(ctx, sizeof ctx, "tcp connect: %s", text);
		if (i + 1 == n || err == -ETIMEDOUT) {
			if (err == -ETIMEDOUT)
				report(ctx, "timed out after %u ms", wait_ms);
			else
				report_err(ctx, err);
			return exit_status_of(err);
		}
	}
	return EXIT_FAIL;
}

static int cmd_tcp_connect(int argc, char **argv)
{
	int family = AF_UNSPEC, ch, st;
	unsigned wait_ms = 0, idle_ms = 0;
	const char *send_text = NULL;
	bool verbose = false, trace = false, no_stdin = false;
	struct tlscli tls;
	tlscli_init(&tls, "tcp connect", false);
	while ((ch = next_option("tcp connect", argc, argv, "46w:i:dvh", connect_options)) != -1) {
		if (tlscli_is_option(ch)) {
			if ((st = tlscli_option(&tls, ch, optarg)))
				return st;
			continue;
		}
		switch (ch) {
		case '4':
			family = AF_INET;
			break;
		case '6':
			family = AF_INET6;
			break;
		case 'w':
			if ((st = parse_seconds("tcp connect", "-w", optarg, &wait_ms)))
				return st;
			break;
		case 'i':
			if ((st = parse_seconds("tcp connect", "-i", optarg, &idle_ms)))
				return st;
			break;
		case 'S':
			send_text = optarg;
			break;
		case 'd':
			no_stdin = true;
			break;
		case 'v':
			verbose = tls.verbose = true;
			break;
		case 'T':
			trace = true;
			break;
		case 'h':
			return print_usage(find_command("tcp"));
		default:
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 2)
		return usage_error("tcp connect", "expected HOST and PORT, got %d argument%s",
		                   argc - optind, argc - optind == 1 ? "" : "s");

	/* The TLS config first: a bad file is reported before any connection. */
	if ((st = tlscli_setup(&tls, argv[optind])))
		return st;
	const struct sk_tracer *tracer = trace ? &stderr_tracer : NULL;
	struct sk_addr addrs[16];
	size_t n_addrs;
	if ((st = resolve_or_report("tcp connect", argv[optind], argv[optind + 1], family,
	                            SOCK_STREAM, false, addrs, 16, &n_addrs)))
		return tls_done(&tls, st);
	int fd = -1;
	if ((st = connect_any(addrs, n_addrs, wait_ms, tracer, &fd)))
		return tls_done(&tls, st);
	struct sk_addr local, peer;
	char l[SK_ADDR_STRLEN], p[SK_ADDR_STRLEN];
	sk_sock_local_addr(fd, &local);
	sk_sock_peer_addr(fd, &peer);
	sk_addr_format(&local, l);
	sk_addr_format(&peer, p);
	if (verbose)
		fprintf(stderr, "sockit: tcp connect: connected to %s from %s\n", p, l);
	int in = -1;
	if (send_text && tls.on) {
		in = text_fd(send_text);
		if (in < 0) {
			close(fd);
			return tls_done(&tls, report_err("tcp connect: --send", in));
		}
	} else if (send_text) {
		int err = send_all(fd, send_text, strlen(send_text), tracer);
		if (err < 0) {
			close(fd);
			return tls_done(&tls, report_err("tcp connect: send", err));
		}
	}

	struct sk_loop *loop;
	int err = sk_loop_new(&loop);
	if (err < 0) {
		close(fd);
		if (in >= 0)
			close(in);
		return tls_done(&tls, report_err("tcp connect", err));
	}
	loop_prefer_io_uring(loop);
	struct connect_run run = { EXIT_OK, verbose, send_text && !tls.on ? strlen(send_text) : 0,
	                           idle_ms, &tls, p };
	struct sk_relay_opts ro;
	sk_relay_opts_init(&ro);
	ro.a_silent = no_stdin && !send_text;
	ro.b.idle_ms = idle_ms;
	ro.b.tracer = tracer;
	ro.b.tls = tlscli_conn_opts(&tls);
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
		return tls_done(&tls, report_err("tcp connect", err));
	}
	close(STDOUT_FILENO); /* our dup is now the only writer */
	err = sk_loop_run(loop);
	sk_loop_free(loop);
	if (err < 0)
		return tls_done(&tls, report_err("tcp connect", err));
	return tls_done(&tls, run.status);
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
