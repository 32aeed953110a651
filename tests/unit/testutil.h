/* What the unit tests share: the clock, running a loop for a while or until
 * something happens, a test byte stream, addresses from text, and connected
 * socket pairs. Include
 * after <cmocka.h>; everything here is static inline, so a test uses what it
 * needs and nothing else is compiled in. */
#ifndef SOCKIT_TESTUTIL_H
#define SOCKIT_TESTUTIL_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <string.h>

#include <sockit/err.h>
#include <sockit/ip.h>
#include <sockit/loop.h>
#include <sockit/sock.h>

/* --- time and the loop --- */

/* CLOCK_MONOTONIC in milliseconds. */
static inline uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Runs the loop until cond holds or max_ms pass (cond is evaluated between
 * iterations of at most 10 ms). */
#define RUN_UNTIL(loop, cond, max_ms)                                          \
	do {                                                                   \
		uint64_t end_ = now_ms() + (max_ms);                           \
		while (!(cond) && now_ms() < end_)                             \
			assert_true(sk_loop_run_once((loop), 10) >= 0);        \
	} while (0)

/* Runs the loop until *done or for at most ms; returns *done. */
static inline bool run_until(struct sk_loop *loop, const bool *done, int ms)
{
	RUN_UNTIL(loop, *done, (uint64_t)ms);
	return *done;
}

/* Runs the loop for about ms, whatever happens. */
static inline void run_for(struct sk_loop *loop, int ms)
{
	bool never = false;
	run_until(loop, &never, ms);
}

/* --- a test byte stream --- */

/* Byte i of a test stream: no short period, so a piece lost, repeated or
 * moved shows at once. */
static inline unsigned char pattern_byte(size_t i)
{
	return (unsigned char)((i * 131u) ^ (i >> 9) ^ (i >> 17));
}

/* Stream bytes [off, off + n) into p. */
static inline void fill_pattern(void *p, size_t off, size_t n)
{
	unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		b[i] = pattern_byte(off + i);
}

/* The index of the first byte of p[0..n) that is not stream byte off + i,
 * or n. */
static inline size_t pattern_mismatch(const void *p, size_t off, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i] != pattern_byte(off + i))
			return i;
	return n;
}

/* p[0..n) holds stream bytes [off, off + n). */
static inline void assert_pattern(const void *p, size_t off, size_t n)
{
	size_t i = pattern_mismatch(p, off, n);
	if (i < n)
		fail_msg("stream byte %zu: got %d, want %d", off + i, ((const unsigned char *)p)[i],
		         pattern_byte(off + i));
}

/* --- addresses --- */

/* The address text names; the test fails if it does not parse. */
static inline struct sk_ip ip_of(const char *text)
{
	struct sk_ip ip;
	int err = sk_ip_parse(text, strlen(text), &ip, NULL);
	if (err != 0)
		fail_msg("'%s' did not parse: %s", text, sk_errname(err));
	return ip;
}

static inline struct sk_addr addr_of(const char *ip, unsigned port)
{
	struct sk_ip i = ip_of(ip);
	struct sk_addr a;
	sk_addr_from_ip(&i, port, &a);
	return a;
}

/* --- sockets --- */

static inline void set_nonblock(int fd)
{
	int flags = fcntl(fd, F_GETFL);
	assert_true(flags >= 0);
	assert_int_equal(fcntl(fd, F_SETFL, flags | O_NONBLOCK), 0);
}

/* A connected AF_UNIX stream pair, both ends non-blocking. */
static inline void unix_pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
}

/* A TCP listener on 127.0.0.1, on a port the kernel picks (*port). */
static inline int tcp_listener(unsigned *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(fd, 128), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* A blocking TCP client connected to 127.0.0.1:port. */
static inline int tcp_connect(unsigned port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
		                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	return fd;
}

/* A loopback TCP connection: sv[0] the accepted end, sv[1] the connecting
 * one; both non-blocking. Buffers of buf_size bytes (0: the kernel's
 * defaults) make a big send wait for the peer. */
static inline void tcp_pair(int sv[2], int buf_size)
{
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(l >= 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof a;
	assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&a, &alen), 0);
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c >= 0);
	if (buf_size) {
		assert_int_equal(setsockopt(c, SOL_SOCKET, SO_RCVBUF, &buf_size, sizeof buf_size), 0);
		assert_int_equal(setsockopt(l, SOL_SOCKET, SO_SNDBUF, &buf_size, sizeof buf_size), 0);
	}
	assert_int_equal(connect(c, (struct sockaddr *)&a, sizeof a), 0);
	int s = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	assert_true(s >= 0);
	close(l);
	set_nonblock(c);
	sv[0] = s;
	sv[1] = c;
}

#endif
