/* An HTTP/1.1 request parser (RFC 9112), strict and incremental.
 *
 * Zero-copy: every field is a view into the caller's buffer, valid while the
 * buffer is neither moved nor compacted. Incremental: call again with the
 * same buffer grown by new bytes and the same request struct; complete lines
 * are parsed once, and a request split at any byte parses exactly as whole.
 * Errors are found as soon as the bytes that prove them arrive (a bad
 * character in a half-received line is an error at once).
 *
 * Strictness, each a defence against request smuggling or a malformed peer:
 * CRLF line endings only (a bare CR or LF is an error), no whitespace before
 * a header's colon, no obs-fold, token characters in methods and field
 * names, no control characters in values, one Content-Length value, no
 * Content-Length together with Transfer-Encoding, chunked last in any
 * Transfer-Encoding, well-formed chunk sizes that cannot overflow, a Host
 * that is one authority (uri-host [":" port], no list, no userinfo).
 *
 * No allocation, no state outside the structs. */
#ifndef SOCKIT_HTTP_PARSE_H
#define SOCKIT_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sockit/err.h> /* SK_EINCOMPLETE, SK_EHTTP_* */
#include <sockit/slice.h>

/* Limits, each answered with its own status. 8 KiB lines and 100 fields in
 * 16 KiB match what nginx and Apache accept by default: real clients stay
 * far below, and a bigger head is an attack or a bug. */
#define SK_HTTP_MAX_REQUEST_LINE 8192  /* longer: 414 URI Too Long */
#define SK_HTTP_MAX_HEADER_BYTES 16384 /* the whole head; longer: 431 */
#define SK_HTTP_MAX_HEADERS 100        /* more fields: 431 */

/* The status to answer an SK_EHTTP_* error with (400 for anything else). */
int sk_http_error_status(int err);

struct sk_http_header {
	struct sk_slice name;  /* as sent (case kept) */
	struct sk_slice value; /* leading and trailing SP/HTAB removed */
};

enum sk_http_body {
	SK_HTTP_BODY_NONE,
	SK_HTTP_BODY_LENGTH,  /* content_length bytes */
	SK_HTTP_BODY_CHUNKED, /* decode with sk_http_chunked */
};

struct sk_http_request {
	struct sk_slice method, target, version;
	unsigned minor;                /* 0: HTTP/1.0; 1: HTTP/1.1, or a later 1.x served as 1.1 */
	struct sk_http_header headers[SK_HTTP_MAX_HEADERS];
	size_t n_headers;
	enum sk_http_body body;
	uint64_t content_length;
	bool keep_alive;               /* after this request (version and Connection) */
	bool expect_continue;          /* Expect: 100-continue */
	bool has_other_coding;         /* a transfer coding before chunked (gzip, deflate) */
	size_t n_host;                 /* Host fields seen (sk_http_check_request) */
	const char *why;               /* on error: what was wrong, for logs (static text) */

	/* Parser state between calls. */
	size_t pos;                    /* bytes of complete lines already parsed */
	bool seen_request_line;
	bool seen_te, seen_cl, te_chunked, conn_close, conn_keep_alive;
};

/* Prepares req for a new request. */
void sk_http_request_init(struct sk_http_request *req);

/* Parses the request head in buf[0..len). Returns the head's length in
 * bytes (the body starts there) once the empty line that ends it has
 * arrived; SK_EINCOMPLETE to wait for more; or an SK_EHTTP_* error, with
 * req->why set. Empty lines before the request line are skipped (RFC 9112
 * §2.2). After an error the connection must be closed: its framing is lost. */
int sk_http_parse_request(const char *buf, size_t len, struct sk_http_request *req);

/* Checks a parsed request for what RFC 9112 §3.2 requires of it beyond its
 * syntax: exactly one Host field in HTTP/1.1, at most one in HTTP/1.0.
 * Returns 0 or SK_EHTTP_BAD_REQUEST (with req->why). */
int sk_http_check_request(struct sk_http_request *req);

/* The first header with this name (case-insensitive), or NULL. */
const struct sk_http_header *sk_http_find_header(const struct sk_http_request *req,
                                                 const char *name);

/* --- Chunked bodies (RFC 9112 §7.1) -------------------------------------- */

struct sk_http_chunked {
	int state;
	uint64_t remaining; /* bytes left in the current chunk */
	size_t line_len;    /* bytes of the current size or trailer line seen */
	size_t trailer_bytes;
	unsigned n_digits;
};

void sk_http_chunked_init(struct sk_http_chunked *c);

/* Decodes from p[0..len): consumes framing and stores the first run of body
 * data found in *data (a view into p) — possibly empty. *used is the number
 * of bytes of p consumed (data included). Returns 1 when the body and its
 * trailers are complete (bytes after *used belong to the next request), 0
 * when more input is needed, or SK_EHTTP_BAD_REQUEST for malformed framing
 * or a size that would overflow. Call again with the rest of the input. */
int sk_http_chunked_decode(struct sk_http_chunked *c, const char *p, size_t len, size_t *used,
                           struct sk_slice *data);

#endif
