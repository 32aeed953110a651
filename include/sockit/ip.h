/* IPv4 and IPv6 address maths: parse, format, masks, networks, classification.
 *
 * Nothing here allocates, blocks or keeps state: every function works on the
 * caller's memory and is safe from any thread or loop callback. Errors are
 * SK_E* values from <sockit/err.h>.
 *
 * What counts as valid text, and what the classification flags mean, follows
 * Python 3.11's ipaddress module (Debian 12's build, with the 2024 IANA
 * registry fix) so that users get one answer from either tool; the few
 * deliberate differences are noted where they are made. */
#ifndef SOCKIT_IP_H
#define SOCKIT_IP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sockit/slice.h>

#define SK_IP_V4 4
#define SK_IP_V6 6

/* Longest text sk_ip_format() writes, plus its NUL:
 * "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255" is 45 characters. */
#define SK_IP_STRLEN 46

/* Longest zone ("%eth0") accepted after an IPv6 address. RFC 4007 sets no
 * limit; Linux interface names stop at 15 bytes and numeric zones are short,
 * so 64 leaves room for any real zone while bounding what we copy around. */
#define SK_IP_ZONE_MAX 64

/* Longest decimal count: 2^128 has 39 digits. */
#define SK_IP_COUNT_STRLEN 40

/* An address of either family as a 128-bit number in host order: hi holds the
 * top 64 bits. IPv4 addresses live in the low 32 bits of lo with hi == 0, so
 * masks and arithmetic are the same code for both families. */
struct sk_ip {
	uint64_t hi, lo;
	unsigned char version; /* SK_IP_V4 or SK_IP_V6 */
};

/* An address with the prefix length of its network (what Python calls an
 * interface: "192.168.1.10/24" keeps its host bits). */
struct sk_ip_cidr {
	struct sk_ip addr;
	unsigned prefix;
	bool has_prefix;       /* false when the text gave no '/': prefix is then 32 or 128 */
	struct sk_slice zone;  /* IPv6 zone without '%', a view into the parsed text; empty if none */
};

/* Text styles for sk_ip_format(). */
enum sk_ip_style {
	SK_IP_CANONICAL,  /* RFC 5952: lower case, longest zero run as "::" (leftmost on a tie,
	                     never a single group); IPv4-mapped as ::ffff:1.2.3.4 (RFC 5952 §5) */
	SK_IP_COMPRESSED, /* RFC 5952 without the mixed IPv4 tail: ::ffff:102:304 */
	SK_IP_EXPLODED,   /* every group, four digits each: 0000:0000:...:0001 */
};

/* sk_ip_flags() bits, with the meaning Python's ipaddress gives the same name. */
#define SK_IP_PRIVATE     0x01u /* not globally reachable per the IANA special registries */
#define SK_IP_GLOBAL      0x02u /* globally reachable (100.64.0.0/10 is neither) */
#define SK_IP_LOOPBACK    0x04u
#define SK_IP_MULTICAST   0x08u
#define SK_IP_LINK_LOCAL  0x10u
#define SK_IP_RESERVED    0x20u
#define SK_IP_UNSPECIFIED 0x40u

/* A row of the special-purpose address registries, for explaining a match. */
struct sk_ip_special {
	const char *cidr;   /* "10.0.0.0/8" */
	const char *name;   /* "private-use" */
	const char *rfc;    /* "RFC 1918" */
};

/* --- Parsing ------------------------------------------------------------
 * Each parser reads exactly len bytes (no NUL needed) and accepts nothing
 * around the value: no spaces, no brackets. On failure it returns an SK_E*
 * code, leaves *out untouched and, when bad is not NULL, points *bad at the
 * part of the text that broke the rule (a view into text, never empty unless
 * the text was). */

/* Parses a dotted quad: exactly four decimal octets 0-255 without leading
 * zeros (inet_aton would read "010" as octal 8; we refuse the ambiguity). */
int sk_ip_parse_v4(const char *text, size_t len, struct sk_ip *out, struct sk_slice *bad);

/* Parses any RFC 4291 §2.2 text form: eight groups, one "::", and an optional
 * dotted-quad tail in place of the last two groups. No zone. */
int sk_ip_parse_v6(const char *text, size_t len, struct sk_ip *out, struct sk_slice *bad);

/* Parses an address of either family: IPv6 when the text holds a ':'. */
int sk_ip_parse(const char *text, size_t len, struct sk_ip *out, struct sk_slice *bad);

/* Parses a prefix for the given version: a length ("24", leading zeros allowed
 * as Python allows them) or, for IPv4 only, a netmask ("255.255.255.0") or a
 * Cisco-style hostmask ("0.0.0.255"); all-zero and all-one masks read as
 * netmasks. Returns SK_EMASK_NONCONTIGUOUS for 255.0.255.0. */
int sk_ip_parse_prefix(const char *text, size_t len, unsigned version, unsigned *prefix_out,
                       struct sk_slice *bad);

/* Parses ADDRESS[%ZONE][/PREFIX|/MASK]. Without a '/', prefix is the full
 * length (a single host) and has_prefix is false. out->zone is a view into
 * text and lives as long as text does. */
int sk_ip_parse_cidr(const char *text, size_t len, struct sk_ip_cidr *out, struct sk_slice *bad);

/* --- Formatting --------------------------------------------------------- */

/* Writes ip as text in the given style into buf, which must hold
 * SK_IP_STRLEN bytes, NUL-terminates it, and returns the length. IPv4 is a
 * dotted quad in every style. */
size_t sk_ip_format(const struct sk_ip *ip, enum sk_ip_style style, char *buf);

/* Writes 2^log2 - minus in decimal (log2 <= 128, minus <= 2^log2) into buf,
 * which must hold SK_IP_COUNT_STRLEN bytes; NUL-terminates and returns the
 * length. Address counts reach 2^128, one bit past any C integer. */
size_t sk_ip_format_count(unsigned log2, unsigned minus, char *buf);

/* --- Arithmetic --------------------------------------------------------- */

/* 32 for IPv4, 128 for IPv6. */
unsigned sk_ip_bits(unsigned version);

/* The address 0 (0.0.0.0 or ::) of a version. */
struct sk_ip sk_ip_zero(unsigned version);

/* prefix ones followed by zeroes, and its complement. prefix <= sk_ip_bits(). */
struct sk_ip sk_ip_netmask(unsigned version, unsigned prefix);
struct sk_ip sk_ip_hostmask(unsigned version, unsigned prefix);

/* ip AND netmask: the first address of ip's network. */
struct sk_ip sk_ip_network(const struct sk_ip *ip, unsigned prefix);

/* ip OR hostmask: the last address of ip's network. */
struct sk_ip sk_ip_last(const struct sk_ip *ip, unsigned prefix);

/* -1, 0 or 1 as a is below, equal to or above b; IPv4 sorts before IPv6. */
int sk_ip_cmp(const struct sk_ip *a, const struct sk_ip *b);

/* Does the network net/prefix contain ip? Always false across families. */
bool sk_ip_contains(const struct sk_ip *net, unsigned prefix, const struct sk_ip *ip);

/* out = ip + delta (delta may be negative). Returns SK_ERANGE, leaving out
 * untouched, when the result falls outside the family's address space. */
int sk_ip_add(const struct sk_ip *ip, int64_t delta, struct sk_ip *out);

/* Builds an address from its bytes in network order (4 or 16 of them), and
 * writes one out; these are what sockaddr_in and sockaddr_in6 hold. */
struct sk_ip sk_ip_from_bytes(unsigned version, const unsigned char *bytes);
void sk_ip_to_bytes(const struct sk_ip *ip, unsigned char *bytes_out);

/* --- Classification ----------------------------------------------------- */

/* The classful network class by leading bits: 'A' 0…, 'B' 10…, 'C' 110…,
 * 'D' 1110… (multicast), 'E' 1111… (reserved); 0 for IPv6. */
char sk_ip_class(const struct sk_ip *ip);

/* The default prefix of a class: A 8, B 16, C 24; 32 for D and E, which have
 * no network/host split. */
unsigned sk_ip_class_prefix(char cls);

/* SK_IP_* flags of a single address, exactly as Python's IPv4Address and
 * IPv6Address properties answer them (IPv4-mapped IPv6 addresses take their
 * private/global answer from the embedded IPv4 address). */
unsigned sk_ip_flags(const struct sk_ip *ip);

/* The most specific special-purpose registry row containing ip, or NULL when
 * ip is ordinary global unicast. The result is static and never freed. */
const struct sk_ip_special *sk_ip_special_find(const struct sk_ip *ip);

/* If ip is IPv4-mapped (::ffff:0:0/96), stores the embedded IPv4 address in
 * *v4_out and returns true. */
bool sk_ip_ipv4_mapped(const struct sk_ip *ip, struct sk_ip *v4_out);

/* --- A whole network at once -------------------------------------------- */

/* Everything a calculator prints about ADDRESS/PREFIX. */
struct sk_ip_info {
	struct sk_ip network, netmask, hostmask;
	struct sk_ip broadcast;   /* meaningful only if has_broadcast */
	bool has_broadcast;       /* IPv4 up to /30 only: a /31 is point-to-point (RFC 3021),
	                             a /32 a single host, and IPv6 has no broadcast */
	struct sk_ip first_host, last_host;
	unsigned count_log2;      /* num_addresses == 2^count_log2 */
	unsigned hosts_minus;     /* num_hosts == 2^count_log2 - hosts_minus */
	char cls;                 /* sk_ip_class(), 0 for IPv6 */
	unsigned flags;           /* SK_IP_* for the address within its network (see below) */
	bool is_ipv4_mapped;
	struct sk_ip ipv4_mapped;
};

/* Fills *out for c->addr/c->prefix. Usable hosts follow Python's hosts(): all
 * but the network and broadcast addresses in IPv4, all but the Subnet-Router
 * anycast (the network address) in IPv6, both addresses of a /31 or /127
 * (RFC 3021, RFC 6164) and the one address of a /32 or /128. The flags are
 * Python's for ip_interface(): the address's own flags, except that
 * unspecified requires a /32 or /128 and IPv6 loopback a /128 (Python 3.11's
 * IPv4Interface.is_unspecified is always False, python/cpython#115766, fixed
 * upstream to this rule). */
void sk_ip_describe(const struct sk_ip_cidr *c, struct sk_ip_info *out);

/* --- Iterating networks ------------------------------------------------- */

/* Summarises the range [*first, last] as a minimal list of CIDR blocks, one
 * per call, in address order: stores the next block in *net_out and *prefix_out,
 * advances *first past it, and returns 1; returns 0 once the range is
 * exhausted (then *first is left unspecified). Returns SK_EADDR_FAMILY or
 * SK_ERANGE_ORDER on a bad range before any block is produced. Set *done to
 * false before the first call; it is how the cursor reports the end of the
 * address space. */
int sk_ip_range_next(struct sk_ip *first, const struct sk_ip *last, bool *done,
                     struct sk_ip *net_out, unsigned *prefix_out);

/* The subnet after net in steps of /prefix: *out = net + 2^(bits - prefix).
 * Returns SK_ERANGE at the end of the address space. */
int sk_ip_next_block(const struct sk_ip *net, unsigned prefix, struct sk_ip *out);

#endif
