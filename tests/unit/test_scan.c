/* Unit tests for scan.c (include/sockit/scan.h): the port list parser and
 * a scan of loopback ports whose states the test knows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <sockit/err.h>
#include <sockit/scan.h>

static void test_scan_parse_ports(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		int result;      /* the count, or the error */
		const char *bad; /* the part *bad points at */
	} cases[] = {
		{ "22", 1, NULL },
		{ "22,80,8000-8100", 103, NULL },
		{ "80,80,1-100", 100, NULL },
		{ "-", 65535, NULL },
		{ "65535", 1, NULL },
		{ "1-65535", 65535, NULL },
		{ "0", SK_EPORT_RANGE, "0" },
		{ "65536", SK_EPORT_RANGE, "65536" },
		{ "22,", SK_EPORT_SYNTAX, "" },
		{ "", SK_EPORT_SYNTAX, "" },
		{ "x", SK_EPORT_SYNTAX, "x" },
		{ "1-", SK_EPORT_SYNTAX, "" },
		{ "-5", SK_EPORT_SYNTAX, "" },
		{ "9-8", SK_ERANGE_ORDER, "9-8" },
		{ "22,ssh", SK_EPORT_SYNTAX, "ssh" },
	};
	unsigned char set[SK_SCAN_PORTSET_BYTES];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct sk_slice bad = { NULL, 0 };
		int n = sk_scan_parse_ports(cases[i].text, strlen(cases[i].text), set, &bad);
		if (n != cases[i].result)
			fail_msg("'%s': got %d, want %d", cases[i].text, n, cases[i].result);
		if (cases[i].bad) {
			assert_int_equal(bad.len, strlen(cases[i].bad));
			assert_memory_equal(bad.p, cases[i].bad, bad.len);
		}
	}
	assert_int_equal(sk_scan_parse_ports("8000-8002,22", 12, set, NULL), 4);
	assert_true(sk_scan_portset_has(set, 22) && sk_scan_portset_has(set, 8001));
	assert_false(sk_scan_portset_has(set, 23) || sk_scan_portset_has(set, 0) ||
	             sk_scan_portset_has(set, 70000));
}

struct scan_run {
	struct sk_loop *loop;
	unsigned char state[65536];
	unsigned n, done;
};

static void on_result(void *ud, const struct sk_scan_result *r)
{
	struct scan_run *run = ud;
	run->state[r->port] = (unsigned char)(r->state + 1);
	run->n++;
}

static void on_done(void *ud)
{
	struct scan_run *run = ud;
	run->done++;
	sk_loop_stop(run->loop);
}

static void test_scan_loopback_open_and_closed(void **state)
{
	(void)state;
	struct sk_ip lo;
	assert_int_equal(sk_ip_parse("127.0.0.1", 9, &lo, NULL), 0);
	struct sk_addr a, bound;
	sk_addr_from_ip(&lo, 0, &a);
	struct sk_sock_opts so;
	sk_sock_opts_init(&so);
	int fds[3];
	unsigned ports[3];
	for (int i = 0; i < 3; i++) {
		fds[i] = sk_tcp_listen(&a, &so);
		assert_true(fds[i] >= 0);
		sk_sock_local_addr(fds[i], &bound);
		sk_addr_to_ip(&bound, NULL, &ports[i]);
	}
	close(fds[2]); /* closed: nobody listens on ports[2] any more */
	static struct scan_run run;
	memset(&run, 0, sizeof run);
	assert_int_equal(sk_loop_new(&run.loop), 0);
	struct sk_scan_opts o;
	sk_scan_opts_init(&o);
	o.max_in_flight = 2; /* fewer than ports: slots are reused */
	o.on_result = on_result;
	o.on_done = on_done;
	o.ud = &run;
	unsigned char set[SK_SCAN_PORTSET_BYTES] = { 0 };
	for (int i = 0; i < 3; i++)
		set[ports[i] / 8] |= (unsigned char)(1u << (ports[i] % 8));
	struct sk_scan *s;
	assert_int_equal(sk_scan_new(run.loop, &o, &a, set, &s), 0);
	sk_scan_start(s);
	assert_int_equal(sk_loop_run(run.loop), 0);
	assert_int_equal(run.done, 1);
	assert_int_equal(run.n, 3);
	assert_int_equal(run.state[ports[0]], SK_SCAN_OPEN + 1);
	assert_int_equal(run.state[ports[1]], SK_SCAN_OPEN + 1);
	assert_int_equal(run.state[ports[2]], SK_SCAN_CLOSED + 1);
	assert_true(sk_scan_peak_in_flight(s) <= 2);
	sk_scan_free(s);
	sk_loop_free(run.loop);
	close(fds[0]);
	close(fds[1]);
	unsigned char empty[SK_SCAN_PORTSET_BYTES] = { 0 };
	assert_int_equal(sk_scan_new(NULL, &o, &a, empty, &s), SK_EINVAL);
}

static void test_scan_names(void **state)
{
	(void)state;
	assert_string_equal(sk_scan_state_name(SK_SCAN_FILTERED), "filtered");
	assert_string_equal(sk_scan_reason_name(SK_SCAN_SELF), "self-connect");
	assert_string_equal(sk_scan_reason_name(SK_SCAN_TIMED_OUT), "timed out");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan_parse_ports),
		cmocka_unit_test(test_scan_loopback_open_and_closed),
		cmocka_unit_test(test_scan_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
