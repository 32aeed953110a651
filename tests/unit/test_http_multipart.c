/* Unit tests for http_multipart.c (include/sockit/http_multipart.h). The
 * central property: a body yields the same parts, and data that
 * concatenates to the same bytes, however TCP splits it, so every body is
 * fed whole, split at every byte (and at every pair of bytes when short),
 * and one byte at a time. The fixtures are what curl and browsers send. */
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
#include <sockit/http_multipart.h>
#include <sockit/http_parse.h>

#define MAX_PARTS 64
#define MAX_FIELD 96
#define MAX_DATA 512

#define S(lit) lit, sizeof(lit) - 1
#define SL(lit) ((struct sk_slice){ lit, sizeof(lit) - 1 })

static struct sk_slice cstr(const char *s)
{
	return (struct sk_slice){ s, strlen(s) };
}

/* --- recording what the parser reports --- */

struct got_part {
	char name[MAX_FIELD];
	size_t name_len;
	char filename[MAX_FIELD];
	size_t filename_len;
	bool has_filename;
	char data[MAX_DATA];
	size_t data_len;
	bool ended;
};

enum event { EV_NONE, EV_PART, EV_DATA, EV_END };

struct rec {
	struct got_part parts[MAX_PARTS];
	size_t n;
	bool is_open;      /* between on_part and on_part_end */
	size_t data_calls;
	size_t data_total;
	int err;           /* the first error sk_multipart_feed returned */
	int finish;        /* sk_multipart_finish's result */
	/* A handler error to inject: fail_err from the fail_ev callback of
	 * part fail_part (its first on_data for EV_DATA). */
	enum event fail_ev;
	size_t fail_part;
	int fail_err;
	bool has_failed;   /* the injected error was returned: silence must follow */
};

static int inject(struct rec *r, enum event ev)
{
	if (r->has_failed)
		fail_msg("a callback after a handler's error");
	if (r->fail_ev != ev || r->n - 1 != r->fail_part)
		return 0;
	r->has_failed = true;
	return r->fail_err;
}

static void copy_field(char *dst, size_t *dst_len, struct sk_slice s)
{
	if (s.len > MAX_FIELD)
		fail_msg("field of %zu bytes", s.len);
	if (s.len)
		memcpy(dst, s.p, s.len);
	*dst_len = s.len;
}

static int on_part(void *ud, struct sk_slice name, struct sk_slice filename)
{
	struct rec *r = ud;
	if (r->is_open)
		fail_msg("on_part before the last part's on_part_end");
	if (r->n == MAX_PARTS)
		fail_msg("more than %d parts", MAX_PARTS);
	assert_non_null(name.p);
	struct got_part *g = &r->parts[r->n++];
	memset(g, 0, sizeof *g);
	copy_field(g->name, &g->name_len, name);
	g->has_filename = filename.p != NULL;
	copy_field(g->filename, &g->filename_len, filename);
	r->is_open = true;
	return inject(r, EV_PART);
}

static int on_data(void *ud, const char *p, size_t len)
{
	struct rec *r = ud;
	if (!r->is_open)
		fail_msg("on_data outside a part");
	if (len == 0)
		fail_msg("on_data with no bytes");
	struct got_part *g = &r->parts[r->n - 1];
	if (len > MAX_DATA - g->data_len)
		fail_msg("part data over %d bytes", MAX_DATA);
	bool is_first = g->data_len == 0;
	memcpy(g->data + g->data_len, p, len);
	g->data_len += len;
	r->data_calls++;
	r->data_total += len;
	return is_first ? inject(r, EV_DATA) : 0;
}

static int on_part_end(void *ud)
{
	struct rec *r = ud;
	if (!r->is_open)
		fail_msg("on_part_end outside a part");
	r->is_open = false;
	r->parts[r->n - 1].ended = true;
	return inject(r, EV_END);
}

static const struct sk_multipart_handler recorder = { on_part, on_data, on_part_end };

/* --- feeding a body in pieces --- */

/* Feeds p[0..len) from a heap copy of exactly len bytes, so that a read
 * past the piece is an ASan and valgrind error rather than a look at the
 * next piece. */
static int feed_exact(struct sk_multipart *m, const char *p, size_t len)
{
	char *copy = malloc(len ? len : 1);
	assert_non_null(copy);
	if (len)
		memcpy(copy, p, len);
	int err = sk_multipart_feed(m, copy, len);
	free(copy);
	return err;
}

struct run {
	struct sk_slice boundary;
	enum event fail_ev;
	size_t fail_part;
	int fail_err;
};

static void rec_init(struct rec *r, const struct run *how)
{
	memset(r, 0, sizeof *r);
	r->fail_ev = how->fail_ev;
	r->fail_part = how->fail_part;
	r->fail_err = how->fail_err;
}

/* Feeds body cut at cuts[0..n_cuts) (ascending), then finishes. Every
 * feed's result after an error must repeat it. */
static void parse_cut(const struct run *how, const char *body, size_t len, const size_t *cuts,
                      size_t n_cuts, struct rec *r)
{
	rec_init(r, how);
	struct sk_multipart m;
	assert_int_equal(sk_multipart_init(&m, how->boundary, &recorder, r), 0);
	size_t at = 0;
	for (size_t i = 0; i <= n_cuts; i++) {
		size_t end = i < n_cuts ? cuts[i] : len;
		int err = feed_exact(&m, body + at, end - at);
		if (r->err && err != r->err)
			fail_msg("feed after %s returned %s", sk_errname(r->err), sk_errname(err));
		if (!r->err)
			r->err = err;
		/* Never more than a delimiter's worth held back. */
		assert_true(m.match < m.delim_len);
		at = end;
	}
	r->finish = sk_multipart_finish(&m);
	if (r->err)
		assert_int_equal(r->finish, r->err);
}

static void parse_bytewise(const struct run *how, const char *body, size_t len, struct rec *r)
{
	rec_init(r, how);
	struct sk_multipart m;
	assert_int_equal(sk_multipart_init(&m, how->boundary, &recorder, r), 0);
	for (size_t i = 0; i < len; i++) {
		int err = feed_exact(&m, body + i, 1);
		if (!r->err)
			r->err = err;
		else if (err != r->err)
			fail_msg("feed after %s returned %s", sk_errname(r->err), sk_errname(err));
	}
	r->finish = sk_multipart_finish(&m);
}

static void assert_rec_equal(const struct rec *got, const struct rec *want, const char *how)
{
	if (got->err != want->err)
		fail_msg("%s: error %s, want %s", how, sk_errname(got->err), sk_errname(want->err));
	if (got->finish != want->finish)
		fail_msg("%s: finish %s, want %s", how, sk_errname(got->finish),
		         sk_errname(want->finish));
	/* After an error the parts before it may have come out, perhaps with
	 * only some of their data, but nothing else. */
	if (want->err ? got->n > want->n : got->n != want->n)
		fail_msg("%s: %zu parts, want %zu", how, got->n, want->n);
	for (size_t i = 0; i < got->n; i++) {
		const struct got_part *g = &got->parts[i], *w = &want->parts[i];
		if (g->name_len != w->name_len || memcmp(g->name, w->name, w->name_len) != 0)
			fail_msg("%s: part %zu name '%.*s', want '%.*s'", how, i, (int)g->name_len,
			         g->name, (int)w->name_len, w->name);
		if (g->has_filename != w->has_filename || g->filename_len != w->filename_len ||
		    memcmp(g->filename, w->filename, w->filename_len) != 0)
			fail_msg("%s: part %zu filename '%.*s' (%d), want '%.*s' (%d)", how, i,
			         (int)g->filename_len, g->filename, g->has_filename,
			         (int)w->filename_len, w->filename, w->has_filename);
		bool is_cut = want->err && (g->data_len < w->data_len || !g->ended);
		if (is_cut ? g->data_len > w->data_len : g->data_len != w->data_len)
			fail_msg("%s: part %zu has %zu data bytes, want %zu", how, i, g->data_len,
			         w->data_len);
		if (memcmp(g->data, w->data, g->data_len) != 0)
			fail_msg("%s: part %zu data '%.*s', want '%.*s'", how, i, (int)g->data_len,
			         g->data, (int)w->data_len, w->data);
		if (!want->err && g->ended != w->ended)
			fail_msg("%s: part %zu %s", how, i, g->ended ? "ended" : "never ended");
	}
}

/* Whole, every 2-way split, every 3-way split when short, a byte at a
 * time: all must agree with want. */
static void check_every_split(const struct run *how, const char *body, size_t len,
                              const struct rec *want, const char *what)
{
	struct rec *got = malloc(sizeof *got);
	assert_non_null(got);
	char label[160];

	parse_cut(how, body, len, NULL, 0, got);
	snprintf(label, sizeof label, "%s: whole", what);
	assert_rec_equal(got, want, label);

	for (size_t i = 0; i <= len; i++) {
		size_t cuts[2] = { i, 0 };
		parse_cut(how, body, len, cuts, 1, got);
		snprintf(label, sizeof label, "%s: split at %zu", what, i);
		assert_rec_equal(got, want, label);
		for (size_t j = i; len <= 200 && j <= len; j++) {
			cuts[1] = j;
			parse_cut(how, body, len, cuts, 2, got);
			snprintf(label, sizeof label, "%s: split at %zu and %zu", what, i, j);
			assert_rec_equal(got, want, label);
		}
	}

	parse_bytewise(how, body, len, got);
	snprintf(label, sizeof label, "%s: byte by byte", what);
	assert_rec_equal(got, want, label);
	free(got);
}

/* --- table-driven bodies --- */

struct want_part {
	const char *name;
	const char *filename; /* NULL: no filename parameter */
	const char *data;
	size_t data_len;      /* 0: strlen(data) */
	bool is_open;         /* the body ends before this part does */
};

struct body_case {
	const char *what;
	const char *boundary;
	const char *body;
	size_t len;
	int err;              /* from sk_multipart_feed */
	int finish;           /* from sk_multipart_finish when err is 0 */
	struct want_part parts[6];
};

static void add_want(struct rec *want, const char *name, size_t name_len, const char *filename,
                     size_t filename_len, const char *data, size_t data_len)
{
	assert_true(want->n < MAX_PARTS && data_len <= MAX_DATA);
	struct got_part *g = &want->parts[want->n++];
	memset(g, 0, sizeof *g);
	memcpy(g->name, name, name_len);
	g->name_len = name_len;
	g->has_filename = filename != NULL;
	if (filename)
		memcpy(g->filename, filename, filename_len);
	g->filename_len = filename_len;
	memcpy(g->data, data, data_len);
	g->data_len = data_len;
	g->ended = true;
}

static void want_of(const struct body_case *c, struct rec *want)
{
	memset(want, 0, sizeof *want);
	for (size_t i = 0; c->parts[i].name; i++) {
		const struct want_part *w = &c->parts[i];
		size_t data_len = w->data_len ? w->data_len : strlen(w->data);
		add_want(want, w->name, strlen(w->name), w->filename,
		         w->filename ? strlen(w->filename) : 0, w->data, data_len);
		want->parts[i].ended = !w->is_open;
	}
	want->err = c->err;
	want->finish = c->err ? c->err : c->finish;
}

static void check_cases(const struct body_case *cases, size_t n)
{
	struct rec *want = malloc(sizeof *want);
	assert_non_null(want);
	for (size_t i = 0; i < n; i++) {
		want_of(&cases[i], want);
		struct run how = { cstr(cases[i].boundary), EV_NONE, 0, 0 };
		check_every_split(&how, cases[i].body, cases[i].len, want, cases[i].what);
	}
	free(want);
}

#define NO_PARTS { { NULL, NULL, NULL, 0, false } }
#define CD "Content-Disposition: form-data; name="
#define D "\r\n--BOUNDARY"

static void test_http_multipart_parses_the_same_however_split(void **state)
{
	(void)state;
	static const struct body_case cases[] = {
		{ "one field", "BOUNDARY",
		  S("--BOUNDARY\r\n" CD "\"a\"\r\n\r\nhello" D "--\r\n"), 0, 0,
		  { { "a", NULL, "hello", 0, false } } },
		{ "no CRLF after the closing delimiter", "BOUNDARY",
		  S("--BOUNDARY\r\n" CD "\"a\"\r\n\r\nhello" D "--"), 0, 0,
		  { { "a", NULL, "hello", 0, false } } },
		{ "preamble and epilogue are ignored", "BOUNDARY",
		  S("This is a preamble.\r\n--BOUNDAR\r\n-\r\r\n--BOUNDARY\r\n" CD "\"a\"\r\n\r\nx" D
		    "--\r\nepilogue\r\n--BOUNDARY\r\nnot a part"),
		  0, 0, { { "a", NULL, "x", 0, false } } },
		{ "a preamble made of a delimiter prefix", "BOUNDARY",
		  S("\r\n--BOUNDAR" D "\r\n" CD "\"a\"\r\n\r\n" D "--"), 0, 0,
		  { { "a", NULL, "", 0, false } } },
		{ "data holding delimiter prefixes", "BOUNDARY",
		  S("--BOUNDARY\r\n" CD "\"a\"\r\n\r\n"
		    "x\r\n--BOUNDARX\r\n--\r\n-\r\r\n\r\n--BOUNDAR\r\r\n--BOUNDAR" D "--"),
		  0, 0, { { "a", NULL, "x\r\n--BOUNDARX\r\n--\r\n-\r\r\n\r\n--BOUNDAR\r\r\n--BOUNDAR", 0, false } } },
		{ "the boundary without CRLF is data", "BOUNDARY",
		  S("--BOUNDARY\r\n" CD "\"a\"\r\n\r\n--BOUNDARY\n--BOUNDARY--" D "--"), 0, 0,
		  { { "a", NULL, "--BOUNDARY\n--BOUNDARY--", 0, false } } },
		{ "data that is CRs and LFs", "BOUNDARY",
		  S("--BOUNDARY\r\n" CD "\"a\"\r\n\r\n\r\r\n\r\n\n\r" D "\r\n" CD "\"b\"\r\n\r\n\r\n" D
		    "--"),
		  0, 0, { { "a", NULL, "\r\r\n\r\n\n\r", 0, false }, { "b", NULL, "\r\n", 0, false } } },
		{ "a delimiter followed by a NUL", "BOUNDARY",
		  S("--BOUNDARY\r\n" CD "\"bin\"; filename=\"b.bin\"\r\n"
		    "Content-Type: application/octet-stream\r\n\r\n"
		    "\0\xff\r\0\n\r\n-\0\r\n--\0\x80\r\n--BOUNDARY\0" D "--\r\n"),
		  SK_EHTTP_BAD_REQUEST, 0,
		  { { "bin", "b.bin", "\0\xff\r\0\n\r\n-\0\r\n--\0\x80", 15, false } } },
		{ "binary data without a boundary look-alike", "BOUNDARY",
		  S("--BOUNDARY\r\n" CD "\"bin\"; filename=\"b.bin\"\r\n\r\n"
		    "\0\xff\r\0\n\r\n-\0\r\n--\0\x80\r\n--BOUNDAR\0" D "--\r\n"),
		  0, 0, { { "bin", "b.bin", "\0\xff\r\0\n\r\n-\0\r\n--\0\x80\r\n--BOUNDAR\0", 27, false } } },
		{ "empty parts", "BOUNDARY",
		  S("--BOUNDARY\r\n" CD "\"a\"\r\n\r\n" D "\r\n" CD "\"b\"\r\n\r\n" D "\r\n" CD
		    "\"c\"; filename=\"\"\r\n\r\n" D "--\r\n"),
		  0, 0, { { "a", NULL, "", 0, false }, { "b", NULL, "", 0, false }, { "c", "", "", 0, false } } },
		{ "transport padding after boundaries", "BOUNDARY",
		  S("--BOUNDARY \t \r\n" CD "\"a\"\r\n\r\n1" D "\t\r\n" CD "\"b\"\r\n\r\n2" D "--  \r\n"),
		  0, 0, { { "a", NULL, "1", 0, false }, { "b", NULL, "2", 0, false } } },
		{ "a body with no parts", "BOUNDARY", S("--BOUNDARY--\r\n"), 0, 0, NO_PARTS },
		{ "a UTF-8 file name with escaped quotes", "BOUNDARY",
		  S("--BOUNDARY\r\n" CD "\"f\"; filename=\"r\xc3\xa9sum\xc3\xa9 \\\"q\\\" \xe2\x98\x83.txt\"\r\n"
		    "Content-Type: text/plain\r\n\r\ncaf\xc3\xa9" D "--\r\n"),
		  0, 0, { { "f", "r\xc3\xa9sum\xc3\xa9 \"q\" \xe2\x98\x83.txt", "caf\xc3\xa9", 0, false } } },
		{ "%22 and lone backslashes are kept", "BOUNDARY",
		  S("--BOUNDARY\r\n" CD "\"a\\\\b\"; filename=\"C:\\Temp\\x%22y%22.txt\"\r\n\r\n" D "--"),
		  0, 0, { { "a\\b", "C:\\Temp\\x%22y%22.txt", "", 0, false } } },
		{ "names and types in any case, token values", "BOUNDARY",
		  S("--BOUNDARY\r\ncontent-DISPOSITION: FORM-DATA; NAME=field; FileName=f.txt\r\n"
		    "\r\nv" D "--"),
		  0, 0, { { "field", "f.txt", "v", 0, false } } },
		{ "OWS around ';' and '=', a trailing ';'", "BOUNDARY",
		  S("--BOUNDARY\r\nContent-Disposition:form-data;name=\"a\" ;\t filename = \"b\" ; \r\n"
		    "\r\nv" D "--"),
		  0, 0, { { "a", "b", "v", 0, false } } },
		{ "filename* decoded and preferred", "BOUNDARY",
		  S("--BOUNDARY\r\n" CD "\"a\"; filename=\"EUR rates.txt\"; "
		    "filename*=UTF-8''%e2%82%ac%20rates.txt\r\n\r\n" D "\r\n"
		    CD "\"b\"; filename*=utf-8'en'%C3%A9\r\n\r\n" D "--"),
		  0, 0, { { "a", "\xe2\x82\xac rates.txt", "", 0, false }, { "b", "\xc3\xa9", "", 0, false } } },
		{ "filename* in another charset or malformed is ignored", "BOUNDARY",
		  S("--BOUNDARY\r\n" CD "\"a\"; filename*=iso-8859-1'en'%a3%20rates; filename=\"x\"\r\n"
		    "\r\n" D "\r\n" CD "\"b\"; filename*=UTF-8''%e2%8\r\n\r\n" D "\r\n"
		    CD "\"c\"; filename*=\"UTF-8''a\"; filename=c\r\n\r\n" D "--"),
		  0, 0, { { "a", "x", "", 0, false }, { "b", NULL, "", 0, false }, { "c", "c", "", 0, false } } },
		{ "other part fields are ignored", "BOUNDARY",
		  S("--BOUNDARY\r\nContent-Type: text/plain; charset=utf-8\r\n"
		    "Content-Transfer-Encoding: 8bit\r\n" CD "\"a\"\r\nX-Empty:\r\n\r\nv" D "--"),
		  0, 0, { { "a", NULL, "v", 0, false } } },
		{ "a one-character boundary", "b",
		  S("--b\r\n" CD "\"a\"\r\n\r\n-\r\n-\r\n-b\r\n--\r\n--c\r\n--b--"), 0, 0,
		  { { "a", NULL, "-\r\n-\r\n-b\r\n--\r\n--c", 0, false } } },
		{ "a boundary with spaces and specials", "a b'()+_,-./:=?z",
		  S("--a b'()+_,-./:=?z\r\n" CD "\"a\"\r\n\r\n\r\n--a b'()+_,-./:=?\r\n"
		    "--a b'()+_,-./:=?z--"),
		  0, 0, { { "a", NULL, "\r\n--a b'()+_,-./:=?", 0, false } } },

		/* Bodies that end early: feed is fine, finish is not. */
		{ "an empty body", "BOUNDARY", S(""), 0, SK_EHTTP_BAD_REQUEST, NO_PARTS },
		{ "a preamble only", "BOUNDARY", S("hello\r\n--BOUNDAR"), 0, SK_EHTTP_BAD_REQUEST,
		  NO_PARTS },
		{ "ends in the header section", "BOUNDARY", S("--BOUNDARY\r\n" CD "\"a\"\r\n"), 0,
		  SK_EHTTP_BAD_REQUEST, NO_PARTS },
		{ "ends in the data", "BOUNDARY", S("--BOUNDARY\r\n" CD "\"a\"\r\n\r\nabc\r\n--BOUN"),
		  0, SK_EHTTP_BAD_REQUEST, { { "a", NULL, "abc", 0, true } } },
		{ "ends after a part's delimiter", "BOUNDARY",
		  S("--BOUNDARY\r\n" CD "\"a\"\r\n\r\nabc" D "\r\n"), 0, SK_EHTTP_BAD_REQUEST,
		  { { "a", NULL, "abc", 0, false } } },
		{ "ends after one dash", "BOUNDARY", S("--BOUNDARY\r\n" CD "\"a\"\r\n\r\nabc" D "-"), 0,
		  SK_EHTTP_BAD_REQUEST, { { "a", NULL, "abc", 0, true } } },
		{ "ends after a delimiter's CR", "BOUNDARY",
		  S("--BOUNDARY\r\n" CD "\"a\"\r\n\r\nabc" D " \r"), 0, SK_EHTTP_BAD_REQUEST,
		  { { "a", NULL, "abc", 0, true } } },

		/* Malformed bodies. */
		{ "no Content-Disposition", "BOUNDARY",
		  S("--BOUNDARY\r\nContent-Type: text/plain\r\n\r\nv" D "--"), SK_EHTTP_BAD_REQUEST, 0,
		  NO_PARTS },
		{ "an empty header section", "BOUNDARY", S("--BOUNDARY\r\n\r\nv" D "--"),
		  SK_EHTTP_BAD_REQUEST, 0, NO_PARTS },
		{ "not form-data", "BOUNDARY",
		  S("--BOUNDARY\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nv" D "--"),
		  SK_EHTTP_BAD_REQUEST, 0, NO_PARTS },
		{ "form-data without a name", "BOUNDARY",
		  S("--BOUNDARY\r\nContent-Disposition: form-data; filename=\"a\"\r\n\r\nv" D "--"),
		  SK_EHTTP_BAD_REQUEST, 0, NO_PARTS },
		{ "two Content-Dispositions", "BOUNDARY",
		  S("--BOUNDARY\r\n" CD "\"a\"\r\n" CD "\"b\"\r\n\r\nv" D "--"), SK_EHTTP_BAD_REQUEST,
		  0, NO_PARTS },
		{ "a second Content-Disposition adding a filename", "BOUNDARY",
		  S("--BOUNDARY\r\n" CD "\"a\"\r\nContent-Disposition: form-data; filename=x\r\n\r\nv" D
		    "--"),
		  SK_EHTTP_BAD_REQUEST, 0, NO_PARTS },
		{ "two names", "BOUNDARY", S("--BOUNDARY\r\n" CD "\"a\"; name=\"b\"\r\n\r\nv" D "--"),
		  SK_EHTTP_BAD_REQUEST, 0, NO_PARTS },
		{ "two filenames", "BOUNDARY",
		  S("--BOUNDARY\r\n" CD "\"a\"; filename=a; filename=b\r\n\r\nv" D "--"),
		  SK_EHTTP_BAD_REQUEST, 0, NO_PARTS },
		{ "a parameter without a value", "BOUNDARY",
		  S("--BOUNDARY\r\n" CD "\"a\"; filename\r\n\r\nv" D "--"), SK_EHTTP_BAD_REQUEST, 0,
		  NO_PARTS },
		{ "an unterminated quoted string", "BOUNDARY",
		  S("--BOUNDARY\r\n" CD "\"a; filename=b\r\n\r\nv" D "--"), SK_EHTTP_BAD_REQUEST, 0,
		  NO_PARTS },
		{ "junk after the disposition type", "BOUNDARY",
		  S("--BOUNDARY\r\nContent-Disposition: form-data name=\"a\"\r\n\r\nv" D "--"),
		  SK_EHTTP_BAD_REQUEST, 0, NO_PARTS },
		{ "a bare LF in the header section", "BOUNDARY",
		  S("--BOUNDARY\r\n" CD "\"a\"\n\r\nv" D "--"), SK_EHTTP_BAD_REQUEST, 0, NO_PARTS },
		{ "a bare CR in a field", "BOUNDARY",
		  S("--BOUNDARY\r\n" CD "\"a\"\rX: y\r\n\r\nv" D "--"), SK_EHTTP_BAD_REQUEST, 0,
		  NO_PARTS },
		{ "obs-fold", "BOUNDARY",
		  S("--BOUNDARY\r\nContent-Disposition: form-data;\r\n name=\"a\"\r\n\r\nv" D "--"),
		  SK_EHTTP_BAD_REQUEST, 0, NO_PARTS },
		{ "space before the colon", "BOUNDARY",
		  S("--BOUNDARY\r\nContent-Disposition : form-data; name=\"a\"\r\n\r\nv" D "--"),
		  SK_EHTTP_BAD_REQUEST, 0, NO_PARTS },
		{ "a field without a colon", "BOUNDARY",
		  S("--BOUNDARY\r\n" CD "\"a\"\r\nhello\r\n\r\nv" D "--"), SK_EHTTP_BAD_REQUEST, 0,
		  NO_PARTS },
		{ "a control byte in a field", "BOUNDARY",
		  S("--BOUNDARY\r\n" CD "\"a\x01\"\r\n\r\nv" D "--"), SK_EHTTP_BAD_REQUEST, 0,
		  NO_PARTS },
		{ "the boundary starting a longer line", "BOUNDARY",
		  S("--BOUNDARY\r\n" CD "\"a\"\r\n\r\nabc" D "X\r\n" D "--"), SK_EHTTP_BAD_REQUEST, 0,
		  { { "a", NULL, "abc", 0, false } } },
		{ "the boundary starting a longer LF-ended line", "BOUNDARY",
		  S("--BOUNDARY\r\n" CD "\"a\"\r\n\r\nabc" D "X\n" CD "\"b\"\r\n\r\n" D "--"),
		  SK_EHTTP_BAD_REQUEST, 0, { { "a", NULL, "abc", 0, false } } },
		{ "a longer line in the preamble", "BOUNDARY",
		  S("--BOUNDARYX\r\n--BOUNDARY\r\n" CD "\"a\"\r\n\r\n" D "--"), SK_EHTTP_BAD_REQUEST, 0,
		  NO_PARTS },
		{ "one dash, then junk", "BOUNDARY", S("--BOUNDARY\r\n" CD "\"a\"\r\n\r\nabc" D "-x"),
		  SK_EHTTP_BAD_REQUEST, 0, { { "a", NULL, "abc", 0, false } } },
		{ "CR without LF after the boundary", "BOUNDARY",
		  S("--BOUNDARY\r\n" CD "\"a\"\r\n\r\nabc" D "\rX"), SK_EHTTP_BAD_REQUEST, 0,
		  { { "a", NULL, "abc", 0, false } } },
		{ "a bare LF after the boundary", "BOUNDARY", S("--BOUNDARY\n" CD "\"a\"\r\n\r\n" D "--"),
		  SK_EHTTP_BAD_REQUEST, 0, NO_PARTS },
		{ "padding then junk", "BOUNDARY", S("--BOUNDARY  x\r\n"), SK_EHTTP_BAD_REQUEST, 0,
		  NO_PARTS },
	};
	check_cases(cases, sizeof cases / sizeof cases[0]);
}

/* --- what real clients send --- */

/* Captured from curl 7.88.1: curl -F file=@x -F name=value
 * -F 'up=@x;filename="résumé \"q\".txt";type=text/plain' (x holds
 * "hello\r\n--not a boundary\n"). curl escapes '"' as %22, as HTML says. */
static const char curl_body[] =
	"--------------------------8ab4b7069fdba2cf\r\n"
	"Content-Disposition: form-data; name=\"file\"; filename=\"x\"\r\n"
	"Content-Type: application/octet-stream\r\n"
	"\r\n"
	"hello\r\n--not a boundary\n"
	"\r\n--------------------------8ab4b7069fdba2cf\r\n"
	"Content-Disposition: form-data; name=\"name\"\r\n"
	"\r\n"
	"value"
	"\r\n--------------------------8ab4b7069fdba2cf\r\n"
	"Content-Disposition: form-data; name=\"up\"; filename=\"r\xc3\xa9sum\xc3\xa9 %22q%22.txt\"\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	"hello\r\n--not a boundary\n"
	"\r\n--------------------------8ab4b7069fdba2cf--\r\n";

/* Chromium: a text field, a file, and a file input left empty, which it
 * sends as filename="" with no data. */
static const char chromium_body[] =
	"------WebKitFormBoundaryX7eQvUpcB3JqNz9a\r\n"
	"Content-Disposition: form-data; name=\"title\"\r\n"
	"\r\n"
	"Holiday \xe2\x98\x80\r\nline two"
	"\r\n------WebKitFormBoundaryX7eQvUpcB3JqNz9a\r\n"
	"Content-Disposition: form-data; name=\"photo\"; filename=\"na\xc3\xafve %22pic%22.png\"\r\n"
	"Content-Type: image/png\r\n"
	"\r\n"
	"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"
	"\r\n------WebKitFormBoundaryX7eQvUpcB3JqNz9a\r\n"
	"Content-Disposition: form-data; name=\"extra\"; filename=\"\"\r\n"
	"Content-Type: application/octet-stream\r\n"
	"\r\n"
	"\r\n------WebKitFormBoundaryX7eQvUpcB3JqNz9a--\r\n";

/* Firefox: dashes and digits. */
static const char firefox_body[] =
	"-----------------------------9051914041544843365972754266\r\n"
	"Content-Disposition: form-data; name=\"text\"\r\n"
	"\r\n"
	"text default"
	"\r\n-----------------------------9051914041544843365972754266\r\n"
	"Content-Disposition: form-data; name=\"file1\"; filename=\"a.txt\"\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	"Content of a.txt.\n"
	"\r\n-----------------------------9051914041544843365972754266--\r\n";

static void test_http_multipart_parses_real_clients(void **state)
{
	(void)state;
	struct rec *want = malloc(sizeof *want);
	assert_non_null(want);
	struct sk_slice b;

	memset(want, 0, sizeof *want);
	assert_int_equal(sk_multipart_boundary(SL("multipart/form-data; "
	                                          "boundary=------------------------8ab4b7069fdba2cf"),
	                                       &b), 0);
	add_want(want, S("file"), S("x"), S("hello\r\n--not a boundary\n"));
	add_want(want, S("name"), NULL, 0, S("value"));
	add_want(want, S("up"), S("r\xc3\xa9sum\xc3\xa9 %22q%22.txt"), S("hello\r\n--not a boundary\n"));
	struct run how = { b, EV_NONE, 0, 0 };
	check_every_split(&how, curl_body, sizeof curl_body - 1, want, "curl");

	memset(want, 0, sizeof *want);
	assert_int_equal(sk_multipart_boundary(SL("multipart/form-data; "
	                                          "boundary=----WebKitFormBoundaryX7eQvUpcB3JqNz9a"),
	                                       &b), 0);
	add_want(want, S("title"), NULL, 0, S("Holiday \xe2\x98\x80\r\nline two"));
	add_want(want, S("photo"), S("na\xc3\xafve %22pic%22.png"), S("\x89PNG\r\n\x1a\n\0\0\0\rIHDR"));
	add_want(want, S("extra"), "", 0, "", 0);
	how.boundary = b;
	check_every_split(&how, chromium_body, sizeof chromium_body - 1, want, "chromium");

	memset(want, 0, sizeof *want);
	assert_int_equal(sk_multipart_boundary(SL("multipart/form-data; boundary="
	                                          "---------------------------9051914041544843365972754266"),
	                                       &b), 0);
	add_want(want, S("text"), NULL, 0, S("text default"));
	add_want(want, S("file1"), S("a.txt"), S("Content of a.txt.\n"));
	how.boundary = b;
	check_every_split(&how, firefox_body, sizeof firefox_body - 1, want, "firefox");
	free(want);
}

/* --- many parts, long headers --- */

static void test_http_multipart_parses_many_parts(void **state)
{
	(void)state;
	static const char *const datas[] = { "", "x", "\r", "\r\n", "\r\n--", "\r\n--bound",
	                                     "\r\n--bounda\r\n--boundar", "-", "plain text" };
	size_t n_datas = sizeof datas / sizeof datas[0];
	size_t cap = 16384, len = 0;
	char *body = malloc(cap);
	struct rec *want = malloc(sizeof *want);
	assert_non_null(body);
	assert_non_null(want);
	memset(want, 0, sizeof *want);
	for (size_t i = 0; i < 50; i++) {
		char name[16], filename[32];
		snprintf(name, sizeof name, "f%zu", i);
		snprintf(filename, sizeof filename, "file %zu.bin", i);
		bool has_file = i % 3 == 0;
		const char *data = datas[i % n_datas];
		len += (size_t)snprintf(body + len, cap - len,
		                        "--boundary\r\nContent-Disposition: form-data; name=\"%s\"%s%s%s\r\n\r\n"
		                        "%s\r\n",
		                        name, has_file ? "; filename=\"" : "", has_file ? filename : "",
		                        has_file ? "\"" : "", data);
		add_want(want, name, strlen(name), has_file ? filename : NULL,
		         has_file ? strlen(filename) : 0, data, strlen(data));
	}
	len += (size_t)snprintf(body + len, cap - len, "--boundary--\r\n");
	assert_true(len < cap);
	struct run how = { SL("boundary"), EV_NONE, 0, 0 };
	check_every_split(&how, body, len, want, "50 parts");
	free(want);
	free(body);
}

/* Builds a part whose header section, closing empty line included, is
 * section_len bytes long. */
static size_t body_with_section(char *body, size_t section_len)
{
	static const char head[] = "--B\r\n";
	static const char cd[] = "Content-Disposition: form-data; name=\"a\"\r\n";
	static const char pad[] = "X-Pad: ";
	size_t len = 0;
	memcpy(body + len, head, sizeof head - 1);
	len += sizeof head - 1;
	memcpy(body + len, cd, sizeof cd - 1);
	len += sizeof cd - 1;
	size_t n_pad = section_len - (sizeof cd - 1) - (sizeof pad - 1) - 4;
	memcpy(body + len, pad, sizeof pad - 1);
	len += sizeof pad - 1;
	memset(body + len, 'p', n_pad);
	len += n_pad;
	memcpy(body + len, "\r\n\r\nv\r\n--B--", 13);
	return len + 13;
}

static void test_http_multipart_limits_the_header_section(void **state)
{
	(void)state;
	char *body = malloc(SK_MULTIPART_HEADERS_MAX + 64);
	struct rec *want = malloc(sizeof *want), *got = malloc(sizeof *got);
	assert_non_null(body);
	assert_non_null(want);
	assert_non_null(got);
	struct run how = { SL("B"), EV_NONE, 0, 0 };

	size_t len = body_with_section(body, SK_MULTIPART_HEADERS_MAX);
	memset(want, 0, sizeof *want);
	add_want(want, S("a"), NULL, 0, S("v"));
	parse_cut(&how, body, len, NULL, 0, got);
	assert_rec_equal(got, want, "a section of exactly the limit");
	parse_bytewise(&how, body, len, got);
	assert_rec_equal(got, want, "a section of exactly the limit, byte by byte");

	len = body_with_section(body, SK_MULTIPART_HEADERS_MAX + 1);
	memset(want, 0, sizeof *want);
	want->err = want->finish = SK_EHTTP_BAD_REQUEST;
	parse_cut(&how, body, len, NULL, 0, got);
	assert_rec_equal(got, want, "one byte over the limit");
	parse_bytewise(&how, body, len, got);
	assert_rec_equal(got, want, "one byte over the limit, byte by byte");

	/* A section that never ends is refused once it passes the limit, not
	 * buffered. */
	struct sk_multipart m;
	assert_int_equal(sk_multipart_init(&m, SL("B"), &recorder, got), 0);
	rec_init(got, &how);
	assert_int_equal(sk_multipart_feed(&m, S("--B\r\nX: ")), 0);
	memset(body, 'x', SK_MULTIPART_HEADERS_MAX + 64);
	assert_int_equal(sk_multipart_feed(&m, body, SK_MULTIPART_HEADERS_MAX - 3), 0);
	assert_int_equal(sk_multipart_feed(&m, body, 1), SK_EHTTP_BAD_REQUEST);
	free(got);
	free(want);
	free(body);
}

/* --- streaming: nothing held back but a delimiter prefix --- */

/* The longest suffix of data[0..n) that begins "\r\n--B..." (a prefix of
 * delim): what the parser may hold back. */
static size_t held_back(const char *data, size_t n, const char *delim, size_t delim_len)
{
	for (size_t k = n < delim_len - 1 ? n : delim_len - 1; k > 0; k--)
		if (memcmp(data + n - k, delim, k) == 0)
			return k;
	return 0;
}

static void test_http_multipart_holds_back_only_a_delimiter_prefix(void **state)
{
	(void)state;
	static const char head[] = "--BOUNDARY\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n";
	static const char delim[] = "\r\n--BOUNDARY";
	static const struct {
		const char *data;
		size_t len;
	} datas[] = {
		{ S("plain text arrives at once") },
		{ S("a\r\n--BOUNDARX\r\n--BOUNDAR\r\r\n-\r\nz") },
		{ S("\r\r\r\n\r\n-\r\n--\r\n--B\r\n--BO") },
		{ S("\0\r\0\n\xff\r\n--BOUNDAR\0") },
	};
	struct rec *r = malloc(sizeof *r);
	assert_non_null(r);
	struct run how = { SL("BOUNDARY"), EV_NONE, 0, 0 };
	for (size_t c = 0; c < sizeof datas / sizeof datas[0]; c++) {
		rec_init(r, &how);
		struct sk_multipart m;
		assert_int_equal(sk_multipart_init(&m, how.boundary, &recorder, r), 0);
		assert_int_equal(sk_multipart_feed(&m, head, sizeof head - 1), 0);
		assert_int_equal(r->n, 1);
		for (size_t i = 0; i < datas[c].len; i++) {
			assert_int_equal(sk_multipart_feed(&m, datas[c].data + i, 1), 0);
			size_t want = i + 1 - held_back(datas[c].data, i + 1, delim, sizeof delim - 1);
			if (r->data_total != want)
				fail_msg("data %zu, byte %zu: %zu bytes handed on, want %zu", c, i,
				         r->data_total, want);
		}
		/* In one piece, the same bytes come out in one call. */
		rec_init(r, &how);
		assert_int_equal(sk_multipart_init(&m, how.boundary, &recorder, r), 0);
		assert_int_equal(sk_multipart_feed(&m, head, sizeof head - 1), 0);
		assert_int_equal(sk_multipart_feed(&m, datas[c].data, datas[c].len), 0);
		size_t want = datas[c].len - held_back(datas[c].data, datas[c].len, delim, sizeof delim - 1);
		assert_int_equal(r->data_total, want);
		assert_int_equal(r->data_calls, want ? 1 : 0);
		assert_int_equal(sk_multipart_feed(&m, S(D "--")), 0);
		assert_int_equal(sk_multipart_finish(&m), 0);
		assert_int_equal(r->parts[0].data_len, datas[c].len);
		assert_memory_equal(r->parts[0].data, datas[c].data, datas[c].len);
	}
	free(r);
}

/* A large binary upload: every byte arrives, in about one call per feed. */
struct sink {
	const char *want;
	size_t at;
	size_t calls;
	size_t parts, ends;
};

static int sink_part(void *ud, struct sk_slice name, struct sk_slice filename)
{
	struct sink *s = ud;
	assert_true(name.len == 6 && memcmp(name.p, "upload", 6) == 0);
	assert_true(filename.len == 7 && memcmp(filename.p, "big.bin", 7) == 0);
	s->parts++;
	return 0;
}

static int sink_data(void *ud, const char *p, size_t len)
{
	struct sink *s = ud;
	if (memcmp(p, s->want + s->at, len) != 0)
		fail_msg("data differs within bytes %zu..%zu", s->at, s->at + len);
	s->at += len;
	s->calls++;
	return 0;
}

static int sink_end(void *ud)
{
	struct sink *s = ud;
	s->ends++;
	return 0;
}

static void test_http_multipart_streams_a_large_upload(void **state)
{
	(void)state;
	static const char head[] = "--XyZ-boundary-1234567890\r\n"
	                           "Content-Disposition: form-data; name=\"upload\"; filename=\"big.bin\"\r\n"
	                           "Content-Type: application/octet-stream\r\n\r\n";
	static const char tail[] = "\r\n--XyZ-boundary-1234567890--\r\n";
	static const char near[] = "\r\n--XyZ-boundary-123456789x"; /* x: not the last '0' */
	size_t data_len = (size_t)1 << 20;
	size_t len = sizeof head - 1 + data_len + sizeof tail - 1;
	char *body = malloc(len);
	assert_non_null(body);
	memcpy(body, head, sizeof head - 1);
	char *data = body + sizeof head - 1;
	uint32_t x = 2463534242u; /* xorshift32: binary bytes, CRs included */
	for (size_t i = 0; i < data_len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		data[i] = (char)(x >> 24);
	}
	/* Near misses of the delimiter, some across feed boundaries. */
	for (size_t i = 4000; i + sizeof near < data_len; i += 40009)
		memcpy(data + i, near, sizeof near - 1);
	memcpy(data + data_len, tail, sizeof tail - 1);

	static const struct sk_multipart_handler h = { sink_part, sink_data, sink_end };
	static const size_t chunks[] = { 1, 7, 1000, 4096, 65536 };
	for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
		/* A byte at a time for the first 100 KB only, to keep the test fast. */
		struct sink s = { data, 0, 0, 0, 0 };
		struct sk_multipart m;
		assert_int_equal(sk_multipart_init(&m, SL("XyZ-boundary-1234567890"), &h, &s), 0);
		size_t n_feeds = 0;
		for (size_t at = 0; at < len; n_feeds++) {
			size_t n = chunks[c] == 1 && at > 100000 ? 4096 : chunks[c];
			if (n > len - at)
				n = len - at;
			assert_int_equal(sk_multipart_feed(&m, body + at, n), 0);
			at += n;
		}
		assert_int_equal(sk_multipart_finish(&m), 0);
		assert_int_equal(s.at, data_len);
		assert_int_equal(s.parts, 1);
		assert_int_equal(s.ends, 1);
		/* At most the held-back bytes and one run per feed. */
		if (s.calls > 2 * n_feeds)
			fail_msg("chunk %zu: %zu on_data calls for %zu feeds", chunks[c], s.calls, n_feeds);
		if (chunks[c] >= 1000 && s.calls > n_feeds + 40)
			fail_msg("chunk %zu: %zu on_data calls for %zu feeds", chunks[c], s.calls, n_feeds);
	}
	free(body);
}

/* --- handler errors --- */

static void test_http_multipart_handler_errors_stop_the_parse(void **state)
{
	(void)state;
	static const char body[] = "--BOUNDARY\r\n" CD "\"a\"\r\n\r\nfirst" D "\r\n" CD
	                           "\"b\"; filename=\"b.txt\"\r\n\r\nsecond" D "\r\n" CD "\"c\"\r\n\r\nthird" D
	                           "--\r\n";
	static const struct {
		enum event ev;
		size_t part;
		size_t n_parts;   /* parts that began */
		size_t last_data; /* data bytes the last of them saw, at most */
	} cases[] = {
		{ EV_PART, 0, 1, 0 },
		{ EV_DATA, 0, 1, 5 },
		{ EV_END, 0, 1, 5 },
		{ EV_PART, 1, 2, 0 },
		{ EV_DATA, 1, 2, 6 },
		{ EV_END, 1, 2, 6 },
		{ EV_END, 2, 3, 5 },
	};
	struct rec *want = malloc(sizeof *want);
	assert_non_null(want);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		memset(want, 0, sizeof *want);
		add_want(want, S("a"), NULL, 0, S("first"));
		add_want(want, S("b"), S("b.txt"), S("second"));
		add_want(want, S("c"), NULL, 0, S("third"));
		want->n = cases[i].n_parts;
		want->err = want->finish = SK_ENOSPC;
		struct run how = { SL("BOUNDARY"), cases[i].ev, cases[i].part, SK_ENOSPC };
		char what[64];
		snprintf(what, sizeof what, "handler error %zu", i);
		check_every_split(&how, body, sizeof body - 1, want, what);

		/* The failing callback was the last one, and the error sticks. */
		struct rec *r = malloc(sizeof *r);
		assert_non_null(r);
		rec_init(r, &how);
		struct sk_multipart m;
		assert_int_equal(sk_multipart_init(&m, how.boundary, &recorder, r), 0);
		assert_int_equal(sk_multipart_feed(&m, body, sizeof body - 1), SK_ENOSPC);
		assert_true(r->has_failed);
		assert_int_equal(r->n, cases[i].n_parts);
		assert_true(r->parts[r->n - 1].data_len <= cases[i].last_data);
		assert_int_equal(sk_multipart_feed(&m, S("more")), SK_ENOSPC);
		assert_int_equal(sk_multipart_finish(&m), SK_ENOSPC);
		free(r);
	}
	free(want);
}

static void test_http_multipart_handlers_may_be_null(void **state)
{
	(void)state;
	static const struct sk_multipart_handler none = { NULL, NULL, NULL };
	static const char body[] = "--BOUNDARY\r\n" CD "\"a\"\r\n\r\nfirst" D "--\r\n";
	struct sk_multipart m;
	assert_int_equal(sk_multipart_init(&m, SL("BOUNDARY"), &none, NULL), 0);
	assert_int_equal(sk_multipart_feed(&m, body, sizeof body - 1), 0);
	assert_int_equal(sk_multipart_finish(&m), 0);
	/* The epilogue, however long, is ignored. */
	assert_int_equal(sk_multipart_feed(&m, S("--BOUNDARY\r\njunk\r\n")), 0);
	assert_int_equal(sk_multipart_finish(&m), 0);
}

static int count_part(void *ud, struct sk_slice name, struct sk_slice filename)
{
	(void)name;
	(void)filename;
	++*(int *)ud;
	return 1;
}

static int count_data(void *ud, const char *p, size_t len)
{
	(void)p;
	*(int *)ud += (int)len;
	return 7;
}

static int count_end(void *ud)
{
	++*(int *)ud;
	return 1;
}

static void test_http_multipart_positive_handler_results_go_on(void **state)
{
	(void)state;
	static const struct sk_multipart_handler h = { count_part, count_data, count_end };
	static const char body[] = "--BOUNDARY\r\n" CD "\"a\"\r\n\r\nfirst" D "\r\n" CD "\"b\"\r\n\r\nxy" D "--";
	int events = 0;
	struct sk_multipart m;
	assert_int_equal(sk_multipart_init(&m, SL("BOUNDARY"), &h, &events), 0);
	assert_int_equal(sk_multipart_feed(&m, body, sizeof body - 1), 0);
	assert_int_equal(sk_multipart_finish(&m), 0);
	assert_int_equal(events, 2 + 5 + 2 + 2);
}

/* --- the boundary parameter --- */

static void test_http_multipart_boundary_reads_content_type(void **state)
{
	(void)state;
	static const struct {
		const char *content_type;
		const char *boundary;
	} cases[] = {
		{ "multipart/form-data; boundary=----WebKitFormBoundaryX7e", "----WebKitFormBoundaryX7e" },
		{ "multipart/form-data; boundary=------------------------8ab4b7069fdba2cf",
		  "------------------------8ab4b7069fdba2cf" },
		{ "multipart/form-data; charset=utf-8; boundary=\"a b\"", "a b" },
		{ "Multipart/Form-Data; BOUNDARY=abc", "abc" },
		{ "multipart/form-data;boundary=abc", "abc" },
		{ "  multipart/form-data \t;\t boundary = abc ; charset=\"x;y\"  ", "abc" },
		{ "multipart/form-data; boundary=\"'()+_,-./:=? z\"", "'()+_,-./:=? z" },
		{ "multipart/form-data; boundary=x; other=\"quoted \\\" pair\"", "x" },
		{ "multipart/form-data; boundary=1234567890123456789012345678901234567890"
		  "123456789012345678901234567890",
		  "1234567890123456789012345678901234567890123456789012345678901234567890" },
		{ "multipart/form-data; boundary=\"1234567890123456789012345678901234567890"
		  "123456789012345678901234567890\"",
		  "1234567890123456789012345678901234567890123456789012345678901234567890" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t len = strlen(cases[i].content_type);
		char *copy = malloc(len); /* no NUL after it: ASan sees overreads */
		assert_non_null(copy);
		memcpy(copy, cases[i].content_type, len);
		struct sk_slice ct = { copy, len }, b = { NULL, 0 };
		int err = sk_multipart_boundary(ct, &b);
		if (err)
			fail_msg("'%s': %s", cases[i].content_type, sk_errname(err));
		size_t n = strlen(cases[i].boundary);
		if (b.len != n || memcmp(b.p, cases[i].boundary, n) != 0)
			fail_msg("'%s': boundary '%.*s', want '%s'", cases[i].content_type, (int)b.len, b.p,
			         cases[i].boundary);
		/* A view into the caller's string, not a copy. */
		assert_true(b.p > ct.p && b.p + b.len <= ct.p + ct.len);
		struct sk_multipart m;
		assert_int_equal(sk_multipart_init(&m, b, &recorder, NULL), 0);
		free(copy);
	}
}

static void test_http_multipart_boundary_rejects_bad_content_types(void **state)
{
	(void)state;
	static const char *const cases[] = {
		"",
		"text/plain; boundary=abc",
		"multipart/mixed; boundary=abc",
		"multipart/form-datax; boundary=abc",
		"multipart/form-data",
		"multipart/form-data;",
		"multipart/form-data; charset=utf-8",
		"multipart/form-data; boundary=",
		"multipart/form-data; boundary=\"\"",
		"multipart/form-data; boundary=abc; boundary=abc",
		"multipart/form-data; boundary",
		"multipart/form-data; boundary=\"abc",
		"multipart/form-data; boundary=a\"bc\"",
		"multipart/form-data boundary=abc",
		"multipart/form-data; boundary=abc junk",
		"multipart/form-data; boundary=\"abc \"",   /* ends in a space */
		"multipart/form-data; boundary=\"a\\\\b\"",  /* a backslash */
		"multipart/form-data; boundary=\"a\\\"b\"",  /* a quoted-pair: '"' is no bchar */
		"multipart/form-data; boundary=a!b",         /* tchar, but no bchar */
		"multipart/form-data; boundary=\"a\x01\"",
		"multipart/form-data; boundary=\"a\xc3\xa9\"",
		("multipart/form-data; boundary=1234567890123456789012345678901234567890"
		 "1234567890123456789012345678901"),          /* 71 */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t len = strlen(cases[i]);
		char *copy = malloc(len ? len : 1);
		assert_non_null(copy);
		memcpy(copy, cases[i], len);
		struct sk_slice b = { "untouched", 9 };
		int err = sk_multipart_boundary((struct sk_slice){ copy, len }, &b);
		free(copy);
		if (err != SK_EHTTP_BAD_REQUEST)
			fail_msg("'%s': %s, want SK_EHTTP_BAD_REQUEST", cases[i], sk_errname(err));
		assert_true(b.len == 9 && memcmp(b.p, "untouched", 9) == 0);
	}
}

static void test_http_multipart_init_rejects_bad_boundaries(void **state)
{
	(void)state;
	static const struct sk_slice cases[] = {
		{ "", 0 },
		{ "ab ", 3 },
		{ "a\rb", 3 },
		{ "a\\b", 3 },
		{ "1234567890123456789012345678901234567890123456789012345678901234567890x", 71 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct sk_multipart m;
		assert_int_equal(sk_multipart_init(&m, cases[i], &recorder, NULL), SK_EHTTP_BAD_REQUEST);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_multipart_parses_the_same_however_split),
		cmocka_unit_test(test_http_multipart_parses_real_clients),
		cmocka_unit_test(test_http_multipart_parses_many_parts),
		cmocka_unit_test(test_http_multipart_limits_the_header_section),
		cmocka_unit_test(test_http_multipart_holds_back_only_a_delimiter_prefix),
		cmocka_unit_test(test_http_multipart_streams_a_large_upload),
		cmocka_unit_test(test_http_multipart_handler_errors_stop_the_parse),
		cmocka_unit_test(test_http_multipart_handlers_may_be_null),
		cmocka_unit_test(test_http_multipart_positive_handler_results_go_on),
		cmocka_unit_test(test_http_multipart_boundary_reads_content_type),
		cmocka_unit_test(test_http_multipart_boundary_rejects_bad_content_types),
		cmocka_unit_test(test_http_multipart_init_rejects_bad_boundaries),
	};
	return cmocka_run_group_tests_name("http_multipart", tests, NULL, NULL);
}
