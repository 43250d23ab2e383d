/* history.c: the copy of the database that local users read (see history.h
 * and docs/database.md).
 *
 * One thread of its own, with its own read-only connection to the live
 * database, so that copying a large database never holds up the event loop:
 * every interval it asks SQLite whether anything was committed since the
 * last copy (PRAGMA data_version, a look at the WAL index), and if so
 * copies the whole database into a new file beside the copy (mode 0600
 * while it is written, so nobody can open, and so lock, it half-made),
 * syncs it, makes it 0644 and renames it over the copy.  A reader keeps the
 * file it opened; the next one opens the new one. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "history.h"
#include "log.h"
#include "util.h"

/* A copy that took t is not made again within COPY_SPACING x t, so that a
 * large database is not copied all the time. */
#define COPY_SPACING 4

struct History {
        char *live_path;
        char *copy_path;
        char *dir;               /* of copy_path */
        char *tmp_prefix;        /* ".<name>.new-" */
        uint64_t interval_usec;
        pthread_t thread;
        bool running;
        pthread_mutex_t lock;
        pthread_cond_t wake;
        bool stop;               /* under lock */
        /* the thread's own */
        Db *db;
        bool have_version;
        int64_t version;
        bool open_warned, copy_warned;
        uint64_t last_copy_usec; /* how long the last copy took */
};

static int split_path(History *h) {
        const char *slash = strrchr(h->copy_path, '/');
        const char *name = slash ? slash + 1 : h->copy_path;

        h->dir = slash ? strndup(h->copy_path, slash == h->copy_path ? 1 : (size_t) (slash - h->copy_path))
                       : strdup(".");
        if (!h->dir || asprintf(&h->tmp_prefix, ".%s.new-", name) < 0)
                return -ENOMEM;
        return 0;
}

/* Half-made copies of a daemon that died while it copied. */
static void remove_leftovers(History *h) {
        DIR *d = opendir(h->dir);
        struct dirent *de;

        if (!d)
                return;
        while ((de = readdir(d)))
                if (strncmp(de->d_name, h->tmp_prefix, strlen(h->tmp_prefix)) == 0) {
                        log_info("Removing %s/%s, a copy of the history left half-made", h->dir, de->d_name);
                        (void) unlinkat(dirfd(d), de->d_name, 0);
                }
        (void) closedir(d);
}

static int copy_now(History *h) {
        _cleanup_(freep) char *tmp = NULL;
        _cleanup_(closep) int fd = -1;
        int r;

        if (asprintf(&tmp, "%s/%sXXXXXX", h->dir, h->tmp_prefix) < 0)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);   /* 0600 */
        if (fd < 0)
                return log_warning_errno(errno, "Failed to create a copy of the history in %s: %m", h->dir);
        r = db_copy(h->db, tmp);
        if (r < 0) {
                log_warning_errno(r, "Failed to copy the history: %s", db_last_error(h->db));
                goto fail;
        }
        if (fsync(fd) < 0 || fchmod(fd, 0644) < 0) {
                r = log_warning_errno(errno, "Failed to finish the copy %s: %m", tmp);
                goto fail;
        }
        if (rename(tmp, h->copy_path) < 0) {
                r = log_warning_errno(errno, "Failed to publish the history as %s: %m", h->copy_path);
                goto fail;
        }
        return 0;
fail:
        (void) unlink(tmp);
        return r;
}

/* One round: copies if anything changed since the last copy. */
static void history_round(History *h) {
        int64_t version;
        uint64_t t0;
        int r;

        if (!h->db) {
                r = db_open(h->live_path, DB_READONLY, &h->db);
                if (r < 0) {
                        if (!h->open_warned)
                                log_warning_errno(r, "Failed to open %s to copy it: %s", h->live_path,
                                                  db_last_error(NULL));
                        h->open_warned = true;
                        return;
                }
                h->open_warned = false;
        }
        r = db_data_version(h->db, &version);
        if (r < 0) {
                log_warning_errno(r, "Failed to ask %s for changes: %s", h->live_path, db_last_error(h->db));
                h->db = db_close(h->db);
                return;
        }
        if (h->have_version && version == h->version && access(h->copy_path, F_OK) == 0)
                return;

        t0 = now_usec(CLOCK_MONOTONIC);
        r = copy_now(h);
        h->last_copy_usec = now_usec(CLOCK_MONOTONIC) - t0;
        if (r < 0) {
                h->copy_warned = true;
                return;
        }
        if (h->copy_warned)
                log_info("The history is published again as %s", h->copy_path);
        h->copy_warned = false;
        h->version = version;
        h->have_version = true;
        log_debug("Published the history as %s in %" PRIu64 " ms", h->copy_path, h->last_copy_usec / 1000);
}

static void *history_thread(void *userdata) {
        History *h = userdata;

        pthread_mutex_lock(&h->lock);
        while (!h->stop) {
                uint64_t wait = h->interval_usec;
                struct timespec ts;

                pthread_mutex_unlock(&h->lock);
                history_round(h);
                pthread_mutex_lock(&h->lock);

                if (h->last_copy_usec * COPY_SPACING > wait)
                        wait = h->last_copy_usec * COPY_SPACING;
                (void) clock_gettime(CLOCK_MONOTONIC, &ts);
                uint64_t until = (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000 + wait;
                ts.tv_sec = (time_t) (until / USEC_PER_SEC);
                ts.tv_nsec = (long) (until % USEC_PER_SEC) * 1000;
                while (!h->stop && pthread_cond_timedwait(&h->wake, &h->lock, &ts) == 0)
                        ;
        }
        pthread_mutex_unlock(&h->lock);
        /* the last state, for the readers while the daemon is stopped */
        history_round(h);
        h->db = db_close(h->db);
        return NULL;
}

static void history_free(History *h) {
        if (!h)
                return;
        pthread_mutex_destroy(&h->lock);
        pthread_cond_destroy(&h->wake);
        free(h->live_path);
        free(h->copy_path);
        free(h->dir);
        free(h->tmp_prefix);
        free(h);
}

int history_start(const char *live_path, const char *copy_path, uint64_t interval_usec, History **ret) {
        History *h;
        pthread_condattr_t ca;
        sigset_t all, old;
        int r;

        h = calloc(1, sizeof *h);
        if (!h)
                return log_oom();
        h->interval_usec = interval_usec;
        (void) pthread_mutex_init(&h->lock, NULL);
        (void) pthread_condattr_init(&ca);
        (void) pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        (void) pthread_cond_init(&h->wake, &ca);
        (void) pthread_condattr_destroy(&ca);
        h->live_path = strdup(live_path);
        h->copy_path = strdup(copy_path);
        if (!h->live_path || !h->copy_path || split_path(h) < 0) {
                history_free(h);
                return log_oom();
        }
        remove_leftovers(h);

        /* Signals stay with the event loop's thread. */
        sigfillset(&all);
        (void) pthread_sigmask(SIG_SETMASK, &all, &old);
        r = -pthread_create(&h->thread, NULL, history_thread, h);
        (void) pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r < 0) {
                history_free(h);
                return log_error_errno(r, "Failed to start the history copier: %m");
        }
        h->running = true;
        *ret = h;
        return 0;
}

History *history_stop(History *h) {
        if (!h)
                return NULL;
        if (h->running) {
                pthread_mutex_lock(&h->lock);
                h->stop = true;
                pthread_cond_signal(&h->wake);
                pthread_mutex_unlock(&h->lock);
                (void) pthread_join(h->thread, NULL);
        }
        history_free(h);
        return NULL;
}

/* Before the history was a copy, the live database (WAL, readable by all)
 * sat where the copy goes now. */
int history_adopt_legacy(const char *live_path, const char *copy_path) {
        static const char * const suffixes[] = { "", "-wal", "-shm" };
        _cleanup_(closep) int fd = -1;
        unsigned char header[20];
        struct stat st;

        if (lstat(live_path, &st) == 0 || errno != ENOENT)
                return 0;
        fd = open(copy_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0)
                return 0;
        /* bytes 18 and 19 of an SQLite header: 2 = WAL */
        if (pread(fd, header, sizeof header, 0) != (ssize_t) sizeof header ||
            memcmp(header, "SQLite format 3", 16) != 0 || header[18] != 2)
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                _cleanup_(freep) char *from = NULL, *to = NULL;

                if (asprintf(&from, "%s%s", copy_path, suffixes[i]) < 0 ||
                    asprintf(&to, "%s%s", live_path, suffixes[i]) < 0)
                        return log_oom();
                if (rename(from, to) < 0 && !(errno == ENOENT && i > 0))
                        return log_error_errno(errno, "Failed to move %s to %s: %m", from, to);
        }
        log_notice("Moved the database %s to %s: users read a copy now", copy_path, live_path);
        return 1;
}
