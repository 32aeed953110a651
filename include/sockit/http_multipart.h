/* An incremental multipart/form-data parser (RFC 7578, RFC 2046 §5.1) for
 * uploads from an HTML form: bytes go in as they arrive, part headers and
 * body bytes come out as callbacks, nothing is buffered beyond one part
 * header section and a boundary's length, so a 10 GiB upload costs no more
 * memory than a 10-byte one. */
#ifndef SOCKIT_HTTP_MULTIPART_H
#define SOCKIT_HTTP_MULTIPART_H

#include <stdbool.h>
#include <stddef.h>

#include <sockit/slice.h>

/* RFC 2046: a boundary is 1 to 70 characters. */
#define SK_MULTIPART_BOUNDARY_MAX 70
/* A part's header section (Content-Disposition, Content-Type) is short. */
#define SK_MULTIPART_HEADERS_MAX 4096

struct sk_multipart_handler {
	/* A part begins. name is the form field's name, filename the
	 * client's file name as sent, with only the quoted-string's escapes
	 * undone: \" and \\ become " and \, any other backslash is kept
	 * (old IE sends "C:\dir\a.txt" unescaped), and browsers' and curl's
	 * %22 for '"' stays as it is (HTML's encoding is ambiguous: a literal
	 * "%22" is sent the same way). A filename*=UTF-8''... parameter (RFC
	 * 5987; RFC 7578 §4.2 forbids senders to use it, some libraries still
	 * do) is percent-decoded and wins over filename; in another charset or
	 * malformed it is ignored. filename.p is NULL when the part has no
	 * filename (a plain field); filename="" (a file input left empty, as
	 * browsers send it) gives a non-NULL empty slice. The file name is
	 * peer data: it may hold '/', "..", or (through filename*) any byte.
	 * Both are views into the parser, valid during the call only. Each of
	 * the three callbacks returns 0 (or any value >= 0) to go on, or a
	 * negative error to stop the parse (returned by sk_multipart_feed). */
	int (*on_part)(void *ud, struct sk_slice name, struct sk_slice filename);
	/* Body bytes of the current part, in order, possibly in many calls,
	 * never with len 0. Bytes are handed on as they arrive; only a tail
	 * that may be the start of the next delimiter ("\r\n--" boundary,
	 * under 74 bytes) is held back until the bytes after it decide. */
	int (*on_data)(void *ud, const char *p, size_t len);
	/* The current part is complete: called once the delimiter after it
	 * has been seen whole (with its CRLF or "--"). */
	int (*on_part_end)(void *ud);
	/* Any of the three may be NULL: that event is skipped. */
};

/* Parser state: the caller owns it (no allocation), one per body. */
struct sk_multipart {
	const struct sk_multipart_handler *h;
	void *ud;
	char delim[SK_MULTIPART_BOUNDARY_MAX + 4]; /* "\r\n--" + boundary */
	size_t delim_len;
	int state;
	char hdr[SK_MULTIPART_HEADERS_MAX];        /* the current part's header section */
	size_t hdr_len;
	size_t line_start;                         /* where hdr's unfinished line begins */
	size_t match;                              /* bytes of delim matched so far */
	bool in_part;                              /* a part is open: on_part_end is due */
	bool done;                                 /* the closing delimiter was seen */
	int err;                                   /* after a failure: returned again */
};

/* Reads the boundary from a Content-Type value ("multipart/form-data;
 * boundary=----abc", quoted or not; type and parameter names in any case,
 * OWS around ';' and '='). Returns 0 and a view into content_type (inside
 * the quotes for a quoted boundary), or SK_EHTTP_BAD_REQUEST when the type
 * is not multipart/form-data, the parameters are malformed, or the boundary
 * is missing, given twice, or not 1 to 70 RFC 2046 bchars (no trailing
 * space, no backslash). *boundary is untouched on failure. */
int sk_multipart_boundary(struct sk_slice content_type, struct sk_slice *boundary);

/* Prepares m for a body with this boundary (copied: it need not outlive
 * the call). h and ud are borrowed and must outlive the parse. Returns 0,
 * or SK_EHTTP_BAD_REQUEST for a boundary sk_multipart_boundary would
 * refuse. */
int sk_multipart_init(struct sk_multipart *m, struct sk_slice boundary,
                      const struct sk_multipart_handler *h, void *ud);

/* Feeds body bytes (any split: the callbacks are the same, and their data
 * concatenates to the same bytes, however the body is cut). The body is
 * RFC 2046 §5.1.1: an ignored preamble, "--boundary", then per part
 * transport padding (SP/HTAB), CRLF, a header section of CRLF lines ended
 * by an empty line, the data, and "\r\n--boundary"; after the closing
 * "--boundary--" every byte (the epilogue) is ignored. A body of only
 * "--boundary--" has no parts and is complete. Each part needs
 * "Content-Disposition: form-data" with a name parameter; other fields are
 * checked for syntax and ignored.
 *
 * Returns 0, a handler's error unchanged, or SK_EHTTP_BAD_REQUEST for a
 * malformed body: a header section over SK_MULTIPART_HEADERS_MAX bytes
 * (its closing empty line included), a bare LF or obs-fold in it, a
 * missing, repeated or non-form-data Content-Disposition, or the boundary
 * followed by anything but padding + CRLF or "--" (a sender must choose a
 * boundary that its data does not contain, RFC 2046 §5.1.1). After an
 * error every later call returns the same error. Do not call it from a
 * callback. */
int sk_multipart_feed(struct sk_multipart *m, const char *p, size_t len);

/* After the last byte: 0 if the closing boundary ("--boundary--") was seen,
 * SK_EHTTP_BAD_REQUEST if the body ended early, or the error that stopped
 * an earlier sk_multipart_feed. */
int sk_multipart_finish(struct sk_multipart *m);

#endif
