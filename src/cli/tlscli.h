/* TLS on the command line: the flags `tcp connect`, `tcp listen`, `http
 * serve` and `serve` share, the libsockit config built once from them,
 * and the words for a handshake's outcome (-v lines, the one line of a
 * refusal). */
#ifndef SOCKIT_TLSCLI_H
#define SOCKIT_TLSCLI_H

#include "cli.h"

#include <sockit/tls.h>

/* What each TLS flag's table row passes tlscli_option (struct opt's n). */
enum tlscli_flag {
	TLSCLI_TLS = 1, TLSCLI_CAFILE, TLSCLI_CAPATH, TLSCLI_INSECURE, TLSCLI_PIN, TLSCLI_ALPN,
	TLSCLI_CERT, TLSCLI_KEY, TLSCLI_TLS_MIN, TLSCLI_SERVERNAME, TLSCLI_VERIFY_CLIENT,
	TLSCLI_HANDSHAKE_TIMEOUT
};

/* Option table rows (opts.c) for the TLS flags; field is the command
 * struct's struct tlscli, which tlscli_init has prepared before the parse. */
#define TLSCLI_ROW_(l, a, flag, type, field, h) \
	{ OPT_CALL, 0, l, a, h, OPT_OFF(type, field, struct tlscli), flag, tlscli_opt, 0, NULL }
#define TLSCLI_LIMIT_ROWS_(type, field)                                                         \
	TLSCLI_ROW_("tls-min", "1.2|1.3", TLSCLI_TLS_MIN, type, field,                           \
	            "the lowest TLS version (default 1.2)"),                                     \
	TLSCLI_ROW_("handshake-timeout", "SECS", TLSCLI_HANDSHAKE_TIMEOUT, type, field,          \
	            "give up a handshake after SECS (default 10)")
#define TLSCLI_COMMON_ROWS_(type, field)                                                        \
	TLSCLI_ROW_("alpn", "LIST", TLSCLI_ALPN, type, field,                                    \
	            "offer these application protocols, comma-separated (h2,http/1.1)"),         \
	TLSCLI_LIMIT_ROWS_(type, field)
#define TLSCLI_CLIENT_ROWS(type, field)                                                         \
	TLSCLI_ROW_("tls", NULL, TLSCLI_TLS, type, field,                                        \
	            "speak TLS (1.2 or 1.3); the server's certificate must chain to the "        \
	            "system's CAs and name HOST (a DNS name, or an IP address)"),                \
	TLSCLI_ROW_("cafile", "FILE", TLSCLI_CAFILE, type, field,                                \
	            "trust the CAs in FILE (PEM) instead of the system's"),                      \
	TLSCLI_ROW_("capath", "DIR", TLSCLI_CAPATH, type, field,                                 \
	            "trust the CAs in DIR (hashed names, c_rehash) instead of the system's"),    \
	TLSCLI_ROW_("pin", "sha256:BASE64", TLSCLI_PIN, type, field,                             \
	            "accept exactly the certificate whose public key hashes to this (no CA or "  \
	            "name check; repeatable)"),                                                  \
	TLSCLI_ROW_("insecure", NULL, TLSCLI_INSECURE, type, field,                              \
	            "accept any certificate (and say so on stderr)"),                            \
	TLSCLI_ROW_("servername", "NAME", TLSCLI_SERVERNAME, type, field,                        \
	            "the name to check and send as SNI instead of HOST"),                        \
	TLSCLI_ROW_("cert", "FILE", TLSCLI_CERT, type, field,                                    \
	            "present this client certificate chain (PEM)"),                              \
	TLSCLI_ROW_("key", "FILE", TLSCLI_KEY, type, field,                                      \
	            "the client certificate's key (default: in --cert's FILE)"),                 \
	TLSCLI_COMMON_ROWS_(type, field)
/* The HTTP client's rows: TLS comes with an https:// URL, so no --tls;
 * ALPN is http/1.1, the one protocol it speaks, so no --alpn; curl's names
 * -k and --cacert beside ours. */
#define TLSCLI_HTTPS_ROWS(type, field)                                                          \
	TLSCLI_ROW_("cafile", "FILE", TLSCLI_CAFILE, type, field,                                \
	            "https://: trust the CAs in FILE (PEM) instead of the system's"),            \
	TLSCLI_ROW_("cacert", "FILE", TLSCLI_CAFILE, type, field,                                \
	            "the same as --cafile (curl's name)"),                                       \
	TLSCLI_ROW_("capath", "DIR", TLSCLI_CAPATH, type, field,                                 \
	            "https://: trust the CAs in DIR (hashed names, c_rehash) instead"),          \
	TLSCLI_ROW_("pin", "sha256:BASE64", TLSCLI_PIN, type, field,                             \
	            "https://: accept exactly the certificate whose public key hashes to this "  \
	            "(no CA or name check; repeatable)"),                                        \
	{ OPT_CALL, 'k', "insecure", NULL, "https://: accept any certificate (and say so on stderr)", \
	  OPT_OFF(type, field, struct tlscli), TLSCLI_INSECURE, tlscli_opt, 0, NULL },            \
	TLSCLI_ROW_("servername", "NAME", TLSCLI_SERVERNAME, type, field,                        \
	            "https://: the name to check and send as SNI instead of the URL's host"),    \
	TLSCLI_ROW_("cert", "FILE", TLSCLI_CERT, type, field,                                    \
	            "https://: present this client certificate chain (PEM)"),                    \
	TLSCLI_ROW_("key", "FILE", TLSCLI_KEY, type, field,                                      \
	            "the client certificate's key (default: in --cert's FILE)"),                 \
	TLSCLI_ROW_("tls-min", "1.2|1.3", TLSCLI_TLS_MIN, type, field,                           \
	            "the lowest TLS version (default 1.2)"),                                     \
	TLSCLI_ROW_("handshake-timeout", "SECS", TLSCLI_HANDSHAKE_TIMEOUT, type, field,          \
	            "give up a TLS handshake after SECS (default 10)")
#define TLSCLI_SERVER_CERT_ROWS_(type, field)                                                   \
	TLSCLI_ROW_("cert", "FILE", TLSCLI_CERT, type, field,                                    \
	            "the server's certificate chain (PEM)"),                                     \
	TLSCLI_ROW_("key", "FILE", TLSCLI_KEY, type, field,                                      \
	            "its key (default: in --cert's FILE)"),                                      \
	TLSCLI_ROW_("verify-client", "CAFILE", TLSCLI_VERIFY_CLIENT, type, field,                \
	            "require client certificates from the CAs in CAFILE")
#define TLSCLI_SERVER_ROWS(type, field)                                                         \
	TLSCLI_ROW_("tls", NULL, TLSCLI_TLS, type, field,                                        \
	            "serve TLS in every mode (--exec: the command gets plaintext through a "     \
	            "socketpair); without --cert, a P-256 certificate is made for the run and "  \
	            "its fingerprint and --pin printed"),                                        \
	TLSCLI_SERVER_CERT_ROWS_(type, field),                                                   \
	TLSCLI_COMMON_ROWS_(type, field)
/* The HTTP servers' rows: no --alpn, theirs is http/1.1 (what they speak). */
#define TLSCLI_HTTP_SERVER_ROWS(type, field, tls_help)                                         \
	TLSCLI_ROW_("tls", NULL, TLSCLI_TLS, type, field, tls_help),                             \
	TLSCLI_SERVER_CERT_ROWS_(type, field),                                                   \
	TLSCLI_LIMIT_ROWS_(type, field)

struct tlscli {
	const char *command;     /* "tcp connect": the context of every line */
	bool is_server;
	bool on;                 /* --tls */
	bool verbose;            /* -v: print each handshake */
	bool info_for_verbose;   /* a server that needs the outcome only for -v (http serve): no
	                            handshake callback without it (the outcome's certificate
	                            texts cost CPU per handshake) */
	const char *alpn_default; /* ALPN unless --alpn: "http/1.1" for the HTTP servers */
	bool tells_record_path;  /* -v says at the start whether kTLS could take the records */
	/* Where -v's lines go (whole lines, "sockit: ..." without a newline);
	 * NULL: stderr. A server's log queue, so a slow stderr never blocks it. */
	void (*log_line)(void *ud, const char *line);
	void *log_ud;
	const char *cafile, *capath, *cert, *key, *alpn, *servername, *verify_client;
	const char *pins[SK_TLS_MAX_PINS];
	size_t n_pins;
	bool insecure;
	int min_version;
	unsigned handshake_ms;
	bool handshake_set;
	struct sk_tls_config *cfg;
	struct sk_tls_conn_opts conn;
	/* The last handshake's outcome (a client has one). */
	bool has_info;
	int info_err;
	struct sk_tls_info info;
};

void tlscli_init(struct tlscli *t, const char *command, bool is_server);

/* Before tlscli_setup, for the HTTP servers: ALPN http/1.1, the
 * handshake's outcome only for -v (verbose), through log_line if set, and
 * with -v a line at the start on the path records take (kTLS or not). */
void tlscli_for_http(struct tlscli *t, bool verbose);

/* Records a flag (enum tlscli_flag); returns 0 or the exit status of a
 * usage error. */
int tlscli_option(struct tlscli *t, enum tlscli_flag flag, const char *arg);

/* The table rows' handler: tlscli_option on the row's struct tlscli. */
int tlscli_opt(struct parse *ps, const char *arg);

/* After the options: usage errors in their combination ("--key needs
 * --cert"). Returns 0 or EXIT_USAGE (reported). tlscli_setup checks too;
 * a command that builds the config later calls this first. */
int tlscli_check(const struct tlscli *t);

/* After the options: checks their combination and builds the config
 * (reading files). host is what the client connects to (the name checked
 * unless --servername). A server without --cert makes a certificate and
 * prints its fingerprint and pin. Returns 0 or an exit status (2 usage, 7
 * an unreadable file); nothing to free on failure. */
int tlscli_setup(struct tlscli *t, const char *host);

void tlscli_fini(struct tlscli *t);

/* For sk_conn_opts.tls: NULL without --tls. */
const struct sk_tls_conn_opts *tlscli_conn_opts(struct tlscli *t);

/* True for the errors tlscli_report words. */
bool tlscli_is_tls_error(int err);

/* A handshake's outcome from a conn this struct's config was not given to
 * as sk_tls_conn_opts (the HTTP client makes its conns itself): kept for
 * tlscli_report and tlscli_describe, and with -v printed as a client's. */
void tlscli_record(struct tlscli *t, int err, const struct sk_tls_info *info);

/* Why a handshake failed (err), in the words of tlscli_report's line,
 * with what the last recorded handshake showed. */
void tlscli_describe(const struct tlscli *t, int err, char *buf, size_t cap);

/* The one line for a failed handshake or a refused certificate,
 * "sockit: <ctx>: <why>", with what the last handshake report showed.
 * Returns the exit status. */
int tlscli_report(const struct tlscli *t, const char *ctx, int err);

#endif
