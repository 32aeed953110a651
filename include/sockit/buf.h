/* A bounded byte queue: append at the end, consume from the front. Growth
 * doubles up to max; appending past max fails with SK_ETOOLARGE instead of
 * using more memory (every per-connection buffer has a ceiling). */
#ifndef SOCKIT_BUF_H
#define SOCKIT_BUF_H

#include <stddef.h>

struct sk_buf {
	char *data;
	size_t start;  /* first unconsumed byte */
	size_t len;    /* unconsumed bytes, from data + start */
	size_t cap;    /* allocated */
	size_t max;    /* ceiling for len */
};

/* Initial allocation; tests build with -DSK_BUF_INIT=1 so growth paths run. */
#ifndef SK_BUF_INIT
#define SK_BUF_INIT 4096
#endif

/* An empty buffer holding at most max bytes; allocates nothing yet. */
void sk_buf_init(struct sk_buf *b, size_t max);

/* Frees the storage (the struct is the caller's). Safe on an initialised,
 * empty or already finished buffer. */
void sk_buf_fini(struct sk_buf *b);

/* Appends len bytes. Returns 0, SK_ETOOLARGE (len would pass max; nothing is
 * appended) or SK_ENOMEM. */
int sk_buf_append(struct sk_buf *b, const void *p, size_t len);

/* Makes room for len more bytes at the end, contiguous, without adding
 * any: b->data + b->start + b->len may then be written and len counted by
 * the caller. Returns 0, SK_ETOOLARGE or SK_ENOMEM, like append. */
int sk_buf_reserve(struct sk_buf *b, size_t len);

/* Leaves n bytes of room in front of an empty buffer, for a header that is
 * known only once the rest is built (sk_buf_prepend). SK_EINVAL if b is not
 * empty; else as reserve. */
int sk_buf_headroom(struct sk_buf *b, size_t n);

/* Puts len bytes in front of the buffer's bytes: into the room in front
 * when there is enough (no other byte moves), else by one copy into a new
 * buffer. Returns 0, SK_ETOOLARGE or SK_ENOMEM. */
int sk_buf_prepend(struct sk_buf *b, const void *p, size_t len);

/* The unconsumed bytes: a view valid until the next append or consume. */
static inline const char *sk_buf_head(const struct sk_buf *b)
{
	return b->data + b->start;
}

/* Drops n (<= len) bytes from the front. */
void sk_buf_consume(struct sk_buf *b, size_t n);

/* Room that an append of up to max - len bytes would still accept. */
static inline size_t sk_buf_room(const struct sk_buf *b)
{
	return b->max - b->len;
}

#endif
