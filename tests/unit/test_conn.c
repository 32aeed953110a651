/* Unit tests for conn.c (include/sockit/conn.h), driven through a real loop
 * over socketpairs, pipes, a FIFO, a regular file and /dev/null. The test
 * plays the peer on the other end; the conn owns and closes its own fds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <sockit/conn.h>
#include <sockit/err.h>
#include <sockit/loop.h>

#include "testutil.h"

#define IN_MAX (1u << 20)

/* What the handler saw, and what it was told to do. */
struct rec {
	struct sk_conn *c; /* NULL once on_close ran */
	char *in;
	size_t in_len;
	int n_data, n_eof, n_drain, n_close;
	int close_err;
	bool after_close;     /* a callback came after on_close */
	bool wrong_args;      /* a callback got another conn or ud */
	size_t pending_at_drain;
	bool full_at_drain;
	bool write_failed;    /* sk_conn_write_failed in on_close */
	uint64_t written;     /* sk_conn_bytes_written in on_close */
	/* actions */
	bool echo;
	int close_in_data;    /* nonzero: sk_conn_close(c, this) from on_data */
	bool close_in_eof;
	int close_in_drain;   /* nonzero: sk_conn_close(c, this) from on_drain */
	bool close_again_in_close;
	bool send_in_eof;
};

static void check_args(struct rec *r, struct sk_conn *c, void *ud)
{
	if (r->n_close)
		r->after_close = true;
	if (c != r->c || ud != r)
		r->wrong_args = true;
}

static void h_data(struct sk_conn *c, const char *p, size_t len, void *ud)
{
	struct rec *r = ud;
	check_args(r, c, ud);
	r->n_data++;
	if (r->in_len + len > IN_MAX)
		fail_msg("more than %u bytes received", IN_MAX);
	memcpy(r->in + r->in_len, p, len);
	r->in_len += len;
	if (r->echo)
		(void)sk_conn_send(c, p, len);
	if (r->close_in_data)
		sk_conn_close(c, r->close_in_data);
}

static void h_eof(struct sk_conn *c, void *ud)
{
	struct rec *r = ud;
	check_args(r, c, ud);
	r->n_eof++;
	if (r->send_in_eof)
		assert_int_equal(sk_conn_send(c, "reply", 5), 0);
	if (r->close_in_eof)
		sk_conn_close(c, 0);
}

static void h_drain(struct sk_conn *c, void *ud)
{
	struct rec *r = ud;
	check_args(r, c, ud);
	if (r->n_drain++ == 0) {
		r->pending_at_drain = sk_conn_pending(c);
		r->full_at_drain = sk_conn_is_full(c);
	}
	if (r->close_in_drain)
		sk_conn_close(c, r->close_in_drain);
}

static void h_close(struct sk_conn *c, int err, void *ud)
{
	struct rec *r = ud;
	check_args(r, c, ud);
	r->n_close++;
	r->close_err = err;
	r->write_failed = sk_conn_write_failed(c);
	r->written = sk_conn_bytes_written(c);
	if (r->close_again_in_close)
		sk_conn_close(c, -EIO);
	r->c = NULL;
}

static const struct sk_conn_handler handler = {
	.on_data = h_data, .on_eof = h_eof, .on_drain = h_drain, .on_close = h_close,
};

static struct rec *rec_new(void)
{
	struct rec *r = calloc(1, sizeof *r);
	assert_non_null(r);
	r->in = malloc(IN_MAX);
	assert_non_null(r->in);
	return r;
}

static void rec_free(struct rec *r)
{
	assert_false(r->after_close);
	assert_false(r->wrong_args);
	free(r->in);
	free(r);
}

/* The suite runs three times (main): on epoll; with the loop's completion
 * I/O on io_uring, which conns over sockets then use; and on io_uring with
 * every send deferred to the ring (defer_sends: queued, sent by the loop's
 * next pass, as the HTTP server does). */
static bool use_io_uring, defer_sends;

static struct sk_conn *conn_new(struct sk_loop *loop, int rfd, int wfd,
                                const struct sk_conn_opts *opts, struct rec *r)
{
	struct sk_conn_opts o;
	if (opts)
		o = *opts;
	else
		sk_conn_opts_init(&o);
	o.defer_sends = defer_sends;
	opts = &o;
	struct sk_conn *c = NULL;
	int err = sk_conn_new(loop, rfd, wfd, opts, &handler, r, &c);
	if (err)
		fail_msg("sk_conn_new: %s", sk_errname(err));
	assert_non_null(c);
	r->c = c;
	return c;
}

/* The loop fill_until_queued runs between sends: the last one made. */
static struct sk_loop *loop_of_fill;

static struct sk_loop *loop_new(void)
{
	struct sk_loop *loop;
	assert_int_equal(sk_loop_new(&loop), 0);
	if (use_io_uring)
		assert_int_equal(sk_loop_use_io_uring(loop), 0);
	loop_of_fill = loop;
	return loop;
}

/* A socketpair whose blocking reads and writes give up after 2 s, so a
 * conn that fails to write makes a test fail rather than hang. */
static void pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	struct timeval tv = { .tv_sec = 2 };
	for (int i = 0; i < 2; i++) {
		assert_int_equal(setsockopt(sv[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
		assert_int_equal(setsockopt(sv[i], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv), 0);
	}
}

static bool fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* Lets the loop finish what it started: with io_uring a send, and the
 * kernel's hold on a closed socket, end when the loop next runs. */
static void settle(struct sk_loop *loop)
{
	run_for(loop, 10);
}

/* Reads exactly n bytes from the peer end, running the loop meanwhile (with
 * io_uring the conn's bytes go out when the loop runs). */
static void peer_expect(struct sk_loop *loop, int fd, char *buf, size_t n)
{
	size_t got = 0;
	uint64_t end = now_ms() + 2000;
	while (got < n && now_ms() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 0) == 1) {
			ssize_t k = read(fd, buf + got, n - got);
			if (k <= 0)
				break;
			got += (size_t)k;
			continue;
		}
		assert_true(sk_loop_run_once(loop, 10) >= 0);
	}
	assert_int_equal(got, n);
}

/* Reads what the peer end has now into buf at *len. Returns the last read's
 * result: >0 more may come, 0 EOF, -1 with errno (EAGAIN: nothing now). */
static ssize_t peer_read(int fd, char *buf, size_t cap, size_t *len)
{
	for (;;) {
		if (*len == cap)
			fail_msg("peer buffer full");
		ssize_t n = read(fd, buf + *len, cap - *len);
		if (n <= 0)
			return n;
		*len += (size_t)n;
	}
}

/* Sends pattern bytes until the conn has queued something (the kernel
 * buffer is full). Returns the total sent. */
static size_t fill_until_queued(struct sk_conn *c, size_t offset, size_t chunk)
{
	char *buf = malloc(chunk);
	assert_non_null(buf);
	size_t sent = 0;
	for (int i = 0;; i++) {
		if (sk_conn_pending(c)) {
			/* With io_uring a send is pending until the loop runs: queued
			 * for good only if it stays so. */
			run_for(loop_of_fill, 5);
			if (sk_conn_pending(c))
				break;
		}
		if (i > 100000)
			fail_msg("the kernel never pushed back");
		fill_pattern(buf, offset + sent, chunk);
		assert_int_equal(sk_conn_send(c, buf, chunk), 0);
		sent += chunk;
	}
	free(buf);
	return sent;
}

static void small_sndbuf(int fd)
{
	int size = 4096;
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size), 0);
}

/* --- reading ------------------------------------------------------------- */

static void test_conn_delivers_peer_bytes(void **state)
{
	(void)state;
	struct sk_loop *loop = loop_new();
	struct rec *r = rec_new();
	int sv[2];
	pair(sv);
	struct sk_conn *c = conn_new(loop, sv[0], sv[0], NULL, r);
	assert_int_equal(sk_conn_rfd(c), sv[0]);
	assert_ptr_equal(sk_conn_ud(c), r);
	/* The conn made its fd non-blocking. */
	assert_true(fcntl(sv[0], F_GETFL) & O_NONBLOCK);

	assert_int_equal(write(sv[1], "hello", 5), 5);
	RUN_UNTIL(loop, r->in_len == 5, 2000);
	assert_int_equal(r->in_len, 5);
	assert_memory_equal(r->in, "hello", 5);
	assert_int_equal(r->n_data, 1);

	/* 300 KB in pieces of odd sizes: every byte, in order. */
	set_nonblock(sv[1]);
	char *big = malloc(300000);
	assert_non_null(big);
	fill_pattern(big, 0, 300000);
	size_t off = 0;
	uint64_t end = now_ms() + 3000;
	while ((off < 300000 || r->in_len < 5 + 300000) && now_ms() < end) {
		if (off < 300000) {
			size_t n = 300000 - off < 7777 ? 300000 - off : 7777;
			ssize_t w = write(sv[1], big + off, n);
			if (w > 0)
				off += (size_t)w;
		}
		assert_true(sk_loop_run_once(loop, 10) >= 0);
	}
	assert_int_equal(r->in_len, 5 + 300000);
	assert_pattern(r->in + 5, 0, 300000);
	free(big);
	assert_int_equal(r->n_eof, 0);
	assert_int_equal(r->n_close, 0);

	/* Closing from outside a callback: on_close at once, the fd closed. */
	sk_conn_close(c, 0);
	assert_int_equal(r->n_close, 1);
	assert_int_equal(r->close_err, 0);
	assert_false(fd_is_open(sv[0]));
	settle(loop);
	char b;
	assert_int_equal(read(sv[1], &b, 1), 0);
	close(sv[1]);
	rec_free(r);
	sk_loop_free(loop);
}

static void test_conn_pause_stops_reading(void **state)
{
	(void)state;
	struct sk_loop *loop = loop_new();
	struct rec *r = rec_new();
	int sv[2];
	pair(sv);
	struct sk_conn *c = conn_new(loop, sv[0], sv[0], NULL, r);
	sk_conn_pause(c);
	assert_int_equal(write(sv[1], "abc", 3), 3);
	run_for(loop, 30);
	assert_int_equal(r->n_data, 0);
	/* Pauses nest: two pauses need two resumes. */
	sk_conn_pause(c);
	sk_conn_resume(c);
	run_for(loop, 30);
	assert_int_equal(r->n_data, 0);
	sk_conn_resume(c);
	RUN_UNTIL(loop, r->in_len == 3, 2000);
	assert_int_equal(r->in_len, 3);
	assert_memory_equal(r->in, "abc", 3);
	/* An extra resume does not underflow into "paused forever". */
	sk_conn_resume(c);
	assert_int_equal(write(sv[1], "d", 1), 1);
	RUN_UNTIL(loop, r->in_len == 4, 2000);
	assert_int_equal(r->in_len, 4);
	sk_conn_pause(c);
	assert_int_equal(write(sv[1], "e", 1), 1);
	run_for(loop, 30);
	assert_int_equal(r->in_len, 4);
	sk_conn_resume(c);
	RUN_UNTIL(loop, r->in_len == 5, 2000);
	assert_memory_equal(r->in, "abcde", 5);
	sk_conn_close(c, 0);
	close(sv[1]);
	rec_free(r);
	sk_loop_free(loop);
}

static void test_conn_peer_close_gives_eof(void **state)
{
	(void)state;
	struct sk_loop *loop = loop_new();
	struct rec *r = rec_new();
	int sv[2];
	pair(sv);
	struct sk_conn *c = conn_new(loop, sv[0], sv[0], NULL, r);
	assert_int_equal(write(sv[1], "bye", 3), 3);
	close(sv[1]);
	RUN_UNTIL(loop, r->n_eof, 2000);
	assert_int_equal(r->n_eof, 1);
	assert_int_equal(r->in_len, 3);
	assert_memory_equal(r->in, "bye", 3);
	assert_true(sk_conn_read_closed(c));
	assert_false(sk_conn_write_closed(c));
	/* The hung-up fd is not watched any more: the loop does not spin. */
	assert_int_equal(sk_loop_run_once(loop, 20), 0);
	assert_int_equal(r->n_eof, 1);
	assert_int_equal(r->n_close, 0);
	sk_conn_close(c, 0);
	assert_int_equal(r->n_close, 1);
	rec_free(r);
	sk_loop_free(loop);
}

static void test_conn_writes_after_peer_half_closes(void **state)
{
	(void)state;
	struct sk_loop *loop = loop_new();
	struct rec *r = rec_new();
	r->send_in_eof = true;
	int sv[2];
	pair(sv);
	struct sk_conn *c = conn_new(loop, sv[0], sv[0], NULL, r);
	assert_int_equal(write(sv[1], "request", 7), 7);
	assert_int_equal(shutdown(sv[1], SHUT_WR), 0);
	RUN_UNTIL(loop, r->n_eof, 2000);
	assert_int_equal(r->n_eof, 1);
	assert_int_equal(r->in_len, 7);
	/* on_eof sent "reply": writing still works after the peer's EOF. */
	char buf[16];
	peer_expect(loop, sv[1], buf, 5);
	assert_memory_equal(buf, "reply", 5);
	assert_int_equal(sk_conn_send(c, "more", 4), 0);
	peer_expect(loop, sv[1], buf, 4);
	sk_conn_close(c, 0);
	settle(loop);
	assert_int_equal(read(sv[1], buf, sizeof buf), 0);
	close(sv[1]);
	rec_free(r);
	sk_loop_free(loop);
}

/* --- writing and backpressure -------------------------------------------- */

static void test_conn_send_writes_at_once(void **state)
{
	(void)state;
	struct sk_loop *loop = loop_new();
	struct rec *r = rec_new();
	int sv[2];
	pair(sv);
	struct sk_conn *c = conn_new(loop, sv[0], sv[0], NULL, r);
	assert_int_equal(sk_conn_send(c, "ping", 4), 0);
	/* Written before the loop ran at all; deferred, the loop's next pass
	 * sends it, with every other conn's. */
	if (defer_sends)
		RUN_UNTIL(loop, sk_conn_pending(c) == 0, 2000);
	assert_int_equal(sk_conn_pending(c), 0);
	assert_false(sk_conn_is_full(c));
	char buf[8];
	assert_int_equal(recv(sv[1], buf, sizeof buf, MSG_DONTWAIT), 4);
	assert_memory_equal(buf, "ping", 4);
	assert_int_equal(sk_conn_send(c, "", 0), 0);
	assert_int_equal(recv(sv[1], buf, sizeof buf, MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
	sk_conn_close(c, 0);
	close(sv[1]);
	rec_free(r);
	sk_loop_free(loop);
}

static void test_conn_backpressure_high_and_low_water(void **state)
{
	(void)state;
	struct sk_loop *loop = loop_new();
	struct rec *r = rec_new();
	int sv[2];
	pair(sv);
	small_sndbuf(sv[0]);
	set_nonblock(sv[1]);
	struct sk_conn_opts opts;
	sk_conn_opts_init(&opts);
	opts.out_max = 64 * 1024;
	opts.high_water = 32 * 1024;
	opts.low_water = 8 * 1024;
	struct sk_conn *c = conn_new(loop, sv[0], sv[0], &opts, r);

	/* The peer does not read: the kernel fills, then the queue. */
	char chunk[1000];
	size_t sent = 0;
	for (int i = 0; !sk_conn_is_full(c); i++) {
		if (i > 100000)
			fail_msg("never full; pending %zu", sk_conn_pending(c));
		assert_true(sk_conn_pending(c) < opts.high_water);
		fill_pattern(chunk, sent, sizeof chunk);
		assert_int_equal(sk_conn_send(c, chunk, sizeof chunk), 0);
		sent += sizeof chunk;
	}
	assert_true(sk_conn_pending(c) >= opts.high_water);
	assert_true(sk_conn_pending(c) <= opts.out_max);

	/* Past out_max: refused whole, nothing queued. */
	size_t pending = sk_conn_pending(c);
	size_t room = opts.out_max - pending;
	char *big = malloc(opts.out_max + 1);
	assert_non_null(big);
	fill_pattern(big, sent, room + 1);
	assert_int_equal(sk_conn_send(c, big, room + 1), SK_ETOOLARGE);
	assert_int_equal(sk_conn_pending(c), pending);
	assert_int_equal(sk_conn_send(c, big, room), 0);
	sent += room;
	assert_int_equal(sk_conn_pending(c), opts.out_max);
	assert_int_equal(sk_conn_send(c, big, 1), SK_ETOOLARGE);
	assert_int_equal(sk_conn_pending(c), opts.out_max);
	free(big);

	/* No drain while nobody reads. */
	run_for(loop, 20);
	assert_int_equal(r->n_drain, 0);
	assert_true(sk_conn_is_full(c));

	/* The peer reads: on_drain once, at low water; every byte arrives. */
	char *got = malloc(sent + 1);
	assert_non_null(got);
	size_t got_len = 0;
	uint64_t end = now_ms() + 3000;
	while (got_len < sent && now_ms() < end) {
		ssize_t n = peer_read(sv[1], got, sent + 1, &got_len);
		assert_true(n < 0 && errno == EAGAIN);
		if (r->n_drain == 0)
			assert_true(sk_conn_is_full(c));
		assert_true(sk_loop_run_once(loop, 10) >= 0);
	}
	assert_int_equal(got_len, sent);
	assert_pattern(got, 0, sent);
	/* The first on_drain comes at low water; a second may follow when the
	 * loop empties the queue, unless both happened at once. */
	assert_true(r->n_drain == 1 || r->n_drain == 2);
	assert_true(r->pending_at_drain <= opts.low_water);
	assert_false(r->full_at_drain);
	assert_false(sk_conn_is_full(c));
	assert_int_equal(sk_conn_pending(c), 0);
	free(got);
	sk_conn_close(c, 0);
	close(sv[1]);
	rec_free(r);
	sk_loop_free(loop);
}

static void test_conn_drain_when_the_loop_empties_the_queue(void **state)
{
	(void)state;
	/* conn.h: on_drain also comes when "a queue was emptied by the loop",
	 * high water or not; bytes that went out at once in sk_conn_send were
	 * never queued and call nothing. */
	struct sk_loop *loop = loop_new();
	struct rec *r = rec_new();
	int sv[2];
	pair(sv);
	small_sndbuf(sv[0]);
	set_nonblock(sv[1]);
	struct sk_conn_opts opts;
	sk_conn_opts_init(&opts);
	opts.out_max = 1 << 20;
	opts.high_water = 1 << 19;
	opts.low_water = 1 << 16;
	struct sk_conn *c = conn_new(loop, sv[0], sv[0], &opts, r);
	char got_small[8];
	assert_int_equal(sk_conn_send(c, "now", 3), 0);
	run_for(loop, 20);
	/* Deferred, every send is queued and emptied by the loop. */
	assert_int_equal(r->n_drain, defer_sends ? 1 : 0);
	assert_int_equal(read(sv[1], got_small, sizeof got_small), 3);
	r->n_drain = 0;

	size_t sent = fill_until_queued(c, 0, 1000);
	assert_true(sk_conn_pending(c) > 0);
	assert_false(sk_conn_is_full(c));
	r->n_drain = 0; /* with io_uring, filling emptied the queue on each pass */
	char *got = malloc(sent + 1);
	assert_non_null(got);
	size_t got_len = 0;
	uint64_t end = now_ms() + 3000;
	while ((got_len < sent || sk_conn_pending(c)) && now_ms() < end) {
		peer_read(sv[1], got, sent + 1, &got_len);
		if (sk_conn_pending(c))
			assert_int_equal(r->n_drain, 0);
		assert_true(sk_loop_run_once(loop, 10) >= 0);
	}
	assert_int_equal(got_len, sent);
	assert_pattern(got, 0, sent);
	free(got);
	assert_int_equal(sk_conn_pending(c), 0);
	assert_int_equal(r->n_drain, 1);
	assert_int_equal(r->pending_at_drain, 0);
	assert_false(r->full_at_drain);
	/* Nothing queued any more: no further calls. */
	run_for(loop, 20);
	assert_int_equal(r->n_drain, 1);
	sk_conn_close(c, 0);
	close(sv[1]);
	rec_free(r);
	sk_loop_free(loop);
}

static void test_conn_send_refuses_past_out_max(void **state)
{
	(void)state;
	struct sk_loop *loop = loop_new();
	struct rec *r = rec_new();
	int sv[2];
	pair(sv);
	struct sk_conn_opts opts;
	sk_conn_opts_init(&opts);
	opts.out_max = 1000;
	opts.high_water = 500;
	opts.low_water = 100;
	struct sk_conn *c = conn_new(loop, sv[0], sv[0], &opts, r);
	/* Nothing queued, and still refused whole: not a byte goes out. */
	char buf[1001];
	fill_pattern(buf, 0, sizeof buf);
	assert_int_equal(sk_conn_send(c, buf, 1001), SK_ETOOLARGE);
	assert_int_equal(sk_conn_pending(c), 0);
	char got[2000];
	assert_int_equal(recv(sv[1], got, sizeof got, MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
	/* Exactly out_max is fine. */
	assert_int_equal(sk_conn_send(c, buf, 1000), 0);
	peer_expect(loop, sv[1], got, 1000);
	assert_pattern(got, 0, 1000);
	assert_int_equal(r->n_close, 0);
	sk_conn_close(c, 0);
	close(sv[1]);
	rec_free(r);
	sk_loop_free(loop);
}

static void test_conn_send_to_a_closed_socket_fails_with_epipe(void **state)
{
	(void)state;
	/* SIGPIPE keeps its default action here: a socket must not raise it. */
	struct sk_loop *loop = loop_new();
	struct rec *r = rec_new();
	int sv[2];
	pair(sv);
	conn_new(loop, sv[0], sv[0], NULL, r);
	close(sv[1]);
	/* Deferred, the send is the ring's: its failure closes the conn when
	 * the loop runs. */
	assert_int_equal(sk_conn_send(r->c, "x", 1), defer_sends ? 0 : SK_EPIPE);
	RUN_UNTIL(loop, r->n_close, 2000);
	assert_int_equal(r->n_close, 1);
	assert_int_equal(r->close_err, SK_EPIPE);
	assert_true(r->write_failed);
	assert_int_equal(r->written, 0);
	assert_null(r->c);
	rec_free(r);
	sk_loop_free(loop);
}

static void test_conn_send_to_a_closed_pipe_fails_with_epipe(void **state)
{
	(void)state;
	/* write(2) on a pipe raises SIGPIPE; the CLI ignores it, so do we. */
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);
	struct sk_loop *loop = loop_new();
	struct rec *r = rec_new();
	int p[2];
	assert_int_equal(pipe(p), 0);
	conn_new(loop, -1, p[1], NULL, r);
	close(p[0]);
	assert_int_equal(sk_conn_send(r->c, "x", 1), SK_EPIPE);
	assert_int_equal(r->n_close, 1);
	assert_int_equal(r->close_err, SK_EPIPE);
	signal(SIGPIPE, old);
	rec_free(r);
	sk_loop_free(loop);
}

/* Every byte that reached the fd is counted, queued ones once the loop
 * writes them; the queue's memory goes back when it empties (seen through
 * the count of bytes written on close, the public view of it). */
static void test_conn_counts_bytes_written(void **state)
{
	(void)state;
	struct sk_loop *loop = loop_new();
	struct rec *r = rec_new();
	int sv[2];
	pair(sv);
	small_sndbuf(sv[0]);
	struct sk_conn *c = conn_new(loop, sv[0], sv[0], NULL, r);
	assert_int_equal(sk_conn_send(c, "hello", 5), 0);
	RUN_UNTIL(loop, sk_conn_bytes_written(c) == 5, 2000); /* at once with epoll */
	assert_int_equal(sk_conn_bytes_written(c), 5);
	size_t sent = 5 + fill_until_queued(c, 5, 4096);
	assert_true(sk_conn_bytes_written(c) < sent);
	set_nonblock(sv[1]);
	char *buf = malloc(sent + 1);
	assert_non_null(buf);
	size_t got = 0;
	RUN_UNTIL(loop, (peer_read(sv[1], buf, sent + 1, &got), got == sent), 2000);
	assert_int_equal(got, sent);
	assert_int_equal(sk_conn_pending(c), 0);
	assert_int_equal(sk_conn_bytes_written(c), sent);
	/* A queue emptied and filled again works as before. */
	assert_int_equal(sk_conn_send(c, "again", 5), 0);
	got = 0;
	RUN_UNTIL(loop, (peer_read(sv[1], buf, sent + 1, &got), got == 5), 2000);
	assert_memory_equal(buf, "again", 5);
	sk_conn_close(c, 0);
	assert_int_equal(r->written, sent + 5);
	assert_false(r->write_failed);
	free(buf);
	close(sv[1]);
	rec_free(r);
	sk_loop_free(loop);
}

/* --- taking fewer bytes, files and handed-over buffers -------------------- */

static int temp_file_with(size_t len);

/* A receiver with a small buffer: on_recv takes what fits, the rest comes
 * again after the resume, in order and whole. */
struct taker {
	struct sk_conn *c;
	char buf[100000];
	size_t len, room;
	int calls;
	bool eof;
};

static size_t t_recv(struct sk_conn *c, const char *p, size_t len, void *ud)
{
	(void)c;
	struct taker *t = ud;
	t->calls++;
	size_t take = len < t->room ? len : t->room;
	memcpy(t->buf + t->len, p, take);
	t->len += take;
	t->room -= take;
	return take;
}

static void t_eof(struct sk_conn *c, void *ud)
{
	(void)c;
	((struct taker *)ud)->eof = true;
}

static const struct sk_conn_handler taker_handler = { .on_recv = t_recv, .on_eof = t_eof };

static void test_conn_on_recv_takes_fewer_and_gets_the_rest_after_resume(void **state)
{
	(void)state;
	struct sk_loop *loop = loop_new();
	int sv[2];
	pair(sv);
	struct taker *t = calloc(1, sizeof *t);
	assert_non_null(t);
	t->room = 1000;
	struct sk_conn_opts o;
	sk_conn_opts_init(&o);
	o.defer_sends = defer_sends;
	assert_int_equal(sk_conn_new(loop, sv[0], sv[0], &o, &taker_handler, t, &t->c), 0);
	char data[50000];
	fill_pattern(data, 0, sizeof data);
	size_t off = 0;
	set_nonblock(sv[1]);
	while (off < sizeof data) {
		ssize_t n = write(sv[1], data + off, sizeof data - off);
		if (n > 0)
			off += (size_t)n;
		assert_true(sk_loop_run_once(loop, 10) >= 0);
		if (t->room == 0) {
			/* Full: no more is offered while paused. */
			int calls = t->calls;
			run_for(loop, 20);
			assert_int_equal(t->calls, calls);
			t->room = 7000;
			sk_conn_resume(t->c);
		}
	}
	shutdown(sv[1], SHUT_WR);
	uint64_t end = now_ms() + 3000;
	while (!t->eof && now_ms() < end) {
		assert_true(sk_loop_run_once(loop, 10) >= 0);
		if (t->room == 0) {
			t->room = 7000;
			sk_conn_resume(t->c);
		}
	}
	assert_true(t->eof);
	assert_int_equal(t->len, sizeof data);
	assert_pattern(t->buf, 0, sizeof data);
	sk_conn_close(t->c, 0);
	close(sv[1]);
	free(t);
	sk_loop_free(loop);
}

static void test_conn_send_file_goes_in_pieces_after_the_queue(void **state)
{
	(void)state;
	struct sk_loop *loop = loop_new();
	struct rec *r = rec_new();
	int sv[2];
	pair(sv);
	small_sndbuf(sv[0]);
	set_nonblock(sv[1]);
	struct sk_conn *c = conn_new(loop, sv[0], sv[0], NULL, r);
	/* A file of 300,000 pattern bytes from offset 100: a head first. */
	size_t n = 300000;
	int fd = temp_file_with(n + 100);
	assert_int_equal(sk_conn_send(c, "head", 4), 0);
	assert_int_equal(sk_conn_send_file(c, dup(fd), 100, n), 0);
	assert_int_equal(sk_conn_send_file(c, dup(fd), 0, 1), -EBUSY); /* one at a time */
	assert_true(sk_conn_pending(c) > 0);
	char *got = malloc(n + 5);
	assert_non_null(got);
	size_t len = 0;
	RUN_UNTIL(loop, (peer_read(sv[1], got, n + 5, &len), len == n + 4), 5000);
	assert_int_equal(len, n + 4);
	assert_memory_equal(got, "head", 4);
	char *want = malloc(n);
	assert_non_null(want);
	assert_int_equal(pread(fd, want, n, 100), (ssize_t)n);
	assert_memory_equal(got + 4, want, n);
	RUN_UNTIL(loop, sk_conn_pending(c) == 0, 2000);
	assert_int_equal(sk_conn_pending(c), 0);
	assert_true(r->n_drain >= 1);
	/* A file shorter than promised closes the conn, never a short send
	 * that looks whole. */
	int rc = sk_conn_send_file(c, dup(fd), n, 1000);
	assert_true(rc == 0 || rc == -EIO); /* -EIO when the read came at once */
	RUN_UNTIL(loop, r->n_close, 2000);
	assert_int_equal(r->close_err, -EIO);
	close(fd);
	free(got);
	free(want);
	close(sv[1]);
	rec_free(r);
	sk_loop_free(loop);
}

/* Bytes sent while a file is on its way come after it, whether the file
 * goes by sendfile (from SK_CONN_SENDFILE_MIN bytes) or through the queue;
 * and a big file shorter than promised closes the conn with -EIO too. */
static void test_conn_send_after_a_file_keeps_the_order(void **state)
{
	(void)state;
	size_t sizes[] = { 1000, SK_CONN_SENDFILE_MIN, 3 * SK_CONN_SENDFILE_MIN + 17 };
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		struct sk_loop *loop = loop_new();
		struct rec *r = rec_new();
		int sv[2];
		pair(sv);
		small_sndbuf(sv[0]);
		set_nonblock(sv[1]);
		struct sk_conn *c = conn_new(loop, sv[0], sv[0], NULL, r);
		size_t n = sizes[k];
		int fd = temp_file_with(n);
		assert_int_equal(sk_conn_send(c, "head", 4), 0);
		assert_int_equal(sk_conn_send_file(c, dup(fd), 0, n), 0);
		assert_int_equal(sk_conn_send(c, "tail", 4), 0);
		struct sk_buf b;
		sk_buf_init(&b, 64);
		assert_int_equal(sk_buf_append(&b, "more", 4), 0);
		assert_int_equal(sk_conn_send_buf(c, &b), 0);
		sk_buf_fini(&b);
		char *got = malloc(n + 13);
		assert_non_null(got);
		size_t len = 0;
		RUN_UNTIL(loop, (peer_read(sv[1], got, n + 13, &len), len == n + 12), 5000);
		assert_int_equal(len, n + 12);
		assert_memory_equal(got, "head", 4);
		char *want = malloc(n);
		assert_non_null(want);
		assert_int_equal(pread(fd, want, n, 0), (ssize_t)n);
		assert_memory_equal(got + 4, want, n);
		assert_memory_equal(got + 4 + n, "tailmore", 8);
		RUN_UNTIL(loop, sk_conn_pending(c) == 0, 2000);
		assert_int_equal(sk_conn_pending(c), 0);
		/* Promised more than the file holds. */
		int rc = sk_conn_send_file(c, dup(fd), n / 2, n);
		assert_true(rc == 0 || rc == -EIO);
		len = 0; /* the peer reads on: sendfile meets the end only as it drains */
		RUN_UNTIL(loop, (peer_read(sv[1], got, n + 13, &len), r->n_close), 2000);
		if (r->close_err != -EIO)
			fail_msg("size %zu: closed with %d", n, r->close_err);
		close(fd);
		free(got);
		free(want);
		close(sv[1]);
		rec_free(r);
		sk_loop_free(loop);
	}
}

/* A shared descriptor: two conns send from it at once (one by sendfile, one
 * through the queue), each holding a reference while it sends; the owner
 * may let go first; the last release closes it. A refused send takes no
 * reference, and a conn closed mid-file gives its reference back. */
static void test_conn_shared_file_is_closed_by_its_last_holder(void **state)
{
	(void)state;
	struct sk_loop *loop = loop_new();
	size_t sizes[] = { 1000, 3 * SK_CONN_SENDFILE_MIN + 17 };
	size_t total = sizes[1];
	int fd = temp_file_with(total);
	char *want = malloc(total);
	assert_non_null(want);
	assert_int_equal(pread(fd, want, total, 0), (ssize_t)total);
	struct sk_shared_fd *sf = sk_shared_fd_new(dup(fd));
	assert_non_null(sf);
	int shared = sf->fd;
	assert_int_equal(sf->refs, 1);

	struct rec *r[2];
	struct sk_conn *c[2];
	int sv[2][2];
	for (int i = 0; i < 2; i++) {
		r[i] = rec_new();
		pair(sv[i]);
		small_sndbuf(sv[i][0]);
		set_nonblock(sv[i][1]);
		c[i] = conn_new(loop, sv[i][0], sv[i][0], NULL, r[i]);
		assert_int_equal(sk_conn_send(c[i], "head", 4), 0);
		assert_int_equal(sk_conn_send_shared_file(c[i], sf, 0, sizes[i]), 0);
	}
	assert_true(sf->refs >= 2); /* the small one may be in the queue already */
	assert_int_equal(sk_conn_send_shared_file(c[1], sf, 0, 1), -EBUSY);
	unsigned before = sf->refs;
	sk_shared_fd_release(sf); /* the owner goes first: the senders keep it open */
	assert_int_equal(sf->refs, before - 1);
	assert_true(fcntl(shared, F_GETFD) >= 0);

	for (int i = 0; i < 2; i++) {
		size_t n = sizes[i], len = 0;
		char *got = malloc(n + 5);
		assert_non_null(got);
		RUN_UNTIL(loop, (peer_read(sv[i][1], got, n + 5, &len), len == n + 4), 5000);
		assert_int_equal(len, n + 4);
		assert_memory_equal(got, "head", 4);
		assert_memory_equal(got + 4, want, n);
		free(got);
		RUN_UNTIL(loop, sk_conn_pending(c[i]) == 0, 2000);
	}
	/* Both sent: the last reference went with the second file. */
	errno = 0;
	assert_int_equal(fcntl(shared, F_GETFD), -1);
	assert_int_equal(errno, EBADF);

	/* A conn closed before its file is out gives its reference back. */
	sf = sk_shared_fd_new(dup(fd));
	assert_non_null(sf);
	assert_int_equal(sk_conn_send_shared_file(c[1], sf, 0, total), 0);
	assert_int_equal(sf->refs, 2);
	sk_conn_close(c[1], 0);
	assert_int_equal(sf->refs, 1);
	sk_shared_fd_release(sf);

	for (int i = 0; i < 2; i++) {
		if (i == 0)
			sk_conn_close(c[i], 0);
		close(sv[i][1]);
		rec_free(r[i]);
	}
	close(fd);
	free(want);
	sk_loop_free(loop);
}

static void test_conn_send_buf_takes_the_storage(void **state)
{
	(void)state;
	struct sk_loop *loop = loop_new();
	struct rec *r = rec_new();
	int sv[2];
	pair(sv);
	set_nonblock(sv[1]);
	struct sk_conn_opts opts;
	sk_conn_opts_init(&opts);
	opts.out_max = 1000; /* a handed-over buffer may be bigger: it exists already */
	opts.high_water = 1000;
	struct sk_conn *c = conn_new(loop, sv[0], sv[0], &opts, r);
	struct sk_buf b;
	sk_buf_init(&b, 1 << 20);
	char piece[5000];
	fill_pattern(piece, 0, sizeof piece);
	assert_int_equal(sk_buf_headroom(&b, 16), 0);
	assert_int_equal(sk_buf_append(&b, piece, sizeof piece), 0);
	assert_int_equal(sk_buf_prepend(&b, "HEAD", 4), 0);
	assert_int_equal(sk_conn_send_buf(c, &b), 0);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.max, 1 << 20);
	char got[5004];
	peer_expect(loop, sv[1], got, sizeof got);
	assert_memory_equal(got, "HEAD", 4);
	assert_pattern(got + 4, 0, sizeof piece);
	sk_buf_fini(&b);
	sk_conn_close(c, 0);
	close(sv[1]);
	rec_free(r);
	sk_loop_free(loop);
}

/* --- half-close and closing ---------------------------------------------- */

static void test_conn_shutdown_half_closes(void **state)
{
	(void)state;
	struct sk_loop *loop = loop_new();
	struct rec *r = rec_new();
	int sv[2];
	pair(sv);
	small_sndbuf(sv[0]);
	set_nonblock(sv[1]);
	struct sk_conn *c = conn_new(loop, sv[0], sv[0], NULL, r);
	size_t sent = fill_until_queued(c, 0, 4096);
	assert_true(sk_conn_pending(c) > 0);
	sk_conn_shutdown(c);
	/* The queue is still to be written: not shut yet, and no new bytes. */
	assert_false(sk_conn_write_closed(c));
	assert_int_equal(sk_conn_send(c, "late", 4), SK_EPIPE);

	/* The peer gets every queued byte, then EOF. */
	char *got = malloc(sent + 1);
	assert_non_null(got);
	size_t got_len = 0;
	ssize_t last = -1;
	uint64_t end = now_ms() + 3000;
	while (now_ms() < end) {
		last = peer_read(sv[1], got, sent + 1, &got_len);
		if (last == 0)
			break;
		assert_int_equal(errno, EAGAIN);
		assert_true(sk_loop_run_once(loop, 10) >= 0);
	}
	assert_int_equal(last, 0);
	assert_int_equal(got_len, sent);
	assert_pattern(got, 0, sent);
	free(got);
	assert_true(sk_conn_write_closed(c));
	assert_int_equal(r->n_close, 0);

	/* The conn still reads the peer's answer, then its EOF. */
	assert_int_equal(write(sv[1], "answer", 6), 6);
	assert_int_equal(shutdown(sv[1], SHUT_WR), 0);
	RUN_UNTIL(loop, r->n_eof, 2000);
	assert_int_equal(r->in_len, 6);
	assert_memory_equal(r->in, "answer", 6);
	assert_int_equal(r->n_eof, 1);
	assert_int_equal(r->n_close, 0);
	sk_conn_shutdown(c); /* again: nothing to do */
	sk_conn_close(c, 0);
	assert_int_equal(r->n_close, 1);
	close(sv[1]);
	rec_free(r);
	sk_loop_free(loop);
}

static void test_conn_close_after_flush_delivers_the_queue(void **state)
{
	(void)state;
	struct sk_loop *loop = loop_new();
	struct rec *r = rec_new();
	int sv[2];
	pair(sv);
	small_sndbuf(sv[0]);
	set_nonblock(sv[1]);
	struct sk_conn *c = conn_new(loop, sv[0], sv[0], NULL, r);
	size_t sent = fill_until_queued(c, 0, 3000);
	sk_conn_close_after_flush(c);
	assert_int_equal(r->n_close, 0);
	/* Reading stops now. */
	assert_int_equal(write(sv[1], "ignored", 7), 7);
	run_for(loop, 20);
	assert_int_equal(r->n_data, 0);
	assert_int_equal(r->n_close, 0);

	char *got = malloc(sent + 1);
	assert_non_null(got);
	size_t got_len = 0;
	ssize_t last = -1;
	uint64_t end = now_ms() + 3000;
	while (now_ms() < end) {
		last = peer_read(sv[1], got, sent + 1, &got_len);
		if (last == 0 || errno != EAGAIN)
			break;
		assert_true(sk_loop_run_once(loop, 10) >= 0);
	}
	/* The end of the stream: EOF, or a reset because "ignored" was never
	 * read (AF_UNIX reports that as ECONNRESET after the data). */
	assert_true(last == 0 || errno == ECONNRESET);
	assert_int_equal(got_len, sent);
	assert_pattern(got, 0, sent);
	free(got);
	assert_int_equal(r->n_close, 1);
	assert_int_equal(r->close_err, 0);
	assert_int_equal(r->n_data, 0);
	close(sv[1]);
	rec_free(r);
	sk_loop_free(loop);
}

static void test_conn_close_after_flush_with_empty_queue_closes_at_once(void **state)
{
	(void)state;
	struct sk_loop *loop = loop_new();
	struct rec *r = rec_new();
	int sv[2];
	pair(sv);
	struct sk_conn *c = conn_new(loop, sv[0], sv[0], NULL, r);
	assert_int_equal(sk_conn_send(c, "last", 4), 0);
	sk_conn_close_after_flush(c);
	/* At once (the send went out in sk_conn_send); deferred, once the
	 * ring has sent it. */
	if (defer_sends)
		RUN_UNTIL(loop, r->n_close, 2000);
	assert_int_equal(r->n_close, 1);
	assert_int_equal(r->close_err, 0);
	settle(loop);
	char buf[8];
	assert_int_equal(read(sv[1], buf, sizeof buf), 4);
	assert_int_equal(read(sv[1], buf, sizeof buf), 0);
	close(sv[1]);
	rec_free(r);
	sk_loop_free(loop);
}

static void test_conn_close_after_flush_after_shutdown(void **state)
{
	(void)state;
	/* Half-close, read the answer, then finish: the usual client
	 * sequence. The write side is already shut and nothing is queued, so
	 * close_after_flush must close. */
	struct sk_loop *loop = loop_new();
	struct rec *r = rec_new();
	int sv[2];
	pair(sv);
	struct sk_conn *c = conn_new(loop, sv[0], sv[0], NULL, r);
	assert_int_equal(sk_conn_send(c, "q", 1), 0);
	sk_conn_shutdown(c);
	if (defer_sends)
		RUN_UNTIL(loop, sk_conn_write_closed(c), 2000);
	assert_true(sk_conn_write_closed(c));
	char buf[4];
	assert_int_equal(read(sv[1], buf, sizeof buf), 1);
	assert_int_equal(read(sv[1], buf, sizeof buf), 0);
	assert_int_equal(write(sv[1], "a", 1), 1);
	close(sv[1]);
	RUN_UNTIL(loop, r->n_eof, 2000);
	assert_int_equal(r->n_eof, 1);
	sk_conn_close_after_flush(c);
	RUN_UNTIL(loop, r->n_close, 200);
	int n_close = r->n_close, err = r->close_err;
	if (r->c) /* not closed: release it, so a failure leaks nothing */
		sk_conn_close(r->c, 0);
	rec_free(r);
	sk_loop_free(loop);
	if (n_close != 1)
		fail_msg("on_close ran %d times after close_after_flush, want 1", n_close);
	assert_int_equal(err, 0);
}

struct close_case {
	const char *name;
	int kind; /* 0 socketpair, 1 pipes, 2 regular file */
	int close_in_data;
	bool close_in_eof;
	bool close_again_in_close;
};

static int temp_file_with(size_t len)
{
	char path[] = "/tmp/sockit-test-conn-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	char *buf = malloc(len ? len : 1);
	assert_non_null(buf);
	fill_pattern(buf, 0, len);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	free(buf);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static void test_conn_close_from_inside_callbacks(void **state)
{
	(void)state;
	static const struct close_case cases[] = {
		{ "on_data, socket", 0, -ECONNABORTED, false, false },
		{ "on_data, socket, close again in on_close", 0, -ECONNABORTED, false, true },
		{ "on_data, pipes", 1, -ECONNABORTED, false, false },
		{ "on_data, file", 2, -ECONNABORTED, false, false },
		{ "on_eof, socket", 0, 0, true, false },
		{ "on_eof, pipes", 1, 0, true, true },
		{ "on_eof, file", 2, 0, true, false },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct close_case *cc = &cases[i];
		struct sk_loop *loop = loop_new();
		struct rec *r = rec_new();
		r->close_in_data = cc->close_in_data;
		r->close_in_eof = cc->close_in_eof;
		r->close_again_in_close = cc->close_again_in_close;
		int peer_r = -1, peer_w = -1;
		if (cc->kind == 0) {
			int sv[2];
			pair(sv);
			conn_new(loop, sv[0], sv[0], NULL, r);
			peer_r = peer_w = sv[1];
		} else if (cc->kind == 1) {
			int a[2], b[2];
			assert_int_equal(pipe(a), 0);
			assert_int_equal(pipe(b), 0);
			conn_new(loop, a[0], b[1], NULL, r);
			peer_w = a[1];
			peer_r = b[0];
			set_nonblock(peer_r);
		} else {
			conn_new(loop, temp_file_with(200000), -1, NULL, r);
		}
		if (peer_w >= 0) {
			assert_int_equal(write(peer_w, "first", 5), 5);
			if (cc->close_in_eof) {
				if (peer_w == peer_r) {
					assert_int_equal(shutdown(peer_w, SHUT_WR), 0);
				} else {
					close(peer_w);
					peer_w = -1;
				}
			}
		}
		RUN_UNTIL(loop, r->n_close, 2000);
		run_for(loop, 10);
		if (r->n_close != 1)
			fail_msg("%s: on_close ran %d times", cc->name, r->n_close);
		assert_int_equal(r->close_err, cc->close_in_eof ? 0 : cc->close_in_data);
		if (!cc->close_in_eof)
			assert_int_equal(r->n_data, 1);
		if (r->after_close)
			fail_msg("%s: a callback after on_close", cc->name);
		/* The conn's end is closed: the peer sees the end of the stream. */
		if (peer_r >= 0) {
			char buf[64];
			ssize_t n = read(peer_r, buf, sizeof buf);
			assert_true(n == 0 || (n < 0 && errno == ECONNRESET));
		}
		if (peer_w >= 0 && peer_w != peer_r)
			close(peer_w);
		if (peer_r >= 0)
			close(peer_r);
		rec_free(r);
		sk_loop_free(loop);
	}
}

static void test_conn_close_from_on_drain(void **state)
{
	(void)state;
	struct sk_loop *loop = loop_new();
	struct rec *r = rec_new();
	r->close_in_drain = -ECANCELED;
	int sv[2];
	pair(sv);
	small_sndbuf(sv[0]);
	set_nonblock(sv[1]);
	struct sk_conn_opts opts;
	sk_conn_opts_init(&opts);
	opts.out_max = 64 * 1024;
	opts.high_water = 16 * 1024;
	opts.low_water = 4 * 1024;
	struct sk_conn *c = conn_new(loop, sv[0], sv[0], &opts, r);
	char chunk[1024];
	for (int i = 0; !sk_conn_is_full(c); i++) {
		if (i > 100000)
			fail_msg("never full");
		fill_pattern(chunk, 0, sizeof chunk);
		assert_int_equal(sk_conn_send(c, chunk, sizeof chunk), 0);
	}
	char *got = malloc(1 << 20);
	assert_non_null(got);
	size_t got_len = 0;
	uint64_t end = now_ms() + 3000;
	while (!r->n_close && now_ms() < end) {
		peer_read(sv[1], got, 1 << 20, &got_len);
		assert_true(sk_loop_run_once(loop, 10) >= 0);
	}
	free(got);
	assert_int_equal(r->n_drain, 1);
	assert_int_equal(r->n_close, 1);
	assert_int_equal(r->close_err, -ECANCELED);
	close(sv[1]);
	rec_free(r);
	sk_loop_free(loop);
}

/* --- idle timeout ---------------------------------------------------------- */

static void test_conn_idle_timeout_closes(void **state)
{
	(void)state;
	struct sk_loop *loop = loop_new();
	struct rec *r = rec_new();
	int sv[2];
	pair(sv);
	struct sk_conn_opts opts;
	sk_conn_opts_init(&opts);
	opts.idle_ms = 50;
	uint64_t start = now_ms();
	conn_new(loop, sv[0], sv[0], &opts, r);
	RUN_UNTIL(loop, r->n_close, 1000);
	uint64_t took = now_ms() - start;
	assert_int_equal(r->n_close, 1);
	assert_int_equal(r->close_err, -ETIMEDOUT);
	if (took < 45 || took > 500)
		fail_msg("closed after %llu ms, want about 50", (unsigned long long)took);
	settle(loop);
	char b;
	assert_int_equal(read(sv[1], &b, 1), 0);
	close(sv[1]);
	rec_free(r);
	sk_loop_free(loop);
}

static void test_conn_activity_postpones_idle(void **state)
{
	(void)state;
	struct sk_loop *loop = loop_new();
	struct rec *r = rec_new();
	int sv[2];
	pair(sv);
	set_nonblock(sv[1]);
	struct sk_conn_opts opts;
	sk_conn_opts_init(&opts);
	opts.idle_ms = 200;
	struct sk_conn *c = conn_new(loop, sv[0], sv[0], &opts, r);
	/* A byte in or out every 50 ms for 400 ms: two idle periods. */
	uint64_t last = now_ms();
	for (int i = 0; i < 8; i++) {
		if (i % 2 == 0) {
			assert_int_equal(write(sv[1], "x", 1), 1);
		} else {
			assert_int_equal(sk_conn_send(c, "y", 1), 0);
			char b[8];
			peer_expect(loop, sv[1], b, 1);
		}
		last = now_ms();
		run_for(loop, 50);
		if (r->n_close && now_ms() - last < opts.idle_ms)
			fail_msg("closed after %d quiet periods of 50 ms", i + 1);
		if (r->n_close) /* this process was stalled past idle_ms: the close was right */
			skip();
	}
	assert_int_equal(r->in_len, 4);
	/* Quiet now: closed about idle_ms after the last byte. */
	RUN_UNTIL(loop, r->n_close, 2000);
	uint64_t quiet = now_ms() - last;
	assert_int_equal(r->n_close, 1);
	assert_int_equal(r->close_err, -ETIMEDOUT);
	if (quiet < 190 || quiet > 1500)
		fail_msg("closed %llu ms after the last byte, want about 200",
		         (unsigned long long)quiet);
	close(sv[1]);
	rec_free(r);
	sk_loop_free(loop);
}

static void test_conn_set_idle_changes_the_timeout(void **state)
{
	(void)state;
	struct sk_loop *loop = loop_new();
	struct rec *r = rec_new();
	int sv[2];
	pair(sv);
	struct sk_conn_opts opts;
	sk_conn_opts_init(&opts);
	opts.idle_ms = 30;
	struct sk_conn *c = conn_new(loop, sv[0], sv[0], &opts, r);
	sk_conn_set_idle(c, 0);
	run_for(loop, 100);
	assert_int_equal(r->n_close, 0);
	uint64_t start = now_ms();
	sk_conn_set_idle(c, 40);
	RUN_UNTIL(loop, r->n_close, 1000);
	assert_int_equal(r->n_close, 1);
	assert_int_equal(r->close_err, -ETIMEDOUT);
	assert_true(now_ms() - start >= 35);
	close(sv[1]);
	rec_free(r);
	sk_loop_free(loop);
}

/* --- files, /dev/null and pipes ------------------------------------------ */

static void test_conn_reads_a_regular_file(void **state)
{
	(void)state;
	/* epoll refuses regular files; the conn must still read every byte. */
	static const size_t sizes[] = { 0, 1, 65536, 200000 };
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		struct sk_loop *loop = loop_new();
		struct rec *r = rec_new();
		/* stdin a file, stdout /dev/null: neither can be polled. */
		r->echo = true;
		int out = open("/dev/null", O_WRONLY | O_CLOEXEC);
		assert_true(out >= 0);
		struct sk_conn *c = conn_new(loop, temp_file_with(sizes[i]), out, NULL, r);
		RUN_UNTIL(loop, r->n_eof, 2000);
		assert_int_equal(r->n_eof, 1);
		assert_int_equal(r->in_len, sizes[i]);
		assert_int_equal(sk_conn_pending(c), 0);
		assert_int_equal(r->n_close, 0);
		assert_pattern(r->in, 0, r->in_len);
		assert_true(sk_conn_read_closed(c));
		/* Nothing left to do: no busy timer. */
		assert_int_equal(sk_loop_run_once(loop, 10), 0);
		assert_int_equal(r->n_eof, 1);
		sk_conn_close(c, 0);
		assert_int_equal(r->n_close, 1);
		rec_free(r);
		sk_loop_free(loop);
	}
}

static void test_conn_pause_holds_a_file(void **state)
{
	(void)state;
	struct sk_loop *loop = loop_new();
	struct rec *r = rec_new();
	struct sk_conn *c = conn_new(loop, temp_file_with(1000), -1, NULL, r);
	sk_conn_pause(c);
	run_for(loop, 30);
	assert_int_equal(r->n_data, 0);
	sk_conn_resume(c);
	RUN_UNTIL(loop, r->n_eof, 2000);
	assert_int_equal(r->in_len, 1000);
	sk_conn_close(c, 0);
	rec_free(r);
	sk_loop_free(loop);
}

static void test_conn_dev_null_reads_eof_and_takes_writes(void **state)
{
	(void)state;
	struct sk_loop *loop = loop_new();
	struct rec *r = rec_new();
	int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int out = open("/dev/null", O_WRONLY | O_CLOEXEC);
	assert_true(in >= 0 && out >= 0);
	struct sk_conn *c = conn_new(loop, in, out, NULL, r);
	char *big = calloc(1, 500000);
	assert_non_null(big);
	assert_int_equal(sk_conn_send(c, big, 500000), 0);
	assert_int_equal(sk_conn_pending(c), 0);
	free(big);
	RUN_UNTIL(loop, r->n_eof, 2000);
	assert_int_equal(r->n_eof, 1);
	assert_int_equal(r->in_len, 0);
	assert_int_equal(sk_conn_send(c, "after eof", 9), 0);
	sk_conn_shutdown(c);
	assert_true(sk_conn_write_closed(c));
	assert_false(fd_is_open(out));
	assert_int_equal(sk_conn_send(c, "x", 1), SK_EPIPE);
	sk_conn_close(c, 0);
	assert_false(fd_is_open(in));
	assert_int_equal(r->n_close, 1);
	rec_free(r);
	sk_loop_free(loop);
}

static void test_conn_writes_a_regular_file(void **state)
{
	(void)state;
	char path[] = "/tmp/sockit-test-conn-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	int check = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(check >= 0);
	unlink(path);
	struct sk_loop *loop = loop_new();
	struct rec *r = rec_new();
	struct sk_conn *c = conn_new(loop, -1, fd, NULL, r);
	char *big = malloc(300000);
	assert_non_null(big);
	fill_pattern(big, 0, 300000);
	assert_int_equal(sk_conn_send(c, big, 100000), 0);
	assert_int_equal(sk_conn_send(c, big + 100000, 200000), 0);
	assert_int_equal(sk_conn_pending(c), 0);
	sk_conn_close(c, 0);
	assert_int_equal(r->n_close, 1);
	char *back = malloc(300001);
	assert_non_null(back);
	size_t len = 0;
	ssize_t n;
	while ((n = read(check, back + len, 300001 - len)) > 0)
		len += (size_t)n;
	assert_int_equal(len, 300000);
	assert_memory_equal(back, big, 300000);
	free(back);
	free(big);
	close(check);
	rec_free(r);
	sk_loop_free(loop);
}

static void test_conn_over_separate_pipes(void **state)
{
	(void)state;
	struct sk_loop *loop = loop_new();
	struct rec *r = rec_new();
	r->echo = true;
	int a[2], b[2]; /* a: peer -> conn, b: conn -> peer */
	assert_int_equal(pipe(a), 0);
	assert_int_equal(pipe(b), 0);
	set_nonblock(b[0]);
	struct sk_conn *c = conn_new(loop, a[0], b[1], NULL, r);
	assert_int_equal(write(a[1], "ping", 4), 4);
	RUN_UNTIL(loop, r->n_data, 2000);
	char buf[16];
	assert_int_equal(read(b[0], buf, sizeof buf), 4);
	assert_memory_equal(buf, "ping", 4);

	/* Half-close: the write pipe is closed; the read pipe keeps working. */
	sk_conn_shutdown(c);
	assert_true(sk_conn_write_closed(c));
	assert_false(fd_is_open(b[1]));
	assert_int_equal(read(b[0], buf, sizeof buf), 0);
	assert_int_equal(write(a[1], "more", 4), 4);
	RUN_UNTIL(loop, r->in_len == 8, 2000);
	assert_memory_equal(r->in, "pingmore", 8);
	close(a[1]);
	RUN_UNTIL(loop, r->n_eof, 2000);
	assert_int_equal(r->n_eof, 1);
	assert_int_equal(r->n_close, 0);
	sk_conn_close(c, 0);
	assert_false(fd_is_open(a[0]));
	close(b[0]);
	rec_free(r);
	sk_loop_free(loop);
}

static void test_conn_pipe_queue_and_shutdown(void **state)
{
	(void)state;
	/* A full pipe queues; shutdown closes the pipe once the queue is out. */
	struct sk_loop *loop = loop_new();
	struct rec *r = rec_new();
	int b[2];
	assert_int_equal(pipe(b), 0);
	set_nonblock(b[0]);
	struct sk_conn *c = conn_new(loop, -1, b[1], NULL, r);
	size_t sent = fill_until_queued(c, 0, 10000);
	sk_conn_shutdown(c);
	assert_false(sk_conn_write_closed(c));
	char *got = malloc(sent + 1);
	assert_non_null(got);
	size_t got_len = 0;
	ssize_t last = -1;
	uint64_t end = now_ms() + 3000;
	while (now_ms() < end) {
		last = peer_read(b[0], got, sent + 1, &got_len);
		if (last == 0)
			break;
		assert_true(sk_loop_run_once(loop, 10) >= 0);
	}
	assert_int_equal(last, 0);
	assert_int_equal(got_len, sent);
	assert_pattern(got, 0, sent);
	free(got);
	assert_true(sk_conn_write_closed(c));
	sk_conn_close(c, 0);
	close(b[0]);
	rec_free(r);
	sk_loop_free(loop);
}

/* --- ownership --------------------------------------------------------------- */

static void test_conn_restores_blocking_flags(void **state)
{
	(void)state;
	/* stdin shares its file description with the shell: O_NONBLOCK set on
	 * it shows through every dup, and must be undone at close. */
	struct sk_loop *loop = loop_new();
	struct rec *r = rec_new();
	int p[2];
	assert_int_equal(pipe(p), 0);
	int d = dup(p[0]);
	assert_true(d >= 0);
	assert_false(fcntl(d, F_GETFL) & O_NONBLOCK);
	struct sk_conn *c = conn_new(loop, p[0], -1, NULL, r);
	assert_true(fcntl(d, F_GETFL) & O_NONBLOCK);
	sk_conn_close(c, 0);
	assert_false(fcntl(d, F_GETFL) & O_NONBLOCK);
	assert_false(fd_is_open(p[0]));
	/* A non-blocking fd stays non-blocking. */
	int q[2];
	assert_int_equal(pipe2(q, O_NONBLOCK), 0);
	int e = dup(q[1]);
	struct rec *r2 = rec_new();
	c = conn_new(loop, -1, q[1], NULL, r2);
	sk_conn_close(c, 0);
	assert_true(fcntl(e, F_GETFL) & O_NONBLOCK);
	rec_free(r2);
	close(d);
	close(e);
	close(p[1]);
	close(q[0]);
	rec_free(r);
	sk_loop_free(loop);
}

static void other_io(struct sk_loop *loop, int fd, unsigned events, void *ud)
{
	(void)loop;
	(void)fd;
	(void)events;
	(void)ud;
}

static void test_conn_new_failure_closes_the_fds(void **state)
{
	(void)state;
	struct sk_loop *loop = loop_new();
	struct rec *r = rec_new();
	struct sk_conn_opts opts;
	sk_conn_opts_init(&opts);
	/* The read fd is taken already. */
	int sv[2];
	pair(sv);
	assert_int_equal(sk_loop_add_fd(loop, sv[0], SK_EV_READ, other_io, NULL), 0);
	struct sk_conn *c = NULL;
	assert_int_equal(sk_conn_new(loop, sv[0], sv[0], &opts, &handler, r, &c), -EEXIST);
	assert_false(fd_is_open(sv[0]));
	close(sv[1]);
	/* The write fd is taken: the read fd is unwatched and both are closed. */
	int a[2], b[2];
	assert_int_equal(pipe(a), 0);
	assert_int_equal(pipe(b), 0);
	assert_int_equal(sk_loop_add_fd(loop, b[1], 0, other_io, NULL), 0);
	assert_int_equal(sk_conn_new(loop, a[0], b[1], &opts, &handler, r, &c), -EEXIST);
	assert_false(fd_is_open(a[0]));
	assert_false(fd_is_open(b[1]));
	assert_int_equal(sk_loop_del_fd(loop, a[0]), -ENOENT);
	close(a[1]);
	close(b[0]);
	/* An fd that is not open at all. */
	assert_true(sk_conn_new(loop, 1000, -1, &opts, &handler, r, &c) < 0);
	assert_int_equal(r->n_close, 0);
	assert_int_equal(r->n_data, 0);
	rec_free(r);
	sk_loop_free(loop);
}

static void test_conn_shutdown_of_a_shared_non_socket_fd(void **state)
{
	(void)state;
	/* One fd for both directions that is not a socket (a FIFO opened
	 * read-write; a tty is the same): there is no shutdown(2), and the
	 * conn must still close the fd exactly once. */
	char dir[] = "/tmp/sockit-test-fifo-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[64];
	snprintf(path, sizeof path, "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	unlink(path);
	rmdir(dir);
	struct sk_loop *loop = loop_new();
	struct rec *r = rec_new();
	struct sk_conn *c = conn_new(loop, fd, fd, NULL, r);
	sk_conn_shutdown(c);
	/* Whatever became of the fd, a new one may take its number... */
	int other = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(other >= 0);
	sk_conn_close(c, 0);
	int n_close = r->n_close;
	/* ...and closing the conn must not close that one. */
	bool other_open = fd_is_open(other);
	if (other_open)
		close(other);
	rec_free(r);
	sk_loop_free(loop);
	assert_int_equal(n_close, 1);
	if (!other_open)
		fail_msg("closing the conn closed fd %d, which it did not own (shutdown "
		         "had closed its fd %d already)", other, fd);
}

/* --- tracing ----------------------------------------------------------------- */

struct trace_log {
	char lines[32][128];
	int n;
};

static void on_trace(void *ud, const char *line)
{
	struct trace_log *log = ud;
	if (log->n < 32)
		snprintf(log->lines[log->n++], sizeof log->lines[0], "%s", line);
}

static bool traced(const struct trace_log *log, const char *line)
{
	for (int i = 0; i < log->n; i++)
		if (strcmp(log->lines[i], line) == 0)
			return true;
	return false;
}

static void test_conn_traces_its_calls(void **state)
{
	(void)state;
	struct trace_log log = { .n = 0 };
	struct sk_tracer tracer = { on_trace, &log };
	struct sk_loop *loop = loop_new();
	struct rec *r = rec_new();
	int sv[2];
	pair(sv);
	struct sk_conn_opts opts;
	sk_conn_opts_init(&opts);
	opts.tracer = &tracer;
	struct sk_conn *c = conn_new(loop, sv[0], sv[0], &opts, r);
	int fd = sv[0];
	assert_int_equal(write(sv[1], "abc", 3), 3);
	assert_int_equal(shutdown(sv[1], SHUT_WR), 0);
	RUN_UNTIL(loop, r->n_eof, 2000);
	assert_int_equal(sk_conn_send(c, "xy", 2), 0);
	RUN_UNTIL(loop, sk_conn_pending(c) == 0, 2000);
	sk_conn_shutdown(c);
	sk_conn_close(c, 0);
	char want[64];
	snprintf(want, sizeof want, "recv(%d) = 3", fd);
	assert_true(traced(&log, want));
	snprintf(want, sizeof want, "recv(%d) = 0 (end of stream)", fd);
	assert_true(traced(&log, want));
	snprintf(want, sizeof want, "send(%d, 2)", fd);
	assert_true(traced(&log, want));
	snprintf(want, sizeof want, "shutdown(%d, SHUT_WR)", fd);
	assert_true(traced(&log, want));
	snprintf(want, sizeof want, "close(%d)", fd);
	assert_true(traced(&log, want));
	assert_string_equal(log.lines[log.n - 1], want);
	close(sv[1]);
	rec_free(r);
	sk_loop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conn_delivers_peer_bytes),
		cmocka_unit_test(test_conn_pause_stops_reading),
		cmocka_unit_test(test_conn_peer_close_gives_eof),
		cmocka_unit_test(test_conn_writes_after_peer_half_closes),
		cmocka_unit_test(test_conn_send_writes_at_once),
		cmocka_unit_test(test_conn_backpressure_high_and_low_water),
		cmocka_unit_test(test_conn_drain_when_the_loop_empties_the_queue),
		cmocka_unit_test(test_conn_send_refuses_past_out_max),
		cmocka_unit_test(test_conn_send_to_a_closed_socket_fails_with_epipe),
		cmocka_unit_test(test_conn_send_to_a_closed_pipe_fails_with_epipe),
		cmocka_unit_test(test_conn_counts_bytes_written),
		cmocka_unit_test(test_conn_shutdown_half_closes),
		cmocka_unit_test(test_conn_close_after_flush_delivers_the_queue),
		cmocka_unit_test(test_conn_close_after_flush_with_empty_queue_closes_at_once),
		cmocka_unit_test(test_conn_close_after_flush_after_shutdown),
		cmocka_unit_test(test_conn_close_from_inside_callbacks),
		cmocka_unit_test(test_conn_close_from_on_drain),
		cmocka_unit_test(test_conn_idle_timeout_closes),
		cmocka_unit_test(test_conn_activity_postpones_idle),
		cmocka_unit_test(test_conn_set_idle_changes_the_timeout),
		cmocka_unit_test(test_conn_reads_a_regular_file),
		cmocka_unit_test(test_conn_pause_holds_a_file),
		cmocka_unit_test(test_conn_dev_null_reads_eof_and_takes_writes),
		cmocka_unit_test(test_conn_writes_a_regular_file),
		cmocka_unit_test(test_conn_over_separate_pipes),
		cmocka_unit_test(test_conn_pipe_queue_and_shutdown),
		cmocka_unit_test(test_conn_restores_blocking_flags),
		cmocka_unit_test(test_conn_new_failure_closes_the_fds),
		cmocka_unit_test(test_conn_shutdown_of_a_shared_non_socket_fd),
		cmocka_unit_test(test_conn_traces_its_calls),
		cmocka_unit_test(test_conn_on_recv_takes_fewer_and_gets_the_rest_after_resume),
		cmocka_unit_test(test_conn_send_file_goes_in_pieces_after_the_queue),
		cmocka_unit_test(test_conn_send_after_a_file_keeps_the_order),
		cmocka_unit_test(test_conn_shared_file_is_closed_by_its_last_holder),
		cmocka_unit_test(test_conn_send_buf_takes_the_storage),
	};
	/* Every wait in these tests is bounded; this is the backstop. */
	alarm(120);
	int failed = cmocka_run_group_tests_name("conn/epoll", tests, NULL, NULL);
	/* io_uring: skipped when SOCKIT_IO_URING=0 (make valgrind: valgrind
	 * cannot see the kernel fill io_uring's buffers) or the kernel refuses. */
	const char *env = getenv("SOCKIT_IO_URING");
	struct sk_loop *probe;
	if ((env && strcmp(env, "0") == 0) || sk_loop_new(&probe) < 0)
		return failed;
	bool has = sk_loop_use_io_uring(probe) == 0;
	sk_loop_free(probe);
	if (!has) {
		print_message("note: io_uring unavailable: conn/io_uring not run\n");
		return failed;
	}
	use_io_uring = true;
	failed += cmocka_run_group_tests_name("conn/io_uring", tests, NULL, NULL);
	defer_sends = true;
	return failed + cmocka_run_group_tests_name("conn/io_uring+defer_sends", tests, NULL, NULL);
}
