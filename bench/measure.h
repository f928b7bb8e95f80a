/* SPDX-License-Identifier: MIT */
/*
 * What the load generators (dirload, wfload) measure with: a monotonic clock, a fixed-size
 * latency histogram and CPU-time samples of this process, a server and the machine. It holds no
 * state of its own and knows nothing of sockets, protocols or how a report is laid out.
 */
#ifndef SB_BENCH_MEASURE_H
#define SB_BENCH_MEASURE_H

#include <stdint.h>

/*
 * Latency histogram with fixed buckets, in nanoseconds: exact below 128 ns, then 64 buckets per
 * power of two (under 1.6 % relative error) up to 2^42 ns (73 minutes); longer samples land in
 * the last bucket. 2368 counters, whatever the run length.
 */
#define HIST_SUB_BITS 7
#define HIST_HALF (1u << (HIST_SUB_BITS - 1))
#define HIST_MAX_BITS 42
#define HIST_BUCKETS ((HIST_MAX_BITS - HIST_SUB_BITS + 1) * HIST_HALF + HIST_HALF)

/* A histogram is plain data: zero it (static storage or memset) and it is empty. */
struct hist {
    uint64_t count[HIST_BUCKETS];
    uint64_t n, max, sum;
};

/* One histogram's figures for a report, in microseconds. */
struct hist_us {
    double mean, p50, p90, p99, p999, max;
};

/* CPU seconds used so far by this process, the server under load and the whole machine. */
struct cpu_sample {
    double self, server, machine;
};

/** now_ns() - CLOCK_MONOTONIC in nanoseconds. */
uint64_t now_ns(void);

/** seconds() - @ns nanoseconds in seconds. */
double seconds(uint64_t ns);

/** hist_add() - count the sample @v (ns) in @h: its bucket, the count, the sum and the maximum. */
void hist_add(struct hist *h, uint64_t v);

/**
 * hist_percentile() - the @p-th percentile (0 to 100) of @h.
 * Return: the upper bound of the bucket that holds it, so a percentile is never understated,
 * but never more than the largest sample; 0 for an empty histogram.
 */
uint64_t hist_percentile(const struct hist *h, double p);

/**
 * hist_summary_us() - fill @out with the mean, p50, p90, p99, p99.9 and maximum of @h in
 * microseconds (all 0 for an empty histogram).
 */
void hist_summary_us(const struct hist *h, struct hist_us *out);

/**
 * cpu_take() - sample the CPU time used so far into @s: this process's (getrusage), process
 * @pid's and the machine's busy time (Linux /proc).
 * @pid: the server to watch; 0 or less leaves @s->server at 0.
 *
 * A figure that cannot be read is 0, so on other systems only @s->self is meaningful.
 */
void cpu_take(struct cpu_sample *s, long pid);

/**
 * cpu_pct() - @cpu seconds of CPU used in @secs seconds of wall time, in percent of one core.
 * Return: 0 when @secs is not positive.
 */
double cpu_pct(double cpu, double secs);

#endif
