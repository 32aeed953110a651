/* Internals of the stream server shared by stream_server.c (listener,
 * clients, limits) and stream_modes.c (what each mode does with bytes). */
#ifndef SOCKIT_STREAM_INTERNAL_H
#define SOCKIT_STREAM_INTERNAL_H

#include <sys/types.h>

#include <sockit/buf.h>
#include <sockit/conn.h>
#include <sockit/frame.h>
#include <sockit/stream.h>

struct client {
	struct sk_stream_server *srv;
	struct sk_conn *conn;       /* NULL for an exec child */
	struct sk_addr peer;
	struct sk_ip ip;            /* the peer, IPv4-mapped addresses unmapped */
	unsigned port;
	struct sk_framer framer;
	unsigned long chargen_line; /* next RFC 864 line to send */
	bool paused_self;           /* reading paused until our own queue drains */
	unsigned busy;              /* mode callbacks running: free after them, not during */
	bool dead;                  /* closed while busy */
	bool eof_seen;              /* the client has sent everything */
	bool in_handle;             /* handle_messages is running */
	pid_t child;                /* exec: the child, also its process group; 0 once reaped */
	int pidfd;                  /* exec: readable when the child exits; -1 if none */
	struct sk_timer exec_timer; /* exec: exec_timeout_ms, then the SIGKILL grace */
	bool killed;                /* exec: the timeout sent SIGTERM to the group */
	struct sk_relay *relay;     /* exec over TLS: the client's conn to the child's socket */
	int relay_err;              /* ... and the error that ended it */
	struct client *prev, *next;
};

struct sk_acceptor;

struct sk_stream_server {
	struct sk_loop *loop;
	struct sk_acceptor *acceptor; /* the listener, the access list and the limits */
	struct sk_stream_opts o;
	struct client *clients;
	size_t n_clients;
	struct sk_timer reap_timer; /* exec children without a pidfd */
	struct sk_buf scratch;      /* one framed message being sent to clients */
	struct sk_conn_opts conn_opts; /* every client's, from the server's opts */
};

/* What a mode does; any hook may be NULL. */
struct stream_mode_ops {
	void (*on_open)(struct client *cl);
	void (*on_data)(struct client *cl, const char *p, size_t len);
	void (*on_eof)(struct client *cl);
	void (*on_drain)(struct client *cl);
};

const struct stream_mode_ops *sk__stream_mode_ops(enum sk_stream_mode mode);

/* Reports an event through the server's callback. */
void sk__stream_event(struct sk_stream_server *s, enum sk_stream_event ev,
                      const struct sk_addr *peer, int err);

/* Starts an exec client's child; returns 0 or an error (fd is consumed). */
int sk__stream_spawn(struct sk_stream_server *s, struct client *cl, int fd);

/* Forgets a finished exec child. */
void sk__stream_client_done(struct client *cl, int err);

#endif
