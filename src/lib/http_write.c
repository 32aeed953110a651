/* PUT, multipart POST and DELETE.
 *
 * Durability: a body is written to an unnamed file (O_TMPFILE) in the
 * target's directory, fsynced, and only then linked in under its name (with
 * a rename when it replaces a file, which is atomic). A client that dies
 * mid-body, or a server killed mid-write, leaves nothing behind: the
 * unnamed file vanishes with its last fd. Concurrent PUTs to one path each
 * write their own file; the last rename wins whole. */
#include <sockit/err.h>
#include <sockit/http_listing.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "http_internal.h"

struct upload {
	int dir_fd;                 /* where the file goes */
	int fd;                     /* the unnamed file being written, -1 between parts */
	char name[NAME_MAX + 1];    /* its final name */
	bool existed;               /* replaces a file: 204 rather than 201 */
	bool create_only;           /* If-None-Match: *: never replace a file */
	uint64_t received;          /* body bytes so far */
	uint64_t left;              /* Content-Length bodies: bytes still to come */
	bool chunked;
	struct sk_http_chunked chunk;
	bool multipart;
	struct sk_multipart mp;
	unsigned n_files;           /* multipart: files stored */
	bool failed;                /* an answer has been sent already */
	char location[HTTP_PATH_MAX * 3 + 4]; /* multipart: where the 303 sends the browser */
};

void http_upload_free(struct http_conn *c)
{
	struct upload *up = c->up;
	if (!up)
		return;
	if (up->fd >= 0)
		close(up->fd); /* an unfinished O_TMPFILE file is freed with it */
	if (up->dir_fd >= 0)
		close(up->dir_fd);
	free(up);
	c->up = NULL;
}

static int status_of_errno(int err)
{
	switch (err) {
	case -ENOENT:
	case -ENOTDIR:
		return 409; /* the directory to put it in is not there */
	case -EACCES:
	case -EPERM:
	case -EROFS:
	case -EXDEV:
	case -ELOOP:
		return 403;
	case -ENOSPC:
	case -EDQUOT:
		return 507;
	case -EISDIR:
		return 409;
	default:
		return 500;
	}
}

static void fail(struct http_conn *c, int status, const char *why)
{
	if (c->up) {
		if (c->up->failed)
			return;
		c->up->failed = true;
	}
	/* The rest of the body is not read: the connection cannot go on. */
	c->close_after = true;
	http_upload_free(c);
	http_error(c, status, why);
}

/* Splits "a/b/name" into the directory "a/b" (opened beneath the root) and
 * "name". */
static int open_parent(struct http_conn *c, const struct http_path *path, int *dir_fd,
                       const char **name)
{
	char parent[HTTP_PATH_MAX];
	const char *slash = memrchr(path->rel, '/', path->len);
	size_t n = slash ? (size_t)(slash - path->rel) : 0;
	memcpy(parent, path->rel, n);
	parent[n] = '\0';
	*name = slash ? slash + 1 : path->rel;
	int fd = http_open_beneath(c->srv, parent, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return fd;
	*dir_fd = fd;
	return 0;
}

/* An unnamed file in dir_fd (Linux 3.11; every local filesystem we meet). */
static int new_unnamed_file(int dir_fd)
{
	int fd = openat(dir_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
	return fd < 0 ? -errno : fd;
}

/* fsync, then give the unnamed file `name`: directly if it is new, by
 * renaming a temporary link over it if it exists (unless !may_replace:
 * -EEXIST). Then fsync the directory so the name itself survives a crash. */
static int commit_file(int dir_fd, int fd, const char *name, bool may_replace)
{
	if (fsync(fd) < 0)
		return -errno;
	char proc[64];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, proc, dir_fd, name, AT_SYMLINK_FOLLOW) < 0) {
		if (errno != EEXIST || !may_replace)
			return -errno;
		/* Replace: link under a temporary name, then rename over. The
		 * temporary name starts with '.', so listings never show it; a
		 * server killed between the two leaves it, and the next one
		 * removes it (http_leftovers.c). */
		char tmp[NAME_MAX + 1];
		for (unsigned i = 0;; i++) {
			snprintf(tmp, sizeof tmp, HTTP_TMP_PREFIX "%d-%u", (int)getpid(), i);
			if (linkat(AT_FDCWD, proc, dir_fd, tmp, AT_SYMLINK_FOLLOW) == 0)
				break;
			if (errno != EEXIST || i > 1000)
				return -errno;
		}
		if (renameat(dir_fd, tmp, dir_fd, name) < 0) {
			int err = -errno;
			unlinkat(dir_fd, tmp, 0);
			return err;
		}
	}
	if (fsync(dir_fd) < 0)
		return -errno;
	return 0;
}

/* RFC 9110 §13.2.2 for PUT and DELETE, against what the name holds now
 * (st; NULL if nothing): 0 to go on, or 412. Anything but a regular file
 * has no validators here. */
static int preconditions(const struct http_conn *c, const struct stat *st)
{
	char etag[48];
	struct http_validators v = { .exists = st != NULL };
	if (st && S_ISREG(st->st_mode)) {
		http_format_etag(st, etag);
		v.etag = etag;
		v.has_mtime = true;
		v.mtime = st->st_mtime;
	}
	return http_preconditions(&c->req, false, &v);
}

/* "If-None-Match: *": create the file only if the name is free. */
static bool wants_create_only(const struct http_conn *c)
{
	const struct sk_http_header *h = sk_http_find_header(&c->req, "If-None-Match");
	return h && h->value.len == 1 && h->value.p[0] == '*';
}

/* What this server wrote or deleted must not be served from the cache. */
static void forget_cached(struct http_conn *c)
{
	http_cache_clear(c->srv);
}

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

/* --- PUT --- */

static void put_done(struct http_conn *c)
{
	struct upload *up = c->up;
	/* Again, now that the body is in: another client may have changed the
	 * file meanwhile (If-Match guards against lost updates). What can still
	 * slip in between this check and the rename is a replacement made
	 * during our fsync; "If-None-Match: *" is exact (linkat, no rename). */
	struct stat st;
	bool exists = fstatat(up->dir_fd, up->name, &st, AT_SYMLINK_NOFOLLOW) == 0;
	if (preconditions(c, exists ? &st : NULL)) {
		fail(c, 412, "the file changed during the upload");
		return;
	}
	int err = commit_file(up->dir_fd, up->fd, up->name, !up->create_only);
	if (err == -EEXIST && up->create_only) {
		fail(c, 412, "the file was created during the upload");
		return;
	}
	if (err < 0) {
		fail(c, status_of_errno(err), "could not store the file");
		return;
	}
	bool existed = up->existed;
	forget_cached(c);
	http_upload_free(c);
	c->state = WRITE;
	sk_loop_mod_fd(c->srv->loop, c->fd, 0);
	if (existed) {
		http_begin(c, 204, 0);
	} else {
		http_begin(c, 201, 0);
		/* RFC 9110 §15.3.2: Location names what was created. */
		char loc[HTTP_PATH_MAX + 1];
		size_t n = c->req.target.len < sizeof loc - 1 ? c->req.target.len : sizeof loc - 1;
		memcpy(loc, c->req.target.p, n);
		loc[n] = '\0';
		http_header(c, "Location", loc);
	}
	http_end_head(c);
	http_send(c);
}

/* --- multipart POST --- */

/* A client's file name made safe: the part after any '/' or '\\' (browsers
 * on Windows send full paths), no control bytes, not "." or "..", not
 * hidden unless the server shows hidden files. */
static bool safe_basename(struct sk_slice in, bool hidden, char *out)
{
	size_t start = 0;
	for (size_t i = 0; i < in.len; i++)
		if (in.p[i] == '/' || in.p[i] == '\\')
			start = i + 1;
	size_t n = in.len - start;
	if (n == 0 || n > NAME_MAX)
		return false;
	const char *p = in.p + start;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return false;
	if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
		return false;
	if (p[0] == '.' && !hidden)
		return false;
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

static int mp_on_part(void *ud, struct sk_slice name, struct sk_slice filename)
{
	(void)name;
	struct http_conn *c = ud;
	struct upload *up = c->up;
	if (filename.len == 0)
		return 0; /* a plain form field: nothing to store */
	if (!safe_basename(filename, c->srv->o.hidden, up->name))
		return SK_EHTTP_BAD_REQUEST;
	int fd = new_unnamed_file(up->dir_fd);
	if (fd < 0)
		return fd;
	up->fd = fd;
	return 0;
}

static int mp_on_data(void *ud, const char *p, size_t len)
{
	struct http_conn *c = ud;
	return c->up->fd >= 0 ? write_all(c->up->fd, p, len) : 0;
}

static int mp_on_part_end(void *ud)
{
	struct http_conn *c = ud;
	struct upload *up = c->up;
	if (up->fd < 0)
		return 0;
	int err = commit_file(up->dir_fd, up->fd, up->name, true);
	close(up->fd);
	up->fd = -1;
	if (err == 0) {
		up->n_files++;
		forget_cached(c);
	}
	return err;
}

static const struct sk_multipart_handler mp_handler = { mp_on_part, mp_on_data, mp_on_part_end };

static void post_done(struct http_conn *c)
{
	struct upload *up = c->up;
	int err = sk_multipart_finish(&up->mp);
	if (err < 0) {
		fail(c, 400, "the form data ended early");
		return;
	}
	char location[sizeof up->location];
	memcpy(location, up->location, sizeof location);
	http_upload_free(c);
	c->state = WRITE;
	sk_loop_mod_fd(c->srv->loop, c->fd, 0);
	/* 303 back to the listing: a browser posting the form without
	 * JavaScript lands on the updated page (the Post/Redirect/Get pattern). */
	static const char body[] = "<!DOCTYPE html>\n<p>Uploaded. <a href=\"./\">Back to the listing</a>.</p>\n";
	http_begin(c, 303, sizeof body - 1);
	http_header(c, "Location", location);
	http_header(c, "Content-Type", "text/html; charset=utf-8");
	http_end_head(c);
	http_append(c, body, sizeof body - 1);
	http_send(c);
}

/* --- the body, whatever its framing --- */

static int consume(struct http_conn *c, const char *p, size_t len)
{
	struct upload *up = c->up;
	if (up->received + len > c->srv->o.max_body || up->received + len < up->received)
		return SK_EHTTP_BODY_TOO_BIG;
	up->received += len;
	if (up->multipart)
		return sk_multipart_feed(&up->mp, p, len);
	return write_all(up->fd, p, len);
}

/* Feeds body bytes; returns how many of p belonged to this body. */
static size_t feed_body(struct http_conn *c, const char *p, size_t len, bool *done)
{
	struct upload *up = c->up;
	size_t used_total = 0;
	int err = 0;
	*done = false;
	if (!up->chunked) {
		size_t n = len < up->left ? len : (size_t)up->left;
		err = consume(c, p, n);
		up->left -= n;
		used_total = n;
		*done = up->left == 0;
	} else {
		while (err == 0 && used_total < len && !*done) {
			size_t used = 0;
			struct sk_slice data;
			int rc = sk_http_chunked_decode(&up->chunk, p + used_total, len - used_total, &used,
			                                &data);
			if (rc < 0) {
				err = rc;
				break;
			}
			if (data.len)
				err = consume(c, data.p, data.len);
			used_total += used;
			*done = rc == 1;
			if (used == 0)
				break;
		}
	}
	if (err < 0) {
		*done = false;
		if (err == SK_EHTTP_BODY_TOO_BIG)
			fail(c, 413, "the body is larger than this server accepts (--max-body)");
		else if (err == SK_EHTTP_BAD_REQUEST)
			fail(c, 400, "malformed body");
		else
			fail(c, status_of_errno(err), "could not write the body");
	}
	return used_total;
}

void http_upload_data(struct http_conn *c, const char *p, size_t len)
{
	if (!c->up)
		return;
	bool done;
	size_t used = feed_body(c, p, len, &done);
	if (!c->up || c->up->failed)
		return;
	if (used < len) {
		/* Bytes after the body: a pipelined request. Keep what fits; the
		 * rest would overflow in[], so the connection ends after this. */
		size_t keep = len - used;
		if (keep > sizeof c->in - c->in_len) {
			keep = sizeof c->in - c->in_len;
			c->close_after = true;
		}
		memcpy(c->in + c->in_len, p + used, keep);
		c->in_len += keep;
	}
	if (done)
		c->up->multipart ? post_done(c) : put_done(c);
}

/* Common start of PUT and POST: limits, Expect, the bytes already read. */
static void start_body(struct http_conn *c)
{
	struct upload *up = c->up;
	up->chunked = c->req.body == SK_HTTP_BODY_CHUNKED;
	up->left = c->req.body == SK_HTTP_BODY_LENGTH ? c->req.content_length : 0;
	if (up->chunked)
		sk_http_chunked_init(&up->chunk);
	/* 413 before a byte of the body is read (RFC 9110 §15.5.14). */
	if (!up->chunked && up->left > c->srv->o.max_body) {
		fail(c, 413, "the body is larger than this server accepts (--max-body)");
		return;
	}
	size_t in_buf = c->in_len - c->head_len;
	/* RFC 9110 §10.1.1: HTTP/1.0 clients get no 1xx; they send the body anyway. */
	if (c->req.expect_continue && c->req.minor == 1 && in_buf == 0) {
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
		/* A failure here shows up as a failed read soon after. */
		(void)!send(c->fd, cont, sizeof cont - 1, MSG_NOSIGNAL);
	}
	c->state = READ_BODY;
	if (!up->chunked && up->left == 0) {
		up->multipart ? post_done(c) : put_done(c);
		return;
	}
	/* Body bytes that came with the head. They stay in in[] until the
	 * response is done; only what follows the body is a next request. */
	bool done = false;
	size_t used = feed_body(c, c->in + c->head_len, in_buf, &done);
	if (!c->up || c->up->failed)
		return;
	c->body_in_buf = used;
	if (done) {
		up->multipart ? post_done(c) : put_done(c);
		return;
	}
	sk_loop_recv_resume(c->srv->loop, c->fd);
	sk_loop_timer_start(c->srv->loop, &c->timer, c->srv->o.body_timeout_ms);
}

static struct upload *new_upload(struct http_conn *c)
{
	struct upload *up = calloc(1, sizeof *up);
	if (!up) {
		fail(c, 500, NULL);
		return NULL;
	}
	up->dir_fd = up->fd = -1;
	c->up = up;
	return up;
}

void http_put(struct http_conn *c)
{
	struct http_path path;
	const char *why = NULL, *name;
	int rc = http_decode_path(c->req.target, &path, &why);
	if (rc < 0) {
		fail(c, sk_http_error_status(rc), why);
		return;
	}
	if (path.len == 0 || path.trailing_slash) {
		fail(c, 409, "PUT needs a file name, not a directory");
		return;
	}
	if (path.has_dot_segment && !c->srv->o.hidden) {
		fail(c, 403, "names starting with '.' are hidden on this server");
		return;
	}
	/* RFC 9110 §14.5: storing the fragment as the whole file would lose
	 * the rest of it; this server does no partial PUT. */
	if (sk_http_find_header(&c->req, "Content-Range")) {
		fail(c, 400, "Content-Range in a PUT: partial updates are not supported");
		return;
	}
	struct upload *up = new_upload(c);
	if (!up)
		return;
	int err = open_parent(c, &path, &up->dir_fd, &name);
	if (err < 0) {
		fail(c, status_of_errno(err), "the directory to put the file in does not exist");
		return;
	}
	snprintf(up->name, sizeof up->name, "%s", name);
	struct stat st;
	if (fstatat(up->dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!S_ISREG(st.st_mode)) {
			fail(c, 409, "a directory or special file has that name");
			return;
		}
		up->existed = true;
	}
	/* 412 before a byte of the body is read. */
	if (preconditions(c, up->existed ? &st : NULL)) {
		fail(c, 412, "the file is not in the state the request expects");
		return;
	}
	up->create_only = wants_create_only(c);
	up->fd = new_unnamed_file(up->dir_fd);
	if (up->fd < 0) {
		fail(c, status_of_errno(up->fd), "cannot create the file");
		return;
	}
	start_body(c);
}

void http_post(struct http_conn *c)
{
	struct http_path path;
	const char *why = NULL;
	int rc = http_decode_path(c->req.target, &path, &why);
	if (rc < 0) {
		fail(c, sk_http_error_status(rc), why);
		return;
	}
	if (path.has_dot_segment && !c->srv->o.hidden) {
		fail(c, 403, "names starting with '.' are hidden on this server");
		return;
	}
	const struct sk_http_header *ct = sk_http_find_header(&c->req, "Content-Type");
	struct sk_slice boundary;
	if (!ct || sk_multipart_boundary(ct->value, &boundary) < 0) {
		fail(c, 400, "POST takes multipart/form-data (the listing's upload form)");
		return;
	}
	struct upload *up = new_upload(c);
	if (!up)
		return;
	up->dir_fd = http_open_beneath(c->srv, path.rel, O_RDONLY | O_DIRECTORY);
	if (up->dir_fd < 0) {
		int err = up->dir_fd;
		up->dir_fd = -1;
		fail(c, err == -ENOTDIR ? 409 : status_of_errno(err), "POST to a directory's listing");
		return;
	}
	up->multipart = true;
	/* Back to the listing of the directory posted to: "./" when the URL
	 * ended in '/', else "name/" (a relative reference either way). */
	strcpy(up->location, "./");
	if (path.len && !path.trailing_slash) {
		struct sk_buf loc;
		sk_buf_init(&loc, sizeof up->location - 2);
		if (sk_url_encode(&loc, path.last.p, path.last.len) == 0 && loc.len + 2 <= sizeof up->location) {
			memcpy(up->location, sk_buf_head(&loc), loc.len);
			memcpy(up->location + loc.len, "/", 2);
		}
		sk_buf_fini(&loc);
	}
	if (sk_multipart_init(&up->mp, boundary, &mp_handler, c) < 0) {
		fail(c, 400, "bad multipart boundary");
		return;
	}
	start_body(c);
}

void http_delete(struct http_conn *c)
{
	struct http_path path;
	const char *why = NULL, *name;
	int rc = http_decode_path(c->req.target, &path, &why);
	if (rc < 0) {
		http_error(c, sk_http_error_status(rc), why);
		return;
	}
	if (path.has_dot_segment && !c->srv->o.hidden) {
		http_error(c, 404, NULL);
		return;
	}
	if (path.len == 0) {
		http_error(c, 403, "the root cannot be deleted");
		return;
	}
	int dir_fd;
	int err = open_parent(c, &path, &dir_fd, &name);
	if (err < 0) {
		http_error(c, err == -ENOENT || err == -ENOTDIR ? 404 : status_of_errno(err), NULL);
		return;
	}
	/* A missing name is 404 whatever the preconditions (RFC 9110 §13.2.1). */
	struct stat st;
	if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && preconditions(c, &st)) {
		close(dir_fd);
		http_error(c, 412, "the file is not in the state the request expects");
		return;
	}
	if (unlinkat(dir_fd, name, 0) < 0) {
		err = -errno;
		/* An empty directory may go too; a full one may not. */
		if (err == -EISDIR && unlinkat(dir_fd, name, AT_REMOVEDIR) == 0)
			err = 0;
		else if (err == -EISDIR)
			err = -errno;
	}
	if (err == 0) {
		fsync(dir_fd);
		forget_cached(c);
	}
	close(dir_fd);
	if (err == -ENOENT)
		http_error(c, 404, NULL);
	else if (err == -ENOTEMPTY || err == -EEXIST)
		http_error(c, 409, "the directory is not empty");
	else if (err < 0)
		http_error(c, status_of_errno(err), NULL);
	else {
		http_begin(c, 204, 0);
		http_end_head(c);
		http_send(c);
	}
}
