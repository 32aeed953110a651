/* Request bodies and fields for `sockit http`: -d, --json, -F and put's
 * FILE as body parts the library sends (files read as they go, so a body
 * costs no memory and can be sent again), and the fields of each request
 * with the credentials only where they belong. */
#include "http_client_cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

/* -d @- reads stdin into memory (curl does the same): its length is then
 * known, and the request can be sent again. 1 GiB is past any form. */
#define STDIN_MAX (1u << 30)

static int add_mem(struct hc_body *b, const void *p, size_t len)
{
	if (len == 0)
		return 0;
	b->parts[b->n_parts++] = (struct sk_http_body_part){ .data = p, .len = len };
	return 0;
}

/* Keeps s (allocated) for the body's lifetime and adds it as a part. */
static int add_owned(struct hc_body *b, char *s, size_t len)
{
	if (!s)
		return SK_ENOMEM;
	b->mem[b->n_mem++] = s;
	return add_mem(b, s, len);
}

static int read_stdin(struct hc_body *b)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (!buf)
			return SK_ENOMEM;
		if (len == cap) {
			if (cap >= STDIN_MAX) {
				free(buf);
				return SK_ETOOLARGE;
			}
			char *bigger = realloc(buf, cap * 2);
			if (!bigger)
				free(buf);
			buf = bigger;
			cap *= 2;
			continue;
		}
		ssize_t n = read(STDIN_FILENO, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = -errno;
			free(buf);
			return err;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	return add_owned(b, buf, len);
}

/* A whole regular file as one part (read with pread as it is sent). */
static int add_file(struct hc_body *b, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int err = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		close(fd);
		return err;
	}
	b->fds[b->n_fds++] = fd;
	b->parts[b->n_parts++] = (struct sk_http_body_part){ .fd = fd, .len = (uint64_t)st.st_size };
	return 0;
}

static int file_error(const char *command, const char *what, const char *path, int err)
{
	char q[QUOTE_MAX], ctx[QUOTE_MAX + 64];
	snprintf(ctx, sizeof ctx, "%s: %s %s", command, what, quote(path, strlen(path), q));
	if (err == -EINVAL) {
		report(ctx, "not a regular file");
		return EXIT_LOCAL;
	}
	int st = report_err(ctx, err);
	return st == EXIT_USAGE || st == EXIT_FAIL ? EXIT_LOCAL : st;
}

/* -d and --json: each value, @FILE or @- (stdin), joined by '&' (-d). */
static int build_data(const struct hc_opts *o, struct hc_body *b)
{
	for (size_t i = 0; i < o->n_data; i++) {
		const char *d = o->data[i];
		if (i > 0 && !o->json)
			add_mem(b, "&", 1);
		int err = 0;
		if (strcmp(d, "@-") == 0)
			err = read_stdin(b);
		else if (d[0] == '@')
			err = add_file(b, d + 1);
		else
			add_mem(b, d, strlen(d));
		if (err < 0)
			return file_error(o->command, o->json ? "--json" : "-d", d[0] == '@' ? d + 1 : d, err);
	}
	b->content_type = o->json ? "application/json" : "application/x-www-form-urlencoded";
	return EXIT_OK;
}

/* A name or file name inside quotes in Content-Disposition: '"', CR and LF
 * percent-encoded (the HTML form encoding), so no value can end the
 * quotes or the line. */
static char *quoted_param(const char *s, size_t n)
{
	char *out = malloc(3 * n + 1), *w = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\r' || s[i] == '\n')
			w += sprintf(w, "%%%02X", (unsigned char)s[i]);
		else
			*w++ = s[i];
	}
	*w = '\0';
	return out;
}

static int form_part(const struct hc_opts *o, struct hc_body *b, const char *arg)
{
	const char *eq = strchr(arg, '=');
	char *name = quoted_param(arg, (size_t)(eq - arg));
	const char *value = eq + 1;
	bool is_file = value[0] == '@';
	char *head;
	if (!name)
		return report_err(o->command, SK_ENOMEM);
	if (is_file) {
		const char *base = strrchr(value + 1, '/');
		char *fname = quoted_param(base ? base + 1 : value + 1, strlen(base ? base + 1 : value + 1));
		if (!fname || asprintf(&head, "--%s\r\nContent-Disposition: form-data; name=\"%s\"; "
		                       "filename=\"%s\"\r\nContent-Type: application/octet-stream\r\n\r\n",
		                       b->boundary, name, fname) < 0)
			head = NULL;
		free(fname);
	} else if (asprintf(&head, "--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n",
	                    b->boundary, name) < 0) {
		head = NULL;
	}
	free(name);
	if (!head || add_owned(b, head, strlen(head)) < 0)
		return report_err(o->command, SK_ENOMEM);
	int err = is_file ? add_file(b, value + 1) : add_mem(b, value, strlen(value));
	if (err < 0)
		return file_error(o->command, "-F", value + 1, err);
	add_mem(b, "\r\n", 2);
	return EXIT_OK;
}

/* -F: multipart/form-data (RFC 7578), what `http serve --upload`'s form
 * and every HTML form with a file field send. */
static int build_form(const struct hc_opts *o, struct hc_body *b)
{
	unsigned char rnd[12];
	if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
		memset(rnd, 0x5a, sizeof rnd);
	int n = snprintf(b->boundary, sizeof b->boundary, "------------------------sockit");
	for (size_t i = 0; i < sizeof rnd; i++)
		n += snprintf(b->boundary + n, sizeof b->boundary - (size_t)n, "%02x", rnd[i]);
	for (size_t i = 0; i < o->n_form; i++) {
		int st = form_part(o, b, o->form[i]);
		if (st != EXIT_OK)
			return st;
	}
	char *end;
	if (asprintf(&end, "--%s--\r\n", b->boundary) < 0 || add_owned(b, end, strlen(end)) < 0)
		return report_err(o->command, SK_ENOMEM);
	snprintf(b->type, sizeof b->type, "multipart/form-data; boundary=%s", b->boundary);
	b->content_type = b->type;
	return EXIT_OK;
}

int hc_body_build(const struct hc_opts *o, struct hc_body *b)
{
	memset(b, 0, sizeof *b);
	if (o->put_file) {
		if (strcmp(o->put_file, "-") == 0) {
			b->stream_stdin = true;
			return EXIT_OK;
		}
		int err = add_file(b, o->put_file);
		return err < 0 ? file_error(o->command, "put", o->put_file, err) : EXIT_OK;
	}
	if (o->n_data)
		return build_data(o, b);
	if (o->n_form)
		return build_form(o, b);
	return EXIT_OK;
}

void hc_body_free(struct hc_body *b)
{
	for (size_t i = 0; i < b->n_mem; i++)
		free(b->mem[i]);
	for (size_t i = 0; i < b->n_fds; i++)
		close(b->fds[i]);
	b->n_mem = b->n_fds = b->n_parts = 0;
}

bool hc_body_empty(const struct hc_body *b)
{
	return b->n_parts == 0 && !b->stream_stdin;
}

/* --- stdin as a streamed body (put URL -) ------------------------------- */

static void on_stdin_data(struct sk_conn *c, const char *p, size_t len, void *ud)
{
	struct hc_run *run = ud;
	struct sk_http_exchange *ex = run->job.ex;
	if (!ex || sk_http_exchange_write(ex, p, len) < 0) {
		sk_conn_close(c, 0);
		return;
	}
	if (sk_http_exchange_is_full(ex) && !run->stdin_paused) {
		run->stdin_paused = true;
		sk_conn_pause(c);
	}
}

static void on_stdin_eof(struct sk_conn *c, void *ud)
{
	struct hc_run *run = ud;
	run->stdin_done = true;
	if (run->job.ex)
		sk_http_exchange_end(run->job.ex);
	sk_conn_close(c, 0);
}

static void on_stdin_close(struct sk_conn *c, int err, void *ud)
{
	(void)c;
	struct hc_run *run = ud;
	run->stdin_conn = NULL;
	if (err < 0 && run->job.ex) {
		run->job.local_err = err;
		run->job.local_what = "stdin";
		sk_http_exchange_abort(run->job.ex, err);
	}
}

static const struct sk_conn_handler stdin_handler = {
	.on_data = on_stdin_data,
	.on_eof = on_stdin_eof,
	.on_close = on_stdin_close,
};

void hc_on_body_want(struct sk_http_exchange *ex, void *ud)
{
	struct hc_job *job = ud;
	struct hc_run *run = job->run;
	if (run->stdin_done)
		return;
	if (!run->stdin_conn) {
		struct sk_conn_opts o;
		sk_conn_opts_init(&o);
		int err = sk_conn_new(run->loop, STDIN_FILENO, -1, &o, &stdin_handler, run, &run->stdin_conn);
		if (err < 0) {
			job->local_err = err;
			job->local_what = "stdin";
			sk_http_exchange_abort(ex, err);
		}
		return;
	}
	if (run->stdin_paused) {
		run->stdin_paused = false;
		sk_conn_resume(run->stdin_conn);
	}
}

/* --- fields ---------------------------------------------------------------- */

/* Sets one of our fields (replacing one of ours of the same name). */
static void set(struct hc_fields *out, const char *name, const char *value)
{
	for (size_t i = 0; i < out->n; i++) {
		if (strcasecmp(out->f[i].name, name) == 0) {
			out->f[i].value = value;
			return;
		}
	}
	out->f[out->n++] = (struct sk_http_field){ name, value };
}

/* Fields that carry credentials: never sent to another origin than the
 * one they were given for (a redirect to another host must not learn
 * them). */
static bool is_credential(const char *name)
{
	return strcasecmp(name, "authorization") == 0 || strcasecmp(name, "cookie") == 0;
}

/* A -H field: replaces (or, without a value, drops) one of ours of the
 * same name; any other is added, repeats included. */
static void apply_user_field(struct hc_fields *out, size_t *n_ours, const struct sk_http_field *f)
{
	for (size_t i = 0; i < *n_ours; i++) {
		if (strcasecmp(out->f[i].name, f->name) != 0)
			continue;
		if (f->value) {
			out->f[i].value = f->value;
		} else {
			memmove(&out->f[i], &out->f[i + 1], (out->n - i - 1) * sizeof out->f[0]);
			out->n--;
			(*n_ours)--;
		}
		return;
	}
	if (f->value && out->n < sizeof out->f / sizeof out->f[0])
		out->f[out->n++] = *f;
}

void hc_fields_build(const struct hc_opts *o, const struct hc_body *body, const char *userpass,
                     size_t userpass_len, bool send_credentials, uint64_t range_from,
                     struct hc_fields *out)
{
	out->n = 0;
	snprintf(out->agent, sizeof out->agent, "sockit/%s", sk_version());
	set(out, "User-Agent", o->user_agent ? o->user_agent : out->agent);
	set(out, "Accept", o->json ? "application/json" : "*/*");
	if (o->compressed)
		set(out, "Accept-Encoding", "gzip");
	if (body && body->content_type)
		set(out, "Content-Type", body->content_type);
	if (userpass && sk_http_basic_auth(userpass, userpass_len, out->auth, sizeof out->auth) > 0)
		set(out, "Authorization", out->auth);
	if (range_from) {
		snprintf(out->range, sizeof out->range, "bytes=%llu-", (unsigned long long)range_from);
		set(out, "Range", out->range);
	}
	size_t n_ours = out->n;
	for (size_t i = 0; i < o->n_fields; i++) {
		if (is_credential(o->fields[i].name) && !send_credentials)
			continue;
		apply_user_field(out, &n_ours, &o->fields[i]);
	}
}
