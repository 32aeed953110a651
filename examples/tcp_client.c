/* tcp_client: the course notes' TCP client (004), in C against the POSIX
 * socket API. It sends one text and prints everything the server answers.
 *
 *   usage: tcp_client [HOST PORT [TEXT]]
 *          defaults: 127.0.0.1 8998 "hello"
 *
 * The notes' client reads once, recv(500), and closes: an answer that
 * arrives in two pieces, or is longer than 500 bytes, is cut. This one
 * says "that is all" with shutdown(SHUT_WR) and reads until the server
 * closes. It waits at most 5 s for each piece of the answer.
 *
 * tcp_client_sockit.c is the same client on libsockit. */
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
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM };
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

/* send() may take only part of the bytes: loop until all are sent.
 * MSG_NOSIGNAL: a server that has gone away gives EPIPE, not SIGPIPE. */
static int send_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 1 && argc != 3 && argc != 4) {
		fprintf(stderr, "usage: tcp_client [HOST PORT [TEXT]]\n");
		return 2;
	}
	const char *host = argc > 1 ? argv[1] : "127.0.0.1";
	unsigned short port = argc > 1 ? parse_port(argv[2]) : 8998;
	const char *text = argc > 3 ? argv[3] : "hello";
	struct sockaddr_in server = resolve(host, port);

	/* 1. 建立通信socket (create the socket). */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket");
	struct timeval timeout = { .tv_sec = REPLY_TIMEOUT_S };
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) < 0)
		die("setsockopt SO_RCVTIMEO");

	/* 2. 链接对方,请求跟对方建立通路 (connect: the three-way handshake).
	 * Nothing listening: ECONNREFUSED at once. No answer at all: the
	 * kernel gives up after about two minutes. */
	if (connect(fd, (struct sockaddr *)&server, sizeof server) < 0)
		die("connect");

	/* 3. 发送内容到对方服务器 (send the text), then shut down our sending
	 * side: the server reads the end of the stream, and can still answer. */
	if (send_all(fd, text, strlen(text)) < 0)
		die("send");
	if (shutdown(fd, SHUT_WR) < 0)
		die("shutdown");

	/* 4. 接受对方的反馈 (receive the answer), until the server closes. */
	char buf[4096];
	char last = '\n';
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			fprintf(stderr, "example: recv: nothing for %d s\n", REPLY_TIMEOUT_S);
			return 1;
		}
		if (n < 0)
			die("recv");
		if (n == 0)
			break;
		fwrite(buf, 1, (size_t)n, stdout);
		last = buf[n - 1];
	}
	if (last != '\n')
		putchar('\n');
	if (fflush(stdout) == EOF || ferror(stdout))
		die("stdout");

	/* 5. 关闭链接通路 (close the connection). */
	if (close(fd) < 0)
		die("close");
	return 0;
}
