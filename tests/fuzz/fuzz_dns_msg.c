/* libFuzzer target for the DNS message parser (`make fuzz`). The input is
 * one message from a peer, in an allocation of exactly its size so that
 * AddressSanitizer sees any read past its end. For each input:
 *
 *   1. sk_dns_parse either fails with an SK_EDNS_* code, or keeps its
 *      promises: the records it stored are as many as the header counts,
 *      each record's data lies inside the message, and every record's data
 *      and every name can be written as text;
 *   2. sk_dns_parse_question agrees with sk_dns_parse on the header and
 *      the question;
 *   3. the input is also a query to a small zone (the server's path): the
 *      answer, if any, parses, has QR set and the same ID, and fits the
 *      size the server was given.
 *
 * Any sanitizer report, leak or abort() is a crash for libFuzzer. */
#include <sockit/dns.h>
#include <sockit/dns_zone.h>
#include <sockit/err.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_RRS 2048

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_dns_msg: %s\n", what);
	abort();
}

static const char zone[] = "$ORIGIN f.test.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 10.0.0.1\n"
                           "www AAAA ::1\nc CNAME www\nm MX 1 www\nt TXT \"x\" \"y\"\n";

static struct sk_dns_zones *zones;
static struct sk_dns_rr rrs[MAX_RRS];
static char text[SK_DNS_RDATA_STRLEN];
static unsigned char answer[SK_DNS_MSG_MAX];

static void check_parsed(const unsigned char *p, size_t size, const struct sk_dns_msg *m)
{
	if (m->n_rrs != (size_t)m->h.ancount + m->h.nscount + m->h.arcount)
		fail("records stored differ from the header's counts");
	for (size_t i = 0; i < m->n_rrs; i++) {
		const struct sk_dns_rr *rr = &m->rrs[i];
		if (rr->rdata > size || rr->rdlen > size - rr->rdata)
			fail("record data outside the message");
		if (rr->name.len == 0 || rr->name.len > SK_DNS_NAME_MAX)
			fail("a name of impossible length");
		if (sk_dns_rdata_format(p, size, rr, text, sizeof text) < 0)
			fail("record data that cannot be written as text");
		char name[SK_DNS_NAME_STRLEN];
		size_t n = sk_dns_name_format(&rr->name, name);
		if (n >= sizeof name || strlen(name) != n)
			fail("a name written past its buffer");
		/* The text of a name parses back to the same name. */
		struct sk_dns_name back;
		if (sk_dns_name_parse(name, n, NULL, &back) < 0 || !sk_dns_name_equal(&back, &rr->name))
			fail("a name's text does not parse back to it");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!zones) {
		struct sk_dns_zone_error zerr;
		if (sk_dns_zones_new(&zones) < 0 || sk_dns_zones_load(zones, zone, strlen(zone), &zerr) < 0 ||
		    sk_dns_zones_finish(zones, &zerr) < 0)
			fail("the fuzzer's zone does not load");
	}
	unsigned char *p = malloc(size ? size : 1);
	if (!p)
		return 0;
	memcpy(p, data, size);
	struct sk_dns_msg m = { .rrs = rrs, .cap_rrs = MAX_RRS };
	int err = sk_dns_parse(p, size, &m);
	if (err < 0 && !(SK_EDNS_IS_MALFORMED(err)))
		fail("an error that is not SK_EDNS_*");
	if (err == 0)
		check_parsed(p, size, &m);
	struct sk_dns_msg q = { 0 };
	int qerr = sk_dns_parse_question(p, size, &q);
	if (err == 0 && (qerr < 0 || q.h.id != m.h.id || q.has_question != m.has_question ||
	                 (q.has_question && !sk_dns_name_equal(&q.q.name, &m.q.name))))
		fail("parse_question disagrees with parse");

	size_t cap = 512 + (size ? p[0] : 0) * 16u;
	struct sk_dns_answer_opts o = { .over_udp = size && (p[size - 1] & 1), .force_tc = size > 1 && p[1] == 0xff };
	struct sk_dns_answer_info info;
	int alen = sk_dns_zones_answer(zones, p, size, &o, answer, cap, &info);
	if (alen < 0 || (size_t)alen > cap)
		fail("an answer larger than its room");
	if (alen > 0) {
		struct sk_dns_msg a = { .rrs = rrs, .cap_rrs = MAX_RRS };
		if (sk_dns_parse(answer, (size_t)alen, &a) < 0)
			fail("the server's answer does not parse");
		if (!(a.h.flags & SK_DNS_QR) || a.h.id != (uint16_t)(p[0] << 8 | p[1]))
			fail("an answer without QR or with another ID");
	}
	free(p);
	return 0;
}
