/* TCP connect scan: a slot per connection in flight, a timer per slot, and
 * one filler that starts connects while slots, ports and the rate allow. */
#include "probe/probe_internal.h"

#include <sockit/err.h>
#include <sockit/port.h>
#include <sockit/scan.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* After the kernel ran out of fds or ephemeral ports, wait this long for
 * connections in flight to end before trying again. */
#define BACKOFF_MS 10

struct slot {
	struct sk_scan *s;
	int fd;             /* -1 when free */
	unsigned port;
	uint64_t start_us;
	struct sk_timer timer;
};

struct sk_scan {
	struct sk_loop *loop;
	struct sk_scan_opts o;
	struct sk_addr host;
	unsigned char set[SK_SCAN_PORTSET_BYTES];
	unsigned next_port;     /* the next port to try; 65536 when all are started */
	struct slot *slots;
	size_t *free_slots, n_free;
	size_t cap, in_flight, peak;
	uint64_t started, first_us;
	bool running, finished;
	struct sk_timer fill_timer;
};

void sk_scan_opts_init(struct sk_scan_opts *opts)
{
	memset(opts, 0, sizeof *opts);
	opts->timeout_ms = 1000;
	opts->max_in_flight = 256;
}

bool sk_scan_portset_has(const unsigned char *set, unsigned port)
{
	return port <= 65535 && (set[port / 8] & (1u << (port % 8)));
}

static void portset_add(unsigned char *set, unsigned first, unsigned last)
{
	for (unsigned p = first; p <= last; p++)
		set[p / 8] |= (unsigned char)(1u << (p % 8));
}

/* One port number of a list; *bad covers it on failure. */
static int parse_one(const char *p, size_t len, unsigned *out, struct sk_slice *bad)
{
	int err = len ? sk_port_parse(p, len, out) : SK_EPORT_SYNTAX;
	if (err == 0 && *out == 0)
		err = SK_EPORT_RANGE; /* port 0 cannot be connected to */
	if (err < 0 && bad)
		*bad = (struct sk_slice){ p, len };
	return err;
}

int sk_scan_parse_ports(const char *text, size_t len, unsigned char *set, struct sk_slice *bad)
{
	memset(set, 0, SK_SCAN_PORTSET_BYTES);
	if (len == 1 && text[0] == '-') {
		portset_add(set, 1, 65535);
		return 65535;
	}
	size_t i = 0;
	do {
		size_t end = i;
		while (end < len && text[end] != ',')
			end++;
		const char *item = text + i;
		size_t item_len = end - i;
		const char *dash = memchr(item, '-', item_len);
		unsigned first, last;
		size_t first_len = dash ? (size_t)(dash - item) : item_len;
		int err = parse_one(item, first_len, &first, bad);
		if (err == 0 && dash)
			err = parse_one(dash + 1, item_len - first_len - 1, &last, bad);
		else
			last = first;
		if (err < 0)
			return err;
		if (last < first) {
			if (bad)
				*bad = (struct sk_slice){ item, item_len };
			return SK_ERANGE_ORDER;
		}
		portset_add(set, first, last);
		i = end + 1;
	} while (i <= len);
	int n = 0;
	for (unsigned p = 1; p <= 65535; p++)
		n += sk_scan_portset_has(set, p);
	return n;
}

static unsigned next_in_set(const struct sk_scan *s, unsigned from)
{
	for (unsigned p = from; p <= 65535; p++) {
		if (!s->set[p / 8]) {
			p |= 7; /* skip an empty byte at once */
			continue;
		}
		if (s->set[p / 8] & (1u << (p % 8)))
			return p;
	}
	return 65536;
}

static void finish(struct sk_scan *s)
{
	if (s->finished)
		return;
	s->finished = true;
	sk_loop_timer_stop(s->loop, &s->fill_timer);
	if (s->o.on_done)
		s->o.on_done(s->o.ud);
}

static void release(struct sk_scan *s, struct slot *sl)
{
	sk_loop_timer_stop(s->loop, &sl->timer);
	if (sk_loop_fd_events(s->loop, sl->fd))
		sk_loop_del_fd(s->loop, sl->fd);
	close(sl->fd);
	sl->fd = -1;
	s->free_slots[s->n_free++] = (size_t)(sl - s->slots);
	s->in_flight--;
}

/* A connect to one of our own addresses can pick its own port as the
 * source and connect to itself: that is not a listener. */
static bool is_self_connect(int fd)
{
	struct sk_addr local, peer;
	struct sk_ip lip, pip;
	unsigned lport, pport;
	if (sk_sock_local_addr(fd, &local) < 0 || sk_sock_peer_addr(fd, &peer) < 0 ||
	    sk_addr_to_ip(&local, &lip, &lport) < 0 || sk_addr_to_ip(&peer, &pip, &pport) < 0)
		return false;
	return lport == pport && sk_ip_cmp(&lip, &pip) == 0;
}

static void classify(int err, int fd, struct sk_scan_result *r)
{
	r->err = err;
	switch (err) {
	case 0:
		r->state = SK_SCAN_OPEN;
		r->reason = SK_SCAN_CONNECTED;
		if (fd >= 0 && is_self_connect(fd)) {
			r->state = SK_SCAN_CLOSED;
			r->reason = SK_SCAN_SELF;
		}
		return;
	case -ECONNREFUSED:
		r->state = SK_SCAN_CLOSED;
		r->reason = SK_SCAN_REFUSED;
		return;
	case -ETIMEDOUT:
		r->state = SK_SCAN_FILTERED;
		r->reason = SK_SCAN_TIMED_OUT;
		return;
	case -EHOSTUNREACH:
	case -ENETUNREACH:
	case -EACCES: /* a local firewall's reject */
	case -EPERM:
		r->state = SK_SCAN_FILTERED;
		r->reason = SK_SCAN_UNREACHABLE;
		return;
	default:
		r->state = SK_SCAN_FILTERED;
		r->reason = SK_SCAN_FAILED;
		return;
	}
}

static void report(struct sk_scan *s, unsigned port, int err, int fd, uint64_t start_us)
{
	struct sk_scan_result r = { .port = port };
	classify(err, fd, &r);
	r.rtt_ms = (double)(sk__probe_now_us() - start_us) / 1000.0;
	if (s->o.on_result)
		s->o.on_result(s->o.ud, &r);
}

static void settle(struct sk_scan *s, struct slot *sl, int err)
{
	report(s, sl->port, err, sl->fd, sl->start_us);
	release(s, sl);
}

static void fill(struct sk_scan *s);

static void on_connect(struct sk_loop *loop, int fd, unsigned events, void *ud)
{
	(void)loop;
	(void)fd;
	(void)events;
	struct slot *sl = ud;
	struct sk_scan *s = sl->s;
	settle(s, sl, sk_tcp_connect_finish(sl->fd));
	fill(s);
}

static void on_timeout(struct sk_loop *loop, struct sk_timer *timer, void *ud)
{
	(void)loop;
	(void)timer;
	struct slot *sl = ud;
	struct sk_scan *s = sl->s;
	settle(s, sl, -ETIMEDOUT);
	fill(s);
}

/* Whether a connect in progress has completed (poll without waiting). */
static bool is_connected(int fd)
{
	struct pollfd p = { fd, POLLOUT, 0 };
	return poll(&p, 1, 0) == 1 && (p.revents & POLLOUT) && !(p.revents & (POLLERR | POLLHUP));
}

static bool is_resource_error(int err)
{
	return err == -EMFILE || err == -ENFILE || err == -EADDRNOTAVAIL || err == -ENOBUFS ||
	       err == -EAGAIN || err == -ENOMEM;
}

/* Starts the connect to port. Returns 0 when it is in flight or settled,
 * or a resource error (nothing started, try again later). */
static int launch(struct sk_scan *s, unsigned port, uint64_t now)
{
	struct sk_addr to = s->host;
	if (to.u.sa.sa_family == AF_INET)
		to.u.in4.sin_port = htons((uint16_t)port);
	else
		to.u.in6.sin6_port = htons((uint16_t)port);
	bool in_progress;
	int fd = sk_tcp_connect_start(&to, &in_progress, NULL);
	if (fd < 0 && is_resource_error(fd) && s->in_flight)
		return fd;
	int err = fd < 0 ? fd : 0;
	/* Over loopback the answer (RST or SYN-ACK) is processed as connect(2)
	 * releases the socket, so it is usually known at once: asking costs one
	 * call where the loop would cost three (add, wait, delete). */
	if (fd >= 0 && in_progress && (err = sk_tcp_connect_finish(fd)) == 0)
		in_progress = !is_connected(fd);
	if (fd < 0 || !in_progress || err < 0) {
		report(s, port, err, fd, now);
		if (fd >= 0)
			close(fd);
		return 0;
	}
	struct slot *sl = &s->slots[s->free_slots[--s->n_free]];
	sl->fd = fd;
	sl->port = port;
	sl->start_us = now;
	err = sk_loop_add_fd(s->loop, fd, SK_EV_WRITE, on_connect, sl);
	if (err < 0) {
		close(fd);
		sl->fd = -1;
		s->n_free++;
		return err;
	}
	s->in_flight++;
	if (s->in_flight > s->peak)
		s->peak = s->in_flight;
	sk_loop_timer_start(s->loop, &sl->timer, s->o.timeout_ms);
	return 0;
}

static void fill(struct sk_scan *s)
{
	while (!s->finished && s->next_port <= 65535 && s->in_flight < s->cap) {
		uint64_t now = sk__probe_now_us();
		if (s->o.rate) {
			uint64_t due = s->first_us + s->started * 1000000u / s->o.rate;
			if (due > now) {
				sk_loop_timer_start(s->loop, &s->fill_timer, sk__probe_ms_ceil(due - now));
				return;
			}
		}
		int err = launch(s, s->next_port, now);
		if (err < 0) {
			/* Out of fds or ephemeral ports: fewer at once from now on. */
			s->cap = s->in_flight;
			sk_loop_timer_start(s->loop, &s->fill_timer, BACKOFF_MS);
			return;
		}
		s->started++;
		s->next_port = next_in_set(s, s->next_port + 1);
	}
	if (s->next_port > 65535 && s->in_flight == 0)
		finish(s);
}

static void on_fill_timer(struct sk_loop *loop, struct sk_timer *timer, void *ud)
{
	(void)loop;
	(void)timer;
	struct sk_scan *s = ud;
	/* After a back-off, allow one more than what is in flight: the
	 * limit creeps back up as the kernel lets us. */
	if (s->cap < s->o.max_in_flight && s->cap <= s->in_flight)
		s->cap = s->in_flight + 1;
	fill(s);
}

int sk_scan_new(struct sk_loop *loop, const struct sk_scan_opts *opts, const struct sk_addr *host,
                const unsigned char *set, struct sk_scan **out)
{
	if (opts->max_in_flight == 0)
		return SK_EINVAL;
	struct sk_scan *s = calloc(1, sizeof *s);
	if (!s)
		return SK_ENOMEM;
	s->loop = loop;
	s->o = *opts;
	s->host = *host;
	memcpy(s->set, set, sizeof s->set);
	s->next_port = next_in_set(s, 1);
	if (s->next_port > 65535) {
		free(s);
		return SK_EINVAL;
	}
	s->cap = opts->max_in_flight;
	s->slots = calloc(s->cap, sizeof *s->slots);
	s->free_slots = malloc(s->cap * sizeof *s->free_slots);
	if (!s->slots || !s->free_slots) {
		sk_scan_free(s);
		return SK_ENOMEM;
	}
	for (size_t i = 0; i < s->cap; i++) {
		s->slots[i].s = s;
		s->slots[i].fd = -1;
		sk_timer_init(&s->slots[i].timer, on_timeout, &s->slots[i]);
		s->free_slots[i] = s->cap - 1 - i;
	}
	s->n_free = s->cap;
	sk_timer_init(&s->fill_timer, on_fill_timer, s);
	*out = s;
	return 0;
}

void sk_scan_start(struct sk_scan *s)
{
	if (s->running)
		return;
	s->running = true;
	s->first_us = sk__probe_now_us();
	sk_loop_timer_start(s->loop, &s->fill_timer, 0);
}

static void close_all(struct sk_scan *s)
{
	for (size_t i = 0; s->slots && i < s->o.max_in_flight; i++)
		if (s->slots[i].fd >= 0)
			release(s, &s->slots[i]);
}

void sk_scan_stop(struct sk_scan *s)
{
	close_all(s);
	finish(s);
}

size_t sk_scan_peak_in_flight(const struct sk_scan *s)
{
	return s->peak;
}

const char *sk_scan_state_name(enum sk_scan_state state)
{
	static const char *const names[] = { "open", "closed", "filtered" };
	return (unsigned)state < 3 ? names[state] : "?";
}

const char *sk_scan_reason_name(enum sk_scan_reason reason)
{
	static const char *const names[] = {
		"connected", "refused", "self-connect", "timed out", "unreachable", "failed",
	};
	return (unsigned)reason < 6 ? names[reason] : "?";
}

void sk_scan_free(struct sk_scan *s)
{
	if (!s)
		return;
	close_all(s);
	sk_loop_timer_stop(s->loop, &s->fill_timer);
	free(s->slots);
	free(s->free_slots);
	free(s);
}
