/* `sockit http get|head|put|post|delete`: what the client's files share.
 *
 *   http_client_opts.c   the option table (parser and --help), the checks
 *                        of their combinations
 *   http_client_body.c   request bodies (-d, --json, -F, put FILE) and the
 *                        fields of each request (credentials per origin)
 *   http_client_out.c    where a body goes (stdout, -o through a temporary
 *                        file, -C - in place), -i, -v, the progress bar, -w
 *   http_client.c        the run: URLs in turn, redirects, timeouts, exit
 *                        statuses */
#ifndef SOCKIT_HTTP_CLIENT_CLI_H
#define SOCKIT_HTTP_CLIENT_CLI_H

#include "cli.h"
#include "tlscli.h"

#include <stdio.h>
#include <sys/types.h>

#include <sockit/conn.h>
#include <sockit/http_client.h>

#define HC_MAX_FIELDS 64   /* -H given */
#define HC_MAX_DATA 64     /* -d / --json given */
#define HC_MAX_FORM 64     /* -F given */

enum hc_out_kind { HC_OUT_STDOUT, HC_OUT_FILE, HC_OUT_REMOTE_NAME };

struct hc_output {
	enum hc_out_kind kind;
	const char *path; /* HC_OUT_FILE */
};

struct hc_opts {
	const char *command;          /* "http get" */
	const char *verb;             /* "get" */
	const char *method;           /* the command's, or -X's */
	bool method_given;            /* -X */
	struct sk_http_field fields[HC_MAX_FIELDS]; /* -H as given; value NULL: remove */
	size_t n_fields;
	const char *user_agent;       /* -A */
	const char *userpass;         /* -u */
	const char *data[HC_MAX_DATA]; /* -d, --json values, in order */
	size_t n_data;
	bool json;                    /* --json */
	const char *form[HC_MAX_FORM]; /* -F */
	size_t n_form;
	const char *put_file;         /* put's FILE ("-": stdin) */
	const char **urls;            /* the operands: argv's strings */
	size_t n_urls;
	struct hc_output *outputs;    /* -o / -O, in order: the nth for the nth URL */
	size_t n_outputs;
	bool resume;                  /* -C - */
	bool include, silent, verbose, trace, fail, location, compressed, progress;
	unsigned long max_redirs;
	unsigned connect_timeout_ms, max_time_ms;
	bool write_json;              /* -w json */
	const char *proxy;            /* --proxy */
	const char *http_proxy;       /* for http://: --proxy, or http_proxy; NULL or "": none */
	const char *https_proxy;      /* for https://: --proxy, or https_proxy, HTTPS_PROXY */
	const char *noproxy;          /* --noproxy, or no_proxy / NO_PROXY */
	int family;
	struct tlscli tls;            /* the https:// flags; the config is built at the
	                                 first https:// URL (loading the CAs costs a small
	                                 http:// GET a third of its time) */
};

/* http_client_opts.c: the option table, for http_help (http.c). */
extern const struct opt_cmd hc_client_cmd;

/* http_client.c: `sockit http VERB ...` (argv[0] is the verb). */
int cmd_http_client(int argc, char **argv);

/* True for the verbs cmd_http_client runs. */
bool hc_is_verb(const char *verb);

/* http_client_opts.c: fills o from argv (argv[0] is the verb). Returns
 * EXIT_OK, PARSE_HELP after printing --help, or the status to exit with
 * (usage errors are reported). hc_free_options frees what it allocated, in
 * every case. */
int hc_parse_options(int argc, char **argv, struct hc_opts *o);
void hc_free_options(struct hc_opts *o);

/* --- http_client_body.c --------------------------------------------------- */

/* A request body: parts in memory or file ranges, or stdin streamed. */
struct hc_body {
	struct sk_http_body_part parts[3 * HC_MAX_FORM + 2 * HC_MAX_DATA + 2];
	size_t n_parts;
	char *mem[2 * HC_MAX_FORM + 2 * HC_MAX_DATA + 2]; /* what the parts point into */
	size_t n_mem;
	int fds[HC_MAX_FORM + HC_MAX_DATA + 1];
	size_t n_fds;
	bool stream_stdin;            /* put URL - */
	const char *content_type;     /* NULL: none of ours */
	char boundary[64];
	char type[128];               /* multipart/form-data; boundary=... */
};

/* Builds the body the options ask for. Returns EXIT_OK, or the status of a
 * reported error (7 for a file that cannot be read). */
int hc_body_build(const struct hc_opts *o, struct hc_body *b);
void hc_body_free(struct hc_body *b);
bool hc_body_empty(const struct hc_body *b);

/* The fields of one request: ours (User-Agent, Accept, the body's type,
 * Basic credentials from userpass[0..userpass_len) if not NULL, Range from
 * range_from if not 0), then -H's, which replace or drop ours of the same
 * name; -H Authorization and Cookie only when send_credentials. Strings
 * live in *out or in o. */
struct hc_fields {
	struct sk_http_field f[HC_MAX_FIELDS + 8];
	size_t n;
	char auth[1024], range[64], agent[64];
};
void hc_fields_build(const struct hc_opts *o, const struct hc_body *body, const char *userpass,
                     size_t userpass_len, bool send_credentials, uint64_t range_from,
                     struct hc_fields *out);

/* --- http_client_out.c ---------------------------------------------------- */

/* Where one URL's final body goes. */
struct hc_sink {
	const char *command;
	enum hc_out_kind kind;
	char path[4096];              /* the file's name (-o, -O) */
	char tmp[4096 + 32];          /* the temporary name, while writing through it */
	int fd;                       /* -1: closed (or stdout: STDOUT_FILENO) */
	bool in_place;                /* -C -: writing FILE itself */
	bool discard;                 /* --fail on an error status, a redirect hop */
	uint64_t resume_from;         /* -C -: FILE's size before */
	uint64_t written;
	int err;                      /* the first write error */
};

/* Prepares the sink for url's output before anything is sent: -O's name,
 * a directory that exists, -C -'s size. Returns EXIT_OK or a reported
 * status. */
int hc_sink_prepare(struct hc_sink *s, const char *command, const struct hc_output *out,
                    const struct sk_url *url, bool resume);
/* Opens for the final response: truncate (a 200 to a resume), append
 * (206), or a fresh temporary file. Returns 0 or a negative errno. */
int hc_sink_open(struct hc_sink *s, bool append, bool truncate);
/* Writes; a failure is kept in s->err (and returns it). */
int hc_sink_write(struct hc_sink *s, const void *p, size_t len);
/* The transfer is over: ok renames a temporary file into place; else it
 * is removed (a -C - file keeps what arrived). Returns 0 or a negative
 * errno (rename, close). */
int hc_sink_close(struct hc_sink *s, bool ok);
/* The name to show for the sink in messages: "-o 'x'". */
const char *hc_sink_name(const struct hc_sink *s, char *buf, size_t cap);

/* -v: a head as "> " or "< " lines on stderr, escaped. */
void hc_print_head(char mark, struct sk_slice head);

/* CLOCK_MONOTONIC in µs. */
uint64_t hc_now_us(void);

/* The progress bar on stderr. */
struct hc_progress {
	bool on;
	uint64_t start_us, last_us, total; /* total: UINT64_MAX if unknown */
	uint64_t done;
	bool drawn;
};
void hc_progress_start(struct hc_progress *p, bool on, uint64_t total, uint64_t already);
void hc_progress_update(struct hc_progress *p, uint64_t done, bool final);

/* -w json: one object per URL. */
struct hc_hop {
	char url[SK_URL_TEXT_MAX];
	unsigned status;
	struct sk_http_timing timing;
};

struct hc_report {
	const char *url_given;
	const char *method;
	struct hc_hop *hops;          /* every response's request, the final one last */
	size_t n_hops;
	const struct sk_http_response *res; /* the final head, or NULL */
	uint64_t body_bytes;          /* written to the output */
	uint64_t total_us;
	int exit_status;
	const char *error;            /* the message, or NULL */
	const char *output;           /* the file, or NULL for stdout */
	const struct sk_tls_info *tls; /* https://: the final response's connection, or NULL */
};
void hc_write_json(struct out *o, const struct hc_report *r);

/* --- http_client.c: a run, and the job of each URL ------------------------- */

struct hc_run;

/* One URL: one or more hops (redirects), then its final response's body
 * into its sink. */
struct hc_job {
	struct hc_run *run;
	const char *given;            /* the URL as typed */
	struct sk_url first;          /* the origin credentials belong to */
	struct sk_url url;            /* this hop's */
	const struct sk_url *proxy;   /* this hop's proxy, or NULL */
	const char *method;           /* this hop's */
	bool with_body;               /* this hop sends the body */
	unsigned n_redirects;
	struct hc_hop *hops;          /* grows by one per hop */
	size_t n_hops;
	struct sk_http_exchange *ex;
	struct hc_fields fields;
	struct hc_sink sink;
	bool following;               /* this response is a redirect we follow */
	struct sk_url next;           /* where it goes */
	int next_err;                 /* its Location did not parse */
	struct sk_http_gunzip *gz;
	struct hc_progress progress;
	uint64_t body_in;             /* body bytes of the final response received */
	struct sk_timer deadline;     /* --max-time */
	bool timed_out;
	int local_err;                /* the sink or stdin failed: exit 7 */
	const char *local_what;       /* "stdin", or NULL for the sink */
	int resume_err;               /* a 206/416 that does not fit the file */
	bool already_complete;        /* 416 to a resume of a complete file */
	bool head_is_output;          /* -i, or the head command */
	bool has_tls;                 /* tls holds the final response's connection's TLS */
	struct sk_tls_info tls;
	uint64_t start_us;
	char error[1024];             /* what went wrong, for -w json */
	int status;                   /* this URL's exit status */
};

/* The invocation: every URL in turn through one client. */
struct hc_run {
	struct hc_opts o;
	struct hc_body body;
	struct sk_loop *loop;
	struct sk_http_client *client;
	struct sk_url http_proxy, https_proxy; /* for http:// and https:// URLs */
	bool has_http_proxy, has_https_proxy;
	bool tls_ready;               /* o.tls's config is built and the client's */
	size_t url_i;
	int status;                   /* the last failure's exit status */
	struct hc_job job;
	struct sk_conn *stdin_conn;   /* put URL - */
	bool stdin_paused, stdin_done;
	bool interrupted;
	bool stderr_is_tty;           /* asked once, not per URL */
};


/* --- http_client_report.c: the words for outcomes ------------------------- */

/* "sockit: COMMAND: 'URL': text" on stderr; keeps the text for -w json and
 * sets the job's exit status. */
void hc_url_error(struct hc_job *job, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A note (unless -s), and a -v line ("* text"). */
void hc_note(const struct hc_run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void hc_verbose(const struct hc_run *run, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* An exchange that ended with err. */
void hc_transfer_error(struct hc_job *job, struct sk_http_exchange *ex, int err);
/* An exchange that went well: its status, and what it meant for a resume. */
void hc_response_status(struct hc_job *job, const struct sk_http_response *res);

/* --- http_client_body.c: stdin as a streamed body (put URL -) ------------ */

/* The exchange's on_body_want: starts reading stdin, or resumes it. */
void hc_on_body_want(struct sk_http_exchange *ex, void *ud);

#endif
