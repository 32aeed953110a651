/* Shared by tcp.c (connect, dispatch) and tcp_listen.c (the server). */
#ifndef SOCKIT_TCP_CLI_H
#define SOCKIT_TCP_CLI_H

#include "cli.h"

#include <sockit/acl.h>
#include <sockit/conn.h>
#include <sockit/frame.h>
#include <sockit/relay.h>

extern const struct opt_cmd tcp_listen_cmd, tcp_ping_cmd;
int cmd_tcp_listen(int argc, char **argv);
int cmd_tcp_ping(int argc, char **argv); /* tcp_ping.c */

/* A relay session that failed on the network side (b): one line, saying how
 * much of stdin got out when some of it did not. Returns the exit status. */
int report_relay_net_err(const char *ctx, int err, const struct sk_relay_stats *st);

/* A relay session that failed on stdin or stdout (a): one line naming which,
 * except for a closed stdout pipe (EPIPE: `| head` has what it wanted), how
 * pipelines end, which says nothing and exits 0 as a writer killed by SIGPIPE
 * would have stopped silently. Returns the exit status. */
int report_stdio_err(const char *command, int err, const struct sk_relay_stats *st);

#endif
