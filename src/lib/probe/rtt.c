/* Round-trip statistics, as iputils ping reports them. */
#include <sockit/ping.h>

#include <math.h>

void sk_rtt_stats_add(struct sk_rtt_stats *s, double ms)
{
	if (s->n == 0 || ms < s->min_ms)
		s->min_ms = ms;
	if (s->n == 0 || ms > s->max_ms)
		s->max_ms = ms;
	s->n++;
	s->sum_ms += ms;
	s->sum2_ms += ms * ms;
}

double sk_rtt_stats_avg(const struct sk_rtt_stats *s)
{
	return s->n ? s->sum_ms / (double)s->n : 0.0;
}

double sk_rtt_stats_mdev(const struct sk_rtt_stats *s)
{
	if (s->n == 0)
		return 0.0;
	double avg = sk_rtt_stats_avg(s);
	double var = s->sum2_ms / (double)s->n - avg * avg;
	/* Rounding can leave a tiny negative variance for equal samples. */
	return var > 0.0 ? sqrt(var) : 0.0;
}

double sk_probe_stats_loss(const struct sk_probe_stats *s)
{
	if (s->transmitted == 0)
		return 0.0;
	unsigned long lost = s->received < s->transmitted ? s->transmitted - s->received : 0;
	return (double)lost * 100.0 / (double)s->transmitted;
}
