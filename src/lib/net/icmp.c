/* ICMP echo sockets: the unprivileged datagram kind where allowed, raw
 * otherwise, each set up to hand back TTLs and ICMP errors. */
#include "net/net_internal.h"

#include <sockit/err.h>

#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/icmp.h>

/* Received packets queue here while the loop is busy sending to a /24:
 * 256 KiB holds a few hundred replies. */
#define ICMP_RCVBUF (256 * 1024)

static int setup(int fd, int family, enum sk__icmp_kind kind)
{
	int one = 1, rcvbuf = ICMP_RCVBUF;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	if (family == AF_INET) {
		/* Errors (unreachable, time exceeded) about our probes come on
		 * the error queue, with the probe that caused them. */
		if (setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof one) < 0 ||
		    setsockopt(fd, IPPROTO_IP, IP_RECVTTL, &one, sizeof one) < 0)
			return -errno;
		if (kind == SK__ICMP_RAW) {
			/* A raw socket sees every ICMP packet of the host (our own
			 * echo requests to 127.0.0.1 too): let only echo replies in. */
			struct icmp_filter f = { ~(1u << ICMP_ECHOREPLY) };
			if (setsockopt(fd, SOL_RAW, ICMP_FILTER, &f, sizeof f) < 0)
				return -errno;
		}
		return 0;
	}
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &one, sizeof one) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof one) < 0)
		return -errno;
	if (kind == SK__ICMP_RAW) {
		struct icmp6_filter f;
		ICMP6_FILTER_SETBLOCKALL(&f);
		ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f);
		if (setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof f) < 0)
			return -errno;
	}
	return 0;
}

int sk__icmp_open(int family, enum sk__icmp_kind *kind_out, int *raw_err_out)
{
	int proto = family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	enum sk__icmp_kind kind = SK__ICMP_DGRAM;
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	int dgram_err = fd < 0 ? -errno : 0;
	if (fd < 0) {
		kind = SK__ICMP_RAW;
		fd = socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
		if (fd < 0) {
			if (raw_err_out)
				*raw_err_out = -errno;
			return dgram_err;
		}
	}
	int err = setup(fd, family, kind);
	if (err < 0) {
		close(fd);
		return err;
	}
	*kind_out = kind;
	return fd;
}

uint16_t sk__icmp_checksum(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint32_t sum = 0;
	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)(p[0] << 8 | p[1]);
	if (len)
		sum += (uint32_t)(p[0] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	/* Summed big-endian: returned in network order for a memcpy into the header. */
	uint16_t v = (uint16_t)~sum;
	unsigned char out[2] = { (unsigned char)(v >> 8), (unsigned char)v };
	uint16_t r;
	memcpy(&r, out, 2);
	return r;
}

/* ICMP_HDR: type, code, checksum, identifier, sequence. */
#define ECHO_HDR 8

long sk__icmp_echo_reply(const unsigned char *buf, size_t len, int family, enum sk__icmp_kind kind,
                         size_t *icmp_len, int *ttl)
{
	size_t off = 0;
	if (family == AF_INET && kind == SK__ICMP_RAW) {
		/* Raw IPv4 sockets receive the IP header too. */
		if (len < 20)
			return -1;
		size_t ihl = (size_t)(buf[0] & 0xf) * 4;
		if ((buf[0] >> 4) != 4 || ihl < 20 || len < ihl)
			return -1;
		*ttl = buf[8];
		off = ihl;
	}
	unsigned want = family == AF_INET ? ICMP_ECHOREPLY : ICMP6_ECHO_REPLY;
	if (len - off < ECHO_HDR || buf[off] != want)
		return -1;
	*icmp_len = len - off;
	return (long)off;
}
