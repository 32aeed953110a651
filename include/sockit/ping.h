/* ICMP echo (ping) to many targets at once, IPv4 and IPv6, driven by an
 * sk_loop; and the round-trip statistics it shares with tcp ping.
 *
 * The socket: an unprivileged ICMP datagram socket where the caller's group
 * is inside net.ipv4.ping_group_range (it also governs ICMPv6), else a raw
 * socket (CAP_NET_RAW). One socket per address family serves every target;
 * replies are matched by source address, and by a per-run cookie in the
 * payload when it has room. */
#ifndef SOCKIT_PING_H
#define SOCKIT_PING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sockit/loop.h>
#include <sockit/sock.h>

/* --- Round-trip statistics --------------------------------------------------- */

struct sk_rtt_stats {
	unsigned long n;
	double min_ms, max_ms, sum_ms, sum2_ms;
};

void sk_rtt_stats_add(struct sk_rtt_stats *s, double ms);
double sk_rtt_stats_avg(const struct sk_rtt_stats *s);
/* The population standard deviation, iputils' "mdev": sqrt(E[x^2] - E[x]^2). */
double sk_rtt_stats_mdev(const struct sk_rtt_stats *s);

/* What a series of probes to one target came to. */
struct sk_probe_stats {
	unsigned long transmitted, received; /* received counts each probe once */
	unsigned long duplicates, errors, late;
	struct sk_rtt_stats rtt;
};

/* ((transmitted - received) * 100 / transmitted), 0 when nothing was sent. */
double sk_probe_stats_loss(const struct sk_probe_stats *s);

/* --- ping -------------------------------------------------------------------- */

/* Echo data bytes at most: 65535 - 20 (IPv4 header) - 8 (ICMP header). */
#define SK_PING_MAX_SIZE 65507
/* Data bytes from which a reply carries its send time and the run's cookie
 * (iputils times replies only from 16 bytes too). */
#define SK_PING_TIMED_SIZE 16
/* Duplicate detection looks back this many sequence numbers per target. */
#define SK_PING_DUP_WINDOW 1024

enum sk_ping_event {
	SK_PING_REPLY,       /* an echo reply */
	SK_PING_ICMP_ERROR,  /* an ICMP error about one of our probes (unreachable, time exceeded) */
	SK_PING_SEND_ERROR,  /* the kernel refused to send a probe (tcp ping: the connect
	                        failed otherwise than refused, unreachable for instance) */
	SK_PING_TIMEOUT,     /* tcp ping: no answer within timeout_ms, a loss */
};

struct sk_ping_result {
	enum sk_ping_event event;
	size_t target;         /* index into the targets given to sk_ping_new() */
	unsigned seq;          /* icmp_seq, 1 for the first probe (as iputils) */
	struct sk_ip from;     /* who answered (a router, for an ICMP error) */
	size_t bytes;          /* REPLY: ICMP bytes, header included */
	int ttl;               /* REPLY: the reply's TTL or hop limit; -1 unknown */
	double rtt_ms;         /* REPLY: round trip; < 0 when the data is too short to time it */
	bool is_dup, is_late;  /* REPLY: a repeated answer; an answer after timeout_ms */
	bool is_refused;       /* REPLY, tcp ping: the answer was a RST (host up, port closed) */
	int err;               /* ICMP_ERROR, SEND_ERROR: a negative errno (-EHOSTUNREACH ...) */
	unsigned icmp_type, icmp_code; /* ICMP_ERROR from the network: what the router sent */
};

/* Called for each reply and error; may call sk_ping_stop(). */
typedef void sk_ping_fn(void *ud, const struct sk_ping_result *r);
/* Called once when the run is over (count sent and answered or waited for,
 * deadline, or sk_ping_stop()). The ping may be freed from here. */
typedef void sk_ping_done_fn(void *ud);

struct sk_ping_opts {
	unsigned long count;   /* probes per target; 0: until the deadline or sk_ping_stop() */
	uint64_t interval_us;  /* between two probes to one target */
	uint64_t gap_us;       /* at least this between two probes of the run (to any targets);
	                          a round of n targets then takes at least n * gap_us */
	unsigned timeout_ms;   /* a reply later than this is late; after the last probe, how
	                          long to wait when a target has not answered at all */
	unsigned deadline_ms;  /* 0, or the whole run's limit; after the last probe the
	                          run waits until it for every reply (iputils' -w) */
	size_t size;           /* data bytes after the ICMP header */
	int ttl;               /* 0: the system's default */
	sk_ping_fn *on_result;
	sk_ping_done_fn *on_done;
	void *ud;              /* borrowed */
};

/* count 0, interval 1 s, gap 0, timeout 10 s (iputils' wait for a silent
 * target), no deadline, 56 data bytes, default TTL. */
void sk_ping_opts_init(struct sk_ping_opts *opts);

struct sk_ping;

/* Opens the sockets the targets need (n of them, IPv4 and IPv6 addresses;
 * the port is ignored, an IPv6 scope is kept). targets and opts are copied.
 * Returns 0 and *out, SK_EINVAL (no targets, a target twice), SK_ENOMEM, or
 * -EPERM when neither an ICMP datagram socket (ping_group_range) nor a raw
 * socket (CAP_NET_RAW) may be opened. */
int sk_ping_new(struct sk_loop *loop, const struct sk_ping_opts *opts,
                const struct sk_addr *targets, size_t n, struct sk_ping **out);

/* Starts sending (the first probes go out from the loop). */
void sk_ping_start(struct sk_ping *p);

/* Ends the run now (Ctrl-C): on_done follows from the loop. */
void sk_ping_stop(struct sk_ping *p);

/* Statistics of target i so far. */
void sk_ping_stats(const struct sk_ping *p, size_t i, struct sk_probe_stats *out);

/* Microseconds from the first probe to the end of the run (or to now). */
uint64_t sk_ping_elapsed_us(const struct sk_ping *p);

/* "datagram" (ping_group_range) or "raw" (CAP_NET_RAW): the socket used
 * for a family (AF_INET, AF_INET6); NULL when the run has no such targets. */
const char *sk_ping_socket_kind(const struct sk_ping *p, int family);

/* iputils' words for an error result: "Destination Host Unreachable",
 * "Time to live exceeded" ... Never NULL. */
const char *sk_ping_error_text(const struct sk_ping_result *r);

/* Closes the sockets and frees; accepts NULL. Not from inside on_result. */
void sk_ping_free(struct sk_ping *p);

/* --- tcp ping -----------------------------------------------------------------
 * Connect round trips to one address and port, with ping's schedule and
 * statistics: a completed handshake and a refusal (RST: the host is up, the
 * port closed) are replies, a connect with no answer within timeout_ms is a
 * loss. Each connection is closed as soon as it is made. */

/* Connects in flight at most (a probe every interval, each waiting up to
 * timeout_ms); a probe due while all are busy waits for one. */
#define SK_TCP_PING_SLOTS 64

struct sk_tcp_ping;

/* opts as for ping (count, interval_us, timeout_ms, deadline_ms, on_result,
 * on_done, ud; size, gap and ttl are not used); to is copied. Results come
 * with target 0. Returns 0 and *out, SK_EINVAL or SK_ENOMEM. */
int sk_tcp_ping_new(struct sk_loop *loop, const struct sk_ping_opts *opts,
                    const struct sk_addr *to, struct sk_tcp_ping **out);
void sk_tcp_ping_start(struct sk_tcp_ping *p);
void sk_tcp_ping_stop(struct sk_tcp_ping *p);
void sk_tcp_ping_stats(const struct sk_tcp_ping *p, struct sk_probe_stats *out);
uint64_t sk_tcp_ping_elapsed_us(const struct sk_tcp_ping *p);
/* Closes the connects in flight and frees; accepts NULL. */
void sk_tcp_ping_free(struct sk_tcp_ping *p);

#endif
