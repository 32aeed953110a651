/* Unit tests for the probe engines' pure parts (include/sockit/ping.h):
 * round-trip statistics as iputils computes them, loss, the ICMP checksum
 * (src/lib/net/icmp.c), error texts; and a tcp ping run against a loopback
 * listener and a closed port. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <sockit/err.h>
#include <sockit/ping.h>

#include "net/net_internal.h"

static void test_ping_rtt_stats_population_mdev(void **state)
{
	(void)state;
	struct sk_rtt_stats s = { 0 };
	assert_true(sk_rtt_stats_avg(&s) == 0.0 && sk_rtt_stats_mdev(&s) == 0.0);
	const double samples[] = { 2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0 };
	for (size_t i = 0; i < 8; i++)
		sk_rtt_stats_add(&s, samples[i]);
	assert_int_equal(s.n, 8);
	assert_true(s.min_ms == 2.0 && s.max_ms == 9.0);
	assert_true(sk_rtt_stats_avg(&s) == 5.0);
	/* The textbook population deviation of this set is exactly 2. */
	assert_true(sk_rtt_stats_mdev(&s) > 1.999999 && sk_rtt_stats_mdev(&s) < 2.000001);
}

static void test_ping_rtt_stats_equal_samples_never_negative(void **state)
{
	(void)state;
	struct sk_rtt_stats s = { 0 };
	for (int i = 0; i < 1000; i++)
		sk_rtt_stats_add(&s, 0.1);
	assert_true(sk_rtt_stats_mdev(&s) >= 0.0 && sk_rtt_stats_mdev(&s) < 1e-6);
}

static void test_ping_loss(void **state)
{
	(void)state;
	struct sk_probe_stats st = { .transmitted = 3, .received = 2 };
	assert_true(sk_probe_stats_loss(&st) > 33.33 && sk_probe_stats_loss(&st) < 33.34);
	st = (struct sk_probe_stats){ 0 };
	assert_true(sk_probe_stats_loss(&st) == 0.0);
	st.transmitted = 4;
	assert_true(sk_probe_stats_loss(&st) == 100.0);
}

static void test_ping_checksum_rfc1071(void **state)
{
	(void)state;
	/* RFC 1071 §3's example: the sum of these words is 0xddf2, so the
	 * checksum is its complement 0x220d. */
	const unsigned char data[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	uint16_t sum = sk__icmp_checksum(data, sizeof data);
	const unsigned char *b = (const unsigned char *)&sum;
	assert_int_equal(b[0], 0x22);
	assert_int_equal(b[1], 0x0d);
	/* A packet with its checksum in place sums to zero. An odd length pads. */
	unsigned char pkt[9] = { 8, 0, 0, 0, 0x12, 0x34, 0, 1, 0xab };
	sum = sk__icmp_checksum(pkt, sizeof pkt);
	memcpy(pkt + 2, &sum, 2);
	assert_int_equal(sk__icmp_checksum(pkt, sizeof pkt), 0);
}

static void test_ping_error_texts(void **state)
{
	(void)state;
	struct sk_ping_result r = { .event = SK_PING_ICMP_ERROR, .icmp_type = 3, .icmp_code = 1 };
	r.from.version = SK_IP_V4;
	assert_string_equal(sk_ping_error_text(&r), "Destination Host Unreachable");
	r.icmp_type = 11;
	r.icmp_code = 0;
	assert_string_equal(sk_ping_error_text(&r), "Time to live exceeded");
	r.from.version = SK_IP_V6;
	r.icmp_type = 1;
	r.icmp_code = 3;
	assert_string_equal(sk_ping_error_text(&r), "Destination unreachable: Address unreachable");
	r = (struct sk_ping_result){ .event = SK_PING_ICMP_ERROR, .err = -EHOSTUNREACH };
	assert_string_equal(sk_ping_error_text(&r), "Destination Host Unreachable");
	r.err = -EMSGSIZE;
	assert_non_null(sk_ping_error_text(&r));
}

struct tcp_run {
	struct sk_loop *loop;
	unsigned replies, refused, done;
};

static void on_tcp_result(void *ud, const struct sk_ping_result *r)
{
	struct tcp_run *run = ud;
	assert_int_equal(r->event, SK_PING_REPLY);
	assert_true(r->rtt_ms >= 0);
	run->replies++;
	run->refused += r->is_refused;
}

static void on_tcp_done(void *ud)
{
	struct tcp_run *run = ud;
	run->done++;
	sk_loop_stop(run->loop);
}

static void tcp_ping_port(unsigned port, unsigned *refused)
{
	struct tcp_run run = { 0 };
	assert_int_equal(sk_loop_new(&run.loop), 0);
	struct sk_ping_opts o;
	sk_ping_opts_init(&o);
	o.count = 3;
	o.interval_us = 10000;
	o.on_result = on_tcp_result;
	o.on_done = on_tcp_done;
	o.ud = &run;
	struct sk_ip lo;
	assert_int_equal(sk_ip_parse("127.0.0.1", 9, &lo, NULL), 0);
	struct sk_addr to;
	sk_addr_from_ip(&lo, port, &to);
	struct sk_tcp_ping *p;
	assert_int_equal(sk_tcp_ping_new(run.loop, &o, &to, &p), 0);
	sk_tcp_ping_start(p);
	assert_int_equal(sk_loop_run(run.loop), 0);
	struct sk_probe_stats st;
	sk_tcp_ping_stats(p, &st);
	assert_int_equal(run.done, 1);
	assert_int_equal(run.replies, 3);
	assert_int_equal(st.transmitted, 3);
	assert_int_equal(st.received, 3);
	assert_int_equal(st.rtt.n, 3);
	sk_tcp_ping_free(p);
	sk_loop_free(run.loop);
	*refused = run.refused;
}

static void test_ping_tcp_open_and_closed_ports(void **state)
{
	(void)state;
	struct sk_ip lo;
	assert_int_equal(sk_ip_parse("127.0.0.1", 9, &lo, NULL), 0);
	struct sk_addr a, bound;
	sk_addr_from_ip(&lo, 0, &a);
	struct sk_sock_opts so;
	sk_sock_opts_init(&so);
	int fd = sk_tcp_listen(&a, &so);
	assert_true(fd >= 0);
	assert_int_equal(sk_sock_local_addr(fd, &bound), 0);
	unsigned port, refused;
	sk_addr_to_ip(&bound, NULL, &port);
	tcp_ping_port(port, &refused);
	assert_int_equal(refused, 0);
	close(fd); /* now nobody listens there */
	tcp_ping_port(port, &refused);
	assert_int_equal(refused, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ping_rtt_stats_population_mdev),
		cmocka_unit_test(test_ping_rtt_stats_equal_samples_never_negative),
		cmocka_unit_test(test_ping_loss),
		cmocka_unit_test(test_ping_checksum_rfc1071),
		cmocka_unit_test(test_ping_error_texts),
		cmocka_unit_test(test_ping_tcp_open_and_closed_ports),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
