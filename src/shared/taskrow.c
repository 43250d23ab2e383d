/* taskrow.c: one row of the tasks table into a Task (taskrow.h). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "strv.h"
#include "taskrow.h"
#include "util.h"

typedef struct Reader {
        sqlite3_stmt *s;
        int i;
        int r;          /* the first error */
        int bad;        /* and its column */
} Reader;

static void read_fail(Reader *rd, int column, int r) {
        if (rd->r < 0)
                return;
        rd->r = r;
        rd->bad = column;
}

static bool read_null(Reader *rd) {
        return sqlite3_column_type(rd->s, rd->i) == SQLITE_NULL;
}

static char *read_text(Reader *rd) {
        const char *v;
        int n, i = rd->i++;
        char *d;

        if (rd->r < 0 || sqlite3_column_type(rd->s, i) == SQLITE_NULL)
                return NULL;
        v = (const char *) sqlite3_column_text(rd->s, i);
        n = sqlite3_column_bytes(rd->s, i);
        if (!v) {
                read_fail(rd, i, -ENOMEM);
                return NULL;
        }
        if (memchr(v, 0, (size_t) n)) {
                read_fail(rd, i, -EBADMSG);
                return NULL;
        }
        d = strndup(v, (size_t) n);
        if (!d)
                read_fail(rd, i, -ENOMEM);
        return d;
}

static int64_t read_int(Reader *rd, int64_t min, int64_t max) {
        int i = rd->i++;
        int64_t v;

        if (rd->r < 0 || sqlite3_column_type(rd->s, i) == SQLITE_NULL)
                return 0;
        if (sqlite3_column_type(rd->s, i) != SQLITE_INTEGER) {
                read_fail(rd, i, -EBADMSG);
                return 0;
        }
        v = sqlite3_column_int64(rd->s, i);
        if (v < min || v > max) {
                read_fail(rd, i, -EBADMSG);
                return 0;
        }
        return v;
}

static uint64_t read_u64(Reader *rd) {
        return (uint64_t) read_int(rd, 0, INT64_MAX);
}

static uint64_t read_u64_if(Reader *rd, bool *has) {
        *has = !read_null(rd);
        return read_u64(rd);
}

static int read_int_if(Reader *rd, bool *has) {
        *has = !read_null(rd);
        return (int) read_int(rd, INT_MIN, INT_MAX);
}

static char **read_strv(Reader *rd) {
        _cleanup_(freep) char *text = NULL;
        char **l = NULL;
        int r;

        text = read_text(rd);
        if (!text)
                return NULL;
        r = json_strv_from_text(text, &l);
        if (r < 0) {
                read_fail(rd, rd->i - 1, r);
                return NULL;
        }
        return l;
}

/* A JSON array of integers in [min, max] (NULL: none). */
static int64_t *read_ints(Reader *rd, int64_t min, int64_t max, size_t max_n, size_t *ret_n) {
        _cleanup_(freep) char *text = NULL;
        int64_t *v = NULL;
        int r;

        *ret_n = 0;
        text = read_text(rd);
        if (!text)
                return NULL;
        r = json_ints_from_text(text, min, max, max_n, &v, ret_n);
        if (r < 0)
                read_fail(rd, rd->i - 1, r);
        return v;
}

static TaskReason read_reason(Reader *rd) {
        _cleanup_(freep) char *s = read_text(rd);
        TaskReason reason;

        if (!s)
                return TASK_REASON_NONE;
        reason = task_reason_from_string(s);
        if (reason < 0 || reason == TASK_REASON_NONE) {
                read_fail(rd, rd->i - 1, -EBADMSG);
                return TASK_REASON_NONE;
        }
        return reason;
}

static void read_result(Reader *rd, TaskResult *res) {
        bool has;

        res->reason = read_reason(rd);
        res->exit_code = read_int_if(rd, &res->has_exit_code);
        res->signal = read_int_if(rd, &res->has_signal);
        res->started_usec = read_u64(rd);
        res->finished_usec = read_u64(rd);
        res->wall_usec = read_u64(rd);
        res->cpu_user_usec = read_u64_if(rd, &res->has_cpu);
        res->cpu_system_usec = read_u64_if(rd, &has);
        res->has_cpu = res->has_cpu && has;
        res->peak_memory_bytes = read_u64_if(rd, &res->has_peak_memory);
}

int taskrow_read(sqlite3_stmt *s, bool with_token, Task **ret, int *ret_bad_column) {
        _cleanup_(task_freep) Task *t = NULL;
        _cleanup_(freep) char *state = NULL;
        Reader rd = { .s = s };

        t = task_new();
        if (!t)
                return -ENOMEM;

        t->id = read_int(&rd, 1, INT64_MAX);
        t->name = read_text(&rd);
        t->uid = (uid_t) read_int(&rd, 0, UINT32_MAX);
        t->gid = (gid_t) read_int(&rd, 0, UINT32_MAX);
        t->user = read_text(&rd);
        t->argv = read_strv(&rd);
        t->env = read_strv(&rd);
        t->submit_dir = read_text(&rd);
        t->cleanup_argv = read_strv(&rd);
        t->threads = (unsigned) read_int(&rd, 1, UINT_MAX);
        t->memory_bytes = read_u64(&rd);
        t->time_limit_usec = read_u64(&rd);
        t->cleanup_time_limit_usec = read_u64(&rd);
        t->group = (int) read_int(&rd, INT_MIN, INT_MAX);
        t->priority = (int) read_int(&rd, INT_MIN, INT_MAX);
        t->whole_cores = read_int(&rd, 0, 1);
        t->queued_usec = read_u64(&rd);
        if (with_token)
                t->submit_token = read_text(&rd);
        t->requeue = read_int(&rd, 0, 1);
        t->attempt = (unsigned) read_int(&rd, 1, UINT_MAX);
        t->retry_of = read_int(&rd, 0, INT64_MAX);
        t->in_submit_dir = read_int(&rd, 0, 1);
        t->retry_oom = (uint64_t *) read_ints(&rd, 1, INT64_MAX, TASK_RETRY_OOM_MAX, &t->n_retry_oom);
        t->after = read_ints(&rd, 1, INT64_MAX, TASK_AFTER_MAX, &t->n_after);
        t->after_ok = read_int(&rd, 0, 1);
        t->series = read_text(&rd);

        state = read_text(&rd);
        t->state = task_state_from_string(state);
        if (t->state < 0)
                read_fail(&rd, rd.i - 1, -EBADMSG);
        t->cpus = read_text(&rd);
        t->unit = read_text(&rd);
        t->output_dir = read_text(&rd);
        t->output_truncated = read_int(&rd, 0, 1);
        t->output_bytes = read_u64_if(&rd, &t->has_output_bytes);
        t->output_removed_usec = read_u64(&rd);
        t->held = read_int(&rd, 0, 1);
        t->next_attempt = read_int(&rd, 0, INT64_MAX);
        read_result(&rd, &t->main);
        read_result(&rd, &t->cleanup);
        t->environment_id = read_int(&rd, 0, INT64_MAX);
        t->warnings = read_strv(&rd);
        t->numa_nodes = read_text(&rd);
        for (int k = 0; k < _TASK_PRESSURE_MAX; k++) {
                t->pressure[k].some_usec = read_u64_if(&rd, &t->pressure[k].has_some);
                t->pressure[k].full_usec = read_u64_if(&rd, &t->pressure[k].has_full);
        }
        {
                bool has_usec;
                t->nr_throttled = read_u64_if(&rd, &t->has_throttled);
                t->throttled_usec = read_u64_if(&rd, &has_usec);
                t->has_throttled = t->has_throttled && has_usec;
        }
        t->tasks_beside = read_u64_if(&rd, &t->has_beside);
        t->backend = read_text(&rd);
        t->cluster = read_text(&rd);
        t->node = read_text(&rd);
        t->job_id = read_text(&rd);

        if (!t->argv || !t->argv[0])
                read_fail(&rd, 5, -EBADMSG);
        if (!t->submit_dir)
                read_fail(&rd, 7, -EBADMSG);
        if (rd.r == 0 && rd.i != sqlite3_column_count(s))
                return -EIO;
        if (rd.r < 0) {
                *ret_bad_column = rd.bad;
                return rd.r;
        }
        /* an empty environment reads back as none, and so do empty warnings */
        if (t->env && !t->env[0]) {
                strv_free(t->env);
                t->env = NULL;
        }
        if (t->warnings && !t->warnings[0]) {
                strv_free(t->warnings);
                t->warnings = NULL;
        }
        *ret = TAKE_PTR(t);
        return 0;
}

