/* Internals of TLS shared by the configuration (tls_config.c),
 * verification (tls_verify.c), certificates (tls_cert.c), the BIO
 * (tls_bio.c) and the transport above them (stream/conn_tls.c). Only these
 * files include OpenSSL's headers. */
#ifndef SOCKIT_TLS_INTERNAL_H
#define SOCKIT_TLS_INTERNAL_H

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <sockit/buf.h>
#include <sockit/tls.h>

/* Client sessions kept per config, one per server name: enough for a
 * program that talks to a handful of servers; the oldest goes first. */
#define SK__TLS_CACHE_SLOTS 16

/* Longest server name: a DNS name is at most 253 bytes. */
#define SK__TLS_NAME_MAX 256

struct sk__tls_cache {
	struct {
		char name[SK__TLS_NAME_MAX];
		SSL_SESSION *sess;
	} slot[SK__TLS_CACHE_SLOTS];
	unsigned next; /* the slot a new name takes */
};

struct sk_tls_config {
	enum sk_tls_role role;
	SSL_CTX *ctx;
	BIO_METHOD *bio_method;      /* the transport's BIO (conn_tls.c) */
	bool insecure;
	bool has_cert;
	bool verify_clients;
	unsigned char pins[SK_TLS_MAX_PINS][32];
	size_t n_pins;
	unsigned char *alpn;          /* wire format: length-prefixed names */
	size_t alpn_len;
	unsigned handshake_timeout_ms;
	struct sk__tls_cache *cache;  /* clients: sessions to resume (mutable state behind a
	                                 const config, as the SSL_CTX's own) */
};

/* What OpenSSL's callbacks learn during one conn's handshake. The SSL's
 * app data points here (SSL_get_app_data). */
struct sk__tls_report {
	const struct sk_tls_config *cfg;
	char name[SK__TLS_NAME_MAX]; /* client: the name checked; "" for none */
	int verify_err;              /* the first SK_ETLS_CERT_* seen, or 0 */
	int x509_err;                /* OpenSSL's X509_V_ERR_* for it */
	int fail_depth;
	X509 *leaf;                  /* the peer's certificate as verification saw it */
	X509 *failed;                /* the one at fault */
	bool pinned;                 /* a pin matched */
	char alert[64];              /* a fatal alert the peer sent; "" for none */
	int alert_code;              /* its SSL_AD_* */
};

/* What the BIO reads and writes: one per conn, its BIO's data. */
struct sk__tls_io {
	const char *in_p;   /* ciphertext the loop delivered, not yet read */
	size_t in_len;
	bool in_eof;        /* the peer's TCP stream ended */
	struct sk_buf cout; /* ciphertext OpenSSL wrote, not yet the loop's */
};

/* The transport's BIO over a struct sk__tls_io (tls_bio.c). */
BIO_METHOD *sk__tls_bio_method_new(void);

/* A new SSL for one conn: role, verification mode and name, SNI, a saved
 * session to resume, rep as app data. NULL when out of memory. */
SSL *sk__tls_ssl_new(const struct sk_tls_config *cfg, struct sk__tls_report *rep);

/* Releases what rep holds. */
void sk__tls_report_fini(struct sk__tls_report *rep);

/* Installs the verification callbacks of cfg's context (tls_verify.c). */
void sk__tls_verify_setup(struct sk_tls_config *cfg);

/* The error a failed handshake or read is (SK_ETLS_*), from the report,
 * OpenSSL's error queue (emptied) and ssl_err (SSL_get_error); its words in
 * detail. eof: the peer's TCP stream ended. */
int sk__tls_error(SSL *ssl, int ssl_err, const struct sk__tls_report *rep, bool eof,
                  char *detail, size_t cap);

/* Fills info from the live ssl and the report. */
void sk__tls_fill_info(SSL *ssl, const struct sk__tls_report *rep, struct sk_tls_info *info);

/* Describes a certificate. */
void sk__tls_cert_info(X509 *x, struct sk_tls_cert_info *out);

/* SHA-256 of x's DER SubjectPublicKeyInfo. Returns 0 or SK_ENOMEM. */
int sk__tls_spki_sha256(X509 *x, unsigned char out[32]);

/* A fresh P-256 key and self-signed certificate (tls.h,
 * sk_tls_config_self_signed). Returns 0 or SK_ENOMEM. */
int sk__tls_make_self_signed(const char *host, X509 **cert_out, EVP_PKEY **key_out);

/* Client session cache (tls_config.c). */
void sk__tls_cache_put(struct sk__tls_cache *cache, const char *name, SSL_SESSION *sess);
SSL_SESSION *sk__tls_cache_get(const struct sk__tls_cache *cache, const char *name);

#endif
