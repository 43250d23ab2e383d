/* test-histdb.c: the client's reader of the history copy (src/client/
 * histdb.c) against copies the daemon's own db.c makes (db_insert_tasks(),
 * db_copy(), as history.c publishes them): every field read back as stored
 * (env as names only), br-list's filters giving what the daemon's
 * db_list_tasks() gives for the same filter, an older schema read, and the
 * files it must refuse: a newer schema, a live WAL database, somebody
 * else's SQLite file, no SQLite at all, none. */
#include "config.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sqlite3.h>

#include "check.h"
#include "db.h"
#include "histdb.h"
#include "task.h"
#include "util.h"

_Static_assert(HISTDB_SCHEMA_VERSION == DB_SCHEMA_VERSION,
               "histdb.c reads the schema db.c writes: add the new columns to its table");

static char dir[256];
static char live[300];
static char copy[400];   /* a name a URI must escape */

#define T0 UINT64_C(1700000000000000)   /* queued_at of the first task */

static char **strv_of(const char *a, const char *b, const char *c) {
        char **v = calloc(4, sizeof(char *));

        if (!v || !(v[0] = strdup(a)) || (b && !(v[1] = strdup(b))) || (c && !(v[2] = strdup(c))))
                abort();
        return v;
}

static char *xstrdup(const char *s) {
        char *d = strdup(s);
        if (!d)
                abort();
        return d;
}

static Task *new_task(const char *name, uid_t uid, TaskState state, TaskReason reason, uint64_t queued) {
        Task *t = task_new();

        if (!t)
                abort();
        t->name = name ? xstrdup(name) : NULL;
        t->uid = uid;
        t->gid = uid;
        t->argv = strv_of("/bin/true", NULL, NULL);
        t->submit_dir = xstrdup("/home/u");
        t->memory_bytes = UINT64_C(1) << 30;
        t->threads = 1;
        t->state = state;
        t->queued_usec = queued;
        t->main.reason = reason;
        if (reason != TASK_REASON_NONE) {
                t->main.started_usec = queued + 1000;
                t->main.finished_usec = queued + 2000;
                t->main.wall_usec = 1000;
        }
        return t;
}

/* Every field set. */
static Task *full_task(void) {
        Task *t = task_new();

        if (!t)
                abort();
        t->name = xstrdup("solver \"run\" #1");
        t->uid = 1000;
        t->gid = 1001;
        t->user = xstrdup("alice");
        t->argv = strv_of("/usr/bin/solver", "with space", "\xff not utf-8");
        t->env = strv_of("API_TOKEN=s3cr3t", "EMPTY=", "B=x=y");
        t->submit_dir = xstrdup("/home/alice/dir with space");
        t->cleanup_argv = strv_of("/bin/rm", "-rf", "out dir");
        t->threads = 8;
        t->memory_bytes = UINT64_C(17179869184);
        t->time_limit_usec = 15 * 60 * USEC_PER_SEC;
        t->cleanup_time_limit_usec = 30 * USEC_PER_SEC;
        t->group = -3;
        t->priority = 5;
        t->whole_cores = true;
        t->requeue = true;
        t->in_submit_dir = true;
        t->attempt = 1;
        t->state = TASK_FINISHED;
        t->queued_usec = T0;
        t->cpus = xstrdup("2-3,18-19");
        t->unit = xstrdup("benchrunner-task-1.service");
        t->output_dir = xstrdup("/var/lib/benchrunner/output/1");
        t->output_truncated = true;
        t->has_output_bytes = true;
        t->output_bytes = 8192;
        t->output_removed_usec = T0 + 99;
        t->main = (TaskResult) {
                .reason = TASK_REASON_SIGNALED,
                .has_signal = true, .signal = 9,
                .started_usec = T0 + 1000000, .finished_usec = T0 + 2500000, .wall_usec = 1500000,
                .has_cpu = true, .cpu_user_usec = 1400000, .cpu_system_usec = 12345,
                .has_peak_memory = true, .peak_memory_bytes = UINT64_C(123456789),
        };
        t->cleanup = (TaskResult) {
                .reason = TASK_REASON_EXITED,
                .has_exit_code = true, .exit_code = 0,
                .started_usec = T0 + 2600000, .finished_usec = T0 + 2700000, .wall_usec = 100000,
                .has_cpu = true, .cpu_user_usec = 0, .cpu_system_usec = 2000,
                .has_peak_memory = true, .peak_memory_bytes = 4096,
        };
        return t;
}

static void check_strv_eq(char **a, char **b) {
        size_t n = strv_length(b);

        CHECK_EQ_U64(strv_length(a), n);
        for (size_t i = 0; i < n && i < strv_length(a); i++)
                CHECK_STREQ(a[i], b[i]);
}

static void check_result_eq(const TaskResult *a, const TaskResult *b) {
        CHECK_EQ_U64(a->reason, b->reason);
        CHECK(a->has_exit_code == b->has_exit_code && a->exit_code == b->exit_code);
        CHECK(a->has_signal == b->has_signal && a->signal == b->signal);
        CHECK_EQ_U64(a->started_usec, b->started_usec);
        CHECK_EQ_U64(a->finished_usec, b->finished_usec);
        CHECK_EQ_U64(a->wall_usec, b->wall_usec);
        CHECK(a->has_cpu == b->has_cpu && a->cpu_user_usec == b->cpu_user_usec &&
              a->cpu_system_usec == b->cpu_system_usec);
        CHECK(a->has_peak_memory == b->has_peak_memory && a->peak_memory_bytes == b->peak_memory_bytes);
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

/* As history.c publishes it: db_copy() into an empty file, then 0644. */
static void make_copy(Db *db, const char *to) {
        int fd = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        CHECK(fd >= 0);
        if (fd >= 0)
                close(fd);
        CHECK_OK(db_copy(db, to));
        CHECK(chmod(to, 0644) == 0);
}

/* ids[] of tasks[] as "3 2 1". */
static char *ids_of(Task **tasks, size_t n) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                abort();
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%s%" PRId64, i ? " " : "", tasks[i]->id);
        fclose(f);
        return buf;
}

static int64_t ids[8];   /* of the tasks in the live database, in order */

static void fill(Db *db) {
        Task *t[] = {
                full_task(),                                                               /* 1 */
                new_task(NULL, 1001, TASK_QUEUED, TASK_REASON_NONE, T0 + 10 * USEC_PER_SEC), /* 2 */
                new_task("bench-a", 1000, TASK_FINISHED, TASK_REASON_CANCELLED, T0 + 20 * USEC_PER_SEC),
                new_task("bench-b", 1001, TASK_RUNNING, TASK_REASON_NONE, T0 + 30 * USEC_PER_SEC),
                new_task("bench-c", 1000, TASK_FINISHED, TASK_REASON_EXITED, T0 + 40 * USEC_PER_SEC),
                new_task("other", 1002, TASK_FINISHED, TASK_REASON_OOM, T0 + 50 * USEC_PER_SEC),
        };

        t[4]->main.has_exit_code = true;
        t[4]->main.exit_code = 3;
        CHECK_OK(db_insert_tasks(db, t, ELEMENTSOF(t)));
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                ids[i] = t[i]->id;
                task_free(t[i]);
        }
}

/* Every field as db.c stored it, the environment's names only. */
static void test_fields(HistDb *h) {
        _cleanup_(task_freep) Task *want = full_task(), *got = NULL;
        char **names = strv_of("API_TOKEN", "EMPTY", "B");

        CHECK_OK(histdb_get(h, ids[0], &got));
        CHECK(got);
        if (got) {
                CHECK_EQ_U64(got->id, ids[0]);
                CHECK_STREQ(got->name, want->name);
                CHECK_EQ_U64(got->uid, want->uid);
                CHECK_EQ_U64(got->gid, want->gid);
                CHECK_STREQ(got->user, want->user);
                check_strv_eq(got->argv, want->argv);
                check_strv_eq(got->env, names);
                CHECK(got->env_hidden);
                CHECK_STREQ(got->submit_dir, want->submit_dir);
                check_strv_eq(got->cleanup_argv, want->cleanup_argv);
                CHECK_EQ_U64(got->threads, want->threads);
                CHECK_EQ_U64(got->memory_bytes, want->memory_bytes);
                CHECK_EQ_U64(got->time_limit_usec, want->time_limit_usec);
                CHECK_EQ_U64(got->cleanup_time_limit_usec, want->cleanup_time_limit_usec);
                CHECK(got->group == want->group && got->priority == want->priority);
                CHECK(got->whole_cores && got->requeue && got->in_submit_dir);
                CHECK_EQ_U64(got->attempt, 1);
                CHECK_EQ_U64(got->retry_of, 0);
                CHECK_EQ_U64(got->state, TASK_FINISHED);
                CHECK_EQ_U64(got->queued_usec, want->queued_usec);
                CHECK_STREQ(got->cpus, want->cpus);
                CHECK_STREQ(got->unit, want->unit);
                CHECK_STREQ(got->output_dir, want->output_dir);
                CHECK(got->output_truncated);
                CHECK(got->has_output_bytes && got->output_bytes == 8192);
                CHECK_EQ_U64(got->output_removed_usec, want->output_removed_usec);
                check_result_eq(&got->main, &want->main);
                check_result_eq(&got->cleanup, &want->cleanup);
                CHECK(!got->submit_token);
        }
        strv_free(names);
        got = task_free(got);

        /* a task without environment has none, and nothing hidden */
        CHECK_OK(histdb_get(h, ids[1], &got));
        CHECK(got && !got->env && !got->env_hidden && !got->name && got->state == TASK_QUEUED);
        got = task_free(got);

        CHECK(histdb_get(h, 9999, &got) == -ENOENT);
        CHECK(!got);
        CHECK(strstr(histdb_last_error(h), "9999"));
}

/* What br-list asks, and what the daemon's db_list_tasks() answers for the
 * same filter (manager_list_tasks() maps a request so). */
static void check_filter(Db *db, HistDb *h, const char *what, ProtoRequest req, size_t limit, const char *want) {
        DbFilter f = {
                .states = req.state_mask, .has_uid = req.has_uid, .uid = req.uid, .after_id = req.after_id,
                .before_id = req.before_id, .newest_first = req.newest_first, .limit = limit,
                .reasons = req.reason_mask, .name_glob = req.name_glob, .since_usec = req.since_usec,
                .until_usec = req.until_usec,
        };
        Task **a = NULL, **b = NULL;
        size_t na = 0, nb = 0;
        bool more = true;
        _cleanup_(freep) char *got = NULL, *daemon = NULL;

        CHECK_OK(histdb_list(h, &req, limit, &a, &na, &more));
        CHECK_OK(db_list_tasks(db, &f, &b, &nb));
        got = ids_of(a, na);
        daemon = ids_of(b, nb);
        if (strcmp(got, want) != 0 || strcmp(daemon, want) != 0)
                check_failed(__FILE__, __LINE__, "%s: histdb gave \"%s\", the daemon \"%s\", expected \"%s\"", what,
                             got, daemon, want);
        /* there are more when the limit cut the list */
        if (limit) {
                DbFilter g = f;
                Task **c = NULL;
                size_t nc = 0;

                g.limit = limit + 1;
                CHECK_OK(db_list_tasks(db, &g, &c, &nc));
                if (more != (nc > limit))
                        check_failed(__FILE__, __LINE__, "%s: more is %d", what, more);
                db_tasks_free(c, nc);
        } else
                CHECK(!more);
        histdb_tasks_free(a, na);
        db_tasks_free(b, nb);
}

#define M(x) (1u << (x))
static void test_filters(Db *db, HistDb *h) {
        char all[64], t2[16];

        snprintf(all, sizeof all, "%" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64, ids[5],
                 ids[4], ids[3], ids[2], ids[1], ids[0]);
        check_filter(db, h, "all, newest first", (ProtoRequest) { .newest_first = true }, 0, all);
        check_filter(db, h, "the newest 2", (ProtoRequest) { .newest_first = true }, 2, "6 5");
        check_filter(db, h, "the newest 6 of 6: no more", (ProtoRequest) { .newest_first = true }, 6, all);
        check_filter(db, h, "oldest first", (ProtoRequest) {}, 3, "1 2 3");
        check_filter(db, h, "--state finished", (ProtoRequest) { .newest_first = true, .state_mask = M(TASK_FINISHED) },
                     0, "6 5 3 1");
        check_filter(db, h, "--state queued,running",
                     (ProtoRequest) { .newest_first = true, .state_mask = M(TASK_QUEUED) | M(TASK_RUNNING) }, 0, "4 2");
        check_filter(db, h, "--reason cancelled",
                     (ProtoRequest) { .newest_first = true, .reason_mask = M(TASK_REASON_CANCELLED) }, 0, "3");
        check_filter(db, h, "--reason exited,oom,signaled",
                     (ProtoRequest) { .newest_first = true,
                                      .reason_mask = M(TASK_REASON_EXITED) | M(TASK_REASON_OOM) |
                                                     M(TASK_REASON_SIGNALED) }, 0, "6 5 1");
        check_filter(db, h, "--user 1001", (ProtoRequest) { .newest_first = true, .has_uid = true, .uid = 1001 }, 0,
                     "4 2");
        check_filter(db, h, "--name 'bench-*'", (ProtoRequest) { .newest_first = true, .name_glob = "bench-*" }, 0,
                     "5 4 3");
        snprintf(t2, sizeof t2, "task-%" PRId64, ids[1]);
        check_filter(db, h, "--name task-2 (no name of its own)",
                     (ProtoRequest) { .newest_first = true, .name_glob = t2 }, 0, "2");
        check_filter(db, h, "--name is case-sensitive, as GLOB",
                     (ProtoRequest) { .newest_first = true, .name_glob = "BENCH-*" }, 0, "");
        check_filter(db, h, "--since",
                     (ProtoRequest) { .newest_first = true, .since_usec = T0 + 30 * USEC_PER_SEC }, 0, "6 5 4");
        check_filter(db, h, "--until (before, not at)",
                     (ProtoRequest) { .newest_first = true, .until_usec = T0 + 20 * USEC_PER_SEC }, 0, "2 1");
        check_filter(db, h, "--since and --until",
                     (ProtoRequest) { .newest_first = true, .since_usec = T0 + 10 * USEC_PER_SEC,
                                      .until_usec = T0 + 40 * USEC_PER_SEC }, 0, "4 3 2");
        check_filter(db, h, "all at once",
                     (ProtoRequest) { .newest_first = true, .state_mask = M(TASK_FINISHED), .has_uid = true,
                                      .uid = 1000, .name_glob = "bench-?", .reason_mask = M(TASK_REASON_EXITED),
                                      .since_usec = T0 + USEC_PER_SEC }, 1, "5");
        check_filter(db, h, "before_id", (ProtoRequest) { .newest_first = true, .before_id = 4 }, 2, "3 2");
        check_filter(db, h, "after_id", (ProtoRequest) { .after_id = 4 }, 0, "5 6");
}

/* A copy of the first schema (an older daemon's file, the columns added
 * since as a fresh task has them), its env values never shown. */
static void test_older_schema(void) {
        _cleanup_(histdb_closep) HistDb *h = NULL;
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
        CHECK_OK(histdb_open(v1, &h));
        if (!h)
                return;
        CHECK_EQ_U64(histdb_schema_version(h), 1);
        CHECK_OK(histdb_list(h, &(ProtoRequest) { .newest_first = true }, 0, &tasks, &n, NULL));
        CHECK_EQ_U64(n, 6);
        if (n == 6) {
                Task *ok = tasks[5];
                CHECK_STREQ(ok->name, "ok-task");
                CHECK(ok->state == TASK_FINISHED && ok->main.reason == TASK_REASON_EXITED);
                /* the live database of schema 1 held the value: cut off */
                CHECK(ok->env && ok->env_hidden && strcmp(ok->env[0], "FOO") == 0);
                CHECK(ok->attempt == 1 && !ok->retry_of && !ok->requeue && !ok->in_submit_dir &&
                      !ok->has_output_bytes && !ok->output_removed_usec);
                CHECK(tasks[0]->state == TASK_QUEUED && tasks[0]->group == 2 && tasks[0]->priority == 5);
        }
        histdb_tasks_free(tasks, n);
        (void) unlink(v1);
}

static void test_refuse(Db *db) {
        HistDb *h = NULL;
        char other[400], pragma[64];
        int fd;

        /* none */
        snprintf(other, sizeof other, "%s/none.db", dir);
        CHECK(histdb_open(other, &h) == -ENOENT);
        CHECK(!h);

        /* the live database, in WAL mode: never opened by SQLite here */
        CHECK(histdb_open(live, &h) == -EMEDIUMTYPE);
        CHECK(strstr(histdb_last_error(NULL), "WAL"));

        /* a newer schema */
        snprintf(other, sizeof other, "%s/newer.db", dir);
        make_copy(db, other);
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", HISTDB_SCHEMA_VERSION + 1);
        CHECK(raw_exec(other, pragma) == SQLITE_OK);
        CHECK(histdb_open(other, &h) == -EPROTONOSUPPORT);
        CHECK(!h);
        CHECK(strstr(histdb_last_error(NULL), "newer"));
        CHECK(unlink(other) == 0);

        /* somebody else's SQLite database */
        snprintf(other, sizeof other, "%s/other.db", dir);
        CHECK(raw_exec(other, "CREATE TABLE t (x); PRAGMA user_version = 2") == SQLITE_OK);
        CHECK(histdb_open(other, &h) == -EMEDIUMTYPE);
        CHECK(unlink(other) == 0);

        /* not SQLite at all, and empty */
        fd = open(other, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        CHECK(fd >= 0);
        CHECK(write(fd, "this is not a database, not at all, no\n", 40) == 40);
        close(fd);
        CHECK(histdb_open(other, &h) == -EBADMSG);
        CHECK(truncate(other, 0) == 0);
        CHECK(histdb_open(other, &h) == -EBADMSG);
        CHECK(unlink(other) == 0);
        /* a directory */
        CHECK(histdb_open(dir, &h) == -EBADMSG);
}

static void test_path(void) {
        CHECK_STREQ(histdb_path("/x/y.db"), "/x/y.db");
        CHECK(setenv("BENCHRUNNER_HISTORY", "/from/env.db", 1) == 0);
        CHECK_STREQ(histdb_path(NULL), "/from/env.db");
        CHECK_STREQ(histdb_path("/x/y.db"), "/x/y.db");
        CHECK(setenv("BENCHRUNNER_HISTORY", "", 1) == 0);
        CHECK_STREQ(histdb_path(NULL), BR_STATEDIR "/tasks.db");
        CHECK(unsetenv("BENCHRUNNER_HISTORY") == 0);
}

int main(void) {
        _cleanup_(db_closep) Db *db = NULL;
        _cleanup_(histdb_closep) HistDb *h = NULL;
        const char *tmp = getenv("TMPDIR");
        uint64_t before = now_usec(CLOCK_REALTIME);

        snprintf(dir, sizeof dir, "%s/test-histdb-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(dir)) {
                fprintf(stderr, "mkdtemp %s: %m\n", dir);
                return 1;
        }
        snprintf(live, sizeof live, "%s/tasks.db", dir);
        /* a path SQLite's URIs would read otherwise: blank, ?, #, % */
        snprintf(copy, sizeof copy, "%s/copy #1?%%41.db", dir);

        CHECK_OK(db_open(live, DB_CREATE, &db));
        if (!db)
                return 1;
        fill(db);
        make_copy(db, copy);
        CHECK_OK(histdb_open(copy, &h));
        if (h) {
                CHECK_EQ_U64(histdb_schema_version(h), DB_SCHEMA_VERSION);
                /* whole seconds on some file systems */
                CHECK(histdb_mtime_usec(h) + USEC_PER_SEC >= before &&
                      histdb_mtime_usec(h) <= now_usec(CLOCK_REALTIME));
                test_fields(h);
                test_filters(db, h);
        }
        /* a reader keeps the file it opened when a new copy replaces it */
        if (h) {
                char next[450];
                Task **tasks = NULL;
                size_t n = 0;
                Task *more[] = { new_task("later", 1000, TASK_QUEUED, TASK_REASON_NONE, T0) };

                CHECK_OK(db_insert_tasks(db, more, 1));
                task_free(more[0]);
                snprintf(next, sizeof next, "%s.new", copy);
                make_copy(db, next);
                CHECK(rename(next, copy) == 0);
                CHECK_OK(histdb_list(h, &(ProtoRequest) {}, 0, &tasks, &n, NULL));
                CHECK_EQ_U64(n, 6);
                histdb_tasks_free(tasks, n);
                h = histdb_close(h);
                CHECK_OK(histdb_open(copy, &h));
                if (h)
                        CHECK_OK(histdb_list(h, &(ProtoRequest) {}, 0, &tasks, &n, NULL));
                CHECK_EQ_U64(n, 7);
                histdb_tasks_free(tasks, n);
                h = histdb_close(h);
        }
        test_older_schema();
        test_refuse(db);
        test_path();

        db = db_close(db);
        (void) unlink(copy);
        {
                static const char * const files[] = { "tasks.db", "tasks.db-wal", "tasks.db-shm" };
                char p[400];

                for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
                        (void) unlink(p);
                }
        }
        if (rmdir(dir) < 0)
                fprintf(stderr, "rmdir %s: %m\n", dir);
        CHECK_DONE();
}
