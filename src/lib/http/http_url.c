/* http:// and https:// URLs (http_url.h): RFC 3986's generic syntax,
 * narrowed to what an HTTP client sends, and its reference resolution. */
#include <sockit/err.h>
#include <sockit/http_url.h>
#include <sockit/ip.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/base_internal.h"

unsigned sk_url_default_port(enum sk_url_scheme scheme)
{
	return scheme == SK_URL_HTTPS ? 443 : 80;
}

static bool is_alpha(unsigned char c)
{
	return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* The length of a scheme ":" at the start of p[0..n), or 0 (RFC 3986
 * §3.1: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":"). */
static size_t scheme_len(const char *p, size_t n)
{
	if (n == 0 || !is_alpha((unsigned char)p[0]))
		return 0;
	size_t i = 1;
	while (i < n && (is_alpha((unsigned char)p[i]) || is_digit((unsigned char)p[i]) ||
	                 p[i] == '+' || p[i] == '-' || p[i] == '.'))
		i++;
	return i < n && p[i] == ':' ? i : 0;
}

/* --- the path and query ------------------------------------------------- */

/* A growing NUL-terminated string in a fixed array. */
struct text {
	char *p;
	size_t len, cap;
	bool overflow;
};

static void text_add(struct text *t, const char *s, size_t n)
{
	if (t->overflow || n >= t->cap - t->len) {
		t->overflow = true;
		return;
	}
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = '\0';
}

/* Appends s[0..n) to t, percent-encoding a space and bytes above 0x7E
 * (RFC 3986 allows neither; they reach us from Location fields written by
 * hand). Control bytes were refused before. */
static void text_add_encoded(struct text *t, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == ' ' || c > 0x7e) {
			char esc[3] = { '%', hex[c >> 4], hex[c & 15] };
			text_add(t, esc, 3);
		} else {
			text_add(t, (const char *)&c, 1);
		}
	}
}

/* RFC 3986 §5.2.4 remove_dot_segments, on path[0..n) (which starts with
 * '/'), appended to out. Works on a copy so that a rule that rewrites the
 * input's prefix to "/" can write that '/' in place. */
static void add_without_dots(struct text *out, const char *path, size_t n)
{
	char in[SK_URL_MAX];
	if (n >= sizeof in) {
		out->overflow = true;
		return;
	}
	memcpy(in, path, n);
	size_t base = out->len, i = 0;
	while (i < n) {
		const char *s = in + i;
		size_t left = n - i;
		if (left >= 3 && memcmp(s, "../", 3) == 0) {
			i += 3;
		} else if (left >= 2 && memcmp(s, "./", 2) == 0) {
			i += 2;
		} else if (left >= 3 && memcmp(s, "/./", 3) == 0) {
			i += 2;
		} else if (left == 2 && memcmp(s, "/.", 2) == 0) {
			i += 1;
			in[i] = '/';
		} else if ((left >= 4 && memcmp(s, "/../", 4) == 0) ||
		           (left == 3 && memcmp(s, "/..", 3) == 0)) {
			i += left >= 4 ? 3 : 2;
			in[i] = '/';
			/* Drop the last segment written, and its '/'. */
			while (out->len > base && out->p[out->len - 1] != '/')
				out->len--;
			if (out->len > base)
				out->len--;
			out->p[out->len] = '\0';
		} else if ((left == 1 && s[0] == '.') || (left == 2 && memcmp(s, "..", 2) == 0)) {
			i = n;
		} else {
			size_t seg = 1;
			while (seg < left && s[seg] != '/')
				seg++;
			text_add(out, s, seg);
			i += seg;
		}
	}
}

/* The target from a path and an optional query (query NULL: none): dot
 * segments removed from the path, "/" for an empty one. */
static int make_target(char *dst, const char *path, size_t path_len, const char *query,
                       size_t query_len)
{
	char encoded[SK_URL_MAX];
	struct text enc = { encoded, 0, sizeof encoded, false };
	encoded[0] = '\0';
	text_add_encoded(&enc, path, path_len);
	struct text out = { dst, 0, SK_URL_MAX, false };
	dst[0] = '\0';
	if (enc.len == 0 || enc.p[0] != '/')
		text_add(&out, "/", 1);
	add_without_dots(&out, enc.p, enc.len);
	if (out.len == 0)
		text_add(&out, "/", 1);
	if (query) {
		text_add(&out, "?", 1);
		text_add_encoded(&out, query, query_len);
	}
	return enc.overflow || out.overflow ? SK_EURL_TOO_LONG : 0;
}

/* --- the authority ------------------------------------------------------- */

/* A DNS name or an IPv4 address: letters, digits, '-', '.', '_' (seen in
 * the wild), lowercased into dst. */
static int reg_name(const char *p, size_t n, char *dst)
{
	if (n == 0 || n >= SK_URL_HOST_MAX)
		return SK_EURL_HOST;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '.' && c != '_')
			return SK_EURL_HOST;
		dst[i] = (char)(is_alpha(c) ? c | 0x20 : c);
	}
	dst[n] = '\0';
	return 0;
}

/* "[v6]" or "[v6%25zone]" without the brackets (RFC 6874). */
static int ip_literal(const char *p, size_t n, char *dst)
{
	const char *pct = memchr(p, '%', n);
	size_t addr_len = pct ? (size_t)(pct - p) : n;
	struct sk_ip ip;
	if (sk_ip_parse_v6(p, addr_len, &ip, NULL) < 0)
		return SK_EURL_HOST;
	if (n >= SK_URL_HOST_MAX)
		return SK_EURL_HOST;
	memcpy(dst, p, addr_len);
	size_t len = addr_len;
	if (pct) {
		/* The zone is "%25" and at least one unreserved byte. */
		if (n - addr_len < 4 || memcmp(pct, "%25", 3) != 0)
			return SK_EURL_HOST;
		dst[len++] = '%';
		for (size_t i = addr_len + 3; i < n; i++) {
			unsigned char c = (unsigned char)p[i];
			if (!is_alpha(c) && !is_digit(c) && !strchr("-._~", c))
				return SK_EURL_HOST;
			dst[len++] = (char)c;
		}
	}
	dst[len] = '\0';
	return 0;
}

static int port_number(const char *p, size_t n, unsigned *out)
{
	unsigned v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit((unsigned char)p[i]))
			return SK_EURL_PORT;
		v = v * 10 + (unsigned)(p[i] - '0');
		if (v > 65535)
			return SK_EURL_PORT;
	}
	if (v == 0)
		return SK_EURL_PORT;
	*out = v;
	return 0;
}

/* authority = [ userinfo "@" ] host [ ":" port ], into u. */
static int authority(const char *p, size_t n, struct sk_url *u)
{
	const char *at = NULL;
	for (size_t i = 0; i < n; i++)
		if (p[i] == '@')
			at = p + i;
	u->has_userinfo = at != NULL;
	u->userinfo[0] = '\0';
	if (at) {
		size_t ulen = (size_t)(at - p);
		if (ulen >= sizeof u->userinfo)
			return SK_EURL_TOO_LONG;
		memcpy(u->userinfo, p, ulen);
		u->userinfo[ulen] = '\0';
		n -= ulen + 1;
		p = at + 1;
	}
	size_t host_end;
	int err;
	u->is_ipv6 = n > 0 && p[0] == '[';
	if (u->is_ipv6) {
		const char *close = memchr(p, ']', n);
		if (!close)
			return SK_EURL_HOST;
		host_end = (size_t)(close - p) + 1;
		err = ip_literal(p + 1, host_end - 2, u->host);
	} else {
		const char *colon = memchr(p, ':', n);
		host_end = colon ? (size_t)(colon - p) : n;
		err = reg_name(p, host_end, u->host);
	}
	if (err)
		return err;
	u->port = sk_url_default_port(u->scheme);
	u->has_port = false;
	if (host_end == n)
		return 0;
	if (p[host_end] != ':')
		return SK_EURL_HOST;
	/* "host:" is the default port (RFC 3986 §3.2.3). */
	if (host_end + 1 == n)
		return 0;
	u->has_port = true;
	return port_number(p + host_end + 1, n - host_end - 1, &u->port);
}

/* --- whole URLs ---------------------------------------------------------- */

static int check_bytes(const char *text, size_t len)
{
	if (len > SK_URL_TEXT_MAX)
		return SK_EURL_TOO_LONG;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c < 0x20 || c == 0x7f)
			return SK_EURL_SYNTAX; /* a CR or LF would split the request */
	}
	return 0;
}

/* The end of the authority that starts at p[0]: the first '/', '?' or '#'. */
static size_t authority_len(const char *p, size_t n)
{
	size_t i = 0;
	while (i < n && p[i] != '/' && p[i] != '?' && p[i] != '#')
		i++;
	return i;
}

/* Splits p[0..n) (what follows the authority) into path and query, dropping
 * a fragment, and makes u's target of them. */
static int path_and_query(const char *p, size_t n, struct sk_url *u)
{
	const char *hash = memchr(p, '#', n);
	if (hash)
		n = (size_t)(hash - p);
	const char *q = memchr(p, '?', n);
	size_t path_len = q ? (size_t)(q - p) : n;
	return make_target(u->target, p, path_len, q ? q + 1 : NULL, q ? n - path_len - 1 : 0);
}

/* "//authority path?query#fragment" with u->scheme set. */
static int after_scheme(const char *p, size_t n, struct sk_url *u)
{
	if (n < 2 || p[0] != '/' || p[1] != '/')
		return SK_EURL_SYNTAX;
	p += 2;
	n -= 2;
	size_t alen = authority_len(p, n);
	int err = authority(p, alen, u);
	if (err)
		return err;
	return path_and_query(p + alen, n - alen, u);
}

static int scheme_of(const char *p, size_t n, enum sk_url_scheme *out)
{
	if (n == 4 && strncasecmp(p, "http", 4) == 0)
		*out = SK_URL_HTTP;
	else if (n == 5 && strncasecmp(p, "https", 5) == 0)
		*out = SK_URL_HTTPS;
	else
		return SK_EURL_SCHEME;
	return 0;
}

int sk_url_parse(const char *text, size_t len, struct sk_url *out)
{
	int err = check_bytes(text, len);
	if (err)
		return err;
	struct sk_url u;
	size_t slen = scheme_len(text, len);
	/* "localhost:8000/x" has a "scheme" too: only "name://" names one. */
	bool has_scheme = slen && len - slen >= 3 && memcmp(text + slen, "://", 3) == 0;
	u.scheme = SK_URL_HTTP;
	if (has_scheme) {
		if ((err = scheme_of(text, slen, &u.scheme)))
			return err;
		err = after_scheme(text + slen + 1, len - slen - 1, &u);
	} else {
		/* No scheme: the text is the authority and what follows. */
		size_t alen = authority_len(text, len);
		err = authority(text, alen, &u);
		if (err == 0)
			err = path_and_query(text + alen, len - alen, &u);
	}
	if (err)
		return err;
	*out = u;
	return 0;
}

int sk_url_resolve(const struct sk_url *base, const char *ref, size_t len, struct sk_url *out)
{
	int err = check_bytes(ref, len);
	if (err)
		return err;
	struct sk_url u = *base;
	size_t slen = scheme_len(ref, len);
	if (slen) {
		if ((err = scheme_of(ref, slen, &u.scheme)))
			return err;
		err = after_scheme(ref + slen + 1, len - slen - 1, &u);
	} else if (len >= 2 && ref[0] == '/' && ref[1] == '/') {
		err = after_scheme(ref, len, &u);
	} else if (len > 0 && ref[0] == '/') {
		err = path_and_query(ref, len, &u);
	} else {
		/* A relative path, a query alone, a fragment alone or nothing:
		 * merged with the base's path (RFC 3986 §5.2.2-§5.2.3). */
		size_t n = len;
		const char *hash = memchr(ref, '#', n);
		if (hash)
			n = (size_t)(hash - ref);
		const char *bq = strchr(base->target, '?');
		size_t base_path = bq ? (size_t)(bq - base->target) : strlen(base->target);
		char merged[SK_URL_MAX];
		struct text m = { merged, 0, sizeof merged, false };
		merged[0] = '\0';
		if (n == 0) {
			text_add(&m, base->target, strlen(base->target));
		} else if (ref[0] == '?') {
			text_add(&m, base->target, base_path);
			text_add(&m, ref, n);
		} else {
			size_t dir = base_path;
			while (dir > 0 && base->target[dir - 1] != '/')
				dir--;
			text_add(&m, base->target, dir);
			text_add(&m, ref, n);
		}
		if (m.overflow)
			return SK_EURL_TOO_LONG;
		err = path_and_query(m.p, m.len, &u);
	}
	if (err)
		return err;
	*out = u;
	return 0;
}

bool sk_url_same_origin(const struct sk_url *a, const struct sk_url *b)
{
	return a->scheme == b->scheme && a->port == b->port && strcmp(a->host, b->host) == 0;
}

int sk_url_authority(const struct sk_url *u, char *buf, size_t cap)
{
	size_t host_len = strcspn(u->host, u->is_ipv6 ? "%" : "");
	bool default_port = u->port == sk_url_default_port(u->scheme);
	int n = snprintf(buf, cap, "%s%.*s%s", u->is_ipv6 ? "[" : "", (int)host_len, u->host,
	                 u->is_ipv6 ? "]" : "");
	if (n >= 0 && (size_t)n < cap && !default_port)
		n += snprintf(buf + n, cap - (size_t)n, ":%u", u->port);
	return n < 0 || (size_t)n >= cap ? SK_ETOOLARGE : n;
}

int sk_url_format(const struct sk_url *u, char *buf, size_t cap)
{
	char auth[SK_URL_HOST_MAX + 16];
	/* The zone stays in a URL we show (it says which link), as %25. */
	const char *zone = u->is_ipv6 ? strchr(u->host, '%') : NULL;
	int a = sk_url_authority(u, auth, sizeof auth);
	if (a < 0)
		return a;
	int n;
	if (zone) {
		size_t bracket = (size_t)(strchr(auth, ']') - auth);
		n = snprintf(buf, cap, "%s://%.*s%%25%s%s%s", u->scheme == SK_URL_HTTPS ? "https" : "http",
		             (int)bracket, auth, zone + 1, auth + bracket, u->target);
	} else {
		n = snprintf(buf, cap, "%s://%s%s", u->scheme == SK_URL_HTTPS ? "https" : "http", auth,
		             u->target);
	}
	return n < 0 || (size_t)n >= cap ? SK_ETOOLARGE : n;
}

/* Percent-decodes s into buf (cap bytes, NUL-terminated). */
static int decode(const char *s, size_t n, char *buf, size_t cap)
{
	size_t len = 0;
	if (cap == 0)
		return SK_ETOOLARGE;
	for (size_t i = 0; i < n; i++) {
		if (len + 1 >= cap)
			return SK_ETOOLARGE;
		int hi, lo;
		if (s[i] == '%' && i + 2 < n &&
		    (hi = sk__hex_value((unsigned char)s[i + 1])) >= 0 &&
		    (lo = sk__hex_value((unsigned char)s[i + 2])) >= 0) {
			buf[len++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			buf[len++] = s[i];
		}
	}
	buf[len] = '\0';
	return (int)len;
}

int sk_url_userinfo(const struct sk_url *u, char *buf, size_t cap)
{
	return decode(u->userinfo, strlen(u->userinfo), buf, cap);
}

int sk_url_last_segment(const struct sk_url *u, char *buf, size_t cap)
{
	size_t path = strcspn(u->target, "?");
	size_t start = path;
	while (start > 0 && u->target[start - 1] != '/')
		start--;
	return decode(u->target + start, path - start, buf, cap);
}

/* One no_proxy entry (without a port) against the host. */
static bool entry_matches(const char *e, size_t n, const struct sk_url *u)
{
	if (n == 1 && e[0] == '*')
		return true;
	struct sk_ip_cidr net;
	struct sk_ip ip;
	size_t host_len = strcspn(u->host, "%");
	if (sk_ip_parse_cidr(e, n, &net, NULL) == 0) {
		if (sk_ip_parse(u->host, host_len, &ip, NULL) < 0 || ip.version != net.addr.version)
			return false;
		return sk_ip_contains(&net.addr, net.prefix, &ip);
	}
	if (n > 0 && e[0] == '.') {
		e++;
		n--;
	}
	if (n == 0 || n > host_len)
		return false;
	const char *tail = u->host + host_len - n;
	return strncasecmp(tail, e, n) == 0 && (n == host_len || tail[-1] == '.');
}

bool sk_url_no_proxy_matches(const char *list, const struct sk_url *u)
{
	const char *p = list;
	while (*p) {
		p += strspn(p, ", \t");
		size_t n = strcspn(p, ", \t");
		if (n == 0)
			break;
		/* "host:port" and "[v6]:port": the port is ignored. */
		size_t len = n;
		if (p[0] == '[') {
			const char *close = memchr(p, ']', n);
			if (close) {
				if (entry_matches(p + 1, (size_t)(close - p) - 1, u))
					return true;
				p += n;
				continue;
			}
		}
		const char *colon = memchr(p, ':', n);
		if (colon && !memchr(colon + 1, ':', n - (size_t)(colon - p) - 1))
			len = (size_t)(colon - p);
		if (entry_matches(p, len, u))
			return true;
		p += n;
	}
	return false;
}
