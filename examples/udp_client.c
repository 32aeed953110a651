/* udp_client: the course notes' UDP client (004), in C against the POSIX
 * socket API. It sends one datagram and prints the answer.
 *
 *   usage: udp_client [HOST PORT [TEXT]]
 *          defaults: 127.0.0.1 7852 "I love jingjing"
 *
 * Two changes from the notes, both because UDP promises nothing:
 *   - the socket is connect()ed to the server, so the kernel passes on only
 *     the server's datagrams (anyone may send to our port), and an ICMP
 *     "port unreachable" comes back as ECONNREFUSED at once;
 *   - the answer is awaited for 5 s, not forever: a lost datagram is never
 *     sent again, and the notes' client would wait for it to the end of time.
 *
 * udp_client_sockit.c is the same client on libsockit. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define REPLY_TIMEOUT_S 5

/* The largest UDP payload over IPv4 (65,535 - 8 - 20): no answer is cut. */
#define MAX_DATAGRAM 65507

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

/* HOST (a name or an address) and PORT → an IPv4 socket address. */
static struct sockaddr_in resolve(const char *host, unsigned short port)
{
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_DGRAM };
	struct addrinfo *res;
	int rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc != 0) {
		fprintf(stderr, "example: resolve '%s': %s\n", host,
		        rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		exit(1);
	}
	struct sockaddr_in addr;
	memcpy(&addr, res->ai_addr, sizeof addr);
	freeaddrinfo(res);
	addr.sin_port = htons(port);
	return addr;
}

int main(int argc, char **argv)
{
	if (argc != 1 && argc != 3 && argc != 4) {
		fprintf(stderr, "usage: udp_client [HOST PORT [TEXT]]\n");
		return 2;
	}
	const char *host = argc > 1 ? argv[1] : "127.0.0.1";
	unsigned short port = argc > 1 ? parse_port(argv[2]) : 7852;
	const char *text = argc > 3 ? argv[3] : "I love jingjing";
	struct sockaddr_in server = resolve(host, port);

	/* 1. 建立通信的socket (create the socket). */
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		die("socket");
	struct timeval timeout = { .tv_sec = REPLY_TIMEOUT_S };
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) < 0)
		die("setsockopt SO_RCVTIMEO");
	/* No handshake: connect() on a UDP socket only records the peer. */
	if (connect(fd, (struct sockaddr *)&server, sizeof server) < 0)
		die("connect");

	/* 2. 发送内容到指定服务器 (send the text to the server). send() on the
	 * connected socket is the notes' sendto(data, addr). */
	if (send(fd, text, strlen(text), 0) < 0)
		die("send");

	/* 3. 接受服务器给定的反馈内容 (receive the server's answer). */
	char buf[MAX_DATAGRAM];
	ssize_t n;
	do
		n = recv(fd, buf, sizeof buf, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		fprintf(stderr, "example: recv: no reply within %d s\n", REPLY_TIMEOUT_S);
		return 1;
	}
	if (n < 0)
		die("recv");
	fwrite(buf, 1, (size_t)n, stdout);
	if (n == 0 || buf[n - 1] != '\n')
		putchar('\n');
	if (fflush(stdout) == EOF || ferror(stdout))
		die("stdout");

	if (close(fd) < 0)
		die("close");
	return 0;
}
