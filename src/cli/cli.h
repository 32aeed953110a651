/* What the sockit program's files share: the command table's entry type,
 * exit statuses, error reporting and buffered output. */
#ifndef SOCKIT_CLI_H
#define SOCKIT_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include <sockit/dgram.h>
#include <sockit/sockit.h>

/* Exit statuses: --help, sockit(1) and tests/integration agree on these. */
enum exit_status {
	EXIT_OK = 0,
	EXIT_FAIL = 1,     /* the answer is "no", or some inputs of a batch failed */
	EXIT_USAGE = 2,    /* bad flags or arguments, invalid input on the command line */
	EXIT_RESOLVE = 3,  /* a host or service name not found */
	EXIT_NETWORK = 4,  /* bind, connect, reset */
	EXIT_TIMEOUT = 5,
	EXIT_PEER = 6,     /* bad data from a peer, HTTP error status */
	EXIT_LOCAL = 7,    /* a local file or permission */
};

/* A command's help: prose and option tables (opts.c) in order, ending with {0}. */
struct opt_cmd;
struct help_part {
	const char *text;
	const struct opt_cmd *opts;
};

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
	const struct help_part *help; /* the full --help text: prose and option tables */
};

/* Defined in main.c: the table and a lookup by name. */
extern const struct command commands[];
extern const size_t n_commands;
const struct command *find_command(const char *name);

/* One entry point and one help text per subcommand, each in its own file. */
int cmd_ip(int argc, char **argv);
int cmd_port(int argc, char **argv);
int cmd_tcp(int argc, char **argv);
int cmd_udp(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_http(int argc, char **argv);
int cmd_help(int argc, char **argv);
int cmd_ifaces(int argc, char **argv);
int cmd_arp(int argc, char **argv);
int cmd_ping(int argc, char **argv);
int cmd_scan(int argc, char **argv);
extern const struct help_part ip_help[], port_help[], help_help[], tcp_help[], udp_help[],
	serve_help[], http_help[], ifaces_help[], arp_help[], ping_help[], scan_help[],
	resolve_help[], dns_help[];

/* --- report.c: the one place that turns errors into words and statuses --- */

/* Prints "sockit: <context>: <message>" on stderr. */
void report(const char *context, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "sockit: <context>: <reason of err>" and returns err's exit status. */
int report_err(const char *context, int err);

/* The exit status for an SK_E* code. */
int exit_status_of(int err);

/* sk_strerror(err) with its first letter lowered, as our messages read. */
const char *reason_of(int err, char *buf, size_t cap);

/* A usage error: prints the message and a pointer to --help; returns EXIT_USAGE. */
int usage_error(const char *command, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Room for any quote() result. */
#define QUOTE_MAX 160

/* Writes p as 'text' for a message: control and non-ASCII bytes as \xNN, so a
 * message stays on one line whatever the input held, and input longer than
 * about 120 bytes cut with "..." before the closing quote. buf holds
 * QUOTE_MAX bytes; returns buf. */
const char *quote(const char *p, size_t len, char *buf);

/* Describes why an address or prefix failed to parse: the rule it broke and,
 * when it is a part of the input, the part ("octet is greater than 255: '256'"). */
void describe_parse_error(int err, const char *input, size_t input_len, struct sk_slice bad,
                          char *buf, size_t cap);

/* --- out.c: buffered stdout that reports write errors once ----------------- */

struct out {
	char *buf;
	size_t len, cap;
	int fd;
	int err; /* first write error (negative errno), then writes are dropped */
};

void out_init(struct out *o, int fd, char *buf, size_t cap);

/* The one writer for stdout: every command prints its data through it, so
 * one place sees every write error. context ("udp listen") names the writer
 * in the error line; NULL keeps the last one given. */
struct out *out_stdout(const char *context);

/* main()'s last step: flushes stdout's writer (and stdio's stdout). If a
 * write failed, prints "sockit: <context>: stdout: <reason>" and returns
 * EXIT_FAIL, or status if that already says the run failed. A closed pipe
 * (EPIPE) is how a reader such as `head -1` ends a pipeline: status, silently. */
int out_stdout_finish(int status);
int out_flush(struct out *o);
void out_write(struct out *o, const void *p, size_t len);
void out_str(struct out *o, const char *s);
void out_char(struct out *o, char c);
void out_printf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void out_uint(struct out *o, unsigned long long v);

/* Writes bytes as the inside of a JSON string: escapes quotes, backslashes and
 * control characters, and replaces bytes that are not UTF-8 with U+FFFD so the
 * output always parses. */
void out_json_str(struct out *o, const char *p, size_t len);

/* Writes bytes for a terminal: printable ASCII and valid UTF-8 as they are,
 * \n \r \t \\ as C escapes, every other byte as \xNN. */
void out_escaped(struct out *o, const char *p, size_t len);

/* Room for n bytes at the end of the buffer (flushing first if needed); the
 * caller writes them and calls out_commit(). n must be at most cap. */
char *out_reserve(struct out *o, size_t n);
void out_commit(struct out *o, size_t n);

/* --- opts.c: option tables, read by the parser and by --help ------------- */

/* Each subcommand's options are one table of struct opt (git's
 * parse-options): the parser and the help text both read it, so an option
 * cannot be parsed without being documented or documented without being
 * parsed. A destination is an offset into the command's own struct, so the
 * tables are constant and `sockit help --options-json` can list them all. */
enum opt_kind {
	OPT_END = 0,
	OPT_FLAG,    /* sets a bool */
	OPT_STRING,  /* stores the argument (a const char *) */
	OPT_SECONDS, /* "1.5" -> 1500 in an unsigned (ms), 0-86400 s */
	OPT_COUNT,   /* a whole number 0..n in an unsigned long */
	OPT_CALL,    /* fn(ps, arg); n is the value the handler reads (a mode) */
};

struct parse;
typedef int opt_fn(struct parse *ps, const char *arg);

struct opt {
	enum opt_kind kind;
	char short_name;      /* 0: none */
	const char *long_name; /* NULL: none */
	const char *arg_name; /* NULL: takes no value */
	const char *help;
	size_t off;           /* the destination, an offset into the command's struct */
	unsigned long n;      /* OPT_COUNT's maximum; OPT_CALL's value */
	opt_fn *fn;
	unsigned modes;       /* the modes (bits the command defines) it works in; 0: all */
	const char *modes_text; /* "--reply and --chat": why it is refused elsewhere */
};

/* Only compiles when type's field has type t: a table entry cannot write
 * a bool into an unsigned. */
#define OPT_OFF(type, field, t) \
	(offsetof(type, field) + 0 * sizeof(char[_Generic(((type *)0)->field, t: 1, default: -1)]))

#define OPT_FLAG_(s, l, type, field, h) \
	{ OPT_FLAG, s, l, NULL, h, OPT_OFF(type, field, bool), 0, NULL, 0, NULL }
#define OPT_STRING_(s, l, a, type, field, h) \
	{ OPT_STRING, s, l, a, h, OPT_OFF(type, field, const char *), 0, NULL, 0, NULL }
#define OPT_SECONDS_(s, l, type, field, h) \
	{ OPT_SECONDS, s, l, "SECS", h, OPT_OFF(type, field, unsigned), 0, NULL, 0, NULL }
#define OPT_COUNT_(s, l, a, max, type, field, h) \
	{ OPT_COUNT, s, l, a, h, OPT_OFF(type, field, unsigned long), max, NULL, 0, NULL }
#define OPT_CALL_(s, l, a, fn, value, h) { OPT_CALL, s, l, a, h, 0, value, fn, 0, NULL }
#define OPT_FAMILY_(s, type, field, value, h) \
	{ OPT_CALL, s, NULL, NULL, h, OPT_OFF(type, field, int), value, opt_family, 0, NULL }
#define OPT_END_ { OPT_END, 0, NULL, NULL, NULL, 0, 0, NULL, 0, NULL }

/* An option of another tool that users type out of habit, and what to
 * write instead: "-l" -> "'tcp listen' already listens ...". */
struct opt_hint {
	const char *typed;
	const char *text;
};

/* Hints every network command gives for nc's and ncat's options. */
#define HINT_N { "-n", "numeric addresses are never looked up: leave -n out" }
#define HINT_Z { "-z", "to scan ports use 'sockit scan HOST PORTS'" }

/* One subcommand's options. */
struct opt_cmd {
	const char *name;         /* "tcp listen": the context of its messages */
	const char *help_name;    /* "tcp": the command whose help -h prints */
	const struct opt *opts;
	const struct opt_hint *hints; /* NULL-terminated, or NULL */
};

/* Room for the options of one table. */
#define OPT_MAX 48

struct parse {
	const struct opt_cmd *cmd;
	void *base;                /* the command's struct, which offsets point into */
	const struct opt *opt;     /* the option being handled */
	const char *typed;         /* as the user wrote it: "-w" or "--wait" */
	char **operands;           /* what is not an option, in order */
	int n_operands;
	char seen[OPT_MAX][24];    /* per option: how it was last written, "" if not */
};

/* Returned by parse_options after printing the help text (-h, --help). */
#define PARSE_HELP (-1)

/* Parses argv[1..argc) (argv[0] is the subcommand's name) against cmd's
 * table into base. Options may follow operands (`sockit ip 10.0.0.1
 * --json`); "--" ends the options. Long options may be abbreviated to a
 * unique prefix. -h and --help (also in a cluster, -qh, or abbreviated,
 * --he, unless the table has a -h or --h... of its own) print the help.
 * Returns 0, PARSE_HELP, or EXIT_USAGE after reporting the option as it was
 * typed (with the table's hint for other tools' habits). */
int parse_options(struct parse *ps, const struct opt_cmd *cmd, int argc, char **argv, void *base);

/* True if arg ("-s", "--split", "-js") is an option of cmd whose value is
 * the next argument: for looking ahead in argv before parsing it. */
bool opt_takes_next(const struct opt_cmd *cmd, const char *arg);

/* How an option was written, or NULL if it was not: the name for messages. */
const char *opt_seen(const struct parse *ps, const char *long_name);

/* Refuses an option given for a mode it does nothing in: "--frame is for
 * --reply and --chat". mode_bit is the chosen mode's bit. Returns 0 or
 * EXIT_USAGE. */
int check_modes(const struct parse *ps, unsigned mode_bit);

/* -4, -6 (OPT_FAMILY_): stores n, AF_INET or AF_INET6, in the int at off. */
int opt_family(struct parse *ps, const char *arg);

/* The destination of the option being handled. */
#define OPT_DEST(ps, t) ((t *)((char *)(ps)->base + (ps)->opt->off))

/* Writes the help text: prose as written, each table as one line per
 * option (wrapped to 80 columns). */
void print_help(struct out *o, const struct help_part *parts);

/* `sockit help --options-json`: every table's options as JSON Lines, for
 * the docs test (hidden: not a user's tool). */
void print_options_json(struct out *o);

/* True if arg is "-h" or "--help". */
bool is_help(const char *arg);

/* --- netcli.c: shared by the network commands ------------------------------ */

/* "1.5" -> 1500 ms. Reports a usage error (returns EXIT_USAGE) for anything
 * but a number of seconds from 0 to 86400. */
int parse_seconds(const char *command, const char *option, const char *text, unsigned *ms_out);

/* A whole number 0..max, or a usage error. */
int parse_count(const char *command, const char *option, const char *text, unsigned long max,
                unsigned long *out);

/* Resolves host and port, reporting failure in our words: an unknown name
 * exits 3, a bad port number 2. An IPv6 address may come in brackets, as
 * in a URL ("[::1]"). Returns EXIT_OK or the exit status. */
int resolve_or_report(const char *command, const char *host, const char *port, int family,
                      int socktype, bool passive, struct sk_addr *out, size_t max, size_t *n_out);

/* A server's socket could not be bound to addr: "COMMAND: ADDR: REASON"
 * ("serve: tcp ADDR" for serve's services), saying for EACCES on a port
 * below the unprivileged range that it needs root or CAP_NET_BIND_SERVICE.
 * Returns the exit status (7 for that). */
int report_bind_err(const char *command, const struct sk_addr *addr, int err);

/* Which of the resolved addresses a server binds: with no address and no
 * -4/-6 given, the IPv6 wildcard (dual-stack), else the first. */
size_t pick_listen_addr(const struct sk_addr *addrs, size_t n, const char *bind_addr, int family);

/* The datagram servers' words for what they did not answer: with -v one
 * line per datagram ("sockit: CONTEXT: ADDR: N bytes not answered: WHY"),
 * and at exit one line of counts, if any. */
void report_drop(const char *context, enum sk_dgram_drop why, const struct sk_addr *from,
                 size_t len);
void report_drop_counts(const char *context, const struct sk_dgram_server *server);

/* What a stream server said about a client before closing it (a message
 * over the limit, too slow, its command's exit), kept until the client's
 * SK_STREAM_CLOSED so that it is logged closed once, with the real reason. */
#define CLOSE_NOTES 16
struct close_notes {
	struct {
		struct sk_addr peer;
		char what[80]; /* "closed: message over the size limit" */
	} slot[CLOSE_NOTES];
	unsigned next;
};

/* Keeps what for peer's coming close. */
void close_note(struct close_notes *n, const struct sk_addr *peer, const char *what);

/* The log line's end for peer's close with err: "closed", "closed: idle
 * timeout", "closed: reset by the client", "closed: command exited with
 * status 3", or what was noted. exec: the server runs --exec. */
const char *close_reason(struct close_notes *n, const struct sk_addr *peer, int err, bool exec,
                         char *buf, size_t cap);

/* Notes the stream events that precede a close (BAD_DATA, DROPPED_SLOW,
 * EXEC_EXITED); false for the others. */
bool close_note_event(struct close_notes *n, int ev, const struct sk_addr *peer, int err);

/* Writes --trace lines to stderr. */
extern const struct sk_tracer stderr_tracer;

/* Moves the loop's stream I/O to io_uring unless SOCKIT_IO_URING=0 is set;
 * where the kernel refuses (too old, or io_uring_disabled), epoll does the
 * same work and nothing is said. */
struct sk_loop;
void loop_prefer_io_uring(struct sk_loop *loop);

/* Prints a command's help to stdout and returns EXIT_OK. */
int print_usage(const struct command *cmd);

#endif
