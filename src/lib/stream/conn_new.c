/* sk_conn_new: picks the transport for a pair of fds and starts a conn on
 * it. Apart from the core (conn.c) so that the core never names a
 * transport and a transport only calls the core: dependencies one way
 * (make check-layers). */
#include <sys/socket.h>

#include "stream/stream_internal.h"

/* A connected stream socket goes through the loop's completion I/O, with
 * TLS on top if asked; any other pair of fds (stdin and stdout, a pipe, a
 * file, a terminal) by readiness. NULL: TLS over something else. */
static const struct sk__transport *transport_for(int rfd, int wfd, bool tls)
{
	int type;
	socklen_t len = sizeof type;
	bool stream = rfd >= 0 && rfd == wfd && getsockopt(rfd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
	              type == SOCK_STREAM;
	if (tls)
		return stream ? &sk__conn_tls_transport : NULL;
	return stream ? &sk__conn_sock_transport : &sk__conn_fd_transport;
}

int sk_conn_new(struct sk_loop *loop, int rfd, int wfd, const struct sk_conn_opts *opts,
                const struct sk_conn_handler *handler, void *ud, struct sk_conn **out)
{
	return sk__conn_start(loop, rfd, wfd, opts, handler, ud,
	                      transport_for(rfd, wfd, opts->tls != NULL), out);
}
