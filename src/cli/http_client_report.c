/* The words of `sockit http get|head|put|post|delete`: one line on stderr
 * for each URL that failed, in the form every sockit command uses, and the
 * same text kept for -w json. */
#include "http_client_cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void hc_url_error(struct hc_job *job, int status, const char *fmt, ...)
{
	char q[QUOTE_MAX], text[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	snprintf(job->error, sizeof job->error, "%s", text);
	report(job->run->o.command, "%s: %s", quote(job->given, strlen(job->given), q), text);
	job->status = status;
}

void hc_note(const struct hc_run *run, const char *fmt, ...)
{
	if (run->o.silent)
		return;
	char text[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	report(run->o.command, "%s", text);
}

void hc_verbose(const struct hc_run *run, const char *fmt, ...)
{
	if (!run->o.verbose)
		return;
	char text[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	fprintf(stderr, "* %s\n", text);
}

/* The words for an exchange's error. */
void hc_transfer_error(struct hc_job *job, struct sk_http_exchange *ex, int err)
{
	struct hc_run *run = job->run;
	char reason[128], addr[SK_ADDR_STRLEN] = "?", q[QUOTE_MAX];
	struct sk_addr peer;
	const struct sk_http_response *res = sk_http_exchange_response(ex);
	reason_of(err, reason, sizeof reason);
	if (sk_http_exchange_peer(ex, &peer) == 0)
		sk_addr_format(&peer, addr);
	switch (err) {
	case SK_ENONAME: {
		/* Through a proxy, the name not found is the proxy's. */
		char ctx[QUOTE_MAX + 32];
		const char *host = job->proxy ? job->proxy->host : job->url.host;
		const char *what = job->proxy ? "proxy " : "";
		snprintf(ctx, sizeof ctx, "%s: %s%s", run->o.command, what, quote(host, strlen(host), q));
		snprintf(job->error, sizeof job->error, "%s%s: name not known", what, host);
		job->status = report_err(ctx, err);
		return;
	}
	case -ETIMEDOUT:
		if (job->timed_out)
			hc_url_error(job, EXIT_TIMEOUT, "not done within %g s (--max-time)",
			          run->o.max_time_ms / 1000.0);
		else if (!res && sk_http_exchange_response(ex) == NULL && run->o.connect_timeout_ms)
			hc_url_error(job, EXIT_TIMEOUT, "connect %s: no connection within %g s (--connect-timeout)",
			          addr, run->o.connect_timeout_ms / 1000.0);
		else
			hc_url_error(job, EXIT_TIMEOUT, "%s", reason);
		return;
	case SK_EHTTP_TRUNCATED:
		if (res && res->framing == SK_HTTP_FRAMING_EOF)
			hc_url_error(job, EXIT_PEER, "the server closed the connection without TLS "
			             "close_notify after %llu bytes of a body that ends with the connection: "
			             "it may have been cut short", (unsigned long long)job->body_in);
		else if (res && res->framing == SK_HTTP_FRAMING_LENGTH)
			hc_url_error(job, EXIT_PEER, "the connection closed after %llu of %llu bytes of the body",
			          (unsigned long long)job->body_in, (unsigned long long)res->content_length);
		else if (res)
			hc_url_error(job, EXIT_PEER, "the connection closed inside the chunked body, after %llu "
			          "bytes", (unsigned long long)job->body_in);
		else
			hc_url_error(job, EXIT_PEER, "the connection closed inside the response head");
		return;
	case SK_EHTTP_BAD_RESPONSE:
	case SK_EHTTP_HEAD_TOO_BIG:
	case SK_EHTTP_TUNNEL: {
		const char *why = sk_http_exchange_why(ex);
		hc_url_error(job, EXIT_PEER, "%s%s%s", reason, why ? ": " : "", why ? why : "");
		return;
	}
	default:
		break;
	}
	if (tlscli_is_tls_error(err)) {
		char why[1024];
		tlscli_describe(&run->o.tls, err, why, sizeof why);
		hc_url_error(job, exit_status_of(err), "%s", why);
		return;
	}
	int status = exit_status_of(err);
	if (!res && (status == EXIT_NETWORK || err == -ECONNREFUSED)) {
		hc_url_error(job, status, "connect %s: %s", addr, reason);
		return;
	}
	if (res && status == EXIT_NETWORK)
		hc_url_error(job, status, "%s after %llu bytes of the body", reason,
		          (unsigned long long)job->body_in);
	else
		hc_url_error(job, status, "%s", reason);
}

/* A transfer that went well: the status and the resume cases say the rest. */
void hc_response_status(struct hc_job *job, const struct sk_http_response *res)
{
	char q[QUOTE_MAX];
	struct hc_sink *s = &job->sink;
	if (job->already_complete) {
		hc_note(job->run, "%s: already complete (%llu bytes)", quote(s->path, strlen(s->path), q),
		     (unsigned long long)s->resume_from);
		return;
	}
	if (job->resume_err) {
		if (res->status == 416)
			hc_url_error(job, EXIT_PEER, "416 to a resume from byte %llu: %s does not fit the "
			          "server's file", (unsigned long long)s->resume_from,
			          quote(s->path, strlen(s->path), q));
		else
			hc_url_error(job, EXIT_PEER, "206 with a Content-Range that does not start at byte %llu",
			          (unsigned long long)s->resume_from);
		return;
	}
	if (res->status >= 400)
		hc_url_error(job, EXIT_PEER, "%u %.*s", res->status, (int)res->reason.len, res->reason.p);
}

