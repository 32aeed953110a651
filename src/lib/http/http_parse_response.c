/* HTTP/1.1 response heads (RFC 9112 §4-§6), parsed a line at a time, as
 * http_parse.c parses requests.
 *
 * Each call resumes at res->pos, the end of the last complete line. A
 * complete line is parsed once; the incomplete line at the end of the input
 * is checked character by character, in the order a complete one is, so a
 * head split anywhere fails exactly as it does whole. */
#include <sockit/err.h>
#include <sockit/http_response.h>

#include <string.h>
#include <strings.h>

#include "http/http_internal.h"

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int bad(struct sk_http_response *res, const char *why)
{
	res->why = why;
	return SK_EHTTP_BAD_RESPONSE;
}

void sk_http_response_init(struct sk_http_response *res, bool to_head)
{
	memset(res, 0, sizeof *res);
	res->to_head = to_head;
}

/* --- the status line: HTTP-version SP status-code SP [ reason-phrase ] --- */

/* Offsets in the status line: "HTTP/1.1 200 OK". */
enum { MINOR_AT = 7, SP1_AT = 8, CODE_AT = 9, SP2_AT = 12, REASON_AT = 13 };

/* Checks line[0..n) as the start (complete if is_complete) of a status
 * line, left to right, filling res when complete. */
static int status_line(const char *line, size_t n, bool is_complete, struct sk_http_response *res)
{
	static const char proto[] = "HTTP/1.";
	const unsigned char *s = (const unsigned char *)line;
	for (size_t k = 0; k < n && k < MINOR_AT; k++) {
		if (s[k] == (unsigned char)proto[k])
			continue;
		/* "HTTP/2.0": a version, not one that has this syntax. */
		return bad(res, k == 5 && is_digit(s[k]) ? "not an HTTP/1.x response"
		                                         : "malformed status line");
	}
	if (n > MINOR_AT && !is_digit(s[MINOR_AT]))
		return bad(res, "malformed HTTP version");
	if (n > SP1_AT && s[SP1_AT] != ' ')
		return bad(res, "malformed HTTP version (one SP must follow it)");
	for (size_t k = CODE_AT; k < n && k < SP2_AT; k++)
		if (!is_digit(s[k]))
			return bad(res, "the status code is not three digits");
	if (n >= SP2_AT && s[CODE_AT] == '0')
		return bad(res, "status code below 100");
	if (n >= SP2_AT && s[CODE_AT] > '5')
		return bad(res, "status code above 599");
	/* RFC 9112 §4: the SP after the code is there even with no reason. */
	if (n > SP2_AT && s[SP2_AT] != ' ')
		return bad(res, "the status code is not three digits");
	for (size_t k = REASON_AT; k < n; k++)
		if (!sk__http_is_field_char(s[k]))
			return bad(res, "control character in the reason phrase");
	if (!is_complete)
		return 0;
	if (n < REASON_AT)
		return bad(res, n == SP2_AT ? "no SP after the status code"
		              : n == 0 ? "an empty line where the status line belongs"
		                       : "status line cut short");
	res->version = (struct sk_slice){ line, SP1_AT };
	res->reason = (struct sk_slice){ line + REASON_AT, n - REASON_AT };
	res->status = (unsigned)(s[CODE_AT] - '0') * 100 + (unsigned)(s[CODE_AT + 1] - '0') * 10 +
	              (unsigned)(s[CODE_AT + 2] - '0');
	/* RFC 9110 §2.5: a later 1.x is read as 1.1, the highest we speak. */
	res->minor = s[MINOR_AT] == '0' ? 0 : 1;
	return 0;
}

/* --- header fields --- */

static int content_length(struct sk_slice v, struct sk_http_response *res)
{
	/* Two Content-Length fields, even equal ones: a response whose length
	 * depends on which field a reader believes is refused outright (RFC 9112
	 * §6.3 ¶5 lets a client treat it as unrecoverable). */
	if (res->has_content_length)
		return bad(res, "more than one Content-Length");
	if (v.len == 0)
		return bad(res, "empty Content-Length");
	uint64_t n = 0;
	for (size_t i = 0; i < v.len; i++) {
		unsigned char c = (unsigned char)v.p[i];
		if (!is_digit(c))
			return bad(res, "Content-Length is not a number");
		/* 2^62 bytes is past any disk: refuse before the sum can wrap. */
		if (n > (UINT64_C(1) << 62) / 10)
			return bad(res, "Content-Length too large");
		n = n * 10 + (c - '0');
	}
	res->has_content_length = true;
	res->content_length = n;
	return 0;
}

/* RFC 9112 §6.1: chunked, applied once and last. Any other coding would be
 * handed on still encoded (or, not last, framed by the connection's end): a
 * client that cannot undo it refuses the response. */
static int transfer_coding(struct sk_slice coding, void *ud)
{
	struct sk_http_response *res = ud;
	if (res->te_chunked)
		return bad(res, "chunked is not the last transfer coding");
	if (!sk__http_slice_ieq(coding, "chunked"))
		return bad(res, "a transfer coding other than chunked");
	res->te_chunked = true;
	return 0;
}

static int connection_option(struct sk_slice opt, void *ud)
{
	struct sk_http_response *res = ud;
	if (sk__http_slice_ieq(opt, "close"))
		res->conn_close = true;
	else if (sk__http_slice_ieq(opt, "keep-alive"))
		res->conn_keep_alive = true;
	return 0;
}

/* Acts on the fields that decide framing and the connection. */
static int header_semantics(struct sk_http_response *res, const struct sk_http_header *h)
{
	if (sk__http_slice_ieq(h->name, "content-length"))
		return content_length(h->value, res);
	if (sk__http_slice_ieq(h->name, "transfer-encoding")) {
		res->seen_te = true;
		if (h->value.len == 0)
			return bad(res, "empty Transfer-Encoding");
		return sk__http_for_each_element(h->value, res, transfer_coding);
	}
	if (sk__http_slice_ieq(h->name, "connection"))
		return sk__http_for_each_element(h->value, res, connection_option);
	return 0;
}

/* Checks line[0..n) as a field line (complete if is_complete). */
static int header_line(const char *line, size_t n, bool is_complete, struct sk_http_response *res,
                       struct sk_http_header *out)
{
	const char *why = sk__http_field_line(line, n, is_complete, out);
	return why ? bad(res, why) : 0;
}

/* --- the head as a whole --- */

static bool has_no_body(const struct sk_http_response *res)
{
	return res->to_head || res->status < 200 || res->status == 204 || res->status == 304;
}

/* RFC 9112 §6.3, in its order. */
static int finish_head(struct sk_http_response *res)
{
	if (res->seen_te && res->has_content_length)
		return bad(res, "both Content-Length and Transfer-Encoding");
	if (has_no_body(res))
		res->framing = SK_HTTP_FRAMING_NONE;
	else if (res->te_chunked)
		res->framing = SK_HTTP_FRAMING_CHUNKED;
	else if (res->has_content_length)
		res->framing = SK_HTTP_FRAMING_LENGTH; /* 0 bytes is a length too */
	else
		res->framing = SK_HTTP_FRAMING_EOF;
	if (res->framing == SK_HTTP_FRAMING_EOF)
		res->keep_alive = false;
	else if (res->minor == 1)
		res->keep_alive = !res->conn_close;
	else
		res->keep_alive = res->conn_keep_alive && !res->conn_close;
	return 0;
}

/* Every line, complete or not, is checked in one order, so that a head
 * split at any byte fails exactly as it does whole:
 *   1. its characters, left to right, as far as its length limit;
 *   2. the limit (SK_EHTTP_HEAD_TOO_BIG);
 *   3. the line ending: CRLF, never a bare LF. */
static int check_line(const char *buf, size_t pos, size_t n, bool complete,
                      struct sk_http_response *res)
{
	const char *line = buf + pos;
	/* A CR right before the LF (or at the end of what has arrived) ends the
	 * line; any other CR is a character fault (bare CR). */
	size_t content = n && line[n - 1] == '\r' ? n - 1 : n;
	size_t limit = !res->seen_status_line ? SK_HTTP_MAX_REQUEST_LINE
	             : pos < SK_HTTP_MAX_RESPONSE_HEAD ? SK_HTTP_MAX_RESPONSE_HEAD - pos : 0;
	size_t scan = content < limit ? content : limit;
	int err = 0;
	if (!res->seen_status_line) {
		err = status_line(line, scan, false, res);
	} else if (scan) {
		struct sk_http_header unused;
		err = header_line(line, scan, false, res, &unused);
	}
	if (err)
		return err;
	if (memchr(line, '\r', scan))
		return bad(res, "bare CR");
	if (content > limit) {
		res->why = !res->seen_status_line ? "status line too long" : "response head too large";
		return SK_EHTTP_HEAD_TOO_BIG;
	}
	if (complete && content == n)
		return bad(res, "bare LF (lines must end in CRLF)");
	return 0;
}

int sk_http_parse_response(const char *buf, size_t len, struct sk_http_response *res)
{
	size_t pos = res->pos;
	for (;;) {
		const char *line = buf + pos;
		size_t avail = len - pos;
		const char *lf = memchr(line, '\n', avail);
		size_t n = lf ? (size_t)(lf - line) : avail;
		int err = check_line(buf, pos, n, lf != NULL, res);
		if (err)
			return err;
		if (!lf)
			return SK_EINCOMPLETE;
		n--; /* without the CR, which check_line proved is there */
		if (!res->seen_status_line) {
			/* RFC 9112 §2.2 lets only servers skip empty lines before the
			 * start line; a client has no reason to expect them. */
			if ((err = status_line(line, n, true, res)))
				return err;
			res->seen_status_line = true;
		} else if (n == 0) {
			res->pos = pos + 2;
			if ((err = finish_head(res)))
				return err;
			return (int)res->pos;
		} else {
			if (res->n_headers == SK_HTTP_MAX_HEADERS) {
				res->why = "too many header fields";
				return SK_EHTTP_HEAD_TOO_BIG;
			}
			struct sk_http_header *h = &res->headers[res->n_headers];
			if ((err = header_line(line, n, true, res, h)) || (err = header_semantics(res, h)))
				return err;
			res->n_headers++;
		}
		pos += n + 2;
		res->pos = pos;
	}
}

const struct sk_http_header *sk_http_response_header(const struct sk_http_response *res,
                                                     const char *name)
{
	for (size_t i = 0; i < res->n_headers; i++)
		if (sk__http_slice_ieq(res->headers[i].name, name))
			return &res->headers[i];
	return NULL;
}

/* A decimal number at p[*i..n), advancing *i; false if there is none or it
 * passes 2^62. */
static bool read_number(const char *p, size_t n, size_t *i, uint64_t *out)
{
	size_t start = *i;
	uint64_t v = 0;
	while (*i < n && is_digit((unsigned char)p[*i])) {
		if (v > (UINT64_C(1) << 62) / 10)
			return false;
		v = v * 10 + (uint64_t)(p[(*i)++] - '0');
	}
	*out = v;
	return *i > start;
}

int sk_http_parse_content_range(struct sk_slice value, uint64_t *first, uint64_t *last,
                                uint64_t *total)
{
	const char *p = value.p;
	size_t n = value.len, i = 6;
	uint64_t a = UINT64_MAX, b = UINT64_MAX, t = UINT64_MAX;
	if (n < 6 || strncasecmp(p, "bytes ", 6) != 0)
		return SK_EHTTP_BAD_RESPONSE;
	if (i < n && p[i] == '*') {
		i++;
	} else {
		if (!read_number(p, n, &i, &a) || i >= n || p[i++] != '-' ||
		    !read_number(p, n, &i, &b) || b < a)
			return SK_EHTTP_BAD_RESPONSE;
	}
	if (i >= n || p[i++] != '/')
		return SK_EHTTP_BAD_RESPONSE;
	if (i < n && p[i] == '*' && i + 1 == n) {
		if (a == UINT64_MAX)
			return SK_EHTTP_BAD_RESPONSE; /* neither range nor total: says nothing */
		i++;
	} else if (!read_number(p, n, &i, &t) || (a != UINT64_MAX && b >= t)) {
		return SK_EHTTP_BAD_RESPONSE;
	}
	if (i != n)
		return SK_EHTTP_BAD_RESPONSE;
	*first = a;
	*last = b;
	*total = t;
	return 0;
}
