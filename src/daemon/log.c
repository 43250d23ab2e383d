/* log.c: stderr logging with journal priority prefixes. */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static int max_level = LOG_INFO;

void log_set_max_level(int level) {
        max_level = level;
}

bool log_to_journal(void) {
        static int to_journal = -1;
        const char *e;
        struct stat st;
        unsigned long long dev, ino;

        if (to_journal >= 0)
                return to_journal;
        /* systemd sets JOURNAL_STREAM=DEV:INODE of the stream it connected;
         * a program started from such a unit inherits it on a terminal */
        e = getenv("JOURNAL_STREAM");
        to_journal = e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) >= 0 &&
                     (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
        return to_journal;
}

static void log_va(int level, int error, const char *fmt, va_list ap) {
        int saved = errno;

        if (level > max_level)
                return;
        if (log_to_journal())
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
