/* DNS in text: class, rcode and opcode names (types: dns_types.c), names in presentation
 * form both ways, and the presentation form of record data (RFC 1035 §5.1,
 * RFC 3597 §5 for the types without a rule here), escaped as dig does. */
#include "dns/dns_internal.h"

#include <sockit/err.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* A decimal number of at most 5 digits, below max. */
static int parse_number(const char *p, size_t len, unsigned long max, unsigned long *out)
{
	if (len == 0 || len > 10)
		return -1;
	unsigned long v = 0;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(p[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

const char *sk_dns_rcode_name(unsigned rcode)
{
	static const char *const names[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",
		                             "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH",
		                             "NOTZONE", NULL, NULL, NULL, NULL, NULL, "BADVERS" };
	return rcode < sizeof names / sizeof names[0] ? names[rcode] : NULL;
}

const char *sk_dns_opcode_name(unsigned opcode)
{
	static const char *const names[] = { "QUERY", "IQUERY", "STATUS", NULL, "NOTIFY", "UPDATE" };
	return opcode < sizeof names / sizeof names[0] ? names[opcode] : NULL;
}

const char *sk_dns_class_name(unsigned cls)
{
	switch (cls) {
	case 1: return "IN";
	case 3: return "CH";
	case 4: return "HS";
	case 254: return "NONE";
	case 255: return "ANY";
	default: return NULL;
	}
}

/* --- Names ------------------------------------------------------------------ */

int sk_dns_name_parse(const char *text, size_t len, const struct sk_dns_name *origin,
                      struct sk_dns_name *out)
{
	struct sk_dns_name n = { .len = 0 };
	if (len == 1 && text[0] == '@') {
		if (!origin)
			return SK_EDNS_NAME;
		*out = *origin;
		return 0;
	}
	if (len == 1 && text[0] == '.') {
		out->len = 1;
		out->wire[0] = 0;
		return 0;
	}
	if (len == 0)
		return SK_EDNS_NAME;
	size_t i = 0;
	bool absolute = false;
	while (i < len) {
		unsigned label_at = n.len, label_len = 0;
		if (n.len >= SK_DNS_NAME_MAX - 1)
			return SK_EDNS_NAME_LONG;
		n.len++; /* room for the length byte */
		while (i < len && text[i] != '.') {
			unsigned char c = (unsigned char)text[i++];
			if (c == '\\') {
				if (i == len)
					return SK_EDNS_NAME;
				unsigned long v;
				if (text[i] >= '0' && text[i] <= '9') {
					if (len - i < 3 || parse_number(text + i, 3, 255, &v) < 0)
						return SK_EDNS_NAME;
					c = (unsigned char)v;
					i += 3;
				} else {
					c = (unsigned char)text[i++];
				}
			}
			if (label_len == SK_DNS_LABEL_MAX)
				return SK_EDNS_NAME;
			if (n.len >= SK_DNS_NAME_MAX - 1)
				return SK_EDNS_NAME_LONG;
			n.wire[n.len++] = c;
			label_len++;
		}
		if (label_len == 0)
			return SK_EDNS_NAME; /* "a..b", ".a" */
		n.wire[label_at] = (unsigned char)label_len;
		if (i < len) {
			i++; /* the dot */
			if (i == len)
				absolute = true;
		}
	}
	if (absolute || !origin) {
		n.wire[n.len++] = 0;
	} else {
		if (n.len + origin->len > SK_DNS_NAME_MAX)
			return SK_EDNS_NAME_LONG;
		memcpy(n.wire + n.len, origin->wire, origin->len);
		n.len += origin->len;
	}
	*out = n;
	return 0;
}

/* Characters that mean something in a zone file, escaped inside a label. */
static bool is_special(unsigned char c)
{
	return c == '.' || c == ';' || c == '\\' || c == '(' || c == ')' || c == '"' || c == '@' ||
	       c == '$';
}

static size_t put_escaped(char *buf, unsigned char c, bool in_name)
{
	if (c <= 0x20 || c >= 0x7f)
		return (size_t)sprintf(buf, "\\%03u", c);
	if (in_name ? is_special(c) : (c == '"' || c == '\\')) {
		buf[0] = '\\';
		buf[1] = (char)c;
		return 2;
	}
	buf[0] = (char)c;
	return 1;
}

size_t sk_dns_name_format(const struct sk_dns_name *name, char *buf)
{
	size_t n = 0;
	if (name->len <= 1) {
		buf[0] = '.';
		buf[1] = 0;
		return 1;
	}
	for (unsigned at = 0; at < name->len && name->wire[at]; at += 1u + name->wire[at]) {
		for (unsigned i = 1; i <= name->wire[at]; i++)
			n += put_escaped(buf + n, name->wire[at + i], true);
		buf[n++] = '.';
	}
	buf[n] = 0;
	return n;
}

/* --- Record data ------------------------------------------------------------- */

/* Appends to a bounded buffer; a write that does not fit marks it full. */
struct text {
	char *p;
	size_t cap, len;
	bool full;
};

static void text_add(struct text *t, const char *s, size_t n)
{
	if (t->full || n >= t->cap - t->len) {
		t->full = true;
		return;
	}
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = 0;
}

static void text_string(struct text *t, const unsigned char *s, size_t n)
{
	char one[5];
	text_add(t, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		/* Spaces stay as they are inside quotes, as dig prints them. */
		size_t k = s[i] == ' ' ? (one[0] = ' ', 1) : put_escaped(one, s[i], false);
		text_add(t, one, k);
	}
	text_add(t, "\"", 1);
}

static void format_field(struct text *t, const unsigned char *msg, size_t len, char kind,
                         size_t *at, size_t end)
{
	char tmp[SK_DNS_NAME_STRLEN];
	struct sk_dns_name name;
	size_t n;
	switch (kind) {
	case 'n':
	case 'N':
		/* Checked by the parser already: cannot fail here. */
		if (sk_dns_name_read(msg, len, at, &name) < 0)
			name.len = 1, name.wire[0] = 0;
		n = sk_dns_name_format(&name, tmp);
		text_add(t, tmp, n);
		return;
	case '2':
		n = (size_t)snprintf(tmp, sizeof tmp, "%u", sk__dns_get16(msg + *at));
		*at += 2;
		text_add(t, tmp, n);
		return;
	case '4':
		n = (size_t)snprintf(tmp, sizeof tmp, "%lu", (unsigned long)sk__dns_get32(msg + *at));
		*at += 4;
		text_add(t, tmp, n);
		return;
	case 'a':
	case 'A':
		inet_ntop(kind == 'a' ? AF_INET : AF_INET6, msg + *at, tmp, sizeof tmp);
		*at += kind == 'a' ? 4 : 16;
		text_add(t, tmp, strlen(tmp));
		return;
	case 's':
	case 'S':
		for (bool first = true; first || (kind == 'S' && *at < end); first = false) {
			if (!first)
				text_add(t, " ", 1);
			text_string(t, msg + *at + 1, msg[*at]);
			*at += 1u + msg[*at];
		}
		return;
	case 'c': {
		unsigned tag_len = msg[*at + 1];
		n = (size_t)snprintf(tmp, sizeof tmp, "%u %.*s ", msg[*at], (int)tag_len,
		                     (const char *)msg + *at + 2);
		text_add(t, tmp, n);
		text_string(t, msg + *at + 2 + tag_len, end - *at - 2 - tag_len);
		*at = end;
		return;
	}
	default:
		return;
	}
}

int sk_dns_rdata_format(const unsigned char *msg, size_t len, const struct sk_dns_rr *rr,
                        char *buf, size_t cap)
{
	struct text t = { buf, cap, 0, cap == 0 };
	if (cap)
		buf[0] = 0;
	const char *shape = sk__dns_type_shape(rr->type);
	size_t at = rr->rdata, end = rr->rdata + rr->rdlen;
	if (shape && rr->cls == SK_DNS_IN && sk_dns_rdata_check(msg, len, rr->type, at, rr->rdlen) == 0) {
		for (const char *f = shape; *f; f++) {
			if (f != shape)
				text_add(&t, " ", 1);
			format_field(&t, msg, len, *f, &at, end);
		}
	} else {
		/* RFC 3597 §5: \# LENGTH HEX. */
		char head[16];
		static const char hex[] = "0123456789ABCDEF";
		text_add(&t, head, (size_t)snprintf(head, sizeof head, "\\# %u", rr->rdlen));
		if (rr->rdlen)
			text_add(&t, " ", 1);
		for (size_t i = at; i < end; i++) {
			char two[2] = { hex[msg[i] >> 4], hex[msg[i] & 0xf] };
			text_add(&t, two, 2);
		}
	}
	return t.full ? SK_ETOOLARGE : (int)t.len;
}
