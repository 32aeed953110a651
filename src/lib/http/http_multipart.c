/* multipart/form-data bodies (RFC 7578 over RFC 2046 §5.1.1), parsed as
 * they stream in.
 *
 * Part data is scanned with memchr for '\r', the only byte that can start a
 * delimiter ("\r\n--" boundary), and handed on in runs as long as the input
 * allows. Only a delimiter prefix at the very end of the input is held back,
 * and since a boundary contains no CR, the held bytes never need to be
 * rescanned: a mismatch makes them plain data at once. Part header
 * sections are copied into the parser's fixed buffer, so that name and
 * filename can be shown whole however the section was split. */
#include <sockit/http_multipart.h>
#include <sockit/http_parse.h>

#include <assert.h>
#include <string.h>
#include <strings.h>

#include "base/base_internal.h"
#include "http/http_internal.h"

/* The parser's states, in the order a body visits them. */
enum state {
	ST_PREAMBLE,    /* before the first boundary: discarded */
	ST_AFTER_DELIM, /* just after "--boundary": "--" or padding follows */
	ST_CLOSE_DASH,  /* "--boundary-": the second '-' must follow */
	ST_PADDING,     /* transport padding (SP/HTAB) before the CRLF */
	ST_DELIM_LF,    /* the CR after the boundary: its LF must follow */
	ST_HEADERS,     /* a part's header section */
	ST_DATA,        /* a part's data, up to the next delimiter */
	ST_EPILOGUE,    /* after "--boundary--": ignored */
	ST_FAILED,      /* m->err says why */
};

/* RFC 2046 §5.1.1 bcharsnospace. */
static bool is_bchar_nospace(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))
		return true;
	return c && strchr("'()+_,-./:=?", c) != NULL;
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static int check_boundary(struct sk_slice b)
{
	if (b.len == 0 || b.len > SK_MULTIPART_BOUNDARY_MAX)
		return SK_EHTTP_BAD_REQUEST;
	for (size_t i = 0; i < b.len; i++)
		if (!is_bchar_nospace((unsigned char)b.p[i]) && b.p[i] != ' ')
			return SK_EHTTP_BAD_REQUEST;
	if (b.p[b.len - 1] == ' ')
		return SK_EHTTP_BAD_REQUEST;
	return 0;
}

/* --- parameters: *( OWS ";" OWS token OWS "=" OWS ( token / quoted-string ) ) --- */

struct params {
	const char *p, *end;
};

struct param {
	struct sk_slice name;
	struct sk_slice value; /* a quoted value without its quotes, escapes kept */
	bool is_quoted;
};

static void skip_ows(struct params *ps)
{
	while (ps->p < ps->end && is_ows(*ps->p))
		ps->p++;
}

static struct sk_slice take_token(struct params *ps)
{
	const char *start = ps->p;
	while (ps->p < ps->end && sk__http_is_tchar((unsigned char)*ps->p))
		ps->p++;
	return (struct sk_slice){ start, (size_t)(ps->p - start) };
}

/* ps->p is just past the opening quote. */
static int take_quoted(struct params *ps, struct sk_slice *value)
{
	const char *start = ps->p;
	while (ps->p < ps->end && *ps->p != '"') {
		if (*ps->p == '\\' && ps->end - ps->p > 1)
			ps->p++;
		if (!sk__http_is_field_char((unsigned char)*ps->p))
			return SK_EHTTP_BAD_REQUEST;
		ps->p++;
	}
	if (ps->p == ps->end)
		return SK_EHTTP_BAD_REQUEST; /* unterminated */
	*value = (struct sk_slice){ start, (size_t)(ps->p - start) };
	ps->p++;
	return 0;
}

/* The next parameter: 1 with *out filled, 0 at the end, or an error. A
 * trailing ';' is tolerated. OWS around '=' is not in RFC 9110's grammar
 * but costs nothing to accept. */
static int next_param(struct params *ps, struct param *out)
{
	skip_ows(ps);
	if (ps->p == ps->end)
		return 0;
	if (*ps->p != ';')
		return SK_EHTTP_BAD_REQUEST;
	ps->p++;
	skip_ows(ps);
	if (ps->p == ps->end)
		return 0;
	out->name = take_token(ps);
	if (out->name.len == 0)
		return SK_EHTTP_BAD_REQUEST;
	skip_ows(ps);
	if (ps->p == ps->end || *ps->p != '=')
		return SK_EHTTP_BAD_REQUEST;
	ps->p++;
	skip_ows(ps);
	out->is_quoted = ps->p < ps->end && *ps->p == '"';
	if (out->is_quoted) {
		ps->p++;
		int err = take_quoted(ps, &out->value);
		return err ? err : 1;
	}
	out->value = take_token(ps);
	return out->value.len ? 1 : SK_EHTTP_BAD_REQUEST;
}

int sk_multipart_boundary(struct sk_slice content_type, struct sk_slice *boundary)
{
	static const char type[] = "multipart/form-data";
	struct params ps = { content_type.p, content_type.p + content_type.len };
	skip_ows(&ps);
	size_t n = sizeof type - 1;
	if ((size_t)(ps.end - ps.p) < n || strncasecmp(ps.p, type, n) != 0)
		return SK_EHTTP_BAD_REQUEST;
	ps.p += n;
	if (ps.p < ps.end && !is_ows(*ps.p) && *ps.p != ';')
		return SK_EHTTP_BAD_REQUEST; /* "multipart/form-datax" */

	struct sk_slice found = { NULL, 0 };
	struct param prm;
	int r;
	while ((r = next_param(&ps, &prm)) == 1) {
		if (!sk__http_slice_ieq(prm.name, "boundary"))
			continue;
		/* Two boundaries: which one a proxy used is anyone's guess. */
		if (found.p)
			return SK_EHTTP_BAD_REQUEST;
		found = prm.value;
	}
	if (r < 0 || !found.p || check_boundary(found) < 0)
		return SK_EHTTP_BAD_REQUEST;
	*boundary = found;
	return 0;
}

int sk_multipart_init(struct sk_multipart *m, struct sk_slice boundary,
                      const struct sk_multipart_handler *h, void *ud)
{
	assert(m && h);
	if (check_boundary(boundary) < 0)
		return SK_EHTTP_BAD_REQUEST;
	m->h = h;
	m->ud = ud;
	memcpy(m->delim, "\r\n--", 4);
	memcpy(m->delim + 4, boundary.p, boundary.len);
	m->delim_len = boundary.len + 4;
	m->state = ST_PREAMBLE;
	/* RFC 2046 §5.1.1: the first boundary may open the body without a CRLF
	 * before it. Counting a CRLF as already matched finds it there too. */
	m->match = 2;
	m->hdr_len = 0;
	m->line_start = 0;
	m->in_part = false;
	m->done = false;
	m->err = 0;
	return 0;
}

/* --- calling the handler --- */

/* Only a negative result stops the parse; anything else means go on. */
static int handler_result(int r)
{
	return r < 0 ? r : 0;
}

static int emit_data(struct sk_multipart *m, const char *p, size_t len)
{
	if (m->state != ST_DATA || len == 0 || !m->h->on_data)
		return 0;
	return handler_result(m->h->on_data(m->ud, p, len));
}

static int end_part(struct sk_multipart *m)
{
	if (!m->in_part)
		return 0;
	m->in_part = false;
	return m->h->on_part_end ? handler_result(m->h->on_part_end(m->ud)) : 0;
}

/* --- Content-Disposition: form-data; name="field"; filename="a.txt" --- */

/* Undoes a quoted-string's escapes in place (the value lies in m->hdr).
 * Only \" and \\ are escapes: old IE sends Windows paths with single
 * backslashes, which a strict RFC 9110 reading would eat. */
static struct sk_slice unquote(struct sk_multipart *m, struct param prm)
{
	if (!prm.is_quoted)
		return prm.value;
	char *s = m->hdr + (prm.value.p - m->hdr);
	size_t w = 0;
	for (size_t i = 0; i < prm.value.len; i++) {
		if (s[i] == '\\' && i + 1 < prm.value.len && (s[i + 1] == '"' || s[i + 1] == '\\'))
			i++;
		s[w++] = s[i];
	}
	return (struct sk_slice){ s, w };
}

/* RFC 5987 ext-value, charset "'" [ language ] "'" value-chars, decoded
 * in place: 0 with *out set, or -1 for one we do not decode (quoted,
 * another charset, a bad %XX), which the caller then ignores. */
static int decode_ext_value(struct sk_multipart *m, struct param prm, struct sk_slice *out)
{
	if (prm.is_quoted)
		return -1;
	const char *v = prm.value.p;
	size_t n = prm.value.len;
	const char *q1 = memchr(v, '\'', n);
	if (!q1 || !sk__http_slice_ieq((struct sk_slice){ v, (size_t)(q1 - v) }, "utf-8"))
		return -1;
	const char *q2 = memchr(q1 + 1, '\'', n - (size_t)(q1 + 1 - v));
	if (!q2)
		return -1;
	size_t start = (size_t)(q2 + 1 - v);
	char *s = m->hdr + (v - m->hdr);
	size_t w = start;
	for (size_t i = start; i < n; i++) {
		if (s[i] != '%') {
			s[w++] = s[i];
			continue;
		}
		int hi = i + 2 < n ? sk__hex_value((unsigned char)s[i + 1]) : -1;
		int lo = hi >= 0 ? sk__hex_value((unsigned char)s[i + 2]) : -1;
		if (lo < 0)
			return -1;
		s[w++] = (char)(hi << 4 | lo);
		i += 2;
	}
	*out = (struct sk_slice){ s + start, w - start };
	return 0;
}

struct disposition {
	struct sk_slice name, filename, ext_filename;
	bool has_ext_filename;
};

/* Parses a Content-Disposition value. A repeated parameter is an error,
 * as an intermediary may have read the other copy. */
static int parse_disposition(struct sk_multipart *m, struct sk_slice value, struct disposition *d)
{
	struct params ps = { value.p, value.p + value.len };
	struct sk_slice type = take_token(&ps);
	/* RFC 7578 §4.2: "form-data" is the only type a form part has. */
	if (!sk__http_slice_ieq(type, "form-data"))
		return SK_EHTTP_BAD_REQUEST;
	struct param prm;
	int r;
	while ((r = next_param(&ps, &prm)) == 1) {
		if (sk__http_slice_ieq(prm.name, "name")) {
			if (d->name.p)
				return SK_EHTTP_BAD_REQUEST;
			d->name = unquote(m, prm);
		} else if (sk__http_slice_ieq(prm.name, "filename")) {
			if (d->filename.p)
				return SK_EHTTP_BAD_REQUEST;
			d->filename = unquote(m, prm);
		} else if (sk__http_slice_ieq(prm.name, "filename*")) {
			if (d->has_ext_filename)
				return SK_EHTTP_BAD_REQUEST;
			d->has_ext_filename = true;
			/* Left NULL when not decoded: filename then stands. */
			decode_ext_value(m, prm, &d->ext_filename);
		}
	}
	if (r < 0)
		return r;
	/* RFC 7578 §4.2: each part MUST name its field. */
	return d->name.p ? 0 : SK_EHTTP_BAD_REQUEST;
}

/* --- part header sections --- */

/* field-name ":" OWS field-value OWS, CRLF already cut off. A line that
 * starts with whitespace is obs-fold, which RFC 9112 §5.2 retired, and
 * whitespace before the colon is refused as in requests (§5.1). */
static int check_header_line(const char *line, size_t n)
{
	struct sk_http_header unused;
	return sk__http_field_line(line, n, true, &unused) ? SK_EHTTP_BAD_REQUEST : 0;
}

/* The section is complete and every line checked: find the one
 * Content-Disposition and open the part. */
static int begin_part(struct sk_multipart *m)
{
	struct disposition d = { { NULL, 0 }, { NULL, 0 }, { NULL, 0 }, false };
	bool seen = false;
	size_t at = 0;
	while (at < m->hdr_len - 2) {
		const char *line = m->hdr + at;
		const char *crlf = memchr(line, '\r', m->hdr_len - at);
		size_t n = (size_t)(crlf - line);
		at += n + 2;
		const char *colon = memchr(line, ':', n);
		if (!sk__http_slice_ieq((struct sk_slice){ line, (size_t)(colon - line) }, "content-disposition"))
			continue;
		if (seen)
			return SK_EHTTP_BAD_REQUEST;
		seen = true;
		const char *v = colon + 1, *end = line + n;
		while (v < end && is_ows(*v))
			v++;
		while (end > v && is_ows(end[-1]))
			end--;
		int err = parse_disposition(m, (struct sk_slice){ v, (size_t)(end - v) }, &d);
		if (err)
			return err;
	}
	if (!seen)
		return SK_EHTTP_BAD_REQUEST;
	/* RFC 6266 §4.3: filename* is preferred when the recipient decodes it. */
	struct sk_slice filename = d.ext_filename.p ? d.ext_filename : d.filename;
	m->state = ST_DATA;
	m->match = 0;
	m->in_part = true;
	return m->h->on_part ? handler_result(m->h->on_part(m->ud, d.name, filename)) : 0;
}

/* A line ends at hdr[hdr_len - 1], an LF. */
static int end_header_line(struct sk_multipart *m)
{
	size_t n = m->hdr_len - m->line_start;
	const char *line = m->hdr + m->line_start;
	/* RFC 2046 §5.1.1 and RFC 5322 §2.2: lines end in CRLF; a bare LF
	 * would let two parsers disagree about where a header ends. */
	if (n < 2 || line[n - 2] != '\r')
		return SK_EHTTP_BAD_REQUEST;
	if (n == 2)
		return begin_part(m);
	m->line_start = m->hdr_len;
	return check_header_line(line, n - 2);
}

/* --- one function per state: each consumes from p[*i..len) --- */

static int step_headers(struct sk_multipart *m, const char *p, size_t len, size_t *i)
{
	const char *start = p + *i;
	size_t avail = len - *i;
	const char *lf = memchr(start, '\n', avail);
	size_t n = lf ? (size_t)(lf - start) + 1 : avail;
	if (n > sizeof m->hdr - m->hdr_len)
		return SK_EHTTP_BAD_REQUEST; /* past SK_MULTIPART_HEADERS_MAX */
	memcpy(m->hdr + m->hdr_len, start, n);
	m->hdr_len += n;
	*i += n;
	return lf ? end_header_line(m) : 0;
}

static int found_delim(struct sk_multipart *m, size_t *i, size_t at)
{
	*i = at;
	m->match = 0;
	m->state = ST_AFTER_DELIM;
	return 0;
}

/* ST_PREAMBLE and ST_DATA: look for the delimiter, passing what precedes
 * it to on_data (in ST_DATA) in as few calls as the input allows. */
static int step_scan(struct sk_multipart *m, const char *p, size_t len, size_t *i)
{
	size_t at = *i;
	if (m->match) {
		/* A prefix held from the last call: go on matching it. */
		while (at < len && m->match < m->delim_len && p[at] == m->delim[m->match]) {
			at++;
			m->match++;
		}
		if (m->match == m->delim_len)
			return found_delim(m, i, at);
		if (at == len) {
			*i = at;
			return 0;
		}
		/* Not a delimiter: the held bytes are data. They are "\r\n--" and a
		 * boundary prefix, with no CR after the first byte, so no
		 * delimiter can begin inside them: resume at the mismatch. */
		size_t held = m->match;
		m->match = 0;
		int err = emit_data(m, m->delim, held);
		if (err)
			return err;
	}
	size_t run = at;
	for (;;) {
		const char *cr = memchr(p + at, '\r', len - at);
		if (!cr)
			break;
		size_t pos = (size_t)(cr - p);
		size_t n = 1;
		while (pos + n < len && n < m->delim_len && p[pos + n] == m->delim[n])
			n++;
		if (n == m->delim_len) {
			int err = emit_data(m, p + run, pos - run);
			return err ? err : found_delim(m, i, pos + n);
		}
		if (pos + n == len) {
			/* The input ends inside a possible delimiter: hold it back. */
			m->match = n;
			*i = len;
			return emit_data(m, p + run, pos - run);
		}
		/* The n bytes matched hold no other CR: skip them. */
		at = pos + n;
	}
	*i = len;
	return emit_data(m, p + run, len - run);
}

static int step_after_delim(struct sk_multipart *m, const char *p, size_t len, size_t *i)
{
	(void)len;
	if (p[*i] == '-') {
		++*i;
		m->state = ST_CLOSE_DASH;
	} else {
		m->state = ST_PADDING;
	}
	return 0;
}

static int step_close_dash(struct sk_multipart *m, const char *p, size_t len, size_t *i)
{
	(void)len;
	if (p[(*i)++] != '-')
		return SK_EHTTP_BAD_REQUEST;
	m->state = ST_EPILOGUE;
	m->done = true;
	return end_part(m);
}

/* RFC 2046 §5.1.1 transport-padding: LWSP a gateway may have added. */
static int step_padding(struct sk_multipart *m, const char *p, size_t len, size_t *i)
{
	while (*i < len && is_ows(p[*i]))
		++*i;
	if (*i == len)
		return 0;
	/* "--boundaryX": a longer line that starts with the boundary. The
	 * sender had to pick a boundary its data lacks, so this body is bad. */
	if (p[(*i)++] != '\r')
		return SK_EHTTP_BAD_REQUEST;
	m->state = ST_DELIM_LF;
	return 0;
}

static int step_delim_lf(struct sk_multipart *m, const char *p, size_t len, size_t *i)
{
	(void)len;
	if (p[(*i)++] != '\n')
		return SK_EHTTP_BAD_REQUEST;
	m->state = ST_HEADERS;
	m->hdr_len = 0;
	m->line_start = 0;
	return end_part(m);
}

static int step_epilogue(struct sk_multipart *m, const char *p, size_t len, size_t *i)
{
	(void)m;
	(void)p;
	*i = len;
	return 0;
}

typedef int step_fn(struct sk_multipart *m, const char *p, size_t len, size_t *i);

static step_fn *const steps[] = {
	[ST_PREAMBLE] = step_scan,
	[ST_AFTER_DELIM] = step_after_delim,
	[ST_CLOSE_DASH] = step_close_dash,
	[ST_PADDING] = step_padding,
	[ST_DELIM_LF] = step_delim_lf,
	[ST_HEADERS] = step_headers,
	[ST_DATA] = step_scan,
	[ST_EPILOGUE] = step_epilogue,
};

int sk_multipart_feed(struct sk_multipart *m, const char *p, size_t len)
{
	if (m->state == ST_FAILED)
		return m->err;
	size_t i = 0;
	while (i < len) {
		int err = steps[m->state](m, p, len, &i);
		if (err) {
			m->state = ST_FAILED;
			m->err = err;
			return err;
		}
	}
	return 0;
}

int sk_multipart_finish(struct sk_multipart *m)
{
	if (m->state == ST_FAILED)
		return m->err;
	return m->done ? 0 : SK_EHTTP_BAD_REQUEST;
}
