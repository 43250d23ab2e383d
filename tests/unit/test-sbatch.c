/* test-sbatch.c: src/shared/sbatch.c: the #SBATCH options a task becomes;
 * the script itself run by /bin/sh outside Slurm (it needs nothing of
 * Slurm to run): the exit code, a time limit in seconds, the cleanup
 * command after it with the main command's status, a hostile environment
 * value passed byte for byte, the fresh working directory removed; the
 * record parser on what the script wrote and on broken records. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "sbatch.h"
#include "util.h"

static char dir[] = "/tmp/test-sbatch.XXXXXX";

static Task *task(char **argv) {
        Task *t = task_new();

        t->id = 7;
        t->threads = 2;
        t->memory_bytes = 100 * 1024 * 1024 + 1;
        t->time_limit_usec = 90 * USEC_PER_SEC;
        t->submit_dir = strdup("/");
        CHECK(strv_copy((const char * const *) argv, &t->argv) == 0);
        return t;
}

static bool has(char **v, const char *s) {
        for (; v && *v; v++)
                if (strcmp(*v, s) == 0)
                        return true;
        return false;
}

static void test_options(void) {
        char *argv[] = { "/bin/true", NULL };
        _cleanup_(task_freep) Task *t = task(argv);
        _cleanup_(strv_freep) char **o = NULL;
        char *why = NULL;
        SbatchOptions opt = { .dir = "/spool/7", .partition = "debug", .stop_timeout_usec = 10 * USEC_PER_SEC };

        CHECK_OK(sbatch_options(t, &opt, &o, &why));
        CHECK(has(o, "--cpus-per-task=2"));
        CHECK(has(o, "--hint=nomultithread"));   /* an even count: whole cores */
        CHECK(has(o, "--mem=101M"));             /* MiB, rounded up */
        CHECK(has(o, "--time=3"));               /* 90 s + 10 s + 60 s: 3 minutes */
        CHECK(has(o, "--partition=debug"));
        CHECK(has(o, "--output=/spool/7/stdout"));
        CHECK(has(o, "--export=NONE"));
        CHECK(has(o, "--job-name=benchrunner-7"));
        strv_free(o);
        o = NULL;

        t->threads = 3;
        t->time_limit_usec = 0;
        CHECK_OK(sbatch_options(t, &opt, &o, &why));
        CHECK(!has(o, "--hint=nomultithread"));
        for (char **l = o; *l; l++)
                CHECK(strncmp(*l, "--time=", 7) != 0);   /* no limit: the partition's */

        /* what an #SBATCH line would read as something else */
        static const char * const bad[] = { "/a b", "/a%j", "relative", "/a'b", "/a\nb" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                SbatchOptions b = { .dir = bad[i] };
                char **x = NULL;
                why = NULL;
                CHECK(sbatch_options(t, &b, &x, &why) == -EINVAL);
                CHECK(why != NULL);
                free(why);
        }
        SbatchOptions bp = { .dir = "/ok", .partition = "a b" };
        char **x = NULL;
        why = NULL;
        CHECK(sbatch_options(t, &bp, &x, &why) == -EINVAL);
        free(why);
}

static char *slurp(const char *path, size_t *ret_n) {
        FILE *f = fopen(path, "re");
        char *p = calloc(1, SBATCH_RECORD_MAX + 1);
        size_t n = 0;

        if (f && p)
                n = fread(p, 1, SBATCH_RECORD_MAX, f);
        if (f)
                fclose(f);
        *ret_n = n;
        return p;
}

/* Writes t's script, runs it with sh (no Slurm), parses the record. */
static int run_script(const Task *t, SbatchRecord *rec, int *ret_status) {
        _cleanup_(freep) char *s = NULL, *why = NULL, *path = NULL, *cmd = NULL, *recp = NULL, *text = NULL;
        SbatchOptions opt = { .dir = dir, .stop_timeout_usec = USEC_PER_SEC };
        FILE *f;
        size_t n;

        CHECK_OK(sbatch_script(t, &opt, &s, &why));
        if (!s)
                return -EINVAL;
        CHECK(asprintf(&path, "%s/job.sh", dir) > 0);
        CHECK(asprintf(&recp, "%s/record", dir) > 0);
        unlink(recp);
        f = fopen(path, "we");
        CHECK(f != NULL);
        fputs(s, f);
        fclose(f);
        CHECK(asprintf(&cmd, "cd / && env -i PATH=/usr/bin:/bin TMPDIR=%s /bin/sh %s > %s/stdout 2> %s/stderr",
                       dir, path, dir, dir) > 0);
        *ret_status = system(cmd);
        text = slurp(recp, &n);
        return sbatch_record_parse(text, n, rec);
}

static void test_run(void) {
        /* a value no shell quoting may spoil, and the exit code */
        char *argv[] = { "/bin/sh", "-c", "printf '%s|%s|%s' \"$V\" \"$BENCHRUNNER_TASK\" \"$PWD\" > \"$BENCHRUNNER_SUBMIT_DIR/seen\"; exit 3",
                         NULL };
        char *cleanup[] = { "/bin/sh", "-c", "echo \"$BENCHRUNNER_STATUS\"", NULL };
        _cleanup_(task_freep) Task *t = task(argv);
        _cleanup_(freep) char *seen = NULL, *p = NULL, *co = NULL;
        SbatchRecord rec = {};
        int status;
        size_t n;

        CHECK(strv_push_printf(&t->env, &(size_t) { 0 }, "V=it's $(id) `x` \"q\"\nline") == 0);
        free(t->submit_dir);
        t->submit_dir = strdup(dir);
        CHECK(strv_copy((const char * const *) cleanup, &t->cleanup_argv) == 0);
        t->cleanup_time_limit_usec = 5 * USEC_PER_SEC;
        CHECK_OK(run_script(t, &rec, &status));
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 3);   /* the job's own exit: the command's */
        CHECK(rec.complete);
        CHECK_EQ_U64(rec.task, 7);
        CHECK(rec.main_ended && rec.main.reason == TASK_REASON_EXITED && rec.main.exit_code == 3);
        CHECK(rec.main.started_usec > 0 && rec.main.finished_usec >= rec.main.started_usec);
        CHECK(rec.main.has_cpu);
        CHECK(rec.cleanup_ended && rec.cleanup.reason == TASK_REASON_EXITED && rec.cleanup.exit_code == 0);
        CHECK(rec.cleanup.started_usec >= rec.main.finished_usec);
        CHECK(asprintf(&p, "%s/seen", dir) > 0);
        seen = slurp(p, &n);
        CHECK(strncmp(seen, "it's $(id) `x` \"q\"\nline|7|", strlen("it's $(id) `x` \"q\"\nline|7|")) == 0);
        /* ran in a fresh directory below TMPDIR, removed at the end */
        {
                const char *wd = strrchr(seen, '|') + 1;
                struct stat st;
                CHECK(strncmp(wd, dir, strlen(dir)) == 0 && strstr(wd, "benchrunner-task."));
                CHECK(stat(wd, &st) < 0 && errno == ENOENT);
        }
        free(p);
        CHECK(asprintf(&p, "%s/cleanup-stdout", dir) > 0);
        co = slurp(p, &n);
        CHECK_STREQ(co, "exited 3\n");
        sbatch_record_done(&rec);
}

static void test_time_limit(void) {
        char *argv[] = { "/bin/sleep", "30", NULL };
        char *cleanup[] = { "/bin/sh", "-c", "echo \"$BENCHRUNNER_STATUS\"", NULL };
        _cleanup_(task_freep) Task *t = task(argv);
        _cleanup_(freep) char *p = NULL;
        SbatchRecord rec = {};
        struct timespec a, b;
        int status;

        t->time_limit_usec = 1500 * USEC_PER_MSEC;   /* rounded up: 2 s */
        CHECK(strv_copy((const char * const *) cleanup, &t->cleanup_argv) == 0);
        t->cleanup_time_limit_usec = 5 * USEC_PER_SEC;
        clock_gettime(CLOCK_MONOTONIC, &a);
        CHECK_OK(run_script(t, &rec, &status));
        clock_gettime(CLOCK_MONOTONIC, &b);
        CHECK(rec.main.reason == TASK_REASON_TIME_LIMIT);
        CHECK(rec.main.wall_usec >= 2 * USEC_PER_SEC && rec.main.wall_usec < 5 * USEC_PER_SEC);
        CHECK(b.tv_sec - a.tv_sec < 8);
        CHECK(asprintf(&p, "%s/cleanup-stdout", dir) > 0);
        unlink(p);
        sbatch_record_done(&rec);

        /* a command that exits 124 by itself is no time-limit */
        char *own[] = { "/bin/sh", "-c", "exit 124", NULL };
        _cleanup_(task_freep) Task *u = task(own);
        CHECK_OK(run_script(u, &rec, &status));
        CHECK(rec.main.reason == TASK_REASON_EXITED && rec.main.exit_code == 124);
        sbatch_record_done(&rec);

        /* a signal, as the shell reports it */
        char *sig[] = { "/bin/sh", "-c", "kill -9 $$", NULL };
        _cleanup_(task_freep) Task *v = task(sig);
        CHECK_OK(run_script(v, &rec, &status));
        CHECK(rec.main.reason == TASK_REASON_SIGNALED && rec.main.signal == 9);
        sbatch_record_done(&rec);
}

static void test_parse(void) {
        SbatchRecord rec = {};
        static const char good[] = "version 1\ntask 5\njob_id 12\nnode n1\nmain_started_us 100\n"
                                   "main_finished_us 350\nmain_exit 0\nfuture_key anything at all\nend 1\n";
        static const char * const bad[] = {
                "task 5\n",                      /* no version: not a record */
                "version 1\nmain_exit 300\n",    /* out of range */
                "version 1\nmain_started_us -1\n",
                "version 1\nnospace\n",
                "version 1\ntask 5x\n",
        };

        CHECK_OK(sbatch_record_parse(good, strlen(good), &rec));
        CHECK(rec.complete && rec.task == 5);
        CHECK_STREQ(rec.job_id, "12");
        CHECK_STREQ(rec.node, "n1");
        CHECK_EQ_U64(rec.main.wall_usec, 250);
        CHECK(rec.main.reason == TASK_REASON_EXITED && rec.main.has_exit_code && rec.main.exit_code == 0);
        CHECK(!rec.cleanup_started);
        sbatch_record_done(&rec);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                CHECK(sbatch_record_parse(bad[i], strlen(bad[i]), &rec) == -EBADMSG);
        CHECK(sbatch_record_parse("version 1\0x", 11, &rec) == -EBADMSG);
}

int main(void) {
        _cleanup_(freep) char *cmd = NULL;

        if (!mkdtemp(dir))
                return 1;
        test_options();
        test_parse();
        test_run();
        test_time_limit();
        if (asprintf(&cmd, "rm -rf %s", dir) > 0)
                (void) system(cmd);
        return check_failures ? 1 : 0;
}
