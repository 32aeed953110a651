/* Unit tests for http_listing.c (include/sockit/http_listing.h). The central
 * property: a file name is hostile input, and whatever its bytes, the HTML
 * stays well-formed UTF-8 with no markup from the name, every href decodes
 * back to the exact name, and the JSON parses. The checks here re-derive
 * each property independently (a percent decoder, a UTF-8 validator, a small
 * JSON parser) instead of comparing against the encoders' own helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <sockit/err.h>
#include <sockit/http_listing.h>

#define S(lit) lit, sizeof(lit) - 1
#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* 2026-11-22 18:00:00 UTC */
#define T_2026 ((time_t)1795370400)

/* ---- helpers: rendering ---- */

/* A NUL-terminated copy of what a call appended; the caller frees. */
static char *take(struct sk_buf *b, size_t *len_out)
{
	char *s = malloc(b->len + 1);
	assert_non_null(s);
	if (b->len)
		memcpy(s, sk_buf_head(b), b->len);
	s[b->len] = '\0';
	if (len_out)
		*len_out = b->len;
	sk_buf_fini(b);
	return s;
}

static char *html_of(const char *path, const struct sk_listing_entry *e, size_t n,
                     const struct sk_listing_opts *opts)
{
	struct sk_buf b;
	sk_buf_init(&b, 1 << 24);
	struct sk_slice p = { path, strlen(path) };
	int r = sk_listing_html(&b, p, e, n, opts);
	if (r)
		fail_msg("sk_listing_html: %s", sk_errname(r));
	return take(&b, NULL);
}

static char *json_of(const char *path, size_t path_len, const struct sk_listing_entry *e, size_t n)
{
	struct sk_buf b;
	sk_buf_init(&b, 1 << 24);
	struct sk_slice p = { path, path_len };
	int r = sk_listing_json(&b, p, e, n);
	if (r)
		fail_msg("sk_listing_json: %s", sk_errname(r));
	return take(&b, NULL);
}

/* ---- helpers: independent decoders ---- */

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes s[0..len) into out (at least len bytes), requiring that every
 * byte outside %XX is RFC 3986 unreserved: anything else in an href would be
 * a byte the encoder let through. */
static bool percent_decode_strict(const char *s, size_t len, char *out, size_t *out_len)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '%') {
			if (len - i < 3)
				return false;
			int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
			if (hi < 0 || lo < 0)
				return false;
			out[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		           c == '-' || c == '.' || c == '_' || c == '~') {
			out[o++] = c;
		} else {
			return false;
		}
	}
	*out_len = o;
	return true;
}

/* UTF-8 by decoding to code points: rejects overlongs by their value,
 * surrogates and values past U+10FFFF. Returns the offset of the first bad
 * byte, or len. */
static size_t utf8_valid_prefix(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	while (i < len) {
		unsigned c = u[i];
		size_t n;
		uint32_t cp, min;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			n = 2, cp = c & 0x1F, min = 0x80;
		} else if ((c & 0xF0) == 0xE0) {
			n = 3, cp = c & 0x0F, min = 0x800;
		} else if ((c & 0xF8) == 0xF0) {
			n = 4, cp = c & 0x07, min = 0x10000;
		} else {
			return i;
		}
		if (n > len - i)
			return i;
		for (size_t k = 1; k < n; k++) {
			if ((u[i + k] & 0xC0) != 0x80)
				return i;
			cp = cp << 6 | (u[i + k] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return i;
		i += n;
	}
	return len;
}

static void assert_utf8(const char *s, size_t len, const char *what)
{
	size_t at = utf8_valid_prefix(s, len);
	if (at != len)
		fail_msg("%s: not UTF-8 at byte %zu of %zu", what, at, len);
}

/* Undoes the five entities sk_html_escape writes (and nothing else: any
 * other '&' means the escaper let one through). */
static bool html_unescape(const char *s, size_t len, char *out, size_t *out_len)
{
	static const struct {
		const char *ent;
		char c;
	} ents[] = { { "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' }, { "&quot;", '"' }, { "&#39;", '\'' } };
	size_t o = 0;
	for (size_t i = 0; i < len;) {
		if (s[i] != '&') {
			out[o++] = s[i++];
			continue;
		}
		size_t k;
		for (k = 0; k < N_OF(ents); k++) {
			size_t el = strlen(ents[k].ent);
			if (el <= len - i && memcmp(s + i, ents[k].ent, el) == 0) {
				out[o++] = ents[k].c;
				i += el;
				break;
			}
		}
		if (k == N_OF(ents))
			return false;
	}
	*out_len = o;
	return true;
}

static const char *find_ci(const char *hay, const char *needle)
{
	size_t nl = strlen(needle);
	for (const char *p = hay; *p; p++)
		if (strncasecmp(p, needle, nl) == 0)
			return p;
	return NULL;
}

static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0, nl = strlen(needle);
	for (const char *p = strstr(hay, needle); p; p = strstr(p + nl, needle))
		n++;
	return n;
}

/* The value of attribute `name` (e.g. " href=\"") in [from, to), as a view
 * up to its closing quote; NULL if absent. */
static const char *attr_in(const char *from, const char *to, const char *name, size_t *len)
{
	size_t nl = strlen(name);
	for (const char *p = from; p + nl <= to; p++) {
		if (memcmp(p, name, nl) != 0)
			continue;
		const char *v = p + nl, *q = memchr(v, '"', (size_t)(to - v));
		assert_non_null(q);
		*len = (size_t)(q - v);
		return v;
	}
	return NULL;
}

/* ---- helpers: a small strict JSON parser (RFC 8259) ---- */

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jv {
	enum jtype type;
	char *s;        /* J_STR: decoded UTF-8; J_NUM, J_BOOL: the literal */
	size_t len;
	struct jv *v;   /* J_ARR: items; J_OBJ: key, value, key, value... */
	size_t n;       /* J_ARR: items; J_OBJ: 2 * members */
};

struct jparser {
	const char *p, *end;
};

static void jfree(struct jv *v)
{
	for (size_t i = 0; i < v->n; i++)
		jfree(&v->v[i]);
	free(v->v);
	free(v->s);
}

static void jskip_ws(struct jparser *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static bool jlit(struct jparser *j, const char *lit)
{
	size_t n = strlen(lit);
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
		return false;
	j->p += n;
	return true;
}

static bool jhex4(struct jparser *j, uint32_t *out)
{
	if (j->end - j->p < 4)
		return false;
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		int h = hex_value(j->p[i]);
		if (h < 0)
			return false;
		v = v << 4 | (uint32_t)h;
	}
	j->p += 4;
	*out = v;
	return true;
}

static size_t put_utf8(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
	o[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

static bool jstring(struct jparser *j, struct jv *out)
{
	if (!jlit(j, "\""))
		return false;
	const char *start = j->p;
	char *s = malloc((size_t)(j->end - j->p) + 1);
	assert_non_null(s);
	size_t o = 0;
	for (;;) {
		if (j->p >= j->end)
			goto fail;
		unsigned char c = (unsigned char)*j->p;
		if (c == '"')
			break;
		if (c < 0x20)
			goto fail; /* raw control characters are not allowed */
		if (c != '\\') {
			s[o++] = (char)c;
			j->p++;
			continue;
		}
		j->p++;
		if (j->p >= j->end)
			goto fail;
		char e = *j->p++;
		static const char simple[] = "\"\\/bfnrt", value[] = "\"\\/\b\f\n\r\t";
		const char *k = e ? strchr(simple, e) : NULL;
		if (k) {
			s[o++] = value[k - simple];
			continue;
		}
		uint32_t cp, lo;
		if (e != 'u' || !jhex4(j, &cp))
			goto fail;
		if (cp >= 0xD800 && cp <= 0xDBFF) {
			if (!jlit(j, "\\u") || !jhex4(j, &lo) || lo < 0xDC00 || lo > 0xDFFF)
				goto fail;
			cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
		} else if (cp >= 0xDC00 && cp <= 0xDFFF) {
			goto fail;
		}
		o += put_utf8(s + o, cp);
	}
	/* The raw bytes must be UTF-8 (RFC 8259 §8.1). */
	if (utf8_valid_prefix(start, (size_t)(j->p - start)) != (size_t)(j->p - start))
		goto fail;
	j->p++;
	s[o] = '\0';
	out->type = J_STR;
	out->s = s;
	out->len = o;
	return true;
fail:
	free(s);
	return false;
}

static bool jnumber(struct jparser *j, struct jv *out)
{
	const char *start = j->p;
	jlit(j, "-");
	if (j->p < j->end && *j->p == '0') {
		j->p++;
	} else if (j->p < j->end && *j->p >= '1' && *j->p <= '9') {
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	} else {
		return false;
	}
	/* Fractions and exponents never occur in a listing: sizes are integers. */
	out->type = J_NUM;
	out->len = (size_t)(j->p - start);
	out->s = strndup(start, out->len);
	assert_non_null(out->s);
	return true;
}

static bool jvalue(struct jparser *j, struct jv *out, int depth);

static bool jpush(struct jv *parent, struct jv *item)
{
	struct jv *v = realloc(parent->v, (parent->n + 1) * sizeof *v);
	assert_non_null(v);
	parent->v = v;
	parent->v[parent->n++] = *item;
	return true;
}

static bool jcontainer(struct jparser *j, struct jv *out, int depth, bool is_obj)
{
	out->type = is_obj ? J_OBJ : J_ARR;
	j->p++;
	jskip_ws(j);
	if (jlit(j, is_obj ? "}" : "]"))
		return true;
	for (;;) {
		struct jv item = { 0 };
		if (is_obj) {
			jskip_ws(j);
			if (!jstring(j, &item))
				return false;
			jpush(out, &item);
			jskip_ws(j);
			if (!jlit(j, ":"))
				return false;
			memset(&item, 0, sizeof item);
		}
		if (!jvalue(j, &item, depth + 1)) {
			jfree(&item);
			return false;
		}
		jpush(out, &item);
		jskip_ws(j);
		if (jlit(j, ","))
			continue;
		return jlit(j, is_obj ? "}" : "]");
	}
}

static bool jvalue(struct jparser *j, struct jv *out, int depth)
{
	jskip_ws(j);
	if (depth > 16 || j->p >= j->end)
		return false;
	switch (*j->p) {
	case '{': return jcontainer(j, out, depth, true);
	case '[': return jcontainer(j, out, depth, false);
	case '"': return jstring(j, out);
	case 'n': out->type = J_NULL; return jlit(j, "null");
	case 't': out->type = J_BOOL; return jlit(j, "true");
	case 'f': out->type = J_BOOL; return jlit(j, "false");
	default: return jnumber(j, out);
	}
}

/* Parses the whole text (trailing whitespace allowed, nothing else). */
static void jparse(const char *text, struct jv *out)
{
	struct jparser j = { text, text + strlen(text) };
	memset(out, 0, sizeof *out);
	bool ok = jvalue(&j, out, 0);
	jskip_ws(&j);
	if (!ok || j.p != j.end)
		fail_msg("invalid JSON at byte %zu of %zu: %.60s", (size_t)(j.p - text), strlen(text), j.p);
}

static const struct jv *jget(const struct jv *obj, const char *key)
{
	assert_int_equal(obj->type, J_OBJ);
	const struct jv *found = NULL;
	for (size_t i = 0; i < obj->n; i += 2) {
		if (strcmp(obj->v[i].s, key) == 0) {
			if (found)
				fail_msg("duplicate key \"%s\"", key);
			found = &obj->v[i + 1];
		}
	}
	if (!found)
		fail_msg("no key \"%s\"", key);
	return found;
}

/* ---- hostile names ---- */

struct hostile {
	const char *name;
	bool is_dir;
	const char *shown; /* the name once HTML-unescaped or JSON-decoded; NULL: the name itself */
};

static const struct hostile hostile_names[] = {
	{ "<img src=x onerror=alert(1)>", false, NULL },
	{ "<IMG SRC=x onerror=alert(1)>", true, NULL },
	{ "a\"b'c", false, NULL },
	{ "\"><script>alert(1)</script>", false, NULL },
	{ "#frag", false, NULL },
	{ "?q=1", false, NULL },
	{ "100%", false, NULL },
	{ "%2e%2e", true, NULL },
	{ "a b", false, NULL },
	{ "a+b&c=d;e", false, NULL },
	{ "javascript:alert(1)", false, NULL },
	{ "\\back\\slash", false, NULL },
	{ "\xff\xfe", false, "\xEF\xBF\xBD\xEF\xBF\xBD" },
	{ "caf\xc3\xa9 \xf0\x9f\x98\x80", false, NULL },
	{ "bad\xe2\x82tail", true, "bad\xEF\xBF\xBDtail" },
	{ "line\nbreak", false, NULL },
	{ "tab\tcr\r", false, NULL },
	{ "&amp;", false, NULL },
	{ ".hidden", false, NULL },
	{ "~user", true, NULL },
};

static void fill_hostile(struct sk_listing_entry *e, size_t *n)
{
	for (size_t i = 0; i < N_OF(hostile_names); i++) {
		e[i].name = hostile_names[i].name;
		e[i].is_dir = hostile_names[i].is_dir;
		e[i].size = hostile_names[i].is_dir ? 0 : 1000 * i;
		e[i].mtime = T_2026 + (time_t)i;
	}
	*n = N_OF(hostile_names);
}

/* Checks each entry row of page against entries[0..n), in order: the row's
 * attributes close where they should (nothing in a name ended them early),
 * its href and any delete button's data-href decode to the exact name, and
 * its data-name unescapes to the name when the name is plain text. */
static void check_rows(const char *page, const struct sk_listing_entry *e, size_t n)
{
	const char *p = page;
	size_t name_cap = 0;
	for (size_t i = 0; i < n; i++)
		if (strlen(e[i].name) + 2 > name_cap)
			name_cap = strlen(e[i].name) + 2;
	char *dec = malloc(name_cap * 4);
	assert_non_null(dec);
	for (size_t i = 0; i < n; i++) {
		const char *row = strstr(p, "<tr class=\"entry\"");
		if (!row)
			fail_msg("row %zu (\"%s\") missing", i, e[i].name);
		const char *end = strstr(row, "</tr>");
		assert_non_null(end);
		p = end;
		const char *type = e[i].is_dir ? "<tr class=\"entry\" data-type=\"dir\" data-name=\""
		                               : "<tr class=\"entry\" data-type=\"file\" data-name=\"";
		assert_memory_equal(row, type, strlen(type));

		size_t name_len = strlen(e[i].name), len, dec_len;
		const char *href = attr_in(row, end, " href=\"", &len);
		assert_non_null(href);
		/* The attribute ends right where the row's markup resumes. */
		assert_memory_equal(href + len, "\">", 2);
		if (e[i].is_dir) {
			assert_true(len > 0 && href[len - 1] == '/');
			len--;
		}
		if (!percent_decode_strict(href, len, dec, &dec_len))
			fail_msg("row %zu: href '%.*s' has a byte the encoder should have escaped", i,
			         (int)len, href);
		if (dec_len != name_len || memcmp(dec, e[i].name, name_len) != 0)
			fail_msg("row %zu: href '%.*s' does not decode to the name", i, (int)len, href);

		const char *dn = attr_in(row, end, " data-name=\"", &len);
		assert_non_null(dn);
		assert_memory_equal(dn + len, "\"><td><a href=\"", 15);
		if (!html_unescape(dn, len, dec, &dec_len))
			fail_msg("row %zu: data-name has a raw '&'", i);
		if (utf8_valid_prefix(e[i].name, name_len) == name_len && !strpbrk(e[i].name, "\n\r\t"))
			if (dec_len != name_len || memcmp(dec, e[i].name, name_len) != 0)
				fail_msg("row %zu: data-name '%.*s' is not the name", i, (int)len, dn);

		const char *del = attr_in(row, end, " data-href=\"", &len);
		if (del) {
			assert_false(e[i].is_dir);
			assert_true(percent_decode_strict(del, len, dec, &dec_len));
			assert_int_equal(dec_len, name_len);
			assert_memory_equal(dec, e[i].name, name_len);
		}
	}
	assert_null(strstr(p, "<tr class=\"entry\""));
	free(dec);
}

/* Every '<' in the page opens one of the tags the listing writes itself, so
 * no markup can have come from a name. */
static void check_only_own_tags(const char *page)
{
	static const char *const tags[] = {
		"!DOCTYPE html>", "html", "/html>", "head>", "/head>", "meta ", "title>", "/title>",
		"style>", "/style>", "body>", "/body>", "h1>", "/h1>", "form ", "/form>", "input ",
		"button ", "/button>", "table ", "/table>", "thead>", "/thead>", "tbody>", "/tbody>",
		"tr>", "tr ", "/tr>", "th>", "th ", "/th>", "td>", "td ", "/td>", "a ", "/a>",
		"time ", "/time>", "script>", "/script>",
	};
	for (const char *p = strchr(page, '<'); p; p = strchr(p + 1, '<')) {
		size_t k;
		for (k = 0; k < N_OF(tags); k++)
			if (strncmp(p + 1, tags[k], strlen(tags[k])) == 0)
				break;
		if (k == N_OF(tags))
			fail_msg("unexpected markup at byte %zu: %.40s", (size_t)(p - page), p);
		/* The script compares with "<" nowhere; past it nothing is checked. */
		if (strncmp(p, "<script>", 8) == 0)
			p = strstr(p, "</script>");
	}
}

static void test_http_listing_hostile_names_html(void **state)
{
	(void)state;
	struct sk_listing_entry e[N_OF(hostile_names)];
	size_t n;
	fill_hostile(e, &n);
	static const struct sk_listing_opts variants[] = {
		{ SK_LISTING_BY_NAME, false, false, false },
		{ SK_LISTING_BY_DATE, true, true, true },
	};
	for (size_t v = 0; v < N_OF(variants); v++) {
		char *page = html_of("/up/<img src=x>/", e, n, &variants[v]);
		assert_null(find_ci(page, "<img"));
		assert_null(find_ci(page, "<script>alert"));
		assert_utf8(page, strlen(page), "page");
		check_only_own_tags(page);
		check_rows(page, e, n);
		free(page);
	}
}

static void test_http_listing_hostile_names_json(void **state)
{
	(void)state;
	struct sk_listing_entry e[N_OF(hostile_names)];
	size_t n;
	fill_hostile(e, &n);
	static const char path[] = "/a\"b\\c\n\x01\xff/";
	char *text = json_of(path, sizeof path - 1, e, n);
	assert_utf8(text, strlen(text), "json");
	struct jv doc;
	jparse(text, &doc);
	assert_int_equal(doc.n, 4); /* path, entries */
	const struct jv *jpath = jget(&doc, "path");
	assert_int_equal(jpath->type, J_STR);
	assert_string_equal(jpath->s, "/a\"b\\c\n\x01\xEF\xBF\xBD/");
	const struct jv *list = jget(&doc, "entries");
	assert_int_equal(list->type, J_ARR);
	assert_int_equal(list->n, n);
	for (size_t i = 0; i < n; i++) {
		const struct jv *o = &list->v[i];
		assert_int_equal(o->n, 10); /* five members */
		const char *shown = hostile_names[i].shown ? hostile_names[i].shown : e[i].name;
		const struct jv *name = jget(o, "name");
		assert_int_equal(name->type, J_STR);
		if (name->len != strlen(shown) || memcmp(name->s, shown, name->len) != 0)
			fail_msg("entry %zu: name '%s', want '%s'", i, name->s, shown);
		assert_string_equal(jget(o, "type")->s, e[i].is_dir ? "dir" : "file");
		char size[24];
		snprintf(size, sizeof size, "%zu", e[i].is_dir ? (size_t)0 : 1000 * i);
		assert_int_equal(jget(o, "size")->type, J_NUM);
		assert_string_equal(jget(o, "size")->s, size);
		char mtime[48];
		snprintf(mtime, sizeof mtime, "2026-11-22T18:00:%02zuZ", i);
		assert_string_equal(jget(o, "mtime")->s, mtime);
		const struct jv *href = jget(o, "href");
		size_t len = href->len, dec_len;
		if (e[i].is_dir) {
			assert_true(len > 0 && href->s[len - 1] == '/');
			len--;
		}
		char dec[256];
		assert_true(percent_decode_strict(href->s, len, dec, &dec_len));
		assert_int_equal(dec_len, strlen(e[i].name));
		assert_memory_equal(dec, e[i].name, dec_len);
	}
	jfree(&doc);
	free(text);
}

static void test_http_listing_long_names_round_trip(void **state)
{
	(void)state;
	/* 255 bytes is NAME_MAX on Linux; 4096 of the worst bytes (each %XX, or
	 * each U+FFFD) checks nothing is sized by a guess. */
	char *max = malloc(256), *worst = malloc(4097), *mixed = malloc(4097);
	assert_true(max && worst && mixed);
	memset(max, 'x', 255);
	max[255] = '\0';
	memset(worst, '\xff', 4096);
	worst[4096] = '\0';
	for (size_t i = 0; i < 4096; i++)
		mixed[i] = "<%\"#\xe2\x82 a'\n>&"[i % 13];
	mixed[4096] = '\0';
	struct sk_listing_entry e[] = {
		{ max, true, 0, T_2026 },
		{ mixed, false, 1, T_2026 },
		{ worst, false, 2, T_2026 },
	};
	struct sk_listing_opts opts = { SK_LISTING_BY_NAME, false, true, true };
	char *page = html_of("/", e, N_OF(e), &opts);
	assert_utf8(page, strlen(page), "page");
	assert_null(find_ci(page, "<img"));
	check_only_own_tags(page);
	check_rows(page, e, N_OF(e));
	free(page);

	char *text = json_of(S("/"), e, N_OF(e));
	struct jv doc;
	jparse(text, &doc);
	const struct jv *list = jget(&doc, "entries");
	assert_int_equal(list->n, 3);
	assert_string_equal(jget(&list->v[0], "name")->s, max);
	assert_int_equal(jget(&list->v[2], "name")->len, 4096 * 3); /* a U+FFFD per byte */
	assert_int_equal(jget(&list->v[2], "href")->len, 4096 * 3); /* a %FF per byte */
	jfree(&doc);
	free(text);
	free(max);
	free(worst);
	free(mixed);
}

/* ---- encoders ---- */

static void test_http_listing_url_encode_table(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		size_t len;
		const char *want;
	} cases[] = {
		{ S(""), "" },
		{ S("plain-file_1.0~"), "plain-file_1.0~" },
		{ S("a b"), "a%20b" },
		{ S("#frag"), "%23frag" },
		{ S("?q=1&r"), "%3Fq%3D1%26r" },
		{ S("100%"), "100%25" },
		{ S("a/b"), "a%2Fb" },
		{ S("a:b@c"), "a%3Ab%40c" },
		{ S("<>\"'"), "%3C%3E%22%27" },
		{ S("\xff\xfe\x01\n"), "%FF%FE%01%0A" },
		{ S("caf\xc3\xa9"), "caf%C3%A9" },
		{ S("a\0b"), "a%00b" }, /* by length, not by NUL */
	};
	for (size_t i = 0; i < N_OF(cases); i++) {
		struct sk_buf b;
		sk_buf_init(&b, 1024);
		assert_int_equal(sk_url_encode(&b, cases[i].in, cases[i].len), 0);
		char *got = take(&b, NULL);
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("case %zu: '%s', want '%s'", i, got, cases[i].want);
		free(got);
	}
}

static void test_http_listing_url_encode_every_byte_round_trips(void **state)
{
	(void)state;
	char all[256], dec[256];
	for (size_t i = 0; i < 256; i++)
		all[i] = (char)i;
	struct sk_buf b;
	sk_buf_init(&b, 4096);
	assert_int_equal(sk_url_encode(&b, all, sizeof all), 0);
	size_t len, dec_len;
	char *enc = take(&b, &len);
	assert_int_equal(len, 66 + 190 * 3); /* 66 unreserved bytes */
	assert_true(percent_decode_strict(enc, len, dec, &dec_len));
	assert_int_equal(dec_len, 256);
	assert_memory_equal(dec, all, 256);
	free(enc);
}

static void test_http_listing_html_escape_table(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		size_t len;
		const char *want;
	} cases[] = {
		{ S(""), "" },
		{ S("plain"), "plain" },
		{ S("&<>\"'"), "&amp;&lt;&gt;&quot;&#39;" },
		{ S("<img src=x onerror=alert(1)>"), "&lt;img src=x onerror=alert(1)&gt;" },
		{ S("caf\xc3\xa9 \xf0\x9f\x98\x80"), "caf\xc3\xa9 \xf0\x9f\x98\x80" },
		/* One U+FFFD per maximal ill-formed subpart, as Python and browsers. */
		{ S("\xff\xfe"), "\xEF\xBF\xBD\xEF\xBF\xBD" },
		{ S("\xe2\x82" "A"), "\xEF\xBF\xBD" "A" },
		{ S("\xc0\xaf"), "\xEF\xBF\xBD\xEF\xBF\xBD" },                          /* overlong '/' */
		{ S("\xe0\x80\xaf"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" },          /* overlong '/' */
		{ S("\xed\xa0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" },          /* surrogate */
		{ S("\xf4\x90\x80\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" }, /* > U+10FFFF */
		{ S("\xf0\x9f\x98"), "\xEF\xBF\xBD" },                                  /* truncated */
		{ S("\xc2"), "\xEF\xBF\xBD" },
		{ S("\xf0\x9f\x98<"), "\xEF\xBF\xBD&lt;" },
		/* Controls as Control Pictures: U+240A for LF, U+2421 for DEL. */
		{ S("a\nb"), "a\xE2\x90\x8A" "b" },
		{ S("\x01\t\r\x1f\x7f"), "\xE2\x90\x81\xE2\x90\x89\xE2\x90\x8D\xE2\x90\x9F\xE2\x90\xA1" },
	};
	for (size_t i = 0; i < N_OF(cases); i++) {
		struct sk_buf b;
		sk_buf_init(&b, 1024);
		assert_int_equal(sk_html_escape(&b, cases[i].in, cases[i].len), 0);
		char *got = take(&b, NULL);
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("case %zu: '%s', want '%s'", i, got, cases[i].want);
		free(got);
	}
}

/* Every string of one and two bytes, and every lead byte before each
 * two-byte tail: the output is UTF-8 with no raw < > " ' and no '&' but
 * the entities, whatever the input. */
static void test_http_listing_html_escape_any_bytes_stay_safe(void **state)
{
	(void)state;
	struct sk_buf b;
	sk_buf_init(&b, 1 << 20);
	char in[3];
	for (unsigned x = 0; x < 256 * 256 * 4; x++) {
		in[0] = (char)(x & 0xFF);
		in[1] = (char)(x >> 8 & 0xFF);
		in[2] = (char)("\x80\xbf<a"[x >> 16]);
		size_t len = x < 256 ? 1 : 3;
		if (x >= 256 && x < 256 * 256)
			len = 2;
		b.len = 0;
		assert_int_equal(sk_html_escape(&b, in, len), 0);
		const char *out = sk_buf_head(&b);
		assert_utf8(out, b.len, "escaped");
		char un[64];
		size_t un_len;
		assert_true(html_unescape(out, b.len, un, &un_len));
		for (size_t i = 0; i < b.len; i++)
			if (strchr("<>\"'", out[i]) && out[i])
				fail_msg("raw '%c' from input %02x %02x", out[i], x & 0xFF, x >> 8 & 0xFF);
	}
	sk_buf_fini(&b);
}

/* ---- JSON ---- */

static void test_http_listing_json_exact_text(void **state)
{
	(void)state;
	static const struct sk_listing_entry e[] = {
		{ "docs", true, 0, T_2026 },
		{ "a \"q\"\\\n\x01\x1f\x7f.txt", false, 1234, 0 },
		{ "\xff", false, 7, -1 },
	};
	char *text = json_of(S("/x y/"), e, N_OF(e));
	assert_string_equal(
		text,
		"{\"path\": \"/x y/\", \"entries\": ["
		"{\"name\": \"docs\", \"type\": \"dir\", \"size\": 0, \"mtime\": \"2026-11-22T18:00:00Z\", "
		"\"href\": \"docs/\"}, "
		/* DEL needs no escape in JSON (RFC 8259 §7). */
		"{\"name\": \"a \\\"q\\\"\\\\\\n\\u0001\\u001f\x7f.txt\", \"type\": \"file\", "
		"\"size\": 1234, \"mtime\": \"1970-01-01T00:00:00Z\", "
		"\"href\": \"a%20%22q%22%5C%0A%01%1F%7F.txt\"}, "
		"{\"name\": \"\\ufffd\", \"type\": \"file\", \"size\": 7, "
		"\"mtime\": \"1969-12-31T23:59:59Z\", \"href\": \"%FF\"}"
		"]}\n");
	free(text);

	text = json_of(S("/"), NULL, 0);
	assert_string_equal(text, "{\"path\": \"/\", \"entries\": []}\n");
	free(text);
}

static void test_http_listing_json_sizes_and_unrepresentable_times(void **state)
{
	(void)state;
	/* A directory's size is 0 whatever the caller passed; a time whose year
	 * does not fit gmtime's int is null rather than a made-up date. */
	static const struct sk_listing_entry e[] = {
		{ "d", true, 99, T_2026 },
		{ "big", false, UINT64_MAX, T_2026 },
		{ "far", false, 0, (time_t)INT64_MAX },
	};
	char *text = json_of(S("/"), e, N_OF(e));
	struct jv doc;
	jparse(text, &doc);
	const struct jv *list = jget(&doc, "entries");
	assert_string_equal(jget(&list->v[0], "size")->s, "0");
	assert_string_equal(jget(&list->v[1], "size")->s, "18446744073709551615");
	assert_int_equal(jget(&list->v[2], "mtime")->type, J_NULL);
	jfree(&doc);
	free(text);
}

/* ---- HTML structure ---- */

static void test_http_listing_page_skeleton(void **state)
{
	(void)state;
	static const struct sk_listing_entry e[] = { { "f", false, 1, T_2026 } };
	char *page = html_of("/music/", e, 1, NULL);
	assert_memory_equal(page, "<!DOCTYPE html>\n", 16);
	static const char *const must[] = {
		"<meta charset=\"utf-8\">",
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
		"<title>Index of /music/</title>",
		"<h1>Index of /music/</h1>",
		"<table id=\"listing\">",
		">Name</a>", ">Size</a>", ">Modified</a>",
		"<style>",
	};
	for (size_t i = 0; i < N_OF(must); i++)
		if (!strstr(page, must[i]))
			fail_msg("no %s", must[i]);
	/* Nothing loaded from elsewhere, so the page works offline and leaks
	 * no visit to a third party. */
	static const char *const never[] = { "http:", "https:", "src=", "url(", "@import", "//" };
	for (size_t i = 0; i < N_OF(never); i++)
		if (find_ci(page, never[i]))
			fail_msg("page has %s", never[i]);
	/* No forms or script unless asked for. */
	assert_null(strstr(page, "<form"));
	assert_null(strstr(page, "<script"));
	assert_null(strstr(page, "class=\"delete\""));
	free(page);
}

static void test_http_listing_path_is_escaped(void **state)
{
	(void)state;
	char *page = html_of("/<b>&\"'\xff/", NULL, 0, NULL);
	assert_non_null(strstr(page, "<title>Index of /&lt;b&gt;&amp;&quot;&#39;\xEF\xBF\xBD/</title>"));
	assert_non_null(strstr(page, "<h1>Index of /&lt;b&gt;&amp;&quot;&#39;\xEF\xBF\xBD/</h1>"));
	assert_null(strstr(page, "<b>"));
	free(page);
}

static void test_http_listing_parent_row(void **state)
{
	(void)state;
	static const struct {
		const char *path;
		bool has_parent;
	} cases[] = {
		{ "/", false },
		{ "", false },
		{ "/a/", true },
		{ "/a/b c/", true },
	};
	static const struct sk_listing_entry e[] = { { "..x", false, 1, T_2026 } };
	for (size_t i = 0; i < N_OF(cases); i++) {
		char *page = html_of(cases[i].path, e, 1, NULL);
		const char *parent = strstr(page, "<tr class=\"parent\"><td><a href=\"../\">../</a></td>");
		if ((parent != NULL) != cases[i].has_parent)
			fail_msg("path '%s': parent row %s", cases[i].path, parent ? "shown" : "missing");
		/* Before the entries, and not counted as one. */
		if (parent)
			assert_true(parent < strstr(page, "<tr class=\"entry\""));
		assert_int_equal(count_of(page, "<tr class=\"entry\""), 1);
		free(page);
	}
	/* An empty path may come as a NULL view. */
	struct sk_buf b;
	sk_buf_init(&b, 1 << 16);
	assert_int_equal(sk_listing_html(&b, (struct sk_slice){ NULL, 0 }, e, 1, NULL), 0);
	assert_int_equal(sk_listing_json(&b, (struct sk_slice){ NULL, 0 }, e, 1), 0);
	assert_int_equal(sk_url_encode(&b, NULL, 0), 0);
	assert_int_equal(sk_html_escape(&b, NULL, 0), 0);
	sk_buf_fini(&b);
}

static void test_http_listing_rows_show_dirs_with_slash(void **state)
{
	(void)state;
	static const struct sk_listing_entry e[] = {
		{ "sub dir", true, 0, T_2026 },
		{ "notes.txt", false, 1234, T_2026 },
	};
	char *page = html_of("/", e, N_OF(e), NULL);
	assert_non_null(strstr(page, "<tr class=\"entry\" data-type=\"dir\" data-name=\"sub dir\">"
	                             "<td><a href=\"sub%20dir/\">sub dir/</a></td>"
	                             "<td class=\"size\">-</td>"
	                             "<td class=\"mtime\"><time datetime=\"2026-11-22T18:00:00Z\">"
	                             "2026-11-22 18:00</time></td></tr>"));
	assert_non_null(strstr(page, "<tr class=\"entry\" data-type=\"file\" data-name=\"notes.txt\">"
	                             "<td><a href=\"notes.txt\">notes.txt</a></td>"
	                             "<td class=\"size\" title=\"1234 bytes\">1.2 KiB</td>"));
	free(page);
}

static void test_http_listing_size_cells(void **state)
{
	(void)state;
	static const struct {
		uint64_t size;
		const char *cell;
	} cases[] = {
		{ 0, "title=\"0 bytes\">0 B<" },
		{ 1, "title=\"1 byte\">1 B<" },
		{ 1023, "title=\"1023 bytes\">1023 B<" },
		{ 1024, "title=\"1024 bytes\">1.0 KiB<" },
		{ 1234, "title=\"1234 bytes\">1.2 KiB<" },
		{ 10188, "title=\"10188 bytes\">9.9 KiB<" },
		{ 10189, "title=\"10189 bytes\">10 KiB<" },   /* 9.95 KiB: no "10.0" */
		{ 1048063, "title=\"1048063 bytes\">1023 KiB<" },
		{ 1048064, "title=\"1048064 bytes\">1.0 MiB<" }, /* never "1024 KiB" */
		{ 5368709120u, "title=\"5368709120 bytes\">5.0 GiB<" },
		{ UINT64_MAX, "title=\"18446744073709551615 bytes\">16 EiB<" },
	};
	for (size_t i = 0; i < N_OF(cases); i++) {
		struct sk_listing_entry e = { "f", false, cases[i].size, T_2026 };
		char *page = html_of("/", &e, 1, NULL);
		if (!strstr(page, cases[i].cell))
			fail_msg("size %llu: no %s", (unsigned long long)cases[i].size, cases[i].cell);
		free(page);
	}
}

static void test_http_listing_time_cells(void **state)
{
	(void)state;
	static const struct {
		time_t t;
		const char *cell;
	} cases[] = {
		{ T_2026, "<time datetime=\"2026-11-22T18:00:00Z\">2026-11-22 18:00</time>" },
		{ T_2026 + 59, "<time datetime=\"2026-11-22T18:00:59Z\">2026-11-22 18:00</time>" },
		{ 0, "<time datetime=\"1970-01-01T00:00:00Z\">1970-01-01 00:00</time>" },
		{ -1, "<time datetime=\"1969-12-31T23:59:59Z\">1969-12-31 23:59</time>" },
		{ 951782400, "<time datetime=\"2000-02-29T00:00:00Z\">2000-02-29 00:00</time>" },
		{ (time_t)INT64_MAX, "<td class=\"mtime\">-</td>" },
	};
	for (size_t i = 0; i < N_OF(cases); i++) {
		struct sk_listing_entry e = { "f", false, 1, cases[i].t };
		char *page = html_of("/", &e, 1, NULL);
		if (!strstr(page, cases[i].cell))
			fail_msg("time %lld: no %s", (long long)cases[i].t, cases[i].cell);
		free(page);
	}
}

static void test_http_listing_sort_links_toggle(void **state)
{
	(void)state;
	/* The current column's link flips the order; the others start
	 * ascending. aria-sort and the arrow mark the current column. */
	static const struct {
		enum sk_listing_sort sort;
		bool descending;
		const char *name, *size, *date;
	} cases[] = {
		{ SK_LISTING_BY_NAME, false,
		  "<th aria-sort=\"ascending\"><a href=\"?sort=name&amp;order=desc\">Name</a> \xE2\x96\xB2</th>",
		  "<th><a href=\"?sort=size&amp;order=asc\">Size</a></th>",
		  "<th><a href=\"?sort=date&amp;order=asc\">Modified</a></th>" },
		{ SK_LISTING_BY_NAME, true,
		  "<th aria-sort=\"descending\"><a href=\"?sort=name&amp;order=asc\">Name</a> \xE2\x96\xBC</th>",
		  "<th><a href=\"?sort=size&amp;order=asc\">Size</a></th>",
		  "<th><a href=\"?sort=date&amp;order=asc\">Modified</a></th>" },
		{ SK_LISTING_BY_SIZE, false,
		  "<th><a href=\"?sort=name&amp;order=asc\">Name</a></th>",
		  "<th aria-sort=\"ascending\"><a href=\"?sort=size&amp;order=desc\">Size</a> \xE2\x96\xB2</th>",
		  "<th><a href=\"?sort=date&amp;order=asc\">Modified</a></th>" },
		{ SK_LISTING_BY_DATE, true,
		  "<th><a href=\"?sort=name&amp;order=asc\">Name</a></th>",
		  "<th><a href=\"?sort=size&amp;order=asc\">Size</a></th>",
		  "<th aria-sort=\"descending\"><a href=\"?sort=date&amp;order=asc\">Modified</a> \xE2\x96\xBC</th>" },
	};
	for (size_t i = 0; i < N_OF(cases); i++) {
		struct sk_listing_opts opts = { cases[i].sort, cases[i].descending, false, false };
		char *page = html_of("/", NULL, 0, &opts);
		const char *want[] = { cases[i].name, cases[i].size, cases[i].date };
		for (size_t k = 0; k < 3; k++)
			if (!strstr(page, want[k]))
				fail_msg("case %zu: no %s", i, want[k]);
		assert_int_equal(count_of(page, "aria-sort"), 1);
		free(page);
	}
}

/* Cells per row match the header, with and without the delete column. */
static void check_column_counts(const char *page, size_t want)
{
	const char *head = strstr(page, "<thead>");
	assert_non_null(head);
	const char *head_end = strstr(head, "</thead>");
	size_t th = 0;
	for (const char *p = strstr(head, "<th"); p && p < head_end; p = strstr(p + 1, "<th"))
		if (p[3] == '>' || p[3] == ' ')
			th++;
	assert_int_equal(th, want);
	for (const char *row = strstr(head_end, "<tr"); row; row = strstr(row + 1, "<tr")) {
		const char *end = strstr(row, "</tr>");
		size_t td = 0;
		for (const char *p = strstr(row, "<td"); p && p < end; p = strstr(p + 1, "<td"))
			td++;
		if (td != want)
			fail_msg("row with %zu cells, want %zu: %.60s", td, want, row);
	}
}

static void test_http_listing_upload_form(void **state)
{
	(void)state;
	static const struct sk_listing_entry e[] = { { "f", false, 1, T_2026 } };
	struct sk_listing_opts opts = { SK_LISTING_BY_NAME, false, true, false };
	char *page = html_of("/in/", e, 1, &opts);
	const char *form = strstr(page, "<form id=\"upload\" method=\"post\" enctype=\"multipart/form-data\">");
	assert_non_null(form);
	const char *end = strstr(form, "</form>");
	assert_non_null(end);
	/* No action: it posts to the listing's own URL, under any prefix. */
	assert_null(strstr(page, "action="));
	const char *input = strstr(form, "<input type=\"file\" name=\"file\" multiple");
	const char *submit = strstr(form, "<button type=\"submit\">");
	assert_true(input && input < end && submit && submit < end);
	/* Works without JavaScript. */
	assert_null(strstr(page, "<script"));
	assert_null(strstr(page, "class=\"delete\""));
	check_column_counts(page, 3);
	free(page);
}

static void test_http_listing_delete_buttons(void **state)
{
	(void)state;
	static const struct sk_listing_entry e[] = {
		{ "dir", true, 0, T_2026 },
		{ "a'b\".txt", false, 1, T_2026 },
		{ "c", false, 2, T_2026 },
	};
	struct sk_listing_opts opts = { SK_LISTING_BY_NAME, false, false, true };
	char *page = html_of("/in/", e, N_OF(e), &opts);
	/* One per file, none for the directory. */
	assert_int_equal(count_of(page, "class=\"delete\""), 2);
	assert_non_null(strstr(page, "<button type=\"button\" class=\"delete\" data-href=\"a%27b%22.txt\" "
	                             "data-name=\"a&#39;b&quot;.txt\">delete</button>"));
	const char *script = strstr(page, "<script>");
	assert_non_null(script);
	assert_non_null(strstr(script, "fetch(b.dataset.href, {method: \"DELETE\"})"));
	assert_non_null(strstr(script, "location.reload()"));
	/* The script is the page's own: no name in it. */
	assert_null(strstr(script, "a'b"));
	assert_null(strstr(page, "<form"));
	check_column_counts(page, 4);
	check_rows(page, e, N_OF(e));
	free(page);

	/* Both, with a parent row: still one cell per column. */
	opts.can_upload = true;
	page = html_of("/in/", e, N_OF(e), &opts);
	assert_non_null(strstr(page, "<form id=\"upload\""));
	check_column_counts(page, 4);
	free(page);
}

/* ---- sorting ---- */

static const struct sk_listing_entry sort_set[] = {
	{ "b.txt", false, 300, 200 },
	{ "A.txt", false, 100, 300 },
	{ "a.txt", false, 100, 100 },
	{ "zdir", true, 0, 50 },
	{ "Bdir", true, 0, 400 },
	{ "\xc3\xa9.txt", false, 200, 300 },
	{ "c.txt", false, 300, 100 },
};

static void test_http_listing_sort_orders(void **state)
{
	(void)state;
	/* Dirs first; names by byte order (uppercase before lowercase before
	 * UTF-8); equal sizes and times by ascending name in both orders. */
	static const struct {
		enum sk_listing_sort sort;
		bool descending;
		const char *want[N_OF(sort_set)];
	} cases[] = {
		{ SK_LISTING_BY_NAME, false, { "Bdir", "zdir", "A.txt", "a.txt", "b.txt", "c.txt", "\xc3\xa9.txt" } },
		{ SK_LISTING_BY_NAME, true, { "zdir", "Bdir", "\xc3\xa9.txt", "c.txt", "b.txt", "a.txt", "A.txt" } },
		{ SK_LISTING_BY_SIZE, false, { "Bdir", "zdir", "A.txt", "a.txt", "\xc3\xa9.txt", "b.txt", "c.txt" } },
		{ SK_LISTING_BY_SIZE, true, { "Bdir", "zdir", "b.txt", "c.txt", "\xc3\xa9.txt", "A.txt", "a.txt" } },
		{ SK_LISTING_BY_DATE, false, { "zdir", "Bdir", "a.txt", "c.txt", "b.txt", "A.txt", "\xc3\xa9.txt" } },
		{ SK_LISTING_BY_DATE, true, { "Bdir", "zdir", "A.txt", "\xc3\xa9.txt", "b.txt", "a.txt", "c.txt" } },
	};
	for (size_t i = 0; i < N_OF(cases); i++) {
		struct sk_listing_entry e[N_OF(sort_set)];
		memcpy(e, sort_set, sizeof e);
		struct sk_listing_opts opts = { cases[i].sort, cases[i].descending, false, false };
		sk_listing_sort(e, N_OF(e), &opts);
		for (size_t k = 0; k < N_OF(e); k++)
			if (strcmp(e[k].name, cases[i].want[k]) != 0)
				fail_msg("case %zu: position %zu is '%s', want '%s'", i, k, e[k].name,
				         cases[i].want[k]);
	}
}

static void test_http_listing_sort_ignores_input_order(void **state)
{
	(void)state;
	/* Every rotation and reversal of the input sorts the same: the order is
	 * total, so qsort's instability cannot show. */
	struct sk_listing_opts opts = { SK_LISTING_BY_SIZE, true, false, false };
	struct sk_listing_entry want[N_OF(sort_set)];
	memcpy(want, sort_set, sizeof want);
	sk_listing_sort(want, N_OF(want), &opts);
	for (size_t rot = 0; rot < 2 * N_OF(sort_set); rot++) {
		struct sk_listing_entry e[N_OF(sort_set)];
		for (size_t k = 0; k < N_OF(e); k++) {
			size_t from = (k + rot) % N_OF(e);
			e[k] = sort_set[rot < N_OF(e) ? from : N_OF(e) - 1 - from];
		}
		sk_listing_sort(e, N_OF(e), &opts);
		for (size_t k = 0; k < N_OF(e); k++)
			assert_string_equal(e[k].name, want[k].name);
	}
	/* Empty, single and NULL opts (name, ascending) are fine. */
	sk_listing_sort(NULL, 0, &opts);
	struct sk_listing_entry one[] = { { "x", false, 1, 1 } }, two[] = { { "b", false, 1, 1 }, { "a", false, 2, 2 } };
	sk_listing_sort(one, 1, &opts);
	sk_listing_sort(two, 2, NULL);
	assert_string_equal(two[0].name, "a");
}

/* ---- query ---- */

static void test_http_listing_opts_from_query(void **state)
{
	(void)state;
	static const struct {
		const char *query;
		enum sk_listing_sort sort;
		bool descending;
	} cases[] = {
		{ "", SK_LISTING_BY_NAME, false },
		{ "sort=size", SK_LISTING_BY_SIZE, false },
		{ "sort=date&order=desc", SK_LISTING_BY_DATE, true },
		{ "order=desc&sort=name", SK_LISTING_BY_NAME, true },
		{ "order=desc&order=asc", SK_LISTING_BY_NAME, false },   /* later wins */
		{ "x=1&sort=size&y", SK_LISTING_BY_SIZE, false },        /* others ignored */
		{ "sort=bogus&order=up", SK_LISTING_BY_NAME, false },    /* bad values ignored */
		{ "sort=SIZE&order=DESC", SK_LISTING_BY_NAME, false },
		{ "sort=sizes&order=descending", SK_LISTING_BY_NAME, false },
		{ "sort=&order=", SK_LISTING_BY_NAME, false },
		{ "sort&order", SK_LISTING_BY_NAME, false },
		{ "&&sort=date&&", SK_LISTING_BY_DATE, false },
		{ "sortx=date&xorder=desc", SK_LISTING_BY_NAME, false },
		{ "sort=size=1", SK_LISTING_BY_NAME, false },
		{ "=desc&sort=date&order=desc#", SK_LISTING_BY_DATE, false },
	};
	for (size_t i = 0; i < N_OF(cases); i++) {
		struct sk_listing_opts opts = { SK_LISTING_BY_NAME, false, true, true };
		struct sk_slice q = { cases[i].query, strlen(cases[i].query) };
		sk_listing_opts_from_query(q, &opts);
		if (opts.sort != cases[i].sort || opts.descending != cases[i].descending)
			fail_msg("'%s': sort %d desc %d", cases[i].query, (int)opts.sort, (int)opts.descending);
		/* The forms are the server's to decide, never the query's. */
		assert_true(opts.can_upload && opts.can_delete);
	}
	/* Fields the query does not mention keep their value. */
	struct sk_listing_opts opts = { SK_LISTING_BY_DATE, true, false, false };
	sk_listing_opts_from_query((struct sk_slice){ NULL, 0 }, &opts);
	assert_int_equal(opts.sort, SK_LISTING_BY_DATE);
	assert_true(opts.descending);
	sk_listing_opts_from_query((struct sk_slice){ S("sort=size") }, &opts);
	assert_int_equal(opts.sort, SK_LISTING_BY_SIZE);
	assert_true(opts.descending);
}

/* ---- buffer limits ---- */

enum render_kind { RENDER_HTML, RENDER_JSON, RENDER_URL, RENDER_ESCAPE };

static int render(enum render_kind kind, struct sk_buf *b, const struct sk_listing_entry *e, size_t n)
{
	static const struct sk_listing_opts opts = { SK_LISTING_BY_SIZE, true, true, true };
	struct sk_slice path = { S("/a b/") };
	switch (kind) {
	case RENDER_HTML: return sk_listing_html(b, path, e, n, &opts);
	case RENDER_JSON: return sk_listing_json(b, path, e, n);
	case RENDER_URL: return sk_url_encode(b, e[0].name, strlen(e[0].name));
	case RENDER_ESCAPE: return sk_html_escape(b, e[0].name, strlen(e[0].name));
	}
	return SK_EINVAL;
}

/* At every limit short of the full size, each call fails with SK_ETOOLARGE
 * and leaves what the buffer held before untouched; at the full size it
 * succeeds with the same bytes as an unbounded buffer. */
static void test_http_listing_buffer_limit(void **state)
{
	(void)state;
	static const struct sk_listing_entry e[] = {
		{ "dir", true, 0, T_2026 },
		{ "<img src=x>\xff", false, 1234, T_2026 },
		{ "a\"b\n", false, 5, 0 },
	};
	static const char prefix[] = "HTTP/1.1 200 OK\r\n\r\n";
	for (int kind = RENDER_HTML; kind <= RENDER_ESCAPE; kind++) {
		const struct sk_listing_entry *es = kind >= RENDER_URL ? &e[1] : e;
		size_t n = kind >= RENDER_URL ? 1 : N_OF(e);
		struct sk_buf full;
		sk_buf_init(&full, 1 << 20);
		assert_int_equal(render(kind, &full, es, n), 0);
		size_t want_len;
		char *want = take(&full, &want_len);
		for (size_t room = 0; room <= want_len; room++) {
			struct sk_buf b;
			sk_buf_init(&b, sizeof prefix - 1 + room);
			assert_int_equal(sk_buf_append(&b, prefix, sizeof prefix - 1), 0);
			int r = render(kind, &b, es, n);
			if (room < want_len) {
				if (r != SK_ETOOLARGE)
					fail_msg("kind %d, room %zu of %zu: %s", kind, room, want_len, sk_errname(r));
				assert_int_equal(b.len, sizeof prefix - 1);
				assert_memory_equal(sk_buf_head(&b), prefix, sizeof prefix - 1);
			} else {
				assert_int_equal(r, 0);
				assert_int_equal(b.len, sizeof prefix - 1 + want_len);
				assert_memory_equal(sk_buf_head(&b) + sizeof prefix - 1, want, want_len);
			}
			sk_buf_fini(&b);
		}
		free(want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_listing_hostile_names_html),
		cmocka_unit_test(test_http_listing_hostile_names_json),
		cmocka_unit_test(test_http_listing_long_names_round_trip),
		cmocka_unit_test(test_http_listing_url_encode_table),
		cmocka_unit_test(test_http_listing_url_encode_every_byte_round_trips),
		cmocka_unit_test(test_http_listing_html_escape_table),
		cmocka_unit_test(test_http_listing_html_escape_any_bytes_stay_safe),
		cmocka_unit_test(test_http_listing_json_exact_text),
		cmocka_unit_test(test_http_listing_json_sizes_and_unrepresentable_times),
		cmocka_unit_test(test_http_listing_page_skeleton),
		cmocka_unit_test(test_http_listing_path_is_escaped),
		cmocka_unit_test(test_http_listing_parent_row),
		cmocka_unit_test(test_http_listing_rows_show_dirs_with_slash),
		cmocka_unit_test(test_http_listing_size_cells),
		cmocka_unit_test(test_http_listing_time_cells),
		cmocka_unit_test(test_http_listing_sort_links_toggle),
		cmocka_unit_test(test_http_listing_upload_form),
		cmocka_unit_test(test_http_listing_delete_buttons),
		cmocka_unit_test(test_http_listing_sort_orders),
		cmocka_unit_test(test_http_listing_sort_ignores_input_order),
		cmocka_unit_test(test_http_listing_opts_from_query),
		cmocka_unit_test(test_http_listing_buffer_limit),
	};
	return cmocka_run_group_tests_name("http_listing", tests, NULL, NULL);
}
