/* HTTP/1.1 request heads (RFC 9112 §2-§6), parsed a line at a time.
 *
 * Each call resumes at req->pos, the end of the last complete line. A
 * complete line is parsed once; the incomplete line at the end of the input
 * is checked character by character so that an impossible byte is an error
 * at once rather than after the peer has sent kilobytes more. */
#include <sockit/err.h>
#include <sockit/http_parse.h>
#include <sockit/ip.h>

#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "http/http_internal.h"

/* request-target: visible ASCII. Spaces end it; bytes above 0x7E are not
 * allowed unencoded (RFC 3986), and control bytes never. */
static bool is_target_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f;
}

static int bad(struct sk_http_request *req, const char *why)
{
	req->why = why;
	return SK_EHTTP_BAD_REQUEST;
}

int sk_http_error_status(int err)
{
	switch (err) {
	case SK_EHTTP_URI_TOO_LONG:
		return 414;
	case SK_EHTTP_FIELDS_TOO_BIG:
		return 431;
	case SK_EHTTP_NOT_IMPLEMENTED:
		return 501;
	case SK_EHTTP_VERSION:
		return 505;
	case SK_EHTTP_BODY_TOO_BIG:
		return 413;
	default:
		return 400;
	}
}

void sk_http_request_init(struct sk_http_request *req)
{
	/* Everything but the header array (3 KiB, written as fields arrive and
	 * read only below n_headers): clearing it was 1 % of a 64 KiB GET. */
	memset(req, 0, offsetof(struct sk_http_request, headers));
	memset(&req->n_headers, 0,
	       sizeof *req - offsetof(struct sk_http_request, n_headers));
}

/* --- the request line: method SP request-target SP HTTP-version --- */

/* Checks line[0..n) as the start (complete if is_complete) of a request
 * line, filling req when complete. */
static int request_line(const char *line, size_t n, bool is_complete, struct sk_http_request *req)
{
	const unsigned char *s = (const unsigned char *)line;
	size_t i = 0;
	while (i < n && sk__http_is_tchar(s[i]))
		i++;
	if (i == n)
		return is_complete ? bad(req, "request line without a target") : 0;
	if (s[i] != ' ' || i == 0)
		return bad(req, "invalid character in the method");
	size_t method_end = i++;
	size_t target_start = i;
	while (i < n && is_target_char(s[i]))
		i++;
	if (i == n)
		return is_complete ? bad(req, "request line without a version") : 0;
	if (s[i] != ' ' || i == target_start)
		return bad(req, "invalid character in the request target");
	size_t target_end = i++;

	/* HTTP-version = "HTTP/" DIGIT "." DIGIT, checked as far as it goes. */
	static const char proto[] = "HTTP/1.";
	size_t v = i;
	for (size_t k = 0; v + k < n && k < sizeof proto - 1; k++) {
		unsigned char c = s[v + k];
		if (c == (unsigned char)proto[k])
			continue;
		/* "HTTP/2.0" or "HTTP/5.6": a version, but not one we speak. */
		if (k == 5 && c >= '0' && c <= '9') {
			req->why = "HTTP version not supported";
			return SK_EHTTP_VERSION;
		}
		return bad(req, "malformed HTTP version");
	}
	/* Left to right: the minor digit, then anything after it. */
	if (n - v >= sizeof proto) {
		unsigned char minor = s[v + sizeof proto - 1];
		if (minor < '0' || minor > '9')
			return bad(req, "malformed HTTP version");
	}
	if (n - v > sizeof proto)
		return bad(req, "malformed HTTP version");
	if (!is_complete)
		return 0;
	if (n - v != sizeof proto)
		return bad(req, "malformed HTTP version");
	req->method = (struct sk_slice){ line, method_end };
	req->target = (struct sk_slice){ line + target_start, target_end - target_start };
	req->version = (struct sk_slice){ line + v, n - v };
	/* RFC 9110 §2.5: a later 1.x is answered as the highest 1.x we speak,
	 * 1.1; only a new major version is refused (505, above). */
	req->minor = s[n - 1] > '1' ? 1 : (unsigned)(s[n - 1] - '0');
	return 0;
}

/* --- header fields --- */

static int content_length(struct sk_slice v, struct sk_http_request *req)
{
	if (v.len == 0)
		return bad(req, "empty Content-Length");
	uint64_t n = 0;
	for (size_t i = 0; i < v.len; i++) {
		unsigned char c = (unsigned char)v.p[i];
		if (c < '0' || c > '9')
			return bad(req, "Content-Length is not a number");
		/* 2^62 bytes is past any disk: refuse before the sum can wrap. */
		if (n > (UINT64_C(1) << 62) / 10)
			return bad(req, "Content-Length too large");
		n = n * 10 + (c - '0');
	}
	/* Two different lengths: which one a proxy believed decides where the
	 * next request starts (RFC 9112 §6.3, request smuggling). */
	if (req->seen_cl && n != req->content_length)
		return bad(req, "conflicting Content-Length values");
	req->seen_cl = true;
	req->content_length = n;
	return 0;
}

static int transfer_coding(struct sk_slice coding, void *ud)
{
	struct sk_http_request *req = ud;
	/* A coding may carry parameters ("gzip;q=1"): the name is the token. */
	size_t n = 0;
	while (n < coding.len && sk__http_is_tchar((unsigned char)coding.p[n]))
		n++;
	struct sk_slice name = { coding.p, n };
	if (n == 0)
		return bad(req, "malformed Transfer-Encoding");
	/* chunked must be applied once, and last (RFC 9112 §6.3 and §7). */
	if (req->te_chunked)
		return bad(req, "chunked is not the final transfer coding");
	if (sk__http_slice_ieq(name, "chunked")) {
		if (n != coding.len)
			return bad(req, "chunked takes no parameters");
		req->te_chunked = true;
		return 0;
	}
	static const char *const known[] = { "gzip", "x-gzip", "deflate", "compress", "x-compress" };
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
		if (sk__http_slice_ieq(name, known[i])) {
			req->has_other_coding = true;
			return 0;
		}
	}
	req->why = "unknown transfer coding";
	return SK_EHTTP_NOT_IMPLEMENTED;
}

static bool is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

/* RFC 3986 §3.2.2 reg-name: unreserved, pct-encoded and sub-delims, less
 * ',' (below). */
static bool is_reg_name_char(unsigned char c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
	       (c && strchr("-._~!$&'()*+;=", c));
}

/* IP-literal = "[" ( IPv6address / IPvFuture ) "]", without the brackets. */
static bool is_ip_literal(const char *p, size_t n)
{
	struct sk_ip ip;
	if (n > 0 && (p[0] | 0x20) != 'v')
		return sk_ip_parse_v6(p, n, &ip, NULL) == 0;
	/* IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" ) */
	size_t i = 1;
	while (i < n && is_hex((unsigned char)p[i]))
		i++;
	if (i == 1 || i + 1 >= n || p[i] != '.')
		return false;
	for (i++; i < n; i++)
		if (p[i] != ':' && (p[i] == ',' || !is_reg_name_char((unsigned char)p[i])))
			return false;
	return true;
}

/* Host = uri-host [ ":" port ] (RFC 9110 §7.2). RFC 9112 §3.2: any other
 * value is 400. Beyond the grammar, a ',' is refused: "Host: a, b" or
 * "Host: a,b" reads as two Host lines combined (RFC 9110 §5.3), and which
 * one a proxy routed by and which one we serve need not agree. Userinfo
 * ("user@host"), spaces and a port that is not a number up to 65535 fail
 * the grammar. An empty value is the grammar's empty reg-name, which
 * RFC 9110 §7.2 asks for when the target URI has no authority. */
static int host_value(struct sk_slice v, struct sk_http_request *req)
{
	const char *p = v.p;
	size_t n = v.len, i = 0;
	if (n && p[0] == '[') {
		const char *end = memchr(p, ']', n);
		if (!end || !is_ip_literal(p + 1, (size_t)(end - p) - 1))
			return bad(req, "invalid IP literal in Host");
		i = (size_t)(end - p) + 1;
	} else {
		for (; i < n && p[i] != ':'; i++) {
			unsigned char c = (unsigned char)p[i];
			if (c == '%' && i + 2 < n && is_hex((unsigned char)p[i + 1]) &&
			    is_hex((unsigned char)p[i + 2]))
				i += 2;
			else if (c == ',')
				return bad(req, "a list in Host (one authority only)");
			else if (c == '@')
				return bad(req, "userinfo in Host");
			else if (!is_reg_name_char(c))
				return bad(req, "invalid character in Host");
		}
	}
	if (i == n)
		return 0;
	if (p[i] != ':')
		return bad(req, "invalid character in Host");
	/* port = *DIGIT; past 65535 it names no port. */
	uint32_t port = 0;
	for (i++; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return bad(req, "invalid port in Host");
		port = port * 10 + (uint32_t)(p[i] - '0');
		if (port > 65535)
			return bad(req, "invalid port in Host");
	}
	return 0;
}

static int connection_option(struct sk_slice opt, void *ud)
{
	struct sk_http_request *req = ud;
	if (sk__http_slice_ieq(opt, "close"))
		req->conn_close = true;
	else if (sk__http_slice_ieq(opt, "keep-alive"))
		req->conn_keep_alive = true;
	return 0;
}

/* Acts on the fields that decide framing and the connection, and checks
 * Host, whose value decides which site a proxy sends the request to. */
static int header_semantics(struct sk_http_request *req, const struct sk_http_header *h)
{
	if (sk__http_slice_ieq(h->name, "content-length"))
		return content_length(h->value, req);
	if (sk__http_slice_ieq(h->name, "transfer-encoding")) {
		req->seen_te = true;
		if (h->value.len == 0)
			return bad(req, "empty Transfer-Encoding");
		return sk__http_for_each_element(h->value, req, transfer_coding);
	}
	if (sk__http_slice_ieq(h->name, "connection"))
		return sk__http_for_each_element(h->value, req, connection_option);
	if (sk__http_slice_ieq(h->name, "host")) {
		req->n_host++;
		return host_value(h->value, req);
	}
	if (sk__http_slice_ieq(h->name, "expect") && sk__http_slice_ieq(h->value, "100-continue"))
		req->expect_continue = true;
	return 0;
}

/* Checks line[0..n) as a header line (complete if is_complete). */
static int header_line(const char *line, size_t n, bool is_complete, struct sk_http_request *req,
                       struct sk_http_header *out)
{
	const char *why = sk__http_field_line(line, n, is_complete, out);
	return why ? bad(req, why) : 0;
}

/* --- the head as a whole --- */

static int finish_head(struct sk_http_request *req)
{
	if (req->seen_te) {
		if (req->seen_cl)
			return bad(req, "both Content-Length and Transfer-Encoding");
		if (!req->te_chunked)
			return bad(req, "chunked is not the final transfer coding");
		req->body = SK_HTTP_BODY_CHUNKED;
	} else if (req->seen_cl) {
		req->body = req->content_length ? SK_HTTP_BODY_LENGTH : SK_HTTP_BODY_NONE;
	}
	req->keep_alive = req->minor == 1 ? !req->conn_close : req->conn_keep_alive && !req->conn_close;
	return 0;
}

/* Every line, complete or not, is checked in one order, so that a request
 * split at any byte fails exactly as it does whole, even with two faults:
 *   1. its characters, left to right, as far as its length limit;
 *   2. the limit (414 for the request line, 431 for the header section);
 *   3. the line ending: CRLF, never a bare LF.
 * Bytes past a limit are never looked at: whatever they hold, it is 414/431. */
static int check_line(const char *buf, size_t pos, size_t n, bool complete,
                      struct sk_http_request *req)
{
	const char *line = buf + pos;
	/* A CR right before the LF (or at the end of what has arrived) ends the
	 * line; any other CR is a character fault (bare CR). */
	size_t content = n && line[n - 1] == '\r' ? n - 1 : n;
	size_t limit = !req->seen_request_line ? SK_HTTP_MAX_REQUEST_LINE
	             : pos < SK_HTTP_MAX_HEADER_BYTES ? SK_HTTP_MAX_HEADER_BYTES - pos : 0;
	size_t scan = content < limit ? content : limit;
	int err = 0;
	if (!req->seen_request_line)
		err = request_line(line, scan, false, req);
	else if (scan) {
		struct sk_http_header unused;
		err = header_line(line, scan, false, req, &unused);
	}
	if (err)
		return err;
	if (memchr(line, '\r', scan))
		return bad(req, "bare CR");
	if (content > limit) {
		if (!req->seen_request_line) {
			req->why = "request line too long";
			return SK_EHTTP_URI_TOO_LONG;
		}
		req->why = "request header fields too large";
		return SK_EHTTP_FIELDS_TOO_BIG;
	}
	if (complete && content == n)
		return bad(req, "bare LF (lines must end in CRLF)");
	return 0;
}

int sk_http_parse_request(const char *buf, size_t len, struct sk_http_request *req)
{
	size_t pos = req->pos;
	for (;;) {
		const char *line = buf + pos;
		size_t avail = len - pos;
		const char *lf = memchr(line, '\n', avail);
		size_t n = lf ? (size_t)(lf - line) : avail;
		int err = check_line(buf, pos, n, lf != NULL, req);
		if (err)
			return err;
		if (!lf)
			return SK_EINCOMPLETE;
		n--; /* without the CR, which check_line proved is there */
		if (!req->seen_request_line) {
			/* RFC 9112 §2.2: ignore empty lines before the request line. */
			if (n > 0) {
				if ((err = request_line(line, n, true, req)))
					return err;
				req->seen_request_line = true;
			}
		} else if (n == 0) {
			req->pos = pos + 2;
			if ((err = finish_head(req)))
				return err;
			return (int)req->pos;
		} else {
			if (req->n_headers == SK_HTTP_MAX_HEADERS) {
				req->why = "too many header fields";
				return SK_EHTTP_FIELDS_TOO_BIG;
			}
			struct sk_http_header *h = &req->headers[req->n_headers];
			if ((err = header_line(line, n, true, req, h)) ||
			    (err = header_semantics(req, h)))
				return err;
			req->n_headers++;
		}
		pos += n + 2;
		req->pos = pos;
	}
}

int sk_http_check_request(struct sk_http_request *req)
{
	/* RFC 9112 §3.2: a server MUST answer 400 to an HTTP/1.1 request without
	 * a Host field, or to any request with more than one. */
	if (req->n_host > 1)
		return bad(req, "more than one Host header");
	if (req->minor == 1 && req->n_host == 0)
		return bad(req, "no Host header in an HTTP/1.1 request");
	return 0;
}

const struct sk_http_header *sk_http_find_header(const struct sk_http_request *req,
                                                 const char *name)
{
	for (size_t i = 0; i < req->n_headers; i++)
		if (sk__http_slice_ieq(req->headers[i].name, name))
			return &req->headers[i];
	return NULL;
}
