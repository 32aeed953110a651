/* The HTTP server's connections: accept, read a request, dispatch it by
 * method, write the response (one write for head and small bodies,
 * 128 KiB pieces for the rest), then the next pipelined request, or close.
 *
 *   READ_HEAD ──head──> dispatch ──> WRITE ──done──> READ_HEAD (keep-alive)
 *        │                 ├──upload──> READ_BODY ──> WRITE      └─> LINGER ─> closed
 *        │                 └──a body no method uses──> DISCARD_BODY ──> WRITE
 *        └── timeout: 408 (a started head) or a silent close (idle) */
#include <sockit/accept.h>
#include <sockit/err.h>
#include <sockit/http_server.h>
#include <sockit/sockit.h>

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_internal.h"

void sk_http_server_opts_init(struct sk_http_server_opts *opts)
{
	memset(opts, 0, sizeof *opts);
	opts->root = ".";
	opts->max_body = 100u << 20;
	opts->header_timeout_ms = 10000;
	opts->idle_ms = 15000;
	opts->body_timeout_ms = 30000;
	opts->send_timeout_ms = 30000;
	opts->max_conns = 1024;
	opts->max_per_client = 256;
	opts->max_parts = 1000;
}

static const char *reason_phrase(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 301: return "Moved Permanently";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 416: return "Range Not Satisfiable";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	case 507: return "Insufficient Storage";
	default: return "Unknown";
	}
}

/* --- the connection list and its lifecycle --- */

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
void http_hold(struct http_conn *c)
{
	c->busy++;
}

void http_release(struct http_conn *c)
{
	if (--c->busy == 0 && c->dead)
		free(c);
}

const char *http_reason(int err, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s", sk_strerror(err));
	/* Messages read "sockit: http serve: ...: no space left on device". */
	if (buf[0] >= 'A' && buf[0] <= 'Z' && !(buf[1] >= 'A' && buf[1] <= 'Z'))
		buf[0] = (char)(buf[0] - 'A' + 'a');
	return buf;
}

void http_log_error(struct http_conn *c, const char *fmt, ...)
{
	struct sk_http_server *s = c->srv;
	if (!s->o.on_error)
		return;
	char what[400], line[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	/* The request line is only kept for the access log; the method and
	 * target are in the parsed request until in[] moves on. */
	int ml = (int)(c->req.method.len < 16 ? c->req.method.len : 16);
	int tl = (int)(c->req.target.len < 200 ? c->req.target.len : 200);
	if (ml && c->req.method.p)
		snprintf(line, sizeof line, "%.*s %.*s: %s", ml, c->req.method.p, tl, c->req.target.p, what);
	else
		snprintf(line, sizeof line, "%s", what);
	s->o.on_error(s->o.ud, line);
}

static void close_conn(struct http_conn *c)
{
	struct sk_http_server *s = c->srv;
	if (c->dead)
		return;
	sk_loop_timer_stop(s->loop, &c->timer);
	sk_loop_del_fd(s->loop, c->fd);
	sk_sock_close(c->fd, s->o.tracer);
	sk_acceptor_release(s->acceptor, &c->ip);
	if (c->file_fd >= 0)
		close(c->file_fd);
	c->file_fd = -1;
	http_drop_body(c);
	http_upload_free(c);
	sk_buf_fini(&c->out);
	unlink_conn(s, c);
	c->dead = true;
	if (c->busy == 0)
		free(c);
}

/* Deadlines move on every request; the heap is touched only when the new
 * deadline is earlier than the armed one. A timer that fires early re-arms
 * for what is left (on_timer). */
void http_set_timer(struct http_conn *c, unsigned ms)
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

static void watch(struct http_conn *c, unsigned events)
{
	sk_loop_mod_fd(c->srv->loop, c->fd, events);
}

/* --- responses --- */

static bool method_is(const struct http_conn *c, const char *m)
{
	size_t n = strlen(m);
	return c->req.method.len == n && memcmp(c->req.method.p, m, n) == 0;
}

void http_append(struct http_conn *c, const void *p, size_t len)
{
	if (c->out_failed)
		return;
	if (sk_buf_append(&c->out, p, len) < 0)
		c->out_failed = true; /* http_send sends a 500 instead of a cut response */
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
	http_drop_body(c);
	if (sk_buf_append(&c->out, text, sizeof text - 1) < 0)
		c->out.len = 0; /* no memory even for that: the close alone */
}

static void append_str(struct http_conn *c, const char *s)
{
	http_append(c, s, strlen(s));
}

/* The Date and Server lines, formatted once a second. */
static const char *current_date(struct sk_http_server *s)
{
	time_t now = time(NULL);
	if (now != s->date_sec) {
		s->date_sec = now;
		http_format_date(now, s->date);
		int n = snprintf(s->date_lines, sizeof s->date_lines, "Date: %s\r\nServer: sockit/%s\r\n",
		                 s->date, SOCKIT_VERSION);
		s->date_lines_len = n > 0 ? (size_t)n : 0;
	}
	return s->date;
}

void http_begin(struct http_conn *c, int status, uint64_t body_len)
{
	/* Built with memcpy: this runs once per response (bench/http.sh). */
	char line[256];
	c->status = status;
	c->out_failed = false;
	sk_buf_consume(&c->out, c->out.len);
	const char *reason = reason_phrase(status);
	size_t n = 0;
	memcpy(line, "HTTP/1.1 ", 9);
	n = 9;
	line[n++] = (char)('0' + status / 100);
	line[n++] = (char)('0' + status / 10 % 10);
	line[n++] = (char)('0' + status % 10);
	line[n++] = ' ';
	size_t rl = strlen(reason);
	memcpy(line + n, reason, rl);
	n += rl;
	memcpy(line + n, "\r\n", 2);
	n += 2;
	http_append(c, line, n);
	const char *date = current_date(c->srv);
	http_append(c, c->srv->date_lines, c->srv->date_lines_len);
	(void)date;
	if (c->close_after)
		http_append(c, "Connection: close\r\n", 19);
	else if (c->req.minor == 0)
		http_append(c, "Connection: keep-alive\r\n", 24);
	/* RFC 9110 §6.4.1: 1xx, 204 and 304 have no Content-Length body. */
	if (status != 204 && status != 304 && status >= 200) {
		char digits[24];
		size_t d = sizeof digits;
		uint64_t v = body_len;
		do
			digits[--d] = (char)('0' + v % 10);
		while ((v /= 10));
		http_append(c, "Content-Length: ", 16);
		http_append(c, digits + d, sizeof digits - d);
		http_append(c, "\r\n", 2);
	}
}

void http_header(struct http_conn *c, const char *name, const char *value)
{
	append_str(c, name);
	append_str(c, ": ");
	append_str(c, value);
	append_str(c, "\r\n");
}

void http_end_head(struct http_conn *c)
{
	append_str(c, "\r\n");
}

void http_error(struct http_conn *c, int status, const char *why)
{
	char body[512];
	int n = snprintf(body, sizeof body,
	                 "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>%d %s</title>"
	                 "</head><body><h1>%d %s</h1>%s%s%s</body></html>\n",
	                 status, reason_phrase(status), status, reason_phrase(status),
	                 why ? "<p>" : "", why ? why : "", why ? "</p>" : "");
	/* After a malformed request the byte stream cannot be trusted. */
	if (status == 400 || status == 408 || status == 413 || status == 414 || status == 431 ||
	    status == 501 || status == 505)
		c->close_after = true;
	http_begin(c, status, (uint64_t)n);
	http_header(c, "Content-Type", "text/html; charset=utf-8");
	if (status == 405 || status == 501)
		http_header(c, "Allow", http_allowed_methods(c->srv));
	if (status == 503)
		http_header(c, "Retry-After", "1"); /* RFC 9110 §10.2.3: a busy moment, not an outage */
	http_end_head(c);
	if (!method_is(c, "HEAD")) {
		http_append(c, body, (size_t)n);
		c->body_sent = (uint64_t)n;
	}
	http_send(c);
}

/* One Common Log Format line per response. */
static void log_access(struct http_conn *c)
{
	struct sk_http_server *s = c->srv;
	if (!s->o.on_access)
		return;
	struct sk_ip ip;
	char addr[SK_IP_STRLEN] = "-", when[64], line[1024];
	if (sk_addr_to_ip(&c->peer, &ip, NULL) == 0)
		sk_ip_format(&ip, SK_IP_CANONICAL, addr);
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(when, sizeof when, "%d/%b/%Y:%H:%M:%S +0000", &tm);
	char sent[24] = "-";
	if (c->body_sent)
		snprintf(sent, sizeof sent, "%llu", (unsigned long long)c->body_sent);
	snprintf(line, sizeof line, "%s - - [%s] \"%s\" %d %s", addr, when, c->request_line,
	         c->status, sent);
	s->o.on_access(s->o.ud, line);
}

/* Remembers "METHOD TARGET VERSION" for the log, with bytes a log line
 * must not carry escaped. */
static void keep_request_line(struct http_conn *c)
{
	if (!c->srv->o.on_access)
		return; /* no log: no per-request copy */
	const char *p = c->in;
	size_t n = 0, i = 0;
	while (i < c->in_len && (p[i] == '\r' || p[i] == '\n'))
		i++; /* leading empty lines */
	for (; i < c->in_len && p[i] != '\r' && p[i] != '\n' && n + 5 < sizeof c->request_line; i++) {
		unsigned char ch = (unsigned char)p[i];
		if (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\') {
			n += (size_t)snprintf(c->request_line + n, sizeof c->request_line - n, "\\x%02x", ch);
		} else {
			c->request_line[n++] = (char)ch;
		}
	}
	c->request_line[n] = '\0';
}

static void process_input(struct http_conn *c);

/* A client that sent its EOF gets the answers to what it sent, then the
 * close. */
static void close_if_peer_done(struct http_conn *c)
{
	if (!c->dead && c->peer_eof && c->state == READ_HEAD && !c->processing)
		close_conn(c);
}

/* The response is out: log it, then the next request or the close. */
static void finish_response(struct http_conn *c)
{
	struct sk_http_server *s = c->srv;
	log_access(c);
	if (c->file_fd >= 0) {
		close(c->file_fd);
		c->file_fd = -1;
	}
	http_drop_body(c);
	/* Memory comes back after a big response: an idle keep-alive
	 * connection keeps no more than a small response needs (200 idle
	 * connections after a 4.7 MB listing held 645 MB when it did). */
	if (c->out.cap > HTTP_OUT_KEEP)
		sk_buf_fini(&c->out);
	if (c->close_after || s->stopping) {
		/* Half-close and drain: closing with unread bytes would send a
		 * reset that can destroy the response in the client's buffer. */
		shutdown(c->fd, SHUT_WR);
		c->state = LINGER;
		c->in_len = 0;
		sk_loop_recv_resume(s->loop, c->fd);
		if (c->peer_eof)
			close_conn(c);
		else
			http_set_timer(c, HTTP_LINGER_MS);
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
	sk_loop_recv_resume(s->loop, c->fd); /* if in[] was full */
	http_set_timer(c, c->in_len ? s->o.header_timeout_ms : s->o.idle_ms);
	if (c->in_len)
		process_input(c);
	close_if_peer_done(c);
}

/* The file part of a response: pread + send, not sendfile(2): on loopback
 * (Linux 6.1) copying moved 1.25 GB/s where sendfile moved 0.64
 * (bench/http.sh, 10 MiB). What the socket does not take is read again
 * when it is writable. */
void http_drop_body(struct http_conn *c)
{
	if (!c->body.cap)
		return;
	c->srv->body_bytes -= c->body.cap;
	sk_buf_fini(&c->body);
	c->body_off = 0;
}

/* The in-memory part (a listing): sent straight from its buffer, no copy
 * into the loop, and freed as soon as it is out. Returns false if it has to
 * wait for room, or the connection is gone. */
static bool send_body_part(struct http_conn *c)
{
	struct sk_http_server *s = c->srv;
	while (c->body_off < c->body.len) {
		size_t left = c->body.len - c->body_off;
		ssize_t n = send(c->fd, sk_buf_head(&c->body) + c->body_off, left,
		                 MSG_NOSIGNAL | (c->file_left ? MSG_MORE : 0));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			watch(c, SK_EV_WRITE);
			http_set_timer(c, s->o.send_timeout_ms);
			return false;
		}
		if (n <= 0) {
			close_conn(c);
			return false;
		}
		sk_trace(s->o.tracer, "send(%d, %zd)", c->fd, n);
		c->body_off += (size_t)n;
		c->body_sent += (uint64_t)n;
	}
	http_drop_body(c);
	return true;
}

static void send_file_part(struct http_conn *c)
{
	struct sk_http_server *s = c->srv;
	if (c->body.len && !send_body_part(c))
		return;
	while (c->file_left) {
		size_t chunk = c->file_left > HTTP_CHUNK ? HTTP_CHUNK : (size_t)c->file_left;
		ssize_t r = pread(c->file_fd, s->chunk, chunk, (off_t)c->file_off);
		if (r <= 0) {
			/* A file shortened under us, or a read error. */
			close_conn(c);
			return;
		}
		ssize_t n = send(c->fd, s->chunk, (size_t)r, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			watch(c, SK_EV_WRITE);
			http_set_timer(c, s->o.send_timeout_ms);
			return;
		}
		if (n <= 0) {
			close_conn(c); /* a dead client */
			return;
		}
		sk_trace(s->o.tracer, "send(%d, %zd)", c->fd, n);
		c->file_off += (uint64_t)n;
		c->file_left -= (uint64_t)n;
		c->body_sent += (uint64_t)n;
	}
	finish_response(c);
}

static void on_sent(struct sk_loop *loop, int fd, long n, void *ud)
{
	(void)loop;
	(void)fd;
	struct http_conn *c = ud;
	http_hold(c);
	if (n < 0) {
		close_conn(c);
	} else {
		sk_trace(c->srv->o.tracer, "send(%d, %ld)", c->fd, n);
		send_file_part(c);
	}
	http_release(c);
}

void http_send(struct http_conn *c)
{
	c->state = WRITE;
	if (c->out_failed) {
		http_log_error(c, "the response did not fit its buffer: sent 500 instead");
		replace_with_500(c);
		if (!c->out.len) {
			close_conn(c);
			return;
		}
	}
	if (c->out.len) {
		/* A head followed by a file: MSG_MORE lets them share segments. */
		int more = c->file_left || c->body.len ? MSG_MORE : 0;
		long n = sk_loop_send(c->srv->loop, c->fd, sk_buf_head(&c->out), c->out.len, more, on_sent,
		                      c);
		sk_buf_consume(&c->out, c->out.len); /* sent, or copied by the loop */
		if (n == SK_EINPROGRESS) {
			http_set_timer(c, c->srv->o.send_timeout_ms);
			return;
		}
		if (n < 0) {
			close_conn(c);
			return;
		}
		sk_trace(c->srv->o.tracer, "send(%d, %ld)", c->fd, n);
	}
	send_file_part(c);
}

/* --- requests --- */

/* Answers a request whose head (and any body it does not use) is read. */
static void route(struct http_conn *c)
{
	struct sk_http_server *s = c->srv;
	bool is_put = method_is(c, "PUT"), is_post = method_is(c, "POST");
	if (method_is(c, "GET"))
		http_get(c, false);
	else if (method_is(c, "HEAD"))
		http_get(c, true);
	else if (method_is(c, "OPTIONS"))
		http_options(c);
	else if (is_put && s->o.upload)
		http_put(c);
	else if (is_post && s->o.upload)
		http_post(c);
	else if (method_is(c, "DELETE") && s->o.allow_delete)
		http_delete(c);
	else if (is_put || is_post || method_is(c, "DELETE") || method_is(c, "CONNECT") ||
	         method_is(c, "TRACE") || method_is(c, "PATCH"))
		http_error(c, 405, "this method is not enabled on this server");
	else
		http_error(c, 501, "unknown method");
}

static void dispatch(struct http_conn *c)
{
	struct sk_http_server *s = c->srv;
	keep_request_line(c);
	if (sk_http_check_request(&c->req) < 0) {
		http_error(c, 400, c->req.why);
		return;
	}
	c->close_after = !c->req.keep_alive || s->stopping;
	if (c->req.has_other_coding) {
		/* gzip or deflate before chunked: we could not decode the body. */
		http_error(c, 501, "transfer codings other than chunked are not supported");
		return;
	}
	bool is_upload = (method_is(c, "PUT") || method_is(c, "POST")) && s->o.upload;
	if (c->req.body != SK_HTTP_BODY_NONE && !is_upload && !c->close_after) {
		/* A body no method uses: dropped before the answer (http_discard.c). */
		int rc = http_discard_start(c);
		if (rc == 0) {
			http_set_timer(c, s->o.body_timeout_ms);
			return; /* take_input routes it once the body is in */
		}
		if (rc == SK_EHTTP_BAD_REQUEST) {
			http_error(c, 400, "malformed chunked body");
			return;
		}
		if (rc < 0)
			c->close_after = true; /* too large to read: answer, then close */
	}
	route(c);
}

/* Parses and serves what in[] holds, as long as it holds whole heads. */
/* Parses and serves one request from in[]. */
static void serve_one(struct http_conn *c)
{
	int rc = sk_http_parse_request(c->in, c->in_len, &c->req);
	if (rc == SK_EINCOMPLETE) {
		if (c->in_len == sizeof c->in) {
			/* Cannot happen within the parser's limits; refuse anyway. */
			http_error(c, 431, "request head too large");
		}
		return;
	}
	if (rc < 0) {
		keep_request_line(c);
		http_error(c, sk_http_error_status(rc), c->req.why);
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
	http_hold(c);
	c->processing = true;
	do {
		c->more_input = false;
		if (c->dead || c->state != READ_HEAD)
			break;
		serve_one(c);
	} while (c->more_input && !c->dead);
	c->processing = false;
	close_if_peer_done(c);
	http_release(c);
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
	http_hold(c);
	switch (c->state) {
	case READ_HEAD:
		if (!c->head_started) {
			close_conn(c); /* an idle keep-alive connection: nothing to say */
			break;
		}
		keep_request_line(c);
		http_error(c, 408, "the request took too long to arrive");
		break;
	case READ_BODY:
	case DISCARD_BODY:
		c->close_after = true;
		http_upload_free(c);
		http_error(c, 408, "the request body stopped arriving");
		break;
	default:
		close_conn(c); /* a client that does not read, or a lingering one */
		break;
	}
	http_release(c);
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
			http_set_timer(c, s->o.body_timeout_ms);
			took += http_upload_data(c, data + took, n - took);
			/* Fewer taken: the disk is behind; reading resumes when it
			 * catches up. */
			return c->dead ? n : took;
		}
		if (c->state == DISCARD_BODY) {
			/* What follows the body is the next request: the loop goes on. */
			size_t used;
			http_set_timer(c, s->o.body_timeout_ms);
			int rc = http_discard_data(c, data + took, n - took, &used);
			took += used;
			if (rc == SK_EHTTP_BAD_REQUEST) {
				http_error(c, 400, "malformed chunked body");
			} else if (rc != 0) {
				c->close_after = c->close_after || rc < 0;
				route(c);
			}
			continue;
		}
		if (c->state == READ_HEAD && !c->head_started) {
			/* The clock for the whole head starts at its first byte and is
			 * not extended by later ones: a byte every few seconds does not
			 * keep a connection forever (slowloris). */
			c->head_started = true;
			http_set_timer(c, s->o.header_timeout_ms);
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

static size_t on_data(struct sk_loop *loop, int fd, const char *data, size_t n, void *ud)
{
	(void)loop;
	(void)fd;
	struct http_conn *c = ud;
	sk_trace(c->srv->o.tracer, "recv(%d) = %zu", c->fd, n);
	http_hold(c);
	size_t took = c->dead ? n : take_input(c, data, n);
	http_release(c);
	return took;
}

static void on_data_end(struct sk_loop *loop, int fd, int err, void *ud)
{
	(void)loop;
	(void)fd;
	struct http_conn *c = ud;
	http_hold(c);
	if (err == 0 && c->state == WRITE) {
		/* EOF after requests: their answers still go out (a client may
		 * half-close once it has sent everything), then the close, with
		 * no lingering. */
		c->peer_eof = true;
	} else {
		/* EOF or an error while reading a head (or between requests), in
		 * the middle of a body (the upload vanishes) or lingering. */
		close_conn(c);
	}
	http_release(c);
}

/* The socket takes more of a file. */
static void on_conn_io(struct sk_loop *loop, int fd, unsigned events, void *ud)
{
	(void)loop;
	(void)fd;
	struct http_conn *c = ud;
	http_hold(c);
	/* Watched for WRITE only while send_file_part waits for room. */
	if (events & SK_EV_ERROR) {
		close_conn(c);
	} else if (c->state == WRITE) {
		watch(c, 0);
		send_file_part(c);
	}
	http_release(c);
}

/* A connection the acceptor admitted. */
static void on_accept(void *ud, int cfd, const struct sk_addr *peer, const struct sk_ip *ip)
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
	c->fd = cfd;
	c->peer = *peer;
	c->ip = *ip;
	c->file_fd = -1;
	c->state = READ_HEAD;
	sk_buf_init(&c->out, HTTP_OUT_MAX);
	sk_http_request_init(&c->req);
	sk_timer_init(&c->timer, on_timer, c);
	if (sk_loop_add_fd(loop, cfd, 0, on_conn_io, c) < 0) {
		sk_sock_close(cfd, s->o.tracer);
		sk_acceptor_release(s->acceptor, ip);
		free(c);
		return;
	}
	if (sk_loop_recv_start(loop, cfd, on_data, on_data_end, c) < 0) {
		sk_loop_del_fd(loop, cfd);
		sk_sock_close(cfd, s->o.tracer);
		sk_acceptor_release(s->acceptor, ip);
		free(c);
		return;
	}
	link_conn(s, c);
	/* A connection that never sends a byte is closed at the header timeout. */
	c->head_started = false;
	http_set_timer(c, s->o.header_timeout_ms);
}

/* Over a limit: one write of a whole 503 (RFC 9110 §15.6.4) tells a
 * browser or a script to come back, where a bare close looks like a
 * crash. It costs no more than that write: no read, no state, and a
 * client that cannot take it at once gets the close alone. */
static void on_refused(void *ud, int cfd, const struct sk_addr *peer, enum sk_accept_refusal why)
{
	(void)peer;
	struct sk_http_server *s = ud;
	if (why == SK_ACCEPT_DENIED)
		return;
	const char *body = why == SK_ACCEPT_MAX_PER_CLIENT
		? "too many connections from your address (--max-per-client)\n"
		: "the server is at its connection limit (--max-conns)\n";
	char text[256];
	int n = snprintf(text, sizeof text,
	                 "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\n"
	                 "Content-Type: text/plain\r\nContent-Length: %zu\r\n\r\n%s",
	                 strlen(body), body);
	(void)!send(cfd, text, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
	s->n_refused++;
}

static void on_accept_failed(void *ud, int err)
{
	struct sk_http_server *s = ud;
	if (!s->o.on_error)
		return;
	char line[256], reason[128];
	if (err)
		snprintf(line, sizeof line,
		         "accept: %s: new connections wait in the backlog until fds are free "
		         "(raise ulimit -n or lower --max-conns)", http_reason(err, reason, sizeof reason));
	else
		snprintf(line, sizeof line, "accept: accepting connections again");
	s->o.on_error(s->o.ud, line);
}

int sk_http_server_new(struct sk_loop *loop, int listen_fd, const struct sk_http_server_opts *opts,
                       struct sk_http_server **out)
{
	int root_fd = open(opts->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0) {
		int err = -errno;
		close(listen_fd);
		return err;
	}
	struct sk_http_server *s = calloc(1, sizeof *s);
	char *chunk = malloc(HTTP_CHUNK);
	if (!s || !chunk) {
		free(s);
		free(chunk);
		close(root_fd);
		close(listen_fd);
		return SK_ENOMEM;
	}
	s->loop = loop;
	s->chunk = chunk;
	s->root_fd = root_fd;
	s->o = *opts;
	if (opts->upload)
		http_remove_leftovers(s);
	struct sk_acceptor_opts ao;
	sk_acceptor_opts_init(&ao);
	ao.max_conns = opts->max_conns;
	ao.max_per_client = opts->max_per_client;
	ao.on_accept = on_accept;
	ao.on_refused = on_refused;
	ao.reset_refused = false; /* the 503 must arrive: closed after it is sent */
	ao.on_failed = on_accept_failed;
	ao.ud = s;
	ao.tracer = opts->tracer;
	int err = sk_acceptor_new(loop, listen_fd, &ao, &s->acceptor);
	if (err < 0) {
		close(root_fd);
		free(s->chunk);
		free(s);
		return err;
	}
	*out = s;
	return 0;
}

void sk_http_server_stop(struct sk_http_server *s)
{
	if (s->stopping)
		return;
	s->stopping = true;
	sk_acceptor_close(s->acceptor);
	struct http_conn *next;
	for (struct http_conn *c = s->conns; c; c = next) {
		next = c->next;
		if (c->state == READ_HEAD && c->in_len == 0)
			close_conn(c); /* idle: nothing in flight */
		else
			c->close_after = true;
	}
}

size_t sk_http_server_n_conns(const struct sk_http_server *s)
{
	return s->n_conns;
}

void sk_http_server_free(struct sk_http_server *s)
{
	if (!s)
		return;
	while (s->conns)
		close_conn(s->conns);
	/* Disk work still running for closed connections ends here, so that
	 * what it holds (an upload, a listing, the connection) is freed. */
	sk_loop_work_drain(s->loop);
	sk_acceptor_free(s->acceptor);
	close(s->root_fd);
	http_cache_clear(s);
	free(s->chunk);
	free(s);
}
