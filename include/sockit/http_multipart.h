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
	 * client's file name exactly as sent (empty slice if none: a plain
	 * field). Both are views valid during the call only. Return 0 to go on,
	 * or a negative error to stop the parse (returned by sk_multipart_feed). */
	int (*on_part)(void *ud, struct sk_slice name, struct sk_slice filename);
	/* Body bytes of the current part, in order, possibly in many calls. */
	int (*on_data)(void *ud, const char *p, size_t len);
	/* The current part is complete. */
	int (*on_part_end)(void *ud);
};

struct sk_multipart {
	const struct sk_multipart_handler *h;
	void *ud;
	char delim[SK_MULTIPART_BOUNDARY_MAX + 4]; /* "\r\n--" + boundary */
	size_t delim_len;
	int state;
	char hdr[SK_MULTIPART_HEADERS_MAX];        /* the current part's header section */
	size_t hdr_len;
	size_t match;                              /* bytes of delim matched so far */
	bool done;
};

/* Reads the boundary from a Content-Type value ("multipart/form-data;
 * boundary=----abc", quoted or not). Returns 0, or SK_EHTTP_BAD_REQUEST when
 * the type is not multipart/form-data or the boundary is missing or invalid. */
int sk_multipart_boundary(struct sk_slice content_type, struct sk_slice *boundary);

/* Prepares a parser for a body with this boundary. */
int sk_multipart_init(struct sk_multipart *m, struct sk_slice boundary,
                      const struct sk_multipart_handler *h, void *ud);

/* Feeds body bytes (any split). Returns 0, a handler's error, or
 * SK_EHTTP_BAD_REQUEST for a malformed body. */
int sk_multipart_feed(struct sk_multipart *m, const char *p, size_t len);

/* After the last byte: 0 if the closing boundary ("--boundary--") was seen,
 * SK_EHTTP_BAD_REQUEST if the body ended early. */
int sk_multipart_finish(struct sk_multipart *m);

#endif
