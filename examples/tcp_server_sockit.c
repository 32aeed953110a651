/* tcp_server_sockit: tcp_server.c on libsockit. Steps 1 to 3 (socket, bind,
 * listen) are sk_tcp_listen(); steps 4 to 7 (accept, receive, answer,
 * close) are the library's stream server in reply mode. It runs on an event
 * loop, so it serves many clients at once where tcp_server.c serves one at a
 * time. Its output is one line per client that comes and goes: the answers
 * themselves are the library's business.
 *
 *   usage: tcp_server_sockit [PORT]   PORT defaults to 8998; 0 picks a free one */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include <sockit/err.h>
#include <sockit/stream.h>

/* As tcp_server.c: a client silent this long is closed. */
#define CLIENT_TIMEOUT_MS 10000

static int fail(const char *what, int err)
{
	fprintf(stderr, "example: %s: %s\n", what, sk_strerror(err));
	return 1;
}

static void on_event(void *ud, enum sk_stream_event ev, const struct sk_addr *peer, int err)
{
	(void)ud;
	char text[SK_ADDR_STRLEN] = "?";
	if (peer)
		sk_addr_format(peer, text);
	if (ev == SK_STREAM_ACCEPTED)
		printf("connection from %s\n", text);
	else if (ev == SK_STREAM_CLOSED)
		printf("%s closed%s%s\n", text, err ? ": " : "", err ? sk_strerror(err) : "");
	else if (ev == SK_STREAM_ACCEPT_FAILED)
		fprintf(stderr, "example: accept: %s (retrying)\n", sk_strerror(err));
	if (fflush(stdout) == EOF || ferror(stdout))
		exit(fail("stdout", -errno));
}

static void on_stop(struct sk_loop *loop, int signo, void *ud)
{
	(void)signo;
	(void)ud;
	sk_loop_stop(loop);
}

int main(int argc, char **argv)
{
	if (argc > 2) {
		fprintf(stderr, "usage: tcp_server_sockit [PORT]\n");
		return 2;
	}
	const char *port = argc == 2 ? argv[1] : "8998";
	char what[SK_ADDR_STRLEN + 16], text[SK_ADDR_STRLEN];
	struct sk_addr addr, local;
	size_t n;
	int err = sk_addr_resolve("127.0.0.1", port, AF_INET, SOCK_STREAM, true, &addr, 1, &n);
	snprintf(what, sizeof what, "port '%.40s'", port);
	if (err < 0)
		return fail(what, err);

	/* Steps 1 to 3: socket(), SO_REUSEADDR (sk_sock_opts_init's default),
	 * bind() and listen(). */
	struct sk_sock_opts so;
	sk_sock_opts_init(&so);
	int fd = sk_tcp_listen(&addr, &so);
	sk_addr_format(&addr, text);
	snprintf(what, sizeof what, "bind %s", text);
	if (fd < 0)
		return fail(what, fd);
	if ((err = sk_sock_local_addr(fd, &local)) < 0)
		return fail("getsockname", err);

	struct sk_loop *loop;
	if ((err = sk_loop_new(&loop)) < 0)
		return fail("loop", err);
	if ((err = sk_loop_add_signal(loop, SIGINT, on_stop, NULL)) < 0 ||
	    (err = sk_loop_add_signal(loop, SIGTERM, on_stop, NULL)) < 0)
		return fail("signals", err);

	/* Steps 4 to 7. Raw framing answers each piece as it arrives, as the
	 * notes' recv(500) does; SK_FRAME_LINE would answer each line. */
	struct sk_stream_opts o;
	sk_stream_opts_init(&o);
	o.mode = SK_STREAM_REPLY;
	o.frame = SK_FRAME_RAW;
	o.idle_ms = CLIENT_TIMEOUT_MS;
	o.on_event = on_event;
	struct sk_stream_server *server;
	if ((err = sk_stream_server_new(loop, fd, &o, &server)) < 0)
		return fail("server", err);
	/* Announced only now that the signals are routed to the loop: a
	 * SIGTERM sent as soon as this line appears stops the server cleanly. */
	sk_addr_format(&local, text);
	fprintf(stderr, "listening on %s\n", text);
	err = sk_loop_run(loop);
	sk_stream_server_free(server);
	sk_loop_free(loop);
	return err < 0 ? fail("loop", err) : 0;
}
