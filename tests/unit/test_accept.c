/* Unit tests for accept.c (include/sockit/accept.h): admission by access
 * list and limits, counts per client address, and the back-off when the
 * process is out of file descriptors. Loopback only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <sockit/accept.h>
#include <sockit/err.h>
#include <sockit/loop.h>

#include "testutil.h"

struct seen {
	int fds[256];
	struct sk_ip ips[256];
	size_t n_accepted;
	size_t n_refused[4];
	int last_failed;
	int n_failed_calls;
};

static void on_accepted(void *ud, int fd, const struct sk_addr *peer, const struct sk_ip *ip)
{
	(void)peer;
	struct seen *s = ud;
	assert_true(s->n_accepted < 256);
	s->fds[s->n_accepted] = fd;
	s->ips[s->n_accepted] = *ip;
	s->n_accepted++;
}

static void on_refused(void *ud, int fd, const struct sk_addr *peer, enum sk_accept_refusal why)
{
	(void)peer;
	struct seen *s = ud;
	assert_true(fd >= 0);
	assert_true(why >= 1 && why <= 3);
	/* The fd is still open: one short answer may be written. */
	assert_int_equal(send(fd, "no\n", 3, MSG_DONTWAIT | MSG_NOSIGNAL), 3);
	s->n_refused[why]++;
}

static void on_failed(void *ud, int err)
{
	struct seen *s = ud;
	s->last_failed = err;
	s->n_failed_calls++;
}

/* A listener on 127.0.0.1, port 0; its port in *port. */
static int listener(unsigned *port)
{
	struct sk_ip ip;
	assert_int_equal(sk_ip_parse("127.0.0.1", 9, &ip, NULL), 0);
	struct sk_addr a;
	sk_addr_from_ip(&ip, 0, &a);
	struct sk_sock_opts so;
	sk_sock_opts_init(&so);
	int fd = sk_tcp_listen(&a, &so);
	assert_true(fd >= 0);
	struct sk_addr local;
	assert_int_equal(sk_sock_local_addr(fd, &local), 0);
	struct sk_ip lip;
	sk_addr_to_ip(&local, &lip, port);
	return fd;
}

/* A blocking client connected from src (an address of 127/8) to port. */
static int client(const char *src, unsigned port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_in from = { .sin_family = AF_INET };
	inet_pton(AF_INET, src, &from.sin_addr);
	assert_int_equal(bind(fd, (struct sockaddr *)&from, sizeof from), 0);
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
	assert_int_equal(connect(fd, (struct sockaddr *)&to, sizeof to), 0);
	return fd;
}

static void test_accept_limits_and_counts_per_client(void **state)
{
	(void)state;
	struct sk_loop *loop;
	assert_int_equal(sk_loop_new(&loop), 0);
	unsigned port;
	int lfd = listener(&port);
	struct seen seen = { 0 };
	struct sk_acceptor_opts o;
	sk_acceptor_opts_init(&o);
	o.max_conns = 5;
	o.max_per_client = 2;
	o.on_accept = on_accepted;
	o.on_refused = on_refused;
	o.ud = &seen;
	struct sk_acceptor *a;
	assert_int_equal(sk_acceptor_new(loop, lfd, &o, &a), 0);
	int c[8];
	/* Three from 127.0.0.2: the third is one too many for that address. */
	for (int i = 0; i < 3; i++)
		c[i] = client("127.0.0.2", port);
	run_for(loop, 100);
	assert_int_equal(seen.n_accepted, 2);
	assert_int_equal(seen.n_refused[SK_ACCEPT_MAX_PER_CLIENT], 1);
	char buf[8];
	assert_int_equal(read(c[2], buf, sizeof buf), 3); /* the refusal's answer */
	assert_int_equal(read(c[2], buf, sizeof buf), 0); /* then the close */
	/* Three from other addresses fill max_conns; a sixth is refused. */
	c[3] = client("127.0.0.3", port);
	c[4] = client("127.0.0.4", port);
	c[5] = client("127.0.0.5", port);
	run_for(loop, 100);
	assert_int_equal(seen.n_accepted, 5);
	assert_int_equal(sk_acceptor_n_conns(a), 5);
	c[6] = client("127.0.0.6", port);
	run_for(loop, 100);
	assert_int_equal(seen.n_refused[SK_ACCEPT_MAX_CONNS], 1);
	/* Releasing one of 127.0.0.2's makes room for it, and in total. */
	close(seen.fds[0]);
	sk_acceptor_release(a, &seen.ips[0]);
	assert_int_equal(sk_acceptor_n_conns(a), 4);
	c[7] = client("127.0.0.2", port);
	run_for(loop, 100);
	assert_int_equal(seen.n_accepted, 6);
	for (size_t i = 1; i < seen.n_accepted; i++)
		close(seen.fds[i]);
	for (int i = 0; i < 8; i++)
		close(c[i]);
	sk_acceptor_free(a);
	sk_loop_free(loop);
}

static void test_accept_denied_by_the_access_list(void **state)
{
	(void)state;
	struct sk_loop *loop;
	assert_int_equal(sk_loop_new(&loop), 0);
	unsigned port;
	int lfd = listener(&port);
	struct sk_acl acl;
	sk_acl_init(&acl);
	assert_int_equal(sk_acl_add(&acl, "127.0.0.9", 9, false, NULL), 0);
	struct seen seen = { 0 };
	struct sk_acceptor_opts o;
	sk_acceptor_opts_init(&o);
	o.acl = &acl;
	o.on_accept = on_accepted;
	o.on_refused = on_refused;
	o.ud = &seen;
	struct sk_acceptor *a;
	assert_int_equal(sk_acceptor_new(loop, lfd, &o, &a), 0);
	int bad = client("127.0.0.9", port), good = client("127.0.0.8", port);
	run_for(loop, 100);
	assert_int_equal(seen.n_refused[SK_ACCEPT_DENIED], 1);
	assert_int_equal(seen.n_accepted, 1);
	close(seen.fds[0]);
	close(bad);
	close(good);
	sk_acceptor_free(a);
	sk_acl_fini(&acl);
	sk_loop_free(loop);
}

/* reset_refused: a refused client reads a reset, never an EOF it could take
 * for an empty answer (the stream servers); without it, the plain close
 * after the answer on_refused wrote (HTTP's 503). */
static void test_accept_resets_refused_clients_when_asked(void **state)
{
	(void)state;
	for (int reset = 0; reset <= 1; reset++) {
		struct sk_loop *loop;
		assert_int_equal(sk_loop_new(&loop), 0);
		unsigned port;
		int lfd = listener(&port);
		struct seen seen = { 0 };
		struct sk_acceptor_opts o;
		sk_acceptor_opts_init(&o);
		o.max_conns = 1;
		o.on_accept = on_accepted;
		o.reset_refused = reset;
		o.ud = &seen;
		struct sk_acceptor *a;
		assert_int_equal(sk_acceptor_new(loop, lfd, &o, &a), 0);
		int first = client("127.0.0.2", port);
		run_for(loop, 50);
		int second = client("127.0.0.3", port);
		run_for(loop, 50);
		assert_int_equal(seen.n_accepted, 1);
		char buf[8];
		errno = 0;
		ssize_t n = read(second, buf, sizeof buf);
		if (reset) {
			assert_int_equal(n, -1);
			assert_int_equal(errno, ECONNRESET);
		} else {
			assert_int_equal(n, 0);
		}
		close(seen.fds[0]);
		close(first);
		close(second);
		sk_acceptor_free(a);
		sk_loop_free(loop);
	}
}

/* Out of fds, the acceptor reports once and stops looking at the listener
 * for a while (it stays readable: looking again at once would spin), then
 * accepts the waiting clients when fds are back. */
static void test_accept_backs_off_without_fds(void **state)
{
	(void)state;
	struct sk_loop *loop;
	assert_int_equal(sk_loop_new(&loop), 0);
	unsigned port;
	int lfd = listener(&port);
	struct seen seen = { 0 };
	struct sk_acceptor_opts o;
	sk_acceptor_opts_init(&o);
	o.on_accept = on_accepted;
	o.on_failed = on_failed;
	o.ud = &seen;
	struct sk_acceptor *a;
	assert_int_equal(sk_acceptor_new(loop, lfd, &o, &a), 0);
	int c1 = client("127.0.0.2", port), c2 = client("127.0.0.2", port);
	/* Use every fd up to the limit. */
	struct rlimit old, low;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	int hog[1024];
	size_t n_hog = 0;
	int top = dup(0);
	low.rlim_cur = (rlim_t)top + 1;
	low.rlim_max = old.rlim_max;
	close(top);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	int fd;
	while (n_hog < 1024 && (fd = dup(0)) >= 0)
		hog[n_hog++] = fd;
	int callbacks = 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 20; i++) {
		int n = sk_loop_run_once(loop, 10);
		assert_true(n >= 0);
		callbacks += n;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_int_equal(seen.n_failed_calls, 1);
	assert_int_equal(seen.last_failed, -EMFILE);
	assert_int_equal(seen.n_accepted, 0);
	/* A spinning listener runs a callback every iteration (20 here);
	 * backing off 100 ms, the retry timer and one failed accept per 100 ms
	 * of however long the iterations took on a busy machine. */
	assert_true(callbacks <= 2 * (int)(ms / 100 + 2));
	assert_true(callbacks < 20);
	for (size_t i = 0; i < n_hog; i++)
		close(hog[i]);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	run_for(loop, 300);
	assert_int_equal(seen.n_accepted, 2);
	assert_int_equal(seen.n_failed_calls, 2);
	assert_int_equal(seen.last_failed, 0); /* "accepting again" */
	close(seen.fds[0]);
	close(seen.fds[1]);
	close(c1);
	close(c2);
	sk_acceptor_free(a);
	sk_loop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accept_limits_and_counts_per_client),
		cmocka_unit_test(test_accept_denied_by_the_access_list),
		cmocka_unit_test(test_accept_resets_refused_clients_when_asked),
		cmocka_unit_test(test_accept_backs_off_without_fds),
	};
	alarm(60);
	return cmocka_run_group_tests_name("accept", tests, NULL, NULL);
}
