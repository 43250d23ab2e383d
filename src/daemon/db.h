/* db.h: the SQLite layer: the queue and the whole history of tasks in one
 * database file.  The daemon is the only writer and keeps its connection
 * open; nobody else may open it (mode 0600: see db.c).  Readers get a copy
 * (db_copy(), history.c).
 *
 * All functions return 0 on success and a negative errno on
 * failure; they never log.  After a failure, db_last_error() says what went
 * wrong in words, for the caller to log.
 *
 * The schema (version DB_SCHEMA_VERSION, kept in PRAGMA user_version) is
 * described at the migration table in db.c; people query the table `tasks`
 * and the view `task_history`. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sched.h"
#include "task.h"

/* The schema version this code writes and reads.  A database with a newer
 * version is refused with -EPROTONOSUPPORT; an older one is migrated step by
 * step when opened for writing. */
#define DB_SCHEMA_VERSION 5

typedef struct Db Db;

enum {
        /* Open for reading only: never creates, never migrates, never
         * writes.  An older schema is refused with -ESTALE. */
        DB_READONLY = 1 << 0,
        /* Create the file (mode 0600) if it does not exist.  Ignored with
         * DB_READONLY. */
        DB_CREATE   = 1 << 1,
};

/* Opens (and with DB_CREATE creates) the database at path, sets WAL mode,
 * a busy timeout of 50 ms and migrates the schema.  For writers the database
 * and its -wal and -shm files are made mode 0600 (see db.c).  Errors besides the usual ones:
 *   -EPROTONOSUPPORT  the schema is newer than this code
 *   -ESTALE           read-only open of a database that needs migrating
 *                     (or is empty)
 *   -EMEDIUMTYPE      an SQLite file that is not a benchrunner database
 *   -EBADMSG          not an SQLite file, or corrupt
 *   -EBUSY            locked by another writer for longer than the timeout
 * On failure, db_last_error(NULL) returns the reason (per thread). */
int db_open(const char *path, int flags, Db **ret);
/* Finalizes everything and closes.  Accepts NULL; returns NULL. */
Db *db_close(Db *db);
static inline void db_closep(Db **db) {
        if (*db)
                db_close(*db);
}

/* What went wrong in the last failed call on db, in words (SQLite's message
 * or ours).  With NULL: why the last db_open() in this thread failed.
 * Never NULL; valid until the next call on db. */
const char *db_last_error(Db *db);

/* Inserts n new tasks in one transaction: all of them or none.  On success
 * sets each task's id (ascending in array order) and, where it was 0, its
 * queued_usec to the current CLOCK_REALTIME time; on failure leaves the
 * tasks untouched.  The tasks' state, results and other mutable fields are
 * stored as they are (normally a fresh queued task).  -EINVAL for a task
 * without argv or submit_dir, or with an empty cleanup_argv; -ERANGE for a
 * number that does not fit SQLite's signed 64 bits. */
int db_insert_tasks(Db *db, Task **tasks, size_t n);

/* Writes the mutable fields of existing tasks: state, cpus, unit,
 * output_dir, output_truncated, and the main and cleanup results and times.
 * The rest (what was submitted) never changes.  db_update_tasks() does all
 * in one transaction.  -ENOENT if a task's id is not in the database (then
 * nothing is written). */
int db_update_task(Db *db, const Task *t);
int db_update_tasks(Db *db, Task * const *tasks, size_t n);

/* The next attempt of prev, in one transaction: inserts next (as
 * db_insert_tasks() does: its id set on success) and records its id as
 * prev's next_attempt (prev's other mutable fields written as they are).
 * On failure neither is written and prev->next_attempt is 0. */
int db_insert_attempt(Db *db, Task *next, Task *prev);

/* How a task stands, without reading all of it: for dependencies. */
typedef struct DbEnd {
        TaskState state;
        TaskReason reason;        /* the main command's; NONE until it ended */
        bool has_exit_code;
        int exit_code;
        int64_t next_attempt;     /* 0: none */
        uid_t uid;
} DbEnd;
/* -ENOENT if there is no task id. */
int db_get_end(Db *db, int64_t id, DbEnd *ret);

/* The id of the environments row holding record (machine_to_json()'s
 * text), stored now if there is none: 1 if it was stored, 0 if it was
 * there.  Outside a transaction it is one of its own. */
int db_environment(Db *db, const char *record, uint64_t now_usec, int64_t *ret);
/* The record of environments row id (malloc'd); -ENOENT for none. */
int db_get_environment(Db *db, int64_t id, char **ret);

/* The queued tasks with dependencies (after_ids), oldest first: what a
 * restart needs to keep them waiting.  Free with db_waiting_free(). */
typedef struct DbWaiting {
        int64_t id;
        int64_t *after;
        size_t n_after;
        bool after_ok;
} DbWaiting;
int db_load_waiting(Db *db, DbWaiting **ret, size_t *ret_n);
void db_waiting_free(DbWaiting *w, size_t n);

/* The finished tasks that ran out of memory with a --retry-oom ladder left
 * and no next attempt (a daemon stopped in between), ascending; *ret is
 * malloc'd (NULL when none). */
int db_oom_unretried(Db *db, int64_t **ret, size_t *ret_n);

/* The ids (ascending) of uid's tasks stored with this submit token; *ret
 * NULL and *ret_n 0 when there are none. */
int db_find_submission(Db *db, uid_t uid, const char *token, int64_t **ret, size_t *ret_n);

/* One task by id; -ENOENT if there is none. */
int db_get_task(Db *db, int64_t id, Task **ret);

#define DB_STATE_MASK(s) (1u << (s))
#define DB_STATES_UNFINISHED \
        (DB_STATE_MASK(TASK_QUEUED) | DB_STATE_MASK(TASK_RUNNING) | DB_STATE_MASK(TASK_CLEANUP))

/* Which tasks db_list_tasks() returns.  All-zero = all tasks, oldest
 * first. */
typedef struct DbFilter {
        unsigned states;        /* DB_STATE_MASK() bits; 0 = any state */
        bool has_uid;
        uid_t uid;              /* only this submitter's tasks */
        int64_t after_id;       /* only id > after_id; 0 = from the start */
        int64_t before_id;      /* only id < before_id; 0 = no bound */
        bool newest_first;      /* order by id descending (default ascending) */
        size_t limit;           /* at most this many; 0 = no limit */
        unsigned reasons;       /* 1u << TaskReason of the main command; 0 = any */
        const char *name_glob;  /* sqlite GLOB over the name ("task-ID" without one); NULL = any */
        uint64_t since_usec;    /* queued at or after; 0 = no bound */
        uint64_t until_usec;    /* queued before; 0 = no bound */
        const char *series;     /* only this series; NULL = any */
        int64_t environment_id; /* only tasks that started in it; 0 = any */
} DbFilter;

/* Tasks matching f (NULL = all), ordered by id.  *ret is a newly allocated
 * array of *ret_n tasks, also NULL-terminated (NULL when there are none);
 * free it with db_tasks_free().  Rows come back as they were stored: unknown
 * values (NULL columns) as 0 / false has_* flags / NULL strings, an empty
 * environment as env == NULL. */
int db_list_tasks(Db *db, const DbFilter *f, Task ***ret, size_t *ret_n);

/* Every task that is not finished (queued, running, cleanup), oldest first:
 * what the daemon picks up again after a restart. */
int db_load_unfinished(Db *db, Task ***ret, size_t *ret_n);

/* The scheduling record of every queued task, oldest first: what a restart
 * puts back into the queue without reading whole tasks.  Each record's cost
 * is what its strings take in the row (command, cleanup command,
 * environment, name, directory).  *ret is malloc'd (NULL when none). */
int db_load_queued(Db *db, SchedTask **ret, size_t *ret_n);

/* Number of tasks holding resources (running or in cleanup) and queued.
 * Either pointer may be NULL. */
int db_count(Db *db, unsigned *ret_running, unsigned *ret_queued);

/* Frees an array of tasks from db_list_tasks() / db_load_unfinished().
 * Accepts NULL. */
void db_tasks_free(Task **tasks, size_t n);

/* The highest task id given out (the AUTOINCREMENT sequence), and raising
 * it, so that the next task gets a higher id than any earlier database
 * gave (ids are never reused, also after the database was lost). */
int db_last_id(Db *db, int64_t *ret);
int db_raise_last_id(Db *db, int64_t id);

/* ---- retention (docs/retention.md) ----
 * Finished tasks' output kept on disk, and the rows themselves.  "ended" is
 * when the cleanup command, else the command, ended (for a task cancelled
 * while queued: when it was submitted). */
typedef struct DbOutput {
        int64_t id;
        uid_t uid;
        uint64_t bytes;          /* output_bytes (0: unknown) */
        uint64_t ended_usec;
        bool has_output;         /* its output is still kept */
        uint64_t row_bytes;      /* about what the row takes (db_oldest_finished()) */
} DbOutput;

typedef void (*db_output_total_t)(void *userdata, uid_t uid, uint64_t bytes);
/* Calls cb once per user with the output bytes kept for their finished
 * tasks. */
int db_output_totals(Db *db, db_output_total_t cb, void *userdata);
/* Finished tasks whose output is kept, oldest (lowest id) first: of uid
 * unless all_users, ended before ended_before_usec unless 0; at most limit
 * (>= 1).  *ret is malloc'd. */
int db_kept_outputs(Db *db, bool all_users, uid_t uid, uint64_t ended_before_usec, size_t limit,
                    DbOutput **ret, size_t *ret_n);
/* Notes that the output of tasks ids[0..n) was removed, in one transaction. */
int db_output_removed(Db *db, const int64_t *ids, size_t n, uint64_t when_usec);
/* Bytes of the database file in use (pages less the free list). */
int db_used_bytes(Db *db, uint64_t *ret);
/* The user whose finished rows take the most room, about how much, and how
 * many users have finished rows; -ENOENT when there is none. */
int db_largest_history(Db *db, uid_t *ret, uint64_t *ret_bytes, unsigned *ret_users);
/* Finished rows, oldest first, as db_kept_outputs() selects them, with or
 * without output kept (has_output says). */
int db_oldest_finished(Db *db, bool all_users, uid_t uid, uint64_t ended_before_usec, size_t limit,
                       DbOutput **ret, size_t *ret_n);
/* Deletes finished rows ids[0..n) in one transaction (later attempts that
 * point at one lose their retry_of).  Rows not finished stay. */
int db_delete_finished(Db *db, const int64_t *ids, size_t n);

/* PRAGMA data_version: changes whenever another connection committed a
 * change since the last call on this one. */
int db_data_version(Db *db, int64_t *ret);

/* Copies the whole database (a snapshot: other connections may write
 * meanwhile) into dst, an existing empty file or a database to overwrite,
 * as a rollback-journal database that readers may open read-only without
 * writing anything.  Its env column holds the variables' names only (the
 * values are their owners' alone).  Any thread may call it on its own db. */
int db_copy(Db *db, const char *dst);
