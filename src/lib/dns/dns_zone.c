/* Reading zone files: the RFC 1035 §5 master-file subset that dns_zone.h
 * lists, and /etc/hosts-format files. Strict: the first fault stops the
 * load with its line and reason. */
#include "base/base_internal.h"
#include "dns/dns_internal.h"

#include <sockit/dns_zone.h>
#include <sockit/err.h>

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A field of a record: a view into the file's text. */
struct token {
	const char *p;
	size_t len;
	unsigned line;
	bool quoted;
};

struct reader {
	const char *p, *end;
	unsigned line;
	struct sk_dns_zones *z;
	struct sk_dns_zone_error *err;
	struct sk_dns_name origin, owner;
	bool has_origin, has_owner, has_ttl;
	uint32_t default_ttl;
	uint16_t zone; /* index of this file's zone once its SOA is read */
	struct token tok[SK_DNS_ZONE_MAX_FIELDS];
	size_t n_tok;
	bool leading_blank;
	bool hosts;     /* '#' starts a comment, as in hosts(5), not ';' */
	unsigned char rdata[SK_DNS_MSG_MAX];
	size_t rdlen;
	size_t first_rec;
};

__attribute__((format(printf, 3, 4)))
static int fail(struct reader *r, unsigned line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	r->err->line = line;
	vsnprintf(r->err->why, sizeof r->err->why, fmt, ap);
	va_end(ap);
	return SK_EDNS_SYNTAX;
}

/* A token for a message: at most 60 bytes of it, in quotes. */
#define TOK(t) (int)((t)->len > 60 ? 60 : (t)->len), (t)->p

/* --- Tokens ------------------------------------------------------------------ */

/* Reads the fields of the next entry (one line, or several inside
 * parentheses) into r->tok. Returns 1 for an entry, 0 at the end of the
 * text, or an error. */
static int next_entry(struct reader *r)
{
	int depth = 0;
	unsigned open_line = 0;
	r->n_tok = 0;
	r->leading_blank = r->p < r->end && (*r->p == ' ' || *r->p == '\t');
	while (r->p < r->end) {
		char c = *r->p;
		if (c == '\n') {
			r->p++;
			r->line++;
			if (depth == 0 && r->n_tok)
				return 1;
			if (depth == 0)
				r->leading_blank = r->p < r->end && (*r->p == ' ' || *r->p == '\t');
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\r') {
			r->p++;
			continue;
		}
		if (c == (r->hosts ? '#' : ';')) {
			while (r->p < r->end && *r->p != '\n')
				r->p++;
			continue;
		}
		if (c == '(') {
			if (depth++)
				return fail(r, r->line, "nested parentheses");
			open_line = r->line;
			r->p++;
			continue;
		}
		if (c == ')') {
			if (!depth--)
				return fail(r, r->line, "')' without '('");
			r->p++;
			continue;
		}
		if (r->n_tok == SK_DNS_ZONE_MAX_FIELDS)
			return fail(r, r->line, "more than %d fields in one record", SK_DNS_ZONE_MAX_FIELDS);
		struct token *t = &r->tok[r->n_tok++];
		t->line = r->line;
		t->quoted = c == '"';
		if (t->quoted)
			r->p++;
		t->p = r->p;
		while (r->p < r->end) {
			c = *r->p;
			if (c == '\\') {
				if (r->end - r->p < 2 || r->p[1] == '\n')
					return fail(r, r->line, "a '\\' at the end of a line");
				r->p += 2;
				continue;
			}
			if (t->quoted ? c == '"' : (c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
			                            c == ';' || c == '(' || c == ')' || c == '"'))
				break;
			if (c == '\n')
				r->line++;
			r->p++;
		}
		t->len = (size_t)(r->p - t->p);
		if (t->quoted) {
			if (r->p == r->end)
				return fail(r, t->line, "a quoted string without its closing '\"'");
			r->p++;
		}
	}
	if (depth)
		return fail(r, open_line, "'(' without ')'");
	return r->n_tok ? 1 : 0;
}

/* --- Fields ------------------------------------------------------------------ */

/* A TTL: seconds, or a number with units s m h d w, repeated (1h30m), at
 * most 2^31 - 1 (RFC 2181 §8). */
static int parse_ttl(const struct token *t, uint32_t *out)
{
	uint64_t total = 0, v = 0;
	bool digits = false;
	if (t->len == 0 || t->quoted)
		return -1;
	for (size_t i = 0; i < t->len; i++) {
		char c = t->p[i];
		if (c >= '0' && c <= '9') {
			v = v * 10 + (unsigned)(c - '0');
			digits = true;
			if (v > 0x7fffffff)
				return -1;
			continue;
		}
		static const char units[] = "smhdw";
		static const uint32_t secs[] = { 1, 60, 3600, 86400, 604800 };
		const char *u = c ? strchr(units, c | 0x20) : NULL;
		if (!u || !digits)
			return -1;
		total += v * secs[u - units];
		v = 0;
		digits = false;
	}
	total += v;
	if (total > 0x7fffffff || (t->len && !(t->p[t->len - 1] >= '0' && t->p[t->len - 1] <= '9') && digits))
		return -1;
	*out = (uint32_t)total;
	return 0;
}

static int parse_name(struct reader *r, const struct token *t, struct sk_dns_name *out)
{
	bool relative = !(t->len && t->p[t->len - 1] == '.' &&
	                  (t->len < 2 || t->p[t->len - 2] != '\\'));
	if ((relative || (t->len == 1 && t->p[0] == '@')) && !r->has_origin &&
	    !(t->len == 1 && t->p[0] == '.'))
		return fail(r, t->line, "'%.*s' is relative and no $ORIGIN is set", TOK(t));
	int err = sk_dns_name_parse(t->p, t->len, r->has_origin ? &r->origin : NULL, out);
	if (err < 0)
		return fail(r, t->line, "'%.*s' is not a domain name (%s)", TOK(t),
		            err == SK_EDNS_NAME_LONG ? "longer than 255 bytes"
		                                     : "an empty label, a label over 63 bytes or a bad escape");
	return 0;
}

static bool rd_room(struct reader *r, size_t n)
{
	return n <= sizeof r->rdata - r->rdlen;
}

/* One character-string: its bytes unescaped, at most 255 of them. */
static int put_string(struct reader *r, const struct token *t, size_t max)
{
	unsigned char buf[SK_DNS_MSG_MAX];
	size_t n = 0;
	for (size_t i = 0; i < t->len; i++) {
		unsigned char c = (unsigned char)t->p[i];
		if (c == '\\') {
			i++;
			if (i + 2 < t->len + 0 && t->p[i] >= '0' && t->p[i] <= '9') {
				unsigned v = 0;
				for (int k = 0; k < 3; k++) {
					char d = t->p[i + (size_t)k];
					if (d < '0' || d > '9')
						return fail(r, t->line, "a bad \\DDD escape in '%.*s'", TOK(t));
					v = v * 10 + (unsigned)(d - '0');
				}
				if (v > 255)
					return fail(r, t->line, "a \\DDD escape above 255 in '%.*s'", TOK(t));
				c = (unsigned char)v;
				i += 2;
			} else if (t->p[i] >= '0' && t->p[i] <= '9') {
				return fail(r, t->line, "a bad \\DDD escape in '%.*s'", TOK(t));
			} else {
				c = (unsigned char)t->p[i];
			}
		}
		if (n == max)
			return fail(r, t->line, "a string longer than %zu bytes", max);
		buf[n++] = c;
	}
	size_t need = n + (max == 255 ? 1 : 0);
	if (!rd_room(r, need))
		return fail(r, t->line, "record data longer than 65535 bytes");
	if (max == 255)
		r->rdata[r->rdlen++] = (unsigned char)n;
	memcpy(r->rdata + r->rdlen, buf, n);
	r->rdlen += n;
	return 0;
}

static int put_number(struct reader *r, const struct token *t, unsigned bytes)
{
	uint32_t v = 0;
	bool ok = !t->quoted && t->len > 0 && t->len <= 10;
	uint64_t big = 0;
	for (size_t i = 0; ok && i < t->len; i++) {
		ok = t->p[i] >= '0' && t->p[i] <= '9';
		big = big * 10 + (unsigned)(t->p[i] - '0');
	}
	/* The SOA's timers may be written as TTLs ("1h"). */
	if (!ok && bytes == 4 && parse_ttl(t, &v) == 0) {
		ok = true;
		big = v;
	}
	if (!ok || big > (bytes == 2 ? 0xffffu : 0xffffffffu) || (bytes == 1 && big > 255))
		return fail(r, t->line, "'%.*s' is not a number (0-%u)", TOK(t),
		            bytes == 1 ? 255u : bytes == 2 ? 65535u : 4294967295u);
	if (!rd_room(r, bytes))
		return fail(r, t->line, "record data longer than 65535 bytes");
	for (unsigned i = 0; i < bytes; i++)
		r->rdata[r->rdlen++] = (unsigned char)(big >> (8 * (bytes - 1 - i)));
	return 0;
}

/* RFC 3597 §5: "\# LENGTH HEX...", hex in as many fields as wanted. */
static int put_generic(struct reader *r, const struct token *t, size_t n)
{
	unsigned long len;
	char *end;
	if (n < 2 || t[1].len == 0 || t[1].len > 5 ||
	    (len = strtoul(t[1].p, &end, 10), end != t[1].p + t[1].len) || len > 65535)
		return fail(r, t[0].line, "'\\#' needs a length (0-65535) and hex digits");
	for (size_t i = 2; i < n; i++) {
		for (size_t k = 0; k < t[i].len; k += 2) {
			int hi = k + 1 < t[i].len ? sk__hex_value((unsigned char)t[i].p[k]) : -1;
			int lo = hi >= 0 ? sk__hex_value((unsigned char)t[i].p[k + 1]) : -1;
			if (lo < 0)
				return fail(r, t[i].line, "'%.*s' is not hex digits in pairs", TOK(&t[i]));
			unsigned v = (unsigned)(hi << 4 | lo);
			if (r->rdlen == len)
				return fail(r, t[i].line, "more hex digits than the length %lu", len);
			r->rdata[r->rdlen++] = (unsigned char)v;
		}
	}
	if (r->rdlen != len)
		return fail(r, t[0].line, "%zu bytes of hex where the length says %lu", r->rdlen, len);
	return 0;
}

static int put_field(struct reader *r, char kind, const struct token *t)
{
	struct sk_dns_name name;
	unsigned char addr[16];
	int err;
	switch (kind) {
	case 'n':
	case 'N':
		if ((err = parse_name(r, t, &name)) < 0)
			return err;
		if (!rd_room(r, name.len))
			return fail(r, t->line, "record data longer than 65535 bytes");
		memcpy(r->rdata + r->rdlen, name.wire, name.len);
		r->rdlen += name.len;
		return 0;
	case 'a':
	case 'A': {
		char text[64];
		if (t->len >= sizeof text || t->quoted)
			return fail(r, t->line, "'%.*s' is not an %s address", TOK(t), kind == 'a' ? "IPv4" : "IPv6");
		memcpy(text, t->p, t->len);
		text[t->len] = 0;
		if (inet_pton(kind == 'a' ? AF_INET : AF_INET6, text, addr) != 1)
			return fail(r, t->line, "'%.*s' is not an %s address", TOK(t), kind == 'a' ? "IPv4" : "IPv6");
		memcpy(r->rdata + r->rdlen, addr, kind == 'a' ? 4 : 16);
		r->rdlen += kind == 'a' ? 4 : 16;
		return 0;
	}
	case '2':
		return put_number(r, t, 2);
	case '4':
		return put_number(r, t, 4);
	case 's':
	case 'S':
		return put_string(r, t, 255);
	default:
		return fail(r, t->line, "internal: unknown field kind");
	}
}

/* The data of a record of the given type from fields t[0..n). */
static int put_rdata(struct reader *r, uint16_t type, const struct token *t, size_t n,
                     unsigned line)
{
	r->rdlen = 0;
	const char *tname = sk_dns_type_name(type);
	char tbuf[16];
	if (!tname) {
		snprintf(tbuf, sizeof tbuf, "TYPE%u", type);
		tname = tbuf;
	}
	if (n > 0 && !t[0].quoted && t[0].len == 2 && memcmp(t[0].p, "\\#", 2) == 0) {
		int err = put_generic(r, t, n);
		if (err == 0 && sk_dns_rdata_check(r->rdata, r->rdlen, type, 0, r->rdlen) < 0)
			return fail(r, line, "the data is not that of a %s record", tname);
		return err;
	}
	const char *shape = sk__dns_type_shape(type);
	if (!shape || type == SK_DNS_OPT || type == SK_DNS_ANY)
		return fail(r, line, "%s data must be in the generic form '\\# LENGTH HEX'", tname);
	size_t i = 0;
	for (const char *f = shape; *f; f++) {
		if (*f == 'c') {
			/* CAA: flags, tag, value (RFC 8659 §4.1.1). */
			if (n - i != 3)
				return fail(r, line, "CAA needs flags, a tag and a value");
			int err = put_number(r, &t[i], 1);
			size_t tag_at = r->rdlen;
			if (err == 0)
				err = put_string(r, &t[i + 1], 255);
			if (err == 0 && (r->rdata[tag_at] == 0 || r->rdata[tag_at] > 15))
				return fail(r, t[i + 1].line, "a CAA tag has 1 to 15 letters and digits");
			if (err == 0)
				err = put_string(r, &t[i + 2], 65000);
			if (err == 0 && sk_dns_rdata_check(r->rdata, r->rdlen, type, 0, r->rdlen) < 0)
				return fail(r, t[i + 1].line, "a CAA tag has 1 to 15 letters and digits");
			return err;
		}
		do {
			if (i == n)
				return fail(r, line, "%s needs more data (%zu fields given)", tname, n);
			int err = put_field(r, *f, &t[i++]);
			if (err < 0)
				return err;
		} while (*f == 'S' && i < n);
	}
	if (i != n)
		return fail(r, t[i].line, "'%.*s' after the data of %s", TOK(&t[i]), tname);
	return 0;
}

/* --- Entries ------------------------------------------------------------------ */

static int directive(struct reader *r)
{
	struct token *t = r->tok;
	if (t[0].len == 7 && strncasecmp(t[0].p, "$ORIGIN", 7) == 0) {
		if (r->n_tok != 2)
			return fail(r, t[0].line, "$ORIGIN takes one name");
		struct sk_dns_name name;
		int err = parse_name(r, &t[1], &name);
		if (err < 0)
			return err;
		r->origin = name;
		r->has_origin = true;
		return 0;
	}
	if (t[0].len == 4 && strncasecmp(t[0].p, "$TTL", 4) == 0) {
		if (r->n_tok != 2 || parse_ttl(&t[1], &r->default_ttl) < 0)
			return fail(r, t[0].line, "$TTL takes one TTL (0-2147483647 seconds, or 1h30m)");
		r->has_ttl = true;
		return 0;
	}
	return fail(r, t[0].line, "'%.*s' is not supported (only $ORIGIN and $TTL)", TOK(&t[0]));
}

static int add_soa(struct reader *r, const struct sk_dns_name *owner, unsigned line)
{
	struct sk_dns_zones *z = r->z;
	if (r->zone != SK__DNS_HOSTS)
		return fail(r, line, "a second SOA record (one zone per file)");
	for (size_t i = 0; i < z->n_zones; i++) {
		if (sk_dns_name_equal(&z->zones[i].origin, owner)) {
			char text[SK_DNS_NAME_STRLEN];
			sk_dns_name_format(owner, text);
			return fail(r, line, "zone '%.80s' is loaded from an earlier file too", text);
		}
	}
	if (z->n_zones == SK__DNS_HOSTS - 1)
		return fail(r, line, "too many zones");
	struct sk__dns_zone *grown = realloc(z->zones, (z->n_zones + 1) * sizeof *grown);
	if (!grown)
		return SK_ENOMEM;
	z->zones = grown;
	grown[z->n_zones].origin = *owner;
	grown[z->n_zones].soa = (uint32_t)z->n_recs;
	grown[z->n_zones].file = (uint16_t)z->n_files;
	r->zone = (uint16_t)z->n_zones++;
	/* The records before the SOA belong to the zone too. */
	for (size_t i = r->first_rec; i < z->n_recs; i++)
		z->recs[i].zone = r->zone;
	return 0;
}

static int record(struct reader *r)
{
	struct token *t = r->tok;
	size_t i = 0, n = r->n_tok;
	unsigned line = t[0].line;
	if (!r->leading_blank) {
		struct sk_dns_name owner;
		int err = parse_name(r, &t[0], &owner);
		if (err < 0)
			return err;
		r->owner = owner;
		r->has_owner = true;
		i = 1;
	} else if (!r->has_owner) {
		return fail(r, line, "a record without an owner name (the line starts with a blank)");
	}
	uint32_t ttl = r->default_ttl;
	bool has_ttl = r->has_ttl;
	for (int k = 0; k < 2 && i < n; k++) {
		if (t[i].len == 2 && strncasecmp(t[i].p, "IN", 2) == 0 && !t[i].quoted) {
			i++;
		} else if ((t[i].len == 2 || t[i].len == 4) && !t[i].quoted &&
		           (strncasecmp(t[i].p, "CH", 2) == 0 || strncasecmp(t[i].p, "HS", 2) == 0 ||
		            strncasecmp(t[i].p, "NONE", 4) == 0)) {
			return fail(r, t[i].line, "class '%.*s': only class IN is served", TOK(&t[i]));
		} else if (t[i].len && t[i].p[0] >= '0' && t[i].p[0] <= '9') {
			if (parse_ttl(&t[i], &ttl) < 0)
				return fail(r, t[i].line, "'%.*s' is not a TTL (0-2147483647 seconds, or 1h30m)",
				            TOK(&t[i]));
			has_ttl = true;
			i++;
		}
	}
	if (i == n)
		return fail(r, line, "a record without a type");
	uint16_t type;
	if (t[i].quoted || sk_dns_type_parse(t[i].p, t[i].len, &type) < 0)
		return fail(r, t[i].line, "'%.*s' is not a record type (or TYPEnnn)", TOK(&t[i]));
	if (type == SK_DNS_OPT || type == SK_DNS_ANY || type == 0 || (type >= 128 && type <= 255))
		return fail(r, t[i].line, "'%.*s' is not a type of data (a meta-type)", TOK(&t[i]));
	if (!has_ttl)
		return fail(r, line, "no TTL: give one on the record or with $TTL");
	int err = put_rdata(r, type, t + i + 1, n - i - 1, line);
	if (err < 0)
		return err;
	if (r->owner.len > 1 && r->owner.wire[0] == 1 && r->owner.wire[1] == '*')
		return fail(r, line, "wildcard names are not supported");
	if (type == SK_DNS_SOA && (err = add_soa(r, &r->owner, line)) < 0)
		return err;
	err = sk__dns_rec_add(r->z, &r->owner, type, ttl, r->rdata, r->rdlen, r->zone, line);
	return err == SK_ETOOLARGE ? fail(r, line, "more than %d records", SK_DNS_ZONE_MAX_RECORDS)
	                           : err;
}

/* Every record of a zone file is at or below its SOA's owner. */
static int check_zone(struct reader *r)
{
	struct sk_dns_zones *z = r->z;
	if (r->zone == SK__DNS_HOSTS)
		return fail(r, 0, "no SOA record: a zone file needs one (its owner is the zone)");
	const struct sk_dns_name *origin = &z->zones[r->zone].origin;
	for (size_t i = r->first_rec; i < z->n_recs; i++) {
		struct sk_dns_name owner;
		owner.len = z->recs[i].owner_len;
		memcpy(owner.wire, z->arena + z->recs[i].owner, owner.len);
		if (!sk_dns_name_is_under(&owner, origin)) {
			char a[SK_DNS_NAME_STRLEN], b[SK_DNS_NAME_STRLEN];
			sk_dns_name_format(&owner, a);
			sk_dns_name_format(origin, b);
			return fail(r, z->recs[i].line, "'%.80s' is outside the zone '%.80s'", a, b);
		}
	}
	return 0;
}

static int load_master(struct reader *r)
{
	int got;
	while ((got = next_entry(r)) == 1) {
		int err = r->tok[0].p[0] == '$' && !r->leading_blank && !r->tok[0].quoted ? directive(r)
		                                                                          : record(r);
		if (err < 0)
			return err;
	}
	return got < 0 ? got : check_zone(r);
}

/* --- Hosts files ------------------------------------------------------------- */

static int load_hosts(struct reader *r)
{
	int got;
	while ((got = next_entry(r)) == 1) {
		struct token *t = r->tok;
		char text[64];
		unsigned char addr[16];
		int family = memchr(t[0].p, ':', t[0].len) ? AF_INET6 : AF_INET;
		if (t[0].len >= sizeof text || r->n_tok < 2)
			return fail(r, t[0].line, "expected an address and names");
		memcpy(text, t[0].p, t[0].len);
		text[t[0].len] = 0;
		/* A zone suffix (fe80::1%eth0) names an interface, not a host. */
		if (inet_pton(family, text, addr) != 1)
			return fail(r, t[0].line, "'%.*s' is not an IPv4 or IPv6 address", TOK(&t[0]));
		struct sk_dns_name first;
		for (size_t i = 1; i < r->n_tok; i++) {
			struct sk_dns_name name;
			int err = sk_dns_name_parse(t[i].p, t[i].len, NULL, &name);
			if (err < 0 || t[i].quoted)
				return fail(r, t[i].line, "'%.*s' is not a host name", TOK(&t[i]));
			if (i == 1)
				first = name;
			err = sk__dns_rec_add(r->z, &name, family == AF_INET ? SK_DNS_A : SK_DNS_AAAA, 0,
			                      addr, family == AF_INET ? 4 : 16, SK__DNS_HOSTS, t[i].line);
			if (err < 0)
				return err == SK_ETOOLARGE ? fail(r, t[i].line, "too many records") : err;
		}
		struct sk_ip ip = sk_ip_from_bytes(family == AF_INET ? SK_IP_V4 : SK_IP_V6, addr);
		struct sk_dns_name rev;
		sk_dns_name_reverse(&ip, &rev);
		int err = sk__dns_rec_add(r->z, &rev, SK_DNS_PTR, 0, first.wire, first.len, SK__DNS_HOSTS,
		                          t[0].line);
		if (err < 0)
			return err == SK_ETOOLARGE ? fail(r, t[0].line, "too many records") : err;
	}
	return got;
}

/* A hosts file starts with an address; a zone file with a name or '$'. */
static bool looks_like_hosts(struct reader *r)
{
	struct reader probe = *r;
	probe.err = &(struct sk_dns_zone_error){ 0 };
	probe.hosts = true;
	if (next_entry(&probe) != 1 || probe.tok[0].len >= 64)
		return false;
	char text[64];
	unsigned char addr[16];
	memcpy(text, probe.tok[0].p, probe.tok[0].len);
	text[probe.tok[0].len] = 0;
	return !probe.leading_blank &&
	       (inet_pton(AF_INET, text, addr) == 1 || inet_pton(AF_INET6, text, addr) == 1);
}

int sk_dns_zones_load(struct sk_dns_zones *z, const char *text, size_t len,
                      struct sk_dns_zone_error *err)
{
	struct reader *r = calloc(1, sizeof *r);
	if (!r)
		return SK_ENOMEM;
	r->p = text;
	r->end = text + len;
	r->line = 1;
	r->z = z;
	r->err = err;
	r->zone = SK__DNS_HOSTS;
	r->first_rec = z->n_recs;
	err->file = z->n_files;
	err->line = 0;
	err->why[0] = 0;
	int rc;
	if (memchr(text, 0, len))
		rc = fail(r, 0, "a NUL byte: not a text file");
	else
		rc = (r->hosts = looks_like_hosts(r)) ? load_hosts(r) : load_master(r);
	if (rc < 0)
		z->n_recs = r->first_rec; /* the file is taken whole or not at all */
	if (rc < 0 && r->zone != SK__DNS_HOSTS)
		z->n_zones--;
	free(r);
	z->n_files++;
	return rc < 0 ? rc : 0;
}
