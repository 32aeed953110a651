/* Leftovers of interrupted uploads. A PUT that replaces a file links the
 * finished upload under a temporary name, then renames it over the file
 * (http_store.c's link_file); a server killed between the two leaves a
 * complete, hidden HTTP_TMP_PREFIX "<pid>-<n>" file behind. A server that
 * may write (--upload) removes them when it starts:
 *
 *   - only regular files whose name is exactly that pattern, and whose
 *     process is gone (kill(pid, 0) fails with ESRCH) or is this one's pid
 *     (ours from an earlier run: this one has written nothing yet); another
 *     live server's link may be in the middle of its rename;
 *   - found by a bounded walk: the root and the directories beneath it, at
 *     most SWEEP_MAX_DEPTH levels down and SWEEP_MAX_ENTRIES entries in all,
 *     so a huge tree costs a bounded start-up time; directories whose names
 *     start with '.' only with --hidden (without it no upload can go there);
 *   - never through a symlink (O_NOFOLLOW, d_type), never anything else.
 *
 * What the bounds leave stays, hidden from listings unless --hidden. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/http_internal.h"

/* Deeper than uploads into real trees go; each level holds one fd. */
#define SWEEP_MAX_DEPTH 16
/* About 50 ms of getdents on a warm cache: a bounded start-up cost
 * however large the served tree. */
#define SWEEP_MAX_ENTRIES 100000

struct sweep {
	bool hidden;          /* walk into directories starting with '.' */
	size_t entries_left;
	unsigned removed, failed;
};

/* Reads the decimal number at *p (no sign, no leading '+'), moving *p past it. */
static bool read_number(const char **p, unsigned long *out)
{
	if (**p < '0' || **p > '9')
		return false;
	char *end;
	errno = 0;
	*out = strtoul(*p, &end, 10);
	*p = end;
	return errno == 0;
}

static bool is_stale_leftover(const char *name)
{
	size_t n = strlen(HTTP_TMP_PREFIX);
	if (strncmp(name, HTTP_TMP_PREFIX, n) != 0)
		return false;
	const char *p = name + n;
	unsigned long pid, counter;
	if (!read_number(&p, &pid) || *p++ != '-' || !read_number(&p, &counter) || *p != '\0')
		return false;
	if (pid == 0 || pid > INT_MAX)
		return false;
	if ((pid_t)pid == getpid())
		return true;
	return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

static unsigned char entry_type(int dir_fd, const struct dirent *de)
{
	if (de->d_type != DT_UNKNOWN)
		return de->d_type;
	struct stat st;
	if (fstatat(dir_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return DT_UNKNOWN;
	return S_ISREG(st.st_mode) ? DT_REG : S_ISDIR(st.st_mode) ? DT_DIR : DT_UNKNOWN;
}

/* Walks dir_fd (taken: closed here), depth levels beneath the root. */
static void sweep_dir(struct sweep *sw, int dir_fd, unsigned depth)
{
	DIR *d = fdopendir(dir_fd);
	if (!d) {
		close(dir_fd);
		return;
	}
	struct dirent *de;
	while (sw->entries_left && (de = readdir(d))) {
		sw->entries_left--;
		const char *name = de->d_name;
		if (name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2])))
			continue;
		unsigned char type = entry_type(dirfd(d), de);
		if (type == DT_REG && is_stale_leftover(name)) {
			if (unlinkat(dirfd(d), name, 0) == 0)
				sw->removed++;
			else
				sw->failed++;
		} else if (type == DT_DIR && depth < SWEEP_MAX_DEPTH && (name[0] != '.' || sw->hidden)) {
			int sub = openat(dirfd(d), name,
			                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
			if (sub >= 0)
				sweep_dir(sw, sub, depth + 1);
		}
	}
	closedir(d);
}

void sk__http_remove_leftovers(struct sk_http_server *s)
{
	struct sweep sw = { .hidden = s->o.hidden, .entries_left = SWEEP_MAX_ENTRIES };
	int fd = dup(s->root_fd);
	if (fd < 0)
		return;
	sweep_dir(&sw, fd, 0);
	if (!s->o.on_error || (!sw.removed && !sw.failed))
		return;
	char line[160];
	if (sw.removed) {
		snprintf(line, sizeof line, "removed %u leftover upload file%s (%s*) of an interrupted run",
		         sw.removed, sw.removed == 1 ? "" : "s", HTTP_TMP_PREFIX);
		s->o.on_error(s->o.ud, line);
	}
	if (sw.failed) {
		snprintf(line, sizeof line, "could not remove %u leftover upload file%s (%s*)",
		         sw.failed, sw.failed == 1 ? "" : "s", HTTP_TMP_PREFIX);
		s->o.on_error(s->o.ud, line);
	}
}
