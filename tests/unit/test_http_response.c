/* Unit tests for http_parse_response.c: each strictness rule, framing by
 * status and fields, limits, incremental parsing at every split and
 * Content-Range. The llhttp corpus (tests/integration/
 * test_http_response_conformance.py) covers the rest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <sockit/err.h>
#include <sockit/http_response.h>

static int parse(const char *text, bool to_head, struct sk_http_response *res)
{
	sk_http_response_init(res, to_head);
	return sk_http_parse_response(text, strlen(text), res);
}

static void test_http_response_simple(void **state)
{
	(void)state;
	struct sk_http_response res;
	const char *text = "HTTP/1.1 404 Not  Found \r\nServer: x\r\nContent-Length:  12 \r\n\r\nBODY";
	assert_int_equal(parse(text, false, &res), (int)(strstr(text, "BODY") - text));
	assert_int_equal(res.status, 404);
	assert_int_equal(res.minor, 1);
	assert_int_equal(res.reason.len, 11);
	assert_memory_equal(res.reason.p, "Not  Found ", 11);
	assert_int_equal(res.version.len, 8);
	assert_int_equal(res.n_headers, 2);
	assert_int_equal(res.framing, SK_HTTP_FRAMING_LENGTH);
	assert_int_equal(res.content_length, 12);
	assert_true(res.keep_alive);
	const struct sk_http_header *h = sk_http_response_header(&res, "content-LENGTH");
	assert_non_null(h);
	assert_int_equal(h->value.len, 2);
	assert_null(sk_http_response_header(&res, "etag"));
	/* An empty reason keeps its SP. */
	assert_true(parse("HTTP/1.1 200 \r\n\r\n", false, &res) > 0);
	assert_int_equal(res.reason.len, 0);
}

static void test_http_response_each_rule(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"HTTP/1.1 200 OK\rX: y\r\n\r\n",                 /* bare CR */
		"HTTP/1.1 200 OK\nX: y\r\n\r\n",                 /* bare LF */
		"HTTP/1.1 200 OK\r\nX: y\n\r\n",
		"HTTP/1.1 200 OK\r\nX: y\r\n folded\r\n\r\n",    /* obs-fold */
		"HTTP/1.1 200 OK\r\nX : y\r\n\r\n",              /* space before ':' */
		"HTTP/1.1 200 OK\r\nX(: y\r\n\r\n",
		"HTTP/1.1 200 OK\r\n: y\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX: a\x01b\r\n\r\n",
		"HTTP/1.1 200 O\x7fK\r\n\r\n",
		"HTTP/1.1 200\r\n\r\n",                           /* no SP after the code */
		"HTTP/1.1  200 OK\r\n\r\n",
		"HTTP/1.1 20 OK\r\n\r\n",
		"HTTP/1.1 2000 OK\r\n\r\n",
		"HTTP/1.1 099 Low\r\n\r\n",
		"HTTP/1.1 600 High\r\n\r\n",
		"HTTP/1.1\t200 OK\r\n\r\n",
		"HTTP/1.01 200 OK\r\n\r\n",
		"HTTP/2.0 200 OK\r\n\r\n",
		"HTTP/0.9 200 OK\r\n\r\n",
		"HTTPS/1.1 200 OK\r\n\r\n",
		"http/1.1 200 OK\r\n\r\n",
		"\r\nHTTP/1.1 200 OK\r\n\r\n",                   /* empty line first */
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
		"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: \r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked;x=1\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct sk_http_response res;
		int rc = parse(bad[i], false, &res);
		if (rc != SK_EHTTP_BAD_RESPONSE)
			fail_msg("case %zu: got %s", i, sk_errname(rc));
		assert_non_null(res.why);
	}
}

static void test_http_response_framing(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		bool to_head;
		enum sk_http_framing framing;
		bool keep_alive;
	} cases[] = {
		{ "HTTP/1.1 200 OK\r\n\r\n", false, SK_HTTP_FRAMING_EOF, false },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, SK_HTTP_FRAMING_LENGTH, true },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n", false,
		  SK_HTTP_FRAMING_CHUNKED, true },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", true, SK_HTTP_FRAMING_NONE, true },
		{ "HTTP/1.1 200 OK\r\n\r\n", true, SK_HTTP_FRAMING_NONE, true },
		{ "HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n", false, SK_HTTP_FRAMING_NONE, true },
		{ "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", false,
		  SK_HTTP_FRAMING_NONE, true },
		{ "HTTP/1.1 100 Continue\r\n\r\n", false, SK_HTTP_FRAMING_NONE, true },
		{ "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n", false, SK_HTTP_FRAMING_NONE, true },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\n", false,
		  SK_HTTP_FRAMING_LENGTH, false },
		{ "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", false, SK_HTTP_FRAMING_LENGTH, false },
		{ "HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: Keep-Alive\r\n\r\n", false,
		  SK_HTTP_FRAMING_LENGTH, true },
		{ "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n", false, SK_HTTP_FRAMING_EOF, false },
		{ "HTTP/1.7 200 OK\r\nContent-Length: 1\r\n\r\n", false, SK_HTTP_FRAMING_LENGTH, true },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct sk_http_response res;
		int rc = parse(cases[i].text, cases[i].to_head, &res);
		if (rc != (int)strlen(cases[i].text))
			fail_msg("case %zu: got %s (%s)", i, sk_errname(rc), res.why ? res.why : "");
		assert_int_equal(res.framing, cases[i].framing);
		assert_int_equal(res.keep_alive, cases[i].keep_alive);
	}
	/* HEAD keeps the length a GET would have had. */
	struct sk_http_response res;
	assert_true(parse("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", true, &res) > 0);
	assert_true(res.has_content_length);
	assert_int_equal(res.content_length, 9);
}

static void test_http_response_limits(void **state)
{
	(void)state;
	struct sk_http_response res;
	size_t n = SK_HTTP_MAX_REQUEST_LINE + 10;
	char *line = malloc(n + 32);
	memcpy(line, "HTTP/1.1 200 ", 13);
	memset(line + 13, 'a', n);
	line[13 + n] = '\0';
	assert_int_equal(parse(line, false, &res), SK_EHTTP_HEAD_TOO_BIG);
	free(line);

	char *many = malloc(200 * 16 + 64);
	size_t len = (size_t)sprintf(many, "HTTP/1.1 200 OK\r\n");
	for (int i = 0; i < SK_HTTP_MAX_HEADERS + 1; i++)
		len += (size_t)sprintf(many + len, "X-%d: y\r\n", i);
	strcpy(many + len, "\r\n");
	assert_int_equal(parse(many, false, &res), SK_EHTTP_HEAD_TOO_BIG);
	free(many);

	size_t big = SK_HTTP_MAX_RESPONSE_HEAD;
	char *huge = malloc(big + 64);
	len = (size_t)sprintf(huge, "HTTP/1.1 200 OK\r\nX: ");
	memset(huge + len, 'v', big);
	huge[len + big] = '\0';
	assert_int_equal(parse(huge, false, &res), SK_EHTTP_HEAD_TOO_BIG);
	/* Just under the limit is fine. */
	len = (size_t)sprintf(huge, "HTTP/1.1 200 OK\r\nX: ");
	size_t fill = SK_HTTP_MAX_RESPONSE_HEAD - len - 4;
	memset(huge + len, 'v', fill);
	strcpy(huge + len + fill, "\r\n\r\n");
	assert_int_equal(parse(huge, false, &res), (int)SK_HTTP_MAX_RESPONSE_HEAD);
	free(huge);
}

/* Every prefix is incomplete or the same error as whole; the same bytes in
 * two calls give the same head. */
static void test_http_response_split_at_every_byte(void **state)
{
	(void)state;
	static const char *const texts[] = {
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
		"HTTP/1.0 301 Moved\r\nLocation: /x\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX: a\x01\r\n\r\n",
		"HTTP/1.1 200\r\n\r\n",
		"HTTP/1.1 999 OK\r\n\r\n",
	};
	for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
		const char *text = texts[t];
		size_t len = strlen(text);
		struct sk_http_response whole;
		int want = parse(text, false, &whole);
		for (size_t k = 0; k <= len; k++) {
			struct sk_http_response res;
			sk_http_response_init(&res, false);
			int rc = sk_http_parse_response(text, k, &res);
			if (rc == SK_EINCOMPLETE)
				rc = sk_http_parse_response(text, len, &res);
			if (rc != want)
				fail_msg("text %zu split at %zu: %s, whole %s", t, k, sk_errname(rc),
				         sk_errname(want));
			if (rc > 0) {
				assert_int_equal(res.n_headers, whole.n_headers);
				assert_int_equal(res.framing, whole.framing);
				assert_ptr_equal(res.reason.p, whole.reason.p);
			}
		}
	}
	/* A bad byte fails at once. */
	struct sk_http_response res;
	sk_http_response_init(&res, false);
	assert_int_equal(sk_http_parse_response("HTTP/1.1 200 OK\r\nBad Name", 25, &res),
	                 SK_EHTTP_BAD_RESPONSE);
	sk_http_response_init(&res, false);
	assert_int_equal(sk_http_parse_response("HTTP/3", 6, &res), SK_EHTTP_BAD_RESPONSE);
}

static void test_http_response_content_range(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		int rc;
		uint64_t first, last, total;
	} cases[] = {
		{ "bytes 0-99/100", 0, 0, 99, 100 },
		{ "bytes 100-199/*", 0, 100, 199, UINT64_MAX },
		{ "bytes */1000", 0, UINT64_MAX, UINT64_MAX, 1000 },
		{ "Bytes 5-5/6", 0, 5, 5, 6 },
		{ "bytes */*", SK_EHTTP_BAD_RESPONSE, 0, 0, 0 },
		{ "bytes 5-4/10", SK_EHTTP_BAD_RESPONSE, 0, 0, 0 },
		{ "bytes 0-10/10", SK_EHTTP_BAD_RESPONSE, 0, 0, 0 },
		{ "bytes 0-/10", SK_EHTTP_BAD_RESPONSE, 0, 0, 0 },
		{ "bytes=0-1/10", SK_EHTTP_BAD_RESPONSE, 0, 0, 0 },
		{ "bytes 0-1/10x", SK_EHTTP_BAD_RESPONSE, 0, 0, 0 },
		{ "items 0-1/10", SK_EHTTP_BAD_RESPONSE, 0, 0, 0 },
		{ "bytes 0-1", SK_EHTTP_BAD_RESPONSE, 0, 0, 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint64_t a = 7, b = 7, t = 7;
		struct sk_slice v = { cases[i].text, strlen(cases[i].text) };
		int rc = sk_http_parse_content_range(v, &a, &b, &t);
		if (rc != cases[i].rc)
			fail_msg("case %zu: got %d", i, rc);
		if (rc == 0) {
			assert_true(a == cases[i].first && b == cases[i].last && t == cases[i].total);
		} else {
			assert_true(a == 7 && b == 7 && t == 7); /* untouched on failure */
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_response_simple),
		cmocka_unit_test(test_http_response_each_rule),
		cmocka_unit_test(test_http_response_framing),
		cmocka_unit_test(test_http_response_limits),
		cmocka_unit_test(test_http_response_split_at_every_byte),
		cmocka_unit_test(test_http_response_content_range),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
