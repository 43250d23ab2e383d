/* db.c: the SQLite layer: opening (WAL, permissions, schema migrations),
 * storing and loading tasks, and copying the whole database for readers.
 * Never logs: errors come back as negative errno values, with the words in
 * db_last_error().
 *
 * Nobody but root touches the live database.  A reader who may open a WAL
 * database can stop its writer: a POSIX read lock on the -shm file's write
 * lock byte (an O_RDONLY descriptor is enough) makes every write wait and
 * fail, and an open read transaction stops checkpoints, so the -wal grows
 * without bound.  So the daemon's database is created with mode 0600 (and
 * its -wal and -shm follow the database file's mode: SQLite gives them that
 * mode whatever the umask; db_open() repairs files left otherwise), in a
 * directory only root may enter (the daemon's business), and users read a
 * copy made with db_copy() (see history.c and docs/database.md): a plain
 * rollback-journal file, replaced by rename(), which nobody writes after it
 * is published, so a reader's locks hold back nobody.  The copy holds the
 * names of each task's environment, not their values. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sqlite3.h>

#include "db.h"
#include "taskrow.h"
#include "json.h"
#include "util.h"

/* Nobody but the daemon and its history copier (a reader, who never blocks
 * a writer in WAL mode) opens the live database, so a wait means a stuck
 * disk or root's own sqlite3: the event loop waits at most this long, and
 * the caller keeps what it could not write (manager.c retries it). */
#define DB_BUSY_TIMEOUT_MS 50
/* After a checkpoint (and when the daemon closes), the -wal file is
 * truncated to at most this. */
#define DB_WAL_SIZE_LIMIT "67108864"
/* KiB of page cache of a read-only connection and of db_copy()'s copy: they
 * stream pages once (the history thread), and a large history must not
 * make the daemon large. */
#define DB_COPY_CACHE_KIB "256"

/* "BRUN": marks the file as ours, in PRAGMA application_id. */
#define DB_APPLICATION_ID 0x4252554E
#define DB_FILE_MODE 0600

/* ---- the schema ----
 *
 * One row per task, never deleted, ids never reused (AUTOINCREMENT).
 * Units are in the column names: _us = microseconds, _at_us = CLOCK_REALTIME
 * microseconds since the epoch, _bytes = bytes.  NULL means unknown or not
 * applicable (no time limit, not started, no cleanup command, ...).
 * argv, env and cleanup_argv are JSON arrays of strings, byte for byte;
 * command and cleanup_command are the same argv rendered for people (shell
 * quoted), never parsed back.  started_at_us / finished_at_us and the
 * results without prefix are the main command's; cleanup_* the cleanup
 * command's.  The view task_history shows local times and seconds.
 *
 * Each step is applied in its own transaction together with the bump of
 * user_version.  Never edit a released step: add one. */
static const char schema_v1[] =
        "CREATE TABLE tasks (\n"
        "        id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
        "        name TEXT,\n"
        "        state TEXT NOT NULL\n"
        "                CHECK (state IN ('queued', 'running', 'cleanup', 'finished')),\n"
        "        user TEXT,\n"
        "        uid INTEGER NOT NULL,\n"
        "        gid INTEGER NOT NULL,\n"
        "        command TEXT NOT NULL,\n"
        "        argv TEXT NOT NULL,\n"
        "        env TEXT NOT NULL DEFAULT '[]',\n"
        "        submit_dir TEXT NOT NULL,\n"
        "        cleanup_command TEXT,\n"
        "        cleanup_argv TEXT,\n"
        "        threads INTEGER NOT NULL CHECK (threads >= 1),\n"
        "        memory_bytes INTEGER NOT NULL CHECK (memory_bytes >= 0),\n"
        "        time_limit_us INTEGER,\n"
        "        cleanup_time_limit_us INTEGER,\n"
        "        priority_group INTEGER NOT NULL DEFAULT 0,\n"
        "        priority INTEGER NOT NULL DEFAULT 0,\n"
        "        whole_cores INTEGER NOT NULL DEFAULT 0,\n"
        "        queued_at_us INTEGER NOT NULL,\n"
        "        started_at_us INTEGER,\n"
        "        finished_at_us INTEGER,\n"
        "        cpus TEXT,\n"
        "        unit TEXT,\n"
        "        output_dir TEXT,\n"
        "        output_truncated INTEGER NOT NULL DEFAULT 0,\n"
        "        reason TEXT,\n"
        "        exit_code INTEGER,\n"
        "        signal INTEGER,\n"
        "        wall_us INTEGER,\n"
        "        cpu_user_us INTEGER,\n"
        "        cpu_system_us INTEGER,\n"
        "        peak_memory_bytes INTEGER,\n"
        "        cleanup_reason TEXT,\n"
        "        cleanup_exit_code INTEGER,\n"
        "        cleanup_signal INTEGER,\n"
        "        cleanup_started_at_us INTEGER,\n"
        "        cleanup_finished_at_us INTEGER,\n"
        "        cleanup_wall_us INTEGER,\n"
        "        cleanup_cpu_user_us INTEGER,\n"
        "        cleanup_cpu_system_us INTEGER,\n"
        "        cleanup_peak_memory_bytes INTEGER\n"
        ");\n"
        "CREATE INDEX tasks_state ON tasks (state);\n"
        "CREATE INDEX tasks_uid ON tasks (uid);\n"
        "CREATE VIEW task_history AS SELECT\n"
        "        id,\n"
        "        coalesce(name, 'task-' || id) AS name,\n"
        "        state,\n"
        "        coalesce(user, uid) AS user,\n"
        "        command,\n"
        "        threads,\n"
        "        memory_bytes,\n"
        "        cpus,\n"
        "        datetime(queued_at_us / 1000000, 'unixepoch', 'localtime') AS queued_at,\n"
        "        datetime(started_at_us / 1000000, 'unixepoch', 'localtime') AS started_at,\n"
        "        datetime(finished_at_us / 1000000, 'unixepoch', 'localtime') AS finished_at,\n"
        "        reason,\n"
        "        exit_code,\n"
        "        signal,\n"
        "        round(wall_us / 1e6, 3) AS wall_s,\n"
        "        round(cpu_user_us / 1e6, 3) AS cpu_user_s,\n"
        "        round(cpu_system_us / 1e6, 3) AS cpu_system_s,\n"
        "        peak_memory_bytes,\n"
        "        cleanup_command,\n"
        "        cleanup_reason,\n"
        "        cleanup_exit_code,\n"
        "        cleanup_signal,\n"
        "        datetime(cleanup_finished_at_us / 1000000, 'unixepoch', 'localtime') AS cleanup_finished_at,\n"
        "        round(cleanup_wall_us / 1e6, 3) AS cleanup_wall_s,\n"
        "        output_dir,\n"
        "        output_truncated\n"
        "FROM tasks;\n"
        "PRAGMA application_id = 1112692046;\n"; /* DB_APPLICATION_ID */

/* 2: submit_token, the client's name for a submit request (br-run sends
 * one with each), so that a request sent again after a lost connection is
 * stored once; requeue, attempt and retry_of for tasks interrupted by a
 * reboot. */
static const char schema_v2[] =
        "ALTER TABLE tasks ADD COLUMN submit_token TEXT;\n"
        "CREATE INDEX tasks_submit_token ON tasks (uid, submit_token) WHERE submit_token IS NOT NULL;\n"
        /* requeue: a task interrupted by a reboot is queued again as a new
         * row, attempt + 1, retry_of the first attempt's id */
        "ALTER TABLE tasks ADD COLUMN requeue INTEGER NOT NULL DEFAULT 0;\n"
        "ALTER TABLE tasks ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1 CHECK (attempt >= 1);\n"
        "ALTER TABLE tasks ADD COLUMN retry_of INTEGER REFERENCES tasks (id);\n";

/* 3: what a task's output takes on disk and when retention removed it
 * (--keep-output, --max-user-output: docs/retention.md); the index finds
 * the output that is still there, oldest first, per user. */
static const char schema_v3[] =
        "ALTER TABLE tasks ADD COLUMN output_bytes INTEGER CHECK (output_bytes >= 0);\n"
        "ALTER TABLE tasks ADD COLUMN output_removed_at_us INTEGER;\n"
        "CREATE INDEX tasks_output_kept ON tasks (uid, id)\n"
        "        WHERE state = 'finished' AND output_dir IS NOT NULL AND output_removed_at_us IS NULL;\n"
        "CREATE INDEX tasks_finished_uid ON tasks (uid, id) WHERE state = 'finished';\n";

/* 4: in_submit_dir, a task that runs in its submit directory rather than
 * in a fresh one (br-run --in-submit-dir); held, a queued task that does
 * not start until released (br-cancel --hold, br-release); the index
 * serves br-list's time range (--since, --until) over a long history.
 * retry_oom_bytes: the memory sizes (a JSON array of bytes) of the
 * attempts queued after an oom (br-run --retry-oom); next_attempt: the
 * attempt the daemon queued after this one ended (oom, interrupted);
 * after_ids and after_ok: the tasks (a JSON array of ids) this one waits
 * for, and whether they must have exited 0 (br-run --after, --after-ok). */
static const char schema_v4[] =
        "ALTER TABLE tasks ADD COLUMN in_submit_dir INTEGER NOT NULL DEFAULT 0 CHECK (in_submit_dir IN (0, 1));\n"
        "ALTER TABLE tasks ADD COLUMN held INTEGER NOT NULL DEFAULT 0 CHECK (held IN (0, 1));\n"
        "CREATE INDEX tasks_queued_at ON tasks (queued_at_us);\n"
        "ALTER TABLE tasks ADD COLUMN retry_oom_bytes TEXT;\n"
        "ALTER TABLE tasks ADD COLUMN next_attempt INTEGER;\n"
        "ALTER TABLE tasks ADD COLUMN after_ids TEXT;\n"
        "ALTER TABLE tasks ADD COLUMN after_ok INTEGER NOT NULL DEFAULT 0 CHECK (after_ok IN (0, 1));\n"
        /* what a daemon that died between an oom and its next attempt
         * left: found at the next start without a scan */
        "CREATE INDEX tasks_oom_unretried ON tasks (id)\n"
        "        WHERE reason = 'oom' AND retry_oom_bytes IS NOT NULL AND next_attempt IS NULL;\n"
        /* what a task ran in and beside (docs/database.md): one row per
         * distinct environment (machine.h's record as JSON), the task's
         * warnings (a JSON array of lines), the NUMA nodes its memory was
         * bound to, its group's pressure and CPU throttling (cgroup v2),
         * how many other tasks ran while it did; NULL: not known */
        "CREATE TABLE environments (\n"
        "        id INTEGER PRIMARY KEY,\n"
        "        record TEXT NOT NULL UNIQUE,\n"
        "        first_seen_at_us INTEGER NOT NULL\n"
        ");\n"
        "CREATE VIEW environment AS SELECT id,\n"
        "        json_extract(record, '$.cpu_model') AS cpu_model,\n"
        "        json_extract(record, '$.microcode') AS microcode,\n"
        "        json_extract(record, '$.kernel') AS kernel,\n"
        "        json_extract(record, '$.systemd') AS systemd,\n"
        "        json_extract(record, '$.benchrunner') AS benchrunner,\n"
        "        json_extract(record, '$.cgroup') AS cgroup,\n"
        "        json_extract(record, '$.smt') AS smt,\n"
        "        json_extract(record, '$.boost') AS boost,\n"
        "        json_extract(record, '$.transparent_hugepages') AS transparent_hugepages,\n"
        "        json_extract(record, '$.aslr') AS aslr,\n"
        "        json_extract(record, '$.memory_bytes') AS memory_bytes,\n"
        "        json_extract(record, '$.swap_bytes') AS swap_bytes,\n"
        "        json_extract(record, '$.cpus') AS cpus,\n"
        "        first_seen_at_us\n"
        "FROM environments;\n"
        "ALTER TABLE tasks ADD COLUMN series TEXT;\n"
        "ALTER TABLE tasks ADD COLUMN environment_id INTEGER REFERENCES environments (id);\n"
        "ALTER TABLE tasks ADD COLUMN warnings TEXT;\n"
        "ALTER TABLE tasks ADD COLUMN numa_nodes TEXT;\n"
        "ALTER TABLE tasks ADD COLUMN cpu_pressure_some_us INTEGER;\n"
        "ALTER TABLE tasks ADD COLUMN cpu_pressure_full_us INTEGER;\n"
        "ALTER TABLE tasks ADD COLUMN memory_pressure_some_us INTEGER;\n"
        "ALTER TABLE tasks ADD COLUMN memory_pressure_full_us INTEGER;\n"
        "ALTER TABLE tasks ADD COLUMN io_pressure_some_us INTEGER;\n"
        "ALTER TABLE tasks ADD COLUMN io_pressure_full_us INTEGER;\n"
        "ALTER TABLE tasks ADD COLUMN throttled_periods INTEGER;\n"
        "ALTER TABLE tasks ADD COLUMN throttled_us INTEGER;\n"
        "ALTER TABLE tasks ADD COLUMN tasks_beside INTEGER;\n"
        "CREATE INDEX tasks_environment ON tasks (environment_id) WHERE environment_id IS NOT NULL;\n"
        "CREATE INDEX tasks_series ON tasks (series) WHERE series IS NOT NULL;\n";

/* 5: where a task ran (docs/slurm.md): backend 'slurm' for a job of a
 * Slurm cluster, 'slurm-export' for one imported from br-run
 * --emit-sbatch's records (NULL: this machine's systemd), the cluster's
 * name, the node, Slurm's job id. */
static const char schema_v5[] =
        "ALTER TABLE tasks ADD COLUMN backend TEXT;\n"
        "ALTER TABLE tasks ADD COLUMN cluster TEXT;\n"
        "ALTER TABLE tasks ADD COLUMN node TEXT;\n"
        "ALTER TABLE tasks ADD COLUMN job_id TEXT;\n"
        "CREATE INDEX tasks_job ON tasks (job_id) WHERE job_id IS NOT NULL;\n";

static const struct Migration {
        int version;
        const char *sql;
} migrations[] = {
        { 1, schema_v1 },
        { 2, schema_v2 },
        { 3, schema_v3 },
        { 4, schema_v4 },
        { 5, schema_v5 },
};
_Static_assert(ELEMENTSOF(migrations) == DB_SCHEMA_VERSION,
               "one migration step per schema version, 1, 2, ...");
_Static_assert(DB_APPLICATION_ID == 1112692046, "application_id in schema_v1");

/* ---- columns, in the order statements bind and read them ---- */

#define COLUMNS_SUBMITTED TASKROW_COLUMNS_SUBMITTED
#define COLUMNS_MUTABLE TASKROW_COLUMNS_MUTABLE

typedef enum Stmt {
        STMT_BEGIN,
        STMT_COMMIT,
        STMT_ROLLBACK,
        STMT_INSERT,
        STMT_UPDATE,
        STMT_GET,
        STMT_COUNT,
        STMT_BY_TOKEN,
        STMT_END,
        STMT_ENV_FIND,
        STMT_ENV_INSERT,
        STMT_ENV_GET,
        STMT_LIST,              /* + 128 variants, see stmt_sql(), prepared when first used */
        _STMT_MAX = STMT_LIST + 512,
} Stmt;

#define LIST_BY_STATE    1
#define LIST_BY_UID      2
#define LIST_NEWEST      4
#define LIST_BY_REASON   8
#define LIST_BY_NAME     16
#define LIST_SINCE       32
#define LIST_UNTIL       64
#define LIST_BY_SERIES   128
#define LIST_BY_ENV      256
#define LIST_REASON_SLOTS 8     /* = _TASK_REASON_MAX - 1 */
_Static_assert(LIST_REASON_SLOTS == _TASK_REASON_MAX - 1, "one IN slot per reason");
#define LIST_STATE_SLOTS 4      /* = _TASK_STATE_MAX */
_Static_assert(LIST_STATE_SLOTS == _TASK_STATE_MAX, "one IN slot per state");

struct Db {
        sqlite3 *sqlite;
        bool readonly;
        sqlite3_stmt *stmts[_STMT_MAX];
        char error[512];
};

static _Thread_local char open_error[512];

/* ---- errors ---- */

static int errno_from_sqlite(sqlite3 *s, int rc) {
        int e;

        switch (rc & 0xff) {
        case SQLITE_OK:
        case SQLITE_ROW:
        case SQLITE_DONE:
                return 0;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                return -EBUSY;
        case SQLITE_CONSTRAINT:
        case SQLITE_MISMATCH:
        case SQLITE_RANGE:
                return -EINVAL;
        case SQLITE_NOMEM:
                return -ENOMEM;
        case SQLITE_READONLY:
                return -EROFS;
        case SQLITE_PERM:
        case SQLITE_AUTH:
                return -EACCES;
        case SQLITE_FULL:
                return -ENOSPC;
        case SQLITE_TOOBIG:
                return -E2BIG;
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
                return -EBADMSG;
        case SQLITE_INTERRUPT:
                return -EINTR;
        case SQLITE_CANTOPEN:
                e = s ? sqlite3_system_errno(s) : 0;
                return e > 0 ? -e : -ENOENT;
        default:
                return -EIO;
        }
}

_printf_(3, 4)
static int fail(Db *db, int r, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(db->error, sizeof db->error, fmt, ap);
        va_end(ap);
        return r;
}

/* Records SQLite's message now: a later ROLLBACK would replace it. */
static int fail_sqlite(Db *db, int rc, const char *what) {
        return fail(db, errno_from_sqlite(db->sqlite, rc), "%s: %s", what,
                    db->sqlite ? sqlite3_errmsg(db->sqlite) : sqlite3_errstr(rc));
}

const char *db_last_error(Db *db) {
        if (!db)
                return open_error[0] ? open_error : "no error";
        return db->error[0] ? db->error : "no error";
}

/* ---- statements ---- */

static void sqlite3_finalizep(sqlite3_stmt **s) {
        if (*s)
                (void) sqlite3_finalize(*s);
}

/* A cached statement goes back to its idle state when the scope ends, so
 * that no finished SELECT keeps a read transaction (and the WAL) open. */
static void stmt_resetp(sqlite3_stmt **s) {
        if (*s) {
                (void) sqlite3_reset(*s);
                (void) sqlite3_clear_bindings(*s);
        }
}

/* "a, b, c" -> "a = ?, b = ?, c = ?" (with_names) or "?, ?, ?". */
static char *placeholders(const char *columns, bool with_names) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return NULL;
        for (const char *p = columns; *p;) {
                size_t n = strcspn(p, ",");

                if (with_names)
                        fprintf(f, "%.*s = ?", (int) n, p);
                else
                        fputs("?", f);
                p += n;
                if (*p == ',') {
                        fputs(", ", f);
                        p += strspn(p, ", ");
                }
        }
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

static char *stmt_sql(Stmt id) {
        _cleanup_(freep) char *q = NULL;
        char *sql = NULL;
        int k;

        switch (id) {
        case STMT_BEGIN:
                return strdup("BEGIN IMMEDIATE");
        case STMT_COMMIT:
                return strdup("COMMIT");
        case STMT_ROLLBACK:
                return strdup("ROLLBACK");
        case STMT_INSERT:
                q = placeholders("command, cleanup_command, " COLUMNS_SUBMITTED ", "
                                 COLUMNS_MUTABLE, false);
                if (!q || asprintf(&sql, "INSERT INTO tasks (command, cleanup_command, "
                                   COLUMNS_SUBMITTED ", " COLUMNS_MUTABLE ") VALUES (%s)",
                                   q) < 0)
                        return NULL;
                return sql;
        case STMT_UPDATE:
                q = placeholders(COLUMNS_MUTABLE, true);
                if (!q || asprintf(&sql, "UPDATE tasks SET %s WHERE id = ?", q) < 0)
                        return NULL;
                return sql;
        case STMT_GET:
                return strdup("SELECT id, " COLUMNS_SUBMITTED ", " COLUMNS_MUTABLE
                              " FROM tasks WHERE id = ?");
        case STMT_BY_TOKEN:
                return strdup("SELECT id FROM tasks WHERE uid = ? AND submit_token = ? ORDER BY id");
        case STMT_ENV_FIND:
                return strdup("SELECT id FROM environments WHERE record = ?");
        case STMT_ENV_INSERT:
                return strdup("INSERT INTO environments (record, first_seen_at_us) VALUES (?, ?)");
        case STMT_ENV_GET:
                return strdup("SELECT record FROM environments WHERE id = ?");
        case STMT_END:
                return strdup("SELECT state, reason, exit_code, coalesce(next_attempt, 0), uid FROM tasks WHERE id = ?");
        case STMT_COUNT:
                return strdup("SELECT state, count(*) FROM tasks"
                              " WHERE state IN ('queued', 'running', 'cleanup')"
                              " GROUP BY state");
        default:
                /* ?1 after, ?2 before, ?3..?6 states, ?7 uid, ?8 limit,
                 * ?9..?16 reasons, ?17 name pattern, ?18 since, ?19 until,
                 * ?20 series, ?21 environment.
                 * Only the filters asked for are in the text, so that the
                 * planner sees plain index lookups. */
                k = id - STMT_LIST;
                if (asprintf(&sql,
                             "SELECT id, " COLUMNS_SUBMITTED ", " COLUMNS_MUTABLE
                             " FROM tasks WHERE id > ?1 AND id < ?2%s%s%s%s%s%s%s%s"
                             " ORDER BY id %s LIMIT ?8",
                             k & LIST_BY_STATE ? " AND state IN (?3, ?4, ?5, ?6)" : "",
                             k & LIST_BY_UID ? " AND uid = ?7" : "",
                             k & LIST_BY_REASON ? " AND reason IN (?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)" : "",
                             k & LIST_BY_NAME ? " AND coalesce(name, 'task-' || id) GLOB ?17" : "",
                             k & LIST_SINCE ? " AND queued_at_us >= ?18" : "",
                             k & LIST_UNTIL ? " AND queued_at_us < ?19" : "",
                             k & LIST_BY_SERIES ? " AND series = ?20" : "",
                             k & LIST_BY_ENV ? " AND environment_id = ?21" : "",
                             k & LIST_NEWEST ? "DESC" : "ASC") < 0)
                        return NULL;
                return sql;
        }
}

/* The cached statement id, prepared on first use. */
static int stmt_get(Db *db, Stmt id, sqlite3_stmt **ret) {
        _cleanup_(freep) char *sql = NULL;
        int rc;

        if (!db->stmts[id]) {
                sql = stmt_sql(id);
                if (!sql)
                        return fail(db, -ENOMEM, "out of memory");
                rc = sqlite3_prepare_v3(db->sqlite, sql, -1, SQLITE_PREPARE_PERSISTENT,
                                        &db->stmts[id], NULL);
                if (rc != SQLITE_OK)
                        return fail_sqlite(db, rc, "Failed to prepare statement");
        }
        *ret = db->stmts[id];
        return 0;
}

/* Runs a statement that returns no rows. */
static int stmt_run(Db *db, Stmt id, const char *what) {
        _cleanup_(stmt_resetp) sqlite3_stmt *s = NULL;
        int r, rc;

        r = stmt_get(db, id, &s);
        if (r < 0)
                return r;
        rc = sqlite3_step(s);
        if (rc != SQLITE_DONE)
                return fail_sqlite(db, rc, what);
        return 0;
}

/* BEGIN IMMEDIATE takes the write lock up front (waiting at most the busy
 * timeout), so no statement inside can fail with BUSY half-way. */
static int tx_begin(Db *db) {
        return stmt_run(db, STMT_BEGIN, "Failed to begin transaction");
}

static int tx_commit(Db *db) {
        return stmt_run(db, STMT_COMMIT, "Failed to commit transaction");
}

/* Keeps the error of what failed, not of the rollback. */
static void tx_rollback(Db *db) {
        char saved[sizeof db->error];

        if (sqlite3_get_autocommit(db->sqlite))
                return;
        memcpy(saved, db->error, sizeof saved);
        (void) stmt_run(db, STMT_ROLLBACK, "Failed to roll back");
        memcpy(db->error, saved, sizeof saved);
}

/* ---- binding and reading values ---- */

typedef struct Binder {
        sqlite3_stmt *s;
        int i;
        int rc;
} Binder;

static void bind_text(Binder *b, const char *v) {
        if (b->rc != SQLITE_OK)
                return;
        b->i++;
        b->rc = v ? sqlite3_bind_text(b->s, b->i, v, -1, SQLITE_TRANSIENT)
                  : sqlite3_bind_null(b->s, b->i);
}

static void bind_int(Binder *b, int64_t v) {
        if (b->rc != SQLITE_OK)
                return;
        b->i++;
        b->rc = sqlite3_bind_int64(b->s, b->i, v);
}

/* Callers checked that v fits (values_check()). */
static void bind_u64_if(Binder *b, bool has, uint64_t v) {
        if (b->rc != SQLITE_OK)
                return;
        b->i++;
        b->rc = has ? sqlite3_bind_int64(b->s, b->i, (int64_t) v)
                    : sqlite3_bind_null(b->s, b->i);
}

static void bind_int_if(Binder *b, bool has, int v) {
        if (b->rc != SQLITE_OK)
                return;
        b->i++;
        b->rc = has ? sqlite3_bind_int64(b->s, b->i, v) : sqlite3_bind_null(b->s, b->i);
}

static void bind_result(Binder *b, const TaskResult *r) {
        bool ended = r->reason != TASK_REASON_NONE;

        bind_text(b, ended ? task_reason_to_string(r->reason) : NULL);
        bind_int_if(b, r->has_exit_code, r->exit_code);
        bind_int_if(b, r->has_signal, r->signal);
        bind_u64_if(b, r->started_usec != 0, r->started_usec);
        bind_u64_if(b, r->finished_usec != 0, r->finished_usec);
        /* wall time is meaningful once the command ended */
        bind_u64_if(b, ended, r->wall_usec);
        bind_u64_if(b, r->has_cpu, r->cpu_user_usec);
        bind_u64_if(b, r->has_cpu, r->cpu_system_usec);
        bind_u64_if(b, r->has_peak_memory, r->peak_memory_bytes);
}

/* COLUMNS_MUTABLE */
static void bind_mutable(Binder *b, const Task *t) {
        bind_text(b, task_state_to_string(t->state));
        bind_text(b, t->cpus);
        bind_text(b, t->unit);
        bind_text(b, t->output_dir);
        bind_int(b, t->output_truncated);
        bind_u64_if(b, t->has_output_bytes, t->output_bytes);
        bind_u64_if(b, t->output_removed_usec != 0, t->output_removed_usec);
        bind_int(b, t->held);
        bind_u64_if(b, t->next_attempt > 0, (uint64_t) t->next_attempt);
        bind_result(b, &t->main);
        bind_result(b, &t->cleanup);
        /* the record */
        bind_u64_if(b, t->environment_id > 0, (uint64_t) t->environment_id);
        if (t->warnings && t->warnings[0]) {
                _cleanup_(freep) char *w = NULL;
                if (json_strv_to_text(t->warnings, &w) < 0) {
                        b->rc = SQLITE_NOMEM;
                        return;
                }
                bind_text(b, w);
        } else
                bind_text(b, NULL);
        bind_text(b, t->numa_nodes);
        for (int k = 0; k < _TASK_PRESSURE_MAX; k++) {
                bind_u64_if(b, t->pressure[k].has_some, t->pressure[k].some_usec);
                bind_u64_if(b, t->pressure[k].has_full, t->pressure[k].full_usec);
        }
        bind_u64_if(b, t->has_throttled, t->nr_throttled);
        bind_u64_if(b, t->has_throttled, t->throttled_usec);
        bind_u64_if(b, t->has_beside, t->tasks_beside);
        bind_text(b, t->backend);
        bind_text(b, t->cluster);
        bind_text(b, t->node);
        bind_text(b, t->job_id);
}

static int bind_done(Db *db, Binder *b, const char *what) {
        if (b->rc != SQLITE_OK)
                return fail_sqlite(db, b->rc, what);
        if (b->i != sqlite3_bind_parameter_count(b->s))
                return fail(db, -EIO, "%s: bound %d values for %d parameters", what, b->i,
                            sqlite3_bind_parameter_count(b->s));
        return 0;
}

/* One row of "SELECT id, COLUMNS_SUBMITTED, COLUMNS_MUTABLE". */
static int task_from_row(Db *db, sqlite3_stmt *s, Task **ret) {
        int bad = 0, r = taskrow_read(s, true, ret, &bad);

        if (r == -ENOMEM)
                return fail(db, r, "out of memory");
        if (r == -EIO)
                return fail(db, r, "read a row of %d columns", sqlite3_column_count(s));
        if (r < 0)
                return fail(db, r, "Task %" PRIi64 ": invalid value in column %s: %s",
                            (int64_t) sqlite3_column_int64(s, 0), sqlite3_column_name(s, bad), strerror(-r));
        return 0;
}

/* ---- checks before writing ---- */

static bool result_fits(const TaskResult *r) {
        return r->reason >= 0 && r->reason < _TASK_REASON_MAX &&
               r->started_usec <= INT64_MAX && r->finished_usec <= INT64_MAX &&
               r->wall_usec <= INT64_MAX && r->cpu_user_usec <= INT64_MAX &&
               r->cpu_system_usec <= INT64_MAX && r->peak_memory_bytes <= INT64_MAX;
}

static int check_mutable(Db *db, const Task *t) {
        if (t->state < 0 || t->state >= _TASK_STATE_MAX)
                return fail(db, -EINVAL, "Task %" PRIi64 ": invalid state %d", t->id,
                            (int) t->state);
        if (!result_fits(&t->main) || !result_fits(&t->cleanup) || t->output_bytes > INT64_MAX ||
            t->output_removed_usec > INT64_MAX)
                return fail(db, -ERANGE, "Task %" PRIi64 ": result out of range", t->id);
        return 0;
}

static int check_new(Db *db, const Task *t) {
        if (!t)
                return fail(db, -EINVAL, "no task");
        if (t->n_retry_oom > TASK_RETRY_OOM_MAX || t->n_after > TASK_AFTER_MAX)
                return fail(db, -EINVAL, "Task has too many retry steps or dependencies");
        for (size_t i = 0; i < t->n_retry_oom; i++)
                if (t->retry_oom[i] == 0 || t->retry_oom[i] > INT64_MAX)
                        return fail(db, -ERANGE, "Task retry step out of range");
        for (size_t i = 0; i < t->n_after; i++)
                if (t->after[i] < 1)
                        return fail(db, -EINVAL, "Task depends on an invalid id");
        if (!t->argv || !t->argv[0])
                return fail(db, -EINVAL, "Task has no command");
        if (t->cleanup_argv && !t->cleanup_argv[0])
                return fail(db, -EINVAL, "Task has an empty cleanup command");
        if (!t->submit_dir)
                return fail(db, -EINVAL, "Task has no submit directory");
        if (t->threads < 1)
                return fail(db, -EINVAL, "Task has no threads");
        if (t->memory_bytes > INT64_MAX || t->time_limit_usec > INT64_MAX ||
            t->cleanup_time_limit_usec > INT64_MAX || t->queued_usec > INT64_MAX)
                return fail(db, -ERANGE, "Task limits out of range");
        return check_mutable(db, t);
}

/* ---- opening ---- */

/* Creates the file with mode 0600 whatever the umask; leaves the mode of an
 * existing file alone (db_open() callers check their directory). */
static int create_file(const char *path) {
        _cleanup_(closep) int fd = -1;

        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, DB_FILE_MODE);
        if (fd < 0)
                return errno == EEXIST ? 0 : -errno;
        if (fchmod(fd, DB_FILE_MODE) < 0)
                return -errno;
        return 1;
}

/* The -wal and -shm files must be as readable as the database file.  SQLite
 * creates them so; this repairs files left with another mode. */
static int align_aux_modes(Db *db, const char *path) {
        static const char * const suffixes[] = { "-wal", "-shm" };
        struct stat st, aux;

        if (stat(path, &st) < 0)
                return fail(db, -errno, "Cannot stat %s: %s", path, strerror(errno));
        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                _cleanup_(freep) char *p = NULL;

                if (asprintf(&p, "%s%s", path, suffixes[i]) < 0)
                        return fail(db, -ENOMEM, "out of memory");
                if (stat(p, &aux) < 0) {
                        if (errno == ENOENT)
                                continue;
                        return fail(db, -errno, "Cannot stat %s: %s", p, strerror(errno));
                }
                if ((aux.st_mode & 07777) != (st.st_mode & 0666) &&
                    chmod(p, st.st_mode & 0666) < 0)
                        return fail(db, -errno, "Cannot chmod %s: %s", p, strerror(errno));
        }
        return 0;
}

static int exec_sql(Db *db, const char *sql, const char *what) {
        int rc;

        rc = sqlite3_exec(db->sqlite, sql, NULL, NULL, NULL);
        if (rc != SQLITE_OK)
                return fail_sqlite(db, rc, what);
        return 0;
}

/* A one-row query (PRAGMAs): *ret is the statement on its row. */
static int query_row(Db *db, const char *sql, sqlite3_stmt **ret) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
        int rc;

        rc = sqlite3_prepare_v2(db->sqlite, sql, -1, &s, NULL);
        if (rc != SQLITE_OK)
                return fail_sqlite(db, rc, sql);
        rc = sqlite3_step(s);
        if (rc != SQLITE_ROW)
                return rc == SQLITE_DONE ? fail(db, -EIO, "%s: no result", sql)
                                         : fail_sqlite(db, rc, sql);
        *ret = TAKE_PTR(s);
        return 0;
}

static int query_int(Db *db, const char *sql, int64_t *ret) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
        int r = query_row(db, sql, &s);

        if (r < 0)
                return r;
        *ret = sqlite3_column_int64(s, 0);
        return 0;
}

static int query_text(Db *db, const char *sql, char *buf, size_t len) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
        const unsigned char *v;
        int r = query_row(db, sql, &s);

        if (r < 0)
                return r;
        v = sqlite3_column_text(s, 0);
        (void) snprintf(buf, len, "%s", v ? (const char *) v : "");
        return 0;
}

/* Is this ours, and can this code read it?  version 0 = new and empty. */
static int check_version(Db *db, int64_t *ret_version) {
        int64_t version, app, tables;
        int r;

        r = query_int(db, "PRAGMA user_version", &version);
        if (r < 0)
                return r;
        r = query_int(db, "PRAGMA application_id", &app);
        if (r < 0)
                return r;
        if (version > DB_SCHEMA_VERSION)
                return fail(db, -EPROTONOSUPPORT,
                            "Database schema version %" PRIi64 " is newer than this "
                            "version of benchrunner supports (%d)",
                            version, DB_SCHEMA_VERSION);
        if (version == 0) {
                r = query_int(db, "SELECT count(*) FROM sqlite_master", &tables);
                if (r < 0)
                        return r;
                if (tables > 0 || app != 0)
                        return fail(db, -EMEDIUMTYPE,
                                    "Not a benchrunner database (it has other tables)");
        } else if (app != DB_APPLICATION_ID)
                return fail(db, -EMEDIUMTYPE,
                            "Not a benchrunner database (application_id %" PRIi64 ")", app);
        *ret_version = version;
        return 0;
}

static int migrate(Db *db) {
        char what[sizeof db->error];
        int64_t version;
        int r;

        r = check_version(db, &version);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(migrations); i++) {
                const struct Migration *m = &migrations[i];
                char bump[64];

                if (m->version <= version)
                        continue;

                r = tx_begin(db);
                if (r < 0)
                        return r;
                /* again under the write lock: another writer may have been
                 * quicker */
                r = check_version(db, &version);
                if (r < 0)
                        goto fail;
                if (m->version <= version) {
                        tx_rollback(db);
                        continue;
                }
                r = exec_sql(db, m->sql, "Failed to migrate the schema");
                if (r < 0)
                        goto fail;
                (void) snprintf(bump, sizeof bump, "PRAGMA user_version = %d", m->version);
                r = exec_sql(db, bump, "Failed to set the schema version");
                if (r < 0)
                        goto fail;
                r = tx_commit(db);
                if (r < 0)
                        goto fail;
                version = m->version;
        }
        return 0;
fail:
        tx_rollback(db);
        memcpy(what, db->error, sizeof what);
        return fail(db, r, "Schema version %" PRIi64 " -> %d: %s", version,
                    DB_SCHEMA_VERSION, what);
}

static int open_internal(Db *db, const char *path, int flags) {
        char mode[16];
        int64_t version;
        int r, rc;

        if (!db->readonly && (flags & DB_CREATE)) {
                r = create_file(path);
                if (r < 0)
                        return fail(db, r, "Cannot create %s: %s", path, strerror(-r));
        }

        rc = sqlite3_open_v2(path, &db->sqlite,
                             db->readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE,
                             NULL);
        if (rc != SQLITE_OK)
                return fail_sqlite(db, rc, path);
        (void) sqlite3_extended_result_codes(db->sqlite, 1);
        rc = sqlite3_busy_timeout(db->sqlite, DB_BUSY_TIMEOUT_MS);
        if (rc != SQLITE_OK)
                return fail_sqlite(db, rc, "Failed to set busy timeout");
        r = exec_sql(db, "PRAGMA foreign_keys = ON", "Failed to enable foreign keys");
        if (r < 0)
                return r;

        if (db->readonly) {
                r = check_version(db, &version);
                if (r < 0)
                        return r;
                if (version < DB_SCHEMA_VERSION)
                        return fail(db, -ESTALE,
                                    "Database schema version %" PRIi64 " is older than %d "
                                    "and needs migrating by the daemon", version,
                                    DB_SCHEMA_VERSION);
                return exec_sql(db, "PRAGMA cache_size = -" DB_COPY_CACHE_KIB, "Failed to set the cache size");
        }

        /* an older daemon made it 0644 for readers */
        if (chmod(path, DB_FILE_MODE) < 0)
                return fail(db, -errno, "Cannot chmod %s: %s", path, strerror(errno));
        r = query_text(db, "PRAGMA journal_mode = WAL", mode, sizeof mode);
        if (r < 0)
                return r;
        if (strcmp(mode, "wal") != 0)
                return fail(db, -EOPNOTSUPP, "%s: cannot use WAL (journal mode is %s)",
                            path, mode);
        /* FULL: a commit is on disk before the daemon answers (NORMAL in
         * WAL mode survives a crash of the daemon, not of the machine);
         * docs/durability.md */
        r = exec_sql(db, "PRAGMA synchronous = FULL", "Failed to set synchronous mode");
        if (r < 0)
                return r;
        r = exec_sql(db, "PRAGMA journal_size_limit = " DB_WAL_SIZE_LIMIT,
                     "Failed to limit the WAL size");
        if (r < 0)
                return r;
        r = migrate(db);
        if (r < 0)
                return r;
        return align_aux_modes(db, path);
}

int db_open(const char *path, int flags, Db **ret) {
        _cleanup_(db_closep) Db *db = NULL;
        int r;

        open_error[0] = 0;
        if (!path || !ret) {
                (void) snprintf(open_error, sizeof open_error, "invalid arguments");
                return -EINVAL;
        }
        db = calloc(1, sizeof *db);
        if (!db) {
                (void) snprintf(open_error, sizeof open_error, "out of memory");
                return -ENOMEM;
        }
        db->readonly = flags & DB_READONLY;

        r = open_internal(db, path, flags);
        if (r < 0) {
                (void) snprintf(open_error, sizeof open_error, "%s", db->error);
                return r;
        }
        *ret = TAKE_PTR(db);
        return 0;
}

Db *db_close(Db *db) {
        if (!db)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(db->stmts); i++)
                (void) sqlite3_finalize(db->stmts[i]);
        if (db->sqlite && !db->readonly && sqlite3_get_autocommit(db->sqlite))
                (void) sqlite3_exec(db->sqlite, "PRAGMA optimize", NULL, NULL, NULL);
        /* also when sqlite3_open_v2() failed: it allocates a handle anyway */
        (void) sqlite3_close_v2(db->sqlite);
        free(db);
        return NULL;
}

/* ---- tasks ---- */

static int prepare(Db *db, const char *sql, sqlite3_stmt **ret);
static int update_one(Db *db, const Task *t);

static int insert_one(Db *db, const Task *t, uint64_t now, int64_t *ret_id) {
        _cleanup_(freep) char *command = NULL, *cleanup_command = NULL, *argv = NULL,
                *env = NULL, *cleanup_argv = NULL, *retry_oom = NULL, *after = NULL;
        _cleanup_(stmt_resetp) sqlite3_stmt *s = NULL;
        Binder b = {};
        int r, rc;

        r = strv_to_shell(t->argv, true, &command);
        if (r >= 0)
                r = strv_to_shell(t->cleanup_argv, true, &cleanup_command);
        if (r >= 0)
                r = json_strv_to_text(t->argv, &argv);
        if (r >= 0)
                r = json_strv_to_text(t->env, &env);
        if (r >= 0 && t->cleanup_argv)
                r = json_strv_to_text(t->cleanup_argv, &cleanup_argv);
        if (r >= 0)
                r = json_ints_to_text((const int64_t *) t->retry_oom, t->n_retry_oom, &retry_oom);
        if (r >= 0)
                r = json_ints_to_text(t->after, t->n_after, &after);
        if (r < 0)
                return fail(db, r, "Failed to encode task: %s", strerror(-r));

        r = stmt_get(db, STMT_INSERT, &s);
        if (r < 0)
                return r;
        b.s = s;
        bind_text(&b, command);
        bind_text(&b, cleanup_command);
        /* COLUMNS_SUBMITTED */
        bind_text(&b, t->name);
        bind_int(&b, t->uid);
        bind_int(&b, t->gid);
        bind_text(&b, t->user);
        bind_text(&b, argv);
        bind_text(&b, env);
        bind_text(&b, t->submit_dir);
        bind_text(&b, cleanup_argv);
        bind_int(&b, t->threads);
        bind_int(&b, (int64_t) t->memory_bytes);
        bind_u64_if(&b, t->time_limit_usec != 0, t->time_limit_usec);
        bind_u64_if(&b, t->cleanup_time_limit_usec != 0, t->cleanup_time_limit_usec);
        bind_int(&b, t->group);
        bind_int(&b, t->priority);
        bind_int(&b, t->whole_cores);
        bind_int(&b, (int64_t) (t->queued_usec ? t->queued_usec : now));
        bind_text(&b, t->submit_token);
        bind_int(&b, t->requeue);
        bind_int(&b, t->attempt ? t->attempt : 1);
        bind_u64_if(&b, t->retry_of > 0, (uint64_t) t->retry_of);
        bind_int(&b, t->in_submit_dir);
        bind_text(&b, retry_oom);
        bind_text(&b, after);
        bind_int(&b, t->after_ok);
        bind_text(&b, t->series);
        bind_mutable(&b, t);
        r = bind_done(db, &b, "Failed to bind task");
        if (r < 0)
                return r;

        rc = sqlite3_step(s);
        if (rc != SQLITE_DONE)
                return fail_sqlite(db, rc, "Failed to insert task");
        *ret_id = sqlite3_last_insert_rowid(db->sqlite);
        return 0;
}

int db_insert_tasks(Db *db, Task **tasks, size_t n) {
        _cleanup_(freep) int64_t *ids = NULL;
        uint64_t now;
        int r;

        if (!db || (!tasks && n > 0))
                return -EINVAL;
        if (db->readonly)
                return fail(db, -EROFS, "Database is open read-only");
        if (n == 0)
                return 0;
        for (size_t i = 0; i < n; i++) {
                r = check_new(db, tasks[i]);
                if (r < 0)
                        return r;
        }
        ids = calloc(n, sizeof *ids);
        if (!ids)
                return fail(db, -ENOMEM, "out of memory");
        now = now_usec(CLOCK_REALTIME);

        r = tx_begin(db);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                r = insert_one(db, tasks[i], now, &ids[i]);
                if (r < 0)
                        goto fail;
        }
        r = tx_commit(db);
        if (r < 0)
                goto fail;

        for (size_t i = 0; i < n; i++) {
                tasks[i]->id = ids[i];
                if (tasks[i]->queued_usec == 0)
                        tasks[i]->queued_usec = now;
        }
        return 0;
fail:
        tx_rollback(db);
        return r;
}

static int update_one(Db *db, const Task *t) {
        _cleanup_(stmt_resetp) sqlite3_stmt *s = NULL;
        Binder b = {};
        int r, rc;

        r = stmt_get(db, STMT_UPDATE, &s);
        if (r < 0)
                return r;
        b.s = s;
        bind_mutable(&b, t);
        bind_int(&b, t->id);
        r = bind_done(db, &b, "Failed to bind task");
        if (r < 0)
                return r;
        rc = sqlite3_step(s);
        if (rc != SQLITE_DONE)
                return fail_sqlite(db, rc, "Failed to update task");
        if (sqlite3_changes(db->sqlite) == 0)
                return fail(db, -ENOENT, "No task %" PRIi64, t->id);
        return 0;
}

int db_update_tasks(Db *db, Task * const *tasks, size_t n) {
        int r;

        if (!db || (!tasks && n > 0))
                return -EINVAL;
        if (db->readonly)
                return fail(db, -EROFS, "Database is open read-only");
        for (size_t i = 0; i < n; i++) {
                if (!tasks[i])
                        return fail(db, -EINVAL, "no task");
                r = check_mutable(db, tasks[i]);
                if (r < 0)
                        return r;
        }
        if (n == 0)
                return 0;

        r = tx_begin(db);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                r = update_one(db, tasks[i]);
                if (r < 0)
                        goto fail;
        }
        r = tx_commit(db);
        if (r < 0)
                goto fail;
        return 0;
fail:
        tx_rollback(db);
        return r;
}

int db_insert_attempt(Db *db, Task *next, Task *prev) {
        int64_t id;
        int r;

        if (!db || !next || !prev)
                return -EINVAL;
        if (db->readonly)
                return fail(db, -EROFS, "Database is open read-only");
        r = check_new(db, next);
        if (r < 0)
                return r;
        r = tx_begin(db);
        if (r < 0)
                return r;
        r = insert_one(db, next, now_usec(CLOCK_REALTIME), &id);
        if (r < 0)
                goto fail;
        prev->next_attempt = id;
        r = update_one(db, prev);
        if (r >= 0)
                r = tx_commit(db);
        if (r < 0) {
                prev->next_attempt = 0;
                goto fail;
        }
        next->id = id;
        if (next->queued_usec == 0)
                next->queued_usec = now_usec(CLOCK_REALTIME);
        return 0;
fail:
        tx_rollback(db);
        return r;
}

/* Statement id with task id bound, stepped to its row: 0, or -ENOENT when
 * there is no such task. */
static int step_task(Db *db, Stmt which, int64_t id, sqlite3_stmt **s) {
        int r, rc;

        r = stmt_get(db, which, s);
        if (r < 0)
                return r;
        rc = sqlite3_bind_int64(*s, 1, id);
        if (rc != SQLITE_OK)
                return fail_sqlite(db, rc, "Failed to bind id");
        rc = sqlite3_step(*s);
        if (rc == SQLITE_DONE)
                return fail(db, -ENOENT, "No task %" PRIi64, id);
        if (rc != SQLITE_ROW)
                return fail_sqlite(db, rc, "Failed to read task");
        return 0;
}

int db_environment(Db *db, const char *record, uint64_t now_usec, int64_t *ret) {
        _cleanup_(stmt_resetp) sqlite3_stmt *s = NULL;
        int r, rc;

        if (!db || !record || !ret)
                return -EINVAL;
        r = stmt_get(db, STMT_ENV_FIND, &s);
        if (r < 0)
                return r;
        rc = sqlite3_bind_text(s, 1, record, -1, SQLITE_STATIC);
        if (rc != SQLITE_OK)
                return fail_sqlite(db, rc, "Failed to bind the environment");
        rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
                *ret = sqlite3_column_int64(s, 0);
                return 0;
        }
        if (rc != SQLITE_DONE)
                return fail_sqlite(db, rc, "Failed to look up the environment");
        stmt_resetp(&s);
        r = stmt_get(db, STMT_ENV_INSERT, &s);
        if (r < 0)
                return r;
        if ((rc = sqlite3_bind_text(s, 1, record, -1, SQLITE_STATIC)) != SQLITE_OK ||
            (rc = sqlite3_bind_int64(s, 2, (int64_t) now_usec)) != SQLITE_OK)
                return fail_sqlite(db, rc, "Failed to bind the environment");
        rc = sqlite3_step(s);
        if (rc != SQLITE_DONE)
                return fail_sqlite(db, rc, "Failed to store the environment");
        *ret = sqlite3_last_insert_rowid(db->sqlite);
        return 1;
}

int db_get_environment(Db *db, int64_t id, char **ret) {
        _cleanup_(stmt_resetp) sqlite3_stmt *s = NULL;
        const char *v;
        int r, rc;

        if (!db || !ret)
                return -EINVAL;
        r = stmt_get(db, STMT_ENV_GET, &s);
        if (r < 0)
                return r;
        if ((rc = sqlite3_bind_int64(s, 1, id)) != SQLITE_OK)
                return fail_sqlite(db, rc, "Failed to bind id");
        rc = sqlite3_step(s);
        if (rc == SQLITE_DONE)
                return fail(db, -ENOENT, "No environment %" PRIi64, id);
        if (rc != SQLITE_ROW)
                return fail_sqlite(db, rc, "Failed to read the environment");
        v = (const char *) sqlite3_column_text(s, 0);
        *ret = v ? strdup(v) : NULL;
        return *ret ? 0 : fail(db, -ENOMEM, "out of memory");
}

int db_get_end(Db *db, int64_t id, DbEnd *ret) {
        _cleanup_(stmt_resetp) sqlite3_stmt *s = NULL;
        TaskState state;
        int r;

        if (!db || !ret)
                return -EINVAL;
        r = step_task(db, STMT_END, id, &s);
        if (r < 0)
                return r;
        state = task_state_from_string((const char *) sqlite3_column_text(s, 0));
        if (state < 0)
                return fail(db, -EBADMSG, "Task %" PRIi64 ": invalid state", id);
        *ret = (DbEnd) {
                .state = state,
                .reason = sqlite3_column_type(s, 1) == SQLITE_NULL ? TASK_REASON_NONE
                          : task_reason_from_string((const char *) sqlite3_column_text(s, 1)),
                .has_exit_code = sqlite3_column_type(s, 2) != SQLITE_NULL,
                .exit_code = sqlite3_column_int(s, 2),
                .next_attempt = sqlite3_column_int64(s, 3),
                .uid = (uid_t) sqlite3_column_int64(s, 4),
        };
        if (ret->reason < 0)
                return fail(db, -EBADMSG, "Task %" PRIi64 ": invalid reason", id);
        return 0;
}

int db_oom_unretried(Db *db, int64_t **ret, size_t *ret_n) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
        _cleanup_(freep) int64_t *v = NULL;
        size_t n = 0, a = 0;
        int r, rc;

        if (!db || !ret || !ret_n)
                return -EINVAL;
        r = prepare(db, "SELECT id FROM tasks WHERE reason = 'oom' AND retry_oom_bytes IS NOT NULL "
                        "AND next_attempt IS NULL AND state = 'finished' ORDER BY id", &s);
        if (r < 0)
                return r;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
                if (n == a) {
                        size_t na = a ? 2 * a : 16;
                        int64_t *nv = reallocarray(v, na, sizeof *nv);
                        if (!nv)
                                return fail(db, -ENOMEM, "out of memory");
                        v = nv;
                        a = na;
                }
                v[n++] = sqlite3_column_int64(s, 0);
        }
        if (rc != SQLITE_DONE)
                return fail_sqlite(db, rc, "Failed to read the tasks that ran out of memory");
        *ret = TAKE_PTR(v);
        *ret_n = n;
        return 0;
}

void db_waiting_free(DbWaiting *w, size_t n) {
        for (size_t i = 0; w && i < n; i++)
                free(w[i].after);
        free(w);
}

int db_load_waiting(Db *db, DbWaiting **ret, size_t *ret_n) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
        DbWaiting *v = NULL;
        size_t n = 0, a = 0;
        int r, rc;

        if (!db || !ret || !ret_n)
                return -EINVAL;
        r = prepare(db, "SELECT id, after_ids, after_ok FROM tasks "
                        "WHERE state = 'queued' AND after_ids IS NOT NULL ORDER BY id", &s);
        if (r < 0)
                return r;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
                const char *text = (const char *) sqlite3_column_text(s, 1);

                if (n == a) {
                        size_t na = a ? 2 * a : 64;
                        DbWaiting *nv = reallocarray(v, na, sizeof *nv);
                        if (!nv) {
                                db_waiting_free(v, n);
                                return fail(db, -ENOMEM, "out of memory");
                        }
                        v = nv;
                        a = na;
                }
                v[n] = (DbWaiting) {
                        .id = sqlite3_column_int64(s, 0),
                        .after_ok = sqlite3_column_int64(s, 2) != 0,
                };
                r = text ? json_ints_from_text(text, 1, INT64_MAX, TASK_AFTER_MAX, &v[n].after, &v[n].n_after)
                         : -EBADMSG;
                if (r < 0) {
                        int64_t id = v[n].id;
                        db_waiting_free(v, n);
                        return fail(db, r, "Task %" PRIi64 ": invalid value in column after_ids", id);
                }
                n++;
        }
        if (rc != SQLITE_DONE) {
                db_waiting_free(v, n);
                return fail_sqlite(db, rc, "Failed to read the waiting tasks");
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

int db_update_task(Db *db, const Task *t) {
        Task *one = (Task *) t;

        return db_update_tasks(db, &one, 1);
}

int db_get_task(Db *db, int64_t id, Task **ret) {
        _cleanup_(stmt_resetp) sqlite3_stmt *s = NULL;
        int r;

        if (!db || !ret)
                return -EINVAL;
        r = step_task(db, STMT_GET, id, &s);
        if (r < 0)
                return r;
        return task_from_row(db, s, ret);
}

int db_find_submission(Db *db, uid_t uid, const char *token, int64_t **ret, size_t *ret_n) {
        _cleanup_(stmt_resetp) sqlite3_stmt *s = NULL;
        _cleanup_(freep) int64_t *ids = NULL;
        size_t n = 0;
        int r, rc;

        if (!db || !token || !ret || !ret_n)
                return -EINVAL;
        r = stmt_get(db, STMT_BY_TOKEN, &s);
        if (r < 0)
                return r;
        if ((rc = sqlite3_bind_int64(s, 1, uid)) != SQLITE_OK ||
            (rc = sqlite3_bind_text(s, 2, token, -1, SQLITE_STATIC)) != SQLITE_OK)
                return fail_sqlite(db, rc, "Failed to bind the submit token");
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
                int64_t *a = realloc(ids, (n + 1) * sizeof *ids);
                if (!a)
                        return fail(db, -ENOMEM, "out of memory");
                ids = a;
                ids[n++] = sqlite3_column_int64(s, 0);
        }
        if (rc != SQLITE_DONE)
                return fail_sqlite(db, rc, "Failed to look up the submit token");
        *ret = TAKE_PTR(ids);
        *ret_n = n;
        return 0;
}

void db_tasks_free(Task **tasks, size_t n) {
        if (!tasks)
                return;
        for (size_t i = 0; i < n; i++)
                task_free(tasks[i]);
        free(tasks);
}

int db_list_tasks(Db *db, const DbFilter *f, Task ***ret, size_t *ret_n) {
        _cleanup_(stmt_resetp) sqlite3_stmt *s = NULL;
        static const DbFilter all = {};
        Task **l = NULL;
        size_t n = 0, allocated = 0;
        int k = 0, slot = 3, r = 0, rc;

        if (!db || !ret || !ret_n)
                return -EINVAL;
        if (!f)
                f = &all;
        if (f->states >= (1u << _TASK_STATE_MAX))
                return fail(db, -EINVAL, "Invalid state filter 0x%x", f->states);
        if (f->after_id < 0 || f->before_id < 0)
                return fail(db, -EINVAL, "Invalid id range");

        if (f->reasons >= (1u << _TASK_REASON_MAX) || (f->reasons & 1u))
                return fail(db, -EINVAL, "Invalid reason filter 0x%x", f->reasons);
        if (f->since_usec > INT64_MAX || f->until_usec > INT64_MAX)
                return fail(db, -EINVAL, "Invalid time range");

        if (f->states)
                k |= LIST_BY_STATE;
        if (f->has_uid)
                k |= LIST_BY_UID;
        if (f->newest_first)
                k |= LIST_NEWEST;
        if (f->reasons)
                k |= LIST_BY_REASON;
        if (f->name_glob)
                k |= LIST_BY_NAME;
        if (f->since_usec)
                k |= LIST_SINCE;
        if (f->until_usec)
                k |= LIST_UNTIL;
        if (f->series)
                k |= LIST_BY_SERIES;
        if (f->environment_id > 0)
                k |= LIST_BY_ENV;
        r = stmt_get(db, (Stmt) (STMT_LIST + k), &s);
        if (r < 0)
                return r;

        rc = sqlite3_bind_int64(s, 1, f->after_id);
        if (rc == SQLITE_OK)
                rc = sqlite3_bind_int64(s, 2, f->before_id > 0 ? f->before_id : INT64_MAX);
        for (int st = 0; rc == SQLITE_OK && st < _TASK_STATE_MAX; st++)
                if (f->states & DB_STATE_MASK(st))
                        rc = sqlite3_bind_text(s, slot++, task_state_to_string(st), -1,
                                               SQLITE_STATIC);
        if (rc == SQLITE_OK && f->has_uid)
                rc = sqlite3_bind_int64(s, 7, f->uid);
        if (rc == SQLITE_OK)
                rc = sqlite3_bind_int64(s, 8, f->limit == 0 || f->limit > INT64_MAX
                                                      ? -1 : (int64_t) f->limit);
        slot = 9;
        for (int rs = TASK_REASON_NONE + 1; rc == SQLITE_OK && rs < _TASK_REASON_MAX; rs++)
                if (f->reasons & (1u << rs))
                        rc = sqlite3_bind_text(s, slot++, task_reason_to_string(rs), -1, SQLITE_STATIC);
        if (rc == SQLITE_OK && f->name_glob)
                rc = sqlite3_bind_text(s, 17, f->name_glob, -1, SQLITE_STATIC);
        if (rc == SQLITE_OK && f->since_usec)
                rc = sqlite3_bind_int64(s, 18, (int64_t) f->since_usec);
        if (rc == SQLITE_OK && f->until_usec)
                rc = sqlite3_bind_int64(s, 19, (int64_t) f->until_usec);
        if (rc == SQLITE_OK && f->series)
                rc = sqlite3_bind_text(s, 20, f->series, -1, SQLITE_STATIC);
        if (rc == SQLITE_OK && f->environment_id > 0)
                rc = sqlite3_bind_int64(s, 21, f->environment_id);
        if (rc != SQLITE_OK)
                return fail_sqlite(db, rc, "Failed to bind filter");

        for (;;) {
                Task *t;

                rc = sqlite3_step(s);
                if (rc == SQLITE_DONE)
                        break;
                if (rc != SQLITE_ROW) {
                        r = fail_sqlite(db, rc, "Failed to list tasks");
                        goto fail;
                }
                if (n + 2 > allocated) {
                        size_t a = allocated ? allocated * 2 : 64;
                        Task **nl = reallocarray(l, a, sizeof(Task *));

                        if (!nl) {
                                r = fail(db, -ENOMEM, "out of memory");
                                goto fail;
                        }
                        l = nl;
                        allocated = a;
                }
                r = task_from_row(db, s, &t);
                if (r < 0)
                        goto fail;
                l[n++] = t;
                l[n] = NULL;
        }
        *ret = l;
        *ret_n = n;
        return 0;
fail:
        db_tasks_free(l, n);
        return r;
}

int db_load_unfinished(Db *db, Task ***ret, size_t *ret_n) {
        DbFilter f = { .states = DB_STATES_UNFINISHED };

        return db_list_tasks(db, &f, ret, ret_n);
}

int db_load_queued(Db *db, SchedTask **ret, size_t *ret_n) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
        _cleanup_(freep) SchedTask *v = NULL;
        size_t n = 0, a = 0;
        int r, rc;

        if (!db || !ret || !ret_n)
                return -EINVAL;
        r = prepare(db, "SELECT id, memory_bytes, coalesce(time_limit_us, 0), coalesce(cleanup_time_limit_us, 0), "
                        "priority_group, priority, threads, uid, whole_cores, coalesce(cleanup_argv, '[]') <> '[]', "
                        "length(argv) + coalesce(length(cleanup_argv), 0) + coalesce(length(env), 0) + "
                        "coalesce(length(name), 0) + coalesce(length(submit_dir), 0), held "
                        "FROM tasks WHERE state = 'queued' ORDER BY id", &s);
        if (r < 0)
                return r;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
                int64_t cost = sqlite3_column_int64(s, 10);

                if (n == a) {
                        size_t na = a ? 2 * a : 1024;
                        SchedTask *nv = reallocarray(v, na, sizeof *nv);
                        if (!nv)
                                return fail(db, -ENOMEM, "out of memory");
                        v = nv;
                        a = na;
                }
                v[n++] = (SchedTask) {
                        .id = sqlite3_column_int64(s, 0),
                        .memory_bytes = (uint64_t) sqlite3_column_int64(s, 1),
                        .time_limit_usec = (uint64_t) sqlite3_column_int64(s, 2),
                        .cleanup_time_limit_usec = (uint64_t) sqlite3_column_int64(s, 3),
                        .group = (int32_t) sqlite3_column_int64(s, 4),
                        .priority = (int32_t) sqlite3_column_int64(s, 5),
                        .threads = (uint32_t) sqlite3_column_int64(s, 6),
                        .uid = (uint32_t) sqlite3_column_int64(s, 7),
                        .whole_cores = sqlite3_column_int64(s, 8) != 0,
                        .has_cleanup = sqlite3_column_int64(s, 9) != 0,
                        .cost = cost < 0 ? 0 : cost > UINT32_MAX ? UINT32_MAX : (uint32_t) cost,
                        .held = sqlite3_column_int64(s, 11) != 0,
                };
        }
        if (rc != SQLITE_DONE)
                return fail_sqlite(db, rc, "Failed to read the queued tasks");
        *ret = TAKE_PTR(v);
        *ret_n = n;
        return 0;
}

int db_count(Db *db, unsigned *ret_running, unsigned *ret_queued) {
        _cleanup_(stmt_resetp) sqlite3_stmt *s = NULL;
        unsigned running = 0, queued = 0;
        int r, rc;

        if (!db)
                return -EINVAL;
        r = stmt_get(db, STMT_COUNT, &s);
        if (r < 0)
                return r;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
                TaskState st = task_state_from_string((const char *) sqlite3_column_text(s, 0));
                sqlite3_int64 c = sqlite3_column_int64(s, 1);
                unsigned v = c < 0 ? 0 : c > UINT_MAX ? UINT_MAX : (unsigned) c;

                if (st == TASK_QUEUED)
                        queued += v;
                else
                        running += v;   /* running, or holding its CPUs for cleanup */
        }
        if (rc != SQLITE_DONE)
                return fail_sqlite(db, rc, "Failed to count tasks");
        if (ret_running)
                *ret_running = running;
        if (ret_queued)
                *ret_queued = queued;
        return 0;
}

/* ---- copies for readers ---- */

int db_data_version(Db *db, int64_t *ret) {
        return query_int(db, "PRAGMA data_version", ret);
}

int db_last_id(Db *db, int64_t *ret) {
        return query_int(db,
                         "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'tasks'), 0), "
                         "coalesce((SELECT max(id) FROM tasks), 0))",
                         ret);
}

int db_raise_last_id(Db *db, int64_t id) {
        char sql[256];
        int64_t now;
        int r;

        if (db->readonly)
                return fail(db, -EROFS, "Database is open read-only");
        r = db_last_id(db, &now);
        if (r < 0 || now >= id)
                return r;
        /* sqlite_sequence: where AUTOINCREMENT keeps its high-water mark */
        (void) snprintf(sql, sizeof sql,
                        "BEGIN IMMEDIATE;"
                        "DELETE FROM sqlite_sequence WHERE name = 'tasks';"
                        "INSERT INTO sqlite_sequence (name, seq) VALUES ('tasks', %" PRId64 ");"
                        "COMMIT;",
                        id);
        r = exec_sql(db, sql, "Failed to raise the task id sequence");
        if (r < 0)
                (void) sqlite3_exec(db->sqlite, "ROLLBACK", NULL, NULL, NULL);
        return r;
}

/* ---- retention (docs/retention.md) ---- */

/* The end of a finished task: its cleanup's, else its own, else (cancelled
 * while queued) its submission. */
#define ENDED_AT "coalesce(cleanup_finished_at_us, finished_at_us, queued_at_us)"
/* A local task's output the daemon still keeps.  A Slurm task's directory
 * (below --slurm-dir) is its user's, not the daemon's to remove. */
#define OUTPUT_KEPT "state = 'finished' AND output_dir IS NOT NULL AND output_removed_at_us IS NULL " \
        "AND backend IS NULL"

/* What a row takes, roughly: its texts and a little for the rest. */
#define ROW_BYTES "(length(argv) + length(env) + length(submit_dir) + length(command) + " \
        "coalesce(length(cleanup_argv), 0) + coalesce(length(cleanup_command), 0) + " \
        "coalesce(length(name), 0) + 256)"

static int prepare(Db *db, const char *sql, sqlite3_stmt **ret) {
        int rc = sqlite3_prepare_v2(db->sqlite, sql, -1, ret, NULL);
        return rc == SQLITE_OK ? 0 : fail_sqlite(db, rc, sql);
}

int db_output_totals(Db *db, db_output_total_t cb, void *userdata) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
        int r, rc;

        r = prepare(db, "SELECT uid, sum(coalesce(output_bytes, 0)) FROM tasks WHERE " OUTPUT_KEPT
                        " GROUP BY uid", &s);
        if (r < 0)
                return r;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW)
                cb(userdata, (uid_t) sqlite3_column_int64(s, 0), (uint64_t) sqlite3_column_int64(s, 1));
        return rc == SQLITE_DONE ? 0 : fail_sqlite(db, rc, "Failed to sum the output kept");
}

/* Rows of "SELECT id, uid, bytes, ended" into an array. */
static int read_outputs(Db *db, sqlite3_stmt *s, size_t limit, DbOutput **ret, size_t *ret_n) {
        _cleanup_(freep) DbOutput *v = NULL;
        size_t n = 0;
        int rc;

        v = calloc(limit ? limit : 1, sizeof *v);
        if (!v)
                return fail(db, -ENOMEM, "out of memory");
        while (n < limit && (rc = sqlite3_step(s)) == SQLITE_ROW) {
                v[n].id = sqlite3_column_int64(s, 0);
                v[n].uid = (uid_t) sqlite3_column_int64(s, 1);
                v[n].bytes = (uint64_t) sqlite3_column_int64(s, 2);
                v[n].ended_usec = (uint64_t) sqlite3_column_int64(s, 3);
                v[n].has_output = sqlite3_column_int64(s, 4) != 0;
                v[n].row_bytes = (uint64_t) sqlite3_column_int64(s, 5);
                n++;
        }
        if (n < limit && rc != SQLITE_DONE)
                return fail_sqlite(db, rc, "Failed to read the output kept");
        *ret = TAKE_PTR(v);
        *ret_n = n;
        return 0;
}

/* Finished rows as "SELECT id, uid, bytes, ended, has_output, row_bytes"
 * FROM tasks WHERE where AND the selection of db_kept_outputs(). */
static int select_finished(Db *db, const char *columns, const char *where, bool all_users, uid_t uid,
                           uint64_t ended_before_usec, size_t limit, DbOutput **ret, size_t *ret_n) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
        _cleanup_(freep) char *sql = NULL;
        int r;

        if (asprintf(&sql,
                     "SELECT id, uid, coalesce(output_bytes, 0), " ENDED_AT ", %s FROM tasks "
                     "WHERE %s AND (?1 OR uid = ?2) AND (?3 = 0 OR " ENDED_AT " < ?3) ORDER BY id LIMIT ?4",
                     columns, where) < 0)
                return fail(db, -ENOMEM, "out of memory");
        r = prepare(db, sql, &s);
        if (r < 0)
                return r;
        if (sqlite3_bind_int(s, 1, all_users) != SQLITE_OK || sqlite3_bind_int64(s, 2, uid) != SQLITE_OK ||
            sqlite3_bind_int64(s, 3, (int64_t) ended_before_usec) != SQLITE_OK ||
            sqlite3_bind_int64(s, 4, (int64_t) limit) != SQLITE_OK)
                return fail_sqlite(db, sqlite3_errcode(db->sqlite), "Failed to bind");
        return read_outputs(db, s, limit, ret, ret_n);
}

int db_kept_outputs(Db *db, bool all_users, uid_t uid, uint64_t ended_before_usec, size_t limit,
                    DbOutput **ret, size_t *ret_n) {
        return select_finished(db, "1, 0", OUTPUT_KEPT, all_users, uid, ended_before_usec, limit, ret, ret_n);
}

int db_output_removed(Db *db, const int64_t *ids, size_t n, uint64_t when_usec) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
        int r, rc;

        if (db->readonly)
                return fail(db, -EROFS, "Database is open read-only");
        r = prepare(db, "UPDATE tasks SET output_removed_at_us = ?1 WHERE id = ?2", &s);
        if (r < 0)
                return r;
        r = tx_begin(db);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                (void) sqlite3_reset(s);
                if (sqlite3_bind_int64(s, 1, (int64_t) when_usec) != SQLITE_OK ||
                    sqlite3_bind_int64(s, 2, ids[i]) != SQLITE_OK ||
                    (rc = sqlite3_step(s)) != SQLITE_DONE) {
                        r = fail_sqlite(db, sqlite3_errcode(db->sqlite), "Failed to note removed output");
                        tx_rollback(db);
                        return r;
                }
        }
        r = tx_commit(db);
        if (r < 0)
                tx_rollback(db);
        return r;
}

int db_used_bytes(Db *db, uint64_t *ret) {
        int64_t pages, free_pages, size;
        int r;

        if ((r = query_int(db, "PRAGMA page_count", &pages)) < 0 ||
            (r = query_int(db, "PRAGMA freelist_count", &free_pages)) < 0 ||
            (r = query_int(db, "PRAGMA page_size", &size)) < 0)
                return r;
        *ret = (uint64_t) (pages - free_pages) * (uint64_t) size;
        return 0;
}

int db_largest_history(Db *db, uid_t *ret, uint64_t *ret_bytes, unsigned *ret_users) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
        int r, rc;

        r = prepare(db, "SELECT uid, sum(" ROW_BYTES ") AS b, "
                        "(SELECT count(DISTINCT uid) FROM tasks WHERE state = 'finished') "
                        "FROM tasks WHERE state = 'finished' GROUP BY uid ORDER BY b DESC LIMIT 1", &s);
        if (r < 0)
                return r;
        rc = sqlite3_step(s);
        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW)
                return fail_sqlite(db, rc, "Failed to weigh the history");
        *ret = (uid_t) sqlite3_column_int64(s, 0);
        *ret_bytes = (uint64_t) sqlite3_column_int64(s, 1);
        *ret_users = (unsigned) sqlite3_column_int64(s, 2);
        return 0;
}

int db_oldest_finished(Db *db, bool all_users, uid_t uid, uint64_t ended_before_usec, size_t limit,
                       DbOutput **ret, size_t *ret_n) {
        return select_finished(db, "output_dir IS NOT NULL AND output_removed_at_us IS NULL AND backend IS NULL, "
                               ROW_BYTES,
                               "state = 'finished'", all_users, uid, ended_before_usec, limit, ret, ret_n);
}

int db_delete_finished(Db *db, const int64_t *ids, size_t n) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *unlink_retry = NULL, *del = NULL;
        int r;

        if (db->readonly)
                return fail(db, -EROFS, "Database is open read-only");
        if ((r = prepare(db, "UPDATE tasks SET retry_of = NULL WHERE retry_of = ?1", &unlink_retry)) < 0 ||
            (r = prepare(db, "DELETE FROM tasks WHERE id = ?1 AND state = 'finished'", &del)) < 0)
                return r;
        r = tx_begin(db);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                /* a later attempt outlives the first: it forgets the link */
                (void) sqlite3_reset(unlink_retry);
                (void) sqlite3_reset(del);
                if (sqlite3_bind_int64(unlink_retry, 1, ids[i]) != SQLITE_OK ||
                    sqlite3_step(unlink_retry) != SQLITE_DONE ||
                    sqlite3_bind_int64(del, 1, ids[i]) != SQLITE_OK || sqlite3_step(del) != SQLITE_DONE) {
                        r = fail_sqlite(db, sqlite3_errcode(db->sqlite), "Failed to delete old tasks");
                        tx_rollback(db);
                        return r;
                }
        }
        r = tx_commit(db);
        if (r < 0)
                tx_rollback(db);
        return r;
}

/* The copy's own connection, closed when the scope ends. */
static void sqlite3_closep(sqlite3 **s) {
        if (*s)
                (void) sqlite3_close_v2(*s);
}

/* Backs up into a connection of its own on dst, then makes the copy a
 * rollback-journal database: the backup copies page 1 with the source's
 * WAL marks, and a reader of a WAL file must be able to write its -shm. */
int db_copy(Db *db, const char *dst) {
        _cleanup_(sqlite3_closep) sqlite3 *out = NULL;
        sqlite3_backup *b;
        char mode[16] = "";
        int rc;

        rc = sqlite3_open_v2(dst, &out, SQLITE_OPEN_READWRITE, NULL);
        if (rc != SQLITE_OK)
                goto fail;
        /* The copy is written once and read by nobody here: a small cache
         * keeps the daemon small with a large history (the backup streams
         * the pages either way). */
        rc = sqlite3_exec(out, "PRAGMA cache_size = -" DB_COPY_CACHE_KIB, NULL, NULL, NULL);
        if (rc != SQLITE_OK)
                goto fail;
        b = sqlite3_backup_init(out, "main", db->sqlite, "main");
        if (!b) {
                rc = sqlite3_errcode(out);
                goto fail;
        }
        rc = sqlite3_backup_step(b, -1);
        (void) sqlite3_backup_finish(b);
        if (rc != SQLITE_DONE)
                goto fail;
        rc = sqlite3_exec(out, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL);
        if (rc != SQLITE_OK)
                goto fail;
        /* Env values are their owners' alone: the copy keeps the names.
         * secure_delete zeroes what the update frees, and the journal stays
         * in memory (a copy half-made is thrown away), so no value is left
         * in the file or beside it. */
        rc = sqlite3_exec(out,
                          "PRAGMA secure_delete = ON;\n"
                          "PRAGMA journal_mode = MEMORY;\n"
                          "UPDATE tasks SET env = (\n"
                          "        SELECT json_group_array(CASE WHEN instr(value, '=') > 0\n"
                          "                                THEN substr(value, 1, instr(value, '=') - 1)\n"
                          "                                ELSE value END)\n"
                          "        FROM json_each(tasks.env))\n"
                          "WHERE env <> '[]';\n"
                          "PRAGMA journal_mode = DELETE;",
                          NULL, NULL, NULL);
        if (rc != SQLITE_OK)
                goto fail;
        {
                _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;

                rc = sqlite3_prepare_v2(out, "PRAGMA journal_mode", -1, &s, NULL);
                if (rc != SQLITE_OK)
                        goto fail;
                if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
                        (void) snprintf(mode, sizeof mode, "%s", (const char *) sqlite3_column_text(s, 0));
        }
        if (strcmp(mode, "delete") != 0)
                return fail(db, -EIO, "The copy %s kept journal mode %s", dst, mode);
        rc = sqlite3_close(TAKE_PTR(out));
        if (rc != SQLITE_OK)
                return fail(db, -EIO, "Failed to close the copy %s: %s", dst, sqlite3_errstr(rc));
        return 0;

fail:
        return fail(db, errno_from_sqlite(out, rc), "Failed to copy the database into %s: %s", dst,
                    out ? sqlite3_errmsg(out) : sqlite3_errstr(rc));
}
