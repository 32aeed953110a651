/* The neighbour table (RTM_GETNEIGH) and one route (RTM_GETROUTE). */
#include "net/net_internal.h"

#include <sockit/err.h>
#include <sockit/neigh.h>

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/neighbour.h>

struct neigh_collect {
	struct sk_neigh *items;
	size_t n, cap;
	/* sk_neigh_find: one address wanted */
	const struct sk_ip *want;
	unsigned want_ifindex;
	bool found;
	struct sk_neigh one;
};

static bool parse_neigh(const struct nlmsghdr *h, struct sk_neigh *out)
{
	if (h->nlmsg_type != RTM_NEWNEIGH || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ndmsg)))
		return false;
	const struct ndmsg *nd = NLMSG_DATA(h);
	if (nd->ndm_family != AF_INET && nd->ndm_family != AF_INET6)
		return false;
	const struct rtattr *tb[NDA_MAX + 1];
	sk__nl_attrs((const struct rtattr *)((const char *)nd + NLMSG_ALIGN(sizeof *nd)),
	             h->nlmsg_len - NLMSG_LENGTH(sizeof *nd), tb, NDA_MAX);
	memset(out, 0, sizeof *out);
	if (!tb[NDA_DST] || !sk__nl_ip(tb[NDA_DST], &out->ip))
		return false;
	out->ifindex = (unsigned)nd->ndm_ifindex;
	out->state = nd->ndm_state;
	out->is_router = (nd->ndm_flags & NTF_ROUTER) != 0;
	if (tb[NDA_LLADDR] && RTA_PAYLOAD(tb[NDA_LLADDR]) <= SK_MAC_MAX) {
		out->mac_len = RTA_PAYLOAD(tb[NDA_LLADDR]);
		memcpy(out->mac, RTA_DATA(tb[NDA_LLADDR]), out->mac_len);
	}
	return true;
}

static int on_neigh(const struct nlmsghdr *h, void *ud)
{
	struct neigh_collect *c = ud;
	struct sk_neigh n;
	if (!parse_neigh(h, &n))
		return 0;
	if (c->want) {
		if (sk_ip_cmp(&n.ip, c->want) == 0 && (!c->want_ifindex || c->want_ifindex == n.ifindex)) {
			/* Of several interfaces, prefer an entry that knows the MAC. */
			if (!c->found || (!sk_neigh_is_resolved(c->one.state) && sk_neigh_is_resolved(n.state)))
				c->one = n;
			c->found = true;
		}
		return 0;
	}
	/* iproute2's default filter: no NOARP entries, none without a state. */
	if (n.state == 0 || n.state == SK_NUD_NOARP)
		return 0;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 32;
		struct sk_neigh *p = realloc(c->items, cap * sizeof *p);
		if (!p)
			return SK_ENOMEM;
		c->items = p;
		c->cap = cap;
	}
	c->items[c->n++] = n;
	return 0;
}

static int dump_neigh(int family, struct neigh_collect *c)
{
	struct sk__nl nl;
	int err = sk__nl_open(&nl);
	if (err < 0)
		return err;
	struct {
		struct nlmsghdr h;
		struct ndmsg nd;
	} req;
	memset(&req, 0, sizeof req);
	req.h.nlmsg_len = NLMSG_LENGTH(sizeof req.nd);
	req.h.nlmsg_type = RTM_GETNEIGH;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nd.ndm_family = (unsigned char)family;
	err = sk__nl_request(&nl, &req.h, on_neigh, c);
	sk__nl_close(&nl);
	return err;
}

int sk_neigh_list(int family, struct sk_neigh **out, size_t *n_out)
{
	struct neigh_collect c;
	memset(&c, 0, sizeof c);
	int err = dump_neigh(family, &c);
	if (err < 0) {
		free(c.items);
		return err;
	}
	*out = c.items;
	*n_out = c.n;
	return 0;
}

int sk_neigh_find(const struct sk_ip *ip, unsigned ifindex, struct sk_neigh *out)
{
	struct neigh_collect c;
	memset(&c, 0, sizeof c);
	c.want = ip;
	c.want_ifindex = ifindex;
	int err = dump_neigh(ip->version == SK_IP_V4 ? AF_INET : AF_INET6, &c);
	if (err < 0)
		return err;
	if (!c.found)
		return 0;
	*out = c.one;
	return 1;
}

bool sk_neigh_is_resolved(unsigned state)
{
	return (state & (SK_NUD_REACHABLE | SK_NUD_STALE | SK_NUD_DELAY | SK_NUD_PROBE |
	                 SK_NUD_PERMANENT | SK_NUD_NOARP)) != 0;
}

const char *sk_neigh_state_name(unsigned state)
{
	static const char *const names[] = {
		"INCOMPLETE", "REACHABLE", "STALE", "DELAY", "PROBE", "FAILED", "NOARP", "PERMANENT",
	};
	for (unsigned i = 0; i < 8; i++)
		if (state & (1u << i))
			return names[i];
	return "NONE";
}

struct route_reply {
	struct sk_route r;
	bool got;
};

static int on_route(const struct nlmsghdr *h, void *ud)
{
	struct route_reply *rr = ud;
	if (h->nlmsg_type != RTM_NEWROUTE || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct rtmsg)))
		return 0;
	const struct rtmsg *rt = NLMSG_DATA(h);
	const struct rtattr *tb[RTA_MAX + 1];
	sk__nl_attrs(RTM_RTA(rt), h->nlmsg_len - NLMSG_LENGTH(sizeof *rt), tb, RTA_MAX);
	memset(&rr->r, 0, sizeof rr->r);
	if (tb[RTA_OIF] && RTA_PAYLOAD(tb[RTA_OIF]) >= 4)
		memcpy(&rr->r.ifindex, RTA_DATA(tb[RTA_OIF]), 4);
	rr->r.has_src = tb[RTA_PREFSRC] && sk__nl_ip(tb[RTA_PREFSRC], &rr->r.src);
	rr->r.has_gateway = tb[RTA_GATEWAY] && sk__nl_ip(tb[RTA_GATEWAY], &rr->r.gateway);
	rr->r.is_local = rt->rtm_type == RTN_LOCAL;
	rr->got = true;
	return 0;
}

int sk_route_get(const struct sk_ip *dst, unsigned ifindex, struct sk_route *out)
{
	struct {
		struct nlmsghdr h;
		struct rtmsg rt;
		char attrs[64];
	} req;
	memset(&req, 0, sizeof req);
	req.h.nlmsg_len = NLMSG_LENGTH(sizeof req.rt);
	req.h.nlmsg_type = RTM_GETROUTE;
	req.h.nlmsg_flags = NLM_F_REQUEST;
	req.rt.rtm_family = dst->version == SK_IP_V4 ? AF_INET : AF_INET6;
	req.rt.rtm_dst_len = (unsigned char)sk_ip_bits(dst->version);
	unsigned char bytes[16];
	sk_ip_to_bytes(dst, bytes);
	int err = sk__nl_put(&req.h, sizeof req, RTA_DST, bytes, dst->version == SK_IP_V4 ? 4 : 16);
	if (err == 0 && ifindex) {
		uint32_t oif = ifindex;
		err = sk__nl_put(&req.h, sizeof req, RTA_OIF, &oif, sizeof oif);
	}
	if (err < 0)
		return err;
	struct sk__nl nl;
	if ((err = sk__nl_open(&nl)) < 0)
		return err;
	struct route_reply rr = { .got = false };
	err = sk__nl_request(&nl, &req.h, on_route, &rr);
	sk__nl_close(&nl);
	if (err < 0)
		return err;
	if (!rr.got)
		return -ENETUNREACH;
	*out = rr.r;
	return 0;
}
