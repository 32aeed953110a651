/* sk_conn: a byte stream over one or two fds, driven by the loop. The
 * lifecycle is a handful of flags rather than an enum because reading and
 * writing end independently (half-close):
 *
 *   reading ──EOF──> read_closed          writing ──shutdown──> write_closed
 *        └─ paused (backpressure)              └─ queue → close_after_flush
 *
 * and the conn is closed when the owner says so, or on an error or idle
 * timeout. Callbacks can close the conn; `depth` defers the free until the
 * outermost callback returns. */
#include <sockit/buf.h>
#include <sockit/conn.h>
#include <sockit/err.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

struct sk_conn {
	struct sk_loop *loop;
	const struct sk_conn_handler *h;
	void *ud;
	struct sk_conn_opts opts;
	int rfd, wfd;
	bool r_is_file, w_is_file; /* not pollable: read by timer, write synchronously */
	bool w_is_socket;          /* send(MSG_NOSIGNAL) instead of write: no SIGPIPE */
	int r_flags, w_flags;      /* O_* flags before we set O_NONBLOCK, restored at close */
	bool read_closed, write_closed, want_shutdown, want_close, is_full;
	bool closed;               /* on_close delivered; free when depth drops to 0 */
	bool write_failed;         /* the error that closed us came from writing */
	unsigned n_paused;
	unsigned n_corked;         /* sends only queue while > 0 (sk_conn_cork) */
	unsigned depth;            /* callbacks in progress */
	struct sk_buf out;
	uint64_t n_written;        /* bytes written to wfd */
	struct sk_timer read_timer; /* drives reads from a regular file */
	struct sk_timer idle_timer;
	uint64_t last_active_ms;
};

void sk_conn_opts_init(struct sk_conn_opts *opts)
{
	opts->out_max = SK_CONN_OUT_MAX;
	opts->high_water = SK_CONN_OUT_MAX / 2;
	opts->low_water = SK_CONN_OUT_MAX / 8;
	opts->read_size = 64 * 1024;
	opts->idle_ms = 0;
	opts->tracer = NULL;
}

/* Bytes waiting to be written. (No splice(2) path: on loopback it moved
 * 1.16 GB/s where read/write moves 2.53, bench/tcp.sh bulk, Linux 6.1.) */
static size_t queued(const struct sk_conn *c)
{
	return c->out.len;
}

static bool reading(const struct sk_conn *c)
{
	return c->rfd >= 0 && !c->read_closed && !c->n_paused && !c->want_close && !c->closed;
}

/* Brings the loop's view of our fds in line with what we want now. */
static void update_interest(struct sk_conn *c)
{
	if (c->closed)
		return;
	bool want_write = queued(c) > 0 && !c->write_closed;
	if (c->rfd >= 0 && c->rfd == c->wfd && !c->r_is_file) {
		sk_loop_mod_fd(c->loop, c->rfd,
		               (reading(c) ? SK_EV_READ : 0) | (want_write ? SK_EV_WRITE : 0));
		return;
	}
	if (c->rfd >= 0 && !c->r_is_file && !c->read_closed)
		sk_loop_mod_fd(c->loop, c->rfd, reading(c) ? SK_EV_READ : 0);
	if (c->wfd >= 0 && !c->w_is_file && !c->write_closed)
		sk_loop_mod_fd(c->loop, c->wfd, want_write ? SK_EV_WRITE : 0);
	if (c->r_is_file && reading(c) && !sk_timer_is_active(&c->read_timer))
		sk_loop_timer_start(c->loop, &c->read_timer, 0);
	if (c->r_is_file && !reading(c))
		sk_loop_timer_stop(c->loop, &c->read_timer);
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

static void release_fds(struct sk_conn *c)
{
	if (c->rfd >= 0)
		release_fd(c, c->rfd, c->r_is_file, c->r_flags);
	if (c->wfd >= 0 && c->wfd != c->rfd)
		release_fd(c, c->wfd, c->w_is_file, c->w_flags);
	c->rfd = c->wfd = -1;
}

static void free_conn(struct sk_conn *c)
{
	sk_buf_fini(&c->out);
	free(c);
}

void sk_conn_close(struct sk_conn *c, int err)
{
	if (c->closed)
		return;
	c->closed = true;
	sk_loop_timer_stop(c->loop, &c->read_timer);
	sk_loop_timer_stop(c->loop, &c->idle_timer);
	release_fds(c);
	c->depth++;
	if (c->h->on_close)
		c->h->on_close(c, err, c->ud);
	c->depth--;
	if (c->depth == 0)
		free_conn(c);
}

/* Ends a callback section: frees a conn closed inside it. Returns true if
 * the conn is gone and the caller must not touch it. */
static bool leave(struct sk_conn *c)
{
	c->depth--;
	if (c->closed && c->depth == 0) {
		free_conn(c);
		return true;
	}
	return c->closed;
}

static void touch(struct sk_conn *c)
{
	c->last_active_ms = sk_loop_now(c->loop);
}

/* Once nothing is queued: closes the conn if asked to, or shuts the write
 * side down. */
static void finish_write_side(struct sk_conn *c)
{
	if (queued(c))
		return;
	if (c->want_close) {
		sk_conn_close(c, 0);
		return;
	}
	if (c->write_closed || !c->want_shutdown)
		return;
	c->write_closed = true;
	if (c->wfd == c->rfd && c->w_is_socket) {
		shutdown(c->wfd, SHUT_WR);
		sk_trace(c->opts.tracer, "shutdown(%d, SHUT_WR)", c->wfd);
	} else if (c->wfd == c->rfd) {
		/* One non-socket fd for both ways (a tty, an O_RDWR fifo) cannot be
		 * half-closed: stop writing, keep it open for reading. */
	} else if (c->wfd >= 0) {
		release_fd(c, c->wfd, c->w_is_file, c->w_flags);
		c->wfd = -1;
	}
	update_interest(c);
}

/* Writes from p; returns bytes written, or a negative errno (-EAGAIN when
 * the fd is full). Files take everything: a blocking write is short only on
 * error. */
static ssize_t write_some(struct sk_conn *c, const char *p, size_t len)
{
	ssize_t n;
	do
		n = c->w_is_socket ? send(c->wfd, p, len, MSG_NOSIGNAL) : write(c->wfd, p, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	sk_trace(c->opts.tracer, "send(%d, %zd)", c->wfd, n);
	return n;
}

/* An empty queue gives its memory back: a connection that once had a
 * burst queued costs only its struct while idle (10,000 idle connections
 * would otherwise keep up to out_max each). The next queued byte costs a
 * malloc, small next to the write(2) that could not take it. */
static void release_if_empty(struct sk_conn *c)
{
	if (c->out.len == 0 && c->out.data)
		sk_buf_fini(&c->out);
}

/* Writes queued bytes; closes the conn on a write error. Returns the error. */
static int flush(struct sk_conn *c)
{
	while (c->out.len && !c->closed) {
		ssize_t n = write_some(c, sk_buf_head(&c->out), c->out.len);
		if (n == -EAGAIN)
			break;
		if (n < 0) {
			c->write_failed = true;
			sk_conn_close(c, (int)n);
			return (int)n;
		}
		sk_buf_consume(&c->out, (size_t)n);
		c->n_written += (uint64_t)n;
		touch(c);
	}
	release_if_empty(c);
	return 0;
}

static void after_flush(struct sk_conn *c)
{
	if (c->closed)
		return;
	if ((c->is_full && queued(c) <= c->opts.low_water) || queued(c) == 0) {
		c->is_full = false;
		if (c->h->on_drain)
			c->h->on_drain(c, c->ud);
		if (c->closed)
			return;
	}
	finish_write_side(c);
	update_interest(c);
}

int sk_conn_send(struct sk_conn *c, const void *p, size_t len)
{
	if (c->closed || c->write_closed || c->want_shutdown || c->wfd < 0)
		return SK_EPIPE;
	if (len > c->opts.out_max - c->out.len)
		return SK_ETOOLARGE;
	const char *bytes = p;
	c->depth++;
	if (queued(c) == 0 && !c->n_corked) {
		/* Nothing queued: try the fd first, queue only what it refuses. */
		while (len) {
			ssize_t n = write_some(c, bytes, len);
			if (n == -EAGAIN)
				break;
			if (n < 0) {
				c->write_failed = true;
				sk_conn_close(c, (int)n);
				leave(c);
				return (int)n;
			}
			bytes += n;
			len -= (size_t)n;
			c->n_written += (uint64_t)n;
			touch(c);
		}
	}
	int err = len ? sk_buf_append(&c->out, bytes, len) : 0;
	if (queued(c) >= c->opts.high_water)
		c->is_full = true;
	update_interest(c);
	leave(c);
	return err;
}

/* Reads go to the stack: no per-connection read buffer, so 10,000 idle
 * connections cost only their structs (bench/tcp.sh idle test), and no
 * allocation per read. read_size is capped to this. */
#define READ_MAX (64 * 1024)

static void do_read(struct sk_conn *c)
{
	char buf[READ_MAX];
	size_t size = c->opts.read_size && c->opts.read_size < sizeof buf ? c->opts.read_size : sizeof buf;
	c->depth++;
	ssize_t n;
	do
		n = read(c->rfd, buf, size);
	while (n < 0 && errno == EINTR);
	int fd = c->rfd;
	if (n > 0) {
		sk_trace(c->opts.tracer, "recv(%d) = %zd", fd, n);
		touch(c);
		c->h->on_data(c, buf, (size_t)n, c->ud);
	} else if (n == 0) {
		sk_trace(c->opts.tracer, "recv(%d) = 0 (end of stream)", fd);
		c->read_closed = true;
		if (!c->r_is_file && c->rfd != c->wfd)
			sk_loop_del_fd(c->loop, c->rfd);
		update_interest(c);
		if (c->h->on_eof)
			c->h->on_eof(c, c->ud);
	} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
		sk_conn_close(c, -errno);
	}
	if (!leave(c))
		update_interest(c);
}

static void on_io(struct sk_loop *loop, int fd, unsigned events, void *ud)
{
	(void)loop;
	struct sk_conn *c = ud;
	c->depth++;
	if ((events & SK_EV_WRITE) && fd == c->wfd && queued(c)) {
		flush(c);
		after_flush(c);
	}
	if (!c->closed && fd == c->rfd && reading(c) && (events & (SK_EV_READ | SK_EV_ERROR)))
		do_read(c);
	else if (!c->closed && (events & SK_EV_ERROR) && !(events & SK_EV_WRITE)) {
		/* An error on a write-only fd (the reader of our pipe went away). */
		int so_error = 0;
		socklen_t len = sizeof so_error;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) < 0 || so_error == 0)
			so_error = EPIPE;
		c->write_failed = fd == c->wfd;
		sk_conn_close(c, -so_error);
	}
	leave(c);
}

static void on_read_timer(struct sk_loop *loop, struct sk_timer *t, void *ud)
{
	(void)loop;
	(void)t;
	struct sk_conn *c = ud;
	if (reading(c))
		do_read(c);
}

static void on_idle_timer(struct sk_loop *loop, struct sk_timer *t, void *ud)
{
	struct sk_conn *c = ud;
	if (!c->opts.idle_ms)
		return;
	/* Activity only stamps last_active_ms; the timer checks the stamp when
	 * it fires and re-arms for the rest, so busy connections cost no heap
	 * operation per byte. */
	uint64_t idle = sk_loop_now(loop) - c->last_active_ms;
	if (idle < c->opts.idle_ms) {
		sk_loop_timer_start(loop, t, c->opts.idle_ms - idle);
		return;
	}
	sk_conn_close(c, -ETIMEDOUT);
}

void sk_conn_set_idle(struct sk_conn *c, unsigned idle_ms)
{
	c->opts.idle_ms = idle_ms;
	touch(c);
	if (idle_ms)
		sk_loop_timer_start(c->loop, &c->idle_timer, idle_ms);
	else
		sk_loop_timer_stop(c->loop, &c->idle_timer);
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

int sk_conn_new(struct sk_loop *loop, int rfd, int wfd, const struct sk_conn_opts *opts,
                const struct sk_conn_handler *handler, void *ud, struct sk_conn **out)
{
	struct sk_conn *c = calloc(1, sizeof *c);
	if (!c) {
		if (rfd >= 0)
			close(rfd);
		if (wfd >= 0 && wfd != rfd)
			close(wfd);
		return SK_ENOMEM;
	}
	c->loop = loop;
	c->h = handler;
	c->ud = ud;
	c->opts = *opts;
	c->rfd = rfd;
	c->wfd = wfd;
	c->r_flags = c->w_flags = -1;
	sk_buf_init(&c->out, opts->out_max);
	sk_timer_init(&c->read_timer, on_read_timer, c);
	sk_timer_init(&c->idle_timer, on_idle_timer, c);
	c->w_is_socket = wfd >= 0 && is_socket(wfd);
	int err = 0;
	if (rfd >= 0)
		err = watch(c, rfd, SK_EV_READ, &c->r_is_file, &c->r_flags);
	if (err == 0 && wfd >= 0 && wfd != rfd)
		err = watch(c, wfd, 0, &c->w_is_file, &c->w_flags);
	if (wfd >= 0 && wfd == rfd)
		c->w_is_file = c->r_is_file;
	if (err < 0) {
		if (rfd >= 0 && !c->r_is_file)
			sk_loop_del_fd(loop, rfd);
		release_fds(c);
		free_conn(c);
		return err;
	}
	touch(c);
	if (opts->idle_ms)
		sk_loop_timer_start(loop, &c->idle_timer, opts->idle_ms);
	update_interest(c);
	*out = c;
	return 0;
}

bool sk_conn_is_full(const struct sk_conn *c)
{
	return c->is_full;
}

size_t sk_conn_pending(const struct sk_conn *c)
{
	return queued(c);
}


void sk_conn_cork(struct sk_conn *c)
{
	c->n_corked++;
}

void sk_conn_uncork(struct sk_conn *c)
{
	if (c->n_corked == 0 || --c->n_corked > 0 || c->closed)
		return;
	c->depth++;
	flush(c);
	if (!c->closed)
		after_flush(c);
	leave(c);
}

void sk_conn_pause(struct sk_conn *c)
{
	c->n_paused++;
	update_interest(c);
}

void sk_conn_resume(struct sk_conn *c)
{
	if (c->n_paused)
		c->n_paused--;
	update_interest(c);
}

void sk_conn_shutdown(struct sk_conn *c)
{
	if (c->closed || c->write_closed)
		return;
	c->want_shutdown = true;
	c->depth++;
	finish_write_side(c);
	leave(c);
}

void sk_conn_close_after_flush(struct sk_conn *c)
{
	if (c->closed)
		return;
	c->want_close = true;
	c->depth++;
	update_interest(c);
	finish_write_side(c);
	leave(c);
}

bool sk_conn_read_closed(const struct sk_conn *c)
{
	return c->read_closed;
}

bool sk_conn_write_closed(const struct sk_conn *c)
{
	return c->write_closed;
}

uint64_t sk_conn_bytes_written(const struct sk_conn *c)
{
	return c->n_written;
}

bool sk_conn_write_failed(const struct sk_conn *c)
{
	return c->write_failed;
}

int sk_conn_rfd(const struct sk_conn *c)
{
	return c->rfd;
}

void *sk_conn_ud(const struct sk_conn *c)
{
	return c->ud;
}

void sk_conn_set_ud(struct sk_conn *c, void *ud)
{
	c->ud = ud;
}
