/* Unit tests for the stream server (stream_server.c, stream_modes.c;
 * include/sockit/stream.h): each mode over loopback TCP, the limits and the
 * access list the acceptor applies, and exec children. The test runs the
 * loop and plays every client on non-blocking sockets in the same thread;
 * every wait is bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <sockit/acl.h>
#include <sockit/err.h>
#include <sockit/loop.h>
#include <sockit/stream.h>

#include "testutil.h"

#define WAIT_MS 5000

/* What the server reported through on_event. */
struct events {
	int n[SK_STREAM_EXEC_EXITED + 1];
	int last_err[SK_STREAM_EXEC_EXITED + 1];
};

static void on_event(void *ud, enum sk_stream_event ev, const struct sk_addr *peer, int err)
{
	(void)peer;
	struct events *e = ud;
	e->n[ev]++;
	e->last_err[ev] = err;
}

/* A server on 127.0.0.1 and the loop it runs on. */
struct rig {
	struct sk_loop *loop;
	struct sk_stream_server *srv;
	unsigned port;
	struct events ev;
};

static void rig_start(struct rig *g, struct sk_stream_opts *o)
{
	memset(g, 0, sizeof *g);
	assert_int_equal(sk_loop_new(&g->loop), 0);
	int lfd = tcp_listener(&g->port);
	set_nonblock(lfd);
	o->on_event = on_event;
	o->ud = &g->ev;
	assert_int_equal(sk_stream_server_new(g->loop, lfd, o, &g->srv), 0);
}

static void rig_end(struct rig *g)
{
	sk_stream_server_free(g->srv);
	sk_loop_free(g->loop);
}

/* A client of the rig's server from source address src ("127.0.0.2"),
 * non-blocking once connected. */
static int client_from(struct rig *g, const char *src)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_in from = { .sin_family = AF_INET };
	assert_int_equal(inet_pton(AF_INET, src, &from.sin_addr), 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&from, sizeof from), 0);
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)g->port),
		                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(connect(fd, (struct sockaddr *)&to, sizeof to), 0);
	set_nonblock(fd);
	return fd;
}

static int client(struct rig *g)
{
	return client_from(g, "127.0.0.1");
}

/* What a client has read, and whether it saw the end (EOF or a reset). */
struct inbox {
	char *data;
	size_t len, cap;
	bool ended;
};

static void inbox_init(struct inbox *in, size_t cap)
{
	in->data = malloc(cap);
	assert_non_null(in->data);
	in->len = 0;
	in->cap = cap;
	in->ended = false;
}

/* Reads what fd has now, up to want bytes in all (SIZE_MAX: as many as
 * come; the buffer must hold them). Returns in->ended. */
static bool take_upto(int fd, struct inbox *in, size_t want)
{
	size_t limit = want < in->cap ? want : in->cap;
	while (!in->ended && in->len < limit) {
		ssize_t n = read(fd, in->data + in->len, limit - in->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0)
			in->ended = true; /* EOF, or ECONNRESET */
		else
			in->len += (size_t)n;
	}
	if (in->len == in->cap && want > in->cap)
		fail_msg("client buffer full (%zu bytes)", in->cap);
	return in->ended;
}

static bool take(int fd, struct inbox *in)
{
	return take_upto(fd, in, SIZE_MAX);
}

/* Runs the loop, reading fd, until want bytes arrived (SIZE_MAX: until the
 * server closes) or WAIT_MS pass. */
static void receive(struct rig *g, int fd, struct inbox *in, size_t want)
{
	RUN_UNTIL(g->loop, take_upto(fd, in, want) || in->len >= want, WAIT_MS);
	if (want == SIZE_MAX)
		assert_true(in->ended);
	else
		assert_true(in->len >= want);
}

/* Sends all of p, running the loop while the socket is full. */
static void send_all(struct rig *g, int fd, const void *p, size_t len)
{
	size_t off = 0;
	uint64_t end = now_ms() + WAIT_MS;
	while (off < len && now_ms() < end) {
		ssize_t n = send(fd, (const char *)p + off, len - off, MSG_NOSIGNAL);
		if (n > 0)
			off += (size_t)n;
		else if (n < 0 && errno != EAGAIN && errno != EINTR)
			fail_msg("send: %s", strerror(errno));
		else
			assert_true(sk_loop_run_once(g->loop, 10) >= 0);
	}
	assert_int_equal(off, len);
}

/* --- modes --------------------------------------------------------------- */

static void test_stream_server_echo_returns_every_byte(void **state)
{
	(void)state;
	struct sk_stream_opts o;
	sk_stream_opts_init(&o);
	o.mode = SK_STREAM_ECHO;
	struct rig g;
	rig_start(&g, &o);
	int c = client(&g);
	enum { TOTAL = 300000 }; /* past the client's queue: echo must push back */
	char *data = malloc(TOTAL);
	assert_non_null(data);
	fill_pattern(data, 0, TOTAL);
	struct inbox in;
	inbox_init(&in, TOTAL + 1);
	/* Write and read in turns, as a peer that reads what it is sent. */
	size_t off = 0;
	uint64_t end = now_ms() + WAIT_MS;
	while ((off < TOTAL || in.len < TOTAL) && now_ms() < end) {
		ssize_t n = off < TOTAL ? send(c, data + off, TOTAL - off, MSG_NOSIGNAL) : 0;
		if (n > 0)
			off += (size_t)n;
		assert_true(sk_loop_run_once(g.loop, 10) >= 0);
		take(c, &in);
	}
	assert_int_equal(in.len, TOTAL);
	assert_pattern(in.data, 0, TOTAL);
	assert_int_equal(g.ev.n[SK_STREAM_ACCEPTED], 1);
	assert_int_equal(sk_stream_server_n_clients(g.srv), 1);
	/* Our FIN ends the echo once it has written everything: its close. */
	assert_int_equal(shutdown(c, SHUT_WR), 0);
	receive(&g, c, &in, SIZE_MAX);
	assert_int_equal(in.len, TOTAL);
	RUN_UNTIL(g.loop, g.ev.n[SK_STREAM_CLOSED] == 1, WAIT_MS);
	assert_int_equal(g.ev.last_err[SK_STREAM_CLOSED], 0);
	assert_int_equal(sk_stream_server_n_clients(g.srv), 0);
	close(c);
	free(in.data);
	free(data);
	rig_end(&g);
}

static void test_stream_server_discard_reads_and_answers_nothing(void **state)
{
	(void)state;
	struct sk_stream_opts o;
	sk_stream_opts_init(&o);
	o.mode = SK_STREAM_DISCARD;
	struct rig g;
	rig_start(&g, &o);
	int c = client(&g);
	char data[65536];
	fill_pattern(data, 0, sizeof data);
	send_all(&g, c, data, sizeof data);
	assert_int_equal(shutdown(c, SHUT_WR), 0);
	struct inbox in;
	inbox_init(&in, 16);
	receive(&g, c, &in, SIZE_MAX);
	assert_int_equal(in.len, 0);
	RUN_UNTIL(g.loop, g.ev.n[SK_STREAM_CLOSED] == 1, WAIT_MS);
	assert_int_equal(g.ev.last_err[SK_STREAM_CLOSED], 0);
	close(c);
	free(in.data);
	rig_end(&g);
}

static void test_stream_server_daytime_sends_the_time_and_closes(void **state)
{
	(void)state;
	struct sk_stream_opts o;
	sk_stream_opts_init(&o);
	o.mode = SK_STREAM_DAYTIME;
	struct rig g;
	rig_start(&g, &o);
	time_t before = time(NULL);
	int c = client(&g);
	struct inbox in;
	inbox_init(&in, 256);
	receive(&g, c, &in, SIZE_MAX); /* RFC 867: one line, then the close */
	assert_true(in.len > 2);
	assert_memory_equal(in.data + in.len - 2, "\r\n", 2);
	assert_null(memchr(in.data, '\n', in.len - 1));
	/* date(1)'s form, in local time: the year is in it (read twice in
	 * case the test straddles New Year). */
	char years[2][8];
	time_t after = time(NULL);
	struct tm tm;
	strftime(years[0], sizeof years[0], "%Y", localtime_r(&before, &tm));
	strftime(years[1], sizeof years[1], "%Y", localtime_r(&after, &tm));
	in.data[in.len] = '\0';
	assert_true(strstr(in.data, years[0]) || strstr(in.data, years[1]));
	close(c);
	free(in.data);
	rig_end(&g);
}

static void test_stream_server_chargen_sends_rfc864_lines(void **state)
{
	(void)state;
	struct sk_stream_opts o;
	sk_stream_opts_init(&o);
	o.mode = SK_STREAM_CHARGEN;
	struct rig g;
	rig_start(&g, &o);
	int c = client(&g);
	struct inbox in;
	inbox_init(&in, 1 << 20);
	receive(&g, c, &in, 3 * 74);
	/* 72 printable characters and CRLF; each line starts one further on. */
	for (int line = 0; line < 3; line++) {
		const char *p = in.data + line * 74;
		for (int i = 0; i < 72; i++)
			assert_int_equal(p[i], ' ' + (line + i) % 95);
		assert_memory_equal(p + 72, "\r\n", 2);
	}
	close(c);
	RUN_UNTIL(g.loop, g.ev.n[SK_STREAM_CLOSED] == 1, WAIT_MS);
	free(in.data);
	rig_end(&g);
}

static void test_stream_server_reply_answers_each_line(void **state)
{
	(void)state;
	struct sk_stream_opts o;
	sk_stream_opts_init(&o);
	o.mode = SK_STREAM_REPLY;
	o.frame = SK_FRAME_LINE;
	struct rig g;
	rig_start(&g, &o);
	int c = client(&g);
	struct sockaddr_in me;
	socklen_t len = sizeof me;
	assert_int_equal(getsockname(c, (struct sockaddr *)&me, &len), 0);
	unsigned port = ntohs(me.sin_port);
	/* Two whole lines, and a last one without its LF: answered at our FIN. */
	send_all(&g, c, "hello\nsecond line\r\nlast", 23);
	assert_int_equal(shutdown(c, SHUT_WR), 0);
	struct inbox in;
	inbox_init(&in, 1024);
	receive(&g, c, &in, SIZE_MAX);
	char want[512];
	int n = snprintf(want, sizeof want,
	                 "Received msg: hello from ('127.0.0.1', %u)\n"
	                 "Received msg: second line from ('127.0.0.1', %u)\n"
	                 "Received msg: last from ('127.0.0.1', %u)\n",
	                 port, port, port);
	assert_int_equal(in.len, (size_t)n);
	assert_memory_equal(in.data, want, (size_t)n);
	close(c);
	free(in.data);
	rig_end(&g);
}

static void test_stream_server_reply_closes_on_a_message_too_long(void **state)
{
	(void)state;
	struct sk_stream_opts o;
	sk_stream_opts_init(&o);
	o.mode = SK_STREAM_REPLY;
	o.max_msg = 100;
	struct rig g;
	rig_start(&g, &o);
	int c = client(&g);
	char line[300];
	memset(line, 'x', sizeof line); /* no LF within max_msg */
	send_all(&g, c, line, sizeof line);
	struct inbox in;
	inbox_init(&in, 1024);
	receive(&g, c, &in, SIZE_MAX);
	assert_int_equal(in.len, 0);
	RUN_UNTIL(g.loop, g.ev.n[SK_STREAM_CLOSED] == 1, WAIT_MS);
	assert_int_equal(g.ev.n[SK_STREAM_BAD_DATA], 1);
	close(c);
	free(in.data);
	rig_end(&g);
}

static void test_stream_server_chat_relays_to_the_others(void **state)
{
	(void)state;
	struct sk_stream_opts o;
	sk_stream_opts_init(&o);
	o.mode = SK_STREAM_CHAT;
	struct rig g;
	rig_start(&g, &o);
	int a = client(&g), b = client(&g);
	RUN_UNTIL(g.loop, sk_stream_server_n_clients(g.srv) == 2, WAIT_MS);
	struct sockaddr_in me;
	socklen_t len = sizeof me;
	assert_int_equal(getsockname(a, (struct sockaddr *)&me, &len), 0);
	send_all(&g, a, "hi all\n", 7);
	char want[64];
	int n = snprintf(want, sizeof want, "127.0.0.1:%u: hi all\n", ntohs(me.sin_port));
	struct inbox at_b, at_a;
	inbox_init(&at_b, 256);
	inbox_init(&at_a, 256);
	receive(&g, b, &at_b, (size_t)n);
	assert_int_equal(at_b.len, (size_t)n);
	assert_memory_equal(at_b.data, want, (size_t)n);
	/* Never back to the sender. */
	run_for(g.loop, 50);
	take(a, &at_a);
	assert_int_equal(at_a.len, 0);
	close(a);
	close(b);
	RUN_UNTIL(g.loop, g.ev.n[SK_STREAM_CLOSED] == 2, WAIT_MS);
	free(at_a.data);
	free(at_b.data);
	rig_end(&g);
}

/* --- admission: the acceptor's limits and access list --------------------- */

static void test_stream_server_refuses_past_max_conns(void **state)
{
	(void)state;
	struct sk_stream_opts o;
	sk_stream_opts_init(&o);
	o.mode = SK_STREAM_ECHO;
	o.max_conns = 2;
	struct rig g;
	rig_start(&g, &o);
	int c[3];
	for (int i = 0; i < 2; i++)
		c[i] = client(&g);
	RUN_UNTIL(g.loop, g.ev.n[SK_STREAM_ACCEPTED] == 2, WAIT_MS);
	c[2] = client(&g);
	RUN_UNTIL(g.loop, g.ev.n[SK_STREAM_OVER_LIMIT] == 1, WAIT_MS);
	assert_int_equal(g.ev.n[SK_STREAM_OVER_LIMIT], 1);
	assert_int_equal(g.ev.last_err[SK_STREAM_OVER_LIMIT], SK_STREAM_LIMIT_TOTAL);
	assert_int_equal(sk_stream_server_n_clients(g.srv), 2);
	/* Refused before a byte is read: the third sees the close at once. */
	struct inbox in;
	inbox_init(&in, 16);
	receive(&g, c[2], &in, SIZE_MAX);
	assert_int_equal(in.len, 0);
	/* A slot freed is a slot for the next client. */
	close(c[0]);
	RUN_UNTIL(g.loop, sk_stream_server_n_clients(g.srv) == 1, WAIT_MS);
	int d = client(&g);
	RUN_UNTIL(g.loop, g.ev.n[SK_STREAM_ACCEPTED] == 3, WAIT_MS);
	assert_int_equal(g.ev.n[SK_STREAM_ACCEPTED], 3);
	send_all(&g, d, "ping", 4);
	struct inbox echo;
	inbox_init(&echo, 16);
	receive(&g, d, &echo, 4);
	assert_memory_equal(echo.data, "ping", 4);
	close(c[1]);
	close(c[2]);
	close(d);
	free(in.data);
	free(echo.data);
	rig_end(&g);
}

static void test_stream_server_refuses_past_max_per_client(void **state)
{
	(void)state;
	struct sk_stream_opts o;
	sk_stream_opts_init(&o);
	o.mode = SK_STREAM_DISCARD;
	o.max_per_client = 1;
	struct rig g;
	rig_start(&g, &o);
	int a1 = client_from(&g, "127.0.0.2");
	RUN_UNTIL(g.loop, g.ev.n[SK_STREAM_ACCEPTED] == 1, WAIT_MS);
	int a2 = client_from(&g, "127.0.0.2");
	int b = client_from(&g, "127.0.0.3"); /* another address has its own count */
	RUN_UNTIL(g.loop, g.ev.n[SK_STREAM_ACCEPTED] == 2 && g.ev.n[SK_STREAM_OVER_LIMIT] == 1,
	          WAIT_MS);
	assert_int_equal(g.ev.n[SK_STREAM_ACCEPTED], 2);
	assert_int_equal(g.ev.n[SK_STREAM_OVER_LIMIT], 1);
	assert_int_equal(g.ev.last_err[SK_STREAM_OVER_LIMIT], SK_STREAM_LIMIT_PER_CLIENT);
	close(a1);
	close(a2);
	close(b);
	rig_end(&g);
}

static void test_stream_server_applies_the_access_list(void **state)
{
	(void)state;
	struct sk_acl acl;
	sk_acl_init(&acl);
	assert_int_equal(sk_acl_add(&acl, "127.0.0.4", 9, false, NULL), 0);
	struct sk_stream_opts o;
	sk_stream_opts_init(&o);
	o.mode = SK_STREAM_ECHO;
	o.acl = &acl;
	struct rig g;
	rig_start(&g, &o);
	int denied = client_from(&g, "127.0.0.4");
	int allowed = client_from(&g, "127.0.0.5");
	RUN_UNTIL(g.loop, g.ev.n[SK_STREAM_DENIED] == 1 && g.ev.n[SK_STREAM_ACCEPTED] == 1, WAIT_MS);
	assert_int_equal(g.ev.n[SK_STREAM_DENIED], 1);
	assert_int_equal(g.ev.n[SK_STREAM_ACCEPTED], 1);
	struct inbox in;
	inbox_init(&in, 16);
	receive(&g, denied, &in, SIZE_MAX);
	assert_int_equal(in.len, 0);
	close(denied);
	close(allowed);
	free(in.data);
	rig_end(&g);
	sk_acl_fini(&acl);
}

/* --- exec children ------------------------------------------------------- */

static void test_stream_server_exec_child_exit_ends_the_client(void **state)
{
	(void)state;
	struct sk_stream_opts o;
	sk_stream_opts_init(&o);
	o.mode = SK_STREAM_EXEC;
	o.exec_cmd = "tr a-z A-Z";
	struct rig g;
	rig_start(&g, &o);
	int c = client(&g);
	send_all(&g, c, "hello, exec\n", 12);
	assert_int_equal(shutdown(c, SHUT_WR), 0); /* tr reads to EOF, then exits */
	struct inbox in;
	inbox_init(&in, 64);
	receive(&g, c, &in, SIZE_MAX);
	assert_int_equal(in.len, 12);
	assert_memory_equal(in.data, "HELLO, EXEC\n", 12);
	/* The shell's exit is the client's end: reaped, counted out. */
	RUN_UNTIL(g.loop, g.ev.n[SK_STREAM_CLOSED] == 1, WAIT_MS);
	assert_int_equal(g.ev.n[SK_STREAM_CLOSED], 1);
	assert_int_equal(g.ev.last_err[SK_STREAM_CLOSED], 0);
	assert_int_equal(sk_stream_server_n_clients(g.srv), 0);
	close(c);
	free(in.data);
	rig_end(&g);
}

static void test_stream_server_exec_timeout_kills_the_child(void **state)
{
	(void)state;
	struct sk_stream_opts o;
	sk_stream_opts_init(&o);
	o.mode = SK_STREAM_EXEC;
	o.exec_cmd = "sleep 30";
	o.exec_timeout_ms = 100;
	struct rig g;
	rig_start(&g, &o);
	uint64_t start = now_ms();
	int c = client(&g);
	RUN_UNTIL(g.loop, g.ev.n[SK_STREAM_CLOSED] == 1, WAIT_MS);
	assert_int_equal(g.ev.n[SK_STREAM_CLOSED], 1);
	assert_int_equal(g.ev.last_err[SK_STREAM_CLOSED], -ETIMEDOUT);
	assert_true(now_ms() - start < 3000); /* SIGTERM, not the 30 s of sleep */
	assert_int_equal(sk_stream_server_n_clients(g.srv), 0);
	close(c);
	rig_end(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stream_server_echo_returns_every_byte),
		cmocka_unit_test(test_stream_server_discard_reads_and_answers_nothing),
		cmocka_unit_test(test_stream_server_daytime_sends_the_time_and_closes),
		cmocka_unit_test(test_stream_server_chargen_sends_rfc864_lines),
		cmocka_unit_test(test_stream_server_reply_answers_each_line),
		cmocka_unit_test(test_stream_server_reply_closes_on_a_message_too_long),
		cmocka_unit_test(test_stream_server_chat_relays_to_the_others),
		cmocka_unit_test(test_stream_server_refuses_past_max_conns),
		cmocka_unit_test(test_stream_server_refuses_past_max_per_client),
		cmocka_unit_test(test_stream_server_applies_the_access_list),
		cmocka_unit_test(test_stream_server_exec_child_exit_ends_the_client),
		cmocka_unit_test(test_stream_server_exec_timeout_kills_the_child),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
