/* libFuzzer target for the HTTP/1.1 response parser and the chunked
 * decoder as the client uses them (`make fuzz`). The first byte chooses
 * whether the responses answer HEAD (its low bit); the rest is a byte
 * stream from a server, possibly several responses. For each response:
 *
 *   1. the head is parsed whole, then split at every byte (at 32 points
 *      spread over it when it is longer than 256 bytes, which keeps an
 *      input's time linear): http_response.h
 *      promises the same result, so any difference aborts. While the first
 *      call of a split runs, the bytes after the split are poisoned, so
 *      reading past len is caught by AddressSanitizer;
 *   2. a head that parsed keeps the parser's promises (views inside it,
 *      framing consistent with the status and the request);
 *   3. the body is framed: a Content-Length slice, the rest for a body
 *      framed by the close, or the chunked decoder run over the rest at once
 *      and again split at every byte (32 points when longer), each part in
 *      an allocation of its own, which must decode the same bytes, consume
 *      the same count and reach the same verdict;
 *   4. after a 1xx, or a response that keeps the connection, the next
 *      response follows.
 *
 * Any sanitizer report, leak or abort() is a crash for libFuzzer. */
#include <sockit/http_response.h>

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

#define MAX_RESPONSES 16
/* Heads and bodies up to this long are split at every byte; longer ones
 * at SPREAD_SPLITS points spread over them. Every byte of the conformance
 * corpus is split in test_http_response_conformance.py; here the number of
 * inputs matters more. */
#define EVERY_SPLIT_MAX 256
#define SPREAD_SPLITS 32

static void fail(const char *what, size_t offset)
{
	fprintf(stderr, "fuzz_http_response: %s (response at byte %zu)\n", what, offset);
	abort();
}

static size_t n_splits(size_t len)
{
	return len <= EVERY_SPLIT_MAX ? len + 1 : SPREAD_SPLITS;
}

static size_t split_at(size_t i, size_t len)
{
	return len <= EVERY_SPLIT_MAX ? i : (size_t)((uint64_t)i * (len + 1) / SPREAD_SPLITS);
}

static bool slice_same(struct sk_slice a, struct sk_slice b)
{
	return a.p == b.p && a.len == b.len;
}

static bool responses_same(int ra, const struct sk_http_response *a, int rb,
                           const struct sk_http_response *b)
{
	if (ra != rb)
		return false;
	if (ra < 0)
		return true;
	if (!slice_same(a->version, b->version) || !slice_same(a->reason, b->reason) ||
	    a->status != b->status || a->minor != b->minor || a->n_headers != b->n_headers ||
	    a->framing != b->framing || a->content_length != b->content_length ||
	    a->has_content_length != b->has_content_length || a->keep_alive != b->keep_alive ||
	    a->pos != b->pos)
		return false;
	for (size_t i = 0; i < a->n_headers; i++)
		if (!slice_same(a->headers[i].name, b->headers[i].name) ||
		    !slice_same(a->headers[i].value, b->headers[i].value))
			return false;
	return true;
}

static void check_head(const char *p, int head_len, const struct sk_http_response *res, size_t off)
{
	if (res->minor > 1 || res->n_headers > SK_HTTP_MAX_HEADERS || res->pos != (size_t)head_len ||
	    (size_t)head_len > SK_HTTP_MAX_RESPONSE_HEAD)
		fail("head fields out of range", off);
	if (res->status < 100 || res->status > 599 || res->version.len != 8 ||
	    res->version.p != p || res->reason.p + res->reason.len > p + head_len)
		fail("status line out of range", off);
	for (size_t i = 0; i < res->n_headers; i++) {
		const struct sk_http_header *h = &res->headers[i];
		if (h->name.len == 0 || h->name.p < p || h->value.p + h->value.len > p + head_len)
			fail("header outside the head", off);
	}
	bool no_body = res->to_head || res->status < 200 || res->status == 204 || res->status == 304;
	if (no_body != (res->framing == SK_HTTP_FRAMING_NONE))
		fail("a body where none may be, or none where one must be", off);
	if (res->framing == SK_HTTP_FRAMING_EOF && res->keep_alive)
		fail("a close-delimited body on a connection kept alive", off);
	if (res->framing == SK_HTTP_FRAMING_CHUNKED && res->has_content_length)
		fail("chunked with a Content-Length", off);
}

/* Parses the head at p[0..len) whole and split; aborts if they differ. */
static int parse_head(char *p, size_t len, bool to_head, struct sk_http_response *res, size_t off)
{
	sk_http_response_init(res, to_head);
	int whole = sk_http_parse_response(p, len, res);
	/* Only the bytes up to the head's end (or all, if it did not end) are
	 * the head's: split inside them. */
	size_t span = whole > 0 ? (size_t)whole : len;
	for (size_t i = 0; i < n_splits(span); i++) {
		size_t k = split_at(i, span);
		struct sk_http_response split;
		sk_http_response_init(&split, to_head);
		ASAN_POISON_MEMORY_REGION(p + k, len - k);
		int first = sk_http_parse_response(p, k, &split);
		ASAN_UNPOISON_MEMORY_REGION(p + k, len - k);
		int rsplit = first == SK_EINCOMPLETE ? sk_http_parse_response(p, len, &split) : first;
		if (!responses_same(whole, res, rsplit, &split)) {
			fprintf(stderr, "whole: %d (%s), split at %zu: %d then %d (%s)\n", whole,
			        whole < 0 && res->why ? res->why : "-", k, first, rsplit,
			        rsplit < 0 && split.why ? split.why : "-");
			fail("a split parse differs from the whole parse", off);
		}
	}
	if (whole >= 0)
		check_head(p, whole, res, off);
	if (whole < 0 && whole != SK_EINCOMPLETE) {
		if (whole != SK_EHTTP_BAD_RESPONSE && whole != SK_EHTTP_HEAD_TOO_BIG)
			fail("an unexpected error code", off);
		if (!res->why)
			fail("an error without a reason", off);
	}
	return whole;
}

struct chunked_run {
	int verdict; /* 1 done, 0 needs more, < 0 bad */
	size_t used;
	char *body;
	size_t body_len;
};

static void chunked_feed(struct sk_http_chunked *c, const char *p, size_t len,
                         struct chunked_run *run, size_t off)
{
	size_t pos = 0;
	while (run->verdict == 0 && pos < len) {
		size_t used = 0;
		struct sk_slice d;
		int r = sk_http_chunked_decode(c, p + pos, len - pos, &used, &d);
		if (r < 0) {
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

/* Feeds p[0..len) to a fresh decoder in two parts split at k, each in an
 * allocation of its own. */
static void chunked_split(const char *p, size_t len, size_t k, struct chunked_run *run, size_t off)
{
	struct sk_http_chunked c;
	sk_http_chunked_init(&c);
	size_t bounds[3] = { 0, k, len };
	for (int part = 0; part < 2 && run->verdict == 0; part++) {
		size_t n = bounds[part + 1] - bounds[part];
		char *piece = malloc(n ? n : 1);
		if (!piece)
			fail("out of memory", off);
		memcpy(piece, p + bounds[part], n);
		size_t before = run->used;
		chunked_feed(&c, piece, n, run, off);
		free(piece);
		if (run->verdict == 0 && run->used - before != n)
			fail("chunked: wanted more input without using this part", off);
	}
}

/* Decodes the chunked body at p[0..len) whole and split; returns the bytes
 * it took, or 0 if it is incomplete or bad. */
static size_t chunked_body(const char *p, size_t len, size_t off)
{
	struct chunked_run whole = { 0, 0, malloc(len + 1), 0 };
	if (!whole.body)
		fail("out of memory", off);
	struct sk_http_chunked c;
	sk_http_chunked_init(&c);
	chunked_feed(&c, p, len, &whole, off);
	size_t span = whole.verdict == 1 ? whole.used : len;
	for (size_t i = 0; i < n_splits(span); i++) {
		struct chunked_run parts = { 0, 0, malloc(len + 1), 0 };
		if (!parts.body)
			fail("out of memory", off);
		chunked_split(p, len, split_at(i, span), &parts, off);
		if ((whole.verdict < 0) != (parts.verdict < 0) ||
		    (whole.verdict >= 0 && (whole.verdict != parts.verdict ||
		                            whole.body_len != parts.body_len ||
		                            memcmp(whole.body, parts.body, whole.body_len) != 0)) ||
		    (whole.verdict == 1 && whole.used != parts.used))
			fail("chunked: a split decodes differently from the whole", off);
		free(parts.body);
	}
	size_t taken = whole.verdict == 1 ? whole.used : 0;
	free(whole.body);
	return taken;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	bool to_head = data[0] & 1;
	size--;
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size);
	size_t off = 0;
	for (int n = 0; n < MAX_RESPONSES && off < size; n++) {
		struct sk_http_response res;
		int head = parse_head(buf + off, size - off, to_head, &res, off);
		if (head <= 0)
			break;
		size_t rest = size - off - (size_t)head, body = 0;
		switch (res.framing) {
		case SK_HTTP_FRAMING_NONE:
			break;
		case SK_HTTP_FRAMING_LENGTH:
			if (res.content_length > rest)
				goto out; /* waits for more */
			body = (size_t)res.content_length;
			break;
		case SK_HTTP_FRAMING_CHUNKED:
			body = chunked_body(buf + off + (size_t)head, rest, off);
			if (body == 0)
				goto out;
			break;
		case SK_HTTP_FRAMING_EOF:
			goto out; /* the rest is the body */
		}
		off += (size_t)head + body;
		if (res.status >= 200 && !res.keep_alive)
			break;
	}
out:
	free(buf);
	return 0;
}
