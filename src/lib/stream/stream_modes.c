/* What each stream mode does with a client's bytes. Every mode respects
 * backpressure: a client whose own queue is full is not read (echo, reply)
 * or not fed (chargen) until it drains; chat, which feeds many clients from
 * one, drops a client that cannot keep up instead. */
#include <sockit/dgram.h>
#include <sockit/err.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stream/stream_internal.h"

static void pause_if_full(struct client *cl)
{
	if (!cl->paused_self && sk_conn_is_full(cl->conn)) {
		cl->paused_self = true;
		sk_conn_pause(cl->conn);
	}
}

static void resume_self(struct client *cl)
{
	if (cl->paused_self) {
		cl->paused_self = false;
		sk_conn_resume(cl->conn);
	}
}

static void close_after_flush(struct client *cl)
{
	sk_conn_close_after_flush(cl->conn);
}

/* --- echo (RFC 862) --- */

static void echo_data(struct client *cl, const char *p, size_t len)
{
	if (sk_conn_send(cl->conn, p, len) == 0)
		pause_if_full(cl);
}

/* --- discard (RFC 863) --- */

static void discard_data(struct client *cl, const char *p, size_t len)
{
	(void)cl;
	(void)p;
	(void)len;
}

/* --- chargen (RFC 864): 72 characters a line, each line starting one
 * character further along the 95 printable ASCII characters. --- */

#define CHARGEN_WIDTH 72
#define CHARGEN_CHARS 95

static void chargen_fill(struct client *cl)
{
	char line[CHARGEN_WIDTH + 2];
	while (!sk_conn_is_full(cl->conn)) {
		unsigned long start = cl->chargen_line++ % CHARGEN_CHARS;
		for (int i = 0; i < CHARGEN_WIDTH; i++)
			line[i] = (char)(' ' + (start + (unsigned long)i) % CHARGEN_CHARS);
		line[CHARGEN_WIDTH] = '\r';
		line[CHARGEN_WIDTH + 1] = '\n';
		if (sk_conn_send(cl->conn, line, sizeof line) < 0)
			return;
	}
}

/* --- daytime (RFC 867): any human-readable form; this is date(1)'s. --- */

static void daytime_open(struct client *cl)
{
	char text[128];
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	size_t n = strftime(text, sizeof text - 2, "%A, %B %d, %Y %H:%M:%S %Z", &tm);
	text[n++] = '\r';
	text[n++] = '\n';
	if (sk_conn_send(cl->conn, text, n) == 0)
		close_after_flush(cl);
}

/* --- reply and chat: message modes --- */

/* Builds prefix + msg framed as the server's frame mode says into the
 * server's scratch buffer, so each recipient gets it in one sk_conn_send:
 * a send can close (and free) a client, so no client is sent to twice. */
static int build_framed(struct sk_stream_server *s, const char *prefix, size_t prefix_len,
                        const char *msg, size_t len)
{
	char head[4];
	const char *tail;
	size_t head_len = sk_frame_header(s->o.frame, prefix_len + len, head, &tail);
	struct sk_buf *b = &s->scratch;
	sk_buf_consume(b, b->len);
	int err = sk_buf_append(b, head, head_len);
	if (err == 0)
		err = sk_buf_append(b, prefix, prefix_len);
	if (err == 0)
		err = sk_buf_append(b, msg, len);
	if (err == 0)
		err = sk_buf_append(b, tail, strlen(tail));
	return err;
}

static void reply_message(struct client *cl, const char *msg, size_t len)
{
	struct sk_stream_server *s = cl->srv;
	struct sk_addr peer;
	sk__client_peer(cl, &peer);
	char small[512], *text = small;
	size_t need = sk_reply_format(msg, len, &peer, small, sizeof small);
	if (need > sizeof small) {
		/* A long message: format again into a buffer of the right size. */
		text = malloc(need);
		if (!text)
			return;
		sk_reply_format(msg, len, &peer, text, need);
	}
	int err = build_framed(s, "", 0, text, need);
	if (text != small)
		free(text);
	if (err == 0)
		err = sk_conn_send(cl->conn, sk_buf_head(&s->scratch), s->scratch.len);
	if (err == SK_ETOOLARGE) {
		sk__client_event(cl, SK_STREAM_DROPPED_SLOW, err);
		sk_conn_close(cl->conn, err);
	}
}

static void chat_message(struct client *cl, const char *msg, size_t len)
{
	struct sk_addr peer;
	sk__client_peer(cl, &peer);
	char prefix[SK_ADDR_STRLEN + 2];
	size_t n = sk_addr_format(&peer, prefix);
	prefix[n++] = ':';
	prefix[n++] = ' ';
	struct sk_stream_server *s = cl->srv;
	if (build_framed(s, prefix, n, msg, len) < 0)
		return;
	struct client *next;
	for (struct client *to = s->clients; to; to = next) {
		next = to->next;
		if (to == cl || !to->conn)
			continue;
		/* A client whose queue is past high water is not keeping up: one
		 * slow reader must not stall the room or grow our memory. */
		if (sk_conn_is_full(to->conn) ||
		    sk_conn_send(to->conn, sk_buf_head(&s->scratch), s->scratch.len) == SK_ETOOLARGE) {
			sk__client_event(to, SK_STREAM_DROPPED_SLOW, SK_ETOOLARGE);
			sk_conn_close(to->conn, SK_ETOOLARGE);
		}
	}
}

/* Handles the whole messages the framer holds, in corked batches (one
 * write per batch, full segments), stopping while the client's own queue is
 * full: a client that sends faster than it reads is slowed down (its
 * reading paused until on_drain) rather than dropped. */
static void handle_messages(struct client *cl, void (*handle)(struct client *, const char *, size_t))
{
	if (cl->in_handle)
		return; /* called back from our own uncork: the loop below goes on */
	cl->in_handle = true;
	for (;;) {
		struct sk_slice msg;
		int rc = 0;
		sk_conn_cork(cl->conn);
		while (!cl->dead && !sk_conn_is_full(cl->conn) &&
		       (rc = sk_framer_next(cl->framer, &msg)) == 1)
			handle(cl, msg.p, msg.len);
		bool stopped_full = !cl->dead && rc == 1;
		if (!cl->dead)
			sk_conn_uncork(cl->conn); /* writes the batch; may close the client */
		if (cl->dead)
			break;
		if (rc < 0) {
			sk__client_event(cl, SK_STREAM_BAD_DATA, rc);
			sk_conn_close(cl->conn, rc);
			break;
		}
		if (!stopped_full)
			break; /* every whole message is answered */
		if (sk_conn_is_full(cl->conn)) {
			/* Messages wait in the framer; on_drain picks them up. */
			if (!cl->paused_self) {
				cl->paused_self = true;
				sk_conn_pause(cl->conn);
			}
			break;
		}
	}
	cl->in_handle = false;
	if (!cl->dead)
		sk_framer_release(cl->framer); /* every whole message is answered */
}

/* Feeds bytes through the framer and handles each whole message. */
static void framed_data(struct client *cl, const char *p, size_t len,
                        void (*handle)(struct client *, const char *, size_t))
{
	int rc = sk_framer_push(cl->framer, p, len);
	if (rc < 0) {
		sk__client_event(cl, SK_STREAM_BAD_DATA, rc);
		sk_conn_close(cl->conn, rc);
		return;
	}
	handle_messages(cl, handle);
}

static void finish_at_eof(struct client *cl, void (*handle)(struct client *, const char *, size_t));

/* The queue drained: answer what waits in the framer, then read again. */
static void framed_drain(struct client *cl, void (*handle)(struct client *, const char *, size_t))
{
	if (!cl->paused_self)
		return;
	cl->paused_self = false;
	sk_conn_resume(cl->conn);
	if (cl->eof_seen)
		finish_at_eof(cl, handle);
	else
		handle_messages(cl, handle);
}

static void reply_data(struct client *cl, const char *p, size_t len)
{
	framed_data(cl, p, len, reply_message);
}

static void chat_data(struct client *cl, const char *p, size_t len)
{
	framed_data(cl, p, len, chat_message);
}

/* At the end of the client's input: answer every message still waiting
 * (as the queue allows), then a last line without its LF (the notes'
 * clients send one message and shut down; a partial len32 message does not
 * count), then close once everything is written. */
static void finish_at_eof(struct client *cl, void (*handle)(struct client *, const char *, size_t))
{
	cl->eof_seen = true;
	handle_messages(cl, handle);
	if (cl->dead || cl->paused_self)
		return; /* the queue is full: framed_drain comes back here */
	if (cl->srv->o.frame == SK_FRAME_LINE && sk_framer_pending(cl->framer)) {
		const char *p = sk_buf_head(&cl->framer->buf);
		size_t len = cl->framer->buf.len;
		if (len && p[len - 1] == '\r')
			len--;
		handle(cl, p, len);
		sk_framer_consume_all(cl->framer);
	}
	if (!cl->dead)
		close_after_flush(cl);
}

static void reply_drain(struct client *cl)
{
	framed_drain(cl, reply_message);
}

static void chat_drain(struct client *cl)
{
	framed_drain(cl, chat_message);
}

static void reply_eof(struct client *cl)
{
	finish_at_eof(cl, reply_message);
}

static void chat_eof(struct client *cl)
{
	finish_at_eof(cl, chat_message);
}

static const struct stream_mode_ops modes[] = {
	[SK_STREAM_ECHO] = { NULL, echo_data, close_after_flush, resume_self, false },
	[SK_STREAM_DISCARD] = { NULL, discard_data, close_after_flush, NULL, false },
	[SK_STREAM_CHARGEN] = { chargen_fill, discard_data, close_after_flush, chargen_fill, false },
	[SK_STREAM_DAYTIME] = { daytime_open, discard_data, close_after_flush, NULL, false },
	[SK_STREAM_REPLY] = { NULL, reply_data, reply_eof, reply_drain, true },
	[SK_STREAM_CHAT] = { NULL, chat_data, chat_eof, chat_drain, true },
	[SK_STREAM_EXEC] = { NULL, NULL, NULL, NULL, false },
	[SK_STREAM_HANDOFF] = { NULL, NULL, NULL, NULL, false },
};

static const char *const mode_names[] = {
	[SK_STREAM_ECHO] = "echo",       [SK_STREAM_DISCARD] = "discard",
	[SK_STREAM_CHARGEN] = "chargen", [SK_STREAM_DAYTIME] = "daytime",
	[SK_STREAM_REPLY] = "reply",     [SK_STREAM_CHAT] = "chat",
	[SK_STREAM_EXEC] = "exec",       [SK_STREAM_HANDOFF] = "relay",
};

int sk_stream_mode_parse(const char *name, enum sk_stream_mode *mode)
{
	for (int m = SK_STREAM_ECHO; m <= SK_STREAM_CHAT; m++) {
		if (strcmp(name, mode_names[m]) == 0) {
			*mode = (enum sk_stream_mode)m;
			return 0;
		}
	}
	return SK_EINVAL;
}

const char *sk_stream_mode_name(enum sk_stream_mode mode)
{
	return mode_names[mode];
}

const struct stream_mode_ops *sk__stream_mode_ops(enum sk_stream_mode mode)
{
	return &modes[mode];
}
