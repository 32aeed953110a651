/* A minimal rtnetlink client: send one request, walk its replies. */
#include "net/net_internal.h"

#include <sockit/err.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int sk__nl_open(struct sk__nl *nl)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	/* A strict check makes the kernel honour our dump filters (ifindex,
	 * family) instead of dumping everything; older kernels refuse the
	 * option, and then we filter ourselves anyway. */
	int one = 1;
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof one);
	nl->fd = fd;
	nl->seq = 0;
	return 0;
}

void sk__nl_close(struct sk__nl *nl)
{
	if (nl->fd >= 0)
		close(nl->fd);
	nl->fd = -1;
}

void sk__nl_attrs(const struct rtattr *rta, size_t len, const struct rtattr **tb, unsigned max)
{
	memset(tb, 0, sizeof *tb * (max + 1));
	for (; len >= sizeof *rta && rta->rta_len >= sizeof *rta && rta->rta_len <= len;
	     len -= RTA_ALIGN(rta->rta_len) < len ? RTA_ALIGN(rta->rta_len) : len,
	     rta = (const struct rtattr *)((const char *)rta + RTA_ALIGN(rta->rta_len))) {
		unsigned type = rta->rta_type & NLA_TYPE_MASK;
		if (type <= max)
			tb[type] = rta;
	}
}

int sk__nl_put(struct nlmsghdr *h, size_t cap, unsigned type, const void *data, size_t len)
{
	size_t at = NLMSG_ALIGN(h->nlmsg_len);
	if (RTA_LENGTH(len) > cap || at > cap - RTA_ALIGN(RTA_LENGTH(len)))
		return SK_ETOOLARGE;
	struct rtattr *rta = (struct rtattr *)((char *)h + at);
	rta->rta_type = (unsigned short)type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	h->nlmsg_len = (uint32_t)(at + RTA_ALIGN(rta->rta_len));
	return 0;
}

bool sk__nl_ip(const struct rtattr *rta, struct sk_ip *out)
{
	size_t len = RTA_PAYLOAD(rta);
	if (len != 4 && len != 16)
		return false;
	*out = sk_ip_from_bytes(len == 4 ? SK_IP_V4 : SK_IP_V6, RTA_DATA(rta));
	return true;
}

/* One datagram of replies: returns 1 when the request is answered, 0 to
 * read on, or an error. */
static int walk(const struct sk__nl *nl, const char *buf, size_t len, bool is_dump,
                sk__nl_msg_fn *fn, void *ud)
{
	for (const struct nlmsghdr *h = (const struct nlmsghdr *)buf; NLMSG_OK(h, len);
	     h = NLMSG_NEXT(h, len)) {
		if (h->nlmsg_seq != nl->seq)
			continue; /* an answer to an earlier, abandoned request */
		if (h->nlmsg_type == NLMSG_DONE)
			return 1;
		if (h->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(h);
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof *e))
				return SK_EINVAL;
			if (e->error < 0)
				return e->error;
			return 1; /* an ACK */
		}
		int err = fn(h, ud);
		if (err < 0)
			return err;
		if (!is_dump && !(h->nlmsg_flags & NLM_F_MULTI))
			return 1;
	}
	return 0;
}

int sk__nl_request(struct sk__nl *nl, struct nlmsghdr *req, sk__nl_msg_fn *fn, void *ud)
{
	req->nlmsg_seq = ++nl->seq;
	req->nlmsg_pid = 0;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	ssize_t n;
	do
		n = sendto(nl->fd, req, req->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	char *buf = malloc(SK__NL_BUF);
	if (!buf)
		return SK_ENOMEM;
	bool is_dump = (req->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
	int rc = 0;
	while (rc == 0) {
		n = recv(nl->fd, buf, SK__NL_BUF, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		if (n == 0) {
			rc = SK_EINVAL;
			break;
		}
		rc = walk(nl, buf, (size_t)n, is_dump, fn, ud);
	}
	free(buf);
	return rc < 0 ? rc : 0;
}
