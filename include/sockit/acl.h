/* Allow and deny lists of networks, for servers deciding whom to serve.
 *
 * A peer is refused if any deny rule matches it; otherwise, if there are
 * allow rules, it must match one of them. (Deny wins, as in ncat and nginx
 * order-independent use.) Peers are compared as plain addresses: an IPv4
 * client of a dual-stack listener is IPv4 here (sk_addr_to_ip unmaps it),
 * and so are rules: an IPv4-mapped rule, ::ffff:0:0/96+n, is the IPv4
 * rule /n ("::ffff:10.0.0.0/104" is 10.0.0.0/8, "::ffff:0:0/96" every IPv4
 * address). An IPv6 rule shorter than /96 matches IPv6 peers only. */
#ifndef SOCKIT_ACL_H
#define SOCKIT_ACL_H

#include <stdbool.h>
#include <stddef.h>

#include <sockit/ip.h>
#include <sockit/slice.h>

struct sk_acl_rule {
	struct sk_ip net; /* the network address (host bits cleared) */
	unsigned prefix;
	bool allow;
};

struct sk_acl {
	struct sk_acl_rule *rules;
	size_t n_rules, cap;
	size_t n_allow;
};

void sk_acl_init(struct sk_acl *acl);
void sk_acl_fini(struct sk_acl *acl);

/* Adds a rule from CIDR text ("10.0.0.0/8", "192.168.1.7", "::1/128"; an
 * address alone is one host). Returns 0, an SK_EADDR_ or SK_EPREFIX_ parse
 * error (with *bad as sk_ip_parse_cidr sets it), or SK_ENOMEM. */
int sk_acl_add(struct sk_acl *acl, const char *cidr, size_t len, bool allow, struct sk_slice *bad);

/* Whether peer may connect under the rules (an IPv4-mapped peer counts as
 * its IPv4 address). An empty list permits all. */
bool sk_acl_permits(const struct sk_acl *acl, const struct sk_ip *peer);

#endif
