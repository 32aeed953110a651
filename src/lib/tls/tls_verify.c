/* Verification and its report: OpenSSL's callbacks record what went wrong
 * (the first certificate error, the certificate at fault, the peer's
 * alert), and the failure becomes one SK_ETLS_* code with words to go with
 * it. Pins replace chain and name checks entirely: the pinned key is the
 * trust. */
#include <sockit/err.h>

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "tls/tls_internal.h"

static struct sk__tls_report *report_of_store(X509_STORE_CTX *xs)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
	return ssl ? SSL_get_app_data(ssl) : NULL;
}

static void keep(X509 **slot, X509 *x)
{
	if (*slot || !x)
		return;
	X509_up_ref(x);
	*slot = x;
}

/* OpenSSL's verification errors, in the words users search for. */
static int code_of(int x509_err)
{
	switch (x509_err) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return SK_ETLS_CERT_EXPIRED;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return SK_ETLS_CERT_NOT_YET_VALID;
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
		return SK_ETLS_CERT_SELF_SIGNED;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
		return SK_ETLS_CERT_UNKNOWN_ISSUER;
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		return SK_ETLS_CERT_NAME;
	default:
		return SK_ETLS_CERT_INVALID;
	}
}

/* Called for each certificate of the chain with OpenSSL's verdict; keeps
 * the first failure and lets OpenSSL's verdict stand. */
static int on_verify(int ok, X509_STORE_CTX *xs)
{
	struct sk__tls_report *rep = report_of_store(xs);
	if (!rep)
		return ok;
	keep(&rep->leaf, X509_STORE_CTX_get0_cert(xs));
	if (!ok && !rep->verify_err) {
		rep->x509_err = X509_STORE_CTX_get_error(xs);
		rep->verify_err = code_of(rep->x509_err);
		rep->fail_depth = X509_STORE_CTX_get_error_depth(xs);
		keep(&rep->failed, X509_STORE_CTX_get_current_cert(xs));
	}
	return ok;
}

/* The whole verification: with pins, the peer's key against them and
 * nothing else; without, OpenSSL's chain and name checks (on_verify). */
static int verify_chain(X509_STORE_CTX *xs, void *arg)
{
	const struct sk_tls_config *cfg = arg;
	if (!cfg->n_pins)
		return X509_verify_cert(xs);
	struct sk__tls_report *rep = report_of_store(xs);
	X509 *leaf = X509_STORE_CTX_get0_cert(xs);
	unsigned char h[32];
	if (rep && leaf && sk__tls_spki_sha256(leaf, h) == 0) {
		keep(&rep->leaf, leaf);
		for (size_t i = 0; i < cfg->n_pins; i++) {
			if (memcmp(h, cfg->pins[i], 32) == 0) {
				rep->pinned = true;
				return 1;
			}
		}
		rep->verify_err = SK_ETLS_CERT_PIN;
		keep(&rep->failed, leaf);
	}
	/* CERT_REJECTED: the peer reads a bad_certificate alert. */
	X509_STORE_CTX_set_error(xs, X509_V_ERR_CERT_REJECTED);
	return 0;
}

/* OpenSSL 3.0 names no alert that TLS 1.3 added ("unknown"). */
static const char *alert_text(int code)
{
	switch (code) {
	case 109:
		return "missing extension";
	case 115:
		return "unknown PSK identity";
	case 116:
		return "certificate required";
	case 120:
		return "no application protocol";
	default:
		return NULL;
	}
}

/* Alerts from the peer: the reason a handshake it refused failed. */
static void on_info(const SSL *ssl, int where, int ret)
{
	if ((where & SSL_CB_READ_ALERT) != SSL_CB_READ_ALERT || (ret >> 8) != SSL3_AL_FATAL)
		return;
	struct sk__tls_report *rep = SSL_get_app_data(ssl);
	if (rep && !rep->alert[0]) {
		rep->alert_code = ret & 0xff;
		const char *text = alert_text(rep->alert_code);
		if (!text)
			text = SSL_alert_desc_string_long(ret);
		snprintf(rep->alert, sizeof rep->alert, "%s", text);
	}
}

void sk__tls_verify_setup(struct sk_tls_config *cfg)
{
	SSL_CTX_set_info_callback(cfg->ctx, on_info);
	SSL_CTX_set_cert_verify_callback(cfg->ctx, verify_chain, cfg);
	int mode = SSL_VERIFY_NONE;
	if (cfg->role == SK_TLS_CLIENT)
		mode = SSL_VERIFY_PEER;
	else if (cfg->verify_clients)
		mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
	SSL_CTX_set_verify(cfg->ctx, mode, on_verify);
}

void sk__tls_report_fini(struct sk__tls_report *rep)
{
	X509_free(rep->leaf);
	X509_free(rep->failed);
	rep->leaf = rep->failed = NULL;
}

/* Reasons that mean the bytes were never TLS: a plain-text server's
 * greeting or an HTTP response read as a record header. */
static bool is_not_tls(int reason)
{
	return reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_PACKET_LENGTH_TOO_LONG ||
	       reason == SSL_R_HTTP_REQUEST || reason == SSL_R_HTTPS_PROXY_REQUEST ||
	       reason == SSL_R_UNKNOWN_PROTOCOL || reason == SSL_R_RECORD_LENGTH_MISMATCH;
}

static bool is_version(int reason)
{
	return reason == SSL_R_UNSUPPORTED_PROTOCOL || reason == SSL_R_NO_PROTOCOLS_AVAILABLE ||
	       reason == SSL_R_TLSV1_ALERT_PROTOCOL_VERSION || reason == SSL_R_VERSION_TOO_LOW;
}

int sk__tls_error(SSL *ssl, int ssl_err, const struct sk__tls_report *rep, bool eof, char *detail,
                  size_t cap)
{
	unsigned long e = ERR_get_error();
	int reason = ERR_GET_LIB(e) == ERR_LIB_SSL ? ERR_GET_REASON(e) : 0;
	const char *text = e ? ERR_reason_error_string(e) : NULL;
	ERR_clear_error();
	bool in_handshake = !SSL_is_init_finished(ssl);
	detail[0] = '\0';
	if (rep->verify_err) {
		if (rep->verify_err == SK_ETLS_CERT_PIN)
			snprintf(detail, cap, "no pin matches the certificate's public key");
		else
			snprintf(detail, cap, "%s", X509_verify_cert_error_string(rep->x509_err));
		return rep->verify_err;
	}
	if (rep->alert[0]) {
		snprintf(detail, cap, "%s", rep->alert);
		return rep->alert_code == SSL_AD_PROTOCOL_VERSION ? SK_ETLS_VERSION : SK_ETLS_ALERT;
	}
	if (reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) {
		snprintf(detail, cap, "a client certificate is required");
		return SK_ETLS_NO_CERT;
	}
	if (is_not_tls(reason)) {
		snprintf(detail, cap, "%s", text ? text : "not TLS");
		return SK_ETLS_NOT_TLS;
	}
	if (is_version(reason)) {
		snprintf(detail, cap, "%s", text ? text : "no common version");
		return SK_ETLS_VERSION;
	}
	if (eof && (reason == SSL_R_UNEXPECTED_EOF_WHILE_READING || ssl_err == SSL_ERROR_SYSCALL || !e))
		snprintf(detail, cap, "the peer closed the connection%s",
		         in_handshake ? " during the handshake" : "");
	else
		snprintf(detail, cap, "%s", text ? text : "unknown error");
	return in_handshake ? SK_ETLS_HANDSHAKE : SK_ETLS_PROTOCOL;
}

void sk__tls_fill_info(SSL *ssl, const struct sk__tls_report *rep, struct sk_tls_info *info)
{
	const struct sk_tls_config *cfg = rep->cfg;
	memset(info, 0, sizeof *info);
	bool done = SSL_is_init_finished(ssl);
	if (done) {
		snprintf(info->version, sizeof info->version, "%s", SSL_get_version(ssl));
		snprintf(info->cipher, sizeof info->cipher, "%s", SSL_get_cipher_name(ssl));
		const unsigned char *p;
		unsigned len;
		SSL_get0_alpn_selected(ssl, &p, &len);
		snprintf(info->alpn, sizeof info->alpn, "%.*s", (int)len, (const char *)p);
		info->resumed = SSL_session_reused(ssl);
		if (cfg->role == SK_TLS_CLIENT)
			info->trust = cfg->n_pins ? SK_TLS_TRUST_PIN
			              : cfg->insecure ? SK_TLS_TRUST_NONE : SK_TLS_TRUST_CA;
		else
			info->trust = cfg->verify_clients ? SK_TLS_TRUST_CA : SK_TLS_TRUST_NONE;
	}
	const char *sni = cfg->role == SK_TLS_SERVER
	                          ? SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) : rep->name;
	snprintf(info->server_name, sizeof info->server_name, "%s", sni ? sni : "");
	X509 *peer = SSL_get0_peer_certificate(ssl);
	if (!peer)
		peer = rep->leaf;
	if (peer) {
		info->has_peer_cert = true;
		sk__tls_cert_info(peer, &info->peer);
	}
	if (rep->failed && rep->verify_err) {
		info->has_failed_cert = true;
		info->failed_depth = rep->fail_depth;
		sk__tls_cert_info(rep->failed, &info->failed);
	}
}
