/* Writing DNS messages: the header, names with compression, questions,
 * records and the OPT record; and the query a client sends. */
#include "dns/dns_internal.h"

#include <sockit/err.h>

#include <string.h>

void sk_dns_writer_init(struct sk_dns_writer *w, void *buf, size_t cap)
{
	w->p = buf;
	w->cap = cap > SK_DNS_MSG_MAX ? SK_DNS_MSG_MAX : cap;
	w->len = 0;
	w->overflow = false;
	w->n_names = 0;
}

static bool room(struct sk_dns_writer *w, size_t n)
{
	if (w->overflow || n > w->cap - w->len) {
		w->overflow = true;
		return false;
	}
	return true;
}

void sk_dns_put_header(struct sk_dns_writer *w, uint16_t id, uint16_t flags)
{
	if (!room(w, SK_DNS_HEADER_LEN))
		return;
	memset(w->p + w->len, 0, SK_DNS_HEADER_LEN);
	sk__dns_put16(w->p + w->len, id);
	sk__dns_put16(w->p + w->len + 2, flags);
	w->len += SK_DNS_HEADER_LEN;
}

void sk_dns_writer_counts(struct sk_dns_writer *w, unsigned qd, unsigned an, unsigned ns,
                          unsigned ar)
{
	if (w->len < SK_DNS_HEADER_LEN)
		return;
	sk__dns_put16(w->p + 4, qd);
	sk__dns_put16(w->p + 6, an);
	sk__dns_put16(w->p + 8, ns);
	sk__dns_put16(w->p + 10, ar);
}

/* Whether the name written at msg offset off equals wire[0..len). */
static bool written_equals(const struct sk_dns_writer *w, size_t off, const unsigned char *wire,
                           unsigned len)
{
	struct sk_dns_name there;
	size_t pos = off;
	if (sk_dns_name_read(w->p, w->len, &pos, &there) < 0 || there.len != len)
		return false;
	for (unsigned i = 0; i < len; i++)
		if (sk__dns_lower(there.wire[i]) != sk__dns_lower(wire[i]))
			return false;
	return true;
}

void sk_dns_put_name(struct sk_dns_writer *w, const struct sk_dns_name *name, bool compress)
{
	/* The longest suffix already in the message becomes a pointer. */
	unsigned at = 0;
	size_t ptr = SIZE_MAX;
	for (; compress && at < name->len && name->wire[at]; at += 1u + name->wire[at]) {
		for (size_t i = 0; i < w->n_names && ptr == SIZE_MAX; i++)
			if (written_equals(w, w->names[i], name->wire + at, name->len - at))
				ptr = w->names[i];
		if (ptr != SIZE_MAX)
			break;
	}
	if (!compress)
		at = name->len;
	size_t need = ptr == SIZE_MAX ? name->len : (size_t)at + 2;
	if (!room(w, need))
		return;
	size_t start = w->len;
	size_t literal = ptr == SIZE_MAX ? name->len : at;
	memcpy(w->p + start, name->wire, literal);
	w->len += literal;
	if (ptr != SIZE_MAX) {
		sk__dns_put16(w->p + w->len, 0xc000u | (unsigned)ptr);
		w->len += 2;
	}
	/* Remember where each label written in full starts (pointers reach 14 bits). */
	for (unsigned k = 0; k < literal && name->wire[k]; k += 1u + name->wire[k])
		if (w->n_names < SK_DNS_COMPRESS_MAX && start + k < 0x4000)
			w->names[w->n_names++] = (uint16_t)(start + k);
}

void sk_dns_put_question(struct sk_dns_writer *w, const struct sk_dns_name *name, uint16_t type,
                         uint16_t cls)
{
	size_t before = w->len;
	sk_dns_put_name(w, name, true);
	if (!room(w, 4)) {
		w->len = before;
		return;
	}
	sk__dns_put16(w->p + w->len, type);
	sk__dns_put16(w->p + w->len + 2, cls);
	w->len += 4;
}

/* The data of a record, names compressed where RFC 1035 allows it. */
static void put_rdata(struct sk_dns_writer *w, uint16_t type, const unsigned char *rdata,
                      size_t rdlen)
{
	const char *shape = sk__dns_type_shape(type);
	bool compressible = shape && type <= SK_DNS_TXT && strchr(shape, 'n');
	if (!compressible) {
		if (room(w, rdlen) && rdlen) {
			memcpy(w->p + w->len, rdata, rdlen);
			w->len += rdlen;
		}
		return;
	}
	/* Zone data was checked when it was loaded: names are whole. */
	size_t at = 0;
	for (const char *f = shape; *f && !w->overflow; f++) {
		size_t n = *f == '2' ? 2 : *f == '4' ? 4 : 0;
		if (*f == 'n') {
			struct sk_dns_name name;
			if (sk_dns_name_read(rdata, rdlen, &at, &name) < 0) {
				w->overflow = true;
				return;
			}
			sk_dns_put_name(w, &name, true);
		} else if (room(w, n)) {
			memcpy(w->p + w->len, rdata + at, n);
			w->len += n;
			at += n;
		}
	}
}

bool sk_dns_put_rr(struct sk_dns_writer *w, const struct sk_dns_name *name, uint16_t type,
                   uint16_t cls, uint32_t ttl, const unsigned char *rdata, size_t rdlen)
{
	if (w->overflow)
		return false;
	size_t before = w->len, names_before = w->n_names;
	sk_dns_put_name(w, name, true);
	if (room(w, 10)) {
		unsigned char *f = w->p + w->len;
		sk__dns_put16(f, type);
		sk__dns_put16(f + 2, cls);
		sk__dns_put32(f + 4, ttl);
		w->len += 10;
		size_t data_at = w->len;
		put_rdata(w, type, rdata, rdlen);
		if (!w->overflow)
			sk__dns_put16(f + 8, (unsigned)(w->len - data_at));
	}
	if (w->overflow) {
		w->len = before;
		w->n_names = names_before;
		return false;
	}
	return true;
}

bool sk_dns_put_opt(struct sk_dns_writer *w, unsigned udp_size)
{
	static const struct sk_dns_name root = { 1, { 0 } };
	return sk_dns_put_rr(w, &root, SK_DNS_OPT, (uint16_t)udp_size, 0, NULL, 0);
}

int sk_dns_build_query(void *buf, size_t cap, uint16_t id, const struct sk_dns_name *name,
                       uint16_t type, bool recurse, unsigned edns_size)
{
	struct sk_dns_writer w;
	sk_dns_writer_init(&w, buf, cap);
	sk_dns_put_header(&w, id, recurse ? SK_DNS_RD : 0);
	sk_dns_put_question(&w, name, type, SK_DNS_IN);
	if (edns_size)
		sk_dns_put_opt(&w, edns_size);
	if (w.overflow)
		return SK_ETOOLARGE;
	sk_dns_writer_counts(&w, 1, 0, 0, edns_size ? 1 : 0);
	return (int)w.len;
}
