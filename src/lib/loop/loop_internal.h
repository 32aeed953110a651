/* Internals of the loop layer (src/lib/loop/), shared between its files;
 * never installed, never in include/. Bottom to top, each file using only
 * those below it (make check-layers):
 *
 *   timer.c         the timer heap
 *   loop_work.c     the worker threads behind sk_loop_work_*
 *   loop_poll.c     the readiness poller (epoll) under both backends
 *   loop_ring.c     io_uring: multishot receives, sends, the ring's one wait
 *   loop_fd.c       the fd table (watchers) and the timers
 *   loop_stream.c   completion stream I/O: sk_loop_recv_*, sk_loop_send
 *   loop_epoll.c    the epoll backend: receive and send on readiness
 *   loop_uring.c    the io_uring backend: receive and send on the ring
 *   loop.c          the loop: create, run, stop, signals; picks the backend
 *
 * A backend is one table of operations (struct sk__loop_backend), chosen
 * once: nothing above it asks which one it is. */
#ifndef SOCKIT_LOOP_INTERNAL_H
#define SOCKIT_LOOP_INTERNAL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <sockit/buf.h>
#include <sockit/loop.h>

/* --- loop_poll.c: the readiness poller ---------------------------------------
 * The fd table speaks only through these calls, so a poll(2) poller could
 * replace epoll for tests or other kernels. data is handed back with each
 * event. */

struct sk__loop_poll;

struct sk__loop_event {
	uint64_t data;
	unsigned events; /* SK_EV_* */
};

int sk__loop_poll_new(struct sk__loop_poll **out);
void sk__loop_poll_free(struct sk__loop_poll *b);
int sk__loop_poll_add(struct sk__loop_poll *b, int fd, unsigned events, uint64_t data);
int sk__loop_poll_mod(struct sk__loop_poll *b, int fd, unsigned events, uint64_t data);
int sk__loop_poll_del(struct sk__loop_poll *b, int fd);
/* Waits up to timeout_ms (-1 forever); returns the number of events stored. */
int sk__loop_poll_wait(struct sk__loop_poll *b, struct sk__loop_event *events, int max,
                       int timeout_ms);
/* The epoll fd, for the ring to watch. */
int sk__loop_poll_fd(const struct sk__loop_poll *b);

/* --- loop_ring.c: io_uring ------------------------------------------------------
 * Completion-based stream I/O; keys are the loop's packed (fd, generation),
 * handed back with every completion. */
struct sk__loop_ring;
struct sk__loop_op;

/* How long a wait for a batch of completions may hold a lone one back. */
#define SK__LOOP_RING_COALESCE_US 50

struct sk__loop_ring_handlers {
	void (*on_recv)(void *ctx, uint64_t key, const char *data, int n);
	/* A receive ended: 0 EOF, -ECANCELED stopped as asked, or -errno. */
	void (*on_recv_end)(void *ctx, uint64_t key, int res);
	/* A send finished: all its bytes (n), or -errno. */
	void (*on_sent)(void *ctx, uint64_t key, ssize_t n);
	/* The epoll fd has something ready. */
	void (*on_epoll)(void *ctx);
};

int sk__loop_ring_new(struct sk__loop_ring **out, int epfd);
void sk__loop_ring_free(struct sk__loop_ring *r);
/* Starts a multishot receive on fd. */
int sk__loop_ring_recv(struct sk__loop_ring *r, int fd, uint64_t key, struct sk__loop_op **out);
/* Sends a copy of buf[0..len) whole (short sends are continued). */
int sk__loop_ring_send(struct sk__loop_ring *r, int fd, uint64_t key, const void *buf, size_t len,
                       int flags, struct sk__loop_op **out);
/* The same without the copy: p[0..len) lies inside storage, which the op
 * now owns (the kernel may read it until the completion, even after a
 * cancel) and frees with free(). */
int sk__loop_ring_send_owned(struct sk__loop_ring *r, int fd, uint64_t key, char *storage,
                             const char *p, size_t len, int flags, struct sk__loop_op **out);
/* Asks the kernel to stop a receive or a send; its end follows (a receive
 * may deliver data before: on_recv_end(-ECANCELED) closes it). */
void sk__loop_ring_cancel(struct sk__loop_ring *r, struct sk__loop_op *op);
/* Submits what is queued and waits up to timeout_ms (-1 forever) for
 * completions, for several when batch > 1. Returns 0 or a negative errno.
 * The handlers run in sk__loop_ring_reap, after the caller has read the clock:
 * a callback must see the time of the wakeup, not of the sleep. */
int sk__loop_ring_wait(struct sk__loop_ring *r, int timeout_ms, unsigned batch);
/* Runs the handlers of what completed; returns how many. */
int sk__loop_ring_reap(struct sk__loop_ring *r, const struct sk__loop_ring_handlers *h, void *ctx);
/* Hands queued requests to the kernel now. */
void sk__loop_ring_submit(struct sk__loop_ring *r);
/* Receives and sends in flight. */
size_t sk__loop_ring_ops(const struct sk__loop_ring *r);

/* --- loop_work.c: worker threads ------------------------------------------------
 * The pool behind sk_loop_work_start(). Workers write wake_fd when work is
 * done; the loop takes the done list and runs the callbacks. */
struct sk__loop_pool;

/* Threads at most: enough to keep a few fsyncs of different clients in
 * flight (each waits for the disk, not the CPU) without one thread per
 * upload. */
#define SK_LOOP_WORKERS 4

int sk__loop_pool_new(struct sk__loop_pool **out, int wake_fd);
/* Queues w (starting a thread if none is idle and fewer than the maximum run). */
int sk__loop_pool_submit(struct sk__loop_pool *p, struct sk_work *w);
/* The work finished since the last call, oldest first (linked by next). */
struct sk_work *sk__loop_pool_take_done(struct sk__loop_pool *p);
/* The same, waiting until there is some. */
struct sk_work *sk__loop_pool_wait_done(struct sk__loop_pool *p);
/* Joins the threads: running work finishes, queued work is dropped. */
void sk__loop_pool_free(struct sk__loop_pool *p);

/* --- timer.c: the timer heap -------------------------------------------------------
 * A binary min-heap of timer pointers ordered by due_ms; each timer knows its
 * index so it can be removed or moved in O(log n). */

struct sk__loop_heap {
	struct sk_timer **items;
	size_t len, cap;
};

int sk__loop_heap_push(struct sk__loop_heap *h, struct sk_timer *t);
void sk__loop_heap_remove(struct sk__loop_heap *h, struct sk_timer *t);
struct sk_timer *sk__loop_heap_top(const struct sk__loop_heap *h);
void sk__loop_heap_free(struct sk__loop_heap *h);

/* --- The loop's state ---------------------------------------------------------- */

/* Where a watcher's receive (sk_loop_recv_start) is. Bytes go straight to
 * the receiver only in RECV_ON; in every other started state what arrives
 * is held, in order, and the end too once it comes (the _END states).
 *
 *   OFF ─start─> ON ─pause, or the receiver took fewer─> PAUSED ─resume─> QUEUED
 *                 ^  └─end──> OFF (end delivered)           │ end           │ end
 *                 │                                         v               v
 *                 │                          PAUSED_END ─resume─> QUEUED_END
 *                 └── QUEUED, its held bytes all taken (next iteration) ─┘
 *                     QUEUED_END, its held bytes all taken: the end, OFF
 *
 * A queued receiver that pauses again goes back to PAUSED or PAUSED_END;
 * one that takes only part of its held bytes too. */
enum sk__recv_state {
	RECV_OFF,        /* never started, or its end delivered */
	RECV_ON,         /* bytes go to the receiver as they come */
	RECV_PAUSED,     /* paused (or took fewer than offered): arrivals are held */
	RECV_PAUSED_END, /* paused, and the end came after the held bytes */
	RECV_QUEUED,     /* resumed with bytes held: offered at the next iteration */
	RECV_QUEUED_END, /* resumed with the end (and maybe bytes) held */
};

/* One per fd up to the highest in use (loop->watchers): 192 bytes, the
 * small fields side by side so that no padding comes between them. */
struct sk__watcher {
	sk_io_fn *fn;
	void *ud;
	unsigned events;  /* what the owner asked for */
	unsigned armed;   /* what the poller watches: events, plus the backend's needs */
	uint32_t gen;   /* bumped on every add, so a stale event for a reused fd is dropped */
	bool in_use;
	bool internal;  /* the loop's own fds, or SK_EV_BACKGROUND: not counted as work */
	bool busy;      /* counted in n_busy_fds */
	bool sending;   /* a send (sk_loop_send) is under way */
	/* Receiving (sk_loop_recv_start). */
	enum sk__recv_state recv;
	int end_err;        /* RECV_*_END: the end to deliver after the held bytes */
	sk_recv_fn *recv_fn;
	sk_recv_end_fn *recv_end_fn;
	void *recv_ud;
	struct sk_buf held; /* bytes received and not yet taken */
	/* Sending (sk_loop_send). */
	sk_sent_fn *sent_fn;
	void *sent_ud;
	/* The epoll backend's: what the socket did not take at once. */
	struct sk_buf unsent;
	size_t send_len;    /* the whole send, for its callback */
	int send_flags;
	/* The io_uring backend's. */
	struct sk__loop_op *recv_op; /* the live multishot receive */
	struct sk__loop_op *send_op; /* the send in flight */
};

/* Sends of up to this many bytes are copied into the ring's op (a response
 * head with a small file); larger ones allocate, or hand their storage
 * over (sk_loop_send_buf). */
#define SK__LOOP_RING_SEND_INLINE 2048

/* Storage a watcher keeps for a send's unsent rest between sends (epoll);
 * more is freed when the send is done. */
#define SK__LOOP_UNSENT_KEEP 16384

/* One backend of the loop: how a watcher's stream I/O is carried out, and
 * what one iteration waits for. The loop picks one when it is created
 * (epoll) or told to (sk_loop_use_io_uring), and calls it only through
 * this table. Every slot is set. */
struct sk__loop_backend {
	const char *name;
	/* Makes the backend's state on loop (a ring, buffers). 0, or a negative
	 * errno and the loop keeps the backend it has. */
	int (*init)(struct sk_loop *loop);
	/* Frees that state; no receive or send is in flight. */
	void (*fini)(struct sk_loop *loop);
	/* One iteration's I/O: waits at most timeout_ms (-1: until something
	 * happens; at once when receivers wait in the queue), sets
	 * loop->now_ms after the wait and before any callback, then runs the
	 * callbacks of what happened: watchers' events (sk__loop_dispatch),
	 * received bytes and ends (sk__loop_deliver, sk__loop_recv_ended),
	 * finished sends (sk__loop_send_done). Returns the number of callbacks
	 * run, or a negative errno. */
	int (*run_io)(struct sk_loop *loop, int timeout_ms);
	/* The events the poller must watch on w's fd besides its owner's, for
	 * the receive and send this backend carries on readiness. */
	unsigned (*poll_events)(const struct sk__watcher *w);
	/* The poller reported ev on w's fd: carries on that receive or send,
	 * before the owner's callback (which runs after, if w still exists).
	 * Returns the number of callbacks run. */
	int (*ready)(struct sk_loop *loop, int fd, struct sk__watcher *w, unsigned ev);
	/* Starts the source of w's bytes (w's receive takes bytes now). 0 or a
	 * negative errno. */
	int (*recv_start)(struct sk_loop *loop, int fd, struct sk__watcher *w);
	/* Stops it: bytes already on their way still arrive (and are held). */
	void (*recv_stop)(struct sk_loop *loop, int fd, struct sk__watcher *w);
	/* Sends len bytes of buf, all of them: returns len when they went at
	 * once, SK_EINPROGRESS when sk__loop_send_done will report the end (the
	 * backend kept what it still has to send), or a negative errno. */
	long (*send)(struct sk_loop *loop, int fd, struct sk__watcher *w, const void *buf, size_t len,
	             int flags);
	/* The same for b's bytes without copying what must wait: takes b's
	 * storage for as long as the send needs it (and frees it), leaving b
	 * empty; when everything went at once b keeps its storage. */
	long (*send_buf)(struct sk_loop *loop, int fd, struct sk__watcher *w, struct sk_buf *b,
	                 int flags);
	/* w is being deleted, its fd still open: stops what is in flight for
	 * it; their ends will find no watcher. */
	void (*forget)(struct sk_loop *loop, int fd, struct sk__watcher *w);
};

extern const struct sk__loop_backend sk__loop_epoll; /* loop_epoll.c */
extern const struct sk__loop_backend sk__loop_uring; /* loop_uring.c */

/* Linux signal numbers, real-time ones included, stay below 65. */
#define SK_NSIG 65

struct sk__signal_slot {
	sk_signal_fn *fn;
	void *ud;
};

struct sk_loop {
	const struct sk__loop_backend *be;
	struct sk__loop_poll *poll;
	struct sk__watcher *watchers; /* indexed by fd */
	size_t n_watchers;        /* capacity of watchers[] */
	size_t n_busy_fds;        /* user watchers with events, a receive or a send */
	size_t n_queued;          /* watchers in RECV_QUEUED or RECV_QUEUED_END */
	struct sk__loop_heap timers;
	struct sk_timer *overdue; /* timers the heap had no room for */
	struct sk_timer *firing;  /* the overdue ones sk__loop_run_timers is firing now */
	struct sk__loop_pool *pool; /* worker threads, started on first use */
	uint64_t timer_seq;       /* timers started so far (orders timers due at once) */
	size_t n_work;            /* work started, done not yet called */
	uint64_t now_ms;
	bool stopping;
	int wake_fd;
	int signal_fd;
	sigset_t signals;
	struct sk__signal_slot on_signal[SK_NSIG];
	/* The epoll backend's. */
	char *scratch;            /* where read(2) puts received bytes */
	/* The io_uring backend's. */
	struct sk__loop_ring *ring;
	bool epoll_ready;         /* the poller may have events: ask it this iteration */
};

static inline uint64_t sk__loop_clock_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A watcher's key, handed back by the poller and the ring: a completion or
 * event for an fd deleted (and maybe reused) since finds no watcher. */
static inline uint64_t sk__loop_key(int fd, uint32_t gen)
{
	return (uint64_t)gen << 32 | (uint32_t)fd;
}

static inline int sk__loop_key_fd(uint64_t key)
{
	return (int)(uint32_t)key;
}

/* --- loop_fd.c: the fd table and the timers --- */

/* fd's watcher, or NULL. */
struct sk__watcher *sk__loop_find(const struct sk_loop *loop, int fd);
/* The watcher key names, or NULL if it was deleted since. */
struct sk__watcher *sk__loop_find_key(const struct sk_loop *loop, uint64_t key);
/* Watches fd (sk_loop_add_fd); internal: not counted as work. */
int sk__loop_add_watcher(struct sk_loop *loop, int fd, unsigned events, sk_io_fn *fn, void *ud,
                         bool internal);
/* Brings the poller and the busy count in line with w. */
int sk__loop_sync(struct sk_loop *loop, int fd, struct sk__watcher *w);
/* Runs the callbacks of n events from the poller. Returns how many ran. */
int sk__loop_dispatch(struct sk_loop *loop, const struct sk__loop_event *events, int n);
/* Fires the timers due by now_ms. Returns how many fired. */
int sk__loop_run_timers(struct sk_loop *loop);
/* timeout_ms (-1: none) shortened to the next timer. */
int sk__loop_timeout(const struct sk_loop *loop, int timeout_ms);
/* Frees the watchers' buffers and the table. */
void sk__loop_free_watchers(struct sk_loop *loop);

/* --- loop_stream.c: completion stream I/O, what the backends report --- */

/* Whether bytes arriving for w can go straight to its receiver. */
bool sk__loop_takes_bytes(const struct sk__watcher *w);
/* n bytes arrived for the watcher key names. */
void sk__loop_deliver(struct sk_loop *loop, uint64_t key, const char *p, size_t n);
/* Its receive ended: 0 for the peer's EOF, or a negative errno. */
void sk__loop_recv_ended(struct sk_loop *loop, uint64_t key, int err);
/* w's send finished: n is every byte of it, or a negative errno. The
 * backend has let go of it (nothing of it left in the watcher). */
void sk__loop_send_done(struct sk_loop *loop, int fd, struct sk__watcher *w, long n);
/* Offers held bytes (and held ends) to receivers that resumed. Returns how
 * many receivers it ran. */
int sk__loop_offer_queued(struct sk_loop *loop);

/* --- loop_work.c --- */

/* Runs the done callbacks of the work the workers finished. */
void sk__loop_work_done(struct sk_loop *loop);

#endif
