/* Chunked transfer coding (RFC 9112 §7.1), decoded a byte at a time through
 * the framing and a run at a time through the data, so it resumes anywhere:
 *
 *   chunk-size [ chunk-ext ] CRLF  chunk-data CRLF  ...  0 [ chunk-ext ] CRLF
 *   *( field-line CRLF ) CRLF
 *
 * A state per position, one function per kind of byte. */
#include <sockit/err.h>
#include <sockit/http_parse.h>

#include <string.h>

#include "base/base_internal.h"
#include "http/http_internal.h"

enum state {
	SIZE,            /* hex digits */
	EXT_START,       /* after ';': an extension name */
	EXT_NAME,
	EXT_VALUE_START, /* after '=' */
	EXT_TOKEN,
	EXT_QUOTED,
	EXT_QUOTED_ESCAPE,
	EXT_QUOTED_END,  /* after the closing quote: ';' or CR */
	SIZE_LF,         /* CR seen, LF must follow */
	DATA,
	DATA_CR,
	DATA_LF,
	TRAILER_START,   /* a field line or the final CRLF */
	TRAILER,
	TRAILER_LF,
	END_LF,
	DONE,
};

/* A size line with its extensions, and all trailers together, are bounded:
 * nothing legitimate comes near, and each byte of them costs us work. */
#define MAX_SIZE_LINE 4096
#define MAX_TRAILER_BYTES 16384
/* 15 hex digits is 2^60: larger than any body, and far from wrapping. */
#define MAX_SIZE_DIGITS 15

void sk_http_chunked_init(struct sk_http_chunked *c)
{
	memset(c, 0, sizeof *c);
	c->state = SIZE;
}

/* qdtext and the second byte of a quoted-pair (RFC 9110 §5.6.4). */
static bool is_qdtext(unsigned char ch)
{
	return ch == '\t' || ch == ' ' || ch == 0x21 || (ch >= 0x23 && ch <= 0x5b) ||
	       (ch >= 0x5d && ch <= 0x7e) || ch >= 0x80;
}

static bool is_quoted_pair_char(unsigned char ch)
{
	return ch == '\t' || (ch >= 0x20 && ch != 0x7f);
}

/* The next state after one framing byte, or -1 if the byte is not allowed. */
static int step(struct sk_http_chunked *c, unsigned char ch)
{
	switch (c->state) {
	case SIZE: {
		int h = sk__hex_value((unsigned char)ch);
		if (h >= 0) {
			if (++c->n_digits > MAX_SIZE_DIGITS)
				return -1;
			c->remaining = c->remaining * 16 + (unsigned)h;
			return SIZE;
		}
		if (c->n_digits == 0)
			return -1;
		return ch == ';' ? EXT_START : ch == '\r' ? SIZE_LF : -1;
	}
	case EXT_START:
		return sk__http_is_tchar(ch) ? EXT_NAME : -1;
	case EXT_NAME:
		if (sk__http_is_tchar(ch))
			return EXT_NAME;
		return ch == '=' ? EXT_VALUE_START : ch == ';' ? EXT_START : ch == '\r' ? SIZE_LF : -1;
	case EXT_VALUE_START:
		return ch == '"' ? EXT_QUOTED : sk__http_is_tchar(ch) ? EXT_TOKEN : -1;
	case EXT_TOKEN:
		if (sk__http_is_tchar(ch))
			return EXT_TOKEN;
		return ch == ';' ? EXT_START : ch == '\r' ? SIZE_LF : -1;
	case EXT_QUOTED:
		if (ch == '"')
			return EXT_QUOTED_END;
		if (ch == '\\')
			return EXT_QUOTED_ESCAPE;
		return is_qdtext(ch) ? EXT_QUOTED : -1;
	case EXT_QUOTED_ESCAPE:
		return is_quoted_pair_char(ch) ? EXT_QUOTED : -1;
	case EXT_QUOTED_END:
		return ch == ';' ? EXT_START : ch == '\r' ? SIZE_LF : -1;
	case SIZE_LF:
		if (ch != '\n')
			return -1;
		return c->remaining ? DATA : TRAILER_START;
	case DATA_CR:
		return ch == '\r' ? DATA_LF : -1;
	case DATA_LF:
		return ch == '\n' ? SIZE : -1;
	case TRAILER_START:
		if (ch == '\r')
			return END_LF;
		return sk__http_is_tchar(ch) ? TRAILER : -1;
	case TRAILER:
		/* A field line: name and value are not kept, only checked for the
		 * bytes that can break framing (CR, LF, NUL and other controls). */
		if (ch == '\r')
			return TRAILER_LF;
		return ch == '\t' || (ch >= 0x20 && ch != 0x7f) ? TRAILER : -1;
	case TRAILER_LF:
		return ch == '\n' ? TRAILER_START : -1;
	case END_LF:
		return ch == '\n' ? DONE : -1;
	default:
		return -1;
	}
}

int sk_http_chunked_decode(struct sk_http_chunked *c, const char *p, size_t len, size_t *used,
                           struct sk_slice *data)
{
	size_t i = 0;
	data->p = p;
	data->len = 0;
	while (i < len && c->state != DONE) {
		if (c->state == DATA) {
			/* Hand back a run of data; framing resumes on the next call. */
			size_t n = len - i < c->remaining ? len - i : (size_t)c->remaining;
			data->p = p + i;
			data->len = n;
			c->remaining -= n;
			i += n;
			if (c->remaining == 0)
				c->state = DATA_CR;
			*used = i;
			return 0;
		}
		int next = step(c, (unsigned char)p[i]);
		if (next < 0)
			return SK_EHTTP_BAD_REQUEST;
		bool in_size_line = c->state <= SIZE_LF;
		bool in_trailers = c->state >= TRAILER_START;
		if (next == SIZE && c->state == DATA_LF) {
			c->n_digits = 0;
			c->remaining = 0;
			c->line_len = 0;
		}
		if (in_size_line && ++c->line_len > MAX_SIZE_LINE)
			return SK_EHTTP_BAD_REQUEST;
		if (in_trailers && ++c->trailer_bytes > MAX_TRAILER_BYTES)
			return SK_EHTTP_BAD_REQUEST;
		c->state = next;
		i++;
	}
	*used = i;
	return c->state == DONE ? 1 : 0;
}
