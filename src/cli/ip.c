/* `sockit ip`: the address calculator. Reads inputs from the command line or,
 * in batch mode, one per line from stdin, and prints a block, a JSON Lines
 * record, an explanation or a list of subnets for each. */
#include "ip_cli.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* stdin is read in blocks this big; a line longer than a block still works
 * (the buffer grows) up to MAX_LINE, past which the line is refused. */
#define READ_BLOCK (256 * 1024)
#define MAX_LINE (1024 * 1024)

struct ip_cmd_opts {
	bool json, explain, classful;
	const char *split; /* the text after --split, or NULL */
	const char *hosts; /* the text after --hosts, or NULL */
};

/* --hosts takes at most this many counts: subnetting plans, not lists. */
#define MAX_HOST_COUNTS 64

static const struct opt ip_opts[] = {
	OPT_FLAG_('j', "json", struct ip_cmd_opts, json,
	          "one JSON object per input per line (JSON Lines)"),
	OPT_FLAG_('e', "explain", struct ip_cmd_opts, explain,
	          "the binary arithmetic: address AND netmask, class bits, range"),
	OPT_FLAG_('c', "classful", struct ip_cmd_opts, classful,
	          "an IPv4 address without a prefix gets its class's mask (A /8, B /16, C /24)"),
	OPT_STRING_('s', "split", "/N", struct ip_cmd_opts, split,
	            "list the /N subnets of each network"),
	OPT_STRING_(0, "hosts", "N,N,...", struct ip_cmd_opts, hosts,
	            "the smallest subnets of each network that hold N hosts each, in the order "
	            "given (as ipcalc -s): --hosts 50,20,10"),
	OPT_END_,
};

static const struct opt_cmd ip_cmd = { "ip", "ip", ip_opts, NULL };

struct ip_run {
	struct ip_cmd_opts opt;
	struct out *out;
	unsigned long n_failed;
};

static int parse_input(const struct ip_run *run, const char *s, size_t len, struct sk_ip_cidr *c,
                       char *reason, size_t cap)
{
	struct sk_slice bad = { 0 };
	int err = sk_ip_parse_cidr(s, len, c, &bad);
	if (err < 0) {
		describe_parse_error(err, s, len, bad, reason, cap);
		return err;
	}
	if (run->opt.classful && !c->has_prefix && c->addr.version == SK_IP_V4)
		c->prefix = sk_ip_class_prefix(sk_ip_class(&c->addr));
	return 0;
}

static int print_split(struct ip_run *run, const struct sk_ip_cidr *c, char *reason, size_t cap)
{
	unsigned new_prefix;
	const char *text = run->opt.split[0] == '/' ? run->opt.split + 1 : run->opt.split;
	struct sk_slice bad = { 0 };
	int err = sk_ip_parse_prefix(text, strlen(text), c->addr.version, &new_prefix, &bad);
	if (err == 0 && new_prefix < c->prefix)
		err = SK_EPREFIX_SHORTER;
	if (err < 0) {
		char why[160];
		describe_parse_error(err, text, strlen(text), bad, why, sizeof why);
		char q[QUOTE_MAX];
		snprintf(reason, cap, "--split %s: %s", quote(run->opt.split, strlen(run->opt.split), q),
		         why);
		return err;
	}
	struct sk_ip net = sk_ip_network(&c->addr, c->prefix);
	struct sk_ip end = sk_ip_last(&c->addr, c->prefix);
	for (;;) {
		if (run->opt.json)
			print_block_json(run->out, &net, new_prefix);
		else
			print_block_text(run->out, &net, new_prefix);
		struct sk_ip block_end = sk_ip_last(&net, new_prefix);
		/* Stop at the end of the network, or when stdout has gone away. */
		if (sk_ip_cmp(&block_end, &end) >= 0 || run->out->err)
			break;
		sk_ip_next_block(&net, new_prefix, &net);
	}
	return 0;
}

/* The usable hosts of a /prefix block (2^count_log2 - hosts_minus) are at
 * least n. */
static bool holds(const struct sk_ip *net, unsigned prefix, unsigned long long n)
{
	struct sk_ip_cidr c = { .addr = *net, .prefix = prefix, .has_prefix = true };
	struct sk_ip_info info;
	sk_ip_describe(&c, &info);
	if (info.count_log2 >= 64)
		return true;
	unsigned long long count = 1ULL << info.count_log2;
	return count >= info.hosts_minus && count - info.hosts_minus >= n;
}

/* "50,20,10" -> counts; the number of counts, or 0 if the text is not such
 * a list. */
static size_t parse_host_counts(const char *text, unsigned long long *counts)
{
	size_t n = 0;
	const char *p = text;
	for (;;) {
		char *end;
		errno = 0;
		if (n == MAX_HOST_COUNTS || *p < '0' || *p > '9')
			return 0;
		counts[n] = strtoull(p, &end, 10);
		if (errno || counts[n] == 0)
			return 0;
		n++;
		if (*end == '\0')
			return n;
		if (*end != ',')
			return 0;
		p = end + 1;
	}
}

/* --hosts: for each count the smallest block whose usable hosts hold it.
 * The blocks are placed largest first, each right after the one before,
 * so none leaves a gap to align the next (ipcalc -s does the same), and
 * listed in the order the counts were given. */
static int print_hosts(struct ip_run *run, const struct sk_ip_cidr *c, char *reason, size_t cap)
{
	unsigned long long counts[MAX_HOST_COUNTS];
	unsigned prefix[MAX_HOST_COUNTS];
	struct sk_ip block[MAX_HOST_COUNTS];
	size_t order[MAX_HOST_COUNTS];
	char q[QUOTE_MAX];
	const char *text = run->opt.hosts;
	size_t n = parse_host_counts(text, counts);
	if (n == 0) {
		snprintf(reason, cap, "--hosts %s: expected host counts such as 50,20,10 (at most %d)",
		         quote(text, strlen(text), q), MAX_HOST_COUNTS);
		return SK_EINVAL;
	}
	struct sk_ip net = sk_ip_network(&c->addr, c->prefix);
	struct sk_ip last = sk_ip_last(&c->addr, c->prefix);
	for (size_t i = 0; i < n; i++) {
		prefix[i] = sk_ip_bits(c->addr.version);
		while (prefix[i] > c->prefix && !holds(&net, prefix[i], counts[i]))
			prefix[i]--;
		/* Largest first (insertion sort: the order of equal ones kept). */
		size_t j = i;
		for (; j > 0 && prefix[order[j - 1]] > prefix[i]; j--)
			order[j] = order[j - 1];
		order[j] = i;
	}
	struct sk_ip at = net;
	bool full = false;
	for (size_t k = 0; k < n; k++) {
		size_t i = order[k];
		struct sk_ip end = sk_ip_last(&at, prefix[i]);
		if (full || !holds(&at, prefix[i], counts[i]) || sk_ip_cmp(&end, &last) > 0) {
			char a[SK_IP_STRLEN];
			sk_ip_format(&net, SK_IP_CANONICAL, a);
			snprintf(reason, cap, "--hosts %s: the subnets do not fit in %s/%u",
			         quote(text, strlen(text), q), a, c->prefix);
			return SK_ERANGE;
		}
		block[i] = at;
		full = sk_ip_next_block(&at, prefix[i], &at) < 0;
	}
	for (size_t i = 0; i < n && !run->out->err; i++) {
		if (run->opt.json)
			print_hosts_json(run->out, &block[i], prefix[i], counts[i]);
		else
			print_hosts_text(run->out, &block[i], prefix[i], counts[i]);
	}
	return 0;
}

static bool blocks_need_gap(const struct ip_run *run)
{
	return !run->opt.json && !run->opt.split && !run->opt.hosts;
}

/* One input: prints its result (after a blank line if blocks came before),
 * or returns an error with reason filled and prints nothing. */
static int handle_input(struct ip_run *run, const char *s, size_t len, char *reason, size_t cap,
                        const bool *printed)
{
	struct sk_ip_cidr c;
	int err = parse_input(run, s, len, &c, reason, cap);
	if (err < 0)
		return err;
	if (*printed && blocks_need_gap(run))
		out_char(run->out, '\n');
	if (run->opt.split)
		return print_split(run, &c, reason, cap);
	if (run->opt.hosts)
		return print_hosts(run, &c, reason, cap);

	struct sk_ip_info info;
	sk_ip_describe(&c, &info);
	if (run->opt.json)
		print_ip_json(run->out, s, len, &c, &info);
	else if (run->opt.explain)
		explain_ip(run->out, s, len, &c, &info);
	else
		print_ip_text(run->out, &c, &info);
	return 0;
}

/* An input from the command line: a failure is a usage error (status 2). */
static int handle_arg(struct ip_run *run, const char *arg, bool *printed)
{
	char reason[256];
	int err = handle_input(run, arg, strlen(arg), reason, sizeof reason, printed);
	if (err < 0) {
		out_flush(run->out);
		char ctx[QUOTE_MAX + 8], q[QUOTE_MAX];
		snprintf(ctx, sizeof ctx, "ip: %s", quote(arg, strlen(arg), q));
		report(ctx, "%s", reason);
		return EXIT_USAGE;
	}
	*printed = true;
	return EXIT_OK;
}

/* A failed batch line: a JSON error record, or a message on stderr. */
static void report_line(struct ip_run *run, const char *s, size_t len, unsigned long lineno,
                        const char *reason, bool *printed)
{
	run->n_failed++;
	if (run->opt.json) {
		print_error_json(run->out, s, len, reason);
		*printed = true;
		return;
	}
	/* Keep stdout and stderr in order for a reader watching both. */
	out_flush(run->out);
	char ctx[QUOTE_MAX + 40], q[QUOTE_MAX];
	snprintf(ctx, sizeof ctx, "ip: line %lu: %s", lineno, quote(s, len, q));
	report(ctx, "%s", reason);
}

/* A line of a batch: a failure is recorded and the run goes on. */
static void handle_line(struct ip_run *run, const char *s, size_t len, unsigned long lineno,
                        bool *printed)
{
	char reason[256];
	if (len > 0 && s[len - 1] == '\r')
		len--; /* CRLF files are common when lists come from Windows tools */
	/* Lists are written by hand: spaces and tabs around an input do not
	 * count, and blank lines and # comments are skipped (ipcalc and
	 * sipcalc users annotate theirs). */
	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len == 0 || s[0] == '#')
		return;
	int err = handle_input(run, s, len, reason, sizeof reason, printed);
	if (err == 0)
		*printed = true;
	else
		report_line(run, s, len, lineno, reason, printed);
}

/* Reads stdin line by line. A line longer than MAX_LINE is reported as a
 * failed line (its first bytes quoted) and skipped to its newline; the run
 * goes on, as for any bad line. */
static int run_batch(struct ip_run *run, bool *printed)
{
	size_t cap = READ_BLOCK, len = 0;
	char *buf = malloc(cap);
	if (!buf)
		return report_err("ip: stdin", SK_ENOMEM);
	unsigned long lineno = 0;
	int status = EXIT_OK;
	bool skipping = false; /* inside an over-long line, dropping bytes to its end */
	for (;;) {
		if (len == cap && cap >= MAX_LINE) {
			report_line(run, buf, 64, ++lineno, "line is longer than 1 MiB", printed);
			skipping = true;
			len = 0;
		} else if (len == cap) {
			char *bigger = realloc(buf, cap * 2);
			if (!bigger) {
				status = report_err("ip: stdin", SK_ENOMEM);
				break;
			}
			buf = bigger;
			cap *= 2;
		}
		ssize_t n = read(STDIN_FILENO, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			status = report_err("ip: stdin", -errno);
			break;
		}
		len += (size_t)n;
		size_t start = 0;
		if (skipping) {
			char *nl = memchr(buf, '\n', len);
			start = nl ? (size_t)(nl - buf) + 1 : len;
			skipping = nl == NULL;
		}
		for (;;) {
			char *nl = memchr(buf + start, '\n', len - start);
			if (!nl)
				break;
			handle_line(run, buf + start, (size_t)(nl - (buf + start)), ++lineno, printed);
			start = (size_t)(nl - buf) + 1;
		}
		if (n == 0) {
			if (start < len) /* a last line without its newline */
				handle_line(run, buf + start, len - start, ++lineno, printed);
			break;
		}
		memmove(buf, buf + start, len - start);
		len -= start;
		if (run->out->err)
			break;
	}
	free(buf);
	return status;
}

/* The index of "same" or "range" if it is the first operand (options may
 * come before it: `sockit ip --json same A B`), else 0. */
static int find_verb(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0)
			return 0;
		if (a[0] == '-' && a[1] != '\0') {
			/* Skip the value of an option that takes one. */
			if (opt_takes_next(&ip_cmd, a) || opt_takes_next(&ip_same_cmd, a))
				i++;
			continue;
		}
		return strcmp(a, "same") == 0 || strcmp(a, "range") == 0 ? i : 0;
	}
	return 0;
}

/* ipcalc's "ADDRESS NETMASK" form: an IPv4 address without a prefix,
 * then a netmask (255.0.0.0) or a prefix length (8). A second address
 * that is not a netmask (10.0.0.2, or 0.0.0.0) stays an address of its own. */
static bool is_address_and_mask(const char *addr, const char *mask)
{
	struct sk_ip a, m;
	if (strchr(addr, '/') || sk_ip_parse(addr, strlen(addr), &a, NULL) < 0 ||
	    a.version != SK_IP_V4)
		return false;
	size_t digits = strspn(mask, "0123456789");
	if (digits > 0 && digits <= 2 && mask[digits] == '\0')
		return atoi(mask) <= 32;
	if (sk_ip_parse(mask, strlen(mask), &m, NULL) < 0 || m.version != SK_IP_V4)
		return false;
	uint32_t inv = ~(uint32_t)m.lo;
	return m.lo != 0 && (inv & (inv + 1)) == 0;
}

int cmd_ip(int argc, char **argv)
{
	int verb = find_verb(argc, argv);
	if (verb) {
		/* Rotate the verb to the front, so the verb's command sees itself
		 * as argv[0] and every option and operand after it. */
		char *word = argv[verb];
		memmove(argv + 2, argv + 1, (size_t)(verb - 1) * sizeof *argv);
		argv[1] = word;
		return strcmp(word, "same") == 0 ? cmd_ip_same(argc - 1, argv + 1)
		                                 : cmd_ip_range(argc - 1, argv + 1);
	}

	struct ip_run run = { 0 };
	struct parse ps;
	int st = parse_options(&ps, &ip_cmd, argc, argv, &run.opt);
	if (st)
		return st == PARSE_HELP ? EXIT_OK : st;
	if (run.opt.explain && (run.opt.json || run.opt.split || run.opt.hosts))
		return usage_error("ip", "--explain cannot be combined with %s",
		                   run.opt.json ? "--json" : run.opt.split ? "--split" : "--hosts");
	if (run.opt.split && run.opt.hosts)
		return usage_error("ip", "--split and --hosts: choose one");
	unsigned long long counts[MAX_HOST_COUNTS];
	if (run.opt.hosts && parse_host_counts(run.opt.hosts, counts) == 0) {
		char q[QUOTE_MAX];
		return usage_error("ip", "--hosts %s: expected host counts such as 50,20,10 (at most %d)",
		                   quote(run.opt.hosts, strlen(run.opt.hosts), q), MAX_HOST_COUNTS);
	}
	char joined[2 * SK_IP_STRLEN];
	size_t len0 = ps.n_operands == 2 ? strlen(ps.operands[0]) : 0;
	size_t len1 = ps.n_operands == 2 ? strlen(ps.operands[1]) : 0;
	if (ps.n_operands == 2 && is_address_and_mask(ps.operands[0], ps.operands[1]) &&
	    len0 + len1 + 2 <= sizeof joined) {
		memcpy(joined, ps.operands[0], len0);
		joined[len0] = '/';
		memcpy(joined + len0 + 1, ps.operands[1], len1 + 1);
		ps.operands[0] = joined;
		ps.n_operands = 1;
	}

	bool from_stdin = ps.n_operands == 0;
	if (from_stdin && isatty(STDIN_FILENO))
		return usage_error("ip", "no address given");

	struct out *out = out_stdout("ip");
	run.out = out;

	int status = EXIT_OK;
	bool printed = false;
	if (from_stdin) {
		status = run_batch(&run, &printed);
	} else {
		for (int i = 0; i < ps.n_operands && !out->err; i++) {
			const char *arg = ps.operands[i];
			st = strcmp(arg, "-") == 0 ? run_batch(&run, &printed)
			                           : handle_arg(&run, arg, &printed);
			if (st > status)
				status = st;
		}
	}
	/* A write error is main()'s to report (out_stdout_finish). */
	if (status == EXIT_OK && run.n_failed)
		status = EXIT_FAIL;
	return status;
}

const struct help_part ip_help[] = {
	{ "usage: sockit ip [options] ADDRESS[/PREFIX|/NETMASK] ...\n"
	  "       sockit ip [options] [-]            (one input per line from stdin)\n"
	  "       sockit ip same A B [--mask MASK] [--json]\n"
	  "       sockit ip range FIRST LAST [--json]\n"
	  "\n"
	  "An IPv4/IPv6 calculator: network, netmask, hostmask, broadcast, host range,\n"
	  "address and host counts, class (A-E), and the special ranges an address is in.\n"
	  "An address without a prefix is a single host (/32, /128). IPv4 masks may be a\n"
	  "prefix length (/24), a netmask (/255.255.255.0) or a hostmask (/0.0.0.255).\n"
	  "\n", &ip_cmd },
	{ "\n"
	  "same A B: are A and B on one subnet? Shows both ANDs; exit 0 if so, 1 if not.\n"
	  "The mask is --mask, or the prefix written on A or B.\n", &ip_same_cmd },
	{ "\n"
	  "range FIRST LAST: the fewest CIDR blocks that cover FIRST..LAST.\n", &ip_range_cmd },
	{ "\n"
	  "ADDRESS NETMASK (two arguments, as ipcalc takes them) is ADDRESS/NETMASK:\n"
	  "'sockit ip 10.0.0.1 255.0.0.0' and 'sockit ip 10.0.0.1 8' are 10.0.0.1/8.\n"
	  "\n"
	  "Batch mode: an input '-' (or no input, when stdin is not a terminal) reads stdin,\n"
	  "one input per line; spaces and tabs around it and a trailing CR do not count,\n"
	  "blank lines and lines starting with '#' are skipped. A bad line is reported\n"
	  "(with --json as {\"input\", \"error\"}) and the run goes on.\n"
	  "Options may come before or after the inputs.\n"
	  "\n"
	  "exit status: 0 ok; 1 a batch line failed (lines over 1 MiB fail too), 'same' says no,\n"
	  "or stdout could not be written; 2 usage or an invalid input on the command line\n"
	  "(the other inputs are still shown); 7 stdin unreadable (a directory)\n"
	  "\n"
	  "examples:\n"
	  "  sockit ip 172.16.10.1/255.255.255.0\n"
	  "  sockit ip same 172.16.10.1 172.16.10.2 --mask 255.255.255.0\n"
	  "  sockit ip --explain 192.168.1.10/26\n"
	  "  sockit ip --json 2001:db8::1/64\n"
	  "  sockit ip --split /26 10.0.0.0/24\n"
	  "  sockit ip --hosts 50,20,10 192.168.0.0/24\n"
	  "  sockit ip range 10.0.0.5 10.0.0.20\n", NULL },
	{ 0 },
};
