/* Directory listings: one HTML page and one JSON document per directory.
 *
 * A file name is any bytes but '/' and NUL, so it is hostile input: it can
 * hold markup, quotes, '#', '?', '%', newlines and bytes that are not UTF-8.
 * Each output context gets its own encoding, chosen so that nothing in a name
 * can escape its context and the exact bytes still reach the server again:
 *   href, data-href   percent-encoded, every byte but RFC 3986 unreserved;
 *   HTML text, attrs  & < > " ' as entities, bad UTF-8 as U+FFFD;
 *   JSON strings      " \ and controls escaped, bad UTF-8 as \ufffd.
 * JavaScript never sees a name spliced into code: the delete script reads
 * data- attributes. */
#include <sockit/err.h>
#include <sockit/http_listing.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every append goes through a writer that remembers the first error and
 * ignores what follows, so the page builders read as a straight list of
 * pieces; the error is checked once at the end. */
struct writer {
	struct sk_buf *buf;
	size_t start_len; /* out->len on entry: restored on failure */
	int err;
};

static void writer_init(struct writer *w, struct sk_buf *out)
{
	w->buf = out;
	w->start_len = out->len;
	w->err = 0;
}

static void put(struct writer *w, const void *p, size_t len)
{
	if (!w->err && len)
		w->err = sk_buf_append(w->buf, p, len);
}

static void put_str(struct writer *w, const char *s)
{
	put(w, s, strlen(s));
}

/* A failed call leaves out as it found it: a half-written page must never
 * be sent as if it were whole. Truncating only lowers len, so the bytes and
 * the allocation stay valid. */
static int writer_finish(struct writer *w)
{
	if (w->err)
		w->buf->len = w->start_len;
	return w->err;
}

/* ---- encodings ---- */

/* RFC 3986 §2.3 unreserved: the only bytes that mean the same raw or
 * encoded everywhere in a URL. Everything else is %XX, which also keeps
 * '.' and ':' harmless: "a:b" stays a relative path, not a scheme. */
static bool is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '.' || c == '_' || c == '~';
}

static void put_url_encoded(struct writer *w, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t run = 0; /* start of the pending run of unreserved bytes */
	if (!len)
		return; /* s may be NULL: even NULL + 0 is undefined */
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (is_unreserved(c))
			continue;
		put(w, s + run, i - run);
		char esc[3] = { '%', hex[c >> 4], hex[c & 15] };
		put(w, esc, sizeof esc);
		run = i + 1;
	}
	put(w, s + run, len - run);
}

/* Length of the well-formed UTF-8 sequence at s (Unicode 15 table 3-7: no
 * overlongs, no surrogates, nothing above U+10FFFF), or 0 with *bad set to
 * the length of its maximal ill-formed subpart. One U+FFFD per maximal
 * subpart is the Unicode recommendation (§3.9), and what browsers and
 * Python's errors="replace" do. */
static size_t utf8_len(const unsigned char *s, size_t len, size_t *bad)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xBF;
	size_t more;
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		more = 1;
	} else if (c >= 0xE0 && c <= 0xEF) {
		more = 2;
		if (c == 0xE0)
			lo = 0xA0; /* overlong */
		else if (c == 0xED)
			hi = 0x9F; /* surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		more = 3;
		if (c == 0xF0)
			lo = 0x90; /* overlong */
		else if (c == 0xF4)
			hi = 0x8F; /* above U+10FFFF */
	} else {
		*bad = 1;
		return 0;
	}
	for (size_t i = 1; i <= more; i++) {
		if (i >= len || s[i] < lo || s[i] > hi) {
			*bad = i;
			return 0;
		}
		lo = 0x80;
		hi = 0xBF;
	}
	return more + 1;
}

/* The HTML replacement for one byte, or NULL to keep it. Controls become
 * their Control Pictures (U+2400 + c, DEL U+2421): the spec makes them
 * parse errors, CR would be read back as LF, and a newline shown as a space
 * would pass "a\nb" off as "a b". */
static const char *html_entity(unsigned char c, char pic[4])
{
	switch (c) {
	case '&': return "&amp;";
	case '<': return "&lt;";
	case '>': return "&gt;";
	case '"': return "&quot;";
	case '\'': return "&#39;";
	}
	if (c < 0x20 || c == 0x7F) {
		pic[0] = '\xE2';
		pic[1] = '\x90';
		pic[2] = (char)(c == 0x7F ? 0xA1 : 0x80 + c);
		pic[3] = '\0';
		return pic;
	}
	return NULL;
}

#define REPLACEMENT_UTF8 "\xEF\xBF\xBD" /* U+FFFD */

static void put_html_escaped(struct writer *w, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t run = 0, i = 0;
	if (!len)
		return; /* s may be NULL: even NULL + 0 is undefined */
	while (i < len) {
		size_t bad = 0, n = utf8_len(u + i, len - i, &bad);
		char pic[4];
		const char *rep = n == 1 ? html_entity(u[i], pic) : n ? NULL : REPLACEMENT_UTF8;
		if (!rep) {
			i += n;
			continue;
		}
		put(w, s + run, i - run);
		put_str(w, rep);
		i += n ? n : bad;
		run = i;
	}
	put(w, s + run, len - run);
}

/* RFC 8259 §7: '"', '\' and U+0000..U+001F must be escaped; nothing else
 * needs to be. Bad UTF-8 would make the whole document unparseable, so it
 * becomes \ufffd. */
static void put_json_string(struct writer *w, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t run = 0, i = 0;
	put(w, "\"", 1);
	while (i < len) {
		size_t bad = 0, n = utf8_len(u + i, len - i, &bad);
		unsigned char c = u[i];
		if (n > 1 || (n == 1 && c >= 0x20 && c != '"' && c != '\\')) {
			i += n;
			continue;
		}
		put(w, s + run, i - run);
		if (n == 0) {
			put_str(w, "\\ufffd");
		} else if (c == '"' || c == '\\') {
			char esc[2] = { '\\', (char)c };
			put(w, esc, sizeof esc);
		} else if (c == '\n') {
			put_str(w, "\\n");
		} else if (c == '\t') {
			put_str(w, "\\t");
		} else if (c == '\r') {
			put_str(w, "\\r");
		} else {
			char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
			put(w, esc, sizeof esc);
		}
		i += n ? n : bad;
		run = i;
	}
	if (len)
		put(w, s + run, len - run);
	put(w, "\"", 1);
}

int sk_url_encode(struct sk_buf *out, const char *s, size_t len)
{
	struct writer w;
	writer_init(&w, out);
	put_url_encoded(&w, s, len);
	return writer_finish(&w);
}

int sk_html_escape(struct sk_buf *out, const char *s, size_t len)
{
	struct writer w;
	writer_init(&w, out);
	put_html_escaped(&w, s, len);
	return writer_finish(&w);
}

/* ---- query and sorting ---- */

static const char *const sort_names[] = { "name", "size", "date" };
#define N_SORTS (sizeof sort_names / sizeof sort_names[0])

static bool slice_is(struct sk_slice s, const char *lit)
{
	size_t len = strlen(lit);
	return s.len == len && memcmp(s.p, lit, len) == 0;
}

static void apply_query_pair(struct sk_slice key, struct sk_slice val, struct sk_listing_opts *opts)
{
	if (slice_is(key, "sort")) {
		for (size_t i = 0; i < N_SORTS; i++)
			if (slice_is(val, sort_names[i]))
				opts->sort = (enum sk_listing_sort)i;
	} else if (slice_is(key, "order")) {
		if (slice_is(val, "asc"))
			opts->descending = false;
		else if (slice_is(val, "desc"))
			opts->descending = true;
	}
}

void sk_listing_opts_from_query(struct sk_slice query, struct sk_listing_opts *opts)
{
	if (!query.len)
		return; /* query.p may be NULL: even NULL + 0 is undefined */
	const char *p = query.p, *end = query.p + query.len;
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *pair_end = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(pair_end - p));
		struct sk_slice key = { p, (size_t)((eq ? eq : pair_end) - p) };
		struct sk_slice val = { eq ? eq + 1 : pair_end, eq ? (size_t)(pair_end - eq - 1) : 0 };
		apply_query_pair(key, val, opts);
		p = amp ? amp + 1 : end;
	}
}

/* Directories first in both orders: a listing whose folders jump to the
 * bottom on "descending" is harder to use, and every peer keeps them on top.
 * Descending reverses the key only; equal keys stay in name order, so files
 * of the same size or second read alphabetically either way. */
static int compare_entries(const struct sk_listing_entry *a, const struct sk_listing_entry *b,
                           enum sk_listing_sort sort, bool descending)
{
	if (a->is_dir != b->is_dir)
		return a->is_dir ? -1 : 1;
	int key = 0;
	if (sort == SK_LISTING_BY_SIZE)
		key = (a->size > b->size) - (a->size < b->size);
	else if (sort == SK_LISTING_BY_DATE)
		key = (a->mtime > b->mtime) - (a->mtime < b->mtime);
	else
		key = strcmp(a->name, b->name); /* C11 7.24.4: compares as unsigned char */
	if (key)
		return descending ? -key : key;
	return strcmp(a->name, b->name);
}

/* qsort has no context argument (qsort_r differs between glibc and the
 * BSDs) and the library keeps no global state, so each sort and order gets
 * its own comparator. */
#define COMPARATOR(fn, sort, desc)                                  \
	static int fn(const void *a, const void *b)                     \
	{                                                               \
		return compare_entries(a, b, sort, desc);                   \
	}
COMPARATOR(by_name_asc, SK_LISTING_BY_NAME, false)
COMPARATOR(by_name_desc, SK_LISTING_BY_NAME, true)
COMPARATOR(by_size_asc, SK_LISTING_BY_SIZE, false)
COMPARATOR(by_size_desc, SK_LISTING_BY_SIZE, true)
COMPARATOR(by_date_asc, SK_LISTING_BY_DATE, false)
COMPARATOR(by_date_desc, SK_LISTING_BY_DATE, true)
#undef COMPARATOR

static int (*const comparators[N_SORTS][2])(const void *, const void *) = {
	[SK_LISTING_BY_NAME] = { by_name_asc, by_name_desc },
	[SK_LISTING_BY_SIZE] = { by_size_asc, by_size_desc },
	[SK_LISTING_BY_DATE] = { by_date_asc, by_date_desc },
};

static const struct sk_listing_opts default_opts = { SK_LISTING_BY_NAME, false, false, false };

void sk_listing_sort(struct sk_listing_entry *entries, size_t n, const struct sk_listing_opts *opts)
{
	if (!opts)
		opts = &default_opts;
	size_t sort = (size_t)opts->sort < N_SORTS ? (size_t)opts->sort : SK_LISTING_BY_NAME;
	if (n > 1)
		qsort(entries, n, sizeof *entries, comparators[sort][opts->descending]);
}

/* ---- sizes and times ---- */

/* "512 B", "1.2 KiB", "12 MiB": one decimal below 10 (as ls -h and du -h),
 * and never "1024 KiB": a value that would round to 1024 moves up a unit. */
static void format_size(char *s, size_t cap, uint64_t size)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	if (size < 1024) {
		snprintf(s, cap, "%" PRIu64 " B", size);
		return;
	}
	double v = (double)size;
	size_t u = 0;
	while (u + 1 < sizeof units / sizeof units[0] && v >= 1023.5) {
		v /= 1024;
		u++;
	}
	if (v < 9.95)
		snprintf(s, cap, "%.1f %s", v, units[u]);
	else
		snprintf(s, cap, "%.0f %s", v, units[u]);
}

/* gmtime_r fails only for times whose year does not fit in an int. */
static bool to_utc(time_t t, struct tm *tm)
{
	return gmtime_r(&t, tm) != NULL;
}

/* ---- HTML ---- */

/* Readable on a phone (viewport, long names wrap anywhere, sizes stay on one
 * line) and in a dark theme; no fonts, images or scripts from elsewhere. */
static const char html_head_style[] =
	"<style>\n"
	":root{color-scheme:light dark}\n"
	"body{font:16px/1.4 system-ui,sans-serif;max-width:60em;margin:0 auto;padding:0 .6em}\n"
	"h1{font-size:1.3em;overflow-wrap:anywhere}\n"
	"table{border-collapse:collapse;width:100%}\n"
	"th,td{padding:.35em .5em;text-align:left;vertical-align:top}\n"
	"th{border-bottom:1px solid;white-space:nowrap}\n"
	"th a{color:inherit}\n"
	"td:first-child{overflow-wrap:anywhere;word-break:break-all}\n"
	"tr.entry:hover{background:rgba(128,128,128,.15)}\n"
	".size{text-align:right;white-space:nowrap}\n"
	"#upload{margin:1em 0}\n"
	"</style>\n";

/* Runs on the page itself, so fetch resolves the relative data-href against
 * the listing's URL, whatever prefix the server sits under. The name only
 * travels through data- attributes: it is never spliced into code. */
static const char html_delete_script[] =
	"<script>\n"
	"document.getElementById(\"listing\").addEventListener(\"click\", function (e) {\n"
	"  var b = e.target.closest(\"button.delete\");\n"
	"  if (!b || !confirm(\"Delete \" + b.dataset.name + \"?\")) return;\n"
	"  fetch(b.dataset.href, {method: \"DELETE\"}).then(function (r) {\n"
	"    if (!r.ok) alert(\"Delete failed: \" + r.status + \" \" + r.statusText);\n"
	"    location.reload();\n"
	"  }, function (err) { alert(\"Delete failed: \" + err); });\n"
	"});\n"
	"</script>\n";

/* Without an action the form posts to the page's own URL; plain HTML, so
 * uploads work with JavaScript off. */
static const char html_upload_form[] =
	"<form id=\"upload\" method=\"post\" enctype=\"multipart/form-data\">\n"
	"<input type=\"file\" name=\"file\" multiple required>\n"
	"<button type=\"submit\">Upload</button>\n"
	"</form>\n";

static const char *const column_titles[N_SORTS] = { "Name", "Size", "Modified" };

/* A header cell whose link sorts by this column: ascending first, then
 * toggling while it is the current column. */
static void put_sort_header(struct writer *w, enum sk_listing_sort col,
                            const struct sk_listing_opts *opts)
{
	bool is_current = opts->sort == col;
	bool next_desc = is_current && !opts->descending;
	if (!is_current)
		put_str(w, "<th>");
	else if (opts->descending)
		put_str(w, "<th aria-sort=\"descending\">");
	else
		put_str(w, "<th aria-sort=\"ascending\">");
	put_str(w, "<a href=\"?sort=");
	put_str(w, sort_names[col]);
	put_str(w, next_desc ? "&amp;order=desc\">" : "&amp;order=asc\">");
	put_str(w, column_titles[col]);
	put_str(w, "</a>");
	if (is_current)
		put_str(w, opts->descending ? " \xE2\x96\xBC" : " \xE2\x96\xB2"); /* ▼ ▲ */
	put_str(w, "</th>");
}

static void put_size_cell(struct writer *w, const struct sk_listing_entry *e)
{
	if (e->is_dir) {
		put_str(w, "<td class=\"size\">-</td>");
		return;
	}
	char exact[40], human[32];
	snprintf(exact, sizeof exact, "%" PRIu64 " byte%s", e->size, e->size == 1 ? "" : "s");
	format_size(human, sizeof human, e->size);
	put_str(w, "<td class=\"size\" title=\"");
	put_str(w, exact);
	put_str(w, "\">");
	put_str(w, human);
	put_str(w, "</td>");
}

static void put_mtime_cell(struct writer *w, time_t mtime)
{
	struct tm tm;
	if (!to_utc(mtime, &tm)) {
		put_str(w, "<td class=\"mtime\">-</td>");
		return;
	}
	long long year = (long long)tm.tm_year + 1900;
	char iso[48], shown[48];
	snprintf(iso, sizeof iso, "%04lld-%02d-%02dT%02d:%02d:%02dZ", year, tm.tm_mon + 1, tm.tm_mday,
	         tm.tm_hour, tm.tm_min, tm.tm_sec);
	snprintf(shown, sizeof shown, "%04lld-%02d-%02d %02d:%02d", year, tm.tm_mon + 1, tm.tm_mday,
	         tm.tm_hour, tm.tm_min);
	put_str(w, "<td class=\"mtime\"><time datetime=\"");
	put_str(w, iso);
	put_str(w, "\">");
	put_str(w, shown);
	put_str(w, "</time></td>");
}

static void put_entry_row(struct writer *w, const struct sk_listing_entry *e,
                          const struct sk_listing_opts *opts)
{
	size_t len = strlen(e->name);
	put_str(w, "<tr class=\"entry\" data-type=\"");
	put_str(w, e->is_dir ? "dir" : "file");
	put_str(w, "\" data-name=\"");
	put_html_escaped(w, e->name, len);
	put_str(w, "\"><td><a href=\"");
	put_url_encoded(w, e->name, len);
	put_str(w, e->is_dir ? "/\">" : "\">");
	put_html_escaped(w, e->name, len);
	put_str(w, e->is_dir ? "/</a></td>" : "</a></td>");
	put_size_cell(w, e);
	put_mtime_cell(w, e->mtime);
	if (opts->can_delete) {
		/* Directories get none: the server deletes files only. */
		put_str(w, "<td>");
		if (!e->is_dir) {
			put_str(w, "<button type=\"button\" class=\"delete\" data-href=\"");
			put_url_encoded(w, e->name, len);
			put_str(w, "\" data-name=\"");
			put_html_escaped(w, e->name, len);
			put_str(w, "\">delete</button>");
		}
		put_str(w, "</td>");
	}
	put_str(w, "</tr>\n");
}

static bool is_root(struct sk_slice path)
{
	return path.len == 0 || (path.len == 1 && path.p[0] == '/');
}

int sk_listing_html(struct sk_buf *out, struct sk_slice path, const struct sk_listing_entry *entries,
                    size_t n, const struct sk_listing_opts *opts)
{
	if (!opts)
		opts = &default_opts;
	struct writer w;
	writer_init(&w, out);
	put_str(&w, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	            "<title>Index of ");
	put_html_escaped(&w, path.p, path.len);
	put_str(&w, "</title>\n");
	put_str(&w, html_head_style);
	put_str(&w, "</head>\n<body>\n<h1>Index of ");
	put_html_escaped(&w, path.p, path.len);
	put_str(&w, "</h1>\n");
	if (opts->can_upload)
		put_str(&w, html_upload_form);
	put_str(&w, "<table id=\"listing\">\n<thead><tr>");
	for (size_t col = 0; col < N_SORTS; col++)
		put_sort_header(&w, (enum sk_listing_sort)col, opts);
	if (opts->can_delete)
		put_str(&w, "<th></th>");
	put_str(&w, "</tr></thead>\n<tbody>\n");
	if (!is_root(path)) {
		put_str(&w, "<tr class=\"parent\"><td><a href=\"../\">../</a></td>"
		            "<td class=\"size\"></td><td class=\"mtime\"></td>");
		if (opts->can_delete)
			put_str(&w, "<td></td>");
		put_str(&w, "</tr>\n");
	}
	for (size_t i = 0; i < n; i++)
		put_entry_row(&w, &entries[i], opts);
	put_str(&w, "</tbody>\n</table>\n");
	if (opts->can_delete)
		put_str(&w, html_delete_script);
	put_str(&w, "</body>\n</html>\n");
	return writer_finish(&w);
}

/* ---- JSON ---- */

static void put_json_entry(struct writer *w, const struct sk_listing_entry *e)
{
	size_t len = strlen(e->name);
	char num[24];
	snprintf(num, sizeof num, "%" PRIu64, e->is_dir ? 0 : e->size);
	put_str(w, "{\"name\": ");
	put_json_string(w, e->name, len);
	put_str(w, e->is_dir ? ", \"type\": \"dir\", \"size\": " : ", \"type\": \"file\", \"size\": ");
	put_str(w, num);
	put_str(w, ", \"mtime\": ");
	struct tm tm;
	if (to_utc(e->mtime, &tm)) {
		char iso[48];
		snprintf(iso, sizeof iso, "\"%04lld-%02d-%02dT%02d:%02d:%02dZ\"",
		         (long long)tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		         tm.tm_sec);
		put_str(w, iso);
	} else {
		put_str(w, "null");
	}
	/* Percent-encoding makes the href ASCII, so it needs no JSON escaping
	 * and carries the name's exact bytes even where "name" could not. */
	put_str(w, ", \"href\": \"");
	put_url_encoded(w, e->name, len);
	put_str(w, e->is_dir ? "/\"}" : "\"}");
}

int sk_listing_json(struct sk_buf *out, struct sk_slice path, const struct sk_listing_entry *entries,
                    size_t n)
{
	struct writer w;
	writer_init(&w, out);
	put_str(&w, "{\"path\": ");
	put_json_string(&w, path.p, path.len);
	put_str(&w, ", \"entries\": [");
	for (size_t i = 0; i < n; i++) {
		if (i)
			put_str(&w, ", ");
		put_json_entry(&w, &entries[i]);
	}
	put_str(&w, "]}\n");
	return writer_finish(&w);
}
