/* The disk side of uploads, on the loop's worker threads.
 *
 * An upload's body turns into a list of steps — create an unnamed file,
 * append bytes, commit the file under its name — that the connection queues
 * as bytes arrive and a worker carries out in order, one batch at a time.
 * The loop never waits for the disk: a multipart POST of 20,000 parts, each
 * an fsync + link + fsync of the directory, froze every other client for
 * up to 9.9 s when those ran on the loop. Bytes are appended in the batch's
 * buffer, so a body of a million 1-byte chunks is a few big writes, not a
 * million small ones.
 *
 * Durability as before: the bytes go to an O_TMPFILE file, which is fsynced
 * and only then linked in under its name (a rename over the old file when
 * it replaces one: atomic), and the directory is fsynced once per batch
 * before anyone is told the upload is stored. */
#include <sockit/err.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/http_internal.h"

void sk__http_store_init(struct http_store *st, int dir_fd)
{
	memset(st, 0, sizeof *st);
	st->dir_fd = dir_fd;
	st->fd = -1;
	sk_buf_init(&st->queued.data, SIZE_MAX);
	sk_buf_init(&st->running.data, SIZE_MAX);
}

static void batch_clear(struct http_store_batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->steps[i].name);
	b->n = 0;
	sk_buf_consume(&b->data, b->data.len);
}

static void batch_fini(struct http_store_batch *b)
{
	batch_clear(b);
	free(b->steps);
	b->steps = NULL;
	b->cap = 0;
	sk_buf_fini(&b->data);
}

void sk__http_store_fini(struct http_store *st)
{
	/* Only when no batch runs: the worker owns fd meanwhile. An unnamed
	 * file that was never committed vanishes with its fd. */
	if (st->fd >= 0)
		close(st->fd);
	st->fd = -1;
	batch_fini(&st->queued);
	batch_fini(&st->running);
}

static struct http_store_step *add_step(struct http_store_batch *b, enum http_store_op op)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 8;
		struct http_store_step *s = realloc(b->steps, cap * sizeof *s);
		if (!s)
			return NULL;
		b->steps = s;
		b->cap = cap;
	}
	struct http_store_step *s = &b->steps[b->n++];
	memset(s, 0, sizeof *s);
	s->op = op;
	return s;
}

int sk__http_store_create(struct http_store *st)
{
	return add_step(&st->queued, STORE_CREATE) ? 0 : SK_ENOMEM;
}

int sk__http_store_append(struct http_store *st, const char *p, size_t len)
{
	struct http_store_batch *b = &st->queued;
	struct http_store_step *last = b->n ? &b->steps[b->n - 1] : NULL;
	if (!last || last->op != STORE_APPEND) {
		if (!(last = add_step(b, STORE_APPEND)))
			return SK_ENOMEM;
		last->off = b->data.len;
	}
	int err = sk_buf_append(&b->data, p, len);
	if (err < 0)
		return err;
	last->len += len;
	return 0;
}

int sk__http_store_commit(struct http_store *st, const char *name, bool may_replace)
{
	char *copy = strdup(name);
	if (!copy)
		return SK_ENOMEM;
	struct http_store_step *s = add_step(&st->queued, STORE_COMMIT);
	if (!s) {
		free(copy);
		return SK_ENOMEM;
	}
	s->name = copy;
	s->may_replace = may_replace;
	return 0;
}

size_t sk__http_store_queued(const struct http_store *st)
{
	return st->queued.data.len;
}

bool sk__http_store_idle(const struct http_store *st)
{
	return !st->busy && st->queued.n == 0;
}

/* --- on a worker --- */

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* fsync, then give the unnamed file `name`: directly if it is new, by
 * renaming a temporary link over it if it exists (unless !may_replace:
 * -EEXIST). The caller fsyncs the directory. */
static int link_file(int dir_fd, int fd, const char *name, bool may_replace, const char **step)
{
	*step = "fsync";
	if (fsync(fd) < 0)
		return -errno;
	char proc[64];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	*step = "link";
	if (linkat(AT_FDCWD, proc, dir_fd, name, AT_SYMLINK_FOLLOW) == 0)
		return 0;
	if (errno != EEXIST || !may_replace)
		return -errno;
	/* Replace: link under a temporary name, then rename over. The
	 * temporary name starts with '.', so listings never show it, and has
	 * the prefix that a restarted server cleans up (http_leftovers.c). */
	char tmp[NAME_MAX + 1];
	for (unsigned i = 0;; i++) {
		snprintf(tmp, sizeof tmp, HTTP_TMP_PREFIX "%d-%u", (int)getpid(), i);
		if (linkat(AT_FDCWD, proc, dir_fd, tmp, AT_SYMLINK_FOLLOW) == 0)
			break;
		if (errno != EEXIST || i > 1000)
			return -errno;
	}
	*step = "rename";
	if (renameat(dir_fd, tmp, dir_fd, name) < 0) {
		int err = -errno;
		unlinkat(dir_fd, tmp, 0);
		return err;
	}
	return 0;
}

static int run_step(struct http_store *st, const struct http_store_step *s, const char *data,
                    bool *dir_dirty)
{
	switch (s->op) {
	case STORE_CREATE:
		st->err_step = "create";
		st->fd = openat(st->dir_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
		return st->fd < 0 ? -errno : 0;
	case STORE_APPEND:
		st->err_step = "write";
		return st->fd < 0 ? SK_EINVAL : write_all(st->fd, data + s->off, s->len);
	case STORE_COMMIT: {
		if (st->fd < 0)
			return SK_EINVAL;
		int err = link_file(st->dir_fd, st->fd, s->name, s->may_replace, &st->err_step);
		close(st->fd);
		st->fd = -1;
		if (err == 0) {
			st->n_committed++;
			*dir_dirty = true;
		}
		return err;
	}
	}
	return SK_EINVAL;
}

static void run_batch(struct sk_work *w)
{
	struct http_store *st = w->ud;
	const struct http_store_batch *b = &st->running;
	bool dir_dirty = false;
	int err = 0;
	for (size_t i = 0; i < b->n && err == 0; i++)
		err = run_step(st, &b->steps[i], sk_buf_head(&b->data), &dir_dirty);
	/* Once per batch: the names of every file committed in it survive a
	 * crash before the client is told they are stored. */
	if (err == 0 && dir_dirty) {
		st->err_step = "fsync the directory";
		if (fsync(st->dir_fd) < 0)
			err = -errno;
	}
	if (err < 0 && st->fd >= 0) {
		close(st->fd);
		st->fd = -1;
	}
	st->err = err;
}

/* --- back on the loop --- */

static void batch_done(struct sk_loop *loop, struct sk_work *w)
{
	(void)loop;
	struct http_store *st = w->ud;
	st->busy = false;
	batch_clear(&st->running);
	st->on_done(st, st->ud);
}

int sk__http_store_flush(struct http_store *st, struct sk_loop *loop)
{
	if (st->busy || st->queued.n == 0 || st->err)
		return 0;
	/* The queued batch runs; the empty one takes new steps meanwhile. */
	struct http_store_batch t = st->running;
	st->running = st->queued;
	st->queued = t;
	int err = sk_loop_work_start(loop, &st->work, run_batch, batch_done, st);
	if (err < 0) {
		t = st->running;
		st->running = st->queued;
		st->queued = t;
		return err;
	}
	st->busy = true;
	return 0;
}
