/* Message framing over a byte stream. TCP delivers bytes, not messages: two
 * sends may arrive as one read and one send as two (the notes' "粘包"). A
 * framer collects bytes and yields whole messages:
 *
 *   raw    every chunk that arrives is a message (no framing);
 *   line   a message ends at LF; a CR before it is dropped (CRLF tolerated);
 *   len32  a 4-byte big-endian length, then that many bytes.
 *
 * Messages are views into the framer's buffer, valid until the next push. */
#ifndef SOCKIT_FRAME_H
#define SOCKIT_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include <sockit/buf.h>
#include <sockit/slice.h>

enum sk_frame_mode {
	SK_FRAME_RAW,
	SK_FRAME_LINE,
	SK_FRAME_LEN32,
};

/* Largest message a framer accepts by default: 1 MiB, far above any chat or
 * reply line, low enough that a peer announcing 4 GiB is refused at once. */
#define SK_FRAME_MAX (1024 * 1024)

struct sk_framer {
	enum sk_frame_mode mode;
	size_t max_msg;
	struct sk_buf buf;
	size_t scanned; /* line mode: bytes already searched for LF */
};

/* Parses "raw", "line" or "len32" into *mode; SK_EINVAL otherwise. */
int sk_frame_mode_parse(const char *name, enum sk_frame_mode *mode);
const char *sk_frame_mode_name(enum sk_frame_mode mode);

void sk_framer_init(struct sk_framer *f, enum sk_frame_mode mode, size_t max_msg);
void sk_framer_fini(struct sk_framer *f);

/* One push may bring this many bytes: a read's worth (a conn reads at most
 * 64 KiB at a time, conn.h), many messages. It sizes the framer's buffer
 * ceiling, max_msg + 4 + SK_FRAME_CHUNK: a partial message and one push. */
#define SK_FRAME_CHUNK (64 * 1024)

/* Adds received bytes: at most SK_FRAME_CHUNK per push, and call
 * sk_framer_next() until it returns 0 before pushing again (so the framer
 * holds only a partial message between pushes). SK_ETOOLARGE otherwise. */
int sk_framer_push(struct sk_framer *f, const char *p, size_t len);

/* The next whole message: 1 and *msg, 0 if more bytes are needed, or
 * SK_ETOOLARGE for a message over max_msg (a len32 header announcing one, a
 * line longer than max_msg, or a partial line already longer): the stream
 * cannot be resynchronised, close it. The message is consumed: call again
 * for the next one. */
int sk_framer_next(struct sk_framer *f, struct sk_slice *msg);

/* Drops whatever is held (after using a partial line at EOF). */
void sk_framer_consume_all(struct sk_framer *f);

/* Gives the buffer's memory back if it holds nothing (between bursts, so an
 * idle client costs no buffer); messages from sk_framer_next are invalid
 * after it. Holding a partial message, it does nothing. */
void sk_framer_release(struct sk_framer *f);

/* Bytes held that do not yet form a message (a line without its LF at EOF). */
size_t sk_framer_pending(const struct sk_framer *f);

/* The bytes to send before and after a message of len bytes in mode:
 * len32 writes its 4-byte header into head; line returns "\n" as tail.
 * Returns the header length (0 or 4). */
size_t sk_frame_header(enum sk_frame_mode mode, size_t len, char head[4], const char **tail);

#endif
