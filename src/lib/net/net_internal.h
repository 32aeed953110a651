/* Internals of src/lib/net/ shared between its files (and with the layers
 * above): a small rtnetlink client and the ICMP echo sockets. Never
 * installed. */
#ifndef SOCKIT_NET_INTERNAL_H
#define SOCKIT_NET_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <sockit/ip.h>

/* --- rtnetlink (netlink.c) ----------------------------------------------------
 * Our own ~150 lines rather than libmnl: the three dumps and one query we
 * make need only "send a request, walk the replies, index the attributes",
 * and a library for that would be one more build dependency for every
 * user of libsockit. */

/* One request's reply buffer: a dump arrives in datagrams of at most a page
 * per message batch (NLMSG_GOODSIZE); 32 KiB takes any of them whole. */
#define SK__NL_BUF 32768

struct sk__nl {
	int fd;
	uint32_t seq;
};

/* Called for each reply message of the request (never for NLMSG_DONE or an
 * ACK); returns 0 to go on or a negative SK_E* code to stop with it. */
typedef int sk__nl_msg_fn(const struct nlmsghdr *h, void *ud);

/* Opens a NETLINK_ROUTE socket (blocking, close-on-exec). */
int sk__nl_open(struct sk__nl *nl);
void sk__nl_close(struct sk__nl *nl);

/* Sends req (nlmsg_len, type and flags set; seq and pid are filled here) and
 * hands every reply to fn until the dump's NLMSG_DONE or the request's
 * reply. Returns 0, fn's error, or the kernel's (negative errno). Blocks
 * (the kernel answers at once). */
int sk__nl_request(struct sk__nl *nl, struct nlmsghdr *req, sk__nl_msg_fn *fn, void *ud);

/* Indexes the attributes in [rta, rta + len): tb[type] for types up to max
 * (the last of a repeated type wins; unknown types are skipped). */
void sk__nl_attrs(const struct rtattr *rta, size_t len, const struct rtattr **tb, unsigned max);

/* Appends an attribute to the message in buf (cap bytes). Returns 0 or
 * SK_ETOOLARGE. */
int sk__nl_put(struct nlmsghdr *h, size_t cap, unsigned type, const void *data, size_t len);

/* An address attribute (4 or 16 bytes) as an sk_ip; false for other lengths. */
bool sk__nl_ip(const struct rtattr *rta, struct sk_ip *out);

/* --- ICMP echo sockets (icmp.c) --------------------------------------------- */

/* How the kernel lets us send echo requests. */
enum sk__icmp_kind {
	SK__ICMP_DGRAM, /* socket(SOCK_DGRAM, IPPROTO_ICMP): net.ipv4.ping_group_range;
	                   the kernel owns the identifier and the checksum */
	SK__ICMP_RAW,   /* socket(SOCK_RAW): CAP_NET_RAW; IPv4 replies carry the IP header */
};

/* Opens a non-blocking ICMP (family AF_INET) or ICMPv6 socket: a datagram
 * one if allowed, else a raw one. Returns the fd and *kind_out, or the
 * datagram socket's error when both fail (-EACCES: the group is outside
 * ping_group_range) with the raw one's in *raw_err_out (-EPERM). */
int sk__icmp_open(int family, enum sk__icmp_kind *kind_out, int *raw_err_out);

/* The Internet checksum (RFC 1071) of len bytes. */
uint16_t sk__icmp_checksum(const void *data, size_t len);

/* An echo reply as an ICMP socket of kind hands it over (a raw IPv4 socket
 * with the IP header first): the offset of the ICMP header in buf, its
 * length in *icmp_len and the IP header's TTL in *ttl (left alone when
 * there is none); -1 for anything that is not a whole echo reply of family
 * (a bad IP header length, a short packet, another type). Bytes from the
 * network: checked, never trusted (tests/fuzz/fuzz_probe.c). */
long sk__icmp_echo_reply(const unsigned char *buf, size_t len, int family, enum sk__icmp_kind kind,
                         size_t *icmp_len, int *ttl);

#endif
