/* Buffered output for data on stdout. Batch mode writes hundreds of bytes a
 * line at a million lines a second, so stdio's per-call locking is avoided:
 * everything goes through one buffer and one write(2) per buffer-full. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* stdout's writer: 256 KiB, the buffer `ip` batch mode had of its own. */
#define STDOUT_BUF (256 * 1024)

static char stdout_buf[STDOUT_BUF];
static struct out stdout_out = { .buf = stdout_buf, .cap = STDOUT_BUF, .fd = STDOUT_FILENO };
static const char *stdout_context; /* who writes: "udp listen"; NULL before any */

struct out *out_stdout(const char *context)
{
	if (context)
		stdout_context = context;
	return &stdout_out;
}

int out_stdout_finish(int status)
{
	int err = out_flush(&stdout_out);
	errno = 0;
	/* Anything printed through stdio (none of ours should be) is checked too:
	 * fflush reports a failure of its own write, ferror an earlier one. */
	if (fflush(stdout) == EOF && err == 0)
		err = errno ? -errno : -EIO;
	if (ferror(stdout) && err == 0)
		err = -EIO;
	/* A reader that closed the pipe (`| head -1`) has all it wanted: that is
	 * how pipelines end, not a failure to report. */
	if (err == 0 || err == -EPIPE)
		return status;
	char ctx[64];
	snprintf(ctx, sizeof ctx, "%s%sstdout", stdout_context ? stdout_context : "",
	         stdout_context ? ": " : "");
	report_err(ctx, err);
	return status == EXIT_OK ? EXIT_FAIL : status;
}

void out_init(struct out *o, int fd, char *buf, size_t cap)
{
	o->buf = buf;
	o->len = 0;
	o->cap = cap;
	o->fd = fd;
	o->err = 0;
}

int out_flush(struct out *o)
{
	size_t done = 0;
	while (done < o->len && o->err == 0) {
		ssize_t n = write(o->fd, o->buf + done, o->len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			o->err = -errno;
		else
			done += (size_t)n;
	}
	o->len = 0;
	return o->err;
}

char *out_reserve(struct out *o, size_t n)
{
	if (n > o->cap - o->len)
		out_flush(o);
	return o->buf + o->len;
}

void out_commit(struct out *o, size_t n)
{
	o->len += n;
}

void out_write(struct out *o, const void *p, size_t len)
{
	const char *s = p;
	while (len > 0) {
		if (o->len == o->cap)
			out_flush(o);
		size_t n = o->cap - o->len < len ? o->cap - o->len : len;
		memcpy(o->buf + o->len, s, n);
		o->len += n;
		s += n;
		len -= n;
	}
}

void out_str(struct out *o, const char *s)
{
	out_write(o, s, strlen(s));
}

void out_char(struct out *o, char c)
{
	if (o->len == o->cap)
		out_flush(o);
	o->buf[o->len++] = c;
}

void out_printf(struct out *o, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n > 0)
		out_write(o, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

void out_uint(struct out *o, unsigned long long v)
{
	char tmp[24];
	size_t n = sizeof tmp;
	do {
		tmp[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	out_write(o, tmp + n, sizeof tmp - n);
}

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF), or 0 if the bytes are not one. */
static size_t utf8_seq_len(const unsigned char *p, size_t avail)
{
	unsigned char c = p[0];
	size_t n;
	unsigned char lo = 0x80, hi = 0xbf;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;
		if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;
		if (c == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (avail < n || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

void out_json_str(struct out *o, const char *p, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)p;
	size_t i = 0;
	while (i < len) {
		unsigned char c = s[i];
		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			size_t j = i;
			while (j < len && s[j] >= 0x20 && s[j] < 0x80 && s[j] != '"' && s[j] != '\\')
				j++;
			out_write(o, s + i, j - i);
			i = j;
			continue;
		}
		if (c == '"' || c == '\\') {
			char esc[2] = { '\\', (char)c };
			out_write(o, esc, 2);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf] };
			out_write(o, esc, 6);
			i++;
		} else {
			size_t n = utf8_seq_len(s + i, len - i);
			if (n) {
				out_write(o, s + i, n);
				i += n;
			} else {
				out_write(o, "\\ufffd", 6);
				i++;
			}
		}
	}
}

void out_escaped(struct out *o, const char *p, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)p;
	size_t i = 0;
	while (i < len) {
		unsigned char c = s[i];
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			out_char(o, (char)c);
			i++;
			continue;
		}
		size_t n = c >= 0x80 ? utf8_seq_len(s + i, len - i) : 0;
		if (n) {
			out_write(o, s + i, n);
			i += n;
			continue;
		}
		char esc[4] = { '\\', 0, 0, 0 };
		size_t esc_len = 2;
		switch (c) {
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		case '\\': esc[1] = '\\'; break;
		default:
			esc[1] = 'x';
			esc[2] = hex[c >> 4];
			esc[3] = hex[c & 0xf];
			esc_len = 4;
		}
		out_write(o, esc, esc_len);
		i++;
	}
}
