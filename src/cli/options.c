/* getopt_long with messages in sockit's own format, for the commands whose
 * options are not yet in tables (opts.c): dns, resolve, ifaces, arp, ping,
 * tcp ping, scan. Naming the option as the user typed it. */
#include "cli.h"

#include <getopt.h>
#include <string.h>

/* The long option the argument names ("--json=yes" -> the "json" entry). */
static const struct option *find_long(const char *arg, const struct option *longs)
{
	if (strncmp(arg, "--", 2) != 0)
		return NULL;
	size_t n = strcspn(arg + 2, "=");
	for (const struct option *o = longs; o->name; o++)
		if (strlen(o->name) == n && strncmp(o->name, arg + 2, n) == 0)
			return o;
	return NULL;
}

static int report_bad_option(const char *command, const char *arg, const char *shorts,
                             const struct option *longs)
{
	char q[QUOTE_MAX];
	if (strncmp(arg, "--", 2) == 0) {
		const struct option *o = find_long(arg, longs);
		size_t n = strcspn(arg, "=");
		if (!o)
			return usage_error(command, "unknown option %s", quote(arg, n, q));
		if (o->has_arg == no_argument)
			return usage_error(command, "option %s takes no value", quote(arg, n, q));
		return usage_error(command, "option %s needs a value", quote(arg, n, q));
	}
	if (optopt && strchr(shorts, optopt)) {
		char opt[3] = { '-', (char)optopt, 0 };
		return usage_error(command, "option %s needs a value", quote(opt, 2, q));
	}
	char opt[3] = { '-', (char)(optopt ? optopt : '?'), 0 };
	return usage_error(command, "unknown option %s", quote(opt, 2, q));
}

int next_option(const char *command, int argc, char **argv, const char *shorts,
                const struct option *longs)
{
	opterr = 0;
	int ch = getopt_long(argc, argv, shorts, longs, NULL);
	if (ch == '?') {
		report_bad_option(command, argv[optind - 1], shorts, longs);
		return -2;
	}
	return ch;
}
