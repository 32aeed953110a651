/* iputils-style times and summaries for ping and tcp ping. */
#include "probe_cli.h"

#include <string.h>

void json_string(struct out *o, const char *s)
{
	out_char(o, '"');
	out_json_str(o, s, strlen(s));
	out_char(o, '"');
}

void probe_print_time(struct out *o, double ms)
{
	if (ms >= 99.95)
		out_printf(o, " time=%.0f ms", ms);
	else if (ms >= 9.995)
		out_printf(o, " time=%.1f ms", ms);
	else if (ms >= 1.0)
		out_printf(o, " time=%.2f ms", ms);
	else
		out_printf(o, " time=%.3f ms", ms);
}

static void print_counts(struct out *o, const struct sk_probe_stats *st)
{
	out_printf(o, "%lu packets transmitted, %lu received", st->transmitted, st->received);
	if (st->duplicates)
		out_printf(o, ", +%lu duplicates", st->duplicates);
	if (st->errors)
		out_printf(o, ", +%lu errors", st->errors);
	if (st->late)
		out_printf(o, ", %lu late", st->late);
	out_printf(o, ", %g%% packet loss", sk_probe_stats_loss(st));
}

static void print_rtt(struct out *o, const struct sk_rtt_stats *r)
{
	out_printf(o, "rtt min/avg/max/mdev = %.3f/%.3f/%.3f/%.3f ms", r->min_ms,
	           sk_rtt_stats_avg(r), r->max_ms, sk_rtt_stats_mdev(r));
}

void probe_print_summary(struct out *o, const char *name, const char *what,
                         const struct sk_probe_stats *st, uint64_t elapsed_us)
{
	out_printf(o, "\n--- %s %s statistics ---\n", name, what);
	print_counts(o, st);
	out_printf(o, ", time %llums\n", (unsigned long long)(elapsed_us / 1000u));
	if (st->rtt.n) {
		print_rtt(o, &st->rtt);
		out_char(o, '\n');
	}
}

void probe_print_summary_line(struct out *o, const char *name, const struct sk_probe_stats *st)
{
	out_printf(o, "%s: ", name);
	print_counts(o, st);
	if (st->rtt.n) {
		out_str(o, ", ");
		print_rtt(o, &st->rtt);
	}
	out_char(o, '\n');
}

void probe_print_summary_json(struct out *o, const char *name, const struct sk_probe_stats *st,
                              uint64_t elapsed_us)
{
	out_str(o, "{\"type\": \"summary\", \"target\": ");
	json_string(o, name);
	out_printf(o, ", \"transmitted\": %lu, \"received\": %lu, \"duplicates\": %lu, "
	           "\"errors\": %lu, \"late\": %lu, \"loss_pct\": %g, \"time_ms\": %llu",
	           st->transmitted, st->received, st->duplicates, st->errors, st->late,
	           sk_probe_stats_loss(st), (unsigned long long)(elapsed_us / 1000u));
	const struct sk_rtt_stats *r = &st->rtt;
	if (r->n)
		out_printf(o, ", \"rtt_min_ms\": %.3f, \"rtt_avg_ms\": %.3f, \"rtt_max_ms\": %.3f, "
		           "\"rtt_mdev_ms\": %.3f}\n", r->min_ms, sk_rtt_stats_avg(r), r->max_ms,
		           sk_rtt_stats_mdev(r));
	else
		out_str(o, ", \"rtt_min_ms\": null, \"rtt_avg_ms\": null, \"rtt_max_ms\": null, "
		        "\"rtt_mdev_ms\": null}\n");
}
