/* `sockit udp listen` (print, echo, reply, discard; multicast groups) and
 * `sockit udp send` (one datagram per message, replies, retries, broadcast,
 * multicast). */
#include "cli.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sockit/dgram.h>

/* Datagram text from stdin: one line per datagram, without its newline. */
#define MAX_LINE SK_UDP_MAX_PAYLOAD

struct udp_common {
	int family;
	bool verbose, trace;
	const struct sk_tracer *tracer;
};

/* --- listen --- */

struct udp_listen {
	struct udp_common c;
	struct sk_loop *loop;
	struct sk_dgram_opts dopts;
	struct sk_acl acl;
	const char *groups[16];
	int n_groups;
	struct out *out;
	const char *bind_addr;
	bool mode_set;
};

static void on_datagram(void *ud, const char *data, size_t len, const struct sk_addr *from,
                        bool truncated)
{
	struct udp_listen *l = ud;
	char text[SK_ADDR_STRLEN];
	sk_addr_format(from, text);
	if (l->dopts.mode != SK_DGRAM_DELIVER) {
		if (l->c.verbose)
			fprintf(stderr, "sockit: udp listen: %s: %zu byte%s%s\n", text, len,
			        len == 1 ? "" : "s", truncated ? " (truncated)" : "");
		return;
	}
	out_str(l->out, text);
	out_str(l->out, truncated ? ": (truncated) " : ": ");
	out_escaped(l->out, data, len);
	out_char(l->out, '\n');
	/* One line per datagram, as it arrives: a reader is usually watching.
	 * A printer that cannot print stops: quietly when the reader has gone
	 * (EPIPE: `| head -1`), otherwise main() reports why (a full disk). */
	if (out_flush(l->out) < 0)
		sk_loop_stop(l->loop);
}

static void on_drop(void *ud, enum sk_dgram_drop why, const struct sk_addr *from, size_t len)
{
	struct udp_listen *l = ud;
	if (l->c.verbose)
		report_drop("udp listen", why, from, len);
}

static void on_dgram_error(void *ud, int err, const struct sk_addr *peer)
{
	(void)ud;
	char ctx[SK_ADDR_STRLEN + 32] = "udp listen";
	if (peer) {
		char text[SK_ADDR_STRLEN];
		sk_addr_format(peer, text);
		snprintf(ctx, sizeof ctx, "udp listen: %s", text);
	}
	char reason[128];
	reason_of(err, reason, sizeof reason);
	report(ctx, "%s%s", reason,
	       err == -ECONNREFUSED ? " (an ICMP port unreachable; still serving)" : " (still serving)");
}

static void on_stop(struct sk_loop *loop, int signo, void *ud)
{
	(void)signo;
	(void)ud;
	sk_loop_stop(loop);
}

/* "239.1.2.3" or "ff02::1%eth0" → group address and interface index. */
static int parse_group(const char *text, struct sk_ip *group, unsigned *ifindex)
{
	const char *pct = strchr(text, '%');
	size_t len = pct ? (size_t)(pct - text) : strlen(text);
	struct sk_slice bad = { 0 };
	char reason[256], q[QUOTE_MAX];
	int err = sk_ip_parse(text, len, group, &bad);
	if (err == 0 && !(sk_ip_flags(group) & SK_IP_MULTICAST))
		err = SK_EINVAL;
	if (err < 0) {
		if (err == SK_EINVAL)
			snprintf(reason, sizeof reason, "not a multicast address (224.0.0.0/4, ff00::/8)");
		else
			describe_parse_error(err, text, len, bad, reason, sizeof reason);
		return usage_error("udp listen", "--join %s: %s", quote(text, strlen(text), q), reason);
	}
	*ifindex = 0;
	if (pct) {
		*ifindex = if_nametoindex(pct + 1);
		if (!*ifindex) {
			report("udp listen", "--join %s: no such interface", quote(text, strlen(text), q));
			return EXIT_RESOLVE;
		}
	}
	return 0;
}

static int set_mode(struct parse *ps, const char *arg)
{
	struct udp_listen *l = ps->base;
	if (l->mode_set)
		return usage_error("udp listen", "choose one mode");
	l->dopts.mode = (enum sk_dgram_mode)ps->opt->n;
	l->mode_set = true;
	if (arg) { /* --reply-text */
		l->dopts.reply_text = arg;
		l->dopts.reply_text_len = strlen(arg);
	}
	return 0;
}

static int add_group(struct parse *ps, const char *arg)
{
	struct udp_listen *l = ps->base;
	if (l->n_groups == 16)
		return usage_error("udp listen", "at most 16 --join groups");
	l->groups[l->n_groups++] = arg;
	return 0;
}

static int add_rule(struct parse *ps, const char *arg)
{
	struct udp_listen *l = ps->base;
	struct sk_slice bad = { 0 };
	int err = sk_acl_add(&l->acl, arg, strlen(arg), ps->opt->n, &bad);
	if (err == 0)
		return 0;
	char reason[256], q[QUOTE_MAX];
	describe_parse_error(err, arg, strlen(arg), bad, reason, sizeof reason);
	return usage_error("udp listen", "%s %s: %s", ps->typed, quote(arg, strlen(arg), q), reason);
}

static const struct opt listen_opts[] = {
	OPT_CALL_(0, "echo", NULL, set_mode, SK_DGRAM_ECHO, "send each datagram back to its sender"),
	OPT_CALL_(0, "reply", NULL, set_mode, SK_DGRAM_REPLY,
	          "answer \"Received msg: MSG from ('IP', PORT)\""),
	OPT_CALL_(0, "reply-text", "TEXT", set_mode, SK_DGRAM_REPLY,
	          "answer TEXT (the notes' server: 'Ich hab keine Hunge') to datagrams at least "
	          "as long as TEXT"),
	OPT_CALL_(0, "discard", NULL, set_mode, SK_DGRAM_DISCARD, "drop everything"),
	OPT_STRING_('b', "bind", "ADDR", struct udp_listen, bind_addr,
	            "address to listen on (default: all, IPv4 and IPv6)"),
	OPT_CALL_(0, "join", "GROUP[%IFACE]", add_group, 0, "join a multicast group (repeatable)"),
	OPT_CALL_(0, "allow", "CIDR", add_rule, 1,
	          "drop datagrams from other networks (repeatable)"),
	OPT_CALL_(0, "deny", "CIDR", add_rule, 0,
	          "drop datagrams from these networks (repeatable; deny wins)"),
	OPT_FLAG_(0, "allow-amplify", struct udp_listen, dopts.allow_amplify,
	          "answer --reply-text to shorter datagrams too"),
	OPT_FLAG_(0, "allow-service-ports", struct udp_listen, dopts.answer_service_ports,
	          "answer the ports of services that answer too (7 echo, 19 chargen, 53 dns, "
	          "123 ntp, 11211 memcached ...)"),
	OPT_FAMILY_('4', struct udp_listen, c.family, AF_INET, "IPv4 only"),
	OPT_FAMILY_('6', struct udp_listen, c.family, AF_INET6,
	            "IPv6 only (IPV6_V6ONLY: IPv4 senders are not heard)"),
	OPT_FLAG_('v', "verbose", struct udp_listen, c.verbose,
	          "print the listening address and each datagram not answered on stderr"),
	OPT_FLAG_(0, "trace", struct udp_listen, c.trace, "print each socket call on stderr"),
	OPT_END_,
};

static const struct opt_hint listen_hints[] = {
	{ "-l", "'udp listen' already listens" },
	{ "-u", "'udp listen' is UDP already" },
	{ "-p", "the port is an argument: 'sockit udp listen PORT'" },
	{ "-k", "not needed: 'udp listen' serves every sender until it is stopped" },
	HINT_N,
	{ NULL, NULL },
};

static const struct opt_cmd udp_listen_cmd = { "udp listen", "udp", listen_opts, listen_hints };

static int parse_listen(int argc, char **argv, struct udp_listen *l, const char **port)
{
	struct parse ps;
	int st = parse_options(&ps, &udp_listen_cmd, argc, argv, l);
	if (st)
		return st;
	/* Options that would do nothing in the mode chosen are refused. */
	if (l->dopts.allow_amplify && !l->dopts.reply_text)
		return usage_error("udp listen", "--allow-amplify is for --reply-text");
	enum sk_dgram_mode m = l->dopts.mode;
	if (l->dopts.answer_service_ports && m != SK_DGRAM_ECHO && m != SK_DGRAM_REPLY)
		return usage_error("udp listen", "--allow-service-ports is for --echo, --reply and "
		                   "--reply-text");
	if (ps.n_operands != 1)
		return usage_error("udp listen", "expected PORT, got %d argument%s", ps.n_operands,
		                   ps.n_operands == 1 ? "" : "s");
	l->c.tracer = l->c.trace ? &stderr_tracer : NULL;
	*port = ps.operands[0];
	return 0;
}

/* Binds the socket. Multicast groups decide the family when nothing else
 * does: an IPv4 group needs an IPv4 socket. */
static int open_udp_listener(struct udp_listen *l, const char *bind_addr, const char *port,
                             int *fd_out)
{
	/* An IPv4 group needs an IPv4 socket, unless an IPv6 group is joined
	 * too: a dual-stack IPv6 socket takes both. */
	int family = l->c.family;
	for (int i = 0; i < l->n_groups && family != AF_UNSPEC; i++) {
		/* -6 is IPv6 only (IPV6_V6ONLY): such a socket hears no IPv4 group. */
		bool v6_group = strchr(l->groups[i], ':') != NULL;
		char q[QUOTE_MAX];
		if (v6_group != (family == AF_INET6))
			return usage_error("udp listen", "--join %s: an IPv%c group, and %s hears IPv%c only",
			                   quote(l->groups[i], strlen(l->groups[i]), q), v6_group ? '6' : '4',
			                   family == AF_INET6 ? "-6" : "-4", family == AF_INET6 ? '6' : '4');
	}
	for (int i = 0; i < l->n_groups && l->c.family == AF_UNSPEC && !bind_addr; i++)
		if (family != AF_INET6)
			family = strchr(l->groups[i], ':') ? AF_INET6 : AF_INET;
	struct sk_addr addrs[8];
	size_t n;
	int st = resolve_or_report("udp listen", bind_addr, port, family, SOCK_DGRAM, true, addrs, 8,
	                           &n);
	if (st)
		return st;
	size_t pick = pick_listen_addr(addrs, n, bind_addr, family);
	struct sk_sock_opts so;
	sk_sock_opts_init(&so);
	so.tracer = l->c.tracer;
	so.share_port = l->n_groups > 0; /* group members commonly share a port */
	so.v6_only = l->c.family == AF_INET6; /* -6: IPv6 only (IPV6_V6ONLY), as ncat -6 */
	int fd = sk_udp_open(&addrs[pick], 0, &so);
	if (fd < 0)
		return report_bind_err("udp listen", &addrs[pick], fd);
	for (int i = 0; i < l->n_groups; i++) {
		struct sk_ip group;
		unsigned ifindex = 0;
		if ((st = parse_group(l->groups[i], &group, &ifindex))) {
			close(fd);
			return st;
		}
		int err = sk_sock_join_group(fd, &group, ifindex, l->c.tracer);
		if (err < 0) {
			char ctx[QUOTE_MAX + 32], q[QUOTE_MAX];
			snprintf(ctx, sizeof ctx, "udp listen: --join %s",
			         quote(l->groups[i], strlen(l->groups[i]), q));
			close(fd);
			/* No interface given and no multicast route to pick one by. */
			if (err == -ENODEV && !ifindex) {
				char reason[128];
				report(ctx, "%s (no interface for the group: name one, GROUP%%IFACE, as in "
				       "%s%%eth0)", reason_of(err, reason, sizeof reason), l->groups[i]);
				return exit_status_of(err);
			}
			return report_err(ctx, err);
		}
	}
	*fd_out = fd;
	return 0;
}

static int cmd_udp_listen(int argc, char **argv)
{
	struct udp_listen *l = calloc(1, sizeof *l);
	if (!l)
		return report_err("udp listen", SK_ENOMEM);
	sk_dgram_opts_init(&l->dopts);
	sk_acl_init(&l->acl);
	l->out = out_stdout("udp listen");
	const char *port = NULL;
	int fd = -1, err;
	struct sk_loop *loop = NULL;
	struct sk_dgram_server *server = NULL;
	int st = parse_listen(argc, argv, l, &port);
	if (st)
		goto done;
	if ((st = open_udp_listener(l, l->bind_addr, port, &fd)))
		goto done;
	if ((err = sk_loop_new(&loop)) < 0) {
		close(fd);
		st = report_err("udp listen", err);
		goto done;
	}
	l->loop = loop;
	sk_loop_add_signal(loop, SIGINT, on_stop, NULL);
	sk_loop_add_signal(loop, SIGTERM, on_stop, NULL);
	if (l->c.verbose) {
		struct sk_addr local;
		char text[SK_ADDR_STRLEN];
		sk_sock_local_addr(fd, &local);
		sk_addr_format(&local, text);
		fprintf(stderr, "listening on %s\n", text);
	}

	l->dopts.acl = l->acl.n_rules ? &l->acl : NULL;
	l->dopts.on_datagram = on_datagram;
	l->dopts.on_error = on_dgram_error;
	l->dopts.on_drop = on_drop;
	l->dopts.ud = l;
	l->dopts.tracer = l->c.tracer;
	if ((err = sk_dgram_server_new(loop, fd, &l->dopts, &server)) < 0) {
		st = report_err("udp listen", err);
		goto done;
	}
	if ((err = sk_loop_run(loop)) < 0)
		st = report_err("udp listen", err);
	report_drop_counts("udp listen", server);
done:
	sk_dgram_server_free(server);
	sk_loop_free(loop);
	sk_acl_fini(&l->acl);
	free(l);
	return st == PARSE_HELP ? EXIT_OK : st;
}

/* --- send --- */

struct udp_send {
	struct udp_common c;
	unsigned wait_ms;
	unsigned long retries;
	bool broadcast;
	const char *iface;
	unsigned long ttl;
	bool ttl_set;
	int fd;
	bool connected;       /* unicast: connect()ed, so ICMP errors come back */
	bool multicast;       /* the destination is a multicast group */
	struct sk_addr dest;
	char dest_text[SK_ADDR_STRLEN];
	int status;
};

static const struct opt send_opts[] = {
	OPT_SECONDS_('w', "wait", struct udp_send, wait_ms,
	             "wait up to SECS for a reply to each datagram and print it (default and 0: "
	             "do not wait)"),
	OPT_COUNT_(0, "retries", "N", 100, struct udp_send, retries,
	           "send again up to N times when no reply came (with --wait; default 0)"),
	OPT_FLAG_(0, "broadcast", struct udp_send, broadcast,
	          "allow a broadcast destination (SO_BROADCAST)"),
	OPT_STRING_(0, "iface", "NAME", struct udp_send, iface,
	            "send to NAME's IPv4 broadcast address (implies --broadcast; with a multicast "
	            "HOST: the interface to send from)"),
	OPT_COUNT_(0, "ttl", "N", 255, struct udp_send, ttl,
	           "hop limit (IP_TTL / IPV6_UNICAST_HOPS, and multicast; 0: this host only, "
	           "multicast)"),
	OPT_FAMILY_('4', struct udp_send, c.family, AF_INET, "IPv4 only"),
	OPT_FAMILY_('6', struct udp_send, c.family, AF_INET6, "IPv6 only"),
	OPT_FLAG_('v', "verbose", struct udp_send, c.verbose,
	          "print addresses and events on stderr"),
	OPT_FLAG_(0, "trace", struct udp_send, c.trace, "print each socket call on stderr"),
	OPT_END_,
};

static const struct opt_hint send_hints[] = {
	{ "-u", "'udp send' is UDP already" },
	{ "-l", "to listen use 'sockit udp listen'" },
	HINT_N,
	HINT_Z,
	{ NULL, NULL },
};

static const struct opt_cmd udp_send_cmd = { "udp send", "udp", send_opts, send_hints };

/* The IPv4 broadcast address of an interface: its address OR the hostmask
 * of its netmask (the notes: "the largest address of the network"). */
static int iface_broadcast(const char *name, unsigned port, struct sk_addr *out)
{
	struct ifaddrs *list;
	if (getifaddrs(&list) < 0)
		return -errno;
	int err = SK_ENONAME;
	for (struct ifaddrs *ifa = list; ifa; ifa = ifa->ifa_next) {
		if (strcmp(ifa->ifa_name, name) != 0 || !ifa->ifa_addr || !ifa->ifa_netmask ||
		    ifa->ifa_addr->sa_family != AF_INET)
			continue;
		struct sk_ip addr = sk_ip_from_bytes(
			SK_IP_V4, (const unsigned char *)&((struct sockaddr_in *)ifa->ifa_addr)->sin_addr);
		struct sk_ip mask = sk_ip_from_bytes(
			SK_IP_V4, (const unsigned char *)&((struct sockaddr_in *)ifa->ifa_netmask)->sin_addr);
		unsigned prefix = 32 - (unsigned)__builtin_popcount((unsigned)~mask.lo & 0xffffffffu);
		struct sk_ip bcast = sk_ip_last(&addr, prefix);
		sk_addr_from_ip(&bcast, port, out);
		err = 0;
		break;
	}
	freeifaddrs(list);
	return err;
}

static void print_reply(struct udp_send *s, const char *data, size_t len, const struct sk_addr *from)
{
	struct out *o = out_stdout(NULL);
	/* Several hosts may answer a broadcast: then say who answered. */
	if (!s->connected || s->c.verbose) {
		char text[SK_ADDR_STRLEN];
		sk_addr_format(from, text);
		out_str(o, text);
		out_str(o, ": ");
		out_escaped(o, data, len);
		out_char(o, '\n');
	} else {
		out_write(o, data, len);
		if (len == 0 || data[len - 1] != '\n')
			out_char(o, '\n');
	}
	out_flush(o);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Waits up to wait_ms for replies; unicast stops at the first. Returns the
 * number of replies, or a negative error (ECONNREFUSED from ICMP). */
static int collect_replies(struct udp_send *s, char *buf)
{
	int n_replies = 0;
	uint64_t deadline = now_ms() + s->wait_ms;
	for (;;) {
		uint64_t now = now_ms();
		if (now >= deadline)
			return n_replies;
		struct pollfd p = { .fd = s->fd, .events = POLLIN };
		int rc = poll(&p, 1, (int)(deadline - now));
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			return rc < 0 ? -errno : n_replies;
		struct sk_addr from;
		from.len = sizeof from.u.storage;
		ssize_t n = recvfrom(s->fd, buf, SK_UDP_MAX_PAYLOAD + 1, MSG_TRUNC, &from.u.sa, &from.len);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return -errno;
		char text[SK_ADDR_STRLEN];
		sk_addr_format(&from, text);
		sk_trace(s->c.tracer, "recvfrom(%d) = %zd from %s", s->fd, n, text);
		size_t len = (size_t)n > SK_UDP_MAX_PAYLOAD ? SK_UDP_MAX_PAYLOAD : (size_t)n;
		if ((size_t)n > SK_UDP_MAX_PAYLOAD)
			report("udp send", "reply from %s truncated to %d bytes", text, SK_UDP_MAX_PAYLOAD);
		print_reply(s, buf, len, &from);
		n_replies++;
		if (s->connected)
			return n_replies;
	}
}

static int send_one(struct udp_send *s, const char *msg, size_t len, char *buf)
{
	for (unsigned long attempt = 0;; attempt++) {
		ssize_t n = s->connected ? send(s->fd, msg, len, 0)
		                         : sendto(s->fd, msg, len, 0, &s->dest.u.sa, s->dest.len);
		int err = n < 0 ? -errno : 0;
		sk_trace(s->c.tracer, "sendto(%d, %zu, %s)%s%s", s->fd, len, s->dest_text,
		         err ? " = " : "", err ? sk_errname(err) : "");
		if (err == 0 && s->wait_ms) {
			int got = collect_replies(s, buf);
			if (got > 0)
				return EXIT_OK;
			err = got < 0 ? got : 0;
			if (err == 0 && attempt < s->retries) {
				if (s->c.verbose)
					fprintf(stderr, "sockit: udp send: no reply from %s, sending again (%lu of %lu)\n",
					        s->dest_text, attempt + 1, s->retries);
				continue;
			}
			if (err == 0) {
				char ctx[SK_ADDR_STRLEN + 16];
				snprintf(ctx, sizeof ctx, "udp send: %s", s->dest_text);
				report(ctx, "no reply within %u ms%s", s->wait_ms,
				       s->retries ? " and the retries" : "");
				return EXIT_TIMEOUT;
			}
		}
		if (err == 0)
			return EXIT_OK;
		char ctx[SK_ADDR_STRLEN + 16], reason[128];
		snprintf(ctx, sizeof ctx, "udp send: %s", s->dest_text);
		reason_of(err, reason, sizeof reason);
		/* No route: a group or a broadcast goes out of an interface the
		 * routing table would choose, and it has none for it. */
		bool no_route = err == -ENETUNREACH && !s->iface && (s->multicast || s->broadcast);
		report(ctx, "%s%s", reason,
		       err == -ECONNREFUSED ? " (ICMP port unreachable: nothing listens there)" :
		       err == -EACCES && !s->broadcast ? " (a broadcast address? add --broadcast)" :
		       no_route && s->multicast ? " (no route for multicast: choose the interface "
		                                  "with --iface NAME)" :
		       no_route ? " (no route for a broadcast: --iface NAME sends to that interface's "
		                  "broadcast address)" : "");
		return exit_status_of(err);
	}
}

static int parse_send(int argc, char **argv, struct udp_send *s, struct parse *ps)
{
	int st = parse_options(ps, &udp_send_cmd, argc, argv, s);
	if (st)
		return st;
	s->ttl_set = opt_seen(ps, "ttl") != NULL;
	if (opt_seen(ps, "retries") && s->wait_ms == 0)
		return usage_error("udp send", "--retries is for --wait: it sends again when no reply "
		                   "came within it");
	s->c.tracer = s->c.trace ? &stderr_tracer : NULL;
	return 0;
}

/* The destination: HOST PORT, or the broadcast address of --iface and PORT. */
static int resolve_dest(struct udp_send *s, int rest, char **argv, int *next_arg)
{
	bool by_iface = s->iface && (rest == 1 || (rest == 2 && !strchr(argv[0], '.') &&
	                                           !strchr(argv[0], ':') &&
	                                           sk_port_parse(argv[0], strlen(argv[0]),
	                                                         &(unsigned){ 0 }) == 0));
	if (by_iface) {
		unsigned port;
		const char *p = argv[0];
		char q[QUOTE_MAX];
		if (sk_port_parse(p, strlen(p), &port) < 0)
			return usage_error("udp send", "port %s: not a port number (0-65535)",
			                   quote(p, strlen(p), q));
		int err = iface_broadcast(s->iface, port, &s->dest);
		if (err < 0) {
			report("udp send", "--iface %s: %s", quote(s->iface, strlen(s->iface), q),
			       err == SK_ENONAME ? "no such interface with an IPv4 address" : sk_strerror(err));
			return EXIT_RESOLVE;
		}
		s->broadcast = true;
		*next_arg = 1;
		return 0;
	}
	if (rest < 2 || rest > 3)
		return usage_error("udp send", "expected HOST PORT [MESSAGE], got %d argument%s", rest,
		                   rest == 1 ? "" : "s");
	size_t n;
	int st = resolve_or_report("udp send", argv[0], argv[1], s->c.family,
	                           SOCK_DGRAM, false, &s->dest, 1, &n);
	*next_arg = 2;
	return st;
}

static int open_sender(struct udp_send *s)
{
	struct sk_sock_opts so;
	sk_sock_opts_init(&so);
	so.tracer = s->c.tracer;
	s->fd = sk_udp_open(NULL, s->dest.u.sa.sa_family, &so);
	if (s->fd < 0)
		return report_err("udp send", s->fd);
	struct sk_ip ip;
	sk_addr_to_ip(&s->dest, &ip, NULL);
	bool multicast = (sk_ip_flags(&ip) & SK_IP_MULTICAST) != 0;
	s->multicast = multicast;
	int err = 0, family = s->dest.u.sa.sa_family;
	char q[QUOTE_MAX];
	if (s->ttl_set && s->ttl == 0 && !multicast)
		return usage_error("udp send", "--ttl 0 keeps datagrams on this host: only for multicast");
	if (s->broadcast)
		err = sk_sock_set_broadcast(s->fd, true, s->c.tracer);
	if (err == 0 && s->ttl_set)
		err = multicast ? sk_sock_set_multicast_ttl(s->fd, family, (int)s->ttl, s->c.tracer)
		                : sk_sock_set_ttl(s->fd, family, (int)s->ttl, s->c.tracer);
	if (err == 0 && multicast && s->iface) {
		unsigned idx = if_nametoindex(s->iface);
		if (!idx) {
			report("udp send", "--iface %s: no such interface", quote(s->iface, strlen(s->iface), q));
			return EXIT_RESOLVE;
		}
		err = sk_sock_set_multicast_if(s->fd, family, idx, s->c.tracer);
	}
	if (err < 0)
		return report_err("udp send: setsockopt", err);
	/* A connected UDP socket hears ICMP errors (ECONNREFUSED) and only its
	 * peer's replies; broadcast and multicast replies come from elsewhere. */
	if (!s->broadcast && !multicast) {
		if (connect(s->fd, &s->dest.u.sa, s->dest.len) == 0)
			s->connected = true;
		sk_trace(s->c.tracer, "connect(%s)%s", s->dest_text, s->connected ? "" : " failed");
	}
	return 0;
}

static int cmd_udp_send(int argc, char **argv)
{
	struct udp_send s;
	memset(&s, 0, sizeof s);
	s.fd = -1;
	out_stdout("udp send");
	struct parse ps;
	int st = parse_send(argc, argv, &s, &ps), next_arg = 0;
	if (st)
		return st == PARSE_HELP ? EXIT_OK : st;
	if ((st = resolve_dest(&s, ps.n_operands, ps.operands, &next_arg)))
		return st;
	sk_addr_format(&s.dest, s.dest_text);
	if ((st = open_sender(&s))) {
		if (s.fd >= 0)
			close(s.fd);
		return st;
	}
	if (s.c.verbose)
		fprintf(stderr, "sockit: udp send: to %s\n", s.dest_text);
	char *buf = malloc(SK_UDP_MAX_PAYLOAD + 1);
	if (!buf) {
		close(s.fd);
		return report_err("udp send", SK_ENOMEM);
	}
	if (next_arg < ps.n_operands) {
		const char *msg = ps.operands[next_arg];
		st = send_one(&s, msg, strlen(msg), buf);
	} else {
		/* One datagram per line of stdin; the newline is not sent. */
		char *line = NULL;
		size_t cap = 0;
		ssize_t n;
		while ((n = getline(&line, &cap, stdin)) >= 0) {
			if (n > 0 && line[n - 1] == '\n')
				n--;
			if (n > MAX_LINE) {
				report("udp send", "line longer than %d bytes, the most a datagram carries", MAX_LINE);
				st = EXIT_USAGE;
				continue;
			}
			int one = send_one(&s, line, (size_t)n, buf);
			if (one > st)
				st = one;
			/* Replies that cannot be printed end the run (main() says why). */
			if (one == EXIT_NETWORK || out_stdout(NULL)->err)
				break;
		}
		free(line);
	}
	free(buf);
	sk_sock_close(s.fd, s.c.tracer);
	return st;
}

int cmd_udp(int argc, char **argv)
{
	if (argc < 2)
		return usage_error("udp", "expected 'listen' or 'send'");
	if (is_help(argv[1]))
		return print_usage(find_command("udp"));
	if (strcmp(argv[1], "listen") == 0)
		return cmd_udp_listen(argc - 1, argv + 1);
	if (strcmp(argv[1], "send") == 0)
		return cmd_udp_send(argc - 1, argv + 1);
	char q[QUOTE_MAX];
	return usage_error("udp", "%s: expected 'listen' or 'send'", quote(argv[1], strlen(argv[1]), q));
}

const struct help_part udp_help[] = {
	{ "usage: sockit udp listen [options] [-b ADDR] PORT\n"
	  "       sockit udp send [options] HOST PORT [MESSAGE]\n"
	  "       sockit udp send --iface NAME [options] PORT [MESSAGE]\n"
	  "\n"
	  "listen: prints each datagram as 'ADDR:PORT: DATA' (bytes that are not printable\n"
	  "are escaped), or serves it:\n", &udp_listen_cmd },
	{ "\n"
	  "A UDP sender can forge its address, so a server answers no datagram from its\n"
	  "own port, port 0, or a multicast or broadcast address (answering would loop),\n"
	  "nor by default from a service port (the two would answer each other for ever);\n"
	  "and --reply-text is never longer than the question: every byte more is one an\n"
	  "attacker aims at a victim for free (amplification). -v shows each datagram not\n"
	  "answered; the counts are shown at exit.\n"
	  "\n"
	  "send: sends MESSAGE as one datagram, or each line of stdin as one datagram.\n",
	  &udp_send_cmd },
	{ "\n"
	  "exit status: 0 ok, 1 stdout could not be written, 2 usage, 3 unknown host or\n"
	  "interface, 4 refused (ICMP port unreachable) or unreachable, 5 no reply within\n"
	  "--wait, 7 not permitted (a broadcast address without --broadcast, a port below\n"
	  "1024 without root)\n", NULL },
	{ 0 },
};
