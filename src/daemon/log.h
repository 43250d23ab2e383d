/* log.h: the daemon's logging.  Messages go to stderr, with the kernel-style
 * "<N>" priority prefix when stderr is the journal (systemd runs the daemon),
 * so that journalctl shows their levels. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <syslog.h>

#define UID_FMT "%u"

void log_set_max_level(int level);
/* Whether stderr is the journal (JOURNAL_STREAM names it). */
bool log_to_journal(void);
void log_internal(int level, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The _errno forms set errno for %m and return -|error|, so that
 * "return log_error_errno(r, ...)" passes the error on. */
int log_internal_errno(int level, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_debug(...) log_internal(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_internal(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_internal(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_internal(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_internal(LOG_ERR, 0, __VA_ARGS__)
#define log_warning_errno(e, ...) log_internal_errno(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...) log_internal_errno(LOG_ERR, (e), __VA_ARGS__)
#define log_oom() log_internal_errno(LOG_ERR, ENOMEM, "Out of memory.")
