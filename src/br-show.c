/* br-show.c: shows benchrunner tasks in full: what was asked for, where and
 * when they ran, how both commands ended and where their output is; from
 * the daemon, or from the history copy without it (histdb.h). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <popt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "escape.h"
#include "histdb.h"
#include "protocol.h"
#include "task.h"
#include "cli.h"
#include "util.h"

#define LABEL_WIDTH 22

static int arg_json;
static char *arg_socket;
static int arg_offline;
static char *arg_history;
static int arg_version;
static const char **arg_ids;   /* the arguments, checked */

static const struct poptOption options[] = {
        { "json", 0, POPT_ARG_NONE, &arg_json, 0, N_("print one JSON object per task and line"), NULL },
        { "socket", 0, POPT_ARG_STRING, &arg_socket, 0, N_("the daemon's socket"), N_("PATH") },
        { "offline", 0, POPT_ARG_NONE, &arg_offline, 0,
          N_("read the history copy of the database, not the daemon, as when the daemon is not running"), NULL },
        { "history", 0, POPT_ARG_STRING, &arg_history, 0,
          N_("the history copy read without the daemon"), N_("PATH") },
        { "version", 'V', POPT_ARG_NONE, &arg_version, 0, N_("show the version and exit"), NULL },
        POPT_AUTOHELP POPT_TABLEEND
};

/* ---- formatting ---- */

/* How user-given text is escaped on this terminal (escape.h). */
static EscapeFlags escape_flags;

static void label(const char *label) {
        size_t w = client_text_width(label);
        printf("  %s%*s", label, (int) (w < LABEL_WIDTH ? LABEL_WIDTH - w : 1), "");
}

/* "  Label:   value": the label padded so that values line up; the value
 * escaped as a whole, since what it shows (a name, a path, a user) came
 * from a user. */
static void field(const char *l, const char *fmt, ...) _printf_(2, 3);
static void field(const char *l, const char *fmt, ...) {
        _cleanup_(freep) char *s = NULL;
        va_list ap;
        int r;

        label(l);
        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r >= 0)
                escape_fputs(s, escape_flags, stdout);
        putchar('\n');
}

/* The same for a value that strv_to_shell_full() quoted, escapes and all. */
static void field_quoted(const char *l, const char *quoted) {
        label(l);
        puts(quoted);
}

/* A further line of the value above. */
/* A field under the one before, its label indented. */
static void subfield(const char *l, const char *fmt, ...) _printf_(2, 3);
static void subfield(const char *l, const char *fmt, ...) {
        _cleanup_(freep) char *s = NULL, *indented = NULL;
        va_list ap;
        int r;

        if (asprintf(&indented, "  %s", l) < 0)
                return;
        label(indented);
        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r >= 0)
                escape_fputs(s, escape_flags, stdout);
        putchar('\n');
}

static void continued(const char *s) {
        printf("  %*s%s\n", LABEL_WIDTH, "", s);
}

static char *quote_argv(char * const *argv, bool command) {
        char *s = NULL;
        return strv_to_shell_full(argv, command, escape_flags, &s) < 0 ? NULL : s;
}

/* ISO 8601 in local time with the offset, as 2024-05-01T14:03:22+02:00. */
static const char *format_time(char *buf, size_t len, uint64_t usec) {
        time_t sec = (time_t) (usec / USEC_PER_SEC);
        struct tm tm;
        size_t n;

        if (usec == 0 || !localtime_r(&sec, &tm))
                return "-";
        n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S%z", &tm);
        /* %z is +0200: put in the colon of the extended format */
        if (n >= 5 && n + 1 < len && (buf[n - 5] == '+' || buf[n - 5] == '-')) {
                memmove(buf + n - 1, buf + n - 2, 3);
                buf[n - 2] = ':';
        } else if (n == 0)
                return "-";
        return buf;
}

static const char *describe_reason(const TaskResult *r, char *buf, size_t len) {
        /* the reasons whose words take no figure */
        static const char *const words[_TASK_REASON_MAX] = {
                [TASK_REASON_EXITED] = N_("exited"),
                [TASK_REASON_SIGNALED] = N_("killed by a signal"),
                [TASK_REASON_OOM] = N_("killed for exceeding its memory limit (oom)"),
                [TASK_REASON_TIME_LIMIT] = N_("stopped at its time limit (time-limit)"),
                [TASK_REASON_CANCELLED] = N_("cancelled"),
                [TASK_REASON_FAILED_TO_START] = N_("could not be started (failed-to-start)"),
                [TASK_REASON_INTERRUPTED] = N_("lost by the daemon, its end unknown (interrupted)"),
                [TASK_REASON_DEPENDENCY_FAILED] = N_("not run: a task it waited for did not exit 0 (dependency-failed)"),
        };
        char sig[32];

        if (r->reason == TASK_REASON_EXITED && r->has_exit_code)
                snprintf(buf, len, _("exited with status %d"), r->exit_code);
        else if (r->reason == TASK_REASON_SIGNALED && r->has_signal)
                snprintf(buf, len, _("killed by signal %d (%s)"), r->signal,
                         client_signal_name(r->signal, sig, sizeof sig));
        else if (r->reason >= 0 && r->reason < _TASK_REASON_MAX && words[r->reason])
                snprintf(buf, len, "%s", _(words[r->reason]));
        else
                snprintf(buf, len, "%s", task_reason_to_string(r->reason) ?: "?");
        return buf;
}

/* How one command went; running: it runs now. */
/* ---- what it ran in and beside ---- */

static const char *known_str(struct json_object *o, const char *key, char *buf, size_t len) {
        struct json_object *v = NULL;

        if (!json_object_object_get_ex(o, key, &v) || !v)
                return _("unknown");
        if (json_object_is_type(v, json_type_boolean))
                return json_object_get_boolean(v) ? _("on") : _("off");
        snprintf(buf, len, "%s", json_object_get_string(v));
        return buf;
}

static void print_environment(const Task *t) {
        _cleanup_(proto_json_unrefp) struct json_object *o = t->environment ? json_tokener_parse(t->environment) : NULL;
        struct json_object *cpus = NULL;
        char a[256], b[256], c[64], d[64];

        if (t->environment_id <= 0) {
                field(_("Environment:"), "%s", _("not recorded"));
                return;
        }
        field(_("Environment:"), _("%" PRId64 " (in the environment view of the database)"), t->environment_id);
        if (!o)
                return;
        subfield(_("CPU:"), "%s, microcode %s", known_str(o, "cpu_model", a, sizeof a),
                   known_str(o, "microcode", b, sizeof b));
        subfield(_("Kernel:"), "%s, systemd %s, cgroup v%s", known_str(o, "kernel", a, sizeof a),
                   known_str(o, "systemd", b, sizeof b), known_str(o, "cgroup", c, sizeof c));
        subfield(_("SMT, boost:"), "%s, %s", known_str(o, "smt", a, sizeof a), known_str(o, "boost", b, sizeof b));
        subfield(_("THP, ASLR:"), "%s, %s", known_str(o, "transparent_hugepages", a, sizeof a),
                   known_str(o, "aslr", b, sizeof b));
        if (json_object_object_get_ex(o, "cpus", &cpus) && json_object_is_type(cpus, json_type_array))
                for (size_t i = 0; i < json_object_array_length(cpus); i++) {
                        struct json_object *e = json_object_array_get_idx(cpus, i);
                        char label_buf[32];

                        snprintf(label_buf, sizeof label_buf, _("CPU %s:"), known_str(e, "cpu", d, sizeof d));
                        subfield(label_buf, _("governor %s, %s-%s kHz"), known_str(e, "governor", a, sizeof a),
                                   known_str(e, "min_khz", b, sizeof b), known_str(e, "max_khz", c, sizeof c));
                }
}

static void print_record(const Task *t) {
        static const char * const names[_TASK_PRESSURE_MAX] = { N_("CPU"), N_("memory"), N_("IO") };
        char a[FORMAT_DURATION_MAX], b[FORMAT_DURATION_MAX];
        bool any_pressure = false;

        printf("%s\n", _("Measured beside it:"));
        print_environment(t);
        if (t->warnings)
                for (size_t i = 0; t->warnings[i]; i++)
                        field(i == 0 ? _("Warnings:") : "", "%s", t->warnings[i]);
        else if (t->main.started_usec)
                field(_("Warnings:"), "%s", _("none"));
        if (t->numa_nodes)
                field(_("NUMA nodes:"), _("%s (its memory is bound to them)"), t->numa_nodes);
        for (int k = 0; k < _TASK_PRESSURE_MAX; k++) {
                const TaskPressure *p = &t->pressure[k];
                if (!p->has_some && !p->has_full)
                        continue;
                any_pressure = true;
                field(_("Pressure:"), _("%s: some %s, full %s"), _(names[k]),
                      p->has_some ? format_duration(a, sizeof a, p->some_usec) : _("unknown"),
                      p->has_full ? format_duration(b, sizeof b, p->full_usec) : _("unknown"));
        }
        if (!any_pressure && t->state == TASK_FINISHED && t->main.started_usec)
                field(_("Pressure:"), "%s", _("unknown (cgroup v1, or a kernel without PSI)"));
        if (t->has_throttled)
                field(_("CPU throttled:"), _("%" PRIu64 " periods, %s"), t->nr_throttled,
                      format_duration(a, sizeof a, t->throttled_usec));
        if (t->has_beside)
                field(_("Beside it ran:"), _("%" PRIu64 " other tasks"), t->tasks_beside);
}

static void print_result(const TaskResult *r, bool running) {
        char buf[128], t[64], a[FORMAT_DURATION_MAX], b[FORMAT_DURATION_MAX];

        if (running) {
                uint64_t now = now_usec(CLOCK_REALTIME);
                field(_("Started at:"), "%s", format_time(t, sizeof t, r->started_usec));
                field(_("Result:"), _("running for %s"),
                      format_duration(a, sizeof a, r->started_usec && now > r->started_usec ? now - r->started_usec : 0));
                return;
        }
        if (r->reason == TASK_REASON_NONE) {
                field(_("Result:"), "%s", _("not run yet"));
                return;
        }
        if (r->started_usec)
                field(_("Started at:"), "%s", format_time(t, sizeof t, r->started_usec));
        if (r->finished_usec)
                field(_("Finished at:"), "%s", format_time(t, sizeof t, r->finished_usec));
        field(_("Result:"), "%s", describe_reason(r, buf, sizeof buf));
        if (r->started_usec)
                field(_("Wall time:"), "%s (%" PRIu64 " us)", format_duration(a, sizeof a, r->wall_usec), r->wall_usec);
        if (r->has_cpu)
                field(_("CPU time:"), _("user %s, system %s"), format_duration(a, sizeof a, r->cpu_user_usec),
                      format_duration(b, sizeof b, r->cpu_system_usec));
        if (r->has_peak_memory)
                field(_("Peak memory:"), "%s (%" PRIu64 " bytes)", format_size(a, sizeof a, r->peak_memory_bytes),
                      r->peak_memory_bytes);
}

/* "12, 13" and "2.0G, 4.0G" */
static char *ids_text(const int64_t *v, size_t n) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                return NULL;
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%s%" PRId64, i ? ", " : "", v[i]);
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

static char *sizes_text(const uint64_t *v, size_t n) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                char a[FORMAT_SIZE_MAX];
                fprintf(f, "%s%s", i ? ", " : "", format_size(a, sizeof a, v[i]));
        }
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

static int print_task(const Task *t) {
        _cleanup_(freep) char *cmd = quote_argv(t->argv, true), *cleanup = NULL;
        char name[64], a[FORMAT_SIZE_MAX > FORMAT_DURATION_MAX ? FORMAT_SIZE_MAX : FORMAT_DURATION_MAX];
        _cleanup_(freep) char *shown = NULL;
        char tm[64];

        if (escape_text(task_display_name(t, name, sizeof name), escape_flags, &shown) < 0)
                return -ENOMEM;
        if (!cmd || (t->cleanup_argv && !(cleanup = quote_argv(t->cleanup_argv, true))))
                return -ENOMEM;

        printf(_("Task %" PRId64 ": %s\n"), t->id, shown);
        if (t->state == TASK_QUEUED && t->held && t->waiting)
                field(_("State:"), "%s", _("queued, held and waiting for the tasks it runs after"));
        else if (t->state == TASK_QUEUED && t->held)
                field(_("State:"), "%s", _("queued, held (br-release starts it again)"));
        else if (t->state == TASK_QUEUED && t->waiting)
                field(_("State:"), "%s", _("queued, waiting for the tasks it runs after"));
        else
                field(_("State:"), "%s", task_state_to_string(t->state) ?: "?");
        if (t->user)
                field(_("User:"), _("%s (uid %u, gid %u)"), t->user, (unsigned) t->uid, (unsigned) t->gid);
        else
                field(_("User:"), _("uid %u, gid %u"), (unsigned) t->uid, (unsigned) t->gid);
        field_quoted(_("Command:"), cmd);
        field(_("Submitted from:"), "%s", t->submit_dir ?: "-");
        field(_("Runs in:"), "%s", t->in_submit_dir ? _("the directory it was submitted from (--in-submit-dir)")
                                                    : _("a fresh directory of its own"));
        if (t->env && t->env[0]) {
                for (size_t i = 0; t->env[i]; i++) {
                        _cleanup_(freep) char *e = NULL;
                        char *one[] = { t->env[i], NULL };
                        if (!(e = quote_argv(one, false)))
                                return -ENOMEM;
                        if (t->env_hidden) {
                                /* a name alone: the value is its owner's */
                                char *quoted = TAKE_PTR(e);
                                int k = asprintf(&e, _("%s=(hidden)"), quoted);

                                free(quoted);
                                if (k < 0) {
                                        e = NULL;
                                        return -ENOMEM;
                                }
                        }
                        if (i == 0)
                                field_quoted(_("Environment:"), e);
                        else
                                continued(e);
                }
        }
        field(_("Threads:"), t->whole_cores ? _("%u, on whole cores") : "%u", t->threads);
        field(_("Memory limit:"), "%s (%" PRIu64 " bytes)", format_size(a, sizeof a, t->memory_bytes), t->memory_bytes);
        if (t->time_limit_usec)
                field(_("Time limit:"), "%s", format_duration(a, sizeof a, t->time_limit_usec));
        else
                field(_("Time limit:"), "%s", _("none"));
        field(_("Group, priority:"), "%d, %d", t->group, t->priority);
        if (t->retry_of)
                field(_("Attempt:"), _("%u, of task %" PRId64), t->attempt, t->retry_of);
        if (t->next_attempt)
                field(_("Next attempt:"), _("task %" PRId64), t->next_attempt);
        if (t->n_retry_oom) {
                _cleanup_(freep) char *l = sizes_text(t->retry_oom, t->n_retry_oom);
                field(_("If out of memory:"), _("queued again with %s"), l ?: "?");
        }
        if (t->n_after) {
                _cleanup_(freep) char *l = ids_text(t->after, t->n_after);
                field(t->state == TASK_QUEUED && t->waiting ? _("Waits for:") : _("Runs after:"),
                      t->after_ok ? _("%s, only if they all exit 0") : "%s", l ?: "?");
        }
        if (t->requeue)
                field(_("If interrupted:"), "%s", _("queued again as a new attempt"));
        field(_("CPUs:"), "%s", t->cpus ?: _("not placed yet"));
        if (t->backend)
                /* TRANSLATORS: the backend ("slurm"), the cluster's name, the node, Slurm's job id */
                field(_("Ran on:"), _("%s, cluster %s, node %s, job %s"), t->backend, t->cluster ?: "-",
                      t->node ?: _("not yet"), t->job_id ?: _("not yet"));
        else
                field(_("Unit:"), "%s", t->unit ?: "-");
        field(_("Queued at:"), "%s", format_time(tm, sizeof tm, t->queued_usec));

        printf("%s\n", _("Main command:"));
        print_result(&t->main, t->state == TASK_RUNNING);

        if (cleanup) {
                printf("%s\n", _("Cleanup command:"));
                field_quoted(_("Command:"), cleanup);
                if (t->cleanup_time_limit_usec)
                        field(_("Time limit:"), "%s", format_duration(a, sizeof a, t->cleanup_time_limit_usec));
                else
                        field(_("Time limit:"), "%s", _("the daemon's default"));
                if (t->state == TASK_CLEANUP || t->cleanup.reason != TASK_REASON_NONE)
                        print_result(&t->cleanup, t->state == TASK_CLEANUP);
                else if (t->state == TASK_FINISHED)
                        field(_("Result:"), "%s", _("did not run"));
                else
                        field(_("Result:"), "%s", _("not run yet"));
        }

        print_record(t);

        printf("%s\n", _("Output:"));
        if (t->output_dir) {
                _cleanup_(freep) char *out = NULL, *err = NULL;
                if (asprintf(&out, "%s/stdout", t->output_dir) < 0 || asprintf(&err, "%s/stderr", t->output_dir) < 0)
                        return -ENOMEM;
                field(_("Standard output:"), "%s", out);
                field(_("Standard error:"), "%s", err);
                if (t->cleanup_argv) {
                        _cleanup_(freep) char *cout = NULL, *cerr = NULL;
                        if (asprintf(&cout, "%s/cleanup-stdout", t->output_dir) < 0 ||
                            asprintf(&cerr, "%s/cleanup-stderr", t->output_dir) < 0)
                                return -ENOMEM;
                        field(_("Cleanup stdout:"), "%s", cout);
                        field(_("Cleanup stderr:"), "%s", cerr);
                }
                field(_("Truncated:"), "%s",
                      t->output_truncated ? _("yes, it reached the size cap and was cut") : _("no"));
                if (t->has_output_bytes) {
                        char size[32];
                        field(_("Size on disk:"), "%s", format_size(size, sizeof size, t->output_bytes));
                }
                if (t->output_removed_usec) {
                        char when[64];
                        field(_("Removed:"), _("%s, by the daemon's retention policy"),
                              format_time(when, sizeof when, t->output_removed_usec));
                }
        } else
                field(_("Directory:"), "%s", _("none yet (the task has not started)"));
        return 0;
}

/* Task id from the daemon (c) or, with h, from the history copy: 0, or
 * < 0 when said; -EREMOTEIO / -ENOENT: that task only (go on with the
 * next). */
static int get_task(Client *c, HistDb *h, int64_t id, ProtoMessage **m, Task **ret) {
        ProtoRequest req = { .op = PROTO_OP_SHOW, .id = id };
        int r;

        if (h) {
                r = histdb_get(h, id, ret);
                if (r == -ENOENT)
                        return cli_error_errno(r, "%s", histdb_last_error(h));
                if (r < 0)
                        return cli_error_errno(r, _("cannot read the history copy %s: %s"), histdb_path(arg_history),
                                               histdb_last_error(h));
                return 0;
        }
        r = client_call(c, &req, m);
        if (r < 0)
                return r;   /* the daemon's word is on stderr */
        if (!(*m)->task)
                return cli_error_errno(EREMOTEIO, _("the daemon sent no task for %" PRId64), id);
        *ret = TAKE_PTR((*m)->task);
        return 0;
}

static int run(void) {
        _cleanup_(histdb_closep) HistDb *h = NULL;
        const char *socket = client_socket_path(arg_socket);
        Client c = { .fd = -1 };
        int r = 0, ret = 0;

        escape_flags = escape_flags_for_locale();
        if (!arg_offline) {
                r = client_connect_quiet(socket, &c);
                if (r < 0 && !client_no_daemon(r))
                        return client_connect_error(socket, r);
        }
        if (arg_offline || r < 0) {
                r = histdb_open_announced(histdb_path(arg_history), arg_offline ? NULL : socket, &h);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; arg_ids[i]; i++) {
                _cleanup_(proto_message_freep) ProtoMessage *m = NULL;
                _cleanup_(task_freep) Task *t = NULL;
                uint64_t id;

                (void) parse_uint(arg_ids[i], 1, INT64_MAX, &id);   /* checked in check() */
                r = get_task(&c, h, (int64_t) id, &m, &t);
                if (r == -EREMOTEIO || r == -ENOENT) {
                        ret = r;   /* said: go on with the next */
                        continue;
                }
                if (r < 0) {
                        ret = r;
                        break;
                }
                if (arg_json) {
                        _cleanup_(proto_json_unrefp) struct json_object *o = proto_task_to_json(t, false);
                        r = o ? client_print_json(o) : -ENOMEM;
                } else {
                        if (i > 0)
                                putchar('\n');
                        r = print_task(t);
                }
                if (r < 0) {
                        ret = cli_error_errno(r, _("out of memory"));
                        break;
                }
        }
        client_close(&c);
        if (fflush(stdout) != 0 || ferror(stdout))
                ret = cli_error_errno(EIO, _("cannot write: %s"), strerror(errno));
        return ret;
}

static int check(const char **args) {
        uint64_t id;

        if (!args || !args[0])
                return cli_error(_("no task id given; see br-show --help"));
        for (size_t i = 0; args[i]; i++)
                if (parse_uint(args[i], 1, INT64_MAX, &id) < 0)
                        return cli_error(_("not a task id: %s"), args[i]);
        arg_ids = args;
        return 0;
}

CLI_MAIN(.name = "br-show", .options = options, .usage = N_("[OPTION...] ID..."),
         .version = &arg_version, .check = check, .run = run)
