/* Unit tests for sock.c (include/sockit/sock.h): addresses, resolution, TCP
 * and UDP over loopback only, socket options and the call tracer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <sockit/err.h>
#include <sockit/ip.h>
#include <sockit/sock.h>

#include "testutil.h"

static const char *fmt(const struct sk_addr *a, char *buf)
{
	size_t n = sk_addr_format(a, buf);
	assert_int_equal(n, strlen(buf));
	assert_true(n < SK_ADDR_STRLEN);
	return buf;
}

static unsigned port_of(const struct sk_addr *a)
{
	unsigned port = 0;
	assert_int_equal(sk_addr_to_ip(a, NULL, &port), 0);
	return port;
}

/* Open file descriptors, to prove failures leave nothing open. */
static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	int n = 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void assert_nonblock_cloexec(int fd)
{
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
}

static void wait_for(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };
	assert_int_equal(poll(&p, 1, 2000), 1);
}

static bool have_ipv6(void)
{
	int fd = socket(AF_INET6, SOCK_STREAM, 0);
	if (fd < 0)
		return false;
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	bool ok = bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	close(fd);
	return ok;
}

/* A TCP listener on 127.0.0.1, an ephemeral port. */
static int listen_local(struct sk_addr *bound)
{
	struct sk_sock_opts opts;
	sk_sock_opts_init(&opts);
	struct sk_addr a = addr_of("127.0.0.1", 0);
	int fd = sk_tcp_listen(&a, &opts);
	if (fd < 0)
		fail_msg("listen: %s", sk_errname(fd));
	assert_int_equal(sk_sock_local_addr(fd, bound), 0);
	return fd;
}

/* --- addresses ----------------------------------------------------------- */

static void test_sock_addr_round_trips_v4_and_v6(void **state)
{
	(void)state;
	static const struct {
		const char *ip;
		unsigned port;
	} cases[] = {
		{ "127.0.0.1", 8998 }, { "0.0.0.0", 0 },     { "255.255.255.255", 65535 },
		{ "192.0.2.1", 1 },    { "::1", 80 },        { "::", 0 },
		{ "2001:db8::1", 443 }, { "fe80::1:2", 65535 }, { "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 9 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct sk_ip ip = ip_of(cases[i].ip);
		struct sk_addr a;
		memset(&a, 0xa5, sizeof a);
		sk_addr_from_ip(&ip, cases[i].port, &a);
		if (ip.version == SK_IP_V4) {
			assert_int_equal(a.u.sa.sa_family, AF_INET);
			assert_int_equal(a.len, sizeof(struct sockaddr_in));
			assert_int_equal(ntohs(a.u.in4.sin_port), cases[i].port);
			char text[INET_ADDRSTRLEN];
			assert_non_null(inet_ntop(AF_INET, &a.u.in4.sin_addr, text, sizeof text));
			assert_string_equal(text, cases[i].ip);
		} else {
			assert_int_equal(a.u.sa.sa_family, AF_INET6);
			assert_int_equal(a.len, sizeof(struct sockaddr_in6));
			assert_int_equal(ntohs(a.u.in6.sin6_port), cases[i].port);
			assert_int_equal(a.u.in6.sin6_scope_id, 0);
			assert_int_equal(a.u.in6.sin6_flowinfo, 0);
			char text[INET6_ADDRSTRLEN];
			assert_non_null(inet_ntop(AF_INET6, &a.u.in6.sin6_addr, text, sizeof text));
			assert_string_equal(text, cases[i].ip);
		}
		struct sk_ip back = { 1, 2, 3 };
		unsigned port = 123456;
		assert_int_equal(sk_addr_to_ip(&a, &back, &port), 0);
		assert_int_equal(back.version, ip.version);
		assert_int_equal(back.hi, ip.hi);
		assert_int_equal(back.lo, ip.lo);
		assert_int_equal(port, cases[i].port);
		/* Either output may be NULL. */
		assert_int_equal(sk_addr_to_ip(&a, NULL, NULL), 0);
	}
}

static void test_sock_addr_mapped_v6_is_plain_v4(void **state)
{
	(void)state;
	struct sk_addr a;
	memset(&a, 0, sizeof a);
	a.u.in6.sin6_family = AF_INET6;
	a.u.in6.sin6_port = htons(7);
	assert_int_equal(inet_pton(AF_INET6, "::ffff:192.0.2.1", &a.u.in6.sin6_addr), 1);
	a.len = sizeof a.u.in6;
	struct sk_ip ip;
	unsigned port;
	assert_int_equal(sk_addr_to_ip(&a, &ip, &port), 0);
	assert_int_equal(ip.version, SK_IP_V4);
	assert_int_equal(ip.hi, 0);
	assert_int_equal(ip.lo, 0xc0000201u);
	assert_int_equal(port, 7);
	char buf[SK_ADDR_STRLEN];
	assert_string_equal(fmt(&a, buf), "192.0.2.1:7");
	/* The deprecated IPv4-compatible form is not mapped: it stays IPv6. */
	assert_int_equal(inet_pton(AF_INET6, "::192.0.2.1", &a.u.in6.sin6_addr), 1);
	assert_int_equal(sk_addr_to_ip(&a, &ip, &port), 0);
	assert_int_equal(ip.version, SK_IP_V6);
	assert_int_equal(fmt(&a, buf)[0], '[');
}

static void test_sock_addr_format(void **state)
{
	(void)state;
	static const struct {
		const char *ip;
		unsigned port;
		const char *text;
	} cases[] = {
		{ "127.0.0.1", 8998, "127.0.0.1:8998" },
		{ "0.0.0.0", 0, "0.0.0.0:0" },
		{ "255.255.255.255", 65535, "255.255.255.255:65535" },
		{ "::1", 80, "[::1]:80" },
		{ "::", 0, "[::]:0" },
		{ "2001:DB8:0:0:0:0:0:1", 443, "[2001:db8::1]:443" },
		{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535,
		  "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535" },
	};
	char buf[SK_ADDR_STRLEN];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct sk_addr a = addr_of(cases[i].ip, cases[i].port);
		assert_string_equal(fmt(&a, buf), cases[i].text);
	}
	/* A scope is shown as its interface name, or its number. */
	struct sk_addr a = addr_of("fe80::1", 80);
	unsigned lo = if_nametoindex("lo");
	if (lo) {
		a.u.in6.sin6_scope_id = lo;
		assert_string_equal(fmt(&a, buf), "[fe80::1%lo]:80");
	}
	a.u.in6.sin6_scope_id = 4000000000u;
	assert_string_equal(fmt(&a, buf), "[fe80::1%4000000000]:80");
	/* The longest text fits. */
	a = addr_of("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535);
	a.u.in6.sin6_scope_id = 4294967295u;
	assert_string_equal(fmt(&a, buf), "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff%4294967295]:65535");
	/* Not an IP family. */
	struct sk_addr un;
	memset(&un, 0, sizeof un);
	un.u.sa.sa_family = AF_UNIX;
	un.len = sizeof(struct sockaddr_un);
	struct sk_ip ip = { 1, 2, 3 };
	assert_int_equal(sk_addr_to_ip(&un, &ip, NULL), SK_EINVAL);
	assert_int_equal(ip.version, 3);
	assert_string_equal(fmt(&un, buf), "(family 1)");
}

/* --- resolution ------------------------------------------------------------ */

static void test_sock_resolve_numeric(void **state)
{
	(void)state;
	struct sk_addr out[8];
	size_t n = 99;
	char buf[SK_ADDR_STRLEN];
	assert_int_equal(sk_addr_resolve("127.0.0.1", "8998", AF_UNSPEC, SOCK_STREAM, false, out, 8, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(fmt(&out[0], buf), "127.0.0.1:8998");
	assert_int_equal(out[0].len, sizeof(struct sockaddr_in));

	/* The wildcard: NULL or "" with passive. */
	n = 99;
	assert_int_equal(sk_addr_resolve(NULL, "0", AF_INET, SOCK_STREAM, true, out, 8, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(fmt(&out[0], buf), "0.0.0.0:0");
	n = 99;
	assert_int_equal(sk_addr_resolve("", "53", AF_INET, SOCK_DGRAM, true, out, 8, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(fmt(&out[0], buf), "0.0.0.0:53");
	if (have_ipv6()) {
		n = 99;
		assert_int_equal(sk_addr_resolve(NULL, "80", AF_INET6, SOCK_STREAM, true, out, 8, &n), 0);
		assert_int_equal(n, 1);
		assert_string_equal(fmt(&out[0], buf), "[::]:80");
	}
	/* A service name is a port. */
	n = 99;
	assert_int_equal(sk_addr_resolve("127.0.0.1", "http", AF_INET, SOCK_STREAM, false, out, 8, &n), 0);
	assert_string_equal(fmt(&out[0], buf), "127.0.0.1:80");
	/* max bounds the results. */
	n = 99;
	assert_int_equal(sk_addr_resolve(NULL, "80", AF_UNSPEC, SOCK_STREAM, true, out, 1, &n), 0);
	assert_int_equal(n, 1);
}

static void test_sock_resolve_localhost(void **state)
{
	(void)state;
	struct sk_addr out[8];
	size_t n = 0;
	assert_int_equal(sk_addr_resolve("localhost", "8998", AF_INET, SOCK_STREAM, false, out, 8, &n), 0);
	assert_true(n >= 1 && n <= 8);
	char buf[SK_ADDR_STRLEN];
	for (size_t i = 0; i < n; i++) {
		struct sk_ip ip;
		unsigned port;
		assert_int_equal(sk_addr_to_ip(&out[i], &ip, &port), 0);
		assert_int_equal(port, 8998);
		assert_true(sk_ip_flags(&ip) & SK_IP_LOOPBACK);
	}
	assert_string_equal(fmt(&out[0], buf), "127.0.0.1:8998");
}

static void test_sock_resolve_failures(void **state)
{
	(void)state;
	struct sk_addr out[4];
	size_t n = 0;
	/* .invalid never resolves (RFC 6761): the resolver fails it locally.
	 * On this machine it answers in milliseconds; were a resolver to hang
	 * on it, this case would be the one to skip. */
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(sk_addr_resolve("no-such-host.invalid", "80", AF_UNSPEC, SOCK_STREAM, false,
	                                 out, 4, &n),
	                 SK_ENONAME);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 5);
	assert_int_equal(sk_addr_resolve("127.0.0.1", "no-such-service-x", AF_UNSPEC, SOCK_STREAM,
	                                 false, out, 4, &n),
	                 SK_EPORT_SYNTAX);
	/* An IPv4 literal asked for as IPv6 has no answer. */
	assert_int_equal(sk_addr_resolve("127.0.0.1", "80", AF_INET6, SOCK_STREAM, false, out, 4, &n),
	                 SK_ENONAME);
}

/* --- TCP ------------------------------------------------------------------ */

static void test_sock_tcp_listen_connect_accept(void **state)
{
	(void)state;
	struct sk_addr bound;
	int lfd = listen_local(&bound);
	assert_nonblock_cloexec(lfd);
	unsigned port = port_of(&bound);
	assert_true(port > 0);
	char buf[SK_ADDR_STRLEN], want[SK_ADDR_STRLEN];
	snprintf(want, sizeof want, "127.0.0.1:%u", port);
	assert_string_equal(fmt(&bound, buf), want);

	/* Nobody is waiting yet. */
	struct sk_addr peer;
	assert_int_equal(sk_tcp_accept(lfd, &peer, NULL), -EAGAIN);

	int cfd = sk_tcp_connect(&bound, 2000, NULL);
	if (cfd < 0)
		fail_msg("connect: %s", sk_errname(cfd));
	assert_nonblock_cloexec(cfd);
	struct sk_addr cl_local, cl_peer;
	assert_int_equal(sk_sock_local_addr(cfd, &cl_local), 0);
	assert_int_equal(sk_sock_peer_addr(cfd, &cl_peer), 0);
	assert_string_equal(fmt(&cl_peer, buf), want);

	wait_for(lfd, POLLIN);
	memset(&peer, 0, sizeof peer);
	int afd = sk_tcp_accept(lfd, &peer, NULL);
	if (afd < 0)
		fail_msg("accept: %s", sk_errname(afd));
	assert_nonblock_cloexec(afd);
	/* The peer the server sees is the client's local address. */
	char local_text[SK_ADDR_STRLEN];
	assert_string_equal(fmt(&peer, buf), fmt(&cl_local, local_text));
	assert_int_equal(peer.len, sizeof(struct sockaddr_in));
	/* Both ends of a loopback connection have their peer on this host. */
	assert_true(sk_sock_peer_is_local(afd));
	assert_true(sk_sock_peer_is_local(cfd));

	/* And bytes go through. */
	assert_int_equal(write(cfd, "hi", 2), 2);
	wait_for(afd, POLLIN);
	char got[4];
	assert_int_equal(read(afd, got, sizeof got), 2);
	assert_memory_equal(got, "hi", 2);

	/* The two-step connect as the loop uses it. */
	bool in_progress = true;
	int c2 = sk_tcp_connect_start(&bound, &in_progress, NULL);
	assert_true(c2 >= 0);
	assert_nonblock_cloexec(c2);
	if (in_progress)
		wait_for(c2, POLLOUT);
	assert_int_equal(sk_tcp_connect_finish(c2), 0);
	wait_for(lfd, POLLIN);
	int a2 = sk_tcp_accept(lfd, NULL, NULL);
	assert_true(a2 >= 0);

	sk_sock_close(a2, NULL);
	sk_sock_close(c2, NULL);
	sk_sock_close(afd, NULL);
	sk_sock_close(cfd, NULL);
	sk_sock_close(lfd, NULL);
	assert_false(fcntl(lfd, F_GETFD) >= 0);
	sk_sock_close(-1, NULL);
}

static void test_sock_tcp_connect_refused(void **state)
{
	(void)state;
	/* A port that was ours a moment ago and has nobody listening now. */
	struct sk_addr bound;
	int lfd = listen_local(&bound);
	close(lfd);
	int before = count_fds();
	assert_int_equal(sk_tcp_connect(&bound, 2000, NULL), -ECONNREFUSED);
	assert_int_equal(count_fds(), before);

	bool in_progress = false;
	int fd = sk_tcp_connect_start(&bound, &in_progress, NULL);
	if (fd >= 0) {
		assert_true(in_progress);
		wait_for(fd, POLLOUT);
		assert_int_equal(sk_tcp_connect_finish(fd), -ECONNREFUSED);
		close(fd);
	} else {
		assert_int_equal(fd, -ECONNREFUSED);
	}
	assert_int_equal(count_fds(), before);
}

static void test_sock_tcp_listen_twice_is_in_use(void **state)
{
	(void)state;
	struct sk_addr bound;
	int lfd = listen_local(&bound);
	struct sk_sock_opts opts;
	sk_sock_opts_init(&opts);
	int before = count_fds();
	/* SO_REUSEADDR (on by default) does not allow a second listener. */
	assert_int_equal(sk_tcp_listen(&bound, &opts), -EADDRINUSE);
	opts.reuse_addr = false;
	assert_int_equal(sk_tcp_listen(&bound, &opts), -EADDRINUSE);
	assert_int_equal(count_fds(), before);
	close(lfd);
	/* Free again once the first is closed. */
	int again = sk_tcp_listen(&bound, &opts);
	assert_true(again >= 0);
	close(again);
}

static void test_sock_tcp_dual_stack_listener_sees_plain_v4(void **state)
{
	(void)state;
	if (!have_ipv6()) {
		/* No IPv6 on this machine: nothing to test. */
		skip();
	}
	struct sk_sock_opts opts;
	sk_sock_opts_init(&opts);
	struct sk_addr any = addr_of("::", 0);
	int lfd = sk_tcp_listen(&any, &opts);
	if (lfd < 0)
		fail_msg("listen [::]: %s", sk_errname(lfd));
	struct sk_addr bound;
	assert_int_equal(sk_sock_local_addr(lfd, &bound), 0);
	unsigned port = port_of(&bound);
	char buf[SK_ADDR_STRLEN], want[SK_ADDR_STRLEN];
	snprintf(want, sizeof want, "[::]:%u", port);
	assert_string_equal(fmt(&bound, buf), want);

	struct sk_addr to = addr_of("127.0.0.1", port);
	int cfd = sk_tcp_connect(&to, 2000, NULL);
	if (cfd < 0)
		fail_msg("connect to the dual-stack listener: %s", sk_errname(cfd));
	struct sk_addr cl_local;
	assert_int_equal(sk_sock_local_addr(cfd, &cl_local), 0);
	wait_for(lfd, POLLIN);
	struct sk_addr peer;
	int afd = sk_tcp_accept(lfd, &peer, NULL);
	assert_true(afd >= 0);
	/* The kernel reports ::ffff:127.0.0.1; we show 127.0.0.1. */
	assert_int_equal(peer.u.sa.sa_family, AF_INET6);
	snprintf(want, sizeof want, "127.0.0.1:%u", port_of(&cl_local));
	assert_string_equal(fmt(&peer, buf), want);
	struct sk_ip ip;
	assert_int_equal(sk_addr_to_ip(&peer, &ip, NULL), 0);
	assert_int_equal(ip.version, SK_IP_V4);
	/* ::ffff:127.0.0.1 is a loopback peer too. */
	assert_true(sk_sock_peer_is_local(afd));
	close(afd);
	close(cfd);
	close(lfd);

	/* v6_only: the same listener refuses IPv4. */
	opts.v6_only = true;
	lfd = sk_tcp_listen(&any, &opts);
	assert_true(lfd >= 0);
	assert_int_equal(sk_sock_local_addr(lfd, &bound), 0);
	to = addr_of("127.0.0.1", port_of(&bound));
	assert_int_equal(sk_tcp_connect(&to, 2000, NULL), -ECONNREFUSED);
	struct sk_addr to6 = addr_of("::1", port_of(&bound));
	cfd = sk_tcp_connect(&to6, 2000, NULL);
	assert_true(cfd >= 0);
	close(cfd);
	close(lfd);
}

/* --- UDP and options ----------------------------------------------------- */

struct batch_errors {
	int n, err;
	struct sk_addr to;
};

static void on_batch_error(void *ud, int err, const struct sk_addr *to)
{
	struct batch_errors *e = ud;
	e->n++;
	e->err = err;
	e->to = *to;
}

/* sk_udp_send_batch: a datagram the kernel refuses (here an IPv6
 * destination for an IPv4 socket) is reported and skipped; the ones before
 * and after it still go, in order. sk_udp_recv_batch takes them with their
 * sources, says 0 when none waits, and -errno for an ICMP error. */
static void test_sock_udp_batches(void **state)
{
	(void)state;
	struct sk_sock_opts opts;
	sk_sock_opts_init(&opts);
	struct sk_addr at = addr_of("127.0.0.1", 0);
	int a = sk_udp_open(&at, AF_UNSPEC, &opts);
	assert_true(a >= 0);
	assert_int_equal(sk_sock_local_addr(a, &at), 0);
	int b = sk_udp_open(NULL, AF_INET, &opts);
	assert_true(b >= 0);
	struct sk_addr wrong = addr_of("::1", port_of(&at));
	const char *text[] = { "one", "two", "three" };
	struct sk_addr *to[] = { &at, &wrong, &at };
	struct iovec iov[3];
	struct mmsghdr msgs[3];
	memset(msgs, 0, sizeof msgs);
	for (int i = 0; i < 3; i++) {
		iov[i] = (struct iovec){ (void *)text[i], strlen(text[i]) };
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &to[i]->u.storage;
		msgs[i].msg_hdr.msg_namelen = to[i]->len;
	}
	struct batch_errors e = { 0 };
	assert_int_equal(sk_udp_send_batch(b, msgs, 3, NULL, on_batch_error, &e), 2);
	assert_int_equal(e.n, 1);
	assert_int_equal(e.err, -EAFNOSUPPORT);
	char x[SK_ADDR_STRLEN], y[SK_ADDR_STRLEN];
	assert_string_equal(fmt(&e.to, x), fmt(&wrong, y));
	/* Both arrive in one sk_udp_recv_batch, each with b's address. */
	char got[4][16];
	struct iovec in_iov[4];
	struct mmsghdr in[4];
	struct sk_addr from[4];
	memset(in, 0, sizeof in);
	for (int i = 0; i < 4; i++) {
		in_iov[i] = (struct iovec){ got[i], sizeof got[i] };
		in[i].msg_hdr.msg_iov = &in_iov[i];
		in[i].msg_hdr.msg_iovlen = 1;
	}
	struct sk_addr b_at;
	assert_int_equal(sk_sock_local_addr(b, &b_at), 0);
	wait_for(a, POLLIN);
	int n = 0;
	for (int tries = 0; n < 2 && tries < 100; tries++) {
		int k = sk_udp_recv_batch(a, in + n, from + n, 4 - n);
		assert_true(k >= 0);
		n += k;
		if (n < 2)
			wait_for(a, POLLIN);
	}
	assert_int_equal(n, 2);
	for (int i = 0; i < 2; i++) {
		const char *want = text[2 * i];
		assert_int_equal(in[i].msg_len, strlen(want));
		assert_memory_equal(got[i], want, strlen(want));
		assert_int_equal(port_of(&from[i]), port_of(&b_at));
	}
	/* None waiting: 0, not an error. */
	assert_int_equal(sk_udp_recv_batch(a, in, from, 4), 0);
	/* Without a callback the failure is only skipped. */
	assert_int_equal(sk_udp_send_batch(b, msgs + 1, 1, NULL, NULL, NULL), 0);
	/* An ICMP error waiting on a connected socket comes back as -errno:
	 * a's port, closed, answers port unreachable. */
	close(a);
	assert_int_equal(connect(b, &at.u.sa, at.len), 0);
	assert_int_equal(send(b, "x", 1, 0), 1);
	int rc = 0;
	for (int tries = 0; rc == 0 && tries < 100; tries++) {
		wait_for(b, POLLIN | POLLERR);
		rc = sk_udp_recv_batch(b, in, from, 4);
	}
	assert_int_equal(rc, -ECONNREFUSED);
	close(b);
}

static void test_sock_udp_round_trip(void **state)
{
	(void)state;
	struct sk_sock_opts opts;
	sk_sock_opts_init(&opts);
	struct sk_addr a_at = addr_of("127.0.0.1", 0);
	int a = sk_udp_open(&a_at, AF_UNSPEC, &opts);
	assert_true(a >= 0);
	assert_nonblock_cloexec(a);
	assert_int_equal(sk_sock_local_addr(a, &a_at), 0);
	assert_true(port_of(&a_at) > 0);
	/* An unbound sender: the kernel picks its port at the first send. */
	int b = sk_udp_open(NULL, AF_INET, &opts);
	assert_true(b >= 0);
	assert_nonblock_cloexec(b);
	assert_int_equal(sendto(b, "dgram", 5, 0, &a_at.u.sa, a_at.len), 5);
	wait_for(a, POLLIN);
	char got[16];
	struct sk_addr from;
	from.len = sizeof from.u.storage;
	assert_int_equal(recvfrom(a, got, sizeof got, 0, &from.u.sa, &from.len), 5);
	assert_memory_equal(got, "dgram", 5);
	/* From b's port (b is bound to 0.0.0.0, so only the port compares). */
	struct sk_addr b_at;
	assert_int_equal(sk_sock_local_addr(b, &b_at), 0);
	assert_true(port_of(&b_at) > 0);
	char x[SK_ADDR_STRLEN], y[SK_ADDR_STRLEN];
	snprintf(y, sizeof y, "127.0.0.1:%u", port_of(&b_at));
	assert_string_equal(fmt(&from, x), y);
	/* And back. */
	assert_int_equal(sendto(a, "reply", 5, 0, &from.u.sa, from.len), 5);
	wait_for(b, POLLIN);
	assert_int_equal(recv(b, got, sizeof got, 0), 5);
	assert_memory_equal(got, "reply", 5);
	close(a);
	close(b);

	/* A bind that cannot work leaves nothing open. */
	int before = count_fds();
	struct sk_addr foreign = addr_of("203.0.113.1", 0);
	assert_int_equal(sk_udp_open(&foreign, AF_UNSPEC, &opts), -EADDRNOTAVAIL);
	assert_int_equal(count_fds(), before);
}

static int get_int(int fd, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof v;
	assert_int_equal(getsockopt(fd, level, name, &v, &len), 0);
	return v;
}

static void test_sock_options(void **state)
{
	(void)state;
	struct sk_sock_opts opts;
	sk_sock_opts_init(&opts);
	assert_true(opts.reuse_addr);
	assert_false(opts.v6_only);
	assert_int_equal(opts.backlog, 128);
	assert_null(opts.tracer);

	int fd = sk_udp_open(NULL, AF_INET, &opts);
	assert_true(fd >= 0);
	assert_int_equal(sk_sock_set_broadcast(fd, true, NULL), 0);
	assert_int_equal(get_int(fd, SOL_SOCKET, SO_BROADCAST), 1);
	assert_int_equal(sk_sock_set_broadcast(fd, false, NULL), 0);
	assert_int_equal(get_int(fd, SOL_SOCKET, SO_BROADCAST), 0);
	assert_int_equal(sk_sock_set_ttl(fd, AF_INET, 7, NULL), 0);
	assert_int_equal(get_int(fd, IPPROTO_IP, IP_TTL), 7);
	assert_int_equal(get_int(fd, IPPROTO_IP, IP_MULTICAST_TTL), 7);
	/* The kernel's limit comes back as an error, not a crash. */
	assert_int_equal(sk_sock_set_ttl(fd, AF_INET, 256, NULL), -EINVAL);
	/* The kernel doubles SO_SNDBUF for its bookkeeping. */
	assert_int_equal(sk_sock_set_sndbuf(fd, 65536, NULL), 0);
	assert_int_equal(get_int(fd, SOL_SOCKET, SO_SNDBUF), 2 * 65536);
	close(fd);

	if (have_ipv6()) {
		fd = sk_udp_open(NULL, AF_INET6, &opts);
		assert_true(fd >= 0);
		assert_int_equal(sk_sock_set_ttl(fd, AF_INET6, 9, NULL), 0);
		assert_int_equal(get_int(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS), 9);
		assert_int_equal(get_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS), 9);
		close(fd);
	}

	/* Not a socket. */
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(sk_sock_set_broadcast(p[0], true, NULL), -ENOTSOCK);
	struct sk_addr a;
	assert_int_equal(sk_sock_local_addr(p[0], &a), -ENOTSOCK);
	assert_int_equal(sk_sock_peer_addr(p[0], &a), -ENOTSOCK);
	assert_false(sk_sock_peer_is_local(p[0]));
	close(p[0]);
	close(p[1]);
	/* A listener has no peer. */
	struct sk_addr bound;
	int lfd = listen_local(&bound);
	assert_int_equal(sk_sock_peer_addr(lfd, &a), -ENOTCONN);
	assert_false(sk_sock_peer_is_local(lfd));
	close(lfd);
}

static void test_sock_join_group(void **state)
{
	(void)state;
	struct sk_sock_opts opts;
	sk_sock_opts_init(&opts);
	struct sk_addr any = addr_of("0.0.0.0", 0);
	int fd = sk_udp_open(&any, AF_UNSPEC, &opts);
	assert_true(fd >= 0);
	unsigned lo = if_nametoindex("lo");
	assert_true(lo > 0);
	struct sk_ip group = ip_of("239.1.2.3");
	int err = sk_sock_join_group(fd, &group, lo, NULL);
	/* lo may refuse multicast; that is an error code, never a crash. */
	if (err == 0) {
		/* Joined: a second join of the same group is refused. */
		assert_int_equal(sk_sock_join_group(fd, &group, lo, NULL), -EADDRINUSE);
	} else if (err != -ENODEV && err != -EADDRNOTAVAIL && err != -EINVAL && err != -ENOBUFS) {
		fail_msg("join on lo: %s", sk_errname(err));
	}
	/* Not a multicast address. */
	struct sk_ip unicast = ip_of("10.0.0.1");
	assert_int_equal(sk_sock_join_group(fd, &unicast, lo, NULL), -EINVAL);
	/* No such interface. */
	err = sk_sock_join_group(fd, &group, 999999, NULL);
	assert_true(err == -ENODEV || err == -EADDRNOTAVAIL || err == -EINVAL);
	close(fd);

	if (have_ipv6()) {
		struct sk_addr any6 = addr_of("::", 0);
		fd = sk_udp_open(&any6, AF_UNSPEC, &opts);
		assert_true(fd >= 0);
		struct sk_ip g6 = ip_of("ff02::1:3");
		err = sk_sock_join_group(fd, &g6, lo, NULL);
		assert_true(err == 0 || err == -ENODEV || err == -EADDRNOTAVAIL || err == -EINVAL);
		close(fd);
	}
}

/* --- tracing ----------------------------------------------------------------- */

struct trace_log {
	char lines[32][128];
	int n;
};

static void on_trace(void *ud, const char *line)
{
	struct trace_log *log = ud;
	if (log->n < 32)
		snprintf(log->lines[log->n++], sizeof log->lines[0], "%s", line);
}

/* The first line starting with prefix, or fail. */
static const char *find_line(const struct trace_log *log, const char *prefix)
{
	for (int i = 0; i < log->n; i++)
		if (strncmp(log->lines[i], prefix, strlen(prefix)) == 0)
			return log->lines[i];
	for (int i = 0; i < log->n; i++)
		print_message("  traced: %s\n", log->lines[i]);
	fail_msg("no trace line starting '%s'", prefix);
	return NULL;
}

static void test_sock_tracer_reports_each_call(void **state)
{
	(void)state;
	struct trace_log log = { .n = 0 };
	struct sk_tracer tracer = { on_trace, &log };
	struct sk_sock_opts opts;
	sk_sock_opts_init(&opts);
	opts.tracer = &tracer;
	char want[128];

	struct sk_addr at = addr_of("127.0.0.1", 0);
	int lfd = sk_tcp_listen(&at, &opts);
	assert_true(lfd >= 0);
	snprintf(want, sizeof want, "socket(AF_INET, SOCK_STREAM) = %d", lfd);
	assert_string_equal(log.lines[0], want);
	assert_string_equal(find_line(&log, "setsockopt("), "setsockopt(SO_REUSEADDR)");
	assert_string_equal(find_line(&log, "bind("), "bind(127.0.0.1:0)");
	assert_string_equal(log.lines[log.n - 1], "listen(128)");

	struct sk_addr bound;
	assert_int_equal(sk_sock_local_addr(lfd, &bound), 0);
	unsigned port = port_of(&bound);
	log.n = 0;
	int cfd = sk_tcp_connect(&bound, 2000, &tracer);
	assert_true(cfd >= 0);
	snprintf(want, sizeof want, "socket(AF_INET, SOCK_STREAM) = %d", cfd);
	assert_string_equal(log.lines[0], want);
	snprintf(want, sizeof want, "connect(127.0.0.1:%u)", port);
	find_line(&log, want);

	struct sk_addr cl_local;
	assert_int_equal(sk_sock_local_addr(cfd, &cl_local), 0);
	wait_for(lfd, POLLIN);
	log.n = 0;
	int afd = sk_tcp_accept(lfd, NULL, &tracer);
	assert_true(afd >= 0);
	assert_int_equal(log.n, 1);
	snprintf(want, sizeof want, "accept() = %d from 127.0.0.1:%u", afd, port_of(&cl_local));
	assert_string_equal(log.lines[0], want);

	log.n = 0;
	sk_sock_close(afd, &tracer);
	snprintf(want, sizeof want, "close(%d)", afd);
	assert_int_equal(log.n, 1);
	assert_string_equal(log.lines[0], want);

	/* A failing bind says why. */
	log.n = 0;
	assert_int_equal(sk_tcp_listen(&bound, &opts), -EADDRINUSE);
	snprintf(want, sizeof want, "bind(127.0.0.1:%u)", port);
	const char *line = find_line(&log, want);
	assert_non_null(strstr(line, "EADDRINUSE"));

	/* UDP and options. */
	log.n = 0;
	int u = sk_udp_open(NULL, AF_INET, &opts);
	assert_true(u >= 0);
	snprintf(want, sizeof want, "socket(AF_INET, SOCK_DGRAM) = %d", u);
	assert_string_equal(log.lines[0], want);
	assert_int_equal(sk_sock_set_ttl(u, AF_INET, 7, &tracer), 0);
	assert_string_equal(find_line(&log, "setsockopt(IP_TTL"), "setsockopt(IP_TTL, 7)");
	assert_int_equal(sk_sock_set_broadcast(u, true, &tracer), 0);
	find_line(&log, "setsockopt(SO_BROADCAST)");

	/* No tracer, or one without a callback: silent. */
	struct sk_tracer mute = { NULL, &log };
	log.n = 0;
	sk_trace(&mute, "x %d", 1);
	sk_trace(NULL, "x %d", 2);
	assert_int_equal(log.n, 0);
	sk_trace(&tracer, "custom %s %d", "line", 3);
	assert_string_equal(log.lines[0], "custom line 3");

	close(u);
	close(cfd);
	close(lfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sock_addr_round_trips_v4_and_v6),
		cmocka_unit_test(test_sock_addr_mapped_v6_is_plain_v4),
		cmocka_unit_test(test_sock_addr_format),
		cmocka_unit_test(test_sock_resolve_numeric),
		cmocka_unit_test(test_sock_resolve_localhost),
		cmocka_unit_test(test_sock_resolve_failures),
		cmocka_unit_test(test_sock_tcp_listen_connect_accept),
		cmocka_unit_test(test_sock_tcp_connect_refused),
		cmocka_unit_test(test_sock_tcp_listen_twice_is_in_use),
		cmocka_unit_test(test_sock_tcp_dual_stack_listener_sees_plain_v4),
		cmocka_unit_test(test_sock_udp_round_trip),
		cmocka_unit_test(test_sock_udp_batches),
		cmocka_unit_test(test_sock_options),
		cmocka_unit_test(test_sock_join_group),
		cmocka_unit_test(test_sock_tracer_reports_each_call),
	};
	return cmocka_run_group_tests_name("sock", tests, NULL, NULL);
}
