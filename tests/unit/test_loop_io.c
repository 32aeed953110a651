/* Unit tests for the loop's completion-based stream I/O (loop_stream.c and
 * the backends, loop_epoll.c, loop_uring.c, loop_ring.c): sk_loop_recv_* and
 * sk_loop_send, on epoll and on io_uring. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <sockit/err.h>
#include <sockit/loop.h>

#include "testutil.h"

/* --- Completion-based stream I/O ---------------------------------------------
 * Each test runs twice: on epoll (read and send on readiness) and on
 * io_uring (multishot receives into provided buffers, ring sends). The
 * caller must not be able to tell them apart. */

enum io_mode { MODE_EPOLL, MODE_URING };
static const enum io_mode epoll_mode = MODE_EPOLL, uring_mode = MODE_URING;

static bool env_is(const char *name, const char *value)
{
	const char *v = getenv(name);
	return v && strcmp(v, value) == 0;
}

/* A loop in the test's mode (its state). The io_uring variant is skipped
 * when SOCKIT_IO_URING=0 (make valgrind sets it: valgrind cannot see the
 * kernel fill io_uring's buffers) and when the kernel refuses io_uring;
 * SOCKIT_REQUIRE_IO_URING=1 turns either into a failure. */
static struct sk_loop *mode_loop(void **state)
{
	bool uring = *(const enum io_mode *)*state == MODE_URING;
	bool required = env_is("SOCKIT_REQUIRE_IO_URING", "1");
	if (uring && env_is("SOCKIT_IO_URING", "0")) {
		if (required)
			fail_msg("SOCKIT_REQUIRE_IO_URING=1 but SOCKIT_IO_URING=0");
		skip();
	}
	struct sk_loop *loop;
	assert_int_equal(sk_loop_new(&loop), 0);
	if (uring) {
		int err = sk_loop_use_io_uring(loop);
		if (err < 0) {
			sk_loop_free(loop);
			if (required)
				fail_msg("SOCKIT_REQUIRE_IO_URING=1 but io_uring is unavailable: %s",
				         sk_strerror(err));
			static bool noted;
			if (!noted)
				print_message("note: io_uring unavailable (%s): only the epoll variants run\n",
				              sk_strerror(err));
			noted = true;
			skip();
		}
		assert_int_equal(sk_loop_use_io_uring(loop), 0); /* a second call is a no-op */
	}
	assert_int_equal(sk_loop_has_io_uring(loop), uring);
	return loop;
}

/* Writes pattern bytes [*off, end) to the peer fd, as many as it takes now. */
static void peer_write(int fd, size_t *off, size_t end)
{
	unsigned char buf[65536];
	while (*off < end) {
		size_t n = end - *off < sizeof buf ? end - *off : sizeof buf;
		fill_pattern(buf, *off, n);
		ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return;
		assert_true(w > 0);
		*off += (size_t)w;
	}
}

/* Reads at most max bytes the peer fd has now and checks them against the
 * pattern at *off. Returns false at EOF or a reset. */
static bool peer_read(int fd, size_t *off, size_t max)
{
	unsigned char buf[65536];
	while (max) {
		ssize_t r = read(fd, buf, max < sizeof buf ? max : sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return true;
		if (r == 0 || (r < 0 && errno == ECONNRESET))
			return false;
		assert_true(r > 0);
		assert_int_equal(pattern_mismatch(buf, *off, (size_t)r), (size_t)r);
		*off += (size_t)r;
		max -= (size_t)r;
	}
	return true;
}

/* A receiver that keeps what it takes and checks it is the pattern, in
 * order. It takes at most `budget` bytes (SIZE_MAX: everything), so
 * lowering the budget makes it push back. */
struct rx {
	unsigned char *data;
	size_t len, cap;
	size_t budget;
	size_t want;          /* done once len reaches it */
	bool done;
	int calls, short_takes;
	bool pause_in_cb;     /* sk_loop_recv_pause from inside the callback */
	bool del_in_cb;       /* sk_loop_del_fd + close from inside the callback */
	int ends, end_err;
	size_t len_at_end;
	bool ended;
};

static void rx_init(struct rx *rx, size_t want)
{
	memset(rx, 0, sizeof *rx);
	rx->budget = SIZE_MAX;
	rx->want = want;
}

static size_t on_rx(struct sk_loop *loop, int fd, const char *data, size_t n, void *ud)
{
	struct rx *rx = ud;
	assert_true(n > 0);
	assert_int_equal(rx->ends, 0); /* no bytes after the end */
	rx->calls++;
	size_t take = n < rx->budget ? n : rx->budget;
	if (take < n)
		rx->short_takes++;
	rx->budget -= rx->budget == SIZE_MAX ? 0 : take;
	if (rx->len + take > rx->cap) {
		rx->cap = (rx->len + take) * 2;
		rx->data = realloc(rx->data, rx->cap);
		assert_non_null(rx->data);
	}
	memcpy(rx->data + rx->len, data, take);
	assert_int_equal(pattern_mismatch(rx->data + rx->len, rx->len, take), take);
	rx->len += take;
	rx->done = rx->len >= rx->want;
	if (rx->pause_in_cb)
		sk_loop_recv_pause(loop, fd);
	if (rx->del_in_cb) {
		assert_int_equal(sk_loop_del_fd(loop, fd), 0);
		close(fd);
	}
	return take;
}

static void on_rx_end(struct sk_loop *loop, int fd, int err, void *ud)
{
	(void)loop;
	(void)fd;
	struct rx *rx = ud;
	rx->ends++;
	rx->end_err = err;
	rx->len_at_end = rx->len;
	rx->ended = true;
}

static void rx_fini(struct rx *rx)
{
	free(rx->data);
}

/* The end of a one-pair test: the watcher goes, both ends close, the loop
 * is freed. */
static void end_pair_test(struct sk_loop *loop, int sv[2], struct rx *rx)
{
	assert_int_equal(sk_loop_del_fd(loop, sv[0]), 0);
	close(sv[0]);
	close(sv[1]);
	rx_fini(rx);
	sk_loop_free(loop);
}

static void on_io_unexpected(struct sk_loop *loop, int fd, unsigned events, void *ud)
{
	(void)loop;
	(void)ud;
	fail_msg("fd %d: events %#x nobody asked for", fd, events);
}

static void test_loop_recv_delivers_bytes_in_order(void **state)
{
	struct sk_loop *loop = mode_loop(state);
	int sv[2];
	tcp_pair(sv, 0);
	enum { TOTAL = 3 << 20 };
	struct rx rx;
	rx_init(&rx, TOTAL);
	assert_int_equal(sk_loop_recv_start(loop, sv[0], on_rx, on_rx_end, &rx), -ENOENT);
	assert_int_equal(sk_loop_add_fd(loop, sv[0], 0, on_io_unexpected, NULL), 0);
	assert_int_equal(sk_loop_recv_start(loop, sv[0], on_rx, on_rx_end, &rx), 0);
	assert_int_equal(sk_loop_recv_start(loop, sv[0], on_rx, on_rx_end, &rx), -EEXIST);
	/* Writes of every size, as fast as the socket takes them: many
	 * completions (16 KiB buffers) or reads (64 KiB) per iteration. */
	size_t sent = 0;
	uint64_t deadline = now_ms() + 10000;
	for (size_t step = 1; !rx.done && now_ms() < deadline; step = step * 7 % 100003) {
		peer_write(sv[1], &sent, sent + step < TOTAL ? sent + step : TOTAL);
		assert_true(sk_loop_run_once(loop, sent < TOTAL ? 0 : 10) >= 0);
	}
	assert_true(rx.done);
	assert_int_equal(rx.len, TOTAL);
	assert_int_equal(rx.ends, 0);
	assert_int_equal(rx.short_takes, 0);
	end_pair_test(loop, sv, &rx);
}

/* Many streams at once, more bytes than io_uring's provided buffers hold
 * (256 x 16 KiB): receives that run out of buffers go on once the
 * buffers come back, and every stream stays whole and in order. */
static void test_loop_recv_many_streams_at_once(void **state)
{
	struct sk_loop *loop = mode_loop(state);
	enum { N = 32, TOTAL = 512 << 10 };
	int sv[N][2];
	struct rx rx[N];
	size_t sent[N];
	for (int i = 0; i < N; i++) {
		tcp_pair(sv[i], 0);
		rx_init(&rx[i], TOTAL);
		sent[i] = 0;
		assert_int_equal(sk_loop_add_fd(loop, sv[i][0], 0, on_io_unexpected, NULL), 0);
		assert_int_equal(sk_loop_recv_start(loop, sv[i][0], on_rx, on_rx_end, &rx[i]), 0);
	}
	bool all = false;
	uint64_t deadline = now_ms() + 10000;
	while (!all && now_ms() < deadline) {
		for (int i = 0; i < N; i++)
			peer_write(sv[i][1], &sent[i], TOTAL);
		assert_true(sk_loop_run_once(loop, 10) >= 0);
		all = true;
		for (int i = 0; i < N; i++)
			all = all && rx[i].done;
	}
	for (int i = 0; i < N; i++) {
		assert_int_equal(rx[i].len, TOTAL);
		assert_int_equal(rx[i].ends, 0);
		assert_int_equal(sk_loop_del_fd(loop, sv[i][0]), 0);
		close(sv[i][0]);
		close(sv[i][1]);
		rx_fini(&rx[i]);
	}
	sk_loop_free(loop);
}

/* A receiver that takes fewer bytes than offered pauses; after the resume
 * it gets the rest first, then what arrived meanwhile, then new bytes. */
static void test_loop_recv_short_take_pauses_until_resume(void **state)
{
	struct sk_loop *loop = mode_loop(state);
	int sv[2];
	unix_pair(sv);
	struct rx rx;
	rx_init(&rx, 0);
	rx.budget = 100;
	assert_int_equal(sk_loop_add_fd(loop, sv[0], 0, on_io_unexpected, NULL), 0);
	assert_int_equal(sk_loop_recv_start(loop, sv[0], on_rx, on_rx_end, &rx), 0);
	size_t sent = 0;
	peer_write(sv[1], &sent, 1000);
	assert_int_equal(sent, 1000);
	rx.want = 100;
	assert_true(run_until(loop, &rx.done, 2000));
	assert_int_equal(rx.short_takes, 1);
	/* Paused: more bytes wait, in the loop or in the socket. */
	peer_write(sv[1], &sent, 50000);
	assert_int_equal(sent, 50000);
	int calls = rx.calls;
	run_for(loop, 100);
	assert_int_equal(rx.calls, calls);
	assert_int_equal(rx.len, 100);
	/* Resumed, but taking only 10 more: paused again. */
	rx.budget = 10;
	sk_loop_recv_resume(loop, sv[0]);
	assert_int_equal(rx.calls, calls); /* offered from the loop, not inside resume */
	rx.done = false;
	rx.want = 110;
	assert_true(run_until(loop, &rx.done, 2000));
	run_for(loop, 50);
	assert_int_equal(rx.len, 110);
	/* Resumed for good: everything, in order, then new bytes. */
	rx.budget = SIZE_MAX;
	rx.done = false;
	rx.want = 50000;
	sk_loop_recv_resume(loop, sv[0]);
	sk_loop_recv_resume(loop, sv[0]); /* twice is once */
	assert_true(run_until(loop, &rx.done, 2000));
	rx.done = false;
	rx.want = 80000;
	peer_write(sv[1], &sent, 80000);
	assert_int_equal(sent, 80000);
	assert_true(run_until(loop, &rx.done, 2000));
	assert_int_equal(rx.len, 80000);
	assert_int_equal(rx.ends, 0);
	end_pair_test(loop, sv, &rx);
}

/* A receiver offered its held bytes after a resume takes them all and
 * pauses inside that callback: the receive must stay stopped until the
 * next resume. (It was restarted: with io_uring the kernel then filled
 * held, unseen, until HELD_MAX failed the receive.) */
static void test_loop_recv_pause_while_taking_held_bytes(void **state)
{
	struct sk_loop *loop = mode_loop(state);
	int sv[2];
	unix_pair(sv);
	struct rx rx;
	rx_init(&rx, 100);
	rx.budget = 100;
	assert_int_equal(sk_loop_add_fd(loop, sv[0], 0, on_io_unexpected, NULL), 0);
	assert_int_equal(sk_loop_recv_start(loop, sv[0], on_rx, on_rx_end, &rx), 0);
	size_t sent = 0;
	peer_write(sv[1], &sent, 1000);
	assert_true(run_until(loop, &rx.done, 2000)); /* 900 bytes held, paused */
	rx.budget = SIZE_MAX;
	rx.pause_in_cb = true;
	rx.done = false;
	rx.want = 1000;
	sk_loop_recv_resume(loop, sv[0]);
	assert_true(run_until(loop, &rx.done, 2000));
	int calls = rx.calls;
	/* Paused: the peer fills the socket and then waits; nothing more is
	 * read, by the receiver or into the loop. */
	uint64_t deadline = now_ms() + 300;
	while (now_ms() < deadline) {
		peer_write(sv[1], &sent, 16u << 20);
		assert_true(sk_loop_run_once(loop, 5) >= 0);
	}
	assert_int_equal(rx.calls, calls);
	assert_int_equal(rx.ends, 0);
	assert_true(sent < (4u << 20));
	rx.pause_in_cb = false;
	rx.done = false;
	rx.want = sent;
	sk_loop_recv_resume(loop, sv[0]);
	assert_true(run_until(loop, &rx.done, 2000));
	assert_int_equal(rx.len, sent);
	end_pair_test(loop, sv, &rx);
}

/* sk_loop_recv_pause, from outside and from inside the callback: nothing is
 * delivered while paused, everything after the resume, in order. */
static void test_loop_recv_pause_and_resume(void **state)
{
	struct sk_loop *loop = mode_loop(state);
	int sv[2];
	tcp_pair(sv, 0);
	struct rx rx;
	rx_init(&rx, 1000);
	assert_int_equal(sk_loop_add_fd(loop, sv[0], 0, on_io_unexpected, NULL), 0);
	assert_int_equal(sk_loop_recv_start(loop, sv[0], on_rx, on_rx_end, &rx), 0);
	size_t sent = 0;
	peer_write(sv[1], &sent, 1000);
	assert_true(run_until(loop, &rx.done, 2000));
	for (int round = 0; round < 2; round++) {
		if (round == 0) {
			sk_loop_recv_pause(loop, sv[0]);
			sk_loop_recv_pause(loop, sv[0]); /* twice is once */
		} else {
			/* Paused from inside the callback that took the bytes. */
			rx.pause_in_cb = true;
			rx.done = false;
			rx.want = rx.len + 1;
			peer_write(sv[1], &sent, sent + 1000);
			assert_true(run_until(loop, &rx.done, 2000));
			rx.pause_in_cb = false;
		}
		size_t end = sent + 200000;
		uint64_t deadline = now_ms() + 300;
		int calls = rx.calls;
		while (now_ms() < deadline) { /* as much as the socket holds */
			peer_write(sv[1], &sent, end);
			assert_true(sk_loop_run_once(loop, 10) >= 0);
		}
		assert_int_equal(rx.calls, calls);
		rx.done = false;
		rx.want = end;
		sk_loop_recv_resume(loop, sv[0]);
		deadline = now_ms() + 5000;
		while (!rx.done && now_ms() < deadline) {
			peer_write(sv[1], &sent, end);
			assert_true(sk_loop_run_once(loop, 10) >= 0);
		}
		assert_true(rx.done);
		assert_int_equal(rx.len, end);
	}
	assert_int_equal(rx.short_takes, 0);
	assert_int_equal(rx.ends, 0);
	end_pair_test(loop, sv, &rx);
}

/* The peer's EOF comes through end_fn(0), once, and only after the bytes
 * before it have been taken. */
static void test_loop_recv_eof_after_held_bytes(void **state)
{
	struct sk_loop *loop = mode_loop(state);
	for (int kind = 0; kind < 2; kind++) { /* AF_UNIX, then TCP */
		int sv[2];
		if (kind == 0)
			unix_pair(sv);
		else
			tcp_pair(sv, 0);
		struct rx rx;
		rx_init(&rx, 0);
		rx.budget = 5000;
		assert_int_equal(sk_loop_add_fd(loop, sv[0], 0, on_io_unexpected, NULL), 0);
		assert_int_equal(sk_loop_recv_start(loop, sv[0], on_rx, on_rx_end, &rx), 0);
		size_t sent = 0;
		peer_write(sv[1], &sent, 40000);
		assert_int_equal(sent, 40000);
		assert_int_equal(shutdown(sv[1], SHUT_WR), 0);
		rx.want = 5000;
		assert_true(run_until(loop, &rx.done, 2000));
		run_for(loop, 100);
		assert_int_equal(rx.len, 5000);
		assert_int_equal(rx.ends, 0); /* held behind the bytes not taken */
		rx.budget = SIZE_MAX;
		sk_loop_recv_resume(loop, sv[0]);
		assert_true(run_until(loop, &rx.ended, 2000));
		assert_int_equal(rx.ends, 1);
		assert_int_equal(rx.end_err, 0);
		assert_int_equal(rx.len_at_end, 40000);
		run_for(loop, 50);
		assert_int_equal(rx.ends, 1);
		/* Over: a resume does nothing, a new receive may start. */
		sk_loop_recv_resume(loop, sv[0]);
		sk_loop_recv_pause(loop, sv[0]);
		assert_int_equal(sk_loop_fd_events(loop, sv[0]), 0);
		assert_int_equal(sk_loop_del_fd(loop, sv[0]), 0);
		close(sv[0]);
		close(sv[1]);
		rx_fini(&rx);
	}
	sk_loop_free(loop);
}

struct tx {
	int calls;
	long n;
	bool done;
};

static void on_tx(struct sk_loop *loop, int fd, long n, void *ud)
{
	(void)loop;
	(void)fd;
	struct tx *tx = ud;
	tx->calls++;
	tx->n = n;
	tx->done = true;
}

static void test_loop_send_small_goes_at_once(void **state)
{
	struct sk_loop *loop = mode_loop(state);
	int sv[2];
	unix_pair(sv);
	struct tx tx = { 0 };
	unsigned char buf[1000];
	fill_pattern(buf, 0, sizeof buf);
	assert_int_equal(sk_loop_send(loop, sv[0], buf, sizeof buf, 0, on_tx, &tx), -ENOENT);
	assert_int_equal(sk_loop_add_fd(loop, sv[0], 0, on_io_unexpected, NULL), 0);
	size_t got = 0;
	for (int i = 0; i < 3; i++) { /* back to back: each one ends before the next */
		long n = sk_loop_send(loop, sv[0], buf, sizeof buf, 0, on_tx, &tx);
		if (n == SK_EINPROGRESS) { /* io_uring reports through the callback */
			memset(buf, 0, sizeof buf); /* the loop kept a copy */
			tx.done = false;
			assert_true(run_until(loop, &tx.done, 2000));
			assert_int_equal(tx.n, sizeof buf);
			fill_pattern(buf, 0, sizeof buf);
		} else {
			assert_int_equal(n, sizeof buf);
		}
		size_t off = 0;
		assert_true(peer_read(sv[1], &off, sizeof buf));
		assert_int_equal(off, sizeof buf);
		got += off;
	}
	int calls = tx.calls;
	run_for(loop, 30);
	assert_int_equal(tx.calls, calls); /* no late report */
	assert_int_equal(got, 3 * sizeof buf);
	assert_int_equal(sk_loop_del_fd(loop, sv[0]), 0);
	close(sv[0]);
	close(sv[1]);
	sk_loop_free(loop);
}

/* 8 MiB to a peer that reads 32 KiB per iteration: the callback reports
 * every byte once, the peer gets them in order, a second send meanwhile
 * is -EBUSY, and the caller's buffer may change as soon as send returns. */
static void test_loop_send_big_to_a_slow_reader(void **state)
{
	struct sk_loop *loop = mode_loop(state);
	int sv[2];
	tcp_pair(sv, 65536);
	enum { TOTAL = 8 << 20 };
	unsigned char *buf = malloc(TOTAL);
	assert_non_null(buf);
	fill_pattern(buf, 0, TOTAL);
	struct tx tx = { 0 }, other = { 0 };
	assert_int_equal(sk_loop_add_fd(loop, sv[0], 0, on_io_unexpected, NULL), 0);
	long n = sk_loop_send(loop, sv[0], buf, TOTAL, MSG_MORE, on_tx, &tx);
	assert_int_equal(n, SK_EINPROGRESS);
	memset(buf, 0xAA, TOTAL);
	free(buf);
	assert_int_equal(sk_loop_send(loop, sv[0], "x", 1, 0, on_tx, &other), -EBUSY);
	size_t got = 0;
	uint64_t deadline = now_ms() + 20000;
	while (got < TOTAL && now_ms() < deadline) {
		assert_true(sk_loop_run_once(loop, 1) >= 0);
		if (got < TOTAL / 2)
			assert_int_equal(sk_loop_send(loop, sv[0], "x", 1, 0, on_tx, &other), -EBUSY);
		assert_true(peer_read(sv[1], &got, 32768));
	}
	assert_int_equal(got, TOTAL);
	assert_true(run_until(loop, &tx.done, 2000));
	assert_int_equal(tx.calls, 1);
	assert_int_equal(tx.n, TOTAL);
	assert_int_equal(other.calls, 0);
	/* Done: the next send is allowed. */
	unsigned char tail[10];
	fill_pattern(tail, TOTAL, sizeof tail);
	n = sk_loop_send(loop, sv[0], tail, sizeof tail, 0, on_tx, &other);
	if (n == SK_EINPROGRESS)
		assert_true(run_until(loop, &other.done, 2000));
	else
		assert_int_equal(n, sizeof tail);
	deadline = now_ms() + 2000;
	while (got < TOTAL + sizeof tail && now_ms() < deadline)
		assert_true(peer_read(sv[1], &got, sizeof tail));
	assert_int_equal(got, TOTAL + sizeof tail);
	assert_int_equal(tx.calls, 1);
	assert_int_equal(sk_loop_del_fd(loop, sv[0]), 0);
	close(sv[0]);
	close(sv[1]);
	sk_loop_free(loop);
}

/* Runs the loop until the peer sees the connection end (EOF or a reset)
 * after whatever it still had to read. With io_uring the kernel lets the
 * socket go when the loop next waits for completions: cancelled requests
 * finish in that wait's task work (IORING_SETUP_DEFER_TASKRUN). */
static bool peer_sees_close(struct sk_loop *loop, int fd, int ms)
{
	uint64_t deadline = now_ms() + (uint64_t)ms;
	unsigned char buf[65536];
	while (now_ms() < deadline) {
		ssize_t r = read(fd, buf, sizeof buf);
		if (r == 0 || (r < 0 && errno == ECONNRESET))
			return true;
		if (r < 0 && errno == EAGAIN)
			assert_true(sk_loop_run_once(loop, 1) >= 0);
	}
	return false;
}

/* sk_loop_del_fd with a send and a receive in flight (from outside the
 * callbacks and from inside the receive's): no callback for the old fd
 * afterwards, not even once its number is reused; the kernel lets the
 * socket go (the peer sees it close); the loop goes on for other fds. */
static void test_loop_del_fd_with_io_in_flight(void **state)
{
	struct sk_loop *loop = mode_loop(state);
	enum { BIG = 8 << 20 };
	char *big = calloc(1, BIG);
	assert_non_null(big);
	for (int inside = 0; inside < 2; inside++) {
		int sv[2];
		tcp_pair(sv, 65536);
		struct rx rx;
		struct tx tx = { 0 };
		rx_init(&rx, 1);
		assert_int_equal(sk_loop_add_fd(loop, sv[0], 0, on_io_unexpected, NULL), 0);
		assert_int_equal(sk_loop_recv_start(loop, sv[0], on_rx, on_rx_end, &rx), 0);
		assert_int_equal(sk_loop_send(loop, sv[0], big, BIG, 0, on_tx, &tx), SK_EINPROGRESS);
		size_t sent = 0;
		peer_write(sv[1], &sent, 1000);
		assert_true(run_until(loop, &rx.done, 2000));
		run_for(loop, 20);
		int old_fd = sv[0];
		if (inside) {
			/* The receive's own callback ends the fd, with bytes still coming. */
			rx.del_in_cb = true;
			rx.done = false;
			rx.want = rx.len + 1;
			peer_write(sv[1], &sent, sent + 300000);
			assert_true(run_until(loop, &rx.done, 2000));
		} else {
			peer_write(sv[1], &sent, sent + 300000); /* completions the loop has not seen */
			assert_int_equal(sk_loop_del_fd(loop, sv[0]), 0);
			close(sv[0]);
		}
		assert_int_equal(sk_loop_fd_events(loop, old_fd), 0);
		assert_int_equal(sk_loop_del_fd(loop, old_fd), -ENOENT);
		int rx_calls = rx.calls;
		/* A new connection, likely on the old fd number. */
		int nv[2];
		unix_pair(nv);
		struct rx rx2;
		rx_init(&rx2, 5000);
		assert_int_equal(sk_loop_add_fd(loop, nv[0], 0, on_io_unexpected, NULL), 0);
		assert_int_equal(sk_loop_recv_start(loop, nv[0], on_rx, on_rx_end, &rx2), 0);
		size_t sent2 = 0;
		peer_write(nv[1], &sent2, 5000);
		assert_true(run_until(loop, &rx2.done, 2000));
		assert_true(peer_sees_close(loop, sv[1], 5000));
		run_for(loop, 50);
		assert_int_equal(rx.calls, rx_calls);
		assert_int_equal(rx.ends, 0);
		assert_int_equal(tx.calls, 0);
		assert_int_equal(rx2.len, 5000);
		assert_int_equal(rx2.ends, 0);
		long n = sk_loop_send(loop, nv[0], "ok", 2, 0, on_tx, &tx);
		if (n == SK_EINPROGRESS)
			assert_true(run_until(loop, &tx.done, 2000));
		else
			assert_int_equal(n, 2);
		char two[2];
		uint64_t deadline = now_ms() + 2000;
		while (recv(nv[1], two, 2, MSG_PEEK) < 2 && now_ms() < deadline)
			usleep(1000);
		assert_int_equal(read(nv[1], two, 2), 2);
		assert_memory_equal(two, "ok", 2);
		assert_int_equal(sk_loop_del_fd(loop, nv[0]), 0);
		close(nv[0]);
		close(nv[1]);
		close(sv[1]);
		rx_fini(&rx);
		rx_fini(&rx2);
	}
	free(big);
	sk_loop_free(loop);
}

static void on_rx_end_del(struct sk_loop *loop, int fd, int err, void *ud)
{
	on_rx_end(loop, fd, err, ud);
	assert_int_equal(sk_loop_del_fd(loop, fd), 0);
	close(fd);
}

/* sk_loop_run keeps going while receives or a send run, and returns once
 * they are over: receives ended (watchers deleted or left with no events)
 * and the send done. An alarm bounds each run: a hang kills the test. */
static void test_loop_run_returns_when_io_is_over(void **state)
{
	struct sk_loop *loop = mode_loop(state);
	int a[2], b[2];
	unix_pair(a);
	tcp_pair(b, 0);
	struct rx ra, rb;
	rx_init(&ra, 3000);
	rx_init(&rb, 70000);
	assert_int_equal(sk_loop_add_fd(loop, a[0], 0, on_io_unexpected, NULL), 0);
	assert_int_equal(sk_loop_add_fd(loop, b[0], 0, on_io_unexpected, NULL), 0);
	assert_int_equal(sk_loop_recv_start(loop, a[0], on_rx, on_rx_end_del, &ra), 0);
	assert_int_equal(sk_loop_recv_start(loop, b[0], on_rx, on_rx_end, &rb), 0);
	struct tx tx = { 0 };
	long n = sk_loop_send(loop, b[0], "bye", 3, 0, on_tx, &tx);
	assert_true(n == 3 || n == SK_EINPROGRESS);
	size_t sa = 0, sb = 0;
	peer_write(a[1], &sa, 3000);
	peer_write(b[1], &sb, 70000);
	assert_int_equal(sa + sb, 73000);
	close(a[1]);
	assert_int_equal(shutdown(b[1], SHUT_WR), 0);
	unsigned backstop = alarm(20);
	assert_int_equal(sk_loop_run(loop), 0);
	assert_int_equal(ra.ends, 1);
	assert_int_equal(ra.len_at_end, 3000);
	assert_int_equal(rb.ends, 1);
	assert_int_equal(rb.end_err, 0);
	assert_int_equal(rb.len_at_end, 70000);
	assert_true(n == 3 || tx.n == 3);
	char bye[3];
	assert_int_equal(read(b[1], bye, 3), 3);
	assert_memory_equal(bye, "bye", 3);
	/* The receive ended, the watcher stays (events 0): not work either. */
	assert_int_equal(sk_loop_run(loop), 0);
	alarm(backstop);
	assert_int_equal(sk_loop_del_fd(loop, b[0]), 0);
	close(b[0]);
	close(b[1]);
	rx_fini(&ra);
	rx_fini(&rb);
	sk_loop_free(loop);
}

/* --- The clock of a wakeup ----------------------------------------------------
 * Callbacks see the time the loop woke, not the time it went to sleep: a
 * head that arrives after a long wait must not be timed from before it. */

struct late_writer {
	int fd;
	unsigned delay_ms;
};

static void *write_late(void *arg)
{
	const struct late_writer *lw = arg;
	struct timespec ts = { lw->delay_ms / 1000, (long)(lw->delay_ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
	unsigned char b = pattern_byte(0);
	assert_int_equal(send(lw->fd, &b, 1, MSG_NOSIGNAL), 1);
	return NULL;
}

struct clock_rx {
	uint64_t now_in_cb;
};

static size_t on_clock_rx(struct sk_loop *loop, int fd, const char *data, size_t n, void *ud)
{
	(void)fd;
	(void)data;
	struct clock_rx *c = ud;
	c->now_in_cb = sk_loop_now(loop);
	return n;
}

static void on_clock_end(struct sk_loop *loop, int fd, int err, void *ud)
{
	(void)loop;
	(void)fd;
	(void)err;
	(void)ud;
}

static void test_loop_callbacks_see_the_time_of_the_wakeup(void **state)
{
	struct sk_loop *loop = mode_loop(state);
	int sv[2];
	tcp_pair(sv, 0);
	struct clock_rx c = { 0 };
	assert_int_equal(sk_loop_add_fd(loop, sv[0], 0, on_io_unexpected, NULL), 0);
	assert_int_equal(sk_loop_recv_start(loop, sv[0], on_clock_rx, on_clock_end, &c), 0);
	assert_true(sk_loop_run_once(loop, 0) >= 0);
	uint64_t before = sk_loop_now(loop);
	struct late_writer lw = { sv[1], 400 };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, write_late, &lw), 0);
	for (int i = 0; i < 100 && !c.now_in_cb; i++)
		assert_true(sk_loop_run_once(loop, 2000) >= 0);
	pthread_join(t, NULL);
	assert_true(c.now_in_cb != 0);
	/* 400 ms passed in the wait; allow for a coarse clock. */
	assert_true(c.now_in_cb >= before + 350);
	assert_int_equal(sk_loop_del_fd(loop, sv[0]), 0);
	close(sv[0]);
	close(sv[1]);
	sk_loop_free(loop);
}

/* --- Work off the loop --------------------------------------------------------- */

struct job {
	struct sk_work work;
	unsigned sleep_ms;
	pthread_t ran_on;      /* set by the worker */
	bool ran, done;
	int *n_done;
	struct job *then;      /* started from this job's done callback */
};

static void job_run(struct sk_work *w)
{
	struct job *j = w->ud;
	struct timespec ts = { 0, (long)j->sleep_ms * 1000000L };
	nanosleep(&ts, NULL);
	j->ran_on = pthread_self();
	j->ran = true;
}

static void job_done(struct sk_loop *loop, struct sk_work *w)
{
	struct job *j = w->ud;
	assert_true(j->ran);
	assert_false(j->done);
	j->done = true;
	(*j->n_done)++;
	if (j->then)
		assert_int_equal(sk_loop_work_start(loop, &j->then->work, job_run, job_done, j->then), 0);
}

static void test_loop_work_runs_off_the_loop(void **state)
{
	struct sk_loop *loop = mode_loop(state);
	enum { N = 12 };
	struct job jobs[N + 1];
	int n_done = 0;
	memset(jobs, 0, sizeof jobs);
	for (int i = 0; i <= N; i++) {
		jobs[i].sleep_ms = 50;
		jobs[i].n_done = &n_done;
	}
	jobs[0].then = &jobs[N]; /* work started from a done callback runs too */
	uint64_t start = now_ms();
	for (int i = 0; i < N; i++)
		assert_int_equal(sk_loop_work_start(loop, &jobs[i].work, job_run, job_done, &jobs[i]), 0);
	assert_int_equal(sk_loop_work_pending(loop), N);
	/* Work in flight is work: run returns once the last done has run. */
	unsigned backstop = alarm(20);
	assert_int_equal(sk_loop_run(loop), 0);
	alarm(backstop);
	uint64_t took = now_ms() - start;
	assert_int_equal(n_done, N + 1);
	assert_int_equal(sk_loop_work_pending(loop), 0);
	for (int i = 0; i <= N; i++) {
		assert_true(jobs[i].done);
		assert_false(pthread_equal(jobs[i].ran_on, pthread_self()));
	}
	/* 13 x 50 ms on a few threads at once, not one after another. */
	assert_true(took < 13 * 50);
	sk_loop_free(loop);
}

/* The loop keeps serving I/O while work blocks. */
static void test_loop_work_does_not_stall_io(void **state)
{
	struct sk_loop *loop = mode_loop(state);
	int sv[2];
	unix_pair(sv);
	struct rx rx;
	rx_init(&rx, 1);
	assert_int_equal(sk_loop_add_fd(loop, sv[0], 0, on_io_unexpected, NULL), 0);
	assert_int_equal(sk_loop_recv_start(loop, sv[0], on_rx, on_rx_end, &rx), 0);
	int n_done = 0;
	struct job slow = { .sleep_ms = 800, .n_done = &n_done };
	assert_int_equal(sk_loop_work_start(loop, &slow.work, job_run, job_done, &slow), 0);
	size_t off = 0;
	peer_write(sv[1], &off, 1);
	uint64_t start = now_ms();
	assert_true(run_until(loop, &rx.done, 2000));
	assert_true(now_ms() - start < 400);
	assert_int_equal(n_done, 0);
	bool *done = &slow.done;
	assert_true(run_until(loop, done, 5000));
	end_pair_test(loop, sv, &rx);
}

/* Freeing a loop with work queued waits for the running work and drops
 * the rest: no callback runs after the free, nothing leaks. */
static void test_loop_free_with_work_in_flight(void **state)
{
	struct sk_loop *loop = mode_loop(state);
	int n_done = 0;
	struct job jobs[8];
	memset(jobs, 0, sizeof jobs);
	for (int i = 0; i < 8; i++) {
		jobs[i].sleep_ms = 20;
		jobs[i].n_done = &n_done;
		assert_int_equal(sk_loop_work_start(loop, &jobs[i].work, job_run, job_done, &jobs[i]), 0);
	}
	sk_loop_free(loop);
	assert_int_equal(n_done, 0);
}

/* Draining runs every done callback without running the loop. */
static void test_loop_work_drain_runs_every_done(void **state)
{
	struct sk_loop *loop = mode_loop(state);
	int n_done = 0;
	struct job jobs[6];
	memset(jobs, 0, sizeof jobs);
	for (int i = 0; i < 6; i++) {
		jobs[i].sleep_ms = 10 * (unsigned)i;
		jobs[i].n_done = &n_done;
		assert_int_equal(sk_loop_work_start(loop, &jobs[i].work, job_run, job_done, &jobs[i]), 0);
	}
	sk_loop_work_drain(loop);
	assert_int_equal(n_done, 6);
	assert_int_equal(sk_loop_work_pending(loop), 0);
	sk_loop_work_drain(loop); /* nothing in flight: returns at once */
	sk_loop_free(loop);
}

/* A completion-based I/O test, once on epoll and once on io_uring. */
#define BOTH_MODES(f) \
	{ #f "/epoll", f, NULL, NULL, (void *)&epoll_mode }, \
	{ #f "/io_uring", f, NULL, NULL, (void *)&uring_mode }

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH_MODES(test_loop_recv_delivers_bytes_in_order),
		BOTH_MODES(test_loop_recv_many_streams_at_once),
		BOTH_MODES(test_loop_recv_short_take_pauses_until_resume),
		BOTH_MODES(test_loop_recv_pause_and_resume),
		BOTH_MODES(test_loop_recv_pause_while_taking_held_bytes),
		BOTH_MODES(test_loop_recv_eof_after_held_bytes),
		BOTH_MODES(test_loop_send_small_goes_at_once),
		BOTH_MODES(test_loop_send_big_to_a_slow_reader),
		BOTH_MODES(test_loop_del_fd_with_io_in_flight),
		BOTH_MODES(test_loop_run_returns_when_io_is_over),
		BOTH_MODES(test_loop_callbacks_see_the_time_of_the_wakeup),
		BOTH_MODES(test_loop_work_runs_off_the_loop),
		BOTH_MODES(test_loop_work_does_not_stall_io),
		BOTH_MODES(test_loop_free_with_work_in_flight),
		BOTH_MODES(test_loop_work_drain_runs_every_done),
	};
	/* Every wait in these tests is bounded; this is the backstop (valgrind
	 * included). */
	alarm(180);
	return cmocka_run_group_tests_name("loop_io", tests, NULL, NULL);
}
