/* Unit tests for err.c: every code has a name and a text, and system errors
 * map to errno's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <sockit/err.h>

static const int all_codes[] = {
	SK_EADDR_EMPTY, SK_EADDR_CHAR, SK_EADDR_OCTETS, SK_EADDR_OCTET_EMPTY,
	SK_EADDR_OCTET_RANGE, SK_EADDR_LEADING_ZERO, SK_EADDR_HEXTET_LEN, SK_EADDR_GROUPS,
	SK_EADDR_DOUBLE_COLON, SK_EADDR_LONE_COLON, SK_EADDR_ZONE, SK_EADDR_FAMILY,
	SK_EPREFIX_SYNTAX, SK_EPREFIX_RANGE, SK_EPREFIX_SLASH, SK_EMASK_NONCONTIGUOUS,
	SK_ERANGE_ORDER, SK_EPREFIX_SHORTER, SK_EPORT_SYNTAX, SK_EPORT_RANGE, SK_ENONAME,
	SK_ETLS_CERT_FILE, SK_ETLS_KEY_FILE, SK_ETLS_KEY_MISMATCH, SK_ETLS_PIN_SYNTAX,
	SK_ETLS_ALPN_SYNTAX, SK_ETLS_HANDSHAKE, SK_ETLS_TIMEOUT, SK_ETLS_NOT_TLS, SK_ETLS_VERSION,
	SK_ETLS_ALERT, SK_ETLS_PROTOCOL, SK_ETLS_CERT_EXPIRED, SK_ETLS_CERT_NOT_YET_VALID,
	SK_ETLS_CERT_SELF_SIGNED, SK_ETLS_CERT_UNKNOWN_ISSUER, SK_ETLS_CERT_NAME, SK_ETLS_CERT_PIN,
	SK_ETLS_CERT_INVALID, SK_ETLS_NO_CERT,
};

static void test_err_every_code_has_name_and_text(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof all_codes / sizeof all_codes[0]; i++) {
		int code = all_codes[i];
		assert_true(code <= -1000);
		assert_string_not_equal(sk_strerror(code), "unknown error");
		assert_true(strncmp(sk_errname(code), "SK_E", 4) == 0);
		/* Messages read as the CLI prints them: no trailing period. */
		const char *text = sk_strerror(code);
		assert_true(text[strlen(text) - 1] != '.');
		for (size_t j = 0; j < i; j++)
			assert_int_not_equal(all_codes[j], code);
	}
}

static void test_err_system_codes_are_negative_errno(void **state)
{
	(void)state;
	assert_int_equal(SK_ENOMEM, -ENOMEM);
	assert_string_equal(sk_errname(-ECONNREFUSED), "ECONNREFUSED");
	assert_string_equal(sk_strerror(-ECONNREFUSED), strerror(ECONNREFUSED));
	assert_string_equal(sk_errname(SK_OK), "SK_OK");
	assert_string_equal(sk_strerror(SK_OK), "success");
}

static void test_err_unknown_codes_never_null(void **state)
{
	(void)state;
	assert_string_equal(sk_strerror(-99999), "unknown error");
	assert_string_equal(sk_errname(-99999), "SK_EUNKNOWN");
	assert_string_equal(sk_errname(12345), "SK_EUNKNOWN");
	assert_string_equal(sk_strerror(-999), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_err_every_code_has_name_and_text),
		cmocka_unit_test(test_err_system_codes_are_negative_errno),
		cmocka_unit_test(test_err_unknown_codes_never_null),
	};
	return cmocka_run_group_tests_name("err", tests, NULL, NULL);
}
