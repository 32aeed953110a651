/* Unit tests for relay.c (include/sockit/relay.h), driven through a real
 * loop. Side a is a pair of pipes (the test writes "stdin" and reads
 * "stdout"), side b a socketpair or a loopback TCP connection whose far end
 * the test plays. The lifetime cases are the ones that crashed: an error in
 * the middle of a callback that closes both conns and ends the relay while
 * the callback is still running (run them under `make asan`). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <sockit/err.h>
#include <sockit/loop.h>
#include <sockit/relay.h>

#include "testutil.h"

/* The suite runs on epoll, then with io_uring under the sockets (main). */
static bool use_io_uring;

static struct sk_loop *new_loop(void)
{
	struct sk_loop *loop;
	assert_int_equal(sk_loop_new(&loop), 0);
	if (use_io_uring)
		assert_int_equal(sk_loop_use_io_uring(loop), 0);
	return loop;
}

/* What on_done reported. */
struct done {
	int n_done;
	int err;
	char side;
	struct sk_relay_stats stats;
};

static void on_done(void *ud, int err, char side, const struct sk_relay_stats *stats)
{
	struct done *d = ud;
	d->n_done++;
	d->err = err;
	d->side = side;
	d->stats = *stats;
}

/* The test's ends of a relay: it writes a's stdin at in_w, reads a's stdout
 * at out_r, and plays b's peer at peer. */
struct rig {
	struct sk_loop *loop;
	struct sk_relay *relay;
	struct done done;
	int in_w, out_r, peer;
};

/* Starts a relay: a over two pipes, b over a socketpair (or TCP if tcp). */
static void rig_start(struct rig *g, const struct sk_relay_opts *opts_in, bool tcp)
{
	memset(g, 0, sizeof *g);
	g->loop = new_loop();
	int in[2], out[2], sv[2];
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	if (tcp)
		tcp_pair(sv, 0);
	else
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	g->in_w = in[1];
	g->out_r = out[0];
	g->peer = sv[1];
	set_nonblock(g->out_r);
	set_nonblock(g->peer);
	struct sk_relay_opts o;
	if (opts_in)
		o = *opts_in;
	else
		sk_relay_opts_init(&o);
	o.on_done = on_done;
	o.ud = &g->done;
	assert_int_equal(sk_relay_start(g->loop, in[0], out[1], sv[0], sv[0], &o, &g->relay), 0);
}

static void rig_end(struct rig *g)
{
	if (g->done.n_done == 0)
		sk_relay_stop(g->relay);
	assert_int_equal(g->done.n_done, 1);
	if (g->in_w >= 0)
		close(g->in_w);
	close(g->out_r);
	if (g->peer >= 0)
		close(g->peer);
	sk_loop_free(g->loop);
}

/* Reads what fd has now, appending to buf at *len; returns the last read:
 * 0 at EOF, -1 with errno (EAGAIN: nothing more now). */
static ssize_t drain(int fd, char *buf, size_t cap, size_t *len)
{
	for (;;) {
		char scratch[65536];
		char *to = buf ? buf + *len : scratch;
		size_t room = buf ? cap - *len : sizeof scratch;
		if (room == 0)
			fail_msg("buffer full");
		ssize_t n = read(fd, to, room);
		if (n <= 0)
			return n;
		*len += (size_t)n;
	}
}

static void write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EAGAIN) {
			usleep(1000);
			continue;
		}
		assert_true(n > 0);
		p += n;
		len -= (size_t)n;
	}
}

/* --- lifetime: errors inside callbacks ------------------------------------ */

/* The crash of issue 8: b's peer is gone, so relaying a's bytes fails inside
 * a's on_data; the failure closes both conns and ends the relay there. The
 * relay must survive until on_data returns and report exactly once. Run
 * many times: the original use-after-free showed in about half the runs. */
static void test_relay_send_failure_inside_on_data(void **state)
{
	(void)state;
	for (int i = 0; i < 200; i++) {
		struct rig g;
		rig_start(&g, NULL, false);
		close(g.peer);
		g.peer = -1;
		char buf[4096];
		fill_pattern(buf, 0, sizeof buf);
		write_all(g.in_w, buf, sizeof buf);
		RUN_UNTIL(g.loop, g.done.n_done, 2000);
		assert_int_equal(g.done.n_done, 1);
		assert_int_equal(g.done.err, -EPIPE);
		assert_int_equal(g.done.side, 'b');
		assert_true(g.done.stats.err_writing);
		assert_true(g.done.stats.a_to_b > 0);
		assert_int_equal(g.done.stats.a_to_b_sent, 0);
		assert_false(g.done.stats.a_eof);
		rig_end(&g);
	}
}

/* The same from the other side: stdout's reader is gone (`| head`), so the
 * peer's bytes fail inside b's on_data. */
static void test_relay_closed_stdout_inside_on_data(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < 200; i++) {
		struct rig g;
		rig_start(&g, NULL, false);
		close(g.out_r);
		g.out_r = open("/dev/null", O_RDONLY | O_CLOEXEC);
		assert_int_equal(write(g.peer, "to stdout", 9), 9);
		RUN_UNTIL(g.loop, g.done.n_done, 2000);
		assert_int_equal(g.done.n_done, 1);
		assert_int_equal(g.done.err, -EPIPE);
		assert_int_equal(g.done.side, 'a');
		assert_true(g.done.stats.err_writing);
		assert_int_equal(g.done.stats.b_to_a_sent, 0);
		/* b was closed at once: its peer sees the end. */
		char c;
		RUN_UNTIL(g.loop, read(g.peer, &c, 1) == 0, 2000);
		rig_end(&g);
	}
}

/* stdout fails (ENOSPC, as on /dev/full) while stdin is being relayed. */
static void test_relay_stdout_full(void **state)
{
	(void)state;
	struct sk_loop *loop;
	loop = new_loop();
	int full = open("/dev/full", O_WRONLY | O_CLOEXEC);
	if (full < 0) {
		sk_loop_free(loop);
		skip();
	}
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	struct done d = { 0 };
	struct sk_relay_opts o;
	sk_relay_opts_init(&o);
	o.on_done = on_done;
	o.ud = &d;
	assert_int_equal(sk_relay_start(loop, -1, full, sv[0], sv[0], &o, NULL), 0);
	assert_int_equal(write(sv[1], "xyz", 3), 3);
	RUN_UNTIL(loop, d.n_done, 2000);
	assert_int_equal(d.n_done, 1);
	assert_int_equal(d.err, -ENOSPC);
	assert_int_equal(d.side, 'a');
	assert_true(d.stats.err_writing);
	close(sv[1]);
	sk_loop_free(loop);
}

/* sk_relay_stop from outside any callback: both close, on_done once. */
static void test_relay_stop(void **state)
{
	(void)state;
	struct rig g;
	rig_start(&g, NULL, false);
	assert_int_equal(write(g.peer, "abc", 3), 3);
	char buf[8];
	size_t len = 0;
	RUN_UNTIL(g.loop, (drain(g.out_r, buf, sizeof buf, &len), len == 3), 2000);
	assert_int_equal(g.done.n_done, 0);
	sk_relay_stop(g.relay);
	assert_int_equal(g.done.n_done, 1);
	assert_int_equal(g.done.err, 0);
	rig_end(&g);
}

/* --- half-close --------------------------------------------------------- */

/* The peer's FIN ends only its direction: stdout gets EOF, and stdin goes
 * on reaching the peer until stdin's own EOF, which ends the relay cleanly. */
static void test_relay_peer_fin_keeps_sending_stdin(void **state)
{
	(void)state;
	struct rig g;
	rig_start(&g, NULL, false);
	assert_int_equal(write(g.peer, "bye", 3), 3);
	assert_int_equal(shutdown(g.peer, SHUT_WR), 0);
	char out[16];
	size_t out_len = 0;
	RUN_UNTIL(g.loop, drain(g.out_r, out, sizeof out, &out_len) == 0, 2000);
	assert_int_equal(out_len, 3);
	assert_memory_equal(out, "bye", 3);
	assert_int_equal(g.done.n_done, 0);

	const size_t total = 3 * 1024 * 1024;
	char *data = malloc(total), *got = malloc(total + 1);
	assert_non_null(data);
	assert_non_null(got);
	fill_pattern(data, 0, total);
	size_t sent = 0, got_len = 0;
	set_nonblock(g.in_w);
	while (got_len < total) {
		if (sent < total) {
			ssize_t n = write(g.in_w, data + sent, total - sent);
			if (n > 0)
				sent += (size_t)n;
		}
		if (sent == total && g.in_w >= 0) {
			close(g.in_w);
			g.in_w = -1;
		}
		assert_true(sk_loop_run_once(g.loop, 10) >= 0);
		drain(g.peer, got, total + 1, &got_len);
	}
	assert_memory_equal(got, data, total);
	RUN_UNTIL(g.loop, g.done.n_done, 2000);
	assert_int_equal(g.done.err, 0);
	assert_int_equal(g.done.stats.a_to_b, total);
	assert_int_equal(g.done.stats.a_to_b_sent, total);
	assert_true(g.done.stats.a_eof && g.done.stats.b_eof);
	assert_int_equal(drain(g.peer, got, total + 1, &got_len), 0); /* our FIN */
	free(data);
	free(got);
	rig_end(&g);
}

/* stdin's EOF first: the peer gets a FIN and may still answer. */
static void test_relay_stdin_eof_then_peer_answers(void **state)
{
	(void)state;
	struct rig g;
	rig_start(&g, NULL, false);
	assert_int_equal(write(g.in_w, "question", 8), 8);
	close(g.in_w);
	g.in_w = -1;
	char buf[32];
	size_t len = 0;
	RUN_UNTIL(g.loop, drain(g.peer, buf, sizeof buf, &len) == 0, 2000);
	assert_int_equal(len, 8);
	assert_int_equal(g.done.n_done, 0);
	assert_int_equal(write(g.peer, "answer", 6), 6);
	assert_int_equal(shutdown(g.peer, SHUT_WR), 0);
	RUN_UNTIL(g.loop, g.done.n_done, 2000);
	assert_int_equal(g.done.err, 0);
	len = 0;
	assert_int_equal(drain(g.out_r, buf, sizeof buf, &len), 0);
	assert_int_equal(len, 6);
	rig_end(&g);
}

/* finish_on_b_eof (nc -lk): the peer's EOF ends the session once what was
 * read from a is written; what a has not said yet stays unread. */
static void test_relay_finish_on_b_eof_leaves_the_rest_of_stdin(void **state)
{
	(void)state;
	struct sk_relay_opts o;
	sk_relay_opts_init(&o);
	o.finish_on_b_eof = true;
	struct rig g;
	rig_start(&g, &o, false);
	assert_int_equal(write(g.in_w, "first", 5), 5);
	char buf[16];
	size_t len = 0;
	RUN_UNTIL(g.loop, (drain(g.peer, buf, sizeof buf, &len), len == 5), 2000);
	assert_int_equal(shutdown(g.peer, SHUT_WR), 0);
	RUN_UNTIL(g.loop, g.done.n_done, 2000);
	assert_int_equal(g.done.err, 0);
	assert_int_equal(g.done.stats.a_to_b_sent, 5);
	assert_false(g.done.stats.a_eof);
	rig_end(&g);
}

/* --- resets ------------------------------------------------------------- */

/* A TCP peer that resets while stdin is being sent: the error is b's, and
 * the stats say how much of stdin got out. */
static void test_relay_reset_mid_send(void **state)
{
	(void)state;
	struct rig g;
	rig_start(&g, NULL, true);
	struct linger lg = { 1, 0 };
	assert_int_equal(setsockopt(g.peer, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
	char buf[65536];
	fill_pattern(buf, 0, sizeof buf);
	write_all(g.in_w, buf, 1000);
	size_t len = 0;
	RUN_UNTIL(g.loop, (drain(g.peer, NULL, 0, &len), len == 1000), 2000);
	close(g.peer); /* RST */
	g.peer = -1;
	set_nonblock(g.in_w);
	for (int i = 0; i < 1000 && !g.done.n_done; i++) {
		(void)write(g.in_w, buf, sizeof buf);
		assert_true(sk_loop_run_once(g.loop, 10) >= 0);
	}
	assert_int_equal(g.done.n_done, 1);
	assert_true(g.done.err == -ECONNRESET || g.done.err == -EPIPE);
	assert_int_equal(g.done.side, 'b');
	assert_true(g.done.stats.a_to_b_sent >= 1000);
	assert_false(g.done.stats.a_eof);
	rig_end(&g);
}

/* b fails (its idle timeout) while stdout cannot take everything b sent:
 * what is queued for stdout is still written before a closes. */
static void test_relay_error_on_b_still_flushes_stdout(void **state)
{
	(void)state;
	struct sk_relay_opts o;
	sk_relay_opts_init(&o);
	o.b.idle_ms = 200;
	struct rig g;
	rig_start(&g, &o, false);
	const size_t total = 256 * 1024; /* more than the stdout pipe holds */
	char *data = malloc(total), *got = malloc(total + 1);
	assert_non_null(data);
	assert_non_null(got);
	fill_pattern(data, 0, total);
	size_t sent = 0;
	while (sent < total) {
		ssize_t n = write(g.peer, data + sent, total - sent);
		if (n > 0)
			sent += (size_t)n;
		assert_true(sk_loop_run_once(g.loop, 10) >= 0);
	}
	/* Nobody reads stdout: b goes idle and closes, a keeps its queue. */
	char c;
	RUN_UNTIL(g.loop, read(g.peer, &c, 1) == 0, 3000);
	assert_int_equal(read(g.peer, &c, 1), 0);
	assert_int_equal(g.done.n_done, 0);
	size_t len = 0;
	uint64_t end = now_ms() + 3000;
	while (!g.done.n_done && now_ms() < end) {
		drain(g.out_r, got, total + 1, &len);
		assert_true(sk_loop_run_once(g.loop, 10) >= 0);
	}
	assert_int_equal(g.done.n_done, 1);
	assert_int_equal(g.done.err, -ETIMEDOUT);
	assert_int_equal(g.done.side, 'b');
	assert_int_equal(drain(g.out_r, got, total + 1, &len), 0);
	assert_int_equal(len, total);
	assert_memory_equal(got, data, total);
	free(data);
	free(got);
	rig_end(&g);
}

/* --- start ---------------------------------------------------------------- */

/* Options whose queue cannot take one read above high water are refused
 * (the relay would have to drop bytes), and the fds are closed. */
static void test_relay_start_refuses_a_queue_too_small(void **state)
{
	(void)state;
	struct sk_loop *loop;
	loop = new_loop();
	int sv[2], p[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	struct sk_relay_opts o;
	sk_relay_opts_init(&o);
	o.b.out_max = 64 * 1024;
	o.b.high_water = 32 * 1024; /* a reads 64 KiB at a time */
	assert_int_equal(sk_relay_start(loop, p[0], p[1], sv[0], sv[0], &o, NULL), SK_EINVAL);
	assert_true(fcntl(p[0], F_GETFD) < 0 && fcntl(p[1], F_GETFD) < 0);
	assert_true(fcntl(sv[0], F_GETFD) < 0);
	close(sv[1]);
	sk_loop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_relay_send_failure_inside_on_data),
		cmocka_unit_test(test_relay_closed_stdout_inside_on_data),
		cmocka_unit_test(test_relay_stdout_full),
		cmocka_unit_test(test_relay_stop),
		cmocka_unit_test(test_relay_peer_fin_keeps_sending_stdin),
		cmocka_unit_test(test_relay_stdin_eof_then_peer_answers),
		cmocka_unit_test(test_relay_finish_on_b_eof_leaves_the_rest_of_stdin),
		cmocka_unit_test(test_relay_reset_mid_send),
		cmocka_unit_test(test_relay_error_on_b_still_flushes_stdout),
		cmocka_unit_test(test_relay_start_refuses_a_queue_too_small),
	};
	signal(SIGPIPE, SIG_IGN);
	int failed = cmocka_run_group_tests_name("relay/epoll", tests, NULL, NULL);
	const char *env = getenv("SOCKIT_IO_URING");
	struct sk_loop *probe;
	if ((env && strcmp(env, "0") == 0) || sk_loop_new(&probe) < 0)
		return failed;
	bool has = sk_loop_use_io_uring(probe) == 0;
	sk_loop_free(probe);
	if (!has)
		return failed;
	use_io_uring = true;
	return failed + cmocka_run_group_tests_name("relay/io_uring", tests, NULL, NULL);
}
