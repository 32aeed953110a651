/* Internals of the stream layer (src/lib/stream/), shared between its
 * files: the stream server's stream_server.c (listener, clients, exec
 * children) and stream_modes.c (what each mode does with bytes). The server
 * uses the modes, never the reverse: it takes its mode's table of
 * operations once (sk__stream_mode_ops), and a mode reaches the server only
 * through the structs below and the inline helpers here. */
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
	struct client *prev, *next;
};

struct sk_acceptor;
struct stream_mode_ops;

struct sk_stream_server {
	struct sk_loop *loop;
	struct sk_acceptor *acceptor; /* the listener, the access list and the limits */
	struct sk_stream_opts o;
	const struct stream_mode_ops *mode; /* what o.mode does: sk__stream_mode_ops(o.mode) */
	struct client *clients;
	size_t n_clients;
	struct sk_timer reap_timer; /* exec children without a pidfd */
	struct sk_buf scratch;      /* one framed message being sent to clients */
	struct sk_conn_opts conn_opts; /* every client's, from the server's opts */
};

/* What a mode does; any hook may be NULL. The server calls them with the
 * client held: a hook may close its client (a send fails) and go on looking
 * at it, and it is freed after the hook returns. */
struct stream_mode_ops {
	void (*on_open)(struct client *cl);  /* a client was accepted */
	void (*on_data)(struct client *cl, const char *p, size_t len);
	void (*on_eof)(struct client *cl);   /* NULL: close once the queue is written */
	void (*on_drain)(struct client *cl); /* the client's queue fell to its low-water mark */
};

/* The table of operations of mode (stream_modes.c). */
const struct stream_mode_ops *sk__stream_mode_ops(enum sk_stream_mode mode);

/* Reports an event through the server's callback. */
static inline void sk__stream_event(struct sk_stream_server *s, enum sk_stream_event ev,
                                    const struct sk_addr *peer, int err)
{
	if (s->o.on_event)
		s->o.on_event(s->o.ud, ev, peer, err);
}

#endif
