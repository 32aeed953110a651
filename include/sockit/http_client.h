/* An HTTP/1.1 client over sk_conn: one request and its response at a time
 * per connection, connections kept alive per origin and reused.
 *
 * The client is mechanism; the program is policy. The library frames the
 * request (request line, Host, Content-Length or chunked), connects,
 * sends, parses the response strictly (http_response.h), skips 1xx
 * responses, frames the body and reports a response cut short as an
 * error. It retries once, on a new connection, an idempotent request whose
 * kept-alive connection the server had closed while it was idle. The
 * program decides every field (User-Agent, Authorization…), follows
 * redirects, chooses proxies and writes the body where it belongs.
 *
 * Transports: http:// over the socket transport (io_uring or epoll, as the
 * loop does); https:// over TLS (tls.h), verified by default: the chain
 * against the system's CAs and the certificate against the URL's host, SNI
 * for names, ALPN http/1.1. The transport is chosen in one place when a
 * connection is made; nothing above it knows which one carries the bytes.
 * Through a proxy, http:// requests go to the proxy in absolute form and
 * https:// ones through a CONNECT tunnel (RFC 9110 §9.3.6), TLS end to end.
 *
 * Blocking: resolving a host name (getaddrinfo) blocks, when a new
 * connection is made; everything else runs in the loop. Every callback
 * runs from the loop, never from inside the call that started the
 * exchange. Nothing here prints. */
#ifndef SOCKIT_HTTP_CLIENT_H
#define SOCKIT_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sockit/http_response.h>
#include <sockit/http_url.h>
#include <sockit/loop.h>
#include <sockit/sock.h>

struct sk_http_client;
struct sk_http_exchange;
struct sk_tls_config;
struct sk_tls_info;

struct sk_http_client_opts {
	unsigned connect_timeout_ms;   /* name lookup excluded; all addresses together;
	                                  0: the kernel's own */
	int family;                    /* AF_UNSPEC, AF_INET or AF_INET6 */
	const struct sk_tracer *tracer; /* socket calls; borrowed, may be NULL */
	const struct sk_tls_config *tls; /* for https:// origins; borrowed: must outlive the
	                                    client. It should offer ALPN http/1.1 alone (the
	                                    one protocol spoken here). NULL: the client makes
	                                    its own at the first https:// origin (the system's
	                                    CAs, ALPN http/1.1) */
	const char *tls_server_name;     /* the name every https:// server's certificate must
	                                    carry (and SNI) instead of the URL's host; NULL:
	                                    the host. Borrowed */
};

/* No connect timeout, any family, no tracer, the client's own TLS config. */
void sk_http_client_opts_init(struct sk_http_client_opts *opts);

/* Makes a client in loop (borrowed: it must outlive the client). Returns 0
 * and *out, or SK_ENOMEM. */
int sk_http_client_new(struct sk_loop *loop, const struct sk_http_client_opts *opts,
                       struct sk_http_client **out);

/* The TLS config for https:// connections made from now on (kept-alive
 * ones keep theirs): for a program that builds it only when a URL needs it
 * (loading the CA store costs milliseconds). Borrowed: must outlive the
 * client. */
void sk_http_client_set_tls(struct sk_http_client *client, const struct sk_tls_config *tls);

/* Closes the kept-alive connections and frees the client. Every exchange
 * must have ended (its on_done returned). Accepts NULL. */
void sk_http_client_free(struct sk_http_client *client);

/* Connections open (busy or kept alive). */
size_t sk_http_client_n_conns(const struct sk_http_client *client);

/* A request field; NUL-terminated strings from the program. */
struct sk_http_field {
	const char *name;
	const char *value;
};

/* A piece of a request body: bytes in memory, or a range of a file read
 * with pread(2) as it is sent (so a retry can send it again). */
struct sk_http_body_part {
	const void *data;   /* memory, borrowed until on_done; NULL: the file range */
	int fd;             /* borrowed until on_done */
	uint64_t offset;
	uint64_t len;
};

struct sk_http_client_req {
	const char *method;                 /* "GET"… copied */
	const struct sk_url *url;           /* copied; its userinfo is never sent */
	const struct sk_url *proxy;         /* an http:// proxy: for an http:// URL the
	                                       request goes to it in absolute form, for
	                                       https:// through a CONNECT tunnel; its userinfo
	                                       becomes Proxy-Authorization. NULL: direct.
	                                       Copied */
	const struct sk_http_field *fields; /* sent in order after Host; a "Host" field
	                                       replaces ours. Copied */
	size_t n_fields;
	const struct sk_http_body_part *body; /* Content-Length is the sum of the parts */
	size_t n_body;
	bool stream_body;   /* a body of unknown length, sent chunked with
	                       sk_http_exchange_write and _end (never retried) */
};

/* Milestones, for -v and timings. */
enum sk_http_event {
	SK_HTTP_EV_CONNECTING, /* a connect to sk_http_exchange_peer() began */
	SK_HTTP_EV_CONNECTED,  /* the connection is up */
	SK_HTTP_EV_REUSED,     /* a kept-alive connection carries the request */
	SK_HTTP_EV_SENT,       /* the request head went to the connection */
	SK_HTTP_EV_RETRY,      /* the kept-alive connection was closed by the server
	                          before any answer: sending again on a new one */
};

struct sk_http_exchange_handler {
	void (*on_event)(struct sk_http_exchange *ex, enum sk_http_event ev, void *ud); /* may be NULL */
	/* A response head: each 1xx (status < 200), then the final one. res and
	 * raw (the head's bytes) are valid during the call; the final head stays
	 * valid until on_done returns (sk_http_exchange_response). */
	void (*on_head)(struct sk_http_exchange *ex, const struct sk_http_response *res,
	                struct sk_slice raw, void *ud);
	/* Body bytes of the final response, framing removed; valid during the call. */
	void (*on_body)(struct sk_http_exchange *ex, const char *p, size_t len, void *ud);
	/* stream_body: the exchange can take more of the request body. */
	void (*on_body_want)(struct sk_http_exchange *ex, void *ud);
	/* The end: 0 once the final response is complete, or an error:
	 * SK_ENONAME, -ECONNREFUSED…, -ETIMEDOUT (connect timeout), -ECONNRESET,
	 * SK_EHTTP_BAD_RESPONSE, SK_EHTTP_HEAD_TOO_BIG, SK_EHTTP_TRUNCATED
	 * (also a body framed by the connection's end that a TLS server ended
	 * without close_notify), SK_EHTTP_NO_RESPONSE, SK_EHTTP_TUNNEL (the
	 * proxy's answer to CONNECT was not 2xx: sk_http_exchange_why), an
	 * SK_ETLS_* code (the handshake failed or the certificate was refused:
	 * on_tls said why), or the err given to sk_http_exchange_abort. The
	 * exchange is freed when this returns. */
	void (*on_done)(struct sk_http_exchange *ex, int err, void *ud);
	/* https://: a new connection's TLS handshake ended, err 0 or why the
	 * server was refused (on_done follows with the same err). info (the
	 * version, cipher, the server's certificate, the one refused) is valid
	 * during the call. May be NULL. */
	void (*on_tls)(struct sk_http_exchange *ex, int err, const struct sk_tls_info *info,
	               void *ud);
};

/* Starts req: copies it (the body parts stay borrowed), and from the loop's
 * next pass sends it on a kept-alive connection to the same origin (or
 * proxy), else a new one. handler must outlive the exchange; ud is
 * borrowed. Returns 0 and *out, SK_EINVAL for a field with a CR, LF or NUL,
 * a name that is not a token, or a method that is not one; SK_ENOMEM. */
int sk_http_client_start(struct sk_http_client *client, const struct sk_http_client_req *req,
                         const struct sk_http_exchange_handler *handler, void *ud,
                         struct sk_http_exchange **out);

/* Ends the exchange now with err (on_done(err) runs before this returns;
 * the connection is closed, since its framing is lost). From any callback
 * of the exchange or outside them. */
void sk_http_exchange_abort(struct sk_http_exchange *ex, int err);

/* stream_body: queues len bytes as a chunk. Returns 0, or SK_ETOOLARGE when
 * the connection's queue is full (wait for on_body_want), SK_EPIPE when the
 * exchange is not sending (not yet, or over). */
int sk_http_exchange_write(struct sk_http_exchange *ex, const void *p, size_t len);
/* stream_body: the last chunk. Returns as sk_http_exchange_write. */
int sk_http_exchange_end(struct sk_http_exchange *ex);
/* stream_body: true while writes would be refused. */
bool sk_http_exchange_is_full(const struct sk_http_exchange *ex);

/* Stops and restarts reading the response (backpressure for a slow
 * destination). Pauses nest. */
void sk_http_exchange_pause(struct sk_http_exchange *ex);
void sk_http_exchange_resume(struct sk_http_exchange *ex);

/* The final response head (after on_head for it, until on_done returns),
 * else NULL. */
const struct sk_http_response *sk_http_exchange_response(const struct sk_http_exchange *ex);

/* Why the response was refused (SK_EHTTP_BAD_RESPONSE, SK_EHTTP_HEAD_TOO_BIG:
 * the parser's words) or the tunnel (SK_EHTTP_TUNNEL: the proxy's status),
 * or NULL. Valid until on_done returns. */
const char *sk_http_exchange_why(const struct sk_http_exchange *ex);

/* The request head as sent (or about to be). Valid until on_done returns. */
struct sk_slice sk_http_exchange_request_head(const struct sk_http_exchange *ex);

/* https://: the connection's TLS state (version, cipher, ALPN, resumption,
 * the server's certificate and how it was checked) while the exchange has
 * its connection, on_head to on_body included. Returns 0, or SK_EINVAL for
 * http:// or outside that time. */
int sk_http_exchange_tls_info(const struct sk_http_exchange *ex, struct sk_tls_info *out);

/* The address connected or being connected to; SK_EINVAL before one. */
int sk_http_exchange_peer(const struct sk_http_exchange *ex, struct sk_addr *out);

/* Where the time went, in µs from sk_http_client_start, and the bytes. A
 * phase that has not happened is 0; on a reused connection name_lookup and
 * connect are 0 too. */
struct sk_http_timing {
	uint64_t name_lookup_us; /* getaddrinfo done */
	uint64_t connect_us;     /* TCP connected (through a proxy for https://: the
	                            tunnel open) */
	uint64_t tls_us;         /* the TLS handshake done (https://) */
	uint64_t sent_us;        /* the request (head and body) queued to the kernel */
	uint64_t first_byte_us;  /* the first byte of the response */
	uint64_t total_us;       /* the final response complete (or the failure) */
	bool reused;             /* a kept-alive connection carried it */
	bool retried;            /* sent again after a kept-alive connection closed */
	uint64_t bytes_sent;     /* request head and body, with chunked framing */
	uint64_t head_bytes;     /* response heads received, 1xx included */
	uint64_t body_bytes;     /* body bytes delivered to on_body */
};
void sk_http_exchange_timing(const struct sk_http_exchange *ex, struct sk_http_timing *out);

/* "Basic BASE64(user_pass)" (RFC 7617) into buf of cap bytes,
 * NUL-terminated. Returns the length or SK_ETOOLARGE. */
int sk_http_basic_auth(const char *user_pass, size_t len, char *buf, size_t cap);

/* --- gzip bodies (Content-Encoding: gzip, RFC 9110 §8.4.1.3) ------------ */

struct sk_http_gunzip;

/* Decoded bytes; valid during the call. */
typedef void sk_http_gunzip_fn(const char *p, size_t len, void *ud);

/* A streaming gzip (or zlib) decoder, zlib's inflate. Returns 0 and *out,
 * or SK_ENOMEM. fn(ud) receives the decoded bytes. */
int sk_http_gunzip_new(sk_http_gunzip_fn *fn, void *ud, struct sk_http_gunzip **out);

/* Decodes p[0..len), calling fn for what comes out. Returns 0, or
 * SK_EHTTP_BAD_ENCODING (corrupt data, or bytes after the end of the
 * stream). */
int sk_http_gunzip_feed(struct sk_http_gunzip *z, const char *p, size_t len);

/* The body ended: 0 if the gzip stream ended with it (trailer checked),
 * else SK_EHTTP_BAD_ENCODING (a cut stream is never a short success). */
int sk_http_gunzip_finish(struct sk_http_gunzip *z);

void sk_http_gunzip_free(struct sk_http_gunzip *z); /* accepts NULL */

#endif
