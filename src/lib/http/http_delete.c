/* DELETE: the unlink and the fsync of the directory run on a worker, and
 * the client hears the answer once the name is gone for good. A directory
 * may go only if it is empty. */
#include <sockit/err.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "http/http_internal.h"

/* What this server wrote or deleted must not be served from the cache. */
static void forget_cached(struct http_conn *c)
{
	sk__http_cache_clear(c->srv);
}

/* The unlink and the fsync of the directory, on a worker. */
struct delete_job {
	struct sk_work work;
	struct http_conn *c;
	int dir_fd;
	char name[NAME_MAX + 1];
	int err;
};

static void run_delete(struct sk_work *w)
{
	struct delete_job *job = w->ud;
	int err = 0;
	if (unlinkat(job->dir_fd, job->name, 0) < 0) {
		err = -errno;
		/* An empty directory may go too; a full one may not. */
		if (err == -EISDIR && unlinkat(job->dir_fd, job->name, AT_REMOVEDIR) == 0)
			err = 0;
		else if (err == -EISDIR)
			err = -errno;
	}
	/* The name is gone for good before the client hears so. */
	if (err == 0 && fsync(job->dir_fd) < 0)
		err = -errno;
	job->err = err;
}

static void delete_done(struct sk_loop *loop, struct sk_work *w)
{
	(void)loop;
	struct delete_job *job = w->ud;
	struct http_conn *c = job->c;
	int err = job->err;
	close(job->dir_fd);
	free(job);
	if (err != -ENOENT)
		forget_cached(c); /* whatever happened, the cache may not say */
	if (c->dead) {
		sk__http_release(c);
		return;
	}
	if (err == -ENOENT)
		sk__http_error(c, 404, NULL);
	else if (err == -ENOTEMPTY || err == -EEXIST)
		sk__http_error(c, 409, "the directory is not empty");
	else if (err < 0) {
		char reason[128];
		if (sk__http_status_of_write_error(err) >= 500)
			sk__http_log_error(c, "could not delete: %s", sk__http_reason(err, reason, sizeof reason));
		sk__http_error(c, sk__http_status_of_write_error(err), NULL);
	} else {
		sk__http_begin(c, 204, 0);
		sk__http_end_head(c);
		sk__http_send(c);
	}
	sk__http_release(c);
}

void sk__http_delete(struct http_conn *c)
{
	struct http_path path;
	const char *why = NULL, *name;
	int rc = sk__http_decode_path(c->req.target, &path, &why);
	if (rc < 0) {
		sk__http_error(c, sk_http_error_status(rc), why);
		return;
	}
	if (path.has_dot_segment && !c->srv->o.hidden) {
		sk__http_error(c, 404, NULL);
		return;
	}
	if (path.len == 0) {
		sk__http_error(c, 403, "the root cannot be deleted");
		return;
	}
	int dir_fd;
	int err = sk__http_open_parent(c->srv, &path, &dir_fd, &name);
	if (err < 0) {
		int status = err == -ENOENT || err == -ENOTDIR ? 404 : sk__http_status_of_write_error(err);
		sk__http_error(c, status, NULL);
		return;
	}
	/* A missing name is 404 whatever the preconditions (RFC 9110 §13.2.1). */
	struct stat st;
	if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    sk__http_write_preconditions(&c->req, &st)) {
		close(dir_fd);
		sk__http_error(c, 412, "the file is not in the state the request expects");
		return;
	}
	struct delete_job *job = calloc(1, sizeof *job);
	if (!job) {
		close(dir_fd);
		sk__http_error(c, 500, NULL);
		return;
	}
	job->c = c;
	job->dir_fd = dir_fd;
	snprintf(job->name, sizeof job->name, "%s", name);
	err = sk_loop_work_start(c->srv->loop, &job->work, run_delete, delete_done, job);
	if (err < 0) {
		free(job);
		close(dir_fd);
		char reason[128];
		sk__http_log_error(c, "could not start a worker thread: %s",
		                   sk__http_reason(err, reason, sizeof reason));
		sk__http_error(c, 500, NULL);
		return;
	}
	/* Nothing is read until the answer; the disk's time is not the client's. */
	sk__http_hold(c);
	c->state = WRITE;
	sk__http_set_timer(c, 0);
}
