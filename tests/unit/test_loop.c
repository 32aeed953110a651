/* Unit tests for loop.c, loop_fd.c, timer.c and loop_poll.c: fds, timers, signals. */
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <sockit/err.h>
#include <sockit/loop.h>

struct io_log {
	int calls;
	unsigned last_events;
	bool del_self;
};

static void on_io(struct sk_loop *loop, int fd, unsigned events, void *ud)
{
	struct io_log *log = ud;
	log->calls++;
	log->last_events = events;
	if (log->del_self)
		sk_loop_del_fd(loop, fd);
	char buf[64];
	if (events & SK_EV_READ)
		(void)!read(fd, buf, sizeof buf);
}

static void test_loop_reports_readable_fd(void **state)
{
	(void)state;
	struct sk_loop *loop;
	assert_int_equal(sk_loop_new(&loop), 0);
	int p[2];
	assert_int_equal(pipe(p), 0);
	struct io_log log = { 0 };
	assert_int_equal(sk_loop_add_fd(loop, p[0], SK_EV_READ, on_io, &log), 0);
	assert_int_equal(sk_loop_add_fd(loop, p[0], SK_EV_READ, on_io, &log), -EEXIST);
	assert_int_equal(sk_loop_run_once(loop, 0), 0);
	assert_int_equal(log.calls, 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(sk_loop_run_once(loop, 1000), 1);
	assert_int_equal(log.calls, 1);
	assert_true(log.last_events & SK_EV_READ);

	/* Paused: data waits, no callback, no spinning. */
	assert_int_equal(sk_loop_mod_fd(loop, p[0], 0), 0);
	assert_int_equal(sk_loop_fd_events(loop, p[0]), 0);
	assert_int_equal(write(p[1], "y", 1), 1);
	assert_int_equal(sk_loop_run_once(loop, 10), 0);
	assert_int_equal(sk_loop_mod_fd(loop, p[0], SK_EV_READ), 0);
	assert_int_equal(sk_loop_run_once(loop, 1000), 1);
	assert_int_equal(log.calls, 2);

	assert_int_equal(sk_loop_del_fd(loop, p[0]), 0);
	assert_int_equal(sk_loop_del_fd(loop, p[0]), -ENOENT);
	assert_int_equal(sk_loop_mod_fd(loop, p[0], SK_EV_READ), -ENOENT);
	close(p[0]);
	close(p[1]);
	sk_loop_free(loop);
}

static void test_loop_callback_may_delete_its_fd(void **state)
{
	(void)state;
	struct sk_loop *loop;
	assert_int_equal(sk_loop_new(&loop), 0);
	int p[2];
	assert_int_equal(pipe(p), 0);
	struct io_log log = { .del_self = true };
	assert_int_equal(sk_loop_add_fd(loop, p[0], SK_EV_READ, on_io, &log), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	/* With nothing left to watch, run() returns instead of blocking. */
	assert_int_equal(sk_loop_run(loop), 0);
	assert_int_equal(log.calls, 1);
	close(p[0]);
	close(p[1]);
	sk_loop_free(loop);
}

static void test_loop_reports_hangup(void **state)
{
	(void)state;
	struct sk_loop *loop;
	assert_int_equal(sk_loop_new(&loop), 0);
	int p[2];
	assert_int_equal(pipe(p), 0);
	struct io_log log = { .del_self = true };
	assert_int_equal(sk_loop_add_fd(loop, p[0], SK_EV_READ, on_io, &log), 0);
	close(p[1]);
	assert_int_equal(sk_loop_run_once(loop, 1000), 1);
	assert_true(log.last_events & (SK_EV_ERROR | SK_EV_READ));
	close(p[0]);
	sk_loop_free(loop);
}

struct timer_log {
	int order[16];
	int n;
};

struct tagged_timer {
	struct sk_timer timer;
	int tag;
	struct timer_log *log;
};

static void on_timer(struct sk_loop *loop, struct sk_timer *t, void *ud)
{
	(void)loop;
	(void)t;
	struct tagged_timer *tt = ud;
	tt->log->order[tt->log->n++] = tt->tag;
}

static void test_loop_timers_fire_in_due_order(void **state)
{
	(void)state;
	struct sk_loop *loop;
	assert_int_equal(sk_loop_new(&loop), 0);
	struct timer_log log = { { 0 }, 0 };
	struct tagged_timer t[6];
	static const unsigned after[6] = { 30, 10, 20, 5, 25, 15 };
	for (int i = 0; i < 6; i++) {
		t[i].tag = i;
		t[i].log = &log;
		sk_timer_init(&t[i].timer, on_timer, &t[i]);
		assert_false(sk_timer_is_active(&t[i].timer));
		sk_loop_timer_start(loop, &t[i].timer, after[i]);
		assert_true(sk_timer_is_active(&t[i].timer));
	}
	/* Stop one, restart another later: the heap must follow. */
	sk_loop_timer_stop(loop, &t[4].timer);
	sk_loop_timer_stop(loop, &t[4].timer);
	sk_loop_timer_start(loop, &t[1].timer, 40);
	uint64_t start = sk_loop_now(loop);
	assert_int_equal(sk_loop_run(loop), 0);
	assert_true(sk_loop_now(loop) - start >= 40);
	static const int want[5] = { 3, 5, 2, 0, 1 };
	assert_int_equal(log.n, 5);
	assert_memory_equal(log.order, want, sizeof want);
	sk_loop_free(loop);
}

static void test_loop_many_timers_stay_ordered(void **state)
{
	(void)state;
	struct sk_loop *loop;
	assert_int_equal(sk_loop_new(&loop), 0);
	enum { N = 2000 };
	struct sk_timer *t = calloc(N, sizeof *t);
	assert_non_null(t);
	unsigned seed = 42;
	for (int i = 0; i < N; i++) {
		sk_timer_init(&t[i], NULL, NULL);
		seed = seed * 1103515245u + 12345u;
		sk_loop_timer_start(loop, &t[i], seed % 100000);
	}
	for (int i = 0; i < N; i += 3)
		sk_loop_timer_stop(loop, &t[i]);
	/* Remaining timers must come out of the heap in due order. */
	uint64_t prev = 0;
	int left = 0;
	for (int i = 0; i < N; i++)
		left += sk_timer_is_active(&t[i]);
	for (int k = 0; k < left; k++) {
		struct sk_timer *min = NULL;
		for (int i = 0; i < N; i++)
			if (sk_timer_is_active(&t[i]) && (!min || t[i].due_ms < min->due_ms))
				min = &t[i];
		assert_true(min->due_ms >= prev);
		prev = min->due_ms;
		sk_loop_timer_stop(loop, min);
	}
	free(t);
	sk_loop_free(loop);
}

static void on_sigusr1(struct sk_loop *loop, int signo, void *ud)
{
	*(int *)ud = signo;
	sk_loop_stop(loop);
}

static void test_loop_delivers_signals(void **state)
{
	(void)state;
	struct sk_loop *loop;
	assert_int_equal(sk_loop_new(&loop), 0);
	int got = 0;
	assert_int_equal(sk_loop_add_signal(loop, SIGUSR1, on_sigusr1, &got), 0);
	assert_int_equal(sk_loop_add_signal(loop, 0, on_sigusr1, &got), SK_EINVAL);
	/* A timer keeps run() going until the signal stops it. */
	struct sk_timer guard;
	sk_timer_init(&guard, NULL, NULL);
	sk_loop_timer_start(loop, &guard, 5000);
	raise(SIGUSR1);
	assert_int_equal(sk_loop_run(loop), 0);
	assert_int_equal(got, SIGUSR1);
	sk_loop_timer_stop(loop, &guard);
	sk_loop_free(loop);
}

static void test_loop_wakeup_returns_from_wait(void **state)
{
	(void)state;
	struct sk_loop *loop;
	assert_int_equal(sk_loop_new(&loop), 0);
	sk_loop_wakeup(loop);
	sk_loop_wakeup(loop);
	uint64_t before = sk_loop_now(loop);
	assert_true(sk_loop_run_once(loop, 5000) >= 0);
	assert_true(sk_loop_now(loop) - before < 1000);
	sk_loop_free(loop);
	sk_loop_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loop_reports_readable_fd),
		cmocka_unit_test(test_loop_callback_may_delete_its_fd),
		cmocka_unit_test(test_loop_reports_hangup),
		cmocka_unit_test(test_loop_timers_fire_in_due_order),
		cmocka_unit_test(test_loop_many_timers_stay_ordered),
		cmocka_unit_test(test_loop_delivers_signals),
		cmocka_unit_test(test_loop_wakeup_returns_from_wait),
	};
	return cmocka_run_group_tests_name("loop", tests, NULL, NULL);
}
