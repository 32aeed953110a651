/* sk_loop: fd watchers indexed by fd, a timer heap, signals via signalfd and
 * a wakeup eventfd, over the backend seam in internal.h. */
#include <sockit/err.h>
#include <sockit/loop.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* Linux signal numbers, real-time ones included, stay below 65. */
#define SK_NSIG 65

struct watcher {
	sk_io_fn *fn;
	void *ud;
	unsigned events;
	uint32_t gen;   /* bumped on every add, so a stale event for a reused fd is dropped */
	bool in_use;
	bool internal;  /* the loop's own signalfd/eventfd: not counted as work */
};

struct signal_slot {
	sk_signal_fn *fn;
	void *ud;
};

struct sk_loop {
	struct sk__backend *backend;
	struct watcher *watchers; /* indexed by fd */
	size_t n_watchers;        /* capacity of watchers[] */
	size_t n_busy_fds;        /* user watchers with events != 0 */
	struct sk__heap timers;
	uint64_t now_ms;
	bool stopping;
	int wake_fd;
	int signal_fd;
	sigset_t signals;
	struct signal_slot on_signal[SK_NSIG];
};

static uint64_t monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t pack(int fd, uint32_t gen)
{
	return (uint64_t)gen << 32 | (uint32_t)fd;
}

static void on_wakeup(struct sk_loop *loop, int fd, unsigned events, void *ud)
{
	(void)loop;
	(void)events;
	(void)ud;
	uint64_t count;
	/* Drain the counter; EAGAIN means another wakeup already drained it. */
	while (read(fd, &count, sizeof count) < 0 && errno == EINTR)
		;
}

static int grow_watchers(struct sk_loop *loop, int fd)
{
	if ((size_t)fd < loop->n_watchers)
		return 0;
	size_t cap = loop->n_watchers ? loop->n_watchers : 64;
	while (cap <= (size_t)fd)
		cap *= 2;
	struct watcher *w = realloc(loop->watchers, cap * sizeof *w);
	if (!w)
		return SK_ENOMEM;
	memset(w + loop->n_watchers, 0, (cap - loop->n_watchers) * sizeof *w);
	loop->watchers = w;
	loop->n_watchers = cap;
	return 0;
}

static int add_watcher(struct sk_loop *loop, int fd, unsigned events, sk_io_fn *fn, void *ud,
                       bool internal)
{
	if (fd < 0)
		return SK_EINVAL;
	int err = grow_watchers(loop, fd);
	if (err < 0)
		return err;
	struct watcher *w = &loop->watchers[fd];
	if (w->in_use)
		return -EEXIST;
	uint32_t gen = w->gen + 1;
	/* A paused watcher (events 0) stays out of epoll so a hung-up peer we are
	 * not reading cannot make level-triggered epoll spin. */
	if (events) {
		err = sk__backend_add(loop->backend, fd, events, pack(fd, gen));
		if (err < 0)
			return err;
	}
	w->fn = fn;
	w->ud = ud;
	w->events = events;
	w->gen = gen;
	w->in_use = true;
	w->internal = internal;
	if (events && !internal)
		loop->n_busy_fds++;
	return 0;
}

int sk_loop_new(struct sk_loop **out)
{
	struct sk_loop *loop = calloc(1, sizeof *loop);
	if (!loop)
		return SK_ENOMEM;
	loop->wake_fd = loop->signal_fd = -1;
	sigemptyset(&loop->signals);
	int err = sk__backend_new(&loop->backend);
	if (err < 0)
		goto fail;
	loop->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (loop->wake_fd < 0) {
		err = -errno;
		goto fail;
	}
	err = add_watcher(loop, loop->wake_fd, SK_EV_READ, on_wakeup, NULL, true);
	if (err < 0)
		goto fail;
	loop->now_ms = monotonic_ms();
	*out = loop;
	return 0;
fail:
	sk_loop_free(loop);
	return err;
}

void sk_loop_free(struct sk_loop *loop)
{
	if (!loop)
		return;
	if (loop->wake_fd >= 0)
		close(loop->wake_fd);
	if (loop->signal_fd >= 0)
		close(loop->signal_fd);
	sk__backend_free(loop->backend);
	sk__heap_free(&loop->timers);
	free(loop->watchers);
	free(loop);
}

int sk_loop_add_fd(struct sk_loop *loop, int fd, unsigned events, sk_io_fn *fn, void *ud)
{
	return add_watcher(loop, fd, events & (SK_EV_READ | SK_EV_WRITE), fn, ud, false);
}

static struct watcher *find_watcher(const struct sk_loop *loop, int fd)
{
	if (fd < 0 || (size_t)fd >= loop->n_watchers || !loop->watchers[fd].in_use)
		return NULL;
	return &loop->watchers[fd];
}

int sk_loop_mod_fd(struct sk_loop *loop, int fd, unsigned events)
{
	struct watcher *w = find_watcher(loop, fd);
	if (!w)
		return -ENOENT;
	events &= SK_EV_READ | SK_EV_WRITE;
	if (events == w->events)
		return 0;
	int err;
	if (!w->events)
		err = sk__backend_add(loop->backend, fd, events, pack(fd, w->gen));
	else if (!events)
		err = sk__backend_del(loop->backend, fd);
	else
		err = sk__backend_mod(loop->backend, fd, events, pack(fd, w->gen));
	if (err < 0)
		return err;
	if (!w->internal && !w->events != !events)
		loop->n_busy_fds += events ? 1 : (size_t)-1;
	w->events = events;
	return 0;
}

int sk_loop_del_fd(struct sk_loop *loop, int fd)
{
	struct watcher *w = find_watcher(loop, fd);
	if (!w)
		return -ENOENT;
	if (w->events) {
		sk__backend_del(loop->backend, fd);
		if (!w->internal)
			loop->n_busy_fds--;
	}
	w->in_use = false;
	w->events = 0;
	w->fn = NULL;
	w->ud = NULL;
	return 0;
}

unsigned sk_loop_fd_events(const struct sk_loop *loop, int fd)
{
	const struct watcher *w = find_watcher(loop, fd);
	return w ? w->events : 0;
}

void sk_timer_init(struct sk_timer *timer, sk_timer_fn *fn, void *ud)
{
	timer->due_ms = 0;
	timer->heap_index = SIZE_MAX;
	timer->fn = fn;
	timer->ud = ud;
}

bool sk_timer_is_active(const struct sk_timer *timer)
{
	return timer->heap_index != SIZE_MAX;
}

void sk_loop_timer_stop(struct sk_loop *loop, struct sk_timer *timer)
{
	if (sk_timer_is_active(timer))
		sk__heap_remove(&loop->timers, timer);
}

void sk_loop_timer_start(struct sk_loop *loop, struct sk_timer *timer, uint64_t after_ms)
{
	sk_loop_timer_stop(loop, timer);
	timer->due_ms = loop->now_ms + after_ms;
	/* The heap grows by doubling; if even that fails the timer fires at
	 * once rather than never, so a connection can't outlive its timeout. */
	if (sk__heap_push(&loop->timers, timer) < 0)
		timer->fn(loop, timer, timer->ud);
}

static void on_signalfd(struct sk_loop *loop, int fd, unsigned events, void *ud)
{
	(void)events;
	(void)ud;
	struct signalfd_siginfo info;
	while (read(fd, &info, sizeof info) == (ssize_t)sizeof info) {
		int signo = (int)info.ssi_signo;
		if (signo > 0 && signo < SK_NSIG && loop->on_signal[signo].fn)
			loop->on_signal[signo].fn(loop, signo, loop->on_signal[signo].ud);
	}
}

int sk_loop_add_signal(struct sk_loop *loop, int signo, sk_signal_fn *fn, void *ud)
{
	if (signo <= 0 || signo >= SK_NSIG)
		return SK_EINVAL;
	sigset_t set = loop->signals;
	sigaddset(&set, signo);
	int fd = signalfd(loop->signal_fd, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (loop->signal_fd < 0) {
		int err = add_watcher(loop, fd, SK_EV_READ, on_signalfd, NULL, true);
		if (err < 0) {
			close(fd);
			return err;
		}
		loop->signal_fd = fd;
	}
	/* Blocked, the signal waits in the signalfd instead of running a handler. */
	sigset_t one;
	sigemptyset(&one);
	sigaddset(&one, signo);
	sigprocmask(SIG_BLOCK, &one, NULL);
	loop->signals = set;
	loop->on_signal[signo].fn = fn;
	loop->on_signal[signo].ud = ud;
	return 0;
}

uint64_t sk_loop_now(const struct sk_loop *loop)
{
	return loop->now_ms;
}

void sk_loop_stop(struct sk_loop *loop)
{
	loop->stopping = true;
}

void sk_loop_wakeup(struct sk_loop *loop)
{
	uint64_t one = 1;
	ssize_t n = write(loop->wake_fd, &one, sizeof one);
	(void)n; /* EAGAIN: the counter is already non-zero, the loop will wake */
}

/* Fires every timer due by now; a timer restarted from its own callback for
 * "0 ms" waits for the next iteration, so a busy timer cannot starve I/O. */
static int run_timers(struct sk_loop *loop)
{
	int n = 0;
	uint64_t now = loop->now_ms;
	struct sk_timer *t;
	while ((t = sk__heap_top(&loop->timers)) && t->due_ms <= now) {
		sk__heap_remove(&loop->timers, t);
		t->fn(loop, t, t->ud);
		n++;
		if (loop->stopping)
			break;
	}
	return n;
}

static int timeout_for(const struct sk_loop *loop, int timeout_ms)
{
	const struct sk_timer *t = sk__heap_top(&loop->timers);
	if (!t)
		return timeout_ms;
	uint64_t wait = t->due_ms > loop->now_ms ? t->due_ms - loop->now_ms : 0;
	if (wait > INT32_MAX)
		wait = INT32_MAX;
	if (timeout_ms < 0 || (uint64_t)timeout_ms > wait)
		return (int)wait;
	return timeout_ms;
}

int sk_loop_run_once(struct sk_loop *loop, int timeout_ms)
{
	struct sk__event events[256];
	int n = sk__backend_wait(loop->backend, events, 256, timeout_for(loop, timeout_ms));
	loop->now_ms = monotonic_ms();
	if (n < 0)
		return n;
	int ran = 0;
	for (int i = 0; i < n && !loop->stopping; i++) {
		int fd = (int)(uint32_t)events[i].data;
		uint32_t gen = (uint32_t)(events[i].data >> 32);
		struct watcher *w = find_watcher(loop, fd);
		/* Deleted, or deleted and re-added, earlier in this iteration. */
		if (!w || w->gen != gen || !w->events)
			continue;
		w->fn(loop, fd, events[i].events & (w->events | SK_EV_ERROR), w->ud);
		ran++;
	}
	if (!loop->stopping)
		ran += run_timers(loop);
	return ran;
}

int sk_loop_run(struct sk_loop *loop)
{
	loop->stopping = false;
	loop->now_ms = monotonic_ms();
	while (!loop->stopping) {
		if (loop->n_busy_fds == 0 && loop->timers.len == 0)
			break;
		int n = sk_loop_run_once(loop, -1);
		if (n < 0)
			return n;
	}
	return 0;
}
