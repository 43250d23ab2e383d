/* br-run.c: submits a task (or a batch of them) to benchrunnerd, and with
 * --wait follows it to its end and exits with its status. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <popt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "client.h"
#include "protocol.h"
#include "sbatch.h"
#include "task.h"
#include "cli.h"
#include "util.h"

static int arg_threads = 1;
static char *arg_memory;
static char *arg_time_limit;
static int arg_group;
static int arg_priority;
static char *arg_name;
static char *arg_cleanup;
static char *arg_cleanup_time_limit;
static int arg_wait;
static int arg_json;
static int arg_whole_cores;
static int arg_requeue;
static int arg_in_submit_dir;
static int arg_repeat = 1;
static char *arg_series;
static int arg_interleave;
static int arg_hold;
static char *arg_retry_oom;
static char *arg_after;
static char *arg_after_ok;
static char *arg_batch;
static int arg_group_offset;
static int arg_exit_code;
static char *arg_json_log;
static char *arg_emit_sbatch;
static char *arg_partition;
static char *arg_socket;
static int arg_version;
static char **arg_env;
static size_t n_env;
/* what check() read, for run() */
static Task **arg_tasks;
static size_t arg_n_tasks;
static FILE *json_log;

enum { OPT_ENV = 1 };

static const struct poptOption options[] = {
        { "threads", 'j', POPT_ARG_INT, &arg_threads, 0, N_("CPU threads of the task (default: 1)"), N_("N") },
        { "memory", 'm', POPT_ARG_STRING, &arg_memory, 0,
          N_("memory limit, as 512M or 2G (default: the task's share of benchrunner's memory)"), N_("SIZE") },
        { "time-limit", 't', POPT_ARG_STRING, &arg_time_limit, 0,
          N_("wall-time limit, as 90, 90s, 15m or 2h (default: none)"), N_("DURATION") },
        { "group", 'g', POPT_ARG_INT, &arg_group, 0, N_("priority group: higher groups run first (default: 0)"),
          N_("N") },
        { "priority", 'p', POPT_ARG_INT, &arg_priority, 0,
          N_("priority within the group: higher runs first (default: 0)"), N_("N") },
        { "name", 'n', POPT_ARG_STRING, &arg_name, 0, N_("name of the task"), N_("NAME") },
        { "cleanup", 'c', POPT_ARG_STRING, &arg_cleanup, 0,
          N_("command run after the task however it ended, in its directory (split into words like a "
             "shell would, but no expansion)"),
          N_("COMMAND") },
        { "cleanup-time-limit", 0, POPT_ARG_STRING, &arg_cleanup_time_limit, 0,
          N_("wall-time limit of the cleanup command (default: the daemon's)"), N_("DURATION") },
        { "env", 'e', POPT_ARG_STRING, NULL, OPT_ENV,
          N_("set VAR in the task's environment, to VALUE or to its value here (repeatable)"),
          N_("VAR[=VALUE]") },
        { "repeat", 'r', POPT_ARG_INT, &arg_repeat, 0,
          N_("submit N runs of the task (of each batch line) as one series, for br-summary"), N_("N") },
        { "series", 0, POPT_ARG_STRING, &arg_series, 0,
          N_("the series' label (default: the task's name, else a fresh one)"), N_("LABEL") },
        { "interleave", 0, POPT_ARG_NONE, &arg_interleave, 0,
          N_("with --repeat and --batch: one run of each line, then the next round, so that drift shows as "
             "variance rather than as a difference between lines"),
          NULL },
        { "hold", 0, POPT_ARG_NONE, &arg_hold, 0,
          N_("submit the task held: it does not start until br-release releases it; for batch lines too"), NULL },
        { "retry-oom", 0, POPT_ARG_STRING, &arg_retry_oom, 0,
          N_("if the task runs out of memory, queue it again with the next of these memory sizes, as 2G,4G,8G; "
             "for batch lines too"),
          N_("SIZE[,SIZE...]") },
        { "after", 0, POPT_ARG_STRING, &arg_after, 0,
          N_("start the task only after these tasks finished; for batch lines too"), N_("ID[,ID...]") },
        { "after-ok", 0, POPT_ARG_STRING, &arg_after_ok, 0,
          N_("as --after, but only if they all exited 0: else the task ends as dependency-failed without "
             "running"),
          N_("ID[,ID...]") },
        { "requeue", 0, POPT_ARG_NONE, &arg_requeue, 0,
          N_("if a reboot interrupts the task, queue it again as a new attempt"), NULL },
        { "whole-cores", 0, POPT_ARG_NONE, &arg_whole_cores, 0,
          N_("reserve whole cores but run one thread per core"), NULL },
        { "in-submit-dir", 0, POPT_ARG_NONE, &arg_in_submit_dir, 0,
          N_("run the task in this directory instead of a fresh one (which it still gets, as "
             "$BENCHRUNNER_WORKDIR); for batch lines too"),
          NULL },
        { "wait", 'w', POPT_ARG_NONE, &arg_wait, 0, N_("follow the task to its end and exit with its status"), NULL },
        { "json", 0, POPT_ARG_NONE, &arg_json, 0, N_("print the daemon's answers and events as JSON lines"), NULL },
        { "batch", 'b', POPT_ARG_STRING, &arg_batch, 0,
          N_("submit the task definitions in FILE, - for stdin (JSON lines, see BATCH FORMAT in br-run(1))"), N_("FILE") },
        { "priority-group-offset", 'P', POPT_ARG_INT, &arg_group_offset, 0,
          N_("add N to the priority group of every task (default: 0)"), N_("N") },
        { "exit-code", 'x', POPT_ARG_NONE, &arg_exit_code, 0,
          N_("wait for every task; exit 1 if any of them did not exit 0"), NULL },
        { "json-log", 0, POPT_ARG_STRING, &arg_json_log, 0,
          N_("wait for every task, appending each of its events to FILE as a JSON line"), N_("FILE") },
        { "emit-sbatch", 0, POPT_ARG_STRING, &arg_emit_sbatch, 0,
          N_("submit nothing: write a Slurm batch script for each task into DIR (a new directory, at a path the "
             "cluster's nodes see) and DIR/submit.sh that submits them; br-import reads their results back"),
          N_("DIR") },
        { "partition", 0, POPT_ARG_STRING, &arg_partition, 0,
          N_("with --emit-sbatch: the Slurm partition of the jobs (default: the cluster's)"), N_("PARTITION") },
        { "socket", 0, POPT_ARG_STRING, &arg_socket, 0, N_("the daemon's socket"), N_("PATH") },
        { "version", 'V', POPT_ARG_NONE, &arg_version, 0, N_("show the version and exit"), NULL },
        POPT_AUTOHELP POPT_TABLEEND
};

static int add_env(const char *s) {
        const char *eq = strchr(s, '='), *val;

        /* the daemon refuses them too; here it is a usage error */
        if (strncmp(s, PROTO_ENV_RESERVED_PREFIX, strlen(PROTO_ENV_RESERVED_PREFIX)) == 0)
                return cli_error(_("--env %.*s: variables starting with %s are set by benchrunner, not by --env"),
                                 eq ? (int) (eq - s) : (int) strlen(s), s, PROTO_ENV_RESERVED_PREFIX);
        if (eq)
                return strv_push_printf(&arg_env, &n_env, "%s", s);
        val = getenv(s);
        if (!val)
                return cli_error(_("--env %s: not set here; give %s=VALUE"), s, s);
        return strv_push_printf(&arg_env, &n_env, "%s=%s", s, val);
}

static int resolve_argv0(char **argv, const char *what) {
        char *p;
        int r = client_resolve_command(argv[0], &p);
        if (r < 0)
                return cli_error(_("%s: %s: %s"), what, argv[0],
                                 r == -ENOENT ? _("command not found") : strerror(-r));
        free(argv[0]);
        argv[0] = p;
        return 0;
}

/* The group a task gets with --priority-group-offset; false when it leaves
 * the range. */
static bool offset_group(int group, int *ret) {
        int64_t g = (int64_t) group + arg_group_offset;

        if (g < TASK_PRIORITY_MIN || g > TASK_PRIORITY_MAX)
                return false;
        *ret = (int) g;
        return true;
}

static bool env_has(char * const *env, const char *entry) {
        size_t k = strcspn(entry, "=");

        for (; env && *env; env++)
                if (strncmp(*env, entry, k) == 0 && (*env)[k] == '=')
                        return true;
        return false;
}

/* The -e variables a batch line does not set itself: its own win. */
static int merge_env(Task *t) {
        size_t n = strv_length(t->env);
        int r;

        for (size_t i = 0; i < n_env; i++) {
                if (env_has(t->env, arg_env[i]))
                        continue;
                r = strv_push_printf(&t->env, &n, "%s", arg_env[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* --retry-oom, --after and --after-ok, parsed once in check(). */
static uint64_t *retry_oom;
static size_t n_retry_oom;
static int64_t *after;
static size_t n_after;

static int parse_lists(void) {
        int r;

        if (arg_after && arg_after_ok)
                return cli_error(_("give either --after or --after-ok, not both"));
        if (arg_retry_oom) {
                r = client_parse_sizes("--retry-oom", arg_retry_oom, TASK_RETRY_OOM_MAX, &retry_oom, &n_retry_oom);
                if (r < 0)
                        return r;
        }
        if (arg_after || arg_after_ok) {
                r = client_parse_id_list(arg_after ? "--after" : "--after-ok", arg_after ?: arg_after_ok,
                                         TASK_AFTER_MAX, &after, &n_after);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The command line's --retry-oom, --after and --after-ok for a task that
 * gives none of its own. */
static int apply_lists(Task *t) {
        if (n_retry_oom > 0 && t->n_retry_oom == 0) {
                t->retry_oom = reallocarray(NULL, n_retry_oom, sizeof(uint64_t));
                if (!t->retry_oom)
                        return -ENOMEM;
                memcpy(t->retry_oom, retry_oom, n_retry_oom * sizeof(uint64_t));
                t->n_retry_oom = n_retry_oom;
        }
        if (n_after > 0 && t->n_after == 0) {
                t->after = reallocarray(NULL, n_after, sizeof(int64_t));
                if (!t->after)
                        return -ENOMEM;
                memcpy(t->after, after, n_after * sizeof(int64_t));
                t->n_after = n_after;
                t->after_ok = arg_after_ok != NULL;
        }
        return 0;
}

/* The task from the command line. */
static int task_from_args(const char **rest, Task **ret) {
        _cleanup_(task_freep) Task *t = task_new();
        int r;

        if (!t)
                return -ENOMEM;
        if (!rest || !rest[0])
                return cli_error(_("no command given; see br-run --help"));
        if (!rest[0][0])
                return cli_error(_("the command is an empty string"));
        if (arg_threads < 1 || arg_threads > TASK_THREADS_MAX)
                return cli_error(_("--threads must be between 1 and %d"), TASK_THREADS_MAX);
        t->threads = (unsigned) arg_threads;
        r = client_set_limits(t, arg_memory, arg_time_limit, arg_cleanup_time_limit);
        if (r < 0)
                return r;
        if (!offset_group(arg_group, &t->group))
                return cli_error(_("--group %d with --priority-group-offset %d is outside %d to %d"), arg_group,
                                 arg_group_offset, TASK_PRIORITY_MIN, TASK_PRIORITY_MAX);
        t->priority = arg_priority;
        t->whole_cores = arg_whole_cores;
        t->requeue = arg_requeue;
        t->in_submit_dir = arg_in_submit_dir;
        t->held = arg_hold;
        r = apply_lists(t);
        if (r < 0)
                return r;
        if (t->n_retry_oom > 0 && t->memory_bytes > 0 && t->retry_oom[0] <= t->memory_bytes)
                return cli_error(_("--retry-oom: the first size must be more than --memory"));
        for (size_t i = 1; i < t->n_retry_oom; i++)
                if (t->retry_oom[i] <= t->retry_oom[i - 1])
                        return cli_error(_("--retry-oom: each size must be more than the one before"));
        if (arg_name && !(t->name = strdup(arg_name)))
                return -ENOMEM;
        r = strv_copy(rest, &t->argv);
        if (r < 0)
                return r;
        r = resolve_argv0(t->argv, _("command"));
        if (r < 0)
                return r;
        if (arg_cleanup) {
                const char **cargv = NULL;
                int cargc;
                r = poptParseArgvString(arg_cleanup, &cargc, &cargv);
                if (r < 0 || cargc < 1) {
                        free(cargv);
                        return cli_error(_("--cleanup: cannot split into words: %s"), arg_cleanup);
                }
                r = strv_copy(cargv, &t->cleanup_argv);
                free(cargv);
                if (r < 0)
                        return r;
                r = resolve_argv0(t->cleanup_argv, _("cleanup command"));
                if (r < 0)
                        return r;
        }
        t->env = TAKE_PTR(arg_env);
        t->submit_dir = getcwd(NULL, 0);
        if (!t->submit_dir)
                return cli_error(_("cannot tell the current directory: %s"), strerror(errno));
        *ret = TAKE_PTR(t);
        return 0;
}

static bool under_tmp(const char *path) {
        return path && strncmp(path, "/tmp", 4) == 0 && (path[4] == '/' || path[4] == 0);
}

/* Tasks get a private /tmp: what lies under the caller's /tmp is not there
 * for them.  Said once per run, before anything is submitted. */
static void warn_private_tmp(Task * const *tasks, size_t n) {
        for (size_t i = 0; i < n; i++) {
                const Task *t = tasks[i];
                const char *what = NULL;

                if (under_tmp(t->argv[0]))
                        what = t->argv[0];
                else if (t->cleanup_argv && under_tmp(t->cleanup_argv[0]))
                        what = t->cleanup_argv[0];
                else if (under_tmp(t->submit_dir))
                        what = t->submit_dir;
                if (what) {
                        cli_info(_("warning: tasks get a private /tmp, so %s is not visible to them; use a "
                                   "directory outside /tmp"), what);
                        return;
                }
        }
}

/* An argument that names a file or directory here by a relative path:
 * the task runs in a fresh directory, where it names nothing (or another
 * thing).  Options (-x) and absolute paths are not; "-o=out" is not looked
 * into. */
static bool names_file_here(const char *dir, const char *arg) {
        _cleanup_(freep) char *p = NULL;
        struct stat st;

        if (!arg[0] || arg[0] == '/' || arg[0] == '-' || !dir)
                return false;
        if (asprintf(&p, "%s/%s", dir, arg) < 0)
                return false;
        return stat(p, &st) == 0;
}

/* Said once per run, before anything is submitted, for the first task
 * that would miss its files: the seed's fresh directory stays the default,
 * so a script that worked keeps working, and one that would fail is told
 * why before it runs. */
static void warn_relative_paths(Task * const *tasks, size_t n) {
        for (size_t i = 0; i < n; i++) {
                const Task *t = tasks[i];

                if (t->in_submit_dir)
                        continue;
                for (size_t k = 1; t->argv[k]; k++)
                        if (names_file_here(t->submit_dir, t->argv[k])) {
                                cli_info(_("warning: %s is relative to %s, but the task runs in a fresh directory "
                                           "of its own where it is not; give its absolute path, or "
                                           "--in-submit-dir to run the task here"),
                                         t->argv[k], t->submit_dir);
                                return;
                        }
        }
}

/* The last command a batch line named and what it resolved to: batch
 * files name the same few commands thousands of times, and each
 * resolution costs a stat() and an access() per PATH entry tried. */
static struct {
        char *name, *path;
} resolved;

/* argv[0] of a batch line, resolved as a command line's is; named in the
 * message as "FILE:LINE: argv[0]". */
static int resolve_line_argv0(char **argv, const char *field, const char *path, size_t lineno) {
        char *p;
        int r;

        if (!argv || !argv[0] || !argv[0][0])
                return 0;   /* proto_spec_validate() says what is wrong */
        if (resolved.name && strcmp(resolved.name, argv[0]) == 0) {
                p = strdup(resolved.path);
                if (!p)
                        return -ENOMEM;
                free(argv[0]);
                argv[0] = p;
                return 0;
        }
        r = client_resolve_command(argv[0], &p);
        if (r < 0)
                return cli_error(_("%s:%zu: %s[0]: %s: %s"), path, lineno, field, argv[0],
                                 r == -ENOENT ? _("command not found") : strerror(-r));
        free(resolved.name);
        free(resolved.path);
        resolved.name = TAKE_PTR(argv[0]);
        resolved.path = strdup(p);
        if (!resolved.path) {
                free(resolved.name);
                resolved.name = NULL;
                argv[0] = p;
                return 0;
        }
        argv[0] = p;
        return 0;
}

/* One line of a batch file, the protocol's SPEC: read, completed as a
 * command line is (cwd, the commands resolved against PATH) and checked as
 * the daemon will check it, so that a typo is caught here, with its line
 * number, before any task is queued. */
static int task_from_line(const char *line, const char *path, size_t lineno, const char *cwd, Task **ret) {
        _cleanup_(task_freep) Task *t = NULL;
        _cleanup_(freep) char *err = NULL;
        int r;

        r = batch_line_parse(line, cwd, &t, &err);
        if (r == -EBADMSG)
                return cli_error(_("%s:%zu: not a JSON object"), path, lineno);
        if (r == -EINVAL)
                return cli_error("%s:%zu: %s", path, lineno, err ? err : _("bad task definition"));
        if (r < 0)
                return r;
        r = resolve_line_argv0(t->argv, "argv", path, lineno);
        if (r >= 0)
                r = resolve_line_argv0(t->cleanup_argv, "cleanup", path, lineno);
        if (r < 0)
                return r;
        /* the command line's options for every line */
        if (!offset_group(t->group, &t->group))
                return cli_error(_("%s:%zu: group %d with --priority-group-offset %d is outside %d to %d"), path,
                                 lineno, t->group, arg_group_offset, TASK_PRIORITY_MIN, TASK_PRIORITY_MAX);
        r = merge_env(t);
        if (r < 0)
                return r;
        if (arg_in_submit_dir)
                t->in_submit_dir = true;
        if (arg_hold)
                t->held = true;
        r = apply_lists(t);
        if (r < 0)
                return r;
        r = batch_task_check(t, &err);
        if (r == -EINVAL)
                return cli_error("%s:%zu: %s", path, lineno, err ? err : _("bad task definition"));
        if (r == -E2BIG)
                return cli_error(_("%s:%zu: the task does not fit in a request (at most %u bytes)"), path, lineno,
                                 PROTO_LINE_MAX);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(t);
        return 0;
}

static int tasks_append(Task ***tasks, size_t *n, size_t *cap, Task *t) {
        if (*n == *cap) {
                size_t c = *cap ? *cap * 2 : 64;
                Task **p = realloc(*tasks, c * sizeof(Task *));
                if (!p) {
                        task_free(t);
                        return -ENOMEM;
                }
                *tasks = p;
                *cap = c;
        }
        (*tasks)[(*n)++] = t;
        return 0;
}

/* Task definitions, one JSON object per line; empty lines and # comments
 * are skipped. */
static int tasks_from_batch(const char *path, Task ***ret, size_t *ret_n) {
        FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
        _cleanup_(freep) char *line = NULL, *cwd = getcwd(NULL, 0);
        size_t alloc = 0, lineno = 0, n = 0, cap = 0;
        Task **tasks = NULL;
        ssize_t len;
        int r = 0;

        if (!f)
                return cli_error(_("--batch: cannot open %s: %s"), path, strerror(errno));
        while (r >= 0 && (len = getline(&line, &alloc, f)) >= 0) {
                Task *t = NULL;
                size_t l = (size_t) len;

                lineno++;
                if (!batch_line_strip(line, &l))
                        continue;
                r = task_from_line(line, path, lineno, cwd, &t);
                if (r >= 0)
                        r = tasks_append(&tasks, &n, &cap, t);
        }
        if (r >= 0 && ferror(f))
                r = cli_error(_("--batch: cannot read %s: %s"), path, strerror(errno));
        if (f != stdin)
                (void) fclose(f);
        if (r >= 0 && n == 0)
                r = cli_error(_("--batch: %s holds no task"), path);
        if (r < 0) {
                client_tasks_free(tasks, n);
                return r;
        }
        *ret = tasks;
        *ret_n = n;
        return 0;
}

static void print_json_line(const char *prefix, struct json_object *o) {
        (void) prefix;
        if (client_print_json(o) < 0)
                (void) cli_error(_("out of memory"));
}

/* What br-run -w knows of the tasks it follows.  Events of tasks submitted
 * in an earlier request of a batch arrive while later requests are still
 * being answered: they are taken as they come, wherever they come. */
typedef struct Follow {
        int64_t *ids;           /* ids[0..n_known), in submit order */
        bool *finished;
        bool *started;
        size_t n_started;
        bool progress;          /* draw the progress line (a batch, -w, stderr a terminal) */
        uint64_t first_start_usec, last_draw_usec;
        size_t n, n_known;
        size_t left;            /* tasks not finished yet */
        size_t failed;          /* finished ones that did not exit 0 */
        bool sorted;            /* ids[0..n_known) ascending */
        Task *last;             /* the task that finished last */
} Follow;

static void follow_done(Follow *f) {
        free(f->ids);
        free(f->finished);
        free(f->started);
        task_free(f->last);
}

static void follow_add_ids(Follow *f, const int64_t *ids, size_t n) {
        for (size_t i = 0; i < n && f->n_known < f->n; i++) {
                if (f->n_known > 0 && ids[i] <= f->ids[f->n_known - 1])
                        f->sorted = false;
                f->ids[f->n_known++] = ids[i];
        }
}

/* The index of id among the known ids, or -1.  The daemon's ids only grow
 * (AUTOINCREMENT), so this is a binary search unless they came otherwise. */
static ssize_t follow_index(const Follow *f, int64_t id) {
        if (f->sorted) {
                size_t lo = 0, hi = f->n_known;
                while (lo < hi) {
                        size_t mid = lo + (hi - lo) / 2;
                        if (f->ids[mid] == id)
                                return (ssize_t) mid;
                        if (f->ids[mid] < id)
                                lo = mid + 1;
                        else
                                hi = mid;
                }
                return -1;
        }
        for (size_t i = 0; i < f->n_known; i++)
                if (f->ids[i] == id)
                        return (ssize_t) i;
        return -1;
}

/* {"event": "started", "task": TASK}, as br-run --json prints it. */
static struct json_object *event_to_json(const ProtoMessage *m) {
        _cleanup_(proto_json_unrefp) struct json_object *ev = json_object_new_object();
        struct json_object *task = proto_task_to_json(m->task, false), *name;

        if (!ev || !task)
                goto fail;
        name = json_object_new_string(proto_event_to_string(m->event));
        if (!name || json_object_object_add(ev, "event", name) < 0) {
                json_object_put(name);
                goto fail;
        }
        if (json_object_object_add(ev, "task", task) < 0)
                goto fail;
        return TAKE_PTR(ev);
fail:
        json_object_put(task);
        return NULL;
}

/* One line per event, written out at once: a reader tailing the log sees
 * whole lines.  A failed write is said once and the log given up. */
static void log_event(struct json_object *ev) {
        const char *text = json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

        if (fprintf(json_log, "%s\n", text) < 0 || fflush(json_log) != 0) {
                (void) cli_error(_("--json-log %s: cannot write: %s"), arg_json_log, strerror(errno));
                (void) fclose(json_log);
                json_log = NULL;
        }
}

/* The progress line: what was submitted, what waits, runs and is done,
 * and when the rest should be done at the pace so far.  Drawn over itself
 * at most 10 times a second; final draws it whatever the time and ends
 * the line. */
#define PROGRESS_INTERVAL_USEC (100 * USEC_PER_MSEC)

static void progress_draw(Follow *f, bool final) {
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        size_t done = f->n - f->left, running = f->n_started > done ? f->n_started - done : 0;
        size_t queued = f->n_known > f->n_started ? f->n_known - f->n_started : 0;
        char eta[FORMAT_DURATION_MAX] = "";

        if (!f->progress || (!final && f->last_draw_usec && now - f->last_draw_usec < PROGRESS_INTERVAL_USEC))
                return;
        f->last_draw_usec = now;
        if (done > 0 && f->left > 0 && now > f->first_start_usec) {
                /* the finished tasks' mean time, over as many as run at once */
                double per_task = (double) (now - f->first_start_usec) / (double) done;
                (void) format_duration(eta, sizeof eta, (uint64_t) (per_task * (double) f->left));
        }
        fprintf(stderr, "\r\033[K");
        fprintf(stderr, _("br-run: submitted %zu/%zu, queued %zu, running %zu, done %zu/%zu"), f->n_known, f->n,
                queued, running, done, f->n);
        if (f->failed)
                fprintf(stderr, _(" (%zu failed)"), f->failed);
        if (eta[0])
                fprintf(stderr, _(", ETA %s"), eta);
        if (final)
                fputc('\n', stderr);
        fflush(stderr);
}

static void follow_event(Follow *f, ProtoMessage *m) {
        ssize_t i;

        if (!m->is_event || !m->task)
                return;
        if (arg_json || json_log) {
                _cleanup_(proto_json_unrefp) struct json_object *ev = event_to_json(m);
                if (!ev)
                        (void) cli_error(_("out of memory"));
                else {
                        if (arg_json) {
                                print_json_line(NULL, ev);
                                fflush(stdout);
                        }
                        if (json_log)
                                log_event(ev);
                }
        }
        i = follow_index(f, m->task->id);
        if (i >= 0 && !f->started[i] && m->task->main.started_usec) {
                f->started[i] = true;
                if (f->n_started++ == 0)
                        f->first_start_usec = now_usec(CLOCK_MONOTONIC);
        }
        if (m->task->state != TASK_FINISHED) {
                progress_draw(f, false);
                return;
        }
        /* Counted once: when the daemon replays the events of a task that
         * had finished by the time it was submitted, each carries the
         * finished state. */
        if (i < 0 || f->finished[i])
                return;
        if (m->task->next_attempt > 0) {
                /* the daemon queued its next attempt (and follows that one
                 * for us): the task ends when its last attempt ends */
                int64_t next = m->task->next_attempt;

                client_say_next_attempt(m->task);
                f->ids[i] = next;
                if (((size_t) i > 0 && f->ids[i - 1] >= next) ||
                    ((size_t) i + 1 < f->n_known && f->ids[i + 1] <= next))
                        f->sorted = false;
                /* its next attempt waits in the queue */
                if (f->started[i]) {
                        f->started[i] = false;
                        f->n_started--;
                }
                progress_draw(f, false);
                return;
        }
        if (!f->started[i]) {
                /* never started (cancelled in the queue): counted so, to
                 * keep running = started - done */
                f->started[i] = true;
                if (f->n_started++ == 0)
                        f->first_start_usec = now_usec(CLOCK_MONOTONIC);
        }
        f->finished[i] = true;
        f->left--;
        if (m->task->main.reason != TASK_REASON_EXITED || m->task->main.exit_code != 0)
                f->failed++;
        progress_draw(f, f->left == 0);
        task_free(f->last);
        f->last = TAKE_PTR(m->task);
        if (!arg_json && f->n == 1)
                client_say_end(f->last);
}

/* Waits for the tasks not finished yet. */
static int follow(Client *c, Follow *f) {
        while (f->left > 0) {
                _cleanup_(proto_message_freep) ProtoMessage *m = NULL;
                int r = client_receive(c, &m);
                if (r < 0) {
                        if (f->progress && f->last_draw_usec)
                                fputc('\n', stderr);
                        (void) cli_error(_("lost the daemon while waiting: %s"),
                                         r == -ECONNRESET ? _("connection closed") : strerror(-r));
                        return r;
                }
                follow_event(f, m);
        }
        return 0;
}

/* The tasks to submit, from the command line or the batch file. */
#define REPEAT_MAX 10000

/* A copy of a complete spec, through its JSON (every field the daemon
 * takes). */
static Task *spec_copy(const Task *t) {
        _cleanup_(proto_json_unrefp) struct json_object *o = proto_spec_to_json(t);
        Task *c = NULL;

        if (!o || proto_spec_from_json(o, &c, NULL) < 0)
                return NULL;
        return c;
}

/* A series label nobody else has: "series-" and 16 random hex digits. */
static char *fresh_series(void) {
        uint8_t b[8];
        char *s;

        if (getrandom(b, sizeof b, 0) != (ssize_t) sizeof b || asprintf(&s, "series-%02x%02x%02x%02x%02x%02x%02x%02x",
                                                                        b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]) < 0)
                return NULL;
        return s;
}

/* --repeat: each task arg_repeat times, each one's runs a series; with
 * --interleave round by round, else each task's runs back to back. */
static int repeat_tasks(void) {
        size_t n = arg_n_tasks, total = n * (size_t) arg_repeat, k = 0;
        Task **all;

        if (arg_repeat == 1 && !arg_series)
                return 0;
        all = calloc(total, sizeof(Task *));
        if (!all)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                Task *t = arg_tasks[i];
                if (!t->series && !(t->series = arg_series ? strdup(arg_series)
                                                          : t->name ? strdup(t->name) : fresh_series()))
                        goto oom;
        }
        for (size_t a = 0; a < (arg_interleave ? (size_t) arg_repeat : n); a++)
                for (size_t b = 0; b < (arg_interleave ? n : (size_t) arg_repeat); b++) {
                        size_t i = arg_interleave ? b : a, run = arg_interleave ? a : b;
                        all[k] = run == 0 ? arg_tasks[i] : spec_copy(arg_tasks[i]);
                        if (!all[k])
                                goto oom;
                        k++;
                }
        free(arg_tasks);
        arg_tasks = all;
        arg_n_tasks = total;
        return 0;
oom:
        /* the originals stay in arg_tasks; only the copies go */
        for (size_t j = 0; j < k; j++) {
                bool original = false;
                for (size_t i = 0; i < n; i++)
                        original = original || all[j] == arg_tasks[i];
                if (!original)
                        task_free(all[j]);
        }
        free(all);
        return -ENOMEM;
}

static int collect_tasks(const char **args) {
        Task *t = NULL;
        int r;

        if (arg_repeat < 1 || arg_repeat > REPEAT_MAX)
                return cli_error(_("--repeat must be between 1 and %d"), REPEAT_MAX);
        if (arg_interleave && (arg_repeat < 2 || !arg_batch))
                return cli_error(_("--interleave goes with --repeat N and --batch"));

        if (arg_partition && !arg_emit_sbatch)
                return cli_error(_("--partition goes with --emit-sbatch"));
        if (arg_emit_sbatch && (arg_wait || arg_exit_code || arg_json_log || arg_json))
                return cli_error(_("--emit-sbatch submits nothing: it does not go with -w, -x, --json or --json-log"));
        if (arg_emit_sbatch && !arg_emit_sbatch[0])
                return cli_error(_("--emit-sbatch: the directory is an empty string"));
        if (arg_exit_code || arg_json_log)
                arg_wait = 1;
        r = parse_lists();
        if (r < 0)
                return r;
        if (arg_json_log) {
                json_log = fopen(arg_json_log, "ae");
                if (!json_log)
                        return cli_error(_("--json-log: cannot open %s: %s"), arg_json_log, strerror(errno));
        }

        if (arg_batch) {
                if (args && args[0])
                        return cli_error(_("give either --batch or a command, not both"));
                r = tasks_from_batch(arg_batch, &arg_tasks, &arg_n_tasks);
                return r < 0 ? r : repeat_tasks();
        }
        r = task_from_args(args, &t);
        if (r < 0)
                return r;
        arg_tasks = calloc(1, sizeof(Task *));
        if (!arg_tasks) {
                task_free(t);
                return -ENOMEM;
        }
        arg_tasks[0] = t;
        arg_n_tasks = 1;
        return repeat_tasks();
}

static int emit_check_all(void);

static int check(const char **args) {
        int r = collect_tasks(args);

        return r < 0 || !arg_emit_sbatch ? r : emit_check_all();
}

static int follow_init(Follow *f, size_t n) {
        *f = (Follow) { .sorted = true, .n = n, .left = n };
        f->ids = calloc(n, sizeof(int64_t));
        f->finished = calloc(n, sizeof(bool));
        f->started = calloc(n, sizeof(bool));
        /* a batch followed on a terminal; --json's lines are for programs */
        f->progress = n > 1 && arg_wait && !arg_json && isatty(STDERR_FILENO);
        return f->ids && f->finished && f->started ? 0 : -ENOMEM;
}

/* The ids a submit reply gave (at most max of them), one per line, or as
 * one JSON line. */
static void print_ids(const ProtoMessage *m, size_t max) {
        struct json_object *o, *a;

        if (!arg_json) {
                for (size_t i = 0; i < m->n_ids && i < max; i++)
                        printf("%" PRId64 "\n", m->ids[i]);
                return;
        }
        o = json_object_new_object();
        a = json_object_new_array();
        for (size_t i = 0; i < m->n_ids; i++)
                json_object_array_add(a, json_object_new_int64(m->ids[i]));
        json_object_object_add(o, "ids", a);
        print_json_line(NULL, o);
        json_object_put(o);
}

/* The reply to the request just sent.  Events before it are taken as they
 * come: tasks of earlier requests may end meanwhile.  Says nothing of a
 * lost connection (the caller decides). */
static int receive_reply(Client *c, Follow *f, ProtoMessage **ret) {
        for (;;) {
                _cleanup_(proto_message_freep) ProtoMessage *m = NULL;
                int r = client_receive(c, &m);

                if (r < 0)
                        return r;
                follow_event(f, m);
                if (!m->is_event) {
                        *ret = TAKE_PTR(m);
                        return 0;
                }
        }
}

/* A fresh name for one submit request, so that sending it again after a
 * lost connection stores it once. */
static int new_token(char buf[static 40]) {
        uint8_t b[16];

        if (getrandom(b, sizeof b, 0) != (ssize_t) sizeof b)
                return -errno;
        strcpy(buf, "br-run-");
        for (size_t i = 0; i < sizeof b; i++)
                sprintf(buf + 7 + 2 * i, "%02x", b[i]);
        return 0;
}

/* How long br-run waits for a daemon that went away (restarting after a
 * crash: br-start's unit brings it back within a second). */
#define RECONNECT_TENTHS 300

/* Connects again, quietly, for up to RECONNECT_TENTHS. */
static int reconnect(Client *c) {
        const char *path = client_socket_path(arg_socket);
        int r = -ECONNREFUSED;

        client_close(c);
        (void) cli_info(_("lost the daemon; waiting up to %d s for it to come back"), RECONNECT_TENTHS / 10);
        for (unsigned i = 0; i < RECONNECT_TENTHS; i++) {
                struct timespec ts = { 0, 100 * 1000 * 1000 };
                if ((r = client_connect_quiet(path, c)) >= 0)
                        break;
                nanosleep(&ts, NULL);
        }
        return r;
}

/* Sends the request line and takes its reply; when the connection is lost
 * on the way, sends the same line (same token) again once the daemon is
 * back: it answers with the ids stored the first time, or stores it now.
 * Events of earlier requests cannot be followed over a new connection. */
static int send_request(Client *c, Follow *f, const char *line, size_t done, ProtoMessage **ret) {
        int r;

        for (unsigned attempt = 0;; attempt++) {
                r = client_send(c, line);
                if (r >= 0)
                        r = receive_reply(c, f, ret);
                if (r >= 0 || attempt > 0 || (r != -ECONNRESET && r != -EPIPE))
                        break;
                if (arg_wait && done > 0)
                        return cli_error_errno(r, _("lost the daemon while following tasks 1-%zu (queued, ids "
                                                    "above); follow them with br-show"), done);
                r = reconnect(c);
                if (r < 0)
                        return cli_error_errno(r, _("the daemon did not come back: tasks %zu and later were not "
                                                    "confirmed (they may be stored: see br-list)"), done + 1);
        }
        if (r < 0)
                return cli_error_errno(r, _("no answer from the daemon: %s"),
                                       r == -ECONNRESET ? _("connection closed") : strerror(-r));
        return 0;
}

/* One submit request of as many of tasks[done..n) as fit; *ret_k says how
 * many went in. */
static int submit_some(Client *c, Follow *f, Task * const *tasks, size_t n, size_t done, size_t *ret_k) {
        _cleanup_(freep) char *line = NULL;
        _cleanup_(proto_message_freep) ProtoMessage *m = NULL;
        char token[40];
        int r;

        r = new_token(token);
        if (r < 0)
                return cli_error_errno(r, _("cannot make a submit token: %s"), strerror(-r));
        r = proto_submit_format_batch(NULL, tasks + done, n - done, arg_wait, token, &line, ret_k);
        if (r < 0)
                return cli_error_errno(r, _("task %zu does not fit in a request: %s"), done + 1, strerror(-r));
        r = send_request(c, f, line, done, &m);
        if (r < 0)
                return r;
        if (!m->ok) {
                if (done > 0)
                        return cli_error_errno(EREMOTEIO, _("tasks 1-%zu were queued; task %zu and later were not: %s"),
                                               done, done + 1, m->error ? m->error : "");
                return cli_error_errno(EREMOTEIO, "%s", m->error ? m->error : _("submit refused"));
        }
        follow_add_ids(f, m->ids, m->n_ids);
        if (f->progress && f->last_draw_usec)
                fprintf(stderr, "\r\033[K");   /* the ids go where the line was */
        print_ids(m, n - done);
        fflush(stdout);
        progress_draw(f, false);
        return 0;
}

/* Thousands of tasks go in over one connection, in requests of as many as
 * fit. */
static int submit_all(Client *c, Follow *f, Task * const *tasks, size_t n) {
        size_t k;
        int r;

        for (size_t done = 0; done < n; done += k) {
                r = submit_some(c, f, tasks, n, done, &k);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- --emit-sbatch: the tasks as Slurm batch scripts (docs/slurm.md) ---- */

/* What a cluster without benchrunner cannot do for a task: said, and the
 * export refused, rather than dropped without a word. */
static int emit_check(const Task *t, size_t index) {
        const char *what = t->n_after > 0 ? "--after" : t->retry_of > 0 ? "retry_of" : t->n_retry_oom > 0 ? "--retry-oom"
                         : t->held ? "--hold" : t->requeue ? "--requeue" : NULL;

        if (what)
                return cli_error(_("--emit-sbatch: task %zu: %s needs benchrunner's daemon, which a cluster job "
                                   "does not have"), index, what);
        return 0;
}

/* text into dfd/name, a new file of mode */
static int write_at(int dfd, const char *name, const char *text, mode_t mode) {
        _cleanup_(closep) int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        size_t len = strlen(text);

        if (fd < 0)
                return -errno;
        for (size_t done = 0; done < len;) {
                ssize_t k = write(fd, text + done, len - done);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                done += (size_t) k;
        }
        if (fchmod(fd, mode) < 0)   /* past the umask: job.sh must run, the rest stay the user's */
                return -errno;
        return 0;
}

/* DIR, made now or there and empty: its descriptor. */
static int emit_dir(const char *dir) {
        _cleanup_(closep) int fd = -1;
        DIR *d;
        struct dirent *de;
        bool empty = true;

        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return cli_error_errno(errno, _("--emit-sbatch: cannot make %s: %s"), dir, strerror(errno));
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return cli_error_errno(errno, _("--emit-sbatch: cannot open %s: %s"), dir, strerror(errno));
        d = fdopendir(dup(fd));
        if (!d)
                return cli_error_errno(errno, _("--emit-sbatch: cannot read %s: %s"), dir, strerror(errno));
        while (empty && (de = readdir(d)))
                empty = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0;
        closedir(d);
        if (!empty)
                return cli_error(_("--emit-sbatch: %s is not empty: give a new directory"), dir);
        return TAKE_FD(fd);
}

/* A name for the import of this export, so that importing it twice stores
 * it once (the submit token's rule, docs/protocol.md). */
static int emit_export_id(int dfd) {
        char id[64];
        int r = new_token(id);

        if (r < 0)
                return r;
        /* "br-run-" and 32 hex digits become "br-import-" and 29 */
        memcpy(id, "br-import-", 10);
        strcat(id, "\n");
        return write_at(dfd, "export-id", id, 0600);
}

/* The order benchrunner would start them in: higher group, higher
 * priority, then as submitted. */
static Task * const *sort_tasks;
static int cmp_queue(const void *a, const void *b) {
        size_t i = *(const size_t *) a, j = *(const size_t *) b;
        const Task *x = sort_tasks[i], *y = sort_tasks[j];

        if (x->group != y->group)
                return x->group > y->group ? -1 : 1;
        if (x->priority != y->priority)
                return x->priority > y->priority ? -1 : 1;
        return i < j ? -1 : i > j;
}

static char *submit_script(const char *dir, Task * const *tasks, size_t n) {
        _cleanup_(freep) size_t *order = calloc(n, sizeof(size_t));
        _cleanup_(freep) char *list = NULL;
        char *s = NULL;

        if (!order)
                return NULL;
        for (size_t i = 0; i < n; i++)
                order[i] = i;
        sort_tasks = tasks;
        qsort(order, n, sizeof(size_t), cmp_queue);
        for (size_t i = 0; i < n; i++) {
                char *l;
                if (asprintf(&l, "%s%s%zu", list ? list : "", list ? " " : "", order[i] + 1) < 0)
                        return NULL;
                free(list);
                list = l;
        }
        /* dir went through sbatch_script(): no blanks, quotes or '%' */
        if (asprintf(&s,
                     "#!/bin/sh\n"
                     "# Submits the jobs of a br-run --emit-sbatch export in benchrunner's queue order\n"
                     "# (higher group, higher priority, then as submitted), and keeps each job's id\n"
                     "# in DIR/N/job_id.  Afterwards: br-import %s\n"
                     "set -e\n"
                     "d='%s'\n"
                     "for n in %s; do\n"
                     "    id=$(sbatch --parsable \"$d/$n/job.sh\")\n"
                     "    printf '%%s\\n' \"${id%%%%;*}\" > \"$d/$n/job_id\"\n"
                     "    echo \"task $n: job $id\"\n"
                     "done\n",
                     dir, dir, list) < 0)
                return NULL;
        return s;
}

/* tasks.ndjson's line of a task: its spec, and its number here */
static char *ndjson_line(const Task *t, size_t index) {
        _cleanup_(proto_json_unrefp) struct json_object *o = proto_spec_to_json(t);
        char *l;

        if (!o || json_object_object_add(o, "index", json_object_new_int64((int64_t) index)) < 0)
                return NULL;
        if (asprintf(&l, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                                    JSON_C_TO_STRING_NOSLASHESCAPE)) < 0)
                return NULL;
        return l;
}

/* In check(): what cannot be exported is a usage error. */
static int emit_check_all(void) {
        int r;

        if (arg_n_tasks > PROTO_SUBMIT_MAX)
                return cli_error(_("--emit-sbatch: %zu tasks, at most %d in one directory (br-import sends them "
                                   "in one request)"), arg_n_tasks, PROTO_SUBMIT_MAX);
        for (size_t i = 0; i < arg_n_tasks; i++) {
                r = emit_check(arg_tasks[i], i + 1);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int emit_sbatch(Task * const *tasks, size_t n) {
        _cleanup_(freep) char *dir = NULL, *cwd = NULL, *ndjson = NULL, *submit = NULL;
        _cleanup_(closep) int dfd = -1;
        size_t len = 0;
        int r = 0;

        /* as given, made absolute: the nodes must see the very path (a
         * shared file system), which need not resolve the same here */
        if (arg_emit_sbatch[0] == '/')
                dir = strdup(arg_emit_sbatch);
        else if ((cwd = getcwd(NULL, 0)))
                (void) asprintf(&dir, "%s/%s", cwd, arg_emit_sbatch);
        if (!dir)
                return cli_error_errno(ENOMEM, _("out of memory"));
        while (strlen(dir) > 1 && dir[strlen(dir) - 1] == '/')
                dir[strlen(dir) - 1] = 0;

        /* every script first: a task that cannot be written leaves nothing */
        char **scripts = calloc(n, sizeof(char *));
        if (!scripts)
                return cli_error_errno(ENOMEM, _("out of memory"));
        for (size_t i = 0; i < n && r >= 0; i++) {
                _cleanup_(freep) char *tdir = NULL, *why = NULL, *line = NULL;
                SbatchOptions o = { .partition = arg_partition, .stop_timeout_usec = TASK_STOP_TIMEOUT_USEC };

                tasks[i]->id = (int64_t) i + 1;
                if (asprintf(&tdir, "%s/%zu", dir, i + 1) < 0) {
                        r = -ENOMEM;
                        break;
                }
                o.dir = tdir;
                r = sbatch_script(tasks[i], &o, &scripts[i], &why);
                if (r == -EINVAL) {
                        r = cli_error(_("--emit-sbatch: task %zu: %s"), i + 1, why ? why : strerror(EINVAL));
                        break;
                }
                line = ndjson_line(tasks[i], i + 1);
                if (r < 0 || !line) {
                        r = -ENOMEM;
                        break;
                }
                char *all = realloc(ndjson, len + strlen(line) + 1);
                if (!all) {
                        r = -ENOMEM;
                        break;
                }
                ndjson = all;
                strcpy(ndjson + len, line);
                len += strlen(line);
        }
        if (r >= 0 && !(submit = submit_script(dir, tasks, n)))
                r = -ENOMEM;
        if (r == -ENOMEM)
                (void) cli_error(_("out of memory"));
        if (r >= 0)
                r = dfd = emit_dir(dir);
        for (size_t i = 0; i < n && r >= 0; i++) {
                _cleanup_(closep) int tfd = -1;
                char name[32];

                (void) snprintf(name, sizeof name, "%zu", i + 1);
                if (mkdirat(dfd, name, 0700) < 0 || (tfd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                                                                                   O_CLOEXEC)) < 0)
                        r = cli_error_errno(errno, _("--emit-sbatch: cannot make %s/%s: %s"), dir, name,
                                            strerror(errno));
                else if ((r = write_at(tfd, "job.sh", scripts[i], 0700)) < 0)
                        r = cli_error_errno(r, _("--emit-sbatch: cannot write %s/%s/job.sh: %s"), dir, name,
                                            strerror(-r));
        }
        for (size_t i = 0; i < n; i++)
                free(scripts[i]);
        free(scripts);
        if (r >= 0 && ((r = write_at(dfd, "tasks.ndjson", ndjson, 0600)) < 0 ||
                       (r = write_at(dfd, "submit.sh", submit, 0700)) < 0 || (r = emit_export_id(dfd)) < 0))
                r = cli_error_errno(r, _("--emit-sbatch: cannot write into %s: %s"), dir, strerror(-r));
        if (r < 0)
                return r;
        printf(ngettext("wrote %zu batch script to %s: submit it with sh %s/submit.sh, then run br-import %s\n",
                        "wrote %zu batch scripts to %s: submit them with sh %s/submit.sh, then run br-import %s\n",
                        n),
               n, dir, dir, dir);
        return fflush(stdout) == 0 ? 0 : cli_error_errno(EIO, _("cannot write: %s"), strerror(errno));
}

static int run(void) {
        Task **tasks = TAKE_PTR(arg_tasks);
        size_t n = arg_n_tasks;
        Client c = { .fd = -1 };
        Follow f;
        int r, status = 0;

        if (arg_emit_sbatch) {
                warn_relative_paths(tasks, n);
                r = emit_sbatch(tasks, n);
                client_tasks_free(tasks, n);
                return r;
        }
        warn_private_tmp(tasks, n);
        warn_relative_paths(tasks, n);
        r = follow_init(&f, n);
        if (r < 0)
                goto finish;
        r = client_connect(client_socket_path(arg_socket), &c);
        if (r < 0)
                goto finish;
        r = submit_all(&c, &f, tasks, n);
        if (r < 0)
                goto finish;
        if (arg_wait) {
                r = follow(&c, &f);
                if (r < 0)
                        goto finish;
                status = arg_exit_code ? (f.failed > 0) : f.last ? client_exit_status(f.last) : 0;
        }
finish:
        client_close(&c);
        if (json_log && fclose(json_log) != 0 && r >= 0)
                r = cli_error_errno(EIO, _("--json-log %s: cannot write: %s"), arg_json_log, strerror(errno));
        json_log = NULL;
        follow_done(&f);
        client_tasks_free(tasks, n);
        return r < 0 ? r : status;
}

static int on_option(int val, const char *arg) {
        return val == OPT_ENV ? add_env(arg) : 0;
}

CLI_MAIN(.name = "br-run", .options = options, .usage = N_("[OPTION...] [--] COMMAND [ARG...]"),
         /* Options end at the command: "br-run -j 2 sort -n" */
         .popt_flags = POPT_CONTEXT_POSIXMEHARDER,
         .version = &arg_version, .on_option = on_option, .check = check, .run = run)
