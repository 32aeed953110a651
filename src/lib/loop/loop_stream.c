/* Completion-based stream I/O on the loop's watchers: sk_loop_recv_* and
 * sk_loop_send. A watcher's receive is one state (enum sk__recv_state);
 * this file moves it, holds what arrives while the receiver does not take
 * it, and offers it again, in order, after a resume. How bytes are read and
 * written is the backend's (loop_epoll.c, loop_uring.c), which reports back
 * through sk__loop_deliver, sk__loop_recv_ended and sk__loop_send_done. */
#include <sockit/buf.h>
#include <sockit/err.h>
#include <sockit/loop.h>

#include <errno.h>

#include "loop/loop_internal.h"

bool sk__loop_takes_bytes(const struct sk__watcher *w)
{
	return w->recv == RECV_ON && !w->held.len;
}

static bool is_queued(enum sk__recv_state s)
{
	return s == RECV_QUEUED || s == RECV_QUEUED_END;
}

static bool has_end(enum sk__recv_state s)
{
	return s == RECV_PAUSED_END || s == RECV_QUEUED_END;
}

/* Moves w's receive to s, keeping the count of queued receivers. */
static void set_recv(struct sk_loop *loop, struct sk__watcher *w, enum sk__recv_state s)
{
	loop->n_queued += (size_t)is_queued(s) - (size_t)is_queued(w->recv);
	w->recv = s;
}

/* The receiver paused, or took fewer bytes than offered: arrivals are held
 * from now on (an end that came stays held after them). */
static void set_paused(struct sk_loop *loop, struct sk__watcher *w)
{
	set_recv(loop, w, has_end(w->recv) ? RECV_PAUSED_END : RECV_PAUSED);
}

/* Stops the source of bytes: the kernel's receive, or the poller's READ. */
static void stop_source(struct sk_loop *loop, int fd, struct sk__watcher *w)
{
	loop->be->recv_stop(loop, fd, w);
	sk__loop_sync(loop, fd, w);
}

static int start_source(struct sk_loop *loop, int fd, struct sk__watcher *w)
{
	int err = loop->be->recv_start(loop, fd, w);
	if (err < 0)
		return err;
	return sk__loop_sync(loop, fd, w);
}

/* Delivers the end; the receive is over (bytes still held are dropped:
 * only an error end can leave some). */
static void end_receiving(struct sk_loop *loop, int fd, struct sk__watcher *w, int err)
{
	set_recv(loop, w, RECV_OFF);
	sk_buf_consume(&w->held, w->held.len);
	sk__loop_sync(loop, fd, w);
	w->recv_end_fn(loop, fd, err, w->recv_ud);
}

/* Offers bytes to the receiver: held ones first, so order is kept. */
void sk__loop_deliver(struct sk_loop *loop, uint64_t key, const char *p, size_t n)
{
	int fd = sk__loop_key_fd(key);
	struct sk__watcher *w = sk__loop_find_key(loop, key);
	if (!w || w->recv == RECV_OFF)
		return;
	int err;
	if (!sk__loop_takes_bytes(w)) {
		if ((err = sk_buf_append(&w->held, p, n)) < 0)
			end_receiving(loop, fd, w, err);
		return;
	}
	size_t took = w->recv_fn(loop, fd, p, n, w->recv_ud);
	if (took >= n)
		return;
	w = sk__loop_find_key(loop, key);
	if (!w || w->recv == RECV_OFF)
		return;
	if ((err = sk_buf_append(&w->held, p + took, n - took)) < 0) {
		end_receiving(loop, fd, w, err);
		return;
	}
	set_paused(loop, w);
	stop_source(loop, fd, w);
}

void sk__loop_recv_ended(struct sk_loop *loop, uint64_t key, int err)
{
	int fd = sk__loop_key_fd(key);
	struct sk__watcher *w = sk__loop_find_key(loop, key);
	if (!w || w->recv == RECV_OFF)
		return;
	if (sk__loop_takes_bytes(w)) {
		end_receiving(loop, fd, w, err);
		return;
	}
	/* After the held bytes. */
	w->end_err = err;
	if (w->recv == RECV_PAUSED)
		set_recv(loop, w, RECV_PAUSED_END);
	else if (w->recv == RECV_QUEUED)
		set_recv(loop, w, RECV_QUEUED_END);
	sk__loop_sync(loop, fd, w);
}

/* One queued receiver: its held bytes, then its held end or its source. */
static void offer(struct sk_loop *loop, int fd, struct sk__watcher *w)
{
	uint64_t key = sk__loop_key(fd, w->gen);
	bool end = w->recv == RECV_QUEUED_END;
	/* Offered now: the receiver may pause (or go) from its callback. */
	set_recv(loop, w, RECV_ON);
	if (w->held.len) {
		size_t took = w->recv_fn(loop, fd, sk_buf_head(&w->held), w->held.len, w->recv_ud);
		if (!(w = sk__loop_find_key(loop, key)) || w->recv == RECV_OFF)
			return;
		sk_buf_consume(&w->held, took);
		if (w->held.len) {
			set_recv(loop, w, end ? RECV_PAUSED_END : RECV_PAUSED);
			sk__loop_sync(loop, fd, w);
			return;
		}
	}
	if (end)
		end_receiving(loop, fd, w, w->end_err);
	else if (w->recv == RECV_ON && start_source(loop, fd, w) < 0)
		end_receiving(loop, fd, w, SK_ENOMEM);
}

/* Rare (only after backpressure), so a scan of the watchers finds them. */
int sk__loop_offer_queued(struct sk_loop *loop)
{
	int ran = 0;
	for (size_t i = 0; i < loop->n_watchers && loop->n_queued && !loop->stopping; i++) {
		struct sk__watcher *w = &loop->watchers[i];
		if (!w->in_use || !is_queued(w->recv))
			continue;
		ran++;
		offer(loop, (int)i, w);
	}
	return ran;
}

int sk_loop_recv_start(struct sk_loop *loop, int fd, sk_recv_fn *fn, sk_recv_end_fn *end_fn,
                       void *ud)
{
	struct sk__watcher *w = sk__loop_find(loop, fd);
	if (!w)
		return -ENOENT;
	if (w->recv != RECV_OFF)
		return -EEXIST;
	if (w->events & SK_EV_READ)
		return SK_EINVAL; /* one reader: the receive or the owner's READ */
	w->recv_fn = fn;
	w->recv_end_fn = end_fn;
	w->recv_ud = ud;
	set_recv(loop, w, RECV_ON);
	int err = start_source(loop, fd, w);
	if (err < 0) {
		set_recv(loop, w, RECV_OFF);
		sk__loop_sync(loop, fd, w);
	}
	return err;
}

void sk_loop_recv_pause(struct sk_loop *loop, int fd)
{
	struct sk__watcher *w = sk__loop_find(loop, fd);
	if (!w || w->recv == RECV_OFF || w->recv == RECV_PAUSED || w->recv == RECV_PAUSED_END)
		return;
	set_paused(loop, w);
	stop_source(loop, fd, w);
}

void sk_loop_recv_resume(struct sk_loop *loop, int fd)
{
	struct sk__watcher *w = sk__loop_find(loop, fd);
	if (!w)
		return;
	if (w->recv == RECV_PAUSED_END || (w->recv == RECV_PAUSED && w->held.len)) {
		/* Offered next iteration, not inside this call. */
		set_recv(loop, w, w->recv == RECV_PAUSED_END ? RECV_QUEUED_END : RECV_QUEUED);
		sk__loop_sync(loop, fd, w);
	} else if (w->recv == RECV_PAUSED) {
		set_recv(loop, w, RECV_ON);
		if (start_source(loop, fd, w) < 0) {
			w->end_err = SK_ENOMEM;
			set_recv(loop, w, RECV_QUEUED_END);
		}
	}
}

void sk__loop_send_done(struct sk_loop *loop, int fd, struct sk__watcher *w, long n)
{
	w->sending = false;
	/* Storage handed over by sk_loop_send_buf, or grown for a big copy:
	 * not kept for a connection that may stay idle. */
	if (w->unsent.cap > SK__LOOP_UNSENT_KEEP)
		sk_buf_fini(&w->unsent);
	sk__loop_sync(loop, fd, w);
	w->sent_fn(loop, fd, n, w->sent_ud);
}

long sk_loop_send(struct sk_loop *loop, int fd, const void *buf, size_t len, int flags,
                  sk_sent_fn *fn, void *ud)
{
	struct sk__watcher *w = sk__loop_find(loop, fd);
	if (!w)
		return -ENOENT;
	if (w->sending)
		return -EBUSY;
	long n = loop->be->send(loop, fd, w, buf, len, flags);
	if (n != SK_EINPROGRESS)
		return n;
	w->sent_fn = fn;
	w->sent_ud = ud;
	w->sending = true;
	sk__loop_sync(loop, fd, w);
	return SK_EINPROGRESS;
}

long sk_loop_send_buf(struct sk_loop *loop, int fd, struct sk_buf *b, int flags, sk_sent_fn *fn,
                      void *ud)
{
	struct sk__watcher *w = sk__loop_find(loop, fd);
	if (!w)
		return -ENOENT;
	if (w->sending)
		return -EBUSY;
	long n = loop->be->send_buf(loop, fd, w, b, flags);
	if (n != SK_EINPROGRESS)
		return n;
	w->sent_fn = fn;
	w->sent_ud = ud;
	w->sending = true;
	sk__loop_sync(loop, fd, w);
	return SK_EINPROGRESS;
}
