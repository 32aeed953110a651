/* Unit tests for acl.c (include/sockit/acl.h): rule parsing, deny wins,
 * allow lists, and IPv4-mapped rules and peers compared as IPv4 (a mapped
 * deny rule used to be accepted and never match). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <sockit/acl.h>
#include <sockit/err.h>
#include <sockit/ip.h>

#include "testutil.h"

/* A rule list: "+CIDR" allows, "-CIDR" denies. */
static void acl_of(struct sk_acl *acl, const char *const *rules)
{
	sk_acl_init(acl);
	for (; *rules; rules++) {
		struct sk_slice bad = { 0 };
		const char *cidr = *rules + 1;
		int err = sk_acl_add(acl, cidr, strlen(cidr), **rules == '+', &bad);
		if (err)
			fail_msg("sk_acl_add(%s): %s", *rules, sk_errname(err));
	}
}

#define MAX_RULES 4
#define MAX_PEERS 6

struct acl_case {
	const char *name;
	const char *rules[MAX_RULES + 1];
	const char *permitted[MAX_PEERS + 1];
	const char *refused[MAX_PEERS + 1];
};

static const struct acl_case cases[] = {
	{ "no rules permit all", { NULL },
	  { "127.0.0.1", "::1", "::ffff:10.0.0.1", NULL }, { NULL } },
	{ "deny one network", { "-10.0.0.0/8", NULL },
	  { "11.0.0.1", "::1", NULL }, { "10.0.0.1", "10.255.255.255", NULL } },
	{ "allow list", { "+192.168.1.0/24", "+::1", NULL },
	  { "192.168.1.7", "::1", NULL }, { "192.168.2.1", "127.0.0.1", "::2", NULL } },
	{ "deny wins whatever the order", { "-192.168.1.7", "+192.168.1.0/24", NULL },
	  { "192.168.1.8", NULL }, { "192.168.1.7", "10.0.0.1", NULL } },
	{ "deny wins, allow first", { "+192.168.1.0/24", "-192.168.1.7", NULL },
	  { "192.168.1.8", NULL }, { "192.168.1.7", NULL } },
	{ "host bits of a rule are cleared", { "-10.1.2.3/16", NULL },
	  { "10.2.0.1", NULL }, { "10.1.200.200", NULL } },
	/* Issue 8 §4: mapped rules are IPv4 rules. */
	{ "mapped host deny", { "-::ffff:127.0.0.1", NULL },
	  { "127.0.0.2", "::1", NULL }, { "127.0.0.1", "::ffff:127.0.0.1", NULL } },
	{ "mapped /96 is every IPv4 address", { "+::ffff:0:0/96", NULL },
	  { "127.0.0.1", "8.8.8.8", "::ffff:1.2.3.4", NULL }, { "::1", "2001:db8::1", NULL } },
	{ "mapped /96 deny", { "-::ffff:0:0/96", NULL },
	  { "::1", NULL }, { "127.0.0.1", "0.0.0.0", "255.255.255.255", NULL } },
	{ "mapped /104 is /8", { "-::ffff:10.0.0.0/104", NULL },
	  { "11.0.0.1", "::1", NULL }, { "10.9.9.9", "::ffff:10.1.1.1", NULL } },
	{ "mapped with host bits", { "-::ffff:10.1.2.3/112", NULL },
	  { "10.2.0.0", NULL }, { "10.1.99.99", NULL } },
	{ "a shorter IPv6 prefix stays IPv6", { "-::/80", NULL },
	  { "127.0.0.1", NULL }, { "::1", "::2:3", NULL } },
	{ "mapped peer against plain IPv4 rule", { "+127.0.0.0/8", NULL },
	  { "::ffff:127.0.0.9", "127.1.1.1", NULL }, { "::ffff:128.0.0.1", "::1", NULL } },
};

static void test_acl_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct acl_case *c = &cases[i];
		struct sk_acl acl;
		acl_of(&acl, c->rules);
		for (const char *const *p = c->permitted; *p; p++) {
			struct sk_ip ip = ip_of(*p);
			if (!sk_acl_permits(&acl, &ip))
				fail_msg("%s: %s refused", c->name, *p);
		}
		for (const char *const *p = c->refused; *p; p++) {
			struct sk_ip ip = ip_of(*p);
			if (sk_acl_permits(&acl, &ip))
				fail_msg("%s: %s permitted", c->name, *p);
		}
		sk_acl_fini(&acl);
	}
}

static void test_acl_mapped_rule_is_stored_as_ipv4(void **state)
{
	(void)state;
	struct sk_acl acl;
	sk_acl_init(&acl);
	struct sk_slice bad;
	assert_int_equal(sk_acl_add(&acl, "::ffff:10.0.0.0/104", 19, false, &bad), 0);
	assert_int_equal(acl.n_rules, 1);
	assert_int_equal(acl.rules[0].net.version, SK_IP_V4);
	assert_int_equal(acl.rules[0].prefix, 8);
	struct sk_ip want = ip_of("10.0.0.0");
	assert_int_equal(sk_ip_cmp(&acl.rules[0].net, &want), 0);
	sk_acl_fini(&acl);
}

static void test_acl_bad_rules(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		int err;
	} bad_rules[] = {
		{ "300.1.1.1", SK_EADDR_OCTET_RANGE },
		{ "10.0.0.0/33", SK_EPREFIX_RANGE },
		{ "::ffff:1.2.3.4/129", SK_EPREFIX_RANGE },
		{ "", SK_EADDR_EMPTY },
		{ "10.0.0.0/8/8", SK_EPREFIX_SLASH },
	};
	struct sk_acl acl;
	sk_acl_init(&acl);
	for (size_t i = 0; i < sizeof bad_rules / sizeof bad_rules[0]; i++) {
		struct sk_slice bad = { 0 };
		int err = sk_acl_add(&acl, bad_rules[i].text, strlen(bad_rules[i].text), false, &bad);
		if (err != bad_rules[i].err)
			fail_msg("%s: %s, want %s", bad_rules[i].text, sk_errname(err),
			         sk_errname(bad_rules[i].err));
	}
	assert_int_equal(acl.n_rules, 0);
	sk_acl_fini(&acl);
	sk_acl_fini(&acl); /* twice is fine */
}

/* Many rules: the list grows past its first allocation. */
static void test_acl_many_rules(void **state)
{
	(void)state;
	struct sk_acl acl;
	sk_acl_init(&acl);
	char text[32];
	for (int i = 0; i < 100; i++) {
		int n = snprintf(text, sizeof text, "10.0.%d.0/24", i);
		struct sk_slice bad;
		assert_int_equal(sk_acl_add(&acl, text, (size_t)n, i % 2 == 0, &bad), 0);
	}
	assert_int_equal(acl.n_rules, 100);
	assert_int_equal(acl.n_allow, 50);
	struct sk_ip even = ip_of("10.0.42.1"), odd = ip_of("10.0.43.1"), none = ip_of("10.1.0.1");
	assert_true(sk_acl_permits(&acl, &even));
	assert_false(sk_acl_permits(&acl, &odd));
	assert_false(sk_acl_permits(&acl, &none));
	sk_acl_fini(&acl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_acl_table),
		cmocka_unit_test(test_acl_mapped_rule_is_stored_as_ipv4),
		cmocka_unit_test(test_acl_bad_rules),
		cmocka_unit_test(test_acl_many_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
