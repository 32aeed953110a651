/* The HTTP server's two logs, through its callbacks: the access log (one
 * Common Log Format line per response) and the error log (what the
 * operator must know: a failed disk write, a worker that would not start). */
#include <sockit/err.h>

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "http/http_internal.h"

const char *sk__http_reason(int err, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s", sk_strerror(err));
	/* Messages read "sockit: http serve: ...: no space left on device". */
	if (buf[0] >= 'A' && buf[0] <= 'Z' && !(buf[1] >= 'A' && buf[1] <= 'Z'))
		buf[0] = (char)(buf[0] - 'A' + 'a');
	return buf;
}

void sk__http_log_error(struct http_conn *c, const char *fmt, ...)
{
	struct sk_http_server *s = c->srv;
	if (!s->o.on_error)
		return;
	char what[400], line[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	/* The request line is only kept for the access log; the method and
	 * target are in the parsed request until in[] moves on. */
	int ml = (int)(c->req.method.len < 16 ? c->req.method.len : 16);
	int tl = (int)(c->req.target.len < 200 ? c->req.target.len : 200);
	if (ml && c->req.method.p)
		snprintf(line, sizeof line, "%.*s %.*s: %s", ml, c->req.method.p, tl, c->req.target.p, what);
	else
		snprintf(line, sizeof line, "%s", what);
	s->o.on_error(s->o.ud, line);
}

/* One Common Log Format line: the peer, the request line as kept, the
 * status and the body's bytes ("-" for none). */
void sk__http_log_line(struct sk_http_server *s, const struct sk_addr *peer,
                       const char *request_line, int status, uint64_t body_bytes)
{
	if (!s->o.on_access)
		return;
	struct sk_ip ip;
	char addr[SK_IP_STRLEN] = "-", when[64], line[1024];
	if (peer->len && sk_addr_to_ip(peer, &ip, NULL) == 0)
		sk_ip_format(&ip, SK_IP_CANONICAL, addr);
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(when, sizeof when, "%d/%b/%Y:%H:%M:%S +0000", &tm);
	char sent[24] = "-";
	if (body_bytes)
		snprintf(sent, sizeof sent, "%llu", (unsigned long long)body_bytes);
	snprintf(line, sizeof line, "%s - - [%s] \"%s\" %d %s", addr, when, request_line, status,
	         sent);
	s->o.on_access(s->o.ud, line);
}

void sk__http_log_access(const struct http_conn *c)
{
	sk__http_log_line(c->srv, &c->peer, c->request_line, c->status, c->body_sent);
}

void sk__http_escape_request_line(const char *p, size_t len, char *out, size_t cap)
{
	size_t n = 0, i = 0;
	while (i < len && (p[i] == '\r' || p[i] == '\n'))
		i++; /* leading empty lines */
	for (; i < len && p[i] != '\r' && p[i] != '\n' && n + 5 < cap; i++) {
		unsigned char ch = (unsigned char)p[i];
		if (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\') {
			n += (size_t)snprintf(out + n, cap - n, "\\x%02x", ch);
		} else {
			out[n++] = (char)ch;
		}
	}
	out[n] = '\0';
}

void sk__http_keep_request_line(struct http_conn *c)
{
	if (!c->srv->o.on_access)
		return; /* no log: no per-request copy */
	sk__http_escape_request_line(c->in, c->in_len, c->request_line, sizeof c->request_line);
}
