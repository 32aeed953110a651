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
 * server goes on: one unreachable client never stops it. */
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

struct sk_dgram_opts {
	enum sk_dgram_mode mode;
	const char *reply_text;       /* reply mode: this text instead of "Received msg…"; borrowed */
	size_t reply_text_len;
	const struct sk_acl *acl;     /* datagrams from others are dropped unread; borrowed */
	sk_dgram_fn *on_datagram;     /* may be NULL */
	sk_dgram_error_fn *on_error;  /* may be NULL */
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

/* Writes the notes' reply to msg from peer into buf (cap bytes):
 * "Received msg: MSG from ('IP', PORT)". Returns the length it needed (like
 * snprintf: compare with cap). */
size_t sk_reply_format(const char *msg, size_t len, const struct sk_addr *peer, char *buf,
                       size_t cap);

#endif
