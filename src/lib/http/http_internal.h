/* Internals of the http layer (src/lib/http/), shared between its files;
 * never installed. The parser, chunked coding, multipart and listings have
 * public headers; this is the file server's inside, bottom to top:
 *
 *   http_fields.c                field-value helpers the parsers share
 *   http_util.c                  dates, media types, paths, ranges, validators
 *   http_fs.c  http_cache.c      the file system beneath the root, the small-file
 *   http_store.c http_leftovers.c  cache, uploads' disk steps, interrupted uploads
 *   http_log.c                   the access and error logs
 *   http_discard.c               bodies no method uses
 *   http_conn.c                  a connection's life: read, hand over, send
 *   http_response.c              the response writer
 *   http_get.c http_upload.c     the method handlers: GET and HEAD, PUT and POST,
 *   http_delete.c                DELETE
 *   http_methods.c               the method table: who answers what, Allow, OPTIONS
 *   http_server.c                the server: options, start, stop; wires the hooks
 *
 * and the client's (the response parser, URLs and gzip have public headers):
 *
 *   http_parse_response.c        responses and their framing
 *   http_url.c                   URLs: parsing, references, origins, no_proxy
 *   http_gunzip.c                gzip bodies (zlib)
 *   http_client_exchange.c       an exchange's end, what a program may ask of one
 *   http_client_io.c             the request on the wire, the response off it
 *   http_client.c                the client: connections, an exchange's start, retries */
#ifndef SOCKIT_HTTP_INTERNAL_H
#define SOCKIT_HTTP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sockit/buf.h>
#include <sockit/conn.h>
#include <sockit/http_client.h>
#include <sockit/http_multipart.h>
#include <sockit/http_parse.h>
#include <sockit/http_server.h>
#include <sockit/slice.h>
#include <sockit/tls.h>

/* --- http_fields.c: field-value helpers shared by the parsers --- */

/* RFC 9110 §5.6.2 tchar, as a table: what methods, field names, codings
 * and chunk extensions are made of. */
extern const unsigned char sk__http_tchar[256];

static inline bool sk__http_is_tchar(unsigned char c)
{
	return sk__http_tchar[c];
}

/* field-value bytes (RFC 9110 §5.5; reason phrases too, RFC 9112 §4):
 * VCHAR, SP, HTAB and obs-text; never a control byte. */
static inline bool sk__http_is_field_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* Checks line[0..n), its CRLF cut off, as a field line: field-name ":" OWS
 * field-value OWS (RFC 9112 §5). With is_complete false, as far as it goes
 * (a line still arriving: an impossible byte fails at once). Returns NULL,
 * and for a complete line the name and the trimmed value in *out; or why
 * it is not a field line. */
const char *sk__http_field_line(const char *line, size_t n, bool is_complete,
                                struct sk_http_header *out);

/* s equals word, ignoring ASCII case (field names, tokens). */
bool sk__http_slice_ieq(struct sk_slice s, const char *word);

/* Calls fn for each non-empty element of a comma-separated list, trimmed
 * of spaces and tabs (RFC 9110 §5.6.1); stops at fn's first non-zero. */
int sk__http_for_each_element(struct sk_slice value, void *ud,
                              int (*fn)(struct sk_slice element, void *ud));

/* --- http_util.c: dates, media types, request paths, ranges and validators --- */

/* "Sun, 06 Nov 1994 08:49:37 GMT" (IMF-fixdate, RFC 9110 §5.6.7) + NUL. */
#define HTTP_DATE_LEN 40 /* 29 used; room for the compiler to see no truncation */

/* Writes t as an IMF-fixdate into buf (HTTP_DATE_LEN bytes). */
void sk__http_format_date(time_t t, char *buf);

/* Reads an HTTP date in any of the three forms RFC 9110 §5.6.7 says a
 * recipient must accept. Returns false if it is none of them. */
bool sk__http_parse_date(struct sk_slice s, time_t *out);

/* The media type for a file name, with "; charset=utf-8" on text types;
 * application/octet-stream when the extension is unknown. */
const char *sk__http_content_type(const char *name, size_t len);

/* Longest decoded path we accept: PATH_MAX less room for the root. */
#define HTTP_PATH_MAX 3072

/* A request path made safe to open beneath the served root. */
struct http_path {
	char rel[HTTP_PATH_MAX]; /* "" for the root, else "a/b/c": no "." or ".." segments,
	                            no empty segments, no leading '/' */
	size_t len;
	bool trailing_slash;     /* the URL path ended in '/' */
	bool has_dot_segment;    /* some segment starts with '.' (a hidden file) */
	struct sk_slice query;   /* after '?', a view into the target; empty if none */
	struct sk_slice last;    /* the last decoded segment, a view into rel */
};

/* Percent-decodes the path of a request target (origin-form "/a/b?q", or
 * absolute-form "http://host/a/b") once, then removes "." segments and
 * resolves ".." ones. Returns 0; SK_EHTTP_BAD_REQUEST (with *why) for a
 * malformed escape, an encoded NUL or '/', or a path that climbs above the
 * root; SK_EHTTP_URI_TOO_LONG for one longer than HTTP_PATH_MAX. */
int sk__http_decode_path(struct sk_slice target, struct http_path *out, const char **why);

/* A Range header for a representation of size bytes (RFC 9110 §14).
 * Returns 1 with [*first, *last] for one satisfiable range, 0 to ignore the
 * header (not "bytes", several ranges, or malformed: send the whole), or -1
 * when unsatisfiable (416). */
int sk__http_parse_range(struct sk_slice value, uint64_t size, uint64_t *first, uint64_t *last);

/* The strong validator we give a file: "\"<mtime ns hex>-<size hex>\"" +
 * NUL; buf holds 48 bytes. */
size_t sk__http_format_etag(const struct stat *st, char *buf);

/* What preconditions are evaluated against: the target's current
 * representation, if it has one. */
struct http_validators {
	bool exists;               /* there is one (a file, a listing) */
	const char *etag;          /* its strong entity tag, NULL if it has none */
	bool has_mtime;
	time_t mtime;              /* its Last-Modified, when has_mtime */
};

struct sk_http_request;

/* Evaluates the request's preconditions in RFC 9110 §13.2.2's order:
 * If-Match (strong comparison: a weak tag never matches; "*" matches any
 * current representation), else If-Unmodified-Since; then If-None-Match
 * (weak comparison), else If-Modified-Since on GET and HEAD. Field lines
 * of a list may be split over several lines. Dates that do not parse are
 * ignored, as are date conditions on a target without a modification time.
 * Returns 0 to go on with the request, 304 (only when is_get_or_head) or
 * 412. Call it only where the answer would otherwise be 2xx (§13.2.1). */
int sk__http_preconditions(const struct sk_http_request *req, bool is_get_or_head,
                           const struct http_validators *v);

/* RFC 9110 §13.2.2 for a request that writes a name (PUT, DELETE), against
 * what the name holds now (st; NULL if nothing): 0 to go on, or 412.
 * Anything but a regular file has no validators here. */
int sk__http_write_preconditions(const struct sk_http_request *req, const struct stat *st);

/* Whether req's method is m (case-sensitive, RFC 9110 §9.1). */
static inline bool sk__http_method_is(const struct sk_http_request *req, const char *m)
{
	size_t n = strlen(m);
	return req->method.len == n && memcmp(req->method.p, m, n) == 0;
}


/* A connection's input: a whole head plus the start of a body or of
 * pipelined requests. */
#define HTTP_IN_CAP (SK_HTTP_MAX_HEADER_BYTES + 16384)
/* Response heads and small bodies (error pages, small files) are built
 * here and sent with one write: a 16 KiB file and its head is the most it
 * needs; a response that does not fit is a 500, never sent cut. */
#define HTTP_OUT_MAX (64 * 1024)
/* After a response, a buffer grown past this is freed: idle keep-alive
 * connections keep only what a typical response needs. */
#define HTTP_OUT_KEEP (32 * 1024)
/* A listing is built on a worker into its own buffer, at most this big
 * (100,000 entries as HTML are about 30 MB), and sent straight from it. */
#define HTTP_LISTING_MAX (32 * 1024 * 1024)
/* Listings built at once (each is CPU and a buffer of up to
 * HTTP_LISTING_MAX), and the bytes built listings may hold while they are
 * sent: past either, a listing is a 503 with Retry-After. With these the
 * server's listings never hold more than 2 x 32 + 64 MiB. */
#define HTTP_LISTING_JOBS 2
/* Room kept in front of a listing for its response head (a few hundred
 * bytes; a bigger one is copied in front instead). */
#define HTTP_HEAD_ROOM 1024
#define HTTP_BODY_BUDGET (64u * 1024 * 1024)
/* Files up to this size are read into the response and sent with its head
 * in one write; larger ones go through the conn (sk_conn_send_file). */
#define HTTP_INLINE_FILE 16384


/* After a response that closes the connection, how long to keep reading
 * (and dropping) what the client still sends, so that closing with unread
 * data does not reset the connection under the response (RFC 9112 §9.6). */
#define HTTP_LINGER_MS 2000

/* A body no method here uses (a GET's, a DELETE's) is read and dropped so
 * the connection can go on, up to this size; a larger one is not read and
 * the answer closes the connection: reading gigabytes that serve nothing
 * would hold a slot for as long as the client likes. Real clients send a
 * few kilobytes at most (search APIs that take a body on GET). */
#define HTTP_DISCARD_MAX (1024 * 1024)

enum conn_state {
	READ_HEAD,
	READ_BODY,  /* an upload streams to disk */
	DISCARD_BODY, /* a body no method uses is read and dropped, then the answer */
	WRITE,      /* a response is being sent */
	LINGER,     /* response sent, our side shut, waiting for the client's EOF */
};

struct upload;

/* The body being dropped (http_discard.c). */
struct discard {
	uint64_t left;             /* Content-Length: bytes still to come */
	bool chunked;
	struct sk_http_chunked chunk;
	uint64_t total;            /* chunked: bytes read so far, framing included */
};

struct sk_conn;

struct http_conn {
	struct sk_http_server *srv;
	struct sk_conn *conn;      /* the stream the bytes go through; NULL once closed */
	struct sk_addr peer;
	struct sk_ip ip;           /* the peer's, for the acceptor's per-client count */
	enum conn_state state;
	char in[HTTP_IN_CAP];
	size_t in_len;
	struct sk_http_request req;
	size_t head_len;           /* bytes of in[] that are the current head */
	size_t body_in_buf;        /* bytes of in[] after the head that belong to the body */
	char request_line[512];    /* for the access log, copied before in[] moves */
	struct sk_buf out;         /* head (and small body) to send */
	struct sk_buf body;        /* a big body built in memory (a listing), sent after out */
	size_t body_budget;        /* its share of the server's body_bytes, until the response ends */
	int file_fd;               /* body from a file, -1 if none (handed to the conn by send) */
	struct sk_shared_fd *file_shared; /* or from a cached one: a reference, NULL if none */
	uint64_t file_off, file_left;
	int status;
	uint64_t body_sent;        /* for the log */
	bool close_after;          /* close once the response is sent */
	bool awaiting_drain;       /* a response is with the conn, not yet all sent */
	bool out_failed;           /* out[] could not take the whole response */
	bool peer_eof;             /* the client sent its EOF */
	bool head_started;         /* the first byte of a request has arrived */
	bool processing;           /* process_input's loop is running (no recursion) */
	bool more_input;           /* a finished response left pipelined bytes to parse */
	unsigned busy;             /* callbacks in progress: free after them, not during */
	bool dead;                 /* closed while busy */
	uint64_t deadline_ms;      /* what the timer really waits for (lazy re-arming) */
	struct upload *up;         /* an upload in progress */
	struct discard discard;    /* in DISCARD_BODY */
	struct sk_timer timer;
	struct http_conn *prev, *next;
};

/* The file cache (http_cache.c): slots by path hash, one entry each. 256
 * small files is a site's worth of pages, scripts and images; at most
 * 256 x 16 KiB = 4 MiB of memory; larger files are kept open instead (at
 * most 256 descriptors) and go out by sendfile (bench/http.sh). */
#define HTTP_CACHE_SLOTS 256

struct cache_entry {
	char *rel;                 /* the decoded path, NULL if the slot is free */
	size_t rel_len;
	uint64_t hash;
	struct stat st;
	char *content;             /* the whole file, if small (HTTP_INLINE_FILE) */
	struct sk_shared_fd *file; /* else the file open, which responses send from; NULL if not */
	char etag[48];
	char modified[HTTP_DATE_LEN];
	char headers[256];         /* Content-Type .. Accept-Ranges lines, ready to send */
	size_t headers_len;
	uint64_t checked_ms;       /* loop time of the last check against the disk */
};

struct sk_acceptor;
struct sk__http_hooks;

struct sk_http_server {
	struct sk_loop *loop;
	struct sk_acceptor *acceptor;
	uint64_t n_refused;        /* 503s at a connection limit */
	size_t body_bytes;         /* held by connections' body buffers (listings) */
	unsigned n_listing_jobs;   /* listings being built on workers */
	int root_fd;
	struct sk_http_server_opts o;
	const struct sk__http_hooks *hooks; /* what connections call above themselves */
	char allow[48];            /* the Allow header: the methods this server answers */
	struct http_conn *conns;
	size_t n_conns;
	bool stopping;
	char date[HTTP_DATE_LEN];  /* the Date header, formatted once a second */
	time_t date_sec;
	char date_lines[96];       /* "Date: ...\r\nServer: ...\r\n" */
	size_t date_lines_len;
	struct cache_entry cache[HTTP_CACHE_SLOTS];
	struct sk_conn_opts conn_opts; /* every connection's stream */
	struct sk_tls_conn_opts tls;   /* HTTPS: conn_opts.tls points here */
	sk_tls_handshake_fn *on_tls;   /* the caller's handshake callback (tls.on_handshake is
	                                  the server's, which calls it) */
	void *tls_ud;
};

/* --- Files, lowest first: each uses only the ones above it here (make
 * check-layers), and the connection reaches the method table, the response
 * writer and the upload through the server's hooks. --- */

/* --- http_cache.c: the small-file cache --- */

/* A fresh entry for rel, or NULL (not cached, or changed on disk). */
const struct cache_entry *sk__http_cache_get(struct sk_http_server *s, const char *rel, size_t len);
/* Caches the regular file open on *fd; NULL if it does not qualify. A
 * small file's content is copied (*fd stays the caller's); a larger file's
 * entry takes *fd and sets it to -1. */
const struct cache_entry *sk__http_cache_put(struct sk_http_server *s, const char *rel, size_t len,
                                         int *fd, const struct stat *st, const char *type);
/* Forgets everything (after a write through this server). */
void sk__http_cache_clear(struct sk_http_server *s);
/* Every slot empty (before the first put). */
void sk__http_cache_init(struct sk_http_server *s);

/* --- http_leftovers.c --- */

/* The name an upload is linked under for the moment before it is renamed
 * over the file it replaces: HTTP_TMP_PREFIX "<pid>-<n>" (http_store.c). */
#define HTTP_TMP_PREFIX ".sockit-upload-"

/* Removes what interrupted uploads of earlier servers left beneath the
 * root: regular files named HTTP_TMP_PREFIX "<pid>-<n>" whose process is
 * gone (bounds and rules in http_leftovers.c). Says how many through
 * opts.on_error. Blocks: call before serving. */
void sk__http_remove_leftovers(struct sk_http_server *s);

/* --- http_store.c: the disk side of uploads, on the loop's workers --- */

/* Body bytes an upload may queue for the disk before the connection stops
 * reading (backpressure): a few big writes per batch, and a bounded amount
 * of memory per upload whatever the disk's speed. */
#define HTTP_STORE_QUEUE_MAX (32 * 1024)

enum http_store_op {
	STORE_CREATE,   /* a new unnamed file in the directory */
	STORE_APPEND,   /* bytes to it */
	STORE_COMMIT,   /* fsync, then link it under name (replacing if may_replace) */
};

struct http_store_step {
	enum http_store_op op;
	size_t off, len;       /* STORE_APPEND: bytes of the batch's data */
	char *name;            /* STORE_COMMIT */
	bool may_replace;
};

struct http_store_batch {
	struct sk_buf data;
	struct http_store_step *steps;
	size_t n, cap;
};

struct http_store {
	struct sk_work work;
	int dir_fd;            /* borrowed */
	int fd;                /* the file being written; the worker's while busy */
	struct http_store_batch queued;  /* steps the loop adds */
	struct http_store_batch running; /* the worker's while busy */
	bool busy;
	int err;               /* the first failure: nothing runs after it */
	const char *err_step;  /* what failed ("write", "fsync", "link" …), for the log */
	unsigned n_committed;
	void (*on_done)(struct http_store *st, void *ud); /* a batch ended, on the loop */
	void *ud;
};

void sk__http_store_init(struct http_store *st, int dir_fd);
/* Closes the file if one is open; only when !busy. */
void sk__http_store_fini(struct http_store *st);
/* Queue steps; SK_ENOMEM if they cannot be. */
int sk__http_store_create(struct http_store *st);
int sk__http_store_append(struct http_store *st, const char *p, size_t len);
int sk__http_store_commit(struct http_store *st, const char *name, bool may_replace);
/* Bytes queued and not yet handed to a worker. */
size_t sk__http_store_queued(const struct http_store *st);
/* Nothing queued, nothing running. */
bool sk__http_store_idle(const struct http_store *st);
/* Hands the queued steps to a worker unless one runs (its end calls
 * on_done, which flushes again) or a step failed. */
int sk__http_store_flush(struct http_store *st, struct sk_loop *loop);

/* --- http_discard.c: bodies no method uses --- */

/* Starts dropping the body of c's request, beginning with the bytes in[]
 * holds after the head (they count in body_in_buf); sends 100 (Continue) if
 * the client waits for it. Returns 1 when the whole body was there (answer
 * now), 0 when more is to come (state DISCARD_BODY: feed it to
 * sk__http_discard_data), SK_EHTTP_BODY_TOO_BIG for a Content-Length over
 * HTTP_DISCARD_MAX (nothing read: answer and close), or
 * SK_EHTTP_BAD_REQUEST for broken chunked framing. */
int sk__http_discard_start(struct http_conn *c);

/* Drops body bytes from p[0..len); *used is how many belonged to the
 * body (what follows is the next request). Returns 1 when the body is
 * complete, 0 when more is to come, SK_EHTTP_BAD_REQUEST for broken
 * chunked framing, SK_EHTTP_BODY_TOO_BIG once a chunked body passes
 * HTTP_DISCARD_MAX. */
int sk__http_discard_data(struct http_conn *c, const char *p, size_t len, size_t *used);

/* --- http_fs.c: the file system, beneath the root --- */

/* Opens a decoded path beneath the root (openat2 RESOLVE_BENEATH). Returns
 * the fd or a negative errno (-EXDEV for a symlink that leads out). */
int sk__http_open_beneath(const struct sk_http_server *s, const char *rel, int flags);

/* Opens the directory of path ("a/b" of "a/b/name") beneath the root into
 * *dir_fd and points *name at the last segment. Returns 0 or a negative
 * errno. */
int sk__http_open_parent(const struct sk_http_server *s, const struct http_path *path, int *dir_fd,
                         const char **name);

/* The status that answers a write (PUT, POST, DELETE) that failed with err:
 * 409 for a missing directory, 403, 507 for a full disk, else 500. */
int sk__http_status_of_write_error(int err);

/* --- http_log.c: the access and error logs --- */

/* sk_strerror(err) as messages read it (lowercase), in buf. */
const char *sk__http_reason(int err, char *buf, size_t cap);

/* A line for the server's error log (opts.on_error), prefixed with the
 * request it concerns: "PUT /a.txt: could not store ...". */
void sk__http_log_error(struct http_conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* One Common Log Format line (opts.on_access): peer (len 0: unknown), the
 * request line as escaped below, status, body bytes (0: "-"). */
void sk__http_log_line(struct sk_http_server *s, const struct sk_addr *peer,
                       const char *request_line, int status, uint64_t body_bytes);

/* The line for the response c has sent. */
void sk__http_log_access(const struct http_conn *c);

/* The first line of p[0..len) into out (cap bytes, always terminated),
 * with bytes a log line must not carry escaped as \xHH: a request line for
 * the log, cut where out is full. */
void sk__http_escape_request_line(const char *p, size_t len, char *out, size_t cap);

/* Remembers "METHOD TARGET VERSION" of in[] for the access log (only when
 * there is one). */
void sk__http_keep_request_line(struct http_conn *c);

/* --- http_conn.c: a connection's life --- */

/* What a connection calls above itself, through its server (the server
 * fills it in: http_server.c). */
struct sk__http_hooks {
	/* Whether the method that will answer c reads the request's body
	 * itself (an upload); if not, the connection drops the body first. */
	bool (*uses_body)(const struct http_conn *c);
	/* The head is in and checked, and any body no method uses dropped:
	 * answer the request (the method table). */
	void (*answer)(struct http_conn *c);
	/* A complete error response (the response writer). */
	void (*error)(struct http_conn *c, int status, const char *why);
	/* Body bytes for the upload in progress; returns how many it took.
	 * Fewer than len: the disk is behind, stop reading (the loop holds
	 * the rest and the upload resumes reading). */
	size_t (*upload_data)(struct http_conn *c, const char *p, size_t len);
	/* Frees the upload in progress, if any (aborting it if unfinished:
	 * the unnamed file vanishes). */
	void (*upload_free)(struct http_conn *c);
};

/* The acceptor's on_accept (ud: the server): a new connection, reading
 * its first request. */
void sk__http_conn_accept(void *ud, int cfd, const struct sk_addr *peer, const struct sk_ip *ip);

/* Closes c: its fd, its timer, its file, its upload. Freed now, or when
 * the last holder lets go. */
void sk__http_conn_close(struct http_conn *c);

/* A connection held across a callback or a disk step is freed only when
 * the last holder lets go (a close meanwhile just marks it dead). */
void sk__http_hold(struct http_conn *c);
void sk__http_release(struct http_conn *c);

/* The connection's one timer: fires ms from now (0: off). What it means
 * depends on the state (on_timer in http_conn.c). */
void sk__http_set_timer(struct http_conn *c, unsigned ms);

/* Sends what c->out holds, then the in-memory body, then the file part if
 * any, then finishes the response (logs it, and goes on to the next
 * request or closes). */
void sk__http_send(struct http_conn *c);

/* Frees the in-memory body (and its share of the server's budget). */
void sk__http_drop_body(struct http_conn *c);

/* --- http_response.c: the response writer --- */

/* Starts a response: status line, Date, Server, Connection and
 * Content-Length (body_len) into c->out. More headers may follow with
 * sk__http_header(); sk__http_end_head() ends the head. */
void sk__http_begin(struct http_conn *c, int status, uint64_t body_len);
void sk__http_header(struct http_conn *c, const char *name, const char *value);
void sk__http_end_head(struct http_conn *c);

/* Appends to c->out; a response that does not fit is replaced by a 500
 * when it is sent, never sent cut. */
void sk__http_append(struct http_conn *c, const void *p, size_t len);

/* A complete response with a small HTML body explaining status (and why,
 * if given), sent; closes the connection after it for 4xx framing errors. */
void sk__http_error(struct http_conn *c, int status, const char *why);

/* --- the method handlers: http_get.c, http_upload.c, http_delete.c --- */

void sk__http_get(struct http_conn *c);
void sk__http_head(struct http_conn *c);
void sk__http_put(struct http_conn *c);
void sk__http_post(struct http_conn *c);
void sk__http_delete(struct http_conn *c);

/* The upload hooks (struct sk__http_hooks). */
size_t sk__http_upload_data(struct http_conn *c, const char *p, size_t len);
void sk__http_upload_free(struct http_conn *c);

/* --- http_methods.c: the method table --- */

/* Writes the methods a server with options o answers, for Allow headers
 * ("GET, HEAD, OPTIONS, PUT, POST, DELETE" at most), into buf. */
void sk__http_allow(const struct sk_http_server_opts *o, char *buf, size_t cap);

/* The method table's hooks (struct sk__http_hooks). */
bool sk__http_uses_body(const struct http_conn *c);
void sk__http_route(struct http_conn *c);

/* --- the client: http_client.c (the client, its connections, an exchange's
 * start), http_client_io.c (the request on the wire, the response off it) and
 * http_client_exchange.c (an exchange's end), each calling only those below --- */

/* Addresses tried per host name: both families of a dual-stack host and
 * a few of each. */
#define SK__HTTP_MAX_ADDRS 8

/* Where a connection goes, and what may share it: the origin (https: TLS
 * with it, through a CONNECT tunnel when via_host is set), or for http://
 * through a proxy, the proxy. */
struct sk__http_origin {
	enum sk_url_scheme scheme;
	char host[SK_URL_HOST_MAX];
	unsigned port;
	char via_host[SK_URL_HOST_MAX]; /* the proxy a tunnel goes through; "" for none */
	unsigned via_port;
};

/* One connection, busy with an exchange or kept alive for the next. */
struct sk__http_conn {
	struct sk_http_client *client;
	struct sk_conn *conn;
	struct sk__http_origin origin;
	struct sk_tls_conn_opts tls;   /* https: the conn's use of the client's config */
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
	struct sk_tls_config *own_tls; /* made at the first https:// origin without opts.tls */
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
	struct sk_timer kick;    /* begins the exchange */
	struct sk__http_tunnel *tunnel; /* a CONNECT being made through a proxy */
	char why[192];           /* SK_EHTTP_TUNNEL: the proxy's answer */

	/* Connecting. */
	struct sk_addr addrs[SK__HTTP_MAX_ADDRS];
	size_t n_addrs, addr_i;
	int connect_fd;          /* connecting, or the tunnel's socket: closed with the exchange */
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

/* --- http_client_exchange.c: an exchange's end, and its callback sections --- */

/* Microseconds on CLOCK_MONOTONIC. */
uint64_t sk__http_now_us(void);

/* The end of an exchange: on_done, then its connection back to the pool
 * when it may carry the next request, else closed. */
void sk__http_finish(struct sk_http_exchange *ex, int err);
/* Frees an exchange that never started, or whose callbacks are over. */
void sk__http_exchange_free(struct sk_http_exchange *ex);
/* Callback sections: enter before calling the program, leave after; true
 * from leave when the exchange ended meanwhile (do not touch it then). */
void sk__http_enter(struct sk_http_exchange *ex);
bool sk__http_leave(struct sk_http_exchange *ex);

/* --- http_client_tunnel.c: CONNECT through a proxy --- */

/* The tunnel is open on fd (err 0, the caller owns fd), or not (err, fd -1
 * and closed). */
typedef void sk__http_tunnel_fn(struct sk_http_exchange *ex, int fd, int err);

/* For an exchange that needs a tunnel to ex->target: ex->tunnel, with the
 * CONNECT request (Proxy-Authorization from proxy's userinfo, if any).
 * Plain data: the exchange frees it with free(). Returns 0 or SK_ENOMEM. */
int sk__http_tunnel_new(struct sk_http_exchange *ex, const struct sk_url *proxy);

/* Asks the proxy connected on fd for the tunnel, without blocking; done
 * runs from the loop. fd is ex->connect_fd meanwhile, so an exchange that
 * ends first closes it. Returns 0, or an error (fd is then closed). */
int sk__http_tunnel_start(struct sk_http_exchange *ex, int fd, sk__http_tunnel_fn *done);

/* --- http_client_io.c: the request on the wire, the response off it --- */

int sk__http_build_head(struct sk_http_exchange *ex, const struct sk_http_client_req *req);
void sk__http_send_request(struct sk_http_exchange *ex);
void sk__http_pump_body(struct sk_http_exchange *ex);
void sk__http_received(struct sk_http_exchange *ex, const char *p, size_t len);
/* The server closed the connection: the end of a body framed by it (unless
 * truncated: a TLS server that closed without close_notify may have been
 * cut short by an attacker, RFC 8446 §6.1), or a response cut short.
 * Returns 0, or SK_EHTTP_NO_RESPONSE when no byte of a response came (the
 * caller decides whether to send the request again). */
int sk__http_peer_closed(struct sk_http_exchange *ex, bool truncated);
void sk__http_recv_reset(struct sk_http_exchange *ex);

#endif
