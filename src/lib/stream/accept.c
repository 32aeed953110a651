/* sk_acceptor: batched accept, admission before a byte is read, counts per
 * client address in a hash table, and a back-off when fds run out. */
#include <sockit/accept.h>
#include <sockit/err.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* After accept(2) fails for want of fds, wait this long before trying again:
 * the listener stays readable, and retrying at once would spin a core. */
#define ACCEPT_RETRY_MS 100

/* Accepts per wakeup, so one busy listener cannot starve other fds. */
#define ACCEPT_BATCH 64

/* Connections per client address: a chained hash table that doubles when
 * it holds more addresses than buckets, so a lookup stays O(1) whatever the
 * number of clients. */
struct client_count {
	struct sk_ip ip;
	size_t n;
	struct client_count *next;
};

struct sk_acceptor {
	struct sk_loop *loop;
	int fd;
	struct sk_acceptor_opts o;
	size_t n_conns;
	bool paused;
	bool failing;              /* accept(2) failed for want of resources (reported) */
	bool backing_off;          /* the listener is not watched until the retry timer */
	struct sk_timer retry;
	struct client_count **buckets;
	size_t n_buckets, n_addrs;
};

void sk_acceptor_opts_init(struct sk_acceptor_opts *opts)
{
	memset(opts, 0, sizeof *opts);
}

static size_t hash_ip(const struct sk_ip *ip, size_t n_buckets)
{
	uint64_t h = ip->hi * 0x9e3779b97f4a7c15u ^ ip->lo * 0xc2b2ae3d27d4eb4fu ^ ip->version;
	h ^= h >> 29;
	return (size_t)(h & (n_buckets - 1));
}

static struct client_count **slot_of(const struct sk_acceptor *a, const struct sk_ip *ip)
{
	struct client_count **p = &a->buckets[hash_ip(ip, a->n_buckets)];
	while (*p && sk_ip_cmp(&(*p)->ip, ip) != 0)
		p = &(*p)->next;
	return p;
}

static size_t count_of(const struct sk_acceptor *a, const struct sk_ip *ip)
{
	if (!a->n_buckets)
		return 0;
	struct client_count *c = *slot_of(a, ip);
	return c ? c->n : 0;
}

static void grow(struct sk_acceptor *a)
{
	size_t n = a->n_buckets ? a->n_buckets * 2 : 64;
	struct client_count **b = calloc(n, sizeof *b);
	if (!b)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < a->n_buckets; i++) {
		struct client_count *c = a->buckets[i], *next;
		for (; c; c = next) {
			next = c->next;
			size_t h = hash_ip(&c->ip, n);
			c->next = b[h];
			b[h] = c;
		}
	}
	free(a->buckets);
	a->buckets = b;
	a->n_buckets = n;
}

/* Counts a connection from ip; SK_ENOMEM if it cannot (the caller refuses
 * the connection rather than lose count). */
static int count_in(struct sk_acceptor *a, const struct sk_ip *ip)
{
	if (!a->o.max_per_client)
		return 0;
	if (a->n_addrs >= a->n_buckets)
		grow(a);
	if (!a->n_buckets)
		return SK_ENOMEM;
	struct client_count **p = slot_of(a, ip);
	if (!*p) {
		struct client_count *c = calloc(1, sizeof *c);
		if (!c)
			return SK_ENOMEM;
		c->ip = *ip;
		*p = c;
		a->n_addrs++;
	}
	(*p)->n++;
	return 0;
}

void sk_acceptor_release(struct sk_acceptor *a, const struct sk_ip *ip)
{
	if (a->n_conns)
		a->n_conns--;
	if (!a->o.max_per_client || !a->n_buckets)
		return;
	struct client_count **p = slot_of(a, ip);
	struct client_count *c = *p;
	if (!c)
		return;
	if (--c->n == 0) {
		*p = c->next;
		free(c);
		a->n_addrs--;
	}
}

size_t sk_acceptor_n_conns(const struct sk_acceptor *a)
{
	return a->n_conns;
}

static int refusal(const struct sk_acceptor *a, const struct sk_ip *ip)
{
	if (a->o.acl && !sk_acl_permits(a->o.acl, ip))
		return SK_ACCEPT_DENIED;
	if (a->o.max_conns && a->n_conns >= a->o.max_conns)
		return SK_ACCEPT_MAX_CONNS;
	if (a->o.max_per_client && count_of(a, ip) >= a->o.max_per_client)
		return SK_ACCEPT_MAX_PER_CLIENT;
	return 0;
}

static void watch(struct sk_acceptor *a)
{
	if (a->fd >= 0)
		sk_loop_mod_fd(a->loop, a->fd, a->paused || a->backing_off ? 0 : SK_EV_READ);
}

static void on_retry(struct sk_loop *loop, struct sk_timer *t, void *ud)
{
	(void)loop;
	(void)t;
	struct sk_acceptor *a = ud;
	/* Look again; the next accept says whether fds are back. */
	a->backing_off = false;
	watch(a);
}

static bool out_of_resources(int err)
{
	return err == -EMFILE || err == -ENFILE || err == -ENOBUFS || err == -ENOMEM;
}

static void refuse(struct sk_acceptor *a, int fd, const struct sk_addr *peer, int why)
{
	if (a->o.on_refused)
		a->o.on_refused(a->o.ud, fd, peer, (enum sk_accept_refusal)why);
	if (a->o.reset_refused) {
		/* A plain close of a connection whose client has sent nothing is
		 * an EOF, which a client may take for an empty answer. */
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
		sk_trace(a->o.tracer, "setsockopt(%d, SO_LINGER, 0)", fd);
	}
	sk_sock_close(fd, a->o.tracer);
}

static void on_listen_ready(struct sk_loop *loop, int fd, unsigned events, void *ud)
{
	(void)events;
	struct sk_acceptor *a = ud;
	for (int i = 0; i < ACCEPT_BATCH && !a->paused && a->fd == fd; i++) {
		struct sk_addr peer;
		int cfd = sk_tcp_accept(fd, &peer, a->o.tracer);
		if (cfd == -EAGAIN || cfd == -EWOULDBLOCK)
			break;
		if (cfd < 0 && !out_of_resources(cfd))
			continue; /* ECONNABORTED, EPERM (a firewall), EPROTO: that client only */
		if (cfd < 0) {
			/* Stop looking at the listener for a moment: it stays
			 * readable, and accepting again at once would spin. */
			if (!a->failing && a->o.on_failed)
				a->o.on_failed(a->o.ud, cfd);
			a->failing = true;
			a->backing_off = true;
			watch(a);
			sk_loop_timer_start(loop, &a->retry, ACCEPT_RETRY_MS);
			return;
		}
		if (a->failing) {
			a->failing = false;
			if (a->o.on_failed)
				a->o.on_failed(a->o.ud, 0);
		}
		struct sk_ip ip;
		sk_addr_to_ip(&peer, &ip, NULL);
		int why = refusal(a, &ip);
		if (why == 0 && count_in(a, &ip) < 0)
			why = SK_ACCEPT_MAX_CONNS;
		if (why) {
			refuse(a, cfd, &peer, why);
			continue;
		}
		a->n_conns++;
		a->o.on_accept(a->o.ud, cfd, &peer, &ip);
	}
}

int sk_acceptor_new(struct sk_loop *loop, int listen_fd, const struct sk_acceptor_opts *opts,
                    struct sk_acceptor **out)
{
	struct sk_acceptor *a = calloc(1, sizeof *a);
	if (!a) {
		close(listen_fd);
		return SK_ENOMEM;
	}
	a->loop = loop;
	a->fd = listen_fd;
	a->o = *opts;
	sk_timer_init(&a->retry, on_retry, a);
	int err = sk_loop_add_fd(loop, listen_fd, SK_EV_READ, on_listen_ready, a);
	if (err < 0) {
		close(listen_fd);
		free(a);
		return err;
	}
	*out = a;
	return 0;
}

void sk_acceptor_pause(struct sk_acceptor *a)
{
	a->paused = true;
	watch(a);
}

void sk_acceptor_resume(struct sk_acceptor *a)
{
	a->paused = false;
	watch(a);
}

void sk_acceptor_close(struct sk_acceptor *a)
{
	sk_loop_timer_stop(a->loop, &a->retry);
	if (a->fd < 0)
		return;
	sk_loop_del_fd(a->loop, a->fd);
	sk_sock_close(a->fd, a->o.tracer);
	a->fd = -1;
}

int sk_acceptor_fd(const struct sk_acceptor *a)
{
	return a->fd;
}

void sk_acceptor_free(struct sk_acceptor *a)
{
	if (!a)
		return;
	sk_acceptor_close(a);
	for (size_t i = 0; i < a->n_buckets; i++) {
		struct client_count *c = a->buckets[i], *next;
		for (; c; c = next) {
			next = c->next;
			free(c);
		}
	}
	free(a->buckets);
	free(a);
}
