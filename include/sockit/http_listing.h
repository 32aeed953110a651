/* Directory listings for the HTTP file server: an HTML page a browser can
 * use (and sort, upload to, delete from) and the same listing as JSON. */
#ifndef SOCKIT_HTTP_LISTING_H
#define SOCKIT_HTTP_LISTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <sockit/buf.h>
#include <sockit/slice.h>

struct sk_listing_entry {
	const char *name;     /* raw bytes of the name (any bytes but '/' and NUL), NUL-terminated */
	bool is_dir;
	uint64_t size;        /* bytes; 0 for directories */
	time_t mtime;         /* seconds since the epoch */
};

enum sk_listing_sort { SK_LISTING_BY_NAME, SK_LISTING_BY_SIZE, SK_LISTING_BY_DATE };

struct sk_listing_opts {
	enum sk_listing_sort sort;
	bool descending;
	bool can_upload;      /* show the upload form (POST multipart to this URL) */
	bool can_delete;      /* show a delete button per file (JavaScript fetch DELETE) */
};

/* Reads ?sort=name|size|date&order=asc|desc from a query string (without
 * the '?'), '&'-separated; unknown keys and values are ignored, a later pair
 * wins, and fields the query does not set are left as they are (a zeroed
 * struct means by name, ascending, no forms). Values match exactly, in
 * lowercase. query is borrowed; query.p may be NULL when len is 0. */
void sk_listing_opts_from_query(struct sk_slice query, struct sk_listing_opts *opts);

/* Sorts entries in place: directories first, then by the chosen key (names
 * by byte order, ties by name). Descending reverses the key only: directories
 * stay first and equal sizes or times stay in ascending name order. opts may
 * be NULL (by name, ascending). */
void sk_listing_sort(struct sk_listing_entry *entries, size_t n, const struct sk_listing_opts *opts);

/* Appends the HTML page for directory `path` (the decoded URL path, ending
 * in '/') to out: UTF-8, every name HTML-escaped in text and percent-encoded
 * (RFC 3986 unreserved bytes kept, every other byte %XX) in hrefs, so any
 * byte of a name round-trips; a parent link unless path is "/"; size and
 * modification time (UTC) columns with links that sort; the forms opts
 * asks for. Returns 0 or SK_ETOOLARGE / SK_ENOMEM from the buffer.
 *
 * Entries appear in the order given (sort them with sk_listing_sort first);
 * opts only marks the current sort column and picks the forms, and may be
 * NULL. Hrefs are relative (the encoded name, plus "/" for a directory), so
 * the page works under any URL prefix. path, entries and opts are borrowed
 * for the call. On failure out is left as it was.
 * Hooks for scripts and tests: the table has id="listing"; each entry row
 * has class="entry", data-type="file"|"dir" and data-name (the escaped
 * name); the parent row has class="parent"; the upload form (can_upload)
 * has id="upload" and posts multipart/form-data with field "file" to the
 * page's own URL, without JavaScript; delete buttons (can_delete, files
 * only) have class="delete", data-href (the encoded name) and data-name, and
 * a small inline script asks for confirmation, sends DELETE to data-href and
 * reloads. The page loads nothing from elsewhere. */
int sk_listing_html(struct sk_buf *out, struct sk_slice path, const struct sk_listing_entry *entries,
                    size_t n, const struct sk_listing_opts *opts);

/* Appends the listing as JSON: {"path": "...", "entries": [{"name": "...",
 * "type": "file"|"dir", "size": N, "mtime": "2026-11-22T18:00:00Z",
 * "href": "..."}]} with names as JSON strings (bytes that are not UTF-8 as
 * U+FFFD, so the output always parses; the href keeps every byte).
 * One line ending in "\n", entries in the order given; "href" is the same
 * relative href as in the HTML (a directory's ends in "/"); "size" is 0 for
 * a directory; "mtime" is null for a time gmtime cannot convert. Returns 0
 * or SK_ETOOLARGE / SK_ENOMEM; on failure out is left as it was. */
int sk_listing_json(struct sk_buf *out, struct sk_slice path, const struct sk_listing_entry *entries,
                    size_t n);

/* Appends s percent-encoded for a URL path segment: RFC 3986 unreserved
 * bytes (ALPHA DIGIT - . _ ~) as they are, every other byte as %XX (upper
 * case hex). Returns 0 or SK_ETOOLARGE / SK_ENOMEM; on failure out is left
 * as it was. */
int sk_url_encode(struct sk_buf *out, const char *s, size_t len);

/* Appends s HTML-escaped (& < > " ' as entities); bytes that are not UTF-8
 * become U+FFFD so the page stays valid UTF-8 (one per maximal ill-formed
 * subpart, as browsers decode). Control characters U+0000..U+001F and U+007F
 * become their Control Pictures (U+2400.., U+2421), so a name's newline
 * shows as U+240A rather than passing for a space. Safe in text and in quoted
 * attribute values. Returns 0 or SK_ETOOLARGE / SK_ENOMEM; on failure out is
 * left as it was. */
int sk_html_escape(struct sk_buf *out, const char *s, size_t len);

#endif
