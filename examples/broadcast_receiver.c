/* broadcast_receiver: the receiving side of the course notes' UDP
 * broadcast (001), in C against the POSIX socket API. It prints each
 * datagram that arrives on PORT, with its sender.
 *
 *   usage: broadcast_receiver [--count N] PORT
 *          PORT 0 picks a free one; --count N stops after N datagrams
 *          (0, the default: never)
 *
 * broadcast_sender.c sends them; broadcast_receiver_sockit.c is this program
 * on libsockit. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The largest UDP payload over IPv4 (65,535 - 8 - 20): no datagram is cut. */
#define MAX_DATAGRAM 65507

static _Noreturn void die(const char *what)
{
	fprintf(stderr, "example: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* A decimal number from 0 to max, digits only; exit 2 otherwise. */
static unsigned long parse_number(const char *what, const char *text, unsigned long max)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(text, &end, 10);
	if (text[0] < '0' || text[0] > '9' || *end || errno || v > max) {
		fprintf(stderr, "example: %s '%s': not a number from 0 to %lu\n", what, text, max);
		exit(2);
	}
	return v;
}

static _Noreturn void usage(void)
{
	fprintf(stderr, "usage: broadcast_receiver [--count N] PORT\n");
	exit(2);
}

static const struct option options[] = {
	{ "count", required_argument, NULL, 'c' },
	{ NULL, 0, NULL, 0 },
};

int main(int argc, char **argv)
{
	unsigned long count = 0; /* 0: for ever */
	int ch;
	while ((ch = getopt_long(argc, argv, "c:", options, NULL)) != -1) {
		if (ch != 'c')
			usage();
		count = parse_number("--count", optarg, 1000000000);
	}
	if (argc - optind != 1)
		usage();
	unsigned short port = (unsigned short)parse_number("port", argv[optind], 65535);

	/* 1. 创建套接字 (create the socket). */
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		die("socket");
	/* SO_REUSEADDR lets several receivers on one host bind the same port;
	 * each of them gets every broadcast. */
	int on = 1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0)
		die("setsockopt SO_REUSEADDR");

	/* 2. 绑定地址和端口号 (bind) to 0.0.0.0, every address of this host.
	 * A broadcast is addressed to the network's broadcast address, not to
	 * ours: a socket bound to one unicast address, 127.0.0.1 or
	 * 192.168.1.7, never sees it. */
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(port) };
	addr.sin_addr.s_addr = htonl(INADDR_ANY);
	if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
		char what[32];
		snprintf(what, sizeof what, "bind 0.0.0.0:%u", port);
		die(what);
	}
	socklen_t addr_len = sizeof addr;
	if (getsockname(fd, (struct sockaddr *)&addr, &addr_len) < 0)
		die("getsockname");
	fprintf(stderr, "listening on 0.0.0.0:%u\n", ntohs(addr.sin_port));

	/* 3. 收发数据 (receive the data): "SENDER:PORT: TEXT" for each. */
	char buf[MAX_DATAGRAM];
	for (unsigned long received = 0; count == 0 || received < count;) {
		struct sockaddr_in peer;
		socklen_t peer_len = sizeof peer;
		ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&peer, &peer_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("recvfrom");
		received++;
		char ip[INET_ADDRSTRLEN];
		if (!inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip))
			die("inet_ntop");
		printf("%s:%u: ", ip, ntohs(peer.sin_port));
		fwrite(buf, 1, (size_t)n, stdout);
		putchar('\n');
		if (fflush(stdout) == EOF || ferror(stdout))
			die("stdout");
	}

	/* 4. 关闭套接字 (close the socket). */
	if (close(fd) < 0)
		die("close");
	return 0;
}
