/* test-db.c: the SQLite layer on a real database file in a temporary
 * directory: schema creation, every field both ways, big batches,
 * transactions that fail half-way, filters, reopening, readers beside the
 * writer (also as an unprivileged user when run as root), and databases
 * this code must refuse. */
#include "config.h"

#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include <sqlite3.h>

#include "check.h"
#include "db.h"
#include "task.h"
#include "util.h"

#define NOBODY 65534

static char dir[256];
static char path[300];

#define CHECK_STREQ_NULL(a, b)                                                       \
        do {                                                                         \
                const char *_x = (a), *_y = (b);                                     \
                if (!_x || !_y)                                                      \
                        CHECK(!_x && !_y);                                           \
                else                                                                 \
                        CHECK_STREQ(_x, _y);                                         \
        } while (0)

static char **strv_new(const char * const *l, size_t n) {
        char **v = calloc(n + 1, sizeof(char *));

        if (!v)
                abort();
        for (size_t i = 0; i < n; i++)
                if (!(v[i] = strdup(l[i])))
                        abort();
        return v;
}
#define STRV(...)                                                                    \
        strv_new((const char * const[]) { __VA_ARGS__ },                             \
                 ELEMENTSOF(((const char * const[]) { __VA_ARGS__ })))

static char *xstrdup(const char *s) {
        char *d = strdup(s);
        if (!d)
                abort();
        return d;
}

static Task *simple_task(const char *name, uid_t uid) {
        Task *t = task_new();

        if (!t)
                abort();
        t->name = name ? xstrdup(name) : NULL;
        t->uid = uid;
        t->gid = uid;
        t->argv = STRV("/bin/true");
        t->submit_dir = xstrdup("/home/u");
        t->memory_bytes = UINT64_C(1) << 30;
        return t;
}

/* Every field set, and arguments no shell, printf or systemd specifier
 * expansion may touch. */
static Task *full_task(void) {
        Task *t = task_new();

        if (!t)
                abort();
        t->name = xstrdup("solver \"run\" #1");
        t->uid = 1000;
        t->gid = 1001;
        t->user = xstrdup("alice");
        t->argv = STRV("/usr/bin/solver", "with space", "single'quote", "double\"quote",
                       "$HOME", "${X}`id`", "%n%s%%", "back\\slash", "new\nline", "",
                       "tab\there", "\xff\xfe not utf-8", "ünïcödé", "--opt=value",
                       "/a/b/c", "\x01\x7f");
        t->env = STRV("A=1", "B=$A and %h", "EMPTY=");
        t->submit_dir = xstrdup("/home/alice/dir with space");
        t->cleanup_argv = STRV("/bin/rm", "-rf", "out dir");
        t->threads = 8;
        t->memory_bytes = UINT64_C(17179869184);
        t->time_limit_usec = 15 * 60 * USEC_PER_SEC;
        t->cleanup_time_limit_usec = 30 * USEC_PER_SEC;
        t->group = -3;
        t->priority = 5;
        t->whole_cores = true;
        t->in_submit_dir = true;
        t->held = true;
        t->state = TASK_FINISHED;
        t->queued_usec = UINT64_C(1700000000123456);
        t->cpus = xstrdup("2-3,18-19");
        t->unit = xstrdup("benchrunner-task-1.service");
        t->output_dir = xstrdup("/var/lib/benchrunner/output/1");
        t->output_truncated = true;
        t->main = (TaskResult) {
                .reason = TASK_REASON_SIGNALED,
                .has_exit_code = false,
                .has_signal = true, .signal = 9,
                .started_usec = UINT64_C(1700000001000000),
                .finished_usec = UINT64_C(1700000002500000),
                .wall_usec = 1500000,
                .has_cpu = true, .cpu_user_usec = 1400000, .cpu_system_usec = 12345,
                .has_peak_memory = true, .peak_memory_bytes = UINT64_C(123456789),
        };
        t->cleanup = (TaskResult) {
                .reason = TASK_REASON_EXITED,
                .has_exit_code = true, .exit_code = 0,
                .started_usec = UINT64_C(1700000002600000),
                .finished_usec = UINT64_C(1700000002700000),
                .wall_usec = 100000,
                .has_cpu = true, .cpu_user_usec = 0, .cpu_system_usec = 2000,
                .has_peak_memory = true, .peak_memory_bytes = 4096,
        };
        return t;
}

static void check_strv_eq(char **a, char **b) {
        size_t n = strv_length(a);

        CHECK_EQ_U64(n, strv_length(b));
        if (n != strv_length(b))
                return;
        for (size_t i = 0; i < n; i++)
                CHECK_STREQ(a[i], b[i]);
        CHECK(!a == !b);
}

static void check_result_eq(const TaskResult *a, const TaskResult *b) {
        CHECK_EQ_U64(a->reason, b->reason);
        CHECK_EQ_U64(a->has_exit_code, b->has_exit_code);
        if (b->has_exit_code)
                CHECK_EQ_U64(a->exit_code, b->exit_code);
        CHECK_EQ_U64(a->has_signal, b->has_signal);
        if (b->has_signal)
                CHECK_EQ_U64(a->signal, b->signal);
        CHECK_EQ_U64(a->started_usec, b->started_usec);
        CHECK_EQ_U64(a->finished_usec, b->finished_usec);
        CHECK_EQ_U64(a->wall_usec, b->wall_usec);
        CHECK_EQ_U64(a->has_cpu, b->has_cpu);
        CHECK_EQ_U64(a->cpu_user_usec, b->cpu_user_usec);
        CHECK_EQ_U64(a->cpu_system_usec, b->cpu_system_usec);
        CHECK_EQ_U64(a->has_peak_memory, b->has_peak_memory);
        CHECK_EQ_U64(a->peak_memory_bytes, b->peak_memory_bytes);
}

static void check_task_eq(const Task *a, const Task *b) {
        CHECK_EQ_U64(a->id, b->id);
        CHECK_STREQ_NULL(a->name, b->name);
        CHECK_EQ_U64(a->uid, b->uid);
        CHECK_EQ_U64(a->gid, b->gid);
        CHECK_STREQ_NULL(a->user, b->user);
        check_strv_eq(a->argv, b->argv);
        check_strv_eq(a->env, b->env);
        CHECK_STREQ_NULL(a->submit_dir, b->submit_dir);
        check_strv_eq(a->cleanup_argv, b->cleanup_argv);
        CHECK_EQ_U64(a->threads, b->threads);
        CHECK_EQ_U64(a->memory_bytes, b->memory_bytes);
        CHECK_EQ_U64(a->time_limit_usec, b->time_limit_usec);
        CHECK_EQ_U64(a->cleanup_time_limit_usec, b->cleanup_time_limit_usec);
        CHECK_EQ_U64((int64_t) a->group, (int64_t) b->group);
        CHECK_EQ_U64((int64_t) a->priority, (int64_t) b->priority);
        CHECK_EQ_U64(a->whole_cores, b->whole_cores);
        CHECK_EQ_U64(a->in_submit_dir, b->in_submit_dir);
        CHECK_EQ_U64(a->held, b->held);
        CHECK_EQ_U64(a->state, b->state);
        CHECK_EQ_U64(a->queued_usec, b->queued_usec);
        CHECK_STREQ_NULL(a->cpus, b->cpus);
        CHECK_STREQ_NULL(a->unit, b->unit);
        CHECK_STREQ_NULL(a->output_dir, b->output_dir);
        CHECK_EQ_U64(a->output_truncated, b->output_truncated);
        check_result_eq(&a->main, &b->main);
        check_result_eq(&a->cleanup, &b->cleanup);
}

/* Straight SQLite, as a person with sqlite3(1) would see the file. */
static int64_t raw_int(const char *sql) {
        sqlite3 *s = NULL;
        sqlite3_stmt *st = NULL;
        int64_t v = INT64_MIN;

        if (sqlite3_open_v2(path, &s, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
            sqlite3_prepare_v2(s, sql, -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
                v = sqlite3_column_type(st, 0) == SQLITE_NULL ? INT64_MIN + 1
                                                              : sqlite3_column_int64(st, 0);
        else
                fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(s));
        sqlite3_finalize(st);
        sqlite3_close_v2(s);
        return v;
}

static char *raw_text(const char *sql) {
        sqlite3 *s = NULL;
        sqlite3_stmt *st = NULL;
        char *v = NULL;

        if (sqlite3_open_v2(path, &s, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
            sqlite3_prepare_v2(s, sql, -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
                v = xstrdup((const char *) sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        sqlite3_close_v2(s);
        return v;
}

static int raw_exec(const char *file, const char *sql) {
        sqlite3 *s = NULL;
        int rc;

        rc = sqlite3_open_v2(file, &s, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
        if (rc == SQLITE_OK)
                rc = sqlite3_exec(s, sql, NULL, NULL, NULL);
        if (rc != SQLITE_OK)
                fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(s));
        sqlite3_close_v2(s);
        return rc;
}

static mode_t file_mode(const char *suffix) {
        char p[400];
        struct stat st;

        snprintf(p, sizeof p, "%s%s", path, suffix);
        if (stat(p, &st) < 0)
                return (mode_t) -1;
        return st.st_mode & 07777;
}

static void test_create(void) {
        _cleanup_(db_closep) Db *db = NULL;
        _cleanup_(freep) char *mode = NULL;

        CHECK(db_open(path, 0, &db) == -ENOENT);
        CHECK(strstr(db_last_error(NULL), path));
        CHECK(db_open(path, DB_READONLY, &db) == -ENOENT);

        /* umask 077 is in force (main) */
        CHECK_OK(db_open(path, DB_CREATE, &db));
        CHECK(db);
        CHECK_EQ_U64(raw_int("PRAGMA user_version"), DB_SCHEMA_VERSION);
        CHECK_EQ_U64(raw_int("PRAGMA application_id"), 0x4252554E);
        mode = raw_text("PRAGMA journal_mode");
        CHECK_STREQ(mode, "wal");
        CHECK_EQ_U64(raw_int("SELECT count(*) FROM tasks"), 0);
        CHECK_EQ_U64(raw_int("SELECT count(*) FROM task_history"), 0);
        CHECK_EQ_U64(raw_int("SELECT count(*) FROM sqlite_master WHERE type = 'index'"
                             " AND name IN ('tasks_state', 'tasks_uid')"), 2);

        /* root's alone: the file and what WAL needs beside it (readers
         * get a copy) */
        CHECK_EQ_U64(file_mode(""), 0600);
        CHECK_EQ_U64(file_mode("-wal"), 0600);
        CHECK_EQ_U64(file_mode("-shm"), 0600);
        db = db_close(db);
        CHECK_EQ_U64(file_mode("-wal"), (mode_t) -1);

        /* a database an older daemon made readable by all is made 0600 */
        CHECK(chmod(path, 0644) == 0);
        CHECK_OK(db_open(path, DB_CREATE, &db));
        CHECK_EQ_U64(file_mode(""), 0600);
        db = db_close(db);

        /* reopening an existing, current database is a no-op migration */
        CHECK_OK(db_open(path, DB_CREATE, &db));
        CHECK_EQ_U64(raw_int("PRAGMA user_version"), DB_SCHEMA_VERSION);
}

static void test_roundtrip(void) {
        _cleanup_(db_closep) Db *db = NULL;
        _cleanup_(task_freep) Task *a = full_task(), *b = simple_task(NULL, 1000),
                                   *got = NULL;
        _cleanup_(freep) char *command = NULL, *cleanup_command = NULL, *arg = NULL,
                *hist = NULL;
        Task *both[] = { a, b };
        char sql[1024];
        uint64_t before = now_usec(CLOCK_REALTIME);

        CHECK_OK(db_open(path, 0, &db));
        CHECK_OK(db_insert_tasks(db, both, 2));
        CHECK(a->id > 0);
        CHECK_EQ_U64(b->id, a->id + 1);
        CHECK_EQ_U64(a->queued_usec, UINT64_C(1700000000123456)); /* kept as given */
        CHECK(b->queued_usec >= before && b->queued_usec <= now_usec(CLOCK_REALTIME));

        CHECK_OK(db_get_task(db, a->id, &got));
        if (got)
                check_task_eq(got, a);
        got = task_free(got);
        CHECK_OK(db_get_task(db, b->id, &got));
        if (got) {
                check_task_eq(got, b);
                CHECK(!got->name && !got->user && !got->env && !got->cleanup_argv &&
                      !got->cpus && !got->unit && !got->output_dir);
        }
        got = task_free(got);
        CHECK(db_get_task(db, b->id + 1000, &got) == -ENOENT);
        CHECK(!got);

        /* what people see with sqlite3 */
        snprintf(sql, sizeof sql, "SELECT command FROM tasks WHERE id = %" PRIi64, a->id);
        command = raw_text(sql);
        CHECK_STREQ(command, "/usr/bin/solver 'with space' 'single'\\''quote' "
                             "'double\"quote' '$HOME' '${X}`id`' %n%s%% 'back\\slash' "
                             "$'new\\nline' '' $'tab\\there' $'\\xff\\xfe not utf-8' "
                             "'ünïcödé' --opt=value /a/b/c $'\\x01\\x7f'");
        snprintf(sql, sizeof sql, "SELECT cleanup_command FROM tasks WHERE id = %" PRIi64,
                 a->id);
        cleanup_command = raw_text(sql);
        CHECK_STREQ(cleanup_command, "/bin/rm -rf 'out dir'");
        /* the JSON is SQLite's JSON too */
        snprintf(sql, sizeof sql, "SELECT json_extract(argv, '$[8]') FROM tasks"
                 " WHERE id = %" PRIi64, a->id);
        arg = raw_text(sql);
        CHECK_STREQ(arg, "new\nline");
        snprintf(sql, sizeof sql, "SELECT json_array_length(argv) FROM tasks"
                 " WHERE id = %" PRIi64, a->id);
        CHECK_EQ_U64(raw_int(sql), 16);
        snprintf(sql, sizeof sql, "SELECT wall_s || ' ' || peak_memory_bytes || ' ' || user"
                 " FROM task_history WHERE id = %" PRIi64, a->id);
        hist = raw_text(sql);
        CHECK_STREQ(hist, "1.5 123456789 alice");

        /* NULL where unknown */
        snprintf(sql, sizeof sql,
                 "SELECT (name IS NULL) + (user IS NULL) + (cleanup_argv IS NULL) +"
                 " (cleanup_command IS NULL) + (time_limit_us IS NULL) +"
                 " (cleanup_time_limit_us IS NULL) + (started_at_us IS NULL) +"
                 " (finished_at_us IS NULL) + (cpus IS NULL) + (reason IS NULL) +"
                 " (exit_code IS NULL) + (signal IS NULL) + (wall_us IS NULL) +"
                 " (cpu_user_us IS NULL) + (peak_memory_bytes IS NULL) +"
                 " (cleanup_reason IS NULL) + (cleanup_wall_us IS NULL) +"
                 " (env = '[]') FROM tasks WHERE id = %" PRIi64, b->id);
        CHECK_EQ_U64(raw_int(sql), 18);
        snprintf(sql, sizeof sql, "SELECT exit_code IS NULL AND signal = 9"
                 " AND cleanup_exit_code = 0 FROM tasks WHERE id = %" PRIi64, a->id);
        CHECK_EQ_U64(raw_int(sql), 1);
}

static void test_invalid_and_rollback(void) {
        _cleanup_(db_closep) Db *db = NULL;
        _cleanup_(task_freep) Task *a = simple_task("ok", 1), *bad = simple_task("bad", 1),
                                   *c = simple_task("boom", 1);
        Task *batch[] = { a, bad, c };
        int64_t count;

        CHECK_OK(db_open(path, 0, &db));
        count = raw_int("SELECT count(*) FROM tasks");

        /* refused before anything is written */
        strv_free(bad->argv);
        bad->argv = NULL;
        CHECK(db_insert_tasks(db, batch, 3) == -EINVAL);
        CHECK(strstr(db_last_error(db), "command"));
        bad->argv = STRV("/bin/false");
        bad->cleanup_argv = calloc(1, sizeof(char *));
        CHECK(db_insert_tasks(db, batch, 3) == -EINVAL);
        strv_free(bad->cleanup_argv);
        bad->cleanup_argv = NULL;
        bad->memory_bytes = UINT64_MAX;
        CHECK(db_insert_tasks(db, batch, 3) == -ERANGE);
        bad->memory_bytes = 1;

        /* failing half-way: the third insert hits a trigger, the first two
         * must be rolled back */
        CHECK(raw_exec(path, "CREATE TRIGGER boom BEFORE INSERT ON tasks"
                             " WHEN NEW.name = 'boom' BEGIN"
                             " SELECT RAISE(ABORT, 'boom'); END") == SQLITE_OK);
        CHECK(db_insert_tasks(db, batch, 3) == -EINVAL);
        CHECK(strstr(db_last_error(db), "boom"));
        CHECK_EQ_U64(raw_int("SELECT count(*) FROM tasks"), count);
        CHECK_EQ_U64(a->id, 0);
        CHECK_EQ_U64(a->queued_usec, 0);
        CHECK(raw_exec(path, "DROP TRIGGER boom") == SQLITE_OK);

        /* and the connection is still usable */
        CHECK_OK(db_insert_tasks(db, batch, 3));
        CHECK(a->id > 0 && bad->id == a->id + 1 && c->id == a->id + 2);
        CHECK_EQ_U64(raw_int("SELECT count(*) FROM tasks"), count + 3);

        /* updates: all or nothing as well */
        a->state = TASK_RUNNING;
        c->id = 999999999;
        {
                Task *up[] = { a, c };
                CHECK(db_update_tasks(db, up, 2) == -ENOENT);
        }
        CHECK_EQ_U64(raw_int("SELECT count(*) FROM tasks WHERE state = 'running'"), 0);
        a->state = TASK_QUEUED;
        a->state = (TaskState) 17;
        CHECK(db_update_task(db, a) == -EINVAL);
        a->state = TASK_QUEUED;
}

static void test_many(void) {
        _cleanup_(db_closep) Db *db = NULL;
        Task **l = NULL, **got = NULL;
        size_t n = 5000, ngot = 0;
        int64_t before, first;
        DbFilter f = {};
        unsigned running = 99, queued = 99;

        CHECK_OK(db_open(path, 0, &db));
        before = raw_int("SELECT count(*) FROM tasks");
        l = calloc(n, sizeof(Task *));
        if (!l)
                abort();
        for (size_t i = 0; i < n; i++) {
                char name[32];

                snprintf(name, sizeof name, "many-%zu", i);
                l[i] = simple_task(name, 2000 + (uid_t) (i % 3));
                l[i]->priority = (int) i;
        }
        CHECK_OK(db_insert_tasks(db, l, n));
        first = l[0]->id;
        for (size_t i = 1; i < n; i++)
                CHECK_EQ_U64(l[i]->id, l[i - 1]->id + 1);
        CHECK_EQ_U64(raw_int("SELECT count(*) FROM tasks"), before + (int64_t) n);

        f.after_id = first - 1;
        CHECK_OK(db_list_tasks(db, &f, &got, &ngot));
        CHECK_EQ_U64(ngot, n);
        for (size_t i = 0; got && i < ngot && i < n; i++) {
                char name[32];

                snprintf(name, sizeof name, "many-%zu", i);
                CHECK_EQ_U64(got[i]->id, l[i]->id);
                CHECK_STREQ(got[i]->name, name);
                CHECK_EQ_U64(got[i]->priority, i);
        }
        CHECK(got && !got[ngot]); /* NULL-terminated too */
        db_tasks_free(got, ngot);

        CHECK_OK(db_count(db, &running, &queued));
        CHECK_EQ_U64(queued, raw_int("SELECT count(*) FROM tasks WHERE state = 'queued'"));
        CHECK_EQ_U64(running, raw_int("SELECT count(*) FROM tasks"
                                      " WHERE state IN ('running', 'cleanup')"));
        db_tasks_free(l, n);
}

static void test_update_and_filters(void) {
        _cleanup_(db_closep) Db *db = NULL;
        _cleanup_(task_freep) Task *q = simple_task("q", 3000), *r = simple_task("r", 3000),
                                   *c = simple_task("c", 3001), *fin = simple_task("f", 3001),
                                   *got = NULL;
        Task *batch[] = { q, r, c, fin }, **l = NULL;
        size_t n = 0;
        unsigned running, queued, running0, queued0;
        DbFilter f = {};

        CHECK_OK(db_open(path, 0, &db));
        CHECK_OK(db_count(db, &running0, &queued0));
        CHECK_OK(db_insert_tasks(db, batch, 4));

        r->state = TASK_RUNNING;
        r->cpus = xstrdup("4-5");
        r->unit = xstrdup("benchrunner-task-x.service");
        r->output_dir = xstrdup("/out/r");
        r->main.started_usec = now_usec(CLOCK_REALTIME);
        c->state = TASK_CLEANUP;
        c->main.reason = TASK_REASON_OOM;
        c->main.wall_usec = 0;  /* ended at once: 0, not NULL */
        c->main.has_peak_memory = true;
        c->main.peak_memory_bytes = UINT64_C(1) << 30;
        fin->state = TASK_FINISHED;
        fin->main.reason = TASK_REASON_EXITED;
        fin->main.has_exit_code = true;
        fin->main.exit_code = 3;
        fin->main.wall_usec = 42;
        fin->cleanup.reason = TASK_REASON_TIME_LIMIT;
        fin->cleanup.has_signal = true;
        fin->cleanup.signal = 15;
        fin->output_truncated = true;
        CHECK_OK(db_update_task(db, r));
        {
                Task *up[] = { c, fin };
                CHECK_OK(db_update_tasks(db, up, 2));
        }
        /* submitted fields never change through an update */
        free(r->name);
        r->name = xstrdup("renamed");
        r->priority = 77;
        CHECK_OK(db_update_task(db, r));
        free(r->name);
        r->name = xstrdup("r");
        r->priority = 0;

        CHECK_OK(db_get_task(db, r->id, &got));
        if (got)
                check_task_eq(got, r);
        got = task_free(got);
        CHECK_OK(db_get_task(db, c->id, &got));
        if (got)
                check_task_eq(got, c);
        got = task_free(got);
        CHECK_OK(db_get_task(db, fin->id, &got));
        if (got)
                check_task_eq(got, fin);
        got = task_free(got);

        CHECK_OK(db_count(db, &running, &queued));
        CHECK_EQ_U64(running, running0 + 2);
        CHECK_EQ_U64(queued, queued0 + 1);

        /* by uid */
        f = (DbFilter) { .has_uid = true, .uid = 3000 };
        CHECK_OK(db_list_tasks(db, &f, &l, &n));
        CHECK_EQ_U64(n, 2);
        if (n == 2)
                CHECK(l[0]->id == q->id && l[1]->id == r->id);
        db_tasks_free(l, n);

        /* by state and uid */
        f = (DbFilter) { .has_uid = true, .uid = 3001,
                         .states = DB_STATE_MASK(TASK_FINISHED) };
        CHECK_OK(db_list_tasks(db, &f, &l, &n));
        CHECK_EQ_U64(n, 1);
        if (n == 1)
                CHECK_EQ_U64(l[0]->id, fin->id);
        db_tasks_free(l, n);

        /* by several states */
        f = (DbFilter) { .states = DB_STATE_MASK(TASK_RUNNING) | DB_STATE_MASK(TASK_CLEANUP),
                         .after_id = q->id };
        CHECK_OK(db_list_tasks(db, &f, &l, &n));
        CHECK_EQ_U64(n, 2);
        if (n == 2)
                CHECK(l[0]->id == r->id && l[1]->id == c->id);
        db_tasks_free(l, n);

        /* newest first, limited, and below an id */
        f = (DbFilter) { .newest_first = true, .limit = 2 };
        CHECK_OK(db_list_tasks(db, &f, &l, &n));
        CHECK_EQ_U64(n, 2);
        if (n == 2)
                CHECK(l[0]->id == fin->id && l[1]->id == c->id);
        db_tasks_free(l, n);
        f = (DbFilter) { .after_id = q->id - 1, .before_id = fin->id, .limit = 10 };
        CHECK_OK(db_list_tasks(db, &f, &l, &n));
        CHECK_EQ_U64(n, 3);
        db_tasks_free(l, n);

        /* nothing matches: an empty result, not an error */
        f = (DbFilter) { .has_uid = true, .uid = 424242 };
        l = (Task **) &f;
        CHECK_OK(db_list_tasks(db, &f, &l, &n));
        CHECK(n == 0 && !l);

        f = (DbFilter) { .states = 1u << 7 };
        CHECK(db_list_tasks(db, &f, &l, &n) == -EINVAL);

        /* by the main command's reason: c ended by OOM, fin exited */
        f = (DbFilter) { .after_id = q->id - 1, .reasons = 1u << TASK_REASON_EXITED };
        CHECK_OK(db_list_tasks(db, &f, &l, &n));
        CHECK(n == 1 && l[0]->id == fin->id);
        db_tasks_free(l, n);
        f = (DbFilter) { .after_id = q->id - 1, .reasons = 1u << TASK_REASON_EXITED | 1u << TASK_REASON_OOM,
                         .newest_first = true };
        CHECK_OK(db_list_tasks(db, &f, &l, &n));
        CHECK(n == 2 && l[0]->id == fin->id && l[1]->id == c->id);
        db_tasks_free(l, n);
        f = (DbFilter) { .after_id = q->id - 1, .reasons = 1u << TASK_REASON_INTERRUPTED };
        CHECK_OK(db_list_tasks(db, &f, &l, &n));
        CHECK(n == 0);
        f = (DbFilter) { .reasons = 1u << TASK_REASON_NONE };
        CHECK(db_list_tasks(db, &f, &l, &n) == -EINVAL);

        /* by name: a GLOB, case-sensitive; "task-ID" for a task without one */
        f = (DbFilter) { .after_id = q->id - 1, .name_glob = "[qr]" };
        CHECK_OK(db_list_tasks(db, &f, &l, &n));
        CHECK(n == 2 && l[0]->id == q->id && l[1]->id == r->id);
        db_tasks_free(l, n);
        f = (DbFilter) { .after_id = q->id - 1, .name_glob = "F" };
        CHECK_OK(db_list_tasks(db, &f, &l, &n));
        CHECK(n == 0);
        {
                _cleanup_(task_freep) Task *anon = simple_task("x", 3002);
                char glob[64];

                free(anon->name);
                anon->name = NULL;
                CHECK_OK(db_insert_tasks(db, &anon, 1));
                snprintf(glob, sizeof glob, "task-%" PRId64, anon->id);
                f = (DbFilter) { .name_glob = glob };
                CHECK_OK(db_list_tasks(db, &f, &l, &n));
                CHECK(n == 1 && l[0]->id == anon->id);
                db_tasks_free(l, n);
                f = (DbFilter) { .name_glob = "task-*", .after_id = q->id - 1 };
                CHECK_OK(db_list_tasks(db, &f, &l, &n));
                CHECK(n == 1 && l[0]->id == anon->id);
                db_tasks_free(l, n);
        }

        /* by the time it was queued */
        {
                uint64_t t0 = fin->queued_usec ? fin->queued_usec : q->queued_usec;

                CHECK(t0 > 0);
                f = (DbFilter) { .after_id = q->id - 1, .since_usec = t0 + 3600 * USEC_PER_SEC };
                CHECK_OK(db_list_tasks(db, &f, &l, &n));
                CHECK(n == 0);
                f = (DbFilter) { .after_id = q->id - 1, .until_usec = t0 + 3600 * USEC_PER_SEC,
                                 .since_usec = t0 - 3600 * USEC_PER_SEC, .states = DB_STATE_MASK(TASK_QUEUED) |
                                 DB_STATE_MASK(TASK_RUNNING) | DB_STATE_MASK(TASK_CLEANUP) | DB_STATE_MASK(TASK_FINISHED) };
                CHECK_OK(db_list_tasks(db, &f, &l, &n));
                CHECK_EQ_U64(n, 5);
                db_tasks_free(l, n);
                f = (DbFilter) { .after_id = q->id - 1, .until_usec = t0 - 3600 * USEC_PER_SEC };
                CHECK_OK(db_list_tasks(db, &f, &l, &n));
                CHECK(n == 0);
        }

        /* what the daemon picks up after a restart */
        CHECK_OK(db_load_unfinished(db, &l, &n));
        CHECK_EQ_U64(n, raw_int("SELECT count(*) FROM tasks WHERE state != 'finished'"));
        for (size_t i = 0; i < n; i++) {
                CHECK(l[i]->state != TASK_FINISHED);
                if (i > 0)
                        CHECK(l[i]->id > l[i - 1]->id);
        }
        db_tasks_free(l, n);
}

static void test_persistence_and_readers(void) {
        _cleanup_(db_closep) Db *w = NULL, *ro = NULL;
        _cleanup_(task_freep) Task *t = simple_task("persist", 42), *got = NULL;
        Task *one[] = { t };
        int64_t id;

        CHECK_OK(db_open(path, 0, &w));
        CHECK_OK(db_insert_tasks(w, one, 1));
        id = t->id;
        w = db_close(w);

        CHECK_OK(db_open(path, DB_CREATE, &w));
        CHECK_OK(db_get_task(w, id, &got));
        if (got)
                CHECK_STREQ(got->name, "persist");
        got = task_free(got);

        /* a reader beside the writer sees each commit */
        CHECK_OK(db_open(path, DB_READONLY, &ro));
        CHECK_OK(db_get_task(ro, id, &got));
        got = task_free(got);
        t->id = 0;
        CHECK_OK(db_insert_tasks(w, one, 1));
        CHECK_OK(db_get_task(ro, t->id, &got));
        got = task_free(got);
        t->state = TASK_RUNNING;
        CHECK_OK(db_update_task(w, t));
        CHECK_OK(db_get_task(ro, t->id, &got));
        if (got)
                CHECK_EQ_U64(got->state, TASK_RUNNING);
        got = task_free(got);

        CHECK(db_insert_tasks(ro, one, 1) == -EROFS);
        CHECK(db_update_task(ro, t) == -EROFS);
}

/* As nobody, as a user running `sqlite3 tasks.db` would: through db_open()
 * and through plain SQLite opening read-write as the sqlite3 tool does. */
static int read_as_nobody(const char *target) {
        pid_t pid;
        int status;

        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                Db *db = NULL;
                Task **l = NULL;
                size_t n = 0;
                sqlite3 *s = NULL;
                struct stat st;
                int r, rc;

                if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
                    setresuid(NOBODY, NOBODY, NOBODY) < 0)
                        _exit(77);
                if (stat(target, &st) < 0)        /* a parent directory is closed */
                        _exit(77);
                r = db_open(target, DB_READONLY, &db);
                if (r < 0) {
                        fprintf(stderr, "nobody: db_open: %s\n", db_last_error(NULL));
                        _exit(r == -EACCES ? 13 : 1);
                }
                r = db_list_tasks(db, NULL, &l, &n);
                if (r < 0 || n == 0) {
                        fprintf(stderr, "nobody: list: %s\n", db_last_error(db));
                        _exit(1);
                }
                db_tasks_free(l, n);
                db_close(db);

                rc = sqlite3_open_v2(target, &s, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
                if (rc == SQLITE_OK)
                        rc = sqlite3_exec(s, "SELECT count(*) FROM tasks", NULL, NULL, NULL);
                if (rc != SQLITE_OK) {
                        fprintf(stderr, "nobody: sqlite3: %s\n", sqlite3_errmsg(s));
                        _exit(1);
                }
                sqlite3_close_v2(s);
                _exit(0);
        }
        if (waitpid(pid, &status, 0) < 0)
                return -errno;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 77)
                return 0;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 13)
                return -EACCES;
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 1 : -EIO;
}

/* The copy readers get holds env names, never values: not in the rows, not
 * in the file's free space. */
static void test_copy_hides_env(void) {
        _cleanup_(db_closep) Db *w = NULL, *c = NULL;
        _cleanup_(task_freep) Task *t = simple_task("secret", 1000), *got = NULL;
        _cleanup_(freep) char *bytes = NULL;
        Task *one[] = { t };
        char copy[400];
        FILE *f;
        size_t n = 0;

        strv_free(t->env);
        t->env = STRV("API_TOKEN=s3cr3t-value", "EMPTY=", "B=x=y");
        CHECK_OK(db_open(path, 0, &w));
        CHECK_OK(db_insert_tasks(w, one, 1));
        snprintf(copy, sizeof copy, "%s/copy-env.db", dir);
        f = fopen(copy, "w");
        CHECK(f);
        if (f)
                fclose(f);
        CHECK_OK(db_copy(w, copy));
        /* the live row keeps its values */
        CHECK_OK(db_get_task(w, t->id, &got));
        CHECK(got && got->env && strcmp(got->env[0], "API_TOKEN=s3cr3t-value") == 0);
        got = task_free(got);

        f = fopen(copy, "r");
        CHECK(f);
        if (f) {
                bytes = malloc(1 << 22);
                n = bytes ? fread(bytes, 1, 1 << 22, f) : 0;
                fclose(f);
        }
        CHECK(n > 0 && !memmem(bytes, n, "s3cr3t", 6));
        CHECK(n > 0 && memmem(bytes, n, "API_TOKEN", 9));
        CHECK(access(copy, F_OK) == 0);
        {
                char journal[420];
                snprintf(journal, sizeof journal, "%s-journal", copy);
                CHECK(access(journal, F_OK) < 0);
        }
        CHECK_OK(db_open(copy, DB_READONLY, &c));
        CHECK_OK(db_get_task(c, t->id, &got));
        CHECK(got && got->env && strv_length(got->env) == 3 && strcmp(got->env[0], "API_TOKEN") == 0 &&
              strcmp(got->env[1], "EMPTY") == 0 && strcmp(got->env[2], "B") == 0);
        (void) unlink(copy);
}

/* Nobody may open the live database; anybody reads a copy, while the
 * writer goes on and after it closed. */
static void test_unprivileged_reader(void) {
        _cleanup_(db_closep) Db *w = NULL;
        char copy[400];
        struct stat st;
        unsigned char header[20];
        FILE *f;
        int r;

        if (geteuid() != 0) {
                printf("skipping unprivileged reader: not root\n");
                return;
        }
        CHECK_OK(db_open(path, 0, &w));
        snprintf(copy, sizeof copy, "%s/copy.db", dir);
        f = fopen(copy, "w");
        CHECK(f);
        if (f)
                fclose(f);
        CHECK_OK(db_copy(w, copy));
        CHECK(chmod(copy, 0644) == 0);
        CHECK(stat(copy, &st) == 0);
        /* a rollback-journal file (header bytes 18, 19 = 1), no -wal */
        f = fopen(copy, "r");
        CHECK(f && fread(header, 1, sizeof header, f) == sizeof header);
        if (f)
                fclose(f);
        CHECK_EQ_U64(header[18], 1);
        CHECK_EQ_U64(header[19], 1);

        r = read_as_nobody(path);
        if (r == 0) {
                printf("skipping unprivileged reader: %s not reachable for nobody\n", dir);
                (void) unlink(copy);
                return;
        }
        CHECK(r == -EACCES);
        CHECK(read_as_nobody(copy) == 1);
        /* the writer is not held up by the copy's reader, nor the reader
         * by the writer */
        w = db_close(w);
        CHECK(read_as_nobody(copy) == 1);
        (void) unlink(copy);
}

static void test_refuse(void) {
        _cleanup_(db_closep) Db *db = NULL;
        char other[400], pragma[64];
        int fd;

        /* a newer schema */
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", DB_SCHEMA_VERSION + 1);
        CHECK(raw_exec(path, pragma) == SQLITE_OK);
        CHECK(db_open(path, 0, &db) == -EPROTONOSUPPORT);
        CHECK(!db);
        CHECK(strstr(db_last_error(NULL), "newer"));
        CHECK(db_open(path, DB_READONLY, &db) == -EPROTONOSUPPORT);
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", DB_SCHEMA_VERSION);
        CHECK(raw_exec(path, pragma) == SQLITE_OK);
        CHECK_OK(db_open(path, DB_READONLY, &db));
        db = db_close(db);

        /* somebody else's SQLite database */
        snprintf(other, sizeof other, "%s/other.db", dir);
        CHECK(raw_exec(other, "CREATE TABLE t (x)") == SQLITE_OK);
        CHECK(db_open(other, DB_CREATE, &db) == -EMEDIUMTYPE);
        CHECK(unlink(other) == 0);

        /* an empty database is not readable before the daemon made it */
        CHECK(raw_exec(other, "PRAGMA user_version = 0") == SQLITE_OK);
        CHECK(db_open(other, DB_READONLY, &db) == -ESTALE);
        CHECK(unlink(other) == 0);

        /* not SQLite at all */
        fd = open(other, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        CHECK(fd >= 0);
        CHECK(write(fd, "this is not a database, not at all, no\n", 40) == 40);
        close(fd);
        CHECK(db_open(other, 0, &db) == -EBADMSG);
        CHECK(unlink(other) == 0);
}

static void remove_dir(void) {
        static const char * const files[] = { "tasks.db", "tasks.db-wal", "tasks.db-shm",
                                               "other.db", "other.db-wal", "other.db-shm",
                                               "other.db-journal" };
        char p[400];

        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                snprintf(p, sizeof p, "%s/%s", dir, files[i]);
                (void) unlink(p);
        }
        if (rmdir(dir) < 0)
                fprintf(stderr, "rmdir %s: %m\n", dir);
}

/* A database written by schema 1 (tests/data/schema-v1.sql, made by a daemon
 * of that schema) is migrated without loss, and takes submit tokens then. */
static void test_migrate_v1(void) {
        _cleanup_(db_closep) Db *db = NULL;
        _cleanup_(freep) int64_t *ids = NULL;
        _cleanup_(freep) char *sql = NULL;
        const char *top = getenv("abs_top_srcdir");
        char file[600], v1[400];
        Task **tasks = NULL;
        size_t n = 0, len = 0;
        FILE *f;

        snprintf(file, sizeof file, "%s/tests/data/schema-v1.sql", top && *top ? top : "..");
        f = fopen(file, "re");
        CHECK(f);
        if (!f)
                return;
        CHECK(getdelim(&sql, &len, 0, f) > 0);
        fclose(f);
        snprintf(v1, sizeof v1, "%s/v1.db", dir);
        CHECK(raw_exec(v1, sql) == SQLITE_OK);
        /* read-only openers (users' sqlite3 aside) wait for the daemon */
        CHECK(db_open(v1, DB_READONLY, &db) == -ESTALE);
        CHECK_OK(db_open(v1, 0, &db));

        CHECK_OK(db_list_tasks(db, NULL, &tasks, &n));
        CHECK(n == 6);
        if (n == 6) {
                CHECK_STREQ(tasks[0]->name, "ok-task");
                CHECK(tasks[0]->state == TASK_FINISHED && tasks[0]->main.reason == TASK_REASON_EXITED);
                CHECK(tasks[0]->env && tasks[0]->env[0] && strcmp(tasks[0]->env[0], "FOO=bar") == 0);
                CHECK(tasks[1]->main.has_exit_code && tasks[1]->main.exit_code == 3);
                CHECK(tasks[1]->cleanup_argv && tasks[1]->cleanup.reason == TASK_REASON_EXITED);
                CHECK(tasks[2]->main.reason == TASK_REASON_OOM);
                CHECK(tasks[3]->main.reason == TASK_REASON_TIME_LIMIT && tasks[3]->time_limit_usec == 1000000);
                CHECK(tasks[4]->state == TASK_RUNNING && tasks[4]->cpus && tasks[4]->unit);
                CHECK(tasks[5]->state == TASK_QUEUED && tasks[5]->group == 2 && tasks[5]->priority == 5);
                for (size_t i = 0; i < n; i++)
                        CHECK(!tasks[i]->submit_token);
        }
        db_tasks_free(tasks, n);

        /* the new column works: a token finds its request's tasks */
        _cleanup_(task_freep) Task *t = simple_task("after-migration", 1000);
        CHECK(t);
        if (!t)
                return;
        t->submit_token = strdup("tok-1");
        Task *one[] = { t };
        CHECK_OK(db_insert_tasks(db, one, 1));
        CHECK_OK(db_find_submission(db, t->uid, "tok-1", &ids, &n));
        CHECK(n == 1 && ids && ids[0] == 7);
        free(ids);
        ids = NULL;
        CHECK_OK(db_find_submission(db, t->uid + 1, "tok-1", &ids, &n));
        CHECK(n == 0);
        db = db_close(db);

        /* and it stays migrated: reopening runs no step again */
        CHECK_OK(db_open(v1, DB_READONLY, &db));
        _cleanup_(task_freep) Task *g = NULL;
        CHECK_OK(db_get_task(db, 7, &g));
        CHECK(g && g->submit_token && strcmp(g->submit_token, "tok-1") == 0);
}

/* Retry and dependencies: the ladder and the dependencies round-trip as
 * JSON arrays; db_insert_attempt() stores the next attempt and the link
 * to it together; db_get_end() and db_load_waiting() read what the
 * daemon needs of them; the reason dependency-failed is stored and
 * filtered on. */
static void test_retry_and_after(void) {
        _cleanup_(db_closep) Db *db = NULL;
        _cleanup_(task_freep) Task *a = simple_task("ladder", 1000), *b = simple_task("waits", 1001),
                                   *n = simple_task("ladder", 1000), *got = NULL;
        _cleanup_(freep) char *ladder = NULL, *deps = NULL;
        DbWaiting *w = NULL;
        size_t n_w = 0, k = 0;
        Task **l = NULL;
        DbEnd e;
        char sql[256];

        CHECK_OK(db_open(path, 0, &db));
        a->retry_oom = calloc(2, sizeof(uint64_t));
        a->retry_oom[0] = 2048;
        a->retry_oom[1] = UINT64_C(8589934592);
        a->n_retry_oom = 2;
        CHECK_OK(db_insert_tasks(db, &a, 1));
        b->after = calloc(2, sizeof(int64_t));
        b->after[0] = a->id;
        b->after[1] = 1;
        b->n_after = 2;
        b->after_ok = true;
        CHECK_OK(db_insert_tasks(db, &b, 1));

        snprintf(sql, sizeof sql, "SELECT retry_oom_bytes FROM tasks WHERE id = %" PRIi64, a->id);
        ladder = raw_text(sql);
        CHECK_STREQ(ladder, "[2048,8589934592]");
        snprintf(sql, sizeof sql, "SELECT after_ids || after_ok FROM tasks WHERE id = %" PRIi64, b->id);
        deps = raw_text(sql);
        snprintf(sql, sizeof sql, "[%" PRIi64 ",1]1", a->id);
        CHECK_STREQ(deps, sql);
        snprintf(sql, sizeof sql, "SELECT (retry_oom_bytes IS NULL) + (after_ids IS NULL) + (next_attempt IS NULL)"
                 " FROM tasks WHERE id = %" PRIi64, b->id);
        CHECK_EQ_U64(raw_int(sql), 2);

        CHECK_OK(db_get_task(db, a->id, &got));
        CHECK(got && got->n_retry_oom == 2 && got->retry_oom[1] == UINT64_C(8589934592) && got->n_after == 0);
        got = task_free(got);
        CHECK_OK(db_get_task(db, b->id, &got));
        CHECK(got && got->n_after == 2 && got->after[0] == a->id && got->after[1] == 1 && got->after_ok &&
              got->n_retry_oom == 0 && got->next_attempt == 0);
        got = task_free(got);

        CHECK_OK(db_load_waiting(db, &w, &n_w));
        for (size_t i = 0; i < n_w; i++)
                if (w[i].id == b->id) {
                        k++;
                        CHECK(w[i].n_after == 2 && w[i].after[0] == a->id && w[i].after_ok);
                }
        CHECK_EQ_U64(k, 1);
        db_waiting_free(w, n_w);

        /* a ends out of memory; its next attempt and the link, together */
        a->state = TASK_FINISHED;
        a->main.reason = TASK_REASON_OOM;
        a->main.has_signal = true;
        a->main.signal = 9;
        CHECK_OK(db_update_task(db, a));
        CHECK_OK(db_get_end(db, a->id, &e));
        CHECK(e.state == TASK_FINISHED && e.reason == TASK_REASON_OOM && !e.has_exit_code && e.next_attempt == 0 &&
              e.uid == 1000);
        n->attempt = 2;
        n->retry_of = a->id;
        n->memory_bytes = 2048;
        CHECK_OK(db_insert_attempt(db, n, a));
        CHECK(n->id > b->id && a->next_attempt == n->id);
        CHECK_OK(db_get_end(db, a->id, &e));
        CHECK_EQ_U64(e.next_attempt, n->id);
        CHECK_OK(db_get_task(db, a->id, &got));
        CHECK(got && got->next_attempt == n->id);
        got = task_free(got);
        CHECK(db_get_end(db, n->id + 100, &e) == -ENOENT);
        /* a failed insert leaves prev as it was */
        free(n->submit_dir);
        n->submit_dir = NULL;
        a->next_attempt = 0;
        CHECK(db_insert_attempt(db, n, a) == -EINVAL && a->next_attempt == 0);

        /* b ends without running */
        b->state = TASK_FINISHED;
        b->main.reason = TASK_REASON_DEPENDENCY_FAILED;
        CHECK_OK(db_update_task(db, b));
        DbFilter f = { .reasons = 1u << TASK_REASON_DEPENDENCY_FAILED };
        CHECK_OK(db_list_tasks(db, &f, &l, &k));
        CHECK(k == 1 && l && l[0]->id == b->id && l[0]->main.reason == TASK_REASON_DEPENDENCY_FAILED);
        db_tasks_free(l, k);
        CHECK_OK(db_load_waiting(db, &w, &n_w));
        for (size_t i = 0; i < n_w; i++)
                CHECK(w[i].id != b->id);
        db_waiting_free(w, n_w);
}

/* What a task ran in and beside: the environments rows (one per distinct
 * record), and a task's record columns back as they were, unknown as
 * unknown. */
static void test_record(void) {
        _cleanup_(db_closep) Db *db = NULL;
        _cleanup_(task_freep) Task *t = simple_task("rec", 3000), *u = simple_task("plain", 3000), *got = NULL;
        _cleanup_(freep) char *record = NULL;
        int64_t e1 = 0, e2 = 0, e3 = 0;

        CHECK_OK(db_open(path, 0, &db));
        CHECK(db_environment(db, "{\"kernel\":\"6.1\"}", 1000, &e1) == 1);
        CHECK(db_environment(db, "{\"kernel\":\"6.1\"}", 2000, &e2) == 0);
        CHECK(db_environment(db, "{\"kernel\":\"6.2\"}", 3000, &e3) == 1);
        CHECK(e1 > 0 && e1 == e2 && e3 != e1);
        CHECK_OK(db_get_environment(db, e3, &record));
        CHECK_STREQ(record, "{\"kernel\":\"6.2\"}");
        CHECK(db_get_environment(db, e3 + 100, &record) == -ENOENT);

        t->series = xstrdup("s-1");
        CHECK_OK(db_insert_tasks(db, &t, 1));
        CHECK_OK(db_insert_tasks(db, &u, 1));
        t->state = TASK_FINISHED;
        t->environment_id = e1;
        t->warnings = STRV("boost is on", "the machine swapped");
        t->numa_nodes = xstrdup("0-1");
        t->pressure[TASK_PRESSURE_CPU] = (TaskPressure) { .has_some = true, .some_usec = 5, .has_full = true, .full_usec = 1 };
        t->pressure[TASK_PRESSURE_IO] = (TaskPressure) { .has_some = true, .some_usec = 0 };  /* 0 is known */
        t->has_throttled = true;
        t->nr_throttled = 3;
        t->throttled_usec = 4000;
        t->has_beside = true;
        t->tasks_beside = 2;
        CHECK_OK(db_update_task(db, t));
        CHECK_OK(db_get_task(db, t->id, &got));
        if (got) {
                CHECK_STREQ(got->series, "s-1");
                CHECK_EQ_U64(got->environment_id, e1);
                CHECK(got->warnings && strv_length(got->warnings) == 2);
                CHECK_STREQ(got->warnings ? got->warnings[1] : NULL, "the machine swapped");
                CHECK_STREQ(got->numa_nodes, "0-1");
                CHECK(got->pressure[TASK_PRESSURE_CPU].has_some && got->pressure[TASK_PRESSURE_CPU].some_usec == 5);
                CHECK(got->pressure[TASK_PRESSURE_CPU].has_full && got->pressure[TASK_PRESSURE_CPU].full_usec == 1);
                CHECK(!got->pressure[TASK_PRESSURE_MEMORY].has_some && !got->pressure[TASK_PRESSURE_MEMORY].has_full);
                CHECK(got->pressure[TASK_PRESSURE_IO].has_some && got->pressure[TASK_PRESSURE_IO].some_usec == 0);
                CHECK(!got->pressure[TASK_PRESSURE_IO].has_full);
                CHECK(got->has_throttled && got->nr_throttled == 3 && got->throttled_usec == 4000);
                CHECK(got->has_beside && got->tasks_beside == 2);
        }
        got = task_free(got);
        /* a task with nothing recorded: unknown, NULL in the row */
        CHECK_OK(db_get_task(db, u->id, &got));
        CHECK(got && got->environment_id == 0 && !got->warnings && !got->numa_nodes && !got->has_beside &&
              !got->has_throttled && !got->pressure[TASK_PRESSURE_CPU].has_some && !got->series);
        CHECK_EQ_U64(raw_int("SELECT count(*) FROM tasks WHERE cpu_pressure_some_us IS NULL AND tasks_beside IS NULL"
                             " AND name = 'plain'"), 1);
        CHECK_EQ_U64(raw_int("SELECT count(*) FROM environment WHERE kernel = '6.2'"), 1);
}

int main(void) {
        const char *tmp = getenv("TMPDIR");

        snprintf(dir, sizeof dir, "%s/test-db-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(dir)) {
                fprintf(stderr, "mkdtemp %s: %m\n", dir);
                return 1;
        }
        /* as /var/lib/benchrunner: others may enter */
        (void) chmod(dir, 0755);
        snprintf(path, sizeof path, "%s/tasks.db", dir);
        /* a daemon's strict umask must not make the history private */
        umask(077);

        test_create();
        test_roundtrip();
        test_invalid_and_rollback();
        test_many();
        test_update_and_filters();
        test_retry_and_after();
        test_record();
        test_persistence_and_readers();
        test_unprivileged_reader();
        test_copy_hides_env();
        test_refuse();
        test_migrate_v1();

        remove_dir();
        CHECK_DONE();
}
