/* udp_server_sockit: udp_server.c on libsockit. Steps 1 and 2 (socket,
 * bind) are sk_udp_open(); steps 3 and 4 (receive, answer) are the
 * library's datagram server in reply mode, which reads and answers in
 * batches from an event loop, so the same process could serve TCP as well
 * (that is `sockit serve`).
 *
 *   usage: udp_server_sockit [PORT]   PORT defaults to 7852; 0 picks a free one */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sockit/dgram.h>
#include <sockit/err.h>

static const char reply[] = "Ich hab keine Hunge";

static int fail(const char *what, int err)
{
	fprintf(stderr, "example: %s: %s\n", what, sk_strerror(err));
	return 1;
}

/* Called for each datagram before the server answers it. */
static void on_datagram(void *ud, const char *data, size_t len, const struct sk_addr *from,
                        bool truncated)
{
	(void)ud;
	(void)truncated; /* never: the library's buffers hold any UDP payload */
	char text[SK_ADDR_STRLEN];
	sk_addr_format(from, text);
	printf("received %zu bytes from %s: ", len, text);
	fwrite(data, 1, len, stdout);
	putchar('\n');
	if (fflush(stdout) == EOF || ferror(stdout))
		exit(fail("stdout", -errno));
}

/* One client's trouble (a full send buffer …) is reported, not fatal. */
static void on_error(void *ud, int err, const struct sk_addr *peer)
{
	(void)ud;
	char text[SK_ADDR_STRLEN] = "?";
	if (peer)
		sk_addr_format(peer, text);
	fprintf(stderr, "example: %s: %s (still serving)\n", text, sk_strerror(err));
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
		fprintf(stderr, "usage: udp_server_sockit [PORT]\n");
		return 2;
	}
	const char *port = argc == 2 ? argv[1] : "7852";
	char what[SK_ADDR_STRLEN + 16], text[SK_ADDR_STRLEN];
	struct sk_addr addr, local;
	size_t n;
	int err = sk_addr_resolve("127.0.0.1", port, AF_INET, SOCK_DGRAM, true, &addr, 1, &n);
	snprintf(what, sizeof what, "port '%.40s'", port);
	if (err < 0)
		return fail(what, err);

	/* Steps 1 and 2: socket() and bind(). */
	struct sk_sock_opts so;
	sk_sock_opts_init(&so);
	int fd = sk_udp_open(&addr, 0, &so);
	sk_addr_format(&addr, text);
	snprintf(what, sizeof what, "bind %s", text);
	if (fd < 0)
		return fail(what, fd);
	if ((err = sk_sock_local_addr(fd, &local)) < 0)
		return fail("getsockname", err);

	struct sk_loop *loop;
	if ((err = sk_loop_new(&loop)) < 0)
		return fail("loop", err);
	/* Ctrl-C and kill stop the loop, so everything is freed on the way out. */
	if ((err = sk_loop_add_signal(loop, SIGINT, on_stop, NULL)) < 0 ||
	    (err = sk_loop_add_signal(loop, SIGTERM, on_stop, NULL)) < 0)
		return fail("signals", err);

	/* Steps 3 and 4: receive each datagram and answer it with reply. */
	struct sk_dgram_opts o;
	sk_dgram_opts_init(&o);
	o.mode = SK_DGRAM_REPLY;
	o.reply_text = reply;
	o.reply_text_len = strlen(reply);
	/* The notes' answer is longer than their message ("I love jingjing"):
	 * allowed here, though to a forged sender it is free amplification. */
	o.allow_amplify = true;
	o.on_datagram = on_datagram;
	o.on_error = on_error;
	struct sk_dgram_server *server;
	if ((err = sk_dgram_server_new(loop, fd, &o, &server)) < 0)
		return fail("server", err);
	/* Announced only now that the signals are routed to the loop: a
	 * SIGTERM sent as soon as this line appears stops the server cleanly. */
	sk_addr_format(&local, text);
	fprintf(stderr, "listening on %s\n", text);
	err = sk_loop_run(loop);
	sk_dgram_server_free(server);
	sk_loop_free(loop);
	return err < 0 ? fail("loop", err) : 0;
}
