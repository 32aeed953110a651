/* broadcast_receiver_sockit: broadcast_receiver.c on libsockit: a UDP
 * socket bound to 0.0.0.0:PORT and the library's datagram server, which
 * hands each datagram to on_datagram().
 *
 *   usage: broadcast_receiver_sockit [--count N] PORT
 *          PORT 0 picks a free one; --count N stops after N datagrams
 *          (0, the default: never)
 *
 * `sockit udp listen -4 PORT` prints datagrams the same way. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include <sockit/dgram.h>
#include <sockit/err.h>

struct receiver {
	struct sk_loop *loop;
	unsigned long count, received;
};

static int fail(const char *what, int err)
{
	fprintf(stderr, "example: %s: %s\n", what, sk_strerror(err));
	return 1;
}

static _Noreturn void usage(void)
{
	fprintf(stderr, "usage: broadcast_receiver_sockit [--count N] PORT\n");
	exit(2);
}

/* 3. Each datagram: "SENDER:PORT: TEXT". */
static void on_datagram(void *ud, const char *data, size_t len, const struct sk_addr *from,
                        bool truncated)
{
	struct receiver *r = ud;
	(void)truncated; /* never: the library's buffers hold any UDP payload */
	/* The server reads datagrams in batches: some may follow the last one
	 * counted within the same batch. */
	if (r->count && r->received == r->count)
		return;
	char text[SK_ADDR_STRLEN];
	sk_addr_format(from, text);
	printf("%s: ", text);
	fwrite(data, 1, len, stdout);
	putchar('\n');
	if (fflush(stdout) == EOF || ferror(stdout))
		exit(fail("stdout", -errno));
	if (++r->received == r->count)
		sk_loop_stop(r->loop);
}

static void on_stop(struct sk_loop *loop, int signo, void *ud)
{
	(void)signo;
	(void)ud;
	sk_loop_stop(loop);
}

static const struct option options[] = {
	{ "count", required_argument, NULL, 'c' },
	{ NULL, 0, NULL, 0 },
};

int main(int argc, char **argv)
{
	struct receiver r = { 0 };
	int ch;
	while ((ch = getopt_long(argc, argv, "c:", options, NULL)) != -1) {
		char *end;
		if (ch != 'c' || optarg[0] < '0' || optarg[0] > '9')
			usage();
		errno = 0;
		r.count = strtoul(optarg, &end, 10);
		if (*end || errno)
			usage();
	}
	if (argc - optind != 1)
		usage();
	const char *port = argv[optind];
	char what[SK_ADDR_STRLEN + 16], text[SK_ADDR_STRLEN];
	struct sk_addr addr, local;
	size_t n;
	/* No host and passive: the wildcard address, 0.0.0.0 (see
	 * broadcast_receiver.c for why a receiver binds it). */
	int err = sk_addr_resolve(NULL, port, AF_INET, SOCK_DGRAM, true, &addr, 1, &n);
	snprintf(what, sizeof what, "port '%.40s'", port);
	if (err < 0)
		return fail(what, err);

	/* 1 and 2: socket(), SO_REUSEADDR (share_port: several receivers can
	 * share the port, as broadcast listeners usually do) and bind(). */
	struct sk_sock_opts so;
	sk_sock_opts_init(&so);
	so.share_port = true;
	int fd = sk_udp_open(&addr, 0, &so);
	sk_addr_format(&addr, text);
	snprintf(what, sizeof what, "bind %s", text);
	if (fd < 0)
		return fail(what, fd);
	if ((err = sk_sock_local_addr(fd, &local)) < 0)
		return fail("getsockname", err);

	if ((err = sk_loop_new(&r.loop)) < 0)
		return fail("loop", err);
	if ((err = sk_loop_add_signal(r.loop, SIGINT, on_stop, NULL)) < 0 ||
	    (err = sk_loop_add_signal(r.loop, SIGTERM, on_stop, NULL)) < 0)
		return fail("signals", err);
	struct sk_dgram_opts o;
	sk_dgram_opts_init(&o);
	o.mode = SK_DGRAM_DELIVER;
	o.on_datagram = on_datagram;
	o.ud = &r;
	struct sk_dgram_server *server;
	if ((err = sk_dgram_server_new(r.loop, fd, &o, &server)) < 0)
		return fail("server", err);
	/* Announced only now that the signals are routed to the loop: a
	 * SIGTERM sent as soon as this line appears stops the server cleanly. */
	sk_addr_format(&local, text);
	fprintf(stderr, "listening on %s\n", text);
	err = sk_loop_run(r.loop);

	/* 4. Close: freeing the server closes its socket. */
	sk_dgram_server_free(server);
	sk_loop_free(r.loop);
	return err < 0 ? fail("loop", err) : 0;
}
