/* sk_dgram_server: a UDP service in a loop. Datagrams are read in batches
 * (recvmmsg) into buffers big enough for any UDP payload, so none is ever
 * cut; should the kernel still flag one truncated, it is reported as such.
 *
 * Modes: deliver (every datagram to a callback: the CLI prints them), echo
 * (each datagram back to its sender), reply (the course notes' answer,
 * "Received msg: MSG from ('IP', PORT)", or a fixed text), discard.
 *
 * An error from the socket — an ICMP port unreachable arriving as
 * ECONNREFUSED, a full send buffer — is reported through on_error and the
 * server goes on: one unreachable client never stops it.
 *
 * A UDP source address is whatever the sender wrote, so an answering server
 * (echo, reply) can be aimed at anyone. It never answers:
 * - a datagram from its own port, whatever the address: our answers leave
 *   from that port, so answering one answers ourselves (or another server on
 *   the same port), for ever. One forged datagram from 127.0.0.1:PORT to
 *   127.0.0.1:PORT kept an echo server at 97 % CPU (487,000 answers in 3 s).
 *   On a wildcard socket any local address with our port is covered, with no
 *   need to learn the addresses (IP_PKTINFO) it was reached at;
 * - a source no sender has: port 0, a multicast, broadcast or unspecified
 *   address (only forged datagrams carry them; a multicast one would be
 *   answered to a whole group);
 * - by default, a port of a service that answers datagrams itself
 *   (sk_dgram_service_port: 7 echo, 19 chargen, 53 dns …): the two would
 *   answer each other for ever (CERT CA-1996-01), or we would be the first
 *   hop of an amplification attack on it;
 * - a fixed reply_text longer than the datagram, unless allow_amplify: with
 *   a forged source, every byte more is a byte an attacker gets for free
 *   against the victim (US-CERT TA14-017A).
 * Each is counted (sk_dgram_server_stats) and passed to on_drop.
 * Two echo servers on ports that are neither each other's nor service ports
 * can still be aimed at each other: on the wire such a peer is a client that
 * sends back what it gets. Breaking that needs a per-peer rate limit, which
 * would also cut fast honest clients (bench/udp.sh: 190,000 echoes/s from
 * one port). */
#ifndef SOCKIT_DGRAM_H
#define SOCKIT_DGRAM_H

#include <stdbool.h>
#include <stddef.h>

#include <sockit/acl.h>
#include <sockit/loop.h>
#include <sockit/sock.h>

/* The largest UDP payload: 65,535 - 8 (UDP header) - 20 (IPv4 header). Over
 * IPv6 (40-byte header, no extension headers) it is 65,487 … 65,527; one
 * 64 KiB buffer holds every case. */
#define SK_UDP_MAX_PAYLOAD 65507

struct sk_dgram_server;

enum sk_dgram_mode {
	SK_DGRAM_DELIVER,
	SK_DGRAM_ECHO,
	SK_DGRAM_REPLY,
	SK_DGRAM_DISCARD,
};

/* A datagram arrived (in every mode, before it is answered). data is valid
 * during the call only. truncated: the kernel cut it (MSG_TRUNC). */
typedef void sk_dgram_fn(void *ud, const char *data, size_t len, const struct sk_addr *from,
                         bool truncated);

/* A socket error the server survived; peer is NULL when unknown. */
typedef void sk_dgram_error_fn(void *ud, int err, const struct sk_addr *peer);

/* Why an answering server did not answer a datagram (see the top of this file). */
enum sk_dgram_drop {
	SK_DGRAM_DROP_SELF,     /* from the server's own port */
	SK_DGRAM_DROP_FORGED,   /* from port 0, or a multicast, broadcast or unspecified address */
	SK_DGRAM_DROP_SERVICE,  /* from the port of a service that answers */
	SK_DGRAM_DROP_AMPLIFY,  /* reply_text is longer than the datagram */
	SK_DGRAM_N_DROPS
};

/* A datagram of len bytes from from was not answered, for the reason why.
 * from is valid during the call only. */
typedef void sk_dgram_drop_fn(void *ud, enum sk_dgram_drop why, const struct sk_addr *from,
                              size_t len);

struct sk_dgram_opts {
	enum sk_dgram_mode mode;
	const char *reply_text;       /* reply mode: this text instead of "Received msg…"; borrowed */
	size_t reply_text_len;
	const struct sk_acl *acl;     /* datagrams from others are dropped unread; borrowed */
	bool allow_amplify;           /* send reply_text even when it is longer than the datagram */
	bool answer_service_ports;    /* answer datagrams from sk_dgram_service_port() ports too */
	sk_dgram_fn *on_datagram;     /* may be NULL */
	sk_dgram_error_fn *on_error;  /* may be NULL */
	sk_dgram_drop_fn *on_drop;    /* may be NULL */
	void *ud;
	const struct sk_tracer *tracer;
};

void sk_dgram_opts_init(struct sk_dgram_opts *opts);

/* "print" (deliver), "echo", "reply", "discard" → mode; SK_EINVAL otherwise. */
int sk_dgram_mode_parse(const char *name, enum sk_dgram_mode *mode);
const char *sk_dgram_mode_name(enum sk_dgram_mode mode);

/* Serves on fd (a bound UDP socket from sk_udp_open; the server takes it and
 * closes it). opts is copied; what it points to is borrowed. */
int sk_dgram_server_new(struct sk_loop *loop, int fd, const struct sk_dgram_opts *opts,
                        struct sk_dgram_server **out);

/* Closes the socket and frees the server. Accepts NULL. */
void sk_dgram_server_free(struct sk_dgram_server *s);

struct sk_dgram_stats {
	unsigned long long n_received;                  /* past the ACL */
	unsigned long long n_answered;                  /* handed to the kernel */
	unsigned long long n_dropped[SK_DGRAM_N_DROPS]; /* not answered, by reason */
};

/* The server's counts so far. */
void sk_dgram_server_stats(const struct sk_dgram_server *s, struct sk_dgram_stats *out);

/* Why, in words that follow "N datagrams": "from this server's own port (…)".
 * Never NULL. */
const char *sk_dgram_drop_reason(enum sk_dgram_drop why);

/* A UDP service that answers datagrams sent to its port, so its port as a
 * source means "a server sent this" (or someone forged it to look so). */
struct sk_dgram_service {
	unsigned port;
	const char *name;  /* as in /etc/services: "echo", "domain" */
	const char *why;   /* what it does, a verb phrase: "echoes every datagram (…)" */
};

/* The service whose port is port, or NULL (a static entry: never freed). */
const struct sk_dgram_service *sk_dgram_service_port(unsigned port);

/* Writes the notes' reply to msg from peer into buf (cap bytes):
 * "Received msg: MSG from ('IP', PORT)", without a newline (LF or CRLF) that
 * ends msg, so a datagram and a TCP message that carry the same line get the
 * same answer. Returns the length it needed (like snprintf: compare with cap). */
size_t sk_reply_format(const char *msg, size_t len, const struct sk_addr *peer, char *buf,
                       size_t cap);

#endif
