/* Unit tests for http_parse.c and http_chunked.c: each strictness rule and
 * limit with its status, incremental parsing, chunked decoding. The llhttp
 * corpus (tests/integration/test_http_conformance.py) covers the rest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <sockit/err.h>
#include <sockit/http_parse.h>

static int parse(const char *text, struct sk_http_request *req)
{
	sk_http_request_init(req);
	return sk_http_parse_request(text, strlen(text), req);
}

static void test_http_parse_simple_request(void **state)
{
	(void)state;
	struct sk_http_request req;
	const char *text = "GET /a?b HTTP/1.1\r\nHost: x\r\nAccept:  */* \r\n\r\nNEXT";
	int rc = parse(text, &req);
	assert_int_equal(rc, (int)(strstr(text, "NEXT") - text));
	assert_int_equal(req.method.len, 3);
	assert_memory_equal(req.target.p, "/a?b", 4);
	assert_int_equal(req.minor, 1);
	assert_int_equal(req.n_headers, 2);
	assert_memory_equal(req.headers[1].value.p, "*/*", 3);
	assert_int_equal(req.headers[1].value.len, 3);
	assert_true(req.keep_alive);
	assert_int_equal(req.body, SK_HTTP_BODY_NONE);
	assert_int_equal(sk_http_check_request(&req), 0);
	assert_non_null(sk_http_find_header(&req, "accept"));
	assert_null(sk_http_find_header(&req, "cookie"));
}

static void test_http_parse_each_rule_and_status(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		int err;
	} cases[] = {
		{ "GET / HTTP/1.1\rHost: x\r\n\r\n", SK_EHTTP_BAD_REQUEST },            /* bare CR */
		{ "GET / HTTP/1.1\nHost: x\r\n\r\n", SK_EHTTP_BAD_REQUEST },            /* bare LF */
		{ "GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", SK_EHTTP_BAD_REQUEST }, /* obs-fold */
		{ "GET / HTTP/1.1\r\nHost : x\r\n\r\n", SK_EHTTP_BAD_REQUEST },         /* space before ':' */
		{ "GET / HTTP/1.1\r\nHo(st: x\r\n\r\n", SK_EHTTP_BAD_REQUEST },         /* bad token */
		{ "G@T / HTTP/1.1\r\n\r\n", SK_EHTTP_BAD_REQUEST },
		{ "GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n", SK_EHTTP_BAD_REQUEST },        /* control byte */
		{ "GET /a b HTTP/1.1\r\n\r\n", SK_EHTTP_BAD_REQUEST },
		{ "GET  / HTTP/1.1\r\n\r\n", SK_EHTTP_BAD_REQUEST },
		{ "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", SK_EHTTP_BAD_REQUEST },
		{ "POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
		  SK_EHTTP_BAD_REQUEST },
		{ "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", SK_EHTTP_BAD_REQUEST },
		{ "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", SK_EHTTP_BAD_REQUEST },
		{ "POST / HTTP/1.1\r\nTransfer-Encoding: pigeons\r\n\r\n", SK_EHTTP_NOT_IMPLEMENTED },
		{ "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", SK_EHTTP_BAD_REQUEST },
		{ "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", SK_EHTTP_BAD_REQUEST },
		{ "GET / HTTP/2.0\r\n\r\n", SK_EHTTP_VERSION },
		{ "GET / HTTP/0.9\r\n\r\n", SK_EHTTP_VERSION },
		{ "GET / HTTP/1.10\r\n\r\n", SK_EHTTP_BAD_REQUEST },  /* one digit each */
		{ "GET / HTTP/1.x\r\n\r\n", SK_EHTTP_BAD_REQUEST },
		{ "GET / HTTQ/1.1\r\n\r\n", SK_EHTTP_BAD_REQUEST },
		{ "GET /\r\n\r\n", SK_EHTTP_BAD_REQUEST },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct sk_http_request req;
		int rc = parse(cases[i].text, &req);
		if (rc != cases[i].err)
			fail_msg("case %zu: got %s, want %s", i, sk_errname(rc), sk_errname(cases[i].err));
		assert_non_null(req.why);
	}
	assert_int_equal(sk_http_error_status(SK_EHTTP_BAD_REQUEST), 400);
	assert_int_equal(sk_http_error_status(SK_EHTTP_URI_TOO_LONG), 414);
	assert_int_equal(sk_http_error_status(SK_EHTTP_FIELDS_TOO_BIG), 431);
	assert_int_equal(sk_http_error_status(SK_EHTTP_NOT_IMPLEMENTED), 501);
	assert_int_equal(sk_http_error_status(SK_EHTTP_VERSION), 505);
	assert_int_equal(sk_http_error_status(SK_EHTTP_BODY_TOO_BIG), 413);
}

static void test_http_parse_limits(void **state)
{
	(void)state;
	struct sk_http_request req;
	size_t n = SK_HTTP_MAX_REQUEST_LINE + 100;
	char *long_line = malloc(n + 32);
	memcpy(long_line, "GET /", 5);
	memset(long_line + 5, 'a', n);
	long_line[5 + n] = '\0';
	/* Refused before the line even ends. */
	assert_int_equal(parse(long_line, &req), SK_EHTTP_URI_TOO_LONG);
	free(long_line);

	char *many = malloc(200 * 16 + 64);
	size_t len = (size_t)sprintf(many, "GET / HTTP/1.1\r\n");
	for (int i = 0; i < SK_HTTP_MAX_HEADERS + 1; i++)
		len += (size_t)sprintf(many + len, "X-%d: y\r\n", i);
	strcpy(many + len, "\r\n");
	assert_int_equal(parse(many, &req), SK_EHTTP_FIELDS_TOO_BIG);
	free(many);

	size_t big = SK_HTTP_MAX_HEADER_BYTES + 10;
	char *huge = malloc(big + 64);
	len = (size_t)sprintf(huge, "GET / HTTP/1.1\r\nX: ");
	memset(huge + len, 'v', big);
	huge[len + big] = '\0';
	assert_int_equal(parse(huge, &req), SK_EHTTP_FIELDS_TOO_BIG);
	free(huge);
}

static void test_http_parse_incremental_and_early_errors(void **state)
{
	(void)state;
	const char *text = "POST /x HTTP/1.0\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello";
	size_t head = (size_t)(strstr(text, "hello") - text);
	struct sk_http_request req;
	sk_http_request_init(&req);
	for (size_t k = 0; k < head; k++)
		assert_int_equal(sk_http_parse_request(text, k, &req), SK_EINCOMPLETE);
	assert_int_equal(sk_http_parse_request(text, strlen(text), &req), (int)head);
	assert_int_equal(req.body, SK_HTTP_BODY_LENGTH);
	assert_int_equal(req.content_length, 5);
	assert_int_equal(req.minor, 0);
	assert_true(req.keep_alive);
	/* HTTP/1.0 needs a Host no more than once; 1.1 needs exactly one. */
	assert_int_equal(sk_http_check_request(&req), 0);

	/* A bad byte fails at once, not when the line ends. */
	sk_http_request_init(&req);
	assert_int_equal(sk_http_parse_request("GET / HTTP/1.1\r\nBad Name", 24, &req),
	                 SK_EHTTP_BAD_REQUEST);
	sk_http_request_init(&req);
	assert_int_equal(sk_http_parse_request("GET / HTTP/5", 12, &req), SK_EHTTP_VERSION);
}

static void test_http_parse_host_rules_and_connection(void **state)
{
	(void)state;
	struct sk_http_request req;
	assert_true(parse("GET / HTTP/1.1\r\n\r\n", &req) > 0);
	assert_int_equal(sk_http_check_request(&req), SK_EHTTP_BAD_REQUEST);
	assert_true(parse("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", &req) > 0);
	assert_int_equal(sk_http_check_request(&req), SK_EHTTP_BAD_REQUEST);
	assert_true(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive, CLOSE\r\n\r\n", &req) > 0);
	assert_false(req.keep_alive);
	assert_true(parse("GET / HTTP/1.0\r\n\r\n", &req) > 0);
	assert_false(req.keep_alive);
	assert_true(parse("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n", &req) > 0);
	assert_true(req.expect_continue);
	assert_true(parse("PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", &req) > 0);
	assert_true(req.has_other_coding);
	assert_int_equal(req.body, SK_HTTP_BODY_CHUNKED);
	assert_true(parse("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", &req) > 0); /* leading CRLFs */
}

/* RFC 9110 §2.5: 1.2 to 1.9 are answered as 1.1, the highest 1.x we speak;
 * a new major version stays 505. */
static void test_http_parse_later_minor_version_is_1_1(void **state)
{
	(void)state;
	struct sk_http_request req;
	for (char minor = '2'; minor <= '9'; minor++) {
		char text[64];
		snprintf(text, sizeof text, "GET /a HTTP/1.%c\r\nHost: x\r\n\r\n", minor);
		assert_int_equal(parse(text, &req), (int)strlen(text));
		assert_int_equal(req.minor, 1);
		assert_int_equal(req.version.len, 8);
		assert_int_equal(req.version.p[7], minor);
		assert_true(req.keep_alive);
		assert_int_equal(sk_http_check_request(&req), 0);
	}
	/* As 1.1, it needs its Host. */
	assert_true(parse("GET / HTTP/1.5\r\n\r\n", &req) > 0);
	assert_int_equal(sk_http_check_request(&req), SK_EHTTP_BAD_REQUEST);
	assert_int_equal(parse("GET / HTTP/2.1\r\nHost: x\r\n\r\n", &req), SK_EHTTP_VERSION);
	assert_int_equal(parse("GET / HTTP/9.9\r\nHost: x\r\n\r\n", &req), SK_EHTTP_VERSION);
}

/* RFC 9110 §7.2, RFC 9112 §3.2: Host = uri-host [ ":" port ], or 400. */
static void test_http_parse_host_syntax(void **state)
{
	(void)state;
	static const char *const good[] = {
		"example.com", "example.com:8080", "127.0.0.1", "127.0.0.1:80", "[::1]", "[::1]:8000",
		"[2001:db8::1]", "[::ffff:10.0.0.1]:1", "[v1.fe80::a+en1]", "0.0.0.0=5000", "a%2Db",
		"xn--nxasmq6b.example", "EXAMPLE.COM", "host:", "host:65535", "host:0", "",
		"under_score.example", "!$&'()*+;=-._~",
	};
	static const char *const bad[] = {
		"a, b", "a,b", ",a", "user@host", "user:pw@host", "@host", "a b", "a\tb",
		"host:abc", "host:65536", "host:99999999999", "host:-1", "host: 80", "host:80:81",
		"[::1", "::1", "[::1]x", "[::1]:x", "[1.2.3.4]", "[::g]", "[v1]", "[v.x]", "[vz.x]",
		"[v1.a,b]", "a%2", "a%zz", "a/b", "a?b", "a#b", "a\\b", "a\"b", "a<b", "caf\xc3\xa9",
		"[]",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		char text[256];
		struct sk_http_request req;
		snprintf(text, sizeof text, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", good[i]);
		int rc = parse(text, &req);
		if (rc != (int)strlen(text))
			fail_msg("Host: '%s' refused: %s (%s)", good[i], sk_errname(rc), req.why);
		assert_int_equal(sk_http_check_request(&req), 0);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char text[256];
		struct sk_http_request req;
		snprintf(text, sizeof text, "GET / HTTP/1.0\r\nHost: %s\r\n\r\n", bad[i]);
		int rc = parse(text, &req);
		if (rc != SK_EHTTP_BAD_REQUEST)
			fail_msg("Host: '%s' accepted: %s", bad[i], sk_errname(rc));
		assert_non_null(req.why);
	}
}

static int decode_all(const char *body, size_t len, char *out, size_t *out_len, size_t step)
{
	struct sk_http_chunked c;
	sk_http_chunked_init(&c);
	size_t pos = 0, avail = 0;
	*out_len = 0;
	for (;;) {
		avail = avail + step > len ? len : avail + step;
		size_t used;
		struct sk_slice data;
		int rc = sk_http_chunked_decode(&c, body + pos, avail - pos, &used, &data);
		if (rc < 0)
			return rc;
		memcpy(out + *out_len, data.p, data.len);
		*out_len += data.len;
		pos += used;
		if (rc == 1)
			return (int)pos;
		if (avail == len && used == 0)
			return SK_EINCOMPLETE;
	}
}

static void test_http_chunked_decodes_at_any_split(void **state)
{
	(void)state;
	static const char body[] = "5;ext=\"q\\\"x\"\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: t\r\n\r\nNEXT";
	size_t len = sizeof body - 1;
	for (size_t step = 1; step <= len; step++) {
		char out[64];
		size_t out_len;
		int rc = decode_all(body, len, out, &out_len, step);
		assert_int_equal(rc, (int)(len - 4));
		assert_int_equal(out_len, 11);
		assert_memory_equal(out, "hello world", 11);
	}
}

static void test_http_chunked_rejects_bad_framing(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"x\r\n", "5 \r\nhello\r\n0\r\n\r\n", "5\r\nhelloX\r\n", "\r\n",
		"fffffffffffffffff\r\n", "5;\r\nhello\r\n", "5\nhello\r\n", "5;a=\"b\r\n",
		"0\r\nBad Trailer\x01: x\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char out[64];
		size_t out_len;
		int rc = decode_all(bad[i], strlen(bad[i]), out, &out_len, strlen(bad[i]));
		if (rc != SK_EHTTP_BAD_REQUEST)
			fail_msg("case %zu: got %s", i, sk_errname(rc));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_parse_simple_request),
		cmocka_unit_test(test_http_parse_each_rule_and_status),
		cmocka_unit_test(test_http_parse_limits),
		cmocka_unit_test(test_http_parse_incremental_and_early_errors),
		cmocka_unit_test(test_http_parse_host_rules_and_connection),
		cmocka_unit_test(test_http_parse_later_minor_version_is_1_1),
		cmocka_unit_test(test_http_parse_host_syntax),
		cmocka_unit_test(test_http_chunked_decodes_at_any_split),
		cmocka_unit_test(test_http_chunked_rejects_bad_framing),
	};
	return cmocka_run_group_tests_name("http_parse", tests, NULL, NULL);
}
