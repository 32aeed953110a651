/* The io_uring backend: a receive is a multishot receive on the ring, a
 * send a ring send of a copy, and one iteration is one wait on the ring
 * (loop_ring.c), which also watches the poller's fd: fds that stay on the
 * poller (listeners, signalfd, files waiting for POLLOUT) work as with
 * epoll, asked when the ring says the poller has something. */
#include <sockit/buf.h>
#include <sockit/err.h>
#include <sockit/loop.h>

#include <errno.h>

#include "loop/loop_internal.h"

/* Poller events per iteration, as the epoll backend. */
#define EVENTS_MAX 256

static int uring_init(struct sk_loop *loop)
{
	return sk__loop_ring_new(&loop->ring, sk__loop_poll_fd(loop->poll));
}

static void uring_fini(struct sk_loop *loop)
{
	sk__loop_ring_free(loop->ring);
	loop->ring = NULL;
}

/* Completions, by the key each op carries. */
static void on_ring_recv(void *ctx, uint64_t key, const char *data, int n)
{
	sk__loop_deliver(ctx, key, data, (size_t)n);
}

static int uring_recv_start(struct sk_loop *loop, int fd, struct sk__watcher *w)
{
	/* Unless a stopped receive has not ended yet (its end restarts it: two
	 * receives at once could reorder bytes). */
	if (w->recv_op)
		return 0;
	return sk__loop_ring_recv(loop->ring, fd, sk__loop_key(fd, w->gen), &w->recv_op);
}

static void on_ring_recv_end(void *ctx, uint64_t key, int res)
{
	struct sk_loop *loop = ctx;
	int fd = sk__loop_key_fd(key);
	struct sk__watcher *w = sk__loop_find_key(loop, key);
	if (!w)
		return;
	w->recv_op = NULL;
	if (res == -ECANCELED) {
		/* Stopped as asked; resumed since, with nothing held: go on. */
		if (sk__loop_takes_bytes(w) &&
		    (uring_recv_start(loop, fd, w) < 0 || sk__loop_sync(loop, fd, w) < 0))
			sk__loop_recv_ended(loop, key, SK_ENOMEM);
		return;
	}
	sk__loop_recv_ended(loop, key, res);
}

static void on_ring_sent(void *ctx, uint64_t key, ssize_t n)
{
	struct sk_loop *loop = ctx;
	struct sk__watcher *w = sk__loop_find_key(loop, key);
	if (!w || !w->sending)
		return;
	w->send_op = NULL;
	sk__loop_send_done(loop, sk__loop_key_fd(key), w, (long)n);
}

static void on_ring_epoll(void *ctx)
{
	struct sk_loop *loop = ctx;
	loop->epoll_ready = true;
}

static const struct sk__loop_ring_handlers ring_handlers = {
	.on_recv = on_ring_recv,
	.on_recv_end = on_ring_recv_end,
	.on_sent = on_ring_sent,
	.on_epoll = on_ring_epoll,
};

/* io_uring asks for this many completions per wait when it has this many
 * receives running: a pass over several connections costs one system call
 * (bench/http.sh). Few connections wait for one, so latency stays put. */
static unsigned ring_batch(const struct sk_loop *loop)
{
	size_t ops = sk__loop_ring_ops(loop->ring);
	if (ops < 16)
		return 1;
	return ops / 2 > 32 ? 32 : (unsigned)(ops / 2);
}

static int uring_run_io(struct sk_loop *loop, int timeout_ms)
{
	struct sk__loop_event events[EVENTS_MAX];
	if (loop->epoll_ready || loop->n_queued)
		timeout_ms = 0;
	int err = sk__loop_ring_wait(loop->ring, timeout_ms, ring_batch(loop));
	/* The clock first, then the handlers: a head that arrives after a
	 * 10 s sleep must not be timed from before it (a spurious 408). */
	loop->now_ms = sk__loop_clock_ms();
	if (err < 0)
		return err;
	int ran = sk__loop_ring_reap(loop->ring, &ring_handlers, loop);
	if (loop->epoll_ready && !loop->stopping) {
		loop->epoll_ready = false;
		int m = sk__loop_poll_wait(loop->poll, events, EVENTS_MAX, 0);
		if (m < 0)
			return m;
		/* Level-triggered fds still ready do not wake the ring's poll
		 * again: ask the poller again next time while it has events. */
		loop->epoll_ready = m > 0;
		ran += sk__loop_dispatch(loop, events, m);
	}
	return ran;
}

/* Receives and sends are the ring's: the poller watches only what owners
 * ask for. */
static unsigned uring_poll_events(const struct sk__watcher *w)
{
	(void)w;
	return 0;
}

static int uring_ready(struct sk_loop *loop, int fd, struct sk__watcher *w, unsigned ev)
{
	(void)loop;
	(void)fd;
	(void)w;
	(void)ev;
	return 0; /* nothing of ours waits for readiness */
}

static void uring_recv_stop(struct sk_loop *loop, int fd, struct sk__watcher *w)
{
	(void)fd;
	if (w->recv_op)
		sk__loop_ring_cancel(loop->ring, w->recv_op);
}

static long uring_send(struct sk_loop *loop, int fd, struct sk__watcher *w, const void *buf,
                       size_t len, int flags)
{
	int err = sk__loop_ring_send(loop->ring, fd, sk__loop_key(fd, w->gen), buf, len, flags,
	                             &w->send_op);
	return err < 0 ? err : SK_EINPROGRESS;
}

/* Small sends are copied into the op (b keeps its storage for the next
 * ones); big ones hand their storage to the op: no copy. */
static long uring_send_buf(struct sk_loop *loop, int fd, struct sk__watcher *w, struct sk_buf *b,
                           int flags)
{
	if (b->len <= SK__LOOP_RING_SEND_INLINE) {
		long n = uring_send(loop, fd, w, sk_buf_head(b), b->len, flags);
		if (n >= 0 || n == SK_EINPROGRESS)
			sk_buf_consume(b, b->len);
		return n;
	}
	int err = sk__loop_ring_send_owned(loop->ring, fd, sk__loop_key(fd, w->gen), b->data,
	                                   sk_buf_head(b), b->len, flags, &w->send_op);
	if (err < 0)
		return err;
	sk_buf_init(b, b->max);
	return SK_EINPROGRESS;
}

/* The cancels go to the kernel now, while fd is still open; the kernel lets
 * go of the socket when the loop next waits (a send to a client that never
 * reads would otherwise hold it open). */
static void uring_forget(struct sk_loop *loop, int fd, struct sk__watcher *w)
{
	(void)fd;
	if (w->recv_op)
		sk__loop_ring_cancel(loop->ring, w->recv_op);
	if (w->send_op)
		sk__loop_ring_cancel(loop->ring, w->send_op);
	if (w->recv_op || w->send_op)
		sk__loop_ring_submit(loop->ring);
}

const struct sk__loop_backend sk__loop_uring = {
	.name = "io_uring",
	.init = uring_init,
	.fini = uring_fini,
	.run_io = uring_run_io,
	.poll_events = uring_poll_events,
	.ready = uring_ready,
	.recv_start = uring_recv_start,
	.recv_stop = uring_recv_stop,
	.send = uring_send,
	.send_buf = uring_send_buf,
	.forget = uring_forget,
};
