/* top.c: br-top's screen as lines of text (top.h). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "client.h"
#include "cpuset.h"
#include "top.h"
#include "util.h"

#define NAME_WIDTH_MAX 32
#define STATE_CELL_MAX 32      /* "(ID)" of a 64-bit id fits */

char *top_cut(const char *s, size_t width, const char *mark) {
        size_t mark_w = client_text_width(mark), w = 0;
        mbstate_t st = {};
        const char *p = s;
        char *r;

        if (client_text_width(s) <= width)
                return strdup(s);
        if (mark_w > width) {
                mark = "";
                mark_w = 0;
        }
        while (*p) {
                wchar_t wc;
                size_t k = mbrtowc(&wc, p, MB_CUR_MAX, &st), cw = 1;

                if (k == (size_t) -1 || k == (size_t) -2 || k == 0) {
                        memset(&st, 0, sizeof st);
                        k = 1;
                } else
                        cw = wcwidth(wc) > 0 ? (size_t) wcwidth(wc) : 0;
                if (w + cw > width - mark_w)
                        break;
                w += cw;
                p += k;
        }
        if (asprintf(&r, "%.*s%s", (int) (p - s), s, mark) < 0)
                return NULL;
        return r;
}

/* ---- lines ---- */

typedef struct Lines {
        char **l;
        size_t n;
        int error;
} Lines;

/* Takes s (NULL: out of memory), without the blanks padding its end. */
static void add_line(Lines *ls, char *s) {
        if (s) {
                size_t k = strlen(s);
                while (k > 0 && s[k - 1] == ' ')
                        s[--k] = 0;
        }
        if (ls->error >= 0 && (!s || strv_push_printf(&ls->l, &ls->n, "%s", s) < 0))
                ls->error = -ENOMEM;
        free(s);
}

static char *text(const char *fmt, ...) _printf_(1, 2);
static char *text(const char *fmt, ...) {
        va_list ap;
        char *s;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        return r < 0 ? NULL : s;
}

/* s with text appended (s freed); NULL on ENOMEM (s freed too). */
static char *append(char *s, const char *fmt, ...) _printf_(2, 3);
static char *append(char *s, const char *fmt, ...) {
        va_list ap;
        char *a, *r;
        int k;

        if (!s)
                return NULL;
        va_start(ap, fmt);
        k = vasprintf(&a, fmt, ap);
        va_end(ap);
        if (k < 0) {
                free(s);
                return NULL;
        }
        k = asprintf(&r, "%s%s", s, a);
        free(s);
        free(a);
        return k < 0 ? NULL : r;
}

/* ---- the counters and the queue ---- */

static void add_counters(Lines *ls, const ProtoStats *s) {
        char a[FORMAT_SIZE_MAX], b[FORMAT_SIZE_MAX];

        char *l0 = text(_("tasks: %" PRIu64 " running, %" PRIu64 " cleaning up, %" PRIu64 " queued"), s->running,
                        s->cleanup, s->queued);
        if (s->held)
                l0 = append(l0, _(", %" PRIu64 " held"), s->held);
        if (s->draining)
                l0 = append(l0, "%s", _(" (draining: nothing new starts)"));
        add_line(ls, l0);
        add_line(ls, text(_("threads: %" PRIu64 "/%" PRIu64 " busy, memory: %s/%s given to tasks"), s->threads_busy,
                          s->threads_total, format_size(a, sizeof a, s->memory_used),
                          format_size(b, sizeof b, s->memory_total)));
        if (!s->has_groups)
                return;
        if (s->n_groups == 0) {
                add_line(ls, text(_("queue by group: empty")));
                return;
        }
        char *l = text("%s", _("queue by group:"));
        for (size_t i = 0; i < s->n_groups && i < PROTO_STATS_GROUPS_MAX; i++)
                l = append(l, _("%s group %" PRId64 ": %" PRIu64), i ? "," : "", s->groups[i].group,
                           s->groups[i].queued);
        if (s->queued_other_groups)
                l = append(l, _(", lower groups: %" PRIu64), s->queued_other_groups);
        add_line(ls, l);
}

/* ---- the CPUs ---- */

/* Who holds each CPU: a task's id, its negation for an idle sibling kept
 * free for a whole-cores task, 0 for nobody. */
static int64_t *cpu_owners(const TopView *v) {
        int64_t *owner = calloc(CPUSET_MAX, sizeof *owner);

        if (!owner)
                return NULL;
        for (size_t i = 0; i < v->n_tasks; i++) {
                const Task *t = v->tasks[i];
                CpuSet cpus;

                if (!t->cpus || cpuset_parse(t->cpus, &cpus) < 0)
                        continue;
                for (unsigned c = cpuset_first(&cpus); c < cpuset_end(&cpus); c++)
                        if (cpuset_has(&cpus, c))
                                owner[c] = t->id;
        }
        /* the siblings a whole_cores task keeps idle (even thread counts use
         * both siblings of each core, so only odd ones leave any) */
        for (size_t i = 0; i < v->n_tasks; i++) {
                const Task *t = v->tasks[i];
                CpuSet cpus, whole;

                if (!t->whole_cores || !t->cpus || cpuset_parse(t->cpus, &cpus) < 0)
                        continue;
                cpuset_zero(&whole);
                topology_whole_cores(v->topo, &cpus, &whole);
                for (unsigned c = cpuset_first(&whole); c < cpuset_end(&whole); c++)
                        if (cpuset_has(&whole, c) && owner[c] == 0)
                                owner[c] = -t->id;
        }
        return owner;
}

/* What a CPU's cell says: the task's id, "(ID)" kept free for it, "free"
 * (benchrunner's, idle), "sys" (the system's), "?" (an old daemon that
 * does not say which CPUs are its own). */
static const char *cpu_state(const TopView *v, const int64_t *owner, unsigned cpu, char *buf, size_t len) {
        if (owner[cpu] > 0)
                snprintf(buf, len, "%" PRId64, owner[cpu]);
        else if (owner[cpu] < 0)
                snprintf(buf, len, "(%" PRId64 ")", -owner[cpu]);
        else if (cpuset_empty(&v->stats->cpus))
                snprintf(buf, len, "?");
        else if (cpuset_has(&v->stats->cpus, cpu))
                snprintf(buf, len, "%s", _("free"));
        else
                snprintf(buf, len, "%s", _("sys"));
        return buf;
}

static size_t digits(uint64_t x) {
        size_t n = 1;
        while (x >= 10) {
                x /= 10;
                n++;
        }
        return n;
}

/* One core: its CPUs side by side, each "NUMBER STATE" padded to the
 * widths given, empty places for siblings it lacks (an offline one). */
static char *core_cell(const TopView *v, const int64_t *owner, unsigned core, unsigned max_sib, size_t num_w,
                       size_t state_w) {
        unsigned n;
        const unsigned *cpus = topology_core_cpus(v->topo, core, &n);
        char *s = strdup("");

        for (unsigned i = 0; i < max_sib && s; i++) {
                char st[STATE_CELL_MAX];
                const char *sep = i ? "  " : "";

                if (i < n) {
                        const char *state = cpu_state(v, owner, cpus[i], st, sizeof st);
                        size_t w = client_text_width(state);
                        s = append(s, "%s%*u %s%*s", sep, (int) num_w, cpus[i], state,
                                   (int) (state_w > w ? state_w - w : 0), "");
                } else
                        s = append(s, "%s%*s", sep, (int) (num_w + 1 + state_w), "");
        }
        return s;
}

static void add_cpus(Lines *ls, const TopView *v) {
        const CpuSet *online = topology_online(v->topo);
        _cleanup_(freep) int64_t *owner = cpu_owners(v);
        unsigned n_cores = topology_n_cores(v->topo), max_sib = 1;
        size_t num_w = digits(cpuset_end(online) ? cpuset_end(online) - 1 : 0), state_w = 0, cell_w, per_line;

        if (!owner) {
                ls->error = -ENOMEM;
                return;
        }
        if (cpuset_empty(&v->stats->cpus))
                add_line(ls, text(_("CPUs: %u online"), cpuset_count(online)));
        else {
                CpuSet system = *online;
                _cleanup_(freep) char *list = cpuset_format(&v->stats->cpus);

                cpuset_and_not(&system, &v->stats->cpus);
                add_line(ls, list ? text(_("CPUs: %u online, %u benchrunner's (%s), %u the system's"),
                                         cpuset_count(online), cpuset_count(&v->stats->cpus), list,
                                         cpuset_count(&system))
                                  : NULL);
        }
        add_line(ls, text("%s", _("(a core's threads side by side; ID: the task on it, (ID): kept idle for it, "
                                  "free: unused, sys: the system's)")));

        for (unsigned k = 0; k < n_cores; k++) {
                unsigned n;
                const unsigned *cpus = topology_core_cpus(v->topo, k, &n);

                if (n > max_sib)
                        max_sib = n;
                for (unsigned i = 0; i < n; i++) {
                        char st[STATE_CELL_MAX];
                        size_t w = client_text_width(cpu_state(v, owner, cpus[i], st, sizeof st));
                        if (w > state_w)
                                state_w = w;
                }
        }
        cell_w = max_sib * (num_w + 1 + state_w) + (max_sib - 1) * 2;
        /* "  " before the first core, " | " between cores */
        per_line = v->width > 2 + cell_w ? (v->width - 2 + 3) / (cell_w + 3) : 1;
        if (per_line == 0)
                per_line = 1;

        char *line = NULL;
        size_t on_line = 0;
        unsigned package = 0;
        bool packages = topology_n_packages(v->topo) > 1;
        for (unsigned k = 0; k < n_cores && ls->error >= 0; k++) {
                unsigned p = topology_core_package(v->topo, k);

                if (line && (on_line == per_line || p != package)) {
                        add_line(ls, TAKE_PTR(line));
                        on_line = 0;
                }
                if (packages && (k == 0 || p != package))
                        add_line(ls, text(_("socket %u:"), p));
                package = p;
                line = line ? append(line, " | ") : strdup("  ");
                char *cell = core_cell(v, owner, k, max_sib, num_w, state_w);
                line = cell ? append(line, "%s", cell) : (free(line), NULL);
                free(cell);
                if (!line) {
                        ls->error = -ENOMEM;
                        return;
                }
                on_line++;
        }
        if (line)
                add_line(ls, TAKE_PTR(line));
}

/* ---- the tasks ---- */

enum {
        COL_ID,
        COL_NAME,
        COL_USER,
        COL_STATE,
        COL_CPUS,
        COL_ELAPSED,
        COL_LIMIT,
        COL_MEMORY,
        COL_PEAK,
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
        [COL_CPUS] = { N_("CPUS"), false },
        [COL_ELAPSED] = { N_("ELAPSED"), true },
        [COL_LIMIT] = { N_("LIMIT"), true },
        [COL_MEMORY] = { N_("MEMORY"), true },
        [COL_PEAK] = { N_("PEAK"), true },
};

/* Elapsed time as a clock, H:MM:SS, with days before it when there are. */
static char *clock_text(uint64_t usec) {
        uint64_t s = usec / USEC_PER_SEC;

        if (s >= 86400)
                return text("%" PRIu64 "d %" PRIu64 ":%02" PRIu64 ":%02" PRIu64, s / 86400, s % 86400 / 3600,
                            s % 3600 / 60, s % 60);
        return text("%" PRIu64 ":%02" PRIu64 ":%02" PRIu64, s / 3600, s % 3600 / 60, s % 60);
}

static char *escaped(const TopView *v, const char *s) {
        char *e = NULL;
        return escape_text(s, v->escape, &e) < 0 ? NULL : e;
}

static int row_of(const TopView *v, const Task *t, char **row) {
        /* the command that runs now: the main one, or the cleanup command */
        bool cleanup = t->state == TASK_CLEANUP;
        const TaskResult *r = cleanup ? &t->cleanup : &t->main;
        uint64_t limit = cleanup ? t->cleanup_time_limit_usec : t->time_limit_usec;
        char name[64], a[FORMAT_SIZE_MAX > FORMAT_DURATION_MAX ? FORMAT_SIZE_MAX : FORMAT_DURATION_MAX];
        _cleanup_(freep) char *shown = escaped(v, task_display_name(t, name, sizeof name));

        row[COL_ID] = text("%" PRId64, t->id);
        /* escaped before it is cut: the cut counts what is shown */
        row[COL_NAME] = shown ? top_cut(shown, NAME_WIDTH_MAX, v->cut_mark) : NULL;
        row[COL_USER] = t->user ? escaped(v, t->user) : text("%u", (unsigned) t->uid);
        row[COL_STATE] = strdup(task_state_to_string(t->state) ?: "?");
        row[COL_CPUS] = t->cpus ? escaped(v, t->cpus) : strdup("-");
        if (r->started_usec)
                row[COL_ELAPSED] = clock_text(v->now_usec > r->started_usec ? v->now_usec - r->started_usec : 0);
        else
                row[COL_ELAPSED] = strdup("-");
        row[COL_LIMIT] = strdup(limit ? format_duration(a, sizeof a, limit) : "-");
        row[COL_MEMORY] = strdup(format_size(a, sizeof a, t->memory_bytes));
        /* known once the main command ended (while its cleanup runs) */
        row[COL_PEAK] = strdup(t->main.has_peak_memory ? format_size(a, sizeof a, t->main.peak_memory_bytes) : "-");
        for (int i = 0; i < _COL_MAX; i++)
                if (!row[i])
                        return -ENOMEM;
        return 0;
}

static char *table_line(char * const *row, const size_t *width) {
        char *s = strdup("");

        for (int i = 0; i < _COL_MAX && s; i++) {
                size_t w = client_text_width(row[i]), pad = width[i] > w ? width[i] - w : 0;
                const char *sep = i ? "  " : "";

                if (columns[i].right)
                        s = append(s, "%s%*s%s", sep, (int) pad, "", row[i]);
                else if (i == _COL_MAX - 1)
                        s = append(s, "%s%s", sep, row[i]);
                else
                        s = append(s, "%s%s%*s", sep, row[i], (int) pad, "");
        }
        return s;
}

static void add_tasks(Lines *ls, const TopView *v) {
        size_t width[_COL_MAX] = {}, n = v->n_tasks;
        char *(*rows)[_COL_MAX];

        if (n == 0) {
                add_line(ls, text("%s", _("no task is running")));
                return;
        }
        rows = calloc(n + 1, sizeof *rows);
        if (!rows) {
                ls->error = -ENOMEM;
                return;
        }
        for (int i = 0; i < _COL_MAX; i++)
                if (!(rows[0][i] = strdup(_(columns[i].title))))
                        ls->error = -ENOMEM;
        for (size_t k = 0; k < n && ls->error >= 0; k++)
                if (row_of(v, v->tasks[k], rows[k + 1]) < 0)
                        ls->error = -ENOMEM;
        if (ls->error >= 0) {
                for (size_t k = 0; k <= n; k++)
                        for (int i = 0; i < _COL_MAX; i++) {
                                size_t w = client_text_width(rows[k][i]);
                                if (w > width[i])
                                        width[i] = w;
                        }
                for (size_t k = 0; k <= n; k++)
                        add_line(ls, table_line(rows[k], width));
        }
        for (size_t k = 0; k <= n; k++)
                for (int i = 0; i < _COL_MAX; i++)
                        free(rows[k][i]);
        free(rows);
}

int top_layout(const TopView *v, char ***ret) {
        Lines ls = {};

        add_counters(&ls, v->stats);
        add_line(&ls, strdup(""));
        add_cpus(&ls, v);
        add_line(&ls, strdup(""));
        add_tasks(&ls, v);
        if (ls.error < 0) {
                strv_free(ls.l);
                return ls.error;
        }
        if (!ls.l && !(ls.l = calloc(1, sizeof *ls.l)))
                return -ENOMEM;
        *ret = ls.l;
        return 0;
}
