/* Shared by tcp.c (connect, dispatch) and tcp_listen.c (the server). */
#ifndef SOCKIT_TCP_CLI_H
#define SOCKIT_TCP_CLI_H

#include "cli.h"

#include <sockit/acl.h>
#include <sockit/conn.h>
#include <sockit/frame.h>
#include <sockit/relay.h>

int cmd_tcp_listen(int argc, char **argv);

#endif
