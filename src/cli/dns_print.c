/* How `sockit dns query` shows a response: dig's sections (with dig's tab
 * stops, so the two can be read side by side), dig's +short, JSON with
 * RFC 8427's member names, and the hex view of --trace. */
#include "cli.h"
#include "dns_cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sockit/dns.h>

/* Room for any record's data in text (a 64 KiB TXT in \DDD escapes):
 * one buffer, used by one record at a time. */
static char rdata_buf[SK_DNS_RDATA_STRLEN];

static const char *rdata_text(const struct sk_dns_msg *m, const struct sk_dns_rr *rr)
{
	if (sk_dns_rdata_format(m->p, m->len, rr, rdata_buf, sizeof rdata_buf) < 0)
		rdata_buf[0] = 0;
	return rdata_buf;
}

static void type_text(unsigned type, char *buf, size_t cap)
{
	const char *t = sk_dns_type_name(type);
	if (t)
		snprintf(buf, cap, "%s", t);
	else
		snprintf(buf, cap, "TYPE%u", type);
}

static void class_text(unsigned cls, char *buf, size_t cap)
{
	const char *t = sk_dns_class_name(cls);
	if (t)
		snprintf(buf, cap, "%s", t);
	else
		snprintf(buf, cap, "CLASS%u", cls);
}

static void rcode_text(unsigned rcode, char *buf, size_t cap)
{
	const char *t = sk_dns_rcode_name(rcode);
	if (t)
		snprintf(buf, cap, "%s", t);
	else
		snprintf(buf, cap, "RESERVED%u", rcode);
}

int dns_status_of(const struct sk_dns_msg *m)
{
	switch (m->rcode) {
	case SK_DNS_NOERROR:
		break;
	case SK_DNS_NXDOMAIN:
		return EXIT_RESOLVE;
	default:
		return EXIT_PEER;
	}
	/* An answer is a record of the type asked (a CNAME chain alone, whose
	 * end has no such record, is NODATA too). */
	for (size_t i = 0; i < m->n_rrs; i++) {
		const struct sk_dns_rr *rr = &m->rrs[i];
		if (rr->section == SK_DNS_SEC_ANSWER &&
		    (rr->type == m->q.type || m->q.type == SK_DNS_ANY ||
		     (m->q.type == SK_DNS_CNAME && rr->type == SK_DNS_CNAME)))
			return EXIT_OK;
	}
	return EXIT_FAIL;
}

/* --- dig's layout ------------------------------------------------------------------ */

/* Tabs up to column stop (at least one), as dig aligns its fields. */
static size_t tab_to(struct out *o, size_t col, size_t stop)
{
	do {
		out_char(o, '\t');
		col = (col / 8 + 1) * 8;
	} while (col < stop);
	return col;
}

static void print_rr(struct out *o, const struct sk_dns_msg *m, const struct sk_dns_rr *rr)
{
	char name[SK_DNS_NAME_STRLEN], type[16], cls[16];
	size_t col = sk_dns_name_format(&rr->name, name);
	type_text(rr->type, type, sizeof type);
	class_text(rr->cls, cls, sizeof cls);
	out_str(o, name);
	col = tab_to(o, col, 24);
	char ttl[16];
	col += (size_t)snprintf(ttl, sizeof ttl, "%lu", (unsigned long)rr->ttl);
	out_str(o, ttl);
	col = tab_to(o, col, 32);
	out_str(o, cls);
	col = tab_to(o, col + strlen(cls), 40);
	out_str(o, type);
	tab_to(o, col + strlen(type), 48);
	const char *data = rdata_text(m, rr);
	out_str(o, data ? data : "");
	out_char(o, '\n');
}

static void print_flags(struct out *o, uint16_t flags)
{
	static const struct {
		uint16_t bit;
		const char *name;
	} bits[] = { { SK_DNS_QR, "qr" }, { SK_DNS_AA, "aa" }, { SK_DNS_TC, "tc" },
		     { SK_DNS_RD, "rd" }, { SK_DNS_RA, "ra" }, { SK_DNS_AD, "ad" },
		     { SK_DNS_CD, "cd" } };
	out_str(o, ";; flags:");
	for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++)
		if (flags & bits[i].bit)
			out_printf(o, " %s", bits[i].name);
}

static void print_section(struct out *o, const struct sk_dns_msg *m, enum sk_dns_section sec,
                          const char *title)
{
	bool any = false;
	for (size_t i = 0; i < m->n_rrs; i++) {
		if (m->rrs[i].section != sec || m->rrs[i].type == SK_DNS_OPT)
			continue;
		if (!any)
			out_printf(o, ";; %s SECTION:\n", title);
		any = true;
		print_rr(o, m, &m->rrs[i]);
	}
	if (any)
		out_char(o, '\n');
}

static void print_text(struct out *o, const struct sk_dns_msg *m, const char *server_text,
                       const char *proto, unsigned long rtt_ms)
{
	char rc[24];
	rcode_text(m->rcode, rc, sizeof rc);
	const char *op = sk_dns_opcode_name(SK_DNS_OPCODE(m->h.flags));
	out_printf(o, ";; ->>HEADER<<- opcode: %s, status: %s, id: %u\n", op ? op : "RESERVED", rc,
	           m->h.id);
	print_flags(o, m->h.flags);
	out_printf(o, "; QUERY: %u, ANSWER: %u, AUTHORITY: %u, ADDITIONAL: %u\n\n", m->h.qdcount,
	           m->h.ancount, m->h.nscount, m->h.arcount);
	if (m->has_edns)
		out_printf(o, ";; OPT PSEUDOSECTION:\n; EDNS: version: %u, flags:; udp: %u\n",
		           m->edns_version, m->edns_size);
	if (m->has_question) {
		char name[SK_DNS_NAME_STRLEN], type[16], cls[16];
		size_t col = 1 + sk_dns_name_format(&m->q.name, name);
		type_text(m->q.type, type, sizeof type);
		class_text(m->q.cls, cls, sizeof cls);
		out_printf(o, ";; QUESTION SECTION:\n;%s", name);
		col = tab_to(o, col, 24);
		col = tab_to(o, col, 32);
		out_str(o, cls);
		tab_to(o, col + strlen(cls), 40);
		out_printf(o, "%s\n\n", type);
	}
	print_section(o, m, SK_DNS_SEC_ANSWER, "ANSWER");
	print_section(o, m, SK_DNS_SEC_AUTHORITY, "AUTHORITY");
	print_section(o, m, SK_DNS_SEC_ADDITIONAL, "ADDITIONAL");
	out_printf(o, ";; Query time: %lu msec\n;; SERVER: %s (%s)\n;; MSG SIZE  rcvd: %zu\n\n",
	           rtt_ms, server_text, proto, m->len);
}

/* --- JSON (RFC 8427) ------------------------------------------------------------------ */

static void json_name(struct out *o, const char *key, const struct sk_dns_name *name)
{
	char text[SK_DNS_NAME_STRLEN];
	size_t n = sk_dns_name_format(name, text);
	out_printf(o, "\"%s\": \"", key);
	out_json_str(o, text, n);
	out_char(o, '"');
}

static void json_rr(struct out *o, const struct sk_dns_msg *m, const struct sk_dns_rr *rr)
{
	char type[16], cls[16];
	type_text(rr->type, type, sizeof type);
	class_text(rr->cls, cls, sizeof cls);
	out_char(o, '{');
	json_name(o, "NAME", &rr->name);
	out_printf(o, ", \"TYPE\": %u, \"TYPEname\": \"%s\", \"CLASS\": %u, \"CLASSname\": \"%s\", "
	           "\"TTL\": %lu, \"RDLENGTH\": %u", rr->type, type, rr->cls, cls,
	           (unsigned long)rr->ttl, rr->rdlen);
	if (sk_dns_type_name(rr->type) && rr->type != SK_DNS_OPT) {
		const char *data = rdata_text(m, rr);
		out_printf(o, ", \"rdata%s\": \"", type);
		if (data)
			out_json_str(o, data, strlen(data));
		out_char(o, '"');
	}
	out_str(o, ", \"RDATAHEX\": \"");
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < rr->rdlen; i++) {
		out_char(o, hex[m->p[rr->rdata + i] >> 4]);
		out_char(o, hex[m->p[rr->rdata + i] & 0xf]);
	}
	out_str(o, "\"}");
}

static void json_section(struct out *o, const struct sk_dns_msg *m, enum sk_dns_section sec,
                         const char *key)
{
	out_printf(o, ", \"%s\": [", key);
	bool first = true;
	for (size_t i = 0; i < m->n_rrs; i++) {
		if (m->rrs[i].section != sec)
			continue;
		if (!first)
			out_str(o, ", ");
		first = false;
		json_rr(o, m, &m->rrs[i]);
	}
	out_char(o, ']');
}

static void print_json(struct out *o, const struct sk_dns_msg *m)
{
	uint16_t f = m->h.flags;
	out_printf(o, "{\"ID\": %u, \"QR\": %d, \"Opcode\": %u, \"AA\": %d, \"TC\": %d, \"RD\": %d, "
	           "\"RA\": %d, \"AD\": %d, \"CD\": %d, \"RCODE\": %u, \"QDCOUNT\": %u, "
	           "\"ANCOUNT\": %u, \"NSCOUNT\": %u, \"ARCOUNT\": %u",
	           m->h.id, !!(f & SK_DNS_QR), SK_DNS_OPCODE(f), !!(f & SK_DNS_AA),
	           !!(f & SK_DNS_TC), !!(f & SK_DNS_RD), !!(f & SK_DNS_RA), !!(f & SK_DNS_AD),
	           !!(f & SK_DNS_CD), m->rcode, m->h.qdcount, m->h.ancount, m->h.nscount,
	           m->h.arcount);
	if (m->has_question) {
		char type[16], cls[16];
		type_text(m->q.type, type, sizeof type);
		class_text(m->q.cls, cls, sizeof cls);
		out_str(o, ", ");
		json_name(o, "QNAME", &m->q.name);
		out_printf(o, ", \"QTYPE\": %u, \"QTYPEname\": \"%s\", \"QCLASS\": %u, "
		           "\"QCLASSname\": \"%s\"", m->q.type, type, m->q.cls, cls);
	}
	json_section(o, m, SK_DNS_SEC_ANSWER, "answerRRs");
	json_section(o, m, SK_DNS_SEC_AUTHORITY, "authorityRRs");
	json_section(o, m, SK_DNS_SEC_ADDITIONAL, "additionalRRs");
	out_str(o, "}\n");
}

void dns_print_json_error(struct out *o, const struct sk_dns_name *name, unsigned type,
                          const char *error)
{
	char t[16];
	type_text(type, t, sizeof t);
	out_char(o, '{');
	json_name(o, "QNAME", name);
	out_printf(o, ", \"QTYPE\": %u, \"QTYPEname\": \"%s\", \"error\": \"", type, t);
	out_json_str(o, error, strlen(error));
	out_str(o, "\"}\n");
}

void dns_print_response(struct out *o, enum dns_format fmt, const struct sk_dns_msg *m,
                        const char *server_text, const char *proto, unsigned long rtt_ms)
{
	if (fmt == DNS_JSON) {
		print_json(o, m);
		return;
	}
	if (fmt == DNS_TEXT) {
		print_text(o, m, server_text, proto, rtt_ms);
		return;
	}
	for (size_t i = 0; i < m->n_rrs; i++) {
		if (m->rrs[i].section != SK_DNS_SEC_ANSWER)
			continue;
		const char *data = rdata_text(m, &m->rrs[i]);
		out_str(o, data ? data : "");
		out_char(o, '\n');
	}
}

/* --- --trace's hex view --------------------------------------------------------------- */

void dns_print_hex(const char *what, const unsigned char *p, size_t len)
{
	/* One fprintf per line: stderr is unbuffered. Built in a buffer first. */
	char line[160];
	fprintf(stderr, "%s, %zu bytes:\n", what, len);
	for (size_t at = 0; at < len; at += 16) {
		size_t n = (size_t)snprintf(line, sizeof line, "  %04zx ", at);
		for (size_t i = 0; i < 16; i++) {
			if (i == 8)
				line[n++] = ' ';
			if (at + i < len)
				n += (size_t)snprintf(line + n, sizeof line - n, " %02x", p[at + i]);
			else
				n += (size_t)snprintf(line + n, sizeof line - n, "   ");
		}
		n += (size_t)snprintf(line + n, sizeof line - n, "  ");
		for (size_t i = 0; i < 16 && at + i < len; i++)
			line[n++] = p[at + i] >= 0x20 && p[at + i] < 0x7f ? (char)p[at + i] : '.';
		line[n] = 0;
		fprintf(stderr, "%s\n", line);
	}
	if (len < SK_DNS_HEADER_LEN)
		return;
	unsigned flags = (unsigned)(p[2] << 8 | p[3]);
	const char *op = sk_dns_opcode_name(SK_DNS_OPCODE(flags));
	char rc[24];
	rcode_text(SK_DNS_RCODE(flags), rc, sizeof rc);
	fprintf(stderr, "  header: id %u (0x%02x%02x); flags 0x%04x = qr %u, opcode %s, aa %u, tc %u, "
	        "rd %u, ra %u, z %u, ad %u, cd %u, rcode %s\n",
	        p[0] << 8 | p[1], p[0], p[1], flags, !!(flags & SK_DNS_QR), op ? op : "?",
	        !!(flags & SK_DNS_AA), !!(flags & SK_DNS_TC), !!(flags & SK_DNS_RD),
	        !!(flags & SK_DNS_RA), !!(flags & SK_DNS_Z), !!(flags & SK_DNS_AD),
	        !!(flags & SK_DNS_CD), rc);
	fprintf(stderr, "  counts: qdcount %u, ancount %u, nscount %u, arcount %u (bytes 4-11)\n",
	        p[4] << 8 | p[5], p[6] << 8 | p[7], p[8] << 8 | p[9], p[10] << 8 | p[11]);
}
