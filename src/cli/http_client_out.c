/* Where `sockit http`'s bodies go, and what it says about them: stdout, a
 * file written under a temporary name and renamed when complete (so a
 * transfer that fails midway never leaves a truncated file or replaces a
 * good one), a file resumed in place (-C -), the -v heads, the progress
 * bar and -w json. */
#include "http_client_cli.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* --- the sink ---------------------------------------------------------------- */

/* -O's name must be a plain file name here: nothing that climbs out of the
 * directory, hides itself or holds bytes a terminal would act on. */
static const char *unsafe_name(const char *name, size_t len)
{
	if (len == 0)
		return "names no file (its path ends in '/')";
	if (memchr(name, '/', len) || memchr(name, '\\', len))
		return "holds a '/' once decoded";
	if (name[0] == '.')
		return "starts with '.' (a hidden file, '.' or '..')";
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return "holds control bytes";
	return NULL;
}

const char *hc_sink_name(const struct hc_sink *s, char *buf, size_t cap)
{
	char q[QUOTE_MAX];
	if (s->kind == HC_OUT_STDOUT)
		snprintf(buf, cap, "stdout");
	else
		snprintf(buf, cap, "%s %s", s->kind == HC_OUT_FILE ? "-o" : "-O",
		         quote(s->path, strlen(s->path), q));
	return buf;
}

static int local_error(const struct hc_sink *s, int err)
{
	char name[QUOTE_MAX + 8], ctx[QUOTE_MAX + 64];
	snprintf(ctx, sizeof ctx, "%s: %s", s->command, hc_sink_name(s, name, sizeof name));
	report_err(ctx, err);
	return EXIT_LOCAL;
}

int hc_sink_prepare(struct hc_sink *s, const char *command, const struct hc_output *out,
                    const struct sk_url *url, bool resume)
{
	memset(s, 0, sizeof *s);
	s->command = command;
	s->fd = -1;
	s->kind = out ? out->kind : HC_OUT_STDOUT;
	if (s->kind == HC_OUT_STDOUT)
		return EXIT_OK;
	if (s->kind == HC_OUT_REMOTE_NAME) {
		char q[QUOTE_MAX];
		int n = sk_url_last_segment(url, s->path, sizeof s->path);
		const char *why = n < 0 ? "is too long" : unsafe_name(s->path, (size_t)n);
		if (why) {
			/* The name when there is one, else the path that has none. */
			const char *shown = n > 0 ? s->path : url->target;
			return usage_error(command, "-O: %s %s; use -o FILE",
			                   quote(shown, strlen(shown), q), why);
		}
	} else {
		snprintf(s->path, sizeof s->path, "%s", out->path);
	}
	struct stat st;
	if (stat(s->path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return local_error(s, -EISDIR);
		/* A device or a pipe (-o /dev/null) is written as it is: renaming a
		 * temporary file onto it would replace it. */
		if (!S_ISREG(st.st_mode))
			s->in_place = true;
		else if (resume)
			s->resume_from = (uint64_t)st.st_size;
	} else if (errno != ENOENT) {
		return local_error(s, -errno);
	}
	if (resume)
		s->in_place = true;
	/* Fail before the transfer, not after it, when the directory is not there. */
	char dir[sizeof s->path];
	snprintf(dir, sizeof dir, "%s", s->path);
	if (stat(dirname(dir), &st) < 0)
		return local_error(s, -errno);
	if (!S_ISDIR(st.st_mode))
		return local_error(s, -ENOTDIR);
	return EXIT_OK;
}

int hc_sink_open(struct hc_sink *s, bool append, bool truncate)
{
	if (s->discard)
		return 0;
	if (s->kind == HC_OUT_STDOUT) {
		struct out *o = out_stdout(NULL);
		s->fd = STDOUT_FILENO;
		out_flush(o); /* -i's head or an earlier -w go first */
		return 0;
	}
	if (s->in_place) {
		int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : 0) | (truncate ? O_TRUNC : 0);
		s->fd = open(s->path, flags, 0666);
		return s->fd < 0 ? -errno : 0;
	}
	char dir[sizeof s->path], base[sizeof s->path];
	snprintf(dir, sizeof dir, "%s", s->path);
	snprintf(base, sizeof base, "%s", s->path);
	int n = snprintf(s->tmp, sizeof s->tmp, "%s/.%s.sockit-XXXXXX", dirname(dir), basename(base));
	if (n < 0 || (size_t)n >= sizeof s->tmp)
		return -ENAMETOOLONG;
	s->fd = mkstemp(s->tmp);
	if (s->fd < 0) {
		int err = -errno;
		s->tmp[0] = '\0';
		return err;
	}
	/* mkstemp makes 0600; the file gets the mode a plain create would. */
	mode_t mask = umask(0);
	umask(mask);
	fchmod(s->fd, 0666 & ~mask);
	return 0;
}

int hc_sink_write(struct hc_sink *s, const void *p, size_t len)
{
	if (s->discard || s->err)
		return s->err;
	const char *b = p;
	while (len > 0) {
		ssize_t n = write(s->fd, b, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			s->err = -errno;
			if (s->kind == HC_OUT_STDOUT)
				out_stdout(NULL)->err = s->err; /* out_stdout_finish words it */
			return s->err;
		}
		b += n;
		len -= (size_t)n;
		s->written += (uint64_t)n;
	}
	return 0;
}

int hc_sink_close(struct hc_sink *s, bool ok)
{
	int err = 0;
	if (s->fd >= 0 && s->fd != STDOUT_FILENO && close(s->fd) < 0)
		err = -errno;
	s->fd = -1;
	if (!s->tmp[0])
		return err;
	if (ok && !err && !s->err && rename(s->tmp, s->path) < 0)
		err = -errno;
	if (!ok || err || s->err)
		unlink(s->tmp);
	s->tmp[0] = '\0';
	return err;
}

/* --- -v ------------------------------------------------------------------------ */

void hc_print_head(char mark, struct sk_slice head)
{
	char buf[4096];
	struct out o;
	out_init(&o, STDERR_FILENO, buf, sizeof buf);
	size_t i = 0;
	while (i < head.len) {
		const char *line = head.p + i;
		const char *lf = memchr(line, '\n', head.len - i);
		size_t n = lf ? (size_t)(lf - line) : head.len - i;
		size_t shown = n && line[n - 1] == '\r' ? n - 1 : n;
		out_char(&o, mark);
		if (shown) {
			out_char(&o, ' ');
			out_escaped(&o, line, shown);
		}
		out_char(&o, '\n');
		i += n + 1;
	}
	out_flush(&o);
}

/* --- the progress bar -------------------------------------------------------- */

/* Redraws at most this often: a terminal is slow, and the eye slower. */
#define PROGRESS_EVERY_US 200000

uint64_t hc_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void human(uint64_t n, char *buf, size_t cap)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	size_t u = 0;
	while (v >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
		v /= 1024;
		u++;
	}
	snprintf(buf, cap, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

void hc_progress_start(struct hc_progress *p, bool on, uint64_t total, uint64_t already)
{
	memset(p, 0, sizeof *p);
	p->on = on;
	p->start_us = hc_now_us();
	p->total = total;
	p->done = already;
	p->last_us = p->start_us;
}

void hc_progress_update(struct hc_progress *p, uint64_t done, bool final)
{
	if (!p->on)
		return;
	uint64_t now = hc_now_us();
	if (!final && now - p->last_us < PROGRESS_EVERY_US)
		return;
	p->last_us = now;
	double secs = (double)(now - p->start_us) / 1e6;
	double rate = secs > 0 ? (double)(done - (done < p->done ? done : p->done)) / secs : 0;
	char have[32], all[32], speed[32], line[160];
	human(done, have, sizeof have);
	human((uint64_t)rate, speed, sizeof speed);
	int n;
	if (p->total != UINT64_MAX && p->total > 0) {
		human(p->total, all, sizeof all);
		unsigned pct = (unsigned)(done * 100 / p->total);
		char left[32] = "";
		if (rate > 0 && done < p->total) {
			uint64_t s = (uint64_t)((double)(p->total - done) / rate);
			snprintf(left, sizeof left, "  %u:%02u:%02u left", (unsigned)(s / 3600),
			         (unsigned)(s / 60 % 60), (unsigned)(s % 60));
		}
		n = snprintf(line, sizeof line, "\r%10s / %-10s %3u%%  %10s/s%s", have, all, pct, speed, left);
	} else {
		n = snprintf(line, sizeof line, "\r%10s  %10s/s", have, speed);
	}
	/* Pad over what a longer line before left on the terminal. */
	fprintf(stderr, "%s%*s%s", line, n < 64 ? 64 - n : 0, "", final ? "\n" : "");
	fflush(stderr);
	p->drawn = true;
}

/* --- -w json --------------------------------------------------------------- */

static void json_key_str(struct out *o, const char *key, const char *p, size_t len)
{
	out_printf(o, "\"%s\": \"", key);
	out_json_str(o, p, len);
	out_str(o, "\"");
}

static void json_secs(struct out *o, const char *key, uint64_t us, bool comma)
{
	out_printf(o, "\"%s\": %llu.%06llu%s", key, (unsigned long long)(us / 1000000),
	           (unsigned long long)(us % 1000000), comma ? ", " : "");
}

static void json_cert(struct out *o, const struct sk_tls_cert_info *c)
{
	out_str(o, "{");
	json_key_str(o, "subject", c->subject, strlen(c->subject));
	out_str(o, ", ");
	json_key_str(o, "issuer", c->issuer, strlen(c->issuer));
	out_str(o, ", ");
	json_key_str(o, "names", c->names, strlen(c->names));
	out_str(o, ", ");
	json_key_str(o, "not_before", c->not_before, strlen(c->not_before));
	out_str(o, ", ");
	json_key_str(o, "not_after", c->not_after, strlen(c->not_after));
	out_str(o, ", ");
	json_key_str(o, "sha256", c->sha256, strlen(c->sha256));
	out_str(o, ", ");
	json_key_str(o, "pin", c->pin, strlen(c->pin));
	out_str(o, "}");
}

/* "tls": what -v prints of a handshake, for the final response's connection. */
static void json_tls(struct out *o, const struct sk_tls_info *t)
{
	static const char *const trust[] = { "none", "ca", "pin" };
	if (!t) {
		out_str(o, "null");
		return;
	}
	out_str(o, "{");
	json_key_str(o, "version", t->version, strlen(t->version));
	out_str(o, ", ");
	json_key_str(o, "cipher", t->cipher, strlen(t->cipher));
	out_str(o, ", ");
	if (t->alpn[0])
		json_key_str(o, "alpn", t->alpn, strlen(t->alpn));
	else
		out_str(o, "\"alpn\": null");
	out_printf(o, ", \"resumed\": %s, \"verified\": \"%s\", \"certificate\": ",
	           t->resumed ? "true" : "false", trust[t->trust]);
	if (t->has_peer_cert)
		json_cert(o, &t->peer);
	else
		out_str(o, "null");
	out_str(o, "}");
}

void hc_write_json(struct out *o, const struct hc_report *r)
{
	const struct hc_hop *last = r->n_hops ? &r->hops[r->n_hops - 1] : NULL;
	out_str(o, "{");
	json_key_str(o, "url", r->url_given, strlen(r->url_given));
	out_str(o, ", ");
	if (last)
		json_key_str(o, "url_effective", last->url, strlen(last->url));
	else
		out_str(o, "\"url_effective\": null");
	out_str(o, ", ");
	json_key_str(o, "method", r->method, strlen(r->method));
	if (r->res) {
		out_printf(o, ", \"status\": %u, ", r->res->status);
		json_key_str(o, "reason", r->res->reason.p, r->res->reason.len);
		out_str(o, ", ");
		json_key_str(o, "http_version", r->res->version.p, r->res->version.len);
	} else {
		out_str(o, ", \"status\": null, \"reason\": null, \"http_version\": null");
	}
	out_str(o, ", \"redirects\": [");
	for (size_t i = 0; i + 1 < r->n_hops; i++) {
		out_str(o, i ? ", {" : "{");
		json_key_str(o, "url", r->hops[i].url, strlen(r->hops[i].url));
		out_printf(o, ", \"status\": %u, ", r->hops[i].status);
		json_secs(o, "time", r->hops[i].timing.total_us, false);
		out_str(o, "}");
	}
	out_str(o, "], \"headers\": [");
	for (size_t i = 0; r->res && i < r->res->n_headers; i++) {
		const struct sk_http_header *h = &r->res->headers[i];
		out_str(o, i ? ", [\"" : "[\"");
		out_json_str(o, h->name.p, h->name.len);
		out_str(o, "\", \"");
		out_json_str(o, h->value.p, h->value.len);
		out_str(o, "\"]");
	}
	struct sk_http_timing t = { 0 };
	if (last)
		t = last->timing;
	out_printf(o, "], \"bytes\": {\"body\": %llu, \"received\": %llu, \"sent\": %llu}",
	           (unsigned long long)r->body_bytes,
	           (unsigned long long)(t.head_bytes + t.body_bytes), (unsigned long long)t.bytes_sent);
	out_str(o, ", \"time\": {");
	json_secs(o, "name_lookup", t.name_lookup_us, true);
	json_secs(o, "connect", t.connect_us, true);
	json_secs(o, "tls_handshake", t.tls_us, true);
	json_secs(o, "request_sent", t.sent_us, true);
	json_secs(o, "first_byte", t.first_byte_us, true);
	json_secs(o, "total", r->total_us, false);
	out_printf(o, "}, \"reused\": %s, \"tls\": ", t.reused ? "true" : "false");
	json_tls(o, r->tls);
	out_str(o, ", \"output\": ");
	if (r->output) {
		out_str(o, "\"");
		out_json_str(o, r->output, strlen(r->output));
		out_str(o, "\"");
	} else {
		out_str(o, "null");
	}
	out_printf(o, ", \"exit_status\": %d, \"error\": ", r->exit_status);
	if (r->error) {
		out_str(o, "\"");
		out_json_str(o, r->error, strlen(r->error));
		out_str(o, "\"");
	} else {
		out_str(o, "null");
	}
	out_str(o, "}\n");
}
