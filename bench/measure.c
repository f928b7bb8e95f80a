/* SPDX-License-Identifier: MIT */
/*
 * Clock, latency histogram and CPU sampling shared by the load generators. The CPU figures come
 * from getrusage and /proc, so they are Linux-only beyond the generator's own.
 */
#include "bench/measure.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

uint64_t
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

double
seconds(uint64_t ns)
{
    return (double)ns / 1e9;
}

static unsigned
hist_index(uint64_t v)
{
    unsigned msb, shift;

    if (v < (1u << HIST_SUB_BITS)) {
        return (unsigned)v;
    }
    msb = 63u - (unsigned)__builtin_clzll(v);
    if (msb >= HIST_MAX_BITS) {
        return HIST_BUCKETS - 1;
    }
    shift = msb - (HIST_SUB_BITS - 1);
    return shift * HIST_HALF + (unsigned)(v >> shift);
}

/* The largest value that falls into bucket @i, so percentiles are never understated. */
static uint64_t
hist_bucket_high(unsigned i)
{
    unsigned shift, top;

    if (i < (1u << HIST_SUB_BITS)) {
        return i;
    }
    shift = i / HIST_HALF - 1;
    top = i - shift * HIST_HALF;
    return (((uint64_t)top + 1) << shift) - 1;
}

void
hist_add(struct hist *h, uint64_t v)
{
    h->count[hist_index(v)]++;
    h->n++;
    h->sum += v;
    if (v > h->max) {
        h->max = v;
    }
}

uint64_t
hist_percentile(const struct hist *h, double p)
{
    uint64_t rank, seen = 0;

    if (h->n == 0) {
        return 0;
    }
    rank = (uint64_t)(p / 100.0 * (double)h->n + 0.999999);
    if (rank < 1) {
        rank = 1;
    }
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->count[i];
        if (seen >= rank) {
            uint64_t v = hist_bucket_high(i);
            return v < h->max ? v : h->max;
        }
    }
    return h->max;
}

void
hist_summary_us(const struct hist *h, struct hist_us *out)
{
    out->mean = h->n ? (double)h->sum / (double)h->n / 1e3 : 0.0;
    out->p50 = hist_percentile(h, 50) / 1e3;
    out->p90 = hist_percentile(h, 90) / 1e3;
    out->p99 = hist_percentile(h, 99) / 1e3;
    out->p999 = hist_percentile(h, 99.9) / 1e3;
    out->max = (double)h->max / 1e3;
}

/*
 * A generator often shares a small machine with the server, so CPU use is part of the result:
 * our own (getrusage), the server's and the whole machine's (from /proc, Linux only; 0
 * elsewhere).
 */

/* utime + stime of every thread of process @pid (0 when it cannot be read). */
static double
proc_pid_cpu(long pid)
{
    char path[64], buf[1024];
    unsigned long long ut = 0, st = 0;
    const char *p;
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    f = fopen(path, "r");
    if (f == NULL) {
        return 0.0;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* The command name is in parentheses and may hold blanks: count fields after the last ')'.
     * utime and stime are fields 14 and 15, the 12th and 13th after it. */
    p = strrchr(buf, ')');
    if (p == NULL ||
        sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) {
        return 0.0;
    }
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double
proc_machine_cpu(void)
{
    unsigned long long v[8] = {0};
    FILE *f = fopen("/proc/stat", "r");
    int n;

    if (f == NULL) {
        return 0.0;
    }
    /* cpu user nice system idle iowait irq softirq steal: busy is all but idle and iowait. */
    n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4],
               &v[5], &v[6], &v[7]);
    fclose(f);
    if (n != 8) {
        return 0.0;
    }
    return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)sysconf(_SC_CLK_TCK);
}

void
cpu_take(struct cpu_sample *s, long pid)
{
    struct rusage ru;

    s->self = 0.0;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        s->self = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                  (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    }
    s->server = pid > 0 ? proc_pid_cpu(pid) : 0.0;
    s->machine = proc_machine_cpu();
}

double
cpu_pct(double cpu, double secs)
{
    return secs > 0 ? 100.0 * cpu / secs : 0.0;
}
