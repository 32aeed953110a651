/* `sockit dns query`: one question, or a file of them with many in flight
 * on one socket, printed in input order as dig's sections, dig's +short or
 * JSON; the exit status says what the answer was. */
#include "cli.h"
#include "dns_cli.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sockit/dns_client.h>

#define DEFAULT_INFLIGHT 100
#define MAX_INFLIGHT 10000
/* Lines of a -f file: a million questions is a benchmark, not a typo. */
#define MAX_QUESTIONS 1000000

struct question {
	struct sk_dns_name name;
	uint16_t type;
	bool bad;               /* the line did not parse: reported, not asked */
	bool done;
	int err;
	unsigned char *msg;     /* the response, kept until its turn to print */
	size_t len;
	bool tcp;
	unsigned long rtt_ms;
};

struct dns_query {
	struct sk_dns_client_opts co;
	struct sk_dns_client *client;
	struct sk_loop *loop;
	enum dns_format fmt;
	const char *server_arg, *port, *file, *reverse;
	int family;
	bool verbose, trace, norecurse;
	unsigned long inflight, retries;
	char server_text[SK_ADDR_STRLEN + 8];
	struct question *qs;
	size_t n_qs, next_send, next_print, n_done;
	int status;
	struct sk_dns_rr *rrs;
	struct out *out;
};

static int set_format(struct parse *ps, const char *arg)
{
	(void)arg;
	struct dns_query *d = ps->base;
	enum dns_format fmt = (enum dns_format)ps->opt->n;
	if (d->fmt != DNS_TEXT && d->fmt != fmt)
		return usage_error("dns query", "--short and --json exclude each other");
	d->fmt = fmt;
	return 0;
}

static const struct opt query_opts[] = {
	OPT_STRING_('x', NULL, "ADDRESS", struct dns_query, reverse,
	            "reverse lookup: the PTR record of ADDRESS"),
	OPT_STRING_('p', "port", "PORT", struct dns_query, port, "the server's port (default 53)"),
	OPT_FLAG_(0, "tcp", struct dns_query, co.tcp_only, "ask over TCP only"),
	OPT_SECONDS_(0, "timeout", struct dns_query, co.timeout_ms,
	             "wait this long for each try (default 2; 0 is refused)"),
	OPT_COUNT_(0, "retries", "N", 100, struct dns_query, retries,
	           "try again N times after a timeout (default 2; 0: one try only)"),
	OPT_FLAG_(0, "norecurse", struct dns_query, norecurse,
	          "clear RD: ask the server for what it holds itself"),
	OPT_FLAG_(0, "0x20", struct dns_query, co.use_0x20,
	          "randomise the case of the name and check the echo"),
	OPT_CALL_(0, "short", NULL, set_format, DNS_SHORT,
	          "only the answer data, one record per line"),
	OPT_CALL_(0, "json", NULL, set_format, DNS_JSON,
	          "one JSON object per query (RFC 8427 member names)"),
	OPT_FLAG_(0, "trace", struct dns_query, trace,
	          "each socket call, and each message in hex with the header's fields named"),
	OPT_STRING_('f', "file", "FILE", struct dns_query, file,
	            "one 'NAME [TYPE]' per line ('-': stdin), queries in flight together on one "
	            "socket, answers in input order"),
	OPT_COUNT_(0, "inflight", "N", MAX_INFLIGHT, struct dns_query, inflight,
	           "queries in flight at once with -f (default 100; 0 is refused)"),
	OPT_FAMILY_('4', struct dns_query, family, AF_INET, "reach the server over IPv4 only"),
	OPT_FAMILY_('6', struct dns_query, family, AF_INET6, "reach the server over IPv6 only"),
	OPT_FLAG_('v', "verbose", struct dns_query, verbose,
	          "responses ignored, retries and the TCP fallback on stderr"),
	OPT_END_,
};

const struct opt_cmd dns_query_cmd = { "dns query", "dns", query_opts, NULL };

/* The options into d (and d->co), then the checks the table cannot make.
 * Returns 0, PARSE_HELP or EXIT_USAGE. */
static int parse_query_options(int argc, char **argv, struct dns_query *d, struct parse *ps)
{
	int st = parse_options(ps, &dns_query_cmd, argc, argv, d);
	if (st)
		return st;
	const char *typed;
	if ((typed = opt_seen(ps, "timeout")) && d->co.timeout_ms == 0)
		return usage_error("dns query", "%s 0: a query needs some time", typed);
	if (opt_seen(ps, "retries"))
		d->co.retries = (unsigned)d->retries;
	if ((typed = opt_seen(ps, "inflight")) && d->inflight == 0)
		return usage_error("dns query", "%s 0: at least one query must fly", typed);
	if (d->norecurse)
		d->co.recurse = false;
	if (d->trace)
		d->co.tracer = &stderr_tracer;
	return 0;
}

/* The first nameserver of /etc/resolv.conf, as the C library would use;
 * 127.0.0.1 when there is none (resolv.conf(5)). */
static void default_server(char *buf, size_t cap)
{
	snprintf(buf, cap, "127.0.0.1");
	FILE *f = fopen("/etc/resolv.conf", "re");
	if (!f)
		return;
	char line[512];
	while (fgets(line, sizeof line, f)) {
		char addr[256];
		if (sscanf(line, " nameserver %255s", addr) == 1) {
			snprintf(buf, cap, "%s", addr);
			break;
		}
	}
	fclose(f);
}

/* "@127.0.0.1", "@127.0.0.1:5353", "@::1", "@[::1]:5353", "@ns.example". */
static int resolve_server(struct dns_query *d)
{
	char host[300];
	const char *port = d->port;
	char port_buf[8];
	if (!d->server_arg) {
		default_server(host, sizeof host);
	} else {
		const char *s = d->server_arg;
		const char *colon = strrchr(s, ':');
		if (s[0] == '[') {
			const char *close = strchr(s, ']');
			if (!close || (close[1] && close[1] != ':'))
				return usage_error("dns query", "@%s: expected @[ADDRESS]:PORT", s);
			snprintf(host, sizeof host, "%.*s", (int)(close - s - 1), s + 1);
			colon = close[1] == ':' ? close + 1 : NULL;
		} else if (colon && strchr(s, ':') == colon) {
			snprintf(host, sizeof host, "%.*s", (int)(colon - s), s);
		} else {
			colon = NULL;
			snprintf(host, sizeof host, "%s", s);
		}
		if (colon) {
			if (d->port)
				return usage_error("dns query", "give the port once: @SERVER:PORT or -p PORT");
			snprintf(port_buf, sizeof port_buf, "%.7s", colon + 1);
			port = port_buf;
		}
	}
	if (!port)
		port = "53";
	size_t n;
	int st = resolve_or_report("dns query", host, port, d->family, SOCK_DGRAM, false,
	                           &d->co.server, 1, &n);
	if (st)
		return st;
	/* dig's way of writing a server: 127.0.0.1#53 */
	struct sk_ip ip;
	unsigned p = 0;
	char text[SK_IP_STRLEN];
	sk_addr_to_ip(&d->co.server, &ip, &p);
	sk_ip_format(&ip, SK_IP_CANONICAL, text);
	snprintf(d->server_text, sizeof d->server_text, "%s#%u", text, p);
	return 0;
}

static int add_question(struct dns_query *d, const struct question *q)
{
	if (d->n_qs == MAX_QUESTIONS)
		return usage_error("dns query", "more than %d questions", MAX_QUESTIONS);
	if ((d->n_qs & (d->n_qs - 1)) == 0) {
		size_t cap = d->n_qs ? d->n_qs * 2 : 1;
		struct question *grown = realloc(d->qs, cap * sizeof *grown);
		if (!grown)
			return report_err("dns query", SK_ENOMEM);
		d->qs = grown;
	}
	d->qs[d->n_qs++] = *q;
	return 0;
}

/* NAME [TYPE] from text; reports in ctx's words. */
static int parse_question(const char *ctx, const char *name, size_t name_len, const char *type,
                          size_t type_len, struct question *q)
{
	char qt[QUOTE_MAX];
	memset(q, 0, sizeof *q);
	q->type = SK_DNS_A;
	int err = sk_dns_name_parse(name, name_len, NULL, &q->name);
	if (err < 0) {
		report(ctx, "%s: %s", quote(name, name_len, qt),
		       err == SK_EDNS_NAME_LONG ? "name longer than 255 bytes"
		                                : "not a domain name (an empty label, a label over 63 "
		                                  "bytes or a bad escape)");
		return EXIT_USAGE;
	}
	if (type && sk_dns_type_parse(type, type_len, &q->type) < 0) {
		report(ctx, "%s: not a record type (A, AAAA, MX ... or TYPEnnn)",
		       quote(type, type_len, qt));
		return EXIT_USAGE;
	}
	return 0;
}

static int read_file_questions(struct dns_query *d)
{
	FILE *f = strcmp(d->file, "-") == 0 ? stdin : fopen(d->file, "re");
	char q[QUOTE_MAX], ctx[QUOTE_MAX + 32];
	if (!f) {
		snprintf(ctx, sizeof ctx, "dns query: %s", quote(d->file, strlen(d->file), q));
		return report_err(ctx, -errno);
	}
	char *line = NULL;
	size_t cap = 0;
	unsigned long no = 0;
	int st = 0;
	while (getline(&line, &cap, f) >= 0) {
		no++;
		char *fields[3];
		int n = 0;
		for (char *tok = strtok(line, " \t\r\n"); tok && n < 3; tok = strtok(NULL, " \t\r\n"))
			fields[n++] = tok;
		if (n == 0 || fields[0][0] == '#' || fields[0][0] == ';')
			continue;
		struct question one;
		snprintf(ctx, sizeof ctx, "dns query: %s:%lu", d->file, no);
		int bad = n == 3 ? (report(ctx, "expected 'NAME [TYPE]'"), EXIT_USAGE)
		                 : parse_question(ctx, fields[0], strlen(fields[0]), n == 2 ? fields[1] : NULL,
		                                  n == 2 ? strlen(fields[1]) : 0, &one);
		if (bad) {
			memset(&one, 0, sizeof one);
			one.bad = one.done = true;
			st = EXIT_USAGE;
		}
		int e = add_question(d, &one);
		if (e) {
			st = e;
			break;
		}
	}
	free(line);
	if (f != stdin)
		fclose(f);
	if (d->n_qs == 0 && st == 0)
		return usage_error("dns query", "%s: no questions in it", quote(d->file, strlen(d->file), q));
	d->status = st;
	return st == EXIT_USAGE ? 0 : st;
}

static int read_questions(struct dns_query *d, int n_operands, char **operands)
{
	const char *name = NULL, *type = NULL;
	for (int i = 0; i < n_operands; i++) {
		if (operands[i][0] == '@') {
			if (d->server_arg)
				return usage_error("dns query", "one @SERVER only");
			d->server_arg = operands[i] + 1;
		} else if (!name && !d->reverse && !d->file) {
			name = operands[i];
		} else if (!type && !d->file) {
			type = operands[i];
		} else {
			char q[QUOTE_MAX];
			return usage_error("dns query", "unexpected %s",
			                   quote(operands[i], strlen(operands[i]), q));
		}
	}
	if (d->file && d->reverse)
		return usage_error("dns query", "-f and -x exclude each other");
	if (d->file)
		return read_file_questions(d);
	struct question q;
	if (d->reverse) {
		struct sk_ip ip;
		char qt[QUOTE_MAX];
		if (sk_ip_parse(d->reverse, strlen(d->reverse), &ip, NULL) < 0)
			return usage_error("dns query", "-x %s: not an IPv4 or IPv6 address",
			                   quote(d->reverse, strlen(d->reverse), qt));
		memset(&q, 0, sizeof q);
		sk_dns_name_reverse(&ip, &q.name);
		q.type = SK_DNS_PTR;
		if (type && sk_dns_type_parse(type, strlen(type), &q.type) < 0)
			return usage_error("dns query", "%s: not a record type", quote(type, strlen(type), qt));
	} else {
		if (!name)
			return usage_error("dns query", "expected NAME [TYPE], -x ADDRESS or -f FILE");
		int st = parse_question("dns query", name, strlen(name), type, type ? strlen(type) : 0, &q);
		if (st)
			return st;
	}
	return add_question(d, &q);
}

/* --- Results, in input order ---------------------------------------------------------- */

static void question_text(const struct question *q, char *buf, size_t cap)
{
	char name[SK_DNS_NAME_STRLEN], type[16];
	sk_dns_name_format(&q->name, name);
	const char *t = sk_dns_type_name(q->type);
	if (t)
		snprintf(type, sizeof type, "%s", t);
	else
		snprintf(type, sizeof type, "TYPE%u", q->type);
	snprintf(buf, cap, "%.200s %s", name, type);
}

static int failure(struct dns_query *d, const struct question *q)
{
	char what[256], ctx[320], reason[160];
	question_text(q, what, sizeof what);
	snprintf(ctx, sizeof ctx, "dns query: %s", what);
	int st;
	if (q->err == -ETIMEDOUT) {
		snprintf(reason, sizeof reason, "no response from %s within %u ms (%u tr%s)",
		         d->server_text, d->co.timeout_ms, d->co.retries + 1,
		         d->co.retries ? "ies" : "y");
		st = EXIT_TIMEOUT;
	} else if (SK_EDNS_IS_MALFORMED(q->err) || q->err == SK_EDNS_ID) {
		char r[128];
		snprintf(reason, sizeof reason, "malformed response from %s: %s", d->server_text,
		         reason_of(q->err, r, sizeof r));
		st = EXIT_PEER;
	} else {
		char r[128];
		snprintf(reason, sizeof reason, "%s: %s", d->server_text, reason_of(q->err, r, sizeof r));
		st = exit_status_of(q->err);
		if (st == EXIT_FAIL || st == EXIT_USAGE)
			st = EXIT_NETWORK;
	}
	report(ctx, "%s", reason);
	if (d->fmt == DNS_JSON)
		dns_print_json_error(d->out, &q->name, q->type, reason);
	return st;
}

static void print_ready(struct dns_query *d)
{
	while (d->next_print < d->n_qs && d->qs[d->next_print].done) {
		struct question *q = &d->qs[d->next_print++];
		int st;
		if (q->bad) {
			st = EXIT_USAGE;
		} else if (q->err) {
			st = failure(d, q);
		} else {
			struct sk_dns_msg m = { .rrs = d->rrs, .cap_rrs = 6000 };
			sk_dns_parse(q->msg, q->len, &m); /* parsed once already: cannot fail */
			dns_print_response(d->out, d->fmt, &m, d->server_text, q->tcp ? "TCP" : "UDP",
			                   q->rtt_ms);
			st = dns_status_of(&m);
		}
		free(q->msg);
		q->msg = NULL;
		if (st > d->status)
			d->status = st;
	}
}

static void send_more(struct dns_query *d);

static void on_done(void *ud, size_t tag, const struct sk_dns_result *r)
{
	struct dns_query *d = ud;
	struct question *q = &d->qs[tag];
	q->done = true;
	q->err = r->err;
	q->tcp = r->tcp;
	q->rtt_ms = (unsigned long)r->elapsed_ms;
	if (r->err == 0) {
		q->msg = malloc(r->len);
		if (!q->msg)
			q->err = SK_ENOMEM;
		else
			memcpy(q->msg, r->msg, r->len);
		q->len = r->len;
	}
	d->n_done++;
	print_ready(d);
	send_more(d);
	if (d->next_print == d->n_qs)
		sk_loop_stop(d->loop);
}

static void send_more(struct dns_query *d)
{
	while (d->next_send < d->n_qs && sk_dns_client_inflight(d->client) < d->inflight) {
		size_t i = d->next_send++;
		if (d->qs[i].bad)
			continue;
		int err = sk_dns_client_query(d->client, &d->qs[i].name, d->qs[i].type, i, on_done, d);
		if (err < 0) {
			d->qs[i].done = true;
			d->qs[i].err = err;
		}
	}
	print_ready(d);
}

static void on_wire(void *ud, bool is_query, bool tcp, const unsigned char *msg, size_t len)
{
	struct dns_query *d = ud;
	char what[128];
	snprintf(what, sizeof what, "%s %s %s", is_query ? "query to" : "response from",
	         d->server_text, tcp ? "(TCP)" : "(UDP)");
	dns_print_hex(what, msg, len);
}

static void on_note(void *ud, int why, const struct sk_addr *from)
{
	struct dns_query *d = ud;
	if (!d->verbose)
		return;
	char text[SK_ADDR_STRLEN];
	sk_addr_format(from, text);
	if (why == -1)
		fprintf(stderr, "sockit: dns query: no response from %s within %u ms: asking again\n",
		        d->server_text, d->co.timeout_ms);
	else if (why == -2)
		fprintf(stderr, "sockit: dns query: %s: truncated (TC): asking again over TCP\n",
		        d->server_text);
	else
		fprintf(stderr, "sockit: dns query: ignored a datagram from %s %s\n", text,
		        sk_dns_ignored_reason((enum sk_dns_ignored)why));
}

static void on_stop(struct sk_loop *loop, int signo, void *ud)
{
	(void)signo;
	(void)ud;
	sk_loop_stop(loop);
}

static void report_ignored(const struct dns_query *d)
{
	if (!d->verbose || !d->client)
		return;
	struct sk_dns_client_stats st;
	sk_dns_client_stats(d->client, &st);
	for (int i = 0; i < SK_DNS_N_IGNORED; i++)
		if (st.n_ignored[i])
			fprintf(stderr, "sockit: dns query: ignored %llu datagram%s %s\n", st.n_ignored[i],
			        st.n_ignored[i] == 1 ? "" : "s", sk_dns_ignored_reason((enum sk_dns_ignored)i));
}

int cmd_dns_query(int argc, char **argv)
{
	struct dns_query *d = calloc(1, sizeof *d);
	struct sk_dns_rr *rrs = malloc(6000 * sizeof *rrs);
	if (!d || !rrs) {
		free(d);
		free(rrs);
		return report_err("dns query", SK_ENOMEM);
	}
	sk_dns_client_opts_init(&d->co);
	d->inflight = DEFAULT_INFLIGHT;
	d->rrs = rrs;
	d->out = out_stdout("dns query");
	struct parse ps;
	int err, st = parse_query_options(argc, argv, d, &ps);
	if (st == 0)
		st = read_questions(d, ps.n_operands, ps.operands);
	if (st == 0)
		st = resolve_server(d);
	if (st)
		goto done;
	if (!d->file)
		d->inflight = 1;
	d->co.ud = d;
	d->co.on_note = on_note;
	d->co.on_wire = d->trace ? on_wire : NULL;
	if ((err = sk_loop_new(&d->loop)) < 0 || (err = sk_dns_client_new(d->loop, &d->co, &d->client)) < 0) {
		st = report_err("dns query", err);
		goto done;
	}
	sk_loop_add_signal(d->loop, SIGINT, on_stop, NULL);
	sk_loop_add_signal(d->loop, SIGTERM, on_stop, NULL);
	send_more(d);
	if (d->next_print < d->n_qs && (err = sk_loop_run(d->loop)) < 0)
		st = report_err("dns query", err);
	report_ignored(d);
	if (st == 0)
		st = d->next_print < d->n_qs ? EXIT_FAIL : d->status;
done:
	sk_dns_client_free(d->client);
	sk_loop_free(d->loop);
	for (size_t i = 0; i < d->n_qs; i++)
		free(d->qs[i].msg);
	free(d->qs);
	free(rrs);
	free(d);
	return st == PARSE_HELP ? EXIT_OK : st;
}
