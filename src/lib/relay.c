/* Two conns joined back to back. Each conn's ud is its side of the relay;
 * the relay ends when both directions are done or a side fails. */
#include <sockit/err.h>
#include <sockit/relay.h>

#include <stdlib.h>
#include <unistd.h>

struct side {
	struct sk_relay *relay;
	struct sk_conn *conn;
	struct side *other;
	uint64_t *counter;   /* bytes read from this side */
	bool eof_seen;       /* this side sent us EOF */
	bool paused_other;   /* we paused the other side because we are full */
	bool gone;           /* conn closed */
	char name;           /* 'a' or 'b' */
};

struct sk_relay {
	struct side a, b;
	struct sk_relay_stats stats;
	struct sk_relay_opts opts;
	int err;
	char err_side;
	bool finishing;
	unsigned busy; /* inside finish(): closing a side must not free us yet */
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

/* Frees the relay once both conns are closed and no finish() is running. */
static void maybe_free(struct sk_relay *r)
{
	if (r->busy || !r->a.gone || !r->b.gone)
		return;
	if (r->opts.on_done)
		r->opts.on_done(r->opts.ud, r->err, r->err_side, &r->stats);
	free(r);
}

/* Closes both sides; the relay may be freed on return: callers must not
 * touch it afterwards. */
static void finish(struct sk_relay *r, int err, char side)
{
	if (err && !r->err) {
		r->err = err;
		r->err_side = side;
	}
	if (r->finishing)
		return;
	r->finishing = true;
	/* Closing a conn calls on_close at once, which marks its side gone. */
	r->busy++;
	if (!r->a.gone)
		sk_conn_close(r->a.conn, 0);
	if (!r->b.gone)
		sk_conn_close(r->b.conn, 0);
	r->busy--;
	maybe_free(r);
}

/* Has this direction delivered everything it will? */
static bool direction_done(const struct side *from)
{
	return from->eof_seen && (from->other->gone || sk_conn_pending(from->other->conn) == 0);
}

static void check_done(struct sk_relay *r)
{
	if (r->finishing)
		return;
	bool done = direction_done(&r->a) && direction_done(&r->b);
	if (r->opts.finish_on_b_eof && direction_done(&r->b))
		done = true;
	if (done)
		finish(r, 0, 0);
}

static void on_data(struct sk_conn *c, const char *p, size_t len, void *ud)
{
	(void)c;
	struct side *s = ud;
	struct side *dst = s->other;
	*s->counter += len;
	if (dst->gone)
		return; /* the other side can't take it: drop, as a closed pipe would */
	int err = sk_conn_send(dst->conn, p, len);
	if (err < 0 && err != SK_ETOOLARGE) {
		finish(s->relay, err, dst->name);
		return;
	}
	/* Reads are at most read_size and we pause at high water, well below
	 * out_max: SK_ETOOLARGE means a misconfiguration, treat it as full. */
	if ((err == SK_ETOOLARGE || sk_conn_is_full(dst->conn)) && !dst->paused_other) {
		dst->paused_other = true;
		sk_conn_pause(s->conn);
	}
}

static void on_drain(struct sk_conn *c, void *ud)
{
	(void)c;
	struct side *s = ud;
	if (s->paused_other && !s->other->gone) {
		s->paused_other = false;
		sk_conn_resume(s->other->conn);
	}
	check_done(s->relay);
}

static void on_eof(struct sk_conn *c, void *ud)
{
	(void)c;
	struct side *s = ud;
	s->eof_seen = true;
	if (s->name == 'a')
		s->relay->stats.a_eof = true;
	else
		s->relay->stats.b_eof = true;
	if (!s->other->gone)
		sk_conn_shutdown(s->other->conn);
	check_done(s->relay);
}

static void on_close(struct sk_conn *c, int err, void *ud)
{
	(void)c;
	struct side *s = ud;
	struct sk_relay *r = s->relay;
	s->gone = true;
	if (!r->finishing)
		finish(r, err, s->name);
	else
		maybe_free(r);
}

static const struct sk_conn_handler relay_handler = {
	.on_data = on_data,
	.on_eof = on_eof,
	.on_drain = on_drain,
	.on_close = on_close,
};

void sk_relay_stop(struct sk_relay *r)
{
	finish(r, 0, 0);
}

int sk_relay_start(struct sk_loop *loop, int a_rfd, int a_wfd, int b_rfd, int b_wfd,
                   const struct sk_relay_opts *opts, struct sk_relay **out)
{
	struct sk_relay *r = calloc(1, sizeof *r);
	if (!r) {
		int fds[4] = { a_rfd, a_wfd, b_rfd, b_wfd };
		for (int i = 0; i < 4; i++)
			if (fds[i] >= 0 && (i == 0 || fds[i] != fds[i - 1]))
				close(fds[i]);
		return SK_ENOMEM;
	}
	r->opts = *opts;
	r->a = (struct side){ .relay = r, .other = &r->b, .counter = &r->stats.a_to_b, .name = 'a' };
	r->b = (struct side){ .relay = r, .other = &r->a, .counter = &r->stats.b_to_a, .name = 'b' };
	/* The high-water mark must leave room for a whole read. */
	int err = sk_conn_new(loop, a_rfd, a_wfd, &opts->a, &relay_handler, &r->a, &r->a.conn);
	if (err < 0) {
		if (b_rfd >= 0)
			close(b_rfd);
		if (b_wfd >= 0 && b_wfd != b_rfd)
			close(b_wfd);
		free(r);
		return err;
	}
	err = sk_conn_new(loop, b_rfd, b_wfd, &opts->b, &relay_handler, &r->b, &r->b.conn);
	if (err < 0) {
		r->b.gone = true;
		r->opts.on_done = NULL;
		r->finishing = true;
		sk_conn_close(r->a.conn, 0); /* frees r through on_close */
		return err;
	}
	/* A one-way side (no read fd) has nothing to say: its direction is done. */
	if (a_rfd < 0)
		r->a.eof_seen = true;
	if (b_rfd < 0)
		r->b.eof_seen = true;
	if (a_rfd < 0 && !opts->a_silent && !r->b.gone)
		sk_conn_shutdown(r->b.conn);
	if (out)
		*out = r;
	return 0;
}
