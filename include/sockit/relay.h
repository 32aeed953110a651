/* sk_relay: joins two byte-stream endpoints, a and b, in both directions —
 * what netcat does between stdin/stdout (a) and a socket (b).
 *
 * Backpressure: when one side's outbound queue is full, the other side stops
 * being read until it drains, so a peer that does not read can never make
 * the relay's memory grow. Half-close: EOF read from one side shuts down the
 * write side of the other (once its queue is written) and ends only that
 * direction: the other one goes on until its own EOF, as with nc -N, ncat
 * and socat. A peer's FIN is not a request to stop sending to it.
 *
 * The relay is finished when both directions have seen EOF and written
 * everything; or, with finish_on_b_eof, as soon as b's EOF has been passed on
 * to a and everything read from a so far has been written to b (what a has
 * not said yet stays unread: nc -lk's next client gets it); or at the first
 * error. After an error on b, a still gets what was queued for it (the
 * bytes the peer sent before a reset reach stdout); after one on a, both
 * close at once. Then on_done runs and the relay frees itself.
 *
 * Any callback of the relay's conns may end it; the relay is freed only
 * when the outermost of them returns, never under a caller. */
#ifndef SOCKIT_RELAY_H
#define SOCKIT_RELAY_H

#include <stdbool.h>
#include <stdint.h>

#include <sockit/conn.h>
#include <sockit/loop.h>

struct sk_relay;

struct sk_relay_stats {
	uint64_t a_to_b, b_to_a;           /* bytes read from a (for b) and from b (for a) */
	uint64_t a_to_b_sent, b_to_a_sent; /* of those, bytes written to the other side's fd; the
	                                      rest was dropped by the error that ended the relay */
	bool a_eof, b_eof;                 /* each side reached the end of its input */
	bool err_writing;                  /* the error came from writing to its side (stdout
	                                      full, a reset seen by send), not from reading it */
};

/* err is 0 after a clean finish, else the first error (-ECONNRESET, -EPIPE,
 * -ETIMEDOUT for b's idle timeout, -ENOSPC …) and which side had it (a or b).
 * A clean finish means every byte read was written; it does not say the
 * peer read it (a reset after our last write goes unseen). */
typedef void sk_relay_done_fn(void *ud, int err, char side, const struct sk_relay_stats *stats);

struct sk_relay_opts {
	struct sk_conn_opts a, b; /* per-side conn options (idle timeout on b, tracer …); one
	                             read of each side must fit in the other's queue above
	                             high water (out_max - high_water >= read_size) */
	bool finish_on_b_eof;     /* nc -lk: b's EOF ends the session (see above) */
	bool a_silent;           /* a has no read fd and says nothing: don't shut b down for it
	                            (nc -d); without this, a missing a_rfd means a's EOF */
	sk_relay_done_fn *on_done;
	void *ud;
};

void sk_relay_opts_init(struct sk_relay_opts *opts);

/* Starts relaying between a (a_rfd, a_wfd) and b (b_rfd, b_wfd); any fd may
 * be -1 for a one-way side. Takes ownership of all fds, even on failure.
 * Returns 0, SK_EINVAL when a side's read would not fit in the other's
 * queue, SK_ENOMEM or a loop error. *out (may be NULL) is valid until on_done
 * runs. */
int sk_relay_start(struct sk_loop *loop, int a_rfd, int a_wfd, int b_rfd, int b_wfd,
                   const struct sk_relay_opts *opts, struct sk_relay **out);

/* Ends a relay now (both sides closed, queued bytes dropped); on_done runs
 * before this returns, with the error that ended it if any, else 0. For a
 * program shutting down; not from inside on_done. */
void sk_relay_stop(struct sk_relay *r);

#endif
