/* Work off the loop: a few threads that run blocking calls (fsync, reading
 * a directory of 100,000 entries) so that no client waits for another's
 * disk. The loop hands work over under a mutex; a worker reports the end by
 * putting the work on a done list and writing the loop's wakeup eventfd,
 * and the loop runs the done callbacks on its own thread (on the wakeup
 * eventfd's callback, loop.c). */
#include <sockit/err.h>
#include <sockit/loop.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "loop/loop_internal.h"

struct sk__loop_pool {
	pthread_mutex_t mu;
	pthread_cond_t ready;       /* work queued, or quitting */
	pthread_cond_t done_cv;     /* work done (sk__loop_pool_wait_done) */
	struct sk_work *queue, *queue_tail;
	struct sk_work *done, *done_tail;
	pthread_t threads[SK_LOOP_WORKERS];
	size_t n_threads;
	size_t n_idle;              /* threads waiting on `ready` */
	bool quitting;
	int wake_fd;                /* the loop's eventfd: borrowed */
};

static void push(struct sk_work **head, struct sk_work **tail, struct sk_work *w)
{
	w->next = NULL;
	if (*tail)
		(*tail)->next = w;
	else
		*head = w;
	*tail = w;
}

static void *worker(void *arg)
{
	struct sk__loop_pool *p = arg;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->queue && !p->quitting) {
			p->n_idle++;
			pthread_cond_wait(&p->ready, &p->mu);
			p->n_idle--;
		}
		if (p->quitting)
			break;
		struct sk_work *w = p->queue;
		p->queue = w->next;
		if (!p->queue)
			p->queue_tail = NULL;
		pthread_mutex_unlock(&p->mu);
		w->fn(w);
		pthread_mutex_lock(&p->mu);
		push(&p->done, &p->done_tail, w);
		pthread_cond_broadcast(&p->done_cv);
		uint64_t one = 1;
		ssize_t n = write(p->wake_fd, &one, sizeof one);
		(void)n; /* EAGAIN: the counter is already non-zero */
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int sk__loop_pool_new(struct sk__loop_pool **out, int wake_fd)
{
	struct sk__loop_pool *p = calloc(1, sizeof *p);
	if (!p)
		return SK_ENOMEM;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->ready, NULL);
	pthread_cond_init(&p->done_cv, NULL);
	p->wake_fd = wake_fd;
	*out = p;
	return 0;
}

/* A new worker, with every signal blocked: signals belong to the loop's
 * thread (signalfd), and one delivered to a worker would take its default
 * action and end the process. */
static int start_thread(struct sk__loop_pool *p)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int err = pthread_create(&p->threads[p->n_threads], NULL, worker, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		return -err;
	p->n_threads++;
	return 0;
}

int sk__loop_pool_submit(struct sk__loop_pool *p, struct sk_work *w)
{
	pthread_mutex_lock(&p->mu);
	int err = 0;
	/* Threads start as work needs them: a server that never fsyncs has none. */
	if (p->n_idle == 0 && p->n_threads < SK_LOOP_WORKERS)
		err = start_thread(p);
	if (err < 0 && p->n_threads == 0) {
		pthread_mutex_unlock(&p->mu);
		return err;
	}
	push(&p->queue, &p->queue_tail, w);
	pthread_cond_signal(&p->ready);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

struct sk_work *sk__loop_pool_wait_done(struct sk__loop_pool *p)
{
	pthread_mutex_lock(&p->mu);
	while (!p->done)
		pthread_cond_wait(&p->done_cv, &p->mu);
	struct sk_work *list = p->done;
	p->done = p->done_tail = NULL;
	pthread_mutex_unlock(&p->mu);
	return list;
}

struct sk_work *sk__loop_pool_take_done(struct sk__loop_pool *p)
{
	pthread_mutex_lock(&p->mu);
	struct sk_work *list = p->done;
	p->done = p->done_tail = NULL;
	pthread_mutex_unlock(&p->mu);
	return list;
}

void sk__loop_pool_free(struct sk__loop_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->quitting = true;
	pthread_cond_broadcast(&p->ready);
	pthread_mutex_unlock(&p->mu);
	/* Work that is running finishes; work still queued never starts. */
	for (size_t i = 0; i < p->n_threads; i++)
		pthread_join(p->threads[i], NULL);
	pthread_cond_destroy(&p->ready);
	pthread_cond_destroy(&p->done_cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

/* --- on the loop's thread --- */

static void run_done(struct sk_loop *loop, struct sk_work *w)
{
	while (w) {
		struct sk_work *next = w->next;
		loop->n_work--;
		w->done(loop, w);
		w = next;
	}
}

void sk__loop_work_done(struct sk_loop *loop)
{
	if (loop->pool)
		run_done(loop, sk__loop_pool_take_done(loop->pool));
}

void sk_loop_work_drain(struct sk_loop *loop)
{
	while (loop->n_work)
		run_done(loop, sk__loop_pool_wait_done(loop->pool));
}

int sk_loop_work_start(struct sk_loop *loop, struct sk_work *work, sk_work_fn *fn,
                       sk_work_done_fn *done, void *ud)
{
	if (!loop->pool) {
		int err = sk__loop_pool_new(&loop->pool, loop->wake_fd);
		if (err < 0)
			return err;
	}
	work->fn = fn;
	work->done = done;
	work->ud = ud;
	int err = sk__loop_pool_submit(loop->pool, work);
	if (err < 0)
		return err;
	loop->n_work++;
	return 0;
}

size_t sk_loop_work_pending(const struct sk_loop *loop)
{
	return loop->n_work;
}
