/* SPDX-License-Identifier: MIT */
/*
 * Leveled logging to stderr (with a timestamp) and, optionally, to syslog. The rest of the
 * daemon logs through the macros below; codecs in src/proto never log.
 */
#ifndef SB_CORE_LOG_H
#define SB_CORE_LOG_H

#include <stdbool.h>

enum log_level { LOG_L_ERROR, LOG_L_WARN, LOG_L_INFO, LOG_L_DEBUG };

/** log_parse_level() - "error", "warn", "info" or "debug" to a level; -1 if unknown. */
int log_parse_level(const char *s);

/** log_setup() - set the threshold and whether lines also go to syslog (ident "switchboard"). */
void log_setup(enum log_level level, bool use_syslog);

/** log_enabled() - would a message at @level be written? Use it to skip costly formatting. */
bool log_enabled(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_L_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_L_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_L_INFO, __VA_ARGS__)
#define log_debug(...)                                                                             \
    do {                                                                                           \
        if (log_enabled(LOG_L_DEBUG)) {                                                            \
            log_msg(LOG_L_DEBUG, __VA_ARGS__);                                                     \
        }                                                                                          \
    } while (0)

#endif
