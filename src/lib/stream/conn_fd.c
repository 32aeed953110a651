/* The fd transport of sk_conn: any pair of fds that is not one connected
 * socket — stdin and stdout, a pipe, a terminal, a file — moved by
 * readiness: read(2) when epoll says readable, write(2) until the fd is
 * full, then again when it says writable. Files and /dev/null cannot be
 * polled (epoll says EPERM): they are read on a zero-delay timer and
 * written synchronously, so stdin and stdout may be anything. */
#include <sockit/err.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stream/stream_internal.h"

/* Reads go to the stack: no per-connection read buffer, so 10,000 idle
 * connections cost only their structs (bench/tcp.sh idle test), and no
 * allocation per read. read_size is capped to this. */
#define READ_MAX (64 * 1024)

/* Ours, per conn (c->fd_state): apart from struct sk_conn because only
 * conns over pipes, terminals and files need it. */
struct sk__fd_state {
	bool r_is_file, w_is_file; /* not pollable: read by timer, write synchronously */
	bool w_is_socket;          /* send(MSG_NOSIGNAL) instead of write: no SIGPIPE */
	int r_flags, w_flags;      /* O_* flags before we set O_NONBLOCK, restored at close */
	struct sk_timer read_timer; /* drives reads from a regular file */
};

/* Brings the loop's view of our fds in line with what we want now. */
static void update_interest(struct sk_conn *c)
{
	if (c->closed)
		return;
	struct sk__fd_state *f = c->fd_state;
	bool want_read = c->reading_on;
	bool want_write = c->writing && !c->write_closed;
	if (c->rfd >= 0 && c->rfd == c->wfd && !f->r_is_file) {
		sk_loop_mod_fd(c->loop, c->rfd, (want_read ? SK_EV_READ : 0) | (want_write ? SK_EV_WRITE : 0));
		return;
	}
	if (c->rfd >= 0 && !f->r_is_file && !c->read_closed)
		sk_loop_mod_fd(c->loop, c->rfd, want_read ? SK_EV_READ : 0);
	if (c->wfd >= 0 && !f->w_is_file && !c->write_closed)
		sk_loop_mod_fd(c->loop, c->wfd, want_write ? SK_EV_WRITE : 0);
	if (f->r_is_file && want_read && !sk_timer_is_active(&f->read_timer))
		sk_loop_timer_start(c->loop, &f->read_timer, 0);
	if (f->r_is_file && !want_read)
		sk_loop_timer_stop(c->loop, &f->read_timer);
}

/* stdin and stdout share their file description with the shell: leaving a
 * terminal non-blocking would break the next program to read it. */
static void restore_flags(int fd, int flags)
{
	if (flags >= 0 && !(flags & O_NONBLOCK))
		fcntl(fd, F_SETFL, flags);
}

static void release_fd(struct sk_conn *c, int fd, bool is_file, int flags)
{
	if (!is_file)
		sk_loop_del_fd(c->loop, fd);
	restore_flags(fd, flags);
	sk_sock_close(fd, c->opts.tracer);
}

static void fd_close(struct sk_conn *c)
{
	struct sk__fd_state *f = c->fd_state;
	if (!f) {
		/* fd_start had no memory: the fds are as they came. */
		if (c->rfd >= 0)
			sk_sock_close(c->rfd, c->opts.tracer);
		if (c->wfd >= 0 && c->wfd != c->rfd)
			sk_sock_close(c->wfd, c->opts.tracer);
		c->rfd = c->wfd = -1;
		return;
	}
	sk_loop_timer_stop(c->loop, &f->read_timer);
	if (c->rfd >= 0)
		release_fd(c, c->rfd, f->r_is_file, f->r_flags);
	if (c->wfd >= 0 && c->wfd != c->rfd)
		release_fd(c, c->wfd, f->w_is_file, f->w_flags);
	c->rfd = c->wfd = -1;
	free(f);
	c->fd_state = NULL;
}

/* Writes from p; returns bytes written, or a negative errno (-EAGAIN when
 * the fd is full). Files take everything: a blocking write is short only on
 * error. */
static ssize_t write_some(struct sk_conn *c, const char *p, size_t len)
{
	ssize_t n;
	do
		n = c->fd_state->w_is_socket ? send(c->wfd, p, len, MSG_NOSIGNAL) : write(c->wfd, p, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	sk_trace(c->opts.tracer, "send(%d, %zd)", c->wfd, n);
	c->n_written += (uint64_t)n;
	return n;
}

static long fd_try_write(struct sk_conn *c, const char *p, size_t len)
{
	ssize_t n = write_some(c, p, len);
	return n == -EAGAIN ? 0 : n;
}

/* Writes the queue until the fd is full; then waits for it to be writable. */
static int fd_flush(struct sk_conn *c)
{
	while (c->out.len) {
		ssize_t n = write_some(c, sk_buf_head(&c->out), c->out.len);
		if (n == -EAGAIN) {
			c->writing = true; /* update_interest watches for room */
			update_interest(c);
			return 1;
		}
		if (n < 0)
			return (int)n;
		sk_buf_consume(&c->out, (size_t)n);
	}
	return 0;
}

static void fd_shutdown_write(struct sk_conn *c)
{
	if (c->wfd == c->rfd && c->fd_state->w_is_socket) {
		shutdown(c->wfd, SHUT_WR);
		sk_trace(c->opts.tracer, "shutdown(%d, SHUT_WR)", c->wfd);
	} else if (c->wfd == c->rfd) {
		/* One non-socket fd for both ways (a tty, an O_RDWR fifo) cannot be
		 * half-closed: stop writing, keep it open for reading. */
	} else if (c->wfd >= 0) {
		release_fd(c, c->wfd, c->fd_state->w_is_file, c->fd_state->w_flags);
		c->wfd = -1;
	}
	update_interest(c);
}

static void do_read(struct sk_conn *c)
{
	char buf[READ_MAX];
	size_t size = c->opts.read_size && c->opts.read_size < sizeof buf ? c->opts.read_size : sizeof buf;
	ssize_t n;
	do
		n = read(c->rfd, buf, size);
	while (n < 0 && errno == EINTR);
	int fd = c->rfd;
	if (n > 0) {
		sk_trace(c->opts.tracer, "recv(%d) = %zd", fd, n);
		sk__conn_received(c, buf, (size_t)n);
	} else if (n == 0) {
		sk_trace(c->opts.tracer, "recv(%d) = 0 (end of stream)", fd);
		if (!c->fd_state->r_is_file && c->rfd != c->wfd)
			sk_loop_del_fd(c->loop, c->rfd);
		sk__conn_read_end(c, 0);
	} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
		sk__conn_read_end(c, -errno);
	}
}

/* The fd has room again: write more of the queue. */
static void write_ready(struct sk_conn *c)
{
	int rc = fd_flush(c);
	if (rc == 1)
		return;
	c->writing = false;
	update_interest(c);
	sk__conn_wrote(c, rc);
}

static void on_io(struct sk_loop *loop, int fd, unsigned events, void *ud)
{
	(void)loop;
	struct sk_conn *c = ud;
	c->depth++;
	if ((events & SK_EV_WRITE) && fd == c->wfd && c->writing)
		write_ready(c);
	if (!c->closed && fd == c->rfd && c->reading_on && (events & (SK_EV_READ | SK_EV_ERROR))) {
		do_read(c);
	} else if (!c->closed && (events & SK_EV_ERROR) && !(events & SK_EV_WRITE)) {
		/* An error on a write-only fd (the reader of our pipe went away). */
		int so_error = 0;
		socklen_t len = sizeof so_error;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) < 0 || so_error == 0)
			so_error = EPIPE;
		c->write_failed = fd == c->wfd;
		sk_conn_close(c, -so_error);
	}
	sk__conn_leave(c);
}

static void on_read_timer(struct sk_loop *loop, struct sk_timer *t, void *ud)
{
	(void)loop;
	(void)t;
	struct sk_conn *c = ud;
	if (!c->reading_on)
		return;
	c->depth++;
	do_read(c);
	/* A file keeps being read, once per loop iteration, while wanted. */
	if (!sk__conn_leave(c))
		update_interest(c);
}

static void fd_set_reading(struct sk_conn *c, bool on)
{
	(void)on;
	update_interest(c);
}

/* Registers fd with the loop, or marks it a file if epoll refuses it. */
static int watch(struct sk_conn *c, int fd, unsigned events, bool *is_file, int *flags_out)
{
	int flags = fcntl(fd, F_GETFL);
	*flags_out = flags;
	if (flags >= 0 && !(flags & O_NONBLOCK))
		fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	int err = sk_loop_add_fd(c->loop, fd, events, on_io, c);
	if (err == -EPERM) {
		*is_file = true;
		return 0;
	}
	return err;
}

static bool is_socket(int fd)
{
	int type;
	socklen_t len = sizeof type;
	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0;
}

static int fd_start(struct sk_conn *c)
{
	struct sk__fd_state *f = calloc(1, sizeof *f);
	if (!f)
		return SK_ENOMEM;
	c->fd_state = f;
	f->r_flags = f->w_flags = -1;
	sk_timer_init(&f->read_timer, on_read_timer, c);
	f->w_is_socket = c->wfd >= 0 && is_socket(c->wfd);
	int err = 0;
	/* Watched for an event at first, so that epoll is asked at once: it
	 * refuses files (EPERM) and bad fds here; update_interest then asks for
	 * what is wanted. */
	if (c->rfd >= 0)
		err = watch(c, c->rfd, SK_EV_READ, &f->r_is_file, &f->r_flags);
	if (err == 0 && c->wfd >= 0 && c->wfd != c->rfd)
		err = watch(c, c->wfd, SK_EV_WRITE, &f->w_is_file, &f->w_flags);
	if (c->wfd >= 0 && c->wfd == c->rfd)
		f->w_is_file = f->r_is_file;
	if (err < 0) {
		if (c->rfd >= 0 && !f->r_is_file)
			sk_loop_del_fd(c->loop, c->rfd);
		f->r_is_file = true; /* del_fd done: fd_close only closes it */
		return err;
	}
	update_interest(c);
	return 0;
}

const struct sk__transport sk__conn_fd_transport = {
	.name = "fd",
	.start = fd_start,
	.set_reading = fd_set_reading,
	.try_write = fd_try_write,
	.flush = fd_flush,
	.shutdown_write = fd_shutdown_write,
	.close = fd_close,
};
