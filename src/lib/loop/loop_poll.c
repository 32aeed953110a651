/* The readiness poller under both of the loop's backends: epoll, in five calls
 * and nothing else. */
#include <sockit/loop.h>

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "loop/loop_internal.h"

/* epoll_wait fills at most this many events per call; more wait for the next
 * iteration, which costs nothing with level-triggered watchers. */
#define EPOLL_BATCH 256

struct sk__loop_poll {
	int epfd;
	struct epoll_event ready[EPOLL_BATCH];
};

int sk__loop_poll_new(struct sk__loop_poll **out)
{
	struct sk__loop_poll *b = malloc(sizeof *b);
	if (!b)
		return -ENOMEM;
	b->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (b->epfd < 0) {
		int err = -errno;
		free(b);
		return err;
	}
	*out = b;
	return 0;
}

void sk__loop_poll_free(struct sk__loop_poll *b)
{
	if (!b)
		return;
	close(b->epfd);
	free(b);
}

static uint32_t to_epoll(unsigned events)
{
	return (events & SK_EV_READ ? EPOLLIN | EPOLLRDHUP : 0) | (events & SK_EV_WRITE ? EPOLLOUT : 0);
}

static int ctl(struct sk__loop_poll *b, int op, int fd, unsigned events, uint64_t data)
{
	struct epoll_event ev = { .events = to_epoll(events), .data.u64 = data };
	return epoll_ctl(b->epfd, op, fd, &ev) < 0 ? -errno : 0;
}

int sk__loop_poll_add(struct sk__loop_poll *b, int fd, unsigned events, uint64_t data)
{
	return ctl(b, EPOLL_CTL_ADD, fd, events, data);
}

int sk__loop_poll_mod(struct sk__loop_poll *b, int fd, unsigned events, uint64_t data)
{
	return ctl(b, EPOLL_CTL_MOD, fd, events, data);
}

int sk__loop_poll_del(struct sk__loop_poll *b, int fd)
{
	/* Linux < 2.6.9 wanted a non-NULL event here; pass one anyway. */
	struct epoll_event ev = { 0 };
	return epoll_ctl(b->epfd, EPOLL_CTL_DEL, fd, &ev) < 0 ? -errno : 0;
}

int sk__loop_poll_wait(struct sk__loop_poll *b, struct sk__loop_event *events, int max,
                       int timeout_ms)
{
	if (max > EPOLL_BATCH)
		max = EPOLL_BATCH;
	int n = epoll_wait(b->epfd, b->ready, max, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		uint32_t e = b->ready[i].events;
		events[i].data = b->ready[i].data.u64;
		/* A peer's FIN (RDHUP) is readable: read() will return 0. */
		events[i].events = (e & (EPOLLIN | EPOLLRDHUP) ? SK_EV_READ : 0) |
		                   (e & EPOLLOUT ? SK_EV_WRITE : 0) |
		                   (e & (EPOLLERR | EPOLLHUP) ? SK_EV_ERROR : 0);
	}
	return n;
}

int sk__loop_poll_fd(const struct sk__loop_poll *b)
{
	return b->epfd;
}
