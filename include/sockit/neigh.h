/* The neighbour table (ARP for IPv4, NDP for IPv6) and the route to one
 * address, read from the kernel over rtnetlink (`ip neigh`, `ip route get`);
 * and ARP requests of our own over a packet socket (arping), for root.
 *
 * Reading blocks briefly on the kernel and needs no privileges. */
#ifndef SOCKIT_NEIGH_H
#define SOCKIT_NEIGH_H

#include <stdbool.h>
#include <stddef.h>

#include <sockit/ifaces.h>
#include <sockit/ip.h>

/* Neighbour states (the kernel's NUD_* bits). */
#define SK_NUD_INCOMPLETE 0x01u
#define SK_NUD_REACHABLE  0x02u
#define SK_NUD_STALE      0x04u
#define SK_NUD_DELAY      0x08u
#define SK_NUD_PROBE      0x10u
#define SK_NUD_FAILED     0x20u
#define SK_NUD_NOARP      0x40u
#define SK_NUD_PERMANENT  0x80u

struct sk_neigh {
	struct sk_ip ip;
	unsigned ifindex;
	unsigned char mac[SK_MAC_MAX];
	size_t mac_len;          /* 0 while unresolved (INCOMPLETE, FAILED) */
	unsigned state;          /* one SK_NUD_* bit */
	bool is_router;          /* NDP: the neighbour said it routes (NTF_ROUTER) */
};

/* Reads the table for family (AF_INET, AF_INET6 or AF_UNSPEC for both),
 * leaving out what `ip neigh` leaves out by default (NOARP entries:
 * multicast and loopback mappings, and entries without a state). Returns 0
 * with *out (free() it; NULL when empty) and *n_out, SK_ENOMEM, or the
 * netlink socket's negative errno. */
int sk_neigh_list(int family, struct sk_neigh **out, size_t *n_out);

/* The entry for ip (on ifindex; 0 for any interface). Returns 1 and *out,
 * 0 when the table has none, or a negative errno. */
int sk_neigh_find(const struct sk_ip *ip, unsigned ifindex, struct sk_neigh *out);

/* Whether a state holds a usable MAC address (REACHABLE, STALE, DELAY,
 * PROBE, PERMANENT or NOARP). */
bool sk_neigh_is_resolved(unsigned state);

/* "REACHABLE", "STALE", ... as `ip neigh` prints them; "NONE" for 0. */
const char *sk_neigh_state_name(unsigned state);

/* Where the kernel would send a packet to an address (`ip route get`). */
struct sk_route {
	unsigned ifindex;        /* the outgoing interface */
	struct sk_ip src;        /* the source address it would use, when has_src */
	bool has_src;
	struct sk_ip gateway;    /* the next hop, when the address is not on-link */
	bool has_gateway;
	bool is_local;           /* the address is this host's own */
};

/* Asks the kernel for the route to dst (an IPv6 link-local address needs
 * ifindex; 0 otherwise). Returns 0, or the kernel's negative errno
 * (-ENETUNREACH: no route). */
int sk_route_get(const struct sk_ip *dst, unsigned ifindex, struct sk_route *out);

/* --- ARP over a packet socket (arp_probe.c) ------------------------------------ */

/* The bytes of an Ethernet ARP request or reply (RFC 826), without the
 * Ethernet header (a SOCK_DGRAM packet socket adds and strips it). */
#define SK_ARP_LEN 28

/* Opens a non-blocking AF_PACKET datagram socket for ARP on ifindex. Needs
 * CAP_NET_RAW: -EPERM without. Returns the fd or a negative errno. */
int sk_arp_open(unsigned ifindex);

/* Broadcasts a request "who has target? tell src_ip (src_mac)" on ifindex.
 * src_mac is the interface's 6-byte address. Returns 0 or a negative errno. */
int sk_arp_send_request(int fd, unsigned ifindex, const unsigned char *src_mac,
                        const struct sk_ip *src_ip, const struct sk_ip *target);

/* Reads an ARP packet of len bytes: when it is a reply (or a request, which
 * also tells its sender's address) from an IPv4 sender, stores the sender's
 * address and its 6-byte MAC and returns the opcode (1 request, 2 reply);
 * returns 0 for anything else. */
int sk_arp_parse(const void *packet, size_t len, struct sk_ip *sender_out,
                 unsigned char *sender_mac_out);

#endif
