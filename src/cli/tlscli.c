/* TLS on the command line (tlscli.h): flags → one sk_tls_config, and a
 * handshake's outcome → words. */
#include "tlscli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sockit/conn.h>

void tlscli_init(struct tlscli *t, const char *command, bool is_server)
{
	memset(t, 0, sizeof *t);
	t->command = command;
	t->is_server = is_server;
}

void tlscli_for_http(struct tlscli *t, bool verbose)
{
	t->verbose = verbose;
	t->info_for_verbose = true;
	t->alpn_default = "http/1.1";
	t->tells_record_path = true;
}

int tlscli_opt(struct parse *ps, const char *arg)
{
	return tlscli_option(OPT_DEST(ps, struct tlscli), (enum tlscli_flag)ps->opt->n, arg);
}

int tlscli_option(struct tlscli *t, enum tlscli_flag flag, const char *arg)
{
	char q[QUOTE_MAX];
	switch (flag) {
	case TLSCLI_TLS:
		t->on = true;
		break;
	case TLSCLI_CAFILE:
		t->cafile = arg;
		break;
	case TLSCLI_CAPATH:
		t->capath = arg;
		break;
	case TLSCLI_INSECURE:
		t->insecure = true;
		break;
	case TLSCLI_PIN:
		if (t->n_pins == SK_TLS_MAX_PINS)
			return usage_error(t->command, "--pin: at most %d pins", SK_TLS_MAX_PINS);
		t->pins[t->n_pins++] = arg;
		break;
	case TLSCLI_ALPN:
		t->alpn = arg;
		break;
	case TLSCLI_CERT:
		t->cert = arg;
		break;
	case TLSCLI_KEY:
		t->key = arg;
		break;
	case TLSCLI_SERVERNAME:
		t->servername = arg;
		break;
	case TLSCLI_VERIFY_CLIENT:
		t->verify_client = arg;
		break;
	case TLSCLI_TLS_MIN:
		if (strcmp(arg, "1.2") == 0)
			t->min_version = SK_TLS_1_2;
		else if (strcmp(arg, "1.3") == 0)
			t->min_version = SK_TLS_1_3;
		else
			return usage_error(t->command, "--tls-min %s: expected 1.2 or 1.3",
			                   quote(arg, strlen(arg), q));
		break;
	case TLSCLI_HANDSHAKE_TIMEOUT:
		t->handshake_set = true;
		return parse_seconds(t->command, "--handshake-timeout", arg, &t->handshake_ms);
	}
	return 0;
}

/* The first TLS flag given without --tls, or NULL. */
static const char *stray_flag(const struct tlscli *t)
{
	const struct {
		bool given;
		const char *name;
	} flags[] = {
		{ t->cafile != NULL, "--cafile" },       { t->capath != NULL, "--capath" },
		{ t->insecure, "--insecure" },           { t->n_pins > 0, "--pin" },
		{ t->alpn != NULL, "--alpn" },           { t->cert != NULL, "--cert" },
		{ t->key != NULL, "--key" },             { t->min_version != 0, "--tls-min" },
		{ t->servername != NULL, "--servername" }, { t->verify_client != NULL, "--verify-client" },
		{ t->handshake_set, "--handshake-timeout" },
	};
	for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
		if (flags[i].given)
			return flags[i].name;
	return NULL;
}

int tlscli_check(const struct tlscli *t)
{
	const char *stray = stray_flag(t);
	if (!t->on && stray)
		return usage_error(t->command, "%s is for --tls", stray);
	if (t->key && !t->cert)
		return usage_error(t->command, "--key needs --cert");
	if (t->insecure && (t->n_pins || t->cafile || t->capath))
		return usage_error(t->command, "--insecure checks nothing: drop %s",
		                   t->n_pins ? "--pin" : t->cafile ? "--cafile" : "--capath");
	if (t->n_pins && (t->cafile || t->capath))
		return usage_error(t->command, "--pin replaces the CA check: drop %s",
		                   t->cafile ? "--cafile" : "--capath");
	return 0;
}

/* A failed setter: one line naming the flag and its value. */
static int config_error(const struct tlscli *t, const char *flag, const char *value, int err)
{
	char ctx[QUOTE_MAX + 64], q[QUOTE_MAX], reason[128];
	quote(value, strlen(value), q);
	if (exit_status_of(err) == EXIT_USAGE)
		return usage_error(t->command, "%s %s: %s", flag, q, reason_of(err, reason, sizeof reason));
	snprintf(ctx, sizeof ctx, "%s: %s %s", t->command, flag, q);
	return report_err(ctx, err);
}

static void print_own_cert(const struct tlscli *t)
{
	struct sk_tls_cert_info ci;
	if (sk_tls_config_cert_info(t->cfg, &ci) < 0)
		return;
	fprintf(stderr, "sockit: %s: TLS certificate made for this run, SHA-256 fingerprint %s\n",
	        t->command, ci.sha256);
	fprintf(stderr, "sockit: %s: clients can check it with --pin %s\n", t->command, ci.pin);
}

/* A server serves the certificate it is given, even out of date (a lab
 * tests its clients with one), but says at the start what every client
 * that verifies will answer. */
static void warn_own_cert(const struct tlscli *t)
{
	struct sk_tls_cert_info ci;
	if (!t->is_server || sk_tls_config_cert_info(t->cfg, &ci) < 0)
		return;
	char q[QUOTE_MAX];
	quote(t->cert, strlen(t->cert), q);
	if (ci.expired)
		fprintf(stderr, "sockit: %s: --cert %s: certificate has expired: valid until %s; "
		        "clients that verify will refuse it\n", t->command, q, ci.not_after);
	else if (ci.not_yet_valid)
		fprintf(stderr, "sockit: %s: --cert %s: certificate is not yet valid: valid from %s; "
		        "clients that verify will refuse it\n", t->command, q, ci.not_before);
}

static void on_handshake(struct sk_conn *c, int err, const struct sk_tls_info *info, void *ud);

/* The setters, in order; the first failure's line. */
static int build_config(struct tlscli *t)
{
	int err;
	if (t->cert) {
		const char *bad = t->cert;
		if ((err = sk_tls_config_load_cert(t->cfg, t->cert, t->key, &bad)) < 0)
			return config_error(t, bad == t->cert ? "--cert" : "--key", bad, err);
		warn_own_cert(t);
	} else if (t->is_server) {
		char host[256] = "";
		gethostname(host, sizeof host - 1);
		if ((err = sk_tls_config_self_signed(t->cfg, host)) < 0)
			return report_err(t->command, err);
		print_own_cert(t);
	}
	if ((t->cafile || t->capath) && (err = sk_tls_config_trust(t->cfg, t->cafile, t->capath)) < 0)
		return config_error(t, t->cafile ? "--cafile" : "--capath",
		                    t->cafile ? t->cafile : t->capath, err);
	if (t->verify_client && (err = sk_tls_config_verify_clients(t->cfg, t->verify_client)) < 0)
		return config_error(t, "--verify-client", t->verify_client, err);
	for (size_t i = 0; i < t->n_pins; i++)
		if ((err = sk_tls_config_add_pin(t->cfg, t->pins[i])) < 0)
			return config_error(t, "--pin", t->pins[i], err);
	if (t->alpn && (err = sk_tls_config_set_alpn(t->cfg, t->alpn)) < 0)
		return config_error(t, "--alpn", t->alpn, err);
	if (!t->alpn && t->alpn_default && (err = sk_tls_config_set_alpn(t->cfg, t->alpn_default)) < 0)
		return report_err(t->command, err);
	if (t->min_version)
		sk_tls_config_set_min_version(t->cfg, t->min_version);
	if (t->handshake_set)
		sk_tls_config_set_handshake_timeout(t->cfg, t->handshake_ms);
	if (t->insecure) {
		sk_tls_config_set_insecure(t->cfg);
		fprintf(stderr, "sockit: %s: --insecure: the server's certificate is not checked\n",
		        t->command);
	}
	return 0;
}

/* -v: which path records take. The transport encrypts in user space, so
 * that its sends stay the loop's (io_uring); kTLS would move the AES to
 * the kernel and let file bodies go by sendfile(2): the line says whether
 * this machine offers it (docs/design/stream.md). */
static void tell_record_path(const struct tlscli *t)
{
	int err = sk_tls_ktls_probe();
	char reason[128];
	const char *path = "records are encrypted by OpenSSL in user space, file bodies read in "
	                   "64 KiB pieces";
	if (err == 0)
		fprintf(stderr, "sockit: %s: kTLS: the kernel offers it, unused: %s\n", t->command, path);
	else if (err == -ENOENT)
		fprintf(stderr, "sockit: %s: kTLS: not offered (the kernel has no tls module: modprobe "
		        "tls): %s\n", t->command, path);
	else
		fprintf(stderr, "sockit: %s: kTLS: not offered (%s): %s\n", t->command,
		        reason_of(err, reason, sizeof reason), path);
}

int tlscli_setup(struct tlscli *t, const char *host)
{
	int st = tlscli_check(t);
	if (st || !t->on)
		return st;
	int err = sk_tls_config_new(t->is_server ? SK_TLS_SERVER : SK_TLS_CLIENT, &t->cfg);
	if (err < 0)
		return report_err(t->command, err);
	if ((st = build_config(t))) {
		sk_tls_config_free(t->cfg);
		t->cfg = NULL;
		return st;
	}
	if (t->tells_record_path && t->verbose)
		tell_record_path(t);
	sk_tls_conn_opts_init(&t->conn, t->cfg);
	t->conn.server_name = t->is_server ? NULL : t->servername ? t->servername : host;
	if (!t->info_for_verbose || t->verbose) {
		t->conn.on_handshake = on_handshake;
		t->conn.ud = t;
	}
	return 0;
}

void tlscli_fini(struct tlscli *t)
{
	sk_tls_config_free(t->cfg);
	t->cfg = NULL;
}

const struct sk_tls_conn_opts *tlscli_conn_opts(struct tlscli *t)
{
	return t->cfg ? &t->conn : NULL;
}

bool tlscli_is_tls_error(int err)
{
	return err <= SK_ETLS_HANDSHAKE && err >= SK_ETLS_NO_CERT;
}

/* --- words --- */

/* One line of -v, "sockit: CTX: TEXT", to the log or stderr. */
static void say(const struct tlscli *t, const char *ctx, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void say(const struct tlscli *t, const char *ctx, const char *fmt, ...)
{
	char text[1024], line[1200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	snprintf(line, sizeof line, "sockit: %s: %s", ctx, text);
	if (t->log_line)
		t->log_line(t->log_ud, line);
	else
		fprintf(stderr, "%s\n", line);
}

static const char *trust_text(const struct tlscli *t, const struct sk_tls_info *info, char *buf,
                              size_t cap)
{
	char q[QUOTE_MAX];
	switch (info->trust) {
	case SK_TLS_TRUST_PIN:
		return "public key pinned (--pin)";
	case SK_TLS_TRUST_CA:
		if (t->is_server)
			return "client certificate from a CA of --verify-client";
		if (!info->server_name[0])
			return "chain to a trusted CA";
		snprintf(buf, cap, "chain to a trusted CA, name %s",
		         quote(info->server_name, strlen(info->server_name), q));
		return buf;
	default:
		return t->is_server ? "client not asked for a certificate" : "NOT verified (--insecure)";
	}
}

static void print_cert(const struct tlscli *t, const char *ctx, const char *what,
                       const struct sk_tls_cert_info *ci)
{
	char q[QUOTE_MAX];
	say(t, ctx, "%s subject %s", what, quote(ci->subject, strlen(ci->subject), q));
	say(t, ctx, "%s issuer %s", what, quote(ci->issuer, strlen(ci->issuer), q));
	say(t, ctx, "%s names %s", what, ci->names[0] ? ci->names : "(none)");
	say(t, ctx, "%s valid from %s to %s", what, ci->not_before, ci->not_after);
	say(t, ctx, "%s SHA-256 %s", what, ci->sha256);
	say(t, ctx, "%s pin %s", what, ci->pin);
}

/* -v: what was agreed and whom we talk to. */
static void print_handshake(const struct tlscli *t, const char *ctx, const struct sk_tls_info *info)
{
	char trust[QUOTE_MAX + 64];
	say(t, ctx, "%s, %s, ALPN %s, %s session", info->version, info->cipher,
	    info->alpn[0] ? info->alpn : "none", info->resumed ? "resumed" : "new");
	if (info->has_peer_cert)
		print_cert(t, ctx, t->is_server ? "client certificate" : "certificate", &info->peer);
	say(t, ctx, "verified: %s", trust_text(t, info, trust, sizeof trust));
}

/* Why a handshake failed, in one line's worth. */
static void describe(const struct tlscli *t, const struct sk_tls_info *info, int err, char *buf,
                     size_t cap)
{
	char q[QUOTE_MAX], q2[QUOTE_MAX];
	const struct sk_tls_cert_info *bad = info && info->has_failed_cert ? &info->failed : NULL;
	const struct sk_tls_cert_info *peer = info && info->has_peer_cert ? &info->peer : bad;
	const char *detail = info && info->detail[0] ? info->detail : "";
	const char *which = bad && info->failed_depth > 0 ? "issuer certificate" : "certificate";
	switch (err) {
	case SK_ETLS_CERT_EXPIRED:
		snprintf(buf, cap, "%s has expired: valid until %s%s%s", which, bad ? bad->not_after : "?",
		         bad && info->failed_depth ? " for " : "",
		         bad && info->failed_depth ? quote(bad->subject, strlen(bad->subject), q) : "");
		return;
	case SK_ETLS_CERT_NOT_YET_VALID:
		snprintf(buf, cap, "%s is not yet valid: valid from %s", which,
		         bad ? bad->not_before : "?");
		return;
	case SK_ETLS_CERT_SELF_SIGNED:
		if (bad && info->failed_depth == 0 && !t->is_server)
			snprintf(buf, cap, "self-signed certificate %s is not trusted (to accept it: --pin %s)",
			         quote(bad->subject, strlen(bad->subject), q), bad->pin);
		else
			snprintf(buf, cap, "self-signed certificate %s is not trusted",
			         bad ? quote(bad->subject, strlen(bad->subject), q) : "''");
		return;
	case SK_ETLS_CERT_UNKNOWN_ISSUER:
		snprintf(buf, cap, "certificate issuer unknown: %s is not a trusted CA",
		         bad ? quote(bad->issuer, strlen(bad->issuer), q) : "the issuer");
		return;
	case SK_ETLS_CERT_NAME:
		snprintf(buf, cap, "certificate name mismatch: %s is not among its names (%s)",
		         quote(info->server_name, strlen(info->server_name), q),
		         peer && peer->names[0] ? peer->names : "it has none");
		return;
	case SK_ETLS_CERT_PIN:
		snprintf(buf, cap, "certificate pin mismatch: its public key is %s", bad ? bad->pin : "?");
		return;
	case SK_ETLS_CERT_INVALID:
		snprintf(buf, cap, "certificate refused: %s", detail);
		return;
	case SK_ETLS_ALERT:
		snprintf(buf, cap, "the peer refused the handshake: alert %s",
		         quote(detail, strlen(detail), q2));
		return;
	case SK_ETLS_TIMEOUT:
		snprintf(buf, cap, "TLS handshake timed out (%s)", detail);
		return;
	case SK_ETLS_NO_CERT:
	case SK_ETLS_HANDSHAKE:
	case SK_ETLS_PROTOCOL:
	case SK_ETLS_NOT_TLS:
	case SK_ETLS_VERSION:
	default: {
		char reason[128];
		reason_of(err, reason, sizeof reason);
		snprintf(buf, cap, "%s%s%s", reason, detail[0] ? ": " : "", detail);
		return;
	}
	}
}

void tlscli_describe(const struct tlscli *t, int err, char *buf, size_t cap)
{
	describe(t, t->has_info ? &t->info : NULL, err, buf, cap);
}

int tlscli_report(const struct tlscli *t, const char *ctx, int err)
{
	char why[1024];
	tlscli_describe(t, err, why, sizeof why);
	report(ctx, "%s", why);
	return exit_status_of(err);
}

void tlscli_record(struct tlscli *t, int err, const struct sk_tls_info *info)
{
	t->info = *info;
	t->has_info = true;
	t->info_err = err;
	if (!t->is_server && t->verbose && err == 0)
		print_handshake(t, t->command, info);
}

/* The outcome is kept for the line of a refusal (a server's last one, for
 * its relay mode); -v prints a client's, and each of a server's. */
static void on_handshake(struct sk_conn *c, int err, const struct sk_tls_info *info, void *ud)
{
	(void)c;
	struct tlscli *t = ud;
	tlscli_record(t, err, info);
	if (!t->is_server || !t->verbose)
		return;
	char addr[SK_ADDR_STRLEN] = "?", ctx[SK_ADDR_STRLEN + 64];
	if (info->peer_addr.len)
		sk_addr_format(&info->peer_addr, addr);
	snprintf(ctx, sizeof ctx, "%s: %s", t->command, addr);
	if (err == 0) {
		print_handshake(t, ctx, info);
		return;
	}
	char why[1024];
	describe(t, info, err, why, sizeof why);
	say(t, ctx, "%s", why);
}
