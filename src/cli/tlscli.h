/* TLS on the command line: the flags `tcp connect` and `tcp listen` share
 * (and the HTTP commands will), the libsockit config built once from them,
 * and the words for a handshake's outcome (-v lines, the one line of a
 * refusal). */
#ifndef SOCKIT_TLSCLI_H
#define SOCKIT_TLSCLI_H

#include "cli.h"

#include <getopt.h>

#include <sockit/tls.h>

enum {
	OPT_TLS = 3000, OPT_CAFILE, OPT_CAPATH, OPT_INSECURE, OPT_PIN, OPT_ALPN, OPT_CERT, OPT_KEY,
	OPT_TLS_MIN, OPT_SERVERNAME, OPT_VERIFY_CLIENT, OPT_HANDSHAKE_TIMEOUT, OPT_TLS_END
};

/* getopt_long rows for a client and for a server. */
#define TLSCLI_COMMON_OPTIONS                                         \
	{ "tls", no_argument, NULL, OPT_TLS },                        \
	{ "alpn", required_argument, NULL, OPT_ALPN },                \
	{ "cert", required_argument, NULL, OPT_CERT },                \
	{ "key", required_argument, NULL, OPT_KEY },                  \
	{ "tls-min", required_argument, NULL, OPT_TLS_MIN },          \
	{ "handshake-timeout", required_argument, NULL, OPT_HANDSHAKE_TIMEOUT }
#define TLSCLI_CLIENT_OPTIONS                                         \
	TLSCLI_COMMON_OPTIONS,                                        \
	{ "cafile", required_argument, NULL, OPT_CAFILE },            \
	{ "capath", required_argument, NULL, OPT_CAPATH },            \
	{ "insecure", no_argument, NULL, OPT_INSECURE },              \
	{ "pin", required_argument, NULL, OPT_PIN },                  \
	{ "servername", required_argument, NULL, OPT_SERVERNAME }
#define TLSCLI_SERVER_OPTIONS                                         \
	TLSCLI_COMMON_OPTIONS,                                        \
	{ "verify-client", required_argument, NULL, OPT_VERIFY_CLIENT }

struct tlscli {
	const char *command;     /* "tcp connect": the context of every line */
	bool is_server;
	bool on;                 /* --tls */
	bool verbose;            /* -v: print each handshake */
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

/* True for the option codes above. */
bool tlscli_is_option(int opt);

/* Records an option; returns 0 or the exit status of a usage error. */
int tlscli_option(struct tlscli *t, int opt, const char *arg);

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

/* The one line for a failed handshake or a refused certificate,
 * "sockit: <ctx>: <why>", with what the last handshake report showed.
 * Returns the exit status. */
int tlscli_report(const struct tlscli *t, const char *ctx, int err);

#endif
