/* tcp_server: the course notes' TCP server (004), in C against the POSIX
 * socket API. It answers every message with
 * "Received msg: MSG from ('IP', PORT)" (Python's picture of the address
 * tuple) and prints that answer too.
 *
 *   usage: tcp_server [PORT]        PORT defaults to 8998; 0 picks a free one
 *
 * Where the notes read once per client and close, this server keeps reading
 * and answering until the client closes its side. It serves one client at a
 * time, as the notes' does: the next ones wait in the listen queue.
 * tcp_server_sockit.c serves many at once, on libsockit's event loop.
 *
 * TCP carries bytes, not messages: one recv() returns what has arrived so
 * far, so one message may come in two pieces and two messages in one
 * ("粘包"). Each piece gets its own answer, as in the notes. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define DEFAULT_PORT 8998

/* Bytes read at a time; the notes read 500. */
#define CHUNK 4096

/* One client at a time means one client that connects and then says
 * nothing (or never reads) would hold off every other one for ever: give
 * each this long to send or take data. */
#define CLIENT_TIMEOUT_S 10

static const char lead[] = "Received msg: ";

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

/* send() may take only part of the bytes when the socket buffer is full:
 * loop until all are sent. MSG_NOSIGNAL: a client that has gone away makes
 * send() fail with EPIPE instead of raising a SIGPIPE that kills the server. */
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

/* Steps 5 and 6 for one client, until it closes its side or fails. */
static void serve_client(int fd, const char *ip, unsigned port)
{
	char msg[CHUNK];
	char answer[sizeof lead + CHUNK + INET_ADDRSTRLEN + 32];
	for (;;) {
		/* 5. 接受对方的发送内容 (receive what the client sends), on the
		 * socket accept() made for this client. 0 bytes: it has closed. */
		ssize_t n = recv(fd, msg, sizeof msg, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			fprintf(stderr, "example: %s:%u: idle for %d s, closing\n", ip, port, CLIENT_TIMEOUT_S);
			return;
		}
		if (n < 0) {
			fprintf(stderr, "example: recv %s:%u: %s\n", ip, port, strerror(errno));
			return;
		}
		if (n == 0)
			return;

		/* The notes' "Received msg: {0} from {1}".format(msg, addr). The
		 * message is bytes that may hold a NUL, so it is copied, not
		 * formatted with %s. */
		size_t len = sizeof lead - 1;
		memcpy(answer, lead, len);
		memcpy(answer + len, msg, (size_t)n);
		len += (size_t)n;
		len += (size_t)snprintf(answer + len, sizeof answer - len, " from ('%s', %u)", ip, port);
		fwrite(answer, 1, len, stdout);
		putchar('\n');
		if (fflush(stdout) == EOF || ferror(stdout))
			die("stdout");

		/* 6. 给对方发送反馈信息 (answer the client). */
		if (send_all(fd, answer, len) < 0) {
			fprintf(stderr, "example: send %s:%u: %s\n", ip, port,
			        errno == EAGAIN ? "not reading, closing" : strerror(errno));
			return;
		}
	}
}

int main(int argc, char **argv)
{
	if (argc > 2) {
		fprintf(stderr, "usage: tcp_server [PORT]\n");
		return 2;
	}
	unsigned short port = argc == 2 ? parse_port(argv[1]) : DEFAULT_PORT;

	/* 1. 建立socket (create the socket). SOCK_STREAM is TCP. This socket
	 * only takes connections; each client is served on a new socket that
	 * accept() returns. */
	int listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (listen_fd < 0)
		die("socket");
	/* Without SO_REUSEADDR a restarted server cannot bind its port while
	 * the previous run's connections sit in TIME_WAIT (60 s on Linux). */
	int on = 1;
	if (setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0)
		die("setsockopt SO_REUSEADDR");

	/* 2. 绑定端口和地址 (bind the address and port). */
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(port) };
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(listen_fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
		char what[32];
		snprintf(what, sizeof what, "bind 127.0.0.1:%u", port);
		die(what);
	}
	socklen_t addr_len = sizeof addr;
	if (getsockname(listen_fd, (struct sockaddr *)&addr, &addr_len) < 0)
		die("getsockname");

	/* 3. 监听接入的访问socket (listen): the kernel now completes
	 * handshakes by itself and queues the connections for accept().
	 * SOMAXCONN is the longest queue it allows. */
	if (listen(listen_fd, SOMAXCONN) < 0)
		die("listen");
	fprintf(stderr, "listening on 127.0.0.1:%u\n", ntohs(addr.sin_port));

	for (;;) {
		/* 4. 接受访问的socket (accept a connection): a new socket for
		 * this client, and its address. */
		struct sockaddr_in peer;
		socklen_t peer_len = sizeof peer;
		int fd = accept(listen_fd, (struct sockaddr *)&peer, &peer_len);
		/* ECONNABORTED: the client gave up while queued; not our failure. */
		if (fd < 0 && (errno == EINTR || errno == ECONNABORTED))
			continue;
		if (fd < 0)
			die("accept");
		char ip[INET_ADDRSTRLEN];
		if (!inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip))
			die("inet_ntop");
		struct timeval timeout = { .tv_sec = CLIENT_TIMEOUT_S };
		if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) < 0 ||
		    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout) < 0)
			die("setsockopt SO_RCVTIMEO/SO_SNDTIMEO");

		serve_client(fd, ip, ntohs(peer.sin_port));

		/* 7. 关闭链接通路 (close the connection). Only this client's
		 * socket: the listening one goes on. */
		if (close(fd) < 0)
			fprintf(stderr, "example: close %s:%u: %s\n", ip, ntohs(peer.sin_port), strerror(errno));
	}
}
