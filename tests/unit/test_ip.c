/* Unit tests for the ip module (include/sockit/ip.h): every function, every
 * rejection reason. The broad agreement with Python's ipaddress is proven by
 * tests/integration/test_ip_differential.py; these pin the contracts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <sockit/err.h>
#include <sockit/ip.h>

#include "ip/ip_internal.h"
#include "testutil.h"

static struct sk_ip_cidr cidr_of(const char *text)
{
	struct sk_ip_cidr c;
	int err = sk_ip_parse_cidr(text, strlen(text), &c, NULL);
	if (err != 0)
		fail_msg("'%s' did not parse: %s", text, sk_errname(err));
	return c;
}

static const char *fmt(const struct sk_ip *ip, enum sk_ip_style style, char *buf)
{
	sk_ip_format(ip, style, buf);
	return buf;
}

/* --- parsing ---------------------------------------------------------------- */

static void test_ip_parse_v4_accepts_dotted_quads(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		uint32_t value;
	} cases[] = {
		{ "0.0.0.0", 0 },
		{ "255.255.255.255", 0xffffffffu },
		{ "172.16.10.1", 0xac100a01u },
		{ "1.2.3.4", 0x01020304u },
		{ "10.0.0.0", 0x0a000000u },
		{ "192.168.100.200", 0xc0a864c8u },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct sk_ip ip;
		assert_int_equal(sk_ip_parse_v4(cases[i].text, strlen(cases[i].text), &ip, NULL), 0);
		assert_int_equal(ip.version, SK_IP_V4);
		assert_int_equal(ip.hi, 0);
		assert_int_equal(ip.lo, cases[i].value);
	}
}

struct reject_case {
	const char *text;
	int err;
	const char *bad; /* the part *bad must point at, or NULL for "don't care" */
};

static void check_rejects(int (*parse)(const char *, size_t, struct sk_ip *, struct sk_slice *),
                          const struct reject_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct sk_ip ip = { 7, 7, 9 };
		struct sk_slice bad = { NULL, 0 };
		int err = parse(cases[i].text, strlen(cases[i].text), &ip, &bad);
		if (err != cases[i].err)
			fail_msg("'%s': got %s, want %s", cases[i].text, sk_errname(err),
			         sk_errname(cases[i].err));
		/* A failed parse leaves the output untouched. */
		assert_int_equal(ip.hi, 7);
		assert_int_equal(ip.version, 9);
		if (cases[i].bad) {
			if (bad.len != strlen(cases[i].bad) || memcmp(bad.p, cases[i].bad, bad.len) != 0)
				fail_msg("'%s': bad part '%.*s', want '%s'", cases[i].text, (int)bad.len,
				         bad.p, cases[i].bad);
			/* The bad part is a view into the input. */
			assert_true(bad.p >= cases[i].text &&
			            bad.p + bad.len <= cases[i].text + strlen(cases[i].text));
		}
	}
}

static void test_ip_parse_v4_rejects_each_rule(void **state)
{
	(void)state;
	static const struct reject_case cases[] = {
		{ "", SK_EADDR_EMPTY, NULL },
		{ "1.2.3", SK_EADDR_OCTETS, "1.2.3" },
		{ "1.2.3.4.5", SK_EADDR_OCTETS, "1.2.3.4.5" },
		{ "1..3.4", SK_EADDR_OCTET_EMPTY, NULL },
		{ ".1.2.3", SK_EADDR_OCTET_EMPTY, NULL },
		{ "1.2.3.", SK_EADDR_OCTET_EMPTY, NULL },
		{ "256.1.1.1", SK_EADDR_OCTET_RANGE, "256" },
		{ "1.2.3.1000", SK_EADDR_OCTET_RANGE, "1000" },
		{ "1.2.3.99999999999999999999", SK_EADDR_OCTET_RANGE, NULL },
		{ "01.2.3.4", SK_EADDR_LEADING_ZERO, "01" },
		{ "1.2.3.00", SK_EADDR_LEADING_ZERO, "00" },
		{ "1.2.3.x", SK_EADDR_CHAR, "x" },
		{ " 1.2.3.4", SK_EADDR_CHAR, " " },
		{ "1.2.3.4 ", SK_EADDR_CHAR, " " },
		{ "1.2.3.+4", SK_EADDR_CHAR, "+" },
		{ "1.2.3.-4", SK_EADDR_CHAR, "-" },
		{ "0x1.2.3.4", SK_EADDR_CHAR, "x" },
	};
	check_rejects(sk_ip_parse_v4, cases, sizeof cases / sizeof cases[0]);
}

static void test_ip_parse_v4_reads_only_len_bytes(void **state)
{
	(void)state;
	struct sk_ip ip;
	/* No NUL needed: the parser must stop at len. */
	assert_int_equal(sk_ip_parse_v4("10.1.2.3garbage", 8, &ip, NULL), 0);
	assert_int_equal(ip.lo, 0x0a010203u);
}

static void test_ip_parse_v6_accepts_rfc4291_forms(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		uint64_t hi, lo;
	} cases[] = {
		{ "::", 0, 0 },
		{ "::1", 0, 1 },
		{ "1::", UINT64_C(0x0001000000000000), 0 },
		{ "2001:db8::1", UINT64_C(0x20010db800000000), 1 },
		{ "2001:DB8:0:0:8:800:200C:417A", UINT64_C(0x20010db800000000),
		  UINT64_C(0x00080800200c417a) },
		{ "ff01::101", UINT64_C(0xff01000000000000), 0x101 },
		{ "0:0:0:0:0:0:0:0", 0, 0 },
		{ "1:2:3:4:5:6:7:8", UINT64_C(0x0001000200030004), UINT64_C(0x0005000600070008) },
		{ "1:2:3:4:5:6:7::", UINT64_C(0x0001000200030004), UINT64_C(0x0005000600070000) },
		{ "::2:3:4:5:6:7:8", UINT64_C(0x0000000200030004), UINT64_C(0x0005000600070008) },
		{ "::ffff:1.2.3.4", 0, UINT64_C(0x0000ffff01020304) },
		{ "::1.2.3.4", 0, UINT64_C(0x01020304) },
		{ "1:2:3:4:5:6:1.2.3.4", UINT64_C(0x0001000200030004), UINT64_C(0x0005000601020304) },
		{ "0000:0000:0000:0000:0000:0000:0000:0001", 0, 1 },
		{ "fe80::1:2", UINT64_C(0xfe80000000000000), UINT64_C(0x0000000000010002) },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct sk_ip ip;
		int err = sk_ip_parse_v6(cases[i].text, strlen(cases[i].text), &ip, NULL);
		if (err)
			fail_msg("'%s': %s", cases[i].text, sk_errname(err));
		assert_int_equal(ip.version, SK_IP_V6);
		assert_int_equal(ip.hi, cases[i].hi);
		assert_int_equal(ip.lo, cases[i].lo);
	}
}

static void test_ip_parse_v6_rejects_each_rule(void **state)
{
	(void)state;
	static const struct reject_case cases[] = {
		{ "", SK_EADDR_EMPTY, NULL },
		{ "1::2::3", SK_EADDR_DOUBLE_COLON, "::" },
		{ ":::", SK_EADDR_DOUBLE_COLON, NULL },
		{ ":1::2", SK_EADDR_LONE_COLON, ":" },
		{ "1::2:", SK_EADDR_LONE_COLON, ":" },
		{ ":1:2:3:4:5:6:7", SK_EADDR_LONE_COLON, NULL },
		{ "1:2:3:4:5:6:7:", SK_EADDR_LONE_COLON, NULL },
		{ "1:2:3:4:5:6:7:8:9", SK_EADDR_GROUPS, NULL },
		{ "1:2:3:4:5:6:7", SK_EADDR_GROUPS, NULL },
		{ "1:2:3:4:5:6:7:8::", SK_EADDR_GROUPS, NULL },
		{ "::1:2:3:4:5:6:7:8", SK_EADDR_GROUPS, NULL },
		{ "1:2", SK_EADDR_GROUPS, NULL },
		{ "12345::", SK_EADDR_HEXTET_LEN, "12345" },
		{ "g::1", SK_EADDR_CHAR, "g" },
		{ "::1 ", SK_EADDR_CHAR, " " },
		{ "::ffff:1.2.3", SK_EADDR_OCTETS, NULL },
		{ "::ffff:256.2.3.4", SK_EADDR_OCTET_RANGE, "256" },
		{ "::1.2.3.4:1", SK_EADDR_CHAR, "." },
		{ "1:2:3:4:5:6:7:1.2.3.4", SK_EADDR_GROUPS, NULL },
		{ "1.2.3.4::", SK_EADDR_CHAR, "." },
	};
	check_rejects(sk_ip_parse_v6, cases, sizeof cases / sizeof cases[0]);
}

static void test_ip_parse_picks_the_family(void **state)
{
	(void)state;
	assert_int_equal(ip_of("1.2.3.4").version, SK_IP_V4);
	assert_int_equal(ip_of("::1").version, SK_IP_V6);
	struct sk_ip ip;
	assert_int_equal(sk_ip_parse("nonsense", 8, &ip, NULL), SK_EADDR_CHAR);
}

static void test_ip_parse_prefix_forms(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		unsigned version;
		int err;
		unsigned prefix;
	} cases[] = {
		{ "24", SK_IP_V4, 0, 24 },
		{ "0", SK_IP_V4, 0, 0 },
		{ "32", SK_IP_V4, 0, 32 },
		{ "024", SK_IP_V4, 0, 24 },
		{ "0000000000000000000000000000000008", SK_IP_V4, 0, 8 },
		{ "128", SK_IP_V6, 0, 128 },
		{ "33", SK_IP_V4, SK_EPREFIX_RANGE, 0 },
		{ "129", SK_IP_V6, SK_EPREFIX_RANGE, 0 },
		{ "99999999999999999999999", SK_IP_V4, SK_EPREFIX_RANGE, 0 },
		{ "255.255.255.0", SK_IP_V4, 0, 24 },
		{ "255.255.255.255", SK_IP_V4, 0, 32 },
		{ "0.0.0.0", SK_IP_V4, 0, 0 },
		{ "128.0.0.0", SK_IP_V4, 0, 1 },
		{ "255.255.255.254", SK_IP_V4, 0, 31 },
		{ "0.0.0.255", SK_IP_V4, 0, 24 },   /* hostmask */
		{ "0.255.255.255", SK_IP_V4, 0, 8 },  /* hostmask */
		{ "255.0.255.0", SK_IP_V4, SK_EMASK_NONCONTIGUOUS, 0 },
		{ "0.0.255.0", SK_IP_V4, SK_EMASK_NONCONTIGUOUS, 0 },
		{ "255.255.255.00", SK_IP_V4, SK_EPREFIX_SYNTAX, 0 },
		{ "ffff::", SK_IP_V6, SK_EPREFIX_SYNTAX, 0 },
		{ "255.255.255.0", SK_IP_V6, SK_EPREFIX_SYNTAX, 0 },
		{ "", SK_IP_V4, SK_EPREFIX_SYNTAX, 0 },
		{ "+24", SK_IP_V4, SK_EPREFIX_SYNTAX, 0 },
		{ "24 ", SK_IP_V4, SK_EPREFIX_SYNTAX, 0 },
		{ "/24", SK_IP_V4, SK_EPREFIX_SYNTAX, 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		unsigned prefix = 999;
		int err = sk_ip_parse_prefix(cases[i].text, strlen(cases[i].text), cases[i].version,
		                             &prefix, NULL);
		if (err != cases[i].err)
			fail_msg("'%s' v%u: got %s, want %s", cases[i].text, cases[i].version,
			         sk_errname(err), sk_errname(cases[i].err));
		assert_int_equal(prefix, cases[i].err ? 999 : cases[i].prefix);
	}
}

static void test_ip_parse_cidr_forms(void **state)
{
	(void)state;
	struct sk_ip_cidr c = cidr_of("192.168.1.10/24");
	assert_int_equal(c.prefix, 24);
	assert_true(c.has_prefix);
	assert_int_equal(c.zone.len, 0);

	c = cidr_of("192.168.1.10");
	assert_int_equal(c.prefix, 32);
	assert_false(c.has_prefix);

	c = cidr_of("2001:db8::1");
	assert_int_equal(c.prefix, 128);

	c = cidr_of("10.0.0.1/255.0.0.0");
	assert_int_equal(c.prefix, 8);

	const char *zoned = "fe80::1%eth0/64";
	c = cidr_of(zoned);
	assert_int_equal(c.prefix, 64);
	assert_int_equal(c.zone.len, 4);
	assert_memory_equal(c.zone.p, "eth0", 4);
	assert_ptr_equal(c.zone.p, zoned + 8);
}

static void test_ip_parse_cidr_rejects(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		int err;
	} cases[] = {
		{ "1.2.3.4/33", SK_EPREFIX_RANGE },
		{ "::/129", SK_EPREFIX_RANGE },
		{ "1.2.3.4/24/1", SK_EPREFIX_SLASH },
		{ "1.2.3.4/", SK_EPREFIX_SYNTAX },
		{ "/24", SK_EADDR_EMPTY },
		{ "", SK_EADDR_EMPTY },
		{ "1.2.3.4/255.0.255.0", SK_EMASK_NONCONTIGUOUS },
		{ "::1/ffff::", SK_EPREFIX_SYNTAX },
		{ "1.2.3.4%eth0", SK_EADDR_ZONE },
		{ "::1%", SK_EADDR_ZONE },
		{ "::1%a%b", SK_EADDR_ZONE },
		{ "::1%a\tb", SK_EADDR_ZONE },
		{ "::1%\x7f", SK_EADDR_ZONE },
		{ "::1%\xc3\xa9", SK_EADDR_ZONE },
		{ "::1%0123456789012345678901234567890123456789012345678901234567890123456789",
		  SK_EADDR_ZONE },
		{ "1::2::3/64", SK_EADDR_DOUBLE_COLON },
		{ "01.2.3.4/8", SK_EADDR_LEADING_ZERO },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct sk_ip_cidr c;
		int err = sk_ip_parse_cidr(cases[i].text, strlen(cases[i].text), &c, NULL);
		if (err != cases[i].err)
			fail_msg("'%s': got %s, want %s", cases[i].text, sk_errname(err),
			         sk_errname(cases[i].err));
	}
}

/* --- formatting ------------------------------------------------------------- */

static void test_ip_format_rfc5952(void **state)
{
	(void)state;
	static const struct {
		const char *in, *canonical, *compressed, *exploded;
	} cases[] = {
		{ "::", "::", "::", "0000:0000:0000:0000:0000:0000:0000:0000" },
		{ "::1", "::1", "::1", "0000:0000:0000:0000:0000:0000:0000:0001" },
		{ "2001:DB8:0:0:0:0:0:1", "2001:db8::1", "2001:db8::1", NULL },
		/* §4.2.2: a single zero group is not "::". */
		{ "2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1", NULL },
		/* §4.2.3: the longest run wins; on a tie, the first. */
		{ "2001:0:0:1:0:0:0:1", "2001:0:0:1::1", "2001:0:0:1::1", NULL },
		{ "2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1", "2001:db8::1:0:0:1", NULL },
		/* §4.1: no leading zeros. */
		{ "2001:0db8:00aa:000b::", "2001:db8:aa:b::", "2001:db8:aa:b::", NULL },
		{ "1:0:0:0:0:0:0:0", "1::", "1::", NULL },
		{ "0:0:0:0:0:0:0:1", "::1", "::1", NULL },
		/* §5: IPv4-mapped keeps its dotted tail in the canonical style only. */
		{ "::ffff:1.2.3.4", "::ffff:1.2.3.4", "::ffff:102:304",
		  "0000:0000:0000:0000:0000:ffff:0102:0304" },
		{ "::ffff:0:0", "::ffff:0.0.0.0", "::ffff:0:0", NULL },
		/* IPv4-compatible (deprecated) is not mapped: plain hex. */
		{ "::1.2.3.4", "::102:304", "::102:304", NULL },
		{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" },
	};
	char buf[SK_IP_STRLEN];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct sk_ip ip = ip_of(cases[i].in);
		assert_string_equal(fmt(&ip, SK_IP_CANONICAL, buf), cases[i].canonical);
		assert_string_equal(fmt(&ip, SK_IP_COMPRESSED, buf), cases[i].compressed);
		if (cases[i].exploded)
			assert_string_equal(fmt(&ip, SK_IP_EXPLODED, buf), cases[i].exploded);
	}
}

static void test_ip_format_longest_text_fits(void **state)
{
	(void)state;
	char buf[SK_IP_STRLEN];
	struct sk_ip ip = ip_of("::ffff:255.255.255.255");
	size_t n = sk_ip_format(&ip, SK_IP_CANONICAL, buf);
	assert_int_equal(n, strlen("::ffff:255.255.255.255"));
	ip = ip_of("1111:2222:3333:4444:5555:6666:7777:8888");
	n = sk_ip_format(&ip, SK_IP_EXPLODED, buf);
	assert_int_equal(n, 39);
	assert_int_equal(buf[39], '\0');
}

static void test_ip_format_v4_every_octet_width(void **state)
{
	(void)state;
	char buf[SK_IP_STRLEN];
	for (unsigned v = 0; v < 256; v++) {
		struct sk_ip ip = { 0, (uint64_t)v << 24 | v << 16 | v << 8 | v, SK_IP_V4 };
		char want[32];
		snprintf(want, sizeof want, "%u.%u.%u.%u", v, v, v, v);
		assert_string_equal(fmt(&ip, SK_IP_CANONICAL, buf), want);
	}
}

static void test_ip_format_count(void **state)
{
	(void)state;
	static const struct {
		unsigned log2, minus;
		const char *text;
	} cases[] = {
		{ 0, 0, "1" },
		{ 1, 0, "2" },
		{ 1, 1, "1" },
		{ 8, 2, "254" },
		{ 32, 0, "4294967296" },
		{ 32, 2, "4294967294" },
		{ 63, 0, "9223372036854775808" },
		{ 64, 0, "18446744073709551616" },
		{ 64, 1, "18446744073709551615" },
		{ 96, 2, "79228162514264337593543950334" },
		{ 127, 0, "170141183460469231731687303715884105728" },
		{ 128, 0, "340282366920938463463374607431768211456" },
		{ 128, 1, "340282366920938463463374607431768211455" },
		{ 128, 2, "340282366920938463463374607431768211454" },
	};
	char buf[SK_IP_COUNT_STRLEN];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t n = sk_ip_format_count(cases[i].log2, cases[i].minus, buf);
		assert_string_equal(buf, cases[i].text);
		assert_int_equal(n, strlen(cases[i].text));
	}
}

/* --- arithmetic ------------------------------------------------------------- */

static void test_ip_masks(void **state)
{
	(void)state;
	char buf[SK_IP_STRLEN];
	struct sk_ip m = sk_ip_netmask(SK_IP_V4, 24);
	assert_string_equal(fmt(&m, SK_IP_CANONICAL, buf), "255.255.255.0");
	m = sk_ip_netmask(SK_IP_V4, 0);
	assert_string_equal(fmt(&m, SK_IP_CANONICAL, buf), "0.0.0.0");
	m = sk_ip_netmask(SK_IP_V4, 32);
	assert_string_equal(fmt(&m, SK_IP_CANONICAL, buf), "255.255.255.255");
	m = sk_ip_hostmask(SK_IP_V4, 20);
	assert_string_equal(fmt(&m, SK_IP_CANONICAL, buf), "0.0.15.255");
	m = sk_ip_netmask(SK_IP_V6, 64);
	assert_string_equal(fmt(&m, SK_IP_COMPRESSED, buf), "ffff:ffff:ffff:ffff::");
	m = sk_ip_netmask(SK_IP_V6, 128);
	assert_int_equal(m.hi, UINT64_MAX);
	assert_int_equal(m.lo, UINT64_MAX);
	m = sk_ip_netmask(SK_IP_V6, 65);
	assert_int_equal(m.lo, UINT64_C(0x8000000000000000));
	m = sk_ip_hostmask(SK_IP_V6, 0);
	assert_int_equal(m.hi, UINT64_MAX);
	m = sk_ip_hostmask(SK_IP_V6, 128);
	assert_int_equal(m.hi | m.lo, 0);
	assert_int_equal(sk_ip_bits(SK_IP_V4), 32);
	assert_int_equal(sk_ip_bits(SK_IP_V6), 128);
}

/* The course notes' worked example: 172.16.10.1 AND 255.255.255.0. */
static void test_ip_network_is_the_and(void **state)
{
	(void)state;
	char buf[SK_IP_STRLEN];
	struct sk_ip a = ip_of("172.16.10.1"), b = ip_of("172.16.10.2");
	struct sk_ip na = sk_ip_network(&a, 24), nb = sk_ip_network(&b, 24);
	assert_string_equal(fmt(&na, SK_IP_CANONICAL, buf), "172.16.10.0");
	assert_int_equal(sk_ip_cmp(&na, &nb), 0);
	struct sk_ip last = sk_ip_last(&a, 24);
	assert_string_equal(fmt(&last, SK_IP_CANONICAL, buf), "172.16.10.255");
	struct sk_ip v6 = ip_of("2001:db8:1:2:3:4:5:6");
	struct sk_ip n6 = sk_ip_network(&v6, 48);
	assert_string_equal(fmt(&n6, SK_IP_CANONICAL, buf), "2001:db8:1::");
	n6 = sk_ip_network(&v6, 0);
	assert_string_equal(fmt(&n6, SK_IP_CANONICAL, buf), "::");
}

static void test_ip_cmp_and_contains(void **state)
{
	(void)state;
	struct sk_ip a = ip_of("10.0.0.1"), b = ip_of("10.0.0.2"), v6 = ip_of("::a00:1");
	assert_int_equal(sk_ip_cmp(&a, &b), -1);
	assert_int_equal(sk_ip_cmp(&b, &a), 1);
	assert_int_equal(sk_ip_cmp(&a, &a), 0);
	assert_int_equal(sk_ip_cmp(&a, &v6), -1); /* IPv4 sorts first */
	struct sk_ip net = ip_of("10.0.0.0");
	assert_true(sk_ip_contains(&net, 8, &a));
	assert_true(sk_ip_contains(&net, 0, &a));
	assert_false(sk_ip_contains(&net, 32, &a));
	assert_false(sk_ip_contains(&net, 8, &v6)); /* never across families */
	struct sk_ip hi1 = ip_of("8000::"), hi2 = ip_of("7fff::");
	assert_int_equal(sk_ip_cmp(&hi2, &hi1), -1);
}

static void test_ip_add_stays_in_the_family(void **state)
{
	(void)state;
	char buf[SK_IP_STRLEN];
	struct sk_ip out = { 1, 2, 3 };
	struct sk_ip top = ip_of("255.255.255.255"), zero = ip_of("0.0.0.0");
	assert_int_equal(sk_ip_add(&top, 1, &out), SK_ERANGE);
	assert_int_equal(out.hi, 1); /* untouched on failure */
	assert_int_equal(sk_ip_add(&zero, -1, &out), SK_ERANGE);
	assert_int_equal(sk_ip_add(&top, -1, &out), 0);
	assert_string_equal(fmt(&out, SK_IP_CANONICAL, buf), "255.255.255.254");
	struct sk_ip carry = ip_of("::ffff:ffff:ffff:ffff");
	assert_int_equal(sk_ip_add(&carry, 1, &out), 0);
	assert_string_equal(fmt(&out, SK_IP_CANONICAL, buf), "0:0:0:1::");
	assert_int_equal(sk_ip_add(&out, -1, &out), 0);
	assert_int_equal(out.lo, UINT64_MAX);
	struct sk_ip v6top = ip_of("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	assert_int_equal(sk_ip_add(&v6top, 1, &out), SK_ERANGE);
	assert_int_equal(sk_ip_add(&v6top, INT64_MIN, &out), 0);
}

static void test_ip_bytes_round_trip(void **state)
{
	(void)state;
	unsigned char b4[4], b16[16];
	struct sk_ip v4 = ip_of("192.0.2.33");
	sk_ip_to_bytes(&v4, b4);
	assert_memory_equal(b4, "\xc0\x00\x02\x21", 4);
	struct sk_ip back = sk_ip_from_bytes(SK_IP_V4, b4);
	assert_int_equal(sk_ip_cmp(&back, &v4), 0);
	struct sk_ip v6 = ip_of("2001:db8::ff00:42:8329");
	sk_ip_to_bytes(&v6, b16);
	assert_memory_equal(b16, "\x20\x01\x0d\xb8\0\0\0\0\0\0\xff\x00\x00\x42\x83\x29", 16);
	back = sk_ip_from_bytes(SK_IP_V6, b16);
	assert_int_equal(sk_ip_cmp(&back, &v6), 0);
	struct sk_ip z = sk_ip_zero(SK_IP_V6);
	assert_int_equal(z.hi | z.lo, 0);
	assert_int_equal(z.version, SK_IP_V6);
}

/* --- classification --------------------------------------------------------- */

static void test_ip_class_by_leading_bits(void **state)
{
	(void)state;
	static const struct {
		const char *ip;
		char cls;
		unsigned prefix;
	} cases[] = {
		{ "0.0.0.0", 'A', 8 },       { "127.255.255.255", 'A', 8 },
		{ "128.0.0.0", 'B', 16 },    { "191.255.255.255", 'B', 16 },
		{ "192.0.0.0", 'C', 24 },    { "223.255.255.255", 'C', 24 },
		{ "224.0.0.0", 'D', 32 },    { "239.255.255.255", 'D', 32 },
		{ "240.0.0.0", 'E', 32 },    { "255.255.255.255", 'E', 32 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct sk_ip ip = ip_of(cases[i].ip);
		assert_int_equal(sk_ip_class(&ip), cases[i].cls);
		assert_int_equal(sk_ip_class_prefix(cases[i].cls), cases[i].prefix);
	}
	struct sk_ip v6 = ip_of("::1");
	assert_int_equal(sk_ip_class(&v6), 0);
}

static void test_ip_flags_match_python(void **state)
{
	(void)state;
	enum { P = SK_IP_PRIVATE, G = SK_IP_GLOBAL, L = SK_IP_LOOPBACK, M = SK_IP_MULTICAST,
	       K = SK_IP_LINK_LOCAL, R = SK_IP_RESERVED, U = SK_IP_UNSPECIFIED };
	static const struct {
		const char *ip;
		unsigned flags;
	} cases[] = {
		{ "8.8.8.8", G },
		{ "10.1.2.3", P },
		{ "172.16.10.1", P },
		{ "172.32.0.1", G },
		{ "192.168.0.1", P },
		{ "127.0.0.1", P | L },
		{ "169.254.1.1", P | K },
		{ "100.64.0.1", 0 },          /* shared space: neither */
		{ "192.0.0.9", G },           /* exception inside 192.0.0.0/24 */
		{ "192.0.0.8", P },
		{ "224.0.0.1", G | M },
		{ "240.0.0.1", P | R },
		{ "255.255.255.255", P | R },
		{ "0.0.0.0", P | U },
		{ "::", P | R | U },
		{ "::1", P | R | L },
		{ "2001:db8::1", P },
		{ "2001:1::1", G },           /* exception */
		{ "2001:1::3", P },
		{ "2002::1", P },
		{ "fe80::1", P | K },
		{ "fc00::1", P },
		{ "ff02::1", G | M },
		{ "2606:4700::1", G },
		{ "::ffff:10.0.0.1", P | R },  /* mapped: private from IPv4 */
		{ "::ffff:8.8.8.8", G | R },
		{ "::ffff:100.64.0.1", G | R }, /* IPv6 global is "not private" */
		{ "fec0::1", G },             /* site-local is outside fe00::/9 */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct sk_ip ip = ip_of(cases[i].ip);
		unsigned got = sk_ip_flags(&ip);
		if (got != cases[i].flags)
			fail_msg("%s: flags 0x%x, want 0x%x", cases[i].ip, got, cases[i].flags);
	}
}

static void test_ip_special_tables_match_text(void **state)
{
	(void)state;
	const char *bad = sk__ip_check_tables();
	if (bad)
		fail_msg("table row '%s' does not match its numbers", bad);
}

static void test_ip_special_find_is_most_specific(void **state)
{
	(void)state;
	struct sk_ip ip = ip_of("192.0.0.9");
	const struct sk_ip_special *sp = sk_ip_special_find(&ip);
	assert_non_null(sp);
	assert_string_equal(sp->cidr, "192.0.0.9/32");
	ip = ip_of("172.16.10.1");
	sp = sk_ip_special_find(&ip);
	assert_non_null(sp);
	assert_string_equal(sp->rfc, "RFC 1918");
	ip = ip_of("2001:db8::1");
	sp = sk_ip_special_find(&ip);
	assert_string_equal(sp->cidr, "2001:db8::/32");
	ip = ip_of("8.8.8.8");
	assert_null(sk_ip_special_find(&ip));
}

static void test_ip_ipv4_mapped(void **state)
{
	(void)state;
	struct sk_ip v4 = { 9, 9, 9 };
	struct sk_ip ip = ip_of("::ffff:192.0.2.1");
	assert_true(sk_ip_ipv4_mapped(&ip, &v4));
	assert_int_equal(v4.version, SK_IP_V4);
	assert_int_equal(v4.lo, 0xc0000201u);
	ip = ip_of("::192.0.2.1");
	assert_false(sk_ip_ipv4_mapped(&ip, &v4));
	ip = ip_of("192.0.2.1");
	assert_false(sk_ip_ipv4_mapped(&ip, &v4));
}

/* --- describe --------------------------------------------------------------- */

static void describe(const char *text, struct sk_ip_info *info)
{
	struct sk_ip_cidr c = cidr_of(text);
	sk_ip_describe(&c, info);
}

static void test_ip_describe_hosts_rules(void **state)
{
	(void)state;
	static const struct {
		const char *in, *first, *last, *broadcast; /* broadcast NULL = none */
		unsigned log2, minus;
	} cases[] = {
		{ "192.168.1.10/24", "192.168.1.1", "192.168.1.254", "192.168.1.255", 8, 2 },
		{ "10.0.0.1/30", "10.0.0.1", "10.0.0.2", "10.0.0.3", 2, 2 },
		{ "10.0.0.1/31", "10.0.0.0", "10.0.0.1", NULL, 1, 0 },    /* RFC 3021 */
		{ "10.0.0.1/32", "10.0.0.1", "10.0.0.1", NULL, 0, 0 },
		{ "0.0.0.0/0", "0.0.0.1", "255.255.255.254", "255.255.255.255", 32, 2 },
		{ "2001:db8::5/64", "2001:db8::1", "2001:db8::ffff:ffff:ffff:ffff", NULL, 64, 1 },
		{ "2001:db8::5/127", "2001:db8::4", "2001:db8::5", NULL, 1, 0 }, /* RFC 6164 */
		{ "2001:db8::5/128", "2001:db8::5", "2001:db8::5", NULL, 0, 0 },
		{ "::/0", "::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NULL, 128, 1 },
	};
	char buf[SK_IP_STRLEN];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct sk_ip_info info;
		describe(cases[i].in, &info);
		assert_string_equal(fmt(&info.first_host, SK_IP_CANONICAL, buf), cases[i].first);
		assert_string_equal(fmt(&info.last_host, SK_IP_CANONICAL, buf), cases[i].last);
		assert_int_equal(info.has_broadcast, cases[i].broadcast != NULL);
		if (cases[i].broadcast)
			assert_string_equal(fmt(&info.broadcast, SK_IP_CANONICAL, buf), cases[i].broadcast);
		assert_int_equal(info.count_log2, cases[i].log2);
		assert_int_equal(info.hosts_minus, cases[i].minus);
	}
}

static void test_ip_describe_interface_flags(void **state)
{
	(void)state;
	struct sk_ip_info info;
	describe("::1/128", &info);
	assert_true(info.flags & SK_IP_LOOPBACK);
	/* Python's IPv6Interface: loopback and unspecified need a /128. */
	describe("::1/64", &info);
	assert_false(info.flags & SK_IP_LOOPBACK);
	describe("::/0", &info);
	assert_false(info.flags & SK_IP_UNSPECIFIED);
	/* IPv4 interfaces answer for the address alone. */
	describe("127.0.0.1/8", &info);
	assert_true(info.flags & SK_IP_LOOPBACK);
	describe("0.0.0.0/0", &info);
	assert_false(info.flags & SK_IP_UNSPECIFIED);
	describe("0.0.0.0", &info);
	assert_true(info.flags & SK_IP_UNSPECIFIED);
	describe("::ffff:10.1.2.3/96", &info);
	assert_true(info.is_ipv4_mapped);
	assert_int_equal(info.ipv4_mapped.lo, 0x0a010203u);
	assert_int_equal(info.cls, 0);
	describe("10.1.2.3", &info);
	assert_false(info.is_ipv4_mapped);
	assert_int_equal(info.cls, 'A');
}

/* --- iteration -------------------------------------------------------------- */

static void expect_range(const char *first_text, const char *last_text, const char *const *want)
{
	struct sk_ip first = ip_of(first_text), last = ip_of(last_text), net;
	unsigned prefix;
	bool done = false;
	size_t i = 0;
	char buf[SK_IP_STRLEN], block[64];
	while (sk_ip_range_next(&first, &last, &done, &net, &prefix) > 0) {
		snprintf(block, sizeof block, "%s/%u", fmt(&net, SK_IP_CANONICAL, buf), prefix);
		if (!want[i])
			fail_msg("%s-%s: extra block %s", first_text, last_text, block);
		assert_string_equal(block, want[i]);
		i++;
	}
	if (want[i])
		fail_msg("%s-%s: missing block %s", first_text, last_text, want[i]);
}

static void test_ip_range_summarises(void **state)
{
	(void)state;
	static const char *const r1[] = { "10.0.0.5/32", "10.0.0.6/31", "10.0.0.8/29",
		                          "10.0.0.16/30", "10.0.0.20/32", NULL };
	expect_range("10.0.0.5", "10.0.0.20", r1);
	static const char *const r2[] = { "0.0.0.0/0", NULL };
	expect_range("0.0.0.0", "255.255.255.255", r2);
	static const char *const r3[] = { "::/0", NULL };
	expect_range("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", r3);
	static const char *const r4[] = { "1.2.3.4/32", NULL };
	expect_range("1.2.3.4", "1.2.3.4", r4);
	static const char *const r5[] = { "255.255.255.255/32", NULL };
	expect_range("255.255.255.255", "255.255.255.255", r5);
	static const char *const r6[] = { "2001:db8::/127", "2001:db8::2/128", NULL };
	expect_range("2001:db8::", "2001:db8::2", r6);
	static const char *const r7[] = { "::1/128", "::2/127", "::4/126", "::8/125", "::10/124",
		"::20/123", "::40/122", "::80/121", "::100/120", "::200/119", "::400/118",
		"::800/117", "::1000/116", "::2000/115", "::4000/114", "::8000/113", "::1:0/112",
		"::2:0/111", "::4:0/110", "::8:0/109", "::10:0/108", "::20:0/107", "::40:0/106",
		"::80:0/105", "::100:0/104", "::200:0/103", "::400:0/102", "::800:0/101",
		"::1000:0/100", "::2000:0/99", "::4000:0/98", "::8000:0/97", "::1:0:0/96",
		"::2:0:0/95", "::4:0:0/94", "::8:0:0/93", "::10:0:0/92", "::20:0:0/91",
		"::40:0:0/90", "::80:0:0/89", "::100:0:0/88", "::200:0:0/87", "::400:0:0/86",
		"::800:0:0/85", "::1000:0:0/84", "::2000:0:0/83", "::4000:0:0/82",
		"::8000:0:0/81", "::1:0:0:0/80", "::2:0:0:0/79", "::4:0:0:0/78", "::8:0:0:0/77",
		"::10:0:0:0/76", "::20:0:0:0/75", "::40:0:0:0/74", "::80:0:0:0/73",
		"::100:0:0:0/72", "::200:0:0:0/71", "::400:0:0:0/70", "::800:0:0:0/69",
		"::1000:0:0:0/68", "::2000:0:0:0/67", "::4000:0:0:0/66", "::8000:0:0:0/65",
		"0:0:0:1::/64", "0:0:0:2::/63", "0:0:0:4::/62", "0:0:0:8::/61", "0:0:0:10::/60",
		"0:0:0:20::/59", "0:0:0:40::/58", "0:0:0:80::/57", "0:0:0:100::/56",
		"0:0:0:200::/55", "0:0:0:400::/54", "0:0:0:800::/53", "0:0:0:1000::/52",
		"0:0:0:2000::/51", "0:0:0:4000::/50", "0:0:0:8000::/49", "0:0:1::/48",
		"0:0:2::/47", "0:0:4::/46", "0:0:8::/45", "0:0:10::/44", "0:0:20::/43",
		"0:0:40::/42", "0:0:80::/41", "0:0:100::/40", "0:0:200::/39", "0:0:400::/38",
		"0:0:800::/37", "0:0:1000::/36", "0:0:2000::/35", "0:0:4000::/34", "0:0:8000::/33",
		"0:1::/32", "0:2::/31", "0:4::/30", "0:8::/29", "0:10::/28", "0:20::/27",
		"0:40::/26", "0:80::/25", "0:100::/24", "0:200::/23", "0:400::/22", "0:800::/21",
		"0:1000::/20", "0:2000::/19", "0:4000::/18", "0:8000::/17", "1::/16", "2::/15",
		"4::/14", "8::/13", "10::/12", "20::/11", "40::/10", "80::/9", "100::/8",
		"200::/7", "400::/6", "800::/5", "1000::/4", "2000::/3", "4000::/2", "8000::/1",
		NULL };
	expect_range("::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", r7);
}

static void test_ip_range_rejects_bad_ranges(void **state)
{
	(void)state;
	struct sk_ip a = ip_of("10.0.0.9"), b = ip_of("10.0.0.1"), v6 = ip_of("::1"), net;
	unsigned prefix;
	bool done = false;
	assert_int_equal(sk_ip_range_next(&a, &b, &done, &net, &prefix), SK_ERANGE_ORDER);
	assert_int_equal(sk_ip_range_next(&a, &v6, &done, &net, &prefix), SK_EADDR_FAMILY);
}

static void test_ip_next_block_steps_and_stops(void **state)
{
	(void)state;
	char buf[SK_IP_STRLEN];
	struct sk_ip net = ip_of("10.0.0.0"), out;
	assert_int_equal(sk_ip_next_block(&net, 26, &out), 0);
	assert_string_equal(fmt(&out, SK_IP_CANONICAL, buf), "10.0.0.64");
	struct sk_ip last = ip_of("255.255.255.0");
	assert_int_equal(sk_ip_next_block(&last, 24, &out), SK_ERANGE);
	assert_int_equal(sk_ip_next_block(&net, 0, &out), SK_ERANGE);
	struct sk_ip v6 = ip_of("2001:db8::");
	assert_int_equal(sk_ip_next_block(&v6, 64, &out), 0);
	assert_string_equal(fmt(&out, SK_IP_CANONICAL, buf), "2001:db8:0:1::");
	struct sk_ip v6last = ip_of("ffff::");
	assert_int_equal(sk_ip_next_block(&v6last, 16, &out), SK_ERANGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ip_parse_v4_accepts_dotted_quads),
		cmocka_unit_test(test_ip_parse_v4_rejects_each_rule),
		cmocka_unit_test(test_ip_parse_v4_reads_only_len_bytes),
		cmocka_unit_test(test_ip_parse_v6_accepts_rfc4291_forms),
		cmocka_unit_test(test_ip_parse_v6_rejects_each_rule),
		cmocka_unit_test(test_ip_parse_picks_the_family),
		cmocka_unit_test(test_ip_parse_prefix_forms),
		cmocka_unit_test(test_ip_parse_cidr_forms),
		cmocka_unit_test(test_ip_parse_cidr_rejects),
		cmocka_unit_test(test_ip_format_rfc5952),
		cmocka_unit_test(test_ip_format_longest_text_fits),
		cmocka_unit_test(test_ip_format_v4_every_octet_width),
		cmocka_unit_test(test_ip_format_count),
		cmocka_unit_test(test_ip_masks),
		cmocka_unit_test(test_ip_network_is_the_and),
		cmocka_unit_test(test_ip_cmp_and_contains),
		cmocka_unit_test(test_ip_add_stays_in_the_family),
		cmocka_unit_test(test_ip_bytes_round_trip),
		cmocka_unit_test(test_ip_class_by_leading_bits),
		cmocka_unit_test(test_ip_flags_match_python),
		cmocka_unit_test(test_ip_special_tables_match_text),
		cmocka_unit_test(test_ip_special_find_is_most_specific),
		cmocka_unit_test(test_ip_ipv4_mapped),
		cmocka_unit_test(test_ip_describe_hosts_rules),
		cmocka_unit_test(test_ip_describe_interface_flags),
		cmocka_unit_test(test_ip_range_summarises),
		cmocka_unit_test(test_ip_range_rejects_bad_ranges),
		cmocka_unit_test(test_ip_next_block_steps_and_stops),
	};
	return cmocka_run_group_tests_name("ip", tests, NULL, NULL);
}
