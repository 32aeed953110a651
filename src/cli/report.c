/* Errors into words and exit statuses: the only file that knows both. */
#include "cli.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int exit_status_of(int err)
{
	/* The HTTP client: a response that is malformed, cut short or does
	 * not decode, and a proxy's refusal of a tunnel, are the peer's. */
	if (err <= SK_EHTTP_BAD_RESPONSE && err >= SK_EHTTP_TUNNEL)
		return EXIT_PEER;
	switch (err) {
	case SK_OK:
		return EXIT_OK;
	case SK_ENONAME:
		return EXIT_RESOLVE;
	case -ECONNREFUSED:
	case -ECONNRESET:
	case -EADDRINUSE:
	case -EADDRNOTAVAIL:
	case -ENETUNREACH:
	case -EHOSTUNREACH:
	case -ENODEV:
	case -EPIPE:
		return EXIT_NETWORK;
	case -ETIMEDOUT:
	case SK_ETLS_TIMEOUT:
		return EXIT_TIMEOUT;
	case SK_ETLS_CERT_FILE:
	case SK_ETLS_KEY_FILE:
	case SK_ETLS_KEY_MISMATCH:
		return EXIT_LOCAL;
	case -ENOENT:
	case -EACCES:
	case -EPERM:
	case -EISDIR:
	case -ENOTDIR:
	case -EROFS:
		return EXIT_LOCAL;
	default:
		break;
	}
	/* A TLS peer that failed its handshake or whose certificate we refused. */
	if (err <= SK_ETLS_HANDSHAKE && err >= SK_ETLS_NO_CERT)
		return EXIT_PEER;
	/* Every parse error is a usage error: the user typed something wrong. */
	if (err <= -1000)
		return EXIT_USAGE;
	return EXIT_FAIL;
}

const char *reason_of(int err, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s", sk_strerror(err));
	/* Not an acronym: "TLS handshake failed" stays as it is. */
	if (buf[0] && !isupper((unsigned char)buf[1]))
		buf[0] = (char)tolower((unsigned char)buf[0]);
	return buf;
}

__attribute__((format(printf, 2, 0)))
static void vreport(const char *context, const char *fmt, va_list ap)
{
	/* One fprintf call, so concurrent writers to stderr do not interleave. */
	char msg[1024];
	vsnprintf(msg, sizeof msg, fmt, ap);
	fprintf(stderr, "sockit: %s: %s\n", context, msg);
}

void report(const char *context, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(context, fmt, ap);
	va_end(ap);
}

int report_err(const char *context, int err)
{
	char reason[128];
	report(context, "%s", reason_of(err, reason, sizeof reason));
	return exit_status_of(err);
}

int usage_error(const char *command, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(command, fmt, ap);
	va_end(ap);
	/* "ip same" is documented under "ip". */
	fprintf(stderr, "sockit: see 'sockit help %.*s'\n", (int)strcspn(command, " "), command);
	return EXIT_USAGE;
}

const char *quote(const char *p, size_t len, char *buf)
{
	static const char hex[] = "0123456789abcdef";
	const size_t room = QUOTE_MAX - 6; /* the quotes, "...", NUL */
	size_t n = 0;
	buf[n++] = '\'';
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		bool plain = c >= 0x20 && c < 0x7f;
		if (n + (plain ? 1 : 4) > room) {
			memcpy(buf + n, "...", 3);
			n += 3;
			break;
		}
		if (plain) {
			buf[n++] = (char)c;
		} else {
			buf[n++] = '\\';
			buf[n++] = 'x';
			buf[n++] = hex[c >> 4];
			buf[n++] = hex[c & 0xf];
		}
	}
	buf[n++] = '\'';
	buf[n] = '\0';
	return buf;
}

void describe_parse_error(int err, const char *input, size_t input_len, struct sk_slice bad,
                          char *buf, size_t cap)
{
	char reason[128], part[QUOTE_MAX];
	reason_of(err, reason, sizeof reason);
	/* Quote the offending part only when it is a proper part of the input. */
	if (bad.p && bad.len > 0 && bad.len < input_len && bad.p >= input &&
	    bad.p + bad.len <= input + input_len)
		snprintf(buf, cap, "%s: %s", reason, quote(bad.p, bad.len, part));
	else
		snprintf(buf, cap, "%s", reason);
}
