/* Internals shared between libsockit's files; never installed, never in include/. */
#ifndef SOCKIT_INTERNAL_H
#define SOCKIT_INTERNAL_H

/* Checks that every numeric row of the classification tables in ip_special.c
 * equals the CIDR text written beside it, and that every registry row is a
 * network address. Returns the text of the first bad row, or NULL. For tests. */
const char *sk__ip_check_tables(void);


/* --- The poll backend seam (loop_epoll.c) ------------------------------------
 * loop.c speaks only through these calls, so a poll(2) backend could replace
 * epoll for tests or other kernels. data is handed back with each event. */
#include <stdint.h>

struct sk__backend;

struct sk__event {
	uint64_t data;
	unsigned events; /* SK_EV_* */
};

int sk__backend_new(struct sk__backend **out);
void sk__backend_free(struct sk__backend *b);
int sk__backend_add(struct sk__backend *b, int fd, unsigned events, uint64_t data);
int sk__backend_mod(struct sk__backend *b, int fd, unsigned events, uint64_t data);
int sk__backend_del(struct sk__backend *b, int fd);
/* Waits up to timeout_ms (-1 forever); returns the number of events stored. */
int sk__backend_wait(struct sk__backend *b, struct sk__event *events, int max, int timeout_ms);

/* --- The timer heap (timer.c) ------------------------------------------------
 * A binary min-heap of timer pointers ordered by due_ms; each timer knows its
 * index so it can be removed or moved in O(log n). */
struct sk_timer;

struct sk__heap {
	struct sk_timer **items;
	size_t len, cap;
};

int sk__heap_push(struct sk__heap *h, struct sk_timer *t);
void sk__heap_remove(struct sk__heap *h, struct sk_timer *t);
struct sk_timer *sk__heap_top(const struct sk__heap *h);
void sk__heap_free(struct sk__heap *h);

#endif
