/* TLS for sk_conn: OpenSSL 3 under any byte-stream service (the relay, the
 * tcp modes, the HTTP server and client).
 *
 * Two objects:
 *
 * - struct sk_tls_config: what one side of every connection of a program
 *   presents and accepts (its certificate, the CAs or pins it trusts, ALPN,
 *   the lowest version), built once from the command line with the setters
 *   below. Several conns share it; it must outlive them.
 * - struct sk_tls_conn_opts: one conn's use of a config (the server name a
 *   client checks, a callback for the handshake's result). A conn is made
 *   TLS by pointing sk_conn_opts.tls at one (include/sockit/conn.h); the
 *   conn then speaks TLS over its socket and nothing above it changes.
 *
 * Policy, fixed: TLS 1.2 and 1.3 only, OpenSSL's default cipher lists (no
 * RSA key exchange, no CBC in 1.3), renegotiation refused, session tickets
 * on both sides (a client config keeps the last ticket per server name and
 * offers it on the next connection), a clean close with close_notify both
 * ways. A client verifies by default: the chain against the system's CA
 * store (or cafile/capath) and the name against the certificate's DNS names
 * and IP addresses (subjectAltName); SNI is sent for names, never for
 * addresses (RFC 6066 §3).
 *
 * Results are values: every failure is an SK_ETLS_* code (err.h) on the
 * conn's on_close, and the handshake callback gets an sk_tls_info with the
 * negotiated parameters, the peer's certificate and, on a refusal, the
 * certificate that failed — everything a program needs to say why, without
 * OpenSSL's headers. Nothing here prints, and nothing blocks except the
 * setters that read files. */
#ifndef SOCKIT_TLS_H
#define SOCKIT_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <sockit/sock.h>

struct sk_conn;
struct sk_tls_config;

enum sk_tls_role { SK_TLS_CLIENT, SK_TLS_SERVER };

/* The lowest version a config accepts (sk_tls_config_set_min_version). */
#define SK_TLS_1_2 0x0303
#define SK_TLS_1_3 0x0304

/* A handshake must finish within this by default: a peer that connects and
 * stalls costs a connection slot only this long (slowloris). 10 s covers a
 * slow mobile link's round trips many times over. */
#define SK_TLS_HANDSHAKE_TIMEOUT_MS 10000

/* Pins per config: a key and its planned successors. */
#define SK_TLS_MAX_PINS 8

/* Makes an empty config for role: a client that verifies against the
 * system's CA store; a server that needs a certificate (load_cert or
 * self_signed) before its first conn. Returns 0 and *out (free with
 * sk_tls_config_free), or SK_ENOMEM. */
int sk_tls_config_new(enum sk_tls_role role, struct sk_tls_config **out);

/* Frees cfg; every conn using it must be closed. Accepts NULL. */
void sk_tls_config_free(struct sk_tls_config *cfg);

/* The certificate (chain) and private key this side presents, from PEM
 * files; key_file NULL reads the key from cert_file. Blocks (reads files).
 * Returns 0, -ENOENT/-EACCES/… (a file cannot be read), SK_ETLS_CERT_FILE,
 * SK_ETLS_KEY_FILE or SK_ETLS_KEY_MISMATCH. *bad_file (may be NULL) is set to
 * the file at fault. */
int sk_tls_config_load_cert(struct sk_tls_config *cfg, const char *cert_file,
                            const char *key_file, const char **bad_file);

/* A fresh P-256 key and a self-signed certificate for host (CN and DNS
 * name), localhost, 127.0.0.1 and ::1, valid from an hour ago for 30 days,
 * made in memory. host may be NULL (localhost only) and is skipped if it is
 * not a plain DNS name. Returns 0 or SK_ENOMEM. */
int sk_tls_config_self_signed(struct sk_tls_config *cfg, const char *host);

/* Client: trust these CAs instead of the system's store (cafile: PEM
 * certificates; capath: a directory hashed by c_rehash). Server: see
 * verify_clients. Returns 0, -ENOENT…, or SK_ETLS_CERT_FILE. Blocks. */
int sk_tls_config_trust(struct sk_tls_config *cfg, const char *cafile, const char *capath);

/* Client: accept any certificate for any name (a lab setup). The handshake
 * result says SK_TLS_TRUST_NONE. */
void sk_tls_config_set_insecure(struct sk_tls_config *cfg);

/* Client: accept exactly the certificates whose public key (DER
 * SubjectPublicKeyInfo) hashes to pin, "sha256:BASE64" (the form of HPKP and
 * curl's --pinnedpubkey), with no CA or name check; repeatable (any pin
 * matches). Returns 0, SK_ETLS_PIN_SYNTAX, or SK_ETOOLARGE past
 * SK_TLS_MAX_PINS. */
int sk_tls_config_add_pin(struct sk_tls_config *cfg, const char *pin);

/* ALPN, "h2,http/1.1": a client offers the list; a server picks the first
 * of its list the client offers, and refuses a client that offers only
 * others (RFC 7301 §3.2 no_application_protocol); a client that offers none
 * gets none. Returns 0 or SK_ETLS_ALPN_SYNTAX. */
int sk_tls_config_set_alpn(struct sk_tls_config *cfg, const char *list);

/* The lowest version: SK_TLS_1_2 (default) or SK_TLS_1_3. SK_EINVAL for
 * anything else. */
int sk_tls_config_set_min_version(struct sk_tls_config *cfg, int version);

/* Server: ask every client for a certificate and accept only those that
 * chain to a CA in cafile (PEM). Returns as sk_tls_config_trust. */
int sk_tls_config_verify_clients(struct sk_tls_config *cfg, const char *cafile);

/* Handshake timeout for the config's conns (SK_TLS_HANDSHAKE_TIMEOUT_MS;
 * 0: none). */
void sk_tls_config_set_handshake_timeout(struct sk_tls_config *cfg, unsigned timeout_ms);

/* One certificate, as text (control bytes of names are the CA's business:
 * quote before printing). */
struct sk_tls_cert_info {
	char subject[256];     /* "CN = localhost, O = Example" */
	char issuer[256];
	char names[512];       /* subjectAltName: "DNS:localhost, IP:127.0.0.1"; "" if none */
	char not_before[32];   /* "2025-01-31 12:00:00 UTC" */
	char not_after[32];
	char sha256[96];       /* SHA-256 fingerprint of the DER certificate, "AB:CD:…" */
	char pin[64];          /* "sha256:BASE64" of its public key: what add_pin takes */
	bool self_signed;      /* issuer == subject */
	bool expired;          /* past not_after, when this was filled in */
	bool not_yet_valid;    /* before not_before, likewise */
};

/* The certificate cfg presents (after load_cert or self_signed). Returns 0,
 * or SK_EINVAL if it has none. */
int sk_tls_config_cert_info(const struct sk_tls_config *cfg, struct sk_tls_cert_info *out);

/* How the peer was checked. */
enum sk_tls_trust {
	SK_TLS_TRUST_NONE, /* not at all: an insecure client, a server without verify_clients */
	SK_TLS_TRUST_CA,   /* chain to a trusted CA (and, for a client, the name) */
	SK_TLS_TRUST_PIN,  /* public key pinned */
};

/* A handshake's outcome. On success the negotiated parameters and the peer;
 * on a refusal of the peer's certificate also `failed`, the certificate at
 * fault (the peer's or one of its issuers, failed_depth up the chain). */
/* How many of a peer's first bytes sk_tls_info keeps: a request line. */
#define SK_TLS_PEER_START 256

struct sk_tls_info {
	char version[16];      /* "TLSv1.3"; "" before the handshake ended */
	char cipher[64];       /* "TLS_AES_256_GCM_SHA384" */
	char alpn[64];         /* the protocol agreed; "" for none */
	char server_name[256]; /* client: the name checked (and sent as SNI if a DNS name);
	                          server: the SNI the client sent; "" for none */
	bool resumed;          /* a session ticket saved the full handshake */
	bool truncated;        /* the peer closed without close_notify (sk_conn_tls_info) */
	enum sk_tls_trust trust;
	bool has_peer_cert;
	struct sk_tls_cert_info peer;
	bool has_failed_cert;
	int failed_depth;      /* 0: the peer's own certificate */
	struct sk_tls_cert_info failed;
	char detail[128];      /* the failure in OpenSSL's or the alert's words; "" if none */
	struct sk_addr peer_addr; /* the socket's peer, read as the conn started (a refused
	                             peer has often reset the socket by the callback, and
	                             getpeername then fails); len 0 if unknown */
	char peer_start[SK_TLS_PEER_START]; /* the first bytes the peer sent (not a string):
	                          with SK_ETLS_NOT_TLS, what a server may answer and log
	                          in its own protocol (a plain-text HTTP request line on
	                          an HTTPS port) */
	size_t peer_start_len;
};

/* The handshake ended: err 0 and the conn goes on, or an SK_ETLS_* code (or
 * a socket error) and the conn closes with err after this returns. Runs
 * from a loop callback; it may send, pause or close the conn. info is valid
 * during the call. A TLS 1.3 client may hear twice, 0 then SK_ETLS_ALERT:
 * the server judges the client's certificate after the client's side of
 * the handshake ended, and says no with an alert before any data. */
typedef void sk_tls_handshake_fn(struct sk_conn *c, int err, const struct sk_tls_info *info,
                                 void *ud);

/* One conn's use of a config: sk_conn_opts.tls points to this. */
struct sk_tls_conn_opts {
	const struct sk_tls_config *config; /* borrowed: must outlive the conn */
	const char *server_name; /* client: the name to verify (a DNS name, or an IP address
	                            matched against IP SANs) and send as SNI; NULL: no name
	                            check (pins, insecure). Copied. */
	sk_tls_handshake_fn *on_handshake; /* may be NULL */
	void *ud;                          /* for on_handshake */
};

/* config as given, everything else NULL. */
void sk_tls_conn_opts_init(struct sk_tls_conn_opts *opts, const struct sk_tls_config *config);

/* The TLS state of a live conn (not in on_close: the session is gone by
 * then): returns 0, or SK_EINVAL for a conn without TLS, SK_EINPROGRESS
 * before the handshake ended. */
int sk_conn_tls_info(const struct sk_conn *c, struct sk_tls_info *out);

/* Whether this machine would let the kernel take over a socket's records
 * from OpenSSL (kTLS, and with it sendfile(2) over TLS): OpenSSL must be
 * built with it, and the kernel must attach the "tls" TCP ULP, which this
 * asks on a loopback connection made for the question. Returns 0 if both
 * would; -EOPNOTSUPP for an OpenSSL without kTLS; else the kernel's
 * refusal: -ENOENT (no tls module: modprobe tls), or why the loopback
 * connection failed. Blocks for a loopback connect: call it once, at
 * start. The transport itself encrypts in user space either way (the
 * loop's sends carry ciphertext: docs/design/stream.md). */
int sk_tls_ktls_probe(void);

#endif
