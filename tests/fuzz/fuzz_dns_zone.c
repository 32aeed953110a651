/* libFuzzer target for the zone-file reader (`make fuzz`): master files
 * and hosts files. The input is a file's text, in an allocation of exactly
 * its size. A load either fails with SK_EDNS_SYNTAX and a reason (and
 * leaves nothing behind), or the zones index, and answer the names the
 * input holds with messages that parse back. */
#include <sockit/dns.h>
#include <sockit/dns_zone.h>
#include <sockit/err.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_dns_zone: %s\n", what);
	abort();
}

static struct sk_dns_rr rrs[4096];
static unsigned char out[SK_DNS_MSG_MAX];

/* Asks for name at every type the reader knows. */
static void ask(const struct sk_dns_zones *z, const struct sk_dns_name *name)
{
	static const uint16_t types[] = { 1, 2, 5, 6, 12, 15, 16, 28, 33, 255, 257, 65280 };
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		unsigned char q[512];
		int qlen = sk_dns_build_query(q, sizeof q, (uint16_t)i, name, types[i], true, 1232);
		if (qlen < 0)
			fail("a query does not build");
		struct sk_dns_answer_opts o = { .over_udp = i & 1 };
		struct sk_dns_answer_info info;
		int len = sk_dns_zones_answer(z, q, (size_t)qlen, &o, out, sizeof out, &info);
		struct sk_dns_msg m = { .rrs = rrs, .cap_rrs = 4096 };
		if (len <= 0 || sk_dns_parse(out, (size_t)len, &m) < 0)
			fail("an answer that does not parse");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size ? size : 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	struct sk_dns_zones *z;
	if (sk_dns_zones_new(&z) < 0)
		fail("out of memory");
	struct sk_dns_zone_error zerr;
	int err = sk_dns_zones_load(z, text, size, &zerr);
	if (err < 0) {
		if (err != SK_EDNS_SYNTAX && err != SK_ENOMEM)
			fail("a load error that is not SK_EDNS_SYNTAX");
		if (err == SK_EDNS_SYNTAX && (zerr.why[0] == 0 || sk_dns_zones_n_records(z) != 0))
			fail("a refused file without a reason, or with records left behind");
	} else if (sk_dns_zones_finish(z, &zerr) == 0) {
		/* The names of the input's first fields, and a few fixed ones. */
		struct sk_dns_name n;
		const char *fixed[] = { ".", "a.", "www.f.test.", "x.y.z." };
		for (size_t i = 0; i < 4; i++)
			if (sk_dns_name_parse(fixed[i], strlen(fixed[i]), NULL, &n) == 0)
				ask(z, &n);
		size_t at = 0;
		for (int k = 0; k < 8 && at < size; k++) {
			size_t end = at;
			while (end < size && text[end] != ' ' && text[end] != '\n' && text[end] != '\t')
				end++;
			if (end > at && sk_dns_name_parse(text + at, end - at, NULL, &n) == 0)
				ask(z, &n);
			at = end + 1;
			while (at < size && text[at - 1] != '\n')
				at++;
		}
	}
	sk_dns_zones_free(z);
	free(text);
	return 0;
}
