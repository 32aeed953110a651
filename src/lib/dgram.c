/* The datagram server: batched receive, answer per mode, errors survived. */
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
	struct sk_dgram_opts o;
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

static void send_answers(struct sk_dgram_server *s, int n)
{
	int done = 0;
	while (done < n) {
		int sent = sendmmsg(s->fd, s->out + done, (unsigned)(n - done), 0);
		if (sent < 0 && errno == EINTR)
			continue;
		if (sent < 0) {
			/* The first datagram of the rest failed: report it, skip it.
			 * EAGAIN (send buffer full) drops it: UDP promises nothing,
			 * and waiting would stall every other client. */
			report(s, -errno, (const struct sk_addr *)s->out[done].msg_hdr.msg_name);
			done++;
			continue;
		}
		for (int k = done; k < done + sent; k++)
			sk_trace(s->o.tracer, "sendto(%d, %zu)", s->fd, s->out_iov[k].iov_len);
		done += sent;
	}
}

static void on_readable(struct sk_loop *loop, int fd, unsigned events, void *ud)
{
	(void)loop;
	(void)events;
	struct sk_dgram_server *s = ud;
	for (int i = 0; i < BATCH; i++) {
		s->in[i].msg_hdr.msg_name = &s->from[i].u.storage;
		s->in[i].msg_hdr.msg_namelen = sizeof s->from[i].u.storage;
		s->in[i].msg_hdr.msg_flags = 0;
	}
	int n = recvmmsg(fd, s->in, BATCH, MSG_DONTWAIT, NULL);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			report(s, -errno, NULL); /* e.g. ECONNREFUSED from an ICMP error */
		return;
	}
	int n_out = 0;
	for (int i = 0; i < n; i++) {
		s->from[i].len = s->in[i].msg_hdr.msg_namelen;
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
		const char *data = s->slots + (size_t)i * SLOT;
		if (s->o.on_datagram)
			s->o.on_datagram(s->o.ud, data, len, &s->from[i], truncated);
		if (!truncated && answer(s, i, n_out, len)) {
			s->out[n_out].msg_hdr.msg_name = &s->from[i].u.storage;
			s->out[n_out].msg_hdr.msg_namelen = s->from[i].len;
			n_out++;
		}
	}
	if (n_out)
		send_answers(s, n_out);
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
	int err = sk_loop_add_fd(loop, fd, SK_EV_READ, on_readable, s);
	if (err < 0) {
		close(fd);
		free(slots);
		free(s);
		return err;
	}
	*out = s;
	return 0;
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
