/* sk_acceptor: the accept path every TCP server shares. It accepts in
 * batches, checks the access list and the connection limits before a byte
 * is read, counts connections per client address, and backs off when the
 * process runs out of file descriptors instead of spinning on a listener
 * that stays readable.
 *
 * A server gets each admitted connection through on_accept and owns its fd
 * from then on; when the connection closes, the server calls
 * sk_acceptor_release() with the peer's address so the counts stay true. */
#ifndef SOCKIT_ACCEPT_H
#define SOCKIT_ACCEPT_H

#include <stdbool.h>
#include <stddef.h>

#include <sockit/acl.h>
#include <sockit/ip.h>
#include <sockit/loop.h>
#include <sockit/sock.h>

struct sk_acceptor;

enum sk_accept_refusal {
	SK_ACCEPT_DENIED = 1,       /* the access list */
	SK_ACCEPT_MAX_CONNS,        /* max_conns connections are open */
	SK_ACCEPT_MAX_PER_CLIENT,   /* max_per_client connections from this address are open */
};

/* An admitted connection: the callee owns fd (non-blocking, close-on-exec)
 * and releases ip when it closes it. peer and ip are borrowed for the call. */
typedef void sk_accepted_fn(void *ud, int fd, const struct sk_addr *peer, const struct sk_ip *ip);
/* A refused one: fd is still open for the call, so the server may write one
 * short answer (HTTP's 503); the acceptor closes it on return. */
typedef void sk_refused_fn(void *ud, int fd, const struct sk_addr *peer, enum sk_accept_refusal why);
/* accept(2) failed for want of resources (EMFILE, ENFILE, ENOBUFS, ENOMEM):
 * called once when it starts failing, and with err 0 once it works again. */
typedef void sk_accept_failed_fn(void *ud, int err);

struct sk_acceptor_opts {
	size_t max_conns;              /* 0: unlimited */
	size_t max_per_client;         /* 0: unlimited */
	const struct sk_acl *acl;      /* borrowed, must outlive the acceptor; NULL permits all */
	sk_accepted_fn *on_accept;     /* required */
	sk_refused_fn *on_refused;     /* may be NULL: refused peers are just closed */
	bool reset_refused;            /* close refused peers with a reset (SO_LINGER 0): the
	                                  client learns at once, and always the same way, that it
	                                  was turned away, instead of an EOF or a reset depending
	                                  on timing. Off where on_refused writes an answer that
	                                  must arrive (HTTP's 503). */
	sk_accept_failed_fn *on_failed;/* may be NULL */
	void *ud;
	const struct sk_tracer *tracer;
};

/* No limits, no access list, no callbacks, refused peers closed plainly. */
void sk_acceptor_opts_init(struct sk_acceptor_opts *opts);

/* Accepts on listen_fd (taken: closed by the acceptor, even on failure).
 * opts is copied. */
int sk_acceptor_new(struct sk_loop *loop, int listen_fd, const struct sk_acceptor_opts *opts,
                    struct sk_acceptor **out);

/* A connection admitted from ip has closed. */
void sk_acceptor_release(struct sk_acceptor *a, const struct sk_ip *ip);

/* Connections admitted and not yet released. */
size_t sk_acceptor_n_conns(const struct sk_acceptor *a);

/* Stops and restarts accepting; the listener stays open (clients wait in
 * its backlog). */
void sk_acceptor_pause(struct sk_acceptor *a);
void sk_acceptor_resume(struct sk_acceptor *a);

/* Closes the listener for good; the counts stay until released. */
void sk_acceptor_close(struct sk_acceptor *a);

/* The listening fd, or -1 once closed. */
int sk_acceptor_fd(const struct sk_acceptor *a);

/* Closes the listener and frees the acceptor. Accepts NULL. */
void sk_acceptor_free(struct sk_acceptor *a);

#endif
