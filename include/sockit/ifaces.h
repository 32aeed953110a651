/* Network interfaces and their addresses, read from the kernel over
 * rtnetlink (what `ip addr` and `ip -s link` show): names, flags, MTU,
 * state, MAC address, every IPv4 and IPv6 address (secondaries included)
 * and the traffic counters.
 *
 * Reading blocks briefly on the kernel (no network traffic) and needs no
 * privileges. The list is a snapshot: interfaces may change right after. */
#ifndef SOCKIT_IFACES_H
#define SOCKIT_IFACES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sockit/ip.h>

/* IFNAMSIZ: 15 bytes of name and a NUL. */
#define SK_IFNAME_MAX 16
/* Longest link-layer address kept (MAX_ADDR_LEN; Ethernet uses 6, InfiniBand 20). */
#define SK_MAC_MAX 32
/* "aa:bb:...": three characters a byte. */
#define SK_MAC_STRLEN (SK_MAC_MAX * 3)

/* An address lifetime that never runs out (the kernel's INFINITY_LIFE_TIME). */
#define SK_LIFETIME_FOREVER UINT32_MAX

struct sk_iface_addr {
	struct sk_ip ip;          /* the local address */
	unsigned prefix;
	struct sk_ip broadcast;   /* IPv4 only, when has_broadcast */
	bool has_broadcast;
	struct sk_ip peer;        /* the other end of a point-to-point link, when has_peer */
	bool has_peer;
	unsigned scope;           /* RT_SCOPE_*: 0 global, 200 site, 253 link, 254 host */
	unsigned flags;           /* the kernel's IFA_F_* bits (sk_iface_addr_flag_name) */
	char label[SK_IFNAME_MAX];/* IPv4 label ("eth0:1"); empty for IPv6 */
	uint32_t valid_lft, preferred_lft; /* seconds, SK_LIFETIME_FOREVER */
};

/* The counters of `ip -s link` (rtnl_link_stats64). */
struct sk_iface_stats {
	uint64_t rx_bytes, rx_packets, rx_errors, rx_dropped;
	uint64_t tx_bytes, tx_packets, tx_errors, tx_dropped;
};

struct sk_iface {
	char name[SK_IFNAME_MAX];
	unsigned index;
	unsigned flags;           /* IFF_* bits (sk_iface_flag_name) */
	unsigned mtu;
	unsigned operstate;       /* RFC 2863 IF_OPER_* (sk_iface_operstate_name) */
	unsigned type;            /* ARPHRD_*: 1 Ethernet, 772 loopback */
	unsigned char mac[SK_MAC_MAX];
	size_t mac_len;           /* 0: the link has no address (a tunnel) */
	struct sk_iface_stats stats;
	bool has_stats;
	struct sk_iface_addr *addrs; /* n_addrs of them, in the kernel's order; a view into
	                                the list that owns them */
	size_t n_addrs;
};

struct sk_iface_list {
	struct sk_iface *ifaces;  /* by index */
	size_t n;
	struct sk_iface_addr *addrs; /* storage behind every iface's addrs */
	size_t n_addrs;
};

/* Reads every interface and address. Returns 0 and *out (free it with
 * sk_ifaces_free()), SK_ENOMEM, or the netlink socket's negative errno. */
int sk_ifaces_list(struct sk_iface_list **out);

/* Frees a list; accepts NULL. */
void sk_ifaces_free(struct sk_iface_list *list);

/* The interface with this name or index in list, or NULL. */
const struct sk_iface *sk_ifaces_find(const struct sk_iface_list *list, const char *name);
const struct sk_iface *sk_ifaces_find_index(const struct sk_iface_list *list, unsigned index);

/* The name `ip link` gives one IFF_* bit ("UP", "LOWER_UP", "RUNNING"), or
 * NULL for a bit without one. */
const char *sk_iface_flag_name(unsigned bit);

/* The name `ip addr` gives one IFA_F_* bit of an address of this version
 * ("secondary" for IPv4 and "temporary" for IPv6 share a bit), or NULL. */
const char *sk_iface_addr_flag_name(unsigned bit, unsigned version);

/* "UP", "DOWN", "LOWERLAYERDOWN", "DORMANT", "UNKNOWN" ... (ip's words). */
const char *sk_iface_operstate_name(unsigned operstate);

/* "host", "link", "site", "global", or NULL for a numeric scope. */
const char *sk_iface_scope_name(unsigned scope);

/* Writes len bytes as "aa:bb:cc" into buf (SK_MAC_STRLEN bytes, len at most
 * SK_MAC_MAX); returns the text's length. */
size_t sk_mac_format(const unsigned char *mac, size_t len, char *buf);

/* Parses "aa:bb:cc:dd:ee:ff" (1-2 hex digits a byte). Returns the number of
 * bytes stored in out (SK_MAC_MAX bytes) or SK_EINVAL. */
int sk_mac_parse(const char *text, size_t len, unsigned char *out);

#endif
