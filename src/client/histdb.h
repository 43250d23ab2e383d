/* histdb.h: the history copy of the database (docs/database.md), read by
 * br-list, br-show and br-log while the daemon is not running (or with
 * --offline): the same Task objects the protocol gives, from the file the
 * daemon publishes for everybody, never from its live database.
 *
 * The copy holds each task's environment names, not their values, so every
 * task comes back with env_hidden set, as another user's does from the
 * daemon.  Everything else is what the daemon's list and show give anybody.
 *
 * histdb_open(), histdb_list() and histdb_get() never print: they return a
 * negative errno and leave the reason in words for histdb_last_error().
 * histdb_open_announced() is the programs' way in: it says on stderr what is
 * read and how old it is, or why it cannot be. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol.h"
#include "task.h"

/* The newest schema (PRAGMA user_version) this code reads: the daemon's
 * DB_SCHEMA_VERSION (src/daemon/db.h), which the unit test checks.  Older
 * copies are read too, the columns they lack as a fresh task has them. */
#define HISTDB_SCHEMA_VERSION 5

typedef struct HistDb HistDb;

/* The copy: --history if given, else $BENCHRUNNER_HISTORY, else the
 * configured default, STATEDIR/tasks.db. */
const char *histdb_path(const char *arg);

/* Opens the copy at path read-only, as the immutable file it is.  Errors
 * besides the usual ones (-ENOENT, -EACCES, -ENOMEM):
 *   -EPROTONOSUPPORT  its schema is newer than this code
 *   -EMEDIUMTYPE      not a benchrunner database, or not a copy (a live
 *                     database in WAL mode, which no client may open)
 *   -EBADMSG          not an SQLite file, or corrupt
 * On failure, histdb_last_error(NULL) says why (per thread). */
int histdb_open(const char *path, HistDb **ret);
/* Accepts NULL; returns NULL. */
HistDb *histdb_close(HistDb *h);
static inline void histdb_closep(HistDb **h) {
        if (*h)
                histdb_close(*h);
}

/* Why the last call on h failed; with NULL, the last histdb_open() of this
 * thread.  Never NULL. */
const char *histdb_last_error(HistDb *h);

/* When the copy was published (its mtime), CLOCK_REALTIME microseconds. */
uint64_t histdb_mtime_usec(HistDb *h);
/* Its schema version. */
int histdb_schema_version(HistDb *h);

/* The tasks req selects, as the daemon's list does: req's state_mask,
 * reason_mask, has_uid/uid, name_glob (GLOB over the name, "task-ID" for a
 * task without one), since_usec/until_usec (queued at), after_id,
 * before_id and newest_first; at most limit tasks (0: all).  *ret is a
 * malloc'd array of *ret_n tasks (NULL when none; free it with
 * client_tasks_free() or histdb_tasks_free()); *ret_more (may be NULL)
 * says whether more matched. */
int histdb_list(HistDb *h, const ProtoRequest *req, size_t limit, Task ***ret, size_t *ret_n, bool *ret_more);
void histdb_tasks_free(Task **tasks, size_t n);

/* One task by id; -ENOENT when the copy has none. */
int histdb_get(HistDb *h, int64_t id, Task **ret);

/* For br-list, br-show and br-log: opens the copy at path and says so in
 * one line on stderr, with its age and that it may be older than the
 * daemon's data: because nobody answered at socket (no_daemon_at, the
 * socket's path), or, with NULL, because the user asked (--offline).  On
 * failure, one line says why (no copy, unreadable, too new) and a negative
 * errno comes back. */
int histdb_open_announced(const char *path, const char *no_daemon_at, HistDb **ret);
