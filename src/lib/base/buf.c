/* Bounded byte queue. Consuming moves a start offset; the bytes move to the
 * front only when an append needs the space, so a queue drained piecemeal
 * costs no memmove per write. */
#include <sockit/buf.h>
#include <sockit/err.h>

#include <stdlib.h>
#include <string.h>

void sk_buf_init(struct sk_buf *b, size_t max)
{
	b->data = NULL;
	b->start = b->len = b->cap = 0;
	b->max = max;
}

void sk_buf_fini(struct sk_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->start = b->len = b->cap = 0;
}

int sk_buf_reserve(struct sk_buf *b, size_t len)
{
	if (len > b->max - b->len)
		return SK_ETOOLARGE;
	if (len == 0)
		return 0;
	if (len > b->cap - b->start - b->len) {
		if (b->start && len <= b->cap - b->len) {
			memmove(b->data, b->data + b->start, b->len);
			b->start = 0;
		} else {
			size_t cap = b->cap ? b->cap : SK_BUF_INIT < b->max ? SK_BUF_INIT : b->max;
			while (cap - b->len < len)
				cap = cap > b->max / 2 ? b->max : cap * 2;
			char *data = malloc(cap);
			if (!data)
				return SK_ENOMEM;
			if (b->len)
				memcpy(data, b->data + b->start, b->len);
			free(b->data);
			b->data = data;
			b->cap = cap;
			b->start = 0;
		}
	}
	return 0;
}

int sk_buf_append(struct sk_buf *b, const void *p, size_t len)
{
	int err = sk_buf_reserve(b, len);
	if (err < 0 || len == 0)
		return err;
	memcpy(b->data + b->start + b->len, p, len);
	b->len += len;
	return 0;
}

void sk_buf_consume(struct sk_buf *b, size_t n)
{
	b->len -= n;
	b->start = b->len ? b->start + n : 0;
}

int sk_buf_headroom(struct sk_buf *b, size_t n)
{
	if (b->len || n > b->max)
		return SK_EINVAL;
	int err = sk_buf_reserve(b, n);
	if (err < 0)
		return err;
	b->start = n;
	return 0;
}

int sk_buf_prepend(struct sk_buf *b, const void *p, size_t len)
{
	if (len > b->max - b->len)
		return SK_ETOOLARGE;
	if (len <= b->start) {
		b->start -= len;
		memcpy(b->data + b->start, p, len);
		b->len += len;
		return 0;
	}
	/* No room in front: one copy into a buffer that has it. */
	size_t cap = b->cap > len + b->len ? b->cap : len + b->len;
	char *data = malloc(cap);
	if (!data)
		return SK_ENOMEM;
	memcpy(data, p, len);
	if (b->len)
		memcpy(data + len, b->data + b->start, b->len);
	free(b->data);
	b->data = data;
	b->cap = cap;
	b->start = 0;
	b->len += len;
	return 0;
}
