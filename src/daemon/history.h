/* history.h: the copy of the database that local users read with
 * sqlite3(1), kept by a thread of its own (docs/database.md).
 *
 * Nobody may open the daemon's live database: a reader's locks could stop
 * the daemon.  Every interval (and at stop) the copier looks whether the
 * live database changed and, if so, publishes a fresh copy at copy_path:
 * a new file, renamed over the old one, that nobody ever writes again. */
#pragma once

#include <stdint.h>

typedef struct History History;

/* Starts copying live_path to copy_path, at once and then every
 * interval_usec at most (longer for a database whose copy takes long). */
int history_start(const char *live_path, const char *copy_path, uint64_t interval_usec, History **ret);
/* Makes a last copy, stops the thread and frees.  Accepts NULL. */
History *history_stop(History *h);
static inline void history_stopp(History **h) {
        if (*h)
                history_stop(*h);
}

/* Where an older daemon kept its live database at copy_path (a WAL file
 * readable by all), and live_path does not exist yet: moves it, with its
 * -wal and -shm, to live_path.  1 if it moved, 0 if there was nothing to
 * move; logs. */
int history_adopt_legacy(const char *live_path, const char *copy_path);
