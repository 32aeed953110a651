/* Port numbers: parsing, IANA ranges, and service names from the system's
 * services database (/etc/services through getservbyport_r, which is
 * reentrant and keeps no state of ours). */
#ifndef SOCKIT_PORT_H
#define SOCKIT_PORT_H

#include <stddef.h>

/* RFC 6335 §6 ranges. The course notes call everything above 1023 "dynamic";
 * IANA splits that into registered and dynamic (private, ephemeral) ports. */
enum sk_port_range {
	SK_PORT_WELL_KNOWN, /* 0-1023, the "system ports" */
	SK_PORT_REGISTERED, /* 1024-49151, the "user ports" */
	SK_PORT_DYNAMIC,    /* 49152-65535, never assigned by IANA */
};

#define SK_PORT_MAX 65535u

/* Longest service name we copy out; /etc/services names are short. */
#define SK_PORT_NAME_MAX 64

/* Parses a decimal port 0-65535 of exactly len bytes: digits only, no sign or
 * space. Returns 0, SK_EPORT_SYNTAX or SK_EPORT_RANGE. */
int sk_port_parse(const char *text, size_t len, unsigned *port_out);

enum sk_port_range sk_port_range_of(unsigned port);

/* "well-known", "registered" or "dynamic"; and the range's bounds. */
const char *sk_port_range_name(enum sk_port_range range);
void sk_port_range_bounds(enum sk_port_range range, unsigned *first, unsigned *last);

/* The official service name of port for proto ("tcp" or "udp") copied into
 * buf (cap bytes, NUL-terminated). Returns its length or SK_ENONAME. Reads the
 * services database: may touch the disk, does not block on the network. */
int sk_port_service_name(unsigned port, const char *proto, char *buf, size_t cap);

/* The port of a service name or alias (name is NUL-terminated) for proto.
 * Returns 0 with *port_out set, or SK_ENONAME. */
int sk_port_lookup(const char *name, const char *proto, unsigned *port_out);

#endif
