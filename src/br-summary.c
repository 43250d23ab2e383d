/* br-summary.c: the statistics of repeated runs, per series (br-run
 * --repeat) or else per task name: how many,
 * mean, standard deviation, median, minimum, maximum, coefficient of
 * variation and outliers of wall time, CPU time and peak memory (summary.h),
 * as a table or as JSON lines.  The tasks come from the daemon's list, with
 * its filters, or from the history copy when the daemon is down. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <math.h>
#include <popt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "escape.h"
#include "histdb.h"
#include "protocol.h"
#include "strv.h"
#include "summary.h"
#include "task.h"
#include "cli.h"
#include "util.h"

static char *arg_name;
static char *arg_series;
static char *arg_user;
static int arg_mine;
static char *arg_since;
static char *arg_until;
static int arg_all;
static int arg_json;
static int arg_offline;
static char *arg_history;
static char *arg_socket;
static int arg_version;
/* what check() made of them, for run() */
static bool arg_has_uid;
static uid_t arg_uid;
static uint64_t arg_since_usec, arg_until_usec;

static const struct poptOption options[] = {
        { "name", 0, POPT_ARG_STRING, &arg_name, 0,
          N_("only the tasks whose name matches PATTERN (*, ? and [...] as in the shell)"), N_("PATTERN") },
        { "series", 0, POPT_ARG_STRING, &arg_series, 0, N_("only the runs of this series (br-run --repeat)"),
          N_("LABEL") },
        { "user", 'u', POPT_ARG_STRING, &arg_user, 0, N_("only the tasks of this user"), N_("NAME|UID") },
        { "mine", 0, POPT_ARG_NONE, &arg_mine, 0, N_("only my tasks"), NULL },
        { "since", 0, POPT_ARG_STRING, &arg_since, 0,
          N_("only the tasks queued since WHEN: a duration ago (2h, 3d) or a local time (2024-05-01 14:00)"),
          N_("WHEN") },
        { "until", 0, POPT_ARG_STRING, &arg_until, 0, N_("only the tasks queued before WHEN, as --since"),
          N_("WHEN") },
        { "all", 'a', POPT_ARG_NONE, &arg_all, 0,
          N_("every finished task that ran, not only those that exited 0"), NULL },
        { "json", 0, POPT_ARG_NONE, &arg_json, 0, N_("print one JSON object per name and line"), NULL },
        { "offline", 0, POPT_ARG_NONE, &arg_offline, 0,
          N_("read the history copy, not the daemon (as when it is not running)"), NULL },
        { "history", 0, POPT_ARG_STRING, &arg_history, 0,
          N_("the history copy to read when the daemon is not running"), N_("PATH") },
        { "socket", 0, POPT_ARG_STRING, &arg_socket, 0, N_("the daemon's socket"), N_("PATH") },
        { "version", 'V', POPT_ARG_NONE, &arg_version, 0, N_("show the version and exit"), NULL },
        POPT_AUTOHELP POPT_TABLEEND
};

/* ---- the runs, grouped ---- */

enum { M_WALL, M_CPU, M_MEMORY, _M_MAX };

static const char * const metric_names[_M_MAX] = { "wall", "cpu", "memory" };
static const char * const metric_keys[_M_MAX] = { "wall_us", "cpu_us", "peak_memory_bytes" };

typedef struct Group {
        char *key;                 /* the name, or the command for tasks without one */
        int64_t *ids;
        double *values[_M_MAX];    /* the runs' values; NAN: not known */
        size_t n, allocated;
} Group;

static void groups_free(Group *g, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(g[i].key);
                free(g[i].ids);
                for (int k = 0; k < _M_MAX; k++)
                        free(g[i].values[k]);
        }
        free(g);
}

/* What a run counts for: it started, and (without --all) exited 0. */
static bool counts(const Task *t) {
        if (t->state != TASK_FINISHED || !t->main.started_usec)
                return false;
        return arg_all || (t->main.reason == TASK_REASON_EXITED && t->main.exit_code == 0);
}

static char *group_key(const Task *t) {
        char *s = NULL;

        /* the runs of one br-run --repeat, else those of one name */
        if (t->series)
                return strdup(t->series);
        if (t->name)
                return strdup(t->name);
        /* repeated runs of one command without a name: the command */
        return strv_to_shell(t->argv, true, &s) < 0 ? NULL : s;
}

static int group_add(Group *g, const Task *t) {
        if (g->n == g->allocated) {
                size_t a = g->allocated ? 2 * g->allocated : 16;
                int64_t *ids = reallocarray(g->ids, a, sizeof(int64_t));
                if (!ids)
                        return -ENOMEM;
                g->ids = ids;
                for (int k = 0; k < _M_MAX; k++) {
                        double *v = reallocarray(g->values[k], a, sizeof(double));
                        if (!v)
                                return -ENOMEM;
                        g->values[k] = v;
                }
                g->allocated = a;
        }
        g->ids[g->n] = t->id;
        g->values[M_WALL][g->n] = (double) t->main.wall_usec;
        g->values[M_CPU][g->n] = t->main.has_cpu ? (double) (t->main.cpu_user_usec + t->main.cpu_system_usec) : NAN;
        g->values[M_MEMORY][g->n] = t->main.has_peak_memory ? (double) t->main.peak_memory_bytes : NAN;
        g->n++;
        return 0;
}

/* Tasks (oldest first) into groups by key, in the order each key first
 * came; a linear search per task is fine for the few names a summary has,
 * and a task list is a few thousand runs. */
static int group_tasks(Task * const *tasks, size_t n, Group **ret, size_t *ret_n) {
        Group *g = NULL;
        size_t ng = 0;
        int r = 0;

        for (size_t i = 0; i < n && r >= 0; i++) {
                _cleanup_(freep) char *key = NULL;
                size_t k;

                if (!counts(tasks[i]) || (arg_series && (!tasks[i]->series || strcmp(tasks[i]->series, arg_series) != 0)))
                        continue;
                key = group_key(tasks[i]);
                if (!key) {
                        r = -ENOMEM;
                        break;
                }
                for (k = 0; k < ng && strcmp(g[k].key, key) != 0; k++)
                        ;
                if (k == ng) {
                        Group *a = reallocarray(g, ng + 1, sizeof(Group));
                        if (!a) {
                                r = -ENOMEM;
                                break;
                        }
                        g = a;
                        g[ng++] = (Group) { .key = TAKE_PTR(key) };
                }
                r = group_add(&g[k], tasks[i]);
        }
        if (r < 0) {
                groups_free(g, ng);
                return r;
        }
        *ret = g;
        *ret_n = ng;
        return 0;
}

/* The known values of metric k of g, and their ids. */
static size_t known(const Group *g, int k, double *v, int64_t *ids) {
        size_t m = 0;

        for (size_t i = 0; i < g->n; i++)
                if (!isnan(g->values[k][i])) {
                        v[m] = g->values[k][i];
                        ids[m++] = g->ids[i];
                }
        return m;
}

/* ---- printing ---- */

static char *format_value(int k, double v, char *buf, size_t len) {
        if (k == M_MEMORY)
                return format_size(buf, len, (uint64_t) llround(v));
        return format_duration(buf, len, (uint64_t) llround(v));
}

static int print_group_table(const Group *g, EscapeFlags flags) {
        _cleanup_(freep) double *v = malloc(g->n * sizeof(double));
        _cleanup_(freep) int64_t *ids = malloc(g->n * sizeof(int64_t));
        _cleanup_(freep) bool *out = malloc(g->n * sizeof(bool));
        _cleanup_(freep) char *shown = NULL;

        if (!v || !ids || !out || escape_text(g->key, flags, &shown) < 0)
                return -ENOMEM;
        printf("%s\n", shown);
        for (int k = 0; k < _M_MAX; k++) {
                char a[FORMAT_SIZE_MAX > FORMAT_DURATION_MAX ? FORMAT_SIZE_MAX : FORMAT_DURATION_MAX];
                char b[sizeof a], c[sizeof a], d[sizeof a], e[sizeof a];
                size_t m = known(g, k, v, ids);
                Summary s;
                int r;

                if (m == 0) {
                        printf("  %-7s %s\n", metric_names[k], _("not known"));
                        continue;
                }
                r = summary_of(v, m, &s, out);
                if (r < 0)
                        return r;
                printf(_("  %-7s %4zu runs  mean %9s  sd %9s  median %9s  min %9s  max %9s  cv %5.1f%%"),
                       metric_names[k], s.n, format_value(k, s.mean, a, sizeof a), format_value(k, s.sd, b, sizeof b),
                       format_value(k, s.median, c, sizeof c), format_value(k, s.min, d, sizeof d),
                       format_value(k, s.max, e, sizeof e), 100 * s.cv);
                if (s.n_outliers) {
                        printf(_("  outliers:"));
                        for (size_t i = 0; i < m; i++)
                                if (out[i])
                                        printf(" %" PRId64, ids[i]);
                }
                putchar('\n');
        }
        return 0;
}

static int print_group_json(const Group *g) {
        _cleanup_(proto_json_unrefp) struct json_object *o = json_object_new_object();
        _cleanup_(freep) double *v = malloc(g->n * sizeof(double));
        _cleanup_(freep) int64_t *ids = malloc(g->n * sizeof(int64_t));
        _cleanup_(freep) bool *out = malloc(g->n * sizeof(bool));
        struct json_object *all = json_object_new_array();

        if (!o || !v || !ids || !out || !all)
                return -ENOMEM;
        json_object_object_add(o, "name", json_object_new_string(g->key));
        json_object_object_add(o, "runs", json_object_new_int64((int64_t) g->n));
        for (size_t i = 0; i < g->n; i++)
                json_object_array_add(all, json_object_new_int64(g->ids[i]));
        json_object_object_add(o, "ids", all);
        for (int k = 0; k < _M_MAX; k++) {
                struct json_object *m, *outl;
                size_t nk = known(g, k, v, ids);
                Summary s;
                int r;

                if (nk == 0) {
                        json_object_object_add(o, metric_keys[k], NULL);
                        continue;
                }
                r = summary_of(v, nk, &s, out);
                if (r < 0)
                        return r;
                m = json_object_new_object();
                outl = json_object_new_array();
                if (!m || !outl)
                        return -ENOMEM;
                json_object_object_add(m, "n", json_object_new_int64((int64_t) s.n));
                json_object_object_add(m, "mean", json_object_new_double(s.mean));
                json_object_object_add(m, "sd", json_object_new_double(s.sd));
                json_object_object_add(m, "median", json_object_new_double(s.median));
                json_object_object_add(m, "min", json_object_new_double(s.min));
                json_object_object_add(m, "max", json_object_new_double(s.max));
                json_object_object_add(m, "cv", json_object_new_double(s.cv));
                for (size_t i = 0; i < nk; i++)
                        if (out[i])
                                json_object_array_add(outl, json_object_new_int64(ids[i]));
                json_object_object_add(m, "outliers", outl);
                json_object_object_add(o, metric_keys[k], m);
        }
        return client_print_json(o) < 0 ? -ENOMEM : 0;
}

/* ---- getting the tasks ---- */

static int tasks_offline(const ProtoRequest *req, const char *no_daemon_at, Task ***tasks, size_t *n) {
        _cleanup_(histdb_closep) HistDb *h = NULL;
        const char *path = histdb_path(arg_history);
        ProtoRequest q = *req;
        bool more;
        int r;

        r = histdb_open_announced(path, no_daemon_at, &h);
        if (r < 0)
                return r;
        q.newest_first = false;
        r = histdb_list(h, &q, 0, tasks, n, &more);
        if (r < 0 && r != -ENOMEM)
                return cli_error_errno(r, _("cannot read the history copy %s: %s"), path, histdb_last_error(h));
        return r;
}

static int run(void) {
        ProtoRequest req = {
                .op = PROTO_OP_LIST,
                .has_uid = arg_has_uid,
                .uid = arg_uid,
                .state_mask = 1u << TASK_FINISHED,
                .reason_mask = arg_all ? 0 : 1u << TASK_REASON_EXITED,
                .name_glob = arg_name,
                .since_usec = arg_since_usec,
                .until_usec = arg_until_usec,
                .series = arg_series,
        };
        const char *socket = client_socket_path(arg_socket);
        Client c = { .fd = -1 };
        Task **tasks = NULL;
        Group *groups = NULL;
        size_t n = 0, ng = 0;
        int r = 0;

        if (!arg_offline) {
                r = client_connect_quiet(socket, &c);
                if (r < 0 && !client_no_daemon(r))
                        return client_connect_error(socket, r);
        }
        if (arg_offline || r < 0)
                r = tasks_offline(&req, arg_offline ? NULL : socket, &tasks, &n);
        else {
                r = client_list(&c, &req, &tasks, &n);
                client_close(&c);
        }
        if (r >= 0)
                r = group_tasks(tasks, n, &groups, &ng);
        if (r >= 0 && ng == 0)
                cli_info(_("no finished task matches"));
        for (size_t i = 0; r >= 0 && i < ng; i++)
                r = arg_json ? print_group_json(&groups[i]) : print_group_table(&groups[i], escape_flags_for_locale());
        if (r == -ENOMEM)
                (void) cli_error(_("out of memory"));
        groups_free(groups, ng);
        client_tasks_free(tasks, n);
        if (r >= 0 && (fflush(stdout) != 0 || ferror(stdout)))
                r = cli_error_errno(EIO, _("cannot write the summary: %s"), strerror(errno));
        return r;
}

static int check(const char **args) {
        int r;

        (void) args;
        r = client_parse_who(arg_user, arg_mine, &arg_has_uid, &arg_uid);
        if (r < 0)
                return r;
        if (arg_since && (r = client_parse_when("--since", arg_since, &arg_since_usec)) < 0)
                return r;
        if (arg_until && (r = client_parse_when("--until", arg_until, &arg_until_usec)) < 0)
                return r;
        return 0;
}

CLI_MAIN(.name = "br-summary", .options = options, .version = &arg_version, .check = check, .run = run)
