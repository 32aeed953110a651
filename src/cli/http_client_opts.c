/* `sockit http get|head|put|post|delete`: one option table that both the
 * parser and --help read, and the checks of what the options mean
 * together. */
#include "http_client_cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum {
	OPT_JSON = 1000, OPT_TRACE, OPT_MAX_REDIRS, OPT_CONNECT_TIMEOUT, OPT_COMPRESSED,
	OPT_NOPROXY, OPT_PROGRESS, OPT_CAFILE, OPT_CAPATH, OPT_INSECURE, OPT_PIN, OPT_CERT,
	OPT_KEY, OPT_TLS_MIN, OPT_ALPN,
};

struct hc_option {
	const char *name;
	int code;       /* the short letter, or OPT_* */
	int has_arg;
	const char *arg;
	const char *help;
};

static const struct hc_option table[] = {
	{ "request", 'X', required_argument, "METHOD", "send METHOD instead of the command's" },
	{ "header", 'H', required_argument, "'NAME: VALUE'",
	  "add a field (repeatable); 'NAME:' drops one of ours" },
	{ "user", 'u', required_argument, "USER:PASS", "Basic credentials, for the URL's origin only" },
	{ "user-agent", 'A', required_argument, "AGENT", "User-Agent (default sockit/VERSION)" },
	{ "data", 'd', required_argument, "DATA", "body: DATA, @FILE or @- (stdin); several are joined by &" },
	{ "json", OPT_JSON, required_argument, "DATA", "JSON body (DATA or @FILE), with its Content-Type and Accept" },
	{ "form", 'F', required_argument, "NAME=VALUE", "multipart/form-data field; NAME=@FILE sends FILE" },
	{ "output", 'o', required_argument, "FILE", "write the body to FILE (once per URL)" },
	{ "remote-name", 'O', no_argument, NULL, "write the body to the file the URL's path names" },
	{ "continue-at", 'C', required_argument, "-", "resume the -o/-O file from its size" },
	{ "include", 'i', no_argument, NULL, "write the response head before the body" },
	{ "fail", 'f', no_argument, NULL, "write no body for a 4xx or 5xx status" },
	{ "location", 'L', no_argument, NULL, "follow redirects" },
	{ "max-redirs", OPT_MAX_REDIRS, required_argument, "N", "follow at most N redirects (default 10)" },
	{ "connect-timeout", OPT_CONNECT_TIMEOUT, required_argument, "SECS", "give up connecting after SECS" },
	{ "max-time", 'm', required_argument, "SECS", "give up on a URL after SECS, redirects included" },
	{ "compressed", OPT_COMPRESSED, no_argument, NULL, "ask for gzip and decode it" },
	{ "write-out", 'w', required_argument, "json", "after each URL, a JSON object on stdout" },
	{ "proxy", 'x', required_argument, "URL", "use this HTTP proxy ('' for none; default $http_proxy)" },
	{ "noproxy", OPT_NOPROXY, required_argument, "LIST", "hosts to reach directly (default $no_proxy)" },
	{ "progress", OPT_PROGRESS, no_argument, NULL, "draw the progress bar even when stderr is no terminal" },
	{ "silent", 's', no_argument, NULL, "no progress bar, no notes (errors still)" },
	{ "verbose", 'v', no_argument, NULL, "request and response heads on stderr" },
	{ "trace", OPT_TRACE, no_argument, NULL, "print each socket call on stderr" },
	{ "ipv4", '4', no_argument, NULL, "IPv4 only" },
	{ "ipv6", '6', no_argument, NULL, "IPv6 only" },
	{ "cafile", OPT_CAFILE, required_argument, "FILE", "https: trust these CAs (PEM) instead of the system's" },
	{ "capath", OPT_CAPATH, required_argument, "DIR", "https: trust the CAs in DIR (c_rehash)" },
	{ "insecure", OPT_INSECURE, no_argument, NULL, "https: accept any certificate" },
	{ "pin", OPT_PIN, required_argument, "sha256:B64", "https: accept only this public key (repeatable)" },
	{ "cert", OPT_CERT, required_argument, "FILE", "https: client certificate (PEM)" },
	{ "key", OPT_KEY, required_argument, "FILE", "https: its private key (default: in --cert)" },
	{ "tls-min", OPT_TLS_MIN, required_argument, "1.2|1.3", "https: the lowest TLS version" },
	{ "alpn", OPT_ALPN, required_argument, "LIST", "https: offer these ALPN protocols" },
	{ "help", 'h', no_argument, NULL, "this text" },
};

#define N_OPTIONS (sizeof table / sizeof table[0])

static const char usage_head[] =
	"usage: sockit http get    [options] URL...\n"
	"       sockit http head   [options] URL...\n"
	"       sockit http put    [options] URL FILE\n"
	"       sockit http post   [options] URL\n"
	"       sockit http delete [options] URL\n"
	"\n"
	"An HTTP/1.1 client. get writes the body to stdout (or -o/-O); head prints the\n"
	"response head; put sends FILE ('-': stdin, chunked); post sends -d, --json or -F.\n"
	"Several URLs are fetched in turn over one kept-alive connection per origin. A\n"
	"body cut short is an error and never leaves a file: -o writes a temporary file\n"
	"and renames it when the body is complete (with -C -, FILE keeps what arrived).\n"
	"\n";

static const char usage_tail[] =
	"\n"
	"http_proxy and no_proxy (or NO_PROXY) are read; HTTP_PROXY never is (a CGI\n"
	"request can set it). https:// needs the TLS transport (not in this build).\n"
	"\n"
	"exit status: 0 ok, 1 failure, 2 usage, 3 name resolution, 4 network (refused,\n"
	"reset, unreachable), 5 timeout, 6 a 4xx or 5xx status, a malformed or cut-short\n"
	"response, or too many redirects, 7 a local file\n";

static void print_help(void)
{
	struct out *o = out_stdout(NULL);
	out_str(o, usage_head);
	for (size_t i = 0; i < N_OPTIONS; i++) {
		const struct hc_option *t = &table[i];
		char left[64];
		char shortname[5] = "    ";
		if (t->code < 256)
			snprintf(shortname, sizeof shortname, "-%c, ", t->code);
		snprintf(left, sizeof left, "  %s--%s%s%s", shortname, t->name, t->arg ? " " : "",
		         t->arg ? t->arg : "");
		if (strlen(left) > 30)
			out_printf(o, "%s\n%32s%s\n", left, "", t->help);
		else
			out_printf(o, "%-32s%s\n", left, t->help);
	}
	out_str(o, usage_tail);
}

static int set_field(struct hc_opts *o, const char *arg)
{
	char q[QUOTE_MAX];
	const char *colon = strchr(arg, ':');
	if (!colon || colon == arg)
		return usage_error(o->command, "-H %s: expected 'NAME: VALUE'", quote(arg, strlen(arg), q));
	for (const char *p = arg; p < colon; p++) {
		unsigned char c = (unsigned char)*p;
		bool tchar = (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
		             strchr("!#$%&'*+-.^_`|~", c);
		if (!c || !tchar)
			return usage_error(o->command, "-H %s: the name is not a token",
			                   quote(arg, strlen(arg), q));
	}
	const char *value = colon + 1;
	value += strspn(value, " \t");
	for (const char *p = value; *p; p++)
		if (*p == '\r' || *p == '\n')
			return usage_error(o->command, "-H %s: a CR or LF in a field would split the request",
			                   quote(arg, strlen(arg), q));
	if (o->n_fields == HC_MAX_FIELDS)
		return usage_error(o->command, "-H: at most %d fields", HC_MAX_FIELDS);
	char *name = strndup(arg, (size_t)(colon - arg));
	if (!name)
		return report_err(o->command, SK_ENOMEM);
	o->fields[o->n_fields].name = name;
	o->fields[o->n_fields].value = *value ? value : NULL;
	o->n_fields++;
	return EXIT_OK;
}

static bool is_token(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (!((c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
		      strchr("!#$%&'*+-.^_`|~", c)))
			return false;
	}
	return true;
}

static int tls_option(struct hc_opts *o, int code, const char *arg)
{
	char q[QUOTE_MAX];
	struct hc_tls_flags *t = &o->tls;
	switch (code) {
	case OPT_CAFILE: t->cafile = arg; break;
	case OPT_CAPATH: t->capath = arg; break;
	case OPT_INSECURE: t->insecure = true; break;
	case OPT_CERT: t->cert = arg; break;
	case OPT_KEY: t->key = arg; break;
	case OPT_ALPN: t->alpn = arg; break;
	case OPT_PIN:
		if (t->n_pins == HC_MAX_PINS)
			return usage_error(o->command, "--pin: at most %d pins", HC_MAX_PINS);
		if (strncmp(arg, "sha256:", 7) != 0)
			return usage_error(o->command, "--pin %s: expected sha256:BASE64",
			                   quote(arg, strlen(arg), q));
		t->pins[t->n_pins++] = arg;
		break;
	case OPT_TLS_MIN:
		if (strcmp(arg, "1.2") == 0)
			t->min_version = 0x0303;
		else if (strcmp(arg, "1.3") == 0)
			t->min_version = 0x0304;
		else
			return usage_error(o->command, "--tls-min %s: expected 1.2 or 1.3",
			                   quote(arg, strlen(arg), q));
		break;
	}
	return EXIT_OK;
}

static int add_output(struct hc_opts *o, enum hc_out_kind kind, const char *path)
{
	o->outputs[o->n_outputs].kind = kind;
	o->outputs[o->n_outputs].path = path;
	o->n_outputs++;
	return EXIT_OK;
}

/* One option; returns EXIT_OK or a status. */
static int option(struct hc_opts *o, int code, const char *arg)
{
	char q[QUOTE_MAX];
	unsigned long n;
	switch (code) {
	case 'X':
		if (!is_token(arg))
			return usage_error(o->command, "-X %s: a method is a token (GET, PATCH…)",
			                   quote(arg, strlen(arg), q));
		o->method = arg;
		o->method_given = true;
		return EXIT_OK;
	case 'H': return set_field(o, arg);
	case 'u': o->userpass = arg; return EXIT_OK;
	case 'A': o->user_agent = arg; return EXIT_OK;
	case 'd':
	case OPT_JSON:
		if (o->n_data && o->json != (code == OPT_JSON))
			return usage_error(o->command, "-d and --json do not mix");
		if (o->n_data == HC_MAX_DATA)
			return usage_error(o->command, "at most %d -d/--json", HC_MAX_DATA);
		o->json = code == OPT_JSON;
		o->data[o->n_data++] = arg;
		return EXIT_OK;
	case 'F':
		if (o->n_form == HC_MAX_FORM)
			return usage_error(o->command, "at most %d -F", HC_MAX_FORM);
		if (!strchr(arg, '=') || arg[0] == '=')
			return usage_error(o->command, "-F %s: expected NAME=VALUE or NAME=@FILE",
			                   quote(arg, strlen(arg), q));
		o->form[o->n_form++] = arg;
		return EXIT_OK;
	case 'o': return add_output(o, HC_OUT_FILE, arg);
	case 'O': return add_output(o, HC_OUT_REMOTE_NAME, NULL);
	case 'C':
		if (strcmp(arg, "-") != 0)
			return usage_error(o->command, "-C %s: only '-' (from the file's size) is supported",
			                   quote(arg, strlen(arg), q));
		o->resume = true;
		return EXIT_OK;
	case 'i': o->include = true; return EXIT_OK;
	case 'f': o->fail = true; return EXIT_OK;
	case 'L': o->location = true; return EXIT_OK;
	case OPT_MAX_REDIRS: {
		int st = parse_count(o->command, "--max-redirs", arg, 1000, &n);
		o->max_redirs = (unsigned)n;
		return st;
	}
	case OPT_CONNECT_TIMEOUT:
		return parse_seconds(o->command, "--connect-timeout", arg, &o->connect_timeout_ms);
	case 'm': return parse_seconds(o->command, "--max-time", arg, &o->max_time_ms);
	case OPT_COMPRESSED: o->compressed = true; return EXIT_OK;
	case 'w':
		if (strcmp(arg, "json") != 0)
			return usage_error(o->command, "-w %s: only 'json' is supported",
			                   quote(arg, strlen(arg), q));
		o->write_json = true;
		return EXIT_OK;
	case 'x': o->proxy = arg; return EXIT_OK;
	case OPT_NOPROXY: o->noproxy = arg; return EXIT_OK;
	case OPT_PROGRESS: o->progress = true; return EXIT_OK;
	case 's': o->silent = true; return EXIT_OK;
	case 'v': o->verbose = true; return EXIT_OK;
	case OPT_TRACE: o->trace = true; return EXIT_OK;
	case '4': o->family = AF_INET; return EXIT_OK;
	case '6': o->family = AF_INET6; return EXIT_OK;
	default: return tls_option(o, code, arg);
	}
}

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

bool hc_is_verb(const char *verb)
{
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		if (strcmp(verbs[i].verb, verb) == 0)
			return true;
	return false;
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
	return EXIT_OK;
}

int hc_parse_options(int argc, char **argv, struct hc_opts *o)
{
	struct option longs[N_OPTIONS + 1];
	char shorts[2 * N_OPTIONS + 1];
	size_t ns = 0;
	for (size_t i = 0; i < N_OPTIONS; i++) {
		longs[i] = (struct option){ table[i].name, table[i].has_arg, NULL, table[i].code };
		if (table[i].code < 256) {
			shorts[ns++] = (char)table[i].code;
			if (table[i].has_arg)
				shorts[ns++] = ':';
		}
	}
	longs[N_OPTIONS] = (struct option){ NULL, 0, NULL, 0 };
	shorts[ns] = '\0';

	size_t v = 0;
	while (v < sizeof verbs / sizeof verbs[0] && strcmp(verbs[v].verb, argv[0]) != 0)
		v++;
	if (v == sizeof verbs / sizeof verbs[0])
		return usage_error("http", "unknown command");
	o->verb = verbs[v].verb;
	o->command = verbs[v].command;
	o->method = verbs[v].method;
	o->max_redirs = 10;
	o->family = AF_UNSPEC;
	/* Lower case only: a CGI program's request sets HTTP_PROXY from a
	 * "Proxy:" header ("httpoxy"), so no client reads it (curl neither). */
	o->proxy = getenv("http_proxy");
	o->noproxy = getenv("no_proxy");
	if (!o->noproxy)
		o->noproxy = getenv("NO_PROXY");

	/* No more URLs or outputs than arguments. */
	o->urls = calloc((size_t)argc, sizeof *o->urls);
	o->outputs = calloc((size_t)argc, sizeof *o->outputs);
	if (!o->urls || !o->outputs)
		return report_err(o->command, SK_ENOMEM);
	int ch, st;
	optind = 1;
	while ((ch = next_option(o->command, argc, argv, shorts, longs)) != -1) {
		if (ch == -2)
			return EXIT_USAGE;
		if (ch == 'h') {
			print_help();
			return -1;
		}
		if ((st = option(o, ch, optarg)) != EXIT_OK)
			return st;
	}
	for (int i = optind; i < argc; i++) {
		if (verbs[v].takes_file && i == argc - 1 && i > optind) {
			o->put_file = argv[i];
			break;
		}
		o->urls[o->n_urls++] = argv[i];
	}
	return check(o, verbs[v].many_urls, verbs[v].takes_file);
}

void hc_free_options(struct hc_opts *o)
{
	for (size_t i = 0; i < o->n_fields; i++)
		free((char *)o->fields[i].name);
	free(o->urls);
	free(o->outputs);
}
