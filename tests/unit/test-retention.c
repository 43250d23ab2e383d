/* test-retention.c: retention on a real SQLite database and real output
 * directories: output goes by age, by all users' size and by one user's
 * total (theirs, oldest first); rows go by age and by the database's size,
 * the largest history first; tasks not finished are never touched. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "db.h"
#include "retention.h"
#include "taskdir.h"
#include "util.h"

#define DAY (UINT64_C(86400) * USEC_PER_SEC)

static char dir[] = "/tmp/test-retention-XXXXXX";
static char path[200], outdir[200];
static uint64_t now;

static Task *finished(uid_t uid, uint64_t ended, uint64_t bytes) {
        Task *t = task_new();

        if (!t)
                abort();
        t->uid = t->gid = uid;
        t->argv = calloc(2, sizeof(char *));
        t->argv[0] = strdup("/bin/true");
        t->submit_dir = strdup("/");
        t->state = TASK_FINISHED;
        t->main.reason = TASK_REASON_EXITED;
        t->main.has_exit_code = true;
        t->main.started_usec = ended - 1;
        t->main.finished_usec = ended;
        t->has_output_bytes = true;
        t->output_bytes = bytes;
        t->output_dir = strdup("set below");
        return t;
}

/* The output directory of id as taskdir.c leaves it. */
static void make_output(int out_fd, int64_t id) {
        char name[32];
        int fd;

        snprintf(name, sizeof name, "%lld", (long long) id);
        CHECK(mkdirat(out_fd, name, 0755) == 0);
        fd = openat(out_fd, name, O_RDONLY | O_DIRECTORY);
        CHECK(fd >= 0);
        close(openat(fd, "stdout", O_WRONLY | O_CREAT, 0600));
        close(openat(fd, "stderr", O_WRONLY | O_CREAT, 0600));
        close(fd);
}

static bool output_there(int out_fd, int64_t id) {
        char name[32];
        snprintf(name, sizeof name, "%lld", (long long) id);
        return faccessat(out_fd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

static bool row_there(Db *db, int64_t id) {
        _cleanup_(task_freep) Task *t = NULL;
        return db_get_task(db, id, &t) == 0;
}

int main(void) {
        _cleanup_(db_closep) Db *db = NULL;
        _cleanup_(closep) int out_fd = -1;
        Task *tasks[14];
        int64_t ids[14];
        Retention *r = NULL;
        RetentionReport rep = {};

        if (!mkdtemp(dir))
                return 99;
        snprintf(path, sizeof path, "%s/tasks.db", dir);
        snprintf(outdir, sizeof outdir, "%s/output", dir);
        out_fd = taskdir_open_dir(AT_FDCWD, outdir, 0755);
        CHECK(out_fd >= 0);
        CHECK(db_open(path, DB_CREATE, &db) == 0);
        now = 1000 * DAY;

        /* uid 1000: ten tasks, ended 10 .. 1 days ago, 100 bytes each; uid
         * 1001: two, ended now; one queued task of uid 1000 */
        for (int i = 0; i < 10; i++)
                tasks[i] = finished(1000, now - (uint64_t) (10 - i) * DAY, 100);
        tasks[10] = finished(1001, now, 100);
        tasks[11] = finished(1001, now, 100);
        tasks[12] = finished(1000, now, 0);
        tasks[12]->state = TASK_QUEUED;
        tasks[12]->main = (TaskResult) {};
        tasks[13] = finished(1000, now, 100);
        CHECK(db_insert_tasks(db, tasks, 13) == 0);
        /* a later attempt of the first task */
        tasks[13]->retry_of = tasks[0]->id;
        CHECK(db_insert_tasks(db, tasks + 13, 1) == 0);
        for (int i = 0; i < 14; i++) {
                ids[i] = tasks[i]->id;
                make_output(out_fd, ids[i]);
        }
        for (int i = 0; i < 14; i++)
                task_free(tasks[i]);

        /* ---- by age: ended more than 5 days ago ---- */
        CHECK(retention_new(db, out_fd, &(RetentionConfig) { .keep_output_usec = 5 * DAY }, &r) == 0);
        CHECK_EQ_U64(retention_kept(r, 1000), 1100);  /* 10 + the last, the queued one not */
        CHECK_EQ_U64(retention_kept(r, 1001), 200);
        CHECK(retention_prune(r, now, 1000, &rep) == 0);
        CHECK_EQ_U64(rep.outputs_removed, 5);
        for (int i = 0; i < 14; i++)
                CHECK(output_there(out_fd, ids[i]) == (i >= 5));
        CHECK_EQ_U64(retention_kept(r, 1000), 600);
        {
                _cleanup_(task_freep) Task *t = NULL;
                CHECK(db_get_task(db, ids[0], &t) == 0 && t && t->output_removed_usec == now);
        }
        /* again: nothing more */
        rep = (RetentionReport) {};
        CHECK(retention_prune(r, now, 1000, &rep) == 0 && rep.outputs_removed == 0);
        r = retention_free(r);

        /* ---- a user's total: their own oldest go, nobody else's ---- */
        CHECK(retention_new(db, out_fd, &(RetentionConfig) { .max_user_output = 600 }, &r) == 0);
        CHECK_EQ_U64(retention_kept(r, 1000), 600);
        rep = (RetentionReport) {};
        CHECK_EQ_U64(retention_make_room(r, 1000, 250, now, &rep), 300);
        CHECK_EQ_U64(rep.outputs_removed, 3);
        CHECK(!output_there(out_fd, ids[7]) && output_there(out_fd, ids[8]));
        CHECK(output_there(out_fd, ids[10]) && output_there(out_fd, ids[11]));
        /* running alone past the total: no kept output left to remove */
        rep = (RetentionReport) {};
        CHECK_EQ_U64(retention_make_room(r, 1001, 5000, now, &rep), 600);
        CHECK(!output_there(out_fd, ids[10]) && !output_there(out_fd, ids[11]));
        CHECK_EQ_U64(retention_kept(r, 1001), 0);
        r = retention_free(r);

        /* ---- all users' output by size ---- */
        CHECK(retention_new(db, out_fd, &(RetentionConfig) { .keep_output_bytes = 150 }, &r) == 0);
        CHECK_EQ_U64(retention_kept(r, 1000), 300);
        rep = (RetentionReport) {};
        CHECK(retention_prune(r, now, 1000, &rep) == 0);
        CHECK_EQ_U64(rep.outputs_removed, 2);
        CHECK(output_there(out_fd, ids[13]) && output_there(out_fd, ids[12]));
        r = retention_free(r);

        /* ---- rows by age: ended more than 7 days ago ---- */
        CHECK(retention_new(db, out_fd, &(RetentionConfig) { .keep_tasks_usec = 7 * DAY }, &r) == 0);
        rep = (RetentionReport) {};
        CHECK(retention_prune(r, now, 1000, &rep) == 0);
        CHECK_EQ_U64(rep.rows_deleted, 3);
        for (int i = 0; i < 14; i++)
                CHECK(row_there(db, ids[i]) == (i >= 3));
        {
                _cleanup_(task_freep) Task *t = NULL;
                CHECK(db_get_task(db, ids[13], &t) == 0 && t && t->retry_of == 0);
        }
        r = retention_free(r);

        /* ---- rows by size, down to an equal share: uid 1000 has 8 rows of
         * about 280 bytes, uid 1001 two; a share of 1000 bytes leaves 1001's
         * alone and 3 of 1000's ---- */
        CHECK(retention_new(db, out_fd, &(RetentionConfig) { .keep_tasks_bytes = 2000 }, &r) == 0);
        rep = (RetentionReport) {};
        CHECK(retention_prune(r, now, 1000, &rep) == 0);
        CHECK_EQ_U64(rep.rows_deleted, 5);
        CHECK(!row_there(db, ids[7]) && row_there(db, ids[8]) && row_there(db, ids[13]));
        CHECK(row_there(db, ids[10]) && row_there(db, ids[11]));
        r = retention_free(r);

        /* ---- rows by size: the largest history first, a budget per round,
         * and never a task that is not finished ---- */
        CHECK(retention_new(db, out_fd, &(RetentionConfig) { .keep_tasks_bytes = 1 }, &r) == 0);
        rep = (RetentionReport) {};
        CHECK(retention_prune(r, now, 2, &rep) == 1);
        CHECK_EQ_U64(rep.rows_deleted, 2);
        CHECK(!row_there(db, ids[8]) && !row_there(db, ids[9]) && row_there(db, ids[10]));
        rep = (RetentionReport) {};
        CHECK(retention_prune(r, now, 1000, &rep) == 0);
        CHECK(row_there(db, ids[12]));   /* queued */
        CHECK(output_there(out_fd, ids[12]));
        CHECK(!row_there(db, ids[13]) && !output_there(out_fd, ids[13]));
        CHECK(!row_there(db, ids[10]));
        r = retention_free(r);

        /* ---- a Slurm task's directory is its user's: not counted, not
         * removed, not noted as removed ---- */
        {
                _cleanup_(task_freep) Task *t = NULL, *got = NULL;
                int64_t id;

                t = finished(1002, now - 10 * DAY, 100);
                t->backend = strdup("slurm");
                t->cluster = strdup("br");
                t->job_id = strdup("7");
                CHECK(db_insert_tasks(db, &t, 1) == 0);
                id = t->id;
                make_output(out_fd, id);
                CHECK(retention_new(db, out_fd, &(RetentionConfig) { .keep_output_usec = DAY,
                                                                      .keep_output_bytes = 1 }, &r) == 0);
                CHECK_EQ_U64(retention_kept(r, 1002), 0);
                rep = (RetentionReport) {};
                CHECK(retention_prune(r, now, 1000, &rep) == 0);
                CHECK(output_there(out_fd, id));
                CHECK(db_get_task(db, id, &got) == 0 && got && got->output_removed_usec == 0);
                r = retention_free(r);
                /* its row goes by age like any other */
                CHECK(retention_new(db, out_fd, &(RetentionConfig) { .keep_tasks_usec = 7 * DAY }, &r) == 0);
                rep = (RetentionReport) {};
                CHECK(retention_prune(r, now, 1000, &rep) == 0);
                CHECK(!row_there(db, id) && rep.outputs_removed == 0);
                r = retention_free(r);
        }

        db = db_close(db);
        {
                char cmd[300];
                snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
                CHECK(system(cmd) == 0);
        }
        CHECK_DONE();
}
