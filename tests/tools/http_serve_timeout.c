/* http_serve_timeout: libsockit's HTTP server as `sockit http serve -p 0
 * -b 127.0.0.1 DIR` runs it, but with a send timeout the CLI does not
 * expose, for tests/integration/test_http.py: a client that stops reading
 * a response is dropped after BODY_TIMEOUT_MS instead of the default 60 s.
 *
 *   http_serve_timeout BODY_TIMEOUT_MS DIR
 *
 * Like the CLI it uses io_uring unless SOCKIT_IO_URING=0, prints
 * `serving on http://127.0.0.1:PORT/` on stderr and stops on SIGTERM. */
#include <sockit/err.h>
#include <sockit/http_server.h>
#include <sockit/loop.h>
#include <sockit/sock.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static void on_stop(struct sk_loop *loop, int signo, void *ud)
{
	(void)signo;
	(void)ud;
	sk_loop_stop(loop);
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "http_serve_timeout: %s: %s\n", what, sk_strerror(err));
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: http_serve_timeout BODY_TIMEOUT_MS DIR\n");
		return 2;
	}
	struct sk_http_server_opts o;
	sk_http_server_opts_init(&o);
	o.body_timeout_ms = (unsigned)strtoul(argv[1], NULL, 10);
	o.root = argv[2];
	struct sk_addr addr;
	size_t n_addrs;
	int err = sk_addr_resolve("127.0.0.1", "0", AF_INET, SOCK_STREAM, true, &addr, 1, &n_addrs);
	if (err < 0)
		return fail("resolve", err);
	struct sk_sock_opts so;
	sk_sock_opts_init(&so);
	int fd = sk_tcp_listen(&addr, &so);
	if (fd < 0)
		return fail("listen", fd);
	struct sk_addr bound;
	char text[SK_ADDR_STRLEN];
	if ((err = sk_sock_local_addr(fd, &bound)) < 0)
		return fail("getsockname", err);
	sk_addr_format(&bound, text);

	struct sk_loop *loop;
	if ((err = sk_loop_new(&loop)) < 0)
		return fail("loop", err);
	const char *v = getenv("SOCKIT_IO_URING");
	if (!v || strcmp(v, "0") != 0)
		(void)sk_loop_use_io_uring(loop); /* epoll where the kernel refuses */
	struct sk_http_server *server;
	if ((err = sk_http_server_new(loop, fd, &o, &server)) < 0) {
		sk_loop_free(loop);
		return fail(o.root, err);
	}
	sk_loop_add_signal(loop, SIGTERM, on_stop, NULL);
	fprintf(stderr, "serving on http://%s/\n", text);
	err = sk_loop_run(loop);
	sk_http_server_free(server);
	sk_loop_free(loop);
	return err < 0 ? fail("loop", err) : 0;
}
