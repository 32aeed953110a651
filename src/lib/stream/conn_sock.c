/* The socket transport of sk_conn: one connected stream socket moved by the
 * loop's completion I/O — io_uring's multishot receive into the ring's
 * buffers and sends that hand the queue's storage to the kernel, or epoll
 * with read(2) and send(2) where io_uring is not in use. The conn cannot
 * tell which: the loop (loop.c, loop_uring.c) hides it.
 *
 * Copies per byte sent: one, from the queue into the kernel. The queue's
 * storage itself goes to the loop with the send (sk_loop_send_buf) and is
 * freed when the kernel is done with it, so a conn closed with a send under
 * way leaves nothing the kernel may still read. */
#include <sockit/err.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stream/stream_internal.h"

/* At most read_size bytes per on_data, as a read(2) of read_size would
 * give (users size their queues by it: relay.c's read_fits); the loop may
 * offer more at once after a pause (what it held meanwhile). A handler that
 * pauses the conn takes no more: the loop keeps the rest for the resume. */
static size_t on_recv(struct sk_loop *loop, int fd, const char *data, size_t n, void *ud)
{
	(void)loop;
	struct sk_conn *c = ud;
	size_t max = c->opts.read_size && c->opts.read_size < 65536 ? c->opts.read_size : 65536;
	size_t took = 0;
	c->depth++;
	while (took < n && c->reading_on && !c->closed) {
		size_t piece = n - took < max ? n - took : max;
		sk_trace(c->opts.tracer, "recv(%d) = %zu", fd, piece);
		sk__conn_received(c, data + took, piece);
		took += piece;
	}
	if (sk__conn_leave(c) || c->closed)
		return n; /* gone: nothing more is read for it */
	return took;
}

static void on_recv_end(struct sk_loop *loop, int fd, int err, void *ud)
{
	(void)loop;
	struct sk_conn *c = ud;
	if (err == 0)
		sk_trace(c->opts.tracer, "recv(%d) = 0 (end of stream)", fd);
	sk__conn_read_end(c, err);
}

static void on_sent(struct sk_loop *loop, int fd, long n, void *ud)
{
	(void)loop;
	struct sk_conn *c = ud;
	if (n >= 0) {
		sk_trace(c->opts.tracer, "send(%d, %ld)", fd, n);
		c->n_written += (uint64_t)n;
	}
	sk__conn_wrote(c, n < 0 ? (int)n : 0);
}

/* The completion path reads and writes the socket; readiness is asked
 * for (SK_EV_WRITE) only while sendfile waits for room. */
static void on_io(struct sk_loop *loop, int fd, unsigned events, void *ud)
{
	struct sk_conn *c = ud;
	if (!(events & SK_EV_WRITE) || !c->waits_writable)
		return;
	c->waits_writable = false;
	sk_loop_mod_fd(loop, fd, 0);
	sk__conn_wrote(c, 0);
}

static int sock_start(struct sk_conn *c)
{
	int flags = fcntl(c->rfd, F_GETFL);
	if (flags >= 0 && !(flags & O_NONBLOCK))
		fcntl(c->rfd, F_SETFL, flags | O_NONBLOCK);
	int err = sk_loop_add_fd(c->loop, c->rfd, 0, on_io, c);
	if (err < 0)
		return err;
	err = sk_loop_recv_start(c->loop, c->rfd, on_recv, on_recv_end, c);
	if (err < 0) {
		sk_loop_del_fd(c->loop, c->rfd);
		return err;
	}
	c->recv_started = true;
	if (!c->reading_on)
		sk_loop_recv_pause(c->loop, c->rfd);
	return 0;
}

static void sock_set_reading(struct sk_conn *c, bool on)
{
	if (!c->recv_started || c->read_closed)
		return;
	if (on)
		sk_loop_recv_resume(c->loop, c->rfd);
	else
		sk_loop_recv_pause(c->loop, c->rfd);
}

/* Nothing queued: the socket may take the bytes now, with no copy and no
 * wait, as with epoll. A conn that asked to defer its sends (many small
 * responses over many connections, as a server's) leaves them to the
 * ring instead: a pass of the loop then sends for every connection with
 * one system call (bench/http.sh). */
static long sock_try_write(struct sk_conn *c, const char *p, size_t len)
{
	if (c->opts.defer_sends && sk_loop_has_io_uring(c->loop))
		return 0;
	ssize_t n;
	do
		n = send(c->wfd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	sk_trace(c->opts.tracer, "send(%d, %zd)", c->wfd, n);
	c->n_written += (uint64_t)n;
	return n;
}

static int sock_flush(struct sk_conn *c)
{
	size_t len = c->out.len;
	/* A file follows (a response head before its body): the kernel holds
	 * the head for the body's first bytes, one segment instead of two. */
	int more = c->file && c->file->direct ? MSG_MORE : 0;
	long n = sk_loop_send_buf(c->loop, c->wfd, &c->out, more, on_sent, c);
	if (n == SK_EINPROGRESS) {
		c->in_flight = len;
		return 1;
	}
	if (n < 0)
		return (int)n;
	sk_trace(c->opts.tracer, "send(%d, %ld)", c->wfd, n);
	c->n_written += (uint64_t)n;
	return 0;
}

/* sendfile(2): the page cache's pages go to the socket with no copy of
 * ours. As much as the socket takes now; the rest when it has room. */
static int sock_send_file(struct sk_conn *c)
{
	if (!c->sndbuf_chosen) {
		c->sndbuf_chosen = true;
		if (sk_sock_peer_is_local(c->wfd))
			sk_sock_set_sndbuf(c->wfd, SK_CONN_LOCAL_SNDBUF, c->opts.tracer);
	}
	struct sk__conn_file *f = c->file;
	while (f->left) {
		off_t off = (off_t)f->off;
		size_t want = f->left < SSIZE_MAX ? (size_t)f->left : SSIZE_MAX;
		ssize_t n = sendfile(c->wfd, f->fd, &off, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int err = sk_loop_mod_fd(c->loop, c->wfd, SK_EV_WRITE);
			if (err < 0)
				return err;
			c->waits_writable = true;
			c->in_flight = 0;
			return 1;
		}
		if (n <= 0)
			return n < 0 ? -errno : -EIO; /* a read error, or a file shortened meanwhile */
		sk_trace(c->opts.tracer, "sendfile(%d, %zd)", c->wfd, n);
		c->n_written += (uint64_t)n;
		f->off += (uint64_t)n;
		f->left -= (uint64_t)n;
	}
	return 0;
}

static void sock_shutdown_write(struct sk_conn *c)
{
	shutdown(c->wfd, SHUT_WR);
	sk_trace(c->opts.tracer, "shutdown(%d, SHUT_WR)", c->wfd);
}

static void sock_close(struct sk_conn *c)
{
	if (c->rfd < 0)
		return;
	sk_loop_del_fd(c->loop, c->rfd);
	sk_sock_close(c->rfd, c->opts.tracer);
	c->rfd = c->wfd = -1;
}

const struct sk__transport sk__conn_sock_transport = {
	.name = "sock",
	.start = sock_start,
	.set_reading = sock_set_reading,
	.try_write = sock_try_write,
	.flush = sock_flush,
	.send_file = sock_send_file,
	.shutdown_write = sock_shutdown_write,
	.close = sock_close,
};
