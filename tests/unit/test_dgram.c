/* Unit tests for dgram.c (include/sockit/dgram.h): modes, the notes' reply,
 * the table of answering services, and a server on loopback that answers
 * clients but never its own port, a service's port, or with more bytes than
 * it was sent (issue 8 §4). Sources are real sockets bound to the port they
 * test (127.0.0.2:PORT beside a server on 127.0.0.1:PORT); the forged ones
 * (port 0, multicast) need raw sockets: tests/integration/test_udp.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include <sockit/dgram.h>
#include <sockit/err.h>
#include <sockit/loop.h>
#include <sockit/sock.h>

#include "testutil.h"

/* --- tables and formats -------------------------------------------------- */

static void test_dgram_mode_names_round_trip(void **state)
{
	(void)state;
	enum sk_dgram_mode modes[] = { SK_DGRAM_DELIVER, SK_DGRAM_ECHO, SK_DGRAM_REPLY,
		                       SK_DGRAM_DISCARD };
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		enum sk_dgram_mode m = SK_DGRAM_DISCARD;
		assert_int_equal(sk_dgram_mode_parse(sk_dgram_mode_name(modes[i]), &m), 0);
		assert_int_equal(m, modes[i]);
	}
	enum sk_dgram_mode m = SK_DGRAM_ECHO;
	assert_int_equal(sk_dgram_mode_parse("deliver", &m), SK_EINVAL);
	assert_int_equal(m, SK_DGRAM_ECHO);
}

static void test_dgram_reply_format_is_the_notes(void **state)
{
	(void)state;
	struct sk_addr peer = addr_of("127.0.0.1", 40022);
	char buf[128];
	static const char want[] = "Received msg: hi from ('127.0.0.1', 40022)";
	size_t n = sk_reply_format("hi", 2, &peer, buf, sizeof buf);
	assert_int_equal(n, sizeof want - 1);
	assert_memory_equal(buf, want, n);
	/* Too small: the length it needs, and nothing written. */
	memset(buf, 'z', sizeof buf);
	assert_int_equal(sk_reply_format("hi", 2, &peer, buf, 10), sizeof want - 1);
	assert_int_equal(buf[0], 'z');
}

static void test_dgram_service_ports_table(void **state)
{
	(void)state;
	static const struct {
		unsigned port;
		const char *name;
	} known[] = {
		{ 7, "echo" }, { 13, "daytime" }, { 17, "qotd" }, { 19, "chargen" }, { 37, "time" },
		{ 53, "domain" }, { 123, "ntp" }, { 161, "snmp" }, { 389, "ldap" },
		{ 1900, "ssdp" }, { 11211, "memcache" },
	};
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
		const struct sk_dgram_service *svc = sk_dgram_service_port(known[i].port);
		assert_non_null(svc);
		assert_int_equal(svc->port, known[i].port);
		assert_string_equal(svc->name, known[i].name);
		assert_true(strlen(svc->why) > 10);
	}
	/* discard (9) answers nothing; 80 is TCP; 0 and 65535 are no service. */
	unsigned not_services[] = { 0, 9, 80, 8000, 7852, 65535 };
	for (size_t i = 0; i < sizeof not_services / sizeof not_services[0]; i++)
		assert_null(sk_dgram_service_port(not_services[i]));
}

static void test_dgram_drop_reasons_are_distinct_words(void **state)
{
	(void)state;
	for (int a = 0; a < SK_DGRAM_N_DROPS; a++) {
		const char *ra = sk_dgram_drop_reason((enum sk_dgram_drop)a);
		assert_non_null(ra);
		assert_true(strlen(ra) > 10);
		for (int b = 0; b < a; b++)
			assert_string_not_equal(ra, sk_dgram_drop_reason((enum sk_dgram_drop)b));
	}
	assert_string_equal(sk_dgram_drop_reason(SK_DGRAM_N_DROPS), "unknown reason");
}

/* --- a server on loopback ----------------------------------------------- */

struct fixture {
	struct sk_loop *loop;
	struct sk_dgram_server *server;
	unsigned port;
	int n_datagrams, n_drops;
	enum sk_dgram_drop last_drop;
	size_t last_drop_len;
	int clients[4];
	int n_clients;
};

static void on_datagram(void *ud, const char *data, size_t len, const struct sk_addr *from,
                        bool truncated)
{
	(void)data;
	(void)len;
	(void)from;
	(void)truncated;
	struct fixture *f = ud;
	f->n_datagrams++;
}

static void on_drop(void *ud, enum sk_dgram_drop why, const struct sk_addr *from, size_t len)
{
	(void)from;
	struct fixture *f = ud;
	f->n_drops++;
	f->last_drop = why;
	f->last_drop_len = len;
}

/* A server on 127.0.0.1, port chosen by the kernel, with opts' mode. */
static void start(struct fixture *f, struct sk_dgram_opts *o)
{
	memset(f, 0, sizeof *f);
	assert_int_equal(sk_loop_new(&f->loop), 0);
	struct sk_addr a = addr_of("127.0.0.1", 0);
	struct sk_sock_opts so;
	sk_sock_opts_init(&so);
	int fd = sk_udp_open(&a, 0, &so);
	assert_true(fd >= 0);
	struct sk_addr local;
	assert_int_equal(sk_sock_local_addr(fd, &local), 0);
	assert_int_equal(sk_addr_to_ip(&local, NULL, &f->port), 0);
	o->on_datagram = on_datagram;
	o->on_drop = on_drop;
	o->ud = f;
	assert_int_equal(sk_dgram_server_new(f->loop, fd, o, &f->server), 0);
}

static void stop(struct fixture *f)
{
	for (int i = 0; i < f->n_clients; i++)
		close(f->clients[i]);
	sk_dgram_server_free(f->server);
	sk_loop_free(f->loop);
}

/* A client socket bound to ip:port (port 0: any); -1 if that port is taken
 * on this machine (a real memcached, say). */
static int client(struct fixture *f, const char *ip, unsigned port)
{
	struct sk_addr a = addr_of(ip, port);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	if (bind(fd, &a.u.sa, a.len) < 0) {
		assert_int_equal(errno, EADDRINUSE);
		close(fd);
		return -1;
	}
	f->clients[f->n_clients++] = fd;
	return fd;
}

/* Sends data to the server, lets the loop read it, and returns what came
 * back to the client (-1: nothing within 200 ms). */
static ssize_t ask(struct fixture *f, int fd, const char *data, size_t len, char *reply,
                   size_t cap)
{
	int before = f->n_datagrams;
	struct sk_addr to = addr_of("127.0.0.1", f->port);
	assert_int_equal(sendto(fd, data, len, 0, &to.u.sa, to.len), (ssize_t)len);
	for (int i = 0; i < 50 && f->n_datagrams == before; i++)
		assert_true(sk_loop_run_once(f->loop, 100) >= 0);
	assert_int_equal(f->n_datagrams, before + 1);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, 200) != 1)
		return -1;
	return recv(fd, reply, cap, 0);
}

static void test_dgram_echo_answers_a_client(void **state)
{
	(void)state;
	struct sk_dgram_opts o;
	sk_dgram_opts_init(&o);
	o.mode = SK_DGRAM_ECHO;
	struct fixture f;
	start(&f, &o);
	int c = client(&f, "127.0.0.1", 0);
	char reply[64];
	assert_int_equal(ask(&f, c, "ping", 4, reply, sizeof reply), 4);
	assert_memory_equal(reply, "ping", 4);
	struct sk_dgram_stats st;
	sk_dgram_server_stats(f.server, &st);
	assert_int_equal(st.n_received, 1);
	assert_int_equal(st.n_answered, 1);
	for (int why = 0; why < SK_DGRAM_N_DROPS; why++)
		assert_int_equal(st.n_dropped[why], 0);
	stop(&f);
}

/* A datagram from our own port (here from 127.0.0.2, the server being on
 * 127.0.0.1) is us or a twin: answering it would start a loop. */
static void test_dgram_own_port_is_never_answered(void **state)
{
	(void)state;
	enum sk_dgram_mode modes[] = { SK_DGRAM_ECHO, SK_DGRAM_REPLY };
	for (size_t m = 0; m < 2; m++) {
		struct sk_dgram_opts o;
		sk_dgram_opts_init(&o);
		o.mode = modes[m];
		o.answer_service_ports = true; /* not a service port: no difference */
		struct fixture f;
		start(&f, &o);
		int twin = client(&f, "127.0.0.2", f.port);
		assert_true(twin >= 0);
		char reply[128];
		assert_int_equal(ask(&f, twin, "loop?", 5, reply, sizeof reply), -1);
		assert_int_equal(f.n_drops, 1);
		assert_int_equal(f.last_drop, SK_DGRAM_DROP_SELF);
		assert_int_equal(f.last_drop_len, 5);
		struct sk_dgram_stats st;
		sk_dgram_server_stats(f.server, &st);
		assert_int_equal(st.n_dropped[SK_DGRAM_DROP_SELF], 1);
		assert_int_equal(st.n_answered, 0);
		/* Others are still answered. */
		int c = client(&f, "127.0.0.2", 0);
		assert_true(ask(&f, c, "hello", 5, reply, sizeof reply) > 0);
		stop(&f);
	}
}

static void test_dgram_service_port_is_answered_only_when_allowed(void **state)
{
	(void)state;
	for (int allowed = 0; allowed < 2; allowed++) {
		struct sk_dgram_opts o;
		sk_dgram_opts_init(&o);
		o.mode = SK_DGRAM_ECHO;
		o.answer_service_ports = allowed;
		struct fixture f;
		start(&f, &o);
		/* memcached's port: no privilege needed to bind it. */
		int svc = client(&f, "127.0.0.3", 11211);
		if (svc < 0) {
			stop(&f);
			skip();
		}
		char reply[64];
		ssize_t n = ask(&f, svc, "stats", 5, reply, sizeof reply);
		if (allowed) {
			assert_int_equal(n, 5);
			assert_int_equal(f.n_drops, 0);
		} else {
			assert_int_equal(n, -1);
			assert_int_equal(f.n_drops, 1);
			assert_int_equal(f.last_drop, SK_DGRAM_DROP_SERVICE);
		}
		stop(&f);
	}
}

static void test_dgram_reply_text_is_no_longer_than_the_datagram(void **state)
{
	(void)state;
	static const char text[] = "0123456789";
	for (int allow = 0; allow < 2; allow++) {
		struct sk_dgram_opts o;
		sk_dgram_opts_init(&o);
		o.mode = SK_DGRAM_REPLY;
		o.reply_text = text;
		o.reply_text_len = sizeof text - 1;
		o.allow_amplify = allow;
		struct fixture f;
		start(&f, &o);
		int c = client(&f, "127.0.0.1", 0);
		char reply[64];
		/* Shorter (0 and 9 bytes): answered only with allow_amplify. */
		assert_int_equal(ask(&f, c, "", 0, reply, sizeof reply), allow ? 10 : -1);
		assert_int_equal(ask(&f, c, "123456789", 9, reply, sizeof reply), allow ? 10 : -1);
		/* As long or longer: always. */
		assert_int_equal(ask(&f, c, "1234567890", 10, reply, sizeof reply), 10);
		assert_memory_equal(reply, text, 10);
		assert_int_equal(ask(&f, c, "1234567890+", 11, reply, sizeof reply), 10);
		struct sk_dgram_stats st;
		sk_dgram_server_stats(f.server, &st);
		assert_int_equal(st.n_dropped[SK_DGRAM_DROP_AMPLIFY], allow ? 0 : 2);
		assert_int_equal(st.n_answered, allow ? 4 : 2);
		if (!allow)
			assert_int_equal(f.last_drop_len, 9);
		stop(&f);
	}
}

/* Print and discard answer nothing: nothing to refuse, nothing counted. */
static void test_dgram_silent_modes_drop_nothing(void **state)
{
	(void)state;
	enum sk_dgram_mode modes[] = { SK_DGRAM_DELIVER, SK_DGRAM_DISCARD };
	for (size_t m = 0; m < 2; m++) {
		struct sk_dgram_opts o;
		sk_dgram_opts_init(&o);
		o.mode = modes[m];
		struct fixture f;
		start(&f, &o);
		int twin = client(&f, "127.0.0.2", f.port);
		char reply[16];
		assert_int_equal(ask(&f, twin, "x", 1, reply, sizeof reply), -1);
		assert_int_equal(f.n_drops, 0);
		struct sk_dgram_stats st;
		sk_dgram_server_stats(f.server, &st);
		assert_int_equal(st.n_received, 1);
		assert_int_equal(st.n_dropped[SK_DGRAM_DROP_SELF], 0);
		stop(&f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dgram_mode_names_round_trip),
		cmocka_unit_test(test_dgram_reply_format_is_the_notes),
		cmocka_unit_test(test_dgram_service_ports_table),
		cmocka_unit_test(test_dgram_drop_reasons_are_distinct_words),
		cmocka_unit_test(test_dgram_echo_answers_a_client),
		cmocka_unit_test(test_dgram_own_port_is_never_answered),
		cmocka_unit_test(test_dgram_service_port_is_answered_only_when_allowed),
		cmocka_unit_test(test_dgram_reply_text_is_no_longer_than_the_datagram),
		cmocka_unit_test(test_dgram_silent_modes_drop_nothing),
	};
	alarm(60);
	return cmocka_run_group_tests_name("dgram", tests, NULL, NULL);
}
