/* sk_conn: one byte-stream endpoint in a loop — a connected socket, or a
 * pair of fds such as stdin and stdout — with a bounded outbound queue,
 * backpressure, half-close and an idle timeout.
 *
 * Reading: the conn reads whenever its fd is readable and not paused, and
 * hands the bytes to on_data. Nothing is buffered on the way in, so a
 * handler that cannot pass bytes on (its destination is full) pauses the
 * source with sk_conn_pause() and resumes it from the destination's
 * on_drain: memory stays bounded by the outbound queues.
 *
 * Writing: sk_conn_send() writes at once when it can and queues the rest,
 * up to out_max bytes; beyond that it refuses (SK_ETOOLARGE) and the caller
 * decides (pause the source, or drop a slow client).
 *
 * Files and /dev/null cannot be polled (epoll says EPERM): a conn over one
 * reads it on a zero-delay timer and writes it synchronously, so stdin and
 * stdout may be anything.
 *
 * Lifetime: the conn owns its fds and closes them. sk_conn_close() may be
 * called from any callback, including the conn's own; the conn is freed
 * after on_close returns, and no callback follows on_close. */
#ifndef SOCKIT_CONN_H
#define SOCKIT_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sockit/buf.h>
#include <sockit/loop.h>
#include <sockit/sock.h>

struct sk_conn;
struct sk_tls_conn_opts;

struct sk_conn_handler {
	/* Bytes arrived; the handler takes them all. */
	void (*on_data)(struct sk_conn *c, const char *p, size_t len, void *ud);
	/* Instead of on_data when set: returns how many of the len bytes the
	 * handler took. Taking fewer pauses the conn, as sk_conn_pause (its
	 * buffer is full); the rest is offered again, first, on the loop's next
	 * pass after sk_conn_resume. */
	size_t (*on_recv)(struct sk_conn *c, const char *p, size_t len, void *ud);
	/* The peer will send no more (read returned 0). Writing still works. */
	void (*on_eof)(struct sk_conn *c, void *ud);
	/* The outbound queue fell to the low-water mark after having reached
	 * high water (paused sources may resume), or a queue was emptied by the
	 * loop (everything sent so far has reached the kernel). */
	void (*on_drain)(struct sk_conn *c, void *ud);
	/* The conn is closed: err is 0, or why (-ECONNRESET, -EPIPE, -ETIMEDOUT
	 * for the idle timeout). The conn is freed when this returns. */
	void (*on_close)(struct sk_conn *c, int err, void *ud);
};

/* File pieces read into the queue at a time: one loopback send's worth, and
 * under glibc's mmap threshold, so a piece costs no mmap. */
#define SK_CONN_FILE_PIECE (64 * 1024)

/* Files from this size on go from the page cache to a plain socket with
 * sendfile(2): no copy through the queue. Smaller ones are read into the
 * queue behind the response head, one send for both (bench/http.sh). */
#define SK_CONN_SENDFILE_MIN (64 * 1024)

/* The send buffer of a socket whose peer is on this host, set when it first
 * sends a file (the kernel doubles it: 256 KiB). Autotuning grows a loopback
 * socket's buffer to tcp_wmem's maximum (4 MiB) as loopback never drops a
 * segment, yet a loopback round trip is microseconds: the extra megabytes
 * only push the queued bytes out of the CPU caches before the reader copies
 * them: 64 readers of a 10 MiB file got 1.5-2x the bytes/s (bench/http.sh).
 * Smaller is better for a reader of small reads and worse for one of big
 * ones (wrk, 8 KiB: 128 KiB 2,454 MiB/s, 256 KiB 1,860, 512 KiB 1,598;
 * loadgen, 256 KiB: 4,345, 4,773, 4,882); 64 KiB, one segment of loopback's,
 * stalled at 101 MiB/s. Remote peers keep autotuning, which their
 * bandwidth-delay product needs. */
#define SK_CONN_LOCAL_SNDBUF (128 * 1024)

/* Per-connection memory ceiling. 1 MiB keeps 10,000 busy connections under
 * 10 GiB in the worst case while letting one bulk transfer keep a loopback
 * pipe full (bench/tcp.sh). */
#define SK_CONN_OUT_MAX (1024 * 1024)

struct sk_conn_opts {
	size_t out_max;      /* queued bytes before sk_conn_send refuses */
	size_t high_water;   /* sk_conn_is_full() from here on */
	size_t low_water;    /* on_drain when the queue falls to this */
	size_t read_size;    /* bytes read per read(2), at most 64 KiB */
	unsigned idle_ms;    /* close after this long with no byte in or out; 0: never */
	bool defer_sends;    /* with io_uring, queue every send for the ring's next
	                        pass (one system call for many conns) instead of
	                        trying the socket at once; lower CPU for servers of
	                        many small responses, a loop pass of latency */
	const struct sk_tracer *tracer; /* recv/send/close lines; borrowed, may be NULL */
	const struct sk_tls_conn_opts *tls; /* TLS over the socket (sockit/tls.h); NULL: plain.
	                                       Borrowed: must outlive the conn */
};

/* out_max SK_CONN_OUT_MAX, high water out_max/2, low water out_max/8,
 * read_size 64 KiB, no idle timeout, no tracer, no TLS. */
void sk_conn_opts_init(struct sk_conn_opts *opts);

/* Makes a conn of rfd (read) and wfd (write); they may be the same socket.
 * Either may be -1 for a one-way endpoint. Takes ownership of both fds,
 * even on failure (they are closed). The fds are made non-blocking. handler
 * must outlive the conn; ud is borrowed. With opts->tls, rfd and wfd must be
 * one connected stream socket (SK_EINVAL otherwise), and the handshake
 * starts at once; sends before its end are queued. Returns 0 and *out, or an
 * error. */
int sk_conn_new(struct sk_loop *loop, int rfd, int wfd, const struct sk_conn_opts *opts,
                const struct sk_conn_handler *handler, void *ud, struct sk_conn **out);

/* Queues bytes for the peer (writing at once when possible). Returns 0,
 * SK_ETOOLARGE when the queue would pass out_max (nothing is queued), or the
 * write error that closed the conn. */
int sk_conn_send(struct sk_conn *c, const void *p, size_t len);

/* The same for b's bytes, taking b's storage instead of copying them when
 * nothing is queued (a response built in its own buffer). b is left empty
 * and keeps its max. */
int sk_conn_send_buf(struct sk_conn *c, struct sk_buf *b);

/* After what is queued, len bytes of the file fd from offset off: over a
 * plain socket with sendfile(2) from SK_CONN_SENDFILE_MIN bytes on, else
 * read in pieces of at most SK_CONN_FILE_PIECE into the queue as the
 * transport takes them (so a TLS transport encrypts them like any other
 * bytes). The conn takes fd and closes it when it is sent, or with the
 * conn (or at once when refused). One file at a time: -EBUSY while one is
 * being sent; SK_ENOMEM when its state cannot be allocated (the conn keeps
 * what it had). A file that ends early (it
 * was shortened meanwhile) or cannot be read closes the conn with the
 * error (-EIO for the short file). sk_conn_pending counts what is left. */
int sk_conn_send_file(struct sk_conn *c, int fd, uint64_t off, uint64_t len);

/* A descriptor that several conns send from at once (a server's cache of
 * open files), instead of a dup(2) and a close(2) per response: whoever
 * keeps it holds a reference, and the last release closes fd. For one loop's
 * conns: the count is not atomic. */
struct sk_shared_fd {
	int fd;
	unsigned refs;
};

/* Takes fd: a shared descriptor with one reference (the caller's), or NULL
 * when it cannot be allocated (fd is then left open, still the caller's). */
struct sk_shared_fd *sk_shared_fd_new(int fd);

/* One more reference to sf, returned. */
struct sk_shared_fd *sk_shared_fd_ref(struct sk_shared_fd *sf);

/* Lets go of one reference; the last closes the descriptor. NULL is ignored. */
void sk_shared_fd_release(struct sk_shared_fd *sf);

/* As sk_conn_send_file, from a shared descriptor: the conn takes a reference
 * of its own while it sends, and the caller keeps its own either way. */
int sk_conn_send_shared_file(struct sk_conn *c, struct sk_shared_fd *sf, uint64_t off,
                             uint64_t len);

/* True once the queue reached high water (until it drains to low water). */
bool sk_conn_is_full(const struct sk_conn *c);

/* Bytes queued and not yet written. */
size_t sk_conn_pending(const struct sk_conn *c);

/* Between cork and uncork, sends only queue; uncork writes the lot in one
 * go. For many small messages answered together: one system call and full
 * segments instead of one tiny segment each. Nests like pause. The conn may
 * be closed (and on_close run) by uncork's write. */
void sk_conn_cork(struct sk_conn *c);
void sk_conn_uncork(struct sk_conn *c);

/* Stops and restarts reading (backpressure). Pauses nest: each pause needs
 * its resume. */
void sk_conn_pause(struct sk_conn *c);
void sk_conn_resume(struct sk_conn *c);

/* Half-close: once the queue is written, shut down the write side (a socket
 * gets shutdown(SHUT_WR), another fd is closed) so the peer sees EOF while we
 * can still read its answer. */
void sk_conn_shutdown(struct sk_conn *c);

/* Closes now; queued bytes are dropped. err is passed to on_close. */
void sk_conn_close(struct sk_conn *c, int err);

/* Closes once the queue is written (or at once if empty), e.g. after a
 * final reply. Reading stops now. */
void sk_conn_close_after_flush(struct sk_conn *c);

/* Changes the idle timeout (0 disables it). */
void sk_conn_set_idle(struct sk_conn *c, unsigned idle_ms);

bool sk_conn_read_closed(const struct sk_conn *c);  /* on_eof has been called */
bool sk_conn_write_closed(const struct sk_conn *c); /* the write side is shut */
/* Bytes written to the write fd so far (queued bytes not counted). Still
 * valid in on_close. */
uint64_t sk_conn_bytes_written(const struct sk_conn *c);
/* In on_close: the error came from writing (a reset seen by send, EPIPE,
 * ENOSPC…), not from reading, the idle timer or the owner. */
bool sk_conn_write_failed(const struct sk_conn *c);
/* Bytes handed to on_data so far. */
uint64_t sk_conn_bytes_read(const struct sk_conn *c);
/* The transport moving this conn's bytes: "sock" (a socket, through the
 * loop's completion I/O), "tls" (TLS over such a socket) or "fd" (pipes,
 * terminals, files). */
const char *sk_conn_transport_name(const struct sk_conn *c);
int sk_conn_rfd(const struct sk_conn *c);
void *sk_conn_ud(const struct sk_conn *c);
void sk_conn_set_ud(struct sk_conn *c, void *ud);

#endif
