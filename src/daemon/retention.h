/* retention.h: what finished tasks leave on disk is bounded (docs/retention.md).
 * Output of finished tasks is removed once older than a duration, when all
 * users' output passes a size, and a user's own oldest first when theirs
 * passes the per-user total; finished rows go when older than a duration or
 * when the database passes a size, the rows of the user whose history takes
 * the most room first, but nobody's below an equal share of that size.  Nothing of a task that is not finished is touched.
 * Never logs: the caller gets a report. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "db.h"

typedef struct RetentionConfig {
        uint64_t keep_output_usec;   /* output of tasks ended longer ago goes; 0: no age limit */
        uint64_t keep_output_bytes;  /* all users' kept output at most; 0: no limit */
        uint64_t max_user_output;    /* one user's kept and running output at most; 0: no limit */
        uint64_t keep_tasks_usec;    /* finished rows ended longer ago go; 0: kept */
        uint64_t keep_tasks_bytes;   /* the database's used size at most; 0: no limit */
} RetentionConfig;

typedef struct RetentionReport {
        size_t outputs_removed;
        uint64_t output_bytes_freed;
        size_t rows_deleted;
        size_t remove_failures;      /* output directories that stay (error: the last errno) */
        int error;
} RetentionReport;

typedef struct Retention Retention;

/* Reads the output kept per user from db; output_fd is STATE/output (both
 * borrowed: they must outlive the Retention). */
int retention_new(Db *db, int output_fd, const RetentionConfig *config, Retention **ret);
Retention *retention_free(Retention *r);

/* A task of uid finished, its output holding bytes. */
void retention_added(Retention *r, uid_t uid, uint64_t bytes);
/* The output bytes kept for uid's finished tasks. */
uint64_t retention_kept(const Retention *r, uid_t uid);

/* uid's running tasks' output holds running bytes: removes uid's oldest
 * finished output while kept + running passes max_user_output.  The room
 * left for the running tasks (max_user_output minus what stays kept;
 * UINT64_MAX without a limit). */
uint64_t retention_make_room(Retention *r, uid_t uid, uint64_t running, uint64_t now_usec,
                             RetentionReport *rep);

/* One round of the age and size limits, at most max_items removals:
 * 1 when there is more to do, 0 when done, or a negative errno (database). */
int retention_prune(Retention *r, uint64_t now_usec, size_t max_items, RetentionReport *rep);
