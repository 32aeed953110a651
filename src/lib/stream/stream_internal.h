/* Internals of the stream layer (src/lib/stream/), shared between its
 * files: sk_conn's core (conn.c) and its transports (conn_sock.c,
 * conn_fd.c, conn_tls.c) — see the first section; and the stream server's stream_server.c (listener, clients, exec
 * children) and stream_modes.c (what each mode does with bytes). The server
 * uses the modes, never the reverse: it takes its mode's table of
 * operations once (sk__stream_mode_ops), and a mode reaches the server only
 * through the structs below and the inline helpers here. */
#ifndef SOCKIT_STREAM_INTERNAL_H
#define SOCKIT_STREAM_INTERNAL_H

#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <sockit/buf.h>
#include <sockit/conn.h>
#include <sockit/frame.h>
#include <sockit/stream.h>

/* A client's address as accept gave it, in a sockaddr_in6's 28 bytes: a
 * stream server listens on TCP, so its peers are IPv4 or IPv6, and struct
 * sk_addr's 136 bytes (room for any family) were most of a client.
 * sk__client_peer() gives it back as an sk_addr. */
union client_addr {
	struct sockaddr sa;
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;
};

/* One client: 88 bytes, a 96-byte chunk of glibc's, so 10,000 idle
 * clients take under 1 MiB (368 bytes each when every client carried a
 * framer and an exec child's fields). What only some modes need is apart:
 * the framer is allocated for the modes that frame, and an exec server's
 * client is a larger struct that begins with this one (stream_server.c). */
struct client {
	struct sk_stream_server *srv;
	struct sk_conn *conn;       /* NULL for an exec child */
	union client_addr peer;
	unsigned busy;              /* mode callbacks running: free after them, not during */
	struct sk_framer *framer;   /* reply, chat (stream_mode_ops.frames); else NULL */
	unsigned long chargen_line; /* next RFC 864 line to send */
	bool paused_self;           /* reading paused until our own queue drains */
	bool dead;                  /* closed while busy */
	bool eof_seen;              /* the client has sent everything */
	bool in_handle;             /* handle_messages is running */
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
	bool frames; /* reads messages through the client's framer (cl->framer) */
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

/* The client's address as an sk_addr. */
static inline void sk__client_peer(const struct client *cl, struct sk_addr *out)
{
	memset(out, 0, sizeof *out);
	if (cl->peer.sa.sa_family == AF_INET) {
		out->u.in4 = cl->peer.in4;
		out->len = sizeof out->u.in4;
	} else if (cl->peer.sa.sa_family == AF_INET6) {
		out->u.in6 = cl->peer.in6;
		out->len = sizeof out->u.in6;
	} else { /* not an IP peer: only its family was kept */
		out->u.sa.sa_family = cl->peer.sa.sa_family;
		out->len = sizeof out->u.sa.sa_family;
	}
}

/* Reports an event about a client through the server's callback. */
static inline void sk__client_event(const struct client *cl, enum sk_stream_event ev, int err)
{
	if (!cl->srv->o.on_event)
		return;
	struct sk_addr peer;
	sk__client_peer(cl, &peer);
	sk__stream_event(cl->srv, ev, &peer, err);
}

/* --- sk_conn: the core and its transports ------------------------------------
 * A transport moves bytes between the conn's queue and the kernel; the core
 * does everything else once: the bounded queue and backpressure, half-close,
 * idle timeout, counters, callbacks. docs/design/stream.md has the picture. */

/* A transport: one table of operations, chosen when the conn is made; the
 * core never asks which one it has.
 *
 * Bytes read go up through sk__conn_received() and the end of reading
 * through sk__conn_read_end(); a write that could not finish at once
 * reports its end through sk__conn_wrote(). A transport may call them from
 * its loop callbacks only, never from inside one of its own operations. */
struct sk__transport {
	const char *name;
	/* Registers the fds with the loop and starts reading (unless paused). */
	int (*start)(struct sk_conn *c);
	/* Reading on or off (backpressure, or the core is done reading). */
	void (*set_reading)(struct sk_conn *c, bool on);
	/* Writes p[0..len) now if it can without waiting: returns the bytes
	 * written (0 when it would wait, or when this transport never writes
	 * synchronously), or a negative errno. May be NULL. */
	long (*try_write)(struct sk_conn *c, const char *p, size_t len);
	/* Moves c->out to the kernel: consumes what it wrote or took over and
	 * returns 0 when nothing is left to wait for, 1 when a write is under
	 * way (sk__conn_wrote follows), or a negative errno. Called only when
	 * no write is under way. */
	int (*flush)(struct sk_conn *c);
	/* Moves the file at the queue's head (c->file: fd from off, left
	 * bytes; the queue itself is empty) to the kernel without the core
	 * reading it, advancing off and left: returns 0 when the
	 * file is all sent, 1 when it waits for room (sk__conn_wrote follows),
	 * or a negative errno. NULL: the core reads the file into the queue in
	 * pieces and flushes them (TLS encrypts them like any other bytes). */
	int (*send_file)(struct sk_conn *c);
	/* The write side is done: the peer sees the end of the stream. */
	void (*shutdown_write)(struct sk_conn *c);
	/* Lets go of the fds (closes them). The conn is gone after this. */
	void (*close)(struct sk_conn *c);
};

extern const struct sk__transport sk__conn_sock_transport; /* a socket, completion I/O */
extern const struct sk__transport sk__conn_fd_transport;   /* pipes, ttys, files: readiness */
extern const struct sk__transport sk__conn_tls_transport;  /* TLS over a socket (conn_tls.c) */

/* A file being sent, and what was sent after it: apart from struct
 * sk_conn, which carries only the pointer while no file is sent. */
struct sk__conn_file {
	int fd;
	struct sk_shared_fd *shared; /* fd is its descriptor, released when sent; NULL: fd is the conn's */
	uint64_t off, left;
	bool direct;                /* sent by the transport's send_file */
	struct sk_buf after;        /* sent while the file is: queued once it is out */
};

/* 264 bytes, a 272-byte chunk of glibc's (10,000 idle connections: 2.6
 * MiB). What only some conns need is apart, allocated while needed: a
 * transport's state (fd, tls), a file being sent, bytes held for a
 * paused handler (conn.c's struct sk__conn_held). */
struct sk_conn {
	struct sk_loop *loop;
	const struct sk_conn_handler *h;
	void *ud;
	struct sk_conn_opts opts;
	const struct sk__transport *tp;
	int rfd, wfd;              /* the same socket, or two fds; -1 once let go */
	/* A transport's own state, allocated by its start and freed by its
	 * close, so that a socket's conn, the common one, carries none of it. */
	union {
		struct sk__fd_state *fd_state; /* fd transport (conn_fd.c) */
		struct sk__tls *tls;           /* tls transport (conn_tls.c) */
	};
	/* sock transport */
	bool recv_started;
	bool waits_writable;       /* send_file is waiting for room (SK_EV_WRITE) */
	bool sndbuf_chosen;        /* send_file has sized the send buffer (SK_CONN_LOCAL_SNDBUF) */
	/* the core */
	bool reading_on;           /* what the transport was last told */
	bool read_closed, write_closed, want_shutdown, want_close, is_full;
	bool closed;               /* on_close delivered; free when depth drops to 0 */
	bool write_failed;         /* the error that closed us came from writing */
	bool writing;              /* a transport write is under way */
	unsigned n_paused;
	unsigned n_corked;         /* sends only queue while > 0 (sk_conn_cork) */
	unsigned depth;            /* callbacks in progress */
	struct sk_buf out;         /* queued, not yet handed to the transport */
	size_t in_flight;          /* bytes a write under way holds */
	struct sk__conn_file *file; /* being sent (sk_conn_send_file); NULL if none */
	struct sk__conn_held *held; /* received, offered to on_recv, not taken yet; NULL if none */
	uint64_t n_written;        /* bytes the kernel took */
	uint64_t n_read;
	struct sk_timer idle_timer;
	uint64_t last_active_ms;
};

/* Makes a conn over the transport tp (conn_new.c chooses it for sk_conn_new;
 * other transports' constructors call this). As sk_conn_new otherwise. */
int sk__conn_start(struct sk_loop *loop, int rfd, int wfd, const struct sk_conn_opts *opts,
                   const struct sk_conn_handler *handler, void *ud,
                   const struct sk__transport *tp, struct sk_conn **out);

/* Upcalls from transports (see struct sk__transport). */
void sk__conn_received(struct sk_conn *c, const char *p, size_t n);
void sk__conn_read_end(struct sk_conn *c, int err);
void sk__conn_wrote(struct sk_conn *c, int err);
/* Stamps activity for the idle timeout. */
void sk__conn_touch(struct sk_conn *c);
/* Ends a callback section begun with c->depth++: frees a conn closed
 * inside it. True if the conn is gone and must not be touched. */
bool sk__conn_leave(struct sk_conn *c);

#endif
