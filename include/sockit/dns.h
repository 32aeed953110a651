/* The DNS message codec (RFC 1035, RFC 3597, RFC 6891): names in wire and
 * text form, the header, questions and resource records, queries and the
 * presentation form of the record data of the common types.
 *
 * The parser reads bytes from a peer, so it is strict and bounded: every
 * length is checked against the message before it is read, compression
 * pointers must point backwards (which makes a loop impossible, and the
 * number of jumps is bounded too), names stop at 255 bytes, the counts of
 * the header must match the records that follow exactly, and the record
 * data of the types it knows must have their type's shape. Nothing here
 * allocates, blocks or keeps state. */
#ifndef SOCKIT_DNS_H
#define SOCKIT_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sockit/err.h>
#include <sockit/ip.h>

/* The codec's error codes, SK_EDNS_*, are in <sockit/err.h> with every other. */


/* RFC 1035 §2.3.4 */
#define SK_DNS_NAME_MAX 255
#define SK_DNS_LABEL_MAX 63
#define SK_DNS_HEADER_LEN 12
/* Room for any name in text: every byte as \DDD, the dots and a NUL. */
#define SK_DNS_NAME_STRLEN (4 * SK_DNS_NAME_MAX + 2)
/* The largest message: TCP's two-byte length prefix (RFC 1035 §4.2.2). */
#define SK_DNS_MSG_MAX 65535
/* The EDNS buffer size we ask for and offer: 1232 bytes fits the IPv6
 * minimum MTU of 1280 without fragments (DNS Flag Day 2020). */
#define SK_DNS_EDNS_SIZE 1232
/* Compression pointers followed while reading one name. A backwards-only
 * pointer cannot loop, and a 255-byte name has at most 127 labels; this is
 * the belt to those braces. */
#define SK_DNS_MAX_JUMPS 127

/* Types, classes, rcodes and header bits by name. */
enum {
	SK_DNS_A = 1, SK_DNS_NS = 2, SK_DNS_CNAME = 5, SK_DNS_SOA = 6, SK_DNS_PTR = 12,
	SK_DNS_MX = 15, SK_DNS_TXT = 16, SK_DNS_AAAA = 28, SK_DNS_SRV = 33, SK_DNS_OPT = 41,
	SK_DNS_ANY = 255, SK_DNS_CAA = 257,
};
#define SK_DNS_IN 1
enum {
	SK_DNS_NOERROR = 0, SK_DNS_FORMERR = 1, SK_DNS_SERVFAIL = 2, SK_DNS_NXDOMAIN = 3,
	SK_DNS_NOTIMP = 4, SK_DNS_REFUSED = 5,
};
#define SK_DNS_QR 0x8000u
#define SK_DNS_AA 0x0400u
#define SK_DNS_TC 0x0200u
#define SK_DNS_RD 0x0100u
#define SK_DNS_RA 0x0080u
#define SK_DNS_Z  0x0040u
#define SK_DNS_AD 0x0020u
#define SK_DNS_CD 0x0010u
#define SK_DNS_OPCODE(flags) (((flags) >> 11) & 0xfu)
#define SK_DNS_RCODE(flags) ((flags) & 0xfu)

/* A name in uncompressed wire form: length-prefixed labels ending with the
 * root's zero byte. len counts every byte (1 for the root). */
struct sk_dns_name {
	unsigned len;
	unsigned char wire[SK_DNS_NAME_MAX];
};

struct sk_dns_header {
	uint16_t id, flags;
	uint16_t qdcount, ancount, nscount, arcount;
};

struct sk_dns_question {
	struct sk_dns_name name;
	uint16_t type, cls;
};

enum sk_dns_section { SK_DNS_SEC_ANSWER, SK_DNS_SEC_AUTHORITY, SK_DNS_SEC_ADDITIONAL };

/* A record; its data stays in the message (rdata is an offset into it,
 * because names inside may point anywhere before them). */
struct sk_dns_rr {
	struct sk_dns_name name;
	uint16_t type, cls;
	uint32_t ttl;
	uint16_t rdlen;
	size_t rdata;
	enum sk_dns_section section;
};

/* A parsed message. The caller sets rrs and cap_rrs (the table records are
 * stored in) before sk_dns_parse(); p is a view of the caller's bytes and
 * is valid only while they are. */
struct sk_dns_msg {
	const unsigned char *p;
	size_t len;
	struct sk_dns_header h;
	bool has_question;
	struct sk_dns_question q;
	struct sk_dns_rr *rrs;
	size_t cap_rrs, n_rrs;
	/* EDNS (RFC 6891), from the OPT record if there is one. */
	bool has_edns;
	uint16_t edns_size;
	uint8_t edns_version;
	unsigned rcode; /* the header's four bits, extended by the OPT record's eight */
};

/* --- Names ------------------------------------------------------------------- */

/* Reads the name at msg[*pos], following compression pointers, and moves
 * *pos past the bytes it takes in place. Returns 0, or SK_EDNS_TRUNCATED,
 * SK_EDNS_LABEL, SK_EDNS_POINTER, SK_EDNS_NAME_LONG; *out is then unspecified. */
int sk_dns_name_read(const unsigned char *msg, size_t len, size_t *pos, struct sk_dns_name *out);

/* Parses a name in presentation form ("www.example.com", "a\.b.", "\065")
 * into *out. A name without a final dot is relative: origin (absolute) is
 * appended, or with a NULL origin the root. "@" is origin. Returns 0 or
 * SK_EDNS_NAME, SK_EDNS_NAME_LONG. */
int sk_dns_name_parse(const char *text, size_t len, const struct sk_dns_name *origin,
                      struct sk_dns_name *out);

/* Writes name in presentation form, absolute (with the final dot), special
 * characters escaped as dig does: buf holds SK_DNS_NAME_STRLEN bytes.
 * NUL-terminates and returns the length. */
size_t sk_dns_name_format(const struct sk_dns_name *name, char *buf);

/* Case-insensitive (ASCII) comparison, as DNS compares names. */
bool sk_dns_name_equal(const struct sk_dns_name *a, const struct sk_dns_name *b);

/* True when name is sub or below it (label-wise, case-insensitively). */
bool sk_dns_name_is_under(const struct sk_dns_name *name, const struct sk_dns_name *zone);

/* The number of labels (0 for the root). */
unsigned sk_dns_name_labels(const struct sk_dns_name *name);

/* The reverse-lookup name of an address: 4.3.2.1.in-addr.arpa. or the
 * nibbles under ip6.arpa. (RFC 3596 §2.5). */
void sk_dns_name_reverse(const struct sk_ip *ip, struct sk_dns_name *out);

/* --- Types and codes ---------------------------------------------------------- */

/* "A", "AAAA" … or NULL for a type without a name here. */
const char *sk_dns_type_name(unsigned type);
/* "A", "aaaa", "TYPE65" (RFC 3597 §5) -> the type number. SK_EDNS_TYPE otherwise. */
int sk_dns_type_parse(const char *text, size_t len, uint16_t *out);
/* "NOERROR", "NXDOMAIN" … or NULL. */
const char *sk_dns_rcode_name(unsigned rcode);
/* "QUERY", "IQUERY", "STATUS", "NOTIFY", "UPDATE" or NULL. */
const char *sk_dns_opcode_name(unsigned opcode);
/* "IN", "CH", "HS", "NONE", "ANY" or NULL. */
const char *sk_dns_class_name(unsigned cls);

/* --- Messages ----------------------------------------------------------------- */

/* Reads the header and the question (if qdcount is 1) only: what a server
 * needs to answer and a client needs to match a response to its query.
 * Returns the offset after the question, or an SK_EDNS_* code. */
int sk_dns_parse_question(const void *p, size_t len, struct sk_dns_msg *m);

/* Parses a whole message: header, question, every record (stored in
 * m->rrs, in order, each with its section), the OPT record's EDNS fields,
 * and checks each record's data against its type. Returns 0, or
 * SK_EDNS_TRUNCATED (the counts promise more than the bytes hold),
 * SK_EDNS_LABEL, SK_EDNS_POINTER, SK_EDNS_NAME_LONG, SK_EDNS_RDATA,
 * SK_EDNS_TRAILING, SK_EDNS_QDCOUNT, SK_EDNS_TOO_MANY. */
int sk_dns_parse(const void *p, size_t len, struct sk_dns_msg *m);

/* Checks that rdata of the given type, at msg[off .. off+rdlen), has the
 * type's shape (A 4 bytes, names inside it, SOA's five numbers …); types
 * without a rule here are opaque and always pass. Returns 0 or SK_EDNS_*. */
int sk_dns_rdata_check(const unsigned char *msg, size_t len, unsigned type, size_t off,
                       size_t rdlen);

/* The presentation form of a record's data ("10 mail.example.com.",
 * "\"text\"", "\# 4 0A000001" for types without a rule here, RFC 3597).
 * Returns the length written (NUL-terminated), or SK_ETOOLARGE when cap is
 * too small. SK_DNS_RDATA_STRLEN always suffices. */
#define SK_DNS_RDATA_STRLEN (4 * SK_DNS_MSG_MAX + 64)
int sk_dns_rdata_format(const unsigned char *msg, size_t len, const struct sk_dns_rr *rr,
                        char *buf, size_t cap);

/* Builds a query for name/type/IN into buf (cap bytes): id, RD when recurse,
 * an OPT record offering edns_size bytes when it is not 0. Returns the
 * length, or SK_ETOOLARGE. */
int sk_dns_build_query(void *buf, size_t cap, uint16_t id, const struct sk_dns_name *name,
                       uint16_t type, bool recurse, unsigned edns_size);

/* --- Writing messages (servers) ------------------------------------------------ */

/* Room for the offsets of names already written: the compression table. */
#define SK_DNS_COMPRESS_MAX 32

/* Writes a message into the caller's buffer; a write that does not fit
 * sets overflow and leaves the message as it was before it. */
struct sk_dns_writer {
	unsigned char *p;
	size_t cap, len;
	bool overflow;
	size_t n_names;
	uint16_t names[SK_DNS_COMPRESS_MAX];
};

void sk_dns_writer_init(struct sk_dns_writer *w, void *buf, size_t cap);
/* The header; the counts are kept by the writer's caller and patched with
 * sk_dns_writer_counts(). */
void sk_dns_put_header(struct sk_dns_writer *w, uint16_t id, uint16_t flags);
void sk_dns_writer_counts(struct sk_dns_writer *w, unsigned qd, unsigned an, unsigned ns,
                          unsigned ar);
/* A name, compressed against the names written before when compress. */
void sk_dns_put_name(struct sk_dns_writer *w, const struct sk_dns_name *name, bool compress);
void sk_dns_put_question(struct sk_dns_writer *w, const struct sk_dns_name *name, uint16_t type,
                         uint16_t cls);
/* A record whose data is in uncompressed wire form (rdata, rdlen); the
 * names inside the data of RFC 1035's types are compressed (RFC 3597 §4
 * forbids it for later types). Returns false on overflow. */
bool sk_dns_put_rr(struct sk_dns_writer *w, const struct sk_dns_name *name, uint16_t type,
                   uint16_t cls, uint32_t ttl, const unsigned char *rdata, size_t rdlen);
/* An OPT record offering udp_size bytes. */
bool sk_dns_put_opt(struct sk_dns_writer *w, unsigned udp_size);

#endif
