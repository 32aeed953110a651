/* PUT and multipart POST: uploads.
 *
 * Durability: a body is written to an unnamed file (O_TMPFILE) in the
 * target's directory, fsynced, and only then linked in under its name (with
 * a rename when it replaces a file, which is atomic). A client that dies
 * mid-body, or a server killed mid-write, leaves nothing behind: the
 * unnamed file vanishes with its last fd. Concurrent PUTs to one path each
 * write their own file; the last rename wins whole.
 *
 * The disk work runs on the loop's workers (http_store.c): the connection
 * queues steps as body bytes arrive, stops reading while
 * HTTP_STORE_QUEUE_MAX bytes wait for the disk, and answers once the last
 * step is done. */
#include <sockit/conn.h>
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

#include "http/http_internal.h"

struct upload {
	struct http_conn *c;
	int dir_fd;                 /* where the files go */
	struct http_store store;
	char name[NAME_MAX + 1];    /* PUT: the file's name; POST: the current part's */
	bool existed;               /* replaces a file: 204 rather than 201 */
	bool create_only;           /* If-None-Match: *: never replace a file */
	uint64_t received;          /* body bytes so far */
	uint64_t left;              /* Content-Length bodies: bytes still to come */
	bool chunked;
	struct sk_http_chunked chunk;
	bool multipart;
	struct sk_multipart mp;
	unsigned n_parts;           /* multipart: parts so far, plain fields included */
	bool in_file;               /* multipart: the current part is a file */
	unsigned n_files;           /* multipart: file parts so far */
	const char *bad_name;       /* multipart: why a part's file name was refused */
	unsigned committed_seen;    /* store.n_committed the cache was cleared for */
	bool body_done;             /* the last byte of the body is in */
	bool waiting_room;          /* reading stopped until the disk catches up */
	bool failed;                /* an answer has been sent already */
	bool orphaned;              /* the request is over; free when the disk step ends */
	char location[HTTP_PATH_MAX * 3 + 4]; /* multipart: where the 303 sends the browser */
};

static void free_upload(struct upload *up)
{
	sk__http_store_fini(&up->store);
	if (up->dir_fd >= 0)
		close(up->dir_fd);
	free(up);
}

void sk__http_upload_free(struct http_conn *c)
{
	struct upload *up = c->up;
	if (!up)
		return;
	c->up = NULL;
	if (up->store.busy)
		up->orphaned = true; /* the worker still uses dir_fd and the file */
	else
		free_upload(up);
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
	sk__http_upload_free(c);
	sk__http_error(c, status, why);
}

/* "If-None-Match: *": create the file only if the name is free. */
static bool wants_create_only(const struct http_conn *c)
{
	const struct sk_http_header *h = sk_http_find_header(&c->req, "If-None-Match");
	return h && h->value.len == 1 && h->value.p[0] == '*';
}

/* The body is in (queued for the disk): check the preconditions again, now
 * that another client may have changed the file meanwhile (If-Match guards
 * against lost updates), and queue the commit. What can still slip in
 * between this check and the rename is a replacement made during our
 * fsync; "If-None-Match: *" is exact (linkat, no rename). */
static int put_body_done(struct http_conn *c)
{
	struct upload *up = c->up;
	struct stat st;
	bool exists = fstatat(up->dir_fd, up->name, &st, AT_SYMLINK_NOFOLLOW) == 0;
	if (sk__http_write_preconditions(&c->req, exists ? &st : NULL)) {
		fail(c, 412, "the file changed during the upload");
		return SK_EINVAL;
	}
	return sk__http_store_commit(&up->store, up->name, !up->create_only);
}

/* Stored, the directory synced: the answer. */
static void put_finish(struct http_conn *c)
{
	bool existed = c->up->existed;
	sk__http_upload_free(c);
	if (existed) {
		sk__http_begin(c, 204, 0);
	} else {
		sk__http_begin(c, 201, 0);
		/* RFC 9110 §15.3.2: Location names what was created. */
		char loc[HTTP_PATH_MAX + 1];
		size_t n = c->req.target.len < sizeof loc - 1 ? c->req.target.len : sizeof loc - 1;
		memcpy(loc, c->req.target.p, n);
		loc[n] = '\0';
		sk__http_header(c, "Location", loc);
	}
	sk__http_end_head(c);
	sk__http_send(c);
}

/* A client's file name made safe: the part after any '/' or '\\' (browsers
 * on Windows send full paths), no control bytes, not "." or "..", not
 * hidden unless the server shows hidden files. */
/* The last component of a form's file name, if it can be stored: NULL and
 * the name in out, or why not (the 400's reason). */
static const char *safe_basename(struct sk_slice in, bool hidden, char *out)
{
	size_t start = 0;
	for (size_t i = 0; i < in.len; i++)
		if (in.p[i] == '/' || in.p[i] == '\\')
			start = i + 1;
	size_t n = in.len - start;
	if (n == 0)
		return "the file name is empty";
	if (n > NAME_MAX)
		return "the file name is longer than 255 bytes";
	const char *p = in.p + start;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return "the file name has control characters";
	if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
		return "'.' and '..' are not file names";
	/* Dotfiles are hidden: one uploaded could never be seen or deleted. */
	if (p[0] == '.' && !hidden)
		return "names starting with '.' are hidden on this server (--hidden serves them)";
	memcpy(out, p, n);
	out[n] = '\0';
	return NULL;
}

static int mp_on_part(void *ud, struct sk_slice name, struct sk_slice filename)
{
	(void)name;
	struct http_conn *c = ud;
	struct upload *up = c->up;
	/* Each part costs a step, and each file an fsync: bounded per request. */
	if (++up->n_parts > c->srv->o.max_parts && c->srv->o.max_parts)
		return SK_ETOOLARGE;
	up->in_file = false;
	if (filename.len == 0)
		return 0; /* a plain form field: nothing to store */
	up->bad_name = safe_basename(filename, c->srv->o.hidden, up->name);
	if (up->bad_name)
		return SK_EHTTP_BAD_REQUEST;
	up->in_file = true;
	up->n_files++;
	return sk__http_store_create(&up->store);
}

static int mp_on_data(void *ud, const char *p, size_t len)
{
	struct http_conn *c = ud;
	return c->up->in_file ? sk__http_store_append(&c->up->store, p, len) : 0;
}

static int mp_on_part_end(void *ud)
{
	struct http_conn *c = ud;
	struct upload *up = c->up;
	if (!up->in_file)
		return 0;
	up->in_file = false;
	return sk__http_store_commit(&up->store, up->name, true);
}

static const struct sk_multipart_handler mp_handler = { mp_on_part, mp_on_data, mp_on_part_end };

static void post_finish(struct http_conn *c)
{
	struct upload *up = c->up;
	char location[sizeof up->location];
	memcpy(location, up->location, sizeof location);
	/* A browser posts the form with no file chosen as one part with an
	 * empty filename: that is no upload, not a success. */
	bool any_file = up->n_files > 0;
	sk__http_upload_free(c);
	if (!any_file) {
		sk__http_error(c, 400, "no file chosen");
		return;
	}
	/* 303 back to the listing: a browser posting the form without
	 * JavaScript lands on the updated page (the Post/Redirect/Get pattern). */
	static const char body[] = "<!DOCTYPE html>\n<p>Uploaded. <a href=\"./\">Back to the listing</a>.</p>\n";
	sk__http_begin(c, 303, sizeof body - 1);
	sk__http_header(c, "Location", location);
	sk__http_header(c, "Content-Type", "text/html; charset=utf-8");
	sk__http_end_head(c);
	sk__http_append(c, body, sizeof body - 1);
	sk__http_send(c);
}

static const char *why_stored_failed(const struct upload *up)
{
	switch (up->store.err) {
	case -ENOSPC:
	case -EDQUOT:
		return "no space left to store the file";
	default:
		return "could not store the file";
	}
}

/* Hands what is queued to a worker; the connection is held while one runs. */
static void flush_store(struct http_conn *c)
{
	struct upload *up = c->up;
	bool was_busy = up->store.busy;
	int err = sk__http_store_flush(&up->store, c->srv->loop);
	if (err < 0) {
		char reason[128];
		sk__http_log_error(c, "could not start a worker thread: %s",
		                   sk__http_reason(err, reason, sizeof reason));
		fail(c, 500, "the server could not store the file");
		return;
	}
	if (!was_busy && up->store.busy)
		sk__http_hold(c);
}

/* The answer, once the body is in and every step of it is on disk. */
static void finish_if_stored(struct http_conn *c)
{
	struct upload *up = c->up;
	if (!up->body_done || !sk__http_store_idle(&up->store))
		return;
	up->multipart ? post_finish(c) : put_finish(c);
}

/* A batch of disk steps ended (on the loop). */
static void on_stored(struct http_store *st, void *ud)
{
	struct upload *up = ud;
	struct http_conn *c = up->c;
	if (up->orphaned) {
		free_upload(up);
		sk__http_release(c);
		return;
	}
	if (st->n_committed != up->committed_seen) {
		up->committed_seen = st->n_committed;
		sk__http_cache_clear(c->srv); /* what this server wrote is not served stale */
	}
	if (st->err) {
		if (st->err == -EEXIST && up->create_only) {
			fail(c, 412, "the file was created during the upload");
		} else {
			/* A failed disk write is the operator's to know: a line in the
			 * error log, not only a status in the access log. */
			char reason[128];
			sk__http_log_error(c, "could not store the upload: %s: %s", st->err_step,
			               sk__http_reason(st->err, reason, sizeof reason));
			fail(c, sk__http_status_of_write_error(st->err), why_stored_failed(up));
		}
		sk__http_release(c);
		return;
	}
	flush_store(c);
	if (c->up == up && up->waiting_room && sk__http_store_queued(st) < HTTP_STORE_QUEUE_MAX) {
		/* Room again: the bytes the loop held come first. */
		up->waiting_room = false;
		sk__http_set_timer(c, c->srv->o.body_timeout_ms);
		sk_conn_resume(c->conn);
	}
	if (c->up == up)
		finish_if_stored(c);
	sk__http_release(c);
}

static int consume(struct http_conn *c, const char *p, size_t len)
{
	struct upload *up = c->up;
	if (up->received + len > c->srv->o.max_body || up->received + len < up->received)
		return SK_EHTTP_BODY_TOO_BIG;
	up->received += len;
	if (up->multipart)
		return sk_multipart_feed(&up->mp, p, len);
	return sk__http_store_append(&up->store, p, len);
}

/* Feeds body bytes; returns how many of p belonged to this body. */
static size_t feed_body(struct http_conn *c, const char *p, size_t len, bool *done)
{
	struct upload *up = c->up;
	size_t used_total = 0;
	int err = 0;
	*done = up->body_done;
	if (*done) {
		return 0;
	} else if (!up->chunked) {
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
	if (err == 0 && *done && up->multipart && sk_multipart_finish(&up->mp) < 0) {
		*done = false;
		fail(c, 400, "the form data ended early");
		return used_total;
	}
	if (err == 0 && *done && !up->multipart)
		err = put_body_done(c);
	if (err < 0) {
		*done = false;
		if (!c->up || c->up->failed)
			return used_total; /* answered already (412) */
		if (err == SK_EHTTP_BODY_TOO_BIG)
			fail(c, 413, "the body is larger than this server accepts (--max-body)");
		else if (err == SK_ETOOLARGE)
			fail(c, 413, "the form has more parts than this server accepts (--max-parts)");
		else if (err == SK_EHTTP_BAD_REQUEST)
			fail(c, 400, up->bad_name ? up->bad_name : "malformed body");
		else
			fail(c, sk__http_status_of_write_error(err), "could not write the body");
		return used_total;
	}
	up->body_done = *done;
	return used_total;
}

/* After the body: the disk's steps run, reading waits for the answer (what
 * the client sends meanwhile is the next request, kept in in[]), and no
 * timer counts the disk's time against the client. */
static void after_feed(struct http_conn *c)
{
	struct upload *up = c->up;
	if (up->body_done) {
		c->state = WRITE;
		sk__http_set_timer(c, 0);
	}
	flush_store(c);
	if (c->up == up)
		finish_if_stored(c);
}

size_t sk__http_upload_data(struct http_conn *c, const char *p, size_t len)
{
	struct upload *up = c->up;
	if (!up)
		return len;
	/* Multipart and chunked framing only shrink bytes on their way to the
	 * disk: feeding at most the room left keeps the queue bounded. */
	size_t queued = sk__http_store_queued(&up->store);
	size_t room = queued < HTTP_STORE_QUEUE_MAX ? HTTP_STORE_QUEUE_MAX - queued : 0;
	size_t feed = len < room ? len : room;
	bool done;
	size_t used = feed ? feed_body(c, p, feed, &done) : 0;
	if (c->up != up || up->failed)
		return len;
	if (up->body_done && used < len) {
		/* Bytes after the body: a pipelined request. Keep what fits; the
		 * rest would overflow in[], so the connection ends after this. */
		size_t keep = len - used;
		if (keep > sizeof c->in - c->in_len) {
			keep = sizeof c->in - c->in_len;
			c->close_after = true;
		}
		memcpy(c->in + c->in_len, p + used, keep);
		c->in_len += keep;
		used = len;
	} else if (used < len) {
		/* The disk is behind: stop reading until it catches up. */
		up->waiting_room = true;
		sk__http_set_timer(c, 0);
	}
	after_feed(c);
	return used;
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
		(void)sk_conn_send(c->conn, cont, sizeof cont - 1);
	}
	c->state = READ_BODY;
	/* Body bytes that came with the head (at most in[]'s size, well
	 * under HTTP_STORE_QUEUE_MAX). They stay in in[] until the response
	 * is done; only what follows the body is a next request. */
	bool done = false;
	size_t used = in_buf || (!up->chunked && up->left == 0)
		? feed_body(c, c->in + c->head_len, in_buf, &done) : 0;
	if (c->up != up || up->failed)
		return;
	c->body_in_buf = used;
	if (!up->body_done) {
		sk_conn_resume(c->conn);
		sk__http_set_timer(c, c->srv->o.body_timeout_ms);
	}
	after_feed(c);
}

static struct upload *new_upload(struct http_conn *c)
{
	struct upload *up = calloc(1, sizeof *up);
	if (!up) {
		sk__http_log_error(c, "out of memory");
		fail(c, 500, NULL);
		return NULL;
	}
	up->c = c;
	up->dir_fd = -1;
	sk__http_store_init(&up->store, -1);
	up->store.on_done = on_stored;
	up->store.ud = up;
	c->up = up;
	return up;
}

void sk__http_put(struct http_conn *c)
{
	struct http_path path;
	const char *why = NULL, *name;
	int rc = sk__http_decode_path(c->req.target, &path, &why);
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
	int err = sk__http_open_parent(c->srv, &path, &up->dir_fd, &name);
	if (err < 0) {
		fail(c, sk__http_status_of_write_error(err), "the directory to put the file in does not exist");
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
	if (sk__http_write_preconditions(&c->req, up->existed ? &st : NULL)) {
		fail(c, 412, "the file is not in the state the request expects");
		return;
	}
	up->create_only = wants_create_only(c);
	up->store.dir_fd = up->dir_fd;
	if (sk__http_store_create(&up->store) < 0) {
		fail(c, 500, NULL);
		return;
	}
	start_body(c);
}

void sk__http_post(struct http_conn *c)
{
	struct http_path path;
	const char *why = NULL;
	int rc = sk__http_decode_path(c->req.target, &path, &why);
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
	up->dir_fd = sk__http_open_beneath(c->srv, path.rel, O_RDONLY | O_DIRECTORY);
	if (up->dir_fd < 0) {
		int err = up->dir_fd;
		up->dir_fd = -1;
		fail(c, err == -ENOTDIR ? 409 : sk__http_status_of_write_error(err),
		     "POST to a directory's listing");
		return;
	}
	up->store.dir_fd = up->dir_fd;
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
