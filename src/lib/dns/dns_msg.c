/* Reading DNS messages: names with compression, the header, the question,
 * records, and the shape of each known type's data. Every read is checked
 * against the message's length first. */
#include "dns/dns_internal.h"

#include <sockit/err.h>

#include <string.h>

int sk_dns_name_read(const unsigned char *msg, size_t len, size_t *pos, struct sk_dns_name *out)
{
	size_t at = *pos, end = 0;
	unsigned n = 0, jumps = 0;
	bool jumped = false;
	/* The lowest offset read so far: a pointer must point below it, so each
	 * jump goes strictly backwards and a loop cannot form (RFC 1035 §4.1.4
	 * says "a prior occurrence"). */
	size_t floor = at;
	for (;;) {
		if (at >= len)
			return SK_EDNS_TRUNCATED;
		unsigned char b = msg[at];
		if ((b & 0xc0) == 0xc0) {
			if (at + 1 >= len)
				return SK_EDNS_TRUNCATED;
			size_t to = (size_t)(b & 0x3f) << 8 | msg[at + 1];
			if (to >= floor || ++jumps > SK_DNS_MAX_JUMPS)
				return SK_EDNS_POINTER;
			if (!jumped)
				end = at + 2;
			jumped = true;
			floor = to;
			at = to;
			continue;
		}
		/* 01 and 10 are reserved (RFC 6891 §5 retired extended labels). */
		if (b & 0xc0)
			return SK_EDNS_LABEL;
		if (b > len - at - 1)
			return SK_EDNS_TRUNCATED;
		if (n + 1u + b > SK_DNS_NAME_MAX)
			return SK_EDNS_NAME_LONG;
		memcpy(out->wire + n, msg + at, (size_t)b + 1);
		n += 1u + b;
		at += 1u + b;
		if (b == 0)
			break;
	}
	out->len = n;
	*pos = jumped ? end : at;
	return 0;
}

void sk__dns_name_lower(const struct sk_dns_name *name, unsigned char *out)
{
	for (unsigned i = 0; i < name->len; i++)
		out[i] = sk__dns_lower(name->wire[i]);
}

bool sk_dns_name_equal(const struct sk_dns_name *a, const struct sk_dns_name *b)
{
	if (a->len != b->len)
		return false;
	/* Label length bytes are below 64, so lowering them is harmless. */
	for (unsigned i = 0; i < a->len; i++)
		if (sk__dns_lower(a->wire[i]) != sk__dns_lower(b->wire[i]))
			return false;
	return true;
}

bool sk_dns_name_is_under(const struct sk_dns_name *name, const struct sk_dns_name *zone)
{
	if (name->len < zone->len)
		return false;
	/* Walk labels until the rest is as long as the zone: that rest must be
	 * a label boundary and equal the zone. */
	unsigned at = 0;
	while (name->len - at > zone->len)
		at += 1u + name->wire[at];
	if (name->len - at != zone->len)
		return false;
	for (unsigned i = 0; i < zone->len; i++)
		if (sk__dns_lower(name->wire[at + i]) != sk__dns_lower(zone->wire[i]))
			return false;
	return true;
}

unsigned sk_dns_name_labels(const struct sk_dns_name *name)
{
	unsigned n = 0;
	for (unsigned at = 0; at < name->len && name->wire[at]; at += 1u + name->wire[at])
		n++;
	return n;
}

static void append_label(struct sk_dns_name *out, const char *text, size_t len)
{
	out->wire[out->len] = (unsigned char)len;
	memcpy(out->wire + out->len + 1, text, len);
	out->len += 1u + (unsigned)len;
}

void sk_dns_name_reverse(const struct sk_ip *ip, struct sk_dns_name *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char bytes[16];
	sk_ip_to_bytes(ip, bytes);
	out->len = 0;
	if (ip->version == SK_IP_V4) {
		for (int i = 3; i >= 0; i--) {
			char d[4];
			size_t n = 0;
			unsigned v = bytes[i];
			if (v >= 100)
				d[n++] = (char)('0' + v / 100);
			if (v >= 10)
				d[n++] = (char)('0' + v / 10 % 10);
			d[n++] = (char)('0' + v % 10);
			append_label(out, d, n);
		}
		append_label(out, "in-addr", 7);
	} else {
		for (int i = 15; i >= 0; i--) {
			append_label(out, &hex[bytes[i] & 0xf], 1);
			append_label(out, &hex[bytes[i] >> 4], 1);
		}
		append_label(out, "ip6", 3);
	}
	append_label(out, "arpa", 4);
	out->wire[out->len++] = 0;
}

int sk_dns_parse_question(const void *p, size_t len, struct sk_dns_msg *m)
{
	const unsigned char *b = p;
	m->p = b;
	m->len = len;
	m->n_rrs = 0;
	m->has_question = false;
	m->has_edns = false;
	m->edns_size = 0;
	m->edns_version = 0;
	if (len < SK_DNS_HEADER_LEN)
		return SK_EDNS_TRUNCATED;
	m->h.id = sk__dns_get16(b);
	m->h.flags = sk__dns_get16(b + 2);
	m->h.qdcount = sk__dns_get16(b + 4);
	m->h.ancount = sk__dns_get16(b + 6);
	m->h.nscount = sk__dns_get16(b + 8);
	m->h.arcount = sk__dns_get16(b + 10);
	m->rcode = SK_DNS_RCODE(m->h.flags);
	size_t pos = SK_DNS_HEADER_LEN;
	if (m->h.qdcount > 1)
		return SK_EDNS_QDCOUNT;
	if (m->h.qdcount == 1) {
		int err = sk_dns_name_read(b, len, &pos, &m->q.name);
		if (err < 0)
			return err;
		if (len - pos < 4)
			return SK_EDNS_TRUNCATED;
		m->q.type = sk__dns_get16(b + pos);
		m->q.cls = sk__dns_get16(b + pos + 2);
		pos += 4;
		m->has_question = true;
	}
	return (int)pos;
}

/* One character-string (RFC 1035 §3.3): a length byte and that many bytes. */
static int check_string(const unsigned char *msg, size_t *at, size_t end)
{
	if (*at >= end || msg[*at] > end - *at - 1)
		return SK_EDNS_RDATA;
	*at += 1u + msg[*at];
	return 0;
}

static int check_field(const unsigned char *msg, size_t len, char kind, size_t *at, size_t end)
{
	static const unsigned char sizes[128] = { ['2'] = 2, ['4'] = 4, ['a'] = 4, ['A'] = 16 };
	struct sk_dns_name name;
	int err;
	switch (kind) {
	case 'n':
	case 'N':
		/* The name must end inside the data, though its pointers may
		 * reach anywhere before it. */
		err = sk_dns_name_read(msg, end, at, &name);
		(void)len;
		return err == SK_EDNS_TRUNCATED ? SK_EDNS_RDATA : err;
	case 's':
		return check_string(msg, at, end);
	case 'S':
		do {
			if ((err = check_string(msg, at, end)) < 0)
				return err;
		} while (*at < end);
		return 0;
	case 'c':
		/* CAA (RFC 8659 §4.1): flags, a tag of 1-15 letters and digits, a value. */
		if (end - *at < 2 || msg[*at + 1] == 0 || msg[*at + 1] > 15 ||
		    msg[*at + 1] > end - *at - 2)
			return SK_EDNS_RDATA;
		for (size_t i = 0; i < msg[*at + 1]; i++) {
			unsigned char c = msg[*at + 2 + i];
			if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
				return SK_EDNS_RDATA;
		}
		*at = end;
		return 0;
	default:
		if (end - *at < sizes[(unsigned char)kind])
			return SK_EDNS_RDATA;
		*at += sizes[(unsigned char)kind];
		return 0;
	}
}

int sk_dns_rdata_check(const unsigned char *msg, size_t len, unsigned type, size_t off,
                       size_t rdlen)
{
	const char *shape = sk__dns_type_shape(type);
	if (!shape)
		return 0;
	size_t at = off, end = off + rdlen;
	for (; *shape; shape++) {
		int err = check_field(msg, len, *shape, &at, end);
		if (err < 0)
			return err;
	}
	return at == end ? 0 : SK_EDNS_RDATA;
}

static int parse_rr(const unsigned char *b, size_t len, size_t *pos, struct sk_dns_rr *rr)
{
	int err = sk_dns_name_read(b, len, pos, &rr->name);
	if (err < 0)
		return err;
	if (len - *pos < 10)
		return SK_EDNS_TRUNCATED;
	const unsigned char *f = b + *pos;
	rr->type = sk__dns_get16(f);
	rr->cls = sk__dns_get16(f + 2);
	rr->ttl = sk__dns_get32(f + 4);
	rr->rdlen = sk__dns_get16(f + 8);
	*pos += 10;
	if (rr->rdlen > len - *pos)
		return SK_EDNS_TRUNCATED;
	rr->rdata = *pos;
	*pos += rr->rdlen;
	return sk_dns_rdata_check(b, len, rr->type, rr->rdata, rr->rdlen);
}

int sk_dns_parse(const void *p, size_t len, struct sk_dns_msg *m)
{
	int r = sk_dns_parse_question(p, len, m);
	if (r < 0)
		return r;
	size_t pos = (size_t)r;
	const unsigned char *b = p;
	const unsigned counts[3] = { m->h.ancount, m->h.nscount, m->h.arcount };
	for (int sec = 0; sec < 3; sec++) {
		for (unsigned i = 0; i < counts[sec]; i++) {
			struct sk_dns_rr rr;
			int err = parse_rr(b, len, &pos, &rr);
			if (err < 0)
				return err;
			rr.section = (enum sk_dns_section)sec;
			if (rr.type == SK_DNS_OPT) {
				/* RFC 6891 §6.1.1: one OPT, in the additional section, owned by the root. */
				if (sec != SK_DNS_SEC_ADDITIONAL || m->has_edns || rr.name.len != 1)
					return SK_EDNS_RDATA;
				m->has_edns = true;
				m->edns_size = rr.cls;
				m->edns_version = (uint8_t)(rr.ttl >> 16);
				m->rcode = (rr.ttl >> 24) << 4 | SK_DNS_RCODE(m->h.flags);
			}
			if (m->n_rrs == m->cap_rrs)
				return SK_EDNS_TOO_MANY;
			m->rrs[m->n_rrs++] = rr;
		}
	}
	return pos == len ? 0 : SK_EDNS_TRAILING;
}
