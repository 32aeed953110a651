/* logq: a log written without ever blocking the loop (logq.c). */
#ifndef SOCKIT_CLI_LOGQ_H
#define SOCKIT_CLI_LOGQ_H

#include <stdbool.h>
#include <stddef.h>

#include <sockit/loop.h>

struct logq {
	const char *context;       /* "http serve": messages read "sockit: http serve: ..." */
	const char *what;          /* "access log" */
	const char *name;          /* the log's name for messages: a FILE, or "stderr" */
	struct sk_loop *loop;
	int fd;                    /* our own description of the destination */
	bool is_socket, is_file, watched;
	char *buf;
	size_t len, cap;
	unsigned long long n_lines_queued; /* lines in buf */
	unsigned long long n_dropped;      /* no room: the reader fell behind */
	unsigned long long n_lost;         /* not written after a write error */
	int err;                           /* the first write error; then nothing is written */
};

/* Messages read "sockit: CONTEXT: WHAT 'NAME': ..."; the strings are
 * borrowed. */
void logq_init(struct logq *q, const char *context, const char *what, const char *name);
/* Writes to fd (not taken: the queue writes through its own description).
 * Returns 0 or a negative errno. */
int logq_open(struct logq *q, struct sk_loop *loop, int fd);
/* Queues one line (a newline is added); never blocks. */
void logq_line(struct logq *q, const char *line);
/* Writes what is left for at most wait_ms, closes, and reports lines lost
 * or dropped on stderr. Returns 1 if any were, else 0. */
int logq_close(struct logq *q, int wait_ms);

#endif
