/* br-import.c: reads back what the batch scripts of br-run --emit-sbatch
 * left (DIR/tasks.ndjson and each DIR/N/record) and stores those runs in
 * benchrunnerd's database as finished tasks of the caller, in one import
 * request (docs/protocol.md, docs/slurm.md). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <popt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"
#include "protocol.h"
#include "sbatch.h"
#include "task.h"
#include "cli.h"
#include "util.h"

static int arg_dry_run;
static char *arg_socket;
static int arg_version;
static const char *arg_dir;

static const struct poptOption options[] = {
        { "dry-run", 'n', POPT_ARG_NONE, &arg_dry_run, 0,
          N_("say what would be imported, and import nothing"), NULL },
        { "socket", 0, POPT_ARG_STRING, &arg_socket, 0, N_("the daemon's socket"), N_("PATH") },
        { "version", 'V', POPT_ARG_NONE, &arg_version, 0, N_("show the version and exit"), NULL },
        POPT_AUTOHELP POPT_TABLEEND
};

/* tasks.ndjson holds at most PROTO_SUBMIT_MAX specs, each fit for a request */
#define NDJSON_MAX ((size_t) PROTO_LINE_MAX)

/* dfd/name, a regular file of at most max bytes, not followed through a
 * symbolic link (the directory is the user's, and so is what it points
 * to: a link to another user's file is not read as theirs).  -ENOENT
 * when there is none; other errors said. */
static int read_at(int dfd, const char *dir, const char *name, size_t max, char **ret, size_t *ret_len) {
        _cleanup_(closep) int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        _cleanup_(freep) char *buf = NULL;
        struct stat st;
        size_t len = 0;

        if (fd < 0 && errno == ENOENT)
                return -ENOENT;
        if (fd < 0 && errno == ELOOP)
                return cli_error_errno(ELOOP, _("%s/%s: a symbolic link: refused"), dir, name);
        if (fd < 0)
                return cli_error_errno(errno, _("cannot open %s/%s: %s"), dir, name, strerror(errno));
        if (fstat(fd, &st) < 0)
                return cli_error_errno(errno, _("cannot open %s/%s: %s"), dir, name, strerror(errno));
        if (!S_ISREG(st.st_mode))
                return cli_error_errno(EBADF, _("%s/%s: not a regular file: refused"), dir, name);
        if ((uint64_t) st.st_size > max)
                return cli_error_errno(EFBIG, _("%s/%s: %" PRIu64 " bytes, at most %zu"), dir, name,
                                       (uint64_t) st.st_size, max);
        buf = malloc(max + 1);
        if (!buf)
                return cli_error_errno(ENOMEM, _("out of memory"));
        for (;;) {
                ssize_t k = read(fd, buf + len, max + 1 - len);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return cli_error_errno(errno, _("cannot read %s/%s: %s"), dir, name, strerror(errno));
                if (k == 0)
                        break;
                len += (size_t) k;
                if (len > max)   /* it grew since fstat() */
                        return cli_error_errno(EFBIG, _("%s/%s: more than %zu bytes"), dir, name, max);
        }
        buf[len] = 0;
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

/* An export's task: its spec and number (tasks.ndjson), and what its
 * record says. */
typedef struct Item {
        Task *task;
        size_t index;
        bool import;
} Item;

static void items_free(Item *items, size_t n) {
        for (size_t i = 0; i < n; i++)
                task_free(items[i].task);
        free(items);
}

/* tasks.ndjson: one spec a line with its "index" 1..N in order. */
static int read_tasks(int dfd, Item **ret, size_t *ret_n) {
        _cleanup_(freep) char *text = NULL;
        Item *items = NULL;
        size_t len, n = 0, lineno = 0;
        int r;

        r = read_at(dfd, arg_dir, "tasks.ndjson", NDJSON_MAX, &text, &len);
        if (r == -ENOENT)
                return cli_error_errno(ENOENT, _("%s/tasks.ndjson: missing: not a directory of br-run "
                                                 "--emit-sbatch"), arg_dir);
        if (r < 0)
                return r;
        for (char *line = text, *next; line && *line; line = next) {
                _cleanup_(proto_json_unrefp) struct json_object *o = NULL;
                _cleanup_(freep) char *err = NULL;
                struct json_object *v;
                Task *t = NULL;
                Item *p;

                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                lineno++;
                if (!*line)
                        continue;
                o = json_tokener_parse(line);
                if (!o || !json_object_is_type(o, json_type_object) ||
                    !json_object_object_get_ex(o, "index", &v) || !json_object_is_type(v, json_type_int) ||
                    json_object_get_int64(v) != (int64_t) n + 1) {
                        r = cli_error_errno(EBADMSG, _("%s/tasks.ndjson:%zu: not a task of br-run --emit-sbatch"),
                                            arg_dir, lineno);
                        goto fail;
                }
                json_object_object_del(o, "index");
                r = proto_spec_from_json(o, &t, &err);
                if (r < 0) {
                        r = cli_error_errno(EBADMSG, "%s/tasks.ndjson:%zu: %s", arg_dir, lineno,
                                            err ? err : strerror(-r));
                        goto fail;
                }
                if (n >= PROTO_SUBMIT_MAX || !(p = realloc(items, (n + 1) * sizeof(Item)))) {
                        task_free(t);
                        r = n >= PROTO_SUBMIT_MAX ? cli_error_errno(E2BIG, _("%s/tasks.ndjson: more than %d tasks"),
                                                                    arg_dir, PROTO_SUBMIT_MAX)
                                                  : cli_error_errno(ENOMEM, _("out of memory"));
                        goto fail;
                }
                items = p;
                items[n] = (Item) { .task = t, .index = n + 1 };
                n++;
        }
        if (n == 0) {
                r = cli_error_errno(ENODATA, _("%s/tasks.ndjson holds no task"), arg_dir);
                goto fail;
        }
        *ret = items;
        *ret_n = n;
        return 0;
fail:
        items_free(items, n);
        return r;
}

static int set_text(char **field, const char *value) {
        if (!value)
                return 0;
        free(*field);
        *field = strdup(value);
        return *field ? 0 : -ENOMEM;
}

/* A main exit of 137 (SIGKILL) at 95 % or more of the memory limit: the
 * kernel's OOM killer, as far as a record can tell (it cannot see the
 * cgroup's oom_kill counter); br-import(1) says so. */
static bool looks_oom(const Task *t) {
        return t->main.reason == TASK_REASON_SIGNALED && t->main.signal == 9 && t->main.has_peak_memory &&
               t->memory_bytes > 0 && t->main.peak_memory_bytes >= t->memory_bytes / 100 * 95;
}

/* The results of item from its record.  false (and the item skipped,
 * said): nothing ran. */
static int apply_record(Item *it, const SbatchRecord *rec) {
        Task *t = it->task;

        if (!rec->main_started)
                return 0;
        t->main = rec->main;
        /* a job stopped before the script's end (scancel, the node lost,
         * Slurm's own time limit): what ended is kept, what had not is
         * interrupted */
        if (!rec->main_ended) {
                t->main.reason = TASK_REASON_INTERRUPTED;
                t->main.has_exit_code = t->main.has_signal = false;
                t->main.finished_usec = 0;
        }
        if (looks_oom(t)) {
                t->main.reason = TASK_REASON_OOM;
                t->main.has_signal = false;
        }
        if (t->cleanup_argv && rec->cleanup_started) {
                t->cleanup = rec->cleanup;
                if (!rec->cleanup_ended) {
                        t->cleanup.reason = TASK_REASON_INTERRUPTED;
                        t->cleanup.finished_usec = 0;
                }
        }
        if (set_text(&t->node, rec->node) < 0 || set_text(&t->cluster, rec->cluster) < 0 ||
            set_text(&t->job_id, rec->job_id) < 0)
                return -ENOMEM;
        it->import = true;
        return 1;
}

/* DIR/N: its record, and the job id submit.sh kept where the record has
 * none (a record from before the job knew it). */
static int read_item(int dfd, Item *it) {
        _cleanup_(freep) char *text = NULL, *tdir = NULL, *job = NULL;
        _cleanup_(closep) int tfd = -1;
        SbatchRecord rec = {};
        char name[32];
        size_t len;
        int r;

        (void) snprintf(name, sizeof name, "%zu", it->index);
        if (asprintf(&tdir, "%s/%s", arg_dir, name) < 0)
                return cli_error_errno(ENOMEM, _("out of memory"));
        tfd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (tfd < 0)
                return cli_error_errno(errno, _("cannot open %s: %s"), tdir,
                                       errno == ELOOP || errno == ENOTDIR ? _("not a directory") : strerror(errno));
        r = read_at(tfd, tdir, "record", SBATCH_RECORD_MAX, &text, &len);
        if (r == -ENOENT) {
                cli_info(_("warning: task %zu (%s): no record: it did not start; skipped"), it->index, tdir);
                return 0;
        }
        if (r < 0)
                return r;
        r = sbatch_record_parse(text, len, &rec);
        if (r == -ENOMEM)
                return cli_error_errno(ENOMEM, _("out of memory"));
        if (r < 0)
                return cli_error_errno(EBADMSG, _("%s/record: not a record of a benchrunner batch script"), tdir);
        if (rec.task != 0 && rec.task != (int64_t) it->index) {
                sbatch_record_done(&rec);
                return cli_error_errno(EBADMSG, _("%s/record: the record of task %" PRId64 ", not of task %zu"),
                                       tdir, rec.task, it->index);
        }
        if (!rec.job_id && read_at(tfd, tdir, "job_id", 64, &job, &len) >= 0) {
                job[strcspn(job, "\n")] = 0;
                if (job[0])
                        rec.job_id = TAKE_PTR(job);
        }
        r = apply_record(it, &rec);
        sbatch_record_done(&rec);
        if (r == -ENOMEM)
                return cli_error_errno(ENOMEM, _("out of memory"));
        if (r == 0)
                cli_info(_("warning: task %zu (%s): its record shows no start; skipped"), it->index, tdir);
        return 0;
}

/* "task 2: time-limit after 2.0s on node n17 (job 4711)" */
static void say_item(const Item *it) {
        const TaskResult *m = &it->task->main;
        char d[FORMAT_DURATION_MAX], how[64];

        if (m->reason == TASK_REASON_EXITED)
                (void) snprintf(how, sizeof how, _("exited %d"), m->exit_code);
        else if (m->reason == TASK_REASON_SIGNALED)
                (void) snprintf(how, sizeof how, _("signal %d"), m->signal);
        else
                (void) snprintf(how, sizeof how, "%s", task_reason_to_string(m->reason));
        (void) format_duration(d, sizeof d, m->wall_usec);
        printf(_("task %zu: %s after %s on node %s (job %s)\n"), it->index, how, d,
               it->task->node ? it->task->node : "?", it->task->job_id ? it->task->job_id : "?");
}

/* The export's id (DIR/export-id), the import's token: importing the
 * directory again is answered with the ids of the first time. */
static int read_token(int dfd, char **ret) {
        _cleanup_(freep) char *text = NULL;
        size_t len;
        int r = read_at(dfd, arg_dir, "export-id", PROTO_TOKEN_MAX + 1, &text, &len);

        if (r == -ENOENT) {
                *ret = NULL;
                return 0;
        }
        if (r < 0)
                return r;
        text[strcspn(text, "\n")] = 0;
        *ret = TAKE_PTR(text);
        return 0;
}

static int check(const char **args) {
        if (!args || !args[0])
                return cli_error(_("no directory given; see br-import --help"));
        if (args[1])
                return cli_error(_("one directory at a time"));
        arg_dir = args[0];
        return 0;
}

static int run(void) {
        _cleanup_(closep) int dfd = -1;
        _cleanup_(freep) char *token = NULL, *line = NULL;
        _cleanup_(freep) Task **tasks = NULL;
        _cleanup_(proto_message_freep) ProtoMessage *reply = NULL;
        Client c = { .fd = -1 };
        Item *items = NULL;
        size_t n = 0, k = 0;
        int r;

        dfd = open(arg_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return cli_error_errno(errno, _("cannot open %s: %s"), arg_dir, strerror(errno));
        r = read_tasks(dfd, &items, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n && r >= 0; i++)
                r = read_item(dfd, &items[i]);
        if (r >= 0)
                r = read_token(dfd, &token);
        if (r < 0)
                goto finish;
        tasks = calloc(n, sizeof(Task *));
        if (!tasks) {
                r = cli_error_errno(ENOMEM, _("out of memory"));
                goto finish;
        }
        for (size_t i = 0; i < n; i++)
                if (items[i].import) {
                        if (arg_dry_run)
                                say_item(&items[i]);
                        tasks[k++] = items[i].task;
                }
        if (k == 0) {
                r = cli_error_errno(ENODATA, _("%s: no task has a record to import"), arg_dir);
                goto finish;
        }
        if (arg_dry_run) {
                printf(ngettext("would import %zu task\n", "would import %zu tasks\n", k), k);
                goto finish;
        }
        ProtoRequest req = { .op = PROTO_OP_IMPORT, .tasks = tasks, .n_tasks = k, .token = token };
        r = proto_request_format(&req, &line);
        if (r < 0) {
                r = cli_error_errno(r, _("the import does not fit in a request: %s"), strerror(-r));
                goto finish;
        }
        r = client_connect(client_socket_path(arg_socket), &c);
        if (r < 0)
                goto finish;
        r = client_send(&c, line);
        while (r >= 0) {
                proto_message_free(reply);
                reply = NULL;
                r = client_receive(&c, &reply);
                if (r >= 0 && !reply->is_event)
                        break;
        }
        if (r < 0) {
                r = cli_error_errno(r, _("no answer from the daemon: %s"),
                                    r == -ECONNRESET ? _("connection closed") : strerror(-r));
                goto finish;
        }
        if (!reply->ok) {
                r = cli_error_errno(EREMOTEIO, "%s", reply->error ? reply->error : _("import refused"));
                goto finish;
        }
        for (size_t i = 0; i < reply->n_ids; i++)
                printf("%" PRId64 "\n", reply->ids[i]);
finish:
        client_close(&c);
        items_free(items, n);
        if (fflush(stdout) != 0 || ferror(stdout)) {
                int e = cli_error_errno(EIO, _("cannot write: %s"), strerror(errno));
                r = r < 0 ? r : e;
        }
        return r < 0 ? r : 0;
}

CLI_MAIN(.name = "br-import", .options = options, .usage = N_("[OPTION...] DIR"),
         .version = &arg_version, .check = check, .run = run)
