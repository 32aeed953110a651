/* What the files of src/lib/dns share; never installed. */
#ifndef SOCKIT_DNS_INTERNAL_H
#define SOCKIT_DNS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <sockit/dns.h>

static inline uint16_t sk__dns_get16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t sk__dns_get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void sk__dns_put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static inline void sk__dns_put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static inline unsigned char sk__dns_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* The shape of a type's data, for the checker, the writer (which names may
 * be compressed) and the text form: a string of field kinds, one letter
 * each: 'n' a name that RFC 1035 lets a writer compress, 'N' a name never
 * compressed (RFC 3597 §4), '2' and '4' numbers of 2 and 4 bytes, 'a' an
 * IPv4 address, 'A' an IPv6 address, 's' one character-string, 'S' one or
 * more character-strings to the end, 'c' CAA's tag and value. NULL for a
 * type whose data is opaque. */
const char *sk__dns_type_shape(unsigned type);

/* A name's wire form lowercased into out (same length). */
void sk__dns_name_lower(const struct sk_dns_name *name, unsigned char *out);


/* --- Zones (dns_zone.c reads files, dns_zones.c indexes and answers) --- */

#define SK__DNS_HOSTS 0xffffu /* the zone index of a record from a hosts file */

/* A record as loaded: its owner and data are bytes in the arena. */
struct sk__dns_rec {
	uint32_t owner;   /* arena offset of the owner's wire form */
	uint32_t rdata;   /* arena offset of the data (uncompressed wire form) */
	uint32_t ttl;
	uint32_t line;
	uint16_t type, rdlen;
	uint16_t zone;    /* index into zones[], or SK__DNS_HOSTS */
	uint16_t file;
	uint8_t owner_len;
};

/* A name in the data: the records it owns (none for an empty
 * non-terminal, RFC 8020), and whether a zone starts there. */
struct sk__dns_node {
	uint32_t lower;   /* arena offset of the lowercased wire form */
	uint32_t first, count;
	uint32_t hash;
	uint16_t zone;
	uint8_t len;
	bool is_apex;
	uint32_t soa;     /* apex only: the SOA record's index */
};

struct sk__dns_zone {
	struct sk_dns_name origin;
	uint32_t soa;     /* record index, before sorting; node->soa after */
	uint16_t file;
};

struct sk_dns_zones {
	unsigned char *arena;
	size_t arena_len, arena_cap;
	struct sk__dns_rec *recs;
	size_t n_recs, cap_recs;
	struct sk__dns_zone *zones;
	size_t n_zones;
	struct sk__dns_node *nodes;
	size_t n_nodes, cap_nodes;
	uint32_t *table;  /* open addressing: node index + 1, 0 empty */
	size_t table_mask;
	unsigned n_files;
	bool finished;
};

/* Copies n bytes into the arena; returns the offset, or -1 (no memory, or
 * past the 4 GiB an offset reaches). */
long sk__dns_arena_add(struct sk_dns_zones *z, const void *p, size_t n);
/* Appends a record (owner and data are copied). 0, SK_ENOMEM or SK_ETOOLARGE. */
int sk__dns_rec_add(struct sk_dns_zones *z, const struct sk_dns_name *owner, uint16_t type,
                    uint32_t ttl, const unsigned char *rdata, size_t rdlen, uint16_t zone,
                    unsigned line);

#endif
