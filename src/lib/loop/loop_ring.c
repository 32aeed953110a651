/* io_uring for the loop's io_uring backend (loop_uring.c): completion-based
 * receive and send for stream sockets, and the one wait of the loop's
 * iteration. It knows no watcher: what completes goes to the handlers its
 * caller gives, by the key each op carries.
 *
 * Why: on loopback an HTTP request costs two system calls with epoll (read,
 * send) plus a share of epoll_wait; here a whole iteration's receives and
 * sends cost one io_uring_enter, and receiving needs no call at all (a
 * multishot recv fills buffers from a ring we hand the kernel). Measured
 * with a minimal responder on the benchmark machine: 8.0 µs of CPU per
 * 1 KiB request against 9.5 with epoll (bench/http.sh measures sockit).
 *
 * The epoll fd itself is watched by a multishot poll, so fds that stay on
 * epoll (listeners, signalfd, files waiting for POLLOUT) work as before:
 * the backend asks epoll what is ready when this says so.
 *
 * Ops are the ring's, not the caller's: a send copies its bytes, and a
 * completion for an fd the loop no longer watches is dropped here, so a
 * connection can be freed at any time. */
#include <sockit/err.h>

#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "loop/loop_internal.h"

/* Receive buffers handed to the kernel: a multishot recv takes one per
 * completion. 256 x 16 KiB: a request head fits one, an upload streams in
 * 16 KiB steps, and 4 MiB is the most the ring ever pins. */
#define RECV_BUFS 256
#define RECV_BUF_SIZE 16384
#define RECV_GROUP 0

/* Sends of up to this many bytes (a response head with a small file) keep
 * their copy inside the op; larger ones allocate. */
#define SEND_INLINE SK__LOOP_RING_SEND_INLINE

#define SQ_ENTRIES 1024
#define CQ_ENTRIES 8192

enum op_kind { OP_RECV = 1, OP_SEND, OP_EPOLL, OP_CANCEL };

/* Requests that waited for a submission queue entry: made before the next
 * wait, in this order. */
enum { DEFER_RECV = 1, DEFER_SEND = 2, DEFER_CANCEL = 4 };

struct sk__loop_op {
	enum op_kind kind;
	uint64_t key;          /* the watcher it belongs to (fd and generation) */
	int fd;
	bool cancelled;        /* a recv the loop asked to stop */
	bool in_kernel;        /* the kernel holds it: a completion will come */
	unsigned deferred;     /* DEFER_* requests that found no SQE yet */
	struct sk__loop_op *next_deferred;
	struct sk__loop_op *next;   /* free list, or the list of live ops */
	struct sk__loop_op *prev;
};

/* A send's op: what it sends, and a small send's copy inside itself.
 * Receives need none of it, and there is one per connection: 10,000 idle
 * connections held 20 MiB of unused inline buffers when every op had one,
 * and the send fields alone took a receive from glibc's 64-byte chunks to
 * its 112-byte ones. */
struct send_op {
	struct sk__loop_op op;
	char *owned;           /* storage handed over with the send (sk__loop_ring_send_owned): freed with the op */
	char *buf;             /* the bytes: owned's, inline_buf, or malloc'd */
	size_t len, off;
	int flags;
	char inline_buf[SEND_INLINE];
};

static struct send_op *send_of(struct sk__loop_op *op)
{
	return (struct send_op *)op;
}

struct sk__loop_ring {
	struct io_uring ring;
	struct io_uring_buf_ring *bufs_ring;
	char *bufs;
	int epfd;
	bool epoll_armed;
	bool bufs_out;         /* a recv ended for lack of buffers: re-arm it */
	struct sk__loop_op epoll_op;
	struct sk__loop_op cancel_op; /* user_data of cancel requests; their CQEs are ignored */
	struct sk__loop_op *live;   /* recv and send ops the kernel holds */
	struct sk__loop_op *free_recvs, *free_sends; /* ops to reuse, by size */
	struct sk__loop_op *deferred; /* ops with requests waiting for room in the SQ */
	size_t n_recv;         /* live multishot receives */
	size_t n_send;
};

static struct sk__loop_op *op_new(struct sk__loop_ring *r, enum op_kind kind, uint64_t key, int fd)
{
	struct sk__loop_op **free_list = kind == OP_SEND ? &r->free_sends : &r->free_recvs;
	struct sk__loop_op *op = *free_list;
	if (op)
		*free_list = op->next;
	else if (kind == OP_SEND) {
		struct send_op *so = malloc(sizeof *so);
		if (!so)
			return NULL;
		op = &so->op;
	} else if (!(op = malloc(sizeof *op))) {
		return NULL;
	}
	op->kind = kind;
	op->key = key;
	op->fd = fd;
	op->cancelled = false;
	op->in_kernel = false;
	op->deferred = 0;
	op->next_deferred = NULL;
	if (kind == OP_SEND) {
		struct send_op *so = send_of(op);
		so->owned = NULL;
		so->buf = NULL;
		so->len = so->off = 0;
		so->flags = 0;
	}
	op->prev = NULL;
	op->next = r->live;
	if (r->live)
		r->live->prev = op;
	r->live = op;
	return op;
}

static void undefer(struct sk__loop_ring *r, struct sk__loop_op *op)
{
	for (struct sk__loop_op **p = &r->deferred; *p; p = &(*p)->next_deferred) {
		if (*p == op) {
			*p = op->next_deferred;
			break;
		}
	}
	op->deferred = 0;
	op->next_deferred = NULL;
}

static void op_free(struct sk__loop_ring *r, struct sk__loop_op *op)
{
	if (op->deferred)
		undefer(r, op); /* rare (a full SQ): a scan of a short list */
	if (op->prev)
		op->prev->next = op->next;
	else
		r->live = op->next;
	if (op->next)
		op->next->prev = op->prev;
	if (op->kind == OP_SEND) {
		struct send_op *so = send_of(op);
		if (so->owned)
			free(so->owned);
		else if (so->buf != so->inline_buf)
			free(so->buf);
		so->owned = NULL;
		so->buf = NULL;
	}
	struct sk__loop_op **free_list = op->kind == OP_SEND ? &r->free_sends : &r->free_recvs;
	op->next = *free_list;
	*free_list = op;
}

/* An SQE, submitting what is queued if the submission queue is full; NULL
 * when the kernel takes nothing now (it refuses submissions while its
 * completion queue overflows). Callers defer the request to the next wait
 * instead: no request is lost and none is made with a NULL entry. */
static struct io_uring_sqe *get_sqe(struct sk__loop_ring *r)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
	if (!sqe) {
		io_uring_submit(&r->ring);
		sqe = io_uring_get_sqe(&r->ring);
	}
	return sqe;
}

static void defer(struct sk__loop_ring *r, struct sk__loop_op *op, unsigned what)
{
	if (!op->deferred) {
		op->next_deferred = r->deferred;
		r->deferred = op;
	}
	op->deferred |= what;
}

int sk__loop_ring_new(struct sk__loop_ring **out, int epfd)
{
	struct sk__loop_ring *r = calloc(1, sizeof *r);
	if (!r)
		return SK_ENOMEM;
	struct io_uring_params p;
	memset(&p, 0, sizeof p);
	/* One thread submits, and completions run when it waits: no
	 * interrupting task work, no locking (Linux 6.1). */
	p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE;
	p.cq_entries = CQ_ENTRIES;
	int err = io_uring_queue_init_params(SQ_ENTRIES, &r->ring, &p);
	if (err < 0) {
		free(r);
		return err;
	}
	if (posix_memalign((void **)&r->bufs_ring, 4096, RECV_BUFS * sizeof(struct io_uring_buf)) ||
	    !(r->bufs = malloc((size_t)RECV_BUFS * RECV_BUF_SIZE))) {
		err = SK_ENOMEM;
		goto fail;
	}
	struct io_uring_buf_reg reg = {
		.ring_addr = (unsigned long)r->bufs_ring,
		.ring_entries = RECV_BUFS,
		.bgid = RECV_GROUP,
	};
	err = io_uring_register_buf_ring(&r->ring, &reg, 0);
	if (err < 0)
		goto fail;
	io_uring_buf_ring_init(r->bufs_ring);
	for (int i = 0; i < RECV_BUFS; i++)
		io_uring_buf_ring_add(r->bufs_ring, r->bufs + (size_t)i * RECV_BUF_SIZE, RECV_BUF_SIZE,
		                      (unsigned short)i, io_uring_buf_ring_mask(RECV_BUFS), i);
	io_uring_buf_ring_advance(r->bufs_ring, RECV_BUFS);
	r->epfd = epfd;
	r->epoll_op.kind = OP_EPOLL;
	r->cancel_op.kind = OP_CANCEL;
	*out = r;
	return 0;
fail:
	io_uring_queue_exit(&r->ring);
	free(r->bufs_ring);
	free(r->bufs);
	free(r);
	return err;
}

void sk__loop_ring_free(struct sk__loop_ring *r)
{
	if (!r)
		return;
	/* Closing the ring cancels what the kernel holds; then the ops go. */
	io_uring_queue_exit(&r->ring);
	while (r->live)
		op_free(r, r->live);
	struct sk__loop_op *lists[] = { r->free_recvs, r->free_sends };
	for (size_t i = 0; i < 2; i++) {
		while (lists[i]) {
			struct sk__loop_op *op = lists[i];
			lists[i] = op->next;
			free(op); /* a send op's struct send_op starts with it */
		}
	}
	free(r->bufs_ring);
	free(r->bufs);
	free(r);
}

size_t sk__loop_ring_ops(const struct sk__loop_ring *r)
{
	return r->n_recv + r->n_send;
}

static void arm_recv(struct sk__loop_ring *r, struct sk__loop_op *op)
{
	struct io_uring_sqe *sqe = get_sqe(r);
	if (!sqe) {
		defer(r, op, DEFER_RECV);
		return;
	}
	op->in_kernel = true;
	io_uring_prep_recv_multishot(sqe, op->fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = RECV_GROUP;
	io_uring_sqe_set_data(sqe, op);
}

int sk__loop_ring_recv(struct sk__loop_ring *r, int fd, uint64_t key, struct sk__loop_op **out)
{
	struct sk__loop_op *op = op_new(r, OP_RECV, key, fd);
	if (!op)
		return SK_ENOMEM;
	arm_recv(r, op);
	r->n_recv++;
	*out = op;
	return 0;
}

void sk__loop_ring_cancel(struct sk__loop_ring *r, struct sk__loop_op *op)
{
	if (op->cancelled)
		return;
	op->cancelled = true;
	if (op->deferred & (DEFER_RECV | DEFER_SEND)) {
		/* Never given to the kernel: it ends here, as a cancel would. */
		op->deferred &= ~(unsigned)(DEFER_RECV | DEFER_SEND);
		defer(r, op, DEFER_CANCEL);
		return;
	}
	struct io_uring_sqe *sqe = get_sqe(r);
	if (!sqe) {
		defer(r, op, DEFER_CANCEL);
		return;
	}
	io_uring_prep_cancel(sqe, op, 0);
	io_uring_sqe_set_data(sqe, &r->cancel_op);
}

static void submit_send(struct sk__loop_ring *r, struct sk__loop_op *op)
{
	struct io_uring_sqe *sqe = get_sqe(r);
	if (!sqe) {
		defer(r, op, DEFER_SEND);
		return;
	}
	op->in_kernel = true;
	struct send_op *so = send_of(op);
	io_uring_prep_send(sqe, op->fd, so->buf + so->off, so->len - so->off,
	                   MSG_NOSIGNAL | so->flags);
	io_uring_sqe_set_data(sqe, op);
}

int sk__loop_ring_send(struct sk__loop_ring *r, int fd, uint64_t key, const void *buf, size_t len,
                       int flags, struct sk__loop_op **out)
{
	struct sk__loop_op *op = op_new(r, OP_SEND, key, fd);
	if (!op)
		return SK_ENOMEM;
	struct send_op *so = send_of(op);
	so->buf = len <= SEND_INLINE ? so->inline_buf : malloc(len);
	if (!so->buf) {
		op_free(r, op);
		return SK_ENOMEM;
	}
	memcpy(so->buf, buf, len);
	so->len = len;
	so->flags = flags;
	submit_send(r, op);
	r->n_send++;
	*out = op;
	return 0;
}

int sk__loop_ring_send_owned(struct sk__loop_ring *r, int fd, uint64_t key, char *storage,
                             const char *p, size_t len, int flags, struct sk__loop_op **out)
{
	struct sk__loop_op *op = op_new(r, OP_SEND, key, fd);
	if (!op)
		return SK_ENOMEM;
	struct send_op *so = send_of(op);
	so->owned = storage;
	so->buf = (char *)p;
	so->len = len;
	so->flags = flags;
	submit_send(r, op);
	r->n_send++;
	*out = op;
	return 0;
}

static void arm_epoll(struct sk__loop_ring *r)
{
	struct io_uring_sqe *sqe = get_sqe(r);
	if (!sqe)
		return; /* tried again before the next wait */
	io_uring_prep_poll_multishot(sqe, r->epfd, POLLIN);
	io_uring_sqe_set_data(sqe, &r->epoll_op);
	r->epoll_armed = true;
}

static void recycle(struct sk__loop_ring *r, unsigned bid)
{
	io_uring_buf_ring_add(r->bufs_ring, r->bufs + (size_t)bid * RECV_BUF_SIZE, RECV_BUF_SIZE,
	                      (unsigned short)bid, io_uring_buf_ring_mask(RECV_BUFS), 0);
	io_uring_buf_ring_advance(r->bufs_ring, 1);
}

/* Data, or the end of a receive: 0 for the peer's EOF, a negative errno
 * for an error, -ECANCELED once a receive the loop stopped has stopped. */
static void on_recv_cqe(struct sk__loop_ring *r, struct sk__loop_op *op,
                        const struct io_uring_cqe *cqe, const struct sk__loop_ring_handlers *h,
                        void *ctx)
{
	bool more = cqe->flags & IORING_CQE_F_MORE;
	int res = cqe->res;
	if (!more)
		op->in_kernel = false;
	if (res > 0 && (cqe->flags & IORING_CQE_F_BUFFER)) {
		unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
		h->on_recv(ctx, op->key, r->bufs + (size_t)bid * RECV_BUF_SIZE, res);
		recycle(r, bid);
		if (more)
			return;
		/* The kernel may end a multishot after data (a full completion
		 * queue): receiving goes on unless the loop stopped it. */
		res = -ECANCELED;
	}
	if (!op->cancelled && (res == -ECANCELED || res == -ENOBUFS)) {
		/* Out of buffers: they come back as this iteration's callbacks
		 * return, then receiving goes on. */
		arm_recv(r, op);
		return;
	}
	if (op->cancelled && res == -ENOBUFS)
		res = -ECANCELED;
	if (more)
		return; /* not the last completion of this op */
	uint64_t key = op->key;
	r->n_recv--;
	op_free(r, op);
	h->on_recv_end(ctx, key, res);
}

static void on_send_cqe(struct sk__loop_ring *r, struct sk__loop_op *op,
                        const struct io_uring_cqe *cqe, const struct sk__loop_ring_handlers *h,
                        void *ctx)
{
	op->in_kernel = false;
	struct send_op *so = send_of(op);
	if (cqe->res > 0 && so->off + (size_t)cqe->res < so->len && !op->cancelled) {
		so->off += (size_t)cqe->res; /* a short send: the rest goes next */
		submit_send(r, op);
		return;
	}
	ssize_t n = cqe->res < 0 ? cqe->res : (ssize_t)so->len;
	uint64_t key = op->key;
	r->n_send--;
	op_free(r, op);
	h->on_sent(ctx, key, n);
}

/* Submits, then waits: for `batch` completions at most SK__LOOP_RING_COALESCE_US
 * (the way a NIC coalesces interrupts: one pass then serves many
 * connections), and if none came, for one, up to timeout_ms. */
static int submit_and_wait(struct sk__loop_ring *r, int timeout_ms, unsigned batch)
{
	struct io_uring_cqe *cqe;
	struct __kernel_timespec ts;
	int err;
	if (timeout_ms == 0)
		return io_uring_submit_and_get_events(&r->ring);
	if (batch > 1) {
		long ns = SK__LOOP_RING_COALESCE_US * 1000L;
		if (timeout_ms > 0 && (long)timeout_ms * 1000000L < ns)
			ns = (long)timeout_ms * 1000000L;
		ts.tv_sec = 0;
		ts.tv_nsec = ns;
		err = io_uring_submit_and_wait_timeout(&r->ring, &cqe, batch, &ts, NULL);
		if (io_uring_cq_ready(&r->ring))
			return 0;
		if (err < 0 && err != -ETIME && err != -EINTR)
			return err;
		if (timeout_ms > 0) {
			int waited = (int)(ns / 1000000L);
			timeout_ms = timeout_ms > waited ? timeout_ms - waited : 0;
			if (timeout_ms == 0)
				return 0;
		}
	}
	if (timeout_ms < 0)
		return io_uring_submit_and_wait(&r->ring, 1);
	ts.tv_sec = timeout_ms / 1000;
	ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
	return io_uring_submit_and_wait_timeout(&r->ring, &cqe, 1, &ts, NULL);
}

/* Makes the requests that found no SQE earlier. An op whose request is
 * still deferred is an op that was never seen by the kernel (or whose cancel
 * has not been sent): it keeps its place in the list until there is room. */
static void submit_deferred(struct sk__loop_ring *r)
{
	struct sk__loop_op *list = r->deferred;
	r->deferred = NULL;
	while (list) {
		struct sk__loop_op *op = list;
		list = op->next_deferred;
		unsigned what = op->deferred;
		op->deferred = 0;
		op->next_deferred = NULL;
		if (what & DEFER_RECV)
			arm_recv(r, op);
		if (what & DEFER_SEND)
			submit_send(r, op);
		if ((what & DEFER_CANCEL) && !op->in_kernel) {
			defer(r, op, DEFER_CANCEL); /* nothing to cancel: it ends in reap */
		} else if (what & DEFER_CANCEL) {
			op->cancelled = false; /* sk__loop_ring_cancel sets it again */
			sk__loop_ring_cancel(r, op);
		}
	}
}

/* A cancelled op the kernel does not hold ends without a completion:
 * report its end as the kernel would have. */
static int end_unsubmitted(struct sk__loop_ring *r, const struct sk__loop_ring_handlers *h,
                           void *ctx)
{
	int n = 0;
	struct sk__loop_op **p = &r->deferred;
	while (*p) {
		struct sk__loop_op *op = *p;
		if (op->deferred != DEFER_CANCEL || op->in_kernel) {
			p = &op->next_deferred;
			continue;
		}
		*p = op->next_deferred;
		op->deferred = 0;
		op->next_deferred = NULL;
		uint64_t key = op->key;
		bool is_recv = op->kind == OP_RECV;
		if (is_recv)
			r->n_recv--;
		else
			r->n_send--;
		op_free(r, op);
		if (is_recv)
			h->on_recv_end(ctx, key, -ECANCELED);
		else
			h->on_sent(ctx, key, -ECANCELED);
		n++;
	}
	return n;
}

int sk__loop_ring_wait(struct sk__loop_ring *r, int timeout_ms, unsigned batch)
{
	if (r->deferred)
		submit_deferred(r);
	if (!r->epoll_armed)
		arm_epoll(r);
	/* With requests still waiting for room, or epoll not watched, do not
	 * sleep long: the next pass retries them. */
	if ((r->deferred || !r->epoll_armed) && (timeout_ms < 0 || timeout_ms > 1))
		timeout_ms = 1;
	int err = submit_and_wait(r, timeout_ms, batch);
	if (err < 0 && err != -ETIME && err != -EINTR && err != -EAGAIN && err != -EBUSY)
		return err;
	return 0;
}

int sk__loop_ring_reap(struct sk__loop_ring *r, const struct sk__loop_ring_handlers *h, void *ctx)
{
	/* Each completion is consumed before its handler runs: a handler may
	 * submit, and sends that complete at once add completions. */
	int n = end_unsubmitted(r, h, ctx);
	struct io_uring_cqe *cqe;
	while (io_uring_peek_cqe(&r->ring, &cqe) == 0) {
		struct io_uring_cqe c = *cqe;
		io_uring_cqe_seen(&r->ring, cqe);
		struct sk__loop_op *op = io_uring_cqe_get_data(&c);
		if (!op)
			continue;
		switch (op->kind) {
		case OP_EPOLL:
			if (!(c.flags & IORING_CQE_F_MORE))
				r->epoll_armed = false;
			h->on_epoll(ctx);
			break;
		case OP_RECV:
			on_recv_cqe(r, op, &c, h, ctx);
			break;
		case OP_SEND:
			on_send_cqe(r, op, &c, h, ctx);
			break;
		case OP_CANCEL:
			break;
		}
		n++;
	}
	return n;
}

void sk__loop_ring_submit(struct sk__loop_ring *r)
{
	io_uring_submit(&r->ring);
}
