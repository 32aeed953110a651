/* broadcast_sender: the course notes' UDP broadcast (001), in C against the
 * POSIX socket API. It sends one datagram to every host of a network.
 *
 *   usage: broadcast_sender BCAST_ADDR PORT TEXT
 *          e.g. broadcast_sender 192.168.1.255 9999 hello
 *
 * The broadcast address is "网段中的最大地址", the network's highest
 * address: 192.168.1.255 for 192.168.1.0/24. `ip -4 addr` shows it after
 * "brd", and `sockit ip 192.168.1.7/24` computes it. 255.255.255.255 means
 * "the network this host is on", whichever that is. Routers never forward
 * a broadcast: it stays on the local network.
 *
 * broadcast_receiver.c receives it; broadcast_sender_sockit.c is this
 * program on libsockit. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static _Noreturn void die(const char *what)
{
	fprintf(stderr, "example: %s: %s\n", what, strerror(errno));
	exit(1);
}

static unsigned short parse_port(const char *text)
{
	char *end;
	errno = 0;
	unsigned long port = strtoul(text, &end, 10);
	if (text[0] < '0' || text[0] > '9' || *end || errno || port > 65535) {
		fprintf(stderr, "example: port '%s': not a port number (0-65535)\n", text);
		exit(2);
	}
	return (unsigned short)port;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: broadcast_sender BCAST_ADDR PORT TEXT\n");
		return 2;
	}
	/* A broadcast address is a number, never a host name. */
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(parse_port(argv[2])) };
	if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) {
		fprintf(stderr, "example: address '%s': not an IPv4 address\n", argv[1]);
		return 2;
	}
	const char *text = argv[3];

	/* 1. 创建套接字 (create the socket): broadcast is UDP only; TCP
	 * connects two hosts, a broadcast reaches them all. */
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		die("socket");

	/* 2. 绑定地址和端口号 (bind) is optional for a sender, and skipped: the
	 * kernel picks a free port at the first sendto(). */

	/* 设置广播选项 (allow broadcast). A broadcast lands on every host of
	 * the network, so the program must ask for it: without SO_BROADCAST,
	 * sendto() to a broadcast address fails with EACCES. */
	int on = 1;
	if (setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &on, sizeof on) < 0)
		die("setsockopt SO_BROADCAST");

	/* 3. 收发数据 (send the data) to the broadcast address. */
	ssize_t n = sendto(fd, text, strlen(text), 0, (struct sockaddr *)&to, sizeof to);
	if (n < 0)
		die("sendto");
	printf("sent %zd bytes to %s:%u\n", n, argv[1], ntohs(to.sin_port));
	if (fflush(stdout) == EOF || ferror(stdout))
		die("stdout");

	/* 4. 关闭套接字 (close the socket). */
	if (close(fd) < 0)
		die("close");
	return 0;
}
