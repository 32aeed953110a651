/* udp_server: the course notes' UDP server (004, the improved version that
 * runs forever), in C against the POSIX socket API. It answers every
 * datagram with "Ich hab keine Hunge".
 *
 *   usage: udp_server [PORT]        PORT defaults to 7852; 0 picks a free one
 *
 * The notes loop by calling the whole server again: a new socket and bind
 * for each datagram, then a second of sleep. Datagrams that arrive while no
 * socket is bound are lost (the kernel answers them with ICMP port
 * unreachable), so here one socket serves them all.
 *
 * udp_server_sockit.c is the same server on libsockit. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define DEFAULT_PORT 7852

/* The largest UDP payload over IPv4: 65,535 - 8 (UDP header) - 20 (IP
 * header). The notes' recvfrom(500) silently drops whatever a datagram
 * carries past 500 bytes; this buffer holds every datagram whole. */
#define MAX_DATAGRAM 65507

static const char reply[] = "Ich hab keine Hunge";

/* Every failure ends the same way: "example: WHAT: REASON", exit status 1. */
static _Noreturn void die(const char *what)
{
	fprintf(stderr, "example: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* "7852" → 7852. Digits only: strtoul alone would also take " 7852",
 * "+7852" and "-1" (as ULONG_MAX). */
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
	if (argc > 2) {
		fprintf(stderr, "usage: udp_server [PORT]\n");
		return 2;
	}
	unsigned short port = argc == 2 ? parse_port(argv[1]) : DEFAULT_PORT;

	/* 1. 建立socket (create the socket): AF_INET is IPv4, SOCK_DGRAM is UDP. */
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		die("socket");

	/* 2. 绑定ip和port (bind the address and port): 127.0.0.1 is this machine
	 * itself, so only programs on it can reach the server. */
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(port) };
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
		char what[32];
		snprintf(what, sizeof what, "bind 127.0.0.1:%u", port);
		die(what);
	}
	/* Port 0 asks the kernel for a free port; getsockname() tells which. */
	socklen_t addr_len = sizeof addr;
	if (getsockname(fd, (struct sockaddr *)&addr, &addr_len) < 0)
		die("getsockname");
	fprintf(stderr, "listening on 127.0.0.1:%u\n", ntohs(addr.sin_port));

	char buf[MAX_DATAGRAM];
	for (;;) {
		/* 3. 接受对方消息 (receive a message): recvfrom() waits ("死等")
		 * for the next datagram and tells who sent it. */
		struct sockaddr_in peer;
		socklen_t peer_len = sizeof peer;
		ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&peer, &peer_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("recvfrom");
		char ip[INET_ADDRSTRLEN];
		if (!inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip))
			die("inet_ntop");
		unsigned peer_port = ntohs(peer.sin_port);
		/* Network data is bytes, not a C string: it may hold a NUL, so
		 * fwrite it rather than printf("%s") it. */
		printf("received %zd bytes from %s:%u: ", n, ip, peer_port);
		fwrite(buf, 1, (size_t)n, stdout);
		putchar('\n');
		/* Into a pipe stdout is block-buffered: flush, so whoever watches
		 * sees each line when its datagram arrives. */
		if (fflush(stdout) == EOF || ferror(stdout))
			die("stdout");

		/* 4. 给对方发送反馈 (answer the sender). A failure here concerns
		 * this one client: report it and serve the next, as the notes'
		 * loop does with print(e). */
		if (sendto(fd, reply, strlen(reply), 0, (struct sockaddr *)&peer, peer_len) < 0)
			fprintf(stderr, "example: sendto %s:%u: %s\n", ip, peer_port, strerror(errno));
	}
}
