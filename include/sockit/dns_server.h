/* sk_dns_server: an authoritative DNS server for tests and labs, UDP and
 * TCP on one loop, answering from sk_dns_zones.
 *
 * UDP queries are read and answered in batches (recvmmsg, sendmmsg). A UDP
 * answer is cut to the client's EDNS size (512 bytes without EDNS, at most
 * SK_DNS_SERVER_UDP_MAX) and then carries TC, so the client asks again
 * over TCP (RFC 7766), where queries are two-byte length-prefixed and may
 * be pipelined on one connection.
 *
 * Faults, for testing clients: every answer delayed, a share of UDP
 * queries dropped, SERVFAIL for chosen names, TC on every UDP answer. */
#ifndef SOCKIT_DNS_SERVER_H
#define SOCKIT_DNS_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include <sockit/dns.h>
#include <sockit/dns_zone.h>
#include <sockit/loop.h>
#include <sockit/sock.h>

/* The largest UDP answer sent whatever the client offers: dnsmasq's
 * edns-packet-max, and larger answers fragment anyway. */
#define SK_DNS_SERVER_UDP_MAX 4096
/* Answers waiting out --delay at once; past it queries are dropped. */
#define SK_DNS_SERVER_MAX_DELAYED 10000

struct sk_dns_server;

/* One query answered (or dropped as a fault: rcode is then -1). from and
 * info are valid during the call only. */
typedef void sk_dns_query_log_fn(void *ud, const struct sk_addr *from, bool tcp,
                                 const struct sk_dns_answer_info *info, int rcode);
/* A socket error the server survived (a client that went away). */
typedef void sk_dns_server_error_fn(void *ud, int err, const struct sk_addr *peer);

struct sk_dns_server_opts {
	unsigned delay_ms;      /* hold every answer this long */
	unsigned drop_percent;  /* 0-100: UDP queries ignored at random */
	bool truncate;          /* every UDP answer empty with TC */
	const struct sk_dns_name *servfail; /* borrowed; must outlive the server */
	size_t n_servfail;
	unsigned max_tcp_conns; /* default 256; more wait in the listen queue */
	unsigned tcp_idle_ms;   /* default 10 s (RFC 7766 §6.2.3 suggests seconds) */
	sk_dns_query_log_fn *on_query;   /* may be NULL */
	sk_dns_server_error_fn *on_error; /* may be NULL */
	void *ud;
	const struct sk_tracer *tracer;  /* borrowed; may be NULL */
};

void sk_dns_server_opts_init(struct sk_dns_server_opts *opts);

/* Serves zones (borrowed: must outlive the server; finished) on udp_fd (a
 * bound UDP socket) and tcp_fd (a listening TCP socket, or -1). The server
 * takes both fds and closes them. opts is copied. Returns 0 or SK_ENOMEM,
 * or a negative errno from the loop. */
int sk_dns_server_new(struct sk_loop *loop, const struct sk_dns_zones *zones, int udp_fd,
                      int tcp_fd, const struct sk_dns_server_opts *opts,
                      struct sk_dns_server **out);

/* Closes the sockets and connections and frees the server. Accepts NULL. */
void sk_dns_server_free(struct sk_dns_server *s);

struct sk_dns_server_stats {
	unsigned long long n_udp, n_tcp;    /* queries answered */
	unsigned long long n_dropped;       /* --drop, or too many delayed */
	unsigned long long n_truncated;     /* answers sent with TC */
};

void sk_dns_server_stats(const struct sk_dns_server *s, struct sk_dns_server_stats *out);

#endif
