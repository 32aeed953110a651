/* sk_loop: one reactor per thread. File descriptors, timers and signals are
 * delivered as callbacks from sk_loop_run().
 *
 * - fd watchers are indexed by fd (an array, no hashing);
 * - timers are caller-owned structs in a binary min-heap: start, stop and
 *   restart are O(log n), so one idle timer per connection is cheap;
 * - signals arrive through signalfd, as ordinary callbacks, never in a
 *   handler context;
 * - the clock is CLOCK_MONOTONIC in milliseconds, read once per iteration.
 *
 * The loop never frees user data and never closes an fd it did not create.
 * Every function may be called from inside a callback, including deleting the
 * watcher whose callback is running. None of it is thread-safe except
 * sk_loop_wakeup(), which any thread or signal handler may call. */
#ifndef SOCKIT_LOOP_H
#define SOCKIT_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sk_loop;
struct sk_timer;

/* Event bits for fd watchers. */
#define SK_EV_READ  0x1u
#define SK_EV_WRITE 0x2u
#define SK_EV_ERROR 0x4u /* delivered, never requested: EPOLLERR or EPOLLHUP */
/* Given to sk_loop_add_fd: a watcher that does not keep sk_loop_run()
 * running (a log waiting for its reader must not hold a stopping server). */
#define SK_EV_BACKGROUND 0x8u

typedef void sk_io_fn(struct sk_loop *loop, int fd, unsigned events, void *ud);
typedef void sk_timer_fn(struct sk_loop *loop, struct sk_timer *timer, void *ud);
typedef void sk_signal_fn(struct sk_loop *loop, int signo, void *ud);

/* A timer lives in the caller's memory (typically inside a connection struct)
 * and must stay put while it is started. Fields are the loop's. */
struct sk_timer {
	uint64_t due_ms;
	uint64_t seq;      /* when it was started, in the loop's count: orders timers due at once */
	size_t heap_index; /* SIZE_MAX when stopped */
	sk_timer_fn *fn;
	void *ud;
	struct sk_timer *next_overdue; /* the heap could not grow: fires next iteration */
};

/* Creates a loop. Returns 0 and *out, or a negative errno (SK_ENOMEM, EMFILE). */
int sk_loop_new(struct sk_loop **out);

/* Frees the loop and the fds it created (epoll, signalfd, eventfd). Watched
 * fds are not closed; their owners close them. Accepts NULL. */
void sk_loop_free(struct sk_loop *loop);

/* Watches fd for events (SK_EV_READ | SK_EV_WRITE, level-triggered); fn(ud)
 * is called with what happened. One watcher per fd: SK_EEXIST if fd already
 * has one. ud is borrowed and must outlive the watcher. */
int sk_loop_add_fd(struct sk_loop *loop, int fd, unsigned events, sk_io_fn *fn, void *ud);

/* Changes the events watched on fd. 0 pauses the watcher without removing it
 * (how backpressure stops reading a peer). */
int sk_loop_mod_fd(struct sk_loop *loop, int fd, unsigned events);

/* Stops watching fd; call before close(fd). Pending events for fd in the
 * current iteration are dropped. */
int sk_loop_del_fd(struct sk_loop *loop, int fd);

/* The events currently requested for fd, or 0 if it is not watched. */
unsigned sk_loop_fd_events(const struct sk_loop *loop, int fd);

/* --- Completion-based stream I/O ---------------------------------------------
 * Receiving and sending on a connected stream socket that the loop watches
 * (sk_loop_add_fd, any events, 0 included). With io_uring (see
 * sk_loop_use_io_uring) every receive and send of one iteration costs one
 * system call together; without it the loop does them with read(2) and
 * send(2) on readiness, and the caller cannot tell the difference. */

/* Bytes that arrived: returns how many of the n it took. Taking fewer
 * pauses receiving (backpressure); the rest is offered again, first, after
 * sk_loop_recv_resume(). */
typedef size_t sk_recv_fn(struct sk_loop *loop, int fd, const char *data, size_t n, void *ud);
/* The end of receiving: 0 for the peer's EOF, or a negative errno. Called
 * once; the receive is over after it (the watcher stays). */
typedef void sk_recv_end_fn(struct sk_loop *loop, int fd, int err, void *ud);
/* A send finished: n is every byte of it, or a negative errno. */
typedef void sk_sent_fn(struct sk_loop *loop, int fd, long n, void *ud);

/* Switches the loop to io_uring for completion-based I/O (Linux 6.1:
 * single-issuer rings with deferred task work, multishot receives into
 * provided buffers). Returns 0, or a negative errno and the loop keeps
 * epoll. Call before any receive starts. */
int sk_loop_use_io_uring(struct sk_loop *loop);
bool sk_loop_has_io_uring(const struct sk_loop *loop);

/* Starts receiving on a watched fd: data goes to fn, the end to end_fn.
 * The receive is the fd's only reader: SK_EINVAL if the watcher asks for
 * SK_EV_READ (and sk_loop_mod_fd refuses READ while it runs). */
int sk_loop_recv_start(struct sk_loop *loop, int fd, sk_recv_fn *fn, sk_recv_end_fn *end_fn,
                       void *ud);
/* Pauses and resumes receiving. Bytes already on their way are kept and
 * offered after the resume. */
void sk_loop_recv_pause(struct sk_loop *loop, int fd);
void sk_loop_recv_resume(struct sk_loop *loop, int fd);

/* Sends len bytes of buf, all of them; one send at a time per fd. Returns
 * len when they went out at once (fn is not called), SK_EINPROGRESS when fn
 * will report the end (the loop kept a copy: buf may change or go), or a
 * negative errno. flags: MSG_MORE. */
long sk_loop_send(struct sk_loop *loop, int fd, const void *buf, size_t len, int flags,
                  sk_sent_fn *fn, void *ud);

/* --- Work off the loop ---------------------------------------------------------
 * Blocking calls (fsync, link, reading a huge directory) run on a few worker
 * threads the loop starts the first time they are needed, so that the loop
 * keeps serving everyone else meanwhile. */

struct sk_work;
/* Runs on a worker thread: it may block, and must touch only what the work
 * owns (never the loop, never state the loop's callbacks use meanwhile). */
typedef void sk_work_fn(struct sk_work *work);
/* Runs on the loop's thread once fn has returned. */
typedef void sk_work_done_fn(struct sk_loop *loop, struct sk_work *work);

/* Caller-owned (typically inside a bigger struct, found back with
 * container_of or ud); it must stay put from start until done runs. */
struct sk_work {
	sk_work_fn *fn;
	sk_work_done_fn *done;
	void *ud;
	struct sk_work *next; /* the loop's */
};

/* Runs fn(work) on a worker, then done(loop, work) on the loop. Work in
 * flight keeps sk_loop_run() running. Returns 0, or a negative errno when
 * no thread can be started (nothing runs then). Freeing the loop waits for
 * running work and drops queued work without calling done: free the loop
 * when no work is in flight. */
int sk_loop_work_start(struct sk_loop *loop, struct sk_work *work, sk_work_fn *fn,
                       sk_work_done_fn *done, void *ud);

/* Work started and not yet done. */
size_t sk_loop_work_pending(const struct sk_loop *loop);

/* Waits for all work in flight and runs each done callback (nothing else
 * of the loop runs meanwhile): what a server's free does so that no work
 * outlives it. Blocks. */
void sk_loop_work_drain(struct sk_loop *loop);

/* Sends b's bytes, all of them, like sk_loop_send, without copying what
 * must wait: the loop takes b's storage for as long as the send needs it
 * (the kernel may read it until the end is reported, even after
 * sk_loop_del_fd) and frees it. On return b is empty, still usable, and
 * keeps its max; when everything went out at once it keeps its storage
 * too. Returns as sk_loop_send. */
struct sk_buf;
long sk_loop_send_buf(struct sk_loop *loop, int fd, struct sk_buf *b, int flags, sk_sent_fn *fn,
                      void *ud);

/* Prepares a stopped timer. */
void sk_timer_init(struct sk_timer *timer, sk_timer_fn *fn, void *ud);

/* (Re)starts timer to fire once, after_ms from the loop's current time. */
void sk_loop_timer_start(struct sk_loop *loop, struct sk_timer *timer, uint64_t after_ms);

/* Stops timer if it is started; safe on a stopped timer. */
void sk_loop_timer_stop(struct sk_loop *loop, struct sk_timer *timer);

bool sk_timer_is_active(const struct sk_timer *timer);

/* Delivers signo through the loop: the signal is blocked for the process
 * (signals belong to the program, so call this from the CLI, before threads
 * start) and read from a signalfd. One callback per signal number. */
int sk_loop_add_signal(struct sk_loop *loop, int signo, sk_signal_fn *fn, void *ud);

/* The loop's clock: CLOCK_MONOTONIC in ms, as read at the start of this
 * iteration (so every callback of one iteration sees one time). */
uint64_t sk_loop_now(const struct sk_loop *loop);

/* Runs until sk_loop_stop() is called, or until nothing is left to wait for
 * (no fd watchers with events and no timers). Returns 0, or a negative errno
 * if epoll_wait failed for a reason other than EINTR. */
int sk_loop_run(struct sk_loop *loop);

/* Runs one iteration: waits at most timeout_ms (-1: until something happens,
 * bounded by the next timer) and dispatches what happened. Returns the number
 * of callbacks run, or a negative errno. */
int sk_loop_run_once(struct sk_loop *loop, int timeout_ms);

/* Makes sk_loop_run() return after the current iteration. */
void sk_loop_stop(struct sk_loop *loop);

/* Wakes the loop from another thread or a signal handler (an eventfd write);
 * async-signal-safe. */
void sk_loop_wakeup(struct sk_loop *loop);

#endif
