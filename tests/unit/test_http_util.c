/* Unit tests for http_util.c: request paths (the traversal defences),
 * ranges, dates, validators, media types. Internal API: src/lib/http/http_internal.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <sockit/err.h>
#include <sockit/http_parse.h>

#include "http/http_internal.h"

static struct sk_slice sl(const char *s)
{
	return (struct sk_slice){ s, strlen(s) };
}

static void test_http_util_decode_path(void **state)
{
	(void)state;
	static const struct {
		const char *target, *rel;
		bool slash, dot;
		const char *query;
	} ok[] = {
		{ "/", "", true, false, "" },
		{ "/a/b.txt", "a/b.txt", false, false, "" },
		{ "/a//b/./c/", "a/b/c", true, false, "" },
		{ "/a/../b", "b", false, false, "" },
		{ "/a%20b/%C3%A9", "a b/\xc3\xa9", false, false, "" },
		{ "/%252e%252e", "%2e%2e", false, false, "" },   /* decoded once only */
		{ "/x?sort=size#frag", "x", false, false, "sort=size" },
		{ "http://host:80/p/q", "p/q", false, false, "" },
		{ "http://host", "", false, false, "" },
		{ "/.hidden/x", ".hidden/x", false, true, "" },
		{ "/a\\..\\b", "a\\..\\b", false, false, "" },  /* backslash is a name byte here */
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		struct http_path p;
		const char *why = NULL;
		int rc = sk__http_decode_path(sl(ok[i].target), &p, &why);
		if (rc != 0)
			fail_msg("'%s': %s", ok[i].target, why);
		assert_string_equal(p.rel, ok[i].rel);
		assert_int_equal(p.len, strlen(ok[i].rel));
		assert_int_equal(p.trailing_slash, ok[i].slash);
		assert_int_equal(p.has_dot_segment, ok[i].dot);
		assert_int_equal(p.query.len, strlen(ok[i].query));
	}
	static const char *const bad[] = {
		"/..", "/../etc/passwd", "/a/../../b", "/%2e%2e/x", "/%2E%2e%2Fx", "/a%2fb",
		"/a%00b", "/%zz", "/%4", "*", "relative", "",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct http_path p;
		const char *why = NULL;
		if (sk__http_decode_path(sl(bad[i]), &p, &why) != SK_EHTTP_BAD_REQUEST)
			fail_msg("'%s' was accepted", bad[i]);
		assert_non_null(why);
	}
}

static void test_http_util_ranges(void **state)
{
	(void)state;
	static const struct {
		const char *value;
		uint64_t size;
		int rc;
		uint64_t first, last;
	} cases[] = {
		{ "bytes=0-4", 10, 1, 0, 4 },      { "bytes=5-", 10, 1, 5, 9 },
		{ "bytes=-3", 10, 1, 7, 9 },       { "bytes=-30", 10, 1, 0, 9 },
		{ "bytes=2-100", 10, 1, 2, 9 },    { "bytes=10-", 10, -1, 0, 0 },
		{ "bytes=-0", 10, -1, 0, 0 },      { "bytes=0-0", 0, -1, 0, 0 },
		{ "bytes=0-1,3-4", 10, 0, 0, 0 },  { "items=0-1", 10, 0, 0, 0 },
		{ "bytes=4-2", 10, 0, 0, 0 },      { "bytes=a-b", 10, 0, 0, 0 },
		{ "bytes=", 10, 0, 0, 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint64_t first = 99, last = 99;
		int rc = sk__http_parse_range(sl(cases[i].value), cases[i].size, &first, &last);
		if (rc != cases[i].rc)
			fail_msg("'%s': %d, want %d", cases[i].value, rc, cases[i].rc);
		if (rc == 1) {
			assert_int_equal(first, cases[i].first);
			assert_int_equal(last, cases[i].last);
		}
	}
}

static void test_http_util_dates(void **state)
{
	(void)state;
	char buf[HTTP_DATE_LEN];
	sk__http_format_date(784111777, buf);
	assert_string_equal(buf, "Sun, 06 Nov 1994 08:49:37 GMT");
	time_t t;
	/* The three forms RFC 9110 §5.6.7 makes recipients accept. */
	assert_true(sk__http_parse_date(sl("Sun, 06 Nov 1994 08:49:37 GMT"), &t));
	assert_int_equal(t, 784111777);
	assert_true(sk__http_parse_date(sl("Sunday, 06-Nov-94 08:49:37 GMT"), &t));
	assert_int_equal(t, 784111777);
	assert_true(sk__http_parse_date(sl("Sun Nov  6 08:49:37 1994"), &t));
	assert_int_equal(t, 784111777);
	assert_false(sk__http_parse_date(sl("yesterday"), &t));
	assert_false(sk__http_parse_date(sl("Sun, 06 Nov 1994 08:49:37 GMT trailing"), &t));
	assert_false(sk__http_parse_date(sl("Sun, 06 Foo 1994 08:49:37 GMT"), &t));
}

static void test_http_util_etags_and_types(void **state)
{
	(void)state;
	struct stat st;
	memset(&st, 0, sizeof st);
	st.st_size = 255;
	st.st_mtim.tv_sec = 1;
	char etag[48];
	sk__http_format_etag(&st, etag);
	assert_string_equal(etag, "\"3b9aca00-ff\"");
	assert_string_equal(sk__http_content_type("a.html", 6), "text/html; charset=utf-8");
	assert_string_equal(sk__http_content_type("A.PNG", 5), "image/png");
	assert_string_equal(sk__http_content_type("x.woff2", 7), "font/woff2");
	assert_string_equal(sk__http_content_type("noext", 5), "application/octet-stream");
	assert_string_equal(sk__http_content_type("dir.d/file", 10), "application/octet-stream");
}

/* RFC 9110 §13.2.2, step by step, on a file (etag "a", modified at T), a
 * listing (no validators) and a name with nothing behind it. */
#define T "Sun, 13 Sep 2020 12:26:40 GMT"      /* 1600000000 */
#define T_BEFORE "Sun, 13 Sep 2020 12:26:39 GMT"
static void test_http_util_preconditions(void **state)
{
	(void)state;
	enum { A_FILE, A_LISTING, NOTHING };
	static const struct {
		const char *fields;
		int target;
		bool get;
		int status;
	} cases[] = {
		{ "", A_FILE, true, 0 },
		/* 1. If-Match: strong comparison; "*" needs a representation. */
		{ "If-Match: \"a\"\r\n", A_FILE, false, 0 },
		{ "If-Match: \"x\", \"a\"\r\n", A_FILE, true, 0 },
		{ "If-Match: \"x\"\r\nIf-Match: \"a\"\r\n", A_FILE, false, 0 }, /* a list over two lines */
		{ "If-Match: \"x\"\r\n", A_FILE, true, 412 },
		{ "If-Match: W/\"a\"\r\n", A_FILE, true, 412 },
		{ "If-Match: *\r\n", A_FILE, false, 0 },
		{ "If-Match: *\r\n", NOTHING, false, 412 },
		{ "If-Match: *\r\n", A_LISTING, true, 0 },
		{ "If-Match: \"a\"\r\n", A_LISTING, true, 412 },
		/* If-Match wins over If-Unmodified-Since. */
		{ "If-Match: \"a\"\r\nIf-Unmodified-Since: " T_BEFORE "\r\n", A_FILE, true, 0 },
		{ "If-Match: \"x\"\r\nIf-Unmodified-Since: " T "\r\n", A_FILE, true, 412 },
		/* 2. If-Unmodified-Since: ignored without a date to compare or a valid one. */
		{ "If-Unmodified-Since: " T "\r\n", A_FILE, false, 0 },
		{ "If-Unmodified-Since: " T_BEFORE "\r\n", A_FILE, false, 412 },
		{ "If-Unmodified-Since: " T_BEFORE "\r\n", A_FILE, true, 412 },
		{ "If-Unmodified-Since: yesterday\r\n", A_FILE, true, 0 },
		{ "If-Unmodified-Since: " T_BEFORE "\r\n", A_LISTING, true, 0 },
		/* 3. If-None-Match: weak comparison; 304 on GET/HEAD, else 412. */
		{ "If-None-Match: W/\"a\"\r\n", A_FILE, true, 304 },
		{ "If-None-Match: \"a\"\r\n", A_FILE, false, 412 },
		{ "If-None-Match: *\r\n", A_FILE, false, 412 },
		{ "If-None-Match: *\r\n", NOTHING, false, 0 },
		{ "If-None-Match: *\r\n", A_LISTING, true, 304 },
		{ "If-None-Match: \"x\"\r\n", A_FILE, true, 0 },
		/* A failed If-Match is 412 even when If-None-Match would give 304. */
		{ "If-Match: \"x\"\r\nIf-None-Match: \"a\"\r\n", A_FILE, true, 412 },
		/* 4. If-Modified-Since: GET and HEAD only, not with If-None-Match. */
		{ "If-Modified-Since: " T "\r\n", A_FILE, true, 304 },
		{ "If-Modified-Since: " T_BEFORE "\r\n", A_FILE, true, 0 },
		{ "If-Modified-Since: " T "\r\n", A_FILE, false, 0 },
		{ "If-None-Match: \"x\"\r\nIf-Modified-Since: " T "\r\n", A_FILE, true, 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char text[512];
		struct sk_http_request req;
		snprintf(text, sizeof text, "GET / HTTP/1.1\r\nHost: h\r\n%s\r\n", cases[i].fields);
		sk_http_request_init(&req);
		assert_int_equal(sk_http_parse_request(text, strlen(text), &req), (int)strlen(text));
		struct http_validators v = { 0 };
		if (cases[i].target == A_FILE)
			v = (struct http_validators){ true, "\"a\"", true, 1600000000 };
		else if (cases[i].target == A_LISTING)
			v.exists = true;
		int got = sk__http_preconditions(&req, cases[i].get, &v);
		if (got != cases[i].status)
			fail_msg("case %zu (%s): got %d, want %d", i, cases[i].fields, got, cases[i].status);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_util_decode_path),
		cmocka_unit_test(test_http_util_ranges),
		cmocka_unit_test(test_http_util_dates),
		cmocka_unit_test(test_http_util_etags_and_types),
		cmocka_unit_test(test_http_util_preconditions),
	};
	return cmocka_run_group_tests_name("http_util", tests, NULL, NULL);
}
