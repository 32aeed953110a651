/* What `sockit ping` and `sockit tcp ping` share: iputils-style reply times
 * and summaries, in text and JSON. */
#ifndef SOCKIT_PROBE_CLI_H
#define SOCKIT_PROBE_CLI_H

#include "cli.h"

#include <sockit/ping.h>

/* " time=0.045 ms" with iputils' precision: 3 decimals below 1 ms, 2 below
 * 10, 1 below 100, none above. */
void probe_print_time(struct out *o, double ms);

/* The block iputils prints at the end:
 *   --- NAME WHAT statistics ---
 *   3 packets transmitted, 3 received, 0% packet loss, time 2003ms
 *   rtt min/avg/max/mdev = 0.031/0.040/0.052/0.008 ms */
void probe_print_summary(struct out *o, const char *name, const char *what,
                         const struct sk_probe_stats *st, uint64_t elapsed_us);

/* The same as one line, for one target of many: "NAME: 1 packets ...". */
void probe_print_summary_line(struct out *o, const char *name, const struct sk_probe_stats *st);

/* {"type": "summary", "target": NAME, ...}\n */
void probe_print_summary_json(struct out *o, const char *name, const struct sk_probe_stats *st,
                              uint64_t elapsed_us);

/* Writes s as a JSON string, quotes included. */
void json_string(struct out *o, const char *s);

#endif
