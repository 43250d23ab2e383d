/* taskrow.h: one row of the tasks table into a Task: the daemon's database
 * (db.c) and the readers of its history copy (histdb.c) select the same
 * columns in the same order ("id, " TASKROW_COLUMNS_SUBMITTED ", "
 * TASKROW_COLUMNS_MUTABLE, the copy without submit_token), so one reader
 * checks every value of both.  Never logs. */
#pragma once

#include <sqlite3.h>

#include "task.h"

/* Fixed at submission. */
#define TASKROW_COLUMNS_SUBMITTED                                              \
        "name, uid, gid, user, argv, env, submit_dir, cleanup_argv, threads, " \
        "memory_bytes, time_limit_us, cleanup_time_limit_us, priority_group, " \
        "priority, whole_cores, queued_at_us, submit_token, requeue, attempt, retry_of, " \
        "in_submit_dir, retry_oom_bytes, after_ids, after_ok, series"
#define TASKROW_COLUMNS_RESULT(p)                                              \
        p "reason, " p "exit_code, " p "signal, " p "started_at_us, "          \
        p "finished_at_us, " p "wall_us, " p "cpu_user_us, " p "cpu_system_us, " \
        p "peak_memory_bytes"
/* What the daemon's updates write. */
#define TASKROW_COLUMNS_MUTABLE                                                \
        "state, cpus, unit, output_dir, output_truncated, output_bytes, "      \
        "output_removed_at_us, held, next_attempt, "                           \
        TASKROW_COLUMNS_RESULT("") ", " TASKROW_COLUMNS_RESULT("cleanup_") ", " \
        TASKROW_COLUMNS_RECORD
/* What a task ran in and beside. */
#define TASKROW_COLUMNS_RECORD                                                 \
        "environment_id, warnings, numa_nodes, "                               \
        "cpu_pressure_some_us, cpu_pressure_full_us, "                         \
        "memory_pressure_some_us, memory_pressure_full_us, "                   \
        "io_pressure_some_us, io_pressure_full_us, "                           \
        "throttled_periods, throttled_us, tasks_beside, "                     \
        "backend, cluster, node, job_id"

/* The row s stands on.  with_token: the row has submit_token (the live
 * database's; the history copy has none).  An empty environment reads as
 * none.  0; -ENOMEM; -EIO when s has another number of columns;
 * -EBADMSG (or what a JSON array column gave) for a value out of range,
 * its column in *ret_bad_column. */
int taskrow_read(sqlite3_stmt *s, bool with_token, Task **ret, int *ret_bad_column);
