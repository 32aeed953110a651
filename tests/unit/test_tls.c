/* Unit tests for the TLS transport (conn_tls.c) and its configuration
 * (tls_config.c, tls_verify.c, tls_cert.c), through include/sockit/tls.h and
 * conn.h: a client conn and a server conn over a socketpair in one loop, or
 * one of them against a raw socket the test plays. The server presents a
 * self-signed certificate made by the library; the client pins it. Runs on
 * epoll, then on io_uring (main). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <sockit/conn.h>
#include <sockit/err.h>
#include <sockit/loop.h>
#include <sockit/tls.h>

static bool use_io_uring;

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

#define RUN_UNTIL(loop, cond, max_ms)                                          \
	do {                                                                   \
		uint64_t end_ = now_ms() + (max_ms);                           \
		while (!(cond) && now_ms() < end_)                             \
			assert_true(sk_loop_run_once((loop), 10) >= 0);        \
	} while (0)

static void run_for(struct sk_loop *loop, int ms)
{
	uint64_t end = now_ms() + (uint64_t)ms;
	for (uint64_t t = now_ms(); t < end; t = now_ms())
		assert_true(sk_loop_run_once(loop, (int)(end - t)) >= 0);
}

static char pat(size_t i)
{
	return (char)(i * 7 % 251);
}

static void fill(char *p, size_t len, size_t offset)
{
	for (size_t i = 0; i < len; i++)
		p[i] = pat(offset + i);
}

#define IN_MAX (8u << 20)

/* One side: what its handler saw, and what it was told to do. */
struct side {
	struct sk_conn *c;          /* NULL once closed */
	char *in;
	size_t in_len;
	size_t max_piece;
	int n_eof, n_close, n_hs, n_drain;
	int close_err, hs_err;
	bool truncated_at_eof;
	bool echo;
	bool close_in_handshake;
	bool pause_in_data;         /* pause after each piece */
	bool reply_at_eof;          /* send "bye" and close after flush at EOF */
	struct sk_tls_info info;    /* from on_handshake */
	struct sk_tls_conn_opts tls;
};

static void h_data(struct sk_conn *c, const char *p, size_t len, void *ud)
{
	struct side *s = ud;
	if (s->in_len + len > IN_MAX)
		fail_msg("more than %u bytes received", IN_MAX);
	memcpy(s->in + s->in_len, p, len);
	s->in_len += len;
	if (len > s->max_piece)
		s->max_piece = len;
	if (s->echo)
		assert_int_equal(sk_conn_send(c, p, len), 0);
	if (s->pause_in_data)
		sk_conn_pause(c);
}

static void h_eof(struct sk_conn *c, void *ud)
{
	struct side *s = ud;
	s->n_eof++;
	struct sk_tls_info info;
	assert_int_equal(sk_conn_tls_info(c, &info), 0);
	s->truncated_at_eof = info.truncated;
	if (s->reply_at_eof) {
		assert_int_equal(sk_conn_send(c, "bye", 3), 0);
		sk_conn_close_after_flush(c);
	}
}

static void h_drain(struct sk_conn *c, void *ud)
{
	(void)c;
	struct side *s = ud;
	s->n_drain++;
}

static void h_close(struct sk_conn *c, int err, void *ud)
{
	(void)c;
	struct side *s = ud;
	s->n_close++;
	s->close_err = err;
	s->c = NULL;
}

static const struct sk_conn_handler handler = {
	.on_data = h_data, .on_eof = h_eof, .on_drain = h_drain, .on_close = h_close,
};

static void on_hs(struct sk_conn *c, int err, const struct sk_tls_info *info, void *ud)
{
	struct side *s = ud;
	s->n_hs++;
	s->hs_err = err;
	s->info = *info;
	if (err == 0) {
		struct sk_tls_info now;
		assert_int_equal(sk_conn_tls_info(c, &now), 0);
		assert_string_equal(now.version, info->version);
	}
	if (s->close_in_handshake)
		sk_conn_close(c, -ECANCELED);
}

static struct side *side_new(const struct sk_tls_config *cfg, const char *name)
{
	struct side *s = calloc(1, sizeof *s);
	assert_non_null(s);
	s->in = malloc(IN_MAX);
	assert_non_null(s->in);
	sk_tls_conn_opts_init(&s->tls, cfg);
	s->tls.server_name = name;
	s->tls.on_handshake = on_hs;
	s->tls.ud = s;
	return s;
}

static void side_free(struct side *s)
{
	if (s->c)
		sk_conn_close(s->c, 0);
	free(s->in);
	free(s);
}

/* The server's config (a fresh self-signed certificate), and a client's
 * that pins it. */
struct fixture {
	struct sk_loop *loop;
	struct sk_tls_config *server, *client;
	struct sk_tls_cert_info cert;
};

static struct fixture *fixture_new(void)
{
	struct fixture *f = calloc(1, sizeof *f);
	assert_non_null(f);
	assert_int_equal(sk_loop_new(&f->loop), 0);
	if (use_io_uring)
		assert_int_equal(sk_loop_use_io_uring(f->loop), 0);
	assert_int_equal(sk_tls_config_new(SK_TLS_SERVER, &f->server), 0);
	assert_int_equal(sk_tls_config_self_signed(f->server, "test.example"), 0);
	assert_int_equal(sk_tls_config_cert_info(f->server, &f->cert), 0);
	assert_int_equal(sk_tls_config_new(SK_TLS_CLIENT, &f->client), 0);
	assert_int_equal(sk_tls_config_add_pin(f->client, f->cert.pin), 0);
	return f;
}

static void fixture_free(struct fixture *f)
{
	run_for(f->loop, 10); /* io_uring: the kernel lets go of closed sockets */
	sk_loop_free(f->loop);
	sk_tls_config_free(f->server);
	sk_tls_config_free(f->client);
	free(f);
}

static void pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

static struct sk_conn *conn_on(struct fixture *f, int fd, struct side *s,
                               const struct sk_conn_opts *opts)
{
	struct sk_conn_opts o;
	if (opts)
		o = *opts;
	else
		sk_conn_opts_init(&o);
	o.tls = &s->tls;
	int err = sk_conn_new(f->loop, fd, fd, &o, &handler, s, &s->c);
	if (err)
		fail_msg("sk_conn_new: %s", sk_errname(err));
	return s->c;
}

/* A client and a server over a socketpair. */
static void connect_pair(struct fixture *f, struct side *cli, struct side *srv)
{
	int sv[2];
	pair(sv);
	conn_on(f, sv[1], srv, NULL);
	conn_on(f, sv[0], cli, NULL);
}

/* --- the handshake ------------------------------------------------------- */

static void test_tls_handshake_reports_both_sides(void **state)
{
	(void)state;
	struct fixture *f = fixture_new();
	struct side *cli = side_new(f->client, "test.example"), *srv = side_new(f->server, NULL);
	connect_pair(f, cli, srv);
	assert_string_equal(sk_conn_transport_name(cli->c), "tls");
	struct sk_tls_info info;
	assert_int_equal(sk_conn_tls_info(cli->c, &info), SK_EINPROGRESS);
	RUN_UNTIL(f->loop, cli->n_hs && srv->n_hs, 2000);
	assert_int_equal(cli->hs_err, 0);
	assert_int_equal(srv->hs_err, 0);
	assert_string_equal(cli->info.version, "TLSv1.3");
	assert_string_equal(srv->info.cipher, cli->info.cipher);
	assert_int_equal(cli->info.trust, SK_TLS_TRUST_PIN);
	assert_int_equal(srv->info.trust, SK_TLS_TRUST_NONE);
	assert_false(cli->info.resumed);
	assert_true(cli->info.has_peer_cert);
	assert_false(srv->info.has_peer_cert);
	assert_string_equal(cli->info.peer.pin, f->cert.pin);
	assert_string_equal(cli->info.peer.sha256, f->cert.sha256);
	assert_string_equal(cli->info.peer.subject, "CN = test.example");
	assert_string_equal(cli->info.peer.names,
	                    "DNS:test.example, DNS:localhost, IP:127.0.0.1, IP:::1");
	assert_true(cli->info.peer.self_signed);
	/* SNI went to the server. */
	assert_string_equal(srv->info.server_name, "test.example");
	assert_int_equal(strlen(f->cert.sha256), 95);
	side_free(cli);
	side_free(srv);
	fixture_free(f);
}

static void test_tls_bulk_echo_both_ways(void **state)
{
	(void)state;
	struct fixture *f = fixture_new();
	struct side *cli = side_new(f->client, NULL), *srv = side_new(f->server, NULL);
	srv->echo = true;
	connect_pair(f, cli, srv);
	/* Sent before the handshake ends: queued, then encrypted. */
	size_t total = 3u << 20, sent = 0;
	char *buf = malloc(total);
	assert_non_null(buf);
	fill(buf, total, 0);
	while (sent < total) {
		size_t n = total - sent < 100000 ? total - sent : 100000;
		if (sk_conn_is_full(cli->c)) {
			assert_true(sk_loop_run_once(f->loop, 10) >= 0);
			continue;
		}
		assert_int_equal(sk_conn_send(cli->c, buf + sent, n), 0);
		sent += n;
	}
	RUN_UNTIL(f->loop, cli->in_len == total, 10000);
	assert_int_equal(cli->in_len, total);
	assert_memory_equal(cli->in, buf, total);
	assert_true(cli->max_piece <= 64 * 1024);
	assert_int_equal(sk_conn_bytes_written(cli->c), total);
	free(buf);
	side_free(cli);
	side_free(srv);
	fixture_free(f);
}

/* A service that paused before the handshake's end must not stall it: the
 * socket is read until the handshake is done, no application byte is
 * delivered while paused, and all of them come after the resume. */
static void test_tls_paused_service_still_completes_the_handshake(void **state)
{
	(void)state;
	struct fixture *f = fixture_new();
	struct side *cli = side_new(f->client, NULL), *srv = side_new(f->server, NULL);
	connect_pair(f, cli, srv);
	sk_conn_pause(srv->c);
	sk_conn_pause(cli->c);
	assert_int_equal(sk_conn_send(cli->c, "early", 5), 0);
	RUN_UNTIL(f->loop, cli->n_hs && srv->n_hs, 2000);
	assert_int_equal(srv->hs_err, 0);
	run_for(f->loop, 50);
	assert_int_equal(srv->in_len, 0);
	sk_conn_resume(srv->c);
	RUN_UNTIL(f->loop, srv->in_len == 5, 2000);
	assert_memory_equal(srv->in, "early", 5);
	side_free(cli);
	side_free(srv);
	fixture_free(f);
}

/* A reader that pauses after every piece: each resume brings the rest,
 * from OpenSSL's buffer or the loop's, in order. */
static void test_tls_pause_and_resume_keep_order(void **state)
{
	(void)state;
	struct fixture *f = fixture_new();
	struct side *cli = side_new(f->client, NULL), *srv = side_new(f->server, NULL);
	srv->pause_in_data = true;
	struct sk_conn_opts o;
	sk_conn_opts_init(&o);
	o.read_size = 1000; /* pieces smaller than a record */
	int sv[2];
	pair(sv);
	conn_on(f, sv[1], srv, &o);
	conn_on(f, sv[0], cli, NULL);
	size_t total = 200000;
	char *buf = malloc(total);
	assert_non_null(buf);
	fill(buf, total, 0);
	assert_int_equal(sk_conn_send(cli->c, buf, total), 0);
	uint64_t end = now_ms() + 10000;
	while (srv->in_len < total && now_ms() < end) {
		assert_true(sk_loop_run_once(f->loop, 10) >= 0);
		sk_conn_resume(srv->c);
	}
	assert_int_equal(srv->in_len, total);
	assert_memory_equal(srv->in, buf, total);
	assert_true(srv->max_piece <= 1000);
	free(buf);
	side_free(cli);
	side_free(srv);
	fixture_free(f);
}

/* A peer that stops reading: the sender's queue fills (is_full), then
 * drains once the peer reads again; nothing is lost. */
static void test_tls_backpressure(void **state)
{
	(void)state;
	struct fixture *f = fixture_new();
	struct side *cli = side_new(f->client, NULL), *srv = side_new(f->server, NULL);
	connect_pair(f, cli, srv);
	RUN_UNTIL(f->loop, cli->n_hs && srv->n_hs, 2000);
	sk_conn_pause(cli->c);
	char chunk[65536];
	size_t sent = 0;
	while (!sk_conn_is_full(srv->c) && sent < (64u << 20)) {
		fill(chunk, sizeof chunk, sent);
		assert_int_equal(sk_conn_send(srv->c, chunk, sizeof chunk), 0);
		sent += sizeof chunk;
		run_for(f->loop, 1);
	}
	assert_true(sk_conn_is_full(srv->c));
	sk_conn_resume(cli->c);
	RUN_UNTIL(f->loop, cli->in_len == sent, 10000);
	assert_int_equal(cli->in_len, sent);
	for (size_t i = 0; i < sent; i++)
		if (cli->in[i] != pat(i))
			fail_msg("byte %zu differs", i);
	assert_true(srv->n_drain > 0);
	side_free(cli);
	side_free(srv);
	fixture_free(f);
}

/* --- the end of a conn ---------------------------------------------------- */

/* shutdown sends close_notify: the peer sees a clean EOF, answers, and its
 * close after flush ends the other way cleanly too. */
static void test_tls_close_notify_both_ways(void **state)
{
	(void)state;
	struct fixture *f = fixture_new();
	struct side *cli = side_new(f->client, NULL), *srv = side_new(f->server, NULL);
	srv->reply_at_eof = true;
	connect_pair(f, cli, srv);
	assert_int_equal(sk_conn_send(cli->c, "hi", 2), 0);
	sk_conn_shutdown(cli->c); /* before the handshake ended: sent after it */
	RUN_UNTIL(f->loop, srv->n_close && cli->n_eof, 2000);
	assert_int_equal(srv->in_len, 2);
	assert_int_equal(srv->n_eof, 1);
	assert_false(srv->truncated_at_eof);
	assert_int_equal(srv->close_err, 0);
	assert_int_equal(cli->in_len, 3);
	assert_memory_equal(cli->in, "bye", 3);
	assert_false(cli->truncated_at_eof);
	assert_true(sk_conn_write_closed(cli->c));
	side_free(cli);
	side_free(srv);
	fixture_free(f);
}

/* The TCP stream ends without close_notify: an EOF still, marked
 * truncated. */
static void test_tls_eof_without_close_notify_is_truncated(void **state)
{
	(void)state;
	struct fixture *f = fixture_new();
	struct side *cli = side_new(f->client, NULL), *srv = side_new(f->server, NULL);
	connect_pair(f, cli, srv);
	assert_int_equal(sk_conn_send(cli->c, "data", 4), 0);
	RUN_UNTIL(f->loop, srv->in_len == 4, 2000);
	shutdown(sk_conn_rfd(cli->c), SHUT_WR);
	RUN_UNTIL(f->loop, srv->n_eof, 2000);
	assert_int_equal(srv->n_eof, 1);
	assert_true(srv->truncated_at_eof);
	side_free(cli);
	side_free(srv);
	fixture_free(f);
}

static void test_tls_close_in_on_handshake(void **state)
{
	(void)state;
	struct fixture *f = fixture_new();
	struct side *cli = side_new(f->client, NULL), *srv = side_new(f->server, NULL);
	cli->close_in_handshake = true;
	connect_pair(f, cli, srv);
	RUN_UNTIL(f->loop, cli->n_close && srv->n_close, 2000);
	assert_int_equal(cli->close_err, -ECANCELED);
	assert_int_equal(cli->n_hs, 1);
	side_free(cli);
	side_free(srv);
	fixture_free(f);
}

/* --- refusals ------------------------------------------------------------- */

static void test_tls_pin_mismatch_refuses(void **state)
{
	(void)state;
	struct fixture *f = fixture_new();
	struct sk_tls_config *other;
	assert_int_equal(sk_tls_config_new(SK_TLS_CLIENT, &other), 0);
	const char *wrong = "sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
	assert_int_equal(sk_tls_config_add_pin(other, wrong), 0);
	struct side *cli = side_new(other, NULL), *srv = side_new(f->server, NULL);
	connect_pair(f, cli, srv);
	RUN_UNTIL(f->loop, cli->n_close && srv->n_close, 2000);
	assert_int_equal(cli->hs_err, SK_ETLS_CERT_PIN);
	assert_int_equal(cli->close_err, SK_ETLS_CERT_PIN);
	assert_true(cli->info.has_failed_cert);
	assert_int_equal(cli->info.failed_depth, 0);
	assert_string_equal(cli->info.failed.pin, f->cert.pin);
	/* The server hears why: our alert. */
	assert_int_equal(srv->close_err, SK_ETLS_ALERT);
	assert_string_equal(srv->info.detail, "bad certificate");
	side_free(cli);
	side_free(srv);
	fixture_free(f);
	sk_tls_config_free(other);
}

/* Default verification: a self-signed certificate is no CA's. */
static void test_tls_default_verification_refuses_self_signed(void **state)
{
	(void)state;
	struct fixture *f = fixture_new();
	struct sk_tls_config *strict;
	assert_int_equal(sk_tls_config_new(SK_TLS_CLIENT, &strict), 0);
	struct side *cli = side_new(strict, "test.example"), *srv = side_new(f->server, NULL);
	connect_pair(f, cli, srv);
	RUN_UNTIL(f->loop, cli->n_close, 2000);
	assert_int_equal(cli->close_err, SK_ETLS_CERT_SELF_SIGNED);
	assert_string_equal(cli->info.failed.subject, "CN = test.example");
	side_free(cli);
	side_free(srv);
	fixture_free(f);
	sk_tls_config_free(strict);
}

static void test_tls_insecure_accepts_anything(void **state)
{
	(void)state;
	struct fixture *f = fixture_new();
	struct sk_tls_config *lax;
	assert_int_equal(sk_tls_config_new(SK_TLS_CLIENT, &lax), 0);
	sk_tls_config_set_insecure(lax);
	struct side *cli = side_new(lax, "wrong.name"), *srv = side_new(f->server, NULL);
	connect_pair(f, cli, srv);
	RUN_UNTIL(f->loop, cli->n_hs, 2000);
	assert_int_equal(cli->hs_err, 0);
	assert_int_equal(cli->info.trust, SK_TLS_TRUST_NONE);
	assert_string_equal(cli->info.peer.pin, f->cert.pin);
	side_free(cli);
	side_free(srv);
	fixture_free(f);
	sk_tls_config_free(lax);
}

/* A peer that connects and says nothing costs a conn only until the
 * handshake timeout. */
static void test_tls_handshake_timeout(void **state)
{
	(void)state;
	struct fixture *f = fixture_new();
	sk_tls_config_set_handshake_timeout(f->server, 100);
	struct side *srv = side_new(f->server, NULL);
	int sv[2];
	pair(sv);
	conn_on(f, sv[1], srv, NULL);
	uint64_t start = now_ms();
	RUN_UNTIL(f->loop, srv->n_close, 2000);
	assert_int_equal(srv->close_err, SK_ETLS_TIMEOUT);
	assert_int_equal(srv->hs_err, SK_ETLS_TIMEOUT);
	assert_string_equal(srv->info.detail, "no handshake within 100 ms");
	assert_true(now_ms() - start < 1000);
	close(sv[0]);
	side_free(srv);
	fixture_free(f);
}

static void test_tls_plain_peer_is_not_tls(void **state)
{
	(void)state;
	struct fixture *f = fixture_new();
	struct side *cli = side_new(f->client, NULL);
	int sv[2];
	pair(sv);
	conn_on(f, sv[0], cli, NULL);
	const char *reply = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
	assert_true(write(sv[1], reply, strlen(reply)) > 0);
	RUN_UNTIL(f->loop, cli->n_close, 2000);
	assert_int_equal(cli->close_err, SK_ETLS_NOT_TLS);
	close(sv[1]);
	side_free(cli);
	fixture_free(f);
}

static void test_tls_peer_closing_mid_handshake(void **state)
{
	(void)state;
	struct fixture *f = fixture_new();
	struct side *cli = side_new(f->client, NULL);
	int sv[2];
	pair(sv);
	conn_on(f, sv[0], cli, NULL);
	close(sv[1]);
	RUN_UNTIL(f->loop, cli->n_close, 2000);
	assert_true(cli->close_err == SK_ETLS_HANDSHAKE || cli->close_err == -ECONNRESET ||
	            cli->close_err == -EPIPE);
	if (cli->close_err == SK_ETLS_HANDSHAKE)
		assert_string_equal(cli->info.detail,
		                    "the peer closed the connection during the handshake");
	side_free(cli);
	fixture_free(f);
}

/* --- sessions and ALPN ---------------------------------------------------- */

static void test_tls_second_connection_resumes(void **state)
{
	(void)state;
	struct fixture *f = fixture_new();
	for (int round = 0; round < 2; round++) {
		struct side *cli = side_new(f->client, "test.example"), *srv = side_new(f->server, NULL);
		srv->echo = true;
		connect_pair(f, cli, srv);
		/* TLS 1.3 tickets follow the handshake: one round trip gets them. */
		assert_int_equal(sk_conn_send(cli->c, "ping", 4), 0);
		RUN_UNTIL(f->loop, cli->in_len == 4, 2000);
		assert_int_equal(cli->hs_err, 0);
		assert_int_equal(cli->info.resumed, round == 1);
		assert_int_equal(srv->info.resumed, round == 1);
		side_free(cli);
		side_free(srv);
	}
	fixture_free(f);
}

static void test_tls_alpn(void **state)
{
	(void)state;
	struct fixture *f = fixture_new();
	assert_int_equal(sk_tls_config_set_alpn(f->client, "h2,http/1.1"), 0);
	assert_int_equal(sk_tls_config_set_alpn(f->server, "http/1.1,h2"), 0);
	struct side *cli = side_new(f->client, NULL), *srv = side_new(f->server, NULL);
	connect_pair(f, cli, srv);
	RUN_UNTIL(f->loop, cli->n_hs && srv->n_hs, 2000);
	assert_string_equal(cli->info.alpn, "http/1.1"); /* the server's preference */
	assert_string_equal(srv->info.alpn, "http/1.1");
	side_free(cli);
	side_free(srv);

	/* No protocol in common: the server refuses (RFC 7301 §3.2). */
	assert_int_equal(sk_tls_config_set_alpn(f->server, "imap"), 0);
	cli = side_new(f->client, NULL);
	srv = side_new(f->server, NULL);
	connect_pair(f, cli, srv);
	RUN_UNTIL(f->loop, cli->n_close && srv->n_close, 2000);
	assert_int_equal(cli->close_err, SK_ETLS_ALERT);
	assert_string_equal(cli->info.detail, "no application protocol");
	side_free(cli);
	side_free(srv);
	fixture_free(f);
}

/* --- configuration -------------------------------------------------------- */

static void test_tls_config_errors(void **state)
{
	(void)state;
	struct sk_tls_config *cfg;
	assert_int_equal(sk_tls_config_new(SK_TLS_SERVER, &cfg), 0);
	const char *bad = NULL;
	assert_int_equal(sk_tls_config_load_cert(cfg, "/nonexistent/cert.pem", NULL, &bad), -ENOENT);
	assert_string_equal(bad, "/nonexistent/cert.pem");
	assert_int_equal(sk_tls_config_load_cert(cfg, "/etc/hostname", NULL, &bad), SK_ETLS_CERT_FILE);
	assert_int_equal(sk_tls_config_add_pin(cfg, "sha1:abc"), SK_ETLS_PIN_SYNTAX);
	assert_int_equal(sk_tls_config_add_pin(cfg, "sha256:short="), SK_ETLS_PIN_SYNTAX);
	assert_int_equal(sk_tls_config_set_alpn(cfg, "h2,,x"), SK_ETLS_ALPN_SYNTAX);
	assert_int_equal(sk_tls_config_set_alpn(cfg, ""), SK_ETLS_ALPN_SYNTAX);
	assert_int_equal(sk_tls_config_set_min_version(cfg, 0x0302), SK_EINVAL);
	assert_int_equal(sk_tls_config_trust(cfg, "/nonexistent/ca.pem", NULL), -ENOENT);
	struct sk_tls_cert_info ci;
	assert_int_equal(sk_tls_config_cert_info(cfg, &ci), SK_EINVAL);
	sk_tls_config_free(cfg);
	sk_tls_config_free(NULL);
}

static void test_tls_over_a_pipe_is_refused(void **state)
{
	(void)state;
	struct fixture *f = fixture_new();
	struct side *s = side_new(f->client, NULL);
	int p[2];
	assert_int_equal(pipe(p), 0);
	struct sk_conn_opts o;
	sk_conn_opts_init(&o);
	o.tls = &s->tls;
	struct sk_conn *c = NULL;
	assert_int_equal(sk_conn_new(f->loop, p[0], p[1], &o, &handler, s, &c), SK_EINVAL);
	assert_null(c);
	assert_true(fcntl(p[0], F_GETFD) < 0); /* closed, as promised */
	side_free(s);
	fixture_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tls_handshake_reports_both_sides),
		cmocka_unit_test(test_tls_bulk_echo_both_ways),
		cmocka_unit_test(test_tls_paused_service_still_completes_the_handshake),
		cmocka_unit_test(test_tls_pause_and_resume_keep_order),
		cmocka_unit_test(test_tls_backpressure),
		cmocka_unit_test(test_tls_close_notify_both_ways),
		cmocka_unit_test(test_tls_eof_without_close_notify_is_truncated),
		cmocka_unit_test(test_tls_close_in_on_handshake),
		cmocka_unit_test(test_tls_pin_mismatch_refuses),
		cmocka_unit_test(test_tls_default_verification_refuses_self_signed),
		cmocka_unit_test(test_tls_insecure_accepts_anything),
		cmocka_unit_test(test_tls_handshake_timeout),
		cmocka_unit_test(test_tls_plain_peer_is_not_tls),
		cmocka_unit_test(test_tls_peer_closing_mid_handshake),
		cmocka_unit_test(test_tls_second_connection_resumes),
		cmocka_unit_test(test_tls_alpn),
		cmocka_unit_test(test_tls_config_errors),
		cmocka_unit_test(test_tls_over_a_pipe_is_refused),
	};
	alarm(120);
	int failed = cmocka_run_group_tests_name("tls/epoll", tests, NULL, NULL);
	const char *env = getenv("SOCKIT_IO_URING");
	struct sk_loop *probe;
	if ((env && strcmp(env, "0") == 0) || sk_loop_new(&probe) < 0)
		return failed;
	bool has = sk_loop_use_io_uring(probe) == 0;
	sk_loop_free(probe);
	if (!has) {
		print_message("note: io_uring unavailable: tls/io_uring not run\n");
		return failed;
	}
	use_io_uring = true;
	return failed + cmocka_run_group_tests_name("tls/io_uring", tests, NULL, NULL);
}
