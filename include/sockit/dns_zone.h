/* Authoritative data for a small DNS server: zones in RFC 1035 master-file
 * syntax and /etc/hosts-format files, and the answers they give.
 *
 * The master-file subset: $ORIGIN, $TTL, '@', relative names, owner names
 * carried over from the line before (a line starting with a blank),
 * parentheses across lines, ';' comments, quoted strings with \X and \DDD
 * escapes, TTLs with units (1h30m), class IN, the types A NS CNAME SOA PTR
 * HINFO MX TXT AAAA SRV CAA, and any type in RFC 3597's generic form
 * (TYPE65 \# 3 010203). $INCLUDE, $GENERATE and wildcards are refused. A
 * zone is the SOA record's owner and everything below it; each file holds
 * one zone with exactly one SOA.
 *
 * A hosts file ("ADDRESS NAME [ALIAS...]", as /etc/hosts) gives A and AAAA
 * records for each name and a PTR record for each address, with TTL 0 (as
 * dnsmasq serves its hosts files). A file is a hosts file when its first
 * field is an IP address.
 *
 * Files are read strictly: the first fault stops the load with its line
 * and the reason (a CNAME beside other data, a name outside the zone, a
 * second SOA, a label over 63 bytes ...). */
#ifndef SOCKIT_DNS_ZONE_H
#define SOCKIT_DNS_ZONE_H

#include <stdbool.h>
#include <stddef.h>

#include <sockit/dns.h>

/* Limits of what one server loads: a lab server, not a TLD. */
#define SK_DNS_ZONE_MAX_RECORDS 1000000
#define SK_DNS_ZONE_MAX_FIELDS 1024 /* fields of one record: a TXT of 1023 strings */

struct sk_dns_zones;

/* Where and why a load failed: file is the index of the sk_dns_zones_load()
 * call (0 for the first file), line counts from 1 (0: the file as a whole). */
struct sk_dns_zone_error {
	unsigned file;
	unsigned line;
	char why[256];
};

/* An empty set of zones. Returns 0 or SK_ENOMEM. */
int sk_dns_zones_new(struct sk_dns_zones **out);

/* Frees the zones. Accepts NULL. */
void sk_dns_zones_free(struct sk_dns_zones *z);

/* Reads one file's text (borrowed for the call; what is kept is copied).
 * Returns 0, or SK_EDNS_SYNTAX with *err filled, or SK_ENOMEM, SK_ETOOLARGE. */
int sk_dns_zones_load(struct sk_dns_zones *z, const char *text, size_t len,
                      struct sk_dns_zone_error *err);

/* Ends loading: sorts and indexes the records and checks what spans a
 * whole zone (a CNAME beside other data). Call once, before answering.
 * Returns 0, or SK_EDNS_SYNTAX with *err filled, or SK_ENOMEM. */
int sk_dns_zones_finish(struct sk_dns_zones *z, struct sk_dns_zone_error *err);

/* Records and zones loaded. */
size_t sk_dns_zones_n_records(const struct sk_dns_zones *z);
size_t sk_dns_zones_n_zones(const struct sk_dns_zones *z);

/* How to answer one query. */
struct sk_dns_answer_opts {
	bool over_udp;         /* truncate to the client's EDNS size (512 without EDNS), set TC */
	bool force_tc;         /* over UDP: answer every query truncated, TC set (a fault) */
	const struct sk_dns_name *servfail; /* answer SERVFAIL for these names (a fault) */
	size_t n_servfail;
};

/* What an answer was, for logs. */
struct sk_dns_answer_info {
	unsigned rcode;
	bool truncated;
	bool has_question;
	struct sk_dns_question q;
};

/* Answers the query in query[0..len) into out (cap bytes; 65535 holds any
 * answer). Returns the answer's length; 0 when nothing must be sent (a
 * response, or fewer bytes than a header: answering those would let two
 * servers answer each other for ever). Malformed queries get FORMERR,
 * opcodes other than QUERY NOTIMP, names outside every zone REFUSED, a
 * name that does not exist NXDOMAIN and one without the type asked NODATA
 * (NOERROR, no answer), both with the zone's SOA in the authority section
 * (RFC 2308); CNAMEs are followed inside the data loaded. Never blocks,
 * never allocates. */
int sk_dns_zones_answer(const struct sk_dns_zones *z, const void *query, size_t len,
                        const struct sk_dns_answer_opts *opts, void *out, size_t cap,
                        struct sk_dns_answer_info *info);

#endif
