/* The HTTP client (http_client.h): the client and its connections, and an
 * exchange's life:
 *
 *   WAITING ──kick──> CONNECTING ──connected──> EXCHANGING ──> DONE
 *      └──a kept-alive connection to the origin──────┘   │
 *                                    retry (once) <──────┘ the server had
 *                                                          closed it idle
 *
 * What goes over the connection (the request out, the response in) is
 * http_client_io.c's; the end of an exchange, http_client_exchange.c's. */
#include <sockit/err.h>
#include <sockit/ip.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http/http_internal.h"

void sk_http_client_opts_init(struct sk_http_client_opts *opts)
{
	memset(opts, 0, sizeof *opts);
	opts->family = AF_UNSPEC;
}

int sk_http_client_new(struct sk_loop *loop, const struct sk_http_client_opts *opts,
                       struct sk_http_client **out)
{
	struct sk_http_client *client = calloc(1, sizeof *client);
	if (!client)
		return SK_ENOMEM;
	client->loop = loop;
	client->opts = *opts;
	*out = client;
	return 0;
}

static void conn_unlink_and_free(struct sk__http_conn *cc)
{
	struct sk_http_client *client = cc->client;
	for (struct sk__http_conn **p = &client->conns; *p; p = &(*p)->next) {
		if (*p == cc) {
			*p = cc->next;
			client->n_conns--;
			break;
		}
	}
	free(cc->in);
	free(cc);
}

void sk_http_client_free(struct sk_http_client *client)
{
	if (!client)
		return;
	while (client->conns) {
		struct sk__http_conn *cc = client->conns;
		if (cc->conn)
			sk_conn_close(cc->conn, 0); /* on_close frees cc */
		else
			conn_unlink_and_free(cc);
	}
	sk_tls_config_free(client->own_tls); /* after its conns */
	free(client);
}

void sk_http_client_set_tls(struct sk_http_client *client, const struct sk_tls_config *tls)
{
	client->opts.tls = tls;
}

size_t sk_http_client_n_conns(const struct sk_http_client *client)
{
	return client->n_conns;
}

static void emit(struct sk_http_exchange *ex, enum sk_http_event ev)
{
	if (ex->h->on_event)
		ex->h->on_event(ex, ev, ex->ud);
}

/* --- connections -------------------------------------------------------- */

static bool origin_eq(const struct sk__http_origin *a, const struct sk__http_origin *b)
{
	return a->scheme == b->scheme && a->port == b->port && strcmp(a->host, b->host) == 0 &&
	       a->via_port == b->via_port && strcmp(a->via_host, b->via_host) == 0;
}

static struct sk__http_conn *find_idle(struct sk_http_client *client,
                                       const struct sk__http_origin *origin)
{
	for (struct sk__http_conn *cc = client->conns; cc; cc = cc->next)
		if (!cc->ex && cc->conn && origin_eq(&cc->origin, origin))
			return cc;
	return NULL;
}

static void conn_failed(struct sk_http_exchange *ex, int err);

static void conn_on_data(struct sk_conn *c, const char *p, size_t len, void *ud)
{
	struct sk__http_conn *cc = ud;
	struct sk_http_exchange *ex = cc->ex;
	if (!ex) {
		/* Bytes nobody asked for: whatever they are, the framing of the
		 * next response could no longer be trusted. */
		sk_conn_close(c, 0);
		return;
	}
	sk__http_enter(ex);
	sk__http_received(ex, p, len);
	sk__http_leave(ex);
}

static void conn_on_eof(struct sk_conn *c, void *ud)
{
	struct sk__http_conn *cc = ud;
	struct sk_http_exchange *ex = cc->ex;
	if (!ex) {
		sk_conn_close(c, 0); /* the server let a kept-alive connection go */
		return;
	}
	/* TLS: a close without close_notify may be an attacker's cut; it
	 * matters only where the close is the body's end. */
	struct sk_tls_info info;
	bool truncated = cc->origin.scheme == SK_URL_HTTPS && sk_conn_tls_info(c, &info) == 0 &&
	                 info.truncated;
	sk__http_enter(ex);
	int err = sk__http_peer_closed(ex, truncated);
	if (err)
		conn_failed(ex, err);
	sk__http_leave(ex);
}

static void conn_on_drain(struct sk_conn *c, void *ud)
{
	(void)c;
	struct sk__http_conn *cc = ud;
	struct sk_http_exchange *ex = cc->ex;
	if (!ex)
		return;
	sk__http_enter(ex);
	sk__http_pump_body(ex);
	sk__http_leave(ex);
}

static void conn_on_close(struct sk_conn *c, int err, void *ud)
{
	(void)c;
	struct sk__http_conn *cc = ud;
	struct sk_http_exchange *ex = cc->ex;
	cc->conn = NULL;
	if (ex) {
		sk__http_enter(ex);
		conn_failed(ex, err ? err : SK_EHTTP_TRUNCATED);
		sk__http_leave(ex);
	}
	conn_unlink_and_free(cc);
}

static const struct sk_conn_handler conn_handler = {
	.on_data = conn_on_data,
	.on_eof = conn_on_eof,
	.on_drain = conn_on_drain,
	.on_close = conn_on_close,
};

static void conn_on_handshake(struct sk_conn *c, int err, const struct sk_tls_info *info,
                              void *ud)
{
	(void)c;
	struct sk__http_conn *cc = ud;
	struct sk_http_exchange *ex = cc->ex;
	if (!ex)
		return;
	if (err == 0) {
		ex->timing.tls_us = sk__http_now_us() - ex->start_us;
		/* A request queued during the handshake leaves at its end. */
		if (ex->timing.sent_us && ex->timing.sent_us < ex->timing.tls_us)
			ex->timing.sent_us = ex->timing.tls_us;
	}
	if (!ex->h->on_tls)
		return;
	sk__http_enter(ex);
	ex->h->on_tls(ex, err, info, ex->ud);
	sk__http_leave(ex);
}

/* The config https:// connections use: the program's, or one made here
 * at the first need (the system's CAs, verification on, ALPN http/1.1). */
static int tls_config(struct sk_http_client *client, const struct sk_tls_config **out)
{
	if (!client->opts.tls && !client->own_tls) {
		int err = sk_tls_config_new(SK_TLS_CLIENT, &client->own_tls);
		if (err < 0)
			return err;
		sk_tls_config_set_alpn(client->own_tls, "http/1.1");
	}
	*out = client->opts.tls ? client->opts.tls : client->own_tls;
	return 0;
}

/* The one place that chooses the transport of a new connection: the
 * socket for http://; TLS over it for https://, verifying the origin's host
 * (or the program's tls_server_name). Returns 0 or SK_ENOMEM. */
static int transport_opts(struct sk_http_client *client, struct sk__http_conn *cc,
                          struct sk_conn_opts *o)
{
	sk_conn_opts_init(o);
	o->tracer = client->opts.tracer;
	if (cc->origin.scheme != SK_URL_HTTPS)
		return 0;
	const struct sk_tls_config *cfg;
	int err = tls_config(client, &cfg);
	if (err < 0)
		return err;
	sk_tls_conn_opts_init(&cc->tls, cfg);
	cc->tls.server_name = client->opts.tls_server_name ? client->opts.tls_server_name
	                                                   : cc->origin.host;
	cc->tls.on_handshake = conn_on_handshake;
	cc->tls.ud = cc;
	o->tls = &cc->tls;
	return 0;
}

static void attach(struct sk_http_exchange *ex, struct sk__http_conn *cc, bool reused)
{
	cc->ex = ex;
	cc->in_len = 0;
	cc->n_exchanges++;
	ex->cc = cc;
	ex->state = SK__HTTP_EXCHANGING;
	ex->timing.reused = reused;
	for (unsigned i = 0; i < ex->n_paused; i++)
		sk_conn_pause(cc->conn);
	if (reused)
		emit(ex, SK_HTTP_EV_REUSED);
	if (ex->state == SK__HTTP_EXCHANGING)
		sk__http_send_request(ex);
}

/* The byte stream to the origin is there (a socket to it, or a tunnel
 * through a proxy): it becomes a conn of the origin's transport. */
static void open_conn(struct sk_http_exchange *ex, int fd)
{
	struct sk_http_client *client = ex->client;
	sk_loop_timer_stop(client->loop, &ex->connect_timer);
	ex->timing.connect_us = sk__http_now_us() - ex->start_us;
	struct sk__http_conn *cc = calloc(1, sizeof *cc);
	char *in = malloc(SK_HTTP_MAX_RESPONSE_HEAD);
	struct sk_conn_opts o;
	int err = cc && in ? 0 : SK_ENOMEM;
	if (err == 0) {
		cc->client = client;
		cc->origin = ex->target;
		cc->in = in;
		err = transport_opts(client, cc, &o);
	}
	if (err < 0)
		sk_sock_close(fd, client->opts.tracer);
	else
		err = sk_conn_new(client->loop, fd, fd, &o, &conn_handler, cc, &cc->conn);
	if (err < 0) {
		free(in);
		free(cc);
		sk__http_finish(ex, err);
		return;
	}
	cc->next = client->conns;
	client->conns = cc;
	client->n_conns++;
	emit(ex, SK_HTTP_EV_CONNECTED);
	if (ex->state == SK__HTTP_CONNECTING)
		attach(ex, cc, false);
}

static void tunnel_open(struct sk_http_exchange *ex, int fd, int err)
{
	if (err < 0)
		sk__http_finish(ex, err);
	else
		open_conn(ex, fd);
}

/* TCP is up: to the origin, or to the proxy a tunnel goes through (the
 * connect timeout then covers the proxy's answer too). */
static void connected(struct sk_http_exchange *ex, int fd)
{
	if (!ex->tunnel) {
		open_conn(ex, fd);
		return;
	}
	int err = sk__http_tunnel_start(ex, fd, tunnel_open);
	if (err < 0)
		sk__http_finish(ex, err);
}

static void connect_next(struct sk_http_exchange *ex);

static void on_connect_io(struct sk_loop *loop, int fd, unsigned events, void *ud)
{
	(void)events;
	struct sk_http_exchange *ex = ud;
	int err = sk_tcp_connect_finish(fd);
	sk_loop_del_fd(loop, fd);
	ex->connect_fd = -1;
	sk__http_enter(ex);
	if (err < 0) {
		sk_sock_close(fd, ex->client->opts.tracer);
		ex->last_err = err;
		connect_next(ex);
	} else {
		connected(ex, fd);
	}
	sk__http_leave(ex);
}

static void on_connect_timeout(struct sk_loop *loop, struct sk_timer *t, void *ud)
{
	(void)loop;
	(void)t;
	struct sk_http_exchange *ex = ud;
	sk__http_enter(ex);
	sk__http_finish(ex, -ETIMEDOUT);
	sk__http_leave(ex);
}

/* Tries the next resolved address; the connect timeout covers them all. */
static void connect_next(struct sk_http_exchange *ex)
{
	struct sk_http_client *client = ex->client;
	while (ex->addr_i < ex->n_addrs && ex->state == SK__HTTP_CONNECTING) {
		const struct sk_addr *addr = &ex->addrs[ex->addr_i++];
		emit(ex, SK_HTTP_EV_CONNECTING);
		bool in_progress;
		int fd = sk_tcp_connect_start(addr, &in_progress, client->opts.tracer);
		if (fd < 0) {
			ex->last_err = fd;
			continue;
		}
		if (!in_progress) {
			connected(ex, fd);
			return;
		}
		int err = sk_loop_add_fd(client->loop, fd, SK_EV_WRITE, on_connect_io, ex);
		if (err < 0) {
			sk_sock_close(fd, client->opts.tracer);
			ex->last_err = err;
			continue;
		}
		ex->connect_fd = fd;
		if (client->opts.connect_timeout_ms && !sk_timer_is_active(&ex->connect_timer)) {
			uint64_t now = sk_loop_now(client->loop);
			uint64_t left = ex->connect_deadline_ms > now ? ex->connect_deadline_ms - now : 0;
			sk_loop_timer_start(client->loop, &ex->connect_timer, left);
		}
		return;
	}
	if (ex->state == SK__HTTP_CONNECTING)
		sk__http_finish(ex, ex->last_err ? ex->last_err : -EHOSTUNREACH);
}

/* A new connection: resolve (blocking), then connect without blocking. */
static void connect_new(struct sk_http_exchange *ex)
{
	struct sk_http_client *client = ex->client;
	ex->state = SK__HTTP_CONNECTING;
	/* TCP goes to the origin, or to the proxy a tunnel goes through. */
	bool via = ex->target.via_host[0] != '\0';
	const char *host = via ? ex->target.via_host : ex->target.host;
	unsigned port_no = via ? ex->target.via_port : ex->target.port;
	char port[8];
	snprintf(port, sizeof port, "%u", port_no);
	/* An address needs no resolver: getaddrinfo would still ask the kernel
	 * for the interfaces' addresses (AI_ADDRCONFIG) and nscd, a tenth of
	 * a small GET's time. */
	struct sk_ip ip;
	int err;
	int family = client->opts.family;
	if (sk_ip_parse(host, strlen(host), &ip, NULL) == 0 &&
	    (family == AF_UNSPEC || family == (ip.version == SK_IP_V4 ? AF_INET : AF_INET6))) {
		sk_addr_from_ip(&ip, port_no, &ex->addrs[0]);
		ex->n_addrs = 1;
		err = 0;
	} else {
		err = sk_addr_resolve(host, port, family, SOCK_STREAM, false, ex->addrs,
		                      SK__HTTP_MAX_ADDRS, &ex->n_addrs);
	}
	ex->timing.name_lookup_us = sk__http_now_us() - ex->start_us;
	if (err < 0) {
		sk__http_finish(ex, err);
		return;
	}
	ex->addr_i = 0;
	ex->last_err = 0;
	ex->connect_deadline_ms = sk_loop_now(client->loop) + client->opts.connect_timeout_ms;
	connect_next(ex);
}

static void begin(struct sk_http_exchange *ex)
{
	struct sk__http_conn *cc = find_idle(ex->client, &ex->target);
	if (cc)
		attach(ex, cc, true);
	else
		connect_new(ex);
}

static void on_kick(struct sk_loop *loop, struct sk_timer *t, void *ud)
{
	(void)loop;
	(void)t;
	struct sk_http_exchange *ex = ud;
	sk__http_enter(ex);
	if (ex->retried)
		connect_new(ex); /* a fresh connection, never the pool's */
	else
		begin(ex);
	sk__http_leave(ex);
}

/* Errors that mean the server closed a kept-alive connection as the
 * request went out (RFC 9112 §9.3.1: a client may retry an idempotent
 * request then). */
static bool closed_while_idle(int err)
{
	return err == SK_EHTTP_NO_RESPONSE || err == -ECONNRESET || err == -EPIPE;
}

static void conn_failed(struct sk_http_exchange *ex, int err)
{
	struct sk__http_conn *cc = ex->cc;
	bool retry = cc && cc->n_exchanges > 1 && ex->received == 0 && !ex->retried &&
	             ex->replayable && ex->idempotent && closed_while_idle(err);
	if (!retry) {
		sk__http_finish(ex, err);
		return;
	}
	ex->cc = NULL;
	cc->ex = NULL;
	if (cc->conn)
		sk_conn_close(cc->conn, 0);
	ex->retried = true;
	ex->timing.retried = true;
	ex->part_i = 0;
	ex->part_off = 0;
	ex->body_sent = false;
	sk__http_recv_reset(ex);
	emit(ex, SK_HTTP_EV_RETRY);
	/* From the loop's next pass, not from inside the old connection's
	 * callback: the new socket may get the old one's fd number, which
	 * the loop is still finishing with. */
	if (ex->state != SK__HTTP_DONE) {
		ex->state = SK__HTTP_WAITING;
		sk_loop_timer_start(ex->client->loop, &ex->kick, 0);
	}
}

/* --- starting ------------------------------------------------------------- */

static bool is_idempotent(const char *method)
{
	static const char *const methods[] = { "GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE" };
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
		if (strcmp(method, methods[i]) == 0)
			return true;
	return false;
}

static void origin_of(const struct sk_url *u, struct sk__http_origin *out)
{
	out->scheme = u->scheme;
	snprintf(out->host, sizeof out->host, "%s", u->host);
	out->port = u->port;
}

/* Where the exchange's connection goes: for http:// through a proxy, the
 * proxy (the request names the origin); for https:// through one, the
 * origin by way of a tunnel (the proxy sees only the CONNECT); else the
 * origin. Returns 0 or SK_ENOMEM. */
static int set_target(struct sk_http_exchange *ex, const struct sk_http_client_req *req)
{
	if (!req->proxy || req->url->scheme == SK_URL_HTTP) {
		origin_of(req->proxy ? req->proxy : req->url, &ex->target);
		return 0;
	}
	origin_of(req->url, &ex->target);
	snprintf(ex->target.via_host, sizeof ex->target.via_host, "%s", req->proxy->host);
	ex->target.via_port = req->proxy->port;
	return sk__http_tunnel_new(ex, req->proxy);
}

int sk_http_client_start(struct sk_http_client *client, const struct sk_http_client_req *req,
                         const struct sk_http_exchange_handler *handler, void *ud,
                         struct sk_http_exchange **out)
{
	struct sk_http_exchange *ex = calloc(1, sizeof *ex);
	if (!ex)
		return SK_ENOMEM;
	ex->client = client;
	ex->h = handler;
	ex->ud = ud;
	ex->start_us = sk__http_now_us();
	ex->connect_fd = -1;
	ex->to_head = strcmp(req->method, "HEAD") == 0;
	ex->idempotent = is_idempotent(req->method);
	ex->stream_body = req->stream_body;
	ex->replayable = !req->stream_body;
	ex->parts = req->body;
	ex->n_parts = req->n_body;
	/* Through a tunnel the request is the origin's own: origin-form, and
	 * the proxy's credentials stay with the CONNECT. */
	struct sk_http_client_req direct = *req;
	if (req->proxy && req->url->scheme == SK_URL_HTTPS)
		direct.proxy = NULL;
	int err = set_target(ex, req);
	if (err == 0)
		err = sk__http_build_head(ex, &direct);
	if (err < 0) {
		sk__http_exchange_free(ex);
		return err;
	}
	sk__http_recv_reset(ex);
	sk_timer_init(&ex->kick, on_kick, ex);
	sk_timer_init(&ex->connect_timer, on_connect_timeout, ex);
	sk_loop_timer_start(client->loop, &ex->kick, 0);
	*out = ex;
	return 0;
}
