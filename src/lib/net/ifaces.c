/* Interfaces and addresses from two rtnetlink dumps (RTM_GETLINK, RTM_GETADDR). */
#include "net/net_internal.h"

#include <sockit/err.h>
#include <sockit/ifaces.h>

#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>

struct collect {
	struct sk_iface *ifaces;
	size_t n, cap;
	struct pending_addr {
		struct sk_iface_addr a;
		unsigned index; /* of its interface */
	} *addrs;
	size_t n_addrs, cap_addrs;
};

static int grow(void **p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return 0;
	size_t new_cap = *cap ? *cap * 2 : 16;
	void *q = realloc(*p, new_cap * size);
	if (!q)
		return SK_ENOMEM;
	*p = q;
	*cap = new_cap;
	return 0;
}

static void copy_stats(struct sk_iface *ifc, const struct rtattr *rta)
{
	struct rtnl_link_stats64 s;
	if (RTA_PAYLOAD(rta) < sizeof s)
		return;
	memcpy(&s, RTA_DATA(rta), sizeof s);
	ifc->stats = (struct sk_iface_stats){
		s.rx_bytes, s.rx_packets, s.rx_errors, s.rx_dropped,
		s.tx_bytes, s.tx_packets, s.tx_errors, s.tx_dropped,
	};
	ifc->has_stats = true;
}

static int on_link(const struct nlmsghdr *h, void *ud)
{
	struct collect *c = ud;
	if (h->nlmsg_type != RTM_NEWLINK || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)))
		return 0;
	const struct ifinfomsg *ifi = NLMSG_DATA(h);
	const struct rtattr *tb[IFLA_MAX + 1];
	sk__nl_attrs(IFLA_RTA(ifi), h->nlmsg_len - NLMSG_LENGTH(sizeof *ifi), tb, IFLA_MAX);
	if (grow((void **)&c->ifaces, &c->cap, c->n, sizeof *c->ifaces) < 0)
		return SK_ENOMEM;
	struct sk_iface *ifc = &c->ifaces[c->n++];
	memset(ifc, 0, sizeof *ifc);
	ifc->index = (unsigned)ifi->ifi_index;
	ifc->flags = ifi->ifi_flags;
	ifc->type = ifi->ifi_type;
	if (tb[IFLA_IFNAME])
		snprintf(ifc->name, sizeof ifc->name, "%.*s", (int)RTA_PAYLOAD(tb[IFLA_IFNAME]),
		         (const char *)RTA_DATA(tb[IFLA_IFNAME]));
	if (tb[IFLA_MTU] && RTA_PAYLOAD(tb[IFLA_MTU]) >= 4)
		memcpy(&ifc->mtu, RTA_DATA(tb[IFLA_MTU]), 4);
	if (tb[IFLA_OPERSTATE] && RTA_PAYLOAD(tb[IFLA_OPERSTATE]) >= 1)
		ifc->operstate = *(const unsigned char *)RTA_DATA(tb[IFLA_OPERSTATE]);
	if (tb[IFLA_ADDRESS] && RTA_PAYLOAD(tb[IFLA_ADDRESS]) <= SK_MAC_MAX) {
		ifc->mac_len = RTA_PAYLOAD(tb[IFLA_ADDRESS]);
		memcpy(ifc->mac, RTA_DATA(tb[IFLA_ADDRESS]), ifc->mac_len);
	}
	if (tb[IFLA_STATS64])
		copy_stats(ifc, tb[IFLA_STATS64]);
	return 0;
}

static int on_addr(const struct nlmsghdr *h, void *ud)
{
	struct collect *c = ud;
	if (h->nlmsg_type != RTM_NEWADDR || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifaddrmsg)))
		return 0;
	const struct ifaddrmsg *ifa = NLMSG_DATA(h);
	if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
		return 0;
	const struct rtattr *tb[IFA_MAX + 1];
	sk__nl_attrs(IFA_RTA(ifa), h->nlmsg_len - NLMSG_LENGTH(sizeof *ifa), tb, IFA_MAX);
	struct sk_iface_addr a;
	memset(&a, 0, sizeof a);
	/* IFA_LOCAL is our end; IFA_ADDRESS is the peer's on a point-to-point
	 * link and equal to IFA_LOCAL elsewhere (IPv6 sends only IFA_ADDRESS). */
	const struct rtattr *local = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (!local || !sk__nl_ip(local, &a.ip))
		return 0;
	if (tb[IFA_LOCAL] && tb[IFA_ADDRESS] && sk__nl_ip(tb[IFA_ADDRESS], &a.peer) &&
	    sk_ip_cmp(&a.peer, &a.ip) != 0)
		a.has_peer = true;
	a.prefix = ifa->ifa_prefixlen;
	a.scope = ifa->ifa_scope;
	a.flags = ifa->ifa_flags;
	/* IFA_FLAGS carries the bits past the first eight (mngtmpaddr, noprefixroute). */
	if (tb[IFA_FLAGS] && RTA_PAYLOAD(tb[IFA_FLAGS]) >= 4)
		memcpy(&a.flags, RTA_DATA(tb[IFA_FLAGS]), 4);
	if (tb[IFA_BROADCAST] && sk__nl_ip(tb[IFA_BROADCAST], &a.broadcast))
		a.has_broadcast = true;
	if (tb[IFA_LABEL])
		snprintf(a.label, sizeof a.label, "%.*s", (int)RTA_PAYLOAD(tb[IFA_LABEL]),
		         (const char *)RTA_DATA(tb[IFA_LABEL]));
	a.valid_lft = a.preferred_lft = SK_LIFETIME_FOREVER;
	if (tb[IFA_CACHEINFO] && RTA_PAYLOAD(tb[IFA_CACHEINFO]) >= sizeof(struct ifa_cacheinfo)) {
		struct ifa_cacheinfo ci;
		memcpy(&ci, RTA_DATA(tb[IFA_CACHEINFO]), sizeof ci);
		a.valid_lft = ci.ifa_valid;
		a.preferred_lft = ci.ifa_prefered;
	}
	if (grow((void **)&c->addrs, &c->cap_addrs, c->n_addrs, sizeof *c->addrs) < 0)
		return SK_ENOMEM;
	c->addrs[c->n_addrs].a = a;
	c->addrs[c->n_addrs++].index = ifa->ifa_index;
	return 0;
}

static int dump(struct sk__nl *nl, unsigned type, sk__nl_msg_fn *fn, struct collect *c)
{
	struct {
		struct nlmsghdr h;
		union {
			struct ifinfomsg link;
			struct ifaddrmsg addr;
		} u;
		char attrs[64];
	} req;
	memset(&req, 0, sizeof req);
	req.h.nlmsg_type = (unsigned short)type;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	if (type == RTM_GETLINK) {
		req.h.nlmsg_len = NLMSG_LENGTH(sizeof req.u.link);
	} else {
		req.h.nlmsg_len = NLMSG_LENGTH(sizeof req.u.addr);
	}
	return sk__nl_request(nl, &req.h, fn, c);
}

/* Moves the addresses into one array grouped by interface, in the
 * kernel's order within each. */
static int attach_addrs(struct collect *c, struct sk_iface_list *list)
{
	list->addrs = c->n_addrs ? malloc(c->n_addrs * sizeof *list->addrs) : NULL;
	if (c->n_addrs && !list->addrs)
		return SK_ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < c->n; i++) {
		struct sk_iface *ifc = &c->ifaces[i];
		ifc->addrs = list->addrs + k;
		for (size_t j = 0; j < c->n_addrs; j++)
			if (c->addrs[j].index == ifc->index)
				list->addrs[k++] = c->addrs[j].a;
		ifc->n_addrs = (size_t)(list->addrs + k - ifc->addrs);
	}
	list->n_addrs = k;
	return 0;
}

int sk_ifaces_list(struct sk_iface_list **out)
{
	struct collect c;
	memset(&c, 0, sizeof c);
	struct sk__nl nl;
	struct sk_iface_list *list = NULL;
	int err = sk__nl_open(&nl);
	if (err < 0)
		return err;
	if ((err = dump(&nl, RTM_GETLINK, on_link, &c)) < 0 ||
	    (err = dump(&nl, RTM_GETADDR, on_addr, &c)) < 0)
		goto fail;
	list = calloc(1, sizeof *list);
	if (!list) {
		err = SK_ENOMEM;
		goto fail;
	}
	if ((err = attach_addrs(&c, list)) < 0)
		goto fail;
	list->ifaces = c.ifaces;
	list->n = c.n;
	free(c.addrs);
	sk__nl_close(&nl);
	*out = list;
	return 0;
fail:
	free(list);
	free(c.ifaces);
	free(c.addrs);
	sk__nl_close(&nl);
	return err;
}

void sk_ifaces_free(struct sk_iface_list *list)
{
	if (!list)
		return;
	free(list->ifaces);
	free(list->addrs);
	free(list);
}

const struct sk_iface *sk_ifaces_find(const struct sk_iface_list *list, const char *name)
{
	for (size_t i = 0; i < list->n; i++)
		if (strcmp(list->ifaces[i].name, name) == 0)
			return &list->ifaces[i];
	return NULL;
}

const struct sk_iface *sk_ifaces_find_index(const struct sk_iface_list *list, unsigned index)
{
	for (size_t i = 0; i < list->n; i++)
		if (list->ifaces[i].index == index)
			return &list->ifaces[i];
	return NULL;
}
