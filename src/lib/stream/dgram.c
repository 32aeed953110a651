/* The datagram server: batched receive, answer per mode (never to a source
 * that would start a loop or profit from amplification), errors survived. */
#include <sockit/dgram.h>
#include <sockit/err.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Datagrams per recvmmsg: 16 × 64 KiB = 1 MiB of buffers per server, and
 * one system call per 16 datagrams under load (bench/udp.sh). */
#define BATCH 16
#define SLOT (SK_UDP_MAX_PAYLOAD + 29) /* a byte past the payload: room to see MSG_TRUNC */

struct sk_dgram_server {
	struct sk_loop *loop;
	int fd;
	unsigned port;                /* ours: a datagram from it is never answered */
	struct sk_dgram_opts o;
	struct sk_dgram_stats stats;
	char *slots;                  /* BATCH receive buffers, then BATCH reply buffers */
	struct mmsghdr in[BATCH], out[BATCH];
	struct iovec in_iov[BATCH], out_iov[BATCH];
	struct sk_addr from[BATCH];
};

void sk_dgram_opts_init(struct sk_dgram_opts *opts)
{
	memset(opts, 0, sizeof *opts);
	opts->mode = SK_DGRAM_DELIVER;
}

static const char *const dgram_mode_names[] = {
	[SK_DGRAM_DELIVER] = "print", [SK_DGRAM_ECHO] = "echo",
	[SK_DGRAM_REPLY] = "reply",   [SK_DGRAM_DISCARD] = "discard",
};

int sk_dgram_mode_parse(const char *name, enum sk_dgram_mode *mode)
{
	for (size_t m = 0; m < sizeof dgram_mode_names / sizeof dgram_mode_names[0]; m++) {
		if (strcmp(name, dgram_mode_names[m]) == 0) {
			*mode = (enum sk_dgram_mode)m;
			return 0;
		}
	}
	return SK_EINVAL;
}

const char *sk_dgram_mode_name(enum sk_dgram_mode mode)
{
	return dgram_mode_names[mode];
}

size_t sk_reply_format(const char *msg, size_t len, const struct sk_addr *peer, char *buf,
                       size_t cap)
{
	struct sk_ip ip;
	unsigned port = 0;
	char text[SK_IP_STRLEN] = "?";
	/* `echo hi | nc -u` sends "hi\n": the line, as line framing gives TCP. */
	if (len > 0 && msg[len - 1] == '\n')
		len--;
	if (len > 0 && msg[len - 1] == '\r')
		len--;
	if (sk_addr_to_ip(peer, &ip, &port) == 0)
		sk_ip_format(&ip, SK_IP_CANONICAL, text);
	char tail[SK_IP_STRLEN + 24];
	int tail_len = snprintf(tail, sizeof tail, " from ('%s', %u)", text, port);
	static const char lead[] = "Received msg: ";
	size_t need = sizeof lead - 1 + len + (size_t)tail_len;
	if (need <= cap) {
		memcpy(buf, lead, sizeof lead - 1);
		memcpy(buf + sizeof lead - 1, msg, len);
		memcpy(buf + sizeof lead - 1 + len, tail, (size_t)tail_len);
	}
	return need;
}

static void report(struct sk_dgram_server *s, int err, const struct sk_addr *peer)
{
	if (s->o.on_error)
		s->o.on_error(s->o.ud, err, peer);
}

/* UDP services that answer whatever reaches their port, by port. The
 * factors are bandwidth amplification as measured in US-CERT TA14-017A. */
static const struct sk_dgram_service services[] = {
	{ 7, "echo", "echoes every datagram (CERT CA-1996-01: echo and chargen loops)" },
	{ 13, "daytime", "answers any datagram with the date" },
	{ 17, "qotd", "answers any datagram with a quotation (140x)" },
	{ 19, "chargen", "answers any datagram with up to 512 characters (358x)" },
	{ 37, "time", "answers any datagram with the time" },
	{ 53, "domain", "answers DNS queries (28-54x)" },
	{ 69, "tftp", "answers read requests (60x)" },
	{ 111, "sunrpc", "answers portmapper dumps (7-28x)" },
	{ 123, "ntp", "answers queries, monlist (556x)" },
	{ 137, "netbios-ns", "answers name queries (3.8x)" },
	{ 161, "snmp", "answers GetBulk requests (6.3x)" },
	{ 389, "ldap", "answers CLDAP searches (56-70x)" },
	{ 443, "https", "answers QUIC and DTLS handshakes (RFC 9000 caps QUIC at 3x)" },
	{ 500, "isakmp", "answers IKE handshakes" },
	{ 520, "router", "answers RIPv1 requests (131x)" },
	{ 1900, "ssdp", "answers M-SEARCH (30x)" },
	{ 3283, "net-assistant", "answers Apple Remote Desktop queries (35x)" },
	{ 3702, "ws-discovery", "answers probes (up to 500x)" },
	{ 5351, "nat-pmp", "answers mapping requests" },
	{ 5353, "mdns", "answers queries (2-10x)" },
	{ 5683, "coap", "answers requests (10-50x)" },
	{ 10001, "ubnt-discovery", "answers Ubiquiti discovery probes (30x)" },
	{ 11211, "memcache", "answers gets (10,000-51,000x)" },
	{ 26000, "quake", "answers status requests (64x)" },
	{ 27015, "steam", "answers game server queries (5.5x)" },
};

const struct sk_dgram_service *sk_dgram_service_port(unsigned port)
{
	/* 25 entries: a scan costs less than the recvmmsg it follows. */
	for (size_t i = 0; i < sizeof services / sizeof services[0]; i++)
		if (services[i].port == port)
			return &services[i];
	return NULL;
}

static const char *const drop_reasons[SK_DGRAM_N_DROPS] = {
	[SK_DGRAM_DROP_SELF] = "from this server's own port (answering would answer ourselves)",
	[SK_DGRAM_DROP_FORGED] = "from a source no sender has (port 0, multicast, broadcast)",
	[SK_DGRAM_DROP_SERVICE] = "from the port of a service that answers too (a loop)",
	[SK_DGRAM_DROP_AMPLIFY] = "shorter than the reply (answering would amplify)",
};

const char *sk_dgram_drop_reason(enum sk_dgram_drop why)
{
	return (unsigned)why < SK_DGRAM_N_DROPS ? drop_reasons[why] : "unknown reason";
}

/* Whether a datagram from this source must not be answered, and why. */
static int refuse(const struct sk_dgram_server *s, const struct sk_addr *from)
{
	struct sk_ip ip;
	unsigned port;
	if (sk_addr_to_ip(from, &ip, &port) < 0)
		return SK_DGRAM_DROP_FORGED;
	/* Our answers leave from our port: whatever the address, one from it is
	 * us (or a twin on another host) and answering starts a loop. */
	if (port == s->port)
		return SK_DGRAM_DROP_SELF;
	/* Multicast (224/4, ff00::/8), 255.255.255.255 and 0.0.0.0 (::) are
	 * never a sender's; tested by hand, as this runs once per datagram. */
	bool v4 = ip.version == SK_IP_V4;
	bool multicast = v4 ? ip.lo >> 28 == 0xe : ip.hi >> 56 == 0xff;
	bool broadcast = v4 && ip.lo == 0xffffffffu;
	if (port == 0 || multicast || broadcast || (ip.hi | ip.lo) == 0)
		return SK_DGRAM_DROP_FORGED;
	if (!s->o.answer_service_ports && sk_dgram_service_port(port))
		return SK_DGRAM_DROP_SERVICE;
	return -1;
}

static void drop(struct sk_dgram_server *s, enum sk_dgram_drop why, int i, size_t len)
{
	s->stats.n_dropped[why]++;
	if (s->o.on_drop)
		s->o.on_drop(s->o.ud, why, &s->from[i], len);
}

static bool answers(enum sk_dgram_mode mode)
{
	return mode == SK_DGRAM_ECHO || mode == SK_DGRAM_REPLY;
}

/* Prepares the answer to datagram i in out slot n; returns false to send none. */
static bool answer(struct sk_dgram_server *s, int i, int n, size_t len)
{
	char *in = s->slots + (size_t)i * SLOT;
	char *out = s->slots + (size_t)(BATCH + n) * SLOT;
	size_t out_len;
	switch (s->o.mode) {
	case SK_DGRAM_ECHO:
		s->out_iov[n].iov_base = in;
		s->out_iov[n].iov_len = len;
		return true;
	case SK_DGRAM_REPLY:
		if (s->o.reply_text) {
			if (s->o.reply_text_len > len && !s->o.allow_amplify) {
				drop(s, SK_DGRAM_DROP_AMPLIFY, i, len);
				return false;
			}
			s->out_iov[n].iov_base = (void *)s->o.reply_text;
			s->out_iov[n].iov_len = s->o.reply_text_len;
			return true;
		}
		out_len = sk_reply_format(in, len, &s->from[i], out, SK_UDP_MAX_PAYLOAD);
		if (out_len > SK_UDP_MAX_PAYLOAD) {
			/* The answer to a near-maximal datagram cannot fit in one. */
			report(s, SK_ETOOLARGE, &s->from[i]);
			return false;
		}
		s->out_iov[n].iov_base = out;
		s->out_iov[n].iov_len = out_len;
		return true;
	default:
		return false;
	}
}

static void on_readable(struct sk_loop *loop, int fd, unsigned events, void *ud)
{
	(void)loop;
	(void)events;
	struct sk_dgram_server *s = ud;
	int n = sk_udp_recv_batch(fd, s->in, s->from, BATCH);
	if (n < 0) {
		report(s, n, NULL); /* e.g. ECONNREFUSED from an ICMP error */
		return;
	}
	int n_out = 0;
	for (int i = 0; i < n; i++) {
		size_t len = s->in[i].msg_len;
		bool truncated = (s->in[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
		if (s->o.tracer && s->o.tracer->fn) {
			char text[SK_ADDR_STRLEN];
			sk_addr_format(&s->from[i], text);
			sk_trace(s->o.tracer, "recvfrom(%d) = %zu from %s", fd, len, text);
		}
		if (s->o.acl) {
			struct sk_ip ip;
			if (sk_addr_to_ip(&s->from[i], &ip, NULL) < 0 || !sk_acl_permits(s->o.acl, &ip))
				continue;
		}
		s->stats.n_received++;
		const char *data = s->slots + (size_t)i * SLOT;
		if (s->o.on_datagram)
			s->o.on_datagram(s->o.ud, data, len, &s->from[i], truncated);
		if (truncated || !answers(s->o.mode))
			continue;
		int why = refuse(s, &s->from[i]);
		if (why >= 0) {
			drop(s, (enum sk_dgram_drop)why, i, len);
			continue;
		}
		if (answer(s, i, n_out, len)) {
			s->out[n_out].msg_hdr.msg_name = &s->from[i].u.storage;
			s->out[n_out].msg_hdr.msg_namelen = s->from[i].len;
			n_out++;
		}
	}
	if (n_out)
		s->stats.n_answered += (unsigned)sk_udp_send_batch(s->fd, s->out, n_out, s->o.tracer,
		                                                    s->o.on_error, s->o.ud);
}

int sk_dgram_server_new(struct sk_loop *loop, int fd, const struct sk_dgram_opts *opts,
                        struct sk_dgram_server **out)
{
	struct sk_dgram_server *s = calloc(1, sizeof *s);
	char *slots = malloc((size_t)2 * BATCH * SLOT);
	if (!s || !slots) {
		free(s);
		free(slots);
		close(fd);
		return SK_ENOMEM;
	}
	struct sk_addr local;
	int err = sk_sock_local_addr(fd, &local);
	if (err == 0)
		err = sk_addr_to_ip(&local, NULL, &s->port);
	if (err < 0) {
		close(fd);
		free(slots);
		free(s);
		return err;
	}
	s->loop = loop;
	s->fd = fd;
	s->o = *opts;
	s->slots = slots;
	for (int i = 0; i < BATCH; i++) {
		s->in_iov[i].iov_base = slots + (size_t)i * SLOT;
		s->in_iov[i].iov_len = SLOT;
		s->in[i].msg_hdr.msg_iov = &s->in_iov[i];
		s->in[i].msg_hdr.msg_iovlen = 1;
		s->out[i].msg_hdr.msg_iov = &s->out_iov[i];
		s->out[i].msg_hdr.msg_iovlen = 1;
	}
	err = sk_loop_add_fd(loop, fd, SK_EV_READ, on_readable, s);
	if (err < 0) {
		close(fd);
		free(slots);
		free(s);
		return err;
	}
	*out = s;
	return 0;
}

void sk_dgram_server_stats(const struct sk_dgram_server *s, struct sk_dgram_stats *out)
{
	*out = s->stats;
}

void sk_dgram_server_free(struct sk_dgram_server *s)
{
	if (!s)
		return;
	sk_loop_del_fd(s->loop, s->fd);
	sk_sock_close(s->fd, s->o.tracer);
	free(s->slots);
	free(s);
}
