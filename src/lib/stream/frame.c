/* Framing codecs: raw, LF lines (CRLF tolerated), 32-bit length prefixes. */
#include <sockit/err.h>
#include <sockit/frame.h>

#include <string.h>

static const char *const mode_names[] = { "raw", "line", "len32" };

int sk_frame_mode_parse(const char *name, enum sk_frame_mode *mode)
{
	for (size_t i = 0; i < sizeof mode_names / sizeof mode_names[0]; i++) {
		if (strcmp(name, mode_names[i]) == 0) {
			*mode = (enum sk_frame_mode)i;
			return 0;
		}
	}
	return SK_EINVAL;
}

const char *sk_frame_mode_name(enum sk_frame_mode mode)
{
	return mode_names[mode];
}

void sk_framer_init(struct sk_framer *f, enum sk_frame_mode mode, size_t max_msg)
{
	f->mode = mode;
	f->max_msg = max_msg;
	f->scanned = 0;
	/* A partial message (at most max_msg, plus a len32 header or a CR)
	 * and one push on top of it. */
	sk_buf_init(&f->buf, max_msg + 4 + SK_FRAME_CHUNK);
}

void sk_framer_fini(struct sk_framer *f)
{
	sk_buf_fini(&f->buf);
}

int sk_framer_push(struct sk_framer *f, const char *p, size_t len)
{
	return sk_buf_append(&f->buf, p, len);
}

static int next_line(struct sk_framer *f, struct sk_slice *msg)
{
	if (f->buf.len == 0)
		return 0; /* nothing held: the buffer may not even be allocated */
	const char *head = sk_buf_head(&f->buf);
	/* Search only the bytes not searched before: a line arriving a byte at a
	 * time must not cost a rescan per byte. */
	const char *lf = memchr(head + f->scanned, '\n', f->buf.len - f->scanned);
	if (!lf) {
		f->scanned = f->buf.len;
		/* Already too long, unless the byte past the limit is the CR of a
		 * CRLF, which is not part of the line. */
		size_t n = f->buf.len;
		if (n > f->max_msg && !(n == f->max_msg + 1 && head[n - 1] == '\r'))
			return SK_ETOOLARGE;
		return 0;
	}
	size_t len = (size_t)(lf - head);
	size_t msg_len = len > 0 && head[len - 1] == '\r' ? len - 1 : len;
	if (msg_len > f->max_msg)
		return SK_ETOOLARGE;
	msg->p = head;
	msg->len = msg_len;
	sk_buf_consume(&f->buf, len + 1);
	f->scanned = 0;
	return 1;
}

static int next_len32(struct sk_framer *f, struct sk_slice *msg)
{
	if (f->buf.len < 4)
		return 0;
	const unsigned char *h = (const unsigned char *)sk_buf_head(&f->buf);
	uint32_t len = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
	if (len > f->max_msg)
		return SK_ETOOLARGE;
	if (f->buf.len - 4 < len)
		return 0;
	msg->p = sk_buf_head(&f->buf) + 4;
	msg->len = len;
	sk_buf_consume(&f->buf, 4 + (size_t)len);
	return 1;
}

int sk_framer_next(struct sk_framer *f, struct sk_slice *msg)
{
	switch (f->mode) {
	case SK_FRAME_LINE:
		return next_line(f, msg);
	case SK_FRAME_LEN32:
		return next_len32(f, msg);
	case SK_FRAME_RAW:
	default:
		if (f->buf.len == 0)
			return 0;
		msg->p = sk_buf_head(&f->buf);
		msg->len = f->buf.len;
		sk_buf_consume(&f->buf, f->buf.len);
		return 1;
	}
}

void sk_framer_consume_all(struct sk_framer *f)
{
	sk_buf_consume(&f->buf, f->buf.len);
	f->scanned = 0;
}

void sk_framer_release(struct sk_framer *f)
{
	if (f->buf.len == 0)
		sk_buf_fini(&f->buf);
}

size_t sk_framer_pending(const struct sk_framer *f)
{
	return f->buf.len;
}

size_t sk_frame_header(enum sk_frame_mode mode, size_t len, char head[4], const char **tail)
{
	*tail = mode == SK_FRAME_LINE ? "\n" : "";
	if (mode != SK_FRAME_LEN32)
		return 0;
	head[0] = (char)(len >> 24 & 0xff);
	head[1] = (char)(len >> 16 & 0xff);
	head[2] = (char)(len >> 8 & 0xff);
	head[3] = (char)(len & 0xff);
	return 4;
}
