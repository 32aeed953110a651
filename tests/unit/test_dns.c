/* Unit tests for the DNS message codec (src/lib/dns/dns_msg.c, dns_text.c,
 * dns_write.c): names, compression and its attacks, records, queries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <sockit/dns.h>
#include <sockit/err.h>

static struct sk_dns_name name_of(const char *text)
{
	struct sk_dns_name n;
	assert_int_equal(sk_dns_name_parse(text, strlen(text), NULL, &n), 0);
	return n;
}

static void test_dns_name_parse_and_format(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
		int err;
	} cases[] = {
		{ "www.example.com", "www.example.com.", 0 },
		{ "www.example.com.", "www.example.com.", 0 },
		{ ".", ".", 0 },
		{ "a\\.b.c", "a\\.b.c.", 0 },
		{ "\\065\\032x", "A\\032x.", 0 },
		{ "a..b", NULL, SK_EDNS_NAME },
		{ ".a", NULL, SK_EDNS_NAME },
		{ "", NULL, SK_EDNS_NAME },
		{ "a\\", NULL, SK_EDNS_NAME },
		{ "a\\25", NULL, SK_EDNS_NAME },
		{ "a\\256", NULL, SK_EDNS_NAME },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct sk_dns_name n;
		int err = sk_dns_name_parse(cases[i].in, strlen(cases[i].in), NULL, &n);
		if (err != cases[i].err)
			fail_msg("'%s': got %s, want %s", cases[i].in, sk_errname(err),
			         sk_errname(cases[i].err));
		if (err == 0) {
			char text[SK_DNS_NAME_STRLEN];
			sk_dns_name_format(&n, text);
			assert_string_equal(text, cases[i].out);
		}
	}
	/* 63 is the longest label, 255 the longest name. */
	char label[80];
	memset(label, 'a', 64);
	label[64] = 0;
	struct sk_dns_name n;
	assert_int_equal(sk_dns_name_parse(label, 64, NULL, &n), SK_EDNS_NAME);
	assert_int_equal(sk_dns_name_parse(label, 63, NULL, &n), 0);
	char longest[300];
	size_t len = 0;
	for (int i = 0; i < 4; i++) { /* 4 x (1 + 62) + 1 = 253 bytes of wire */
		memset(longest + len, 'b', 62);
		len += 62;
		longest[len++] = '.';
	}
	assert_int_equal(sk_dns_name_parse(longest, len, NULL, &n), 0);
	assert_int_equal(n.len, 253);
	memcpy(longest + len, "cc.", 3);
	assert_int_equal(sk_dns_name_parse(longest, len + 3, NULL, &n), SK_EDNS_NAME_LONG);
}

static void test_dns_name_relative_and_compare(void **state)
{
	(void)state;
	struct sk_dns_name origin = name_of("example.test."), n;
	assert_int_equal(sk_dns_name_parse("www", 3, &origin, &n), 0);
	char text[SK_DNS_NAME_STRLEN];
	sk_dns_name_format(&n, text);
	assert_string_equal(text, "www.example.test.");
	assert_int_equal(sk_dns_name_parse("@", 1, &origin, &n), 0);
	assert_true(sk_dns_name_equal(&n, &origin));
	struct sk_dns_name up = name_of("WWW.Example.TEST");
	assert_true(sk_dns_name_is_under(&up, &origin));
	assert_true(sk_dns_name_is_under(&origin, &origin));
	struct sk_dns_name other = name_of("wwwexample.test");
	struct sk_dns_name tail = name_of("xample.test");
	assert_false(sk_dns_name_is_under(&other, &origin));
	assert_false(sk_dns_name_is_under(&other, &tail));
	assert_int_equal(sk_dns_name_labels(&up), 3);
}

static void test_dns_name_reverse(void **state)
{
	(void)state;
	struct sk_ip ip;
	struct sk_dns_name n;
	char text[SK_DNS_NAME_STRLEN];
	assert_int_equal(sk_ip_parse("192.0.2.77", 10, &ip, NULL), 0);
	sk_dns_name_reverse(&ip, &n);
	sk_dns_name_format(&n, text);
	assert_string_equal(text, "77.2.0.192.in-addr.arpa.");
	assert_int_equal(sk_ip_parse("2001:db8::1", 11, &ip, NULL), 0);
	sk_dns_name_reverse(&ip, &n);
	sk_dns_name_format(&n, text);
	assert_string_equal(text, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2."
	                          "ip6.arpa.");
}

/* A message with header, one question at 12 and then bytes. */
static size_t message(unsigned char *buf, uint16_t ancount, const void *rest, size_t rest_len)
{
	static const unsigned char head[] = { 0x12, 0x34, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0,
		                              3, 'w', 'w', 'w', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1 };
	memcpy(buf, head, sizeof head);
	buf[7] = (unsigned char)ancount;
	memcpy(buf + sizeof head, rest, rest_len);
	return sizeof head + rest_len;
}

static void test_dns_name_read_compression_attacks(void **state)
{
	(void)state;
	unsigned char buf[600];
	struct sk_dns_rr rrs[8];
	struct sk_dns_msg m = { .rrs = rrs, .cap_rrs = 8 };
	static const struct {
		const char *what;
		unsigned char rest[40];
		size_t len;
		uint16_t ancount;
		int err;
	} cases[] = {
		{ "good, pointer to the question", { 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4 }, 16, 1, 0 },
		{ "pointer to itself", { 0xc0, 26, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4 }, 16, 1, SK_EDNS_POINTER },
		{ "pointer forward", { 0xc0, 40, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4 }, 16, 1, SK_EDNS_POINTER },
		{ "two pointers in a loop", { 1, 'a', 0xc0, 30, 0xc0, 26, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4 }, 20, 1, SK_EDNS_POINTER },
		{ "pointer past the end", { 0xff, 0xff }, 2, 1, SK_EDNS_POINTER },
		{ "label type 01", { 0x41, 'a', 0 }, 3, 1, SK_EDNS_LABEL },
		{ "label type 10", { 0x81, 'a', 0 }, 3, 1, SK_EDNS_LABEL },
		{ "label past the end", { 9, 'a', 'b' }, 3, 1, SK_EDNS_TRUNCATED },
		{ "count larger than the packet", { 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4 }, 16, 2, SK_EDNS_TRUNCATED },
		{ "rdlength past the end", { 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 9, 1, 2, 3, 4 }, 16, 1, SK_EDNS_TRUNCATED },
		{ "A of 3 bytes", { 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 3, 1, 2, 3 }, 15, 1, SK_EDNS_RDATA },
		{ "trailing byte", { 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4, 9 }, 17, 1, SK_EDNS_TRAILING },
		{ "CNAME whose name runs out of its data", { 0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 2, 3, 'a' , 'b', 'c', 0 }, 17, 1, SK_EDNS_RDATA },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t len = message(buf, cases[i].ancount, cases[i].rest, cases[i].len);
		int err = sk_dns_parse(buf, len, &m);
		if (err != cases[i].err)
			fail_msg("%s: got %s, want %s", cases[i].what, sk_errname(err),
			         sk_errname(cases[i].err));
	}
	/* A name of 256 bytes through pointers: each piece is fine, the whole is not. */
	unsigned char big[600];
	size_t len = message(big, 1, "", 0);
	size_t first = len;
	for (int i = 0; i < 4; i++) {
		big[len++] = 63;
		memset(big + len, 'x', 63);
		len += 63;
	}
	big[len++] = 0;
	memcpy(big + len, "\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x00", 10);
	len += 10;
	big[7] = 1;
	assert_int_equal(sk_dns_parse(big, len, &m), SK_EDNS_NAME_LONG);
	(void)first;
	/* Every prefix of a good message is cut short, never read past. */
	len = message(buf, 1, cases[0].rest, cases[0].len);
	for (size_t cut = 0; cut < len; cut++) {
		unsigned char *copy = malloc(cut ? cut : 1);
		memcpy(copy, buf, cut);
		int err = sk_dns_parse(copy, cut, &m);
		assert_true(err == SK_EDNS_TRUNCATED);
		free(copy);
	}
}

static void test_dns_query_roundtrip_and_edns(void **state)
{
	(void)state;
	unsigned char buf[512];
	struct sk_dns_name n = name_of("www.example.test");
	int len = sk_dns_build_query(buf, sizeof buf, 0xbeef, &n, SK_DNS_AAAA, true, 1232);
	assert_true(len > 0);
	struct sk_dns_rr rrs[4];
	struct sk_dns_msg m = { .rrs = rrs, .cap_rrs = 4 };
	assert_int_equal(sk_dns_parse(buf, (size_t)len, &m), 0);
	assert_int_equal(m.h.id, 0xbeef);
	assert_int_equal(m.h.flags, SK_DNS_RD);
	assert_true(m.has_question && m.q.type == SK_DNS_AAAA && m.q.cls == SK_DNS_IN);
	assert_true(sk_dns_name_equal(&m.q.name, &n));
	assert_true(m.has_edns && m.edns_size == 1232 && m.edns_version == 0);
	assert_int_equal(sk_dns_build_query(buf, 20, 1, &n, 1, true, 0), SK_ETOOLARGE);
	/* Two questions are refused (RFC 9619). */
	buf[5] = 2;
	assert_int_equal(sk_dns_parse(buf, (size_t)len, &m), SK_EDNS_QDCOUNT);
}

static void test_dns_writer_compresses_and_rdata_formats(void **state)
{
	(void)state;
	unsigned char buf[1024];
	struct sk_dns_writer w;
	sk_dns_writer_init(&w, buf, sizeof buf);
	sk_dns_put_header(&w, 7, SK_DNS_QR | SK_DNS_AA);
	struct sk_dns_name q = name_of("mail.example.test"), mx = name_of("mx1.example.test");
	sk_dns_put_question(&w, &q, SK_DNS_MX, SK_DNS_IN);
	unsigned char rdata[64] = { 0, 10 };
	memcpy(rdata + 2, mx.wire, mx.len);
	assert_true(sk_dns_put_rr(&w, &q, SK_DNS_MX, SK_DNS_IN, 300, rdata, 2 + mx.len));
	unsigned char txt[] = { 5, 'h', 'e', 'l', 'l', 'o', 3, 'a', '"', 1 };
	assert_true(sk_dns_put_rr(&w, &q, SK_DNS_TXT, SK_DNS_IN, 300, txt, sizeof txt));
	unsigned char generic[] = { 1, 2, 0xab };
	assert_true(sk_dns_put_rr(&w, &q, 65280, SK_DNS_IN, 300, generic, sizeof generic));
	unsigned char caa[] = { 0, 5, 'i', 's', 's', 'u', 'e', 'c', 'a', '.', 'x' };
	assert_true(sk_dns_put_rr(&w, &q, SK_DNS_CAA, SK_DNS_IN, 300, caa, sizeof caa));
	sk_dns_writer_counts(&w, 1, 4, 0, 0);
	/* The owner is a pointer to the question (2 bytes), and the exchange
	 * "mx1" plus a pointer to "example.test". */
	assert_int_equal(buf[35], 0xc0);
	assert_int_equal(buf[36], 12);
	struct sk_dns_rr rrs[8];
	struct sk_dns_msg m = { .rrs = rrs, .cap_rrs = 8 };
	assert_int_equal(sk_dns_parse(buf, w.len, &m), 0);
	assert_int_equal(m.n_rrs, 4);
	assert_int_equal(rrs[0].rdlen, 2 + 4 + 2);
	char text[SK_DNS_RDATA_STRLEN];
	static const char *const want[] = { "10 mx1.example.test.", "\"hello\" \"a\\\"\\001\"",
		                            "\\# 3 0102AB", "0 issue \"ca.x\"" };
	for (int i = 0; i < 4; i++) {
		assert_true(sk_dns_rdata_format(buf, w.len, &rrs[i], text, sizeof text) > 0);
		assert_string_equal(text, want[i]);
	}
	assert_int_equal(sk_dns_rdata_format(buf, w.len, &rrs[1], text, 5), SK_ETOOLARGE);
	/* A record that does not fit leaves the message as it was. */
	size_t before = w.len;
	w.cap = w.len + 5;
	assert_false(sk_dns_put_rr(&w, &q, SK_DNS_A, SK_DNS_IN, 1, (const unsigned char *)"abcd", 4));
	assert_true(w.overflow);
	assert_int_equal(w.len, before);
}

static void test_dns_types_and_codes(void **state)
{
	(void)state;
	uint16_t t;
	assert_int_equal(sk_dns_type_parse("aaaa", 4, &t), 0);
	assert_int_equal(t, SK_DNS_AAAA);
	assert_int_equal(sk_dns_type_parse("TYPE65", 6, &t), 0);
	assert_int_equal(t, 65);
	assert_int_equal(sk_dns_type_parse("TYPE65536", 9, &t), SK_EDNS_TYPE);
	assert_int_equal(sk_dns_type_parse("TYPE", 4, &t), SK_EDNS_TYPE);
	assert_int_equal(sk_dns_type_parse("FOO", 3, &t), SK_EDNS_TYPE);
	assert_string_equal(sk_dns_type_name(SK_DNS_CAA), "CAA");
	assert_null(sk_dns_type_name(65280));
	assert_string_equal(sk_dns_rcode_name(SK_DNS_NXDOMAIN), "NXDOMAIN");
	assert_string_equal(sk_dns_rcode_name(16), "BADVERS");
	assert_null(sk_dns_rcode_name(40));
	assert_string_equal(sk_dns_class_name(1), "IN");
	assert_string_equal(sk_strerror(SK_EDNS_POINTER), "compression pointer loop (a pointer not backwards)");
	/* Every code has a name and a text of its own (err.c's table). */
	for (int code = SK_EDNS_SYNTAX; code <= SK_EDNS_TRUNCATED; code++) {
		assert_true(strncmp(sk_errname(code), "SK_EDNS_", 8) == 0);
		assert_string_not_equal(sk_strerror(code), "unknown error");
	}
	assert_true(SK_EDNS_IS_MALFORMED(SK_EDNS_LABEL));
	assert_false(SK_EDNS_IS_MALFORMED(SK_EDNS_NAME));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dns_name_parse_and_format),
		cmocka_unit_test(test_dns_name_relative_and_compare),
		cmocka_unit_test(test_dns_name_reverse),
		cmocka_unit_test(test_dns_name_read_compression_attacks),
		cmocka_unit_test(test_dns_query_roundtrip_and_edns),
		cmocka_unit_test(test_dns_writer_compresses_and_rdata_formats),
		cmocka_unit_test(test_dns_types_and_codes),
	};
	return cmocka_run_group_tests_name("dns", tests, NULL, NULL);
}
