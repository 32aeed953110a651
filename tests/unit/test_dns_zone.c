/* Unit tests for the zone reader and the answers (src/lib/dns/dns_zone.c,
 * dns_zones.c): master-file syntax, hosts files, the faults a file can
 * have, and NXDOMAIN, NODATA, CNAME chains, REFUSED and truncation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <sockit/dns.h>
#include <sockit/dns_zone.h>
#include <sockit/err.h>

static const char zone_text[] =
	"$ORIGIN lab.test.\n"
	"$TTL 1h\n"
	"@ IN SOA ns1 admin.lab.test. (\n"
	"   7 ; serial\n"
	"   3600 900 1w 30 )\n"
	"  NS ns1\n"
	"ns1 A 10.0.0.1\n"
	"www 60 IN A 10.0.0.2\n"
	"    IN 120 AAAA 2001:db8::2\n"
	"web CNAME www\n"
	"loop1 CNAME loop2\n"
	"loop2 CNAME loop1\n"
	"deep.er.name A 10.0.0.3\n"
	"t TXT \"a;b\" plain \\\"q\\\" \"\\065\"\n"
	"g TYPE65280 \\# 2 ab CD\n"
	"empty TXT \"\"\n";

static struct sk_dns_zones *load(const char *const *texts, size_t n, int *err_out,
                                 struct sk_dns_zone_error *zerr)
{
	struct sk_dns_zones *z;
	assert_int_equal(sk_dns_zones_new(&z), 0);
	int err = 0;
	for (size_t i = 0; i < n && err == 0; i++)
		err = sk_dns_zones_load(z, texts[i], strlen(texts[i]), zerr);
	if (err == 0)
		err = sk_dns_zones_finish(z, zerr);
	*err_out = err;
	return z;
}

/* Asks z and parses the answer into m. Returns the answer's length. */
static int ask(struct sk_dns_zones *z, const char *name, uint16_t type, bool udp, unsigned edns,
               unsigned char *out, size_t cap, struct sk_dns_msg *m)
{
	unsigned char q[512];
	struct sk_dns_name n;
	assert_int_equal(sk_dns_name_parse(name, strlen(name), NULL, &n), 0);
	int qlen = sk_dns_build_query(q, sizeof q, 99, &n, type, true, edns);
	struct sk_dns_answer_opts o = { .over_udp = udp };
	struct sk_dns_answer_info info;
	int len = sk_dns_zones_answer(z, q, (size_t)qlen, &o, out, cap, &info);
	assert_true(len > 0);
	assert_int_equal(sk_dns_parse(out, (size_t)len, m), 0);
	assert_int_equal(m->h.id, 99);
	assert_true(m->h.flags & SK_DNS_QR);
	return len;
}

static size_t answers(const struct sk_dns_msg *m)
{
	size_t n = 0;
	for (size_t i = 0; i < m->n_rrs; i++)
		n += m->rrs[i].section == SK_DNS_SEC_ANSWER;
	return n;
}

static void test_dns_zone_answers(void **state)
{
	(void)state;
	const char *texts[] = { zone_text, "10.9.8.7 h1.hosts.test h1\n::1 h1.hosts.test\n" };
	int err;
	struct sk_dns_zone_error zerr;
	struct sk_dns_zones *z = load(texts, 2, &err, &zerr);
	if (err)
		fail_msg("load: %u: %s", zerr.line, zerr.why);
	unsigned char out[4096];
	struct sk_dns_rr rrs[64];
	struct sk_dns_msg m = { .rrs = rrs, .cap_rrs = 64 };
	char text[SK_DNS_RDATA_STRLEN];

	ask(z, "www.lab.test", SK_DNS_A, false, 0, out, sizeof out, &m);
	assert_int_equal(m.rcode, SK_DNS_NOERROR);
	assert_true(m.h.flags & SK_DNS_AA);
	assert_int_equal(answers(&m), 1);
	assert_int_equal(rrs[0].ttl, 60);

	ask(z, "www.lab.test", SK_DNS_AAAA, false, 0, out, sizeof out, &m);
	assert_int_equal(rrs[0].ttl, 120);

	ask(z, "web.lab.test", SK_DNS_A, false, 0, out, sizeof out, &m);
	assert_int_equal(answers(&m), 2);
	assert_int_equal(rrs[0].type, SK_DNS_CNAME);
	assert_int_equal(rrs[1].type, SK_DNS_A);

	/* A CNAME loop ends, with what the chain had. */
	ask(z, "loop1.lab.test", SK_DNS_A, false, 0, out, sizeof out, &m);
	assert_int_equal(m.rcode, SK_DNS_NOERROR);
	assert_true(answers(&m) >= 2);

	ask(z, "nope.lab.test", SK_DNS_A, false, 0, out, sizeof out, &m);
	assert_int_equal(m.rcode, SK_DNS_NXDOMAIN);
	assert_int_equal(m.h.nscount, 1);
	assert_int_equal(rrs[0].type, SK_DNS_SOA);
	assert_int_equal(rrs[0].ttl, 30); /* min(SOA TTL 3600, MINIMUM 30) */

	/* Empty non-terminals exist (RFC 8020): NODATA, not NXDOMAIN. */
	ask(z, "er.name.lab.test", SK_DNS_A, false, 0, out, sizeof out, &m);
	assert_int_equal(m.rcode, SK_DNS_NOERROR);
	assert_int_equal(answers(&m), 0);
	assert_int_equal(m.h.nscount, 1);

	ask(z, "other.test", SK_DNS_A, false, 0, out, sizeof out, &m);
	assert_int_equal(m.rcode, SK_DNS_REFUSED);
	assert_false(m.h.flags & SK_DNS_AA);

	ask(z, "t.lab.test", SK_DNS_TXT, false, 0, out, sizeof out, &m);
	assert_true(sk_dns_rdata_format(out, m.len, &rrs[0], text, sizeof text) > 0);
	assert_string_equal(text, "\"a;b\" \"plain\" \"\\\"q\\\"\" \"A\"");

	ask(z, "g.lab.test", 65280, false, 0, out, sizeof out, &m);
	assert_true(sk_dns_rdata_format(out, m.len, &rrs[0], text, sizeof text) > 0);
	assert_string_equal(text, "\\# 2 ABCD");

	ask(z, "h1", SK_DNS_A, false, 0, out, sizeof out, &m);
	assert_int_equal(answers(&m), 1);
	assert_int_equal(rrs[0].ttl, 0);
	ask(z, "7.8.9.10.in-addr.arpa", SK_DNS_PTR, false, 0, out, sizeof out, &m);
	assert_true(sk_dns_rdata_format(out, m.len, &rrs[0], text, sizeof text) > 0);
	assert_string_equal(text, "h1.hosts.test.");
	ask(z, "h1.hosts.test", SK_DNS_MX, false, 0, out, sizeof out, &m);
	assert_int_equal(m.rcode, SK_DNS_NOERROR);
	assert_int_equal(answers(&m) + m.h.nscount, 0); /* NODATA, no zone for an SOA */

	sk_dns_zones_free(z);
}

static void test_dns_zone_truncates_to_the_client_size(void **state)
{
	(void)state;
	char big[8192];
	int n = snprintf(big, sizeof big, "$ORIGIN t.\n$TTL 5\n@ SOA ns h 1 2 3 4 5\n");
	for (int i = 0; i < 20; i++)
		n += snprintf(big + n, sizeof big - (size_t)n, "b TXT \"%0100d\"\n", i);
	const char *texts[] = { big };
	int err;
	struct sk_dns_zone_error zerr;
	struct sk_dns_zones *z = load(texts, 1, &err, &zerr);
	assert_int_equal(err, 0);
	unsigned char out[65535];
	struct sk_dns_rr rrs[64];
	struct sk_dns_msg m = { .rrs = rrs, .cap_rrs = 64 };
	int len = ask(z, "b.t", SK_DNS_TXT, true, 0, out, sizeof out, &m);
	assert_true(len <= 512);
	assert_true(m.h.flags & SK_DNS_TC);
	assert_int_equal(answers(&m), 0);
	len = ask(z, "b.t", SK_DNS_TXT, true, 1232, out, sizeof out, &m);
	assert_true(len <= 1232 && (m.h.flags & SK_DNS_TC));
	len = ask(z, "b.t", SK_DNS_TXT, true, 4096, out, sizeof out, &m);
	assert_false(m.h.flags & SK_DNS_TC);
	assert_int_equal(answers(&m), 20);
	len = ask(z, "b.t", SK_DNS_TXT, false, 0, out, sizeof out, &m);
	assert_int_equal(answers(&m), 20);
	sk_dns_zones_free(z);
}

static void test_dns_zone_refuses_bad_files(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		unsigned line;
		const char *why;
	} cases[] = {
		{ "$ORIGIN a.\n$TTL 1\n@ SOA n h 1 2 3 4 5\nx A 1.2.3\n", 4, "is not an IPv4 address" },
		{ "$ORIGIN a.\n$TTL 1\n@ SOA n h 1 2 3 4 5\nx AAAA 1.2.3.4\n", 4, "is not an IPv6 address" },
		{ "$ORIGIN a.\n$TTL 1\n@ SOA n h 1 2 3 4 5\nx MX 70000 y\n", 4, "is not a number" },
		{ "$ORIGIN a.\n$TTL 1\n@ SOA n h 1 2 3 4 5\nx A 1.2.3.4 5\n", 4, "after the data of A" },
		{ "$ORIGIN a.\n$TTL 1\n@ SOA n h 1 2 3 4 5\nx CH A 1.2.3.4\n", 4, "only class IN" },
		{ "$ORIGIN a.\n$TTL 1\n@ SOA n h 1 2 3 4 5\n*.x A 1.2.3.4\n", 4, "wildcard" },
		{ "$ORIGIN a.\n$TTL 1\n@ SOA n h 1 2 3 4 5\nx TYPE99 \\# 3 0102\n", 4, "bytes of hex" },
		{ "$ORIGIN a.\n$TTL 1\n@ SOA n h 1 2 3 4 5\nx TXT \"\\300\"\n", 4, "above 255" },
		{ "$ORIGIN a.\n$TTL 99999999999\n", 2, "$TTL takes one TTL" },
		{ "$ORIGIN a.\n$TTL 1\n@ SOA n h 1 2 3 4 5\n)\n", 4, "')' without '('" },
		{ "$ORIGIN a.\n$TTL 1\n@ SOA n h 1 2 3 4 5\nx CAA 0 is-sue \"y\"\n", 4, "CAA tag" },
		{ "$ORIGIN a.\n$TTL 1\n@ SOA n h 1 2 3 4 5\nx OPT \\# 0\n", 4, "meta-type" },
		{ "$ORIGIN a.\n$TTL 1\n@ SOA n h 1 2 3 4 5\n x A 1.2.3.4\n", 4, "'x' is not a record type" },
		{ "1.2.3.4\n", 1, "expected an address and names" },
		{ "$ORIGIN a.\n$TTL 1\n@ SOA n h 1 2 3 4 5\nx A 1.2.3.4\0\n", 0, "NUL byte" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct sk_dns_zones *z;
		assert_int_equal(sk_dns_zones_new(&z), 0);
		struct sk_dns_zone_error zerr;
		size_t len = strlen(cases[i].text);
		if (strstr(cases[i].why, "NUL"))
			len += 2;
		int err = sk_dns_zones_load(z, cases[i].text, len, &zerr);
		if (err != SK_EDNS_SYNTAX || zerr.line != cases[i].line || !strstr(zerr.why, cases[i].why))
			fail_msg("case %zu: got %s, line %u: %s", i, sk_errname(err), zerr.line, zerr.why);
		/* The file is taken whole or not at all. */
		assert_int_equal(sk_dns_zones_n_records(z), 0);
		assert_int_equal(sk_dns_zones_n_zones(z), 0);
		sk_dns_zones_free(z);
	}
	/* The same zone twice, and a CNAME beside other data (found when indexing). */
	const char *twice[] = { "$ORIGIN a.\n$TTL 1\n@ SOA n h 1 2 3 4 5\n",
		                "$ORIGIN a.\n$TTL 1\n@ SOA n h 1 2 3 4 5\n" };
	int err;
	struct sk_dns_zone_error zerr;
	sk_dns_zones_free(load(twice, 2, &err, &zerr));
	assert_int_equal(err, SK_EDNS_SYNTAX);
	assert_int_equal(zerr.file, 1);
	assert_non_null(strstr(zerr.why, "loaded from an earlier file"));
	const char *cname[] = { "$ORIGIN a.\n$TTL 1\n@ SOA n h 1 2 3 4 5\nx A 1.1.1.1\nx CNAME y\n" };
	sk_dns_zones_free(load(cname, 1, &err, &zerr));
	assert_int_equal(err, SK_EDNS_SYNTAX);
	assert_int_equal(zerr.line, 5);
	assert_non_null(strstr(zerr.why, "CNAME and other data"));
}

static void test_dns_zone_formerr_and_no_answer_to_junk(void **state)
{
	(void)state;
	const char *texts[] = { zone_text };
	int err;
	struct sk_dns_zone_error zerr;
	struct sk_dns_zones *z = load(texts, 1, &err, &zerr);
	struct sk_dns_answer_opts o = { .over_udp = true };
	struct sk_dns_answer_info info;
	unsigned char out[512];
	unsigned char junk[64] = { 1, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1, 0, 1 };
	int len = sk_dns_zones_answer(z, junk, 18, &o, out, sizeof out, &info);
	assert_int_equal(len, 12);
	assert_int_equal(out[3] & 0xf, SK_DNS_FORMERR);
	assert_int_equal(sk_dns_zones_answer(z, junk, 11, &o, out, sizeof out, &info), 0);
	junk[2] = 0x80; /* a response */
	assert_int_equal(sk_dns_zones_answer(z, junk, 18, &o, out, sizeof out, &info), 0);
	sk_dns_zones_free(z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dns_zone_answers),
		cmocka_unit_test(test_dns_zone_truncates_to_the_client_size),
		cmocka_unit_test(test_dns_zone_refuses_bad_files),
		cmocka_unit_test(test_dns_zone_formerr_and_no_answer_to_junk),
	};
	return cmocka_run_group_tests_name("dns_zone", tests, NULL, NULL);
}
