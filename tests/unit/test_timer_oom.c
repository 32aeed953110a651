/* The loop's timers when the heap cannot grow (timer.c, loop.c): a timer
 * started then fires on the next iteration, never from inside the start
 * (where a callback that restarts its timer would recurse for as long as
 * memory stays short). realloc is replaced in this program to fail on
 * demand, so this test is its own binary; under ASan or valgrind, whose
 * allocators this would bypass, it skips. */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <sockit/loop.h>

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

static bool fail_realloc;

/* The realloc this one replaces: the allocator's own, found at run time.
 * (glibc's __libc_realloc would be handed ASan's blocks while the test
 * skips under ASan, and abort on them.) */
void *realloc(void *p, size_t n);
void *realloc(void *p, size_t n)
{
	static void *(*next)(void *, size_t);
	if (fail_realloc)
		return NULL;
	if (!next)
		next = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
	return next(p, n);
}

static bool under_valgrind(void)
{
	const char *pre = getenv("LD_PRELOAD");
	return pre && strstr(pre, "vgpreload");
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
	if (SANITIZED || under_valgrind())
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timer_without_room_fires_next_iteration),
	};
	alarm(30);
	return cmocka_run_group_tests_name("timer_oom", tests, NULL, NULL);
}
