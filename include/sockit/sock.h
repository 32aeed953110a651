/* Socket helpers: addresses, the calls of the course notes (socket, bind,
 * listen, accept, connect, setsockopt) each as one small function that
 * reports failure by return value, and an optional trace of every call.
 *
 * Every socket is created non-blocking and close-on-exec. Functions return 0
 * (or an fd) on success and a negative errno on failure; on failure nothing
 * is left open. None of them allocates, except sk_addr_resolve() inside
 * getaddrinfo. */
#ifndef SOCKIT_SOCK_H
#define SOCKIT_SOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <sockit/ip.h>

/* "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255%zone]:65535" and a NUL. */
#define SK_ADDR_STRLEN (SK_IP_STRLEN + 2 + 1 + 16 + 6)

/* A socket address of either family, with its length. */
struct sk_addr {
	union {
		struct sockaddr sa;
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
		struct sockaddr_storage storage;
	} u;
	socklen_t len;
};

/* An optional observer of socket calls: each call is reported as one line in
 * the notes' words ("bind(127.0.0.1:8998)", "accept() = 5 from ..."), for
 * `--trace`. The library formats the line; the callback decides where it
 * goes. A NULL tracer, or a NULL fn, traces nothing. */
typedef void sk_trace_fn(void *ud, const char *line);

struct sk_tracer {
	sk_trace_fn *fn;
	void *ud;
};

/* Reports a line through tracer if it has a callback (printf-style). */
void sk_trace(const struct sk_tracer *tracer, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* --- Addresses ---------------------------------------------------------- */

/* Builds a socket address from an IP and a port (0-65535). */
void sk_addr_from_ip(const struct sk_ip *ip, unsigned port, struct sk_addr *out);

/* The IP and port of a socket address. An IPv4-mapped IPv6 address (what a
 * dual-stack listener sees for IPv4 peers) comes back as plain IPv4. Returns
 * SK_EINVAL for a family other than AF_INET/AF_INET6. */
int sk_addr_to_ip(const struct sk_addr *addr, struct sk_ip *ip_out, unsigned *port_out);

/* "127.0.0.1:8998", "[::1]:8998" (RFC 5952 §6), IPv4-mapped peers as plain
 * IPv4. buf holds SK_ADDR_STRLEN bytes; returns the length. */
size_t sk_addr_format(const struct sk_addr *addr, char *buf);

/* Resolves host (a name or a numeric address; NULL or "" for the wildcard)
 * and port (a number or a service name) with getaddrinfo. family is AF_INET,
 * AF_INET6 or AF_UNSPEC; socktype SOCK_STREAM or SOCK_DGRAM; passive asks
 * for addresses to bind. Stores up to max results in out[] and their number
 * in *n_out. Blocks on DNS. Returns SK_ENONAME when the name does not
 * resolve, SK_EPORT_SYNTAX for an unknown service, or a negative errno. */
int sk_addr_resolve(const char *host, const char *port, int family, int socktype, bool passive,
                    struct sk_addr *out, size_t max, size_t *n_out);

/* The local and peer addresses of a connected or bound socket. */
int sk_sock_local_addr(int fd, struct sk_addr *out);
int sk_sock_peer_addr(int fd, struct sk_addr *out);

/* Whether a connected socket's peer is on this host: a loopback address, or
 * the socket's own address (a connection to one of our interface addresses
 * goes over lo too). False when either address cannot be read. */
bool sk_sock_peer_is_local(int fd);

/* --- Sockets ------------------------------------------------------------- */

/* Options for sockets we create. Fill with sk_sock_opts_init(). */
struct sk_sock_opts {
	bool reuse_addr;   /* TCP: SO_REUSEADDR, to rebind a port whose old connections linger
	                      in TIME_WAIT. Not applied to UDP, where it means sharing. */
	bool share_port;   /* UDP: SO_REUSEADDR, several sockets on one port (multicast and
	                      broadcast receivers); otherwise a second server fails with
	                      EADDRINUSE instead of silently taking the port's datagrams */
	bool v6_only;      /* IPV6_V6ONLY; false makes [::] listeners dual-stack */
	int backlog;       /* listen(2) queue length */
	const struct sk_tracer *tracer; /* borrowed; may be NULL */
};

/* reuse_addr true, share_port false, v6_only false, backlog 128 (Linux's historical SOMAXCONN:
 * the kernel clamps it to net.core.somaxconn anyway), no tracer. */
void sk_sock_opts_init(struct sk_sock_opts *opts);

/* socket + setsockopt + bind + listen. Returns the listening fd. */
int sk_tcp_listen(const struct sk_addr *addr, const struct sk_sock_opts *opts);

/* accept4: returns the new fd (non-blocking) and stores the peer's address.
 * -EAGAIN when no connection is waiting. */
int sk_tcp_accept(int listen_fd, struct sk_addr *peer_out, const struct sk_tracer *tracer);

/* Starts a non-blocking connect. Returns the fd; *in_progress tells whether
 * the caller must wait for writability and then call sk_tcp_connect_finish(). */
int sk_tcp_connect_start(const struct sk_addr *to, bool *in_progress, const struct sk_tracer *tracer);

/* The outcome of a connect that was in progress: 0, or the negative errno
 * (SK_ECONNREFUSED …) read from SO_ERROR. */
int sk_tcp_connect_finish(int fd);

/* Connects, waiting at most timeout_ms (-1: the kernel's own timeout) in
 * poll(2). Returns the connected, non-blocking fd, or -ETIMEDOUT,
 * -ECONNREFUSED, -ENETUNREACH, -EHOSTUNREACH … Blocks: for clients that have
 * nothing else to do meanwhile. */
int sk_tcp_connect(const struct sk_addr *to, int timeout_ms, const struct sk_tracer *tracer);

/* sk_tcp_connect from a chosen local address and port (nc -s ADDR -p PORT):
 * binds to from (borrowed; same family as to; port 0 lets the kernel
 * choose) first. The bind's failures come back as they are (-EADDRINUSE,
 * -EADDRNOTAVAIL for an address this host does not have). Blocks. */
int sk_tcp_connect_from(const struct sk_addr *to, const struct sk_addr *from, int timeout_ms,
                        const struct sk_tracer *tracer);

/* socket(SOCK_DGRAM) + options + bind. A NULL addr skips bind(2) (an
 * unbound sender: the kernel picks a port at the first send), in which case
 * family chooses AF_INET or AF_INET6. */
int sk_udp_open(const struct sk_addr *addr, int family, const struct sk_sock_opts *opts);

struct mmsghdr;

/* Receives up to n datagrams with recvmmsg(2), without blocking, into
 * msgs' buffers (the caller's iovecs); each source lands in from[i], its len
 * set. Returns how many arrived, 0 when none waits (EAGAIN, EINTR), or
 * -errno: an ICMP error waiting on the socket (ECONNREFUSED ...). */
int sk_udp_recv_batch(int fd, struct mmsghdr *msgs, struct sk_addr *from, int n);

/* A socket error a datagram sender survived, and the destination it meant. */
typedef void sk_udp_error_fn(void *ud, int err, const struct sk_addr *to);

/* Sends msgs[0..n) with sendmmsg(2), going on past EINTR; each msg_name is
 * an sk_addr's storage. A datagram the kernel refuses (a full send buffer,
 * an ICMP error waiting on the socket) is skipped and passed to on_error,
 * which may be NULL: UDP promises nothing, and waiting would stall every
 * other peer. Returns how many were sent. */
int sk_udp_send_batch(int fd, struct mmsghdr *msgs, int n, const struct sk_tracer *tracer,
                      sk_udp_error_fn *on_error, void *ud);

/* setsockopt wrappers named after what they do. */
/* SO_SNDBUF: the kernel doubles bytes for its bookkeeping and stops
 * autotuning the buffer for this socket. */
int sk_sock_set_sndbuf(int fd, int bytes, const struct sk_tracer *tracer);
int sk_sock_set_broadcast(int fd, bool on, const struct sk_tracer *tracer);
int sk_sock_set_ttl(int fd, int family, int ttl, const struct sk_tracer *tracer);
/* The hop limit of multicast datagrams only (0 keeps them on this host). */
int sk_sock_set_multicast_ttl(int fd, int family, int ttl, const struct sk_tracer *tracer);
/* The interface multicast datagrams leave by. */
int sk_sock_set_multicast_if(int fd, int family, unsigned ifindex, const struct sk_tracer *tracer);
/* Joins a multicast group (IPv4 or IPv6) on the interface with index ifindex
 * (0: the kernel's choice by route). */
int sk_sock_join_group(int fd, const struct sk_ip *group, unsigned ifindex,
                       const struct sk_tracer *tracer);

/* close(2) with a trace line. Always closes. */
void sk_sock_close(int fd, const struct sk_tracer *tracer);

#endif
