/* sk_conn: a byte stream over a transport, driven by the loop. The
 * lifecycle is a handful of flags rather than an enum because reading and
 * writing end independently (half-close):
 *
 *   reading ──EOF──> read_closed          writing ──shutdown──> write_closed
 *        └─ paused (backpressure)              └─ queue → close_after_flush
 *
 * and the conn is closed when the owner says so, or on an error or idle
 * timeout. Callbacks can close the conn; `depth` defers the free until the
 * outermost callback returns.
 *
 * This file is the part every transport shares: the queue with its
 * ceiling and high/low water marks, half-close, the idle timeout, the
 * counters and the callbacks. How bytes reach the kernel is the
 * transport's (conn_sock.c: a socket through the loop's completion I/O,
 * io_uring or epoll; conn_fd.c: pipes, terminals and files by readiness). */
#include <sockit/err.h>

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stream/stream_internal.h"

void sk_conn_opts_init(struct sk_conn_opts *opts)
{
	opts->out_max = SK_CONN_OUT_MAX;
	opts->high_water = SK_CONN_OUT_MAX / 2;
	opts->low_water = SK_CONN_OUT_MAX / 8;
	opts->read_size = 64 * 1024;
	opts->idle_ms = 0;
	opts->defer_sends = false;
	opts->tracer = NULL;
	opts->tls = NULL;
}

/* Bytes accepted by sk_conn_send (and sk_conn_send_file) and not yet
 * taken by the kernel. */
static size_t queued(const struct sk_conn *c)
{
	size_t n = c->out.len + c->in_flight;
	if (c->file)
		n += (size_t)c->file->left + c->file->after.len;
	return n;
}

static bool reading(const struct sk_conn *c)
{
	return c->rfd >= 0 && !c->read_closed && !c->n_paused && !c->want_close && !c->closed &&
	       !c->held;
}

/* Tells the transport whether to read, when that changed. */
static void sync_reading(struct sk_conn *c)
{
	if (c->closed)
		return;
	bool want = reading(c);
	if (want != c->reading_on) {
		c->reading_on = want;
		c->tp->set_reading(c, want);
	}
}

static void drop_file(struct sk_conn *c)
{
	struct sk__conn_file *f = c->file;
	if (!f)
		return;
	if (f->shared)
		sk_shared_fd_release(f->shared);
	else
		close(f->fd);
	sk_buf_fini(&f->after);
	free(f);
	c->file = NULL;
}

/* The file is all sent (or read into the queue): what was sent after it
 * joins the queue behind it. */
static int file_done(struct sk_conn *c)
{
	struct sk_buf *after = &c->file->after;
	int err = after->len ? sk_buf_append(&c->out, sk_buf_head(after), after->len) : 0;
	drop_file(c);
	return err;
}

/* Bytes a handler did not take (it paused: its buffer is full), and the
 * timer that offers them again after the resume. Rare, so apart from
 * struct sk_conn, which points to them only while it holds some. */
struct sk__conn_held {
	struct sk_buf bytes;
	struct sk_timer timer;
};

static void drop_held(struct sk_conn *c)
{
	struct sk__conn_held *h = c->held;
	if (!h)
		return;
	sk_loop_timer_stop(c->loop, &h->timer);
	sk_buf_fini(&h->bytes);
	free(h);
	c->held = NULL;
}

static void free_conn(struct sk_conn *c)
{
	drop_file(c);
	drop_held(c);
	sk_buf_fini(&c->out);
	free(c);
}

void sk_conn_close(struct sk_conn *c, int err)
{
	if (c->closed)
		return;
	c->closed = true;
	sk_loop_timer_stop(c->loop, &c->idle_timer);
	if (c->held)
		sk_loop_timer_stop(c->loop, &c->held->timer);
	/* Bytes a write under way holds are the loop's now: it frees them
	 * when the kernel lets go. */
	c->tp->close(c);
	c->depth++;
	if (c->h->on_close)
		c->h->on_close(c, err, c->ud);
	c->depth--;
	if (c->depth == 0)
		free_conn(c);
}

bool sk__conn_leave(struct sk_conn *c)
{
	c->depth--;
	if (c->closed && c->depth == 0) {
		free_conn(c);
		return true;
	}
	return c->closed;
}

void sk__conn_touch(struct sk_conn *c)
{
	c->last_active_ms = sk_loop_now(c->loop);
}

/* Once nothing is queued: closes the conn if asked to, or shuts the write
 * side down. */
static void finish_write_side(struct sk_conn *c)
{
	if (queued(c) || c->closed)
		return;
	if (c->want_close) {
		sk_conn_close(c, 0);
		return;
	}
	if (c->write_closed || !c->want_shutdown)
		return;
	c->write_closed = true;
	c->tp->shutdown_write(c);
}

/* An empty queue gives its memory back: a connection that once had a
 * burst queued costs only its struct while idle (10,000 idle connections
 * would otherwise keep up to out_max each). The next queued byte costs a
 * malloc, small next to the system call that could not take it. */
static void release_if_empty(struct sk_conn *c)
{
	if (c->out.len == 0 && c->out.data)
		sk_buf_fini(&c->out);
}

static void write_failed(struct sk_conn *c, int err)
{
	c->write_failed = true;
	sk_conn_close(c, err);
}

/* Hands the queue to the transport unless a write is under way (its end
 * hands over what queued meanwhile: one system call for many sends). */
/* The next piece of a file being sent goes into the queue once the queue
 * has gone to the transport. */
static int read_file_piece(struct sk_conn *c)
{
	struct sk__conn_file *f = c->file;
	size_t piece = f->left < SK_CONN_FILE_PIECE ? (size_t)f->left : SK_CONN_FILE_PIECE;
	/* Room for a whole piece: the buffer grows once, not per read. */
	int err = sk_buf_reserve(&c->out, piece);
	if (err < 0)
		return err;
	char *at = c->out.data + c->out.start + c->out.len;
	ssize_t n;
	do
		n = pread(f->fd, at, piece, (off_t)f->off);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return n < 0 ? -errno : -EIO; /* a read error, or a file shortened meanwhile */
	c->out.len += (size_t)n;
	f->off += (uint64_t)n;
	f->left -= (uint64_t)n;
	return f->left ? 0 : file_done(c);
}

static int kick(struct sk_conn *c)
{
	for (;;) {
		if (c->closed || c->writing || c->n_corked)
			return 0;
		/* The transport sends the file itself once what was queued before
		 * it is out (the response head goes first, marked "more to come"). */
		if (c->file && c->file->direct && !c->out.len) {
			int rc = c->tp->send_file(c);
			if (rc < 0) {
				write_failed(c, rc);
				return rc;
			}
			c->writing = rc == 1;
			if (c->file->left)
				return 0;
			if ((rc = file_done(c)) < 0) {
				sk_conn_close(c, rc);
				return rc;
			}
			continue; /* what was sent after the file */
		}
		/* Else a file's next piece joins what is queued (a response head):
		 * one send for both. */
		if (c->file && !c->file->direct && c->out.len < SK_CONN_FILE_PIECE) {
			int err = read_file_piece(c);
			if (err < 0) {
				sk_conn_close(c, err);
				return err;
			}
		}
		if (!c->out.len)
			return 0;
		int rc = c->tp->flush(c);
		if (rc < 0) {
			write_failed(c, rc);
			return rc;
		}
		c->writing = rc == 1;
		release_if_empty(c);
		/* Went out at once: the file's next piece (or what was sent
		 * after the file), until the transport has to wait (a full
		 * socket) or everything is out. */
		if (c->writing)
			return 0;
	}
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
	sync_reading(c);
}

void sk__conn_wrote(struct sk_conn *c, int err)
{
	c->depth++;
	c->writing = false;
	c->in_flight = 0;
	if (err < 0)
		write_failed(c, err);
	if (!c->closed) {
		sk__conn_touch(c);
		kick(c);
		after_flush(c);
	}
	sk__conn_leave(c);
}

int sk_conn_send(struct sk_conn *c, const void *p, size_t len)
{
	if (c->closed || c->write_closed || c->want_shutdown || c->wfd < 0)
		return SK_EPIPE;
	if (len > c->opts.out_max - queued(c))
		return SK_ETOOLARGE;
	const char *bytes = p;
	c->depth++;
	if (queued(c) == 0 && !c->n_corked && c->tp->try_write && len) {
		/* Nothing queued: try the kernel first, queue only what it refuses. */
		long n = c->tp->try_write(c, bytes, len);
		if (n < 0) {
			write_failed(c, (int)n);
			sk__conn_leave(c);
			return (int)n;
		}
		if (n > 0)
			sk__conn_touch(c);
		bytes += n;
		len -= (size_t)n;
	}
	/* Behind a file being sent, bytes wait until it is out. */
	int err = len ? sk_buf_append(c->file ? &c->file->after : &c->out, bytes, len) : 0;
	/* A write that fails here closes the conn: the caller hears it. */
	int werr = err == 0 ? kick(c) : 0;
	/* Full only if the bytes are still waiting: a transport without
	 * try_write (TLS) may have sent the lot in kick, and a queue emptied
	 * here would never see the on_drain that ends "full". */
	if (!c->closed && queued(c) >= c->opts.high_water)
		c->is_full = true;
	sk__conn_leave(c);
	return werr < 0 ? werr : err;
}

int sk_conn_send_buf(struct sk_conn *c, struct sk_buf *b)
{
	if (c->out.len || c->file || !b->len || c->closed)
		goto copy;
	/* Nothing queued: b's storage becomes the queue, no copy. */
	if (c->closed || c->write_closed || c->want_shutdown || c->wfd < 0)
		return SK_EPIPE;
	/* No out_max check: the bytes exist already; taking them costs nothing. */
	size_t max = c->out.max > b->len ? c->out.max : b->len;
	sk_buf_fini(&c->out);
	c->out = *b;
	c->out.max = max;
	sk_buf_init(b, b->max);
	c->depth++;
	int err = kick(c);
	/* Full after the kick only, as in sk_conn_send. */
	if (!c->closed && queued(c) >= c->opts.high_water)
		c->is_full = true;
	sk__conn_leave(c);
	return err;
copy:;
	int rc = sk_conn_send(c, sk_buf_head(b), b->len);
	if (rc == 0)
		sk_buf_consume(b, b->len);
	return rc;
}

struct sk_shared_fd *sk_shared_fd_new(int fd)
{
	struct sk_shared_fd *sf = malloc(sizeof *sf);
	if (sf) {
		sf->fd = fd;
		sf->refs = 1;
	}
	return sf;
}

struct sk_shared_fd *sk_shared_fd_ref(struct sk_shared_fd *sf)
{
	sf->refs++;
	return sf;
}

void sk_shared_fd_release(struct sk_shared_fd *sf)
{
	if (sf && --sf->refs == 0) {
		close(sf->fd);
		free(sf);
	}
}

/* Lets go of what a refused send was given: an fd of its own, or nothing
 * (a shared one's reference is taken only when the send is accepted). */
static int refuse_file(int fd, const struct sk_shared_fd *sf, int err)
{
	if (!sf)
		close(fd);
	return err;
}

/* sk_conn_send_file and sk_conn_send_shared_file: fd is sf's when sf is
 * given. */
static int start_file(struct sk_conn *c, int fd, struct sk_shared_fd *sf, uint64_t off,
                      uint64_t len)
{
	if (c->file)
		return refuse_file(fd, sf, -EBUSY);
	if (c->closed || c->write_closed || c->want_shutdown || c->wfd < 0)
		return refuse_file(fd, sf, SK_EPIPE);
	if (!len)
		return refuse_file(fd, sf, 0);
	struct sk__conn_file *f = malloc(sizeof *f);
	if (!f)
		return refuse_file(fd, sf, SK_ENOMEM);
	f->fd = fd;
	f->shared = sf ? sk_shared_fd_ref(sf) : NULL;
	f->off = off;
	f->left = len;
	f->direct = c->tp->send_file && len >= SK_CONN_SENDFILE_MIN;
	sk_buf_init(&f->after, c->opts.out_max);
	c->file = f;
	c->depth++;
	int err = kick(c);
	sk__conn_leave(c);
	return err;
}

int sk_conn_send_file(struct sk_conn *c, int fd, uint64_t off, uint64_t len)
{
	return start_file(c, fd, NULL, off, len);
}

int sk_conn_send_shared_file(struct sk_conn *c, struct sk_shared_fd *sf, uint64_t off,
                             uint64_t len)
{
	return start_file(c, sf->fd, sf, off, len);
}

/* Offers p[0..n) to the handler; returns how many it took. A handler that
 * takes fewer has paused the conn (its buffer is full). */
static size_t offer(struct sk_conn *c, const char *p, size_t n)
{
	if (!c->h->on_recv) {
		c->h->on_data(c, p, n, c->ud);
		return n;
	}
	size_t took = c->h->on_recv(c, p, n, c->ud);
	if (took < n && !c->closed) {
		c->n_paused++; /* as sk_conn_pause: its sk_conn_resume ends it */
		sync_reading(c);
	}
	return took;
}

static void on_held_timer(struct sk_loop *loop, struct sk_timer *t, void *ud);

/* Keeps p[0..n) for the handler's resume. */
static int hold(struct sk_conn *c, const char *p, size_t n)
{
	if (!c->held) {
		struct sk__conn_held *h = malloc(sizeof *h);
		if (!h)
			return SK_ENOMEM;
		sk_buf_init(&h->bytes, SIZE_MAX);
		sk_timer_init(&h->timer, on_held_timer, c);
		c->held = h;
	}
	return sk_buf_append(&c->held->bytes, p, n);
}

void sk__conn_received(struct sk_conn *c, const char *p, size_t n)
{
	c->depth++;
	c->n_read += n;
	sk__conn_touch(c);
	size_t took = offer(c, p, n);
	if (!c->closed && took < n && hold(c, p + took, n - took) < 0)
		sk_conn_close(c, SK_ENOMEM);
	if (!sk__conn_leave(c))
		sync_reading(c);
}

/* Bytes held since a handler took fewer: offered first after the resume,
 * on the loop's next pass (never from inside the handler's own resume). */
static void on_held_timer(struct sk_loop *loop, struct sk_timer *t, void *ud)
{
	(void)loop;
	(void)t;
	struct sk_conn *c = ud;
	if (c->n_paused || !c->held)
		return;
	c->depth++;
	struct sk_buf *b = &c->held->bytes;
	size_t took = offer(c, sk_buf_head(b), b->len);
	if (!c->closed) {
		sk_buf_consume(b, took);
		if (!b->len)
			drop_held(c);
	}
	if (!sk__conn_leave(c))
		sync_reading(c);
}

void sk__conn_read_end(struct sk_conn *c, int err)
{
	c->depth++;
	if (err == 0) {
		c->read_closed = true;
		sync_reading(c);
		if (c->h->on_eof)
			c->h->on_eof(c, c->ud);
	} else {
		sk_conn_close(c, err);
	}
	if (!sk__conn_leave(c))
		sync_reading(c);
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
	sk__conn_touch(c);
	if (idle_ms)
		sk_loop_timer_start(c->loop, &c->idle_timer, idle_ms);
	else
		sk_loop_timer_stop(c->loop, &c->idle_timer);
}

int sk__conn_start(struct sk_loop *loop, int rfd, int wfd, const struct sk_conn_opts *opts,
                   const struct sk_conn_handler *handler, void *ud,
                   const struct sk__transport *tp, struct sk_conn **out)
{
	struct sk_conn *c = tp ? calloc(1, sizeof *c) : NULL;
	if (!c) {
		if (rfd >= 0)
			close(rfd);
		if (wfd >= 0 && wfd != rfd)
			close(wfd);
		return tp ? SK_ENOMEM : SK_EINVAL;
	}
	c->loop = loop;
	c->h = handler;
	c->ud = ud;
	c->opts = *opts;
	c->rfd = rfd;
	c->wfd = wfd;
	c->tp = tp;
	sk_buf_init(&c->out, opts->out_max);
	sk_timer_init(&c->idle_timer, on_idle_timer, c);
	c->reading_on = reading(c);
	int err = c->tp->start(c);
	if (err < 0) {
		c->tp->close(c);
		free_conn(c);
		return err;
	}
	sk__conn_touch(c);
	if (opts->idle_ms)
		sk_loop_timer_start(loop, &c->idle_timer, opts->idle_ms);
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
	kick(c);
	if (!c->writing)
		after_flush(c);
	sk__conn_leave(c);
}

void sk_conn_pause(struct sk_conn *c)
{
	c->n_paused++;
	sync_reading(c);
}

void sk_conn_resume(struct sk_conn *c)
{
	if (c->n_paused)
		c->n_paused--;
	if (!c->n_paused && c->held && !c->closed)
		sk_loop_timer_start(c->loop, &c->held->timer, 0);
	sync_reading(c);
}

void sk_conn_shutdown(struct sk_conn *c)
{
	if (c->closed || c->write_closed)
		return;
	c->want_shutdown = true;
	c->depth++;
	finish_write_side(c);
	sk__conn_leave(c);
}

void sk_conn_close_after_flush(struct sk_conn *c)
{
	if (c->closed)
		return;
	c->want_close = true;
	c->depth++;
	sync_reading(c);
	finish_write_side(c);
	sk__conn_leave(c);
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

uint64_t sk_conn_bytes_read(const struct sk_conn *c)
{
	return c->n_read;
}

bool sk_conn_write_failed(const struct sk_conn *c)
{
	return c->write_failed;
}

int sk_conn_rfd(const struct sk_conn *c)
{
	return c->rfd;
}

const char *sk_conn_transport_name(const struct sk_conn *c)
{
	return c->tp->name;
}

void *sk_conn_ud(const struct sk_conn *c)
{
	return c->ud;
}

void sk_conn_set_ud(struct sk_conn *c, void *ud)
{
	c->ud = ud;
}
