/* Unit tests for port.c: parsing, IANA ranges, and the services database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <sockit/err.h>
#include <sockit/port.h>

static void test_port_parse(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		int err;
		unsigned port;
	} cases[] = {
		{ "0", 0, 0 },          { "80", 0, 80 },       { "65535", 0, 65535 },
		{ "08080", 0, 8080 },   { "65536", SK_EPORT_RANGE, 0 },
		{ "99999999999999999999", SK_EPORT_RANGE, 0 },
		{ "", SK_EPORT_SYNTAX, 0 }, { "-1", SK_EPORT_SYNTAX, 0 }, { "+1", SK_EPORT_SYNTAX, 0 },
		{ "12a", SK_EPORT_SYNTAX, 0 }, { " 1", SK_EPORT_SYNTAX, 0 }, { "http", SK_EPORT_SYNTAX, 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		unsigned port = 4242;
		int err = sk_port_parse(cases[i].text, strlen(cases[i].text), &port);
		if (err != cases[i].err)
			fail_msg("'%s': got %s, want %s", cases[i].text, sk_errname(err),
			         sk_errname(cases[i].err));
		assert_int_equal(port, cases[i].err ? 4242 : cases[i].port);
	}
}

static void test_port_ranges_at_their_borders(void **state)
{
	(void)state;
	assert_int_equal(sk_port_range_of(0), SK_PORT_WELL_KNOWN);
	assert_int_equal(sk_port_range_of(1023), SK_PORT_WELL_KNOWN);
	assert_int_equal(sk_port_range_of(1024), SK_PORT_REGISTERED);
	assert_int_equal(sk_port_range_of(49151), SK_PORT_REGISTERED);
	assert_int_equal(sk_port_range_of(49152), SK_PORT_DYNAMIC);
	assert_int_equal(sk_port_range_of(65535), SK_PORT_DYNAMIC);
	assert_string_equal(sk_port_range_name(SK_PORT_WELL_KNOWN), "well-known");
	assert_string_equal(sk_port_range_name(SK_PORT_REGISTERED), "registered");
	assert_string_equal(sk_port_range_name(SK_PORT_DYNAMIC), "dynamic");
	unsigned lo, hi;
	sk_port_range_bounds(SK_PORT_REGISTERED, &lo, &hi);
	assert_int_equal(lo, 1024);
	assert_int_equal(hi, 49151);
}

/* netbase's /etc/services is a dependency (scripts/deps.sh). */
static void test_port_service_names(void **state)
{
	(void)state;
	char name[SK_PORT_NAME_MAX];
	assert_int_equal(sk_port_service_name(22, "tcp", name, sizeof name), 3);
	assert_string_equal(name, "ssh");
	assert_true(sk_port_service_name(53, "udp", name, sizeof name) > 0);
	assert_string_equal(name, "domain");
	assert_int_equal(sk_port_service_name(1, "udp", name, sizeof name), SK_ENONAME);
	assert_int_equal(sk_port_service_name(70000, "tcp", name, sizeof name), SK_ENONAME);
	/* A buffer too small is "not found", never a truncated name. */
	assert_int_equal(sk_port_service_name(22, "tcp", name, 3), SK_ENONAME);

	unsigned port = 0;
	assert_int_equal(sk_port_lookup("http", "tcp", &port), 0);
	assert_int_equal(port, 80);
	assert_int_equal(sk_port_lookup("www", "tcp", &port), 0); /* an alias */
	assert_int_equal(port, 80);
	port = 4242;
	assert_int_equal(sk_port_lookup("no-such-service-x", "tcp", &port), SK_ENONAME);
	assert_int_equal(port, 4242);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_port_parse),
		cmocka_unit_test(test_port_ranges_at_their_borders),
		cmocka_unit_test(test_port_service_names),
	};
	return cmocka_run_group_tests_name("port", tests, NULL, NULL);
}
