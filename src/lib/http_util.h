/* Internals of the HTTP server shared by its files: dates, media types,
 * request paths, ranges and validators. Not installed. */
#ifndef SOCKIT_HTTP_UTIL_H
#define SOCKIT_HTTP_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include <sockit/slice.h>

/* "Sun, 06 Nov 1994 08:49:37 GMT" (IMF-fixdate, RFC 9110 §5.6.7) + NUL. */
#define HTTP_DATE_LEN 40 /* 29 used; room for the compiler to see no truncation */

/* Writes t as an IMF-fixdate into buf (HTTP_DATE_LEN bytes). */
void http_format_date(time_t t, char *buf);

/* Reads an HTTP date in any of the three forms RFC 9110 §5.6.7 says a
 * recipient must accept. Returns false if it is none of them. */
bool http_parse_date(struct sk_slice s, time_t *out);

/* The media type for a file name, with "; charset=utf-8" on text types;
 * application/octet-stream when the extension is unknown. */
const char *http_content_type(const char *name, size_t len);

/* Longest decoded path we accept: PATH_MAX less room for the root. */
#define HTTP_PATH_MAX 3072

/* A request path made safe to open beneath the served root. */
struct http_path {
	char rel[HTTP_PATH_MAX]; /* "" for the root, else "a/b/c": no "." or ".." segments,
	                            no empty segments, no leading '/' */
	size_t len;
	bool trailing_slash;     /* the URL path ended in '/' */
	bool has_dot_segment;    /* some segment starts with '.' (a hidden file) */
	struct sk_slice query;   /* after '?', a view into the target; empty if none */
	struct sk_slice last;    /* the last decoded segment, a view into rel */
};

/* Percent-decodes the path of a request target (origin-form "/a/b?q", or
 * absolute-form "http://host/a/b") once, then removes "." segments and
 * resolves ".." ones. Returns 0; SK_EHTTP_BAD_REQUEST (with *why) for a
 * malformed escape, an encoded NUL or '/', or a path that climbs above the
 * root; SK_EHTTP_URI_TOO_LONG for one longer than HTTP_PATH_MAX. */
int http_decode_path(struct sk_slice target, struct http_path *out, const char **why);

/* A Range header for a representation of size bytes (RFC 9110 §14).
 * Returns 1 with [*first, *last] for one satisfiable range, 0 to ignore the
 * header (not "bytes", several ranges, or malformed: send the whole), or -1
 * when unsatisfiable (416). */
int http_parse_range(struct sk_slice value, uint64_t size, uint64_t *first, uint64_t *last);

/* The strong validator we give a file: "\"<mtime ns hex>-<size hex>\"" +
 * NUL; buf holds 48 bytes. */
size_t http_format_etag(const struct stat *st, char *buf);

/* What preconditions are evaluated against: the target's current
 * representation, if it has one. */
struct http_validators {
	bool exists;               /* there is one (a file, a listing) */
	const char *etag;          /* its strong entity tag, NULL if it has none */
	bool has_mtime;
	time_t mtime;              /* its Last-Modified, when has_mtime */
};

struct sk_http_request;

/* Evaluates the request's preconditions in RFC 9110 §13.2.2's order:
 * If-Match (strong comparison: a weak tag never matches; "*" matches any
 * current representation), else If-Unmodified-Since; then If-None-Match
 * (weak comparison), else If-Modified-Since on GET and HEAD. Field lines
 * of a list may be split over several lines. Dates that do not parse are
 * ignored, as are date conditions on a target without a modification time.
 * Returns 0 to go on with the request, 304 (only when is_get_or_head) or
 * 412. Call it only where the answer would otherwise be 2xx (§13.2.1). */
int http_preconditions(const struct sk_http_request *req, bool is_get_or_head,
                       const struct http_validators *v);

#endif
