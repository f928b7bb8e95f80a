/* SPDX-License-Identifier: MIT */
/* Log sink. One line per call, written with a single fputs so lines from worker threads do not
 * interleave mid-line. */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static enum log_level threshold = LOG_L_INFO;
static bool to_syslog;

static const char *const names[] = {"error", "warn", "info", "debug"};

int
log_parse_level(const char *s)
{
    for (int i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++) {
        if (strcmp(s, names[i]) == 0) {
            return i;
        }
    }
    if (strcmp(s, "warning") == 0) {
        return LOG_L_WARN;
    }
    return -1;
}

void
log_setup(enum log_level level, bool use_syslog)
{
    threshold = level;
    if (use_syslog && !to_syslog) {
        openlog("switchboard", LOG_PID | LOG_NDELAY, LOG_DAEMON);
    } else if (!use_syslog && to_syslog) {
        closelog();
    }
    to_syslog = use_syslog;
}

bool
log_enabled(enum log_level level)
{
    return level <= threshold;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
    static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
    char msg[1024], line[1200], stamp[32];
    struct timespec ts;
    struct tm tm;
    va_list ap;

    if (!log_enabled(level)) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(line, sizeof(line), "%s.%03ld %-5s %s\n", stamp, ts.tv_nsec / 1000000L, names[level],
             msg);
    fputs(line, stderr);
    if (to_syslog) {
        syslog(prio[level], "%s", msg);
    }
}
