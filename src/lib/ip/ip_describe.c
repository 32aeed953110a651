/* Describing a network at once (sk_ip_describe): its network, masks,
 * broadcast, usable hosts, class and flags, as Python's ipaddress gives
 * them. Built on the arithmetic (ip_net.c) and the special-purpose tables
 * (ip_special.c); neither of those needs it. */
#include <sockit/ip.h>

/* Python's hosts(): the usable addresses of a network. */
static void fill_hosts(const struct sk_ip_cidr *c, struct sk_ip_info *out)
{
	unsigned host_bits = sk_ip_bits(c->addr.version) - c->prefix;
	out->count_log2 = host_bits;
	if (host_bits == 0) {
		/* A /32 or /128 is the one address it names. */
		out->first_host = out->last_host = c->addr;
		out->hosts_minus = 0;
		return;
	}
	struct sk_ip last = sk_ip_last(&c->addr, c->prefix);
	if (host_bits == 1) {
		/* RFC 3021 (IPv4 /31) and RFC 6164 (IPv6 /127): both addresses. */
		out->first_host = out->network;
		out->last_host = last;
		out->hosts_minus = 0;
		return;
	}
	/* IPv4 loses the network and broadcast addresses; IPv6 loses only the
	 * Subnet-Router anycast address (RFC 4291 §2.6.1), the network address. */
	sk_ip_add(&out->network, 1, &out->first_host);
	if (c->addr.version == SK_IP_V4) {
		sk_ip_add(&last, -1, &out->last_host);
		out->hosts_minus = 2;
	} else {
		out->last_host = last;
		out->hosts_minus = 1;
	}
}

void sk_ip_describe(const struct sk_ip_cidr *c, struct sk_ip_info *out)
{
	unsigned version = c->addr.version;
	out->network = sk_ip_network(&c->addr, c->prefix);
	out->netmask = sk_ip_netmask(version, c->prefix);
	out->hostmask = sk_ip_hostmask(version, c->prefix);
	out->has_broadcast = version == SK_IP_V4 && c->prefix <= 30;
	out->broadcast = out->has_broadcast ? sk_ip_last(&c->addr, c->prefix) : sk_ip_zero(version);
	fill_hosts(c, out);
	out->cls = sk_ip_class(&c->addr);
	out->flags = sk_ip_flags(&c->addr);
	if (c->prefix != sk_ip_bits(version)) {
		/* An interface is unspecified only if its network is: 0.0.0.0/8 is
		 * not "no address". Python's IPv6Interface asks the network (and so
		 * ::1/64 is not loopback either); its IPv4Interface answers False
		 * always, a bug fixed upstream (python/cpython#115766) whose fixed
		 * answer we give. IPv4 loopback stays address-only, as in Python. */
		out->flags &= ~SK_IP_UNSPECIFIED;
		if (version == SK_IP_V6)
			out->flags &= ~SK_IP_LOOPBACK;
	}
	out->is_ipv4_mapped = sk_ip_ipv4_mapped(&c->addr, &out->ipv4_mapped);
	if (!out->is_ipv4_mapped)
		out->ipv4_mapped = sk_ip_zero(SK_IP_V4);
}
