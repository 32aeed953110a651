/* Small HTTP pieces the server needs: dates, media types, request paths,
 * ranges and validators. Each is a pure function of its arguments. */
#include <sockit/err.h>
#include <sockit/http_parse.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/base_internal.h"
#include "http/http_internal.h"

static const char *const day_names[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const month_names[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

void sk__http_format_date(time_t t, char *buf)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	/* Not strftime: its names follow the locale, HTTP's are fixed English. */
	snprintf(buf, HTTP_DATE_LEN, "%s, %02d %s %04d %02d:%02d:%02d GMT", day_names[tm.tm_wday],
	         tm.tm_mday, month_names[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
	         tm.tm_sec);
}

static int month_index(const char *m)
{
	for (int i = 0; i < 12; i++)
		if (strncmp(m, month_names[i], 3) == 0)
			return i;
	return -1;
}

bool sk__http_parse_date(struct sk_slice s, time_t *out)
{
	char text[64], wday[16], mon[4];
	if (s.len == 0 || s.len >= sizeof text)
		return false;
	memcpy(text, s.p, s.len);
	text[s.len] = '\0';
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	int n = 0, year = 0;
	/* IMF-fixdate, then the obsolete RFC 850 and asctime forms. */
	if (sscanf(text, "%3s, %2d %3s %4d %2d:%2d:%2d GMT%n", wday, &tm.tm_mday, mon, &year,
	           &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) == 7 && (size_t)n == s.len) {
	} else if (sscanf(text, "%15[A-Za-z], %2d-%3s-%2d %2d:%2d:%2d GMT%n", wday, &tm.tm_mday, mon,
	                  &year, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) == 7 && (size_t)n == s.len) {
		year += year < 70 ? 2000 : 1900;
	} else if (sscanf(text, "%3s %3s %2d %2d:%2d:%2d %4d%n", wday, mon, &tm.tm_mday, &tm.tm_hour,
	                  &tm.tm_min, &tm.tm_sec, &year, &n) == 7 && (size_t)n == s.len) {
	} else {
		return false;
	}
	tm.tm_mon = month_index(mon);
	if (tm.tm_mon < 0 || year < 1970 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
	    tm.tm_min > 59 || tm.tm_sec > 60)
		return false;
	tm.tm_year = year - 1900;
	*out = timegm(&tm);
	return true;
}

/* Extension → media type. Text types carry a charset so browsers do not
 * guess; binary ones never do. */
static const struct {
	const char *ext, *type;
} media_types[] = {
	{ "html", "text/html; charset=utf-8" },   { "htm", "text/html; charset=utf-8" },
	{ "css", "text/css; charset=utf-8" },     { "js", "text/javascript; charset=utf-8" },
	{ "mjs", "text/javascript; charset=utf-8" },
	{ "json", "application/json" },            { "map", "application/json" },
	{ "txt", "text/plain; charset=utf-8" },   { "md", "text/markdown; charset=utf-8" },
	{ "csv", "text/csv; charset=utf-8" },     { "xml", "application/xml" },
	{ "svg", "image/svg+xml" },                { "png", "image/png" },
	{ "jpg", "image/jpeg" },                   { "jpeg", "image/jpeg" },
	{ "gif", "image/gif" },                    { "webp", "image/webp" },
	{ "avif", "image/avif" },                  { "ico", "image/vnd.microsoft.icon" },
	{ "bmp", "image/bmp" },                    { "wasm", "application/wasm" },
	{ "pdf", "application/pdf" },              { "zip", "application/zip" },
	{ "gz", "application/gzip" },              { "tgz", "application/gzip" },
	{ "tar", "application/x-tar" },            { "xz", "application/x-xz" },
	{ "bz2", "application/x-bzip2" },          { "zst", "application/zstd" },
	{ "mp4", "video/mp4" },                    { "webm", "video/webm" },
	{ "ogg", "audio/ogg" },                    { "mp3", "audio/mpeg" },
	{ "wav", "audio/wav" },                    { "woff", "font/woff" },
	{ "woff2", "font/woff2" },                 { "ttf", "font/ttf" },
	{ "otf", "font/otf" },                     { "c", "text/plain; charset=utf-8" },
	{ "h", "text/plain; charset=utf-8" },     { "py", "text/plain; charset=utf-8" },
	{ "sh", "text/plain; charset=utf-8" },    { "log", "text/plain; charset=utf-8" },
};

const char *sk__http_content_type(const char *name, size_t len)
{
	const char *dot = NULL;
	for (size_t i = len; i > 0; i--) {
		if (name[i - 1] == '.') {
			dot = name + i;
			break;
		}
		if (name[i - 1] == '/')
			break;
	}
	if (dot) {
		size_t ext_len = len - (size_t)(dot - name);
		for (size_t i = 0; i < sizeof media_types / sizeof media_types[0]; i++)
			if (strlen(media_types[i].ext) == ext_len &&
			    strncasecmp(media_types[i].ext, dot, ext_len) == 0)
				return media_types[i].type;
	}
	return "application/octet-stream";
}

static int fail(const char **why, const char *text)
{
	*why = text;
	return SK_EHTTP_BAD_REQUEST;
}

/* Appends one decoded segment to out->rel, resolving "." and "..". */
static int push_segment(struct http_path *out, const char *seg, size_t n, const char **why)
{
	if (n == 0 || (n == 1 && seg[0] == '.'))
		return 0;
	if (n == 2 && seg[0] == '.' && seg[1] == '.') {
		/* ".." drops the last segment; there is none above the root. */
		if (out->len == 0)
			return fail(why, "path climbs above the root");
		while (out->len > 0 && out->rel[out->len - 1] != '/')
			out->len--;
		if (out->len > 0)
			out->len--; /* the '/' before it */
		return 0;
	}
	if (out->len + n + 2 > sizeof out->rel) {
		*why = "path too long";
		return SK_EHTTP_URI_TOO_LONG;
	}
	if (out->len)
		out->rel[out->len++] = '/';
	memcpy(out->rel + out->len, seg, n);
	out->len += n;
	return 0;
}

int sk__http_decode_path(struct sk_slice target, struct http_path *out, const char **why)
{
	const char *p = target.p, *end = target.p + target.len;
	memset(out, 0, sizeof *out);
	/* absolute-form: "http://host/path" (RFC 9112 §3.2.2 says servers
	 * must accept it); the path is what follows the authority. */
	if (target.len > 7 && strncasecmp(p, "http://", 7) == 0) {
		p = memchr(p + 7, '/', (size_t)(end - p - 7));
		if (!p)
			p = end;
	} else if (p == end || *p != '/') {
		return fail(why, "request target is not a path");
	}
	const char *q = memchr(p, '?', (size_t)(end - p));
	const char *frag = memchr(p, '#', (size_t)(end - p));
	const char *path_end = q ? q : end;
	if (frag && frag < path_end)
		path_end = frag;
	if (q)
		out->query = (struct sk_slice){ q + 1, (size_t)((frag && frag > q ? frag : end) - q - 1) };

	char seg[HTTP_PATH_MAX];
	size_t seg_len = 0;
	for (const char *s = p; s <= path_end; s++) {
		if (s == path_end || *s == '/') {
			if (seg_len && seg[0] == '.' && !(seg_len <= 2 && (seg_len == 1 || seg[1] == '.')))
				out->has_dot_segment = true;
			int err = push_segment(out, seg, seg_len, why);
			if (err)
				return err;
			seg_len = 0;
			continue;
		}
		char c = *s;
		if (c == '%') {
			int hi = s + 2 < path_end ? sk__hex_value((unsigned char)s[1]) : -1;
			int lo = hi >= 0 ? sk__hex_value((unsigned char)s[2]) : -1;
			if (lo < 0)
				return fail(why, "malformed percent-escape");
			c = (char)(hi << 4 | lo);
			s += 2;
			/* Decoded once: "%2F" must not become a separator, and a NUL
			 * would cut the path short in every system call. */
			if (c == '\0')
				return fail(why, "encoded NUL in the path");
			if (c == '/')
				return fail(why, "encoded '/' in the path");
		}
		if (seg_len + 1 >= sizeof seg) {
			*why = "path too long";
			return SK_EHTTP_URI_TOO_LONG;
		}
		seg[seg_len++] = c;
	}
	/* "/sub/." and "/a/.." end in a directory form too: their relative
	 * links resolve against "/sub/", so no redirect is needed (or right). */
	const char *last_seg = path_end;
	while (last_seg > p && last_seg[-1] != '/')
		last_seg--;
	size_t last_len = (size_t)(path_end - last_seg);
	bool dot_end = (last_len == 1 && last_seg[0] == '.') ||
	               (last_len == 2 && last_seg[0] == '.' && last_seg[1] == '.');
	out->trailing_slash = (path_end > p && path_end[-1] == '/') || dot_end;
	out->rel[out->len] = '\0';
	const char *slash = memrchr(out->rel, '/', out->len);
	const char *last = slash ? slash + 1 : out->rel;
	out->last = (struct sk_slice){ last, out->len - (size_t)(last - out->rel) };
	return 0;
}

static bool parse_u64(const char *p, size_t n, uint64_t *out)
{
	if (n == 0 || n > 19)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	*out = v;
	return true;
}

int sk__http_parse_range(struct sk_slice value, uint64_t size, uint64_t *first, uint64_t *last)
{
	if (value.len < 6 || strncasecmp(value.p, "bytes=", 6) != 0)
		return 0;
	const char *p = value.p + 6;
	size_t n = value.len - 6;
	while (n && (*p == ' ' || *p == '\t'))
		p++, n--;
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	/* Several ranges would need multipart/byteranges; RFC 9110 §14.2 lets
	 * a server ignore Range instead, and the whole file is always right. */
	if (memchr(p, ',', n))
		return 0;
	const char *dash = memchr(p, '-', n);
	if (!dash)
		return 0;
	size_t a_len = (size_t)(dash - p), b_len = n - a_len - 1;
	uint64_t a, b;
	if (a_len == 0) {
		/* "-n": the last n bytes. */
		if (!parse_u64(dash + 1, b_len, &b))
			return 0;
		if (b == 0 || size == 0)
			return -1;
		*first = b >= size ? 0 : size - b;
		*last = size - 1;
		return 1;
	}
	if (!parse_u64(p, a_len, &a))
		return 0;
	if (b_len == 0) {
		b = UINT64_MAX; /* "a-": to the end */
	} else if (!parse_u64(dash + 1, b_len, &b) || b < a) {
		return 0;
	}
	if (a >= size)
		return -1;
	*first = a;
	*last = b >= size ? size - 1 : b;
	return 1;
}

size_t sk__http_format_etag(const struct stat *st, char *buf)
{
	uint64_t ns = (uint64_t)st->st_mtim.tv_sec * 1000000000u + (uint64_t)st->st_mtim.tv_nsec;
	return (size_t)snprintf(buf, 48, "\"%" PRIx64 "-%" PRIx64 "\"", ns, (uint64_t)st->st_size);
}

/* Does one line of If-Match or If-None-Match name the representation? */
static bool list_matches(struct sk_slice list, const struct http_validators *v, bool strong)
{
	size_t etag_len = v->etag ? strlen(v->etag) : 0;
	size_t i = 0;
	while (i < list.len) {
		while (i < list.len && (list.p[i] == ' ' || list.p[i] == '\t' || list.p[i] == ','))
			i++;
		size_t start = i;
		while (i < list.len && list.p[i] != ',')
			i++;
		size_t end = i;
		while (end > start && (list.p[end - 1] == ' ' || list.p[end - 1] == '\t'))
			end--;
		const char *tag = list.p + start;
		size_t len = end - start;
		if (len == 1 && tag[0] == '*') {
			if (v->exists)
				return true;
			continue;
		}
		if (len > 2 && tag[0] == 'W' && tag[1] == '/') {
			if (strong)
				continue; /* RFC 9110 §8.8.3.2: weak tags never match strongly */
			tag += 2;
			len -= 2;
		}
		if (v->etag && len == etag_len && memcmp(tag, v->etag, len) == 0)
			return true;
	}
	return false;
}

/* Is the condition in the `name` field lines true? *present says whether
 * there are any. */
static bool field_matches(const struct sk_http_request *req, const char *name,
                          const struct http_validators *v, bool strong, bool *present)
{
	*present = false;
	for (size_t i = 0; i < req->n_headers; i++) {
		const struct sk_http_header *h = &req->headers[i];
		if (h->name.len != strlen(name) || strncasecmp(h->name.p, name, h->name.len) != 0)
			continue;
		*present = true;
		if (list_matches(h->value, v, strong))
			return true;
	}
	return false;
}

/* The date in the first `name` field, if it has one that parses. */
static bool field_date(const struct sk_http_request *req, const char *name, time_t *out)
{
	const struct sk_http_header *h = sk_http_find_header(req, name);
	return h && sk__http_parse_date(h->value, out);
}

int sk__http_preconditions(const struct sk_http_request *req, bool is_get_or_head,
                       const struct http_validators *v)
{
	bool present;
	time_t when;
	/* Steps 1-2: the state the client last saw must still be there. */
	if (!field_matches(req, "If-Match", v, true, &present) && present)
		return 412;
	if (!present && v->has_mtime && field_date(req, "If-Unmodified-Since", &when) &&
	    v->mtime > when)
		return 412;
	/* Steps 3-4: the client's copy is current (GET, HEAD) or must not be
	 * replaced ("If-None-Match: *" on PUT creates only). */
	if (field_matches(req, "If-None-Match", v, false, &present))
		return is_get_or_head ? 304 : 412;
	if (!present && is_get_or_head && v->has_mtime &&
	    field_date(req, "If-Modified-Since", &when) && v->mtime <= when)
		return 304;
	return 0;
}

int sk__http_write_preconditions(const struct sk_http_request *req, const struct stat *st)
{
	char etag[48];
	struct http_validators v = { .exists = st != NULL };
	if (st && S_ISREG(st->st_mode)) {
		sk__http_format_etag(st, etag);
		v.etag = etag;
		v.has_mtime = true;
		v.mtime = st->st_mtime;
	}
	return sk__http_preconditions(req, false, &v);
}
