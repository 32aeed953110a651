/* The HTTP client on the wire: the request head built once, the body sent
 * as the connection takes it, and the response read off the connection —
 * its head kept whole for the parser, 1xx skipped, the body framed by
 * Content-Length, chunked coding or the connection's end and handed on
 * without a copy. */
#include <sockit/err.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "http/http_internal.h"

/* A request head past this is a program's mistake (fields piled up), not
 * something a server would take: servers stop at 8-16 KiB. */
#define HEAD_MAX (64 * 1024 + SK_URL_TEXT_MAX)

/* Body bytes read from a file per send: the size of a socket buffer's
 * worth, small enough for the stack. */
#define FILE_PIECE (64 * 1024)

/* --- the request head ------------------------------------------------------ */

static bool is_token(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		bool ok = (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
		          (c && strchr("!#$%&'*+-.^_`|~", c));
		if (!ok)
			return false;
	}
	return true;
}

/* RFC 9110 §5.5: a CR, LF or NUL in a value would end the field early
 * (request splitting); other controls are refused too, as our parsers
 * refuse them. */
static bool is_field_value(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

static void add(struct sk_buf *b, int *err, const char *s, size_t n)
{
	if (*err == 0)
		*err = sk_buf_append(b, s, n);
}

static void add_str(struct sk_buf *b, int *err, const char *s)
{
	add(b, err, s, strlen(s));
}

static void add_field(struct sk_buf *b, int *err, const char *name, const char *value)
{
	add_str(b, err, name);
	add(b, err, ": ", 2);
	add_str(b, err, value);
	add(b, err, "\r\n", 2);
}

int sk_http_basic_auth(const char *user_pass, size_t len, char *buf, size_t cap)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t need = 6 + (len + 2) / 3 * 4 + 1;
	if (cap < need)
		return SK_ETOOLARGE;
	memcpy(buf, "Basic ", 6);
	size_t o = 6;
	const unsigned char *s = (const unsigned char *)user_pass;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)s[i + 1] << 8;
		if (i + 2 < len)
			v |= s[i + 2];
		buf[o++] = b64[v >> 18];
		buf[o++] = b64[(v >> 12) & 63];
		buf[o++] = i + 1 < len ? b64[(v >> 6) & 63] : '=';
		buf[o++] = i + 2 < len ? b64[v & 63] : '=';
	}
	buf[o] = '\0';
	return (int)o;
}

static bool has_body_semantics(const char *method)
{
	/* RFC 9110 §8.6: a user agent sends Content-Length: 0 with a method
	 * that defines a body even when it has none. */
	return strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
	       strcmp(method, "PATCH") == 0;
}

int sk__http_build_head(struct sk_http_exchange *ex, const struct sk_http_client_req *req)
{
	if (!is_token(req->method))
		return SK_EINVAL;
	bool own_host = false;
	for (size_t i = 0; i < req->n_fields; i++) {
		if (!is_token(req->fields[i].name) || !is_field_value(req->fields[i].value))
			return SK_EINVAL;
		own_host |= strcasecmp(req->fields[i].name, "host") == 0;
	}
	struct sk_buf *b = &ex->head;
	sk_buf_init(b, HEAD_MAX);
	int err = 0;
	char text[SK_URL_TEXT_MAX];
	add_str(b, &err, req->method);
	add(b, &err, " ", 1);
	/* Through a proxy, the absolute form (RFC 9112 §3.2.2), without the
	 * userinfo. */
	if (req->proxy && sk_url_format(req->url, text, sizeof text) > 0)
		add_str(b, &err, text);
	else
		add_str(b, &err, req->url->target);
	add_str(b, &err, " HTTP/1.1\r\n");
	if (!own_host && sk_url_authority(req->url, text, sizeof text) >= 0)
		add_field(b, &err, "Host", text);
	for (size_t i = 0; i < req->n_fields; i++)
		add_field(b, &err, req->fields[i].name, req->fields[i].value);
	if (req->proxy && req->proxy->has_userinfo) {
		char user_pass[SK_URL_HOST_MAX], auth[SK_URL_HOST_MAX * 2];
		int n = sk_url_userinfo(req->proxy, user_pass, sizeof user_pass);
		if (n >= 0 && sk_http_basic_auth(user_pass, (size_t)n, auth, sizeof auth) > 0)
			add_field(b, &err, "Proxy-Authorization", auth);
	}
	if (req->stream_body) {
		add_field(b, &err, "Transfer-Encoding", "chunked");
	} else if (req->n_body || has_body_semantics(req->method)) {
		uint64_t total = 0;
		for (size_t i = 0; i < req->n_body; i++)
			total += req->body[i].len;
		snprintf(text, sizeof text, "%llu", (unsigned long long)total);
		add_field(b, &err, "Content-Length", text);
	}
	add(b, &err, "\r\n", 2);
	if (err)
		sk_buf_fini(b);
	return err;
}

/* --- sending --------------------------------------------------------------- */

static int send_bytes(struct sk_http_exchange *ex, const void *p, size_t len)
{
	int err = sk_conn_send(ex->cc->conn, p, len);
	if (err == 0)
		ex->timing.bytes_sent += len;
	return err;
}

static void body_done(struct sk_http_exchange *ex)
{
	ex->body_sent = true;
	ex->timing.sent_us = sk__http_now_us() - ex->start_us;
}

void sk__http_send_request(struct sk_http_exchange *ex)
{
	/* A write error closes the conn, and its on_close decides (a retry, or
	 * the end): nothing more to do here then. */
	if (send_bytes(ex, sk_buf_head(&ex->head), ex->head.len) < 0)
		return;
	if (ex->h->on_event) {
		ex->h->on_event(ex, SK_HTTP_EV_SENT, ex->ud);
		if (ex->state != SK__HTTP_EXCHANGING)
			return;
	}
	sk__http_pump_body(ex);
}

/* Sends body parts while the connection's queue has room; on_drain calls
 * again. */
void sk__http_pump_body(struct sk_http_exchange *ex)
{
	if (ex->state != SK__HTTP_EXCHANGING || !ex->cc || ex->body_sent)
		return;
	if (ex->stream_body) {
		if (!ex->body_ended && !ex->in_body_want && !sk_conn_is_full(ex->cc->conn) &&
		    ex->h->on_body_want) {
			ex->in_body_want = true;
			ex->h->on_body_want(ex, ex->ud);
			ex->in_body_want = false;
		}
		return;
	}
	char buf[FILE_PIECE];
	while (ex->cc && !sk_conn_is_full(ex->cc->conn)) {
		if (ex->part_i == ex->n_parts) {
			body_done(ex);
			return;
		}
		const struct sk_http_body_part *part = &ex->parts[ex->part_i];
		uint64_t left = part->len - ex->part_off;
		if (left == 0) {
			ex->part_i++;
			ex->part_off = 0;
			continue;
		}
		size_t n = left < FILE_PIECE ? (size_t)left : FILE_PIECE;
		const char *p = (const char *)part->data + ex->part_off;
		if (!part->data) {
			ssize_t r;
			do
				r = pread(part->fd, buf, n, (off_t)(part->offset + ex->part_off));
			while (r < 0 && errno == EINTR);
			if (r <= 0) {
				/* The file shrank under us: the length sent is a lie now. */
				sk__http_finish(ex, r < 0 ? -errno : -EIO);
				return;
			}
			n = (size_t)r;
			p = buf;
		}
		if (send_bytes(ex, p, n) < 0)
			return;
		ex->part_off += n;
	}
}

static bool can_write_body(const struct sk_http_exchange *ex)
{
	return ex->stream_body && ex->state == SK__HTTP_EXCHANGING && ex->cc && !ex->body_ended;
}

int sk_http_exchange_write(struct sk_http_exchange *ex, const void *p, size_t len)
{
	if (!can_write_body(ex))
		return SK_EPIPE;
	if (sk_conn_is_full(ex->cc->conn))
		return SK_ETOOLARGE;
	if (len == 0)
		return 0; /* a chunk of 0 bytes would end the body */
	char size[24];
	int n = snprintf(size, sizeof size, "%zx\r\n", len);
	struct sk_conn *c = ex->cc->conn;
	sk_conn_cork(c);
	int err = send_bytes(ex, size, (size_t)n);
	if (err == 0)
		err = send_bytes(ex, p, len);
	if (err == 0)
		err = send_bytes(ex, "\r\n", 2);
	/* The uncork may fail the write and close the conn (on_close). */
	sk__http_enter(ex);
	sk_conn_uncork(c);
	bool gone = sk__http_leave(ex);
	return gone ? SK_EPIPE : err;
}

int sk_http_exchange_end(struct sk_http_exchange *ex)
{
	if (!can_write_body(ex))
		return SK_EPIPE;
	ex->body_ended = true;
	int err = send_bytes(ex, "0\r\n\r\n", 5);
	if (err == 0)
		body_done(ex);
	return err;
}

bool sk_http_exchange_is_full(const struct sk_http_exchange *ex)
{
	return !ex->cc || !ex->cc->conn || sk_conn_is_full(ex->cc->conn);
}

/* --- receiving ------------------------------------------------------------- */

void sk__http_recv_reset(struct sk_http_exchange *ex)
{
	ex->recv = SK__HTTP_RECV_HEAD;
	ex->has_final = false;
	ex->received = 0;
	ex->body_left = 0;
	ex->dirty = false;
	sk_http_response_init(&ex->res, ex->to_head);
	if (ex->cc)
		ex->cc->in_len = 0;
}

/* The final response is complete: the exchange ends well. */
static void complete(struct sk_http_exchange *ex)
{
	ex->recv = SK__HTTP_RECV_DONE;
	/* A server may answer before it has read the whole request (an error
	 * status to an upload): what it did with the rest is unknown. */
	if (!ex->body_sent)
		ex->dirty = true;
	sk__http_finish(ex, 0);
}

static bool deliver(struct sk_http_exchange *ex, const char *p, size_t n)
{
	if (n == 0)
		return true;
	ex->timing.body_bytes += n;
	ex->h->on_body(ex, p, n, ex->ud);
	return ex->state == SK__HTTP_EXCHANGING;
}

/* A head is complete in cc->in[0..len): interim, or the final one. */
static void head_done(struct sk_http_exchange *ex, size_t len)
{
	struct sk__http_conn *cc = ex->cc;
	struct sk_http_response *res = &ex->res;
	ex->timing.head_bytes += len;
	if (res->status == 101) {
		/* We never ask for an upgrade (RFC 9110 §15.2.2). */
		res->why = "101 Switching Protocols to a request that asked for no upgrade";
		sk__http_finish(ex, SK_EHTTP_BAD_RESPONSE);
		return;
	}
	bool interim = res->status < 200;
	ex->has_final = !interim;
	ex->h->on_head(ex, res, (struct sk_slice){ cc->in, len }, ex->ud);
	if (ex->state != SK__HTTP_EXCHANGING)
		return;
	if (interim) {
		cc->in_len = 0;
		sk_http_response_init(res, ex->to_head);
		return;
	}
	ex->recv = SK__HTTP_RECV_BODY;
	switch (res->framing) {
	case SK_HTTP_FRAMING_NONE:
		complete(ex);
		break;
	case SK_HTTP_FRAMING_LENGTH:
		ex->body_left = res->content_length;
		if (ex->body_left == 0)
			complete(ex);
		break;
	case SK_HTTP_FRAMING_CHUNKED:
		sk_http_chunked_init(&ex->chunked);
		break;
	case SK_HTTP_FRAMING_EOF:
		break;
	}
}

/* Takes head bytes from p; returns how many belonged to the head. */
static size_t recv_head(struct sk_http_exchange *ex, const char *p, size_t len)
{
	struct sk__http_conn *cc = ex->cc;
	size_t old = cc->in_len;
	size_t room = SK_HTTP_MAX_RESPONSE_HEAD - old;
	size_t take = len < room ? len : room;
	memcpy(cc->in + old, p, take);
	cc->in_len += take;
	int rc = sk_http_parse_response(cc->in, cc->in_len, &ex->res);
	if (rc == SK_EINCOMPLETE && cc->in_len == SK_HTTP_MAX_RESPONSE_HEAD) {
		ex->res.why = "response head too large";
		rc = SK_EHTTP_HEAD_TOO_BIG;
	}
	if (rc == SK_EINCOMPLETE)
		return take;
	if (rc < 0) {
		sk__http_finish(ex, rc);
		return take;
	}
	/* The head ended in what arrived now: the rest of p is the body's. */
	size_t used = (size_t)rc - old;
	head_done(ex, (size_t)rc);
	return used;
}

/* Takes body bytes from p; returns how many it consumed (all of them when
 * it marks bytes past the response). */
static size_t recv_body(struct sk_http_exchange *ex, const char *p, size_t len)
{
	switch (ex->res.framing) {
	case SK_HTTP_FRAMING_LENGTH: {
		size_t n = len < ex->body_left ? len : (size_t)ex->body_left;
		ex->body_left -= n;
		if (!deliver(ex, p, n))
			return len;
		if (ex->body_left == 0) {
			ex->dirty |= n < len;
			complete(ex);
			return len;
		}
		return n;
	}
	case SK_HTTP_FRAMING_CHUNKED: {
		size_t off = 0;
		while (off < len) {
			size_t used = 0;
			struct sk_slice data;
			int r = sk_http_chunked_decode(&ex->chunked, p + off, len - off, &used, &data);
			if (r < 0) {
				ex->res.why = "malformed chunked framing";
				sk__http_finish(ex, SK_EHTTP_BAD_RESPONSE);
				return len;
			}
			off += used;
			if (!deliver(ex, data.p, data.len))
				return len;
			if (r == 1) {
				ex->dirty |= off < len;
				complete(ex);
				return len;
			}
		}
		return len;
	}
	default: /* SK_HTTP_FRAMING_EOF: everything until the close */
		deliver(ex, p, len);
		return len;
	}
}

void sk__http_received(struct sk_http_exchange *ex, const char *p, size_t len)
{
	if (ex->state != SK__HTTP_EXCHANGING)
		return;
	if (ex->received == 0 && len)
		ex->timing.first_byte_us = sk__http_now_us() - ex->start_us;
	ex->received += len;
	while (len > 0 && ex->state == SK__HTTP_EXCHANGING) {
		size_t used = ex->recv == SK__HTTP_RECV_HEAD ? recv_head(ex, p, len) : recv_body(ex, p, len);
		p += used;
		len -= used;
	}
}

int sk__http_peer_closed(struct sk_http_exchange *ex, bool truncated)
{
	if (ex->state != SK__HTTP_EXCHANGING)
		return 0;
	if (ex->recv == SK__HTTP_RECV_BODY && ex->res.framing == SK_HTTP_FRAMING_EOF) {
		if (truncated)
			sk__http_finish(ex, SK_EHTTP_TRUNCATED);
		else
			complete(ex);
		return 0;
	}
	/* No byte of an answer: the caller may send the request again. */
	if (ex->recv == SK__HTTP_RECV_HEAD && ex->received == 0)
		return SK_EHTTP_NO_RESPONSE;
	sk__http_finish(ex, SK_EHTTP_TRUNCATED);
	return 0;
}
