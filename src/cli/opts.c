/* Option tables: the one parser every subcommand uses, the --help lines
 * generated from the same tables, and their JSON listing for the docs test.
 * Messages name the option as the user typed it ("-w 'abc'", "unknown
 * option '-x'"), so a cluster such as -dp blames the letter at fault. */
#include "cli.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool is_help(const char *arg)
{
	return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

int print_usage(const struct command *cmd)
{
	print_help(out_stdout(NULL), cmd->help);
	return EXIT_OK;
}

static size_t n_opts(const struct opt *opts)
{
	size_t n = 0;
	while (opts[n].kind != OPT_END)
		n++;
	return n;
}

/* The option named by name[0..len): an exact match, else the one option it
 * is a prefix of (getopt_long's abbreviations). *ambiguous is set when
 * several are. */
static const struct opt *find_long(const struct opt *opts, const char *name, size_t len,
                                   bool *ambiguous)
{
	const struct opt *found = NULL;
	*ambiguous = false;
	for (const struct opt *o = opts; o->kind != OPT_END; o++) {
		if (!o->long_name || strncmp(o->long_name, name, len) != 0)
			continue;
		if (o->long_name[len] == '\0')
			return o;
		if (found)
			*ambiguous = true;
		found = o;
	}
	return *ambiguous ? NULL : found;
}

static const struct opt *find_short(const struct opt *opts, char c)
{
	for (const struct opt *o = opts; o->kind != OPT_END; o++)
		if (o->short_name == c)
			return o;
	return NULL;
}

static const char *find_hint(const struct opt_cmd *cmd, const char *typed)
{
	for (const struct opt_hint *h = cmd->hints; h && h->typed; h++)
		if (strcmp(h->typed, typed) == 0)
			return h->text;
	return NULL;
}

static int unknown_option(const struct opt_cmd *cmd, const char *typed)
{
	char q[QUOTE_MAX];
	const char *hint = find_hint(cmd, typed);
	if (hint)
		return usage_error(cmd->name, "unknown option %s: %s", quote(typed, strlen(typed), q),
		                   hint);
	return usage_error(cmd->name, "unknown option %s", quote(typed, strlen(typed), q));
}

/* -h and --help belong to every command: its help text on stdout. */
static int show_help(const struct parse *ps)
{
	print_usage(find_command(ps->cmd->help_name));
	return PARSE_HELP;
}

/* Stores arg (NULL for an option without a value) where o says. */
static int apply(struct parse *ps, const struct opt *o, const char *typed, const char *arg)
{
	ps->opt = o;
	ps->typed = typed;
	snprintf(ps->seen[o - ps->cmd->opts], sizeof ps->seen[0], "%s", typed);
	void *dest = (char *)ps->base + o->off;
	switch (o->kind) {
	case OPT_FLAG:
		*(bool *)dest = true;
		return 0;
	case OPT_STRING:
		*(const char **)dest = arg;
		return 0;
	case OPT_SECONDS:
		return parse_seconds(ps->cmd->name, typed, arg, dest);
	case OPT_COUNT:
		return parse_count(ps->cmd->name, typed, arg, o->n, dest);
	case OPT_CALL:
		return o->fn(ps, arg);
	case OPT_END:
		break;
	}
	return EXIT_USAGE;
}

/* "--name", "--name=value" or "--name value"; *i is advanced past a value
 * taken from the next argument. */
static int parse_long(struct parse *ps, int argc, char **argv, int *i)
{
	const char *arg = argv[*i];
	size_t len = strcspn(arg + 2, "=");
	const char *value = arg[2 + len] == '=' ? arg + 3 + len : NULL;
	char typed[64], q[QUOTE_MAX];
	snprintf(typed, sizeof typed, "--%.*s", (int)len, arg + 2);
	bool ambiguous;
	const struct opt *o = find_long(ps->cmd->opts, arg + 2, len, &ambiguous);
	if (ambiguous) {
		char names[256] = "";
		size_t n = 0;
		for (const struct opt *x = ps->cmd->opts; x->kind != OPT_END && n < sizeof names; x++)
			if (x->long_name && strncmp(x->long_name, arg + 2, len) == 0)
				n += (size_t)snprintf(names + n, sizeof names - n, "%s--%s", n ? ", " : "",
				                      x->long_name);
		return usage_error(ps->cmd->name, "option %s is ambiguous: %s",
		                   quote(typed, strlen(typed), q), names);
	}
	/* --he is --help, as getopt_long took it, unless the table has a
	 * name of its own that it starts (ip's --h is --hosts). */
	if (!o && len > 0 && strncmp("help", arg + 2, len) == 0) {
		if (value)
			return usage_error(ps->cmd->name, "option '--help' takes no value");
		return show_help(ps);
	}
	if (!o)
		return unknown_option(ps->cmd, typed);
	snprintf(typed, sizeof typed, "--%s", o->long_name);
	if (!o->arg_name && value)
		return usage_error(ps->cmd->name, "option %s takes no value",
		                   quote(typed, strlen(typed), q));
	if (o->arg_name && !value) {
		if (*i + 1 >= argc)
			return usage_error(ps->cmd->name, "option %s needs a value",
			                   quote(typed, strlen(typed), q));
		value = argv[++*i];
	}
	return apply(ps, o, typed, value);
}

/* "-abc", "-wVALUE" or "-w VALUE". */
static int parse_short(struct parse *ps, int argc, char **argv, int *i)
{
	const char *arg = argv[*i];
	for (size_t k = 1; arg[k]; k++) {
		char typed[3] = { '-', arg[k], 0 }, q[QUOTE_MAX];
		const struct opt *o = find_short(ps->cmd->opts, arg[k]);
		if (!o && arg[k] == 'h')
			return show_help(ps); /* -qh, as getopt took it */
		if (!o)
			return unknown_option(ps->cmd, typed);
		if (!o->arg_name) {
			int st = apply(ps, o, typed, NULL);
			if (st)
				return st;
			continue;
		}
		const char *value = arg + k + 1;
		if (!*value) {
			if (*i + 1 >= argc)
				return usage_error(ps->cmd->name, "option %s needs a value", quote(typed, 2, q));
			value = argv[++*i];
		}
		return apply(ps, o, typed, value);
	}
	return 0;
}

int parse_options(struct parse *ps, const struct opt_cmd *cmd, int argc, char **argv, void *base)
{
	assert(n_opts(cmd->opts) <= OPT_MAX);
	memset(ps, 0, sizeof *ps);
	ps->cmd = cmd;
	ps->base = base;
	ps->operands = argv + 1;
	/* Operands are gathered at the front of argv: the slot written is never
	 * one still to be read. */
	bool options_done = false;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		int st = 0;
		if (options_done || arg[0] != '-' || arg[1] == '\0') {
			ps->operands[ps->n_operands++] = argv[i];
			continue;
		}
		if (strcmp(arg, "--") == 0) {
			options_done = true;
			continue;
		}
		if (is_help(arg))
			return show_help(ps);
		st = arg[1] == '-' ? parse_long(ps, argc, argv, &i) : parse_short(ps, argc, argv, &i);
		if (st)
			return st;
	}
	return 0;
}

bool opt_takes_next(const struct opt_cmd *cmd, const char *arg)
{
	bool ambiguous;
	if (strncmp(arg, "--", 2) == 0) {
		const struct opt *o = strchr(arg, '=') ? NULL
		                      : find_long(cmd->opts, arg + 2, strlen(arg + 2), &ambiguous);
		return o && o->arg_name;
	}
	/* A cluster's value is the rest of it, or the next argument when the
	 * option taking it is the cluster's last letter. */
	for (size_t k = 1; arg[0] == '-' && arg[k]; k++) {
		const struct opt *o = find_short(cmd->opts, arg[k]);
		if (!o)
			return false;
		if (o->arg_name)
			return arg[k + 1] == '\0';
	}
	return false;
}

const char *opt_seen(const struct parse *ps, const char *long_name)
{
	for (size_t i = 0; ps->cmd->opts[i].kind != OPT_END; i++) {
		const struct opt *o = &ps->cmd->opts[i];
		if (o->long_name && strcmp(o->long_name, long_name) == 0)
			return ps->seen[i][0] ? ps->seen[i] : NULL;
	}
	return NULL;
}

int check_modes(const struct parse *ps, unsigned mode_bit)
{
	for (size_t i = 0; ps->cmd->opts[i].kind != OPT_END; i++) {
		const struct opt *o = &ps->cmd->opts[i];
		if (ps->seen[i][0] && o->modes && !(o->modes & mode_bit))
			return usage_error(ps->cmd->name, "%s is for %s", ps->seen[i], o->modes_text);
	}
	return 0;
}

int opt_family(struct parse *ps, const char *arg)
{
	(void)arg;
	int *family = OPT_DEST(ps, int);
	/* Without either, both families are served (or tried): ncat's rule. */
	if (*family != AF_UNSPEC && *family != (int)ps->opt->n)
		return usage_error(ps->cmd->name, "-4 and -6 cannot be combined (without them, both "
		                   "IPv4 and IPv6 are used)");
	*family = (int)ps->opt->n;
	return 0;
}

/* --- help ------------------------------------------------------------------ */

#define HELP_WIDTH 80   /* lines stay shorter than this */
#define HELP_COLUMN 28  /* help text starts here at most; longer names get a line */

static size_t lhs_of(const struct opt *o, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "  %s%c%s%s%s%s%s", o->short_name ? "-" : " ",
	                 o->short_name ? o->short_name : ' ',
	                 o->short_name && o->long_name ? ", " : o->long_name ? "  " : "",
	                 o->long_name ? "--" : "",
	                 o->long_name ? o->long_name : "", o->arg_name ? " " : "",
	                 o->arg_name ? o->arg_name : "");
	/* "-4" alone: no trailing spaces; "-x ADDRESS": one. */
	while (n > 0 && buf[n - 1] == ' ')
		buf[--n] = '\0';
	return (size_t)n;
}

/* Writes text from column col (the cursor is there), wrapped before
 * HELP_WIDTH at spaces; "\n" in text starts a new line. */
static void put_wrapped(struct out *o, const char *text, size_t col)
{
	size_t at = col;
	const char *p = text;
	while (*p) {
		if (*p == '\n') {
			out_printf(o, "\n%*s", (int)col, "");
			at = col;
			p++;
			continue;
		}
		size_t word = strcspn(p, " \n");
		if (at > col && at + 1 + word >= HELP_WIDTH) {
			out_printf(o, "\n%*s", (int)col, "");
			at = col;
		} else if (at > col) {
			out_char(o, ' ');
			at++;
		}
		out_write(o, p, word);
		at += word;
		p += word;
		while (*p == ' ')
			p++;
	}
	out_char(o, '\n');
}

static void print_table(struct out *o, const struct opt *opts)
{
	char lhs[128];
	size_t col = 0;
	for (const struct opt *x = opts; x->kind != OPT_END; x++) {
		size_t n = lhs_of(x, lhs, sizeof lhs) + 2;
		if (n <= HELP_COLUMN && n > col)
			col = n;
	}
	for (const struct opt *x = opts; x->kind != OPT_END; x++) {
		size_t n = lhs_of(x, lhs, sizeof lhs);
		out_str(o, lhs);
		if (n + 2 > col)
			out_printf(o, "\n%*s", (int)col, "");
		else
			out_printf(o, "%*s", (int)(col - n), "");
		put_wrapped(o, x->help, col);
	}
}

void print_help(struct out *o, const struct help_part *parts)
{
	for (const struct help_part *p = parts; p->text || p->opts; p++) {
		if (p->text)
			out_str(o, p->text);
		if (p->opts)
			print_table(o, p->opts->opts);
	}
}

static void json_field(struct out *o, const char *key, const char *value, bool more)
{
	out_printf(o, "\"%s\": ", key);
	if (value) {
		out_char(o, '"');
		out_json_str(o, value, strlen(value));
		out_char(o, '"');
	} else {
		out_str(o, "null");
	}
	out_str(o, more ? ", " : "");
}

void print_options_json(struct out *o)
{
	static const char *const kinds[] = { "end", "flag", "string", "seconds", "count", "call" };
	for (size_t c = 0; c < n_commands; c++) {
		for (const struct help_part *p = commands[c].help; p->text || p->opts; p++) {
			if (!p->opts)
				continue;
			for (const struct opt *x = p->opts->opts; x->kind != OPT_END; x++) {
				char s[2] = { x->short_name, 0 };
				out_char(o, '{');
				json_field(o, "help", commands[c].name, true);
				json_field(o, "command", p->opts->name, true);
				json_field(o, "long", x->long_name, true);
				json_field(o, "short", x->short_name ? s : NULL, true);
				json_field(o, "arg", x->arg_name, true);
				json_field(o, "kind", kinds[x->kind], true);
				json_field(o, "modes", x->modes_text, true);
				json_field(o, "text", x->help, false);
				out_str(o, "}\n");
			}
		}
	}
}
