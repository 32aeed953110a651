/* Internals of the loop layer (src/lib/loop/), shared between its files;
 * never installed, never in include/. */
#ifndef SOCKIT_LOOP_INTERNAL_H
#define SOCKIT_LOOP_INTERNAL_H

/* --- The poll backend seam (loop_poll.c) -------------------------------------
 * loop.c speaks only through these calls, so a poll(2) backend could replace
 * epoll for tests or other kernels. data is handed back with each event. */
#include <stdint.h>
#include <sys/types.h>

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

/* --- The io_uring side of the loop (loop_ring.c) ----------------------------
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
/* The epoll fd, for the ring to watch. */
int sk__loop_poll_fd(const struct sk__loop_poll *b);

/* --- Worker threads (loop_work.c) ------------------------------------------
 * The pool behind sk_loop_work_start(). Workers write wake_fd when work is
 * done; the loop takes the done list and runs the callbacks. */
struct sk__loop_pool;
struct sk_work;

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

/* --- The timer heap (timer.c) ------------------------------------------------
 * A binary min-heap of timer pointers ordered by due_ms; each timer knows its
 * index so it can be removed or moved in O(log n). */
struct sk_timer;

struct sk__loop_heap {
	struct sk_timer **items;
	size_t len, cap;
};

int sk__loop_heap_push(struct sk__loop_heap *h, struct sk_timer *t);
void sk__loop_heap_remove(struct sk__loop_heap *h, struct sk_timer *t);
struct sk_timer *sk__loop_heap_top(const struct sk__loop_heap *h);
void sk__loop_heap_free(struct sk__loop_heap *h);

#endif
