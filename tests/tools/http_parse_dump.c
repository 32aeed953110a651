/* http_parse_dump: runs libsockit's HTTP parser over the bytes on stdin
 * and prints what it found as one JSON object, for
 * tests/integration/test_http_conformance.py:
 *
 *   {"verdict": "ok"|"error"|"incomplete", "status": 400,
 *    "messages": [{"method", "target", "version", "headers", "body"}],
 *    "splits_agree": true}
 *
 * The input is parsed whole, then once for every split point k (bytes
 * [0,k) first, the rest after): every split must give the whole result.
 * Byte strings are printed one code point per byte (latin-1), as the
 * conformance corpus writes them.
 *
 * With --eof, the input ends because the peer closed the connection: a
 * request cut short there is an error (it must not be processed), not a
 * request still waiting for bytes. */
#include <sockit/http_parse.h>

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

/* Parses buf[0..total) as a stream of requests, receiving it in two parts
 * split at `split`. Writes the JSON result (without splits_agree) to o. */
static void run(const char *buf, size_t total, size_t split, bool eof, struct out *o)
{
	size_t avail = split < total ? split : total;
	size_t pos = 0;
	const char *verdict = "ok";
	int status = 0;
	char *body = malloc(MAX_INPUT);
	put_str(o, "{\"messages\": [");
	for (int n_msg = 0;; n_msg++) {
		struct sk_http_request req;
		sk_http_request_init(&req);
		int rc;
		while ((rc = sk_http_parse_request(buf + pos, avail - pos, &req)) == SK_EINCOMPLETE &&
		       avail < total)
			avail = total;
		if (rc == SK_EINCOMPLETE) {
			/* Only empty lines after the last request: a clean end. */
			if (req.seen_request_line || pos + req.pos < total)
				verdict = "incomplete";
			break;
		}
		if (rc < 0) {
			verdict = "error";
			status = sk_http_error_status(rc);
			break;
		}
		size_t head = (size_t)rc, body_len = 0;
		pos += head;
		if (req.body == SK_HTTP_BODY_LENGTH) {
			if (req.content_length > total - pos) {
				verdict = "incomplete";
			} else {
				body_len = (size_t)req.content_length;
				memcpy(body, buf + pos, body_len);
				pos += body_len;
			}
		} else if (req.body == SK_HTTP_BODY_CHUNKED) {
			struct sk_http_chunked c;
			sk_http_chunked_init(&c);
			int done = 0;
			while (!done) {
				size_t used = 0;
				struct sk_slice data;
				done = sk_http_chunked_decode(&c, buf + pos, avail - pos, &used, &data);
				if (done < 0) {
					verdict = "error";
					status = 400;
					break;
				}
				memcpy(body + body_len, data.p, data.len);
				body_len += data.len;
				pos += used;
				if (!done && used == 0) {
					if (avail == total) {
						verdict = "incomplete";
						break;
					}
					avail = total;
				}
			}
		}
		if (n_msg)
			put_str(o, ", ");
		put_str(o, "{\"method\": ");
		put_bytes(o, req.method.p, req.method.len);
		put_str(o, ", \"target\": ");
		put_bytes(o, req.target.p, req.target.len);
		put_str(o, ", \"version\": ");
		put_bytes(o, req.version.p, req.version.len);
		put_str(o, ", \"headers\": [");
		for (size_t i = 0; i < req.n_headers; i++) {
			put_str(o, i ? ", [" : "[");
			put_bytes(o, req.headers[i].name.p, req.headers[i].name.len);
			put_str(o, ", ");
			put_bytes(o, req.headers[i].value.p, req.headers[i].value.len);
			put_str(o, "]");
		}
		char flags[160];
		snprintf(flags, sizeof flags,
		         "], \"keep_alive\": %s, \"check\": %d, \"complete\": %s, \"body\": ",
		         req.keep_alive ? "true" : "false", sk_http_check_request(&req),
		         strcmp(verdict, "ok") == 0 ? "true" : "false");
		put_str(o, flags);
		put_bytes(o, body, body_len);
		put_str(o, "}");
		if (strcmp(verdict, "ok") != 0 || pos >= total)
			break;
		if (avail < pos)
			avail = pos;
	}
	if (eof && strcmp(verdict, "incomplete") == 0) {
		verdict = "error";
		status = 400;
	}
	char tail[96];
	snprintf(tail, sizeof tail, "], \"verdict\": \"%s\", \"status\": %d", verdict, status);
	put_str(o, tail);
	free(body);
}

int main(int argc, char **argv)
{
	bool eof = argc > 1 && strcmp(argv[1], "--eof") == 0;
	char *buf = malloc(MAX_INPUT);
	size_t total = fread(buf, 1, MAX_INPUT, stdin);
	struct out whole = { malloc(MAX_OUT), 0 }, part = { malloc(MAX_OUT), 0 };
	run(buf, total, total, eof, &whole);
	size_t bad_split = 0;
	bool agree = true;
	for (size_t k = 0; k < total && agree; k++) {
		part.len = 0;
		run(buf, total, k, eof, &part);
		if (part.len != whole.len || memcmp(part.p, whole.p, whole.len) != 0) {
			agree = false;
			bad_split = k;
		}
	}
	fwrite(whole.p, 1, whole.len, stdout);
	printf(", \"splits_agree\": %s, \"bad_split\": %zu}\n", agree ? "true" : "false", bad_split);
	free(buf);
	free(whole.p);
	free(part.p);
	return 0;
}
