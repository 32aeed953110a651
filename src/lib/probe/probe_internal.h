/* Internals of src/lib/probe/ shared between its files. Never installed. */
#ifndef SOCKIT_PROBE_INTERNAL_H
#define SOCKIT_PROBE_INTERNAL_H

#include <stdint.h>
#include <time.h>

/* Round trips are measured in microseconds, below sk_loop_now()'s
 * millisecond resolution: CLOCK_MONOTONIC read at each send and receive. */
static inline uint64_t sk__probe_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Milliseconds for a loop timer to cover us microseconds (rounded up). */
static inline uint64_t sk__probe_ms_ceil(uint64_t us)
{
	return (us + 999u) / 1000u;
}

#endif
