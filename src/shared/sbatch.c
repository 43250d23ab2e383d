/* sbatch.c: a task as a Slurm batch script, and the record it leaves
 * (sbatch.h; docs/slurm.md). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbatch.h"
#include "util.h"


/* ---- writing ---- */

typedef struct Buf {
        char *p;
        size_t n, size;
        bool oom;
} Buf;

static void put(Buf *b, const char *s, size_t n) {
        if (b->oom)
                return;
        if (b->n + n + 1 > b->size) {
                size_t size = (b->n + n + 1) * 2;
                char *p = realloc(b->p, size);
                if (!p) {
                        b->oom = true;
                        return;
                }
                b->p = p;
                b->size = size;
        }
        memcpy(b->p + b->n, s, n);
        b->n += n;
        b->p[b->n] = 0;
}

static void puts_(Buf *b, const char *s) {
        put(b, s, strlen(s));
}

_printf_(2, 3) static void printf_(Buf *b, const char *fmt, ...) {
        va_list ap;
        char *s = NULL;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (n < 0) {
                b->oom = true;
                return;
        }
        put(b, s, (size_t) n);
        free(s);
}

/* s in single quotes, for sh: a quote inside becomes '\'' */
static void quote(Buf *b, const char *s) {
        puts_(b, "'");
        for (const char *q; (q = strchr(s, '\'')); s = q + 1) {
                put(b, s, (size_t) (q - s));
                puts_(b, "'\\''");
        }
        puts_(b, s);
        puts_(b, "'");
}

static void quote_argv(Buf *b, char * const *argv) {
        for (size_t i = 0; argv[i]; i++) {
                if (i > 0)
                        puts_(b, " ");
                quote(b, argv[i]);
        }
}

/* What an #SBATCH line may carry: sbatch splits these lines at blanks and
 * expands '%' in file names, so a value with either could be read as
 * something else. */
static bool option_safe(const char *s) {
        if (!s || !*s)
                return false;
        for (; *s; s++)
                if (*s <= ' ' || *s == '%' || *s == '\'' || *s == '"' || *s == '\\' || *s == '#' || *s == 0x7f)
                        return false;
        return true;
}

/* The job's name: the task's id (the task's own name is the user's text,
 * and squeue shows job names to every user of the cluster). */
static char *job_name(const Task *t) {
        char *n;

        if (asprintf(&n, "benchrunner-%" PRId64, t->id) < 0)
                return NULL;
        return n;
}

static bool env_name_valid(const char *e) {
        const char *eq = strchr(e, '=');

        if (!eq || eq == e)
                return false;
        for (const char *c = e; c < eq; c++)
                if (!(*c == '_' || (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
                      (c > e && *c >= '0' && *c <= '9')))
                        return false;
        return true;
}

static uint64_t ceil_div(uint64_t a, uint64_t b) {
        return a / b + (a % b != 0);
}

int sbatch_options(const Task *t, const SbatchOptions *o, char ***ret, char **ret_why) {
        _cleanup_(strv_freep) char **v = NULL;
        _cleanup_(freep) char *name = NULL;
        size_t n = 0;
        uint64_t stop = o->stop_timeout_usec ? o->stop_timeout_usec : 10 * USEC_PER_SEC;

        if (!o->dir || o->dir[0] != '/' || !option_safe(o->dir)) {
                (void) asprintf(ret_why, "the task's directory on the cluster must be an absolute path without "
                                "blanks, quotes or '%%': %s", o->dir ? o->dir : "(none)");
                return -EINVAL;
        }
        if (o->partition && !option_safe(o->partition)) {
                (void) asprintf(ret_why, "a partition name without blanks, quotes or '%%': %s", o->partition);
                return -EINVAL;
        }
        if (o->comment && !option_safe(o->comment)) {
                (void) asprintf(ret_why, "a comment without blanks, quotes or '%%': %s", o->comment);
                return -EINVAL;
        }
        if (o->job_name && !option_safe(o->job_name)) {
                (void) asprintf(ret_why, "a job name without blanks, quotes or '%%': %s", o->job_name);
                return -EINVAL;
        }
        name = o->job_name ? strdup(o->job_name) : job_name(t);
        if (!name)
                return -ENOMEM;
        if (strv_push_printf(&v, &n, "--job-name=%s", name) < 0 ||
            strv_push_printf(&v, &n, "--nodes=1") < 0 ||
            strv_push_printf(&v, &n, "--ntasks=1") < 0 ||
            strv_push_printf(&v, &n, "--cpus-per-task=%u", t->threads) < 0)
                return -ENOMEM;
        /* a task of whole cores shares none with another job: one thread
         * per core, the sibling kept idle, also where the cluster hands
         * out hardware threads (CR_CPU) */
        if ((t->threads % 2 == 0 || t->whole_cores) && strv_push_printf(&v, &n, "--hint=nomultithread") < 0)
                return -ENOMEM;
        /* Slurm counts memory in MiB: rounded up */
        if (t->memory_bytes > 0 &&
            strv_push_printf(&v, &n, "--mem=%" PRIu64 "M", ceil_div(t->memory_bytes, 1024 * 1024)) < 0)
                return -ENOMEM;
        /* the backstop: the script stops the command at its limit in
         * seconds; Slurm's minutes only if that failed */
        if (t->time_limit_usec > 0 && (!t->cleanup_argv || t->cleanup_time_limit_usec > 0)) {
                uint64_t total = t->time_limit_usec + stop + SBATCH_SLACK_USEC;

                if (t->cleanup_argv)
                        total += t->cleanup_time_limit_usec + stop;
                if (strv_push_printf(&v, &n, "--time=%" PRIu64, ceil_div(total, 60 * USEC_PER_SEC)) < 0)
                        return -ENOMEM;
        }
        if (o->partition && strv_push_printf(&v, &n, "--partition=%s", o->partition) < 0)
                return -ENOMEM;
        if (strv_push_printf(&v, &n, "--output=%s/stdout", o->dir) < 0 ||
            strv_push_printf(&v, &n, "--error=%s/stderr", o->dir) < 0 ||
            strv_push_printf(&v, &n, "--open-mode=append") < 0 ||
            /* the job's environment is the task's, not the submitter's */
            strv_push_printf(&v, &n, "--export=NONE") < 0 ||
            strv_push_printf(&v, &n, "--chdir=%s", o->dir) < 0)
                return -ENOMEM;
        if (o->comment && strv_push_printf(&v, &n, "--comment=%s", o->comment) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(v);
        return 0;
}

/* The shell functions every script shares.  now: microseconds since the
 * epoch (GNU date).  say: a record line.  cg1 CONTROLLER / cg2: the job's
 * own cgroup (the path up to its job_N directory) in a v1 hierarchy or in
 * the v2 one, empty when Slurm made none (proctrack/linuxproc).  figures
 * PREFIX: the main command's CPU time and peak memory, from the job's
 * cgroup where there is one, else from times (the children's CPU time,
 * 10 ms steps) and unknown. */
static const char script_functions[] =
        "now() { date +%s%6N; }\n"
        "say() { printf '%s %s\\n' \"$1\" \"$2\" >> \"$rec\"; }\n"
        "cg1() { awk -F: -v c=\"$1\" '{ n = split($2, a, \",\"); for (i = 1; i <= n; i++)"
        " if (a[i] == c && match($3, /.*\\/job_[0-9]+/)) { print substr($3, 1, RLENGTH); exit } }' /proc/self/cgroup; }\n"
        "cg2() { awk -F: '$1 == \"0\" && match($3, /.*\\/job_[0-9]+/) { print substr($3, 1, RLENGTH); exit }' "
        "/proc/self/cgroup; }\n"
        "cputimes() { times > \"$d/.times\"; awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/);"
        " printf \"%.0f %.0f\\n\", (u[1] * 60 + u[2]) * 1000000, (s[1] * 60 + s[2]) * 1000000 }' \"$d/.times\"; "
        "rm -f \"$d/.times\"; }\n"
        "figures() {\n"
        "    m=$(cg1 memory); c=$(cg1 cpuacct); u=$(cg2)\n"
        "    if [ -n \"$m\" ] && [ -r \"/sys/fs/cgroup/memory$m/memory.max_usage_in_bytes\" ]; then\n"
        "        say main_peak_memory_bytes \"$(cat \"/sys/fs/cgroup/memory$m/memory.max_usage_in_bytes\")\"\n"
        "        say memory_source cgroup\n"
        "    elif [ -n \"$u\" ] && [ -r \"/sys/fs/cgroup$u/memory.peak\" ]; then\n"
        "        say main_peak_memory_bytes \"$(cat \"/sys/fs/cgroup$u/memory.peak\")\"\n"
        "        say memory_source cgroup\n"
        "    fi\n"
        "    if [ -n \"$c\" ] && [ -r \"/sys/fs/cgroup/cpuacct$c/cpuacct.usage_user\" ]; then\n"
        "        say main_cpu_user_us $(($(cat \"/sys/fs/cgroup/cpuacct$c/cpuacct.usage_user\") / 1000))\n"
        "        say main_cpu_system_us $(($(cat \"/sys/fs/cgroup/cpuacct$c/cpuacct.usage_sys\") / 1000))\n"
        "        say cpu_source cgroup\n"
        "    elif [ -n \"$u\" ] && [ -r \"/sys/fs/cgroup$u/cpu.stat\" ]; then\n"
        "        say main_cpu_user_us \"$(awk '$1 == \"user_usec\" { print $2 }' \"/sys/fs/cgroup$u/cpu.stat\")\"\n"
        "        say main_cpu_system_us \"$(awk '$1 == \"system_usec\" { print $2 }' \"/sys/fs/cgroup$u/cpu.stat\")\"\n"
        "        say cpu_source cgroup\n"
        "    else\n"
        "        set -- $(cputimes)\n"
        "        say main_cpu_user_us $(($1 - t0u)); say main_cpu_system_us $(($2 - t0s)); say cpu_source times\n"
        "    fi\n"
        "}\n"
        /* run PREFIX LIMIT_S KILL_S CMD...: CMD in the background (so
         * that a SIGTERM of scancel reaches this shell, which passes it
         * on and carries on), under timeout when LIMIT_S is not 0; sets
         * rc, and says PREFIX_started_us, _finished_us, _exit, _timed_out */
        "run() {\n"
        "    p=$1 lim=$2 k=$3; shift 3\n"
        "    s=$(now); say \"${p}_started_us\" \"$s\"\n"
        "    if [ \"$lim\" != 0 ]; then timeout -s TERM -k \"$k\" \"$lim\" \"$@\" < /dev/null &\n"
        "    else \"$@\" < /dev/null & fi\n"
        "    pid=$!\n"
        "    trap 'kill -TERM $pid 2>/dev/null; cancelled=1' TERM INT\n"
        "    wait $pid; rc=$?\n"
        "    while kill -0 $pid 2>/dev/null; do wait $pid; rc=$?; done\n"
        "    trap - TERM INT\n"
        "    e=$(now); say \"${p}_finished_us\" \"$e\"; say \"${p}_exit\" \"$rc\"\n"
        "    if [ \"$lim\" != 0 ] && { [ $rc = 124 ] || [ $rc = 137 ]; } && [ $((e - s)) -ge $((lim * 1000000)) ]; then\n"
        "        say \"${p}_timed_out\" 1\n"
        "    fi\n"
        "}\n";

/* the seconds of a limit, rounded up (timeout takes fractions too, but a
 * whole number reads the same in every timeout) */
static uint64_t limit_s(uint64_t usec) {
        return ceil_div(usec, USEC_PER_SEC);
}

int sbatch_script(const Task *t, const SbatchOptions *o, char **ret, char **ret_why) {
        _cleanup_(strv_freep) char **opts = NULL;
        Buf b = {};
        char namebuf[64];
        uint64_t kill_s = limit_s(o->stop_timeout_usec ? o->stop_timeout_usec : 10 * USEC_PER_SEC);
        int r;

        if (!t->argv || !t->argv[0])
                return -EINVAL;
        for (char **e = t->env; e && *e; e++)
                if (!env_name_valid(*e)) {
                        (void) asprintf(ret_why, "an environment entry that sh cannot set: %s", *e);
                        return -EINVAL;
                }
        r = sbatch_options(t, o, &opts, ret_why);
        if (r < 0)
                return r;

        puts_(&b, "#!/bin/sh\n");
        for (char **l = opts; *l; l++)
                printf_(&b, "#SBATCH %s\n", *l);
        printf_(&b, "# benchrunner task %" PRId64 ", written by benchrunner %s.  It runs the command,\n"
                    "# then the cleanup command, each under its own time limit in seconds, and\n"
                    "# appends what it saw to %s/record (docs/slurm.md).\n",
                t->id, PACKAGE_VERSION, o->dir);
        puts_(&b, "d=");
        quote(&b, o->dir);
        puts_(&b, "\nrec=\"$d/record\"\ncancelled=0\n");
        puts_(&b, script_functions);
        printf_(&b, "say version %d\nsay task %" PRId64 "\n", SBATCH_RECORD_VERSION, t->id);
        puts_(&b, "say job_id \"${SLURM_JOB_ID:-}\"\nsay node \"${SLURMD_NODENAME:-$(hostname)}\"\n"
                  "[ -z \"${SLURM_CLUSTER_NAME:-}\" ] || say cluster \"$SLURM_CLUSTER_NAME\"\n");
        /* the task's variables, then ours (as the local backend sets them) */
        for (char **e = t->env; e && *e; e++) {
                const char *eq = strchr(*e, '=');
                printf_(&b, "export %.*s=", (int) (eq - *e), *e);
                quote(&b, eq + 1);
                puts_(&b, "\n");
        }
        printf_(&b, "export BENCHRUNNER_TASK=%" PRId64 "\n", t->id);
        puts_(&b, "export BENCHRUNNER_NAME=");
        quote(&b, task_display_name(t, namebuf, sizeof namebuf));
        printf_(&b, "\nexport BENCHRUNNER_THREADS=%u\n", t->threads);
        puts_(&b, "export BENCHRUNNER_SUBMIT_DIR=");
        quote(&b, t->submit_dir ? t->submit_dir : "/");
        puts_(&b, "\nexport BENCHRUNNER_CPUS=\"$(awk '$1 == \"Cpus_allowed_list:\" { print $2 }' /proc/self/status)\"\n"
                  "say cpus \"$BENCHRUNNER_CPUS\"\n"
                  /* a fresh directory, in the job's /tmp (private where
                   * the cluster has job_container/tmpfs) */
                  "w=$(mktemp -d \"${TMPDIR:-/tmp}/benchrunner-task.XXXXXX\") || { say main_failed mktemp; exit 1; }\n"
                  "export BENCHRUNNER_WORKDIR=\"$w\"\n");
        if (t->in_submit_dir) {
                puts_(&b, "cd ");
                quote(&b, t->submit_dir);
        } else
                puts_(&b, "cd \"$w\"");
        puts_(&b, " || { say main_failed chdir; rm -rf \"$w\"; exit 1; }\n"
                  "set -- $(cputimes); t0u=$1 t0s=$2\n");
        printf_(&b, "run main %" PRIu64 " %" PRIu64 " ", limit_s(t->time_limit_usec), kill_s);
        quote_argv(&b, t->argv);
        puts_(&b, "\nmrc=$rc\nfigures\n");
        if (t->cleanup_argv) {
                /* after any outcome, with the main command's as
                 * BENCHRUNNER_STATUS (as the local backend words it) */
                puts_(&b, "if [ -s \"$rec\" ] && grep -q '^main_timed_out 1$' \"$rec\"; then st=time-limit\n"
                          "elif [ $mrc -gt 128 ]; then st=\"signaled $(kill -l $((mrc - 128)))\"\n"
                          "else st=\"exited $mrc\"; fi\n"
                          "export BENCHRUNNER_CLEANUP=1 BENCHRUNNER_STATUS=\"$st\"\n");
                printf_(&b, "run cleanup %" PRIu64 " %" PRIu64 " ", limit_s(t->cleanup_time_limit_usec), kill_s);
                quote_argv(&b, t->cleanup_argv);
                puts_(&b, " >> \"$d/cleanup-stdout\" 2>> \"$d/cleanup-stderr\"\n");
        }
        puts_(&b, "cd / && rm -rf \"$w\"\n"
                  "say end 1\n"
                  "exit $((mrc > 255 ? 255 : mrc))\n");
        if (b.oom) {
                free(b.p);
                return -ENOMEM;
        }
        *ret = b.p;
        return 0;
}

/* ---- reading ---- */

static int parse_i64(const char *s, int64_t min, int64_t max, int64_t *ret) {
        char *end;
        long long v;

        if (!*s || (*s != '-' && (*s < '0' || *s > '9')))
                return -EBADMSG;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno != 0 || *end || v < min || v > max)
                return -EBADMSG;
        *ret = v;
        return 0;
}

static int set_text(char **field, const char *value) {
        char *c = strdup(value);

        if (!c)
                return -ENOMEM;
        free(*field);
        *field = c;
        return 0;
}

/* the shell's status: > 128 a signal's number + 128, else an exit code */
static void set_status(TaskResult *r, int64_t rc) {
        r->has_exit_code = r->has_signal = false;
        if (rc > 128 && rc < 128 + 65) {
                r->reason = TASK_REASON_SIGNALED;
                r->has_signal = true;
                r->signal = (int) (rc - 128);
        } else {
                r->reason = TASK_REASON_EXITED;
                r->has_exit_code = true;
                r->exit_code = (int) rc;
        }
}

static int record_line(SbatchRecord *rec, const char *key, const char *value) {
        static const struct {
                const char *key;
                size_t offset;
                int which;   /* 0: main, 1: cleanup */
        } times[] = {
                { "main_started_us", offsetof(TaskResult, started_usec), 0 },
                { "main_finished_us", offsetof(TaskResult, finished_usec), 0 },
                { "main_cpu_user_us", offsetof(TaskResult, cpu_user_usec), 0 },
                { "main_cpu_system_us", offsetof(TaskResult, cpu_system_usec), 0 },
                { "main_peak_memory_bytes", offsetof(TaskResult, peak_memory_bytes), 0 },
                { "cleanup_started_us", offsetof(TaskResult, started_usec), 1 },
                { "cleanup_finished_us", offsetof(TaskResult, finished_usec), 1 },
        };
        int64_t v;
        int r;

        if (streq(key, "job_id"))
                return *value ? set_text(&rec->job_id, value) : 0;
        if (streq(key, "node"))
                return *value ? set_text(&rec->node, value) : 0;
        if (streq(key, "cluster"))
                return *value ? set_text(&rec->cluster, value) : 0;
        if (streq(key, "cpu_source"))
                return set_text(&rec->cpu_source, value);
        if (streq(key, "memory_source"))
                return set_text(&rec->memory_source, value);
        if (streq(key, "end")) {
                rec->complete = true;
                return 0;
        }
        if (streq(key, "cpus"))
                return *value ? set_text(&rec->cpus, value) : 0;
        if (streq(key, "main_failed"))
                return 0;
        if (streq(key, "version"))
                return parse_i64(value, 1, INT32_MAX, &v) < 0 ? -EBADMSG : (rec->version = (int) v, 0);
        if (streq(key, "task"))
                return parse_i64(value, 1, INT64_MAX, &rec->task);
        if (streq(key, "main_exit") || streq(key, "cleanup_exit")) {
                TaskResult *res = key[0] == 'm' ? &rec->main : &rec->cleanup;
                bool timed = res->reason == TASK_REASON_TIME_LIMIT;

                r = parse_i64(value, 0, 255, &v);
                if (r < 0)
                        return r;
                set_status(res, v);
                if (timed)
                        res->reason = TASK_REASON_TIME_LIMIT;
                *(key[0] == 'm' ? &rec->main_ended : &rec->cleanup_ended) = true;
                return 0;
        }
        if (streq(key, "main_timed_out") || streq(key, "cleanup_timed_out")) {
                (key[0] == 'm' ? &rec->main : &rec->cleanup)->reason = TASK_REASON_TIME_LIMIT;
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(times); i++)
                if (streq(key, times[i].key)) {
                        TaskResult *res = times[i].which ? &rec->cleanup : &rec->main;

                        r = parse_i64(value, 0, INT64_MAX, &v);
                        if (r < 0)
                                return r;
                        *(uint64_t *) ((char *) res + times[i].offset) = (uint64_t) v;
                        if (strstr(key, "_cpu_"))
                                res->has_cpu = true;
                        else if (strstr(key, "peak"))
                                res->has_peak_memory = true;
                        else if (strstr(key, "started"))
                                *(times[i].which ? &rec->cleanup_started : &rec->main_started) = true;
                        return 0;
                }
        return 0;   /* a newer script's */
}

int sbatch_record_parse(const char *text, size_t len, SbatchRecord *ret) {
        SbatchRecord rec = {};
        int r = 0;

        if (len > SBATCH_RECORD_MAX || memchr(text, 0, len))
                return -EBADMSG;
        for (size_t i = 0; i < len && r >= 0;) {
                const char *nl = memchr(text + i, '\n', len - i);
                size_t n = nl ? (size_t) (nl - (text + i)) : len - i;
                _cleanup_(freep) char *line = strndup(text + i, n);
                char *sp;

                i += n + 1;
                if (!line) {
                        r = -ENOMEM;
                        break;
                }
                if (n == 0)
                        continue;
                sp = strchr(line, ' ');
                if (!sp || sp == line) {
                        r = -EBADMSG;
                        break;
                }
                *sp = 0;
                r = record_line(&rec, line, sp + 1);
        }
        if (r >= 0 && rec.version == 0)
                r = -EBADMSG;   /* not a record */
        if (r < 0) {
                sbatch_record_done(&rec);
                return r;
        }
        /* wall time from the record's own clock readings */
        for (int k = 0; k < 2; k++) {
                TaskResult *res = k ? &rec.cleanup : &rec.main;
                if (res->finished_usec >= res->started_usec && res->started_usec > 0)
                        res->wall_usec = res->finished_usec - res->started_usec;
        }
        *ret = rec;
        return 0;
}

void sbatch_record_done(SbatchRecord *r) {
        free(r->job_id);
        free(r->node);
        free(r->cluster);
        free(r->cpus);
        free(r->cpu_source);
        free(r->memory_source);
        *r = (SbatchRecord) {};
}
