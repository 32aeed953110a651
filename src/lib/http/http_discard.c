/* Request bodies no method here uses: content on a GET, HEAD, DELETE or
 * OPTIONS (RFC 9110 §9.3 gives it no meaning), or on a method the server
 * refuses. The body is read by its framing and dropped before the request
 * is answered, so the connection can carry the next request: parsing it as
 * a request would answer bytes nobody sent as one, and closing would cost
 * the client its pipelined requests.
 *
 * Read before the answer, not after: a client that writes its whole
 * request before reading (most do) would otherwise block on a full socket
 * while we block sending it a large file. */
#include <sockit/conn.h>
#include <sockit/err.h>

#include <sys/socket.h>

#include "http/http_internal.h"

int sk__http_discard_data(struct http_conn *c, const char *p, size_t len, size_t *used)
{
	struct discard *d = &c->discard;
	*used = 0;
	if (!d->chunked) {
		size_t n = len < d->left ? len : (size_t)d->left;
		d->left -= n;
		*used = n;
		return d->left == 0;
	}
	int rc = 0;
	while (rc == 0 && *used < len) {
		size_t n = 0;
		struct sk_slice data;
		rc = sk_http_chunked_decode(&d->chunk, p + *used, len - *used, &n, &data);
		if (rc < 0)
			return rc;
		*used += n;
		d->total += n;
		if (n == 0)
			break;
	}
	if (rc == 0 && d->total > HTTP_DISCARD_MAX)
		return SK_EHTTP_BODY_TOO_BIG;
	return rc;
}

int sk__http_discard_start(struct http_conn *c)
{
	const struct sk_http_request *req = &c->req;
	size_t in_buf = c->in_len - c->head_len;
	if (req->body == SK_HTTP_BODY_LENGTH && req->content_length > HTTP_DISCARD_MAX)
		return SK_EHTTP_BODY_TOO_BIG;
	/* RFC 9110 §10.1.1: a client that waits for 100 (Continue) gets it, as
	 * an upload would (a failure shows up as a failed read soon after). */
	if (req->expect_continue && req->minor == 1 && in_buf == 0) {
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
		(void)sk_conn_send(c->conn, cont, sizeof cont - 1);
	}
	c->discard = (struct discard){
		.left = req->body == SK_HTTP_BODY_LENGTH ? req->content_length : 0,
		.chunked = req->body == SK_HTTP_BODY_CHUNKED,
	};
	sk_http_chunked_init(&c->discard.chunk);
	size_t used = 0;
	int rc = sk__http_discard_data(c, c->in + c->head_len, in_buf, &used);
	c->body_in_buf = used;
	if (rc == 0)
		c->state = DISCARD_BODY;
	return rc;
}
