/* libFuzzer target for the HTTP/1.1 request parser and chunked decoder
 * (`make fuzz`). The input is a byte stream from a client, possibly several
 * pipelined requests. For each request in it:
 *
 *   1. the head is parsed whole, then again in two calls split at a byte
 *      picked by the request's first byte: http_parse.h promises the same
 *      result, so any difference aborts. While the first call runs, the
 *      bytes after the split are poisoned, so reading past len is caught
 *      by AddressSanitizer even though they are in the same allocation;
 *   2. sk_http_check_request runs on both results, which must agree too,
 *      and a head that parsed keeps the parser's promises (views inside
 *      it, a Host that is one authority, 1.x served as 1.0 or 1.1);
 *   3. the body is framed: a Content-Length slice, or the chunked decoder
 *      run over the rest at once and again fed in pieces (each piece in an
 *      allocation of its own, as from a socket), which must decode the same
 *      bytes, consume the same count and reach the same verdict;
 *   4. what follows the body is the next request.
 *
 * Any sanitizer report, leak or abort() is a crash for libFuzzer. */
#include <sockit/http_parse.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#endif
#endif
#ifndef ASAN_POISON_MEMORY_REGION
#define ASAN_POISON_MEMORY_REGION(p, n) ((void)(p), (void)(n))
#define ASAN_UNPOISON_MEMORY_REGION(p, n) ((void)(p), (void)(n))
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Pipelined requests looked at per input: plenty to reach every state
 * after a body, and a bound on the time one input can take. */
#define MAX_REQUESTS 16

static void fail(const char *what, size_t offset)
{
	fprintf(stderr, "fuzz_http_parse: %s (request at byte %zu)\n", what, offset);
	abort();
}

/* A split point in [0, len] from the request's first byte. The byte is
 * usually a method letter, so it is spread with a multiplicative hash: a
 * seed can still be split anywhere, and a change of length moves the split. */
static size_t split_point(const char *p, size_t len)
{
	if (len == 0)
		return 0;
	return (size_t)(((uint64_t)(unsigned char)p[0] * 2654435761u) % (len + 1));
}

static bool slice_same(struct sk_slice a, struct sk_slice b)
{
	return a.p == b.p && a.len == b.len;
}

static bool why_same(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* The results of two parses of the same bytes in the same buffer: the
 * views must point at the same bytes, so they are compared as pointers.
 * Errors compare by code, which decides the status sent; the reason text
 * is for logs, and a split may prove another fault of the same line first
 * (a bare CR seen before the LF that would have shown a bare LF). */
static bool requests_same(int ra, const struct sk_http_request *a, int rb,
                          const struct sk_http_request *b)
{
	if (ra != rb)
		return false;
	if (ra < 0)
		return true;
	if (!slice_same(a->method, b->method) || !slice_same(a->target, b->target) ||
	    !slice_same(a->version, b->version) || a->minor != b->minor ||
	    a->n_headers != b->n_headers || a->body != b->body ||
	    a->content_length != b->content_length || a->keep_alive != b->keep_alive ||
	    a->expect_continue != b->expect_continue || a->has_other_coding != b->has_other_coding ||
	    a->n_host != b->n_host || a->pos != b->pos)
		return false;
	for (size_t i = 0; i < a->n_headers; i++)
		if (!slice_same(a->headers[i].name, b->headers[i].name) ||
		    !slice_same(a->headers[i].value, b->headers[i].value))
			return false;
	return true;
}

/* The invariants of one successful parse. */
static void check_head(const char *p, int head_len, const struct sk_http_request *req, size_t off)
{
	if (req->minor > 1 || req->n_headers > SK_HTTP_MAX_HEADERS || req->pos != (size_t)head_len)
		fail("head fields out of range", off);
	if (req->method.len == 0 || req->target.len == 0 || req->version.len != 8)
		fail("empty request-line part", off);
	const char *end = p + head_len;
	if (req->method.p < p || req->target.p + req->target.len > end)
		fail("request line outside the head", off);
	for (size_t i = 0; i < req->n_headers; i++) {
		const struct sk_http_header *h = &req->headers[i];
		if (h->name.len == 0 || h->name.p < p || h->value.p + h->value.len > end)
			fail("header outside the head", off);
	}
	if (req->body == SK_HTTP_BODY_LENGTH && req->content_length == 0)
		fail("a length body of 0 bytes", off);
	if (req->body == SK_HTTP_BODY_CHUNKED && req->seen_cl)
		fail("chunked with a Content-Length", off);
	const struct sk_http_header *host = sk_http_find_header(req, "host");
	if ((host != NULL) != (req->n_host > 0))
		fail("Host found but not counted, or counted but not found", off);
	/* One authority: never a list, userinfo or whitespace (RFC 9110 §7.2). */
	for (size_t i = 0; host && i < host->value.len; i++) {
		char c = host->value.p[i];
		if (c == ',' || c == '@' || c == ' ' || c == '\t')
			fail("a Host that is not uri-host [\":\" port] was accepted", off);
	}
	/* HTTP/1.2 to 1.9 are served as 1.1 (RFC 9110 §2.5). */
	if (req->minor != (req->version.p[7] == '0' ? 0u : 1u))
		fail("minor version not the one served", off);
}

/* Parses the head at p[0..len) whole and split; aborts if they differ.
 * Returns the parser's result, with the whole parse in *req. */
static int parse_head(char *p, size_t len, struct sk_http_request *req, size_t off)
{
	sk_http_request_init(req);
	int whole = sk_http_parse_request(p, len, req);

	struct sk_http_request split;
	sk_http_request_init(&split);
	size_t k = split_point(p, len);
	ASAN_POISON_MEMORY_REGION(p + k, len - k);
	int first = sk_http_parse_request(p, k, &split);
	ASAN_UNPOISON_MEMORY_REGION(p + k, len - k);
	int rsplit = first == SK_EINCOMPLETE ? sk_http_parse_request(p, len, &split) : first;
	if (!requests_same(whole, req, rsplit, &split)) {
		fprintf(stderr, "whole: %d (%s), split at %zu: %d then %d (%s)\n", whole,
		        whole < 0 && req->why ? req->why : "-", k, first, rsplit,
		        rsplit < 0 && split.why ? split.why : "-");
		fail("a split parse differs from the whole parse", off);
	}
	if (whole >= 0) {
		check_head(p, whole, req, off);
		int ca = sk_http_check_request(req), cb = sk_http_check_request(&split);
		if (ca != cb || (ca < 0 && !why_same(req->why, split.why)))
			fail("sk_http_check_request differs between the two parses", off);
	}
	if (whole < 0 && whole != SK_EINCOMPLETE) {
		if (!req->why)
			fail("an error without a reason", off);
		int status = sk_http_error_status(whole);
		if (status < 400 || status > 505)
			fail("an error status outside 4xx-5xx", off);
	}
	return whole;
}

struct chunked_run {
	int verdict;     /* 1 done, 0 needs more, SK_EHTTP_BAD_REQUEST */
	size_t used;     /* bytes of input consumed */
	char *body;      /* decoded bytes */
	size_t body_len;
};

/* Runs the decoder over p[0..len) until it finishes, fails or wants more.
 * Every call must make progress; the data it hands back must lie within
 * what it was given. */
static void chunked_feed(struct sk_http_chunked *c, const char *p, size_t len,
                         struct chunked_run *run, size_t off)
{
	size_t pos = 0;
	while (run->verdict == 0 && pos < len) {
		size_t used = 0;
		struct sk_slice d;
		int r = sk_http_chunked_decode(c, p + pos, len - pos, &used, &d);
		if (r < 0) {
			if (r != SK_EHTTP_BAD_REQUEST)
				fail("chunked: an unexpected error code", off);
			run->verdict = r;
			return;
		}
		if (used > len - pos || (r == 0 && used == 0))
			fail("chunked: no progress, or consumed past the input", off);
		if (d.len && (d.p < p + pos || d.p + d.len > p + pos + used))
			fail("chunked: data outside the bytes consumed", off);
		memcpy(run->body + run->body_len, d.p, d.len);
		run->body_len += d.len;
		run->used += used;
		pos += used;
		run->verdict = r;
	}
}

/* Decodes the chunked body at p[0..len) twice, whole and in pieces of 1 to
 * 64 bytes (sizes drawn from the bytes themselves); aborts if the two
 * differ. Returns the bytes the body took, or 0 if it is incomplete or bad. */
static size_t chunked_body(const char *p, size_t len, size_t off)
{
	struct chunked_run whole = { 0, 0, malloc(len + 1), 0 };
	struct chunked_run parts = { 0, 0, malloc(len + 1), 0 };
	if (!whole.body || !parts.body)
		fail("out of memory", off);
	struct sk_http_chunked c;
	sk_http_chunked_init(&c);
	chunked_feed(&c, p, len, &whole, off);

	sk_http_chunked_init(&c);
	uint32_t x = (uint32_t)len * 2654435761u;
	for (size_t at = 0; at < len && parts.verdict == 0;) {
		x = x * 1103515245u + 12345u + (unsigned char)p[at];
		size_t n = 1 + (x >> 16) % 64;
		if (n > len - at)
			n = len - at;
		char *piece = malloc(n);
		if (!piece)
			fail("out of memory", off);
		memcpy(piece, p + at, n);
		size_t before = parts.used;
		chunked_feed(&c, piece, n, &parts, off);
		free(piece);
		/* Done or failed inside this piece: the rest is not the body's. */
		if (parts.verdict == 0 && parts.used - before != n)
			fail("chunked: wanted more input without using this piece", off);
		at += n;
	}
	if (whole.verdict != parts.verdict || whole.body_len != parts.body_len ||
	    memcmp(whole.body, parts.body, whole.body_len) != 0 ||
	    (whole.verdict == 1 && whole.used != parts.used))
		fail("chunked: pieces decode differently from the whole", off);
	size_t taken = whole.verdict == 1 ? whole.used : 0;
	free(whole.body);
	free(parts.body);
	return taken;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A writable copy, so parts of it can be poisoned. */
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	size_t off = 0;
	for (int n = 0; n < MAX_REQUESTS && off < size; n++) {
		struct sk_http_request req;
		int head = parse_head(buf + off, size - off, &req, off);
		if (head < 0)
			break;
		size_t rest = size - off - (size_t)head, body = 0;
		if (req.body == SK_HTTP_BODY_LENGTH) {
			if (req.content_length > rest)
				break; /* waits for more */
			body = (size_t)req.content_length;
		} else if (req.body == SK_HTTP_BODY_CHUNKED) {
			body = chunked_body(buf + off + (size_t)head, rest, off);
			if (body == 0)
				break;
		}
		/* Bytes are consumed in order, and something is always consumed. */
		if (head == 0)
			fail("a head of 0 bytes", off);
		off += (size_t)head + body;
	}
	free(buf);
	return 0;
}
