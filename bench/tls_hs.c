/* tls_hs: the client side of bench/tls.sh's handshake point: full TLS
 * handshakes, as many as it can, with C in flight at once (non-blocking,
 * epoll), for SECS seconds. Each is a new TCP connection and a new SSL with
 * no session offered (no resumption), then close_notify and close. The
 * certificate is not verified: the servers are what is measured, and this
 * client's cost is the same for each of them.
 *
 *   tls_hs HOST PORT C SECS      prints "N handshakes in S s"
 *
 * Exits 1 on any failed connection or handshake. Talks only to the address
 * it is given (bench/https_bench.py gives it 127.0.0.1). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

struct slot {
	int fd;
	SSL *ssl;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int start(struct slot *s, SSL_CTX *ctx, const struct sockaddr_in *to, int ep)
{
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (s->fd < 0)
		return -1;
	int one = 1;
	setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(s->fd, (const struct sockaddr *)to, sizeof *to) < 0 && errno != EINPROGRESS)
		return -1;
	s->ssl = SSL_new(ctx);
	if (!s->ssl || !SSL_set_fd(s->ssl, s->fd))
		return -1;
	SSL_set_connect_state(s->ssl);
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = s };
	return epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev);
}

static void finish(struct slot *s)
{
	SSL_shutdown(s->ssl); /* close_notify; the server's is not awaited */
	SSL_free(s->ssl);
	close(s->fd);
}

/* 1: handshake done, 0: in progress (events updated), -1: failed. */
static int step(struct slot *s, int ep)
{
	int r = SSL_do_handshake(s->ssl);
	if (r == 1)
		return 1;
	int e = SSL_get_error(s->ssl, r);
	if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
		ERR_print_errors_fp(stderr);
		return -1;
	}
	struct epoll_event ev = { .events = e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT,
	                          .data.ptr = s };
	return epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev) < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: tls_hs HOST PORT C SECS\n");
		return 2;
	}
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2])) };
	if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) {
		fprintf(stderr, "tls_hs: '%s' is not an IPv4 address\n", argv[1]);
		return 2;
	}
	int c = atoi(argv[3]);
	double secs = atof(argv[4]);
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	int ep = epoll_create1(0);
	struct slot *slots = calloc((size_t)c, sizeof *slots);
	if (!ctx || ep < 0 || !slots || c < 1 || secs <= 0)
		return 1;
	for (int i = 0; i < c; i++) {
		if (start(&slots[i], ctx, &to, ep) < 0) {
			perror("tls_hs: start");
			return 1;
		}
	}
	long done = 0;
	double t0 = now(), end = t0 + secs;
	struct epoll_event evs[64];
	while (now() < end) {
		int n = epoll_wait(ep, evs, 64, 100);
		for (int i = 0; i < n; i++) {
			struct slot *s = evs[i].data.ptr;
			int r = step(s, ep);
			if (r < 0) {
				fprintf(stderr, "tls_hs: handshake failed\n");
				return 1;
			}
			if (r == 0)
				continue;
			done++;
			finish(s);
			if (start(s, ctx, &to, ep) < 0) {
				perror("tls_hs: start");
				return 1;
			}
		}
	}
	printf("%ld handshakes in %.3f s\n", done, now() - t0);
	return 0;
}
