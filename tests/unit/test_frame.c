/* Unit tests for frame.c (include/sockit/frame.h). The central property: a
 * stream parses into the same messages however TCP splits it, so every case
 * is fed whole, in every 2-way split and one byte at a time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <sockit/err.h>
#include <sockit/frame.h>

#define MAX_MSGS 16

/* What a framer made of a stream: the messages, the first error, and the
 * bytes left over at the end. */
struct parsed {
	char msg[MAX_MSGS][64];
	size_t len[MAX_MSGS];
	size_t n;
	int err;
	size_t pending;
};

/* Pushes p, then takes every whole message. Each message must stay valid
 * until the next push, even after later sk_framer_next calls. */
static void push_and_drain(struct sk_framer *f, const char *p, size_t len, struct parsed *out)
{
	if (out->err)
		return;
	int err = sk_framer_push(f, p, len);
	if (err) {
		out->err = err;
		return;
	}
	struct sk_slice views[MAX_MSGS];
	size_t first = out->n;
	for (;;) {
		struct sk_slice msg = { NULL, 0 };
		int r = sk_framer_next(f, &msg);
		if (r < 0) {
			out->err = r;
			return;
		}
		if (r == 0)
			break;
		assert_int_equal(r, 1);
		if (out->n == MAX_MSGS)
			fail_msg("more than %d messages", MAX_MSGS);
		if (msg.len > sizeof out->msg[0])
			fail_msg("message of %zu bytes", msg.len);
		if (msg.len)
			memcpy(out->msg[out->n], msg.p, msg.len);
		out->len[out->n] = msg.len;
		views[out->n] = msg;
		out->n++;
	}
	for (size_t i = first; i < out->n; i++)
		if (out->len[i] && memcmp(views[i].p, out->msg[i], out->len[i]) != 0)
			fail_msg("message %zu changed before the next push", i);
}

/* Feeds stream in pieces cut at the offsets in cuts[0..n_cuts). */
static void parse_cut(enum sk_frame_mode mode, size_t max_msg, const char *stream, size_t len,
                      const size_t *cuts, size_t n_cuts, struct parsed *out)
{
	memset(out, 0, sizeof *out);
	struct sk_framer f;
	sk_framer_init(&f, mode, max_msg);
	size_t at = 0;
	for (size_t i = 0; i <= n_cuts; i++) {
		size_t end = i < n_cuts ? cuts[i] : len;
		/* Empty pushes are test_frame_next_before_any_push's. */
		if (end > at)
			push_and_drain(&f, stream + at, end - at, out);
		at = end;
	}
	out->pending = sk_framer_pending(&f);
	sk_framer_fini(&f);
}

static void parse_bytewise(enum sk_frame_mode mode, size_t max_msg, const char *stream, size_t len,
                           struct parsed *out)
{
	memset(out, 0, sizeof *out);
	struct sk_framer f;
	sk_framer_init(&f, mode, max_msg);
	for (size_t i = 0; i < len; i++)
		push_and_drain(&f, stream + i, 1, out);
	out->pending = sk_framer_pending(&f);
	sk_framer_fini(&f);
}

static void assert_parsed_equal(const struct parsed *got, const struct parsed *want,
                                const char *how)
{
	if (got->err != want->err)
		fail_msg("%s: error %s, want %s", how, sk_errname(got->err), sk_errname(want->err));
	/* After an error the stream is dead: the messages before it may or may
	 * not have come out, but nothing else may. */
	if (want->err ? got->n > want->n : got->n != want->n)
		fail_msg("%s: %zu messages, want %zu", how, got->n, want->n);
	for (size_t i = 0; i < got->n; i++) {
		if (got->len[i] != want->len[i] || memcmp(got->msg[i], want->msg[i], want->len[i]) != 0)
			fail_msg("%s: message %zu is '%.*s', want '%.*s'", how, i, (int)got->len[i],
			         got->msg[i], (int)want->len[i], want->msg[i]);
	}
	if (!want->err && got->pending != want->pending)
		fail_msg("%s: %zu bytes pending, want %zu", how, got->pending, want->pending);
}

struct stream_case {
	enum sk_frame_mode mode;
	size_t max_msg;
	const char *stream;
	size_t len;
	const char *msgs[MAX_MSGS]; /* NULL-terminated; lengths from msg_lens or strlen */
	size_t msg_lens[MAX_MSGS];  /* 0 with a non-empty msgs[i]: use strlen */
	int err;
	size_t pending;
};

#define S(lit) lit, sizeof(lit) - 1

static void expected_of(const struct stream_case *c, struct parsed *want)
{
	memset(want, 0, sizeof *want);
	for (size_t i = 0; c->msgs[i]; i++) {
		size_t len = c->msg_lens[i] ? c->msg_lens[i] : strlen(c->msgs[i]);
		memcpy(want->msg[i], c->msgs[i], len);
		want->len[i] = len;
		want->n++;
	}
	want->err = c->err;
	want->pending = c->pending;
}

/* Whole, every 2-way split, every 3-way split, and a byte at a time. */
static void check_every_split(const struct stream_case *c, size_t index)
{
	struct parsed want, got;
	expected_of(c, &want);
	char how[96];

	parse_cut(c->mode, c->max_msg, c->stream, c->len, NULL, 0, &got);
	snprintf(how, sizeof how, "case %zu whole", index);
	assert_parsed_equal(&got, &want, how);

	for (size_t i = 0; i <= c->len; i++) {
		size_t cuts[1] = { i };
		parse_cut(c->mode, c->max_msg, c->stream, c->len, cuts, 1, &got);
		snprintf(how, sizeof how, "case %zu split at %zu", index, i);
		assert_parsed_equal(&got, &want, how);
		for (size_t j = i; j <= c->len; j++) {
			size_t cuts2[2] = { i, j };
			parse_cut(c->mode, c->max_msg, c->stream, c->len, cuts2, 2, &got);
			snprintf(how, sizeof how, "case %zu split at %zu and %zu", index, i, j);
			assert_parsed_equal(&got, &want, how);
		}
	}

	parse_bytewise(c->mode, c->max_msg, c->stream, c->len, &got);
	snprintf(how, sizeof how, "case %zu byte by byte", index);
	assert_parsed_equal(&got, &want, how);
}

static void test_frame_line_parses_the_same_however_split(void **state)
{
	(void)state;
	static const struct stream_case cases[] = {
		{ SK_FRAME_LINE, SK_FRAME_MAX, S("hello\nworld\n"), { "hello", "world", NULL }, { 0 }, 0, 0 },
		/* CRLF tolerated; an empty line is an empty message. */
		{ SK_FRAME_LINE, SK_FRAME_MAX, S("a\r\nb\n\nc\r\n\r\n"), { "a", "b", "", "c", "", NULL },
		  { 0 }, 0, 0 },
		{ SK_FRAME_LINE, SK_FRAME_MAX, S("\n"), { "", NULL }, { 0 }, 0, 0 },
		/* Only a CR right before the LF is dropped. */
		{ SK_FRAME_LINE, SK_FRAME_MAX, S("x\ry\n\r\r\n"), { "x\ry", "\r", NULL }, { 0 }, 0, 0 },
		/* Bytes without an LF wait: pending at EOF. */
		{ SK_FRAME_LINE, SK_FRAME_MAX, S("partial"), { NULL }, { 0 }, 0, 7 },
		{ SK_FRAME_LINE, SK_FRAME_MAX, S("one\ntwo\r"), { "one", NULL }, { 0 }, 0, 4 },
		/* Binary is fine, NUL included. */
		{ SK_FRAME_LINE, SK_FRAME_MAX, S("a\0b\n\0\n"), { "a\0b", "\0", NULL }, { 3, 1 }, 0, 0 },
		/* Exactly max_msg bytes. */
		{ SK_FRAME_LINE, 8, S("12345678\n"), { "12345678", NULL }, { 0 }, 0, 0 },
		{ SK_FRAME_LINE, 8, S("12345678"), { NULL }, { 0 }, 0, 8 },
		/* max_msg + 1 bytes and no LF yet: the stream is refused. */
		{ SK_FRAME_LINE, 8, S("ok\n123456789"), { "ok", NULL }, { 0 }, SK_ETOOLARGE, 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		check_every_split(&cases[i], i);
}

static void test_frame_len32_parses_the_same_however_split(void **state)
{
	(void)state;
	static const struct stream_case cases[] = {
		{ SK_FRAME_LEN32, SK_FRAME_MAX,
		  S("\0\0\0\2hi\0\0\0\0\0\0\0\5world"), { "hi", "", "world", NULL }, { 0 }, 0, 0 },
		/* A zero-length message alone. */
		{ SK_FRAME_LEN32, SK_FRAME_MAX, S("\0\0\0\0"), { "", NULL }, { 0 }, 0, 0 },
		/* Newlines and NULs are payload. */
		{ SK_FRAME_LEN32, SK_FRAME_MAX, S("\0\0\0\3a\n\0"), { "a\n\0", NULL }, { 3 }, 0, 0 },
		/* Partial header, partial body: pending at EOF. */
		{ SK_FRAME_LEN32, SK_FRAME_MAX, S("\0\0\0\1x\0\0"), { "x", NULL }, { 0 }, 0, 2 },
		{ SK_FRAME_LEN32, SK_FRAME_MAX, S("\0\0\0\5abc"), { NULL }, { 0 }, 0, 7 },
		/* Exactly max_msg; then a header one above it. */
		{ SK_FRAME_LEN32, 4, S("\0\0\0\4abcd"), { "abcd", NULL }, { 0 }, 0, 0 },
		{ SK_FRAME_LEN32, 4, S("\0\0\0\1a\0\0\0\5abcde"), { "a", NULL }, { 0 }, SK_ETOOLARGE, 0 },
		/* A peer announcing 4 GiB is refused on the header alone. */
		{ SK_FRAME_LEN32, SK_FRAME_MAX, S("\xff\xff\xff\xff"), { NULL }, { 0 }, SK_ETOOLARGE, 0 },
		{ SK_FRAME_LEN32, 0, S("\0\0\0\0\0\0\0\1"), { "", NULL }, { 0 }, SK_ETOOLARGE, 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		check_every_split(&cases[i], i);
}

static void test_frame_raw_yields_each_chunk(void **state)
{
	(void)state;
	static const char stream[] = "raw\nbytes\r\n\0as they come";
	size_t len = sizeof stream - 1;
	/* Each push is one message; together they are the stream. */
	for (size_t cut = 0; cut <= len; cut++) {
		struct sk_framer f;
		sk_framer_init(&f, SK_FRAME_RAW, SK_FRAME_MAX);
		struct sk_slice msg;
		assert_int_equal(sk_framer_next(&f, &msg), 0);
		assert_int_equal(sk_framer_push(&f, stream, cut), 0);
		if (cut) {
			assert_int_equal(sk_framer_next(&f, &msg), 1);
			assert_int_equal(msg.len, cut);
			assert_memory_equal(msg.p, stream, cut);
		}
		assert_int_equal(sk_framer_next(&f, &msg), 0);
		assert_int_equal(sk_framer_pending(&f), 0);
		assert_int_equal(sk_framer_push(&f, stream + cut, len - cut), 0);
		if (cut < len) {
			assert_int_equal(sk_framer_next(&f, &msg), 1);
			assert_int_equal(msg.len, len - cut);
			assert_memory_equal(msg.p, stream + cut, len - cut);
		}
		assert_int_equal(sk_framer_next(&f, &msg), 0);
		assert_int_equal(sk_framer_pending(&f), 0);
		sk_framer_fini(&f);
	}
}

static void test_frame_next_before_any_push(void **state)
{
	(void)state;
	/* A fresh framer has no buffer yet: every mode must say "need more"
	 * (e.g. draining a framer at EOF of a stream that sent nothing). */
	static const enum sk_frame_mode modes[] = { SK_FRAME_RAW, SK_FRAME_LINE, SK_FRAME_LEN32 };
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		struct sk_framer f;
		sk_framer_init(&f, modes[i], 16);
		struct sk_slice msg;
		assert_int_equal(sk_framer_next(&f, &msg), 0);
		assert_int_equal(sk_framer_push(&f, "", 0), 0);
		assert_int_equal(sk_framer_next(&f, &msg), 0);
		assert_int_equal(sk_framer_pending(&f), 0);
		/* And an empty push after data changes nothing. */
		assert_int_equal(sk_framer_push(&f, "ab", 2), 0);
		int r;
		while ((r = sk_framer_next(&f, &msg)) == 1)
			;
		assert_int_equal(r, 0);
		size_t pending = sk_framer_pending(&f);
		assert_int_equal(pending, modes[i] == SK_FRAME_RAW ? 0 : 2);
		assert_int_equal(sk_framer_push(&f, "", 0), 0);
		assert_int_equal(sk_framer_next(&f, &msg), 0);
		assert_int_equal(sk_framer_pending(&f), pending);
		sk_framer_fini(&f);
		sk_framer_fini(&f);
	}
}

/* An emptied framer gives its buffer back; one holding a partial message
 * keeps it (the bytes are needed). */
static void test_frame_release_returns_an_empty_buffer(void **state)
{
	(void)state;
	struct sk_framer f;
	sk_framer_init(&f, SK_FRAME_LINE, 1024);
	struct sk_slice msg;
	assert_int_equal(sk_framer_push(&f, "one\ntw", 6), 0);
	assert_int_equal(sk_framer_next(&f, &msg), 1);
	assert_int_equal(sk_framer_next(&f, &msg), 0);
	sk_framer_release(&f);
	assert_non_null(f.buf.data); /* "tw" is still held */
	assert_int_equal(sk_framer_pending(&f), 2);
	assert_int_equal(sk_framer_push(&f, "o\n", 2), 0);
	assert_int_equal(sk_framer_next(&f, &msg), 1);
	assert_int_equal(msg.len, 3);
	assert_memory_equal(msg.p, "two", 3);
	assert_int_equal(sk_framer_next(&f, &msg), 0);
	sk_framer_release(&f);
	assert_null(f.buf.data);
	assert_int_equal(f.buf.cap, 0);
	/* And it works on after a release. */
	assert_int_equal(sk_framer_push(&f, "three\n", 6), 0);
	assert_int_equal(sk_framer_next(&f, &msg), 1);
	assert_memory_equal(msg.p, "three", 5);
	sk_framer_fini(&f);
}

static void test_frame_line_too_long_without_lf(void **state)
{
	(void)state;
	struct sk_framer f;
	sk_framer_init(&f, SK_FRAME_LINE, 8);
	struct sk_slice msg;
	/* Up to max_msg bytes without an LF: still waiting. */
	for (int i = 0; i < 8; i++) {
		assert_int_equal(sk_framer_push(&f, "a", 1), 0);
		assert_int_equal(sk_framer_next(&f, &msg), 0);
	}
	assert_int_equal(sk_framer_pending(&f), 8);
	/* One more, and no LF can make it a message that fits. */
	int err = sk_framer_push(&f, "a", 1);
	if (err == 0)
		err = sk_framer_next(&f, &msg);
	assert_int_equal(err, SK_ETOOLARGE);
	sk_framer_fini(&f);

	/* The same in one push of a long run. */
	static const char longline[] = "0123456789abcdef0123456789abcdef";
	sk_framer_init(&f, SK_FRAME_LINE, 8);
	err = sk_framer_push(&f, longline, sizeof longline - 1);
	if (err == 0)
		err = sk_framer_next(&f, &msg);
	assert_int_equal(err, SK_ETOOLARGE);
	sk_framer_fini(&f);
}

static void test_frame_line_longer_than_max_is_refused_however_it_arrives(void **state)
{
	(void)state;
	/* A 9-byte line with max_msg 8 is refused when it arrives a byte at a
	 * time (the LF comes too late); it must not be delivered when it
	 * arrives whole. */
	static const struct stream_case c = {
		SK_FRAME_LINE, 8, S("123456789\n"), { NULL }, { 0 }, SK_ETOOLARGE, 0
	};
	check_every_split(&c, 0);
}

static void test_frame_line_of_max_bytes_with_crlf(void **state)
{
	(void)state;
	/* The CR of a CRLF is not part of the message: a max_msg-byte line
	 * ending in CRLF is accepted, also when the read ends between CR and
	 * LF. */
	static const struct stream_case c = {
		SK_FRAME_LINE, 8, S("12345678\r\n"), { "12345678", NULL }, { 0 }, 0, 0
	};
	check_every_split(&c, 0);
}

static void test_frame_many_small_messages_in_one_push(void **state)
{
	(void)state;
	/* One read(2) often brings many messages. Only a partial message is
	 * bounded by max_msg, not the whole push (up to SK_FRAME_CHUNK): 4
	 * lines of 4 bytes with max_msg 8 must all come out. */
	static const struct stream_case lines = {
		SK_FRAME_LINE, 8, S("aaaa\nbbbb\ncccc\ndddd\n"),
		{ "aaaa", "bbbb", "cccc", "dddd", NULL }, { 0 }, 0, 0
	};
	check_every_split(&lines, 0);
	static const struct stream_case len32 = {
		SK_FRAME_LEN32, 4, S("\0\0\0\3abc\0\0\0\4defg\0\0\0\1h\0\0\0\0"),
		{ "abc", "defg", "h", "", NULL }, { 0 }, 0, 0
	};
	check_every_split(&len32, 1);

	/* A whole SK_FRAME_CHUNK of 4-byte lines in one push, max_msg 8. */
	char *chunk = malloc(SK_FRAME_CHUNK + 16);
	assert_non_null(chunk);
	for (size_t i = 0; i < SK_FRAME_CHUNK; i += 4)
		memcpy(chunk + i, "abc\n", 4);
	struct sk_framer f;
	sk_framer_init(&f, SK_FRAME_LINE, 8);
	assert_int_equal(sk_framer_push(&f, "xy", 2), 0); /* a partial line first */
	struct sk_slice msg;
	assert_int_equal(sk_framer_next(&f, &msg), 0);
	assert_int_equal(sk_framer_push(&f, chunk, SK_FRAME_CHUNK), 0);
	size_t n = 0;
	int r;
	while ((r = sk_framer_next(&f, &msg)) == 1) {
		if (n == 0) {
			assert_int_equal(msg.len, 5);
			assert_memory_equal(msg.p, "xyabc", 5);
		} else if (msg.len != 3 || memcmp(msg.p, "abc", 3) != 0) {
			fail_msg("message %zu is '%.*s'", n, (int)msg.len, msg.p);
		}
		n++;
	}
	assert_int_equal(r, 0);
	assert_int_equal(n, SK_FRAME_CHUNK / 4);
	assert_int_equal(sk_framer_pending(&f), 0);
	/* More than a chunk on top of a partial message is refused whole. */
	assert_int_equal(sk_framer_push(&f, "12345678", 8), 0);
	assert_int_equal(sk_framer_next(&f, &msg), 0);
	assert_int_equal(sk_framer_push(&f, chunk, SK_FRAME_CHUNK + 16), SK_ETOOLARGE);
	assert_int_equal(sk_framer_pending(&f), 8);
	sk_framer_fini(&f);
	free(chunk);
}

static void test_frame_mode_parse_and_name_round_trip(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		enum sk_frame_mode mode;
	} modes[] = {
		{ "raw", SK_FRAME_RAW },
		{ "line", SK_FRAME_LINE },
		{ "len32", SK_FRAME_LEN32 },
	};
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		enum sk_frame_mode mode = (enum sk_frame_mode)99;
		assert_int_equal(sk_frame_mode_parse(modes[i].name, &mode), 0);
		assert_int_equal(mode, modes[i].mode);
		assert_string_equal(sk_frame_mode_name(mode), modes[i].name);
	}
	static const char *const bad[] = { "bogus", "", "LINE", "line ", "len", "len32x", "raw\n" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		enum sk_frame_mode mode = SK_FRAME_LINE;
		if (sk_frame_mode_parse(bad[i], &mode) != SK_EINVAL)
			fail_msg("'%s' was accepted", bad[i]);
		assert_int_equal(mode, SK_FRAME_LINE);
	}
}

static void test_frame_header_for_each_mode(void **state)
{
	(void)state;
	char head[4] = { 'x', 'x', 'x', 'x' };
	const char *tail = NULL;
	assert_int_equal(sk_frame_header(SK_FRAME_RAW, 10, head, &tail), 0);
	assert_non_null(tail);
	assert_string_equal(tail, "");
	assert_memory_equal(head, "xxxx", 4);

	tail = NULL;
	assert_int_equal(sk_frame_header(SK_FRAME_LINE, 10, head, &tail), 0);
	assert_non_null(tail);
	assert_string_equal(tail, "\n");
	assert_memory_equal(head, "xxxx", 4);

	static const struct {
		size_t len;
		const char head[4];
	} cases[] = {
		{ 0, { 0, 0, 0, 0 } },
		{ 5, { 0, 0, 0, 5 } },
		{ 258, { 0, 0, 1, 2 } },
		{ 0x01020304, { 1, 2, 3, 4 } },
		{ 0xffffffffu, { '\xff', '\xff', '\xff', '\xff' } },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		tail = NULL;
		assert_int_equal(sk_frame_header(SK_FRAME_LEN32, cases[i].len, head, &tail), 4);
		assert_memory_equal(head, cases[i].head, 4);
		assert_non_null(tail);
		assert_string_equal(tail, "");
	}
}

static void test_frame_header_round_trips_through_the_framer(void **state)
{
	(void)state;
	/* What sk_frame_header frames, the framer of the same mode unframes. */
	static const char *const payloads[] = { "", "x", "hello world", "tab\there" };
	static const enum sk_frame_mode modes[] = { SK_FRAME_LINE, SK_FRAME_LEN32 };
	for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
		char stream[256];
		size_t len = 0;
		struct stream_case c = { modes[m], 64, stream, 0, { NULL }, { 0 }, 0, 0 };
		for (size_t i = 0; i < sizeof payloads / sizeof payloads[0]; i++) {
			char head[4];
			const char *tail;
			size_t plen = strlen(payloads[i]);
			size_t hlen = sk_frame_header(modes[m], plen, head, &tail);
			memcpy(stream + len, head, hlen);
			len += hlen;
			memcpy(stream + len, payloads[i], plen);
			len += plen;
			memcpy(stream + len, tail, strlen(tail));
			len += strlen(tail);
			c.msgs[i] = payloads[i];
		}
		c.len = len;
		check_every_split(&c, m);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_line_parses_the_same_however_split),
		cmocka_unit_test(test_frame_len32_parses_the_same_however_split),
		cmocka_unit_test(test_frame_raw_yields_each_chunk),
		cmocka_unit_test(test_frame_line_too_long_without_lf),
		cmocka_unit_test(test_frame_line_longer_than_max_is_refused_however_it_arrives),
		cmocka_unit_test(test_frame_line_of_max_bytes_with_crlf),
		cmocka_unit_test(test_frame_many_small_messages_in_one_push),
		cmocka_unit_test(test_frame_mode_parse_and_name_round_trip),
		cmocka_unit_test(test_frame_header_for_each_mode),
		cmocka_unit_test(test_frame_header_round_trips_through_the_framer),
		/* Last: under UBSan its failure ends the process. */
		cmocka_unit_test(test_frame_next_before_any_push),
		cmocka_unit_test(test_frame_release_returns_an_empty_buffer),
	};
	return cmocka_run_group_tests_name("frame", tests, NULL, NULL);
}
