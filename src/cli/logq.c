/* A log that never blocks the server: lines go into a bounded buffer and
 * out through a non-blocking description of the destination when it takes
 * them. A reader that stops reading (stderr on a pipe nobody drains: every
 * client hung after 912 requests when the server wrote to it directly)
 * costs lines, counted and reported, never service. */
#include "logq.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* Lines waiting for a slow reader: a few thousand access-log lines. */
#define LOGQ_CAP (1024 * 1024)

/* A description of fd's file of our own with O_NONBLOCK, so that setting
 * it does not change the shell's (a terminal left non-blocking breaks the
 * next program). Pipes and terminals are reopened through /proc; sockets
 * take MSG_DONTWAIT per send; regular files do not block on a reader. */
static int open_nonblocking(int fd, bool *is_socket, bool *is_file)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	*is_socket = S_ISSOCK(st.st_mode);
	*is_file = S_ISREG(st.st_mode) || S_ISBLK(st.st_mode);
	if (*is_socket || *is_file) {
		int d = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		return d < 0 ? -errno : d;
	}
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	int d = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (d >= 0)
		return d;
	/* No /proc: our own dup, blocking. Better late lines than a changed
	 * terminal. */
	d = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	return d < 0 ? -errno : d;
}

void logq_init(struct logq *q, const char *context, const char *what, const char *name)
{
	memset(q, 0, sizeof *q);
	q->fd = -1;
	q->context = context;
	q->what = what;
	q->name = name;
}

int logq_open(struct logq *q, struct sk_loop *loop, int fd)
{
	int d = open_nonblocking(fd, &q->is_socket, &q->is_file);
	if (d < 0)
		return d;
	q->buf = malloc(LOGQ_CAP);
	if (!q->buf) {
		close(d);
		return -ENOMEM;
	}
	q->cap = LOGQ_CAP;
	q->fd = d;
	q->loop = loop;
	return 0;
}

static void report_write_error(struct logq *q)
{
	char reason[128], ctx[QUOTE_MAX + 32], qt[QUOTE_MAX];
	snprintf(ctx, sizeof ctx, "%s: %s %s", q->context, q->what, quote(q->name, strlen(q->name), qt));
	report(ctx, "%s (still serving; lines are dropped from now on)",
	       reason_of(q->err, reason, sizeof reason));
}

static void on_writable(struct sk_loop *loop, int fd, unsigned events, void *ud);

/* Writes what the destination takes now; watches it for room if it is
 * full. */
static void drain(struct logq *q)
{
	size_t off = 0;
	while (off < q->len && !q->err) {
		ssize_t n = q->is_socket ? send(q->fd, q->buf + off, q->len - off, MSG_DONTWAIT | MSG_NOSIGNAL)
		                         : write(q->fd, q->buf + off, q->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			/* A full disk, a reader that closed: the rest is lost. */
			q->err = n < 0 ? -errno : -EIO;
			report_write_error(q);
			break;
		}
		off += (size_t)n;
	}
	if (q->err) {
		q->n_lost += q->n_lines_queued;
		q->n_lines_queued = 0;
		q->len = 0;
	} else {
		memmove(q->buf, q->buf + off, q->len - off);
		q->len -= off;
		if (q->len == 0)
			q->n_lines_queued = 0;
	}
	bool want = q->len > 0 && !q->err;
	if (want && !q->watched && !q->is_file) {
		/* In the background: a log nobody reads does not keep a stopping
		 * server running. */
		if (sk_loop_add_fd(q->loop, q->fd, SK_EV_WRITE | SK_EV_BACKGROUND, on_writable, q) == 0)
			q->watched = true;
	} else if (!want && q->watched) {
		sk_loop_del_fd(q->loop, q->fd);
		q->watched = false;
	}
}

static void on_writable(struct sk_loop *loop, int fd, unsigned events, void *ud)
{
	(void)loop;
	(void)fd;
	(void)events;
	drain(ud);
}

void logq_line(struct logq *q, const char *line)
{
	if (q->fd < 0)
		return;
	if (q->err) {
		q->n_lost++;
		return;
	}
	size_t n = strlen(line);
	if (n + 1 > q->cap - q->len) {
		/* The reader is this far behind: drop the line, count it. */
		q->n_dropped++;
		return;
	}
	memcpy(q->buf + q->len, line, n);
	q->buf[q->len + n] = '\n';
	q->len += n + 1;
	q->n_lines_queued++;
	if (!q->watched)
		drain(q);
}

/* What is left, for at most wait_ms (a reader that never reads does not
 * hold the exit). */
static void flush_for(struct logq *q, int wait_ms)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (q->watched) {
			sk_loop_del_fd(q->loop, q->fd);
			q->watched = false;
		}
		if (!q->len || q->err)
			return;
		q->is_file = true; /* drain() must not watch: we poll here */
		drain(q);
		if (!q->len || q->err)
			return;
		clock_gettime(CLOCK_MONOTONIC, &t);
		long spent = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (spent >= wait_ms)
			return;
		struct pollfd p = { .fd = q->fd, .events = POLLOUT };
		poll(&p, 1, (int)(wait_ms - spent));
	}
}

int logq_close(struct logq *q, int wait_ms)
{
	if (q->fd < 0)
		return 0;
	flush_for(q, wait_ms);
	q->n_dropped += q->n_lines_queued;
	if (q->watched)
		sk_loop_del_fd(q->loop, q->fd);
	if (close(q->fd) < 0 && !q->err && errno != EINTR) {
		q->err = -errno; /* NFS reports a failed write at close */
		report_write_error(q);
	}
	q->fd = -1;
	free(q->buf);
	q->buf = NULL;
	char qt[QUOTE_MAX];
	int failed = 0;
	if (q->n_dropped) {
		report(q->context, "%s %s: %llu line%s dropped (its reader could not keep up)", q->what,
		       quote(q->name, strlen(q->name), qt), q->n_dropped, q->n_dropped == 1 ? "" : "s");
		failed = 1;
	}
	if (q->err) {
		report(q->context, "%s %s: %llu line%s not written", q->what,
		       quote(q->name, strlen(q->name), qt), q->n_lost, q->n_lost == 1 ? "" : "s");
		failed = 1;
	}
	return failed;
}
