/* The data a DNS server answers from: records in one arena, sorted by
 * owner and type, a hash table of owner names (with the empty
 * non-terminals between a zone's apex and its names, RFC 8020), and the
 * answer to one query. */
#include "dns/dns_internal.h"

#include <sockit/dns_zone.h>
#include <sockit/err.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* CNAMEs followed for one answer: a chain longer than this is a loop or a
 * mistake (BIND stops at 16 as well). */
#define MAX_CHAIN 16

int sk_dns_zones_new(struct sk_dns_zones **out)
{
	struct sk_dns_zones *z = calloc(1, sizeof *z);
	if (!z)
		return SK_ENOMEM;
	*out = z;
	return 0;
}

void sk_dns_zones_free(struct sk_dns_zones *z)
{
	if (!z)
		return;
	free(z->arena);
	free(z->recs);
	free(z->zones);
	free(z->nodes);
	free(z->table);
	free(z);
}

size_t sk_dns_zones_n_records(const struct sk_dns_zones *z)
{
	return z->n_recs;
}

size_t sk_dns_zones_n_zones(const struct sk_dns_zones *z)
{
	return z->n_zones;
}

long sk__dns_arena_add(struct sk_dns_zones *z, const void *p, size_t n)
{
	if (n > z->arena_cap - z->arena_len) {
		size_t cap = z->arena_cap ? z->arena_cap : 4096;
		while (n > cap - z->arena_len)
			cap *= 2;
		if (cap > UINT32_MAX)
			return -1;
		unsigned char *grown = realloc(z->arena, cap);
		if (!grown)
			return -1;
		z->arena = grown;
		z->arena_cap = cap;
	}
	long at = (long)z->arena_len;
	if (n)
		memcpy(z->arena + at, p, n);
	z->arena_len += n;
	return at;
}

int sk__dns_rec_add(struct sk_dns_zones *z, const struct sk_dns_name *owner, uint16_t type,
                    uint32_t ttl, const unsigned char *rdata, size_t rdlen, uint16_t zone,
                    unsigned line)
{
	if (z->n_recs == SK_DNS_ZONE_MAX_RECORDS)
		return SK_ETOOLARGE;
	if (z->n_recs == z->cap_recs) {
		size_t cap = z->cap_recs ? z->cap_recs * 2 : 64;
		struct sk__dns_rec *grown = realloc(z->recs, cap * sizeof *grown);
		if (!grown)
			return SK_ENOMEM;
		z->recs = grown;
		z->cap_recs = cap;
	}
	long o = sk__dns_arena_add(z, owner->wire, owner->len);
	long d = o < 0 ? -1 : sk__dns_arena_add(z, rdata, rdlen);
	if (d < 0)
		return SK_ENOMEM;
	z->recs[z->n_recs++] = (struct sk__dns_rec){
		.owner = (uint32_t)o, .rdata = (uint32_t)d, .ttl = ttl, .line = line, .type = type,
		.rdlen = (uint16_t)rdlen, .zone = zone, .file = (uint16_t)z->n_files,
		.owner_len = (uint8_t)owner->len,
	};
	return 0;
}

/* --- Index ------------------------------------------------------------------- */

static int cmp_lower(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	for (size_t i = 0; i < n; i++) {
		unsigned char x = sk__dns_lower(a[i]), y = sk__dns_lower(b[i]);
		if (x != y)
			return x < y ? -1 : 1;
	}
	return alen < blen ? -1 : alen > blen;
}

static int cmp_recs(const void *pa, const void *pb, void *ud)
{
	const struct sk__dns_rec *a = pa, *b = pb;
	const unsigned char *arena = ud;
	int c = cmp_lower(arena + a->owner, a->owner_len, arena + b->owner, b->owner_len);
	if (c)
		return c;
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	if (a->file != b->file)
		return a->file < b->file ? -1 : 1;
	return a->line < b->line ? -1 : a->line > b->line;
}

static uint32_t hash_name(const unsigned char *lower, size_t len)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (size_t i = 0; i < len; i++)
		h = (h ^ lower[i]) * 16777619u;
	return h;
}

static long find_node(const struct sk_dns_zones *z, const unsigned char *lower, size_t len,
                      uint32_t h)
{
	if (!z->table)
		return -1;
	for (size_t i = h & z->table_mask;; i = (i + 1) & z->table_mask) {
		uint32_t k = z->table[i];
		if (k == 0)
			return -1;
		const struct sk__dns_node *n = &z->nodes[k - 1];
		if (n->hash == h && n->len == len && memcmp(z->arena + n->lower, lower, len) == 0)
			return (long)(k - 1);
	}
}

static int table_grow(struct sk_dns_zones *z)
{
	size_t size = z->table ? (z->table_mask + 1) * 2 : 1024;
	uint32_t *t = calloc(size, sizeof *t);
	if (!t)
		return SK_ENOMEM;
	free(z->table);
	z->table = t;
	z->table_mask = size - 1;
	for (size_t k = 0; k < z->n_nodes; k++) {
		size_t i = z->nodes[k].hash & z->table_mask;
		while (t[i])
			i = (i + 1) & z->table_mask;
		t[i] = (uint32_t)k + 1;
	}
	return 0;
}

/* Adds a node for a lowercased name (the caller knows it is not there). */
static int add_node(struct sk_dns_zones *z, const unsigned char *lower, size_t len, uint16_t zone,
                    uint32_t first, uint32_t count)
{
	if (z->n_nodes == z->cap_nodes) {
		size_t cap = z->cap_nodes ? z->cap_nodes * 2 : 64;
		struct sk__dns_node *grown = realloc(z->nodes, cap * sizeof *grown);
		if (!grown)
			return SK_ENOMEM;
		z->nodes = grown;
		z->cap_nodes = cap;
	}
	long at = sk__dns_arena_add(z, lower, len);
	if (at < 0)
		return SK_ENOMEM;
	z->nodes[z->n_nodes++] = (struct sk__dns_node){
		.lower = (uint32_t)at, .first = first, .count = count, .hash = hash_name(lower, len),
		.zone = zone, .len = (uint8_t)len,
	};
	/* At most half full, so that a probe ends soon. */
	if (!z->table || z->n_nodes * 2 > z->table_mask + 1)
		return table_grow(z);
	size_t i = z->nodes[z->n_nodes - 1].hash & z->table_mask;
	while (z->table[i])
		i = (i + 1) & z->table_mask;
	z->table[i] = (uint32_t)z->n_nodes;
	return 0;
}

static int fail_at(struct sk_dns_zone_error *err, const struct sk_dns_zones *z,
                   const struct sk__dns_rec *rec, const char *why)
{
	struct sk_dns_name owner;
	char text[SK_DNS_NAME_STRLEN];
	owner.len = rec->owner_len;
	memcpy(owner.wire, z->arena + rec->owner, owner.len);
	sk_dns_name_format(&owner, text);
	err->file = rec->file;
	err->line = rec->line;
	snprintf(err->why, sizeof err->why, "'%.100s' %s", text, why);
	return SK_EDNS_SYNTAX;
}

/* The names between each zone name and its apex: empty non-terminals. */
static int add_ancestors(struct sk_dns_zones *z, size_t node)
{
	uint16_t zone = z->nodes[node].zone;
	if (zone == SK__DNS_HOSTS)
		return 0;
	unsigned char lower[SK_DNS_NAME_MAX];
	size_t len = z->nodes[node].len;
	memcpy(lower, z->arena + z->nodes[node].lower, len);
	size_t apex_len = z->zones[zone].origin.len;
	size_t at = 0;
	while (len - at > apex_len) {
		at += 1u + lower[at];
		uint32_t h = hash_name(lower + at, len - at);
		if (find_node(z, lower + at, len - at, h) >= 0)
			break; /* it and its ancestors are there already */
		int err = add_node(z, lower + at, len - at, zone, 0, 0);
		if (err < 0)
			return err;
	}
	return 0;
}

int sk_dns_zones_finish(struct sk_dns_zones *z, struct sk_dns_zone_error *err)
{
	qsort_r(z->recs, z->n_recs, sizeof *z->recs, cmp_recs, z->arena);
	unsigned char lower[SK_DNS_NAME_MAX];
	for (size_t i = 0; i < z->n_recs;) {
		const struct sk__dns_rec *r = &z->recs[i];
		size_t j = i + 1;
		while (j < z->n_recs && cmp_lower(z->arena + r->owner, r->owner_len,
		                                  z->arena + z->recs[j].owner, z->recs[j].owner_len) == 0)
			j++;
		bool has_cname = false;
		for (size_t k = i; k < j; k++)
			if (z->recs[k].type == SK_DNS_CNAME) {
				if (j - i > 1)
					return fail_at(err, z, &z->recs[k],
					               "has a CNAME and other data (RFC 1034 §3.6.2)");
				has_cname = true;
			}
		(void)has_cname;
		uint16_t zone = r->zone;
		for (size_t k = i; k < j; k++)
			if (z->recs[k].zone != SK__DNS_HOSTS)
				zone = z->recs[k].zone;
		for (size_t k = 0; k < r->owner_len; k++)
			lower[k] = sk__dns_lower(z->arena[r->owner + k]);
		int e = add_node(z, lower, r->owner_len, zone, (uint32_t)i, (uint32_t)(j - i));
		if (e < 0)
			return e;
		i = j;
	}
	size_t n_named = z->n_nodes;
	for (size_t k = 0; k < n_named; k++) {
		int e = add_ancestors(z, k);
		if (e < 0)
			return e;
	}
	for (size_t k = 0; k < z->n_nodes; k++) {
		struct sk__dns_node *n = &z->nodes[k];
		for (uint32_t i = n->first; i < n->first + n->count; i++) {
			if (z->recs[i].type == SK_DNS_SOA && n->zone != SK__DNS_HOSTS &&
			    n->len == z->zones[n->zone].origin.len) {
				n->is_apex = true;
				n->soa = i;
			}
		}
	}
	z->finished = true;
	return 0;
}

/* --- Answers ------------------------------------------------------------------- */

static long lookup(const struct sk_dns_zones *z, const struct sk_dns_name *name)
{
	unsigned char lower[SK_DNS_NAME_MAX];
	sk__dns_name_lower(name, lower);
	return find_node(z, lower, name->len, hash_name(lower, name->len));
}

/* The apex node of the zone name is in, or -1. */
static long zone_above(const struct sk_dns_zones *z, const struct sk_dns_name *name)
{
	unsigned char lower[SK_DNS_NAME_MAX];
	sk__dns_name_lower(name, lower);
	for (size_t at = 0; at < name->len; at += 1u + lower[at]) {
		size_t len = name->len - at;
		long k = find_node(z, lower + at, len, hash_name(lower + at, len));
		if (k >= 0 && z->nodes[k].is_apex)
			return k;
		if (lower[at] == 0)
			break;
	}
	return -1;
}

static void rec_owner(const struct sk_dns_zones *z, const struct sk__dns_rec *r,
                      struct sk_dns_name *out)
{
	out->len = r->owner_len;
	memcpy(out->wire, z->arena + r->owner, r->owner_len);
}

static bool put_rec(struct sk_dns_writer *w, const struct sk_dns_zones *z,
                    const struct sk__dns_rec *r, const struct sk_dns_name *owner, uint32_t ttl)
{
	return sk_dns_put_rr(w, owner, r->type, SK_DNS_IN, ttl, z->arena + r->rdata, r->rdlen);
}

struct answer {
	unsigned rcode, an, ns;
	bool aa;
};

/* The answer section: the chain of CNAMEs from the question's name, then
 * the records of the type asked; the SOA in the authority section when
 * there are none (NXDOMAIN, NODATA). */
static void resolve(const struct sk_dns_zones *z, const struct sk_dns_msg *m,
                    struct sk_dns_writer *w, struct answer *a)
{
	struct sk_dns_name cur = m->q.name, owner;
	uint16_t qtype = m->q.type;
	long soa_node = -1;
	for (int hop = 0; hop < MAX_CHAIN; hop++) {
		long k = lookup(z, &cur);
		if (k < 0) {
			soa_node = zone_above(z, &cur);
			if (soa_node < 0 && hop == 0)
				a->rcode = SK_DNS_REFUSED;
			else if (soa_node >= 0)
				a->rcode = SK_DNS_NXDOMAIN, a->aa = true;
			break;
		}
		a->aa = true;
		const struct sk__dns_node *n = &z->nodes[k];
		const struct sk__dns_rec *recs = z->recs + n->first;
		/* The question's own spelling for its name: the pointer to it is
		 * all a record there costs (and 0x20 clients see their case). */
		const struct sk_dns_name *own = hop == 0 ? &m->q.name : &owner;
		if (hop)
			rec_owner(z, &recs[0], &owner);
		if (n->count == 1 && recs[0].type == SK_DNS_CNAME && qtype != SK_DNS_CNAME &&
		    qtype != SK_DNS_ANY) {
			if (!put_rec(w, z, &recs[0], own, recs[0].ttl))
				return;
			a->an++;
			size_t at = 0;
			sk_dns_name_read(z->arena + recs[0].rdata, recs[0].rdlen, &at, &cur);
			continue;
		}
		unsigned added = 0;
		for (uint32_t i = 0; i < n->count; i++) {
			if (recs[i].type != qtype && qtype != SK_DNS_ANY)
				continue;
			if (!put_rec(w, z, &recs[i], own, recs[i].ttl))
				return;
			added++;
		}
		a->an += added;
		if (added == 0)
			soa_node = zone_above(z, &cur); /* NODATA */
		break;
	}
	if (soa_node < 0)
		return;
	const struct sk__dns_rec *soa = &z->recs[z->nodes[soa_node].soa];
	struct sk_dns_name apex;
	rec_owner(z, soa, &apex);
	/* RFC 2308 §3: negative answers live as long as the SOA's MINIMUM,
	 * or its own TTL if that is shorter. */
	uint32_t minimum = sk__dns_get32(z->arena + soa->rdata + soa->rdlen - 4);
	if (put_rec(w, z, soa, &apex, soa->ttl < minimum ? soa->ttl : minimum))
		a->ns++;
}

static bool is_servfail(const struct sk_dns_answer_opts *o, const struct sk_dns_name *name)
{
	for (size_t i = 0; i < o->n_servfail; i++)
		if (sk_dns_name_equal(&o->servfail[i], name))
			return true;
	return false;
}

/* An answer with no records: an error, or TC for a client to retry on TCP. */
static int short_answer(struct sk_dns_writer *w, const struct sk_dns_msg *m, uint16_t flags,
                        unsigned ext_rcode)
{
	w->len = 0;
	w->n_names = 0;
	w->overflow = false;
	sk_dns_put_header(w, m->h.id, flags);
	if (m->has_question)
		sk_dns_put_question(w, &m->q.name, m->q.type, m->q.cls);
	/* RFC 6891 §6.1.1: the OPT carries the upper bits of an extended rcode. */
	static const struct sk_dns_name root = { 1, { 0 } };
	if (m->has_edns)
		sk_dns_put_rr(w, &root, SK_DNS_OPT, SK_DNS_EDNS_SIZE, ext_rcode << 24, NULL, 0);
	sk_dns_writer_counts(w, m->has_question, 0, 0, m->has_edns);
	return w->overflow ? 0 : (int)w->len;
}

int sk_dns_zones_answer(const struct sk_dns_zones *z, const void *query, size_t len,
                        const struct sk_dns_answer_opts *opts, void *out, size_t cap,
                        struct sk_dns_answer_info *info)
{
	const unsigned char *q = query;
	memset(info, 0, sizeof *info);
	if (len < SK_DNS_HEADER_LEN || (q[2] & 0x80))
		return 0;
	struct sk_dns_rr rrs[4];
	struct sk_dns_msg m = { .rrs = rrs, .cap_rrs = 4 };
	int perr = sk_dns_parse(q, len, &m);
	info->has_question = m.has_question;
	info->q = m.q;
	/* Flags every answer keeps: the opcode, RD and CD (RFC 1035 §4.1.1). */
	uint16_t keep = m.h.flags & (0x7800u | SK_DNS_RD | SK_DNS_CD);
	size_t limit = cap;
	if (opts->over_udp) {
		size_t asked = m.has_edns && m.edns_size > 512 ? m.edns_size : 512;
		limit = asked < cap ? asked : cap;
	}
	struct sk_dns_writer w;
	sk_dns_writer_init(&w, out, limit);
	unsigned rcode = SK_DNS_NOERROR, ext = 0;
	if (perr < 0 || !m.has_question) {
		m.has_edns = false;
		if (perr < 0)
			m.has_question = false;
		rcode = SK_DNS_FORMERR;
	} else if (SK_DNS_OPCODE(m.h.flags) != 0) {
		rcode = SK_DNS_NOTIMP;
	} else if (m.has_edns && m.edns_version > 0) {
		ext = 1; /* BADVERS (16): RFC 6891 §6.1.3 */
	} else if (m.q.cls != SK_DNS_IN || m.q.type == 251 || m.q.type == 252) {
		rcode = SK_DNS_REFUSED; /* other classes, IXFR and AXFR: not served */
	} else if (is_servfail(opts, &m.q.name)) {
		rcode = SK_DNS_SERVFAIL;
	}
	info->rcode = rcode | ext << 4;
	if (rcode != SK_DNS_NOERROR || ext)
		return short_answer(&w, &m, SK_DNS_QR | keep | rcode, ext);
	if (opts->over_udp && opts->force_tc) {
		info->truncated = true;
		return short_answer(&w, &m, SK_DNS_QR | SK_DNS_AA | SK_DNS_TC | keep, 0);
	}
	sk_dns_put_header(&w, m.h.id, 0);
	sk_dns_put_question(&w, &m.q.name, m.q.type, m.q.cls);
	struct answer a = { 0 };
	resolve(z, &m, &w, &a);
	if (m.has_edns)
		sk_dns_put_opt(&w, SK_DNS_EDNS_SIZE);
	info->rcode = a.rcode;
	uint16_t flags = SK_DNS_QR | keep | (a.aa ? SK_DNS_AA : 0) | (uint16_t)a.rcode;
	if (w.overflow) {
		/* RFC 2181 §9: whatever does not fit, the client asks again on TCP. */
		info->truncated = true;
		return short_answer(&w, &m, flags | SK_DNS_TC, 0);
	}
	if (a.rcode == SK_DNS_REFUSED)
		return short_answer(&w, &m, SK_DNS_QR | keep | SK_DNS_REFUSED, 0);
	sk__dns_put16(w.p + 2, flags);
	sk_dns_writer_counts(&w, 1, a.an, a.ns, m.has_edns);
	return (int)w.len;
}
