/* sk_dns_client: DNS queries to one server on a loop, many in flight.
 *
 * Correct by default: every query has a random ID (from getrandom) and the
 * client's one UDP socket a port the kernel picked at random; a response
 * counts only if it comes from the server asked, carries the ID of a query
 * in flight and repeats that query's question exactly (the name byte for
 * byte with 0x20, else case-insensitively). Anything else is ignored and
 * counted: a forger must guess the port and the ID and the question
 * (RFC 5452). A response with the TC bit is asked again over TCP
 * (RFC 7766). A response that matches and then fails to parse ends its
 * query with the parser's error: a server that sends it is broken or
 * hostile, and waiting for another would only hide that. */
#ifndef SOCKIT_DNS_CLIENT_H
#define SOCKIT_DNS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sockit/dns.h>
#include <sockit/loop.h>
#include <sockit/sock.h>

struct sk_dns_client;

/* Why a datagram did not count as a response. */
enum sk_dns_ignored {
	SK_DNS_IGN_SOURCE,    /* not from the server's address and port */
	SK_DNS_IGN_SHORT,     /* not a response: shorter than a header, QR clear, no question */
	SK_DNS_IGN_ID,        /* no query in flight has its ID */
	SK_DNS_IGN_QUESTION,  /* its question is not the query's */
	SK_DNS_IGN_CASE,      /* --0x20: the name's case was not echoed */
	SK_DNS_N_IGNORED
};

/* Words for a reason: "with an ID no query in flight has". Never NULL. */
const char *sk_dns_ignored_reason(enum sk_dns_ignored why);

/* A message sent or received, for a trace (is_query: ours). */
typedef void sk_dns_wire_fn(void *ud, bool is_query, bool tcp, const unsigned char *msg,
                            size_t len);
/* A datagram ignored, a try timed out (why = -1), or a TC answer sent to
 * TCP (why = -2); for -v. */
typedef void sk_dns_note_fn(void *ud, int why, const struct sk_addr *from);

struct sk_dns_client_opts {
	struct sk_addr server;
	bool tcp_only;        /* every query over TCP */
	unsigned timeout_ms;  /* per try; default 2000 */
	unsigned retries;     /* tries after the first; default 2 */
	bool recurse;         /* RD; default true */
	unsigned edns_size;   /* 0: no OPT; default SK_DNS_EDNS_SIZE */
	bool use_0x20;        /* randomise the name's case and demand it back */
	sk_dns_wire_fn *on_wire;   /* may be NULL */
	sk_dns_note_fn *on_note;   /* may be NULL */
	void *ud;
	const struct sk_tracer *tracer; /* borrowed; may be NULL */
};

void sk_dns_client_opts_init(struct sk_dns_client_opts *opts);

/* The end of a query. err is 0 with a response in msg[0..len) (any rcode;
 * valid during the call only), or: -ETIMEDOUT (no response after every
 * try), -ECONNREFUSED and other negative errnos, SK_EDNS_* (a matching
 * response that is malformed). */
struct sk_dns_result {
	int err;
	const unsigned char *msg;
	size_t len;
	bool tcp;             /* the response came over TCP */
	unsigned tries;
	uint64_t elapsed_ms;
};

typedef void sk_dns_done_fn(void *ud, size_t tag, const struct sk_dns_result *r);

/* Opens the client's UDP socket (connected to opts->server, so that ICMP
 * errors come back). opts is copied. Returns 0, or a negative errno. */
int sk_dns_client_new(struct sk_loop *loop, const struct sk_dns_client_opts *opts,
                      struct sk_dns_client **out);

/* Sends a query for name/type (class IN); done(ud, tag, result) is called
 * once, from the loop, never from inside this call. Returns 0, SK_ENOMEM,
 * or SK_ETOOLARGE (65,535 queries in flight: every ID is taken). */
int sk_dns_client_query(struct sk_dns_client *c, const struct sk_dns_name *name, uint16_t type,
                        size_t tag, sk_dns_done_fn *done, void *ud);

/* Queries not yet done. */
size_t sk_dns_client_inflight(const struct sk_dns_client *c);

struct sk_dns_client_stats {
	unsigned long long n_ignored[SK_DNS_N_IGNORED];
	unsigned long long n_retries, n_tcp_fallback;
};
void sk_dns_client_stats(const struct sk_dns_client *c, struct sk_dns_client_stats *out);

/* Ends every query without calling its done, closes the sockets and frees
 * the client. Accepts NULL. */
void sk_dns_client_free(struct sk_dns_client *c);

#endif
