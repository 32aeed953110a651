/* `sockit dns`: its usage, the dispatch to query (dns_query.c), and
 * `sockit dns serve`, an authoritative server with faults for testing
 * clients offline. */
#include "cli.h"
#include "dns_cli.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sockit/dns_server.h>
#include <sockit/dns_zone.h>

/* A zone file is read whole; past this it is no lab's zone. */
#define ZONE_FILE_MAX (256u << 20)
#define MAX_SERVFAIL 64

struct dns_serve {
	struct sk_dns_server_opts so;
	struct sk_dns_name servfail[MAX_SERVFAIL];
	const char *port, *bind_addr;
	unsigned long delay_ms, drop_percent; /* --delay, --drop: moved into so */
	int family;
	bool verbose, trace;
	const struct sk_tracer *tracer;
};

static int add_servfail(struct parse *ps, const char *arg)
{
	struct dns_serve *d = ps->base;
	char q[QUOTE_MAX];
	if (d->so.n_servfail == MAX_SERVFAIL)
		return usage_error("dns serve", "at most %d --servfail names", MAX_SERVFAIL);
	if (sk_dns_name_parse(arg, strlen(arg), NULL, &d->servfail[d->so.n_servfail]) < 0)
		return usage_error("dns serve", "--servfail %s: not a domain name",
		                   quote(arg, strlen(arg), q));
	d->so.n_servfail++;
	return 0;
}

static const struct opt serve_opts[] = {
	OPT_STRING_('p', "port", "PORT", struct dns_serve, port,
	            "port to serve (default 53; 0 picks a free one)"),
	OPT_STRING_('b', "bind", "ADDR", struct dns_serve, bind_addr,
	            "address to serve on (default: all, IPv4 and IPv6)"),
	OPT_FAMILY_('4', struct dns_serve, family, AF_INET, "IPv4 only"),
	OPT_FAMILY_('6', struct dns_serve, family, AF_INET6, "IPv6 only"),
	OPT_COUNT_(0, "delay", "MS", 3600000, struct dns_serve, delay_ms,
	           "hold every answer MS milliseconds (default 0: none)"),
	OPT_COUNT_(0, "drop", "PERCENT", 100, struct dns_serve, drop_percent,
	           "ignore this share of UDP queries (0-100, default 0)"),
	OPT_CALL_(0, "servfail", "NAME", add_servfail, 0, "answer SERVFAIL for NAME (repeatable)"),
	OPT_FLAG_(0, "truncate", struct dns_serve, so.truncate,
	          "answer every UDP query empty with TC set"),
	OPT_FLAG_('v', "verbose", struct dns_serve, verbose,
	          "'listening on ADDR:PORT', then one line per query"),
	OPT_FLAG_(0, "trace", struct dns_serve, trace, "print each socket call on stderr"),
	OPT_END_,
};

static const struct opt_cmd serve_cmd = { "dns serve", "dns", serve_opts, NULL };

static int parse_serve(int argc, char **argv, struct dns_serve *d, struct parse *ps)
{
	int st = parse_options(ps, &serve_cmd, argc, argv, d);
	if (st)
		return st;
	d->so.delay_ms = (unsigned)d->delay_ms;
	d->so.drop_percent = (unsigned)d->drop_percent;
	d->tracer = d->trace ? &stderr_tracer : NULL;
	if (ps->n_operands == 0)
		return usage_error("dns serve", "expected at least one zone or hosts FILE");
	return 0;
}

/* Reads a whole file; reports and returns an exit status on failure. */
static int read_file(const char *path, char **text, size_t *len)
{
	char q[QUOTE_MAX], ctx[QUOTE_MAX + 16];
	snprintf(ctx, sizeof ctx, "dns serve: %s", quote(path, strlen(path), q));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0) {
		report_err(ctx, -errno);
		return EXIT_LOCAL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > ZONE_FILE_MAX) {
		int err = S_ISDIR(st.st_mode) ? -EISDIR : SK_ETOOLARGE;
		close(fd);
		report_err(ctx, err);
		return EXIT_LOCAL;
	}
	char *buf = malloc((size_t)st.st_size + 1);
	size_t got = 0;
	while (buf && got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	int err = !buf ? SK_ENOMEM : got < (size_t)st.st_size ? -EIO : 0;
	close(fd);
	if (err) {
		free(buf);
		report_err(ctx, err);
		return EXIT_LOCAL;
	}
	*text = buf;
	*len = got;
	return 0;
}

static int load_zones(struct sk_dns_zones *z, char **files, int n_files)
{
	struct sk_dns_zone_error zerr = { 0 };
	for (int i = 0; i < n_files; i++) {
		char *text;
		size_t len;
		int st = read_file(files[i], &text, &len);
		if (st)
			return st;
		int err = sk_dns_zones_load(z, text, len, &zerr);
		free(text);
		if (err == SK_EDNS_SYNTAX)
			break;
		if (err < 0)
			return report_err("dns serve", err);
	}
	if (zerr.why[0] == 0 && sk_dns_zones_finish(z, &zerr) == 0)
		return 0;
	char ctx[1100];
	if (zerr.line)
		snprintf(ctx, sizeof ctx, "dns serve: %.1000s:%u", files[zerr.file], zerr.line);
	else
		snprintf(ctx, sizeof ctx, "dns serve: %.1000s", files[zerr.file]);
	report(ctx, "%s", zerr.why);
	return EXIT_LOCAL;
}

static void on_query(void *ud, const struct sk_addr *from, bool tcp,
                     const struct sk_dns_answer_info *info, int rcode)
{
	(void)ud;
	char who[SK_ADDR_STRLEN], name[SK_DNS_NAME_STRLEN] = "-", type[16] = "-";
	sk_addr_format(from, who);
	if (info->has_question) {
		sk_dns_name_format(&info->q.name, name);
		const char *t = sk_dns_type_name(info->q.type);
		if (t)
			snprintf(type, sizeof type, "%s", t);
		else
			snprintf(type, sizeof type, "TYPE%u", info->q.type);
	}
	const char *rc = rcode < 0 ? "dropped (--drop)" : sk_dns_rcode_name((unsigned)rcode);
	fprintf(stderr, "sockit: dns serve: %s %s: %s %s: %s%s\n", tcp ? "tcp" : "udp", who, name,
	        type, rc ? rc : "?", info->truncated ? " (truncated, TC)" : "");
}

static void on_error(void *ud, int err, const struct sk_addr *peer)
{
	(void)ud;
	char ctx[SK_ADDR_STRLEN + 16] = "dns serve";
	if (peer) {
		char text[SK_ADDR_STRLEN];
		sk_addr_format(peer, text);
		snprintf(ctx, sizeof ctx, "dns serve: %s", text);
	}
	char reason[128];
	report(ctx, "%s (still serving)", reason_of(err, reason, sizeof reason));
}

static void on_stop(struct sk_loop *loop, int signo, void *ud)
{
	(void)signo;
	(void)ud;
	sk_loop_stop(loop);
}

/* UDP and TCP on one port: with port 0 the UDP socket picks it, and TCP
 * takes the same (tried again a few times should another take it first). */
static int open_sockets(struct dns_serve *d, int *udp_out, int *tcp_out)
{
	struct sk_addr addrs[8];
	size_t n;
	int st = resolve_or_report("dns serve", d->bind_addr, d->port, d->family, SOCK_DGRAM, true,
	                           addrs, 8, &n);
	if (st)
		return st;
	struct sk_addr addr = addrs[pick_listen_addr(addrs, n, d->bind_addr, d->family)];
	struct sk_sock_opts so;
	sk_sock_opts_init(&so);
	so.tracer = d->tracer;
	char text[SK_ADDR_STRLEN], ctx[SK_ADDR_STRLEN + 16];
	for (int attempt = 0;; attempt++) {
		int udp = sk_udp_open(&addr, 0, &so);
		if (udp < 0) {
			sk_addr_format(&addr, text);
			snprintf(ctx, sizeof ctx, "dns serve: %s", text);
			return report_err(ctx, udp);
		}
		struct sk_addr bound = addr;
		sk_sock_local_addr(udp, &bound);
		int tcp = sk_tcp_listen(&bound, &so);
		if (tcp >= 0) {
			*udp_out = udp;
			*tcp_out = tcp;
			return 0;
		}
		close(udp);
		if (tcp != -EADDRINUSE || attempt == 8 || d->port[0] != '0') {
			sk_addr_format(&bound, text);
			snprintf(ctx, sizeof ctx, "dns serve: tcp %s", text);
			return report_err(ctx, tcp);
		}
	}
}

static int cmd_dns_serve(int argc, char **argv)
{
	struct dns_serve *d = calloc(1, sizeof *d);
	if (!d)
		return report_err("dns serve", SK_ENOMEM);
	sk_dns_server_opts_init(&d->so);
	d->port = "53";
	struct sk_dns_zones *zones = NULL;
	struct sk_loop *loop = NULL;
	struct sk_dns_server *server = NULL;
	int udp = -1, tcp = -1, err;
	struct parse ps;
	int st = parse_serve(argc, argv, d, &ps);
	if (st)
		goto done;
	if ((err = sk_dns_zones_new(&zones)) < 0) {
		st = report_err("dns serve", err);
		goto done;
	}
	if ((st = load_zones(zones, ps.operands, ps.n_operands)))
		goto done;
	if ((st = open_sockets(d, &udp, &tcp)))
		goto done;
	if ((err = sk_loop_new(&loop)) < 0) {
		close(udp);
		close(tcp);
		st = report_err("dns serve", err);
		goto done;
	}
	sk_loop_add_signal(loop, SIGINT, on_stop, NULL);
	sk_loop_add_signal(loop, SIGTERM, on_stop, NULL);
	d->so.servfail = d->servfail;
	d->so.on_query = d->verbose ? on_query : NULL;
	d->so.on_error = on_error;
	d->so.tracer = d->tracer;
	struct sk_addr local;
	sk_sock_local_addr(udp, &local);
	if ((err = sk_dns_server_new(loop, zones, udp, tcp, &d->so, &server)) < 0) {
		st = report_err("dns serve", err);
		goto done;
	}
	if (d->verbose) {
		char text[SK_ADDR_STRLEN];
		sk_addr_format(&local, text);
		fprintf(stderr, "listening on %s\n", text);
		fprintf(stderr, "sockit: dns serve: %zu records in %zu zones\n",
		        sk_dns_zones_n_records(zones), sk_dns_zones_n_zones(zones));
	}
	if ((err = sk_loop_run(loop)) < 0)
		st = report_err("dns serve", err);
	if (d->verbose && server) {
		struct sk_dns_server_stats ss;
		sk_dns_server_stats(server, &ss);
		fprintf(stderr, "sockit: dns serve: answered %llu over UDP (%llu truncated), %llu over TCP;"
		        " %llu dropped\n", ss.n_udp, ss.n_truncated, ss.n_tcp, ss.n_dropped);
	}
done:
	sk_dns_server_free(server);
	sk_loop_free(loop);
	sk_dns_zones_free(zones);
	free(d);
	return st == PARSE_HELP ? EXIT_OK : st;
}

const struct help_part dns_help[] = {
	{ "usage: sockit dns query [@SERVER[:PORT]] NAME [TYPE] [options]\n"
	  "       sockit dns query -x ADDRESS [@SERVER[:PORT]] [options]\n"
	  "       sockit dns query -f FILE [@SERVER[:PORT]] [options]\n"
	  "       sockit dns serve [-p PORT] [-b ADDR] [options] FILE...\n"
	  "\n"
	  "query: asks a DNS server, as dig does, and prints the response in dig's\n"
	  "sections. TYPE is A (default), AAAA, CNAME, MX, NS, TXT, SOA, PTR, SRV, CAA,\n"
	  "HINFO, ANY or TYPEnnn. SERVER defaults to the first nameserver of\n"
	  "/etc/resolv.conf. Every query has a random ID and an EDNS(0) buffer of 1232\n"
	  "bytes; a response counts only from the server asked, with the same ID and\n"
	  "question (others are ignored, and counted with -v); a truncated (TC) answer\n"
	  "is asked again over TCP.\n", &dns_query_cmd },
	{ "\n"
	  "serve: answers from zone files (RFC 1035 master files: $ORIGIN, $TTL, @,\n"
	  "relative names, parentheses; one zone with its SOA per file) and hosts files\n"
	  "(ADDRESS NAME...: A, AAAA and PTR records), over UDP and TCP on one port.\n"
	  "NXDOMAIN and NODATA carry the zone's SOA; CNAMEs are followed inside the\n"
	  "data; UDP answers are cut to the client's EDNS size (512 without EDNS) with\n"
	  "TC set; names outside every zone are REFUSED.\n", &serve_cmd },
	{ "\n"
	  "exit status: query: 0 an answer, 1 NODATA (the name has no record of that\n"
	  "type), 2 usage, 3 NXDOMAIN, 4 network (refused, unreachable), 5 no response in\n"
	  "time, 6 SERVFAIL, REFUSED, FORMERR or a malformed response, 7 a -f FILE that\n"
	  "cannot be read; with -f the worst of all queries. serve: 0 after SIGINT or\n"
	  "SIGTERM, 2 usage, 3 an unknown -b name, 4 address in use, 7 a zone file that\n"
	  "cannot be read or is wrong (with FILE:LINE and why)\n",
	  NULL },
	{ 0 },
};

int cmd_dns(int argc, char **argv)
{
	if (argc < 2)
		return usage_error("dns", "expected 'query' or 'serve'");
	if (is_help(argv[1]))
		return print_usage(find_command("dns"));
	if (strcmp(argv[1], "query") == 0)
		return cmd_dns_query(argc - 1, argv + 1);
	if (strcmp(argv[1], "serve") == 0)
		return cmd_dns_serve(argc - 1, argv + 1);
	char q[QUOTE_MAX];
	return usage_error("dns", "%s: expected 'query' or 'serve'", quote(argv[1], strlen(argv[1]), q));
}
