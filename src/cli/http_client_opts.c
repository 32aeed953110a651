/* `sockit http get|head|put|post|delete`: the client's option table (opts.c
 * reads it for the parser and for --help), and the checks of what the
 * options mean together. */
#include "http_client_cli.h"

#include <stdlib.h>
#include <string.h>

/* A field name or a method: RFC 9110 §5.6.2's token. */
static bool is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_token(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_tchar((unsigned char)s[i]))
			return false;
	return true;
}

static int set_method(struct parse *ps, const char *arg)
{
	struct hc_opts *o = ps->base;
	char q[QUOTE_MAX];
	if (!is_token(arg, strlen(arg)))
		return usage_error(o->command, "%s %s: a method is a token, such as 'GET' or 'PATCH'",
		                   ps->typed, quote(arg, strlen(arg), q));
	o->method = arg;
	o->method_given = true;
	return EXIT_OK;
}

static int add_field(struct parse *ps, const char *arg)
{
	struct hc_opts *o = ps->base;
	char q[QUOTE_MAX];
	const char *colon = strchr(arg, ':');
	if (!colon || colon == arg)
		return usage_error(o->command, "%s %s: expected 'NAME: VALUE'", ps->typed,
		                   quote(arg, strlen(arg), q));
	if (!is_token(arg, (size_t)(colon - arg)))
		return usage_error(o->command, "%s %s: the name is not a token", ps->typed,
		                   quote(arg, strlen(arg), q));
	const char *value = colon + 1;
	value += strspn(value, " \t");
	if (strpbrk(value, "\r\n"))
		return usage_error(o->command, "%s %s: a CR or LF in a field would split the request",
		                   ps->typed, quote(arg, strlen(arg), q));
	if (o->n_fields == HC_MAX_FIELDS)
		return usage_error(o->command, "%s: at most %d fields", ps->typed, HC_MAX_FIELDS);
	char *name = strndup(arg, (size_t)(colon - arg));
	if (!name)
		return report_err(o->command, SK_ENOMEM);
	o->fields[o->n_fields].name = name;
	o->fields[o->n_fields].value = *value ? value : NULL;
	o->n_fields++;
	return EXIT_OK;
}

/* -d and --json (the row's n: 1 for --json). */
static int add_data(struct parse *ps, const char *arg)
{
	struct hc_opts *o = ps->base;
	bool json = ps->opt->n == 1;
	if (o->n_data && o->json != json)
		return usage_error(o->command, "-d and --json do not mix");
	if (o->n_data == HC_MAX_DATA)
		return usage_error(o->command, "%s: at most %d -d/--json", ps->typed, HC_MAX_DATA);
	o->json = json;
	o->data[o->n_data++] = arg;
	return EXIT_OK;
}

static int add_form(struct parse *ps, const char *arg)
{
	struct hc_opts *o = ps->base;
	char q[QUOTE_MAX];
	if (o->n_form == HC_MAX_FORM)
		return usage_error(o->command, "%s: at most %d -F", ps->typed, HC_MAX_FORM);
	if (!strchr(arg, '=') || arg[0] == '=')
		return usage_error(o->command, "%s %s: expected NAME=VALUE or NAME=@FILE", ps->typed,
		                   quote(arg, strlen(arg), q));
	o->form[o->n_form++] = arg;
	return EXIT_OK;
}

/* -o FILE and -O (the row's n is the kind): one per URL, in order. */
static int add_output(struct parse *ps, const char *arg)
{
	struct hc_opts *o = ps->base;
	o->outputs[o->n_outputs].kind = (enum hc_out_kind)ps->opt->n;
	o->outputs[o->n_outputs].path = arg;
	o->n_outputs++;
	return EXIT_OK;
}

static int set_resume(struct parse *ps, const char *arg)
{
	struct hc_opts *o = ps->base;
	char q[QUOTE_MAX];
	if (strcmp(arg, "-") != 0)
		return usage_error(o->command, "%s %s: only '-' (from the file's size) is supported",
		                   ps->typed, quote(arg, strlen(arg), q));
	o->resume = true;
	return EXIT_OK;
}

static int set_write_out(struct parse *ps, const char *arg)
{
	struct hc_opts *o = ps->base;
	char q[QUOTE_MAX];
	if (strcmp(arg, "json") != 0)
		return usage_error(o->command, "%s %s: only 'json' is supported", ps->typed,
		                   quote(arg, strlen(arg), q));
	o->write_json = true;
	return EXIT_OK;
}

/* -4, -6 with curl's long names. */
#define HC_FAMILY_(s, l, value, h) \
	{ OPT_CALL, s, l, NULL, h, OPT_OFF(struct hc_opts, family, int), value, opt_family, 0, NULL }

static const struct opt client_opts[] = {
	OPT_CALL_('X', "request", "METHOD", set_method, 0, "send METHOD instead of the command's"),
	OPT_CALL_('H', "header", "'NAME: VALUE'", add_field, 0,
	          "add a field (repeatable); 'NAME:' drops one of ours"),
	OPT_STRING_('u', "user", "USER:PASS", struct hc_opts, userpass,
	            "Basic credentials, for the URL's origin only"),
	OPT_STRING_('A', "user-agent", "AGENT", struct hc_opts, user_agent,
	            "User-Agent (default sockit/VERSION)"),
	OPT_CALL_('d', "data", "DATA", add_data, 0,
	          "body: DATA, @FILE or @- (stdin); several are joined by &"),
	OPT_CALL_(0, "json", "DATA", add_data, 1,
	          "JSON body (DATA or @FILE), with its Content-Type and Accept"),
	OPT_CALL_('F', "form", "NAME=VALUE", add_form, 0,
	          "multipart/form-data field; NAME=@FILE sends FILE"),
	OPT_CALL_('o', "output", "FILE", add_output, HC_OUT_FILE,
	          "write the body to FILE (once per URL)"),
	OPT_CALL_('O', "remote-name", NULL, add_output, HC_OUT_REMOTE_NAME,
	          "write the body to the file the URL's path names"),
	OPT_CALL_('C', "continue-at", "-", set_resume, 0, "resume the -o/-O file from its size"),
	OPT_FLAG_('i', "include", struct hc_opts, include, "write the response head before the body"),
	OPT_FLAG_('f', "fail", struct hc_opts, fail, "write no body for a 4xx or 5xx status"),
	OPT_FLAG_('L', "location", struct hc_opts, location, "follow redirects"),
	OPT_COUNT_(0, "max-redirs", "N", 1000, struct hc_opts, max_redirs,
	           "follow at most N redirects (default 10; 0: a redirect is an error)"),
	OPT_SECONDS_(0, "connect-timeout", struct hc_opts, connect_timeout_ms,
	             "give up connecting after SECS (default and 0: the kernel's)"),
	OPT_SECONDS_('m', "max-time", struct hc_opts, max_time_ms,
	             "give up on a URL after SECS, redirects included (default and 0: never)"),
	OPT_FLAG_(0, "compressed", struct hc_opts, compressed, "ask for gzip and decode it"),
	OPT_CALL_('w', "write-out", "json", set_write_out, 0,
	          "after each URL, a JSON object on stdout"),
	OPT_STRING_('x', "proxy", "URL", struct hc_opts, proxy,
	            "use this HTTP proxy, a CONNECT tunnel for https:// ('' for none; default "
	            "$http_proxy, $https_proxy)"),
	OPT_STRING_(0, "noproxy", "LIST", struct hc_opts, noproxy,
	            "hosts to reach directly (default $no_proxy)"),
	OPT_FLAG_(0, "progress", struct hc_opts, progress,
	          "draw the progress bar even when stderr is no terminal"),
	OPT_FLAG_('s', "silent", struct hc_opts, silent, "no progress bar, no notes (errors still)"),
	OPT_FLAG_('v', "verbose", struct hc_opts, verbose,
	          "request and response heads on stderr (https://: the TLS version, cipher and "
	          "the server's certificate)"),
	OPT_FLAG_(0, "trace", struct hc_opts, trace, "print each socket call on stderr"),
	HC_FAMILY_('4', "ipv4", AF_INET, "IPv4 only"),
	HC_FAMILY_('6', "ipv6", AF_INET6, "IPv6 only"),
	TLSCLI_HTTPS_ROWS(struct hc_opts, tls),
	OPT_END_,
};

static const struct opt_hint client_hints[] = {
	{ "-I", "for the response head use 'sockit http head URL'" },
	{ "-T", "to upload a file use 'sockit http put URL FILE'" },
	{ "-n", "no .netrc is read: give -u USER:PASS" },
	{ NULL, NULL },
};

/* The table as --help and sockit(1) show it; each verb parses with a copy
 * that carries its own name ("http post: -X ..."). */
const struct opt_cmd hc_client_cmd = { "http get", "http", client_opts, client_hints };

static const struct {
	const char *verb, *command, *method;
	bool many_urls, takes_file;
} verbs[] = {
	{ "get", "http get", "GET", true, false },
	{ "head", "http head", "HEAD", true, false },
	{ "put", "http put", "PUT", false, true },
	{ "post", "http post", "POST", false, false },
	{ "delete", "http delete", "DELETE", false, false },
};
#define N_VERBS (sizeof verbs / sizeof verbs[0])

static size_t find_verb(const char *verb)
{
	size_t v = 0;
	while (v < N_VERBS && strcmp(verbs[v].verb, verb) != 0)
		v++;
	return v;
}

bool hc_is_verb(const char *verb)
{
	return find_verb(verb) < N_VERBS;
}

/* What the options mean together. */
static int check(struct hc_opts *o, bool many_urls, bool takes_file)
{
	bool has_body = o->n_data || o->n_form || o->put_file;
	if (o->n_urls == 0)
		return usage_error(o->command, takes_file ? "expected URL and FILE" : "expected a URL");
	if (!many_urls && o->n_urls > 1)
		return usage_error(o->command, "expected one URL, got %zu", o->n_urls);
	if (takes_file && !o->put_file)
		return usage_error(o->command, "expected URL and FILE ('-' for stdin)");
	if (o->n_outputs > o->n_urls)
		return usage_error(o->command, "%zu -o/-O for %zu URL%s", o->n_outputs, o->n_urls,
		                   o->n_urls == 1 ? "" : "s");
	if (o->n_form && o->n_data)
		return usage_error(o->command, "-F does not mix with -d or --json");
	if (o->put_file && (o->n_form || o->n_data))
		return usage_error(o->command, "put sends FILE: no -d, --json or -F");
	if (has_body && !o->method_given &&
	    (strcmp(o->method, "GET") == 0 || strcmp(o->method, "HEAD") == 0))
		return usage_error(o->command, "%s sends no body: use 'sockit http post' (or -X)",
		                   o->verb);
	if (o->resume) {
		for (size_t i = 0; i < o->n_urls; i++)
			if (i >= o->n_outputs || o->outputs[i].kind == HC_OUT_STDOUT)
				return usage_error(o->command, "-C - resumes a file: give -o FILE or -O");
	}
	return tlscli_check(&o->tls);
}

/* The environment's proxies. Lower case http_proxy only: a CGI program's
 * request sets HTTP_PROXY from a "Proxy:" header ("httpoxy"), so no client
 * reads it (curl neither); HTTPS_PROXY has no such header behind it. */
static void proxies_from_env(struct hc_opts *o)
{
	o->http_proxy = getenv("http_proxy");
	o->https_proxy = getenv("https_proxy");
	if (!o->https_proxy)
		o->https_proxy = getenv("HTTPS_PROXY");
	o->noproxy = getenv("no_proxy");
	if (!o->noproxy)
		o->noproxy = getenv("NO_PROXY");
}

int hc_parse_options(int argc, char **argv, struct hc_opts *o)
{
	size_t v = find_verb(argv[0]);
	if (v == N_VERBS)
		return usage_error("http", "unknown command");
	o->verb = verbs[v].verb;
	o->command = verbs[v].command;
	o->method = verbs[v].method;
	o->max_redirs = 10;
	o->family = AF_UNSPEC;
	proxies_from_env(o);
	/* TLS follows the URL's scheme: the flags are for every https:// URL,
	 * and the client offers ALPN http/1.1, the only protocol it speaks. */
	tlscli_init(&o->tls, o->command, false);
	o->tls.on = true;
	o->tls.alpn = "http/1.1";
	/* No more outputs than arguments. */
	o->outputs = calloc((size_t)argc, sizeof *o->outputs);
	if (!o->outputs)
		return report_err(o->command, SK_ENOMEM);
	struct opt_cmd cmd = hc_client_cmd;
	cmd.name = o->command;
	struct parse ps;
	int st = parse_options(&ps, &cmd, argc, argv, o);
	if (st)
		return st;
	o->tls.verbose = o->verbose;
	/* --proxy wins over both variables, '' included (no proxy). */
	if (o->proxy)
		o->http_proxy = o->https_proxy = o->proxy;
	o->urls = (const char **)ps.operands;
	o->n_urls = (size_t)ps.n_operands;
	if (verbs[v].takes_file && o->n_urls >= 2)
		o->put_file = o->urls[--o->n_urls];
	return check(o, verbs[v].many_urls, verbs[v].takes_file);
}

void hc_free_options(struct hc_opts *o)
{
	for (size_t i = 0; i < o->n_fields; i++)
		free((char *)o->fields[i].name);
	free(o->outputs);
	tlscli_fini(&o->tls);
}
