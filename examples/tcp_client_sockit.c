/* tcp_client_sockit: tcp_client.c on libsockit. The library resolves the
 * name and connects (steps 1 and 2) with a timeout; the rest is plain POSIX.
 *
 * libsockit's sockets are non-blocking, made for an event loop. This client
 * has nothing to do but wait, so it clears O_NONBLOCK with fcntl(2) and then
 * sends and reads like tcp_client.c. (udp_client_sockit.c shows the other
 * way: keep the socket non-blocking and wait in poll(2).)
 *
 *   usage: tcp_client_sockit [HOST PORT [TEXT]]
 *          defaults: 127.0.0.1 8998 "hello" */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <sockit/err.h>
#include <sockit/sock.h>

/* Connecting and each wait for data: at most this long. */
#define TIMEOUT_MS 5000

static int fail(const char *what, int err)
{
	fprintf(stderr, "example: %s: %s\n", what, sk_strerror(err));
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 1 && argc != 3 && argc != 4) {
		fprintf(stderr, "usage: tcp_client_sockit [HOST PORT [TEXT]]\n");
		return 2;
	}
	const char *host = argc > 1 ? argv[1] : "127.0.0.1";
	const char *port = argc > 1 ? argv[2] : "8998";
	const char *text = argc > 3 ? argv[3] : "hello";
	char what[SK_ADDR_STRLEN + 16];
	struct sk_addr server;
	size_t n_addrs;
	int err = sk_addr_resolve(host, port, AF_INET, SOCK_STREAM, false, &server, 1, &n_addrs);
	snprintf(what, sizeof what, "resolve '%.40s' '%.10s'", host, port);
	if (err < 0)
		return fail(what, err);

	/* Steps 1 and 2: socket() and connect(), waiting at most TIMEOUT_MS. */
	int fd = sk_tcp_connect(&server, TIMEOUT_MS, NULL);
	if (fd < 0)
		return fail("connect", fd);
	int flags = fcntl(fd, F_GETFL);
	struct timeval timeout = { .tv_sec = TIMEOUT_MS / 1000 };
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
		return fail("fcntl O_NONBLOCK", -errno);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) < 0)
		return fail("setsockopt SO_RCVTIMEO", -errno);

	/* 3. Send the text, then shut down our sending side. A blocking send()
	 * sends everything unless a signal interrupts it; MSG_NOSIGNAL makes a
	 * closed peer an EPIPE, not a SIGPIPE. */
	size_t len = strlen(text);
	for (size_t sent = 0; sent < len;) {
		ssize_t n = send(fd, text + sent, len - sent, MSG_NOSIGNAL);
		if (n < 0 && errno != EINTR)
			return fail("send", -errno);
		sent += n > 0 ? (size_t)n : 0;
	}
	if (shutdown(fd, SHUT_WR) < 0)
		return fail("shutdown", -errno);

	/* 4. Everything the server answers, until it closes. */
	char buf[4096], last = '\n';
	ssize_t n;
	while ((n = recv(fd, buf, sizeof buf, 0)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail("recv", errno == EAGAIN ? -ETIMEDOUT : -errno);
		fwrite(buf, 1, (size_t)n, stdout);
		last = buf[n - 1];
	}
	if (last != '\n')
		putchar('\n');
	if (fflush(stdout) == EOF || ferror(stdout))
		return fail("stdout", -errno);

	/* 5. Close. */
	if (close(fd) < 0)
		return fail("close", -errno);
	return 0;
}
