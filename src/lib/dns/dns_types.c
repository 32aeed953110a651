/* The record types sockit knows by name, and the shape of their data: one
 * table that the codec (dns_msg.c, dns_write.c), the text forms
 * (dns_text.c) and the zone reader (dns_zone.c) all read. */
#include "dns/dns_internal.h"

#include <sockit/err.h>

#include <string.h>
#include <strings.h>

struct type_entry {
	uint16_t type;
	const char *name;
	const char *shape; /* see sk__dns_type_shape(); NULL: opaque data */
};

static const struct type_entry types[] = {
	{ SK_DNS_A, "A", "a" },          { SK_DNS_NS, "NS", "n" },
	{ SK_DNS_CNAME, "CNAME", "n" },  { SK_DNS_SOA, "SOA", "nn44444" },
	{ SK_DNS_PTR, "PTR", "n" },      { 13, "HINFO", "ss" },
	{ SK_DNS_MX, "MX", "2n" },       { SK_DNS_TXT, "TXT", "S" },
	{ SK_DNS_AAAA, "AAAA", "A" },    { SK_DNS_SRV, "SRV", "222N" },
	{ SK_DNS_OPT, "OPT", NULL },     { SK_DNS_ANY, "ANY", NULL },
	{ SK_DNS_CAA, "CAA", "c" },
};
#define N_TYPES (sizeof types / sizeof types[0])

static const struct type_entry *find_type(unsigned type)
{
	for (size_t i = 0; i < N_TYPES; i++)
		if (types[i].type == type)
			return &types[i];
	return NULL;
}

const char *sk__dns_type_shape(unsigned type)
{
	/* The two commonest first: this runs for every record a server writes. */
	if (type == SK_DNS_A)
		return "a";
	if (type == SK_DNS_AAAA)
		return "A";
	const struct type_entry *t = find_type(type);
	return t ? t->shape : NULL;
}

const char *sk_dns_type_name(unsigned type)
{
	const struct type_entry *t = find_type(type);
	return t ? t->name : NULL;
}

/* TYPEnnn's number (RFC 3597 §5): 1 to 5 digits, at most 65535. */
static int type_number(const char *p, size_t len, unsigned long *out)
{
	if (len == 0 || len > 5)
		return -1;
	unsigned long v = 0;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(p[i] - '0');
	}
	if (v > 65535)
		return -1;
	*out = v;
	return 0;
}

int sk_dns_type_parse(const char *text, size_t len, uint16_t *out)
{
	for (size_t i = 0; i < N_TYPES; i++) {
		if (strlen(types[i].name) == len && strncasecmp(types[i].name, text, len) == 0) {
			*out = types[i].type;
			return 0;
		}
	}
	unsigned long v;
	if (len > 4 && strncasecmp(text, "TYPE", 4) == 0 && type_number(text + 4, len - 4, &v) == 0) {
		*out = (uint16_t)v;
		return 0;
	}
	return SK_EDNS_TYPE;
}
