/* http_response_dump: runs libsockit's HTTP response parser over the bytes
 * on stdin as a client reads them, and prints what it found as one JSON
 * object, for tests/integration/test_http_response_conformance.py:
 *
 *   {"messages": [{"status", "reason", "version", "headers", "body",
 *                  "framing", "keep_alive", "complete"}],
 *    "verdict": "ok"|"error"|"incomplete", "why": "...",
 *    "splits_agree": true, "bad_split": 0}
 *
 * Responses follow one another while the connection stays open: a 1xx is
 * interim (the final response follows), a response that closes the
 * connection ends the stream (bytes after it are dropped, as the client
 * drops them). A 101 is an error: sockit's client never asks to switch
 * protocols. The input is parsed whole, then once for every split point k
 * (bytes [0,k) first, the rest when more is needed): every split must give
 * the whole result. Byte strings are printed one code point per byte
 * (latin-1), as the conformance corpus writes them.
 *
 *   --eof   the server closes the connection after the input: a body framed
 *           by the close is complete, anything else cut short is an error
 *   --head  the responses answer HEAD requests */
#include <sockit/http_response.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INPUT (1 << 20)
#define MAX_OUT (4 << 20)

struct out {
	char *p;
	size_t len;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->len + n < MAX_OUT) {
		memcpy(o->p + o->len, s, n);
		o->len += n;
	}
}

static void put_str(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void put_bytes(struct out *o, const char *p, size_t n)
{
	put_str(o, "\"");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		char esc[8];
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			put(o, esc, 2);
		} else if (c < 0x20 || c >= 0x7f) {
			snprintf(esc, sizeof esc, "\\u%04x", c);
			put(o, esc, 6);
		} else {
			put(o, (const char *)&c, 1);
		}
	}
	put_str(o, "\"");
}

static const char *const framing_names[] = { "none", "content-length", "chunked", "eof" };

struct stream {
	const char *buf;
	size_t total, avail, pos;
	bool eof;
};

/* Makes more input available if there is any; false at the end. */
static bool more(struct stream *s)
{
	if (s->avail == s->total)
		return false;
	s->avail = s->total;
	return true;
}

/* Reads the body of res from s into body; returns "ok", "incomplete" or
 * "error" (with *why). */
static const char *read_body(struct stream *s, const struct sk_http_response *res, char *body,
                             size_t *body_len, const char **why)
{
	*body_len = 0;
	switch (res->framing) {
	case SK_HTTP_FRAMING_NONE:
		return "ok";
	case SK_HTTP_FRAMING_LENGTH:
		while (res->content_length > s->avail - s->pos)
			if (!more(s))
				return "incomplete";
		memcpy(body, s->buf + s->pos, (size_t)res->content_length);
		*body_len = (size_t)res->content_length;
		s->pos += (size_t)res->content_length;
		return "ok";
	case SK_HTTP_FRAMING_EOF:
		while (more(s))
			;
		memcpy(body, s->buf + s->pos, s->total - s->pos);
		*body_len = s->total - s->pos;
		s->pos = s->total;
		return s->eof ? "ok" : "incomplete";
	case SK_HTTP_FRAMING_CHUNKED:
		break;
	}
	struct sk_http_chunked c;
	sk_http_chunked_init(&c);
	for (;;) {
		size_t used = 0;
		struct sk_slice data;
		int done = sk_http_chunked_decode(&c, s->buf + s->pos, s->avail - s->pos, &used, &data);
		if (done < 0) {
			*why = "malformed chunked framing";
			return "error";
		}
		memcpy(body + *body_len, data.p, data.len);
		*body_len += data.len;
		s->pos += used;
		if (done)
			return "ok";
		if (s->pos == s->avail && !more(s))
			return "incomplete";
	}
}

static void put_message(struct out *o, const struct sk_http_response *res, const char *body,
                        size_t body_len, bool complete)
{
	char num[160];
	snprintf(num, sizeof num, "{\"status\": %u, \"reason\": ", res->status);
	put_str(o, num);
	put_bytes(o, res->reason.p, res->reason.len);
	put_str(o, ", \"version\": ");
	put_bytes(o, res->version.p, res->version.len);
	put_str(o, ", \"headers\": [");
	for (size_t i = 0; i < res->n_headers; i++) {
		put_str(o, i ? ", [" : "[");
		put_bytes(o, res->headers[i].name.p, res->headers[i].name.len);
		put_str(o, ", ");
		put_bytes(o, res->headers[i].value.p, res->headers[i].value.len);
		put_str(o, "]");
	}
	snprintf(num, sizeof num, "], \"framing\": \"%s\", \"keep_alive\": %s, \"complete\": %s, "
	         "\"body\": ", framing_names[res->framing], res->keep_alive ? "true" : "false",
	         complete ? "true" : "false");
	put_str(o, num);
	put_bytes(o, body, body_len);
	put_str(o, "}");
}

/* Parses buf[0..total) as a stream of responses, the first `split` bytes
 * available at first. Writes the JSON result (without splits_agree) to o. */
static void run(const char *buf, size_t total, size_t split, bool eof, bool to_head,
                struct out *o, const char **why_out)
{
	struct stream s = { buf, total, split < total ? split : total, 0, eof };
	const char *verdict = "ok", *why = "";
	char *body = malloc(MAX_INPUT);
	put_str(o, "{\"messages\": [");
	for (int n_msg = 0; s.pos < total || n_msg == 0; n_msg++) {
		struct sk_http_response res;
		sk_http_response_init(&res, to_head);
		int rc;
		while ((rc = sk_http_parse_response(buf + s.pos, s.avail - s.pos, &res)) ==
		       SK_EINCOMPLETE && more(&s))
			;
		if (rc == SK_EINCOMPLETE) {
			verdict = "incomplete";
			break;
		}
		if (rc < 0) {
			verdict = "error";
			why = res.why;
			break;
		}
		s.pos += (size_t)rc;
		size_t body_len = 0;
		verdict = read_body(&s, &res, body, &body_len, &why);
		if (n_msg)
			put_str(o, ", ");
		put_message(o, &res, body, body_len, strcmp(verdict, "ok") == 0);
		if (strcmp(verdict, "ok") != 0)
			break;
		if (res.status == 101) {
			verdict = "error";
			why = "101 Switching Protocols to a request that asked for no upgrade";
			break;
		}
		/* The connection closes after this response: the rest is dropped. */
		if (res.status >= 200 && !res.keep_alive)
			break;
		if (s.pos == total && res.status >= 200)
			break;
	}
	if (eof && strcmp(verdict, "incomplete") == 0) {
		verdict = "error";
		why = "the connection closed inside a response";
	}
	put_str(o, "], \"verdict\": \"");
	put_str(o, verdict);
	put_str(o, "\"");
	*why_out = why;
	free(body);
}

int main(int argc, char **argv)
{
	bool eof = false, to_head = false;
	for (int i = 1; i < argc; i++) {
		eof |= strcmp(argv[i], "--eof") == 0;
		to_head |= strcmp(argv[i], "--head") == 0;
	}
	char *buf = malloc(MAX_INPUT);
	size_t total = fread(buf, 1, MAX_INPUT, stdin);
	struct out whole = { malloc(MAX_OUT), 0 }, part = { malloc(MAX_OUT), 0 };
	const char *why, *split_why;
	run(buf, total, total, eof, to_head, &whole, &why);
	size_t bad_split = 0;
	bool agree = true;
	for (size_t k = 0; k < total && agree; k++) {
		part.len = 0;
		run(buf, total, k, eof, to_head, &part, &split_why);
		if (part.len != whole.len || memcmp(part.p, whole.p, whole.len) != 0) {
			agree = false;
			bad_split = k;
		}
	}
	fwrite(whole.p, 1, whole.len, stdout);
	/* The reason may differ between splits (another fault of the same line
	 * can show first); the verdict may not. */
	printf(", \"why\": \"%s\"", why);
	printf(", \"splits_agree\": %s, \"bad_split\": %zu}\n", agree ? "true" : "false", bad_split);
	free(buf);
	free(whole.p);
	free(part.p);
	return 0;
}
