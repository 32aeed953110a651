/* tcp ping: one connect per interval, each with its own timeout. */
#include "probe/probe_internal.h"

#include <sockit/err.h>
#include <sockit/ping.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct probe {
	struct sk_tcp_ping *p;
	int fd;            /* -1 when free */
	unsigned seq;
	uint64_t start_us;
	struct sk_timer timer;
};

struct sk_tcp_ping {
	struct sk_loop *loop;
	struct sk_ping_opts o;
	struct sk_addr to;
	struct sk_probe_stats st;
	struct probe probes[SK_TCP_PING_SLOTS];
	size_t in_flight;
	uint64_t start_us, end_us;
	bool started, finished;
	struct sk_timer send_timer, deadline_timer;
};

static void finish(struct sk_tcp_ping *p)
{
	if (p->finished)
		return;
	p->finished = true;
	p->end_us = sk__probe_now_us();
	sk_loop_timer_stop(p->loop, &p->send_timer);
	sk_loop_timer_stop(p->loop, &p->deadline_timer);
	for (size_t i = 0; i < SK_TCP_PING_SLOTS; i++) {
		struct probe *pr = &p->probes[i];
		if (pr->fd < 0)
			continue;
		sk_loop_timer_stop(p->loop, &pr->timer);
		sk_loop_del_fd(p->loop, pr->fd);
		close(pr->fd);
		pr->fd = -1;
	}
	p->in_flight = 0;
	if (p->o.on_done)
		p->o.on_done(p->o.ud);
}

static bool all_done(const struct sk_tcp_ping *p)
{
	return p->o.count && p->st.transmitted >= p->o.count && p->in_flight == 0;
}

/* One probe's outcome: err 0 connected, -ECONNREFUSED refused, -ETIMEDOUT lost. */
static void settle(struct sk_tcp_ping *p, unsigned seq, uint64_t start_us, int err)
{
	struct sk_ping_result r = { .event = SK_PING_REPLY, .seq = seq, .ttl = -1, .err = err };
	sk_addr_to_ip(&p->to, &r.from, NULL);
	r.rtt_ms = (double)(sk__probe_now_us() - start_us) / 1000.0;
	if (err == 0 || err == -ECONNREFUSED) {
		r.is_refused = err != 0;
		p->st.received++;
		sk_rtt_stats_add(&p->st.rtt, r.rtt_ms);
	} else if (err == -ETIMEDOUT) {
		r.event = SK_PING_TIMEOUT;
		r.rtt_ms = -1;
	} else {
		r.event = SK_PING_SEND_ERROR;
		r.rtt_ms = -1;
		p->st.errors++;
	}
	if (p->o.on_result)
		p->o.on_result(p->o.ud, &r);
}

static void release(struct sk_tcp_ping *p, struct probe *pr)
{
	sk_loop_timer_stop(p->loop, &pr->timer);
	sk_loop_del_fd(p->loop, pr->fd);
	close(pr->fd);
	pr->fd = -1;
	p->in_flight--;
}

static void on_connected(struct sk_loop *loop, int fd, unsigned events, void *ud)
{
	(void)loop;
	(void)events;
	struct probe *pr = ud;
	struct sk_tcp_ping *p = pr->p;
	int err = sk_tcp_connect_finish(fd);
	release(p, pr);
	settle(p, pr->seq, pr->start_us, err);
	if (all_done(p))
		finish(p);
}

static void on_probe_timeout(struct sk_loop *loop, struct sk_timer *timer, void *ud)
{
	(void)loop;
	(void)timer;
	struct probe *pr = ud;
	struct sk_tcp_ping *p = pr->p;
	release(p, pr);
	settle(p, pr->seq, pr->start_us, -ETIMEDOUT);
	if (all_done(p))
		finish(p);
}

static struct probe *free_probe(struct sk_tcp_ping *p)
{
	for (size_t i = 0; i < SK_TCP_PING_SLOTS; i++)
		if (p->probes[i].fd < 0)
			return &p->probes[i];
	return NULL;
}

static void send_one(struct sk_tcp_ping *p)
{
	struct probe *pr = free_probe(p);
	if (!pr)
		return;
	unsigned seq = (unsigned)++p->st.transmitted;
	uint64_t start = sk__probe_now_us();
	bool in_progress;
	int fd = sk_tcp_connect_start(&p->to, &in_progress, NULL);
	if (fd < 0 || !in_progress) {
		if (fd >= 0)
			close(fd);
		settle(p, seq, start, fd < 0 ? fd : 0);
		return;
	}
	int err = sk_loop_add_fd(p->loop, fd, SK_EV_WRITE, on_connected, pr);
	if (err < 0) {
		close(fd);
		settle(p, seq, start, err);
		return;
	}
	pr->fd = fd;
	pr->seq = seq;
	pr->start_us = start;
	p->in_flight++;
	sk_loop_timer_start(p->loop, &pr->timer, p->o.timeout_ms);
}

static void on_send_timer(struct sk_loop *loop, struct sk_timer *timer, void *ud)
{
	(void)timer;
	struct sk_tcp_ping *p = ud;
	if (!p->o.count || p->st.transmitted < p->o.count) {
		send_one(p);
		/* The next probe one interval after this one was due. */
		uint64_t next = p->start_us + p->st.transmitted * p->o.interval_us;
		uint64_t now = sk__probe_now_us();
		if (!p->o.count || p->st.transmitted < p->o.count)
			sk_loop_timer_start(loop, &p->send_timer,
			                    next > now ? sk__probe_ms_ceil(next - now) : 0);
	}
	if (all_done(p))
		finish(p);
}

static void on_deadline(struct sk_loop *loop, struct sk_timer *timer, void *ud)
{
	(void)loop;
	(void)timer;
	finish(ud);
}

int sk_tcp_ping_new(struct sk_loop *loop, const struct sk_ping_opts *opts,
                    const struct sk_addr *to, struct sk_tcp_ping **out)
{
	if (opts->interval_us == 0 || opts->timeout_ms == 0)
		return SK_EINVAL;
	struct sk_tcp_ping *p = calloc(1, sizeof *p);
	if (!p)
		return SK_ENOMEM;
	p->loop = loop;
	p->o = *opts;
	p->to = *to;
	for (size_t i = 0; i < SK_TCP_PING_SLOTS; i++) {
		p->probes[i].p = p;
		p->probes[i].fd = -1;
		sk_timer_init(&p->probes[i].timer, on_probe_timeout, &p->probes[i]);
	}
	sk_timer_init(&p->send_timer, on_send_timer, p);
	sk_timer_init(&p->deadline_timer, on_deadline, p);
	*out = p;
	return 0;
}

void sk_tcp_ping_start(struct sk_tcp_ping *p)
{
	if (p->started)
		return;
	p->started = true;
	p->start_us = sk__probe_now_us();
	sk_loop_timer_start(p->loop, &p->send_timer, 0);
	if (p->o.deadline_ms)
		sk_loop_timer_start(p->loop, &p->deadline_timer, p->o.deadline_ms);
}

void sk_tcp_ping_stop(struct sk_tcp_ping *p)
{
	finish(p);
}

void sk_tcp_ping_stats(const struct sk_tcp_ping *p, struct sk_probe_stats *out)
{
	*out = p->st;
}

uint64_t sk_tcp_ping_elapsed_us(const struct sk_tcp_ping *p)
{
	if (!p->started)
		return 0;
	return (p->finished ? p->end_us : sk__probe_now_us()) - p->start_us;
}

void sk_tcp_ping_free(struct sk_tcp_ping *p)
{
	if (!p)
		return;
	if (!p->finished) {
		p->o.on_done = NULL;
		finish(p);
	}
	free(p);
}
