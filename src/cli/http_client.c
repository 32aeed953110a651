/* `sockit http get|head|put|post|delete`: the run. URLs are fetched in
 * turn through one sk_http_client (a kept-alive connection per origin);
 * each URL is a job of one or more hops (redirects with -L), and its final
 * response's body goes to its sink (http_client_out.c). A job's life:
 *
 *   start_url → start_hop → on_head (a redirect to follow, or the final
 *   response: open the sink) → on_body … → on_done → next hop, or
 *   finish_url (status, -w json) → the next URL, or the loop stops. */
#include "http_client_cli.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sockit/conn.h>

static void start_url(struct hc_run *run);
static void start_hop(struct hc_job *job);

/* --- the exchange's callbacks --------------------------------------------- */

static void on_event(struct sk_http_exchange *ex, enum sk_http_event ev, void *ud)
{
	struct hc_job *job = ud;
	struct hc_run *run = job->run;
	if (!run->o.verbose)
		return;
	struct sk_addr peer;
	char addr[SK_ADDR_STRLEN] = "?";
	if (sk_http_exchange_peer(ex, &peer) == 0)
		sk_addr_format(&peer, addr);
	switch (ev) {
	case SK_HTTP_EV_CONNECTING: hc_verbose(run, "connecting to %s", addr); break;
	case SK_HTTP_EV_CONNECTED: hc_verbose(run, "connected to %s", addr); break;
	case SK_HTTP_EV_REUSED: hc_verbose(run, "reusing the connection to %s", addr); break;
	case SK_HTTP_EV_SENT: hc_print_head('>', sk_http_exchange_request_head(ex)); break;
	case SK_HTTP_EV_RETRY:
		hc_verbose(run, "the server had closed the kept-alive connection: sending again");
		break;
	}
}

static bool is_redirect(unsigned status)
{
	return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

static void on_gunzipped(const char *p, size_t len, void *ud)
{
	struct hc_job *job = ud;
	hc_sink_write(&job->sink, p, len);
}

/* -C -: what the final response means for the file. Returns whether its
 * body goes into the file, and how (append or from the start). */
static bool resume_plan(struct hc_job *job, const struct sk_http_response *res, bool *append)
{
	char q[QUOTE_MAX];
	struct hc_sink *s = &job->sink;
	const struct sk_http_header *cr = sk_http_response_header(res, "content-range");
	uint64_t first = 0, last = 0, total = 0;
	bool has_range = cr && sk_http_parse_content_range(cr->value, &first, &last, &total) == 0;
	*append = false;
	if (res->status == 206) {
		if (!has_range || first != s->resume_from) {
			job->resume_err = SK_EHTTP_BAD_RESPONSE;
			return false;
		}
		*append = true;
		return true;
	}
	if (res->status == 416) {
		if (has_range && first == UINT64_MAX && total == s->resume_from)
			job->already_complete = true;
		else
			job->resume_err = SK_EHTTP_BAD_RESPONSE;
		return false;
	}
	if (res->status >= 200 && res->status < 300) {
		hc_note(job->run, "%s: the server ignored the range: writing it again from the start",
		     quote(s->path, strlen(s->path), q));
		return true;
	}
	/* An error page never goes into a file being resumed. */
	return false;
}

/* The final response: decides where its body goes and opens that. */
static void final_head(struct hc_job *job, struct sk_http_exchange *ex,
                       const struct sk_http_response *res, struct sk_slice raw)
{
	struct hc_run *run = job->run;
	struct hc_sink *s = &job->sink;
	bool append = false, write_body = true;
	if (s->resume_from)
		write_body = resume_plan(job, res, &append);
	else if (run->o.resume && (res->status < 200 || res->status >= 300))
		write_body = false; /* nor into a file -C - starts: the next -C - would resume it */
	if (run->o.fail && res->status >= 400)
		write_body = false;
	s->discard = !write_body;
	int err = hc_sink_open(s, append, s->in_place && !append);
	if (err < 0) {
		job->local_err = err;
		sk_http_exchange_abort(ex, err);
		return;
	}
	if (write_body && job->head_is_output)
		hc_sink_write(s, raw.p, raw.len);
	const struct sk_http_header *ce = sk_http_response_header(res, "content-encoding");
	if (write_body && run->o.compressed && ce &&
	    (strncasecmp(ce->value.p, "gzip", ce->value.len) == 0 ||
	     strncasecmp(ce->value.p, "x-gzip", ce->value.len) == 0) &&
	    (ce->value.len == 4 || ce->value.len == 6)) {
		if (sk_http_gunzip_new(on_gunzipped, job, &job->gz) < 0) {
			job->local_err = SK_ENOMEM;
			sk_http_exchange_abort(ex, SK_ENOMEM);
			return;
		}
	}
	bool bar = !run->o.silent && write_body &&
	           (run->o.progress || (run->stderr_is_tty && s->kind != HC_OUT_STDOUT));
	uint64_t total = res->framing == SK_HTTP_FRAMING_LENGTH ? res->content_length : UINT64_MAX;
	if (total != UINT64_MAX && append)
		total += s->resume_from;
	hc_progress_start(&job->progress, bar && res->framing != SK_HTTP_FRAMING_NONE, total,
	                  append ? s->resume_from : 0);
}

static void on_head(struct sk_http_exchange *ex, const struct sk_http_response *res,
                    struct sk_slice raw, void *ud)
{
	struct hc_job *job = ud;
	struct hc_run *run = job->run;
	if (run->o.verbose)
		hc_print_head('<', raw);
	if (res->status < 200)
		return;
	job->hops[job->n_hops - 1].status = res->status;
	job->has_tls = sk_http_exchange_tls_info(ex, &job->tls) == 0;
	const struct sk_http_header *loc = sk_http_response_header(res, "location");
	job->following = run->o.location && is_redirect(res->status) && loc;
	if (job->following) {
		job->next_err = sk_url_resolve(&job->url, loc->value.p, loc->value.len, &job->next);
		return;
	}
	final_head(job, ex, res, raw);
}

static void on_body(struct sk_http_exchange *ex, const char *p, size_t len, void *ud)
{
	struct hc_job *job = ud;
	if (job->following || job->sink.discard)
		return;
	job->body_in += len;
	int err = job->gz ? sk_http_gunzip_feed(job->gz, p, len) : hc_sink_write(&job->sink, p, len);
	if (job->sink.err) {
		job->local_err = job->sink.err;
		sk_http_exchange_abort(ex, job->sink.err);
		return;
	}
	if (err < 0) {
		sk_http_exchange_abort(ex, err);
		return;
	}
	hc_progress_update(&job->progress, job->body_in + job->progress.done, false);
}

/* --- the end of a hop ------------------------------------------------------- */

/* The method after a redirect (RFC 9110 §15.4): 301, 302 and 303 become
 * GET without the body (as browsers and curl do for 301 and 302 too); 307
 * and 308 keep both. HEAD stays HEAD. */
static void redirect_method(struct hc_job *job, unsigned status)
{
	if (status == 307 || status == 308 || strcmp(job->method, "HEAD") == 0)
		return;
	job->method = "GET";
	job->with_body = false;
}

static bool follow(struct hc_job *job, unsigned status)
{
	struct hc_run *run = job->run;
	char q[QUOTE_MAX], text[SK_URL_TEXT_MAX];
	if (job->next_err) {
		hc_url_error(job, EXIT_PEER, "the redirect's Location is not an http:// or https:// URL (%s)",
		          sk_strerror(job->next_err));
		return false;
	}
	if (job->n_redirects == run->o.max_redirs) {
		hc_url_error(job, EXIT_PEER, "more than %lu redirect%s (--max-redirs)", run->o.max_redirs,
		          run->o.max_redirs == 1 ? "" : "s");
		return false;
	}
	redirect_method(job, status);
	if (job->with_body && run->body.stream_stdin) {
		hc_url_error(job, EXIT_PEER, "a %u redirect asks for the body again, but it came from stdin",
		          status);
		return false;
	}
	job->n_redirects++;
	job->url = job->next;
	if (sk_url_format(&job->url, text, sizeof text) > 0)
		hc_verbose(run, "redirect %u to %s", status, quote(text, strlen(text), q));
	start_hop(job);
	return true;
}

static void finish_url(struct hc_job *job, struct sk_http_exchange *ex, int err)
{
	struct hc_run *run = job->run;
	sk_loop_timer_stop(run->loop, &job->deadline);
	const struct sk_http_response *res = sk_http_exchange_response(ex);
	if (err == 0 && job->gz && sk_http_gunzip_finish(job->gz) < 0)
		err = SK_EHTTP_BAD_ENCODING;
	if (job->local_err) {
		char name[QUOTE_MAX + 8], ctx[QUOTE_MAX + 64];
		snprintf(ctx, sizeof ctx, "%s: %s", run->o.command,
		         job->local_what ? job->local_what : hc_sink_name(&job->sink, name, sizeof name));
		snprintf(job->error, sizeof job->error, "%s: %s",
		         job->local_what ? job->local_what : hc_sink_name(&job->sink, name, sizeof name),
		         sk_strerror(job->local_err));
		/* A reader that closed stdout's pipe has what it wanted: silence. */
		if (job->local_err == -EPIPE && job->sink.kind == HC_OUT_STDOUT && !job->local_what)
			job->status = EXIT_OK;
		else
			job->status = report_err(ctx, job->local_err) == EXIT_NETWORK ? EXIT_NETWORK
			                                                              : EXIT_LOCAL;
	} else if (run->interrupted) {
		hc_url_error(job, EXIT_FAIL, "interrupted");
	} else if (err) {
		hc_transfer_error(job, ex, err);
	} else {
		hc_response_status(job, res);
	}
	hc_progress_update(&job->progress, job->body_in + job->progress.done, true);
	bool ok = err == 0 && !job->local_err && !run->interrupted;
	int cerr = hc_sink_close(&job->sink, ok);
	if (cerr < 0 && job->status == EXIT_OK) {
		job->local_err = cerr;
		char name[QUOTE_MAX + 8], ctx[QUOTE_MAX + 64];
		snprintf(ctx, sizeof ctx, "%s: %s", run->o.command, hc_sink_name(&job->sink, name, sizeof name));
		report_err(ctx, cerr);
		job->status = EXIT_LOCAL;
	}
	if (run->o.write_json) {
		struct hc_report r = {
			.url_given = job->given, .method = job->method, .hops = job->hops,
			.n_hops = job->n_hops, .res = res, .body_bytes = job->sink.written,
			.total_us = hc_now_us() - job->start_us, .exit_status = job->status,
			.error = job->error[0] ? job->error : NULL,
			.output = job->sink.kind == HC_OUT_STDOUT ? NULL : job->sink.path,
			.tls = job->has_tls ? &job->tls : NULL,
		};
		hc_write_json(out_stdout(NULL), &r);
	}
	if (job->status != EXIT_OK)
		run->status = job->status;
	sk_http_gunzip_free(job->gz);
	job->gz = NULL;
	free(job->hops);
	job->hops = NULL;
	if (run->stdin_conn)
		sk_conn_close(run->stdin_conn, 0);
	run->url_i++;
	start_url(run);
}

static void on_done(struct sk_http_exchange *ex, int err, void *ud)
{
	struct hc_job *job = ud;
	struct sk_http_timing t;
	sk_http_exchange_timing(ex, &t);
	job->hops[job->n_hops - 1].timing = t;
	job->ex = NULL;
	const struct sk_http_response *res = sk_http_exchange_response(ex);
	if (err == 0 && job->following && !job->run->interrupted) {
		if (follow(job, res->status))
			return;
		finish_url(job, ex, 0);
		return;
	}
	finish_url(job, ex, err);
}

/* https://: -v prints the handshake; a refusal is described from it. */
static void on_tls(struct sk_http_exchange *ex, int err, const struct sk_tls_info *info, void *ud)
{
	(void)ex;
	struct hc_job *job = ud;
	tlscli_record(&job->run->o.tls, err, info);
}

static const struct sk_http_exchange_handler exchange_handler = {
	.on_tls = on_tls,
	.on_event = on_event,
	.on_head = on_head,
	.on_body = on_body,
	.on_body_want = hc_on_body_want,
	.on_done = on_done,
};

/* --- starting ---------------------------------------------------------------- */

/* The proxy for a URL's scheme, unless no_proxy names its host. */
static const struct sk_url *proxy_for(const struct hc_run *run, const struct sk_url *url)
{
	bool https = url->scheme == SK_URL_HTTPS;
	if (!(https ? run->has_https_proxy : run->has_http_proxy))
		return NULL;
	if (run->o.noproxy && sk_url_no_proxy_matches(run->o.noproxy, url))
		return NULL;
	return https ? &run->https_proxy : &run->http_proxy;
}

/* The https:// flags become the client's TLS config at the first https://
 * URL (a redirect's too): loading the system's CAs would cost every
 * http:// run a few milliseconds. Returns EXIT_OK or the reported status. */
static int tls_ready(struct hc_run *run)
{
	if (run->tls_ready)
		return EXIT_OK;
	int st = tlscli_setup(&run->o.tls, NULL);
	if (st != EXIT_OK)
		return st;
	sk_http_client_set_tls(run->client, run->o.tls.cfg);
	run->tls_ready = true;
	return EXIT_OK;
}

/* A URL that ends before an exchange could start (out of memory). */
static void abandon_url(struct hc_job *job)
{
	struct hc_run *run = job->run;
	hc_sink_close(&job->sink, false);
	sk_loop_timer_stop(run->loop, &job->deadline);
	free(job->hops);
	job->hops = NULL;
	run->status = job->status;
	run->url_i++;
	start_url(run);
}

static void start_hop(struct hc_job *job)
{
	struct hc_run *run = job->run;
	const struct hc_opts *o = &run->o;
	struct hc_hop *hops = realloc(job->hops, (job->n_hops + 1) * sizeof *hops);
	if (!hops) {
		hc_url_error(job, EXIT_FAIL, "%s", sk_strerror(SK_ENOMEM));
		abandon_url(job);
		return;
	}
	job->hops = hops;
	struct hc_hop *hop = &hops[job->n_hops++];
	memset(hop, 0, sizeof *hop);
	sk_url_format(&job->url, hop->url, sizeof hop->url);
	run->o.tls.has_info = false; /* this hop's handshake, if any, is the one to describe */
	job->has_tls = false;
	int st = job->url.scheme == SK_URL_HTTPS ? tls_ready(run) : EXIT_OK;
	if (st != EXIT_OK) {
		job->status = st; /* tlscli said why */
		abandon_url(job);
		return;
	}

	/* Credentials go to the origin they were given for; a URL's own
	 * userinfo goes with it. */
	bool same_origin = sk_url_same_origin(&job->url, &job->first);
	char userpass[SK_URL_HOST_MAX];
	const char *up = NULL;
	size_t up_len = 0;
	int n = -1;
	if (job->url.has_userinfo)
		n = sk_url_userinfo(&job->url, userpass, sizeof userpass);
	else if (same_origin && o->userpass)
		snprintf(userpass, sizeof userpass, "%s", o->userpass), n = (int)strlen(userpass);
	if (n >= 0) {
		up = userpass;
		up_len = (size_t)n;
	}
	hc_fields_build(o, job->with_body ? &run->body : NULL, up, up_len, same_origin,
	                job->sink.resume_from, &job->fields);
	job->following = false;
	job->proxy = proxy_for(run, &job->url);
	struct sk_http_client_req req = {
		.method = job->method,
		.url = &job->url,
		.proxy = job->proxy,
		.fields = job->fields.f,
		.n_fields = job->fields.n,
		.body = job->with_body ? run->body.parts : NULL,
		.n_body = job->with_body ? run->body.n_parts : 0,
		.stream_body = job->with_body && run->body.stream_stdin,
	};
	int err = sk_http_client_start(run->client, &req, &exchange_handler, job, &job->ex);
	if (err < 0) {
		hc_url_error(job, exit_status_of(err), "%s", sk_strerror(err));
		abandon_url(job);
	}
}

static void on_deadline(struct sk_loop *loop, struct sk_timer *t, void *ud)
{
	(void)loop;
	(void)t;
	struct hc_job *job = ud;
	job->timed_out = true;
	if (job->ex)
		sk_http_exchange_abort(job->ex, -ETIMEDOUT);
}

static void start_url(struct hc_run *run)
{
	const struct hc_opts *o = &run->o;
	if (run->url_i == o->n_urls || run->interrupted) {
		sk_loop_stop(run->loop);
		return;
	}
	struct hc_job *job = &run->job;
	memset(job, 0, sizeof *job);
	job->run = run;
	job->given = o->urls[run->url_i];
	job->method = o->method;
	job->with_body = !hc_body_empty(&run->body);
	job->head_is_output = o->include || strcmp(o->method, "HEAD") == 0;
	job->start_us = hc_now_us();
	int err = sk_url_parse(job->given, strlen(job->given), &job->first);
	int st = EXIT_OK;
	if (err < 0) {
		char q[QUOTE_MAX], ctx[QUOTE_MAX + 32];
		snprintf(ctx, sizeof ctx, "%s: %s", o->command, quote(job->given, strlen(job->given), q));
		st = report_err(ctx, err);
	} else {
		job->url = job->first;
		const struct hc_output *out = run->url_i < o->n_outputs ? &o->outputs[run->url_i] : NULL;
		st = hc_sink_prepare(&job->sink, o->command, out, &job->first, o->resume);
	}
	if (st != EXIT_OK) {
		run->status = st;
		run->url_i++;
		start_url(run);
		return;
	}
	sk_timer_init(&job->deadline, on_deadline, job);
	if (o->max_time_ms)
		sk_loop_timer_start(run->loop, &job->deadline, o->max_time_ms);
	start_hop(job);
}

static void on_signal(struct sk_loop *loop, int signo, void *ud)
{
	(void)loop;
	(void)signo;
	struct hc_run *run = ud;
	run->interrupted = true;
	if (run->job.ex)
		sk_http_exchange_abort(run->job.ex, -EINTR);
}

/* One proxy URL: http:// ("host:port" is read as one; without a port,
 * 1080 by curl's rule). TLS to the proxy itself is not spoken. */
static int parse_proxy(const struct hc_run *run, const char *text, struct sk_url *out,
                       bool *has)
{
	if (!text || !*text)
		return EXIT_OK;
	char q[QUOTE_MAX], ctx[QUOTE_MAX + 32];
	snprintf(ctx, sizeof ctx, "%s: proxy %s", run->o.command, quote(text, strlen(text), q));
	int err = sk_url_parse(text, strlen(text), out);
	if (err < 0)
		return report_err(ctx, err);
	if (out->scheme != SK_URL_HTTP)
		return usage_error(run->o.command, "proxy %s: only http:// proxies are supported", q);
	if (!out->has_port)
		out->port = 1080;
	*has = true;
	return EXIT_OK;
}

/* http_proxy, https_proxy or --proxy. */
static int setup_proxies(struct hc_run *run)
{
	int st = parse_proxy(run, run->o.http_proxy, &run->http_proxy, &run->has_http_proxy);
	if (st == EXIT_OK)
		st = parse_proxy(run, run->o.https_proxy, &run->https_proxy, &run->has_https_proxy);
	return st;
}

static int run_client(struct hc_run *rp, int argc, char **argv);

int cmd_http_client(int argc, char **argv)
{
	struct hc_run *r = calloc(1, sizeof *r); /* some 40 KiB of URLs: not on the stack */
	if (!r)
		return report_err("http", SK_ENOMEM);
	int status = run_client(r, argc, argv);
	free(r);
	return status;
}

static int run_client(struct hc_run *rp, int argc, char **argv)
{
	int st = hc_parse_options(argc, argv, &rp->o);
	if (st == PARSE_HELP) {
		hc_free_options(&rp->o);
		return EXIT_OK; /* --help */
	}
	if (st == EXIT_OK)
		st = setup_proxies(rp);
	if (st == EXIT_OK)
		st = hc_body_build(&rp->o, &rp->body);
	if (st != EXIT_OK) {
		hc_body_free(&rp->body);
		hc_free_options(&rp->o);
		return st;
	}
	int err = sk_loop_new(&rp->loop);
	struct sk_http_client_opts co;
	sk_http_client_opts_init(&co);
	co.connect_timeout_ms = rp->o.connect_timeout_ms;
	co.family = rp->o.family;
	co.tracer = rp->o.trace ? &stderr_tracer : NULL;
	/* https://: the config comes at the first https:// URL (tls_ready). */
	co.tls_server_name = rp->o.tls.servername;
	if (err == 0) {
		/* epoll by default: one connection at a time gains nothing from a
		 * ring, and setting one up costs a small GET a fifth of its time;
		 * a bulk download ran 10-30% slower through the ring's 16 KiB
		 * buffers than through 64 KiB reads (bench/http_client.sh).
		 * SOCKIT_IO_URING=1 asks for the ring. */
		const char *uring = getenv("SOCKIT_IO_URING");
		if (uring && strcmp(uring, "1") == 0)
			sk_loop_use_io_uring(rp->loop);
		err = sk_http_client_new(rp->loop, &co, &rp->client);
	}
	if (err < 0) {
		sk_loop_free(rp->loop);
		hc_body_free(&rp->body);
		hc_free_options(&rp->o);
		return report_err(rp->o.command, err);
	}
	rp->stderr_is_tty = isatty(STDERR_FILENO);
	sk_loop_add_signal(rp->loop, SIGINT, on_signal, rp);
	sk_loop_add_signal(rp->loop, SIGTERM, on_signal, rp);
	start_url(rp);
	sk_loop_run(rp->loop);
	sk_http_client_free(rp->client);
	if (rp->stdin_conn)
		sk_conn_close(rp->stdin_conn, 0);
	sk_loop_free(rp->loop);
	hc_body_free(&rp->body);
	hc_free_options(&rp->o);
	return rp->status;
}
