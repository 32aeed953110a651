/* The loop's timers when the heap cannot grow (timer.c, loop.c): a timer
 * started then fires on the next iteration, never from inside the start
 * (where a callback that restarts its timer would recurse for as long as
 * memory stays short). realloc is replaced in this program to fail on
 * demand (forwarding to the allocator's own otherwise), so this test is
 * its own binary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <dlfcn.h>

#include <sockit/loop.h>

/* The next realloc in symbol order: libc's, or ASan's or valgrind's when
 * they replace the allocator, so this override works under both. */
static void *(*next_realloc)(void *, size_t);
static bool fail_realloc;

void *realloc(void *p, size_t n);
void *realloc(void *p, size_t n)
{
	if (fail_realloc)
		return NULL;
	if (!next_realloc)
		next_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
	return next_realloc(p, n);
}

/* valgrind replaces realloc in the program too: then this one never runs. */
static bool override_works(void)
{
	/* Through a volatile pointer: the compiler may not treat it as the builtin. */
	void *(*volatile call)(void *, size_t) = realloc;
	void *p = malloc(8);
	fail_realloc = true;
	void *q = call(p, 4096);
	fail_realloc = false;
	free(q ? q : p);
	return q == NULL;
}

struct counting {
	struct sk_timer t;
	int fired;
	int depth, max_depth;
	int restarts_left;
};

static void on_fire(struct sk_loop *loop, struct sk_timer *t, void *ud)
{
	(void)t;
	struct counting *c = ud;
	c->fired++;
	c->depth++;
	if (c->depth > c->max_depth)
		c->max_depth = c->depth;
	if (c->restarts_left > 0) {
		c->restarts_left--;
		sk_loop_timer_start(loop, &c->t, 0);
	}
	c->depth--;
}

static void test_timer_without_room_fires_next_iteration(void **state)
{
	(void)state;
	if (!override_works())
		skip();
	struct sk_loop *loop;
	assert_int_equal(sk_loop_new(&loop), 0);
	/* Fill the heap's first 64 slots. */
	struct counting fill[64];
	memset(fill, 0, sizeof fill);
	for (int i = 0; i < 64; i++) {
		sk_timer_init(&fill[i].t, on_fire, &fill[i]);
		sk_loop_timer_start(loop, &fill[i].t, 60000);
	}
	struct counting c = { .restarts_left = 1000 };
	sk_timer_init(&c.t, on_fire, &c);
	fail_realloc = true;
	sk_loop_timer_start(loop, &c.t, 0);
	assert_int_equal(c.fired, 0); /* not from inside the start */
	assert_true(sk_timer_is_active(&c.t));
	/* It restarts itself every time and memory stays short: once per
	 * iteration, no recursion. */
	for (int i = 1; i <= 5; i++) {
		assert_true(sk_loop_run_once(loop, 1000) >= 1);
		assert_int_equal(c.fired, i);
	}
	assert_int_equal(c.max_depth, 1);
	/* A stopped overdue timer does not fire. */
	sk_loop_timer_stop(loop, &c.t);
	assert_false(sk_timer_is_active(&c.t));
	assert_true(sk_loop_run_once(loop, 0) >= 0);
	assert_int_equal(c.fired, 5);
	fail_realloc = false;
	/* With room again, timers go to the heap as before. */
	c.restarts_left = 0;
	sk_loop_timer_start(loop, &c.t, 1);
	assert_true(sk_loop_run_once(loop, 1000) >= 0);
	usleep(2000);
	assert_true(sk_loop_run_once(loop, 1000) >= 0);
	assert_int_equal(c.fired, 6);
	for (int i = 0; i < 64; i++)
		sk_loop_timer_stop(loop, &fill[i].t);
	sk_loop_free(loop);
}

/* With room on the heap, too: a timer restarted for 0 ms from its own
 * callback fires once per iteration, after the timers already due. */
static void test_timer_restarted_at_zero_waits_for_the_next_iteration(void **state)
{
	(void)state;
	struct sk_loop *loop;
	assert_int_equal(sk_loop_new(&loop), 0);
	struct counting c = { .restarts_left = 1000 };
	sk_timer_init(&c.t, on_fire, &c);
	sk_loop_timer_start(loop, &c.t, 0);
	for (int i = 1; i <= 5; i++) {
		assert_true(sk_loop_run_once(loop, 1000) >= 1);
		assert_int_equal(c.fired, i);
	}
	sk_loop_timer_stop(loop, &c.t);
	sk_loop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timer_restarted_at_zero_waits_for_the_next_iteration),
		cmocka_unit_test(test_timer_without_room_fires_next_iteration),
	};
	alarm(30);
	return cmocka_run_group_tests_name("timer_oom", tests, NULL, NULL);
}
