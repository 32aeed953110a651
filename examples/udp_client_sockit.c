/* udp_client_sockit: udp_client.c on libsockit. The library resolves the
 * name and opens the socket; sending and receiving are plain POSIX calls.
 *
 * libsockit's sockets are non-blocking: recv() would return EAGAIN at once
 * instead of waiting. This client keeps it so and waits for the answer in
 * poll(2), which also gives the 5 s limit. (tcp_client_sockit.c shows the
 * other way: clear O_NONBLOCK with fcntl(2).)
 *
 *   usage: udp_client_sockit [HOST PORT [TEXT]]
 *          defaults: 127.0.0.1 7852 "I love jingjing" */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sockit/dgram.h>
#include <sockit/err.h>

#define REPLY_TIMEOUT_MS 5000

static int fail(const char *what, int err)
{
	fprintf(stderr, "example: %s: %s\n", what, sk_strerror(err));
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 1 && argc != 3 && argc != 4) {
		fprintf(stderr, "usage: udp_client_sockit [HOST PORT [TEXT]]\n");
		return 2;
	}
	const char *host = argc > 1 ? argv[1] : "127.0.0.1";
	const char *port = argc > 1 ? argv[2] : "7852";
	const char *text = argc > 3 ? argv[3] : "I love jingjing";
	char what[SK_ADDR_STRLEN + 16];
	struct sk_addr server;
	size_t n_addrs;
	int err = sk_addr_resolve(host, port, AF_INET, SOCK_DGRAM, false, &server, 1, &n_addrs);
	snprintf(what, sizeof what, "resolve '%.40s' '%.10s'", host, port);
	if (err < 0)
		return fail(what, err);

	/* 1. The socket, unbound: the kernel picks our port at the first send.
	 * connect() keeps out datagrams from anyone but the server and turns an
	 * ICMP port unreachable into ECONNREFUSED (see udp_client.c). */
	struct sk_sock_opts so;
	sk_sock_opts_init(&so);
	int fd = sk_udp_open(NULL, AF_INET, &so);
	if (fd < 0)
		return fail("socket", fd);
	if (connect(fd, &server.u.sa, server.len) < 0)
		return fail("connect", -errno);

	/* 2. Send. One datagram into an empty socket buffer never meets
	 * EAGAIN, so no wait is needed here. */
	if (send(fd, text, strlen(text), 0) < 0)
		return fail("send", -errno);

	/* 3. Wait for the answer, then read it. */
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int ready;
	do
		ready = poll(&p, 1, REPLY_TIMEOUT_MS);
	while (ready < 0 && errno == EINTR);
	if (ready < 0)
		return fail("poll", -errno);
	if (ready == 0) {
		fprintf(stderr, "example: recv: no reply within %d s\n", REPLY_TIMEOUT_MS / 1000);
		return 1;
	}
	char buf[SK_UDP_MAX_PAYLOAD];
	ssize_t n = recv(fd, buf, sizeof buf, 0);
	if (n < 0)
		return fail("recv", -errno);
	fwrite(buf, 1, (size_t)n, stdout);
	if (n == 0 || buf[n - 1] != '\n')
		putchar('\n');
	if (fflush(stdout) == EOF || ferror(stdout))
		return fail("stdout", -errno);
	if (close(fd) < 0)
		return fail("close", -errno);
	return 0;
}
