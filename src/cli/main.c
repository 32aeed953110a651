/* sockit: the command table, and the help and version that span commands. */
#include "cli.h"
#include "dns_cli.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

const struct command commands[] = {
	{ "ip", cmd_ip, "IPv4/IPv6 address calculator: networks, masks, classes, ranges", ip_help },
	{ "port", cmd_port, "a port's IANA range and service names", port_help },
	{ "tcp", cmd_tcp, "TCP client and servers: relay, echo, chargen, reply, chat, exec", tcp_help },
	{ "udp", cmd_udp, "UDP sender and servers: print, echo, reply; broadcast, multicast", udp_help },
	{ "http", cmd_http, "HTTP/1.1 file server, and a client: get, head, put, post, delete",
	  http_help },
	{ "resolve", cmd_resolve, "what a program sees for a name: getaddrinfo, getnameinfo",
	  resolve_help },
	{ "dns", cmd_dns, "DNS on the wire: query a server like dig, serve zones with faults",
	  dns_help },
	{ "serve", cmd_serve, "the notes' UDP, TCP and HTTP servers (or any services) in one process",
	  serve_help },
	{ "ifaces", cmd_ifaces, "network interfaces, their addresses and counters", ifaces_help },
	{ "arp", cmd_arp, "the neighbour table (ARP, NDP); an address's MAC", arp_help },
	{ "ping", cmd_ping, "ICMP echo to hosts and networks, iputils' statistics", ping_help },
	{ "scan", cmd_scan, "TCP connect scan: which ports are open, closed, filtered", scan_help },
	{ "help", cmd_help, "show help for a command", help_help },
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])
const size_t n_commands = N_COMMANDS;

const struct help_part help_help[] = {
	{ "usage: sockit help [COMMAND]\n"
	  "\n"
	  "Without COMMAND: the commands and the exit statuses; with one: its help,\n"
	  "as 'sockit COMMAND --help' prints it.\n"
	  "\n"
	  "exit status: 0 ok, 2 unknown command\n", NULL },
	{ 0 },
};

const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static int print_main_help(struct out *to)
{
	out_str(to, "usage: sockit COMMAND [ARGS...]\n"
	      "       sockit help COMMAND | --help | --version\n"
	      "\n"
	      "A networking toolkit: address maths, clients and servers.\n"
	      "\n"
	      "commands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		out_printf(to, "  %-8s %s\n", commands[i].name, commands[i].summary);
	out_str(to, "\n"
	      "exit status: 0 ok, 1 failure (or the answer is no), 2 usage,\n"
	      "3 name resolution, 4 network, 5 timeout, 6 bad peer data, 7 local file or\n"
	      "permission\n"
	      "\n"
	      "See sockit(1) for details and examples.\n");
	return EXIT_OK;
}

int cmd_help(int argc, char **argv)
{
	if (argc < 2)
		return print_main_help(out_stdout("help"));
	/* Not for users: the docs test reads every option table through it. */
	if (strcmp(argv[1], "--options-json") == 0) {
		print_options_json(out_stdout("help"));
		return EXIT_OK;
	}
	const struct command *cmd = find_command(argv[1]);
	if (!cmd) {
		char q[QUOTE_MAX];
		return usage_error("help", "%s is not a sockit command", quote(argv[1], strlen(argv[1]), q));
	}
	return print_usage(cmd);
}

static int run(int argc, char **argv)
{
	if (argc < 2) {
		char buf[4096];
		struct out err;
		out_init(&err, STDERR_FILENO, buf, sizeof buf);
		print_main_help(&err);
		out_flush(&err);
		return EXIT_USAGE;
	}
	if (is_help(argv[1]))
		return print_main_help(out_stdout(NULL));
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		out_printf(out_stdout(NULL), "sockit %s\n", sk_version());
		return EXIT_OK;
	}
	const struct command *cmd = find_command(argv[1]);
	if (!cmd) {
		char q[QUOTE_MAX];
		fprintf(stderr, "sockit: %s is not a sockit command; see 'sockit --help'\n",
		        quote(argv[1], strlen(argv[1]), q));
		return EXIT_USAGE;
	}
	out_stdout(cmd->name);
	return cmd->run(argc - 1, argv + 1);
}

int main(int argc, char **argv)
{
	/* A peer that goes away must give us EPIPE to handle, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	/* Output that could not be written is a failure like any other: the
	 * exit status says so (`sockit port 80 > /dev/full`). */
	return out_stdout_finish(run(argc, argv));
}
