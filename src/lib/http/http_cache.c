/* A small cache of files the HTTP server sends often: their metadata,
 * validators, ready-made header lines and, for small files, the content.
 * A hit costs no system call at all: the response is assembled with memcpy
 * and sent with one write (bench/http.sh, 1 KiB files). Larger files keep
 * their open descriptor instead of their content, shared with the conns
 * sending from it (sk_shared_fd): a hit costs one fstat(2) where a miss
 * costs openat2 (a path walk beneath the root), fstat, formatting the
 * validators and the last close of a file (bench/http.sh, 64 KiB files).
 * So at most HTTP_CACHE_SLOTS descriptors stay open for the cache, and
 * more only while a response dropped from it is still being sent.
 *
 * Staleness is bounded the way nginx's open_file_cache_valid bounds it: an
 * entry older than CACHE_VALID_MS is checked again (opened beneath the root
 * and compared by inode, size and mtime) before it is used. Writes through
 * this server clear the cache at once. Security does not depend on it: only
 * paths that opened successfully beneath the root are ever entered, and the
 * dotfile rule is applied before the cache is asked. */
#include <sockit/err.h>

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/http_internal.h"

#define CACHE_VALID_MS 1000

static uint64_t hash_path(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603u; /* FNV-1a */
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211u;
	}
	return h;
}

static void drop(struct cache_entry *e)
{
	sk_shared_fd_release(e->file);
	free(e->rel);
	free(e->content);
	memset(e, 0, sizeof *e);
}

void sk__http_cache_init(struct sk_http_server *s)
{
	memset(s->cache, 0, sizeof s->cache);
}

void sk__http_cache_clear(struct sk_http_server *s)
{
	for (size_t i = 0; i < HTTP_CACHE_SLOTS; i++)
		if (s->cache[i].rel)
			drop(&s->cache[i]);
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_mode == b->st_mode;
}

const struct cache_entry *sk__http_cache_get(struct sk_http_server *s, const char *rel, size_t len)
{
	uint64_t h = hash_path(rel, len);
	struct cache_entry *e = &s->cache[h & (HTTP_CACHE_SLOTS - 1)];
	if (!e->rel || e->hash != h || e->rel_len != len || memcmp(e->rel, rel, len) != 0)
		return NULL;
	/* A file kept open is also checked on every use, through its own
	 * descriptor (no path walk): rewritten in place, its bytes would no
	 * longer match the length and validators cached with it. */
	struct stat st;
	if (e->file && (fstat(e->file->fd, &st) != 0 || !same_file(&st, &e->st))) {
		drop(e);
		return NULL;
	}
	uint64_t now = sk_loop_now(s->loop);
	if (now - e->checked_ms < CACHE_VALID_MS)
		return e;
	/* Old enough to check: the same path, opened the same safe way. */
	int fd = sk__http_open_beneath(s, e->rel, O_RDONLY | O_NONBLOCK);
	bool fresh = fd >= 0 && fstat(fd, &st) == 0 && same_file(&st, &e->st);
	if (fd >= 0)
		close(fd);
	if (!fresh) {
		drop(e);
		return NULL;
	}
	e->checked_ms = now;
	return e;
}

/* Small files: a copy of the content, read now (fd stays the caller's).
 * Larger ones: the caller's fd itself, which the entry then owns. */
const struct cache_entry *sk__http_cache_put(struct sk_http_server *s, const char *rel, size_t len,
                                         int *fd, const struct stat *st, const char *type)
{
	if (!S_ISREG(st->st_mode))
		return NULL;
	bool small = (uint64_t)st->st_size <= HTTP_INLINE_FILE;
	char *content = small ? malloc((size_t)st->st_size + 1) : NULL;
	char *copy = malloc(len + 1);
	struct sk_shared_fd *file = small || !copy ? NULL : sk_shared_fd_new(*fd);
	if ((small && !content) || !copy || (!small && !file) ||
	    (small && pread(*fd, content, (size_t)st->st_size, 0) != (ssize_t)st->st_size)) {
		free(content);
		free(copy);
		free(file); /* not released: *fd stays the caller's */
		return NULL;
	}
	uint64_t h = hash_path(rel, len);
	struct cache_entry *e = &s->cache[h & (HTTP_CACHE_SLOTS - 1)];
	if (e->rel)
		drop(e);
	memcpy(copy, rel, len);
	copy[len] = '\0';
	e->rel = copy;
	e->rel_len = len;
	e->hash = h;
	e->st = *st;
	e->content = content;
	e->file = file;
	if (file)
		*fd = -1;
	e->checked_ms = sk_loop_now(s->loop);
	char etag[sizeof e->etag], modified[sizeof e->modified];
	sk__http_format_etag(st, etag);
	sk__http_format_date(st->st_mtime, modified);
	memcpy(e->etag, etag, sizeof etag);
	memcpy(e->modified, modified, sizeof modified);
	int n = snprintf(e->headers, sizeof e->headers,
	                 "Content-Type: %s\r\nLast-Modified: %s\r\nETag: %s\r\nAccept-Ranges: bytes\r\n",
	                 type, modified, etag);
	e->headers_len = n > 0 && (size_t)n < sizeof e->headers ? (size_t)n : 0;
	return e;
}
