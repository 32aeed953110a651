/* `sockit ip`: the address calculator. Reads inputs from the command line or,
 * in batch mode, one per line from stdin, and prints a block, a JSON Lines
 * record, an explanation or a list of subnets for each. */
#include "ip_cli.h"

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
};

static const struct opt ip_opts[] = {
	OPT_FLAG_('j', "json", struct ip_cmd_opts, json,
	          "one JSON object per input per line (JSON Lines)"),
	OPT_FLAG_('e', "explain", struct ip_cmd_opts, explain,
	          "the binary arithmetic: address AND netmask, class bits, range"),
	OPT_FLAG_('c', "classful", struct ip_cmd_opts, classful,
	          "an IPv4 address without a prefix gets its class's mask (A /8, B /16, C /24)"),
	OPT_STRING_('s', "split", "/N", struct ip_cmd_opts, split,
	            "list the /N subnets of each network"),
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

static bool blocks_need_gap(const struct ip_run *run)
{
	return !run->opt.json && !run->opt.split;
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
			if (strcmp(a, "-s") == 0 || strcmp(a, "--split") == 0 ||
			    strcmp(a, "-m") == 0 || strcmp(a, "--mask") == 0)
				i++;
			continue;
		}
		return strcmp(a, "same") == 0 || strcmp(a, "range") == 0 ? i : 0;
	}
	return 0;
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
	if (run.opt.explain && (run.opt.json || run.opt.split))
		return usage_error("ip", "--explain cannot be combined with %s",
		                   run.opt.json ? "--json" : "--split");

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
	  "Batch mode: an input '-' (or no input, when stdin is not a terminal) reads stdin,\n"
	  "one input per line (a trailing CR is dropped; a blank line is an empty input).\n"
	  "A bad line is reported (with --json as {\"input\", \"error\"}) and the run goes on.\n"
	  "Options may come before or after the inputs.\n"
	  "\n"
	  "exit status: 0 ok; 1 a batch line failed (lines over 1 MiB fail too) or 'same' says no;\n"
	  "2 usage or an invalid input on the command line (the other inputs are still shown)\n"
	  "\n"
	  "examples:\n"
	  "  sockit ip 172.16.10.1/255.255.255.0\n"
	  "  sockit ip same 172.16.10.1 172.16.10.2 --mask 255.255.255.0\n"
	  "  sockit ip --explain 192.168.1.10/26\n"
	  "  sockit ip --json 2001:db8::1/64\n"
	  "  sockit ip --split /26 10.0.0.0/24\n"
	  "  sockit ip range 10.0.0.5 10.0.0.20\n", NULL },
	{ 0 },
};
