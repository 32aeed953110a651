/* What the sockit program's files share: the command table's entry type,
 * exit statuses, error reporting and buffered output. */
#ifndef SOCKIT_CLI_H
#define SOCKIT_CLI_H

#include <stdbool.h>
#include <stddef.h>

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

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
	const char *usage; /* the full --help text */
};

/* Defined in main.c: the table and a lookup by name. */
const struct command *find_command(const char *name);

/* One entry point and one usage text per subcommand, each in its own file. */
int cmd_ip(int argc, char **argv);
int cmd_port(int argc, char **argv);
int cmd_tcp(int argc, char **argv);
int cmd_udp(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_http(int argc, char **argv);
int cmd_help(int argc, char **argv);
extern const char ip_usage[], port_usage[], help_usage[], tcp_usage[], udp_usage[],
	serve_usage[], http_usage[];
/* The everyday network commands (issue 13). */
int cmd_ifaces(int argc, char **argv);
int cmd_arp(int argc, char **argv);
int cmd_ping(int argc, char **argv);
int cmd_scan(int argc, char **argv);
extern const char ifaces_usage[], arp_usage[], ping_usage[], scan_usage[];

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

/* --- option helpers ---------------------------------------------------------- */

/* True if arg is "-h" or "--help". */
bool is_help(const char *arg);

struct option;
/* getopt_long with messages in our format: returns the next option, -1 at the
 * end, or -2 after reporting a usage error. GNU argument permutation stays on:
 * options may follow operands (`sockit ip 10.0.0.1 --json`). */
int next_option(const char *command, int argc, char **argv, const char *shorts,
                const struct option *longs);

/* --- netcli.c: shared by the network commands ------------------------------ */

/* "1.5" -> 1500 ms. Reports a usage error (returns EXIT_USAGE) for anything
 * but a number of seconds from 0 to 86400. */
int parse_seconds(const char *command, const char *option, const char *text, unsigned *ms_out);

/* A whole number 0..max, or a usage error. */
int parse_count(const char *command, const char *option, const char *text, unsigned long max,
                unsigned long *out);

/* Resolves host and port, reporting failure in our words: an unknown name
 * exits 3, a bad port number 2. Returns EXIT_OK or the exit status. */
int resolve_or_report(const char *command, const char *host, const char *port, int family,
                      int socktype, bool passive, struct sk_addr *out, size_t max, size_t *n_out);

/* Which of the resolved addresses a server binds: with no address and no
 * -4/-6 given, the IPv6 wildcard (dual-stack), else the first. */
size_t pick_listen_addr(const struct sk_addr *addrs, size_t n, const char *bind_addr, int family);

/* The datagram servers' words for what they did not answer: with -v one
 * line per datagram ("sockit: CONTEXT: ADDR: N bytes not answered: WHY"),
 * and at exit one line of counts, if any. */
void report_drop(const char *context, enum sk_dgram_drop why, const struct sk_addr *from,
                 size_t len);
void report_drop_counts(const char *context, const struct sk_dgram_server *server);

/* Writes --trace lines to stderr. */
extern const struct sk_tracer stderr_tracer;

/* Moves the loop's stream I/O to io_uring unless SOCKIT_IO_URING=0 is set;
 * where the kernel refuses (too old, or io_uring_disabled), epoll does the
 * same work and nothing is said. */
struct sk_loop;
void loop_prefer_io_uring(struct sk_loop *loop);

/* Prints a command's usage to stdout and returns EXIT_OK. */
int print_usage(const struct command *cmd);

#endif
