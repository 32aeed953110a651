/* Unit tests for http_client.c and http_client_io.c (include/sockit/
 * http_client.h), and http_gunzip.c: the client against a scripted server
 * on a thread (loopback, port 0), on epoll and on io_uring. The script of
 * each connection is a string of actions:
 *
 *   R   read one request (head, then its Content-Length or chunked body)
 *   W   write the next canned response
 *   C   close
 *   |   the next connection
 *
 * The scripted server also plays a proxy refusing or botching a CONNECT
 * (http_client_tunnel.c), and a server that does not speak TLS to an
 * https:// URL. The integration tests (test_http_client.py,
 * test_http_client_tls.py) drive the same code through `sockit http get`
 * against real servers, TLS ones and a CONNECT proxy among them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include <sockit/err.h>
#include <sockit/http_client.h>
#include <sockit/loop.h>
#include <sockit/tls.h>

static bool use_io_uring;

/* --- the scripted server --------------------------------------------------- */

#define MAX_RESPONSES 8
#define REQ_MAX (1 << 20)

struct server {
	int listen_fd;
	unsigned port;
	const char *script;
	const char *responses[MAX_RESPONSES];
	size_t n_responses;
	char *requests;      /* every request read, concatenated */
	size_t requests_len;
	int n_accepted;
	pthread_t thread;
};

static size_t find(const char *p, size_t n, const char *s)
{
	size_t k = strlen(s);
	for (size_t i = 0; i + k <= n; i++)
		if (memcmp(p + i, s, k) == 0)
			return i;
	return SIZE_MAX;
}

/* Reads one request from fd into the server's record; false at EOF. */
static bool read_request(struct server *s, int fd)
{
	size_t start = s->requests_len;
	for (;;) {
		char *req = s->requests + start;
		size_t have = s->requests_len - start;
		size_t head = find(req, have, "\r\n\r\n");
		if (head != SIZE_MAX) {
			head += 4;
			size_t cl = find(req, head, "Content-Length: ");
			if (cl != SIZE_MAX && have >= head + strtoul(req + cl + 16, NULL, 10))
				return true;
			if (cl == SIZE_MAX && find(req, head, "chunked") == SIZE_MAX)
				return true;
			if (cl == SIZE_MAX && find(req + head, have - head, "0\r\n\r\n") != SIZE_MAX)
				return true;
		}
		ssize_t n = read(fd, s->requests + s->requests_len, REQ_MAX - s->requests_len);
		if (n <= 0)
			return false;
		s->requests_len += (size_t)n;
	}
}

static void *serve(void *arg)
{
	struct server *s = arg;
	size_t next = 0;
	int fd = accept(s->listen_fd, NULL, NULL);
	s->n_accepted++;
	for (const char *a = s->script; *a; a++) {
		if (fd < 0 && *a != '|')
			continue;
		switch (*a) {
		case 'R':
			read_request(s, fd);
			break;
		case 'W': {
			const char *r = s->responses[next++];
			if (write(fd, r, strlen(r)) < 0)
				break;
			break;
		}
		case 'C':
			close(fd);
			fd = -1;
			break;
		case '|':
			if (fd >= 0)
				close(fd);
			fd = accept(s->listen_fd, NULL, NULL);
			s->n_accepted++;
			break;
		}
	}
	if (fd >= 0) {
		/* Keep it open until the client is done. */
		char buf[256];
		while (read(fd, buf, sizeof buf) > 0)
			;
		close(fd);
	}
	return NULL;
}

static void server_start(struct server *s, const char *script)
{
	s->script = script;
	s->requests = calloc(1, REQ_MAX);
	s->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(s->listen_fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(s->listen_fd, 8), 0);
	socklen_t len = sizeof a;
	getsockname(s->listen_fd, (struct sockaddr *)&a, &len);
	s->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void server_stop(struct server *s)
{
	shutdown(s->listen_fd, SHUT_RDWR);
	pthread_join(s->thread, NULL);
	close(s->listen_fd);
}

static void server_free(struct server *s)
{
	free(s->requests);
}

/* --- the client side ------------------------------------------------------- */

struct result {
	bool done;
	int err;
	unsigned status;
	int n_heads, n_events[5];
	char body[1 << 16];
	size_t body_len;
	struct sk_http_timing timing;
	char why[256];
	int n_tls, tls_err;
	struct sk_http_exchange *ex;
	bool stream;        /* write `stream_data` then end from on_body_want */
	size_t stream_sent;
};

static const char stream_data[] = "streamed body";

static void on_event(struct sk_http_exchange *ex, enum sk_http_event ev, void *ud)
{
	(void)ex;
	struct result *r = ud;
	r->n_events[ev]++;
}

static void on_head(struct sk_http_exchange *ex, const struct sk_http_response *res,
                    struct sk_slice raw, void *ud)
{
	(void)ex;
	(void)raw;
	struct result *r = ud;
	r->n_heads++;
	r->status = res->status;
}

static void on_body(struct sk_http_exchange *ex, const char *p, size_t len, void *ud)
{
	(void)ex;
	struct result *r = ud;
	assert_true(r->body_len + len <= sizeof r->body);
	memcpy(r->body + r->body_len, p, len);
	r->body_len += len;
}

static void on_body_want(struct sk_http_exchange *ex, void *ud)
{
	struct result *r = ud;
	if (r->stream_sent == 0) {
		assert_int_equal(sk_http_exchange_write(ex, stream_data, 8), 0);
		assert_int_equal(sk_http_exchange_write(ex, stream_data + 8, 0), 0);
		assert_int_equal(sk_http_exchange_write(ex, stream_data + 8, sizeof stream_data - 9), 0);
		r->stream_sent = sizeof stream_data - 1;
		assert_int_equal(sk_http_exchange_end(ex), 0);
		assert_int_equal(sk_http_exchange_write(ex, "x", 1), SK_EPIPE);
	}
}

static void on_done(struct sk_http_exchange *ex, int err, void *ud)
{
	struct result *r = ud;
	r->done = true;
	r->err = err;
	sk_http_exchange_timing(ex, &r->timing);
	const char *why = sk_http_exchange_why(ex);
	snprintf(r->why, sizeof r->why, "%s", why ? why : "");
	const struct sk_http_response *res = sk_http_exchange_response(ex);
	if (err == 0)
		assert_non_null(res);
	r->ex = NULL;
}

static void on_tls(struct sk_http_exchange *ex, int err, const struct sk_tls_info *info, void *ud)
{
	(void)ex;
	(void)info;
	struct result *r = ud;
	r->n_tls++;
	r->tls_err = err;
}

static const struct sk_http_exchange_handler handler = {
	.on_tls = on_tls,
	.on_event = on_event,
	.on_head = on_head,
	.on_body = on_body,
	.on_body_want = on_body_want,
	.on_done = on_done,
};

struct client {
	struct sk_loop *loop;
	struct sk_http_client *http;
};

static void client_new(struct client *c, unsigned connect_timeout_ms)
{
	assert_int_equal(sk_loop_new(&c->loop), 0);
	if (use_io_uring)
		assert_int_equal(sk_loop_use_io_uring(c->loop), 0);
	struct sk_http_client_opts o;
	sk_http_client_opts_init(&o);
	o.connect_timeout_ms = connect_timeout_ms;
	assert_int_equal(sk_http_client_new(c->loop, &o, &c->http), 0);
}

static void client_free(struct client *c)
{
	sk_http_client_free(c->http);
	sk_loop_free(c->loop);
}

/* Runs one request to completion, through proxy_url if not NULL. */
static void fetch_via(struct client *c, const char *method, const char *url,
                      const char *proxy_url, const struct sk_http_body_part *body, size_t n_body,
                      bool stream, struct result *r)
{
	memset(r, 0, sizeof *r);
	r->stream = stream;
	struct sk_url u, proxy;
	assert_int_equal(sk_url_parse(url, strlen(url), &u), 0);
	if (proxy_url)
		assert_int_equal(sk_url_parse(proxy_url, strlen(proxy_url), &proxy), 0);
	struct sk_http_field fields[] = { { "User-Agent", "test" } };
	struct sk_http_client_req req = {
		.method = method, .url = &u, .fields = fields, .n_fields = 1,
		.body = body, .n_body = n_body, .stream_body = stream,
		.proxy = proxy_url ? &proxy : NULL,
	};
	assert_int_equal(sk_http_client_start(c->http, &req, &handler, r, &r->ex), 0);
	/* Nothing happens before the loop runs. */
	assert_false(r->done);
	for (int i = 0; i < 1000 && !r->done; i++)
		assert_true(sk_loop_run_once(c->loop, 50) >= 0);
	assert_true(r->done);
}

static void fetch(struct client *c, const char *method, const char *url,
                  const struct sk_http_body_part *body, size_t n_body, bool stream,
                  struct result *r)
{
	fetch_via(c, method, url, NULL, body, n_body, stream, r);
}

static char url_buf[128];
static const char *url_of(const struct server *s, const char *path)
{
	snprintf(url_buf, sizeof url_buf, "http://127.0.0.1:%u%s", s->port, path);
	return url_buf;
}

/* --- the tests ------------------------------------------------------------- */

static void test_http_client_get_and_keep_alive(void **state)
{
	(void)state;
	struct server s = { .responses = {
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early\r\nLink: </x>\r\n\r\n"
		"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n",
	} };
	server_start(&s, "RWRW");
	struct client c;
	client_new(&c, 0);
	struct result r;
	fetch(&c, "GET", url_of(&s, "/a?b=1#frag"), NULL, 0, false, &r);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, 5);
	assert_memory_equal(r.body, "hello", 5);
	assert_false(r.timing.reused);
	assert_int_equal(r.n_events[SK_HTTP_EV_CONNECTED], 1);
	assert_true(r.timing.total_us >= r.timing.first_byte_us);
	assert_int_equal(r.timing.body_bytes, 5);
	assert_int_equal(sk_http_client_n_conns(c.http), 1);

	fetch(&c, "GET", url_of(&s, "/b"), NULL, 0, false, &r);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.status, 201);
	assert_int_equal(r.n_heads, 3); /* 100, 103, 201 */
	assert_int_equal(r.body_len, 5);
	assert_memory_equal(r.body, "abcde", 5);
	assert_true(r.timing.reused);
	assert_int_equal(r.n_events[SK_HTTP_EV_REUSED], 1);
	assert_int_equal(r.n_events[SK_HTTP_EV_CONNECTED], 0);
	client_free(&c);
	server_stop(&s);
	assert_int_equal(s.n_accepted, 1);
	/* Host with the port, the fragment never sent, our field after it. */
	char want[128];
	snprintf(want, sizeof want, "GET /a?b=1 HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nUser-Agent: test\r\n\r\n"
	         "GET /b HTTP/1.1\r\n", s.port);
	assert_memory_equal(s.requests, want, strlen(want));
	server_free(&s);
}

static void test_http_client_framing_errors(void **state)
{
	(void)state;
	static const struct {
		const char *response;
		const char *script;
		int err;
		size_t body_len;
	} cases[] = {
		{ "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "RWC", SK_EHTTP_TRUNCATED, 5 },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", "RWC",
		  SK_EHTTP_TRUNCATED, 5 },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "RW", SK_EHTTP_BAD_RESPONSE, 0 },
		{ "HTTP/1.1 200 OK\r\n\r\nuntil the end", "RWC", 0, 13 },
		{ "HTTP/1.0 200 OK\r\n\r\n", "RWC", 0, 0 },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", "RW",
		  SK_EHTTP_BAD_RESPONSE, 0 },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", "RW",
		  SK_EHTTP_BAD_RESPONSE, 0 },
		{ "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n", "RW", SK_EHTTP_BAD_RESPONSE, 0 },
		{ "HTTP/1.1 200 OK\r\nContent-", "RWC", SK_EHTTP_TRUNCATED, 0 },
		{ "", "RC", SK_EHTTP_NO_RESPONSE, 0 },
		{ "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", "RW", 0, 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct server s = { .responses = { cases[i].response } };
		server_start(&s, cases[i].script);
		struct client c;
		client_new(&c, 0);
		struct result r;
		fetch(&c, "GET", url_of(&s, "/"), NULL, 0, false, &r);
		if (r.err != cases[i].err || r.body_len != cases[i].body_len)
			fail_msg("case %zu: %s, %zu bytes", i, sk_errname(r.err), r.body_len);
		client_free(&c);
		server_stop(&s);
		server_free(&s);
	}
}

static void test_http_client_head_has_no_body(void **state)
{
	(void)state;
	struct server s = { .responses = {
		"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",
		"HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n",
	} };
	server_start(&s, "RWRW");
	struct client c;
	client_new(&c, 0);
	struct result r;
	fetch(&c, "HEAD", url_of(&s, "/"), NULL, 0, false, &r);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.body_len, 0);
	fetch(&c, "GET", url_of(&s, "/"), NULL, 0, false, &r);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.status, 304);
	assert_true(r.timing.reused);
	client_free(&c);
	server_stop(&s);
	server_free(&s);
}

/* The server closes the kept-alive connection as the second request
 * arrives: a GET is sent again on a new connection, a POST is not. */
static void test_http_client_retries_idempotent_once(void **state)
{
	(void)state;
	struct server s = { .responses = {
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nc",
	} };
	server_start(&s, "RWRC|RWRC");
	struct client c;
	client_new(&c, 0);
	struct result r;
	fetch(&c, "GET", url_of(&s, "/1"), NULL, 0, false, &r);
	assert_int_equal(r.err, 0);
	fetch(&c, "GET", url_of(&s, "/2"), NULL, 0, false, &r);
	assert_int_equal(r.err, 0);
	assert_memory_equal(r.body, "b", 1);
	assert_true(r.timing.retried);
	assert_int_equal(r.n_events[SK_HTTP_EV_RETRY], 1);
	static const char body[] = "x=1";
	struct sk_http_body_part part = { .data = body, .len = 3 };
	fetch(&c, "POST", url_of(&s, "/3"), &part, 1, false, &r);
	assert_int_equal(r.err, SK_EHTTP_NO_RESPONSE);
	assert_false(r.timing.retried);
	client_free(&c);
	server_stop(&s);
	server_free(&s);
	assert_int_equal(s.n_accepted, 2);
}

static void test_http_client_bodies(void **state)
{
	(void)state;
	struct server s = { .responses = {
		"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
	} };
	server_start(&s, "RWRWRW");
	struct client c;
	client_new(&c, 0);
	char path[] = "/tmp/test_http_client_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, "0123456789", 10), 10);
	struct sk_http_body_part parts[] = {
		{ .data = "head-", .len = 5 },
		{ .data = NULL, .fd = fd, .offset = 2, .len = 5 },
		{ .data = "-tail", .len = 5 },
	};
	struct result r;
	fetch(&c, "PUT", url_of(&s, "/f"), parts, 3, false, &r);
	assert_int_equal(r.err, 0);
	fetch(&c, "POST", url_of(&s, "/s"), NULL, 0, true, &r);
	assert_int_equal(r.err, 0);
	fetch(&c, "POST", url_of(&s, "/e"), NULL, 0, false, &r);
	assert_int_equal(r.err, 0);
	close(fd);
	client_free(&c);
	server_stop(&s);
	s.requests[s.requests_len] = '\0';
	assert_non_null(strstr(s.requests, "Content-Length: 15\r\n\r\nhead-23456-tail"));
	assert_non_null(strstr(s.requests, "Transfer-Encoding: chunked\r\n\r\n8\r\nstreamed\r\n5\r\n body\r\n0\r\n\r\n"));
	/* POST without a body still says so. */
	assert_non_null(strstr(s.requests, "POST /e HTTP/1.1\r\nHost: 127.0.0.1"));
	assert_non_null(strstr(strstr(s.requests, "POST /e"), "Content-Length: 0\r\n\r\n"));
	server_free(&s);
}

static void test_http_client_connect_errors(void **state)
{
	(void)state;
	/* A port nobody listens on: bind one, close it. */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	bind(fd, (struct sockaddr *)&a, sizeof a);
	socklen_t len = sizeof a;
	getsockname(fd, (struct sockaddr *)&a, &len);
	close(fd);
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%u/", ntohs(a.sin_port));
	struct client c;
	client_new(&c, 1000);
	struct result r;
	fetch(&c, "GET", url, NULL, 0, false, &r);
	assert_int_equal(r.err, -ECONNREFUSED);
	fetch(&c, "GET", "http://no-such-host.invalid/", NULL, 0, false, &r);
	assert_int_equal(r.err, SK_ENONAME);

	/* Fields that would split the request are refused at the start. */
	struct sk_url u;
	assert_int_equal(sk_url_parse(url, strlen(url), &u), 0);
	struct sk_http_field bad[] = { { "X", "a\r\nEvil: 1" } };
	struct sk_http_client_req req = { .method = "GET", .url = &u, .fields = bad, .n_fields = 1 };
	struct sk_http_exchange *ex;
	assert_int_equal(sk_http_client_start(c.http, &req, &handler, &r, &ex), SK_EINVAL);
	struct sk_http_field bad_name[] = { { "X Y", "1" } };
	req.fields = bad_name;
	assert_int_equal(sk_http_client_start(c.http, &req, &handler, &r, &ex), SK_EINVAL);
	req.fields = NULL;
	req.n_fields = 0;
	req.method = "GE T";
	assert_int_equal(sk_http_client_start(c.http, &req, &handler, &r, &ex), SK_EINVAL);
	client_free(&c);
}

/* https:// to a server that answers in plain HTTP: the TLS transport
 * says so (on_tls, then on_done), and nothing is taken for a response. */
static void test_http_client_https_to_a_plain_server(void **state)
{
	(void)state;
	struct server s = { 0 };
	s.responses[0] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
	server_start(&s, "W");
	char url[64];
	snprintf(url, sizeof url, "https://127.0.0.1:%u/", s.port);
	struct client c;
	client_new(&c, 1000);
	struct result r;
	fetch(&c, "GET", url, NULL, 0, false, &r);
	assert_int_equal(r.err, SK_ETLS_NOT_TLS);
	assert_int_equal(r.n_tls, 1);
	assert_int_equal(r.tls_err, SK_ETLS_NOT_TLS);
	assert_int_equal(r.n_heads, 0);
	assert_int_equal(r.body_len, 0);
	client_free(&c);
	server_stop(&s);
	server_free(&s);
}

/* https:// through a proxy: one CONNECT in authority-form (the port always,
 * IPv6 in brackets) with the proxy's credentials; a refusal, bytes after a
 * 200 and a close before any answer each end the exchange, saying why. */
static void test_http_client_tunnel_through_a_proxy(void **state)
{
	(void)state;
	struct server s = { 0 };
	s.responses[0] = "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 4\r\n\r\nnope";
	s.responses[1] = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\nnot TLS";
	server_start(&s, "RW|RW|RC");
	char proxy[64];
	snprintf(proxy, sizeof proxy, "http://u:p@127.0.0.1:%u", s.port);
	struct client c;
	client_new(&c, 1000);
	struct result r;
	fetch_via(&c, "GET", "https://example.test:8443/x", proxy, NULL, 0, false, &r);
	assert_int_equal(r.err, SK_EHTTP_TUNNEL);
	assert_string_equal(r.why, "the proxy answered CONNECT with 407 Proxy Authentication Required");
	fetch_via(&c, "GET", "https://[::1]/", proxy, NULL, 0, false, &r);
	assert_int_equal(r.err, SK_EHTTP_TUNNEL);
	assert_string_equal(r.why, "the proxy sent bytes after its 200 to CONNECT");
	fetch_via(&c, "GET", "https://example.test/", proxy, NULL, 0, false, &r);
	assert_int_equal(r.err, SK_EHTTP_NO_RESPONSE);
	assert_int_equal(r.n_tls, 0);
	assert_int_equal(r.n_heads, 0);
	client_free(&c);
	server_stop(&s);
	s.requests[s.requests_len] = '\0';
	assert_string_equal(s.requests,
	                    "CONNECT example.test:8443 HTTP/1.1\r\nHost: example.test:8443\r\n"
	                    "Proxy-Authorization: Basic dTpw\r\n\r\n"
	                    "CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n"
	                    "Proxy-Authorization: Basic dTpw\r\n\r\n"
	                    "CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n"
	                    "Proxy-Authorization: Basic dTpw\r\n\r\n");
	server_free(&s);
}

/* Aborting from inside on_body ends the exchange at once. */
static void on_body_abort(struct sk_http_exchange *ex, const char *p, size_t len, void *ud)
{
	on_body(ex, p, len, ud);
	sk_http_exchange_abort(ex, -ENOSPC);
}

static void test_http_client_abort_from_a_callback(void **state)
{
	(void)state;
	struct server s = { .responses = { "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234" } };
	server_start(&s, "RW");
	struct client c;
	client_new(&c, 0);
	struct sk_http_exchange_handler h = handler;
	h.on_body = on_body_abort;
	struct result r = { 0 };
	struct sk_url u;
	const char *url = url_of(&s, "/");
	assert_int_equal(sk_url_parse(url, strlen(url), &u), 0);
	struct sk_http_client_req req = { .method = "GET", .url = &u };
	assert_int_equal(sk_http_client_start(c.http, &req, &h, &r, &r.ex), 0);
	for (int i = 0; i < 1000 && !r.done; i++)
		sk_loop_run_once(c.loop, 50);
	assert_int_equal(r.err, -ENOSPC);
	assert_int_equal(r.body_len, 5);
	assert_int_equal(sk_http_client_n_conns(c.http), 0); /* its framing was lost */
	client_free(&c);
	server_stop(&s);
	server_free(&s);
}

static char gz_out[1 << 16];
static size_t gz_len;

static void on_gunzipped(const char *p, size_t len, void *ud)
{
	(void)ud;
	memcpy(gz_out + gz_len, p, len);
	gz_len += len;
}

static void test_http_gunzip_streams_and_checks(void **state)
{
	(void)state;
	char text[20000];
	for (size_t i = 0; i < sizeof text; i++)
		text[i] = (char)('a' + i % 26);
	/* gzip framing through deflateInit2 with 16 + MAX_WBITS. */
	unsigned char gz[sizeof text];
	z_stream z = { 0 };
	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (Bytef *)text;
	z.avail_in = sizeof text;
	z.next_out = gz;
	z.avail_out = sizeof gz;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	size_t gz_size = sizeof gz - z.avail_out;
	deflateEnd(&z);

	/* Byte by byte, then whole. */
	for (int pass = 0; pass < 2; pass++) {
		struct sk_http_gunzip *g;
		gz_len = 0;
		assert_int_equal(sk_http_gunzip_new(on_gunzipped, NULL, &g), 0);
		for (size_t i = 0; i < gz_size; i += pass ? gz_size : 1)
			assert_int_equal(sk_http_gunzip_feed(g, (char *)gz + i, pass ? gz_size : 1), 0);
		assert_int_equal(sk_http_gunzip_finish(g), 0);
		assert_int_equal(gz_len, sizeof text);
		assert_memory_equal(gz_out, text, sizeof text);
		/* Bytes after the end are an error. */
		assert_int_equal(sk_http_gunzip_feed(g, "x", 1), SK_EHTTP_BAD_ENCODING);
		sk_http_gunzip_free(g);
	}
	/* Cut short: not a success. */
	struct sk_http_gunzip *g;
	assert_int_equal(sk_http_gunzip_new(on_gunzipped, NULL, &g), 0);
	assert_int_equal(sk_http_gunzip_feed(g, (char *)gz, gz_size - 4), 0);
	assert_int_equal(sk_http_gunzip_finish(g), SK_EHTTP_BAD_ENCODING);
	sk_http_gunzip_free(g);
	/* Corrupt: an error. */
	gz[gz_size / 2] ^= 0xff;
	gz[gz_size / 2 + 1] ^= 0xff;
	assert_int_equal(sk_http_gunzip_new(on_gunzipped, NULL, &g), 0);
	int rc = sk_http_gunzip_feed(g, (char *)gz, gz_size);
	if (rc == 0)
		rc = sk_http_gunzip_finish(g);
	assert_int_equal(rc, SK_EHTTP_BAD_ENCODING);
	sk_http_gunzip_free(g);
	sk_http_gunzip_free(NULL);
}

static void test_http_basic_auth(void **state)
{
	(void)state;
	char buf[64];
	assert_int_equal(sk_http_basic_auth("Aladdin:open sesame", 19, buf, sizeof buf), 34);
	assert_string_equal(buf, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
	assert_int_equal(sk_http_basic_auth("a:", 2, buf, sizeof buf), 10);
	assert_string_equal(buf, "Basic YTo=");
	assert_int_equal(sk_http_basic_auth("a:b", 3, buf, 8), SK_ETOOLARGE);
}

static int group_setup(void **state)
{
	(void)state;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_client_get_and_keep_alive),
		cmocka_unit_test(test_http_client_framing_errors),
		cmocka_unit_test(test_http_client_head_has_no_body),
		cmocka_unit_test(test_http_client_retries_idempotent_once),
		cmocka_unit_test(test_http_client_bodies),
		cmocka_unit_test(test_http_client_connect_errors),
		cmocka_unit_test(test_http_client_abort_from_a_callback),
		cmocka_unit_test(test_http_client_https_to_a_plain_server),
		cmocka_unit_test(test_http_client_tunnel_through_a_proxy),
	};
	const struct CMUnitTest once[] = {
		cmocka_unit_test(test_http_gunzip_streams_and_checks),
		cmocka_unit_test(test_http_basic_auth),
	};
	int failed = cmocka_run_group_tests_name("epoll", tests, group_setup, NULL);
	/* SOCKIT_IO_URING=0 (make valgrind): valgrind cannot see the kernel
	 * write into the ring's buffers. */
	const char *env = getenv("SOCKIT_IO_URING");
	struct sk_loop *probe;
	assert_int_equal(sk_loop_new(&probe), 0);
	bool has = !(env && strcmp(env, "0") == 0) && sk_loop_use_io_uring(probe) == 0;
	sk_loop_free(probe);
	if (has) {
		use_io_uring = true;
		failed += cmocka_run_group_tests_name("io_uring", tests, group_setup, NULL);
	} else {
		printf("io_uring: not available here, skipped\n");
	}
	failed += cmocka_run_group_tests_name("gunzip and auth", once, NULL, NULL);
	return failed;
}
