/* The TLS transport of sk_conn: OpenSSL over one connected stream socket,
 * moved by the same completion I/O as the socket transport (conn_sock.c):
 * ciphertext arrives in the loop's buffers (io_uring's, or epoll's scratch)
 * and leaves with sk_loop_send_buf, so TLS runs on io_uring and epoll alike.
 *
 * OpenSSL never touches the socket. Its BIO reads the view the loop
 * delivered (no copy into a buffer of ours) and appends what it writes to
 * `cout`, whose storage then goes to the loop with the send. "Wants read"
 * and "wants write" stay in here:
 *
 *   - the socket is read while the handshake runs, whatever the service
 *     asked: a paused service must not stall a handshake (or a flush
 *     waiting for one). Application data is decrypted only while the
 *     service reads; what it has not taken stays ciphertext in the loop
 *     (the rest of a view, handed back) or plaintext in OpenSSL (the rest
 *     of a record), and is offered again on resume;
 *   - sends before the handshake's end wait in the conn's queue (flush
 *     answers "under way"), and go when it ends;
 *   - records OpenSSL writes on its own (handshake, tickets, key updates,
 *     alerts) go out through the same one-send-at-a-time path.
 *
 * Copies per byte sent: the encryption (queue → OpenSSL's record), one into
 * cout, one into the kernel. Received: the kernel's into the loop's buffer,
 * into OpenSSL's record buffer, decrypted into a stack buffer handed to
 * on_data in pieces of up to read_size. */
#include <sockit/err.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "stream/stream_internal.h"
#include "tls/tls_internal.h"

/* Plaintext encrypted per flush: 16 records; bounds the ciphertext one conn
 * holds beside its queue, and is large enough that a bulk transfer makes
 * few sends (bench/tls.sh). */
#define FLUSH_MAX (256 * 1024)

/* Plaintext decrypted before on_data runs: several records in one piece,
 * so a relay writes 64 KiB at a time downstream rather than one 16 KiB
 * record. Capped by read_size. */
#define READ_MAX (64 * 1024)

/* A record's ciphertext beyond its plaintext: 5 bytes of header, a 16-byte
 * AEAD tag, TLS 1.3's content type byte, TLS 1.2's 8-byte explicit nonce;
 * rounded up. */
#define RECORD_MAX 16384
#define RECORD_OVERHEAD 64

/* Ceiling for ciphertext waiting behind a send under way: one flush and
 * what OpenSSL writes meanwhile (key update answers, tickets). A peer that
 * floods key update requests without reading fails its conn here instead of
 * growing it. */
#define COUT_MAX (FLUSH_MAX + FLUSH_MAX / 8 + 64 * 1024)

struct sk__tls {
	struct sk__tls_report rep;  /* what OpenSSL's callbacks learn (SSL app data) */
	SSL *ssl;
	sk_tls_handshake_fn *on_handshake;
	void *hs_ud;
	struct sk_addr peer_addr;   /* for on_handshake (sk_tls_info.peer_addr) */
	char peer_start[SK_TLS_PEER_START]; /* ... and its first bytes (sk_tls_info.peer_start) */
	size_t peer_start_len;
	/* ciphertext in (the loop's bytes during on_recv) and out (written by
	 * OpenSSL, not yet the loop's), through the BIO (tls/tls_bio.c) */
	struct sk__tls_io io;
	size_t cout_plain;          /* plaintext bytes whose records are in cout */
	size_t send_plain;          /* ... in the send under way */
	bool sending;               /* a loop send is under way (one per fd) */
	bool core_waits;            /* flush said "under way": sk__conn_wrote is owed */
	bool hs_done;               /* the handshake succeeded */
	bool data_seen;             /* application data came after it */
	bool failed;                /* a fatal error: the conn is closing */
	bool read_done;             /* the end of the peer's data was passed up */
	bool truncated;             /* ... without close_notify */
	bool want_shutdown;         /* shutdown_write came before the handshake's end */
	bool notify_sent;           /* close_notify is written */
	bool fin_owed;              /* shutdown(SHUT_WR) once cout is out */
	struct sk_timer hs_timer;   /* the handshake timeout */
	struct sk_timer pump_timer; /* what OpenSSL holds, for a service that resumed */
};

/* --- sending --- */

static void on_sent(struct sk_loop *loop, int fd, long n, void *ud);

/* Room for n more bytes in b at once: a flush's records are appended
 * without the doublings (and copies) of a buffer grown from 4 KiB, whose
 * storage leaves with every send. */
static int reserve(struct sk_buf *b, size_t n)
{
	if (n > b->max - b->len)
		return SK_ETOOLARGE;
	if (n <= b->cap - b->start - b->len)
		return 0;
	char *data = malloc(b->len + n);
	if (!data)
		return SK_ENOMEM;
	if (b->len)
		memcpy(data, b->data + b->start, b->len);
	free(b->data);
	b->data = data;
	b->cap = b->len + n;
	b->start = 0;
	return 0;
}

/* The FIN after close_notify, once both are out. */
static void send_fin_if_owed(struct sk_conn *c)
{
	struct sk__tls *t = c->tls;
	if (!t->fin_owed || t->sending || t->io.cout.len)
		return;
	t->fin_owed = false;
	shutdown(c->wfd, SHUT_WR);
	sk_trace(c->opts.tracer, "shutdown(%d, SHUT_WR)", c->wfd);
}

/* Hands cout to the loop unless a send is under way. Returns 0 or the
 * send's error. */
static int send_out(struct sk_conn *c)
{
	struct sk__tls *t = c->tls;
	if (t->sending || !t->io.cout.len) {
		send_fin_if_owed(c);
		return 0;
	}
	long n = sk_loop_send_buf(c->loop, c->wfd, &t->io.cout, 0, on_sent, c);
	if (n == SK_EINPROGRESS) {
		t->sending = true;
		t->send_plain = t->cout_plain;
		t->cout_plain = 0;
		return 0;
	}
	if (n < 0)
		return (int)n;
	sk_trace(c->opts.tracer, "send(%d, %ld)", c->wfd, n);
	c->n_written += t->cout_plain;
	t->cout_plain = 0;
	send_fin_if_owed(c);
	return 0;
}

/* Writes cout now if the socket takes it, when no send is under way: for
 * the last records of a conn (an alert, close_notify) that a close right
 * after must not cancel in the ring. */
static void send_now(struct sk_conn *c)
{
	struct sk__tls *t = c->tls;
	while (!t->sending && t->io.cout.len && c->wfd >= 0) {
		ssize_t n = send(c->wfd, sk_buf_head(&t->io.cout), t->io.cout.len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		sk_trace(c->opts.tracer, "send(%d, %zd)", c->wfd, n);
		sk_buf_consume(&t->io.cout, (size_t)n);
	}
	if (!t->io.cout.len) {
		c->n_written += t->cout_plain;
		t->cout_plain = 0;
	}
}

/* --- the end of a conn --- */

static void report_handshake(struct sk_conn *c, int err, const char *detail)
{
	struct sk__tls *t = c->tls;
	if (!t->on_handshake)
		return;
	struct sk_tls_info info;
	sk__tls_fill_info(t->ssl, &t->rep, &info);
	info.peer_addr = t->peer_addr;
	memcpy(info.peer_start, t->peer_start, t->peer_start_len);
	info.peer_start_len = t->peer_start_len;
	snprintf(info.detail, sizeof info.detail, "%s", detail);
	t->on_handshake(c, err, &info, t->hs_ud);
}

/* Ends the conn for err, from a loop callback: the handshake's owner hears
 * why first, the alert OpenSSL wrote goes out if it can. */
static void fail(struct sk_conn *c, int err, const char *detail)
{
	struct sk__tls *t = c->tls;
	if (t->failed)
		return;
	t->failed = true;
	sk_loop_timer_stop(c->loop, &t->hs_timer);
	send_now(c);
	/* A TLS 1.3 server's verdict on our certificate comes after our side
	 * of the handshake ended, as an alert instead of its first record: the
	 * handshake's owner hears of it as a second, failed, outcome. */
	if (!t->hs_done || (err == SK_ETLS_ALERT && !t->data_seen)) {
		report_handshake(c, err, detail);
		if (c->closed)
			return;
	}
	sk__conn_read_end(c, err);
}

/* A failed OpenSSL call, from a loop callback. */
static void fail_ssl(struct sk_conn *c, int ssl_err)
{
	struct sk__tls *t = c->tls;
	char detail[128];
	int err = sk__tls_error(t->ssl, ssl_err, &t->rep, t->io.in_eof, detail, sizeof detail);
	fail(c, err, detail);
}

/* A send failed, from a loop callback: a write error, as the core sees one. */
static void fail_send(struct sk_conn *c, int err)
{
	struct sk__tls *t = c->tls;
	if (!t->hs_done && !t->failed) {
		t->failed = true;
		report_handshake(c, err, "");
		if (c->closed)
			return;
	}
	t->failed = true;
	t->core_waits = false;
	sk__conn_wrote(c, err);
}

/* close_notify, then the FIN once everything before it is out. */
static void begin_shutdown(struct sk_conn *c)
{
	struct sk__tls *t = c->tls;
	t->notify_sent = true;
	t->fin_owed = true;
	ERR_clear_error();
	SSL_shutdown(t->ssl);
	ERR_clear_error();
	send_now(c);
	if (send_out(c) < 0)
		t->fin_owed = false; /* the socket failed: reading will say so */
}

/* --- receiving --- */

/* Reading on when the service reads, or while the handshake needs bytes;
 * what OpenSSL already holds is offered on the next pass. */
static void sync_recv(struct sk_conn *c)
{
	struct sk__tls *t = c->tls;
	bool live = !t->failed && !t->read_done;
	if (live && (c->reading_on || !t->hs_done))
		sk_loop_recv_resume(c->loop, c->rfd);
	else
		sk_loop_recv_pause(c->loop, c->rfd);
	if (live && t->hs_done && c->reading_on && (SSL_has_pending(t->ssl) || t->io.in_eof) &&
	    !sk_timer_is_active(&t->pump_timer))
		sk_loop_timer_start(c->loop, &t->pump_timer, 0);
}

/* The handshake's end: the owner hears of it, then what waited goes. */
static void handshake_done(struct sk_conn *c)
{
	struct sk__tls *t = c->tls;
	t->hs_done = true;
	sk_loop_timer_stop(c->loop, &t->hs_timer);
	sk_trace(c->opts.tracer, "tls(%d): %s %s", c->rfd, SSL_get_version(t->ssl),
	         SSL_get_cipher_name(t->ssl));
	report_handshake(c, 0, "");
	if (c->closed)
		return;
	if (t->want_shutdown && !c->out.len)
		begin_shutdown(c);
	if (t->core_waits && !t->sending) {
		t->core_waits = false;
		sk__conn_wrote(c, 0); /* the core flushes what it queued meanwhile */
	}
}

/* Advances the handshake; true once it is done and the conn lives. */
static bool handshake(struct sk_conn *c)
{
	struct sk__tls *t = c->tls;
	ERR_clear_error();
	int r = SSL_do_handshake(t->ssl);
	if (r == 1) {
		handshake_done(c);
		return !c->closed;
	}
	int e = SSL_get_error(t->ssl, r);
	if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
		fail_ssl(c, e);
	return false;
}

/* The end of the peer's data: close_notify, or the TCP stream's end
 * without one (truncated: the service decides whether that matters). */
static void read_end(struct sk_conn *c, bool clean)
{
	struct sk__tls *t = c->tls;
	t->read_done = true;
	t->truncated = !clean;
	sk_trace(c->opts.tracer, "tls(%d): %s", c->rfd,
	         clean ? "close_notify received" : "end of stream without close_notify");
	sync_recv(c);
	sk__conn_read_end(c, 0);
}

/* Decrypts while the service reads, in pieces of up to read_size. */
static void read_records(struct sk_conn *c)
{
	struct sk__tls *t = c->tls;
	char buf[READ_MAX];
	size_t max = c->opts.read_size && c->opts.read_size < READ_MAX ? c->opts.read_size : READ_MAX;
	while (!c->closed && c->reading_on && !t->read_done && !t->failed) {
		size_t len = 0;
		int e = SSL_ERROR_NONE;
		/* Once per batch, not per record: a successful SSL_read adds no
		 * error, and clearing costs a thread-local lookup (1.3% of a TLS
		 * receiver's CPU). */
		ERR_clear_error();
		while (len < max) {
			int r = SSL_read(t->ssl, buf + len, (int)(max - len));
			if (r <= 0) {
				e = SSL_get_error(t->ssl, r);
				break;
			}
			len += (size_t)r;
		}
		/* Classified before on_data runs: the service may use OpenSSL
		 * (another TLS conn) and empty this thread's error queue. */
		bool eof_unclean = false;
		int err = 0;
		char detail[128] = "";
		if (e == SSL_ERROR_SSL || e == SSL_ERROR_SYSCALL) {
			int reason = ERR_GET_REASON(ERR_peek_error());
			eof_unclean = t->io.in_eof && (e == SSL_ERROR_SYSCALL ||
			                            reason == SSL_R_UNEXPECTED_EOF_WHILE_READING);
			if (eof_unclean)
				ERR_clear_error();
			else
				err = sk__tls_error(t->ssl, e, &t->rep, t->io.in_eof, detail, sizeof detail);
		}
		if (len) {
			t->data_seen = true;
			sk__conn_received(c, buf, len);
			if (c->closed)
				return;
		}
		if (e == SSL_ERROR_NONE)
			continue;
		if (e == SSL_ERROR_ZERO_RETURN || eof_unclean) {
			read_end(c, e == SSL_ERROR_ZERO_RETURN);
			return;
		}
		if (err < 0) {
			fail(c, err, detail);
			return;
		}
		return; /* wants read: the bytes at hand are used up */
	}
}

static void pump(struct sk_conn *c)
{
	if (!c->tls->hs_done && !handshake(c))
		return;
	read_records(c);
}

/* After pump, from a loop callback: what OpenSSL wrote goes out, reading
 * follows what is wanted now. */
static void after_pump(struct sk_conn *c)
{
	if (c->closed)
		return;
	int err = send_out(c);
	if (err < 0) {
		fail_send(c, err);
		return;
	}
	sync_recv(c);
}

static size_t on_recv(struct sk_loop *loop, int fd, const char *data, size_t n, void *ud)
{
	(void)loop;
	struct sk_conn *c = ud;
	struct sk__tls *t = c->tls;
	sk_trace(c->opts.tracer, "recv(%d) = %zu", fd, n);
	if (t->peer_start_len < sizeof t->peer_start) {
		size_t k = sizeof t->peer_start - t->peer_start_len;
		k = k < n ? k : n;
		memcpy(t->peer_start + t->peer_start_len, data, k);
		t->peer_start_len += k;
	}
	t->io.in_p = data;
	t->io.in_len = n;
	c->depth++;
	pump(c);
	size_t took = n;
	if (!c->closed) {
		/* What is left waits in the loop for the service's resume. */
		took = n - t->io.in_len;
		t->io.in_p = NULL;
		t->io.in_len = 0;
		after_pump(c);
	}
	if (sk__conn_leave(c) || c->closed)
		return n;
	return took;
}

static void on_recv_end(struct sk_loop *loop, int fd, int err, void *ud)
{
	(void)loop;
	struct sk_conn *c = ud;
	struct sk__tls *t = c->tls;
	c->depth++;
	if (err < 0) {
		fail(c, err, "");
	} else if (!t->read_done) {
		sk_trace(c->opts.tracer, "recv(%d) = 0 (end of stream)", fd);
		t->io.in_eof = true;
		pump(c);
		after_pump(c);
	}
	sk__conn_leave(c);
}

static void on_pump_timer(struct sk_loop *loop, struct sk_timer *timer, void *ud)
{
	(void)loop;
	(void)timer;
	struct sk_conn *c = ud;
	c->depth++;
	if (!c->tls->failed) {
		pump(c);
		after_pump(c);
	}
	sk__conn_leave(c);
}

static void on_hs_timer(struct sk_loop *loop, struct sk_timer *timer, void *ud)
{
	(void)loop;
	(void)timer;
	struct sk_conn *c = ud;
	char detail[64];
	snprintf(detail, sizeof detail, "no handshake within %u ms",
	         c->tls->rep.cfg->handshake_timeout_ms);
	c->depth++;
	fail(c, SK_ETLS_TIMEOUT, detail);
	sk__conn_leave(c);
}

static void on_sent(struct sk_loop *loop, int fd, long n, void *ud)
{
	(void)loop;
	struct sk_conn *c = ud;
	struct sk__tls *t = c->tls;
	t->sending = false;
	c->depth++;
	if (n < 0) {
		fail_send(c, (int)n);
	} else {
		sk_trace(c->opts.tracer, "send(%d, %ld)", fd, n);
		c->n_written += t->send_plain;
		t->send_plain = 0;
		int err = send_out(c);
		if (err < 0) {
			fail_send(c, err);
		} else if (!t->sending && t->core_waits && t->hs_done) {
			t->core_waits = false;
			sk__conn_wrote(c, 0);
		}
	}
	sk__conn_leave(c);
}

/* Only the completion path reads and writes the socket; events 0. */
static void on_io(struct sk_loop *loop, int fd, unsigned events, void *ud)
{
	(void)loop;
	(void)fd;
	(void)events;
	(void)ud;
}

/* --- the operations --- */

static int tls_start(struct sk_conn *c)
{
	const struct sk_tls_conn_opts *o = c->opts.tls;
	const char *name = o->server_name ? o->server_name : "";
	if (!o->config || strlen(name) >= SK__TLS_NAME_MAX)
		return SK_EINVAL;
	struct sk__tls *t = calloc(1, sizeof *t);
	if (!t)
		return SK_ENOMEM;
	c->tls = t;
	t->rep.cfg = o->config;
	snprintf(t->rep.name, sizeof t->rep.name, "%s", name);
	t->on_handshake = o->on_handshake;
	t->hs_ud = o->ud;
	/* One getpeername per conn, and only for a callback that will read it. */
	if (t->on_handshake && sk_sock_peer_addr(c->rfd, &t->peer_addr) < 0)
		t->peer_addr.len = 0;
	sk_buf_init(&t->io.cout, COUT_MAX);
	sk_timer_init(&t->hs_timer, on_hs_timer, c);
	sk_timer_init(&t->pump_timer, on_pump_timer, c);
	t->ssl = sk__tls_ssl_new(o->config, &t->rep);
	BIO *bio = t->ssl ? BIO_new(o->config->bio_method) : NULL;
	if (!bio)
		return SK_ENOMEM;
	BIO_set_data(bio, &t->io);
	SSL_set_bio(t->ssl, bio, bio); /* one reference, now the SSL's */

	int flags = fcntl(c->rfd, F_GETFL);
	if (flags >= 0 && !(flags & O_NONBLOCK))
		fcntl(c->rfd, F_SETFL, flags | O_NONBLOCK);
	int err = sk_loop_add_fd(c->loop, c->rfd, 0, on_io, c);
	if (err < 0)
		return err;
	err = sk_loop_recv_start(c->loop, c->rfd, on_recv, on_recv_end, c);
	if (err < 0)
		return err;
	if (o->config->handshake_timeout_ms)
		sk_loop_timer_start(c->loop, &t->hs_timer, o->config->handshake_timeout_ms);
	/* A client speaks first: the ClientHello goes now. */
	ERR_clear_error();
	int r = SSL_do_handshake(t->ssl);
	int e = r == 1 ? SSL_ERROR_NONE : SSL_get_error(t->ssl, r);
	ERR_clear_error();
	if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
		return SK_ETLS_HANDSHAKE;
	return send_out(c);
}

static void tls_set_reading(struct sk_conn *c, bool on)
{
	(void)on;
	if (c->tls && c->rfd >= 0)
		sync_recv(c);
}

/* Encrypts up to FLUSH_MAX of the queue into cout. */
static int encrypt_some(struct sk_conn *c)
{
	struct sk__tls *t = c->tls;
	size_t n = c->out.len < FLUSH_MAX ? c->out.len : FLUSH_MAX;
	size_t records = (n + RECORD_MAX - 1) / RECORD_MAX;
	int err = reserve(&t->io.cout, n + records * RECORD_OVERHEAD);
	if (err < 0)
		return err;
	ERR_clear_error();
	int r = SSL_write(t->ssl, sk_buf_head(&c->out), (int)n);
	if (r <= 0) {
		ERR_clear_error();
		return SK_EPIPE; /* close_notify sent, or the cout ceiling: writing is over */
	}
	sk_buf_consume(&c->out, (size_t)r);
	t->cout_plain += (size_t)r;
	return 0;
}

static int tls_flush(struct sk_conn *c)
{
	struct sk__tls *t = c->tls;
	if (t->failed)
		return SK_EPIPE;
	if (!t->hs_done || t->sending) {
		t->core_waits = true; /* handshake_done or on_sent comes back */
		return 1;
	}
	while (c->out.len && !t->sending) {
		int err = encrypt_some(c);
		if (err == 0)
			err = send_out(c);
		if (err < 0)
			return err;
	}
	if (!t->sending) {
		c->in_flight = 0;
		return 0;
	}
	t->core_waits = true;
	c->in_flight = t->send_plain + t->cout_plain;
	return 1;
}

static void tls_shutdown_write(struct sk_conn *c)
{
	struct sk__tls *t = c->tls;
	if (t->failed || t->notify_sent)
		return;
	if (!t->hs_done)
		t->want_shutdown = true; /* handshake_done sends it */
	else
		begin_shutdown(c);
}

static void tls_close(struct sk_conn *c)
{
	struct sk__tls *t = c->tls;
	if (t) {
		sk_loop_timer_stop(c->loop, &t->hs_timer);
		sk_loop_timer_stop(c->loop, &t->pump_timer);
		/* A clean close says so (close_notify) when nothing is in the
		 * way; a send under way would be cut, and its records with it. */
		if (t->ssl && t->hs_done && !t->failed && !t->notify_sent && !t->sending && c->wfd >= 0) {
			ERR_clear_error();
			SSL_shutdown(t->ssl);
			ERR_clear_error();
			send_now(c);
		}
		SSL_free(t->ssl);
		sk__tls_report_fini(&t->rep);
		sk_buf_fini(&t->io.cout);
		free(t);
		c->tls = NULL;
	}
	sk__conn_sock_transport.close(c); /* the socket under the records */
}

const struct sk__transport sk__conn_tls_transport = {
	.name = "tls",
	.start = tls_start,
	.set_reading = tls_set_reading,
	.try_write = NULL, /* everything is encrypted first: flush does it */
	.flush = tls_flush,
	.shutdown_write = tls_shutdown_write,
	.close = tls_close,
};

int sk_conn_tls_info(const struct sk_conn *c, struct sk_tls_info *out)
{
	const struct sk__tls *t = c->tp == &sk__conn_tls_transport ? c->tls : NULL;
	if (!t)
		return SK_EINVAL;
	if (!t->hs_done)
		return SK_EINPROGRESS;
	sk__tls_fill_info(t->ssl, &t->rep, out);
	out->truncated = t->truncated;
	out->peer_addr = t->peer_addr;
	return 0;
}
