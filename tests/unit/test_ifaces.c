/* Unit tests for src/lib/net (ifaces.h, neigh.h): MAC text, the names of
 * bits and states, netlink attribute indexing, the loopback interface as
 * the kernel reports it, and ARP packets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <sockit/err.h>
#include <sockit/ifaces.h>
#include <sockit/neigh.h>

#include "net/net_internal.h"

static void test_ifaces_mac_text(void **state)
{
	(void)state;
	const unsigned char mac[6] = { 0x02, 0xfc, 0x00, 0xab, 0xcd, 0xef };
	char buf[SK_MAC_STRLEN];
	assert_int_equal(sk_mac_format(mac, 6, buf), 17);
	assert_string_equal(buf, "02:fc:00:ab:cd:ef");
	assert_int_equal(sk_mac_format(mac, 0, buf), 0);
	assert_string_equal(buf, "");
	unsigned char out[SK_MAC_MAX];
	assert_int_equal(sk_mac_parse("2:FC:0:ab:cd:ef", 15, out), 6);
	assert_memory_equal(out, mac, 6);
	static const char *const bad[] = { "", ":", "02:", "02::03", "123:4", "0g", "02-fc" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (sk_mac_parse(bad[i], strlen(bad[i]), out) != SK_EINVAL)
			fail_msg("'%s' parsed", bad[i]);
}

static void test_ifaces_names(void **state)
{
	(void)state;
	assert_string_equal(sk_iface_flag_name(0x1), "UP");
	assert_string_equal(sk_iface_flag_name(0x40), "RUNNING");
	assert_string_equal(sk_iface_flag_name(0x10000), "LOWER_UP");
	assert_null(sk_iface_flag_name(0x80000000u));
	assert_string_equal(sk_iface_addr_flag_name(0x01, SK_IP_V4), "secondary");
	assert_string_equal(sk_iface_addr_flag_name(0x01, SK_IP_V6), "temporary");
	assert_string_equal(sk_iface_addr_flag_name(0x40, SK_IP_V6), "tentative");
	assert_string_equal(sk_iface_addr_flag_name(0x20, SK_IP_V6), "deprecated");
	assert_string_equal(sk_iface_operstate_name(6), "UP");
	assert_string_equal(sk_iface_operstate_name(99), "UNKNOWN");
	assert_string_equal(sk_iface_scope_name(253), "link");
	assert_null(sk_iface_scope_name(7));
	assert_string_equal(sk_neigh_state_name(SK_NUD_STALE), "STALE");
	assert_string_equal(sk_neigh_state_name(0), "NONE");
	assert_true(sk_neigh_is_resolved(SK_NUD_DELAY));
	assert_false(sk_neigh_is_resolved(SK_NUD_INCOMPLETE) || sk_neigh_is_resolved(SK_NUD_FAILED));
}

static void test_ifaces_netlink_attrs(void **state)
{
	(void)state;
	/* A message with three attributes, one of a type past max, then a
	 * truncated one that must be ignored. */
	union {
		struct nlmsghdr h;
		char buf[256];
	} m;
	memset(&m, 0, sizeof m);
	m.h.nlmsg_len = NLMSG_LENGTH(0);
	uint32_t mtu = 1500;
	assert_int_equal(sk__nl_put(&m.h, sizeof m, IFLA_MTU, &mtu, 4), 0);
	assert_int_equal(sk__nl_put(&m.h, sizeof m, IFLA_IFNAME, "eth0", 5), 0);
	assert_int_equal(sk__nl_put(&m.h, sizeof m, 900, "x", 1), 0);
	assert_int_equal(sk__nl_put(&m.h, 40, IFLA_IFNAME, "a-name-too-long-for-40-bytes", 29),
	                 SK_ETOOLARGE);
	const struct rtattr *tb[IFLA_MAX + 1];
	const struct rtattr *first = (const struct rtattr *)NLMSG_DATA(&m.h);
	size_t len = m.h.nlmsg_len - NLMSG_LENGTH(0);
	sk__nl_attrs(first, len + 3, tb, IFLA_MAX); /* 3 stray bytes at the end */
	assert_non_null(tb[IFLA_MTU]);
	assert_int_equal(*(const uint32_t *)RTA_DATA(tb[IFLA_MTU]), 1500);
	assert_string_equal((const char *)RTA_DATA(tb[IFLA_IFNAME]), "eth0");
	assert_null(tb[IFLA_ADDRESS]);
}

static void test_ifaces_loopback(void **state)
{
	(void)state;
	struct sk_iface_list *list;
	assert_int_equal(sk_ifaces_list(&list), 0);
	const struct sk_iface *lo = sk_ifaces_find(list, "lo");
	assert_non_null(lo);
	assert_ptr_equal(sk_ifaces_find_index(list, lo->index), lo);
	assert_true(lo->flags & 0x8); /* LOOPBACK */
	assert_int_equal(lo->type, 772);
	assert_true(lo->has_stats);
	bool has_127 = false;
	for (size_t i = 0; i < lo->n_addrs; i++) {
		char text[SK_IP_STRLEN];
		sk_ip_format(&lo->addrs[i].ip, SK_IP_CANONICAL, text);
		if (strcmp(text, "127.0.0.1") == 0) {
			has_127 = true;
			assert_int_equal(lo->addrs[i].prefix, 8);
			assert_int_equal(lo->addrs[i].scope, 254);
		}
	}
	assert_true(has_127);
	assert_null(sk_ifaces_find(list, "no-such-if"));
	sk_ifaces_free(list);
	sk_ifaces_free(NULL);
	struct sk_ip ip;
	struct sk_route rt;
	assert_int_equal(sk_ip_parse("127.0.0.1", 9, &ip, NULL), 0);
	assert_int_equal(sk_route_get(&ip, 0, &rt), 0);
	assert_true(rt.is_local);
}

static void test_ifaces_arp_packet(void **state)
{
	(void)state;
	unsigned char pkt[SK_ARP_LEN] = {
		0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x02,          /* Ethernet, IPv4, reply */
		0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 10, 0, 0, 2,   /* sender */
		0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 10, 0, 0, 1,   /* target */
	};
	struct sk_ip sender;
	unsigned char mac[6];
	assert_int_equal(sk_arp_parse(pkt, sizeof pkt, &sender, mac), 2);
	char text[SK_IP_STRLEN];
	sk_ip_format(&sender, SK_IP_CANONICAL, text);
	assert_string_equal(text, "10.0.0.2");
	assert_memory_equal(mac, pkt + 8, 6);
	assert_int_equal(sk_arp_parse(pkt, sizeof pkt - 1, &sender, mac), 0);
	pkt[7] = 9; /* no such opcode */
	assert_int_equal(sk_arp_parse(pkt, sizeof pkt, &sender, mac), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ifaces_mac_text),
		cmocka_unit_test(test_ifaces_names),
		cmocka_unit_test(test_ifaces_netlink_attrs),
		cmocka_unit_test(test_ifaces_loopback),
		cmocka_unit_test(test_ifaces_arp_packet),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
