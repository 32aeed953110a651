/* An HTTP connection's life: admitted by the acceptor, it reads a request
 * head, drops a body no method uses, hands the request to the server's
 * method table, sends the response the handlers built (one write for head
 * and small bodies, 128 KiB pieces for the rest), then reads the next
 * pipelined request, or closes.
 *
 *   READ_HEAD ──head──> answer ──> WRITE ──done──> READ_HEAD (keep-alive)
 *        │                 ├──upload──> READ_BODY ──> WRITE      └─> LINGER ─> closed
 *        │                 └──a body no method uses──> DISCARD_BODY ──> WRITE
 *        └── timeout: 408 (a started head) or a silent close (idle)
 *
 * This file knows no method and builds no response: it reaches the method
 * table, the response writer and the upload in progress only through the
 * hooks the server registered (struct sk__http_hooks). Bytes move through
 * an sk_conn (the stream layer): its transport decides how, so a TLS
 * transport serves HTTPS with this file unchanged. */
#include <sockit/accept.h>
#include <sockit/conn.h>
#include <sockit/err.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/http_internal.h"

/* An error response, from the response writer (http_response.c). */
static void answer_error(struct http_conn *c, int status, const char *why)
{
	c->srv->hooks->error(c, status, why);
}

static void link_conn(struct sk_http_server *s, struct http_conn *c)
{
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->n_conns++;
}

static void unlink_conn(struct sk_http_server *s, struct http_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->n_conns--;
}

/* Entry points from the loop hold the connection; a close inside them frees
 * it only when the outermost one lets go. */
void sk__http_hold(struct http_conn *c)
{
	c->busy++;
}

void sk__http_release(struct http_conn *c)
{
	if (--c->busy == 0 && c->dead)
		free(c);
}

/* The file a response's body was to come from, if the conn has not taken it. */
static void drop_file(struct http_conn *c)
{
	if (c->file_fd >= 0)
		close(c->file_fd);
	c->file_fd = -1;
	sk_shared_fd_release(c->file_shared);
	c->file_shared = NULL;
}

/* What a connection holds, let go once its conn is closed (on_close). */
static void cleanup(struct http_conn *c)
{
	struct sk_http_server *s = c->srv;
	if (c->dead)
		return;
	c->dead = true;
	c->conn = NULL;
	sk_loop_timer_stop(s->loop, &c->timer);
	sk_acceptor_release(s->acceptor, &c->ip);
	drop_file(c);
	sk__http_drop_body(c);
	s->hooks->upload_free(c);
	sk_buf_fini(&c->out);
	unlink_conn(s, c);
	/* Freed by the holder that lets go last (sk__http_release). */
}

/* c may be freed on return unless the caller holds it (entry points from
 * the loop do). */
void sk__http_conn_close(struct http_conn *c)
{
	if (c->dead)
		return;
	sk_conn_close(c->conn, 0); /* on_close cleans up */
}

/* Deadlines move on every request; the heap is touched only when the new
 * deadline is earlier than the armed one. A timer that fires early re-arms
 * for what is left (on_timer). */
void sk__http_set_timer(struct http_conn *c, unsigned ms)
{
	struct sk_loop *loop = c->srv->loop;
	if (!ms) {
		c->deadline_ms = 0;
		sk_loop_timer_stop(loop, &c->timer);
		return;
	}
	c->deadline_ms = sk_loop_now(loop) + ms;
	if (!sk_timer_is_active(&c->timer) || c->timer.due_ms > c->deadline_ms)
		sk_loop_timer_start(loop, &c->timer, ms);
}

/* A response that could not be built whole (over HTTP_OUT_MAX, or out of
 * memory) is never sent cut: the buffer is dropped and a 500 that needs no
 * allocation goes out instead, closing the connection. */
static void replace_with_500(struct http_conn *c)
{
	static const char text[] = "HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\n"
	                           "Content-Length: 0\r\n\r\n";
	sk_buf_fini(&c->out);
	c->out_failed = false;
	c->status = 500;
	c->close_after = true;
	c->body_sent = 0;
	c->file_left = 0;
	sk__http_drop_body(c);
	if (sk_buf_append(&c->out, text, sizeof text - 1) < 0)
		c->out.len = 0; /* no memory even for that: the close alone */
}

static void process_input(struct http_conn *c);

/* A client that sent its EOF gets the answers to what it sent, then the
 * close. */
static void close_if_peer_done(struct http_conn *c)
{
	if (!c->dead && c->peer_eof && c->state == READ_HEAD && !c->processing)
		sk__http_conn_close(c);
}

/* The response is out: log it, then the next request or the close. */
static void finish_response(struct http_conn *c)
{
	struct sk_http_server *s = c->srv;
	sk__http_log_access(c);
	drop_file(c);
	sk__http_drop_body(c);
	/* Memory comes back after a big response: an idle keep-alive
	 * connection keeps no more than a small response needs (200 idle
	 * connections after a 4.7 MB listing held 645 MB when it did). */
	if (c->out.cap > HTTP_OUT_KEEP)
		sk_buf_fini(&c->out);
	if (c->close_after || s->stopping) {
		/* Half-close and drain: closing with unread bytes would send a
		 * reset that can destroy the response in the client's buffer. */
		sk_conn_shutdown(c->conn);
		c->state = LINGER;
		c->in_len = 0;
		sk_conn_resume(c->conn);
		if (c->peer_eof)
			sk__http_conn_close(c);
		else
			sk__http_set_timer(c, HTTP_LINGER_MS);
		return;
	}
	/* Drop this request's bytes; pipelined ones move to the front. */
	size_t used = c->head_len + c->body_in_buf;
	memmove(c->in, c->in + used, c->in_len - used);
	c->in_len -= used;
	c->head_len = c->body_in_buf = 0;
	c->body_sent = 0;
	c->head_started = c->in_len > 0;
	sk_http_request_init(&c->req);
	c->state = READ_HEAD;
	sk_conn_resume(c->conn); /* if in[] was full */
	sk__http_set_timer(c, c->in_len ? s->o.header_timeout_ms : s->o.idle_ms);
	if (c->in_len)
		process_input(c);
	close_if_peer_done(c);
}

void sk__http_drop_body(struct http_conn *c)
{
	c->srv->body_bytes -= c->body_budget;
	c->body_budget = 0;
	sk_buf_fini(&c->body);
}

/* The response is handed to the conn: the head (and small body) built in
 * out[], a listing's buffer, a file. Their storage goes with them (no
 * copy); a file is read into the conn's queue piece by piece as the
 * transport takes it. The response is done when the conn has nothing left
 * (at once, or in on_drain). */
void sk__http_send(struct http_conn *c)
{
	c->state = WRITE;
	if (c->out_failed) {
		sk__http_log_error(c, "the response did not fit its buffer: sent 500 instead");
		replace_with_500(c);
		if (!c->out.len) {
			sk__http_conn_close(c);
			return;
		}
	}
	sk__http_hold(c);
	/* Finished exactly once: here when the conn took everything at once,
	 * else by on_drain (which the uncork below may already run). */
	c->awaiting_drain = true;
	bool more = c->file_fd >= 0 || c->file_shared;
	/* A head followed by a body: held back a moment so that they share
	 * segments (a 64 KiB file is one full loopback segment and a few
	 * bytes otherwise: bench/http.sh measured 3x the CPU). */
	if (more)
		sk_conn_cork(c->conn);
	int err = 0;
	if (c->body.len) {
		/* A listing: its head goes into the room left in front of it, and
		 * the one buffer goes to the conn without a copy. */
		c->body_sent += c->body.len;
		err = sk_buf_prepend(&c->body, sk_buf_head(&c->out), c->out.len);
		sk_buf_consume(&c->out, c->out.len);
		if (err == 0)
			err = sk_conn_send_buf(c->conn, &c->body);
	} else if (c->out.len) {
		err = sk_conn_send_buf(c->conn, &c->out);
	}
	if (err == 0 && more) {
		c->body_sent += c->file_left;
		if (c->file_shared) {
			err = sk_conn_send_shared_file(c->conn, c->file_shared, c->file_off,
			                               c->file_left);
		} else {
			err = sk_conn_send_file(c->conn, c->file_fd, c->file_off, c->file_left);
			c->file_fd = -1; /* the conn's now */
		}
		drop_file(c);
	}
	if (more && !c->dead)
		sk_conn_uncork(c->conn);
	if (!c->dead) {
		if (err < 0) {
			sk__http_conn_close(c);
		} else if (c->awaiting_drain && sk_conn_pending(c->conn) == 0) {
			c->awaiting_drain = false;
			finish_response(c);
		} else if (c->awaiting_drain) {
			sk__http_set_timer(c, c->srv->o.send_timeout_ms);
		}
	}
	sk__http_release(c);
}

static void dispatch(struct http_conn *c)
{
	struct sk_http_server *s = c->srv;
	sk__http_keep_request_line(c);
	if (sk_http_check_request(&c->req) < 0) {
		answer_error(c, 400, c->req.why);
		return;
	}
	c->close_after = !c->req.keep_alive || s->stopping;
	if (c->req.has_other_coding) {
		/* gzip or deflate before chunked: we could not decode the body. */
		answer_error(c, 501, "transfer codings other than chunked are not supported");
		return;
	}
	if (c->req.body != SK_HTTP_BODY_NONE && !s->hooks->uses_body(c) && !c->close_after) {
		/* A body no method uses: dropped before the answer (http_discard.c). */
		int rc = sk__http_discard_start(c);
		if (rc == 0) {
			sk__http_set_timer(c, s->o.body_timeout_ms);
			return; /* take_input routes it once the body is in */
		}
		if (rc == SK_EHTTP_BAD_REQUEST) {
			answer_error(c, 400, "malformed chunked body");
			return;
		}
		if (rc < 0)
			c->close_after = true; /* too large to read: answer, then close */
	}
	s->hooks->answer(c);
}

/* Parses and serves what in[] holds, as long as it holds whole heads. */
/* Parses and serves one request from in[]. */
static void serve_one(struct http_conn *c)
{
	int rc = sk_http_parse_request(c->in, c->in_len, &c->req);
	if (rc == SK_EINCOMPLETE) {
		if (c->in_len == sizeof c->in) {
			/* Cannot happen within the parser's limits; refuse anyway. */
			answer_error(c, 431, "request head too large");
		}
		return;
	}
	if (rc < 0) {
		sk__http_keep_request_line(c);
		answer_error(c, sk_http_error_status(rc), c->req.why);
		return;
	}
	c->head_len = (size_t)rc;
	c->body_in_buf = 0;
	dispatch(c);
}

/* Serves the requests in[] holds, one after another. A loop, not
 * recursion: a response finished inside dispatch only flags that
 * pipelined bytes wait, so hundreds of requests in one read cost no stack. */
static void process_input(struct http_conn *c)
{
	if (c->processing) {
		c->more_input = true;
		return;
	}
	sk__http_hold(c);
	c->processing = true;
	do {
		c->more_input = false;
		if (c->dead || c->state != READ_HEAD)
			break;
		serve_one(c);
	} while (c->more_input && !c->dead);
	c->processing = false;
	close_if_peer_done(c);
	sk__http_release(c);
}

static void on_timer(struct sk_loop *loop, struct sk_timer *t, void *ud)
{
	(void)loop;
	(void)t;
	struct http_conn *c = ud;
	uint64_t now = sk_loop_now(c->srv->loop);
	if (c->deadline_ms > now) {
		/* The deadline moved on since this was armed. */
		sk_loop_timer_start(c->srv->loop, &c->timer, c->deadline_ms - now);
		return;
	}
	sk__http_hold(c);
	switch (c->state) {
	case READ_HEAD:
		if (!c->head_started) {
			sk__http_conn_close(c); /* an idle keep-alive connection: nothing to say */
			break;
		}
		sk__http_keep_request_line(c);
		answer_error(c, 408, "the request took too long to arrive");
		break;
	case READ_BODY:
	case DISCARD_BODY:
		c->close_after = true;
		c->srv->hooks->upload_free(c);
		answer_error(c, 408, "the request body stopped arriving");
		break;
	default:
		sk__http_conn_close(c); /* a client that does not read, or a lingering one */
		break;
	}
	sk__http_release(c);
}

/* Bytes from the client. Returns how many were taken: fewer pauses
 * receiving until in[] has room again (finish_response resumes it). */
static size_t take_input(struct http_conn *c, const char *data, size_t n)
{
	struct sk_http_server *s = c->srv;
	size_t took = 0;
	/* Serving a request can change what the rest of the bytes are: a
	 * body, more pipelined requests, or nothing we will read. */
	while (took < n && !c->dead) {
		if (c->state == LINGER || (c->state == WRITE && c->close_after))
			return n; /* dropped: nothing after this response is read */
		if (c->state == READ_BODY) {
			sk__http_set_timer(c, s->o.body_timeout_ms);
			took += s->hooks->upload_data(c, data + took, n - took);
			/* Fewer taken: the disk is behind; reading resumes when it
			 * catches up. */
			return c->dead ? n : took;
		}
		if (c->state == DISCARD_BODY) {
			/* What follows the body is the next request: the loop goes on. */
			size_t used;
			sk__http_set_timer(c, s->o.body_timeout_ms);
			int rc = sk__http_discard_data(c, data + took, n - took, &used);
			took += used;
			if (rc == SK_EHTTP_BAD_REQUEST) {
				answer_error(c, 400, "malformed chunked body");
			} else if (rc != 0) {
				c->close_after = c->close_after || rc < 0;
				s->hooks->answer(c);
			}
			continue;
		}
		if (c->state == READ_HEAD && !c->head_started) {
			/* The clock for the whole head starts at its first byte and is
			 * not extended by later ones: a byte every few seconds does not
			 * keep a connection forever (slowloris). */
			c->head_started = true;
			sk__http_set_timer(c, s->o.header_timeout_ms);
		}
		/* A head, or pipelined requests waiting for the current response. */
		size_t room = sizeof c->in - c->in_len;
		size_t part = n - took < room ? n - took : room;
		if (!part)
			break;
		memcpy(c->in + c->in_len, data + took, part);
		c->in_len += part;
		took += part;
		if (c->state != READ_HEAD)
			break;
		process_input(c);
	}
	return c->dead ? n : took;
}

static size_t on_recv(struct sk_conn *conn, const char *data, size_t n, void *ud)
{
	(void)conn;
	struct http_conn *c = ud;
	sk__http_hold(c);
	size_t took = c->dead ? n : take_input(c, data, n);
	sk__http_release(c);
	return took;
}

static void on_eof(struct sk_conn *conn, void *ud)
{
	(void)conn;
	struct http_conn *c = ud;
	sk__http_hold(c);
	if (c->state == WRITE) {
		/* EOF after requests: their answers still go out (a client may
		 * half-close once it has sent everything), then the close, with
		 * no lingering. */
		c->peer_eof = true;
	} else {
		/* EOF while reading a head (or between requests), in the middle
		 * of a body (the upload vanishes) or lingering. */
		sk__http_conn_close(c);
	}
	sk__http_release(c);
}

/* Everything handed to the conn has gone to the kernel: the response is out. */
static void on_drain(struct sk_conn *conn, void *ud)
{
	struct http_conn *c = ud;
	if (c->dead || !c->awaiting_drain || sk_conn_pending(conn))
		return;
	c->awaiting_drain = false;
	sk__http_hold(c);
	finish_response(c);
	sk__http_release(c);
}

/* The conn is gone (a reset, a failed write, or our own close). */
static void on_close(struct sk_conn *conn, int err, void *ud)
{
	(void)conn;
	(void)err;
	struct http_conn *c = ud;
	sk__http_hold(c);
	cleanup(c);
	sk__http_release(c);
}

static const struct sk_conn_handler conn_handler = {
	.on_recv = on_recv,
	.on_eof = on_eof,
	.on_drain = on_drain,
	.on_close = on_close,
};

void sk__http_conn_accept(void *ud, int cfd, const struct sk_addr *peer, const struct sk_ip *ip)
{
	struct sk_http_server *s = ud;
	struct sk_loop *loop = s->loop;
	struct http_conn *c = calloc(1, sizeof *c);
	if (!c) {
		sk_sock_close(cfd, s->o.tracer);
		sk_acceptor_release(s->acceptor, ip);
		return;
	}
	/* Responses are whole when we write them: Nagle would only hold
	 * back the tail of a body (a 64 KiB file is one full loopback
	 * segment and 53 bytes: bench/http.sh measured 3x the CPU). */
	int one = 1;
	setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c->srv = s;
	c->peer = *peer;
	c->ip = *ip;
	c->file_fd = -1;
	c->state = READ_HEAD;
	sk_buf_init(&c->out, HTTP_OUT_MAX);
	sk_http_request_init(&c->req);
	sk_timer_init(&c->timer, on_timer, c);
	if (sk_conn_new(loop, cfd, cfd, &s->conn_opts, &conn_handler, c, &c->conn) < 0) {
		sk_acceptor_release(s->acceptor, ip); /* sk_conn_new closed cfd */
		free(c);
		return;
	}
	link_conn(s, c);
	/* A connection that never sends a byte is closed at the header timeout. */
	c->head_started = false;
	sk__http_set_timer(c, s->o.header_timeout_ms);
}
