/* ICMP echo to many targets: one socket per family, probes paced by one
 * timer in round-robin order, replies matched by source address. */
#include "probe/probe_internal.h"
#include "net/net_internal.h"

#include <sockit/err.h>
#include <sockit/ping.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/errqueue.h>

/* Sends of one timer callback at most, so replies are read between bursts
 * even when a /16 is due at once. */
#define SEND_BURST 64
/* Packets read per readiness callback before other fds get a turn. */
#define RECV_BURST 256
#define ICMP_HDR 8
#define ECHO_REQUEST_V4 8
#define ECHO_REPLY_V4 0
#define ECHO_REQUEST_V6 128
#define ECHO_REPLY_V6 129

struct target {
	struct sk_addr addr;
	struct sk_ip ip;
	struct sk_probe_stats st;
	uint64_t next_due_us, last_sent_us;
	unsigned char seen[SK_PING_DUP_WINDOW / 8]; /* replies by seq % window */
};

struct sk_ping {
	struct sk_loop *loop;
	struct sk_ping_opts o;
	struct target *t;
	size_t n;
	size_t *by_ip;           /* target indices sorted by address */
	int fd4, fd6;
	enum sk__icmp_kind kind4, kind6;
	uint16_t ident;          /* raw sockets: ours; datagram sockets get the kernel's */
	uint64_t cookie;         /* marks this run's probes in their data */
	size_t cursor;           /* the next target to send to */
	uint64_t start_us, end_us;
	uint64_t slot_us;        /* when --gap lets the next probe go (0: at once) */
	bool started, sending_done, finished;
	struct sk_timer send_timer, deadline_timer, linger_timer;
	unsigned char *pkt;      /* the echo request, ICMP_HDR + size bytes */
	unsigned char *rbuf;     /* receive buffer: a reply can be as big as a probe */
	size_t rbuf_cap;
};

void sk_ping_opts_init(struct sk_ping_opts *opts)
{
	memset(opts, 0, sizeof *opts);
	opts->interval_us = 1000000u;
	opts->timeout_ms = 10000u;
	opts->size = 56;
}

static int cmp_by_ip(const void *a, const void *b, void *ud)
{
	const struct target *t = ud;
	return sk_ip_cmp(&t[*(const size_t *)a].ip, &t[*(const size_t *)b].ip);
}

/* The target with address ip, or SIZE_MAX. */
static size_t find_target(const struct sk_ping *p, const struct sk_ip *ip)
{
	size_t lo = 0, hi = p->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = sk_ip_cmp(&p->t[p->by_ip[mid]].ip, ip);
		if (c == 0)
			return p->by_ip[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return SIZE_MAX;
}

static void finish(struct sk_ping *p)
{
	if (p->finished)
		return;
	p->finished = true;
	p->end_us = sk__probe_now_us();
	sk_loop_timer_stop(p->loop, &p->send_timer);
	sk_loop_timer_stop(p->loop, &p->deadline_timer);
	sk_loop_timer_stop(p->loop, &p->linger_timer);
	if (p->fd4 >= 0)
		sk_loop_del_fd(p->loop, p->fd4);
	if (p->fd6 >= 0)
		sk_loop_del_fd(p->loop, p->fd6);
	if (p->o.on_done)
		p->o.on_done(p->o.ud);
}

static bool is_settled(const struct target *t)
{
	return t->st.received + t->st.errors >= t->st.transmitted;
}

/* After the last probe: how long a target may still answer. As iputils:
 * twice the longest round trip, but at least the interval, for a target
 * that has answered (timeout_ms then only marks replies late); timeout_ms
 * for one that has not. Without the interval's floor a loopback target
 * (round trips of 50 us) had about 1 ms to answer its last probe, and a
 * busy machine lost it. */
static uint64_t linger_us(const struct sk_ping *p, const struct target *t)
{
	if (!t->st.rtt.n)
		return (uint64_t)p->o.timeout_ms * 1000u;
	uint64_t twice = (uint64_t)(t->st.rtt.max_ms * 2000.0) + 1000u;
	return twice > p->o.interval_us ? twice : p->o.interval_us;
}

/* Once everything is sent: ends the run when every target has settled,
 * else arms the timer for the latest wait still running. With a deadline
 * the wait lasts until it (as iputils: -w waits for the count's replies). */
static void check_settled(struct sk_ping *p)
{
	if (!p->sending_done || p->finished)
		return;
	if (p->o.deadline_ms) {
		for (size_t i = 0; i < p->n; i++)
			if (!is_settled(&p->t[i]))
				return;
		finish(p);
		return;
	}
	uint64_t until = 0;
	for (size_t i = 0; i < p->n; i++) {
		const struct target *t = &p->t[i];
		if (is_settled(t))
			continue;
		uint64_t end = t->last_sent_us + linger_us(p, t);
		if (end > until)
			until = end;
	}
	uint64_t now = sk__probe_now_us();
	if (until <= now) {
		finish(p);
		return;
	}
	sk_loop_timer_start(p->loop, &p->linger_timer, sk__probe_ms_ceil(until - now));
}

static void on_linger(struct sk_loop *loop, struct sk_timer *timer, void *ud)
{
	(void)loop;
	(void)timer;
	finish(ud);
}

static void on_deadline(struct sk_loop *loop, struct sk_timer *timer, void *ud)
{
	(void)loop;
	(void)timer;
	finish(ud);
}

static void report(struct sk_ping *p, const struct sk_ping_result *r)
{
	if (p->o.on_result)
		p->o.on_result(p->o.ud, r);
}

/* Sends the next probe to target i. Returns 0, or -EAGAIN to try again soon
 * (the socket's buffer is full). */
static int send_probe(struct sk_ping *p, size_t i, uint64_t now)
{
	struct target *t = &p->t[i];
	bool v4 = t->ip.version == SK_IP_V4;
	int fd = v4 ? p->fd4 : p->fd6;
	unsigned seq = (unsigned)((t->st.transmitted + 1) & 0xffff);
	unsigned char *h = p->pkt;
	size_t len = ICMP_HDR + p->o.size;
	h[0] = v4 ? ECHO_REQUEST_V4 : ECHO_REQUEST_V6;
	h[1] = 0;
	h[2] = h[3] = 0;
	h[4] = (unsigned char)(p->ident >> 8);
	h[5] = (unsigned char)p->ident;
	h[6] = (unsigned char)(seq >> 8);
	h[7] = (unsigned char)seq;
	if (p->o.size >= SK_PING_TIMED_SIZE) {
		memcpy(h + ICMP_HDR, &now, 8);
		memcpy(h + ICMP_HDR + 8, &p->cookie, 8);
	}
	/* The kernel checksums datagram sockets' probes and every ICMPv6 one
	 * (RFC 3542 §3.1); a raw IPv4 probe is ours to checksum. */
	if (v4 && p->kind4 == SK__ICMP_RAW) {
		uint16_t sum = sk__icmp_checksum(h, len);
		memcpy(h + 2, &sum, 2);
	}
	ssize_t n;
	do
		n = sendto(fd, h, len, 0, &t->addr.u.sa, t->addr.len);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == ENOBUFS))
		return -EAGAIN;
	t->st.transmitted++;
	t->last_sent_us = now;
	t->seen[(seq % SK_PING_DUP_WINDOW) / 8] &= (unsigned char)~(1u << (seq % 8));
	if (n < 0) {
		t->st.errors++;
		struct sk_ping_result r = { .event = SK_PING_SEND_ERROR, .target = i, .seq = seq,
		                            .from = t->ip, .err = -errno, .ttl = -1, .rtt_ms = -1 };
		report(p, &r);
	}
	return 0;
}

static bool all_sent(const struct sk_ping *p)
{
	return p->o.count && p->cursor == 0 && p->t[p->n - 1].st.transmitted >= p->o.count;
}

static void on_send_timer(struct sk_loop *loop, struct sk_timer *timer, void *ud)
{
	(void)timer;
	struct sk_ping *p = ud;
	uint64_t now = sk__probe_now_us();
	for (int burst = 0; !p->finished; burst++) {
		struct target *t = &p->t[p->cursor];
		uint64_t due = t->next_due_us;
		if (p->slot_us > due)
			due = p->slot_us;
		if (due > now || burst == SEND_BURST) {
			uint64_t wait = due > now ? due - now : 0;
			sk_loop_timer_start(loop, &p->send_timer, sk__probe_ms_ceil(wait));
			return;
		}
		if (send_probe(p, p->cursor, now) < 0) {
			sk_loop_timer_start(loop, &p->send_timer, 1);
			return;
		}
		/* The gap counts from when the probe was due, not from when the
		 * millisecond timer let it go: lateness is caught up, not added
		 * up (a /24 at 1 ms took 0.33 s this way, not 0.26). Beyond one
		 * gap of lag the debt is dropped, so a stall never ends in a burst. */
		if (p->o.gap_us) {
			p->slot_us = (p->slot_us ? p->slot_us : now) + p->o.gap_us;
			if (p->slot_us + p->o.gap_us < now)
				p->slot_us = now;
		}
		/* Keep the schedule (no drift), but never owe a burst after a stall. */
		t->next_due_us += p->o.interval_us;
		if (t->next_due_us < now)
			t->next_due_us = now;
		p->cursor = (p->cursor + 1) % p->n;
		if (all_sent(p)) {
			p->sending_done = true;
			check_settled(p);
			return;
		}
		now = sk__probe_now_us();
	}
}

static void mark_reply(struct sk_ping *p, struct sk_ping_result *r)
{
	struct target *t = &p->t[r->target];
	unsigned char *byte = &t->seen[(r->seq % SK_PING_DUP_WINDOW) / 8];
	unsigned char bit = (unsigned char)(1u << (r->seq % 8));
	r->is_dup = (*byte & bit) != 0;
	*byte |= bit;
	r->is_late = r->rtt_ms > (double)p->o.timeout_ms;
	if (r->is_dup) {
		t->st.duplicates++;
	} else {
		t->st.received++;
		if (r->rtt_ms >= 0)
			sk_rtt_stats_add(&t->st.rtt, r->rtt_ms);
	}
	if (r->is_late)
		t->st.late++;
}

static int cmsg_ttl(struct msghdr *m)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
		bool is_ttl = (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) ||
		              (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT);
		if (is_ttl && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
			int v;
			memcpy(&v, CMSG_DATA(c), sizeof v);
			return v;
		}
	}
	return -1;
}

/* Checks the probe's identifier (raw sockets see everyone's) and cookie;
 * fills the sequence number and, when the data carries it, the round trip. */
static bool is_ours(const struct sk_ping *p, int family, const unsigned char *icmp, size_t len,
                    uint64_t now, struct sk_ping_result *r)
{
	if (len < ICMP_HDR)
		return false;
	enum sk__icmp_kind kind = family == AF_INET ? p->kind4 : p->kind6;
	if (kind == SK__ICMP_RAW && (unsigned)(icmp[4] << 8 | icmp[5]) != p->ident)
		return false;
	r->seq = (unsigned)(icmp[6] << 8 | icmp[7]);
	r->rtt_ms = -1;
	if (p->o.size < SK_PING_TIMED_SIZE)
		return true;
	uint64_t sent, cookie;
	if (len < ICMP_HDR + SK_PING_TIMED_SIZE)
		return false;
	memcpy(&sent, icmp + ICMP_HDR, 8);
	memcpy(&cookie, icmp + ICMP_HDR + 8, 8);
	if (cookie != p->cookie)
		return false;
	r->rtt_ms = now >= sent ? (double)(now - sent) / 1000.0 : 0.0;
	return true;
}

static void read_reply(struct sk_ping *p, int family, const unsigned char *buf, size_t len,
                       const struct sk_addr *from, struct msghdr *m, uint64_t now)
{
	struct sk_ping_result r = { .event = SK_PING_REPLY, .ttl = cmsg_ttl(m) };
	enum sk__icmp_kind kind = family == AF_INET ? p->kind4 : p->kind6;
	long off = sk__icmp_echo_reply(buf, len, family, kind, &len, &r.ttl);
	if (off < 0)
		return;
	const unsigned char *icmp = buf + off;
	if (sk_addr_to_ip(from, &r.from, NULL) < 0 || !is_ours(p, family, icmp, len, now, &r))
		return;
	r.target = find_target(p, &r.from);
	if (r.target == SIZE_MAX)
		return; /* an answer from an address we did not ping (a broadcast's) */
	r.bytes = len;
	mark_reply(p, &r);
	report(p, &r);
}

static const struct sock_extended_err *find_err(struct msghdr *m)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c))
		if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
		    (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR))
			return (const struct sock_extended_err *)CMSG_DATA(c);
	return NULL;
}

/* An entry of the error queue: the probe it is about, and who said what. */
static void read_error(struct sk_ping *p, int family, const unsigned char *buf, size_t len,
                       const struct sk_addr *dest, struct msghdr *m, uint64_t now)
{
	const struct sock_extended_err *ee = find_err(m);
	if (!ee)
		return;
	struct sk_ping_result r = { .event = SK_PING_ICMP_ERROR, .ttl = -1 };
	struct sk_ip dest_ip;
	if (sk_addr_to_ip(dest, &dest_ip, NULL) < 0 || !is_ours(p, family, buf, len, now, &r))
		return;
	r.target = find_target(p, &dest_ip);
	if (r.target == SIZE_MAX)
		return;
	r.err = -(int)ee->ee_errno;
	r.rtt_ms = -1;
	r.from = dest_ip;
	if (ee->ee_origin == SO_EE_ORIGIN_ICMP || ee->ee_origin == SO_EE_ORIGIN_ICMP6) {
		r.icmp_type = ee->ee_type;
		r.icmp_code = ee->ee_code;
		struct sk_addr off;
		const struct sockaddr *sa = SO_EE_OFFENDER(ee);
		memset(&off, 0, sizeof off);
		memcpy(&off.u.storage, sa, family == AF_INET ? sizeof(struct sockaddr_in)
		                                             : sizeof(struct sockaddr_in6));
		(void)sk_addr_to_ip(&off, &r.from, NULL);
	}
	p->t[r.target].st.errors++;
	report(p, &r);
}

static void drain(struct sk_ping *p, int fd, int family, bool errqueue)
{
	for (int i = 0; i < RECV_BURST && !p->finished; i++) {
		struct sk_addr from;
		char control[512];
		struct iovec iov = { p->rbuf, p->rbuf_cap };
		struct msghdr m = {
			.msg_name = &from.u.storage, .msg_namelen = sizeof from.u.storage,
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = control, .msg_controllen = sizeof control,
		};
		memset(&from, 0, sizeof from);
		ssize_t n = recvmsg(fd, &m, errqueue ? MSG_ERRQUEUE : 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return;
		from.len = m.msg_namelen;
		uint64_t now = sk__probe_now_us();
		if (errqueue)
			read_error(p, family, p->rbuf, (size_t)n, &from, &m, now);
		else
			read_reply(p, family, p->rbuf, (size_t)n, &from, &m, now);
	}
}

static void on_io(struct sk_loop *loop, int fd, unsigned events, void *ud)
{
	(void)loop;
	struct sk_ping *p = ud;
	int family = fd == p->fd4 ? AF_INET : AF_INET6;
	if (events & SK_EV_ERROR)
		drain(p, fd, family, true);
	if (events & SK_EV_READ)
		drain(p, fd, family, false);
	check_settled(p);
}

static int open_family(struct sk_ping *p, int family, int *fd_out, enum sk__icmp_kind *kind)
{
	int raw_err = 0;
	int fd = sk__icmp_open(family, kind, &raw_err);
	if (fd < 0) {
		/* EACCES: outside ping_group_range; EPERM: no CAP_NET_RAW. */
		if ((fd == -EACCES || fd == -EPERM) && (raw_err == -EPERM || raw_err == -EACCES))
			return -EPERM;
		return fd;
	}
	int err = p->o.ttl > 0 ? sk_sock_set_ttl(fd, family, p->o.ttl, NULL) : 0;
	if (err == 0)
		err = sk_loop_add_fd(p->loop, fd, SK_EV_READ, on_io, p);
	if (err < 0) {
		close(fd);
		return err;
	}
	*fd_out = fd;
	return 0;
}

static int copy_targets(struct sk_ping *p, const struct sk_addr *targets, size_t n)
{
	p->t = calloc(n, sizeof *p->t);
	p->by_ip = malloc(n * sizeof *p->by_ip);
	if (!p->t || !p->by_ip)
		return SK_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct target *t = &p->t[i];
		t->addr = targets[i];
		if (sk_addr_to_ip(&t->addr, &t->ip, NULL) < 0)
			return SK_EINVAL;
		/* An ICMP socket has no ports; a raw ICMPv6 one refuses any but 0. */
		if (t->ip.version == SK_IP_V4) {
			struct sk_addr a;
			sk_addr_from_ip(&t->ip, 0, &a);
			t->addr = a;
		} else {
			t->addr.u.in6.sin6_port = 0;
		}
		p->by_ip[i] = i;
	}
	qsort_r(p->by_ip, n, sizeof *p->by_ip, cmp_by_ip, p->t);
	for (size_t i = 1; i < n; i++)
		if (sk_ip_cmp(&p->t[p->by_ip[i - 1]].ip, &p->t[p->by_ip[i]].ip) == 0)
			return SK_EINVAL;
	return 0;
}

static uint64_t run_cookie(void)
{
	uint64_t c = sk__probe_now_us() ^ ((uint64_t)getpid() << 40);
	/* splitmix64's finaliser: two runs a microsecond apart differ everywhere. */
	c = (c ^ (c >> 30)) * 0xbf58476d1ce4e5b9ULL;
	c = (c ^ (c >> 27)) * 0x94d049bb133111ebULL;
	return c ^ (c >> 31);
}

int sk_ping_new(struct sk_loop *loop, const struct sk_ping_opts *opts,
                const struct sk_addr *targets, size_t n, struct sk_ping **out)
{
	if (n == 0 || opts->size > SK_PING_MAX_SIZE || opts->interval_us == 0)
		return SK_EINVAL;
	struct sk_ping *p = calloc(1, sizeof *p);
	if (!p)
		return SK_ENOMEM;
	p->loop = loop;
	p->o = *opts;
	p->fd4 = p->fd6 = -1;
	p->ident = (uint16_t)getpid();
	p->cookie = run_cookie();
	sk_timer_init(&p->send_timer, on_send_timer, p);
	sk_timer_init(&p->deadline_timer, on_deadline, p);
	sk_timer_init(&p->linger_timer, on_linger, p);
	p->rbuf_cap = 60 + ICMP_HDR + SK_PING_MAX_SIZE + 64; /* IP header and options too */
	p->pkt = calloc(1, ICMP_HDR + opts->size);
	p->rbuf = malloc(p->rbuf_cap);
	int err = p->pkt && p->rbuf ? copy_targets(p, targets, n) : SK_ENOMEM;
	p->n = n;
	bool has4 = false, has6 = false;
	for (size_t i = 0; i < n && err == 0; i++) {
		has4 |= p->t[i].ip.version == SK_IP_V4;
		has6 |= p->t[i].ip.version == SK_IP_V6;
	}
	/* iputils' pattern: byte i of the data is i, past the timestamp. */
	for (size_t i = SK_PING_TIMED_SIZE; err == 0 && i < opts->size; i++)
		p->pkt[ICMP_HDR + i] = (unsigned char)i;
	if (err == 0 && has4)
		err = open_family(p, AF_INET, &p->fd4, &p->kind4);
	if (err == 0 && has6)
		err = open_family(p, AF_INET6, &p->fd6, &p->kind6);
	if (err < 0) {
		sk_ping_free(p);
		return err;
	}
	*out = p;
	return 0;
}

void sk_ping_start(struct sk_ping *p)
{
	if (p->started)
		return;
	p->started = true;
	p->start_us = sk__probe_now_us();
	for (size_t i = 0; i < p->n; i++)
		p->t[i].next_due_us = p->start_us;
	sk_loop_timer_start(p->loop, &p->send_timer, 0);
	if (p->o.deadline_ms)
		sk_loop_timer_start(p->loop, &p->deadline_timer, p->o.deadline_ms);
}

void sk_ping_stop(struct sk_ping *p)
{
	finish(p);
}

void sk_ping_stats(const struct sk_ping *p, size_t i, struct sk_probe_stats *out)
{
	*out = p->t[i].st;
}

uint64_t sk_ping_elapsed_us(const struct sk_ping *p)
{
	if (!p->started)
		return 0;
	return (p->finished ? p->end_us : sk__probe_now_us()) - p->start_us;
}

const char *sk_ping_socket_kind(const struct sk_ping *p, int family)
{
	int fd = family == AF_INET ? p->fd4 : p->fd6;
	enum sk__icmp_kind kind = family == AF_INET ? p->kind4 : p->kind6;
	if (fd < 0)
		return NULL;
	return kind == SK__ICMP_DGRAM ? "datagram" : "raw";
}

void sk_ping_free(struct sk_ping *p)
{
	if (!p)
		return;
	sk_loop_timer_stop(p->loop, &p->send_timer);
	sk_loop_timer_stop(p->loop, &p->deadline_timer);
	sk_loop_timer_stop(p->loop, &p->linger_timer);
	int fds[2] = { p->fd4, p->fd6 };
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0) {
			if (!p->finished)
				sk_loop_del_fd(p->loop, fds[i]);
			close(fds[i]);
		}
	free(p->t);
	free(p->by_ip);
	free(p->pkt);
	free(p->rbuf);
	free(p);
}
