/* What the network commands share: durations, ports and hosts from the
 * command line, and the stderr lines of -v and --trace. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <sockit/stream.h>

int parse_seconds(const char *command, const char *option, const char *text, unsigned *ms_out)
{
	char *end;
	errno = 0;
	double secs = strtod(text, &end);
	char q[QUOTE_MAX];
	/* Up to a day: a longer timeout is a typo, and the product must fit. */
	if (end == text || *end || errno || !(secs >= 0) || secs > 86400.0)
		return usage_error(command, "%s %s: not a number of seconds (0-86400)", option,
		                   quote(text, strlen(text), q));
	double ms = secs * 1000.0;
	unsigned whole = (unsigned)ms;
	*ms_out = whole < ms ? whole + 1 : whole; /* round up: 0.0001 s is not "no timeout" */
	return 0;
}

int parse_count(const char *command, const char *option, const char *text, unsigned long max,
                unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(text, &end, 10);
	char q[QUOTE_MAX];
	if (end == text || *end || errno || text[0] == '-' || v > max)
		return usage_error(command, "%s %s: not a whole number (0-%lu)", option,
		                   quote(text, strlen(text), q), max);
	*out = v;
	return 0;
}

static void trace_to_stderr(void *ud, const char *line)
{
	(void)ud;
	fprintf(stderr, "%s\n", line);
}

size_t pick_listen_addr(const struct sk_addr *addrs, size_t n, const char *bind_addr, int family)
{
	/* getaddrinfo lists 0.0.0.0 before :: for a wildcard; the dual-stack
	 * IPv6 socket serves both families. */
	if (bind_addr || family != AF_UNSPEC)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (addrs[i].u.sa.sa_family == AF_INET6)
			return i;
	return 0;
}

const struct sk_tracer stderr_tracer = { trace_to_stderr, NULL };

int resolve_or_report(const char *command, const char *host, const char *port, int family,
                      int socktype, bool passive, struct sk_addr *out, size_t max, size_t *n_out)
{
	unsigned num;
	char q[QUOTE_MAX], ctx[QUOTE_MAX + 32];
	/* A number must be a valid port; anything else is a service name. */
	if (port[0] >= '0' && port[0] <= '9' && sk_port_parse(port, strlen(port), &num) < 0) {
		snprintf(ctx, sizeof ctx, "%s: port %s", command, quote(port, strlen(port), q));
		report(ctx, "not a port number (0-65535)");
		return EXIT_USAGE;
	}
	/* "[::1]", as users copy addresses out of URLs: the brackets only say
	 * where an IPv6 address ends. */
	char unbracketed[256];
	size_t len = host ? strlen(host) : 0;
	if (len > 2 && host[0] == '[' && host[len - 1] == ']' && len < sizeof unbracketed) {
		memcpy(unbracketed, host + 1, len - 2);
		unbracketed[len - 2] = '\0';
		host = unbracketed;
	}
	int err = sk_addr_resolve(host, port, family, socktype, passive, out, max, n_out);
	if (err == 0)
		return EXIT_OK;
	if (err == SK_EPORT_SYNTAX) {
		snprintf(ctx, sizeof ctx, "%s: port %s", command, quote(port, strlen(port), q));
		report(ctx, "no such service in /etc/services");
		return EXIT_RESOLVE;
	}
	snprintf(ctx, sizeof ctx, "%s: %s", command, quote(host ? host : "", host ? strlen(host) : 0, q));
	if (err == SK_ENONAME)
		report(ctx, "%s", family == AF_INET6 ? "no IPv6 address for this name"
		                  : family == AF_INET ? "no IPv4 address for this name"
		                                      : "name not known");
	else
		report_err(ctx, err);
	return err == SK_ENONAME ? EXIT_RESOLVE : exit_status_of(err);
}

/* The lowest port an unprivileged process may bind (Linux 4.11+ makes it
 * a sysctl; 1024 before and by default). */
static unsigned unprivileged_port_start(void)
{
	unsigned start = 1024;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_unprivileged_port_start", "r");
	if (f) {
		if (fscanf(f, "%u", &start) != 1)
			start = 1024;
		fclose(f);
	}
	return start;
}

int report_bind_err(const char *command, const struct sk_addr *addr, int err)
{
	char text[SK_ADDR_STRLEN], ctx[SK_ADDR_STRLEN + 64], reason[128];
	sk_addr_format(addr, text);
	snprintf(ctx, sizeof ctx, "%s%s%s", command, strncmp(command, "serve:", 6) ? ": " : " ",
	         text);
	unsigned port = 0;
	sk_addr_to_ip(addr, NULL, &port);
	if (err == -EACCES && port > 0 && port < unprivileged_port_start()) {
		report(ctx, "%s: ports below %u need root or CAP_NET_BIND_SERVICE (choose a port "
		       "above 1023)", reason_of(err, reason, sizeof reason), unprivileged_port_start());
		return exit_status_of(err);
	}
	return report_err(ctx, err);
}

void loop_prefer_io_uring(struct sk_loop *loop)
{
	const char *v = getenv("SOCKIT_IO_URING");
	if (v && strcmp(v, "0") == 0)
		return;
	(void)sk_loop_use_io_uring(loop);
}

void report_drop(const char *context, enum sk_dgram_drop why, const struct sk_addr *from,
                 size_t len)
{
	char text[SK_ADDR_STRLEN], why_text[256];
	unsigned port = 0;
	sk_addr_format(from, text);
	sk_addr_to_ip(from, NULL, &port);
	const struct sk_dgram_service *svc = sk_dgram_service_port(port);
	if (why == SK_DGRAM_DROP_SERVICE && svc)
		snprintf(why_text, sizeof why_text, "from port %u, %s, which %s", port, svc->name, svc->why);
	else
		snprintf(why_text, sizeof why_text, "%s", sk_dgram_drop_reason(why));
	fprintf(stderr, "sockit: %s: %s: %zu byte%s not answered: %s\n", context, text, len,
	        len == 1 ? "" : "s", why_text);
}

void report_drop_counts(const char *context, const struct sk_dgram_server *server)
{
	if (!server)
		return;
	struct sk_dgram_stats st;
	sk_dgram_server_stats(server, &st);
	char line[1024];
	size_t n = 0;
	for (int why = 0; why < SK_DGRAM_N_DROPS; why++) {
		unsigned long long k = st.n_dropped[why];
		if (k == 0 || n >= sizeof line)
			continue;
		int w = snprintf(line + n, sizeof line - n, "%s%llu datagram%s %s", n ? "; " : "", k,
		                 k == 1 ? "" : "s", sk_dgram_drop_reason((enum sk_dgram_drop)why));
		if (w > 0)
			n += (size_t)w;
	}
	if (n)
		report(context, "not answered: %s", line);
}

void close_note(struct close_notes *n, const struct sk_addr *peer, const char *what)
{
	unsigned i = n->next++ % CLOSE_NOTES;
	n->slot[i].peer = *peer;
	snprintf(n->slot[i].what, sizeof n->slot[i].what, "%s", what);
}

static bool same_addr(const struct sk_addr *a, const struct sk_addr *b)
{
	return a->len == b->len && memcmp(&a->u.storage, &b->u.storage, a->len) == 0;
}

bool close_note_event(struct close_notes *n, int ev, const struct sk_addr *peer, int err)
{
	char what[80];
	switch (ev) {
	case SK_STREAM_BAD_DATA:
		close_note(n, peer, "closed: message over the size limit");
		return true;
	case SK_STREAM_DROPPED_SLOW:
		close_note(n, peer, "dropped: too slow to keep up");
		return true;
	case SK_STREAM_EXEC_EXITED:
		if (WIFEXITED(err))
			snprintf(what, sizeof what, "closed: command exited with status %d",
			         WEXITSTATUS(err));
		else if (WIFSIGNALED(err))
			snprintf(what, sizeof what, "closed: command killed by signal %d (SIG%s)",
			         WTERMSIG(err), sigabbrev_np(WTERMSIG(err)) ? sigabbrev_np(WTERMSIG(err))
			                                                    : "?");
		else
			return true;
		close_note(n, peer, what);
		return true;
	default:
		return false;
	}
}

const char *close_reason(struct close_notes *n, const struct sk_addr *peer, int err, bool exec,
                         char *buf, size_t cap)
{
	const char *noted = NULL;
	for (unsigned k = 0; k < CLOSE_NOTES; k++) {
		unsigned i = (n->next - 1 - k) % CLOSE_NOTES;
		if (n->slot[i].what[0] && same_addr(&n->slot[i].peer, peer)) {
			noted = n->slot[i].what;
			snprintf(buf, cap, "%s", noted);
			n->slot[i].what[0] = '\0';
			break;
		}
	}
	char reason[128];
	if (exec && err == -ETIMEDOUT)
		snprintf(buf, cap, "closed: command killed after --exec-timeout");
	else if (noted)
		;
	else if (err == 0)
		snprintf(buf, cap, "closed");
	else if (err == -ETIMEDOUT)
		snprintf(buf, cap, "closed: idle timeout");
	else if (err == -ECONNRESET || err == -EPIPE)
		snprintf(buf, cap, "closed: reset by the client");
	else
		snprintf(buf, cap, "closed: %s", reason_of(err, reason, sizeof reason));
	return buf;
}
