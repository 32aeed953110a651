/* The loop's fd table and its timers. Watchers are indexed by fd (an array,
 * no hashing); the poller watches what their owners asked for plus what the
 * backend needs for their stream I/O. Timers are caller-owned structs in a
 * binary min-heap (timer.c). */
#include <sockit/buf.h>
#include <sockit/err.h>
#include <sockit/loop.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "loop/loop_internal.h"

/* Held bytes can exceed one read only while an io_uring receive winds
 * down after a pause: a few of its 16 KiB buffers (loop_ring.c). */
#define HELD_MAX (8u << 20)

static int grow_watchers(struct sk_loop *loop, int fd)
{
	if ((size_t)fd < loop->n_watchers)
		return 0;
	size_t cap = loop->n_watchers ? loop->n_watchers : 64;
	while (cap <= (size_t)fd)
		cap *= 2;
	/* calloc, not realloc and memset: a large table comes zeroed from
	 * mmap, and slots above the highest fd in use are never written, so
	 * they cost no memory. With 10,000 connections the table doubles to
	 * 16,384 slots; memset made all of them resident (1.2 MiB more). */
	struct sk__watcher *w = calloc(cap, sizeof *w);
	if (!w)
		return SK_ENOMEM;
	if (loop->n_watchers)
		memcpy(w, loop->watchers, loop->n_watchers * sizeof *w);
	free(loop->watchers);
	loop->watchers = w;
	loop->n_watchers = cap;
	return 0;
}

void sk__loop_free_watchers(struct sk_loop *loop)
{
	for (size_t fd = 0; fd < loop->n_watchers; fd++) {
		sk_buf_fini(&loop->watchers[fd].held);
		sk_buf_fini(&loop->watchers[fd].unsent);
	}
	free(loop->watchers);
	loop->watchers = NULL;
	loop->n_watchers = 0;
}

struct sk__watcher *sk__loop_find(const struct sk_loop *loop, int fd)
{
	if (fd < 0 || (size_t)fd >= loop->n_watchers || !loop->watchers[fd].in_use)
		return NULL;
	return &loop->watchers[fd];
}

struct sk__watcher *sk__loop_find_key(const struct sk_loop *loop, uint64_t key)
{
	struct sk__watcher *w = sk__loop_find(loop, sk__loop_key_fd(key));
	return w && w->gen == (uint32_t)(key >> 32) ? w : NULL;
}

/* A paused watcher (events 0) stays out of the poller so a hung-up peer we
 * are not reading cannot make level-triggered epoll spin. */
int sk__loop_sync(struct sk_loop *loop, int fd, struct sk__watcher *w)
{
	unsigned ev = w->events | loop->be->poll_events(w);
	if (ev != w->armed) {
		int err;
		if (!w->armed)
			err = sk__loop_poll_add(loop->poll, fd, ev, sk__loop_key(fd, w->gen));
		else if (!ev)
			err = sk__loop_poll_del(loop->poll, fd);
		else
			err = sk__loop_poll_mod(loop->poll, fd, ev, sk__loop_key(fd, w->gen));
		if (err < 0)
			return err;
		w->armed = ev;
	}
	bool busy = !w->internal && (ev || w->recv != RECV_OFF || w->sending);
	if (busy != w->busy) {
		loop->n_busy_fds += busy ? 1 : (size_t)-1;
		w->busy = busy;
	}
	return 0;
}

int sk__loop_add_watcher(struct sk_loop *loop, int fd, unsigned events, sk_io_fn *fn, void *ud,
                         bool internal)
{
	if (fd < 0)
		return SK_EINVAL;
	int err = grow_watchers(loop, fd);
	if (err < 0)
		return err;
	struct sk__watcher *w = &loop->watchers[fd];
	if (w->in_use)
		return -EEXIST;
	uint32_t gen = w->gen + 1;
	memset(w, 0, sizeof *w);
	sk_buf_init(&w->held, HELD_MAX);
	sk_buf_init(&w->unsent, SIZE_MAX);
	w->fn = fn;
	w->ud = ud;
	w->events = events;
	w->gen = gen;
	w->internal = internal;
	err = sk__loop_sync(loop, fd, w);
	if (err < 0)
		return err;
	w->in_use = true;
	return 0;
}

int sk_loop_add_fd(struct sk_loop *loop, int fd, unsigned events, sk_io_fn *fn, void *ud)
{
	return sk__loop_add_watcher(loop, fd, events & (SK_EV_READ | SK_EV_WRITE), fn, ud,
	                            (events & SK_EV_BACKGROUND) != 0);
}

int sk_loop_mod_fd(struct sk_loop *loop, int fd, unsigned events)
{
	struct sk__watcher *w = sk__loop_find(loop, fd);
	if (!w)
		return -ENOENT;
	events &= SK_EV_READ | SK_EV_WRITE;
	if ((events & SK_EV_READ) && w->recv != RECV_OFF)
		return SK_EINVAL; /* the receive owns reading */
	unsigned old = w->events;
	w->events = events;
	int err = sk__loop_sync(loop, fd, w);
	if (err < 0)
		w->events = old;
	return err;
}

int sk_loop_del_fd(struct sk_loop *loop, int fd)
{
	struct sk__watcher *w = sk__loop_find(loop, fd);
	if (!w)
		return -ENOENT;
	if (w->armed)
		sk__loop_poll_del(loop->poll, fd);
	if (w->busy)
		loop->n_busy_fds--;
	/* Their ends find no watcher. */
	loop->be->forget(loop, fd, w);
	sk_buf_fini(&w->held);
	sk_buf_fini(&w->unsent);
	if (w->recv == RECV_QUEUED || w->recv == RECV_QUEUED_END)
		loop->n_queued--;
	uint32_t gen = w->gen;
	memset(w, 0, sizeof *w);
	w->gen = gen;
	return 0;
}

unsigned sk_loop_fd_events(const struct sk_loop *loop, int fd)
{
	const struct sk__watcher *w = sk__loop_find(loop, fd);
	return w ? w->events : 0;
}

/* For one fd the backend's needs (a receive or send it carries on
 * readiness) go first, then the owner's events. */
int sk__loop_dispatch(struct sk_loop *loop, const struct sk__loop_event *events, int n)
{
	int ran = 0;
	for (int i = 0; i < n && !loop->stopping; i++) {
		int fd = sk__loop_key_fd(events[i].data);
		uint64_t key = events[i].data;
		unsigned ev = events[i].events;
		struct sk__watcher *w = sk__loop_find_key(loop, key);
		/* Deleted, or deleted and re-added, earlier in this iteration. */
		if (!w || !w->armed)
			continue;
		ran += loop->be->ready(loop, fd, w, ev);
		if (!(w = sk__loop_find_key(loop, key)))
			continue;
		unsigned mine = ev & (w->events | (w->events ? SK_EV_ERROR : 0));
		if (mine) {
			w->fn(loop, fd, mine, w->ud);
			ran++;
		}
	}
	return ran;
}

/* --- timers --- */

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

/* heap_index of a timer on the overdue list. */
#define OVERDUE (SIZE_MAX - 1)

void sk_loop_timer_stop(struct sk_loop *loop, struct sk_timer *timer)
{
	if (timer->heap_index == OVERDUE) {
		/* Only after an allocation failure: short lists. */
		struct sk_timer **lists[2] = { &loop->overdue, &loop->firing };
		for (int i = 0; i < 2; i++)
			for (struct sk_timer **p = lists[i]; *p; p = &(*p)->next_overdue)
				if (*p == timer) {
					*p = timer->next_overdue;
					break;
				}
		timer->heap_index = SIZE_MAX;
	} else if (sk_timer_is_active(timer)) {
		sk__loop_heap_remove(&loop->timers, timer);
	}
}

void sk_loop_timer_start(struct sk_loop *loop, struct sk_timer *timer, uint64_t after_ms)
{
	sk_loop_timer_stop(loop, timer);
	timer->due_ms = loop->now_ms + after_ms;
	timer->seq = loop->timer_seq++;
	/* The heap grows by doubling; if even that fails the timer fires on
	 * the next iteration rather than never, so a connection cannot outlive
	 * its timeout. Not now: a callback that restarts its timer would
	 * recurse for as long as the heap cannot grow. */
	if (sk__loop_heap_push(&loop->timers, timer) < 0) {
		timer->heap_index = OVERDUE;
		timer->next_overdue = loop->overdue;
		loop->overdue = timer;
	}
}

/* A timer restarted from its own callback for "0 ms" waits for the next
 * iteration, so a busy timer cannot starve I/O. */
int sk__loop_run_timers(struct sk_loop *loop)
{
	int n = 0;
	uint64_t now = loop->now_ms;
	struct sk_timer *t;
	/* Timers the heap had no room for: each fires once; one restarted
	 * from its callback lands on the heap or the next iteration's list. */
	loop->firing = loop->overdue;
	loop->overdue = NULL;
	while ((t = loop->firing) && !loop->stopping) {
		loop->firing = t->next_overdue;
		t->heap_index = SIZE_MAX;
		t->fn(loop, t, t->ud);
		n++;
	}
	while ((t = loop->firing)) {
		/* Stopped part way: the rest waits for the next run. */
		loop->firing = t->next_overdue;
		t->next_overdue = loop->overdue;
		loop->overdue = t;
	}
	/* Only timers started before this pass: one restarted from its own
	 * callback for 0 ms fires on the next iteration (the heap orders timers
	 * due at once by when they were started). */
	uint64_t started_before = loop->timer_seq;
	while ((t = sk__loop_heap_top(&loop->timers)) && t->due_ms <= now && t->seq < started_before) {
		sk__loop_heap_remove(&loop->timers, t);
		t->fn(loop, t, t->ud);
		n++;
		if (loop->stopping)
			break;
	}
	return n;
}

int sk__loop_timeout(const struct sk_loop *loop, int timeout_ms)
{
	if (loop->overdue)
		return 0;
	const struct sk_timer *t = sk__loop_heap_top(&loop->timers);
	if (!t)
		return timeout_ms;
	uint64_t wait = t->due_ms > loop->now_ms ? t->due_ms - loop->now_ms : 0;
	if (wait > INT32_MAX)
		wait = INT32_MAX;
	if (timeout_ms < 0 || (uint64_t)timeout_ms > wait)
		return (int)wait;
	return timeout_ms;
}
