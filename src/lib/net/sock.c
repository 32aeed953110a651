/* Socket helpers: each socket chore is one function that reports failure by
 * return value and, when asked, describes the call in the notes' words. */
#include <sockit/err.h>
#include <sockit/sock.h>

#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void sk_trace(const struct sk_tracer *tracer, const char *fmt, ...)
{
	if (!tracer || !tracer->fn)
		return;
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	tracer->fn(tracer->ud, line);
}

void sk_addr_from_ip(const struct sk_ip *ip, unsigned port, struct sk_addr *out)
{
	memset(out, 0, sizeof *out);
	if (ip->version == SK_IP_V4) {
		out->u.in4.sin_family = AF_INET;
		out->u.in4.sin_port = htons((uint16_t)port);
		sk_ip_to_bytes(ip, (unsigned char *)&out->u.in4.sin_addr);
		out->len = sizeof out->u.in4;
	} else {
		out->u.in6.sin6_family = AF_INET6;
		out->u.in6.sin6_port = htons((uint16_t)port);
		sk_ip_to_bytes(ip, out->u.in6.sin6_addr.s6_addr);
		out->len = sizeof out->u.in6;
	}
}

int sk_addr_to_ip(const struct sk_addr *addr, struct sk_ip *ip_out, unsigned *port_out)
{
	struct sk_ip ip;
	unsigned port;
	if (addr->u.sa.sa_family == AF_INET) {
		ip = sk_ip_from_bytes(SK_IP_V4, (const unsigned char *)&addr->u.in4.sin_addr);
		port = ntohs(addr->u.in4.sin_port);
	} else if (addr->u.sa.sa_family == AF_INET6) {
		ip = sk_ip_from_bytes(SK_IP_V6, addr->u.in6.sin6_addr.s6_addr);
		port = ntohs(addr->u.in6.sin6_port);
		/* A dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d; people
		 * (and allow lists) think of them as a.b.c.d. */
		struct sk_ip v4;
		if (sk_ip_ipv4_mapped(&ip, &v4))
			ip = v4;
	} else {
		return SK_EINVAL;
	}
	if (ip_out)
		*ip_out = ip;
	if (port_out)
		*port_out = port;
	return 0;
}

size_t sk_addr_format(const struct sk_addr *addr, char *buf)
{
	struct sk_ip ip;
	unsigned port;
	if (sk_addr_to_ip(addr, &ip, &port) < 0)
		return (size_t)snprintf(buf, SK_ADDR_STRLEN, "(family %d)", addr->u.sa.sa_family);
	char text[SK_IP_STRLEN];
	sk_ip_format(&ip, SK_IP_CANONICAL, text);
	if (ip.version == SK_IP_V4)
		return (size_t)snprintf(buf, SK_ADDR_STRLEN, "%s:%u", text, port);
	char zone[IF_NAMESIZE + 2] = "";
	unsigned scope = addr->u.in6.sin6_scope_id;
	if (scope) {
		char name[IF_NAMESIZE];
		if (if_indextoname(scope, name))
			snprintf(zone, sizeof zone, "%%%s", name);
		else
			snprintf(zone, sizeof zone, "%%%u", scope);
	}
	return (size_t)snprintf(buf, SK_ADDR_STRLEN, "[%s%s]:%u", text, zone, port);
}

/* getaddrinfo's EAI_* codes as our errors. */
static int from_gai(int rc)
{
	switch (rc) {
	case EAI_NONAME:
	case EAI_NODATA:
	case EAI_ADDRFAMILY:
	case EAI_AGAIN:
	case EAI_FAIL:
		return SK_ENONAME;
	case EAI_SERVICE:
		return SK_EPORT_SYNTAX;
	case EAI_MEMORY:
		return SK_ENOMEM;
	case EAI_SYSTEM:
		return errno ? -errno : SK_EINVAL;
	default:
		return SK_EINVAL;
	}
}

int sk_addr_resolve(const char *host, const char *port, int family, int socktype, bool passive,
                    struct sk_addr *out, size_t max, size_t *n_out)
{
	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = family;
	hints.ai_socktype = socktype;
	hints.ai_flags = passive ? AI_PASSIVE : AI_ADDRCONFIG;
	if (host && !*host)
		host = NULL;
	/* getaddrinfo wraps "99999" to 34463: a number must be a port. */
	if (port && port[0] >= '0' && port[0] <= '9') {
		char *end;
		unsigned long v = strtoul(port, &end, 10);
		if (*end == '\0' && v > 65535)
			return SK_EPORT_RANGE;
	}
	int rc = getaddrinfo(host, port, &hints, &res);
	if ((rc == EAI_NONAME || rc == EAI_ADDRFAMILY) && (hints.ai_flags & AI_ADDRCONFIG)) {
		/* AI_ADDRCONFIG ignores loopback: on a host whose only interface
		 * is lo (a sandbox, a fresh network namespace) even "127.0.0.1"
		 * fails with it. Ask again without. */
		hints.ai_flags &= ~AI_ADDRCONFIG;
		rc = getaddrinfo(host, port, &hints, &res);
	}
	if (rc != 0)
		return from_gai(rc);
	size_t n = 0;
	for (struct addrinfo *ai = res; ai && n < max; ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof out[n].u.storage)
			continue;
		memset(&out[n], 0, sizeof out[n]);
		memcpy(&out[n].u.storage, ai->ai_addr, ai->ai_addrlen);
		out[n].len = ai->ai_addrlen;
		n++;
	}
	freeaddrinfo(res);
	if (n == 0)
		return SK_ENONAME;
	*n_out = n;
	return 0;
}

int sk_sock_local_addr(int fd, struct sk_addr *out)
{
	out->len = sizeof out->u.storage;
	return getsockname(fd, &out->u.sa, &out->len) < 0 ? -errno : 0;
}

int sk_sock_peer_addr(int fd, struct sk_addr *out)
{
	out->len = sizeof out->u.storage;
	return getpeername(fd, &out->u.sa, &out->len) < 0 ? -errno : 0;
}

bool sk_sock_peer_is_local(int fd)
{
	struct sk_addr peer, local;
	struct sk_ip peer_ip, local_ip;
	if (sk_sock_peer_addr(fd, &peer) < 0 || sk_sock_local_addr(fd, &local) < 0 ||
	    sk_addr_to_ip(&peer, &peer_ip, NULL) < 0 || sk_addr_to_ip(&local, &local_ip, NULL) < 0)
		return false;
	return (sk_ip_flags(&peer_ip) & SK_IP_LOOPBACK) || sk_ip_cmp(&peer_ip, &local_ip) == 0;
}

void sk_sock_opts_init(struct sk_sock_opts *opts)
{
	opts->reuse_addr = true;
	opts->share_port = false;
	opts->v6_only = false;
	opts->backlog = 128;
	opts->tracer = NULL;
}

static const char *family_name(int family)
{
	return family == AF_INET ? "AF_INET" : family == AF_INET6 ? "AF_INET6" : "AF_UNSPEC";
}

static int open_socket(int family, int type, const struct sk_tracer *tracer)
{
	int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int err = fd < 0 ? -errno : 0;
	sk_trace(tracer, "socket(%s, %s) = %d", family_name(family),
	         type == SOCK_STREAM ? "SOCK_STREAM" : "SOCK_DGRAM", fd < 0 ? -1 : fd);
	return fd < 0 ? err : fd;
}

/* setsockopt of an int. A flag (on/off option) set to 1 traces as the
 * notes write it, "setsockopt(SO_REUSEADDR)"; anything else with its value. */
static int set_opt(int fd, int level, int name, int value, bool is_flag, const char *label,
                   const struct sk_tracer *tracer)
{
	int rc = setsockopt(fd, level, name, &value, sizeof value);
	int err = rc < 0 ? -errno : 0;
	if (is_flag && value == 1)
		sk_trace(tracer, "setsockopt(%s)%s%s", label, err ? " = " : "", err ? sk_errname(err) : "");
	else
		sk_trace(tracer, "setsockopt(%s, %d)%s%s", label, value, err ? " = " : "",
		         err ? sk_errname(err) : "");
	return err;
}

static int set_int(int fd, int level, int name, int value, const char *label,
                   const struct sk_tracer *tracer)
{
	return set_opt(fd, level, name, value, true, label, tracer);
}

static int set_num(int fd, int level, int name, int value, const char *label,
                   const struct sk_tracer *tracer)
{
	return set_opt(fd, level, name, value, false, label, tracer);
}

/* Options common to the sockets we bind. */
static int prepare_bound(int fd, const struct sk_addr *addr, const struct sk_sock_opts *opts,
                         bool is_udp)
{
	int err = 0;
	if (is_udp ? opts->share_port : opts->reuse_addr)
		err = set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR", opts->tracer);
	if (err == 0 && addr->u.sa.sa_family == AF_INET6)
		err = set_num(fd, IPPROTO_IPV6, IPV6_V6ONLY, opts->v6_only, "IPV6_V6ONLY", opts->tracer);
	if (err < 0)
		return err;
	char text[SK_ADDR_STRLEN];
	sk_addr_format(addr, text);
	int rc = bind(fd, &addr->u.sa, addr->len);
	err = rc < 0 ? -errno : 0;
	sk_trace(opts->tracer, "bind(%s)%s%s", text, err ? " = " : "", err ? sk_errname(err) : "");
	return err;
}

int sk_tcp_listen(const struct sk_addr *addr, const struct sk_sock_opts *opts)
{
	int fd = open_socket(addr->u.sa.sa_family, SOCK_STREAM, opts->tracer);
	if (fd < 0)
		return fd;
	int err = prepare_bound(fd, addr, opts, false);
	if (err == 0) {
		if (listen(fd, opts->backlog) < 0)
			err = -errno;
		sk_trace(opts->tracer, "listen(%d)", opts->backlog);
	}
	if (err < 0) {
		close(fd);
		return err;
	}
	return fd;
}

int sk_tcp_accept(int listen_fd, struct sk_addr *peer_out, const struct sk_tracer *tracer)
{
	struct sk_addr peer;
	peer.len = sizeof peer.u.storage;
	int fd;
	do
		fd = accept4(listen_fd, &peer.u.sa, &peer.len, SOCK_NONBLOCK | SOCK_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return -errno;
	if (tracer && tracer->fn) {
		char text[SK_ADDR_STRLEN];
		sk_addr_format(&peer, text);
		sk_trace(tracer, "accept() = %d from %s", fd, text);
	}
	if (peer_out)
		*peer_out = peer;
	return fd;
}

/* bind(2) of a client socket to from, traced. */
static int bind_from(int fd, const struct sk_addr *from, const struct sk_tracer *tracer)
{
	char text[SK_ADDR_STRLEN];
	sk_addr_format(from, text);
	int rc = bind(fd, &from->u.sa, from->len);
	int err = rc < 0 ? -errno : 0;
	sk_trace(tracer, "bind(%s)%s%s", text, err ? " = " : "", err ? sk_errname(err) : "");
	return err;
}

static int connect_start(const struct sk_addr *to, const struct sk_addr *from, bool *in_progress,
                         const struct sk_tracer *tracer)
{
	int fd = open_socket(to->u.sa.sa_family, SOCK_STREAM, tracer);
	if (fd < 0)
		return fd;
	if (from) {
		int err = bind_from(fd, from, tracer);
		if (err < 0) {
			close(fd);
			return err;
		}
	}
	int rc = connect(fd, &to->u.sa, to->len);
	int err = rc < 0 ? -errno : 0;
	char text[SK_ADDR_STRLEN];
	sk_addr_format(to, text);
	sk_trace(tracer, "connect(%s)%s", text, err == -EINPROGRESS ? " in progress" : "");
	if (err < 0 && err != -EINPROGRESS) {
		close(fd);
		return err;
	}
	*in_progress = err == -EINPROGRESS;
	return fd;
}

int sk_tcp_connect_start(const struct sk_addr *to, bool *in_progress, const struct sk_tracer *tracer)
{
	return connect_start(to, NULL, in_progress, tracer);
}

int sk_tcp_connect_finish(int fd)
{
	int so_error = 0;
	socklen_t len = sizeof so_error;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) < 0)
		return -errno;
	return -so_error;
}

int sk_tcp_connect(const struct sk_addr *to, int timeout_ms, const struct sk_tracer *tracer)
{
	return sk_tcp_connect_from(to, NULL, timeout_ms, tracer);
}

int sk_tcp_connect_from(const struct sk_addr *to, const struct sk_addr *from, int timeout_ms,
                        const struct sk_tracer *tracer)
{
	bool in_progress;
	int fd = connect_start(to, from, &in_progress, tracer);
	if (fd < 0 || !in_progress)
		return fd;
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int rc;
	do
		rc = poll(&p, 1, timeout_ms);
	while (rc < 0 && errno == EINTR);
	int err = rc < 0 ? -errno : rc == 0 ? -ETIMEDOUT : sk_tcp_connect_finish(fd);
	if (err < 0) {
		close(fd);
		return err;
	}
	return fd;
}

int sk_udp_open(const struct sk_addr *addr, int family, const struct sk_sock_opts *opts)
{
	int fd = open_socket(addr ? addr->u.sa.sa_family : family, SOCK_DGRAM, opts->tracer);
	if (fd < 0 || !addr)
		return fd;
	int err = prepare_bound(fd, addr, opts, true);
	if (err < 0) {
		close(fd);
		return err;
	}
	return fd;
}

int sk_udp_recv_batch(int fd, struct mmsghdr *msgs, struct sk_addr *from, int n)
{
	for (int i = 0; i < n; i++) {
		msgs[i].msg_hdr.msg_name = &from[i].u.storage;
		msgs[i].msg_hdr.msg_namelen = sizeof from[i].u.storage;
		msgs[i].msg_hdr.msg_flags = 0;
	}
	int got = recvmmsg(fd, msgs, (unsigned)n, MSG_DONTWAIT, NULL);
	if (got < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -errno;
	for (int i = 0; i < got; i++)
		from[i].len = msgs[i].msg_hdr.msg_namelen;
	return got;
}

int sk_udp_send_batch(int fd, struct mmsghdr *msgs, int n, const struct sk_tracer *tracer,
                      sk_udp_error_fn *on_error, void *ud)
{
	int done = 0, n_sent = 0;
	while (done < n) {
		int sent = sendmmsg(fd, msgs + done, (unsigned)(n - done), 0);
		if (sent < 0 && errno == EINTR)
			continue;
		if (sent < 0) {
			/* The first of the rest failed: skip it, send the others. */
			if (on_error)
				on_error(ud, -errno, (const struct sk_addr *)msgs[done].msg_hdr.msg_name);
			done++;
			continue;
		}
		for (int k = done; k < done + sent; k++)
			sk_trace(tracer, "sendto(%d, %zu)", fd, msgs[k].msg_hdr.msg_iov[0].iov_len);
		done += sent;
		n_sent += sent;
	}
	return n_sent;
}

int sk_sock_set_broadcast(int fd, bool on, const struct sk_tracer *tracer)
{
	return set_int(fd, SOL_SOCKET, SO_BROADCAST, on, "SO_BROADCAST", tracer);
}

int sk_sock_set_ttl(int fd, int family, int ttl, const struct sk_tracer *tracer)
{
	/* Unicast and multicast hop limits are separate options; set both so
	 * --ttl means the same whatever the destination. */
	int err = family == AF_INET6
	                  ? set_num(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, ttl, "IPV6_UNICAST_HOPS", tracer)
	                  : set_num(fd, IPPROTO_IP, IP_TTL, ttl, "IP_TTL", tracer);
	return err ? err : sk_sock_set_multicast_ttl(fd, family, ttl, tracer);
}

int sk_sock_set_sndbuf(int fd, int bytes, const struct sk_tracer *tracer)
{
	return set_num(fd, SOL_SOCKET, SO_SNDBUF, bytes, "SO_SNDBUF", tracer);
}

int sk_sock_set_multicast_ttl(int fd, int family, int ttl, const struct sk_tracer *tracer)
{
	if (family == AF_INET6)
		return set_num(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, ttl, "IPV6_MULTICAST_HOPS", tracer);
	return set_num(fd, IPPROTO_IP, IP_MULTICAST_TTL, ttl, "IP_MULTICAST_TTL", tracer);
}

int sk_sock_set_multicast_if(int fd, int family, unsigned ifindex, const struct sk_tracer *tracer)
{
	int rc;
	if (family == AF_INET6) {
		rc = setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof ifindex);
		sk_trace(tracer, "setsockopt(IPV6_MULTICAST_IF, if %u)", ifindex);
	} else {
		struct ip_mreqn req;
		memset(&req, 0, sizeof req);
		req.imr_ifindex = (int)ifindex;
		rc = setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &req, sizeof req);
		sk_trace(tracer, "setsockopt(IP_MULTICAST_IF, if %u)", ifindex);
	}
	return rc < 0 ? -errno : 0;
}

int sk_sock_join_group(int fd, const struct sk_ip *group, unsigned ifindex,
                       const struct sk_tracer *tracer)
{
	char text[SK_IP_STRLEN];
	sk_ip_format(group, SK_IP_CANONICAL, text);
	int rc;
	if (group->version == SK_IP_V4) {
		struct ip_mreqn req;
		memset(&req, 0, sizeof req);
		sk_ip_to_bytes(group, (unsigned char *)&req.imr_multiaddr);
		req.imr_ifindex = (int)ifindex;
		rc = setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &req, sizeof req);
		sk_trace(tracer, "setsockopt(IP_ADD_MEMBERSHIP, %s, if %u)", text, ifindex);
	} else {
		struct ipv6_mreq req;
		memset(&req, 0, sizeof req);
		sk_ip_to_bytes(group, req.ipv6mr_multiaddr.s6_addr);
		req.ipv6mr_interface = ifindex;
		rc = setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &req, sizeof req);
		sk_trace(tracer, "setsockopt(IPV6_JOIN_GROUP, %s, if %u)", text, ifindex);
	}
	return rc < 0 ? -errno : 0;
}

void sk_sock_close(int fd, const struct sk_tracer *tracer)
{
	if (fd < 0)
		return;
	close(fd);
	sk_trace(tracer, "close(%d)", fd);
}
