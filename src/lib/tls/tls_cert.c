/* Certificates: describing one as text (sk_tls_cert_info), hashing its
 * public key for pins, and making a self-signed one in memory for a server
 * started without --cert. */
#include <sockit/err.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "tls/tls_internal.h"

/* A lifetime long enough for a lab session, short enough that a key left
 * lying around soon stops being accepted. */
#define SELF_SIGNED_DAYS 30

static void name_text(const X509_NAME *name, char *out, size_t cap)
{
	out[0] = '\0';
	BIO *b = BIO_new(BIO_s_mem());
	if (!b)
		return;
	/* One line, RFC 2253 order reversed as openssl x509 prints it; bytes
	 * past ASCII escaped, so the text is safe to print. */
	X509_NAME_print_ex(b, name, 0, XN_FLAG_ONELINE);
	int n = BIO_read(b, out, (int)cap - 1);
	out[n > 0 ? n : 0] = '\0';
	BIO_free(b);
}

static void time_text(const ASN1_TIME *t, char *out, size_t cap)
{
	struct tm tm;
	out[0] = '\0';
	if (t && ASN1_TIME_to_tm(t, &tm) == 1)
		strftime(out, cap, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/* Appends "sep kind:value" to out, keeping what fits; bytes outside
 * printable ASCII become '?' (a name is the CA's text, not ours). */
static void append_name(char *out, size_t cap, const char *kind, const unsigned char *p,
                        size_t len)
{
	size_t n = strlen(out);
	int w = snprintf(out + n, cap - n, "%s%s:", n ? ", " : "", kind);
	if (w < 0 || (size_t)w >= cap - n) {
		out[n] = '\0';
		return;
	}
	n += (size_t)w;
	for (size_t i = 0; i < len && n + 1 < cap; i++)
		out[n++] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	out[n] = '\0';
}

static void names_text(X509 *x, char *out, size_t cap)
{
	out[0] = '\0';
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	if (!gens)
		return;
	for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const ASN1_STRING *s;
		char ip[INET6_ADDRSTRLEN];
		switch (g->type) {
		case GEN_DNS:
			s = g->d.dNSName;
			append_name(out, cap, "DNS", ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s));
			break;
		case GEN_IPADD:
			s = g->d.iPAddress;
			if (ASN1_STRING_length(s) != 4 && ASN1_STRING_length(s) != 16)
				break;
			inet_ntop(ASN1_STRING_length(s) == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(s), ip,
			          sizeof ip);
			append_name(out, cap, "IP", (const unsigned char *)ip, strlen(ip));
			break;
		case GEN_EMAIL:
			s = g->d.rfc822Name;
			append_name(out, cap, "email", ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s));
			break;
		case GEN_URI:
			s = g->d.uniformResourceIdentifier;
			append_name(out, cap, "URI", ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s));
			break;
		default:
			break;
		}
	}
	GENERAL_NAMES_free(gens);
}

int sk__tls_spki_sha256(X509 *x, unsigned char out[32])
{
	unsigned char *der = NULL;
	int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
	if (len <= 0)
		return SK_ENOMEM;
	unsigned n = 0;
	int ok = EVP_Digest(der, (size_t)len, out, &n, EVP_sha256(), NULL);
	OPENSSL_free(der);
	return ok && n == 32 ? 0 : SK_ENOMEM;
}

void sk__tls_cert_info(X509 *x, struct sk_tls_cert_info *out)
{
	memset(out, 0, sizeof *out);
	name_text(X509_get_subject_name(x), out->subject, sizeof out->subject);
	name_text(X509_get_issuer_name(x), out->issuer, sizeof out->issuer);
	names_text(x, out->names, sizeof out->names);
	time_text(X509_get0_notBefore(x), out->not_before, sizeof out->not_before);
	time_text(X509_get0_notAfter(x), out->not_after, sizeof out->not_after);
	out->self_signed = X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) == 0;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	if (X509_digest(x, EVP_sha256(), md, &n) == 1) {
		static const char hex[] = "0123456789ABCDEF";
		for (unsigned i = 0; i < n && 3 * i + 2 < sizeof out->sha256; i++) {
			out->sha256[3 * i] = hex[md[i] >> 4];
			out->sha256[3 * i + 1] = hex[md[i] & 15];
			out->sha256[3 * i + 2] = i + 1 < n ? ':' : '\0';
		}
	}
	unsigned char spki[32];
	if (sk__tls_spki_sha256(x, spki) == 0) {
		memcpy(out->pin, "sha256:", 7);
		EVP_EncodeBlock((unsigned char *)out->pin + 7, spki, 32);
	}
}

/* A plain DNS name (letters, digits, '-', '.'): anything else could not be
 * written into the subjectAltName text below, nor be a name to check. */
static bool is_plain_host(const char *host)
{
	size_t n = strlen(host);
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = host[i];
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		          (ch >= '0' && ch <= '9') || ch == '-' || ch == '.';
		if (!ok)
			return false;
	}
	return true;
}

static bool add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return false;
	bool ok = X509_add_ext(x, ext, -1) == 1;
	X509_EXTENSION_free(ext);
	return ok;
}

/* A random positive 127-bit serial (RFC 5280 §4.1.2.2: unique per issuer,
 * at most 20 bytes). */
static bool set_serial(X509 *x)
{
	unsigned char r[16];
	if (RAND_bytes(r, sizeof r) != 1)
		return false;
	r[0] &= 0x7f;
	r[0] |= 0x01; /* never zero */
	BIGNUM *bn = BN_bin2bn(r, sizeof r, NULL);
	bool ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok;
}

int sk__tls_make_self_signed(const char *host, X509 **cert_out, EVP_PKEY **key_out)
{
	bool named = host && is_plain_host(host) && strcmp(host, "localhost") != 0;
	const char *cn = named ? host : "localhost";
	char san[600];
	snprintf(san, sizeof san, "%s%s%sDNS:localhost,IP:127.0.0.1,IP:::1", named ? "DNS:" : "",
	         named ? host : "", named ? "," : "");
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	bool ok = key && x && X509_set_version(x, X509_VERSION_3) && set_serial(x) &&
	          X509_gmtime_adj(X509_getm_notBefore(x), -3600) &&
	          X509_gmtime_adj(X509_getm_notAfter(x), (long)SELF_SIGNED_DAYS * 86400) &&
	          X509_set_pubkey(x, key) &&
	          X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	                                     (const unsigned char *)cn, -1, -1, 0) &&
	          X509_set_issuer_name(x, X509_get_subject_name(x)) &&
	          add_ext(x, NID_basic_constraints, "critical,CA:FALSE") &&
	          add_ext(x, NID_key_usage, "critical,digitalSignature") &&
	          add_ext(x, NID_ext_key_usage, "serverAuth") &&
	          add_ext(x, NID_subject_key_identifier, "hash") &&
	          add_ext(x, NID_subject_alt_name, san) && X509_sign(x, key, EVP_sha256()) > 0;
	if (!ok) {
		X509_free(x);
		EVP_PKEY_free(key);
		return SK_ENOMEM;
	}
	*cert_out = x;
	*key_out = key;
	return 0;
}
