/* sk_relay: joins two byte-stream endpoints, a and b, in both directions —
 * what netcat does between stdin/stdout and a socket.
 *
 * Backpressure: when one side's outbound queue is full, the other side stops
 * being read until it drains, so a peer that does not read can never make
 * the relay's memory grow. Half-close: EOF read from one side shuts down the
 * write side of the other, which may still answer.
 *
 * The relay is finished when both directions have seen EOF and written
 * everything, or — with finish_on_b_eof, the netcat client's rule — as soon
 * as b's EOF has been passed on to a; or at the first error. Then both
 * endpoints are closed, on_done runs, and the relay frees itself. */
#ifndef SOCKIT_RELAY_H
#define SOCKIT_RELAY_H

#include <stdbool.h>
#include <stdint.h>

#include <sockit/conn.h>
#include <sockit/loop.h>

struct sk_relay;

struct sk_relay_stats {
	uint64_t a_to_b, b_to_a; /* bytes passed each way */
	bool a_eof, b_eof;       /* each side reached the end of its input */
};

/* err is 0 after a clean finish, else the first error (-ECONNRESET,
 * -ETIMEDOUT for b's idle timeout, -EPIPE …) and which side had it (a or b). */
typedef void sk_relay_done_fn(void *ud, int err, char side, const struct sk_relay_stats *stats);

struct sk_relay_opts {
	struct sk_conn_opts a, b; /* per-side conn options (idle timeout on b, tracer …) */
	bool finish_on_b_eof;
	bool a_silent;           /* a has no read fd and says nothing: don't shut b down for it
	                            (nc -d); without this, a missing a_rfd means a's EOF */
	sk_relay_done_fn *on_done;
	void *ud;
};

void sk_relay_opts_init(struct sk_relay_opts *opts);

/* Starts relaying between a (a_rfd, a_wfd) and b (b_rfd, b_wfd); any fd may
 * be -1 for a one-way side. Takes ownership of all fds, even on failure.
 * *out (may be NULL) is valid until on_done runs. */
int sk_relay_start(struct sk_loop *loop, int a_rfd, int a_wfd, int b_rfd, int b_wfd,
                   const struct sk_relay_opts *opts, struct sk_relay **out);

/* Ends a relay now (both sides closed, queued bytes dropped); on_done runs
 * before this returns, with err 0. For a program shutting down. */
void sk_relay_stop(struct sk_relay *r);

#endif
