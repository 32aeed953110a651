/* The epoll backend: a receive is READ on the poller and read(2) into one
 * scratch buffer when the socket is readable; a send is send(2) at once,
 * and what the socket does not take waits in the watcher for WRITE. One
 * iteration is one epoll_wait. */
#include <sockit/buf.h>
#include <sockit/err.h>
#include <sockit/loop.h>

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loop/loop_internal.h"

/* read(2) puts received bytes here; io_uring brings its own buffers. */
#define SCRATCH_SIZE 65536

/* Events per epoll_wait; more wait for the next iteration, which costs
 * nothing with level-triggered watchers. */
#define EVENTS_MAX 256

static int epoll_init(struct sk_loop *loop)
{
	(void)loop;
	return 0; /* the scratch buffer comes with the first receive */
}

static void epoll_fini(struct sk_loop *loop)
{
	free(loop->scratch);
	loop->scratch = NULL;
}

static int epoll_run_io(struct sk_loop *loop, int timeout_ms)
{
	struct sk__loop_event events[EVENTS_MAX];
	int n = sk__loop_poll_wait(loop->poll, events, EVENTS_MAX, loop->n_queued ? 0 : timeout_ms);
	loop->now_ms = sk__loop_clock_ms();
	if (n < 0)
		return n;
	return sk__loop_dispatch(loop, events, n);
}

/* READ while the receive takes bytes (and has no end held), WRITE while a
 * send is unfinished. */
static unsigned epoll_poll_events(const struct sk__watcher *w)
{
	return (sk__loop_takes_bytes(w) ? SK_EV_READ : 0) | (w->unsent.len ? SK_EV_WRITE : 0);
}

/* The socket is readable. */
static void read_ready(struct sk_loop *loop, int fd, struct sk__watcher *w)
{
	uint64_t key = sk__loop_key(fd, w->gen);
	ssize_t n = read(fd, loop->scratch, SCRATCH_SIZE);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0)
		sk__loop_deliver(loop, key, loop->scratch, (size_t)n);
	else
		sk__loop_recv_ended(loop, key, n == 0 ? 0 : -errno);
}

/* The socket takes more of an unfinished send. */
static void write_ready(struct sk_loop *loop, int fd, struct sk__watcher *w)
{
	while (w->unsent.len) {
		ssize_t n = send(fd, sk_buf_head(&w->unsent), w->unsent.len, MSG_NOSIGNAL | w->send_flags);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			int err = -errno;
			sk_buf_consume(&w->unsent, w->unsent.len);
			sk__loop_send_done(loop, fd, w, err);
			return;
		}
		sk_buf_consume(&w->unsent, (size_t)n);
	}
	sk__loop_send_done(loop, fd, w, (long)w->send_len);
}

static int epoll_ready(struct sk_loop *loop, int fd, struct sk__watcher *w, unsigned ev)
{
	uint64_t key = sk__loop_key(fd, w->gen);
	int ran = 0;
	/* READ armed for the receive, not for the owner. */
	if (w->recv != RECV_OFF && (w->armed & ~w->events & SK_EV_READ) &&
	    (ev & (SK_EV_READ | SK_EV_ERROR))) {
		read_ready(loop, fd, w);
		ran++;
		if (!(w = sk__loop_find_key(loop, key)))
			return ran;
	}
	if (w->unsent.len && (ev & (SK_EV_WRITE | SK_EV_ERROR))) {
		write_ready(loop, fd, w);
		ran++;
	}
	return ran;
}

static int epoll_recv_start(struct sk_loop *loop, int fd, struct sk__watcher *w)
{
	(void)fd;
	(void)w;
	if (!loop->scratch && !(loop->scratch = malloc(SCRATCH_SIZE)))
		return SK_ENOMEM;
	return 0; /* READ follows from the state (epoll_poll_events) */
}

static void epoll_recv_stop(struct sk_loop *loop, int fd, struct sk__watcher *w)
{
	(void)loop;
	(void)fd;
	(void)w; /* READ goes with the state (epoll_poll_events) */
}

static long epoll_send(struct sk_loop *loop, int fd, struct sk__watcher *w, const void *buf,
                       size_t len, int flags)
{
	(void)loop;
	size_t off = 0;
	while (off < len) {
		ssize_t n = send(fd, (const char *)buf + off, len - off, MSG_NOSIGNAL | flags);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0)
			return -errno;
		off += (size_t)n;
	}
	if (off == len)
		return (long)len;
	/* The socket is full: keep the rest and finish on POLLOUT. */
	if (sk_buf_append(&w->unsent, (const char *)buf + off, len - off) < 0)
		return SK_ENOMEM;
	w->send_len = len;
	w->send_flags = flags;
	return SK_EINPROGRESS;
}

static long epoll_send_buf(struct sk_loop *loop, int fd, struct sk__watcher *w, struct sk_buf *b,
                           int flags)
{
	(void)loop;
	size_t len = b->len, off = 0;
	while (off < len) {
		ssize_t n = send(fd, sk_buf_head(b) + off, len - off, MSG_NOSIGNAL | flags);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0)
			return -errno;
		off += (size_t)n;
	}
	sk_buf_consume(b, off);
	if (off == len)
		return (long)len;
	/* The socket is full: the rest's storage becomes the watcher's, no copy. */
	sk_buf_fini(&w->unsent);
	w->unsent = *b;
	sk_buf_init(b, b->max);
	w->send_len = len;
	w->send_flags = flags;
	return SK_EINPROGRESS;
}

static void epoll_forget(struct sk_loop *loop, int fd, struct sk__watcher *w)
{
	(void)loop;
	(void)fd;
	(void)w; /* nothing in flight outside the watcher */
}

const struct sk__loop_backend sk__loop_epoll = {
	.name = "epoll",
	.init = epoll_init,
	.fini = epoll_fini,
	.run_io = epoll_run_io,
	.poll_events = epoll_poll_events,
	.ready = epoll_ready,
	.recv_start = epoll_recv_start,
	.recv_stop = epoll_recv_stop,
	.send = epoll_send,
	.send_buf = epoll_send_buf,
	.forget = epoll_forget,
};
