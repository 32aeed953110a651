/* `sockit port N|NAME`: a port's IANA range and its service names. */
#include "cli.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct port_cmd {
	bool json;
};

static const struct opt port_opts[] = {
	OPT_FLAG_('j', "json", struct port_cmd, json, "one JSON object per port: port, range, tcp, udp"),
	OPT_END_,
};

static const struct opt_cmd port_cmd = { "port", "port", port_opts, NULL };

const struct help_part port_help[] = {
	{ "usage: sockit port [--json] PORT|NAME ...\n"
	  "\n"
	  "Shows a port's IANA range (RFC 6335: well-known 0-1023, registered 1024-49151,\n"
	  "dynamic 49152-65535) and its tcp and udp service names from /etc/services.\n"
	  "A NAME (http, domain, ...) is looked up the other way.\n"
	  "Note: the course notes call every port above 1023 \"dynamic\"; IANA reserves\n"
	  "1024-49151 for registered services and leaves only 49152-65535 dynamic.\n"
	  "\n", &port_cmd },
	{ "\n"
	  "exit status: 0 ok, 1 stdout could not be written, 2 bad number or no port given,\n"
	  "3 unknown service name\n", NULL },
	{ 0 },
};

/* A number, or a service name looked up as tcp and then udp. */
static int resolve_port(const char *arg, unsigned *port)
{
	int err = sk_port_parse(arg, strlen(arg), port);
	if (err == 0)
		return EXIT_OK;
	/* Names may start with a digit (9pfs, 3com-tsmux): try the database
	 * before calling something a bad number. */
	if (err == SK_EPORT_SYNTAX &&
	    (sk_port_lookup(arg, "tcp", port) == 0 || sk_port_lookup(arg, "udp", port) == 0))
		return EXIT_OK;
	/* What starts like a number and is no known name is a bad number. */
	bool numeric = strchr("+-0123456789", arg[0]) != NULL && arg[0] != '\0';
	char ctx[QUOTE_MAX + 8], reason[128], q[QUOTE_MAX];
	snprintf(ctx, sizeof ctx, "port: %s", quote(arg, strlen(arg), q));
	if (numeric) {
		report(ctx, "%s", reason_of(err, reason, sizeof reason));
		return EXIT_USAGE;
	}
	report(ctx, "no such service in /etc/services");
	return EXIT_RESOLVE;
}

static void print_port(struct out *o, unsigned port, bool json)
{
	enum sk_port_range range = sk_port_range_of(port);
	unsigned lo, hi;
	sk_port_range_bounds(range, &lo, &hi);
	char tcp[SK_PORT_NAME_MAX], udp[SK_PORT_NAME_MAX];
	bool has_tcp = sk_port_service_name(port, "tcp", tcp, sizeof tcp) >= 0;
	bool has_udp = sk_port_service_name(port, "udp", udp, sizeof udp) >= 0;
	if (json) {
		out_printf(o, "{\"port\": %u, \"range\": \"%s\", \"tcp\": ", port, sk_port_range_name(range));
		if (has_tcp) {
			out_char(o, '"');
			out_json_str(o, tcp, strlen(tcp));
			out_char(o, '"');
		} else {
			out_str(o, "null");
		}
		out_str(o, ", \"udp\": ");
		if (has_udp) {
			out_char(o, '"');
			out_json_str(o, udp, strlen(udp));
			out_char(o, '"');
		} else {
			out_str(o, "null");
		}
		out_str(o, "}\n");
		return;
	}
	out_printf(o, "Port:   %u\n", port);
	out_printf(o, "Range:  %s (%u-%u)%s\n", sk_port_range_name(range), lo, hi,
	           range == SK_PORT_REGISTERED ? "; the course notes call this range dynamic" : "");
	out_printf(o, "TCP:    %s\n", has_tcp ? tcp : "-");
	out_printf(o, "UDP:    %s\n", has_udp ? udp : "-");
}

int cmd_port(int argc, char **argv)
{
	struct port_cmd c = { 0 };
	struct parse ps;
	int st = parse_options(&ps, &port_cmd, argc, argv, &c);
	if (st)
		return st == PARSE_HELP ? EXIT_OK : st;
	if (ps.n_operands == 0)
		return usage_error("port", "no port given");
	bool json = c.json;

	struct out *o = out_stdout("port");
	int status = EXIT_OK;
	/* A failed write ends the run: main() reports it. */
	for (int i = 0; i < ps.n_operands && !o->err; i++) {
		unsigned port;
		out_flush(o); /* stdout before a message on stderr, for a reader of both */
		st = resolve_port(ps.operands[i], &port);
		if (st != EXIT_OK) {
			if (st > status)
				status = st;
			continue;
		}
		if (i > 0 && !json)
			out_char(o, '\n');
		print_port(o, port, json);
	}
	return status;
}
