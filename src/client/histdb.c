/* histdb.c: reading the history copy while the daemon is away (see
 * histdb.h and docs/database.md).
 *
 * The copy is a rollback-journal SQLite file that the daemon's copier
 * writes under another name, makes 0644 and renames into place; nobody
 * writes it after that.  So it is opened with immutable=1: SQLite takes no
 * locks and looks for no journal, which is right for a file that cannot
 * change (a new copy is a new inode; the one opened stays as it was) and
 * works in a directory the reader may not write.  A file in WAL mode is not
 * such a copy but a live database (an older daemon kept one where the copy
 * goes): it is refused before SQLite sees it, since a reader's locks on a
 * live database can stop its writer.
 *
 * The rows are read as the daemon's db.c reads them (task_from_row()): the
 * same columns in the same order, the same checks of each value; a column
 * an older schema lacks reads as a fresh task has it.  The daemon library
 * is not linked: a client needs nothing of it but this layout, which
 * tests/unit/test-histdb.c checks against a copy that db.c made. */
#include "config.h"

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

#include "cli.h"
#include "histdb.h"
#include "taskrow.h"
#include "json.h"
#include "util.h"

/* Nothing writes the copy, so nothing should make a reader wait; should
 * SQLite still find it busy, a reader waits this long, not forever. */
#define HISTDB_BUSY_TIMEOUT_MS 1000
/* "BRUN", the daemon's PRAGMA application_id (db.c). */
#define HISTDB_APPLICATION_ID 0x4252554E
#define ERROR_MAX 512

/* The columns task_from_row() reads, in its order: since which schema
 * version each exists, and what an older copy reads instead. */
static const struct Column {
        const char *name;
        int since;
        const char *missing;
} columns[] = {
        { "id", 1, NULL },
        { "name", 1, NULL },
        { "uid", 1, NULL },
        { "gid", 1, NULL },
        { "user", 1, NULL },
        { "argv", 1, NULL },
        { "env", 1, NULL },
        { "submit_dir", 1, NULL },
        { "cleanup_argv", 1, NULL },
        { "threads", 1, NULL },
        { "memory_bytes", 1, NULL },
        { "time_limit_us", 1, NULL },
        { "cleanup_time_limit_us", 1, NULL },
        { "priority_group", 1, NULL },
        { "priority", 1, NULL },
        { "whole_cores", 1, NULL },
        { "queued_at_us", 1, NULL },
        { "requeue", 2, "0" },
        { "attempt", 2, "1" },
        { "retry_of", 2, "NULL" },
        { "in_submit_dir", 4, "0" },
        { "retry_oom_bytes", 4, "NULL" },
        { "after_ids", 4, "NULL" },
        { "after_ok", 4, "0" },
        { "series", 4, "NULL" },
        { "state", 1, NULL },
        { "cpus", 1, NULL },
        { "unit", 1, NULL },
        { "output_dir", 1, NULL },
        { "output_truncated", 1, NULL },
        { "output_bytes", 3, "NULL" },
        { "output_removed_at_us", 3, "NULL" },
        { "held", 4, "0" },
        { "next_attempt", 4, "NULL" },
#define RESULT_COLUMNS(p)                                                              \
        { p "reason", 1, NULL }, { p "exit_code", 1, NULL }, { p "signal", 1, NULL },  \
        { p "started_at_us", 1, NULL }, { p "finished_at_us", 1, NULL },               \
        { p "wall_us", 1, NULL }, { p "cpu_user_us", 1, NULL },                        \
        { p "cpu_system_us", 1, NULL }, { p "peak_memory_bytes", 1, NULL }
        RESULT_COLUMNS(""),
        RESULT_COLUMNS("cleanup_"),
#undef RESULT_COLUMNS
        { "environment_id", 4, "NULL" },
        { "warnings", 4, "NULL" },
        { "numa_nodes", 4, "NULL" },
        { "cpu_pressure_some_us", 4, "NULL" },
        { "cpu_pressure_full_us", 4, "NULL" },
        { "memory_pressure_some_us", 4, "NULL" },
        { "memory_pressure_full_us", 4, "NULL" },
        { "io_pressure_some_us", 4, "NULL" },
        { "io_pressure_full_us", 4, "NULL" },
        { "throttled_periods", 4, "NULL" },
        { "throttled_us", 4, "NULL" },
        { "tasks_beside", 4, "NULL" },
        { "backend", 5, "NULL" },
        { "cluster", 5, "NULL" },
        { "node", 5, "NULL" },
        { "job_id", 5, "NULL" },
};

struct HistDb {
        sqlite3 *sqlite;
        int version;
        uint64_t mtime_usec;
        char *select;            /* "SELECT <columns> FROM tasks" for this version */
        sqlite3_stmt *get;       /* ... WHERE id = ?1, prepared once */
        char error[ERROR_MAX];
};

static _Thread_local char open_error[ERROR_MAX];

/* The words into buf (h->error or open_error), and r back. */
_printf_(3, 4)
static int fail(char *buf, int r, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(buf, ERROR_MAX, fmt, ap);
        va_end(ap);
        return r;
}

static int errno_from_sqlite(int rc) {
        switch (rc & 0xff) {
        case SQLITE_OK:
        case SQLITE_ROW:
        case SQLITE_DONE:
                return 0;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                return -EBUSY;
        case SQLITE_NOMEM:
                return -ENOMEM;
        case SQLITE_PERM:
        case SQLITE_AUTH:
                return -EACCES;
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
                return -EBADMSG;
        case SQLITE_CANTOPEN:
                return -ENOENT;
        default:
                return -EIO;
        }
}

static int fail_sqlite(HistDb *h, char *buf, int rc, const char *what) {
        return fail(buf, errno_from_sqlite(rc), "%s: %s", what,
                    h && h->sqlite ? sqlite3_errmsg(h->sqlite) : sqlite3_errstr(rc));
}

const char *histdb_last_error(HistDb *h) {
        const char *e = h ? h->error : open_error;
        return e[0] ? e : "no error";
}

const char *histdb_path(const char *arg) {
        const char *e;

        if (arg)
                return arg;
        e = getenv("BENCHRUNNER_HISTORY");
        if (e && *e)
                return e;
        return BR_STATEDIR "/tasks.db";
}

static void sqlite3_finalizep(sqlite3_stmt **s) {
        if (*s)
                (void) sqlite3_finalize(*s);
}

/* "file:" and path with every byte a URI could take for something else
 * percent-encoded, and immutable=1; an absolute path after "//" and an
 * empty authority, so that "//host/x" stays a path. */
static char *uri_of(const char *path) {
        static const char hex[] = "0123456789ABCDEF";
        size_t n = strlen(path);
        char *u = malloc(n * 3 + sizeof "file://?immutable=1");
        char *p = u;

        if (!u)
                return NULL;
        p = stpcpy(p, path[0] == '/' ? "file://" : "file:");
        for (const unsigned char *s = (const unsigned char *) path; *s; s++)
                if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
                    strchr("/._-~", *s))
                        *p++ = (char) *s;
                else {
                        *p++ = '%';
                        *p++ = hex[*s >> 4];
                        *p++ = hex[*s & 15];
                }
        strcpy(p, "?immutable=1");
        return u;
}

/* Before SQLite opens it: a regular file, SQLite's, not in WAL mode; its
 * mtime. */
static int check_file(const char *path, uint64_t *ret_mtime) {
        _cleanup_(closep) int fd = -1;
        unsigned char header[100];
        struct stat st;
        ssize_t n;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return fail(open_error, -errno, "%s", strerror(errno));
        if (fstat(fd, &st) < 0)
                return fail(open_error, -errno, "%s", strerror(errno));
        if (!S_ISREG(st.st_mode))
                return fail(open_error, -EBADMSG, "%s", _("not a regular file"));
        n = pread(fd, header, sizeof header, 0);
        if (n < 0)
                return fail(open_error, -errno, "%s", strerror(errno));
        if (n < (ssize_t) sizeof header || memcmp(header, "SQLite format 3", 16) != 0)
                return fail(open_error, -EBADMSG, "%s", _("not an SQLite database"));
        /* bytes 18 and 19: the write and read versions, 2 for WAL */
        if (header[18] == 2 || header[19] == 2)
                return fail(open_error, -EMEDIUMTYPE, "%s",
                            _("a live database in WAL mode, not the copy the daemon publishes: not read"));
        *ret_mtime = (uint64_t) st.st_mtim.tv_sec * USEC_PER_SEC + (uint64_t) st.st_mtim.tv_nsec / 1000;
        return 0;
}

static int query_int(HistDb *h, const char *sql, int64_t *ret) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
        int rc;

        rc = sqlite3_prepare_v2(h->sqlite, sql, -1, &s, NULL);
        if (rc == SQLITE_OK)
                rc = sqlite3_step(s);
        if (rc != SQLITE_ROW)
                return fail_sqlite(h, open_error, rc, sql);
        *ret = sqlite3_column_int64(s, 0);
        return 0;
}

/* Is it ours, and can this code read it? */
static int check_version(HistDb *h) {
        int64_t version, app;
        int r;

        if ((r = query_int(h, "PRAGMA user_version", &version)) < 0 ||
            (r = query_int(h, "PRAGMA application_id", &app)) < 0)
                return r;
        if (version > HISTDB_SCHEMA_VERSION)
                return fail(open_error, -EPROTONOSUPPORT,
                            _("its schema version %" PRIi64 " is newer than this version of benchrunner reads (%d)"),
                            version, HISTDB_SCHEMA_VERSION);
        if (version < 1 || app != HISTDB_APPLICATION_ID)
                return fail(open_error, -EMEDIUMTYPE, "%s", _("not a benchrunner database"));
        h->version = (int) version;
        return 0;
}

static char *select_sql(int version) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                return NULL;
        fputs("SELECT ", f);
        for (size_t i = 0; i < ELEMENTSOF(columns); i++) {
                if (i > 0)
                        fputs(", ", f);
                if (columns[i].since <= version)
                        fputs(columns[i].name, f);
                else
                        fputs(columns[i].missing, f);
        }
        fputs(" FROM tasks", f);
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

HistDb *histdb_close(HistDb *h) {
        if (!h)
                return NULL;
        (void) sqlite3_finalize(h->get);
        (void) sqlite3_close_v2(h->sqlite);
        free(h->select);
        free(h);
        return NULL;
}

int histdb_open(const char *path, HistDb **ret) {
        _cleanup_(histdb_closep) HistDb *h = NULL;
        _cleanup_(freep) char *uri = NULL, *get = NULL;
        int r, rc;

        open_error[0] = 0;
        h = calloc(1, sizeof *h);
        uri = uri_of(path);
        if (!h || !uri)
                return fail(open_error, -ENOMEM, "%s", strerror(ENOMEM));
        r = check_file(path, &h->mtime_usec);
        if (r < 0)
                return r;
        rc = sqlite3_open_v2(uri, &h->sqlite, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
        if (rc != SQLITE_OK)
                return fail_sqlite(h, open_error, rc, path);
        (void) sqlite3_extended_result_codes(h->sqlite, 1);
        rc = sqlite3_busy_timeout(h->sqlite, HISTDB_BUSY_TIMEOUT_MS);
        if (rc != SQLITE_OK)
                return fail_sqlite(h, open_error, rc, "busy timeout");
        r = check_version(h);
        if (r < 0)
                return r;
        h->select = select_sql(h->version);
        if (!h->select || asprintf(&get, "%s WHERE id = ?1", h->select) < 0)
                return fail(open_error, -ENOMEM, "%s", strerror(ENOMEM));
        rc = sqlite3_prepare_v2(h->sqlite, get, -1, &h->get, NULL);
        if (rc != SQLITE_OK)
                return fail_sqlite(h, open_error, rc, _("cannot read its tasks"));
        *ret = TAKE_PTR(h);
        return 0;
}

uint64_t histdb_mtime_usec(HistDb *h) {
        return h->mtime_usec;
}

int histdb_schema_version(HistDb *h) {
        return h->version;
}

/* ---- rows, as db.c's task_from_row() reads them ---- */

/* The environment as the copy holds it, names only; cut at '=' all the
 * same, so that no value is shown should a file hold one. */
static void env_names_only(Task *t) {
        if (t->env && !t->env[0]) {
                strv_free(t->env);
                t->env = NULL;
        }
        for (size_t i = 0; t->env && t->env[i]; i++)
                t->env[i][strcspn(t->env[i], "=")] = 0;
        t->env_hidden = t->env != NULL;
}

static int task_from_row(HistDb *h, sqlite3_stmt *s, Task **ret) {
        int bad = 0, r = taskrow_read(s, false, ret, &bad);

        if (r == -ENOMEM)
                return fail(h->error, r, "%s", strerror(ENOMEM));
        if (r == -EIO)
                return fail(h->error, r, "read a row of %d columns", sqlite3_column_count(s));
        if (r < 0)
                return fail(h->error, r, _("task %" PRIi64 ": invalid value in column %s: %s"),
                            (int64_t) sqlite3_column_int64(s, 0), columns[bad].name, strerror(-r));
        env_names_only(*ret);
        return 0;
}

void histdb_tasks_free(Task **tasks, size_t n) {
        for (size_t i = 0; i < n; i++)
                task_free(tasks[i]);
        free(tasks);
}

/* The record of the task's environment, as the daemon's show gives it;
 * none when the copy cannot say. */
static void add_environment(HistDb *h, Task *t) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
        const char *v;

        if (t->environment_id <= 0 || h->version < 4 ||
            sqlite3_prepare_v2(h->sqlite, "SELECT record FROM environments WHERE id = ?", -1, &s, NULL) != SQLITE_OK ||
            sqlite3_bind_int64(s, 1, t->environment_id) != SQLITE_OK || sqlite3_step(s) != SQLITE_ROW)
                return;
        v = (const char *) sqlite3_column_text(s, 0);
        if (v)
                t->environment = strdup(v);
}

int histdb_get(HistDb *h, int64_t id, Task **ret) {
        int r, rc;

        (void) sqlite3_reset(h->get);
        rc = sqlite3_bind_int64(h->get, 1, id);
        if (rc != SQLITE_OK)
                return fail_sqlite(h, h->error, rc, _("cannot read its tasks"));
        rc = sqlite3_step(h->get);
        if (rc == SQLITE_DONE) {
                (void) sqlite3_reset(h->get);
                return fail(h->error, -ENOENT, _("no task %" PRIi64), id);
        }
        if (rc != SQLITE_ROW) {
                r = fail_sqlite(h, h->error, rc, _("cannot read its tasks"));
                (void) sqlite3_reset(h->get);
                return r;
        }
        r = task_from_row(h, h->get, ret);
        (void) sqlite3_reset(h->get);
        if (r >= 0)
                add_environment(h, *ret);
        return r;
}

/* The list query: ?1 after, ?2 before, ?3..?6 states, ?7 uid, ?8 limit,
 * ?9..?16 reasons, ?17 name pattern, ?18 since, ?19 until, ?20 series,
 * ?21 environment, as the
 * daemon's (db.c), only the filters asked for in the text. */
static char *list_sql(HistDb *h, const ProtoRequest *req) {
        char *sql;

        if (asprintf(&sql, "%s WHERE id > ?1 AND id < ?2%s%s%s%s%s%s%s%s ORDER BY id %s LIMIT ?8", h->select,
                     req->state_mask ? " AND state IN (?3, ?4, ?5, ?6)" : "",
                     req->has_uid ? " AND uid = ?7" : "",
                     req->reason_mask ? " AND reason IN (?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)" : "",
                     req->name_glob ? " AND coalesce(name, 'task-' || id) GLOB ?17" : "",
                     req->since_usec ? " AND queued_at_us >= ?18" : "",
                     req->until_usec ? " AND queued_at_us < ?19" : "",
                     req->series ? (h->version >= 4 ? " AND series = ?20" : " AND 0") : "",
                     req->environment_id ? (h->version >= 4 ? " AND environment_id = ?21" : " AND 0") : "",
                     req->newest_first ? "DESC" : "ASC") < 0)
                return NULL;
        return sql;
}

/* The first failure stays in *rc; later binds are not tried. */
static void bind_i64(sqlite3_stmt *s, int i, int64_t v, int *rc) {
        if (*rc == SQLITE_OK)
                *rc = sqlite3_bind_int64(s, i, v);
}

static void bind_str(sqlite3_stmt *s, int i, const char *v, int *rc) {
        if (*rc == SQLITE_OK)
                *rc = sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

static int64_t clamp_i64(uint64_t v) {
        return v > INT64_MAX ? INT64_MAX : (int64_t) v;
}

/* Slots a filter does not fill stay NULL, which IN never matches. */
static int bind_list(const HistDb *h, sqlite3_stmt *s, const ProtoRequest *req, size_t limit) {
        int rc = SQLITE_OK, k;

        bind_i64(s, 1, req->after_id, &rc);
        bind_i64(s, 2, req->before_id > 0 ? req->before_id : INT64_MAX, &rc);
        /* one more than wanted says whether there are more; -1: no limit */
        bind_i64(s, 8, limit && limit < INT64_MAX ? (int64_t) limit + 1 : -1, &rc);
        k = 3;
        for (int st = 0; st < _TASK_STATE_MAX && req->state_mask; st++)
                if (req->state_mask & (1u << st))
                        bind_str(s, k++, task_state_to_string((TaskState) st), &rc);
        k = 9;
        for (int rs = TASK_REASON_NONE + 1; rs < _TASK_REASON_MAX && req->reason_mask; rs++)
                if (req->reason_mask & (1u << rs))
                        bind_str(s, k++, task_reason_to_string((TaskReason) rs), &rc);
        if (req->has_uid)
                bind_i64(s, 7, req->uid, &rc);
        if (req->name_glob)
                bind_str(s, 17, req->name_glob, &rc);
        if (req->since_usec)
                bind_i64(s, 18, clamp_i64(req->since_usec), &rc);
        if (req->until_usec)
                bind_i64(s, 19, clamp_i64(req->until_usec), &rc);
        if (req->series && h->version >= 4)
                bind_str(s, 20, req->series, &rc);
        if (req->environment_id && h->version >= 4)
                bind_i64(s, 21, req->environment_id, &rc);
        return rc;
}

int histdb_list(HistDb *h, const ProtoRequest *req, size_t limit, Task ***ret, size_t *ret_n, bool *ret_more) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
        _cleanup_(freep) char *sql = NULL;
        Task **tasks = NULL;
        size_t n = 0, size = 0;
        bool more = false;
        int r = 0, rc;

        sql = list_sql(h, req);
        if (!sql)
                return fail(h->error, -ENOMEM, "%s", strerror(ENOMEM));
        rc = sqlite3_prepare_v2(h->sqlite, sql, -1, &s, NULL);
        if (rc != SQLITE_OK)
                return fail_sqlite(h, h->error, rc, _("cannot read its tasks"));
        if (bind_list(h, s, req, limit) != SQLITE_OK)
                return fail_sqlite(h, h->error, sqlite3_errcode(h->sqlite), _("cannot read its tasks"));
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
                Task *t;

                if (limit && n == limit) {
                        more = true;
                        break;
                }
                if (n + 1 >= size) {
                        size_t ns = size ? size * 2 : 64;
                        Task **a = realloc(tasks, ns * sizeof *a);

                        if (!a) {
                                r = fail(h->error, -ENOMEM, "%s", strerror(ENOMEM));
                                break;
                        }
                        tasks = a;
                        size = ns;
                }
                r = task_from_row(h, s, &t);
                if (r < 0)
                        break;
                tasks[n++] = t;
                tasks[n] = NULL;
        }
        if (r == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
                r = fail_sqlite(h, h->error, rc, _("cannot read its tasks"));
        if (r < 0) {
                histdb_tasks_free(tasks, n);
                return r;
        }
        *ret = tasks;
        *ret_n = n;
        if (ret_more)
                *ret_more = more;
        return 0;
}

/* ---- for the programs ---- */

static const char *format_local(char *buf, size_t len, uint64_t usec) {
        time_t sec = (time_t) (usec / USEC_PER_SEC);
        struct tm tm;

        if (!localtime_r(&sec, &tm) || strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm) == 0)
                snprintf(buf, len, "?");
        return buf;
}

int histdb_open_announced(const char *path, const char *no_daemon_at, HistDb **ret) {
        char when[64], age[FORMAT_DURATION_MAX];
        uint64_t now, mtime, d;
        HistDb *h = NULL;
        int r;

        r = histdb_open(path, &h);
        if (r == -ENOENT && no_daemon_at)
                return cli_error_errno(r, _("benchrunner is not running (no daemon at %s), and there is no history "
                                            "copy at %s; start it with br-start"), no_daemon_at, path);
        if (r == -ENOENT)
                return cli_error_errno(r, _("there is no history copy at %s"), path);
        if (r < 0 && no_daemon_at)
                return cli_error_errno(r, _("benchrunner is not running (no daemon at %s), and its history copy %s "
                                            "cannot be read: %s"), no_daemon_at, path, histdb_last_error(NULL));
        if (r < 0)
                return cli_error_errno(r, _("cannot read the history copy %s: %s"), path, histdb_last_error(NULL));

        now = now_usec(CLOCK_REALTIME);
        mtime = histdb_mtime_usec(h);
        d = now > mtime ? now - mtime : 0;
        (void) format_local(when, sizeof when, mtime);
        /* whole seconds from a second on: "5s", not "5.02s" (from a
         * minute on format_duration() shows whole seconds itself) */
        if (d >= USEC_PER_SEC && d < 60 * USEC_PER_SEC)
                (void) snprintf(age, sizeof age, "%" PRIu64 "s", d / USEC_PER_SEC);
        else
                (void) format_duration(age, sizeof age, d);
        if (no_daemon_at)
                cli_info(_("benchrunner is not running (no daemon at %s): read from its history copy %s of %s "
                           "(%s ago), which may be older than the daemon's data"), no_daemon_at, path, when, age);
        else
                cli_info(_("read from the history copy %s of %s (%s ago), not from the daemon: it may be older "
                           "than the daemon's data"), path, when, age);
        *ret = h;
        return 0;
}
