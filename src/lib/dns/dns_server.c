/* The DNS server: UDP in batches, TCP with length-prefixed messages, both
 * answered by sk_dns_zones_answer(); delayed answers wait in one FIFO
 * (every answer waits the same time, so the queue is in due order). */
#include "dns/dns_internal.h"

#include <sockit/accept.h>
#include <sockit/dns_server.h>
#include <sockit/err.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

/* Queries per recvmmsg: one system call for 32 under load, as in dgram.c. */
#define BATCH 32
/* A query larger than this is not one (a question and an OPT take < 300). */
#define QUERY_MAX 4096
/* TCP: stop reading a client while this much of its answers waits to be
 * sent (a client that pipelines and never reads). */
#define TCP_OUT_MAX (256 * 1024)

struct tcp_conn {
	struct sk_dns_server *s;
	int fd;
	unsigned gen;           /* tells a delayed answer its connection is gone */
	struct sk_addr peer;
	struct sk_ip ip;
	struct sk_timer idle;
	unsigned char *in;      /* 2 + SK_DNS_MSG_MAX */
	size_t in_len;
	unsigned char *out;
	size_t out_len, out_cap, out_sent;
	bool eof;
};

struct delayed {
	struct delayed *next;
	uint64_t due_ms;
	struct sk_addr to;
	struct tcp_conn *conn;  /* NULL for UDP */
	unsigned gen;
	size_t len;
	unsigned char data[];
};

struct sk_dns_server {
	struct sk_loop *loop;
	const struct sk_dns_zones *zones;
	struct sk_dns_server_opts o;
	struct sk_dns_answer_opts aopts;
	struct sk_dns_server_stats stats;
	int udp_fd;
	struct sk_acceptor *acceptor;
	uint64_t rng;
	unsigned next_gen;
	struct delayed *head, *tail;
	size_t n_delayed;
	struct sk_timer delay_timer;
	struct tcp_conn **conns;
	size_t n_conns;
	unsigned char *in_slots, *out_slots;
	struct mmsghdr in[BATCH], out[BATCH];
	struct iovec in_iov[BATCH], out_iov[BATCH];
	struct sk_addr from[BATCH];
	unsigned char tcp_answer[SK_DNS_MSG_MAX];
};

void sk_dns_server_opts_init(struct sk_dns_server_opts *opts)
{
	memset(opts, 0, sizeof *opts);
	opts->max_tcp_conns = 256;
	opts->tcp_idle_ms = 10000;
}

/* xorshift64*: the drop fault needs a coin, not a secret. */
static unsigned next_random(struct sk_dns_server *s)
{
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return (unsigned)((s->rng * 2685821657736338717ull) >> 32);
}

static void log_query(struct sk_dns_server *s, const struct sk_addr *from, bool tcp,
                      const struct sk_dns_answer_info *info, int rcode)
{
	if (s->o.on_query)
		s->o.on_query(s->o.ud, from, tcp, info, rcode);
}

static void report(struct sk_dns_server *s, int err, const struct sk_addr *peer)
{
	if (s->o.on_error)
		s->o.on_error(s->o.ud, err, peer);
}

/* --- Delayed answers ------------------------------------------------------------ */

static void tcp_queue(struct tcp_conn *c, const unsigned char *msg, size_t len);

static void on_delay_due(struct sk_loop *loop, struct sk_timer *t, void *ud)
{
	(void)t;
	struct sk_dns_server *s = ud;
	uint64_t now = sk_loop_now(loop);
	while (s->head && s->head->due_ms <= now) {
		struct delayed *d = s->head;
		s->head = d->next;
		if (!s->head)
			s->tail = NULL;
		s->n_delayed--;
		if (!d->conn) {
			if (sendto(s->udp_fd, d->data, d->len, 0, &d->to.u.sa, d->to.len) < 0)
				report(s, -errno, &d->to);
		} else {
			/* The connection may have closed meanwhile: its slot's
			 * generation then differs. */
			for (size_t i = 0; i < s->n_conns; i++) {
				if (s->conns[i] == d->conn && d->conn->gen == d->gen) {
					tcp_queue(d->conn, d->data, d->len);
					break;
				}
			}
		}
		free(d);
	}
	if (s->head)
		sk_loop_timer_start(loop, &s->delay_timer, s->head->due_ms - now);
}

static bool delay(struct sk_dns_server *s, const unsigned char *msg, size_t len,
                  const struct sk_addr *to, struct tcp_conn *conn)
{
	if (s->n_delayed == SK_DNS_SERVER_MAX_DELAYED)
		return false;
	struct delayed *d = malloc(sizeof *d + len);
	if (!d)
		return false;
	d->next = NULL;
	d->due_ms = sk_loop_now(s->loop) + s->o.delay_ms;
	d->to = *to;
	d->conn = conn;
	d->gen = conn ? conn->gen : 0;
	d->len = len;
	memcpy(d->data, msg, len);
	if (s->tail)
		s->tail->next = d;
	else
		s->head = d;
	s->tail = d;
	s->n_delayed++;
	if (!sk_timer_is_active(&s->delay_timer))
		sk_loop_timer_start(s->loop, &s->delay_timer, s->o.delay_ms);
	return true;
}

/* --- UDP -------------------------------------------------------------------------- */

static void on_udp(struct sk_loop *loop, int fd, unsigned events, void *ud)
{
	(void)loop;
	(void)events;
	struct sk_dns_server *s = ud;
	int n = sk_udp_recv_batch(fd, s->in, s->from, BATCH);
	if (n < 0) {
		report(s, n, NULL);
		return;
	}
	int n_out = 0;
	for (int i = 0; i < n; i++) {
		size_t len = s->in[i].msg_len;
		sk_trace(s->o.tracer, "recvfrom(%d) = %zu", fd, len);
		if (s->in[i].msg_hdr.msg_flags & MSG_TRUNC)
			continue;
		/* Port 0 is no sender's: only a forged datagram has it. */
		unsigned port = 0;
		if (sk_addr_to_ip(&s->from[i], NULL, &port) < 0 || port == 0)
			continue;
		if (s->o.drop_percent && next_random(s) % 100 < s->o.drop_percent) {
			s->stats.n_dropped++;
			log_query(s, &s->from[i], false, &(struct sk_dns_answer_info){ 0 }, -1);
			continue;
		}
		unsigned char *answer = s->out_slots + (size_t)n_out * SK_DNS_SERVER_UDP_MAX;
		struct sk_dns_answer_info info;
		int alen = sk_dns_zones_answer(s->zones, s->in_slots + (size_t)i * QUERY_MAX, len,
		                               &s->aopts, answer, SK_DNS_SERVER_UDP_MAX, &info);
		if (alen <= 0)
			continue;
		s->stats.n_udp++;
		s->stats.n_truncated += info.truncated;
		log_query(s, &s->from[i], false, &info, (int)info.rcode);
		if (s->o.delay_ms) {
			if (!delay(s, answer, (size_t)alen, &s->from[i], NULL))
				s->stats.n_dropped++;
			continue;
		}
		s->out_iov[n_out].iov_base = answer;
		s->out_iov[n_out].iov_len = (size_t)alen;
		s->out[n_out].msg_hdr.msg_name = &s->from[i].u.storage;
		s->out[n_out].msg_hdr.msg_namelen = s->from[i].len;
		n_out++;
	}
	if (n_out)
		sk_udp_send_batch(s->udp_fd, s->out, n_out, s->o.tracer, s->o.on_error, s->o.ud);
}

/* --- TCP -------------------------------------------------------------------------- */

static void tcp_close(struct tcp_conn *c)
{
	struct sk_dns_server *s = c->s;
	for (size_t i = 0; i < s->n_conns; i++) {
		if (s->conns[i] == c) {
			s->conns[i] = s->conns[--s->n_conns];
			break;
		}
	}
	sk_loop_timer_stop(s->loop, &c->idle);
	sk_loop_del_fd(s->loop, c->fd);
	sk_sock_close(c->fd, s->o.tracer);
	sk_acceptor_release(s->acceptor, &c->ip);
	free(c->in);
	free(c->out);
	free(c);
}

static void tcp_want(struct tcp_conn *c)
{
	unsigned ev = 0;
	if (!c->eof && c->out_len - c->out_sent < TCP_OUT_MAX)
		ev |= SK_EV_READ;
	if (c->out_sent < c->out_len)
		ev |= SK_EV_WRITE;
	if (ev == 0 && c->eof) {
		tcp_close(c);
		return;
	}
	sk_loop_mod_fd(c->s->loop, c->fd, ev);
}

/* Sends what waits; returns false when the connection was closed. */
static bool tcp_flush(struct tcp_conn *c)
{
	while (c->out_sent < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_sent, c->out_len - c->out_sent, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0) {
			report(c->s, -errno, &c->peer);
			tcp_close(c);
			return false;
		}
		c->out_sent += (size_t)n;
	}
	if (c->out_sent == c->out_len)
		c->out_sent = c->out_len = 0;
	return true;
}

static void tcp_queue(struct tcp_conn *c, const unsigned char *msg, size_t len)
{
	if (2 + len > c->out_cap - c->out_len) {
		if (c->out_sent) {
			memmove(c->out, c->out + c->out_sent, c->out_len - c->out_sent);
			c->out_len -= c->out_sent;
			c->out_sent = 0;
		}
		size_t cap = c->out_cap ? c->out_cap : 1024;
		while (2 + len > cap - c->out_len)
			cap *= 2;
		unsigned char *grown = realloc(c->out, cap);
		if (!grown) {
			report(c->s, SK_ENOMEM, &c->peer);
			return;
		}
		c->out = grown;
		c->out_cap = cap;
	}
	sk__dns_put16(c->out + c->out_len, (unsigned)len);
	memcpy(c->out + c->out_len + 2, msg, len);
	c->out_len += 2 + len;
	if (tcp_flush(c))
		tcp_want(c);
}

/* Answers every whole message in the input; false if c was closed. */
static bool tcp_answer_all(struct tcp_conn *c)
{
	struct sk_dns_server *s = c->s;
	size_t at = 0;
	while (c->in_len - at >= 2) {
		size_t len = sk__dns_get16(c->in + at);
		if (c->in_len - at - 2 < len)
			break;
		struct sk_dns_answer_info info;
		struct sk_dns_answer_opts ao = s->aopts;
		ao.over_udp = false;
		int alen = sk_dns_zones_answer(s->zones, c->in + at + 2, len, &ao, s->tcp_answer,
		                               sizeof s->tcp_answer, &info);
		at += 2 + len;
		if (alen <= 0)
			continue;
		s->stats.n_tcp++;
		log_query(s, &c->peer, true, &info, (int)info.rcode);
		if (s->o.delay_ms) {
			if (!delay(s, s->tcp_answer, (size_t)alen, &c->peer, c))
				s->stats.n_dropped++;
		} else {
			unsigned gen = c->gen;
			tcp_queue(c, s->tcp_answer, (size_t)alen);
			/* tcp_queue may have closed it: look it up again. */
			bool alive = false;
			for (size_t i = 0; i < s->n_conns; i++)
				alive |= s->conns[i] == c && c->gen == gen;
			if (!alive)
				return false;
		}
	}
	memmove(c->in, c->in + at, c->in_len - at);
	c->in_len -= at;
	return true;
}

static void on_tcp_idle(struct sk_loop *loop, struct sk_timer *t, void *ud)
{
	(void)loop;
	(void)t;
	tcp_close(ud);
}

static void on_tcp(struct sk_loop *loop, int fd, unsigned events, void *ud)
{
	struct tcp_conn *c = ud;
	struct sk_dns_server *s = c->s;
	sk_loop_timer_start(loop, &c->idle, s->o.tcp_idle_ms);
	if (events & SK_EV_WRITE) {
		if (!tcp_flush(c))
			return;
	}
	if ((events & (SK_EV_READ | SK_EV_ERROR)) && !c->eof) {
		ssize_t n = recv(fd, c->in + c->in_len, 2 + SK_DNS_MSG_MAX - c->in_len, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n < 0) {
			report(s, -errno, &c->peer);
			tcp_close(c);
			return;
		}
		if (n == 0)
			c->eof = true;
		c->in_len += (size_t)n;
		if (!tcp_answer_all(c))
			return;
	}
	tcp_want(c);
}

static void on_accept(void *ud, int fd, const struct sk_addr *peer, const struct sk_ip *ip)
{
	struct sk_dns_server *s = ud;
	struct tcp_conn *c = calloc(1, sizeof *c);
	unsigned char *in = malloc(2 + SK_DNS_MSG_MAX);
	struct tcp_conn **grown = realloc(s->conns, (s->n_conns + 1) * sizeof *grown);
	if (grown)
		s->conns = grown;
	if (!c || !in || !grown) {
		free(c);
		free(in);
		close(fd);
		sk_acceptor_release(s->acceptor, ip);
		report(s, SK_ENOMEM, peer);
		return;
	}
	c->s = s;
	c->fd = fd;
	c->gen = ++s->next_gen;
	c->peer = *peer;
	c->ip = *ip;
	c->in = in;
	sk_timer_init(&c->idle, on_tcp_idle, c);
	int err = sk_loop_add_fd(s->loop, fd, SK_EV_READ, on_tcp, c);
	if (err < 0) {
		free(c);
		free(in);
		close(fd);
		sk_acceptor_release(s->acceptor, ip);
		report(s, err, peer);
		return;
	}
	s->conns[s->n_conns++] = c;
	sk_loop_timer_start(s->loop, &c->idle, s->o.tcp_idle_ms);
}

/* --- Life ------------------------------------------------------------------------- */

int sk_dns_server_new(struct sk_loop *loop, const struct sk_dns_zones *zones, int udp_fd,
                      int tcp_fd, const struct sk_dns_server_opts *opts,
                      struct sk_dns_server **out)
{
	struct sk_dns_server *s = calloc(1, sizeof *s);
	unsigned char *in = malloc((size_t)BATCH * QUERY_MAX);
	unsigned char *outs = malloc((size_t)BATCH * SK_DNS_SERVER_UDP_MAX);
	int err = SK_ENOMEM;
	if (!s || !in || !outs)
		goto fail;
	s->loop = loop;
	s->zones = zones;
	s->o = *opts;
	s->udp_fd = udp_fd;
	s->in_slots = in;
	s->out_slots = outs;
	s->aopts.over_udp = true;
	s->aopts.force_tc = opts->truncate;
	s->aopts.servfail = opts->servfail;
	s->aopts.n_servfail = opts->n_servfail;
	if (getrandom(&s->rng, sizeof s->rng, 0) != sizeof s->rng || s->rng == 0)
		s->rng = 0x9e3779b97f4a7c15ull;
	sk_timer_init(&s->delay_timer, on_delay_due, s);
	for (int i = 0; i < BATCH; i++) {
		s->in_iov[i].iov_base = in + (size_t)i * QUERY_MAX;
		s->in_iov[i].iov_len = QUERY_MAX;
		s->in[i].msg_hdr.msg_iov = &s->in_iov[i];
		s->in[i].msg_hdr.msg_iovlen = 1;
		s->out[i].msg_hdr.msg_iov = &s->out_iov[i];
		s->out[i].msg_hdr.msg_iovlen = 1;
	}
	if ((err = sk_loop_add_fd(loop, udp_fd, SK_EV_READ, on_udp, s)) < 0)
		goto fail;
	if (tcp_fd >= 0) {
		struct sk_acceptor_opts ao;
		sk_acceptor_opts_init(&ao);
		ao.max_conns = opts->max_tcp_conns;
		ao.on_accept = on_accept;
		ao.ud = s;
		ao.tracer = opts->tracer;
		err = sk_acceptor_new(loop, tcp_fd, &ao, &s->acceptor);
		tcp_fd = -1; /* taken, even on failure */
		if (err < 0) {
			sk_loop_del_fd(loop, udp_fd);
			goto fail;
		}
	}
	*out = s;
	return 0;
fail:
	if (tcp_fd >= 0)
		close(tcp_fd);
	close(udp_fd);
	free(in);
	free(outs);
	free(s);
	return err;
}

void sk_dns_server_stats(const struct sk_dns_server *s, struct sk_dns_server_stats *out)
{
	*out = s->stats;
}

void sk_dns_server_free(struct sk_dns_server *s)
{
	if (!s)
		return;
	while (s->n_conns)
		tcp_close(s->conns[0]);
	free(s->conns);
	sk_acceptor_free(s->acceptor);
	sk_loop_timer_stop(s->loop, &s->delay_timer);
	while (s->head) {
		struct delayed *d = s->head;
		s->head = d->next;
		free(d);
	}
	sk_loop_del_fd(s->loop, s->udp_fd);
	sk_sock_close(s->udp_fd, s->o.tracer);
	free(s->in_slots);
	free(s->out_slots);
	free(s);
}
