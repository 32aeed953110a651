/* Internals of sk_conn shared by its core (conn.c) and its transports
 * (conn_sock.c, conn_fd.c, conn_tls.c). A transport moves bytes between the conn's
 * queue and the kernel; the core does everything else once: the bounded
 * queue and backpressure, half-close, idle timeout, counters, callbacks.
 * docs/design/stream.md has the picture. */
#ifndef SOCKIT_CONN_INTERNAL_H
#define SOCKIT_CONN_INTERNAL_H

#include <sockit/buf.h>
#include <sockit/conn.h>

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
	/* The write side is done: the peer sees the end of the stream. */
	void (*shutdown_write)(struct sk_conn *c);
	/* Lets go of the fds (closes them). The conn is gone after this. */
	void (*close)(struct sk_conn *c);
};

extern const struct sk__transport sk__conn_sock_transport; /* a socket, completion I/O */
extern const struct sk__transport sk__conn_fd_transport;   /* pipes, ttys, files: readiness */
extern const struct sk__transport sk__conn_tls_transport;  /* TLS over a socket (conn_tls.c) */

struct sk_conn {
	struct sk_loop *loop;
	const struct sk_conn_handler *h;
	void *ud;
	struct sk_conn_opts opts;
	const struct sk__transport *tp;
	int rfd, wfd;              /* the same socket, or two fds; -1 once let go */
	/* fd transport */
	bool r_is_file, w_is_file; /* not pollable: read by timer, write synchronously */
	bool w_is_socket;          /* send(MSG_NOSIGNAL) instead of write: no SIGPIPE */
	int r_flags, w_flags;      /* O_* flags before we set O_NONBLOCK, restored at close */
	struct sk_timer read_timer; /* drives reads from a regular file */
	/* sock transport */
	bool recv_started;
	/* tls transport */
	struct sk__tls *tls;
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
	uint64_t n_written;        /* bytes the kernel took */
	uint64_t n_read;
	struct sk_timer idle_timer;
	uint64_t last_active_ms;
};

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
