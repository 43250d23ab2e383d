/* br-list.c: lists benchrunner's tasks as a table, JSON lines or CSV: by
 * default the 20 newest, newest first, in one request; filters by state,
 * reason, name, user and time go to the daemon, which answers them from
 * the database's indexes.  Without a daemon (or with --offline) the same
 * filters go to the history copy (histdb.h). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <langinfo.h>
#include <popt.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include "client.h"
#include "escape.h"
#include "histdb.h"
#include "protocol.h"
#include "task.h"
#include "cli.h"
#include "util.h"

#define DEFAULT_SHOWN 20     /* tasks without --limit or --all */
#define NAME_WIDTH_MAX 32

static int arg_all;
static unsigned arg_state_mask;
static unsigned arg_reason_mask;
static char *arg_name;
static char *arg_series;
static char *arg_environment;
static int64_t arg_environment_id;
static char *arg_since;
static char *arg_until;
static int arg_reverse;
static int arg_csv;
static char *arg_user;
static int arg_mine;
static char *arg_limit;
static int arg_json;
static int arg_ids;
static char *arg_socket;
static int arg_offline;
static char *arg_history;
static int arg_version;
/* what check() made of them, for run() */
static bool arg_has_uid;
static uid_t arg_uid;
static unsigned arg_n;   /* --limit, 0 for none */
static uint64_t arg_since_usec, arg_until_usec;

enum { OPT_STATE = 1, OPT_REASON };

static const struct poptOption options[] = {
        { "all", 'a', POPT_ARG_NONE, &arg_all, 0, N_("list every task that matches, not only the newest 20"), NULL },
        { "state", 's', POPT_ARG_STRING, NULL, OPT_STATE,
          N_("list the tasks in STATE: queued, running, cleanup or finished (repeatable, or a comma-separated list)"),
          N_("STATE") },
        { "reason", 'r', POPT_ARG_STRING, NULL, OPT_REASON,
          N_("list the tasks whose command ended so: exited, signaled, oom, time-limit, cancelled, "
             "failed-to-start, interrupted or dependency-failed (repeatable, or a comma-separated list)"),
          N_("REASON") },
        { "name", 0, POPT_ARG_STRING, &arg_name, 0,
          N_("only the tasks whose name matches PATTERN (*, ? and [...] as in the shell; task-ID for those "
             "without a name)"),
          N_("PATTERN") },
        { "series", 0, POPT_ARG_STRING, &arg_series, 0, N_("only the runs of this series (br-run --repeat)"),
          N_("LABEL") },
        { "environment", 0, POPT_ARG_STRING, &arg_environment, 0,
          N_("only the tasks that started in environment ID (br-show says which)"), N_("ID") },
        { "user", 'u', POPT_ARG_STRING, &arg_user, 0, N_("only the tasks of this user"), N_("NAME|UID") },
        { "mine", 0, POPT_ARG_NONE, &arg_mine, 0, N_("only my tasks"), NULL },
        { "since", 0, POPT_ARG_STRING, &arg_since, 0,
          N_("only the tasks queued since WHEN: a duration ago (2h, 3d) or a local time (2024-05-01 14:00)"),
          N_("WHEN") },
        { "until", 0, POPT_ARG_STRING, &arg_until, 0, N_("only the tasks queued before WHEN, as --since"),
          N_("WHEN") },
        { "limit", 'n', POPT_ARG_STRING, &arg_limit, 0, N_("show the newest N tasks that match (default: 20)"),
          N_("N") },
        { "reverse", 0, POPT_ARG_NONE, &arg_reverse, 0, N_("oldest first"), NULL },
        { "json", 0, POPT_ARG_NONE, &arg_json, 0, N_("print one JSON object per task and line"), NULL },
        { "csv", 0, POPT_ARG_NONE, &arg_csv, 0, N_("print CSV: a header line, then one line per task"), NULL },
        { "ids", 'q', POPT_ARG_NONE, &arg_ids, 0, N_("print only the tasks' ids, one per line"), NULL },
        { "socket", 0, POPT_ARG_STRING, &arg_socket, 0, N_("the daemon's socket"), N_("PATH") },
        { "offline", 0, POPT_ARG_NONE, &arg_offline, 0,
          N_("read the history copy of the database, not the daemon, as when the daemon is not running"), NULL },
        { "history", 0, POPT_ARG_STRING, &arg_history, 0,
          N_("the history copy read without the daemon"), N_("PATH") },
        { "version", 'V', POPT_ARG_NONE, &arg_version, 0, N_("show the version and exit"), NULL },
        POPT_AUTOHELP POPT_TABLEEND
};

static int add_states(const char *list) {
        _cleanup_(freep) char *copy = strdup(list);
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
                TaskState s = task_state_from_string(w);
                if (s < 0)
                        return cli_error(_("--state: unknown state %s (use queued, running, cleanup or finished)"), w);
                arg_state_mask |= 1u << s;
        }
        if (!arg_state_mask)
                return cli_error(_("--state: no state given"));
        return 0;
}

static int add_reasons(const char *list) {
        _cleanup_(freep) char *copy = strdup(list);
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
                TaskReason rs = task_reason_from_string(w);
                if (rs <= TASK_REASON_NONE)
                        return cli_error(_("--reason: unknown reason %s (use exited, signaled, oom, time-limit, "
                                           "cancelled, failed-to-start, interrupted or dependency-failed)"), w);
                arg_reason_mask |= 1u << rs;
        }
        if (!arg_reason_mask)
                return cli_error(_("--reason: no reason given"));
        return 0;
}


/* ---- asking the daemon ---- */

/* Up to n tasks that base selects, appended to *tasks in the order they
 * come: the oldest first, or with newest_first the newest first, one
 * request per PROTO_LIST_LIMIT_MAX tasks, each page going on after (or
 * before) the last id of the one before; *ret_more says whether there are
 * more.  Tasks that change state meanwhile make the answer approximate,
 * never wrong in kind. */
static int list_pages(Client *c, const ProtoRequest *base, bool newest_first, unsigned n, Task ***tasks,
                      size_t *ntasks, bool *ret_more) {
        ProtoRequest req = *base;
        size_t got = 0;
        int r;

        req.newest_first = newest_first;
        req.before_id = 0;
        *ret_more = false;
        while (got < n) {
                _cleanup_(proto_message_freep) ProtoMessage *m = NULL;
                Task **a;
                int64_t last;

                req.limit = n - got < PROTO_LIST_LIMIT_MAX ? (unsigned) (n - got) : PROTO_LIST_LIMIT_MAX;
                r = client_call(c, &req, &m);
                if (r < 0)
                        return r;
                a = realloc(*tasks, (*ntasks + m->n_tasks + 1) * sizeof(Task *));
                if (!a)
                        return -ENOMEM;
                *tasks = a;
                for (size_t i = 0; i < m->n_tasks && got < n; i++, got++)
                        a[(*ntasks)++] = TAKE_PTR(m->tasks[i]);
                *ret_more = m->more;
                if (!m->more || m->n_tasks == 0)
                        break;
                last = a[*ntasks - 1]->id;
                /* ids move one way: a daemon that says "more" without
                 * moving on would keep us here forever */
                if (newest_first ? req.before_id && last >= req.before_id : last <= req.after_id)
                        break;
                if (newest_first)
                        req.before_id = last;
                else
                        req.after_id = last;
        }
        return 0;
}

/* The same from the history copy, in one query; no_daemon_at: the socket
 * nobody answered at (NULL for --offline). */
static int list_offline(const ProtoRequest *base, unsigned n, const char *no_daemon_at, Task ***tasks,
                        size_t *ntasks, bool *ret_more) {
        _cleanup_(histdb_closep) HistDb *h = NULL;
        const char *path = histdb_path(arg_history);
        ProtoRequest req = *base;
        int r;

        r = histdb_open_announced(path, no_daemon_at, &h);
        if (r < 0)
                return r;
        req.newest_first = true;
        r = histdb_list(h, &req, n == UINT_MAX ? 0 : n, tasks, ntasks, ret_more);
        if (r < 0 && r != -ENOMEM)   /* said by run() */
                return cli_error_errno(r, _("cannot read the history copy %s: %s"), path, histdb_last_error(h));
        return r;
}

/* tasks[0..n) the other way round. */
static void reverse(Task **tasks, size_t n) {
        for (size_t i = 0, j = n; i + 1 < j; i++, j--) {
                Task *t = tasks[i];
                tasks[i] = tasks[j - 1];
                tasks[j - 1] = t;
        }
}

/* ---- the table ---- */

enum {
        COL_ID,
        COL_NAME,
        COL_USER,
        COL_STATE,
        COL_THREADS,
        COL_CPUS,
        COL_REASON,
        COL_EXIT,
        COL_WALL,
        COL_MEM,
        COL_QUEUED,
        _COL_MAX,
};

static const struct {
        const char *title;
        bool right;
} columns[_COL_MAX] = {
        [COL_ID] = { N_("ID"), true },
        [COL_NAME] = { N_("NAME"), false },
        [COL_USER] = { N_("USER"), false },
        [COL_STATE] = { N_("STATE"), false },
        [COL_THREADS] = { N_("THREADS"), true },
        [COL_CPUS] = { N_("CPUS"), false },
        [COL_REASON] = { N_("REASON"), false },
        [COL_EXIT] = { N_("EXIT"), true },
        [COL_WALL] = { N_("WALL"), true },
        [COL_MEM] = { N_("PEAK MEM"), true },
        [COL_QUEUED] = { N_("QUEUED AT"), false },
};

/* s cut to at most max columns, the cut marked. */
static char *truncate_text(const char *s, size_t max) {
        bool utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
        const char *mark = utf8 ? "\u2026" : "~";
        mbstate_t st = {};
        const char *p = s;
        size_t w = 0;
        char *r;

        if (client_text_width(s) <= max)
                return strdup(s);
        while (*p) {
                wchar_t wc;
                size_t k = mbrtowc(&wc, p, MB_CUR_MAX, &st), cw = 1;
                if (k == (size_t) -1 || k == (size_t) -2 || k == 0) {
                        memset(&st, 0, sizeof st);
                        k = 1;
                } else
                        cw = wcwidth(wc) > 0 ? (size_t) wcwidth(wc) : 0;
                if (w + cw > max - 1)
                        break;
                w += cw;
                p += k;
        }
        if (asprintf(&r, "%.*s%s", (int) (p - s), s, mark) < 0)
                return NULL;
        return r;
}

static char *format_local(uint64_t usec) {
        time_t sec = (time_t) (usec / USEC_PER_SEC);
        char buf[64];
        struct tm tm;

        if (usec == 0 || !localtime_r(&sec, &tm) || strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm) == 0)
                return strdup("-");
        return strdup(buf);
}

static char *cell(const char *fmt, ...) _printf_(1, 2);
static char *cell(const char *fmt, ...) {
        va_list ap;
        char *s;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        return r < 0 ? NULL : s;
}

/* How user-given text is escaped on this terminal (escape.h). */
static EscapeFlags escape_flags;

static char *escaped(const char *s) {
        char *e = NULL;
        return escape_text(s, escape_flags, &e) < 0 ? NULL : e;
}

static int row_of(const Task *t, uint64_t now, char **row) {
        char name[64], a[FORMAT_SIZE_MAX > FORMAT_DURATION_MAX ? FORMAT_SIZE_MAX : FORMAT_DURATION_MAX];
        const TaskResult *res = &t->main;
        _cleanup_(freep) char *shown = escaped(task_display_name(t, name, sizeof name));

        row[COL_ID] = cell("%" PRId64, t->id);
        /* escaped before it is cut: the cut counts what is shown */
        row[COL_NAME] = shown ? truncate_text(shown, NAME_WIDTH_MAX) : NULL;
        row[COL_USER] = t->user ? escaped(t->user) : cell("%u", (unsigned) t->uid);
        /* held, waiting (for its dependencies): queued, and says so */
        row[COL_STATE] = strdup(t->state == TASK_QUEUED && t->held      ? "held"
                                : t->state == TASK_QUEUED && t->waiting ? "waiting"
                                                                         : task_state_to_string(t->state) ?: "?");
        row[COL_THREADS] = cell("%u", t->threads);
        row[COL_CPUS] = escaped(t->cpus ?: "-");
        row[COL_REASON] = strdup(res->reason != TASK_REASON_NONE ? task_reason_to_string(res->reason) ?: "?" : "-");
        if (res->has_exit_code)
                row[COL_EXIT] = cell("%d", res->exit_code);
        else if (res->has_signal)
                row[COL_EXIT] = strdup(client_signal_name(res->signal, a, sizeof a));
        else
                row[COL_EXIT] = strdup("-");
        if (res->reason != TASK_REASON_NONE && res->started_usec)
                row[COL_WALL] = strdup(format_duration(a, sizeof a, res->wall_usec));
        else if (res->reason == TASK_REASON_NONE && res->started_usec && now > res->started_usec)
                /* running: the time so far */
                row[COL_WALL] = strdup(format_duration(a, sizeof a, now - res->started_usec));
        else
                row[COL_WALL] = strdup("-");
        row[COL_MEM] = strdup(res->has_peak_memory ? format_size(a, sizeof a, res->peak_memory_bytes) : "-");
        row[COL_QUEUED] = format_local(t->queued_usec);
        for (int i = 0; i < _COL_MAX; i++)
                if (!row[i])
                        return -ENOMEM;
        return 0;
}

static void print_padded(const char *s, size_t width, bool right, bool last) {
        size_t w = client_text_width(s);
        size_t pad = width > w ? width - w : 0;

        if (right)
                printf("%*s%s", (int) pad, "", s);
        else if (last)
                fputs(s, stdout);
        else
                printf("%s%*s", s, (int) pad, "");
}

static int print_table(Task * const *tasks, size_t n) {
        char *(*rows)[_COL_MAX] = calloc(n + 1, sizeof *rows);
        size_t width[_COL_MAX] = {};
        uint64_t now = now_usec(CLOCK_REALTIME);
        int r = 0;

        if (!rows)
                return -ENOMEM;
        escape_flags = escape_flags_for_locale();
        for (int i = 0; i < _COL_MAX; i++)
                if (!(rows[0][i] = strdup(_(columns[i].title))))
                        r = -ENOMEM;
        for (size_t k = 0; k < n && r >= 0; k++)
                r = row_of(tasks[k], now, rows[k + 1]);
        if (r >= 0) {
                for (size_t k = 0; k <= n; k++)
                        for (int i = 0; i < _COL_MAX; i++) {
                                size_t w = client_text_width(rows[k][i]);
                                if (w > width[i])
                                        width[i] = w;
                        }
                for (size_t k = 0; k <= n; k++) {
                        for (int i = 0; i < _COL_MAX; i++) {
                                if (i > 0)
                                        fputs("  ", stdout);
                                print_padded(rows[k][i], width[i], columns[i].right, i == _COL_MAX - 1);
                        }
                        putchar('\n');
                }
        }
        for (size_t k = 0; k <= n; k++)
                for (int i = 0; i < _COL_MAX; i++)
                        free(rows[k][i]);
        free(rows);
        return r;
}

static int print_json(Task * const *tasks, size_t n) {
        for (size_t i = 0; i < n; i++) {
                _cleanup_(proto_json_unrefp) struct json_object *o = proto_task_to_json(tasks[i], false);
                if (!o)
                        return -ENOMEM;
                if (client_print_json(o) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* ---- CSV ---- */

static bool csv_escape;   /* stdout is a terminal */

/* A text field: quoted when it holds a comma, a quote or a line break
 * (RFC 4180); one starting with = + - @ or a tab gets a leading ' so that a
 * spreadsheet shows another user's task name rather than running it as a
 * formula; control characters escaped when the output is a terminal. */
static void csv_text(const char *s) {
        _cleanup_(freep) char *e = NULL;
        bool quote;

        if (!s)
                return;
        if (csv_escape && escape_text(s, escape_flags, &e) >= 0)
                s = e;
        quote = strpbrk(s, ",\"\r\n") || strchr("=+-@\t", s[0]) != NULL;
        if (!quote) {
                fputs(s, stdout);
                return;
        }
        putchar('"');
        if (strchr("=+-@\t", s[0]) && s[0])
                putchar('\'');
        for (; *s; s++) {
                if (*s == '"')
                        putchar('"');
                putchar(*s);
        }
        putchar('"');
}

static void csv_u64(bool known, uint64_t v) {
        if (known)
                printf("%" PRIu64, v);
}

static int print_csv(Task * const *tasks, size_t n) {
        csv_escape = isatty(STDOUT_FILENO);
        escape_flags = escape_flags_for_locale();
        puts("id,name,user,uid,state,threads,cpus,memory_bytes,time_limit_us,queued_at_us,reason,exit_code,"
             "signal,started_at_us,finished_at_us,wall_us,cpu_user_us,cpu_system_us,peak_memory_bytes,"
             "cleanup_reason,cleanup_exit_code");
        for (size_t i = 0; i < n; i++) {
                const Task *t = tasks[i];
                const TaskResult *r = &t->main, *c = &t->cleanup;
                bool ended = r->reason != TASK_REASON_NONE;

                printf("%" PRId64 ",", t->id);
                csv_text(t->name);
                putchar(',');
                csv_text(t->user);
                printf(",%u,%s,%u,", (unsigned) t->uid, task_state_to_string(t->state) ?: "", t->threads);
                csv_text(t->cpus);
                printf(",%" PRIu64 ",", t->memory_bytes);
                csv_u64(t->time_limit_usec, t->time_limit_usec);
                putchar(',');
                csv_u64(t->queued_usec, t->queued_usec);
                printf(",%s,", ended ? task_reason_to_string(r->reason) ?: "" : "");
                if (r->has_exit_code)
                        printf("%d", r->exit_code);
                putchar(',');
                if (r->has_signal)
                        printf("%d", r->signal);
                putchar(',');
                csv_u64(r->started_usec, r->started_usec);
                putchar(',');
                csv_u64(r->finished_usec, r->finished_usec);
                putchar(',');
                csv_u64(ended && r->started_usec, r->wall_usec);
                putchar(',');
                csv_u64(r->has_cpu, r->cpu_user_usec);
                putchar(',');
                csv_u64(r->has_cpu, r->cpu_system_usec);
                putchar(',');
                csv_u64(r->has_peak_memory, r->peak_memory_bytes);
                printf(",%s,", c->reason != TASK_REASON_NONE ? task_reason_to_string(c->reason) ?: "" : "");
                if (c->has_exit_code)
                        printf("%d", c->exit_code);
                putchar('\n');
        }
        return 0;
}

static int print_ids(Task * const *tasks, size_t n) {
        for (size_t i = 0; i < n; i++)
                printf("%" PRId64 "\n", tasks[i]->id);
        return 0;
}

static int run(void) {
        ProtoRequest req = {
                .op = PROTO_OP_LIST,
                .has_uid = arg_has_uid,
                .uid = arg_uid,
                .state_mask = arg_state_mask,
                .reason_mask = arg_reason_mask,
                .name_glob = arg_name,
                .since_usec = arg_since_usec,
                .until_usec = arg_until_usec,
                .series = arg_series,
                .environment_id = arg_environment_id,
        };
        unsigned n_wanted = arg_all ? UINT_MAX : arg_n ? arg_n : DEFAULT_SHOWN;
        Client c = { .fd = -1 };
        Task **tasks = NULL;
        size_t n = 0;
        const char *socket = client_socket_path(arg_socket);
        bool more = false;
        int r = 0;

        if (!arg_offline) {
                r = client_connect_quiet(socket, &c);
                if (r < 0 && !client_no_daemon(r))
                        return client_connect_error(socket, r);
        }
        if (arg_offline || r < 0)
                r = list_offline(&req, n_wanted, arg_offline ? NULL : socket, &tasks, &n, &more);
        else {
                /* the newest first: one request for up to
                 * PROTO_LIST_LIMIT_MAX, each further page going on below
                 * the last id */
                r = list_pages(&c, &req, true, n_wanted, &tasks, &n, &more);
                client_close(&c);
        }
        if (r == -ENOMEM)
                (void) cli_error(_("out of memory"));
        if (r >= 0) {
                if (arg_reverse)
                        reverse(tasks, n);
                r = arg_json  ? print_json(tasks, n)
                  : arg_csv   ? print_csv(tasks, n)
                  : arg_ids   ? print_ids(tasks, n)
                              : print_table(tasks, n);
                if (r < 0)
                        (void) cli_error(_("out of memory"));
                else if (more && !arg_all && !arg_ids && !arg_json && !arg_csv)
                        cli_info(_("the newest %u shown; --limit=N or --all shows more"), n_wanted);
        }
        client_tasks_free(tasks, n);
        if (r >= 0 && (fflush(stdout) != 0 || ferror(stdout)))
                r = cli_error_errno(EIO, _("cannot write the list: %s"), strerror(errno));
        return r;
}

static int on_option(int val, const char *arg) {
        return val == OPT_STATE ? add_states(arg) : val == OPT_REASON ? add_reasons(arg) : 0;
}

static int check(const char **args) {
        uint64_t limit = 0;
        int r;

        (void) args;   /* none: .usage is NULL */
        if (arg_json + arg_ids + arg_csv > 1)
                return cli_error(_("give one of --json, --csv and --ids"));
        if (arg_all && arg_limit)
                return cli_error(_("give either --all or --limit, not both"));
        if (arg_since && (r = client_parse_when("--since", arg_since, &arg_since_usec)) < 0)
                return r;
        if (arg_environment) {
                uint64_t v;
                if (parse_uint(arg_environment, 1, INT64_MAX, &v) < 0)
                        return cli_error(_("--environment: not an environment id: %s"), arg_environment);
                arg_environment_id = (int64_t) v;
        }
        if (arg_until && (r = client_parse_when("--until", arg_until, &arg_until_usec)) < 0)
                return r;
        r = client_parse_who(arg_user, arg_mine, &arg_has_uid, &arg_uid);
        if (r < 0)
                return r;
        if (arg_limit && parse_uint(arg_limit, 1, UINT32_MAX, &limit) < 0)
                return cli_error(_("--limit: not a number of tasks: %s"), arg_limit);
        arg_n = (unsigned) limit;
        return 0;
}

CLI_MAIN(.name = "br-list", .options = options, .version = &arg_version,
         .on_option = on_option, .check = check, .run = run)
