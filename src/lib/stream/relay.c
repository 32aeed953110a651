/* Two conns joined back to back. Each conn's ud is its side of the relay.
 *
 * Lifetime: any call into a conn (a send, a shutdown, a close) may close it,
 * or the other one, and so run on_close and finish the relay from inside
 * one of our own callbacks. So every entry point (the conn callbacks and
 * sk_relay_stop) holds the relay with enter() and lets go with leave(), and
 * only the outermost leave(), once both conns are closed, reports and frees
 * it: nothing below an entry point can free the relay under its caller. */
#include <sockit/err.h>
#include <sockit/relay.h>

#include <stdlib.h>
#include <unistd.h>

struct side {
	struct sk_relay *relay;
	struct sk_conn *conn; /* NULL once closed */
	struct side *other;
	uint64_t *n_read;     /* bytes read from this side */
	uint64_t *n_written;  /* bytes written to this side */
	bool *eof;            /* this side sent us EOF */
	bool paused_other;    /* we paused the other side because we are full */
	char name;            /* 'a' or 'b' */
};

struct sk_relay {
	struct side a, b;
	struct sk_relay_stats stats;
	struct sk_relay_opts opts;
	int err;
	char err_side;
	bool finishing; /* both conns are closed or closing */
	unsigned busy;  /* entry points running: free after the outermost */
};

void sk_relay_opts_init(struct sk_relay_opts *opts)
{
	sk_conn_opts_init(&opts->a);
	sk_conn_opts_init(&opts->b);
	opts->finish_on_b_eof = false;
	opts->a_silent = false;
	opts->on_done = NULL;
	opts->ud = NULL;
}

static void enter(struct sk_relay *r)
{
	r->busy++;
}

/* Lets go of r; the outermost leave after both conns closed reports and
 * frees it. Callers must not touch r afterwards. */
static void leave(struct sk_relay *r)
{
	if (--r->busy || r->a.conn || r->b.conn)
		return;
	if (r->opts.on_done)
		r->opts.on_done(r->opts.ud, r->err, r->err_side, &r->stats);
	free(r);
}

/* Closes what is still open: side `keep`'s conn after its queue is written
 * (what the peer sent before a reset still reaches stdout), the other now.
 * keep is 0 to close both now. */
static void finish(struct sk_relay *r, char keep)
{
	if (r->finishing)
		return;
	r->finishing = true;
	struct side *sides[2] = { &r->a, &r->b };
	for (int i = 0; i < 2; i++) {
		struct side *s = sides[i];
		if (!s->conn)
			continue;
		if (s->name == keep)
			sk_conn_close_after_flush(s->conn);
		else
			sk_conn_close(s->conn, 0);
	}
}

/* The first error wins; it ends the relay. After an error on b (the
 * network side), a still gets what was queued for it; after one on a,
 * nothing a said can be trusted to be complete, and b may not be reading:
 * both close at once. */
static void fail(struct sk_relay *r, int err, struct side *s, bool writing)
{
	if (!r->err) {
		r->err = err;
		r->err_side = s->name;
		r->stats.err_writing = writing;
	}
	finish(r, s->name == 'b' ? 'a' : 0);
}

/* Has everything `from` will say been written to the other side? */
static bool direction_done(const struct side *from)
{
	return *from->eof && (!from->other->conn || sk_conn_pending(from->other->conn) == 0);
}

static void check_done(struct sk_relay *r)
{
	if (r->finishing)
		return;
	bool done = direction_done(&r->a) && direction_done(&r->b);
	/* b's EOF ends the session once nothing read from a is still queued for b: what
	 * a has not said yet stays unread, for the next b (nc -lk). */
	if (r->opts.finish_on_b_eof && direction_done(&r->b) &&
	    (!r->b.conn || sk_conn_pending(r->b.conn) == 0))
		done = true;
	if (done)
		finish(r, 0);
}

static void relay_data(struct side *s, const char *p, size_t len)
{
	struct sk_relay *r = s->relay;
	struct side *dst = s->other;
	*s->n_read += len;
	if (r->finishing || !dst->conn)
		return; /* unreachable: s stops reading once the relay finishes */
	int err = sk_conn_send(dst->conn, p, len);
	if (err == SK_ETOOLARGE) {
		/* sk_relay_start checked that a read fits above high water, so
		 * this is a broken contract: fail loudly, never drop bytes. */
		fail(r, err, dst, true);
		return;
	}
	if (err < 0)
		return; /* dst closed inside the send: its on_close failed the relay */
	if (sk_conn_is_full(dst->conn) && !dst->paused_other) {
		dst->paused_other = true;
		sk_conn_pause(s->conn);
	}
}

static void on_data(struct sk_conn *c, const char *p, size_t len, void *ud)
{
	(void)c;
	struct side *s = ud;
	struct sk_relay *r = s->relay;
	enter(r);
	relay_data(s, p, len);
	leave(r);
}

static void on_drain(struct sk_conn *c, void *ud)
{
	(void)c;
	struct side *s = ud;
	struct sk_relay *r = s->relay;
	enter(r);
	if (s->paused_other && s->other->conn && !r->finishing) {
		s->paused_other = false;
		sk_conn_resume(s->other->conn);
	}
	check_done(r);
	leave(r);
}

/* EOF from one side ends only that direction: the other side's write end
 * is shut down once its queue is written, and the other direction goes on
 * (a peer's FIN is not a request to stop sending to it). */
static void on_eof(struct sk_conn *c, void *ud)
{
	(void)c;
	struct side *s = ud;
	struct sk_relay *r = s->relay;
	enter(r);
	*s->eof = true;
	if (s->other->conn && !r->finishing)
		sk_conn_shutdown(s->other->conn);
	check_done(r);
	leave(r);
}

static void on_close(struct sk_conn *c, int err, void *ud)
{
	struct side *s = ud;
	struct sk_relay *r = s->relay;
	enter(r);
	*s->n_written = sk_conn_bytes_written(c);
	bool writing = sk_conn_write_failed(c);
	s->conn = NULL;
	if (err)
		fail(r, err, s, writing);
	else
		finish(r, 0);
	leave(r);
}

static const struct sk_conn_handler relay_handler = {
	.on_data = on_data,
	.on_eof = on_eof,
	.on_drain = on_drain,
	.on_close = on_close,
};

void sk_relay_stop(struct sk_relay *r)
{
	enter(r);
	/* finish() may already have left a conn flushing: close both now. */
	r->finishing = true;
	if (r->a.conn)
		sk_conn_close(r->a.conn, 0);
	if (r->b.conn)
		sk_conn_close(r->b.conn, 0);
	leave(r);
}

static void close_fds(int rfd, int wfd)
{
	if (rfd >= 0)
		close(rfd);
	if (wfd >= 0 && wfd != rfd)
		close(wfd);
}

/* One read of the sender must fit in the receiver's queue above high water:
 * the relay pauses the sender only when the queue reaches high water. */
static bool read_fits(const struct sk_conn_opts *from, const struct sk_conn_opts *to)
{
	size_t read = from->read_size && from->read_size < 64 * 1024 ? from->read_size : 64 * 1024;
	return to->high_water <= to->out_max && read <= to->out_max - to->high_water;
}

int sk_relay_start(struct sk_loop *loop, int a_rfd, int a_wfd, int b_rfd, int b_wfd,
                   const struct sk_relay_opts *opts, struct sk_relay **out)
{
	bool fits = read_fits(&opts->a, &opts->b) && read_fits(&opts->b, &opts->a);
	struct sk_relay *r = fits ? calloc(1, sizeof *r) : NULL;
	if (!r) {
		close_fds(a_rfd, a_wfd);
		close_fds(b_rfd, b_wfd);
		return fits ? SK_ENOMEM : SK_EINVAL;
	}
	r->opts = *opts;
	struct sk_relay_stats *st = &r->stats;
	r->a = (struct side){ .relay = r, .other = &r->b, .n_read = &st->a_to_b,
	                      .n_written = &st->b_to_a_sent, .eof = &st->a_eof, .name = 'a' };
	r->b = (struct side){ .relay = r, .other = &r->a, .n_read = &st->b_to_a,
	                      .n_written = &st->a_to_b_sent, .eof = &st->b_eof, .name = 'b' };
	int err = sk_conn_new(loop, a_rfd, a_wfd, &opts->a, &relay_handler, &r->a, &r->a.conn);
	if (err < 0) {
		close_fds(b_rfd, b_wfd);
		free(r);
		return err;
	}
	enter(r);
	err = sk_conn_new(loop, b_rfd, b_wfd, &opts->b, &relay_handler, &r->b, &r->b.conn);
	if (err < 0) {
		r->opts.on_done = NULL; /* the caller hears of it from our return */
		r->finishing = true;
		sk_conn_close(r->a.conn, 0);
		leave(r); /* frees r */
		return err;
	}
	/* A one-way side (no read fd) has nothing to say: its direction is done. */
	r->stats.a_eof = a_rfd < 0;
	r->stats.b_eof = b_rfd < 0;
	if (a_rfd < 0 && !opts->a_silent)
		sk_conn_shutdown(r->b.conn);
	if (out)
		*out = r;
	leave(r);
	return 0;
}
