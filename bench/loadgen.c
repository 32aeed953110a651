/* loadgen: the client side of bench/tcp.sh and bench/udp.sh, in C so the
 * client costs the same for every server measured (a Python client would
 * dominate the times and hide the servers' differences).
 *
 *   loadgen latency HOST PORT N SIZE        N sequential SIZE-byte round trips
 *   loadgen throughput HOST PORT C SECS SIZE  C connections echoing SIZE-byte
 *                                           messages for SECS; prints bytes/s
 *   loadgen idle HOST PORT N                open N connections, print "ready",
 *                                           hold them until stdin closes
 *   loadgen udp HOST PORT SECS SIZE WINDOW  datagram echo rate, WINDOW in flight
 *   loadgen http HOST PORT PATH C SECS READ C keep-alive connections GETting
 *                                           PATH for SECS, reading READ bytes
 *                                           per call; prints requests/s, bytes/s
 *
 * Prints one line: the figure and its unit. Exits 1 on any error. Talks only
 * to the address it is given (the scripts give it 127.0.0.1). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
	exit(1);
}

static struct sockaddr_in target(const char *host, const char *port)
{
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons((unsigned short)atoi(port));
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
		fprintf(stderr, "loadgen: %s: not an IPv4 address\n", host);
		exit(1);
	}
	return a;
}

static int connect_to(const struct sockaddr_in *a)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket");
	if (connect(fd, (const struct sockaddr *)a, sizeof *a) < 0)
		die("connect");
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

static void read_exactly(int fd, char *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);
		if (n <= 0) {
			if (n == 0)
				errno = ECONNRESET;
			die("read");
		}
		got += (size_t)n;
	}
}

static int latency(const struct sockaddr_in *a, long n, size_t size)
{
	int fd = connect_to(a);
	char *out = malloc(size), *in = malloc(size);
	memset(out, 'x', size);
	double t0 = now();
	for (long i = 0; i < n; i++) {
		if (write(fd, out, size) != (ssize_t)size)
			die("write");
		read_exactly(fd, in, size);
	}
	double dt = now() - t0;
	printf("%.2f us/roundtrip\n", dt / (double)n * 1e6);
	close(fd);
	return 0;
}

/* C connections, each keeping one SIZE-byte message in flight. */
static int throughput(const struct sockaddr_in *a, int conns, double secs, size_t size)
{
	int ep = epoll_create1(0);
	int *fds = calloc((size_t)conns, sizeof *fds);
	size_t *pending = calloc((size_t)conns, sizeof *pending);
	char *msg = malloc(size), *buf = malloc(65536);
	memset(msg, 'y', size);
	for (int i = 0; i < conns; i++) {
		fds[i] = connect_to(a);
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
		epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
		if (write(fds[i], msg, size) != (ssize_t)size)
			die("write");
		pending[i] = size;
	}
	unsigned long long bytes = 0;
	double t0 = now(), end = t0 + secs;
	struct epoll_event evs[256];
	while (now() < end) {
		int n = epoll_wait(ep, evs, 256, 100);
		for (int k = 0; k < n; k++) {
			int i = (int)evs[k].data.u32;
			ssize_t r = read(fds[i], buf, 65536);
			if (r <= 0)
				die("read");
			bytes += (unsigned long long)r;
			pending[i] -= (size_t)r;
			if (pending[i] == 0) {
				if (write(fds[i], msg, size) != (ssize_t)size)
					die("write");
				pending[i] = size;
			}
		}
	}
	double dt = now() - t0;
	printf("%.0f bytes/s %.0f msgs/s\n", (double)bytes / dt, (double)bytes / dt / (double)size);
	return 0;
}

static int idle(const struct sockaddr_in *a, int n)
{
	struct rlimit rl = { (rlim_t)n + 64, (rlim_t)n + 64 };
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		die("setrlimit");
	for (int i = 0; i < n; i++)
		connect_to(a);
	printf("ready\n");
	fflush(stdout);
	char c;
	while (read(STDIN_FILENO, &c, 1) > 0)
		;
	return 0;
}

static int udp_rate(const struct sockaddr_in *a, double secs, size_t size, int window)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (const struct sockaddr *)a, sizeof *a) < 0)
		die("udp socket");
	char *msg = malloc(size), buf[65536];
	memset(msg, 'z', size);
	int in_flight = 0;
	unsigned long long replies = 0;
	double t0 = now(), end = t0 + secs;
	while (now() < end) {
		while (in_flight < window) {
			if (send(fd, msg, size, 0) < 0)
				die("send");
			in_flight++;
		}
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 50) <= 0) {
			in_flight = 0; /* datagrams lost: refill the window */
			continue;
		}
		while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0) {
			replies++;
			in_flight--;
		}
	}
	double dt = now() - t0;
	printf("%.0f datagrams/s\n", (double)replies / dt);
	return 0;
}

/* One keep-alive HTTP/1.1 connection of `loadgen http`: the head being
 * read, then how much of the body is left. */
struct http_conn {
	int fd;
	char head[8192];
	size_t head_len;      /* bytes of the head read so far */
	long long body_left;  /* -1 while the head is being read */
};

static void http_request(struct http_conn *c, const char *req, size_t req_len)
{
	if (write(c->fd, req, req_len) != (ssize_t)req_len)
		die("write");
	c->head_len = 0;
	c->body_left = -1;
}

/* Takes the head's bytes from p[0..n); returns how many belong to the head,
 * having set body_left once the head is complete. Exits on anything but a
 * 200 with a Content-Length: the figure must count whole, good responses. */
static size_t http_take_head(struct http_conn *c, const char *p, size_t n)
{
	size_t room = sizeof c->head - 1 - c->head_len, take = n < room ? n : room;
	memcpy(c->head + c->head_len, p, take);
	size_t old = c->head_len;
	c->head_len += take;
	c->head[c->head_len] = 0;
	char *end = strstr(c->head, "\r\n\r\n");
	if (!end) {
		if (c->head_len == sizeof c->head - 1) {
			fprintf(stderr, "loadgen: a response head over %zu bytes\n", sizeof c->head);
			exit(1);
		}
		return take;
	}
	*end = 0;
	if (strncmp(c->head, "HTTP/1.1 200 ", 13) != 0) {
		fprintf(stderr, "loadgen: not a 200: %.60s\n", c->head);
		exit(1);
	}
	const char *cl = strcasestr(c->head, "\r\ncontent-length:");
	if (!cl) {
		fprintf(stderr, "loadgen: a response without Content-Length\n");
		exit(1);
	}
	c->body_left = atoll(cl + 17);
	return (size_t)(end + 4 - c->head) - old;
}

static int http_load(const struct sockaddr_in *a, const char *path, int conns, double secs,
                     size_t read_size)
{
	char req[1024];
	int req_len = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s:%u\r\n\r\n", path,
	                       inet_ntoa(a->sin_addr), ntohs(a->sin_port));
	if (req_len <= 0 || (size_t)req_len >= sizeof req) {
		fprintf(stderr, "loadgen: path too long\n");
		return 1;
	}
	int ep = epoll_create1(0);
	struct http_conn *cs = calloc((size_t)conns, sizeof *cs);
	char *buf = malloc(read_size);
	if (!cs || !buf)
		die("malloc");
	for (int i = 0; i < conns; i++) {
		cs[i].fd = connect_to(a);
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
		epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
		http_request(&cs[i], req, (size_t)req_len);
	}
	unsigned long long bytes = 0, responses = 0;
	double t0 = now(), end = t0 + secs;
	struct epoll_event evs[256];
	while (now() < end) {
		int n = epoll_wait(ep, evs, 256, 100);
		for (int k = 0; k < n; k++) {
			struct http_conn *c = &cs[evs[k].data.u32];
			ssize_t r = read(c->fd, buf, read_size);
			if (r <= 0) {
				if (r == 0)
					errno = ECONNRESET;
				die("read");
			}
			bytes += (unsigned long long)r;
			size_t at = 0;
			if (c->body_left < 0)
				at = http_take_head(c, buf, (size_t)r);
			if (c->body_left < 0)
				continue;
			if ((long long)((size_t)r - at) > c->body_left) {
				fprintf(stderr, "loadgen: more bytes than Content-Length said\n");
				return 1;
			}
			c->body_left -= (long long)((size_t)r - at);
			if (c->body_left == 0) {
				responses++;
				http_request(c, req, (size_t)req_len);
			}
		}
	}
	double dt = now() - t0;
	printf("%.0f requests/s %.0f bytes/s\n", (double)responses / dt, (double)bytes / dt);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 6 && strcmp(argv[1], "latency") == 0) {
		struct sockaddr_in a = target(argv[2], argv[3]);
		return latency(&a, atol(argv[4]), (size_t)atol(argv[5]));
	}
	if (argc >= 7 && strcmp(argv[1], "throughput") == 0) {
		struct sockaddr_in a = target(argv[2], argv[3]);
		return throughput(&a, atoi(argv[4]), atof(argv[5]), (size_t)atol(argv[6]));
	}
	if (argc >= 5 && strcmp(argv[1], "idle") == 0) {
		struct sockaddr_in a = target(argv[2], argv[3]);
		return idle(&a, atoi(argv[4]));
	}
	if (argc >= 7 && strcmp(argv[1], "udp") == 0) {
		struct sockaddr_in a = target(argv[2], argv[3]);
		return udp_rate(&a, atof(argv[4]), (size_t)atol(argv[5]), atoi(argv[6]));
	}
	if (argc >= 8 && strcmp(argv[1], "http") == 0) {
		struct sockaddr_in a = target(argv[2], argv[3]);
		return http_load(&a, argv[4], atoi(argv[5]), atof(argv[6]), (size_t)atol(argv[7]));
	}
	fprintf(stderr, "usage: loadgen latency|throughput|idle|udp|http HOST PORT ...\n");
	return 2;
}
