/* An HTTP/1.1 response parser (RFC 9112 §4-§6): the client's side of
 * http_parse.h, with the same promises.
 *
 * Zero-copy: every field is a view into the caller's buffer, valid while the
 * buffer is neither moved nor compacted. Incremental: call again with the
 * same buffer grown by new bytes and the same response struct; complete
 * lines are parsed once, and a head split at any byte parses exactly as
 * whole (the same result, the same error code). A bad byte is an error as
 * soon as it arrives.
 *
 * Strictness, each a defence against a response that two clients (or a
 * cache and a client) would frame differently:
 * CRLF line endings only (a bare CR or LF is an error), no empty lines
 * before the status line, "HTTP/1." DIGIT, a three-digit status 100-599
 * followed by SP, token field names with no whitespace before the colon,
 * no obs-fold, no control characters in values or the reason phrase, at
 * most one Content-Length (a digit string), no Content-Length together with
 * Transfer-Encoding, and a Transfer-Encoding that is exactly "chunked":
 * a body that still carries another transfer coding cannot be undone here
 * and is refused rather than handed on encoded.
 *
 * Framing (RFC 9112 §6.3): no body for an answer to HEAD, 1xx, 204 and 304
 * whatever the fields say; else chunked, Content-Length, or the rest of the
 * connection.
 *
 * No allocation, no state outside the struct. */
#ifndef SOCKIT_HTTP_RESPONSE_H
#define SOCKIT_HTTP_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sockit/err.h>
#include <sockit/http_parse.h>
#include <sockit/slice.h>

/* A response head (status line and fields) longer than this is refused
 * (SK_EHTTP_HEAD_TOO_BIG): 64 KiB is four times what servers accept in a
 * request head and holds the biggest cookie and policy fields seen in the
 * wild; the client keeps one such buffer per connection. The status line
 * alone stops at SK_HTTP_MAX_REQUEST_LINE. At most SK_HTTP_MAX_HEADERS
 * fields. */
#define SK_HTTP_MAX_RESPONSE_HEAD 65536

enum sk_http_framing {
	SK_HTTP_FRAMING_NONE,    /* no body */
	SK_HTTP_FRAMING_LENGTH,  /* content_length bytes */
	SK_HTTP_FRAMING_CHUNKED, /* decode with sk_http_chunked (http_parse.h) */
	SK_HTTP_FRAMING_EOF,     /* until the server closes the connection */
};

struct sk_http_response {
	struct sk_slice version;       /* "HTTP/1.1" */
	struct sk_slice reason;        /* as sent, possibly empty */
	unsigned status;               /* 100-599 */
	unsigned minor;                /* 0: HTTP/1.0; 1: 1.1 or a later 1.x read as 1.1 */
	struct sk_http_header headers[SK_HTTP_MAX_HEADERS];
	size_t n_headers;
	enum sk_http_framing framing;
	uint64_t content_length;       /* the field's value (also for HEAD and 304) */
	bool has_content_length;
	bool keep_alive;               /* the connection may carry the next request */
	const char *why;               /* on error: what was wrong (static text) */

	/* Parser state between calls. */
	bool to_head;                  /* answers a HEAD request: no body */
	size_t pos;                    /* bytes of complete lines already parsed */
	bool seen_status_line;
	bool seen_te, te_chunked, conn_close, conn_keep_alive;
};

/* Prepares res for a new response; to_head: the request was HEAD. */
void sk_http_response_init(struct sk_http_response *res, bool to_head);

/* Parses the response head in buf[0..len). Returns the head's length (the
 * body starts there) once the empty line that ends it has arrived;
 * SK_EINCOMPLETE to wait for more; SK_EHTTP_BAD_RESPONSE with res->why; or
 * SK_EHTTP_HEAD_TOO_BIG. A 1xx head is complete too: the final response
 * follows it (parse it with a fresh init). After an error the connection's
 * framing is lost: close it. */
int sk_http_parse_response(const char *buf, size_t len, struct sk_http_response *res);

/* The first field with this name (case-insensitive), or NULL. */
const struct sk_http_header *sk_http_response_header(const struct sk_http_response *res,
                                                     const char *name);

/* Content-Range of a 206 or 416 (RFC 9110 §14.4): "bytes FIRST-LAST/TOTAL"
 * or "bytes * /TOTAL" (without the space); TOTAL may be "*" (unknown, given
 * as UINT64_MAX). For "*" FIRST and LAST are UINT64_MAX. Returns 0 or
 * SK_EHTTP_BAD_RESPONSE. */
int sk_http_parse_content_range(struct sk_slice value, uint64_t *first, uint64_t *last,
                                uint64_t *total);

#endif
