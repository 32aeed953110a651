/* broadcast_sender_sockit: broadcast_sender.c on libsockit: open an unbound
 * UDP socket, allow broadcast, send.
 *
 *   usage: broadcast_sender_sockit BCAST_ADDR PORT TEXT
 *
 * `sockit udp send --broadcast ADDR PORT TEXT` does the same, and
 * `sockit udp send --iface eth0 PORT TEXT` finds eth0's broadcast address. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sockit/err.h>
#include <sockit/sock.h>

static int fail(const char *what, int err)
{
	fprintf(stderr, "example: %s: %s\n", what, sk_strerror(err));
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: broadcast_sender_sockit BCAST_ADDR PORT TEXT\n");
		return 2;
	}
	char what[SK_ADDR_STRLEN + 16], text[SK_ADDR_STRLEN];
	struct sk_addr to;
	size_t n_addrs;
	int err = sk_addr_resolve(argv[1], argv[2], AF_INET, SOCK_DGRAM, false, &to, 1, &n_addrs);
	snprintf(what, sizeof what, "resolve '%.40s' '%.10s'", argv[1], argv[2]);
	if (err < 0)
		return fail(what, err);
	sk_addr_format(&to, text);

	/* 1. The socket; 2. no bind: the kernel picks our port. */
	struct sk_sock_opts so;
	sk_sock_opts_init(&so);
	int fd = sk_udp_open(NULL, AF_INET, &so);
	if (fd < 0)
		return fail("socket", fd);
	/* SO_BROADCAST: without it sendto() to a broadcast address is EACCES. */
	if ((err = sk_sock_set_broadcast(fd, true, NULL)) < 0)
		return fail("setsockopt SO_BROADCAST", err);

	/* 3. Send. The socket is non-blocking, but one datagram into an empty
	 * socket buffer never meets EAGAIN. */
	ssize_t n = sendto(fd, argv[3], strlen(argv[3]), 0, &to.u.sa, to.len);
	snprintf(what, sizeof what, "sendto %s", text);
	if (n < 0)
		return fail(what, -errno);
	printf("sent %zd bytes to %s\n", n, text);
	if (fflush(stdout) == EOF || ferror(stdout))
		return fail("stdout", -errno);

	/* 4. Close. */
	if (close(fd) < 0)
		return fail("close", -errno);
	return 0;
}
