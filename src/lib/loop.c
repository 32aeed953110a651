/* sk_loop: fd watchers indexed by fd, a timer heap, signals via signalfd and
 * a wakeup eventfd, over the backend seam in internal.h. */
#include <sockit/buf.h>
#include <sockit/err.h>
#include <sockit/loop.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* Linux signal numbers, real-time ones included, stay below 65. */
#define SK_NSIG 65

struct watcher {
	sk_io_fn *fn;
	void *ud;
	unsigned events;  /* what the owner asked for */
	unsigned armed;   /* what epoll watches: events, plus the loop's own needs */
	uint32_t gen;   /* bumped on every add, so a stale event for a reused fd is dropped */
	bool in_use;
	bool internal;  /* the loop's own fds, or SK_EV_BACKGROUND: not counted as work */
	bool busy;      /* counted in n_busy_fds */
	/* Receiving (sk_loop_recv_start). */
	sk_recv_fn *recv_fn;
	sk_recv_end_fn *recv_end_fn;
	void *recv_ud;
	bool recv_on;       /* started, end not delivered */
	bool recv_paused;
	bool recv_queued;   /* resumed with held bytes: offered next iteration */
	bool end_held;      /* the end came while paused or with bytes held */
	int end_err;
	struct sk__op *recv_op; /* io_uring: the live multishot receive */
	struct sk__op *send_op; /* io_uring: the send in flight */
	struct sk_buf held; /* bytes received and not yet taken */
	/* Sending (sk_loop_send). */
	sk_sent_fn *sent_fn;
	void *sent_ud;
	bool sending;
	struct sk_buf unsent; /* epoll: what the socket did not take at once */
	size_t send_len;    /* the whole send, for its callback */
	int send_flags;
};

struct signal_slot {
	sk_signal_fn *fn;
	void *ud;
};

struct sk_loop {
	struct sk__backend *backend;
	struct sk__ring *ring;    /* NULL: epoll does everything */
	bool epoll_ready;         /* epoll may have events: ask it this iteration */
	size_t n_queued;          /* watchers with recv_queued */
	char *scratch;            /* epoll: where read(2) puts received bytes */
	struct watcher *watchers; /* indexed by fd */
	size_t n_watchers;        /* capacity of watchers[] */
	size_t n_busy_fds;        /* user watchers with events != 0 */
	struct sk__heap timers;
	struct sk_timer *overdue; /* timers the heap had no room for */
	struct sk_timer *firing;  /* the overdue ones run_timers is firing now */
	struct sk__pool *pool;    /* worker threads, started on first use */
	uint64_t timer_seq;       /* timers started so far */
	size_t n_work;            /* work started, done not yet called */
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

static void run_done(struct sk_loop *loop, struct sk_work *w)
{
	while (w) {
		struct sk_work *next = w->next;
		loop->n_work--;
		w->done(loop, w);
		w = next;
	}
}

static void on_wakeup(struct sk_loop *loop, int fd, unsigned events, void *ud)
{
	(void)events;
	(void)ud;
	uint64_t count;
	/* Drain the counter; EAGAIN means another wakeup already drained it. */
	while (read(fd, &count, sizeof count) < 0 && errno == EINTR)
		;
	/* Workers write the same eventfd when work is done. */
	if (loop->pool)
		run_done(loop, sk__pool_take_done(loop->pool));
}

void sk_loop_work_drain(struct sk_loop *loop)
{
	while (loop->n_work)
		run_done(loop, sk__pool_wait_done(loop->pool));
}

int sk_loop_work_start(struct sk_loop *loop, struct sk_work *work, sk_work_fn *fn,
                       sk_work_done_fn *done, void *ud)
{
	if (!loop->pool) {
		int err = sk__pool_new(&loop->pool, loop->wake_fd);
		if (err < 0)
			return err;
	}
	work->fn = fn;
	work->done = done;
	work->ud = ud;
	int err = sk__pool_submit(loop->pool, work);
	if (err < 0)
		return err;
	loop->n_work++;
	return 0;
}

size_t sk_loop_work_pending(const struct sk_loop *loop)
{
	return loop->n_work;
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

/* Held bytes can exceed one read only while an io_uring receive winds
 * down after a pause: a few of its 16 KiB buffers (loop_uring.c). */
#define HELD_MAX (8u << 20)

/* Bytes that arrive now can go straight to the receiver: it runs, is not
 * paused, and nothing received earlier waits to be offered first. */
static bool takes_bytes_now(const struct watcher *w)
{
	return w->recv_on && !w->recv_paused && !w->held.len && !w->recv_queued;
}

/* What epoll must watch for w: the owner's events, plus READ for a receive
 * and WRITE for an unfinished send when epoll does those (no io_uring). */
static unsigned wanted(const struct sk_loop *loop, const struct watcher *w)
{
	unsigned ev = w->events;
	if (!loop->ring) {
		if (takes_bytes_now(w) && !w->end_held)
			ev |= SK_EV_READ;
		if (w->unsent.len)
			ev |= SK_EV_WRITE;
	}
	return ev;
}

/* Brings epoll and the busy count in line with w. A paused watcher (events
 * 0) stays out of epoll so a hung-up peer we are not reading cannot make
 * level-triggered epoll spin. */
static int sync_watcher(struct sk_loop *loop, int fd, struct watcher *w)
{
	unsigned ev = wanted(loop, w);
	if (ev != w->armed) {
		int err;
		if (!w->armed)
			err = sk__backend_add(loop->backend, fd, ev, pack(fd, w->gen));
		else if (!ev)
			err = sk__backend_del(loop->backend, fd);
		else
			err = sk__backend_mod(loop->backend, fd, ev, pack(fd, w->gen));
		if (err < 0)
			return err;
		w->armed = ev;
	}
	bool busy = !w->internal && (ev || w->recv_on || w->sending);
	if (busy != w->busy) {
		loop->n_busy_fds += busy ? 1 : (size_t)-1;
		w->busy = busy;
	}
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
	memset(w, 0, sizeof *w);
	sk_buf_init(&w->held, HELD_MAX);
	sk_buf_init(&w->unsent, SIZE_MAX);
	w->fn = fn;
	w->ud = ud;
	w->events = events;
	w->gen = gen;
	w->internal = internal;
	err = sync_watcher(loop, fd, w);
	if (err < 0)
		return err;
	w->in_use = true;
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
	sk__pool_free(loop->pool); /* before the eventfd its workers write */
	if (loop->wake_fd >= 0)
		close(loop->wake_fd);
	if (loop->signal_fd >= 0)
		close(loop->signal_fd);
	sk__ring_free(loop->ring);
	sk__backend_free(loop->backend);
	sk__heap_free(&loop->timers);
	for (size_t fd = 0; fd < loop->n_watchers; fd++) {
		sk_buf_fini(&loop->watchers[fd].held);
		sk_buf_fini(&loop->watchers[fd].unsent);
	}
	free(loop->watchers);
	free(loop->scratch);
	free(loop);
}

int sk_loop_add_fd(struct sk_loop *loop, int fd, unsigned events, sk_io_fn *fn, void *ud)
{
	return add_watcher(loop, fd, events & (SK_EV_READ | SK_EV_WRITE), fn, ud,
	                   (events & SK_EV_BACKGROUND) != 0);
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
	if ((events & SK_EV_READ) && w->recv_on)
		return SK_EINVAL; /* the receive owns reading */
	unsigned old = w->events;
	w->events = events;
	int err = sync_watcher(loop, fd, w);
	if (err < 0)
		w->events = old;
	return err;
}

int sk_loop_del_fd(struct sk_loop *loop, int fd)
{
	struct watcher *w = find_watcher(loop, fd);
	if (!w)
		return -ENOENT;
	if (w->armed)
		sk__backend_del(loop->backend, fd);
	if (w->busy)
		loop->n_busy_fds--;
	/* Their ends find no watcher. The cancels go to the kernel now, while
	 * fd is still open; the kernel lets go of the socket when the loop
	 * next waits (a send to a client that never reads would otherwise
	 * hold it open). */
	if (w->recv_op)
		sk__ring_cancel(loop->ring, w->recv_op);
	if (w->send_op)
		sk__ring_cancel(loop->ring, w->send_op);
	if (w->recv_op || w->send_op)
		sk__ring_submit(loop->ring);
	sk_buf_fini(&w->held);
	sk_buf_fini(&w->unsent);
	if (w->recv_queued)
		loop->n_queued--;
	uint32_t gen = w->gen;
	memset(w, 0, sizeof *w);
	w->gen = gen;
	return 0;
}

unsigned sk_loop_fd_events(const struct sk_loop *loop, int fd)
{
	const struct watcher *w = find_watcher(loop, fd);
	return w ? w->events : 0;
}

/* --- completion-based stream I/O --- */

/* epoll reads into this; io_uring brings its own buffers. */
#define SCRATCH_SIZE 65536

int sk_loop_use_io_uring(struct sk_loop *loop)
{
	if (loop->ring)
		return 0;
	for (size_t fd = 0; fd < loop->n_watchers; fd++)
		if (loop->watchers[fd].recv_on || loop->watchers[fd].sending)
			return SK_EINVAL; /* a receive or send already runs on epoll */
	return sk__ring_new(&loop->ring, sk__backend_fd(loop->backend));
}

bool sk_loop_has_io_uring(const struct sk_loop *loop)
{
	return loop->ring != NULL;
}

static struct watcher *find_key(const struct sk_loop *loop, uint64_t key)
{
	struct watcher *w = find_watcher(loop, (int)(uint32_t)key);
	return w && w->gen == (uint32_t)(key >> 32) ? w : NULL;
}

/* Stops the source of bytes: the kernel's receive, or epoll's READ. */
static void stop_source(struct sk_loop *loop, int fd, struct watcher *w)
{
	if (w->recv_op)
		sk__ring_cancel(loop->ring, w->recv_op);
	sync_watcher(loop, fd, w);
}

/* Starts it again, unless a stopped io_uring receive has not ended yet
 * (its end restarts it: two receives at once could reorder bytes). */
static int start_source(struct sk_loop *loop, int fd, struct watcher *w)
{
	if (loop->ring && !w->recv_op) {
		int err = sk__ring_recv(loop->ring, fd, pack(fd, w->gen), &w->recv_op);
		if (err < 0)
			return err;
	}
	return sync_watcher(loop, fd, w);
}

static void queue(struct sk_loop *loop, struct watcher *w)
{
	if (!w->recv_queued) {
		w->recv_queued = true;
		loop->n_queued++;
	}
}

static void end_receiving(struct sk_loop *loop, int fd, struct watcher *w, int err)
{
	w->recv_on = false;
	w->end_held = false;
	sync_watcher(loop, fd, w);
	w->recv_end_fn(loop, fd, err, w->recv_ud);
}

/* Offers bytes to the receiver: held ones first, so order is kept. */
static void deliver(struct sk_loop *loop, int fd, uint64_t key, const char *p, size_t n)
{
	struct watcher *w = find_key(loop, key);
	if (!w || !w->recv_on)
		return;
	int err;
	if (!takes_bytes_now(w)) {
		if ((err = sk_buf_append(&w->held, p, n)) < 0)
			end_receiving(loop, fd, w, err);
		return;
	}
	size_t took = w->recv_fn(loop, fd, p, n, w->recv_ud);
	if (took >= n)
		return;
	w = find_key(loop, key);
	if (!w || !w->recv_on)
		return;
	if ((err = sk_buf_append(&w->held, p + took, n - took)) < 0) {
		end_receiving(loop, fd, w, err);
		return;
	}
	w->recv_paused = true;
	stop_source(loop, fd, w);
}

static void ended(struct sk_loop *loop, int fd, uint64_t key, int err)
{
	struct watcher *w = find_key(loop, key);
	if (!w || !w->recv_on)
		return;
	if (!takes_bytes_now(w)) {
		w->end_held = true; /* after the held bytes */
		w->end_err = err;
		sync_watcher(loop, fd, w);
		return;
	}
	end_receiving(loop, fd, w, err);
}

/* Held bytes (and a held end) go to receivers that resumed. Rare (only
 * after backpressure), so a scan of the watchers finds them. */
static int offer_queued(struct sk_loop *loop)
{
	int ran = 0;
	for (size_t i = 0; i < loop->n_watchers && loop->n_queued && !loop->stopping; i++) {
		int fd = (int)i;
		struct watcher *w = &loop->watchers[i];
		if (!w->in_use || !w->recv_queued)
			continue;
		w->recv_queued = false;
		loop->n_queued--;
		if (!w->recv_on || w->recv_paused)
			continue;
		ran++;
		uint64_t key = pack(fd, w->gen);
		if (w->held.len) {
			size_t took = w->recv_fn(loop, fd, sk_buf_head(&w->held), w->held.len, w->recv_ud);
			if (!(w = find_key(loop, key)) || !w->recv_on)
				continue;
			sk_buf_consume(&w->held, took);
			if (w->held.len) {
				w->recv_paused = true;
				sync_watcher(loop, fd, w);
				continue;
			}
		}
		/* A receiver that took every held byte may still have paused
		 * inside the callback: its resume starts the source (or delivers
		 * the end). Starting it here fed a paused receiver's held bytes
		 * until HELD_MAX failed the receive (1 GiB through a relay whose
		 * stdout was slower than its socket, io_uring). */
		if (w->recv_paused)
			continue;
		if (w->end_held)
			end_receiving(loop, fd, w, w->end_err);
		else if (start_source(loop, fd, w) < 0)
			end_receiving(loop, fd, w, SK_ENOMEM);
	}
	return ran;
}

int sk_loop_recv_start(struct sk_loop *loop, int fd, sk_recv_fn *fn, sk_recv_end_fn *end_fn,
                       void *ud)
{
	struct watcher *w = find_watcher(loop, fd);
	if (!w)
		return -ENOENT;
	if (w->recv_on)
		return -EEXIST;
	if (w->events & SK_EV_READ)
		return SK_EINVAL; /* one reader: the receive or the owner's READ */
	if (!loop->ring && !loop->scratch && !(loop->scratch = malloc(SCRATCH_SIZE)))
		return SK_ENOMEM;
	w->recv_fn = fn;
	w->recv_end_fn = end_fn;
	w->recv_ud = ud;
	w->recv_on = true;
	w->recv_paused = false;
	int err = start_source(loop, fd, w);
	if (err < 0) {
		w->recv_on = false;
		sync_watcher(loop, fd, w);
	}
	return err;
}

void sk_loop_recv_pause(struct sk_loop *loop, int fd)
{
	struct watcher *w = find_watcher(loop, fd);
	if (!w || !w->recv_on || w->recv_paused)
		return;
	w->recv_paused = true;
	stop_source(loop, fd, w);
}

void sk_loop_recv_resume(struct sk_loop *loop, int fd)
{
	struct watcher *w = find_watcher(loop, fd);
	if (!w || !w->recv_on || !w->recv_paused)
		return;
	w->recv_paused = false;
	if (w->held.len || w->end_held) {
		queue(loop, w); /* offered next iteration, not inside this call */
		sync_watcher(loop, fd, w);
	} else if (start_source(loop, fd, w) < 0) {
		w->end_held = true;
		w->end_err = SK_ENOMEM;
		queue(loop, w);
	}
}

/* epoll: the socket is readable. */
static void read_ready(struct sk_loop *loop, int fd, struct watcher *w)
{
	uint64_t key = pack(fd, w->gen);
	ssize_t n = read(fd, loop->scratch, SCRATCH_SIZE);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0)
		deliver(loop, fd, key, loop->scratch, (size_t)n);
	else
		ended(loop, fd, key, n == 0 ? 0 : -errno);
}

static void send_done(struct sk_loop *loop, int fd, struct watcher *w, long n)
{
	w->sending = false;
	w->send_op = NULL;
	/* Storage handed over by sk_loop_send_buf, or grown for a big copy:
	 * not kept for a connection that may stay idle. */
	if (w->unsent.cap > SK__UNSENT_KEEP)
		sk_buf_fini(&w->unsent);
	else
		sk_buf_consume(&w->unsent, w->unsent.len);
	sync_watcher(loop, fd, w);
	w->sent_fn(loop, fd, n, w->sent_ud);
}

/* epoll: the socket takes more of an unfinished send. */
static void write_ready(struct sk_loop *loop, int fd, struct watcher *w)
{
	while (w->unsent.len) {
		ssize_t n = send(fd, sk_buf_head(&w->unsent), w->unsent.len, MSG_NOSIGNAL | w->send_flags);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			send_done(loop, fd, w, -errno);
			return;
		}
		sk_buf_consume(&w->unsent, (size_t)n);
	}
	send_done(loop, fd, w, (long)w->send_len);
}

long sk_loop_send(struct sk_loop *loop, int fd, const void *buf, size_t len, int flags,
                  sk_sent_fn *fn, void *ud)
{
	struct watcher *w = find_watcher(loop, fd);
	if (!w)
		return -ENOENT;
	if (w->sending)
		return -EBUSY;
	if (loop->ring) {
		int err = sk__ring_send(loop->ring, fd, pack(fd, w->gen), buf, len, flags, &w->send_op);
		if (err < 0)
			return err;
	} else {
		size_t off = 0;
		while (off < len) {
			ssize_t n = send(fd, (const char *)buf + off, len - off, MSG_NOSIGNAL | flags);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == EAGAIN)
				break;
			if (n < 0)
				return -errno;
			off += (size_t)n;
		}
		if (off == len)
			return (long)len;
		/* The socket is full: keep the rest and finish on POLLOUT. */
		if (sk_buf_append(&w->unsent, (const char *)buf + off, len - off) < 0)
			return SK_ENOMEM;
		w->send_len = len;
		w->send_flags = flags;
	}
	w->sent_fn = fn;
	w->sent_ud = ud;
	w->sending = true;
	sync_watcher(loop, fd, w);
	return SK_EINPROGRESS;
}

long sk_loop_send_buf(struct sk_loop *loop, int fd, struct sk_buf *b, int flags, sk_sent_fn *fn,
                      void *ud)
{
	struct watcher *w = find_watcher(loop, fd);
	if (!w)
		return -ENOENT;
	if (w->sending)
		return -EBUSY;
	size_t len = b->len;
	if (loop->ring) {
		/* Small sends are copied into the op (b keeps its storage for the
		 * next ones); big ones hand their storage over: no copy. */
		if (len <= SK__RING_SEND_INLINE) {
			long n = sk_loop_send(loop, fd, sk_buf_head(b), len, flags, fn, ud);
			if (n >= 0 || n == SK_EINPROGRESS)
				sk_buf_consume(b, len);
			return n;
		}
		int err = sk__ring_send_owned(loop->ring, fd, pack(fd, w->gen), b->data, sk_buf_head(b), len,
		                              flags, &w->send_op);
		if (err < 0)
			return err;
		sk_buf_init(b, b->max);
	} else {
		size_t off = 0;
		while (off < len) {
			ssize_t n = send(fd, sk_buf_head(b) + off, len - off, MSG_NOSIGNAL | flags);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == EAGAIN)
				break;
			if (n < 0)
				return -errno;
			off += (size_t)n;
		}
		sk_buf_consume(b, off);
		if (off == len)
			return (long)len;
		/* The socket is full: the rest's storage becomes the loop's. */
		sk_buf_fini(&w->unsent);
		w->unsent = *b;
		sk_buf_init(b, b->max);
		w->send_len = len;
		w->send_flags = flags;
	}
	w->sent_fn = fn;
	w->sent_ud = ud;
	w->sending = true;
	sync_watcher(loop, fd, w);
	return SK_EINPROGRESS;
}

/* io_uring completions, by the key each op carries. */
static void ring_on_recv(void *ctx, uint64_t key, const char *data, int n)
{
	struct sk_loop *loop = ctx;
	deliver(loop, (int)(uint32_t)key, key, data, (size_t)n);
}

static void ring_on_recv_end(void *ctx, uint64_t key, int res)
{
	struct sk_loop *loop = ctx;
	int fd = (int)(uint32_t)key;
	struct watcher *w = find_key(loop, key);
	if (!w)
		return;
	w->recv_op = NULL;
	if (res == -ECANCELED) {
		/* Stopped as asked; resumed since, with nothing held: go on. */
		if (takes_bytes_now(w) && start_source(loop, fd, w) < 0)
			ended(loop, fd, key, SK_ENOMEM);
		return;
	}
	ended(loop, fd, key, res);
}

static void ring_on_sent(void *ctx, uint64_t key, ssize_t n)
{
	struct sk_loop *loop = ctx;
	int fd = (int)(uint32_t)key;
	struct watcher *w = find_key(loop, key);
	if (w && w->sending)
		send_done(loop, fd, w, (long)n);
}

static void ring_on_epoll(void *ctx)
{
	struct sk_loop *loop = ctx;
	loop->epoll_ready = true;
}

static const struct sk__ring_handlers ring_handlers = {
	.on_recv = ring_on_recv,
	.on_recv_end = ring_on_recv_end,
	.on_sent = ring_on_sent,
	.on_epoll = ring_on_epoll,
};

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
		sk__heap_remove(&loop->timers, timer);
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
	if (sk__heap_push(&loop->timers, timer) < 0) {
		timer->heap_index = OVERDUE;
		timer->next_overdue = loop->overdue;
		loop->overdue = timer;
	}
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
	 * callback for 0 ms fires on the next iteration, so a busy timer
	 * cannot starve I/O. */
	uint64_t started_before = loop->timer_seq;
	while ((t = sk__heap_top(&loop->timers)) && t->due_ms <= now && t->seq < started_before) {
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
	if (loop->overdue)
		return 0;
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

/* Runs the callbacks of epoll's events. For one fd the loop's own needs
 * (an emulated receive or send) go first, then the owner's events. */
static int dispatch(struct sk_loop *loop, const struct sk__event *events, int n)
{
	int ran = 0;
	for (int i = 0; i < n && !loop->stopping; i++) {
		int fd = (int)(uint32_t)events[i].data;
		uint64_t key = events[i].data;
		unsigned ev = events[i].events;
		struct watcher *w = find_key(loop, key);
		/* Deleted, or deleted and re-added, earlier in this iteration. */
		if (!w || !w->armed)
			continue;
		if (!loop->ring && w->recv_on && (w->armed & ~w->events & SK_EV_READ) &&
		    (ev & (SK_EV_READ | SK_EV_ERROR))) {
			read_ready(loop, fd, w);
			ran++;
			if (!(w = find_key(loop, key)))
				continue;
		}
		if (w->unsent.len && (ev & (SK_EV_WRITE | SK_EV_ERROR))) {
			write_ready(loop, fd, w);
			ran++;
			if (!(w = find_key(loop, key)))
				continue;
		}
		unsigned mine = ev & (w->events | (w->events ? SK_EV_ERROR : 0));
		if (mine) {
			w->fn(loop, fd, mine, w->ud);
			ran++;
		}
	}
	return ran;
}

/* io_uring asks for this many completions per wait when it has this many
 * receives running: a pass over several connections costs one system call
 * (bench/http.sh). Few connections wait for one, so latency stays put. */
static unsigned ring_batch(const struct sk_loop *loop)
{
	size_t ops = sk__ring_ops(loop->ring);
	if (ops < 16)
		return 1;
	return ops / 2 > 32 ? 32 : (unsigned)(ops / 2);
}

static int run_ring_once(struct sk_loop *loop, int timeout, struct sk__event *events, int max)
{
	if (loop->epoll_ready || loop->n_queued)
		timeout = 0;
	int err = sk__ring_wait(loop->ring, timeout, ring_batch(loop));
	/* The clock first, then the handlers: a head that arrives after a
	 * 10 s sleep must not be timed from before it (a spurious 408). */
	loop->now_ms = monotonic_ms();
	if (err < 0)
		return err;
	int ran = sk__ring_reap(loop->ring, &ring_handlers, loop);
	if (loop->epoll_ready && !loop->stopping) {
		loop->epoll_ready = false;
		int m = sk__backend_wait(loop->backend, events, max, 0);
		if (m < 0)
			return m;
		/* Level-triggered fds still ready do not wake the ring's poll
		 * again: ask epoll again next time while it has events. */
		loop->epoll_ready = m > 0;
		ran += dispatch(loop, events, m);
	}
	return ran;
}

int sk_loop_run_once(struct sk_loop *loop, int timeout_ms)
{
	struct sk__event events[256];
	int timeout = timeout_for(loop, timeout_ms);
	int ran;
	if (loop->ring) {
		ran = run_ring_once(loop, timeout, events, 256);
		if (ran < 0)
			return ran;
	} else {
		int n = sk__backend_wait(loop->backend, events, 256, loop->n_queued ? 0 : timeout);
		loop->now_ms = monotonic_ms();
		if (n < 0)
			return n;
		ran = dispatch(loop, events, n);
	}
	if (loop->n_queued && !loop->stopping)
		ran += offer_queued(loop);
	if (!loop->stopping)
		ran += run_timers(loop);
	return ran;
}

int sk_loop_run(struct sk_loop *loop)
{
	loop->stopping = false;
	loop->now_ms = monotonic_ms();
	while (!loop->stopping) {
		if (loop->n_busy_fds == 0 && loop->timers.len == 0 && !loop->overdue && !loop->n_work)
			break;
		int n = sk_loop_run_once(loop, -1);
		if (n < 0)
			return n;
	}
	return 0;
}
