/* sk_http_server: an HTTP/1.1 file server in a loop.
 *
 * Serves the files under one directory to GET and HEAD (ranges,
 * conditional requests, directory listings as HTML or JSON, index.html),
 * answers OPTIONS, and — only when asked — takes PUT, multipart POST from
 * the listing's form, and DELETE. Uploads are written to an unnamed file in
 * the target directory, fsynced, and only then given their name: a
 * half-received upload is never visible and never replaces a good file.
 *
 * No request reads, writes, lists or deletes outside the root: paths are
 * decoded once, "." and ".." are resolved before use and may not climb out,
 * encoded NUL and '/' are refused, and every file is opened beneath the
 * root's directory fd with openat2(RESOLVE_BENEATH), so no symlink can lead
 * out either. Names starting with '.' are hidden unless opts.hidden.
 *
 * Every limit has a default and an answer: request line (414), header
 * fields (431), body (413 before a byte of it is read), header-read time
 * (408: slowloris), keep-alive idle time, connections.
 *
 * HTTPS: with opts.tls every connection speaks TLS (sockit/tls.h) and
 * nothing else changes — the same requests, responses and access log. A
 * failed handshake costs only its connection; a plain-text request on the
 * HTTPS port is answered with a plain-text 400 that says to use https://. */
#ifndef SOCKIT_HTTP_SERVER_H
#define SOCKIT_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sockit/loop.h>
#include <sockit/sock.h>

struct sk_http_server;
struct sk_tls_conn_opts;

/* One access-log line in Common Log Format, without a newline:
 * 127.0.0.1 - - [22/Nov/2026:18:40:00 +0000] "GET / HTTP/1.1" 200 1234 */
typedef void sk_http_log_fn(void *ud, const char *line);

struct sk_http_server_opts {
	const char *root;            /* the directory served; opened at start, borrowed */
	bool upload;                 /* PUT and multipart POST */
	bool allow_delete;           /* DELETE */
	bool hidden;                 /* serve and list names starting with '.' */
	uint64_t max_body;           /* bytes an upload may have; 413 beyond */
	unsigned header_timeout_ms;  /* a request head must arrive within this (slowloris) */
	unsigned idle_ms;            /* a keep-alive connection may wait this long for a request */
	unsigned body_timeout_ms;    /* at most this long between two reads of a body (0: none) */
	unsigned send_timeout_ms;    /* at most this long between two writes of a response (0: none) */
	size_t max_conns;            /* more get a 503 and the close (0: no limit) */
	size_t max_per_client;       /* connections from one address; more get a 503 (0: no limit) */
	unsigned max_parts;          /* parts of one multipart upload, fields included; 413 beyond */
	sk_http_log_fn *on_access;   /* one line per response; may be NULL */
	sk_http_log_fn *on_error;    /* problems worth a line (a failed write to disk); may be NULL */
	void *ud;
	const struct sk_tracer *tracer;
	const struct sk_tls_conn_opts *tls; /* HTTPS (a server config; its ALPN should offer
	                                       http/1.1); NULL: plain HTTP. Copied; its config
	                                       is borrowed and must outlive the server */
};

/* 100 MiB bodies, 10 s for a head, 15 s keep-alive, 30 s between body
 * reads and between response writes, 1024 connections, 256 from one
 * address, 1000 parts per upload, no uploads, no deletes, no hidden files. */
void sk_http_server_opts_init(struct sk_http_server_opts *opts);

/* Serves on listen_fd (taken: the server closes it). Opens opts->root as
 * the directory every path is resolved beneath: SK_ENOENT / -ENOTDIR if it
 * cannot. opts is copied; its pointers are borrowed. */
int sk_http_server_new(struct sk_loop *loop, int listen_fd, const struct sk_http_server_opts *opts,
                       struct sk_http_server **out);

/* Graceful stop: no new connections, idle keep-alive connections closed,
 * responses in flight finish (then their connections close). When the last
 * one is done the server holds no fds or timers, so sk_loop_run returns. */
void sk_http_server_stop(struct sk_http_server *s);

/* Connections open now. */
size_t sk_http_server_n_conns(const struct sk_http_server *s);

/* Closes everything and frees the server. Accepts NULL. */
void sk_http_server_free(struct sk_http_server *s);

#endif
