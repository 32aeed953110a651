/* sk_loop: the loop itself. It owns the poller, the fd table and timers
 * (loop_fd.c), a backend for stream I/O (epoll, or io_uring once asked),
 * the signalfd and a wakeup eventfd, and runs iterations: the backend's
 * wait and callbacks, receivers that resumed, then due timers. */
#include <sockit/err.h>
#include <sockit/loop.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "loop/loop_internal.h"

static void on_wakeup(struct sk_loop *loop, int fd, unsigned events, void *ud)
{
	(void)events;
	(void)ud;
	uint64_t count;
	/* Drain the counter; EAGAIN means another wakeup already drained it. */
	while (read(fd, &count, sizeof count) < 0 && errno == EINTR)
		;
	/* Workers write the same eventfd when work is done. */
	sk__loop_work_done(loop);
}

int sk_loop_new(struct sk_loop **out)
{
	struct sk_loop *loop = calloc(1, sizeof *loop);
	if (!loop)
		return SK_ENOMEM;
	loop->wake_fd = loop->signal_fd = -1;
	loop->be = &sk__loop_epoll;
	sigemptyset(&loop->signals);
	int err = sk__loop_poll_new(&loop->poll);
	if (err < 0)
		goto fail;
	err = loop->be->init(loop);
	if (err < 0)
		goto fail;
	loop->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (loop->wake_fd < 0) {
		err = -errno;
		goto fail;
	}
	err = sk__loop_add_watcher(loop, loop->wake_fd, SK_EV_READ, on_wakeup, NULL, true);
	if (err < 0)
		goto fail;
	loop->now_ms = sk__loop_clock_ms();
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
	sk__loop_pool_free(loop->pool); /* before the eventfd its workers write */
	if (loop->wake_fd >= 0)
		close(loop->wake_fd);
	if (loop->signal_fd >= 0)
		close(loop->signal_fd);
	loop->be->fini(loop);
	sk__loop_poll_free(loop->poll);
	sk__loop_heap_free(&loop->timers);
	sk__loop_free_watchers(loop);
	free(loop);
}

int sk_loop_use_io_uring(struct sk_loop *loop)
{
	if (loop->be == &sk__loop_uring)
		return 0;
	for (size_t fd = 0; fd < loop->n_watchers; fd++)
		if (loop->watchers[fd].recv != RECV_OFF || loop->watchers[fd].sending)
			return SK_EINVAL; /* a receive or send already runs on this backend */
	int err = sk__loop_uring.init(loop);
	if (err < 0)
		return err;
	loop->be->fini(loop);
	loop->be = &sk__loop_uring;
	return 0;
}

bool sk_loop_has_io_uring(const struct sk_loop *loop)
{
	return loop->be == &sk__loop_uring;
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
		int err = sk__loop_add_watcher(loop, fd, SK_EV_READ, on_signalfd, NULL, true);
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

int sk_loop_run_once(struct sk_loop *loop, int timeout_ms)
{
	int ran = loop->be->run_io(loop, sk__loop_timeout(loop, timeout_ms));
	if (ran < 0)
		return ran;
	if (loop->n_queued && !loop->stopping)
		ran += sk__loop_offer_queued(loop);
	if (!loop->stopping)
		ran += sk__loop_run_timers(loop);
	return ran;
}

int sk_loop_run(struct sk_loop *loop)
{
	loop->stopping = false;
	loop->now_ms = sk__loop_clock_ms();
	while (!loop->stopping) {
		if (loop->n_busy_fds == 0 && loop->timers.len == 0 && !loop->overdue && !loop->n_work)
			break;
		int n = sk_loop_run_once(loop, -1);
		if (n < 0)
			return n;
	}
	return 0;
}
