/* Allow/deny lists. A linear scan: lists are a handful of rules, checked
 * once per accepted connection. */
#include <sockit/acl.h>
#include <sockit/err.h>

#include <stdlib.h>

void sk_acl_init(struct sk_acl *acl)
{
	acl->rules = NULL;
	acl->n_rules = acl->cap = acl->n_allow = 0;
}

void sk_acl_fini(struct sk_acl *acl)
{
	free(acl->rules);
	sk_acl_init(acl);
}

/* Peers are compared unmapped (sk_addr_to_ip turns ::ffff:a.b.c.d into
 * a.b.c.d), so rules must be too: "--deny ::ffff:127.0.0.1" was accepted
 * and never matched, a deny that failed open. A prefix inside the mapped
 * range, ::ffff:0:0/96+n, is the IPv4 prefix /n. */
static void unmap(struct sk_ip *ip, unsigned *prefix)
{
	struct sk_ip v4;
	if (*prefix >= 96 && sk_ip_ipv4_mapped(ip, &v4)) {
		*ip = v4;
		*prefix -= 96;
	}
}

int sk_acl_add(struct sk_acl *acl, const char *cidr, size_t len, bool allow, struct sk_slice *bad)
{
	struct sk_ip_cidr c;
	int err = sk_ip_parse_cidr(cidr, len, &c, bad);
	if (err < 0)
		return err;
	if (acl->n_rules == acl->cap) {
		size_t cap = acl->cap ? acl->cap * 2 : 8;
		struct sk_acl_rule *rules = realloc(acl->rules, cap * sizeof *rules);
		if (!rules)
			return SK_ENOMEM;
		acl->rules = rules;
		acl->cap = cap;
	}
	struct sk_acl_rule *r = &acl->rules[acl->n_rules++];
	unmap(&c.addr, &c.prefix);
	r->net = sk_ip_network(&c.addr, c.prefix);
	r->prefix = c.prefix;
	r->allow = allow;
	acl->n_allow += allow;
	return 0;
}

bool sk_acl_permits(const struct sk_acl *acl, const struct sk_ip *peer_in)
{
	struct sk_ip peer_ip = *peer_in;
	unsigned all = 128;
	unmap(&peer_ip, &all);
	const struct sk_ip *peer = &peer_ip;
	bool allowed = acl->n_allow == 0;
	for (size_t i = 0; i < acl->n_rules; i++) {
		const struct sk_acl_rule *r = &acl->rules[i];
		if (!sk_ip_contains(&r->net, r->prefix, peer))
			continue;
		if (!r->allow)
			return false;
		allowed = true;
	}
	return allowed;
}
