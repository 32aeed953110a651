/* sockit: the command table, and the help and version that span commands. */
#include "cli.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const struct command commands[] = {
	{ "ip", cmd_ip, "IPv4/IPv6 address calculator: networks, masks, classes, ranges", ip_usage },
	{ "port", cmd_port, "a port's IANA range and service names", port_usage },
	{ "tcp", cmd_tcp, "TCP client and servers: relay, echo, chargen, reply, chat, exec", tcp_usage },
	{ "udp", cmd_udp, "UDP sender and servers: print, echo, reply; broadcast, multicast", udp_usage },
	{ "http", cmd_http, "HTTP/1.1 file server, and a client: get, head, put, post, delete", http_usage },
	{ "serve", cmd_serve, "the notes' UDP and TCP servers (or any services) in one process", serve_usage },
	{ "help", cmd_help, "show help for a command", help_usage },
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

const char help_usage[] = "usage: sockit help [COMMAND]\n";

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
	      "3 name resolution, 4 network, 5 timeout, 6 bad peer data, 7 local file\n"
	      "\n"
	      "See sockit(1) for details and examples.\n");
	return EXIT_OK;
}

int cmd_help(int argc, char **argv)
{
	if (argc < 2)
		return print_main_help(out_stdout("help"));
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
