/* A CONNECT tunnel through an HTTP proxy for an https:// URL (RFC 9110
 * §9.3.6): once TCP reaches the proxy, the request "CONNECT host:port"
 * goes out and the proxy's answer comes back on the bare socket, both
 * without blocking; a 2xx leaves a byte pipe to the origin, over which
 * http_client.c starts TLS with the origin itself (the proxy sees only
 * ciphertext). The answer is read on the socket rather than through an
 * sk_conn because the TLS conn must begin at the byte after it. */
#include <sockit/err.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "http/http_internal.h"

/* A proxy's answer to CONNECT is a status line and a few fields; one that
 * does not fit is not an answer we can use. */
#define TUNNEL_HEAD_MAX 16384

/* "CONNECT " authority " HTTP/1.1", Host, Proxy-Authorization, the end. */
#define TUNNEL_REQ_MAX (4 * SK_URL_HOST_MAX + 256)

struct sk__http_tunnel {
	char req[TUNNEL_REQ_MAX];
	size_t req_len, sent;
	char in[TUNNEL_HEAD_MAX];
	size_t in_len;
	struct sk_http_response res;
	sk__http_tunnel_fn *done;
};

int sk__http_tunnel_new(struct sk_http_exchange *ex, const struct sk_url *proxy)
{
	struct sk__http_tunnel *t = calloc(1, sizeof *t);
	if (!t)
		return SK_ENOMEM;
	/* authority-form: the port always, an IPv6 host in brackets. */
	char authority[SK_URL_HOST_MAX + 16];
	const struct sk__http_origin *o = &ex->target;
	snprintf(authority, sizeof authority, strchr(o->host, ':') ? "[%s]:%u" : "%s:%u", o->host,
	         o->port);
	int n = snprintf(t->req, sizeof t->req, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n", authority,
	                 authority);
	char user_pass[SK_URL_HOST_MAX], auth[2 * SK_URL_HOST_MAX];
	int len = proxy->has_userinfo ? sk_url_userinfo(proxy, user_pass, sizeof user_pass) : -1;
	if (len >= 0 && sk_http_basic_auth(user_pass, (size_t)len, auth, sizeof auth) > 0)
		n += snprintf(t->req + n, sizeof t->req - (size_t)n, "Proxy-Authorization: %s\r\n", auth);
	n += snprintf(t->req + n, sizeof t->req - (size_t)n, "\r\n");
	t->req_len = (size_t)n;
	free(ex->tunnel);
	ex->tunnel = t;
	return 0;
}

/* The tunnel's end either way: the socket leaves the loop, and the
 * exchange no longer owns it. */
static void tunnel_done(struct sk_http_exchange *ex, int err)
{
	struct sk_loop *loop = ex->client->loop;
	int fd = ex->connect_fd;
	sk_loop_del_fd(loop, fd);
	ex->connect_fd = -1;
	if (err < 0) {
		sk_sock_close(fd, ex->client->opts.tracer);
		fd = -1;
	}
	ex->tunnel->done(ex, fd, err);
}

/* A complete head in t->in[0..head_len): 2xx opens the tunnel. */
static void answered(struct sk_http_exchange *ex, size_t head_len)
{
	struct sk__http_tunnel *t = ex->tunnel;
	unsigned status = t->res.status;
	if (status >= 200 && status < 300 && head_len == t->in_len) {
		tunnel_done(ex, 0);
		return;
	}
	if (status >= 200 && status < 300)
		snprintf(ex->why, sizeof ex->why, "the proxy sent bytes after its %u to CONNECT", status);
	else
		snprintf(ex->why, sizeof ex->why, "the proxy answered CONNECT with %u %.*s", status,
		         (int)(t->res.reason.len < 120 ? t->res.reason.len : 120), t->res.reason.p);
	tunnel_done(ex, SK_EHTTP_TUNNEL);
}

/* Reads what the proxy sent; parses it as it grows. */
static void read_answer(struct sk_http_exchange *ex, int fd)
{
	struct sk__http_tunnel *t = ex->tunnel;
	ssize_t r;
	do
		r = recv(fd, t->in + t->in_len, sizeof t->in - t->in_len, 0);
	while (r < 0 && errno == EINTR);
	sk_trace(ex->client->opts.tracer, "recv(%d) = %zd", fd, r);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (r <= 0) {
		tunnel_done(ex, r < 0 ? -errno : t->in_len ? SK_EHTTP_TRUNCATED : SK_EHTTP_NO_RESPONSE);
		return;
	}
	t->in_len += (size_t)r;
	int rc;
	/* 1xx answers (RFC 9110 §15.2) are skipped as they are elsewhere. */
	while ((rc = sk_http_parse_response(t->in, t->in_len, &t->res)) > 0 && t->res.status < 200) {
		memmove(t->in, t->in + rc, t->in_len - (size_t)rc);
		t->in_len -= (size_t)rc;
		sk_http_response_init(&t->res, true);
	}
	if (rc == SK_EINCOMPLETE && t->in_len == sizeof t->in)
		rc = SK_EHTTP_HEAD_TOO_BIG;
	if (rc == SK_EINCOMPLETE)
		return;
	if (rc < 0) {
		snprintf(ex->why, sizeof ex->why, "the proxy's answer to CONNECT: %s",
		         t->res.why ? t->res.why : "head too large");
		tunnel_done(ex, SK_EHTTP_TUNNEL);
		return;
	}
	answered(ex, (size_t)rc);
}

/* Sends what is left of the request; then waits for the answer. */
static void send_request(struct sk_http_exchange *ex, int fd)
{
	struct sk__http_tunnel *t = ex->tunnel;
	while (t->sent < t->req_len) {
		ssize_t r = send(fd, t->req + t->sent, t->req_len - t->sent, MSG_NOSIGNAL);
		sk_trace(ex->client->opts.tracer, "send(%d, %zu) = %zd", fd, t->req_len - t->sent, r);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (r < 0) {
			tunnel_done(ex, -errno);
			return;
		}
		t->sent += (size_t)r;
	}
	int err = sk_loop_mod_fd(ex->client->loop, fd, SK_EV_READ);
	if (err < 0)
		tunnel_done(ex, err);
}

static void on_tunnel_io(struct sk_loop *loop, int fd, unsigned events, void *ud)
{
	(void)loop;
	(void)events;
	struct sk_http_exchange *ex = ud;
	sk__http_enter(ex);
	if (ex->tunnel->sent < ex->tunnel->req_len)
		send_request(ex, fd);
	else
		read_answer(ex, fd);
	sk__http_leave(ex);
}

int sk__http_tunnel_start(struct sk_http_exchange *ex, int fd, sk__http_tunnel_fn *done)
{
	struct sk__http_tunnel *t = ex->tunnel;
	t->sent = 0;
	t->in_len = 0;
	t->done = done;
	ex->why[0] = '\0';
	/* No body follows a 2xx to CONNECT (RFC 9110 §9.3.6): read as HEAD's. */
	sk_http_response_init(&t->res, true);
	int err = sk_loop_add_fd(ex->client->loop, fd, SK_EV_WRITE, on_tunnel_io, ex);
	if (err < 0) {
		sk_sock_close(fd, ex->client->opts.tracer);
		return err;
	}
	ex->connect_fd = fd;
	return 0;
}
