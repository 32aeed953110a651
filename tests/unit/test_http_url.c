/* Unit tests for http_url.c: parsing (kept and changed parts), RFC 3986
 * §5.4's resolution examples, origins, the Host value, userinfo, the last
 * segment and no_proxy matching. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <sockit/err.h>
#include <sockit/http_url.h>

static int parse(const char *text, struct sk_url *u)
{
	return sk_url_parse(text, strlen(text), u);
}

static const char *format(const struct sk_url *u)
{
	static char buf[SK_URL_TEXT_MAX];
	assert_true(sk_url_format(u, buf, sizeof buf) > 0);
	return buf;
}

static void test_http_url_parse_parts(void **state)
{
	(void)state;
	struct sk_url u;
	assert_int_equal(parse("HTTP://User:P%40ss@Example.COM:8080/a/%2Fb/../c?x=1%20&y#frag", &u), 0);
	assert_int_equal(u.scheme, SK_URL_HTTP);
	assert_string_equal(u.host, "example.com");
	assert_int_equal(u.port, 8080);
	assert_true(u.has_port);
	assert_true(u.has_userinfo);
	assert_string_equal(u.userinfo, "User:P%40ss");
	/* Percent-encoding kept, dot segments gone, fragment dropped. */
	assert_string_equal(u.target, "/a/c?x=1%20&y");

	assert_int_equal(parse("https://[::1]/", &u), 0);
	assert_int_equal(u.scheme, SK_URL_HTTPS);
	assert_true(u.is_ipv6);
	assert_string_equal(u.host, "::1");
	assert_int_equal(u.port, 443);
	assert_false(u.has_port);

	assert_int_equal(parse("http://[fe80::1%25eth0]:8000", &u), 0);
	assert_string_equal(u.host, "fe80::1%eth0");
	assert_string_equal(u.target, "/");
	assert_string_equal(format(&u), "http://[fe80::1%25eth0]:8000/");

	/* No scheme: http://. */
	assert_int_equal(parse("localhost:8000/x y", &u), 0);
	assert_int_equal(u.scheme, SK_URL_HTTP);
	assert_string_equal(u.host, "localhost");
	assert_int_equal(u.port, 8000);
	assert_string_equal(u.target, "/x%20y");

	assert_int_equal(parse("http://h:/?q", &u), 0);
	assert_int_equal(u.port, 80);
	assert_string_equal(u.target, "/?q");
	assert_int_equal(parse("http://h/caf\xc3\xa9", &u), 0);
	assert_string_equal(u.target, "/caf%C3%A9");
}

static void test_http_url_parse_errors(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		int err;
	} cases[] = {
		{ "ftp://h/", SK_EURL_SCHEME },
		{ "file:///etc/passwd", SK_EURL_SCHEME },
		{ "http://", SK_EURL_HOST },
		{ "http:///x", SK_EURL_HOST },
		{ "http://h:0/", SK_EURL_PORT },
		{ "http://h:65536/", SK_EURL_PORT },
		{ "http://h:8x/", SK_EURL_PORT },
		{ "http://h:1:2/", SK_EURL_PORT },
		{ "http://[::1/", SK_EURL_HOST },
		{ "http://[::g]/", SK_EURL_HOST },
		{ "http://[::1]x/", SK_EURL_HOST },
		{ "http://[fe80::1%eth0]/", SK_EURL_HOST },
		{ "http://a b/", SK_EURL_HOST },
		{ "http://a%41/", SK_EURL_HOST },
		{ "http://h/a\r\nX: y", SK_EURL_SYNTAX },
		{ "http://h/\x7f", SK_EURL_SYNTAX },
		{ "http:h", SK_EURL_PORT }, /* host "http", port "h" */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct sk_url u;
		int rc = parse(cases[i].text, &u);
		if (rc != cases[i].err)
			fail_msg("case %zu (%s): got %s", i, cases[i].text, sk_errname(rc));
	}
	char long_url[SK_URL_MAX + 64];
	memcpy(long_url, "http://h/", 9);
	memset(long_url + 9, 'a', SK_URL_MAX);
	long_url[9 + SK_URL_MAX] = '\0';
	struct sk_url u;
	assert_int_equal(parse(long_url, &u), SK_EURL_TOO_LONG);
}

/* RFC 3986 §5.4.1 and §5.4.2, less "g:h" (not http) and "http:g". */
static void test_http_url_resolve_rfc3986_examples(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
		{ "g", "http://a/b/c/g" }, { "./g", "http://a/b/c/g" }, { "g/", "http://a/b/c/g/" },
		{ "/g", "http://a/g" }, { "//g", "http://g/" }, { "?y", "http://a/b/c/d;p?y" },
		{ "g?y", "http://a/b/c/g?y" }, { "#s", "http://a/b/c/d;p?q" },
		{ "g#s", "http://a/b/c/g" }, { "g?y#s", "http://a/b/c/g?y" }, { ";x", "http://a/b/c/;x" },
		{ "g;x", "http://a/b/c/g;x" }, { "g;x?y#s", "http://a/b/c/g;x?y" },
		{ "", "http://a/b/c/d;p?q" }, { ".", "http://a/b/c/" }, { "./", "http://a/b/c/" },
		{ "..", "http://a/b/" }, { "../", "http://a/b/" }, { "../g", "http://a/b/g" },
		{ "../..", "http://a/" }, { "../../", "http://a/" }, { "../../g", "http://a/g" },
		{ "../../../g", "http://a/g" }, { "../../../../g", "http://a/g" },
		{ "/./g", "http://a/g" }, { "/../g", "http://a/g" }, { "g.", "http://a/b/c/g." },
		{ ".g", "http://a/b/c/.g" }, { "g..", "http://a/b/c/g.." }, { "..g", "http://a/b/c/..g" },
		{ "./../g", "http://a/b/g" }, { "./g/.", "http://a/b/c/g/" },
		{ "g/./h", "http://a/b/c/g/h" }, { "g/../h", "http://a/b/c/h" },
		{ "g;x=1/./y", "http://a/b/c/g;x=1/y" }, { "g;x=1/../y", "http://a/b/c/y" },
		{ "g?y/./x", "http://a/b/c/g?y/./x" }, { "g?y/../x", "http://a/b/c/g?y/../x" },
		{ "g#s/./x", "http://a/b/c/g" }, { "g#s/../x", "http://a/b/c/g" },
		{ "HTTPS://B:444/x", "https://b:444/x" }, { "https://b:443/x", "https://b/x" },
	};
	struct sk_url base;
	assert_int_equal(parse("http://a/b/c/d;p?q", &base), 0);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct sk_url u;
		int rc = sk_url_resolve(&base, cases[i][0], strlen(cases[i][0]), &u);
		if (rc != 0)
			fail_msg("'%s': %s", cases[i][0], sk_errname(rc));
		if (strcmp(format(&u), cases[i][1]) != 0)
			fail_msg("'%s': got %s, want %s", cases[i][0], format(&u), cases[i][1]);
	}
	struct sk_url u;
	assert_int_equal(sk_url_resolve(&base, "ftp://x/", 8, &u), SK_EURL_SCHEME);
	assert_int_equal(sk_url_resolve(&base, "/a\nb", 4, &u), SK_EURL_SYNTAX);
	/* In place, and userinfo follows the authority. */
	assert_int_equal(parse("http://u:p@a/x/y", &base), 0);
	assert_int_equal(sk_url_resolve(&base, "z", 1, &base), 0);
	assert_string_equal(base.target, "/x/z");
	assert_true(base.has_userinfo);
	assert_int_equal(sk_url_resolve(&base, "//b/", 4, &u), 0);
	assert_false(u.has_userinfo);
}

static void test_http_url_origin_and_authority(void **state)
{
	(void)state;
	struct sk_url a, b;
	char buf[SK_URL_HOST_MAX + 16];
	assert_int_equal(parse("http://Example.com/x", &a), 0);
	assert_int_equal(parse("http://example.com:80/y", &b), 0);
	assert_true(sk_url_same_origin(&a, &b));
	assert_int_equal(parse("https://example.com/y", &b), 0);
	assert_false(sk_url_same_origin(&a, &b));
	assert_int_equal(parse("http://example.com:8080/y", &b), 0);
	assert_false(sk_url_same_origin(&a, &b));
	assert_int_equal(parse("http://www.example.com/y", &b), 0);
	assert_false(sk_url_same_origin(&a, &b));

	assert_int_equal(sk_url_authority(&a, buf, sizeof buf), 11);
	assert_string_equal(buf, "example.com");
	assert_int_equal(parse("http://[fe80::1%25en0]:8000/", &a), 0);
	assert_true(sk_url_authority(&a, buf, sizeof buf) > 0);
	assert_string_equal(buf, "[fe80::1]:8000");
	assert_int_equal(parse("https://[::1]:443/", &a), 0);
	assert_true(sk_url_authority(&a, buf, sizeof buf) > 0);
	assert_string_equal(buf, "[::1]");
	assert_int_equal(sk_url_authority(&a, buf, 3), SK_ETOOLARGE);
}

static void test_http_url_userinfo_and_segment(void **state)
{
	(void)state;
	struct sk_url u;
	char buf[64];
	assert_int_equal(parse("http://a%3Ab:p%40ss%25@h/dir/file%20name.tar.gz?x=1", &u), 0);
	assert_int_equal(sk_url_userinfo(&u, buf, sizeof buf), 9);
	assert_string_equal(buf, "a:b:p@ss%");
	assert_int_equal(sk_url_last_segment(&u, buf, sizeof buf), 16);
	assert_string_equal(buf, "file name.tar.gz");
	assert_int_equal(parse("http://h/dir/", &u), 0);
	assert_int_equal(sk_url_last_segment(&u, buf, sizeof buf), 0);
	assert_int_equal(parse("http://h/a%2Fb", &u), 0);
	assert_int_equal(sk_url_last_segment(&u, buf, sizeof buf), 3);
	assert_string_equal(buf, "a/b"); /* the caller refuses this one */
	assert_int_equal(sk_url_last_segment(&u, buf, 2), SK_ETOOLARGE);
}

static void test_http_url_no_proxy(void **state)
{
	(void)state;
	static const struct {
		const char *list, *url;
		bool match;
	} cases[] = {
		{ "*", "http://anything/", true },
		{ "example.com", "http://example.com/", true },
		{ "example.com", "http://www.example.com/", true },
		{ ".example.com", "http://example.com/", true },
		{ ".example.com", "http://a.b.example.com/", true },
		{ "example.com", "http://badexample.com/", false },
		{ "EXAMPLE.com", "http://example.COM/", true },
		{ "other, example.com:8080", "http://example.com/", true },
		{ "10.0.0.0/8", "http://10.1.2.3:8000/", true },
		{ "10.0.0.0/8", "http://11.1.2.3/", false },
		{ "127.0.0.1", "http://127.0.0.1/", true },
		{ "127.0.0.1", "http://127.0.0.2/", false },
		{ "::1", "http://[::1]:8000/", true },
		{ "[::1]:8000", "http://[::1]/", true },
		{ "fd00::/8", "http://[fd12::1]/", true },
		{ "10.0.0.0/8", "http://[::1]/", false },
		{ "", "http://h/", false },
		{ " , ,", "http://h/", false },
		{ "localhost", "http://localhost:9/", true },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct sk_url u;
		assert_int_equal(parse(cases[i].url, &u), 0);
		if (sk_url_no_proxy_matches(cases[i].list, &u) != cases[i].match)
			fail_msg("'%s' vs %s", cases[i].list, cases[i].url);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_url_parse_parts),
		cmocka_unit_test(test_http_url_parse_errors),
		cmocka_unit_test(test_http_url_resolve_rfc3986_examples),
		cmocka_unit_test(test_http_url_origin_and_authority),
		cmocka_unit_test(test_http_url_userinfo_and_segment),
		cmocka_unit_test(test_http_url_no_proxy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
