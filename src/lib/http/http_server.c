/* The HTTP file server, wired together: the acceptor admits connections
 * (http_conn.c), whose requests go to the method table (http_methods.c)
 * and its handlers (http_get.c, http_upload.c, http_delete.c), which answer
 * through the response writer (http_response.c) and the file-system helpers
 * (http_fs.c, http_cache.c, http_store.c). Here: the options, the server's
 * start and stop, and what a refused connection is told. */
#include <sockit/accept.h>
#include <sockit/conn.h>
#include <sockit/err.h>
#include <sockit/http_server.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/http_internal.h"

void sk_http_server_opts_init(struct sk_http_server_opts *opts)
{
	memset(opts, 0, sizeof *opts);
	opts->root = ".";
	opts->max_body = 100u << 20;
	opts->header_timeout_ms = 10000;
	opts->idle_ms = 15000;
	opts->body_timeout_ms = 30000;
	opts->send_timeout_ms = 30000;
	opts->max_conns = 1024;
	opts->max_per_client = 256;
	opts->max_parts = 1000;
}

/* Over a limit: one write of a whole 503 (RFC 9110 §15.6.4) tells a
 * browser or a script to come back, where a bare close looks like a
 * crash. It costs no more than that write: no read, no state, and a
 * client that cannot take it at once gets the close alone. */
static void on_refused(void *ud, int cfd, const struct sk_addr *peer, enum sk_accept_refusal why)
{
	(void)peer;
	struct sk_http_server *s = ud;
	if (why == SK_ACCEPT_DENIED)
		return;
	s->n_refused++;
	/* Over TLS a plain-text 503 would be garbage to the client, and a
	 * handshake to say it would cost what the limit is there to save: the
	 * close alone. */
	if (s->conn_opts.tls)
		return;
	const char *body = why == SK_ACCEPT_MAX_PER_CLIENT
		? "too many connections from your address (--max-per-client)\n"
		: "the server is at its connection limit (--max-conns)\n";
	char text[256];
	int n = snprintf(text, sizeof text,
	                 "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\n"
	                 "Content-Type: text/plain\r\nContent-Length: %zu\r\n\r\n%s",
	                 strlen(body), body);
	(void)!send(cfd, text, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* A plain-text request on the HTTPS port: one write of a 400 that says
 * so, as nginx answers, so that curl or a browser shows why instead of an
 * empty reply, and an access-log line for it, as for any response. Only
 * when the first bytes look like a request line (a method is uppercase
 * letters then a space), so nothing is written after an alert to a client
 * that did try TLS. */
static void tell_plain_client(struct sk_http_server *s, int fd, const struct sk_tls_info *info)
{
	size_t i = 0;
	while (i < info->peer_start_len && info->peer_start[i] >= 'A' && info->peer_start[i] <= 'Z')
		i++;
	if (i == 0 || (i < info->peer_start_len && info->peer_start[i] != ' '))
		return;
	static const char body[] = "this server speaks HTTPS: ask for https:// URLs\n";
	char text[256];
	int n = snprintf(text, sizeof text,
	                 "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n"
	                 "Content-Type: text/plain\r\nContent-Length: %zu\r\n\r\n%s",
	                 sizeof body - 1, body);
	if (send(fd, text, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) != n)
		return; /* the client is gone: nothing was answered */
	char request_line[sizeof ((struct http_conn *)0)->request_line];
	sk__http_escape_request_line(info->peer_start, info->peer_start_len, request_line,
	                             sizeof request_line);
	sk__http_log_line(s, &info->peer_addr, request_line, 400, sizeof body - 1);
}

static void on_tls_handshake(struct sk_conn *c, int err, const struct sk_tls_info *info, void *ud)
{
	struct sk_http_server *s = ud;
	if (err == SK_ETLS_NOT_TLS)
		tell_plain_client(s, sk_conn_rfd(c), info);
	if (s->on_tls)
		s->on_tls(c, err, info, s->tls_ud);
}

static void on_accept_failed(void *ud, int err)
{
	struct sk_http_server *s = ud;
	if (!s->o.on_error)
		return;
	char line[256], reason[128];
	if (err)
		snprintf(line, sizeof line,
		         "accept: %s: new connections wait in the backlog until fds are free "
		         "(raise ulimit -n or lower --max-conns)", sk__http_reason(err, reason, sizeof reason));
	else
		snprintf(line, sizeof line, "accept: accepting connections again");
	s->o.on_error(s->o.ud, line);
}

/* What a connection (http_conn.c) calls above itself: the method table,
 * the response writer and the upload in progress. */
static const struct sk__http_hooks hooks = {
	.uses_body = sk__http_uses_body,
	.answer = sk__http_route,
	.error = sk__http_error,
	.upload_data = sk__http_upload_data,
	.upload_free = sk__http_upload_free,
};

int sk_http_server_new(struct sk_loop *loop, int listen_fd, const struct sk_http_server_opts *opts,
                       struct sk_http_server **out)
{
	int root_fd = open(opts->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0) {
		int err = -errno;
		close(listen_fd);
		return err;
	}
	struct sk_http_server *s = calloc(1, sizeof *s);
	if (!s) {
		close(root_fd);
		close(listen_fd);
		return SK_ENOMEM;
	}
	s->loop = loop;
	s->root_fd = root_fd;
	sk__http_cache_init(s);
	s->o = *opts;
	/* Every connection's stream: a response head with a small file and a
	 * file's piece may wait at once; never "full" (the server sends one
	 * response at a time and waits for it); with io_uring every send goes
	 * through the ring's next pass, one system call for all connections
	 * (bench/http.sh). The server keeps its own timers. */
	sk_conn_opts_init(&s->conn_opts);
	s->conn_opts.out_max = HTTP_OUT_MAX + SK_CONN_FILE_PIECE;
	s->conn_opts.high_water = s->conn_opts.out_max;
	s->conn_opts.low_water = 0;
	s->conn_opts.read_size = 16384;
	s->conn_opts.defer_sends = true;
	s->conn_opts.tracer = opts->tracer;
	if (opts->tls) {
		s->tls = *opts->tls;
		s->on_tls = s->tls.on_handshake;
		s->tls_ud = s->tls.ud;
		s->tls.on_handshake = on_tls_handshake;
		s->tls.ud = s;
		s->conn_opts.tls = &s->tls;
	}
	s->hooks = &hooks;
	sk__http_allow(opts, s->allow, sizeof s->allow);
	if (opts->upload)
		sk__http_remove_leftovers(s);
	struct sk_acceptor_opts ao;
	sk_acceptor_opts_init(&ao);
	ao.max_conns = opts->max_conns;
	ao.max_per_client = opts->max_per_client;
	ao.on_accept = sk__http_conn_accept;
	ao.on_refused = on_refused;
	ao.reset_refused = false; /* the 503 must arrive: closed after it is sent */
	ao.on_failed = on_accept_failed;
	ao.ud = s;
	ao.tracer = opts->tracer;
	int err = sk_acceptor_new(loop, listen_fd, &ao, &s->acceptor);
	if (err < 0) {
		close(root_fd);
		free(s);
		return err;
	}
	*out = s;
	return 0;
}

void sk_http_server_stop(struct sk_http_server *s)
{
	if (s->stopping)
		return;
	s->stopping = true;
	sk_acceptor_close(s->acceptor);
	struct http_conn *next;
	for (struct http_conn *c = s->conns; c; c = next) {
		next = c->next;
		if (c->state == READ_HEAD && c->in_len == 0)
			sk__http_conn_close(c); /* idle: nothing in flight */
		else
			c->close_after = true;
	}
}

size_t sk_http_server_n_conns(const struct sk_http_server *s)
{
	return s->n_conns;
}

void sk_http_server_free(struct sk_http_server *s)
{
	if (!s)
		return;
	while (s->conns)
		sk__http_conn_close(s->conns);
	/* Disk work still running for closed connections ends here, so that
	 * what it holds (an upload, a listing, the connection) is freed. */
	sk_loop_work_drain(s->loop);
	sk_acceptor_free(s->acceptor);
	close(s->root_fd);
	sk__http_cache_clear(s);
	free(s);
}
