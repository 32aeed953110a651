/* Unit tests for buf.c (include/sockit/buf.h): the bounded byte queue. Every
 * append is checked against a plain model of the bytes that should be held,
 * so growth, the memmove-to-front path and the ceiling are all pinned. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <sockit/buf.h>
#include <sockit/err.h>

#include "testutil.h"

/* The buffer holds exactly the stream bytes [from, from + len). */
static void assert_holds(const struct sk_buf *b, size_t from, size_t len)
{
	assert_int_equal(b->len, len);
	assert_pattern(sk_buf_head(b), from, len);
	/* Storage never passes the ceiling, and the view fits in it. */
	assert_true(b->cap <= b->max);
	assert_true(b->start + b->len <= b->cap);
}

static void test_buf_init_is_empty(void **state)
{
	(void)state;
	struct sk_buf b;
	sk_buf_init(&b, 100);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	assert_int_equal(b.max, 100);
	assert_int_equal(sk_buf_room(&b), 100);
	/* fini on an empty, then on a finished buffer. */
	sk_buf_fini(&b);
	assert_null(b.data);
	sk_buf_fini(&b);
	assert_int_equal(b.len, 0);
}

static void test_buf_append_fills_to_max_and_no_further(void **state)
{
	(void)state;
	/* Ceilings below, at and above the initial allocation, odd and even. */
	static const size_t maxes[] = { 1, 2, 5, 100, SK_BUF_INIT - 1, SK_BUF_INIT, SK_BUF_INIT + 1,
		                        3 * SK_BUF_INIT + 7, 100000 };
	static const size_t steps[] = { 1, 3, 1000, 65536 };
	for (size_t m = 0; m < sizeof maxes / sizeof maxes[0]; m++) {
		if (maxes[m] == 0)
			continue;
		for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
			size_t max = maxes[m];
			struct sk_buf b;
			sk_buf_init(&b, max);
			char *chunk = malloc(steps[s]);
			assert_non_null(chunk);
			size_t held = 0;
			while (held < max) {
				size_t n = steps[s] < max - held ? steps[s] : max - held;
				fill_pattern(chunk, held, n);
				assert_int_equal(sk_buf_append(&b, chunk, n), 0);
				held += n;
				assert_int_equal(sk_buf_room(&b), max - held);
			}
			assert_holds(&b, 0, max);
			/* One byte more is refused and changes nothing. */
			char *before = b.data;
			size_t cap = b.cap;
			assert_int_equal(sk_buf_append(&b, "x", 1), SK_ETOOLARGE);
			assert_ptr_equal(b.data, before);
			assert_int_equal(b.cap, cap);
			assert_holds(&b, 0, max);
			/* An empty append at the ceiling is fine. */
			assert_int_equal(sk_buf_append(&b, "x", 0), 0);
			assert_holds(&b, 0, max);
			free(chunk);
			sk_buf_fini(&b);
			assert_null(b.data);
		}
	}
}

static void test_buf_too_large_appends_nothing(void **state)
{
	(void)state;
	struct sk_buf b;
	sk_buf_init(&b, 10);
	assert_int_equal(sk_buf_append(&b, "abcdef", 6), 0);
	/* 6 + 5 > 10: refused whole, not cut to the 4 that would fit. */
	assert_int_equal(sk_buf_append(&b, "ghijk", 5), SK_ETOOLARGE);
	assert_int_equal(b.len, 6);
	assert_memory_equal(sk_buf_head(&b), "abcdef", 6);
	assert_int_equal(sk_buf_append(&b, "ghij", 4), 0);
	assert_int_equal(b.len, 10);
	assert_memory_equal(sk_buf_head(&b), "abcdefghij", 10);
	/* Far too large, and large enough to wrap max - len if it were added. */
	assert_int_equal(sk_buf_append(&b, "z", SIZE_MAX), SK_ETOOLARGE);
	assert_int_equal(b.len, 10);
	sk_buf_fini(&b);

	/* On an empty buffer too: a refused first append allocates nothing. */
	sk_buf_init(&b, 3);
	assert_int_equal(sk_buf_append(&b, "abcd", 4), SK_ETOOLARGE);
	assert_int_equal(b.len, 0);
	assert_null(b.data);
	sk_buf_fini(&b);
}

static void test_buf_zero_length_append(void **state)
{
	(void)state;
	struct sk_buf b;
	sk_buf_init(&b, 16);
	assert_int_equal(sk_buf_append(&b, "", 0), 0);
	assert_int_equal(b.len, 0);
	assert_int_equal(sk_buf_room(&b), 16);
	assert_int_equal(sk_buf_append(&b, "ab", 2), 0);
	assert_int_equal(sk_buf_append(&b, "", 0), 0);
	assert_int_equal(b.len, 2);
	assert_memory_equal(sk_buf_head(&b), "ab", 2);
	sk_buf_fini(&b);

	/* A zero ceiling holds nothing but accepts empty appends. */
	sk_buf_init(&b, 0);
	assert_int_equal(sk_buf_append(&b, "", 0), 0);
	assert_int_equal(sk_buf_append(&b, "a", 1), SK_ETOOLARGE);
	assert_int_equal(b.len, 0);
	assert_int_equal(sk_buf_room(&b), 0);
	sk_buf_fini(&b);
}

static void test_buf_consume_from_front(void **state)
{
	(void)state;
	struct sk_buf b;
	sk_buf_init(&b, 64);
	assert_int_equal(sk_buf_append(&b, "hello world", 11), 0);
	sk_buf_consume(&b, 0);
	assert_int_equal(b.len, 11);
	sk_buf_consume(&b, 6);
	assert_int_equal(b.len, 5);
	assert_memory_equal(sk_buf_head(&b), "world", 5);
	/* Consumed bytes give their room back to the ceiling. */
	assert_int_equal(sk_buf_room(&b), 59);
	assert_int_equal(sk_buf_append(&b, "!", 1), 0);
	assert_memory_equal(sk_buf_head(&b), "world!", 6);
	sk_buf_consume(&b, 6);
	assert_int_equal(b.len, 0);
	assert_int_equal(sk_buf_room(&b), 64);
	/* Empty again: the next append starts at the front. */
	assert_int_equal(sk_buf_append(&b, "again", 5), 0);
	assert_int_equal(b.start, 0);
	assert_memory_equal(sk_buf_head(&b), "again", 5);
	sk_buf_fini(&b);
}

static void test_buf_room_counts_consumed_bytes(void **state)
{
	(void)state;
	/* Full, drain most of it, fill again: total held never above max. */
	struct sk_buf b;
	sk_buf_init(&b, 8);
	assert_int_equal(sk_buf_append(&b, "01234567", 8), 0);
	sk_buf_consume(&b, 5);
	assert_int_equal(sk_buf_room(&b), 5);
	assert_int_equal(sk_buf_append(&b, "abcdef", 6), SK_ETOOLARGE);
	assert_int_equal(sk_buf_append(&b, "abcde", 5), 0);
	assert_int_equal(b.len, 8);
	assert_memory_equal(sk_buf_head(&b), "567abcde", 8);
	assert_true(b.cap <= 8);
	sk_buf_fini(&b);
}

static void test_buf_append_after_partial_consume_moves_to_front(void **state)
{
	(void)state;
	struct sk_buf b;
	sk_buf_init(&b, 1 << 20);
	char *chunk = malloc(1 << 20);
	assert_non_null(chunk);
	/* Fill the first allocation exactly, whatever size it is. */
	fill_pattern(chunk, 0, 3000);
	assert_int_equal(sk_buf_append(&b, chunk, 3000), 0);
	size_t cap0 = b.cap;
	assert_true(cap0 >= 3000);
	fill_pattern(chunk, 3000, cap0 - 3000);
	assert_int_equal(sk_buf_append(&b, chunk, cap0 - 3000), 0);
	assert_int_equal(b.cap, cap0);
	assert_holds(&b, 0, cap0);
	/* Keep the last 10 bytes; the free room is all at the front. */
	sk_buf_consume(&b, cap0 - 10);
	assert_holds(&b, cap0 - 10, 10);
	/* cap0 - 10 more bytes fit once the 10 move to the front: no growth. */
	fill_pattern(chunk, cap0, cap0 - 10);
	assert_int_equal(sk_buf_append(&b, chunk, cap0 - 10), 0);
	assert_int_equal(b.cap, cap0);
	assert_int_equal(b.start, 0);
	assert_holds(&b, cap0 - 10, cap0);
	/* A byte more needs a bigger allocation and keeps every byte. */
	fill_pattern(chunk, 2 * cap0 - 10, 1);
	assert_int_equal(sk_buf_append(&b, chunk, 1), 0);
	assert_true(b.cap > cap0);
	assert_holds(&b, cap0 - 10, cap0 + 1);
	free(chunk);
	sk_buf_fini(&b);
}

static void test_buf_growth_stops_at_a_max_below_the_initial_size(void **state)
{
	(void)state;
	/* A ceiling smaller than SK_BUF_INIT must not allocate SK_BUF_INIT. */
	static const size_t maxes[] = { 1, 7, 100, SK_BUF_INIT > 1 ? SK_BUF_INIT - 1 : 1 };
	for (size_t m = 0; m < sizeof maxes / sizeof maxes[0]; m++) {
		struct sk_buf b;
		sk_buf_init(&b, maxes[m]);
		char c = (char)pattern_byte(0);
		assert_int_equal(sk_buf_append(&b, &c, 1), 0);
		assert_true(b.cap <= maxes[m]);
		char *rest = malloc(maxes[m]);
		assert_non_null(rest);
		fill_pattern(rest, 1, maxes[m] - 1);
		assert_int_equal(sk_buf_append(&b, rest, maxes[m] - 1), 0);
		assert_holds(&b, 0, maxes[m]);
		assert_int_equal(sk_buf_append(&b, rest, 1), SK_ETOOLARGE);
		free(rest);
		sk_buf_fini(&b);
	}
	/* A ceiling that is no power of two: doubling is clipped to it. */
	struct sk_buf b;
	size_t max = 5 * SK_BUF_INIT + 3;
	sk_buf_init(&b, max);
	char *all = malloc(max);
	assert_non_null(all);
	fill_pattern(all, 0, max);
	for (size_t held = 0; held < max; held += 1000) {
		size_t n = max - held < 1000 ? max - held : 1000;
		assert_int_equal(sk_buf_append(&b, all + held, n), 0);
		assert_true(b.cap <= max);
	}
	assert_int_equal(b.cap, max);
	assert_holds(&b, 0, max);
	free(all);
	sk_buf_fini(&b);
}

static void test_buf_random_ops_match_a_model(void **state)
{
	(void)state;
	/* Appends and consumes of random sizes against the model "the buffer
	 * holds stream bytes [head, tail)". */
	static const size_t maxes[] = { 1, 13, SK_BUF_INIT, 3 * SK_BUF_INIT + 1, 70000 };
	char *chunk = malloc(70000 * 2);
	assert_non_null(chunk);
	uint32_t seed = 12345;
	for (size_t m = 0; m < sizeof maxes / sizeof maxes[0]; m++) {
		size_t max = maxes[m];
		struct sk_buf b;
		sk_buf_init(&b, max);
		size_t head = 0, tail = 0;
		for (int op = 0; op < 3000; op++) {
			seed = seed * 1103515245u + 12345u;
			uint32_t r = seed >> 8;
			if (r % 3) {
				size_t n = r / 3 % (max + max / 2 + 2); /* sometimes too much */
				fill_pattern(chunk, tail, n);
				int err = sk_buf_append(&b, chunk, n);
				if (n > max - (tail - head)) {
					assert_int_equal(err, SK_ETOOLARGE);
				} else {
					assert_int_equal(err, 0);
					tail += n;
				}
			} else {
				size_t n = tail - head ? r / 3 % (tail - head + 1) : 0;
				sk_buf_consume(&b, n);
				head += n;
			}
			assert_int_equal(sk_buf_room(&b), max - (tail - head));
			if (op % 97 == 0 || max < 100)
				assert_holds(&b, head, tail - head);
		}
		assert_holds(&b, head, tail - head);
		sk_buf_fini(&b);
	}
	free(chunk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_init_is_empty),
		cmocka_unit_test(test_buf_append_fills_to_max_and_no_further),
		cmocka_unit_test(test_buf_too_large_appends_nothing),
		cmocka_unit_test(test_buf_zero_length_append),
		cmocka_unit_test(test_buf_consume_from_front),
		cmocka_unit_test(test_buf_room_counts_consumed_bytes),
		cmocka_unit_test(test_buf_append_after_partial_consume_moves_to_front),
		cmocka_unit_test(test_buf_growth_stops_at_a_max_below_the_initial_size),
		cmocka_unit_test(test_buf_random_ops_match_a_model),
	};
	return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
