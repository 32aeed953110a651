/* Internals of the HTTP client shared by http_client.c (the client, its
 * connections and an exchange's life) and http_client_io.c (the request on
 * the wire and the response off it). */
#ifndef SOCKIT_HTTP_CLIENT_INTERNAL_H
#define SOCKIT_HTTP_CLIENT_INTERNAL_H

#include <sockit/buf.h>
#include <sockit/conn.h>
#include <sockit/http_client.h>

/* Addresses tried per host name: both families of a dual-stack host and
 * a few of each. */
#define SK__HTTP_MAX_ADDRS 8

/* Where a connection goes: the origin, or the proxy. */
struct sk__http_origin {
	enum sk_url_scheme scheme;
	char host[SK_URL_HOST_MAX];
	unsigned port;
};

/* One connection, busy with an exchange or kept alive for the next. */
struct sk__http_conn {
	struct sk_http_client *client;
	struct sk_conn *conn;
	struct sk__http_origin origin;
	struct sk_http_exchange *ex;   /* NULL while kept alive */
	struct sk__http_conn *next;    /* the client's list */
	unsigned n_exchanges;          /* carried so far, this one included */
	/* The response head, kept whole for the parser's views. */
	char *in;
	size_t in_len;
};

struct sk_http_client {
	struct sk_loop *loop;
	struct sk_http_client_opts opts;
	struct sk__http_conn *conns;
	size_t n_conns;
};

enum sk__http_state {
	SK__HTTP_WAITING,   /* started; begins on the loop's next pass */
	SK__HTTP_CONNECTING,
	SK__HTTP_EXCHANGING, /* sending and/or receiving */
	SK__HTTP_DONE,
};

enum sk__http_recv {
	SK__HTTP_RECV_HEAD,
	SK__HTTP_RECV_BODY,
	SK__HTTP_RECV_DONE,
};

struct sk_http_exchange {
	struct sk_http_client *client;
	const struct sk_http_exchange_handler *h;
	void *ud;
	enum sk__http_state state;
	unsigned depth;          /* callbacks in progress: free when 0 after DONE */
	bool to_head;
	bool replayable;         /* the body can be sent again (no stream) */
	bool idempotent;         /* RFC 9110 §9.2.2 */
	bool retried;
	struct sk__http_origin target; /* where to connect */
	struct sk_timer kick;    /* begins the exchange, and delivers early failures */
	int kick_err;

	/* Connecting. */
	struct sk_addr addrs[SK__HTTP_MAX_ADDRS];
	size_t n_addrs, addr_i;
	int connect_fd;
	int last_err;
	struct sk_timer connect_timer;
	uint64_t connect_deadline_ms;

	/* Sending. */
	struct sk__http_conn *cc;
	struct sk_buf head;      /* the request head */
	const struct sk_http_body_part *parts;
	size_t n_parts, part_i;
	uint64_t part_off;
	bool stream_body, body_ended, body_sent;
	bool in_body_want;       /* on_body_want is running: a drain inside it
	                            (a write that emptied the queue) calls no second one */
	bool dirty;              /* bytes past the response, or a response before the
	                            request was sent whole: the connection cannot be reused */
	uint64_t written_at_attach; /* sk_conn_bytes_written when the conn was attached */

	/* Receiving. */
	enum sk__http_recv recv;
	struct sk_http_response res;
	bool has_final;
	struct sk_http_chunked chunked;
	uint64_t body_left;      /* FRAMING_LENGTH */
	uint64_t received;       /* response bytes on this attempt */
	unsigned n_paused;

	struct sk_http_timing timing;
	uint64_t start_us;
};

/* Microseconds on CLOCK_MONOTONIC. */
uint64_t sk__http_now_us(void);

/* http_client_io.c */
int sk__http_build_head(struct sk_http_exchange *ex, const struct sk_http_client_req *req);
void sk__http_send_request(struct sk_http_exchange *ex);
void sk__http_pump_body(struct sk_http_exchange *ex);
void sk__http_received(struct sk_http_exchange *ex, const char *p, size_t len);
void sk__http_peer_closed(struct sk_http_exchange *ex);
void sk__http_recv_reset(struct sk_http_exchange *ex);

/* http_client.c: the end of an exchange (the conn kept alive when it may
 * carry the next request), and a failure that may be retried. */
void sk__http_finish(struct sk_http_exchange *ex, int err);
void sk__http_conn_failed(struct sk_http_exchange *ex, int err);
/* Callback sections: enter before calling the program, leave after; true
 * from leave when the exchange ended meanwhile (do not touch it then). */
void sk__http_enter(struct sk_http_exchange *ex);
bool sk__http_leave(struct sk_http_exchange *ex);

#endif
