/* GET and HEAD: files (conditional requests, ranges, cached small files),
 * directories (redirect to the slash form, index.html, listings). */
#include <sockit/err.h>
#include <sockit/http_listing.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "http/http_internal.h"

/* Listing a directory with more entries than this answers 500: a page of
 * a million rows helps nobody and costs the server its memory. */
#define MAX_LISTING_ENTRIES 100000

static int status_of_open_error(int err)
{
	switch (err) {
	case -ENOENT:
	case -ENOTDIR:
	case -ENAMETOOLONG:
		return 404;
	case -EXDEV: /* a symlink that leads out of the root */
	case -ELOOP:
	case -EACCES:
	case -EPERM:
		return 403;
	default:
		return 500;
	}
}

static const struct sk_http_header *find(const struct http_conn *c, const char *name)
{
	return sk_http_find_header(&c->req, name);
}

/* If-Range (RFC 9110 §13.1.5): the Range applies only if the validator
 * still matches; a strong ETag, or the exact Last-Modified date. */
static bool range_still_valid(const struct http_conn *c, const struct stat *st, const char *etag)
{
	const struct sk_http_header *ir = find(c, "If-Range");
	if (!ir)
		return true;
	if (ir->value.len && ir->value.p[0] == '"')
		return ir->value.len == strlen(etag) && memcmp(ir->value.p, etag, ir->value.len) == 0;
	time_t when;
	return sk__http_parse_date(ir->value, &when) && when == st->st_mtime;
}

/* RFC 9110 §13.2.2: answers 304 or 412 if the request's preconditions say
 * so, and returns whether it did. */
static bool answered_by_preconditions(struct http_conn *c, const struct stat *st, const char *etag,
                                      const char *modified)
{
	struct http_validators v = { true, etag, true, st->st_mtime };
	int status = sk__http_preconditions(&c->req, true, &v);
	if (status == 412) {
		sk__http_error(c, 412, "the file is not in the state the request expects");
		return true;
	}
	if (status != 304)
		return false;
	sk__http_begin(c, 304, 0);
	sk__http_header(c, "ETag", etag);
	sk__http_header(c, "Last-Modified", modified);
	sk__http_end_head(c);
	sk__http_send(c);
	return true;
}

/* A cached file: the head from ready-made lines, the body from memory (one
 * write) or from the entry's descriptor, shared (a reference held until the
 * body is sent). Ranges take the uncached path (the caller checks). */
static void serve_cached(struct http_conn *c, const struct cache_entry *e, bool head_only)
{
	if (answered_by_preconditions(c, &e->st, e->etag, e->modified))
		return;
	uint64_t size = (uint64_t)e->st.st_size;
	sk__http_begin(c, 200, size);
	sk__http_append(c, e->headers, e->headers_len);
	sk__http_end_head(c);
	if (!head_only && size && e->file) {
		c->file_shared = sk_shared_fd_ref(e->file);
		c->file_off = 0;
		c->file_left = size;
	} else if (!head_only && size) {
		sk__http_append(c, e->content, (size_t)size);
		c->body_sent = size;
	}
	sk__http_send(c);
}

static void serve_file(struct http_conn *c, int fd, const struct stat *st, const char *name,
                       size_t name_len, bool head_only)
{
	char etag[48], modified[HTTP_DATE_LEN], range[96];
	sk__http_format_etag(st, etag);
	sk__http_format_date(st->st_mtime, modified);
	uint64_t size = (uint64_t)st->st_size, first = 0, last = size ? size - 1 : 0;
	int status = 200;

	if (answered_by_preconditions(c, st, etag, modified)) {
		close(fd);
		return;
	}
	const struct sk_http_header *rh = find(c, "Range");
	if (rh && range_still_valid(c, st, etag)) {
		int r = sk__http_parse_range(rh->value, size, &first, &last);
		if (r < 0) {
			close(fd);
			snprintf(range, sizeof range, "bytes */%" PRIu64, size);
			sk__http_begin(c, 416, 0);
			sk__http_header(c, "Content-Range", range);
			sk__http_end_head(c);
			sk__http_send(c);
			return;
		}
		if (r == 1)
			status = 206;
	}
	uint64_t len = size ? last - first + 1 : 0;
	sk__http_begin(c, status, len);
	sk__http_header(c, "Content-Type", sk__http_content_type(name, name_len));
	sk__http_header(c, "Last-Modified", modified);
	sk__http_header(c, "ETag", etag);
	sk__http_header(c, "Accept-Ranges", "bytes");
	if (status == 206) {
		snprintf(range, sizeof range, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, first, last, size);
		sk__http_header(c, "Content-Range", range);
	}
	sk__http_end_head(c);
	if (head_only || len == 0) {
		close(fd);
	} else if (len <= HTTP_INLINE_FILE) {
		/* Small: head and body in one write. */
		char buf[HTTP_INLINE_FILE];
		ssize_t n = pread(fd, buf, (size_t)len, (off_t)first);
		close(fd);
		if (n != (ssize_t)len) {
			sk__http_error(c, 500, "the file changed while it was read");
			return;
		}
		sk__http_append(c, buf, (size_t)len);
		c->body_sent = len;
	} else {
		c->file_fd = fd;
		c->file_off = first;
		c->file_left = len;
	}
	sk__http_send(c);
}

/* --- directories --- */

struct entries {
	struct sk_listing_entry *v;
	size_t n, cap;
	char *names;
	size_t names_len, names_cap;
};

static int add_entry(struct entries *e, const char *name, const struct stat *st)
{
	size_t len = strlen(name) + 1;
	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 64;
		struct sk_listing_entry *v = realloc(e->v, cap * sizeof *v);
		if (!v)
			return SK_ENOMEM;
		e->v = v;
		e->cap = cap;
	}
	if (len > e->names_cap - e->names_len) {
		size_t cap = e->names_cap ? e->names_cap * 2 : 4096;
		while (cap - e->names_len < len)
			cap *= 2;
		char *names = realloc(e->names, cap);
		if (!names)
			return SK_ENOMEM;
		/* Entries point into names by offset until the end: see below. */
		e->names = names;
		e->names_cap = cap;
	}
	memcpy(e->names + e->names_len, name, len);
	e->v[e->n] = (struct sk_listing_entry){
		.name = (const char *)(uintptr_t)e->names_len,
		.is_dir = S_ISDIR(st->st_mode),
		.size = S_ISDIR(st->st_mode) ? 0 : (uint64_t)st->st_size,
		.mtime = st->st_mtime,
	};
	e->names_len += len;
	e->n++;
	return 0;
}

/* What a symlink in the listed directory leads to, resolved from the root
 * as a GET of it would be: one that leads out (or loops, or dangles) is an
 * error, and is never stat'ed through: the size and date of /etc/passwd
 * are not the listing's to show. O_PATH: a FIFO or device is not opened. */
static int stat_link_beneath(const struct sk_http_server *s, const struct http_path *dir,
                             const char *name, struct stat *st)
{
	char rel[HTTP_PATH_MAX + NAME_MAX + 2];
	int n = snprintf(rel, sizeof rel, "%s%s%s", dir->rel, dir->len ? "/" : "", name);
	if (n < 0 || (size_t)n >= sizeof rel)
		return -ENAMETOOLONG;
	int fd = sk__http_open_beneath(s, rel, O_PATH);
	if (fd < 0)
		return fd;
	int err = fstat(fd, st) < 0 ? -errno : 0;
	close(fd);
	return err;
}

static int read_dir(const struct sk_http_server *s, int dir_fd, const struct http_path *path,
                    struct entries *e)
{
	int fd = dup(dir_fd);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		int err = -errno;
		close(fd);
		return err;
	}
	int err = 0;
	struct dirent *de;
	while (err == 0 && (de = readdir(d))) {
		const char *name = de->d_name;
		if (name[0] == '.' && (!s->o.hidden || !name[1] || (name[1] == '.' && !name[2])))
			continue;
		struct stat st;
		/* A name that vanished or cannot be stat'ed is left out. */
		if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISLNK(st.st_mode) && stat_link_beneath(s, path, name, &st) < 0)
			continue;
		if (e->n == MAX_LISTING_ENTRIES)
			err = SK_ETOOLARGE;
		else
			err = add_entry(e, name, &st);
	}
	closedir(d);
	/* Offsets become pointers now that names[] no longer moves. */
	for (size_t i = 0; i < e->n; i++)
		e->v[i].name = e->names + (uintptr_t)e->v[i].name;
	return err;
}

static bool wants_json(const struct http_conn *c, struct sk_slice query)
{
	static const char key[] = "format=json";
	for (size_t i = 0; i + sizeof key - 1 <= query.len; i++)
		if ((i == 0 || query.p[i - 1] == '&') && memcmp(query.p + i, key, sizeof key - 1) == 0)
			return true;
	const struct sk_http_header *accept = find(c, "Accept");
	return accept && memmem(accept->value.p, accept->value.len, "application/json", 16);
}

/* A listing has no validators: If-Match names a tag it cannot have, and
 * only "*" matches it (RFC 9110 §13.1.1, §13.1.2); dates are ignored. */
static bool listing_answered_by_preconditions(struct http_conn *c)
{
	struct http_validators v = { .exists = true };
	int status = sk__http_preconditions(&c->req, true, &v);
	if (status == 412) {
		sk__http_error(c, 412, "a listing has no entity tag");
		return true;
	}
	if (status != 304)
		return false;
	/* RFC 9110 §15.4.5: the 304 carries the 200's Cache-Control and Vary. */
	sk__http_begin(c, 304, 0);
	sk__http_header(c, "Cache-Control", "no-cache");
	sk__http_header(c, "Vary", "Accept");
	sk__http_end_head(c);
	sk__http_send(c);
	return true;
}

/* A listing is read, sorted and formatted on a worker: 100,000 entries
 * cost 0.6-0.9 s, which on the loop made every other client wait. The job
 * reads only what does not change while the server runs (the root fd, the
 * options) and its own copies of the request's parts. */
struct listing_job {
	struct sk_work work;
	struct http_conn *c;
	int dir_fd;
	struct http_path path;     /* query points into query_copy */
	char query_copy[SK_HTTP_MAX_REQUEST_LINE]; /* the query is part of the request line */
	struct sk_listing_opts lo;
	bool json, head_only;
	struct sk_buf body;
	int err;
};

static void build_listing(struct sk_work *w)
{
	struct listing_job *job = w->ud;
	const struct sk_http_server *s = job->c->srv;
	struct entries e = { 0 };
	int err = read_dir(s, job->dir_fd, &job->path, &e);
	if (err == 0) {
		/* The URL path as the listing shows it: "/" + rel + "/". */
		char shown[HTTP_PATH_MAX + 2];
		int shown_len = snprintf(shown, sizeof shown, "/%s%s", job->path.rel,
		                         job->path.len ? "/" : "");
		struct sk_slice shown_slice = { shown, (size_t)shown_len };
		sk_listing_sort(e.v, e.n, &job->lo);
		err = job->json ? sk_listing_json(&job->body, shown_slice, e.v, e.n)
		                : sk_listing_html(&job->body, shown_slice, e.v, e.n, &job->lo);
	}
	free(e.v);
	free(e.names);
	job->err = err;
}

static void listing_built(struct sk_loop *loop, struct sk_work *w)
{
	(void)loop;
	struct listing_job *job = w->ud;
	struct http_conn *c = job->c;
	struct sk_http_server *s = c->srv;
	s->n_listing_jobs--;
	close(job->dir_fd);
	if (c->dead)
		goto out;
	if (job->err == SK_ETOOLARGE) {
		sk__http_error(c, 500, "the listing is too large");
		goto out;
	}
	if (job->err < 0) {
		sk__http_error(c, 500, "cannot list this directory");
		goto out;
	}
	if (job->body.cap > HTTP_BODY_BUDGET - s->body_bytes && s->body_bytes) {
		/* Other big listings are still being sent: come back shortly. */
		sk__http_error(c, 503, "busy sending other large listings; try again");
		goto out;
	}
	sk__http_begin(c, 200, job->body.len);
	sk__http_header(c, "Content-Type", job->json ? "application/json" : "text/html; charset=utf-8");
	/* A listing changes whenever the directory does: always revalidate. */
	sk__http_header(c, "Cache-Control", "no-cache");
	sk__http_header(c, "Vary", "Accept");
	sk__http_end_head(c);
	if (!job->head_only) {
		/* Sent straight from the job's buffer, which the connection now owns. */
		c->body = job->body;
		c->body_budget = c->body.cap;
		s->body_bytes += c->body_budget;
		sk_buf_init(&job->body, 0);
		c->body_sent = 0;
	}
	sk__http_send(c);
out:
	sk_buf_fini(&job->body);
	free(job);
	sk__http_release(c);
}

static void serve_listing(struct http_conn *c, int dir_fd, const struct http_path *path, bool head_only)
{
	struct sk_http_server *s = c->srv;
	if (listing_answered_by_preconditions(c)) {
		close(dir_fd);
		return;
	}
	if (s->n_listing_jobs >= HTTP_LISTING_JOBS) {
		close(dir_fd);
		sk__http_error(c, 503, "busy building other listings; try again");
		return;
	}
	struct listing_job *job = calloc(1, sizeof *job);
	if (!job) {
		close(dir_fd);
		sk__http_error(c, 500, NULL);
		return;
	}
	job->c = c;
	job->dir_fd = dir_fd;
	job->path = *path;
	if (path->query.len)
		memcpy(job->query_copy, path->query.p, path->query.len);
	job->path.query = (struct sk_slice){ job->query_copy, path->query.len };
	job->path.last = (struct sk_slice){ job->path.rel + (path->last.p - path->rel), path->last.len };
	sk_listing_opts_from_query(job->path.query, &job->lo);
	job->lo.can_upload = s->o.upload;
	job->lo.can_delete = s->o.allow_delete;
	job->json = wants_json(c, path->query);
	job->head_only = head_only;
	sk_buf_init(&job->body, HTTP_LISTING_MAX);
	/* Room in front for the response head: head and listing then go to
	 * the conn as one buffer, neither copied (sk__http_send). */
	(void)sk_buf_headroom(&job->body, HTTP_HEAD_ROOM);
	int err = sk_loop_work_start(s->loop, &job->work, build_listing, listing_built, job);
	if (err < 0) {
		close(dir_fd);
		free(job);
		char reason[128];
		sk__http_log_error(c, "could not start a worker thread: %s",
		                   sk__http_reason(err, reason, sizeof reason));
		sk__http_error(c, 500, NULL);
		return;
	}
	s->n_listing_jobs++;
	/* Nothing is read until the answer; building is not the client's time. */
	sk__http_hold(c);
	c->state = WRITE;
	sk__http_set_timer(c, 0);
}

/* "/dir" → "dir/": a relative Location, so no "//evil.example" can ever come
 * out of it (an open redirect), and the query kept. */
static void redirect_to_slash(struct http_conn *c, const struct http_path *path)
{
	struct sk_buf loc;
	sk_buf_init(&loc, HTTP_PATH_MAX * 3 + 8);
	int err = sk_url_encode(&loc, path->last.p, path->last.len);
	if (err == 0)
		err = sk_buf_append(&loc, "/", 1);
	if (err == 0 && path->query.len) {
		err = sk_buf_append(&loc, "?", 1);
		if (err == 0)
			err = sk_buf_append(&loc, path->query.p, path->query.len);
	}
	if (err == 0)
		err = sk_buf_append(&loc, "", 1);
	if (err < 0) {
		sk_buf_fini(&loc);
		sk__http_error(c, 414, "path too long");
		return;
	}
	sk__http_begin(c, 301, 0);
	sk__http_header(c, "Location", sk_buf_head(&loc));
	sk__http_end_head(c);
	sk_buf_fini(&loc);
	sk__http_send(c);
}

static void answer_get(struct http_conn *c, bool head_only)
{
	struct sk_http_server *s = c->srv;
	struct http_path path;
	const char *why = NULL;
	if (c->req.target.len == 1 && c->req.target.p[0] == '*') {
		sk__http_error(c, 400, "'*' is only for OPTIONS");
		return;
	}
	int rc = sk__http_decode_path(c->req.target, &path, &why);
	if (rc < 0) {
		sk__http_error(c, sk_http_error_status(rc), why);
		return;
	}
	if (path.has_dot_segment && !s->o.hidden) {
		sk__http_error(c, 404, NULL); /* hidden files do not exist, as far as clients know */
		return;
	}
	if (path.len && !path.trailing_slash && !find(c, "Range")) {
		const struct cache_entry *e = sk__http_cache_get(s, path.rel, path.len);
		if (e) {
			serve_cached(c, e, head_only);
			return;
		}
	}
	int fd = sk__http_open_beneath(s, path.rel, O_RDONLY | O_NONBLOCK);
	if (fd < 0) {
		sk__http_error(c, status_of_open_error(fd), NULL);
		return;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		close(fd);
		sk__http_error(c, 500, NULL);
		return;
	}
	if (S_ISREG(st.st_mode)) {
		if (path.trailing_slash) {
			close(fd);
			sk__http_error(c, 404, NULL); /* "file.txt/" names a directory that is not there */
			return;
		}
		const struct cache_entry *e = NULL;
		if (!find(c, "Range"))
			e = sk__http_cache_put(s, path.rel, path.len, &fd, &st,
			                   sk__http_content_type(path.last.p, path.last.len));
		if (e) {
			if (fd >= 0)
				close(fd);
			serve_cached(c, e, head_only);
			return;
		}
		serve_file(c, fd, &st, path.last.p, path.last.len, head_only);
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		close(fd);
		sk__http_error(c, 403, "not a regular file");
		return;
	}
	if (path.len && !path.trailing_slash) {
		close(fd);
		redirect_to_slash(c, &path);
		return;
	}
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK,
		                .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS };
	long index = syscall(SYS_openat2, fd, "index.html", &how, sizeof how);
	struct stat ist;
	if (index >= 0 && fstat((int)index, &ist) == 0 && S_ISREG(ist.st_mode)) {
		close(fd);
		serve_file(c, (int)index, &ist, "index.html", 10, head_only);
		return;
	}
	if (index >= 0)
		close((int)index);
	serve_listing(c, fd, &path, head_only);
}

void sk__http_get(struct http_conn *c)
{
	answer_get(c, false);
}

void sk__http_head(struct http_conn *c)
{
	answer_get(c, true);
}
