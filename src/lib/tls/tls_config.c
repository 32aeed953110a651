/* sk_tls_config: one OpenSSL context per side of a program, built once
 * from the command line, and the SSL each conn makes from it. */
#include <sockit/err.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "tls/tls_internal.h"

/* --- client sessions --- */

SSL_SESSION *sk__tls_cache_get(const struct sk__tls_cache *cache, const char *name)
{
	for (unsigned i = 0; cache && i < SK__TLS_CACHE_SLOTS; i++)
		if (cache->slot[i].sess && strcmp(cache->slot[i].name, name) == 0)
			return cache->slot[i].sess;
	return NULL;
}

/* Takes the caller's reference to sess. */
void sk__tls_cache_put(struct sk__tls_cache *cache, const char *name, SSL_SESSION *sess)
{
	unsigned i = 0;
	while (i < SK__TLS_CACHE_SLOTS &&
	       !(cache->slot[i].sess && strcmp(cache->slot[i].name, name) == 0))
		i++;
	if (i == SK__TLS_CACHE_SLOTS) {
		i = cache->next;
		cache->next = (cache->next + 1) % SK__TLS_CACHE_SLOTS;
	}
	SSL_SESSION_free(cache->slot[i].sess);
	snprintf(cache->slot[i].name, sizeof cache->slot[i].name, "%s", name);
	cache->slot[i].sess = sess;
}

/* A new ticket (TLS 1.3 sends them after the handshake): kept for the next
 * connection to the same name. */
static int on_new_session(SSL *ssl, SSL_SESSION *sess)
{
	struct sk__tls_report *rep = SSL_get_app_data(ssl);
	if (!rep || !rep->cfg->cache || !SSL_SESSION_is_resumable(sess))
		return 0;
	sk__tls_cache_put(rep->cfg->cache, rep->name, sess);
	return 1; /* the reference is ours now */
}

static void cache_free(struct sk__tls_cache *cache)
{
	if (!cache)
		return;
	for (unsigned i = 0; i < SK__TLS_CACHE_SLOTS; i++)
		SSL_SESSION_free(cache->slot[i].sess);
	free(cache);
}

/* --- ALPN --- */

/* The server's choice: its first protocol that the client offers. */
static int select_alpn(SSL *ssl, const unsigned char **out, unsigned char *out_len,
                       const unsigned char *in, unsigned in_len, void *arg)
{
	(void)ssl;
	const struct sk_tls_config *cfg = arg;
	unsigned char *chosen;
	if (SSL_select_next_proto(&chosen, out_len, cfg->alpn, (unsigned)cfg->alpn_len, in, in_len) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL; /* RFC 7301 §3.2: no_application_protocol */
	*out = chosen;
	return SSL_TLSEXT_ERR_OK;
}

int sk_tls_config_set_alpn(struct sk_tls_config *cfg, const char *list)
{
	size_t len = strlen(list);
	if (len == 0 || len > 1024)
		return SK_ETLS_ALPN_SYNTAX;
	unsigned char *wire = malloc(len + 1);
	if (!wire)
		return SK_ENOMEM;
	size_t n = 0;
	for (const char *p = list;;) {
		size_t name = strcspn(p, ",");
		if (name == 0 || name > 255) {
			free(wire);
			return SK_ETLS_ALPN_SYNTAX;
		}
		wire[n++] = (unsigned char)name;
		memcpy(wire + n, p, name);
		n += name;
		if (!p[name])
			break;
		p += name + 1;
	}
	if (cfg->role == SK_TLS_CLIENT && SSL_CTX_set_alpn_protos(cfg->ctx, wire, (unsigned)n) != 0) {
		free(wire);
		return SK_ENOMEM;
	}
	free(cfg->alpn);
	cfg->alpn = wire;
	cfg->alpn_len = n;
	if (cfg->role == SK_TLS_SERVER)
		SSL_CTX_set_alpn_select_cb(cfg->ctx, select_alpn, cfg);
	return 0;
}

/* --- the config --- */

/* A key file with a passphrase is refused rather than prompted for: the
 * default callback would read the terminal, blocking a server. */
static int no_passphrase(char *buf, int size, int rwflag, void *ud)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)ud;
	return -1;
}

int sk_tls_config_new(enum sk_tls_role role, struct sk_tls_config **out)
{
	struct sk_tls_config *cfg = calloc(1, sizeof *cfg);
	if (!cfg)
		return SK_ENOMEM;
	cfg->role = role;
	cfg->handshake_timeout_ms = SK_TLS_HANDSHAKE_TIMEOUT_MS;
	cfg->ctx = SSL_CTX_new(role == SK_TLS_SERVER ? TLS_server_method() : TLS_client_method());
	cfg->bio_method = sk__tls_bio_method_new();
	if (role == SK_TLS_CLIENT)
		cfg->cache = calloc(1, sizeof *cfg->cache);
	if (!cfg->ctx || !cfg->bio_method || (role == SK_TLS_CLIENT && !cfg->cache)) {
		sk_tls_config_free(cfg);
		return SK_ENOMEM;
	}
	SSL_CTX *ctx = cfg->ctx;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* Renegotiation is how TLS 1.2 peers made a read need a write and the
	 * other way round mid-stream (and CVE-2009-3555); nothing needs it. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
	if (role == SK_TLS_CLIENT) {
		SSL_CTX_set_session_cache_mode(ctx,
		                               SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
		SSL_CTX_sess_set_new_cb(ctx, on_new_session);
		SSL_CTX_set_default_verify_paths(ctx);
	} else {
		/* Resumption (tickets and the TLS 1.2 cache) needs a context id when
		 * clients are verified; any constant will do for one program. */
		SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"sockit", 6);
		SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
	}
	sk__tls_verify_setup(cfg);
	*out = cfg;
	return 0;
}

void sk_tls_config_free(struct sk_tls_config *cfg)
{
	if (!cfg)
		return;
	SSL_CTX_free(cfg->ctx);
	BIO_meth_free(cfg->bio_method);
	cache_free(cfg->cache);
	free(cfg->alpn);
	free(cfg);
}

/* -ENOENT, -EACCES… for a file fopen cannot open, else 0: OpenSSL's own
 * errors do not say which. */
static int check_readable(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -errno;
	fclose(f);
	return 0;
}

int sk_tls_config_load_cert(struct sk_tls_config *cfg, const char *cert_file,
                            const char *key_file, const char **bad_file)
{
	const char *bad = cert_file;
	int err = check_readable(cert_file);
	if (err == 0 && SSL_CTX_use_certificate_chain_file(cfg->ctx, cert_file) != 1)
		err = SK_ETLS_CERT_FILE;
	if (err == 0) {
		bad = key_file ? key_file : cert_file;
		err = check_readable(bad);
	}
	if (err == 0 && SSL_CTX_use_PrivateKey_file(cfg->ctx, bad, SSL_FILETYPE_PEM) != 1)
		err = ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH
		              ? SK_ETLS_KEY_MISMATCH : SK_ETLS_KEY_FILE;
	if (err == 0 && SSL_CTX_check_private_key(cfg->ctx) != 1)
		err = SK_ETLS_KEY_MISMATCH;
	ERR_clear_error();
	if (err < 0) {
		if (bad_file)
			*bad_file = bad;
		return err;
	}
	cfg->has_cert = true;
	return 0;
}

int sk_tls_config_self_signed(struct sk_tls_config *cfg, const char *host)
{
	X509 *x;
	EVP_PKEY *key;
	int err = sk__tls_make_self_signed(host, &x, &key);
	if (err < 0)
		return err;
	bool ok = SSL_CTX_use_certificate(cfg->ctx, x) == 1 &&
	          SSL_CTX_use_PrivateKey(cfg->ctx, key) == 1;
	X509_free(x);
	EVP_PKEY_free(key);
	ERR_clear_error();
	if (!ok)
		return SK_ENOMEM;
	cfg->has_cert = true;
	return 0;
}

/* A store of exactly these CAs. */
static int load_store(const char *cafile, const char *capath, X509_STORE **out)
{
	int err = cafile ? check_readable(cafile) : 0;
	if (err == 0 && capath) {
		DIR *d = opendir(capath);
		if (!d)
			err = -errno;
		else
			closedir(d);
	}
	if (err < 0)
		return err;
	X509_STORE *st = X509_STORE_new();
	if (!st)
		return SK_ENOMEM;
	if ((cafile && X509_STORE_load_file(st, cafile) != 1) ||
	    (capath && X509_STORE_load_path(st, capath) != 1)) {
		X509_STORE_free(st);
		ERR_clear_error();
		return SK_ETLS_CERT_FILE;
	}
	*out = st;
	return 0;
}

int sk_tls_config_trust(struct sk_tls_config *cfg, const char *cafile, const char *capath)
{
	X509_STORE *st;
	int err = load_store(cafile, capath, &st);
	if (err < 0)
		return err;
	SSL_CTX_set_cert_store(cfg->ctx, st); /* frees the system store */
	return 0;
}

int sk_tls_config_verify_clients(struct sk_tls_config *cfg, const char *cafile)
{
	int err = sk_tls_config_trust(cfg, cafile, NULL);
	if (err < 0)
		return err;
	/* The CAs' names go in the CertificateRequest, so that a client with
	 * several certificates can pick the right one. */
	STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cafile);
	if (names)
		SSL_CTX_set_client_CA_list(cfg->ctx, names);
	ERR_clear_error();
	cfg->verify_clients = true;
	sk__tls_verify_setup(cfg);
	return 0;
}

void sk_tls_config_set_insecure(struct sk_tls_config *cfg)
{
	cfg->insecure = true;
}

int sk_tls_config_add_pin(struct sk_tls_config *cfg, const char *pin)
{
	/* sha256: and 44 base64 characters, the last one '=' (32 bytes). */
	if (strncmp(pin, "sha256:", 7) != 0 || strlen(pin + 7) != 44 || pin[7 + 43] != '=')
		return SK_ETLS_PIN_SYNTAX;
	unsigned char raw[33];
	if (EVP_DecodeBlock(raw, (const unsigned char *)pin + 7, 44) != 33)
		return SK_ETLS_PIN_SYNTAX;
	if (cfg->n_pins == SK_TLS_MAX_PINS)
		return SK_ETOOLARGE;
	memcpy(cfg->pins[cfg->n_pins++], raw, 32);
	return 0;
}

int sk_tls_config_set_min_version(struct sk_tls_config *cfg, int version)
{
	if (version != SK_TLS_1_2 && version != SK_TLS_1_3)
		return SK_EINVAL;
	SSL_CTX_set_min_proto_version(cfg->ctx, version);
	return 0;
}

void sk_tls_config_set_handshake_timeout(struct sk_tls_config *cfg, unsigned timeout_ms)
{
	cfg->handshake_timeout_ms = timeout_ms;
}

int sk_tls_config_cert_info(const struct sk_tls_config *cfg, struct sk_tls_cert_info *out)
{
	X509 *x = cfg->has_cert ? SSL_CTX_get0_certificate(cfg->ctx) : NULL;
	if (!x)
		return SK_EINVAL;
	sk__tls_cert_info(x, out);
	return 0;
}

void sk_tls_conn_opts_init(struct sk_tls_conn_opts *opts, const struct sk_tls_config *config)
{
	memset(opts, 0, sizeof *opts);
	opts->config = config;
}

/* --- one conn's SSL --- */

static bool is_ip_address(const char *name)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

/* Client verification: pins replace the chain and the name (tls_verify.c);
 * insecure checks nothing; else the chain and, if given, the name. */
static bool setup_client(SSL *ssl, const struct sk_tls_config *cfg, const char *name)
{
	if (name[0] && !is_ip_address(name) && SSL_set_tlsext_host_name(ssl, name) != 1)
		return false;
	if (cfg->insecure && !cfg->n_pins) {
		SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
	} else if (!cfg->n_pins && name[0]) {
		X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
		/* RFC 6125 §6.4.3: a wildcard is a whole leftmost label. */
		X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		int ok = is_ip_address(name) ? X509_VERIFY_PARAM_set1_ip_asc(param, name)
		                             : X509_VERIFY_PARAM_set1_host(param, name, 0);
		if (ok != 1)
			return false;
	}
	SSL_SESSION *sess = sk__tls_cache_get(cfg->cache, name);
	if (sess)
		SSL_set_session(ssl, sess);
	SSL_set_connect_state(ssl);
	return true;
}

SSL *sk__tls_ssl_new(const struct sk_tls_config *cfg, struct sk__tls_report *rep)
{
	SSL *ssl = SSL_new(cfg->ctx);
	if (!ssl)
		return NULL;
	SSL_set_app_data(ssl, rep);
	if (cfg->role == SK_TLS_SERVER)
		SSL_set_accept_state(ssl);
	else if (!setup_client(ssl, cfg, rep->name)) {
		SSL_free(ssl);
		ssl = NULL;
	}
	ERR_clear_error();
	return ssl;
}
