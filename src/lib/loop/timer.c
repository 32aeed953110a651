/* The timer heap: a binary min-heap of caller-owned timers by due time. */
#include <sockit/loop.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "loop/loop_internal.h"

/* Due first, and among timers due at once, the one started first: a timer
 * restarted from its own callback queues behind those already due. */
static bool earlier(const struct sk_timer *a, const struct sk_timer *b)
{
	return a->due_ms < b->due_ms || (a->due_ms == b->due_ms && a->seq < b->seq);
}

static void place(struct sk__loop_heap *h, size_t i, struct sk_timer *t)
{
	h->items[i] = t;
	t->heap_index = i;
}

static void sift_up(struct sk__loop_heap *h, size_t i)
{
	struct sk_timer *t = h->items[i];
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!earlier(t, h->items[parent]))
			break;
		place(h, i, h->items[parent]);
		i = parent;
	}
	place(h, i, t);
}

static void sift_down(struct sk__loop_heap *h, size_t i)
{
	struct sk_timer *t = h->items[i];
	for (;;) {
		size_t child = 2 * i + 1;
		if (child >= h->len)
			break;
		if (child + 1 < h->len && earlier(h->items[child + 1], h->items[child]))
			child++;
		if (!earlier(h->items[child], t))
			break;
		place(h, i, h->items[child]);
		i = child;
	}
	place(h, i, t);
}

int sk__loop_heap_push(struct sk__loop_heap *h, struct sk_timer *t)
{
	if (h->len == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		struct sk_timer **items = realloc(h->items, cap * sizeof *items);
		if (!items)
			return -ENOMEM;
		h->items = items;
		h->cap = cap;
	}
	h->items[h->len] = t;
	t->heap_index = h->len;
	h->len++;
	sift_up(h, h->len - 1);
	return 0;
}

void sk__loop_heap_remove(struct sk__loop_heap *h, struct sk_timer *t)
{
	size_t i = t->heap_index;
	t->heap_index = SIZE_MAX;
	h->len--;
	if (i == h->len)
		return;
	struct sk_timer *moved = h->items[h->len];
	place(h, i, moved);
	/* The last timer, moved into the hole, may belong above or below it. */
	sift_up(h, i);
	if (moved->heap_index == i)
		sift_down(h, i);
}

struct sk_timer *sk__loop_heap_top(const struct sk__loop_heap *h)
{
	return h->len ? h->items[0] : NULL;
}

void sk__loop_heap_free(struct sk__loop_heap *h)
{
	free(h->items);
	h->items = NULL;
	h->len = h->cap = 0;
}
