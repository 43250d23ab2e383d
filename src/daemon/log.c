/* log.c: stderr logging with journal priority prefixes. */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"

static int max_level = LOG_INFO;

void log_set_max_level(int level) {
        max_level = level;
}

static void log_va(int level, int error, const char *fmt, va_list ap) {
        static int to_journal = -1;
        int saved = errno;

        if (level > max_level)
                return;
        if (to_journal < 0)
                to_journal = getenv("JOURNAL_STREAM") != NULL;
        if (to_journal)
                fprintf(stderr, "<%d>", level);
        errno = error < 0 ? -error : error;
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        fflush(stderr);
        errno = saved;
}

void log_internal(int level, int error, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        log_va(level, error, fmt, ap);
        va_end(ap);
}

int log_internal_errno(int level, int error, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        log_va(level, error, fmt, ap);
        va_end(ap);
        return error < 0 ? error : -error;
}
