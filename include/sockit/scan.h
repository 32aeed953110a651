/* A TCP connect scan driven by an sk_loop: each port of a host is open
 * (connected), closed (refused) or filtered (timed out, unreachable), with
 * as many connections in flight as the caller allows and an optional rate.
 *
 * Needs no privileges: connect(2) does the work, so what the host sees is
 * an ordinary connection, closed at once. */
#ifndef SOCKIT_SCAN_H
#define SOCKIT_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sockit/loop.h>
#include <sockit/slice.h>
#include <sockit/sock.h>

/* A set of ports: one bit per port 0-65535. */
#define SK_SCAN_PORTSET_BYTES 8192

enum sk_scan_state {
	SK_SCAN_OPEN,
	SK_SCAN_CLOSED,
	SK_SCAN_FILTERED,
};

enum sk_scan_reason {
	SK_SCAN_CONNECTED,   /* open: the handshake completed */
	SK_SCAN_REFUSED,     /* closed: the host answered with RST */
	SK_SCAN_SELF,        /* closed: a loopback connect met itself (simultaneous open of
	                        an ephemeral port, RFC 9293 §3.5): nobody listens there */
	SK_SCAN_TIMED_OUT,   /* filtered: no answer within the timeout */
	SK_SCAN_UNREACHABLE, /* filtered: ICMP unreachable, or no route */
	SK_SCAN_FAILED,      /* filtered: another error (err says which) */
};

struct sk_scan_result {
	unsigned port;
	enum sk_scan_state state;
	enum sk_scan_reason reason;
	int err;         /* the connect's negative errno, 0 when connected */
	double rtt_ms;   /* from connect(2) to its outcome */
};

typedef void sk_scan_fn(void *ud, const struct sk_scan_result *r);
typedef void sk_scan_done_fn(void *ud);

struct sk_scan_opts {
	unsigned timeout_ms;   /* a port silent this long is filtered */
	size_t max_in_flight;  /* connections at once (each an fd) */
	unsigned rate;         /* connects started per second; 0: as fast as in-flight allows */
	sk_scan_fn *on_result;
	sk_scan_done_fn *on_done;
	void *ud;              /* borrowed */
};

/* timeout 1 s, 256 in flight, no rate limit. */
void sk_scan_opts_init(struct sk_scan_opts *opts);

/* Parses "22,80,8000-8100" (ports 1-65535, ranges inclusive, any order,
 * overlaps allowed) or "-" for every port 1-65535 into set (zeroed first,
 * SK_SCAN_PORTSET_BYTES). Returns the number of ports, or SK_EPORT_SYNTAX,
 * SK_EPORT_RANGE, SK_ERANGE_ORDER with *bad on the offending part. */
int sk_scan_parse_ports(const char *text, size_t len, unsigned char *set, struct sk_slice *bad);

bool sk_scan_portset_has(const unsigned char *set, unsigned port);

struct sk_scan;

/* Prepares a scan of host (its port is ignored) over the ports in set
 * (copied). Returns 0 and *out, SK_EINVAL (an empty set or no room in
 * flight), or SK_ENOMEM. */
int sk_scan_new(struct sk_loop *loop, const struct sk_scan_opts *opts, const struct sk_addr *host,
                const unsigned char *set, struct sk_scan **out);

void sk_scan_start(struct sk_scan *s);

/* Ends the scan now: connections in flight are closed, unreported; on_done
 * follows. */
void sk_scan_stop(struct sk_scan *s);

/* The most connections that were in flight at once (fewer than allowed when
 * the kernel ran out of fds or ephemeral ports first). */
size_t sk_scan_peak_in_flight(const struct sk_scan *s);

/* "open", "closed", "filtered"; "connected", "refused", "self-connect",
 * "timed out", "unreachable", "failed". */
const char *sk_scan_state_name(enum sk_scan_state state);
const char *sk_scan_reason_name(enum sk_scan_reason reason);

/* Closes what is in flight and frees; accepts NULL. */
void sk_scan_free(struct sk_scan *s);

#endif
