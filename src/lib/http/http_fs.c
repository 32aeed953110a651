/* The file-system side of the HTTP server: every path a request names is
 * opened beneath the served root, never through it, and what a failed
 * write means for the client. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "http/http_internal.h"

int sk__http_open_beneath(const struct sk_http_server *s, const char *rel, int flags)
{
	/* RESOLVE_BENEATH: every component, symlinks included, must stay under
	 * the root fd, checked by the kernel as it walks (Linux 5.6). */
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.mode = (flags & O_CREAT) ? 0644 : 0,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	const char *path = rel[0] ? rel : ".";
	long fd = syscall(SYS_openat2, s->root_fd, path, &how, sizeof how);
	if (fd >= 0)
		return (int)fd;
	return -errno;
}

/* Splits "a/b/name" into the directory "a/b" (opened beneath the root) and
 * "name". */
int sk__http_open_parent(const struct sk_http_server *s, const struct http_path *path, int *dir_fd,
                         const char **name)
{
	char parent[HTTP_PATH_MAX];
	const char *slash = memrchr(path->rel, '/', path->len);
	size_t n = slash ? (size_t)(slash - path->rel) : 0;
	memcpy(parent, path->rel, n);
	parent[n] = '\0';
	*name = slash ? slash + 1 : path->rel;
	int fd = sk__http_open_beneath(s, parent, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return fd;
	*dir_fd = fd;
	return 0;
}

int sk__http_status_of_write_error(int err)
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
