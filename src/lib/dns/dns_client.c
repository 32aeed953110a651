/* The DNS client: queries in flight on one UDP socket, found again by ID;
 * each query is one state machine (UDP wait, TCP connect, TCP send, TCP
 * receive), with one timer for its try. */
#include "dns/dns_internal.h"

#include <sockit/dns_client.h>
#include <sockit/err.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

/* Responses per recvmmsg. Each slot holds any UDP payload: we offer 1232
 * bytes, but a server may send more, and a cut one would read as malformed. */
#define BATCH 8
#define SLOT 65536
/* Records one response may hold: a full 64 KiB of the smallest records. */
#define MAX_RRS 6000

enum state { Q_FREE, Q_UDP, Q_TCP_CONNECT, Q_TCP_SEND, Q_TCP_RECV };

struct query {
	struct sk_dns_client *c;
	enum state state;
	uint16_t id, type;
	struct sk_dns_name name;      /* as sent: with 0x20, in its random case */
	size_t tag;
	sk_dns_done_fn *done;
	void *ud;
	unsigned tries;
	uint64_t started_ms;
	struct sk_timer timer;
	int fd;                       /* TCP */
	unsigned char *buf;           /* TCP: the query to send, then the response */
	size_t buf_len, buf_pos;
	size_t slot;                  /* its index in the client's table */
	size_t next_free;             /* free list */
	int failed;                   /* a first send that failed: reported from the loop */
};

struct sk_dns_client {
	struct sk_loop *loop;
	struct sk_dns_client_opts o;
	struct sk_dns_client_stats stats;
	int udp_fd;
	struct query **q;             /* slots, each allocated once and reused */
	size_t n_q, free_head, n_inflight;
	uint32_t *by_id;              /* 65536 entries: slot + 1, 0 none */
	unsigned char pool[256];      /* random bytes, taken from the end */
	size_t pool_left;
	unsigned char *slots;
	struct mmsghdr in[BATCH];
	struct iovec iov[BATCH];
	struct sk_addr from[BATCH];
	struct sk_dns_rr *rrs;
};

static const char *const ignored_reasons[SK_DNS_N_IGNORED] = {
	[SK_DNS_IGN_SOURCE] = "from an address other than the server's",
	[SK_DNS_IGN_SHORT] = "that is not a response to a query",
	[SK_DNS_IGN_ID] = "with an ID no query in flight has",
	[SK_DNS_IGN_QUESTION] = "whose question is not the one asked",
	[SK_DNS_IGN_CASE] = "that did not echo the name's case (--0x20)",
};

const char *sk_dns_ignored_reason(enum sk_dns_ignored why)
{
	return (unsigned)why < SK_DNS_N_IGNORED ? ignored_reasons[why] : "for an unknown reason";
}

void sk_dns_client_opts_init(struct sk_dns_client_opts *opts)
{
	memset(opts, 0, sizeof *opts);
	opts->timeout_ms = 2000;
	opts->retries = 2;
	opts->recurse = true;
	opts->edns_size = SK_DNS_EDNS_SIZE;
}

static int random_bytes(struct sk_dns_client *c, void *out, size_t n)
{
	if (c->pool_left < n) {
		if (getrandom(c->pool, sizeof c->pool, 0) != (ssize_t)sizeof c->pool)
			return -errno ? -errno : SK_EINVAL;
		c->pool_left = sizeof c->pool;
	}
	c->pool_left -= n;
	memcpy(out, c->pool + c->pool_left, n);
	return 0;
}

static void note(struct sk_dns_client *c, int why, const struct sk_addr *from)
{
	if (why >= 0)
		c->stats.n_ignored[why]++;
	if (c->o.on_note)
		c->o.on_note(c->o.ud, why, from);
}

/* --- The end of a query --------------------------------------------------------- */

static void close_tcp(struct sk_dns_client *c, struct query *q)
{
	if (q->fd >= 0) {
		sk_loop_del_fd(c->loop, q->fd);
		sk_sock_close(q->fd, c->o.tracer);
		q->fd = -1;
	}
}

static void release(struct sk_dns_client *c, struct query *q, size_t slot)
{
	sk_loop_timer_stop(c->loop, &q->timer);
	close_tcp(c, q);
	if (c->by_id[q->id] == slot + 1)
		c->by_id[q->id] = 0;
	free(q->buf);
	q->buf = NULL;
	q->state = Q_FREE;
	q->next_free = c->free_head;
	c->free_head = slot;
	c->n_inflight--;
}

static size_t slot_of(const struct query *q)
{
	return q->slot;
}

static void finish(struct sk_dns_client *c, struct query *q, int err, const unsigned char *msg,
                   size_t len, bool tcp)
{
	struct sk_dns_result r = {
		.err = err, .msg = msg, .len = len, .tcp = tcp, .tries = q->tries,
		.elapsed_ms = sk_loop_now(c->loop) - q->started_ms,
	};
	sk_dns_done_fn *done = q->done;
	void *ud = q->ud;
	size_t tag = q->tag;
	/* The slot is free before done runs, so done may query again; a TCP
	 * response lives in the query's buffer, kept until done returns. */
	unsigned char *buf = q->buf;
	q->buf = NULL;
	release(c, q, slot_of(q));
	done(ud, tag, &r);
	free(buf);
}

/* Whether a message answers q: its question is q's. Returns an
 * SK_DNS_IGN_* reason, or -1 when it does. */
static int mismatch(const struct sk_dns_client *c, const struct query *q,
                    const struct sk_dns_msg *m)
{
	if (!m->has_question || m->q.type != q->type || m->q.cls != SK_DNS_IN)
		return SK_DNS_IGN_QUESTION;
	if (!sk_dns_name_equal(&m->q.name, &q->name))
		return SK_DNS_IGN_QUESTION;
	if (c->o.use_0x20 && memcmp(m->q.name.wire, q->name.wire, q->name.len) != 0)
		return SK_DNS_IGN_CASE;
	return -1;
}

static void start_tcp(struct sk_dns_client *c, struct query *q);

/* A response that matched: parse it whole, and go to TCP on TC. */
static void accept_response(struct sk_dns_client *c, struct query *q, const unsigned char *p,
                            size_t len, bool tcp)
{
	struct sk_dns_msg m = { .rrs = c->rrs, .cap_rrs = MAX_RRS };
	int err = sk_dns_parse(p, len, &m);
	if (err == 0 && (m.h.flags & SK_DNS_TC) && !tcp) {
		c->stats.n_tcp_fallback++;
		note(c, -2, &c->o.server);
		start_tcp(c, q);
		return;
	}
	finish(c, q, err, p, len, tcp);
}

/* --- UDP ---------------------------------------------------------------------------- */

static bool same_addr(const struct sk_addr *a, const struct sk_addr *b)
{
	struct sk_ip x, y;
	unsigned px, py;
	if (sk_addr_to_ip(a, &x, &px) < 0 || sk_addr_to_ip(b, &y, &py) < 0)
		return false;
	return px == py && x.version == y.version && x.hi == y.hi && x.lo == y.lo;
}

static void on_datagram(struct sk_dns_client *c, const unsigned char *p, size_t len,
                        const struct sk_addr *from)
{
	if (!same_addr(from, &c->o.server)) {
		note(c, SK_DNS_IGN_SOURCE, from);
		return;
	}
	struct sk_dns_msg m = { 0 };
	if (sk_dns_parse_question(p, len, &m) < 0 || !(m.h.flags & SK_DNS_QR)) {
		note(c, len >= 2 && c->by_id[sk__dns_get16(p)] ? SK_DNS_IGN_QUESTION : SK_DNS_IGN_SHORT,
		     from);
		return;
	}
	uint32_t slot = c->by_id[m.h.id];
	if (slot == 0 || c->q[slot - 1]->state != Q_UDP) {
		note(c, SK_DNS_IGN_ID, from);
		return;
	}
	struct query *q = c->q[slot - 1];
	int why = mismatch(c, q, &m);
	if (why >= 0) {
		note(c, why, from);
		return;
	}
	if (c->o.on_wire)
		c->o.on_wire(c->o.ud, false, false, p, len);
	accept_response(c, q, p, len, false);
}

static void fail_all_udp(struct sk_dns_client *c, int err)
{
	for (size_t i = 0; i < c->n_q; i++)
		if (c->q[i]->state == Q_UDP)
			finish(c, c->q[i], err, NULL, 0, false);
}

static void on_udp(struct sk_loop *loop, int fd, unsigned events, void *ud)
{
	(void)loop;
	(void)events;
	struct sk_dns_client *c = ud;
	int n = sk_udp_recv_batch(fd, c->in, c->from, BATCH);
	if (n < 0) {
		fail_all_udp(c, n); /* on a connected socket, an ICMP port unreachable */
		return;
	}
	for (int i = 0; i < n; i++) {
		if (c->o.tracer && c->o.tracer->fn) {
			char text[SK_ADDR_STRLEN];
			sk_addr_format(&c->from[i], text);
			sk_trace(c->o.tracer, "recvfrom(%d) = %u from %s", fd, c->in[i].msg_len, text);
		}
		on_datagram(c, c->slots + (size_t)i * SLOT, c->in[i].msg_len, &c->from[i]);
	}
}

static int send_udp(struct sk_dns_client *c, struct query *q)
{
	unsigned char buf[SK_DNS_HEADER_LEN + SK_DNS_NAME_MAX + 4 + 11];
	int len = sk_dns_build_query(buf, sizeof buf, q->id, &q->name, q->type, c->o.recurse,
	                             c->o.edns_size);
	if (len < 0)
		return len;
	if (c->o.on_wire)
		c->o.on_wire(c->o.ud, true, false, buf, (size_t)len);
	ssize_t n = send(c->udp_fd, buf, (size_t)len, 0);
	int err = n < 0 ? -errno : 0;
	char text[SK_ADDR_STRLEN];
	sk_addr_format(&c->o.server, text);
	sk_trace(c->o.tracer, "sendto(%d, %d, %s)%s%s", c->udp_fd, len, text, err ? " = " : "",
	         err ? sk_errname(err) : "");
	/* A full send buffer loses this try; the timer sends it again. */
	return err == -EAGAIN || err == -ENOBUFS ? 0 : err;
}

/* --- TCP ---------------------------------------------------------------------------- */

static void on_tcp(struct sk_loop *loop, int fd, unsigned events, void *ud);

static void start_tcp(struct sk_dns_client *c, struct query *q)
{
	close_tcp(c, q);
	free(q->buf);
	q->buf = malloc(2 + SK_DNS_MSG_MAX);
	if (!q->buf) {
		finish(c, q, SK_ENOMEM, NULL, 0, true);
		return;
	}
	int len = sk_dns_build_query(q->buf + 2, SK_DNS_MSG_MAX, q->id, &q->name, q->type,
	                             c->o.recurse, c->o.edns_size);
	bool in_progress = false;
	int fd = len < 0 ? len : sk_tcp_connect_start(&c->o.server, &in_progress, c->o.tracer);
	int err = fd < 0 ? fd : sk_loop_add_fd(c->loop, fd, SK_EV_WRITE, on_tcp, q);
	if (err < 0) {
		if (fd >= 0)
			close(fd);
		finish(c, q, err, NULL, 0, true);
		return;
	}
	if (c->o.on_wire)
		c->o.on_wire(c->o.ud, true, true, q->buf + 2, (size_t)len);
	sk__dns_put16(q->buf, (unsigned)len);
	q->fd = fd;
	q->buf_len = 2 + (size_t)len;
	q->buf_pos = 0;
	q->state = in_progress ? Q_TCP_CONNECT : Q_TCP_SEND;
	if (c->by_id[q->id] == slot_of(q) + 1)
		c->by_id[q->id] = 0; /* a late UDP answer no longer counts */
	sk_loop_timer_start(c->loop, &q->timer, c->o.timeout_ms);
}

static void tcp_received(struct sk_dns_client *c, struct query *q)
{
	struct sk_dns_msg m = { 0 };
	const unsigned char *p = q->buf + 2;
	size_t len = q->buf_pos - 2;
	if (c->o.on_wire)
		c->o.on_wire(c->o.ud, false, true, p, len);
	/* On our own connection a wrong ID or question is no forgery to wait
	 * out: the server answered something else. */
	if (sk_dns_parse_question(p, len, &m) < 0 || m.h.id != q->id || mismatch(c, q, &m) >= 0) {
		int err = sk_dns_parse_question(p, len, &m);
		finish(c, q, err < 0 ? err : SK_EDNS_ID, p, len, true);
		return;
	}
	accept_response(c, q, p, len, true);
}

static void on_tcp(struct sk_loop *loop, int fd, unsigned events, void *ud)
{
	(void)events;
	struct query *q = ud;
	struct sk_dns_client *c = q->c;
	if (q->state == Q_TCP_CONNECT) {
		int err = sk_tcp_connect_finish(fd);
		if (err < 0) {
			finish(c, q, err, NULL, 0, true);
			return;
		}
		q->state = Q_TCP_SEND;
	}
	if (q->state == Q_TCP_SEND) {
		ssize_t n = send(fd, q->buf + q->buf_pos, q->buf_len - q->buf_pos, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n < 0) {
			finish(c, q, -errno, NULL, 0, true);
			return;
		}
		sk_trace(c->o.tracer, "send(%d, %zd)", fd, n);
		q->buf_pos += (size_t)n;
		if (q->buf_pos < q->buf_len)
			return;
		q->state = Q_TCP_RECV;
		q->buf_pos = 0;
		sk_loop_mod_fd(loop, fd, SK_EV_READ);
		return;
	}
	size_t want = q->buf_pos < 2 ? 2 : 2 + (size_t)sk__dns_get16(q->buf);
	ssize_t n = recv(fd, q->buf + q->buf_pos, want - q->buf_pos, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		finish(c, q, n < 0 ? -errno : -ECONNRESET, NULL, 0, true);
		return;
	}
	sk_trace(c->o.tracer, "recv(%d) = %zd", fd, n);
	q->buf_pos += (size_t)n;
	if (q->buf_pos >= 2 && q->buf_pos == 2 + (size_t)sk__dns_get16(q->buf))
		tcp_received(c, q);
}

/* --- Tries -------------------------------------------------------------------------- */

static int send_try(struct sk_dns_client *c, struct query *q)
{
	q->tries++;
	if (c->o.tcp_only || q->state != Q_UDP) {
		start_tcp(c, q);
		return 0;
	}
	int err = send_udp(c, q);
	if (err == 0)
		sk_loop_timer_start(c->loop, &q->timer, c->o.timeout_ms);
	return err;
}

static void on_timeout(struct sk_loop *loop, struct sk_timer *t, void *ud)
{
	(void)loop;
	(void)t;
	struct query *q = ud;
	struct sk_dns_client *c = q->c;
	if (q->failed) {
		finish(c, q, q->failed, NULL, 0, false);
		return;
	}
	if (q->tries > c->o.retries) {
		finish(c, q, -ETIMEDOUT, NULL, 0, q->state != Q_UDP);
		return;
	}
	c->stats.n_retries++;
	note(c, -1, &c->o.server);
	int err = send_try(c, q);
	if (err < 0)
		finish(c, q, err, NULL, 0, false);
}

/* A query found again by ID must be a query in flight: IDs are drawn until
 * one is free. */
static int new_id(struct sk_dns_client *c, uint16_t *out)
{
	for (int i = 0; i < 65536; i++) {
		uint16_t id;
		int err = random_bytes(c, &id, sizeof id);
		if (err < 0)
			return err;
		if (!c->by_id[id]) {
			*out = id;
			return 0;
		}
	}
	return SK_ETOOLARGE;
}

static int randomise_case(struct sk_dns_client *c, struct sk_dns_name *name)
{
	unsigned char bits[SK_DNS_NAME_MAX];
	int err = random_bytes(c, bits, sizeof bits / 2);
	if (err == 0)
		err = random_bytes(c, bits + sizeof bits / 2, sizeof bits - sizeof bits / 2);
	if (err < 0)
		return err;
	for (unsigned at = 0; at < name->len && name->wire[at]; at += 1u + name->wire[at]) {
		for (unsigned i = at + 1; i <= at + name->wire[at]; i++) {
			unsigned char ch = sk__dns_lower(name->wire[i]);
			if (ch >= 'a' && ch <= 'z' && (bits[i] & 1))
				ch = (unsigned char)(ch - 32);
			name->wire[i] = ch;
		}
	}
	return 0;
}

static struct query *take_slot(struct sk_dns_client *c, size_t *slot)
{
	if (c->free_head != SIZE_MAX) {
		*slot = c->free_head;
		c->free_head = c->q[*slot]->next_free;
		return c->q[*slot];
	}
	if (c->n_q == 65535)
		return NULL;
	struct query **grown = realloc(c->q, (c->n_q + 1) * sizeof *grown);
	if (!grown)
		return NULL;
	c->q = grown;
	struct query *q = calloc(1, sizeof *q);
	if (!q)
		return NULL;
	c->q[c->n_q] = q;
	*slot = c->n_q++;
	return q;
}

int sk_dns_client_query(struct sk_dns_client *c, const struct sk_dns_name *name, uint16_t type,
                        size_t tag, sk_dns_done_fn *done, void *ud)
{
	uint16_t id = 0;
	int err = new_id(c, &id);
	if (err < 0)
		return err;
	size_t slot;
	struct query *q = take_slot(c, &slot);
	if (!q)
		return c->n_q == 65535 ? SK_ETOOLARGE : SK_ENOMEM;
	*q = (struct query){
		.c = c, .state = c->o.tcp_only ? Q_TCP_CONNECT : Q_UDP, .id = id, .type = type,
		.name = *name, .tag = tag, .done = done, .ud = ud, .fd = -1,
		.started_ms = sk_loop_now(c->loop), .slot = slot,
	};
	sk_timer_init(&q->timer, on_timeout, q);
	c->by_id[id] = (uint32_t)slot + 1;
	c->n_inflight++;
	if (c->o.use_0x20 && (err = randomise_case(c, &q->name)) < 0) {
		release(c, q, slot);
		return err;
	}
	err = send_try(c, q);
	if (err < 0) {
		/* done runs from the loop, never inside this call: the try's
		 * timer fires at once and finds no tries left. */
		q->failed = err;
		sk_loop_timer_start(c->loop, &q->timer, 0);
	}
	return 0;
}

size_t sk_dns_client_inflight(const struct sk_dns_client *c)
{
	return c->n_inflight;
}

void sk_dns_client_stats(const struct sk_dns_client *c, struct sk_dns_client_stats *out)
{
	*out = c->stats;
}

int sk_dns_client_new(struct sk_loop *loop, const struct sk_dns_client_opts *opts,
                      struct sk_dns_client **out)
{
	struct sk_dns_client *c = calloc(1, sizeof *c);
	int err = SK_ENOMEM;
	if (!c)
		return err;
	c->loop = loop;
	c->o = *opts;
	c->udp_fd = -1;
	c->free_head = SIZE_MAX;
	c->by_id = calloc(65536, sizeof *c->by_id);
	c->slots = malloc((size_t)BATCH * SLOT);
	c->rrs = malloc(MAX_RRS * sizeof *c->rrs);
	if (!c->by_id || !c->slots || !c->rrs)
		goto fail;
	for (int i = 0; i < BATCH; i++) {
		c->iov[i].iov_base = c->slots + (size_t)i * SLOT;
		c->iov[i].iov_len = SLOT;
		c->in[i].msg_hdr.msg_iov = &c->iov[i];
		c->in[i].msg_hdr.msg_iovlen = 1;
	}
	if (!opts->tcp_only) {
		struct sk_sock_opts so;
		sk_sock_opts_init(&so);
		so.tracer = opts->tracer;
		c->udp_fd = sk_udp_open(NULL, opts->server.u.sa.sa_family, &so);
		if (c->udp_fd < 0) {
			err = c->udp_fd;
			goto fail;
		}
		char text[SK_ADDR_STRLEN];
		sk_addr_format(&opts->server, text);
		err = connect(c->udp_fd, &opts->server.u.sa, opts->server.len) < 0 ? -errno : 0;
		sk_trace(opts->tracer, "connect(%d, %s)%s%s", c->udp_fd, text, err ? " = " : "",
		         err ? sk_errname(err) : "");
		if (err == 0)
			err = sk_loop_add_fd(loop, c->udp_fd, SK_EV_READ, on_udp, c);
		if (err < 0)
			goto fail;
	}
	*out = c;
	return 0;
fail:
	if (c->udp_fd >= 0)
		close(c->udp_fd);
	free(c->by_id);
	free(c->slots);
	free(c->rrs);
	free(c);
	return err;
}

void sk_dns_client_free(struct sk_dns_client *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_q; i++) {
		if (c->q[i]->state != Q_FREE) {
			sk_loop_timer_stop(c->loop, &c->q[i]->timer);
			close_tcp(c, c->q[i]);
		}
		free(c->q[i]->buf);
		free(c->q[i]);
	}
	free(c->q);
	if (c->udp_fd >= 0) {
		sk_loop_del_fd(c->loop, c->udp_fd);
		sk_sock_close(c->udp_fd, c->o.tracer);
	}
	free(c->by_id);
	free(c->slots);
	free(c->rrs);
	free(c);
}
